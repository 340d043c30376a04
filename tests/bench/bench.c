/* SPDX-License-Identifier: ISC */
/*
 * Microbenchmarks of the engine, each printing operations per second and,
 * where it helps, a ratio against the raw crypto it cannot avoid, measured
 * in the same run (the machine is noisy: compare ratios, not absolutes).
 *
 *   ninja -C build bench          or   build/tests/bench [seconds-per-case]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ike/ike_sa.h"
#include "world.h"

static double budget = 1.0;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run fn until the budget is spent; returns operations per second. */
static double measure(const char *name, void (*fn)(void *), void *ctx)
{
	double start = now_s(), t;
	unsigned long n = 0;

	do {
		for (int i = 0; i < 16; i++)
			fn(ctx);
		n += 16;
		t = now_s() - start;
	} while (t < budget);
	printf("%-40s %12.0f ops/s\n", name, (double)n / t);
	return (double)n / t;
}

/* ---- raw crypto: the floor under everything else ---- */

static void x25519_pair(void *ctx)
{
	uint8_t pub[32], sec[32];
	size_t pl = sizeof(pub), sl = sizeof(sec);
	struct ike_dh *a = ike_dh_new(IKEV2_DH_CURVE25519);

	(void)ctx;
	ike_dh_public(a, pub, &pl);
	ike_dh_derive(a, pub, pl, sec, &sl);
	ike_dh_free(a);
}

static void derive_keys(void *ctx)
{
	static const uint8_t ni[32] = { 1 }, nr[32] = { 2 }, gir[32] = { 3 };
	struct ike_keys k;
	uint8_t keymat[72];

	(void)ctx;
	ike_derive_ike_keys(IKEV2_PRF_HMAC_SHA2_256, ni, 32, nr, 32, gir, 32, 1, 2, 0, 20, &k);
	ike_child_keymat(IKEV2_PRF_HMAC_SHA2_256, k.sk_d, k.prf_len, NULL, 0, ni, 32, nr, 32,
			 keymat, 40);
	ike_keys_wipe(&k);
}

/* ---- IKE_SA_INIT: build (initiator) and process (responder) ---- */

struct sink {
	uint8_t buf[2048];
	size_t len;
	unsigned n;
	uint64_t now;
};

static void sink_send(void *ctx, const struct xk_addr *l, const struct xk_addr *r,
		      const uint8_t *buf, size_t len)
{
	struct sink *s = ctx;

	(void)l;
	(void)r;
	if (len <= sizeof(s->buf)) {
		memcpy(s->buf, buf, len);
		s->len = len;
	}
	s->n++;
}

static uint64_t sink_now(void *ctx)
{
	return ((struct sink *)ctx)->now;
}

struct engine_case {
	struct sink sink;
	struct fake_kernel k;
	struct ike_engine *e;
	uint8_t req[2048];
	size_t req_len;
	uint64_t spi;
	struct xk_addr a, b;
	unsigned count;
};

static void engine_case_init(struct engine_case *c, bool initiator)
{
	struct ike_engine_cfg cfg;
	struct ike_ops ops = {
		.ctx = &c->sink, .send = sink_send, .now_ms = sink_now,
		.kernel = &fake_kernel_ops, .kernel_ctx = &c->k,
	};
	struct ike_proposal ip[2], ep[2];
	char err[64];
	struct ike_conn_cfg conn = {
		.name = "bench", .psk = (const uint8_t *)"bench secret", .psk_len = 12,
		.ike = ip, .esp = ep,
	};

	memset(c, 0, sizeof(*c));
	fake_kernel_init(&c->k, 0x100);
	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = cfg.cookie_threshold_ip = UINT32_MAX; /* measure work, not cookies */
	cfg.half_open_max = cfg.half_open_max_ip = 0;                 /* ... nor limits */
	c->sink.now = 1000;
	c->e = ike_engine_new(&cfg, &ops);
	xk_addr_parse("192.0.2.1", &c->a);
	xk_addr_parse("192.0.2.2", &c->b);
	c->a.port = c->b.port = 500;
	conn.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519", 1, ip, 2, err, 64);
	conn.n_esp = (size_t)ike_proposals_parse("aes128gcm16", 3, ep, 2, err, 64);
	if (initiator) {
		conn.remote = c->b;
		conn.remote.port = 0;
	}
	ike_engine_add_conn(c->e, &conn);
}

/* Drop every SA now and then so the tables stay small. */
static void engine_case_trim(struct engine_case *c)
{
	if (++c->count % 1024)
		return;
	c->sink.now += 10ULL * 60 * 1000; /* everything half-open or silent times out */
	for (int i = 0; i < 8; i++) {
		ike_engine_tick(c->e);
		c->sink.now += 200000;
	}
}

static void init_build(void *ctx)
{
	struct engine_case *c = ctx;

	ike_engine_initiate(c->e, "bench", NULL);
	engine_case_trim(c);
}

static void init_process(void *ctx)
{
	struct engine_case *c = ctx;

	/* A new initiator SPI each time: a new SA, not a retransmission. */
	put_be64(c->req, ++c->spi);
	ike_engine_input(c->e, &c->b, &c->a, c->req, c->req_len);
	engine_case_trim(c);
}

/*
 * ---- a kernel event (SA expiry) among many IKE SAs ----
 * Found by the SPI of the SA it names; not ours: the worst case of any
 * search.  The SAs are responders past IKE_SA_INIT, each an entry of the
 * engine's tables like an established one.
 */
struct expire_case {
	struct engine_case ec;
	struct xk_sa_id id;
};

static void expire_miss(void *ctx)
{
	struct expire_case *c = ctx;

	c->id.spi++;
	ike_engine_expire(c->ec.e, &c->id, false);
}

static void expire_case_init(struct expire_case *c, const struct engine_case *from, size_t n_sas)
{
	engine_case_init(&c->ec, false);
	memcpy(c->ec.req, from->req, from->req_len);
	c->ec.req_len = from->req_len;
	for (size_t i = 0; i < n_sas; i++) {
		put_be64(c->ec.req, ++c->ec.spi);
		ike_engine_input(c->ec.e, &c->ec.b, &c->ec.a, c->ec.req, c->ec.req_len);
	}
	c->id = (struct xk_sa_id){ .dst = c->ec.a, .spi = 0x40000000, .proto = 50 };
}

/* ---- a whole handshake between two engines in one process ---- */

static void handshake(void *ctx)
{
	struct world *w = ctx;

	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
	ike_engine_terminate(w->p[0].e, world_sa_spi(&w->p[0]));
	world_run(w, 1000);
}

int main(int argc, char **argv)
{
	struct engine_case *init = calloc(1, sizeof(*init)), *resp = calloc(1, sizeof(*resp));
	struct world *w = calloc(1, sizeof(*w));
	double dh, hs, build, proc;

	if (argc > 1)
		budget = atof(argv[1]);
	xk_log_set_level(XK_LOG_ERROR);
	printf("xike engine microbenchmarks, %.1f s per case, one core\n", budget);

	dh = measure("X25519 keygen + derive (crypto floor)", x25519_pair, NULL);
	measure("IKE + CHILD key derivation (prf+)", derive_keys, NULL);

	engine_case_init(init, true);
	build = measure("IKE_SA_INIT request build", init_build, init);

	/* Capture one real request, then feed it to a responder again and again. */
	engine_case_init(resp, false);
	memcpy(resp->req, init->sink.buf, init->sink.len);
	resp->req_len = init->sink.len;
	proc = measure("IKE_SA_INIT request process + response", init_process, resp);
	if (resp->sink.len < 200) {
		fprintf(stderr, "bench: the responder did not answer with an SA\n");
		return 1;
	}

	{
		struct expire_case *x = calloc(1, sizeof(*x));
		struct ike_stats st;
		size_t heap0 = mallinfo2().uordblks;

		expire_case_init(x, resp, 10000);
		ike_engine_stats(x->ec.e, &st);
		if (st.half_open != 10000) {
			fprintf(stderr, "bench: %llu SAs made, not 10000\n",
				(unsigned long long)st.half_open);
			return 1;
		}
		/* What each half-open SA of a flood below the cookie threshold costs. */
		printf("%-48s %12.0f bytes (IKE_SA_INIT of %zu bytes)\n", "heap per half-open SA",
		       (double)(mallinfo2().uordblks - heap0) / 10000, resp->req_len);
		measure("kernel expire event, 10,000 IKE SAs", expire_miss, x);
		ike_engine_free(x->ec.e);
		free(x);
	}

	world_init(w, NULL, NULL, false);
	world_conn(w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "bench secret");
	world_conn(w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", "bench secret");
	hs = measure("full handshake + DELETE, both sides", handshake, w);

	/*
	 * A handshake needs two key pairs and two derivations: one X25519
	 * "pair" (keygen + derive) per side, so the crypto limit for both
	 * sides in one process is dh / 2 handshakes per second.
	 */
	printf("ratio: request build / X25519 pair       %.2f\n", build / dh);
	printf("ratio: request process / X25519 pair     %.2f\n", proc / dh);
	printf("ratio: handshake / crypto limit (dh/2)   %.2f\n", hs / (dh / 2));

	world_free(w);
	ike_engine_free(init->e);
	ike_engine_free(resp->e);
	free(init);
	free(resp);
	free(w);
	return 0;
}
