/* SPDX-License-Identifier: ISC */
/*
 * The message windows (RFC 7296 section 2.1): the request we have out and
 * its retransmission, the response we keep for the peer's retransmitted
 * request, the SK payload opened and sealed, and each datagram dispatched
 * to the exchange it belongs to.  What each exchange carries lives in the
 * task files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/child.h"
#include "ike/engine_int.h"
#include "ike/task.h"
#include "ike/work.h"

void ike_sa_sk_ctx(const struct ike_sa *sa, bool out, struct ike_sk_ctx *c)
{
	/* The initiator sends with SK_ei/SK_ai, the responder with SK_er/SK_ar. */
	bool use_i = out == sa->initiator;

	c->encr = sa->suite.encr;
	c->keybits = sa->suite.encr_keybits;
	c->integ = sa->suite.integ;
	c->ekey = use_i ? sa->keys.sk_ei : sa->keys.sk_er;
	c->akey = sa->suite.integ ? (use_i ? sa->keys.sk_ai : sa->keys.sk_ar) : NULL;
}

/* Where the datagram being handled arrived at and came from. */
struct ike_rx {
	const struct xk_addr *local, *remote;
};

/*
 * Section 2.11: a response goes back to the address and port its request
 * came from, and leaves from the address and port it arrived on.
 */
static void send_response(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_pkt *p)
{
	ike_pkt_send(sa, p, rx->local, rx->remote);
}

/* ---- sending requests ---- */

static void next_task(struct ike_sa *sa);

static void send_request(struct ike_sa *sa)
{
	struct ike_task *t = sa->tasks;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_mb mb;
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = t->ops->exch,
		.flags = sa->initiator ? IKEV2_FLAG_INITIATOR : 0,
		.mid = sa->mid_next,
	};
	int len, err;

	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	if (t->ops->exch != IKEV2_EXCH_IKE_SA_INIT)
		ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	err = t->ops->build_i(t, sa, &mb);
	/* A work is out for it (sa->work): the request goes when it is back. */
	if (err > 0) {
		ike_sa_schedule(sa);
		return;
	}
	if (err < 0) {
		struct ike_sa *succ = sa->moved_to_spi ? ike_engine_find_sa(sa->eng, sa->moved_to_spi) : NULL;

		/* Without its first exchanges there is no IKE SA to keep. */
		if (t->ops->exch == IKEV2_EXCH_IKE_SA_INIT || t->ops->exch == IKEV2_EXCH_IKE_AUTH) {
			ike_sa_kill(sa, 0, "cannot build request");
			return;
		}
		sa->tasks = t->next;
		t->next = NULL;
		if (err == -ENOENT && succ && succ->state == IKE_S_ESTABLISHED) {
			/* What it concerns moved with an IKE SA rekey: follow it there. */
			ike_sa_queue(succ, t);
		} else {
			if (err != -ECANCELED)
				xk_warn("%s not started conn=%s: %s", t->ops->name,
					sa->conn ? sa->conn->name : "", strerror(-err));
			t->ops->destroy(t);
		}
		next_task(sa);
		return;
	}
	if (t->ops->exch == IKEV2_EXCH_IKE_SA_INIT) {
		/* RFC 7383 section 2.5: IKE_SA_INIT is never fragmented. */
		len = ike_mb_finish(&mb);
		if (len >= 0) {
			ike_pkt_set(&sa->req, buf, (size_t)len);
			if (!sa->req.buf)
				len = -ENOMEM;
		}
	} else {
		len = ike_sa_seal(sa, &mb, &sa->req);
	}
	if (len < 0) {
		ike_sa_kill(sa, 0, "cannot build request");
		return;
	}
	sa->req_out = true;
	sa->req_tries = 0;
	sa->req_next_ms = ike_now(sa->eng) + sa->eng->cfg.retransmit_timeout_ms;
	xk_debug("sending %s request conn=%s spi=%016llx mid=%u len=%zu",
		 ikev2_exch_name(hdr.exch), sa->conn ? sa->conn->name : "",
		 (unsigned long long)ike_sa_local_spi(sa), hdr.mid, sa->req.len);
	ike_pkt_send(sa, &sa->req, &sa->local, &sa->remote);
	ike_sa_schedule(sa);
}

static void next_task(struct ike_sa *sa)
{
	/* A work out holds the request back (our IKE_AUTH waits for its signature). */
	if (!sa->req_out && !sa->work && sa->tasks && sa->state != IKE_S_DEAD)
		send_request(sa);
}

void ike_sa_request_next(struct ike_sa *sa)
{
	next_task(sa);
}

void ike_sa_queue(struct ike_sa *sa, struct ike_task *t)
{
	struct ike_task **pp = &sa->tasks;

	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	next_task(sa);
}

static void task_pop(struct ike_sa *sa)
{
	struct ike_task *t = sa->tasks;

	sa->tasks = t->next;
	t->ops->destroy(t);
}

/* ---- receiving ---- */

static void req_hash(const uint8_t *buf, size_t len, uint8_t out[16])
{
	uint8_t h[32];

	ike_sha256(buf, len, h);
	memcpy(out, h, 16);
}

/* Decrypt the SK payload in place (buf is our copy) and parse what is inside. */
static int open_sk(struct ike_sa *sa, struct ike_msg *msg, uint8_t *buf)
{
	struct ike_sk_ctx sk;
	size_t aad = msg->sk_off + IKEV2_GENHDR_LEN;
	size_t iv_len = ike_encr_iv_len(sa->suite.encr);
	const uint8_t *pt;
	int n;
	uint8_t pad;

	ike_sa_sk_ctx(sa, false, &sk);
	n = ike_sk_open(&sk, buf, aad, msg->raw_len);
	if (n <= 0)
		return -EBADMSG;
	pt = buf + aad + iv_len;
	pad = pt[n - 1];
	msg->authenticated = true;
	/* The Pad Length cannot exceed what was decrypted. */
	if ((size_t)pad + 1 > (size_t)n)
		return -EINVAL;
	return ike_msg_parse_inner(msg, pt, (size_t)n - pad - 1);
}

/*
 * A message of the peer authenticated: the peer lives, and is followed to
 * where it now sends from.  Section 2.23: once a NAT is known, the peer's
 * address is wherever its last authenticated message came from; a peer
 * that moved to the NAT-T port (as it may after IKE_SA_INIT) is followed
 * there even without a NAT.
 */
static void peer_heard(struct ike_sa *sa, const struct ike_rx *rx)
{
	bool nat = sa->nat_local || sa->nat_remote;
	struct xk_addr old = sa->remote;
	char a[64];

	sa->last_rx_ms = ike_now(sa->eng);
	sa->dpd_sent_ms = 0;
	if (xk_addr_eq(&sa->remote, rx->remote) && xk_addr_eq(&sa->local, rx->local))
		return;
	/*
	 * Without a NAT only a move to our NAT-T port is followed, whether or
	 * not the peer's own port changed with it.
	 */
	if (!nat && (rx->local->port != ike_cfg(sa->eng)->nat_port ||
		     !xk_addr_ip_eq(&sa->remote, rx->remote)))
		return;
	sa->remote = *rx->remote;
	sa->local = *rx->local;
	if (!nat || xk_addr_eq(&old, rx->remote))
		return;
	xk_info("peer moved conn=%s to %s:%u", sa->conn ? sa->conn->name : "",
		xk_addr_str(&sa->remote, a, sizeof(a)), sa->remote.port);
	if (sa->keys_ready && sa->state == IKE_S_ESTABLISHED)
		child_move_all(sa, &old);
}

/* Begin our response to req: its header, and the SK payload that holds the rest. */
static void response_begin(const struct ike_sa *sa, const struct ike_msg *req, struct ike_mb *mb,
			   uint8_t *buf, size_t size)
{
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = req->hdr.exch,
		.flags = IKEV2_FLAG_RESPONSE | (sa->initiator ? IKEV2_FLAG_INITIATOR : 0),
		.mid = req->hdr.mid,
	};

	ike_mb_init(mb, buf, size, &hdr);
	ike_mb_sk_begin(mb, ike_encr_iv_len(sa->suite.encr));
}

/*
 * Seal and send the response; it is kept, with a hash of its request, for
 * a retransmission of that request (section 2.1), and the window moves.
 */
static void response_send(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_msg *req,
			  struct ike_mb *mb)
{
	/* Fragments too, if it needs them (RFC 7383 section 2.5); kept as sent. */
	if (ike_sa_seal(sa, mb, &sa->resp) < 0)
		return;
	send_response(sa, rx, &sa->resp);
	memcpy(sa->resp_req_hash, req->req_key, sizeof(sa->resp_req_hash));
	sa->resp_cached = sa->resp.buf != NULL;
	sa->mid_expect++;
}

/* An encrypted response that says only `notify` (with optional data). */
static void respond_notify(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_msg *req,
			   uint16_t notify, const uint8_t *data, size_t dlen)
{
	uint8_t buf[512];
	struct ike_mb mb;

	response_begin(sa, req, &mb, buf, sizeof(buf));
	ike_mb_notify(&mb, 0, NULL, 0, notify, data, dlen);
	response_send(sa, rx, req, &mb);
}

/*
 * Every message after IKE_SA_INIT is one SK payload, all of it protected
 * (section 3.14): open it into copy.  -EBADMSG: not from the peer, or not
 * protected (counted; drop it).  Else the peer is authenticated: 0, or an
 * error about what is inside.
 */
static int open_message(struct ike_sa *sa, const struct ike_rx *rx, struct ike_msg *msg,
			uint8_t *copy, bool response)
{
	struct ike_engine *e = sa->eng;
	int err;

	if (!msg->has_sk || msg->n_pl != 1) {
		e->stats.rx_malformed++;
		return -EBADMSG;
	}
	memcpy(copy, msg->raw, msg->raw_len);
	if (msg->frag) {
		/* One fragment (RFC 7383): -EINPROGRESS while more are due. */
		err = ike_frag_input(sa, msg, copy, response);
		if (err == -EBADMSG)
			return err;
		peer_heard(sa, rx);
		if (err == 0)
			return -EINPROGRESS;
		return err < 0 ? err : 0;
	}
	err = open_sk(sa, msg, copy);
	if (err == -EBADMSG) {
		e->stats.rx_bad_icv++;
		return err;
	}
	peer_heard(sa, rx);
	return err;
}

static void respond(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_msg *msg);

static void handle_request(struct ike_sa *sa, const struct ike_rx *rx, struct ike_msg *msg,
			   uint8_t *copy)
{
	struct ike_engine *e = sa->eng;
	int err;

	/*
	 * Section 2.1: a retransmitted request gets the cached response again;
	 * of a fragmented one only fragment 1 does (RFC 7383 section 2.6.1).
	 */
	if (sa->resp_cached && msg->hdr.mid + 1 == sa->mid_expect &&
	    (!msg->frag || msg->frag_num == 1)) {
		uint8_t h[16];

		req_hash(msg->raw, msg->raw_len, h);
		if (memcmp(h, sa->resp_req_hash, sizeof(h)) == 0) {
			e->stats.responses_resent++;
			send_response(sa, rx, &sa->resp);
			return;
		}
	}
	/*
	 * Anything but the next request in the window is dropped (2.3); so
	 * is that request while its answer waits for a work: the first copy
	 * is being worked on, a retransmission is answered when it is done.
	 */
	if (msg->hdr.mid != sa->mid_expect || !sa->keys_ready || sa->work) {
		e->stats.rx_unexpected++;
		return;
	}
	err = open_message(sa, rx, msg, copy, false);
	if (err == -EBADMSG || err == -EINPROGRESS)
		return;
	/* A fragmented request is known again by its fragment 1 (RFC 7383 2.6.1). */
	if (msg->frag)
		memcpy(msg->req_key, msg->frag1_hash, sizeof(msg->req_key));
	else
		req_hash(msg->raw, msg->raw_len, msg->req_key);
	/* From here on the peer is authenticated: errors are worth a notify. */
	if (err < 0) {
		e->stats.rx_malformed++;
		respond_notify(sa, rx, msg, IKEV2_N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	if (msg->unsupported_critical) {
		uint8_t t = msg->unsupported_critical;

		e->stats.rx_malformed++;
		respond_notify(sa, rx, msg, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1);
		return;
	}
	respond(sa, rx, msg);
}

/* The peer's request msg, opened and whole: answer it, or wait for a work. */
static void respond(struct ike_sa *sa, const struct ike_rx *rx, const struct ike_msg *msg)
{
	struct ike_engine *e = sa->eng;
	uint8_t buf[IKE_MSG_MAX];
	struct ike_mb mb;
	uint16_t notify = 0;
	int err;

	response_begin(sa, msg, &mb, buf, sizeof(buf));
	switch (msg->hdr.exch) {
	case IKEV2_EXCH_IKE_AUTH:
		err = task_auth_respond(sa, msg, &mb, &notify);
		break;
	case IKEV2_EXCH_INFORMATIONAL:
		err = task_info_respond(sa, msg, &mb, &notify);
		break;
	case IKEV2_EXCH_CREATE_CHILD_SA:
		if (sa->state != IKE_S_ESTABLISHED) {
			/* Section 2.25.2: the IKE SA is going away. */
			err = -EBUSY;
			notify = sa->state == IKE_S_DELETING ? IKEV2_N_TEMPORARY_FAILURE
							     : IKEV2_N_INVALID_SYNTAX;
			break;
		}
		/* An SA payload proposing protocol IKE rekeys the IKE SA (1.3.2). */
		{
			const struct ike_pl *pl = ike_msg_find(msg, IKEV2_PL_SA);
			struct ike_proposal p1;

			if (pl && ike_pl_sa(pl, &p1, 1) >= 1 && p1.protocol == IKEV2_PROTO_IKE)
				err = task_ike_rekey_respond(sa, msg, &mb, &notify);
			else
				err = task_child_respond(sa, msg, &mb, &notify);
		}
		break;
	default:
		err = -EINVAL;
		notify = IKEV2_N_INVALID_SYNTAX;
		break;
	}
	if (err > 0) {
		/* A work is out (sa->work): no answer yet, the window stays. */
		ike_sa_schedule(sa);
		return;
	}
	if (err < 0) {
		if (!notify || notify == IKEV2_N_INVALID_SYNTAX)
			e->stats.rx_malformed++;
		if (notify)
			respond_notify(sa, rx, msg, notify, NULL, 0);
	} else {
		response_send(sa, rx, msg, &mb);
	}
	if (sa->kill_after_response)
		ike_sa_kill(sa, 0, "deleted by peer");
	else
		ike_sa_schedule(sa);
}

void ike_sa_request_resume(struct ike_sa *sa, const struct ike_msg *m)
{
	/* The peer's address as last heard (peer_heard followed it). */
	struct ike_rx rx = { &sa->local, &sa->remote };

	respond(sa, &rx, m);
}

static void handle_response(struct ike_sa *sa, const struct ike_rx *rx, struct ike_msg *msg,
			    uint8_t *copy)
{
	struct ike_engine *e = sa->eng;
	struct ike_task *t = sa->tasks;

	/*
	 * Only the response to the request we have out counts (2.3); while
	 * the one that came is being worked on, another is a duplicate.
	 */
	if (!sa->req_out || !t || msg->hdr.mid != sa->mid_next ||
	    msg->hdr.exch != t->ops->exch || sa->work) {
		e->stats.rx_unexpected++;
		return;
	}
	if (msg->hdr.exch != IKEV2_EXCH_IKE_SA_INIT) {
		int err;

		err = open_message(sa, rx, msg, copy, true);
		if (err == -EBADMSG || err == -EINPROGRESS)
			return;
		if (err < 0) {
			/* An authenticated but broken response ends the exchange. */
			e->stats.rx_malformed++;
			ike_sa_kill(sa, IKEV2_N_INVALID_SYNTAX, "malformed response");
			return;
		}
	}
	if (msg->unsupported_critical) {
		e->stats.rx_malformed++;
		ike_sa_kill(sa, IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD,
			    "response with unsupported critical payload");
		return;
	}
	ike_sa_task_result(sa, t->ops->process_i(t, sa, msg));
}

void ike_sa_task_result(struct ike_sa *sa, enum ike_task_result res)
{
	if (sa->state == IKE_S_DEAD)
		return;
	switch (res) {
	case IKE_TASK_DONE:
		sa->req_out = false;
		ike_pkt_free(&sa->req);
		sa->mid_next++;
		task_pop(sa);
		ike_sa_schedule(sa);
		next_task(sa);
		break;
	case IKE_TASK_RETRY:
		sa->req_out = false;
		send_request(sa);
		break;
	case IKE_TASK_AGAIN:
		sa->req_out = false;
		ike_pkt_free(&sa->req);
		sa->mid_next++;
		send_request(sa);
		break;
	case IKE_TASK_FAILED:
		ike_sa_kill(sa, sa->fail_notify, "exchange failed");
		break;
	case IKE_TASK_IGNORE:
	case IKE_TASK_PENDING:
		break;
	}
}

static void send_version_notify(struct ike_engine *e, const struct xk_addr *local,
				const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	struct ike_hdr req, hdr;
	uint8_t out[64];
	struct ike_mb mb;
	int n;

	if (len < IKEV2_HDR_LEN)
		return;
	req.spi_i = get_be64(buf);
	req.spi_r = get_be64(buf + 8);
	req.exch = buf[18];
	req.flags = buf[19];
	req.mid = get_be32(buf + 20);
	/* Section 2.5: answer only requests, and only with our version. */
	if (req.flags & IKEV2_FLAG_RESPONSE || (buf[17] >> 4) < 2)
		return;
	hdr = (struct ike_hdr){ .spi_i = req.spi_i, .spi_r = req.spi_r,
				.exch = req.exch, .flags = IKEV2_FLAG_RESPONSE,
				.mid = req.mid };
	ike_mb_init(&mb, out, sizeof(out), &hdr);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_INVALID_MAJOR_VERSION, NULL, 0);
	n = ike_mb_finish(&mb);
	if (n > 0)
		ike_send_raw(e, local, remote, out, (size_t)n);
}

void ike_engine_input(struct ike_engine *e, const struct xk_addr *local,
		      const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	struct ike_rx rx = { local, remote };
	struct ike_msg msg;
	uint8_t *copy = NULL;
	struct ike_sa *sa;
	bool response, from_initiator;
	int err;

	e->stats.rx_packets++;
	err = ike_msg_parse(&msg, buf, len);
	if (err == IKE_PARSE_VERSION) {
		e->stats.rx_malformed++;
		send_version_notify(e, local, remote, buf, len);
		return;
	}
	if (err < 0) {
		e->stats.rx_malformed++;
		return;
	}
	response = msg.hdr.flags & IKEV2_FLAG_RESPONSE;
	from_initiator = msg.hdr.flags & IKEV2_FLAG_INITIATOR;

	if (msg.hdr.exch == IKEV2_EXCH_IKE_SA_INIT && !response) {
		/* A new IKE SA (or a retransmission of its first request). */
		if (!from_initiator || msg.hdr.spi_r != 0 || msg.hdr.mid != 0) {
			e->stats.rx_malformed++;
			return;
		}
		task_init_respond(e, &msg, local, remote);
		ike_engine_reap(e);
		return;
	}

	sa = ike_engine_find_sa(e, from_initiator ? msg.hdr.spi_r : msg.hdr.spi_i);
	/* The message must name this SA by both SPIs, from the right role. */
	if (!sa || sa->state == IKE_S_DEAD || sa->initiator == from_initiator ||
	    (from_initiator ? msg.hdr.spi_i != sa->spi_i :
	     msg.hdr.exch != IKEV2_EXCH_IKE_SA_INIT && msg.hdr.spi_r != sa->spi_r)) {
		e->stats.rx_unknown_spi++;
		return;
	}
	copy = malloc(len);
	if (!copy)
		return;
	if (response)
		handle_response(sa, &rx, &msg, copy);
	else
		handle_request(sa, &rx, &msg, copy);
	/* A reassembled message has been handled: its pieces go (sa is freed only by the reap). */
	ike_frag_release(sa);
	xk_wipe(copy, len);
	free(copy);
	ike_engine_reap(e);
}
