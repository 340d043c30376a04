/* SPDX-License-Identifier: ISC */
/*
 * Reauthentication of an IKE SA (RFC 7296 section 2.8.3), make-before-break:
 *
 *   new IKE SA:  IKE_SA_INIT, IKE_AUTH carrying the first CHILD_SA again
 *                (fresh nonces and key exchange, the PSK again, no
 *                INITIAL_CONTACT: the peer is not to drop the old SA)
 *                CREATE_CHILD_SA for each further CHILD_SA
 *   old IKE SA:  INFORMATIONAL DELETE, which takes its CHILD_SAs along
 *
 * The new CHILD_SAs take over the reqids and kernel policies of the ones
 * they replace (child_install finds them on the old SA), so no packet
 * passes the policies while the SAs change, and the old SA goes only once
 * its successors are installed.  The old SA names the new one in
 * successor_spi while REAUTHING; the new one is REAUTH_NEW until it
 * tells the old one to go, and finds the old one through the engine's
 * short list of reauthentications under way (no bytes in every SA).  If the new SA fails, the old one stays and,
 * with a reauth time configured, tries again a little later; if the old
 * SA dies first, the new one carries on as an IKE SA of its own.
 */
#include "ike/reauth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "ike/engine.h"
#include "ike/task.h"

/* A failed attempt is tried again after this many seconds, plus as many at random. */
#define REAUTH_RETRY_S 10

/* A reauthentication under way: the new SA and the one it replaces. */
struct ike_reauth {
	struct ike_reauth *next;
	uint64_t new_spi, old_spi; /* local SPIs */
};

int ike_reauth_link(struct ike_sa *sa, struct ike_sa *old)
{
	struct ike_reauth **head = ike_reauths(sa->eng), *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->new_spi = ike_sa_local_spi(sa);
	r->old_spi = ike_sa_local_spi(old);
	r->next = *head;
	*head = r;
	ike_sa_set_succ(sa, IKE_SUCC_REAUTH_NEW);
	ike_sa_set_succ(old, IKE_SUCC_REAUTHING);
	old->successor_spi = r->new_spi;
	return 0;
}

/* The new SA is done with the old one, whichever way it went. */
static void unlink_reauth(struct ike_sa *sa)
{
	uint64_t spi = ike_sa_local_spi(sa);

	if (sa->succ == IKE_SUCC_REAUTH_NEW)
		ike_sa_set_succ(sa, IKE_SUCC_NONE);
	for (struct ike_reauth **pp = ike_reauths(sa->eng); *pp; pp = &(*pp)->next) {
		if ((*pp)->new_spi == spi) {
			struct ike_reauth *r = *pp;

			*pp = r->next;
			free(r);
			return;
		}
	}
}

struct ike_sa *ike_reauth_old(struct ike_sa *sa)
{
	uint64_t spi = ike_sa_local_spi(sa);
	struct ike_sa *o;

	if (sa->succ != IKE_SUCC_REAUTH_NEW)
		return NULL;
	for (struct ike_reauth *r = *ike_reauths(sa->eng); r; r = r->next) {
		if (r->new_spi != spi)
			continue;
		o = ike_engine_find_sa(sa->eng, r->old_spi);
		/* Gone, or no longer waiting for this one. */
		return o && o->state != IKE_S_DEAD && o->succ == IKE_SUCC_REAUTHING &&
				       o->successor_spi == spi
			       ? o
			       : NULL;
	}
	return NULL;
}

/* A CHILD_SA to make again: up, and neither replaced nor on its way out. */
static bool to_carry(const struct ike_child *c)
{
	return c->state == CHILD_S_INSTALLED && c->succ != CHILD_SUCC_REPLACED && !c->retire_ms;
}

struct ike_child *ike_reauth_first_child(struct ike_sa *old)
{
	struct ike_child *first = NULL;

	/* The list is newest first: the last one is the oldest. */
	for (struct ike_child *c = old->children; c; c = c->next)
		if (to_carry(c))
			first = c;
	return first;
}

int ike_reauth_start(struct ike_sa *old)
{
	struct ike_sa *sa;

	if (old->state != IKE_S_ESTABLISHED || old->conn->deleted)
		return -ENOENT;
	if (old->succ != IKE_SUCC_NONE)
		return -EALREADY;
	/* A new IKE_SA_INIT needs somewhere to go. */
	if (!old->conn->remote.family)
		return -EDESTADDRREQ;
	xk_info("reauthenticating conn=%s spi=%016llx_%016llx", old->conn->name,
		(unsigned long long)old->spi_i, (unsigned long long)old->spi_r);
	sa = ike_sa_initiate(old->eng, old->conn, old);
	return sa ? 0 : -ENOMEM;
}

/*
 * A task without an exchange: it runs once the CREATE_CHILD_SA exchanges
 * queued before it are over, tells the old SA to go and ends at once.
 */
static int done_build(struct ike_task *t, struct ike_sa *sa, struct ike_mb *mb)
{
	struct ike_sa *old = ike_reauth_old(sa);
	struct ike_task *del;

	(void)t;
	(void)mb;
	unlink_reauth(sa);
	if (!old)
		return -ECANCELED;
	/* Replaced: its end is no outage (no IKE_DOWN). */
	ike_sa_set_succ(old, IKE_SUCC_REPLACED);
	ike_stats_mut(sa->eng)->reauths++;
	xk_info("reauthentication done conn=%s: deleting IKE SA %016llx_%016llx, "
		"replaced by %016llx_%016llx",
		sa->conn->name, (unsigned long long)old->spi_i, (unsigned long long)old->spi_r,
		(unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r);
	del = old->state == IKE_S_ESTABLISHED ? task_delete_ike_new() : NULL;
	if (del)
		ike_sa_queue(old, del);
	return -ECANCELED;
}

static enum ike_task_result done_process(struct ike_task *t, struct ike_sa *sa,
					 const struct ike_msg *msg)
{
	(void)t;
	(void)sa;
	(void)msg;
	return IKE_TASK_DONE;
}

static void done_destroy(struct ike_task *t)
{
	free(t);
}

static const struct ike_task_ops done_ops = {
	.name = "reauth_done",
	.exch = IKEV2_EXCH_INFORMATIONAL,
	.build_i = done_build,
	.process_i = done_process,
	.destroy = done_destroy,
};

void ike_reauth_established(struct ike_sa *sa, uint32_t carried)
{
	struct ike_sa *old = ike_reauth_old(sa);
	struct ike_task *t;

	if (!old) {
		unlink_reauth(sa);
		return;
	}
	for (struct ike_child *c = old->children; c; c = c->next) {
		if (!to_carry(c) || c->spi_in == carried)
			continue;
		t = task_child_copy_new(c->spi_in);
		if (t)
			ike_sa_queue(sa, t);
	}
	t = calloc(1, sizeof(*t));
	if (t) {
		t->ops = &done_ops;
		ike_sa_queue(sa, t);
	} else {
		done_build(NULL, sa, NULL);
	}
}

void ike_reauth_failed(struct ike_sa *sa, const char *reason)
{
	struct ike_sa *old = ike_reauth_old(sa);
	uint32_t r = 0, delay;

	unlink_reauth(sa);
	if (!old)
		return;
	ike_stats_mut(sa->eng)->reauths_failed++;
	ike_sa_set_succ(old, IKE_SUCC_NONE);
	old->successor_spi = 0;
	if (!old->conn->reauth_time_s || old->state != IKE_S_ESTABLISHED) {
		xk_notice("reauthentication failed conn=%s: %s; IKE SA %016llx_%016llx stays",
			  old->conn->name, reason, (unsigned long long)old->spi_i,
			  (unsigned long long)old->spi_r);
		return;
	}
	ike_random(&r, sizeof(r));
	delay = REAUTH_RETRY_S + r % REAUTH_RETRY_S;
	old->reauth_ms = ike_now(sa->eng) + (uint64_t)delay * 1000;
	xk_notice("reauthentication failed conn=%s: %s; IKE SA %016llx_%016llx stays, "
		  "trying again in %u s",
		  old->conn->name, reason, (unsigned long long)old->spi_i,
		  (unsigned long long)old->spi_r, delay);
	ike_sa_schedule(old);
}
