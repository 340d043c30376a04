/* SPDX-License-Identifier: ISC */
/*
 * One worker thread of esp-soft and its buffers, allocated once at start
 * (worker.c).  Per batch a worker runs one of two halves: outbound.c (TUN
 * queue -> ESP -> UDP) or inbound.c (UDP or raw socket -> ESP -> TUN).
 * Not installed.
 */
#ifndef ESP_SOFT_WORKER_H
#define ESP_SOFT_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/sockaddr.h"
#include "esp-soft/esp_soft.h"
#include "esp-soft/offload.h"
#include "esp-soft/sock.h"

#define IO_BATCH 64      /* packets per TUN batch and per non-GRO recvmmsg */
#define IO_GRO_BATCH 16  /* 64 KiB datagrams per recvmmsg with GRO */
#define IO_GRO_BUF 65536

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
	struct esp_cmsg tx_ctl[2][IO_BATCH];

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
	struct esp_cmsg rx_ctl[IO_BATCH];
};

/* outbound.c: what the TUN queue holds (up to a batch), encrypted and sent;
 * returns how many reads there were. */
unsigned esp_out_batch(struct esp_worker *w);
/* inbound.c: a batch from the UDP (or raw) socket of family index f,
 * decrypted and written to the TUN device; returns how many datagrams. */
unsigned esp_in_udp_batch(struct esp_worker *w, int f);
unsigned esp_in_raw_batch(struct esp_worker *w, int f);

#endif
