/* SPDX-License-Identifier: ISC */
/*
 * xike-load: an IKEv2 load generator, the engine's first embedder.
 *
 * Opens N IKE SAs, each with one CHILD_SA, against any RFC 7296 responder
 * (xiked, strongSwan's charon, ...), at a target rate or as fast as a window
 * of handshakes in flight allows, and reports what it achieved: handshakes
 * per second, latency percentiles (IKE_SA_INIT sent to CHILD_SA up) and
 * failures by notify.  Optionally it holds the SAs and then tears them all
 * down with DELETEs.
 *
 * Structure: K UDP sockets ("slots"), each bound to its own source port (and,
 * with --src, to one of many source addresses), each with its own engine.
 * SA i runs on slot i mod K.  An engine per slot because the engine takes an
 * SA's local address and port from its connection, and keeps its SAs in one
 * list that a few per-handshake checks walk (INITIAL_CONTACT's sibling test):
 * sharding keeps those walks short at 100,000 SAs.  Each SA gets a connection
 * of its own, added just before ike_engine_initiate() and deleted just after
 * it (the SA holds a reference), so that its identity (--id with %d) and its
 * inner address (--ts) can differ per SA while the engine's connection list
 * stays empty.
 *
 * The initiator's CHILD_SAs go to an in-memory backend that hands out SPIs
 * and counts what it was asked to install: nothing reaches the kernel here.
 *
 * Plain epoll, no libev (that is the daemon's).  NAT traversal: when the
 * engine floats to port 4500 (section 2.23; strongSwan with kernel-libipsec
 * always claims to be behind a NAT), datagrams to and from the peer's port
 * 4500 carry the non-ESP marker; ours still leave from the slot's own port,
 * which the peer takes for a NAT's mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sa.h"
#include "common/secret.h"
#include "common/sockaddr.h"
#include "ike/cert.h"
#include "ike/ike.h"
#include "ike/ikev2.h"

#define PROG "xike-load"
#define NAT_PORT 4500
#define RX_BATCH 32
#define RX_BUF 9216
#define MAX_FAIL_KINDS 32

static const uint8_t non_esp_marker[4];

/* ---- options ---- */

struct opts {
	struct xk_addr remote;
	uint64_t count;
	double rate;          /* handshakes started per second, 0: no pacing */
	uint32_t window;      /* handshakes in flight at most */
	uint32_t sockets;
	uint16_t sport;       /* first source port, 0: ephemeral */
	bool have_src;
	struct xk_ts src;     /* source address pool */
	const char *ike_str, *esp_str;
	struct ike_proposal ike[IKE_MAX_PROPOSALS], esp[IKE_MAX_PROPOSALS];
	int n_ike, n_esp;
	uint8_t psk[IKE_PSK_MAX];
	size_t psk_len;
	/*
	 * Certificates: with cred we sign (local PUBKEY), with trust the
	 * responder must (remote PUBKEY); each side without one uses the PSK.
	 */
	const char *cert_file, *key_file, *ca_file;
	struct ike_cred *cred;
	struct ike_trust *trust;
	const char *id_pat;
	bool have_id, id_has_index;
	struct ike_id remote_id;
	bool have_ts;
	struct xk_ts ts_pool;
	struct xk_ts remote_ts[IKE_MAX_TS];
	size_t n_remote_ts;
	enum xk_mode mode;
	uint64_t first;       /* index of SA 0 (several generators side by side) */
	bool del;
	double hold_s;        /* < 0: until a signal */
	double timeout_s;     /* for each phase */
	uint32_t retransmit_ms, retransmit_tries;
	bool json, quiet;
	const char *ready_file;
	int verbose;
};

/* ---- run state ---- */

enum {
	F_STARTED = 1 << 0,
	F_IKE_UP = 1 << 1,
	F_CHILD_UP = 1 << 2,
	F_FAILED = 1 << 3,  /* counted as failed (first cause only) */
	F_DELETING = 1 << 4,
	F_DOWN = 1 << 5,    /* the IKE SA is gone */
};

struct rec {
	uint64_t spi;     /* our (initiator) SPI */
	uint64_t t0_us;   /* IKE_SA_INIT sent */
	uint32_t lat_us;  /* to CHILD_SA up */
	uint8_t flags;
};

struct slot {
	struct load *ld;
	int fd;
	struct xk_addr local;
	struct ike_engine *eng;
	uint64_t next_ms; /* cached ike_engine_next_timeout */
};

struct fail_kind {
	uint16_t notify;
	char reason[64];
	uint64_t n;
};

struct load {
	struct opts o;
	struct slot *slots;
	size_t n_slots, n_src_addrs;
	struct rec *recs;
	int ep;

	uint64_t started, up, failed, inflight;
	uint64_t lost;          /* went down after coming up, not by our DELETE */
	uint64_t del_started, deleted, del_unanswered, del_inflight;
	uint64_t del_cursor;    /* the next SA to consider for a DELETE */
	uint64_t t_run_us, t_first_us, t_last_up_us;
	uint64_t t_del_us, t_del_end_us;
	struct fail_kind fails[MAX_FAIL_KINDS];
	size_t n_fail_kinds;
	uint64_t fail_other;

	/* the in-memory backend */
	uint32_t spi_next;
	uint64_t spis, sas_added, sas_deleted, pols_added, pols_deleted;

	uint64_t tx, tx_err, rx, rx_dropped;
	double cpu_open_s; /* our own user + system CPU until the opening ended */
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- addresses and pools ---- */

/*
 * A CIDR as a pool of host addresses.  For IPv4 prefixes up to /30 the
 * network and broadcast addresses are left out; the size saturates at
 * UINT64_MAX for big IPv6 prefixes.
 */
static bool pool_skips_ends(const struct xk_ts *p)
{
	int plen = xk_ts_prefix_len(p);

	return p->family == XK_AF_INET && plen >= 0 && plen <= 30;
}

static uint64_t pool_size(const struct xk_ts *p)
{
	size_t len = p->family == XK_AF_INET ? 4 : 16;
	uint64_t span = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t d = (uint8_t)(p->hi[i] - p->lo[i]);

		if (span > (UINT64_MAX >> 8))
			return UINT64_MAX;
		span = span << 8 | d;
	}
	if (span == UINT64_MAX)
		return UINT64_MAX;
	span++;
	return pool_skips_ends(p) ? span - 2 : span;
}

/* The n-th host of the pool (n < pool_size). */
static void pool_nth(const struct xk_ts *p, uint64_t n, struct xk_addr *out)
{
	size_t len = p->family == XK_AF_INET ? 4 : 16;
	unsigned carry = 0;

	memset(out, 0, sizeof(*out));
	out->family = p->family;
	memcpy(out->ip, p->lo, len);
	if (pool_skips_ends(p))
		n++;
	for (size_t i = len; i-- > 0;) {
		unsigned v = out->ip[i] + (unsigned)(n & 0xff) + carry;

		out->ip[i] = (uint8_t)v;
		carry = v >> 8;
		n >>= 8;
	}
}

static int parse_cidr(const char *s, struct xk_ts *ts)
{
	if (xk_ts_parse(s, ts) < 0 || xk_ts_prefix_len(ts) < 0)
		return -EINVAL;
	return 0;
}

/* ---- failures ---- */

static void count_failure(struct load *ld, uint16_t notify, const char *reason)
{
	struct fail_kind *k;

	ld->failed++;
	/* One kind per notify; without one, per reason. */
	for (size_t i = 0; i < ld->n_fail_kinds; i++) {
		k = &ld->fails[i];
		if (k->notify == notify && (notify || !strcmp(k->reason, reason ? reason : ""))) {
			k->n++;
			return;
		}
	}
	if (ld->n_fail_kinds == MAX_FAIL_KINDS) {
		ld->fail_other++;
		return;
	}
	k = &ld->fails[ld->n_fail_kinds++];
	k->notify = notify;
	snprintf(k->reason, sizeof(k->reason), "%s", reason ? reason : "");
	k->n = 1;
}

static const char *fail_name(const struct fail_kind *k, char *buf, size_t len)
{
	if (k->notify)
		snprintf(buf, len, "%s", ikev2_notify_name(k->notify));
	else
		snprintf(buf, len, "no notify (%s)", k->reason[0] ? k->reason : "unknown");
	return buf;
}

/* ---- engine ops ---- */

static struct rec *rec_of(struct load *ld, const char *conn)
{
	char *end;
	unsigned long long i = strtoull(conn, &end, 10);

	if (!*conn || *end || i < ld->o.first || i - ld->o.first >= ld->o.count)
		return NULL;
	return &ld->recs[i - ld->o.first];
}

static void resolved(struct load *ld)
{
	if (ld->inflight)
		ld->inflight--;
}

static void on_event(void *ctx, const struct ike_event *ev)
{
	struct slot *s = ctx;
	struct load *ld = s->ld;
	struct rec *r = rec_of(ld, ev->conn);
	uint64_t t;

	if (!r)
		return;
	switch (ev->type) {
	case IKE_EV_IKE_UP:
		r->flags |= F_IKE_UP;
		break;
	case IKE_EV_CHILD_UP:
		if (r->flags & (F_CHILD_UP | F_FAILED))
			break;
		t = now_us();
		r->flags |= F_CHILD_UP;
		r->lat_us = (uint32_t)(t - r->t0_us > UINT32_MAX ? UINT32_MAX : t - r->t0_us);
		ld->up++;
		ld->t_last_up_us = t;
		resolved(ld);
		break;
	case IKE_EV_AUTH_FAILED:
	case IKE_EV_FAILED:
		/* A CHILD_SA refused leaves the IKE SA up; either way it counts once. */
		if (!ev->child && ev->type == IKE_EV_FAILED)
			r->flags |= F_DOWN;
		if (r->flags & (F_CHILD_UP | F_FAILED))
			break;
		r->flags |= F_FAILED;
		count_failure(ld, ev->notify, ev->reason);
		resolved(ld);
		break;
	case IKE_EV_IKE_DOWN:
	case IKE_EV_PEER_DEAD:
		if (r->flags & F_DOWN)
			break;
		r->flags |= F_DOWN;
		if (r->flags & F_DELETING) {
			ld->del_inflight--;
			/* Our DELETE answered ("deleted"), or given up on. */
			if (ev->reason && strcmp(ev->reason, "deleted"))
				ld->del_unanswered++;
			else
				ld->deleted++;
		} else if (r->flags & F_CHILD_UP) {
			ld->lost++;
		} else if (!(r->flags & F_FAILED)) {
			r->flags |= F_FAILED;
			count_failure(ld, ev->notify, ev->reason);
			resolved(ld);
		}
		break;
	default:
		break;
	}
}

static void do_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		    const uint8_t *buf, size_t len)
{
	struct slot *s = ctx;
	union xk_sockaddr to;
	socklen_t tolen;
	struct iovec iov[2];
	struct msghdr mh = { .msg_name = &to, .msg_iov = iov };
	int i = 0;

	tolen = xk_addr_to_sockaddr(remote, &to);
	mh.msg_namelen = tolen;
	/* RFC 7296 section 2.23: IKE on the NAT-T port follows four zeros. */
	if (local->port == NAT_PORT || remote->port == NAT_PORT)
		iov[i++] = (struct iovec){ (void *)non_esp_marker, 4 };
	iov[i++] = (struct iovec){ (void *)buf, len };
	mh.msg_iovlen = (size_t)i;
	s->ld->tx++;
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0)
		s->ld->tx_err++; /* the engine retransmits */
}

static uint64_t clock_ms(void *ctx)
{
	(void)ctx;
	return now_us() / 1000;
}

/* The in-memory backend: SPIs and counters, no kernel. */
static int mem_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
			 uint32_t *spi)
{
	struct load *ld = ctx;

	(void)src;
	(void)dst;
	/* Unique among ours; SPIs 1-255 are reserved (RFC 4303 section 2.1). */
	if (ld->spi_next < 256)
		ld->spi_next = 256;
	*spi = ld->spi_next++;
	ld->spis++;
	return 0;
}

static int mem_add_sa(void *ctx, const struct xk_sa *sa)
{
	struct load *ld = ctx;

	(void)sa;
	ld->sas_added++;
	return 0;
}

static int mem_del_sa(void *ctx, const struct xk_sa_id *id)
{
	struct load *ld = ctx;

	(void)id;
	ld->sas_deleted++;
	return 0;
}

static int mem_add_policy(void *ctx, const struct xk_policy *pol)
{
	struct load *ld = ctx;

	(void)pol;
	ld->pols_added++;
	return 0;
}

static int mem_del_policy(void *ctx, const struct xk_policy *pol)
{
	struct load *ld = ctx;

	(void)pol;
	ld->pols_deleted++;
	return 0;
}

static const struct xk_kernel_ops mem_backend = {
	.alloc_spi = mem_alloc_spi,
	.add_sa = mem_add_sa,
	.del_sa = mem_del_sa,
	.add_policy = mem_add_policy,
	.del_policy = mem_del_policy,
};

/* ---- slots ---- */

/* The source address the routing table picks towards remote. */
static void source_for(const struct xk_addr *remote, struct xk_addr *out)
{
	union xk_sockaddr ss;
	socklen_t len;
	char a[64];
	int fd = socket(remote->family == XK_AF_INET ? AF_INET : AF_INET6,
			SOCK_DGRAM | SOCK_CLOEXEC, 0);

	len = xk_addr_to_sockaddr(remote, &ss);
	/* connect() on UDP sends nothing; it asks the routing table. */
	if (fd < 0 || connect(fd, &ss.sa, len) < 0)
		die("no route to %s: %s", xk_addr_str(remote, a, sizeof(a)), strerror(errno));
	len = sizeof(ss);
	if (getsockname(fd, &ss.sa, &len) < 0)
		die("getsockname: %s", strerror(errno));
	close(fd);
	xk_addr_from_sockaddr(&ss, out);
}

static void open_slots(struct load *ld)
{
	const struct opts *o = &ld->o;
	struct ike_engine_cfg cfg;
	uint8_t af = o->remote.family;
	int rcvbuf = 1 << 20;

	ike_engine_cfg_defaults(&cfg);
	cfg.nat_port = NAT_PORT;
	if (o->retransmit_ms)
		cfg.retransmit_timeout_ms = o->retransmit_ms;
	if (o->retransmit_tries)
		cfg.retransmit_tries = o->retransmit_tries;
	ld->n_slots = o->sockets;
	ld->n_src_addrs = 1;
	if (o->have_src) {
		uint64_t n = pool_size(&o->src);

		ld->n_src_addrs = n < ld->n_slots ? (size_t)n : ld->n_slots;
	}
	ld->slots = calloc(ld->n_slots, sizeof(*ld->slots));
	if (!ld->slots)
		die("out of memory");
	for (size_t j = 0; j < ld->n_slots; j++) {
		struct slot *s = &ld->slots[j];
		union xk_sockaddr ss;
		socklen_t len;
		struct xk_addr bind_to = { .family = af };
		char a[64];
		struct ike_ops ops = {
			.ctx = s,
			.send = do_send,
			.now_ms = clock_ms,
			.event = on_event,
			.kernel = &mem_backend,
			.kernel_ctx = ld,
		};
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		s->ld = ld;
		s->fd = socket(af == XK_AF_INET ? AF_INET : AF_INET6,
			       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd < 0)
			die("socket: %s%s", strerror(errno),
			    errno == EMFILE ? " (ulimit -n, or fewer --sockets)" : "");
		/* Room for bursts; beyond net.core.rmem_max where we may. */
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
		/*
		 * Bound to a definite address (the engine signs it into NAT
		 * detection), never connected: after NAT detection the peer
		 * answers from its NAT-T port.
		 */
		if (o->have_src)
			pool_nth(&o->src, j % ld->n_src_addrs, &bind_to);
		else if (j == 0)
			source_for(&o->remote, &bind_to);
		else
			bind_to = ld->slots[0].local;
		bind_to.port = o->sport ? (uint16_t)(o->sport + j) : 0;
		len = xk_addr_to_sockaddr(&bind_to, &ss);
		if (bind(s->fd, &ss.sa, len) < 0)
			die("bind %s port %u: %s%s", xk_addr_str(&bind_to, a, sizeof(a)),
			    bind_to.port, strerror(errno),
			    errno == EADDRNOTAVAIL
				    ? " (put the --src addresses on an interface, e.g. "
				      "ip route add local CIDR dev lo)"
				    : "");
		len = sizeof(ss);
		if (getsockname(s->fd, &ss.sa, &len) < 0)
			die("getsockname: %s", strerror(errno));
		xk_addr_from_sockaddr(&ss, &s->local);
		s->eng = ike_engine_new(&cfg, &ops);
		if (!s->eng)
			die("cannot create an IKE engine");
		s->next_ms = UINT64_MAX;
		if (epoll_ctl(ld->ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
	}
}

static void close_slots(struct load *ld)
{
	for (size_t j = 0; j < ld->n_slots; j++) {
		ike_engine_free(ld->slots[j].eng);
		close(ld->slots[j].fd);
	}
	free(ld->slots);
}

/* ---- starting and deleting ---- */

/* Expand the identity pattern: %d is the SA's index, %% a percent sign. */
static int make_id(const char *pat, uint64_t idx, struct ike_id *id)
{
	char buf[256];
	size_t n = 0;

	for (const char *p = pat; *p; p++) {
		int w;

		if (p[0] == '%' && p[1] == 'd') {
			w = snprintf(buf + n, sizeof(buf) - n, "%llu", (unsigned long long)idx);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			w = snprintf(buf + n, sizeof(buf) - n, "%%");
			p++;
		} else {
			w = snprintf(buf + n, sizeof(buf) - n, "%c", *p);
		}
		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
	}
	return ike_id_parse(buf, id);
}

static int start_one(struct load *ld)
{
	const struct opts *o = &ld->o;
	uint64_t i = ld->started, idx = o->first + i;
	struct slot *s = &ld->slots[i % ld->n_slots];
	struct rec *r = &ld->recs[i];
	char name[32];
	struct xk_addr inner;
	struct ike_conn_cfg c = {
		.name = name,
		.local = s->local,
		.remote = o->remote,
		.local_auth = o->cred ? IKE_AUTH_PUBKEY : IKE_AUTH_PSK,
		.remote_auth = o->trust ? IKE_AUTH_PUBKEY : IKE_AUTH_PSK,
		.psk = o->psk,
		.psk_len = o->psk_len,
		.cred = o->cred,
		.trust = o->trust,
		.ike = o->ike,
		.n_ike = (size_t)o->n_ike,
		.esp = o->esp,
		.n_esp = (size_t)o->n_esp,
		.remote_id = o->remote_id,
		.n_remote_ts = o->n_remote_ts,
		.mode = o->mode,
	};
	int err;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)idx);
	if (make_id(o->id_pat, idx, &c.local_id) < 0)
		die("--id '%s' gives an invalid identity for SA %llu", o->id_pat,
		    (unsigned long long)idx);
	memcpy(c.remote_ts, o->remote_ts, sizeof(c.remote_ts));
	if (o->have_ts) {
		pool_nth(&o->ts_pool, idx, &inner);
		xk_ts_from_addr(&inner, &c.local_ts[0]);
		c.n_local_ts = 1;
	}
	err = ike_engine_add_conn(s->eng, &c);
	if (err < 0)
		die("cannot add connection %s: %s", name, strerror(-err));
	ld->started++;
	ld->inflight++;
	r->flags = F_STARTED;
	r->t0_us = now_us();
	if (!ld->t_first_us)
		ld->t_first_us = r->t0_us;
	/* IKE_SA_INIT goes out inside this call. */
	err = ike_engine_initiate(s->eng, name, &r->spi);
	/* The SA keeps its own reference; the list stays short. */
	ike_engine_del_conn(s->eng, name);
	if (err < 0 && !(r->flags & F_FAILED)) {
		r->flags |= F_FAILED | F_DOWN;
		count_failure(ld, 0, strerror(-err));
		resolved(ld);
	}
	s->next_ms = ike_engine_next_timeout(s->eng);
	return err;
}

/* Start what the rate and the window allow now. */
static void launch(struct load *ld, uint64_t now)
{
	const struct opts *o = &ld->o;

	while (ld->started < o->count && ld->inflight < o->window) {
		if (o->rate > 0) {
			uint64_t due = ld->t_run_us + (uint64_t)((double)ld->started * 1e6 / o->rate);

			if (due > now)
				return;
		}
		start_one(ld);
	}
}

/* When the next start is due (UINT64_MAX: none, or held by the window). */
static uint64_t next_launch_us(const struct load *ld)
{
	const struct opts *o = &ld->o;

	if (ld->started >= o->count || ld->inflight >= o->window)
		return UINT64_MAX;
	if (o->rate <= 0)
		return 0;
	return ld->t_run_us + (uint64_t)((double)ld->started * 1e6 / o->rate);
}

static void launch_deletes(struct load *ld)
{
	const struct opts *o = &ld->o;

	for (; ld->del_cursor < ld->started && ld->del_inflight < o->window; ld->del_cursor++) {
		struct rec *r = &ld->recs[ld->del_cursor];
		struct slot *s = &ld->slots[ld->del_cursor % ld->n_slots];

		if (!(r->flags & F_IKE_UP) || (r->flags & F_DOWN))
			continue;
		r->flags |= F_DELETING;
		ld->del_started++;
		ld->del_inflight++;
		if (ike_engine_terminate(s->eng, r->spi) < 0) {
			ld->del_inflight--;
			r->flags |= F_DOWN;
			ld->del_unanswered++;
		}
		s->next_ms = ike_engine_next_timeout(s->eng);
	}
}

/* ---- the loop ---- */

static void receive(struct slot *s)
{
	static uint8_t bufs[RX_BATCH][RX_BUF];
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	union xk_sockaddr from[RX_BATCH];
	struct load *ld = s->ld;

	for (int round = 0; round < 8; round++) {
		int n;

		for (int i = 0; i < RX_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(s->fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct xk_addr remote, local;
			const uint8_t *p = bufs[i];
			size_t len = msgs[i].msg_len;

			ld->rx++;
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				ld->rx_dropped++;
				continue;
			}
			xk_addr_from_sockaddr(&from[i], &remote);
			local = s->local;
			if (remote.port == NAT_PORT) {
				/* The engine's view once it floated (section 2.23). */
				local.port = NAT_PORT;
				/* Keepalives and ESP are not ours to read. */
				if (len < 4 || memcmp(p, non_esp_marker, 4)) {
					ld->rx_dropped++;
					continue;
				}
				p += 4;
				len -= 4;
			}
			ike_engine_input(s->eng, &local, &remote, p, len);
		}
		if (n < RX_BATCH)
			break;
	}
	s->next_ms = ike_engine_next_timeout(s->eng);
}

static void tick_due(struct load *ld, uint64_t now_ms)
{
	for (size_t j = 0; j < ld->n_slots; j++) {
		struct slot *s = &ld->slots[j];

		if (s->next_ms <= now_ms) {
			ike_engine_tick(s->eng);
			s->next_ms = ike_engine_next_timeout(s->eng);
		}
	}
}

static uint64_t next_timer_ms(const struct load *ld)
{
	uint64_t t = UINT64_MAX;

	for (size_t j = 0; j < ld->n_slots; j++)
		if (ld->slots[j].next_ms < t)
			t = ld->slots[j].next_ms;
	return t;
}

enum phase { PH_OPEN, PH_HOLD, PH_DELETE, PH_DONE };

static void progress(struct load *ld, enum phase ph, uint64_t now, uint64_t *last_t,
		     uint64_t *last_n)
{
	double el = (double)(now - ld->t_run_us) / 1e6;
	double dt = (double)(now - *last_t) / 1e6;
	uint64_t n = ph == PH_DELETE ? ld->deleted : ld->up;

	if (ld->o.quiet)
		return;
	if (ph == PH_DELETE)
		fprintf(stderr,
			"[%7.1fs] deleting: %llu of %llu deleted, %llu in flight, %llu unanswered, "
			"%.0f/s\n",
			el, (unsigned long long)ld->deleted, (unsigned long long)ld->del_started,
			(unsigned long long)ld->del_inflight,
			(unsigned long long)ld->del_unanswered, dt > 0 ? (double)(n - *last_n) / dt : 0);
	else
		fprintf(stderr,
			"[%7.1fs] %s: %llu started, %llu up, %llu failed, %llu in flight, "
			"%llu lost, %.0f/s\n",
			el, ph == PH_OPEN ? "opening" : "holding", (unsigned long long)ld->started,
			(unsigned long long)ld->up, (unsigned long long)ld->failed,
			(unsigned long long)ld->inflight, (unsigned long long)ld->lost,
			dt > 0 ? (double)(n - *last_n) / dt : 0);
	*last_t = now;
	*last_n = n;
}

static bool phase_over(struct load *ld, enum phase ph, uint64_t now, uint64_t ph_start)
{
	const struct opts *o = &ld->o;
	double el = (double)(now - ph_start) / 1e6;

	switch (ph) {
	case PH_OPEN:
		return (ld->started == o->count && ld->inflight == 0) ||
		       (o->timeout_s > 0 && el >= o->timeout_s);
	case PH_HOLD:
		return o->hold_s >= 0 && el >= o->hold_s;
	case PH_DELETE:
		return (ld->del_cursor >= ld->started && ld->del_inflight == 0) ||
		       (o->timeout_s > 0 && el >= o->timeout_s);
	case PH_DONE:
		return true;
	}
	return true;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void write_ready(struct load *ld)
{
	FILE *f;

	if (!ld->o.ready_file)
		return;
	f = fopen(ld->o.ready_file, "we");
	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", ld->o.ready_file, strerror(errno));
		return;
	}
	fprintf(f, "started %llu up %llu failed %llu\n", (unsigned long long)ld->started,
		(unsigned long long)ld->up, (unsigned long long)ld->failed);
	fclose(f);
}

static void run(struct load *ld)
{
	enum phase ph = PH_OPEN;
	uint64_t now = now_us(), ph_start = now, last_prog = now, last_n = 0;
	struct epoll_event evs[64];
	bool interrupted = false;

	ld->t_run_us = now;
	while (ph != PH_DONE) {
		uint64_t wake, t;
		int n, timeout_ms;

		now = now_us();
		if (got_signal && !interrupted) {
			interrupted = true;
			if (!ld->o.quiet)
				fprintf(stderr, PROG ": %s: stopping\n", strsignal(got_signal));
			/*
			 * Stop opening (what is in flight may still finish) and
			 * holding; a second signal also skips the DELETEs.
			 */
			got_signal = 0;
			if (ph == PH_OPEN)
				ld->o.count = ld->started;
			ld->o.hold_s = 0;
		} else if (got_signal && interrupted) {
			break;
		}
		if (ph == PH_OPEN)
			launch(ld, now);
		else if (ph == PH_DELETE)
			launch_deletes(ld);
		if (phase_over(ld, ph, now, ph_start)) {
			if (ph == PH_OPEN) {
				ld->o.count = ld->started; /* a timeout ends the opening */
				ld->cpu_open_s = cpu_seconds();
				if (!ld->o.quiet)
					progress(ld, ph, now, &last_prog, &last_n);
				write_ready(ld);
				ph = PH_HOLD;
				if (ld->o.hold_s != 0 && !ld->o.quiet)
					fprintf(stderr, PROG ": holding %llu IKE SAs %s\n",
						(unsigned long long)ld->up,
						ld->o.hold_s > 0 ? "a while" : "until a signal");
			} else if (ph == PH_HOLD) {
				ph = ld->o.del ? PH_DELETE : PH_DONE;
				ld->t_del_us = now;
				last_n = 0;
			} else {
				ld->t_del_end_us = now;
				ph = PH_DONE;
			}
			ph_start = now;
			continue;
		}
		if (now - last_prog >= 1000000)
			progress(ld, ph, now, &last_prog, &last_n);
		/* Sleep until the next start, engine timer or progress line. */
		wake = last_prog + 1000000;
		if (ph == PH_OPEN && (t = next_launch_us(ld)) < wake)
			wake = t;
		t = next_timer_ms(ld);
		if (t != UINT64_MAX && t * 1000 < wake)
			wake = t * 1000;
		if (ph == PH_HOLD && ld->o.hold_s >= 0) {
			t = ph_start + (uint64_t)(ld->o.hold_s * 1e6);
			if (t < wake)
				wake = t;
		}
		timeout_ms = wake <= now ? 0 : (int)((wake - now + 999) / 1000);
		n = epoll_wait(ld->ep, evs, 64, timeout_ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			receive(evs[i].data.ptr);
		tick_due(ld, now_us() / 1000);
	}
	if (!ld->t_del_end_us && ld->t_del_us)
		ld->t_del_end_us = now_us();
}

/* ---- report ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	double open_s, rate, p50, p90, p99, max;
	double del_s, del_rate;
};

static double pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	/* Nearest rank. */
	i = (size_t)ceil(p / 100.0 * (double)n);
	return (double)v[i ? i - 1 : 0] / 1000.0;
}

static void summarize(const struct load *ld, struct summary *s)
{
	uint32_t *lat = malloc((ld->up ? ld->up : 1) * sizeof(*lat));
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	if (!lat)
		die("out of memory");
	for (uint64_t i = 0; i < ld->started; i++)
		if (ld->recs[i].flags & F_CHILD_UP)
			lat[n++] = ld->recs[i].lat_us;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	s->p50 = pct(lat, n, 50);
	s->p90 = pct(lat, n, 90);
	s->p99 = pct(lat, n, 99);
	s->max = n ? (double)lat[n - 1] / 1000.0 : 0;
	free(lat);
	/* From the first IKE_SA_INIT out to the last CHILD_SA up. */
	if (ld->up && ld->t_last_up_us > ld->t_first_us)
		s->open_s = (double)(ld->t_last_up_us - ld->t_first_us) / 1e6;
	s->rate = s->open_s > 0 ? (double)ld->up / s->open_s : 0;
	if (ld->t_del_us) {
		s->del_s = (double)(ld->t_del_end_us - ld->t_del_us) / 1e6;
		s->del_rate = s->del_s > 0 ? (double)ld->deleted / s->del_s : 0;
	}
}

static void engine_totals(const struct load *ld, struct ike_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t j = 0; j < ld->n_slots; j++) {
		struct ike_stats s;

		ike_engine_stats(ld->slots[j].eng, &s);
		t->tx_packets += s.tx_packets;
		t->rx_packets += s.rx_packets;
		t->retransmits += s.retransmits;
		t->rx_malformed += s.rx_malformed;
		t->rx_bad_icv += s.rx_bad_icv;
		t->rx_unknown_spi += s.rx_unknown_spi;
		t->rx_unexpected += s.rx_unexpected;
		t->timeouts += s.timeouts;
	}
}

static void report_text(const struct load *ld, const struct summary *s)
{
	const struct opts *o = &ld->o;
	struct ike_stats st;
	char a[64], buf[96];

	engine_totals(ld, &st);
	printf("xike-load: %llu IKE SAs with one CHILD_SA each to %s port %u, %zu socket(s) on "
	       "%zu address(es)\n",
	       (unsigned long long)ld->started, xk_addr_str(&o->remote, a, sizeof(a)),
	       o->remote.port, ld->n_slots, ld->n_src_addrs);
	if (o->rate > 0)
		snprintf(buf, sizeof(buf), "%.0f/s", o->rate);
	else
		snprintf(buf, sizeof(buf), "unlimited");
	printf("  ike %s, esp %s, %s mode, window %u, rate %s\n", o->ike_str, o->esp_str,
	       o->mode == XK_MODE_TUNNEL ? "tunnel" : "transport", o->window, buf);
	printf("  auth: we %s, the responder %s\n", o->cred ? "sign (certificate)" : "use the PSK",
	       o->trust ? "signs (certificate checked against --ca)" : "uses the PSK");
	printf("established  %llu of %llu in %.3f s: %.1f handshakes/s\n",
	       (unsigned long long)ld->up, (unsigned long long)ld->started, s->open_s, s->rate);
	printf("latency ms   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (IKE_SA_INIT sent to CHILD_SA "
	       "up)\n",
	       s->p50, s->p90, s->p99, s->max);
	printf("failed       %llu", (unsigned long long)ld->failed);
	for (size_t i = 0; i < ld->n_fail_kinds; i++)
		printf("%s %s %llu", i ? "," : ":", fail_name(&ld->fails[i], buf, sizeof(buf)),
		       (unsigned long long)ld->fails[i].n);
	if (ld->fail_other)
		printf(", other %llu", (unsigned long long)ld->fail_other);
	printf("\n");
	if (ld->lost)
		printf("lost         %llu went down after coming up (not by us)\n",
		       (unsigned long long)ld->lost);
	printf("packets      tx %llu (errors %llu), rx %llu (dropped %llu), retransmits %llu, "
	       "unknown SPI %llu, bad ICV %llu\n",
	       (unsigned long long)ld->tx, (unsigned long long)ld->tx_err,
	       (unsigned long long)ld->rx, (unsigned long long)ld->rx_dropped,
	       (unsigned long long)st.retransmits, (unsigned long long)st.rx_unknown_spi,
	       (unsigned long long)st.rx_bad_icv);
	printf("generator    %.2f s of CPU while opening (user + system, all of xike-load)\n",
	       ld->cpu_open_s);
	printf("backend      in memory (nothing in the kernel): %llu SPIs, %llu SAs and %llu "
	       "policies added, %llu and %llu removed\n",
	       (unsigned long long)ld->spis, (unsigned long long)ld->sas_added,
	       (unsigned long long)ld->pols_added, (unsigned long long)ld->sas_deleted,
	       (unsigned long long)ld->pols_deleted);
	if (ld->t_del_us)
		printf("deleted      %llu of %llu in %.3f s: %.1f/s, %llu unanswered\n",
		       (unsigned long long)ld->deleted, (unsigned long long)ld->del_started, s->del_s,
		       s->del_rate, (unsigned long long)ld->del_unanswered);
}

static void report_json(const struct load *ld, const struct summary *s)
{
	const struct opts *o = &ld->o;
	json_object *j = json_object_new_object(), *lat = json_object_new_object();
	json_object *f = json_object_new_object(), *b = json_object_new_object();
	struct ike_stats st;
	char a[64], buf[96];

	engine_totals(ld, &st);
	/* Microseconds are what the clock gives; more digits are noise. */
	json_c_set_serialization_double_format("%.6g", JSON_C_OPTION_THREAD);
	json_object_object_add(j, "remote", json_object_new_string(xk_addr_str(&o->remote, a, sizeof(a))));
	json_object_object_add(j, "port", json_object_new_int(o->remote.port));
	json_object_object_add(j, "ike", json_object_new_string(o->ike_str));
	json_object_object_add(j, "esp", json_object_new_string(o->esp_str));
	/* How each side authenticated: "psk" or "pubkey" (a certificate). */
	json_object_object_add(j, "local_auth", json_object_new_string(o->cred ? "pubkey" : "psk"));
	json_object_object_add(j, "remote_auth", json_object_new_string(o->trust ? "pubkey" : "psk"));
	json_object_object_add(j, "sockets", json_object_new_int64((int64_t)ld->n_slots));
	json_object_object_add(j, "addresses", json_object_new_int64((int64_t)ld->n_src_addrs));
	json_object_object_add(j, "window", json_object_new_int64(o->window));
	json_object_object_add(j, "target_rate", json_object_new_double(o->rate));
	json_object_object_add(j, "started", json_object_new_int64((int64_t)ld->started));
	json_object_object_add(j, "established", json_object_new_int64((int64_t)ld->up));
	json_object_object_add(j, "failed", json_object_new_int64((int64_t)ld->failed));
	json_object_object_add(j, "lost", json_object_new_int64((int64_t)ld->lost));
	json_object_object_add(j, "seconds", json_object_new_double(s->open_s));
	json_object_object_add(j, "rate", json_object_new_double(s->rate));
	json_object_object_add(lat, "p50", json_object_new_double(s->p50));
	json_object_object_add(lat, "p90", json_object_new_double(s->p90));
	json_object_object_add(lat, "p99", json_object_new_double(s->p99));
	json_object_object_add(lat, "max", json_object_new_double(s->max));
	json_object_object_add(j, "latency_ms", lat);
	for (size_t i = 0; i < ld->n_fail_kinds; i++)
		json_object_object_add(f, fail_name(&ld->fails[i], buf, sizeof(buf)),
				       json_object_new_int64((int64_t)ld->fails[i].n));
	if (ld->fail_other)
		json_object_object_add(f, "other", json_object_new_int64((int64_t)ld->fail_other));
	json_object_object_add(j, "failures", f);
	json_object_object_add(j, "tx", json_object_new_int64((int64_t)ld->tx));
	json_object_object_add(j, "rx", json_object_new_int64((int64_t)ld->rx));
	json_object_object_add(j, "retransmits", json_object_new_int64((int64_t)st.retransmits));
	json_object_object_add(j, "cpu_seconds", json_object_new_double(ld->cpu_open_s));
	json_object_object_add(b, "spis", json_object_new_int64((int64_t)ld->spis));
	json_object_object_add(b, "sas_added", json_object_new_int64((int64_t)ld->sas_added));
	json_object_object_add(b, "policies_added", json_object_new_int64((int64_t)ld->pols_added));
	json_object_object_add(b, "sas_removed", json_object_new_int64((int64_t)ld->sas_deleted));
	json_object_object_add(b, "policies_removed",
			       json_object_new_int64((int64_t)ld->pols_deleted));
	json_object_object_add(j, "backend", b);
	if (ld->t_del_us) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "started", json_object_new_int64((int64_t)ld->del_started));
		json_object_object_add(d, "deleted", json_object_new_int64((int64_t)ld->deleted));
		json_object_object_add(d, "unanswered",
				       json_object_new_int64((int64_t)ld->del_unanswered));
		json_object_object_add(d, "seconds", json_object_new_double(s->del_s));
		json_object_object_add(d, "rate", json_object_new_double(s->del_rate));
		json_object_object_add(j, "delete", d);
	}
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [OPTIONS] --psk SECRET RESPONDER\n"
"       " PROG " [OPTIONS] --cert FILE --key FILE --id ID --ca FILE RESPONDER\n"
"\n"
"Open N IKE SAs, each with one CHILD_SA, against the IKEv2 responder at the\n"
"address RESPONDER (xiked, strongSwan's charon, any RFC 7296 peer), and report\n"
"handshakes per second, latency (IKE_SA_INIT sent to CHILD_SA up, p50/p90/p99)\n"
"and failures by notify.  CHILD_SAs go to an in-memory backend: nothing is\n"
"installed in this host's kernel.\n"
"\n"
"  -n, --count N        IKE SAs to open (default 1000)\n"
"  -r, --rate R         start R handshakes per second (default 0: as fast as\n"
"                       the window allows)\n"
"  -w, --window W       at most W handshakes (and DELETEs) in flight (default 64)\n"
"  -p, --port PORT      the responder's port (default 500; 4500 frames IKE\n"
"                       behind the non-ESP marker)\n"
"  -s, --sockets K      UDP sockets, each with its own source port; SA i uses\n"
"                       socket i mod K (default 64, at most N)\n"
"      --sport P        bind socket j to port P+j (default: ephemeral ports)\n"
"      --src CIDR       source addresses: socket j binds host j mod M of CIDR\n"
"                       (M = its size, or K if smaller).  They must be local,\n"
"                       e.g. `ip route add local CIDR dev lo`, and the responder\n"
"                       must route them back\n"
"      --ike PROPOSALS  IKE proposals, strongSwan syntax (default\n"
"                       aes128gcm16-prfsha256-x25519)\n"
"      --esp PROPOSALS  ESP proposals (default aes128gcm16)\n"
	);
	/* In parts: C11 promises string literals of 4095 characters only. */
	fprintf(f,
"      --psk SECRET     pre-shared key; 0x... is hex (required unless --cert\n"
"                       and --ca are both given)\n"
"      --cert FILE      sign with a certificate instead of the PSK: our\n"
"                       certificate (PEM or DER), then any intermediate CA\n"
"                       certificates (PEM, same file), sent in CERT payloads;\n"
"                       needs --key and --id (an identity the certificate\n"
"                       carries, the same for every SA)\n"
"      --key FILE       the private key of --cert (PEM or DER, not encrypted)\n"
"      --ca FILE        the responder must sign with a certificate that chains\n"
"                       to a CA certificate of FILE (PEM, several allowed)\n"
"                       instead of using the PSK\n"
"      --id PATTERN     our identity; %%d is the SA's index (default\n"
"                       load-%%d@xike.test).  Give every SA its own: an SA\n"
"                       sends INITIAL_CONTACT, and a responder drops older SAs\n"
"                       of the same identity.  With --cert: one identity of\n"
"                       the certificate, no %%d (the responder must then not\n"
"                       act on INITIAL_CONTACT for it)\n"
"      --remote-id ID   the responder's identity to insist on (default: any)\n"
"      --ts CIDR        inner address pool: SA i proposes host i of CIDR as its\n"
"                       local selector (default: our own address, the same for\n"
"                       every SA; a responder that installs kernel policies\n"
"                       refuses duplicate ones, so give a pool for N > 1)\n"
"      --remote-ts LIST remote selectors, comma-separated CIDRs (default: the\n"
"                       responder's address)\n"
"      --mode MODE      tunnel (default) or transport\n"
"      --first I        index of the first SA, for %%d and --ts (default 0; lets\n"
"                       several generators run side by side)\n"
"      --hold SECS      keep the SAs up this long once opened (default 0; -1:\n"
"                       until SIGINT or SIGTERM)\n"
"  -d, --delete         then DELETE every IKE SA and wait for the answers\n"
"      --timeout SECS   give up on the opening (and on the deleting) after SECS\n"
"                       (default 300; 0: never)\n"
"      --retransmit MS  first retransmission after MS (default 4000), then\n"
"      --tries N        N tries in all (default 5)\n"
"      --ready-file F   write \"started S up U failed F\" to F once the opening\n"
"                       is over (for scripts that measure the responder then)\n"
"      --json           the report as JSON on stdout\n"
"  -q, --quiet          no progress line (by default one a second on stderr)\n"
"  -v, --verbose        the engine's log on stderr (-vv, -vvv: more)\n"
"  -h, --help           this text\n"
"\n"
"A first signal stops opening and goes on to --delete; a second one quits.\n"
"Exit status: 0 when every SA came up (and, with --delete, went down on\n"
"request), 1 when some did not, 2 on a usage or setup error.\n");
}

static long long parse_num(const char *opt, const char *v, long long min, long long max)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		die("%s: '%s' is not a number from %lld to %lld", opt, v, min, max);
	return n;
}

static double parse_secs(const char *opt, const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= -1) || d > 1e7)
		die("%s: '%s' is not a number of seconds", opt, v);
	return d;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* As xiked.conf reads psk: 0x... is hex, anything else the bytes themselves. */
static void parse_psk(struct opts *o, const char *v)
{
	size_t len = strlen(v);

	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		size_t n = len - 2;

		if (n % 2 || n / 2 > sizeof(o->psk))
			die("--psk: odd number of hex digits, or longer than %d bytes", IKE_PSK_MAX);
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval((unsigned char)v[2 + 2 * i]);
			int lo = hexval((unsigned char)v[3 + 2 * i]);

			if (hi < 0 || lo < 0)
				die("--psk: '%c%c' is not hex", v[2 + 2 * i], v[3 + 2 * i]);
			o->psk[i] = (uint8_t)(hi << 4 | lo);
		}
		o->psk_len = n / 2;
		return;
	}
	if (len == 0 || len > sizeof(o->psk))
		die("--psk: empty or longer than %d bytes", IKE_PSK_MAX);
	memcpy(o->psk, v, len);
	o->psk_len = len;
}

static void check_id_pattern(struct opts *o)
{
	struct ike_id id;

	for (const char *p = o->id_pat; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'd')
			o->id_has_index = true;
		else if (p[1] != '%')
			die("--id: only %%d and %%%% may follow a %% in '%s'", o->id_pat);
		p++;
	}
	if (make_id(o->id_pat, o->first, &id) < 0)
		die("--id: '%s' does not make an identity", o->id_pat);
}

/*
 * A key, certificate or CA file, whole (at most IKE_CRED_BLOB_MAX bytes).
 * The caller frees it, and wipes it first if it holds a private key.
 */
static uint8_t *read_blob(const char *opt, const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	if (!f)
		die("%s %s: %s", opt, path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode))
		die("%s %s: not a regular file", opt, path);
	if (st.st_size <= 0 || (uint64_t)st.st_size > IKE_CRED_BLOB_MAX)
		die("%s %s: empty, or larger than %u bytes", opt, path, IKE_CRED_BLOB_MAX);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		die("out of memory");
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (*len != (size_t)st.st_size)
		die("%s %s: cannot read it", opt, path);
	fclose(f);
	return buf;
}

/*
 * Our key and certificate (--key, --cert) and the responder's CAs (--ca),
 * as the engine takes them.  Our identity must be in our certificate, or
 * every responder refuses every SA: say so now, not N times later.
 */
static void load_credentials(struct opts *o)
{
	const char *why = NULL;
	uint8_t *blob;
	size_t len;
	int err;

	if (o->key_file) {
		const uint8_t *der;
		struct ike_cert *own;
		struct ike_id id;
		bool bad_id;

		blob = read_blob("--key", o->key_file, &len);
		err = ike_cred_new(blob, len, &o->cred, &why);
		xk_free_secret(blob, len);
		if (err < 0)
			die("--key %s: %s", o->key_file, why ? why : strerror(-err));
		blob = read_blob("--cert", o->cert_file, &len);
		err = ike_cred_add_certs(o->cred, blob, len, &why);
		free(blob);
		if (err < 0)
			die("--cert %s: %s", o->cert_file, why ? why : strerror(-err));
		der = ike_cred_cert(o->cred, 0, &len);
		own = der ? ike_cert_parse(der, len, &why) : NULL;
		if (!own)
			die("--cert %s: %s", o->cert_file, der && why ? why : "no certificate");
		bad_id = make_id(o->id_pat, o->first, &id) < 0 || ike_cert_has_id(own, &id) < 0;
		ike_cert_free(own);
		if (bad_id)
			die("--id %s is not an identity of the certificate in %s (its "
			    "subjectAltNames, or its subject DN)", o->id_pat, o->cert_file);
	}
	if (o->ca_file) {
		o->trust = ike_trust_new();
		if (!o->trust)
			die("out of memory");
		blob = read_blob("--ca", o->ca_file, &len);
		err = ike_trust_add_ca(o->trust, blob, len, &why);
		free(blob);
		if (err < 0)
			die("--ca %s: %s", o->ca_file, why ? why : strerror(-err));
	}
}

enum {
	O_SPORT = 256, O_SRC, O_IKE, O_ESP, O_PSK, O_CERT, O_KEY, O_CA, O_ID, O_REMOTE_ID, O_TS, O_REMOTE_TS, O_MODE,
	O_FIRST, O_HOLD, O_TIMEOUT, O_RETRANSMIT, O_TRIES, O_READY, O_JSON,
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "port", required_argument, NULL, 'p' },
		{ "sockets", required_argument, NULL, 's' },
		{ "sport", required_argument, NULL, O_SPORT },
		{ "src", required_argument, NULL, O_SRC },
		{ "ike", required_argument, NULL, O_IKE },
		{ "esp", required_argument, NULL, O_ESP },
		{ "psk", required_argument, NULL, O_PSK },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "id", required_argument, NULL, O_ID },
		{ "remote-id", required_argument, NULL, O_REMOTE_ID },
		{ "ts", required_argument, NULL, O_TS },
		{ "remote-ts", required_argument, NULL, O_REMOTE_TS },
		{ "mode", required_argument, NULL, O_MODE },
		{ "first", required_argument, NULL, O_FIRST },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "delete", no_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "retransmit", required_argument, NULL, O_RETRANSMIT },
		{ "tries", required_argument, NULL, O_TRIES },
		{ "ready-file", required_argument, NULL, O_READY },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *remote_ts = NULL, *port = NULL;
	bool have_sockets = false;
	char err[128];
	int c;

	*o = (struct opts){
		.count = 1000,
		.window = 64,
		.sockets = 64,
		.ike_str = "aes128gcm16-prfsha256-x25519",
		.esp_str = "aes128gcm16",
		.id_pat = "load-%d@xike.test",
		.mode = XK_MODE_TUNNEL,
		.timeout_s = 300,
	};
	while ((c = getopt_long(argc, argv, "n:r:w:p:s:dqvh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->count = (uint64_t)parse_num("--count", optarg, 1, 100000000); break;
		case 'r':
			o->rate = parse_secs("--rate", optarg);
			if (o->rate < 0)
				die("--rate: '%s' is negative", optarg);
			break;
		case 'w': o->window = (uint32_t)parse_num("--window", optarg, 1, 1000000); break;
		case 'p': port = optarg; break;
		case 's':
			o->sockets = (uint32_t)parse_num("--sockets", optarg, 1, 60000);
			have_sockets = true;
			break;
		case O_SPORT: o->sport = (uint16_t)parse_num("--sport", optarg, 1, 65535); break;
		case O_SRC:
			if (parse_cidr(optarg, &o->src) < 0)
				die("--src: '%s' is not a CIDR (like 10.1.0.0/16)", optarg);
			o->have_src = true;
			break;
		case O_IKE: o->ike_str = optarg; break;
		case O_ESP: o->esp_str = optarg; break;
		case O_PSK: parse_psk(o, optarg); break;
		case O_CERT: o->cert_file = optarg; break;
		case O_KEY: o->key_file = optarg; break;
		case O_CA: o->ca_file = optarg; break;
		case O_ID:
			o->id_pat = optarg;
			o->have_id = true;
			break;
		case O_REMOTE_ID:
			if (ike_id_parse(optarg, &o->remote_id) < 0)
				die("--remote-id: '%s' is not an identity", optarg);
			break;
		case O_TS:
			if (parse_cidr(optarg, &o->ts_pool) < 0)
				die("--ts: '%s' is not a CIDR (like 10.128.0.0/10)", optarg);
			o->have_ts = true;
			break;
		case O_REMOTE_TS: remote_ts = optarg; break;
		case O_MODE:
			if (!strcmp(optarg, "tunnel"))
				o->mode = XK_MODE_TUNNEL;
			else if (!strcmp(optarg, "transport"))
				o->mode = XK_MODE_TRANSPORT;
			else
				die("--mode: '%s' is not tunnel or transport", optarg);
			break;
		case O_FIRST: o->first = (uint64_t)parse_num("--first", optarg, 0, 1LL << 40); break;
		case O_HOLD: o->hold_s = parse_secs("--hold", optarg); break;
		case 'd': o->del = true; break;
		case O_TIMEOUT:
			o->timeout_s = parse_secs("--timeout", optarg);
			if (o->timeout_s < 0)
				die("--timeout: '%s' is negative", optarg);
			break;
		case O_RETRANSMIT:
			o->retransmit_ms = (uint32_t)parse_num("--retransmit", optarg, 1, 600000);
			break;
		case O_TRIES: o->retransmit_tries = (uint32_t)parse_num("--tries", optarg, 1, 100); break;
		case O_READY: o->ready_file = optarg; break;
		case O_JSON: o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, PROG ": %s\n", optind == argc ? "which responder? (an IP address)"
							       : "one responder address only");
		usage(stderr);
		exit(2);
	}
	if (xk_addr_parse(argv[optind], &o->remote) < 0)
		die("'%s' is not an IP address", argv[optind]);
	o->remote.port = port ? (uint16_t)parse_num("--port", port, 1, 65535) : 500;
	if (!o->cert_file != !o->key_file)
		die("--cert and --key go together");
	if (o->cert_file && !o->have_id)
		die("--cert needs --id: an identity the certificate carries (a subjectAltName, "
		    "or its subject DN)");
	if (!o->psk_len && !(o->cert_file && o->ca_file))
		die("--psk is required (unless --cert and --ca are both given)");
	if (o->have_src && o->src.family != o->remote.family)
		die("--src and the responder are of different address families");
	if (!have_sockets && o->sockets > o->count)
		o->sockets = (uint32_t)o->count;
	if (o->sport && (uint32_t)o->sport + o->sockets - 1 > 65535)
		die("--sport %u with %u sockets runs past port 65535", o->sport, o->sockets);
	o->n_ike = ike_proposals_parse(o->ike_str, IKEV2_PROTO_IKE, o->ike, IKE_MAX_PROPOSALS, err,
				       sizeof(err));
	if (o->n_ike < 0)
		die("--ike: %s", err);
	o->n_esp = ike_proposals_parse(o->esp_str, IKEV2_PROTO_ESP, o->esp, IKE_MAX_PROPOSALS, err,
				       sizeof(err));
	if (o->n_esp < 0)
		die("--esp: %s", err);
	check_id_pattern(o);
	if (o->cert_file && o->id_has_index)
		die("--id: with --cert every SA sends an identity of the certificate: no %%d");
	load_credentials(o);
	if (o->have_ts && (pool_size(&o->ts_pool) < o->count ||
			   pool_size(&o->ts_pool) - o->count < o->first))
		die("--ts: the pool has %llu addresses, %llu SAs from index %llu need more",
		    (unsigned long long)pool_size(&o->ts_pool), (unsigned long long)o->count,
		    (unsigned long long)o->first);
	if (remote_ts) {
		char *copy = strdup(remote_ts), *save = NULL;

		if (!copy)
			die("out of memory");
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			if (o->n_remote_ts == IKE_MAX_TS)
				die("--remote-ts: at most %d selectors", IKE_MAX_TS);
			if (xk_ts_parse(t, &o->remote_ts[o->n_remote_ts++]) < 0)
				die("--remote-ts: '%s' is not a CIDR", t);
		}
		free(copy);
	}
	if (o->count > 1 && o->cred && !o->quiet)
		fprintf(stderr, PROG ": note: every SA has the certificate's identity '%s': the "
				"responder must not drop older SAs on INITIAL_CONTACT (xiked: no "
				"remote-id; charon: unique = never)\n", o->id_pat);
	else if (o->count > 1 && !o->id_has_index && !o->quiet)
		fprintf(stderr, PROG ": warning: every SA has the identity '%s' (no %%d): a "
				"responder may take each INITIAL_CONTACT as a restart and drop the "
				"others\n", o->id_pat);
	if (o->count > 1 && !o->have_ts && !o->quiet)
		fprintf(stderr, PROG ": warning: every CHILD_SA proposes the same selectors (no "
				"--ts): a responder that installs kernel policies may refuse all but "
				"one\n");
}

int main(int argc, char **argv)
{
	static struct load ld;
	struct summary s;
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	int rc;

	parse_args(argc, argv, &ld.o);
	switch (ld.o.verbose) {
	case 0: xk_log_set_level(XK_LOG_ERROR); break;
	case 1: xk_log_set_level(XK_LOG_NOTICE); break;
	case 2: xk_log_set_level(XK_LOG_INFO); break;
	default: xk_log_set_level(XK_LOG_DEBUG); break;
	}
	/* One descriptor per socket, plus a few. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < ld.o.sockets + 16u &&
	    rl.rlim_max >= ld.o.sockets + 16u) {
		rl.rlim_cur = ld.o.sockets + 16u;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ld.recs = calloc(ld.o.count, sizeof(*ld.recs));
	if (!ld.recs)
		die("out of memory for %llu SAs", (unsigned long long)ld.o.count);
	ld.ep = epoll_create1(EPOLL_CLOEXEC);
	if (ld.ep < 0)
		die("epoll_create1: %s", strerror(errno));
	if (getrandom(&ld.spi_next, sizeof(ld.spi_next), 0) != sizeof(ld.spi_next))
		die("getrandom: %s", strerror(errno));
	ld.spi_next |= 0xc0000000u; /* 2^30 SPIs before a wrap */
	open_slots(&ld);
	run(&ld);
	summarize(&ld, &s);
	if (ld.o.json)
		report_json(&ld, &s);
	else
		report_text(&ld, &s);
	fflush(stdout);
	rc = ld.up == ld.started && ld.started > 0 && !ld.lost &&
			     (!ld.o.del || ld.deleted == ld.del_started)
		     ? 0
		     : 1;
	close_slots(&ld);
	close(ld.ep);
	xk_wipe(ld.o.psk, sizeof(ld.o.psk));
	/* The engines let go of theirs in close_slots(); this is the last. */
	if (ld.o.cred)
		ike_cred_free(ld.o.cred);
	if (ld.o.trust)
		ike_trust_free(ld.o.trust);
	free(ld.recs);
	return rc;
}
