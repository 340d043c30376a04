/* SPDX-License-Identifier: ISC */
/*
 * Two engines in one process complete IKE_SA_INIT + IKE_AUTH + the first
 * CHILD_SA over a fake network, and both sides must hold identical keys.
 * Then the unhappy paths: loss, duplication, INVALID_KE_PAYLOAD, cookies,
 * wrong PSK, no common proposal, TS narrowing and refusal, DELETE,
 * liveness, NAT, and a peer that never answers.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

static const char *const ike_suites[] = {
	"aes128gcm16-prfsha256", "aes256gcm16-prfsha384", "chacha20poly1305-prfsha256",
	"aes128-sha256",         "aes256-sha384",         "aes256-sha512",
};

static const char *const groups[] = {
	"x25519", "x448", "ecp256", "ecp384", "ecp521", "modp2048", "modp3072", "modp4096",
};

static const char *const esp_suites[] = {
	"aes128gcm16", "aes256gcm16", "chacha20poly1305", "aes128-sha256", "aes256-sha512",
};

#define PSK "a shared secret of some length"

static struct ike_sa *sa_of(struct w_peer *p)
{
	return ike_engine_find_sa(p->e, world_sa_spi(p));
}

/* Both sides agree on SPIs, suites and every key, IKE and ESP. */
static void check_agreement(struct world *w, const char *what)
{
	struct ike_sa *i = sa_of(&w->p[0]), *r = sa_of(&w->p[1]);
	struct fake_kernel *ki = &w->p[0].k, *kr = &w->p[1].k;

	CHECK_MSG(i && r, "%s: no SA", what);
	if (!i || !r)
		return;
	CHECK_MSG(i->state == IKE_S_ESTABLISHED && r->state == IKE_S_ESTABLISHED,
		  "%s: states %s / %s", what, ike_sa_state_name(i->state),
		  ike_sa_state_name(r->state));
	CHECK(i->spi_i == r->spi_i && i->spi_r == r->spi_r);
	CHECK(memcmp(&i->suite, &r->suite, sizeof(i->suite)) == 0);
	CHECK(i->keys.prf_len == r->keys.prf_len && i->keys.e_len == r->keys.e_len &&
	      i->keys.a_len == r->keys.a_len);
	CHECK_MSG(memcmp(&i->keys, &r->keys, sizeof(i->keys)) == 0, "%s: IKE keys differ", what);
	CHECK(i->keys.e_len > 0);

	CHECK_MSG(ki->n_sas == 2 && kr->n_sas == 2, "%s: %zu/%zu SAs installed", what,
		  ki->n_sas, kr->n_sas);
	for (size_t n = 0; n < ki->n_sas; n++) {
		const struct xk_sa *a = &ki->sas[n];
		const struct xk_sa *b = fake_kernel_find(kr, a->spi);

		CHECK_MSG(b != NULL, "%s: SPI %08x only on one side", what, a->spi);
		if (!b)
			continue;
		/* My outbound is your inbound, byte for byte. */
		CHECK(a->inbound != b->inbound);
		CHECK(a->enc == b->enc && a->integ == b->integ && a->icv_len == b->icv_len);
		CHECK(a->enc_key_len == b->enc_key_len && a->enc_key_len > 0);
		CHECK_MSG(memcmp(a->enc_key, b->enc_key, a->enc_key_len) == 0,
			  "%s: ESP keys differ", what);
		CHECK(a->integ_key_len == b->integ_key_len);
		CHECK(memcmp(a->integ_key, b->integ_key, a->integ_key_len) == 0);
		CHECK(xk_addr_ip_eq(&a->src, &b->src) && xk_addr_ip_eq(&a->dst, &b->dst));
	}
	/* Different keys in the two directions. */
	CHECK(memcmp(ki->sas[0].enc_key, ki->sas[1].enc_key, ki->sas[0].enc_key_len) != 0);
	/* Tunnel mode: out, in and fwd policies. */
	CHECK_INT(ki->n_pols, 3);
	CHECK_INT(kr->n_pols, 3);
}

static void test_all_suites(void)
{
	size_t esp_i = 0;

	for (size_t s = 0; s < sizeof(ike_suites) / sizeof(ike_suites[0]); s++) {
		for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
			char ike[128], what[192];
			const char *esp = esp_suites[esp_i++ % 5];
			static struct world w;
			uint64_t spi;

			snprintf(ike, sizeof(ike), "%s-%s", ike_suites[s], groups[g]);
			snprintf(what, sizeof(what), "%s / %s", ike, esp);
			world_init(&w, NULL, NULL, g % 2);
			CHECK_INT(world_conn(&w, 0, "c", ike, esp, PSK), 0);
			CHECK_INT(world_conn(&w, 1, "c", ike, esp, PSK), 0);
			CHECK_INT(ike_engine_initiate(w.p[0].e, "c", &spi), 0);
			world_run(&w, 1000);
			check_agreement(&w, what);
			CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
			CHECK_INT(world_events(&w.p[1], IKE_EV_CHILD_UP), 1);
			/* Four messages, no retransmission. */
			CHECK_MSG(w.delivered == 4, "%s: %u messages", what, w.delivered);
			world_free(&w);
		}
	}
}

/* Drop the datagrams whose sequence numbers are set in a bitmask. */
static bool drop_mask(struct world *w, struct w_pkt *p, unsigned seq)
{
	unsigned mask = *(unsigned *)w->filter_ctx;

	(void)p;
	return seq >= 32 || !(mask & (1u << seq));
}

static void test_loss(void)
{
	/* seq 0 = INIT request, 1 = its retransmission... */
	static const struct {
		unsigned mask;
		const char *what;
		unsigned retransmits, resent;
	} cases[] = {
		{ 1u << 0, "IKE_SA_INIT request lost", 1, 0 },
		{ 1u << 1, "IKE_SA_INIT response lost", 1, 1 },
		{ 1u << 2, "IKE_AUTH request lost", 1, 0 },
		{ 1u << 3, "IKE_AUTH response lost", 1, 1 },
		{ 1u << 0 | 1u << 1 | 1u << 2, "three in a row", 3, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct world w;
		struct ike_stats si, sr;
		unsigned mask = cases[i].mask;

		world_init(&w, NULL, NULL, false);
		world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
		world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
		w.filter = drop_mask;
		w.filter_ctx = &mask;
		ike_engine_initiate(w.p[0].e, "c", NULL);
		world_run(&w, 60000);
		check_agreement(&w, cases[i].what);
		ike_engine_stats(w.p[0].e, &si);
		ike_engine_stats(w.p[1].e, &sr);
		CHECK_MSG(si.retransmits == cases[i].retransmits, "%s: %llu retransmits",
			  cases[i].what, (unsigned long long)si.retransmits);
		CHECK_MSG(sr.responses_resent == cases[i].resent, "%s: %llu resent",
			  cases[i].what, (unsigned long long)sr.responses_resent);
		/* The responder never built a second SA for a retransmission. */
		CHECK_INT(world_sa_count(&w.p[1]), 1);
		world_free(&w);
	}
}

static bool duplicate_all(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)seq;
	/* Queue a copy of everything once (copies are not copied again). */
	if (!p->copy && w->q_len < W_MAX_PKTS) {
		struct w_pkt *c = malloc(sizeof(*c));

		if (c) {
			*c = *p;
			c->copy = true;
			w->q[w->q_len++] = c;
		}
	}
	return true;
}

static void test_duplicates(void)
{
	static struct world w;
	struct ike_stats sr, si;

	world_init(&w, NULL, NULL, true);
	world_conn(&w, 0, "c", "aes256gcm16-prfsha384-ecp384", "aes256gcm16", PSK);
	world_conn(&w, 1, "c", "aes256gcm16-prfsha384-ecp384", "aes256gcm16", PSK);
	w.filter = duplicate_all;
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	check_agreement(&w, "duplicated datagrams");
	ike_engine_stats(w.p[1].e, &sr);
	ike_engine_stats(w.p[0].e, &si);
	/* Both duplicated requests got the cached response, nothing new. */
	CHECK_INT(sr.responses_resent, 2);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	/*
	 * Stale responses are dropped: per exchange the duplicate, the resent
	 * copy and its duplicate.
	 */
	CHECK_INT(si.rx_unexpected, 6);
	CHECK_INT(si.retransmits, 0);
	world_free(&w);
}

static void test_invalid_ke(void)
{
	static struct world w;
	struct ike_stats sr;
	struct ike_sa *sa;

	world_init(&w, NULL, NULL, false);
	/* The initiator guesses x25519 first; the responder only takes ecp256. */
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519-ecp256", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-ecp256", "aes128gcm16", PSK);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	check_agreement(&w, "INVALID_KE_PAYLOAD retry");
	ike_engine_stats(w.p[1].e, &sr);
	CHECK_INT(sr.invalid_ke_sent, 1);
	sa = sa_of(&w.p[0]);
	CHECK(sa && sa->suite.dh == IKEV2_DH_ECP_256);
	CHECK_INT(w.delivered, 6);
	world_free(&w);
}

static void test_cookie(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct ike_stats sr;

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 0; /* always ask */
	world_init(&w, NULL, &cfg, false);
	world_conn(&w, 0, "c", "aes128-sha256-modp2048", "aes128-sha256", PSK);
	world_conn(&w, 1, "c", "aes128-sha256-modp2048", "aes128-sha256", PSK);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	check_agreement(&w, "COOKIE round trip");
	ike_engine_stats(w.p[1].e, &sr);
	CHECK_INT(sr.cookies_sent, 1);
	CHECK_INT(w.delivered, 6);
	world_free(&w);
}

/* Before the cookie is presented, the responder keeps nothing. */
static void test_cookie_stateless(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	unsigned mask = 1u << 2; /* drop the retried IKE_SA_INIT */

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 0;
	world_init(&w, NULL, &cfg, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	w.filter = drop_mask;
	w.filter_ctx = &mask;
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 100); /* cookie out, retry dropped, no retransmit yet */
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_run(&w, 10000);
	check_agreement(&w, "cookie after loss");
	world_free(&w);
}

static void test_wrong_psk(void)
{
	static struct world w;
	const struct ike_event *ev;
	struct ike_stats sr;

	world_init(&w, NULL, NULL, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "another secret");
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_AUTHENTICATION_FAILED);
	CHECK_INT(world_events(&w.p[0], IKE_EV_AUTH_FAILED), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_AUTH_FAILED), 1);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 0);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 0);
	ike_engine_stats(w.p[1].e, &sr);
	CHECK_INT(sr.auth_failures, 1);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	CHECK(fake_kernel_empty(&w.p[0].k));
	CHECK(fake_kernel_empty(&w.p[1].k));
	world_free(&w);
}

static void test_no_proposal(void)
{
	static struct world w;
	const struct ike_event *ev;

	world_init(&w, NULL, NULL, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes256-sha512-modp4096", "aes128gcm16", PSK);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	/*
	 * Section 2.21.1: the refusal is unauthenticated, so the initiator
	 * acts on it only when the retransmission of its request (4 s later)
	 * is refused again.
	 */
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_FAILED), 0);
	world_run(&w, 10000);
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_NO_PROPOSAL_CHOSEN);
	/* The responder, which keeps no state, reports the refusal too. */
	ev = world_event(&w.p[1], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_NO_PROPOSAL_CHOSEN);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
	CHECK_INT(w.delivered, 4);

	/* IKE agrees, ESP does not: the IKE SA stands without a CHILD_SA (1.2). */
	world_free(&w);
	world_init(&w, NULL, NULL, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "chacha20poly1305", PSK);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 0);
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_NO_PROPOSAL_CHOSEN);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	world_free(&w);
}

static void set_ts(struct world *w, int idx, const char *local, const char *remote)
{
	/* Re-add the conn with traffic selectors. */
	struct ike_proposal ip[4], ep[4];
	char err[64];
	struct ike_conn_cfg c = {
		.name = "ts",
		.local = w->p[idx].addr,
		.remote = w->p[1 - idx].addr,
		.psk = (const uint8_t *)PSK,
		.psk_len = strlen(PSK),
		.ike = ip,
		.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519", 1, ip, 4, err, 64),
		.esp = ep,
		.n_esp = (size_t)ike_proposals_parse("aes128gcm16", 3, ep, 4, err, 64),
		.mode = XK_MODE_TUNNEL,
	};
	char buf[256], *tok, *save;

	c.local.port = c.remote.port = 0;
	strcpy(buf, local);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		xk_ts_parse(tok, &c.local_ts[c.n_local_ts++]);
	strcpy(buf, remote);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		xk_ts_parse(tok, &c.remote_ts[c.n_remote_ts++]);
	ike_engine_add_conn(w->p[idx].e, &c);
}

static void test_ts(void)
{
	static struct world w;
	struct ike_child_info ci;
	char buf[XK_TS_STRLEN];
	const struct ike_event *ev;

	/* Initiator asks for 10.1.0.0/16 behind the peer; responder gives a /24. */
	world_init(&w, NULL, NULL, false);
	set_ts(&w, 0, "10.0.0.0/24", "10.1.0.0/16");
	set_ts(&w, 1, "10.1.2.0/24,10.1.3.0/24", "10.0.0.0/16");
	ike_engine_initiate(w.p[0].e, "ts", NULL);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 1);
	CHECK_INT(ike_engine_child_info(w.p[0].e, world_sa_spi(&w.p[0]), 0, &ci), 0);
	CHECK_INT(ci.n_local_ts, 1);
	CHECK(strcmp(xk_ts_str(&ci.local_ts[0], buf, sizeof(buf)), "10.0.0.0/24") == 0);
	CHECK_INT(ci.n_remote_ts, 2);
	CHECK(strcmp(xk_ts_str(&ci.remote_ts[0], buf, sizeof(buf)), "10.1.2.0/24") == 0);
	CHECK(strcmp(xk_ts_str(&ci.remote_ts[1], buf, sizeof(buf)), "10.1.3.0/24") == 0);
	/* 1 x 2 selector pairs, three directions each. */
	CHECK_INT(w.p[0].k.n_pols, 6);
	CHECK_INT(w.p[1].k.n_pols, 6);
	world_free(&w);

	/* Disjoint: TS_UNACCEPTABLE, IKE SA up, nothing installed. */
	world_init(&w, NULL, NULL, false);
	set_ts(&w, 0, "10.0.0.0/24", "10.9.0.0/16");
	set_ts(&w, 1, "10.1.0.0/16", "10.0.0.0/16");
	ike_engine_initiate(w.p[0].e, "ts", NULL);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_TS_UNACCEPTABLE);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
	world_free(&w);
}

static void test_transport(void)
{
	static struct world w;
	struct ike_proposal ip[2], ep[2];
	char err[64];
	struct ike_child_info ci;

	world_init(&w, NULL, NULL, false);
	for (int i = 0; i < 2; i++) {
		struct ike_conn_cfg c = {
			.name = "t",
			.local = w.p[i].addr,
			.remote = w.p[1 - i].addr,
			.psk = (const uint8_t *)PSK,
			.psk_len = strlen(PSK),
			.ike = ip,
			.n_ike = (size_t)ike_proposals_parse("chacha20poly1305-prfsha256-x25519", 1, ip, 2, err, 64),
			.esp = ep,
			.n_esp = (size_t)ike_proposals_parse("chacha20poly1305", 3, ep, 2, err, 64),
			.mode = XK_MODE_TRANSPORT,
		};
		c.local.port = c.remote.port = 0;
		CHECK_INT(ike_engine_add_conn(w.p[i].e, &c), 0);
	}
	ike_engine_initiate(w.p[0].e, "t", NULL);
	world_run(&w, 1000);
	CHECK_INT(ike_engine_child_info(w.p[0].e, world_sa_spi(&w.p[0]), 0, &ci), 0);
	CHECK_INT(ci.mode, XK_MODE_TRANSPORT);
	CHECK_INT(ike_engine_child_info(w.p[1].e, world_sa_spi(&w.p[1]), 0, &ci), 0);
	CHECK_INT(ci.mode, XK_MODE_TRANSPORT);
	CHECK_INT(w.p[0].k.n_pols, 2); /* no fwd in transport mode */
	CHECK_INT(w.p[0].k.sas[0].mode, XK_MODE_TRANSPORT);
	world_free(&w);
}

static void establish(struct world *w, bool v6)
{
	world_init(w, NULL, NULL, v6);
	world_conn(w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static void test_delete(void)
{
	static struct world w;

	for (int by = 0; by < 2; by++) {
		establish(&w, false);
		check_agreement(&w, "before delete");
		CHECK_INT(ike_engine_terminate(w.p[by].e, world_sa_spi(&w.p[by])), 0);
		world_run(&w, 1000);
		CHECK_INT(world_sa_count(&w.p[0]), 0);
		CHECK_INT(world_sa_count(&w.p[1]), 0);
		CHECK(fake_kernel_empty(&w.p[0].k));
		CHECK(fake_kernel_empty(&w.p[1].k));
		CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_DOWN), 1);
		CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_DOWN), 1);
		CHECK_INT(world_events(&w.p[1 - by], IKE_EV_CHILD_DOWN), 1);
		CHECK_INT(w.delivered, 6);
		world_free(&w);
	}

	/* A CHILD_SA alone, deleted by either side: the IKE SA stays. */
	for (int by = 0; by < 2; by++) {
		struct ike_child_info ci;
		uint64_t spi;

		establish(&w, true);
		spi = world_sa_spi(&w.p[by]);
		CHECK_INT(ike_engine_child_info(w.p[by].e, spi, 0, &ci), 0);
		CHECK_INT(ike_engine_delete_child(w.p[by].e, spi, ci.spi_in), 0);
		world_run(&w, 1000);
		CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
		CHECK_INT(world_sa_count(&w.p[0]), 1);
		CHECK_INT(world_sa_count(&w.p[1]), 1);
		CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_DOWN), 1);
		CHECK_INT(world_events(&w.p[1], IKE_EV_CHILD_DOWN), 1);
		world_free(&w);
	}
}

/* Route-based: peer i's inbound tag is 10 + i, its outbound one 20 + i. */
static void tag_edit(struct ike_conn_cfg *c, void *ctx)
{
	int i = *(int *)ctx;

	c->tag_in = (struct xk_tag){ .mark = 10u + (uint32_t)i, .mark_mask = 0xff, .if_id = 7 };
	c->tag_out = (struct xk_tag){ .mark = 20u + (uint32_t)i, .mark_mask = 0xff, .if_id = 7 };
}

/* Every SA and policy of peer i carries its direction's mark and if_id. */
static void check_tags(const struct w_peer *p, int i, const char *when)
{
	CHECK_MSG(p->k.n_sas >= 2, "%s: peer %d has %zu SAs", when, i, p->k.n_sas);
	for (size_t j = 0; j < p->k.n_sas; j++) {
		const struct xk_sa *sa = &p->k.sas[j];

		CHECK_MSG(sa->mark == (sa->inbound ? 10u : 20u) + (uint32_t)i && sa->mark_mask == 0xff &&
				  sa->if_id == 7,
			  "%s: peer %d SA %08x mark %x/%x if_id %u", when, i, sa->spi, sa->mark,
			  sa->mark_mask, sa->if_id);
	}
	CHECK_MSG(p->k.n_pols == 3, "%s: peer %d has %zu policies", when, i, p->k.n_pols);
	for (size_t j = 0; j < p->k.n_pols; j++) {
		const struct xk_policy *pol = &p->k.pols[j];

		CHECK_MSG(pol->mark == (pol->dir == XK_DIR_OUT ? 20u : 10u) + (uint32_t)i &&
				  pol->if_id == 7,
			  "%s: peer %d policy dir %d mark %x if_id %u", when, i, pol->dir, pol->mark,
			  pol->if_id);
	}
}

/*
 * Marks and interface IDs (route-based tunnels) reach every SA and policy
 * by direction, and the SAs' deletes carry them: the fake kernel, like
 * XFRM, finds a marked SA only by its mark.
 */
static void test_route_based(void)
{
	static struct world w;
	int idx[2] = { 0, 1 };
	struct ike_child_info ci;
	uint64_t spi;

	world_init(&w, NULL, NULL, false);
	for (int i = 0; i < 2; i++)
		CHECK_INT(world_conn_edit(&w, i, "r", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK,
					  false, tag_edit, &idx[i]),
			  0);
	ike_engine_initiate(w.p[0].e, "r", NULL);
	world_run(&w, 1000);
	check_tags(&w.p[0], 0, "up");
	check_tags(&w.p[1], 1, "up");
	spi = world_sa_spi(&w.p[0]);
	CHECK_INT(ike_engine_child_info(w.p[0].e, spi, 0, &ci), 0);
	CHECK_INT(ci.id_in.mark, 10);
	CHECK_INT(ci.id_out.mark, 20);
	CHECK_INT(ci.tag_out.if_id, 7);
	/* A rekey deletes the old SAs by their marks. */
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, spi, ci.spi_in), 0);
	world_run(&w, 30000);
	check_tags(&w.p[0], 0, "rekeyed");
	check_tags(&w.p[1], 1, "rekeyed");
	CHECK_INT(w.p[0].k.n_sas, 2);
	CHECK_INT(w.p[1].k.n_sas, 2);
	CHECK_INT(ike_engine_terminate(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	world_run(&w, 1000);
	CHECK(fake_kernel_empty(&w.p[0].k));
	CHECK(fake_kernel_empty(&w.p[1].k));
	world_free(&w);
}

static void test_liveness(void)
{
	static struct world w;
	struct ike_stats s;

	establish(&w, false);
	CHECK_INT(ike_engine_liveness(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	CHECK_INT(ike_engine_liveness(w.p[0].e, world_sa_spi(&w.p[0])), 0);
	world_run(&w, 1000);
	CHECK_INT(w.delivered, 8);
	ike_engine_stats(w.p[0].e, &s);
	CHECK_INT(s.retransmits, 0);
	CHECK_INT(s.rx_unexpected + s.rx_malformed + s.rx_bad_icv, 0);
	check_agreement(&w, "after liveness");
	world_free(&w);
}

/* A peer that never answers: retransmit 5 times on 4 s x 1.8^n, then stop. */
static bool drop_to_responder(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	return p->to != 1;
}

static void test_timeout(void)
{
	static struct world w;
	struct ike_stats s;
	uint64_t start;
	const struct ike_event *ev;

	world_init(&w, NULL, NULL, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	w.filter = drop_to_responder;
	start = w.now;
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 600000);
	ike_engine_stats(w.p[0].e, &s);
	CHECK_INT(s.retransmits, 5);
	CHECK_INT(s.timeouts, 1);
	CHECK_INT(w.p[0].sent, 6);
	/* 4 + 7.2 + 12.96 + 23.33 + 41.99 + 75.58 s */
	CHECK_MSG(w.now - start >= 165000 && w.now - start <= 166000, "gave up after %llu ms",
		  (unsigned long long)(w.now - start));
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev != NULL);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	world_free(&w);
}

/* A NAT rewrites the initiator's source address and port. */
static uint16_t nat_shift = 10000;

static bool nat(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	if (p->to == 1) {
		p->src.ip[3] = 99;          /* 192.0.2.99 */
		p->src.port += nat_shift;   /* 500 -> 10500, 4500 -> 14500 */
	} else {
		p->dst.ip[3] = 1;
		p->dst.port -= nat_shift;
	}
	return true;
}

/* Peer 0 behind a NAT (`filter`), peer 1 taking any peer: initiate and run. */
static void nat_establish(struct world *w, w_filter filter)
{
	world_init(w, NULL, NULL, false);
	world_conn(w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	CHECK_INT(world_conn_any(w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK), 0);
	w->filter = filter;
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static void test_nat(void)
{
	static struct world w;
	struct ike_sa_info ii, ir;
	struct ike_child_info ci;

	nat_establish(&w, nat);
	CHECK_INT(ike_engine_sa_info(w.p[0].e, world_sa_spi(&w.p[0]), &ii), 0);
	CHECK_INT(ike_engine_sa_info(w.p[1].e, world_sa_spi(&w.p[1]), &ir), 0);
	CHECK(ii.state == IKE_S_ESTABLISHED && ir.state == IKE_S_ESTABLISHED);
	CHECK(ii.nat_local && !ii.nat_remote);
	CHECK(!ir.nat_local && ir.nat_remote);
	/* Both floated to 4500; the responder sees the NAT's mapping. */
	CHECK_INT(ii.local.port, 4500);
	CHECK_INT(ii.remote.port, 4500);
	CHECK_INT(ir.remote.port, 14500);
	CHECK_INT(ir.remote.ip[3], 99);
	CHECK_INT(ike_engine_child_info(w.p[1].e, world_sa_spi(&w.p[1]), 0, &ci), 0);
	CHECK(ci.encap);
	CHECK(w.p[1].k.sas[0].encap && w.p[0].k.sas[0].encap);

	/*
	 * The NAT forgets the mapping and picks a new port.  The next
	 * authenticated message moves the responder's IKE SA and its CHILD_SA
	 * (both kernel SAs) to the new port (section 2.23).
	 */
	nat_shift = 20000;
	CHECK_INT(ike_engine_liveness(w.p[0].e, world_sa_spi(&w.p[0])), 0);
	world_run(&w, 1000);
	CHECK_INT(ike_engine_sa_info(w.p[1].e, world_sa_spi(&w.p[1]), &ir), 0);
	CHECK_INT(ir.remote.port, 24500);
	CHECK_INT(w.p[1].k.moves, 2);
	for (size_t i = 0; i < w.p[1].k.n_sas; i++) {
		const struct xk_sa *x = &w.p[1].k.sas[i];

		CHECK_INT(x->inbound ? x->src.port : x->dst.port, 24500);
	}
	/* An ESP mapping report for an unknown SA changes nothing. */
	{
		struct xk_sa_id id = { .dst = w.p[1].addr, .spi = 0x1, .proto = 50 };

		CHECK_INT(ike_engine_peer_moved(w.p[1].e, &id, &ir.remote), -ENOENT);
	}
	nat_shift = 10000;
	world_free(&w);
}

/* The NAT of test_nat, keeping a copy of the first datagram it passes on. */
static struct w_pkt nat_first;
static bool nat_first_kept;

static bool nat_keep_first(struct world *w, struct w_pkt *p, unsigned seq)
{
	bool pass = nat(w, p, seq);

	if (!nat_first_kept && p->to == 1) {
		nat_first = *p;
		nat_first_kept = true;
	}
	return pass;
}

/*
 * Section 2.1: a late copy of the initiator's first IKE_SA_INIT, arriving
 * from its first port after the SA floated to the NAT-T port, is the same
 * SA's (dropped as unexpected), not a new half-open SA with an answer.
 */
static void test_late_init_after_float(void)
{
	static struct world w;
	struct ike_stats s;
	struct w_pkt *copy;

	nat_first_kept = false;
	nat_establish(&w, nat_keep_first);
	CHECK(nat_first_kept && world_sa_count(&w.p[1]) == 1);
	copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = nat_first;
	w.filter = NULL; /* it went through the NAT already */
	world_put(&w, copy);
	world_deliver(&w, 0);
	CHECK_INT(w.q_len, 0);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 0);
	CHECK_INT(s.rx_unexpected, 1);
	world_free(&w);
}

/*
 * A NAT (or a peer) that keeps the initiator's source port when it moves
 * to our port 4500: the responder's own requests must leave from 4500 too
 * (section 2.23), not from 500 where the peer no longer listens.
 */
static bool nat_keep_port(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	if (p->to == 1) {
		p->src.ip[3] = 99;
		p->src.port = 40000;
	} else {
		p->dst.ip[3] = 1;
		p->dst.port = p->src.port;
	}
	return true;
}

static void test_nat_same_port(void)
{
	static struct world w;
	struct ike_sa_info ir;

	nat_establish(&w, nat_keep_port);
	CHECK_INT(ike_engine_sa_info(w.p[1].e, world_sa_spi(&w.p[1]), &ir), 0);
	CHECK(ir.state == IKE_S_ESTABLISHED && ir.nat_remote);
	CHECK_INT(ir.remote.port, 40000);
	CHECK_INT(ir.local.port, 4500);
	/* The responder's own request goes from 4500. */
	w.filter = NULL;
	CHECK_INT(ike_engine_liveness(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	CHECK_INT(w.q_len, 1);
	if (w.q_len == 1)
		CHECK_INT(w.q[0]->src.port, 4500);
	world_free(&w);
}

/* Garbage, truncations and bit flips of real messages: dropped and counted. */
static void test_malformed(void)
{
	static struct world w;
	struct ike_stats s;
	uint8_t junk[64] = { 0 };
	struct xk_addr a, b;

	establish(&w, false);
	a = w.p[0].addr;
	b = w.p[1].addr;
	ike_engine_input(w.p[1].e, &b, &a, junk, 10);                 /* short */
	ike_engine_input(w.p[1].e, &b, &a, junk, sizeof(junk));        /* version 0 */
	junk[17] = 0x20;
	junk[18] = IKEV2_EXCH_IKE_SA_INIT;
	junk[19] = IKEV2_FLAG_INITIATOR;
	junk[27] = sizeof(junk);
	ike_engine_input(w.p[1].e, &b, &a, junk, sizeof(junk));        /* no payloads */
	junk[16] = 5;                                                  /* IKEv1 type */
	ike_engine_input(w.p[1].e, &b, &a, junk, sizeof(junk));
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.rx_malformed, 4);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	check_agreement(&w, "after junk");
	world_free(&w);
}

int main(void)
{
	test_all_suites();
	test_loss();
	test_duplicates();
	test_invalid_ke();
	test_cookie();
	test_cookie_stateless();
	test_wrong_psk();
	test_no_proposal();
	test_ts();
	test_transport();
	test_delete();
	test_route_based();
	test_liveness();
	test_timeout();
	test_nat();
	test_nat_same_port();
	test_late_init_after_float();
	test_malformed();
	return check_done("exchange");
}
