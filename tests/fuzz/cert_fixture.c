/* SPDX-License-Identifier: ISC */
/* fuzz_cert's fixed credentials (cert_fixture.h). */
#include "cert_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The DER OIDs of the curves, for SEC1 ECPrivateKey (RFC 5915). */
static const uint8_t oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };

static EVP_PKEY *must(EVP_PKEY *k)
{
	if (!k) {
		fprintf(stderr, "cert_fixture: cannot make a key\n");
		exit(2);
	}
	return k;
}

/*
 * An EC key from a fixed scalar 01 | tag | 00 ... (below every order):
 * ECPrivateKey { version 1, privateKey, [0] parameters } without the
 * public key, which OpenSSL computes.
 */
static EVP_PKEY *ec_fixed(const uint8_t *oid, size_t olen, size_t flen, uint8_t tag)
{
	uint8_t der[128], *p = der;
	const unsigned char *q = der;

	*p++ = 0x30, *p++ = (uint8_t)(3 + 2 + flen + 4 + olen);
	*p++ = 0x02, *p++ = 0x01, *p++ = 0x01;
	*p++ = 0x04, *p++ = (uint8_t)flen;
	memset(p, 0, flen);
	p[0] = 0x01, p[1] = tag, p[flen - 1] = 0x5a;
	p += flen;
	*p++ = 0xa0, *p++ = (uint8_t)(2 + olen), *p++ = 0x06, *p++ = (uint8_t)olen;
	memcpy(p, oid, olen);
	p += olen;
	return must(d2i_AutoPrivateKey(NULL, &q, p - der));
}

/* Ed25519 / Ed448 from a fixed seed, as PKCS#8 (RFC 8410 section 7). */
static EVP_PKEY *ed_fixed(int ed448)
{
	size_t n = ed448 ? 57 : 32;
	uint8_t der[80] = { 0x30, (uint8_t)(14 + n), 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
			    0x03, 0x2b, 0x65, (uint8_t)(ed448 ? 0x71 : 0x70), 0x04,
			    (uint8_t)(2 + n), 0x04, (uint8_t)n };
	const unsigned char *q = der;

	for (size_t i = 0; i < n; i++)
		der[16 + i] = (uint8_t)(0x9d + 7 * i);
	return must(d2i_AutoPrivateKey(NULL, &q, (long)(16 + n)));
}

X509 *cert_fixture_ee(const struct cert_fixture *f, EVP_PKEY *key, long serial, long from,
		      long to)
{
	struct certs_spec s = {
		.cn = "peer.example.com", .key = key, .issuer = f->inter, .ikey = f->int_key,
		.from = from, .to = to, .ku = "critical,digitalSignature",
		.san = "DNS:peer.example.com,IP:192.0.2.7,email:peer@example.com",
		.serial = serial,
	};

	return certs_make(&s);
}

static void fixture_peer(struct cert_fixture *f, int i)
{
	X509 *x = cert_fixture_ee(f, f->keys[i], 100 + i, 0, 0);
	size_t kl, cl;
	uint8_t *kd = certs_key_der(f->keys[i], &kl), *cd = certs_der(x, &cl);

	if (ike_cred_new(kd, kl, &f->creds[i], NULL) ||
	    ike_cred_add_certs(f->creds[i], cd, cl, NULL) ||
	    !(f->certs[i] = ike_cert_parse(cd, cl, NULL))) {
		fprintf(stderr, "cert_fixture: key %d refused\n", i);
		exit(2);
	}
	free(kd);
	free(cd);
	X509_free(x);
}

void cert_fixture_init(struct cert_fixture *f)
{
	static const long revoked[] = { 666 };
	X509_CRL *crl;
	uint8_t *der;
	size_t len;

	f->root_key = ec_fixed(oid_p256, sizeof(oid_p256), 32, 0xca);
	f->int_key = ec_fixed(oid_p256, sizeof(oid_p256), 32, 0x1c);
	f->root = certs_ca("Fuzz Root CA", f->root_key, NULL, NULL);
	f->inter = certs_ca("Fuzz Intermediate CA", f->int_key, f->root, f->root_key);
	f->trust = ike_trust_new();
	der = certs_der(f->root, &len);
	if (!f->trust || ike_trust_add_ca(f->trust, der, len, NULL))
		exit(2);
	free(der);
	crl = certs_crl(f->inter, f->int_key, revoked, 1, 30 * CERTS_DAY);
	der = certs_crl_der(crl, &len);
	if (ike_trust_add_crl(f->trust, der, len, NULL))
		exit(2);
	free(der);
	X509_CRL_free(crl);

	f->keys[FX_RSA] = certs_key("RSA", NULL, 2048);
	f->keys[FX_P256] = ec_fixed(oid_p256, sizeof(oid_p256), 32, 0x01);
	f->keys[FX_P384] = ec_fixed(oid_p384, sizeof(oid_p384), 48, 0x02);
	f->keys[FX_P521] = ec_fixed(oid_p521, sizeof(oid_p521), 66, 0x00);
	f->keys[FX_ED25519] = ed_fixed(0);
	f->keys[FX_ED448] = ed_fixed(1);
	for (int i = 0; i < FX_KEYS; i++)
		fixture_peer(f, i);
}
