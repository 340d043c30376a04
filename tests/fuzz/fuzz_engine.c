/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: a responder engine facing datagrams from anyone.
 *
 * One PSK connection that accepts any peer (remote family 0) with X25519,
 * ECP-256 or MODP-2048; each input is one datagram from 192.0.2.1:500 to
 * 192.0.2.2:500 (the addresses of the world handshakes the seeds come
 * from, so their NAT detection hashes match).  It is delivered
 *  - twice to a calm engine: the second copy is a retransmission, answered
 *    from the cached response (section 2.1);
 *  - once to an engine under load (cookie threshold 0), which demands a
 *    COOKIE (section 2.6) before keeping any state.
 * The engines live across inputs.  Each input advances the fake clock by a
 * quarter of the half-open timeout and runs the timers, so at most three
 * half-open SAs are alive and the calm engine's per-address cookie
 * threshold (3) is reached only after three SA-creating inputs in a row;
 * both are recreated every 1000 inputs.  State stays bounded, at the price
 * of some nondeterminism: an input may meet the SAs of the three before it.
 * A third engine hands its work out (ops.submit): the datagram comes, then
 * again while the work it caused is out, then the work completes (the
 * newest first), then the datagram comes a third time.
 * Oracle besides the sanitizers: everything the engines send must parse.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "fake_kernel.h"
#include "ike/ike.h"
#include "ike/payload.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RECREATE_EVERY 1000
#define HALF_OPEN_MS 30000

#define MAX_WORK 8

struct responder {
	struct ike_engine *e;
	struct fake_kernel k;
	uint32_t cookie_threshold;
	bool async;
	struct ike_work *work[MAX_WORK];
	size_t n_work;
};

static struct responder calm = { .cookie_threshold = 30 };
static struct responder loaded = { .cookie_threshold = 0 };
static struct responder async = { .cookie_threshold = 30 };

static void f_submit(void *ctx, struct ike_work *w)
{
	struct responder *r = ctx;

	if (r->n_work == MAX_WORK) {
		/* Never to come back: the SA waits and times out. */
		ike_work_free(w);
		return;
	}
	r->work[r->n_work++] = w;
}
static uint64_t now_ms = 1000000;
static unsigned long inputs;

static uint64_t f_now(void *ctx)
{
	(void)ctx;
	return now_ms;
}

static void f_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		   const uint8_t *buf, size_t len)
{
	struct ike_msg msg;

	(void)ctx;
	(void)local;
	(void)remote;
	if (ike_msg_parse(&msg, buf, len) != 0) {
		fprintf(stderr, "fuzz_engine: the engine sent a message it cannot parse\n");
		abort();
	}
}

static void discard(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

static void responder_new(struct responder *r)
{
	static const char psk[] = "fuzz shared secret";
	struct ike_proposal ike[4], esp[4];
	char err[128];
	int ni = ike_proposals_parse("aes128gcm16-prfsha256-x25519-ecp256-modp2048, "
				     "aes128-aes256-sha256-x25519-ecp256-modp2048",
				     IKEV2_PROTO_IKE, ike, 4, err, sizeof(err));
	int ne = ike_proposals_parse("aes128gcm16, aes128-sha256", IKEV2_PROTO_ESP, esp, 4, err,
				     sizeof(err));
	struct ike_conn_cfg c = {
		.name = "fuzz",
		.psk = (const uint8_t *)psk,
		.psk_len = sizeof(psk) - 1,
		.ike = ike,
		.n_ike = ni > 0 ? (size_t)ni : 0,
		.esp = esp,
		.n_esp = ne > 0 ? (size_t)ne : 0,
		.mode = XK_MODE_TUNNEL,
	};
	struct ike_ops ops = {
		.ctx = r,
		.send = f_send,
		.now_ms = f_now,
		.kernel = &fake_kernel_ops,
		.kernel_ctx = &r->k,
		.submit = r->async ? f_submit : NULL,
	};
	struct ike_engine_cfg cfg;

	ike_engine_cfg_defaults(&cfg);
	cfg.half_open_timeout_ms = HALF_OPEN_MS;
	cfg.cookie_threshold = r->cookie_threshold;
	fake_kernel_init(&r->k, 0xc0000000u);
	r->e = ike_engine_new(&cfg, &ops);
	if (!r->e || ike_engine_add_conn(r->e, &c) < 0) {
		fprintf(stderr, "fuzz_engine: cannot set up the engine\n");
		abort();
	}
}

/* Run and complete what the engine handed out, newest first. */
static void work_complete(struct responder *r)
{
	while (r->n_work) {
		struct ike_work *w = r->work[--r->n_work];

		ike_work_run(w);
		ike_engine_complete(r->e, w);
	}
}

static void responder_free(struct responder *r)
{
	ike_engine_free(r->e);
	while (r->n_work)
		ike_work_free(r->work[--r->n_work]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Format every log line (peer-chosen values go through them), print none. */
	xk_log_set_level(XK_LOG_DEBUG);
	if (!getenv("XIKE_FUZZ_LOG"))
		xk_log_set_sink(discard, NULL);
	responder_new(&calm);
	responder_new(&loaded);
	async.async = true;
	responder_new(&async);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xk_addr local, remote;

	if (++inputs % RECREATE_EVERY == 0) {
		ike_engine_free(calm.e);
		ike_engine_free(loaded.e);
		responder_free(&async);
		responder_new(&calm);
		responder_new(&loaded);
		responder_new(&async);
	}
	xk_addr_parse("192.0.2.2", &local);
	xk_addr_parse("192.0.2.1", &remote);
	local.port = remote.port = 500;
	now_ms += HALF_OPEN_MS / 4;
	ike_engine_tick(calm.e);
	ike_engine_tick(loaded.e);
	ike_engine_input(calm.e, &local, &remote, data, size);
	ike_engine_input(calm.e, &local, &remote, data, size);
	ike_engine_input(loaded.e, &local, &remote, data, size);
	ike_engine_tick(async.e);
	ike_engine_input(async.e, &local, &remote, data, size);
	ike_engine_input(async.e, &local, &remote, data, size);
	work_complete(&async);
	ike_engine_input(async.e, &local, &remote, data, size);
	work_complete(&async);
	return 0;
}
