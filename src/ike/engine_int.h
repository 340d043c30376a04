/* SPDX-License-Identifier: ISC */
/*
 * struct ike_engine, seen only by the engine's own files: engine.c (the
 * public calls), sa_table.c (tables, indexes, the timer heap, SA birth and
 * death), window.c (the message windows), cookie.c, timers.c and work.c.  The
 * rest of src/ike reaches the engine through the accessors of engine.h.
 */
#ifndef XK_IKE_ENGINE_INT_H
#define XK_IKE_ENGINE_INT_H

#include "ike/engine.h"

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
	/* How many of them from each peer address (sa_table.c). */
	struct ike_ho_ip *ho_ip[256];

	/* Timers: a binary min-heap of SAs by timer_ms. */
	struct ike_sa **heap;
	size_t heap_len, heap_cap;

	/* Cookie secrets (section 2.6): current and previous. */
	uint8_t cookie_secret[2][32];
	uint8_t cookie_version;
	uint64_t cookie_rotate_ms;

	uint32_t reqid_next;
	struct ike_reauth *reauths; /* reauthentications under way (reauth.c) */
	struct ike_work *works;     /* handed out through ops.submit, not back yet (work.c) */
};

/* ---- sa_table.c ---- */
int ike_tables_init(struct ike_engine *e);
void ike_tables_fini(struct ike_engine *e);
/* Free the SAs killed during this call (ike_sa_bury); at the end of every public call. */
void ike_engine_reap(struct ike_engine *e);
/* The installed CHILD_SA that owns a kernel SA, and which of its two that is. */
struct ike_child *ike_child_by_sa_id(struct ike_engine *e, const struct xk_sa_id *id,
				     bool *inbound);

/* ---- timers.c ---- */
/* The earliest moment anything of sa is due (UINT64_MAX: nothing). */
uint64_t ike_sa_deadline(const struct ike_sa *sa);

#endif
