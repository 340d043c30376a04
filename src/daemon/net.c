/* SPDX-License-Identifier: ISC */
/*
 * IKE datagrams in and out.  Our sockets: UDP on the IKE port and the
 * NAT-T port, IPv4 and IPv6.
 * The NAT-T socket carries the kernel's UDP_ENCAP_ESPINUDP option, so ESP in
 * UDP goes straight to the kernel and only IKE (behind the four-byte
 * non-ESP marker, RFC 3948 section 2.2) reaches us.  Every socket bypasses
 * IPsec policies, or a host-to-host policy would swallow IKE itself.
 * With userspace ESP the NAT-T port is its socket, and IKE on that port
 * comes and goes through it.  Either way every datagram passes the fault
 * layer once, in ike_input() and xd_net_send().
 */
#define XK_LOG_SUB XK_SUB_NETWORK /* common/log.h */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sockaddr.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/net.h"
#include "esp-soft/esp_soft.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif

/* Receive buffer of each IKE socket (bytes). */
#define XD_IKE_RCVBUF (4 << 20)
/*
 * Reading: datagrams per recvmmsg, and batches per wake-up (64 datagrams,
 * as many as the loop of single reads before it took).  Each buffer holds
 * the largest UDP payload; only the pages a datagram touches are ever
 * made resident.
 */
#define XD_RX_BATCH 8
#define XD_RX_ROUNDS 8
#define XD_RX_SIZE 65536

static const uint8_t non_esp_marker[4];

/* A per-socket policy that lets IKE through whatever the SPD says. */
static int bypass_ipsec(int fd, int family)
{
	struct xfrm_userpolicy_info pol;
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int opt = family == AF_INET ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;

	for (int dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
		memset(&pol, 0, sizeof(pol));
		pol.action = XFRM_POLICY_ALLOW;
		pol.sel.family = (uint16_t)family;
		pol.dir = (uint8_t)dir;
		pol.lft.soft_byte_limit = pol.lft.hard_byte_limit = XFRM_INF;
		pol.lft.soft_packet_limit = pol.lft.hard_packet_limit = XFRM_INF;
		if (setsockopt(fd, level, opt, &pol, sizeof(pol)) < 0)
			return -errno;
	}
	return 0;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents);
static void on_soft_ike(struct ev_loop *loop, ev_io *w, int revents);

static int open_one(struct xiked *d, const struct xk_addr *bind_addr, uint8_t family,
		    uint16_t port, bool nat_t)
{
	struct xd_sock *s = &d->socks[d->n_socks];
	union xk_sockaddr ss;
	struct xk_addr any = { .family = family };
	socklen_t len;
	int fd, one = 1, af = family == XK_AF_INET ? AF_INET : AF_INET6;
	char buf[64];

	if (d->n_socks == sizeof(d->socks) / sizeof(d->socks[0]))
		return -ENOSPC;
	fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/*
	 * A deep queue: under a flood of IKE_SA_INIT the kernel would drop
	 * legitimate requests with the rest (they wait for a retransmission)
	 * while the loop catches up.  Past rmem_max needs CAP_NET_ADMIN, which
	 * start-up has.
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){ XD_IKE_RCVBUF }, sizeof(int)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ XD_IKE_RCVBUF }, sizeof(int));
	if (af == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	any = bind_addr ? *bind_addr : any;
	any.port = port;
	len = xk_addr_to_sockaddr(&any, &ss);
	if (bind(fd, &ss.sa, len) < 0) {
		int err = -errno;

		xk_err("cannot bind UDP %s port %u: %s", xk_addr_str(&any, buf, sizeof(buf)), port,
		       strerror(-err));
		close(fd);
		return err;
	}
	if (bypass_ipsec(fd, af) < 0)
		xk_warn("cannot exempt the IKE socket from IPsec policies: %s", strerror(errno));
	/* Userspace ESP routes everything unmarked into its device. */
	if (d->soft) {
		uint32_t mark = esp_soft_mark(d->soft);

		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	}
	if (nat_t) {
		int encap = UDP_ENCAP_ESPINUDP;

		if (setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap)) < 0)
			xk_warn("UDP_ENCAP_ESPINUDP not available on port %u: %s", port,
				strerror(errno));
	}
	s->fd = fd;
	s->family = family;
	s->port = port;
	s->nat_t = nat_t;
	ev_io_init(&s->w, on_readable, fd, EV_READ);
	s->w.data = d;
	ev_io_start(d->loop, &s->w);
	d->n_socks++;
	return 0;
}

int xd_net_open(struct xiked *d)
{
	static const uint8_t fams[] = { XK_AF_INET, XK_AF_INET6 };
	/* With userspace ESP, the NAT-T port is its socket; IKE shares it. */
	bool nat_t = !d->soft;
	int err, opened = 0;

	if (!d->rx_buf) {
		d->rx_buf = malloc((size_t)XD_RX_BATCH * XD_RX_SIZE);
		if (!d->rx_buf)
			return -ENOMEM;
	}
	if (d->soft) {
		ev_io_init(&d->soft_ike, on_soft_ike, esp_soft_ike_fd(d->soft), EV_READ);
		ev_io_start(d->loop, &d->soft_ike);
	}
	if (d->cfg.n_listen) {
		for (size_t i = 0; i < d->cfg.n_listen; i++) {
			const struct xk_addr *a = &d->cfg.listen[i];

			err = open_one(d, a, a->family, d->cfg.port, false);
			if (err == 0 && nat_t)
				err = open_one(d, a, a->family, d->cfg.nat_port, true);
			if (err)
				return err;
		}
		return 0;
	}
	for (size_t i = 0; i < 2; i++) {
		err = open_one(d, NULL, fams[i], d->cfg.port, false);
		if (err == 0 && nat_t)
			err = open_one(d, NULL, fams[i], d->cfg.nat_port, true);
		/* A host without IPv6 still runs on IPv4, and the other way round. */
		if (err == 0)
			opened++;
		else if (err != -EAFNOSUPPORT && err != -EADDRNOTAVAIL)
			return err;
	}
	return opened ? 0 : -EADDRNOTAVAIL;
}

void xd_net_close(struct xiked *d)
{
	if (d->soft)
		ev_io_stop(d->loop, &d->soft_ike);
	for (size_t i = 0; i < d->n_socks; i++) {
		ev_io_stop(d->loop, &d->socks[i].w);
		close(d->socks[i].fd);
	}
	d->n_socks = 0;
	free(d->rx_buf);
	d->rx_buf = NULL;
}

/* Every inbound IKE datagram, whichever socket it came from. */
static void ike_input(struct xiked *d, const struct xk_addr *local, const struct xk_addr *remote,
		      const uint8_t *buf, size_t len)
{
	for (unsigned n = xd_faults_in(&d->faults); n; n--)
		ike_engine_input(d->eng, local, remote, buf, len);
}

/*
 * One datagram of an IKE socket, its local address from the packet info.
 * NAT-T's keepalives and anything without the non-ESP marker go no further.
 */
static void sock_datagram(struct xiked *d, const struct xd_sock *s, struct msghdr *mh,
			  const uint8_t *p, size_t n)
{
	struct xk_addr local = { .family = s->family, .port = s->port }, remote;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(local.ip, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(local.ip, &pi.ipi6_addr, 16);
		}
	}
	xk_addr_from_sockaddr((const union xk_sockaddr *)mh->msg_name, &remote);
	if (s->nat_t) {
		/* A NAT keepalive (RFC 3948 section 2.3): nothing to do. */
		if (n == 1 && p[0] == 0xff)
			return;
		/* Only IKE follows the marker; ESP belongs to the kernel. */
		if (n < 4 || memcmp(p, non_esp_marker, 4) != 0) {
			d->stats.rx_dropped++;
			return;
		}
		p += 4;
		n -= 4;
	}
	ike_input(d, &local, &remote, p, n);
}

/*
 * What waits on an IKE socket, XD_RX_BATCH datagrams per recvmmsg.  A
 * batch that comes back short emptied the queue: no further call only to
 * learn EAGAIN (the old loop of recvmsg made one such call per wake-up,
 * a system call per datagram under a light load).  At most XD_RX_ROUNDS
 * batches per wake-up, so that one busy socket does not starve the rest.
 */
static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xd_sock *s = container_of(w, struct xd_sock, w);
	struct xiked *d = w->data;
	struct mmsghdr msg[XD_RX_BATCH];
	struct iovec iov[XD_RX_BATCH];
	union xk_sockaddr from[XD_RX_BATCH];
	/* CMSG_SPACE is a multiple of the header's alignment: every row aligned. */
	_Alignas(struct cmsghdr) char ctl[XD_RX_BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo))];
	int r;

	(void)loop;
	(void)revents;
	if (!d->rx_buf)
		return;
	for (int round = 0; round < XD_RX_ROUNDS; round++) {
		for (int i = 0; i < XD_RX_BATCH; i++) {
			iov[i] = (struct iovec){ d->rx_buf + (size_t)i * XD_RX_SIZE, XD_RX_SIZE };
			msg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
							  .msg_namelen = sizeof(from[i]),
							  .msg_iov = &iov[i], .msg_iovlen = 1,
							  .msg_control = ctl[i],
							  .msg_controllen = sizeof(ctl[i]) };
			msg[i].msg_len = 0;
		}
		r = recvmmsg(s->fd, msg, XD_RX_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < r; i++)
			sock_datagram(d, s, &msg[i].msg_hdr, iov[i].iov_base, msg[i].msg_len);
		if (r < XD_RX_BATCH)
			break;
	}
	xd_engine_kick(d);
}

static void on_soft_datagram(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
			     const uint8_t *buf, size_t len)
{
	ike_input(ctx, local, remote, buf, len);
}

/* IKE on userspace ESP's NAT-T socket (without the non-ESP marker). */
static void on_soft_ike(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, soft_ike);

	(void)loop;
	(void)revents;
	esp_soft_ike_read(d->soft, on_soft_datagram, d);
	xd_engine_kick(d);
}

static struct xd_sock *sock_for(struct xiked *d, const struct xk_addr *local)
{
	bool nat_t = local->port == d->cfg.nat_port;

	for (size_t i = 0; i < d->n_socks; i++) {
		struct xd_sock *s = &d->socks[i];

		if (s->family == local->family && s->nat_t == nat_t)
			return s;
	}
	return NULL;
}

/* One datagram out of our socket for `local`, from that very address. */
static void send_one(struct xiked *d, const struct xk_addr *local, const struct xk_addr *remote,
		     const uint8_t *buf, size_t len)
{
	struct xk_addr l = *local;
	struct xd_sock *s;
	union xk_sockaddr to;
	socklen_t tolen;
	struct iovec iov[2];
	union {
		char c[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_control = ctl.c };
	struct cmsghdr *c;
	int i = 0;

	if (!l.family)
		l.family = remote->family;
	s = sock_for(d, &l);
	if (!s) {
		xk_warn("no socket for port %u (family %u)", l.port, l.family);
		return;
	}
	tolen = xk_addr_to_sockaddr(remote, &to);
	mh.msg_name = &to;
	mh.msg_namelen = tolen;
	if (s->nat_t)
		iov[i++] = (struct iovec){ (void *)non_esp_marker, 4 };
	iov[i++] = (struct iovec){ (void *)buf, len };
	mh.msg_iovlen = (size_t)i;
	/* Send from the address the SA lives on, whatever the routes prefer. */
	memset(ctl.c, 0, sizeof(ctl.c));
	mh.msg_controllen = sizeof(ctl.c);
	c = CMSG_FIRSTHDR(&mh);
	if (local->family == XK_AF_INET) {
		struct in_pktinfo pi = { 0 };

		memcpy(&pi.ipi_spec_dst, local->ip, 4);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else if (local->family == XK_AF_INET6) {
		struct in6_pktinfo pi = { 0 };

		memcpy(&pi.ipi6_addr, local->ip, 16);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	if (sendmsg(s->fd, &mh, MSG_DONTWAIT) < 0) {
		char a[64];

		xk_debug("send to %s:%u failed: %s", xk_addr_str(remote, a, sizeof(a)), remote->port,
			 strerror(errno));
	}
}

/* Every outbound IKE datagram, whichever socket takes it. */
void xd_net_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len)
{
	struct xiked *d = ctx;

	for (unsigned n = xd_faults_out(&d->faults); n; n--) {
		if (d->soft && local->port == d->cfg.nat_port)
			esp_soft_ike_send(d->soft, local->family ? local : NULL, remote, buf, len);
		else
			send_one(d, local, remote, buf, len);
	}
}

/* RFC 3948 section 2.3: one octet 0xff on the NAT-T port, no marker. */
void xd_net_keepalive(void *ctx, const struct xk_addr *local, const struct xk_addr *remote)
{
	struct xiked *d = ctx;
	struct xk_addr l = *local;
	union xk_sockaddr to;
	socklen_t tolen;
	static const uint8_t ka = 0xff;
	struct xd_sock *s;

	l.port = d->cfg.nat_port;
	if (!l.family)
		l.family = remote->family;
	/* With userspace ESP the NAT-T socket is esp-soft's, as for IKE. */
	if (d->soft) {
		esp_soft_keepalive(d->soft, local->family ? local : NULL, remote);
		return;
	}
	s = sock_for(d, &l);
	if (!s)
		return;
	tolen = xk_addr_to_sockaddr(remote, &to);
	sendto(s->fd, &ka, 1, MSG_DONTWAIT, &to.sa, tolen);
}

/* The source address the routing table picks towards remote. */
int xd_net_source(void *ctx, const struct xk_addr *remote, struct xk_addr *local)
{
	union xk_sockaddr ss;
	struct xk_addr r = *remote;
	socklen_t len;
	int fd, err = 0;

	(void)ctx;
	if (!r.port)
		r.port = 500;
	fd = socket(r.family == XK_AF_INET ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = xk_addr_to_sockaddr(&r, &ss);
	/* connect() on UDP sends nothing; it only asks the routing table. */
	if (connect(fd, &ss.sa, len) < 0) {
		err = -errno;
	} else {
		len = sizeof(ss);
		if (getsockname(fd, &ss.sa, &len) < 0) {
			err = -errno;
		} else {
			uint16_t port = local->port;

			xk_addr_from_sockaddr(&ss, local);
			local->port = port;
		}
	}
	close(fd);
	return err;
}
