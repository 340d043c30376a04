/* SPDX-License-Identifier: ISC */
/*
 * struct xk_addr to and from the socket API's addresses, for every layer
 * that owns sockets (the daemon, esp-soft, tools).  The neutral types stay
 * free of socket headers; only this file joins the two.
 */
#ifndef XK_SOCKADDR_H
#define XK_SOCKADDR_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "common/sa.h"

/* Room for an IPv4 or an IPv6 socket address, and its views. */
union xk_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * a, with its port, in s: IPv4 for XK_AF_INET, IPv6 for anything else
 * (callers check the family first).  Returns the length to pass with s.
 */
socklen_t xk_addr_to_sockaddr(const struct xk_addr *a, union xk_sockaddr *s);

/* The address and port in s; family 0 if s is neither IPv4 nor IPv6. */
void xk_addr_from_sockaddr(const union xk_sockaddr *s, struct xk_addr *a);

#endif
