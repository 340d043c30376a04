/* SPDX-License-Identifier: ISC */
/*
 * Credentials from memory: our private key and chain, the CAs and CRLs we
 * trust, the peer's certificate; the weak-key check both sides go through;
 * CERTREQ contents (RFC 7296 section 3.7).
 */
#include "cert_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

/* --- weak keys --------------------------------------------------------- */

static int rsa_check(const EVP_PKEY *k, const char **why)
{
	BIGNUM *e = NULL;
	int bits = EVP_PKEY_get_bits(k), ret = 0;

	if (bits < 2048)
		return cert_fail(why, "RSA key shorter than 2048 bits", -EKEYREJECTED);
	/* A huge modulus makes every verification a denial of service. */
	if (bits > 16384)
		return cert_fail(why, "RSA key longer than 16384 bits", -EKEYREJECTED);
	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e))
		return cert_fail(why, "RSA key without a public exponent", -EKEYREJECTED);
	/* e = 1 signs nothing; an even e is no RSA key; e = 3 is legal but
	 * invites the signature forgeries of sloppy verifiers (NIST SP
	 * 800-56B and RFC 8017 recommend 65537 and up). */
	if (!BN_is_odd(e))
		ret = cert_fail(why, "RSA public exponent is even", -EKEYREJECTED);
	else if (BN_num_bits(e) < 17)
		ret = cert_fail(why, "RSA public exponent below 65537", -EKEYREJECTED);
	else if (BN_num_bits(e) > 256)
		ret = cert_fail(why, "RSA public exponent above 2^256", -EKEYREJECTED);
	BN_free(e);
	return ret;
}

int cert_key_curve(const EVP_PKEY *k)
{
	char name[64];
	int nid;

	if (!EVP_PKEY_is_a(k, "EC") || !EVP_PKEY_get_group_name(k, name, sizeof(name), NULL))
		return NID_undef;
	nid = OBJ_sn2nid(name);
	return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

static int ec_check(const EVP_PKEY *k, const char **why)
{
	int nid = cert_key_curve(k);

	if (nid == NID_undef)
		return cert_fail(why, "EC key without a named curve", -EKEYREJECTED);
	if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 && nid != NID_secp521r1)
		return cert_fail(why, "EC curve not allowed (P-256, P-384, P-521 only)",
				 -EKEYREJECTED);
	return 0;
}

int cert_key_check(const EVP_PKEY *k, const char **why)
{
	if (EVP_PKEY_is_a(k, "RSA"))
		return rsa_check(k, why);
	if (EVP_PKEY_is_a(k, "EC"))
		return ec_check(k, why);
	if (EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448"))
		return 0;
	return cert_fail(why, "key type not supported (RSA, ECDSA, Ed25519, Ed448)", -ENOTSUP);
}

int cert_peer_key(const struct ike_cert *c, EVP_PKEY **k, const char **why)
{
	*k = X509_get0_pubkey(c->x);
	if (!*k)
		return cert_fail(why, "certificate without a usable public key", -EKEYREJECTED);
	return cert_key_check(*k, why);
}

/* --- loading ----------------------------------------------------------- */

/* Encrypted keys are refused: the daemon has no one to ask. */
static int no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf, (void)size, (void)rw, (void)u;
	return -1;
}

static bool is_pem(const uint8_t *p, size_t len)
{
	static const char begin[] = "-----BEGIN ";

	while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, len--;
	return len >= sizeof(begin) - 1 && memcmp(p, begin, sizeof(begin) - 1) == 0;
}

static int blob_check(size_t len, const char **why)
{
	if (len == 0)
		return cert_fail(why, "empty input", -EINVAL);
	if (len > IKE_CRED_BLOB_MAX || len > INT_MAX)
		return cert_fail(why, "input larger than 1 MiB", -EINVAL);
	return 0;
}

/* Move what a PEM block held into the wanted stacks. */
static int take_info(X509_INFO *xi, STACK_OF(X509) *certs, STACK_OF(X509_CRL) *crls)
{
	if (xi->x509 && certs) {
		if (!sk_X509_push(certs, xi->x509))
			return -ENOMEM;
		xi->x509 = NULL;
	}
	if (xi->crl && crls) {
		if (!sk_X509_CRL_push(crls, xi->crl))
			return -ENOMEM;
		xi->crl = NULL;
	}
	return 0;
}

static int load_pem(const uint8_t *p, size_t len, STACK_OF(X509) *certs,
		    STACK_OF(X509_CRL) *crls, const char **why)
{
	STACK_OF(X509_INFO) *info;
	BIO *bio = BIO_new_mem_buf(p, (int)len);
	int ret = 0;

	if (!bio)
		return cert_fail(why, "out of memory", -ENOMEM);
	info = PEM_X509_INFO_read_bio(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!info)
		return cert_fail(why, "malformed PEM", -EINVAL);
	for (int i = 0; i < sk_X509_INFO_num(info) && !ret; i++)
		ret = take_info(sk_X509_INFO_value(info, i), certs, crls);
	sk_X509_INFO_pop_free(info, X509_INFO_free);
	return ret ? cert_fail(why, "out of memory", ret) : 0;
}

/* One DER object that must fill the whole blob. */
static int load_der(const uint8_t *p, size_t len, STACK_OF(X509) *certs,
		    STACK_OF(X509_CRL) *crls)
{
	const unsigned char *q = p;
	X509_CRL *crl;
	X509 *x;

	if (certs) {
		x = d2i_X509(NULL, &q, (long)len);
		if (x && q == p + len && sk_X509_push(certs, x))
			return 0;
		X509_free(x);
		q = p;
	}
	if (crls) {
		crl = d2i_X509_CRL(NULL, &q, (long)len);
		if (crl && q == p + len && sk_X509_CRL_push(crls, crl))
			return 0;
		X509_CRL_free(crl);
	}
	return -EINVAL;
}

int cert_load(const uint8_t *p, size_t len, STACK_OF(X509) *certs,
	      STACK_OF(X509_CRL) *crls, const char **why)
{
	int ret = blob_check(len, why);

	if (ret)
		return ret;
	if (is_pem(p, len))
		ret = load_pem(p, len, certs, crls, why);
	else if (load_der(p, len, certs, crls))
		ret = cert_fail(why, "malformed DER (not a certificate or CRL)", -EINVAL);
	ERR_clear_error();
	if (ret)
		return ret;
	if ((certs && sk_X509_num(certs) == 0) || (crls && !certs && sk_X509_CRL_num(crls) == 0))
		return cert_fail(why, certs ? "no certificate in input" : "no CRL in input", -EINVAL);
	return 0;
}

int cert_spki_sha1(X509 *x, uint8_t out[IKE_CERTREQ_HASH_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

	if (n <= 0)
		return -EIO;
	SHA1(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

/* --- the peer's certificate ------------------------------------------- */

struct ike_cert *ike_cert_parse(const uint8_t *der, size_t len, const char **why)
{
	const unsigned char *q = der;
	struct ike_cert *c;
	X509 *x;

	/* A CERT payload is not a place for a megabyte of ASN.1. */
	if (len == 0 || len > IKE_CERT_DER_MAX) {
		cert_fail(why, len ? "certificate larger than 16384 octets" : "empty certificate",
			  -EINVAL);
		return NULL;
	}
	x = d2i_X509(NULL, &q, (long)len);
	ERR_clear_error();
	/* Trailing octets would be data the signature does not cover. */
	if (!x || q != der + len) {
		X509_free(x);
		cert_fail(why, "malformed certificate (DER)", -EINVAL);
		return NULL;
	}
	c = OPENSSL_zalloc(sizeof(*c));
	if (!c) {
		X509_free(x);
		cert_fail(why, "out of memory", -ENOMEM);
		return NULL;
	}
	c->x = x;
	return c;
}

int ike_cert_der(const struct ike_cert *c, struct ike_blob *der)
{
	unsigned char *p = NULL;
	int n = i2d_X509(c->x, &p);

	*der = (struct ike_blob){ 0 };
	if (n <= 0 || !(der->p = malloc((size_t)n))) {
		OPENSSL_free(p);
		ERR_clear_error();
		return -ENOMEM;
	}
	memcpy(der->p, p, (size_t)n);
	der->len = (size_t)n;
	OPENSSL_free(p);
	return 0;
}

void ike_cert_free(struct ike_cert *c)
{
	if (!c)
		return;
	X509_free(c->x);
	OPENSSL_free(c);
}

/* --- our credential ----------------------------------------------------- */

static EVP_PKEY *key_decode(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	EVP_PKEY *k;
	BIO *bio;

	if (!is_pem(p, len)) {
		k = d2i_AutoPrivateKey(NULL, &q, (long)len);
		if (k && q != p + len) {
			EVP_PKEY_free(k);
			k = NULL;
		}
		return k;
	}
	bio = BIO_new_mem_buf(p, (int)len);
	if (!bio)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return k;
}

int ike_cred_new(const uint8_t *key, size_t len, struct ike_cred **out, const char **why)
{
	struct ike_cred *c;
	EVP_PKEY *k;
	int ret = blob_check(len, why);

	if (ret)
		return ret;
	k = key_decode(key, len);
	ERR_clear_error();
	if (!k)
		return cert_fail(why, "malformed or encrypted private key", -EINVAL);
	ret = cert_key_check(k, why);
	if (ret) {
		EVP_PKEY_free(k);
		return ret;
	}
	c = OPENSSL_zalloc(sizeof(*c));
	if (!c) {
		EVP_PKEY_free(k);
		return cert_fail(why, "out of memory", -ENOMEM);
	}
	c->refs = 1;
	c->key = k;
	*out = c;
	return 0;
}

static int cred_keep_der(struct ike_cred *c, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	if (n <= 0)
		return -EIO;
	c->der[c->n_der] = der;
	c->der_len[c->n_der++] = (size_t)n;
	return 0;
}

/* One certificate of the bundle, in order: end-entity first. */
static int cred_add_one(void *to, X509 *x, const char **why)
{
	struct ike_cred *c = to;
	bool root = X509_get_extension_flags(x) & EXFLAG_SS;

	if (c->n_der == 0) {
		if (X509_check_private_key(x, c->key) != 1)
			return cert_fail(why, "certificate does not match the private key",
					 -EKEYREJECTED);
		return cred_keep_der(c, x) ? cert_fail(why, "cannot encode certificate", -EIO) : 0;
	}
	if (c->n_ca >= IKE_CHAIN_MAX) /* and so n_der <= 1 + IKE_CHAIN_MAX */
		return cert_fail(why, "chain too long", -E2BIG);
	if (X509_check_ca(x) < 1)
		return cert_fail(why, "chain certificate is not a CA", -EKEYREJECTED);
	if (cert_spki_sha1(x, c->ca_hash[c->n_ca]))
		return cert_fail(why, "cannot encode public key", -EIO);
	c->n_ca++;
	/* The peer has the root, or it would not trust it (RFC 7296 3.6). */
	if (root)
		return 0;
	return cred_keep_der(c, x) ? cert_fail(why, "cannot encode certificate", -EIO) : 0;
}

/* Every certificate of a blob, in order, to `add`; the first error stops. */
static int certs_each(const uint8_t *blob, size_t len,
		      int (*add)(void *to, X509 *x, const char **why), void *to, const char **why)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	int ret;

	if (!certs)
		return cert_fail(why, "out of memory", -ENOMEM);
	ret = cert_load(blob, len, certs, NULL, why);
	for (int i = 0; !ret && i < sk_X509_num(certs); i++)
		ret = add(to, sk_X509_value(certs, i), why);
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	return ret;
}

int ike_cred_add_certs(struct ike_cred *c, const uint8_t *blob, size_t len, const char **why)
{
	return certs_each(blob, len, cred_add_one, c, why);
}

const uint8_t *ike_cred_cert(const struct ike_cred *c, size_t i, size_t *len)
{
	if (i >= c->n_der)
		return NULL;
	*len = c->der_len[i];
	return c->der[i];
}

bool ike_cred_certreq_match(const struct ike_cred *c, const uint8_t *hashes, size_t len)
{
	size_t n;

	if (ike_certreq_parse(hashes, len, &n))
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < c->n_ca; j++)
			if (memcmp(hashes + i * IKE_CERTREQ_HASH_LEN, c->ca_hash[j],
				   IKE_CERTREQ_HASH_LEN) == 0)
				return true;
	return false;
}

void ike_cred_hold(const struct ike_cred *c)
{
	/* The object is the caller's heap object; only its count changes. */
	if (c)
		((struct ike_cred *)c)->refs++;
}

void ike_cred_free(const struct ike_cred *cc)
{
	struct ike_cred *c = (struct ike_cred *)cc;

	if (!c || --c->refs > 0)
		return;
	EVP_PKEY_free(c->key); /* clears the private key's memory */
	for (size_t i = 0; i < c->n_der; i++)
		OPENSSL_free(c->der[i]);
	OPENSSL_free(c);
}

/* --- trust -------------------------------------------------------------- */

struct ike_trust *ike_trust_new(void)
{
	struct ike_trust *t = OPENSSL_zalloc(sizeof(*t));

	if (!t)
		return NULL;
	t->store = X509_STORE_new();
	if (!t->store) {
		OPENSSL_free(t);
		return NULL;
	}
	t->refs = 1;
	return t;
}

static int trust_keep_hash(struct ike_trust *t, X509 *x)
{
	uint8_t h[IKE_CERTREQ_HASH_LEN];

	if (cert_spki_sha1(x, h))
		return -EIO;
	/* The same CA twice (a bundle and a file) is one entry of CERTREQ. */
	for (size_t i = 0; i < t->n_ca; i++)
		if (memcmp(t->ca_hash[i], h, sizeof(h)) == 0)
			return 0;
	if (t->n_ca == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		void *p = OPENSSL_realloc(t->ca_hash, cap * sizeof(*t->ca_hash));

		if (!p)
			return -ENOMEM;
		t->ca_hash = p;
		t->cap = cap;
	}
	memcpy(t->ca_hash[t->n_ca++], h, sizeof(h));
	return 0;
}

static int trust_add_one(void *to, X509 *x, const char **why)
{
	struct ike_trust *t = to;

	if (X509_check_ca(x) < 1)
		return cert_fail(why, "not a CA certificate (basicConstraints)", -EKEYREJECTED);
	if (!X509_STORE_add_cert(t->store, x))
		return cert_fail(why, "cannot add CA certificate", -EIO);
	return trust_keep_hash(t, x) ? cert_fail(why, "out of memory", -ENOMEM) : 0;
}

int ike_trust_add_ca(struct ike_trust *t, const uint8_t *blob, size_t len, const char **why)
{
	return certs_each(blob, len, trust_add_one, t, why);
}

int ike_trust_add_crl(struct ike_trust *t, const uint8_t *blob, size_t len, const char **why)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	int ret;

	if (!crls)
		return cert_fail(why, "out of memory", -ENOMEM);
	ret = cert_load(blob, len, NULL, crls, why);
	for (int i = 0; !ret && i < sk_X509_CRL_num(crls); i++) {
		if (!X509_STORE_add_crl(t->store, sk_X509_CRL_value(crls, i)))
			ret = cert_fail(why, "cannot add CRL", -EIO);
		else
			t->n_crl++;
	}
	ERR_clear_error();
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	return ret;
}

static int trust_add_signer(void *to, X509 *x, const char **why)
{
	struct ike_trust *t = to;
	unsigned char *der = NULL;
	int n;

	if (t->n_ocsp_signer == IKE_TRUST_OCSP_SIGNERS_MAX)
		return cert_fail(why, "more than 8 OCSP responder certificates", -E2BIG);
	n = i2d_X509(x, &der);
	if (n <= 0)
		return cert_fail(why, "cannot encode the certificate", -EIO);
	t->ocsp_signer[t->n_ocsp_signer++] = (struct ike_der){ der, (size_t)n };
	return 0;
}

int ike_trust_add_ocsp_signer(struct ike_trust *t, const uint8_t *blob, size_t len,
			      const char **why)
{
	return certs_each(blob, len, trust_add_signer, t, why);
}

const struct ike_der *ike_trust_ocsp_signers(const struct ike_trust *t, size_t *n)
{
	*n = t ? t->n_ocsp_signer : 0;
	return t ? t->ocsp_signer : NULL;
}

int ike_trust_certreq(const struct ike_trust *t, uint8_t *out, size_t *len)
{
	size_t need = t->n_ca * IKE_CERTREQ_HASH_LEN;

	if (*len < need)
		return -ENOSPC;
	if (need)
		memcpy(out, t->ca_hash, need);
	*len = need;
	return 0;
}

size_t ike_trust_ca_count(const struct ike_trust *t)
{
	return t->n_ca;
}

void ike_trust_hold(const struct ike_trust *t)
{
	if (t)
		((struct ike_trust *)t)->refs++;
}

void ike_trust_free(const struct ike_trust *ct)
{
	struct ike_trust *t = (struct ike_trust *)ct;

	if (!t || --t->refs > 0)
		return;
	X509_STORE_free(t->store);
	OPENSSL_free(t->ca_hash);
	for (size_t i = 0; i < t->n_ocsp_signer; i++)
		OPENSSL_free((void *)t->ocsp_signer[i].p);
	OPENSSL_free(t);
}

int ike_certreq_parse(const uint8_t *data, size_t len, size_t *n)
{
	(void)data;
	/* Section 3.7: a concatenated list of 20-octet SHA-1 hashes. */
	if (len % IKE_CERTREQ_HASH_LEN)
		return -EINVAL;
	*n = len / IKE_CERTREQ_HASH_LEN;
	return 0;
}
