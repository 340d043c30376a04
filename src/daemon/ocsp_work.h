/* SPDX-License-Identifier: ISC */
/*
 * Where the engine's pending operations go (ops.submit): IKE_WORK_OCSP to
 * the OCSP client on the loop (ocsp_fetch.h), the computations to the
 * worker threads when there are any (workers.h), else the engine does
 * them inline (ops.submit_takes says no).
 */
#ifndef XD_OCSP_WORK_H
#define XD_OCSP_WORK_H

#include <stdbool.h>

#include "ike/ike.h"

struct xiked;

/* ops.submit and ops.submit_takes; ctx is the daemon. */
void xd_submit(void *ctx, struct ike_work *w);
bool xd_submit_takes(void *ctx, enum ike_work_kind kind);
/* After ike_engine_free: release the OCSP works not completed. */
void xd_ocsp_works_free(struct xiked *d);

#endif
