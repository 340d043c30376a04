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
	struct ike_child_info ci;
	size_t n = 0;

	for (size_t i = 0; ike_engine_child_info(p->e, world_sa_spi(p), i, &ci) == 0; i++) {
		if (strcmp(ci.state, "INSTALLED") == 0) {
			n++;
			if (spi_in)
				*spi_in = ci.spi_in;
		}
	}
	return n;
}

/* Exactly one pair each side, matching crosswise, policies untouched. */
static void check_one_pair(struct world *w, const char *what)
{
	struct fake_kernel *k0 = &w->p[0].k, *k1 = &w->p[1].k;

	CHECK_MSG(installed_children(&w->p[0], NULL) == 1 &&
		  installed_children(&w->p[1], NULL) == 1,
		  "%s: %zu / %zu CHILD_SAs", what, installed_children(&w->p[0], NULL),
		  installed_children(&w->p[1], NULL));
	CHECK_MSG(k0->n_sas == 2 && k1->n_sas == 2, "%s: %zu / %zu kernel SAs", what, k0->n_sas,
		  k1->n_sas);
	for (size_t i = 0; i < k0->n_sas; i++) {
		const struct xk_sa *b = fake_kernel_find(k1, k0->sas[i].spi);

		CHECK_MSG(b && b->inbound != k0->sas[i].inbound &&
			  !memcmp(b->enc_key, k0->sas[i].enc_key, b->enc_key_len),
			  "%s: SA %08x unmatched", what, k0->sas[i].spi);
	}
	CHECK_MSG(k0->n_pols == 3 && k1->n_pols == 3, "%s: %zu / %zu policies", what, k0->n_pols,
		  k1->n_pols);
	CHECK(k0->n_spis == 0 && k1->n_spis == 0);
}

static void test_rekey(int by, const char *esp, const char *what)
{
	struct world w;
	uint32_t old_in, new_in;
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

static void test_invalid_ke(void)
{
	struct world w;
	uint32_t in;

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
		struct world w;
		uint32_t in;
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
		struct world w;
		uint32_t in0, in1, survivor;

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
	struct world w;
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
	struct world w;
	struct xk_sa_id id = { .proto = 50 };
	uint32_t in;

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
}

int main(void)
{
	test_rekey(0, "aes128gcm16", "rekey by the initiator");
	test_rekey(1, "aes128gcm16", "rekey by the responder");
	test_rekey(0, "aes128gcm16-x25519", "rekey with PFS");
	test_rekey(1, "aes256-sha512-ecp384", "rekey with PFS, CBC");
	test_invalid_ke();
	test_loss();
	test_collisions();
	test_rekey_vs_delete();
	test_expire();
	return check_done("rekey");
}
