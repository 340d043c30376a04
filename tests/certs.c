/* SPDX-License-Identifier: ISC */
/* Test PKI through OpenSSL (certs.h). */
#include "certs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

static void *must(void *p, const char *what)
{
	if (!p) {
		fprintf(stderr, "certs: cannot make %s\n", what);
		exit(2);
	}
	return p;
}

static EVP_PKEY *rsa_gen(const char *type, unsigned bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	BIGNUM *bn = BN_new();
	EVP_PKEY *k = NULL;

	if (!ctx || !bn || !BN_set_word(bn, e) || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) <= 0 || EVP_PKEY_keygen(ctx, &k) <= 0)
		k = NULL;
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return must(k, type);
}

EVP_PKEY *certs_key(const char *type, const char *curve, unsigned bits)
{
	if (strncmp(type, "RSA", 3) == 0)
		return rsa_gen(type, bits, 65537);
	if (strcmp(type, "EC") == 0)
		return must(EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve), curve);
	return must(EVP_PKEY_Q_keygen(NULL, NULL, type), type);
}

EVP_PKEY *certs_rsa_e(unsigned bits, unsigned long e)
{
	return rsa_gen("RSA", bits, e);
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	if (!val)
		return;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = must(X509V3_EXT_conf_nid(NULL, &ctx, nid, val), val);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static void set_name(X509 *x, const char *cn)
{
	X509_NAME *n = X509_get_subject_name(x);

	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"xike test", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
}

/* Ed25519 and Ed448 sign without a separate digest. */
static const EVP_MD *sign_md(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448") ? NULL : EVP_sha256();
}

X509 *certs_make(const struct certs_spec *s)
{
	X509 *x = must(X509_new(), "certificate");
	EVP_PKEY *ikey = s->issuer ? s->ikey : s->key;
	time_t now = CERTS_NOW;
	long from = s->from, to = s->to;

	if (from == 0 && to == 0)
		from = -CERTS_DAY, to = 365 * CERTS_DAY;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial ? s->serial : 1);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, from, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &now);
	set_name(x, s->cn);
	X509_set_issuer_name(x, X509_get_subject_name(s->issuer ? s->issuer : x));
	X509_set_pubkey(x, s->key);
	add_ext(x, s->issuer, NID_basic_constraints, s->bc);
	add_ext(x, s->issuer, NID_key_usage, s->ku);
	add_ext(x, s->issuer, NID_ext_key_usage, s->eku);
	add_ext(x, s->issuer, NID_subject_alt_name, s->san);
	add_ext(x, s->issuer, NID_name_constraints, s->nc);
	add_ext(x, s->issuer, NID_info_access, s->aia);
	add_ext(x, s->issuer, NID_crl_distribution_points, s->cdp);
	add_ext(x, s->issuer, NID_subject_key_identifier, "hash");
	if (s->issuer)
		add_ext(x, s->issuer, NID_authority_key_identifier, "keyid:always");
	if (!X509_sign(x, ikey, sign_md(ikey))) {
		fprintf(stderr, "certs: cannot sign %s\n", s->cn);
		exit(2);
	}
	return x;
}

X509 *certs_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey)
{
	struct certs_spec s = {
		.cn = cn, .key = key, .issuer = issuer, .ikey = ikey,
		.bc = "critical,CA:TRUE", .ku = "critical,keyCertSign,cRLSign",
	};

	return certs_make(&s);
}

X509_CRL *certs_crl(X509 *issuer, EVP_PKEY *ikey, const long *serials, size_t n, long next_s)
{
	X509_CRL *crl = must(X509_CRL_new(), "CRL");
	ASN1_TIME *last = X509_time_adj_ex(NULL, -1, 0, &(time_t){ CERTS_NOW });
	ASN1_TIME *next = X509_time_adj_ex(NULL, 0, next_s, &(time_t){ CERTS_NOW });

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	X509_CRL_set1_lastUpdate(crl, last);
	X509_CRL_set1_nextUpdate(crl, next);
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = must(X509_REVOKED_new(), "CRL entry");
		ASN1_INTEGER *serial = ASN1_INTEGER_new();

		ASN1_INTEGER_set(serial, serials[i]);
		X509_REVOKED_set_serialNumber(r, serial);
		X509_REVOKED_set_revocationDate(r, last);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(serial);
	}
	X509_CRL_sort(crl);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	if (!X509_CRL_sign(crl, ikey, sign_md(ikey))) {
		fprintf(stderr, "certs: cannot sign a CRL\n");
		exit(2);
	}
	return crl;
}

/* A malloc'd copy of n > 0 bytes. */
static uint8_t *dup_out(const void *src, long n, size_t *len)
{
	uint8_t *p;

	if (n <= 0)
		must(NULL, "an encoding");
	p = must(malloc((size_t)n), "a copy");
	memcpy(p, src, (size_t)n);
	*len = (size_t)n;
	return p;
}

/* An OpenSSL-allocated encoding, copied to malloc'd memory. */
static uint8_t *copy_out(unsigned char *der, int n, size_t *len)
{
	uint8_t *p = dup_out(der, n, len);

	OPENSSL_free(der);
	return p;
}

uint8_t *certs_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	return copy_out(der, n, len);
}

uint8_t *certs_crl_der(X509_CRL *crl, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(crl, &der);

	return copy_out(der, n, len);
}

uint8_t *certs_key_der(EVP_PKEY *k, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PrivateKey(k, &der);

	return copy_out(der, n, len);
}

static uint8_t *bio_out(BIO *bio, int ok, size_t *len)
{
	char *data = NULL;
	long n = ok ? BIO_get_mem_data(bio, &data) : 0;
	uint8_t *p = dup_out(data, n, len);

	BIO_free(bio);
	return p;
}

uint8_t *certs_pem(X509 *x, size_t *len)
{
	BIO *bio = must(BIO_new(BIO_s_mem()), "BIO");

	return bio_out(bio, PEM_write_bio_X509(bio, x), len);
}

uint8_t *certs_key_pem(EVP_PKEY *k, size_t *len)
{
	BIO *bio = must(BIO_new(BIO_s_mem()), "BIO");

	return bio_out(bio, PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), len);
}

int certs_put_file(char *path, const uint8_t *data, size_t len, mode_t mode)
{
	int fd = mkstemp(path);
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	return ok && chmod(path, mode) == 0 ? 0 : -1;
}

static uint8_t *ocsp_der(OCSP_RESPONSE *resp, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_OCSP_RESPONSE(resp, &der);

	OCSP_RESPONSE_free(resp);
	return copy_out(der, n, len);
}

uint8_t *certs_ocsp_response(const struct certs_ocsp_spec *s, size_t *len)
{
	OCSP_BASICRESP *bs = must(OCSP_BASICRESP_new(), "OCSP response");
	OCSP_CERTID *id = must(OCSP_cert_to_id(EVP_sha1(), s->cert, s->issuer), "certID");
	time_t now = CERTS_NOW;
	ASN1_TIME *thisupd = X509_time_adj_ex(NULL, 0, s->this_off, &now);
	ASN1_TIME *nextupd = X509_time_adj_ex(NULL, 0, s->next_off, &now);
	ASN1_TIME *rev = X509_time_adj_ex(NULL, -2, 0, &now);
	OCSP_RESPONSE *resp;
	uint8_t *der;

	if (s->resp_status) {
		OCSP_CERTID_free(id);
		OCSP_BASICRESP_free(bs);
		ASN1_TIME_free(thisupd);
		ASN1_TIME_free(nextupd);
		ASN1_TIME_free(rev);
		return ocsp_der(must(OCSP_response_create(s->resp_status, NULL), "response"), len);
	}
	must(OCSP_basic_add1_status(bs, id, s->status, s->reason,
				    s->status == V_OCSP_CERTSTATUS_REVOKED ? rev : NULL, thisupd,
				    s->no_next ? NULL : nextupd),
	     "single response");
	if (s->nonce && !OCSP_basic_add1_nonce(bs, (unsigned char *)s->nonce, (int)s->nonce_len))
		must(NULL, "nonce");
	if (!OCSP_basic_sign(bs, s->signer, s->skey, sign_md(s->skey), NULL,
			     s->bad_sig ? OCSP_NOCERTS : 0)) {
		fprintf(stderr, "certs: cannot sign an OCSP response\n");
		exit(2);
	}
	resp = must(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs), "response");
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(rev);
	der = ocsp_der(resp, len);
	/* Without certificates, the signature's BIT STRING ends the DER. */
	if (s->bad_sig)
		der[*len - 1] ^= 0x01;
	return der;
}
