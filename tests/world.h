/* SPDX-License-Identifier: ISC */
/*
 * Two engines in one process: a fake clock, a fake network that delivers
 * (or drops, duplicates, rewrites) datagrams in order, and a fake kernel
 * per side.  Deterministic apart from the engines' own random numbers.
 */
#ifndef XK_TEST_WORLD_H
#define XK_TEST_WORLD_H

#include "fake_kernel.h"
#include "ike/ike.h"

#define W_MAX_PKTS 64
#define W_MAX_EVENTS 64
#define W_MAX_WORK 512

struct w_pkt {
	int to; /* 0 = peer a, 1 = peer b */
	struct xk_addr src, dst;
	uint8_t buf[65535];
	size_t len;
	bool copy; /* a duplicate made by a filter */
	uint32_t mark[8]; /* what a world's on_send noted when it was sent */
	unsigned n_mark;
};

struct world;

/*
 * Called for each datagram before delivery; return false to drop it.
 * May rewrite addresses (a NAT) or the bytes.
 */
typedef bool (*w_filter)(struct world *w, struct w_pkt *p, unsigned seq);

struct w_peer {
	struct world *w;
	int idx;
	struct ike_engine *e;
	struct fake_kernel k;
	struct xk_addr addr;
	struct ike_event events[W_MAX_EVENTS];
	/* events[i].child->end (the pointer lives only during the call); -1 without one. */
	int child_end[W_MAX_EVENTS];
	size_t n_events;
	unsigned sent;
	/*
	 * Nonces: random, except that the n-th nonce this peer makes gets
	 * nonce_first[n] as its first octet while nonce_first[n] >= 0.
	 */
	int nonce_first[8];
	unsigned n_nonces;
	uint8_t last_nonce[256]; /* the latest nonce this peer made */
	size_t last_nonce_len;
	/*
	 * Pending operations (world_async): the works the engine handed out,
	 * in order, until the test (or world_run) completes them.
	 */
	bool async;
	struct ike_work *work[W_MAX_WORK];
	size_t n_work;
	unsigned work_lost; /* handed out with the list full: never completed */
};

struct world {
	uint64_t now;
	struct w_peer p[2];
	struct w_pkt *q[W_MAX_PKTS];
	size_t q_len;
	w_filter filter;
	void *filter_ctx;
	/* Called as each datagram is sent, with the sender's index (may fill mark). */
	void (*on_send)(struct world *w, int from, struct w_pkt *p);
	int64_t wall;      /* wall-clock seconds for certificates; 0: the system's */
	unsigned seq;      /* datagrams sent so far, both ways */
	unsigned delivered;
	/* world_run completes pending works newest first (else oldest first). */
	bool work_lifo;
	/* If set, works go here instead of a peer's list (a real worker pool). */
	void (*submit_hook)(struct world *w, int idx, struct ike_work *wk);
};

/* Peer 0 at 192.0.2.1, peer 1 at 192.0.2.2 (or 2001:db8::1/2 with v6). */
void world_init(struct world *w, const struct ike_engine_cfg *cfg0,
		const struct ike_engine_cfg *cfg1, bool v6);
void world_free(struct world *w);
/* A new engine for peer idx with the world's ops (e.g. after a "restart"). */
struct ike_engine *world_engine(struct world *w, int idx, const struct ike_engine_cfg *cfg);
/*
 * Peer idx gets a new engine (cfg) that hands its work out (ops.submit)
 * instead of doing it inline; call before adding connections.
 */
void world_async(struct world *w, int idx, const struct ike_engine_cfg *cfg);
/* Run the i-th pending work of peer idx and complete it on its engine. */
void world_work_done(struct world *w, int idx, size_t i);
/* Run and complete every pending work of both peers (in work_lifo order). */
void world_work_all(struct world *w);
/*
 * Deliver until quiet, advancing the clock to the next timer when idle;
 * pending works are completed when no datagram is queued.
 */
void world_run(struct world *w, uint64_t max_ms);
/* A connection between the two peers with these proposals and PSKs. */
int world_conn(struct world *w, int idx, const char *name, const char *ike,
	       const char *esp, const char *psk);
/* The same, for a responder that takes any peer address and selectors. */
int world_conn_any(struct world *w, int idx, const char *name, const char *ike,
		   const char *esp, const char *psk);
/*
 * The same with any_peer as world_conn_any, and `edit` called on the
 * configuration before it is added (authentication methods, credentials).
 * psk may be NULL.
 */
typedef void (*w_conn_edit)(struct ike_conn_cfg *c, void *ctx);
int world_conn_edit(struct world *w, int idx, const char *name, const char *ike,
		    const char *esp, const char *psk, bool any_peer, w_conn_edit edit, void *ctx);
/* Counts events of a type seen by a peer. */
size_t world_events(const struct w_peer *p, enum ike_event_type t);
/* Last event of a type, or NULL. */
const struct ike_event *world_event(const struct w_peer *p, enum ike_event_type t);

/*
 * Hostile orderings: deliver the i-th queued datagram now, out of turn
 * (through the filter), or take it out of the queue (the caller frees it
 * or puts it back at the end).
 */
void world_deliver(struct world *w, size_t i);
struct w_pkt *world_take(struct world *w, size_t i);
void world_put(struct world *w, struct w_pkt *p);

struct ike_mb;
typedef void (*w_build)(struct ike_mb *mb, void *ctx);
/*
 * Queue a message that peer `from` could have sent on its IKE SA with local
 * SPI `spi`: exchange `exch`, a request or a response with message ID `mid`,
 * whose SK payload holds what `build` adds, sealed with that SA's live keys.
 * 0, or -ENOENT if the peer has no such SA with keys.
 */
int world_forge(struct world *w, int from, uint64_t spi, uint8_t exch, bool response,
		uint32_t mid, w_build build, void *ctx);

/* INSTALLED CHILD_SAs of p's one IKE SA; *spi_in (if given): the last one's inbound SPI. */
size_t world_installed(struct w_peer *p, uint32_t *spi_in);
/*
 * Exactly one CHILD_SA pair each side: installed once, two kernel SAs
 * matching crosswise (direction and key), three policies, no SPI left
 * allocated.  False with why (of len) filled in if not.
 */
bool world_one_pair(struct world *w, char *why, size_t len);

/* The one IKE SA on a peer (by walking), its local SPI; 0 if none. */
uint64_t world_sa_spi(struct w_peer *p);
size_t world_sa_count(struct w_peer *p);

#endif
