/* SPDX-License-Identifier: ISC */
/*
 * The IKE SA and what hangs off it: connections, CHILD_SAs, the task
 * interface (an exchange as a task), and the IKE SA's own functions
 * (ike_sa.c).  Not installed, not for embedders (they read ike.h).
 */
#ifndef XK_IKE_IKE_SA_H
#define XK_IKE_IKE_SA_H

#include "ike/crypto.h"
#include "ike/ike.h"
#include "ike/ocsp.h"
#include "ike/payload.h"

/* RFC 3948 section 4: NAT keepalives every 20 s by default. */
#define IKE_KEEPALIVE_MS 20000

/* One CHILD_SA configuration of a connection (ike_child_cfg, copied). */
struct ike_cconf {
	char name[IKE_NAME_MAX];
	struct ike_proposal *esp;
	size_t n_esp;
	struct xk_ts local_ts[IKE_MAX_TS], remote_ts[IKE_MAX_TS];
	size_t n_local_ts, n_remote_ts;
	enum xk_mode mode;
	uint32_t replay_window;
	uint32_t life_time_s, rekey_time_s;
	uint32_t reqid;
	struct xk_tag tag_in, tag_out;
	bool recreate_closed, recreate_lost;
	bool start;
};

struct ike_conn {
	struct ike_conn *next;
	char name[IKE_NAME_MAX];
	struct xk_addr local, remote;
	struct ike_id local_id, remote_id;
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	enum ike_auth_method local_auth, remote_auth;
	const struct ike_cred *cred;   /* a reference, dropped in conn_free */
	const struct ike_trust *trust; /* a reference, dropped in conn_free */
	enum ike_send_cert send_cert;
	enum ike_revocation_policy revocation;
	bool ocsp_uri; /* an OCSP responder is configured (ike_trust_revocation) */
	struct ike_proposal *ike;
	size_t n_ike;
	/* Its CHILD_SA configurations, at least one. */
	struct ike_cconf *child;
	size_t n_child;
	uint32_t ike_rekey_time_s;
	uint32_t reauth_time_s;
	uint32_t dpd_s, dpd_timeout_s;
	bool force_encap;
	bool fragmentation;
	uint16_t fragment_size;
	unsigned refs; /* SAs using it; freed when deleted and unused */
	bool deleted;
};

enum child_state {
	CHILD_S_CREATING,
	CHILD_S_INSTALLED,
	CHILD_S_DELETING,
	CHILD_S_DELETED,
};

/*
 * A CHILD_SA's succession (rekeys, sections 1.3.3 and 2.8), beside its
 * state; changed only by child_set_succ(), along the table in child.c.
 */
enum child_succ {
	CHILD_SUCC_NONE,
	CHILD_SUCC_REKEYING, /* our CREATE_CHILD_SA rekeying it is out */
	/*
	 * ... and we answered the peer's rekey of it too (peer_rekey, section
	 * 2.8.1): our answer settles which new CHILD_SA stays.
	 */
	CHILD_SUCC_COLLIDED,
	CHILD_SUCC_REPLACED, /* replaced by a completed rekey; its DELETE is pending */
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
	enum child_succ succ;
	uint64_t retire_ms;  /* retired: removed at this time */
	/*
	 * COLLIDED: the CHILD_SA the peer's exchange made, and the lower nonce
	 * of that exchange.  Kept here, not in our rekey task: an IKE SA rekey
	 * may have moved this CHILD_SA (and the peer's request found it) on
	 * another IKE SA than the one our task runs on.
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
	/* CREATING: an SPI the peer deleted meanwhile (its DELETE overtook its answer). */
	uint32_t peer_deleted;
	enum ike_child_end end; /* why it goes (child_lost) */
	/*
	 * Its CHILD_SA configuration: an index into the IKE SA's conn->child
	 * (child_cfg() bounds it), kept as an index since the CHILD_SA may move
	 * to an IKE SA of a reloaded connection of the same name.
	 */
	uint8_t cfg;
};

enum ike_task_result {
	IKE_TASK_DONE,
	IKE_TASK_RETRY, /* initiator: build the request again (same message ID) */
	IKE_TASK_AGAIN, /* initiator: this exchange is over, run the task again */
	IKE_TASK_FAILED,
	/*
	 * Initiator: no answer to act on (unauthenticated, and not what a
	 * responder would send); the request stays out and is resent as
	 * before (section 2.21.1).
	 */
	IKE_TASK_IGNORE,
	/*
	 * Initiator: the response needs work done elsewhere (sa->work); the
	 * request stays out, and the task's result comes with the work.
	 */
	IKE_TASK_PENDING,
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
	/* The peer's SIGNATURE_HASH_ALGORITHMS (RFC 7427 section 4), 0 if none. */
	uint32_t peer_hashes;
	/* Initiator: the responder's IKE_SA_INIT carried a CERTREQ for X.509. */
	bool certreq_seen;
	uint16_t dh_group;
	uint8_t prop_num; /* responder: the number of the proposal chosen */
	uint16_t ni_len, nr_len;
	uint8_t cookie_len;
	uint8_t init_retries;		    /* COOKIE / INVALID_KE round trips so far */
	/*
	 * An error notify answered our IKE_SA_INIT (unauthenticated): which,
	 * and at which of its transmissions (2.21.1: not acted on at once).
	 */
	uint16_t init_error;
	uint32_t init_error_tries;
	struct xk_addr ho_addr; /* the address it is counted under while half-open */
	struct ike_sa *ho_next, **ho_prev;  /* the engine's half-open list */
	struct ike_pkt init_req, init_resp; /* as sent: signed in AUTH */
	/*
	 * The OCSP answer about the peer's certificate (IKE_WORK_OCSP), once
	 * back: IKE_AUTH is processed again with it (auth.c).
	 */
	bool ocsp_known;
	enum ike_revocation_outcome ocsp_outcome;
	/*
	 * What the signature works of IKE_AUTH (IKE_WORK_VERIFY/SIGN) gave,
	 * once back: the message is processed, or our request built, again
	 * with it (auth.c).  NULL until then.
	 */
	struct auth_kept *auth_kept;
	uint8_t cookie[IKEV2_COOKIE_MAX];
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
};

/*
 * Where an IKE SA stands in its succession (rekeys, section 2.8, and
 * reauthentication, 2.8.3), beside its state.  Changed only by
 * ike_sa_set_succ(), along the table in ike_sa.c.
 */
enum ike_succ {
	IKE_SUCC_NONE,       /* an IKE SA in its own right */
	IKE_SUCC_REKEYING,   /* our CREATE_CHILD_SA rekeying it is out */
	/*
	 * ... and we answered the peer's rekey of it too (2.8.2): our answer
	 * settles which new SA stays (the collision is the rekey task's).
	 */
	IKE_SUCC_COLLIDED,
	IKE_SUCC_REAUTHING,  /* a new IKE SA (successor_spi) is made to replace it */
	IKE_SUCC_REAUTH_NEW, /* the new SA of a reauthentication, until the old one is told to go */
	IKE_SUCC_REPLACED,   /* replaced, or never to be: its end is no outage */
};

const char *ike_succ_name(enum ike_succ s);

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
	enum ike_succ succ;       /* see ike_sa_set_succ() */
	uint64_t reauth_ms;       /* reauthenticate at this time, 0: never */
	/* REAUTHING or REPLACED: the IKE SA that replaces it (local SPI, a handle). */
	uint64_t successor_spi;
	uint64_t moved_to_spi;    /* the IKE SA its CHILD_SAs went to (child_hand_over) */
	uint64_t ike_rekey_ms;    /* rekey the IKE SA at this time, 0: never */
	uint64_t last_rx_ms;      /* last authenticated message from the peer */
	uint64_t dpd_ms;          /* check liveness at this time, 0: off */
	uint64_t dpd_sent_ms;     /* our liveness check has been out since */
	uint64_t keepalive_ms;    /* next NAT keepalive, 0: none */
	uint64_t last_tx_ms;
	bool half_open; /* counted in the engine's half-open figures */
	/* RFC 7383: both ends announced fragmentation in IKE_SA_INIT. */
	bool frag;
	/* Reassembly of the peer's request [0] and of its response [1] (frag.c). */
	struct ike_frag_rx *frx[2];
	/*
	 * The pending operation the SA waits for (work.h), NULL if none; it
	 * names the SA back, and ike_sa_kill cuts both ties.
	 */
	struct ike_work *work;
	/*
	 * While ike_engine_complete resumes the SA's request with a finished
	 * work, that work (for the continuation to take its results); NULL
	 * otherwise.
	 */
	const struct ike_work *resumed;
	/*
	 * A lost CHILD_SA to make again (child_recreate.c): at recreate_ms (0:
	 * none due), the attempts so far and the wait before the next.
	 */
	uint64_t recreate_ms;
	uint32_t recreate_wait_ms;
	uint8_t recreate_tries;
	/* The CHILD_SA configurations (bit i: conn->child[i]) to make again. */
	uint32_t recreate_want;
	/*
	 * Initiator: the CHILD_SA configuration IKE_AUTH negotiates, and
	 * whether the others that start follow it with CREATE_CHILD_SA.
	 */
	uint8_t auth_cfg;
	bool start_others;
	/* Initiator: no CHILD_SA configuration starts (IKE_AUTH childless if it may be). */
	bool auth_none;
	/* RFC 6023: both ends announced CHILDLESS_IKEV2_SUPPORTED in IKE_SA_INIT. */
	bool childless;
};

/* ---- frag.c: RFC 7383 ---- */
/*
 * Seal the message built in mb (its SK payload begun) into out: one
 * message, or, when fragmentation was negotiated and the datagram would
 * exceed the connection's fragment size, SKF fragments one after another
 * (each a whole IKE message; ike_pkt_send() walks them).  0 or -errno.
 */
int ike_sa_seal(struct ike_sa *sa, struct ike_mb *mb, struct ike_pkt *out);
/* Send every message of p (one, or the fragments) from sa's addresses or the given ones. */
void ike_pkt_send(struct ike_sa *sa, const struct ike_pkt *p, const struct xk_addr *local,
		  const struct xk_addr *remote);
/*
 * An SKF fragment of the message expected (response: true if it answers our
 * request).  copy is the caller's copy of msg->raw, decrypted in place.
 * Returns 1 when msg now holds the whole inner chain (reassembled), 0 when
 * the fragment was kept and more are due, -EBADMSG when it was dropped
 * (counted), another -errno when the reassembled message is malformed.
 */
int ike_frag_input(struct ike_sa *sa, struct ike_msg *msg, uint8_t *copy, bool response);
/* The completed message has been handled: free what held it. */
void ike_frag_release(struct ike_sa *sa);
void ike_frag_free(struct ike_sa *sa);

/* The SPI this end chose: its key in the engine's tables, and every handle to it. */
static inline uint64_t ike_sa_local_spi(const struct ike_sa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}


/* Into ESTABLISHED: counters, log, event, rekey and liveness timers. */
void ike_sa_established(struct ike_sa *sa, bool by_rekey);
/* Timers of an established SA (IKE rekey, DPD, keepalives). */
bool ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state to);
/* The one place the succession changes; false (and logged) if the table forbids it. */
bool ike_sa_set_succ(struct ike_sa *sa, enum ike_succ to);
/* Our rekey of it is out (collided with the peer's or not). */
static inline bool ike_sa_rekeying(const struct ike_sa *sa)
{
	return sa->succ == IKE_SUCC_REKEYING || sa->succ == IKE_SUCC_COLLIDED;
}
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

/* NAT detection hashes, section 2.23. */
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct xk_addr *a,
		  uint8_t out[20]);
/*
 * The octets AUTH covers, section 2.15: the side's IKE_SA_INIT message,
 * the other side's nonce, prf(SK_p, ID body).  Malloc'd into *out: free
 * it with xk_free_secret(*out, *outlen).
 */
int ike_auth_octets(const struct ike_sa *sa, bool initiator, const uint8_t *id_body,
		    size_t id_len, uint8_t **out, size_t *outlen);
/* AUTH payload for PSK, section 2.15; `initiator` says whose octets. */
int ike_psk_auth(const struct ike_sa *sa, bool initiator, const uint8_t *id_body,
		 size_t id_len, uint8_t *out, size_t *outlen);

#endif
