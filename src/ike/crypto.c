/* SPDX-License-Identifier: ISC */
/*
 * IKEv2 cryptography over OpenSSL 3 EVP (see crypto.h for the interface).
 *
 * Nothing here is a hand-written primitive: HMAC is EVP_MAC, the SK
 * ciphers are EVP_CIPHER, key exchange is EVP_PKEY.  What this file adds
 * is IKEv2's glue: prf+ and the key schedules (RFC 7296 sections 2.13,
 * 2.14, 2.17, 2.18), the wire formats of the KE payload data, validation
 * of the peer's public value, and the SK payload layout (section 3.14,
 * RFC 5282, RFC 7634).
 *
 * Every function that holds key material ends at one `out:` label that
 * wipes it.
 */
#include "crypto.h"

#include "common/bytes.h"
#include "ikev2.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* --- Algorithms, fetched once ------------------------------------------ */

/*
 * OpenSSL 3 looks an algorithm up by name, under a lock, on every fetch,
 * and an HMAC context told its digest by name fetches the digest again.
 * A responder's handshake makes some twenty MAC, digest and cipher calls,
 * at about a microsecond of look-ups each, so every algorithm IKE uses is
 * fetched once per process and kept.  After that the table is only read:
 * threads share it.  What is missing (a FIPS provider without ChaCha20,
 * say) stays NULL and fails where it is asked for.
 */
static const char *const md_names[] = { "SHA1", "SHA256", "SHA384", "SHA512" };
static const char *const cipher_names[] = {
	"AES-128-CBC", "AES-192-CBC", "AES-256-CBC",
	"AES-128-GCM", "AES-192-GCM", "AES-256-GCM", "ChaCha20-Poly1305",
};
#define N_MD (sizeof(md_names) / sizeof(md_names[0]))
#define N_CIPHER (sizeof(cipher_names) / sizeof(cipher_names[0]))

static struct {
	EVP_MD *md[N_MD];
	EVP_MAC_CTX *hmac[N_MD]; /* digest set, no key: copied for each key */
	EVP_CIPHER *cipher[N_CIPHER];
} algs;
static CRYPTO_ONCE algs_once = CRYPTO_ONCE_STATIC_INIT;

static void algs_fetch(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	for (size_t i = 0; i < N_MD; i++) {
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)md_names[i], 0),
			OSSL_PARAM_construct_end(),
		};

		algs.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		algs.hmac[i] = mac ? EVP_MAC_CTX_new(mac) : NULL;
		if (algs.hmac[i] && EVP_MAC_CTX_set_params(algs.hmac[i], params) != 1) {
			EVP_MAC_CTX_free(algs.hmac[i]);
			algs.hmac[i] = NULL;
		}
	}
	EVP_MAC_free(mac); /* each context keeps its own reference */
	for (size_t i = 0; i < N_CIPHER; i++)
		algs.cipher[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
	ERR_clear_error(); /* what failed is NULL, reported where it is used */
}

static bool algs_ready(void)
{
	return CRYPTO_THREAD_run_once(&algs_once, algs_fetch) == 1;
}

/* Where name stands in names[0, n) once the table is filled; -1 if not. */
static int alg_index(const char *const *names, size_t n, const char *name)
{
	if (name && algs_ready())
		for (size_t i = 0; i < n; i++)
			if (!strcmp(names[i], name))
				return (int)i;
	return -1;
}

/* The fetched algorithm of that name, NULL if it is not there. */
static const EVP_MD *md_get(const char *name)
{
	int i = alg_index(md_names, N_MD, name);

	return i < 0 ? NULL : algs.md[i];
}

static const EVP_MAC_CTX *hmac_get(const char *digest)
{
	int i = alg_index(md_names, N_MD, digest);

	return i < 0 ? NULL : algs.hmac[i];
}

static const EVP_CIPHER *cipher_get(const char *name)
{
	int i = alg_index(cipher_names, N_CIPHER, name);

	return i < 0 ? NULL : algs.cipher[i];
}

/* --- HMAC ------------------------------------------------------------- */

/* One piece of a MAC's input; the pieces are fed in order. */
struct span {
	const uint8_t *p;
	size_t n;
};

/* prf+ feeds T(n-1), at most four seed pieces, and the counter. */
#define SEED_SPANS_MAX 4

static const char *prf_digest(uint16_t prf)
{
	switch (prf) {
	case IKEV2_PRF_HMAC_SHA2_256: return "SHA256";
	case IKEV2_PRF_HMAC_SHA2_384: return "SHA384";
	case IKEV2_PRF_HMAC_SHA2_512: return "SHA512";
	}
	return NULL;
}

static const char *integ_digest(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return "SHA256";
	case IKEV2_AUTH_HMAC_SHA2_384_192: return "SHA384";
	case IKEV2_AUTH_HMAC_SHA2_512_256: return "SHA512";
	}
	return NULL;
}

/* A keyed HMAC context (freeing it cleanses the key schedule). */
static EVP_MAC_CTX *hmac_new(const char *digest, const uint8_t *key, size_t klen)
{
	static const uint8_t nokey;
	const EVP_MAC_CTX *unkeyed = hmac_get(digest);
	EVP_MAC_CTX *ctx;

	ctx = unkeyed ? EVP_MAC_CTX_dup(unkeyed) : NULL;
	if (!ctx)
		return NULL;
	if (EVP_MAC_init(ctx, klen ? key : &nokey, klen, NULL) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Feed the spans to a keyed context and take its output; ctx is spent. */
static int hmac_finish(EVP_MAC_CTX *ctx, const struct span *in, size_t n, uint8_t *out,
		       size_t outlen)
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
static int hmac_once(const char *digest, const uint8_t *key, size_t klen,
		     const struct span *in, size_t n, uint8_t *out, size_t outlen)
{
	EVP_MAC_CTX *ctx = hmac_new(digest, key, klen);
	int ret;

	if (!ctx)
		return -EIO;
	ret = hmac_finish(ctx, in, n, out, outlen);
	EVP_MAC_CTX_free(ctx);
	return ret;
}

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
	struct span in = { data, dlen };

	if (!ike_prf_len(prf))
		return -ENOTSUP;
	return hmac_once(prf_digest(prf), key, klen, &in, 1, out, ike_prf_len(prf));
}

/*
 * prf+ (section 2.13) over a seed given in pieces:
 *   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), out = T1 | T2 | ...
 * The counter is one octet, so at most 255 blocks can be produced.
 */
static int prf_plus_spans(uint16_t prf, const uint8_t *key, size_t klen,
			  const struct span *seed, size_t nseed,
			  uint8_t *out, size_t outlen)
{
	struct span in[SEED_SPANS_MAX + 2];
	uint8_t t[IKE_PRF_MAX];
	size_t plen = ike_prf_len(prf), off = 0;
	EVP_MAC_CTX *ctx = NULL;
	int ret = 0;

	if (!plen)
		return -ENOTSUP;
	/* Section 2.13: the counter octet must not wrap. */
	if (outlen > 255 * plen || nseed > SEED_SPANS_MAX)
		return -EINVAL;
	ctx = hmac_new(prf_digest(prf), key, klen);
	if (!ctx)
		return -EIO;
	for (unsigned int i = 1; off < outlen; i++) {
		uint8_t ctr = (uint8_t)i;
		size_t k = 0, take;

		if (i > 1)
			in[k++] = (struct span){ t, plen };
		for (size_t j = 0; j < nseed; j++)
			in[k++] = seed[j];
		in[k++] = (struct span){ &ctr, 1 };
		/* Each block starts afresh with the same key (init without one). */
		if (i > 1 && EVP_MAC_init(ctx, NULL, 0, NULL) != 1)
			ret = -EIO;
		if (!ret)
			ret = hmac_finish(ctx, in, k, t, plen);
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
	struct span s = { seed, slen };

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
	struct span seed[3] = { { ni, nilen }, { nr, nrlen }, { spis, sizeof(spis) } };
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
	struct span in = { gir, girlen };
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
	ret = hmac_once(prf_digest(prf), key, klen, &in, 1, skeyseed, plen);
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
	struct span in[3] = { { gir, girlen }, { ni, nilen }, { nr, nrlen } };
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
	ret = hmac_once(prf_digest(old_prf), old_sk_d, old_dlen, in, 3, skeyseed, old_plen);
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
	struct span seed[3];
	size_t n = 0;

	/* Section 2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) */
	if (gir)
		seed[n++] = (struct span){ gir, girlen };
	seed[n++] = (struct span){ ni, nilen };
	seed[n++] = (struct span){ nr, nrlen };
	return prf_plus_spans(prf, sk_d, dlen, seed, n, out, outlen);
}

/* --- Key exchange ------------------------------------------------------ */

enum dh_kind {
	DH_MODP, /* RFC 3526 safe-prime groups */
	DH_ECP,  /* RFC 5903 NIST curves */
	DH_XDH,  /* RFC 8031 Curve25519 / Curve448 */
};

struct dh_group {
	uint16_t id;
	enum dh_kind kind;
	const char *alg;   /* OpenSSL key type */
	const char *name;  /* OpenSSL group name, NULL for X25519/X448 */
	int nid;           /* ECP: the curve, for computing g^i from i */
	size_t pub_len;    /* KE payload data */
	size_t secret_len; /* g^ir; for ECP also the field length */
};

static const struct dh_group dh_groups[] = {
	/* RFC 3526 sections 3-5; the value is padded to the prime length. */
	{ IKEV2_DH_MODP_2048, DH_MODP, "DH", "modp_2048", NID_undef, 256, 256 },
	{ IKEV2_DH_MODP_3072, DH_MODP, "DH", "modp_3072", NID_undef, 384, 384 },
	{ IKEV2_DH_MODP_4096, DH_MODP, "DH", "modp_4096", NID_undef, 512, 512 },
	/* RFC 5903 section 7: x | y out, the x coordinate shared. */
	{ IKEV2_DH_ECP_256, DH_ECP, "EC", "prime256v1", NID_X9_62_prime256v1, 64, 32 },
	{ IKEV2_DH_ECP_384, DH_ECP, "EC", "secp384r1", NID_secp384r1, 96, 48 },
	{ IKEV2_DH_ECP_521, DH_ECP, "EC", "secp521r1", NID_secp521r1, 132, 66 },
	/* RFC 8031 section 2: the raw u-coordinate both ways. */
	{ IKEV2_DH_CURVE25519, DH_XDH, "X25519", NULL, NID_undef, 32, 32 },
	{ IKEV2_DH_CURVE448, DH_XDH, "X448", NULL, NID_undef, 56, 56 },
};

#define ECP_PUB_MAX (1 + 132) /* 0x04 | x | y for P-521 */

struct ike_dh {
	const struct dh_group *g;
	EVP_PKEY *pkey;
};

static const struct dh_group *dh_group_find(uint16_t group)
{
	for (size_t i = 0; i < sizeof(dh_groups) / sizeof(dh_groups[0]); i++)
		if (dh_groups[i].id == group)
			return &dh_groups[i];
	return NULL;
}

bool ike_dh_supported(uint16_t group)
{
	return dh_group_find(group) != NULL;
}

size_t ike_dh_pub_len(uint16_t group)
{
	const struct dh_group *g = dh_group_find(group);

	return g ? g->pub_len : 0;
}

size_t ike_dh_secret_len(uint16_t group)
{
	const struct dh_group *g = dh_group_find(group);

	return g ? g->secret_len : 0;
}

uint16_t ike_dh_group(const struct ike_dh *dh)
{
	return dh->g->id;
}

static struct ike_dh *dh_wrap(const struct dh_group *g, EVP_PKEY *pkey)
{
	struct ike_dh *dh;

	if (!pkey)
		return NULL;
	dh = OPENSSL_zalloc(sizeof(*dh));
	if (!dh) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	dh->g = g;
	dh->pkey = pkey;
	return dh;
}

static EVP_PKEY *pkey_fromdata(const char *alg, int selection, OSSL_PARAM *params)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	if (!ctx)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* A key of `g` from a parameter list built by the caller (NULL on error). */
static EVP_PKEY *pkey_from_bld(const struct dh_group *g, int selection, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params;
	EVP_PKEY *pkey;

	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0))
		return NULL;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		return NULL;
	pkey = pkey_fromdata(g->alg, selection, params);
	OSSL_PARAM_free(params); /* clears the part that held secret BNs */
	return pkey;
}

struct ike_dh *ike_dh_new(uint16_t group)
{
	const struct dh_group *g = dh_group_find(group);
	OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx;

	if (!g)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, g->alg, NULL);
	if (!ctx)
		return NULL;
	if (g->name)
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							     (char *)g->name, 0);
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
	    EVP_PKEY_generate(ctx, &pkey) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return dh_wrap(g, pkey);
}

/* g^x mod p for a given x; the domain comes from the named group. */
static EVP_PKEY *modp_from_private(const struct dh_group *g, const uint8_t *priv, size_t len)
{
	OSSL_PARAM gp[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
	BIGNUM *p = NULL, *gen = NULL, *x = NULL, *y = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *dom = NULL, *pkey = NULL;
	BN_CTX *bn = NULL;

	gp[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)g->name, 0);
	dom = pkey_fromdata(g->alg, EVP_PKEY_KEY_PARAMETERS, gp);
	if (!dom || !EVP_PKEY_get_bn_param(dom, OSSL_PKEY_PARAM_FFC_P, &p) ||
	    !EVP_PKEY_get_bn_param(dom, OSSL_PKEY_PARAM_FFC_G, &gen))
		goto out;
	x = BN_secure_new();
	y = BN_new();
	bn = BN_CTX_new();
	if (!x || !y || !bn || !BN_bin2bn(priv, (int)len, x))
		goto out;
	/* x in [2, p): 0 and 1 give a degenerate g^x, larger x are not reduced. */
	if (BN_cmp(x, BN_value_one()) <= 0 || BN_cmp(x, p) >= 0)
		goto out;
	BN_set_flags(x, BN_FLG_CONSTTIME);
	if (!BN_mod_exp_mont_consttime(y, gen, x, p, bn, NULL))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, x) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	pkey = pkey_from_bld(g, EVP_PKEY_KEYPAIR, bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_CTX_free(bn);
	BN_clear_free(x);
	BN_free(y);
	BN_free(p);
	BN_free(gen);
	EVP_PKEY_free(dom);
	return pkey;
}

/* g^i = i * G for a given big-endian scalar i. */
static EVP_PKEY *ecp_from_private(const struct dh_group *g, const uint8_t *priv, size_t len)
{
	uint8_t pub[ECP_PUB_MAX];
	size_t publen = 1 + g->pub_len;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BN_CTX *bn = NULL;
	BIGNUM *d = NULL;

	grp = EC_GROUP_new_by_curve_name(g->nid);
	d = BN_secure_new();
	bn = BN_CTX_new();
	if (!grp || !d || !bn || !BN_bin2bn(priv, (int)len, d))
		goto out;
	/* 0 < i < n */
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0)
		goto out;
	pt = EC_POINT_new(grp);
	if (!pt || !EC_POINT_mul(grp, pt, d, NULL, NULL, bn) ||
	    EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, publen, bn) != publen)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen))
		goto out;
	pkey = pkey_from_bld(g, EVP_PKEY_KEYPAIR, bld);
out:
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	BN_CTX_free(bn);
	BN_clear_free(d);
	return pkey;
}

struct ike_dh *ike_dh_new_private(uint16_t group, const uint8_t *priv, size_t len)
{
	const struct dh_group *g = dh_group_find(group);

	if (!g || !priv)
		return NULL;
	switch (g->kind) {
	case DH_MODP:
		if (!len || len > g->pub_len)
			return NULL;
		return dh_wrap(g, modp_from_private(g, priv, len));
	case DH_ECP:
		/* The scalar is written out to the field length (RFC 5903 section 8). */
		if (len != g->secret_len)
			return NULL;
		return dh_wrap(g, ecp_from_private(g, priv, len));
	case DH_XDH:
		if (len != g->pub_len)
			return NULL;
		return dh_wrap(g, EVP_PKEY_new_raw_private_key_ex(NULL, g->alg, NULL, priv, len));
	}
	return NULL;
}

static int bn_param_out(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t len)
{
	BIGNUM *v = NULL;
	int ret = -EIO;

	if (EVP_PKEY_get_bn_param(pkey, name, &v) && BN_bn2binpad(v, out, (int)len) == (int)len)
		ret = 0;
	BN_free(v);
	return ret;
}

int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t *len)
{
	const struct dh_group *g = dh->g;
	size_t half = g->pub_len / 2, l = g->pub_len;
	int ret = -EIO;

	if (*len < g->pub_len)
		return -EINVAL;
	switch (g->kind) {
	case DH_MODP:
		ret = bn_param_out(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, out, g->pub_len);
		break;
	case DH_ECP:
		ret = bn_param_out(dh->pkey, OSSL_PKEY_PARAM_EC_PUB_X, out, half);
		if (!ret)
			ret = bn_param_out(dh->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, out + half, half);
		break;
	case DH_XDH:
		if (EVP_PKEY_get_raw_public_key(dh->pkey, out, &l) == 1 && l == g->pub_len)
			ret = 0;
		break;
	}
	if (ret)
		return ret;
	*len = g->pub_len;
	return 0;
}

/* The full public-key check: on the curve / in the prime-order subgroup. */
static bool peer_key_valid(EVP_PKEY *peer)
{
	EVP_PKEY_CTX *ctx;
	bool ok;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	ok = ctx && EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

/* Peer's MODP value, checked as RFC 6989 section 2.1 requires. */
static int modp_peer(const struct ike_dh *dh, const uint8_t *peer, size_t plen, EVP_PKEY **out)
{
	BIGNUM *p = NULL, *y = NULL, *pm1 = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int ret = -EIO;

	y = BN_bin2bn(peer, (int)plen, NULL);
	pm1 = BN_new();
	if (!y || !pm1 || !EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_FFC_P, &p) ||
	    !BN_sub(pm1, p, BN_value_one()))
		goto out;
	ret = -EINVAL;
	/* 0 and 1 give a known secret, p - 1 one of two, >= p is not an element. */
	if (BN_is_zero(y) || BN_is_one(y) || BN_cmp(y, pm1) >= 0)
		goto out;
	ret = -EIO;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, y))
		goto out;
	*out = pkey_from_bld(dh->g, EVP_PKEY_PUBLIC_KEY, bld);
	if (!*out)
		goto out;
	/* Outside the order-q subgroup: leaks a bit of our exponent. */
	ret = peer_key_valid(*out) ? 0 : -EINVAL;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(p);
	BN_free(y);
	BN_free(pm1);
	return ret;
}

/* Peer's ECP value x | y (RFC 5903 section 7) as an uncompressed point. */
static int ecp_peer(const struct ike_dh *dh, const uint8_t *peer, size_t plen, EVP_PKEY **out)
{
	uint8_t pt[ECP_PUB_MAX];
	OSSL_PARAM_BLD *bld;
	int ret = -EIO;

	pt[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(pt + 1, peer, plen);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + plen))
		goto out;
	/* The import refuses coordinates >= p and points off the curve. */
	*out = pkey_from_bld(dh->g, EVP_PKEY_PUBLIC_KEY, bld);
	ret = *out && peer_key_valid(*out) ? 0 : -EINVAL;
out:
	OSSL_PARAM_BLD_free(bld);
	return ret;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/*
 * The peer's X25519/X448 value as a key, made through our own key's
 * context: it knows the key type, where making it by name looks the type
 * up again (a few percent of a handshake).
 */
static int xdh_peer(EVP_PKEY_CTX *ctx, const uint8_t *peer, size_t plen, EVP_PKEY **out)
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, plen),
		OSSL_PARAM_construct_end(),
	};

	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		return -EIO;
	return 0;
}

int ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t plen,
		  uint8_t *out, size_t *outlen)
{
	const struct dh_group *g = dh->g;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	size_t len = g->secret_len;
	int ret = -EIO;

	/* Section 3.4: the KE data length is fixed by the group. */
	if (plen != g->pub_len || *outlen < g->secret_len)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, dh->pkey, NULL);
	if (!ctx)
		goto out;
	switch (g->kind) {
	case DH_MODP:
		ret = modp_peer(dh, peer, plen, &pk);
		break;
	case DH_ECP:
		ret = ecp_peer(dh, peer, plen, &pk);
		break;
	case DH_XDH:
		ret = xdh_peer(ctx, peer, plen, &pk);
		break;
	}
	if (ret)
		goto out;
	ret = -EIO;
	if (EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	/* RFC 7296 section 2.14: g^ir is padded to the prime length. */
	if (g->kind == DH_MODP && EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1)
		goto out;
	/* Already validated above; no need to check the peer twice. */
	if (EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) != 1)
		goto out;
	if (EVP_PKEY_derive(ctx, out, &len) != 1) {
		/* OpenSSL itself refuses an all-zero X25519/X448 result. */
		if (g->kind == DH_XDH)
			ret = -EINVAL;
		goto out;
	}
	if (len != g->secret_len)
		goto out;
	/* RFC 8031 section 2.3: an all-zero value means a low-order point. */
	if (g->kind == DH_XDH && all_zero(out, len)) {
		ret = -EINVAL;
		goto out;
	}
	*outlen = len;
	ret = 0;
out:
	if (ret) {
		OPENSSL_cleanse(out, g->secret_len);
		/* A bad peer value is routine: leave no errors queued for others. */
		ERR_clear_error();
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ret;
}

void ike_dh_free(struct ike_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->pkey); /* clears the private key */
	OPENSSL_clear_free(dh, sizeof(*dh));
}

/* --- SK payload ciphers ------------------------------------------------- */

#define AEAD_SALT_LEN 4 /* RFC 5282 section 7.1, RFC 7634 section 2 */
#define AEAD_IV_LEN 8
#define AEAD_TAG_LEN 16
#define CBC_BLOCK 16
#define ICV_MAX 64
/* Lengths are handed to OpenSSL as int; leave room for IV and ICV. */
#define SK_MSG_MAX ((size_t)INT_MAX - 128)

static const char *encr_cipher(uint16_t encr, uint16_t keybits)
{
	switch (encr) {
	case IKEV2_ENCR_AES_CBC:
		switch (keybits) {
		case 128: return "AES-128-CBC";
		case 192: return "AES-192-CBC";
		case 256: return "AES-256-CBC";
		}
		return NULL;
	case IKEV2_ENCR_AES_GCM_16:
		switch (keybits) {
		case 128: return "AES-128-GCM";
		case 192: return "AES-192-GCM";
		case 256: return "AES-256-GCM";
		}
		return NULL;
	case IKEV2_ENCR_CHACHA20_POLY1305:
		/* RFC 7634 section 2: no Key Length attribute, 256 bits. */
		return keybits == 0 || keybits == 256 ? "ChaCha20-Poly1305" : NULL;
	}
	return NULL;
}

/* The cipher key alone, without the AEAD salt. */
static size_t encr_cipher_key_len(uint16_t encr, uint16_t keybits)
{
	if (!encr_cipher(encr, keybits))
		return 0;
	return encr == IKEV2_ENCR_CHACHA20_POLY1305 ? 32 : keybits / 8u;
}

bool ike_encr_supported(uint16_t encr, uint16_t keybits)
{
	return encr_cipher(encr, keybits) != NULL;
}

bool ike_encr_is_aead(uint16_t encr)
{
	switch (encr) {
	case IKEV2_ENCR_AES_GCM_8:
	case IKEV2_ENCR_AES_GCM_12:
	case IKEV2_ENCR_AES_GCM_16:
	case IKEV2_ENCR_CHACHA20_POLY1305:
		return true;
	}
	return false;
}

size_t ike_encr_key_len(uint16_t encr, uint16_t keybits)
{
	size_t klen = encr_cipher_key_len(encr, keybits);

	if (!klen)
		return 0;
	return ike_encr_is_aead(encr) ? klen + AEAD_SALT_LEN : klen;
}

size_t ike_encr_iv_len(uint16_t encr)
{
	if (encr == IKEV2_ENCR_AES_CBC)
		return CBC_BLOCK;
	return ike_encr_is_aead(encr) ? AEAD_IV_LEN : 0;
}

size_t ike_encr_block_len(uint16_t encr)
{
	return encr == IKEV2_ENCR_AES_CBC ? CBC_BLOCK : 1;
}

bool ike_integ_supported(uint16_t integ)
{
	return integ_digest(integ) != NULL;
}

size_t ike_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return 32;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return 48;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return 64;
	}
	return 0;
}

size_t ike_integ_icv_len(uint16_t integ)
{
	/* RFC 4868 section 2.3: truncated to half the digest. */
	return ike_integ_key_len(integ) / 2;
}

size_t ike_sk_icv_len(uint16_t encr, uint16_t integ)
{
	if (encr == IKEV2_ENCR_AES_GCM_16 || encr == IKEV2_ENCR_CHACHA20_POLY1305)
		return AEAD_TAG_LEN;
	if (encr == IKEV2_ENCR_AES_CBC)
		return ike_integ_icv_len(integ);
	return 0;
}

/* The truncated HMAC of section 3.14 over msg[0, len). */
static int sk_icv(const struct ike_sk_ctx *c, const uint8_t *msg, size_t len, uint8_t *icv)
{
	struct span in = { msg, len };
	uint8_t full[ICV_MAX];
	/* RFC 4868 section 2.1: key and full MAC are both the digest size. */
	size_t dlen = ike_integ_key_len(c->integ);
	int ret;

	ret = hmac_once(integ_digest(c->integ), c->akey, dlen, &in, 1, full, dlen);
	if (!ret)
		memcpy(icv, full, ike_integ_icv_len(c->integ));
	return ret;
}

/*
 * AEAD seal/open.  The nonce is salt | IV (RFC 5282 section 4, RFC 7634
 * section 2), the AAD the IKE header and SK header (RFC 5282 section 5.1).
 */
static int aead_seal(const struct ike_sk_ctx *c, const char *name, uint8_t *msg,
		     size_t aad_len, size_t pt_len)
{
	size_t klen = encr_cipher_key_len(c->encr, c->keybits);
	uint8_t *iv = msg + aad_len, *pt = iv + AEAD_IV_LEN;
	uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN];
	const EVP_CIPHER *cipher = cipher_get(name);
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, ret = -EIO;

	memcpy(nonce, c->ekey + klen, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx || EVP_EncryptInit_ex2(ctx, cipher, c->ekey, nonce, NULL) != 1)
		goto out;
	if (aad_len && EVP_EncryptUpdate(ctx, NULL, &outl, msg, (int)aad_len) != 1)
		goto out;
	if (pt_len && EVP_EncryptUpdate(ctx, pt, &outl, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, pt + pt_len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, pt + pt_len) != 1)
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	EVP_CIPHER_CTX_free(ctx); /* the provider clears the key schedule */
	return ret;
}

static int aead_open(const struct ike_sk_ctx *c, const char *name, uint8_t *msg,
		     size_t aad_len, size_t ct_len)
{
	size_t klen = encr_cipher_key_len(c->encr, c->keybits);
	uint8_t *iv = msg + aad_len, *ct = iv + AEAD_IV_LEN, *tag = ct + ct_len;
	uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN];
	const EVP_CIPHER *cipher = cipher_get(name);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *tmp;
	int outl, ret = -EIO;

	memcpy(nonce, c->ekey + klen, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
	/* Decrypt aside: nothing unauthenticated reaches msg. */
	tmp = OPENSSL_malloc(ct_len ? ct_len : 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!tmp || !cipher || !ctx ||
	    EVP_DecryptInit_ex2(ctx, cipher, c->ekey, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	if (aad_len && EVP_DecryptUpdate(ctx, NULL, &outl, msg, (int)aad_len) != 1)
		goto out;
	outl = 0;
	if (ct_len && EVP_DecryptUpdate(ctx, tmp, &outl, ct, (int)ct_len) != 1)
		goto out;
	/* The tag is compared in constant time by the provider. */
	if (EVP_DecryptFinal_ex(ctx, tmp + outl, &outl) != 1) {
		ERR_clear_error();
		ret = -EBADMSG;
		goto out;
	}
	if (ct_len)
		memcpy(ct, tmp, ct_len);
	ret = (int)ct_len;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	OPENSSL_clear_free(tmp, ct_len ? ct_len : 1);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* AES-CBC (RFC 3602) without OpenSSL padding: IKE pads itself. */
static int cbc_crypt(const char *name, const uint8_t *key, const uint8_t *iv,
		     uint8_t *buf, size_t len, int enc)
{
	const EVP_CIPHER *cipher = cipher_get(name);
	EVP_CIPHER_CTX *ctx;
	int outl = 0, fin = 0, ret = -EIO;

	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx || EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, buf + outl, &fin) != 1 || (size_t)outl + (size_t)fin != len)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int ike_sk_seal(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len,
		size_t pt_len, const uint8_t *iv)
{
	const char *name = encr_cipher(c->encr, c->keybits);
	size_t iv_len = ike_encr_iv_len(c->encr);
	bool aead = ike_encr_is_aead(c->encr);
	uint8_t *ivp, *pt;
	int ret;

	if (!name || (!aead && !ike_integ_supported(c->integ)))
		return -ENOTSUP;
	if (!c->ekey || (!aead && !c->akey))
		return -EINVAL;
	if (aad_len > SK_MSG_MAX || pt_len > SK_MSG_MAX - aad_len)
		return -EINVAL;
	/* Section 3.14: the padded plaintext fills whole cipher blocks. */
	if (!aead && (pt_len == 0 || pt_len % CBC_BLOCK))
		return -EINVAL;
	ivp = msg + aad_len;
	pt = ivp + iv_len;
	if (iv)
		memmove(ivp, iv, iv_len);
	else if (ike_random(ivp, iv_len))
		return -EIO;
	if (aead)
		return aead_seal(c, name, msg, aad_len, pt_len);
	ret = cbc_crypt(name, c->ekey, ivp, pt, pt_len, 1);
	if (ret)
		return ret;
	return sk_icv(c, msg, aad_len + iv_len + pt_len, pt + pt_len);
}

int ike_sk_open(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len, size_t msg_len)
{
	const char *name = encr_cipher(c->encr, c->keybits);
	size_t iv_len = ike_encr_iv_len(c->encr);
	size_t icv_len = ike_sk_icv_len(c->encr, c->integ);
	bool aead = ike_encr_is_aead(c->encr);
	uint8_t icv[ICV_MAX];
	size_t ct_len;
	int ret;

	if (!name || (!aead && !ike_integ_supported(c->integ)))
		return -ENOTSUP;
	if (!c->ekey || (!aead && !c->akey))
		return -EINVAL;
	/* Too short to hold the IV and ICV, or too long for OpenSSL's ints. */
	if (msg_len > SK_MSG_MAX || msg_len < aad_len || msg_len - aad_len < iv_len + icv_len)
		return -EINVAL;
	ct_len = msg_len - aad_len - iv_len - icv_len;
	if (aead)
		return aead_open(c, name, msg, aad_len, ct_len);
	/* Section 3.14: CBC ciphertext is whole blocks, at least one. */
	if (ct_len == 0 || ct_len % CBC_BLOCK)
		return -EINVAL;
	/* Verify before decrypting anything: no padding oracle. */
	ret = sk_icv(c, msg, msg_len - icv_len, icv);
	if (ret)
		return ret;
	if (CRYPTO_memcmp(icv, msg + msg_len - icv_len, icv_len) != 0)
		return -EBADMSG;
	ret = cbc_crypt(name, c->ekey, msg + aad_len, msg + aad_len + iv_len, ct_len, 0);
	return ret ? ret : (int)ct_len;
}

/* --- misc ---------------------------------------------------------------- */

static int rand_fill(void *buf, size_t len, bool priv)
{
	uint8_t *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if ((priv ? RAND_priv_bytes(p, n) : RAND_bytes(p, n)) != 1)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A DRBG call costs about a microsecond whatever its size: made for every
 * nonce, SPI and IV it was 3-4 % of a responder's handshake.  Public
 * values come from a per-thread pool filled RAND_POOL bytes at a time.  A
 * forked child empties its pool, so that parent and child never hand out
 * the same bytes.
 */
#define RAND_POOL 512
#define RAND_POOL_TAKE 64 /* larger requests go to the DRBG directly */

static _Thread_local struct {
	uint8_t buf[RAND_POOL];
	size_t left;
} rand_pool;
static CRYPTO_ONCE rand_pool_once = CRYPTO_ONCE_STATIC_INIT;

static void rand_pool_forget(void)
{
	OPENSSL_cleanse(&rand_pool, sizeof(rand_pool));
}

static void rand_pool_atfork(void)
{
	pthread_atfork(NULL, NULL, rand_pool_forget);
}

int ike_random(void *buf, size_t len)
{
	if (len > RAND_POOL_TAKE)
		return rand_fill(buf, len, false);
	if (rand_pool.left < len) {
		if (CRYPTO_THREAD_run_once(&rand_pool_once, rand_pool_atfork) != 1 ||
		    rand_fill(rand_pool.buf, RAND_POOL, false))
			return -EIO;
		rand_pool.left = RAND_POOL;
	}
	memcpy(buf, rand_pool.buf + RAND_POOL - rand_pool.left, len);
	rand_pool.left -= len;
	return 0;
}

int ike_random_secret(void *buf, size_t len)
{
	return rand_fill(buf, len, true);
}

int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
	const EVP_MD *md = md_get("SHA1");

	return md && EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}

int ike_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	const EVP_MD *md = md_get("SHA256");

	return md && EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}
