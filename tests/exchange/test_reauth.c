/* SPDX-License-Identifier: ISC */
/*
 * IKE SA reauthentication (RFC 7296 section 2.8.3), make-before-break: a
 * new IKE_SA_INIT + IKE_AUTH, the CHILD_SAs made again on the new SA, then
 * the old SA deleted.  Before every datagram is delivered, both fake
 * kernels are checked: every policy of the start is still there with its
 * reqid, and the outbound SA each end would send on (the newest of the
 * reqid) has its inbound twin, with the same key, at the other end, and
 * after each datagram is read, the receiver still has the inbound twins
 * of what its sender was sending on when it sent the datagram.  So
 * no policy goes and no packet is lost at any step, with each message
 * lost in turn, against a refusing or silent peer, across CHILD_SA
 * rekeys, from either end, on a timer and after the peer reloaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "reauthentication secret"
#define MAX_CHILD 4

static struct world w;

/* Both ends: peer 0 protects 10.1.0.0/16, peer 1 10.2.0.0/16. */
static void add_conn(int i, uint32_t reauth_s, uint32_t ike_rekey_s)
{
	struct ike_proposal ip[2], ep[2];
	char err[64];
	struct ike_conn_cfg c = {
		.name = "c", .local = w.p[i].addr, .remote = w.p[1 - i].addr,
		.psk = (const uint8_t *)PSK, .psk_len = strlen(PSK),
		.ike = ip, .esp = ep, .mode = XK_MODE_TUNNEL,
		.n_local_ts = 1, .n_remote_ts = 1,
		.reauth_time_s = reauth_s, .ike_rekey_time_s = ike_rekey_s,
	};

	c.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519", 1, ip, 2, err, 64);
	c.n_esp = (size_t)ike_proposals_parse("aes128gcm16", 3, ep, 2, err, 64);
	c.local.port = c.remote.port = 0;
	xk_ts_parse(i ? "10.2.0.0/16" : "10.1.0.0/16", &c.local_ts[0]);
	xk_ts_parse(i ? "10.1.0.0/16" : "10.2.0.0/16", &c.remote_ts[0]);
	CHECK_INT(ike_engine_add_conn(w.p[i].e, &c), 0);
}

struct sa_list {
	uint64_t spi[8];
	size_t n;
};

static void collect(void *ctx, const struct ike_sa_info *info)
{
	struct sa_list *l = ctx;

	if (l->n < 8 && info->state == IKE_S_ESTABLISHED)
		l->spi[l->n++] = info->initiator ? info->spi_i : info->spi_r;
}

/* The established IKE SAs of a peer; *sa: the first of them. */
static size_t ike_sas(int i, struct ike_sa **sa)
{
	struct sa_list l = { .n = 0 };

	ike_engine_foreach_sa(w.p[i].e, collect, &l);
	if (sa)
		*sa = l.n ? ike_engine_find_sa(w.p[i].e, l.spi[0]) : NULL;
	return l.n;
}

static size_t installed(const struct ike_sa *sa)
{
	size_t n = 0;

	for (const struct ike_child *c = sa ? sa->children : NULL; c; c = c->next)
		n += c->state == CHILD_S_INSTALLED;
	return n;
}

/* ---- the invariant, checked before every datagram ---- */

static struct xk_policy snap[2][3 * MAX_CHILD];
static size_t n_snap[2];
static unsigned inv_failed;     /* checks that failed */
static unsigned inv_first_seq;  /* at the datagram with this sequence number */
static char inv_first[160];

static void inv_fail(unsigned seq, const char *what, uint32_t x)
{
	if (!inv_failed++) {
		inv_first_seq = seq;
		snprintf(inv_first, sizeof(inv_first), "%s %08x", what, x);
	}
}

static const struct xk_policy *find_pol(const struct fake_kernel *k, const struct xk_policy *p)
{
	for (size_t i = 0; i < k->n_pols; i++)
		if (!memcmp(&k->pols[i].src, &p->src, sizeof(p->src)) &&
		    !memcmp(&k->pols[i].dst, &p->dst, sizeof(p->dst)) && k->pols[i].dir == p->dir)
			return &k->pols[i];
	return NULL;
}

/* The outbound SA the kernel would use for a reqid: the newest. */
static const struct xk_sa *sending(const struct fake_kernel *k, uint32_t reqid)
{
	const struct xk_sa *best = NULL;
	unsigned when = 0;

	for (size_t i = 0; i < k->n_sas; i++)
		if (!k->sas[i].inbound && k->sas[i].reqid == reqid && k->added[i] > when) {
			best = &k->sas[i];
			when = k->added[i];
		}
	return best;
}

static void check_invariant(unsigned seq)
{
	for (int i = 0; i < 2; i++) {
		const struct fake_kernel *k = &w.p[i].k, *peer = &w.p[1 - i].k;

		if (k->n_pols != n_snap[i])
			inv_fail(seq, "policies:", (uint32_t)k->n_pols);
		for (size_t j = 0; j < n_snap[i]; j++) {
			const struct xk_policy *p = find_pol(k, &snap[i][j]);
			const struct xk_sa *out, *in;

			if (!p || p->reqid != snap[i][j].reqid) {
				inv_fail(seq, "policy gone or changed, reqid", snap[i][j].reqid);
				continue;
			}
			if (p->dir != XK_DIR_OUT)
				continue;
			out = sending(k, p->reqid);
			in = out ? fake_kernel_find(peer, out->spi) : NULL;
			if (!out)
				inv_fail(seq, "no outbound SA for reqid", p->reqid);
			else if (!in || !in->inbound || memcmp(in->enc_key, out->enc_key, out->enc_key_len))
				inv_fail(seq, "no inbound twin for outbound SA", out->spi);
		}
	}
}

/*
 * ESP a peer sends after a datagram (until its next step) goes out on the
 * outbound SAs it sends on when it sends that datagram, and arrives after
 * it: once the other end has read the datagram, their inbound twins must
 * still be there.  (A responder that answered the DELETE of the old IKE
 * SA before its new outbound SA took over broke this: the initiator drops
 * the old inbound SA on the answer, and the responder went on sending on
 * it for a moment.)
 */
static void note_sending(struct world *ww, int from, struct w_pkt *p)
{
	for (size_t j = 0; j < n_snap[from] && p->n_mark < 8; j++) {
		const struct xk_sa *out;

		if (snap[from][j].dir != XK_DIR_OUT)
			continue;
		out = sending(&ww->p[from].k, snap[from][j].reqid);
		if (out)
			p->mark[p->n_mark++] = out->spi;
	}
}

static struct {
	bool set;
	int to;
	unsigned seq, n;
	uint32_t spi[8];
} last_read;

/* The datagram delivered last has been read: check its marks. */
static void check_in_flight(void)
{
	if (!last_read.set)
		return;
	last_read.set = false;
	for (unsigned i = 0; i < last_read.n; i++) {
		const struct xk_sa *in = fake_kernel_find(&w.p[last_read.to].k, last_read.spi[i]);

		if (!in || !in->inbound)
			inv_fail(last_read.seq, "ESP sent after it finds no inbound SA", last_read.spi[i]);
	}
}

static unsigned drop_seq = UINT_MAX;
static bool drop_init; /* drop every IKE_SA_INIT */
static bool drop_ccs_resp; /* drop the next CREATE_CHILD_SA response */

static bool watch(struct world *ww, struct w_pkt *p, unsigned seq)
{
	(void)ww;
	check_in_flight();
	check_invariant(seq);
	if (drop_init && p->len > 18 && p->buf[18] == 34)
		return false;
	if (drop_ccs_resp && p->len > 19 && p->buf[18] == 36 && (p->buf[19] & 0x20)) {
		drop_ccs_resp = false;
		return false;
	}
	if (seq == drop_seq)
		return false;
	last_read.set = true;
	last_read.to = p->to;
	last_read.seq = seq;
	last_read.n = p->n_mark;
	memcpy(last_read.spi, p->mark, sizeof(last_read.spi));
	return true;
}

/* ---- set-up ---- */

static struct ike_keys old_keys;
static uint64_t old_spi_i, old_spi_r;
static uint32_t reqids[2][MAX_CHILD];

/*
 * Peer 0 initiates; n CHILD_SAs: the first for the /16s, the others for
 * 10.1.k.0/24 - 10.2.k.0/24 (asked for with the connection narrowed for
 * a moment).  Then the policies are what must never go.
 */
static void setup(size_t n, uint32_t reauth_s, uint32_t ike_rekey_s)
{
	struct ike_sa *sa, *peer;
	size_t r = 0;

	world_init(&w, NULL, NULL, false);
	add_conn(0, reauth_s, ike_rekey_s);
	add_conn(1, reauth_s, ike_rekey_s);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 1000);
	ike_sas(0, &sa);
	CHECK(sa != NULL);
	if (!sa)
		return;
	for (size_t k = 1; k < n; k++) {
		struct xk_ts l = sa->conn->child[0].local_ts[0], rt = sa->conn->child[0].remote_ts[0];
		char a[32], b[32];

		snprintf(a, sizeof(a), "10.1.%zu.0/24", k);
		snprintf(b, sizeof(b), "10.2.%zu.0/24", k);
		xk_ts_parse(a, &sa->conn->child[0].local_ts[0]);
		xk_ts_parse(b, &sa->conn->child[0].remote_ts[0]);
		CHECK_INT(ike_engine_create_child(w.p[0].e, sa->spi_i), 0);
		world_run(&w, 1000);
		sa->conn->child[0].local_ts[0] = l;
		sa->conn->child[0].remote_ts[0] = rt;
	}
	CHECK_INT(installed(sa), n);
	old_keys = sa->keys;
	old_spi_i = sa->spi_i;
	old_spi_r = sa->spi_r;
	for (const struct ike_child *c = sa->children; c; c = c->next)
		if (r < MAX_CHILD)
			reqids[0][r++] = c->reqid;
	ike_sas(1, &peer);
	r = 0;
	for (const struct ike_child *c = peer ? peer->children : NULL; c; c = c->next)
		if (r < MAX_CHILD)
			reqids[1][r++] = c->reqid;
	for (int i = 0; i < 2; i++) {
		memcpy(snap[i], w.p[i].k.pols, w.p[i].k.n_pols * sizeof(snap[i][0]));
		n_snap[i] = w.p[i].k.n_pols;
	}
	CHECK_INT(n_snap[0], 3 * n);
	inv_failed = 0;
	drop_seq = UINT_MAX;
	drop_init = false;
	drop_ccs_resp = false;
	last_read.set = false;
	w.filter = watch;
	w.on_send = note_sending;
}

static bool has_reqid(const struct ike_sa *sa, uint32_t reqid)
{
	for (const struct ike_child *c = sa->children; c; c = c->next)
		if (c->reqid == reqid && c->state == CHILD_S_INSTALLED)
			return true;
	return false;
}

/* Replaced: one new IKE SA each, n CHILD_SAs with the old reqids, one pair each. */
static void check_reauthed(size_t n, const char *what)
{
	struct ike_sa *a = NULL, *b = NULL;

	check_in_flight();
	check_invariant(w.seq);
	CHECK_MSG(inv_failed == 0, "%s: %u invariant failures, first before datagram %u: %s",
		  what, inv_failed, inv_first_seq, inv_first);
	CHECK_MSG(ike_sas(0, &a) == 1 && ike_sas(1, &b) == 1, "%s: %zu / %zu IKE SAs", what,
		  ike_sas(0, NULL), ike_sas(1, NULL));
	CHECK_INT(world_sa_count(&w.p[0]), 1);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	if (!a || !b)
		return;
	CHECK_MSG(a->spi_i != old_spi_i && a->spi_r != old_spi_r, "%s: same SPIs", what);
	CHECK(a->spi_i == b->spi_i && a->spi_r == b->spi_r);
	CHECK_MSG(!memcmp(&a->keys, &b->keys, sizeof(a->keys)), "%s: keys differ", what);
	CHECK_MSG(memcmp(&a->keys.sk_d, &old_keys.sk_d, sizeof(old_keys.sk_d)) != 0,
		  "%s: old keys kept", what);
	CHECK_MSG(installed(a) == n && installed(b) == n, "%s: %zu / %zu CHILD_SAs", what,
		  installed(a), installed(b));
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(has_reqid(a, reqids[0][i]) && has_reqid(b, reqids[1][i]),
			  "%s: reqid %08x / %08x not kept", what, reqids[0][i], reqids[1][i]);
	for (int i = 0; i < 2; i++) {
		const struct fake_kernel *k = &w.p[i].k;

		CHECK_MSG(k->n_sas == 2 * n, "%s: peer %d has %zu kernel SAs", what, i, k->n_sas);
		CHECK_MSG(k->n_pols == 3 * n, "%s: peer %d has %zu policies", what, i, k->n_pols);
		CHECK_MSG(k->n_spis == 0, "%s: peer %d has %zu SPIs left", what, i, k->n_spis);
		for (size_t j = 0; j < k->n_sas; j++) {
			const struct xk_sa *o = fake_kernel_find(&w.p[1 - i].k, k->sas[j].spi);

			CHECK_MSG(o && o->inbound != k->sas[j].inbound &&
				  !memcmp(o->enc_key, k->sas[j].enc_key, o->enc_key_len),
				  "%s: SA %08x unmatched", what, k->sas[j].spi);
		}
	}
	/* No outage: nothing failed, the initiator saw no IKE SA go down. */
	CHECK_MSG(world_events(&w.p[0], IKE_EV_FAILED) + world_events(&w.p[1], IKE_EV_FAILED) == 0,
		  "%s: %zu / %zu FAILED events", what, world_events(&w.p[0], IKE_EV_FAILED),
		  world_events(&w.p[1], IKE_EV_FAILED));
}

/* Let the clock run for ms (world_run stops at the last timer before that). */
static void run_for(uint64_t ms)
{
	uint64_t end = w.now + ms;

	world_run(&w, ms);
	if (w.now < end)
		w.now = end;
	world_run(&w, 0);
}

/*
 * A CHILD_SA rekey the peer asks for on the IKE SA being reauthenticated
 * is refused with TEMPORARY_FAILURE (section 2.25): the new IKE SA makes
 * that CHILD_SA anew.  Those refusals are the only FAILED events allowed.
 */
static size_t forget_busy(void)
{
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		struct w_peer *p = &w.p[i];
		size_t k = 0;

		for (size_t j = 0; j < p->n_events; j++) {
			if (p->events[j].type == IKE_EV_FAILED &&
			    p->events[j].notify == IKEV2_N_TEMPORARY_FAILURE)
				n++;
			else
				p->events[k++] = p->events[j];
		}
		p->n_events = k;
	}
	return n;
}

/* ---- cases ---- */

static void test_reauth(size_t n, int by, const char *what)
{
	struct ike_stats st;
	const struct ike_event *ev;
	struct ike_sa *sa;
	size_t before;

	setup(n, 0, 0);
	before = world_events(&w.p[by], IKE_EV_CHILD_UP);
	ike_sas(by, &sa);
	CHECK_INT(ike_engine_reauth(w.p[by].e, by ? sa->spi_r : sa->spi_i), 0);
	/* Once is enough. */
	CHECK_INT(ike_engine_reauth(w.p[by].e, by ? sa->spi_r : sa->spi_i), -EALREADY);
	CHECK_INT(ike_engine_rekey_ike(w.p[by].e, by ? sa->spi_r : sa->spi_i), -EALREADY);
	world_run(&w, 1000);
	/* Both sides on the new CHILD_SAs; the old ones are gone. */
	check_reauthed(n, what);
	CHECK_INT(world_events(&w.p[by], IKE_EV_IKE_REAUTHENTICATED), 1);
	CHECK_INT(world_events(&w.p[by], IKE_EV_IKE_DOWN), 0);
	ike_engine_stats(w.p[by].e, &st);
	CHECK_INT(st.reauths, 1);
	CHECK_INT(st.reauths_failed, 0);
	CHECK_INT(world_events(&w.p[by], IKE_EV_CHILD_UP) - before, n);
	ev = world_event(&w.p[by], IKE_EV_IKE_REAUTHENTICATED);
	ike_sas(by, &sa);
	CHECK(ev && sa && ev->spi_i == sa->spi_i && ev->spi_r == sa->spi_r);
	/* The new SA is the starter's: it initiated the new IKE_SA_INIT. */
	CHECK(sa && sa->initiator);
	/* ... and works: a CHILD_SA rekey and a liveness check on it. */
	if (sa) {
		CHECK_INT(ike_engine_rekey_child(w.p[by].e, sa->spi_i, sa->children->spi_in), 0);
		CHECK_INT(ike_engine_liveness(w.p[by].e, sa->spi_i), 0);
	}
	world_run(&w, 10000);
	check_reauthed(n, what);
	world_free(&w);
}

/* IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, DELETE: request and response, each lost. */
static void test_loss(void)
{
	for (unsigned d = 0; d < 8; d++) {
		struct ike_sa *sa;
		char what[64];

		setup(2, 0, 0);
		drop_seq = w.seq + d;
		ike_sas(0, &sa);
		CHECK_INT(ike_engine_reauth(w.p[0].e, sa->spi_i), 0);
		/* A lost DELETE response: the old SA's retransmissions run out (165 s). */
		world_run(&w, 200000);
		snprintf(what, sizeof(what), "reauthentication, message %u lost", d);
		check_reauthed(2, what);
		world_free(&w);
	}
}

/* The peer refuses the new IKE SA: the old one stays and tries again. */
static void test_refused(void)
{
	struct ike_sa *sa, *peer;
	struct ike_stats st;
	size_t n;

	setup(2, 3600, 0);
	ike_sas(0, &sa);
	ike_sas(1, &peer);
	peer->conn->psk[0] ^= 1; /* the peer's key changed under it */
	CHECK_INT(ike_engine_reauth(w.p[0].e, sa->spi_i), 0);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_AUTH_FAILED), 1);
	CHECK_INT(ike_sas(0, NULL), 1);
	CHECK_INT(ike_sas(1, NULL), 1);
	CHECK(ike_engine_find_sa(w.p[0].e, old_spi_i) == sa && sa->state == IKE_S_ESTABLISHED);
	CHECK_INT(installed(sa), 2);
	CHECK(sa->succ != IKE_SUCC_REAUTHING && sa->successor_spi == 0);
	/* Again in 10-20 s, and again refused. */
	run_for(9500);
	CHECK_INT(world_events(&w.p[0], IKE_EV_AUTH_FAILED), 1);
	run_for(11000);
	n = world_events(&w.p[0], IKE_EV_AUTH_FAILED);
	CHECK_MSG(n == 2 || n == 3, "%zu attempts in 20.5 s", n);
	/* The key is right again: the next attempt replaces the SA. */
	peer->conn->psk[0] ^= 1;
	run_for(25000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_AUTH_FAILED), n);
	ike_engine_stats(w.p[0].e, &st);
	CHECK_INT(st.handshakes_failed, n);
	CHECK_INT(st.reauths_failed, n);
	CHECK_INT(st.reauths, 1);
	/* The failed attempts are the only FAILED events. */
	w.p[0].n_events = w.p[1].n_events = 0;
	check_reauthed(2, "reauthentication refused, then accepted");
	world_free(&w);
}

/* The peer does not answer IKE_SA_INIT: the old SA stays and tries again. */
static void test_timeout(void)
{
	struct ike_sa *sa;

	setup(1, 3600, 0);
	ike_sas(0, &sa);
	drop_init = true;
	CHECK_INT(ike_engine_reauth(w.p[0].e, sa->spi_i), 0);
	/* Retransmissions for 165 s, then again 10-20 s later. */
	run_for(170000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_FAILED), 1);
	run_for(30000);
	CHECK(world_sa_count(&w.p[0]) == 2);
	CHECK(ike_engine_find_sa(w.p[0].e, old_spi_i) == sa && sa->state == IKE_S_ESTABLISHED);
	CHECK_INT(installed(sa), 1);
	CHECK_MSG(inv_failed == 0, "silent peer: %s", inv_first);
	drop_init = false;
	run_for(200000);
	w.p[0].n_events = w.p[1].n_events = 0;
	check_reauthed(1, "reauthentication after a silent peer");
	world_free(&w);
}

/* Deliver one datagram (world_run delivers all there are, and their answers). */
static void step(void)
{
	struct w_pkt *pkt = w.q[0];
	unsigned seq = w.seq++;

	memmove(w.q, w.q + 1, (w.q_len - 1) * sizeof(w.q[0]));
	w.q_len--;
	if (!w.filter || w.filter(&w, pkt, seq)) {
		w.delivered++;
		ike_engine_input(w.p[pkt->to].e, &pkt->dst, &pkt->src, pkt->buf, pkt->len);
	}
	free(pkt);
}

/* A CHILD_SA rekey crossing the reauthentication, from either end. */
static void test_cross_rekey(void)
{
	static const char *const what[] = {
		"peer rekeys a CHILD_SA while we reauthenticate",
		"we rekey a CHILD_SA and reauthenticate at once",
		"peer rekeys a CHILD_SA after our IKE_AUTH",
		"our CHILD_SA rekey finishes late, after the new SA is complete",
	};

	for (int mode = 0; mode < 4; mode++) {
		struct ike_sa *a, *b;

		setup(2, 0, 0);
		ike_sas(0, &a);
		ike_sas(1, &b);
		if (mode == 1 || mode == 3)
			CHECK_INT(ike_engine_rekey_child(w.p[0].e, a->spi_i, a->children->spi_in), 0);
		/* Its response lost: the retransmission finishes it 4 s later. */
		drop_ccs_resp = mode == 3;
		CHECK_INT(ike_engine_reauth(w.p[0].e, a->spi_i), 0);
		if (mode == 0)
			CHECK_INT(ike_engine_rekey_child(w.p[1].e, b->spi_r, b->children->spi_in), 0);
		if (mode == 2) {
			/* IKE_SA_INIT and IKE_AUTH, both ways. */
			for (unsigned seq = w.seq + 4; w.seq < seq && w.q_len;)
				step();
			CHECK_INT(ike_engine_rekey_child(w.p[1].e, b->spi_r, b->children->spi_in), 0);
		}
		world_run(&w, 20000);
		CHECK_MSG(forget_busy() <= 1, "%s: more than one refusal", what[mode]);
		check_reauthed(2, what[mode]);
		world_free(&w);
	}
}

/*
 * On a timer, from the initiator only, and across IKE SA rekeys: these
 * carry the reauthentication time along (reauth-time 100 s, IKE SA rekey
 * every 40 s or so).
 */
static void test_timer(void)
{
	size_t n;

	setup(1, 100, 40);
	run_for(350000);
	n = world_events(&w.p[0], IKE_EV_IKE_REAUTHENTICATED);
	CHECK_MSG(n >= 3 && n <= 4, "%zu reauthentications in 350 s", n);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_REAUTHENTICATED), 0);
	CHECK(world_events(&w.p[0], IKE_EV_IKE_REKEYED) + world_events(&w.p[1], IKE_EV_IKE_REKEYED) >= 3);
	check_reauthed(1, "reauthentication on a timer");
	world_free(&w);
}

/* The peer reloaded its configuration: the connection is new, its name the same. */
static void test_peer_reload(void)
{
	struct ike_sa *sa;

	setup(2, 0, 0);
	CHECK_INT(ike_engine_del_conn(w.p[1].e, "c"), 0);
	add_conn(1, 0, 0);
	ike_sas(0, &sa);
	CHECK_INT(ike_engine_reauth(w.p[0].e, sa->spi_i), 0);
	world_run(&w, 10000);
	check_reauthed(2, "reauthentication after the peer reloaded");
	world_free(&w);
}

/* The old SA goes (deleted by the peer) while the new one is made: the new one carries on. */
static void test_old_dies(void)
{
	struct ike_sa *a, *b;

	setup(1, 0, 0);
	ike_sas(0, &a);
	ike_sas(1, &b);
	CHECK_INT(ike_engine_reauth(w.p[0].e, a->spi_i), 0);
	CHECK_INT(ike_engine_terminate(w.p[1].e, b->spi_r), 0);
	world_run(&w, 10000);
	CHECK_INT(ike_sas(0, &a), 1);
	CHECK_INT(ike_sas(1, &b), 1);
	CHECK(a && a->spi_i != old_spi_i && a->succ != IKE_SUCC_REAUTH_NEW);
	CHECK_INT(installed(a), 1);
	CHECK_INT(installed(b), 1);
	CHECK_INT(w.p[0].k.n_sas, 2);
	CHECK_INT(w.p[0].k.n_pols, 3);
	CHECK_INT(w.p[1].k.n_pols, 3);
	world_free(&w);
}

int main(void)
{
	test_reauth(1, 0, "reauthentication");
	test_reauth(3, 0, "reauthentication with three CHILD_SAs");
	test_reauth(2, 1, "reauthentication by the responder");
	test_loss();
	test_refused();
	test_timeout();
	test_cross_rekey();
	test_timer();
	test_peer_reload();
	test_old_dies();
	return check_done("reauth");
}
