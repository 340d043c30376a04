/* SPDX-License-Identifier: ISC */
/*
 * xiked: the IKEv2 daemon.  One process, one libev loop: the IKE sockets,
 * the backend's event socket, the control socket and the engine's timer
 * feed the sans-I/O engine.  This file is the top: options, start-up in
 * order, the run, shutdown; signals are handled here and nowhere else.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "daemon/backend.h"
#include "daemon/certs_watch.h"
#include "daemon/conn.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"
#include "daemon/events.h"
#include "daemon/logging.h"
#include "daemon/loop.h"
#include "daemon/metrics.h"
#include "daemon/net.h"
#include "daemon/ocsp_work.h"
#include "daemon/privs.h"
#include "daemon/route.h"
#include "daemon/workers.h"
#include "esp-soft/esp_soft.h"

static void stop(struct xiked *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	xk_notice("shutting down");
	/* Tell every peer; their DELETE answers are not waited for. */
	xd_conns_stop(d);
	ev_break(d->loop, EVBREAK_ALL);
}

/* The kernel refused a route request (they are sent without waiting). */
static void on_routes(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = w->data;

	(void)loop;
	(void)revents;
	xd_routes_input(d->routes);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct xiked *d = w->data;
	char err[512];

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP)
		xd_reload(d, err, sizeof(err));
	else
		stop(d);
}

/* Sent from the loop itself: a loop that hangs stops sending, and systemd
 * restarts the daemon (WatchdogSec=). */
static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sd_notify(0, "WATCHDOG=1");
}

static void watchdog_start(struct xiked *d)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	ev_timer_init(&d->watchdog, on_watchdog, 0., (double)usec / 2e6);
	ev_timer_again(d->loop, &d->watchdog);
	xk_info("watchdog: telling systemd every %.1f s", (double)usec / 2e6);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xiked [-c FILE] [-d] [--syslog] [--check] [-V]\n"
		   "  -c, --config FILE  configuration (default " XIKE_CONFIG ")\n"
		   "  -d, --debug        log at debug level (overrides log-level)\n"
		   "      --syslog       log to syslog instead of stderr\n"
		   "      --check        check the configuration and exit\n"
		   "  -V, --version      print the version and exit\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "syslog", no_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'k' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct xiked xd;
	struct xiked *d = &xd;
	struct ike_engine_cfg ecfg;
	struct ike_ops ops;
	const char *path = XIKE_CONFIG;
	bool debug = false, check = false, use_syslog = false;
	char err[512];
	int o, r;

	while ((o = getopt_long(argc, argv, "c:dVh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': path = optarg; break;
		case 'd': debug = true; break;
		case 's': use_syslog = true; break;
		case 'k': check = true; break;
		case 'V': printf("xiked %s\n", XIKE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (getenv("XIKE_FAULTS")) {
		if (!xd_faults_parse(getenv("XIKE_FAULTS"), &d->faults)) {
			fprintf(stderr, "xiked: XIKE_FAULTS: expected drop-in=N,dup-in=N,drop-out=N,"
					"dup-out=N,fail-install=N\n");
			return 2;
		}
		fprintf(stderr, "xiked: fault injection on: %s\n", getenv("XIKE_FAULTS"));
	}
	snprintf(d->cfg_path, sizeof(d->cfg_path), "%s", path);
	if (xd_config_load(path, &d->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: %zu connection(s), OK\n", path, d->cfg.n_conns);
		xd_config_free(&d->cfg);
		return 0;
	}
	d->debug = debug;
	xd_logging_start(&d->cfg, use_syslog);
	xd_logging_levels(&d->cfg, debug);
	d->loop = ev_default_loop(EVFLAG_AUTO);
	xd_ocsp_init(&d->ocsp, d->loop);
	d->started_ms = xd_now_ms();
	d->ctl_fd = -1;
	xd_loop_init(d);
	xd_conns_init(d);

	r = xd_backend_open(d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		return 1;
	}
	ike_engine_cfg_defaults(&ecfg);
	ecfg.nat_port = d->cfg.nat_port;
	ecfg.keepalive_ms = d->cfg.keepalive_s * 1000;
	ecfg.half_open_max = d->cfg.half_open_max;
	ecfg.half_open_max_ip = d->cfg.half_open_max_ip;
	ecfg.init_max_len = d->cfg.init_max_len;
	ecfg.cookie_threshold = d->cfg.cookie_threshold;
	ecfg.cookie_threshold_ip = d->cfg.cookie_threshold_ip;
	ecfg.reqid_base = 0x7c000001;
	if (xd_workers_init(d, xd_threads_wanted(d->cfg.threads), err, sizeof(err)) < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		xd_backend_close(d);
		return 1;
	}
	ops = (struct ike_ops){
		.ctx = d,
		.send = xd_net_send,
		.now_ms = xd_engine_now,
		.event = xd_on_engine_event,
		.source = xd_net_source,
		.keepalive = xd_net_keepalive,
		.kernel = &xd_backend_ops,
		.kernel_ctx = d,
		/*
		 * OCSP requests to the OCSP client; with threads > 1 the key
		 * exchanges to the workers, else they are done inline.
		 */
		.submit = xd_submit,
		.submit_takes = xd_submit_takes,
	};
	d->eng = ike_engine_new(&ecfg, &ops);
	if (!d->eng) {
		fprintf(stderr, "xiked: cannot create the IKE engine\n");
		return 1;
	}
	/* Userspace ESP needs its routes whatever install-routes says. */
	if (d->cfg.install_routes || d->soft)
		d->routes = xd_routes_open(d->cfg.route_table);
	if (d->soft)
		xd_routes_use_tun(d->routes, esp_soft_ifindex(d->soft), esp_soft_mark(d->soft));
	if (d->routes) {
		ev_io_init(&d->routes_w, on_routes, xd_routes_fd(d->routes), EV_READ);
		d->routes_w.data = d;
		ev_io_start(d->loop, &d->routes_w);
	}
	if (xd_conns_load(d, err, sizeof(err)) < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		xd_conns_ifaces_down(d);
		xd_backend_close(d);
		return 1;
	}
	r = xd_net_open(d);
	if (r < 0) {
		fprintf(stderr, "xiked: cannot open the IKE sockets: %s\n", strerror(-r));
		xd_conns_ifaces_down(d);
		xd_backend_close(d);
		return 1;
	}
	r = xd_privs_socket_dir(&d->cfg);
	if (r == 0)
		r = xd_ctl_open(d);
	if (r < 0) {
		fprintf(stderr, "xiked: cannot open control socket %s: %s\n", d->cfg.socket,
			strerror(-r));
		xd_conns_ifaces_down(d);
		xd_backend_close(d);
		return 1;
	}
	xd_events_start(d);
	ev_signal_init(&d->sig_term, on_signal, SIGTERM);
	ev_signal_init(&d->sig_int, on_signal, SIGINT);
	ev_signal_init(&d->sig_hup, on_signal, SIGHUP);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_hup);
	/* Everything that needs root is open: become the daemon's user,
	 * then start the threads, which inherit what is left. */
	if (xd_privs_drop(&d->cfg, err, sizeof(err)) < 0 ||
	    xd_backend_start(d, err, sizeof(err)) < 0 ||
	    xd_workers_start(d, err, sizeof(err)) < 0) {
		fprintf(stderr, "xiked: %s\n", err);
		xd_ctl_close(d);
		xd_conns_ifaces_down(d);
		xd_backend_close(d);
		return 1;
	}

	xk_notice("xiked %s started: %zu connection(s), control socket %s", XIKE_VERSION,
		  d->cfg.n_conns, d->cfg.socket);
	sd_notify(0, "READY=1");
	watchdog_start(d);
	xd_certs_watch_start(d);
	xd_conns_start(d);
	xd_engine_kick(d);
	ev_run(d->loop, 0);

	sd_notify(0, "STOPPING=1");
	ev_timer_stop(d->loop, &d->watchdog);
	xd_certs_watch_stop(d);
	/* No worker runs a work once the engine goes; what is left is released after. */
	xd_workers_stop(d);
	ike_engine_free(d->eng);
	xd_workers_free(d);
	if (d->routes)
		ev_io_stop(d->loop, &d->routes_w);
	xd_routes_close(d->routes);
	xd_conns_ifaces_down(d);
	xd_events_stop(d);
	xd_net_close(d);
	xd_backend_close(d);
	xd_ctl_close(d);
	xd_metrics_free(d);
	xd_ocsp_free(&d->ocsp);
	xd_ocsp_works_free(d);
	xd_config_free(&d->cfg);
	xk_notice("stopped");
	return 0;
}
