/* SPDX-License-Identifier: ISC */
/*
 * Malformed and hostile input against a live responder: each rejection is
 * counted and, where RFC 7296 asks for one, answered with the right notify
 * (INVALID_SYNTAX only inside a valid SK payload, section 2.21).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ike/engine.h"
#include "world.h"

#define PSK "a shared secret of some length"

static void establish(struct world *w)
{
	world_init(w, NULL, NULL, false);
	world_conn(w, 0, "c", "aes128-sha256-x25519", "aes128gcm16", PSK);
	world_conn(w, 1, "c", "aes128-sha256-x25519", "aes128gcm16", PSK);
	ike_engine_initiate(w->p[0].e, "c", NULL);
	world_run(w, 1000);
}

static struct ike_sa *sa_of(struct w_peer *p)
{
	return ike_engine_find_sa(p->e, world_sa_spi(p));
}

/*
 * Send an INFORMATIONAL request from the initiator's SA with `inner` as the
 * decrypted payload chain (first type `first`), sealed with its real keys.
 * Returns the responder's answer, decrypted and parsed, in *resp (raw bytes
 * kept in buf).  False if the responder said nothing.
 */
static bool poke(struct world *w, uint8_t first, const uint8_t *inner, size_t len,
		 struct ike_msg *resp, uint8_t *buf, size_t *buflen)
{
	struct ike_sa *i = sa_of(&w->p[0]), *r = sa_of(&w->p[1]);
	uint8_t out[2048];
	struct ike_mb mb;
	struct ike_hdr hdr = { .spi_i = i->spi_i, .spi_r = i->spi_r,
			       .exch = IKEV2_EXCH_INFORMATIONAL,
			       .flags = IKEV2_FLAG_INITIATOR, .mid = r->mid_expect };
	struct ike_sk_ctx sk;
	struct w_pkt *p;
	int n;
	size_t aad;

	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(i->suite.encr));
	out[mb.next_off] = first;
	bw_bytes(&mb.w, inner, len);
	ike_sa_sk_ctx(i, true, &sk);
	n = ike_mb_sk_seal(&mb, &sk, NULL);
	CHECK(n > 0);
	w->q_len = 0;
	ike_engine_input(w->p[1].e, &w->p[1].addr, &w->p[0].addr, out, (size_t)n);
	if (w->q_len != 1)
		return false;
	p = w->q[0];
	w->q_len = 0;
	memcpy(buf, p->buf, p->len);
	*buflen = p->len;
	free(p);
	if (ike_msg_parse(resp, buf, *buflen) < 0 || !resp->has_sk)
		return false;
	ike_sa_sk_ctx(i, false, &sk);
	aad = resp->sk_off + IKEV2_GENHDR_LEN;
	n = ike_sk_open(&sk, buf, aad, *buflen);
	if (n <= 0)
		return false;
	{
		const uint8_t *pt = buf + aad + ike_encr_iv_len(i->suite.encr);

		return ike_msg_parse_inner(resp, pt, (size_t)n - pt[n - 1] - 1) == 0;
	}
}

static void test_invalid_syntax_inside_sk(void)
{
	static struct world w;
	struct ike_msg resp;
	struct ike_notify n;
	uint8_t buf[2048];
	size_t len;
	/* A Delete payload claiming 1 ESP SPI but carrying none. */
	static const uint8_t bad_delete[] = { 0, 0, 0, 8, 3, 4, 0, 1 };
	/* A payload whose length runs past the end of the plaintext. */
	static const uint8_t overlong[] = { 0, 0, 0, 40, 1, 2, 3, 4 };
	struct ike_stats s;

	establish(&w);
	CHECK(poke(&w, IKEV2_PL_DELETE, bad_delete, sizeof(bad_delete), &resp, buf, &len));
	CHECK(resp.hdr.flags & IKEV2_FLAG_RESPONSE);
	CHECK(ike_msg_notify(&resp, IKEV2_N_INVALID_SYNTAX, &n));
	CHECK(poke(&w, IKEV2_PL_NOTIFY, overlong, sizeof(overlong), &resp, buf, &len));
	CHECK(ike_msg_notify(&resp, IKEV2_N_INVALID_SYNTAX, &n));
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.rx_malformed, 2);
	/* The SA survives a peer's malformed request. */
	CHECK(sa_of(&w.p[1])->state == IKE_S_ESTABLISHED);
	world_free(&w);
}

static void test_unsupported_critical(void)
{
	static struct world w;
	struct ike_msg resp;
	struct ike_notify n;
	uint8_t buf[2048];
	size_t len;
	/* Payload type 200 (unassigned) with the critical bit: must be refused. */
	static const uint8_t crit[] = { 0, 0x80, 0, 6, 0xaa, 0xbb };
	/* The same without the critical bit: silently skipped, liveness answered. */
	static const uint8_t noncrit[] = { 0, 0x00, 0, 6, 0xaa, 0xbb };

	establish(&w);
	CHECK(poke(&w, 200, crit, sizeof(crit), &resp, buf, &len));
	CHECK(ike_msg_notify(&resp, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &n));
	CHECK(n.len == 1 && n.data[0] == 200);
	CHECK(poke(&w, 200, noncrit, sizeof(noncrit), &resp, buf, &len));
	CHECK_INT(resp.n_pl, 0); /* an empty INFORMATIONAL response */
	/*
	 * IKEv1's payload types (1-32, section 3.2) are unknown payloads to
	 * IKEv2 like 200 (section 2.5), not a malformed message.
	 */
	CHECK(poke(&w, 13, crit, sizeof(crit), &resp, buf, &len));
	CHECK(ike_msg_notify(&resp, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &n));
	CHECK(n.len == 1 && n.data[0] == 13);
	CHECK(poke(&w, 1, noncrit, sizeof(noncrit), &resp, buf, &len));
	CHECK_INT(resp.n_pl, 0);
	world_free(&w);
}

/* A tampered ICV is dropped without a word (no SK to answer inside). */
static void test_bad_icv(void)
{
	static struct world w;
	struct ike_sa *i;
	uint8_t out[512];
	struct ike_mb mb;
	struct ike_sk_ctx sk;
	struct ike_stats s;
	int n;

	establish(&w);
	i = sa_of(&w.p[0]);
	struct ike_hdr hdr = { .spi_i = i->spi_i, .spi_r = i->spi_r,
			       .exch = IKEV2_EXCH_INFORMATIONAL,
			       .flags = IKEV2_FLAG_INITIATOR, .mid = sa_of(&w.p[1])->mid_expect };

	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(i->suite.encr));
	ike_sa_sk_ctx(i, true, &sk);
	n = ike_mb_sk_seal(&mb, &sk, NULL);
	out[n - 1] ^= 1;
	w.q_len = 0;
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, out, (size_t)n);
	CHECK_INT(w.q_len, 0);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.rx_bad_icv, 1);
	/* Undamaged, the same request is answered. */
	out[n - 1] ^= 1;
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, out, (size_t)n);
	CHECK_INT(w.q_len, 1);
	world_free(&w);
}

/* An IKE_SA_INIT request built by hand (no KE etc. unless asked). */
static size_t init_request(uint8_t *buf, size_t cap, uint8_t version, uint64_t spi_i,
			   uint8_t extra_type, bool critical)
{
	struct ike_mb mb;
	struct ike_hdr hdr = { .spi_i = spi_i, .exch = IKEV2_EXCH_IKE_SA_INIT,
			       .flags = IKEV2_FLAG_INITIATOR };
	uint8_t nonce[32] = { 1 };
	size_t start;
	int n;

	ike_mb_init(&mb, buf, cap, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	if (extra_type) {
		start = ike_mb_begin(&mb, extra_type, critical);
		bw_u32(&mb.w, 0);
		ike_mb_end(&mb, start);
	}
	n = ike_mb_finish(&mb);
	buf[17] = version;
	return (size_t)n;
}

static void test_init_errors(void)
{
	static struct world w;
	uint8_t buf[256];
	size_t len;
	struct ike_msg resp;
	struct ike_notify n;
	struct ike_stats s;

	world_init(&w, NULL, NULL, false);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);

	/* Section 2.5: a higher major version gets INVALID_MAJOR_VERSION ... */
	len = init_request(buf, sizeof(buf), 0x30, 0x1111, 0, false);
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, buf, len);
	CHECK_INT(w.q_len, 1);
	if (w.q_len == 1) {
		CHECK(ike_msg_parse(&resp, w.q[0]->buf, w.q[0]->len) == 0);
		CHECK(resp.hdr.version == IKEV2_VERSION);
		CHECK(ike_msg_notify(&resp, IKEV2_N_INVALID_MAJOR_VERSION, &n));
		free(w.q[0]);
		w.q_len = 0;
	}
	/* ... and an IKEv1 (major 1) packet gets nothing. */
	len = init_request(buf, sizeof(buf), 0x10, 0x1112, 0, false);
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, buf, len);
	CHECK_INT(w.q_len, 0);

	/* Section 2.5: unknown critical payload, answered in the clear here. */
	len = init_request(buf, sizeof(buf), 0x20, 0x2222, 201, true);
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, buf, len);
	CHECK_INT(w.q_len, 1);
	if (w.q_len == 1) {
		CHECK(ike_msg_parse(&resp, w.q[0]->buf, w.q[0]->len) == 0);
		CHECK(ike_msg_notify(&resp, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &n));
		CHECK(n.len == 1 && n.data[0] == 201);
		free(w.q[0]);
		w.q_len = 0;
	}
	/* No SA / KE: nothing to answer, no INVALID_SYNTAX outside SK. */
	len = init_request(buf, sizeof(buf), 0x20, 0x3333, 0, false);
	ike_engine_input(w.p[1].e, &w.p[1].addr, &w.p[0].addr, buf, len);
	CHECK_INT(w.q_len, 0);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.rx_malformed, 4);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_free(&w);
}

/*
 * Section 2.6: past 3 half-open SAs from one address the responder wants a
 * cookie; until then it answers directly.
 */
/* Initiate from peer 0 and deliver only IKE_SA_INIT's request and answer. */
static void half_open_one(struct world *w)
{
	ike_engine_initiate(w->p[0].e, "c", NULL);
	for (int step = 0; step < 2 && w->q_len; step++)
		world_deliver(w, 0);
	while (w->q_len)
		free(world_take(w, 0));
}

static void test_half_open_per_ip(void)
{
	static struct world w;
	struct ike_stats s;

	world_init(&w, NULL, NULL, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	/* Four initiations whose IKE_AUTH never arrives. */
	for (int k = 0; k < 4; k++)
		half_open_one(&w);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 3);
	CHECK_INT(s.cookies_sent, 1);
	CHECK_INT(world_sa_count(&w.p[1]), 3);
	/* Half-open SAs expire after 30 s. */
	w.now += 30001;
	ike_engine_tick(w.p[1].e);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_free(&w);
}

static uint8_t src_last_octet;

/* Peer 0's datagrams seem to come from 192.0.2.<src_last_octet>, and back. */
static bool from_elsewhere(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	if (p->to == 1)
		p->src.ip[3] = src_last_octet;
	else
		p->dst.ip[3] = 1;
	return true;
}

/* One IKE_SA_INIT from each of 20 addresses to a responder with cfg: its stats. */
static void from_20_sources(const struct ike_engine_cfg *cfg, struct ike_stats *s,
			    size_t *sas)
{
	static struct world w;

	world_init(&w, NULL, cfg, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	CHECK_INT(world_conn_any(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK), 0);
	w.filter = from_elsewhere;
	for (src_last_octet = 10; src_last_octet < 30; src_last_octet++)
		half_open_one(&w);
	ike_engine_stats(w.p[1].e, s);
	*sas = world_sa_count(&w.p[1]);
	world_free(&w);
}

/*
 * Section 2.6 from many addresses: spoofed sources, one request each.  The
 * threshold in all asks each new one for a cookie and keeps nothing for
 * it; without cookies the limit in all holds however many sources.
 */
static void test_half_open_spoofed(void)
{
	struct ike_engine_cfg cfg;
	struct ike_stats s;
	size_t sas;

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 5;
	from_20_sources(&cfg, &s, &sas);
	CHECK_INT(s.half_open, 5);
	CHECK_INT(s.cookies_sent, 15);
	CHECK_INT(sas, 5);

	cfg.cookie_threshold = cfg.cookie_threshold_ip = 1000;
	cfg.half_open_max = 8;
	from_20_sources(&cfg, &s, &sas);
	CHECK_INT(s.half_open, 8);
	CHECK_INT(s.half_open_refused, 12);
	CHECK_INT(s.half_open_blocked, 0);
	CHECK_INT(sas, 8);
}

/*
 * Section 2.6's cookie secret rotates (cookie_lifetime_ms): a cookie made
 * with the current secret or the one before it is honoured, an older one
 * is not, and a cookie binds the initiator's address, SPI and nonce.
 */
static void test_cookie_rotation(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct ike_engine *e;
	struct xk_addr other;
	uint8_t ni[32], c[IKEV2_COOKIE_MAX], bad[IKEV2_COOKIE_MAX];
	size_t len;
	unsigned v;

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = 0;
	cfg.cookie_lifetime_ms = 60000;
	world_init(&w, NULL, &cfg, false);
	e = w.p[1].e;
	memset(ni, 0x5a, sizeof(ni));
	CHECK(ike_cookie_required(e, &w.p[0].addr));
	v = ike_cookie_version(e);
	ike_cookie_make(e, v, ni, sizeof(ni), &w.p[0].addr, 0x1234, c, &len);
	CHECK_INT(len, 33);
	CHECK(ike_cookie_verify(e, c, len, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	/* Bound to what it was made for. */
	other = w.p[0].addr;
	other.ip[3] ^= 1;
	CHECK(!ike_cookie_verify(e, c, len, ni, sizeof(ni), &other, 0x1234));
	CHECK(!ike_cookie_verify(e, c, len, ni, sizeof(ni), &w.p[0].addr, 0x1235));
	CHECK(!ike_cookie_verify(e, c, len, ni, sizeof(ni) - 1, &w.p[0].addr, 0x1234));
	CHECK(!ike_cookie_verify(e, c, len - 1, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	memcpy(bad, c, len);
	bad[len - 1] ^= 0x80;
	CHECK(!ike_cookie_verify(e, bad, len, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	/* One rotation: still honoured; the version names the secret. */
	w.now += 60001;
	CHECK(ike_cookie_required(e, &w.p[0].addr));
	CHECK_INT(ike_cookie_version(e), v + 1);
	CHECK(ike_cookie_verify(e, c, len, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	bad[0] = (uint8_t)(v + 1);
	memcpy(bad + 1, c + 1, len - 1);
	CHECK(!ike_cookie_verify(e, bad, len, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	/* No rotation before the period is over. */
	w.now += 30000;
	CHECK(ike_cookie_required(e, &w.p[0].addr));
	CHECK_INT(ike_cookie_version(e), v + 1);
	/* Two rotations: refused. */
	w.now += 30001;
	CHECK(ike_cookie_required(e, &w.p[0].addr));
	CHECK_INT(ike_cookie_version(e), v + 2);
	CHECK(!ike_cookie_verify(e, c, len, ni, sizeof(ni), &w.p[0].addr, 0x1234));
	world_free(&w);
}

/*
 * The responder's limits (ike_engine_cfg): half-open SAs from one address
 * and in all, and the longest IKE_SA_INIT kept.  Beyond them a request
 * makes nothing and is dropped, counted by reason.
 */
static void test_half_open_limits(void)
{
	static struct world w;
	struct ike_engine_cfg cfg;
	struct ike_stats s;

	ike_engine_cfg_defaults(&cfg);
	cfg.cookie_threshold = cfg.cookie_threshold_ip = 1000;
	cfg.half_open_max = 3;
	cfg.half_open_max_ip = 2;
	world_init(&w, NULL, &cfg, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	CHECK_INT(world_conn_any(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK), 0);
	w.filter = from_elsewhere;
	src_last_octet = 1;
	for (int k = 0; k < 3; k++)
		half_open_one(&w);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 2);
	CHECK_INT(s.half_open_blocked, 1);
	CHECK_INT(ike_half_open_from(w.p[1].e, &w.p[0].addr), 2);
	/* Another address is not blocked, until the limit in all. */
	src_last_octet = 77;
	half_open_one(&w);
	half_open_one(&w);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 3);
	CHECK_INT(s.half_open_refused, 1);
	CHECK_INT(world_sa_count(&w.p[1]), 3);
	/* Once they expire, room again, and the counts per address are gone. */
	w.now += 30001;
	ike_engine_tick(w.p[1].e);
	CHECK_INT(ike_half_open_from(w.p[1].e, &w.p[0].addr), 0);
	half_open_one(&w);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.half_open, 1);
	world_free(&w);

	/* A request longer than init_max_len: nothing kept, nothing said. */
	ike_engine_cfg_defaults(&cfg);
	cfg.init_max_len = 100;
	world_init(&w, NULL, &cfg, false);
	world_conn(&w, 0, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	world_conn(&w, 1, "c", "aes128gcm16-prfsha256-x25519", "aes128gcm16", PSK);
	half_open_one(&w);
	ike_engine_stats(w.p[1].e, &s);
	CHECK_INT(s.init_too_large, 1);
	CHECK_INT(s.half_open, 0);
	CHECK_INT(world_sa_count(&w.p[1]), 0);
	world_free(&w);
}

/* ---- section 2.21.1: forged answers to our IKE_SA_INIT ---- */

enum forgery {
	FORGE_ERROR,	     /* NO_PROPOSAL_CHOSEN */
	FORGE_COOKIE_EMPTY,  /* a COOKIE of no bytes */
	FORGE_COOKIE_LONG,   /* a COOKIE longer than 64 bytes */
	FORGE_INVALID_KE,    /* INVALID_KE_PAYLOAD for a group we did not offer */
	FORGE_PROPOSAL,	     /* the answer with another DH group chosen */
	FORGE_TWO_PROPOSALS, /* the answer with its proposal twice (section 3.3) */
	FORGE_BAD_KE,	     /* the answer with an all-zero X25519 public value */
	FORGE_N,
};

static const char *const forgery_names[] = {
	"error notify", "empty COOKIE", "long COOKIE", "INVALID_KE_PAYLOAD for MODP-768",
	"a proposal we did not offer", "two proposals", "all-zero KE",
};

struct forge_ctx {
	enum forgery what;
	bool done;
};

/* A notify-only answer to the IKE_SA_INIT request that p answers. */
static void forge_notify(struct w_pkt *p, uint16_t type, const uint8_t *data, size_t len)
{
	struct ike_hdr hdr = { .spi_i = get_be64(p->buf), .exch = IKEV2_EXCH_IKE_SA_INIT,
			       .flags = IKEV2_FLAG_RESPONSE };
	struct ike_mb mb;
	int n;

	ike_mb_init(&mb, p->buf, sizeof(p->buf), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, type, data, len);
	n = ike_mb_finish(&mb);
	CHECK(n > 0);
	p->len = n > 0 ? (size_t)n : 0;
}

/* The genuine answer p, changed in one payload of type `type`. */
static void forge_payload(struct w_pkt *p, uint8_t type, enum forgery what)
{
	struct ike_msg msg;
	const struct ike_pl *pl;
	size_t off;

	CHECK(ike_msg_parse(&msg, p->buf, p->len) == 0);
	pl = ike_msg_find(&msg, type);
	CHECK(pl != NULL);
	if (!pl)
		return;
	off = (size_t)(pl->body - p->buf);
	if (what == FORGE_BAD_KE) {
		/* Group (2), reserved (2), then the public value. */
		memset(p->buf + off + 4, 0, pl->len - 4u);
	} else if (what == FORGE_PROPOSAL) {
		/* The DH transform (type 4, X25519) says ECP-256 instead. */
		for (size_t i = off; i + 8 <= off + pl->len; i++)
			if (p->buf[i] == 3 || p->buf[i] == 0)
				if (get_be16(p->buf + i + 2) == 8 && p->buf[i + 4] == IKEV2_XF_DH &&
				    get_be16(p->buf + i + 6) == IKEV2_DH_CURVE25519)
					put_be16(p->buf + i + 6, IKEV2_DH_ECP_256);
	} else {
		/* One proposal, marked "more follow", then the same as number 2. */
		size_t plen = pl->len, end = off + plen;

		memmove(p->buf + end + plen, p->buf + end, p->len - end);
		memcpy(p->buf + end, p->buf + off, plen);
		p->buf[off] = IKEV2_SUBSTRUC_PROPOSAL;
		p->buf[end + 4] = 2;
		put_be16(p->buf + off - 2, (uint16_t)(pl->len + IKEV2_GENHDR_LEN + plen));
		p->len += plen;
		put_be32(p->buf + 24, (uint32_t)p->len);
	}
}

/* The first answer to IKE_SA_INIT is forged; the genuine one follows it. */
static bool forge_first_answer(struct world *w, struct w_pkt *p, unsigned seq)
{
	struct forge_ctx *f = w->filter_ctx;
	struct w_pkt *genuine;
	static const uint8_t modp768[2] = { 0, 1 }, longc[65] = { 1 };

	(void)seq;
	if (f->done || p->to != 0 || p->buf[18] != IKEV2_EXCH_IKE_SA_INIT)
		return true;
	f->done = true;
	genuine = malloc(sizeof(*genuine));
	if (!genuine)
		return true;
	memcpy(genuine, p, sizeof(*p));
	world_put(w, genuine);
	switch (f->what) {
	case FORGE_ERROR: forge_notify(p, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0); break;
	case FORGE_COOKIE_EMPTY: forge_notify(p, IKEV2_N_COOKIE, NULL, 0); break;
	case FORGE_COOKIE_LONG: forge_notify(p, IKEV2_N_COOKIE, longc, sizeof(longc)); break;
	case FORGE_INVALID_KE: forge_notify(p, IKEV2_N_INVALID_KE_PAYLOAD, modp768, 2); break;
	case FORGE_PROPOSAL:
	case FORGE_TWO_PROPOSALS: forge_payload(p, IKEV2_PL_SA, f->what); break;
	case FORGE_BAD_KE: forge_payload(p, IKEV2_PL_KE, f->what); break;
	case FORGE_N: break;
	}
	return true;
}

/*
 * Section 2.21.1: an answer to IKE_SA_INIT is unauthenticated; one the
 * initiator cannot act on, sent by anyone before the real one, must not
 * end the attempt.  Each forgery arrives first; the SA comes up all the
 * same, and nothing but the real answer was acted on.
 */
static void test_forged_init_answers(void)
{
	static struct world w;

	for (int k = 0; k < FORGE_N; k++) {
		struct forge_ctx f = { (enum forgery)k, false };
		struct ike_stats s;

		world_init(&w, NULL, NULL, false);
		world_conn(&w, 0, "c", "aes128-sha256-x25519", "aes128gcm16", PSK);
		world_conn(&w, 1, "c", "aes128-sha256-x25519", "aes128gcm16", PSK);
		w.filter = forge_first_answer;
		w.filter_ctx = &f;
		ike_engine_initiate(w.p[0].e, "c", NULL);
		world_run(&w, 1000);
		CHECK_MSG(f.done, "%s: no answer forged", forgery_names[k]);
		CHECK_MSG(world_events(&w.p[0], IKE_EV_IKE_UP) == 1 &&
				  world_events(&w.p[1], IKE_EV_IKE_UP) == 1 &&
				  world_events(&w.p[0], IKE_EV_FAILED) == 0,
			  "%s: the forged answer ended the attempt", forgery_names[k]);
		ike_engine_stats(w.p[0].e, &s);
		CHECK_MSG(k == FORGE_ERROR || s.rx_malformed == 1, "%s: %llu counted malformed",
			  forgery_names[k], (unsigned long long)s.rx_malformed);
		world_free(&w);
	}
}

int main(void)
{
	test_invalid_syntax_inside_sk();
	test_unsupported_critical();
	test_bad_icv();
	test_init_errors();
	test_half_open_per_ip();
	test_half_open_limits();
	test_half_open_spoofed();
	test_cookie_rotation();
	test_forged_init_answers();
	return check_done("errors");
}
