/* SPDX-License-Identifier: ISC */
/*
 * PRF, prf+ and IKEv2's key schedules (RFC 7296 sections 2.13, 2.14,
 * 2.17, 2.18), all made of HMAC (crypto_evp.h).  Every function that holds
 * key material ends at one `out:` label that wipes it.
 */
#include "crypto.h"
#include "crypto_evp.h"

#include "common/bytes.h"
#include "ikev2.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* prf+ feeds T(n-1), at most four seed pieces, and the counter. */
#define SEED_SPANS_MAX 4

/* --- PRF and prf+ ------------------------------------------------------ */

size_t ike_prf_len(uint16_t prf)
{
	switch (prf) {
	case IKEV2_PRF_HMAC_SHA2_256: return 32;
	case IKEV2_PRF_HMAC_SHA2_384: return 48;
	case IKEV2_PRF_HMAC_SHA2_512: return 64;
	}
	return 0;
}

int ike_prf(uint16_t prf, const uint8_t *key, size_t klen,
	    const uint8_t *data, size_t dlen, uint8_t *out)
{
	struct ike_span in = { data, dlen };

	if (!ike_prf_len(prf))
		return -ENOTSUP;
	return ike_hmac_once(ike_prf_md(prf), key, klen, &in, 1, out, ike_prf_len(prf));
}

/*
 * prf+ (section 2.13) over a seed given in pieces:
 *   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), out = T1 | T2 | ...
 * The counter is one octet, so at most 255 blocks can be produced.
 */
static int prf_plus_spans(uint16_t prf, const uint8_t *key, size_t klen,
			  const struct ike_span *seed, size_t nseed,
			  uint8_t *out, size_t outlen)
{
	struct ike_span in[SEED_SPANS_MAX + 2];
	uint8_t t[IKE_PRF_MAX];
	size_t plen = ike_prf_len(prf), off = 0;
	EVP_MAC_CTX *ctx = NULL;
	int ret = 0;

	if (!plen)
		return -ENOTSUP;
	/* Section 2.13: the counter octet must not wrap. */
	if (outlen > 255 * plen || nseed > SEED_SPANS_MAX)
		return -EINVAL;
	ctx = ike_hmac_new(ike_prf_md(prf), key, klen);
	if (!ctx)
		return -EIO;
	for (unsigned int i = 1; off < outlen; i++) {
		uint8_t ctr = (uint8_t)i;
		size_t k = 0, take;

		if (i > 1)
			in[k++] = (struct ike_span){ t, plen };
		for (size_t j = 0; j < nseed; j++)
			in[k++] = seed[j];
		in[k++] = (struct ike_span){ &ctr, 1 };
		/* Each block starts afresh with the same key (init without one). */
		if (i > 1 && EVP_MAC_init(ctx, NULL, 0, NULL) != 1)
			ret = -EIO;
		if (!ret)
			ret = ike_hmac_finish(ctx, in, k, t, plen);
		if (ret)
			goto out;
		take = outlen - off < plen ? outlen - off : plen;
		memcpy(out + off, t, take);
		off += take;
	}
out:
	OPENSSL_cleanse(t, sizeof(t));
	if (ret)
		OPENSSL_cleanse(out, outlen);
	EVP_MAC_CTX_free(ctx);
	return ret;
}

int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t klen,
		 const uint8_t *seed, size_t slen, uint8_t *out, size_t outlen)
{
	struct ike_span s = { seed, slen };

	return prf_plus_spans(prf, key, klen, &s, 1, out, outlen);
}

/* --- IKE SA key schedule ----------------------------------------------- */

void ike_keys_wipe(struct ike_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

/* Copy the next n bytes of keying material; returns the new offset. */
static size_t take_key(uint8_t *dst, const uint8_t *km, size_t off, size_t n)
{
	if (n)
		memcpy(dst, km + off, n);
	return off + n;
}

/*
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
 *     prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), section 2.14.
 */
static int derive_from_skeyseed(uint16_t prf, const uint8_t *skeyseed, size_t slen,
				const uint8_t *ni, size_t nilen,
				const uint8_t *nr, size_t nrlen,
				uint64_t spi_i, uint64_t spi_r,
				size_t a_len, size_t e_len, struct ike_keys *out)
{
	uint8_t km[3 * IKE_PRF_MAX + 4 * IKE_KEY_MAX];
	uint8_t spis[16];
	struct ike_span seed[3] = { { ni, nilen }, { nr, nrlen }, { spis, sizeof(spis) } };
	size_t plen = ike_prf_len(prf), off = 0;
	int ret;

	put_be64(spis, spi_i);
	put_be64(spis + 8, spi_r);
	ret = prf_plus_spans(prf, skeyseed, slen, seed, 3, km,
			     3 * plen + 2 * a_len + 2 * e_len);
	if (ret)
		goto out;
	off = take_key(out->sk_d, km, off, plen);
	off = take_key(out->sk_ai, km, off, a_len);
	off = take_key(out->sk_ar, km, off, a_len);
	off = take_key(out->sk_ei, km, off, e_len);
	off = take_key(out->sk_er, km, off, e_len);
	off = take_key(out->sk_pi, km, off, plen);
	take_key(out->sk_pr, km, off, plen);
	out->prf_len = plen;
	out->a_len = a_len;
	out->e_len = e_len;
out:
	OPENSSL_cleanse(km, sizeof(km));
	return ret;
}

/*
 * The key schedule writes into a local struct and copies it out only on
 * success, so `out` may hold the old SK_d it is derived from (rekey), and
 * a failure leaves `out` wiped rather than half-written.
 */
int ike_derive_ike_keys(uint16_t prf, const uint8_t *ni, size_t nilen,
			const uint8_t *nr, size_t nrlen,
			const uint8_t *gir, size_t girlen,
			uint64_t spi_i, uint64_t spi_r,
			size_t a_len, size_t e_len, struct ike_keys *out)
{
	uint8_t skeyseed[IKE_PRF_MAX];
	size_t plen = ike_prf_len(prf), klen = nilen + nrlen;
	struct ike_span in = { gir, girlen };
	struct ike_keys k;
	uint8_t *key = NULL;
	int ret;

	ike_keys_wipe(&k);
	ret = -ENOTSUP;
	if (!plen)
		goto out;
	ret = -EINVAL;
	if (a_len > IKE_KEY_MAX || e_len > IKE_KEY_MAX || klen < nilen)
		goto out;
	/* Section 2.14: with an HMAC PRF, Ni | Nr is the key as it is. */
	ret = -ENOMEM;
	key = OPENSSL_malloc(klen ? klen : 1);
	if (!key)
		goto out;
	if (nilen)
		memcpy(key, ni, nilen);
	if (nrlen)
		memcpy(key + nilen, nr, nrlen);
	/* SKEYSEED = prf(Ni | Nr, g^ir) */
	ret = ike_hmac_once(ike_prf_md(prf), key, klen, &in, 1, skeyseed, plen);
	if (ret)
		goto out;
	ret = derive_from_skeyseed(prf, skeyseed, plen, ni, nilen, nr, nrlen,
				   spi_i, spi_r, a_len, e_len, &k);
	if (!ret)
		memcpy(out, &k, sizeof(k));
out:
	if (ret)
		ike_keys_wipe(out);
	ike_keys_wipe(&k);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	OPENSSL_clear_free(key, klen ? klen : 1);
	return ret;
}

int ike_derive_rekey_keys(uint16_t old_prf, const uint8_t *old_sk_d, size_t old_dlen,
			  uint16_t prf, const uint8_t *ni, size_t nilen,
			  const uint8_t *nr, size_t nrlen,
			  const uint8_t *gir, size_t girlen,
			  uint64_t spi_i, uint64_t spi_r,
			  size_t a_len, size_t e_len, struct ike_keys *out)
{
	uint8_t skeyseed[IKE_PRF_MAX];
	size_t old_plen = ike_prf_len(old_prf);
	struct ike_span in[3] = { { gir, girlen }, { ni, nilen }, { nr, nrlen } };
	struct ike_keys k;
	int ret;

	ike_keys_wipe(&k);
	ret = -ENOTSUP;
	if (!old_plen || !ike_prf_len(prf))
		goto out;
	ret = -EINVAL;
	if (a_len > IKE_KEY_MAX || e_len > IKE_KEY_MAX)
		goto out;
	/* Section 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) */
	ret = ike_hmac_once(ike_prf_md(old_prf), old_sk_d, old_dlen, in, 3, skeyseed, old_plen);
	if (ret)
		goto out;
	ret = derive_from_skeyseed(prf, skeyseed, old_plen, ni, nilen, nr, nrlen,
				   spi_i, spi_r, a_len, e_len, &k);
	if (!ret)
		memcpy(out, &k, sizeof(k));
out:
	if (ret)
		ike_keys_wipe(out);
	ike_keys_wipe(&k);
	OPENSSL_cleanse(skeyseed, sizeof(skeyseed));
	return ret;
}

int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t dlen,
		     const uint8_t *gir, size_t girlen,
		     const uint8_t *ni, size_t nilen,
		     const uint8_t *nr, size_t nrlen,
		     uint8_t *out, size_t outlen)
{
	struct ike_span seed[3];
	size_t n = 0;

	/* Section 2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
	if (gir)
		seed[n++] = (struct ike_span){ gir, girlen };
	seed[n++] = (struct ike_span){ ni, nilen };
	seed[n++] = (struct ike_span){ nr, nrlen };
	return prf_plus_spans(prf, sk_d, dlen, seed, n, out, outlen);
}
