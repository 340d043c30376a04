/* SPDX-License-Identifier: ISC */
/*
 * Hostile credentials: a peer that completes IKE_SA_INIT and then sends an
 * IKE_AUTH request of its own making (world_forge, sealed with the SA's
 * real keys), each carrying one credential that must not pass:
 *
 *   garbage CERT data, a real certificate of about 60 KB, RSA keys with
 *   e = 1, e = 3 and a 512-bit modulus (certificates issued by the trusted
 *   root), a chain that loops (A issues B issues A), 20 intermediates, an
 *   RSASSA-PSS AUTH with an absurd salt length, an AUTH whose signature has
 *   the wrong length, a CERT of an unknown encoding, hash-and-URL CERTs
 *   (encodings 12 and 13) that we never fetch, and a CERTREQ of garbage
 *   hashes beside them.
 *
 * Each must end in AUTHENTICATION_FAILED for the right reason (the event's
 * reason names the check that refused it), no IKE SA up and nothing in the
 * kernel on either side, in bounded time (the case's CPU time is measured:
 * no chain walk that takes seconds), under the sanitizers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "certs.h"
#include "check.h"
#include "ike/cert.h"
#include "ike/engine.h"
#include "ike/ikev2.h"
#include "ike/payload.h"
#include "ike/proposal.h"
#include "world.h"

#define IKE "aes128gcm16-prfsha256-x25519"
#define ESP "aes128gcm16"
#define MAX_CERTS 24

static const char *const names[2] = {"gw0.example.org", "gw1.example.org"};

static EVP_PKEY *root_key;
static X509 *root;

/* One hostile IKE_AUTH request: what goes into it. */
struct forged {
	struct {
		uint8_t enc;
		uint8_t *data;
		size_t len;
	} cert[MAX_CERTS];
	size_t n_cert;
	uint8_t auth_method;
	uint8_t auth[1024];
	size_t auth_len;
	const uint8_t *certreq;
	size_t certreq_len;
};

static void forged_free(struct forged *f)
{
	for (size_t i = 0; i < f->n_cert; i++)
		free(f->cert[i].data);
	memset(f, 0, sizeof(*f));
}

static void add_cert(struct forged *f, uint8_t enc, uint8_t *data, size_t len)
{
	f->cert[f->n_cert].enc = enc;
	f->cert[f->n_cert].data = data;
	f->cert[f->n_cert].len = len;
	f->n_cert++;
}

static void add_x509(struct forged *f, X509 *x)
{
	size_t len;
	uint8_t *der = certs_der(x, &len);

	add_cert(f, IKEV2_CERT_X509_SIGNATURE, der, len);
}

/* sha256WithRSAEncryption (RFC 7427 Appendix A.1.2). */
static const uint8_t alg_rsa_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};

/*
 * RSASSA-PSS with SHA-256 and MGF1-SHA-256 (RFC 7427 Appendix A.4.3) but a
 * saltLength of 2^31 - 1: longer than any modulus.
 */
static const uint8_t alg_pss_absurd[] = {
	0x30, 0x44, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
	0x30, 0x37,
	0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x01, 0x05, 0x00,
	0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00,
	0xa2, 0x06, 0x02, 0x04, 0x7f, 0xff, 0xff, 0xff,
};

/* Method 14 AUTH data: length, AlgorithmIdentifier, then sig_len octets of 0x5a. */
static void set_auth14(struct forged *f, const uint8_t *alg, size_t alg_len, size_t sig_len)
{
	f->auth_method = IKEV2_AUTH_DIGITAL_SIGNATURE;
	f->auth[0] = (uint8_t)alg_len;
	memcpy(f->auth + 1, alg, alg_len);
	memset(f->auth + 1 + alg_len, 0x5a, sig_len);
	f->auth_len = 1 + alg_len + sig_len;
}

static void build_auth(struct ike_mb *mb, void *ctx)
{
	const struct forged *f = ctx;
	struct ike_proposal esp[1];
	struct xk_ts tsi, tsr;
	char err[64];

	ike_mb_id(mb, IKEV2_PL_IDI, IKEV2_ID_FQDN, (const uint8_t *)names[0], strlen(names[0]));
	for (size_t i = 0; i < f->n_cert; i++)
		ike_mb_cert(mb, IKEV2_PL_CERT, f->cert[i].enc, f->cert[i].data, f->cert[i].len);
	if (f->certreq)
		ike_mb_cert(mb, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIGNATURE, f->certreq,
			    f->certreq_len);
	ike_mb_auth(mb, f->auth_method, f->auth, f->auth_len);
	CHECK(ike_proposals_parse(ESP, IKEV2_PROTO_ESP, esp, 1, err, sizeof(err)) == 1);
	ike_mb_sa(mb, esp, 1);
	xk_ts_parse("192.0.2.1/32", &tsi);
	xk_ts_parse("192.0.2.2/32", &tsr);
	ike_mb_ts(mb, IKEV2_PL_TSI, &tsi, 1);
	ike_mb_ts(mb, IKEV2_PL_TSR, &tsr, 1);
}

/* The responder (peer 1): its own certificate, the root, peer 0's name expected. */
static struct ike_cred *resp_cred;
static struct ike_trust *resp_trust;

static void edit_responder(struct ike_conn_cfg *c, void *ctx)
{
	(void)ctx;
	c->local_auth = IKE_AUTH_PUBKEY;
	c->remote_auth = IKE_AUTH_PUBKEY;
	c->cred = resp_cred;
	c->trust = resp_trust;
	c->send_cert = IKE_SEND_CERT_ALWAYS;
	ike_id_parse(names[1], &c->local_id);
	ike_id_parse(names[0], &c->remote_id);
}

/* The initiator's own (PSK) side only gets it through IKE_SA_INIT. */
static void edit_initiator(struct ike_conn_cfg *c, void *ctx)
{
	(void)ctx;
	c->local_auth = IKE_AUTH_PSK;
	c->remote_auth = IKE_AUTH_PSK;
	ike_id_parse(names[0], &c->local_id);
}

static void responder_init(void)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	X509 *ee = certs_make(&(struct certs_spec){.cn = names[1], .key = k, .issuer = root,
						   .ikey = root_key, .san = "DNS:gw1.example.org"});
	const char *why = NULL;
	size_t len;
	uint8_t *b = certs_key_der(k, &len);

	CHECK_MSG(ike_cred_new(b, len, &resp_cred, &why) == 0, "%s", why ? why : "");
	free(b);
	b = certs_pem(ee, &len);
	CHECK_MSG(ike_cred_add_certs(resp_cred, b, len, &why) == 0, "%s", why ? why : "");
	free(b);
	resp_trust = ike_trust_new();
	b = certs_der(root, &len);
	CHECK_INT(ike_trust_add_ca(resp_trust, b, len, &why), 0);
	free(b);
	X509_free(ee);
	EVP_PKEY_free(k);
}

/* One file of the fuzz_cert corpus (its format is in tests/fuzz/fuzz_cert.c). */
static void seed_write(const char *dir, const char *what, const char *kind, const uint8_t *b,
		       size_t len)
{
	char path[512], slug[64];
	size_t o = 0;
	FILE *fp;

	for (const char *p = what; *p && o + 1 < sizeof(slug); p++)
		slug[o++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p
				   : (*p >= 'A' && *p <= 'Z')			 ? *p - 'A' + 'a'
									 : '-');
	slug[o] = '\0';
	snprintf(path, sizeof(path), "%s/hostile-%s-%s", dir, slug, kind);
	fp = fopen(path, "wb");
	if (!fp || fwrite(b, 1, len, fp) != len)
		fprintf(stderr, "cannot write %s\n", path);
	if (fp)
		fclose(fp);
}

/*
 * With XIKE_CERT_SEEDS=DIR, each case also becomes seeds of fuzz_cert:
 * mode 1 (its X.509 CERTs as [length | DER]...), mode 0 (its AUTH data
 * against the RSA key) and, with a CERTREQ, mode 2.
 */
static void seeds(const char *what, const struct forged *f)
{
	const char *dir = getenv("XIKE_CERT_SEEDS");
	uint8_t *b;
	size_t o = 1;

	if (!dir)
		return;
	b = malloc(1 << 17);
	b[0] = 1;
	for (size_t i = 0; i < f->n_cert; i++) {
		if (f->cert[i].enc != IKEV2_CERT_X509_SIGNATURE || o + 2 + f->cert[i].len > 16384)
			continue;
		b[o++] = (uint8_t)(f->cert[i].len >> 8);
		b[o++] = (uint8_t)f->cert[i].len;
		memcpy(b + o, f->cert[i].data, f->cert[i].len);
		o += f->cert[i].len;
	}
	if (o > 1)
		seed_write(dir, what, "certs", b, o);
	b[0] = 0;
	b[1] = 0;
	b[2] = f->auth_method;
	memcpy(b + 3, f->auth, f->auth_len);
	seed_write(dir, what, "auth", b, 3 + f->auth_len);
	if (f->certreq) {
		b[0] = 2;
		b[1] = 0;
		memcpy(b + 2, f->certreq, f->certreq_len);
		seed_write(dir, what, "certreq", b, 2 + f->certreq_len);
	}
	free(b);
}

/*
 * Run one case: IKE_SA_INIT between the engines, peer 0's own IKE_AUTH
 * taken off the wire, the forged one delivered instead.
 */
static void run_case(const char *what, struct forged *f, const char *reason)
{
	struct ike_engine_cfg cfg;
	struct world w;
	const struct ike_event *ev;
	bool held = false;
	clock_t t0 = clock();
	double cpu;
	int r;

	seeds(what, f);
	ike_engine_cfg_defaults(&cfg);
	world_init(&w, &cfg, &cfg, false);
	w.wall = CERTS_NOW;
	CHECK_INT(world_conn_edit(&w, 0, "c", IKE, ESP, "unused psk of some length", false,
				  edit_initiator, NULL), 0);
	CHECK_INT(world_conn_edit(&w, 1, "c", IKE, ESP, NULL, true, edit_responder, NULL), 0);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	for (unsigned guard = 0; guard < 16 && w.q_len; guard++) {
		struct w_pkt *p = w.q[0];

		/* Exchange type: octet 18 of the IKE header (RFC 7296 3.1). */
		if (p->to == 1 && p->len > 18 && p->buf[18] == IKEV2_EXCH_IKE_AUTH) {
			free(world_take(&w, 0));
			held = true;
			break;
		}
		world_deliver(&w, 0);
	}
	CHECK_MSG(held, "%s: no IKE_AUTH from the initiator", what);
	r = world_forge(&w, 0, world_sa_spi(&w.p[0]), IKEV2_EXCH_IKE_AUTH, false, 1, build_auth,
			f);
	CHECK_MSG(r == 0, "%s: forge: %d", what, r);
	world_run(&w, 10000);
	cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;

	ev = world_event(&w.p[1], IKE_EV_AUTH_FAILED);
	CHECK_MSG(ev != NULL, "%s: the responder did not refuse the AUTH", what);
	if (ev && reason)
		CHECK_MSG(ev->reason && strstr(ev->reason, reason), "%s: reason '%s', not '%s'",
			  what, ev->reason ? ev->reason : "(none)", reason);
	/* The initiator heard AUTHENTICATION_FAILED. */
	CHECK_MSG(world_events(&w.p[0], IKE_EV_AUTH_FAILED) >= 1, "%s: initiator not told", what);
	for (int i = 0; i < 2; i++) {
		CHECK_MSG(world_events(&w.p[i], IKE_EV_IKE_UP) == 0, "%s: peer %d up", what, i);
		CHECK_MSG(w.p[i].k.n_sas == 0, "%s: peer %d has %zu SAs installed", what, i,
			  w.p[i].k.n_sas);
	}
	/* Generous for a loaded machine under the sanitizers; a chain walk gone
	 * wrong takes far more. */
	CHECK_MSG(cpu < 5.0, "%s: %.2f s of CPU", what, cpu);
	printf("%-34s refused in %.3f s: %s\n", what, cpu, ev && ev->reason ? ev->reason : "?");
	world_free(&w);
	forged_free(f);
}

/* An end-entity certificate for peer 0's name with key k, issued by issuer/ikey. */
static X509 *ee_for(EVP_PKEY *k, X509 *issuer, EVP_PKEY *ikey, const char *san)
{
	return certs_make(&(struct certs_spec){.cn = names[0], .key = k, .issuer = issuer,
					       .ikey = ikey, .san = san ? san : "DNS:gw0.example.org",
					       .ku = "critical,digitalSignature"});
}

/* An RSA public key with e = 1 (no generator makes one): n of a real key. */
static EVP_PKEY *rsa_pub_e1(void)
{
	EVP_PKEY *real = certs_key("RSA", NULL, 2048), *k = NULL;
	BIGNUM *n = NULL, *e = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);

	if (EVP_PKEY_get_bn_param(real, OSSL_PKEY_PARAM_RSA_N, &n) && e && BN_set_word(e, 1) &&
	    bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && ctx && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(real);
	if (!k) {
		fprintf(stderr, "cannot make an RSA key with e = 1\n");
		exit(2);
	}
	return k;
}

static void test_garbage_cert(void)
{
	struct forged f = {0};
	uint8_t *g = malloc(300);

	for (size_t i = 0; i < 300; i++)
		g[i] = (uint8_t)(i * 37 + 11);
	add_cert(&f, IKEV2_CERT_X509_SIGNATURE, g, 300);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 256);
	run_case("garbage CERT", &f, "malformed certificate");

	/* A DER SEQUENCE header claiming more than follows. */
	g = malloc(8);
	memcpy(g, (const uint8_t[]){0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00}, 8);
	add_cert(&f, IKEV2_CERT_X509_SIGNATURE, g, 8);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 256);
	run_case("truncated DER length", &f, "malformed certificate");
}

/* A real certificate of about 60 KB (900 names): larger than any we take. */
static void test_big_cert(void)
{
	struct forged f = {0};
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	char *san = malloc(900 * 66 + 64), *p = san;
	X509 *ee;

	p += sprintf(p, "DNS:gw0.example.org");
	for (int i = 0; i < 900; i++)
		p += sprintf(p, ",DNS:host%04d.a-rather-long-subdomain-name-to-pad.example.org", i);
	ee = ee_for(k, root, root_key, san);
	add_x509(&f, ee);
	CHECK_MSG(f.cert[0].len > 50000 && f.cert[0].len < 65000, "size %zu", f.cert[0].len);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 256);
	run_case("60 KB certificate", &f, "certificate too large");
	X509_free(ee);
	EVP_PKEY_free(k);
	free(san);
}

/* Weak RSA keys in certificates the trusted root issued. */
static void test_weak_rsa(void)
{
	static const struct {
		const char *what, *reason;
		int kind; /* 0 e = 1, 1 e = 3, 2 512 bits */
	} weak[] = {
		{"RSA e = 1", "RSA public exponent below 65537", 0},
		{"RSA e = 3", "RSA public exponent below 65537", 1},
		{"RSA 512-bit modulus", "RSA key shorter than 2048 bits", 2},
	};

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		struct forged f = {0};
		EVP_PKEY *k = weak[i].kind == 0 ? rsa_pub_e1()
			      : weak[i].kind == 1 ? certs_rsa_e(2048, 3)
						  : certs_rsa_e(512, 65537);
		X509 *ee = ee_for(k, root, root_key, NULL);

		add_x509(&f, ee);
		set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256),
			   (size_t)EVP_PKEY_get_size(k));
		run_case(weak[i].what, &f, weak[i].reason);
		X509_free(ee);
		EVP_PKEY_free(k);
	}
}

/* A issues B issues A; the end-entity under A; neither chains to the root. */
static void test_loop(void)
{
	struct forged f = {0};
	EVP_PKEY *ka = certs_key("EC", "P-256", 0), *kb = certs_key("EC", "P-256", 0);
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	X509 *a0 = certs_ca("loop A", ka, NULL, NULL);
	X509 *b = certs_ca("loop B", kb, a0, ka);
	X509 *a = certs_ca("loop A", ka, b, kb);
	X509 *ee = ee_for(k, a, ka, NULL);

	add_x509(&f, ee);
	add_x509(&f, a);
	add_x509(&f, b);
	add_x509(&f, a0);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 64);
	run_case("chain loop A->B->A", &f, "unknown CA");

	X509_free(ee);
	X509_free(a);
	X509_free(b);
	X509_free(a0);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	EVP_PKEY_free(k);
}

/* root -> i1 -> ... -> i20 -> end-entity, all sent. */
static void test_long_chain(void)
{
	struct forged f = {0};
	EVP_PKEY *keys[21];
	X509 *ca[21], *ee;

	keys[0] = root_key;
	ca[0] = root;
	for (int i = 1; i <= 20; i++) {
		char cn[32];

		snprintf(cn, sizeof(cn), "intermediate %d", i);
		keys[i] = certs_key("EC", "P-256", 0);
		ca[i] = certs_ca(cn, keys[i], ca[i - 1], keys[i - 1]);
	}
	{
		EVP_PKEY *k = certs_key("EC", "P-256", 0);

		ee = ee_for(k, ca[20], keys[20], NULL);
		EVP_PKEY_free(k);
	}
	add_x509(&f, ee);
	for (int i = 20; i >= 1; i--)
		add_x509(&f, ca[i]);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 64);
	run_case("20 intermediates", &f, "too many CERT payloads");
	X509_free(ee);
	for (int i = 1; i <= 20; i++) {
		X509_free(ca[i]);
		EVP_PKEY_free(keys[i]);
	}
}

/* A good RSA-2048 certificate, and AUTH data that is not a signature of it. */
static void test_bad_auth(void)
{
	EVP_PKEY *k = certs_key("RSA", NULL, 2048);
	X509 *ee = ee_for(k, root, root_key, NULL);
	struct forged f = {0};

	add_x509(&f, ee);
	set_auth14(&f, alg_pss_absurd, sizeof(alg_pss_absurd), 256);
	run_case("PSS salt length 2^31-1", &f, "salt length");

	add_x509(&f, ee);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 100);
	run_case("signature of the wrong length", &f, "signature does not verify");

	add_x509(&f, ee);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 0);
	run_case("empty signature", &f, "too short");

	/* The AlgorithmIdentifier's length octet says more than there is. */
	add_x509(&f, ee);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 0);
	f.auth[0] = 200;
	run_case("AlgorithmIdentifier overrun", &f, "too short");

	/* A garbage CERTREQ beside a good certificate and a bad signature. */
	static const uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
	add_x509(&f, ee);
	f.certreq = junk;
	f.certreq_len = sizeof(junk);
	set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 256);
	run_case("CERTREQ of garbage hashes", &f, "signature does not verify");
	X509_free(ee);
	EVP_PKEY_free(k);
}

/* Encodings we do not take: unknown (201), hash and URL (12, 13; RFC 7296 3.6). */
static void test_encodings(void)
{
	static const struct {
		uint8_t enc;
		const char *what;
	} encs[] = {
		{201, "CERT encoding 201"},
		{12, "hash and URL of X.509 (12)"},
		{13, "hash and URL of a bundle (13)"},
		{1, "PKCS #7 wrapped (1)"},
	};
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	X509 *ee = ee_for(k, root, root_key, NULL);

	for (size_t i = 0; i < sizeof(encs) / sizeof(encs[0]); i++) {
		struct forged f = {0};
		static const char url[] = "http://192.0.2.1/cert.der";
		uint8_t *d = malloc(20 + sizeof(url));

		memset(d, 0xab, 20);
		memcpy(d + 20, url, sizeof(url) - 1);
		add_cert(&f, encs[i].enc, d, 20 + sizeof(url) - 1);
		set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 64);
		run_case(encs[i].what, &f, "not an X.509 certificate");

		/* The same before a good X.509 CERT: the first is the peer's. */
		d = malloc(20 + sizeof(url));
		memset(d, 0xab, 20);
		memcpy(d + 20, url, sizeof(url) - 1);
		add_cert(&f, encs[i].enc, d, 20 + sizeof(url) - 1);
		add_x509(&f, ee);
		set_auth14(&f, alg_rsa_sha256, sizeof(alg_rsa_sha256), 64);
		run_case(encs[i].what, &f, "not an X.509 certificate");
	}
	X509_free(ee);
	EVP_PKEY_free(k);
}

int main(void)
{
	root_key = certs_key("EC", "P-256", 0);
	root = certs_ca("xike hostile test root", root_key, NULL, NULL);
	responder_init();
	test_garbage_cert();
	test_big_cert();
	test_weak_rsa();
	test_loop();
	test_long_chain();
	test_bad_auth();
	test_encodings();
	ike_cred_free(resp_cred);
	ike_trust_free(resp_trust);
	X509_free(root);
	EVP_PKEY_free(root_key);
	return check_done("certhostile");
}
