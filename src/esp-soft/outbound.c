/* SPDX-License-Identifier: ISC */
/*
 * A worker's outbound half: IP packets read from its TUN queue into slots
 * with room on both sides (TCP super-packets cut into segments first),
 * encapsulated in place, and sent as ESP in UDP in sendmmsg batches of UDP
 * GSO runs (or as raw ESP).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "common/sockaddr.h"
#include "esp-soft/datapath.h"
#include "esp-soft/offload.h"
#include "esp-soft/sock.h"
#include "esp-soft/state.h"
#include "esp-soft/worker.h"

#define IO_GSO_MAX 64    /* the kernel's UDP_MAX_SEGMENTS */
#define IO_GSO_BYTES 65000

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
	struct esp_cmsg ctl;
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
	m.msg_controllen = esp_sock_put_ctl(&ctl, &src, 0);
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
	int f = esp_sock_idx(t->remote.family), fd = w->es->workers[0].raw[f];
	struct xk_addr to = t->remote;
	union xk_sockaddr ss;
	struct esp_cmsg ctl;
	struct iovec iov = { w->tx_pkt[i], w->tx_len[i] };
	struct msghdr m = { .msg_name = &ss, .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd < 0) {
		esp_drop(w->es, w->id, ESP_SOFT_DROP_IO);
		return;
	}
	to.port = 0; /* raw IP: no port (IPv6 would take it for the protocol) */
	m.msg_namelen = xk_addr_to_sockaddr(&to, &ss);
	m.msg_control = ctl.buf;
	m.msg_controllen = esp_sock_put_ctl(&ctl, &t->local, 0);
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
		unsigned j = i + 1, f = (unsigned)esp_sock_idx(t->remote.family), m = n[f];
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
		h->msg_controllen = esp_sock_put_ctl(&w->tx_ctl[f][m], &t->local,
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
unsigned esp_out_batch(struct esp_worker *w)
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
