/* SPDX-License-Identifier: ISC */
/*
 * A worker's inbound half: datagrams from its NAT-T socket (recvmmsg, GRO
 * cut back into segments) or raw ESP, decapsulated and written to the TUN
 * device, consecutive TCP segments of a flow coalesced into one
 * super-packet where the device takes offloads.
 */
#define _GNU_SOURCE
#include <string.h>

#include "common/bytes.h"
#include "common/sockaddr.h"
#include "esp-soft/datapath.h"
#include "esp-soft/offload.h"
#include "esp-soft/sock.h"
#include "esp-soft/state.h"
#include "esp-soft/worker.h"

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

static int recv_batch(struct esp_worker *w, int fd)
{
	return esp_sock_recv(fd, w->rx_msg, w->rx_iov, w->rx_name, w->rx_ctl, w->rx, w->rx_sz,
			     w->rx_batch);
}

unsigned esp_in_udp_batch(struct esp_worker *w, int f)
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

		if (!esp_sock_udp_meta(es, w->id, &w->rx_msg[i], &w->rx_name[i], &local, &remote,
				       &seg))
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

/* Raw ESP (worker 0): IPv4 sockets see the IP header, IPv6 ones do not. */
unsigned esp_in_raw_batch(struct esp_worker *w, int f)
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
		esp_sock_parse_ctl(h, &local, &seg);
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
