/* SPDX-License-Identifier: ISC */
/*
 * Connection actions: what the control socket, signals and events ask of
 * a configured connection.  Each returns 0 or -errno, with a one-line
 * message in err for the control socket's answer.
 */
#ifndef XD_CONN_H
#define XD_CONN_H

#include <stddef.h>

#include "ike/ike.h"

struct xiked;

/* Set up the watchers of retries and dpd-actions; once, at start-up. */
void xd_conns_init(struct xiked *d);
/* Hand every configured connection to the engine, install its traps. */
int xd_conns_load(struct xiked *d, char *err, size_t errlen);
/* Initiate the start = start connections. */
void xd_conns_start(struct xiked *d);
/* Delete every IKE SA (shutdown; the peers' answers are not waited for). */
void xd_conns_stop(struct xiked *d);
/* At exit: the devices of interface = NAME go (those xiked made). */
void xd_conns_ifaces_down(struct xiked *d);

/* -EALREADY: the connection is up or being negotiated. */
int xd_initiate(struct xiked *d, const char *conn, char *err, size_t errlen);
int xd_terminate(struct xiked *d, const char *conn, char *err, size_t errlen);
/* What `rekey` renews: the CHILD SAs, the IKE SA, or the IKE SA by reauthenticating. */
enum xd_rekey {
	XD_REKEY_CHILD,
	XD_REKEY_IKE,
	XD_REKEY_REAUTH,
};
int xd_rekey(struct xiked *d, const char *conn, enum xd_rekey what, char *err, size_t errlen);
/* Read the config file again; the running config stays if it is refused. */
int xd_reload(struct xiked *d, char *err, size_t errlen);

/*
 * An engine event as it concerns connections: a start = start connection
 * that failed is retried, one whose peer died gets its dpd-action.
 */
void xd_conn_event(struct xiked *d, const struct ike_event *ev);

#endif
