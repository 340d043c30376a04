/* SPDX-License-Identifier: ISC */
/*
 * What the cert files share and the rest of the engine does not see: the
 * objects behind cert.h's handles, the weak-key check, and the loader of
 * PEM/DER blobs.  cert.c loads, cert_chain.c validates, cert_id.c binds
 * identities, cert_sig.c signs and verifies.
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
	X509_STORE *store;
	uint8_t (*ca_hash)[IKE_CERTREQ_HASH_LEN];
	size_t n_ca, cap;
	size_t n_crl;
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

/* SHA-1 of the DER SubjectPublicKeyInfo (RFC 7296 section 3.7). */
int cert_spki_sha1(X509 *x, uint8_t out[IKE_CERTREQ_HASH_LEN]);

#endif
