/* SPDX-License-Identifier: ISC */
/*
 * IKEv2 cryptography over OpenSSL 3 EVP: PRFs and prf+ (RFC 7296 section
 * 2.13), the IKE and CHILD key schedules (2.14, 2.17), key exchange with
 * public-value validation, and the SK payload's ciphers (AES-GCM RFC 5282,
 * ChaCha20-Poly1305 RFC 7634, AES-CBC + HMAC-SHA2 RFC 3602 / RFC 4868).
 * Algorithms are named by their IANA transform IDs (ikev2.h).
 *
 * Errors are negative errno values: -ENOTSUP for an algorithm this file
 * does not implement, -EINVAL for bad input (including a peer public value
 * that fails validation), -EBADMSG for an ICV that does not verify,
 * -EIO for an OpenSSL failure.
 */
#ifndef IKE_CRYPTO_H
#define IKE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IKE_PRF_MAX 64   /* longest PRF output (SHA-512) */
#define IKE_KEY_MAX 64   /* longest SK_e / SK_a incl. salt */

/* --- PRF (HMAC-SHA2-256/384/512, RFC 4868) -------------------------- */

/* Output length of the PRF in bytes, 0 if unsupported. */
size_t ike_prf_len(uint16_t prf);
/* out receives ike_prf_len(prf) bytes. */
int ike_prf(uint16_t prf, const uint8_t *key, size_t klen,
	    const uint8_t *data, size_t dlen, uint8_t *out);
/* prf+ (section 2.13): out receives outlen bytes, outlen <= 255 * prf len. */
int ike_prf_plus(uint16_t prf, const uint8_t *key, size_t klen,
		 const uint8_t *seed, size_t slen, uint8_t *out, size_t outlen);

/* --- IKE SA key schedule (section 2.14) ------------------------------ */

struct ike_keys {
	uint8_t sk_d[IKE_PRF_MAX], sk_pi[IKE_PRF_MAX], sk_pr[IKE_PRF_MAX];
	uint8_t sk_ai[IKE_KEY_MAX], sk_ar[IKE_KEY_MAX];
	uint8_t sk_ei[IKE_KEY_MAX], sk_er[IKE_KEY_MAX];
	size_t prf_len; /* length of SK_d, SK_pi, SK_pr */
	size_t a_len;   /* length of SK_ai, SK_ar (0 for AEAD) */
	size_t e_len;   /* length of SK_ei, SK_er incl. salt */
};

/*
 * SKEYSEED = prf(Ni | Nr, g^ir) and {SK_d | SK_ai | SK_ar | SK_ei | SK_er |
 * SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
 * For AES-GCM/ChaCha20 with a fixed-length PRF key the PRF key is Ni | Nr
 * whole (section 2.14: "Ni and Nr are used as the key").
 * a_len / e_len: from ike_integ_key_len() / ike_encr_key_len().
 * SKEYSEED is wiped before returning; `out` must be wiped by the caller
 * (ike_keys_wipe).
 */
int ike_derive_ike_keys(uint16_t prf, const uint8_t *ni, size_t nilen,
			const uint8_t *nr, size_t nrlen,
			const uint8_t *gir, size_t girlen,
			uint64_t spi_i, uint64_t spi_r,
			size_t a_len, size_t e_len, struct ike_keys *out);

/*
 * For IKE SA rekey (section 2.18): SKEYSEED = prf(SK_d (old), g^ir (new) |
 * Ni | Nr), then the same prf+ as above with the new SPIs.
 * old_prf is the PRF of the old SA (used for SKEYSEED), prf the new one.
 */
int ike_derive_rekey_keys(uint16_t old_prf, const uint8_t *old_sk_d, size_t old_dlen,
			  uint16_t prf, const uint8_t *ni, size_t nilen,
			  const uint8_t *nr, size_t nrlen,
			  const uint8_t *gir, size_t girlen,
			  uint64_t spi_i, uint64_t spi_r,
			  size_t a_len, size_t e_len, struct ike_keys *out);

void ike_keys_wipe(struct ike_keys *k);

/*
 * CHILD_SA KEYMAT (section 2.17): prf+(SK_d, [g^ir (new) |] Ni | Nr).
 * gir may be NULL (no PFS).  out receives outlen bytes.
 */
int ike_child_keymat(uint16_t prf, const uint8_t *sk_d, size_t dlen,
		     const uint8_t *gir, size_t girlen,
		     const uint8_t *ni, size_t nilen,
		     const uint8_t *nr, size_t nrlen,
		     uint8_t *out, size_t outlen);

/* --- Key exchange ---------------------------------------------------- */

struct ike_dh;

bool ike_dh_supported(uint16_t group);
/* Length of the KE payload data for the group (RFC 7296 / 5903 / 8031). */
size_t ike_dh_pub_len(uint16_t group);
/* Length of the shared secret g^ir. */
size_t ike_dh_secret_len(uint16_t group);
/* A fresh key pair; NULL on failure (unsupported group or OpenSSL error). */
struct ike_dh *ike_dh_new(uint16_t group);
/*
 * A key pair from a given private value (known-answer tests only):
 * raw little-endian scalar for X25519/X448 (RFC 7748), big-endian
 * scalar for ECP and MODP.
 */
struct ike_dh *ike_dh_new_private(uint16_t group, const uint8_t *priv, size_t len);
uint16_t ike_dh_group(const struct ike_dh *dh);
/*
 * Our public value in wire format: MODP big-endian padded to the prime
 * length; ECP x | y each padded to the field length (RFC 5903 section 7,
 * no 0x04 prefix); X25519/X448 the raw u-coordinate (RFC 8031).
 * *len is in: buffer size, out: bytes written.
 */
int ike_dh_public(const struct ike_dh *dh, uint8_t *out, size_t *len);
/*
 * Validate the peer's public value and compute g^ir into out
 * (ike_dh_secret_len bytes; ECP: the x coordinate, RFC 5903 section 7).
 * Rejects: wrong length; MODP 0, 1, p-1 and >= p; ECP points not on the
 * curve or at infinity; X25519/X448 results that are all zero (RFC 8031
 * section 2.3).  Returns -EINVAL for a bad peer value.
 */
int ike_dh_derive(struct ike_dh *dh, const uint8_t *peer, size_t plen,
		  uint8_t *out, size_t *outlen);
/* Frees and wipes the private key. */
void ike_dh_free(struct ike_dh *dh);

/* --- SK payload ciphers ---------------------------------------------- */

bool ike_encr_supported(uint16_t encr, uint16_t keybits);
bool ike_encr_is_aead(uint16_t encr);
/* Key material needed (section 2.14): AES key, plus 4 salt bytes for
 * AES-GCM (RFC 5282 section 7.1) and ChaCha20-Poly1305 (RFC 7634). */
size_t ike_encr_key_len(uint16_t encr, uint16_t keybits);
/* Length of the IV on the wire: 16 for CBC, 8 for GCM and ChaCha20. */
size_t ike_encr_iv_len(uint16_t encr);
/* Block size the plaintext must be padded to (16 for CBC, 1 otherwise). */
size_t ike_encr_block_len(uint16_t encr);

bool ike_integ_supported(uint16_t integ);
size_t ike_integ_key_len(uint16_t integ);   /* 32 / 48 / 64 */
size_t ike_integ_icv_len(uint16_t integ);   /* 16 / 24 / 32 */

/* Length of the ICV of the SK payload for this encr/integ pair. */
size_t ike_sk_icv_len(uint16_t encr, uint16_t integ);

/* One direction's SK keys. */
struct ike_sk_ctx {
	uint16_t encr, keybits, integ; /* integ is 0 for AEAD */
	const uint8_t *ekey;           /* ike_encr_key_len bytes */
	const uint8_t *akey;           /* ike_integ_key_len bytes, or NULL */
};

/*
 * Seal an SK payload in place.  Layout of msg:
 *   [0, aad_len)                       IKE header + SK generic header
 *   [aad_len, +iv_len)                 IV, written here (random if iv NULL)
 *   [aad_len + iv_len, +pt_len)        plaintext, already padded by the
 *                                      caller (ends with the Pad Length byte)
 *   [.. + pt_len, +icv_len)            ICV, written here
 * AEAD: the AAD is msg[0, aad_len) (RFC 5282 section 5.1), the nonce is
 * salt | IV.  CBC: the ICV is the truncated HMAC over msg[0, aad_len +
 * iv_len + pt_len) (section 3.14).
 */
int ike_sk_seal(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len,
		size_t pt_len, const uint8_t *iv);

/*
 * Verify and decrypt an SK payload in place; msg_len is the whole message
 * (the SK payload must be last).  Verifies the ICV in constant time before
 * anything is decrypted (CBC) or released (AEAD).  On success returns the
 * plaintext length (including padding and the Pad Length byte), located at
 * msg + aad_len + iv_len.  -EBADMSG if the ICV does not verify, -EINVAL if
 * the lengths are impossible (e.g. CBC ciphertext not a block multiple).
 */
int ike_sk_open(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len,
		size_t msg_len);

/* --- misc -------------------------------------------------------------- */

/*
 * Cryptographically strong random bytes; 0 or -EIO.  ike_random() is for
 * values that go on the wire (nonces, SPIs, IVs): small requests are served
 * from a per-thread pool.  Keys and secrets take ike_random_secret().
 */
int ike_random(void *buf, size_t len);
int ike_random_secret(void *buf, size_t len);
/* SHA-1 (NAT detection, section 2.23) and SHA-256 (cookies). */
int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20]);
int ike_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif
