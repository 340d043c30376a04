/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's facade: the functions of esp_soft.h and the backend ops.
 * It checks what callers hand in and passes the work on: tables to sad.c,
 * queues to queue.c, threads and sockets to worker.c, IKE on the NAT-T
 * port to ike_port.c.  Only the datapath's entry points for tests
 * (esp_soft_input/output) live elsewhere, in datapath.c beside the code
 * they wrap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "esp-soft/esp.h"
#include "esp-soft/ike_port.h"
#include "esp-soft/io.h"
#include "esp-soft/queue.h"
#include "esp-soft/sad.h"
#include "esp-soft/state.h"

/* ---- queues and IKE on the NAT-T port ---- */

int esp_soft_events_fd(const struct esp_soft *es)
{
	return es->events.fd;
}

int esp_soft_events_read(struct esp_soft *es, xk_event_cb cb, void *ctx)
{
	return esp_event_read(es, cb, ctx);
}

int esp_soft_ike_fd(const struct esp_soft *es)
{
	return es->ike_epoll;
}

int esp_soft_ike_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx)
{
	return esp_ike_read(es, cb, ctx);
}

static int ctl_send(struct esp_soft *es, const struct xk_addr *local,
		    const struct xk_addr *remote, struct iovec *iov, size_t n)
{
	if (!es->started)
		return -ENOTCONN;
	if (!remote || (remote->family != XK_AF_INET && remote->family != XK_AF_INET6))
		return -EINVAL;
	return esp_ike_send(es, local, remote, iov, n);
}

int esp_soft_ike_send(struct esp_soft *es, const struct xk_addr *local,
		      const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	static const uint8_t marker[4];
	/* RFC 3948 2.2: the non-ESP marker tells IKE from ESP on port 4500. */
	struct iovec iov[2] = { { (void *)marker, 4 }, { (void *)buf, len } };
	int err = ctl_send(es, local, remote, iov, 2);

	if (!err)
		esp_ctr_add(es, es->n_slots - 1, CTR_IKE_OUT, 1);
	return err;
}

int esp_soft_keepalive(struct esp_soft *es, const struct xk_addr *local,
		       const struct xk_addr *remote)
{
	static const uint8_t ka = 0xff;
	/* RFC 3948 2.3: one octet 0xff, no marker, from the NAT-T port. */
	struct iovec iov = { (void *)&ka, 1 };
	int err = ctl_send(es, local, remote, &iov, 1);

	if (!err)
		esp_ctr_add(es, es->n_slots - 1, CTR_KEEPALIVE_OUT, 1);
	return err;
}

/* ---- SAD and SPD ---- */

int esp_soft_alloc_spi(struct esp_soft *es, const struct xk_addr *src,
		       const struct xk_addr *dst, uint32_t *spi)
{
	(void)src;
	(void)dst;
	return esp_sad_alloc_spi(es, spi);
}

static bool addr_ok(const struct xk_addr *a)
{
	return a->family == XK_AF_INET || a->family == XK_AF_INET6;
}

int esp_soft_add_sa(struct esp_soft *es, const struct xk_sa *cfg)
{
	struct esp_sa *sa;
	int err;

	/* Outer addresses of one family; a mode we know; a real SPI. */
	if (!addr_ok(&cfg->src) || cfg->src.family != cfg->dst.family || cfg->spi < 256 ||
	    (cfg->mode != XK_MODE_TUNNEL && cfg->mode != XK_MODE_TRANSPORT))
		return -EINVAL;
	if (!cfg->encap && !es->raw_open && es->started)
		return -EPROTONOSUPPORT; /* no raw socket: ESP must ride in UDP */
	err = esp_sa_new(cfg, es->n_slots, &sa);
	if (err)
		return err;
	if (cfg->replay_window > ESP_REPLAY_MAX)
		xk_notice("esp-soft: SA %08x replay window %u clamped to %u", cfg->spi,
			  cfg->replay_window, ESP_REPLAY_MAX);
	return esp_sad_add(es, sa);
}

int esp_soft_upd_sa(struct esp_soft *es, const struct xk_sa *cfg)
{
	if (!addr_ok(&cfg->src) || cfg->src.family != cfg->dst.family)
		return -EINVAL;
	return esp_sad_upd(es, cfg);
}

int esp_soft_move_sa(struct esp_soft *es, const struct xk_sa_id *id, const struct xk_addr *src,
		     const struct xk_addr *dst)
{
	if (!addr_ok(src) || !addr_ok(dst) || src->family != dst->family)
		return -EINVAL;
	return esp_sad_move(es, id, src, dst);
}

int esp_soft_del_sa(struct esp_soft *es, const struct xk_sa_id *id)
{
	return esp_sad_del(es, id);
}

int esp_soft_query_sa(struct esp_soft *es, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	return esp_sad_query(es, id, st);
}

static bool ts_valid(const struct xk_ts *t)
{
	size_t n = t->family == XK_AF_INET ? 4 : 16;

	return (t->family == XK_AF_INET || t->family == XK_AF_INET6) &&
	       t->port_lo <= t->port_hi && memcmp(t->lo, t->hi, n) <= 0;
}

int esp_soft_add_policy(struct esp_soft *es, const struct xk_policy *p)
{
	struct esp_pol *pol;

	if ((unsigned)p->dir > XK_DIR_FWD || !ts_valid(&p->src) || !ts_valid(&p->dst) ||
	    p->src.family != p->dst.family ||
	    (p->mode == XK_MODE_TUNNEL && (!addr_ok(&p->tmpl_src) || !addr_ok(&p->tmpl_dst))))
		return -EINVAL;
	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return -ENOMEM;
	pol->p = *p;
	return esp_sad_add_policy(es, pol);
}

int esp_soft_del_policy(struct esp_soft *es, const struct xk_policy *p)
{
	if ((unsigned)p->dir > XK_DIR_FWD)
		return -EINVAL;
	return esp_sad_del_policy(es, p);
}

int esp_soft_flush(struct esp_soft *es)
{
	return esp_sad_flush(es);
}

void esp_soft_tick(struct esp_soft *es, uint64_t now)
{
	esp_sad_tick(es, now);
}

/* ---- lifecycle ---- */

struct esp_soft *esp_soft_new(const struct esp_soft_cfg *cfg, int *err)
{
	struct esp_soft *es;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int e;

	if (cfg->workers < 0 || cfg->workers > ESP_SOFT_MAX_WORKERS || cfg->mtu > 65535 ||
	    (cfg->mtu && cfg->mtu < 1280 && !cfg->no_v6)) {
		*err = -EINVAL;
		return NULL;
	}
	es = calloc(1, sizeof(*es));
	if (!es) {
		*err = -ENOMEM;
		return NULL;
	}
	es->cfg = *cfg;
	es->cfg.ifname = NULL; /* not kept: the caller's string */
	if (!es->cfg.nat_port)
		es->cfg.nat_port = 4500;
	if (!es->cfg.mtu)
		es->cfg.mtu = 1400;
	if (!es->cfg.acquire_secs)
		es->cfg.acquire_secs = 3;
	if (!es->cfg.ike_queue)
		es->cfg.ike_queue = 256;
	if (!es->cfg.event_queue)
		es->cfg.event_queue = 1024;
	es->n_workers = cfg->workers ? (unsigned)cfg->workers
				     : (unsigned)(cpus < 1 ? 1 : cpus > ESP_SOFT_MAX_WORKERS
									 ? ESP_SOFT_MAX_WORKERS
									 : cpus);
	/* One slot per worker and one for the control thread and tests. */
	es->n_slots = es->n_workers + 1;
	es->stop_fd = -1;
	es->ike_udp[0] = es->ike_udp[1] = es->ike_epoll = -1;
	es->now = esp_now_real();
	snprintf(es->tun.name, sizeof(es->tun.name), "%s", cfg->ifname ? cfg->ifname : "");
	for (unsigned i = 0; i < ESP_TUN_MAX_QUEUES; i++)
		es->tun.fd[i] = -1;

	e = esp_sad_init(es);
	es->ctr = aligned_alloc(64, es->n_slots * sizeof(*es->ctr));
	if (!e && !es->ctr)
		e = -ENOMEM;
	if (!e)
		memset(es->ctr, 0, es->n_slots * sizeof(*es->ctr));
	if (!e)
		e = esp_queues_init(es);
	if (!e)
		e = esp_ike_init(es);
	if (e) {
		esp_soft_free(es);
		*err = e;
		return NULL;
	}
	*err = 0;
	return es;
}

int esp_soft_open(struct esp_soft *es)
{
	int err;

	if (es->started)
		return -EALREADY;
	err = esp_io_open(es);
	if (err)
		return err;
	es->started = true;
	return 0;
}

int esp_soft_start(struct esp_soft *es)
{
	int err;

	if (es->running)
		return -EALREADY;
	err = es->started ? 0 : esp_soft_open(es);
	if (!err)
		err = esp_io_run(es);
	if (err)
		return err;
	es->running = true;
	return 0;
}

void esp_soft_free(struct esp_soft *es)
{
	if (!es)
		return;
	if (es->started)
		esp_io_stop(es);
	esp_sad_flush(es);
	esp_sad_free(es);
	esp_queues_free(es);
	esp_ike_free(es);
	free(es->ctr);
	free(es);
}

int esp_soft_ifindex(const struct esp_soft *es)
{
	return es->started ? es->tun.ifindex : -ENOTCONN;
}

const char *esp_soft_ifname(const struct esp_soft *es)
{
	return es->tun.name;
}

uint32_t esp_soft_mark(const struct esp_soft *es)
{
	return es->cfg.mark;
}

uint16_t esp_soft_nat_port(const struct esp_soft *es)
{
	return es->cfg.nat_port;
}

bool esp_soft_raw_esp(const struct esp_soft *es)
{
	return es->raw_open;
}

unsigned esp_soft_slots(const struct esp_soft *es)
{
	return es->n_slots;
}

static const char *const drop_names[ESP_SOFT_DROP_N] = {
	[ESP_SOFT_DROP_SHORT] = "short",
	[ESP_SOFT_DROP_NO_SA] = "no_sa",
	[ESP_SOFT_DROP_REPLAY] = "replay",
	[ESP_SOFT_DROP_AUTH] = "auth",
	[ESP_SOFT_DROP_PAD] = "pad",
	[ESP_SOFT_DROP_NEXT_HDR] = "next_header",
	[ESP_SOFT_DROP_DUMMY] = "dummy",
	[ESP_SOFT_DROP_INNER] = "inner",
	[ESP_SOFT_DROP_POLICY] = "policy",
	[ESP_SOFT_DROP_NO_POLICY] = "no_policy",
	[ESP_SOFT_DROP_NO_SA_OUT] = "no_sa_out",
	[ESP_SOFT_DROP_EXPIRED] = "expired",
	[ESP_SOFT_DROP_TOO_BIG] = "too_big",
	[ESP_SOFT_DROP_QUEUE] = "queue",
	[ESP_SOFT_DROP_IO] = "io",
	[ESP_SOFT_DROP_CRYPTO] = "crypto",
};

const char *esp_soft_drop_name(enum esp_soft_drop d)
{
	return (unsigned)d < ESP_SOFT_DROP_N ? drop_names[d] : "?";
}

void esp_soft_get_stats(const struct esp_soft *es, struct esp_soft_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned s = 0; s < es->n_slots; s++) {
		const _Atomic uint64_t *v = es->ctr[s].v;

		st->rx_packets += atomic_load_explicit(&v[CTR_RX_PKTS], memory_order_relaxed);
		st->rx_bytes += atomic_load_explicit(&v[CTR_RX_BYTES], memory_order_relaxed);
		st->tx_packets += atomic_load_explicit(&v[CTR_TX_PKTS], memory_order_relaxed);
		st->tx_bytes += atomic_load_explicit(&v[CTR_TX_BYTES], memory_order_relaxed);
		st->ike_in += atomic_load_explicit(&v[CTR_IKE_IN], memory_order_relaxed);
		st->ike_relayed += atomic_load_explicit(&v[CTR_IKE_RELAYED], memory_order_relaxed);
		st->ike_out += atomic_load_explicit(&v[CTR_IKE_OUT], memory_order_relaxed);
		st->keepalives += atomic_load_explicit(&v[CTR_KEEPALIVE], memory_order_relaxed);
		st->keepalives_out +=
			atomic_load_explicit(&v[CTR_KEEPALIVE_OUT], memory_order_relaxed);
		for (int d = 0; d < ESP_SOFT_DROP_N; d++)
			st->drops[d] +=
				atomic_load_explicit(&v[CTR_DROP0 + d], memory_order_relaxed);
	}
	st->events_lost = atomic_load(&es->events.lost);
}

/* ---- the backend interface ---- */

static int op_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
			uint32_t *spi)
{
	return esp_soft_alloc_spi(ctx, src, dst, spi);
}

static int op_add_sa(void *ctx, const struct xk_sa *sa)
{
	return esp_soft_add_sa(ctx, sa);
}

static int op_upd_sa(void *ctx, const struct xk_sa *sa)
{
	return esp_soft_upd_sa(ctx, sa);
}

static int op_del_sa(void *ctx, const struct xk_sa_id *id)
{
	return esp_soft_del_sa(ctx, id);
}

static int op_add_policy(void *ctx, const struct xk_policy *pol)
{
	return esp_soft_add_policy(ctx, pol);
}

static int op_del_policy(void *ctx, const struct xk_policy *pol)
{
	return esp_soft_del_policy(ctx, pol);
}

static int op_move_sa(void *ctx, const struct xk_sa_id *id, const struct xk_addr *src,
		      const struct xk_addr *dst)
{
	return esp_soft_move_sa(ctx, id, src, dst);
}

static int op_query_sa(void *ctx, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	return esp_soft_query_sa(ctx, id, st);
}

static int op_flush(void *ctx)
{
	return esp_soft_flush(ctx);
}

const struct xk_kernel_ops esp_soft_ops = {
    .alloc_spi = op_alloc_spi,
    .add_sa = op_add_sa,
    .upd_sa = op_upd_sa,
    .del_sa = op_del_sa,
    .add_policy = op_add_policy,
    .del_policy = op_del_policy,
    .query_sa = op_query_sa,
    .flush = op_flush,
    .move_sa = op_move_sa,
};
