/* SPDX-License-Identifier: ISC */
/*
 * Host names looked up without blocking the loop (resolve.c): the C
 * library's asynchronous getaddrinfo runs the lookup on a thread of its
 * own and the answer comes back to the loop through an ev_async.  What
 * needs it: OCSP responders named by a host name (ocsp-uri, or the
 * authorityInfoAccess of a peer's certificate).
 *
 * A numeric address is answered at once, without a thread.  The lookup
 * follows the system's configuration (nsswitch.conf, /etc/hosts,
 * resolv.conf); the first address it returns is used.
 */
#ifndef XD_RESOLVE_H
#define XD_RESOLVE_H

#include <ev.h>
#include <sys/socket.h>

struct xd_lookup;

/*
 * err 0: *addr is the host's first address with the port set; else
 * -ENXIO (the name does not resolve: no such name, no address, no answer
 * from the name servers) or another negative errno.
 */
typedef void (*xd_resolved)(void *ctx, int err, const struct sockaddr_storage *addr);

/*
 * Look up host:port (a decimal port).  A numeric host: cb runs before this
 * returns, and *out is NULL.  A name: 0 with *out set (for
 * xd_lookup_cancel); cb runs on the loop once the answer is in.  A negative
 * errno: no callback.
 */
int xd_lookup_start(struct ev_loop *loop, const char *host, const char *port, xd_resolved cb,
		    void *ctx, struct xd_lookup **out);

/*
 * No callback any more.  A lookup the library is running is left to it and
 * freed when it ends.
 */
void xd_lookup_cancel(struct xd_lookup *l);

#endif
