/* SPDX-License-Identifier: ISC */
/*
 * OCSP from the daemon (ocsp_fetch.c): a non-blocking HTTP/1.0 POST to a
 * responder on the libev loop (RFC 6960 appendix A), a bounded cache of
 * checked answers per certificate, kept until their nextUpdate, and the
 * counters `xikectl stats` shows.
 *
 * One layer does one thing:
 *   xd_http_fetch   bytes out, bytes back: connect (bounded by a timeout
 *                   for the whole exchange), send, read up to
 *                   IKE_OCSP_RESP_MAX of body, parse (http.h); never blocks
 *   xd_ocsp         one certificate's status: from the cache, else a
 *                   request with a fresh nonce through xd_http_fetch, the
 *                   answer checked by ike_ocsp_check and cached
 *
 * This is the daemon's half of the engine's IKE_WORK_OCSP: the work
 * carries (certificate, issuer, URI); the daemon calls xd_ocsp_query and
 * hands the result back when its callback runs (docs/engine.md).
 *
 * Addresses: a responder given by a host name is looked up off the loop
 * (resolve.h), within the exchange's timeout; an IP address is used as it
 * is.
 */
#ifndef XD_OCSP_FETCH_H
#define XD_OCSP_FETCH_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/http.h"
#include "ike/ocsp.h"

/* --- one HTTP exchange ------------------------------------------------------- */

struct xd_http_fetch;

/*
 * err 0: body[0..len) is the body of a 200 answer of type
 * application/ocsp-response.  Else -ETIMEDOUT, -ECONNREFUSED and other
 * connect or socket errors, -EBADMSG (malformed HTTP), -EMSGSIZE (body
 * over IKE_OCSP_RESP_MAX), -EPROTO (another status or content type).
 * The fetch is freed after the callback returns.
 */
typedef void (*xd_http_done)(void *ctx, int err, const uint8_t *body, size_t len);

/*
 * Start a POST of req to the responder of uri (its host, looked up if it
 * is a name, and port; its path).  0 with *out set (for
 * xd_http_fetch_cancel), or a negative errno (then cb is not called).  A
 * name that does not resolve ends the fetch with -ENXIO.
 */
int xd_http_fetch_start(struct ev_loop *loop, const struct xd_http_uri *uri, const uint8_t *req,
			size_t len, double timeout, xd_http_done cb, void *ctx,
			struct xd_http_fetch **out);
/* Stop it without calling its callback. */
void xd_http_fetch_cancel(struct xd_http_fetch *f);

/* --- certificate status -------------------------------------------------------- */

#define XD_OCSP_CACHE_MAX 32   /* answers kept, each at most IKE_OCSP_RESP_MAX */
#define XD_OCSP_TIMEOUT 10.0   /* seconds for a whole exchange with a responder */
#define XD_OCSP_PENDING_MAX 16 /* queries waiting for a responder at once */

struct xd_ocsp_stats {
	uint64_t requests;   /* sent to responders */
	uint64_t cache_hits; /* answered from the cache */
	uint64_t good, revoked, unknown; /* checked answers, cached or fresh */
	uint64_t failed;     /* no usable answer: transport, HTTP or check error */
	uint64_t timeouts;   /* of which the responder did not answer in time */
};

struct xd_ocsp_entry {
	uint8_t key[32];     /* SHA-256 over the certificate and its issuer */
	uint8_t *der;        /* the response as received */
	size_t len;
	struct ike_ocsp_result result;
	int64_t used;        /* last lookup, for eviction */
	/* For list-certs: whose status it is and who answered. */
	char subject[256], serial[96];
	char responder[2 * XD_HTTP_URI_MAX + 16];
};

struct xd_ocsp_query;

struct xd_ocsp {
	struct ev_loop *loop;
	double timeout;
	struct xd_ocsp_entry cache[XD_OCSP_CACHE_MAX];
	size_t n_cache;
	struct xd_ocsp_query *pending;
	size_t n_pending;
	struct xd_ocsp_stats stats;
};

/*
 * The status of q->cert: err 0 with *r, or the error of the fetch or of
 * ike_ocsp_check (ocsp.h).  cached: from the cache.
 */
typedef void (*xd_ocsp_done)(void *ctx, int err, const struct ike_ocsp_result *r,
			     bool cached, const char *why);

void xd_ocsp_init(struct xd_ocsp *o, struct ev_loop *loop);
/* Cancels what is pending (no callbacks) and empties the cache. */
void xd_ocsp_free(struct xd_ocsp *o);

/*
 * Ask about cert (issued by issuer; trusted: locally trusted responder
 * certificates, may be NULL) at the responder of uri.  The callback may
 * run before this returns (a cached answer).  0, or -EBUSY (too many
 * pending), -ENOMEM, or an error of ike_ocsp_request; then no callback.
 * The DER the query points to must stay until the callback has run.
 */
int xd_ocsp_query(struct xd_ocsp *o, const struct ike_der *cert, const struct ike_der *issuer,
		  const struct ike_der *trusted, size_t n_trusted,
		  const struct xd_http_uri *uri, xd_ocsp_done cb, void *ctx);

/* The cache alone (for tests and list-certs): the entry of cert, or NULL. */
const struct xd_ocsp_entry *xd_ocsp_cached(struct xd_ocsp *o, const struct ike_der *cert,
					   const struct ike_der *issuer, int64_t now);
/*
 * Keep a checked answer (a copy of der) from responder (a URI, may be
 * NULL); the least recently used goes when full.
 */
void xd_ocsp_cache_put(struct xd_ocsp *o, const struct ike_der *cert,
		       const struct ike_der *issuer, const uint8_t *der, size_t len,
		       const struct ike_ocsp_result *r, const char *responder, int64_t now);


#endif
