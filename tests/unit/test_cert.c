/* SPDX-License-Identifier: ISC */
/*
 * ike/cert*.c: credentials, trust and chain validation, identities, and
 * the signature AUTH data, against a PKI made here through OpenSSL
 * (certs.h), and against known answers from outside, each naming its
 * source: the AlgorithmIdentifiers of RFC 7427 Appendix A and RFC 8420,
 * and the Ed25519 vectors of RFC 8032 section 7.1.
 */
#include "check.h"
#include "certs.h"
#include "ike/cert.h"
#include "ike/ikev2.h"

#include <errno.h>
#include <stdbool.h>

#include <openssl/asn1t.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

/* Malloc'd buffers of a test, freed together by bufs_free(). */
static uint8_t *bufs[256];
static size_t n_bufs;

static uint8_t *keep(uint8_t *p)
{
	if (n_bufs == sizeof(bufs) / sizeof(bufs[0]))
		abort(); /* grow bufs */
	bufs[n_bufs++] = p;
	return p;
}

static void bufs_free(void)
{
	while (n_bufs)
		free(bufs[--n_bufs]);
}

static uint8_t *hx(const char *s, size_t *len)
{
	size_t n;

	return keep(check_hex(s, len ? len : &n));
}

/* --- the PKI ------------------------------------------------------------- */

#define EE_SAN "DNS:gw.example.com,IP:192.0.2.1,IP:2001:db8::1,email:Peer@Example.com"

/* A root, an intermediate under it, a trust store holding the root. */
static struct {
	EVP_PKEY *root_key, *int_key, *other_key;
	X509 *root, *inter, *other_root;
	struct ike_trust *trust;
	uint8_t *int_der;
	size_t int_len;
} pki;

static void pki_setup(void)
{
	size_t len;
	uint8_t *pem;
	const char *why = NULL;

	pki.root_key = certs_key("EC", "P-256", 0);
	pki.int_key = certs_key("EC", "P-256", 0);
	pki.other_key = certs_key("EC", "P-256", 0);
	pki.root = certs_ca("Root CA", pki.root_key, NULL, NULL);
	pki.inter = certs_ca("Intermediate CA", pki.int_key, pki.root, pki.root_key);
	pki.other_root = certs_ca("Other CA", pki.other_key, NULL, NULL);
	pki.int_der = certs_der(pki.inter, &pki.int_len);
	pki.trust = ike_trust_new();
	pem = certs_pem(pki.root, &len);
	CHECK_INT(ike_trust_add_ca(pki.trust, pem, len, &why), 0);
	free(pem);
}

static void pki_teardown(void)
{
	ike_trust_free(pki.trust);
	free(pki.int_der);
	X509_free(pki.root);
	X509_free(pki.inter);
	X509_free(pki.other_root);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.int_key);
	EVP_PKEY_free(pki.other_key);
}

/* An end-entity certificate under the intermediate, adjusted by the caller. */
static struct certs_spec ee_spec(EVP_PKEY *key)
{
	return (struct certs_spec){
		.cn = "gw.example.com", .key = key, .issuer = pki.inter, .ikey = pki.int_key,
		.ku = "critical,digitalSignature", .san = EE_SAN, .serial = 100,
	};
}

static struct ike_cert *parse_x509(X509 *x)
{
	size_t len;
	uint8_t *der = certs_der(x, &len);
	struct ike_cert *c = ike_cert_parse(der, len, NULL);

	free(der);
	return c;
}

/* Validate spec's certificate with the intermediate; *why gets the reason. */
static int validate_spec(const struct certs_spec *s, enum ike_cert_purpose purpose,
			 const char **why)
{
	struct ike_der ints[] = { { pki.int_der, pki.int_len } };
	X509 *x = certs_make(s);
	struct ike_cert *c = parse_x509(x);
	int ret;

	*why = NULL;
	ret = c ? ike_trust_validate(pki.trust, c, ints, 1, CERTS_NOW, purpose, why) : -999;
	ike_cert_free(c);
	X509_free(x);
	return ret;
}

#define CHECK_WHY(why, text) CHECK_MSG((why) && strcmp((why), (text)) == 0, "why: %s", \
				       (why) ? (why) : "(null)")

/* --- loading ------------------------------------------------------------- */

static void test_load(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0), *other = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	X509 *ee = certs_make(&s);
	size_t len, klen, elen, ilen, rlen;
	uint8_t *kpem = keep(certs_key_pem(k, &klen)), *ee_pem = keep(certs_pem(ee, &elen));
	uint8_t *int_pem = keep(certs_pem(pki.inter, &ilen));
	uint8_t *root_pem = keep(certs_pem(pki.root, &rlen));
	uint8_t *bundle = keep(malloc(elen + ilen + rlen));
	struct ike_cred *c = NULL;
	const char *why = NULL;
	const uint8_t *der;

	/* PEM key, then a PEM bundle: end-entity, intermediate, root. */
	CHECK_INT(ike_cred_new(kpem, klen, &c, &why), 0);
	memcpy(bundle, ee_pem, elen);
	memcpy(bundle + elen, int_pem, ilen);
	memcpy(bundle + elen + ilen, root_pem, rlen);
	CHECK_INT(ike_cred_add_certs(c, bundle, elen + ilen + rlen, &why), 0);
	/* What goes out in CERT payloads: the end-entity, the intermediate;
	 * not the root (RFC 7296 section 3.6: the peer has it). */
	der = ike_cred_cert(c, 0, &len);
	CHECK(der && len > 100);
	der = ike_cred_cert(c, 1, &len);
	CHECK(der && len == pki.int_len && memcmp(der, pki.int_der, len) == 0);
	CHECK(ike_cred_cert(c, 2, &len) == NULL);
	ike_cred_free(c);

	/* DER key and DER certificate. */
	der = keep(certs_key_der(k, &klen));
	CHECK_INT(ike_cred_new(der, klen, &c, &why), 0);
	der = keep(certs_der(ee, &len));
	CHECK_INT(ike_cred_add_certs(c, der, len, &why), 0);
	ike_cred_free(c);

	/* A certificate that is not the key's. */
	der = keep(certs_key_der(other, &klen));
	CHECK_INT(ike_cred_new(der, klen, &c, &why), 0);
	CHECK_INT(ike_cred_add_certs(c, ee_pem, elen, &why), -EKEYREJECTED);
	CHECK_WHY(why, "certificate does not match the private key");
	ike_cred_free(c);

	/* Garbage, an empty input, a truncated key. */
	c = NULL;
	CHECK_INT(ike_cred_new((const uint8_t *)"junk", 4, &c, &why), -EINVAL);
	CHECK_INT(ike_cred_new(kpem, 0, &c, &why), -EINVAL);
	CHECK_INT(ike_cred_new(der, klen - 1, &c, &why), -EINVAL);
	CHECK(c == NULL);

	X509_free(ee);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	bufs_free();
}

/* An encrypted PEM key is refused, without asking anyone for a passphrase. */
static void test_encrypted_key(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	BIO *bio = BIO_new(BIO_s_mem());
	struct ike_cred *c = NULL;
	const char *why = NULL;
	char *data;
	long n;

	PEM_write_bio_PrivateKey(bio, k, EVP_aes_128_cbc(), (unsigned char *)"secret", 6, NULL,
				 NULL);
	n = BIO_get_mem_data(bio, &data);
	CHECK_INT(ike_cred_new((uint8_t *)data, (size_t)n, &c, &why), -EINVAL);
	CHECK_WHY(why, "malformed or encrypted private key");
	BIO_free(bio);
	EVP_PKEY_free(k);
}

/* Weak keys, ours and the peer's: RSA-1024, e = 3, a curve not allowed. */
static void test_weak_keys(void)
{
	static const struct {
		const char *what;
		int kind; /* 0 RSA-1024, 1 RSA e=3, 2 secp256k1, 3 an RSASSA-PSS key */
		int ret;
		const char *why;
	} weak[] = {
		{ "RSA-1024", 0, -EKEYREJECTED, "RSA key shorter than 2048 bits" },
		{ "RSA e=3", 1, -EKEYREJECTED, "RSA public exponent below 65537" },
		{ "secp256k1", 2, -EKEYREJECTED, "EC curve not allowed (P-256, P-384, P-521 only)" },
		/* id-RSASSA-PSS keys (RFC 4055 section 1.2) are not supported. */
		{ "RSA-PSS key", 3, -ENOTSUP, "key type not supported (RSA, ECDSA, Ed25519, Ed448)" },
	};

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		EVP_PKEY *k = weak[i].kind == 0 ? certs_rsa_e(1024, 65537)
			      : weak[i].kind == 1 ? certs_rsa_e(2048, 3)
			      : weak[i].kind == 2 ? certs_key("EC", "secp256k1", 0)
						  : certs_key("RSA-PSS", NULL, 2048);
		struct certs_spec s = ee_spec(k);
		struct ike_cred *c = NULL;
		const char *why = NULL;
		size_t len;
		uint8_t *der = certs_key_der(k, &len);

		CHECK_MSG(ike_cred_new(der, len, &c, &why) == weak[i].ret, "%s", weak[i].what);
		CHECK_WHY(why, weak[i].why);
		CHECK(c == NULL);
		CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), weak[i].ret);
		CHECK_WHY(why, weak[i].why);
		free(der);
		EVP_PKEY_free(k);
	}
}

/* A real certificate over 64 KB (1300 names): too big for a peer's. */
static void test_big_cert(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	struct ike_der ints[] = { { pki.int_der, pki.int_len } };
	char *san = malloc(1300 * 64 + 1), *p = san;
	struct ike_cert *c;
	const char *why = NULL;
	size_t len;
	uint8_t *der;
	X509 *x;

	for (int i = 0; i < 1300; i++)
		p += sprintf(p, "%sDNS:host-%04d-of-a-rather-long-list-of-names.example.com",
			     i ? "," : "", i);
	s.san = san;
	x = certs_make(&s);
	der = certs_der(x, &len);
	CHECK_MSG(len > 65536, "%zu", len);
	CHECK(ike_cert_parse(der, len, &why) == NULL);
	CHECK_WHY(why, "certificate larger than 16384 octets");
	/* As an intermediate it is refused the same way. */
	ints[0] = (struct ike_der){ der, len };
	c = parse_x509(pki.inter);
	CHECK_INT(ike_trust_validate(pki.trust, c, ints, 1, CERTS_NOW, IKE_PURPOSE_ANY, &why),
		  -EINVAL);
	CHECK_WHY(why, "certificate larger than 16384 octets");
	ike_cert_free(c);
	free(der);
	free(san);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A peer's certificate: garbage, trailing octets, 64 KB. */
static void test_hostile_der(void)
{
	size_t len;
	uint8_t *der = keep(certs_der(pki.inter, &len));
	uint8_t *big = keep(calloc(1, 65536)), *tail = keep(malloc(len + 1));
	const char *why = NULL;
	struct ike_cert *c;

	CHECK(ike_cert_parse((const uint8_t *)"\x30\x82\xff\xff garbage", 12, &why) == NULL);
	CHECK_WHY(why, "malformed certificate (DER)");
	for (size_t i = 0; i < 65536; i++)
		big[i] = (uint8_t)(i * 7919 >> 3);
	big[0] = 0x30, big[1] = 0x83, big[2] = 0x00, big[3] = 0xff, big[4] = 0xfc;
	CHECK(ike_cert_parse(big, 65536, &why) == NULL);
	CHECK_WHY(why, "certificate larger than 16384 octets");
	test_big_cert();
	memcpy(tail, der, len);
	tail[len] = 0;
	CHECK(ike_cert_parse(tail, len + 1, &why) == NULL);
	CHECK_WHY(why, "malformed certificate (DER)");
	CHECK(ike_cert_parse(der, 0, &why) == NULL);
	/* Every prefix of a real certificate is refused without a crash. */
	for (size_t n = 1; n < len; n += 7)
		CHECK(ike_cert_parse(der, n, NULL) == NULL);
	c = ike_cert_parse(der, len, &why);
	CHECK(c != NULL);
	ike_cert_free(c);
	/* As a trust anchor or a CRL, garbage and the big blob fail too. */
	CHECK_INT(ike_trust_add_ca(pki.trust, big, 65536, &why), -EINVAL);
	CHECK_INT(ike_trust_add_crl(pki.trust, big, 65536, &why), -EINVAL);
	CHECK_INT(ike_trust_add_ca(pki.trust, (const uint8_t *)"-----BEGIN junk", 15, &why),
		  -EINVAL);
	bufs_free();
}

/* --- validation ---------------------------------------------------------- */

static void test_validate(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	struct ike_der none[1] = { { NULL, 0 } };
	const char *why = NULL;
	struct ike_cert *c;
	X509 *x;

	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), 0);

	/* Without its intermediate the chain stops short of our root. */
	x = certs_make(&s);
	c = parse_x509(x);
	CHECK_INT(ike_trust_validate(pki.trust, c, none, 0, CERTS_NOW, IKE_PURPOSE_ANY, &why),
		  -EKEYREJECTED);
	CHECK_WHY(why, "unknown CA");
	/* Valid now, expired in two years, not yet valid two days ago. */
	CHECK_INT(ike_trust_validate(pki.trust, c, &(struct ike_der){ pki.int_der, pki.int_len },
				     1, CERTS_NOW + 2 * 365 * CERTS_DAY, IKE_PURPOSE_ANY, &why),
		  -EKEYEXPIRED);
	CHECK_WHY(why, "certificate expired");
	ike_cert_free(c);
	X509_free(x);

	s.from = -10 * CERTS_DAY, s.to = -CERTS_DAY;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYEXPIRED);
	CHECK_WHY(why, "certificate expired");
	s.from = CERTS_DAY, s.to = 10 * CERTS_DAY;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYEXPIRED);
	CHECK_WHY(why, "certificate not yet valid");

	/* Issued by a CA we do not trust. */
	s = ee_spec(k);
	s.issuer = pki.other_root, s.ikey = pki.other_key;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYREJECTED);
	CHECK_WHY(why, "unknown CA");

	/* A self-signed end-entity certificate. */
	s = ee_spec(k);
	s.issuer = NULL;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYREJECTED);
	CHECK_WHY(why, "unknown CA (self-signed)");

	/* The intermediate as an end-entity: a CA key under keyCertSign only. */
	x = X509_dup(pki.inter);
	c = parse_x509(x);
	CHECK_INT(ike_trust_validate(pki.trust, c, none, 0, CERTS_NOW, IKE_PURPOSE_ANY, &why),
		  -EKEYREJECTED);
	CHECK_WHY(why, "key usage does not allow signatures (digitalSignature)");
	ike_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_usage(void)
{
	static const struct {
		const char *ku, *eku;
		enum ike_cert_purpose purpose;
		int ret;
	} t[] = {
		/* Key usage: digitalSignature or nonRepudiation (RFC 4945 5.1.3.2). */
		{ "critical,digitalSignature", NULL, IKE_PURPOSE_ANY, 0 },
		{ "critical,nonRepudiation", NULL, IKE_PURPOSE_ANY, 0 },
		{ NULL, NULL, IKE_PURPOSE_ANY, 0 },
		{ "critical,keyEncipherment", NULL, IKE_PURPOSE_ANY, -EKEYREJECTED },
		{ "critical,keyAgreement", NULL, IKE_PURPOSE_ANY, -EKEYREJECTED },
		/* Extended key usage: see cert_chain.c. */
		{ NULL, "1.3.6.1.5.5.7.3.17", IKE_PURPOSE_SERVER, 0 },
		{ NULL, "1.3.6.1.5.5.7.3.17", IKE_PURPOSE_CLIENT, 0 },
		{ NULL, "anyExtendedKeyUsage", IKE_PURPOSE_CLIENT, 0 },
		{ NULL, "serverAuth", IKE_PURPOSE_SERVER, 0 },
		{ NULL, "serverAuth", IKE_PURPOSE_ANY, 0 },
		{ NULL, "serverAuth", IKE_PURPOSE_CLIENT, -EKEYREJECTED },
		{ NULL, "clientAuth", IKE_PURPOSE_CLIENT, 0 },
		{ NULL, "clientAuth", IKE_PURPOSE_SERVER, -EKEYREJECTED },
		{ NULL, "serverAuth,clientAuth", IKE_PURPOSE_CLIENT, 0 },
		{ NULL, "codeSigning", IKE_PURPOSE_ANY, -EKEYREJECTED },
		{ NULL, "emailProtection,timeStamping", IKE_PURPOSE_ANY, -EKEYREJECTED },
	};
	EVP_PKEY *k = certs_key("EC", "P-256", 0);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct certs_spec s = ee_spec(k);
		const char *why = NULL;
		int ret;

		s.ku = t[i].ku, s.eku = t[i].eku;
		ret = validate_spec(&s, t[i].purpose, &why);
		CHECK_MSG(ret == t[i].ret, "case %zu (%s / %s): %d %s", i, t[i].ku, t[i].eku, ret,
			  why ? why : "");
	}
	EVP_PKEY_free(k);
}

/* A name-constrained intermediate and a certificate outside its names. */
static void test_name_constraints(void)
{
	EVP_PKEY *ik = certs_key("EC", "P-256", 0), *k = certs_key("EC", "P-256", 0);
	struct certs_spec is = {
		.cn = "Constrained CA", .key = ik, .issuer = pki.root, .ikey = pki.root_key,
		.bc = "critical,CA:TRUE", .ku = "critical,keyCertSign,cRLSign",
		.nc = "critical,permitted;DNS:example.com",
	};
	X509 *inter = certs_make(&is);
	size_t ilen;
	uint8_t *ider = certs_der(inter, &ilen);
	struct ike_der ints[] = { { ider, ilen } };
	static const char *const sans[] = { "DNS:gw.example.com", "DNS:gw.example.org" };

	for (size_t i = 0; i < 2; i++) {
		struct certs_spec s = ee_spec(k);
		X509 *x;
		struct ike_cert *c;
		const char *why = NULL;
		int ret;

		s.issuer = inter, s.ikey = ik, s.san = sans[i], s.cn = "gw";
		x = certs_make(&s);
		c = parse_x509(x);
		ret = ike_trust_validate(pki.trust, c, ints, 1, CERTS_NOW, IKE_PURPOSE_ANY, &why);
		if (i == 0) {
			CHECK_INT(ret, 0);
		} else {
			CHECK_INT(ret, -EKEYREJECTED);
			CHECK_WHY(why, "name constraints violated");
		}
		ike_cert_free(c);
		X509_free(x);
	}
	free(ider);
	X509_free(inter);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(k);
}

/* Chains of n intermediates under the root; the end-entity under the last. */
static int validate_depth(size_t n, const char **why)
{
	EVP_PKEY *keys[20], *k = certs_key("EC", "P-256", 0);
	X509 *cas[20], *x;
	uint8_t *der[20];
	struct ike_der ints[20];
	struct certs_spec s = ee_spec(k);
	struct ike_cert *c;
	char cn[32];
	int ret;

	for (size_t i = 0; i < n; i++) {
		keys[i] = certs_key("EC", "P-256", 0);
		snprintf(cn, sizeof(cn), "Level %zu CA", i);
		cas[i] = certs_ca(cn, keys[i], i ? cas[i - 1] : pki.root,
				  i ? keys[i - 1] : pki.root_key);
		der[i] = certs_der(cas[i], &ints[i].len);
		ints[i].p = der[i];
	}
	s.issuer = cas[n - 1], s.ikey = keys[n - 1];
	x = certs_make(&s);
	c = parse_x509(x);
	ret = ike_trust_validate(pki.trust, c, ints, n, CERTS_NOW, IKE_PURPOSE_ANY, why);
	ike_cert_free(c);
	X509_free(x);
	for (size_t i = 0; i < n; i++) {
		free(der[i]);
		X509_free(cas[i]);
		EVP_PKEY_free(keys[i]);
	}
	EVP_PKEY_free(k);
	return ret;
}

static void test_chain_length(void)
{
	const char *why = NULL;

	CHECK_INT(validate_depth(3, &why), 0);
	CHECK_INT(validate_depth(IKE_CHAIN_MAX, &why), 0);
	CHECK_INT(validate_depth(IKE_CHAIN_MAX + 1, &why), -EKEYREJECTED);
	CHECK_INT(validate_depth(20, &why), -EKEYREJECTED);
	CHECK_WHY(why, "chain too long");
}

/* An issuer that is no CA, and a CA beyond its path length. */
static void test_ca_constraints(void)
{
	EVP_PKEY *nk = certs_key("EC", "P-256", 0), *sk = certs_key("EC", "P-256", 0);
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec ns = {
		.cn = "Not a CA", .key = nk, .issuer = pki.root, .ikey = pki.root_key,
		.bc = "critical,CA:FALSE",
	};
	struct certs_spec ps = {
		.cn = "Path 0 CA", .key = nk, .issuer = pki.root, .ikey = pki.root_key,
		.bc = "critical,CA:TRUE,pathlen:0", .ku = "critical,keyCertSign",
	};
	X509 *mid[2] = { certs_make(&ns), certs_make(&ps) }, *sub, *x;
	const char *want[2] = { "issuer is not a CA", "CA path length exceeded" };

	for (int i = 0; i < 2; i++) {
		struct certs_spec s = ee_spec(k);
		struct ike_der ints[2];
		uint8_t *d0 = certs_der(mid[i], &ints[0].len), *d1 = NULL;
		struct ike_cert *c;
		const char *why = NULL;
		size_t n = 1;

		ints[0].p = d0;
		s.issuer = mid[i], s.ikey = nk;
		sub = NULL;
		if (i == 1) {
			/* Path 0 CA -> Sub CA -> end-entity: one CA too many. */
			sub = certs_ca("Sub CA", sk, mid[i], nk);
			d1 = certs_der(sub, &ints[1].len);
			ints[1].p = d1;
			s.issuer = sub, s.ikey = sk;
			n = 2;
		}
		x = certs_make(&s);
		c = parse_x509(x);
		CHECK_INT(ike_trust_validate(pki.trust, c, ints, n, CERTS_NOW, IKE_PURPOSE_ANY,
					     &why), -EKEYREJECTED);
		CHECK_WHY(why, want[i]);
		ike_cert_free(c);
		X509_free(x);
		X509_free(sub);
		free(d0);
		free(d1);
	}
	X509_free(mid[0]);
	X509_free(mid[1]);
	EVP_PKEY_free(nk);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(k);
}

/* Two intermediates that issued each other: an error, not a hang. */
static void test_chain_loop(void)
{
	EVP_PKEY *ka = certs_key("EC", "P-256", 0), *kb = certs_key("EC", "P-256", 0);
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	X509 *b0 = certs_ca("Loop B", kb, NULL, NULL);
	X509 *a = certs_ca("Loop A", ka, b0, kb);
	X509 *b = certs_ca("Loop B", kb, a, ka);
	struct certs_spec s = ee_spec(k);
	X509 *x;
	struct ike_cert *c;
	struct ike_der ints[2];
	uint8_t *da = certs_der(a, &ints[0].len), *db = certs_der(b, &ints[1].len);
	const char *why = NULL;

	ints[0].p = da, ints[1].p = db;
	s.issuer = a, s.ikey = ka;
	x = certs_make(&s);
	c = parse_x509(x);
	CHECK_INT(ike_trust_validate(pki.trust, c, ints, 2, CERTS_NOW, IKE_PURPOSE_ANY, &why),
		  -EKEYREJECTED);
	CHECK_WHY(why, "unknown CA");
	ike_cert_free(c);
	X509_free(x);
	X509_free(a);
	X509_free(b);
	X509_free(b0);
	free(da);
	free(db);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(k);
}

/* Limit a CRL's scope to key compromise, and sign it again. */
static void crl_only_key_compromise(X509_CRL *crl, X509 *issuer, EVP_PKEY *ikey)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_issuing_distribution_point,
				"critical,onlysomereasons:keyCompromise");
	CHECK(e != NULL);
	X509_CRL_add_ext(crl, e, -1);
	X509_EXTENSION_free(e);
	X509_CRL_sign(crl, ikey, EVP_sha256());
}

/* A CRL of the intermediate: its revoked certificate fails, others pass,
 * and the root, which has no CRL loaded, is not checked. */
static void test_crl(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	static const long revoked[] = { 7, 666 };
	X509_CRL *crl = certs_crl(pki.inter, pki.int_key, revoked, 2, 30 * CERTS_DAY);
	X509_CRL *stale;
	size_t len;
	uint8_t *der = keep(certs_crl_der(crl, &len));
	struct ike_trust *saved = pki.trust;
	struct certs_spec s = ee_spec(k);
	const char *why = NULL;
	uint8_t *root;
	size_t rlen;

	CHECK_INT(ike_trust_add_crl(pki.trust, der, len, &why), 0);
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), 0);
	s.serial = 666;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYREVOKED);
	CHECK_WHY(why, "revoked");
	CHECK_INT(ike_trust_add_crl(pki.trust, (const uint8_t *)"\x30\x03\x02\x01\x01", 5, &why),
		  -EINVAL);

	/* A CRL past its nextUpdate fails the chain (see cert_chain.c). */
	pki.trust = ike_trust_new();
	root = keep(certs_der(pki.root, &rlen));
	CHECK_INT(ike_trust_add_ca(pki.trust, root, rlen, &why), 0);
	stale = certs_crl(pki.inter, pki.int_key, revoked, 0, -60);
	der = keep(certs_crl_der(stale, &len));
	CHECK_INT(ike_trust_add_crl(pki.trust, der, len, &why), 0);
	s.serial = 100;
	CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYREJECTED);
	CHECK_WHY(why, "CRL expired");
	ike_trust_free(pki.trust);

	/* CRLs of the intermediate that do not settle the certificate: one
	 * signed by another key, one covering key compromise only (RFC 5280
	 * 5.2.5 onlySomeReasons).  The intermediate has CRLs loaded, so its
	 * certificates are not let through unchecked. */
	for (int i = 0; i < 2; i++) {
		pki.trust = ike_trust_new();
		CHECK_INT(ike_trust_add_ca(pki.trust, root, rlen, &why), 0);
		X509_CRL_free(stale);
		stale = certs_crl(pki.inter, i ? pki.int_key : pki.other_key, revoked, 0,
				  30 * CERTS_DAY);
		if (i)
			crl_only_key_compromise(stale, pki.inter, pki.int_key);
		der = keep(certs_crl_der(stale, &len));
		CHECK_INT(ike_trust_add_crl(pki.trust, der, len, &why), 0);
		CHECK_INT(validate_spec(&s, IKE_PURPOSE_ANY, &why), -EKEYREJECTED);
		CHECK_WHY(why, i ? "no usable CRL of the issuer" : "bad CRL signature");
		ike_trust_free(pki.trust);
	}
	pki.trust = saved;

	X509_CRL_free(stale);
	X509_CRL_free(crl);
	EVP_PKEY_free(k);
	bufs_free();
}

static void test_trust_load(void)
{
	struct ike_trust *t = ike_trust_new();
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	X509 *ee = certs_make(&s);
	size_t l1, l2, l3;
	uint8_t *p1 = keep(certs_pem(pki.root, &l1)), *p2 = keep(certs_pem(pki.other_root, &l2));
	uint8_t *both = keep(malloc(l1 + l2)), *eder = keep(certs_der(ee, &l3));
	uint8_t req[64], spki_hash[20], *spki = NULL;
	size_t rlen = sizeof(req), n;
	const char *why = NULL;
	int slen;

	memcpy(both, p1, l1);
	memcpy(both + l1, p2, l2);
	CHECK_INT(ike_trust_add_ca(t, both, l1 + l2, &why), 0);
	CHECK_INT(ike_trust_ca_count(t), 2);
	/* The same CA again: still two in CERTREQ. */
	CHECK_INT(ike_trust_add_ca(t, p1, l1, &why), 0);
	CHECK_INT(ike_trust_ca_count(t), 2);
	/* An end-entity certificate is no trust anchor. */
	CHECK_INT(ike_trust_add_ca(t, eder, l3, &why), -EKEYREJECTED);
	CHECK_WHY(why, "not a CA certificate (basicConstraints)");

	/* CERTREQ: SHA-1 over the DER SubjectPublicKeyInfo (RFC 7296 3.7),
	 * here computed from the key rather than the certificate. */
	CHECK_INT(ike_trust_certreq(t, req, &rlen), 0);
	CHECK_INT(rlen, 40);
	slen = i2d_PUBKEY(pki.root_key, &spki);
	SHA1(spki, (size_t)slen, spki_hash);
	OPENSSL_free(spki);
	CHECK_MEM(req, spki_hash, 20);
	CHECK_INT(ike_certreq_parse(req, rlen, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(ike_certreq_parse(req, 41, &n), -EINVAL);
	CHECK_INT(ike_certreq_parse(req, 0, &n), 0);
	CHECK_INT(n, 0);
	rlen = 39;
	CHECK_INT(ike_trust_certreq(t, req, &rlen), -ENOSPC);

	ike_trust_free(t);
	X509_free(ee);
	EVP_PKEY_free(k);
	bufs_free();
}

/* Our chain is picked when the peer's CERTREQ names one of its CAs. */
static void test_certreq_match(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	X509 *ee = certs_make(&s);
	size_t kl, el, il;
	uint8_t *kd = keep(certs_key_der(k, &kl)), *ed = keep(certs_der(ee, &el));
	uint8_t *ip = keep(certs_pem(pki.inter, &il));
	uint8_t req[64], other[40] = { 0 };
	size_t rlen = sizeof(req);
	struct ike_cred *c = NULL;
	struct ike_trust *t = ike_trust_new();

	CHECK_INT(ike_cred_new(kd, kl, &c, NULL), 0);
	CHECK_INT(ike_cred_add_certs(c, ed, el, NULL), 0);
	CHECK_INT(ike_cred_add_certs(c, ip, il, NULL), 0);
	CHECK_INT(ike_trust_add_ca(t, ip, il, NULL), 0);
	CHECK_INT(ike_trust_certreq(t, req, &rlen), 0);
	memcpy(other + 20, req, 20);
	CHECK(ike_cred_certreq_match(c, req, rlen));
	CHECK(ike_cred_certreq_match(c, other, 40));
	CHECK(!ike_cred_certreq_match(c, other, 20));
	CHECK(!ike_cred_certreq_match(c, other, 39));
	CHECK(!ike_cred_certreq_match(c, NULL, 0));
	ike_cred_free(c);
	ike_trust_free(t);
	X509_free(ee);
	EVP_PKEY_free(k);
	bufs_free();
}

/* --- identities ---------------------------------------------------------- */

static struct ike_id id_of(uint8_t type, const void *data, size_t len)
{
	struct ike_id id = { .type = type, .len = (uint8_t)len };

	memcpy(id.data, data, len);
	return id;
}

static struct ike_id id_str(uint8_t type, const char *s)
{
	return id_of(type, s, strlen(s));
}

static struct ike_id id_dn(const char *o, const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	unsigned char *der = NULL;
	struct ike_id id;
	int len;

	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)o, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	len = i2d_X509_NAME(n, &der);
	id = id_of(IKEV2_ID_DER_ASN1_DN, der, (size_t)len);
	OPENSSL_free(der);
	X509_NAME_free(n);
	return id;
}

static void test_id_binding(void)
{
	static const uint8_t v4[] = { 192, 0, 2, 1 }, v4b[] = { 192, 0, 2, 2 };
	static const uint8_t v6[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	struct certs_spec s = ee_spec(k);
	X509 *x = certs_make(&s);
	struct ike_cert *c = parse_x509(x);
	struct ike_id junk_dn = id_str(IKEV2_ID_DER_ASN1_DN, "\x30\x05junk");
	struct {
		struct ike_id id;
		int ret;
	} t[] = {
		{ id_str(IKEV2_ID_FQDN, "gw.example.com"), 0 },
		{ id_str(IKEV2_ID_FQDN, "GW.Example.COM"), 0 },
		{ id_str(IKEV2_ID_FQDN, "gw.example.co"), -ENOENT },
		{ id_str(IKEV2_ID_FQDN, "x.gw.example.com"), -ENOENT },
		{ id_str(IKEV2_ID_RFC822_ADDR, "peer@example.com"), 0 },
		{ id_str(IKEV2_ID_RFC822_ADDR, "other@example.com"), -ENOENT },
		/* The dNSName is no rfc822Name, nor the other way round. */
		{ id_str(IKEV2_ID_RFC822_ADDR, "gw.example.com"), -ENOENT },
		{ id_str(IKEV2_ID_FQDN, "Peer@Example.com"), -ENOENT },
		{ id_of(IKEV2_ID_IPV4_ADDR, v4, 4), 0 },
		{ id_of(IKEV2_ID_IPV4_ADDR, v4b, 4), -ENOENT },
		{ id_of(IKEV2_ID_IPV6_ADDR, v6, 16), 0 },
		{ id_of(IKEV2_ID_IPV4_ADDR, v6, 3), -EINVAL },
		/* The subject DN, also spelt in another case. */
		{ id_dn("xike test", "gw.example.com"), 0 },
		{ id_dn("XIKE Test", "GW.example.com"), 0 },
		{ id_dn("xike test", "other"), -ENOENT },
		{ junk_dn, -EINVAL },
		{ id_str(IKEV2_ID_KEY_ID, "gw"), -ENOTSUP },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_MSG(ike_cert_has_id(c, &t[i].id) == t[i].ret, "case %zu", i);
	ike_cert_free(c);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_id_match(void)
{
	static const uint8_t v4[] = { 192, 0, 2, 1 };
	struct {
		struct ike_id pat, id;
		bool match;
	} t[] = {
		{ { .type = 0 }, id_str(IKEV2_ID_FQDN, "anything"), true },
		{ id_str(IKEV2_ID_FQDN, "gw.example.com"), id_str(IKEV2_ID_FQDN, "GW.example.com"), true },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, "gw.example.com"), true },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, "a.EXAMPLE.com"), true },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, "example.com"), false },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, ".example.com"), false },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, "a.b.example.com"), false },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_FQDN, "gwexample.com"), false },
		{ id_str(IKEV2_ID_FQDN, "*.example.com"), id_str(IKEV2_ID_RFC822_ADDR, "a.example.com"), false },
		{ id_str(IKEV2_ID_FQDN, "gw.*.com"), id_str(IKEV2_ID_FQDN, "gw.example.com"), false },
		{ id_str(IKEV2_ID_FQDN, "*"), id_str(IKEV2_ID_FQDN, "gw"), false },
		{ id_str(IKEV2_ID_RFC822_ADDR, "*@example.com"), id_str(IKEV2_ID_RFC822_ADDR, "me@Example.com"), true },
		{ id_str(IKEV2_ID_RFC822_ADDR, "*@example.com"), id_str(IKEV2_ID_RFC822_ADDR, "@example.com"), false },
		{ id_str(IKEV2_ID_RFC822_ADDR, "*@example.com"), id_str(IKEV2_ID_RFC822_ADDR, "a@b@example.com"), false },
		{ id_str(IKEV2_ID_RFC822_ADDR, "*@example.com"), id_str(IKEV2_ID_RFC822_ADDR, "me@sub.example.com"), false },
		{ id_of(IKEV2_ID_IPV4_ADDR, v4, 4), id_of(IKEV2_ID_IPV4_ADDR, v4, 4), true },
		{ id_of(IKEV2_ID_IPV4_ADDR, v4, 4), id_of(IKEV2_ID_IPV4_ADDR, v4, 3), false },
		{ id_dn("xike test", "gw"), id_dn("XIKE TEST", "GW"), true },
		{ id_dn("xike test", "gw"), id_dn("xike test", "gw2"), false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_MSG(ike_id_matches(&t[i].pat, &t[i].id) == t[i].match, "case %zu", i);
}

/* --- signatures ------------------------------------------------------------ */

/*
 * The AlgorithmIdentifiers of RFC 7427 Appendix A (A.1 PKCS#1 1.5 RSA,
 * A.3 ECDSA, A.4 RSASSA-PSS) and RFC 8420 section 2 (EdDSA), in the
 * RFCs' hex-dump layout.  Method 14 AUTH data we make must carry exactly
 * these.  The appendix's text could not be fetched when this was written,
 * so the bytes were transcribed by hand from the RFCs' definitions, and
 * test_algid_encodings checks every one against OpenSSL's own DER
 * encoder: a typo here cannot pass as a known answer.  The common ones
 * (sha256/384WithRSAEncryption, ecdsa-with-SHA256, RSASSA-PSS with SHA-256,
 * MGF1-SHA-256 and salt 32) are also the bytes the Mozilla Root Store
 * Policy (section 5.1.1) pins for certificate signatures.
 */
static const char rfc_sha1_rsa[] = "300d 0609 2a86 4886 f70d 0101 0505 00";
static const char rfc_sha256_rsa[] = "300d 0609 2a86 4886 f70d 0101 0b05 00";
static const char rfc_sha384_rsa[] = "300d 0609 2a86 4886 f70d 0101 0c05 00";
static const char rfc_sha512_rsa[] = "300d 0609 2a86 4886 f70d 0101 0d05 00";
static const char rfc_ecdsa_sha1[] = "3009 0607 2a86 48ce 3d04 01";
static const char rfc_ecdsa_sha256[] = "300a 0608 2a86 48ce 3d04 0302";
static const char rfc_ecdsa_sha384[] = "300a 0608 2a86 48ce 3d04 0303";
static const char rfc_ecdsa_sha512[] = "300a 0608 2a86 48ce 3d04 0304";
/* RSASSA-PSS with empty parameters: everything SHA-1 by default. */
static const char rfc_pss_default[] = "300d 0609 2a86 4886 f70d 0101 0a30 00";
static const char rfc_pss_sha256[] = "3041 0609 2a86 4886 f70d 0101 0a30 34a0 0f30 0d06 0960 8648"
				     "0165 0304 0201 0500 a11c 301a 0609 2a86 4886 f70d 0101 0830"
				     "0d06 0960 8648 0165 0304 0201 0500 a203 0201 20";
static const char rfc_ed25519[] = "3005 0603 2b65 70";
static const char rfc_ed448[] = "3005 0603 2b65 71";

/* An RSASSA-PSS AlgorithmIdentifier encoded by OpenSSL's own ASN.1 code. */
static uint8_t *pss_algid(int md, int mgf_md, long salt, long trailer, size_t *len)
{
	RSA_PSS_PARAMS *p = RSA_PSS_PARAMS_new();
	X509_ALGOR *mgfh = X509_ALGOR_new(), *alg = X509_ALGOR_new();
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	p->hashAlgorithm = X509_ALGOR_new();
	X509_ALGOR_set0(p->hashAlgorithm, OBJ_nid2obj(md), V_ASN1_NULL, NULL);
	X509_ALGOR_set0(mgfh, OBJ_nid2obj(mgf_md), V_ASN1_NULL, NULL);
	p->maskGenAlgorithm = X509_ALGOR_new();
	X509_ALGOR_set0(p->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE,
			ASN1_item_pack(mgfh, ASN1_ITEM_rptr(X509_ALGOR), NULL));
	if (salt != 20) {
		p->saltLength = ASN1_INTEGER_new();
		ASN1_INTEGER_set(p->saltLength, salt);
	}
	if (trailer != 1) {
		p->trailerField = ASN1_INTEGER_new();
		ASN1_INTEGER_set(p->trailerField, trailer);
	}
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
			ASN1_item_pack(p, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL));
	n = i2d_X509_ALGOR(alg, &der);
	out = keep(malloc((size_t)n));
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	X509_ALGOR_free(mgfh);
	RSA_PSS_PARAMS_free(p);
	return out;
}

/* An AlgorithmIdentifier without parameters (ptype V_ASN1_UNDEF) or
 * with NULL ones, encoded by OpenSSL, as hex. */
static bool algid_is(const char *hex, int nid, int ptype)
{
	X509_ALGOR *alg = X509_ALGOR_new();
	unsigned char *der = NULL;
	size_t n;
	uint8_t *want = hx(hex, &n);
	int len;
	bool eq;

	X509_ALGOR_set0(alg, OBJ_nid2obj(nid), ptype, NULL);
	len = i2d_X509_ALGOR(alg, &der);
	eq = len > 0 && (size_t)len == n && memcmp(der, want, n) == 0;
	OPENSSL_free(der);
	X509_ALGOR_free(alg);
	return eq;
}

static void test_algid_encodings(void)
{
	size_t n, rn;
	uint8_t *ours = pss_algid(NID_sha256, NID_sha256, 32, 1, &n);
	uint8_t *rfc = hx(rfc_pss_sha256, &rn);

	CHECK(algid_is(rfc_sha1_rsa, NID_sha1WithRSAEncryption, V_ASN1_NULL));
	CHECK(algid_is(rfc_sha256_rsa, NID_sha256WithRSAEncryption, V_ASN1_NULL));
	CHECK(algid_is(rfc_sha384_rsa, NID_sha384WithRSAEncryption, V_ASN1_NULL));
	CHECK(algid_is(rfc_sha512_rsa, NID_sha512WithRSAEncryption, V_ASN1_NULL));
	CHECK(algid_is(rfc_ecdsa_sha1, NID_ecdsa_with_SHA1, V_ASN1_UNDEF));
	CHECK(algid_is(rfc_ecdsa_sha256, NID_ecdsa_with_SHA256, V_ASN1_UNDEF));
	CHECK(algid_is(rfc_ecdsa_sha384, NID_ecdsa_with_SHA384, V_ASN1_UNDEF));
	CHECK(algid_is(rfc_ecdsa_sha512, NID_ecdsa_with_SHA512, V_ASN1_UNDEF));
	CHECK(algid_is(rfc_ed25519, NID_ED25519, V_ASN1_UNDEF));
	CHECK(algid_is(rfc_ed448, NID_ED448, V_ASN1_UNDEF));
	CHECK(n == rn && memcmp(ours, rfc, n) == 0);
	bufs_free();
}

/* AUTH data: length octet, AlgorithmIdentifier, signature. */
static size_t auth_data(uint8_t *out, const uint8_t *algid, size_t alen, const uint8_t *sig,
			size_t slen)
{
	out[0] = (uint8_t)alen;
	memcpy(out + 1, algid, alen);
	memcpy(out + 1 + alen, sig, slen);
	return 1 + alen + slen;
}

/* A signing key with its certificate, on both sides of the wire. */
struct signer {
	EVP_PKEY *key;
	struct ike_cred *cred;
	struct ike_cert *cert;
};

static struct signer signer_new(EVP_PKEY *k)
{
	struct certs_spec s = ee_spec(k);
	X509 *x = certs_make(&s);
	struct signer sg = { .key = k };
	size_t kl, cl;
	uint8_t *kd = certs_key_der(k, &kl), *cd = certs_der(x, &cl);

	CHECK_INT(ike_cred_new(kd, kl, &sg.cred, NULL), 0);
	CHECK_INT(ike_cred_add_certs(sg.cred, cd, cl, NULL), 0);
	sg.cert = ike_cert_parse(cd, cl, NULL);
	CHECK(sg.cert != NULL);
	free(kd);
	free(cd);
	X509_free(x);
	return sg;
}

static void signer_free(struct signer *sg)
{
	ike_cred_free(sg->cred);
	ike_cert_free(sg->cert);
	EVP_PKEY_free(sg->key);
}

static const uint8_t octets[] = "InitiatorSignedOctets: message | nonce | prf(SK_p, ID)";
#define OLEN (sizeof(octets) - 1)

/*
 * Sign for a peer offering `hashes`, check the AlgorithmIdentifier
 * against `algid` (hex), verify, and see tampering refused.
 */
static void round_trip(const struct signer *sg, uint32_t hashes, unsigned flags,
		       const char *algid, const char *what)
{
	uint8_t auth[IKE_AUTH_SIG_MAX], msg[OLEN];
	size_t len = sizeof(auth), alen;
	uint8_t *want = hx(algid, &alen);
	uint8_t method = 0;
	const char *why = NULL;

	CHECK_MSG(ike_auth_sign(sg->cred, hashes, flags, octets, OLEN, &method, auth, &len,
				&why) == 0, "%s: %s", what, why ? why : "");
	CHECK_INT(method, IKEV2_AUTH_DIGITAL_SIGNATURE);
	CHECK_MSG(auth[0] == alen && memcmp(auth + 1, want, alen) == 0, "%s: AlgorithmIdentifier",
		  what);
	CHECK_MSG(ike_auth_verify(sg->cert, method, auth, len, octets, OLEN, &why) == 0, "%s: %s",
		  what, why ? why : "");
	memcpy(msg, octets, OLEN);
	msg[OLEN / 2] ^= 1;
	CHECK_MSG(ike_auth_verify(sg->cert, method, auth, len, msg, OLEN, &why) == -EBADMSG, "%s",
		  what);
	auth[len - 1] ^= 0x40;
	CHECK_MSG(ike_auth_verify(sg->cert, method, auth, len, octets, OLEN, &why) == -EBADMSG,
		  "%s", what);
}

#define H(h) IKEV2_HASH_BIT(IKEV2_HASH_##h)

static void test_sign_rsa(struct signer *rsa)
{
	const char *why = NULL;
	uint8_t auth[IKE_AUTH_SIG_MAX], method;
	size_t len = sizeof(auth), n384, n512;
	uint8_t *pss384 = pss_algid(NID_sha384, NID_sha384, 48, 1, &n384);
	uint8_t *pss512 = pss_algid(NID_sha512, NID_sha512, 64, 1, &n512);
	char hex384[300] = "", hex512[300] = "";

	/* No RFC prints PSS with SHA-384/512: OpenSSL's encoding stands in. */
	for (size_t i = 0; i < n384; i++)
		snprintf(hex384 + 2 * i, 3, "%02x", pss384[i]);
	for (size_t i = 0; i < n512; i++)
		snprintf(hex512 + 2 * i, 3, "%02x", pss512[i]);
	round_trip(rsa, H(SHA2_256), 0, rfc_pss_sha256, "RSA PSS SHA-256");
	round_trip(rsa, H(SHA2_384), 0, hex384, "RSA PSS SHA-384");
	round_trip(rsa, H(SHA2_512), 0, hex512, "RSA PSS SHA-512");
	round_trip(rsa, H(SHA2_256), IKE_SIGN_RSA_PKCS1, rfc_sha256_rsa, "RSA PKCS#1 SHA-256");
	round_trip(rsa, H(SHA2_384), IKE_SIGN_RSA_PKCS1, rfc_sha384_rsa, "RSA PKCS#1 SHA-384");
	round_trip(rsa, H(SHA2_512), IKE_SIGN_RSA_PKCS1, rfc_sha512_rsa, "RSA PKCS#1 SHA-512");
	/* All offered: SHA-256 first; SHA-1 alone: nothing in common. */
	round_trip(rsa, IKE_SIG_HASHES_OURS | H(SHA1), 0, rfc_pss_sha256, "RSA PSS, all hashes");
	CHECK_INT(ike_auth_sign(rsa->cred, H(SHA1), 0, octets, OLEN, &method, auth, &len, &why),
		  -ENOTSUP);
	CHECK_WHY(why, "no signature hash in common with the peer");
	/* A peer without RFC 7427: RSA would need SHA-1 (method 1). */
	CHECK_INT(ike_auth_sign(rsa->cred, 0, 0, octets, OLEN, &method, auth, &len, &why),
		  -ENOTSUP);
	len = 100;
	CHECK_INT(ike_auth_sign(rsa->cred, H(SHA2_256), 0, octets, OLEN, &method, auth, &len, &why),
		  -ENOSPC);
	bufs_free();
}

/* ECDSA: every curve with every hash, the curve's own hash preferred,
 * and the RFC 4754 methods for a peer without RFC 7427. */
static void test_sign_ecdsa(void)
{
	static const struct {
		const char *curve;
		uint8_t method;
		size_t raw;
		const char *own;
	} curves[] = {
		{ "P-256", IKEV2_AUTH_ECDSA_SHA256_P256, 64, rfc_ecdsa_sha256 },
		{ "P-384", IKEV2_AUTH_ECDSA_SHA384_P384, 96, rfc_ecdsa_sha384 },
		{ "P-521", IKEV2_AUTH_ECDSA_SHA512_P521, 132, rfc_ecdsa_sha512 },
	};

	for (size_t i = 0; i < 3; i++) {
		struct signer sg = signer_new(certs_key("EC", curves[i].curve, 0));
		uint8_t auth[IKE_AUTH_SIG_MAX], method = 0;
		size_t len = sizeof(auth);
		const char *why = NULL;

		round_trip(&sg, H(SHA2_256), 0, rfc_ecdsa_sha256, curves[i].curve);
		round_trip(&sg, H(SHA2_384), 0, rfc_ecdsa_sha384, curves[i].curve);
		round_trip(&sg, H(SHA2_512), 0, rfc_ecdsa_sha512, curves[i].curve);
		round_trip(&sg, IKE_SIG_HASHES_OURS, 0, curves[i].own, curves[i].curve);

		CHECK_INT(ike_auth_sign(sg.cred, 0, 0, octets, OLEN, &method, auth, &len, &why), 0);
		CHECK_INT(method, curves[i].method);
		CHECK_INT(len, curves[i].raw);
		CHECK_INT(ike_auth_verify(sg.cert, method, auth, len, octets, OLEN, &why), 0);
		/* Another method's curve, a DER signature, a bit flipped. */
		CHECK_INT(ike_auth_verify(sg.cert, IKEV2_AUTH_ECDSA_SHA256_P256 + (i + 1) % 3, auth,
					  len, octets, OLEN, &why), -EINVAL);
		CHECK_INT(ike_auth_verify(sg.cert, method, auth, len - 1, octets, OLEN, &why),
			  -EINVAL);
		auth[3] ^= 1;
		CHECK_INT(ike_auth_verify(sg.cert, method, auth, len, octets, OLEN, &why),
			  -EBADMSG);
		/* r = s = 0 and r = s = 0xff..: refused, no crash. */
		memset(auth, 0, len);
		CHECK_INT(ike_auth_verify(sg.cert, method, auth, len, octets, OLEN, &why),
			  -EBADMSG);
		memset(auth, 0xff, len);
		CHECK_INT(ike_auth_verify(sg.cert, method, auth, len, octets, OLEN, &why),
			  -EBADMSG);
		signer_free(&sg);
	}
	bufs_free();
}

static void test_sign_eddsa(void)
{
	struct signer ed[2] = { signer_new(certs_key("ED25519", NULL, 0)),
				signer_new(certs_key("ED448", NULL, 0)) };
	const char *algid[2] = { rfc_ed25519, rfc_ed448 };

	for (size_t i = 0; i < 2; i++) {
		uint8_t auth[IKE_AUTH_SIG_MAX], method;
		size_t len = sizeof(auth);
		const char *why = NULL;

		round_trip(&ed[i], H(IDENTITY), 0, algid[i], i ? "Ed448" : "Ed25519");
		round_trip(&ed[i], IKE_SIG_HASHES_OURS, 0, algid[i], i ? "Ed448" : "Ed25519");
		/* RFC 8420 section 2: EdDSA needs the peer to announce Identity. */
		CHECK_INT(ike_auth_sign(ed[i].cred, H(SHA2_256) | H(SHA2_512), 0, octets, OLEN,
					&method, auth, &len, &why), -ENOTSUP);
		CHECK_INT(ike_auth_sign(ed[i].cred, 0, 0, octets, OLEN, &method, auth, &len, &why),
			  -ENOTSUP);
		signer_free(&ed[i]);
	}
	bufs_free();
}

/* Method 1 (RSA PKCS#1 v1.5 with SHA-1): verified, never made by us. */
static void test_legacy_rsa(struct signer *rsa, struct signer *ec)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t sig[512];
	size_t slen = sizeof(sig);
	const char *why = NULL;

	EVP_DigestSignInit(m, NULL, EVP_sha1(), NULL, rsa->key);
	CHECK(EVP_DigestSign(m, sig, &slen, octets, OLEN) == 1);
	EVP_MD_CTX_free(m);
	CHECK_INT(ike_auth_verify(rsa->cert, IKEV2_AUTH_RSA_SIG, sig, slen, octets, OLEN, &why), 0);
	sig[10] ^= 1;
	CHECK_INT(ike_auth_verify(rsa->cert, IKEV2_AUTH_RSA_SIG, sig, slen, octets, OLEN, &why),
		  -EBADMSG);
	CHECK_INT(ike_auth_verify(ec->cert, IKEV2_AUTH_RSA_SIG, sig, slen, octets, OLEN, &why),
		  -EINVAL);
	CHECK_INT(ike_auth_verify(rsa->cert, IKEV2_AUTH_SHARED_KEY_MIC, sig, slen, octets, OLEN,
				  &why), -ENOTSUP);
}

/* A PSS signature with salt `salt` made by OpenSSL directly. */
static size_t pss_sign(EVP_PKEY *k, const EVP_MD *md, int salt, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *p = NULL;
	size_t slen = cap;

	EVP_DigestSignInit(m, &p, md, NULL, k);
	EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(p, salt);
	if (EVP_DigestSign(m, sig, &slen, octets, OLEN) != 1)
		slen = 0;
	EVP_MD_CTX_free(m);
	return slen;
}

/* AUTH data a hostile or odd peer may send: each refused with its reason. */
static void test_hostile_auth(struct signer *rsa, struct signer *ec)
{
	uint8_t auth[IKE_AUTH_SIG_MAX], sig[512];
	size_t slen = pss_sign(rsa->key, EVP_sha256(), 20, sig, sizeof(sig)), n, len;
	const char *why = NULL;
	uint8_t *a;
	const struct {
		const char *hex;
		int ret;
		const char *why;
	} bad[] = {
		{ rfc_sha1_rsa, -ENOTSUP, "SHA-1 signatures refused" },
		{ rfc_pss_default, -ENOTSUP, "SHA-1 signatures refused" },
		{ rfc_ecdsa_sha256, -EINVAL, "AlgorithmIdentifier does not match the key type" },
		{ rfc_ed25519, -EINVAL, "AlgorithmIdentifier does not match the key type" },
		/* md5WithRSAEncryption */
		{ "300d 0609 2a86 4886 f70d 0101 0405 00", -ENOTSUP, "signature algorithm not supported" },
		/* sha256WithRSAEncryption with an INTEGER for parameters */
		{ "300e 0609 2a86 4886 f70d 0101 0b02 0101", -EINVAL,
		  "unexpected AlgorithmIdentifier parameters" },
		/* a SEQUENCE that ends inside the OID */
		{ "300d 0609 2a86 4886 f70d 01", -EINVAL, "malformed AlgorithmIdentifier" },
	};

	const struct {
		int md, mgf;
		long salt, trailer;
		int ret;
		const char *why;
	} pss[] = {
		{ NID_sha256, NID_sha256, 20, 1, 0, NULL },
		{ NID_sha256, NID_sha256, 65, 1, -EINVAL, "RSASSA-PSS salt length absurd" },
		{ NID_sha512, NID_sha512, 100000, 1, -EINVAL, "RSASSA-PSS salt length absurd" },
		{ NID_sha512, NID_sha512, 129, 1, -EINVAL, "RSASSA-PSS salt length absurd" },
		{ NID_sha256, NID_sha256, -1, 1, -EINVAL, NULL },
		{ NID_sha256, NID_sha256, 32, 2, -EINVAL, "RSASSA-PSS trailer field is not 1" },
		{ NID_sha256, NID_sha384, 32, 1, -EINVAL, "RSASSA-PSS MGF1 hash differs from the hash" },
		{ NID_sha1, NID_sha1, 20, 1, -ENOTSUP, "SHA-1 signatures refused" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = hx(bad[i].hex, &n);
		len = auth_data(auth, a, n, sig, slen);
		why = NULL;
		CHECK_MSG(ike_auth_verify(rsa->cert, IKEV2_AUTH_DIGITAL_SIGNATURE, auth, len, octets,
					  OLEN, &why) == bad[i].ret, "bad %zu", i);
		CHECK_WHY(why, bad[i].why);
	}

	/* PSS: a salt of 20 is sane and verifies; absurd parameters do not. */
	for (size_t i = 0; i < sizeof(pss) / sizeof(pss[0]); i++) {
		a = pss_algid(pss[i].md, pss[i].mgf, pss[i].salt, pss[i].trailer, &n);
		len = auth_data(auth, a, n, sig, slen);
		why = NULL;
		CHECK_MSG(ike_auth_verify(rsa->cert, 14, auth, len, octets, OLEN, &why) ==
				  pss[i].ret, "pss %zu", i);
		if (pss[i].why)
			CHECK_WHY(why, pss[i].why);
	}
	a = hx(rfc_ecdsa_sha1, &n);
	len = auth_data(auth, a, n, sig, 64);
	CHECK_INT(ike_auth_verify(ec->cert, 14, auth, len, octets, OLEN, &why), -ENOTSUP);
	CHECK_WHY(why, "SHA-1 signatures refused");
	/* A PSS AlgorithmIdentifier on an EC key. */
	a = hx(rfc_pss_sha256, &n);
	len = auth_data(auth, a, n, sig, 64);
	CHECK_INT(ike_auth_verify(ec->cert, 14, auth, len, octets, OLEN, &why), -EINVAL);

	/* The length octet: 0, 1, past the end, or leaving no signature. */
	for (unsigned l = 0; l < 4; l++) {
		static const uint8_t lens[] = { 0, 1, 200, 15 };
		uint8_t *rsa256 = hx(rfc_sha256_rsa, &n);

		len = auth_data(auth, rsa256, n, sig, 0);
		auth[0] = lens[l];
		CHECK_INT(ike_auth_verify(rsa->cert, 14, auth, len, octets, OLEN, &why), -EINVAL);
	}
	CHECK_INT(ike_auth_verify(rsa->cert, 14, auth, 0, octets, OLEN, &why), -EINVAL);
	bufs_free();
}

/*
 * RFC 8032 section 7.1, TEST 1 and TEST 2: the secret key goes in as
 * PKCS#8 (RFC 8410 section 7), our sign path must produce the RFC's
 * signature, and our verify path must accept it from a certificate
 * holding the RFC's public key.
 */
static void test_rfc8032(void)
{
	static const struct {
		const char *secret, *public, *message, *signature;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	};

	for (size_t i = 0; i < 2; i++) {
		size_t sl, pl, ml, gl, kl, al, len;
		uint8_t *sk = hx(v[i].secret, &sl), *pk = hx(v[i].public, &pl);
		uint8_t *msg = hx(v[i].message, &ml), *sig = hx(v[i].signature, &gl);
		uint8_t *algid = hx(rfc_ed25519, &al), pkcs8[48], raw[32], auth[IKE_AUTH_SIG_MAX];
		const unsigned char *q = pkcs8;
		size_t rawlen = sizeof(raw);
		struct ike_cred *c = NULL;
		struct ike_cert *cert;
		EVP_PKEY *k;
		X509 *x;
		uint8_t method = 0;
		const char *why = NULL;

		/* RFC 8410 section 10.3's layout: version 0, id-Ed25519, the seed. */
		kl = auth_data(pkcs8, (const uint8_t *)"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b"
						      "\x65\x70\x04\x22\x04",
			       15, sk, 0) - 1;
		memmove(pkcs8, pkcs8 + 1, kl);
		pkcs8[kl++] = 0x20;
		memcpy(pkcs8 + kl, sk, sl);
		kl += sl;
		CHECK_INT(ike_cred_new(pkcs8, kl, &c, &why), 0);
		len = sizeof(auth);
		CHECK_INT(ike_auth_sign(c, H(IDENTITY), 0, msg, ml, &method, auth, &len, &why), 0);
		CHECK_INT(len, 1 + al + gl);
		CHECK_MEM(auth + 1 + al, sig, gl);
		ike_cred_free(c);

		k = d2i_AutoPrivateKey(NULL, &q, (long)kl);
		CHECK(k && EVP_PKEY_get_raw_public_key(k, raw, &rawlen) == 1);
		CHECK_MEM(raw, pk, pl);
		x = certs_make(&(struct certs_spec){ .cn = "rfc8032", .key = k });
		cert = parse_x509(x);
		len = auth_data(auth, algid, al, sig, gl);
		CHECK_INT(ike_auth_verify(cert, 14, auth, len, msg, ml, &why), 0);
		auth[len - 5] ^= 0x10;
		CHECK_INT(ike_auth_verify(cert, 14, auth, len, msg, ml, &why), -EBADMSG);
		ike_cert_free(cert);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	bufs_free();
}

static void test_hash_notify(void)
{
	uint8_t buf[16];
	size_t len = sizeof(buf);
	uint32_t mask = 0;

	CHECK_INT(ike_sig_hashes_build(buf, &len), 0);
	CHECK_INT(len, 8);
	CHECK_INT(ike_sig_hashes_parse(buf, len, &mask), 0);
	CHECK_INT(mask, IKE_SIG_HASHES_OURS);
	CHECK_INT(ike_sig_hashes_parse((const uint8_t *)"\x00\x01\x00\x02\xff\xff", 6, &mask), 0);
	CHECK_INT(mask, H(SHA1) | H(SHA2_256));
	CHECK_INT(ike_sig_hashes_parse(buf, 3, &mask), -EINVAL);
	CHECK_INT(ike_sig_hashes_parse(buf, 0, &mask), -EINVAL);
	len = 7;
	CHECK_INT(ike_sig_hashes_build(buf, &len), -ENOSPC);
}

static void test_signatures(void)
{
	struct signer rsa = signer_new(certs_key("RSA", NULL, 2048));
	struct signer ec = signer_new(certs_key("EC", "P-256", 0));

	test_algid_encodings();
	test_sign_rsa(&rsa);
	test_sign_ecdsa();
	test_sign_eddsa();
	test_legacy_rsa(&rsa, &ec);
	test_hostile_auth(&rsa, &ec);
	test_rfc8032();
	test_hash_notify();
	signer_free(&rsa);
	signer_free(&ec);
}

int main(void)
{
	pki_setup();
	test_load();
	test_encrypted_key();
	test_weak_keys();
	test_hostile_der();
	test_validate();
	test_usage();
	test_name_constraints();
	test_chain_length();
	test_chain_loop();
	test_ca_constraints();
	test_crl();
	test_trust_load();
	test_certreq_match();
	test_id_binding();
	test_id_match();
	test_signatures();
	pki_teardown();
	return check_done("cert");
}
