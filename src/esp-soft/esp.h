/* SPDX-License-Identifier: ISC */
/*
 * The pure half of esp-soft: the ESP packet transform (RFC 4303) of one SA
 * and its anti-replay window, with no sockets, no TUN and no tables.  The
 * backend (esp_soft.h) is built on these; tests and fuzzers call them
 * directly.
 *
 * An ESP packet, as built by esp_encap() and read by esp_decap():
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               Security Parameters Index (SPI)                 |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                Sequence Number (low 32 bits)                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        IV (8 bytes for GCM/ChaCha20-Poly1305, 16 for CBC)     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 Payload Data (variable)     ...               |  ^
 *  +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  | encrypted
 *  |               |     Padding (0-255 bytes): 1, 2, 3, ...       |  |
 *  +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  |
 *  |                               |  Pad Length   | Next Header   |  v
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Integrity Check Value (16 for AEAD, 16/24/32 HMAC)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * AEAD (RFC 4106 AES-GCM, RFC 7634 ChaCha20-Poly1305): nonce = salt (the
 * last 4 key bytes) | IV; AAD = SPI | Seq, or SPI | Seq-high | Seq-low with
 * ESN (RFC 4106 section 5).  The IV is the 64-bit sequence number, which
 * never repeats under one key (RFC 4106 section 3.1 asks only uniqueness).
 * AES-CBC (RFC 3602) + HMAC-SHA2 (RFC 4868): a random IV; the ICV is the
 * truncated HMAC over SPI | Seq | IV | ciphertext, followed by Seq-high
 * with ESN (RFC 4303 section 2.2.1), which is not sent.
 *
 * Threads: an SA may be used by several threads at once, each with its own
 * `slot` (0 .. n_slots-1): OpenSSL cipher contexts cannot be shared, so an
 * SA keeps one per slot, prepared on that slot's first packet and reused.
 * Sequence numbers (atomic) and the replay window (a spinlock) are shared.
 */
#ifndef ESP_SOFT_ESP_H
#define ESP_SOFT_ESP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "common/sa.h"

/* IP protocol numbers that ESP cares about (IANA). */
#define ESP_PROTO_ICMP 1
#define ESP_PROTO_IPIP 4   /* next header of an IPv4 packet in tunnel mode */
#define ESP_PROTO_TCP 6
#define ESP_PROTO_UDP 17
#define ESP_PROTO_IPV6 41  /* next header of an IPv6 packet in tunnel mode */
#define ESP_PROTO_ESP 50
#define ESP_PROTO_ICMPV6 58
#define ESP_PROTO_NONE 59  /* "no next header": a TFC dummy packet, RFC 4303 2.6 */

#define ESP_HDR_LEN 8        /* SPI + sequence number */
#define ESP_MAX_IV 16
#define ESP_MAX_ICV 32
/* Header, largest IV, 255 padding bytes, trailer and largest ICV. */
#define ESP_MAX_OVERHEAD (ESP_HDR_LEN + ESP_MAX_IV + 255 + 2 + ESP_MAX_ICV)

/* ---- anti-replay window (RFC 4303 3.4.3, bitmap as in RFC 6479) ---- */

#define ESP_REPLAY_MIN 64
#define ESP_REPLAY_MAX 4096
/* Bitmap words held inside the struct: enough for windows up to 64 (RFC
 * 6479 keeps one block more than the window, rounded to a power of two, so
 * sliding never clears a live bit).  Larger windows get their own block. */
#define ESP_REPLAY_INLINE 2

struct esp_replay {
	uint64_t top;    /* highest sequence number committed; 0: none yet */
	uint32_t window; /* packets, a multiple of 64; 0: no replay protection */
	uint32_t words;  /* bitmap words in use (power of two) */
	uint64_t *bmp;	 /* `words` words: `small`, or allocated */
	uint64_t small[ESP_REPLAY_INLINE];
};

/*
 * Window sizes are rounded up to a multiple of 64 and clamped to
 * [ESP_REPLAY_MIN, ESP_REPLAY_MAX]; 0 turns replay protection off, as it
 * does for a kernel SA (the highest number is still tracked, for ESN).
 * 0, or -ENOMEM.  The struct points into itself: do not copy it.
 */
int esp_replay_init(struct esp_replay *r, uint32_t window);
void esp_replay_free(struct esp_replay *r);

/*
 * The full 64-bit sequence number of a packet that carried `seq_lo`
 * (RFC 4303 Appendix A2.2).  Without ESN that is seq_lo itself.  0 when no
 * valid number fits (before the first, or past 2^64), which the check
 * rejects.
 */
uint64_t esp_replay_infer(const struct esp_replay *r, uint32_t seq_lo, bool esn);

/*
 * May `seq` be accepted?  0; -ESTALE if it is 0 or left of the window;
 * -EALREADY if it was seen.  Pure: changes nothing.  Call it before
 * spending crypto on a packet.
 */
int esp_replay_check(const struct esp_replay *r, uint64_t seq);

/*
 * Record `seq` as received, sliding the window if it is the highest.  Only
 * for a packet that authenticated.  It checks again (another thread may
 * have committed the same number meanwhile) and returns what check would.
 */
int esp_replay_commit(struct esp_replay *r, uint64_t seq);

/* ---- one SA's transform ---- */

struct esp_slot {
	EVP_CIPHER_CTX *cipher; /* keyed once, on the slot's first packet */
	EVP_MAC_CTX *mac;       /* HMAC, keyed once; NULL for AEAD */
	/*
	 * The slot's share of the SA's payload counters: one writer (the
	 * slot's thread), so a plain add instead of a locked one per packet;
	 * readers sum the slots (esp_sa_bytes/packets).
	 */
	_Atomic uint64_t bytes, packets;
	uint8_t pad[32]; /* a cache line's worth: slots of one SA do not share one */
};

struct esp_sa {
	struct xk_sa cfg; /* as installed, keys included; wiped on free */

	/* Derived from cfg by esp_sa_new(). */
	bool aead;
	bool gcm;        /* AES-GCM: the nonce goes in as a parameter (esp.c) */
	uint8_t iv_len, icv_len;
	uint8_t align;   /* the padded payload + trailer is a multiple of this */
	uint8_t salt[4]; /* AEAD nonce prefix */
	uint16_t key_len;
	EVP_CIPHER *evp_cipher; /* fetched once */
	EVP_MAC *evp_mac;       /* "HMAC", or NULL for AEAD */
	const char *digest;     /* for HMAC */

	/* Outbound: the last sequence number used, and the last allowed. */
	_Atomic uint64_t seq;
	uint64_t seq_max;

	/*
	 * Inbound: the replay window, under `lock` (a spinlock: held for a
	 * few dozen instructions, twice per packet).
	 */
	pthread_spinlock_t lock;
	struct esp_replay replay;

	/* Counters (relaxed atomics; any thread may add); bytes and packets per slot. */
	_Atomic uint32_t replay_drops, replay_window_drops, integrity_failures;

	/*
	 * Owned by the backend (sad.c, datapath.c), untouched here: table links,
	 * times and lifetime state.
	 */
	struct esp_sa *next_spi, *next_reqid;
	uint64_t add_time;        /* CLOCK_REALTIME seconds */
	uint64_t add_mono;        /* CLOCK_MONOTONIC seconds */
	_Atomic uint64_t use_time;
	_Atomic bool soft_fired, hard_fired, dead;
	struct xk_addr mapped;    /* last peer address reported (MAPPING) */

	unsigned n_slots;
	struct esp_slot slot[]; /* n_slots */
};

/*
 * Check `cfg` and prepare an SA for `n_slots` threads: -EINVAL for a key,
 * ICV or algorithm combination that is not a valid ESP transform,
 * -ENOTSUP for one this code does not carry (encryption NONE), -ENOMEM.
 * Supported: AES-GCM-16 with 128/192/256-bit keys + 4-byte salt,
 * ChaCha20-Poly1305 (32 + 4), AES-CBC 128/192/256 with HMAC-SHA2-256-128,
 * -384-192 or -512-256.
 */
int esp_sa_new(const struct xk_sa *cfg, unsigned n_slots, struct esp_sa **out);
/* Wipes the keys and frees the cipher contexts. */
void esp_sa_free(struct esp_sa *sa);

/* Where the payload starts in an ESP packet of this SA (header + IV). */
static inline size_t esp_payload_off(const struct esp_sa *sa)
{
	return ESP_HDR_LEN + sa->iv_len;
}

/* The length of the ESP packet that carries `len` bytes of payload. */
size_t esp_encap_len(const struct esp_sa *sa, size_t len);

/*
 * Encapsulate `len` bytes at `in` with next header `nh` into `out` (cap
 * bytes): a fresh sequence number, the IV, padding 1, 2, 3, ... (RFC 4303
 * 2.4), encryption and ICV, in one cipher pass over `out`.  Fastest when
 * `in` is already out + esp_payload_off(sa) (in place); otherwise the
 * payload is moved there first (overlap allowed).  Returns the length;
 * -EMSGSIZE if it does not fit in cap; -EOVERFLOW once the sequence numbers
 * are used up (RFC 4303 3.3.3: never cycle; a new SA is needed); -EIO if
 * the crypto library fails.
 */
int esp_encap(struct esp_sa *sa, unsigned slot, uint8_t nh, const uint8_t *in, size_t len,
	      uint8_t *out, size_t cap);

/* What esp_decap() found inside a packet. */
struct esp_plain {
	uint64_t seq;  /* full sequence number */
	uint8_t nh;    /* next header */
	size_t off;    /* payload offset in the packet (decrypted in place) */
	size_t len;    /* payload length, padding and trailer removed */
};

/*
 * Authenticate and decrypt one ESP packet in place, in the order of STYLE
 * #8: sequence number check, authentication + decryption, commit; then the
 * trailer.  0 and *pl filled, or (each counted where noted):
 *   -EMSGSIZE         too short for header, IV, trailer and ICV, or the
 *                     ciphertext is not whole cipher blocks
 *   -ENOENT           the SPI is not this SA's
 *   -ESTALE           left of the window (replay_window_drops)
 *   -EALREADY         a replay (replay_drops)
 *   -EBADMSG          the ICV does not verify (integrity_failures)
 *   -EPROTO           pad length too long or padding not 1, 2, 3, ...
 *   -EPROTONOSUPPORT  tunnel mode with a next header other than 4 or 41
 *   -ENODATA          next header 59: a dummy packet, to drop silently
 *   -EIO              the crypto library failed
 * The packet's bytes are undefined after a failure.
 */
int esp_decap(struct esp_sa *sa, unsigned slot, uint8_t *pkt, size_t len, struct esp_plain *pl);

/* Payload bytes and packets carried so far, over every slot (relaxed). */
uint64_t esp_sa_bytes(const struct esp_sa *sa);
uint64_t esp_sa_packets(const struct esp_sa *sa);

#endif
