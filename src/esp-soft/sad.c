/* SPDX-License-Identifier: ISC */
/*
 * The security databases (sad.h): SAs hashed by SPI and, outbound, by
 * reqid (newest first), SPIs reserved by alloc_spi, the SPD tables, and
 * the lifetimes that end SAs.  One rwlock covers them all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "esp-soft/esp.h"
#include "esp-soft/queue.h"
#include "esp-soft/sad.h"
#include "esp-soft/state.h"

/* SAD hash buckets at the start; they double as SAs come (a power of two). */
#define SAD_BITS_MIN 10
/* An SPI handed out by alloc_spi stays reserved this long unused. */
#define ESP_SPI_RESERVE_SECS 120

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

/*
 * A random candidate SPI, under the write lock.  SPIs are public values:
 * one getrandom call fills 64 of them, where one call per CHILD_SA was a
 * system call of every handshake.  Nothing forks with this state.
 */
static int spi_random(struct esp_soft *es, uint32_t *v)
{
	if (!es->spi_pool_left) {
		if (getrandom(es->spi_pool, sizeof(es->spi_pool), 0) != sizeof(es->spi_pool))
			return errno ? -errno : -EIO;
		es->spi_pool_left = sizeof(es->spi_pool) / sizeof(es->spi_pool[0]);
	}
	*v = es->spi_pool[--es->spi_pool_left];
	return 0;
}

int esp_sad_alloc_spi(struct esp_soft *es, uint32_t *spi)
{
	int err = -EAGAIN;

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

		err = spi_random(es, &v);
		if (err)
			break;
		err = -EAGAIN;
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

int esp_sad_add(struct esp_soft *es, struct esp_sa *sa)
{
	const struct xk_sa *cfg = &sa->cfg;

	sa->add_time = esp_now_real();
	sa->add_mono = esp_now_mono();
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

int esp_sad_upd(struct esp_soft *es, const struct xk_sa *cfg)
{
	struct esp_sa **pp;
	int err = 0;

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

int esp_sad_move(struct esp_soft *es, const struct xk_sa_id *id, const struct xk_addr *src,
		 const struct xk_addr *dst)
{
	struct esp_sa **pp;
	int err = 0;

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

int esp_sad_del(struct esp_soft *es, const struct xk_sa_id *id)
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

int esp_sad_query(struct esp_soft *es, const struct xk_sa_id *id, struct xk_sa_stats *st)
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

int esp_sad_add_policy(struct esp_soft *es, struct esp_pol *pol)
{
	enum xk_dir dir = pol->p.dir;
	int err;

	pthread_rwlock_wrlock(&es->lock);
	pol->order = es->pol_order++;
	err = esp_spd_add(&es->spd[dir], pol);
	if (err == 0)
		pol->index = ++es->pol_index * 8 + (uint32_t)dir; /* like the kernel's */
	pthread_rwlock_unlock(&es->lock);
	if (err < 0)
		free(pol);
	return err;
}

int esp_sad_del_policy(struct esp_soft *es, const struct xk_policy *p)
{
	struct esp_pol *pol;

	pthread_rwlock_wrlock(&es->lock);
	pol = esp_spd_del(&es->spd[p->dir], p);
	pthread_rwlock_unlock(&es->lock);
	free(pol);
	return pol ? 0 : -ENOENT;
}

int esp_sad_flush(struct esp_soft *es)
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
		if (es->by_reqid)
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

void esp_sad_tick(struct esp_soft *es, uint64_t now)
{
	struct esp_sa *dead = NULL;
	bool reap = false;

	if (!now)
		now = esp_now_mono();
	/* The datapath's clock for use times: no time() per packet. */
	atomic_store(&es->now, esp_now_real());
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

int esp_sad_init(struct esp_soft *es)
{
	pthread_rwlockattr_t attr;
	/* Keys the SPD's hashes; without it they only spread less evenly. */
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = 0;
	for (int d = 0; d < 3; d++)
		esp_spd_init(&es->spd[d], seed);

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
	return es->by_spi && es->by_reqid ? 0 : -ENOMEM;
}

void esp_sad_free(struct esp_soft *es)
{
	for (int d = 0; d < 3; d++)
		esp_spd_free(&es->spd[d]);
	free(es->by_spi);
	free(es->by_reqid);
	free(es->resv);
	pthread_rwlock_destroy(&es->lock);
}
