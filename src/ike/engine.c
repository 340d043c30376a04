/* SPDX-License-Identifier: ISC */
/*
 * The engine: SA tables, message dispatch, the request/response windows
 * with retransmission (RFC 7296 section 2.1), timers and cookies (2.6).
 * What each exchange carries lives in the task files.
 */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/secret.h"

struct ike_engine {
	struct ike_engine_cfg cfg;
	struct ike_ops ops;
	struct ike_conn *conns;
	struct ike_stats stats;

	/*
	 * SAs by local SPI, responder SAs by initiator SPI, and SAs by the
	 * peer's identity (for INITIAL_CONTACT); n_buckets each.
	 */
	struct ike_sa **by_local, **by_peer, **by_id;
	/* Installed CHILD_SAs by inbound and by outbound SPI; n_buckets each. */
	struct ike_child **by_spi_in, **by_spi_out;
	size_t n_buckets;
	size_t n_sas, n_children;
	uint64_t hash_key;
	struct ike_sa *all;
	struct ike_sa *dead;	  /* killed during this call, freed at its end */
	struct ike_sa *half_open; /* responders awaiting IKE_AUTH (linked in hs) */

	/* Timers: a binary min-heap of SAs by timer_ms. */
	struct ike_sa **heap;
	size_t heap_len, heap_cap;

	/* Cookie secrets (section 2.6): current and previous. */
	uint8_t cookie_secret[2][32];
	uint8_t cookie_version;
	uint64_t cookie_rotate_ms;

	uint32_t reqid_next;
	struct ike_reauth *reauths; /* reauthentications under way (reauth.c) */

	/* Addresses of the datagram being processed. */
	const struct xk_addr *rx_local, *rx_remote;
};

void ike_engine_cfg_defaults(struct ike_engine_cfg *cfg)
{
	*cfg = (struct ike_engine_cfg){
		.nat_port = 4500,
		.retransmit_timeout_ms = 4000,
		.retransmit_base = 1.8,
		.retransmit_tries = 5,
		.half_open_timeout_ms = 30000,
		.cookie_threshold = 30,
		.cookie_threshold_ip = 3,
		.cookie_lifetime_ms = 60000,
		.reqid_base = 0x7c000000,
		.keepalive_ms = IKE_KEEPALIVE_MS,
	};
}

uint64_t ike_now(struct ike_engine *e)
{
	return e->ops.now_ms(e->ops.ctx);
}

int ike_nonce(struct ike_engine *e, void *buf, size_t len)
{
	if (e->ops.nonce)
		return e->ops.nonce(e->ops.ctx, buf, len);
	return ike_random(buf, len);
}

const struct ike_engine_cfg *ike_cfg(struct ike_engine *e)
{
	return &e->cfg;
}

struct ike_stats *ike_stats_mut(struct ike_engine *e)
{
	return &e->stats;
}

const struct xk_kernel_ops *ike_kernel(struct ike_engine *e, void **ctx)
{
	*ctx = e->ops.kernel_ctx;
	return e->ops.kernel;
}

uint32_t ike_alloc_reqid(struct ike_engine *e)
{
	return e->reqid_next++;
}

struct ike_conn *ike_conn_first(struct ike_engine *e)
{
	return e->conns;
}

void ike_emit(struct ike_sa *sa, enum ike_event_type type,
	      const struct ike_child *child, uint16_t notify, const char *reason)
{
	struct ike_engine *e = sa->eng;
	struct ike_child_info ci;
	struct ike_event ev = {
		.type = type,
		.conn = sa->conn ? sa->conn->name : "",
		.initiator = sa->initiator,
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.child_spi_in = child ? child->spi_in : 0,
		.child_spi_out = child ? child->spi_out : 0,
		.local = &sa->local,
		.remote = &sa->remote,
		.notify = notify,
		.reason = reason,
	};

	if (child) {
		child_fill_info(child, &ci);
		ev.child = &ci;
	}
	if (e->ops.event)
		e->ops.event(e->ops.ctx, &ev);
}

void ike_emit_peer(struct ike_engine *e, enum ike_event_type type, const char *conn,
		   const struct xk_addr *remote, uint16_t notify, const char *reason)
{
	struct ike_event ev = {
		.type = type,
		.conn = conn ? conn : "",
		.remote = remote,
		.notify = notify,
		.reason = reason,
	};

	if (e->ops.event)
		e->ops.event(e->ops.ctx, &ev);
}

/* ---- hashing ---- */

static size_t bucket(const struct ike_engine *e, uint64_t spi)
{
	/* Keyed so that a peer choosing SPIs cannot aim at one bucket. */
	uint64_t h = (spi ^ e->hash_key) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (e->n_buckets - 1);
}

static void hash_insert(struct ike_engine *e, struct ike_sa *sa)
{
	size_t b = bucket(e, ike_sa_local_spi(sa));

	sa->h_next = e->by_local[b];
	e->by_local[b] = sa;
}

static void hash_remove(struct ike_engine *e, struct ike_sa *sa)
{
	struct ike_sa **pp = &e->by_local[bucket(e, ike_sa_local_spi(sa))];

	for (; *pp; pp = &(*pp)->h_next) {
		if (*pp == sa) {
			*pp = sa->h_next;
			return;
		}
	}
}

static size_t id_bucket(const struct ike_engine *e, const struct ike_id *id)
{
	uint64_t h = xk_hash_bytes(e->hash_key ^ id->type, id->data, id->len);

	return (size_t)((h ^ h >> 32) & (e->n_buckets - 1));
}

static void id_insert(struct ike_engine *e, struct ike_sa *sa)
{
	size_t b = id_bucket(e, sa->remote_id);

	sa->id_next = e->by_id[b];
	e->by_id[b] = sa;
}

static void id_remove(struct ike_engine *e, struct ike_sa *sa)
{
	struct ike_sa **pp;

	if (!sa->remote_id)
		return;
	for (pp = &e->by_id[id_bucket(e, sa->remote_id)]; *pp; pp = &(*pp)->id_next) {
		if (*pp == sa) {
			*pp = sa->id_next;
			return;
		}
	}
}

int ike_sa_set_remote_id(struct ike_sa *sa, const struct ike_id *id)
{
	/* Kept at its length: most identities are a few of the 255 bytes. */
	size_t n = offsetof(struct ike_id, data) + id->len;
	struct ike_id *copy = malloc(n);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, id, n);
	id_remove(sa->eng, sa);
	free(sa->remote_id);
	sa->remote_id = copy;
	if (sa->state != IKE_S_DEAD)
		id_insert(sa->eng, sa);
	return 0;
}

void ike_sa_set_half_open(struct ike_sa *sa, bool on)
{
	struct ike_engine *e = sa->eng;
	struct ike_hs *hs = sa->hs;

	if (on == sa->half_open || (on && !hs))
		return;
	sa->half_open = on;
	if (on) {
		e->stats.half_open++;
		hs->ho_next = e->half_open;
		if (e->half_open)
			e->half_open->hs->ho_prev = &hs->ho_next;
		hs->ho_prev = &e->half_open;
		e->half_open = sa;
	} else {
		e->stats.half_open--;
		*hs->ho_prev = hs->ho_next;
		if (hs->ho_next)
			hs->ho_next->hs->ho_prev = hs->ho_prev;
	}
}

static void peer_remove(struct ike_engine *e, struct ike_sa *sa)
{
	struct ike_sa **pp = &e->by_peer[bucket(e, sa->spi_i)];

	for (; *pp; pp = &(*pp)->h_peer_next) {
		if (*pp == sa) {
			*pp = sa->h_peer_next;
			return;
		}
	}
}

void ike_sa_rehash_peer(struct ike_sa *sa)
{
	struct ike_engine *e = sa->eng;
	size_t b = bucket(e, sa->spi_i);

	sa->h_peer_next = e->by_peer[b];
	e->by_peer[b] = sa;
}

static void tables_free(struct ike_engine *e)
{
	free(e->by_local);
	free(e->by_peer);
	free(e->by_id);
	free(e->by_spi_in);
	free(e->by_spi_out);
}

static void child_insert(struct ike_engine *e, struct ike_child *c)
{
	size_t in = bucket(e, c->spi_in), out = bucket(e, c->spi_out);

	c->in_next = e->by_spi_in[in];
	e->by_spi_in[in] = c;
	c->out_next = e->by_spi_out[out];
	e->by_spi_out[out] = c;
}

/* The five tables at n buckets each, or none of them. */
static int tables_alloc(struct ike_engine *e, size_t n)
{
	struct ike_sa **l = calloc(n, sizeof(*l)), **p = calloc(n, sizeof(*p));
	struct ike_sa **d = calloc(n, sizeof(*d));
	struct ike_child **ci = calloc(n, sizeof(*ci)), **co = calloc(n, sizeof(*co));

	if (!l || !p || !d || !ci || !co) {
		free(l);
		free(p);
		free(d);
		free(ci);
		free(co);
		return -ENOMEM;
	}
	tables_free(e);
	e->by_local = l;
	e->by_peer = p;
	e->by_id = d;
	e->by_spi_in = ci;
	e->by_spi_out = co;
	e->n_buckets = n;
	return 0;
}

static int grow(struct ike_engine *e)
{
	struct ike_sa *sa;

	if (tables_alloc(e, e->n_buckets * 2) < 0)
		return -ENOMEM;
	for (sa = e->all; sa; sa = sa->next_all) {
		hash_insert(e, sa);
		if (!sa->initiator)
			ike_sa_rehash_peer(sa);
		if (sa->remote_id)
			id_insert(e, sa);
		for (struct ike_child *c = sa->children; c; c = c->next)
			if (c->indexed)
				child_insert(e, c);
	}
	return 0;
}

void ike_child_index(struct ike_engine *e, struct ike_child *c)
{
	if (c->indexed)
		return;
	/* Should the tables not grow, the chains only get longer. */
	if (e->n_children >= e->n_buckets)
		grow(e);
	child_insert(e, c);
	c->indexed = true;
	e->n_children++;
}

void ike_child_unindex(struct ike_engine *e, struct ike_child *c)
{
	struct ike_child **pp;

	if (!c->indexed)
		return;
	for (pp = &e->by_spi_in[bucket(e, c->spi_in)]; *pp; pp = &(*pp)->in_next) {
		if (*pp == c) {
			*pp = c->in_next;
			break;
		}
	}
	for (pp = &e->by_spi_out[bucket(e, c->spi_out)]; *pp; pp = &(*pp)->out_next) {
		if (*pp == c) {
			*pp = c->out_next;
			break;
		}
	}
	c->indexed = false;
	e->n_children--;
}

/* The installed CHILD_SA that a kernel SA (destination, SPI) belongs to. */
static struct ike_child *child_by_sa_id(struct ike_engine *e, const struct xk_sa_id *id,
					bool *inbound)
{
	struct ike_child *c;

	for (c = e->by_spi_in[bucket(e, id->spi)]; c; c = c->in_next) {
		if (c->spi_in == id->spi && xk_addr_ip_eq(&c->sa->local, &id->dst)) {
			*inbound = true;
			return c;
		}
	}
	for (c = e->by_spi_out[bucket(e, id->spi)]; c; c = c->out_next) {
		if (c->spi_out == id->spi && xk_addr_ip_eq(&c->sa->remote, &id->dst)) {
			*inbound = false;
			return c;
		}
	}
	return NULL;
}

static struct ike_sa *find_local(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa;

	for (sa = e->by_local[bucket(e, spi)]; sa; sa = sa->h_next)
		if (ike_sa_local_spi(sa) == spi)
			return sa;
	return NULL;
}

struct ike_sa *ike_sa_same_id(const struct ike_sa *sa)
{
	return sa->remote_id ? sa->eng->by_id[id_bucket(sa->eng, sa->remote_id)] : NULL;
}

struct ike_reauth **ike_reauths(struct ike_engine *e)
{
	return &e->reauths;
}

bool ike_sa_has_sibling(const struct ike_sa *sa)
{
	/* Every SA holds a reference on its connection: alone, no sibling. */
	if (sa->conn && sa->conn->refs <= 1)
		return false;
	for (const struct ike_sa *o = sa->eng->all; o; o = o->next_all)
		if (o != sa && o->conn == sa->conn && o->state == IKE_S_ESTABLISHED &&
		    xk_addr_ip_eq(&o->remote, &sa->remote))
			return true;
	return false;
}

void ike_sa_drop_siblings(struct ike_sa *sa)
{
	struct ike_engine *e = sa->eng;
	struct ike_sa *o, *next;

	if (!sa->remote_id)
		return;
	/* Only those with the same identity share its bucket. */
	for (o = e->by_id[id_bucket(e, sa->remote_id)]; o; o = next) {
		next = o->id_next;
		if (o == sa || o->state == IKE_S_DEAD || o->conn != sa->conn ||
		    !ike_id_eq(ike_sa_remote_id(o), ike_sa_remote_id(sa)))
			continue;
		xk_info("initial contact conn=%s: dropping old IKE SA %016llx_%016llx",
			sa->conn->name, (unsigned long long)o->spi_i, (unsigned long long)o->spi_r);
		ike_sa_kill(o, 0, "peer restarted (INITIAL_CONTACT)");
		/* The kill may have buried the next one's neighbour: start over. */
		next = e->by_id[id_bucket(e, sa->remote_id)];
	}
}

struct ike_sa *ike_sa_find_peer(struct ike_engine *e, uint64_t spi_i,
				const struct xk_addr *remote)
{
	struct ike_sa *sa;

	for (sa = e->by_peer[bucket(e, spi_i)]; sa; sa = sa->h_peer_next)
		if (sa->spi_i == spi_i && xk_addr_eq(&sa->remote, remote))
			return sa;
	return NULL;
}

/* ---- timers ---- */

static void heap_swap(struct ike_engine *e, size_t a, size_t b)
{
	struct ike_sa *t = e->heap[a];

	e->heap[a] = e->heap[b];
	e->heap[b] = t;
	e->heap[a]->heap_idx = a;
	e->heap[b]->heap_idx = b;
}

static void heap_fix(struct ike_engine *e, size_t i)
{
	while (i > 0 && e->heap[(i - 1) / 2]->timer_ms > e->heap[i]->timer_ms) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < e->heap_len && e->heap[l]->timer_ms < e->heap[m]->timer_ms)
			m = l;
		if (r < e->heap_len && e->heap[r]->timer_ms < e->heap[m]->timer_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(e, i, m);
		i = m;
	}
}

static void heap_remove(struct ike_engine *e, struct ike_sa *sa)
{
	size_t i = sa->heap_idx;

	if (i == SIZE_MAX)
		return;
	sa->heap_idx = SIZE_MAX;
	e->heap_len--;
	if (i == e->heap_len)
		return;
	e->heap[i] = e->heap[e->heap_len];
	e->heap[i]->heap_idx = i;
	heap_fix(e, i);
}

void ike_sa_schedule(struct ike_sa *sa)
{
	struct ike_engine *e = sa->eng;
	uint64_t t = UINT64_MAX;

	if (sa->state == IKE_S_DEAD) {
		heap_remove(e, sa);
		return;
	}
	if (sa->req_out && sa->req_next_ms < t)
		t = sa->req_next_ms;
	if (sa->expire_ms && sa->expire_ms < t)
		t = sa->expire_ms;
	{
		uint64_t c = child_timers(sa, 0, false);
		uint64_t i = ike_sa_timers(sa, 0, false);

		if (c < t)
			t = c;
		if (i < t)
			t = i;
	}
	sa->timer_ms = t;
	if (t == UINT64_MAX) {
		heap_remove(e, sa);
		return;
	}
	if (sa->heap_idx == SIZE_MAX) {
		if (e->heap_len == e->heap_cap) {
			size_t cap = e->heap_cap ? e->heap_cap * 2 : 64;
			struct ike_sa **h = realloc(e->heap, cap * sizeof(*h));

			if (!h)
				return; /* keeps the old deadline; retried next time */
			e->heap = h;
			e->heap_cap = cap;
		}
		sa->heap_idx = e->heap_len;
		e->heap[e->heap_len++] = sa;
	}
	heap_fix(e, sa->heap_idx);
}

/* ---- SA lifetime ---- */

struct ike_sa *ike_sa_new(struct ike_engine *e, struct ike_conn *c, bool initiator)
{
	struct ike_sa *sa = calloc(1, sizeof(*sa));
	uint64_t spi;

	if (!sa)
		return NULL;
	sa->hs = calloc(1, sizeof(*sa->hs));
	if (!sa->hs || (e->n_sas >= e->n_buckets && grow(e) < 0))
		goto fail;
	/* A fresh SPI: random, non-zero, not in use (section 2.6). */
	do {
		if (ike_random(&spi, sizeof(spi)) < 0)
			goto fail;
	} while (spi == 0 || find_local(e, spi));
	sa->eng = e;
	sa->conn = c;
	if (c)
		ike_conn_get(c);
	sa->initiator = initiator;
	if (initiator)
		sa->spi_i = spi;
	else
		sa->spi_r = spi;
	sa->state = IKE_S_NEW;
	sa->heap_idx = SIZE_MAX;
	sa->created_ms = ike_now(e);
	sa->timer_ms = UINT64_MAX;
	hash_insert(e, sa);
	sa->next_all = e->all;
	if (e->all)
		e->all->prev_all = &sa->next_all;
	sa->prev_all = &e->all;
	e->all = sa;
	e->n_sas++;
	e->stats.ike_sa_active++;
	return sa;
fail:
	free(sa->hs);
	free(sa);
	return NULL;
}

/* Called by ike_sa_kill: unlink now, free at the end of the engine call. */
void ike_sa_bury(struct ike_sa *sa)
{
	struct ike_engine *e = sa->eng;

	hash_remove(e, sa);
	if (!sa->initiator)
		peer_remove(e, sa);
	id_remove(e, sa);
	heap_remove(e, sa);
	*sa->prev_all = sa->next_all;
	if (sa->next_all)
		sa->next_all->prev_all = sa->prev_all;
	e->n_sas--;
	e->stats.ike_sa_active--;
	sa->next_all = e->dead;
	e->dead = sa;
}

static void reap(struct ike_engine *e)
{
	while (e->dead) {
		struct ike_sa *sa = e->dead;

		e->dead = sa->next_all;
		ike_sa_free(sa);
	}
}

/* ---- conns ---- */

void ike_conn_get(struct ike_conn *c)
{
	c->refs++;
}

static void conn_free(struct ike_conn *c)
{
	xk_wipe(c->psk, sizeof(c->psk));
	free(c->ike);
	free(c->esp);
	free(c);
}

void ike_conn_put(struct ike_engine *e, struct ike_conn *c)
{
	(void)e;
	if (--c->refs == 0 && c->deleted)
		conn_free(c);
}

int ike_engine_add_conn(struct ike_engine *e, const struct ike_conn_cfg *cfg)
{
	struct ike_conn *c, **pp;

	if (!cfg->name || !*cfg->name || strlen(cfg->name) >= IKE_NAME_MAX ||
	    !cfg->n_ike || !cfg->n_esp || cfg->psk_len == 0 ||
	    cfg->psk_len > IKE_PSK_MAX || cfg->n_local_ts > IKE_MAX_TS ||
	    cfg->n_remote_ts > IKE_MAX_TS)
		return -EINVAL;
	for (pp = &e->conns; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, cfg->name) == 0)
			return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ike = calloc(cfg->n_ike, sizeof(*c->ike));
	c->esp = calloc(cfg->n_esp, sizeof(*c->esp));
	if (!c->ike || !c->esp) {
		conn_free(c);
		return -ENOMEM;
	}
	memcpy(c->ike, cfg->ike, cfg->n_ike * sizeof(*c->ike));
	memcpy(c->esp, cfg->esp, cfg->n_esp * sizeof(*c->esp));
	c->n_ike = cfg->n_ike;
	c->n_esp = cfg->n_esp;
	strcpy(c->name, cfg->name);
	c->local = cfg->local;
	c->remote = cfg->remote;
	c->local_id = cfg->local_id;
	c->remote_id = cfg->remote_id;
	memcpy(c->psk, cfg->psk, cfg->psk_len);
	c->psk_len = cfg->psk_len;
	memcpy(c->local_ts, cfg->local_ts, sizeof(c->local_ts));
	memcpy(c->remote_ts, cfg->remote_ts, sizeof(c->remote_ts));
	c->n_local_ts = cfg->n_local_ts;
	c->n_remote_ts = cfg->n_remote_ts;
	c->mode = cfg->mode;
	c->replay_window = cfg->replay_window ? cfg->replay_window : 32;
	c->life_time_s = cfg->life_time_s;
	c->rekey_time_s = cfg->rekey_time_s;
	c->ike_rekey_time_s = cfg->ike_rekey_time_s;
	c->reauth_time_s = cfg->reauth_time_s;
	c->dpd_s = cfg->dpd_s;
	c->dpd_timeout_s = cfg->dpd_timeout_s;
	c->reqid = cfg->reqid;
	c->force_encap = cfg->force_encap;
	c->refs = 1; /* the list's reference */
	*pp = c;
	return 0;
}

int ike_engine_del_conn(struct ike_engine *e, const char *name)
{
	struct ike_conn **pp;

	for (pp = &e->conns; *pp; pp = &(*pp)->next) {
		struct ike_conn *c = *pp;

		if (strcmp(c->name, name) == 0) {
			*pp = c->next;
			c->deleted = true;
			ike_conn_put(e, c);
			return 0;
		}
	}
	return -ENOENT;
}

static struct ike_conn *conn_find(struct ike_engine *e, const char *name)
{
	for (struct ike_conn *c = e->conns; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* ---- engine ---- */

struct ike_engine *ike_engine_new(const struct ike_engine_cfg *cfg,
				  const struct ike_ops *ops)
{
	struct ike_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	else
		ike_engine_cfg_defaults(&e->cfg);
	e->ops = *ops;
	if (tables_alloc(e, 64) < 0 || ike_random_secret(&e->hash_key, sizeof(e->hash_key)) < 0 ||
	    ike_random_secret(e->cookie_secret, sizeof(e->cookie_secret)) < 0) {
		tables_free(e);
		free(e);
		return NULL;
	}
	e->cookie_rotate_ms = ike_now(e) + e->cfg.cookie_lifetime_ms;
	e->reqid_next = e->cfg.reqid_base ? e->cfg.reqid_base : 1;
	return e;
}

void ike_engine_free(struct ike_engine *e)
{
	if (!e)
		return;
	while (e->all)
		ike_sa_kill(e->all, 0, "shutdown");
	reap(e);
	while (e->conns) {
		struct ike_conn *c = e->conns;

		e->conns = c->next;
		c->deleted = true;
		ike_conn_put(e, c);
	}
	xk_wipe(e->cookie_secret, sizeof(e->cookie_secret));
	tables_free(e);
	free(e->heap);
	free(e);
}

void ike_engine_stats(const struct ike_engine *e, struct ike_stats *out)
{
	*out = e->stats;
}

void ike_send_raw(struct ike_engine *e, const struct xk_addr *local,
		  const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	e->stats.tx_packets++;
	e->ops.send(e->ops.ctx, local, remote, buf, len);
}

void ike_sa_send_raw(struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	ike_send_raw(sa->eng, &sa->local, &sa->remote, buf, len);
}

/*
 * Section 2.11: a response goes back to the address and port its request
 * came from, and leaves from the address and port it arrived on.
 */
static void send_response(struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	struct ike_engine *e = sa->eng;

	if (e->rx_remote && e->rx_local)
		ike_send_raw(e, e->rx_local, e->rx_remote, buf, len);
	else
		ike_sa_send_raw(sa, buf, len);
}

void ike_sa_keepalive(struct ike_sa *sa)
{
	if (sa->eng->ops.keepalive)
		sa->eng->ops.keepalive(sa->eng->ops.ctx, &sa->local, &sa->remote);
}

void ike_sa_sk_ctx(const struct ike_sa *sa, bool out, struct ike_sk_ctx *c)
{
	/* The initiator sends with SK_ei/SK_ai, the responder with SK_er/SK_ar. */
	bool use_i = out == sa->initiator;

	c->encr = sa->suite.encr;
	c->keybits = sa->suite.encr_keybits;
	c->integ = sa->suite.integ;
	c->ekey = use_i ? sa->keys.sk_ei : sa->keys.sk_er;
	c->akey = sa->suite.integ ? (use_i ? sa->keys.sk_ai : sa->keys.sk_ar) : NULL;
}

/* ---- cookies, section 2.6 ---- */

static void cookie_rotate(struct ike_engine *e, uint64_t now)
{
	if (now < e->cookie_rotate_ms)
		return;
	e->cookie_version++;
	ike_random_secret(e->cookie_secret[e->cookie_version & 1], 32);
	e->cookie_rotate_ms = now + e->cfg.cookie_lifetime_ms;
}

bool ike_cookie_required(struct ike_engine *e, const struct xk_addr *remote)
{
	uint32_t n = 0;

	/* Rotated lazily, when cookies are in use: no wake-ups when idle. */
	cookie_rotate(e, ike_now(e));
	if (e->stats.half_open >= e->cfg.cookie_threshold)
		return true;
	if (e->stats.half_open < e->cfg.cookie_threshold_ip)
		return false;
	for (struct ike_sa *sa = e->half_open; sa; sa = sa->hs->ho_next)
		if (xk_addr_ip_eq(&sa->remote, remote) && ++n >= e->cfg.cookie_threshold_ip)
			return true;
	return false;
}

unsigned ike_cookie_version(struct ike_engine *e)
{
	return e->cookie_version;
}

/* Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>). */
void ike_cookie_make(struct ike_engine *e, unsigned version,
		     const uint8_t *ni, size_t nilen, const struct xk_addr *remote,
		     uint64_t spi_i, uint8_t out[IKEV2_COOKIE_MAX], size_t *len)
{
	uint8_t buf[IKEV2_NONCE_MAX + 16 + 8 + 32];
	struct bw w;

	bw_init(&w, buf, sizeof(buf));
	bw_bytes(&w, ni, nilen);
	bw_bytes(&w, remote->ip, xk_addr_len(remote));
	bw_u64(&w, spi_i);
	bw_bytes(&w, e->cookie_secret[version & 1], 32);
	out[0] = (uint8_t)version;
	ike_sha256(buf, w.len, out + 1);
	*len = 33;
	xk_wipe(buf, sizeof(buf));
}

bool ike_cookie_verify(struct ike_engine *e, const uint8_t *cookie, size_t clen,
		       const uint8_t *ni, size_t nilen,
		       const struct xk_addr *remote, uint64_t spi_i)
{
	uint8_t expect[IKEV2_COOKIE_MAX];
	size_t len;
	unsigned v;

	if (clen != 33)
		return false;
	v = cookie[0];
	/* Only the current secret and the one before it are honoured. */
	if (v != e->cookie_version && v != (uint8_t)(e->cookie_version - 1))
		return false;
	ike_cookie_make(e, v, ni, nilen, remote, spi_i, expect, &len);
	return xk_ct_equal(expect, cookie, len);
}

/* ---- sending requests ---- */

static void next_task(struct ike_sa *sa);

static void send_request(struct ike_sa *sa)
{
	struct ike_task *t = sa->tasks;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_mb mb;
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = t->ops->exch,
		.flags = sa->initiator ? IKEV2_FLAG_INITIATOR : 0,
		.mid = sa->mid_next,
	};
	struct ike_sk_ctx sk;
	int len, err;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	if (t->ops->exch != IKEV2_EXCH_IKE_SA_INIT)
		ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	err = t->ops->build_i(t, sa, &mb);
	if (err < 0) {
		struct ike_sa *succ = sa->moved_to_spi ? find_local(sa->eng, sa->moved_to_spi) : NULL;

		/* Without its first exchanges there is no IKE SA to keep. */
		if (t->ops->exch == IKEV2_EXCH_IKE_SA_INIT || t->ops->exch == IKEV2_EXCH_IKE_AUTH) {
			ike_sa_kill(sa, 0, "cannot build request");
			return;
		}
		sa->tasks = t->next;
		t->next = NULL;
		if (err == -ENOENT && succ && succ->state == IKE_S_ESTABLISHED) {
			/* What it concerns moved with an IKE SA rekey: follow it there. */
			ike_sa_queue(succ, t);
		} else {
			if (err != -ECANCELED)
				xk_warn("%s not started conn=%s: %s", t->ops->name,
					sa->conn ? sa->conn->name : "", strerror(-err));
			t->ops->destroy(t);
		}
		next_task(sa);
		return;
	}
	if (t->ops->exch == IKEV2_EXCH_IKE_SA_INIT) {
		len = ike_mb_finish(&mb);
	} else {
		ike_sa_sk_ctx(sa, true, &sk);
		len = ike_mb_sk_seal(&mb, &sk, NULL);
	}
	if (len < 0) {
		ike_sa_kill(sa, 0, "cannot build request");
		return;
	}
	ike_pkt_set(&sa->req, buf, (size_t)len);
	if (!sa->req.buf) {
		ike_sa_kill(sa, 0, "out of memory");
		return;
	}
	sa->req_out = true;
	sa->req_tries = 0;
	sa->req_next_ms = ike_now(sa->eng) + sa->eng->cfg.retransmit_timeout_ms;
	xk_debug("sending %s request conn=%s spi=%016llx mid=%u len=%d",
		 ikev2_exch_name(hdr.exch), sa->conn ? sa->conn->name : "",
		 (unsigned long long)ike_sa_local_spi(sa), hdr.mid, len);
	ike_sa_send_raw(sa, sa->req.buf, sa->req.len);
	ike_sa_schedule(sa);
}

static void next_task(struct ike_sa *sa)
{
	if (!sa->req_out && sa->tasks && sa->state != IKE_S_DEAD)
		send_request(sa);
}

void ike_sa_queue(struct ike_sa *sa, struct ike_task *t)
{
	struct ike_task **pp = &sa->tasks;

	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	next_task(sa);
}

static void task_pop(struct ike_sa *sa)
{
	struct ike_task *t = sa->tasks;

	sa->tasks = t->next;
	t->ops->destroy(t);
}

struct ike_sa *ike_sa_initiate(struct ike_engine *e, struct ike_conn *c, struct ike_sa *old)
{
	struct ike_task *init, *auth;
	struct ike_sa *sa;

	sa = ike_sa_new(e, c, true);
	init = task_init_new();
	auth = task_auth_new();
	if (!sa || !init || !auth) {
		free(init);
		free(auth);
		if (sa)
			ike_sa_kill(sa, 0, "out of memory");
		return NULL;
	}
	sa->local = c->local;
	sa->remote = c->remote;
	/* No local address configured: the one the system would pick. */
	if (!sa->local.family && e->ops.source)
		e->ops.source(e->ops.ctx, &sa->remote, &sa->local);
	if (!sa->remote.port)
		sa->remote.port = 500;
	if (!sa->local.port)
		sa->local.port = 500;
	/* Linked before anything is sent: IKE_AUTH reads the old SA. */
	if (old && ike_reauth_link(sa, old) < 0) {
		free(init);
		free(auth);
		ike_sa_kill(sa, 0, "out of memory");
		return NULL;
	}
	xk_info("initiating conn=%s spi=%016llx", c->name, (unsigned long long)sa->spi_i);
	ike_sa_queue(sa, init);
	ike_sa_queue(sa, auth);
	return sa;
}

int ike_engine_initiate(struct ike_engine *e, const char *name, uint64_t *spi_out)
{
	struct ike_conn *c = conn_find(e, name);
	struct ike_sa *sa;

	if (!c)
		return -ENOENT;
	/* An initiator needs to know where to go. */
	if (!c->remote.family)
		return -EDESTADDRREQ;
	sa = ike_sa_initiate(e, c, NULL);
	if (sa && spi_out)
		*spi_out = sa->spi_i;
	reap(e);
	return sa ? 0 : -ENOMEM;
}

static struct ike_sa *find_established(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_local(e, spi);

	return sa && sa->state == IKE_S_ESTABLISHED ? sa : NULL;
}

/* Queue a task made for one of the public calls below. */
static int queue_task(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t)
{
	if (!t)
		return -ENOMEM;
	ike_sa_queue(sa, t);
	reap(e);
	return 0;
}

int ike_engine_terminate(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_local(e, spi);

	if (!sa || sa->state == IKE_S_DEAD)
		return -ENOENT;
	/* The SA an IKE rekey is making: its exchange settles it (terminate the old one). */
	if (sa->state == IKE_S_NEW && !sa->tasks)
		return -EBUSY;
	if (sa->state != IKE_S_ESTABLISHED) {
		/* Nothing the peer could be told in an authenticated message. */
		ike_sa_kill(sa, 0, "terminated");
		reap(e);
		return 0;
	}
	return queue_task(e, sa, task_terminate_new());
}


int ike_engine_delete_child(struct ike_engine *e, uint64_t spi, uint32_t spi_in)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa || !child_find_in(sa, spi_in, CHILD_LIVE))
		return -ENOENT;
	return queue_task(e, sa, task_delete_child_new(spi_in, false));
}

int ike_engine_liveness(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa)
		return -ENOENT;
	return queue_task(e, sa, task_liveness_new());
}

int ike_engine_create_child(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa || sa->rekeyed)
		return -ENOENT;
	return queue_task(e, sa, task_child_new(0));
}

int ike_engine_rekey_ike(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa)
		return -ENOENT;
	if (sa->rekeying || sa->rekeyed || sa->reauthing)
		return -EALREADY;
	return queue_task(e, sa, task_ike_rekey_new());
}

int ike_engine_reauth(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);
	int err;

	if (!sa)
		return -ENOENT;
	err = ike_reauth_start(sa);
	reap(e);
	return err;
}

int ike_engine_rekey_child(struct ike_engine *e, uint64_t spi, uint32_t spi_in)
{
	struct ike_sa *sa = find_established(e, spi);
	struct ike_child *c = sa ? child_find_in(sa, spi_in, CHILD_LIVE) : NULL;

	if (!c)
		return -ENOENT;
	if (c->rekeying || c->rekeyed || c->state != CHILD_S_INSTALLED)
		return -EALREADY;
	return queue_task(e, sa, task_child_new(spi_in));
}

int ike_engine_expire(struct ike_engine *e, const struct xk_sa_id *id, bool hard)
{
	bool inbound;
	/*
	 * Only installed CHILD_SAs are indexed.  One still being negotiated
	 * has only the larval SA that ALLOCSPI left; the kernel expires that
	 * on its own, and the CHILD_SA belongs to its exchange until that ends.
	 */
	struct ike_child *c = child_by_sa_id(e, id, &inbound);
	struct ike_sa *sa;

	if (!c)
		return -ENOENT;
	sa = c->sa;
	xk_info("%s expire conn=%s spi_in=%08x (%s SA)", hard ? "hard" : "soft", sa->conn->name,
		c->spi_in, inbound ? "inbound" : "outbound");
	if (hard) {
		/* The kernel dropped it already; tell the peer, forget it. */
		struct ike_task *t = NULL;

		if (sa->state == IKE_S_ESTABLISHED && !c->rekeyed)
			t = task_delete_child_new(c->spi_in, false);
		if (t)
			ike_sa_queue(sa, t);
		else
			child_remove(c);
	} else if (!c->rekeying && !c->rekeyed && c->state == CHILD_S_INSTALLED &&
		   sa->state == IKE_S_ESTABLISHED) {
		struct ike_task *t = task_child_new(c->spi_in);

		if (t)
			ike_sa_queue(sa, t);
	}
	reap(e);
	return 0;
}

int ike_engine_peer_moved(struct ike_engine *e, const struct xk_sa_id *id,
			  const struct xk_addr *peer)
{
	bool inbound;
	struct ike_child *c = child_by_sa_id(e, id, &inbound);
	struct ike_sa *sa = c ? c->sa : NULL;
	struct xk_addr old;
	char a[64];

	/* The kernel reports a mapping for the inbound SA that saw the ESP. */
	if (!c || !inbound || sa->state != IKE_S_ESTABLISHED)
		return -ENOENT;
	/* Only behind a NAT, and only to where ESP now really comes from. */
	if (!(sa->nat_local || sa->nat_remote) || xk_addr_eq(&sa->remote, peer))
		return 0;
	old = sa->remote;
	sa->remote = *peer;
	xk_info("peer moved conn=%s to %s:%u (ESP)", sa->conn->name,
		xk_addr_str(peer, a, sizeof(a)), peer->port);
	child_move_all(sa, &old);
	ike_sa_schedule(sa);
	return 0;
}

/* ---- receiving ---- */

static void req_hash(const uint8_t *buf, size_t len, uint8_t out[16])
{
	uint8_t h[32];

	ike_sha256(buf, len, h);
	memcpy(out, h, 16);
}

/* Decrypt the SK payload in place (buf is our copy) and parse what is inside. */
static int open_sk(struct ike_sa *sa, struct ike_msg *msg, uint8_t *buf)
{
	struct ike_sk_ctx sk;
	size_t aad = msg->sk_off + IKEV2_GENHDR_LEN;
	size_t iv_len = ike_encr_iv_len(sa->suite.encr);
	const uint8_t *pt;
	int n;
	uint8_t pad;

	ike_sa_sk_ctx(sa, false, &sk);
	n = ike_sk_open(&sk, buf, aad, msg->raw_len);
	if (n <= 0)
		return -EBADMSG;
	pt = buf + aad + iv_len;
	pad = pt[n - 1];
	msg->authenticated = true;
	sa->last_rx_ms = ike_now(sa->eng);
	sa->dpd_sent_ms = 0;
	/*
	 * Section 2.23: once a NAT is known, the peer's address is wherever
	 * its last authenticated message came from; answers go there.
	 */
	/*
	 * A peer that moved to the NAT-T port (as it may after IKE_SA_INIT,
	 * section 2.23) is followed there even without a NAT.
	 */
	if (!sa->nat_local && !sa->nat_remote && sa->eng->rx_local &&
	    sa->eng->rx_local->port == ike_cfg(sa->eng)->nat_port &&
	    sa->remote.port != sa->eng->rx_remote->port &&
	    xk_addr_ip_eq(&sa->remote, sa->eng->rx_remote)) {
		sa->remote = *sa->eng->rx_remote;
		sa->local = *sa->eng->rx_local;
	}
	if ((sa->nat_local || sa->nat_remote) && !xk_addr_eq(&sa->remote, sa->eng->rx_remote)) {
		struct xk_addr old = sa->remote;
		char a[64];

		sa->remote = *sa->eng->rx_remote;
		sa->local = *sa->eng->rx_local;
		xk_info("peer moved conn=%s to %s:%u", sa->conn ? sa->conn->name : "",
			xk_addr_str(&sa->remote, a, sizeof(a)), sa->remote.port);
		if (sa->keys_ready && sa->state == IKE_S_ESTABLISHED)
			child_move_all(sa, &old);
	}
	/* The Pad Length cannot exceed what was decrypted. */
	if ((size_t)pad + 1 > (size_t)n)
		return -EINVAL;
	return ike_msg_parse_inner(msg, pt, (size_t)n - pad - 1);
}

/* An encrypted response that says only `notify` (with optional data). */
static void respond_notify(struct ike_sa *sa, const struct ike_msg *req,
			   uint16_t notify, const uint8_t *data, size_t dlen)
{
	uint8_t buf[512];
	struct ike_mb mb;
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = req->hdr.exch,
		.flags = IKEV2_FLAG_RESPONSE | (sa->initiator ? IKEV2_FLAG_INITIATOR : 0),
		.mid = req->hdr.mid,
	};
	struct ike_sk_ctx sk;
	int len;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	ike_mb_notify(&mb, 0, NULL, 0, notify, data, dlen);
	ike_sa_sk_ctx(sa, true, &sk);
	len = ike_mb_sk_seal(&mb, &sk, NULL);
	if (len < 0)
		return;
	send_response(sa, buf, (size_t)len);
	ike_pkt_set(&sa->resp, buf, (size_t)len);
	req_hash(req->raw, req->raw_len, sa->resp_req_hash);
	sa->resp_cached = sa->resp.buf != NULL;
	sa->mid_expect++;
}

static void handle_request(struct ike_sa *sa, struct ike_msg *msg, uint8_t *copy)
{
	struct ike_engine *e = sa->eng;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_mb mb;
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = msg->hdr.exch,
		.flags = IKEV2_FLAG_RESPONSE | (sa->initiator ? IKEV2_FLAG_INITIATOR : 0),
		.mid = msg->hdr.mid,
	};
	struct ike_sk_ctx sk;
	uint16_t notify = 0;
	int err, len;

	/* Section 2.1: a retransmitted request gets the cached response again. */
	if (sa->resp_cached && msg->hdr.mid + 1 == sa->mid_expect) {
		uint8_t h[16];

		req_hash(msg->raw, msg->raw_len, h);
		if (memcmp(h, sa->resp_req_hash, sizeof(h)) == 0) {
			e->stats.responses_resent++;
			send_response(sa, sa->resp.buf, sa->resp.len);
			return;
		}
	}
	/* Anything but the next request in the window is dropped (2.3). */
	if (msg->hdr.mid != sa->mid_expect || !sa->keys_ready) {
		e->stats.rx_unexpected++;
		return;
	}
	/* Every request after IKE_SA_INIT is protected, all of it (3.14). */
	if (!msg->has_sk || msg->n_pl != 1) {
		e->stats.rx_malformed++;
		return;
	}
	memcpy(copy, msg->raw, msg->raw_len);
	err = open_sk(sa, msg, copy);
	if (err == -EBADMSG) {
		e->stats.rx_bad_icv++;
		return;
	}
	/* From here on the peer is authenticated: errors are worth a notify. */
	if (err < 0) {
		e->stats.rx_malformed++;
		respond_notify(sa, msg, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (msg->unsupported_critical) {
		uint8_t t = msg->unsupported_critical;

		e->stats.rx_malformed++;
		respond_notify(sa, msg, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	switch (msg->hdr.exch) {
	case IKEV2_EXCH_IKE_AUTH:
		err = task_auth_respond(sa, msg, &mb, &notify);
		break;
	case IKEV2_EXCH_INFORMATIONAL:
		err = task_info_respond(sa, msg, &mb, &notify);
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		if (sa->state != IKE_S_ESTABLISHED) {
			/* Section 2.25.2: the IKE SA is going away. */
			err = -EBUSY;
			notify = sa->state == IKE_S_DELETING ? IKEV2_N_TEMPORARY_FAILURE
							     : IKEV2_N_INVALID_SYNTAX;
			break;
		}
		/* An SA payload proposing protocol IKE rekeys the IKE SA (1.3.2). */
		{
			const struct ike_pl *pl = ike_msg_find(msg, IKEV2_PL_SA);
			struct ike_proposal p1;

			if (pl && ike_pl_sa(pl, &p1, 1) >= 1 && p1.protocol == IKEV2_PROTO_IKE)
				err = task_ike_rekey_respond(sa, msg, &mb, &notify);
			else
				err = task_child_respond(sa, msg, &mb, &notify);
		}
		break;
	default:
		err = -EINVAL;
		notify = IKEV2_N_INVALID_SYNTAX;
		break;
	}
	if (err < 0) {
		if (!notify || notify == IKEV2_N_INVALID_SYNTAX)
			e->stats.rx_malformed++;
		if (notify)
			respond_notify(sa, msg, notify, NULL, 0);
	} else {
		ike_sa_sk_ctx(sa, true, &sk);
		len = ike_mb_sk_seal(&mb, &sk, NULL);
		if (len > 0) {
			send_response(sa, buf, (size_t)len);
			ike_pkt_set(&sa->resp, buf, (size_t)len);
			req_hash(msg->raw, msg->raw_len, sa->resp_req_hash);
			sa->resp_cached = sa->resp.buf != NULL;
			sa->mid_expect++;
		}
	}
	if (sa->kill_after_response)
		ike_sa_kill(sa, 0, "deleted by peer");
	else
		ike_sa_schedule(sa);
}

static void handle_response(struct ike_sa *sa, struct ike_msg *msg, uint8_t *copy)
{
	struct ike_engine *e = sa->eng;
	struct ike_task *t = sa->tasks;
	enum ike_task_result res;

	/* Only the response to the request we have out counts (2.3). */
	if (!sa->req_out || !t || msg->hdr.mid != sa->mid_next ||
	    msg->hdr.exch != t->ops->exch) {
		e->stats.rx_unexpected++;
		return;
	}
	if (msg->hdr.exch != IKEV2_EXCH_IKE_SA_INIT) {
		int err;

		if (!msg->has_sk || msg->n_pl != 1) {
			e->stats.rx_malformed++;
			return;
		}
		memcpy(copy, msg->raw, msg->raw_len);
		err = open_sk(sa, msg, copy);
		if (err == -EBADMSG) {
			e->stats.rx_bad_icv++;
			return;
		}
		if (err < 0) {
			/* An authenticated but broken response ends the exchange. */
			e->stats.rx_malformed++;
			ike_sa_kill(sa, IKEV2_N_INVALID_SYNTAX, "malformed response");
			return;
		}
	}
	if (msg->unsupported_critical) {
		e->stats.rx_malformed++;
		ike_sa_kill(sa, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
			    "response with unsupported critical payload");
		return;
	}
	res = t->ops->process_i(t, sa, msg);
	if (sa->state == IKE_S_DEAD)
		return;
	switch (res) {
	case IKE_TASK_DONE:
		sa->req_out = false;
		ike_pkt_free(&sa->req);
		sa->mid_next++;
		task_pop(sa);
		ike_sa_schedule(sa);
		next_task(sa);
		break;
	case IKE_TASK_RETRY:
		sa->req_out = false;
		send_request(sa);
		break;
	case IKE_TASK_AGAIN:
		sa->req_out = false;
		ike_pkt_free(&sa->req);
		sa->mid_next++;
		send_request(sa);
		break;
	case IKE_TASK_FAILED:
		ike_sa_kill(sa, sa->fail_notify, "exchange failed");
		break;
	}
}

static void send_version_notify(struct ike_engine *e, const struct xk_addr *local,
				const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	struct ike_hdr req, hdr;
	uint8_t out[64];
	struct ike_mb mb;
	int n;

	if (len < IKEV2_HDR_LEN)
		return;
	req.spi_i = get_be64(buf);
	req.spi_r = get_be64(buf + 8);
	req.exch = buf[18];
	req.flags = buf[19];
	req.mid = get_be32(buf + 20);
	/* Section 2.5: answer only requests, and only with our version. */
	if (req.flags & IKEV2_FLAG_RESPONSE || (buf[17] >> 4) < 2)
		return;
	hdr = (struct ike_hdr){ .spi_i = req.spi_i, .spi_r = req.spi_r,
				.exch = req.exch, .flags = IKEV2_FLAG_RESPONSE,
				.mid = req.mid };
	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_INVALID_MAJOR_VERSION, NULL, 0);
	n = ike_mb_finish(&mb);
	if (n > 0)
		ike_send_raw(e, local, remote, out, (size_t)n);
}

void ike_engine_input(struct ike_engine *e, const struct xk_addr *local,
		      const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	struct ike_msg msg;
	uint8_t *copy = NULL;
	struct ike_sa *sa;
	bool response, from_initiator;
	int err;

	e->stats.rx_packets++;
	err = ike_msg_parse(&msg, buf, len);
	if (err == IKE_PARSE_VERSION) {
		e->stats.rx_malformed++;
		send_version_notify(e, local, remote, buf, len);
		return;
	}
	if (err < 0) {
		e->stats.rx_malformed++;
		return;
	}
	response = msg.hdr.flags & IKEV2_FLAG_RESPONSE;
	from_initiator = msg.hdr.flags & IKEV2_FLAG_INITIATOR;

	if (msg.hdr.exch == IKEV2_EXCH_IKE_SA_INIT && !response) {
		/* A new IKE SA (or a retransmission of its first request). */
		if (!from_initiator || msg.hdr.spi_r != 0 || msg.hdr.mid != 0) {
			e->stats.rx_malformed++;
			return;
		}
		task_init_respond(e, &msg, local, remote);
		reap(e);
		return;
	}

	sa = find_local(e, from_initiator ? msg.hdr.spi_r : msg.hdr.spi_i);
	/* The message must name this SA by both SPIs, from the right role. */
	if (!sa || sa->state == IKE_S_DEAD || sa->initiator == from_initiator ||
	    (from_initiator ? msg.hdr.spi_i != sa->spi_i :
	     msg.hdr.exch != IKEV2_EXCH_IKE_SA_INIT && msg.hdr.spi_r != sa->spi_r)) {
		e->stats.rx_unknown_spi++;
		return;
	}
	copy = malloc(len);
	if (!copy)
		return;
	e->rx_local = local;
	e->rx_remote = remote;
	if (response)
		handle_response(sa, &msg, copy);
	else
		handle_request(sa, &msg, copy);
	e->rx_local = e->rx_remote = NULL;
	xk_wipe(copy, len);
	free(copy);
	reap(e);
}

uint64_t ike_engine_next_timeout(struct ike_engine *e)
{
	return e->heap_len ? e->heap[0]->timer_ms : UINT64_MAX;
}

/*
 * Section 2.4: no authenticated answer to our requests, so the peer is gone.
 * Its SAs go without a word to it (it would not hear one).
 */
static void peer_dead(struct ike_sa *sa)
{
	sa->eng->stats.dpd_dead++;
	xk_notice("peer dead conn=%s spi=%016llx_%016llx", sa->conn ? sa->conn->name : "",
		  (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
	ike_emit(sa, IKE_EV_PEER_DEAD, NULL, 0, "no answer to liveness checks");
	ike_sa_kill(sa, 0, "peer dead");
}

static void sa_timer(struct ike_sa *sa, uint64_t now)
{
	struct ike_engine *e = sa->eng;

	if (sa->expire_ms && now >= sa->expire_ms) {
		e->stats.timeouts++;
		ike_sa_kill(sa, 0, "half-open timeout");
		return;
	}
	/* A liveness check unanswered for dpd-timeout: the peer is dead. */
	if (sa->req_out && sa->dpd_sent_ms && sa->conn->dpd_timeout_s &&
	    now - sa->dpd_sent_ms >= (uint64_t)sa->conn->dpd_timeout_s * 1000) {
		peer_dead(sa);
		return;
	}
	if (sa->req_out && now >= sa->req_next_ms) {
		if (sa->req_tries >= e->cfg.retransmit_tries) {
			e->stats.timeouts++;
			if (sa->state == IKE_S_ESTABLISHED)
				peer_dead(sa);
			else
				ike_sa_kill(sa, 0, "peer not responding");
			return;
		}
		sa->req_tries++;
		/* Section 2.1: resend the same bytes, backing off exponentially. */
		sa->req_next_ms = now + (uint64_t)(e->cfg.retransmit_timeout_ms *
						   pow(e->cfg.retransmit_base, sa->req_tries));
		e->stats.retransmits++;
		xk_debug("retransmit %u spi=%016llx mid=%u", sa->req_tries,
			 (unsigned long long)ike_sa_local_spi(sa), sa->mid_next);
		ike_sa_send_raw(sa, sa->req.buf, sa->req.len);
	}
	child_timers(sa, now, true);
	if (sa->state != IKE_S_DEAD)
		ike_sa_timers(sa, now, true);
	if (sa->state != IKE_S_DEAD)
		ike_sa_schedule(sa);
}

void ike_engine_tick(struct ike_engine *e)
{
	uint64_t now = ike_now(e);

	while (e->heap_len && e->heap[0]->timer_ms <= now)
		sa_timer(e->heap[0], now);
	reap(e);
}

/* ---- listing ---- */

static void fill_info(const struct ike_sa *sa, struct ike_sa_info *info)
{
	*info = (struct ike_sa_info){
	    .conn = sa->conn ? sa->conn->name : "",
	    .state = sa->state,
	    .initiator = sa->initiator,
	    .spi_i = sa->spi_i,
	    .spi_r = sa->spi_r,
	    .local = sa->local,
	    .remote = sa->remote,
	    .suite = sa->suite,
	    .nat_local = sa->nat_local,
	    .nat_remote = sa->nat_remote,
	    .created_ms = sa->created_ms,
	    .established_ms = sa->established_ms,
	    .n_children = ike_sa_count_children(sa),
	};
	ike_sa_local_id(sa, &info->local_id);
	memcpy(&info->remote_id, ike_sa_remote_id(sa),
	       offsetof(struct ike_id, data) + ike_sa_remote_id(sa)->len);
}

void ike_engine_foreach_sa(struct ike_engine *e, ike_sa_cb cb, void *ctx)
{
	struct ike_sa_info info;

	for (struct ike_sa *sa = e->all; sa; sa = sa->next_all) {
		fill_info(sa, &info);
		cb(ctx, &info);
	}
}

int ike_engine_sa_info(struct ike_engine *e, uint64_t spi, struct ike_sa_info *info)
{
	struct ike_sa *sa = find_local(e, spi);

	if (!sa)
		return -ENOENT;
	fill_info(sa, info);
	return 0;
}

int ike_engine_child_info(struct ike_engine *e, uint64_t spi, size_t i,
			  struct ike_child_info *info)
{
	struct ike_sa *sa = find_local(e, spi);
	struct ike_child *c;

	if (!sa)
		return -ENOENT;
	for (c = sa->children; c && i; c = c->next)
		i--;
	if (!c)
		return -ENOENT;
	child_fill_info(c, info);
	return 0;
}

struct ike_sa *ike_engine_find_sa(struct ike_engine *e, uint64_t spi)
{
	return find_local(e, spi);
}
