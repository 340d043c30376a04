/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: IKE fragment reassembly (RFC 7383, src/ike/frag.c) as a peer
 * holding the keys can drive it.  The white-box SAs of sk_world.h have
 * fragmentation negotiated; the input is a run of SKF fragments sealed
 * with their real keys (so that they pass the ICV unless asked not to)
 * and clock ticks, in any order, numbering and sizes.
 *
 * Byte 0:
 *   bit 0  0: requests to the responder SA (established by hand, message
 *          ID 2 expected); 1: responses to the initiator SA's IKE_AUTH
 *          (message ID 1), whose reassembled chain the IKE_AUTH code reads
 *   bit 1  fragmentation not negotiated: every SKF must be dropped
 * Then up to STEPS_MAX steps, each an op octet:
 *   bits 0-1  0 a fragment, 1 a fragment with its ICV broken, 2 a fragment
 *             of the message ID before (a retransmission), 3 the clock
 *             moves (op >> 2) + 1 seconds and timers run
 *   bits 2-3  (fragments, requests) the exchange: INFORMATIONAL,
 *             CREATE_CHILD_SA, IKE_AUTH, 38
 * and for a fragment: Fragment Number (8 bits), Total Fragments (8 bits),
 * first payload type, length (16 bits), data (a length beyond the input
 * takes what is left).
 */
#include <stdlib.h>
#include <string.h>

#include "ike/engine.h"
#include "ike/ike_sa.h"
#include "ike/ikev2.h"
#include "sk_world.h"

#define STEPS_MAX 96

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_world world;

static const uint8_t exchanges[4] = {
    IKEV2_EXCH_INFORMATIONAL,
    IKEV2_EXCH_CREATE_CHILD_SA,
    IKEV2_EXCH_IKE_AUTH,
    38,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sk_world_quiet_logs();
	return 0;
}

/* One SKF fragment from sa's peer, sealed with the keys sa opens with. */
static void fragment(struct sk_world *w, struct ike_sa *sa, bool response, uint8_t exch,
		     uint32_t mid, uint16_t num, uint16_t total, uint8_t first, const uint8_t *pt,
		     size_t len, bool bad_icv)
{
	static uint8_t buf[70000];
	struct xk_addr local = sa->local, remote = sa->remote;
	struct ike_hdr hdr = {
	    .spi_i = sa->spi_i,
	    .spi_r = sa->spi_r,
	    .exch = exch,
	    /* From the peer: its Initiator flag is the opposite of ours. */
	    .flags = (uint8_t)((sa->initiator ? 0 : IKEV2_FLAG_INITIATOR) |
			       (response ? IKEV2_FLAG_RESPONSE : 0)),
	    .mid = mid,
	};
	struct ike_sk_ctx sk;
	struct ike_mb mb;
	int n;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_skf_begin(&mb, ike_encr_iv_len(sa->suite.encr), num, total, first);
	bw_bytes(&mb.w, pt, len);
	if (!bw_ok(&mb.w))
		return;
	ike_sa_sk_ctx(sa, false, &sk);
	n = ike_mb_sk_seal(&mb, &sk, NULL);
	if (n < 0)
		return;
	if (bad_icv)
		buf[n - 1] ^= 0x80;
	ike_engine_input(w->e, &local, &remote, buf, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1, *end = data + size;
	bool ini;
	uint32_t mid;

	if (size < 1)
		return 0;
	if (sk_world_init(&world) < 0)
		return 0;
	ini = data[0] & 1;
	if (ini) {
		if (sk_world_add_initiator(&world, false) < 0)
			goto out;
		mid = 1;
	} else {
		sk_world_establish(&world);
		mid = 2;
	}
	{
		struct ike_sa *sa = ini ? sk_world_isa(&world) : sk_world_sa(&world);

		if (!sa)
			goto out;
		sa->frag = !(data[0] & 2);
	}
	for (unsigned step = 0; step < STEPS_MAX && p < end; step++) {
		uint8_t op = *p++, kind = op & 3;
		struct ike_sa *sa = ini ? sk_world_isa(&world) : sk_world_sa(&world);
		uint16_t num, total;
		uint8_t first;
		size_t len;

		if (kind == 3) {
			sk_world_tick(&world, ((uint64_t)(op >> 2) + 1) * 1000);
			continue;
		}
		if (end - p < 5)
			break;
		num = p[0];
		total = p[1];
		first = p[2];
		len = (size_t)p[3] << 8 | p[4];
		p += 5;
		if (len > (size_t)(end - p))
			len = (size_t)(end - p);
		if (sa)
			fragment(&world, sa, ini,
				 ini ? IKEV2_EXCH_IKE_AUTH : exchanges[(op >> 2) & 3],
				 kind == 2 ? mid - 1 : mid, num, total, first, p, len, kind == 1);
		p += len;
		/* The window moved on: follow it, as a peer would. */
		sa = ini ? sk_world_isa(&world) : sk_world_sa(&world);
		if (sa && !ini)
			mid = sa->mid_expect;
		if (sa && (data[0] & 2))
			/* Nothing fragmented can have been taken in. */
			if (sa->frx[0] || sa->frx[1])
				abort();
	}
out:
	sk_world_free(&world);
	return 0;
}
