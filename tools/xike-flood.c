/* SPDX-License-Identifier: ISC */
/*
 * xike-flood: an IKE_SA_INIT flood from many source addresses, for
 * tools/bench-flood.  Not a tool for anyone else's network: it runs only
 * inside a named network namespace (`ip netns exec`), sends only to a test
 * address (RFC 1918, RFC 2544) given on the command line, and only from
 * addresses local to that namespace.
 *
 * Every datagram is a valid-looking IKE_SA_INIT request (RFC 7296 section
 * 1.2): HDR with a fresh SPIi, SA with one proposal the responder accepts,
 * KE with a random X25519 public value, Ni, and the two NAT_DETECTION
 * notifies computed for the address it claims (section 2.23).  Each one
 * comes from the next address of --src, port 500, as a new peer would.
 *
 * The source addresses are made local to the namespace by a route
 * (`ip route add local CIDR dev lo`), so one UDP socket bound to port 500
 * sends from any of them (IP_PKTINFO) and receives what the responder
 * answers them, when the responder routes CIDR back to this namespace.
 * The answers are counted, never answered: a COOKIE is not returned, which
 * is what a spoofed address does (section 2.6).
 *
 * Paced in 1 ms slices at --rate datagrams per second (0: as fast as the
 * socket takes them) for --time seconds, then answers are read for one
 * more second (also after a first SIGINT or SIGTERM).  Plain poll and
 * sendmmsg; no engine, only its encoder, parser and NAT hash.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ike/crypto.h"
#include "ike/ike_sa.h"
#include "ike/payload.h"
#include "ike/proposal.h"

#define PROG "xike-flood"
#define BATCH 64
#define PKT_MAX 512
#define LINGER_US 1000000 /* answers still read after the last request */
#define SLICE_US 1000

struct opts {
	struct in_addr dst, src;
	uint32_t src_size;
	uint16_t port;
	double rate, secs;
	const char *ike_str;
	struct ike_proposal ike;
};

struct counts {
	uint64_t sent, send_err;
	uint64_t answers, cookie, init, other, junk;
};

static volatile sig_atomic_t stop;

/* The first signal ends the sending, a second one the reading of answers. */
static void on_signal(int sig)
{
	(void)sig;
	stop = stop + 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- where it may send ---- */

/*
 * Only inside a namespace made by `ip netns add` (bound under /run/netns),
 * which the host's own namespace never is.
 */
static void check_namespace(void)
{
	struct stat self, ns;
	struct dirent *d;
	char path[300];
	bool found = false;
	DIR *dir;

	if (stat("/proc/self/ns/net", &self) < 0)
		errx(2, "cannot read /proc/self/ns/net: refusing to send");
	dir = opendir("/run/netns");
	while (dir && !found && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "/run/netns/%s", d->d_name);
		found = d->d_name[0] != '.' && stat(path, &ns) == 0 &&
			ns.st_ino == self.st_ino && ns.st_dev == self.st_dev;
	}
	if (dir)
		closedir(dir);
	if (!found)
		errx(2, "runs only inside a test network namespace (ip netns exec NS " PROG " ...)");
}

/* RFC 1918 and RFC 2544's benchmarking range: test addresses only. */
static bool is_test_addr(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return (h >> 24) == 10 || (h >> 20) == (172u << 4 | 1) || (h >> 16) == (192u << 8 | 168) ||
	       (h >> 17) == (198u << 7 | 9);
}

/* ---- the requests ---- */

static void addr_of(struct in_addr a, uint16_t port, struct xk_addr *out)
{
	*out = (struct xk_addr){ .family = XK_AF_INET, .port = port };
	memcpy(out->ip, &a.s_addr, 4);
}

/* HDR, SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP). */
static size_t build(const struct opts *o, struct in_addr src, uint8_t *buf)
{
	uint8_t rnd[8 + 32 + 32], h[20];
	struct xk_addr a;
	struct ike_hdr hdr = { .exch = IKEV2_EXCH_IKE_SA_INIT, .flags = IKEV2_FLAG_INITIATOR };
	struct ike_mb mb;
	int n;

	if (ike_random(rnd, sizeof(rnd)) < 0)
		errx(2, "no random bytes");
	memcpy(&hdr.spi_i, rnd, 8);
	ike_mb_init(&mb, buf, PKT_MAX, &hdr);
	ike_mb_sa(&mb, &o->ike, 1);
	/* Any 32 octets are an X25519 public value the responder must use. */
	ike_mb_ke(&mb, IKEV2_DH_CURVE25519, rnd + 8, 32);
	ike_mb_nonce(&mb, rnd + 40, 32);
	addr_of(src, 500, &a);
	ike_nat_hash(hdr.spi_i, 0, &a, h);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_NAT_DETECTION_SOURCE_IP, h, sizeof(h));
	addr_of(o->dst, o->port, &a);
	ike_nat_hash(hdr.spi_i, 0, &a, h);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_NAT_DETECTION_DESTINATION_IP, h, sizeof(h));
	n = ike_mb_finish(&mb);
	if (n < 0)
		errx(2, "request too large");
	return (size_t)n;
}

/* Host i of the source prefix, network and broadcast addresses left out. */
static struct in_addr src_nth(const struct opts *o, uint64_t i)
{
	uint32_t base = ntohl(o->src.s_addr);

	return (struct in_addr){ .s_addr = htonl(base + 1 + (uint32_t)(i % o->src_size)) };
}

/* ---- sending and counting ---- */

struct out_msg {
	uint8_t buf[PKT_MAX];
	struct iovec iov;
	/* Aligned for its struct cmsghdr. */
	_Alignas(size_t) char ctl[CMSG_SPACE(sizeof(struct in_pktinfo))];
};

static void send_batch(int fd, const struct opts *o, struct counts *c, unsigned n)
{
	static struct out_msg m[BATCH];
	struct mmsghdr hdr[BATCH];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(o->port),
				  .sin_addr = o->dst };
	int r;

	for (unsigned i = 0; i < n; i++) {
		struct in_addr src = src_nth(o, c->sent + i);
		struct cmsghdr *cm;
		struct in_pktinfo pi = { .ipi_spec_dst = src };

		m[i].iov = (struct iovec){ m[i].buf, build(o, src, m[i].buf) };
		hdr[i] = (struct mmsghdr){ .msg_hdr = {
			.msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &m[i].iov,
			.msg_iovlen = 1, .msg_control = m[i].ctl,
			.msg_controllen = sizeof(m[i].ctl) } };
		cm = CMSG_FIRSTHDR(&hdr[i].msg_hdr);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	r = sendmmsg(fd, hdr, n, 0);
	if (r < 0) {
		/* A full queue is the flood's own limit; anything else a setup error. */
		if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS)
			err(2, "sendmmsg to %s", inet_ntoa(o->dst));
		if (errno != EINTR)
			c->send_err += n;
		return;
	}
	c->sent += (unsigned)r;
	c->send_err += n - (unsigned)r;
}

/* An answer to one of ours: a COOKIE, a real IKE_SA_INIT response, or else. */
static void count_answer(const uint8_t *buf, size_t len, struct counts *c)
{
	struct ike_msg m;
	struct ike_notify nt;

	if (ike_msg_parse(&m, buf, len) < 0 || !(m.hdr.flags & IKEV2_FLAG_RESPONSE) ||
	    m.hdr.exch != IKEV2_EXCH_IKE_SA_INIT) {
		c->junk++;
		return;
	}
	c->answers++;
	if (m.n_pl > 0 && m.pl[0].type == IKEV2_PL_NOTIFY && ike_pl_notify(&m.pl[0], &nt) == 0 &&
	    nt.type == IKEV2_N_COOKIE)
		c->cookie++;
	else if (ike_msg_find(&m, IKEV2_PL_SA))
		c->init++;
	else
		c->other++;
}

static void drain(int fd, struct counts *c)
{
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr hdr[BATCH];
	struct iovec iov[BATCH];
	int n;

	do {
		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			hdr[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		n = recvmmsg(fd, hdr, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			count_answer(bufs[i], hdr[i].msg_len, c);
	} while (n == BATCH);
}

static int open_socket(const struct opts *o)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(500) };
	struct sockaddr_in first = { .sin_family = AF_INET, .sin_addr = src_nth(o, 0) };
	int big = 8 << 20, fd, probe;

	/* The prefix must be local here, or the answers go elsewhere. */
	probe = socket(AF_INET, SOCK_DGRAM, 0);
	if (probe < 0 || bind(probe, (struct sockaddr *)&first, sizeof(first)) < 0)
		err(2, "%s is not local in this namespace (ip route add local CIDR dev lo)",
		    inet_ntoa(first.sin_addr));
	close(probe);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		err(2, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0)
		err(2, "bind port 500");
	return fd;
}

static void run(const struct opts *o, int fd, struct counts *c, double *secs)
{
	uint64_t t0 = now_us(), end = t0 + (uint64_t)(o->secs * 1e6), t;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (!stop && (t = now_us()) < end) {
		uint64_t due = o->rate > 0 ? (uint64_t)((double)(t - t0) * o->rate / 1e6) : UINT64_MAX;
		uint64_t todo = due > c->sent + c->send_err ? due - c->sent - c->send_err : 0;

		if (todo) {
			send_batch(fd, o, c, todo < BATCH ? (unsigned)todo : BATCH);
			if (todo >= BATCH)
				drain(fd, c);
			continue;
		}
		/* Ahead of the pace: read answers until the next slice. */
		if (poll(&pfd, 1, SLICE_US / 1000) > 0)
			drain(fd, c);
	}
	*secs = (double)(now_us() - t0) / 1e6;
	for (end = now_us() + LINGER_US; stop < 2 && (t = now_us()) < end;) {
		if (poll(&pfd, 1, (int)((end - t) / 1000) + 1) > 0)
			drain(fd, c);
	}
	drain(fd, c);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [OPTIONS] --src CIDR DESTINATION\n"
"\n"
"Send IKE_SA_INIT requests to DESTINATION (an IPv4 address in 10/8,\n"
"172.16/12, 192.168/16 or 198.18/15), each from the next address of CIDR,\n"
"at a fixed rate, and count what comes back.  Runs only inside a named\n"
"network namespace (ip netns exec).  CIDR must be local there\n"
"(`ip route add local CIDR dev lo`) and routed back to it by the responder.\n"
"\n"
"  -r, --rate PPS       requests per second (default 10000; 0: as fast as\n"
"                       the socket takes them)\n"
"  -t, --time SECS      for this long (default 10; a signal ends it sooner)\n"
"  -p, --port PORT      the responder's port (default 500)\n"
"      --src CIDR       source addresses, IPv4, /8 to /30 (required)\n"
"      --ike PROPOSAL   the proposal offered (default\n"
"                       aes128gcm16-prfsha256-x25519; the KE is X25519)\n"
"  -h, --help           this text\n"
"\n"
"Report, one line on stdout: sent N seconds S rate R send-errors E\n"
"answers A cookie C init I other O junk J (cookie: a COOKIE notify first;\n"
"init: a real IKE_SA_INIT response, i.e. state was made for it; other: any\n"
"other answer, such as an error notify; junk: datagrams that were not\n"
"IKE_SA_INIT responses).\n");
}

static double parse_num(const char *opt, const char *v, double max)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !(d >= 0) || d > max)
		errx(2, "%s: bad value %s", opt, v);
	return d;
}

static void parse_src(const char *s, struct opts *o)
{
	char buf[32], *slash;
	long plen;

	if (strlen(s) >= sizeof(buf))
		errx(2, "--src: bad prefix %s", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		errx(2, "--src: a prefix, e.g. 172.16.0.0/12");
	*slash = 0;
	plen = strtol(slash + 1, NULL, 10);
	if (inet_pton(AF_INET, buf, &o->src) != 1 || plen < 8 || plen > 30)
		errx(2, "--src: bad prefix %s (IPv4, /8 to /30)", s);
	o->src.s_addr &= htonl(~0u << (32 - plen));
	if (!is_test_addr(o->src))
		errx(2, "--src: %s is not a test address", s);
	o->src_size = (1u << (32 - plen)) - 2;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "ike", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char why[128];
	int ch;

	*o = (struct opts){ .port = 500, .rate = 10000, .secs = 10,
			    .ike_str = "aes128gcm16-prfsha256-x25519" };
	while ((ch = getopt_long(argc, argv, "r:t:p:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': o->rate = parse_num("--rate", optarg, 1e8); break;
		case 't': o->secs = parse_num("--time", optarg, 3600); break;
		case 'p': o->port = (uint16_t)parse_num("--port", optarg, 65535); break;
		case 's': parse_src(optarg, o); break;
		case 'i': o->ike_str = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind + 1 != argc || !o->src_size) {
		usage(stderr);
		exit(2);
	}
	if (inet_pton(AF_INET, argv[optind], &o->dst) != 1 || !is_test_addr(o->dst))
		errx(2, "%s: not a test address (10/8, 172.16/12, 192.168/16, 198.18/15)",
		    argv[optind]);
	if (ike_proposals_parse(o->ike_str, IKEV2_PROTO_IKE, &o->ike, 1, why, sizeof(why)) != 1)
		errx(2, "--ike: %s", why);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct counts c = { 0 };
	double secs;
	int fd;

	parse_args(argc, argv, &o);
	check_namespace();
	fd = open_socket(&o);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	run(&o, fd, &c, &secs);
	close(fd);
	printf("sent %llu seconds %.3f rate %.0f send-errors %llu answers %llu cookie %llu "
	       "init %llu other %llu junk %llu\n",
	       (unsigned long long)c.sent, secs, secs > 0 ? (double)c.sent / secs : 0.0,
	       (unsigned long long)c.send_err, (unsigned long long)c.answers,
	       (unsigned long long)c.cookie, (unsigned long long)c.init,
	       (unsigned long long)c.other, (unsigned long long)c.junk);
	return 0;
}
