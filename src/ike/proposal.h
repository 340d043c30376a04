/* SPDX-License-Identifier: ISC */
/*
 * SA proposals: the strongSwan proposal syntax users write in their config
 * ("aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048") and selection
 * between our proposals and the peer's (RFC 7296 section 2.7).
 *
 * A proposal holds its transforms as a flat list, as they appear on the
 * wire: several transforms of one type are alternatives, and a proposal is
 * acceptable if one transform of each type present can be chosen.
 */
#ifndef IKE_PROPOSAL_H
#define IKE_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

#define IKE_MAX_XFORMS 32
#define IKE_MAX_PROPOSALS 16

struct ike_xform {
	uint8_t type;     /* IKEV2_XF_* */
	uint16_t id;      /* IANA transform ID */
	uint16_t keybits; /* Key Length attribute, 0 if absent */
};

struct ike_proposal {
	uint8_t num;      /* proposal number, 1-based */
	uint8_t protocol; /* IKEV2_PROTO_IKE or IKEV2_PROTO_ESP */
	uint8_t spi_size; /* 0, 4 (ESP) or 8 (IKE rekey) */
	uint8_t spi[8];
	uint8_t n_xforms;
	/*
	 * Set by the parser when the proposal carries a transform type or a
	 * transform attribute we do not understand: such a proposal must not
	 * be chosen (section 3.3.6).
	 */
	bool unusable;
	struct ike_xform xf[IKE_MAX_XFORMS];
};

/* The outcome of a negotiation: one transform of each type. */
struct ike_suite {
	uint8_t protocol;
	uint16_t encr, encr_keybits;
	uint16_t prf;   /* 0 for ESP */
	uint16_t integ; /* 0 for AEAD */
	uint16_t dh;    /* 0 if none */
	uint16_t esn;   /* ESP only */
};

/*
 * Parse a comma-separated list of strongSwan-syntax proposals for
 * `protocol` (IKEV2_PROTO_IKE or IKEV2_PROTO_ESP) into out[0..max).
 * Keywords within one proposal are separated by '-'; several keywords of
 * the same type are alternatives.  Accepted keywords:
 *   encryption  aes128 aes192 aes256 (CBC), aes128gcm16 aes192gcm16
 *               aes256gcm16 (also aes128gcm128 ...), chacha20poly1305
 *   integrity   sha256 sha384 sha512 (also sha2_256 ...)
 *   prf         prfsha256 prfsha384 prfsha512
 *   dh          modp2048 modp3072 modp4096 ecp256 ecp384 ecp521
 *               x25519 curve25519 x448 curve448
 *   esn         esn noesn (ESP only)
 * IKE proposals need encryption and a DH group; a non-AEAD IKE proposal
 * without prf* takes its PRF from the integrity algorithms (sha256 ->
 * prfsha256), as strongSwan does.  AEAD and integrity algorithms may not
 * be mixed in one proposal.  ESP proposals without esn/noesn get noesn.
 * Returns the number of proposals (>= 1) or -EINVAL with a message naming
 * the offending keyword in err.
 */
int ike_proposals_parse(const char *str, uint8_t protocol,
			struct ike_proposal *out, size_t max,
			char *err, size_t errlen);

/*
 * Responder selection (section 2.7): our proposals are tried in our order
 * of preference; within one of ours, the peer's proposals in their order;
 * the first pair that agrees on one transform of every type wins.  Within a
 * type our preference order decides, except that for DH a group equal to
 * `ke_group` (the group of the peer's KE payload, 0 if none) is taken when
 * both sides allow it, so that no INVALID_KE_PAYLOAD round trip is needed.
 * With `no_dh` (first CHILD_SA in IKE_AUTH, section 1.2) DH transforms are
 * ignored on both sides and the suite has dh = 0.
 * On success fills *suite and *chosen (index into theirs) and returns 0;
 * -ENOENT if nothing matches.
 */
int ike_proposal_select(const struct ike_proposal *ours, size_t n_ours,
			const struct ike_proposal *theirs, size_t n_theirs,
			uint16_t ke_group, bool no_dh,
			struct ike_suite *suite, size_t *chosen);

/*
 * Initiator check of the responder's choice: `reply` must hold exactly one
 * transform of each type, and all of them must be among those we offered in
 * our proposal with the same number.  Fills *suite; -EINVAL otherwise.
 */
int ike_proposal_check_reply(const struct ike_proposal *ours, size_t n_ours,
			     const struct ike_proposal *reply, bool no_dh,
			     struct ike_suite *suite);

/* The proposal holding exactly `suite` (for the responder's reply). */
void ike_proposal_from_suite(const struct ike_suite *suite, uint8_t num,
			     struct ike_proposal *out);

/*
 * The neutral ESP algorithm (common/sa.h) of an IANA encryption or
 * integrity transform ID, as the backends take it; XK_ENC_NONE or
 * XK_INTEG_NONE for an ID no backend carries.
 */
enum xk_enc ike_xk_enc(uint16_t encr);
enum xk_integ ike_xk_integ(uint16_t integ);

/* "aes128gcm16-prfsha256-x25519" for logs and status. */
const char *ike_suite_str(const struct ike_suite *s, char *buf, size_t len);

#endif
