/* SPDX-License-Identifier: ISC */
/*
 * xiked's insides: the one struct that ties the engine, the ESP backend,
 * the sockets, the control socket and the event loop together.  Only
 * src/daemon knows libev.
 *
 * This header holds the data only; each file's functions are declared in
 * its own header (loop.h, net.h, backend.h, ...), so that a file's includes
 * say whom it calls.  From the top down:
 *
 *   main.c    options, start-up, run, shutdown, signals
 *   events.c  engine and backend events: to connections, routes, control
 *   ctl.c     the control socket; formats events as JSON
 *   metrics.c per-connection and per-CHILD_SA metrics
 *   conn.c    connection actions: initiate, terminate, rekey, reload,
 *             retries, dpd-action
 *   backend.c the ESP backend and the one ops table the engine uses
 *   trap.c    trap policies (start = trap)
 *   net.c     IKE datagrams in and out, through the one fault layer
 *   route.c   tunnel-mode routes (libnl-route-3)
 *   loop.c    the clock and the engine's timer
 *   workers.c the IKE worker threads: the engine's pending operations
 *   faults.c  XIKE_FAULTS
 *   privs.c   the drop to the unprivileged user after start-up
 *   request.c control requests parsed and checked against the client's
 *             access, without I/O (ctl.c's; the fuzz target's)
 *
 * A file calls only files below it; events come up through libev's and
 * the engine's callbacks, never through a call back into a caller.
 */
#ifndef XD_DAEMON_H
#define XD_DAEMON_H

#include <ev.h>
#include <stddef.h>

#include "common/sa.h"
#include "daemon/config.h"
#include "daemon/faults.h"
#include "daemon/ocsp_fetch.h"
#include "daemon/request.h"
#include "ike/ike.h"
#include "xfrm/xfrm.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct xd_route_ctx;
struct esp_soft;
struct xd_workers;

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
struct xd_metric;

struct xd_client {
	ev_io w;
	int fd;
	struct xd_client *next;
	enum xd_access access; /* from its credentials when it connected */
	uid_t uid;
	pid_t pid;
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

struct xd_stats {
	uint64_t rx_dropped; /* datagrams the daemon itself threw away */
	uint64_t acquires, expires, mappings;
	uint64_t event_overruns; /* the backend's event socket overran: events lost, resynced */
	uint64_t dpd_timeouts;
	uint64_t ctl_refused; /* control clients turned away: no access, or too many */
	uint64_t ctl_denied;  /* control requests refused: not for that client */
};

struct xd_ocsp_work;

struct xiked {
	struct ev_loop *loop;
	struct xd_config cfg;
	char cfg_path[256];
	struct ike_engine *eng;
	struct xd_workers *workers; /* NULL: threads = 1, the engine works inline (workers.c) */

	/* The ESP backend: kernel XFRM, or userspace ESP (soft). */
	struct xfrm *xfrm;
	struct esp_soft *soft;
	struct xfrm_probe probe;
	const struct xk_kernel_ops *backend; /* xfrm's or esp-soft's, unwrapped */
	void *backend_ctx;
	ev_io backend_ev; /* its ACQUIRE, EXPIRE and MAPPING (events.c) */

	struct xd_sock socks[2 * XD_MAX_LISTEN * 2 + 4];
	size_t n_socks;
	uint8_t *rx_buf; /* the IKE sockets' receive batch (net.c) */
	ev_io soft_ike; /* with userspace ESP: IKE on its NAT-T socket */

	ev_timer timer; /* the engine's next deadline (loop.c) */
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer watchdog; /* WATCHDOG=1 to systemd, when it asks for it */
	ev_timer retry; /* start = start connections whose peer did not answer */
	ev_timer dpd_w; /* a dpd-action, taken once the loop comes round */
	ev_timer cert_w; /* the daily certificate expiry check (certs_watch.c) */

	int ctl_fd;
	ev_io ctl_w;
	struct xd_client *clients;
	struct xd_client *ctl_busy; /* the client whose request is being answered */

	struct xd_trap *traps;
	size_t n_traps;

	struct xd_route_ctx *routes;
	ev_io routes_w;
	struct xd_stats stats;
	struct xd_metric *metrics; /* per connection name (metrics.c) */
	size_t metrics_cap, n_metrics;
	uint64_t started_ms;
	bool stopping;
	bool debug; /* -d: debug logging whatever the config says */
	/* dpd-action restart / trap, taken once the loop comes round (dpd_w) */
	enum xd_dpd_action pending_action;
	char pending_conn[IKE_NAME_MAX];
	uint32_t next_trap_reqid;
	struct xd_faults faults;
	/* OCSP fetches, their cache and counters (ocsp_fetch.h). */
	struct xd_ocsp ocsp;
	/* The engine's OCSP works out (ocsp_work.c). */
	struct xd_ocsp_work *ocsp_works;
};

#endif
