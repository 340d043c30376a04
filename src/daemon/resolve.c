/* SPDX-License-Identifier: ISC */
/*
 * Host names looked up off the loop (resolve.h).  getaddrinfo_a runs the
 * lookup on the library's thread and, when it ends, calls notify() on a
 * thread of its own; notify wakes the loop through the lookup's ev_async.
 *
 * Who frees a lookup: the loop, once the answer came (on_wake) or when
 * the library had not started it yet (gai_cancel: EAI_CANCELED); notify,
 * when the loop gave it up while the library ran it.  The mutex orders
 * notify's wake-up against the loop giving it up.
 */
#define _GNU_SOURCE
#include "daemon/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct xd_lookup {
	struct ev_loop *loop;
	ev_async wake;
	xd_resolved cb;
	void *ctx;
	pthread_mutex_t mu;
	bool ended;     /* the library is done with it */
	bool abandoned; /* the loop is done with it: notify frees it */
	struct gaicb req;
	struct addrinfo hints;
	char *host, *port;
};

static void lookup_free(struct xd_lookup *l)
{
	if (l->req.ar_result)
		freeaddrinfo(l->req.ar_result);
	pthread_mutex_destroy(&l->mu);
	free(l->host);
	free(l->port);
	free(l);
}

/* The library's thread: the lookup ended. */
static void notify(union sigval v)
{
	struct xd_lookup *l = v.sival_ptr;
	bool mine;

	pthread_mutex_lock(&l->mu);
	l->ended = true;
	mine = l->abandoned;
	if (!mine)
		ev_async_send(l->loop, &l->wake);
	pthread_mutex_unlock(&l->mu);
	if (mine)
		lookup_free(l);
}

/* The first address of res with port into addr; -ENXIO if none fits. */
static int first_addr(const struct addrinfo *res, struct sockaddr_storage *addr)
{
	for (const struct addrinfo *a = res; a; a = a->ai_next)
		if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
		    a->ai_addrlen <= sizeof(*addr)) {
			memset(addr, 0, sizeof(*addr));
			memcpy(addr, a->ai_addr, a->ai_addrlen);
			return 0;
		}
	return -ENXIO;
}

static int gai_errno(int rc)
{
	switch (rc) {
	case 0: return 0;
	case EAI_MEMORY: return -ENOMEM;
	case EAI_SYSTEM: return -EIO;
	default: return -ENXIO; /* no name, no address, no server, try again */
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct xd_lookup *l = w->data;
	struct sockaddr_storage addr;
	int err;

	(void)revents;
	ev_async_stop(loop, &l->wake);
	err = gai_errno(gai_error(&l->req));
	if (!err)
		err = first_addr(l->req.ar_result, &addr);
	if (err)
		xk_info("name lookup of %s: %s", l->host,
			err == -ENXIO ? gai_strerror(gai_error(&l->req)) : strerror(-err));
	l->cb(l->ctx, err, err ? NULL : &addr);
	lookup_free(l);
}

int xd_lookup_start(struct ev_loop *loop, const char *host, const char *port, xd_resolved cb,
		    void *ctx, struct xd_lookup **out)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	}, *res = NULL;
	struct gaicb *list[1];
	struct sigevent sev;
	struct xd_lookup *l;
	int rc;

	*out = NULL;
	/* An address needs no lookup. */
	if (getaddrinfo(host, port, &hints, &res) == 0) {
		struct sockaddr_storage addr;
		int err = first_addr(res, &addr);

		freeaddrinfo(res);
		if (err)
			return err;
		cb(ctx, 0, &addr);
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->host = strdup(host);
	l->port = strdup(port);
	if (!l->host || !l->port || pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l->host);
		free(l->port);
		free(l);
		return -ENOMEM;
	}
	l->loop = loop;
	l->cb = cb;
	l->ctx = ctx;
	l->hints = (struct addrinfo){ .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG,
				      .ai_socktype = SOCK_STREAM };
	l->req.ar_name = l->host;
	l->req.ar_service = l->port;
	l->req.ar_request = &l->hints;
	ev_async_init(&l->wake, on_wake);
	l->wake.data = l;
	ev_async_start(loop, &l->wake);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = notify;
	sev.sigev_value.sival_ptr = l;
	list[0] = &l->req;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (rc != 0) {
		ev_async_stop(loop, &l->wake);
		lookup_free(l);
		return rc == EAI_AGAIN || rc == EAI_MEMORY ? -ENOMEM : -EIO;
	}
	*out = l;
	return 0;
}

void xd_lookup_cancel(struct xd_lookup *l)
{
	bool mine;

	if (!l)
		return;
	ev_async_stop(l->loop, &l->wake);
	pthread_mutex_lock(&l->mu);
	/* Not started yet: the library forgets it and never notifies. */
	mine = l->ended || gai_cancel(&l->req) == EAI_CANCELED;
	if (!mine)
		l->abandoned = true;
	pthread_mutex_unlock(&l->mu);
	if (mine)
		lookup_free(l);
}
