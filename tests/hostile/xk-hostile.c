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
 * its socket), PID the daemon whose life each case checks, SRC the source
 * address (10.0.0.3).  Each case prints `case NAME: expect X (RFC): got Y:
 * PASS` or FAIL; the exit status is 1 if any failed.  A COOKIE that a case
 * does not ask for is answered as an initiator would (RFC 7296 2.6).
 *
 * A silence is proven, not waited for: the daemon's rx-packets counter says
 * when it has taken the datagram, and by then any answer was already sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#define QUIET_MS 100  /* after the daemon counted a datagram: a stray answer */
#define SUITE "aes128gcm16-prfsha256-x25519"
#define MODP "aes256-sha256-modp2048"
#define EMPTY (-1)     /* a length or group of zero (0 means "the default") */
#define ZERO 0x10000   /* a length adjustment: set the field to 0 */
#define HUGE 0x20000   /* a length adjustment: set it to the largest value */
#define HB(off, v) ((off) << 8 | (v)) /* argument of hdr_byte */
#define PL_SKF 53      /* RFC 7383 section 2.5 */

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
	enum want want;
	uint16_t notify;   /* NOTIFY: its type */
	int data;          /* NOTIFY: its one- or two-octet data, -1: any */
	const char *ctr;   /* a counter that moves by exactly one */
	const char *rfc;
	int phase;
	struct base o;
	void (*make)(struct pkt *p, const struct hcase *c); /* corrupts the built message */
	int arg;
	enum { AT_SA = 1, AT_KE, AT_NONCE, AT_PROP, AT_XF } at; /* len16: which length */
	uint16_t port;     /* 4500 with the non-ESP marker, else 500 */
	int flags;
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

/* Real public values, made once: the same bytes on a retry with a COOKIE. */
static uint8_t pub_x25519[32], pub_modp[256];

static void pub_make(uint16_t group, uint8_t *out, size_t len)
{
	struct ike_dh *dh = ike_dh_new(group);

	if (!dh || ike_dh_public(dh, out, &len) < 0)
		abort();
	ike_dh_free(dh);
}

static void ke_value(const struct base *o, int group, uint8_t *ke, size_t len)
{
	bool modp = group == IKEV2_DH_MODP_2048;
	size_t n = len < group_len(group) ? len : group_len(group);
	BIGNUM *p;

	memset(ke, 0, len);
	if (o->ke == KE_GOOD)
		memcpy(ke, modp ? pub_modp : pub_x25519, n);
	if (o->ke == KE_ONE && len)
		ke[len - 1] = 1;
	if (o->ke == KE_PM1 && modp) {
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

static void hdr_len(struct pkt *p, const struct hcase *c)
{
	put_be32(p->b + 24, c->arg == ZERO ? 0 :
			    c->arg == HUGE ? 0xffffffff : (uint32_t)((int)p->len + c->arg));
}

static void truncate_to(struct pkt *p, const struct hcase *c)
{
	p->len = (size_t)c->arg;
}

static void trailing(struct pkt *p, const struct hcase *c)
{
	memset(p->b + p->len, 0, (size_t)c->arg);
	p->len += (size_t)c->arg;
	put_be32(p->b + 24, (uint32_t)p->len);
}

static void hdr_byte(struct pkt *p, const struct hcase *c)
{
	p->b[c->arg >> 8] = (uint8_t)c->arg;
}

static void spi_r(struct pkt *p, const struct hcase *c)
{
	put_be64(p->b + 8, (uint64_t)c->arg);
}

static void mid(struct pkt *p, const struct hcase *c)
{
	put_be32(p->b + 20, (uint32_t)c->arg);
}

/* The last payload (Ni) names one more that is not there. */
static void chain_more(struct pkt *p, const struct hcase *c)
{
	p->b[pl_at(p, IKEV2_PL_NONCE)] = (uint8_t)c->arg;
}

/* A length field (c->at) set to zero, the largest value, or moved by c->arg. */
static void len16(struct pkt *p, const struct hcase *c)
{
	size_t off = pl_at(p, c->at == AT_KE ? IKEV2_PL_KE :
			      c->at == AT_NONCE ? IKEV2_PL_NONCE : IKEV2_PL_SA) + 2;
	uint16_t v;

	if (c->at == AT_PROP || c->at == AT_XF) /* the first proposal, its first transform */
		off += 4 + (c->at == AT_XF ? IKEV2_PROPOSAL_HDR_LEN : 0);
	v = get_be16(p->b + off);
	put_be16(p->b + off, c->arg == ZERO ? 0 : c->arg == HUGE ? 0xffff : (uint16_t)(v + c->arg));
}

static void xf_count(struct pkt *p, const struct hcase *c)
{
	p->b[pl_at(p, IKEV2_PL_SA) + 4 + 7] = (uint8_t)c->arg;
}

/*
 * HDR, SK{junk} of exchange c->arg to SPIs nobody has; for IKE_SA_INIT, an
 * SKF payload (fragment 1 of 2, RFC 7383 2.5) alone.
 */
static void sk_exch(struct pkt *p, uint8_t exch)
{
	bool init = exch == IKEV2_EXCH_IKE_SA_INIT;
	struct ike_hdr h = { .spi_i = p->spi, .spi_r = init ? 0 : ~p->spi, .exch = exch,
			     .flags = IKEV2_FLAG_INITIATOR, .mid = init ? 0 : 1 };
	struct ike_mb mb;
	size_t s;

	ike_mb_init(&mb, p->b, sizeof(p->b), &h);
	s = ike_mb_begin(&mb, init ? PL_SKF : IKEV2_PL_SK, false);
	p->b[s] = IKEV2_PL_IDI;
	if (init) {
		bw_u16(&mb.w, 1);
		bw_u16(&mb.w, 2);
	}
	for (int i = 0; i < 64; i++)
		bw_u8(&mb.w, (uint8_t)(i * 37));
	ike_mb_end(&mb, s);
	p->len = (size_t)ike_mb_finish(&mb);
}

static void sk_unknown(struct pkt *p, const struct hcase *c)
{
	sk_exch(p, (uint8_t)c->arg);
}

/* The copy of the established SA's IKE_SA_INIT. */
static void replayed(struct pkt *p, const struct hcase *c)
{
	memcpy(p->b, replay, replay_len);
	p->len = replay_len;
	p->spi = get_be64(replay);
}

/* An INFORMATIONAL with the established SA's SPIs, Message ID c->arg, a wrong ICV. */
static void sk_real(struct pkt *p, const struct hcase *c)
{
	p->spi = real_spi_i;
	sk_exch(p, IKEV2_EXCH_INFORMATIONAL);
	put_be64(p->b + 8, real_spi_r);
	put_be32(p->b + 20, (uint32_t)c->arg);
}

/* ---- the cases ---- */

/*
 * One row per case: name, the answer wanted and the counter that moves by
 * one, the RFC sections saying so ("RFC 7296" unless named), and how the
 * message differs from a valid IKE_SA_INIT to port 500.  Malformed
 * requests before any SA are dropped without a word (RFC 7296 2.21.1: no
 * unauthenticated error beyond those 2.5, 2.6 and 1.2 name).  All come
 * from one address: keep the ones that make a half-open SA (ANS rows, and
 * three per UNDER_LOAD row) under the daemon's limit per address, 25,
 * beyond which it keeps silent (hostile-peer.sh sets the limits).
 */
#define SIL(c) .want = SILENT, .ctr = c
#define NTF(t, d, c) .want = NOTIFY, .notify = IKEV2_N_##t, .data = d, .ctr = c
#define ANS .want = ANSWER
#define RX "rx-malformed"
#define USPI "rx-unknown-spi"
#define NPC NTF(NO_PROPOSAL_CHOSEN, -1, "handshakes-failed")
#define INVKE NTF(INVALID_KE_PAYLOAD, IKEV2_DH_CURVE25519, "invalid-ke-sent")
#define UCP(t) NTF(UNSUPPORTED_CRITICAL_PAYLOAD, t, RX)
#define CKE NTF(COOKIE, -1, "cookies-sent")
#define CRIT(t) .o = { .extra = t, .extra_crit = true, .extra_len = 8 }
#define C(n, w, r, ...) { .name = n, w, .rfc = r, __VA_ARGS__ }
#define MODP2048 .ike = MODP, .group = IKEV2_DH_MODP_2048
#define UNDER_LOAD (NO_RETRY | LOADED)
static const struct hcase cases[] = {
	/*
	 * Proposals nothing can be chosen from (2.7; 3.3.3: IKE needs a DH
	 * group), first: before any half-open SA exists whose expiry would
	 * count as a failed handshake too.  xf-200: 200 transforms, 197 of
	 * them unknown groups, more than a responder weighs.
	 */
	C("xf-200", NPC, "2.7", .o = { .xforms = 200 }),
	C("prop-without-dh", NPC, "3.3.3, 2.7", .o = { .drop_dh = true }),
	C("prop-group-unknown", NPC, "2.7", .o = { .prop_group = 1234, .group = 1234 }),
	/* The IKE header's Length is the whole message (3.1). */
	C("hdr-len-zero", SIL(RX), "3.1, 2.21.1", .make = hdr_len, .arg = ZERO),
	C("hdr-len-short", SIL(RX), "3.1, 2.21.1", .make = hdr_len, .arg = -1),
	C("hdr-len-long", SIL(RX), "3.1, 2.21.1", .make = hdr_len, .arg = 100),
	C("hdr-len-huge", SIL(RX), "3.1, 2.21.1", .make = hdr_len, .arg = HUGE),
	C("hdr-truncated", SIL(RX), "3.1", .make = truncate_to, .arg = 20),
	C("hdr-trailing-bytes", SIL(RX), "3.1, 3.2", .make = trailing, .arg = 7),
	/* A higher major version gets INVALID_MAJOR_VERSION (2.5); IKEv1 is not ours to answer. */
	C("version-3", NTF(INVALID_MAJOR_VERSION, -1, RX), "2.5", .make = hdr_byte,
	  .arg = HB(17, 0x30)),
	C("version-3-natt", NTF(INVALID_MAJOR_VERSION, -1, RX), "2.5, 2.23", .make = hdr_byte,
	  .arg = HB(17, 0x30), .port = 4500),
	C("version-1-ikev1", SIL(RX), "2.5", .make = hdr_byte, .arg = HB(17, 0x10)),
	/* The minor version is ignored on receipt (3.1). */
	C("version-2.1", ANS, "3.1", .make = hdr_byte, .arg = HB(17, 0x21)),
	/* Flags, SPIs and Message ID of a first request (2.2, 3.1); a response matches nothing. */
	C("response-flag-on-request", SIL(USPI), "3.1, 2.21.4", .make = hdr_byte,
	  .arg = HB(19, 0x28)),
	C("init-without-i-flag", SIL(RX), "3.1", .make = hdr_byte, .arg = HB(19, 0)),
	C("init-spi-r-nonzero", SIL(RX), "3.1", .make = spi_r, .arg = 0x1234),
	C("init-mid-1", SIL(RX), "2.2", .make = mid, .arg = 1),
	/* The generic payload header (3.2). */
	C("pl-len-zero", SIL(RX), "3.2, 2.21.1", .make = len16, .at = AT_SA, .arg = ZERO),
	C("pl-len-short", SIL(RX), "3.2, 2.21.1", .make = len16, .at = AT_SA, .arg = -4),
	C("pl-len-long", SIL(RX), "3.2, 2.21.1", .make = len16, .at = AT_SA, .arg = 9),
	C("pl-len-huge", SIL(RX), "3.2, 2.21.1", .make = len16, .at = AT_SA, .arg = HUGE),
	C("pl-chain-past-end", SIL(RX), "3.2", .make = chain_more, .arg = IKEV2_PL_SA),
	/* Proposal and transform substructures (3.3.1, 3.3.2). */
	C("prop-len-zero", SIL(RX), "3.3.1", .make = len16, .at = AT_PROP, .arg = ZERO),
	C("prop-len-short", SIL(RX), "3.3.1", .make = len16, .at = AT_PROP, .arg = -1),
	C("prop-len-long", SIL(RX), "3.3.1", .make = len16, .at = AT_PROP, .arg = 8),
	C("xf-len-zero", SIL(RX), "3.3.2", .make = len16, .at = AT_XF, .arg = ZERO),
	C("xf-len-short", SIL(RX), "3.3.2", .make = len16, .at = AT_XF, .arg = -5),
	C("xf-len-long", SIL(RX), "3.3.2", .make = len16, .at = AT_XF, .arg = 4),
	C("xf-count-255", SIL(RX), "3.3.1", .make = xf_count, .arg = 255),
	C("xf-count-0", SIL(RX), "3.3.1", .make = xf_count, .arg = 0),
	C("prop-two-sa-payloads", SIL(RX), "1.2, 2.21.1", .o = { .two_sa = true }),
	/* A KE group other than the one chosen: INVALID_KE_PAYLOAD naming it (1.2, 3.4). */
	C("ke-group-mismatch", INVKE, "1.2, 3.4", .o = { .group = IKEV2_DH_MODP_2048 }),
	C("ke-group-unknown", INVKE, "1.2, 3.4", .o = { .group = 1234 }),
	C("ke-group-0", INVKE, "1.2, 3.4", .o = { .group = EMPTY }),
	C("ke-group-mismatch-natt", INVKE, "1.2, 3.4, 2.23", .port = 4500,
	  .o = { .group = IKEV2_DH_MODP_2048 }),
	/* KE values of the group's size and no degenerate one. */
	C("ke-modp-good", ANS, "1.2", .o = { MODP2048 }),
	C("ke-modp-0", SIL(RX), "RFC 6989 2, RFC 7296 2.21.1", .o = { MODP2048, .ke = KE_ZERO }),
	C("ke-modp-1", SIL(RX), "RFC 6989 2, RFC 7296 2.21.1", .o = { MODP2048, .ke = KE_ONE }),
	C("ke-modp-p-1", SIL(RX), "RFC 6989 2, RFC 7296 2.21.1", .o = { MODP2048, .ke = KE_PM1 }),
	C("ke-modp-short", SIL(RX), "3.4, 2.21.1", .o = { MODP2048, .ke_len = 255 }),
	C("ke-x25519-zero", SIL(RX), "RFC 8031 2, RFC 7296 2.21.1", .o = { .ke = KE_ZERO }),
	C("ke-x25519-short", SIL(RX), "RFC 8031 2, RFC 7296 3.4", .o = { .ke_len = 31 }),
	C("ke-x25519-long", SIL(RX), "RFC 8031 2, RFC 7296 3.4", .o = { .ke_len = 33 }),
	C("ke-data-empty", SIL(RX), "3.4", .o = { .ke_len = EMPTY }),
	C("ke-pl-len-zero", SIL(RX), "3.4, 3.2", .make = len16, .at = AT_KE, .arg = ZERO),
	C("ke-pl-len-short", SIL(RX), "3.4, 3.2", .make = len16, .at = AT_KE, .arg = -(32 + 2)),
	C("ke-missing", SIL(RX), "1.2, 2.21.1", .o = { .no_ke = true }),
	/* Nonces of 16 to 256 octets (2.10, 3.9). */
	C("nonce-empty", SIL(RX), "3.9", .o = { .nonce_len = EMPTY }),
	C("nonce-15", SIL(RX), "2.10, 3.9", .o = { .nonce_len = 15 }),
	C("nonce-16", ANS, "2.10, 3.9", .o = { .nonce_len = 16 }),
	C("nonce-256", ANS, "3.9", .o = { .nonce_len = 256 }),
	C("nonce-257", SIL(RX), "3.9", .o = { .nonce_len = 257 }),
	C("nonce-missing", SIL(RX), "1.2, 2.21.1", .o = { .no_nonce = true }),
	C("nonce-pl-len-long", SIL(RX), "3.9, 3.2", .make = len16, .at = AT_NONCE, .arg = 1),
	/* Unknown payloads are skipped, refused when critical, naming the type (2.5, 3.2). */
	C("unknown-200", ANS, "2.5, 3.2", .o = { .extra = 200, .extra_len = 4 }),
	C("unknown-200-critical", UCP(200), "2.5, 3.2",
	  .o = { .extra = 200, .extra_crit = true, .extra_len = 4 }),
	/* IKEv1's payload types (1-32, 3.2) are unknown payloads like any other. */
	C("ikev1-pl-1", ANS, "2.5, 3.2", .o = { .extra = 1, .extra_len = 8 }),
	C("ikev1-pl-13", ANS, "2.5, 3.2", .o = { .extra = 13, .extra_len = 8 }),
	C("ikev1-pl-32", ANS, "2.5, 3.2", .o = { .extra = 32 }),
	C("ikev1-pl-1-critical", UCP(1), "2.5, 3.2", CRIT(1)),
	C("ikev1-pl-4-critical", UCP(4), "2.5, 3.2", CRIT(4)),
	C("ikev1-pl-13-critical", UCP(13), "2.5, 3.2", CRIT(13)),
	C("ikev1-pl-32-critical", UCP(32), "2.5, 3.2", CRIT(32)),
	/* Fragments never belong to IKE_SA_INIT (RFC 7383 2.5); SKF is unknown there. */
	C("skf-in-init-alone", SIL(RX), "RFC 7383 2.5, RFC 7296 2.21.1", .make = sk_unknown,
	  .arg = IKEV2_EXCH_IKE_SA_INIT),
	C("skf-in-init", ANS, "RFC 7383 2.5, RFC 7296 2.5",
	  .o = { .extra = PL_SKF, .extra_len = 8 }),
	C("skf-in-init-critical", UCP(PL_SKF), "RFC 7383 2.5, RFC 7296 2.5", CRIT(PL_SKF)),
	/* Larger than any IKE_SA_INIT needs: nothing kept, nothing said (2.6's DoS concern). */
	C("init-9000-octets", SIL("init-too-large"), "2.6, 2.21.1",
	  .o = { .extra = IKEV2_PL_VENDOR, .extra_len = 9000 }),
	/* SK payloads to SPIs nobody has: INVALID_IKE_SPI is a MAY (2.21.4). */
	C("sk-unknown-spi-auth", SIL(USPI), "2.21.4", .make = sk_unknown,
	  .arg = IKEV2_EXCH_IKE_AUTH),
	C("sk-unknown-spi-info", SIL(USPI), "2.21.4", .make = sk_unknown,
	  .arg = IKEV2_EXCH_INFORMATIONAL),
	C("sk-unknown-spi-natt", SIL(USPI), "2.21.4, 2.23", .make = sk_unknown,
	  .arg = IKEV2_EXCH_CREATE_CHILD_SA, .port = 4500),
	/* Under load (three half-open SAs from an address) a COOKIE, also for a wrong one (2.6). */
	C("cookie-under-load", CKE, "2.6", .flags = UNDER_LOAD),
	C("cookie-len-0", CKE, "2.6", .flags = UNDER_LOAD, .o = { .cookie_len = EMPTY }),
	C("cookie-len-65", CKE, "2.6", .flags = UNDER_LOAD, .o = { .cookie_len = 65 }),
	C("cookie-len-64-forged", CKE, "2.6", .flags = UNDER_LOAD, .o = { .cookie_len = 64 }),
	/*
	 * After establishment (`late`, from the initiator's address and the
	 * destination's port): a bitwise copy of the IKE_SA_INIT request whose
	 * response is forgotten is ignored (2.1), from the port it first came
	 * from as from the one the SA floated to (2.23); SK payloads with the
	 * SA's SPIs but a wrong ICV (3.14) or a Message ID out of the window (2.3).
	 */
	C("late-init-copy", SIL("rx-unexpected"), "2.1", .phase = LATE, .make = replayed),
	C("late-init-copy-natt", SIL("rx-unexpected"), "2.1, 2.23", .phase = LATE,
	  .make = replayed, .port = 4500),
	C("sk-real-spi-bad-icv", SIL("rx-bad-icv"), "2.21, 3.14", .phase = LATE, .make = sk_real,
	  .arg = 2),
	C("sk-real-spi-old-mid", SIL("rx-unexpected"), "2.3", .phase = LATE, .make = sk_real,
	  .arg = 0, .port = 4500),
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

/* An answer, or an expectation, in words. */
struct answer {
	enum want kind;
	uint16_t notify;
	int data; /* a notify's one- or two-octet data, else -1 */
};

static const char *words(const struct answer *a, char *buf, size_t len)
{
	if (a->kind != NOTIFY)
		return a->kind == SILENT ? "silence" : a->kind == ANSWER ? "SA,KE,Nr" :
		       "a malformed or foreign answer, or one without SA,KE,Nr or error";
	if (a->data < 0)
		snprintf(buf, len, "N(%s)", ikev2_notify_name(a->notify));
	else
		snprintf(buf, len, "N(%s, %d)", ikev2_notify_name(a->notify), a->data);
	return buf;
}

/* What came back (n < 0: nothing): an error notify or COOKIE first. */
static void describe(const uint8_t *buf, ssize_t n, uint64_t spi, struct answer *a)
{
	struct ike_msg m;
	struct ike_notify nt;

	*a = (struct answer){ .kind = n < 0 ? SILENT : OTHER, .data = -1 };
	if (n < 0 || ike_msg_parse(&m, buf, (size_t)n) < 0 ||
	    !(m.hdr.flags & IKEV2_FLAG_RESPONSE) || m.hdr.spi_i != spi)
		return;
	for (size_t i = 0; i < m.n_pl; i++) {
		if (m.pl[i].type != IKEV2_PL_NOTIFY || ike_pl_notify(&m.pl[i], &nt) < 0 ||
		    (nt.type > IKEV2_N_ERROR_MAX && nt.type != IKEV2_N_COOKIE))
			continue;
		a->kind = NOTIFY;
		a->notify = nt.type;
		if (nt.type != IKEV2_N_COOKIE && (nt.len == 1 || nt.len == 2))
			a->data = nt.len == 1 ? nt.data[0] : get_be16(nt.data);
		return;
	}
	if (ike_msg_find(&m, IKEV2_PL_SA) && ike_msg_find(&m, IKEV2_PL_KE) &&
	    ike_msg_find(&m, IKEV2_PL_NONCE))
		a->kind = ANSWER;
}

/*
 * Send the case's message and take its answer: an answer, or for silence
 * the daemon's rx-packets moving past `rx0` and a short quiet after it.
 * A COOKIE the case does not ask for is answered as an initiator does
 * (section 2.6): the same request again with the COOKIE first.
 */
static bool exchange(int fd, const struct hcase *c, struct pkt *p, long rx0, struct answer *a,
		     struct stats *s)
{
	static uint8_t buf[65536];
	uint16_t port = c->port == 4500 ? 4500 : 500;
	struct ike_msg m;
	struct ike_notify nt;
	bool read = false;
	ssize_t n;

	for (int tries = 0; tries < 2; tries++) {
		build(p, &c->o);
		if (c->make)
			c->make(p, c);
		send_pkt(fd, p, port);
		if (c->want == SILENT && ctl_cmd) {
			uint64_t end = now_ms() + WAIT_MS;

			do
				stats_read(s);
			while (stat_get(s, "rx-packets") <= rx0 && now_ms() < end);
			read = true;
			n = recv_until(fd, buf, sizeof(buf), port, now_ms() + QUIET_MS);
		} else {
			n = recv_until(fd, buf, sizeof(buf), port, now_ms() + WAIT_MS);
		}
		describe(buf, n, p->spi, a);
		if (a->kind != NOTIFY || a->notify != IKEV2_N_COOKIE || c->flags & NO_RETRY ||
		    ike_msg_parse(&m, buf, (size_t)n) < 0 ||
		    !ike_msg_notify(&m, IKEV2_N_COOKIE, &nt) || nt.len > sizeof(p->cookie))
			return read;
		memcpy(p->cookie, nt.data, nt.len);
		p->cookie_len = nt.len;
		if (rx0 != LONG_MAX)
			rx0++;
	}
	return read;
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
	static const struct hcase valid = { .name = "load", .want = ANSWER };
	struct answer a;
	struct stats s;
	struct pkt p;

	for (int i = 0; i < 3; i++) {
		memset(&p, 0, sizeof(p));
		p.spi = new_spi();
		exchange(fd, &valid, &p, LONG_MAX, &a, &s);
	}
}

static bool run_case(int fd, const struct hcase *c)
{
	static struct pkt p;
	struct stats s0, s1;
	struct answer a;
	struct answer want = { c->want, c->notify, c->data };
	char w[96], g[96], got[256];
	long d = 0;
	bool ok, read;

	if (c->flags & LOADED)
		load(fd);
	memset(&p, 0, sizeof(p));
	p.spi = new_spi();
	stats_read(&s0);
	/* After a silence the last counters read are those after the datagram. */
	read = exchange(fd, c, &p, ctl_cmd ? stat_get(&s0, "rx-packets") : LONG_MAX, &a, &s1);
	ok = a.kind == c->want &&
	     (c->want != NOTIFY || (a.notify == c->notify && (c->data < 0 || a.data == c->data)));
	snprintf(got, sizeof(got), "%s", words(&a, g, sizeof(g)));
	if (c->ctr && ctl_cmd) {
		if (!read)
			stats_read(&s1);
		d = stat_get(&s1, c->ctr) - stat_get(&s0, c->ctr);
		snprintf(got + strlen(got), sizeof(got) - strlen(got), ", %s +%ld", c->ctr, d);
		ok = ok && d == 1;
	}
	if (daemon_pid && kill(daemon_pid, 0) < 0) {
		snprintf(got + strlen(got), sizeof(got) - strlen(got), ", THE DAEMON DIED");
		ok = false;
	}
	printf("case %s: expect %s%s%s (%s%s): got %s: %s\n", c->name,
	       words(&want, w, sizeof(w)), c->ctr ? ", " : "", c->ctr ? c->ctr : "",
	       c->rfc[0] == 'R' ? "" : "RFC 7296 ", c->rfc, got, ok ? "PASS" : "FAIL");
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
		    (ike[19] & (IKEV2_FLAG_INITIATOR | IKEV2_FLAG_RESPONSE)) !=
			    IKEV2_FLAG_INITIATOR)
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
	pub_make(IKEV2_DH_CURVE25519, pub_x25519, sizeof(pub_x25519));
	pub_make(IKEV2_DH_MODP_2048, pub_modp, sizeof(pub_modp));
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
