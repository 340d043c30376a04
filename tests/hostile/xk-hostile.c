/* SPDX-License-Identifier: ISC */
/*
 * xk-hostile: a hostile IKE peer against a running xiked, for
 * netns-tests/hostile-peer.sh.  It sends hand-built malformed and
 * out-of-state datagrams from a UDP socket and checks, case by case, what
 * comes back (the notify RFC 7296 asks for, or silence), which counter of
 * `xikectl stats` moved, and that the daemon still lives.
 *
 *	xk-hostile [-c CTL] [-p PID] [-s SRC] run DST
 *		every case of the first phase, from SRC to DST, in order
 *	xk-hostile [-c CTL] [-p PID] [-s SRC] late DST FILE SPI_I SPI_R
 *		the cases against an established IKE SA: FILE holds a copy of
 *		its IKE_SA_INIT request, sent again from SRC ports 500 and 4500
 *	xk-hostile capture FILE SRC
 *		wait (up to 60 s) for an IKE_SA_INIT request from SRC to port
 *		500 of this namespace and write its UDP payload to FILE
 *		(FILE.ready appears once it listens)
 *
 * CTL is a command that prints `stats` when given that word (xikectl with
 * its socket).  Each case prints `case NAME: expect X (RFC): got Y: PASS`
 * or FAIL; the exit status is 1 if any failed.
 *
 * A silence is proven, not waited for: the daemon's rx-packets counter says
 * when it has taken the datagram, and by then any answer was already sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <openssl/bn.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ike/payload.h"

#define WAIT_MS 10000 /* an answer or a counter, on a loaded machine */
#define QUIET_MS 200  /* after the daemon counted a datagram: a stray answer */
#define SUITE "aes128gcm16-prfsha256-x25519"
#define MODP "aes256-sha256-modp2048"
#define EMPTY (-1)     /* a length or group of zero (0 means "the default") */
#define ZERO 0x10000   /* a length adjustment: set the field to 0 */
#define HUGE 0x20000   /* a length adjustment: set it to the largest value */
#define HB(off, v) ((off) << 8 | (v)) /* argument of hdr_byte */
#define PL_SKF 53      /* RFC 7383 section 2.5 */
#define AS_USUAL { 0 } /* the base message unchanged */

enum want { SILENT, ANSWER, NOTIFY, OTHER };
enum { RUN, LATE };
#define NO_RETRY 1 /* a COOKIE is the answer wanted, not one to retry with */
#define LOADED 2   /* first make three half-open SAs from this address */

/* What a case changes in the base IKE_SA_INIT request (0: as usual). */
struct base {
	const char *ike;   /* our one proposal: SUITE */
	int prop_group;    /* its DH transform, replaced: keep */
	bool drop_dh;      /* no DH transform at all */
	int group;         /* the KE payload's group: 31 */
	enum { KE_GOOD, KE_ZERO, KE_ONE, KE_PM1 } ke;
	int ke_len;        /* the group's length */
	int nonce_len;     /* 32 */
	bool no_ke, no_nonce, two_sa;
	uint8_t extra;     /* one more payload, last, of this type */
	bool extra_crit;
	int extra_len;
	unsigned xforms;   /* that many transforms in the proposal */
	int cookie_len;    /* a COOKIE of our own, first */
};

struct pkt {
	uint8_t b[10240];
	size_t len;
	uint64_t spi;
	uint8_t cookie[256]; /* the daemon's COOKIE, put first on a retry */
	size_t cookie_len;
};

struct hcase {
	const char *name;
	int phase;
	struct base o;
	void (*make)(struct pkt *p, int arg); /* corrupts the built message */
	int arg;
	uint16_t port;     /* 500, or 4500 with the non-ESP marker */
	enum want want;
	uint16_t notify;   /* NOTIFY: its type */
	int data;          /* NOTIFY: its one- or two-octet data, -1: any */
	const char *ctr;   /* a counter that moves by exactly one */
	int flags;
	const char *rfc;
};

static const char *ctl_cmd;
static pid_t daemon_pid;
static const char *src_addr = "10.0.0.3";
static struct sockaddr_in dst;
static uint8_t replay[10240]; /* late: the IKE_SA_INIT request to send again */
static size_t replay_len;
static uint64_t real_spi_i, real_spi_r;

/* ---- building ---- */

static size_t group_len(int g)
{
	return g == IKEV2_DH_MODP_2048 ? 256 : 32;
}

static void ke_value(const struct base *o, int group, uint8_t *ke, size_t len)
{
	BIGNUM *p;

	memset(ke, o->ke == KE_GOOD ? 0x5a : 0, len);
	/* A real public value, one per group and run (the same on a retry). */
	if (o->ke == KE_GOOD && (group == IKEV2_DH_MODP_2048 || group == IKEV2_DH_CURVE25519)) {
		static uint8_t pub[2][256];
		static size_t pub_len[2];
		int i = group == IKEV2_DH_MODP_2048;
		struct ike_dh *dh;

		if (!pub_len[i]) {
			pub_len[i] = sizeof(pub[i]);
			dh = ike_dh_new((uint16_t)group);
			if (!dh || ike_dh_public(dh, pub[i], &pub_len[i]) < 0)
				abort();
			ike_dh_free(dh);
		}
		memcpy(ke, pub[i], len < pub_len[i] ? len : pub_len[i]);
	}
	if (o->ke == KE_ONE && len)
		ke[len - 1] = 1;
	if (o->ke == KE_PM1 && group == IKEV2_DH_MODP_2048) {
		p = BN_get_rfc3526_prime_2048(NULL);
		if (!p || !BN_sub_word(p, 1) || BN_bn2binpad(p, ke, (int)len) < 0)
			abort();
		BN_free(p);
	}
}

/* A proposal of `n` transforms: the three of SUITE, then unknown groups. */
static void sa_many(struct ike_mb *mb, unsigned n)
{
	size_t s = ike_mb_begin(mb, IKEV2_PL_SA, false);
	struct bw *w = &mb->w;

	bw_u8(w, IKEV2_SUBSTRUC_LAST);
	bw_u8(w, 0);
	bw_u16(w, (uint16_t)(IKEV2_PROPOSAL_HDR_LEN + 12 + 8 * (n - 1)));
	bw_u8(w, 1);
	bw_u8(w, IKEV2_PROTO_IKE);
	bw_u8(w, 0);
	bw_u8(w, (uint8_t)n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t type = i == 0 ? IKEV2_XF_ENCR : i == 1 ? IKEV2_XF_PRF : IKEV2_XF_DH;
		uint16_t id = i == 0 ? IKEV2_ENCR_AES_GCM_16 :
			      i == 1 ? IKEV2_PRF_HMAC_SHA2_256 :
			      i == 2 ? IKEV2_DH_CURVE25519 : (uint16_t)(1000 + i);

		bw_u8(w, i + 1 == n ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_XFORM);
		bw_u8(w, 0);
		bw_u16(w, i == 0 ? 12 : 8);
		bw_u8(w, type);
		bw_u8(w, 0);
		bw_u16(w, id);
		if (i == 0) /* Key Length 128, section 3.3.5 */
			bw_u32(w, 0x800e0080);
	}
	ike_mb_end(mb, s);
}

/* The proposal of o->ike with its DH transform replaced or dropped. */
static void proposal(const struct base *o, struct ike_proposal *prop)
{
	char err[128];
	uint8_t k = 0;

	if (ike_proposals_parse(o->ike ? o->ike : SUITE, IKEV2_PROTO_IKE, prop, 1, err,
				sizeof(err)) != 1) {
		fprintf(stderr, "xk-hostile: %s\n", err);
		exit(2);
	}
	for (uint8_t i = 0; i < prop->n_xforms; i++) {
		if (prop->xf[i].type == IKEV2_XF_DH && o->drop_dh)
			continue;
		if (prop->xf[i].type == IKEV2_XF_DH && o->prop_group)
			prop->xf[i].id = (uint16_t)(o->prop_group == EMPTY ? 0 : o->prop_group);
		prop->xf[k++] = prop->xf[i];
	}
	prop->n_xforms = k;
}

/*
 * HDR, [N(COOKIE)], SA, KE, Ni, [extra]: the same bytes for the same SPI
 * (KE and nonce are patterns, not random), so that a retry with the
 * daemon's COOKIE carries what the COOKIE was made for (section 2.6).
 */
static void build(struct pkt *p, const struct base *o)
{
	struct ike_hdr h = { .spi_i = p->spi, .exch = IKEV2_EXCH_IKE_SA_INIT,
			     .flags = IKEV2_FLAG_INITIATOR };
	int group = o->group == EMPTY ? 0 : o->group ? o->group : IKEV2_DH_CURVE25519;
	size_t kelen = o->ke_len == EMPTY ? 0 : o->ke_len ? (size_t)o->ke_len : group_len(group);
	size_t nlen = o->nonce_len == EMPTY ? 0 : o->nonce_len ? (size_t)o->nonce_len : 32;
	struct ike_proposal prop;
	uint8_t ke[512], nonce[512], own[256];
	struct ike_mb mb;
	size_t s;
	int n;

	ike_mb_init(&mb, p->b, sizeof(p->b), &h);
	if (p->cookie_len)
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_COOKIE, p->cookie, p->cookie_len);
	else if (o->cookie_len) {
		memset(own, 0xc0, sizeof(own));
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_COOKIE, own,
			      o->cookie_len == EMPTY ? 0 : (size_t)o->cookie_len);
	}
	proposal(o, &prop);
	if (o->xforms)
		sa_many(&mb, o->xforms);
	else
		ike_mb_sa(&mb, &prop, 1);
	if (o->two_sa)
		ike_mb_sa(&mb, &prop, 1);
	ke_value(o, group, ke, kelen);
	if (!o->no_ke)
		ike_mb_ke(&mb, (uint16_t)group, ke, kelen);
	for (size_t i = 0; i < nlen; i++)
		nonce[i] = (uint8_t)(p->spi >> (8 * (i % 8)));
	if (!o->no_nonce)
		ike_mb_nonce(&mb, nonce, nlen);
	if (o->extra) {
		s = ike_mb_begin(&mb, o->extra, o->extra_crit);
		bw_zero(&mb.w, (size_t)o->extra_len);
		ike_mb_end(&mb, s);
	}
	n = ike_mb_finish(&mb);
	if (n < 0)
		abort();
	p->len = (size_t)n;
}

/* ---- corruptions of a built message ---- */

/* The offset of the first payload of `type` (its generic header). */
static size_t pl_at(const struct pkt *p, uint8_t type)
{
	size_t off = IKEV2_HDR_LEN;
	uint8_t next = p->b[16];

	while (next != type && off + 4 <= p->len) {
		next = p->b[off];
		off += get_be16(p->b + off + 2);
	}
	if (next != type || off + 4 > p->len)
		abort();
	return off;
}

static uint16_t adj16(uint16_t cur, int a)
{
	return a == ZERO ? 0 : a == HUGE ? 0xffff : (uint16_t)(cur + a);
}

static void hdr_len(struct pkt *p, int a)
{
	put_be32(p->b + 24, a == ZERO ? 0 : a == HUGE ? 0xffffffff : (uint32_t)(p->len + a));
}

static void truncate_to(struct pkt *p, int a)
{
	p->len = (size_t)a;
}

static void trailing(struct pkt *p, int a)
{
	memset(p->b + p->len, 0, (size_t)a);
	p->len += (size_t)a;
	put_be32(p->b + 24, (uint32_t)p->len);
}

static void hdr_byte(struct pkt *p, int a)
{
	p->b[a >> 8] = (uint8_t)a;
}

static void spi_r(struct pkt *p, int a)
{
	put_be64(p->b + 8, (uint64_t)a);
}

static void mid(struct pkt *p, int a)
{
	put_be32(p->b + 20, (uint32_t)a);
}

/* The last payload (Ni) names one more that is not there. */
static void chain_more(struct pkt *p, int a)
{
	p->b[pl_at(p, IKEV2_PL_NONCE)] = (uint8_t)a;
}

static void sa_len(struct pkt *p, int a)
{
	size_t off = pl_at(p, IKEV2_PL_SA) + 2;

	put_be16(p->b + off, adj16(get_be16(p->b + off), a));
}

static void ke_len(struct pkt *p, int a)
{
	size_t off = pl_at(p, IKEV2_PL_KE) + 2;

	put_be16(p->b + off, adj16(get_be16(p->b + off), a));
}

static void prop_len(struct pkt *p, int a)
{
	size_t off = pl_at(p, IKEV2_PL_SA) + 4 + 2;

	put_be16(p->b + off, adj16(get_be16(p->b + off), a));
}

static void xf_len(struct pkt *p, int a)
{
	size_t off = pl_at(p, IKEV2_PL_SA) + 4 + IKEV2_PROPOSAL_HDR_LEN + 2;

	put_be16(p->b + off, adj16(get_be16(p->b + off), a));
}

static void xf_count(struct pkt *p, int a)
{
	p->b[pl_at(p, IKEV2_PL_SA) + 4 + 7] = (uint8_t)a;
}

/* HDR, SK{junk} of exchange `a` to SPIs nobody has. */
static void sk_unknown(struct pkt *p, int a)
{
	struct ike_hdr h = { .spi_i = p->spi, .spi_r = ~p->spi, .exch = (uint8_t)a,
			     .flags = IKEV2_FLAG_INITIATOR, .mid = 1 };
	uint8_t type = a == IKEV2_EXCH_IKE_SA_INIT ? PL_SKF : IKEV2_PL_SK;
	struct ike_mb mb;
	size_t s;

	if (a == IKEV2_EXCH_IKE_SA_INIT) /* an SKF fragment alone, section 2.5 of RFC 7383 */
		h = (struct ike_hdr){ .spi_i = p->spi, .exch = (uint8_t)a,
				      .flags = IKEV2_FLAG_INITIATOR };
	ike_mb_init(&mb, p->b, sizeof(p->b), &h);
	s = ike_mb_begin(&mb, type, false);
	p->b[s] = IKEV2_PL_IDI;
	if (type == PL_SKF) {
		bw_u16(&mb.w, 1); /* fragment 1 of 2 */
		bw_u16(&mb.w, 2);
	}
	for (int i = 0; i < 64; i++)
		bw_u8(&mb.w, (uint8_t)(i * 37));
	ike_mb_end(&mb, s);
	p->len = (size_t)ike_mb_finish(&mb);
}

/* The copy of the established SA's IKE_SA_INIT. */
static void replayed(struct pkt *p, int a)
{
	(void)a;
	memcpy(p->b, replay, replay_len);
	p->len = replay_len;
	p->spi = get_be64(replay);
}

/* An INFORMATIONAL with the established SA's SPIs and a wrong ICV. */
static void sk_real(struct pkt *p, int a)
{
	p->spi = real_spi_i;
	sk_unknown(p, IKEV2_EXCH_INFORMATIONAL);
	put_be64(p->b + 8, real_spi_r);
	mid(p, a);
}

/* ---- the cases ---- */

#define RX "rx-malformed"
#define N(t) NOTIFY, IKEV2_N_##t
static const struct hcase cases[] = {
	/* IKE header (section 3.1): Length is the whole message. */
	{ "hdr-len-zero", RUN, AS_USUAL, hdr_len, ZERO, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1, 2.21.1" },
	{ "hdr-len-short", RUN, AS_USUAL, hdr_len, -1, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1, 2.21.1" },
	{ "hdr-len-long", RUN, AS_USUAL, hdr_len, 100, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1, 2.21.1" },
	{ "hdr-len-huge", RUN, AS_USUAL, hdr_len, HUGE, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1, 2.21.1" },
	{ "hdr-truncated", RUN, AS_USUAL, truncate_to, 20, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1" },
	{ "hdr-trailing-bytes", RUN, AS_USUAL, trailing, 7, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1, 3.2" },
	/* Versions (section 2.5): a higher major version gets ours named. */
	{ "version-3", RUN, AS_USUAL, hdr_byte, HB(17, 0x30), 500, N(INVALID_MAJOR_VERSION), -1, RX, 0, "RFC 7296 2.5" },
	{ "version-3-natt", RUN, AS_USUAL, hdr_byte, HB(17, 0x30), 4500, N(INVALID_MAJOR_VERSION), -1, RX, 0, "RFC 7296 2.5, 2.23" },
	/* IKEv1 (major 1): not ours to answer; INVALID_MAJOR_VERSION is for higher ones. */
	{ "version-1-ikev1", RUN, AS_USUAL, hdr_byte, HB(17, 0x10), 500, SILENT, 0, 0, RX, 0, "RFC 7296 2.5" },
	/* A minor version is ignored on receipt (section 3.1). */
	{ "version-2.1", RUN, AS_USUAL, hdr_byte, HB(17, 0x21), 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 3.1" },
	/* Flags, SPIs, Message ID of a first request (sections 2.2, 3.1). */
	{ "response-flag-on-request", RUN, AS_USUAL, hdr_byte, HB(19, 0x28), 500, SILENT, 0, 0, "rx-unknown-spi", 0, "RFC 7296 3.1, 2.21.4" },
	{ "init-without-i-flag", RUN, AS_USUAL, hdr_byte, HB(19, 0), 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1" },
	{ "init-spi-r-nonzero", RUN, AS_USUAL, spi_r, 0x1234, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.1" },
	{ "init-mid-1", RUN, AS_USUAL, mid, 1, 500, SILENT, 0, 0, RX, 0, "RFC 7296 2.2" },
	/* The generic payload header (section 3.2). */
	{ "pl-len-zero", RUN, AS_USUAL, sa_len, ZERO, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.2, 2.21.1" },
	{ "pl-len-short", RUN, AS_USUAL, sa_len, -4, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.2, 2.21.1" },
	{ "pl-len-long", RUN, AS_USUAL, sa_len, 9, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.2, 2.21.1" },
	{ "pl-len-huge", RUN, AS_USUAL, sa_len, HUGE, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.2, 2.21.1" },
	{ "pl-chain-past-end", RUN, AS_USUAL, chain_more, IKEV2_PL_SA, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.2" },
	/* Proposal and transform substructures (sections 3.3.1, 3.3.2). */
	{ "prop-len-zero", RUN, AS_USUAL, prop_len, ZERO, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.1" },
	{ "prop-len-short", RUN, AS_USUAL, prop_len, -1, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.1" },
	{ "prop-len-long", RUN, AS_USUAL, prop_len, 8, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.1" },
	{ "xf-len-zero", RUN, AS_USUAL, xf_len, ZERO, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.2" },
	{ "xf-len-short", RUN, AS_USUAL, xf_len, -5, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.2" },
	{ "xf-len-long", RUN, AS_USUAL, xf_len, 4, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.2" },
	{ "xf-count-255", RUN, AS_USUAL, xf_count, 255, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.1" },
	{ "xf-count-0", RUN, AS_USUAL, xf_count, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.3.1" },
	/* 200 transforms, 197 of them unknown groups: more than we weigh. */
	{ "xf-200", RUN, { .xforms = 200 }, NULL, 0, 500, N(NO_PROPOSAL_CHOSEN), -1, "handshakes-failed", 0, "RFC 7296 2.7" },
	/* Proposals that cannot be chosen (sections 2.7, 3.3.3). */
	{ "prop-without-dh", RUN, { .drop_dh = true }, NULL, 0, 500, N(NO_PROPOSAL_CHOSEN), -1, "handshakes-failed", 0, "RFC 7296 3.3.3, 2.7" },
	{ "prop-group-unknown", RUN, { .prop_group = 1234, .group = 1234 }, NULL, 0, 500, N(NO_PROPOSAL_CHOSEN), -1, "handshakes-failed", 0, "RFC 7296 2.7" },
	{ "prop-two-sa-payloads", RUN, { .two_sa = true }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 1.2, 2.21.1" },
	/* The KE payload (sections 1.2, 3.4): a group we did not choose. */
	{ "ke-group-mismatch", RUN, { .group = IKEV2_DH_MODP_2048 }, NULL, 0, 500, N(INVALID_KE_PAYLOAD), 31, "invalid-ke-sent", 0, "RFC 7296 1.2, 3.4" },
	{ "ke-group-unknown", RUN, { .group = 1234 }, NULL, 0, 500, N(INVALID_KE_PAYLOAD), 31, "invalid-ke-sent", 0, "RFC 7296 1.2, 3.4" },
	{ "ke-group-0", RUN, { .group = EMPTY }, NULL, 0, 500, N(INVALID_KE_PAYLOAD), 31, "invalid-ke-sent", 0, "RFC 7296 1.2, 3.4" },
	{ "ke-group-mismatch-natt", RUN, { .group = IKEV2_DH_MODP_2048 }, NULL, 0, 4500, N(INVALID_KE_PAYLOAD), 31, "invalid-ke-sent", 0, "RFC 7296 1.2, 3.4, 2.23" },
	/* KE values: the group's size, and no degenerate value (RFC 6989 2, RFC 8031 2). */
	{ "ke-modp-good", RUN, { .ike = MODP, .group = IKEV2_DH_MODP_2048 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 1.2" },
	{ "ke-modp-0", RUN, { .ike = MODP, .group = IKEV2_DH_MODP_2048, .ke = KE_ZERO }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 6989 2, RFC 7296 2.21.1" },
	{ "ke-modp-1", RUN, { .ike = MODP, .group = IKEV2_DH_MODP_2048, .ke = KE_ONE }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 6989 2, RFC 7296 2.21.1" },
	{ "ke-modp-p-1", RUN, { .ike = MODP, .group = IKEV2_DH_MODP_2048, .ke = KE_PM1 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 6989 2, RFC 7296 2.21.1" },
	{ "ke-modp-short", RUN, { .ike = MODP, .group = IKEV2_DH_MODP_2048, .ke_len = 255 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.4, 2.21.1" },
	{ "ke-x25519-zero", RUN, { .ke = KE_ZERO }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 8031 2, RFC 7296 2.21.1" },
	{ "ke-x25519-short", RUN, { .ke_len = 31 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 8031 2, RFC 7296 3.4" },
	{ "ke-x25519-long", RUN, { .ke_len = 33 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 8031 2, RFC 7296 3.4" },
	{ "ke-data-empty", RUN, { .ke_len = EMPTY }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.4" },
	{ "ke-pl-len-short", RUN, AS_USUAL, ke_len, -(32 + 2), 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.4, 3.2" },
	{ "ke-missing", RUN, { .no_ke = true }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 1.2, 2.21.1" },
	/* The nonce: 16 to 256 octets (sections 2.10, 3.9). */
	{ "nonce-empty", RUN, { .nonce_len = EMPTY }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.9" },
	{ "nonce-15", RUN, { .nonce_len = 15 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 2.10, 3.9" },
	{ "nonce-16", RUN, { .nonce_len = 16 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 2.10, 3.9" },
	{ "nonce-256", RUN, { .nonce_len = 256 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 3.9" },
	{ "nonce-257", RUN, { .nonce_len = 257 }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 3.9" },
	{ "nonce-missing", RUN, { .no_nonce = true }, NULL, 0, 500, SILENT, 0, 0, RX, 0, "RFC 7296 1.2, 2.21.1" },
	/* Unknown payloads: skipped, or refused when critical (sections 2.5, 3.2). */
	{ "unknown-200", RUN, { .extra = 200, .extra_len = 4 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 2.5, 3.2" },
	{ "unknown-200-critical", RUN, { .extra = 200, .extra_crit = true, .extra_len = 4 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), 200, RX, 0, "RFC 7296 2.5, 3.2" },
	/* IKEv1's payload types (1-32) are unknown to IKEv2 like any other. */
	{ "ikev1-pl-1", RUN, { .extra = 1, .extra_len = 8 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-13", RUN, { .extra = 13, .extra_len = 8 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-32", RUN, { .extra = 32, .extra_len = 0 }, NULL, 0, 500, ANSWER, 0, 0, NULL, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-1-critical", RUN, { .extra = 1, .extra_crit = true, .extra_len = 8 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), 1, RX, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-4-critical", RUN, { .extra = 4, .extra_crit = true, .extra_len = 8 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), 4, RX, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-13-critical", RUN, { .extra = 13, .extra_crit = true, .extra_len = 8 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), 13, RX, 0, "RFC 7296 2.5, 3.2" },
	{ "ikev1-pl-32-critical", RUN, { .extra = 32, .extra_crit = true, .extra_len = 8 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), 32, RX, 0, "RFC 7296 2.5, 3.2" },
	/* Fragments (RFC 7383 2.5) in IKE_SA_INIT, where they never belong. */
	{ "skf-in-init-alone", RUN, AS_USUAL, sk_unknown, IKEV2_EXCH_IKE_SA_INIT, 500, SILENT, 0, 0, RX, 0, "RFC 7383 2.5, RFC 7296 2.21.1" },
	{ "skf-in-init-critical", RUN, { .extra = PL_SKF, .extra_crit = true, .extra_len = 8 }, NULL, 0, 500, N(UNSUPPORTED_CRITICAL_PAYLOAD), PL_SKF, RX, 0, "RFC 7383 2.5, RFC 7296 2.5" },
	/* Larger than any IKE_SA_INIT needs: nothing kept, nothing said. */
	{ "init-9000-octets", RUN, { .extra = IKEV2_PL_VENDOR, .extra_len = 9000 }, NULL, 0, 500, SILENT, 0, 0, NULL, 0, "RFC 7296 2.6, 2.21.1" },
	/* SK payloads to SPIs nobody has: silence (INVALID_IKE_SPI is a MAY, 2.21.4). */
	{ "sk-unknown-spi-auth", RUN, AS_USUAL, sk_unknown, IKEV2_EXCH_IKE_AUTH, 500, SILENT, 0, 0, "rx-unknown-spi", 0, "RFC 7296 2.21.4" },
	{ "sk-unknown-spi-info", RUN, AS_USUAL, sk_unknown, IKEV2_EXCH_INFORMATIONAL, 500, SILENT, 0, 0, "rx-unknown-spi", 0, "RFC 7296 2.21.4" },
	{ "sk-unknown-spi-natt", RUN, AS_USUAL, sk_unknown, IKEV2_EXCH_CREATE_CHILD_SA, 4500, SILENT, 0, 0, "rx-unknown-spi", 0, "RFC 7296 2.21.4, 2.23" },
	/* COOKIE under load (section 2.6): three half-open SAs from one address. */
	{ "cookie-under-load", RUN, AS_USUAL, NULL, 0, 500, N(COOKIE), -1, "cookies-sent", NO_RETRY | LOADED, "RFC 7296 2.6" },
	{ "cookie-len-0", RUN, { .cookie_len = EMPTY }, NULL, 0, 500, N(COOKIE), -1, "cookies-sent", NO_RETRY | LOADED, "RFC 7296 2.6" },
	{ "cookie-len-65", RUN, { .cookie_len = 65 }, NULL, 0, 500, N(COOKIE), -1, "cookies-sent", NO_RETRY | LOADED, "RFC 7296 2.6" },
	{ "cookie-len-64-forged", RUN, { .cookie_len = 64 }, NULL, 0, 500, N(COOKIE), -1, "cookies-sent", NO_RETRY | LOADED, "RFC 7296 2.6" },
	/*
	 * After establishment (run `late`, from the initiator's address and
	 * the destination's port): a bitwise copy of the IKE_SA_INIT request
	 * whose response is forgotten is ignored (section 2.1), from the port
	 * it first came from as from the port the SA floated to (2.23).
	 */
	{ "late-init-copy", LATE, AS_USUAL, replayed, 0, 500, SILENT, 0, 0, "rx-unexpected", 0, "RFC 7296 2.1" },
	{ "late-init-copy-natt", LATE, AS_USUAL, replayed, 0, 4500, SILENT, 0, 0, "rx-unexpected", 0, "RFC 7296 2.1, 2.23" },
	{ "sk-real-spi-bad-icv", LATE, AS_USUAL, sk_real, 2, 500, SILENT, 0, 0, "rx-bad-icv", 0, "RFC 7296 2.21, 3.14" },
	{ "sk-real-spi-old-mid", LATE, AS_USUAL, sk_real, 0, 4500, SILENT, 0, 0, "rx-unexpected", 0, "RFC 7296 2.3" },
};

/* ---- the daemon's side: counters and liveness ---- */

struct stats {
	char text[16384];
};

static void stats_read(struct stats *s)
{
	char cmd[512];
	FILE *f;
	size_t n = 0;

	s->text[0] = 0;
	if (!ctl_cmd)
		return;
	snprintf(cmd, sizeof(cmd), "%s stats", ctl_cmd);
	f = popen(cmd, "r");
	if (!f)
		return;
	n = fread(s->text, 1, sizeof(s->text) - 1, f);
	s->text[n] = 0;
	pclose(f);
}

/* One counter, -1 if absent; lines read "name value". */
static long stat_get(const struct stats *s, const char *name)
{
	size_t n = strlen(name);

	for (const char *l = s->text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, name, n) && (l[n] == ' ' || l[n] == '\t'))
			return strtol(l + n, NULL, 10);
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- one exchange on the wire ---- */

static int sock_open(const char *src, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	/*
	 * late: the daemon's initiator holds SRC's ports too, on the wildcard
	 * address (port 500 with SO_REUSEADDR, 4500 with SO_REUSEPORT); this
	 * socket, bound to SRC itself, takes what comes back meanwhile.
	 */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (fd < 0 || inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("xk-hostile: socket");
		exit(2);
	}
	return fd;
}

static void send_pkt(int fd, const struct pkt *p, uint16_t port)
{
	static const uint8_t marker[4];
	struct sockaddr_in to = dst;
	uint8_t buf[sizeof(p->b) + 4];
	size_t off = port == 4500 ? 4 : 0;

	to.sin_port = htons(port);
	memcpy(buf, marker, off);
	memcpy(buf + off, p->b, p->len);
	if (sendto(fd, buf, p->len + off, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		perror("xk-hostile: sendto");
}

/* An answer before `deadline` (ms); the non-ESP marker removed on 4500. */
static ssize_t recv_until(int fd, uint8_t *buf, size_t cap, uint16_t port, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t t;
	ssize_t n;

	while ((t = now_ms()) < deadline) {
		if (poll(&pfd, 1, (int)(deadline - t)) <= 0)
			continue;
		n = recv(fd, buf, cap, 0);
		if (n < 0)
			continue;
		if (port != 4500)
			return n;
		if (n >= 4 && !memcmp(buf, "\0\0\0\0", 4)) {
			memmove(buf, buf + 4, (size_t)n - 4);
			return n - 4;
		}
		return 0; /* on 4500 without the marker: not IKE */
	}
	return -1;
}

/* The answer in words: "silence", "SA,KE,Nr", "N(NAME, data)" or what is wrong. */
struct answer {
	enum want kind;
	uint16_t notify;
	int data;
	char text[160];
};

static void describe(const uint8_t *buf, ssize_t n, uint64_t spi, struct answer *a)
{
	struct ike_msg m;
	struct ike_notify nt;

	*a = (struct answer){ .kind = SILENT, .data = -1 };
	if (n < 0) {
		snprintf(a->text, sizeof(a->text), "silence");
		return;
	}
	a->kind = OTHER;
	if (ike_msg_parse(&m, buf, (size_t)n) < 0 || !(m.hdr.flags & IKEV2_FLAG_RESPONSE) ||
	    m.hdr.spi_i != spi) {
		snprintf(a->text, sizeof(a->text), "a malformed or foreign answer (%zd octets)", n);
		return;
	}
	for (size_t i = 0; i < m.n_pl; i++) {
		if (m.pl[i].type != IKEV2_PL_NOTIFY || ike_pl_notify(&m.pl[i], &nt) < 0 ||
		    (nt.type > IKEV2_N_ERROR_MAX && nt.type != IKEV2_N_COOKIE))
			continue;
		a->kind = NOTIFY;
		a->notify = nt.type;
		a->data = nt.len == 1 ? nt.data[0] : nt.len == 2 ? get_be16(nt.data) : -1;
		if (nt.type == IKEV2_N_COOKIE || a->data < 0)
			snprintf(a->text, sizeof(a->text), "N(%s)", ikev2_notify_name(nt.type));
		else
			snprintf(a->text, sizeof(a->text), "N(%s, %d)", ikev2_notify_name(nt.type),
				 a->data);
		return;
	}
	if (ike_msg_find(&m, IKEV2_PL_SA) && ike_msg_find(&m, IKEV2_PL_KE) &&
	    ike_msg_find(&m, IKEV2_PL_NONCE)) {
		a->kind = ANSWER;
		snprintf(a->text, sizeof(a->text), "SA,KE,Nr");
		return;
	}
	snprintf(a->text, sizeof(a->text), "an answer without SA,KE,Nr or error");
}

/*
 * Send the case's message and take its answer: an answer, or for silence
 * the daemon's rx-packets moving past `rx0` and a short quiet after it.
 * A COOKIE the case does not ask for is answered as an initiator does
 * (section 2.6): the same request again with the COOKIE first.
 */
static void exchange(int fd, const struct hcase *c, struct pkt *p, long rx0, struct answer *a)
{
	static uint8_t buf[65536];
	struct ike_msg m;
	struct ike_notify nt;
	struct stats s;
	ssize_t n;

	for (int tries = 0; tries < 2; tries++) {
		build(p, &c->o);
		if (c->make)
			c->make(p, c->arg);
		send_pkt(fd, p, c->port);
		if (c->want == SILENT && ctl_cmd) {
			uint64_t end = now_ms() + WAIT_MS;

			do
				stats_read(&s);
			while (stat_get(&s, "rx-packets") <= rx0 && now_ms() < end);
			n = recv_until(fd, buf, sizeof(buf), c->port, now_ms() + QUIET_MS);
		} else {
			n = recv_until(fd, buf, sizeof(buf), c->port, now_ms() + WAIT_MS);
		}
		describe(buf, n, p->spi, a);
		if (a->kind != NOTIFY || a->notify != IKEV2_N_COOKIE || c->flags & NO_RETRY ||
		    ike_msg_parse(&m, buf, (size_t)n) < 0 ||
		    !ike_msg_notify(&m, IKEV2_N_COOKIE, &nt) || nt.len > sizeof(p->cookie))
			return;
		memcpy(p->cookie, nt.data, nt.len);
		p->cookie_len = nt.len;
		if (rx0 != LONG_MAX)
			rx0++;
	}
}

static uint64_t new_spi(void)
{
	uint64_t spi;

	if (ike_random(&spi, sizeof(spi)) < 0)
		abort();
	return spi | 1;
}

/* Three valid requests from this address: half-open SAs, the load of 2.6. */
static void load(int fd)
{
	static const struct hcase valid = { .name = "load", .port = 500, .want = ANSWER };
	struct answer a;
	struct pkt p;

	for (int i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.spi = new_spi();
		exchange(fd, &valid, &p, LONG_MAX, &a);
	}
}

static const char *want_text(const struct hcase *c, char *buf, size_t len)
{
	if (c->want == SILENT)
		return "silence";
	if (c->want == ANSWER)
		return "SA,KE,Nr";
	if (c->data >= 0)
		snprintf(buf, len, "N(%s, %d)", ikev2_notify_name(c->notify), c->data);
	else
		snprintf(buf, len, "N(%s)", ikev2_notify_name(c->notify));
	return buf;
}

static bool run_case(int fd, const struct hcase *c)
{
	static struct pkt p;
	struct stats s0, s1;
	struct answer a;
	char want[96], got[256];
	long d = 0;
	bool ok;

	if (c->flags & LOADED)
		load(fd);
	memset(&p, 0, sizeof(p));
	p.spi = new_spi();
	stats_read(&s0);
	exchange(fd, c, &p, ctl_cmd ? stat_get(&s0, "rx-packets") : LONG_MAX, &a);
	ok = a.kind == c->want &&
	     (c->want != NOTIFY || (a.notify == c->notify && (c->data < 0 || a.data == c->data)));
	snprintf(got, sizeof(got), "%s", a.text);
	if (c->ctr && ctl_cmd) {
		stats_read(&s1);
		d = stat_get(&s1, c->ctr) - stat_get(&s0, c->ctr);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), ", %s +%ld", c->ctr, d);
		ok = ok && d == 1;
	}
	if (daemon_pid && kill(daemon_pid, 0) < 0) {
		snprintf(got + strlen(got), sizeof(got) - strlen(got), ", THE DAEMON DIED");
		ok = false;
	}
	printf("case %s: expect %s%s%s (%s): got %s: %s\n", c->name,
	       want_text(c, want, sizeof(want)), c->ctr ? ", " : "", c->ctr ? c->ctr : "", c->rfc,
	       got, ok ? "PASS" : "FAIL");
	fflush(stdout);
	return ok;
}

/* ---- capture: the legitimate initiator's IKE_SA_INIT, for `late` ---- */

static int capture(const char *file, const char *src)
{
	uint8_t buf[65536];
	char ready[512];
	struct in_addr from;
	uint64_t end = now_ms() + 60000;
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	FILE *f;

	if (fd < 0 || inet_pton(AF_INET, src, &from) != 1) {
		perror("xk-hostile: capture");
		return 2;
	}
	snprintf(ready, sizeof(ready), "%s.ready", file);
	f = fopen(ready, "w");
	if (!f)
		return 2;
	fclose(f);
	while (now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		const struct iphdr *ip = (const void *)buf;
		const struct udphdr *udp;
		const uint8_t *ike;
		ssize_t n;
		size_t hl;

		if (poll(&pfd, 1, 1000) <= 0 || (n = recv(fd, buf, sizeof(buf), 0)) < 20)
			continue;
		hl = (size_t)ip->ihl * 4;
		if (ip->protocol != IPPROTO_UDP || ip->saddr != from.s_addr ||
		    (size_t)n < hl + 8 + IKEV2_HDR_LEN)
			continue;
		udp = (const void *)(buf + hl);
		ike = buf + hl + 8;
		/* A first request: IKE_SA_INIT, Initiator, not a response. */
		if (ntohs(udp->dest) != 500 || ike[18] != IKEV2_EXCH_IKE_SA_INIT ||
		    (ike[19] & (IKEV2_FLAG_INITIATOR | IKEV2_FLAG_RESPONSE)) != IKEV2_FLAG_INITIATOR)
			continue;
		f = fopen(file, "w");
		if (!f || fwrite(ike, 1, (size_t)n - hl - 8, f) != (size_t)n - hl - 8 || fclose(f))
			return 2;
		return 0;
	}
	fprintf(stderr, "xk-hostile: no IKE_SA_INIT from %s in 60 s\n", src);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: xk-hostile [-c CTL] [-p PID] [-s SRC] run DST\n"
			"       xk-hostile [-c CTL] [-p PID] [-s SRC] late DST FILE SPI_I SPI_R\n"
			"       xk-hostile capture FILE SRC\n");
	return 2;
}

int main(int argc, char **argv)
{
	int opt, phase, fd, fd_natt, failed = 0, n = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "c:p:s:")) != -1) {
		if (opt == 'c')
			ctl_cmd = optarg;
		else if (opt == 'p')
			daemon_pid = (pid_t)atoi(optarg);
		else if (opt == 's')
			src_addr = optarg;
		else
			return usage();
	}
	argc -= optind;
	argv += optind;
	if (argc == 3 && !strcmp(argv[0], "capture"))
		return capture(argv[1], argv[2]);
	if (argc == 2 && !strcmp(argv[0], "run")) {
		phase = RUN;
	} else if (argc == 5 && !strcmp(argv[0], "late")) {
		phase = LATE;
		f = fopen(argv[2], "r");
		if (!f)
			return usage();
		replay_len = fread(replay, 1, sizeof(replay), f);
		fclose(f);
		real_spi_i = strtoull(argv[3], NULL, 16);
		real_spi_r = strtoull(argv[4], NULL, 16);
	} else {
		return usage();
	}
	dst = (struct sockaddr_in){ .sin_family = AF_INET };
	if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1)
		return usage();
	/* late sends from the initiator's own ports, 500 and 4500. */
	fd = sock_open(src_addr, phase == LATE ? 500 : 0);
	fd_natt = phase == LATE ? sock_open(src_addr, 4500) : fd;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].phase != phase)
			continue;
		n++;
		if (!run_case(cases[i].port == 4500 ? fd_natt : fd, &cases[i]))
			failed++;
	}
	printf("%d of %d cases passed\n", n - failed, n);
	close(fd);
	if (fd_natt != fd)
		close(fd_natt);
	return failed ? 1 : 0;
}
