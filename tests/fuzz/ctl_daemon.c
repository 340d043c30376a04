/* SPDX-License-Identifier: ISC */
/* An xiked inside the fuzzing process (ctl_daemon.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_daemon.h"
#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "fake_kernel.h"

/* Turns of the loop without a new answer before the daemon is said to hang. */
#define IDLE_TURNS 2000

static const char conf[] =
	"[global]\n"
	"backend = soft\n"
	"install-routes = no\n"
	"socket-clients = 4\n"
	"[conn site]\n"
	"local = 192.0.2.1\n"
	"remote = 198.51.100.2\n"
	"psk = fuzz shared secret\n"
	"local-ts = 10.1.0.0/24\n"
	"remote-ts = 10.2.0.0/24\n"
	"[conn rw]\n"
	"remote = %any\n"
	"psk = another secret\n"
	"mode = transport\n"
	"[conn t]\n"
	"local = 2001:db8::1\n"
	"remote = 2001:db8::2\n"
	"psk = a third secret\n"
	"dpd = 30s\n";

static struct xiked d;
static struct fake_kernel kernel;

/* IKE datagrams go nowhere: the peers never answer. */
static void f_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		   const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)local;
	(void)remote;
	(void)buf;
	(void)len;
}

static void f_event(void *ctx, const struct ike_event *ev)
{
	xd_ctl_event(ctx, ev);
}

static void discard(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)level;
	(void)sub;
	(void)line;
	(void)ctx;
}

static void write_conf(void)
{
	FILE *f;

	snprintf(d.cfg_path, sizeof(d.cfg_path), "/tmp/xike-fuzz-ctl-%d.conf", (int)getpid());
	f = fopen(d.cfg_path, "we");
	if (!f || fputs(conf, f) < 0 || fclose(f) != 0)
		CTL_FAIL("cannot write the config");
}

static void engine_start(void)
{
	struct ike_engine_cfg ecfg;
	struct ike_ops ops = {
		.ctx = &d,
		.send = f_send,
		.now_ms = xd_engine_now,
		.event = f_event,
		.kernel = &xd_backend_ops,
		.kernel_ctx = &d,
	};

	ike_engine_cfg_defaults(&ecfg);
	ecfg.reqid_base = 0x7c000001;
	d.eng = ike_engine_new(&ecfg, &ops);
	if (!d.eng)
		CTL_FAIL("cannot make the engine");
}

static void cleanup(void)
{
	unlink(d.cfg.socket);
	unlink(d.cfg_path);
}

void ctl_daemon_start(void)
{
	char err[256];

	xk_log_set_sink(discard, NULL);
	write_conf();
	if (xd_config_load(d.cfg_path, &d.cfg, err, sizeof(err)) < 0)
		CTL_FAIL(err);
	snprintf(d.cfg.socket, sizeof(d.cfg.socket), "/tmp/xike-fuzz-ctl-%d.sock", (int)getpid());
	atexit(cleanup);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	d.started_ms = xd_now_ms();
	d.ctl_fd = -1;
	fake_kernel_init(&kernel, 0xc0000000u);
	d.backend = &fake_kernel_ops;
	d.backend_ctx = &kernel;
	xd_loop_init(&d);
	xd_conns_init(&d);
	engine_start();
	if (xd_conns_load(&d, err, sizeof(err)) < 0)
		CTL_FAIL(err);
	if (xd_ctl_open(&d) < 0)
		CTL_FAIL("cannot open the control socket");
}

static int client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d.cfg.socket);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		CTL_FAIL("cannot connect to the control socket");
	return fd;
}

/* One line from the daemon: a response (counted) or an event, nothing else. */
static size_t check_line(const char *line)
{
	json_object *o = json_tokener_parse(line), *v;
	bool answer;

	if (!o || !json_object_is_type(o, json_type_object))
		CTL_FAIL("the daemon sent a line that is no JSON object");
	answer = json_object_object_get_ex(o, "ok", &v);
	if (answer == json_object_object_get_ex(o, "event", &v))
		CTL_FAIL("a line that is neither a response nor an event");
	json_object_put(o);
	return answer;
}

struct reader {
	char *buf;
	size_t len, cap;
	size_t answers;
};

/* Take what the socket has; 1 if something came, 0 if nothing, -1 at its end. */
static int take(struct reader *r, int fd)
{
	char *nl;
	ssize_t n;

	if (r->cap - r->len < 65536) {
		r->cap = r->cap * 2 + 65536;
		r->buf = realloc(r->buf, r->cap);
		if (!r->buf)
			CTL_FAIL("out of memory");
	}
	n = recv(fd, r->buf + r->len, r->cap - r->len - 1, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN))
		return -1;
	if (n < 0)
		return 0;
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	while ((nl = memchr(r->buf, '\n', r->len))) {
		*nl = '\0';
		r->answers += check_line(r->buf);
		r->len -= (size_t)(nl + 1 - r->buf);
		memmove(r->buf, nl + 1, r->len);
	}
	return 1;
}

void ctl_daemon_talk(const char *data, size_t len, size_t answers)
{
	struct reader r = { 0 };
	size_t sent = 0;
	int fd = client_connect(), idle = 0;

	while (r.answers < answers || sent < len) {
		ssize_t n = 0;

		if (sent < len)
			n = send(fd, data + sent, len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		ev_run(d.loop, EVRUN_NOWAIT);
		n = take(&r, fd);
		if (n < 0 && r.answers < answers)
			CTL_FAIL("the daemon closed the connection before it answered");
		if (n < 0)
			break;
		idle = n > 0 ? 0 : idle + 1;
		if (idle > IDLE_TURNS)
			CTL_FAIL("the daemon does not answer");
	}
	if (r.answers > answers)
		CTL_FAIL("more answers than requests");
	close(fd);
	/* The daemon sees the client go. */
	ev_run(d.loop, EVRUN_NOWAIT);
	free(r.buf);
}
