/* SPDX-License-Identifier: ISC */
/*
 * esp-soft's threads (io.h): one worker per queue of the TUN device, each
 * with its own SO_REUSEPORT UDP sockets on the NAT-T port, moving packets
 * in batches (TUN reads until empty, recvmmsg, sendmmsg with UDP GSO runs,
 * UDP GRO on receive) through buffers allocated once at start; and the
 * housekeeping thread.  Linux-specific throughout (see tun.h for others).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "esp-soft/datapath.h"
#include "esp-soft/ike_port.h"
#include "esp-soft/io.h"
#include "esp-soft/sad.h"
#include "esp-soft/sock.h"
#include "esp-soft/state.h"
#include "esp-soft/worker.h"

/* What a worker reads, besides its stop signal. */
enum io_src { SRC_TUN, SRC_UDP4, SRC_UDP6, SRC_RAW4, SRC_RAW6 };

static unsigned src_batch(struct esp_worker *w, enum io_src src)
{
	switch (src) {
	case SRC_TUN: return esp_out_batch(w);
	case SRC_UDP4: return esp_in_udp_batch(w, 0);
	case SRC_UDP6: return esp_in_udp_batch(w, 1);
	case SRC_RAW4: return esp_in_raw_batch(w, 0);
	case SRC_RAW6: return esp_in_raw_batch(w, 1);
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
		esp_sad_tick(es, 0);
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
		w->udp[f] = esp_sock_udp_open(es, esp_sock_af(f), &g1, &g2);
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
			w->raw[f] = esp_sock_raw_open(es, esp_sock_af(f));
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

int esp_io_open(struct esp_soft *es)
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
		err = esp_sock_port_free(es, esp_sock_af(f));
		if (err == -EADDRINUSE) {
			xk_err("esp-soft: UDP port %u (IPv%c) is taken by another socket "
			       "(another IKE daemon?)",
			       es->cfg.nat_port, f ? '6' : '4');
			goto fail;
		}
	}
	esp_ike_open(es);
	for (unsigned i = 0; i < es->n_workers; i++) {
		err = worker_init(es, &es->workers[i], i);
		if (err) {
			xk_err("esp-soft: UDP port %u: %s", es->cfg.nat_port, strerror(-err));
			goto fail;
		}
	}
	esp_ike_start(es);
	return 0;
fail:
	esp_io_stop(es);
	return err;
}

/* The threads take the caller's credentials: start them after a drop. */
int esp_io_run(struct esp_soft *es)
{
	int err;

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
	esp_ike_close(es);
	if (es->stop_fd >= 0)
		close(es->stop_fd);
	es->stop_fd = -1;
	esp_tun_close(&es->tun);
	es->started = false;
	es->running = false;
}
