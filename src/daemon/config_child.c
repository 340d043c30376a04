/* SPDX-License-Identifier: ISC */
/*
 * [child NAME] sections (config_int.h): several CHILD_SAs of one
 * connection, each with its own selectors, mode, ESP proposals, start
 * action and lifetimes; what a child does not give is its connection's.
 */
#include "daemon/config_int.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/config_value.h"
#include "ike/ikev2.h"

int xd_cfg_child_key(struct parser *p, struct xd_child *ch, const char *k, const char *v)
{
	long d;

	if (!strcmp(k, "conn")) {
		if (!*v || strlen(v) >= sizeof(ch->conn))
			return xd_cfg_fail(p, ch->name, k, "'%s' is not a connection name", v);
		snprintf(ch->conn, sizeof(ch->conn), "%s", v);
		ch->conn_line = p->line;
	} else if (!strcmp(k, "esp")) {
		return xd_cfg_proposals(p, ch->name, k, v, IKEV2_PROTO_ESP, &ch->esp, &ch->n_esp,
					ch->esp_str, sizeof(ch->esp_str));
	} else if (!strcmp(k, "local-ts") || !strcmp(k, "remote-ts")) {
		bool local = k[0] == 'l';

		if (!xd_cfg_ts_key(p, ch->name, k, v, local ? ch->local_ts : ch->remote_ts,
			    local ? &ch->n_local_ts : &ch->n_remote_ts))
			return 0;
		if (local)
			ch->seen_local_ts = true;
		else
			ch->seen_remote_ts = true;
	} else if (!strcmp(k, "mode")) {
		if (!strcmp(v, "tunnel"))
			ch->mode = XK_MODE_TUNNEL;
		else if (!strcmp(v, "transport"))
			ch->mode = XK_MODE_TRANSPORT;
		else
			return xd_cfg_fail(p, ch->name, k, "'%s' is not tunnel or transport", v);
		ch->seen_mode = true;
	} else if (!strcmp(k, "start") || !strcmp(k, "close-action")) {
		enum xd_start *dst = k[0] == 's' ? &ch->start : &ch->close_action;

		if (!xd_cfg_start(v, dst))
			return xd_cfg_fail(p, ch->name, k, "'%s' is not none, start or trap", v);
		/* Trap policies are the connection's: one reqid, one ACQUIRE. */
		if (*dst == XD_START_TRAP)
			return xd_cfg_fail(p, ch->name, k, "trap is for a [conn] without [child] sections");
		if (k[0] == 's')
			ch->seen_start = true;
		else
			ch->seen_close = true;
	} else if (!strcmp(k, "rekey-time") || !strcmp(k, "life-time")) {
		d = xd_parse_duration(v);
		if (d < 0 || d > 0x7fffffff)
			return xd_cfg_fail(p, ch->name, k, "'%s' is not a duration (like 30s, 1h)", v);
		if (k[0] == 'r') {
			ch->rekey_s = (uint32_t)d;
			ch->seen_rekey = true;
		} else {
			ch->life_s = (uint32_t)d;
			ch->seen_life = true;
		}
	} else {
		return xd_cfg_fail(p, ch->name, k, "unknown key (a [child] takes conn, local-ts, "
			    "remote-ts, mode, esp, start, close-action, rekey-time, life-time)");
	}
	return 1;
}

struct xd_child *xd_cfg_child_section(struct parser *p, const char *name)
{
	struct xd_child *ch;

	for (size_t i = 0; i < p->n_children; i++)
		if (!strcmp(p->children[i].name, name))
			return NULL;
	if (p->n_children == p->cap_children) {
		size_t cap = p->cap_children ? p->cap_children * 2 : 8;
		struct xd_child *n = realloc(p->children, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->children = n;
		p->cap_children = cap;
	}
	ch = &p->children[p->n_children++];
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	ch->line = p->section_line;
	return ch;
}

static void xd_conn_children_to_engine(struct xd_conn *c)
{
	for (size_t i = 0; i < c->n_child; i++) {
		const struct xd_child *ch = &c->child[i];
		struct ike_child_cfg *e = &c->eng_child[i];

		*e = (struct ike_child_cfg){
			.name = ch->name,
			.esp = ch->esp,
			.n_esp = ch->n_esp,
			.n_local_ts = ch->n_local_ts,
			.n_remote_ts = ch->n_remote_ts,
			.mode = ch->mode,
			.life_time_s = ch->life_s,
			.rekey_time_s = ch->rekey_s,
			/* Route-based tunnels: the connection's device, for all of them. */
			.tag_in = c->tag_in,
			.tag_out = c->tag_out,
			/* As for a connection's one CHILD_SA (xd_conn_to_engine). */
			.recreate_lost = ch->start == XD_START_START,
			.recreate_closed = ch->close_action == XD_START_START,
			.start = ch->start == XD_START_START,
		};
		memcpy(e->local_ts, ch->local_ts, sizeof(e->local_ts));
		memcpy(e->remote_ts, ch->remote_ts, sizeof(e->remote_ts));
	}
}

/* A child's keys not given are its connection's. */
static int child_complete(struct parser *p, const struct xd_conn *c, struct xd_child *ch)
{
	p->line = ch->line;
	if (!ch->esp) {
		ch->esp = malloc(c->n_esp * sizeof(*ch->esp));
		if (!ch->esp)
			return xd_cfg_fail(p, ch->name, "esp", "out of memory");
		memcpy(ch->esp, c->esp, c->n_esp * sizeof(*ch->esp));
		ch->n_esp = c->n_esp;
		snprintf(ch->esp_str, sizeof(ch->esp_str), "%s", c->esp_str);
	}
	if (!ch->seen_local_ts) {
		memcpy(ch->local_ts, c->local_ts, sizeof(ch->local_ts));
		ch->n_local_ts = c->n_local_ts;
	}
	if (!ch->seen_remote_ts) {
		memcpy(ch->remote_ts, c->remote_ts, sizeof(ch->remote_ts));
		ch->n_remote_ts = c->n_remote_ts;
	}
	if (!ch->seen_mode)
		ch->mode = c->mode;
	if (!ch->seen_start)
		ch->start = c->start;
	if (!ch->seen_close)
		ch->close_action = ch->start;
	if (!ch->seen_rekey)
		ch->rekey_s = c->rekey_s;
	if (!ch->seen_life)
		ch->life_s = ch->seen_rekey ? ch->rekey_s + ch->rekey_s / 10 : c->life_s;
	else if (ch->life_s && ch->rekey_s && ch->life_s <= ch->rekey_s)
		return xd_cfg_fail(p, ch->name, "life-time", "must be longer than rekey-time (%us)",
			    ch->rekey_s);
	if ((ch->start != XD_START_NONE || ch->close_action != XD_START_NONE) &&
	    !c->remote.family)
		return xd_cfg_fail(p, ch->name, ch->start ? "start" : "close-action",
			    "needs a remote address in [conn %s]", c->name);
	return 1;
}

/*
 * Each [child] goes to the [conn] it names, completed from its keys; a
 * conn with children starts when one of them does.  Trap policies and
 * dpd-action = trap stay with connections without children: the daemon's
 * trap is one reqid per connection, one ACQUIRE, one CHILD_SA.
 */
void xd_cfg_attach_children(struct parser *p)
{
	struct xd_config *cfg = p->cfg;

	for (size_t i = 0; i < p->n_children; i++) {
		struct xd_child *ch = &p->children[i];
		struct xd_conn *c = NULL;

		for (size_t j = 0; j < cfg->n_conns && !c; j++)
			if (!strcmp(cfg->conns[j].name, ch->conn))
				c = &cfg->conns[j];
		p->line = ch->conn_line ? ch->conn_line : ch->line;
		if (!ch->conn[0]) {
			xd_cfg_fail(p, ch->name, "conn", "missing (the [conn NAME] it belongs to)");
			return;
		}
		if (!c) {
			xd_cfg_fail(p, ch->name, "conn", "no [conn %s]", ch->conn);
			return;
		}
		if (c->n_child >= IKE_MAX_CHILD_CFG) {
			xd_cfg_fail(p, ch->name, "conn", "[conn %s] has %d children already", c->name,
			     IKE_MAX_CHILD_CFG);
			return;
		}
		if (c->start == XD_START_TRAP || c->close_action == XD_START_TRAP ||
		    c->dpd_action == XD_DPD_TRAP) {
			p->line = c->line;
			xd_cfg_fail(p, c->name, c->start == XD_START_TRAP ? "start" :
				c->close_action == XD_START_TRAP ? "close-action" : "dpd-action",
			     "trap is for a [conn] without [child] sections");
			return;
		}
		if (!child_complete(p, c, ch))
			return;
	}
	for (size_t j = 0; j < cfg->n_conns; j++) {
		struct xd_conn *c = &cfg->conns[j];
		size_t n = 0;

		for (size_t i = 0; i < p->n_children; i++)
			n += !strcmp(p->children[i].conn, c->name);
		if (!n)
			continue;
		c->child = calloc(n, sizeof(*c->child));
		c->eng_child = calloc(n, sizeof(*c->eng_child));
		if (!c->child || !c->eng_child) {
			xd_cfg_fail(p, c->name, "child", "out of memory");
			return;
		}
		c->start = XD_START_NONE;
		c->close_action = XD_START_NONE;
		for (size_t i = 0; i < p->n_children; i++) {
			struct xd_child *ch = &p->children[i];

			if (strcmp(ch->conn, c->name))
				continue;
			/* The conn owns it (and its proposals) from here. */
			c->child[c->n_child++] = *ch;
			ch->esp = NULL;
			if (ch->start == XD_START_START)
				c->start = XD_START_START;
		}
		xd_conn_children_to_engine(c);
	}
}

/* The same [child] sections, in the same order, after completion. */
bool xd_cfg_children_same(const struct xd_conn *a, const struct xd_conn *b)
{
	if (a->n_child != b->n_child)
		return false;
	for (size_t i = 0; i < a->n_child; i++) {
		const struct xd_child *x = &a->child[i], *y = &b->child[i];

		if (strcmp(x->name, y->name) || x->n_esp != y->n_esp ||
		    memcmp(x->esp, y->esp, x->n_esp * sizeof(*x->esp)) ||
		    x->n_local_ts != y->n_local_ts || x->n_remote_ts != y->n_remote_ts ||
		    memcmp(x->local_ts, y->local_ts, x->n_local_ts * sizeof(x->local_ts[0])) ||
		    memcmp(x->remote_ts, y->remote_ts, x->n_remote_ts * sizeof(x->remote_ts[0])) ||
		    x->mode != y->mode || x->start != y->start ||
		    x->close_action != y->close_action || x->rekey_s != y->rekey_s ||
		    x->life_s != y->life_s)
			return false;
	}
	return true;
}
