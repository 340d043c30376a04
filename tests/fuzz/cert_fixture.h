/* SPDX-License-Identifier: ISC */
/*
 * The fixed credentials of fuzz_cert and its seed generator: a root CA
 * and an intermediate with keys from fixed scalars (so that certificates
 * made by one run chain in the next), a trust store holding the root with
 * a CRL of the intermediate (revoking serial 666), our credential, and a
 * peer certificate for each key type to verify AUTH data against.  The
 * EC and EdDSA keys are fixed; the RSA key is fresh in every process.
 */
#ifndef XK_FUZZ_CERT_FIXTURE_H
#define XK_FUZZ_CERT_FIXTURE_H

#include "certs.h"
#include "ike/cert.h"

enum { FX_RSA, FX_P256, FX_P384, FX_P521, FX_ED25519, FX_ED448, FX_KEYS };

struct cert_fixture {
	EVP_PKEY *root_key, *int_key;
	X509 *root, *inter;
	struct ike_trust *trust;
	EVP_PKEY *keys[FX_KEYS];
	struct ike_cred *creds[FX_KEYS];  /* the keys with their certificates */
	struct ike_cert *certs[FX_KEYS];  /* the same certificates, as a peer's */
};

/* What fuzz_cert's AUTH mode verifies signatures over. */
#define FX_OCTETS "fuzz_cert signed octets"

void cert_fixture_init(struct cert_fixture *f);
/* An end-entity certificate of key under the intermediate (certs.h spec). */
X509 *cert_fixture_ee(const struct cert_fixture *f, EVP_PKEY *key, long serial, long from,
		      long to);

#endif
