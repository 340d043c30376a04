/* SPDX-License-Identifier: ISC */
/*
 * xiked's worker threads (src/daemon/workers.c) with a real engine: the
 * responder of a world hands its key exchanges to three workers, and the
 * loop (libev, as in xiked) completes them as they come back, in whatever
 * order the threads finish.  Many handshakes must all come up; then a
 * stop with works still queued must release them without a leak or a
 * race.  Built with ThreadSanitizer (build-tsan), this is the cheap race
 * check of the pool; tools/tsan-workers is the one under real load.
 * With the argument "cert", both ends authenticate with certificates and
 * the responder's check of the peer and its own signature (one
 * IKE_WORK_VERIFY) go to the workers too, on one shared trust store and
 * private key.
 */
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "check.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/workers.h"
#include "world.h"

#define N 200

static struct xiked xd;

/* ---- certificates: one root, an end-entity certificate per peer ---- */

static const char *const names[2] = { "gw0.example.org", "gw1.example.org" };

struct side {
	int idx;
	struct ike_cred *cred;
	struct ike_trust *trust;
};

static struct side make_side(int idx, X509 *root, EVP_PKEY *root_key)
{
	char san[64];
	EVP_PKEY *key = certs_key("EC", "P-256", 0);
	struct certs_spec spec = { .cn = names[idx], .key = key, .issuer = root,
				   .ikey = root_key, .ku = "critical,digitalSignature",
				   .san = san, .serial = 10 + idx };
	struct side sd = { .idx = idx, .trust = ike_trust_new() };
	const char *why = NULL;
	uint8_t *pem, *der;
	size_t len;
	X509 *ee;

	snprintf(san, sizeof(san), "DNS:%s", names[idx]);
	ee = certs_make(&spec);
	pem = certs_key_pem(key, &len);
	CHECK_INT(ike_cred_new(pem, len, &sd.cred, &why), 0);
	free(pem);
	pem = certs_pem(ee, &len);
	CHECK_INT(ike_cred_add_certs(sd.cred, pem, len, &why), 0);
	free(pem);
	der = certs_der(root, &len);
	CHECK_INT(ike_trust_add_ca(sd.trust, der, len, &why), 0);
	free(der);
	X509_free(ee);
	EVP_PKEY_free(key);
	return sd;
}

static void cert_edit(struct ike_conn_cfg *c, void *ctx)
{
	const struct side *sd = ctx;

	c->local_auth = IKE_AUTH_PUBKEY;
	c->remote_auth = IKE_AUTH_PUBKEY;
	c->cred = sd->cred;
	c->trust = sd->trust;
	/*
	 * No remote-id: any identity the root vouches for.  Pinned, each new
	 * SA's INITIAL_CONTACT would drop the same peer's SAs in flight.
	 */
	ike_id_parse(names[sd->idx], &c->local_id);
}

static void to_pool(struct world *w, int idx, struct ike_work *wk)
{
	(void)w;
	(void)idx;
	xd_workers_submit(&xd, wk);
}

/* Deliver everything, and let the loop take back what the workers did. */
static void pump(struct world *w, bool block)
{
	while (w->q_len)
		world_deliver(w, 0);
	ev_run(xd.loop, block ? EVRUN_ONCE : EVRUN_NOWAIT);
}

int main(int argc, char **argv)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct xd_workers_stats ws;
	struct ike_stats s0, s1;
	struct side sides[2] = { { 0 } };
	bool cert = argc > 1 && strcmp(argv[1], "cert") == 0;
	/* Per handshake, the responder hands out its DH, and with certificates its check. */
	unsigned per = cert ? 2 : 1;
	char err[128];

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 10000;
	cfg.cookie_threshold_ip = 10000;
	cfg.half_open_max_ip = 10000;
	world_init(&w, NULL, &cfg, false);
	world_async(&w, 1, &cfg);
	w.submit_hook = to_pool;
	if (cert) {
		EVP_PKEY *rk = certs_key("EC", "P-256", 0);
		X509 *root = certs_ca("xike test root", rk, NULL, NULL);

		w.wall = CERTS_NOW;
		for (int i = 0; i < 2; i++) {
			sides[i] = make_side(i, root, rk);
			CHECK_INT(world_conn_edit(&w, i, "c", "aes128gcm16-prfsha256-x25519",
						  "aes128gcm16", NULL, false, cert_edit, &sides[i]),
				  0);
		}
		X509_free(root);
		EVP_PKEY_free(rk);
	} else {
		CHECK_INT(world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16",
				     "s"),
			  0);
		CHECK_INT(world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16",
				     "s"),
			  0);
	}

	xd.loop = ev_loop_new(EVFLAG_AUTO);
	xd.eng = w.p[1].e;
	xd_loop_init(&xd);
	CHECK_INT(xd_workers_init(&xd, 4, err, sizeof(err)), 0);
	CHECK_INT(xd_workers_start(&xd, err, sizeof(err)), 0);

	/* In waves of 40: the world's wire holds 64 datagrams. */
	for (unsigned guard = 0, started = 0; guard < 100000; guard++) {
		ike_engine_stats(w.p[0].e, &s0);
		ike_engine_stats(w.p[1].e, &s1);
		if (s0.handshakes_ok + s0.handshakes_failed >= N && !w.q_len)
			break;
		if (started < N && s0.handshakes_ok + s0.handshakes_failed >= started) {
			for (int i = 0; i < 40 && started < N; i++, started++)
				CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
		}
		/* Block on the loop only when a work is out and nothing else moves. */
		pump(&w, !w.q_len && s1.work_pending);
	}
	ike_engine_stats(w.p[0].e, &s0);
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s0.handshakes_ok, N);
	CHECK_INT(s1.handshakes_ok, N);
	CHECK_INT(s1.work_submitted, per * N);
	CHECK_INT(s1.work_pending, 0);
	CHECK_INT(s0.retransmits, 0);
	xd_workers_stats(&xd, &ws);
	CHECK_INT(ws.threads, 3);
	CHECK_INT(ws.done + ws.inline_runs, per * N);
	CHECK_INT(ws.queued, 0);

	/* Stopped with works out: joined, then released after the engine. */
	for (int i = 0; i < 40; i++)
		ike_engine_initiate(w.p[0].e, "c", NULL);
	while (w.q_len)
		world_deliver(&w, 0);
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_INT(s1.work_submitted, per * N + 40);
	xd_workers_stop(&xd);
	world_free(&w);
	xd_workers_free(&xd);
	CHECK(xd.workers == NULL);
	ev_loop_destroy(xd.loop);
	for (int i = 0; i < 2; i++) {
		ike_cred_free(sides[i].cred);
		ike_trust_free(sides[i].trust);
	}
	return check_done(cert ? "workers cert" : "workers");
}
