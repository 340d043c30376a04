/* SPDX-License-Identifier: ISC */
/*
 * xk-esp: run esp-soft in the current network namespace with SAs and
 * policies from the command line, until SIGINT/SIGTERM; for the netns tests
 * and the benchmark.  Everything goes through src/esp-soft exactly as the
 * daemon will call it (esp_soft.h); nothing here touches packets.
 *
 *   xk-esp [OPTION...]
 *     --dev NAME          TUN device (default: xike%d, the kernel picks)
 *     --port N            NAT-T port (4500)
 *     --workers N         worker threads (default: one per CPU)
 *     --mark M            SO_MARK for esp-soft's sockets
 *     --mtu N             TUN MTU (1400)
 *     --raw               also open raw ESP (protocol 50) sockets
 *     --no-offload        plain TUN, without TSO and coalescing
 *     --sa-in  "SA"       an inbound SA, --sa-out "SA" an outbound one:
 *         SRC DST SPI REQID MODE ENC KEYHEX [INTEG KEYHEX] [OPTION...]
 *         MODE: tunnel|transport   ENC: aes128gcm16 aes256gcm16
 *         chacha20poly1305 aes128 aes256   INTEG: sha256 sha384 sha512
 *         OPTION: esn  window N  noencap  encap SPORT DPORT  soft-secs N
 *                 hard-secs N  soft-packets N  hard-packets N
 *     --policy "SRC_TS DST_TS in|out|fwd REQID MODE [TSRC TDST] [prio N]"
 *     --ike-echo          answer every IKE datagram with "echo:" + it
 *     --ike-hello DST     send "hello" as IKE to DST:port each second until
 *                         an echo comes back, each with a NAT keepalive
 *                         before it; then print "ike-echo-ok"
 *     --stats SECS        print counters every SECS seconds
 *     --ready FILE        write "IFNAME IFINDEX" to FILE once running
 *   xk-esp bench [ENC [SIZE [MSEC]]]
 *         encap and decap SIZE-byte payloads on one thread for MSEC ms
 *   xk-esp bench-tunnels [N [MSEC]]
 *         the outbound path (policy, SA, AES-128-GCM) of 64-byte packets
 *         over N tunnels (20000), against one tunnel
 *         each, no I/O; prints MB/s and packets/s (no root needed)
 *
 * SIGUSR1 prints the counters; on exit it prints them and every SA's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"
#include "common/secret.h"
#include "esp-soft/esp.h"
#include "esp-soft/esp_soft.h"

#define MAX_SA 64

const char cli_prog[] = "xk-esp";

static struct esp_soft *es;
static struct xk_sa_id sa_ids[MAX_SA];
static int n_sa_ids;
static bool ike_echo;
static struct xk_addr hello_dst;
static bool hello_ok;

/* Split a quoted argument into words (modified in place). */
static int words(char *s, char **w, int max)
{
	int n = 0;

	for (char *t = strtok(s, " \t"); t && n < max; t = strtok(NULL, " \t"))
		w[n++] = t;
	return n;
}

static void add_sa(char *spec, bool inbound, uint16_t port)
{
	char *w[32];
	int n = words(spec, w, 32), i, k, err;
	struct xk_sa sa = { .inbound = inbound, .replay_window = 128, .encap = true };

	i = cli_sa(n, w, &sa, "--sa-in/--sa-out \"SRC DST SPI REQID MODE ENC KEY [INTEG KEY] ...\"");
	sa.src.port = sa.dst.port = port;
	for (; i < n; i++) {
		k = cli_sa_option(n, w, i, &sa);
		if (k >= 0)
			i += k;
		else if (strcmp(w[i], "noencap") == 0)
			sa.encap = false;
		else
			cli_die("unknown SA option", w[i]);
	}
	err = esp_soft_add_sa(es, &sa);
	xk_wipe(&sa, sizeof(sa));
	if (err < 0)
		cli_die("add SA", strerror(-err));
	if (n_sa_ids < MAX_SA) {
		struct xk_sa_id *id = &sa_ids[n_sa_ids++];

		cli_addr(w[1], &id->dst);
		id->spi = cli_num(w[2]);
		id->proto = 50;
	}
	/* The key was in argv: wipe what we can of it. */
	xk_wipe(w[6], strlen(w[6]));
}

static void add_policy(char *spec)
{
	char *w[16];
	int n = words(spec, w, 16), err;
	struct xk_policy p;

	cli_policy(n, w, &p, "--policy \"SRC_TS DST_TS DIR REQID MODE [TSRC TDST] [prio N]\"");
	err = esp_soft_add_policy(es, &p);
	if (err < 0)
		cli_die("add policy", strerror(-err));
}

static void print_stats(void)
{
	struct esp_soft_stats st;

	esp_soft_get_stats(es, &st);
	printf("stats rx_packets=%llu rx_bytes=%llu tx_packets=%llu tx_bytes=%llu ike_in=%llu "
	       "ike_out=%llu keepalives=%llu keepalives_out=%llu",
	       (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes,
	       (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
	       (unsigned long long)st.ike_in, (unsigned long long)st.ike_out,
	       (unsigned long long)st.keepalives, (unsigned long long)st.keepalives_out);
	for (int d = 0; d < ESP_SOFT_DROP_N; d++)
		if (st.drops[d])
			printf(" drop_%s=%llu", esp_soft_drop_name(d),
			       (unsigned long long)st.drops[d]);
	printf("\n");
	fflush(stdout);
}

static void print_sas(void)
{
	for (int i = 0; i < n_sa_ids; i++) {
		struct xk_sa_stats st;
		char a[64];

		if (esp_soft_query_sa(es, &sa_ids[i], &st) < 0)
			continue;
		printf("sa dst=%s spi=0x%08x bytes=%llu packets=%llu replay_drops=%u "
		       "replay_window_drops=%u integrity_failures=%u\n",
		       xk_addr_str(&sa_ids[i].dst, a, sizeof(a)), sa_ids[i].spi,
		       (unsigned long long)st.bytes, (unsigned long long)st.packets,
		       st.replay_drops, st.replay_window_drops, st.integrity_failures);
	}
	fflush(stdout);
}

static void on_event(void *ctx, const struct xk_event *ev)
{
	char a[XK_TS_STRLEN], b[XK_TS_STRLEN];

	(void)ctx;
	switch (ev->type) {
	case XK_EV_ACQUIRE:
		printf("event acquire reqid=%u src=%s dst=%s\n", ev->reqid,
		       xk_ts_str(&ev->pkt_src, a, sizeof(a)), xk_ts_str(&ev->pkt_dst, b, sizeof(b)));
		break;
	case XK_EV_EXPIRE:
		printf("event expire %s spi=0x%08x reqid=%u\n", ev->hard ? "hard" : "soft",
		       ev->sa.spi, ev->reqid);
		break;
	case XK_EV_MAPPING:
		printf("event mapping spi=0x%08x new=%s:%u\n", ev->sa.spi,
		       xk_addr_str(&ev->new_src, a, sizeof(a)), ev->new_src.port);
		break;
	}
	fflush(stdout);
}

static void on_ike(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		   const uint8_t *buf, size_t len)
{
	char a[64], text[80];
	size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;

	(void)ctx;
	for (size_t i = 0; i < n; i++)
		text[i] = buf[i] >= 32 && buf[i] < 127 ? (char)buf[i] : '.';
	text[n] = '\0';
	printf("ike from %s:%u len %zu: %s\n", xk_addr_str(remote, a, sizeof(a)), remote->port,
	       len, text);
	if (ike_echo && len < 1000) {
		uint8_t reply[1024] = "echo:";

		memcpy(reply + 5, buf, len);
		esp_soft_ike_send(es, local, remote, reply, len + 5);
	}
	if (len >= 5 && !memcmp(buf, "echo:", 5) && !hello_ok) {
		hello_ok = true;
		printf("ike-echo-ok\n");
	}
	fflush(stdout);
}

/* ---- bench: the transform alone, one thread ---- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmd_bench(int argc, char **argv)
{
	const char *alg = argc > 0 ? argv[0] : "aes128gcm16";
	size_t size = argc > 1 ? cli_num(argv[1]) : 1400;
	double msec = argc > 2 ? cli_num(argv[2]) : 1000;
	struct xk_sa c = { .spi = 0x1000, .mode = XK_MODE_TUNNEL, .replay_window = 0 };
	struct esp_sa *out, *in;
	static uint8_t payload[65536], pkt[65536 + ESP_MAX_OVERHEAD], work[sizeof(pkt)];
	struct esp_plain pl;
	double t0, t;
	uint64_t n;
	int len;

	if (size > sizeof(payload))
		cli_die("size too big", argv[1]);
	xk_addr_parse("192.0.2.1", &c.src);
	xk_addr_parse("192.0.2.2", &c.dst);
	cli_enc(alg, &c);
	c.enc_key_len = c.enc == XK_ENC_AES_CBC ? (strstr(alg, "256") ? 32 : 16)
		      : c.enc == XK_ENC_AES_GCM_16 ? (strstr(alg, "256") ? 36 : 20) : 36;
	if (c.enc == XK_ENC_AES_CBC) {
		c.integ = XK_INTEG_HMAC_SHA256_128;
		c.integ_key_len = 32;
	}
	memset(c.enc_key, 0x5a, sizeof(c.enc_key));
	memset(c.integ_key, 0xa5, sizeof(c.integ_key));
	if (esp_sa_new(&c, 1, &out) < 0)
		cli_die("SA", alg);
	c.inbound = true;
	/* Window 0: the same packet may be opened again and again. */
	if (esp_sa_new(&c, 1, &in) < 0)
		cli_die("SA", alg);
	memset(payload, 0x42, size);

	/* In place, as the workers do: the payload already sits after the IV. */
	memcpy(pkt + esp_payload_off(out), payload, size);
	n = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++)
			len = esp_encap(out, 0, 4, pkt + esp_payload_off(out), size, pkt,
					sizeof(pkt));
		n += 256;
		t = now_s() - t0;
	} while (t * 1000 < msec);
	printf("encap %s %zu bytes: %.0f packets/s %.1f MB/s\n", alg, size, (double)n / t,
	       (double)n * (double)size / t / 1e6);

	len = esp_encap(out, 0, 4, payload, size, pkt, sizeof(pkt));
	n = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++) {
			/* Decrypting is in place: each round opens a fresh copy. */
			memcpy(work, pkt, (size_t)len);
			if (esp_decap(in, 0, work, (size_t)len, &pl) < 0)
				cli_die("decap failed", alg);
		}
		n += 256;
		t = now_s() - t0;
	} while (t * 1000 < msec);
	printf("decap %s %zu bytes: %.0f packets/s %.1f MB/s\n", alg, size, (double)n / t,
	       (double)n * (double)size / t / 1e6);
	esp_sa_free(out);
	esp_sa_free(in);
	return 0;
}

/*
 * ---- bench-tunnels: the outbound path with many tunnels ----
 * esp_soft_output (SPD lookup, SA, encryption) of 64-byte UDP packets
 * spread over N tunnels, each a host pair with its own policy and SA, as
 * a gateway has them; against one tunnel in the same run.  The per-packet
 * cost must not grow with N.
 */
static double tunnels_rate(unsigned n, double msec)
{
	struct esp_soft_cfg cfg = { .workers = 1 };
	struct esp_soft *bes;
	static uint8_t ip[64], out[64 + ESP_MAX_OVERHEAD];
	uint64_t sent = 0;
	double t0, t;
	int err;

	bes = esp_soft_new(&cfg, &err);
	if (!bes)
		cli_die("esp_soft_new", strerror(-err));
	for (unsigned i = 0; i < n; i++) {
		struct xk_sa sa = { .spi = 0x1000 + i, .mode = XK_MODE_TUNNEL, .reqid = i + 1,
				    .enc = XK_ENC_AES_GCM_16, .enc_key_len = 20 };
		struct xk_policy pol = { .dir = XK_DIR_OUT, .priority = 100, .mode = XK_MODE_TUNNEL,
					 .reqid = i + 1 };
		char a[32];

		xk_addr_parse("192.0.2.1", &sa.src);
		xk_addr_parse("192.0.2.2", &sa.dst);
		memset(sa.enc_key, 0x5a, sizeof(sa.enc_key));
		pol.tmpl_src = sa.src;
		pol.tmpl_dst = sa.dst;
		snprintf(a, sizeof(a), "10.1.%u.%u", i >> 8 & 0xff, i & 0xff);
		xk_ts_parse(a, &pol.src);
		snprintf(a, sizeof(a), "10.2.%u.%u", i >> 8 & 0xff, i & 0xff);
		xk_ts_parse(a, &pol.dst);
		if (esp_soft_add_sa(bes, &sa) < 0 || esp_soft_add_policy(bes, &pol) < 0)
			cli_die("bench-tunnels: cannot install tunnel", a);
	}
	/* IPv4 + UDP, 64 bytes; the addresses change per packet. */
	ip[0] = 0x45;
	ip[3] = sizeof(ip);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = ip[16] = 10;
	ip[13] = 1;
	ip[17] = 2;
	ip[21] = 53;
	t0 = now_s();
	do {
		for (int k = 0; k < 256; k++) {
			/* A stride through the tunnels, not one after another. */
			unsigned i = (unsigned)((sent * 7919) % n);

			ip[14] = ip[18] = (uint8_t)(i >> 8);
			ip[15] = ip[19] = (uint8_t)i;
			if (esp_soft_output(bes, 0, ip, sizeof(ip), out, sizeof(out), NULL) < 0)
				cli_die("bench-tunnels", "a packet found no tunnel");
			sent++;
		}
		t = now_s() - t0;
	} while (t * 1000 < msec);
	esp_soft_free(bes);
	return (double)sent / t;
}

static int cmd_bench_tunnels(int argc, char **argv)
{
	unsigned n = argc > 0 ? cli_num(argv[0]) : 20000;
	double msec = argc > 1 ? cli_num(argv[1]) : 1000;
	double one, many;

	if (n < 1 || n > 65536)
		cli_die("tunnels: 1 to 65536", argv[0]);
	one = tunnels_rate(1, msec);
	many = tunnels_rate(n, msec);
	printf("output, 64-byte packets, 1 tunnel:   %.0f packets/s\n", one);
	printf("output, 64-byte packets, %u tunnels: %.0f packets/s\n", n, many);
	printf("ratio: %u tunnels / 1 tunnel %.2f\n", n, many / one);
	return 0;
}

int main(int argc, char **argv)
{
	struct esp_soft_cfg cfg = { 0 };
	const char *ready = NULL;
	unsigned stats_secs = 0;
	char *sas[2 * MAX_SA], *pols[4 * MAX_SA];
	bool sa_in[2 * MAX_SA];
	int n_sas = 0, n_pols = 0, err, sfd;
	sigset_t mask;
	time_t next_stats = 0, next_hello = 0;

	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "bench-tunnels") == 0)
		return cmd_bench_tunnels(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--raw") == 0) {
			cfg.raw_esp = true;
			continue;
		}
		if (strcmp(o, "--no-offload") == 0) {
			cfg.no_offload = true;
			continue;
		}
		if (strcmp(o, "--ike-echo") == 0) {
			ike_echo = true;
			continue;
		}
		if (!v)
			cli_die("missing value for", o);
		i++;
		if (strcmp(o, "--dev") == 0)
			cfg.ifname = v;
		else if (strcmp(o, "--port") == 0)
			cfg.nat_port = (uint16_t)cli_num(v);
		else if (strcmp(o, "--workers") == 0)
			cfg.workers = (int)cli_num(v);
		else if (strcmp(o, "--mark") == 0)
			cfg.mark = cli_num(v);
		else if (strcmp(o, "--mtu") == 0)
			cfg.mtu = cli_num(v);
		else if ((strcmp(o, "--sa-in") == 0 || strcmp(o, "--sa-out") == 0) &&
			 n_sas < 2 * MAX_SA)
			sa_in[n_sas] = o[5] == 'i', sas[n_sas++] = v;
		else if (strcmp(o, "--policy") == 0 && n_pols < 4 * MAX_SA)
			pols[n_pols++] = v;
		else if (strcmp(o, "--ike-hello") == 0)
			cli_addr(v, &hello_dst);
		else if (strcmp(o, "--stats") == 0)
			stats_secs = cli_num(v);
		else if (strcmp(o, "--ready") == 0)
			ready = v;
		else
			cli_die("unknown option", o);
	}
	es = esp_soft_new(&cfg, &err);
	if (!es)
		cli_die("esp_soft_new", strerror(-err));
	for (int i = 0; i < n_sas; i++)
		add_sa(sas[i], sa_in[i], esp_soft_nat_port(es));
	for (int i = 0; i < n_pols; i++)
		add_policy(pols[i]);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL); /* before the threads inherit it */
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	err = esp_soft_start(es);
	if (err < 0)
		cli_die("start", strerror(-err));
	printf("ready dev=%s ifindex=%d raw=%d\n", esp_soft_ifname(es), esp_soft_ifindex(es),
	       esp_soft_raw_esp(es));
	fflush(stdout);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f)
			cli_die("cannot write", ready);
		fprintf(f, "%s %d\n", esp_soft_ifname(es), esp_soft_ifindex(es));
		fclose(f);
	}

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = esp_soft_ike_fd(es), .events = POLLIN },
			{ .fd = esp_soft_events_fd(es), .events = POLLIN },
		};
		time_t now = time(NULL);

		if (stats_secs && now >= next_stats) {
			if (next_stats)
				print_stats();
			next_stats = now + stats_secs;
		}
		if (hello_dst.family && !hello_ok && now >= next_hello) {
			struct xk_addr d = hello_dst;

			d.port = esp_soft_nat_port(es);
			err = esp_soft_keepalive(es, NULL, &d);
			if (err < 0)
				fprintf(stderr, "xk-esp: keepalive: %s\n", strerror(-err));
			err = esp_soft_ike_send(es, NULL, &d, (const uint8_t *)"hello", 5);
			if (err < 0)
				fprintf(stderr, "xk-esp: ike send: %s\n", strerror(-err));
			next_hello = now + 1;
		}
		if (poll(p, 3, 200) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			esp_soft_ike_read(es, on_ike, NULL);
		if (p[2].revents)
			esp_soft_events_read(es, on_event, NULL);
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGUSR1) {
				print_stats();
				print_sas();
				continue;
			}
			break;
		}
	}
	print_stats();
	print_sas();
	esp_soft_free(es);
	close(sfd);
	return 0;
}
