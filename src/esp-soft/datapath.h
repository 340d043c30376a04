/* SPDX-License-Identifier: ISC */
/*
 * One packet through esp-soft, with no I/O (datapath.c): the code a
 * worker runs per packet, with the table lock held for reading.  Not
 * installed.
 */
#ifndef ESP_SOFT_DATAPATH_H
#define ESP_SOFT_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"
#include "esp-soft/esp.h"
#include "esp-soft/esp_soft.h"

/* Room around an inner packet for encapsulation in place. */
#define ESP_HEADROOM (ESP_HDR_LEN + ESP_MAX_IV)
#define ESP_TAILROOM (15 + 2 + ESP_MAX_ICV) /* padding to 16, trailer, ICV */

struct esp_soft;

/* As esp_soft_input(), which takes the lock around it. */
int esp_dp_input(struct esp_soft *es, unsigned slot, const struct xk_addr *local,
		 const struct xk_addr *remote, bool udp, uint8_t *buf, size_t len,
		 struct esp_soft_rx *rx);
/*
 * Encapsulate the IP packet at ip in place: `head` writable bytes precede
 * it (at least ESP_HEADROOM) and `tail` follow it (ESP_TAILROOM is always
 * enough).  The ESP packet's length, with *pkt at its first byte.
 */
int esp_dp_output(struct esp_soft *es, unsigned slot, uint8_t *ip, size_t len, size_t head,
		  size_t tail, uint8_t **pkt, struct esp_soft_tx *tx);

#endif
