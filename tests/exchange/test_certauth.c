/* SPDX-License-Identifier: ISC */
/*
 * IKE_AUTH with certificates between two engines: a PKI made in the test
 * (certs.h), every key type signing and verifying in both roles, a chain
 * through an intermediate CA, and each way a certificate must be refused
 * (expired, not yet valid, revoked by a CRL, another CA, an ID it does not
 * carry, a key usage without digitalSignature, no certificate sent): the
 * verifying side says AUTHENTICATION_FAILED and neither side keeps
 * anything installed.  Then a PSK on one side and a signature on the
 * other, allowed when configured so and refused when the method differs.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "certs.h"
#include "check.h"
#include "ike/cert.h"
#include "ike/engine.h"
#include "ike/ocsp.h"
#include "ike/payload.h"
#include "world.h"

#define IKE "aes128gcm16-prfsha256-x25519"
#define ESP "aes128gcm16"
#define PSK "a shared secret of some length"

static const char *const names[2] = {"gw0.example.org", "gw1.example.org"};

/* The PKI: a root, an intermediate under it, and a root nobody trusts. */
struct pki {
	EVP_PKEY *root_key, *int_key, *other_key;
	X509 *root, *inter, *other;
};

/* One peer's side of a test: its certificate and what it trusts. */
struct side {
	int idx;
	struct ike_cred *cred;
	struct ike_trust *trust;
	enum ike_auth_method local, remote;
	enum ike_send_cert send;
	const char *remote_id;
	enum ike_revocation_policy rev;
	bool ocsp_uri;
};

static struct pki pki;

static void pki_init(void)
{
	pki.root_key = certs_key("EC", "P-256", 0);
	pki.int_key = certs_key("EC", "P-256", 0);
	pki.other_key = certs_key("EC", "P-256", 0);
	pki.root = certs_ca("xike test root", pki.root_key, NULL, NULL);
	pki.inter = certs_ca("xike test intermediate", pki.int_key, pki.root, pki.root_key);
	pki.other = certs_ca("another root", pki.other_key, NULL, NULL);
}

static void pki_free(void)
{
	X509_free(pki.root);
	X509_free(pki.inter);
	X509_free(pki.other);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.int_key);
	EVP_PKEY_free(pki.other_key);
}

/* How a certificate deviates from a good one. */
enum flaw {
	FLAW_NONE,
	FLAW_EXPIRED,
	FLAW_NOT_YET,
	FLAW_REVOKED,
	FLAW_WRONG_CA,
	FLAW_OTHER_ID,
	FLAW_KEY_USAGE,
	FLAW_INTERMEDIATE, /* no flaw: issued by the intermediate CA */
	FLAW_INTER_AIA,    /* the same, naming an OCSP responder (AIA) */
};

#define REVOKED_SERIAL 77

static X509 *make_ee(int idx, EVP_PKEY *key, enum flaw f)
{
	char san[64];
	struct certs_spec s = {
		.cn = names[idx],
		.key = key,
		.issuer = pki.root,
		.ikey = pki.root_key,
		.ku = "critical,digitalSignature",
		.san = san,
		.serial = 10 + idx,
	};

	snprintf(san, sizeof(san), "DNS:%s", f == FLAW_OTHER_ID ? "other.example.org" : names[idx]);
	if (f == FLAW_EXPIRED) {
		s.from = -30 * CERTS_DAY;
		s.to = -CERTS_DAY;
	} else if (f == FLAW_NOT_YET) {
		s.from = CERTS_DAY;
		s.to = 365 * CERTS_DAY;
	} else if (f == FLAW_REVOKED) {
		s.serial = REVOKED_SERIAL;
	} else if (f == FLAW_WRONG_CA) {
		s.issuer = pki.other;
		s.ikey = pki.other_key;
	} else if (f == FLAW_KEY_USAGE) {
		s.ku = "critical,keyEncipherment,dataEncipherment";
	} else if (f == FLAW_INTERMEDIATE || f == FLAW_INTER_AIA) {
		s.issuer = pki.inter;
		s.ikey = pki.int_key;
		if (f == FLAW_INTER_AIA)
			s.aia = "OCSP;URI:http://192.0.2.9:2560/";
	}
	return certs_make(&s);
}

static void append_pem(uint8_t **buf, size_t *len, X509 *x)
{
	size_t n;
	uint8_t *pem = certs_pem(x, &n);

	*buf = realloc(*buf, *len + n);
	memcpy(*buf + *len, pem, n);
	*len += n;
	free(pem);
}

/* Our credential: the key, its certificate, the intermediate if it chains through it. */
static struct ike_cred *make_cred(int idx, EVP_PKEY *key, enum flaw f)
{
	struct ike_cred *c = NULL;
	const char *why = NULL;
	uint8_t *kpem, *bundle = NULL;
	size_t klen, blen = 0;
	X509 *ee = make_ee(idx, key, f);

	kpem = certs_key_pem(key, &klen);
	CHECK_MSG(ike_cred_new(kpem, klen, &c, &why) == 0, "cred: %s", why ? why : "");
	append_pem(&bundle, &blen, ee);
	if (f == FLAW_INTERMEDIATE || f == FLAW_INTER_AIA)
		append_pem(&bundle, &blen, pki.inter);
	if (c)
		CHECK_MSG(ike_cred_add_certs(c, bundle, blen, &why) == 0, "certs: %s",
			  why ? why : "");
	free(kpem);
	free(bundle);
	X509_free(ee);
	return c;
}

/* The root, with a CRL revoking REVOKED_SERIAL. */
static struct ike_trust *make_trust(void)
{
	struct ike_trust *t = ike_trust_new();
	const char *why = NULL;
	long serial = REVOKED_SERIAL;
	X509_CRL *crl = certs_crl(pki.root, pki.root_key, &serial, 1, 30 * CERTS_DAY);
	size_t len;
	uint8_t *der = certs_der(pki.root, &len);

	CHECK_INT(ike_trust_add_ca(t, der, len, &why), 0);
	free(der);
	der = certs_crl_der(crl, &len);
	CHECK_INT(ike_trust_add_crl(t, der, len, &why), 0);
	free(der);
	X509_CRL_free(crl);
	return t;
}

static void edit(struct ike_conn_cfg *c, void *ctx)
{
	const struct side *s = ctx;

	c->local_auth = s->local;
	c->remote_auth = s->remote;
	c->cred = s->cred;
	c->trust = s->trust;
	c->send_cert = s->send;
	c->revocation = s->rev;
	c->ocsp_uri = s->ocsp_uri;
	/* Certificates name FQDNs, not addresses. */
	ike_id_parse(names[s->idx], &c->local_id);
	if (s->remote_id)
		ike_id_parse(s->remote_id, &c->remote_id);
}

struct outcome {
	size_t up[2], child_up[2], auth_failed[2];
	bool empty[2];
};

/* Peer `init` initiates; the world runs until quiet. */
static struct outcome run(struct side sides[2], int init)
{
	struct world w;
	struct ike_engine_cfg cfg;
	struct outcome o;

	ike_engine_cfg_defaults(&cfg);
	world_init(&w, &cfg, &cfg, false);
	w.wall = CERTS_NOW;
	for (int i = 0; i < 2; i++)
		CHECK_INT(world_conn_edit(&w, i, "c", IKE, ESP,
					  sides[i].local == IKE_AUTH_PSK ||
							  sides[i].remote == IKE_AUTH_PSK ?
						  PSK :
						  NULL,
					  false, edit, &sides[i]),
			  0);
	CHECK_INT(ike_engine_initiate(w.p[init].e, "c", NULL), 0);
	world_run(&w, 60000);
	for (int i = 0; i < 2; i++) {
		o.up[i] = world_events(&w.p[i], IKE_EV_IKE_UP);
		o.child_up[i] = world_events(&w.p[i], IKE_EV_CHILD_UP);
		o.auth_failed[i] = world_events(&w.p[i], IKE_EV_AUTH_FAILED);
		o.empty[i] = w.p[i].k.n_sas == 0;
	}
	/* Established: both hold the same two ESP SAs, keys and all. */
	if (o.child_up[0] && o.child_up[1]) {
		CHECK_INT(w.p[0].k.n_sas, 2);
		CHECK_INT(w.p[1].k.n_sas, 2);
		for (size_t n = 0; n < w.p[0].k.n_sas; n++) {
			const struct xk_sa *a = &w.p[0].k.sas[n];
			const struct xk_sa *b = fake_kernel_find(&w.p[1].k, a->spi);

			CHECK(b && a->enc_key_len == b->enc_key_len &&
			      memcmp(a->enc_key, b->enc_key, a->enc_key_len) == 0);
		}
	}
	world_free(&w);
	return o;
}

static void sides_free(struct side sides[2])
{
	for (int i = 0; i < 2; i++) {
		ike_cred_free(sides[i].cred);
		ike_trust_free(sides[i].trust);
	}
}

static void sides_cert(struct side sides[2], EVP_PKEY *k0, EVP_PKEY *k1, enum flaw f0,
		       enum flaw f1)
{
	for (int i = 0; i < 2; i++)
		sides[i] = (struct side){
			.idx = i,
			.cred = make_cred(i, i ? k1 : k0, i ? f1 : f0),
			.trust = make_trust(),
			.local = IKE_AUTH_PUBKEY,
			.remote = IKE_AUTH_PUBKEY,
			.remote_id = names[1 - i],
		};
}

static void expect_up(const struct outcome *o, const char *what)
{
	for (int i = 0; i < 2; i++) {
		CHECK_MSG(o->up[i] == 1 && o->child_up[i] == 1 && o->auth_failed[i] == 0,
			  "%s: peer %d up %zu child %zu auth_failed %zu", what, i, o->up[i],
			  o->child_up[i], o->auth_failed[i]);
	}
}

/* `verifier` refused the other's authentication; nothing stays anywhere. */
static void expect_refused(const struct outcome *o, int verifier, const char *what)
{
	CHECK_MSG(o->auth_failed[verifier] >= 1, "%s: peer %d did not fail the AUTH", what,
		  verifier);
	/* ... and the other side heard so (a notify in IKE_AUTH or INFORMATIONAL). */
	CHECK_MSG(o->auth_failed[1 - verifier] >= 1, "%s: peer %d was not told", what,
		  1 - verifier);
	for (int i = 0; i < 2; i++)
		CHECK_MSG(o->up[i] == 0 || i != verifier, "%s: peer %d came up", what, i);
	CHECK_MSG(o->empty[0] && o->empty[1], "%s: SAs left installed (%d/%d)", what,
		  !o->empty[0], !o->empty[1]);
}

/* Every key type signs and verifies, as initiator and as responder. */
static void test_key_types(void)
{
	static const struct {
		const char *type, *curve;
		unsigned bits;
	} kinds[] = {
		{"RSA", NULL, 2048},    {"EC", "P-256", 0}, {"EC", "P-384", 0},
		{"EC", "P-521", 0},     {"ED25519", NULL, 0}, {"ED448", NULL, 0},
	};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		EVP_PKEY *k0 = certs_key(kinds[k].type, kinds[k].curve, kinds[k].bits);
		EVP_PKEY *k1 = certs_key(kinds[k].type, kinds[k].curve, kinds[k].bits);

		for (int init = 0; init < 2; init++) {
			struct side sides[2];
			struct outcome o;
			char what[64];

			snprintf(what, sizeof(what), "%s%s%s, peer %d initiates", kinds[k].type,
				 kinds[k].curve ? " " : "", kinds[k].curve ? kinds[k].curve : "",
				 init);
			sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
			o = run(sides, init);
			expect_up(&o, what);
			sides_free(sides);
		}
		EVP_PKEY_free(k0);
		EVP_PKEY_free(k1);
	}
}

/* A chain through an intermediate CA that only the sender holds. */
static void test_intermediate(void)
{
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-384", 0);

	for (int init = 0; init < 2; init++) {
		struct side sides[2];
		struct outcome o;

		sides_cert(sides, k0, k1, FLAW_INTERMEDIATE, FLAW_INTERMEDIATE);
		o = run(sides, init);
		expect_up(&o, "intermediate");
		sides_free(sides);
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/* Each flaw, on the initiator's certificate and on the responder's. */
static void test_refusals(void)
{
	static const struct {
		enum flaw f;
		const char *name;
	} flaws[] = {
		{FLAW_EXPIRED, "expired"},   {FLAW_NOT_YET, "not yet valid"},
		{FLAW_REVOKED, "revoked"},   {FLAW_WRONG_CA, "wrong CA"},
		{FLAW_OTHER_ID, "ID not in the certificate"},
		{FLAW_KEY_USAGE, "key usage"},
	};
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("ED25519", NULL, 0);

	for (size_t n = 0; n < sizeof(flaws) / sizeof(flaws[0]); n++) {
		for (int bad = 0; bad < 2; bad++) {
			struct side sides[2];
			struct outcome o;
			char what[80];

			snprintf(what, sizeof(what), "%s, on peer %d (the %s)", flaws[n].name, bad,
				 bad ? "responder" : "initiator");
			sides_cert(sides, k0, k1, bad ? FLAW_NONE : flaws[n].f,
				   bad ? flaws[n].f : FLAW_NONE);
			o = run(sides, 0);
			expect_refused(&o, 1 - bad, what);
			sides_free(sides);
		}
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/*
 * The revocation policy on the responder (peer 1) against the
 * initiator's certificate: the root has a CRL (status known), the
 * intermediate none (unknown; an OCSP answer is not fetched yet).
 */
static void test_revocation_policy(void)
{
	static const struct {
		enum flaw f;
		enum ike_revocation_policy rev;
		bool ocsp_uri, up;
		const char *what;
	} t[] = {
		{ FLAW_NONE, IKE_REVOCATION_STRICT, false, true, "strict, CRL settles it" },
		{ FLAW_INTERMEDIATE, IKE_REVOCATION_STRICT, false, false, "strict, no CRL" },
		{ FLAW_INTERMEDIATE, IKE_REVOCATION_IFURI, false, true, "ifuri, no source" },
		{ FLAW_INTERMEDIATE, IKE_REVOCATION_IFURI, true, false, "ifuri, ocsp-uri set" },
		{ FLAW_INTER_AIA, IKE_REVOCATION_IFURI, false, false, "ifuri, AIA in the certificate" },
		{ FLAW_INTER_AIA, IKE_REVOCATION_RELAXED, true, true, "relaxed, unknown" },
		{ FLAW_REVOKED, IKE_REVOCATION_RELAXED, false, false, "relaxed, revoked" },
	};
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-256", 0);

	for (size_t n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
		struct side sides[2];
		struct outcome o;

		sides_cert(sides, k0, k1, t[n].f, FLAW_NONE);
		sides[1].rev = t[n].rev;
		sides[1].ocsp_uri = t[n].ocsp_uri;
		o = run(sides, 0);
		if (t[n].up)
			expect_up(&o, t[n].what);
		else
			expect_refused(&o, 1, t[n].what);
		sides_free(sides);
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/* send_cert: never leaves the peer nothing to verify; ifasked is asked. */
static void test_send_policy(void)
{
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-256", 0);
	struct side sides[2];
	struct outcome o;

	sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
	sides[0].send = sides[1].send = IKE_SEND_CERT_IFASKED;
	o = run(sides, 0);
	expect_up(&o, "ifasked both ways");
	sides_free(sides);

	sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
	sides[0].send = IKE_SEND_CERT_NEVER;
	o = run(sides, 0);
	expect_refused(&o, 1, "initiator never sends its certificate");
	sides_free(sides);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/* Peer 0 initiates; peer's local (or remote) method becomes PSK. */
static const struct {
	int peer;
	bool remote;
	int verifier;
	const char *name;
} wrong[] = {
	{0, false, 1, "initiator uses the PSK where a signature is wanted"},
	{1, true, 1, "initiator signs where the PSK is wanted"},
	{0, true, 0, "responder signs where the PSK is wanted"},
	{1, false, 0, "responder uses the PSK where a signature is wanted"},
};

/* A PSK one way and a signature the other, and methods that do not match. */
static void test_mixed(void)
{
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-256", 0);
	struct side sides[2];
	struct outcome o;

	for (int init = 0; init < 2; init++) {
		/* Peer 0 signs, peer 1 uses the PSK: both configured so. */
		sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
		sides[0].remote = IKE_AUTH_PSK;
		sides[1].local = IKE_AUTH_PSK;
		ike_cred_free(sides[1].cred);
		sides[1].cred = NULL;
		ike_trust_free(sides[0].trust);
		sides[0].trust = NULL;
		o = run(sides, init);
		expect_up(&o, "signature one way, PSK the other");
		sides_free(sides);
	}

	/* One side's method is not what the other expects of it. */
	for (size_t n = 0; n < sizeof(wrong) / sizeof(wrong[0]); n++) {
		sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
		if (wrong[n].remote)
			sides[wrong[n].peer].remote = IKE_AUTH_PSK;
		else
			sides[wrong[n].peer].local = IKE_AUTH_PSK;
		o = run(sides, 0);
		expect_refused(&o, wrong[n].verifier, wrong[n].name);
		sides_free(sides);
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/*
 * A responder with a PSK connection and a signature connection for the
 * same peer picks the one whose method the initiator's AUTH uses.
 */
static void test_pick_by_method(void)
{
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-256", 0);

	for (int signed_ = 0; signed_ < 2; signed_++) {
		struct side sides[2], psk = {.idx = 1, .remote_id = names[0]};
		struct ike_engine_cfg cfg;
		struct world w;

		sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
		ike_engine_cfg_defaults(&cfg);
		world_init(&w, &cfg, &cfg, false);
		w.wall = CERTS_NOW;
		if (!signed_)
			sides[0].local = sides[0].remote = IKE_AUTH_PSK;
		CHECK_INT(world_conn_edit(&w, 0, "c", IKE, ESP, PSK, false, edit, &sides[0]), 0);
		/* The one that should not be picked comes first. */
		for (int n = 0; n < 2; n++) {
			if (n != signed_)
				CHECK_INT(world_conn_edit(&w, 1, "by-psk", IKE, ESP, PSK, false, edit,
							  &psk),
					  0);
			else
				CHECK_INT(world_conn_edit(&w, 1, "by-cert", IKE, ESP, NULL, false,
							  edit, &sides[1]),
					  0);
		}
		CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
		world_run(&w, 60000);
		CHECK_MSG(world_events(&w.p[1], IKE_EV_IKE_UP) == 1 &&
				  world_events(&w.p[0], IKE_EV_CHILD_UP) == 1,
			  "pick by method (%s): not up", signed_ ? "signature" : "PSK");
		{
			const struct ike_event *ev = world_event(&w.p[1], IKE_EV_IKE_UP);

			CHECK_MSG(ev && !strcmp(ev->conn, signed_ ? "by-cert" : "by-psk"),
				  "pick by method: conn %s", ev ? ev->conn : "none");
		}
		world_free(&w);
		sides_free(sides);
	}
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/*
 * The engine holds its own references to a connection's credential and
 * trust: the embedder may drop its own at once (a reload that replaced
 * them) and the SA still signs and verifies with them (a reauthentication
 * from peer 1 after both embedders let go), and a deleted connection's go
 * with its last SA, leaking nothing (LeakSanitizer checks at exit).
 */
static void test_cred_lifetime(void)
{
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("ED25519", NULL, 0);
	struct ike_engine_cfg cfg;
	struct side sides[2];
	struct world w;

	sides_cert(sides, k0, k1, FLAW_NONE, FLAW_NONE);
	ike_engine_cfg_defaults(&cfg);
	world_init(&w, &cfg, &cfg, false);
	w.wall = CERTS_NOW;
	for (int i = 0; i < 2; i++)
		CHECK_INT(world_conn_edit(&w, i, "c", IKE, ESP, NULL, false, edit, &sides[i]), 0);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 60000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 1);

	/* The embedder's references go; the engine's keep the objects alive. */
	sides_free(sides);
	CHECK_INT(ike_engine_reauth(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	world_run(&w, 60000);
	CHECK_MSG(world_events(&w.p[1], IKE_EV_IKE_REAUTHENTICATED) == 1,
		  "reauthentication with the engine's references: %zu",
		  world_events(&w.p[1], IKE_EV_IKE_REAUTHENTICATED));
	CHECK_INT(world_events(&w.p[0], IKE_EV_AUTH_FAILED), 0);
	CHECK_INT(world_events(&w.p[1], IKE_EV_AUTH_FAILED), 0);
	CHECK_INT(world_sa_count(&w.p[0]), 1);

	/* Deleted while its SA lives: the SA keeps the conn, then both go. */
	CHECK_INT(ike_engine_del_conn(w.p[0].e, "c"), 0);
	CHECK_INT(ike_engine_del_conn(w.p[1].e, "c"), 0);
	CHECK_INT(ike_engine_terminate(w.p[0].e, world_sa_spi(&w.p[0])), 0);
	world_run(&w, 60000);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_free(&w);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}


/* ---- OCSP asked during IKE_AUTH (IKE_WORK_OCSP) ---- */

/* How the test's "responder" answers the OCSP works the verifier hands out. */
enum answer {
	ANS_GOOD,
	ANS_REVOKED,
	ANS_UNKNOWN,
	ANS_ERROR, /* tryLater: no status */
	ANS_HOLD,  /* kept by the test, answered later or never */
};

static struct {
	enum answer ans;
	unsigned n_ocsp;             /* OCSP works handed out */
	struct ike_work *held;       /* ANS_HOLD */
	int held_idx;
	bool query_ok;               /* the work named the right issuer and URI */
} oc;

/* A real response from certs_ocsp_response, checked as the daemon would. */
static void ocsp_answer(struct ike_work *wk, int status)
{
	struct ike_der cert, issuer;
	const char *uri, *conn, *why = NULL;
	struct ike_ocsp_result r;
	size_t ilen, rlen;
	uint8_t *ider = certs_der(pki.inter, &ilen), *resp;
	const unsigned char *q;
	X509 *x;
	int err;

	CHECK_INT(ike_work_ocsp_query(wk, &cert, &issuer, &uri, &conn), 0);
	/* The issuer from the validated chain, the certificate's own URI. */
	oc.query_ok = issuer.len == ilen && memcmp(issuer.p, ider, ilen) == 0 &&
		      strcmp(uri, "http://192.0.2.9:2560/") == 0 && strcmp(conn, "c") == 0;
	q = cert.p;
	x = d2i_X509(NULL, &q, (long)cert.len);
	CHECK(x != NULL);
	resp = certs_ocsp_response(
		&(struct certs_ocsp_spec){ .cert = x, .issuer = pki.inter, .signer = pki.inter,
					   .skey = pki.int_key, .status = status, .reason = 1,
					   .this_off = -60, .next_off = 3600,
					   .resp_status = oc.ans == ANS_ERROR ?
							  OCSP_RESPONSE_STATUS_TRYLATER : 0 },
		&rlen);
	err = ike_ocsp_check(&(struct ike_ocsp_query){ .cert = cert, .issuer = issuer }, resp,
			     rlen, CERTS_NOW, &r, &why);
	ike_work_ocsp_answer(wk, err, &r);
	free(resp);
	free(ider);
	X509_free(x);
}

static void ocsp_hook(struct world *w, int idx, struct ike_work *wk)
{
	static const int st[] = { [ANS_GOOD] = V_OCSP_CERTSTATUS_GOOD,
				  [ANS_REVOKED] = V_OCSP_CERTSTATUS_REVOKED,
				  [ANS_UNKNOWN] = V_OCSP_CERTSTATUS_UNKNOWN,
				  [ANS_ERROR] = V_OCSP_CERTSTATUS_GOOD };
	struct w_peer *p = &w->p[idx];

	if (ike_work_kind(wk) == IKE_WORK_OCSP) {
		oc.n_ocsp++;
		if (oc.ans == ANS_HOLD) {
			CHECK(oc.held == NULL);
			oc.held = wk;
			oc.held_idx = idx;
			return;
		}
		/* Answered now, completed by world_run (never from inside submit). */
		ocsp_answer(wk, st[oc.ans]);
	}
	CHECK(p->n_work < W_MAX_WORK);
	p->work[p->n_work++] = wk;
}

/* Peer 0 initiates; `verifier` asks about the other's certificate (AIA, no CRL). */
static void ocsp_world(struct world *w, struct side sides[2], int verifier,
		       enum ike_revocation_policy rev, enum answer ans)
{
	static struct ike_engine_cfg cfg;
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("EC", "P-256", 0);

	memset(&oc, 0, sizeof(oc));
	oc.ans = ans;
	sides_cert(sides, k0, k1, verifier ? FLAW_INTER_AIA : FLAW_NONE,
		   verifier ? FLAW_NONE : FLAW_INTER_AIA);
	sides[verifier].rev = rev;
	ike_engine_cfg_defaults(&cfg);
	world_init(w, &cfg, &cfg, false);
	w->wall = CERTS_NOW;
	w->submit_hook = ocsp_hook;
	world_async(w, 0, &cfg);
	world_async(w, 1, &cfg);
	for (int i = 0; i < 2; i++)
		CHECK_INT(world_conn_edit(w, i, "c", IKE, ESP, NULL, false, edit, &sides[i]), 0);
	CHECK_INT(ike_engine_initiate(w->p[0].e, "c", NULL), 0);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

/* The held work answered good and completed on peer v's engine. */
static void ocsp_release(struct world *w, int v)
{
	ocsp_answer(oc.held, V_OCSP_CERTSTATUS_GOOD);
	ike_engine_complete(w->p[v].e, oc.held);
	oc.held = NULL;
}

static struct outcome ocsp_outcome(struct world *w)
{
	struct outcome o;

	for (int i = 0; i < 2; i++) {
		o.up[i] = world_events(&w->p[i], IKE_EV_IKE_UP);
		o.child_up[i] = world_events(&w->p[i], IKE_EV_CHILD_UP);
		o.auth_failed[i] = world_events(&w->p[i], IKE_EV_AUTH_FAILED);
		o.empty[i] = w->p[i].k.n_sas == 0;
	}
	return o;
}

/* Each answer under each policy, the responder and then the initiator asking. */
static void test_ocsp_answers(void)
{
	static const struct {
		enum answer ans;
		enum ike_revocation_policy rev;
		bool up;
	} t[] = {
		{ ANS_GOOD, IKE_REVOCATION_STRICT, true },
		{ ANS_GOOD, IKE_REVOCATION_IFURI, true },
		{ ANS_GOOD, IKE_REVOCATION_RELAXED, true },
		{ ANS_REVOKED, IKE_REVOCATION_STRICT, false },
		{ ANS_REVOKED, IKE_REVOCATION_IFURI, false },
		{ ANS_REVOKED, IKE_REVOCATION_RELAXED, false },
		{ ANS_UNKNOWN, IKE_REVOCATION_STRICT, false },
		{ ANS_UNKNOWN, IKE_REVOCATION_IFURI, false },
		{ ANS_UNKNOWN, IKE_REVOCATION_RELAXED, true },
		{ ANS_ERROR, IKE_REVOCATION_STRICT, false },
		{ ANS_ERROR, IKE_REVOCATION_IFURI, false },
		{ ANS_ERROR, IKE_REVOCATION_RELAXED, true },
	};
	static const char *const an[] = { "good", "revoked", "unknown", "error" };

	for (int v = 1; v >= 0; v--) {
		for (size_t n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
			static struct world w;
			struct side sides[2];
			struct outcome o;
			char what[96];

			snprintf(what, sizeof(what), "OCSP %s, %s, %s asks", an[t[n].ans],
				 ike_revocation_policy_name(t[n].rev), v ? "responder" : "initiator");
			ocsp_world(&w, sides, v, t[n].rev, t[n].ans);
			world_run(&w, 60000);
			o = ocsp_outcome(&w);
			CHECK_MSG(oc.n_ocsp == 1, "%s: %u OCSP works", what, oc.n_ocsp);
			CHECK_MSG(oc.query_ok, "%s: wrong issuer, URI or conn in the work", what);
			if (t[n].up)
				expect_up(&o, what);
			else
				expect_refused(&o, v, what);
			world_free(&w);
			sides_free(sides);
		}
	}
}

/*
 * The answer held back: the peer's retransmissions meanwhile are dropped
 * (no second OCSP work, no answer to the request, nothing installed),
 * and the exchange goes on once it comes.
 */
static void test_ocsp_retransmit(void)
{
	for (int v = 1; v >= 0; v--) {
		static struct world w;
		struct side sides[2];
		struct ike_stats s;
		struct outcome o;
		const char *what = v ? "responder waits" : "initiator waits";

		ocsp_world(&w, sides, v, IKE_REVOCATION_STRICT, ANS_HOLD);
		/* Run past two retransmissions of IKE_AUTH (4 s, then 7.2 s). */
		world_run(&w, 12000);
		CHECK_MSG(oc.held != NULL, "%s: no OCSP work", what);
		if (!oc.held) {
			world_free(&w);
			sides_free(sides);
			continue;
		}
		ike_engine_stats(w.p[0].e, &s);
		CHECK_MSG(s.retransmits >= 2, "%s: %llu retransmits", what,
			  (unsigned long long)s.retransmits);
		o = ocsp_outcome(&w);
		CHECK_MSG(o.up[v] == 0 && o.empty[v], "%s: up before the answer", what);
		/* The copies that came meanwhile were dropped, not processed. */
		ike_engine_stats(w.p[v].e, &s);
		CHECK_MSG(s.rx_unexpected >= 2, "%s: %llu dropped", what,
			  (unsigned long long)s.rx_unexpected);
		CHECK_INT(s.work_pending, 1);
		/* The waiting side left its state alone. */
		CHECK_INT(world_sa_count(&w.p[v]), 1);
		ocsp_release(&w, v);
		world_run(&w, 60000);
		o = ocsp_outcome(&w);
		expect_up(&o, what);
		CHECK_MSG(oc.n_ocsp == 1, "%s: %u OCSP works", what, oc.n_ocsp);
		ike_engine_stats(w.p[v].e, &s);
		CHECK_INT(s.work_pending, 0);
		CHECK_INT(s.work_dropped, 0);
		world_free(&w);
		sides_free(sides);
	}
}

/*
 * Never answered: the responder's half-open SA times out, the initiator
 * gives up; an answer after that is dropped, and nothing was installed.
 */
static void test_ocsp_never(void)
{
	for (int v = 1; v >= 0; v--) {
		static struct world w;
		struct side sides[2];
		struct ike_stats s;
		struct outcome o;
		const char *what = v ? "responder never answered" : "initiator never answered";

		ocsp_world(&w, sides, v, IKE_REVOCATION_RELAXED, ANS_HOLD);
		world_run(&w, 400000);
		o = ocsp_outcome(&w);
		CHECK_MSG(oc.held != NULL, "%s: no OCSP work", what);
		CHECK_MSG(o.up[0] + o.up[1] == 0 || !o.up[v], "%s: the verifier came up", what);
		CHECK_MSG(o.empty[v], "%s: SAs installed by the verifier", what);
		CHECK_MSG(world_sa_count(&w.p[v]) == 0, "%s: the waiting SA lives on", what);
		/* Answered after the SA died: dropped. */
		if (oc.held)
			ocsp_release(&w, v);
		world_run(&w, 60000);
		ike_engine_stats(w.p[v].e, &s);
		CHECK_INT(s.work_dropped, 1);
		CHECK_INT(s.work_pending, 0);
		o = ocsp_outcome(&w);
		CHECK_MSG(o.up[v] == 0 && o.empty[v], "%s: up after a late answer", what);
		world_free(&w);
		sides_free(sides);
	}
}


/* ---- the signatures as pending work (IKE_WORK_SIGN, IKE_WORK_VERIFY) ---- */

/* Both engines hand every work out; peer 0 will initiate. */
static void sig_world(struct world *w, struct side sides[2])
{
	static struct ike_engine_cfg cfg;
	EVP_PKEY *k0 = certs_key("EC", "P-256", 0), *k1 = certs_key("RSA", NULL, 2048);

	sides_cert(sides, k0, k1, FLAW_NONE, FLAW_INTERMEDIATE);
	ike_engine_cfg_defaults(&cfg);
	world_init(w, &cfg, &cfg, false);
	w->wall = CERTS_NOW;
	world_async(w, 0, &cfg);
	world_async(w, 1, &cfg);
	for (int i = 0; i < 2; i++)
		CHECK_INT(world_conn_edit(w, i, "c", IKE, ESP, NULL, false, edit, &sides[i]), 0);
	EVP_PKEY_free(k0);
	EVP_PKEY_free(k1);
}

static void sig_flush(struct world *w)
{
	while (w->q_len)
		world_deliver(w, 0);
}

/* Peer idx has exactly one work out, of kind k: complete it. */
static void sig_done(struct world *w, int idx, enum ike_work_kind k, const char *what)
{
	CHECK_MSG(w->p[idx].n_work == 1 && ike_work_kind(w->p[idx].work[0]) == k,
		  "%s: peer %d has %zu works, not one %s", what, idx, w->p[idx].n_work,
		  ike_work_kind_name(k));
	if (w->p[idx].n_work)
		world_work_done(w, idx, 0);
}

/* Through IKE_SA_INIT: the initiator's signature is out, nothing sent yet. */
static void sig_to_sign(struct world *w)
{
	CHECK_INT(ike_engine_initiate(w->p[0].e, "c", NULL), 0);
	sig_flush(w);
	sig_done(w, 1, IKE_WORK_DH, "responder's DH");
	sig_flush(w);
	sig_done(w, 0, IKE_WORK_DH, "initiator's DH");
	CHECK_INT(w->p[0].n_work, 1);
	CHECK_INT(w->q_len, 0); /* IKE_AUTH waits for its signature */
}

/*
 * The initiator's check of the answer is out: complete it; both come up,
 * with three works on the initiator (DH, signature, check) and two on
 * the responder (DH, check-and-sign), none left.
 */
static void sig_finish(struct world *w, const char *what)
{
	struct ike_stats s0, s1;
	struct outcome o;

	sig_done(w, 0, IKE_WORK_VERIFY, "initiator's check");
	world_run(w, 1000);
	o = ocsp_outcome(w);
	expect_up(&o, what);
	ike_engine_stats(w->p[0].e, &s0);
	ike_engine_stats(w->p[1].e, &s1);
	CHECK_INT(s0.work_submitted, 3);
	CHECK_INT(s1.work_submitted, 2);
	CHECK_INT(s0.work_pending + s1.work_pending, 0);
}

/*
 * Step by step: the initiator signs before IKE_AUTH goes, the responder
 * checks and signs in one work, the initiator checks the answer; each
 * side waits for its work and the handshake ends as it does inline.
 */
static void test_sig_work_steps(void)
{
	static struct world w;
	struct side sides[2];
	struct ike_stats s0;

	sig_world(&w, sides);
	sig_to_sign(&w);
	sig_done(&w, 0, IKE_WORK_SIGN, "initiator's signature");
	CHECK_INT(w.q_len, 1); /* IKE_AUTH */
	sig_flush(&w);
	CHECK_INT(w.q_len, 0); /* no answer before the check */
	sig_done(&w, 1, IKE_WORK_VERIFY, "responder's check");
	CHECK_INT(w.q_len, 1);
	sig_flush(&w);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 0);
	sig_finish(&w, "signatures as work");
	ike_engine_stats(w.p[0].e, &s0);
	CHECK_INT(s0.retransmits, 0);
	world_free(&w);
	sides_free(sides);
}

/*
 * A retransmitted IKE_AUTH while the responder's check is out, and a
 * duplicate answer while the initiator's is: dropped, neither checked
 * twice nor lost; the handshake completes with one work each.
 */
static void test_sig_work_retransmit(void)
{
	static struct world w;
	struct side sides[2];
	struct ike_stats s0, s1;
	struct w_pkt *dup;
	unsigned sent;

	sig_world(&w, sides);
	sig_to_sign(&w);
	sig_done(&w, 0, IKE_WORK_SIGN, "initiator's signature");
	sig_flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	sent = w.p[1].sent;
	/* The initiator's retransmission timer, twice. */
	for (int i = 0; i < 2; i++) {
		w.now = ike_engine_next_timeout(w.p[0].e);
		ike_engine_tick(w.p[0].e);
		CHECK_INT(w.q_len, 1);
		sig_flush(&w);
	}
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s1.rx_unexpected, 2);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK_INT(w.p[1].sent, sent);
	sig_done(&w, 1, IKE_WORK_VERIFY, "responder's check");
	CHECK_INT(w.p[1].sent, sent + 1);
	CHECK_INT(w.q_len, 1);
	dup = malloc(sizeof(*dup));
	*dup = *w.q[0];
	sig_flush(&w);
	world_put(&w, dup);
	sig_flush(&w);
	ike_engine_stats(w.p[0].e, &s0);
	CHECK_INT(s0.rx_unexpected, 1);
	sig_finish(&w, "retransmitted while checked");
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s1.handshakes_ok, 1);
	world_free(&w);
	sides_free(sides);
}

/*
 * Deleted while its signature is out (the initiator), or dead of its
 * half-open timeout while its check is (the responder): the result comes
 * back to nobody, is counted dropped, and nothing is sent.
 */
static void test_sig_work_dead(void)
{
	static struct world w;
	struct side sides[2];
	struct ike_stats s;
	uint64_t spi;
	unsigned sent;

	sig_world(&w, sides);
	sig_to_sign(&w);
	spi = world_sa_spi(&w.p[0]);
	CHECK_INT(ike_engine_terminate(w.p[0].e, spi), 0);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	sent = w.p[0].sent;
	sig_done(&w, 0, IKE_WORK_SIGN, "signature of a deleted SA");
	ike_engine_stats(w.p[0].e, &s);
	CHECK_INT(s.work_dropped, 1);
	CHECK_INT(s.work_pending, 0);
	CHECK_INT(w.p[0].sent, sent);
	world_free(&w);
	sides_free(sides);

	sig_world(&w, sides);
	sig_to_sign(&w);
	sig_done(&w, 0, IKE_WORK_SIGN, "initiator's signature");
	sig_flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	w.now += ike_cfg(w.p[1].e)->half_open_timeout_ms;
	ike_engine_tick(w.p[1].e);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	sent = w.p[1].sent;
	sig_done(&w, 1, IKE_WORK_VERIFY, "check of a dead SA");
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.work_dropped, 1);
	CHECK_INT(s.half_open, 0);
	CHECK_INT(w.p[1].sent, sent);
	CHECK_INT(w.p[1].k.n_sas, 0);
	world_free(&w);
	sides_free(sides);
}

/*
 * Both ends initiate at once and every work comes back newest first:
 * two IKE SAs, each up on both ends, as inline.
 */
static void test_sig_work_collision(void)
{
	static struct world w;
	struct side sides[2];

	sig_world(&w, sides);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	CHECK_INT(ike_engine_initiate(w.p[1].e, "c", NULL), 0);
	w.work_lifo = true;
	world_run(&w, 5000);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(world_events(&w.p[i], IKE_EV_IKE_UP), 2);
		CHECK_INT(world_events(&w.p[i], IKE_EV_AUTH_FAILED), 0);
		CHECK_INT(world_sa_count(&w.p[i]), 2);
	}
	world_free(&w);
	sides_free(sides);
}

/*
 * A reload while the responder's check is out, to a connection that no
 * longer trusts the initiator's root: the check made for the old
 * connection does not pass the peer on the new one; it is checked again
 * and refused.
 */
static void test_sig_work_reload(void)
{
	static struct world w;
	struct side sides[2], strict;
	struct ike_stats s1;
	const char *why = NULL;
	size_t len;
	uint8_t *der = certs_der(pki.other, &len);
	struct outcome o;

	sig_world(&w, sides);
	sig_to_sign(&w);
	sig_done(&w, 0, IKE_WORK_SIGN, "initiator's signature");
	sig_flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	strict = sides[1];
	strict.trust = ike_trust_new();
	CHECK_INT(ike_trust_add_ca(strict.trust, der, len, &why), 0);
	CHECK_INT(ike_engine_del_conn(w.p[1].e, "c"), 0);
	CHECK_INT(world_conn_edit(&w, 1, "c", IKE, ESP, NULL, false, edit, &strict), 0);
	world_run(&w, 60000);
	o = ocsp_outcome(&w);
	expect_refused(&o, 1, "reloaded while checked");
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s1.work_submitted, 3); /* DH, the check, the check again */
	world_free(&w);
	ike_trust_free(strict.trust);
	sides_free(sides);
	free(der);
}

static void b_delete_ike(struct ike_mb *mb, void *ctx)
{
	(void)ctx;
	ike_mb_delete(mb, IKEV2_PROTO_IKE, 0, NULL, 0);
}

static void b_auth_failed(struct ike_mb *mb, void *ctx)
{
	(void)ctx;
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
}

/*
 * While one side waits for its OCSP answer, the other (holding the SA's
 * keys) sends what it may not: a DELETE of the IKE SA and a
 * CREATE_CHILD_SA at the next message IDs, a refusal as a second IKE_AUTH
 * response, an INFORMATIONAL response.  None moves the waiting SA: it
 * still waits, and comes up once answered.
 */
static void test_ocsp_hostile(void)
{
	for (int v = 1; v >= 0; v--) {
		static struct world w;
		struct side sides[2];
		struct ike_stats s0, s1;
		struct outcome o;
		const char *what = v ? "responder waits, hostile" : "initiator waits, hostile";
		int other = 1 - v;
		uint64_t spi;

		ocsp_world(&w, sides, v, IKE_REVOCATION_STRICT, ANS_HOLD);
		/* Deliver until the work is out, before any retransmission. */
		for (int i = 0; i < 200 && !oc.held; i++) {
			if (w.q_len)
				world_deliver(&w, 0);
			else
				world_work_all(&w);
		}
		CHECK_MSG(oc.held != NULL, "%s: no OCSP work", what);
		if (!oc.held) {
			world_free(&w);
			sides_free(sides);
			continue;
		}
		ike_engine_stats(w.p[v].e, &s0);
		spi = world_sa_spi(&w.p[other]);
		CHECK_INT(world_forge(&w, other, spi, IKEV2_EXCH_INFORMATIONAL, false, v ? 1 : 0,
				      b_delete_ike, NULL), 0);
		CHECK_INT(world_forge(&w, other, spi, IKEV2_EXCH_INFORMATIONAL, false, v ? 2 : 1,
				      b_delete_ike, NULL), 0);
		CHECK_INT(world_forge(&w, other, spi, IKEV2_EXCH_CREATE_CHILD_SA, false, v ? 1 : 0,
				      b_auth_failed, NULL), 0);
		CHECK_INT(world_forge(&w, other, spi, IKEV2_EXCH_IKE_AUTH, true, 1, b_auth_failed,
				      NULL), 0);
		CHECK_INT(world_forge(&w, other, spi, IKEV2_EXCH_INFORMATIONAL, true, v ? 1 : 2,
				      b_delete_ike, NULL), 0);
		while (w.q_len)
			world_deliver(&w, 0);
		ike_engine_stats(w.p[v].e, &s1);
		CHECK_MSG(s1.rx_unexpected >= s0.rx_unexpected + 5, "%s: %llu of 5 dropped", what,
			  (unsigned long long)(s1.rx_unexpected - s0.rx_unexpected));
		CHECK_INT(s1.work_pending, 1);
		CHECK_INT(world_sa_count(&w.p[v]), 1);
		CHECK_INT(world_events(&w.p[v], IKE_EV_AUTH_FAILED), 0);
		ocsp_release(&w, v);
		world_run(&w, 60000);
		o = ocsp_outcome(&w);
		CHECK_MSG(o.up[v] == 1 && o.child_up[v] == 1, "%s: not up after the answer", what);
		world_free(&w);
		sides_free(sides);
	}
}

int main(void)
{
	pki_init();
	test_key_types();
	test_intermediate();
	test_refusals();
	test_revocation_policy();
	test_send_policy();
	test_mixed();
	test_pick_by_method();
	test_cred_lifetime();
	test_ocsp_answers();
	test_ocsp_retransmit();
	test_ocsp_never();
	test_ocsp_hostile();
	test_sig_work_steps();
	test_sig_work_retransmit();
	test_sig_work_dead();
	test_sig_work_collision();
	test_sig_work_reload();
	pki_free();
	return check_done("certauth");
}
