/* SPDX-License-Identifier: ISC */
/*
 * Many tunnels at once between two peers, over a network that loses 10% of
 * the datagrams: every one comes up (through retransmissions and, past the
 * half-open threshold, cookies), each on its own connection, picked by its
 * traffic selectors, with its own key.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "world.h"

#define N 100

static unsigned lcg = 12345;

/* Deterministic: a fixed-seed LCG decides which datagrams are lost. */
static bool lossy(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)p;
	(void)seq;
	lcg = lcg * 1103515245u + 12345u;
	return (lcg >> 16) % 10 != 0;
}

static void add(struct world *w, int idx, int i)
{
	struct ike_proposal ip[2], ep[2];
	char err[64], name[16], psk[32], a[32], b[32];
	struct ike_conn_cfg c = {
		.name = name, .local = w->p[idx].addr, .remote = w->p[1 - idx].addr,
		.ike = ip, .esp = ep, .mode = XK_MODE_TUNNEL,
		.n_local_ts = 1, .n_remote_ts = 1,
	};

	snprintf(name, sizeof(name), "t%d", i);
	snprintf(psk, sizeof(psk), "secret %d", i);
	snprintf(a, sizeof(a), "172.16.%d.0/24", i);
	snprintf(b, sizeof(b), "172.17.%d.0/24", i);
	c.psk = (const uint8_t *)psk;
	c.psk_len = strlen(psk);
	c.n_ike = (size_t)ike_proposals_parse("aes128gcm16-prfsha256-x25519", 1, ip, 2, err, 64);
	c.n_esp = (size_t)ike_proposals_parse("aes128gcm16", 3, ep, 2, err, 64);
	xk_ts_parse(idx ? b : a, &c.local_ts[0]);
	xk_ts_parse(idx ? a : b, &c.remote_ts[0]);
	c.local.port = c.remote.port = 0;
	CHECK_INT(ike_engine_add_conn(w->p[idx].e, &c), 0);
}

int main(void)
{
	static struct world w;
	struct ike_stats s0, s1;

	world_init(&w, NULL, NULL, false);
	for (int i = 0; i < N; i++) {
		add(&w, 0, i);
		add(&w, 1, i);
	}
	w.filter = lossy;
	for (int i = 0; i < N; i++) {
		char name[16];

		snprintf(name, sizeof(name), "t%d", i);
		CHECK_INT(ike_engine_initiate(w.p[0].e, name, NULL), 0);
		/* A little of the handshakes go on between initiations. */
		world_run(&w, 0);
	}
	world_run(&w, 600000);
	ike_engine_stats(w.p[0].e, &s0);
	ike_engine_stats(w.p[1].e, &s1);
	CHECK_MSG(s0.child_sa_active == N && s1.child_sa_active == N,
		  "%llu / %llu CHILD_SAs up", (unsigned long long)s0.child_sa_active,
		  (unsigned long long)s1.child_sa_active);
	CHECK_INT(s0.auth_failures + s1.auth_failures, 0);
	CHECK(s0.retransmits > 0);
	CHECK(s1.cookies_sent > 0);
	printf("many: %d tunnels, %llu retransmissions, %llu cookies\n", N,
	       (unsigned long long)s0.retransmits, (unsigned long long)s1.cookies_sent);
	world_free(&w);
	return check_done("many");
}
