/* SPDX-License-Identifier: ISC */
#include "common/sockaddr.h"

#include <arpa/inet.h>
#include <string.h>

socklen_t xk_addr_to_sockaddr(const struct xk_addr *a, union xk_sockaddr *s)
{
	memset(s, 0, sizeof(*s));
	if (a->family == XK_AF_INET) {
		s->in.sin_family = AF_INET;
		s->in.sin_port = htons(a->port);
		memcpy(&s->in.sin_addr, a->ip, 4);
		return sizeof(s->in);
	}
	s->in6.sin6_family = AF_INET6;
	s->in6.sin6_port = htons(a->port);
	memcpy(&s->in6.sin6_addr, a->ip, 16);
	return sizeof(s->in6);
}

void xk_addr_from_sockaddr(const union xk_sockaddr *s, struct xk_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s->sa.sa_family == AF_INET) {
		a->family = XK_AF_INET;
		a->port = ntohs(s->in.sin_port);
		memcpy(a->ip, &s->in.sin_addr, 4);
	} else if (s->sa.sa_family == AF_INET6) {
		a->family = XK_AF_INET6;
		a->port = ntohs(s->in6.sin6_port);
		memcpy(a->ip, &s->in6.sin6_addr, 16);
	}
}
