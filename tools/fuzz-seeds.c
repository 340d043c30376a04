/* SPDX-License-Identifier: ISC */
/*
 * Writes the seed corpora of the fuzz targets from real exchanges:
 *   fuzz_parse/   every datagram of a few world handshakes (IKE_SA_INIT
 *                 with and without COOKIE / INVALID_KE_PAYLOAD, IKE_AUTH,
 *                 INFORMATIONAL liveness and DELETEs) plus hand-built
 *                 messages holding the payloads no exchange sends yet
 *   fuzz_engine/  the requests among them, IKE_SA_INIT above all
 *   fuzz_sk/      inner SK chains: a valid IKE_AUTH for sk_world's fixed
 *                 keys, DELETEs, notifies, CREATE_CHILD_SA
 * Rerun after changing the wire format, the engines' proposals or
 * sk_world's fixed values (the IKE_AUTH seed's AUTH depends on them):
 *
 *	tools/fuzz seeds          (or: fuzz-seeds tests/fuzz/corpus)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
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

int main(int argc, char **argv)
{
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
	printf("%u seeds written under %s\n", written, root);
	return 0;
}
