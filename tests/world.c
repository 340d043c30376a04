/* SPDX-License-Identifier: ISC */
#include "world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "ike/crypto.h"
#include "ike/engine.h"

static uint64_t w_now(void *ctx)
{
	struct w_peer *p = ctx;

	return p->w->now;
}

static void w_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		   const uint8_t *buf, size_t len)
{
	struct w_peer *p = ctx;
	struct world *w = p->w;
	struct w_pkt *pkt;

	p->sent++;
	if (w->q_len == W_MAX_PKTS)
		return;
	pkt = malloc(sizeof(*pkt));
	if (!pkt)
		return;
	pkt->to = 1 - p->idx;
	pkt->src = *local;
	/* An unset local address is what the "kernel" picks: ours. */
	if (!pkt->src.family) {
		pkt->src = p->addr;
		pkt->src.port = local->port;
	}
	pkt->dst = *remote;
	memcpy(pkt->buf, buf, len);
	pkt->len = len;
	pkt->copy = false;
	pkt->n_mark = 0;
	if (w->on_send)
		w->on_send(w, p->idx, pkt);
	w->q[w->q_len++] = pkt;
}

static int w_nonce(void *ctx, void *buf, size_t len)
{
	struct w_peer *p = ctx;
	int r = ike_random(buf, len);
	unsigned n = p->n_nonces++;

	if (r == 0 && len && n < 8 && p->nonce_first[n] >= 0)
		((uint8_t *)buf)[0] = (uint8_t)p->nonce_first[n];
	if (r == 0 && len <= sizeof(p->last_nonce)) {
		memcpy(p->last_nonce, buf, len);
		p->last_nonce_len = len;
	}
	return r;
}

/* Wall-clock time for certificates: the world's, else the system's. */
static int64_t w_wall(void *ctx)
{
	struct w_peer *p = ctx;

	return p->w->wall ? p->w->wall : (int64_t)time(NULL);
}

static void w_event(void *ctx, const struct ike_event *ev)
{
	struct w_peer *p = ctx;

	if (p->n_events < W_MAX_EVENTS) {
		p->child_end[p->n_events] = ev->child ? (int)ev->child->end : -1;
		p->events[p->n_events++] = *ev;
	}
}

void world_init(struct world *w, const struct ike_engine_cfg *cfg0,
		const struct ike_engine_cfg *cfg1, bool v6)
{
	const char *env = getenv("XIKE_TEST_LOG");
	bool env_async = getenv("XIKE_TEST_ASYNC") != NULL;

	memset(w, 0, sizeof(*w));
	xk_log_set_level(env ? (enum xk_log_level)xk_log_level_parse(env) : XK_LOG_ERROR);
	w->now = 1000000;
	for (int i = 0; i < 2; i++) {
		struct w_peer *p = &w->p[i];

		p->w = w;
		p->idx = i;
		for (int n = 0; n < 8; n++)
			p->nonce_first[n] = -1;
		fake_kernel_init(&p->k, 0xc0000000u + (uint32_t)i * 0x1000000u);
		xk_addr_parse(v6 ? (i ? "2001:db8::2" : "2001:db8::1")
				 : (i ? "192.0.2.2" : "192.0.2.1"),
			      &p->addr);
		p->addr.port = 500;
		/* Every exchange test can run again with the work handed out. */
		p->async = env_async;
		p->e = world_engine(w, i, i ? cfg1 : cfg0);
	}
}

static void w_submit(void *ctx, struct ike_work *wk)
{
	struct w_peer *p = ctx;

	if (p->w->submit_hook) {
		p->w->submit_hook(p->w, p->idx, wk);
		return;
	}
	if (p->n_work == W_MAX_WORK) {
		p->work_lost++;
		ike_work_free(wk);
		return;
	}
	p->work[p->n_work++] = wk;
}

void world_work_done(struct world *w, int idx, size_t i)
{
	struct w_peer *p = &w->p[idx];
	struct ike_work *wk;

	if (i >= p->n_work)
		return;
	wk = p->work[i];
	memmove(&p->work[i], &p->work[i + 1], (p->n_work - i - 1) * sizeof(p->work[0]));
	p->n_work--;
	ike_work_run(wk);
	ike_engine_complete(p->e, wk);
}

void world_work_all(struct world *w)
{
	for (int i = 0; i < 2; i++)
		while (w->p[i].n_work)
			world_work_done(w, i, w->work_lifo ? w->p[i].n_work - 1 : 0);
}

void world_async(struct world *w, int idx, const struct ike_engine_cfg *cfg)
{
	struct w_peer *p = &w->p[idx];

	ike_engine_free(p->e);
	p->async = true;
	p->e = world_engine(w, idx, cfg);
}

/* The engine is gone (or going): what it handed out is released, not completed. */
static void w_work_drop(struct w_peer *p)
{
	for (size_t i = 0; i < p->n_work; i++)
		ike_work_free(p->work[i]);
	p->n_work = 0;
}

struct ike_engine *world_engine(struct world *w, int idx, const struct ike_engine_cfg *cfg)
{
	struct w_peer *p = &w->p[idx];
	struct ike_ops ops = {
		.ctx = p,
		.send = w_send,
		.now_ms = w_now,
		.event = w_event,
		.nonce = w_nonce,
		.wall_time = w_wall,
		.kernel = &fake_kernel_ops,
		.kernel_ctx = &p->k,
		.submit = p->async ? w_submit : NULL,
	};

	return ike_engine_new(cfg, &ops);
}

void world_free(struct world *w)
{
	for (int i = 0; i < 2; i++) {
		ike_engine_free(w->p[i].e);
		w_work_drop(&w->p[i]);
	}
	for (size_t i = 0; i < w->q_len; i++)
		free(w->q[i]);
	w->q_len = 0;
}

void world_run(struct world *w, uint64_t max_ms)
{
	uint64_t end = w->now + max_ms;

	for (unsigned guard = 0; guard < 100000; guard++) {
		if (w->q_len) {
			world_deliver(w, 0);
			continue;
		}
		if (w->p[0].n_work || w->p[1].n_work) {
			world_work_all(w);
			continue;
		}
		uint64_t t0 = ike_engine_next_timeout(w->p[0].e);
		uint64_t t1 = ike_engine_next_timeout(w->p[1].e);
		uint64_t t = t0 < t1 ? t0 : t1;

		if (t > end)
			return;
		if (t > w->now)
			w->now = t;
		ike_engine_tick(w->p[0].e);
		ike_engine_tick(w->p[1].e);
	}
}

static int conn(struct world *w, int idx, const char *name, const char *ike,
		const char *esp, const char *psk, bool any_peer)
{
	return world_conn_edit(w, idx, name, ike, esp, psk, any_peer, NULL, NULL);
}

int world_conn_edit(struct world *w, int idx, const char *name, const char *ike,
		    const char *esp, const char *psk, bool any_peer, w_conn_edit edit, void *ctx)
{
	struct ike_proposal ip[IKE_MAX_PROPOSALS], ep[IKE_MAX_PROPOSALS];
	char err[128];
	int ni = ike_proposals_parse(ike, 1, ip, IKE_MAX_PROPOSALS, err, sizeof(err));
	int ne = ike_proposals_parse(esp, 3, ep, IKE_MAX_PROPOSALS, err, sizeof(err));
	struct ike_conn_cfg c = {
		.name = name,
		.local = w->p[idx].addr,
		.remote = w->p[1 - idx].addr,
		.psk = (const uint8_t *)psk,
		.psk_len = psk ? strlen(psk) : 0,
		.ike = ip,
		.n_ike = ni > 0 ? (size_t)ni : 0,
		.esp = ep,
		.n_esp = ne > 0 ? (size_t)ne : 0,
		.mode = XK_MODE_TUNNEL,
	};

	if (ni < 0 || ne < 0)
		return -1;
	c.local.port = c.remote.port = 0;
	if (any_peer) {
		/* Any address, any selectors: a responder for whoever comes (a NAT). */
		memset(&c.remote, 0, sizeof(c.remote));
		xk_ts_parse("0.0.0.0/0", &c.remote_ts[0]);
		c.n_remote_ts = 1;
	}
	if (edit)
		edit(&c, ctx);
	return ike_engine_add_conn(w->p[idx].e, &c);
}

int world_conn(struct world *w, int idx, const char *name, const char *ike,
	       const char *esp, const char *psk)
{
	return conn(w, idx, name, ike, esp, psk, false);
}

int world_conn_any(struct world *w, int idx, const char *name, const char *ike,
		   const char *esp, const char *psk)
{
	return conn(w, idx, name, ike, esp, psk, true);
}

size_t world_events(const struct w_peer *p, enum ike_event_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_events; i++)
		n += p->events[i].type == t;
	return n;
}

const struct ike_event *world_event(const struct w_peer *p, enum ike_event_type t)
{
	for (size_t i = p->n_events; i > 0; i--)
		if (p->events[i - 1].type == t)
			return &p->events[i - 1];
	return NULL;
}

struct sa_walk {
	uint64_t spi;
	size_t n;
};

static void walk(void *ctx, const struct ike_sa_info *info)
{
	struct sa_walk *s = ctx;

	s->spi = info->initiator ? info->spi_i : info->spi_r;
	s->n++;
}

uint64_t world_sa_spi(struct w_peer *p)
{
	struct sa_walk s = { 0 };

	ike_engine_foreach_sa(p->e, walk, &s);
	return s.spi;
}

size_t world_sa_count(struct w_peer *p)
{
	struct sa_walk s = { 0 };

	ike_engine_foreach_sa(p->e, walk, &s);
	return s.n;
}

void world_deliver(struct world *w, size_t i)
{
	struct w_pkt *pkt = world_take(w, i);
	unsigned seq = w->seq++;

	if (!pkt)
		return;
	if (!w->filter || w->filter(w, pkt, seq)) {
		w->delivered++;
		ike_engine_input(w->p[pkt->to].e, &pkt->dst, &pkt->src, pkt->buf, pkt->len);
	}
	free(pkt);
}

struct w_pkt *world_take(struct world *w, size_t i)
{
	struct w_pkt *pkt;

	if (i >= w->q_len)
		return NULL;
	pkt = w->q[i];
	memmove(w->q + i, w->q + i + 1, (w->q_len - i - 1) * sizeof(w->q[0]));
	w->q_len--;
	return pkt;
}

void world_put(struct world *w, struct w_pkt *p)
{
	if (w->q_len == W_MAX_PKTS) {
		free(p);
		return;
	}
	w->q[w->q_len++] = p;
}

int world_forge(struct world *w, int from, uint64_t spi, uint8_t exch, bool response,
		uint32_t mid, w_build build, void *ctx)
{
	struct ike_sa *sa = ike_engine_find_sa(w->p[from].e, spi);
	struct ike_hdr hdr;
	struct ike_sk_ctx sk;
	struct ike_mb mb;
	struct w_pkt *pkt;
	int n;

	if (!sa || !sa->keys_ready)
		return -ENOENT;
	pkt = calloc(1, sizeof(*pkt));
	if (!pkt)
		return -ENOMEM;
	hdr = (struct ike_hdr){
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = exch,
		.flags = (uint8_t)((sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
				   (response ? IKEV2_FLAG_RESPONSE : 0)),
		.mid = mid,
	};
	ike_mb_init(&mb, pkt->buf, sizeof(pkt->buf), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	if (build)
		build(&mb, ctx);
	ike_sa_sk_ctx(sa, true, &sk);
	n = ike_mb_sk_seal(&mb, &sk, NULL);
	if (n < 0) {
		free(pkt);
		return n;
	}
	pkt->len = (size_t)n;
	pkt->to = 1 - from;
	pkt->src = sa->local;
	pkt->dst = sa->remote;
	world_put(w, pkt);
	return 0;
}

size_t world_installed(struct w_peer *p, uint32_t *spi_in)
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

bool world_one_pair(struct world *w, char *why, size_t len)
{
	const struct fake_kernel *k0 = &w->p[0].k, *k1 = &w->p[1].k;
	size_t c0 = world_installed(&w->p[0], NULL), c1 = world_installed(&w->p[1], NULL);

	if (c0 != 1 || c1 != 1) {
		snprintf(why, len, "%zu / %zu CHILD_SAs", c0, c1);
		return false;
	}
	if (k0->n_sas != 2 || k1->n_sas != 2) {
		snprintf(why, len, "%zu / %zu kernel SAs", k0->n_sas, k1->n_sas);
		return false;
	}
	for (size_t i = 0; i < k0->n_sas; i++) {
		const struct xk_sa *b = fake_kernel_find(k1, k0->sas[i].spi);

		if (!b || b->inbound == k0->sas[i].inbound ||
		    memcmp(b->enc_key, k0->sas[i].enc_key, b->enc_key_len)) {
			snprintf(why, len, "SA %08x unmatched", k0->sas[i].spi);
			return false;
		}
	}
	if (k0->n_pols != 3 || k1->n_pols != 3) {
		snprintf(why, len, "%zu / %zu policies", k0->n_pols, k1->n_pols);
		return false;
	}
	if (k0->n_spis || k1->n_spis) {
		snprintf(why, len, "%zu / %zu SPIs left allocated", k0->n_spis, k1->n_spis);
		return false;
	}
	return true;
}
