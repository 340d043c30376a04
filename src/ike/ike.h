/* SPDX-License-Identifier: ISC */
/*
 * libxk-ike: an embeddable, sans-I/O IKEv2 engine (RFC 7296).
 *
 * The engine never touches a socket, a clock or the kernel.  The embedder
 *  - feeds it datagrams:        ike_engine_input()
 *  - feeds it time:             ike_engine_tick() when ike_engine_next_timeout()
 *                               is reached (both in the clock of ops->now_ms)
 *  - and supplies ops through which it sends datagrams (ops->send), installs
 *    CHILD_SAs and policies (ops->kernel) and reports events (ops->event).
 * Everything runs on the caller's thread; calls are not reentrant, and ops
 * must not call back into the engine.
 *
 * A minimal responder:
 *
 *	struct ike_engine *e = ike_engine_new(&cfg, &ops);
 *	ike_engine_add_conn(e, &conn);
 *	for (;;) {
 *		wait for a datagram or until ike_engine_next_timeout(e);
 *		ike_engine_input(e, &local, &remote, buf, len);
 *		ike_engine_tick(e);
 *	}
 *
 * An initiator calls ike_engine_initiate(e, "conn-name", &spi) and then runs the
 * same loop.
 */
#ifndef IKE_IKE_H
#define IKE_IKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"
#include "ike/proposal.h"

struct ike_engine;
struct ike_sa;
struct ike_work;

/* ---- identities (RFC 7296 section 3.5) ---- */

struct ike_id {
	uint8_t type; /* IKEV2_ID_*, 0 = unset (any, or our address) */
	uint8_t len;
	uint8_t data[255];
};

/*
 * "192.0.2.1" / "2001:db8::1" -> ID_IPV4_ADDR / ID_IPV6_ADDR;
 * "user@example.org" -> ID_RFC822_ADDR; "@example.org" or "example.org"
 * -> ID_FQDN (the '@' is dropped); "@#0a1b.." -> ID_KEY_ID (hex).
 */
int ike_id_parse(const char *s, struct ike_id *out);
const char *ike_id_str(const struct ike_id *id, char *buf, size_t len);
bool ike_id_eq(const struct ike_id *a, const struct ike_id *b);

/* ---- configuration ---- */

#define IKE_MAX_TS 8
#define IKE_NAME_MAX 64
#define IKE_PSK_MAX 256

struct ike_cred;  /* ike/cert.h */
struct ike_trust; /* ike/cert.h */

/* How one side proves its identity in IKE_AUTH (RFC 7296 section 2.15). */
enum ike_auth_method {
	IKE_AUTH_PSK,    /* the pre-shared key (method 2) */
	IKE_AUTH_PUBKEY, /* a signature with a certificate's key (methods 14, 9-11, 1) */
};

/*
 * When we send our certificate (and its intermediates) in CERT payloads.
 * The default is ALWAYS: the engine has no way to be given a peer's
 * certificate in advance, and neither have most peers, so a peer that did
 * not send a CERTREQ (or named a root above our intermediates) could
 * otherwise not verify us at all; the cost is a larger IKE_AUTH.
 */
enum ike_send_cert {
	IKE_SEND_CERT_ALWAYS,
	IKE_SEND_CERT_IFASKED, /* only when the peer sent a CERTREQ for X.509 */
	IKE_SEND_CERT_NEVER,
};

/*
 * What to do when the revocation status of the peer's certificate is not
 * known, with strongSwan's meaning of the words (a connection's
 * `revocation` key):
 *   strict   the status must be known and good;
 *   ifuri    it must be known when a revocation source exists for the
 *            certificate (a CRL or an OCSP responder: configured, or named
 *            in the certificate's CRL distribution points or AIA);
 *   relaxed  only a known revocation refuses it (the default: a CA
 *            without a CRL is not checked).
 * Rules and sources: ike/ocsp.h.
 */
enum ike_revocation_policy {
	IKE_REVOCATION_RELAXED,
	IKE_REVOCATION_IFURI,
	IKE_REVOCATION_STRICT,
};

/*
 * One CHILD_SA configuration of a connection: what its CHILD_SAs are made
 * of.  A connection has one (the fields of ike_conn_cfg of the same names)
 * or several (ike_conn_cfg.children); each CHILD_SA of an IKE SA remembers
 * the one it was made from, and is rekeyed and made again by it.
 */
struct ike_child_cfg {
	const char *name;       /* NULL or "": the connection's name */
	const struct ike_proposal *esp;
	size_t n_esp;
	struct xk_ts local_ts[IKE_MAX_TS];
	size_t n_local_ts;      /* 0: our address */
	struct xk_ts remote_ts[IKE_MAX_TS];
	size_t n_remote_ts;     /* 0: the peer's address */
	enum xk_mode mode;
	uint32_t replay_window; /* packets; 0: the default (32) */
	uint32_t life_time_s;   /* hard lifetime, 0: none */
	uint32_t rekey_time_s;  /* rekey (soft lifetime, jittered), 0: none */
	uint32_t reqid;         /* 0: allocate */
	struct xk_tag tag_in, tag_out;
	bool recreate_closed, recreate_lost;
	/*
	 * Negotiated when ike_engine_initiate() brings the IKE SA up: the
	 * first such in IKE_AUTH, the others with CREATE_CHILD_SA after it.
	 */
	bool start;
};

/* CHILD_SA configurations a connection may have. */
#define IKE_MAX_CHILD_CFG 32

struct ike_conn_cfg {
	const char *name;
	struct xk_addr local;   /* family 0: any local address */
	struct xk_addr remote;  /* family 0: any peer (responder only) */
	struct ike_id local_id; /* type 0: our address */
	struct ike_id remote_id; /* type 0: accept any identity */
	/*
	 * Authentication: ours (local_auth) and the peer's (remote_auth) may
	 * differ.  PSK needs psk; PUBKEY needs cred (ours) or trust (the CAs
	 * that may have issued the peer's certificate).  The engine takes a
	 * reference to cred and trust (ike_cred_hold, ike_trust_hold) and
	 * drops it when the connection is freed, which ike_engine_del_conn
	 * puts off until its last SA is gone: the embedder may free its own
	 * references at any time.  They must not change while held.
	 */
	enum ike_auth_method local_auth, remote_auth;
	const uint8_t *psk;
	size_t psk_len;
	const struct ike_cred *cred;   /* local_auth PUBKEY: our key and chain */
	const struct ike_trust *trust; /* remote_auth PUBKEY: CAs and CRLs */
	enum ike_send_cert send_cert;
	/* remote_auth PUBKEY: the revocation policy; ocsp_uri: an OCSP
	 * responder is configured for the peer's certificates. */
	enum ike_revocation_policy revocation;
	bool ocsp_uri;
	const struct ike_proposal *ike;
	size_t n_ike;
	const struct ike_proposal *esp;
	size_t n_esp;
	struct xk_ts local_ts[IKE_MAX_TS];
	size_t n_local_ts;      /* 0: our address */
	struct xk_ts remote_ts[IKE_MAX_TS];
	size_t n_remote_ts;     /* 0: the peer's address */
	enum xk_mode mode;
	uint32_t replay_window; /* packets; 0: the default (32) */
	uint32_t life_time_s;   /* CHILD_SA hard lifetime, 0: none */
	uint32_t rekey_time_s;  /* CHILD_SA rekey (soft lifetime, jittered), 0: none */
	uint32_t ike_rekey_time_s; /* IKE SA rekey, 0: none */
	uint32_t reauth_time_s; /* IKE SA reauthentication (initiator), 0: none */
	uint32_t dpd_s;         /* liveness check after this much silence, 0: off */
	uint32_t dpd_timeout_s; /* peer dead if unanswered this long (0: retransmits) */
	uint32_t reqid;         /* CHILD_SAs use this reqid (trap policies); 0: allocate */
	bool force_encap;       /* UDP-encapsulate ESP even without a NAT */
	/*
	 * IKE fragmentation (RFC 7383): announce and accept it; once both
	 * ends did, messages after IKE_SA_INIT whose datagram would exceed
	 * fragment_size go out as SKF fragments.  Off: SKF is dropped.
	 */
	bool fragmentation;
	uint16_t fragment_size; /* IP datagram bytes of a fragment; 0: IKE_FRAG_SIZE_DEFAULT */
	/*
	 * Route-based tunnels: tag_in goes on the inbound SA and the in and
	 * fwd policies, tag_out on the outbound SA and the out policy.
	 */
	struct xk_tag tag_in, tag_out;
	/*
	 * A CHILD_SA that goes while its IKE SA lives is made again with
	 * CREATE_CHILD_SA (child_recreate.c: at once, then after 1 s doubling
	 * to 32 s, at most IKE_RECREATE_TRIES attempts in a row): after the
	 * peer's DELETE of it (recreate_closed), or after its hard lifetime
	 * or a rekey the peer answered with CHILD_SA_NOT_FOUND (recreate_lost).
	 */
	bool recreate_closed, recreate_lost;
	/*
	 * Several CHILD_SA configurations (at most IKE_MAX_CHILD_CFG, names
	 * unique): then the CHILD_SA fields above (esp to tag_out, the
	 * recreate flags) are not used.  n_children 0: the connection has
	 * one, made of those fields and named as the connection, which
	 * ike_engine_initiate() starts.  The engine copies them.
	 */
	const struct ike_child_cfg *children;
	size_t n_children;
};

/* Attempts to make a lost CHILD_SA again before giving up (IKE_EV_FAILED). */
#define IKE_RECREATE_TRIES 8

/* RFC 7383 section 2.5.1: an IPv6 path carries 1280 bytes; most IPv4 paths do too. */
#define IKE_FRAG_SIZE_DEFAULT 1280
/* The smallest datagram every IPv4 host must take (RFC 791): the daemon's lower bound. */
#define IKE_FRAG_SIZE_MIN 576
/* The engine's: headers, IV and ICV leave room for data (tests use tiny fragments). */
#define IKE_FRAG_SIZE_FLOOR 160

struct ike_engine_cfg {
	uint16_t nat_port;              /* 4500: where NAT-T floats to */
	uint32_t retransmit_timeout_ms; /* 4000 */
	double retransmit_base;         /* 1.8 */
	uint32_t retransmit_tries;      /* 5 */
	uint32_t half_open_timeout_ms;  /* 30000: responder waiting for IKE_AUTH */
	uint32_t cookie_threshold;      /* 30 half-open SAs in all ... */
	uint32_t cookie_threshold_ip;   /* ... or 3 from one address */
	uint32_t cookie_lifetime_ms;    /* 60000: secret rotation period */
	/*
	 * Bounded state for responders: beyond these an IKE_SA_INIT makes
	 * nothing and is dropped (0: no limit).
	 */
	uint32_t half_open_max;         /* 5000 half-open SAs in all ... */
	uint32_t half_open_max_ip;      /* ... 100 from one address */
	uint32_t init_max_len;          /* 8192: the largest IKE_SA_INIT request kept */
	uint32_t reqid_base;            /* first reqid handed out (ownership) */
	uint32_t keepalive_ms;          /* 20000: NAT keepalives from behind a NAT, 0: off */
	/*
	 * Do not announce childless IKE SAs (RFC 6023), as a peer without
	 * them would not: IKE_AUTH then always carries a CHILD_SA.
	 */
	bool no_childless;
};

/* Fills the defaults above. */
void ike_engine_cfg_defaults(struct ike_engine_cfg *cfg);

enum ike_event_type {
	IKE_EV_IKE_UP,
	IKE_EV_IKE_DOWN,
	IKE_EV_CHILD_UP,
	IKE_EV_CHILD_DOWN,
	IKE_EV_AUTH_FAILED,
	IKE_EV_FAILED, /* negotiation failed; `notify` says why if known */
	IKE_EV_IKE_REKEYED, /* a new IKE SA replaced the old one (spi_i/spi_r: new) */
	IKE_EV_CHILD_REKEYED,
	IKE_EV_PEER_DEAD, /* liveness checks went unanswered; the SA is gone */
	/*
	 * A new IKE SA, from a fresh IKE_SA_INIT + IKE_AUTH, replaces an
	 * established one (spi_i/spi_r: new; reason names the old SPIs).
	 */
	IKE_EV_IKE_REAUTHENTICATED,
};

struct ike_child_info;

struct ike_event {
	enum ike_event_type type;
	const char *conn;
	bool initiator;
	uint64_t spi_i, spi_r;
	uint32_t child_spi_in, child_spi_out;
	const struct xk_addr *local, *remote;
	const struct ike_child_info *child; /* CHILD_UP / CHILD_DOWN */
	uint16_t notify; /* IKEV2_N_* that ended it, 0 if none */
	const char *reason;
};

/* The kinds of pending operations (ops.submit; see below). */
enum ike_work_kind {
	IKE_WORK_DH,     /* key generation and/or derivation (KE, then g^ir and SKEYSEED) */
	IKE_WORK_SIGN,   /* an AUTH signature with our private key */
	IKE_WORK_VERIFY, /* the check of the peer's AUTH signature and chain */
	IKE_WORK_OCSP,   /* an OCSP request to be answered (ike/ocsp.h: ike_work_ocsp_*) */
	IKE_WORK_KINDS,
};

struct ike_ops {
	void *ctx;
	/* Send one datagram from local to remote (addresses with ports). */
	void (*send)(void *ctx, const struct xk_addr *local,
		     const struct xk_addr *remote, const uint8_t *buf, size_t len);
	/* Monotonic milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* Optional. */
	void (*event)(void *ctx, const struct ike_event *ev);
	/*
	 * Optional: the source address the system would use towards remote,
	 * for connections without a local address.  0 or a negative errno.
	 */
	int (*source)(void *ctx, const struct xk_addr *remote, struct xk_addr *local);
	/*
	 * Optional: send a NAT keepalive (RFC 3948 section 2.3: one octet 0xff,
	 * no non-ESP marker) from local to remote.
	 */
	void (*keepalive)(void *ctx, const struct xk_addr *local, const struct xk_addr *remote);
	/*
	 * Optional, for tests: where nonces come from (default: the system's
	 * CSPRNG through OpenSSL).  0 or a negative errno.
	 */
	int (*nonce)(void *ctx, void *buf, size_t len);
	/*
	 * Optional: wall-clock time (seconds since the epoch) against which
	 * certificates and CRLs are checked (default: time(NULL)).
	 */
	int64_t (*wall_time)(void *ctx);
	const struct xk_kernel_ops *kernel;
	void *kernel_ctx;
	/*
	 * Optional: hand out a piece of work (a key exchange, a signature)
	 * to be done elsewhere, e.g. on a worker thread.  The embedder calls
	 * ike_work_run(w) on any thread, then ike_engine_complete(e, w) on
	 * the engine's thread; the exchange waits in between.  Without this
	 * op the engine does the work inline, as if both were called at once.
	 */
	void (*submit)(void *ctx, struct ike_work *w);
	/*
	 * Optional, with submit: does submit take works of this kind?  NULL:
	 * every kind.  A kind it does not take is done inline; IKE_WORK_OCSP
	 * done inline has no answer (the status is unknown to the policy).
	 */
	bool (*submit_takes)(void *ctx, enum ike_work_kind kind);
};

struct ike_engine *ike_engine_new(const struct ike_engine_cfg *cfg,
				  const struct ike_ops *ops);
/*
 * Deletes every SA (uninstalling its CHILD_SAs) without notifying peers.
 * Work handed out through ops->submit and not yet completed is detached:
 * it must not be given to ike_engine_complete() any more; the embedder
 * releases each with ike_work_free() once no ike_work_run() on it is
 * still running.
 */
void ike_engine_free(struct ike_engine *e);

/* ---- pending operations (ops->submit) ---- */

/*
 * A piece of work the engine waits for.  Opaque; it owns copies of its
 * inputs (the peer's public value, our private key, the octets to sign
 * and a reference to the key), never a pointer into the engine, so an
 * SA that dies meanwhile only marks it as unwanted.
 */
struct ike_work;


enum ike_work_kind ike_work_kind(const struct ike_work *w);
const char *ike_work_kind_name(enum ike_work_kind k);
/*
 * Do the work's computation.  Safe on any thread, for different works at
 * once: it touches only what the work owns.  Called exactly once per work.
 */
void ike_work_run(struct ike_work *w);
/*
 * On the engine's thread, after ike_work_run(w) returned: continue the
 * exchange that waited for it (or drop the result if its SA died
 * meanwhile), and free w.  Works may be completed in any order.
 */
void ike_engine_complete(struct ike_engine *e, struct ike_work *w);
/*
 * Give up on a work instead (run or not), e.g. at shutdown: its SA, if
 * any, waits on and times out as with a lost datagram.  On the engine's
 * thread (or after ike_engine_free), never while ike_work_run runs on it.
 */
void ike_work_free(struct ike_work *w);

/* Copies cfg.  -EEXIST if the name is taken, -EINVAL if incomplete. */
int ike_engine_add_conn(struct ike_engine *e, const struct ike_conn_cfg *cfg);
int ike_engine_del_conn(struct ike_engine *e, const char *name);

/* One received datagram, with the addresses it was sent from and to. */
void ike_engine_input(struct ike_engine *e, const struct xk_addr *local,
		      const struct xk_addr *remote, const uint8_t *buf, size_t len);
/* Absolute time (now_ms clock) of the next timer, UINT64_MAX if none. */
uint64_t ike_engine_next_timeout(struct ike_engine *e);
/* Run every timer that is due. */
void ike_engine_tick(struct ike_engine *e);

/* Start IKE_SA_INIT + IKE_AUTH for a connection.  0 or -ENOENT. */
int ike_engine_initiate(struct ike_engine *e, const char *conn, uint64_t *spi_out);
/*
 * Send a DELETE for the IKE SA (and so its CHILD_SAs) and drop it; if an
 * IKE SA rekey replaces it first, the new SA goes as well.  -EBUSY for the
 * SA such a rekey is still making (terminate the one it rekeys).
 */
int ike_engine_terminate(struct ike_engine *e, uint64_t local_spi);
/* Send a DELETE for one CHILD_SA, named by its inbound SPI. */
int ike_engine_delete_child(struct ike_engine *e, uint64_t local_spi, uint32_t spi_in);
/* Send an empty INFORMATIONAL request (liveness check, section 1.4). */
int ike_engine_liveness(struct ike_engine *e, uint64_t local_spi);
/*
 * A further CHILD_SA for the SA's connection (CREATE_CHILD_SA, 1.3.1), of
 * its first CHILD_SA configuration.
 */
int ike_engine_create_child(struct ike_engine *e, uint64_t local_spi);
/*
 * The same of the CHILD_SA configuration named child (NULL: the first).
 * -ENOENT: no such SA or configuration.
 */
int ike_engine_create_child_cfg(struct ike_engine *e, uint64_t local_spi, const char *child);
/*
 * Start IKE_SA_INIT + IKE_AUTH with the CHILD_SA configuration named child
 * in IKE_AUTH (e.g. a trap policy's ACQUIRE), the connection's other ones
 * with start after it.  0, -ENOENT (no such connection or child).
 */
int ike_engine_initiate_child(struct ike_engine *e, const char *conn, const char *child,
			      uint64_t *spi_out);
/* Rekey the IKE SA with CREATE_CHILD_SA (its CHILD_SAs move along). */
int ike_engine_rekey_ike(struct ike_engine *e, uint64_t local_spi);
/*
 * Reauthenticate the IKE SA (section 2.8.3), make-before-break: a new
 * IKE_SA_INIT + IKE_AUTH to the same peer, its CHILD_SAs made again on the
 * new SA (same selectors and reqids, the policies stay), then the old SA is
 * deleted.  -EALREADY if a rekey or reauthentication is under way,
 * -EDESTADDRREQ if the connection has no remote address.
 */
int ike_engine_reauth(struct ike_engine *e, uint64_t local_spi);
/* Rekey one CHILD_SA (by its inbound SPI) with CREATE_CHILD_SA. */
int ike_engine_rekey_child(struct ike_engine *e, uint64_t local_spi, uint32_t spi_in);
/*
 * The backend says an SA reached a lifetime (e.g. XFRM_MSG_EXPIRE): soft
 * starts a rekey of its CHILD_SA, hard deletes it.  The SA is named by its
 * SPI and destination, inbound or outbound; found through a hash of the
 * installed CHILD_SAs' SPIs.  -ENOENT if no installed CHILD_SA has it: not
 * ours, or the larval SA of one still being negotiated, which the kernel
 * removes on its own while the exchange goes on.
 */
int ike_engine_expire(struct ike_engine *e, const struct xk_sa_id *id, bool hard);
/*
 * The backend saw authenticated ESP on the inbound SA `id` from a new
 * address or port (XFRM_MSG_MAPPING): the peer's NAT mapping changed.
 * The IKE SA and all its CHILD_SAs move to `peer`.  Only for SAs behind a
 * NAT (section 2.23).  -ENOENT if not ours.
 */
int ike_engine_peer_moved(struct ike_engine *e, const struct xk_sa_id *id,
			  const struct xk_addr *peer);

/*
 * What the backend holds of ours, read back after it lost events (an
 * overrun of its event socket): its keyed SAs and its policies in our reqid
 * range.  Larval SAs (SPIs reserved by alloc_spi) stay out: the exchanges
 * that reserved them go on, and the kernel removes them itself.  `ours` is
 * filled in by ike_engine_kernel_sync().
 */
struct ike_kernel_sa {
	struct xk_sa_id id;
	bool soft_due; /* its soft lifetime has passed */
	bool ours;     /* out: a CHILD_SA holds it */
};

struct ike_kernel_pol {
	struct xk_policy pol; /* selectors, direction and reqid are compared */
	bool ours;            /* out: a CHILD_SA holds it */
};

struct ike_kernel_view {
	struct ike_kernel_sa *sas; /* reordered by the call */
	size_t n_sas;
	struct ike_kernel_pol *pols; /* reordered by the call */
	size_t n_pols;
};

struct ike_sync_result {
	uint32_t gone;     /* CHILD_SAs with an SA missing: handled as on a hard expiry */
	uint32_t due;      /* CHILD_SAs past their soft lifetime: rekeyed */
	uint32_t restored; /* missing policies installed again */
};

/*
 * Reconcile the CHILD_SAs with what the backend holds, as the lost events
 * would have: a CHILD_SA one of whose SAs is missing is handled as on a
 * hard expiry (a DELETE to the peer, then forgotten), one whose SA's soft
 * lifetime passed as on a soft expiry (a rekey), and a missing policy of
 * one is installed again.  Every SA and policy of the view that a CHILD_SA
 * holds gets `ours` set; the rest belong to nothing in the engine, and the
 * caller may remove them (trap policies are the caller's own).  0, or
 * -ENOMEM with nothing done and nothing marked: then remove nothing.
 */
int ike_engine_kernel_sync(struct ike_engine *e, struct ike_kernel_view *kv,
			   struct ike_sync_result *res);

enum ike_sa_state {
	IKE_S_NEW,        /* created, nothing sent yet */
	IKE_S_INIT_SENT,  /* initiator: IKE_SA_INIT request out */
	IKE_S_INIT_DONE,  /* responder: IKE_SA_INIT answered, waiting for IKE_AUTH */
	IKE_S_AUTH_SENT,  /* initiator: IKE_AUTH request out */
	IKE_S_ESTABLISHED,
	IKE_S_DELETING,   /* our DELETE is out */
	IKE_S_DEAD,       /* gone; freed at the next opportunity */
};

const char *ike_sa_state_name(enum ike_sa_state s);

/* Why a CHILD_SA went: ike_child_info.end, for IKE_EV_CHILD_DOWN. */
enum ike_child_end {
	IKE_CHILD_END_LOCAL,  /* our doing: deleted, replaced by a rekey, its IKE SA went */
	IKE_CHILD_END_CLOSED, /* the peer deleted it, its IKE SA living on */
	/* Its hard lifetime passed, or the peer no longer has it (a rekey found it gone). */
	IKE_CHILD_END_LOST,
};

struct ike_child_info {
	const char *state; /* "CREATING", "INSTALLED", "DELETING", "DELETED" */
	uint32_t spi_in, spi_out, reqid;
	enum xk_mode mode;
	struct ike_suite suite;
	size_t n_local_ts, n_remote_ts;
	struct xk_ts local_ts[IKE_MAX_TS], remote_ts[IKE_MAX_TS];
	bool encap;
	/* The kernel's names of its SAs (with a route-based tunnel's marks). */
	struct xk_sa_id id_in, id_out;
	struct xk_tag tag_in, tag_out;
	enum ike_child_end end; /* why it went (CHILD_DOWN) */
	char name[IKE_NAME_MAX]; /* its CHILD_SA configuration's */
};

struct ike_sa_info {
	const char *conn;
	enum ike_sa_state state;
	bool initiator;
	uint64_t spi_i, spi_r;
	struct xk_addr local, remote;
	struct ike_id local_id, remote_id;
	struct ike_suite suite;
	bool nat_local, nat_remote;
	uint64_t created_ms, established_ms;
	size_t n_children;
};

typedef void (*ike_sa_cb)(void *ctx, const struct ike_sa_info *info);
void ike_engine_foreach_sa(struct ike_engine *e, ike_sa_cb cb, void *ctx);
/* Info of the SA with this local SPI; -ENOENT if none. */
int ike_engine_sa_info(struct ike_engine *e, uint64_t local_spi,
		       struct ike_sa_info *info);
/* The i-th CHILD_SA of that SA; -ENOENT past the last. */
int ike_engine_child_info(struct ike_engine *e, uint64_t local_spi, size_t i,
			  struct ike_child_info *info);

struct ike_stats {
	uint64_t rx_packets, tx_packets;
	uint64_t rx_malformed;     /* failed to parse: dropped */
	uint64_t rx_bad_icv;       /* SK payload did not verify: dropped */
	uint64_t rx_unknown_spi;   /* no such IKE SA: dropped */
	uint64_t rx_unexpected;    /* wrong message ID / no request out / a late IKE_SA_INIT: dropped */
	uint64_t retransmits;      /* requests we resent */
	uint64_t responses_resent; /* cached responses resent for retransmits */
	uint64_t cookies_sent;
	uint64_t invalid_ke_sent;
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t auth_failures;
	uint64_t timeouts;         /* SAs given up after retransmissions */
	uint64_t rekeys;           /* CHILD_SAs and IKE SAs rekeyed */
	uint64_t reauths;          /* IKE SAs we replaced by reauthentication */
	uint64_t reauths_failed;   /* attempts that failed (the old SA stayed) */
	uint64_t dpd_dead;         /* peers found dead by liveness checks */
	uint64_t ike_sa_active, child_sa_active, half_open;
	uint64_t half_open_refused; /* IKE_SA_INIT dropped: half_open_max reached */
	uint64_t half_open_blocked; /* IKE_SA_INIT dropped: half_open_max_ip from its address */
	uint64_t init_too_large;    /* IKE_SA_INIT dropped: longer than init_max_len */
	uint64_t tx_fragments;      /* SKF fragments sent (first transmissions) */
	uint64_t rx_fragments;      /* SKF fragments authenticated and kept */
	uint64_t rx_reassembled;    /* messages completed from fragments */
	uint64_t rx_frag_dropped;   /* fragments dropped: not negotiated, duplicate, stale, over a bound */
	uint64_t work_submitted;    /* pending operations handed out through ops->submit */
	uint64_t work_pending;      /* ... of them not completed yet */
	uint64_t work_dropped;      /* results that came back for an SA gone meanwhile */
};

void ike_engine_stats(const struct ike_engine *e, struct ike_stats *out);

#endif
