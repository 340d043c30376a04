/* SPDX-License-Identifier: ISC */
/*
 * IKEv2 cryptography over OpenSSL 3 EVP (see crypto.h for the interface).
 *
 * Nothing in these files is a hand-written primitive: HMAC is EVP_MAC, the
 * SK ciphers are EVP_CIPHER, key exchange is EVP_PKEY.  What they add is
 * IKEv2's glue, one concern per file:
 *   crypto.c       the algorithms, fetched once; HMAC; SHA-1 and SHA-256
 *   crypto_keys.c  PRF, prf+ and the key schedules (RFC 7296 sections
 *                  2.13, 2.14, 2.17, 2.18)
 *   crypto_dh.c    key exchange: the KE payload data's wire formats and
 *                  validation of the peer's public value
 *   crypto_sk.c    the SK payload's ciphers (section 3.14, RFC 5282,
 *                  RFC 7634, RFC 3602 with RFC 4868)
 *   crypto_rand.c  random bytes for the wire and for secrets
 *
 * Every function that holds key material ends at one `out:` label that
 * wipes it.
 */
#include "crypto.h"
#include "crypto_evp.h"

#include "ikev2.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* --- Algorithms, fetched once ------------------------------------------ */

/*
 * OpenSSL 3 looks an algorithm up by name, under a lock, on every fetch,
 * and an HMAC context told its digest by name fetches the digest again.
 * A responder's handshake makes some twenty MAC, digest and cipher calls,
 * at about a microsecond of look-ups each, so every algorithm IKE uses is
 * fetched once per process and kept.  After that the table is only read:
 * threads share it.  What is missing (a FIPS provider without ChaCha20,
 * say) stays NULL and fails where it is asked for.
 */
static const char *const md_names[] = {
	[IKE_MD_SHA1] = "SHA1",
	[IKE_MD_SHA256] = "SHA256",
	[IKE_MD_SHA384] = "SHA384",
	[IKE_MD_SHA512] = "SHA512",
};
static const char *const cipher_names[] = {
	"AES-128-CBC", "AES-192-CBC", "AES-256-CBC",
	"AES-128-GCM", "AES-192-GCM", "AES-256-GCM", "ChaCha20-Poly1305",
};
#define N_MD (sizeof(md_names) / sizeof(md_names[0]))
#define N_CIPHER (sizeof(cipher_names) / sizeof(cipher_names[0]))

static struct {
	EVP_MD *md[N_MD];
	EVP_MAC_CTX *hmac[N_MD]; /* digest set, no key: copied for each key */
	EVP_CIPHER *cipher[N_CIPHER];
} algs;
static CRYPTO_ONCE algs_once = CRYPTO_ONCE_STATIC_INIT;

static void algs_fetch(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	for (size_t i = 0; i < N_MD; i++) {
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)md_names[i], 0),
			OSSL_PARAM_construct_end(),
		};

		algs.md[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		algs.hmac[i] = mac ? EVP_MAC_CTX_new(mac) : NULL;
		if (algs.hmac[i] && EVP_MAC_CTX_set_params(algs.hmac[i], params) != 1) {
			EVP_MAC_CTX_free(algs.hmac[i]);
			algs.hmac[i] = NULL;
		}
	}
	EVP_MAC_free(mac); /* each context keeps its own reference */
	for (size_t i = 0; i < N_CIPHER; i++)
		algs.cipher[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
	ERR_clear_error(); /* what failed is NULL, reported where it is used */
}

static bool algs_ready(void)
{
	return CRYPTO_THREAD_run_once(&algs_once, algs_fetch) == 1;
}

/* Where name stands in names[0, n) once the table is filled; -1 if not. */
static int alg_index(const char *const *names, size_t n, const char *name)
{
	if (name && algs_ready())
		for (size_t i = 0; i < n; i++)
			if (!strcmp(names[i], name))
				return (int)i;
	return -1;
}

/* Whether md is a digest of the table, once the table is filled. */
static bool md_ready(enum ike_md md)
{
	return md >= 0 && (size_t)md < N_MD && algs_ready();
}

/* The fetched digest, NULL if it is not there. */
static const EVP_MD *md_get(enum ike_md md)
{
	return md_ready(md) ? algs.md[md] : NULL;
}

static const EVP_MAC_CTX *hmac_get(enum ike_md md)
{
	return md_ready(md) ? algs.hmac[md] : NULL;
}

const EVP_CIPHER *ike_cipher_get(const char *name)
{
	int i = alg_index(cipher_names, N_CIPHER, name);

	return i < 0 ? NULL : algs.cipher[i];
}

/* --- HMAC ------------------------------------------------------------- */

enum ike_md ike_prf_md(uint16_t prf)
{
	switch (prf) {
	case IKEV2_PRF_HMAC_SHA2_256: return IKE_MD_SHA256;
	case IKEV2_PRF_HMAC_SHA2_384: return IKE_MD_SHA384;
	case IKEV2_PRF_HMAC_SHA2_512: return IKE_MD_SHA512;
	}
	return IKE_MD_NONE;
}

enum ike_md ike_integ_md(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return IKE_MD_SHA256;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return IKE_MD_SHA384;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return IKE_MD_SHA512;
	}
	return IKE_MD_NONE;
}

/* A keyed HMAC context (freeing it cleanses the key schedule). */
EVP_MAC_CTX *ike_hmac_new(enum ike_md md, const uint8_t *key, size_t klen)
{
	static const uint8_t nokey;
	const EVP_MAC_CTX *unkeyed = hmac_get(md);
	EVP_MAC_CTX *ctx;

	ctx = unkeyed ? EVP_MAC_CTX_dup(unkeyed) : NULL;
	if (!ctx)
		return NULL;
	if (EVP_MAC_init(ctx, klen ? key : &nokey, klen, NULL) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* --- Digests ------------------------------------------------------------ */

int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
	const EVP_MD *md = md_get(IKE_MD_SHA1);

	return md && EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}

int ike_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	const EVP_MD *md = md_get(IKE_MD_SHA256);

	return md && EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -EIO;
}
