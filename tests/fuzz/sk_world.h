/* SPDX-License-Identifier: ISC */
/*
 * A responder engine holding one IKE SA built white-box (engine.h) with
 * fixed keys, nonces and IKE_SA_INIT messages, so that a test can seal SK
 * payloads of its choosing and the engine opens and processes them as if
 * a peer had sent them.  Used by fuzz_sk and by tools/fuzz-seeds.c.
 *
 * The SA: AES-GCM-16-128 with PRF HMAC-SHA2-256 and X25519 (never run),
 * IKE_SA_INIT done, waiting for IKE_AUTH with message ID 1.  The connection
 * accepts any peer with the PSK, any identity, ESP aes128gcm16 /
 * aes256gcm16 / aes128-sha256, transport mode if the initiator asks.
 */
#ifndef XK_TEST_SK_WORLD_H
#define XK_TEST_SK_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fake_kernel.h"
#include "ike/ike.h"

/* The SPI (host order) of the CHILD_SA the sk_world_auth_payloads() request asks for. */
#define SK_WORLD_CHILD_SPI 0xc1000001u

struct sk_world {
	struct ike_engine *e;
	struct fake_kernel k;
	uint64_t now;
	uint64_t spi_i, spi_r;
	struct xk_addr local, remote;
	unsigned sent; /* datagrams the engine sent */
	uint8_t buf[65535];
};

/* 0, or -ENOMEM; on failure nothing is left to free. */
int sk_world_init(struct sk_world *w);
void sk_world_free(struct sk_world *w);

/* The SA, or NULL once the engine has killed it. */
struct ike_sa *sk_world_sa(struct sk_world *w);

/*
 * Drive the SA by hand: INIT_DONE -> ESTABLISHED, as if IKE_AUTH had been
 * answered (no CHILD_SA), next request expected with message ID 2.
 */
void sk_world_establish(struct sk_world *w);

/*
 * Seal the inner payloads pt (first payload type `first`) as a request of
 * exchange `exch` from the initiator, with the keys the engine expects,
 * and deliver it.  -ENOENT if the SA is gone, -ENOSPC if pt is too long.
 */
int sk_world_request(struct sk_world *w, uint8_t exch, uint32_t mid, uint8_t first,
		     const uint8_t *pt, size_t len);

/*
 * The inner payloads of a valid IKE_AUTH request for this SA: IDi, AUTH
 * (computed with the fixed keys and PSK), [N(USE_TRANSPORT_MODE)], SAi2
 * with SPI SK_WORLD_CHILD_SPI, TSi and TSr covering everything.  Returns
 * the length and sets *first, or a negative errno.
 */
int sk_world_auth_payloads(struct sk_world *w, bool transport, uint8_t *first, uint8_t *out,
			   size_t cap);

#endif
