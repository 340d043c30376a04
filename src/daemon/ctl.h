/* SPDX-License-Identifier: ISC */
/*
 * The control socket: JSON requests (docs/control.md) answered through the
 * connection actions (conn.h), and the event stream for subscribers.
 */
#ifndef XD_CTL_H
#define XD_CTL_H

#include <json-c/json.h>

#include "ike/ike.h"

struct xiked;

int xd_ctl_open(struct xiked *d);
void xd_ctl_close(struct xiked *d);
/* An engine event as one JSON line to every subscriber (none: nothing made). */
void xd_ctl_event(struct xiked *d, const struct ike_event *ev);
/* A daemon event (not the engine's) to every subscriber; takes ev. */
void xd_ctl_publish(struct xiked *d, json_object *ev);

#endif
