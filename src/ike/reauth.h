/* SPDX-License-Identifier: ISC */
/*
 * Reauthentication, make-before-break (RFC 7296 section 2.8.3; reauth.c).
 */
#ifndef XK_IKE_REAUTH_H
#define XK_IKE_REAUTH_H

#include "ike/ike_sa.h"

/* Start reauthenticating an established SA (ike_engine_reauth). */
int ike_reauth_start(struct ike_sa *old);
/* sa, new and nothing sent yet, is to replace old.  0 or -ENOMEM. */
int ike_reauth_link(struct ike_sa *sa, struct ike_sa *old);
/* The SA that `sa` reauthenticates, while both live; else NULL. */
struct ike_sa *ike_reauth_old(struct ike_sa *sa);
/* The old SA's CHILD_SA that IKE_AUTH of a reauthentication carries again. */
struct ike_child *ike_reauth_first_child(struct ike_sa *old);
/*
 * The new SA is established: make the old SA's other CHILD_SAs again on
 * it, then delete the old SA.  `carried`: the old CHILD_SA (inbound SPI)
 * IKE_AUTH made again already.
 */
void ike_reauth_established(struct ike_sa *sa, uint32_t carried);
/* The new SA died before the old one was told to go: keep it, retry later. */
void ike_reauth_failed(struct ike_sa *sa, const char *reason);

#endif
