/* SPDX-License-Identifier: ISC */
/*
 * Trap policies of start = trap (and dpd-action = trap) connections: an
 * outbound policy without SA whose first packet makes the backend send
 * ACQUIRE.  They go straight to the backend, past the engine's ops.
 */
#ifndef XD_TRAP_H
#define XD_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sa.h"

struct xiked;
struct xd_conn;

int xd_traps_install(struct xiked *d, const struct xd_conn *c, uint32_t reqid);
void xd_traps_remove(struct xiked *d, const char *conn);
/* Remove every trap policy (shutdown). */
void xd_traps_clear(struct xiked *d);
bool xd_traps_has(const struct xiked *d, const char *conn);
/* The connection whose trap has this reqid, or NULL. */
const char *xd_traps_conn(const struct xiked *d, uint32_t reqid);
/*
 * The trap policy with the selectors and direction of `pol`, or NULL.  The
 * engine's ops (backend.c) share it with the CHILD_SA it brings up.
 */
const struct xd_trap *xd_traps_find(const struct xiked *d, const struct xk_policy *pol);

#endif
