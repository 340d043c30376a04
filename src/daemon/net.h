/* SPDX-License-Identifier: ISC */
/*
 * IKE datagrams in and out: our UDP sockets, or with userspace ESP its
 * NAT-T socket.  Every datagram passes the fault layer (faults.h) here,
 * whichever socket carries it.
 */
#ifndef XD_NET_H
#define XD_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

struct xiked;

/* Open the IKE sockets (and watch userspace ESP's, if it is the backend). */
int xd_net_open(struct xiked *d);
void xd_net_close(struct xiked *d);

/* The engine's ops: send, keepalive, and the source address towards a peer. */
void xd_net_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		 const uint8_t *buf, size_t len);
void xd_net_keepalive(void *ctx, const struct xk_addr *local, const struct xk_addr *remote);
int xd_net_source(void *ctx, const struct xk_addr *remote, struct xk_addr *local);

#endif
