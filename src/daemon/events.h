/* SPDX-License-Identifier: ISC */
/*
 * What the daemon does on the engine's and the backend's events: the one
 * place where they fan out to connections, routes and the control socket.
 */
#ifndef XD_EVENTS_H
#define XD_EVENTS_H

#include "ike/ike.h"

struct xiked;

/* The engine's event op (struct ike_ops .event; ctx: the daemon). */
void xd_on_engine_event(void *ctx, const struct ike_event *ev);
/* Watch the backend's events (ACQUIRE, EXPIRE, MAPPING), once it is open. */
void xd_events_start(struct xiked *d);
void xd_events_stop(struct xiked *d);

#endif
