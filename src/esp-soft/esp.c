/* SPDX-License-Identifier: ISC */
/*
 * ESP encapsulation and decapsulation of one SA (RFC 4303) through OpenSSL 3
 * EVP.  Cipher contexts are keyed once per SA and thread slot and then only
 * given a fresh IV per packet; nothing here allocates per packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/bytes.h"
#include "common/secret.h"
#include "esp-soft/esp.h"

/* A counter of the calling slot: it is the only writer. */
static inline void slot_add64(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void ctr_inc32(_Atomic uint32_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Which EVP cipher carries cfg, and the transform's sizes. */
static int pick_alg(const struct xk_sa *c, struct esp_sa *sa, const char **cipher)
{
	static const struct {
		enum xk_integ integ;
		const char *digest;
		uint16_t key_len;
		uint8_t icv;
	} hmacs[] = {
		/* RFC 4868 2.1: the key is as long as the hash output. */
		{ XK_INTEG_HMAC_SHA256_128, "SHA256", 32, 16 },
		{ XK_INTEG_HMAC_SHA384_192, "SHA384", 48, 24 },
		{ XK_INTEG_HMAC_SHA512_256, "SHA512", 64, 32 },
	};

	switch (c->enc) {
	case XK_ENC_AES_GCM_16:
		/* RFC 4106 8.1: AES key + 4-byte salt; only the 16-byte ICV. */
		if (c->integ != XK_INTEG_NONE || (c->icv_len && c->icv_len != 16))
			return -EINVAL;
		if (c->enc_key_len == 20)
			*cipher = "AES-128-GCM";
		else if (c->enc_key_len == 28)
			*cipher = "AES-192-GCM";
		else if (c->enc_key_len == 36)
			*cipher = "AES-256-GCM";
		else
			return -EINVAL;
		sa->gcm = true;
		break;
	case XK_ENC_CHACHA20_POLY1305:
		/* RFC 7634 2: 256-bit key + 4-byte salt, 16-byte tag. */
		if (c->integ != XK_INTEG_NONE || (c->icv_len && c->icv_len != 16) ||
		    c->enc_key_len != 36)
			return -EINVAL;
		*cipher = "ChaCha20-Poly1305";
		break;
	case XK_ENC_AES_CBC:
		if (c->enc_key_len == 16)
			*cipher = "AES-128-CBC";
		else if (c->enc_key_len == 24)
			*cipher = "AES-192-CBC";
		else if (c->enc_key_len == 32)
			*cipher = "AES-256-CBC";
		else
			return -EINVAL;
		/* RFC 4303 3.2: CBC alone gives no integrity; refuse it. */
		for (size_t i = 0; i < sizeof(hmacs) / sizeof(hmacs[0]); i++) {
			if (hmacs[i].integ != c->integ)
				continue;
			if (c->integ_key_len != hmacs[i].key_len ||
			    (c->icv_len && c->icv_len != hmacs[i].icv))
				return -EINVAL;
			sa->digest = hmacs[i].digest;
			sa->icv_len = hmacs[i].icv;
			sa->iv_len = 16;
			sa->align = 16;
			sa->key_len = c->enc_key_len;
			return 0;
		}
		return -EINVAL;
	case XK_ENC_NONE:
		return -ENOTSUP;
	default:
		return -EINVAL;
	}
	sa->aead = true;
	sa->iv_len = 8;
	sa->icv_len = 16;
	/* RFC 4303 2.4: the trailer ends on a 4-byte boundary. */
	sa->align = 4;
	sa->key_len = (uint16_t)(c->enc_key_len - 4);
	memcpy(sa->salt, c->enc_key + sa->key_len, 4);
	return 0;
}

int esp_sa_new(const struct xk_sa *cfg, unsigned n_slots, struct esp_sa **out)
{
	struct esp_sa *sa;
	const char *cipher = NULL;
	int err;

	*out = NULL;
	if (n_slots == 0 || cfg->enc_key_len > XK_MAX_KEY || cfg->integ_key_len > XK_MAX_KEY)
		return -EINVAL;
	sa = calloc(1, sizeof(*sa) + n_slots * sizeof(sa->slot[0]));
	if (!sa)
		return -ENOMEM;
	sa->cfg = *cfg;
	sa->n_slots = n_slots;
	pthread_spin_init(&sa->lock, PTHREAD_PROCESS_PRIVATE);
	err = pick_alg(cfg, sa, &cipher);
	if (err)
		goto fail;
	sa->cfg.icv_len = sa->icv_len;
	sa->evp_cipher = EVP_CIPHER_fetch(NULL, cipher, NULL);
	if (!sa->evp_cipher) {
		err = -ENOTSUP;
		goto fail;
	}
	if (sa->digest) {
		sa->evp_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (!sa->evp_mac) {
			err = -ENOTSUP;
			goto fail;
		}
	}
	/* RFC 4303 3.3.3: without ESN the counter stops at 2^32 - 1. */
	sa->seq_max = cfg->esn ? UINT64_MAX : UINT32_MAX;
	err = esp_replay_init(&sa->replay, cfg->replay_window);
	if (err < 0)
		goto fail;
	sa->cfg.replay_window = sa->replay.window;
	*out = sa;
	return 0;
fail:
	esp_sa_free(sa);
	return err;
}

void esp_sa_free(struct esp_sa *sa)
{
	if (!sa)
		return;
	for (unsigned i = 0; i < sa->n_slots; i++) {
		/* Both free functions cleanse the key schedule they held. */
		EVP_CIPHER_CTX_free(sa->slot[i].cipher);
		EVP_MAC_CTX_free(sa->slot[i].mac);
	}
	EVP_CIPHER_free(sa->evp_cipher);
	EVP_MAC_free(sa->evp_mac);
	pthread_spin_destroy(&sa->lock);
	esp_replay_free(&sa->replay);
	xk_wipe(&sa->cfg, sizeof(sa->cfg));
	xk_wipe(sa->salt, sizeof(sa->salt));
	free(sa);
}

/* The slot's contexts, keyed on first use by the thread that owns the slot. */
static struct esp_slot *slot_get(struct esp_sa *sa, unsigned slot)
{
	struct esp_slot *s;
	bool enc = !sa->cfg.inbound;

	if (slot >= sa->n_slots)
		return NULL;
	s = &sa->slot[slot];
	if (s->cipher)
		return s;
	s->cipher = EVP_CIPHER_CTX_new();
	if (!s->cipher ||
	    !EVP_CipherInit_ex2(s->cipher, sa->evp_cipher, sa->cfg.enc_key, NULL, enc, NULL))
		goto fail;
	if (!sa->aead) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)sa->digest, 0),
			OSSL_PARAM_construct_end(),
		};

		/* ESP pads itself; EVP must not add PKCS#7 padding. */
		EVP_CIPHER_CTX_set_padding(s->cipher, 0);
		s->mac = EVP_MAC_CTX_new(sa->evp_mac);
		if (!s->mac ||
		    !EVP_MAC_init(s->mac, sa->cfg.integ_key, sa->cfg.integ_key_len, p))
			goto fail;
	}
	return s;
fail:
	EVP_CIPHER_CTX_free(s->cipher);
	EVP_MAC_CTX_free(s->mac);
	s->cipher = NULL;
	s->mac = NULL;
	return NULL;
}

size_t esp_encap_len(const struct esp_sa *sa, size_t len)
{
	size_t padded = (len + 2 + sa->align - 1) / sa->align * sa->align;

	return ESP_HDR_LEN + sa->iv_len + padded + sa->icv_len;
}

/*
 * A fresh nonce for the next packet (and, decrypting, the expected tag).
 * AES-GCM takes it as the whole "fixed" IV (EVP_CTRL_GCM_SET_IV_FIXED with
 * length -1) through set_params, because EVP_CipherInit_ex2 with an IV
 * first asks the provider for the IV length by name on every call: a
 * third of the per-packet cost at 64 bytes.  ChaCha20-Poly1305's provider
 * reads that parameter differently (TLS), so it keeps the init call.
 */
static int set_nonce(const struct esp_sa *sa, struct esp_slot *s, const uint8_t nonce[12],
		     const OSSL_PARAM *tag)
{
	OSSL_PARAM p[3];
	int n = 0;

	if (!sa->gcm)
		return EVP_CipherInit_ex2(s->cipher, NULL, NULL, nonce, -1, tag);
	p[n] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
						 (void *)nonce, 0);
	p[n++].data_size = (size_t)-1; /* the whole IV, not a TLS fixed part */
	if (tag)
		p[n++] = tag[0];
	p[n] = OSSL_PARAM_construct_end();
	return EVP_CIPHER_CTX_set_params(s->cipher, p);
}

/* AAD (RFC 4106 5, RFC 7634 2.1): SPI | [Seq-high |] Seq-low. */
static size_t build_aad(const struct esp_sa *sa, uint64_t seq, uint8_t *aad)
{
	put_be32(aad, sa->cfg.spi);
	if (sa->cfg.esn) {
		put_be64(aad + 4, seq);
		return 12;
	}
	put_be32(aad + 4, (uint32_t)seq);
	return 8;
}

/* The truncated HMAC over the packet [| Seq-high] (RFC 4303 2.2.1). */
static int hmac(const struct esp_sa *sa, struct esp_slot *s, const uint8_t *p, size_t len,
		uint64_t seq, uint8_t *icv)
{
	uint8_t full[EVP_MAX_MD_SIZE], hi[4];
	size_t n = 0;
	int ok;

	put_be32(hi, (uint32_t)(seq >> 32));
	/* A NULL key re-initialises with the key set once in slot_get(). */
	ok = EVP_MAC_init(s->mac, NULL, 0, NULL) && EVP_MAC_update(s->mac, p, len) &&
	     (!sa->cfg.esn || EVP_MAC_update(s->mac, hi, 4)) &&
	     EVP_MAC_final(s->mac, full, &n, sizeof(full)) && n >= sa->icv_len;
	if (ok)
		memcpy(icv, full, sa->icv_len);
	/* The untruncated MAC is as good as the ICV to a forger. */
	OPENSSL_cleanse(full, sizeof(full));
	return ok ? 0 : -EIO;
}

int esp_encap(struct esp_sa *sa, unsigned slot, uint8_t nh, const uint8_t *in, size_t len,
	      uint8_t *out, size_t cap)
{
	size_t off = esp_payload_off(sa);
	size_t padded = (len + 2 + sa->align - 1) / sa->align * sa->align;
	size_t pad = padded - len - 2, total = off + padded + sa->icv_len;
	uint8_t nonce[12], aad[12], *iv = out + ESP_HDR_LEN, *ct = out + off;
	struct esp_slot *s;
	uint64_t seq;
	int n1 = 0, n2 = 0;

	if (total > cap || len > INT32_MAX)
		return -EMSGSIZE;
	s = slot_get(sa, slot);
	if (!s)
		return -EIO;
	/* RFC 4303 3.3.3: the counter never cycles; a new SA is needed. */
	seq = atomic_fetch_add_explicit(&sa->seq, 1, memory_order_relaxed) + 1;
	if (seq == 0 || seq > sa->seq_max) {
		atomic_store_explicit(&sa->seq, sa->seq_max, memory_order_relaxed);
		return -EOVERFLOW;
	}
	/*
	 * Payload, padding and trailer in place, then one cipher pass over
	 * all of it: a second, ragged update costs up to a quarter of the
	 * throughput at 512 bytes.  The workers read packets into place, so
	 * the move happens only for callers that did not.
	 */
	if (in != ct)
		memmove(ct, in, len);
	for (size_t i = 0; i < pad; i++)
		ct[len + i] = (uint8_t)(i + 1);
	ct[len + pad] = (uint8_t)pad;
	ct[len + pad + 1] = nh;

	put_be32(out, sa->cfg.spi);
	put_be32(out + 4, (uint32_t)seq);
	if (sa->aead) {
		size_t alen = build_aad(sa, seq, aad);

		put_be64(iv, seq);
		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, iv, 8);
		OSSL_PARAM tp[] = {
			OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, ct + padded, 16),
			OSSL_PARAM_construct_end(),
		};

		/* Params directly, not EVP_CIPHER_CTX_ctrl: one translation less. */
		if (!set_nonce(sa, s, nonce, NULL) ||
		    !EVP_EncryptUpdate(s->cipher, NULL, &n1, aad, (int)alen) ||
		    !EVP_EncryptUpdate(s->cipher, ct, &n1, ct, (int)padded) ||
		    !EVP_EncryptFinal_ex(s->cipher, ct + n1, &n2) ||
		    !EVP_CIPHER_CTX_get_params(s->cipher, tp))
			return -EIO;
	} else {
		/* RFC 3602 3: the IV must be unpredictable. */
		if (RAND_bytes(iv, 16) != 1 ||
		    !EVP_EncryptInit_ex2(s->cipher, NULL, NULL, iv, NULL) ||
		    !EVP_EncryptUpdate(s->cipher, ct, &n1, ct, (int)padded) ||
		    !EVP_EncryptFinal_ex(s->cipher, ct + n1, &n2))
			return -EIO;
		if (hmac(sa, s, out, off + padded, seq, ct + padded) < 0)
			return -EIO;
	}
	if ((size_t)(n1 + n2) != padded)
		return -EIO;
	slot_add64(&s->bytes, len);
	slot_add64(&s->packets, 1);
	return (int)total;
}

/*
 * Under the SA's lock: infer the full number and check it (commit false),
 * or commit it once the packet authenticated (commit true).
 */
static int replay_step(struct esp_sa *sa, uint32_t seq_lo, uint64_t *seq, bool commit)
{
	int err;

	pthread_spin_lock(&sa->lock);
	if (!commit)
		*seq = esp_replay_infer(&sa->replay, seq_lo, sa->cfg.esn);
	err = commit ? esp_replay_commit(&sa->replay, *seq) : esp_replay_check(&sa->replay, *seq);
	pthread_spin_unlock(&sa->lock);
	if (err == -EALREADY)
		ctr_inc32(&sa->replay_drops);
	else if (err)
		ctr_inc32(&sa->replay_window_drops);
	return err;
}

int esp_decap(struct esp_sa *sa, unsigned slot, uint8_t *pkt, size_t len, struct esp_plain *pl)
{
	size_t off = esp_payload_off(sa), ct_len;
	uint8_t nonce[12], aad[12], tag[ESP_MAX_ICV], *ct = pkt + off;
	struct esp_slot *s;
	uint64_t seq;
	uint8_t padlen, nh;
	int n1 = 0, n2 = 0, err;

	/* Header, IV, the two trailer bytes and the ICV: less is not ESP. */
	if (len < off + 2 + sa->icv_len || len - off - sa->icv_len > INT32_MAX)
		return -EMSGSIZE;
	ct_len = len - off - sa->icv_len;
	/* CBC decrypts whole blocks only; a ragged length is a forgery or junk. */
	if (!sa->aead && ct_len % 16)
		return -EMSGSIZE;
	/* The caller chose this SA by SPI; a different one is a caller bug or junk. */
	if (get_be32(pkt) != sa->cfg.spi)
		return -ENOENT;
	err = replay_step(sa, get_be32(pkt + 4), &seq, false);
	if (err)
		return err;
	s = slot_get(sa, slot);
	if (!s)
		return -EIO;

	if (sa->aead) {
		size_t alen = build_aad(sa, seq, aad);

		memcpy(nonce, sa->salt, 4);
		memcpy(nonce + 4, pkt + ESP_HDR_LEN, 8);
		OSSL_PARAM tp[] = {
			OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
			OSSL_PARAM_construct_end(),
		};

		memcpy(tag, ct + ct_len, 16);
		/* The expected tag goes in with the IV: one provider call. */
		if (!set_nonce(sa, s, nonce, tp) ||
		    !EVP_DecryptUpdate(s->cipher, NULL, &n1, aad, (int)alen) ||
		    !EVP_DecryptUpdate(s->cipher, ct, &n1, ct, (int)ct_len))
			return -EIO;
		/* Final compares the tag in constant time (CRYPTO_memcmp). */
		if (EVP_DecryptFinal_ex(s->cipher, ct + n1, &n2) <= 0) {
			ctr_inc32(&sa->integrity_failures);
			return -EBADMSG;
		}
	} else {
		/* Encrypt-then-MAC: verify before touching the ciphertext. */
		if (hmac(sa, s, pkt, off + ct_len, seq, tag) < 0)
			return -EIO;
		if (CRYPTO_memcmp(tag, ct + ct_len, sa->icv_len) != 0) {
			ctr_inc32(&sa->integrity_failures);
			return -EBADMSG;
		}
		if (!EVP_DecryptInit_ex2(s->cipher, NULL, NULL, pkt + ESP_HDR_LEN, NULL) ||
		    !EVP_DecryptUpdate(s->cipher, ct, &n1, ct, (int)ct_len) ||
		    !EVP_DecryptFinal_ex(s->cipher, ct + n1, &n2))
			return -EIO;
	}
	if ((size_t)(n1 + n2) != ct_len)
		return -EIO;
	/* Authentic: only now may the number move the window. */
	err = replay_step(sa, 0, &seq, true);
	if (err)
		return err;

	/* RFC 4303 2.4-2.6: Pad Length, then Next Header, end the plaintext. */
	padlen = ct[ct_len - 2];
	nh = ct[ct_len - 1];
	if ((size_t)padlen + 2 > ct_len)
		return -EPROTO; /* padding longer than the payload */
	for (size_t i = 0; i < padlen; i++)
		if (ct[ct_len - 2 - padlen + i] != (uint8_t)(i + 1))
			return -EPROTO; /* RFC 4303 2.4: default padding 1, 2, 3, ... */
	if (nh == ESP_PROTO_NONE)
		return -ENODATA; /* RFC 4303 2.6: a dummy packet, dropped quietly */
	if (sa->cfg.mode == XK_MODE_TUNNEL && nh != ESP_PROTO_IPIP && nh != ESP_PROTO_IPV6)
		return -EPROTONOSUPPORT; /* tunnel mode carries IP packets only */
	pl->seq = seq;
	pl->nh = nh;
	pl->off = off;
	pl->len = ct_len - 2 - padlen;
	slot_add64(&s->bytes, pl->len);
	slot_add64(&s->packets, 1);
	return 0;
}

uint64_t esp_sa_bytes(const struct esp_sa *sa)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < sa->n_slots; i++)
		n += atomic_load_explicit(&sa->slot[i].bytes, memory_order_relaxed);
	return n;
}

uint64_t esp_sa_packets(const struct esp_sa *sa)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < sa->n_slots; i++)
		n += atomic_load_explicit(&sa->slot[i].packets, memory_order_relaxed);
	return n;
}
