/* SPDX-License-Identifier: ISC */
/*
 * What the crypto files share and the rest of the engine does not see:
 * the OpenSSL algorithms fetched once per process (crypto.c), and HMAC over
 * a message given in pieces, which the PRF, prf+ and the key schedules
 * (crypto_keys.c) and the SK payload's ICV (crypto_sk.c) are made of.
 * The engine's other files include crypto.h only.
 */
#ifndef IKE_CRYPTO_EVP_H
#define IKE_CRYPTO_EVP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* One piece of a MAC's input; the pieces are fed in order. */
struct ike_span {
	const uint8_t *p;
	size_t n;
};

/* The digest of a PRF or integrity transform ("SHA256"), NULL if unknown. */
const char *ike_prf_digest(uint16_t prf);
const char *ike_integ_digest(uint16_t integ);

/* The fetched cipher of that OpenSSL name, NULL if it is not there. */
const EVP_CIPHER *ike_cipher_get(const char *name);

/* A keyed HMAC context (freeing it cleanses the key schedule); NULL on error. */
EVP_MAC_CTX *ike_hmac_new(const char *digest, const uint8_t *key, size_t klen);
/* Feed the spans to a keyed context and take its output; ctx is spent. */
int ike_hmac_finish(EVP_MAC_CTX *ctx, const struct ike_span *in, size_t n, uint8_t *out,
		    size_t outlen);
/*
 * out receives the full HMAC output (outlen bytes, the digest size).  One
 * key, one message: the keyed context itself is used up, no copy of it.
 */
int ike_hmac_once(const char *digest, const uint8_t *key, size_t klen,
		  const struct ike_span *in, size_t n, uint8_t *out, size_t outlen);

#endif
