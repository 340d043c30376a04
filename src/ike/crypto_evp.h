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

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* One piece of a MAC's input; the pieces are fed in order. */
struct ike_span {
	const uint8_t *p;
	size_t n;
};

/*
 * The digests IKE uses, by their place in the table: a name would be
 * looked up again for every MAC.
 */
enum ike_md {
	IKE_MD_NONE = -1,
	IKE_MD_SHA1,
	IKE_MD_SHA256,
	IKE_MD_SHA384,
	IKE_MD_SHA512,
};

/* The digest of a PRF or integrity transform, IKE_MD_NONE if unknown. */
enum ike_md ike_prf_md(uint16_t prf);
enum ike_md ike_integ_md(uint16_t integ);

/* The fetched cipher of that OpenSSL name, NULL if it is not there. */
const EVP_CIPHER *ike_cipher_get(const char *name);

/* A keyed HMAC context (freeing it cleanses the key schedule); NULL on error. */
EVP_MAC_CTX *ike_hmac_new(enum ike_md md, const uint8_t *key, size_t klen);
/*
 * Feed the spans to a keyed context and take its output; ctx is spent.
 * This and ike_hmac_once are inline: prf+ calls one per block, and the
 * key schedules and the ICV are made of little else.
 */
static inline int ike_hmac_finish(EVP_MAC_CTX *ctx, const struct ike_span *in, size_t n,
				  uint8_t *out, size_t outlen)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		if (in[i].n && EVP_MAC_update(ctx, in[i].p, in[i].n) != 1)
			return -EIO;
	if (EVP_MAC_final(ctx, out, &len, outlen) != 1 || len != outlen)
		return -EIO;
	return 0;
}

/*
 * out receives the full HMAC output (outlen bytes, the digest size).  One
 * key, one message: the keyed context itself is used up, no copy of it.
 */
static inline int ike_hmac_once(enum ike_md md, const uint8_t *key, size_t klen,
				const struct ike_span *in, size_t n, uint8_t *out,
				size_t outlen)
{
	EVP_MAC_CTX *ctx = ike_hmac_new(md, key, klen);
	int ret;

	if (!ctx)
		return -EIO;
	ret = ike_hmac_finish(ctx, in, n, out, outlen);
	EVP_MAC_CTX_free(ctx);
	return ret;
}

#endif
