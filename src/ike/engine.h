/* SPDX-License-Identifier: ISC */
/*
 * What the engine gives the rest of src/ike: its clock, random numbers,
 * configuration, counters, events and kernel; the SA tables; the queue of
 * tasks and the timers of an SA; sending; cookies.  Implemented by
 * engine.c, sa_table.c, window.c, cookie.c and timers.c (which alone see
 * struct ike_engine, engine_int.h).
 */
#ifndef XK_IKE_ENGINE_H
#define XK_IKE_ENGINE_H

#include "ike/ike_sa.h"

/* The SA with this local SPI (also for white-box tests). */
struct ike_sa *ike_engine_find_sa(struct ike_engine *e, uint64_t spi);
uint64_t ike_now(struct ike_engine *e);
/* Wall-clock seconds for certificate validity (ops.wall_time, else time(NULL)). */
int64_t ike_wall_time(struct ike_engine *e);
/* A nonce (ops->nonce if the embedder gave one, else ike_random). */
int ike_nonce(struct ike_engine *e, void *buf, size_t len);
const struct ike_engine_cfg *ike_cfg(struct ike_engine *e);
struct ike_stats *ike_stats_mut(struct ike_engine *e);
void ike_emit(struct ike_sa *sa, enum ike_event_type type,
	      const struct ike_child *child, uint16_t notify, const char *reason);
const struct xk_kernel_ops *ike_kernel(struct ike_engine *e, void **ctx);
/* An event about a peer we keep no SA for (a stateless refusal). */
void ike_emit_peer(struct ike_engine *e, enum ike_event_type type, const char *conn,
		   const struct xk_addr *remote, uint16_t notify, const char *reason);
uint32_t ike_alloc_reqid(struct ike_engine *e);
struct ike_conn *ike_conn_first(struct ike_engine *e);
void ike_conn_get(struct ike_conn *c);
void ike_conn_put(struct ike_engine *e, struct ike_conn *c);
/* Queue an initiator task and send it if nothing is outstanding. */
void ike_sa_queue(struct ike_sa *sa, struct ike_task *t);
/* The SK context for sending (out) or receiving. */
void ike_sa_sk_ctx(const struct ike_sa *sa, bool out, struct ike_sk_ctx *c);
void ike_sa_schedule(struct ike_sa *sa);
/* Set our SPI in the hash table (responder learns spi_r, initiator spi_i). */
struct ike_sa *ike_sa_new(struct ike_engine *e, struct ike_conn *c, bool initiator);
void ike_sa_rehash_peer(struct ike_sa *sa);
/* Half-open SAs from this peer address (its port aside). */
uint32_t ike_half_open_from(struct ike_engine *e, const struct xk_addr *addr);
/* Unlink a killed SA from the tables; it is freed when the engine call ends. */
void ike_sa_bury(struct ike_sa *sa);
void ike_sa_send_raw(struct ike_sa *sa, const uint8_t *buf, size_t len);
void ike_sa_keepalive(struct ike_sa *sa);
void ike_send_raw(struct ike_engine *e, const struct xk_addr *local,
		  const struct xk_addr *remote, const uint8_t *buf, size_t len);
/* Cookie handling (section 2.6). */
unsigned ike_cookie_version(struct ike_engine *e);
bool ike_cookie_required(struct ike_engine *e, const struct xk_addr *remote);
void ike_cookie_make(struct ike_engine *e, unsigned version,
		     const uint8_t *ni, size_t nilen, const struct xk_addr *remote,
		     uint64_t spi_i, uint8_t out[IKEV2_COOKIE_MAX], size_t *len);
bool ike_cookie_verify(struct ike_engine *e, const uint8_t *cookie, size_t clen,
		       const uint8_t *ni, size_t nilen,
		       const struct xk_addr *remote, uint64_t spi_i);
/*
 * The SAs whose peer identity hashes like sa's (among them all those with
 * its identity), to walk by id_next; NULL before sa knows its peer's.
 */
struct ike_sa *ike_sa_same_id(const struct ike_sa *sa);
/* The reauthentications under way (reauth.c keeps the list). */
struct ike_reauth;
struct ike_reauth **ike_reauths(struct ike_engine *e);
/*
 * A new initiator SA for c with IKE_SA_INIT and IKE_AUTH queued (and the
 * first of them sent).  `old`: the SA it reauthenticates, or NULL.
 */
struct ike_sa *ike_sa_initiate(struct ike_engine *e, struct ike_conn *c, struct ike_sa *old);
/* Another live IKE SA of the same connection with the same peer? */
bool ike_sa_has_sibling(const struct ike_sa *sa);
/* INITIAL_CONTACT: remove every other IKE SA with this peer's identity. */
void ike_sa_drop_siblings(struct ike_sa *sa);
/*
 * Installed CHILD_SAs by inbound and by outbound SPI, so that an event of
 * the kernel about one SA finds its CHILD_SA without walking every IKE SA.
 * Index once both SPIs are known; unindexing one not indexed does nothing.
 */
void ike_child_index(struct ike_engine *e, struct ike_child *c);
void ike_child_unindex(struct ike_engine *e, struct ike_child *c);
/* Find the responder's half-open SA for a retransmitted IKE_SA_INIT. */
struct ike_sa *ike_sa_find_peer(struct ike_engine *e, uint64_t spi_i,
				const struct xk_addr *remote);

#endif
