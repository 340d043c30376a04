/* SPDX-License-Identifier: ISC */
/*
 * Fault injection for tests (XIKE_FAULTS="drop-in=3,dup-out=2,fail-install=1"):
 * the N-th inbound / outbound IKE datagram is dropped or duplicated, the
 * N-th SA install fails.  Off unless the environment variable is set.
 *
 * The one layer where faults happen: net.c asks it for every IKE datagram
 * in and out, whichever socket carries it (ours, or userspace ESP's NAT-T
 * socket), and backend.c for every SA install, whichever backend takes it.
 * It knows nothing of either.
 */
#ifndef XD_FAULTS_H
#define XD_FAULTS_H

#include <stdbool.h>

struct xd_faults {
	unsigned drop_in, dup_in, drop_out, dup_out, fail_install;
	unsigned n_in, n_out, n_install;
};

/* Parse XIKE_FAULTS into *f; false if malformed. */
bool xd_faults_parse(const char *spec, struct xd_faults *f);

/* How many times to hand on the next inbound (outbound) datagram: 0, 1 or 2. */
unsigned xd_faults_in(struct xd_faults *f);
unsigned xd_faults_out(struct xd_faults *f);

/* Whether the next SA install is to fail. */
bool xd_faults_install(struct xd_faults *f);

#endif
