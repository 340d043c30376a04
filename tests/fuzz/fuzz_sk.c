/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: what a peer can say once it holds the keys.  The input holds
 * decrypted contents of SK payloads; sk_world.h seals them with the fixed
 * keys of a white-box SA and feeds them to the engine, which opens them
 * and runs the exchange on them.  Byte 0 picks one of two modes.
 *
 * Responder (bit 4 of byte 0 clear): a request to the responder SA, which
 * runs the IKE_AUTH / INFORMATIONAL / CREATE_CHILD_SA responder on it.
 * Byte 1 is the first inner payload type, the rest is the inner plaintext.
 *   bits 0-1  0 IKE_AUTH, 1 INFORMATIONAL, 2 CREATE_CHILD_SA, 3 exchange 38
 *   bit 2     0: the SA as the exchange expects it (IKE_AUTH pending, or
 *               established by hand without CHILD_SA); 1: established by a
 *               real IKE_AUTH first, with a CHILD_SA (SPI 0xc1000001)
 *   bit 3     send the request twice (the retransmission path)
 *
 * Initiator (bit 4 set): the responses to our requests.  The initiator SA
 * has IKE_AUTH out; unless bits 0-2 say 6, a valid response establishes it
 * with one CHILD_SA and bits 0-2 put one request out through ike.h:
 *   bits 0-2  an enum sk_world_req (0 rekey the CHILD_SA, 1 a new one,
 *             2 rekey the IKE SA, 3 delete the CHILD_SA, 4 delete the IKE
 *             SA, 5 liveness), 6 none (IKE_AUTH stays out), 7 none
 *   bit 3     PFS: CHILD_SA proposals carry x25519 (KE in CREATE_CHILD_SA)
 * The rest is up to STEPS_MAX steps, each an op octet and what it needs;
 * `target` (op bits 2-3) is 0 for the initiator SA, n for the n-th other
 * SA, newest first (sk_world_target), and a step on none is skipped:
 *   op 0 (bits 0-1)  the peer's response to the request the target has
 *                    out: first payload type, length (16 bits), chain
 *   op 1             a request from the peer, exchange (bits 4-5) as in
 *                    the responder mode, message ID one back if bit 6:
 *                    first payload type, length (16 bits), chain
 *   op 2             the clock moves (op >> 2) + 1 seconds; timers run
 *   op 3             sk_world_call() of request (bits 4-6) on the target,
 *                    CHILD_SA calls on its second CHILD_SA if bit 7
 * A length beyond the input takes what is left.
 *
 * A fresh engine and SAs per input keep runs deterministic.
 */

#include "cert_fixture.h"
#include "ike/ikev2.h"
#include "sk_world.h"

#define MODE_INITIATOR 0x10
#define STEPS_MAX 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_world world;

static const uint8_t exchanges[4] = {
	IKEV2_EXCH_IKE_AUTH,
	IKEV2_EXCH_INFORMATIONAL,
	IKEV2_EXCH_CREATE_CHILD_SA,
	38,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sk_world_quiet_logs();
	return 0;
}

/* Establish the SA through a valid IKE_AUTH, as a peer would. */
static void pre_auth(struct sk_world *w)
{
	uint8_t pt[1024], first;
	int n = sk_world_auth_payloads(w, false, &first, pt, sizeof(pt));

	if (n > 0)
		sk_world_request(w, IKEV2_EXCH_IKE_AUTH, 1, first, pt, (size_t)n);
}

static void responder(const uint8_t *data, size_t size)
{
	uint8_t mode = data[0], exch = exchanges[mode & 3];
	uint32_t mid = 1;

	if (mode & 4) {
		pre_auth(&world);
		mid = 2;
	} else if (exch != IKEV2_EXCH_IKE_AUTH) {
		sk_world_establish(&world);
		mid = 2;
	}
	sk_world_request(&world, exch, mid, data[1], data + 2, size - 2);
	if (mode & 8)
		sk_world_request(&world, exch, mid, data[1], data + 2, size - 2);
}

static void initiator(const uint8_t *data, size_t size)
{
	unsigned req = data[0] & 7;
	uint8_t pt[1024], first;
	const uint8_t *p = data + 1, *end = data + size;
	int n;

	if (sk_world_add_initiator(&world, data[0] & 8) < 0)
		return;
	if (req != 6) {
		n = sk_world_auth_reply(&world, &first, pt, sizeof(pt));
		if (n < 0 || !sk_world_isa(&world))
			return;
		sk_world_respond(&world, sk_world_isa(&world), first, pt, (size_t)n);
		if (req < 6 && sk_world_isa(&world))
			sk_world_call(&world, sk_world_isa(&world), req, 0);
	}
	for (unsigned step = 0; step < STEPS_MAX && p < end; step++) {
		uint8_t op = *p++;
		struct ike_sa *sa = sk_world_target(&world, (op >> 2) & 3);
		size_t len;

		switch (op & 3) {
		case 0:
		case 1:
			if (end - p < 3)
				return;
			first = p[0];
			len = (size_t)p[1] << 8 | p[2];
			p += 3;
			if (len > (size_t)(end - p))
				len = (size_t)(end - p);
			if (sa && (op & 3) == 0)
				sk_world_respond(&world, sa, first, p, len);
			else if (sa)
				sk_world_peer_request(&world, sa, exchanges[(op >> 4) & 3],
						      op & 0x40 ? -1 : 0, first, p, len);
			p += len;
			break;
		case 2:
			sk_world_tick(&world, ((uint64_t)(op >> 2) + 1) * 1000);
			break;
		case 3:
			if (sa)
				sk_world_call(&world, sa, (op >> 4) & 7, op >> 7);
			break;
		}
	}
}

/*
 * A second connection that wants the peer's signature: an IKE_AUTH
 * request with a signature method picks it, and its CERT payloads go
 * through the certificate checks (auth.c) against fuzz_cert's CAs.
 */
static void add_cert_conn(struct sk_world *w)
{
	static struct cert_fixture fx;
	static bool fx_ready;

	if (!fx_ready) {
		cert_fixture_init(&fx);
		fx_ready = true;
	}
	sk_world_add_conn(w, "sk-cert", fx.trust);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (sk_world_init(&world) < 0)
		return 0;
	add_cert_conn(&world);
	if (data[0] & MODE_INITIATOR)
		initiator(data, size);
	else
		responder(data, size);
	sk_world_free(&world);
	return 0;
}
