/* SPDX-License-Identifier: ISC */
/*
 * xiked's insides: the one struct that ties the engine, the ESP backend,
 * the sockets, the control socket and the event loop together.  Only
 * src/daemon knows libev.
 */
#ifndef XD_DAEMON_H
#define XD_DAEMON_H

#include <ev.h>
#include <json-c/json.h>
#include <stddef.h>

#include "common/sa.h"
#include "daemon/config.h"
#include "ike/ike.h"
#include "xfrm/xfrm.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct xd_route_ctx;
struct esp_soft;

/* SO_MARK of userspace ESP's and our IKE sockets: they bypass its routes. */
#define XD_SOFT_MARK 0x786b

/* One UDP socket: IKE on `port`, or IKE + ESP-in-UDP on the NAT-T port. */
struct xd_sock {
	ev_io w;
	int fd;
	uint8_t family;
	uint16_t port;
	bool nat_t;
};

/* A trap policy we installed for a start = trap connection. */
struct xd_trap {
	char conn[IKE_NAME_MAX];
	uint32_t reqid;
	struct xk_policy pol;
};

struct xd_list_job;

struct xd_client {
	ev_io w;
	int fd;
	struct xd_client *next;
	bool subscribed;
	char buf[8192]; /* requests read, not yet answered */
	size_t len;
	/* Answers and events not yet written (ctl.c: the socket never blocks). */
	char *out;
	size_t out_off, out_len, out_cap;
	struct xd_list_job *job; /* a list-sas being written, or NULL */
	uint64_t stalled_ms;	 /* waiting to write since then (0: not waiting) */
	bool broken;		 /* an event could not be queued: to be dropped */
};

/*
 * Fault injection for tests (XIKE_FAULTS="drop-in=3,dup-out=2,fail-install=1"):
 * the N-th inbound / outbound IKE datagram is dropped or duplicated, the
 * N-th SA install fails.  Off unless the environment variable is set.
 */
struct xd_faults {
	unsigned drop_in, dup_in, drop_out, dup_out, fail_install;
	unsigned n_in, n_out, n_install;
};

struct xd_stats {
	uint64_t rx_dropped; /* datagrams the daemon itself threw away */
	uint64_t acquires, expires, mappings;
	uint64_t dpd_timeouts;
};

struct xiked {
	struct ev_loop *loop;
	struct xd_config cfg;
	char cfg_path[256];
	struct ike_engine *eng;

	/* The ESP backend: kernel XFRM, or userspace ESP (soft). */
	struct xfrm *xfrm;
	struct esp_soft *soft;
	ev_io soft_ike, soft_ev;
	struct xfrm_probe probe;
	struct xk_kernel_ops kops; /* our wrapper around the backend's ops */
	const struct xk_kernel_ops *backend;
	void *backend_ctx;
	ev_io xfrm_ev;

	struct xd_sock socks[2 * XD_MAX_LISTEN * 2 + 4];
	size_t n_socks;

	ev_timer timer;
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer retry; /* start = start connections whose peer did not answer */

	int ctl_fd;
	ev_io ctl_w;
	struct xd_client *clients;
	struct xd_client *ctl_busy; /* the client whose request is being answered */

	struct xd_trap *traps;
	size_t n_traps;

	struct xd_route_ctx *routes;
	ev_io routes_w;
	struct xd_stats stats;
	uint64_t started_ms;
	bool stopping;
	bool debug; /* -d: debug logging whatever the config says */
	/* dpd-action restart / trap, taken once the loop comes round */
	enum xd_dpd_action pending_action;
	char pending_conn[IKE_NAME_MAX];
	uint32_t next_trap_reqid;
	struct xd_faults faults;
};

/* main.c: parse XIKE_FAULTS; false if malformed. */
bool xd_faults_parse(const char *spec, struct xd_faults *f);

/* main.c */
uint64_t xd_now_ms(void);
void xd_engine_kick(struct xiked *d);
int xd_reload(struct xiked *d, char *err, size_t errlen);
int xd_initiate(struct xiked *d, const char *conn, char *err, size_t errlen);
int xd_terminate(struct xiked *d, const char *conn, char *err, size_t errlen);
/* Rekey the CHILD_SAs (or with ike, the IKE SAs) of a connection. */
/* What `rekey` renews: the CHILD SAs, the IKE SA, or the IKE SA by reauthenticating. */
enum xd_rekey {
	XD_REKEY_CHILD,
	XD_REKEY_IKE,
	XD_REKEY_REAUTH,
};
int xd_rekey(struct xiked *d, const char *conn, enum xd_rekey what, char *err, size_t errlen);

/* net.c: the IKE sockets. */
int xd_net_open(struct xiked *d);
void xd_net_close(struct xiked *d);
void xd_net_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len);
int xd_net_source(void *ctx, const struct xk_addr *remote, struct xk_addr *local);
void xd_net_keepalive(void *ctx, const struct xk_addr *local, const struct xk_addr *remote);

/* ctl.c: the control socket. */
int xd_ctl_open(struct xiked *d);
void xd_ctl_close(struct xiked *d);
/* Send an event object to every subscriber (takes ownership). */
void xd_ctl_broadcast(struct xiked *d, json_object *ev);
/* Whether any control client is subscribed to events (`monitor`). */
bool xd_ctl_monitored(const struct xiked *d);
json_object *xd_json_ts(const struct xk_ts *ts, size_t n);
json_object *xd_json_addr(const struct xk_addr *a);

/* kernel.c: the backend, trap policies and ACQUIRE/EXPIRE handling. */
int xd_kernel_open(struct xiked *d, char *err, size_t errlen);
void xd_kernel_close(struct xiked *d);
/* Check that the backend carries every algorithm a conn may negotiate. */
int xd_kernel_check_conn(struct xiked *d, const struct xd_conn *c, char *err, size_t errlen);
int xd_traps_install(struct xiked *d, const struct xd_conn *c, uint32_t reqid);
void xd_traps_remove(struct xiked *d, const char *conn);

/* route.c: tunnel-mode routes (libnl-route-3). */
struct xd_route_ctx *xd_routes_open(uint32_t table);
void xd_routes_close(struct xd_route_ctx *r);
/* Readable when the kernel refused a route request; then xd_routes_input(). */
int xd_routes_fd(const struct xd_route_ctx *r);
void xd_routes_input(struct xd_route_ctx *r);
/*
 * owner: a CHILD_SA's inbound SPI, or XD_ROUTE_TRAP(reqid) for a trap, which
 * no SPI (any 32-bit value, top bit included) can be.
 */
#define XD_ROUTE_TRAP(reqid) ((uint64_t)1 << 32 | (uint32_t)(reqid))
void xd_routes_add(struct xd_route_ctx *r, uint64_t owner, const struct xk_addr *peer,
		   const struct xk_ts *local_ts, const struct xk_ts *remote_ts);
void xd_routes_remove(struct xd_route_ctx *r, uint64_t owner);
/* Userspace ESP: routes into this device; packets with `mark` bypass them. */
void xd_routes_use_tun(struct xd_route_ctx *r, int ifindex, uint32_t mark);
void xd_routes_child_up(struct xd_route_ctx *r, const struct xk_addr *peer,
			const struct ike_child_info *c);
void xd_routes_child_down(struct xd_route_ctx *r, const struct ike_child_info *c);

#endif
