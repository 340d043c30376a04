/* SPDX-License-Identifier: ISC */
/*
 * Per-connection metrics: counters that only the engine's events can
 * give (handshakes, rekeys, the last handshake's duration, failures by
 * reason), kept per connection name in an open-addressing table so that
 * an event costs one hash however many connections there are; and, when
 * asked, the state now: IKE SAs and CHILD_SAs per connection from the
 * engine, bytes and packets of each CHILD_SA from the kernel.
 */
#define XK_LOG_SUB XK_SUB_CONTROL /* common/log.h */
#include "daemon/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "daemon/backend.h"
#include "daemon/loop.h"
#include "ike/ikev2.h"

#define FAIL_REASONS 8 /* distinct reasons kept per connection; then "other" */

struct xd_metric {
	char conn[IKE_NAME_MAX]; /* "" : a free slot */
	uint64_t ike_ups, child_ups, ike_rekeys, child_rekeys;
	uint64_t last_setup_ms;
	size_t n_fail;
	struct {
		char reason[40];
		uint64_t n;
	} fail[FAIL_REASONS];
};

static size_t slot_of(const struct xiked *d, const char *conn)
{
	return (size_t)xk_hash_bytes(XK_HASH_INIT, conn, strlen(conn)) & (d->metrics_cap - 1);
}

static struct xd_metric *lookup(const struct xiked *d, const char *conn)
{
	if (!d->metrics_cap)
		return NULL;
	/* Under half full: an empty slot ends every probe. */
	for (size_t i = slot_of(d, conn);; i = (i + 1) & (d->metrics_cap - 1)) {
		if (!d->metrics[i].conn[0])
			return NULL;
		if (!strcmp(d->metrics[i].conn, conn))
			return &d->metrics[i];
	}
	return NULL;
}

/* Twice the slots, everything placed again (the table stays under half full). */
static int grow(struct xiked *d)
{
	size_t old_cap = d->metrics_cap, cap = old_cap ? 2 * old_cap : 64;
	struct xd_metric *old = d->metrics, *m = calloc(cap, sizeof(*m));

	if (!m)
		return -1;
	d->metrics = m;
	d->metrics_cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		size_t j;

		if (!old[i].conn[0])
			continue;
		for (j = slot_of(d, old[i].conn); m[j].conn[0]; j = (j + 1) & (cap - 1))
			;
		m[j] = old[i];
	}
	free(old);
	return 0;
}

static struct xd_metric *find_or_add(struct xiked *d, const char *conn)
{
	struct xd_metric *m = lookup(d, conn);
	size_t i;

	if (m)
		return m;
	if (strlen(conn) >= IKE_NAME_MAX || (2 * (d->n_metrics + 1) > d->metrics_cap && grow(d) < 0))
		return NULL;
	for (i = slot_of(d, conn); d->metrics[i].conn[0]; i = (i + 1) & (d->metrics_cap - 1))
		;
	snprintf(d->metrics[i].conn, sizeof(d->metrics[i].conn), "%s", conn);
	d->n_metrics++;
	return &d->metrics[i];
}

static size_t fail_index(const struct xd_metric *m, const char *reason)
{
	size_t i = 0;

	while (i < m->n_fail && strcmp(m->fail[i].reason, reason))
		i++;
	return i;
}

/* A failure by its reason; past FAIL_REASONS - 1 reasons, new ones are "other". */
static void failed(struct xd_metric *m, const char *reason)
{
	size_t i = fail_index(m, reason);

	if (i == m->n_fail && m->n_fail >= FAIL_REASONS - 1) {
		reason = "other";
		i = fail_index(m, reason);
	}
	if (i == m->n_fail) {
		snprintf(m->fail[i].reason, sizeof(m->fail[i].reason), "%s", reason);
		m->n_fail++;
	}
	m->fail[i].n++;
}

/* IKE_SA_INIT sent (or received) to IKE SA up, from the engine's record. */
static uint64_t setup_ms(struct xiked *d, const struct ike_event *ev)
{
	struct ike_sa_info info;
	uint64_t spi = ev->initiator ? ev->spi_i : ev->spi_r;

	if (ike_engine_sa_info(d->eng, spi, &info) < 0 || info.established_ms < info.created_ms)
		return 0;
	return info.established_ms - info.created_ms;
}

void xd_metrics_event(struct xiked *d, const struct ike_event *ev)
{
	struct xd_metric *m = ev->conn && ev->conn[0] ? find_or_add(d, ev->conn) : NULL;

	if (!m)
		return;
	switch (ev->type) {
	case IKE_EV_IKE_UP:
		m->ike_ups++;
		m->last_setup_ms = setup_ms(d, ev);
		break;
	case IKE_EV_CHILD_UP: m->child_ups++; break;
	case IKE_EV_CHILD_REKEYED: m->child_rekeys++; break;
	case IKE_EV_IKE_REKEYED:
	case IKE_EV_IKE_REAUTHENTICATED: m->ike_rekeys++; break;
	case IKE_EV_PEER_DEAD: failed(m, "peer-dead"); break;
	case IKE_EV_FAILED:
		failed(m, ev->notify ? ikev2_notify_name(ev->notify) : ev->reason ? ev->reason : "none");
		break;
	default: break;
	}
}

static void set(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void bump(json_object *o, const char *k, int64_t by)
{
	json_object *v;

	if (json_object_object_get_ex(o, k, &v))
		json_object_set_int64(v, json_object_get_int64(v) + by);
}

/* A connection's entry, all zero until the SAs and counters fill it. */
static json_object *conn_entry(void)
{
	static const char *const keys[] = {
		"ike-sas", "child-sas", "established-seconds", "ike-ups", "child-ups",
		"ike-rekeys", "child-rekeys", "last-setup-ms", "bytes-in", "bytes-out",
		"packets-in", "packets-out",
	};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "up", json_object_new_boolean(false));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set(o, keys[i], 0);
	json_object_object_add(o, "failures", json_object_new_object());
	return o;
}

static void add_counters(json_object *o, const struct xd_metric *m)
{
	json_object *f;

	set(o, "ike-ups", (int64_t)m->ike_ups);
	set(o, "child-ups", (int64_t)m->child_ups);
	set(o, "ike-rekeys", (int64_t)m->ike_rekeys);
	set(o, "child-rekeys", (int64_t)m->child_rekeys);
	set(o, "last-setup-ms", (int64_t)m->last_setup_ms);
	json_object_object_get_ex(o, "failures", &f);
	for (size_t i = 0; i < m->n_fail; i++)
		set(f, m->fail[i].reason, (int64_t)m->fail[i].n);
}

struct walk {
	struct xiked *d;
	json_object *conns, *children;
};

static void add_child(struct walk *w, json_object *conn, const struct ike_sa_info *sa,
		      const struct ike_child_info *c)
{
	struct xk_sa_stats in, out;
	json_object *o = json_object_new_object();
	char spi[16];

	xd_backend_child_stats(w->d, c, &in, &out);
	bump(conn, "child-sas", 1);
	bump(conn, "bytes-in", (int64_t)in.bytes);
	bump(conn, "bytes-out", (int64_t)out.bytes);
	bump(conn, "packets-in", (int64_t)in.packets);
	bump(conn, "packets-out", (int64_t)out.packets);
	snprintf(spi, sizeof(spi), "%08x", c->spi_in);
	json_object_object_add(o, "conn", json_object_new_string(sa->conn));
	json_object_object_add(o, "spi-in", json_object_new_string(spi));
	set(o, "bytes-in", (int64_t)in.bytes);
	set(o, "bytes-out", (int64_t)out.bytes);
	set(o, "packets-in", (int64_t)in.packets);
	set(o, "packets-out", (int64_t)out.packets);
	json_object_array_add(w->children, o);
}

static void add_sa(void *ctx, const struct ike_sa_info *sa)
{
	struct walk *w = ctx;
	struct ike_child_info ci;
	json_object *conn, *up, *est;
	uint64_t spi = sa->initiator ? sa->spi_i : sa->spi_r;
	int64_t secs;

	if (sa->state != IKE_S_ESTABLISHED || !json_object_object_get_ex(w->conns, sa->conn, &conn))
		return;
	bump(conn, "ike-sas", 1);
	json_object_object_get_ex(conn, "up", &up);
	json_object_set_boolean(up, true);
	/* The longest-lived IKE SA of the connection says since when it is up. */
	secs = (int64_t)((xd_now_ms() - sa->established_ms) / 1000);
	json_object_object_get_ex(conn, "established-seconds", &est);
	if (secs > json_object_get_int64(est))
		json_object_set_int64(est, secs);
	for (size_t i = 0; ike_engine_child_info(w->d->eng, spi, i, &ci) == 0; i++)
		if (!strcmp(ci.state, "INSTALLED"))
			add_child(w, conn, sa, &ci);
}

void xd_metrics_add(struct xiked *d, json_object *resp)
{
	struct walk w = { d, json_object_new_object(), json_object_new_array() };
	json_object *conn;

	for (size_t i = 0; i < d->cfg.n_conns; i++)
		json_object_object_add(w.conns, d->cfg.conns[i].name, conn_entry());
	for (size_t i = 0; i < d->metrics_cap; i++) {
		const struct xd_metric *m = &d->metrics[i];

		if (!m->conn[0])
			continue;
		if (!json_object_object_get_ex(w.conns, m->conn, &conn)) {
			conn = conn_entry();
			json_object_object_add(w.conns, m->conn, conn);
		}
		add_counters(conn, m);
	}
	ike_engine_foreach_sa(d->eng, add_sa, &w);
	json_object_object_add(resp, "connections", w.conns);
	json_object_object_add(resp, "children", w.children);
}

void xd_metrics_free(struct xiked *d)
{
	free(d->metrics);
	d->metrics = NULL;
	d->metrics_cap = d->n_metrics = 0;
}
