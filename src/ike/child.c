/* SPDX-License-Identifier: ISC */
/*
 * CHILD_SAs: their state and succession, their lists on the IKE SAs and
 * moves between them, the lookups by SPI, and their end.  Negotiation is
 * in child_negotiate.c, the kernel's half in child_kernel.c.
 */
#include "ike/child.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ike/engine.h"

static const char *const child_state_names[] = {
	[CHILD_S_CREATING] = "CREATING",
	[CHILD_S_INSTALLED] = "INSTALLED",
	[CHILD_S_DELETING] = "DELETING",
	[CHILD_S_DELETED] = "DELETED",
};

bool child_set_state(struct ike_child *c, enum child_state to)
{
	static const unsigned allowed[] = {
		[CHILD_S_CREATING] = 1u << CHILD_S_INSTALLED | 1u << CHILD_S_DELETED,
		[CHILD_S_INSTALLED] = 1u << CHILD_S_DELETING | 1u << CHILD_S_DELETED,
		[CHILD_S_DELETING] = 1u << CHILD_S_DELETED,
		[CHILD_S_DELETED] = 0,
	};

	if (!(allowed[c->state] & (1u << to))) {
		xk_err("illegal CHILD_SA transition %s -> %s spi_in=%08x",
		       child_state_names[c->state], child_state_names[to], c->spi_in);
		return false;
	}
	xk_debug("CHILD_SA %08x_i %08x_o %s -> %s", c->spi_in, c->spi_out,
		 child_state_names[c->state], child_state_names[to]);
	c->state = to;
	return true;
}

static const char *const child_succ_names[] = {
	[CHILD_SUCC_NONE] = "NONE",
	[CHILD_SUCC_REKEYING] = "REKEYING",
	[CHILD_SUCC_COLLIDED] = "COLLIDED",
	[CHILD_SUCC_REPLACED] = "REPLACED",
};

/*
 * REPLACED is reachable from all, and left only when what replaced it goes
 * before the peer could have had it (unreplace()).
 */
bool child_set_succ(struct ike_child *c, enum child_succ to)
{
	static const unsigned allowed[] = {
		[CHILD_SUCC_NONE] = 1u << CHILD_SUCC_REKEYING,
		/* The answer came (or the same exchange again: INVALID_KE_PAYLOAD). */
		[CHILD_SUCC_REKEYING] = 1u << CHILD_SUCC_NONE | 1u << CHILD_SUCC_COLLIDED,
		/* ... or the peer's CHILD_SA of the collision went first. */
		[CHILD_SUCC_COLLIDED] = 1u << CHILD_SUCC_NONE | 1u << CHILD_SUCC_REKEYING,
		[CHILD_SUCC_REPLACED] = 1u << CHILD_SUCC_NONE,
	};

	if (c->succ == to)
		return true;
	if (to != CHILD_SUCC_REPLACED && !(allowed[c->succ] & (1u << to))) {
		xk_err("illegal CHILD_SA succession %s -> %s spi_in=%08x",
		       child_succ_names[c->succ], child_succ_names[to], c->spi_in);
		return false;
	}
	xk_debug("CHILD_SA %08x_i %08x_o %s -> %s", c->spi_in, c->spi_out,
		 child_succ_names[c->succ], child_succ_names[to]);
	c->succ = to;
	return true;
}

static void child_link(struct ike_sa *sa, struct ike_child *c)
{
	c->sa = sa;
	c->next = sa->children;
	sa->children = c;
}

struct ike_child *child_new(struct ike_sa *sa)
{
	struct ike_child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->state = CHILD_S_CREATING;
	child_link(sa, c);
	return c;
}

void child_hand_over(struct ike_sa *from, struct ike_sa *to)
{
	struct ike_child *c = from->children, *next;

	from->children = NULL;
	from->moved_to_spi = ike_sa_local_spi(to);
	child_recreate_hand_over(from, to);
	/* Handed back (a collision settled the other way): no circle of moves. */
	if (to->moved_to_spi == ike_sa_local_spi(from))
		to->moved_to_spi = 0;
	for (; c; c = next) {
		next = c->next;
		/* One still CREATING stays with the exchange that makes it. */
		child_link(c->state == CHILD_S_CREATING ? from : to, c);
	}
}

struct ike_sa *child_home(struct ike_sa *sa)
{
	/* Each IKE SA rekey moves them once; a few in a row is already rare. */
	for (int hops = 0; sa->moved_to_spi && hops < 4; hops++) {
		struct ike_sa *to = ike_engine_find_sa(sa->eng, sa->moved_to_spi);

		if (!to || to->state == IKE_S_DEAD)
			break;
		sa = to;
	}
	return sa;
}

void child_follow_moves(struct ike_child *c)
{
	struct ike_sa *to = child_home(c->sa);
	struct ike_child **pp;

	if (to == c->sa)
		return;
	for (pp = &c->sa->children; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	child_link(to, c);
}

void child_fill_info(const struct ike_child *c, struct ike_child_info *info)
{
	*info = (struct ike_child_info){
		.state = child_state_names[c->state],
		.spi_in = c->spi_in,
		.spi_out = c->spi_out,
		.reqid = c->reqid,
		.mode = c->mode,
		.suite = c->suite,
		.n_local_ts = c->n_local_ts,
		.n_remote_ts = c->n_remote_ts,
		.encap = c->encap,
		.id_in = child_sa_id(c->sa, c, true),
		.id_out = child_sa_id(c->sa, c, false),
		.end = c->end,
	};
	if (c->sa->conn) {
		info->tag_in = child_cfg(c)->tag_in;
		info->tag_out = child_cfg(c)->tag_out;
		snprintf(info->name, sizeof(info->name), "%s", child_cfg(c)->name);
	}
	if (c->n_local_ts)
		memcpy(info->local_ts, c->local_ts, c->n_local_ts * sizeof(*c->local_ts));
	if (c->n_remote_ts)
		memcpy(info->remote_ts, c->remote_ts, c->n_remote_ts * sizeof(*c->remote_ts));
}

void child_rekey_later(struct ike_child *c)
{
	uint32_t r = 0;

	ike_random(&r, sizeof(r));
	c->retry_ms = ike_now(c->sa->eng) + 1000 + r % 4000;
	ike_sa_schedule(c->sa);
}

/*
 * The CHILD_SA that replaced `o` (we answered the peer's rekey) goes
 * before the peer deleted `o`: the peer may never have had it (the answer
 * lost, or deleted here first), so `o` is the live pair again; had the
 * peer had it, its DELETE of `o` is on its way and ends `o` too.
 */
static void unreplace(struct ike_child *o)
{
	if (o->succ == CHILD_SUCC_REPLACED && o->state == CHILD_S_INSTALLED && !o->retire_ms)
		child_set_succ(o, CHILD_SUCC_NONE);
}

void child_remove(struct ike_child *c)
{
	/* The list that holds it, whichever IKE SA it moved to meanwhile. */
	struct ike_sa *sa = c->sa;
	struct ike_child **pp;

	for (pp = &sa->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	/* What pointed to it lives in the same list (child_hand_over moves all). */
	for (struct ike_child *o = sa->children; o; o = o->next) {
		if (o->peer_rekey == c) {
			o->peer_rekey = NULL;
			if (o->succ == CHILD_SUCC_COLLIDED)
				child_set_succ(o, CHILD_SUCC_REKEYING);
		}
		if (o->replaced_by == c) {
			o->replaced_by = NULL;
			unreplace(o);
		}
	}
	child_uninstall(sa, c);
	free(c->coll_nonce);
	free(c->local_ts);
	free(c);
}

void child_free_all(struct ike_sa *sa)
{
	while (sa->children)
		child_remove(sa->children);
}

static struct ike_child *find(struct ike_sa *sa, uint32_t spi, bool out, unsigned states)
{
	for (struct ike_child *c = sa->children; c; c = c->next)
		if ((out ? c->spi_out : c->spi_in) == spi && (states & CHILD_IN(c->state)))
			return c;
	return NULL;
}

/* On sa, else on the IKE SAs its CHILD_SAs moved to (rekeys in a row are rare). */
static struct ike_child *find_moved(struct ike_sa *sa, uint32_t spi, bool out, unsigned states)
{
	struct ike_child *c = find(sa, spi, out, states);

	for (int hops = 0; !c && sa && sa->moved_to_spi && hops < 4; hops++) {
		sa = ike_engine_find_sa(sa->eng, sa->moved_to_spi);
		if (sa && sa->state != IKE_S_DEAD)
			c = find(sa, spi, out, states);
	}
	return c;
}

struct ike_child *child_find_in(struct ike_sa *sa, uint32_t spi_in, unsigned states)
{
	return find(sa, spi_in, false, states);
}

struct ike_child *child_find_out(struct ike_sa *sa, uint32_t spi_out, unsigned states)
{
	return find(sa, spi_out, true, states);
}

struct ike_child *child_find_moved(struct ike_sa *sa, uint32_t spi_in, unsigned states)
{
	return find_moved(sa, spi_in, false, states);
}

struct ike_child *child_find_out_moved(struct ike_sa *sa, uint32_t spi_out, unsigned states)
{
	struct ike_child *c = find_moved(sa, spi_out, true, states);

	/*
	 * Or on another IKE SA of the same connection and peer: while a rekey
	 * collision is being settled, the two ends may disagree for a moment
	 * on which IKE SA holds it.  (An SPI a peer sends on names only that
	 * peer's CHILD_SAs: it chose the SPI.)
	 */
	for (struct ike_sa *o = c ? NULL : ike_sa_same_id(sa); o && !c; o = o->id_next)
		if (o != sa && o->state != IKE_S_DEAD && o->conn == sa->conn &&
		    ike_id_eq(ike_sa_remote_id(o), ike_sa_remote_id(sa)))
			c = find(o, spi_out, true, states);
	return c;
}

bool child_peer_spi_ok(struct ike_sa *sa, const struct ike_proposal *p)
{
	uint32_t spi = get_be32(p->spi);

	/* Section 3.3.1: an ESP proposal carries the sender's 4-octet SPI. */
	if (p->spi_size != 4)
		return false;
	/* RFC 4303 section 2.1: 0 is never sent, 1 to 255 are reserved. */
	if (spi < 256)
		return false;
	/* One the peer already receives on would make its lookups ambiguous. */
	return !child_find_out(sa, spi, CHILD_ANY);
}
