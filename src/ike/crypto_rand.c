/* SPDX-License-Identifier: ISC */
/*
 * Random bytes from OpenSSL's DRBGs: a per-thread pool for the values that
 * go on the wire (nonces, SPIs, IVs), the private DRBG for secrets.
 */
#include "crypto.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

static int rand_fill(void *buf, size_t len, bool priv)
{
	uint8_t *p = buf;

	while (len) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if ((priv ? RAND_priv_bytes(p, n) : RAND_bytes(p, n)) != 1)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A DRBG call costs about a microsecond whatever its size: made for every
 * nonce, SPI and IV it was 3-4 % of a responder's handshake.  Public
 * values come from a per-thread pool filled RAND_POOL bytes at a time.  A
 * forked child empties its pool, so that parent and child never hand out
 * the same bytes.
 */
#define RAND_POOL 512
#define RAND_POOL_TAKE 64 /* larger requests go to the DRBG directly */

static _Thread_local struct {
	uint8_t buf[RAND_POOL];
	size_t left;
} rand_pool;
static CRYPTO_ONCE rand_pool_once = CRYPTO_ONCE_STATIC_INIT;

static void rand_pool_forget(void)
{
	OPENSSL_cleanse(&rand_pool, sizeof(rand_pool));
}

static void rand_pool_atfork(void)
{
	pthread_atfork(NULL, NULL, rand_pool_forget);
}

int ike_random(void *buf, size_t len)
{
	if (len > RAND_POOL_TAKE)
		return rand_fill(buf, len, false);
	if (rand_pool.left < len) {
		if (CRYPTO_THREAD_run_once(&rand_pool_once, rand_pool_atfork) != 1 ||
		    rand_fill(rand_pool.buf, RAND_POOL, false))
			return -EIO;
		rand_pool.left = RAND_POOL;
	}
	memcpy(buf, rand_pool.buf + RAND_POOL - rand_pool.left, len);
	rand_pool.left -= len;
	return 0;
}

int ike_random_secret(void *buf, size_t len)
{
	return rand_fill(buf, len, true);
}
