/* SPDX-License-Identifier: ISC */
/*
 * OCSP over HTTP on the libev loop, the cache of answers, the counters
 * (ocsp_fetch.h).  A fetch owns its socket, its two watchers and its
 * buffers; it ends in one place (fetch_end), which stops the watchers,
 * closes the socket, calls back once and frees.
 */
#include "daemon/ocsp_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/resolve.h"
#include "ike/cert.h"
#include "ike/crypto.h"

#define member_owner(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct xd_http_fetch {
	struct ev_loop *loop;
	struct xd_lookup *lookup; /* the responder's name, while it is looked up */
	bool starting;            /* inside xd_http_fetch_start: no callback yet */
	int start_err;
	int fd;
	ev_io io;
	ev_timer timer;
	bool connected;
	/* The request: head and body, sent from out[sent]. */
	uint8_t *out;
	size_t out_len, sent;
	/* The answer as it arrives. */
	uint8_t *in;
	size_t in_len, in_cap;
	xd_http_done cb;
	void *ctx;
};

/* Head and body of the largest answer taken. */
#define FETCH_IN_MAX (XD_HTTP_HEAD_MAX + IKE_OCSP_RESP_MAX)

static void fetch_end(struct xd_http_fetch *f, int err, const uint8_t *body, size_t len)
{
	xd_lookup_cancel(f->lookup);
	f->lookup = NULL;
	ev_io_stop(f->loop, &f->io);
	ev_timer_stop(f->loop, &f->timer);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->cb)
		f->cb(f->ctx, err, body, len);
	free(f->out);
	free(f->in);
	free(f);
}

void xd_http_fetch_cancel(struct xd_http_fetch *f)
{
	f->cb = NULL;
	fetch_end(f, -ECANCELED, NULL, 0);
}

/* What has arrived, judged; true when the fetch ended. */
static bool fetch_judge(struct xd_http_fetch *f, bool eof)
{
	struct xd_http_resp r;
	int err = xd_http_parse(f->in, f->in_len, eof, IKE_OCSP_RESP_MAX, &r);

	if (err == -EAGAIN)
		return false;
	if (!err && (r.status != 200 || !r.ocsp_type))
		err = -EPROTO;
	if (err)
		fetch_end(f, err, NULL, 0);
	else
		fetch_end(f, 0, f->in + r.body_off, r.body_len);
	return true;
}

static void fetch_read(struct xd_http_fetch *f)
{
	ssize_t n;

	if (f->in_len == f->in_cap) {
		/* The parser refuses anything this large before we get here. */
		fetch_end(f, -EMSGSIZE, NULL, 0);
		return;
	}
	n = read(f->fd, f->in + f->in_len, f->in_cap - f->in_len);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fetch_end(f, -errno, NULL, 0);
		return;
	}
	f->in_len += (size_t)n;
	fetch_judge(f, n == 0);
}

static void fetch_write(struct xd_http_fetch *f)
{
	ssize_t n;

	if (!f->connected) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			fetch_end(f, -soerr, NULL, 0);
			return;
		}
		f->connected = true;
	}
	n = send(f->fd, f->out + f->sent, f->out_len - f->sent, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			fetch_end(f, -errno, NULL, 0);
		return;
	}
	f->sent += (size_t)n;
	if (f->sent == f->out_len) {
		/* All sent: from now on only the answer. */
		ev_io_stop(f->loop, &f->io);
		ev_io_set(&f->io, f->fd, EV_READ);
		ev_io_start(f->loop, &f->io);
	}
}

static void fetch_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct xd_http_fetch *f = member_owner(w, struct xd_http_fetch, io);

	(void)loop;
	if (revents & EV_WRITE)
		fetch_write(f);
	else if (revents & EV_READ)
		fetch_read(f);
}

static void fetch_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	fetch_end(member_owner(w, struct xd_http_fetch, timer), -ETIMEDOUT, NULL, 0);
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Connect to addr and wait until writable; a negative errno, no callback. */
static int fetch_connect(struct xd_http_fetch *f, const struct sockaddr_storage *addr)
{
	f->fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return -errno;
	if (connect(f->fd, (const struct sockaddr *)addr, addr_len(addr)) < 0 &&
	    errno != EINPROGRESS)
		return -errno;
	/* Writable once connected (or failed: then SO_ERROR says why). */
	ev_io_init(&f->io, fetch_io, f->fd, EV_WRITE);
	ev_io_start(f->loop, &f->io);
	return 0;
}

/* The responder's address: at once for a numeric host, else from the lookup. */
static void fetch_resolved(void *ctx, int err, const struct sockaddr_storage *addr)
{
	struct xd_http_fetch *f = ctx;

	f->lookup = NULL;
	if (!err)
		err = fetch_connect(f, addr);
	if (!err)
		return;
	if (f->starting)
		f->start_err = err;
	else
		fetch_end(f, err, NULL, 0);
}

int xd_http_fetch_start(struct ev_loop *loop, const struct xd_http_uri *uri, const uint8_t *req,
			size_t len, double timeout, xd_http_done cb, void *ctx,
			struct xd_http_fetch **out)
{
	char head[XD_HTTP_URI_MAX * 2 + 256];
	int hl = xd_http_post_head(uri, len, head, sizeof(head));
	struct xd_http_fetch *f;
	int err;

	if (hl < 0)
		return hl;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->loop = loop;
	f->fd = -1;
	f->cb = cb;
	f->ctx = ctx;
	f->out_len = (size_t)hl + len;
	f->out = malloc(f->out_len);
	f->in_cap = FETCH_IN_MAX;
	f->in = malloc(f->in_cap);
	if (!f->out || !f->in) {
		f->cb = NULL;
		fetch_end(f, -ENOMEM, NULL, 0);
		return -ENOMEM;
	}
	memcpy(f->out, head, (size_t)hl);
	memcpy(f->out + hl, req, len);
	/* One timeout for the whole exchange, the name lookup included. */
	ev_timer_init(&f->timer, fetch_timeout, timeout, 0.0);
	ev_timer_start(loop, &f->timer);
	f->starting = true;
	err = xd_lookup_start(loop, uri->host, uri->port, fetch_resolved, f, &f->lookup);
	f->starting = false;
	if (!err)
		err = f->start_err;
	if (err) {
		f->cb = NULL;
		fetch_end(f, err, NULL, 0);
		return err;
	}
	*out = f;
	return 0;
}

/* --- the cache ------------------------------------------------------------------ */

static void cache_key(const struct ike_der *cert, const struct ike_der *issuer, uint8_t key[32])
{
	uint8_t two[64];

	ike_sha256(cert->p, cert->len, two);
	ike_sha256(issuer->p, issuer->len, two + 32);
	ike_sha256(two, sizeof(two), key);
}

static void entry_drop(struct xd_ocsp *o, size_t i)
{
	free(o->cache[i].der);
	o->cache[i] = o->cache[--o->n_cache];
	memset(&o->cache[o->n_cache], 0, sizeof(o->cache[0]));
}

const struct xd_ocsp_entry *xd_ocsp_cached(struct xd_ocsp *o, const struct ike_der *cert,
					   const struct ike_der *issuer, int64_t now)
{
	uint8_t key[32];

	cache_key(cert, issuer, key);
	for (size_t i = 0; i < o->n_cache; i++) {
		struct xd_ocsp_entry *e = &o->cache[i];

		if (memcmp(e->key, key, sizeof(key)) != 0)
			continue;
		/* Kept until its nextUpdate, not a second more. */
		if (e->result.next_update <= now) {
			entry_drop(o, i);
			return NULL;
		}
		e->used = now;
		return e;
	}
	return NULL;
}

void xd_ocsp_cache_put(struct xd_ocsp *o, const struct ike_der *cert,
		       const struct ike_der *issuer, const uint8_t *der, size_t len,
		       const struct ike_ocsp_result *r, const char *responder, int64_t now)
{
	struct ike_cert_info info;
	struct xd_ocsp_entry *e;
	uint8_t *copy;
	uint8_t key[32];

	if (r->next_update <= now || len > IKE_OCSP_RESP_MAX)
		return;
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, der, len);
	cache_key(cert, issuer, key);
	for (size_t i = 0; i < o->n_cache; i++)
		if (memcmp(o->cache[i].key, key, sizeof(key)) == 0) {
			entry_drop(o, i);
			break;
		}
	if (o->n_cache == XD_OCSP_CACHE_MAX) {
		size_t lru = 0;

		for (size_t i = 1; i < o->n_cache; i++)
			if (o->cache[i].used < o->cache[lru].used)
				lru = i;
		entry_drop(o, lru);
	}
	e = &o->cache[o->n_cache++];
	memcpy(e->key, key, sizeof(key));
	e->der = copy;
	e->len = len;
	e->result = *r;
	e->used = now;
	if (ike_cert_der_info(cert, &info) == 0) {
		snprintf(e->subject, sizeof(e->subject), "%s", info.subject);
		snprintf(e->serial, sizeof(e->serial), "%s", info.serial);
	} else {
		e->subject[0] = e->serial[0] = '\0';
	}
	snprintf(e->responder, sizeof(e->responder), "%s", responder ? responder : "");
}


/* --- queries -------------------------------------------------------------------- */

struct xd_ocsp_query {
	struct xd_ocsp *o;
	struct xd_ocsp_query *next;
	struct xd_http_fetch *fetch;
	struct ike_ocsp_query q;
	struct ike_der trusted[IKE_OCSP_TRUSTED_MAX];
	char responder[2 * XD_HTTP_URI_MAX + 16];
	xd_ocsp_done cb;
	void *ctx;
};

static void count(struct xd_ocsp *o, const struct ike_ocsp_result *r)
{
	if (r->status == IKE_OCSP_GOOD)
		o->stats.good++;
	else if (r->status == IKE_OCSP_REVOKED)
		o->stats.revoked++;
	else
		o->stats.unknown++;
}

static void query_unlink(struct xd_ocsp *o, struct xd_ocsp_query *qq)
{
	for (struct xd_ocsp_query **p = &o->pending; *p; p = &(*p)->next)
		if (*p == qq) {
			*p = qq->next;
			o->n_pending--;
			return;
		}
}

static const char *fetch_why(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "responder did not answer in time";
	case -EBADMSG:
		return "malformed HTTP answer";
	case -EMSGSIZE:
		return "answer larger than 64 KiB";
	case -ENXIO:
		return "the responder's host name does not resolve";
	case -EPROTO:
		return "HTTP status other than 200 or not application/ocsp-response";
	default:
		return strerror(-err);
	}
}

static void query_done(void *ctx, int err, const uint8_t *body, size_t len)
{
	struct xd_ocsp_query *qq = ctx;
	struct xd_ocsp *o = qq->o;
	struct ike_ocsp_result r = { 0 };
	const char *why = NULL;
	int64_t now = (int64_t)time(NULL);

	query_unlink(o, qq);
	if (err) {
		why = fetch_why(err);
		if (err == -ETIMEDOUT)
			o->stats.timeouts++;
	} else {
		err = ike_ocsp_check(&qq->q, body, len, (time_t)now, &r, &why);
	}
	if (err) {
		o->stats.failed++;
		qq->cb(qq->ctx, err, NULL, false, why);
	} else {
		count(o, &r);
		xd_ocsp_cache_put(o, &qq->q.cert, &qq->q.issuer, body, len, &r, qq->responder,
				  now);
		qq->cb(qq->ctx, 0, &r, false, NULL);
	}
	free(qq);
}

/* A cached answer, checked again (its signer may have expired since). */
static bool from_cache(struct xd_ocsp *o, const struct ike_ocsp_query *q, xd_ocsp_done cb,
		       void *ctx)
{
	int64_t now = (int64_t)time(NULL);
	const struct xd_ocsp_entry *e = xd_ocsp_cached(o, &q->cert, &q->issuer, now);
	struct ike_ocsp_query nq = *q;
	struct ike_ocsp_result r;
	const char *why = NULL;

	if (!e)
		return false;
	nq.nonce_len = 0; /* the nonce was checked when it came */
	if (ike_ocsp_check(&nq, e->der, e->len, (time_t)now, &r, &why) != 0)
		return false;
	o->stats.cache_hits++;
	count(o, &r);
	cb(ctx, 0, &r, true, NULL);
	return true;
}

int xd_ocsp_query(struct xd_ocsp *o, const struct ike_der *cert, const struct ike_der *issuer,
		  const struct ike_der *trusted, size_t n_trusted,
		  const struct xd_http_uri *uri, xd_ocsp_done cb, void *ctx)
{
	uint8_t req[IKE_OCSP_REQ_MAX];
	size_t len = sizeof(req);
	struct xd_ocsp_query *qq;
	const char *why = NULL;
	int err;

	if (n_trusted > IKE_OCSP_TRUSTED_MAX)
		return -EINVAL;
	qq = calloc(1, sizeof(*qq));
	if (!qq)
		return -ENOMEM;
	qq->o = o;
	qq->cb = cb;
	qq->ctx = ctx;
	qq->q.cert = *cert;
	qq->q.issuer = *issuer;
	for (size_t i = 0; i < n_trusted; i++)
		qq->trusted[i] = trusted[i];
	qq->q.trusted = qq->trusted;
	qq->q.n_trusted = n_trusted;
	if (from_cache(o, &qq->q, cb, ctx)) {
		free(qq);
		return 0;
	}
	if (o->n_pending >= XD_OCSP_PENDING_MAX) {
		free(qq);
		return -EBUSY;
	}
	snprintf(qq->responder, sizeof(qq->responder), "http://%s%s%s:%s%s", uri->ipv6 ? "[" : "",
		 uri->host, uri->ipv6 ? "]" : "", uri->port, uri->path);
	qq->q.nonce_len = IKE_OCSP_NONCE_LEN;
	err = ike_random(qq->q.nonce, qq->q.nonce_len);
	if (!err)
		err = ike_ocsp_request(&qq->q, req, &len, &why);
	if (!err)
		err = xd_http_fetch_start(o->loop, uri, req, len, o->timeout, query_done, qq,
					  &qq->fetch);
	if (err) {
		free(qq);
		return err;
	}
	o->stats.requests++;
	qq->next = o->pending;
	o->pending = qq;
	o->n_pending++;
	return 0;
}

void xd_ocsp_init(struct xd_ocsp *o, struct ev_loop *loop)
{
	memset(o, 0, sizeof(*o));
	o->loop = loop;
	o->timeout = XD_OCSP_TIMEOUT;
}

void xd_ocsp_free(struct xd_ocsp *o)
{
	while (o->pending) {
		struct xd_ocsp_query *qq = o->pending;

		o->pending = qq->next;
		xd_http_fetch_cancel(qq->fetch);
		free(qq);
	}
	o->n_pending = 0;
	while (o->n_cache)
		entry_drop(o, o->n_cache - 1);
}
