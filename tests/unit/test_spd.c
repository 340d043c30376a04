/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's SPD (src/esp-soft/spd.c) against a model: the best policy
 * that selects a packet is the first match in a walk of all of them sorted
 * by (priority, insertion order) (tests/spd_model.h).  The SPD groups
 * prefix policies by shape and hashes them; whatever it does, it must
 * pick what the walk picks.
 *
 * Policies: prefixes of many lengths in both families (/0, /1, /7, /8, /9,
 * /24, /31, /32; /0, /48, /64, /127, /128), address ranges that are no
 * prefix, single protocols and port ranges, equal and different
 * priorities; added and deleted at random, past every growth of the
 * tables.  Packets: each policy's first and last address, one below and
 * one above, and random ones, with random ports and protocols.
 */
#include <errno.h>

#include "check.h"
#include "spd_model.h"

#define MAX_POL 600

static struct esp_pol *model[MAX_POL]; /* installed, any order */
static size_t n_model;
static uint64_t next_order;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible across runs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static size_t alen(uint8_t family)
{
	return family == XK_AF_INET ? 4 : 16;
}

/* A few networks, so that policies overlap and packets hit several. */
static void base_addr(uint8_t family, uint8_t *a)
{
	memset(a, 0, 16);
	if (family == XK_AF_INET) {
		a[0] = 10;
		a[1] = (uint8_t)(rnd() % 3);
		a[2] = (uint8_t)(rnd() % 4);
		a[3] = (uint8_t)rnd();
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		a[7] = (uint8_t)(rnd() % 3);
		a[15] = (uint8_t)rnd();
	}
}

static void prefix_ts(struct xk_ts *t, uint8_t family, unsigned len)
{
	size_t n = alen(family);
	uint8_t a[16];

	base_addr(family, a);
	t->family = family;
	for (size_t i = 0; i < n; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * (unsigned)i : 0;
		uint8_t m = (uint8_t)(0xff00u >> keep);

		t->lo[i] = (uint8_t)(a[i] & m);
		t->hi[i] = (uint8_t)(a[i] | (uint8_t)~m);
	}
}

/* lo..hi inside one /24 (or /120), rarely a prefix. */
static void range_ts(struct xk_ts *t, uint8_t family)
{
	size_t n = alen(family);
	uint8_t lo = (uint8_t)rnd(), hi = (uint8_t)rnd();

	base_addr(family, t->lo);
	memcpy(t->hi, t->lo, 16);
	if (lo > hi) {
		uint8_t x = lo;

		lo = hi;
		hi = x;
	}
	t->lo[n - 1] = lo;
	t->hi[n - 1] = hi;
	t->family = family;
}

static void random_ts(struct xk_ts *t, uint8_t family)
{
	static const unsigned v4[] = { 0, 1, 7, 8, 9, 24, 24, 31, 32, 32, 32 };
	static const unsigned v6[] = { 0, 48, 64, 64, 127, 128, 128 };

	memset(t, 0, sizeof(*t));
	if (rnd() % 5 == 0)
		range_ts(t, family);
	else if (family == XK_AF_INET)
		prefix_ts(t, family, v4[rnd() % (sizeof(v4) / sizeof(v4[0]))]);
	else
		prefix_ts(t, family, v6[rnd() % (sizeof(v6) / sizeof(v6[0]))]);
	t->port_hi = 0xffff;
	if (rnd() % 4 == 0) {
		t->proto = rnd() % 2 ? 6 : 17;
		if (rnd() % 2) {
			t->port_lo = (uint16_t)(1000 + rnd() % 50);
			t->port_hi = (uint16_t)(t->port_lo + rnd() % 20);
		}
	}
}

static struct esp_pol *random_pol(void)
{
	struct esp_pol *pol = calloc(1, sizeof(*pol));
	uint8_t family = rnd() % 3 ? XK_AF_INET : XK_AF_INET6;

	random_ts(&pol->p.src, family);
	random_ts(&pol->p.dst, family);
	/* Both selectors of a policy name one protocol. */
	pol->p.dst.proto = pol->p.src.proto;
	pol->p.priority = rnd() % 4 ? 100 : 50 + rnd() % 100;
	pol->p.reqid = (uint32_t)n_model + 1;
	return pol;
}

/* An address at or next to one of the policy's bounds, or a random one. */
static void probe_addr(const struct xk_ts *t, uint8_t *a)
{
	size_t n = alen(t->family);
	unsigned how = rnd() % 5;

	memcpy(a, how % 2 ? t->hi : t->lo, 16);
	if (how == 2) { /* one below lo */
		for (size_t i = n; i-- > 0;)
			if (a[i]-- != 0)
				break;
	} else if (how == 3) { /* one above hi */
		for (size_t i = n; i-- > 0;)
			if (++a[i] != 0)
				break;
	} else if (how == 4) {
		base_addr(t->family, a);
	}
}

static size_t lookups, hits;

static void probe(const struct esp_spd *s, const struct esp_pol *near)
{
	uint8_t src[16], dst[16];
	struct esp_flow f = { .family = near->p.src.family, .src = src, .dst = dst };
	const struct esp_pol *got, *want;

	probe_addr(&near->p.src, src);
	probe_addr(&near->p.dst, dst);
	f.proto = rnd() % 3 == 0 ? 1 : rnd() % 2 ? 6 : 17;
	f.sport = (uint16_t)(rnd() % 3 ? 1000 + rnd() % 80 : rnd());
	f.dport = (uint16_t)(rnd() % 3 ? 1000 + rnd() % 80 : rnd());
	got = esp_spd_lookup(s, &f);
	want = spd_model_lookup(model, n_model, &f);
	lookups++;
	hits += want != NULL;
	CHECK_MSG(got == want, "lookup %zu: reqid %u, the walk says %u", lookups,
		  got ? got->p.reqid : 0, want ? want->p.reqid : 0);
}

static void model_del(struct esp_spd *s, size_t i)
{
	struct esp_pol *p = model[i], *got = esp_spd_del(s, &p->p);

	CHECK(got == p);
	free(p);
	model[i] = model[--n_model];
}

static void test_against_model(void)
{
	struct esp_spd s;

	esp_spd_init(&s, 0x1234);
	for (int round = 0; round < 4000; round++) {
		unsigned op = rnd() % 10;

		if (op < 5 && n_model < MAX_POL) {
			struct esp_pol *p = random_pol();
			int err;

			p->order = next_order++;
			err = esp_spd_add(&s, p);
			if (err == -EEXIST) {
				CHECK(esp_spd_find(&s, &p->p) != NULL);
				free(p);
			} else {
				CHECK_INT(err, 0);
				model[n_model++] = p;
			}
		} else if (op < 6 && n_model) {
			model_del(&s, rnd() % n_model);
		}
		for (int k = 0; k < 4 && n_model; k++)
			probe(&s, model[rnd() % n_model]);
	}
	CHECK_INT(s.n, n_model);
	/* Deleting everything leaves nothing that matches. */
	while (n_model) {
		struct esp_pol *keep = model[0];
		struct xk_policy sel = keep->p;

		model_del(&s, 0);
		CHECK(esp_spd_find(&s, &sel) == NULL);
		CHECK(esp_spd_del(&s, &sel) == NULL);
	}
	CHECK_INT(s.n, 0);
	esp_spd_free(&s);
	/* The walk found a policy for a good share of them: the probes were not all misses. */
	CHECK_MSG(hits * 4 > lookups, "%zu of %zu lookups hit", hits, lookups);
	printf("spd: %zu lookups compared with the walk, %zu selected a policy\n", lookups, hits);
}

/* A host pair wins over its subnets and the catch-all only by priority, then age. */
static void test_order(void)
{
	struct esp_spd s;
	struct esp_pol *all = calloc(1, sizeof(*all)), *net = calloc(1, sizeof(*net));
	struct esp_pol *host = calloc(1, sizeof(*host)), *twin = calloc(1, sizeof(*twin));
	uint8_t a[4] = { 10, 1, 2, 3 }, b[4] = { 10, 9, 8, 7 };
	struct esp_flow f = { .family = XK_AF_INET, .proto = 6, .src = a, .dst = b };

	esp_spd_init(&s, 0);
	xk_ts_parse("0.0.0.0/0", &all->p.src);
	xk_ts_parse("0.0.0.0/0", &all->p.dst);
	xk_ts_parse("10.1.2.0/24", &net->p.src);
	xk_ts_parse("10.9.0.0/16", &net->p.dst);
	xk_ts_parse("10.1.2.3", &host->p.src);
	xk_ts_parse("10.9.8.7", &host->p.dst);
	twin->p = host->p;
	twin->p.src.proto = twin->p.dst.proto = 6;
	all->p.priority = 100;
	net->p.priority = 100;
	host->p.priority = 100;
	twin->p.priority = 100;
	all->order = 0;
	net->order = 1;
	host->order = 2;
	twin->order = 3;
	CHECK_INT(esp_spd_add(&s, all), 0);
	CHECK_INT(esp_spd_add(&s, net), 0);
	CHECK_INT(esp_spd_add(&s, host), 0);
	CHECK_INT(esp_spd_add(&s, twin), 0);
	/* Same priority: the first installed, however specific the others. */
	CHECK(esp_spd_lookup(&s, &f) == all);
	free(esp_spd_del(&s, &all->p));
	CHECK(esp_spd_lookup(&s, &f) == net);
	/* Installed again with a better priority. */
	CHECK(esp_spd_del(&s, &host->p) == host);
	host->p.priority = 10;
	host->order = 4;
	CHECK_INT(esp_spd_add(&s, host), 0);
	CHECK(esp_spd_lookup(&s, &f) == host);
	f.proto = 17;
	CHECK(esp_spd_lookup(&s, &f) == host);
	free(esp_spd_del(&s, &host->p));
	CHECK(esp_spd_lookup(&s, &f) == net);
	f.proto = 6;
	CHECK(esp_spd_del(&s, &twin->p) == twin);
	twin->p.priority = 1;
	twin->order = 5;
	CHECK_INT(esp_spd_add(&s, twin), 0);
	CHECK(esp_spd_lookup(&s, &f) == twin);
	b[3] = 8; /* outside the host pair, inside the subnets */
	CHECK(esp_spd_lookup(&s, &f) == net);
	b[1] = 10; /* outside everything */
	CHECK(esp_spd_lookup(&s, &f) == NULL);
	esp_spd_free(&s);
}

int main(void)
{
	test_order();
	test_against_model();
	return check_done("spd");
}
