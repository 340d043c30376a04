/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: the message parser and every typed decoder.
 *
 * The input is a datagram for ike_msg_parse(); every payload found goes
 * through every decoder, whatever its type.  The same bytes are also
 * parsed as a decrypted inner chain (byte 0: the first payload type).
 * Oracles besides the sanitizers: what parsed must survive a trip through
 * the builder unchanged (the payload list, SA proposals, TS selectors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(what)                                                                     \
	do {                                                                           \
		fprintf(stderr, "fuzz_parse: %s (%s:%d)\n", what, __FILE__, __LINE__); \
		abort();                                                               \
	} while (0)

static uint8_t out[IKE_MSG_MAX];

static bool proposals_eq(const struct ike_proposal *a, const struct ike_proposal *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].num != b[i].num || a[i].protocol != b[i].protocol ||
		    a[i].spi_size != b[i].spi_size ||
		    memcmp(a[i].spi, b[i].spi, a[i].spi_size) != 0 ||
		    a[i].n_xforms != b[i].n_xforms || a[i].unusable != b[i].unusable)
			return false;
		for (size_t j = 0; j < a[i].n_xforms; j++)
			if (a[i].xf[j].type != b[i].xf[j].type || a[i].xf[j].id != b[i].xf[j].id ||
			    a[i].xf[j].keybits != b[i].xf[j].keybits)
				return false;
	}
	return true;
}

/* Parse one payload built alone into `out`; the message must hold exactly it. */
static const struct ike_pl *reparse(struct ike_msg *m, struct ike_mb *mb)
{
	int len = ike_mb_finish(mb);

	if (len < 0)
		FAIL("rebuilt payload does not fit");
	if (ike_msg_parse(m, out, (size_t)len) != 0 || m->n_pl != 1)
		FAIL("rebuilt payload does not parse");
	return &m->pl[0];
}

/* Proposals that were understood completely come back from the builder as they were. */
static void sa_roundtrip(const struct ike_pl *pl)
{
	static struct ike_proposal a[IKE_MAX_PROPOSALS], b[IKE_MAX_PROPOSALS];
	struct ike_hdr hdr = { 0 };
	struct ike_mb mb;
	struct ike_msg m;
	int n = ike_pl_sa(pl, a, IKE_MAX_PROPOSALS);

	/* Unknown transforms are dropped and so cannot come back; a full table may be cut. */
	if (n <= 0 || n == IKE_MAX_PROPOSALS)
		return;
	for (int i = 0; i < n; i++)
		if (a[i].unusable)
			return;
	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_sa(&mb, a, (size_t)n);
	if (ike_pl_sa(reparse(&m, &mb), b, IKE_MAX_PROPOSALS) != n || !proposals_eq(a, b, n))
		FAIL("SA payload changed in a build/parse round trip");
}

static void ts_roundtrip(const struct ike_pl *pl)
{
	static struct xk_ts a[255], b[255];
	struct ike_hdr hdr = { 0 };
	struct ike_mb mb;
	struct ike_msg m;
	int n;

	memset(a, 0, sizeof(a));
	n = ike_pl_ts(pl, a, 255);
	if (n <= 0)
		return;
	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_ts(&mb, IKEV2_PL_TSI, a, (size_t)n);
	memset(b, 0, sizeof(b));
	if (ike_pl_ts(reparse(&m, &mb), b, 255) != n || memcmp(a, b, (size_t)n * sizeof(a[0])))
		FAIL("TS payload changed in a build/parse round trip");
}

static void decode_all(const struct ike_msg *msg)
{
	for (size_t i = 0; i < msg->n_pl; i++) {
		const struct ike_pl *pl = &msg->pl[i];
		struct ike_proposal props[4];
		struct ike_ke ke;
		struct ike_idp id;
		struct ike_auth auth;
		struct ike_notify n;
		struct ike_delete d;
		struct xk_ts ts[8];
		struct ike_cp_attr attrs[8];
		const uint8_t *p;
		size_t len;
		uint8_t u8;

		ike_pl_sa(pl, props, 4);
		ike_pl_ke(pl, &ke);
		ike_pl_id(pl, &id);
		ike_pl_auth(pl, &auth);
		ike_pl_nonce(pl, &p, &len);
		ike_pl_notify(pl, &n);
		ike_pl_delete(pl, &d);
		ike_pl_ts(pl, ts, 8);
		ike_pl_cp(pl, &u8, attrs, 8);
		ike_pl_cert(pl, &u8, &p, &len);
		sa_roundtrip(pl);
		ts_roundtrip(pl);
	}
}

/*
 * The payload list, rebuilt with the builder from what the parser found,
 * parses to the same list (unknown payloads, which were skipped, excepted).
 */
static void msg_roundtrip(const struct ike_msg *msg)
{
	static struct ike_msg m;
	struct ike_mb mb;
	int len;

	ike_mb_init(&mb, out, sizeof(out), &msg->hdr);
	for (size_t i = 0; i < msg->n_pl; i++) {
		const struct ike_pl *pl = &msg->pl[i];
		size_t start = ike_mb_begin(&mb, pl->type, pl->critical);

		bw_bytes(&mb.w, pl->body, pl->len);
		ike_mb_end(&mb, start);
		/* SK's (or, after IKE_SA_INIT, SKF's) Next Payload names the first inner one. */
		if ((pl->type == IKEV2_PL_SK || (pl->type == IKEV2_PL_SKF && msg->frag)) &&
		    bw_ok(&mb.w))
			out[start] = msg->sk_first;
	}
	len = ike_mb_finish(&mb);
	if (len < 0)
		return; /* a message larger than one datagram buffer */
	if (ike_msg_parse(&m, out, (size_t)len) != 0 || m.n_pl != msg->n_pl ||
	    m.has_sk != msg->has_sk || m.sk_first != msg->sk_first || m.frag != msg->frag ||
	    m.frag_num != msg->frag_num || m.frag_total != msg->frag_total ||
	    m.hdr.spi_i != msg->hdr.spi_i || m.hdr.mid != msg->hdr.mid)
		FAIL("message changed in a build/parse round trip");
	for (size_t i = 0; i < m.n_pl; i++)
		if (m.pl[i].type != msg->pl[i].type || m.pl[i].critical != msg->pl[i].critical ||
		    m.pl[i].len != msg->pl[i].len ||
		    memcmp(m.pl[i].body, msg->pl[i].body, m.pl[i].len) != 0)
			FAIL("payload changed in a build/parse round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_msg msg;
	struct ike_notify n;

	if (ike_msg_parse(&msg, data, size) == 0) {
		decode_all(&msg);
		ike_msg_notify(&msg, IKEV2_N_COOKIE, &n);
		ike_msg_find(&msg, IKEV2_PL_NONCE);
		ike_msg_count(&msg, IKEV2_PL_SA);
		msg_roundtrip(&msg);
		/* The SK payload's body as if it were the plaintext. */
		if (msg.has_sk) {
			const struct ike_pl *sk = &msg.pl[msg.n_pl - 1];
			size_t outer = msg.n_pl;

			if (ike_msg_parse_inner(&msg, sk->body, sk->len) == 0) {
				if (msg.n_pl < outer - 1)
					FAIL("inner parse lost outer payloads");
				decode_all(&msg);
			}
		}
	}

	/* The same bytes as a decrypted chain. */
	if (size >= 1) {
		memset(&msg, 0, sizeof(msg));
		msg.sk_first = data[0];
		if (ike_msg_parse_inner(&msg, data + 1, size - 1) == 0)
			decode_all(&msg);
	}
	return 0;
}
