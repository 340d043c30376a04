/* SPDX-License-Identifier: ISC */
/*
 * IKE on the NAT-T port, the control thread's side (ike_port.c).  A BPF
 * program on the port's SO_REUSEPORT group steers IKE (the non-ESP marker,
 * RFC 3948 2.2) to sockets of the control thread's own; IKE that reaches
 * a worker anyway comes through the IKE queue.  One epoll set watches
 * both, and is what esp_soft_ike_fd() hands out.  Not installed.
 */
#ifndef ESP_SOFT_IKE_PORT_H
#define ESP_SOFT_IKE_PORT_H

#include <stddef.h>

#include "common/sa.h"
#include "esp-soft/esp_soft.h"

struct esp_soft;
struct iovec;

/* The epoll set, with the IKE queue in it; 0 or a negative errno. */
int esp_ike_init(struct esp_soft *es);
void esp_ike_free(struct esp_soft *es);

/* At start (worker.c): the sockets, bound before any worker's... */
void esp_ike_open(struct esp_soft *es);
/* ...the program, once the workers' sockets are in... */
void esp_ike_start(struct esp_soft *es);
/* ...and at stop. */
void esp_ike_close(struct esp_soft *es);

/* Every waiting IKE datagram to cb, as esp_soft_ike_read(). */
int esp_ike_read(struct esp_soft *es, esp_soft_ike_cb cb, void *ctx);
/* One datagram of the control thread (IKE, keepalives) to remote. */
int esp_ike_send(struct esp_soft *es, const struct xk_addr *local, const struct xk_addr *remote,
		 struct iovec *iov, size_t n);

#endif
