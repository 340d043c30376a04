/* SPDX-License-Identifier: ISC */
/*
 * What the cert files share and the rest of the engine does not see: the
 * objects behind cert.h's handles, the weak-key check, and the loader of
 * PEM/DER blobs, the signature primitives.  cert.c loads, cert_chain.c
 * validates, cert_id.c binds identities, cert_sig.c signs and verifies
 * method 14, cert_sig_legacy.c the methods before it.
 */
#ifndef IKE_CERT_INT_H
#define IKE_CERT_INT_H

#include "cert.h"

#include <errno.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ike_cert {
	X509 *x;
};

struct ike_cred {
	unsigned refs; /* ike_cred_hold; the last ike_cred_free frees */
	EVP_PKEY *key;
	/* What goes into CERT payloads: [0] the end-entity certificate. */
	uint8_t *der[1 + IKE_CHAIN_MAX];
	size_t der_len[1 + IKE_CHAIN_MAX];
	size_t n_der;
	/* SHA-1 of the SPKI of every CA certificate given, roots included. */
	uint8_t ca_hash[IKE_CHAIN_MAX][IKE_CERTREQ_HASH_LEN];
	size_t n_ca;
};

struct ike_trust {
	unsigned refs; /* ike_trust_hold; the last ike_trust_free frees */
	X509_STORE *store;
	uint8_t (*ca_hash)[IKE_CERTREQ_HASH_LEN];
	size_t n_ca, cap;
	size_t n_crl;
	struct ike_der ocsp_signer[IKE_TRUST_OCSP_SIGNERS_MAX]; /* DER, owned */
	size_t n_ocsp_signer;
};

/* Set *why (if asked for) and return err: every refusal goes through it. */
static inline int cert_fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/*
 * Refuse keys too weak to sign IKE with, ours and the peer's: RSA under
 * 2048 bits or over 16384, a public exponent that is even, below 65537
 * or over 256 bits; curves other than P-256/384/521; types other than
 * RSA, EC, Ed25519, Ed448.
 */
int cert_key_check(const EVP_PKEY *k, const char **why);
/* The public key of the peer's certificate, through cert_key_check. */
int cert_peer_key(const struct ike_cert *c, EVP_PKEY **k, const char **why);

/*
 * Certificates and CRLs from a blob: PEM (any number, other PEM blocks
 * skipped) or one DER certificate or CRL.  Either stack may be NULL when
 * that kind is not wanted; finding none of a wanted kind is an error.
 */
int cert_load(const uint8_t *p, size_t len, STACK_OF(X509) *certs,
	      STACK_OF(X509_CRL) *crls, const char **why);

/* Does st hold a CRL in the name of x's issuer (cert_chain.c)? */
bool cert_crl_loaded(X509_STORE *st, X509 *x);

/* ike_cert_ocsp_uri of a parsed certificate (ocsp.c). */
int cert_ocsp_uri(X509 *x, char *out, size_t size, bool *has_cdp);

/* UTC seconds since the epoch (cert_info.c); -1 when t is absent or invalid. */
int64_t cert_time_of(const ASN1_TIME *t);

/* SHA-1 of the DER SubjectPublicKeyInfo (RFC 7296 section 3.7). */
int cert_spki_sha1(X509 *x, uint8_t out[IKE_CERTREQ_HASH_LEN]);
/* The NID of an EC key's named curve, NID_undef for other keys. */
int cert_key_curve(const EVP_PKEY *k);

/* --- signatures (cert_sig.c), shared with cert_sig_legacy.c --- */

/* RSASSA-PSS parameters as signed or verified. */
struct cert_pss {
	int salt;
};

/* The digest of an IKEv2 hash ID; NULL for Identity (EdDSA) and unknown. */
const EVP_MD *cert_hash_md(uint8_t hash);
/* Sign msg into sig (*siglen: in its size, out written); pss NULL for
 * PKCS#1 v1.5 with an RSA key.  0, -ENOSPC or -EIO. */
int cert_evp_sign(EVP_PKEY *k, const EVP_MD *md, const struct cert_pss *pss,
		  const uint8_t *msg, size_t mlen, uint8_t *sig, size_t *siglen);
/* 0, or -EBADMSG for a signature that does not verify. */
int cert_evp_verify(EVP_PKEY *k, const EVP_MD *md, const struct cert_pss *pss,
		    const uint8_t *msg, size_t mlen, const uint8_t *sig, size_t siglen);

/* cert_sig_legacy.c: methods 1 (verify only) and 9/10/11. */
uint8_t cert_curve_hash(const EVP_PKEY *k);
int cert_sign_legacy(EVP_PKEY *k, const uint8_t *octets, size_t olen, uint8_t *method,
		     uint8_t *out, size_t *len, const char **why);
int cert_verify_legacy(EVP_PKEY *k, uint8_t method, const uint8_t *auth, size_t alen,
		       const uint8_t *octets, size_t olen, const char **why);

#endif
