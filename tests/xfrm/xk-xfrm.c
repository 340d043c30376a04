/* SPDX-License-Identifier: ISC */
/*
 * xk-xfrm: drive the XFRM backend from the shell, for the netns and UML
 * tests (and for poking at a kernel by hand).  Every command goes through
 * src/xfrm exactly as the daemon would; nothing here talks netlink itself.
 *
 *   xk-xfrm probe
 *   xk-xfrm alloc-spi SRC DST
 *   xk-xfrm add-sa SRC DST SPI REQID MODE ENC KEYHEX [INTEG KEYHEX] [OPTION...]
 *       MODE: tunnel|transport  ENC: aes128gcm16 aes256gcm16 chacha20poly1305
 *       aes128 aes256  INTEG: sha256 sha384 sha512
 *       OPTION: esn  window N  encap SPORT DPORT  soft-secs N  hard-secs N
 *               soft-packets N  hard-packets N  mark V/M  if-id N  update
 *   xk-xfrm del-sa DST SPI
 *   xk-xfrm query DST SPI
 *   xk-xfrm add-policy SRC_TS DST_TS in|out|fwd REQID MODE [TSRC TDST] [prio N]
 *   xk-xfrm del-policy SRC_TS DST_TS in|out|fwd
 *   xk-xfrm flush
 *   xk-xfrm monitor COUNT SECONDS
 *   xk-xfrm bench N batch|single        N SA pairs with their policies
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/secret.h"
#include "xfrm/xfrm.h"

const char cli_prog[] = "xk-xfrm";

static struct xfrm *x;

static int report(const char *what, int err)
{
	if (err < 0) {
		fprintf(stderr, "xk-xfrm: %s: %s\n", what, strerror(-err));
		return 1;
	}
	return 0;
}

static int cmd_add_sa(int argc, char **argv)
{
	struct xk_sa sa = { .replay_window = 32 };
	bool update = false;
	int i, n, err;

	i = cli_sa(argc, argv, &sa, "add-sa SRC DST SPI REQID MODE ENC KEY [INTEG KEY] [OPTION...]");
	for (; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		n = cli_sa_option(argc, argv, i, &sa);
		if (n >= 0) {
			i += n;
		} else if (strcmp(o, "update") == 0) {
			update = true;
		} else if (strcmp(o, "if-id") == 0) {
			sa.if_id = cli_num(v), i++;
		} else if (strcmp(o, "mark") == 0) {
			char *slash = i + 1 < argc ? strchr(argv[++i], '/') : NULL;

			if (!slash)
				cli_die("mark needs V/M", v);
			*slash = '\0';
			sa.mark = cli_num(v);
			sa.mark_mask = cli_num(slash + 1);
		} else {
			cli_die("unknown option", o);
		}
	}
	err = update ? xfrm_update_sa(x, &sa) : xfrm_add_sa(x, &sa);
	xk_wipe(&sa, sizeof(sa));
	if (err == -EPROTONOSUPPORT || err == -ENOSYS || err == -ENOENT) {
		struct xfrm_probe p;
		char msg[160];

		xfrm_probe(x, &p);
		sa.enc = XK_ENC_NONE;
		cli_enc(argv[5], &sa);
		if (argc > 7)
			cli_integ(argv[7], &sa);
		if (xfrm_probe_check(&p, sa.enc, sa.integ, msg, sizeof(msg))) {
			fprintf(stderr, "xk-xfrm: add-sa: %s\n", msg);
			return 1;
		}
	}
	return report("add-sa", err);
}

static int cmd_add_policy(int argc, char **argv)
{
	struct xk_policy p;

	cli_policy(argc, argv, &p, "add-policy SRC_TS DST_TS DIR REQID MODE [TSRC TDST] [prio N]");
	return report("add-policy", xfrm_add_policy(x, &p));
}

static void print_ts(const char *k, const struct xk_ts *t)
{
	char b[XK_TS_STRLEN];

	printf(" %s=%s", k, xk_ts_str(t, b, sizeof(b)));
}

static void print_event(void *ctx, const struct xk_event *ev)
{
	char a[64], b[64];

	(void)ctx;
	switch (ev->type) {
	case XK_EV_ACQUIRE:
		printf("acquire reqid=%u dir=%d", ev->reqid, ev->dir);
		print_ts("pkt_src", &ev->pkt_src);
		print_ts("pkt_dst", &ev->pkt_dst);
		print_ts("pol_src", &ev->pol_src);
		print_ts("pol_dst", &ev->pol_dst);
		printf("\n");
		break;
	case XK_EV_EXPIRE:
		printf("expire %s spi=0x%08x reqid=%u dst=%s\n", ev->hard ? "hard" : "soft",
		       ev->sa.spi, ev->reqid, xk_addr_str(&ev->sa.dst, a, sizeof(a)));
		break;
	case XK_EV_MAPPING:
		printf("mapping spi=0x%08x old=%s:%u new=%s:%u\n", ev->sa.spi,
		       xk_addr_str(&ev->old_src, a, sizeof(a)), ev->old_src.port,
		       xk_addr_str(&ev->new_src, b, sizeof(b)), ev->new_src.port);
		break;
	}
	fflush(stdout);
}

static int cmd_monitor(int argc, char **argv)
{
	int want, seen = 0, fd;
	time_t end;

	if (argc < 2)
		cli_die("usage", "monitor COUNT SECONDS");
	want = (int)cli_num(argv[0]);
	end = time(NULL) + cli_num(argv[1]);
	fd = xfrm_events_open(x, 0);
	if (fd < 0)
		return report("monitor", fd);
	printf("listening\n");
	fflush(stdout);
	while (seen < want && time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 200) > 0) {
			int n = xfrm_events_read(x, print_event, NULL);

			if (n < 0)
				return report("monitor", n);
			seen += n;
		}
	}
	return seen >= want ? 0 : 1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* N tunnel-mode SA pairs with out/in/fwd policies, batched or one by one. */
static int cmd_bench(int argc, char **argv)
{
	uint32_t n;
	bool batch;
	struct xfrm_batch *b = NULL;
	double t0, t;
	int err = 0;

	if (argc < 2)
		cli_die("usage", "bench N batch|single");
	n = cli_num(argv[0]);
	batch = strcmp(argv[1], "batch") == 0;
	if (batch)
		b = xfrm_batch_new(x);
	t0 = now_s();
	for (uint32_t i = 0; i < n && !err; i++) {
		struct xk_sa sa = { .mode = XK_MODE_TUNNEL, .enc = XK_ENC_AES_GCM_16,
				    .enc_key_len = 20, .icv_len = 16, .replay_window = 32,
				    .reqid = 0x7c000000 + i };
		struct xk_policy p = { .mode = XK_MODE_TUNNEL, .reqid = sa.reqid, .priority = 1000 };
		char s[64];

		memset(sa.enc_key, 0x11, 20);
		xk_addr_parse("192.0.2.1", &sa.src);
		xk_addr_parse("192.0.2.2", &sa.dst);
		sa.spi = 0xc0000000u + 2 * i;
		snprintf(s, sizeof(s), "10.%u.%u.0/24", (i >> 8) & 255, i & 255);
		xk_ts_parse("10.255.255.0/24", &p.src);
		xk_ts_parse(s, &p.dst);
		p.tmpl_src = sa.src;
		p.tmpl_dst = sa.dst;
		for (int d = 0; d < 2; d++) {
			err = batch ? xfrm_batch_add_sa(b, &sa) : xfrm_add_sa(x, &sa);
			if (err)
				break;
			sa.spi++;
			sa.src = p.tmpl_dst;
			sa.dst = p.tmpl_src;
		}
		for (int d = 0; d < 3 && !err; d++) {
			p.dir = (enum xk_dir)d;
			err = batch ? xfrm_batch_add_policy(b, &p) : xfrm_add_policy(x, &p);
		}
	}
	if (batch && !err)
		err = xfrm_batch_commit(b, NULL);
	t = now_s() - t0;
	xfrm_batch_free(b);
	if (err)
		return report("bench", err);
	printf("%u SA pairs + %u policies %s: %.3f s, %.0f CHILD_SAs/s\n", n, 3 * n,
	       batch ? "batched" : "one at a time", t, n / t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int err = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: xk-xfrm probe|alloc-spi|add-sa|del-sa|query|add-policy|"
				"del-policy|flush|monitor|bench ...\n");
		return 2;
	}
	x = xfrm_open(NULL, &err);
	if (!x)
		return report("open", err);
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "probe") == 0) {
		struct xfrm_probe p;
		static const enum xk_enc encs[] = { XK_ENC_AES_GCM_16, XK_ENC_CHACHA20_POLY1305,
						    XK_ENC_AES_CBC };
		static const enum xk_integ integs[] = { XK_INTEG_HMAC_SHA256_128,
							XK_INTEG_HMAC_SHA384_192,
							XK_INTEG_HMAC_SHA512_256 };
		char msg[160];

		xfrm_probe(x, &p);
		printf("esp %s\n", p.esp ? "yes" : "no");
		for (size_t i = 0; i < 3; i++) {
			const char *m = xfrm_probe_check(&p, encs[i], XK_INTEG_NONE, msg, sizeof(msg));

			printf("%s %s\n", xk_enc_name(encs[i]), m ? m : "yes");
		}
		for (size_t i = 0; i < 3; i++) {
			const char *m = xfrm_probe_check(&p, XK_ENC_NONE, integs[i], msg, sizeof(msg));

			printf("%s %s\n", xk_integ_name(integs[i]), m ? m : "yes");
		}
		err = p.esp ? 0 : 3;
	} else if (strcmp(cmd, "alloc-spi") == 0 && argc >= 2) {
		struct xk_addr s, d;
		uint32_t spi;

		cli_addr(argv[0], &s);
		cli_addr(argv[1], &d);
		err = report("alloc-spi", xfrm_alloc_spi(x, &s, &d, &spi));
		if (!err)
			printf("0x%08x\n", spi);
	} else if (strcmp(cmd, "add-sa") == 0) {
		err = cmd_add_sa(argc, argv);
	} else if ((strcmp(cmd, "del-sa") == 0 || strcmp(cmd, "query") == 0) && argc >= 2) {
		struct xk_sa_id id = { .proto = 50 };

		cli_addr(argv[0], &id.dst);
		id.spi = cli_num(argv[1]);
		if (cmd[0] == 'd') {
			err = report("del-sa", xfrm_del_sa(x, &id));
		} else {
			struct xk_sa_stats st;

			err = report("query", xfrm_query_sa(x, &id, &st));
			if (!err)
				printf("bytes=%llu packets=%llu replay_drops=%u integrity_failures=%u\n",
				       (unsigned long long)st.bytes, (unsigned long long)st.packets,
				       st.replay_drops, st.integrity_failures);
		}
	} else if (strcmp(cmd, "add-policy") == 0) {
		err = cmd_add_policy(argc, argv);
	} else if (strcmp(cmd, "del-policy") == 0 && argc >= 3) {
		struct xk_policy p;

		cli_policy_sel(argv, &p);
		err = report("del-policy", xfrm_del_policy(x, &p));
	} else if (strcmp(cmd, "flush") == 0) {
		int n = xfrm_flush_owned(x);

		err = report("flush", n);
		if (!err)
			printf("%d\n", n);
	} else if (strcmp(cmd, "monitor") == 0) {
		err = cmd_monitor(argc, argv);
	} else if (strcmp(cmd, "bench") == 0) {
		err = cmd_bench(argc, argv);
	} else {
		fprintf(stderr, "xk-xfrm: unknown command or missing arguments: %s\n", cmd);
		err = 2;
	}
	xfrm_close(x);
	return err;
}
