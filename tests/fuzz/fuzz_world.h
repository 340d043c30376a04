/* SPDX-License-Identifier: ISC */
/*
 * The schedule language of fuzz_world (fuzz_world.c), shared with the seed
 * generator (tools/fuzz-seeds.c) so that seeds and decoder never drift.
 *
 * An input is two header bytes, then up to FW_MAX_OPS operations, each an
 * opcode byte (taken modulo FW_N_OPS) and its operand bytes.  Reading past
 * the end yields zeros, so every byte string is a valid schedule.
 *
 *   byte 0   configuration, FW_CFG_* bits
 *   byte 1   seed of the deterministic random numbers (SPIs, nonces, keys)
 *
 * Operands named `who` pick a side and one of its IKE SAs: bit 0 the side
 * (0: peer a, 1: peer b), bits 1-7 the SA, modulo the number it has (in
 * the engine's list order, newest first).  `child` picks a CHILD_SA of
 * that SA the same way, whatever its state.
 */
#ifndef XK_FUZZ_WORLD_H
#define XK_FUZZ_WORLD_H

#define FW_MAX_OPS 64

/* Configuration byte. */
#define FW_CFG_PFS 0x01     /* ESP proposals with x25519: CREATE_CHILD_SA with KE */
#define FW_CFG_CBC 0x02     /* IKE SA with aes128-sha256 instead of AES-GCM */
#define FW_CFG_V6 0x04      /* the peers talk over IPv6 */
#define FW_CFG_COOKIE 0x08  /* responders always ask for a cookie (section 2.6) */
#define FW_CFG_TIMERS 0x10  /* IKE SA rekey after 600 s, reauthentication after 1800 s */
#define FW_CFG_FRAG 0x20    /* IKE fragmentation (RFC 7383) with 200-byte fragments */
#define FW_CFG_ASYNC 0x40   /* both engines hand their work out (ops.submit); FW_WORK completes it */
#define FW_CFG_LIFO 0x80    /* ... and world_run completes the newest work first */

enum fw_op {
	FW_INITIATE,     /* who: that side starts IKE_SA_INIT + IKE_AUTH */
	FW_CREATE_CHILD, /* who: a further CHILD_SA */
	FW_REKEY_CHILD,  /* who, child */
	FW_REKEY_IKE,    /* who */
	FW_REAUTH,       /* who */
	FW_DELETE_CHILD, /* who, child */
	FW_TERMINATE,    /* who: DELETE of the IKE SA */
	FW_LIVENESS,     /* who */
	FW_EXPIRE,       /* who, child, how: bit 0 hard, bit 1 the outbound SA */
	FW_DELIVER,      /* k: the k-th datagram in flight (modulo) is delivered */
	FW_DROP,         /* k: ... lost */
	FW_DUP,          /* k: ... duplicated (the copy goes last in line) */
	FW_SWAP,         /* k: ... swapped with the first in line */
	FW_HOLD,         /* k: ... taken off the wire, for FW_RELEASE */
	FW_RELEASE,      /* j: the j-th held datagram goes first in line again */
	FW_REPLAY,       /* h: a copy of the h-th most recent datagram seen goes last in line */
	FW_FLUSH,        /* deliver in order until nothing is in flight; the clock stands */
	FW_RUN,          /* t: deliver in order and run timers for t * 100 ms (world_run) */
	FW_CLOCK,        /* t: t * 100 ms pass; timers run, nothing is delivered */
	FW_CLOCK_LONG,   /* t: t * 10 s pass, the same way */
	FW_NONCE,        /* side (bit 0), b: that side's next nonce starts with octet b */
	/*
	 * who, how, payloads...: an encrypted message from that side's SA,
	 * sealed with its keys.  how: bits 0-1 message ID (0: the one the
	 * peer expects next, 1: that of the peer's outstanding request, 2: the
	 * one before the peer's next expected, 3: a literal octet follows),
	 * bit 2 response flag, bits 3-4 exchange (INFORMATIONAL,
	 * CREATE_CHILD_SA, IKE_AUTH, a literal octet follows), bits 5-7 the
	 * number of payloads, each an FW_PL_* octet and its operands.
	 */
	FW_FORGE,
	/*
	 * h, who, how, operands: the decrypted content of the h-th most recent
	 * encrypted datagram seen, sealed again.  who: bit 0 clear: by the SA
	 * that sent it (if it lives), set: by the SA bits 1-7 pick on the
	 * side that sent it.  how: bits 0-1 mutation (none; XOR at offset:
	 * off, val; truncate: off; 32 bits at offset: off, 4 octets),
	 * bits 2-3 message ID (keep; 0 and 1 of FW_FORGE; plus one), bit 4
	 * flips the response flag.
	 */
	FW_RESEAL,
	FW_RUN_LONG,     /* t: deliver in order and run timers for t * 10 s (world_run) */
	/*
	 * k: with FW_CFG_ASYNC, a pending work of side bit 0 (bits 1-7 pick
	 * it, modulo the number out) is run and completed, out of turn.
	 */
	FW_WORK,
	FW_N_OPS
};

/*
 * Payloads of FW_FORGE.  An SPI operand (spi) is one octet: bits 0-1 say
 * 0: zero, 1: the inbound SPI of the sender's CHILD_SA bits 2-7 pick (the
 * peer's outbound SPI, "the real one"), 2: its outbound SPI, 3: 4 literal
 * octets follow.
 */
enum fw_pl {
	FW_PL_DELETE_ESP, /* n: 1 + (n & 1) SPIs follow, each an spi operand */
	FW_PL_DELETE_IKE,
	FW_PL_NOTIFY,     /* t: fw_notifies[t % n]; REKEY_SA: an spi; INVALID_KE: a group octet */
	FW_PL_SA_ESP,     /* spi, f: bit 0 with the DH transform, bit 1 first proposal only */
	FW_PL_SA_IKE,     /* s: 0 zero SPI, else 8 literal octets follow */
	FW_PL_KE,         /* f: bit 0 a valid x25519 value (else junk), bit 1 group ecp256 */
	FW_PL_NONCE,      /* b: first octet of 32 */
	FW_PL_TS,         /* f: bit 0 the sender's configured selectors (else any), bit 1 swapped */
	FW_PL_RAW,        /* type, n: n % 33 literal octets follow */
	FW_N_PL
};

#endif
