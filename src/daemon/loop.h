/* SPDX-License-Identifier: ISC */
/*
 * The ground of the daemon: the clock and the engine's timer.  Calls the
 * engine and libev, nothing of the daemon.
 */
#ifndef XD_LOOP_H
#define XD_LOOP_H

#include <stdint.h>

struct xiked;

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t xd_now_ms(void);
/* The engine's clock (struct ike_ops .now_ms). */
uint64_t xd_engine_now(void *ctx);
/* Set up the engine's timer; once, before the first xd_engine_kick(). */
void xd_loop_init(struct xiked *d);
/* Re-arm the engine's timer after anything that may have changed it. */
void xd_engine_kick(struct xiked *d);

#endif
