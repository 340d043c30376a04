/* SPDX-License-Identifier: ISC */
/*
 * Cookies (RFC 7296 section 2.6): when to ask for one, and making and
 * checking them with a secret that rotates.
 */
#include <string.h>

#include "common/secret.h"
#include "ike/engine_int.h"

static void cookie_rotate(struct ike_engine *e, uint64_t now)
{
	if (now < e->cookie_rotate_ms)
		return;
	e->cookie_version++;
	ike_random_secret(e->cookie_secret[e->cookie_version & 1], 32);
	e->cookie_rotate_ms = now + e->cfg.cookie_lifetime_ms;
}

bool ike_cookie_required(struct ike_engine *e, const struct xk_addr *remote)
{
	/* Rotated lazily, when cookies are in use: no wake-ups when idle. */
	cookie_rotate(e, ike_now(e));
	if (e->stats.half_open >= e->cfg.cookie_threshold)
		return true;
	if (e->stats.half_open < e->cfg.cookie_threshold_ip)
		return false;
	return ike_half_open_from(e, remote) >= e->cfg.cookie_threshold_ip;
}

unsigned ike_cookie_version(struct ike_engine *e)
{
	return e->cookie_version;
}

/* Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>). */
void ike_cookie_make(struct ike_engine *e, unsigned version,
		     const uint8_t *ni, size_t nilen, const struct xk_addr *remote,
		     uint64_t spi_i, uint8_t out[IKEV2_COOKIE_MAX], size_t *len)
{
	uint8_t buf[IKEV2_NONCE_MAX + 16 + 8 + 32];
	struct bw w;

	bw_init(&w, buf, sizeof(buf));
	bw_bytes(&w, ni, nilen);
	bw_bytes(&w, remote->ip, xk_addr_len(remote));
	bw_u64(&w, spi_i);
	bw_bytes(&w, e->cookie_secret[version & 1], 32);
	out[0] = (uint8_t)version;
	ike_sha256(buf, w.len, out + 1);
	*len = 33;
	xk_wipe(buf, sizeof(buf));
}

bool ike_cookie_verify(struct ike_engine *e, const uint8_t *cookie, size_t clen,
		       const uint8_t *ni, size_t nilen,
		       const struct xk_addr *remote, uint64_t spi_i)
{
	uint8_t expect[IKEV2_COOKIE_MAX];
	size_t len;
	unsigned v;

	if (clen != 33)
		return false;
	v = cookie[0];
	/* Only the current secret and the one before it are honoured. */
	if (v != e->cookie_version && v != (uint8_t)(e->cookie_version - 1))
		return false;
	ike_cookie_make(e, v, ni, nilen, remote, spi_i, expect, &len);
	return xk_ct_equal(expect, cookie, len);
}
