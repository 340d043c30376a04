/* SPDX-License-Identifier: ISC */
/*
 * Pending operations (ike.h, ops.submit): engines that hand their key
 * exchanges out, with the "embedder" (world.c) completing them later, out
 * of order, or never.  What must hold: a retransmission while the work is
 * out is neither acted on twice nor lost; an SA that dies meanwhile drops
 * the result; an engine freed with work out leaves it to be released; a
 * reload meanwhile changes nothing for the SA that waits;
 * half-open limits and cookies count the SAs that wait.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "world.h"

#define PSK "async test secret"
#define IKE "aes128gcm16-prfsha256-x25519"

static void setup(struct world *w, const struct ike_engine_cfg *cfg1)
{
	world_init(w, NULL, cfg1, false);
	world_async(w, 0, NULL);
	world_async(w, 1, cfg1);
	CHECK_INT(world_conn(w, 0, "c", IKE, "aes128gcm16", PSK), 0);
	CHECK_INT(world_conn(w, 1, "c", IKE, "aes128gcm16", PSK), 0);
}

/* Deliver what is queued, without completing any work or moving the clock. */
static void flush(struct world *w)
{
	while (w->q_len)
		world_deliver(w, 0);
}

/* Move the clock to the next timer of either engine and run it. */
static void next_timer(struct world *w)
{
	uint64_t t0 = ike_engine_next_timeout(w->p[0].e);
	uint64_t t1 = ike_engine_next_timeout(w->p[1].e);
	uint64_t t = t0 < t1 ? t0 : t1;

	if (t != UINT64_MAX && t > w->now)
		w->now = t;
	ike_engine_tick(w->p[0].e);
	ike_engine_tick(w->p[1].e);
}

static void stats(struct world *w, int idx, struct ike_stats *s)
{
	ike_engine_stats(w->p[idx].e, s);
}

/* Both ends handed their key exchange out and came up all the same. */
static void test_basic(void)
{
	static struct world w;
	struct ike_stats s0, s1;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 1);
	stats(&w, 0, &s0);
	stats(&w, 1, &s1);
	CHECK_INT(s0.work_submitted, 1);
	CHECK_INT(s1.work_submitted, 1);
	CHECK_INT(s0.work_pending + s1.work_pending, 0);
	CHECK_INT(s0.retransmits, 0);
	/* The same keys on both ends: the CHILD_SA's keys came from them. */
	CHECK_INT(w.p[0].k.n_sas, 2);
	CHECK_INT(w.p[1].k.n_sas, 2);
	world_free(&w);
}

/*
 * The responder's key exchange is out when the initiator retransmits
 * IKE_SA_INIT: no second SA, no second work, no answer yet; once the work
 * is back, one answer, and the handshake completes.
 */
static void test_retransmit_responder(void)
{
	static struct world w;
	struct ike_stats s1;
	unsigned sent;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	sent = w.p[1].sent;
	next_timer(&w); /* the initiator's retransmission */
	CHECK_INT(w.q_len, 1);
	flush(&w);
	stats(&w, 1, &s1);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	CHECK_INT(w.p[1].sent, sent);
	CHECK_INT(s1.rx_unexpected, 1);
	CHECK_INT(s1.half_open, 1);
	world_work_done(&w, 1, 0);
	CHECK_INT(w.p[1].sent, sent + 1);
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 1);
	stats(&w, 1, &s1);
	CHECK_INT(s1.work_submitted, 1);
	CHECK_INT(s1.half_open, 0);
	world_free(&w);
}

/*
 * The initiator's work on the answer is out when the answer comes again
 * (the responder resent it for our retransmission): a duplicate, dropped;
 * one IKE_AUTH follows the work.
 */
static void test_retransmit_initiator(void)
{
	static struct world w;
	struct ike_stats s0;
	struct w_pkt *dup;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	world_work_done(&w, 1, 0);
	CHECK_INT(w.q_len, 1);
	dup = malloc(sizeof(*dup));
	*dup = *w.q[0];
	flush(&w);
	CHECK_INT(w.p[0].n_work, 1);
	world_put(&w, dup);
	flush(&w);
	stats(&w, 0, &s0);
	CHECK_INT(w.p[0].n_work, 1);
	CHECK_INT(s0.rx_unexpected, 1);
	CHECK_INT(w.q_len, 0);
	world_work_done(&w, 0, 0);
	CHECK_INT(w.q_len, 1); /* IKE_AUTH */
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 1);
	stats(&w, 0, &s0);
	CHECK_INT(s0.work_submitted, 1);
	world_free(&w);
}

/*
 * Terminated while its work is out: the SA goes at once; the result, when
 * it comes, is dropped (and counted), nothing is sent.
 */
static void test_delete_pending(void)
{
	static struct world w;
	struct ike_stats s0;
	uint64_t spi;
	unsigned sent;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", &spi);
	flush(&w);
	world_work_done(&w, 1, 0);
	flush(&w);
	CHECK_INT(w.p[0].n_work, 1);
	CHECK_INT(ike_engine_terminate(w.p[0].e, spi), 0);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	sent = w.p[0].sent;
	world_work_done(&w, 0, 0);
	stats(&w, 0, &s0);
	CHECK_INT(s0.work_dropped, 1);
	CHECK_INT(s0.work_pending, 0);
	CHECK_INT(w.p[0].sent, sent);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 0);
	world_free(&w);
}

/*
 * The responder's SA reaches its half-open timeout while its work is out:
 * it dies, the result comes back to nobody, and no answer is sent.
 */
static void test_result_after_death(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct ike_stats s1;
	unsigned sent;

	ike_engine_cfg_defaults(&cfg);
	cfg.half_open_timeout_ms = 2000; /* before the initiator's first retransmission */
	setup(&w, &cfg);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	w.now += 2000;
	ike_engine_tick(w.p[1].e);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	stats(&w, 1, &s1);
	CHECK_INT(s1.half_open, 0);
	sent = w.p[1].sent;
	world_work_done(&w, 1, 0);
	stats(&w, 1, &s1);
	CHECK_INT(s1.work_dropped, 1);
	CHECK_INT(w.p[1].sent, sent);
	/* The initiator's retransmission starts afresh, and succeeds. */
	world_run(&w, 10000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 1);
	world_free(&w);
}

/*
 * Both ends initiate at once, each one's request arriving while its own
 * work is out, and the works complete newest first: the outcome is the
 * one of the same race done inline (two IKE SAs, each up on both ends).
 */
static void test_collision(void)
{
	static struct world w;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	ike_engine_initiate(w.p[1].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[0].n_work, 1);
	CHECK_INT(w.p[1].n_work, 1);
	world_work_done(&w, 1, 0);
	world_work_done(&w, 0, 0);
	flush(&w);
	CHECK_INT(w.p[0].n_work, 1);
	CHECK_INT(w.p[1].n_work, 1);
	w.work_lifo = true;
	world_run(&w, 1000);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 2);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 2);
	CHECK_INT(world_sa_count(&w.p[0]), 2);
	CHECK_INT(world_sa_count(&w.p[1]), 2);
	CHECK_INT(world_events(&w.p[0], IKE_EV_FAILED), 0);
	world_free(&w);
}

/*
 * The engine goes with works out (one run already, one not): they are the
 * embedder's to release, and touch nothing of the engine.
 */
static void test_free_with_work(void)
{
	static struct world w;
	struct ike_work *a, *b;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 2);
	a = w.p[1].work[0];
	b = w.p[1].work[1];
	w.p[1].n_work = 0;
	ike_work_run(a);
	ike_engine_free(w.p[1].e);
	w.p[1].e = NULL;
	ike_work_run(b);
	CHECK_INT(ike_work_kind(a), IKE_WORK_DH);
	ike_work_free(a);
	ike_work_free(b);
	/* A new engine in its place works as before. */
	w.p[1].e = world_engine(&w, 1, NULL);
	CHECK_INT(world_conn(&w, 1, "c", IKE, "aes128gcm16", PSK), 0);
	world_run(&w, 30000);
	CHECK(world_events(&w.p[1], IKE_EV_IKE_UP) >= 1);
	world_free(&w);
}

/*
 * Many SAs wait at once and their works come back newest first: every
 * one comes up; while they wait, the half-open figure counts them, and
 * the half-open limit and the cookie threshold see them.
 */
#define MANY 40
static void test_many_reverse(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct ike_stats s0, s1;

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 1000;
	cfg.cookie_threshold_ip = 1000;
	cfg.half_open_max_ip = 1000;
	setup(&w, &cfg);
	for (int i = 0; i < MANY; i++)
		CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	flush(&w);
	stats(&w, 1, &s1);
	CHECK_INT(w.p[1].n_work, MANY);
	CHECK_INT(s1.half_open, MANY);
	CHECK_INT(s1.work_pending, MANY);
	while (w.p[1].n_work)
		world_work_done(&w, 1, w.p[1].n_work - 1);
	w.work_lifo = true;
	world_run(&w, 5000);
	stats(&w, 0, &s0);
	stats(&w, 1, &s1);
	CHECK_INT(s0.handshakes_ok, MANY);
	CHECK_INT(s1.handshakes_ok, MANY);
	CHECK_INT(s0.ike_sa_active, MANY);
	CHECK_INT(s1.ike_sa_active, MANY);
	CHECK_INT(s1.half_open, 0);
	CHECK_INT(s1.work_pending, 0);
	CHECK_INT(s1.work_submitted, MANY);
	world_free(&w);

	/* A limit of 10 half-open SAs: the ten that wait fill it. */
	cfg.half_open_max = 10;
	setup(&w, &cfg);
	for (int i = 0; i < 12; i++)
		ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	stats(&w, 1, &s1);
	CHECK_INT(w.p[1].n_work, 10);
	CHECK_INT(s1.half_open_refused, 2);
	world_free(&w);

	/* A cookie threshold of 3: the fourth request meets a COOKIE. */
	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 3;
	setup(&w, &cfg);
	for (int i = 0; i < 4; i++)
		ike_engine_initiate(w.p[0].e, "c", NULL);
	CHECK_INT(w.q_len, 4);
	for (int i = 0; i < 4; i++)
		world_deliver(&w, 0);
	stats(&w, 1, &s1);
	CHECK_INT(w.p[1].n_work, 3);
	CHECK_INT(s1.cookies_sent, 1);
	CHECK_INT(w.q_len, 1); /* the COOKIE, and no other answer yet */
	/* The initiator comes back with the cookie, and all four come up. */
	world_run(&w, 5000);
	stats(&w, 1, &s1);
	CHECK_INT(s1.handshakes_ok, 4);
	world_free(&w);
}

/*
 * A reload while the responder's work is out: its connection is removed
 * and added again.  The waiting SA keeps the old connection (held by
 * reference) and comes up on it, as one mid-handshake does inline.
 */
static void test_reload_pending(void)
{
	static struct world w;
	struct ike_stats s1;

	setup(&w, NULL);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK_INT(ike_engine_del_conn(w.p[1].e, "c"), 0);
	CHECK_INT(world_conn(&w, 1, "c", IKE, "aes128gcm16", PSK), 0);
	world_run(&w, 1000);
	stats(&w, 1, &s1);
	CHECK_INT(s1.handshakes_ok, 1);
	CHECK_INT(s1.work_dropped, 0);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	world_free(&w);
}

/* The IKE_SA_INIT request's KE data zeroed: X25519 gives an all-zero g^ir. */
static bool zero_ke(struct world *w, struct w_pkt *p, unsigned seq)
{
	uint8_t type = p->buf[16];
	size_t off = 28;

	(void)w;
	if (seq != 0)
		return true;
	while (type && off + 4 <= p->len) {
		size_t len = (size_t)p->buf[off + 2] << 8 | p->buf[off + 3];

		if (len < 4 || off + len > p->len)
			break;
		if (type == 34 && len > 8) /* KE: generic header, group, reserved, data */
			memset(p->buf + off + 8, 0, len - 8);
		type = p->buf[off];
		off += len;
	}
	return true;
}

/*
 * The work finds the peer's public value bad: the responder's SA goes
 * without an answer (section 2.21.1 allows silence), counted malformed.
 */
static void test_bad_ke(void)
{
	static struct world w;
	struct ike_stats s1;
	unsigned sent;

	setup(&w, NULL);
	w.filter = zero_ke;
	ike_engine_initiate(w.p[0].e, "c", NULL);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	sent = w.p[1].sent;
	world_work_done(&w, 1, 0);
	stats(&w, 1, &s1);
	CHECK_INT(w.p[1].sent, sent);
	CHECK_INT(s1.rx_malformed, 1);
	CHECK_INT(s1.half_open, 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_free(&w);
}

/*
 * A CHILD_SA rekey with PFS (CREATE_CHILD_SA with KE): the responder
 * hands its key pair and g^ir out and answers only when they are back.
 * A retransmission meanwhile is dropped (one work, one answer), and the
 * rekey ends as inline: one CHILD_SA pair each side, keys matching.  Then
 * another rekey whose responder terminates the IKE SA while the work is
 * out: the DELETE waits for the work (the request came first and is
 * answered first), then goes, and both ends are left with nothing.
 */
static void test_child_pfs_pending(void)
{
	static struct world w;
	struct ike_stats s1;
	uint32_t spi_in = 0;
	unsigned sent;
	char why[160];

	world_init(&w, NULL, NULL, false);
	world_async(&w, 0, NULL);
	world_async(&w, 1, NULL);
	CHECK_INT(world_conn(&w, 0, "c", IKE, "aes128gcm16-x25519", PSK), 0);
	CHECK_INT(world_conn(&w, 1, "c", IKE, "aes128gcm16-x25519", PSK), 0);
	ike_engine_initiate(w.p[0].e, "c", NULL);
	world_run(&w, 1000);
	CHECK_INT(world_installed(&w.p[0], &spi_in), 1);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), spi_in), 0);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK(w.p[1].n_work && ike_work_kind(w.p[1].work[0]) == IKE_WORK_DH);
	sent = w.p[1].sent;
	next_timer(&w); /* the initiator's retransmission */
	CHECK_INT(w.q_len, 1);
	flush(&w);
	stats(&w, 1, &s1);
	CHECK_INT(s1.rx_unexpected, 1);
	CHECK_INT(w.p[1].n_work, 1);
	CHECK_INT(w.p[1].sent, sent);
	world_work_done(&w, 1, 0);
	CHECK_INT(w.p[1].sent, sent + 1);
	world_run(&w, 30000);
	stats(&w, 1, &s1);
	CHECK_INT(s1.work_submitted, 2);
	CHECK_INT(s1.rekeys, 1);
	CHECK_MSG(world_one_pair(&w, why, sizeof(why)), "after the rekey: %s", why);

	CHECK_INT(world_installed(&w.p[0], &spi_in), 1);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), spi_in), 0);
	flush(&w);
	CHECK_INT(w.p[1].n_work, 1);
	sent = w.p[1].sent;
	CHECK_INT(ike_engine_terminate(w.p[1].e, world_sa_spi(&w.p[1])), 0);
	CHECK_INT(w.p[1].sent, sent); /* held back */
	world_work_done(&w, 1, 0);
	CHECK_INT(w.p[1].sent, sent + 2); /* the answer, then the DELETE */
	world_run(&w, 30000);
	stats(&w, 1, &s1);
	CHECK_INT(s1.work_pending, 0);
	CHECK_INT(world_sa_count(&w.p[0]), 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	CHECK_INT(w.p[0].k.n_sas + w.p[1].k.n_sas, 0);
	world_free(&w);
}

int main(void)
{
	test_basic();
	test_retransmit_responder();
	test_retransmit_initiator();
	test_delete_pending();
	test_result_after_death();
	test_collision();
	test_free_with_work();
	test_many_reverse();
	test_bad_ke();
	test_reload_pending();
	test_child_pfs_pending();
	return check_done("async");
}
