/* SPDX-License-Identifier: ISC */
/*
 * Writes the seed corpora of the fuzz targets from real exchanges:
 *   fuzz_parse/   every datagram of a few world handshakes (IKE_SA_INIT
 *                 with and without COOKIE / INVALID_KE_PAYLOAD, IKE_AUTH,
 *                 INFORMATIONAL liveness and DELETEs) plus hand-built
 *                 messages holding the payloads no exchange sends yet
 *   fuzz_engine/  the requests among them, IKE_SA_INIT above all
 *   fuzz_sk/      inner SK chains: a valid IKE_AUTH for sk_world's fixed
 *                 keys, DELETEs, notifies, CREATE_CHILD_SA (responder
 *                 mode); the peer's answers to each of our requests, valid
 *                 or refused, collisions and retransmissions (initiator
 *                 mode, files ini-*)
 *   fuzz_world/   schedules (fuzz_world.h): each lifecycle action from
 *                 either side, collisions, loss and reordering, forgeries,
 *                 and near misses of the races the target exists to find
 * Rerun after changing the wire format, the engines' proposals or
 * sk_world's fixed values (the IKE_AUTH seeds' AUTH depends on them):
 *
 *	tools/fuzz seeds          (or: fuzz-seeds tests/fuzz/corpus)
 *
 * Seeds named regress-* are the inputs that found engine bugs; each must
 * pass now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "fuzz_world.h"
#include "ike/ikev2.h"
#include "ike/payload.h"
#include "sk_world.h"
#include "world.h"

#define PSK "a shared secret for the seeds"

static const char *root;
static unsigned written;

static void save(const char *target, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

/* ---- datagrams of world handshakes ---- */

struct capture {
	const char *scenario;
	bool all; /* every exchange, not only IKE_SA_INIT */
};

static bool capture(struct world *w, struct w_pkt *p, unsigned seq)
{
	const struct capture *c = w->filter_ctx;
	bool resp = p->buf[19] & IKEV2_FLAG_RESPONSE;
	char name[128];

	snprintf(name, sizeof(name), "%s-%02u-%s-%s", c->scenario, seq,
		 ikev2_exch_name(p->buf[18]), resp ? "resp" : "req");
	for (char *s = name; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	if (!c->all && p->buf[18] != IKEV2_EXCH_IKE_SA_INIT)
		return true;
	save("fuzz_parse", name, p->buf, p->len);
	/*
	 * The engine fuzzer is a responder that never told anyone its SPIs:
	 * IKE_SA_INIT requests reach deep, the others only the SPI lookup.
	 */
	if (!resp)
		save("fuzz_engine", name, p->buf, p->len);
	return true;
}

static void handshake(const char *scenario, const char *ike_i, const char *ike_r,
		      const char *esp, bool v6, bool cookies, bool info)
{
	struct capture c = { scenario, info };
	struct ike_engine_cfg cfg_r;
	struct world w;
	uint64_t spi;

	ike_engine_cfg_defaults(&cfg_r);
	if (cookies)
		cfg_r.cookie_threshold = 0;
	world_init(&w, NULL, &cfg_r, v6);
	if (world_conn(&w, 0, "c", ike_i, esp, PSK) < 0 ||
	    world_conn(&w, 1, "c", ike_r, esp, PSK) < 0) {
		fprintf(stderr, "%s: bad proposals\n", scenario);
		exit(1);
	}
	w.filter = capture;
	w.filter_ctx = &c;
	ike_engine_initiate(w.p[0].e, "c", &spi);
	world_run(&w, 1000);
	if (world_events(&w.p[0], IKE_EV_IKE_UP) != 1) {
		fprintf(stderr, "%s: handshake failed\n", scenario);
		exit(1);
	}
	if (info) {
		struct ike_child_info ci;

		ike_engine_liveness(w.p[0].e, spi);
		world_run(&w, 1000);
		if (ike_engine_child_info(w.p[0].e, spi, 0, &ci) == 0)
			ike_engine_delete_child(w.p[0].e, spi, ci.spi_in);
		world_run(&w, 1000);
		ike_engine_terminate(w.p[0].e, spi);
		world_run(&w, 1000);
	}
	world_free(&w);
}

/* ---- hand-built messages ---- */

static int finish_save(struct ike_mb *mb, const char *target, const char *name)
{
	int len = ike_mb_finish(mb);

	if (len < 0)
		return len;
	save(target, name, mb->w.p, (size_t)len);
	return len;
}

/* The payloads no exchange of ours sends: CP, CERT, CERTREQ, an unknown critical one. */
static void hand_made(void)
{
	static const uint8_t cp[] = { IKEV2_CFG_REQUEST, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0 };
	static const uint8_t cert[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	static const uint8_t nonce[32] = { 1, 2, 3 }, spi[4] = { 0xc1, 0, 0, 1 };
	struct ike_hdr hdr = {
		.spi_i = 0x0102030405060708ULL,
		.spi_r = 0x1112131415161718ULL,
		.exch = IKEV2_EXCH_INFORMATIONAL,
		.flags = IKEV2_FLAG_INITIATOR,
		.mid = 2,
	};
	struct xk_ts ts[2];
	uint8_t buf[2048];
	struct ike_mb mb;
	size_t s;

	memset(ts, 0, sizeof(ts));
	xk_ts_parse("10.0.0.0/8", &ts[0]);
	xk_ts_parse("2001:db8::/32", &ts[1]);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	s = ike_mb_begin(&mb, IKEV2_PL_CP, false);
	bw_bytes(&mb.w, cp, sizeof(cp));
	ike_mb_end(&mb, s);
	ike_mb_cert(&mb, IKEV2_PL_CERT, 4, cert, sizeof(cert));
	ike_mb_cert(&mb, IKEV2_PL_CERTREQ, 4, NULL, 0);
	ike_mb_vendor(&mb, (const uint8_t *)"xike", 4);
	ike_mb_ts(&mb, IKEV2_PL_TSI, ts, 2);
	ike_mb_delete(&mb, IKEV2_PROTO_ESP, 4, spi, 1);
	ike_mb_notify(&mb, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
	s = ike_mb_begin(&mb, 200, true);
	bw_bytes(&mb.w, nonce, 4);
	ike_mb_end(&mb, s);
	finish_save(&mb, "fuzz_parse", "hand-cp-cert-ts-unknown-critical");

	/* An SA payload with more transforms than a proposal keeps. */
	{
		struct ike_proposal big = { .num = 1, .protocol = IKEV2_PROTO_IKE };

		hdr.exch = IKEV2_EXCH_IKE_SA_INIT;
		for (uint16_t i = 0; i < IKE_MAX_XFORMS; i++)
			big.xf[big.n_xforms++] = (struct ike_xform){ IKEV2_XF_DH, i, 0 };
		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		ike_mb_sa(&mb, &big, 1);
		if (ike_mb_finish(&mb) > 0) {
			/* Splice in one more transform by hand. */
			memmove(buf + 28 + 4 + 8 + 8, buf + 28 + 4 + 8, mb.w.len - 40);
			buf[28 + 4 + 8] = IKEV2_SUBSTRUC_XFORM;
			buf[28 + 4 + 8 + 4] = IKEV2_XF_DH;
			buf[28 + 4 + 7]++;                     /* Num Transforms */
			put_be16(buf + 28 + 4 + 2, (uint16_t)(get_be16(buf + 28 + 4 + 2) + 8));
			put_be16(buf + 28 + 2, (uint16_t)(get_be16(buf + 28 + 2) + 8));
			put_be32(buf + 24, (uint32_t)mb.w.len + 8);
			save("fuzz_parse", "hand-sa-33-transforms", buf, mb.w.len + 8);
		}
	}

	/* An IKEv1 header: answered with INVALID_MAJOR_VERSION. */
	hdr.exch = IKEV2_EXCH_IKE_SA_INIT;
	hdr.spi_r = 0;
	hdr.mid = 0;
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	if (ike_mb_finish(&mb) > 0) {
		buf[17] = 0x10;
		save("fuzz_parse", "hand-version-1", buf, mb.w.len);
		save("fuzz_engine", "hand-version-1", buf, mb.w.len);
	}
}

/* ---- inner chains for fuzz_sk ---- */

#define MODE_AUTH 0
#define MODE_INFO 1
#define MODE_CREATE 2
#define MODE_OTHER 3
#define MODE_PRE_AUTH 4
#define MODE_TWICE 8

/* A fuzz_sk input: mode, first inner payload type, the chain built in mb. */
static void save_inner(const char *name, uint8_t mode, struct ike_mb *mb)
{
	uint8_t in[4096];
	int len = ike_mb_finish(mb);

	if (len < 0 || (size_t)len - IKEV2_HDR_LEN + 2 > sizeof(in)) {
		fprintf(stderr, "%s: does not fit\n", name);
		exit(1);
	}
	in[0] = mode;
	in[1] = mb->w.p[16];
	memcpy(in + 2, mb->w.p + IKEV2_HDR_LEN, (size_t)len - IKEV2_HDR_LEN);
	save("fuzz_sk", name, in, (size_t)len - IKEV2_HDR_LEN + 2);
}

static void sk_seeds(void)
{
	static struct sk_world sw;
	static const uint8_t nonce[32] = { 0x42 }, ke[32] = { 9 };
	static const uint8_t child_spi[4] = { 0xc1, 0x00, 0x00, 0x01 };
	static const uint8_t cp[] = { IKEV2_CFG_REQUEST, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0 };
	struct ike_hdr hdr = { 0 };
	struct ike_proposal esp[2];
	struct xk_ts any;
	uint8_t pt[2048], in[2048], buf[2048], first;
	struct ike_mb mb;
	char err[128];
	int n;
	size_t s;

	if (sk_world_init(&sw) < 0)
		exit(1);
	for (int transport = 0; transport < 2; transport++) {
		n = sk_world_auth_payloads(&sw, transport, &first, pt, sizeof(pt));
		if (n < 0)
			exit(1);
		in[0] = MODE_AUTH;
		in[1] = first;
		memcpy(in + 2, pt, (size_t)n);
		save("fuzz_sk", transport ? "auth-valid-transport" : "auth-valid", in,
		     (size_t)n + 2);
		if (transport)
			continue;
		/* The same, sent twice: the second gets the cached response. */
		in[0] = MODE_AUTH | MODE_TWICE;
		save("fuzz_sk", "auth-valid-twice", in, (size_t)n + 2);
		/* With an IDr in front: IDr's Next Payload is the old first. */
		in[0] = MODE_AUTH;
		in[1] = IKEV2_PL_IDR;
		memcpy(in + 2, (const uint8_t[]){ first, 0, 0, 12, IKEV2_ID_FQDN, 0, 0, 0, 'x', 'i',
						  'k', 'e' },
		       12);
		memcpy(in + 14, pt, (size_t)n);
		save("fuzz_sk", "auth-valid-idr", in, (size_t)n + 14);
		/* A second IKE_AUTH on an established SA. */
		in[0] = MODE_AUTH | MODE_PRE_AUTH;
		in[1] = first;
		memcpy(in + 2, pt, (size_t)n);
		save("fuzz_sk", "auth-again", in, (size_t)n + 2);
	}
	sk_world_free(&sw);

	memset(&any, 0, sizeof(any));
	xk_ts_parse("0.0.0.0/0", &any);
	n = ike_proposals_parse("aes128gcm16-x25519", IKEV2_PROTO_ESP, esp, 2, err, sizeof(err));
	if (n < 0)
		exit(1);
	esp[0].spi_size = 4;
	memcpy(esp[0].spi, child_spi, 4);

	/* IKE_AUTH with a wrong AUTH, a CP request and an unknown critical payload. */
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_id(&mb, IKEV2_PL_IDI, IKEV2_ID_IPV4_ADDR, (const uint8_t[]){ 192, 0, 2, 1 }, 4);
	ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, nonce, sizeof(nonce));
	s = ike_mb_begin(&mb, IKEV2_PL_CP, false);
	bw_bytes(&mb.w, cp, sizeof(cp));
	ike_mb_end(&mb, s);
	ike_mb_sa(&mb, esp, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSI, &any, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSR, &any, 1);
	save_inner("auth-bad-auth-cp", MODE_AUTH, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	s = ike_mb_begin(&mb, 199, true);
	ike_mb_end(&mb, s);
	ike_mb_id(&mb, IKEV2_PL_IDI, IKEV2_ID_FQDN, (const uint8_t *)"peer", 4);
	save_inner("auth-unknown-critical", MODE_AUTH, &mb);

	/* INFORMATIONAL: liveness, DELETE of the IKE SA, of the CHILD_SA, notifies. */
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	save_inner("info-empty", MODE_INFO, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	save_inner("info-empty-twice", MODE_INFO | MODE_TWICE, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_delete(&mb, IKEV2_PROTO_IKE, 0, NULL, 0);
	save_inner("info-delete-ike", MODE_INFO, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_delete(&mb, IKEV2_PROTO_ESP, 4, child_spi, 1);
	save_inner("info-delete-child", MODE_INFO | MODE_PRE_AUTH, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_AUTHENTICATION_FAILED, NULL, 0);
	ike_mb_delete(&mb, IKEV2_PROTO_ESP, 4, child_spi, 1);
	save_inner("info-notify-delete", MODE_INFO | MODE_PRE_AUTH, &mb);

	/* CREATE_CHILD_SA for a new CHILD_SA, and an exchange type nobody defined. */
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sa(&mb, esp, 1);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	ike_mb_ke(&mb, IKEV2_DH_CURVE25519, ke, sizeof(ke));
	ike_mb_ts(&mb, IKEV2_PL_TSI, &any, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSR, &any, 1);
	save_inner("create-child", MODE_CREATE | MODE_PRE_AUTH, &mb);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_INITIAL_CONTACT, NULL, 0);
	save_inner("other-exchange", MODE_OTHER, &mb);
}

/* ---- initiator scripts for fuzz_sk (see the top of fuzz_sk.c) ---- */

#define INI 0x10
#define INI_PFS 0x08
#define REQ_AUTH 6
#define REQ_NONE 7
#define OP_RESP(target) ((uint8_t)((target) << 2))
#define OP_REQ(target, exch_idx) ((uint8_t)(1 | (target) << 2 | (exch_idx) << 4))
#define OP_TICK(secs) ((uint8_t)(2 | ((secs) - 1) << 2))
#define OP_CALL(target, req) ((uint8_t)(3 | (target) << 2 | (req) << 4))
#define EX_INFO 1
#define EX_CREATE 2

struct script {
	uint8_t buf[4096];
	size_t len;
};

static void sc_start(struct script *sc, uint8_t mode)
{
	sc->buf[0] = mode;
	sc->len = 1;
}

static void sc_op(struct script *sc, uint8_t op)
{
	sc->buf[sc->len++] = op;
}

/* A response or request step carrying the chain built in mb. */
static void sc_chain(struct script *sc, uint8_t op, struct ike_mb *mb)
{
	int len = ike_mb_finish(mb);
	size_t n;

	if (len < 0 || sc->len + 4 + (size_t)len > sizeof(sc->buf)) {
		fprintf(stderr, "script: does not fit\n");
		exit(1);
	}
	n = (size_t)len - IKEV2_HDR_LEN;
	sc->buf[sc->len++] = op;
	sc->buf[sc->len++] = mb->w.p[16];
	sc->buf[sc->len++] = (uint8_t)(n >> 8);
	sc->buf[sc->len++] = (uint8_t)n;
	memcpy(sc->buf + sc->len, mb->w.p + IKEV2_HDR_LEN, n);
	sc->len += n;
}

static void sc_empty(struct script *sc, uint8_t op)
{
	sc_op(sc, op);
	sc_op(sc, 0);
	sc_op(sc, 0);
	sc_op(sc, 0);
}

static void sc_save(struct script *sc, const char *name)
{
	char full[128];

	snprintf(full, sizeof(full), "ini-%s", name);
	save("fuzz_sk", full, sc->buf, sc->len);
}

/*
 * A scenario that found an engine bug (an ASan report at 0bf6618): kept
 * as a seed, named for it, so that the fuzz suite replays it every run.
 */
static void sc_save_bug(struct script *sc, const char *name)
{
	char full[128];

	snprintf(full, sizeof(full), "regress-%s", name);
	sc_save(sc, full);
}

/* The peer's choices: SPIs and nonces, a valid X25519 and P-256 public value. */
static const uint8_t x25519_pub[32] = { 9 };
static const uint8_t p256_pub[64] = {
	0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
	0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
	0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f,
	0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57,
	0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static void nonce_of(uint8_t *n, uint8_t v)
{
	memset(n, v, 32);
}

static void ini_ts(struct xk_ts *ours, struct xk_ts *peer)
{
	memset(ours, 0, sizeof(*ours));
	memset(peer, 0, sizeof(*peer));
	xk_ts_parse("192.0.2.2/32", ours);
	xk_ts_parse("192.0.2.3/32", peer);
}

/*
 * The peer's CREATE_CHILD_SA response for a CHILD_SA: SA (`esp` proposal,
 * number num, SPI spi), Nr, [KEr], TSi, TSr, N(USE_TRANSPORT_MODE).
 */
static void child_reply(struct ike_mb *mb, uint8_t *buf, size_t cap, const char *esp,
			uint8_t num, uint32_t spi, uint8_t nr, uint16_t ke_group,
			const char *tsr)
{
	struct ike_hdr hdr = { 0 };
	struct ike_proposal p;
	struct xk_ts ours, peer;
	uint8_t nonce[32];
	char err[128];

	if (ike_proposals_parse(esp, IKEV2_PROTO_ESP, &p, 1, err, sizeof(err)) != 1)
		exit(1);
	p.num = num;
	p.spi_size = 4;
	put_be32(p.spi, spi);
	ini_ts(&ours, &peer);
	if (tsr)
		xk_ts_parse(tsr, &peer);
	nonce_of(nonce, nr);
	ike_mb_init(mb, buf, cap, &hdr);
	ike_mb_sa(mb, &p, 1);
	ike_mb_nonce(mb, nonce, sizeof(nonce));
	if (ke_group == IKEV2_DH_CURVE25519)
		ike_mb_ke(mb, ke_group, x25519_pub, sizeof(x25519_pub));
	else if (ke_group == IKEV2_DH_ECP_256)
		ike_mb_ke(mb, ke_group, p256_pub, sizeof(p256_pub));
	ike_mb_ts(mb, IKEV2_PL_TSI, &ours, 1);
	ike_mb_ts(mb, IKEV2_PL_TSR, &peer, 1);
	ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
}

/* The peer's CREATE_CHILD_SA for the IKE SA (request or response): SA, N, KE. */
static void ike_rekey_chain(struct ike_mb *mb, uint8_t *buf, size_t cap, uint64_t spi,
			    uint8_t nonce_v, uint16_t ke_group)
{
	struct ike_hdr hdr = { 0 };
	struct ike_proposal p;
	uint8_t nonce[32];
	char err[128];

	if (ike_proposals_parse("aes128gcm16-prfsha256-x25519", IKEV2_PROTO_IKE, &p, 1, err,
				sizeof(err)) != 1)
		exit(1);
	p.spi_size = 8;
	put_be64(p.spi, spi);
	nonce_of(nonce, nonce_v);
	ike_mb_init(mb, buf, cap, &hdr);
	ike_mb_sa(mb, &p, 1);
	ike_mb_nonce(mb, nonce, sizeof(nonce));
	if (ke_group == IKEV2_DH_ECP_256)
		ike_mb_ke(mb, ke_group, p256_pub, sizeof(p256_pub));
	else
		ike_mb_ke(mb, ke_group, x25519_pub, sizeof(x25519_pub));
}

/* A chain of just one notify (an error, or a group for INVALID_KE_PAYLOAD). */
static void notify_chain(struct ike_mb *mb, uint8_t *buf, size_t cap, uint16_t type,
			 uint16_t group)
{
	struct ike_hdr hdr = { 0 };
	uint8_t g[2];

	put_be16(g, group);
	ike_mb_init(mb, buf, cap, &hdr);
	ike_mb_notify(mb, 0, NULL, 0, type, g, group ? 2 : 0);
}

static void delete_chain(struct ike_mb *mb, uint8_t *buf, size_t cap, uint32_t spi)
{
	struct ike_hdr hdr = { 0 };
	uint8_t s[4];

	put_be32(s, spi);
	ike_mb_init(mb, buf, cap, &hdr);
	ike_mb_delete(mb, IKEV2_PROTO_ESP, 4, s, 1);
}

static void ini_seeds(void)
{
	static struct sk_world sw;
	static const uint8_t idr[] = { 'r', 'e', 's', 'p' };
	static const uint16_t refusals[] = {
		IKEV2_N_TEMPORARY_FAILURE, IKEV2_N_NO_PROPOSAL_CHOSEN, IKEV2_N_CHILD_SA_NOT_FOUND,
		IKEV2_N_TS_UNACCEPTABLE,
	};
	const uint32_t peer2 = SK_WORLD_PEER_CHILD_SPI + 1;
	struct ike_hdr hdr = { 0 };
	uint8_t buf[2048], pt[1024], first, spi[4];
	struct script sc;
	struct ike_mb mb;
	char name[64];
	int n;

	/* IKE_AUTH: the valid response, a refusal, one without its CHILD_SA. */
	if (sk_world_init(&sw) < 0 || sk_world_add_initiator(&sw, false) < 0)
		exit(1);
	n = sk_world_auth_reply(&sw, &first, pt, sizeof(pt));
	sk_world_free(&sw);
	if (n < 0)
		exit(1);
	sc_start(&sc, INI | REQ_AUTH);
	sc_op(&sc, OP_RESP(0));
	sc_op(&sc, first);
	sc_op(&sc, (uint8_t)(n >> 8));
	sc_op(&sc, (uint8_t)n);
	memcpy(sc.buf + sc.len, pt, (size_t)n);
	sc.len += (size_t)n;
	sc_save(&sc, "auth-valid");
	sc_start(&sc, INI | REQ_AUTH);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_AUTHENTICATION_FAILED, 0);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "auth-failed");
	sc_start(&sc, INI | REQ_AUTH);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_id(&mb, IKEV2_PL_IDR, IKEV2_ID_FQDN, idr, sizeof(idr));
	ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, pt, 32);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_NO_PROPOSAL_CHOSEN, NULL, 0);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "auth-bad-auth-no-child");

	/* CHILD_SA rekey: valid, then the DELETE of the old one answered. */
	for (int pfs = 0; pfs < 2; pfs++) {
		sc_start(&sc, (uint8_t)(INI | SK_REQ_REKEY_CHILD | (pfs ? INI_PFS : 0)));
		child_reply(&mb, buf, sizeof(buf), pfs ? "aes128gcm16-x25519" : "aes128gcm16", 1,
			    peer2, 0x42, pfs ? IKEV2_DH_CURVE25519 : 0, NULL);
		sc_chain(&sc, OP_RESP(0), &mb);
		delete_chain(&mb, buf, sizeof(buf), SK_WORLD_PEER_CHILD_SPI);
		sc_chain(&sc, OP_RESP(0), &mb);
		sc_save(&sc, pfs ? "rekey-child-pfs" : "rekey-child");
	}
	/* ... refused with each error, and with KE for another group, then done. */
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		sc_start(&sc, INI | SK_REQ_REKEY_CHILD);
		notify_chain(&mb, buf, sizeof(buf), refusals[i], 0);
		sc_chain(&sc, OP_RESP(0), &mb);
		/* TEMPORARY_FAILURE: the rekey comes again 1-5 s later. */
		sc_op(&sc, OP_TICK(6));
		snprintf(name, sizeof(name), "rekey-child-%s", ikev2_notify_name(refusals[i]));
		for (char *c = name; *c; c++)
			*c = *c == '_' ? '-' : (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		sc_save(&sc, name);
	}
	sc_start(&sc, INI | INI_PFS | SK_REQ_REKEY_CHILD);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_INVALID_KE_PAYLOAD, IKEV2_DH_ECP_256);
	sc_chain(&sc, OP_RESP(0), &mb);
	child_reply(&mb, buf, sizeof(buf), "aes256gcm16-ecp256", 2, peer2, 0x42, IKEV2_DH_ECP_256,
		    NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-child-invalid-ke");
	/* Mutated: a proposal we did not offer, a wider TSr, KE in the wrong group. */
	sc_start(&sc, INI | SK_REQ_REKEY_CHILD);
	child_reply(&mb, buf, sizeof(buf), "aes128-sha256", 1, peer2, 0x42, 0, NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-child-bad-sa");
	sc_start(&sc, INI | SK_REQ_REKEY_CHILD);
	child_reply(&mb, buf, sizeof(buf), "aes128gcm16", 1, peer2, 0x42, 0, "0.0.0.0/0");
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-child-wide-ts");
	sc_start(&sc, INI | INI_PFS | SK_REQ_REKEY_CHILD);
	child_reply(&mb, buf, sizeof(buf), "aes128gcm16-x25519", 1, peer2, 0x42, IKEV2_DH_ECP_256,
		    NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-child-bad-ke");

	/* A new CHILD_SA: valid, and refused. */
	sc_start(&sc, INI | SK_REQ_NEW_CHILD);
	child_reply(&mb, buf, sizeof(buf), "aes128gcm16", 1, peer2, 0x42, 0, NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "new-child");
	sc_start(&sc, INI | INI_PFS | SK_REQ_NEW_CHILD);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_NO_PROPOSAL_CHOSEN, 0);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "new-child-no-proposal-chosen");
	/* While it is out, the peer deletes ESP SPI 0: it must not find ours, CREATING. */
	sc_start(&sc, INI | SK_REQ_NEW_CHILD);
	delete_chain(&mb, buf, sizeof(buf), 0);
	sc_chain(&sc, OP_REQ(0, EX_INFO), &mb);
	child_reply(&mb, buf, sizeof(buf), "aes128gcm16", 1, peer2, 0x42, 0, NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save_bug(&sc, "new-child-peer-deletes-spi-0");

	/* CHILD_SA rekey collision: the peer rekeys it too, low and high nonce. */
	for (int low = 0; low < 2; low++) {
		struct xk_ts ours, peer;
		struct ike_proposal p;
		uint8_t nonce[32];
		char err[128];

		sc_start(&sc, INI | SK_REQ_REKEY_CHILD);
		ike_proposals_parse("aes128gcm16", IKEV2_PROTO_ESP, &p, 1, err, sizeof(err));
		p.spi_size = 4;
		put_be32(p.spi, SK_WORLD_PEER_CHILD_SPI + 2);
		put_be32(spi, SK_WORLD_PEER_CHILD_SPI); /* the SPI the peer receives on */
		ini_ts(&ours, &peer);
		nonce_of(nonce, low ? 0x01 : 0xfe);
		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		ike_mb_notify(&mb, IKEV2_PROTO_ESP, spi, 4, IKEV2_N_REKEY_SA, NULL, 0);
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
		ike_mb_sa(&mb, &p, 1);
		ike_mb_nonce(&mb, nonce, sizeof(nonce));
		ike_mb_ts(&mb, IKEV2_PL_TSI, &peer, 1);
		ike_mb_ts(&mb, IKEV2_PL_TSR, &ours, 1);
		sc_chain(&sc, OP_REQ(0, EX_CREATE), &mb);
		child_reply(&mb, buf, sizeof(buf), "aes128gcm16", 1, peer2, low ? 0xfe : 0x02, 0,
			    NULL);
		sc_chain(&sc, OP_RESP(0), &mb);
		sc_empty(&sc, OP_RESP(0));
		sc_op(&sc, OP_TICK(6));
		sc_save(&sc, low ? "rekey-child-collision-peer-low" : "rekey-child-collision");
	}

	/* IKE SA rekey: valid, then our DELETE of the old SA answered. */
	sc_start(&sc, INI | SK_REQ_REKEY_IKE);
	ike_rekey_chain(&mb, buf, sizeof(buf), 0x2122232425262728ULL, 0x42, IKEV2_DH_CURVE25519);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_empty(&sc, OP_RESP(0));
	sc_save(&sc, "rekey-ike");
	sc_start(&sc, INI | SK_REQ_REKEY_IKE);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_INVALID_KE_PAYLOAD, IKEV2_DH_ECP_256);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-ike-invalid-ke");
	sc_start(&sc, INI | SK_REQ_REKEY_IKE);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_TEMPORARY_FAILURE, 0);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-ike-temporary-failure");
	sc_start(&sc, INI | SK_REQ_REKEY_IKE);
	ike_rekey_chain(&mb, buf, sizeof(buf), 0x2122232425262728ULL, 0x42, IKEV2_DH_ECP_256);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "rekey-ike-bad-ke");
	/* Collisions (2.8.2): ours wins, ours loses, the peer's new SA deleted first. */
	for (int c = 0; c < 3; c++) {
		sc_start(&sc, INI | SK_REQ_REKEY_IKE);
		ike_rekey_chain(&mb, buf, sizeof(buf), 0x3132333435363738ULL, c == 1 ? 0xfe : 0x01,
				IKEV2_DH_CURVE25519);
		sc_chain(&sc, OP_REQ(0, EX_CREATE), &mb);
		if (c == 2) {
			ike_mb_init(&mb, buf, sizeof(buf), &hdr);
			ike_mb_delete(&mb, IKEV2_PROTO_IKE, 0, NULL, 0);
			sc_chain(&sc, OP_REQ(1, EX_INFO), &mb);
		}
		ike_rekey_chain(&mb, buf, sizeof(buf), 0x2122232425262728ULL, c == 1 ? 0x02 : 0xfe,
				IKEV2_DH_CURVE25519);
		sc_chain(&sc, OP_RESP(0), &mb);
		sc_empty(&sc, OP_RESP(0));
		sc_empty(&sc, OP_RESP(1));
		if (c < 2)
			sc_save(&sc, c ? "rekey-ike-collision-lost" : "rekey-ike-collision-won");
		else
			sc_save_bug(&sc, "rekey-ike-collision-peer-sa-deleted");
	}

	/* DELETEs and liveness, answered; liveness after a retransmission. */
	sc_start(&sc, INI | SK_REQ_DELETE_CHILD);
	delete_chain(&mb, buf, sizeof(buf), SK_WORLD_PEER_CHILD_SPI);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "delete-child");
	sc_start(&sc, INI | SK_REQ_DELETE_CHILD);
	notify_chain(&mb, buf, sizeof(buf), IKEV2_N_INVALID_SYNTAX, 0);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_save(&sc, "delete-child-invalid-syntax");
	sc_start(&sc, INI | SK_REQ_DELETE_IKE);
	sc_empty(&sc, OP_RESP(0));
	sc_save(&sc, "delete-ike");
	sc_start(&sc, INI | SK_REQ_LIVENESS);
	sc_op(&sc, OP_TICK(5));
	sc_empty(&sc, OP_RESP(0));
	sc_save(&sc, "liveness-retransmitted");
	/* Never answered: retransmissions, then the peer is dead. */
	sc_start(&sc, INI | SK_REQ_LIVENESS);
	for (int i = 0; i < 4; i++)
		sc_op(&sc, OP_TICK(64));
	sc_save(&sc, "liveness-unanswered");
	/* Two of ours queued: a new CHILD_SA behind the IKE SA rekey. */
	sc_start(&sc, INI | SK_REQ_REKEY_IKE);
	sc_op(&sc, OP_CALL(0, SK_REQ_NEW_CHILD));
	ike_rekey_chain(&mb, buf, sizeof(buf), 0x2122232425262728ULL, 0x42, IKEV2_DH_CURVE25519);
	sc_chain(&sc, OP_RESP(0), &mb);
	child_reply(&mb, buf, sizeof(buf), "aes128gcm16", 1, peer2, 0x42, 0, NULL);
	sc_chain(&sc, OP_RESP(0), &mb);
	sc_chain(&sc, OP_RESP(1), &mb);
	sc_save(&sc, "rekey-ike-then-new-child");
}

/* ---- fuzz_world schedules ---- */

/* Side 0 or 1 and the index of its IKE SA (newest first). */
#define WHO(side, sa) ((sa) << 1 | (side))
/* Peer a establishes an IKE SA with one CHILD_SA (2 s of world_run). */
#define EST FW_INITIATE, 0, FW_RUN, 20
#define FLUSH FW_FLUSH
/* Ten seconds pass with everything delivered: lingering SAs go. */
#define SETTLE FW_RUN, 100
/*
 * FW_FORGE header octet: message ID mode, response flag, exchange
 * (0 INFORMATIONAL, 1 CREATE_CHILD_SA, 2 IKE_AUTH), payload count.
 */
#define HOW(mid, resp, exch, n) ((mid) | (resp) << 2 | (exch) << 3 | (n) << 5)
/* pick_spi operands: zero, the sender's CHILD_SA k inbound / outbound SPI. */
#define SPI_ZERO 0
#define SPI_IN(k) (1 | (k) << 2)
#define SPI_OUT(k) (2 | (k) << 2)

struct wseed {
	const char *name;
	const uint8_t *p;
	size_t n;
};

#define WSEED(name, ...)                                                     \
	{                                                                    \
		name, (const uint8_t[]){ __VA_ARGS__ },                      \
		sizeof((const uint8_t[]){ __VA_ARGS__ })                     \
	}

static const struct wseed wseeds[] = {
	/* Plain lives, each lifecycle action once, from either side. */
	WSEED("establish", 0, 1, EST),
	WSEED("establish-b", 0, 2, FW_INITIATE, 1, FW_RUN, 20),
	WSEED("establish-pfs-cbc-v6", FW_CFG_PFS | FW_CFG_CBC | FW_CFG_V6, 3, EST),
	WSEED("establish-cookie", FW_CFG_COOKIE, 4, EST),
	WSEED("both-initiate", 0, 5, FW_INITIATE, 0, FW_INITIATE, 1, FLUSH),
	WSEED("create-child-a", 0, 6, EST, FW_CREATE_CHILD, WHO(0, 0), FLUSH),
	WSEED("create-child-b-pfs", FW_CFG_PFS, 7, EST, FW_CREATE_CHILD, WHO(1, 0), FLUSH),
	WSEED("rekey-child-a", 0, 8, EST, FW_REKEY_CHILD, WHO(0, 0), 0, SETTLE),
	WSEED("rekey-child-b-pfs", FW_CFG_PFS, 9, EST, FW_REKEY_CHILD, WHO(1, 0), 0, SETTLE),
	WSEED("rekey-ike-a", 0, 10, EST, FW_REKEY_IKE, WHO(0, 0), SETTLE),
	WSEED("rekey-ike-b", 0, 11, EST, FW_REKEY_IKE, WHO(1, 0), SETTLE),
	WSEED("reauth-a", 0, 12, EST, FW_CREATE_CHILD, WHO(0, 0), FLUSH, FW_REAUTH, WHO(0, 0),
	      SETTLE),
	WSEED("reauth-b", 0, 13, EST, FW_REAUTH, WHO(1, 0), SETTLE),
	WSEED("delete-child-b", 0, 14, EST, FW_DELETE_CHILD, WHO(1, 0), 0, SETTLE),
	WSEED("terminate-a", 0, 15, EST, FW_TERMINATE, WHO(0, 0), FLUSH),
	WSEED("terminate-b", 0, 16, EST, FW_TERMINATE, WHO(1, 0), FLUSH),
	WSEED("liveness", 0, 17, EST, FW_LIVENESS, WHO(0, 0), FW_LIVENESS, WHO(1, 0), FLUSH),
	WSEED("expire-soft-in", 0, 18, EST, FW_EXPIRE, WHO(0, 0), 0, 0, SETTLE),
	WSEED("expire-soft-out-b", 0, 19, EST, FW_EXPIRE, WHO(1, 0), 0, 2, SETTLE),
	WSEED("expire-hard", 0, 20, EST, FW_EXPIRE, WHO(0, 0), 0, 1, SETTLE),
	/* IKE SA rekey at 600 s (jittered), reauthentication at 1800 s. */
	WSEED("timers", FW_CFG_TIMERS, 21, EST, FW_RUN_LONG, 70, FW_RUN_LONG, 200),
	WSEED("timers-lossy", FW_CFG_TIMERS | FW_CFG_PFS, 46, EST, FW_RUN_LONG, 55, FW_CLOCK, 100,
	      FW_DROP, 0, FW_CLOCK, 100, FW_DUP, 0, FW_RUN_LONG, 130, FW_CLOCK, 200, FW_FLUSH),

	/* IKE fragmentation (RFC 7383): IKE_AUTH and CREATE_CHILD_SA in fragments. */
	WSEED("frag-establish", FW_CFG_FRAG, 60, EST),
	WSEED("frag-rekey-child-pfs-cbc", FW_CFG_FRAG | FW_CFG_PFS | FW_CFG_CBC, 61, EST,
	      FW_REKEY_CHILD, WHO(1, 0), 0, SETTLE),
	WSEED("frag-lossy-v6", FW_CFG_FRAG | FW_CFG_V6, 62, FW_INITIATE, 0, FW_DROP, 0, FW_CLOCK, 25,
	      FW_DELIVER, 0, FW_DUP, 0, FW_DELIVER, 0, FW_DROP, 0, FW_CLOCK, 45, FLUSH, FW_CLOCK, 90,
	      FLUSH),
	WSEED("frag-rekey-ike-collision", FW_CFG_FRAG, 63, EST, FW_NONCE, 0, 0x00, FW_REKEY_IKE,
	      WHO(0, 0), FW_REKEY_IKE, WHO(1, 0), FLUSH, SETTLE),

	/* Pending operations: key exchanges handed out, completed out of turn. */
	WSEED("async-establish", FW_CFG_ASYNC, 70, EST),
	WSEED("async-both-initiate-lifo", FW_CFG_ASYNC | FW_CFG_LIFO, 71, FW_INITIATE, 0,
	      FW_INITIATE, 1, FLUSH, FW_WORK, 1, FW_WORK, 0, FLUSH, FW_WORK, 0, SETTLE),
	WSEED("async-dup-while-pending", FW_CFG_ASYNC | FW_CFG_COOKIE, 72, FW_INITIATE, 0, FLUSH,
	      FW_DUP, 0, FW_CLOCK, 25, FLUSH, FW_WORK, 1, FW_DUP, 0, FLUSH, FW_WORK, 0, SETTLE),
	WSEED("async-terminate-while-pending", FW_CFG_ASYNC, 73, FW_INITIATE, 0, FLUSH, FW_WORK, 1,
	      FLUSH, FW_TERMINATE, WHO(0, 0), FW_WORK, 0, SETTLE),
	WSEED("async-rekey-pfs", FW_CFG_ASYNC | FW_CFG_PFS, 74, EST, FW_REKEY_IKE, WHO(0, 0),
	      FW_REKEY_CHILD, WHO(1, 0), 0, FLUSH, SETTLE),

	/* Collisions (sections 2.8.1, 2.8.2); FW_NONCE picks who loses. */
	WSEED("rekey-child-collision", 0, 22, EST, FW_NONCE, 0, 0x00, FW_REKEY_CHILD, WHO(0, 0), 0,
	      FW_REKEY_CHILD, WHO(1, 0), 0, FLUSH, SETTLE),
	WSEED("rekey-child-collision-b-loses", FW_CFG_PFS, 23, EST, FW_NONCE, 1, 0x00,
	      FW_REKEY_CHILD, WHO(0, 0), 0, FW_REKEY_CHILD, WHO(1, 0), 0, FLUSH, SETTLE),
	WSEED("rekey-ike-collision", 0, 24, EST, FW_NONCE, 0, 0x00, FW_REKEY_IKE, WHO(0, 0),
	      FW_REKEY_IKE, WHO(1, 0), FLUSH, SETTLE),
	WSEED("rekey-ike-vs-child", 0, 25, EST, FW_REKEY_IKE, WHO(0, 0), FW_REKEY_CHILD, WHO(1, 0), 0,
	      FLUSH, SETTLE),
	WSEED("reauth-vs-rekey-child", 0, 26, EST, FW_REAUTH, WHO(0, 0), FW_REKEY_CHILD, WHO(1, 0), 0,
	      FLUSH, SETTLE),
	WSEED("delete-vs-rekey-child", 0, 27, EST, FW_DELETE_CHILD, WHO(0, 0), 0, FW_REKEY_CHILD,
	      WHO(1, 0), 0, FLUSH, SETTLE),
	WSEED("terminate-vs-rekey-ike", 0, 28, EST, FW_TERMINATE, WHO(1, 0), FW_REKEY_IKE, WHO(0, 0),
	      FLUSH, SETTLE),

	/* The network: loss, duplicates, reordering, late delivery, replay, time. */
	WSEED("lossy-establish", 0, 29, FW_INITIATE, 0, FW_DROP, 0, FW_CLOCK, 25, FW_DELIVER, 0,
	      FW_DUP, 0, FW_DELIVER, 0, FW_DROP, 0, FW_CLOCK, 45, FLUSH, FW_CLOCK, 90, FLUSH),
	WSEED("late-auth", 0, 30, FW_INITIATE, 0, FW_DELIVER, 0, FW_DELIVER, 0, FW_HOLD, 0,
	      FW_CLOCK, 30, FW_RELEASE, 0, FLUSH),
	WSEED("reorder-rekeys", 0, 31, EST, FW_CREATE_CHILD, WHO(0, 0), FW_REKEY_CHILD, WHO(1, 0), 0,
	      FW_SWAP, 1, FW_DELIVER, 1, FW_DUP, 0, FLUSH, SETTLE),
	WSEED("peer-dead", 0, 32, EST, FW_LIVENESS, WHO(0, 0), FW_DROP, 0, FW_CLOCK_LONG, 10,
	      FW_CLOCK_LONG, 10),
	WSEED("replay-auth", 0, 33, EST, FW_REPLAY, 1, FW_REPLAY, 0, FLUSH),
	WSEED("half-open-timeout", 0, 34, FW_INITIATE, 0, FW_DELIVER, 0, FW_DROP, 0, FW_CLOCK_LONG, 5,
	      FLUSH),

	/* Forged and resealed messages, with either side's live keys. */
	WSEED("forge-delete-child", 0, 35, EST, FW_FORGE, WHO(1, 0), HOW(0, 0, 0, 1),
	      FW_PL_DELETE_ESP, 0, SPI_IN(0), FLUSH),
	WSEED("forge-delete-ike", 0, 36, EST, FW_FORGE, WHO(0, 0), HOW(0, 0, 0, 1),
	      FW_PL_DELETE_IKE, FLUSH),
	WSEED("forge-rekey-child-req", 0, 37, EST, FW_FORGE, WHO(1, 0), HOW(0, 0, 1, 5),
	      FW_PL_NOTIFY, 1, SPI_IN(0), FW_PL_SA_ESP, SPI_OUT(0), 0, FW_PL_NONCE, 0x11, FW_PL_TS,
	      1, FW_PL_KE, 1, FLUSH, SETTLE),
	WSEED("forge-rekey-ike-req", 0, 38, EST, FW_FORGE, WHO(0, 0), HOW(0, 0, 1, 3),
	      FW_PL_SA_IKE, 1, 1, 2, 3, 4, 5, 6, 7, 8, FW_PL_NONCE, 0x22, FW_PL_KE, 1, FLUSH),
	WSEED("forge-temporary-failure", 0, 39, EST, FW_REKEY_CHILD, WHO(0, 0), 0, FW_FORGE,
	      WHO(1, 0), HOW(1, 1, 1, 1), FW_PL_NOTIFY, 0, FW_DELIVER, 1, FLUSH, SETTLE),
	WSEED("forge-initial-contact", 0, 40, EST, FW_INITIATE, 1, FLUSH, FW_FORGE, WHO(1, 0),
	      HOW(0, 0, 0, 1), FW_PL_NOTIFY, 2, FLUSH),
	WSEED("reseal-rekey-request", 0, 41, EST, FW_REKEY_CHILD, WHO(0, 0), 0, FW_DELIVER, 0,
	      FW_RESEAL, 0, 0, 1 | 1 << 2, 5, 0x40, FLUSH),

	/*
	 * Near misses of known races: one octet away from each, so that a
	 * fuzzer finds them fast and a fixed engine keeps being tried there.
	 */
	/* Bug 1's neighbour: a replayed IKE_AUTH, where IKE_SA_INIT (h = 3) is the race. */
	WSEED("near-replay-init", 0, 42, EST, FW_REPLAY, 2, FLUSH),
	/* Bug 2's: DELETE(ESP) of the real SPI during our CREATE_CHILD_SA (SPI 0 is the race). */
	WSEED("near-delete-spi0", 0, 43, EST, FW_CREATE_CHILD, WHO(0, 0), FW_FORGE, WHO(1, 0),
	      HOW(0, 0, 0, 1), FW_PL_DELETE_ESP, 0, SPI_IN(0), FW_DELIVER, 1, FLUSH, SETTLE),
	/*
	 * Bug 3's: our CREATE_CHILD_SA (which the peer refuses: the policies
	 * exist) crosses the peer's IKE rekey; its answer reaches us before the
	 * rekey request (after it: the race, DELIVER 0 for DELIVER 1).
	 */
	WSEED("near-create-vs-rekey", 0, 44, EST, FW_CREATE_CHILD, WHO(0, 0), FW_REKEY_IKE,
	      WHO(1, 0), FW_DELIVER, 0, FW_DELIVER, 1, FLUSH, SETTLE),
	/*
	 * The inputs that found the wrong-state bugs of 0bf6618 (docs/testing.md):
	 * each crashed the engine or broke an invariant then, and must pass now.
	 * All of these were found with a table of 24 operations; FW_WORK made it
	 * 25, so their opcode octets are written modulo 24 (the same schedules:
	 * an opcode taken modulo FW_N_OPS means another operation once the table
	 * grows).  A new operation goes at the end, and these are checked again.
	 */
	WSEED("regress-bug1-late-init-duplicate",
	      0x13, 0x00, 0x00, 0x11, 0x14, 0x08, 0x01, 0x00, 0x02, 0x0d, 0x11, 0x11,
	      0x64),
	WSEED("regress-bug2-delete-spi-zero", 0x00, 0x2b, 0x00, 0x00, 0x11, 0x14, 0x01, 0x00, 0x15,
	      0x01, 0x20, 0x00, 0x00),
	WSEED("regress-bug3-create-across-ike-rekey",
	      0x00, 0x0e, 0x00, 0x11, 0x04, 0x3e, 0x00, 0x25, 0x06, 0x07, 0x10, 0x03,
	      0x00, 0x00, 0x01, 0x01, 0x11, 0x04, 0x74, 0x01, 0x67),
	WSEED("regress-bug4-collision-delete-first", 0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x00,
	      0x00, 0x03, 0x00, 0x03, 0x01, 0x09, 0x00, 0x09, 0x00, 0x09, 0x00, 0x09, 0x01, 0x10,
	      0x11, 0x64),
	WSEED("regress-creating-left-behind", 0x00, 0x2c, 0x00, 0x00, 0x11, 0x14, 0x01, 0x00, 0x0d,
	      0x00, 0x03, 0x01, 0x09, 0x00, 0x09, 0x00, 0x0e, 0x00, 0x09, 0x00, 0x09, 0x00, 0x10,
	      0x11, 0x64),
	WSEED("regress-child-half-installed",
	      0x00, 0x00, 0x00, 0x0e, 0x00, 0x11, 0x03, 0x00, 0x00, 0x00, 0x14, 0x01,
	      0x0c, 0x10, 0x01, 0xff, 0x13, 0x00, 0x11),
	WSEED("regress-child-stuck-deleting",
	      0x0a, 0x18, 0x00, 0x00, 0x11, 0x14, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02,
	      0x2f, 0x03, 0x01, 0x64),
	/* A campaign's find after those were fixed: a new CHILD_SA on the IKE SA a collision replaced. */
	WSEED("regress-child-on-replaced-ike-sa",
	      0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x00, 0x00, 0x03, 0x00, 0x03,
	      0x01, 0x00, 0x00, 0x02, 0x00, 0x08, 0x01, 0x0b, 0x01, 0x00, 0x00, 0x04,
	      0x00, 0x09, 0x00, 0x09, 0x00, 0x09, 0x00, 0xfa, 0x01, 0x0b),
	/* ... and a DELETE for a CHILD_SA we could not keep, sent as the IKE SA was rekeyed. */
	WSEED("regress-delete-after-ike-rekey",
	      0x00, 0x2d, 0x00, 0x2d, 0x00, 0x00, 0x11, 0xb9, 0x14, 0x00, 0x00, 0x01,
	      0xff, 0x14, 0x6c, 0x73, 0x0f, 0xff, 0x01, 0x2e, 0x03, 0x2e, 0x01, 0x09),
	/* ... and a terminate of the peer's SA of an IKE rekey collision before it was settled. */
	WSEED("regress-terminate-in-ike-collision",
	      0x00, 0x2d, 0x00, 0x02, 0x11, 0x04, 0x14, 0xc9, 0x07, 0x03, 0x00, 0x03,
	      0x01, 0x09, 0x00, 0x09, 0x4e, 0x06, 0x4e, 0x00, 0xff, 0x17, 0xff),
	/* ... and a DELETE of a CHILD_SA in flight on an IKE SA that dies after a rekey moved it. */
	WSEED("regress-delete-on-dying-ike-sa",
	      0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x00, 0x00, 0x03, 0x00, 0x03,
	      0x01, 0x00, 0x00, 0x09, 0x00, 0x08, 0x01, 0x0b, 0x01, 0x00, 0x00, 0x04,
	      0x00, 0x09, 0x01, 0x00, 0x00, 0x02, 0x00, 0x08, 0x01, 0x0b),
	/* ... and our CHILD_SA rekey, its answer lost with the IKE SA, refused for ever. */
	WSEED("regress-child-rekey-answer-lost",
	      0x00, 0x2d, 0x00, 0xc3, 0x17, 0x5a, 0x09, 0x09, 0x02, 0xfa, 0x00, 0x12,
	      0x21, 0x09, 0x62, 0x0a, 0x00, 0x0a, 0x00, 0x02, 0x92, 0x92, 0x10, 0x09,
	      0x92, 0x02, 0xef, 0x5a, 0x09, 0x09, 0x02, 0xfa, 0x00, 0x02, 0x92, 0x92,
	      0x10, 0x03, 0x3d),
	/* ... and the loser's DELETE of a collision's SA, with a second IKE SA of the same connection up. */
	WSEED("regress-collision-delete-twin-ike-sa",
	      0x02, 0x00, 0x11, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x03, 0x15, 0x00,
	      0x00, 0x11, 0x14, 0x14, 0x00, 0x00, 0x03, 0x00, 0x03, 0x01, 0x09, 0x00,
	      0x09, 0x00, 0x09, 0x00, 0x09, 0x01, 0x10, 0x11, 0x64, 0x01, 0x00),
	/* ... and its answer lost, the old CHILD_SA deleted meanwhile: the peer kept what it made. */
	WSEED("regress-child-rekey-answer-lost-old-gone",
	      0x00, 0x2d, 0x00, 0xc3, 0x17, 0x5a, 0x09, 0x09, 0x02, 0xfa, 0x00, 0x12,
	      0x21, 0x09, 0x62, 0x0a, 0x00, 0x0a, 0x00, 0x02, 0x92, 0x92, 0x10, 0x09,
	      0x92, 0x02, 0xef, 0x5a, 0x09, 0x09, 0x02, 0xfa, 0x00, 0x05, 0x23, 0x92,
	      0x10, 0x03, 0x3d),
	/* ... and a DELETE of a CHILD_SA out on the collision's SA its loser deleted: a circle of moves. */
	WSEED("regress-delete-on-collision-sa-handed-back",
	      0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x00, 0x00, 0x03, 0x00, 0x03,
	      0x01, 0x09, 0x00, 0x07, 0xff, 0x0e, 0x00, 0x09, 0x00, 0x0d, 0xff, 0x0f,
	      0xff, 0x00, 0x00, 0x05, 0x01, 0x10, 0x11, 0x64),
	/* ... and the peer's DELETE of the new CHILD_SA overtaking the answer that made it. */
	WSEED("regress-delete-overtakes-answer",
	      0x00, 0x2d, 0x00, 0xc3, 0x17, 0x5a, 0x09, 0x09, 0x02, 0xfa, 0x00, 0x0d,
	      0x5a, 0x0a, 0x00, 0x0a, 0x00, 0x02, 0x92, 0x92, 0x02, 0x10, 0x99, 0x02,
	      0x92, 0xef, 0x12, 0x21, 0x09, 0x62, 0x0a, 0x00, 0x05, 0x23, 0x92, 0x10,
	      0x03, 0x3d),
	/* ... and a DELETE on the loser's SA of a collision, whose moves led through a dead SA. */
	WSEED("regress-delete-moves-through-dead-sa",
	      0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x01, 0x00, 0x03, 0x00, 0x03,
	      0x01, 0x09, 0x00, 0x07, 0xff, 0x0e, 0x00, 0x09, 0x00, 0x0d, 0xff, 0x0f,
	      0xff, 0x00, 0x00, 0x05, 0x72, 0x72, 0x12, 0x72, 0x12, 0x72, 0x01, 0x10,
	      0x11, 0x6c),
	/* ... and the peer's DELETE of a CHILD_SA on its SA of a collision we lost. */
	WSEED("regress-delete-on-other-sa-of-collision",
	      0x00, 0x2d, 0x00, 0x00, 0x11, 0x14, 0x14, 0x00, 0x00, 0x03, 0x00, 0x03,
	      0x01, 0x09, 0x00, 0x07, 0xff, 0x0e, 0x00, 0x09, 0x00, 0x0d, 0xff, 0x0f,
	      0xff, 0x09, 0x00, 0x0d, 0xff, 0x0f, 0xff, 0x00, 0x00, 0x05, 0x31, 0x10,
	      0x11, 0x64),
	/* ... and a hard expire's DELETE of the old CHILD_SA after a rekey answer was lost. */
	WSEED("regress-delete-old-after-lost-answer",
	      0x31, 0x84, 0x00, 0xc3, 0x17, 0x68, 0x08, 0x68, 0x68, 0x68, 0x08, 0x68,
	      0x68, 0x68, 0x08, 0x68, 0x68, 0x68, 0x08, 0x68, 0x68, 0x68, 0x08, 0x18,
	      0x5d, 0x07, 0x09, 0x00, 0x0a, 0x00, 0x12, 0x00, 0x0f, 0xef, 0x03, 0x92,
	      0x03, 0x63, 0x0d),
	/*
	 * ... and the peer's SA of an IKE rekey collision ended here (terminated,
	 * then ended outright as for a dead peer) before our answer said the
	 * peer's exchange won: we kept our new SA with the CHILD_SA, the peer
	 * had it as the loser, without.  Found with 24 operations, re-expressed
	 * for FW_WORK's table (the same schedule).
	 */
	WSEED("regress-collision-winner-sa-ended", 0x00, 0x2d, FW_REAUTH, 0x00, FW_HOLD, 0xcf,
	      FW_INITIATE, 0x02, FW_RUN, 0x04, FW_NONCE, 0xc9, 0x91, FW_REKEY_IKE, WHO(0, 0),
	      FW_REKEY_IKE, WHO(1, 0), FW_DELIVER, 0x00, FW_DELIVER, 0x4e, FW_TERMINATE, 0x03,
	      FW_CREATE_CHILD, 0x09, FW_INITIATE, 0x09, FW_TERMINATE, 0x4e, FW_TERMINATE, 0x00,
	      FW_HOLD, 0x25),
	/* Bug 4's: an IKE rekey collision peer a loses, its DELETE not overtaking its response. */
	WSEED("near-collision-delete", 0, 45, EST, FW_NONCE, 0, 0x00, FW_REKEY_IKE, WHO(0, 0),
	      FW_REKEY_IKE, WHO(1, 0), FW_DELIVER, 0, FW_DELIVER, 0, FW_DELIVER, 0, FW_DELIVER, 0,
	      FLUSH, SETTLE),
};

static void world_seeds(void)
{
	for (size_t i = 0; i < sizeof(wseeds) / sizeof(wseeds[0]); i++)
		save("fuzz_world", wseeds[i].name, wseeds[i].p, wseeds[i].n);
}

int main(int argc, char **argv)
{
	/* A campaign's find: the new IKE SA of a rekey terminated under its task. */
	static const uint8_t larval[] = { 0x32, 0x3b, 0x2a, 0xb3, 0x2a, 0xb3, 0x47 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	xk_log_set_level(XK_LOG_ERROR);

	/* Full life: INIT, AUTH, liveness, CHILD_SA delete, IKE SA delete. */
	handshake("gcm-x25519", "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-x25519",
		  "aes128gcm16", false, false, true);
	handshake("cbc-ecp256-v6", "aes128-sha256-ecp256", "aes128-sha256-ecp256",
		  "aes128-sha256", true, false, false);
	handshake("cbc-modp2048", "aes256-sha256-modp2048", "aes256-sha256-modp2048",
		  "aes128gcm16", false, false, false);
	/* The responder asks for a cookie, then for another group. */
	handshake("cookie", "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-x25519",
		  "aes128gcm16", false, true, false);
	handshake("invalid-ke", "aes128gcm16-prfsha256-ecp256-x25519",
		  "aes128gcm16-prfsha256-x25519", "aes128gcm16", false, false, false);
	/* The responder picks the second of two proposals. */
	handshake("second-proposal", "aes256gcm16-prfsha384-x448, aes128gcm16-prfsha256-x25519",
		  "aes128gcm16-prfsha256-x25519", "aes128gcm16", false, false, false);
	hand_made();
	sk_seeds();
	ini_seeds();
	save("fuzz_sk", "ini-regress-rekey-ike-new-sa-terminated", larval, sizeof(larval));
	world_seeds();
	printf("%u files written under %s\n", written, root);
	return 0;
}
