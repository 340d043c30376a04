/* SPDX-License-Identifier: ISC */
/*
 * The signature methods from before RFC 7427, for peers that announce no
 * SIGNATURE_HASH_ALGORITHMS:
 *   1  RSA PKCS#1 v1.5 with SHA-1 (RFC 7296 section 3.8) — verified, never
 *      made: signing with SHA-1 is what method 14 exists to avoid
 *   9, 10, 11  ECDSA with SHA-256/P-256, SHA-384/P-384, SHA-512/P-521
 *      (RFC 4754 section 7), the signature r | s, each the field's length
 *      — not DER; each method names one curve and one hash
 */
#include "cert_int.h"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include "ike/ikev2.h"

/* RFC 4754 section 7: method, curve, hash, field length. */
struct ecdsa_legacy {
	uint8_t method;
	int curve;
	uint8_t hash;
	size_t flen;
};

static const struct ecdsa_legacy ecdsa_legacy[] = {
	{ IKEV2_AUTH_ECDSA_SHA256_P256, NID_X9_62_prime256v1, IKEV2_HASH_SHA2_256, 32 },
	{ IKEV2_AUTH_ECDSA_SHA384_P384, NID_secp384r1, IKEV2_HASH_SHA2_384, 48 },
	{ IKEV2_AUTH_ECDSA_SHA512_P521, NID_secp521r1, IKEV2_HASH_SHA2_512, 66 },
};

/* The hash RFC 4754 pairs with the key's curve, 0 for other keys. */
uint8_t cert_curve_hash(const EVP_PKEY *k)
{
	int curve = cert_key_curve(k);

	for (size_t i = 0; i < sizeof(ecdsa_legacy) / sizeof(ecdsa_legacy[0]); i++)
		if (ecdsa_legacy[i].curve == curve)
			return ecdsa_legacy[i].hash;
	return 0;
}

/* DER Ecdsa-Sig-Value to r | s, each flen octets (RFC 4754 section 7). */
static int ecdsa_der_to_raw(const uint8_t *der, size_t dlen, size_t flen, uint8_t *out)
{
	const unsigned char *q = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
	const BIGNUM *r, *ss;
	int ret = -EIO;

	if (s) {
		ECDSA_SIG_get0(s, &r, &ss);
		if (BN_bn2binpad(r, out, (int)flen) == (int)flen &&
		    BN_bn2binpad(ss, out + flen, (int)flen) == (int)flen)
			ret = 0;
	}
	ECDSA_SIG_free(s);
	return ret;
}

int cert_sign_legacy(EVP_PKEY *k, const uint8_t *octets, size_t olen, uint8_t *method,
		     uint8_t *out, size_t *len, const char **why)
{
	uint8_t der[160];
	size_t dlen = sizeof(der);
	int curve = cert_key_curve(k), ret;

	for (size_t i = 0; i < sizeof(ecdsa_legacy) / sizeof(ecdsa_legacy[0]); i++) {
		const struct ecdsa_legacy *l = &ecdsa_legacy[i];

		if (l->curve != curve)
			continue;
		if (*len < 2 * l->flen)
			return cert_fail(why, "AUTH buffer too small", -ENOSPC);
		ret = cert_evp_sign(k, cert_hash_md(l->hash), NULL, octets, olen, der, &dlen);
		if (!ret)
			ret = ecdsa_der_to_raw(der, dlen, l->flen, out);
		if (ret)
			return cert_fail(why, "signing failed", ret);
		*method = l->method;
		*len = 2 * l->flen;
		return 0;
	}
	return cert_fail(why, "the peer announced no signature hashes (RFC 7427) and only "
			      "ECDSA has a method without SHA-1", -ENOTSUP);
}

/* r | s to a DER Ecdsa-Sig-Value (OPENSSL_free the result). */
static int ecdsa_raw_to_der(const uint8_t *raw, size_t flen, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)flen, NULL), *ss = BN_bin2bn(raw + flen, (int)flen, NULL);
	int n = -1;

	if (s && r && ss && ECDSA_SIG_set0(s, r, ss)) {
		r = ss = NULL; /* the signature owns them */
		n = i2d_ECDSA_SIG(s, der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return n;
}

static int verify_ecdsa_legacy(EVP_PKEY *k, uint8_t method, const uint8_t *auth, size_t alen,
			       const uint8_t *octets, size_t olen, const char **why)
{
	const struct ecdsa_legacy *l = NULL;
	unsigned char *der = NULL;
	int n, ret;

	for (size_t i = 0; i < sizeof(ecdsa_legacy) / sizeof(ecdsa_legacy[0]); i++)
		if (ecdsa_legacy[i].method == method)
			l = &ecdsa_legacy[i];
	if (!l)
		return cert_fail(why, "not an ECDSA method", -ENOTSUP);
	/* RFC 4754: each method names one curve and one hash. */
	if (cert_key_curve(k) != l->curve)
		return cert_fail(why, "ECDSA method does not match the key's curve", -EINVAL);
	if (alen != 2 * l->flen)
		return cert_fail(why, "ECDSA signature of the wrong length", -EINVAL);
	n = ecdsa_raw_to_der(auth, l->flen, &der);
	if (n <= 0)
		return cert_fail(why, "out of memory", -ENOMEM);
	ret = cert_evp_verify(k, cert_hash_md(l->hash), NULL, octets, olen, der, (size_t)n);
	OPENSSL_free(der);
	return ret ? cert_fail(why, "signature does not verify", ret) : 0;
}

static int verify_rsa_sha1(EVP_PKEY *k, const uint8_t *auth, size_t alen,
			   const uint8_t *octets, size_t olen, const char **why)
{
	int ret;

	if (!EVP_PKEY_is_a(k, "RSA"))
		return cert_fail(why, "RSA signature method with a non-RSA key", -EINVAL);
	ret = cert_evp_verify(k, EVP_sha1(), NULL, octets, olen, auth, alen);
	return ret ? cert_fail(why, "signature does not verify", ret) : 0;
}

int cert_verify_legacy(EVP_PKEY *k, uint8_t method, const uint8_t *auth, size_t alen,
		       const uint8_t *octets, size_t olen, const char **why)
{
	switch (method) {
	case IKEV2_AUTH_RSA_SIG:
		return verify_rsa_sha1(k, auth, alen, octets, olen, why);
	case IKEV2_AUTH_ECDSA_SHA256_P256:
	case IKEV2_AUTH_ECDSA_SHA384_P384:
	case IKEV2_AUTH_ECDSA_SHA512_P521:
		return verify_ecdsa_legacy(k, method, auth, alen, octets, olen, why);
	default:
		return cert_fail(why, "not a signature method", -ENOTSUP);
	}
}
