/* SPDX-License-Identifier: ISC */
/*
 * The sockets of esp-soft (sock.c): UDP on the NAT-T port, one per thread
 * and family in one SO_REUSEPORT group, and raw ESP; the control messages
 * that carry our address (IP_PKTINFO) and the UDP GSO / GRO segment size;
 * batched receive.  Linux-specific.  Not installed.
 */
#ifndef ESP_SOFT_SOCK_H
#define ESP_SOFT_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/sa.h"
#include "common/sockaddr.h"

/* Room for the control messages of one datagram. */
struct esp_cmsg {
	_Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
					  CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint16_t))];
};

/* Sockets come per family: index 0 is IPv4, 1 IPv6. */
static inline int esp_sock_idx(uint8_t family)
{
	return family == XK_AF_INET6 ? 1 : 0;
}

static inline int esp_sock_af(int f)
{
	return f ? AF_INET6 : AF_INET;
}

struct esp_soft;

/*
 * A UDP socket on the NAT-T port, in the port's SO_REUSEPORT group, with
 * es's mark; *gso and *gro say whether the kernel offers UDP GSO and GRO.
 * The fd or a negative errno.
 */
int esp_sock_udp_open(struct esp_soft *es, int af, int *gso, int *gro);
/* 0 if no socket holds the NAT-T port yet, or a negative errno (-EADDRINUSE). */
int esp_sock_port_free(struct esp_soft *es, int af);
/* A raw IP protocol 50 socket (CAP_NET_RAW); the fd or a negative errno. */
int esp_sock_raw_open(struct esp_soft *es, int af);

/*
 * Control messages of a send into c: the source address src (if any) and
 * the GSO segment size (if not 0).  Returns their length, 0 for none.
 */
size_t esp_sock_put_ctl(struct esp_cmsg *c, const struct xk_addr *src, uint16_t gso);
/* The local address (and GRO segment size) from a received message. */
void esp_sock_parse_ctl(struct msghdr *m, struct xk_addr *local, size_t *seg);
/* Up to n datagrams into n slots of sz bytes at buf, without waiting. */
int esp_sock_recv(int fd, struct mmsghdr *msg, struct iovec *iov, union xk_sockaddr *name,
		  struct esp_cmsg *ctl, uint8_t *buf, size_t sz, unsigned n);
/*
 * The sender, our address (with the NAT-T port) and the GRO segment size
 * of datagram m from the NAT-T port; false, counted in `slot`, if it was
 * cut short.
 */
bool esp_sock_udp_meta(struct esp_soft *es, unsigned slot, struct mmsghdr *m,
		       const union xk_sockaddr *name, struct xk_addr *local,
		       struct xk_addr *remote, size_t *seg);

#endif
