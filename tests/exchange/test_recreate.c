/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs that come back (child_recreate.c): after the peer's DELETE
 * (recreate_closed), after a hard expiry or a rekey the peer answers with
 * CHILD_SA_NOT_FOUND (recreate_lost), a new CHILD_SA is made on the live
 * IKE SA; without the flag nothing is.  A peer that refuses sees a bounded
 * number of requests at growing intervals; an IKE SA deleted meanwhile
 * takes the pending attempt along; both ends making it again at once end
 * with one pair.
 */
#include <string.h>

#include "check.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "coming back"
#define IKEP "aes128gcm16-prfsha256-x25519"
#define ESP "aes128gcm16"

struct flags {
	bool closed, lost;
};

static void flags_edit(struct ike_conn_cfg *c, void *ctx)
{
	const struct flags *f = ctx;

	c->recreate_closed = f->closed;
	c->recreate_lost = f->lost;
	xk_ts_parse("10.1.0.0/16", &c->local_ts[0]);
	xk_ts_parse("10.2.0.0/16", &c->remote_ts[0]);
	c->n_local_ts = c->n_remote_ts = 1;
}

static void flags_edit1(struct ike_conn_cfg *c, void *ctx)
{
	flags_edit(c, ctx);
	xk_ts_parse("10.2.0.0/16", &c->local_ts[0]);
	xk_ts_parse("10.1.0.0/16", &c->remote_ts[0]);
}

/* Both ends with these flags; peer 0 initiates. */
static void establish(struct world *w, struct flags f0, struct flags f1)
{
	world_init(w, NULL, NULL, false);
	world_conn_edit(w, 0, "c", IKEP, ESP, PSK, false, flags_edit, &f0);
	world_conn_edit(w, 1, "c", IKEP, ESP, PSK, false, flags_edit1, &f1);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static struct ike_sa *sa_of(struct w_peer *p)
{
	return ike_engine_find_sa(p->e, world_sa_spi(p));
}

/* One pair each side (its two SAs keyed crosswise), three policies each. */
static void check_one_pair(struct world *w, const char *what)
{
	char why[128] = "";

	CHECK_MSG(world_one_pair(w, why, sizeof(why)), "%s: %s", what, why);
}

/* The last CHILD_DOWN of p says why. */
static int last_end(const struct w_peer *p)
{
	for (size_t i = p->n_events; i-- > 0;)
		if (p->events[i].type == IKE_EV_CHILD_DOWN)
			return p->child_end[i];
	return -2;
}

/* Peer 1 deletes the CHILD_SA; peer 0 makes it again, or (none) does not. */
static void test_closed(void)
{
	for (int want = 0; want < 2; want++) {
		static struct world w;
		uint32_t spi, again;

		establish(&w, (struct flags){ .closed = want }, (struct flags){ .closed = want });
		CHECK_INT(world_installed(&w.p[1], &spi), 1);
		CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi), 0);
		world_run(&w, 10000);
		CHECK_INT(world_sa_count(&w.p[0]), 1);
		CHECK_INT(world_sa_count(&w.p[1]), 1);
		CHECK_INT(last_end(&w.p[0]), IKE_CHILD_END_CLOSED);
		/* The end that deleted it did so itself: no reason to bring it back. */
		CHECK_INT(last_end(&w.p[1]), IKE_CHILD_END_LOCAL);
		if (want) {
			check_one_pair(&w, "closed, start");
			CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 2);
			CHECK(world_installed(&w.p[1], &again) == 1 && again != spi);
		} else {
			CHECK_INT(world_installed(&w.p[0], NULL), 0);
			CHECK_INT(world_installed(&w.p[1], NULL), 0);
			CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
			CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 1);
		}
		world_free(&w);
	}
}

/* The kernel's hard expiry on peer 0: gone, told to the peer, made again. */
static void test_hard_expiry(void)
{
	for (int want = 0; want < 2; want++) {
		static struct world w;
		struct ike_child_info ci;

		establish(&w, (struct flags){ .lost = want }, (struct flags){ 0 });
		CHECK_INT(ike_engine_child_info(w.p[0].e, world_sa_spi(&w.p[0]), 0, &ci), 0);
		CHECK_INT(ike_engine_expire(w.p[0].e, &ci.id_out, true), 0);
		world_run(&w, 10000);
		CHECK_INT(world_sa_count(&w.p[0]), 1);
		if (want) {
			check_one_pair(&w, "hard expiry");
		} else {
			CHECK_INT(world_installed(&w.p[0], NULL), 0);
			CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
		}
		/* Peer 1 was told by a DELETE: closed, as it sees it. */
		CHECK_INT(last_end(&w.p[1]), IKE_CHILD_END_CLOSED);
		world_free(&w);
	}
}

/*
 * Peer 1 lost its CHILD_SA without a word (white-box); peer 0's rekey is
 * answered with CHILD_SA_NOT_FOUND: peer 0's half goes and is made again.
 */
static void test_rekey_not_found(void)
{
	static struct world w;
	struct ike_sa *sa1;
	uint32_t spi;

	establish(&w, (struct flags){ .lost = true }, (struct flags){ 0 });
	sa1 = sa_of(&w.p[1]);
	CHECK(sa1 && sa1->children);
	child_remove(sa1->children);
	CHECK_INT(world_installed(&w.p[0], &spi), 1);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), spi), 0);
	world_run(&w, 10000);
	CHECK_INT(last_end(&w.p[0]), IKE_CHILD_END_LOST);
	check_one_pair(&w, "rekey found none");
	world_free(&w);
}

/* Peer 1's configuration changed under the IKE SA: it refuses what peer 0 asks. */
static void refuse_ts(struct world *w)
{
	xk_ts_parse("10.99.0.0/16", &sa_of(&w->p[1])->conn->child[0].local_ts[0]);
}

static void refuse_esp(struct world *w)
{
	struct ike_conn *c = sa_of(&w->p[1])->conn;

	for (size_t i = 0; i < c->child[0].esp[0].n_xforms; i++)
		if (c->child[0].esp[0].xf[i].type == IKEV2_XF_ENCR)
			c->child[0].esp[0].xf[i].keybits = 256; /* peer 0 offers 128 only */
}

static size_t refusals(const struct w_peer *p, uint16_t notify)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_events; i++)
		if (p->events[i].type == IKE_EV_FAILED && p->events[i].notify == notify)
			n++;
	return n;
}

/*
 * Refused again and again: attempts at 0, 1, 3, 7, 15, 31, 63 and 95 s
 * (waits of 1 s doubling to 32 s), then no more; the IKE SA stands.
 */
static void test_backoff(void)
{
	static const struct {
		void (*refuse)(struct world *w);
		uint16_t notify;
	} how[] = {
		{ refuse_ts, IKEV2_N_TS_UNACCEPTABLE },
		{ refuse_esp, IKEV2_N_NO_PROPOSAL_CHOSEN },
	};

	for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		static struct world w;
		uint32_t spi;

		establish(&w, (struct flags){ .closed = true }, (struct flags){ 0 });
		how[i].refuse(&w);
		CHECK_INT(world_installed(&w.p[1], &spi), 1);
		CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi), 0);
		world_run(&w, 500);
		CHECK_INT(refusals(&w.p[0], how[i].notify), 1);
		world_run(&w, 9000); /* t = 9.5 s: 0, 1, 3, 7 */
		CHECK_INT(refusals(&w.p[0], how[i].notify), 4);
		world_run(&w, 60000); /* 69.5 s: 15, 31, 63 too */
		CHECK_INT(refusals(&w.p[0], how[i].notify), 7);
		world_run(&w, 600000);
		CHECK_INT(refusals(&w.p[0], how[i].notify), IKE_RECREATE_TRIES);
		CHECK_INT(refusals(&w.p[1], how[i].notify), IKE_RECREATE_TRIES);
		CHECK_INT(world_sa_count(&w.p[0]), 1);
		CHECK_INT(world_installed(&w.p[0], NULL), 0);
		CHECK(sa_of(&w.p[0])->recreate_ms == 0 && sa_of(&w.p[0])->recreate_tries == 0);
		world_free(&w);
	}
}

/* Refused twice, then the peer takes it: made, and the count starts afresh. */
static void test_backoff_reset(void)
{
	static struct world w;
	struct ike_conn *c1;
	struct xk_ts was;
	uint32_t spi;

	establish(&w, (struct flags){ .closed = true }, (struct flags){ 0 });
	c1 = sa_of(&w.p[1])->conn;
	was = c1->child[0].local_ts[0];
	refuse_ts(&w);
	CHECK_INT(world_installed(&w.p[1], &spi), 1);
	CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi), 0);
	world_run(&w, 2500);
	CHECK_INT(refusals(&w.p[0], IKEV2_N_TS_UNACCEPTABLE), 2);
	c1->child[0].local_ts[0] = was;
	world_run(&w, 10000);
	check_one_pair(&w, "after two refusals");
	CHECK(sa_of(&w.p[0])->recreate_tries == 0 && sa_of(&w.p[0])->recreate_wait_ms == 0);
	/* Lost again: the first attempt goes at once again, not after 4 s. */
	CHECK_INT(world_installed(&w.p[1], &spi), 1);
	CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi), 0);
	world_run(&w, 100);
	check_one_pair(&w, "lost again");
	world_free(&w);
}

/* The IKE SA goes while an attempt waits: nothing more is sent, nothing is left. */
static void test_ike_gone_meanwhile(void)
{
	for (int by = 0; by < 2; by++) {
		static struct world w;
		uint32_t spi;
		unsigned seq;

		establish(&w, (struct flags){ .closed = true }, (struct flags){ 0 });
		refuse_ts(&w);
		CHECK_INT(world_installed(&w.p[1], &spi), 1);
		CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi), 0);
		world_run(&w, 2500);
		CHECK(sa_of(&w.p[0])->recreate_ms != 0);
		CHECK_INT(ike_engine_terminate(w.p[by].e, world_sa_spi(&w.p[by])), 0);
		world_run(&w, 1000);
		seq = w.seq;
		world_run(&w, 300000);
		CHECK_INT(w.seq, seq);
		CHECK_INT(world_sa_count(&w.p[0]), 0);
		CHECK_INT(world_sa_count(&w.p[1]), 0);
		CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
		world_free(&w);
	}
}

/*
 * Both ends lose it at once (the same hard lifetime) and make it again:
 * their two CREATE_CHILD_SA requests cross.  The lower Ni loses (refused
 * with TEMPORARY_FAILURE), one pair stands, nobody asks again.  Both
 * orders of the nonces.
 */
static void test_collision(void)
{
	for (int low = 0; low < 2; low++) {
		static struct world w;
		struct ike_child_info ci;
		unsigned seq;

		establish(&w, (struct flags){ .lost = true }, (struct flags){ .lost = true });
		/* The next nonce each makes is its Ni of the new request. */
		w.p[low].nonce_first[w.p[low].n_nonces] = 0x01;
		w.p[1 - low].nonce_first[w.p[1 - low].n_nonces] = 0xfe;
		for (int p = 0; p < 2; p++) {
			CHECK_INT(ike_engine_child_info(w.p[p].e, world_sa_spi(&w.p[p]), 0, &ci), 0);
			CHECK_INT(ike_engine_expire(w.p[p].e, &ci.id_in, true), 0);
		}
		world_run(&w, 10000);
		check_one_pair(&w, low ? "collision, peer 1 lower" : "collision, peer 0 lower");
		CHECK_INT(refusals(&w.p[low], IKEV2_N_TEMPORARY_FAILURE), 1);
		CHECK_INT(refusals(&w.p[1 - low], IKEV2_N_TEMPORARY_FAILURE), 1);
		seq = w.seq;
		world_run(&w, 120000);
		CHECK_INT(w.seq, seq);
		check_one_pair(&w, "collision, later");
		world_free(&w);
	}
}

/* The responder's kernel expires both SAs (hard): it deletes, the initiator makes it again. */
static void test_peer_expiry(void)
{
	static struct world w;
	struct ike_child_info ci;

	establish(&w, (struct flags){ .closed = true }, (struct flags){ 0 });
	CHECK_INT(ike_engine_child_info(w.p[1].e, world_sa_spi(&w.p[1]), 0, &ci), 0);
	CHECK_INT(ike_engine_expire(w.p[1].e, &ci.id_in, true), 0);
	CHECK_INT(ike_engine_expire(w.p[1].e, &ci.id_out, true), 0);
	world_run(&w, 10000);
	CHECK_INT(last_end(&w.p[0]), IKE_CHILD_END_CLOSED);
	check_one_pair(&w, "the peer's hard expiry");
	world_free(&w);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "closed", test_closed },
	{ "hard-expiry", test_hard_expiry },
	{ "peer-expiry", test_peer_expiry },
	{ "rekey-not-found", test_rekey_not_found },
	{ "backoff", test_backoff },
	{ "backoff-reset", test_backoff_reset },
	{ "ike-gone-meanwhile", test_ike_gone_meanwhile },
	{ "collision", test_collision },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || strcmp(argv[1], cases[i].name) == 0)
			cases[i].run();
	return check_done("recreate");
}
