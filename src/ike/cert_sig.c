/* SPDX-License-Identifier: ISC */
/*
 * The AUTH data of the signature methods.
 *
 * Method 14, RFC 7427 section 3: one octet of ASN.1 length, the
 * AlgorithmIdentifier (DER) naming the signature algorithm and its hash,
 * then the signature:
 *   RSASSA-PSS with SHA-256/384/512, MGF1 with the same hash, salt length
 *     equal to the hash length, trailer field 1 (RFC 4055, RFC 8247 2.4)
 *   RSA PKCS#1 v1.5 with SHA-256/384/512 (RFC 8017)
 *   ECDSA with SHA-256/384/512 on P-256/384/521, the signature a DER
 *     Ecdsa-Sig-Value (RFC 7427 section 3, RFC 5480)
 *   Ed25519, Ed448 with the hash "Identity" (RFC 8420)
 * The hash comes from the peer's SIGNATURE_HASH_ALGORITHMS (section 4)
 * intersected with ours; SHA-1 is neither announced, signed with, nor
 * accepted.  We sign with the AlgorithmIdentifiers of the table below,
 * and verify whatever a peer sends that parses into one of the same
 * algorithms, refusing PSS parameters that are absurd (RFC 4055 section
 * 3.1: a salt longer than twice the hash or than the modulus leaves room
 * for, a trailer field other than 1, an MGF1 hash other than the message
 * hash) and an algorithm that does not match the certificate's key.
 *
 * The methods from before RFC 7427 are in cert_sig_legacy.c.
 */
#include "cert_int.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ike/ikev2.h"

enum sig_kind {
	SIG_RSA_PKCS1,
	SIG_RSA_PSS,
	SIG_ECDSA,
	SIG_EDDSA,
};

struct sig_alg {
	enum sig_kind kind;
	uint8_t hash;        /* IKEV2_HASH_* */
	int nid;             /* of the AlgorithmIdentifier's OID */
	const char *keytype; /* OpenSSL key type it needs */
	const uint8_t *der;  /* the AlgorithmIdentifier we send */
	uint8_t der_len;
};

/* sha{256,384,512}WithRSAEncryption with NULL parameters (RFC 4055 5). */
#define RSA_PKCS1_DER(n) \
	{ 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, n, 0x05, 0x00 }
/* ecdsa-with-SHA{256,384,512}, parameters absent (RFC 5758 3.2). */
#define ECDSA_DER(n) { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, n }
/*
 * id-RSASSA-PSS with hashAlgorithm h, maskGenAlgorithm MGF1 with h, and
 * saltLength s (RFC 4055 section 3.1); trailerField is left at its
 * default 1.  h is the last octet of id-sha256/384/512 (2.16.840.1.101.3.4.2.h).
 */
#define PSS_DER(h, s)                                                                   \
	{ 0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, \
	  0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, \
	  0x03, 0x04, 0x02, h,    0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, \
	  0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, \
	  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, h,    0x05, 0x00, 0xa2, 0x03, 0x02, \
	  0x01, s }
/* id-Ed25519 / id-Ed448, parameters absent (RFC 8410 section 3). */
#define EDDSA_DER(n) { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, n }

static const uint8_t der_pkcs1_256[] = RSA_PKCS1_DER(0x0b);
static const uint8_t der_pkcs1_384[] = RSA_PKCS1_DER(0x0c);
static const uint8_t der_pkcs1_512[] = RSA_PKCS1_DER(0x0d);
static const uint8_t der_pss_256[] = PSS_DER(0x01, 32);
static const uint8_t der_pss_384[] = PSS_DER(0x02, 48);
static const uint8_t der_pss_512[] = PSS_DER(0x03, 64);
static const uint8_t der_ecdsa_256[] = ECDSA_DER(0x02);
static const uint8_t der_ecdsa_384[] = ECDSA_DER(0x03);
static const uint8_t der_ecdsa_512[] = ECDSA_DER(0x04);
static const uint8_t der_ed25519[] = EDDSA_DER(0x70);
static const uint8_t der_ed448[] = EDDSA_DER(0x71);

#define ALG(kind, hash, nid, type, der) { kind, hash, nid, type, der, sizeof(der) }

static const struct sig_alg sig_algs[] = {
	ALG(SIG_RSA_PSS, IKEV2_HASH_SHA2_256, NID_rsassaPss, "RSA", der_pss_256),
	ALG(SIG_RSA_PSS, IKEV2_HASH_SHA2_384, NID_rsassaPss, "RSA", der_pss_384),
	ALG(SIG_RSA_PSS, IKEV2_HASH_SHA2_512, NID_rsassaPss, "RSA", der_pss_512),
	ALG(SIG_RSA_PKCS1, IKEV2_HASH_SHA2_256, NID_sha256WithRSAEncryption, "RSA", der_pkcs1_256),
	ALG(SIG_RSA_PKCS1, IKEV2_HASH_SHA2_384, NID_sha384WithRSAEncryption, "RSA", der_pkcs1_384),
	ALG(SIG_RSA_PKCS1, IKEV2_HASH_SHA2_512, NID_sha512WithRSAEncryption, "RSA", der_pkcs1_512),
	ALG(SIG_ECDSA, IKEV2_HASH_SHA2_256, NID_ecdsa_with_SHA256, "EC", der_ecdsa_256),
	ALG(SIG_ECDSA, IKEV2_HASH_SHA2_384, NID_ecdsa_with_SHA384, "EC", der_ecdsa_384),
	ALG(SIG_ECDSA, IKEV2_HASH_SHA2_512, NID_ecdsa_with_SHA512, "EC", der_ecdsa_512),
	ALG(SIG_EDDSA, IKEV2_HASH_IDENTITY, NID_ED25519, "ED25519", der_ed25519),
	ALG(SIG_EDDSA, IKEV2_HASH_IDENTITY, NID_ED448, "ED448", der_ed448),
};

#define N_ALGS (sizeof(sig_algs) / sizeof(sig_algs[0]))

const EVP_MD *cert_hash_md(uint8_t hash)
{
	switch (hash) {
	case IKEV2_HASH_SHA1: return EVP_sha1();
	case IKEV2_HASH_SHA2_256: return EVP_sha256();
	case IKEV2_HASH_SHA2_384: return EVP_sha384();
	case IKEV2_HASH_SHA2_512: return EVP_sha512();
	default: return NULL; /* Identity: EdDSA hashes inside */
	}
}

static int md_hash(int md_nid)
{
	switch (md_nid) {
	case NID_sha1: return IKEV2_HASH_SHA1;
	case NID_sha256: return IKEV2_HASH_SHA2_256;
	case NID_sha384: return IKEV2_HASH_SHA2_384;
	case NID_sha512: return IKEV2_HASH_SHA2_512;
	default: return 0;
	}
}

/* --- the EVP calls ------------------------------------------------------ */

static int pkey_ctx_setup(EVP_PKEY_CTX *pctx, const EVP_PKEY *k, const EVP_MD *md,
			  const struct cert_pss *pss)
{
	if (!EVP_PKEY_is_a(k, "RSA"))
		return 1;
	if (!pss)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss->salt) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
}

/* The signature over msg into sig (*siglen: in its size, out written). */
int cert_evp_sign(EVP_PKEY *k, const EVP_MD *md, const struct cert_pss *pss, const uint8_t *msg,
		    size_t mlen, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t need = 0;
	int ret = -EIO;

	if (mctx && EVP_DigestSignInit(mctx, &pctx, md, NULL, k) == 1 &&
	    pkey_ctx_setup(pctx, k, md, pss) &&
	    EVP_DigestSign(mctx, NULL, &need, msg, mlen) == 1) {
		if (need > *siglen)
			ret = -ENOSPC;
		else if (EVP_DigestSign(mctx, sig, siglen, msg, mlen) == 1)
			ret = 0;
	}
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ret;
}

int cert_evp_verify(EVP_PKEY *k, const EVP_MD *md, const struct cert_pss *pss,
		      const uint8_t *msg, size_t mlen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ret = -EIO;

	if (mctx && EVP_DigestVerifyInit(mctx, &pctx, md, NULL, k) == 1 &&
	    pkey_ctx_setup(pctx, k, md, pss))
		ret = EVP_DigestVerify(mctx, sig, siglen, msg, mlen) == 1 ? 0 : -EBADMSG;
	EVP_MD_CTX_free(mctx);
	ERR_clear_error();
	return ret;
}

/* --- the notify ---------------------------------------------------------- */

int ike_sig_hashes_build(uint8_t *out, size_t *len)
{
	static const uint8_t ours[] = { 0, IKEV2_HASH_SHA2_256, 0, IKEV2_HASH_SHA2_384,
					0, IKEV2_HASH_SHA2_512, 0, IKEV2_HASH_IDENTITY };

	if (*len < sizeof(ours))
		return -ENOSPC;
	memcpy(out, ours, sizeof(ours));
	*len = sizeof(ours);
	return 0;
}

int ike_sig_hashes_parse(const uint8_t *data, size_t len, uint32_t *mask)
{
	/* RFC 7427 section 4: a list of 2-octet values, at least one. */
	if (len == 0 || len % 2)
		return -EINVAL;
	*mask = 0;
	for (size_t i = 0; i < len; i += 2) {
		uint16_t h = (uint16_t)(data[i] << 8 | data[i + 1]);

		if (h < 32)
			*mask |= IKEV2_HASH_BIT(h);
	}
	return 0;
}

/* --- signing ------------------------------------------------------------- */

static enum sig_kind key_kind(const EVP_PKEY *k, unsigned flags)
{
	if (EVP_PKEY_is_a(k, "RSA"))
		return flags & IKE_SIGN_RSA_PKCS1 ? SIG_RSA_PKCS1 : SIG_RSA_PSS;
	return EVP_PKEY_is_a(k, "EC") ? SIG_ECDSA : SIG_EDDSA;
}

static const struct sig_alg *alg_find(enum sig_kind kind, uint8_t hash, const EVP_PKEY *k)
{
	for (size_t i = 0; i < N_ALGS; i++)
		if (sig_algs[i].kind == kind && sig_algs[i].hash == hash &&
		    EVP_PKEY_is_a(k, sig_algs[i].keytype))
			return &sig_algs[i];
	return NULL;
}

/* The hash that suits the key (a curve's own size), then any in common. */
static const struct sig_alg *alg_choose(const EVP_PKEY *k, uint32_t common, unsigned flags)
{
	static const uint8_t order[] = { IKEV2_HASH_SHA2_256, IKEV2_HASH_SHA2_384,
					 IKEV2_HASH_SHA2_512, IKEV2_HASH_IDENTITY };
	enum sig_kind kind = key_kind(k, flags);
	uint8_t own = cert_curve_hash(k);

	if (own && (common & IKEV2_HASH_BIT(own)))
		return alg_find(kind, own, k);
	for (size_t i = 0; i < sizeof(order); i++)
		if (common & IKEV2_HASH_BIT(order[i]) && alg_find(kind, order[i], k))
			return alg_find(kind, order[i], k);
	return NULL;
}

static int sign_rfc7427(EVP_PKEY *k, const struct sig_alg *a, const uint8_t *octets,
			size_t olen, uint8_t *out, size_t *len)
{
	struct cert_pss pss = { .salt = EVP_MD_get_size(cert_hash_md(a->hash)) };
	size_t siglen;
	int ret;

	if (*len < 1u + a->der_len)
		return -ENOSPC;
	out[0] = a->der_len;
	memcpy(out + 1, a->der, a->der_len);
	siglen = *len - 1 - a->der_len;
	ret = cert_evp_sign(k, cert_hash_md(a->hash), a->kind == SIG_RSA_PSS ? &pss : NULL, octets, olen,
		       out + 1 + a->der_len, &siglen);
	if (!ret)
		*len = 1 + a->der_len + siglen;
	return ret;
}

int ike_auth_sign(const struct ike_cred *c, uint32_t peer_hashes, unsigned flags,
		  const uint8_t *octets, size_t olen, uint8_t *method, uint8_t *out,
		  size_t *len, const char **why)
{
	const struct sig_alg *a;
	int ret;

	if (peer_hashes == 0)
		return cert_sign_legacy(c->key, octets, olen, method, out, len, why);
	a = alg_choose(c->key, peer_hashes & IKE_SIG_HASHES_OURS, flags);
	if (!a)
		return cert_fail(why, "no signature hash in common with the peer", -ENOTSUP);
	ret = sign_rfc7427(c->key, a, octets, olen, out, len);
	if (ret)
		return cert_fail(why, ret == -ENOSPC ? "AUTH buffer too small" : "signing failed",
				 ret);
	*method = IKEV2_AUTH_DIGITAL_SIGNATURE;
	return 0;
}

/* --- verifying ------------------------------------------------------------ */

/* Absent or NULL: the only parameters PKCS#1, ECDSA and EdDSA OIDs take. */
static bool params_empty(int ptype)
{
	return ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL;
}

/* A hash AlgorithmIdentifier inside PSS parameters: its IKEv2 hash. */
static int pss_hash(const X509_ALGOR *a)
{
	const ASN1_OBJECT *obj;
	int ptype;

	/* Absent means SHA-1 (RFC 4055 section 3.1). */
	if (!a)
		return IKEV2_HASH_SHA1;
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	return params_empty(ptype) ? md_hash(OBJ_obj2nid(obj)) : 0;
}

/* The parameters of an AlgorithmIdentifier that must be a SEQUENCE. */
static void *algor_unpack(const X509_ALGOR *a, const ASN1_ITEM *it)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	return ptype == V_ASN1_SEQUENCE ? ASN1_item_unpack(pval, it) : NULL;
}

static int mgf1_hash(const X509_ALGOR *mgf)
{
	const ASN1_OBJECT *obj;
	X509_ALGOR *h;
	int hash;

	if (!mgf)
		return IKEV2_HASH_SHA1; /* the default, MGF1 with SHA-1 */
	X509_ALGOR_get0(&obj, NULL, NULL, mgf);
	if (OBJ_obj2nid(obj) != NID_mgf1)
		return 0;
	h = algor_unpack(mgf, ASN1_ITEM_rptr(X509_ALGOR));
	hash = h ? pss_hash(h) : 0;
	X509_ALGOR_free(h);
	return hash;
}

static long pss_int(const ASN1_INTEGER *i, long dflt)
{
	int64_t v;

	if (!i)
		return dflt;
	return ASN1_INTEGER_get_int64(&v, i) == 1 && v >= 0 && v <= 65536 ? (long)v : -1;
}

/* RFC 4055 section 3.1 parameters, checked against the key. */
static int pss_check(const X509_ALGOR *alg, const EVP_PKEY *k, uint8_t *hash, struct cert_pss *pss,
		     const char **why)
{
	RSA_PSS_PARAMS *p = algor_unpack(alg, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
	long salt, trailer, hlen, emlen = (EVP_PKEY_get_bits(k) - 1 + 7) / 8;
	int ret = 0;

	if (!p)
		return cert_fail(why, "malformed RSASSA-PSS parameters", -EINVAL);
	*hash = (uint8_t)pss_hash(p->hashAlgorithm);
	salt = pss_int(p->saltLength, 20);
	trailer = pss_int(p->trailerField, 1);
	hlen = cert_hash_md(*hash) ? EVP_MD_get_size(cert_hash_md(*hash)) : 0;
	if (*hash == IKEV2_HASH_SHA1)
		ret = cert_fail(why, "SHA-1 signatures refused", -ENOTSUP);
	else if (hlen == 0)
		ret = cert_fail(why, "RSASSA-PSS hash not supported", -ENOTSUP);
	else if (mgf1_hash(p->maskGenAlgorithm) != *hash)
		ret = cert_fail(why, "RSASSA-PSS MGF1 hash differs from the hash", -EINVAL);
	else if (trailer != 1)
		ret = cert_fail(why, "RSASSA-PSS trailer field is not 1", -EINVAL);
	else if (salt < 0 || salt > 2 * hlen || hlen + salt + 2 > emlen)
		ret = cert_fail(why, "RSASSA-PSS salt length absurd", -EINVAL);
	pss->salt = (int)salt;
	RSA_PSS_PARAMS_free(p);
	return ret;
}

/* The AlgorithmIdentifier's algorithm; SHA-1 ones are named to refuse them. */
static const struct sig_alg *alg_by_nid(int nid, const char **why)
{
	if (nid == NID_sha1WithRSAEncryption || nid == NID_ecdsa_with_SHA1) {
		cert_fail(why, "SHA-1 signatures refused", -ENOTSUP);
		return NULL;
	}
	for (size_t i = 0; i < N_ALGS; i++)
		if (sig_algs[i].nid == nid)
			return &sig_algs[i];
	cert_fail(why, "signature algorithm not supported", -ENOTSUP);
	return NULL;
}

/* Decode and judge the AlgorithmIdentifier of method 14 AUTH data. */
static int algid_check(const uint8_t *der, size_t dlen, EVP_PKEY *k, uint8_t *hash,
		       struct cert_pss *pss, bool *use_pss, const char **why)
{
	const unsigned char *q = der;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &q, (long)dlen);
	const struct sig_alg *a = NULL;
	const ASN1_OBJECT *obj;
	int ptype, ret = 0;

	if (!alg || q != der + dlen) {
		X509_ALGOR_free(alg);
		return cert_fail(why, "malformed AlgorithmIdentifier", -EINVAL);
	}
	X509_ALGOR_get0(&obj, &ptype, NULL, alg);
	a = alg_by_nid(OBJ_obj2nid(obj), why);
	if (!a)
		ret = -ENOTSUP;
	else if (!EVP_PKEY_is_a(k, a->keytype))
		ret = cert_fail(why, "AlgorithmIdentifier does not match the key type", -EINVAL);
	else if (a->kind == SIG_RSA_PSS)
		ret = pss_check(alg, k, hash, pss, why);
	else if (!params_empty(ptype))
		ret = cert_fail(why, "unexpected AlgorithmIdentifier parameters", -EINVAL);
	else
		*hash = a->hash;
	*use_pss = a && a->kind == SIG_RSA_PSS;
	X509_ALGOR_free(alg);
	return ret;
}

static int verify_rfc7427(EVP_PKEY *k, const uint8_t *auth, size_t alen,
			  const uint8_t *octets, size_t olen, const char **why)
{
	struct cert_pss pss = { 0 };
	uint8_t hash = 0;
	bool use_pss = false;
	size_t dlen;
	int ret;

	/* Section 3: the length octet, then that much ASN.1, then a signature. */
	if (alen < 1 || auth[0] < 2 || (size_t)auth[0] + 1 >= alen)
		return cert_fail(why, "AUTH data too short for its AlgorithmIdentifier", -EINVAL);
	dlen = auth[0];
	ret = algid_check(auth + 1, dlen, k, &hash, &pss, &use_pss, why);
	if (ret)
		return ret;
	ret = cert_evp_verify(k, cert_hash_md(hash), use_pss ? &pss : NULL, octets, olen,
			 auth + 1 + dlen, alen - 1 - dlen);
	return ret ? cert_fail(why, "signature does not verify", ret) : 0;
}

int ike_auth_verify(const struct ike_cert *peer, uint8_t method, const uint8_t *auth,
		    size_t alen, const uint8_t *octets, size_t olen, const char **why)
{
	EVP_PKEY *k;
	int ret = cert_peer_key(peer, &k, why);

	if (ret)
		return ret;
	if (method == IKEV2_AUTH_DIGITAL_SIGNATURE)
		return verify_rfc7427(k, auth, alen, octets, olen, why);
	return cert_verify_legacy(k, method, auth, alen, octets, olen, why);
}
