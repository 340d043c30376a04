/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: what a peer can say once it holds the keys.  The input is the
 * decrypted content of an SK payload; it is sealed with the fixed keys of a
 * white-box responder SA (sk_world.h) and fed to the engine, which opens it
 * and runs the IKE_AUTH / INFORMATIONAL / CREATE_CHILD_SA responder on it.
 *
 * Input: byte 0 picks the exchange and the SA's state, byte 1 is the first
 * inner payload type, the rest is the inner plaintext.
 *   bits 0-1  0 IKE_AUTH, 1 INFORMATIONAL, 2 CREATE_CHILD_SA, 3 exchange 38
 *   bit 2     0: the SA as the exchange expects it (IKE_AUTH pending, or
 *               established by hand without CHILD_SA); 1: established by a
 *               real IKE_AUTH first, with a CHILD_SA (SPI 0xc1000001)
 *   bit 3     send the request twice (the retransmission path)
 * A fresh engine and SA per input keeps runs deterministic.
 */
#include <stdlib.h>

#include "common/log.h"
#include "ike/ikev2.h"
#include "sk_world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sk_world world;

static void discard(enum xk_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Format every log line (peer-chosen IDs go through them), print none. */
	xk_log_set_level(XK_LOG_DEBUG);
	if (!getenv("XIKE_FUZZ_LOG"))
		xk_log_set_sink(discard, NULL);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t exchanges[4] = {
		IKEV2_EXCH_IKE_AUTH,
		IKEV2_EXCH_INFORMATIONAL,
		IKEV2_EXCH_CREATE_CHILD_SA,
		38,
	};
	uint8_t mode, exch;
	uint32_t mid = 1;

	if (size < 2)
		return 0;
	mode = data[0];
	exch = exchanges[mode & 3];
	if (sk_world_init(&world) < 0)
		return 0;
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
	sk_world_free(&world);
	return 0;
}
