/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's sockets (sock.h): opening them with the options the data
 * path relies on, and their control messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "esp-soft/sock.h"
#include "esp-soft/state.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* <linux/udp.h>: send with this segment size (GSO) */
#endif
#ifndef UDP_GRO
#define UDP_GRO 104 /* <linux/udp.h>: receive coalesced datagrams */
#endif

/* Control messages of a send: the source address, and the GSO size. */
size_t esp_sock_put_ctl(struct esp_cmsg *c, const struct xk_addr *src, uint16_t gso)
{
	struct msghdr m = { .msg_control = c->buf, .msg_controllen = sizeof(c->buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	size_t len = 0;

	memset(c->buf, 0, sizeof(c->buf));
	if (src && src->family == XK_AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, src->ip, 4);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		len += CMSG_SPACE(sizeof(pi));
		cm = (struct cmsghdr *)(c->buf + len);
	} else if (src && src->family == XK_AF_INET6) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, src->ip, 16);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		len += CMSG_SPACE(sizeof(pi));
		cm = (struct cmsghdr *)(c->buf + len);
	}
	if (gso) {
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
		len += CMSG_SPACE(sizeof(uint16_t));
	}
	return len;
}

int esp_sock_udp_open(struct esp_soft *es, int af, int *gso, int *gro)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, zero = 0, err;
	int buf = 4 << 20;
	struct xk_addr any = { .family = af == AF_INET ? XK_AF_INET : XK_AF_INET6,
			       .port = es->cfg.nat_port };
	union xk_sockaddr ss;
	socklen_t len;

	if (fd < 0)
		return -errno;
	/* Every worker binds the same port; the kernel spreads flows. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (af == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
			  : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)))
		goto fail;
	/* The mark keeps our own ESP and IKE out of the TUN routes. */
	if (es->cfg.mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &es->cfg.mark, sizeof(es->cfg.mark)) < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	/* Probes: a zero UDP_SEGMENT only tells whether GSO exists. */
	*gso = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	*gro = setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	len = xk_addr_to_sockaddr(&any, &ss);
	if (bind(fd, &ss.sa, len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/*
 * All our sockets on the port join one SO_REUSEPORT group, and a group
 * takes in any socket of the same user that asks for it: a second daemon
 * on the port would silently get a share of our packets, and we of its.
 * A plain bind first tells whether any socket holds the port already.
 */
int esp_sock_port_free(struct esp_soft *es, int af)
{
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, err = 0;
	struct xk_addr any = { .family = af == AF_INET ? XK_AF_INET : XK_AF_INET6,
			       .port = es->cfg.nat_port };
	union xk_sockaddr ss;
	socklen_t len = xk_addr_to_sockaddr(&any, &ss);

	if (fd < 0)
		return -errno;
	if ((af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &ss.sa, len) < 0)
		err = -errno;
	close(fd);
	return err;
}

int esp_sock_raw_open(struct esp_soft *es, int af)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP), one = 1, err;

	if (fd < 0)
		return -errno;
	if ((af == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
			   : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one))) ||
	    (es->cfg.mark &&
	     setsockopt(fd, SOL_SOCKET, SO_MARK, &es->cfg.mark, sizeof(es->cfg.mark)) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The local address (and GRO segment size) from a received message. */
void esp_sock_parse_ctl(struct msghdr *m, struct xk_addr *local, size_t *seg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = XK_AF_INET;
			memcpy(local->ip, &pi.ipi_addr, 4);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = XK_AF_INET6;
			memcpy(local->ip, &pi.ipi6_addr, 16);
		} else if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int gso;

			memcpy(&gso, CMSG_DATA(cm), sizeof(gso));
			if (gso > 0)
				*seg = (size_t)gso;
		}
	}
}

/* Up to n datagrams into n slots of sz bytes at buf, without waiting. */
int esp_sock_recv(int fd, struct mmsghdr *msg, struct iovec *iov, union xk_sockaddr *name,
		  struct esp_cmsg *ctl, uint8_t *buf, size_t sz, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ buf + i * sz, sz };
		msg[i].msg_hdr = (struct msghdr){
			.msg_name = &name[i], .msg_namelen = sizeof(name[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1,
			.msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf),
		};
	}
	return recvmmsg(fd, msg, n, MSG_DONTWAIT, NULL);
}

/*
 * The sender, our address (with the NAT-T port) and the GRO segment size
 * of datagram m from the NAT-T port; false, counted in `slot`, if it was
 * cut short.
 */
bool esp_sock_udp_meta(struct esp_soft *es, unsigned slot, struct mmsghdr *m,
		       const union xk_sockaddr *name, struct xk_addr *local,
		       struct xk_addr *remote, size_t *seg)
{
	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		esp_drop(es, slot, ESP_SOFT_DROP_TOO_BIG);
		return false;
	}
	*local = (struct xk_addr){ 0 };
	xk_addr_from_sockaddr(name, remote);
	*seg = m->msg_len;
	esp_sock_parse_ctl(&m->msg_hdr, local, seg);
	local->port = es->cfg.nat_port;
	if (!*seg)
		*seg = m->msg_len ? m->msg_len : 1;
	return true;
}
