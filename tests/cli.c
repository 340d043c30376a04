/* SPDX-License-Identifier: ISC */
/* The backend tools' shared command-line words (cli.h). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_die(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s: %s\n", cli_prog, what, arg);
	exit(2);
}

uint32_t cli_num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end)
		cli_die("not a number", s);
	return (uint32_t)v;
}

void cli_addr(const char *s, struct xk_addr *a)
{
	if (xk_addr_parse(s, a) < 0)
		cli_die("not an address", s);
}

void cli_ts(const char *s, struct xk_ts *t)
{
	if (xk_ts_parse(s, t) < 0)
		cli_die("not a selector", s);
}

size_t cli_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		cli_die("bad key", "(wrong length)");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			cli_die("bad key", "(not hex)");
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

enum xk_mode cli_mode(const char *s)
{
	if (strcmp(s, "tunnel") == 0)
		return XK_MODE_TUNNEL;
	if (strcmp(s, "transport") != 0)
		cli_die("bad mode", s);
	return XK_MODE_TRANSPORT;
}

enum xk_dir cli_dir(const char *s)
{
	if (strcmp(s, "in") == 0)
		return XK_DIR_IN;
	if (strcmp(s, "out") == 0)
		return XK_DIR_OUT;
	if (strcmp(s, "fwd") != 0)
		cli_die("bad direction", s);
	return XK_DIR_FWD;
}

void cli_enc(const char *s, struct xk_sa *sa)
{
	if (strcmp(s, "aes128gcm16") == 0 || strcmp(s, "aes256gcm16") == 0) {
		sa->enc = XK_ENC_AES_GCM_16;
		sa->icv_len = 16;
	} else if (strcmp(s, "chacha20poly1305") == 0) {
		sa->enc = XK_ENC_CHACHA20_POLY1305;
		sa->icv_len = 16;
	} else if (strcmp(s, "aes128") == 0 || strcmp(s, "aes256") == 0) {
		sa->enc = XK_ENC_AES_CBC;
	} else {
		cli_die("unknown encryption", s);
	}
}

bool cli_integ(const char *s, struct xk_sa *sa)
{
	static const struct {
		const char *name;
		enum xk_integ integ;
		uint8_t icv;
	} t[] = {
		{ "sha256", XK_INTEG_HMAC_SHA256_128, 16 },
		{ "sha384", XK_INTEG_HMAC_SHA384_192, 24 },
		{ "sha512", XK_INTEG_HMAC_SHA512_256, 32 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(s, t[i].name) == 0) {
			sa->integ = t[i].integ;
			sa->icv_len = t[i].icv;
			return true;
		}
	}
	return false;
}

int cli_sa(int argc, char **argv, struct xk_sa *sa, const char *usage)
{
	if (argc < 7)
		cli_die("usage", usage);
	cli_addr(argv[0], &sa->src);
	cli_addr(argv[1], &sa->dst);
	sa->spi = cli_num(argv[2]);
	sa->reqid = cli_num(argv[3]);
	sa->mode = cli_mode(argv[4]);
	cli_enc(argv[5], sa);
	sa->enc_key_len = (uint16_t)cli_hex(argv[6], sa->enc_key, sizeof(sa->enc_key));
	if (argc > 8 && cli_integ(argv[7], sa)) {
		sa->integ_key_len = (uint16_t)cli_hex(argv[8], sa->integ_key,
						      sizeof(sa->integ_key));
		return 9;
	}
	return 7;
}

int cli_sa_option(int argc, char **argv, int i, struct xk_sa *sa)
{
	const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

	if (strcmp(o, "esn") == 0) {
		sa->esn = true;
		return 0;
	}
	if (strcmp(o, "encap") == 0 && i + 2 < argc) {
		sa->encap = true;
		sa->src.port = (uint16_t)cli_num(argv[i + 1]);
		sa->dst.port = (uint16_t)cli_num(argv[i + 2]);
		return 2;
	}
	if (strcmp(o, "window") == 0)
		sa->replay_window = cli_num(v);
	else if (strcmp(o, "soft-secs") == 0)
		sa->life.soft_secs = cli_num(v);
	else if (strcmp(o, "hard-secs") == 0)
		sa->life.hard_secs = cli_num(v);
	else if (strcmp(o, "soft-packets") == 0)
		sa->life.soft_packets = cli_num(v);
	else if (strcmp(o, "hard-packets") == 0)
		sa->life.hard_packets = cli_num(v);
	else
		return -1;
	return 1;
}

void cli_policy_sel(char **argv, struct xk_policy *p)
{
	memset(p, 0, sizeof(*p));
	cli_ts(argv[0], &p->src);
	cli_ts(argv[1], &p->dst);
	p->dir = cli_dir(argv[2]);
}

void cli_policy(int argc, char **argv, struct xk_policy *p, const char *usage)
{
	int i = 5;

	if (argc < 5)
		cli_die("usage", usage);
	cli_policy_sel(argv, p);
	p->reqid = cli_num(argv[3]);
	p->mode = cli_mode(argv[4]);
	p->priority = 1000;
	if (p->mode == XK_MODE_TUNNEL) {
		if (argc < 7)
			cli_die("usage", "tunnel mode needs TSRC TDST");
		cli_addr(argv[5], &p->tmpl_src);
		cli_addr(argv[6], &p->tmpl_dst);
		i = 7;
	}
	if (i + 1 < argc && strcmp(argv[i], "prio") == 0)
		p->priority = cli_num(argv[i + 1]);
}
