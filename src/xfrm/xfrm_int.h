/* SPDX-License-Identifier: ISC */
/* Inside the XFRM backend: shared by xfrm.c and xfrm_msg.c. */
#ifndef XFRM_INT_H
#define XFRM_INT_H

#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <linux/xfrm.h>

#include "xfrm/xfrm.h"

void xfrm_addr_put(xfrm_address_t *dst, const struct xk_addr *a);
void xfrm_addr_get(struct xk_addr *a, const xfrm_address_t *src, uint16_t family,
		   uint16_t port_be);
int xfrm_sel_put(struct xfrm_selector *sel, const struct xk_ts *src, const struct xk_ts *dst);
void xfrm_sel_get(const struct xfrm_selector *sel, struct xk_ts *src, struct xk_ts *dst);

#endif
