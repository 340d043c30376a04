/* SPDX-License-Identifier: ISC */
/*
 * The certificates, CAs and CRLs the connections of a configuration use:
 * listed for `list-certs` (docs/control.md) and checked for their expiry.
 * No event loop here (certs.c), so that the unit tests run it as the
 * daemon does; the daily check and its events are certs_watch.c.
 */
#ifndef XD_CERTS_H
#define XD_CERTS_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

#include "daemon/config.h"
#include "daemon/ocsp_fetch.h"
#include "ike/cert.h"

#define XD_CERT_EXPIRY_WARNING_DAYS 30 /* [global] cert-expiry-warning */

/* "own", "intermediate", "ca", "crl" or "peer". */
const char *xd_cert_role_name(enum ike_cert_role role);

/* Whole days from now to t, rounded down (-1 for "expired a moment ago"). */
long xd_days_left(int64_t t, time_t now);

/*
 * The list-certs answer for cfg at `now`: {"ok": true, "certs": [...],
 * "ocsp": [...]}, each certificate or CRL once (by its SHA-256
 * fingerprint) with the connections that use it and as what, and each
 * OCSP answer kept in ocsp's cache (may be NULL) that is still fresh: the
 * peer certificate's subject and serial, its status, the answer's times
 * and the responder.  NULL when out of memory.
 */
json_object *xd_certs_json(const struct xd_config *cfg, const struct xd_ocsp *ocsp,
			   time_t now);

/*
 * f(ctx, conn, info, days_left) for each certificate or CRL a connection
 * uses (once per connection and object) that expires within `days` days
 * of now, or has expired; a CRL "expires" at its nextUpdate.  days 0: none.
 * Returns how many.
 */
size_t xd_certs_expiring(const struct xd_config *cfg, time_t now, unsigned days,
			 void (*f)(void *ctx, const char *conn, const struct ike_cert_info *in,
				   long days_left),
			 void *ctx);

#endif
