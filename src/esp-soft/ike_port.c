/* SPDX-License-Identifier: ISC */
/*
 * IKE on the NAT-T port, the control thread's side (ike_port.h): its own
 * sockets and the steering program that fills them, reading IKE from them
 * and from the queue, and sending IKE and keepalives.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "common/sockaddr.h"
#include "esp-soft/datapath.h"
#include "esp-soft/ike_port.h"
#include "esp-soft/offload.h"
#include "esp-soft/queue.h"
#include "esp-soft/sock.h"
#include "esp-soft/state.h"
#include "esp-soft/worker.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51 /* <asm-generic/socket.h>, Linux 4.5 */
#endif

#define IKE_RX_BATCH 4   /* datagrams per recvmmsg on the IKE socket */

int esp_ike_init(struct esp_soft *es)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = es->ike.fd };

	es->ike_epoll = epoll_create1(EPOLL_CLOEXEC);
	if (es->ike_epoll < 0 || epoll_ctl(es->ike_epoll, EPOLL_CTL_ADD, es->ike.fd, &ev) < 0)
		return -errno;
	return 0;
}

void esp_ike_free(struct esp_soft *es)
{
	if (es->ike_epoll >= 0)
		close(es->ike_epoll);
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
void esp_ike_open(struct esp_soft *es)
{
	for (int f = 0; f < 2; f++) {
		int gso, gro;

		if (f == 1 && es->cfg.no_v6)
			break;
		/* Errors show when the workers open theirs. */
		es->ike_udp[f] = esp_sock_udp_open(es, esp_sock_af(f), &gso, &gro);
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

void esp_ike_close(struct esp_soft *es)
{
	ike_close(es, 0);
	ike_close(es, 1);
	free(es->ike_rx);
	es->ike_rx = NULL;
}

void esp_ike_start(struct esp_soft *es)
{
	for (int f = 0; f < 2; f++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = es->ike_udp[f] };
		int err;

		if (es->ike_udp[f] < 0)
			continue;
		err = es->workers[0].udp[f] < 0 ? -EAFNOSUPPORT
						: ike_steer(es->ike_udp[f], es->n_workers);
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

/* Everything waiting on IKE socket fd, to cb; returns the IKE datagrams. */
static int ike_sock_read(struct esp_soft *es, int fd, esp_soft_ike_cb cb, void *ctx)
{
	struct mmsghdr msg[IKE_RX_BATCH];
	struct iovec iov[IKE_RX_BATCH];
	union xk_sockaddr name[IKE_RX_BATCH];
	struct esp_cmsg ctl[IKE_RX_BATCH];
	unsigned slot = es->n_workers;
	int total = 0, r;

	do {
		r = esp_sock_recv(fd, msg, iov, name, ctl, es->ike_rx, es->ike_rx_sz, IKE_RX_BATCH);
		for (int i = 0; i < r; i++) {
			size_t len = msg[i].msg_len, seg, one;
			uint8_t *buf = iov[i].iov_base;
			struct xk_addr local, remote;

			if (!esp_sock_udp_meta(es, slot, &msg[i], &name[i], &local, &remote, &seg))
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

int esp_ike_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx)
{
	struct epoll_event ev[3];
	int total = 0, n;

	/* Only the sources that have something: no empty reads. */
	n = epoll_wait(es->ike_epoll, ev, 3, 0);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == es->ike.fd)
			total += esp_ike_queue_read(es, cb, ctx);
		else
			total += ike_sock_read(es, ev[i].data.fd, cb, ctx);
	}
	return total;
}

/*
 * A datagram of the control thread (IKE, keepalives) from its own IKE
 * socket, or worker 0's: its own sendmsg, no lock against the workers.
 */
int esp_ike_send(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 struct iovec *iov, size_t n)
{
	int f = esp_sock_idx(remote->family);
	int fd = es->ike_udp[f] >= 0 ? es->ike_udp[f] : es->workers[0].udp[f];
	union xk_sockaddr ss;
	struct esp_cmsg ctl;
	struct msghdr m = { .msg_name = &ss, .msg_iov = iov, .msg_iovlen = n };

	if (fd < 0)
		return -EAFNOSUPPORT;
	m.msg_namelen = xk_addr_to_sockaddr(remote, &ss);
	m.msg_control = ctl.buf;
	m.msg_controllen =
		esp_sock_put_ctl(&ctl, local && local->family == remote->family ? local : NULL, 0);
	if (!m.msg_controllen)
		m.msg_control = NULL;
	if (sendmsg(fd, &m, 0) < 0)
		return -errno;
	return 0;
}
