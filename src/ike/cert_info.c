/* SPDX-License-Identifier: ISC */
/*
 * What a credential and a trust hold, described for the daemon's
 * list-certs and its expiry warnings: names, serial, key, validity and the
 * SHA-256 fingerprint of each certificate and CRL.  Read-only.
 */
#include "cert_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* A name as an RFC 2253 string, cut to fit; "" when it cannot be printed. */
static void name_str(const X509_NAME *n, char *out, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_read(b, out, (int)size - 1);
		out[len > 0 ? len : 0] = '\0';
	}
	BIO_free(b);
}

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* UTC seconds since the epoch; -1 when t is absent or not a valid time. */
int64_t cert_time_of(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
			       (unsigned)tm.tm_mday) * 86400 +
	       tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

static void serial_str(const ASN1_INTEGER *s, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	if (!s)
		return;
	for (int i = 0; i < s->length && o + 4 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, i ? ":%02x" : "%02x", s->data[i]);
}

static void key_str(X509 *x, struct ike_cert_info *in)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	const char *t;

	if (!k)
		return;
	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA: t = "RSA"; break;
	case EVP_PKEY_RSA_PSS: t = "RSA-PSS"; break;
	case EVP_PKEY_EC: t = "EC"; break;
	case EVP_PKEY_ED25519: t = "ED25519"; break;
	case EVP_PKEY_ED448: t = "ED448"; break;
	default: t = "other"; break;
	}
	snprintf(in->key_type, sizeof(in->key_type), "%s", t);
	in->key_bits = (unsigned)EVP_PKEY_get_bits(k);
}

static void cert_describe(X509 *x, enum ike_cert_role role, struct ike_cert_info *in)
{
	unsigned int n = 0;

	memset(in, 0, sizeof(*in));
	in->role = role;
	name_str(X509_get_subject_name(x), in->subject, sizeof(in->subject));
	name_str(X509_get_issuer_name(x), in->issuer, sizeof(in->issuer));
	serial_str(X509_get0_serialNumber(x), in->serial, sizeof(in->serial));
	key_str(x, in);
	in->not_before = cert_time_of(X509_get0_notBefore(x));
	in->not_after = cert_time_of(X509_get0_notAfter(x));
	X509_digest(x, EVP_sha256(), in->sha256, &n);
	if (cert_ocsp_uri(x, in->ocsp_uri, sizeof(in->ocsp_uri), NULL) < 0)
		in->ocsp_uri[0] = '\0';
}

static void crl_describe(X509_CRL *crl, struct ike_cert_info *in)
{
	unsigned int n = 0;

	memset(in, 0, sizeof(*in));
	in->role = IKE_CERT_CRL;
	name_str(X509_CRL_get_issuer(crl), in->issuer, sizeof(in->issuer));
	in->not_before = cert_time_of(X509_CRL_get0_lastUpdate(crl));
	in->not_after = cert_time_of(X509_CRL_get0_nextUpdate(crl));
	X509_CRL_digest(crl, EVP_sha256(), in->sha256, &n);
}

void ike_cred_visit(const struct ike_cred *c,
		    void (*f)(void *ctx, const struct ike_cert_info *info), void *ctx)
{
	struct ike_cert_info in;

	for (size_t i = 0; c && i < c->n_der; i++) {
		const unsigned char *p = c->der[i];
		X509 *x = d2i_X509(NULL, &p, (long)c->der_len[i]);

		if (!x)
			continue;
		cert_describe(x, i ? IKE_CERT_INTERMEDIATE : IKE_CERT_OWN, &in);
		X509_free(x);
		f(ctx, &in);
	}
	ERR_clear_error();
}

int ike_cert_der_info(const struct ike_der *der, struct ike_cert_info *info)
{
	const unsigned char *p = der->p;
	X509 *x = d2i_X509(NULL, &p, (long)der->len);

	if (!x) {
		ERR_clear_error();
		return -EINVAL;
	}
	cert_describe(x, IKE_CERT_PEER, info);
	X509_free(x);
	ERR_clear_error();
	return 0;
}

void ike_trust_visit(const struct ike_trust *t,
		     void (*f)(void *ctx, const struct ike_cert_info *info), void *ctx)
{
	STACK_OF(X509_OBJECT) *objs;
	struct ike_cert_info in;

	if (!t)
		return;
	/* No lookup methods are added: the store's objects are all we loaded. */
	objs = X509_STORE_get0_objects(t->store);
	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

		if (X509_OBJECT_get_type(o) == X509_LU_X509)
			cert_describe(X509_OBJECT_get0_X509(o), IKE_CERT_CA, &in);
		else if (X509_OBJECT_get_type(o) == X509_LU_CRL)
			crl_describe(X509_OBJECT_get0_X509_CRL(o), &in);
		else
			continue;
		f(ctx, &in);
	}
	ERR_clear_error();
}
