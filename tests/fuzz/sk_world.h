/* SPDX-License-Identifier: ISC */
/*
 * An engine holding IKE SAs built white-box (engine.h) with fixed keys,
 * nonces and IKE_SA_INIT messages, so that a test can seal SK payloads of
 * its choosing and the engine opens and processes them as if a peer had
 * sent them.  Used by fuzz_sk and by tools/fuzz-seeds.c.
 *
 * The responder SA (sk_world_init): AES-GCM-16-128 with PRF HMAC-SHA2-256
 * and X25519 (never run), IKE_SA_INIT done, waiting for IKE_AUTH with
 * message ID 1.  Its connection accepts any peer with the PSK, any
 * identity, ESP aes128gcm16 / aes256gcm16 / aes128-sha256, transport mode
 * if the initiator asks.
 *
 * The initiator SA (sk_world_add_initiator): the same suite and keys,
 * towards another peer (192.0.2.3), IKE_SA_INIT done and our IKE_AUTH out
 * with message ID 1; sk_world_auth_reply() answers it, which establishes
 * the SA with one CHILD_SA (transport mode, ESP aes128gcm16 / aes256gcm16,
 * with x25519 for rekeys if asked for).  The public calls of ike.h then put
 * further requests out on it (sk_world_call), and sk_world_respond() seals
 * the peer's answer to whatever request an SA has out.
 *
 * Nonces come from a counter (sk_world's ops->nonce), so that a run is the
 * same every time; SPIs of new IKE SAs and DH private values stay random.
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
/* The initiator SA's peer: its IKE SPI, and its SPI of the first CHILD_SA. */
#define SK_WORLD_PEER_SPI 0x1112131415161718ULL
#define SK_WORLD_PEER_CHILD_SPI 0xd1000001u

/* What sk_world_call() asks of an SA, through the public calls of ike.h. */
enum sk_world_req {
	SK_REQ_REKEY_CHILD,  /* ike_engine_rekey_child */
	SK_REQ_NEW_CHILD,    /* ike_engine_create_child */
	SK_REQ_REKEY_IKE,    /* ike_engine_rekey_ike */
	SK_REQ_DELETE_CHILD, /* ike_engine_delete_child */
	SK_REQ_DELETE_IKE,   /* ike_engine_terminate */
	SK_REQ_LIVENESS,     /* ike_engine_liveness */
	SK_REQ_REAUTH,       /* ike_engine_reauth */
	SK_REQ_EXPIRE,       /* ike_engine_expire, hard, of the inbound SA */
};

struct sk_world {
	struct ike_engine *e;
	struct fake_kernel k;
	uint64_t now;
	uint64_t spi_i, spi_r;  /* the responder SA */
	uint64_t ini_spi;       /* the initiator SA's (local) SPI, 0 if none */
	struct xk_addr local, remote, ini_remote;
	unsigned sent;          /* datagrams the engine sent */
	unsigned unchecked;     /* ... of which SK ones from SAs no longer there */
	uint32_t nonces;        /* nonces handed out */
	uint8_t buf[65535];
};

/*
 * For a fuzzer's start: every log line is formatted (peer-chosen values go
 * through them) and none printed, unless XIKE_FUZZ_LOG is set.
 */
void sk_world_quiet_logs(void);
/* 0, or -ENOMEM; on failure nothing is left to free. */
int sk_world_init(struct sk_world *w);
/*
 * Another connection like the responder SA's: the PSK both ways, or, with
 * trust, a signature from the peer checked against it.
 */
struct ike_trust;
int sk_world_add_conn(struct sk_world *w, const char *name, const struct ike_trust *trust);
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

/*
 * Add the initiator SA (see the top), with its own connection "ini"; `pfs`:
 * its ESP proposals carry x25519, so CHILD_SA exchanges carry KE.  The
 * IKE_AUTH request is out.  0, or a negative errno.
 */
int sk_world_add_initiator(struct sk_world *w, bool pfs);

/* The initiator SA, or NULL once the engine has killed it. */
struct ike_sa *sk_world_isa(struct sk_world *w);

/*
 * An SA to address a message to: 0 the initiator SA, n > 0 the n-th other
 * live SA, newest first (an IKE SA rekey's new SA comes before the old
 * ones).  NULL if there is none.
 */
struct ike_sa *sk_world_target(struct sk_world *w, unsigned n);

/*
 * The inner payloads of a valid IKE_AUTH response for the initiator SA:
 * IDr, AUTH, N(USE_TRANSPORT_MODE), SAr2 (the first ESP proposal, SPI
 * SK_WORLD_PEER_CHILD_SPI), TSi and TSr as asked for.  The length, *first
 * set, or a negative errno.
 */
int sk_world_auth_reply(struct sk_world *w, uint8_t *first, uint8_t *out, size_t cap);

/*
 * Seal the inner payloads pt as the peer's response to the request `sa`
 * has out (its exchange, message ID and SPIs, the Response flag) with the
 * keys sa expects, and deliver it.  An IKE_SA_INIT response goes unsealed
 * with SK_WORLD_PEER_SPI as responder SPI.  -EAGAIN if no request is out.
 */
int sk_world_respond(struct sk_world *w, struct ike_sa *sa, uint8_t first, const uint8_t *pt,
		     size_t len);

/*
 * Seal the inner payloads pt as a request of exchange `exch` from sa's peer
 * with message ID mid_expect + mid_delta, and deliver it.
 */
int sk_world_peer_request(struct sk_world *w, struct ike_sa *sa, uint8_t exch, int mid_delta,
			  uint8_t first, const uint8_t *pt, size_t len);

/*
 * Ask sa for one of our requests; CHILD_SA calls name the idx-th CHILD_SA
 * of sa.  What the public call returned (-ENOENT without such a CHILD_SA).
 */
int sk_world_call(struct sk_world *w, struct ike_sa *sa, enum sk_world_req req, unsigned idx);

/* Advance the clock by ms and run the timers that are due. */
void sk_world_tick(struct sk_world *w, uint64_t ms);

#endif
