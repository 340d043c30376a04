/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SA rekeying with CREATE_CHILD_SA (RFC 7296 sections 1.3.3, 2.8):
 * make-before-break from either end, with and without PFS, after an
 * INVALID_KE_PAYLOAD, with lost messages, against a simultaneous DELETE,
 * and every ordering of a collision (each of the four nonces lowest).
 * In every case exactly one CHILD_SA pair survives, with matching keys.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "rekeying secret"

static struct ike_sa *sa_of(struct w_peer *p)
{
	return ike_engine_find_sa(p->e, world_sa_spi(p));
}

static void establish(struct world *w, const char *esp0, const char *esp1)
{
	world_init(w, NULL, NULL, false);
	world_conn(w, 0, "c", "aes128gcm16-prfsha256-x25519", esp0, PSK);
	world_conn(w, 1, "c", "aes128gcm16-prfsha256-x25519", esp1, PSK);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static size_t installed_children(struct w_peer *p, uint32_t *spi_in)
{
	return world_installed(p, spi_in);
}

/* The outbound SPI of p's installed CHILD_SA (the last one listed). */
static uint32_t installed_spi_out(struct w_peer *p)
{
	struct ike_child_info ci;
	uint32_t spi = 0;

	for (size_t i = 0; ike_engine_child_info(p->e, world_sa_spi(p), i, &ci) == 0; i++)
		if (strcmp(ci.state, "INSTALLED") == 0)
			spi = ci.spi_out;
	return spi;
}

/* Exactly one pair each side, matching crosswise, policies untouched. */
static void check_one_pair(struct world *w, const char *what)
{
	char why[128] = "";

	CHECK_MSG(world_one_pair(w, why, sizeof(why)), "%s: %s", what, why);
}

/*
 * The backend reports a soft expiry of p's outbound SA (named, as the
 * kernel names it, by the peer's address and the SPI the peer chose):
 * the CHILD_SA is rekeyed, one pair is left, with a new inbound SPI.
 */
static void check_expire_out(struct world *w, int p, const char *what)
{
	struct xk_sa_id id = { .proto = 50, .dst = w->p[1 - p].addr };
	uint32_t before = 0, after = 0;

	installed_children(&w->p[p], &before);
	id.spi = installed_spi_out(&w->p[p]);
	CHECK_MSG(ike_engine_expire(w->p[p].e, &id, false) == 0, "%s: outbound SA %08x not found",
		  what, id.spi);
	world_run(w, 10000);
	check_one_pair(w, what);
	installed_children(&w->p[p], &after);
	CHECK_MSG(after != before, "%s: no rekey after the outbound SA's soft expiry", what);
}

static void test_rekey(int by, const char *esp, const char *what)
{
	static struct world w;
	uint32_t old_in = 0, new_in = 0;
	struct ike_stats s;

	establish(&w, esp, esp);
	CHECK_INT(installed_children(&w.p[by], &old_in), 1);
	CHECK_INT(ike_engine_rekey_child(w.p[by].e, world_sa_spi(&w.p[by]), old_in), 0);
	world_run(&w, 1000);
	/* Both sides use the new pair; the old inbound SAs still linger. */
	CHECK_INT(installed_children(&w.p[by], &new_in), 1);
	CHECK(new_in != old_in);
	CHECK_MSG(w.p[0].k.n_sas == 3 && w.p[1].k.n_sas == 3, "%s: %zu / %zu SAs lingering", what,
		  w.p[0].k.n_sas, w.p[1].k.n_sas);
	world_run(&w, 10000);
	check_one_pair(&w, what);
	ike_engine_stats(w.p[by].e, &s);
	CHECK_INT(s.rekeys, 1);
	ike_engine_stats(w.p[1 - by].e, &s);
	CHECK_INT(s.rekeys, 1);
	CHECK(sa_of(&w.p[0])->state == IKE_S_ESTABLISHED);
	world_free(&w);
}

/*
 * Section 2.17, computed here independently: KEYMAT = prf+(SK_d, Ni | Nr)
 * with the nonces of the CREATE_CHILD_SA exchange, the first key being the
 * exchange initiator's outbound key, whichever end started the IKE SA.
 */
static void test_rekey_keymat(int by)
{
	static struct world w;
	uint32_t old_in = 0, new_in = 0;
	uint8_t ni[256], keymat[40];
	size_t ni_len;
	struct ike_sa *sa;
	const struct xk_sa *out = NULL;

	establish(&w, "aes128gcm16", "aes128gcm16");
	installed_children(&w.p[by], &old_in);
	CHECK_INT(ike_engine_rekey_child(w.p[by].e, world_sa_spi(&w.p[by]), old_in), 0);
	/* Run until the request is out: the initiator's nonce is its latest. */
	world_run(&w, 0);
	ni_len = w.p[by].last_nonce_len;
	memcpy(ni, w.p[by].last_nonce, ni_len);
	world_run(&w, 1000);
	installed_children(&w.p[by], &new_in);
	sa = sa_of(&w.p[by]);
	CHECK_INT(ike_child_keymat(sa->suite.prf, sa->keys.sk_d, sa->keys.prf_len, NULL, 0, ni,
				   ni_len, w.p[1 - by].last_nonce, w.p[1 - by].last_nonce_len,
				   keymat, sizeof(keymat)), 0);
	/* The rekeying end's new outbound SA carries the first key of KEYMAT. */
	for (struct ike_child *c = sa->children; c; c = c->next)
		if (c->spi_in == new_in)
			out = fake_kernel_find(&w.p[by].k, c->spi_out);
	CHECK(out != NULL);
	if (out)
		CHECK_MSG(memcmp(out->enc_key, keymat, 20) == 0,
			  "rekey started by peer %d: outbound key is not KEYMAT's first", by);
	world_free(&w);
}

static void test_invalid_ke(void)
{
	static struct world w;
	uint32_t in = 0;

	/* The initiator offers x25519 first for PFS; the responder takes only ecp256. */
	establish(&w, "aes128gcm16-x25519-ecp256", "aes128gcm16-ecp256");
	installed_children(&w.p[0], &in);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in), 0);
	world_run(&w, 10000);
	check_one_pair(&w, "rekey after INVALID_KE_PAYLOAD");
	world_free(&w);
}

/* Drop the n-th datagram after the handshake. */
static unsigned drop_at;

static bool drop_one(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)p;
	return seq != drop_at;
}

static void test_loss(void)
{
	/* 4, 5: the CREATE_CHILD_SA request and response; 6, 7: the DELETE. */
	for (drop_at = 4; drop_at <= 7; drop_at++) {
		static struct world w;
		uint32_t in = 0;
		char what[64];

		establish(&w, "aes128gcm16", "aes128gcm16");
		w.filter = drop_one;
		installed_children(&w.p[0], &in);
		ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in);
		world_run(&w, 30000);
		snprintf(what, sizeof(what), "rekey with datagram %u lost", drop_at);
		check_one_pair(&w, what);
		world_free(&w);
	}
}

/*
 * Both ends rekey at once.  Exchange A is peer 0's (Ni_A from peer 0, Nr_A
 * from peer 1), B is peer 1's.  Peer 0 makes its nonces in the order
 * Ni_A, Nr_B; peer 1 in the order Ni_B, Nr_A.  The exchange holding the
 * lowest nonce loses: its new CHILD_SA is deleted by its initiator.
 */
static void test_collisions(void)
{
	static const struct {
		const char *what;
		int p0[2], p1[2];
		bool a_wins;
	} cases[] = {
		{ "Ni of A lowest", { 0x10, 0x80 }, { 0x80, 0x80 }, false },
		{ "Nr of A lowest", { 0x80, 0x80 }, { 0x80, 0x10 }, false },
		{ "Ni of B lowest", { 0x80, 0x80 }, { 0x10, 0x80 }, true },
		{ "Nr of B lowest", { 0x80, 0x10 }, { 0x80, 0x80 }, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct world w;
		uint32_t in0 = 0, in1 = 0, survivor = 0;

		establish(&w, "aes128gcm16", "aes128gcm16");
		installed_children(&w.p[0], &in0);
		installed_children(&w.p[1], &in1);
		for (int n = 0; n < 2; n++) {
			w.p[0].nonce_first[w.p[0].n_nonces + (unsigned)n] = cases[i].p0[n];
			w.p[1].nonce_first[w.p[1].n_nonces + (unsigned)n] = cases[i].p1[n];
		}
		/* Both requests are on the wire before either is answered. */
		CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in0), 0);
		CHECK_INT(ike_engine_rekey_child(w.p[1].e, world_sa_spi(&w.p[1]), in1), 0);
		world_run(&w, 20000);
		check_one_pair(&w, cases[i].what);
		/*
		 * The fake kernels hand out SPIs in order: peer 0 made c0000001
		 * for A (as initiator) and c0000002 for B (as responder).
		 */
		installed_children(&w.p[0], &survivor);
		CHECK_MSG(survivor == (cases[i].a_wins ? 0xc0000001u : 0xc0000002u),
			  "%s: survivor %08x", cases[i].what, survivor);
		world_free(&w);
	}
}

/* One end rekeys while the other deletes: no CHILD_SA, nothing left. */
static void test_rekey_vs_delete(void)
{
	static struct world w;
	uint32_t in0, in1;

	establish(&w, "aes128gcm16", "aes128gcm16");
	installed_children(&w.p[0], &in0);
	installed_children(&w.p[1], &in1);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in0), 0);
	CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), in1), 0);
	world_run(&w, 20000);
	CHECK_INT(installed_children(&w.p[0], NULL), 0);
	CHECK_INT(installed_children(&w.p[1], NULL), 0);
	CHECK(fake_kernel_empty(&w.p[0].k));
	CHECK(fake_kernel_empty(&w.p[1].k));
	CHECK(sa_of(&w.p[0])->state == IKE_S_ESTABLISHED);
	world_free(&w);
}

/* A soft expiry from the backend rekeys; a hard one deletes. */
static void test_expire(void)
{
	static struct world w;
	struct xk_sa_id id = { .proto = 50 };
	uint32_t in = 0;

	establish(&w, "aes256gcm16", "aes256gcm16");
	installed_children(&w.p[1], &in);
	id.dst = w.p[1].addr;
	id.spi = in;
	CHECK_INT(ike_engine_expire(w.p[1].e, &id, false), 0);
	world_run(&w, 10000);
	check_one_pair(&w, "soft expire");
	installed_children(&w.p[1], &in);
	id.spi = in;
	CHECK_INT(ike_engine_expire(w.p[1].e, &id, true), 0);
	world_run(&w, 10000);
	CHECK_INT(installed_children(&w.p[0], NULL), 0);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
	id.spi = 0x12345678;
	CHECK_INT(ike_engine_expire(w.p[1].e, &id, false), -ENOENT);
	world_free(&w);

	/*
	 * The larval SA of a CHILD_SA still in negotiation expires (a slow
	 * peer: the kernel drops larval SAs after 30 s): not an installed
	 * CHILD_SA, so the engine leaves it alone; the exchange keeps its
	 * CHILD_SA and completes.
	 */
	establish(&w, "aes256gcm16", "aes256gcm16");
	installed_children(&w.p[0], &in);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in), 0);
	id.dst = w.p[0].addr;
	id.spi = w.p[0].k.next_spi - 1; /* the SPI the rekey just allocated */
	CHECK_INT(ike_engine_expire(w.p[0].e, &id, true), -ENOENT);
	world_run(&w, 10000);
	check_one_pair(&w, "rekey after its larval SA expired");
	world_free(&w);
}

/* What p's kernel holds, as a backend reads it back after lost events. */
struct view {
	struct ike_kernel_sa sas[16];
	struct ike_kernel_pol pols[16];
	struct ike_kernel_view kv;
};

static void view_of(struct w_peer *p, struct view *v)
{
	memset(v, 0, sizeof(*v));
	v->kv = (struct ike_kernel_view){ .sas = v->sas, .pols = v->pols };
	for (size_t i = 0; i < p->k.n_sas && i < 16; i++) {
		v->sas[i].id = (struct xk_sa_id){ .dst = p->k.sas[i].dst, .spi = p->k.sas[i].spi,
						  .proto = 50 };
		v->kv.n_sas++;
	}
	for (size_t i = 0; i < p->k.n_pols && i < 16; i++) {
		v->pols[i].pol = p->k.pols[i];
		v->kv.n_pols++;
	}
}

static void sync_expect(struct w_peer *p, struct view *v, uint32_t gone, uint32_t due,
			uint32_t restored, const char *what)
{
	struct ike_sync_result r;

	CHECK_INT(ike_engine_kernel_sync(p->e, &v->kv, &r), 0);
	CHECK_MSG(r.gone == gone && r.due == due && r.restored == restored,
		  "%s: gone %u due %u restored %u", what, r.gone, r.due, r.restored);
}

/*
 * Events the backend lost (an overrun of its event socket): the kernel's
 * state read back and reconciled.  An SA past its soft lifetime is
 * rekeyed, a missing policy installed again, entries no CHILD_SA holds are
 * left to the caller, and a CHILD_SA whose SA the kernel dropped (a hard
 * expiry nobody heard of) is deleted with the peer, as on a hard expiry.
 */
static void test_kernel_sync(void)
{
	static struct world w;
	static struct view v;
	struct w_peer *p = &w.p[1];
	uint32_t in = 0, after = 0;
	struct xk_policy gone_pol;
	struct xk_sa_id id;

	establish(&w, "aes256gcm16", "aes256gcm16");
	view_of(p, &v);
	sync_expect(p, &v, 0, 0, 0, "in step");
	for (size_t i = 0; i < v.kv.n_sas; i++)
		CHECK(v.sas[i].ours);
	for (size_t i = 0; i < v.kv.n_pols; i++)
		CHECK(v.pols[i].ours);

	/* A lost soft expiry: due, rekeyed once (the second sync finds it rekeying). */
	installed_children(p, &in);
	view_of(p, &v);
	v.sas[0].soft_due = true;
	sync_expect(p, &v, 0, 1, 0, "soft lifetime passed");
	sync_expect(p, &v, 0, 0, 0, "soft lifetime passed, again");
	world_run(&w, 10000);
	check_one_pair(&w, "rekey after a lost soft expiry");
	installed_children(p, &after);
	CHECK(after != in);

	/* A policy gone, and a stale SA and policy: restored, and left to the caller. */
	gone_pol = p->k.pols[1];
	fake_kernel_ops.del_policy(&p->k, &gone_pol);
	view_of(p, &v);
	v.sas[v.kv.n_sas++].id = (struct xk_sa_id){ .dst = p->addr, .spi = 0xc0ffee, .proto = 50 };
	v.pols[v.kv.n_pols].pol = gone_pol;
	v.pols[v.kv.n_pols++].pol.reqid = 0x7c0000ff;
	sync_expect(p, &v, 0, 0, 1, "a policy missing");
	CHECK_INT(p->k.n_pols, 3);
	for (size_t i = 0; i < v.kv.n_sas; i++)
		CHECK(v.sas[i].ours == (v.sas[i].id.spi != 0xc0ffee));
	for (size_t i = 0; i < v.kv.n_pols; i++)
		CHECK(v.pols[i].ours == (v.pols[i].pol.reqid != 0x7c0000ff));

	/* A lost hard expiry of the inbound SA: deleted with the peer. */
	id = (struct xk_sa_id){ .dst = p->addr, .spi = after, .proto = 50 };
	fake_kernel_ops.del_sa(&p->k, &id);
	view_of(p, &v);
	sync_expect(p, &v, 1, 0, 0, "an SA gone");
	world_run(&w, 10000);
	CHECK_INT(installed_children(&w.p[0], NULL), 0);
	CHECK_INT(installed_children(p, NULL), 0);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&p->k));
	CHECK(sa_of(&w.p[0])->state == IKE_S_ESTABLISHED);
	world_free(&w);
}

struct sa_list {
	uint64_t spi[4];
	size_t n;
};

static void collect(void *ctx, const struct ike_sa_info *info)
{
	struct sa_list *l = ctx;

	if (l->n < 4 && info->state == IKE_S_ESTABLISHED)
		l->spi[l->n++] = info->initiator ? info->spi_i : info->spi_r;
}

static size_t ike_sas(struct w_peer *p, uint64_t *spi)
{
	struct sa_list l = { .n = 0 };

	ike_engine_foreach_sa(p->e, collect, &l);
	if (spi && l.n)
		*spi = l.spi[0];
	return l.n;
}

/* After an IKE SA rekey: one IKE SA each, new keys agree, the CHILD_SA still works. */
static void check_ike_rekeyed(struct world *w, uint64_t old_i, const char *what)
{
	struct ike_sa *a, *b;
	uint64_t s0 = 0, s1 = 0;
	uint32_t in = 0;

	CHECK_MSG(ike_sas(&w->p[0], &s0) == 1 && ike_sas(&w->p[1], &s1) == 1, "%s: %zu / %zu IKE SAs",
		  what, ike_sas(&w->p[0], NULL), ike_sas(&w->p[1], NULL));
	a = ike_engine_find_sa(w->p[0].e, s0);
	b = ike_engine_find_sa(w->p[1].e, s1);
	if (!a || !b)
		return;
	CHECK(a->spi_i == b->spi_i && a->spi_r == b->spi_r);
	CHECK(a->spi_i != old_i);
	CHECK(a->initiator != b->initiator);
	CHECK_MSG(memcmp(&a->keys, &b->keys, sizeof(a->keys)) == 0, "%s: keys differ", what);
	/*
	 * The CHILD_SA moved along: the kernel's events find it under the new
	 * SA, on either side, and it can still be rekeyed there.
	 */
	check_one_pair(w, what);
	check_expire_out(w, 0, what);
	check_expire_out(w, 1, what);
	CHECK_INT(installed_children(&w->p[0], &in), 1);
	CHECK_INT(ike_engine_rekey_child(w->p[0].e, s0, in), 0);
	world_run(w, 10000);
	check_one_pair(w, what);
	CHECK_INT(ike_engine_liveness(w->p[1].e, s1), 0);
	world_run(w, 1000);
	CHECK_INT(ike_sas(&w->p[1], NULL), 1);
}

static void test_ike_rekey(void)
{
	for (int by = 0; by < 2; by++) {
		static struct world w;
		uint64_t old_i;

		establish(&w, "aes128gcm16", "aes128gcm16");
		old_i = sa_of(&w.p[0])->spi_i;
		CHECK_INT(ike_engine_rekey_ike(w.p[by].e, world_sa_spi(&w.p[by])), 0);
		world_run(&w, 10000);
		/* No outage: nothing went down on either side. */
		CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_DOWN), 0);
		CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_DOWN), 0);
		CHECK_INT(world_events(&w.p[1], IKE_EV_CHILD_DOWN), 0);
		CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_REKEYED), 1);
		check_ike_rekeyed(&w, old_i, by ? "IKE rekey by the responder" : "IKE rekey by the initiator");
		world_free(&w);
	}
}

static void test_ike_rekey_collision(void)
{
	static const int firsts[][4] = {
		{ 0x10, 0x80, 0x80, 0x80 }, /* peer 0's Ni lowest */
		{ 0x80, 0x80, 0x10, 0x80 }, /* peer 1's Ni lowest */
		{ 0x80, 0x10, 0x80, 0x80 }, /* peer 0's Nr lowest */
		{ 0x80, 0x80, 0x80, 0x10 }, /* peer 1's Nr lowest */
	};

	for (size_t i = 0; i < 4; i++) {
		static struct world w;
		uint64_t old_i;
		char what[64];

		establish(&w, "aes128gcm16", "aes128gcm16");
		old_i = sa_of(&w.p[0])->spi_i;
		w.p[0].nonce_first[w.p[0].n_nonces] = firsts[i][0];
		w.p[0].nonce_first[w.p[0].n_nonces + 1] = firsts[i][1];
		w.p[1].nonce_first[w.p[1].n_nonces] = firsts[i][2];
		w.p[1].nonce_first[w.p[1].n_nonces + 1] = firsts[i][3];
		CHECK_INT(ike_engine_rekey_ike(w.p[0].e, world_sa_spi(&w.p[0])), 0);
		CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
		world_run(&w, 20000);
		snprintf(what, sizeof(what), "IKE rekey collision %zu", i);
		check_ike_rekeyed(&w, old_i, what);
		world_free(&w);
	}
}

static bool drop_all(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)p;
	(void)seq;
	return false;
}

/* A silent peer: found dead by liveness checks, everything removed. */
static void test_dpd(void)
{
	static struct world w;
	struct ike_proposal ip[2], ep[2];
	char err[64];
	struct ike_stats s;
	uint64_t t0;

	world_init(&w, NULL, NULL, false);
	for (int i = 0; i < 2; i++) {
		struct ike_conn_cfg c = {
			.name = "c", .local = w.p[i].addr, .remote = w.p[1 - i].addr,
			.psk = (const uint8_t *)PSK, .psk_len = strlen(PSK),
			.ike = ip, .esp = ep, .mode = XK_MODE_TUNNEL,
			.dpd_s = 10, .dpd_timeout_s = 30,
		};
		c.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519", 1, ip, 2, err, 64);
		c.n_esp = (size_t)ike_proposals_parse("aes128gcm16", 3, ep, 2, err, 64);
		c.local.port = c.remote.port = 0;
		ike_engine_add_conn(w.p[i].e, &c);
	}
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	CHECK_INT(installed_children(&w.p[0], NULL), 1);
	/* A live peer answers: after a minute both are still up. */
	world_run(&w, 60000);
	CHECK_INT(ike_sas(&w.p[0], NULL), 1);
	ike_engine_stats(w.p[0].e, &s);
	CHECK(s.dpd_dead == 0);
	/* Now the peer goes silent. */
	w.filter = drop_all;
	t0 = w.now;
	world_run(&w, 120000);
	CHECK_INT(ike_sas(&w.p[0], NULL), 0);
	/* Silence for dpd (10 s), then dpd-timeout (30 s) without an answer. */
	CHECK_MSG(w.now - t0 <= 45000, "dead after %llu ms", (unsigned long long)(w.now - t0));
	CHECK_INT(world_events(&w.p[0], IKE_EV_PEER_DEAD), 1);
	CHECK(fake_kernel_empty(&w.p[0].k));
	ike_engine_stats(w.p[0].e, &s);
	CHECK_INT(s.dpd_dead, 1);
	world_free(&w);
}

/*
 * CHILD_SA and IKE SA rekeys at the same time: queued behind each other on
 * one side, crossing on the wire between the two.  The CHILD_SA rekey
 * follows its CHILD_SA to the new IKE SA or is retried; one of each stays.
 */
static void test_child_and_ike_rekey(void)
{
	for (int mode = 0; mode < 3; mode++) {
		static struct world w;
		uint64_t old_i;
		uint32_t in0 = 0, in1 = 0;
		static const char *const what[] = {
			"IKE rekey, then CHILD rekey queued behind it",
			"CHILD rekey on one side, IKE rekey on the other",
			"IKE rekey on one side, CHILD rekey on the other",
		};

		establish(&w, "aes128gcm16", "aes128gcm16");
		old_i = sa_of(&w.p[0])->spi_i;
		installed_children(&w.p[0], &in0);
		installed_children(&w.p[1], &in1);
		if (mode == 0) {
			CHECK_INT(ike_engine_rekey_ike(w.p[0].e, world_sa_spi(&w.p[0])), 0);
			CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in0), 0);
		} else if (mode == 1) {
			CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), in0), 0);
			CHECK_INT(ike_engine_rekey_ike(w.p[1].e, world_sa_spi(&w.p[1])), 0);
		} else {
			CHECK_INT(ike_engine_rekey_ike(w.p[0].e, world_sa_spi(&w.p[0])), 0);
			CHECK_INT(ike_engine_rekey_child(w.p[1].e, world_sa_spi(&w.p[1]), in1), 0);
		}
		world_run(&w, 20000);
		CHECK_MSG(ike_sas(&w.p[0], NULL) == 1 && ike_sas(&w.p[1], NULL) == 1,
			  "%s: %zu / %zu IKE SAs", what[mode], ike_sas(&w.p[0], NULL),
			  ike_sas(&w.p[1], NULL));
		check_one_pair(&w, what[mode]);
		/* The CHILD_SA was really rekeyed, not just left alone. */
		installed_children(&w.p[0], &in1);
		CHECK_MSG(in1 != in0, "%s: CHILD_SA not rekeyed", what[mode]);
		CHECK(sa_of(&w.p[0])->spi_i != old_i);
		world_free(&w);
	}
}

/* The restart: a fresh engine and a fresh kernel on peer 0, which connects again. */
static void restart_peer0(struct world *w)
{
	ike_engine_free(w->p[0].e);
	fake_kernel_init(&w->p[0].k, 0xc8000000u);
	w->p[0].e = world_engine(w, 0, NULL);
	world_conn(w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

/*
 * Peer 0 restarts (all state lost) and connects again: INITIAL_CONTACT.
 * Honoured only where the connection pins the peer's identity: on one
 * that takes any, another holder of the PSK could name this identity.
 */
static void test_initial_contact(void)
{
	static struct world w;
	struct ike_stats s;

	establish(&w, "aes128gcm16", "aes128gcm16");
	restart_peer0(&w);
	CHECK_INT(ike_sas(&w.p[1], NULL), 2);
	world_free(&w);

	establish(&w, "aes128gcm16", "aes128gcm16");
	CHECK_INT(ike_sas(&w.p[1], NULL), 1);
	CHECK_INT(ike_id_parse("192.0.2.1", &ike_conn_first(w.p[1].e)->remote_id), 0);
	restart_peer0(&w);
	/* Peer 1 keeps only the new IKE SA and one CHILD_SA pair. */
	CHECK_INT(ike_sas(&w.p[1], NULL), 1);
	check_one_pair(&w, "after INITIAL_CONTACT");
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.ike_sa_active, 1);
	/* A second IKE SA of a peer that did not restart sends no INITIAL_CONTACT. */
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	CHECK_INT(ike_sas(&w.p[1], NULL), 2);
	world_free(&w);
}

int main(void)
{
	test_rekey(0, "aes128gcm16", "rekey by the initiator");
	test_rekey(1, "aes128gcm16", "rekey by the responder");
	test_rekey(0, "aes128gcm16-x25519", "rekey with PFS");
	test_rekey(1, "aes256-sha512-ecp384", "rekey with PFS, CBC");
	test_rekey_keymat(0);
	test_rekey_keymat(1);
	test_invalid_ke();
	test_loss();
	test_collisions();
	test_rekey_vs_delete();
	test_expire();
	test_kernel_sync();
	test_ike_rekey();
	test_ike_rekey_collision();
	test_dpd();
	test_initial_contact();
	test_child_and_ike_rekey();
	return check_done("rekey");
}
