/* SPDX-License-Identifier: ISC */
/*
 * The engine's insides, shared by the files of src/ike (not installed, not
 * for embedders): the IKE SA and CHILD_SA structs, the task interface and
 * the helpers the tasks use.
 */
#ifndef IKE_ENGINE_H
#define IKE_ENGINE_H

#include "ike/crypto.h"
#include "ike/ike.h"
#include "ike/payload.h"

/* RFC 3948 section 4: NAT keepalives every 20 s by default. */
#define IKE_KEEPALIVE_MS 20000

struct ike_conn {
	struct ike_conn *next;
	char name[IKE_NAME_MAX];
	struct xk_addr local, remote;
	struct ike_id local_id, remote_id;
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	struct ike_proposal *ike, *esp;
	size_t n_ike, n_esp;
	struct xk_ts local_ts[IKE_MAX_TS], remote_ts[IKE_MAX_TS];
	size_t n_local_ts, n_remote_ts;
	enum xk_mode mode;
	uint32_t replay_window;
	uint32_t life_time_s;
	uint32_t rekey_time_s, ike_rekey_time_s;
	uint32_t reauth_time_s;
	uint32_t dpd_s, dpd_timeout_s;
	uint32_t reqid;
	bool force_encap;
	unsigned refs; /* SAs using it; freed when deleted and unused */
	bool deleted;
};

enum child_state {
	CHILD_S_CREATING,
	CHILD_S_INSTALLED,
	CHILD_S_DELETING,
	CHILD_S_DELETED,
};

struct ike_child {
	struct ike_child *next;
	struct ike_sa *sa; /* the IKE SA whose list holds it (child_hand_over) */
	/* Installed: hashed by SPI, for the kernel's events (ike_child_index). */
	struct ike_child *in_next, *out_next;
	bool indexed;
	enum child_state state;
	uint32_t spi_in, spi_out; /* host byte order */
	uint32_t reqid;
	enum xk_mode mode;
	struct ike_suite suite;
	/* Negotiated selectors, one allocation owned by local_ts (child_set_ts). */
	struct xk_ts *local_ts, *remote_ts;
	uint8_t n_local_ts, n_remote_ts;
	bool encap;
	bool sa_in, sa_out; /* installed in the kernel */
	uint8_t n_policies;  /* policies installed */
	bool rekeying;       /* our CREATE_CHILD_SA for it is out */
	bool rekeyed;        /* replaced by a completed rekey, delete pending */
	uint64_t retire_ms;  /* retired: removed at this time */
	/*
	 * Section 2.8.1: the peer rekeyed it while we did too.  The CHILD_SA
	 * the peer's exchange made, and the lower nonce of that exchange.
	 */
	struct ike_child *peer_rekey;
	uint8_t *coll_nonce;
	size_t coll_nonce_len;
	/* Rekey responder: the CHILD_SA that replaces this one. */
	struct ike_child *replaced_by;
	/* Rekey responder: the outbound SA waits (keys held) until pending_ms. */
	bool defer_out;
	struct xk_sa *pending_out;
	uint64_t pending_ms;
	uint64_t retry_ms; /* TEMPORARY_FAILURE: rekey again at this time */
};

enum ike_task_result {
	IKE_TASK_DONE,
	IKE_TASK_RETRY, /* initiator: build the request again (same message ID) */
	IKE_TASK_AGAIN, /* initiator: this exchange is over, run the task again */
	IKE_TASK_FAILED,
};

struct ike_task;

struct ike_task_ops {
	const char *name;
	uint8_t exch;
	/*
	 * Initiator: add this task's payloads to the request.  -ECANCELED:
	 * nothing to do any more; -ENOENT: what it concerns moved to the IKE
	 * SA that replaced this one, and the task follows it there.
	 */
	int (*build_i)(struct ike_task *t, struct ike_sa *sa, struct ike_mb *mb);
	/* Initiator: process the response. */
	enum ike_task_result (*process_i)(struct ike_task *t, struct ike_sa *sa,
					  const struct ike_msg *msg);
	void (*destroy)(struct ike_task *t);
	/*
	 * Optional: sa dies with the task unfinished.  What it was doing for
	 * CHILD_SAs that an IKE SA rekey moved on is handed to their new IKE
	 * SA here (ike_sa_kill), not lost with sa.
	 */
	void (*orphan)(struct ike_task *t, struct ike_sa *sa);
};

struct ike_task {
	const struct ike_task_ops *ops;
	struct ike_task *next;
};

/* The request we have out (window size 1) or the response we last sent. */
struct ike_pkt {
	uint8_t *buf;
	size_t len;
};

/*
 * What an IKE SA needs only while it is being set up (IKE_SA_INIT and
 * IKE_AUTH, or the CREATE_CHILD_SA that rekeys it): allocated with the SA,
 * wiped and freed once it is established, so that the many established SAs
 * of a gateway do not carry it.
 */
struct ike_hs {
	struct ike_dh *dh;
	uint16_t dh_group;
	uint16_t ni_len, nr_len;
	uint8_t cookie_len;
	uint8_t init_retries;		    /* COOKIE / INVALID_KE round trips so far */
	struct ike_sa *ho_next, **ho_prev;  /* the engine's half-open list */
	struct ike_pkt init_req, init_resp; /* as sent: signed in AUTH */
	uint8_t cookie[IKEV2_COOKIE_MAX];
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
};

struct ike_sa {
	struct ike_engine *eng;
	struct ike_conn *conn;
	struct ike_sa *h_next;      /* hash by local SPI */
	struct ike_sa *h_peer_next; /* hash by peer SPI (responders) */
	struct ike_sa *id_next;	    /* hash by the peer's identity */
	struct ike_sa *next_all;    /* list of all SAs */
	struct ike_sa **prev_all;
	enum ike_sa_state state;
	bool initiator;
	uint64_t spi_i, spi_r;
	struct xk_addr local, remote;
	struct ike_id *remote_id; /* authenticated; at its own length, see ike_sa_set_remote_id */
	struct ike_suite suite;
	struct ike_keys keys;
	bool keys_ready;

	struct ike_hs *hs; /* until established, then dropped */
	bool nat_local, nat_remote;

	/* Message IDs, section 2.3, window 1. */
	uint32_t mid_next;   /* next request we send */
	uint32_t mid_expect; /* next request we accept */
	struct ike_pkt req;  /* our outstanding request */
	bool req_out;
	uint32_t req_tries;
	uint64_t req_next_ms;
	struct ike_pkt resp; /* last response we sent */
	uint8_t resp_req_hash[16];
	bool resp_cached;

	struct ike_task *tasks;  /* queued initiator tasks; head is active */
	struct ike_child *children;
	uint32_t reqid_next_child;

	uint64_t created_ms, established_ms;
	uint64_t expire_ms;      /* half-open timeout, 0 if none */
	uint64_t timer_ms;       /* the earliest deadline, UINT64_MAX if none */
	size_t heap_idx;
	uint16_t fail_notify;
	bool kill_after_response; /* a DELETE of this SA was answered */
	bool rekeyed;             /* replaced by a rekey: its death is no outage */
	uint64_t reauth_ms;       /* reauthenticate at this time, 0: never */
	uint64_t successor_spi;   /* ... by the IKE SA with this local SPI */
	uint64_t moved_to_spi;    /* the IKE SA its CHILD_SAs went to (child_hand_over) */
	bool rekeying;            /* our CREATE_CHILD_SA rekeying it is out */
	/*
	 * Reauthentication (section 2.8.3), make-before-break: `reauthing` on
	 * the old SA while a new one is made (successor_spi names it), `reauth`
	 * on that new SA until the old one is told to go.
	 */
	bool reauthing : 1;
	bool reauth : 1;
	/*
	 * Section 2.8.2: the peer's new SA (its local SPI: a handle, never a
	 * pointer) and its exchange's lower nonce, until our answer settles it.
	 */
	uint64_t peer_rekey_spi;
	uint8_t *coll_nonce;
	size_t coll_nonce_len;
	uint64_t ike_rekey_ms;    /* rekey the IKE SA at this time, 0: never */
	uint64_t last_rx_ms;      /* last authenticated message from the peer */
	uint64_t dpd_ms;          /* check liveness at this time, 0: off */
	uint64_t dpd_sent_ms;     /* our liveness check has been out since */
	uint64_t keepalive_ms;    /* next NAT keepalive, 0: none */
	uint64_t last_tx_ms;
	bool half_open; /* counted in the engine's half-open figures */
};

/* The SPI this end chose: its key in the engine's tables, and every handle to it. */
static inline uint64_t ike_sa_local_spi(const struct ike_sa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}

/* ---- engine.c ---- */
/* The SA with this local SPI (also for white-box tests). */
struct ike_sa *ike_engine_find_sa(struct ike_engine *e, uint64_t spi);
uint64_t ike_now(struct ike_engine *e);
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

/* ---- ike_sa.c ---- */
/* Into ESTABLISHED: counters, log, event, rekey and liveness timers. */
void ike_sa_established(struct ike_sa *sa, bool by_rekey);
/* Timers of an established SA (IKE rekey, DPD, keepalives). */
bool ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state to);
/* Marks dead, uninstalls children, emits IKE_DOWN if it was up. */
void ike_sa_kill(struct ike_sa *sa, uint16_t notify, const char *reason);
void ike_sa_free(struct ike_sa *sa);
/* Derive the IKE SA keys once DH and nonces are known. */
int ike_sa_derive_keys(struct ike_sa *sa, const uint8_t *gir, size_t girlen);
/* Drop IKE_SA_INIT material no longer needed once authenticated. */
/* Our identity: the connection's, else our IP address (section 3.5). */
void ike_sa_local_id(const struct ike_sa *sa, struct ike_id *id);
/* The peer's authenticated identity; type 0 until IKE_AUTH. */
const struct ike_id *ike_sa_remote_id(const struct ike_sa *sa);
int ike_sa_set_remote_id(struct ike_sa *sa, const struct ike_id *id);
/* Responder between IKE_SA_INIT and IKE_AUTH: counted for cookies (2.6). */
void ike_sa_set_half_open(struct ike_sa *sa, bool on);
void ike_sa_drop_init(struct ike_sa *sa);
void ike_pkt_set(struct ike_pkt *p, const uint8_t *buf, size_t len);
void ike_pkt_free(struct ike_pkt *p);
size_t ike_sa_count_children(const struct ike_sa *sa);

/* ---- reauth.c ---- */
/* Start reauthenticating an established SA (ike_engine_reauth). */
int ike_reauth_start(struct ike_sa *old);
/* sa, new and nothing sent yet, is to replace old.  0 or -ENOMEM. */
int ike_reauth_link(struct ike_sa *sa, struct ike_sa *old);
/* The SA that `sa` reauthenticates, while both live; else NULL. */
struct ike_sa *ike_reauth_old(struct ike_sa *sa);
/* The old SA's CHILD_SA that IKE_AUTH of a reauthentication carries again. */
struct ike_child *ike_reauth_first_child(struct ike_sa *old);
/*
 * The new SA is established: make the old SA's other CHILD_SAs again on
 * it, then delete the old SA.  `carried`: the old CHILD_SA (inbound SPI)
 * IKE_AUTH made again already.
 */
void ike_reauth_established(struct ike_sa *sa, uint32_t carried);
/* The new SA died before the old one was told to go: keep it, retry later. */
void ike_reauth_failed(struct ike_sa *sa, const char *reason);

/* ---- child.c ---- */
bool child_set_state(struct ike_child *c, enum child_state to);
struct ike_child *child_new(struct ike_sa *sa);
void child_fill_info(const struct ike_child *c, struct ike_child_info *info);
/* Our ESP proposals for the wire, with our inbound SPI filled in. */
size_t child_proposals(const struct ike_sa *sa, uint32_t spi_in, bool keep_dh,
		       struct ike_proposal *out, size_t max);
/*
 * Initiator: take the responder's SA and TS for c (2.9: narrowed, never
 * wider than ours) and its mode.  0, or <0 with *why set.
 */
int child_accept_reply(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *msg,
		       bool no_dh, const char **why);
/*
 * Responder: choose an ESP proposal, narrow the selectors, settle the mode.
 * 0, or the notify to refuse with.  *prop_num: the chosen proposal's number.
 */
uint16_t child_negotiate(struct ike_sa *sa, struct ike_child *c, const struct ike_msg *req,
			 bool no_dh, uint16_t ke_group, uint8_t *prop_num);
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
/* Run the CHILD_SA timers of an SA; returns the next deadline. */
void child_uninstall(struct ike_sa *sa, struct ike_child *c);
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
/* A new CHILD_SA's mode and selectors: those of `like`, or the connection's. */
int child_init_like(struct ike_sa *sa, struct ike_child *c, const struct ike_child *like);
/* The configured selectors, defaulting to the SA's addresses. */
size_t child_local_ts(const struct ike_sa *sa, struct xk_ts *out);
size_t child_remote_ts(const struct ike_sa *sa, struct xk_ts *out);

/* ---- tasks ---- */
struct ike_task *task_init_new(void);
struct ike_task *task_auth_new(void);
struct ike_task *task_delete_ike_new(void);
/* The same for ike_engine_terminate: should a rekey replace the SA first, its successor goes too. */
struct ike_task *task_terminate_new(void);
/* retire: the CHILD_SA was replaced; keep its inbound SA a while. */
struct ike_task *task_delete_child_new(uint32_t spi_in, bool retire);
/*
 * A DELETE for a CHILD_SA the peer made but we could not keep (no longer
 * here): spi_in is the inbound SPI we had given it.
 */
struct ike_task *task_delete_gone_new(uint32_t spi_in);
/* CREATE_CHILD_SA: rekey the CHILD_SA with this inbound SPI, or (0) a new one. */
struct ike_task *task_child_new(uint32_t old_spi_in);
/*
 * CREATE_CHILD_SA for a new CHILD_SA like the one with this inbound SPI on
 * the SA that this one reauthenticates (same selectors, mode and reqid).
 */
struct ike_task *task_child_copy_new(uint32_t src_spi_in);
struct ike_task *task_liveness_new(void);
struct ike_task *task_ike_rekey_new(void);
/*
 * An IKE SA dies: if it is the peer's SA of a collision we have not
 * settled, its CHILD_SAs go back to the SA both rekeyed (ike_sa_kill).
 */
void ike_rekey_sa_gone(struct ike_sa *gone);
/* Responder: a CREATE_CHILD_SA whose SA payload proposes an IKE SA. */
int task_ike_rekey_respond(struct ike_sa *sa, const struct ike_msg *req,
			   struct ike_mb *mb, uint16_t *notify);

/* Responder entry points: build the response for one request. */
void task_init_respond(struct ike_engine *e, const struct ike_msg *msg,
		       const struct xk_addr *local, const struct xk_addr *remote);
/* 0: response built; <0: send an error notify `*notify` (0: drop). */
int task_auth_respond(struct ike_sa *sa, const struct ike_msg *req,
		      struct ike_mb *mb, uint16_t *notify);
int task_info_respond(struct ike_sa *sa, const struct ike_msg *req,
		      struct ike_mb *mb, uint16_t *notify);
int task_child_respond(struct ike_sa *sa, const struct ike_msg *req,
		       struct ike_mb *mb, uint16_t *notify);

/* NAT detection hashes, section 2.23. */
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct xk_addr *a,
		  uint8_t out[20]);
/* AUTH payload for PSK, section 2.15; `initiator` says whose octets. */
int ike_psk_auth(const struct ike_sa *sa, bool initiator, const uint8_t *id_body,
		 size_t id_len, uint8_t *out, size_t *outlen);

#endif
