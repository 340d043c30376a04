/* SPDX-License-Identifier: ISC */
/*
 * Per-connection and per-CHILD_SA metrics (metrics.c): what the engine's
 * events counted for each connection (handshakes, rekeys, the last
 * handshake's duration, failures by reason), and what the engine and the
 * kernel say now (up or down, SAs, established time, bytes and packets).
 */
#ifndef XD_METRICS_H
#define XD_METRICS_H

#include <json-c/json.h>

#include "daemon/daemon.h"

/* Count an engine event for its connection. */
void xd_metrics_event(struct xiked *d, const struct ike_event *ev);

/*
 * Add "connections": {NAME: {...}} and "children": [{...}] to resp, for
 * every configured connection (and those only seen in events since a
 * reload removed them); the kernel is asked for each CHILD_SA's counters.
 */
void xd_metrics_add(struct xiked *d, json_object *resp);

void xd_metrics_free(struct xiked *d);

#endif
