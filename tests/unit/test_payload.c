/* SPDX-License-Identifier: ISC */
/*
 * The message parser and builder (RFC 7296 section 3) against byte vectors.
 * Every payload has a table of hex encodings, valid and invalid; each
 * invalid one says which lie it catches.  The builder is checked byte for
 * byte against hand-written layouts and by parsing its output back, and the
 * SK payload is sealed and opened with fixed keys.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "ike/ikev2.h"
#include "ike/payload.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Scratch for message-sized buffers, and something to copy into them. */
static uint8_t big[70000], big_src[65535];

/* Hex (whitespace ignored) into out; the tables are ours, so it must fit. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len;
	uint8_t *b = check_hex(hex, &len);

	CHECK_MSG(len <= cap, "hex of %zu bytes does not fit %zu", len, cap);
	if (len > cap)
		len = cap;
	memcpy(out, b, len);
	free(b);
	return len;
}

static struct ike_pl pl_of(uint8_t type, const uint8_t *body, size_t len)
{
	return (struct ike_pl){ .type = type, .body = body, .len = (uint16_t)len };
}

/*
 * A message around a payload chain: IKE header with SPIs 0102..08 and
 * 1112..18, IKE_AUTH, initiator, message ID 1, first payload `next`, and a
 * Length field that tells the truth.
 */
static size_t mk_msg(uint8_t next, const char *chain_hex, uint8_t *out, size_t cap)
{
	size_t len = IKEV2_HDR_LEN + unhex(chain_hex, out + IKEV2_HDR_LEN, cap - IKEV2_HDR_LEN);

	put_be64(out, 0x0102030405060708ULL);
	put_be64(out + 8, 0x1112131415161718ULL);
	out[16] = next;
	out[17] = IKEV2_VERSION;
	out[18] = IKEV2_EXCH_IKE_AUTH;
	out[19] = IKEV2_FLAG_INITIATOR;
	put_be32(out + 20, 1);
	put_be32(out + 24, (uint32_t)len);
	return len;
}

/* ---- header (section 3.1) ---- */

#define SPIS "0102030405060708 0000000000000000"

static void test_header(void)
{
	static const struct {
		const char *hex;
		int expect;
	} cases[] = {
		/* No payloads, Length 28: the smallest valid message. */
		{ SPIS "00 20 22 08 00000000 0000001c", 0 },
		/* Minor version 1: ignored (section 2.5). */
		{ SPIS "00 21 22 08 00000000 0000001c", 0 },
		/* 27 bytes: too short to hold a header. */
		{ SPIS "00 20 22 08 00000000 000000", -EINVAL },
		/* Nothing at all. */
		{ "", -EINVAL },
		/* Length says 29, the datagram has 28. */
		{ SPIS "00 20 22 08 00000000 0000001d", -EINVAL },
		/* Length says 28, the datagram has 32. */
		{ SPIS "00 20 22 08 00000000 0000001c 00000000", -EINVAL },
		/* Length far beyond 16 bits. */
		{ SPIS "00 20 22 08 00000000 0100001c", -EINVAL },
		/* Major version 1: IKEv1, INVALID_MAJOR_VERSION material. */
		{ SPIS "00 10 22 08 00000000 0000001c", IKE_PARSE_VERSION },
		/* Major version 3: from the future. */
		{ SPIS "00 30 22 08 00000000 0000001c", IKE_PARSE_VERSION },
		/* Major version 0. */
		{ SPIS "00 00 22 08 00000000 0000001c", IKE_PARSE_VERSION },
	};
	uint8_t buf[64];
	struct ike_hdr h;
	struct ike_msg msg;

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = unhex(cases[i].hex, buf, sizeof(buf));

		CHECK_MSG(ike_hdr_parse(buf, len, &h) == cases[i].expect, "header case %zu", i);
		CHECK_MSG(ike_msg_parse(&msg, buf, len) == cases[i].expect, "header case %zu", i);
	}

	/* Every field lands where section 3.1 puts it. */
	unhex("0102030405060708 1112131415161718 28 20 25 28 a1b2c3d4 0000001c", buf,
	      sizeof(buf));
	CHECK_INT(ike_hdr_parse(buf, 28, &h), 0);
	CHECK(h.spi_i == 0x0102030405060708ULL);
	CHECK(h.spi_r == 0x1112131415161718ULL);
	CHECK_INT(h.next, IKEV2_PL_NONCE);
	CHECK_INT(h.version, 0x20);
	CHECK_INT(h.exch, IKEV2_EXCH_INFORMATIONAL);
	CHECK_INT(h.flags, IKEV2_FLAG_RESPONSE | IKEV2_FLAG_INITIATOR);
	CHECK(h.mid == 0xa1b2c3d4u);
	CHECK_INT(h.length, 28);
}

/* ---- the payload chain (section 3.2) ---- */

#define NONCE16 "000102030405060708090a0b0c0d0e0f"
#define NONCE_PL(next) next " 00 0014 " NONCE16 /* a Nonce payload, 16 octets */
#define N_INITIAL_CONTACT(next) next " 00 0008 00 00 4000"

static void test_chain(void)
{
	static const struct {
		uint8_t next;
		const char *chain;
		int expect;
		size_t n_pl;
		uint8_t critical; /* expected unsupported_critical */
		bool sk;
	} cases[] = {
		/* One Nonce. */
		{ IKEV2_PL_NONCE, NONCE_PL("00"), 0, 1, 0, false },
		/* Nonce, then a Notify. */
		{ IKEV2_PL_NONCE, NONCE_PL("29") N_INITIAL_CONTACT("00"), 0, 2, 0, false },
		/* The critical bit on a payload we know is ignored (section 2.5). */
		{ IKEV2_PL_NOTIFY, "00 80 0008 00 00 4000", 0, 1, 0, false },
		/* Payload Length 3: shorter than its own generic header. */
		{ IKEV2_PL_NONCE, "00 00 0003 00", -EINVAL, 0, 0, false },
		/* Payload Length 0: would loop forever if believed. */
		{ IKEV2_PL_NONCE, "00 00 0000", -EINVAL, 0, 0, false },
		/* Payload Length 24 with 20 bytes left in the message. */
		{ IKEV2_PL_NONCE, "00 00 0018 " NONCE16, -EINVAL, 0, 0, false },
		/* The second payload's length runs past the end. */
		{ IKEV2_PL_NONCE, NONCE_PL("29") "00 00 0009 00 00 4000", -EINVAL, 0, 0, false },
		/* Header names a first payload, but the message ends. */
		{ IKEV2_PL_NONCE, "", -EINVAL, 0, 0, false },
		/* Only half a generic header. */
		{ IKEV2_PL_NONCE, "00 00", -EINVAL, 0, 0, false },
		/*
		 * IKEv1 payload types 1..32 (section 3.2) are unknown to IKEv2:
		 * skipped, or recorded when critical (section 2.5).
		 */
		{ 1, "00 00 0008 00000000", 0, 0, 0, false },
		{ 13, "00 80 0008 00000000", 0, 0, 13, false },
		{ 32, "28 00 0008 00000000" NONCE_PL("00"), 0, 1, 0, false },
		/* ...also further down the chain. */
		{ IKEV2_PL_NONCE, NONCE_PL("05") "00 00 0008 00000000", 0, 1, 0, false },
		/* Unknown, not critical: skipped (section 2.5). */
		{ 49, "28 00 0008 deadbeef" NONCE_PL("00"), 0, 1, 0, false },
		{ 255, "28 7f 0004" NONCE_PL("00"), 0, 1, 0, false },
		/* Unknown and critical: parsed, but recorded for the notify. */
		{ 49, "28 80 0008 deadbeef" NONCE_PL("00"), 0, 1, 49, false },
		/* Only the first unknown critical payload is reported. */
		{ 200, "c9 80 0004 00 80 0004", 0, 0, 200, false },
		/* Bytes after the last payload: the chain lies about its end. */
		{ IKEV2_PL_NONCE, NONCE_PL("00") "00", -EINVAL, 0, 0, false },
		{ IKEV2_PL_NONCE, NONCE_PL("00") "00 00 0004", -EINVAL, 0, 0, false },
		/* No payloads but four bytes after the header. */
		{ IKEV2_PL_NONE, "00 00 0004", -EINVAL, 0, 0, false },
		/* SK last: its Next Payload names the first inner payload. */
		{ IKEV2_PL_SK, "29 00 0014 " NONCE16, 0, 1, 0, true },
		{ IKEV2_PL_NOTIFY, N_INITIAL_CONTACT("2e") "29 00 0014 " NONCE16, 0, 2, 0, true },
		/* SK not last: anything after it is outside the protection. */
		{ IKEV2_PL_SK, "29 00 0014 " NONCE16 "00 00 0004", -EINVAL, 0, 0, false },
		{ IKEV2_PL_SK, "29 00 0014 " NONCE16 N_INITIAL_CONTACT("00"), -EINVAL, 0, 0,
		  false },
		/* Two SK payloads. */
		{ IKEV2_PL_SK, "2e 00 0008 00000000 29 00 0008 00000000", -EINVAL, 0, 0, false },
		{ IKEV2_PL_NOTIFY,
		  N_INITIAL_CONTACT("2e") "2e 00 0008 00000000 00 00 0008 00000000", -EINVAL, 0,
		  0, false },
	};
	uint8_t buf[512];
	struct ike_msg msg;

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = mk_msg(cases[i].next, cases[i].chain, buf, sizeof(buf));
		int err = ike_msg_parse(&msg, buf, len);

		CHECK_MSG(err == cases[i].expect, "chain case %zu: %d", i, err);
		if (err < 0)
			continue;
		CHECK_MSG(msg.n_pl == cases[i].n_pl, "chain case %zu: %zu payloads", i, msg.n_pl);
		CHECK_MSG(msg.unsupported_critical == cases[i].critical, "chain case %zu", i);
		CHECK_MSG(msg.has_sk == cases[i].sk, "chain case %zu", i);
	}

	/* Where the payloads and the SK payload were found. */
	mk_msg(IKEV2_PL_NOTIFY, N_INITIAL_CONTACT("2e") "29 00 0014 " NONCE16, buf, sizeof(buf));
	CHECK_INT(ike_msg_parse(&msg, buf, 28 + 8 + 20), 0);
	CHECK_INT(msg.pl[0].type, IKEV2_PL_NOTIFY);
	CHECK(msg.pl[0].body == buf + 32 && msg.pl[0].len == 4);
	CHECK_INT(msg.pl[1].type, IKEV2_PL_SK);
	CHECK(msg.pl[1].body == buf + 40 && msg.pl[1].len == 16);
	CHECK_INT(msg.sk_off, 36);
	CHECK_INT(msg.sk_first, IKEV2_PL_NOTIFY);
	CHECK(!msg.pl[0].encrypted);

	/* IKE_MAX_PAYLOADS empty Vendor IDs fit, one more does not. */
	for (size_t n = IKE_MAX_PAYLOADS; n <= IKE_MAX_PAYLOADS + 1; n++) {
		char chain[4 * 2 * (IKE_MAX_PAYLOADS + 1) + 1];
		size_t len;

		for (size_t j = 0; j < n; j++)
			memcpy(chain + 8 * j, j + 1 < n ? "2b000004" : "00000004", 8);
		chain[8 * n] = '\0';
		len = mk_msg(IKEV2_PL_VENDOR, chain, buf, sizeof(buf));
		CHECK_INT(ike_msg_parse(&msg, buf, len), n == IKE_MAX_PAYLOADS ? 0 : -EINVAL);
	}
}

/* The decrypted chain: like the outer one, but no SK inside an SK. */
static void test_inner(void)
{
	static const struct {
		uint8_t first;
		const char *chain;
		int expect;
		size_t n_inner;
		uint8_t critical;
	} cases[] = {
		/* IDi then AUTH. */
		{ IKEV2_PL_IDI, "27 00 000c 01 000000 c0000201 00 00 000c 02 000000 aabbccdd", 0, 2,
		  0 },
		/* Empty: an INFORMATIONAL liveness check. */
		{ IKEV2_PL_NONE, "", 0, 0, 0 },
		/* An SK payload inside the SK payload. */
		{ IKEV2_PL_SK, "00 00 0008 00000000", -EINVAL, 0, 0 },
		{ IKEV2_PL_NOTIFY, N_INITIAL_CONTACT("2e") "00 00 0008 00000000", -EINVAL, 0, 0 },
		/* Unknown critical payload inside: recorded like outside. */
		{ 99, "29 80 0004" N_INITIAL_CONTACT("00"), 0, 1, 99 },
		/* Padding left in (the caller must strip it): trailing bytes. */
		{ IKEV2_PL_NOTIFY, N_INITIAL_CONTACT("00") "000000", -EINVAL, 0, 0 },
		/* No first payload, yet bytes. */
		{ IKEV2_PL_NONE, "00", -EINVAL, 0, 0 },
	};
	uint8_t buf[128], pt[128];
	struct ike_msg msg;

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = mk_msg(IKEV2_PL_SK, "00 00 0008 00000000", buf, sizeof(buf));
		size_t ptlen = unhex(cases[i].chain, pt, sizeof(pt));
		int err;

		buf[IKEV2_HDR_LEN] = cases[i].first;
		CHECK_INT(ike_msg_parse(&msg, buf, len), 0);
		CHECK_INT(msg.sk_first, cases[i].first);
		err = ike_msg_parse_inner(&msg, pt, ptlen);
		CHECK_MSG(err == cases[i].expect, "inner case %zu: %d", i, err);
		if (err < 0)
			continue;
		/* The SK payload itself is gone from the list once opened. */
		CHECK_MSG(msg.n_pl == cases[i].n_inner, "inner case %zu: %zu", i, msg.n_pl);
		CHECK_INT(ike_msg_count(&msg, IKEV2_PL_SK), 0);
		for (size_t j = 0; j < msg.n_pl; j++)
			CHECK(msg.pl[j].encrypted);
		CHECK_INT(msg.unsupported_critical, cases[i].critical);
	}
}

/* ---- typed decoders: one table for the simple ones ---- */

static int dec_ke(const struct ike_pl *pl)
{
	struct ike_ke ke;

	return ike_pl_ke(pl, &ke);
}

static int dec_id(const struct ike_pl *pl)
{
	struct ike_idp id;

	return ike_pl_id(pl, &id);
}

static int dec_auth(const struct ike_pl *pl)
{
	struct ike_auth a;

	return ike_pl_auth(pl, &a);
}

static int dec_notify(const struct ike_pl *pl)
{
	struct ike_notify n;

	return ike_pl_notify(pl, &n);
}

static int dec_delete(const struct ike_pl *pl)
{
	struct ike_delete d;

	return ike_pl_delete(pl, &d);
}

static int dec_ts(const struct ike_pl *pl)
{
	struct xk_ts ts[4];

	return ike_pl_ts(pl, ts, N(ts));
}

static int dec_cp(const struct ike_pl *pl)
{
	struct ike_cp_attr a[4];
	uint8_t type;

	return ike_pl_cp(pl, &type, a, N(a));
}

static int dec_cert(const struct ike_pl *pl)
{
	const uint8_t *data;
	size_t len;
	uint8_t enc;

	return ike_pl_cert(pl, &enc, &data, &len);
}

#define V4_0_255 "0a000000 0a0000ff"                       /* 10.0.0.0 - 10.0.0.255 */
#define V6_LO    "20010db8000000000000000000000000"        /* 2001:db8:: */
#define V6_HI    "20010db8ffffffffffffffffffffffff"        /* 2001:db8:ffff:...:ffff */
#define TS4(proto, ports) "07 " proto " 0010 " ports " " V4_0_255
#define TS6(proto, ports) "08 " proto " 0028 " ports " " V6_LO V6_HI

static void test_decoders(void)
{
	static const struct {
		int (*dec)(const struct ike_pl *pl);
		const char *hex;
		int expect;
	} cases[] = {
		/* KE (section 3.4): group, reserved, data. */
		{ dec_ke, "001f 0000 0102030405060708", 0 },
		/* No key exchange data. */
		{ dec_ke, "001f 0000", -EINVAL },
		/* Shorter than the fixed part. */
		{ dec_ke, "001f 00", -EINVAL },
		{ dec_ke, "", -EINVAL },

		/* ID (section 3.5). */
		{ dec_id, "01 000000 c0000201", 0 },
		{ dec_id, "05 000000" V6_LO, 0 },
		{ dec_id, "02 000000 6578616d706c652e6f7267", 0 },
		/* ID_IPV4_ADDR of 3 and 5 octets. */
		{ dec_id, "01 000000 c00002", -EINVAL },
		{ dec_id, "01 000000 c000020101", -EINVAL },
		/* ID_IPV6_ADDR of 4 and 15 octets. */
		{ dec_id, "05 000000 c0000201", -EINVAL },
		{ dec_id, "05 000000 20010db800000000000000000000", -EINVAL },
		/* An identity of no octets. */
		{ dec_id, "02 000000", -EINVAL },
		/* Shorter than the fixed part. */
		{ dec_id, "02 0000", -EINVAL },

		/* AUTH (section 3.8). */
		{ dec_auth, "02 000000 00112233445566778899aabbccddeeff", 0 },
		/* Method but no authentication data. */
		{ dec_auth, "02 000000", -EINVAL },
		{ dec_auth, "02", -EINVAL },

		/* Notify (section 3.10). */
		{ dec_notify, "00 00 4000", 0 },
		{ dec_notify, "03 04 4009 c0000001", 0 },
		{ dec_notify, "00 00 4004 00112233445566778899aabbccddeeff00112233", 0 },
		/* Three octets: no room for the type. */
		{ dec_notify, "00 00 40", -EINVAL },
		/* SPI Size 8 with 4 octets left: the SPI runs off the payload. */
		{ dec_notify, "03 08 4009 c0000001", -EINVAL },
		/* SPI Size 255 on an empty notify. */
		{ dec_notify, "03 ff 4009", -EINVAL },

		/* Delete (section 3.11). */
		{ dec_delete, "01 00 0000", 0 },
		{ dec_delete, "03 04 0002 c0000001 c0000002", 0 },
		{ dec_delete, "02 04 0001 c0000001", 0 },
		/* IKE SA delete carrying SPIs: it has none to carry. */
		{ dec_delete, "01 08 0001 0102030405060708", -EINVAL },
		/* IKE SA delete with a count but no SPI size. */
		{ dec_delete, "01 00 0001", -EINVAL },
		/* ESP SPIs are four octets, not eight. */
		{ dec_delete, "03 08 0001 0102030405060708", -EINVAL },
		/* Count 3, two SPIs present. */
		{ dec_delete, "03 04 0003 c0000001 c0000002", -EINVAL },
		/* Count 1, two SPIs present. */
		{ dec_delete, "03 04 0001 c0000001 c0000002", -EINVAL },
		/* A protocol that has no SAs to delete. */
		{ dec_delete, "04 04 0001 c0000001", -EINVAL },
		/* Shorter than the fixed part. */
		{ dec_delete, "03 04 00", -EINVAL },

		/* TS (section 3.13). */
		{ dec_ts, "01 000000" TS4("00", "0000 ffff"), 1 },
		{ dec_ts, "01 000000" TS6("06", "0000 ffff"), 1 },
		{ dec_ts, "02 000000" TS4("11", "01f4 01f4") TS6("00", "0000 ffff"), 2 },
		/* Number of TSs 0: a TS payload without selectors. */
		{ dec_ts, "00 000000", -EINVAL },
		{ dec_ts, "00 000000" TS4("00", "0000 ffff"), -EINVAL },
		/* IPv4 range claiming the IPv6 length 40. */
		{ dec_ts, "01 000000 07 00 0028 0000 ffff" V6_LO V6_HI, -EINVAL },
		/* IPv6 range claiming the IPv4 length 16. */
		{ dec_ts, "01 000000 08 00 0010 0000 ffff" V4_0_255, -EINVAL },
		/* Selector Length 4: shorter than the selector header. */
		{ dec_ts, "01 000000 07 00 0004", -EINVAL },
		/* Selector Length 16 with 8 octets left. */
		{ dec_ts, "01 000000 07 00 0010 0000 ffff", -EINVAL },
		/* Two selectors announced, one present. */
		{ dec_ts, "02 000000" TS4("00", "0000 ffff"), -EINVAL },
		/* One announced, bytes after it. */
		{ dec_ts, "01 000000" TS4("00", "0000 ffff") "00000000", -EINVAL },
		/* Start port above end port (OPAQUE, section 3.13.1): not for us. */
		{ dec_ts, "01 000000" TS4("11", "ffff 0000"), -ENOTSUP },
		{ dec_ts, "01 000000" TS4("11", "01f4 0050"), -ENOTSUP },
		/* Start address above end address. */
		{ dec_ts, "01 000000 07 00 0010 0000 ffff 0a0000ff 0a000000", -ENOTSUP },
		/* A selector type we do not speak (FC address range, RFC 4595). */
		{ dec_ts, "01 000000 09 00 0008 00000000", -ENOTSUP },

		/* CP (section 3.15). */
		{ dec_cp, "01 000000 0001 0000 0003 0000", 2 },
		{ dec_cp, "02 000000 0001 0004 c0000201", 1 },
		{ dec_cp, "01 000000", 0 },
		/* Attribute Length 8 with 4 octets left. */
		{ dec_cp, "02 000000 0001 0008 c0000201", -EINVAL },
		/* Half an attribute header. */
		{ dec_cp, "01 000000 0001", -EINVAL },
		/* Shorter than the fixed part. */
		{ dec_cp, "01 0000", -EINVAL },

		/* CERT / CERTREQ (sections 3.6, 3.7). */
		{ dec_cert, "04 3003020100", 0 },
		{ dec_cert, "04", 0 },
		/* Not even the encoding octet. */
		{ dec_cert, "", -EINVAL },
	};
	uint8_t buf[256];

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = unhex(cases[i].hex, buf, sizeof(buf));
		struct ike_pl pl = pl_of(0, buf, len);
		int err = cases[i].dec(&pl);

		CHECK_MSG(err == cases[i].expect, "decoder case %zu: %d, expected %d", i, err,
			  cases[i].expect);
	}
}

/* What the valid encodings above decode to. */
static void test_decoder_fields(void)
{
	uint8_t buf[256];
	struct ike_pl pl;
	size_t len;

	{
		struct ike_ke ke;

		len = unhex("001f 0000 0102030405060708", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_KE, buf, len);
		CHECK_INT(ike_pl_ke(&pl, &ke), 0);
		CHECK_INT(ke.group, IKEV2_DH_CURVE25519);
		CHECK(ke.data == buf + 4 && ke.len == 8);
	}
	{
		struct ike_idp id;

		len = unhex("01 000000 c0000201", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_IDI, buf, len);
		CHECK_INT(ike_pl_id(&pl, &id), 0);
		CHECK_INT(id.type, IKEV2_ID_IPV4_ADDR);
		CHECK(id.data == buf + 4 && id.len == 4);
		/* What AUTH signs: the whole body, from ID Type on. */
		CHECK(id.body == buf && id.body_len == 8);
	}
	{
		struct ike_auth a;

		len = unhex("02 000000 00112233", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_AUTH, buf, len);
		CHECK_INT(ike_pl_auth(&pl, &a), 0);
		CHECK_INT(a.method, IKEV2_AUTH_SHARED_KEY_MIC);
		CHECK(a.data == buf + 4 && a.len == 4);
	}
	{
		struct ike_notify n;

		len = unhex("03 04 4009 c0000001 abcd", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_NOTIFY, buf, len);
		CHECK_INT(ike_pl_notify(&pl, &n), 0);
		CHECK_INT(n.proto, IKEV2_PROTO_ESP);
		CHECK_INT(n.spi_size, 4);
		CHECK_INT(n.type, IKEV2_N_REKEY_SA);
		CHECK(n.spi == buf + 4);
		CHECK(n.data == buf + 8 && n.len == 2);
		/* No data: NULL, not a pointer past the end. */
		len = unhex("00 00 4000", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_NOTIFY, buf, len);
		CHECK_INT(ike_pl_notify(&pl, &n), 0);
		CHECK(n.data == NULL && n.len == 0);
	}
	{
		struct ike_delete d;

		len = unhex("03 04 0002 c0000001 c0000002", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_DELETE, buf, len);
		CHECK_INT(ike_pl_delete(&pl, &d), 0);
		CHECK_INT(d.proto, IKEV2_PROTO_ESP);
		CHECK_INT(d.n_spi, 2);
		CHECK(get_be32(d.spis) == 0xc0000001u && get_be32(d.spis + 4) == 0xc0000002u);
	}
	{
		struct xk_ts ts[2];

		len = unhex("02 000000" TS4("11", "01f4 01f5") TS6("06", "0000 ffff"), buf,
			    sizeof(buf));
		pl = pl_of(IKEV2_PL_TSI, buf, len);
		CHECK_INT(ike_pl_ts(&pl, ts, 2), 2);
		CHECK_INT(ts[0].family, XK_AF_INET);
		CHECK_INT(ts[0].proto, 17);
		CHECK_INT(ts[0].port_lo, 500);
		CHECK_INT(ts[0].port_hi, 501);
		CHECK(get_be32(ts[0].lo) == 0x0a000000u && get_be32(ts[0].hi) == 0x0a0000ffu);
		CHECK_INT(ts[1].family, XK_AF_INET6);
		CHECK_INT(ts[1].proto, 6);
		CHECK(ts[1].lo[15] == 0x00 && ts[1].hi[15] == 0xff && ts[1].hi[3] == 0xb8);
		/* More selectors than room: the count says how many there were. */
		memset(ts, 0, sizeof(ts));
		CHECK_INT(ike_pl_ts(&pl, ts, 1), 2);
		CHECK_INT(ts[0].port_lo, 500);
		CHECK_INT(ts[1].family, 0);
	}
	{
		struct ike_cp_attr a[2];
		uint8_t type;

		/* The R bit is not part of the type. */
		len = unhex("02 000000 8001 0004 c0000201 0003 0000 000d 0000", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_CP, buf, len);
		CHECK_INT(ike_pl_cp(&pl, &type, a, 2), 3);
		CHECK_INT(type, IKEV2_CFG_REPLY);
		CHECK_INT(a[0].type, 1);
		CHECK(a[0].value == buf + 8 && a[0].len == 4);
		CHECK_INT(a[1].type, 3);
		CHECK_INT(a[1].len, 0);
	}
	{
		const uint8_t *data;
		uint8_t enc;

		len = unhex("04 3003020100", buf, sizeof(buf));
		pl = pl_of(IKEV2_PL_CERT, buf, len);
		CHECK_INT(ike_pl_cert(&pl, &enc, &data, &len), 0);
		CHECK_INT(enc, 4);
		CHECK(data == buf + 1 && len == 5);
	}
}

/* Nonce (section 3.9): 16 to 256 octets. */
static void test_nonce(void)
{
	static const struct {
		size_t len;
		int expect;
	} cases[] = {
		{ 0, -EINVAL },
		/* One octet short of the minimum. */
		{ 15, -EINVAL },
		{ 16, 0 },
		{ 32, 0 },
		{ 256, 0 },
		/* One octet past the maximum. */
		{ 257, -EINVAL },
	};
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	for (size_t i = 0; i < N(cases); i++) {
		struct ike_pl pl = pl_of(IKEV2_PL_NONCE, buf, cases[i].len);
		const uint8_t *data = NULL;
		size_t len = 0;

		CHECK_MSG(ike_pl_nonce(&pl, &data, &len) == cases[i].expect, "nonce of %zu",
			  cases[i].len);
		if (cases[i].expect == 0)
			CHECK(data == buf && len == cases[i].len);
	}
}

/* ---- SA (section 3.3) ---- */

/* Transforms: Last Substruc, reserved, length, type, reserved, ID, attributes. */
#define XF_GCM128   "03 00 000c 01 00 0014 800e 0080" /* ENCR_AES_GCM_16, 128 bits */
#define XF_PRF256   "03 00 0008 02 00 0005"           /* PRF_HMAC_SHA2_256 */
#define XF_X25519   "00 00 0008 04 00 001f"           /* last: DH 31 */
#define XF_ESN_LAST "00 00 0008 05 00 0000"
#define IKE_XFS     XF_GCM128 XF_PRF256 XF_X25519     /* 28 octets */
/* Proposal header: Last Substruc, reserved, length 36, number, IKE, no SPI, 3 transforms. */
#define PROP_IKE(last, num) last " 00 0024 " num " 01 00 03" IKE_XFS

static void test_sa(void)
{
	static const struct {
		const char *hex;
		int expect;
		int num;      /* of the first proposal, when valid */
		int unusable; /* of the first proposal, when valid */
		int n_xforms;
		int keybits;  /* of its first transform */
	} cases[] = {
		/* One IKE proposal: AES-GCM-16/128, PRF SHA2-256, X25519. */
		{ PROP_IKE("00", "01"), 1, 1, 0, 3, 128 },
		/* Two proposals, numbered 1 and 2. */
		{ PROP_IKE("02", "01") PROP_IKE("00", "02"), 2, 1, 0, 3, 128 },
		/* ESP with its four-octet SPI, AES-GCM and ESN. */
		{ "00 00 0020 01 03 04 02 c0000001" XF_GCM128 XF_ESN_LAST, 1, 1, 0, 2, 128 },
		/* A reply: one proposal carrying the number it accepted (3.3.1). */
		{ PROP_IKE("00", "03"), 1, 3, 0, 3, 128 },
		/* IKE SPI of 8 octets (rekey). */
		{ "00 00 002c 01 01 08 03 0102030405060708" IKE_XFS, 1, 1, 0, 3, 128 },
		/* Key Length 256. */
		{ "00 00 0024 01 01 00 03 03 00 000c 01 00 0014 800e 0100" XF_PRF256 XF_X25519, 1,
		  1, 0, 3, 256 },
		/* Unknown transform type 240: kept, but never to be chosen (3.3.6). */
		{ "00 00 0024 01 01 00 03" XF_GCM128 "03 00 0008 f0 00 0001" XF_X25519, 1, 1, 1,
		  2, 128 },
		/* Unknown TV attribute 15. */
		{ "00 00 0024 01 01 00 03 03 00 000c 01 00 0014 800f 0080" XF_PRF256 XF_X25519, 1,
		  1, 1, 3, 0 },
		/* A TLV attribute (AF=0): none is defined. */
		{ "00 00 0028 01 01 00 03 03 00 0010 01 00 0014 0001 0004 deadbeef" XF_PRF256
		  XF_X25519,
		  1, 1, 1, 3, 0 },
		/* Protocol AH: parsed, not usable. */
		{ "00 00 0014 01 02 04 01 c0000001 00 00 0008 03 00 000c", 1, 1, 1, 1, 0 },

		/* An SA payload with no proposals. */
		{ "", -EINVAL, 0, 0, 0, 0 },
		/* Numbering starts at 2. */
		{ PROP_IKE("02", "02") PROP_IKE("00", "03"), -EINVAL, 0, 0, 0, 0 },
		/* Numbering jumps from 1 to 3. */
		{ PROP_IKE("02", "01") PROP_IKE("00", "03"), -EINVAL, 0, 0, 0, 0 },
		/* Numbering repeats 1. */
		{ PROP_IKE("02", "01") PROP_IKE("00", "01"), -EINVAL, 0, 0, 0, 0 },
		/* A lone proposal numbered 0. */
		{ PROP_IKE("00", "00"), -EINVAL, 0, 0, 0, 0 },
		/* The first of two says it is the last. */
		{ PROP_IKE("00", "01") PROP_IKE("00", "02"), -EINVAL, 0, 0, 0, 0 },
		/* The last says more follow. */
		{ PROP_IKE("02", "01"), -EINVAL, 0, 0, 0, 0 },
		{ PROP_IKE("02", "01") PROP_IKE("02", "02"), -EINVAL, 0, 0, 0, 0 },
		/* Last Substruc 3 is for transforms. */
		{ PROP_IKE("03", "01"), -EINVAL, 0, 0, 0, 0 },
		/* Four transforms announced, three present. */
		{ "00 00 0024 01 01 00 04" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* Two announced, three present. */
		{ "00 00 0024 01 01 00 02" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* The second of three transforms says it is the last. */
		{ "00 00 0024 01 01 00 03" XF_GCM128 "00 00 0008 02 00 0005" XF_X25519, -EINVAL, 0,
		  0, 0, 0 },
		/* The last transform says more follow. */
		{ "00 00 0024 01 01 00 03" XF_GCM128 XF_PRF256 "03 00 0008 04 00 001f", -EINVAL, 0,
		  0, 0, 0 },
		/* Transform Length 4 and 7: shorter than a transform header. */
		{ "00 00 0020 01 01 00 03" XF_GCM128 XF_PRF256 "00 00 0004 04 00 001f", -EINVAL, 0,
		  0, 0, 0 },
		{ "00 00 0023 01 01 00 03" XF_GCM128 XF_PRF256 "00 00 0007 04 00 00", -EINVAL, 0,
		  0, 0, 0 },
		/* Transform Length 12 with 8 octets left in the proposal. */
		{ "00 00 0024 01 01 00 03" XF_GCM128 XF_PRF256 "00 00 000c 04 00 001f", -EINVAL, 0,
		  0, 0, 0 },
		/* Proposal Length 40 with 36 octets in the payload. */
		{ "00 00 0028 01 01 00 03" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* Proposal Length 28: the last transform falls outside it. */
		{ "00 00 001c 01 01 00 03" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* Proposal Length 40 over 36 octets of content: four stray octets. */
		{ "00 00 0028 01 01 00 03" IKE_XFS "00000000", -EINVAL, 0, 0, 0, 0 },
		/* Proposal Length 4: shorter than a proposal header. */
		{ "00 00 0004", -EINVAL, 0, 0, 0, 0 },
		/* Bytes after the last proposal. */
		{ PROP_IKE("00", "01") "0000", -EINVAL, 0, 0, 0, 0 },
		/* ESP SPI of 8 octets, and of none (section 3.3.1: 4). */
		{ "00 00 0024 01 03 08 02 0102030405060708" XF_GCM128 XF_ESN_LAST, -EINVAL, 0, 0,
		  0, 0 },
		{ "00 00 001c 01 03 00 02" XF_GCM128 XF_ESN_LAST, -EINVAL, 0, 0, 0, 0 },
		/* IKE SPI of 3 octets: neither none nor 8. */
		{ "00 00 0027 01 01 03 03 010203" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* SPI Size 9: larger than any SPI. */
		{ "00 00 0029 01 02 09 03 010203040506070809" IKE_XFS, -EINVAL, 0, 0, 0, 0 },
		/* SPI Size beyond the proposal. */
		{ "00 00 0008 01 03 04 00", -EINVAL, 0, 0, 0, 0 },
		/* TLV attribute whose length runs past the transform. */
		{ "00 00 0020 01 01 00 03 03 00 000c 01 00 0014 0001 0008" XF_PRF256 "00 00 0008",
		  -EINVAL, 0, 0, 0, 0 },
		/* Half an attribute. */
		{ "00 00 0022 01 01 00 03 03 00 000a 01 00 0014 800e" XF_PRF256 XF_X25519, -EINVAL,
		  0, 0, 0, 0 },
	};
	uint8_t buf[256];
	struct ike_proposal p[4];

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = unhex(cases[i].hex, buf, sizeof(buf));
		struct ike_pl pl = pl_of(IKEV2_PL_SA, buf, len);
		int n = ike_pl_sa(&pl, p, N(p));

		CHECK_MSG(n == cases[i].expect, "SA case %zu: %d, expected %d", i, n,
			  cases[i].expect);
		if (n <= 0 || n != cases[i].expect)
			continue;
		CHECK_MSG(p[0].num == cases[i].num, "SA case %zu: num %u", i, p[0].num);
		CHECK_MSG(p[0].unusable == cases[i].unusable, "SA case %zu: unusable", i);
		CHECK_MSG(p[0].n_xforms == cases[i].n_xforms, "SA case %zu: %u transforms", i,
			  p[0].n_xforms);
		CHECK_MSG(p[0].xf[0].keybits == cases[i].keybits, "SA case %zu: keybits %u", i,
			  p[0].xf[0].keybits);
	}

	/* The fields of the ESP proposal, and room for fewer than offered. */
	unhex("00 00 0020 01 03 04 02 c0000001" XF_GCM128 XF_ESN_LAST, buf, sizeof(buf));
	{
		struct ike_pl pl = pl_of(IKEV2_PL_SA, buf, 32);

		CHECK_INT(ike_pl_sa(&pl, p, 1), 1);
		CHECK_INT(ike_pl_sa_one(&pl, p), 0);
		CHECK_INT(p[0].protocol, IKEV2_PROTO_ESP);
		CHECK_INT(p[0].spi_size, 4);
		CHECK(get_be32(p[0].spi) == 0xc0000001u);
		CHECK_INT(p[0].xf[0].type, IKEV2_XF_ENCR);
		CHECK_INT(p[0].xf[0].id, IKEV2_ENCR_AES_GCM_16);
		CHECK_INT(p[0].xf[1].type, IKEV2_XF_ESN);
	}
	{
		size_t len = unhex(PROP_IKE("02", "01") PROP_IKE("00", "02"), buf, sizeof(buf));
		struct ike_pl pl = pl_of(IKEV2_PL_SA, buf, len);

		/* Only the first is stored, the second is still validated. */
		CHECK_INT(ike_pl_sa(&pl, p, 1), 1);
		/* An answer holds exactly one proposal (section 3.3). */
		CHECK_INT(ike_pl_sa_one(&pl, p), -EINVAL);
		buf[len - 1] = 0x20; /* second proposal: DH 32 */
		CHECK_INT(ike_pl_sa(&pl, p, 1), 1);
		buf[len - 8] = 0x03; /* second proposal: last transform says more */
		CHECK_INT(ike_pl_sa(&pl, p, 1), -EINVAL);
	}
}

/* A transform without attributes, written out (for tables too long as hex). */
static void put_xf(struct bw *w, bool last, uint8_t type, uint16_t id)
{
	bw_u8(w, last ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_XFORM);
	bw_u8(w, 0);
	bw_u16(w, IKEV2_XFORM_HDR_LEN);
	bw_u8(w, type);
	bw_u8(w, 0);
	bw_u16(w, id);
}

static void put_prop_hdr(struct bw *w, bool last, uint16_t len, uint8_t num, uint8_t n_xf)
{
	bw_u8(w, last ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_PROPOSAL);
	bw_u8(w, 0);
	bw_u16(w, len);
	bw_u8(w, num);
	bw_u8(w, IKEV2_PROTO_IKE);
	bw_u8(w, 0);
	bw_u8(w, n_xf);
}

/* The limits: transforms we keep per proposal, proposal numbers in an octet. */
static void test_sa_limits(void)
{
	static uint8_t buf[4096];
	struct ike_proposal p[1];
	struct ike_pl pl;
	struct bw w;

	/* IKE_MAX_XFORMS transforms are kept; past that the proposal is unusable. */
	for (size_t n = IKE_MAX_XFORMS; n <= IKE_MAX_XFORMS + 1; n++) {
		bw_init(&w, buf, sizeof(buf));
		put_prop_hdr(&w, true, (uint16_t)(8 + 8 * n), 1, (uint8_t)n);
		for (size_t i = 0; i < n; i++)
			put_xf(&w, i + 1 == n, IKEV2_XF_DH, (uint16_t)i);
		pl = pl_of(IKEV2_PL_SA, buf, w.len);
		CHECK_INT(ike_pl_sa(&pl, p, 1), 1);
		CHECK_INT(p[0].n_xforms, IKE_MAX_XFORMS);
		CHECK_INT(p[0].unusable, n > IKE_MAX_XFORMS);
	}
	/* Proposals 1..255 parse; a 256th has no number left (section 3.3.1). */
	for (size_t n = 255; n <= 256; n++) {
		bw_init(&w, buf, sizeof(buf));
		for (size_t i = 0; i < n; i++) {
			put_prop_hdr(&w, i + 1 == n, 16, (uint8_t)(i + 1), 1);
			put_xf(&w, true, IKEV2_XF_DH, IKEV2_DH_CURVE25519);
		}
		CHECK(bw_ok(&w));
		pl = pl_of(IKEV2_PL_SA, buf, w.len);
		CHECK_INT(ike_pl_sa(&pl, p, 1), n == 255 ? 1 : -EINVAL);
	}
}

static bool proposal_eq(const struct ike_proposal *a, const struct ike_proposal *b)
{
	if (a->num != b->num || a->protocol != b->protocol || a->spi_size != b->spi_size ||
	    memcmp(a->spi, b->spi, a->spi_size) != 0 || a->n_xforms != b->n_xforms ||
	    a->unusable != b->unusable)
		return false;
	for (size_t i = 0; i < a->n_xforms; i++)
		if (a->xf[i].type != b->xf[i].type || a->xf[i].id != b->xf[i].id ||
		    a->xf[i].keybits != b->xf[i].keybits)
			return false;
	return true;
}

/* Build with ike_mb_sa, parse with ike_pl_sa: the same proposals come back. */
static void test_sa_roundtrip(void)
{
	static const struct {
		const char *str;
		uint8_t proto;
	} cases[] = {
		{ "aes128gcm16-prfsha256-x25519, aes256-sha384-modp2048-ecp256, "
		  "chacha20poly1305-prfsha512-x448",
		  IKEV2_PROTO_IKE },
		{ "aes128gcm16-aes256gcm16-prfsha256-prfsha384-x25519-ecp384-modp3072",
		  IKEV2_PROTO_IKE },
		{ "aes128gcm16-esn-noesn, aes256-sha256-sha512, chacha20poly1305",
		  IKEV2_PROTO_ESP },
	};
	struct ike_proposal in[IKE_MAX_PROPOSALS], out[IKE_MAX_PROPOSALS];
	struct ike_hdr hdr = { .spi_i = 1, .exch = IKEV2_EXCH_IKE_SA_INIT };
	struct ike_mb mb;
	struct ike_msg msg;
	uint8_t buf[2048];
	char err[128];

	for (size_t i = 0; i < N(cases); i++) {
		int n = ike_proposals_parse(cases[i].str, cases[i].proto, in, N(in), err,
					    sizeof(err));
		int len;

		CHECK_MSG(n > 0, "'%s': %s", cases[i].str, err);
		if (n <= 0)
			continue;
		for (int j = 0; j < n && cases[i].proto == IKEV2_PROTO_ESP; j++) {
			in[j].spi_size = 4;
			put_be32(in[j].spi, 0xc0000100u + (uint32_t)j);
		}
		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		ike_mb_sa(&mb, in, (size_t)n);
		len = ike_mb_finish(&mb);
		CHECK(len > 0);
		CHECK_INT(ike_msg_parse(&msg, buf, (size_t)len), 0);
		CHECK_INT(msg.n_pl, 1);
		CHECK_INT(ike_pl_sa(&msg.pl[0], out, N(out)), n);
		for (int j = 0; j < n; j++)
			CHECK_MSG(proposal_eq(&in[j], &out[j]), "'%s': proposal %d", cases[i].str,
				  j);
	}
}

/* ---- TS round trip ---- */

static void test_ts_roundtrip(void)
{
	static const char *const sel[] = {
		"10.0.0.0/24", "192.0.2.7", "0.0.0.0/0", "2001:db8::/32", "2001:db8::1", "::/0",
	};
	struct xk_ts in[N(sel)], out[N(sel)];
	struct ike_hdr hdr = { .exch = IKEV2_EXCH_IKE_AUTH };
	struct ike_mb mb;
	struct ike_msg msg;
	uint8_t buf[1024];
	int len;

	memset(in, 0, sizeof(in));
	for (size_t i = 0; i < N(sel); i++) {
		CHECK_INT(xk_ts_parse(sel[i], &in[i]), 0);
		in[i].proto = (uint8_t)(i * 6); /* assorted protocols, 0 = any */
		in[i].port_lo = (uint16_t)(i * 100);
		in[i].port_hi = (uint16_t)(i * 100 + 99);
	}
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_ts(&mb, IKEV2_PL_TSI, in, 3);     /* IPv4 */
	ike_mb_ts(&mb, IKEV2_PL_TSR, in + 3, 3); /* IPv6 */
	ike_mb_ts(&mb, IKEV2_PL_TSI, in, N(in)); /* both */
	len = ike_mb_finish(&mb);
	CHECK_INT(len, 28 + (4 + 4 + 3 * 16) + (4 + 4 + 3 * 40) + (4 + 4 + 3 * 16 + 3 * 40));
	CHECK_INT(ike_msg_parse(&msg, buf, (size_t)len), 0);
	CHECK_INT(msg.n_pl, 3);
	memset(out, 0, sizeof(out));
	CHECK_INT(ike_pl_ts(&msg.pl[0], out, N(out)), 3);
	CHECK_MEM(out, in, 3 * sizeof(in[0]));
	memset(out, 0, sizeof(out));
	CHECK_INT(ike_pl_ts(&msg.pl[1], out, N(out)), 3);
	CHECK_MEM(out, in + 3, 3 * sizeof(in[0]));
	memset(out, 0, sizeof(out));
	CHECK_INT(ike_pl_ts(&msg.pl[2], out, N(out)), (int)N(in));
	CHECK_MEM(out, in, sizeof(in));
}

/* ---- building ---- */

/*
 * IKE_SA_INIT request, header + Nonce + Notify, laid out by hand from
 * sections 3.1, 3.2, 3.9 and 3.10.
 */
static void test_build_exact(void)
{
	static const char expect[] =
		/* IKE header */
		"0102030405060708" /* IKE SA Initiator's SPI */
		"0000000000000000" /* IKE SA Responder's SPI */
		"28"               /* Next Payload: Nonce (40) */
		"20"               /* MjVer 2, MnVer 0 */
		"22"               /* Exchange Type: IKE_SA_INIT (34) */
		"08"               /* Flags: Initiator */
		"00000000"         /* Message ID 0 */
		"0000003c"         /* Length 60 */
		/* Nonce payload */
		"29"                                /* Next Payload: Notify (41) */
		"00"                                /* C = 0, reserved */
		"0014"                              /* Payload Length 20 */
		"000102030405060708090a0b0c0d0e0f"  /* Nonce Data */
		/* Notify payload */
		"00"       /* Next Payload: none */
		"00"       /* C = 0, reserved */
		"000c"     /* Payload Length 12 */
		"00"       /* Protocol ID: none */
		"00"       /* SPI Size 0 */
		"4006"     /* Notify Message Type: COOKIE (16390) */
		"cafebabe" /* Notification Data */;
	static const uint8_t nonce[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t cookie[4] = { 0xca, 0xfe, 0xba, 0xbe };
	struct ike_hdr hdr = {
		.spi_i = 0x0102030405060708ULL,
		.exch = IKEV2_EXCH_IKE_SA_INIT,
		.flags = IKEV2_FLAG_INITIATOR,
	};
	uint8_t buf[128], want[128];
	size_t want_len = unhex(expect, want, sizeof(want));
	struct ike_mb mb;
	int len;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_COOKIE, cookie, sizeof(cookie));
	len = ike_mb_finish(&mb);
	CHECK_INT(len, 60);
	CHECK_INT(want_len, 60);
	CHECK_MEM(buf, want, want_len);

	/* An SA payload against the hand-written table entry above. */
	{
		struct ike_proposal p = {
			.num = 1,
			.protocol = IKEV2_PROTO_IKE,
			.n_xforms = 3,
			.xf = { { IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 128 },
				{ IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_256, 0 },
				{ IKEV2_XF_DH, IKEV2_DH_CURVE25519, 0 } },
		};

		want_len = unhex("00 00 0028" PROP_IKE("00", "01"), want, sizeof(want));
		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		ike_mb_sa(&mb, &p, 1);
		CHECK_INT(ike_mb_finish(&mb), 28 + 40);
		CHECK_INT(buf[16], IKEV2_PL_SA);
		CHECK_MEM(buf + 28, want, want_len);
	}
	/* Critical bit set by ike_mb_begin, Next Payload patched by the next one. */
	{
		size_t s;

		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		s = ike_mb_begin(&mb, 200, true);
		ike_mb_end(&mb, s);
		ike_mb_vendor(&mb, cookie, sizeof(cookie));
		CHECK_INT(ike_mb_finish(&mb), 28 + 4 + 8);
		want_len = unhex("2b 80 0004 00 00 0008 cafebabe", want, sizeof(want));
		CHECK_INT(buf[16], 200);
		CHECK_MEM(buf + 28, want, want_len);
	}
}

/* Every builder, then the parser and each decoder on what was built. */
static void test_build_all(void)
{
	static const uint8_t ke[32] = { 0x11, 0x22 }, nonce[32] = { 0x33 }, auth[32] = { 0x44 };
	static const uint8_t idi[4] = { 192, 0, 2, 1 }, cert[5] = { 0x30, 3, 2, 1, 0 };
	static const uint8_t spis[8] = { 0xc0, 0, 0, 1, 0xc0, 0, 0, 2 }, vid[3] = { 'x', 'k', 1 };
	static const uint8_t spi4[4] = { 0xc0, 0, 0, 9 }, data[2] = { 0xab, 0xcd };
	static const uint8_t types[] = {
		IKEV2_PL_SA,     IKEV2_PL_KE,    IKEV2_PL_IDI,    IKEV2_PL_IDR,    IKEV2_PL_CERT,
		IKEV2_PL_CERTREQ, IKEV2_PL_AUTH, IKEV2_PL_NONCE,  IKEV2_PL_NOTIFY, IKEV2_PL_DELETE,
		IKEV2_PL_VENDOR, IKEV2_PL_TSI,   IKEV2_PL_TSR,
	};
	struct ike_proposal prop = {
		.protocol = IKEV2_PROTO_ESP,
		.spi_size = 4,
		.spi = { 0xc0, 0, 0, 7 },
		.n_xforms = 2,
		.xf = { { IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 256 },
			{ IKEV2_XF_ESN, IKEV2_ESN_NO, 0 } },
	};
	struct ike_hdr hdr = { .spi_i = 7, .spi_r = 8, .exch = IKEV2_EXCH_IKE_AUTH, .mid = 1 };
	struct ike_proposal pout;
	struct xk_ts ts, tsout;
	struct ike_mb mb;
	struct ike_msg msg;
	struct ike_ke k;
	struct ike_idp id;
	struct ike_auth a;
	struct ike_notify n;
	struct ike_delete d;
	const uint8_t *p;
	uint8_t enc, buf[1024];
	size_t plen;
	int len;

	memset(&ts, 0, sizeof(ts));
	xk_ts_parse("198.51.100.0/24", &ts);
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sa(&mb, &prop, 1);
	ike_mb_ke(&mb, IKEV2_DH_CURVE25519, ke, sizeof(ke));
	ike_mb_id(&mb, IKEV2_PL_IDI, IKEV2_ID_IPV4_ADDR, idi, sizeof(idi));
	ike_mb_id(&mb, IKEV2_PL_IDR, IKEV2_ID_FQDN, (const uint8_t *)"example.org", 11);
	ike_mb_cert(&mb, IKEV2_PL_CERT, 4, cert, sizeof(cert));
	ike_mb_cert(&mb, IKEV2_PL_CERTREQ, 4, NULL, 0);
	ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, auth, sizeof(auth));
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	ike_mb_notify(&mb, IKEV2_PROTO_ESP, spi4, 4, IKEV2_N_REKEY_SA, data, sizeof(data));
	ike_mb_delete(&mb, IKEV2_PROTO_ESP, 4, spis, 2);
	ike_mb_vendor(&mb, vid, sizeof(vid));
	ike_mb_ts(&mb, IKEV2_PL_TSI, &ts, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSR, &ts, 1);
	len = ike_mb_finish(&mb);
	CHECK(len > 0);
	CHECK_INT(get_be32(buf + 24), len);
	CHECK_INT(ike_msg_parse(&msg, buf, (size_t)len), 0);
	CHECK_INT(msg.n_pl, N(types));
	for (size_t i = 0; i < msg.n_pl && i < N(types); i++)
		CHECK_MSG(msg.pl[i].type == types[i], "payload %zu is %u", i, msg.pl[i].type);

	prop.num = 1;
	CHECK_INT(ike_pl_sa(&msg.pl[0], &pout, 1), 1);
	CHECK(proposal_eq(&prop, &pout));
	CHECK_INT(ike_pl_ke(&msg.pl[1], &k), 0);
	CHECK(k.group == IKEV2_DH_CURVE25519 && k.len == sizeof(ke));
	CHECK_MEM(k.data, ke, sizeof(ke));
	CHECK_INT(ike_pl_id(&msg.pl[2], &id), 0);
	CHECK(id.type == IKEV2_ID_IPV4_ADDR && id.len == 4);
	CHECK_MEM(id.data, idi, 4);
	CHECK_INT(ike_pl_id(&msg.pl[3], &id), 0);
	CHECK(id.type == IKEV2_ID_FQDN && id.len == 11);
	CHECK_MEM(id.data, "example.org", 11);
	CHECK_INT(ike_pl_cert(&msg.pl[4], &enc, &p, &plen), 0);
	CHECK(enc == 4 && plen == sizeof(cert));
	CHECK_MEM(p, cert, sizeof(cert));
	CHECK_INT(ike_pl_cert(&msg.pl[5], &enc, &p, &plen), 0);
	CHECK(enc == 4 && plen == 0);
	CHECK_INT(ike_pl_auth(&msg.pl[6], &a), 0);
	CHECK(a.method == IKEV2_AUTH_SHARED_KEY_MIC && a.len == sizeof(auth));
	CHECK_MEM(a.data, auth, sizeof(auth));
	CHECK_INT(ike_pl_nonce(&msg.pl[7], &p, &plen), 0);
	CHECK(plen == sizeof(nonce));
	CHECK_MEM(p, nonce, sizeof(nonce));
	CHECK_INT(ike_pl_notify(&msg.pl[8], &n), 0);
	CHECK(n.proto == IKEV2_PROTO_ESP && n.spi_size == 4 && n.type == IKEV2_N_REKEY_SA);
	CHECK_MEM(n.spi, spi4, 4);
	CHECK(n.len == 2);
	CHECK_MEM(n.data, data, 2);
	CHECK(ike_msg_notify(&msg, IKEV2_N_REKEY_SA, &n));
	CHECK(!ike_msg_notify(&msg, IKEV2_N_COOKIE, &n));
	CHECK_INT(ike_pl_delete(&msg.pl[9], &d), 0);
	CHECK(d.proto == IKEV2_PROTO_ESP && d.n_spi == 2);
	CHECK_MEM(d.spis, spis, 8);
	CHECK(msg.pl[10].len == sizeof(vid));
	CHECK_MEM(msg.pl[10].body, vid, sizeof(vid));
	memset(&tsout, 0, sizeof(tsout));
	CHECK_INT(ike_pl_ts(&msg.pl[11], &tsout, 1), 1);
	CHECK_MEM(&tsout, &ts, sizeof(ts));
	CHECK_INT(ike_pl_ts(&msg.pl[12], &tsout, 1), 1);
	CHECK(ike_msg_find(&msg, IKEV2_PL_TSR) == &msg.pl[12]);
	CHECK(ike_msg_find(&msg, IKEV2_PL_CP) == NULL);
	CHECK_INT(ike_msg_count(&msg, IKEV2_PL_IDI), 1);
}

/* The writer never runs off its buffer; the overflow surfaces at the end. */
static void test_build_overflow(void)
{
	static const uint8_t nonce[32];
	struct ike_hdr hdr = { .spi_i = 1, .exch = IKEV2_EXCH_IKE_SA_INIT };
	struct ike_mb mb;
	uint8_t buf[128];

	/* Not even the header fits. */
	ike_mb_init(&mb, buf, 20, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	CHECK_INT(ike_mb_finish(&mb), -ENOSPC);
	/* Header fits, the payload does not. */
	ike_mb_init(&mb, buf, 40, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	CHECK_INT(ike_mb_finish(&mb), -ENOSPC);
	/* Exactly full, and one octet short. */
	ike_mb_init(&mb, buf, 28 + 36, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	CHECK_INT(ike_mb_finish(&mb), 64);
	ike_mb_init(&mb, buf, 28 + 35, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	CHECK_INT(ike_mb_finish(&mb), -ENOSPC);
	/* Overflow in the middle; later small payloads must not hide it. */
	ike_mb_init(&mb, buf, 64, &hdr);
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	ike_mb_nonce(&mb, nonce, sizeof(nonce));
	ike_mb_vendor(&mb, NULL, 0);
	CHECK_INT(ike_mb_finish(&mb), -ENOSPC);
	/* A payload longer than its 16-bit length field. */
	ike_mb_init(&mb, big, sizeof(big), &hdr);
	ike_mb_vendor(&mb, big_src, 65532);
	CHECK_INT(ike_mb_finish(&mb), -ENOSPC);
	ike_mb_init(&mb, big, sizeof(big), &hdr);
	ike_mb_vendor(&mb, big_src, 65531);
	CHECK_INT(ike_mb_finish(&mb), 28 + 65535);
}

/* ---- SK payload (section 3.14) ---- */

static void test_sk(void)
{
	static const uint8_t key[64] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
		0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
		0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26,
		0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
	};
	static const uint8_t iv[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
					0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };
	static const uint8_t idi[4] = { 192, 0, 2, 1 }, auth[32] = { 0x55 };
	static const struct ike_sk_ctx ctxs[] = {
		{ .encr = IKEV2_ENCR_AES_GCM_16, .keybits = 128, .ekey = key },
		{ .encr = IKEV2_ENCR_AES_GCM_16, .keybits = 256, .ekey = key },
		{ .encr = IKEV2_ENCR_AES_CBC,
		  .keybits = 128,
		  .integ = IKEV2_AUTH_HMAC_SHA2_256_128,
		  .ekey = key,
		  .akey = key + 16 },
		{ .encr = IKEV2_ENCR_AES_CBC,
		  .keybits = 256,
		  .integ = IKEV2_AUTH_HMAC_SHA2_512_256,
		  .ekey = key,
		  .akey = key },
	};
	struct ike_hdr hdr = {
		.spi_i = 0x0102030405060708ULL,
		.spi_r = 0x1112131415161718ULL,
		.exch = IKEV2_EXCH_IKE_AUTH,
		.flags = IKEV2_FLAG_INITIATOR,
		.mid = 1,
	};
	uint8_t buf[512], copy[512];

	for (size_t c = 0; c < N(ctxs); c++) {
		const struct ike_sk_ctx *sk = &ctxs[c];
		size_t iv_len = ike_encr_iv_len(sk->encr);
		size_t block = ike_encr_block_len(sk->encr);
		size_t icv = ike_sk_icv_len(sk->encr, sk->integ);

		/* Every inner length modulo the block size, via the Vendor ID. */
		for (size_t vlen = 0; vlen < 20; vlen++) {
			size_t inner = 12 + 40 + 4 + vlen, aad, pad; /* IDi, AUTH, V */
			struct ike_mb mb;
			struct ike_msg msg;
			const uint8_t *pt;
			int len, n;

			ike_mb_init(&mb, buf, sizeof(buf), &hdr);
			ike_mb_sk_begin(&mb, iv_len);
			ike_mb_id(&mb, IKEV2_PL_IDI, IKEV2_ID_IPV4_ADDR, idi, sizeof(idi));
			ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, auth, sizeof(auth));
			ike_mb_vendor(&mb, key, vlen);
			len = ike_mb_sk_seal(&mb, sk, iv);
			pad = (block - (inner + 1) % block) % block;
			CHECK_INT(len, 28 + 4 + iv_len + inner + pad + 1 + icv);
			if (len < 0)
				continue;
			CHECK_INT(get_be32(buf + 24), len);
			CHECK_INT(ike_msg_parse(&msg, buf, (size_t)len), 0);
			CHECK(msg.has_sk && msg.n_pl == 1);
			CHECK_INT(msg.sk_first, IKEV2_PL_IDI);
			CHECK_INT(msg.pl[0].len, len - 32);
			/* The IV went out as given. */
			CHECK_MEM(buf + 32, iv, iv_len);
			aad = msg.sk_off + IKEV2_GENHDR_LEN;
			CHECK_INT(aad, 32);

			memcpy(copy, buf, (size_t)len);
			n = ike_sk_open(sk, copy, aad, (size_t)len);
			CHECK_INT(n, inner + pad + 1);
			if (n <= 0)
				continue;
			pt = copy + aad + iv_len;
			/* Padding: Pad Length last, zeros before it, whole blocks. */
			CHECK_INT(pt[n - 1], pad);
			CHECK(pad < block);
			CHECK_INT((size_t)n % block, 0);
			for (size_t j = 0; j < pad; j++)
				CHECK(pt[inner + j] == 0);
			msg.raw = copy;
			CHECK_INT(ike_msg_parse_inner(&msg, pt, (size_t)n - pt[n - 1] - 1), 0);
			CHECK_INT(msg.n_pl, 3);
			if (msg.n_pl == 3) {
				struct ike_idp id;
				struct ike_auth a;

				CHECK_INT(ike_pl_id(&msg.pl[0], &id), 0);
				CHECK_MEM(id.data, idi, 4);
				CHECK_INT(ike_pl_auth(&msg.pl[1], &a), 0);
				CHECK_MEM(a.data, auth, sizeof(auth));
				CHECK(msg.pl[2].type == IKEV2_PL_VENDOR && msg.pl[2].len == vlen);
				CHECK(msg.pl[0].encrypted && msg.pl[2].encrypted);
			}

			/* One flipped bit anywhere, header included: the ICV says no. */
			for (size_t at = 0; at < (size_t)len; at += 7) {
				memcpy(copy, buf, (size_t)len);
				copy[at] ^= 0x10;
				CHECK_MSG(ike_sk_open(sk, copy, aad, (size_t)len) == -EBADMSG,
					  "ctx %zu: bit flip at %zu accepted", c, at);
			}
		}
	}

	/* An empty SK payload (liveness check), and one that does not fit. */
	{
		struct ike_mb mb;
		struct ike_msg msg;
		int len, n;

		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		ike_mb_sk_begin(&mb, 16);
		len = ike_mb_sk_seal(&mb, &ctxs[2], iv);
		/* Just the Pad Length octet, padded to one block. */
		CHECK_INT(len, 28 + 4 + 16 + 16 + 16);
		CHECK_INT(ike_msg_parse(&msg, buf, (size_t)len), 0);
		CHECK_INT(msg.sk_first, IKEV2_PL_NONE);
		n = ike_sk_open(&ctxs[2], buf, 32, (size_t)len);
		CHECK_INT(n, 16);
		CHECK_INT(buf[32 + 16 + 15], 15);
		CHECK_INT(ike_msg_parse_inner(&msg, buf + 48, 0), 0);
		CHECK_INT(msg.n_pl, 0);

		ike_mb_init(&mb, buf, 28 + 4 + 16 + 16 + 15, &hdr);
		ike_mb_sk_begin(&mb, 16);
		CHECK_INT(ike_mb_sk_seal(&mb, &ctxs[2], iv), -ENOSPC);
		ike_mb_init(&mb, buf, 30, &hdr);
		ike_mb_sk_begin(&mb, 16);
		CHECK_INT(ike_mb_sk_seal(&mb, &ctxs[0], iv), -ENOSPC);
		/* Sealing without an SK payload begun. */
		ike_mb_init(&mb, buf, sizeof(buf), &hdr);
		CHECK_INT(ike_mb_sk_seal(&mb, &ctxs[0], iv), -EINVAL);
	}
}

/* SKF (RFC 7383 section 2.5): where it stands for SK, and where it is unknown. */
static void test_skf(void)
{
	static const struct {
		uint8_t exch;
		const char *chain;
		int expect;
		bool frag;
		uint16_t num, total;
		uint8_t critical;
	} cases[] = {
		/* Fragment 2 of 3, 8 octets of IV and ciphertext: an SKF message. */
		{ IKEV2_EXCH_IKE_AUTH, "00 00 0010 0002 0003 0011223344556677", 0, true, 2, 3, 0 },
		/* Fragment 1 names the first inner payload; it is only recorded. */
		{ IKEV2_EXCH_INFORMATIONAL, "29 00 000c 0001 0001 00112233", 0, true, 1, 1, 0 },
		/* Fragment Number 0, or above the total: no such fragment. */
		{ IKEV2_EXCH_IKE_AUTH, "00 00 000c 0000 0003 00112233", -EINVAL, true, 0, 3, 0 },
		{ IKEV2_EXCH_IKE_AUTH, "00 00 000c 0004 0003 00112233", -EINVAL, true, 4, 3, 0 },
		/* Too short for Fragment Number and Total Fragments. */
		{ IKEV2_EXCH_IKE_AUTH, "00 00 0006 0001", -EINVAL, false, 0, 0, 0 },
		/* SKF, like SK, is last. */
		{ IKEV2_EXCH_IKE_AUTH, "29 00 000c 0001 0002 00112233 00 00 0008 00 00 4000", -EINVAL,
		  true, 1, 2, 0 },
		/* In IKE_SA_INIT it is an unknown payload: skipped, or refused when critical. */
		{ IKEV2_EXCH_IKE_SA_INIT, "00 00 000c 0001 0002 00112233", 0, false, 0, 0, 0 },
		{ IKEV2_EXCH_IKE_SA_INIT, "00 80 000c 0001 0002 00112233", 0, false, 0, 0, 53 },
	};
	uint8_t buf[256];
	struct ike_msg msg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = mk_msg(IKEV2_PL_SKF, cases[i].chain, buf, sizeof(buf));
		int err;

		buf[18] = cases[i].exch;
		err = ike_msg_parse(&msg, buf, len);
		CHECK_MSG(err == cases[i].expect, "skf case %zu: %d", i, err);
		if (err)
			continue;
		CHECK_MSG(msg.frag == cases[i].frag && msg.has_sk == cases[i].frag,
			  "skf case %zu", i);
		CHECK_INT(msg.frag_num, cases[i].num);
		CHECK_INT(msg.frag_total, cases[i].total);
		CHECK_INT(msg.unsupported_critical, cases[i].critical);
		if (cases[i].frag)
			CHECK_INT(msg.sk_off, IKEV2_HDR_LEN);
	}
}

int main(void)
{
	test_header();
	test_chain();
	test_inner();
	test_decoders();
	test_decoder_fields();
	test_nonce();
	test_sa();
	test_sa_limits();
	test_sa_roundtrip();
	test_ts_roundtrip();
	test_build_exact();
	test_build_all();
	test_build_overflow();
	test_sk();
	test_skf();
	return check_done("payload");
}
