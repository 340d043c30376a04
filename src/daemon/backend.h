/* SPDX-License-Identifier: ISC */
/*
 * The ESP backend: kernel XFRM or userspace ESP, chosen once at start-up,
 * and the one ops table through which the engine reaches it.
 */
#ifndef XD_BACKEND_H
#define XD_BACKEND_H

#include <stddef.h>

#include "common/sa.h"

struct xiked;
struct xd_conn;
struct ike_sa_info;
struct ike_child_info;

/*
 * The engine's kernel ops (ctx: the daemon): the backend's own, with the
 * fault layer in front of SA installs and trap policies shared with the
 * CHILD_SAs they bring up.
 */
extern const struct xk_kernel_ops xd_backend_ops;

/* The kernel's counters of a CHILD_SA, each way (zero where unknown). */
void xd_backend_child_stats(struct xiked *d, const struct ike_child_info *c,
			    struct xk_sa_stats *in, struct xk_sa_stats *out);

/* Choose and open the backend (the `backend` setting); no thread yet. */
int xd_backend_open(struct xiked *d, char *err, size_t errlen);
/* Start its threads (userspace ESP's), after the privilege drop. */
int xd_backend_start(struct xiked *d, char *err, size_t errlen);
/* Remove what we installed (traps, owned kernel entries) and close it. */
void xd_backend_close(struct xiked *d);
/* Check that the backend carries every algorithm a conn may negotiate. */
int xd_backend_check_conn(struct xiked *d, const struct xd_conn *c, char *err, size_t errlen);
/*
 * The backend's event socket (ACQUIRE, EXPIRE, MAPPING), and reading it:
 * the number of events, or -ENOBUFS if some were lost (the socket overran).
 */
int xd_backend_events_fd(const struct xiked *d);
int xd_backend_events_read(struct xiked *d, xk_event_cb cb, void *ctx);
/*
 * After lost events: read back the kernel's SAs and policies of ours, let
 * the engine reconcile its CHILD_SAs with them (ike_engine_kernel_sync),
 * and remove what nothing holds.
 */
void xd_backend_resync(struct xiked *d);

#endif
