/* SPDX-License-Identifier: ISC */
/*
 * Parsing and building IKEv2 messages (RFC 7296 section 3).
 *
 * Parsing happens in two steps.  ike_msg_parse() validates the header and
 * walks the chain of generic payload headers, recording where each payload's
 * body lies; nothing inside a body is looked at yet.  The typed decoders
 * below then validate one body each, completely, before the caller uses any
 * field.  All reads go through the bounded reader of common/bytes.h.
 *
 * Building appends payloads to a `struct ike_mb`, which patches each
 * previous Next Payload field and each length as it goes.  An encrypted
 * message is built in place: SK header, IV, inner payloads, padding, ICV,
 * then sealed.
 */
#ifndef IKE_PAYLOAD_H
#define IKE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/sa.h"
#include "ike/crypto.h"
#include "ike/ikev2.h"
#include "ike/proposal.h"

#define IKE_MAX_PAYLOADS 64
#define IKE_MSG_MAX 65535

struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t next;
	uint8_t version;
	uint8_t exch;
	uint8_t flags;
	uint32_t mid;
	uint32_t length;
};

struct ike_pl {
	uint8_t type;
	bool critical;
	bool encrypted; /* found inside the SK payload */
	const uint8_t *body;
	uint16_t len;
};

struct ike_msg {
	struct ike_hdr hdr;
	const uint8_t *raw;
	size_t raw_len;
	struct ike_pl pl[IKE_MAX_PAYLOADS];
	size_t n_pl;
	/* Where the SK payload lies, if present (always last). */
	bool has_sk;
	uint8_t sk_first;  /* Next Payload of the SK header: first inner type */
	size_t sk_off;     /* offset of the SK generic header in raw */
	/* The first unknown payload with the critical bit set, 0 if none. */
	uint8_t unsupported_critical;
	/* The SK payload verified: the peer really sent this. */
	bool authenticated;
	/* An SKF payload (RFC 7383) in place of SK: which fragment of how many. */
	bool frag;
	uint16_t frag_num, frag_total;
	/* Reassembled: hash of fragment 1 as received, for retransmissions. */
	uint8_t frag1_hash[16];
	/* The decrypted inner payloads (ike_msg_parse_inner), as parsed. */
	const uint8_t *inner;
	size_t inner_len;
	/*
	 * A request's key for the response cache (window.c: a hash of it, or
	 * of its fragment 1), kept with the message when its answer waits.
	 */
	uint8_t req_key[16];
};

/* Reasons a parse can fail, for counters and the caller's notify choice. */
#define IKE_PARSE_OK 0
#define IKE_PARSE_VERSION (-1000) /* major version is not 2 (section 2.5) */

/*
 * Validate the header: length >= 28, the Length field equals the datagram
 * length, major version 2.  Returns 0, IKE_PARSE_VERSION or -EINVAL.
 */
int ike_hdr_parse(const uint8_t *buf, size_t len, struct ike_hdr *hdr);

/*
 * Parse header and payload chain.  The message keeps pointers into buf.
 * Payloads after the SK payload are not parsed; call ike_msg_parse_inner()
 * once the SK payload is decrypted.  -EINVAL on any malformation: a payload
 * shorter than its header or longer than what is left, an IKEv1 payload
 * type (1-32), a second SK payload or one that is not last, bytes left
 * after the last payload, too many payloads.
 */
int ike_msg_parse(struct ike_msg *msg, const uint8_t *buf, size_t len);

/* Parse the decrypted inner chain (pt, ptlen: without padding). */
int ike_msg_parse_inner(struct ike_msg *msg, const uint8_t *pt, size_t ptlen);

/* The first payload of a type, or NULL; and the count of a type. */
const struct ike_pl *ike_msg_find(const struct ike_msg *msg, uint8_t type);
size_t ike_msg_count(const struct ike_msg *msg, uint8_t type);

/* ---- typed decoders: each validates the whole body ---- */

/*
 * SA payload (section 3.3).  Fills up to max proposals, returns how many
 * were stored, or -EINVAL for a malformed payload.  A proposal with an
 * unknown protocol, transform type or attribute is kept but marked
 * `unusable` (section 3.3.6: the responder must not choose it).
 */
int ike_pl_sa(const struct ike_pl *pl, struct ike_proposal *out, size_t max);
/* A responder's SA payload: exactly one proposal (section 3.3), else -EINVAL. */
int ike_pl_sa_one(const struct ike_pl *pl, struct ike_proposal *out);

struct ike_ke {
	uint16_t group;
	const uint8_t *data;
	size_t len;
};
int ike_pl_ke(const struct ike_pl *pl, struct ike_ke *out);

/* IDi / IDr (section 3.5); `body` covers ID Type .. data, as signed in AUTH. */
struct ike_idp {
	uint8_t type;
	const uint8_t *data;
	size_t len;
	const uint8_t *body;
	size_t body_len;
};
int ike_pl_id(const struct ike_pl *pl, struct ike_idp *out);

struct ike_auth {
	uint8_t method;
	const uint8_t *data;
	size_t len;
};
int ike_pl_auth(const struct ike_pl *pl, struct ike_auth *out);

/* Nonce: 16..256 octets (section 3.9). */
int ike_pl_nonce(const struct ike_pl *pl, const uint8_t **data, size_t *len);

struct ike_notify {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t len;
};
int ike_pl_notify(const struct ike_pl *pl, struct ike_notify *out);
/* The first notify of a type in the message, decoded; false if none. */
bool ike_msg_notify(const struct ike_msg *msg, uint16_t type, struct ike_notify *out);

struct ike_delete {
	uint8_t proto;
	uint8_t spi_size;
	uint16_t n_spi;
	const uint8_t *spis; /* n_spi * spi_size bytes */
};
int ike_pl_delete(const struct ike_pl *pl, struct ike_delete *out);

/*
 * TSi / TSr (section 3.13).  Stores up to max selectors, returns how many
 * the payload holds (which may be more), or -EINVAL.  Selector types other
 * than IPv4/IPv6 ranges make the payload invalid for us (-ENOTSUP).
 */
int ike_pl_ts(const struct ike_pl *pl, struct xk_ts *out, size_t max);

struct ike_cp_attr {
	uint16_t type;
	const uint8_t *value;
	size_t len;
};
/* CP (section 3.15): fills up to max attributes, returns the count. */
int ike_pl_cp(const struct ike_pl *pl, uint8_t *cfg_type,
	      struct ike_cp_attr *out, size_t max);

/* CERT / CERTREQ (sections 3.6, 3.7). */
int ike_pl_cert(const struct ike_pl *pl, uint8_t *encoding,
		const uint8_t **data, size_t *len);

/* ---- building ---- */

struct ike_mb {
	struct bw w;
	size_t next_off; /* offset of the Next Payload byte to patch */
	size_t sk_start; /* offset of the SK generic header, 0 if none */
	size_t sk_hdr_len; /* SK: 4, SKF: 8 (its numbers are authenticated too) */
	size_t iv_len;
};

void ike_mb_init(struct ike_mb *mb, uint8_t *buf, size_t cap,
		 const struct ike_hdr *hdr);
/* Start a payload: returns the offset of its generic header. */
size_t ike_mb_begin(struct ike_mb *mb, uint8_t type, bool critical);
void ike_mb_end(struct ike_mb *mb, size_t start);

void ike_mb_sa(struct ike_mb *mb, const struct ike_proposal *props, size_t n);
void ike_mb_ke(struct ike_mb *mb, uint16_t group, const uint8_t *data, size_t len);
void ike_mb_id(struct ike_mb *mb, uint8_t pl_type, uint8_t id_type,
	       const uint8_t *data, size_t len);
void ike_mb_auth(struct ike_mb *mb, uint8_t method, const uint8_t *data, size_t len);
void ike_mb_nonce(struct ike_mb *mb, const uint8_t *data, size_t len);
void ike_mb_notify(struct ike_mb *mb, uint8_t proto, const uint8_t *spi,
		   uint8_t spi_size, uint16_t type, const uint8_t *data, size_t len);
void ike_mb_delete(struct ike_mb *mb, uint8_t proto, uint8_t spi_size,
		   const uint8_t *spis, uint16_t n);
void ike_mb_ts(struct ike_mb *mb, uint8_t pl_type, const struct xk_ts *ts, size_t n);
void ike_mb_vendor(struct ike_mb *mb, const uint8_t *data, size_t len);
void ike_mb_cert(struct ike_mb *mb, uint8_t pl_type, uint8_t encoding,
		 const uint8_t *data, size_t len);

/* Open the SK payload: inner payloads follow until ike_mb_sk_seal(). */
void ike_mb_sk_begin(struct ike_mb *mb, size_t iv_len);
/*
 * Open an SKF payload (RFC 7383 section 2.5) instead: fragment num of
 * total; first is the inner chain's first payload type (kept in fragment
 * 1 only).  The fragment's bytes follow, then ike_mb_sk_seal().
 */
void ike_mb_skf_begin(struct ike_mb *mb, size_t iv_len, uint16_t num, uint16_t total,
		      uint8_t first);
/*
 * Pad, reserve the ICV, fix all lengths and encrypt in place.  iv may be
 * NULL (random).  Returns the message length or a negative errno.
 */
int ike_mb_sk_seal(struct ike_mb *mb, const struct ike_sk_ctx *sk, const uint8_t *iv);
/* For an unencrypted message: fix the header length; returns it or -ENOSPC. */
int ike_mb_finish(struct ike_mb *mb);

#endif
