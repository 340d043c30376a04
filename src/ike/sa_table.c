/* SPDX-License-Identifier: ISC */
/*
 * Where the engine keeps its SAs: the hashes by local SPI, by the peer's
 * SPI and address (responders) and by the peer's identity; the CHILD_SA
 * indexes by SPI; the timer heap; and an SA's birth and burial.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "ike/engine_int.h"

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

/* Half-open SAs from one peer address: the per-address limits read it in O(1). */
struct ike_ho_ip {
	struct ike_ho_ip *next;
	struct xk_addr addr; /* port 0 */
	uint32_t n;
};

#define HO_BUCKETS (sizeof(((struct ike_engine *)0)->ho_ip) / sizeof(struct ike_ho_ip *))

static struct ike_ho_ip **ho_find(struct ike_engine *e, const struct xk_addr *addr)
{
	size_t len = addr->family == XK_AF_INET ? 4 : 16;
	uint64_t h = xk_hash_bytes(e->hash_key ^ addr->family, addr->ip, len);
	struct ike_ho_ip **pp = &e->ho_ip[(h ^ h >> 32) % HO_BUCKETS];

	while (*pp && !xk_addr_ip_eq(&(*pp)->addr, addr))
		pp = &(*pp)->next;
	return pp;
}

uint32_t ike_half_open_from(struct ike_engine *e, const struct xk_addr *addr)
{
	struct ike_ho_ip *h = *ho_find(e, addr);

	return h ? h->n : 0;
}

/* Counted under addr: +1 or -1. */
static void ho_count(struct ike_engine *e, const struct xk_addr *addr, bool up)
{
	struct ike_ho_ip **pp = ho_find(e, addr), *h = *pp;

	if (up && !h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return; /* not counted: the per-address limits see one fewer */
		h->addr = *addr;
		h->addr.port = 0;
		*pp = h;
	}
	if (!h)
		return;
	if (up) {
		h->n++;
	} else if (--h->n == 0) {
		*pp = h->next;
		free(h);
	}
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
		/* Where it came from, even should the peer move before IKE_AUTH ends. */
		hs->ho_addr = sa->remote;
		ho_count(e, &hs->ho_addr, true);
	} else {
		e->stats.half_open--;
		*hs->ho_prev = hs->ho_next;
		if (hs->ho_next)
			hs->ho_next->hs->ho_prev = hs->ho_prev;
		ho_count(e, &hs->ho_addr, false);
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
struct ike_child *ike_child_by_sa_id(struct ike_engine *e, const struct xk_sa_id *id,
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

struct ike_sa *ike_engine_find_sa(struct ike_engine *e, uint64_t spi)
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

	/*
	 * The peer's address, not its port: after it floated to the NAT-T
	 * port, a late copy of its first request from the old port is still
	 * the same SA's (section 2.1), not a new one.
	 */
	for (sa = e->by_peer[bucket(e, spi_i)]; sa; sa = sa->h_peer_next)
		if (sa->spi_i == spi_i && xk_addr_ip_eq(&sa->remote, remote))
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
	uint64_t t;

	if (sa->state == IKE_S_DEAD) {
		heap_remove(e, sa);
		return;
	}
	t = ike_sa_deadline(sa);
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
	} while (spi == 0 || ike_engine_find_sa(e, spi));
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

void ike_engine_reap(struct ike_engine *e)
{
	while (e->dead) {
		struct ike_sa *sa = e->dead;

		e->dead = sa->next_all;
		ike_sa_free(sa);
	}
}
int ike_tables_init(struct ike_engine *e)
{
	return tables_alloc(e, 64);
}

void ike_tables_fini(struct ike_engine *e)
{
	tables_free(e);
	free(e->heap);
	for (size_t i = 0; i < HO_BUCKETS; i++) {
		while (e->ho_ip[i]) {
			struct ike_ho_ip *h = e->ho_ip[i];

			e->ho_ip[i] = h->next;
			free(h);
		}
	}
}
