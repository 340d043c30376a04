/* SPDX-License-Identifier: ISC */
/*
 * The XFRM backend's sockets: requests with ACKs matched by sequence
 * number, batches with roll-back, dumps for flushing what we own, the event
 * subscription, and the start-up probe of what the kernel can carry.
 */
#define _GNU_SOURCE /* SO_RCVBUFFORCE */
#include "xfrm_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/secret.h"

#define XK_XFRM_REQ_MAX 1024 /* one request, keys included */
#define XK_XFRM_RECV_BUF 32768 /* the kernel sends at most a page-ish per message */

struct xfrm {
	struct xfrm_cfg cfg;
	struct mnl_socket *nl;
	struct mnl_socket *ev;
	uint32_t portid;
	uint32_t seq;
};

void xfrm_cfg_defaults(struct xfrm_cfg *cfg)
{
	*cfg = (struct xfrm_cfg){
		.reqid_base = 0x7c000000,
		.reqid_count = 0x01000000,
		.spi_min = 0xc0000000,
		.spi_max = 0xcfffffff,
	};
}

bool xfrm_owns_reqid(const struct xfrm *x, uint32_t reqid)
{
	return reqid >= x->cfg.reqid_base && reqid - x->cfg.reqid_base < x->cfg.reqid_count;
}

struct xfrm *xfrm_open(const struct xfrm_cfg *cfg, int *err)
{
	struct xfrm *x = calloc(1, sizeof(*x));
	int one = 1;

	if (!x) {
		*err = -ENOMEM;
		return NULL;
	}
	if (cfg)
		x->cfg = *cfg;
	else
		xfrm_cfg_defaults(&x->cfg);
	x->nl = mnl_socket_open(NETLINK_XFRM);
	if (!x->nl || mnl_socket_bind(x->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		*err = -errno;
		xfrm_close(x);
		return NULL;
	}
	/* Ask for the kernel's own words with errors, where it has them. */
	mnl_socket_setsockopt(x->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	x->portid = mnl_socket_get_portid(x->nl);
	x->seq = (uint32_t)time(NULL);
	return x;
}

void xfrm_close(struct xfrm *x)
{
	if (!x)
		return;
	if (x->nl)
		mnl_socket_close(x->nl);
	if (x->ev)
		mnl_socket_close(x->ev);
	free(x);
}

/*
 * Send one request and read until its ACK (or, for GET requests, its
 * answer).  `cb` sees data messages.  Returns 0 or the kernel's -errno.
 */
static int talk(struct xfrm *x, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint8_t buf[XK_XFRM_RECV_BUF];
	uint32_t seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(x->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = (int)mnl_socket_recvfrom(x->nl, buf, sizeof(buf));
		if (ret < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, x->portid, cb, data);
		ret = ret < 0 ? -errno : ret == MNL_CB_STOP ? 0 : 1;
	} while (ret > 0);
	/* Answers carry keys: GETSA and dumps of SAs. */
	xk_wipe(buf, sizeof(buf));
	return ret;
}

/* Build into a stack buffer, talk, wipe (requests may hold keys). */
static int request(struct xfrm *x, int len, uint8_t *buf, mnl_cb_t cb, void *data)
{
	int err;

	if (len < 0)
		return len;
	err = talk(x, (struct nlmsghdr *)buf, cb, data);
	xk_wipe(buf, (size_t)len);
	return err;
}

int xfrm_add_sa(struct xfrm *x, const struct xk_sa *sa)
{
	uint8_t buf[XK_XFRM_REQ_MAX];
	int err;

	/*
	 * An inbound SPI from ALLOCSPI sits in the kernel as a larval SA that
	 * only an update may replace; without one (an SPI chosen elsewhere)
	 * the update finds nothing, and the SA is created instead.
	 */
	if (sa->inbound) {
		err = request(x, xfrm_msg_newsa(sa, true, ++x->seq, buf, sizeof(buf)), buf, NULL,
			      NULL);
		if (err != -ESRCH)
			return err;
	}
	return request(x, xfrm_msg_newsa(sa, false, ++x->seq, buf, sizeof(buf)), buf, NULL, NULL);
}

int xfrm_update_sa(struct xfrm *x, const struct xk_sa *sa)
{
	uint8_t buf[XK_XFRM_REQ_MAX];

	return request(x, xfrm_msg_newsa(sa, true, ++x->seq, buf, sizeof(buf)), buf, NULL, NULL);
}

int xfrm_del_sa(struct xfrm *x, const struct xk_sa_id *id)
{
	uint8_t buf[XK_XFRM_REQ_MAX];

	return request(x, xfrm_msg_delsa(id, ++x->seq, buf, sizeof(buf)), buf, NULL, NULL);
}

int xfrm_add_policy(struct xfrm *x, const struct xk_policy *pol)
{
	uint8_t buf[XK_XFRM_REQ_MAX];

	return request(x, xfrm_msg_newpolicy(pol, ++x->seq, buf, sizeof(buf)), buf, NULL, NULL);
}

int xfrm_del_policy(struct xfrm *x, const struct xk_policy *pol)
{
	uint8_t buf[XK_XFRM_REQ_MAX];

	return request(x, xfrm_msg_delpolicy(pol, ++x->seq, buf, sizeof(buf)), buf, NULL, NULL);
}

struct sa_reply {
	uint32_t spi, reqid;
	struct xk_sa_stats st;
	bool got;
};

static int sa_reply_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sa_reply *r = data;

	if (xfrm_sa_reply_parse(nlh, nlh->nlmsg_len, &r->spi, &r->reqid, &r->st) == 0)
		r->got = true;
	return MNL_CB_STOP;
}

int xfrm_alloc_spi(struct xfrm *x, const struct xk_addr *src, const struct xk_addr *dst,
		   uint32_t *spi)
{
	uint8_t buf[XK_XFRM_REQ_MAX];
	struct sa_reply r = { 0 };
	int err;

	err = request(x, xfrm_msg_allocspi(src, dst, x->cfg.spi_min, x->cfg.spi_max,
					   x->cfg.reqid_base, ++x->seq, buf, sizeof(buf)),
		      buf, sa_reply_cb, &r);
	if (err < 0)
		return err;
	if (!r.got)
		return -EIO;
	*spi = r.spi;
	return 0;
}

int xfrm_query_sa(struct xfrm *x, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	uint8_t buf[XK_XFRM_REQ_MAX];
	struct sa_reply r = { 0 };
	int err;

	err = request(x, xfrm_msg_getsa(id, ++x->seq, buf, sizeof(buf)), buf, sa_reply_cb, &r);
	if (err < 0)
		return err;
	if (!r.got)
		return -EIO;
	*st = r.st;
	return 0;
}

struct sa_copy {
	uint8_t buf[XK_XFRM_REQ_MAX * 4];
	size_t len;
};

static int sa_copy_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sa_copy *c = data;

	if (nlh->nlmsg_type == XFRM_MSG_NEWSA && nlh->nlmsg_len <= sizeof(c->buf)) {
		memcpy(c->buf, nlh, nlh->nlmsg_len);
		c->len = nlh->nlmsg_len;
	}
	return MNL_CB_STOP;
}

int xfrm_move_sa(struct xfrm *x, const struct xk_sa_id *id, const struct xk_addr *src,
		 const struct xk_addr *dst)
{
	uint8_t req[XK_XFRM_REQ_MAX];
	struct sa_copy *c = calloc(1, sizeof(*c));
	struct nlmsghdr *nlh;
	struct xfrm_usersa_info *p;
	struct nlattr *a;
	bool same_dst;
	int err;

	if (!c)
		return -ENOMEM;
	err = request(x, xfrm_msg_getsa(id, ++x->seq, req, sizeof(req)), req, sa_copy_cb, c);
	if (err == 0 && (!c->len || c->len < MNL_NLMSG_HDRLEN + sizeof(*p)))
		err = -EIO;
	if (err < 0)
		goto out;
	nlh = (struct nlmsghdr *)c->buf;
	p = mnl_nlmsg_get_payload(nlh);
	if (p->family != dst->family || src->family != dst->family) {
		err = -EAFNOSUPPORT;
		goto out;
	}
	same_dst = xk_addr_ip_eq(&id->dst, dst);
	xfrm_addr_put(&p->saddr, src);
	xfrm_addr_put(&p->id.daddr, dst);
	/* Only the encapsulation ports change; everything else is as read. */
	mnl_attr_for_each(a, nlh, sizeof(*p)) {
		if (mnl_attr_get_type(a) == XFRMA_ENCAP &&
		    mnl_attr_get_payload_len(a) >= sizeof(struct xfrm_encap_tmpl)) {
			struct xfrm_encap_tmpl *e = mnl_attr_get_payload(a);

			e->encap_sport = htons(src->port);
			e->encap_dport = htons(dst->port);
		}
	}
	nlh->nlmsg_pid = 0;
	nlh->nlmsg_seq = ++x->seq;
	if (same_dst) {
		/* UPDSA keeps the state, its counters and replay window. */
		nlh->nlmsg_type = XFRM_MSG_UPDSA;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		err = talk(x, nlh, NULL, NULL);
	} else {
		/* A new destination is a new SA in the kernel's eyes. */
		nlh->nlmsg_type = XFRM_MSG_NEWSA;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
		err = talk(x, nlh, NULL, NULL);
		if (err == 0)
			xfrm_del_sa(x, id);
	}
out:
	xk_free_secret(c, sizeof(*c));
	return err;
}

/* ---- what we own: dumps, and flushing ---- */

struct dump_ctx {
	struct xfrm *x;
	struct xfrm_owned *o;
	size_t cap_sas, cap_pols;
};

/* Room for one more element of size `size` in *arr (n used of *cap). */
static void *grow(void *arr_p, size_t *cap, size_t n, size_t size)
{
	void **arr = arr_p;
	void *a;

	if (n < *cap)
		return *arr;
	a = realloc(*arr, (*cap ? *cap * 2 : 64) * size);
	if (!a)
		return NULL;
	*arr = a;
	*cap = *cap ? *cap * 2 : 64;
	return a;
}

static int dump_sa_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct xfrm_sa_entry e;

	if (xfrm_sa_entry_parse(nlh, nlh->nlmsg_len, &e) < 0 || !xfrm_owns_reqid(c->x, e.reqid))
		return MNL_CB_OK;
	if (!grow(&c->o->sas, &c->cap_sas, c->o->n_sas, sizeof(e)))
		return MNL_CB_ERROR;
	c->o->sas[c->o->n_sas++] = e;
	return MNL_CB_OK;
}

static int dump_pol_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct xk_policy pol;

	if (xfrm_policy_parse(nlh, nlh->nlmsg_len, &pol) < 0)
		return MNL_CB_OK;
	/* A template of ours, or one of our bypasses (by their priority). */
	if (pol.bypass ? pol.priority != XFRM_BYPASS_PRIORITY : !xfrm_owns_reqid(c->x, pol.reqid))
		return MNL_CB_OK;
	if (!grow(&c->o->pols, &c->cap_pols, c->o->n_pols, sizeof(pol)))
		return MNL_CB_ERROR;
	c->o->pols[c->o->n_pols++] = pol;
	return MNL_CB_OK;
}

static int dump(struct xfrm *x, uint16_t type, mnl_cb_t cb, void *data)
{
	uint8_t buf[MNL_NLMSG_HDRLEN + 64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++x->seq;
	return talk(x, nlh, cb, data);
}

int xfrm_dump_owned(struct xfrm *x, struct xfrm_owned *o)
{
	struct dump_ctx c = { .x = x, .o = o };
	int err;

	memset(o, 0, sizeof(*o));
	err = dump(x, XFRM_MSG_GETPOLICY, dump_pol_cb, &c);
	if (err == 0)
		err = dump(x, XFRM_MSG_GETSA, dump_sa_cb, &c);
	if (err < 0)
		xfrm_owned_free(o);
	return err;
}

void xfrm_owned_free(struct xfrm_owned *o)
{
	free(o->sas);
	free(o->pols);
	memset(o, 0, sizeof(*o));
}

bool xfrm_sa_soft_due(const struct xfrm_sa_entry *e, uint64_t now_s)
{
	const struct xk_lifetime *l = &e->life;

	return (l->soft_secs && now_s >= e->cur.add_time + l->soft_secs) ||
	       (l->soft_bytes && e->cur.bytes >= l->soft_bytes) ||
	       (l->soft_packets && e->cur.packets >= l->soft_packets);
}

int xfrm_flush_owned(struct xfrm *x)
{
	struct xfrm_owned o;
	int err, n = 0;

	err = xfrm_dump_owned(x, &o);
	if (err < 0)
		return err;
	for (size_t i = 0; i < o.n_pols; i++)
		n += xfrm_del_policy(x, &o.pols[i]) == 0;
	for (size_t i = 0; i < o.n_sas; i++)
		n += xfrm_del_sa(x, &o.sas[i].id) == 0;
	xfrm_owned_free(&o);
	return n;
}

/* ---- batches ---- */

enum batch_op {
	B_ADD_SA,
	B_DEL_SA,
	B_ADD_POL,
	B_DEL_POL,
};

struct batch_item {
	enum batch_op op;
	uint32_t seq;
	int err;
	bool acked;
	union {
		struct xk_sa_id sa_id; /* for B_ADD_SA roll-back and B_DEL_SA */
		struct xk_policy pol;
	} u;
};

struct xfrm_batch {
	struct xfrm *x;
	uint8_t *buf; /* the encoded requests, back to back */
	size_t len, cap;
	struct batch_item *items;
	size_t n, n_cap;
};

struct xfrm_batch *xfrm_batch_new(struct xfrm *x)
{
	struct xfrm_batch *b = calloc(1, sizeof(*b));

	if (b)
		b->x = x;
	return b;
}

size_t xfrm_batch_len(const struct xfrm_batch *b)
{
	return b->n;
}

static struct batch_item *batch_reserve(struct xfrm_batch *b, uint8_t **msg)
{
	if (b->n == b->n_cap) {
		size_t cap = b->n_cap ? b->n_cap * 2 : 64;
		struct batch_item *n = realloc(b->items, cap * sizeof(*n));

		if (!n)
			return NULL;
		b->items = n;
		b->n_cap = cap;
	}
	if (b->cap - b->len < XK_XFRM_REQ_MAX) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		uint8_t *n = malloc(cap);

		if (!n)
			return NULL;
		/* Move by hand so the old copy can be wiped: it holds keys. */
		if (b->len)
			memcpy(n, b->buf, b->len);
		xk_free_secret(b->buf, b->cap);
		b->buf = n;
		b->cap = cap;
	}
	*msg = b->buf + b->len;
	memset(&b->items[b->n], 0, sizeof(b->items[0]));
	return &b->items[b->n];
}

static int batch_commit_item(struct xfrm_batch *b, struct batch_item *it, int len)
{
	if (len < 0)
		return len;
	it->seq = ((struct nlmsghdr *)(b->buf + b->len))->nlmsg_seq;
	b->len += (size_t)len;
	b->n++;
	return 0;
}

int xfrm_batch_add_sa(struct xfrm_batch *b, const struct xk_sa *sa)
{
	uint8_t *m;
	struct batch_item *it = batch_reserve(b, &m);

	if (!it)
		return -ENOMEM;
	it->op = B_ADD_SA;
	it->u.sa_id = (struct xk_sa_id){ .dst = sa->dst, .spi = sa->spi, .proto = IPPROTO_ESP };
	/* As in xfrm_add_sa, but no second try: inbound SPIs must come from ALLOCSPI. */
	return batch_commit_item(b, it, xfrm_msg_newsa(sa, sa->inbound, ++b->x->seq, m,
						       XK_XFRM_REQ_MAX));
}

int xfrm_batch_del_sa(struct xfrm_batch *b, const struct xk_sa_id *id)
{
	uint8_t *m;
	struct batch_item *it = batch_reserve(b, &m);

	if (!it)
		return -ENOMEM;
	it->op = B_DEL_SA;
	it->u.sa_id = *id;
	return batch_commit_item(b, it, xfrm_msg_delsa(id, ++b->x->seq, m, XK_XFRM_REQ_MAX));
}

int xfrm_batch_add_policy(struct xfrm_batch *b, const struct xk_policy *pol)
{
	uint8_t *m;
	struct batch_item *it = batch_reserve(b, &m);

	if (!it)
		return -ENOMEM;
	it->op = B_ADD_POL;
	it->u.pol = *pol;
	return batch_commit_item(b, it, xfrm_msg_newpolicy(pol, ++b->x->seq, m, XK_XFRM_REQ_MAX));
}

int xfrm_batch_del_policy(struct xfrm_batch *b, const struct xk_policy *pol)
{
	uint8_t *m;
	struct batch_item *it = batch_reserve(b, &m);

	if (!it)
		return -ENOMEM;
	it->op = B_DEL_POL;
	it->u.pol = *pol;
	return batch_commit_item(b, it, xfrm_msg_delpolicy(pol, ++b->x->seq, m, XK_XFRM_REQ_MAX));
}

static struct batch_item *item_by_seq(struct xfrm_batch *b, uint32_t seq)
{
	/* Sequence numbers are consecutive within a batch. */
	if (!b->n || seq - b->items[0].seq >= b->n)
		return NULL;
	return &b->items[seq - b->items[0].seq];
}

/* Read ACKs until every item of [from, to) has one. */
static int collect_acks(struct xfrm_batch *b, size_t from, size_t to)
{
	uint8_t buf[XK_XFRM_RECV_BUF];
	size_t pending = to - from;

	while (pending) {
		ssize_t n = mnl_socket_recvfrom(b->x->nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *e;
			struct batch_item *it;

			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			it = item_by_seq(b, nlh->nlmsg_seq);
			if (!it || it->acked)
				continue;
			it->acked = true;
			it->err = e->error;
			pending--;
		}
	}
	return 0;
}

static void roll_back(struct xfrm_batch *b)
{
	for (size_t i = b->n; i > 0; i--) {
		struct batch_item *it = &b->items[i - 1];

		if (!it->acked || it->err)
			continue;
		/* Only adds can be undone; a delete stays done. */
		if (it->op == B_ADD_SA)
			xfrm_del_sa(b->x, &it->u.sa_id);
		else if (it->op == B_ADD_POL)
			xfrm_del_policy(b->x, &it->u.pol);
	}
}

int xfrm_batch_commit(struct xfrm_batch *b, int *failed)
{
	size_t off = 0, first = 0;
	int err = 0;

	if (failed)
		*failed = -1;
	/* Send in chunks the socket buffers take comfortably. */
	while (first < b->n && !err) {
		size_t last = first, chunk = 0;

		while (last < b->n) {
			const struct nlmsghdr *nlh = (const void *)(b->buf + off + chunk);

			if (chunk && chunk + nlh->nlmsg_len > 32768)
				break;
			chunk += nlh->nlmsg_len;
			last++;
		}
		if (mnl_socket_sendto(b->x->nl, b->buf + off, chunk) < 0) {
			err = -errno;
			break;
		}
		err = collect_acks(b, first, last);
		off += chunk;
		first = last;
	}
	for (size_t i = 0; i < b->n && !err; i++) {
		if (b->items[i].err) {
			err = b->items[i].err;
			if (failed)
				*failed = (int)i;
		}
	}
	if (err)
		roll_back(b);
	return err;
}

void xfrm_batch_free(struct xfrm_batch *b)
{
	if (!b)
		return;
	xk_free_secret(b->buf, b->cap);
	free(b->items);
	free(b);
}

/* ---- events ---- */

/*
 * Past net.core.rmem_max with CAP_NET_ADMIN (SO_RCVBUFFORCE), else up to
 * it.  The kernel doubles the value for its bookkeeping.
 */
static void set_rcvbuf(struct mnl_socket *nl, int bytes)
{
	int fd = mnl_socket_get_fd(nl), got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) {
		xk_warn("XFRM event socket: cannot set a %d-byte receive buffer: %s", bytes,
			strerror(errno));
		return;
	}
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	xk_debug("XFRM event socket: %d-byte receive buffer", got);
}

int xfrm_events_open(struct xfrm *x, int rcvbuf)
{
	static const unsigned groups[] = { XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE,
					   XFRMNLGRP_MAPPING };

	x->ev = mnl_socket_open2(NETLINK_XFRM, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!x->ev || mnl_socket_bind(x->ev, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	if (rcvbuf > 0)
		set_rcvbuf(x->ev, rcvbuf);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int g = (int)groups[i];

		if (mnl_socket_setsockopt(x->ev, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
			return -errno;
	}
	return mnl_socket_get_fd(x->ev);
}

int xfrm_events_fd(const struct xfrm *x)
{
	return x->ev ? mnl_socket_get_fd(x->ev) : -1;
}

int xfrm_events_read(struct xfrm *x, xk_event_cb cb, void *ctx)
{
	uint8_t buf[XK_XFRM_RECV_BUF];
	int count = 0;
	bool lost = false;

	if (!x->ev)
		return -EBADF;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(x->ev, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		/*
		 * ENOBUFS: the kernel dropped events that did not fit.  It says
		 * so once; what did fit is still queued and read on.
		 */
		if (n < 0 && errno == ENOBUFS) {
			lost = true;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return lost ? -ENOBUFS : count;
		if (n < 0)
			return -errno;
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			struct xk_event ev;

			if (xfrm_event_parse(nlh, nlh->nlmsg_len, &ev) == 0) {
				cb(ctx, &ev);
				count++;
			}
		}
	}
}

/* ---- probe ---- */

/* An SA the kernel will never match: loopback, a scratch SPI. */
static int probe_one(struct xfrm *x, enum xk_enc enc, enum xk_integ integ)
{
	static const uint8_t key[XK_MAX_KEY] = { 0x5a };
	struct xk_sa sa = {
		.spi = 0xfffffff0u,
		.mode = XK_MODE_TRANSPORT,
		.enc = enc,
		.integ = integ,
		.reqid = x->cfg.reqid_base,
	};
	struct xk_sa_id id;
	int err;

	xk_addr_parse("127.0.0.1", &sa.src);
	xk_addr_parse("127.0.0.2", &sa.dst);
	switch (enc) {
	case XK_ENC_AES_GCM_16: sa.enc_key_len = 20; sa.icv_len = 16; break;
	case XK_ENC_CHACHA20_POLY1305: sa.enc_key_len = 36; sa.icv_len = 16; break;
	default: sa.enc_key_len = 16; break;
	}
	switch (integ) {
	case XK_INTEG_HMAC_SHA256_128: sa.integ_key_len = 32; sa.icv_len = 16; break;
	case XK_INTEG_HMAC_SHA384_192: sa.integ_key_len = 48; sa.icv_len = 24; break;
	case XK_INTEG_HMAC_SHA512_256: sa.integ_key_len = 64; sa.icv_len = 32; break;
	default: break;
	}
	memcpy(sa.enc_key, key, sa.enc_key_len);
	memcpy(sa.integ_key, key, sa.integ_key_len);
	err = xfrm_add_sa(x, &sa);
	id = (struct xk_sa_id){ .dst = sa.dst, .spi = sa.spi, .proto = IPPROTO_ESP };
	if (err == 0 || err == -EEXIST)
		xfrm_del_sa(x, &id);
	return err == -EEXIST ? 0 : err;
}

int xfrm_probe(struct xfrm *x, struct xfrm_probe *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	/* ESP itself first: without it nothing else can be told apart. */
	err = probe_one(x, XK_ENC_AES_CBC, XK_INTEG_HMAC_SHA256_128);
	p->esp_err = err;
	p->esp = err != -EPROTONOSUPPORT && err != -ENOENT && err != -EPERM;
	if (!p->esp)
		return 0;
	if (err == 0) {
		p->enc[XK_ENC_AES_CBC] = true;
		p->integ[XK_INTEG_HMAC_SHA256_128] = true;
	}
	p->enc[XK_ENC_AES_GCM_16] = probe_one(x, XK_ENC_AES_GCM_16, XK_INTEG_NONE) == 0;
	p->enc[XK_ENC_CHACHA20_POLY1305] =
		probe_one(x, XK_ENC_CHACHA20_POLY1305, XK_INTEG_NONE) == 0;
	p->integ[XK_INTEG_HMAC_SHA384_192] =
		probe_one(x, XK_ENC_AES_CBC, XK_INTEG_HMAC_SHA384_192) == 0;
	p->integ[XK_INTEG_HMAC_SHA512_256] =
		probe_one(x, XK_ENC_AES_CBC, XK_INTEG_HMAC_SHA512_256) == 0;
	return 0;
}

static const char *const enc_modules[] = {
	[XK_ENC_AES_GCM_16] = "esp4/gcm",
	[XK_ENC_CHACHA20_POLY1305] = "esp4/chacha20poly1305",
	[XK_ENC_AES_CBC] = "esp4/cbc/aes",
};

static const char *const integ_modules[] = {
	[XK_INTEG_HMAC_SHA256_128] = "authenc/hmac/sha256",
	[XK_INTEG_HMAC_SHA384_192] = "authenc/hmac/sha512",
	[XK_INTEG_HMAC_SHA512_256] = "authenc/hmac/sha512",
};

const char *xfrm_probe_check(const struct xfrm_probe *p, enum xk_enc enc,
			     enum xk_integ integ, char *buf, size_t len)
{
	if (!p->esp && p->esp_err == -EPERM) {
		snprintf(buf, len, "not permitted to install SAs (needs root or CAP_NET_ADMIN)");
		return buf;
	}
	if (!p->esp) {
		snprintf(buf, len, "kernel lacks ESP (module esp4/esp6 missing?)");
		return buf;
	}
	if (enc != XK_ENC_NONE && !p->enc[enc]) {
		snprintf(buf, len, "kernel lacks %s (module %s missing?)", xk_enc_name(enc),
			 enc_modules[enc]);
		return buf;
	}
	if (integ != XK_INTEG_NONE && !p->integ[integ]) {
		snprintf(buf, len, "kernel lacks %s (module %s missing?)", xk_integ_name(integ),
			 integ_modules[integ]);
		return buf;
	}
	return NULL;
}

/* ---- the backend interface ---- */

static int ops_alloc_spi(void *ctx, const struct xk_addr *src, const struct xk_addr *dst,
			 uint32_t *spi)
{
	return xfrm_alloc_spi(ctx, src, dst, spi);
}

static int ops_add_sa(void *ctx, const struct xk_sa *sa)
{
	return xfrm_add_sa(ctx, sa);
}

static int ops_upd_sa(void *ctx, const struct xk_sa *sa)
{
	return xfrm_update_sa(ctx, sa);
}

static int ops_del_sa(void *ctx, const struct xk_sa_id *id)
{
	return xfrm_del_sa(ctx, id);
}

static int ops_add_policy(void *ctx, const struct xk_policy *pol)
{
	return xfrm_add_policy(ctx, pol);
}

static int ops_del_policy(void *ctx, const struct xk_policy *pol)
{
	return xfrm_del_policy(ctx, pol);
}

static int ops_query_sa(void *ctx, const struct xk_sa_id *id, struct xk_sa_stats *st)
{
	return xfrm_query_sa(ctx, id, st);
}

static int ops_move_sa(void *ctx, const struct xk_sa_id *id, const struct xk_addr *src,
		       const struct xk_addr *dst)
{
	return xfrm_move_sa(ctx, id, src, dst);
}

static int ops_flush(void *ctx)
{
	int n = xfrm_flush_owned(ctx);

	return n < 0 ? n : 0;
}

const struct xk_kernel_ops xfrm_kernel_ops = {
	.alloc_spi = ops_alloc_spi,
	.add_sa = ops_add_sa,
	.upd_sa = ops_upd_sa,
	.del_sa = ops_del_sa,
	.add_policy = ops_add_policy,
	.del_policy = ops_del_policy,
	.query_sa = ops_query_sa,
	.flush = ops_flush,
	.move_sa = ops_move_sa,
};
