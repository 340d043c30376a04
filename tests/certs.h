/* SPDX-License-Identifier: ISC */
/*
 * Keys, certificates and CRLs made in the test through OpenSSL, for the
 * unit test and the fuzz target of src/ike/cert*.c.  Everything is valid
 * around CERTS_NOW, a fixed time, so runs do not depend on the clock.
 * A failure to make something is a broken test: it exits with status 2.
 */
#ifndef XK_TEST_CERTS_H
#define XK_TEST_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERTS_NOW ((time_t)1800000000) /* 2027-01-15 */
#define CERTS_DAY 86400L

/* "RSA" or "RSA-PSS" (bits), "EC" (curve: "P-256" ...), "ED25519", "ED448". */
EVP_PKEY *certs_key(const char *type, const char *curve, unsigned bits);
/* An RSA key with public exponent e (weak keys for the refusal tests). */
EVP_PKEY *certs_rsa_e(unsigned bits, unsigned long e);

struct certs_spec {
	const char *cn;     /* subject: CN=cn, O=xike test */
	EVP_PKEY *key;      /* the subject's key */
	X509 *issuer;       /* NULL: self-signed with key */
	EVP_PKEY *ikey;     /* the issuer's key */
	long from, to;      /* validity around CERTS_NOW, seconds; 0,0: -1 day .. +1 year */
	const char *bc;     /* basicConstraints, e.g. "critical,CA:TRUE" */
	const char *ku;     /* keyUsage */
	const char *eku;    /* extendedKeyUsage */
	const char *san;    /* subjectAltName */
	const char *nc;     /* nameConstraints */
	long serial;        /* 0: 1 */
	const char *aia;    /* authorityInfoAccess, e.g. "OCSP;URI:http://..." */
	const char *cdp;    /* crlDistributionPoints */
};

X509 *certs_make(const struct certs_spec *s);
/* A CA certificate (CA:TRUE, keyCertSign, cRLSign) issued by issuer/ikey. */
X509 *certs_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey);
/* A CRL of issuer listing the serials, issued a day before CERTS_NOW,
 * its nextUpdate `next` seconds after CERTS_NOW. */
X509_CRL *certs_crl(X509 *issuer, EVP_PKEY *ikey, const long *serials, size_t n, long next);

/*
 * An OCSPResponse (DER, malloc'd) about cert, as a responder would make
 * it: signed by signer/skey (which sends its certificate along), with
 * thisUpdate and nextUpdate at CERTS_NOW + this_off / next_off seconds
 * (no_next: no nextUpdate), and the nonce copied when given.  With
 * resp_status non-zero, an error response of that status and no body.
 */
struct certs_ocsp_spec {
	X509 *cert, *issuer;
	X509 *signer;
	EVP_PKEY *skey;
	int status;         /* V_OCSP_CERTSTATUS_GOOD, _REVOKED, _UNKNOWN */
	int reason;         /* _REVOKED: CRLReason, -1 none */
	long this_off, next_off;
	int no_next;
	const uint8_t *nonce;
	size_t nonce_len;
	int resp_status;    /* OCSP_RESPONSE_STATUS_*; 0: successful */
	int bad_sig;        /* the signature's last octet flipped (no certificates sent) */
};

uint8_t *certs_ocsp_response(const struct certs_ocsp_spec *s, size_t *len);

/*
 * Writes len octets to a new file made by mkstemp from the template path
 * (which receives the name), then gives it mode.  0, or -1 on any failure.
 */
int certs_put_file(char *path, const uint8_t *data, size_t len, mode_t mode);

/* DER / PEM encodings, malloc'd (free them). */
uint8_t *certs_der(X509 *x, size_t *len);
uint8_t *certs_pem(X509 *x, size_t *len);
uint8_t *certs_crl_der(X509_CRL *crl, size_t *len);
uint8_t *certs_key_pem(EVP_PKEY *k, size_t *len);
uint8_t *certs_key_der(EVP_PKEY *k, size_t *len);

#endif
