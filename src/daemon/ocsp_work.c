/* SPDX-License-Identifier: ISC */
/*
 * The engine's OCSP works (IKE_WORK_OCSP, docs/engine.md "Revocation and
 * OCSP"): the responder is the connection's ocsp-uri, else the one the
 * certificate names (AIA); xd_ocsp_query asks it (or answers from its
 * cache), the answer goes into the work, and the work is completed on the
 * next turn of the loop: never from inside ops.submit, where a cached
 * answer would otherwise land.  A responder that cannot be asked (none
 * named, a name that does not resolve, too many queries) is an answer
 * too: no status, for the policy to decide on.
 */
#include "daemon/ocsp_work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/workers.h"
#include "ike/ocsp.h"

struct xd_ocsp_work {
	struct xiked *d;
	struct ike_work *w;
	ev_timer done; /* completes the work on the loop's next turn */
	struct xd_ocsp_work *next, **prev;
	char conn[IKE_NAME_MAX];
	char uri[256];
};

static void unlink_q(struct xd_ocsp_work *q)
{
	*q->prev = q->next;
	if (q->next)
		q->next->prev = q->prev;
}

static void on_done(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct xd_ocsp_work *q = t->data;
	struct xiked *d = q->d;

	(void)loop;
	(void)revents;
	unlink_q(q);
	ike_engine_complete(d->eng, q->w);
	free(q);
	xd_engine_kick(d);
}

/* The answer is in the work: complete it once the loop comes round. */
static void finish(struct xd_ocsp_work *q, int err, const struct ike_ocsp_result *r,
		   bool cached, const char *why)
{
	if (err < 0)
		xk_notice("OCSP conn=%s: no answer from %s: %s", q->conn, q->uri[0] ? q->uri : "-",
			  why ? why : strerror(-err));
	else
		xk_info("OCSP conn=%s: %s from %s%s", q->conn, ike_ocsp_status_name(r->status),
			q->uri, cached ? " (cached)" : "");
	ike_work_ocsp_answer(q->w, err, r);
	ev_timer_start(q->d->loop, &q->done);
}

static void on_answer(void *ctx, int err, const struct ike_ocsp_result *r, bool cached,
		      const char *why)
{
	finish(ctx, err, r, cached, why);
}

static const struct xd_conn *conn_named(const struct xd_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!strcmp(cfg->conns[i].name, name))
			return &cfg->conns[i];
	return NULL;
}

static void ocsp_submit(struct xiked *d, struct ike_work *w)
{
	struct xd_ocsp_work *q = calloc(1, sizeof(*q));
	struct ike_der cert, issuer;
	const char *cert_uri, *conn;
	const struct xd_conn *c;
	struct xd_http_uri u;
	int err;

	if (!q || ike_work_ocsp_query(w, &cert, &issuer, &cert_uri, &conn) < 0) {
		/* Given up on: its SA times out as after a lost datagram. */
		free(q);
		ike_work_free(w);
		return;
	}
	q->d = d;
	q->w = w;
	ev_timer_init(&q->done, on_done, 0., 0.);
	q->done.data = q;
	q->next = d->ocsp_works;
	if (q->next)
		q->next->prev = &q->next;
	q->prev = &d->ocsp_works;
	d->ocsp_works = q;
	snprintf(q->conn, sizeof(q->conn), "%s", conn);
	/* The operator's responder first (RFC 6960 leaves the choice to us). */
	c = conn_named(&d->cfg, conn);
	snprintf(q->uri, sizeof(q->uri), "%s", c && c->ocsp_uri[0] ? c->ocsp_uri : cert_uri);
	if (!q->uri[0]) {
		finish(q, -ENOENT, NULL, false, "no responder configured or named");
		return;
	}
	if (xd_http_uri_parse(q->uri, &u) < 0) {
		finish(q, -EINVAL, NULL, false, "the responder's URI is not http://HOST[:PORT][/PATH]");
		return;
	}
	err = xd_ocsp_query(&d->ocsp, &cert, &issuer, NULL, 0, &u, on_answer, q);
	if (err < 0)
		finish(q, err, NULL, false, NULL);
}

void xd_submit(void *ctx, struct ike_work *w)
{
	struct xiked *d = ctx;

	if (ike_work_kind(w) == IKE_WORK_OCSP)
		ocsp_submit(d, w);
	else
		xd_workers_submit(d, w);
}

bool xd_submit_takes(void *ctx, enum ike_work_kind kind)
{
	const struct xiked *d = ctx;

	return kind == IKE_WORK_OCSP || d->workers;
}

void xd_ocsp_works_free(struct xiked *d)
{
	while (d->ocsp_works) {
		struct xd_ocsp_work *q = d->ocsp_works;

		ev_timer_stop(d->loop, &q->done);
		unlink_q(q);
		ike_work_free(q->w);
		free(q);
	}
}
