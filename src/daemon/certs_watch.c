/* SPDX-License-Identifier: ISC */
/*
 * The daily expiry check (certs_watch.h) over certs.c's list: one log line
 * and one event per connection and object.  The timer only calls the check;
 * the check decides nothing about time but "now".
 */
#include "daemon/certs_watch.h"

#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "common/log.h"
#include "daemon/certs.h"
#include "daemon/ctl.h"
#include "daemon/daemon.h"

#define DAY_S 86400.

static void report(void *ctx, const char *conn, const struct ike_cert_info *in,
		   long days_left)
{
	struct xiked *d = ctx;
	const char *role = xd_cert_role_name(in->role);
	const char *name = in->role == IKE_CERT_CRL ? in->issuer : in->subject;
	char what[640];
	json_object *ev;

	/* A CRL "expires" at its nextUpdate: after it, it no longer vouches. */
	if (days_left < 0)
		snprintf(what, sizeof(what), "%s %s \"%s\" has expired (%ld day(s) ago)", role,
			 in->role == IKE_CERT_CRL ? "CRL of" : "certificate", name, -days_left);
	else
		snprintf(what, sizeof(what), "%s %s \"%s\" expires in %ld day(s)", role,
			 in->role == IKE_CERT_CRL ? "CRL of" : "certificate", name, days_left);
	xk_warn("conn=%s: %s", conn, what);
	ev = json_object_new_object();
	if (!ev)
		return;
	json_object_object_add(ev, "event",
			       json_object_new_string(days_left < 0 ? "cert-expired" : "cert-expiring"));
	json_object_object_add(ev, "conn", json_object_new_string(conn));
	json_object_object_add(ev, "as", json_object_new_string(role));
	json_object_object_add(ev, in->role == IKE_CERT_CRL ? "issuer" : "subject",
			       json_object_new_string(name));
	json_object_object_add(ev, "days-left", json_object_new_int64(days_left));
	json_object_object_add(ev, "reason", json_object_new_string(what));
	xd_ctl_publish(d, ev);
}

size_t xd_certs_check(struct xiked *d)
{
	return xd_certs_expiring(&d->cfg, time(NULL), d->cfg.cert_expiry_days, report, d);
}

static void on_cert_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct xiked *d = container_of(w, struct xiked, cert_w);

	(void)loop;
	(void)revents;
	xd_certs_check(d);
}

void xd_certs_watch_start(struct xiked *d)
{
	xd_certs_check(d);
	ev_timer_init(&d->cert_w, on_cert_timer, DAY_S, DAY_S);
	ev_timer_start(d->loop, &d->cert_w);
}

void xd_certs_watch_stop(struct xiked *d)
{
	ev_timer_stop(d->loop, &d->cert_w);
}
