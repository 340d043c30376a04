/* SPDX-License-Identifier: ISC */
/*
 * Right message, wrong state: a peer (or anyone on the path) sends what
 * the protocol allows at a moment the other side does not expect.  Each
 * case was a memory-safety bug; each now ends with both sides agreeing,
 * under AddressSanitizer.
 *
 *  1. a late duplicate of the first IKE_SA_INIT, after the SA is up;
 *  2. DELETE(ESP, SPI 0) while our CREATE_CHILD_SA for a new CHILD_SA is out;
 *  3. our new CHILD_SA's CREATE_CHILD_SA crossing the peer's IKE SA rekey,
 *     answered with TEMPORARY_FAILURE; and our CHILD_SA rekey whose answer
 *     is lost when the peer's IKE SA rekey deletes the old IKE SA (it was
 *     refused for ever);
 *  4. an IKE SA rekey collision whose loser's DELETE of its new IKE SA
 *     overtakes the loser's response to the winner's request;
 *  5. a terminate (of the new SA, or of the old one) while an IKE SA
 *     rekey is out;
 *  6. an IKE SA rekey collision whose other new SA ends here (terminated,
 *     or its peer found dead) before our answer settles who won.
 * And the peer's ESP SPIs: 0 to 255 (RFC 4303 section 2.1) and one it
 * already uses are refused where the peer proposes them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "wrong-state secret"

/* Subnets 10.1.0.0/16 (peer 0) and 10.2.0.0/16 (peer 1), room for more CHILD_SAs. */
static void add_conn(struct world *w, int i)
{
	struct ike_proposal ip[1], ep[1];
	char err[64];
	struct ike_conn_cfg c = {
		.name = "c",
		.local = w->p[i].addr,
		.remote = w->p[1 - i].addr,
		.psk = (const uint8_t *)PSK,
		.psk_len = strlen(PSK),
		.ike = ip,
		.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519",
						     IKEV2_PROTO_IKE, ip, 1, err, sizeof(err)),
		.esp = ep,
		.n_esp = (size_t)ike_proposals_parse("aes128gcm16", IKEV2_PROTO_ESP, ep, 1, err,
						     sizeof(err)),
		.n_local_ts = 1,
		.n_remote_ts = 1,
		.mode = XK_MODE_TUNNEL,
	};

	c.local.port = c.remote.port = 0;
	xk_ts_parse(i ? "10.2.0.0/16" : "10.1.0.0/16", &c.local_ts[0]);
	xk_ts_parse(i ? "10.1.0.0/16" : "10.2.0.0/16", &c.remote_ts[0]);
	CHECK_INT(ike_engine_add_conn(w->p[i].e, &c), 0);
}

static void establish(struct world *w)
{
	world_init(w, NULL, NULL, false);
	add_conn(w, 0);
	add_conn(w, 1);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static struct ike_sa *sa_of(struct w_peer *p)
{
	return ike_engine_find_sa(p->e, world_sa_spi(p));
}

/*
 * Peer 0 asks for a further CHILD_SA, for 10.1.k.0/24 - 10.2.k.0/24: the
 * request is built (and queued) at once, with the connection narrowed.
 */
static void new_child(struct world *w, int k)
{
	struct ike_sa *sa = sa_of(&w->p[0]);
	struct xk_ts l = sa->conn->child[0].local_ts[0], r = sa->conn->child[0].remote_ts[0];
	char a[32], b[32];

	snprintf(a, sizeof(a), "10.1.%d.0/24", k);
	snprintf(b, sizeof(b), "10.2.%d.0/24", k);
	xk_ts_parse(a, &sa->conn->child[0].local_ts[0]);
	xk_ts_parse(b, &sa->conn->child[0].remote_ts[0]);
	CHECK_INT(ike_engine_create_child(w->p[0].e, world_sa_spi(&w->p[0])), 0);
	sa->conn->child[0].local_ts[0] = l;
	sa->conn->child[0].remote_ts[0] = r;
}

static size_t installed(struct w_peer *p)
{
	struct ike_child_info ci;
	size_t n = 0;

	for (size_t i = 0; ike_engine_child_info(p->e, world_sa_spi(p), i, &ci) == 0; i++)
		n += strcmp(ci.state, "INSTALLED") == 0;
	return n;
}

/*
 * Both sides: one IKE SA, the same one; n CHILD_SAs installed, their
 * kernel SAs matching crosswise with the same keys, nothing else left.
 */
static void check_agree(struct world *w, size_t n, const char *what)
{
	struct fake_kernel *k0 = &w->p[0].k, *k1 = &w->p[1].k;
	struct ike_sa *a, *b;

	CHECK_MSG(world_sa_count(&w->p[0]) == 1 && world_sa_count(&w->p[1]) == 1,
		  "%s: %zu / %zu IKE SAs", what, world_sa_count(&w->p[0]),
		  world_sa_count(&w->p[1]));
	a = sa_of(&w->p[0]);
	b = sa_of(&w->p[1]);
	CHECK_MSG(a && b && a->state == IKE_S_ESTABLISHED && b->state == IKE_S_ESTABLISHED &&
		  a->spi_i == b->spi_i && a->spi_r == b->spi_r,
		  "%s: not the same established IKE SA", what);
	CHECK_MSG(installed(&w->p[0]) == n && installed(&w->p[1]) == n,
		  "%s: %zu / %zu CHILD_SAs, expected %zu", what, installed(&w->p[0]),
		  installed(&w->p[1]), n);
	CHECK_MSG(k0->n_sas == 2 * n && k1->n_sas == 2 * n, "%s: %zu / %zu kernel SAs", what,
		  k0->n_sas, k1->n_sas);
	for (size_t i = 0; i < k0->n_sas; i++) {
		const struct xk_sa *o = fake_kernel_find(k1, k0->sas[i].spi);

		CHECK_MSG(o && o->inbound != k0->sas[i].inbound &&
			  !memcmp(o->enc_key, k0->sas[i].enc_key, o->enc_key_len),
			  "%s: SA %08x unmatched", what, k0->sas[i].spi);
	}
	CHECK(k0->n_spis == 0 && k1->n_spis == 0);
}

/* ---- 1. a late duplicate of the first IKE_SA_INIT ---- */

static struct w_pkt first_init;
static bool have_first;

static bool keep_first(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	if (!have_first) {
		first_init = *p;
		have_first = true;
	}
	return true;
}

static void test_late_init_duplicate(void)
{
	static struct world w;
	struct ike_stats before, after;
	struct w_pkt *dup;
	unsigned sent;

	have_first = false;
	world_init(&w, NULL, NULL, false);
	add_conn(&w, 0);
	add_conn(&w, 1);
	w.filter = keep_first;
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	w.filter = NULL;
	CHECK(have_first);
	check_agree(&w, 1, "before the duplicate");
	ike_engine_stats(w.p[1].e, &before);
	sent = w.p[1].sent;
	/* The same datagram again: the SA it started is established by now. */
	dup = malloc(sizeof(*dup));
	*dup = first_init;
	world_put(&w, dup);
	world_run(&w, 1000);
	ike_engine_stats(w.p[1].e, &after);
	CHECK_INT(after.rx_unexpected, before.rx_unexpected + 1);
	CHECK_INT(w.p[1].sent, sent); /* nothing to answer it with any more */
	check_agree(&w, 1, "late IKE_SA_INIT duplicate");
	world_free(&w);
}

/* ---- 2. DELETE of ESP SPI 0 while our new CHILD_SA is CREATING ---- */

struct del_spec {
	uint8_t proto;
	uint32_t spi;
};

static void build_delete(struct ike_mb *mb, void *ctx)
{
	const struct del_spec *d = ctx;
	uint8_t spi[4];

	put_be32(spi, d->spi);
	ike_mb_delete(mb, d->proto, d->proto == IKEV2_PROTO_ESP ? 4 : 0, spi,
		      d->proto == IKEV2_PROTO_ESP ? 1 : 0);
}

/* A request from peer `from` that the peer really sends (its message IDs stay in step). */
static void forge_request(struct world *w, int from, uint8_t exch, w_build build, void *ctx)
{
	struct ike_sa *sa = sa_of(&w->p[from]);

	CHECK(world_forge(w, from, world_sa_spi(&w->p[from]), exch, false, sa->mid_next, build,
			  ctx) == 0);
	sa->mid_next++;
}

static void test_delete_spi_zero(void)
{
	static struct world w;
	struct del_spec del = { IKEV2_PROTO_ESP, 0 };
	struct w_pkt *req;

	establish(&w);
	new_child(&w, 1);
	CHECK_INT(w.q_len, 1);
	req = world_take(&w, 0); /* our CREATE_CHILD_SA, still on its way */
	/* The peer deletes "ESP SPI 0": the SPI our CREATING CHILD_SA sends on so far. */
	forge_request(&w, 1, IKEV2_EXCH_INFORMATIONAL, build_delete, &del);
	world_deliver(&w, 0);
	world_put(&w, req);
	world_run(&w, 10000);
	check_agree(&w, 2, "DELETE(ESP, 0) during CREATE_CHILD_SA");
	world_free(&w);
}

/* ---- 3. our new CHILD_SA crosses the peer's IKE SA rekey ---- */

static void build_temporary_failure(struct ike_mb *mb, void *ctx)
{
	(void)ctx;
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_TEMPORARY_FAILURE, NULL, 0);
}

static void test_child_crosses_ike_rekey(void)
{
	static struct world w;
	struct ike_sa *s0;
	uint64_t spi1;
	uint32_t mid;

	establish(&w);
	s0 = sa_of(&w.p[0]);
	spi1 = world_sa_spi(&w.p[1]);
	mid = s0->mid_next;
	new_child(&w, 1);
	CHECK_INT(ike_engine_rekey_ike(w.p[1].e, spi1), 0);
	CHECK_INT(w.q_len, 2);
	/* The peer's IKE rekey arrives first and is answered... */
	world_deliver(&w, 1);
	/* ... and the peer refuses our CREATE_CHILD_SA as busy (2.25). */
	free(world_take(&w, 0));
	CHECK(world_forge(&w, 1, spi1, IKEV2_EXCH_CREATE_CHILD_SA, true, mid,
			  build_temporary_failure, NULL) == 0);
	world_deliver(&w, w.q_len - 1);
	world_run(&w, 20000);
	check_agree(&w, 1, "CREATE_CHILD_SA refused across an IKE rekey");
	world_free(&w);
}

/* The same crossing, but the CREATE_CHILD_SA succeeds: the CHILD_SA follows. */
static void test_child_crosses_ike_rekey_ok(void)
{
	static struct world w;
	struct w_pkt *req;

	establish(&w);
	new_child(&w, 1);
	/* Our request reaches the peer; its answer is held back ... */
	world_deliver(&w, 0);
	CHECK_INT(w.q_len, 1);
	req = world_take(&w, 0);
	/* ... while the peer rekeys the IKE SA, which we answer first. */
	CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	world_deliver(&w, 0);
	if (req)
		world_put(&w, req);
	world_run(&w, 20000);
	check_agree(&w, 2, "CREATE_CHILD_SA answered across an IKE rekey");
	world_free(&w);
}

/*
 * The peer answers our CHILD_SA rekey, but the answer is lost and the
 * peer's IKE SA rekey deletes the IKE SA it was sent on.  We rekey the
 * CHILD_SA again on the new IKE SA; the peer must not refuse that for
 * ever for the CHILD_SA it made for the lost answer (which we never had).
 */
static void test_child_rekey_answer_lost(void)
{
	static struct world w;
	struct ike_child_info ci;

	establish(&w);
	CHECK_INT(ike_engine_child_info(w.p[0].e, world_sa_spi(&w.p[0]), 0, &ci), 0);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), ci.spi_in), 0);
	world_deliver(&w, 0);
	CHECK_INT(w.q_len, 1);
	free(world_take(&w, 0));
	CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	world_run(&w, 60000);
	check_agree(&w, 1, "CHILD_SA rekey answer lost across an IKE rekey");
	CHECK(world_events(&w.p[0], IKE_EV_CHILD_REKEYED) == 1);
	world_free(&w);
}

/* ---- 4. IKE rekey collision: the loser's DELETE overtakes its response ---- */

static void test_ike_collision_delete_first(void)
{
	static struct world w;
	size_t i;

	establish(&w);
	/* Peer 0's Ni lowest: peer 0's exchange loses (2.8.2). */
	w.p[0].nonce_first[w.p[0].n_nonces] = 0x10;
	w.p[0].nonce_first[w.p[0].n_nonces + 1] = 0x80;
	w.p[1].nonce_first[w.p[1].n_nonces] = 0x80;
	w.p[1].nonce_first[w.p[1].n_nonces + 1] = 0x80;
	CHECK_INT(ike_engine_rekey_ike(w.p[0].e, world_sa_spi(&w.p[0])), 0);
	CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	CHECK_INT(w.q_len, 2);
	world_deliver(&w, 0); /* peer 0's rekey at peer 1: answered, collision noted */
	world_deliver(&w, 0); /* peer 1's rekey at peer 0: answered, collision noted */
	world_deliver(&w, 0); /* peer 1's answer at peer 0: ours lost, DELETE our new SA */
	CHECK_INT(w.q_len, 2);
	/* The DELETE of peer 0's new SA reaches peer 1 before peer 0's answer. */
	for (i = 0; i < w.q_len; i++)
		if (!(w.q[i]->buf[19] & IKEV2_FLAG_RESPONSE))
			break;
	CHECK(i < w.q_len);
	world_deliver(&w, i);
	world_run(&w, 30000);
	check_agree(&w, 1, "IKE rekey collision, loser's DELETE first");
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_DOWN), 0);
	CHECK_INT(world_events(&w.p[1], IKE_EV_CHILD_DOWN), 0);
	world_free(&w);
}

/* ---- 5. a terminate while an IKE SA rekey is out ---- */

struct sa_state_walk {
	enum ike_sa_state state;
	uint64_t spi;
	uint64_t skip; /* find_other: not this one */
};

static void find_state(void *ctx, const struct ike_sa_info *info)
{
	struct sa_state_walk *s = ctx;

	if (info->state == s->state)
		s->spi = info->initiator ? info->spi_i : info->spi_r;
}

static void find_other(void *ctx, const struct ike_sa_info *info)
{
	struct sa_state_walk *s = ctx;
	uint64_t spi = info->initiator ? info->spi_i : info->spi_r;

	if (info->state == s->state && spi != s->skip)
		s->spi = spi;
}

/*
 * The SA the rekey is making (listed, so a control client can name it) is
 * not ours to end by itself; ending the old SA ends what replaces it too,
 * so nothing is left on either side.
 */
static void test_terminate_during_ike_rekey(void)
{
	static struct world w;
	struct sa_state_walk s = { IKE_S_NEW, 0, 0 };
	uint64_t old;

	establish(&w);
	old = world_sa_spi(&w.p[0]);
	CHECK_INT(ike_engine_rekey_ike(w.p[0].e, old), 0);
	ike_engine_foreach_sa(w.p[0].e, find_state, &s);
	CHECK(s.spi != 0);
	CHECK_INT(ike_engine_terminate(w.p[0].e, s.spi), -EBUSY);
	CHECK_INT(ike_engine_terminate(w.p[0].e, old), 0);
	world_run(&w, 20000);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	CHECK(fake_kernel_empty(&w.p[0].k));
	CHECK(fake_kernel_empty(&w.p[1].k));
	world_free(&w);
}

/*
 * ---- 6. an IKE rekey collision, the peer's new SA ended here before our answer ----
 *
 * Both ends rekey at once and answer each other (2.8.2), so each holds the
 * peer's new SA with the CHILD_SA on it.  Peer 0 terminates that SA and
 * then ends it outright (as it would a peer found dead): it is gone here
 * before peer 0's answer says who won.  If peer 1's exchange won
 * (ours_wins false), the CHILD_SA lived on peer 1's SA, which peer 0's
 * DELETE ends with it there: peer 0 drops its half and deletes its own
 * new SA, and nothing is left.  Peer 0 once kept its new SA with the
 * CHILD_SA while peer 1 had that SA as the replaced loser, without it.
 * If peer 0's exchange won, its new SA carries the CHILD_SA on both ends.
 */
static void ike_collision_peer_sa_gone(bool ours_wins)
{
	static struct world w;
	struct sa_state_walk s = { IKE_S_ESTABLISHED, 0, 0 };
	uint64_t old;

	establish(&w);
	old = s.skip = world_sa_spi(&w.p[0]);
	/* The exchange with the lowest nonce loses (2.8.2): Ni of peer 0 or of peer 1. */
	w.p[0].nonce_first[w.p[0].n_nonces] = ours_wins ? 0x80 : 0x10;
	w.p[0].nonce_first[w.p[0].n_nonces + 1] = 0x80;
	w.p[1].nonce_first[w.p[1].n_nonces] = ours_wins ? 0x10 : 0x80;
	w.p[1].nonce_first[w.p[1].n_nonces + 1] = 0x80;
	CHECK_INT(ike_engine_rekey_ike(w.p[0].e, old), 0);
	CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	CHECK_INT(w.q_len, 2);
	world_deliver(&w, 0); /* peer 0's rekey at peer 1: answered, collision noted */
	world_deliver(&w, 0); /* peer 1's rekey at peer 0: answered, collision noted */
	world_work_all(&w);
	CHECK_INT(w.q_len, 2);
	/* Peer 1's new SA at peer 0: the only established SA there but the old one. */
	ike_engine_foreach_sa(w.p[0].e, find_other, &s);
	CHECK(s.spi != 0);
	CHECK(ike_engine_find_sa(w.p[0].e, s.spi)->children != NULL);
	CHECK_INT(ike_engine_terminate(w.p[0].e, s.spi), 0);
	CHECK_INT(ike_engine_terminate(w.p[0].e, s.spi), 0);
	CHECK(ike_engine_find_sa(w.p[0].e, s.spi) == NULL);
	world_run(&w, 60000);
	if (ours_wins) {
		check_agree(&w, 1, "IKE rekey collision won, the peer's SA ended here");
	} else {
		CHECK_INT(world_sa_count(&w.p[0]), 0);
		CHECK_INT(world_sa_count(&w.p[1]), 0);
		CHECK(fake_kernel_empty(&w.p[0].k));
		CHECK(fake_kernel_empty(&w.p[1].k));
	}
	world_free(&w);
}

static void test_ike_collision_winner_gone(void)
{
	ike_collision_peer_sa_gone(false);
}

static void test_ike_collision_loser_gone(void)
{
	ike_collision_peer_sa_gone(true);
}

/* ---- the peer's SPIs ---- */

struct ccs_spec {
	uint32_t spi;
	const char *tsi, *tsr; /* NULL: 10.1.9.0/24 and 10.2.9.0/24 */
};

/* CREATE_CHILD_SA request for a new CHILD_SA whose proposal carries `spi`. */
static void build_ccs(struct ike_mb *mb, void *ctx)
{
	const struct ccs_spec *s = ctx;
	struct ike_proposal p;
	struct xk_ts ts[2];
	uint8_t nonce[32] = { 1, 2, 3 };
	char err[64];

	ike_proposals_parse("aes128gcm16", IKEV2_PROTO_ESP, &p, 1, err, sizeof(err));
	p.num = 1;
	p.spi_size = 4;
	put_be32(p.spi, s->spi);
	ike_mb_sa(mb, &p, 1);
	ike_mb_nonce(mb, nonce, sizeof(nonce));
	xk_ts_parse(s->tsi ? s->tsi : "10.1.9.0/24", &ts[0]);
	xk_ts_parse(s->tsr ? s->tsr : "10.2.9.0/24", &ts[1]);
	ike_mb_ts(mb, IKEV2_PL_TSI, &ts[0], 1);
	ike_mb_ts(mb, IKEV2_PL_TSR, &ts[1], 1);
}

/*
 * The responder: a CREATE_CHILD_SA whose proposal carries a reserved SPI,
 * or one the peer already uses, makes nothing; a fresh one (the last case)
 * makes the CHILD_SA, so the refusals are about the SPI alone.
 */
static void test_peer_spis(void)
{
	static const uint32_t spis[] = { 0, 1, 255, 0 /* in use */, 0x1000 };
	const size_t n = sizeof(spis) / sizeof(spis[0]);

	for (size_t i = 0; i < n; i++) {
		static struct world w;
		struct ccs_spec s = { .spi = spis[i] };
		size_t want = i == n - 1 ? 2 : 1;

		establish(&w);
		/* An SPI the peer already sends on. */
		if (i == 3)
			s.spi = w.p[1].k.sas[0].inbound ? w.p[1].k.sas[1].spi : w.p[1].k.sas[0].spi;
		forge_request(&w, 0, IKEV2_EXCH_CREATE_CHILD_SA, build_ccs, &s);
		world_run(&w, 5000);
		CHECK_MSG(installed(&w.p[1]) == want, "peer SPI %08x: %zu CHILD_SAs", s.spi,
			  installed(&w.p[1]));
		CHECK_MSG(w.p[1].k.n_sas == 2 * want && w.p[1].k.n_spis == 0,
			  "peer SPI %08x: %zu kernel SAs, %zu SPIs", s.spi, w.p[1].k.n_sas,
			  w.p[1].k.n_spis);
		world_free(&w);
	}
}

/*
 * A new CHILD_SA (no REKEY_SA) with the selectors of the one we have: its
 * policies would be the same ones.  Refused with NO_ADDITIONAL_SAS (section
 * 3.10.1), which the peer does not retry, nothing made; the first CHILD_SA
 * and the IKE SA stand.
 */
static void test_duplicate_child(void)
{
	static struct world w;
	struct ccs_spec s = { 0x2000, "10.1.0.0/16", "10.2.0.0/16" };
	const struct ike_event *ev;

	establish(&w);
	forge_request(&w, 0, IKEV2_EXCH_CREATE_CHILD_SA, build_ccs, &s);
	world_run(&w, 5000);
	ev = world_event(&w.p[1], IKE_EV_FAILED);
	CHECK_MSG(ev && ev->notify == IKEV2_N_NO_ADDITIONAL_SAS, "refused with %s",
		  ev ? ikev2_notify_name(ev->notify) : "nothing");
	CHECK_INT(installed(&w.p[1]), 1);
	CHECK_INT(w.p[1].k.n_sas, 2);
	CHECK_INT(w.p[1].k.n_spis, 0);
	world_free(&w);
}

/* CREATE_CHILD_SA rekeying the CHILD_SA whose inbound SPI (at the sender) is spec->spi. */
static void build_rekey_of(struct ike_mb *mb, void *ctx)
{
	const struct ccs_spec *s = ctx;
	uint8_t spi[4];

	put_be32(spi, s->spi);
	ike_mb_notify(mb, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
	build_ccs(mb, &(struct ccs_spec){ .spi = 0x2000 });
}

/* The notify in peer 1's answer to the request last queued (opened with peer 0's keys). */
static uint16_t answer_notify(struct world *w)
{
	struct ike_sa *sa = sa_of(&w->p[0]);
	struct ike_sk_ctx sk;
	struct ike_msg m;
	struct ike_notify n;
	struct w_pkt *p;
	uint16_t type = 0;
	int len;

	world_deliver(w, w->q_len - 1);
	p = world_take(w, w->q_len - 1);
	if (!p || ike_msg_parse(&m, p->buf, p->len) < 0 || !m.has_sk) {
		free(p);
		return 0;
	}
	ike_sa_sk_ctx(sa, false, &sk);
	len = ike_sk_open(&sk, p->buf, m.sk_off + IKEV2_GENHDR_LEN, p->len);
	if (len > 0) {
		const uint8_t *pt = p->buf + m.sk_off + IKEV2_GENHDR_LEN +
				    ike_encr_iv_len(sa->suite.encr);

		if (ike_msg_parse_inner(&m, pt, (size_t)len - pt[len - 1] - 1) == 0 &&
		    m.n_pl && m.pl[0].type == IKEV2_PL_NOTIFY && ike_pl_notify(&m.pl[0], &n) == 0)
			type = n.type;
	}
	free(p);
	return type;
}

/*
 * Section 2.25.1: a rekey of a CHILD_SA the peer itself has deleted (we
 * keep only its inbound SA a few seconds) is for one that does not exist:
 * CHILD_SA_NOT_FOUND, not TEMPORARY_FAILURE (which would have the peer ask
 * again for ever).
 */
static void test_rekey_deleted_child(void)
{
	static struct world w;
	struct ike_child_info ci;
	uint32_t old_in0;

	establish(&w);
	CHECK_INT(ike_engine_child_info(w.p[0].e, world_sa_spi(&w.p[0]), 0, &ci), 0);
	old_in0 = ci.spi_in;
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), old_in0), 0);
	/* The rekey and peer 0's DELETE of the old pair, no more. */
	for (int i = 0; i < 4 && w.q_len; i++)
		world_deliver(&w, 0);
	CHECK_INT(w.q_len, 0);
	forge_request(&w, 0, IKEV2_EXCH_CREATE_CHILD_SA, build_rekey_of,
		      &(struct ccs_spec){ .spi = old_in0 });
	CHECK_INT(answer_notify(&w), IKEV2_N_CHILD_SA_NOT_FOUND);
	world_free(&w);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "late-init-duplicate", test_late_init_duplicate },
	{ "delete-spi-zero", test_delete_spi_zero },
	{ "child-crosses-ike-rekey", test_child_crosses_ike_rekey },
	{ "child-crosses-ike-rekey-ok", test_child_crosses_ike_rekey_ok },
	{ "child-rekey-answer-lost", test_child_rekey_answer_lost },
	{ "ike-collision-delete-first", test_ike_collision_delete_first },
	{ "terminate-during-ike-rekey", test_terminate_during_ike_rekey },
	{ "ike-collision-winner-gone", test_ike_collision_winner_gone },
	{ "ike-collision-loser-gone", test_ike_collision_loser_gone },
	{ "peer-spis", test_peer_spis },
	{ "duplicate-child", test_duplicate_child },
	{ "rekey-deleted-child", test_rekey_deleted_child },
};

/* All cases, or the one named (to see one fail on its own). */
int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || strcmp(argv[1], cases[i].name) == 0)
			cases[i].run();
	return check_done("hostile");
}
