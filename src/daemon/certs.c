/* SPDX-License-Identifier: ISC */
/*
 * list-certs and the expiry check over the credentials of a configuration
 * (certs.h).  A certificate several connections use is listed once, with
 * every use; the fingerprint is what makes it "the same".
 */
#include "daemon/certs.h"

#include <stdio.h>
#include <string.h>

const char *xd_cert_role_name(enum ike_cert_role role)
{
	switch (role) {
	case IKE_CERT_OWN: return "own";
	case IKE_CERT_INTERMEDIATE: return "intermediate";
	case IKE_CERT_CA: return "ca";
	case IKE_CERT_CRL: return "crl";
	case IKE_CERT_PEER: return "peer";
	}
	return "?";
}

long xd_days_left(int64_t t, time_t now)
{
	int64_t s = t - (int64_t)now;

	return (long)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

/* Each use of an object by a connection, in the order of the config. */
typedef void (*use_fn)(void *ctx, const struct xd_conn *c, const struct ike_cert_info *in);

struct visit {
	const struct xd_conn *conn;
	use_fn f;
	void *ctx;
};

static void visit_one(void *ctx, const struct ike_cert_info *in)
{
	struct visit *v = ctx;

	v->f(v->ctx, v->conn, in);
}

static void each_use(const struct xd_config *cfg, use_fn f, void *ctx)
{
	for (size_t i = 0; i < cfg->n_conns; i++) {
		struct visit v = {.conn = &cfg->conns[i], .f = f, .ctx = ctx};

		ike_cred_visit(cfg->conns[i].cred, visit_one, &v);
		ike_trust_visit(cfg->conns[i].trust, visit_one, &v);
	}
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 3 * i, i + 1 < n ? "%02X:" : "%02X", p[i]);
}

/* ISO 8601 UTC, or "" for none. */
static void iso_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (t >= 0 && gmtime_r(&tt, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct list {
	json_object *certs, *ocsp;
	time_t now;
	bool oom;
};

static void add(json_object *o, const char *k, json_object *v, struct list *l)
{
	if (!v || json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		l->oom = true;
	}
}

static json_object *find(json_object *certs, const char *fp)
{
	for (size_t i = 0; i < json_object_array_length(certs); i++) {
		json_object *e = json_object_array_get_idx(certs, i), *v;

		if (json_object_object_get_ex(e, "sha256", &v) &&
		    !strcmp(json_object_get_string(v), fp))
			return e;
	}
	return NULL;
}

static json_object *entry_new(const struct ike_cert_info *in, const char *fp, struct list *l)
{
	json_object *e = json_object_new_object();
	char t[32];

	if (!e) {
		l->oom = true;
		return NULL;
	}
	add(e, "kind", json_object_new_string(in->role == IKE_CERT_CRL ? "crl" : "cert"), l);
	if (in->role != IKE_CERT_CRL)
		add(e, "subject", json_object_new_string(in->subject), l);
	add(e, "issuer", json_object_new_string(in->issuer), l);
	if (in->role != IKE_CERT_CRL) {
		add(e, "serial", json_object_new_string(in->serial), l);
		add(e, "key-type", json_object_new_string(in->key_type), l);
		add(e, "key-bits", json_object_new_int64(in->key_bits), l);
	}
	iso_time(in->not_before, t);
	add(e, in->role == IKE_CERT_CRL ? "this-update" : "not-before",
	    json_object_new_string(t), l);
	iso_time(in->not_after, t);
	add(e, in->role == IKE_CERT_CRL ? "next-update" : "not-after",
	    json_object_new_string(t), l);
	if (in->not_after >= 0)
		add(e, "days-left", json_object_new_int64(xd_days_left(in->not_after, l->now)), l);
	add(e, "sha256", json_object_new_string(fp), l);
	if (in->ocsp_uri[0])
		add(e, "ocsp-uri", json_object_new_string(in->ocsp_uri), l);
	add(e, "used-by", json_object_new_array(), l);
	if (json_object_array_add(l->certs, e) < 0) {
		json_object_put(e);
		l->oom = true;
		return NULL;
	}
	return e;
}

static void list_use(void *ctx, const struct xd_conn *c, const struct ike_cert_info *in)
{
	struct list *l = ctx;
	char fp[32 * 3];
	json_object *e, *uses, *u;

	hex(in->sha256, sizeof(in->sha256), fp);
	e = find(l->certs, fp);
	if (!e)
		e = entry_new(in, fp, l);
	if (!e || !json_object_object_get_ex(e, "used-by", &uses))
		return;
	/* The same CA file given twice to one conn is one use. */
	for (size_t i = 0; i < json_object_array_length(uses); i++) {
		json_object *x = json_object_array_get_idx(uses, i), *cn, *as;

		if (json_object_object_get_ex(x, "conn", &cn) &&
		    json_object_object_get_ex(x, "as", &as) &&
		    !strcmp(json_object_get_string(cn), c->name) &&
		    !strcmp(json_object_get_string(as), xd_cert_role_name(in->role)))
			return;
	}
	u = json_object_new_object();
	if (!u) {
		l->oom = true;
		return;
	}
	add(u, "conn", json_object_new_string(c->name), l);
	add(u, "as", json_object_new_string(xd_cert_role_name(in->role)), l);
	if (json_object_array_add(uses, u) < 0) {
		json_object_put(u);
		l->oom = true;
	}
}

/* One OCSP answer of the cache, into l->ocsp. */
static void list_ocsp(struct list *l, const struct xd_ocsp_entry *e)
{
	json_object *o = json_object_new_object();
	char t[32];

	if (!o) {
		l->oom = true;
		return;
	}
	add(o, "subject", json_object_new_string(e->subject), l);
	add(o, "serial", json_object_new_string(e->serial), l);
	add(o, "status", json_object_new_string(ike_ocsp_status_name(e->result.status)), l);
	if (e->result.status == IKE_OCSP_REVOKED) {
		add(o, "reason", json_object_new_string(ike_ocsp_reason_name(e->result.reason)), l);
		iso_time(e->result.revoked_at, t);
		add(o, "revoked-at", json_object_new_string(t), l);
	}
	iso_time(e->result.this_update, t);
	add(o, "this-update", json_object_new_string(t), l);
	iso_time(e->result.next_update, t);
	add(o, "next-update", json_object_new_string(t), l);
	add(o, "responder", json_object_new_string(e->responder), l);
	if (json_object_array_add(l->ocsp, o) < 0) {
		json_object_put(o);
		l->oom = true;
	}
}

json_object *xd_certs_json(const struct xd_config *cfg, const struct xd_ocsp *ocsp,
			   time_t now)
{
	struct list l = {.certs = json_object_new_array(), .ocsp = json_object_new_array(),
			 .now = now};
	json_object *resp = json_object_new_object();

	if (!l.certs || !l.ocsp || !resp) {
		json_object_put(l.certs);
		json_object_put(l.ocsp);
		json_object_put(resp);
		return NULL;
	}
	each_use(cfg, list_use, &l);
	/* The answers still fresh (the cache drops the others when next looked up). */
	for (size_t i = 0; ocsp && i < ocsp->n_cache; i++)
		if (ocsp->cache[i].result.next_update > (int64_t)now)
			list_ocsp(&l, &ocsp->cache[i]);
	add(resp, "ok", json_object_new_boolean(true), &l);
	add(resp, "certs", l.certs, &l);
	add(resp, "ocsp", l.ocsp, &l);
	if (l.oom) {
		json_object_put(resp);
		return NULL;
	}
	return resp;
}

struct expiring {
	time_t now;
	unsigned days;
	size_t n;
	void (*f)(void *ctx, const char *conn, const struct ike_cert_info *in, long days_left);
	void *ctx;
};

static void expiring_use(void *ctx, const struct xd_conn *c, const struct ike_cert_info *in)
{
	struct expiring *x = ctx;

	if (in->not_after < 0 || in->not_after - (int64_t)x->now >= (int64_t)x->days * 86400)
		return;
	x->n++;
	x->f(x->ctx, c->name, in, xd_days_left(in->not_after, x->now));
}

size_t xd_certs_expiring(const struct xd_config *cfg, time_t now, unsigned days,
			 void (*f)(void *ctx, const char *conn, const struct ike_cert_info *in,
				   long days_left),
			 void *ctx)
{
	struct expiring x = {.now = now, .days = days, .f = f, .ctx = ctx};

	if (days)
		each_use(cfg, expiring_use, &x);
	return x.n;
}
