/* SPDX-License-Identifier: ISC */
/*
 * The SK payload's ciphers (RFC 7296 section 3.14): AES-GCM (RFC 5282) and
 * ChaCha20-Poly1305 (RFC 7634) as AEAD, AES-CBC (RFC 3602) with a truncated
 * HMAC-SHA2 ICV (RFC 4868).  The ICV is verified, in constant time, before
 * anything is decrypted or released.
 */
#include "crypto.h"
#include "crypto_evp.h"

#include "ikev2.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* --- SK payload ciphers ------------------------------------------------- */

#define AEAD_SALT_LEN 4 /* RFC 5282 section 7.1, RFC 7634 section 2 */
#define AEAD_IV_LEN 8
#define AEAD_TAG_LEN 16
#define CBC_BLOCK 16
#define ICV_MAX 64
/* Lengths are handed to OpenSSL as int; leave room for IV and ICV. */
#define SK_MSG_MAX ((size_t)INT_MAX - 128)

static const char *encr_cipher(uint16_t encr, uint16_t keybits)
{
	switch (encr) {
	case IKEV2_ENCR_AES_CBC:
		switch (keybits) {
		case 128: return "AES-128-CBC";
		case 192: return "AES-192-CBC";
		case 256: return "AES-256-CBC";
		}
		return NULL;
	case IKEV2_ENCR_AES_GCM_16:
		switch (keybits) {
		case 128: return "AES-128-GCM";
		case 192: return "AES-192-GCM";
		case 256: return "AES-256-GCM";
		}
		return NULL;
	case IKEV2_ENCR_CHACHA20_POLY1305:
		/* RFC 7634 section 2: no Key Length attribute, 256 bits. */
		return keybits == 0 || keybits == 256 ? "ChaCha20-Poly1305" : NULL;
	}
	return NULL;
}

/* The cipher key alone, without the AEAD salt. */
static size_t encr_cipher_key_len(uint16_t encr, uint16_t keybits)
{
	if (!encr_cipher(encr, keybits))
		return 0;
	return encr == IKEV2_ENCR_CHACHA20_POLY1305 ? 32 : keybits / 8u;
}

bool ike_encr_supported(uint16_t encr, uint16_t keybits)
{
	return encr_cipher(encr, keybits) != NULL;
}

bool ike_encr_is_aead(uint16_t encr)
{
	switch (encr) {
	case IKEV2_ENCR_AES_GCM_8:
	case IKEV2_ENCR_AES_GCM_12:
	case IKEV2_ENCR_AES_GCM_16:
	case IKEV2_ENCR_CHACHA20_POLY1305:
		return true;
	}
	return false;
}

size_t ike_encr_key_len(uint16_t encr, uint16_t keybits)
{
	size_t klen = encr_cipher_key_len(encr, keybits);

	if (!klen)
		return 0;
	return ike_encr_is_aead(encr) ? klen + AEAD_SALT_LEN : klen;
}

size_t ike_encr_iv_len(uint16_t encr)
{
	if (encr == IKEV2_ENCR_AES_CBC)
		return CBC_BLOCK;
	return ike_encr_is_aead(encr) ? AEAD_IV_LEN : 0;
}

size_t ike_encr_block_len(uint16_t encr)
{
	return encr == IKEV2_ENCR_AES_CBC ? CBC_BLOCK : 1;
}

bool ike_integ_supported(uint16_t integ)
{
	return ike_integ_md(integ) != IKE_MD_NONE;
}

size_t ike_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return 32;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return 48;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return 64;
	}
	return 0;
}

size_t ike_integ_icv_len(uint16_t integ)
{
	/* RFC 4868 section 2.3: truncated to half the digest. */
	return ike_integ_key_len(integ) / 2;
}

size_t ike_sk_icv_len(uint16_t encr, uint16_t integ)
{
	if (encr == IKEV2_ENCR_AES_GCM_16 || encr == IKEV2_ENCR_CHACHA20_POLY1305)
		return AEAD_TAG_LEN;
	if (encr == IKEV2_ENCR_AES_CBC)
		return ike_integ_icv_len(integ);
	return 0;
}

/* The truncated HMAC of section 3.14 over msg[0, len). */
static int sk_icv(const struct ike_sk_ctx *c, const uint8_t *msg, size_t len, uint8_t *icv)
{
	struct ike_span in = { msg, len };
	uint8_t full[ICV_MAX];
	/* RFC 4868 section 2.1: key and full MAC are both the digest size. */
	size_t dlen = ike_integ_key_len(c->integ);
	int ret;

	ret = ike_hmac_once(ike_integ_md(c->integ), c->akey, dlen, &in, 1, full, dlen);
	if (!ret)
		memcpy(icv, full, ike_integ_icv_len(c->integ));
	return ret;
}

/*
 * AEAD seal/open.  The nonce is salt | IV (RFC 5282 section 4, RFC 7634
 * section 2), the AAD the IKE header and SK header (RFC 5282 section 5.1).
 */
static int aead_seal(const struct ike_sk_ctx *c, const char *name, uint8_t *msg,
		     size_t aad_len, size_t pt_len)
{
	size_t klen = encr_cipher_key_len(c->encr, c->keybits);
	uint8_t *iv = msg + aad_len, *pt = iv + AEAD_IV_LEN;
	uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN];
	const EVP_CIPHER *cipher = ike_cipher_get(name);
	EVP_CIPHER_CTX *ctx = NULL;
	int outl, ret = -EIO;

	memcpy(nonce, c->ekey + klen, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx || EVP_EncryptInit_ex2(ctx, cipher, c->ekey, nonce, NULL) != 1)
		goto out;
	if (aad_len && EVP_EncryptUpdate(ctx, NULL, &outl, msg, (int)aad_len) != 1)
		goto out;
	if (pt_len && EVP_EncryptUpdate(ctx, pt, &outl, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, pt + pt_len, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, pt + pt_len) != 1)
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	EVP_CIPHER_CTX_free(ctx); /* the provider clears the key schedule */
	return ret;
}

static int aead_open(const struct ike_sk_ctx *c, const char *name, uint8_t *msg,
		     size_t aad_len, size_t ct_len)
{
	size_t klen = encr_cipher_key_len(c->encr, c->keybits);
	uint8_t *iv = msg + aad_len, *ct = iv + AEAD_IV_LEN, *tag = ct + ct_len;
	uint8_t nonce[AEAD_SALT_LEN + AEAD_IV_LEN];
	const EVP_CIPHER *cipher = ike_cipher_get(name);
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t *tmp;
	int outl, ret = -EIO;

	memcpy(nonce, c->ekey + klen, AEAD_SALT_LEN);
	memcpy(nonce + AEAD_SALT_LEN, iv, AEAD_IV_LEN);
	/* Decrypt aside: nothing unauthenticated reaches msg. */
	tmp = OPENSSL_malloc(ct_len ? ct_len : 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!tmp || !cipher || !ctx ||
	    EVP_DecryptInit_ex2(ctx, cipher, c->ekey, nonce, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) != 1)
		goto out;
	if (aad_len && EVP_DecryptUpdate(ctx, NULL, &outl, msg, (int)aad_len) != 1)
		goto out;
	outl = 0;
	if (ct_len && EVP_DecryptUpdate(ctx, tmp, &outl, ct, (int)ct_len) != 1)
		goto out;
	/* The tag is compared in constant time by the provider. */
	if (EVP_DecryptFinal_ex(ctx, tmp + outl, &outl) != 1) {
		ERR_clear_error();
		ret = -EBADMSG;
		goto out;
	}
	if (ct_len)
		memcpy(ct, tmp, ct_len);
	ret = (int)ct_len;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	OPENSSL_clear_free(tmp, ct_len ? ct_len : 1);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* AES-CBC (RFC 3602) without OpenSSL padding: IKE pads itself. */
static int cbc_crypt(const char *name, const uint8_t *key, const uint8_t *iv,
		     uint8_t *buf, size_t len, int enc)
{
	const EVP_CIPHER *cipher = ike_cipher_get(name);
	EVP_CIPHER_CTX *ctx;
	int outl = 0, fin = 0, ret = -EIO;

	ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx || EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len) != 1 ||
	    EVP_CipherFinal_ex(ctx, buf + outl, &fin) != 1 || (size_t)outl + (size_t)fin != len)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int ike_sk_seal(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len,
		size_t pt_len, const uint8_t *iv)
{
	const char *name = encr_cipher(c->encr, c->keybits);
	size_t iv_len = ike_encr_iv_len(c->encr);
	bool aead = ike_encr_is_aead(c->encr);
	uint8_t *ivp, *pt;
	int ret;

	if (!name || (!aead && !ike_integ_supported(c->integ)))
		return -ENOTSUP;
	if (!c->ekey || (!aead && !c->akey))
		return -EINVAL;
	if (aad_len > SK_MSG_MAX || pt_len > SK_MSG_MAX - aad_len)
		return -EINVAL;
	/* Section 3.14: the padded plaintext fills whole cipher blocks. */
	if (!aead && (pt_len == 0 || pt_len % CBC_BLOCK))
		return -EINVAL;
	ivp = msg + aad_len;
	pt = ivp + iv_len;
	if (iv)
		memmove(ivp, iv, iv_len);
	else if (ike_random(ivp, iv_len))
		return -EIO;
	if (aead)
		return aead_seal(c, name, msg, aad_len, pt_len);
	ret = cbc_crypt(name, c->ekey, ivp, pt, pt_len, 1);
	if (ret)
		return ret;
	return sk_icv(c, msg, aad_len + iv_len + pt_len, pt + pt_len);
}

int ike_sk_open(const struct ike_sk_ctx *c, uint8_t *msg, size_t aad_len, size_t msg_len)
{
	const char *name = encr_cipher(c->encr, c->keybits);
	size_t iv_len = ike_encr_iv_len(c->encr);
	size_t icv_len = ike_sk_icv_len(c->encr, c->integ);
	bool aead = ike_encr_is_aead(c->encr);
	uint8_t icv[ICV_MAX];
	size_t ct_len;
	int ret;

	if (!name || (!aead && !ike_integ_supported(c->integ)))
		return -ENOTSUP;
	if (!c->ekey || (!aead && !c->akey))
		return -EINVAL;
	/* Too short to hold the IV and ICV, or too long for OpenSSL's ints. */
	if (msg_len > SK_MSG_MAX || msg_len < aad_len || msg_len - aad_len < iv_len + icv_len)
		return -EINVAL;
	ct_len = msg_len - aad_len - iv_len - icv_len;
	if (aead)
		return aead_open(c, name, msg, aad_len, ct_len);
	/* Section 3.14: CBC ciphertext is whole blocks, at least one. */
	if (ct_len == 0 || ct_len % CBC_BLOCK)
		return -EINVAL;
	/* Verify before decrypting anything: no padding oracle. */
	ret = sk_icv(c, msg, msg_len - icv_len, icv);
	if (ret)
		return ret;
	if (CRYPTO_memcmp(icv, msg + msg_len - icv_len, icv_len) != 0)
		return -EBADMSG;
	ret = cbc_crypt(name, c->ekey, msg + aad_len, msg + aad_len + iv_len, ct_len, 0);
	return ret ? ret : (int)ct_len;
}
