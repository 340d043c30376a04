/* SPDX-License-Identifier: ISC */
/*
 * Several CHILD_SAs per IKE SA, each of its own CHILD_SA configuration
 * (ike_child_cfg): both made on one IKE SA (the first in IKE_AUTH, the
 * other with CREATE_CHILD_SA), the responder choosing its configuration by
 * the selectors offered (its list in the other order, and a different ESP
 * suite for each, so a wrong choice shows), each rekeyed and deleted on
 * its own, rekeys of the two crossing, one made again after the peer's
 * DELETE while the other stays untouched, and one that does not start
 * made on request.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "two tunnels"
#define IKEP "aes128gcm16-prfsha256-x25519"
#define ESP "aes128gcm16"

/* What one end has: child "a" 10.1/16 <-> 10.2/16 (AES-128), "b" 10.3/16 <-> 10.4/16 (AES-256). */
struct ends {
	bool responder;  /* the mirror image, its list in the other order */
	bool b_start;    /* "b" starts with the IKE SA */
	bool b_closed;   /* "b" comes back after the peer's DELETE */
	bool only_a;     /* it has no "b" */
	bool none_start; /* neither starts: childless if the responder takes it */
};

static struct ike_proposal esp128[2], esp256[2];

static void child_set(struct ike_child_cfg *cc, const char *name, const char *l, const char *r,
		      const struct ike_proposal *esp)
{
	*cc = (struct ike_child_cfg){ .name = name, .esp = esp, .n_esp = 1,
				      .mode = XK_MODE_TUNNEL, .start = true };
	xk_ts_parse(l, &cc->local_ts[0]);
	xk_ts_parse(r, &cc->remote_ts[0]);
	cc->n_local_ts = cc->n_remote_ts = 1;
}

static void ends_edit(struct ike_conn_cfg *c, void *ctx)
{
	const struct ends *e = ctx;
	static struct ike_child_cfg ch[2];
	char err[64];
	size_t a = e->responder ? 1 : 0, b = 1 - a;

	CHECK_INT(ike_proposals_parse("aes128gcm16", 3, esp128, 2, err, sizeof(err)), 1);
	CHECK_INT(ike_proposals_parse("aes256gcm16", 3, esp256, 2, err, sizeof(err)), 1);
	if (e->responder) {
		child_set(&ch[a], "a", "10.2.0.0/16", "10.1.0.0/16", esp128);
		child_set(&ch[b], "b", "10.4.0.0/16", "10.3.0.0/16", esp256);
	} else {
		child_set(&ch[a], "a", "10.1.0.0/16", "10.2.0.0/16", esp128);
		child_set(&ch[b], "b", "10.3.0.0/16", "10.4.0.0/16", esp256);
	}
	ch[b].start = e->b_start;
	if (e->none_start)
		ch[a].start = ch[b].start = false;
	ch[b].recreate_closed = e->b_closed;
	c->children = ch;
	c->n_children = 2;
	if (e->only_a) {
		ch[0] = ch[a];
		c->n_children = 1;
	}
}

static void setup(struct world *w, struct ends e0)
{
	struct ends e1 = { .responder = true };

	world_init(w, NULL, NULL, false);
	CHECK_INT(world_conn_edit(w, 0, "c", IKEP, ESP, PSK, false, ends_edit, &e0), 0);
	CHECK_INT(world_conn_edit(w, 1, "c", IKEP, ESP, PSK, false, ends_edit, &e1), 0);
	CHECK_INT(ike_engine_initiate(w->p[0].e, "c", NULL), 0);
	world_run(w, 2000);
}

/* The installed CHILD_SA of p named name: 0 and its info, or -1. */
static int named(struct w_peer *p, const char *name, struct ike_child_info *out)
{
	struct ike_child_info ci;
	int found = -1;

	for (size_t i = 0; ike_engine_child_info(p->e, world_sa_spi(p), i, &ci) == 0; i++)
		if (!strcmp(ci.state, "INSTALLED") && !strcmp(ci.name, name)) {
			CHECK_MSG(found < 0, "two INSTALLED CHILD_SAs named %s", name);
			*out = ci;
			found = 0;
		}
	return found;
}

/* Each end has child name installed, the right selectors and suite, keyed crosswise. */
static void check_child(struct world *w, const char *name)
{
	struct ike_child_info c0, c1;
	struct xk_ts l, r;
	bool is_a = !strcmp(name, "a");

	CHECK_MSG(named(&w->p[0], name, &c0) == 0, "peer 0 lacks %s", name);
	CHECK_MSG(named(&w->p[1], name, &c1) == 0, "peer 1 lacks %s", name);
	if (named(&w->p[0], name, &c0) || named(&w->p[1], name, &c1))
		return;
	CHECK_INT(c0.spi_in, c1.spi_out);
	CHECK_INT(c0.spi_out, c1.spi_in);
	CHECK_INT(c0.suite.encr_keybits, is_a ? 128 : 256);
	CHECK_INT(c1.suite.encr_keybits, is_a ? 128 : 256);
	xk_ts_parse(is_a ? "10.1.0.0/16" : "10.3.0.0/16", &l);
	xk_ts_parse(is_a ? "10.2.0.0/16" : "10.4.0.0/16", &r);
	CHECK(c0.n_local_ts == 1 && !memcmp(&c0.local_ts[0], &l, sizeof(l)));
	CHECK(c0.n_remote_ts == 1 && !memcmp(&c0.remote_ts[0], &r, sizeof(r)));
	CHECK(c1.n_local_ts == 1 && !memcmp(&c1.local_ts[0], &r, sizeof(r)));
	CHECK(c1.n_remote_ts == 1 && !memcmp(&c1.remote_ts[0], &l, sizeof(l)));
	CHECK(c0.reqid != 0);
}

/* n CHILD_SAs each end, two SAs and three policies each in the kernels. */
static void check_n(struct world *w, size_t n)
{
	CHECK_INT(world_installed(&w->p[0], NULL), n);
	CHECK_INT(world_installed(&w->p[1], NULL), n);
	CHECK_INT(w->p[0].k.n_sas, 2 * n);
	CHECK_INT(w->p[1].k.n_sas, 2 * n);
	CHECK_INT(w->p[0].k.n_pols, 3 * n);
	CHECK_INT(w->p[1].k.n_pols, 3 * n);
}

static uint32_t spi_of(struct w_peer *p, const char *name)
{
	struct ike_child_info ci;

	return named(p, name, &ci) == 0 ? ci.spi_in : 0;
}

/* Both made on one IKE SA; the responder chose each configuration by its selectors. */
static void test_create(void)
{
	static struct world w;

	setup(&w, (struct ends){ .b_start = true });
	CHECK_INT(world_sa_count(&w.p[0]), 1);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	check_n(&w, 2);
	check_child(&w, "a");
	check_child(&w, "b");
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_UP), 2);
	CHECK_INT(world_events(&w.p[1], IKE_EV_CHILD_UP), 2);
	world_free(&w);
}

/* Each rekeyed on its own: new SPIs for it, the other's untouched, names kept. */
static void test_rekey_each(void)
{
	static const char *const names[2] = { "a", "b" };
	static struct world w;

	setup(&w, (struct ends){ .b_start = true });
	for (int i = 0; i < 2; i++) {
		const char *me = names[i], *other = names[1 - i];
		uint32_t old = spi_of(&w.p[i], me), keep = spi_of(&w.p[0], other);

		/* Peer 0 rekeys "a", peer 1 "b": either end may. */
		CHECK_INT(ike_engine_rekey_child(w.p[i].e, world_sa_spi(&w.p[i]), old), 0);
		/* Long enough for the old inbound SAs to have lingered and gone. */
		world_run(&w, 60000);
		check_n(&w, 2);
		check_child(&w, "a");
		check_child(&w, "b");
		CHECK(spi_of(&w.p[i], me) != old);
		CHECK_INT(spi_of(&w.p[0], other), keep);
	}
	CHECK_INT(world_events(&w.p[0], IKE_EV_CHILD_REKEYED) +
			  world_events(&w.p[1], IKE_EV_CHILD_REKEYED),
		  2);
	world_free(&w);
}

/* Each deleted on its own: the other stays. */
static void test_delete_each(void)
{
	static struct world w;
	uint32_t keep;

	setup(&w, (struct ends){ .b_start = true });
	keep = spi_of(&w.p[0], "b");
	CHECK_INT(ike_engine_delete_child(w.p[0].e, world_sa_spi(&w.p[0]), spi_of(&w.p[0], "a")),
		  0);
	world_run(&w, 3000);
	check_n(&w, 1);
	check_child(&w, "b");
	CHECK_INT(spi_of(&w.p[0], "b"), keep);
	CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), spi_of(&w.p[1], "b")),
		  0);
	world_run(&w, 3000);
	check_n(&w, 0);
	CHECK_INT(world_sa_count(&w.p[0]), 1);
	CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
	world_free(&w);
}

/*
 * Peer 0 rekeys "a" while peer 1 rekeys "b", both requests crossing on the
 * wire: two rekeys of different CHILD_SAs are no collision (2.8.1 is about
 * one CHILD_SA), both complete.
 */
static void test_rekey_crossing(void)
{
	static struct world w;
	uint32_t a0, b1;

	setup(&w, (struct ends){ .b_start = true });
	a0 = spi_of(&w.p[0], "a");
	b1 = spi_of(&w.p[1], "b");
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, world_sa_spi(&w.p[0]), a0), 0);
	CHECK_INT(ike_engine_rekey_child(w.p[1].e, world_sa_spi(&w.p[1]), b1), 0);
	world_run(&w, 60000);
	check_n(&w, 2);
	check_child(&w, "a");
	check_child(&w, "b");
	CHECK(spi_of(&w.p[0], "a") != a0);
	CHECK(spi_of(&w.p[1], "b") != b1);
	world_free(&w);
}

/* The peer deletes "b", which comes back; "a" keeps its SPIs. */
static void test_recreate_one(void)
{
	static struct world w;
	uint32_t a, b;

	setup(&w, (struct ends){ .b_start = true, .b_closed = true });
	a = spi_of(&w.p[0], "a");
	b = spi_of(&w.p[1], "b");
	CHECK_INT(ike_engine_delete_child(w.p[1].e, world_sa_spi(&w.p[1]), b), 0);
	world_run(&w, 10000);
	check_n(&w, 2);
	check_child(&w, "a");
	check_child(&w, "b");
	CHECK(spi_of(&w.p[1], "b") != b);
	CHECK_INT(spi_of(&w.p[0], "a"), a);
	world_free(&w);
}

/* "b" does not start: only "a" comes up, and "b" when asked for by name. */
static void test_on_request(void)
{
	static struct world w;

	setup(&w, (struct ends){ .b_start = false });
	check_n(&w, 1);
	check_child(&w, "a");
	CHECK_INT(ike_engine_create_child_cfg(w.p[0].e, world_sa_spi(&w.p[0]), "nosuch"), -ENOENT);
	CHECK_INT(ike_engine_create_child_cfg(w.p[0].e, world_sa_spi(&w.p[0]), "b"), 0);
	world_run(&w, 3000);
	check_n(&w, 2);
	check_child(&w, "b");
	world_free(&w);
}

/* A trap's ACQUIRE for "b" brings the IKE SA up with "b" in IKE_AUTH, alone. */
static void test_initiate_child(void)
{
	static struct world w;
	struct ends e0 = { .b_start = false }, e1 = { .responder = true };

	world_init(&w, NULL, NULL, false);
	CHECK_INT(world_conn_edit(&w, 0, "c", IKEP, ESP, PSK, false, ends_edit, &e0), 0);
	CHECK_INT(world_conn_edit(&w, 1, "c", IKEP, ESP, PSK, false, ends_edit, &e1), 0);
	CHECK_INT(ike_engine_initiate_child(w.p[0].e, "c", "nosuch", NULL), -ENOENT);
	CHECK_INT(ike_engine_initiate_child(w.p[0].e, "c", "b", NULL), 0);
	world_run(&w, 2000);
	/* "a" starts too: it follows with CREATE_CHILD_SA. */
	check_n(&w, 2);
	check_child(&w, "a");
	check_child(&w, "b");
	world_free(&w);
}

/*
 * Selectors no configuration of the responder's accepts (it has no "b"):
 * refused with TS_UNACCEPTABLE, the IKE SA and "a" stay.
 */
static void test_no_fit(void)
{
	static struct world w;
	struct ends e0 = { .b_start = true }, e1 = { .responder = true, .only_a = true };
	const struct ike_event *ev;

	world_init(&w, NULL, NULL, false);
	CHECK_INT(world_conn_edit(&w, 0, "c", IKEP, ESP, PSK, false, ends_edit, &e0), 0);
	CHECK_INT(world_conn_edit(&w, 1, "c", IKEP, ESP, PSK, false, ends_edit, &e1), 0);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 3000);
	check_n(&w, 1);
	check_child(&w, "a");
	ev = world_event(&w.p[0], IKE_EV_FAILED);
	CHECK(ev && ev->notify == IKEV2_N_TS_UNACCEPTABLE);
	CHECK_INT(world_sa_count(&w.p[0]), 1);
	world_free(&w);
}

/* Configurations with one name twice, or too many: refused. */
static void dup_edit(struct ike_conn_cfg *c, void *ctx)
{
	static struct ike_child_cfg ch[2];
	char err[64];

	(void)ctx;
	CHECK_INT(ike_proposals_parse("aes128gcm16", 3, esp128, 2, err, sizeof(err)), 1);
	child_set(&ch[0], "x", "10.1.0.0/16", "10.2.0.0/16", esp128);
	child_set(&ch[1], "x", "10.3.0.0/16", "10.4.0.0/16", esp128);
	c->children = ch;
	c->n_children = 2;
}

static void test_bad_cfg(void)
{
	static struct world w;

	world_init(&w, NULL, NULL, false);
	CHECK_INT(world_conn_edit(&w, 0, "c", IKEP, ESP, PSK, false, dup_edit, NULL), -EINVAL);
	world_free(&w);
}

/*
 * Childless IKE SAs (RFC 6023): no configuration starts and the responder
 * announced it, so IKE_AUTH carries no CHILD_SA; either end may be the
 * initiator.  CHILD_SAs come later, on request.  A responder that did not
 * announce it gets a CHILD_SA in IKE_AUTH (the first configuration).
 */
static void childless_run(int ini, bool announce)
{
	static struct world w;
	struct ike_engine_cfg quiet;
	struct ends e[2] = { { .none_start = true }, { .responder = true, .none_start = true } };
	int resp = 1 - ini;

	ike_engine_cfg_defaults(&quiet);
	quiet.no_childless = true;
	world_init(&w, announce || resp != 0 ? NULL : &quiet, announce || resp != 1 ? NULL : &quiet,
		   false);
	CHECK_INT(world_conn_edit(&w, 0, "c", IKEP, ESP, PSK, false, ends_edit, &e[0]), 0);
	CHECK_INT(world_conn_edit(&w, 1, "c", IKEP, ESP, PSK, false, ends_edit, &e[1]), 0);
	CHECK_INT(ike_engine_initiate(w.p[ini].e, "c", NULL), 0);
	world_run(&w, 2000);
	CHECK_INT(world_sa_count(&w.p[0]), 1);
	CHECK_INT(world_sa_count(&w.p[1]), 1);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[1], IKE_EV_IKE_UP), 1);
	CHECK_INT(world_events(&w.p[ini], IKE_EV_FAILED), 0);
	if (announce) {
		check_n(&w, 0);
		CHECK(fake_kernel_empty(&w.p[0].k) && fake_kernel_empty(&w.p[1].k));
		CHECK_INT(ike_engine_create_child_cfg(w.p[ini].e, world_sa_spi(&w.p[ini]), "b"), 0);
		world_run(&w, 3000);
		check_n(&w, 1);
		check_child(&w, "b");
	} else {
		/* Peer 0's list has "a" first; peer 1's has it second: by name, not index. */
		check_n(&w, 1);
		CHECK_INT(named(&w.p[ini], ini ? "b" : "a", &(struct ike_child_info){ 0 }), 0);
	}
	world_free(&w);
}

static void test_childless(void)
{
	childless_run(0, true);
	childless_run(1, true);
}

static void test_childless_unannounced(void)
{
	childless_run(0, false);
	childless_run(1, false);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "create", test_create },
	{ "rekey-each", test_rekey_each },
	{ "delete-each", test_delete_each },
	{ "rekey-crossing", test_rekey_crossing },
	{ "recreate-one", test_recreate_one },
	{ "on-request", test_on_request },
	{ "initiate-child", test_initiate_child },
	{ "no-fit", test_no_fit },
	{ "bad-cfg", test_bad_cfg },
	{ "childless", test_childless },
	{ "childless-unannounced", test_childless_unannounced },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (argc < 2 || strcmp(argv[1], cases[i].name) == 0)
			cases[i].run();
	return check_done("children");
}
