/* SPDX-License-Identifier: ISC */
/*
 * Key exchange over EVP_PKEY: the groups IKEv2 names, the KE payload data's
 * wire formats (RFC 7296, RFC 5903, RFC 8031), validation of the peer's
 * public value (RFC 6989), and key pairs from a given private value for
 * the known-answer tests.
 */
#include "crypto.h"

#include "ikev2.h"

#include <errno.h>
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
