/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs (child.c): negotiation, keys, installation in the kernel,
 * lookups by SPI, and their moves between IKE SAs.
 */
#ifndef XK_IKE_CHILD_H
#define XK_IKE_CHILD_H

#include "ike/ike_sa.h"

bool child_set_state(struct ike_child *c, enum child_state to);
/* The one place a CHILD_SA's succession changes; false (and logged) if the table forbids it. */
bool child_set_succ(struct ike_child *c, enum child_succ to);
/* Our rekey of it is out (collided with the peer's or not). */
static inline bool child_rekeying(const struct ike_child *c)
{
	return c->succ == CHILD_SUCC_REKEYING || c->succ == CHILD_SUCC_COLLIDED;
}
/* The connection's CHILD_SA configuration i (the first if out of range). */
static inline const struct ike_cconf *conn_child(const struct ike_conn *conn, size_t i)
{
	return &conn->child[i < conn->n_child ? i : 0];
}

/* The CHILD_SA configuration c was made from. */
static inline const struct ike_cconf *child_cfg(const struct ike_child *c)
{
	return conn_child(c->sa->conn, c->cfg);
}

/* The index of the connection's CHILD_SA configuration named name, -1 if none. */
int conn_child_find(const struct ike_conn *conn, const char *name);

/* A new CHILD_SA, CREATING, of the SA's CHILD_SA configuration cfg. */
struct ike_child *child_new(struct ike_sa *sa);
void child_fill_info(const struct ike_child *c, struct ike_child_info *info);
/* Our ESP proposals for the wire, with our inbound SPI filled in. */
size_t child_proposals(const struct ike_cconf *cc, uint32_t spi_in, bool keep_dh,
		       struct ike_proposal *out, size_t max);
/*
 * Initiator: take the responder's SA and TS for c (2.9: narrowed, never
 * wider than ours) and its mode.  0, or <0 with *why set.
 */
int child_accept_reply(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *msg,
		       bool no_dh, const char **why);
/*
 * The first of conn's CHILD_SA configurations whose selectors the
 * request's TSi and TSr narrow to (section 2.9), -1 if none.
 */
int child_cfg_for_ts(const struct ike_sa *sa, const struct ike_conn *conn,
		     const struct ike_msg *req);
/*
 * Responder: choose the CHILD_SA configuration (c->cfg; with any_cfg the
 * first of the connection's whose selectors the request's narrow to, else
 * c->cfg as set, e.g. a rekey's), an ESP proposal of it, narrow the
 * selectors, settle the mode.  0, or the notify to refuse with.
 * *prop_num: the chosen proposal's number.
 */
uint16_t child_negotiate(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *req,
			 bool no_dh, uint16_t ke_group, uint8_t *prop_num, bool any_cfg);
/* Responder: [N(USE_TRANSPORT_MODE),] SA with our SPI. */
void child_reply_payloads(struct ike_mb *mb, const struct ike_child *c, uint8_t prop_num);
/* TSi, TSr from c (ours or the narrowed ones). */
void child_ts_payloads(struct ike_mb *mb, const struct ike_child *c, bool initiator);
/* Narrow the peer's TS against ours (section 2.9); false if empty. */
bool child_narrow(const struct xk_ts *ours, size_t n_ours,
		  const struct xk_ts *theirs, size_t n_theirs,
		  struct xk_ts *out, uint8_t *n_out);
/*
 * The nonces of the exchange that creates a CHILD_SA, and whether we
 * started that exchange: section 2.17 takes the initiator-to-responder keys
 * first, where "initiator" is the exchange's, not the IKE SA's.
 */
struct child_nonces {
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	bool we_initiated;
};
/*
 * Derive keys (section 2.17) from these nonces (and g^ir with PFS) and
 * install SAs and policies.  `inherit`: the CHILD_SA this one rekeys.
 */
int child_install(struct ike_sa *sa, struct ike_child *c, const struct child_nonces *nonces,
		  const uint8_t *gir, size_t girlen, struct ike_child *inherit);
/* Replaced by a rekey: stop sending now, stop receiving after linger_ms. */
void child_retire(struct ike_child *c, uint32_t linger_ms);
/*
 * `old`, replaced by `by` in a reauthentication, is being deleted: its
 * CHILD_SAs that one of `by` replaces stop sending now (nothing goes out
 * on SAs the peer deletes with the old IKE SA) and keep receiving a while.
 */
void child_retire_replaced(struct ike_sa *old, struct ike_sa *by);
/*
 * The peer deletes `sa`: CHILD_SAs of another IKE SA that replace its
 * CHILD_SAs (reauthentication) send from now on, before the response.
 */
void child_switch_to_successors(struct ike_sa *sa);
/* Install a rekey responder's held-back outbound SA. */
void child_send_pending(struct ike_sa *sa, struct ike_child *c);
/* TEMPORARY_FAILURE on a rekey: try again after a random 1-5 s. */
void child_rekey_later(struct ike_child *c);
/* The peer moved (NAT): move every CHILD_SA's SAs from old_remote. */
void child_move_all(struct ike_sa *sa, const struct xk_addr *old_remote);
/*
 * Resync (ike_engine_kernel_sync): each of c's policies is looked up among
 * `have`, the kernel's policies with c's reqid, and marked ours; one that
 * is missing is installed again.  Returns how many were.
 */
unsigned child_sync_policies(struct ike_sa *sa, struct ike_child *c, struct ike_kernel_pol *have,
			     size_t n_have);
/* Run the CHILD_SA timers of an SA; returns the next deadline. */
void child_uninstall(struct ike_sa *sa, struct ike_child *c);
/* The kernel's name of c's inbound or outbound SA, with the connection's mark. */
struct xk_sa_id child_sa_id(const struct ike_sa *sa, const struct ike_child *c, bool in);
void child_free_all(struct ike_sa *sa);
/*
 * Lookups by SPI name the states they may return.  A peer's message and
 * the kernel's events name only live CHILD_SAs (CHILD_LIVE): one still
 * CREATING belongs to the exchange that makes it, which alone finds it
 * (CHILD_OWN), and a DELETED one is gone.
 */
#define CHILD_IN(s) (1u << (s))
#define CHILD_LIVE (CHILD_IN(CHILD_S_INSTALLED) | CHILD_IN(CHILD_S_DELETING))
#define CHILD_OWN CHILD_IN(CHILD_S_CREATING)
#define CHILD_ANY (CHILD_LIVE | CHILD_OWN)
struct ike_child *child_find_in(struct ike_sa *sa, uint32_t spi_in, unsigned states);
/*
 * The same, but also in the IKE SAs that replaced this one: an exchange on
 * the old IKE SA may finish after its CHILD_SAs moved (an IKE SA rekey).
 */
struct ike_child *child_find_moved(struct ike_sa *sa, uint32_t spi_in, unsigned states);
struct ike_child *child_find_out(struct ike_sa *sa, uint32_t spi_out, unsigned states);
struct ike_child *child_find_out_moved(struct ike_sa *sa, uint32_t spi_out, unsigned states);
/*
 * The ESP SPI a peer proposes: 4 octets, not reserved (RFC 4303 2.1), not
 * one it already receives on in this IKE SA.
 */
bool child_peer_spi_ok(struct ike_sa *sa, const struct ike_proposal *p);
/*
 * Does a live CHILD_SA of sa, not on its way out, have c's mode and
 * selectors?  Then c's policies would collide with its own.
 */
bool child_duplicate(struct ike_sa *sa, const struct ike_child *c);
/* Unlink from the IKE SA that holds it (c->sa), uninstall, free. */
void child_remove(struct ike_child *c);
/*
 * Move the CHILD_SAs of `from` to `to` (an IKE rekey, a collision settled),
 * but for those still CREATING: they stay with the exchange that makes
 * them and follow once it succeeds (child_follow_moves).
 */
void child_hand_over(struct ike_sa *from, struct ike_sa *to);
/* sa, or the live IKE SA its CHILD_SAs moved to (followed through rekeys). */
struct ike_sa *child_home(struct ike_sa *sa);
/* To the IKE SA that took its IKE SA's other CHILD_SAs meanwhile, if any. */
void child_follow_moves(struct ike_child *c);
/* Set the CHILD_SA's selectors, allocated at their number. */
int child_set_ts(struct ike_child *c, const struct xk_ts *local, size_t n_local,
		 const struct xk_ts *remote, size_t n_remote);
/*
 * A new CHILD_SA's configuration, mode and selectors: those of `like`, or
 * of its configuration (c->cfg, set by the caller).
 */
int child_init_like(struct ike_sa *sa, struct ike_child *c, const struct ike_child *like);
/* The configured selectors of cc, defaulting to the SA's addresses. */
size_t child_local_ts(const struct ike_sa *sa, const struct ike_cconf *cc, struct xk_ts *out);
size_t child_remote_ts(const struct ike_sa *sa, const struct ike_cconf *cc, struct xk_ts *out);

/* ---- child_recreate.c: CHILD_SAs that come back ---- */
/*
 * c goes (removed by the caller next, or its DELETE queued) for `why`:
 * note it, and make one again on its IKE SA if the connection says so.
 */
void child_lost(struct ike_child *c, enum ike_child_end why);
/* A CHILD_SA of configuration cfg stands on sa: nothing to make again. */
bool child_recreate_satisfied(const struct ike_sa *sa, uint8_t cfg);
/* recreate_ms is due: queue the CREATE_CHILD_SA (timers.c). */
void child_recreate_run(struct ike_sa *sa);
/* The CREATE_CHILD_SA that made it again ended: done, or try later (back-off). */
void child_recreate_result(struct ike_sa *sa, uint8_t cfg, bool ok);
/* An IKE SA rekey: what was to be made again is made on the new IKE SA. */
void child_recreate_hand_over(struct ike_sa *from, struct ike_sa *to);
/* Same mode and selectors: one's policies would be the other's. */
bool child_same_shape(const struct ike_child *a, const struct ike_child *b);

#endif
