/* SPDX-License-Identifier: ISC */
#include "sa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool xk_addr_ip_eq(const struct xk_addr *a, const struct xk_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->ip, b->ip, xk_addr_len(a)) == 0;
}

bool xk_addr_eq(const struct xk_addr *a, const struct xk_addr *b)
{
	return xk_addr_ip_eq(a, b) && a->port == b->port;
}

int xk_addr_parse(const char *s, struct xk_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->ip) == 1) {
		out->family = XK_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out->ip) == 1) {
		out->family = XK_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

const char *xk_addr_str(const struct xk_addr *a, char *buf, size_t len)
{
	int af = a->family == XK_AF_INET ? AF_INET : AF_INET6;

	if (!a->family || !inet_ntop(af, a->ip, buf, (socklen_t)len))
		snprintf(buf, len, "%%any");
	return buf;
}

static void ts_full_ports(struct xk_ts *ts)
{
	ts->proto = 0;
	ts->port_lo = 0;
	ts->port_hi = 0xffff;
}

void xk_ts_from_addr(const struct xk_addr *a, struct xk_ts *out)
{
	memset(out, 0, sizeof(*out));
	out->family = a->family;
	ts_full_ports(out);
	memcpy(out->lo, a->ip, 16);
	memcpy(out->hi, a->ip, 16);
}

int xk_ts_parse(const char *s, struct xk_ts *out)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct xk_addr a;
	long plen;
	size_t bits;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (xk_addr_parse(addr, &a) < 0)
		return -EINVAL;
	bits = xk_addr_len(&a) * 8;
	plen = (long)bits;
	if (slash) {
		char *end;

		plen = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || plen < 0 || plen > (long)bits)
			return -EINVAL;
	}
	xk_ts_from_addr(&a, out);
	for (size_t i = (size_t)plen; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		out->lo[i / 8] &= (uint8_t)~m;
		out->hi[i / 8] |= m;
	}
	/* "10.0.0.1/24" names the network, not a host inside it. */
	if (memcmp(out->lo, a.ip, bits / 8) != 0)
		return -EINVAL;
	return 0;
}

static int cmp_ip(const uint8_t *a, const uint8_t *b, uint8_t family)
{
	return memcmp(a, b, family == XK_AF_INET ? 4 : 16);
}

bool xk_ts_intersect(const struct xk_ts *a, const struct xk_ts *b, struct xk_ts *out)
{
	struct xk_ts r;

	if (a->family != b->family)
		return false;
	if (a->proto && b->proto && a->proto != b->proto)
		return false;
	memset(&r, 0, sizeof(r));
	r.family = a->family;
	r.proto = a->proto ? a->proto : b->proto;
	r.port_lo = a->port_lo > b->port_lo ? a->port_lo : b->port_lo;
	r.port_hi = a->port_hi < b->port_hi ? a->port_hi : b->port_hi;
	if (r.port_lo > r.port_hi)
		return false;
	memcpy(r.lo, cmp_ip(a->lo, b->lo, r.family) > 0 ? a->lo : b->lo, 16);
	memcpy(r.hi, cmp_ip(a->hi, b->hi, r.family) < 0 ? a->hi : b->hi, 16);
	if (cmp_ip(r.lo, r.hi, r.family) > 0)
		return false;
	*out = r;
	return true;
}

bool xk_ts_contains(const struct xk_ts *outer, const struct xk_ts *inner)
{
	return outer->family == inner->family &&
	       (!outer->proto || outer->proto == inner->proto) &&
	       outer->port_lo <= inner->port_lo &&
	       outer->port_hi >= inner->port_hi &&
	       cmp_ip(outer->lo, inner->lo, outer->family) <= 0 &&
	       cmp_ip(outer->hi, inner->hi, outer->family) >= 0;
}

int xk_ts_prefix_len(const struct xk_ts *ts)
{
	size_t n = ts->family == XK_AF_INET ? 4 : 16;
	int plen = 0;
	size_t i = 0;

	/* Leading bits equal in lo and hi form the prefix ... */
	for (; i < n * 8; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		if ((ts->lo[i / 8] & m) != (ts->hi[i / 8] & m))
			break;
		plen++;
	}
	/* ... and the rest must be all-zero in lo and all-one in hi. */
	for (; i < n * 8; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		if ((ts->lo[i / 8] & m) || !(ts->hi[i / 8] & m))
			return -1;
	}
	return plen;
}

const char *xk_ts_str(const struct xk_ts *ts, char *buf, size_t len)
{
	struct xk_addr lo = { .family = ts->family }, hi = { .family = ts->family };
	char a[64], b[64];
	int plen = xk_ts_prefix_len(ts);
	int n;

	memcpy(lo.ip, ts->lo, 16);
	memcpy(hi.ip, ts->hi, 16);
	if (plen >= 0)
		n = snprintf(buf, len, "%s/%d", xk_addr_str(&lo, a, sizeof(a)), plen);
	else
		n = snprintf(buf, len, "%s..%s", xk_addr_str(&lo, a, sizeof(a)),
			     xk_addr_str(&hi, b, sizeof(b)));
	if (n > 0 && (size_t)n < len && (ts->proto || ts->port_lo || ts->port_hi != 0xffff))
		snprintf(buf + n, len - (size_t)n, "[%u/%u-%u]", ts->proto,
			 ts->port_lo, ts->port_hi);
	return buf;
}

const char *xk_enc_name(enum xk_enc e)
{
	switch (e) {
	case XK_ENC_NONE: return "none";
	case XK_ENC_AES_GCM_16: return "rfc4106(gcm(aes))";
	case XK_ENC_CHACHA20_POLY1305: return "rfc7539esp(chacha20,poly1305)";
	case XK_ENC_AES_CBC: return "cbc(aes)";
	}
	return "?";
}

const char *xk_integ_name(enum xk_integ i)
{
	switch (i) {
	case XK_INTEG_NONE: return "none";
	case XK_INTEG_HMAC_SHA256_128: return "hmac(sha256)";
	case XK_INTEG_HMAC_SHA384_192: return "hmac(sha384)";
	case XK_INTEG_HMAC_SHA512_256: return "hmac(sha512)";
	}
	return "?";
}
