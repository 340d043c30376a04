/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's control side: the SAD and SPD behind one rwlock, the backend
 * ops (struct xk_kernel_ops) on them, the event and IKE queues, lifetimes
 * and the housekeeping pass.  Packets are datapath.c's; sockets and threads
 * are io.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/secret.h"
#include "esp-soft/esp_soft_int.h"

uint64_t esp_now_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec;
}

static uint64_t now_real(void)
{
	return (uint64_t)time(NULL);
}

/* ---- queues ---- */

static int queue_init(struct esp_queue *q, unsigned cap, size_t size)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	q->ring = calloc(cap, size);
	if (!q->ring)
		return -ENOMEM;
	q->cap = cap;
	q->size = size;
	q->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->fd < 0 ? -errno : 0;
}

static void *queue_slot(struct esp_queue *q, unsigned i)
{
	return (uint8_t *)q->ring + (size_t)((q->head + i) % q->cap) * q->size;
}

/* Copy an item in; false (and counted as lost) if the queue is full. */
static bool queue_push(struct esp_queue *q, const void *item)
{
	bool was_empty;
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		pthread_mutex_unlock(&q->lock);
		atomic_fetch_add_explicit(&q->lost, 1, memory_order_relaxed);
		return false;
	}
	memcpy(queue_slot(q, q->n), item, q->size);
	was_empty = q->n++ == 0;
	pthread_mutex_unlock(&q->lock);
	/* Only the first item wakes the reader; it drains all. */
	if (was_empty && write(q->fd, &one, sizeof(one)) < 0) {
		/* eventfd full cannot happen at one write per empty->busy */
	}
	return true;
}

/* Move up to max items out; returns how many. */
static unsigned queue_pop(struct esp_queue *q, void *out, unsigned max)
{
	unsigned n;
	uint64_t v;

	if (read(q->fd, &v, sizeof(v)) < 0) {
		/* nothing signalled: still look, an item may race the signal */
	}
	pthread_mutex_lock(&q->lock);
	n = q->n < max ? q->n : max;
	for (unsigned i = 0; i < n; i++)
		memcpy((uint8_t *)out + (size_t)i * q->size, queue_slot(q, i), q->size);
	q->head = (q->head + n) % q->cap;
	q->n -= n;
	if (q->n) {
		uint64_t one = 1;

		/* Left some behind: stay readable. */
		if (write(q->fd, &one, sizeof(one)) < 0) {
		}
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void queue_free(struct esp_queue *q)
{
	free(q->ring);
	if (q->fd >= 0)
		close(q->fd);
	pthread_mutex_destroy(&q->lock);
}

void esp_event_push(struct esp_soft *es, const struct xk_event *ev)
{
	queue_push(&es->events, ev);
}

int esp_ike_push(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len)
{
	struct esp_ike_msg m = { .local = *local, .remote = *remote, .len = len };

	/* IKE is control traffic: one allocation per message is fine. */
	m.buf = malloc(len ? len : 1);
	if (!m.buf)
		return -ENOMEM;
	memcpy(m.buf, buf, len);
	if (!queue_push(&es->ike, &m)) {
		free(m.buf);
		return -ENOBUFS;
	}
	return 0;
}

int esp_soft_events_fd(const struct esp_soft *es)
{
	return es->events.fd;
}

int esp_soft_events_read(struct esp_soft *es, xk_event_cb cb, void *ctx)
{
	struct xk_event ev[16];
	int total = 0;
	unsigned n;

	while ((n = queue_pop(&es->events, ev, 16)) > 0) {
		for (unsigned i = 0; i < n; i++)
			cb(ctx, &ev[i]);
		total += (int)n;
	}
	return total;
}

int esp_soft_ike_fd(const struct esp_soft *es)
{
	return es->ike_epoll;
}

static int ike_queue_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx)
{
	struct esp_ike_msg m[16];
	int total = 0;
	unsigned n;

	while ((n = queue_pop(&es->ike, m, 16)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			cb(ctx, &m[i].local, &m[i].remote, m[i].buf, m[i].len);
			free(m[i].buf);
		}
		total += (int)n;
	}
	return total;
}

int esp_soft_ike_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx)
{
	struct epoll_event ev[3];
	int total = 0, n;

	/* Only the sources that have something: no empty reads. */
	n = epoll_wait(es->ike_epoll, ev, 3, 0);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == es->ike.fd)
			total += ike_queue_read(es, cb, ctx);
		else
			total += esp_io_ike_read(es, ev[i].data.fd, cb, ctx);
	}
	return total;
}

static int ctl_send(struct esp_soft *es, const struct xk_addr *local,
		    const struct xk_addr *remote, struct iovec *iov, size_t n)
{
	if (!es->started)
		return -ENOTCONN;
	if (!remote || (remote->family != XK_AF_INET && remote->family != XK_AF_INET6))
		return -EINVAL;
	return esp_io_send(es, local, remote, iov, n);
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

/* ---- SAD ---- */

static unsigned hash_bits(uint32_t v, unsigned bits)
{
	return (v * 0x9e3779b1u) >> (32 - bits);
}

static unsigned hash32(const struct esp_soft *es, uint32_t v)
{
	return hash_bits(v, es->sad_bits);
}

/*
 * Twice the buckets once there are more SAs than buckets, so that a
 * gateway's lookups stay short; under the write lock.  Each chain keeps
 * its order (by_reqid: newest first).  On failure the old tables stay.
 */
static void sad_grow(struct esp_soft *es)
{
	unsigned bits = es->sad_bits + 1;
	size_t n = (size_t)1 << bits, old = (size_t)1 << es->sad_bits;
	struct esp_sa **s = calloc(n, sizeof(*s)), **r = calloc(n, sizeof(*r));
	struct esp_sa ***ts = calloc(n, sizeof(*ts)), ***tr = calloc(n, sizeof(*tr));

	if (!s || !r || !ts || !tr)
		goto out;
	for (size_t b = 0; b < n; b++) {
		ts[b] = &s[b];
		tr[b] = &r[b];
	}
	for (size_t b = 0; b < old; b++) {
		for (struct esp_sa *sa = es->by_spi[b]; sa; sa = sa->next_spi) {
			unsigned h = hash_bits(sa->cfg.spi, bits);

			*ts[h] = sa;
			ts[h] = &sa->next_spi;
		}
		for (struct esp_sa *sa = es->by_reqid[b]; sa; sa = sa->next_reqid) {
			unsigned h = hash_bits(sa->cfg.reqid, bits);

			*tr[h] = sa;
			tr[h] = &sa->next_reqid;
		}
	}
	for (size_t b = 0; b < n; b++) {
		*ts[b] = NULL;
		*tr[b] = NULL;
	}
	free(es->by_spi);
	free(es->by_reqid);
	es->by_spi = s;
	es->by_reqid = r;
	es->sad_bits = bits;
	s = r = NULL;
out:
	free(s);
	free(r);
	free(ts);
	free(tr);
}

struct esp_sa *esp_sad_in(struct esp_soft *es, uint32_t spi)
{
	for (struct esp_sa *sa = es->by_spi[hash32(es, spi)]; sa; sa = sa->next_spi)
		if (sa->cfg.spi == spi && sa->cfg.inbound)
			return sa;
	return NULL;
}

struct esp_sa *esp_sad_out(struct esp_soft *es, uint32_t reqid)
{
	struct esp_sa *sa = es->by_reqid[hash32(es, reqid)];

	/* Newest first: after a rekey the new SA carries the traffic. */
	for (; sa; sa = sa->next_reqid)
		if (sa->cfg.reqid == reqid && !atomic_load_explicit(&sa->dead, memory_order_relaxed))
			return sa;
	return NULL;
}

/* An SA by what del/query name it by: destination address and SPI. */
static struct esp_sa **sad_find(struct esp_soft *es, const struct xk_addr *dst, uint32_t spi)
{
	struct esp_sa **pp = &es->by_spi[hash32(es, spi)];

	for (; *pp; pp = &(*pp)->next_spi)
		if ((*pp)->cfg.spi == spi && (!dst->family || xk_addr_ip_eq(&(*pp)->cfg.dst, dst)))
			return pp;
	return NULL;
}

static void sad_unlink(struct esp_soft *es, struct esp_sa **pp)
{
	struct esp_sa *sa = *pp;

	*pp = sa->next_spi;
	if (!sa->cfg.inbound) {
		struct esp_sa **q = &es->by_reqid[hash32(es, sa->cfg.reqid)];

		while (*q && *q != sa)
			q = &(*q)->next_reqid;
		if (*q)
			*q = sa->next_reqid;
	}
	es->n_sa--;
}

static bool resv_take(struct esp_soft *es, uint32_t spi)
{
	for (size_t i = 0; i < es->n_resv; i++) {
		if (es->resv[i].spi == spi) {
			es->resv[i] = es->resv[--es->n_resv];
			return true;
		}
	}
	return false;
}

static bool spi_in_use(struct esp_soft *es, uint32_t spi)
{
	if (esp_sad_in(es, spi))
		return true;
	for (size_t i = 0; i < es->n_resv; i++)
		if (es->resv[i].spi == spi)
			return true;
	return false;
}

int esp_soft_alloc_spi(struct esp_soft *es, const struct xk_addr *src,
		       const struct xk_addr *dst, uint32_t *spi)
{
	int err = -EAGAIN;

	(void)src;
	(void)dst;
	pthread_rwlock_wrlock(&es->lock);
	if (es->n_resv == es->cap_resv) {
		size_t cap = es->cap_resv ? 2 * es->cap_resv : 16;
		struct esp_resv *v = realloc(es->resv, cap * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		es->resv = v;
		es->cap_resv = cap;
	}
	for (int tries = 0; tries < 64; tries++) {
		uint32_t v;

		if (getrandom(&v, sizeof(v), 0) != sizeof(v)) {
			err = -errno;
			break;
		}
		/* RFC 4303 2.1: SPIs 1-255 are reserved by IANA, 0 is local. */
		if (v < 256 || spi_in_use(es, v))
			continue;
		es->resv[es->n_resv++] = (struct esp_resv){ v, esp_now_mono() + ESP_SPI_RESERVE_SECS };
		*spi = v;
		err = 0;
		break;
	}
out:
	pthread_rwlock_unlock(&es->lock);
	return err;
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
	sa->add_time = now_real();
	sa->add_mono = esp_now_mono();
	if (cfg->replay_window > ESP_REPLAY_MAX)
		xk_notice("esp-soft: SA %08x replay window %u clamped to %u", cfg->spi,
			  cfg->replay_window, ESP_REPLAY_MAX);

	pthread_rwlock_wrlock(&es->lock);
	if (cfg->inbound ? esp_sad_in(es, cfg->spi) != NULL
			 : sad_find(es, &cfg->dst, cfg->spi) != NULL) {
		pthread_rwlock_unlock(&es->lock);
		esp_sa_free(sa);
		return -EEXIST;
	}
	if (cfg->inbound)
		resv_take(es, cfg->spi);
	if (es->n_sa >= (size_t)1 << es->sad_bits && es->sad_bits < 24)
		sad_grow(es);
	sa->next_spi = es->by_spi[hash32(es, cfg->spi)];
	es->by_spi[hash32(es, cfg->spi)] = sa;
	if (!cfg->inbound) {
		sa->next_reqid = es->by_reqid[hash32(es, cfg->reqid)];
		es->by_reqid[hash32(es, cfg->reqid)] = sa;
	}
	es->n_sa++;
	pthread_rwlock_unlock(&es->lock);
	return 0;
}

int esp_soft_upd_sa(struct esp_soft *es, const struct xk_sa *cfg)
{
	struct esp_sa **pp;
	int err = 0;

	if (!addr_ok(&cfg->src) || cfg->src.family != cfg->dst.family)
		return -EINVAL;
	pthread_rwlock_wrlock(&es->lock);
	pp = sad_find(es, &cfg->dst, cfg->spi);
	if (!pp) {
		err = -ESRCH;
	} else if (!cfg->encap && !es->raw_open && es->started) {
		err = -EPROTONOSUPPORT;
	} else {
		struct esp_sa *sa = *pp;

		/* Addresses, ports, encapsulation and lifetimes; never keys. */
		sa->cfg.src = cfg->src;
		sa->cfg.dst = cfg->dst;
		sa->cfg.encap = cfg->encap;
		sa->cfg.life = cfg->life;
		memset(&sa->mapped, 0, sizeof(sa->mapped));
	}
	pthread_rwlock_unlock(&es->lock);
	return err;
}

int esp_soft_move_sa(struct esp_soft *es, const struct xk_sa_id *id, const struct xk_addr *src,
		     const struct xk_addr *dst)
{
	struct esp_sa **pp;
	int err = 0;

	if (!addr_ok(src) || !addr_ok(dst) || src->family != dst->family)
		return -EINVAL;
	pthread_rwlock_wrlock(&es->lock);
	pp = sad_find(es, &id->dst, id->spi);
	if (!pp) {
		err = -ESRCH;
	} else if ((*pp)->cfg.dst.family != dst->family) {
		err = -EAFNOSUPPORT;
	} else {
		/* The peer's NAT mapping moved: new addresses and ports, all else kept. */
		(*pp)->cfg.src = *src;
		(*pp)->cfg.dst = *dst;
		memset(&(*pp)->mapped, 0, sizeof((*pp)->mapped));
	}
	pthread_rwlock_unlock(&es->lock);
	return err;
}

int esp_soft_del_sa(struct esp_soft *es, const struct xk_sa_id *id)
{
	struct esp_sa **pp, *sa = NULL;
	int err = 0;

	pthread_rwlock_wrlock(&es->lock);
	pp = sad_find(es, &id->dst, id->spi);
	if (pp) {
		sa = *pp;
		sad_unlink(es, pp);
	} else if (!resv_take(es, id->spi)) {
		err = -ESRCH; /* what the kernel says */
	}
	pthread_rwlock_unlock(&es->lock);
	/* No worker holds it now: the write lock waited for their batches. */
	esp_sa_free(sa);
	return err;
}

int esp_soft_query_sa(struct esp_soft *es, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	struct esp_sa **pp;
	int err = 0;

	memset(st, 0, sizeof(*st));
	pthread_rwlock_rdlock(&es->lock);
	pp = sad_find(es, &id->dst, id->spi);
	if (pp) {
		struct esp_sa *sa = *pp;

		st->bytes = esp_sa_bytes(sa);
		st->packets = esp_sa_packets(sa);
		st->add_time = sa->add_time;
		st->use_time = atomic_load(&sa->use_time);
		st->replay_drops = atomic_load(&sa->replay_drops);
		st->replay_window_drops = atomic_load(&sa->replay_window_drops);
		st->integrity_failures = atomic_load(&sa->integrity_failures);
	} else {
		err = -ESRCH;
	}
	pthread_rwlock_unlock(&es->lock);
	return err;
}

void esp_expire(struct esp_soft *es, struct esp_sa *sa, bool hard)
{
	struct xk_event ev = { .type = XK_EV_EXPIRE, .hard = hard };

	if (hard) {
		if (atomic_exchange(&sa->hard_fired, true))
			return;
		atomic_store(&sa->dead, true);
	} else if (atomic_exchange(&sa->soft_fired, true)) {
		return;
	}
	ev.reqid = sa->cfg.reqid;
	ev.sa.dst = sa->cfg.dst;
	ev.sa.spi = sa->cfg.spi;
	ev.sa.proto = ESP_PROTO_ESP;
	ev.sa_src = sa->cfg.src;
	esp_event_push(es, &ev);
}

/* ---- SPD ---- */

static bool ts_valid(const struct xk_ts *t)
{
	size_t n = t->family == XK_AF_INET ? 4 : 16;

	return (t->family == XK_AF_INET || t->family == XK_AF_INET6) &&
	       t->port_lo <= t->port_hi && memcmp(t->lo, t->hi, n) <= 0;
}

int esp_soft_add_policy(struct esp_soft *es, const struct xk_policy *p)
{
	struct esp_pol *pol;
	int err;

	if ((unsigned)p->dir > XK_DIR_FWD || !ts_valid(&p->src) || !ts_valid(&p->dst) ||
	    p->src.family != p->dst.family ||
	    (p->mode == XK_MODE_TUNNEL && (!addr_ok(&p->tmpl_src) || !addr_ok(&p->tmpl_dst))))
		return -EINVAL;
	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return -ENOMEM;
	pol->p = *p;
	pthread_rwlock_wrlock(&es->lock);
	pol->order = es->pol_order++;
	err = esp_spd_add(&es->spd[p->dir], pol);
	if (err == 0)
		pol->index = ++es->pol_index * 8 + (uint32_t)p->dir; /* like the kernel's */
	pthread_rwlock_unlock(&es->lock);
	if (err < 0)
		free(pol);
	return err;
}

int esp_soft_del_policy(struct esp_soft *es, const struct xk_policy *p)
{
	struct esp_pol *pol;

	if ((unsigned)p->dir > XK_DIR_FWD)
		return -EINVAL;
	pthread_rwlock_wrlock(&es->lock);
	pol = esp_spd_del(&es->spd[p->dir], p);
	pthread_rwlock_unlock(&es->lock);
	free(pol);
	return pol ? 0 : -ENOENT;
}

int esp_soft_flush(struct esp_soft *es)
{
	struct esp_sa *dead = NULL;

	pthread_rwlock_wrlock(&es->lock);
	for (unsigned b = 0; es->by_spi && b < 1u << es->sad_bits; b++) {
		while (es->by_spi[b]) {
			struct esp_sa *sa = es->by_spi[b];

			es->by_spi[b] = sa->next_spi;
			sa->next_spi = dead;
			dead = sa;
		}
		es->by_reqid[b] = NULL;
	}
	es->n_sa = 0;
	for (int d = 0; d < 3; d++)
		esp_spd_flush(&es->spd[d]);
	es->n_resv = 0;
	pthread_rwlock_unlock(&es->lock);
	while (dead) {
		struct esp_sa *next = dead->next_spi;

		esp_sa_free(dead);
		dead = next;
	}
	return 0;
}

/* ---- housekeeping ---- */

void esp_soft_tick(struct esp_soft *es, uint64_t now)
{
	struct esp_sa *dead = NULL;
	bool reap = false;

	if (!now)
		now = esp_now_mono();
	/* The datapath's clock for use times: no time() per packet. */
	atomic_store(&es->now, now_real());
	pthread_rwlock_rdlock(&es->lock);
	for (unsigned b = 0; b < 1u << es->sad_bits; b++) {
		for (struct esp_sa *sa = es->by_spi[b]; sa; sa = sa->next_spi) {
			const struct xk_lifetime *l = &sa->cfg.life;
			uint64_t age = now - sa->add_mono;

			if (l->hard_secs && age >= l->hard_secs)
				esp_expire(es, sa, true);
			else if (l->soft_secs && age >= l->soft_secs)
				esp_expire(es, sa, false);
			reap |= atomic_load(&sa->dead);
		}
	}
	pthread_rwlock_unlock(&es->lock);

	pthread_rwlock_wrlock(&es->lock);
	/* A hard expiry removes the SA, as the kernel's does. */
	for (unsigned b = 0; reap && b < 1u << es->sad_bits; b++) {
		struct esp_sa **pp = &es->by_spi[b];

		while (*pp) {
			struct esp_sa *sa = *pp;

			if (!atomic_load(&sa->dead)) {
				pp = &sa->next_spi;
				continue;
			}
			sad_unlink(es, pp);
			sa->next_spi = dead;
			dead = sa;
		}
	}
	for (size_t i = 0; i < es->n_resv;) {
		if (es->resv[i].until <= now)
			es->resv[i] = es->resv[--es->n_resv];
		else
			i++;
	}
	pthread_rwlock_unlock(&es->lock);
	while (dead) {
		struct esp_sa *next = dead->next_spi;

		esp_sa_free(dead);
		dead = next;
	}
}

/* ---- lifecycle ---- */

struct esp_soft *esp_soft_new(const struct esp_soft_cfg *cfg, int *err)
{
	struct esp_soft *es;
	pthread_rwlockattr_t attr;
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
	{
		/* Keys the SPD's hashes; without it they only spread less evenly. */
		uint64_t seed = 0;

		if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = 0;
		for (int d = 0; d < 3; d++)
			esp_spd_init(&es->spd[d], seed);
	}
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
	es->now = now_real();
	snprintf(es->tun.name, sizeof(es->tun.name), "%s", cfg->ifname ? cfg->ifname : "");
	for (unsigned i = 0; i < ESP_TUN_MAX_QUEUES; i++)
		es->tun.fd[i] = -1;

	pthread_rwlockattr_init(&attr);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
	/* Workers take the lock per batch back to back; writers must get in. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	pthread_rwlock_init(&es->lock, &attr);
	pthread_rwlockattr_destroy(&attr);

	es->sad_bits = SAD_BITS_MIN;
	es->by_spi = calloc((size_t)1 << es->sad_bits, sizeof(*es->by_spi));
	es->by_reqid = calloc((size_t)1 << es->sad_bits, sizeof(*es->by_reqid));
	es->ctr = aligned_alloc(64, es->n_slots * sizeof(*es->ctr));
	e = es->ctr && es->by_spi && es->by_reqid ? 0 : -ENOMEM;
	if (!e)
		memset(es->ctr, 0, es->n_slots * sizeof(*es->ctr));
	if (!e)
		e = queue_init(&es->events, es->cfg.event_queue, sizeof(struct xk_event));
	if (!e)
		e = queue_init(&es->ike, es->cfg.ike_queue, sizeof(struct esp_ike_msg));
	if (!e) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = es->ike.fd };

		es->ike_epoll = epoll_create1(EPOLL_CLOEXEC);
		if (es->ike_epoll < 0 || epoll_ctl(es->ike_epoll, EPOLL_CTL_ADD, es->ike.fd, &ev) < 0)
			e = -errno;
	}
	if (e) {
		esp_soft_free(es);
		*err = e;
		return NULL;
	}
	*err = 0;
	return es;
}

int esp_soft_start(struct esp_soft *es)
{
	int err;

	if (es->started)
		return -EALREADY;
	err = esp_io_start(es);
	if (err)
		return err;
	es->started = true;
	return 0;
}

void esp_soft_free(struct esp_soft *es)
{
	struct esp_ike_msg m;

	if (!es)
		return;
	if (es->started)
		esp_io_stop(es);
	esp_soft_flush(es);
	for (int d = 0; d < 3; d++)
		esp_spd_free(&es->spd[d]);
	free(es->by_spi);
	free(es->by_reqid);
	free(es->resv);
	if (es->ike.ring) {
		while (queue_pop(&es->ike, &m, 1) == 1)
			free(m.buf);
	}
	queue_free(&es->ike);
	queue_free(&es->events);
	if (es->ike_epoll >= 0)
		close(es->ike_epoll);
	pthread_rwlock_destroy(&es->lock);
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
