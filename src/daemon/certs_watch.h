/* SPDX-License-Identifier: ISC */
/*
 * The certificate expiry check of the running daemon: at start, at each
 * reload and once a day, a warning and a `cert-expiring` (or
 * `cert-expired`) event for each certificate, CA or CRL a connection uses
 * that expires within cert-expiry-warning days.
 */
#ifndef XD_CERTS_WATCH_H
#define XD_CERTS_WATCH_H

#include <stddef.h>

struct xiked;

/* Check now and every day after; once, at start-up. */
void xd_certs_watch_start(struct xiked *d);
void xd_certs_watch_stop(struct xiked *d);
/* Check now (the reload calls it); returns how many were reported. */
size_t xd_certs_check(struct xiked *d);

#endif
