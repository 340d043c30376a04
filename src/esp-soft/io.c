/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's I/O: one worker thread per queue of the TUN device, each with
 * its own SO_REUSEPORT UDP sockets on the NAT-T port, moving packets in
 * batches (TUN reads until empty, recvmmsg, sendmmsg with UDP GSO runs,
 * UDP GRO on receive) through buffers allocated once at start; and the
 * housekeeping thread.  Linux-specific throughout (see tun.h for others).
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "common/sockaddr.h"
#include "esp-soft/esp_soft_int.h"
#include "esp-soft/offload.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* <linux/udp.h>: send with this segment size (GSO) */
#endif
#ifndef UDP_GRO
#define UDP_GRO 104 /* <linux/udp.h>: receive coalesced datagrams */
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51 /* <asm-generic/socket.h>, Linux 4.5 */
#endif

#define IO_BATCH 64      /* packets per TUN batch and per non-GRO recvmmsg */
#define IO_GRO_BATCH 16  /* 64 KiB datagrams per recvmmsg with GRO */
#define IO_GRO_BUF 65536
#define IO_GSO_MAX 64    /* the kernel's UDP_MAX_SEGMENTS */
#define IO_GSO_BYTES 65000
#define IKE_RX_BATCH 4   /* datagrams per recvmmsg on the IKE socket */

struct io_ctl {
	_Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
					  CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint16_t))];
};

struct esp_worker {
	struct esp_soft *es;
	unsigned id;
	pthread_t thread;
	bool running;
	bool gso;   /* UDP GSO usable (cleared if the kernel refuses it) */
	int udp[2]; /* IPv4, IPv6 */
	int raw[2]; /* worker 0 only */

	/*
	 * outbound: packets read from the TUN queue into slots with room on
	 * both sides, encapsulated where they lie
	 */
	uint8_t *tx;
	size_t tx_slot;
	uint8_t *tx_pkt[IO_BATCH];
	size_t tx_len[IO_BATCH];
	struct esp_soft_tx meta[IO_BATCH];
	struct mmsghdr tx_msg[2][IO_BATCH];
	unsigned tx_segs[2][IO_BATCH];
	struct iovec tx_iov[2][IO_BATCH];
	union xk_sockaddr tx_name[2][IO_BATCH];
	struct io_ctl tx_ctl[2][IO_BATCH];

	/* offloads: a TUN super-packet as read, a run of segments to write */
	uint8_t *big;
	struct esp_gro gro;

	/* inbound: datagrams (coalesced with GRO) */
	uint8_t *rx;
	size_t rx_sz;
	unsigned rx_batch;
	struct mmsghdr rx_msg[IO_BATCH];
	struct iovec rx_iov[IO_BATCH];
	union xk_sockaddr rx_name[IO_BATCH];
	struct io_ctl rx_ctl[IO_BATCH];
};

static const int fam_af[2] = { AF_INET, AF_INET6 };

static int fam_idx(uint8_t family)
{
	return family == XK_AF_INET6 ? 1 : 0;
}

/* Control messages of a send: the source address, and the GSO size. */
static size_t put_ctl(struct io_ctl *c, const struct xk_addr *src, uint16_t gso)
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

/* ---- sockets ---- */

static int udp_open(struct esp_soft *es, int af, int *gso, int *gro)
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
static int port_free(struct esp_soft *es, int af)
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

static int raw_open(struct esp_soft *es, int af)
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

/*
 * IKE and ESP share the NAT-T port.  The control thread reads IKE from
 * sockets of its own, the first in each family's SO_REUSEPORT group; this
 * program, which the kernel runs with the data at the UDP payload, sends
 * there every datagram that starts with the non-ESP marker and anything
 * under four bytes (keepalives, runts), and ESP to worker 1 + SPI mod n,
 * so that one SA's packets stay on one worker.  Without it IKE would wake
 * a worker, then the control thread through a queue: a tenth of a
 * responder's CPU per handshake.
 */
static int ike_steer(int fd, unsigned n_workers)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 4, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n_workers),
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { sizeof(code) / sizeof(code[0]), code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

/*
 * Bound before any worker's socket, so that each is index 0 of its group;
 * the program goes on once the workers' sockets are in.
 */
static void ike_open(struct esp_soft *es)
{
	for (int f = 0; f < 2; f++) {
		int gso, gro;

		if (f == 1 && es->cfg.no_v6)
			break;
		/* Errors show when the workers open theirs. */
		es->ike_udp[f] = udp_open(es, fam_af[f], &gso, &gro);
		if (es->ike_udp[f] < 0)
			es->ike_udp[f] = -1;
	}
}

static void ike_close(struct esp_soft *es, int f)
{
	if (es->ike_udp[f] >= 0)
		close(es->ike_udp[f]); /* leaves the epoll set with it */
	es->ike_udp[f] = -1;
}

static void ike_start(struct esp_soft *es)
{
	for (int f = 0; f < 2; f++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = es->ike_udp[f] };
		int err;

		if (es->ike_udp[f] < 0)
			continue;
		err = es->workers[0].udp[f] < 0 ? -EAFNOSUPPORT : ike_steer(es->ike_udp[f], es->n_workers);
		if (!err && epoll_ctl(es->ike_epoll, EPOLL_CTL_ADD, es->ike_udp[f], &ev) < 0)
			err = -errno;
		if (err) {
			xk_info("esp-soft: IKE on port %u (IPv%c) goes through the workers: %s",
				es->cfg.nat_port, f ? '6' : '4', strerror(-err));
			ike_close(es, f);
		}
	}
	if (es->ike_udp[0] < 0 && es->ike_udp[1] < 0)
		return;
	/* With GRO a datagram can be several, up to 64 KiB. */
	es->ike_rx_sz = es->gro ? IO_GRO_BUF : es->cfg.mtu + ESP_MAX_OVERHEAD + 64;
	es->ike_rx = malloc(IKE_RX_BATCH * es->ike_rx_sz);
	if (!es->ike_rx) {
		xk_warn("esp-soft: IKE on port %u goes through the workers: %s", es->cfg.nat_port,
			strerror(ENOMEM));
		ike_close(es, 0);
		ike_close(es, 1);
	}
}

/* ---- outbound ---- */

static bool same_path(const struct esp_soft_tx *a, const struct esp_soft_tx *b)
{
	return a->udp == b->udp && xk_addr_eq(&a->remote, &b->remote) &&
	       xk_addr_ip_eq(&a->local, &b->local);
}

static void send_one(struct esp_worker *w, int fd, struct msghdr *m, unsigned segs)
{
	while (sendmsg(fd, m, 0) < 0) {
		if (errno == EINTR)
			continue;
		for (unsigned i = 0; i < segs; i++)
			esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
		return;
	}
}

/* A GSO run the kernel refused: send its packets one by one. */
static void send_split(struct esp_worker *w, int fd, struct mmsghdr *mm)
{
	struct msghdr m = mm->msg_hdr;
	struct iovec *iov = m.msg_iov;
	size_t n = m.msg_iovlen;
	struct io_ctl ctl;
	struct xk_addr src = { 0 };

	/* Keep the source address, drop the segment size. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			src.family = XK_AF_INET;
			memcpy(src.ip, &pi.ipi_spec_dst, 4);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			src.family = XK_AF_INET6;
			memcpy(src.ip, &pi.ipi6_addr, 16);
		}
	}
	m.msg_control = ctl.buf;
	m.msg_controllen = put_ctl(&ctl, &src, 0);
	if (!m.msg_controllen)
		m.msg_control = NULL;
	for (size_t i = 0; i < n; i++) {
		m.msg_iov = &iov[i];
		m.msg_iovlen = 1;
		send_one(w, fd, &m, 1);
	}
}

static void send_family(struct esp_worker *w, int f, unsigned n)
{
	struct mmsghdr *v = w->tx_msg[f];
	int fd = w->udp[f];
	unsigned done = 0;

	while (done < n) {
		int r = sendmmsg(fd, v + done, n - done, 0);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (w->tx_segs[f][done] > 1 && (errno == EIO || errno == EINVAL)) {
			/* No GSO on this path after all (e.g. no checksum offload). */
			if (errno == EIO)
				w->gso = false;
			send_split(w, fd, &v[done]);
		} else {
			for (unsigned i = 0; i < w->tx_segs[f][done]; i++)
				esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
		}
		done++;
	}
}

static void send_raw(struct esp_worker *w, unsigned i)
{
	const struct esp_soft_tx *t = &w->meta[i];
	int f = fam_idx(t->remote.family), fd = w->es->workers[0].raw[f];
	struct xk_addr to = t->remote;
	union xk_sockaddr ss;
	struct io_ctl ctl;
	struct iovec iov = { w->tx_pkt[i], w->tx_len[i] };
	struct msghdr m = { .msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd < 0) {
		esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
		return;
	}
	to.port = 0; /* raw IP: no port (IPv6 would take it for the protocol) */
	m.msg_namelen = xk_addr_to_sockaddr(&to, &ss);
	m.msg_control = ctl.buf;
	m.msg_controllen = put_ctl(&ctl, &t->local, 0);
	if (!m.msg_controllen)
		m.msg_control = NULL;
	send_one(w, fd, &m, 1);
}

/*
 * Send the k ESP packets built, as GSO runs where consecutive ones allow:
 * one message whose iovecs are the packets, cut by the kernel at `seg`.
 */
static void send_batch(struct esp_worker *w, unsigned k)
{
	unsigned n[2] = { 0, 0 }, niov[2] = { 0, 0 };
	bool gso = w->gso;

	for (unsigned i = 0; i < k;) {
		const struct esp_soft_tx *t = &w->meta[i];
		size_t seg = w->tx_len[i], total = seg;
		unsigned j = i + 1, f = (unsigned)fam_idx(t->remote.family), m = n[f];
		struct msghdr *h;

		if (!t->udp) {
			send_raw(w, i);
			i++;
			continue;
		}
		if (w->udp[f] < 0) {
			esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
			i++;
			continue;
		}
		/* Same path, same size (the last may be shorter), bounded: one GSO send. */
		while (gso && j < k && j - i < IO_GSO_MAX && same_path(&w->meta[j], t) &&
		       w->tx_len[j] <= seg && total + w->tx_len[j] <= IO_GSO_BYTES) {
			total += w->tx_len[j];
			if (w->tx_len[j++] < seg)
				break;
		}
		h = &w->tx_msg[f][m].msg_hdr;
		h->msg_iov = &w->tx_iov[f][niov[f]];
		h->msg_iovlen = j - i;
		for (unsigned q = i; q < j; q++)
			w->tx_iov[f][niov[f]++] = (struct iovec){ w->tx_pkt[q], w->tx_len[q] };
		h->msg_name = &w->tx_name[f][m];
		h->msg_namelen = xk_addr_to_sockaddr(&t->remote, &w->tx_name[f][m]);
		h->msg_control = w->tx_ctl[f][m].buf;
		h->msg_controllen = put_ctl(&w->tx_ctl[f][m], &t->local,
					    j - i > 1 ? (uint16_t)seg : 0);
		if (!h->msg_controllen)
			h->msg_control = NULL;
		h->msg_flags = 0;
		w->tx_segs[f][m] = j - i;
		n[f]++;
		i = j;
	}
	for (int f = 0; f < 2; f++)
		if (n[f])
			send_family(w, f, n[f]);
}

/* Encrypt the n packets waiting in the slots, in place, and send them. */
static void flush_out(struct esp_worker *w, unsigned n, const size_t *len)
{
	struct esp_soft *es = w->es;
	unsigned k = 0;

	pthread_rwlock_rdlock(&es->lock);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *ip = w->tx + i * w->tx_slot + ESP_HEADROOM;
		int r = esp_dp_output(es, w->id, ip, len[i], ESP_HEADROOM,
				      w->tx_slot - ESP_HEADROOM - len[i], &w->tx_pkt[k],
				      &w->meta[k]);

		if (r <= 0)
			continue;
		w->tx_len[k++] = (size_t)r;
	}
	pthread_rwlock_unlock(&es->lock);
	if (k)
		send_batch(w, k);
}

/*
 * With offloads: one read is one packet behind a virtio header, or a TCP
 * super-packet to cut into segments, each into its own slot.
 */
static unsigned tun_batch_vnet(struct esp_worker *w)
{
	struct esp_soft *es = w->es;
	size_t len[IO_BATCH], room = w->tx_slot - ESP_HEADROOM - ESP_TAILROOM;
	unsigned n = 0, reads = 0;

	while (reads < IO_BATCH && n < IO_BATCH) {
		ssize_t r = esp_tun_read(&es->tun, w->id, w->big, ESP_VNET_HDR_LEN + 65535);
		struct esp_vnet_hdr h;
		uint8_t *pkt = w->big + ESP_VNET_HDR_LEN;
		size_t plen;
		int segs;

		if (r <= 0)
			break;
		reads++;
		if ((size_t)r <= ESP_VNET_HDR_LEN) {
			esp_drop(es, w->id, ESP_SOFT_DROP_INNER);
			continue;
		}
		memcpy(&h, w->big, sizeof(h));
		plen = (size_t)r - ESP_VNET_HDR_LEN;
		if (h.gso_type == ESP_VNET_GSO_NONE) {
			/* Checksum offload: the kernel left the sum for us to finish. */
			if (((h.flags & ESP_VNET_F_NEEDS_CSUM) &&
			     esp_csum_complete(pkt, plen, h.csum_start, h.csum_offset) < 0) ||
			    plen > room) {
				esp_drop(es, w->id, ESP_SOFT_DROP_INNER);
				continue;
			}
			memcpy(w->tx + n * w->tx_slot + ESP_HEADROOM, pkt, plen);
			len[n++] = plen;
			continue;
		}
		segs = esp_tso_count(&h, pkt, plen);
		if (segs < 0) {
			esp_drop(es, w->id, ESP_SOFT_DROP_INNER);
			continue;
		}
		for (int i = 0; i < segs; i++) {
			int sl;

			if (n == IO_BATCH) {
				flush_out(w, n, len);
				n = 0;
			}
			sl = esp_tso_segment(&h, pkt, plen, (unsigned)i,
					     w->tx + n * w->tx_slot + ESP_HEADROOM, room);
			if (sl < 0) {
				esp_drop(es, w->id, ESP_SOFT_DROP_TOO_BIG);
				continue;
			}
			len[n++] = (size_t)sl;
		}
	}
	if (n)
		flush_out(w, n, len);
	return reads;
}

/* Read what the TUN queue holds (up to a batch), encrypt in place, send. */
static unsigned tun_batch(struct esp_worker *w)
{
	struct esp_soft *es = w->es;
	unsigned n = 0;
	size_t len[IO_BATCH];

	if (es->tun.vnet)
		return tun_batch_vnet(w);
	while (n < IO_BATCH) {
		ssize_t r = esp_tun_read(&es->tun, w->id, w->tx + n * w->tx_slot + ESP_HEADROOM,
					 es->cfg.mtu);

		if (r <= 0)
			break;
		len[n++] = (size_t)r;
	}
	if (n)
		flush_out(w, n, len);
	return n;
}

/* ---- inbound ---- */

/*
 * Written through the next worker's queue, not our own: the kernel sends a
 * flow's outbound packets to the queue its inbound ones were last written
 * to (TUN's automatic flow steering), so a flow's two directions land on
 * two workers, e.g. a TCP sender's data on one and its ACKs on the other,
 * instead of one thread doing both.
 */
static void tun_put(struct esp_worker *w, const struct iovec *iov, int n)
{
	unsigned q = (w->id + 1) % w->es->n_workers;

	if (esp_tun_write(&w->es->tun, q, iov, n) < 0)
		esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
}

/* Write out the run of coalesced segments, if any. */
static void gro_flush(struct esp_worker *w)
{
	struct esp_vnet_hdr h;
	const struct iovec *iov;
	int n = esp_gro_finish(&w->gro, &h, &iov);

	if (n)
		tun_put(w, iov, n);
}

/*
 * A decrypted packet to the TUN device.  With offloads, TCP data segments
 * gather into a run that goes out as one super-packet; anything else ends
 * the run first, so the order on the device is the order of arrival.
 */
static void deliver(struct esp_worker *w, const struct esp_soft_rx *rx)
{
	struct esp_vnet_hdr h = { 0 };
	struct iovec iov[3];
	int n = 0;

	if (w->es->tun.vnet) {
		if (esp_gro_add(&w->gro, rx->hdr, rx->hdr_len, rx->data, rx->len))
			return;
		gro_flush(w);
		if (esp_gro_add(&w->gro, rx->hdr, rx->hdr_len, rx->data, rx->len))
			return;
		iov[n++] = (struct iovec){ &h, ESP_VNET_HDR_LEN };
	}
	if (rx->hdr_len)
		iov[n++] = (struct iovec){ (void *)rx->hdr, rx->hdr_len };
	iov[n++] = (struct iovec){ (void *)rx->data, rx->len };
	tun_put(w, iov, n);
}

/* The local address (and GRO segment size) from a received message. */
static void parse_ctl(struct msghdr *m, struct xk_addr *local, size_t *seg)
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
static int recv_into(int fd, struct mmsghdr *msg, struct iovec *iov, union xk_sockaddr *name,
		     struct io_ctl *ctl, uint8_t *buf, size_t sz, unsigned n)
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

static int recv_batch(struct esp_worker *w, int fd)
{
	return recv_into(fd, w->rx_msg, w->rx_iov, w->rx_name, w->rx_ctl, w->rx, w->rx_sz,
			 w->rx_batch);
}

/*
 * The sender, our address (with the NAT-T port) and the GRO segment size
 * of datagram m from the NAT-T port; false, counted in `slot`, if it was
 * cut short.
 */
static bool udp_meta(struct esp_soft *es, unsigned slot, struct mmsghdr *m,
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
	parse_ctl(&m->msg_hdr, local, seg);
	local->port = es->cfg.nat_port;
	if (!*seg)
		*seg = m->msg_len ? m->msg_len : 1;
	return true;
}

static unsigned udp_batch(struct esp_worker *w, int f)
{
	struct esp_soft *es = w->es;
	int r = recv_batch(w, w->udp[f]);

	if (r <= 0)
		return 0;
	pthread_rwlock_rdlock(&es->lock);
	for (int i = 0; i < r; i++) {
		size_t len = w->rx_msg[i].msg_len, seg;
		uint8_t *buf = w->rx + (size_t)i * w->rx_sz;
		struct xk_addr local, remote;

		if (!udp_meta(es, w->id, &w->rx_msg[i], &w->rx_name[i], &local, &remote, &seg))
			continue;
		/* A GRO datagram is segments of `seg` bytes, the last maybe shorter. */
		for (size_t off = 0, one;; off += one) {
			struct esp_soft_rx rx;

			one = len - off < seg ? len - off : seg;
			if (esp_dp_input(es, w->id, &local, &remote, true, buf + off, one, &rx) == 0)
				deliver(w, &rx);
			if (off + one >= len)
				break;
		}
	}
	gro_flush(w);
	pthread_rwlock_unlock(&es->lock);
	return (unsigned)r;
}

/*
 * ESP on the control thread's socket: GRO put it behind an IKE message of
 * the same flow (or the program was not in yet).  Decrypted in the
 * control thread's slot and written to the device.
 */
static void ike_sock_esp(struct esp_soft *es, const struct xk_addr *local,
			 const struct xk_addr *remote, uint8_t *buf, size_t len)
{
	unsigned slot = es->n_workers;
	struct esp_vnet_hdr h = { 0 };
	struct esp_soft_rx rx;
	struct iovec iov[3];
	int n = 0, r;

	pthread_rwlock_rdlock(&es->lock);
	r = esp_dp_input(es, slot, local, remote, true, buf, len, &rx);
	pthread_rwlock_unlock(&es->lock);
	if (r != 0)
		return; /* counted (or a keepalive) */
	if (es->tun.vnet)
		iov[n++] = (struct iovec){ &h, ESP_VNET_HDR_LEN };
	if (rx.hdr_len)
		iov[n++] = (struct iovec){ rx.hdr, rx.hdr_len };
	iov[n++] = (struct iovec){ (void *)rx.data, rx.len };
	if (esp_tun_write(&es->tun, 0, iov, n) < 0)
		esp_drop(es, slot, ESP_SOFT_DROP_IO);
}

int esp_io_ike_read(struct esp_soft *es, int fd, esp_soft_ike_cb cb, void *ctx)
{
	struct mmsghdr msg[IKE_RX_BATCH];
	struct iovec iov[IKE_RX_BATCH];
	union xk_sockaddr name[IKE_RX_BATCH];
	struct io_ctl ctl[IKE_RX_BATCH];
	unsigned slot = es->n_workers;
	int total = 0, r;

	do {
		r = recv_into(fd, msg, iov, name, ctl, es->ike_rx, es->ike_rx_sz, IKE_RX_BATCH);
		for (int i = 0; i < r; i++) {
			size_t len = msg[i].msg_len, seg, one;
			uint8_t *buf = iov[i].iov_base;
			struct xk_addr local, remote;

			if (!udp_meta(es, slot, &msg[i], &name[i], &local, &remote, &seg))
				continue;
			/* A GRO datagram is segments of `seg` bytes, the last maybe shorter. */
			for (size_t off = 0;; off += one) {
				uint8_t *p = buf + off;

				one = len - off < seg ? len - off : seg;
				if (one >= 4 && get_be32(p) == 0) {
					esp_ctr_add(es, slot, CTR_IKE_IN, 1);
					cb(ctx, &local, &remote, p + 4, one - 4);
					total++;
				} else {
					ike_sock_esp(es, &local, &remote, p, one);
				}
				if (off + one >= len)
					break;
			}
		}
	} while (r == IKE_RX_BATCH);
	return total;
}

/* Raw ESP (worker 0): IPv4 sockets see the IP header, IPv6 ones do not. */
static unsigned raw_batch(struct esp_worker *w, int f)
{
	struct esp_soft *es = w->es;
	int r = recv_batch(w, w->raw[f]);

	if (r <= 0)
		return 0;
	pthread_rwlock_rdlock(&es->lock);
	for (int i = 0; i < r; i++) {
		struct msghdr *h = &w->rx_msg[i].msg_hdr;
		size_t len = w->rx_msg[i].msg_len, seg = 0;
		uint8_t *buf = w->rx + (size_t)i * w->rx_sz;
		struct xk_addr local = { 0 }, remote;
		struct esp_soft_rx rx;

		xk_addr_from_sockaddr(&w->rx_name[i], &remote);
		remote.port = 0;
		parse_ctl(h, &local, &seg);
		if (f == 0) {
			size_t ihl;

			/* The IPv4 header the kernel left in: honest lengths only. */
			if (len < 20 || (ihl = (size_t)(buf[0] & 15) * 4) < 20 || ihl > len ||
			    get_be16(buf + 2) > len || get_be16(buf + 2) < ihl) {
				esp_drop(es, w->id, ESP_SOFT_DROP_SHORT);
				continue;
			}
			len = get_be16(buf + 2) - ihl;
			buf += ihl;
		}
		if (esp_dp_input(es, w->id, &local, &remote, false, buf, len, &rx) == 0)
			deliver(w, &rx);
	}
	gro_flush(w);
	pthread_rwlock_unlock(&es->lock);
	return (unsigned)r;
}

/* ---- threads ---- */

/* What a worker reads, besides its stop signal. */
enum io_src { SRC_TUN, SRC_UDP4, SRC_UDP6, SRC_RAW4, SRC_RAW6 };

static unsigned src_batch(struct esp_worker *w, enum io_src src)
{
	switch (src) {
	case SRC_TUN: return tun_batch(w);
	case SRC_UDP4: return udp_batch(w, 0);
	case SRC_UDP6: return udp_batch(w, 1);
	case SRC_RAW4: return raw_batch(w, 0);
	case SRC_RAW6: return raw_batch(w, 1);
	}
	return 0;
}

/*
 * Busy sources are read again at once; a source that had nothing is left
 * alone until poll says otherwise, checked without blocking every
 * IO_RECHECK busy rounds (which is also when a worker that never runs
 * out of work sees the stop signal).  Reading every source every round
 * cost one empty recvmmsg or read per idle source per round, most of the
 * system calls of a worker under one TCP flow (one busy source of three).
 */
#define IO_RECHECK 4

static void *worker_main(void *arg)
{
	struct esp_worker *w = arg;
	struct esp_soft *es = w->es;
	struct pollfd pfd[6];
	enum io_src src[6];
	bool ready[6];
	unsigned rounds = 0;
	nfds_t n = 0;
	char name[16];

	snprintf(name, sizeof(name), "esp-soft/%u", w->id);
	pthread_setname_np(pthread_self(), name);
	pfd[n++] = (struct pollfd){ .fd = es->stop_fd, .events = POLLIN };
	src[n] = SRC_TUN;
	pfd[n++] = (struct pollfd){ .fd = es->tun.fd[w->id], .events = POLLIN };
	for (int f = 0; f < 2; f++) {
		if (w->udp[f] >= 0) {
			src[n] = f ? SRC_UDP6 : SRC_UDP4;
			pfd[n++] = (struct pollfd){ .fd = w->udp[f], .events = POLLIN };
		}
		if (w->raw[f] >= 0) {
			src[n] = f ? SRC_RAW6 : SRC_RAW4;
			pfd[n++] = (struct pollfd){ .fd = w->raw[f], .events = POLLIN };
		}
	}
	for (nfds_t i = 0; i < n; i++)
		ready[i] = true;
	for (;;) {
		unsigned busy = 0;

		for (nfds_t i = 1; i < n; i++) {
			unsigned r;

			if (!ready[i])
				continue;
			r = src_batch(w, src[i]);
			if (!r)
				ready[i] = false;
			busy += r;
		}
		if (busy && ++rounds % IO_RECHECK)
			continue;
		/* Idle: wait for anything.  Busy: a look at the idle ones. */
		if (poll(pfd, n, busy ? 0 : -1) < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		if (pfd[0].revents)
			break;
		for (nfds_t i = 1; i < n; i++)
			if (pfd[i].revents)
				ready[i] = true;
	}
	return NULL;
}

static void *timer_main(void *arg)
{
	struct esp_soft *es = arg;
	struct pollfd p = { .fd = es->stop_fd, .events = POLLIN };

	pthread_setname_np(pthread_self(), "esp-soft/timer");
	for (;;) {
		int r = poll(&p, 1, 1000);

		if (r > 0)
			break;
		esp_soft_tick(es, 0);
	}
	return NULL;
}

static void worker_free(struct esp_worker *w)
{
	for (int f = 0; f < 2; f++) {
		if (w->udp[f] >= 0)
			close(w->udp[f]);
		if (w->raw[f] >= 0)
			close(w->raw[f]);
	}
	free(w->tx);
	free(w->rx);
	free(w->big);
}

static int worker_init(struct esp_soft *es, struct esp_worker *w, unsigned id)
{
	int gso = 0, gro = 0, err;

	w->es = es;
	w->id = id;
	w->udp[0] = w->udp[1] = w->raw[0] = w->raw[1] = -1;
	for (int f = 0; f < 2; f++) {
		int g1 = 0, g2 = 0;

		if (f == 1 && es->cfg.no_v6)
			break;
		w->udp[f] = udp_open(es, fam_af[f], &g1, &g2);
		if (w->udp[f] < 0) {
			err = w->udp[f];
			/* A host without IPv6 still carries IPv4. */
			if (f == 1 && (err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL)) {
				w->udp[f] = -1;
				break;
			}
			return err;
		}
		gso |= g1;
		gro |= g2;
		if (id == 0 && es->cfg.raw_esp) {
			w->raw[f] = raw_open(es, fam_af[f]);
			if (w->raw[f] < 0) {
				err = w->raw[f];
				w->raw[f] = -1;
				if (f == 0)
					return err;
			}
		}
	}
	w->gso = gso;
	if (id == 0) {
		es->gso = gso;
		es->gro = gro;
		es->raw_open = w->raw[0] >= 0;
	}
	w->tx_slot = (ESP_HEADROOM + es->cfg.mtu + ESP_TAILROOM + 63) & ~(size_t)63;
	w->rx_batch = gro ? IO_GRO_BATCH : IO_BATCH;
	w->rx_sz = gro ? IO_GRO_BUF : es->cfg.mtu + ESP_MAX_OVERHEAD + 64;
	if (w->rx_sz < es->cfg.mtu + ESP_MAX_OVERHEAD + 64)
		w->rx_sz = es->cfg.mtu + ESP_MAX_OVERHEAD + 64;
	w->tx = malloc(IO_BATCH * w->tx_slot);
	w->rx = malloc(w->rx_batch * w->rx_sz);
	if (!w->tx || !w->rx)
		return -ENOMEM;
	if (es->tun.vnet) {
		w->big = malloc(ESP_VNET_HDR_LEN + 65535);
		if (!w->big)
			return -ENOMEM;
	}
	return 0;
}

int esp_io_start(struct esp_soft *es)
{
	char name[16];
	int err;

	snprintf(name, sizeof(name), "%s", es->tun.name);
	err = esp_tun_open(&es->tun, name[0] ? name : NULL, es->n_workers, es->cfg.mtu,
			   !es->cfg.no_offload);
	if (err) {
		xk_err("esp-soft: cannot open TUN device %s: %s", name[0] ? name : "xike%d",
		       strerror(-err));
		snprintf(es->tun.name, sizeof(es->tun.name), "%s", name);
		return err;
	}
	es->stop_fd = eventfd(0, EFD_CLOEXEC);
	es->workers = calloc(es->n_workers, sizeof(*es->workers));
	if (es->stop_fd < 0 || !es->workers) {
		err = es->stop_fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < es->n_workers; i++) {
		es->workers[i].udp[0] = es->workers[i].udp[1] = -1;
		es->workers[i].raw[0] = es->workers[i].raw[1] = -1;
	}
	for (int f = 0; f < 2 && !(f == 1 && es->cfg.no_v6); f++) {
		err = port_free(es, fam_af[f]);
		if (err == -EADDRINUSE) {
			xk_err("esp-soft: UDP port %u (IPv%c) is taken by another socket "
			       "(another IKE daemon?)",
			       es->cfg.nat_port, f ? '6' : '4');
			goto fail;
		}
	}
	ike_open(es);
	for (unsigned i = 0; i < es->n_workers; i++) {
		err = worker_init(es, &es->workers[i], i);
		if (err) {
			xk_err("esp-soft: UDP port %u: %s", es->cfg.nat_port, strerror(-err));
			goto fail;
		}
	}
	ike_start(es);
	for (unsigned i = 0; i < es->n_workers; i++) {
		err = -pthread_create(&es->workers[i].thread, NULL, worker_main, &es->workers[i]);
		if (err)
			goto fail;
		es->workers[i].running = true;
	}
	err = -pthread_create(&es->timer, NULL, timer_main, es);
	if (err)
		goto fail;
	es->timer_running = true;
	xk_info("esp-soft: dev=%s ifindex=%d workers=%u port=%u mark=0x%x gso=%d gro=%d raw=%d "
		"tun_offload=%d",
		es->tun.name, es->tun.ifindex, es->n_workers, es->cfg.nat_port, es->cfg.mark,
		es->gso, es->gro, es->raw_open, es->tun.vnet);
	return 0;
fail:
	esp_io_stop(es);
	return err;
}

void esp_io_stop(struct esp_soft *es)
{
	uint64_t one = 1;

	if (es->stop_fd >= 0 && write(es->stop_fd, &one, sizeof(one)) < 0)
		xk_warn("esp-soft: cannot signal the workers: %s", strerror(errno));
	for (unsigned i = 0; es->workers && i < es->n_workers; i++)
		if (es->workers[i].running)
			pthread_join(es->workers[i].thread, NULL);
	if (es->timer_running)
		pthread_join(es->timer, NULL);
	es->timer_running = false;
	for (unsigned i = 0; es->workers && i < es->n_workers; i++)
		worker_free(&es->workers[i]);
	free(es->workers);
	es->workers = NULL;
	ike_close(es, 0);
	ike_close(es, 1);
	free(es->ike_rx);
	es->ike_rx = NULL;
	if (es->stop_fd >= 0)
		close(es->stop_fd);
	es->stop_fd = -1;
	esp_tun_close(&es->tun);
	es->started = false;
}

/*
 * A datagram of the control thread (IKE, keepalives) from its own IKE
 * socket, or worker 0's: its own sendmsg, no lock against the workers.
 */
int esp_io_send(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		struct iovec *iov, size_t n)
{
	int f = fam_idx(remote->family);
	int fd = es->ike_udp[f] >= 0 ? es->ike_udp[f] : es->workers[0].udp[f];
	union xk_sockaddr ss;
	struct io_ctl ctl;
	struct msghdr m = { .msg_name = &ss, .msg_iov = iov, .msg_iovlen = n };

	if (fd < 0)
		return -EAFNOSUPPORT;
	m.msg_namelen = xk_addr_to_sockaddr(remote, &ss);
	m.msg_control = ctl.buf;
	m.msg_controllen = put_ctl(&ctl, local && local->family == remote->family ? local : NULL,
				   0);
	if (!m.msg_controllen)
		m.msg_control = NULL;
	if (sendmsg(fd, &m, 0) < 0)
		return -errno;
	return 0;
}
