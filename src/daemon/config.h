/* SPDX-License-Identifier: ISC */
/*
 * xiked.conf: INI, one [global] section, one [conn NAME] section per
 * connection and one [child NAME] section per CHILD_SA configuration of a
 * connection that has several (xiked.conf(5)).  Errors name the file, the
 * line and the key.
 */
#ifndef XD_CONFIG_H
#define XD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/log.h"
#include "common/sa.h"
#include "ike/ike.h"

#define XD_MAX_LISTEN 8
/* The most IKE threads (threads =). */
#define XD_THREADS_MAX 256

/* The unprivileged user xiked runs as unless [global] user says otherwise. */
#define XD_DEFAULT_USER "xike"

enum xd_backend {
	XD_BACKEND_AUTO,
	XD_BACKEND_XFRM,
	XD_BACKEND_SOFT,
};

enum xd_dpd_action {
	XD_DPD_CLEAR,   /* forget the SAs */
	XD_DPD_RESTART, /* negotiate again at once */
	XD_DPD_TRAP,    /* negotiate again on the next packet */
};

enum xd_start {
	XD_START_NONE,
	XD_START_START,
	XD_START_TRAP,
};

struct xd_iface;

/*
 * A [child NAME] section: one CHILD_SA configuration of the connection it
 * names (conn = NAME).  A key it does not give is its connection's.
 */
struct xd_child {
	char name[IKE_NAME_MAX];
	char conn[IKE_NAME_MAX];
	unsigned line, conn_line; /* its section, its conn key */
	char esp_str[256];
	struct ike_proposal *esp; /* owned; NULL: the connection's */
	size_t n_esp;
	struct xk_ts local_ts[IKE_MAX_TS], remote_ts[IKE_MAX_TS];
	size_t n_local_ts, n_remote_ts;
	enum xk_mode mode;
	enum xd_start start, close_action;
	uint32_t rekey_s, life_s;
	/* Which keys the section gave (the rest come from the connection). */
	bool seen_local_ts, seen_remote_ts, seen_mode, seen_start, seen_close;
	bool seen_rekey, seen_life;
};

struct xd_conn {
	char name[IKE_NAME_MAX];
	unsigned line; /* where its section starts */
	struct xk_addr local, remote; /* family 0: any */
	struct ike_id local_id, remote_id;
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	char ike_str[256], esp_str[256];
	struct ike_proposal *ike, *esp;
	size_t n_ike, n_esp;
	struct xk_ts local_ts[IKE_MAX_TS], remote_ts[IKE_MAX_TS];
	size_t n_local_ts, n_remote_ts;
	enum xk_mode mode;
	enum xd_start start;
	/* What a CHILD_SA the peer deletes brings (the same words as start). */
	enum xd_start close_action;
	bool close_set; /* close-action given; else it follows start */
	uint32_t dpd_s, dpd_timeout_s, rekey_s, ike_rekey_s, life_s;
	uint32_t reauth_s; /* 0: never */
	enum xd_dpd_action dpd_action;
	bool encap;
	bool fragmentation;     /* RFC 7383: announce and use IKE fragmentation */
	uint16_t fragment_size; /* IP datagram bytes of a fragment */
	/* Route-based: marks and XFRM interface ID on SAs and policies (ike.h). */
	struct xk_tag tag_in, tag_out;
	/*
	 * interface: the XFRM interface (if-id) or VTI device (marks) the
	 * daemon makes or uses for the connection; mtu: its MTU, 0 to compute.
	 */
	char iface[16];
	uint32_t mtu;
	struct xd_iface *iface_live; /* the daemon's (route.h), NULL if none */
	bool life_set; /* life-time given explicitly */
	uint32_t reqid; /* the daemon's: reqid of its trap policies, 0 if none */
	uint64_t retry_ms; /* the daemon's: start = start retries at this time */
	uint32_t retry_delay_s;
	bool seen_auth, seen_psk, seen_remote_auth;
	enum ike_auth_method auth, remote_auth; /* remote-auth: as auth unless given */
	enum ike_send_cert send_cert;
	enum ike_revocation_policy revocation;
	/* The OCSP responder for the peer's certificates: http://ADDRESS[:PORT]/PATH
	 * ("" none); the address numeric, since a name lookup would block. */
	char ocsp_uri[256];
	/* Credential files (xd_conn_load_creds), and the lines that named them. */
	char cert_file[256], key_file[256], crl_file[256], ocsp_trust_file[256];
	char ca_files[1024]; /* comma-separated */
	unsigned cert_line, key_line, ca_line, crl_line, ocsp_trust_line;
	/* Owned (xd_config_free); the engine's conn points to them. */
	struct ike_cred *cred;
	struct ike_trust *trust;
	uint8_t cred_digest[32]; /* of every file read: a reload sees a change */
	/*
	 * Its [child] sections (owned), completed from its own keys, and the
	 * engine's view of them (names and proposals point into child).
	 * n_child 0: the connection's own keys make its one CHILD_SA.
	 */
	struct xd_child *child;
	struct ike_child_cfg *eng_child;
	size_t n_child;
};

/* Where loading a credential file failed. */
struct xd_cred_err {
	const char *key;
	unsigned line;
	char msg[320];
};

/* Read the conn's credential files as its methods need them (config_cred.c). */
int xd_conn_load_creds(struct xd_conn *c, struct xd_cred_err *e);
void xd_conn_free_creds(struct xd_conn *c);

struct xd_config {
	char path[256];
	enum xd_backend backend;
	struct xk_addr listen[XD_MAX_LISTEN];
	size_t n_listen; /* 0: all addresses */
	uint16_t port, nat_port;
	char socket[108];
	/* The control socket's group ("": none, mode 0600) and client limit. */
	char socket_group[64];
	gid_t socket_gid;
	uint32_t socket_clients;
	enum xk_log_level log_level;
	int sub_level[XK_SUB_COUNT]; /* log-level-NAME; -1: as log-level */
	bool log_json;		     /* log-format = json */
	bool install_routes;
	uint32_t route_table;
	uint32_t keepalive_s; /* NAT keepalive interval */
	/* Responders' bounded state (ike_engine_cfg; 0: no limit). */
	uint32_t half_open_max, half_open_max_ip, init_max_len;
	uint32_t cookie_threshold, cookie_threshold_ip;
	/* Who xiked runs as after start-up (privs.c): the user's uid and
	 * primary gid; user_set once the config named one. */
	char user[64];
	bool user_set, user_found;
	uint32_t uid, gid;
	uint32_t event_buffer; /* bytes of the kernel event socket's buffer, 0: the system's */
	uint32_t cert_expiry_days; /* cert-expiry-warning: days ahead, 0: off */
	/* threads: IKE threads, the loop's included (workers.c); 0: the CPUs online. */
	uint32_t threads;
	struct xd_conn *conns;
	size_t n_conns;
};

/*
 * Parse a file.  On error returns a negative errno and writes one line,
 * "FILE:LINE: [section] key: what is wrong", to err.
 */
int xd_config_load(const char *path, struct xd_config *cfg, char *err, size_t errlen);
/* Same from a string (tests); `name` stands in for the file name in errors. */
int xd_config_parse(const char *text, const char *name, struct xd_config *cfg,
		    char *err, size_t errlen);
void xd_config_free(struct xd_config *cfg);
/* Wipes the PSKs. */
void xd_config_defaults(struct xd_config *cfg);

/* For reload: do two conns describe the same connection? */
bool xd_conn_same(const struct xd_conn *a, const struct xd_conn *b);
/* Fill an engine conn from a config conn (pointers into c). */
void xd_conn_to_engine(const struct xd_conn *c, struct ike_conn_cfg *out);

/* "30s", "5m", "1h", "2d", "0", "45" (seconds). -1 if malformed. */
long xd_parse_duration(const char *s);

#endif
