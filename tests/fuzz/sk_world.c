/* SPDX-License-Identifier: ISC */
#include "sk_world.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "ike/task.h"

#define SPI_I 0x0102030405060708ULL
static const char psk[] = "sk-world shared secret";

/* Every key, nonce and message a distinct, recognisable byte pattern. */
static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i);
}

static uint64_t sw_now(void *ctx)
{
	return ((struct sk_world *)ctx)->now;
}

/* Nonces from a counter: the same run every time, each nonce distinct. */
static int sw_nonce(void *ctx, void *buf, size_t len)
{
	struct sk_world *w = ctx;

	fill(buf, len, (uint8_t)(0x7f + w->nonces++));
	return 0;
}

/*
 * Whatever the engine sends must parse, and its SK payload must open with
 * the sending SA's keys and hold a well-formed chain: a broken builder is
 * a bug even when the input was garbage.  The sender is the SA whose local
 * SPI the header names (spi_i if it sent as the original initiator); with
 * it gone (killed while sending) the fixed keys are tried, else the
 * message counts as unchecked.
 */
static void sw_send(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		    const uint8_t *buf, size_t len)
{
	struct sk_world *w = ctx;
	uint8_t fixed[IKE_KEY_MAX];
	struct ike_sk_ctx sk = {
		.encr = IKEV2_ENCR_AES_GCM_16,
		.keybits = 128,
		.ekey = fixed,
	};
	struct ike_msg msg;
	struct ike_sa *sa;
	const uint8_t *pt;
	uint8_t *copy;
	size_t aad;
	bool from_i;
	int n;

	(void)local;
	(void)remote;
	w->sent++;
	if (ike_msg_parse(&msg, buf, len) != 0) {
		fprintf(stderr, "sk_world: the engine sent a message it cannot parse\n");
		abort();
	}
	if (!msg.has_sk)
		return;
	from_i = msg.hdr.flags & IKEV2_FLAG_INITIATOR;
	sa = ike_engine_find_sa(w->e, from_i ? msg.hdr.spi_i : msg.hdr.spi_r);
	if (sa && sa->keys_ready && sa->initiator == from_i)
		ike_sa_sk_ctx(sa, true, &sk);
	else
		sa = NULL;
	if (!sa)
		/* SK_ei and SK_er as sk_world_init() fills them. */
		fill(fixed, sizeof(fixed), from_i ? 0x40 : 0x50);
	copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, buf, len);
	aad = msg.sk_off + IKEV2_GENHDR_LEN;
	n = ike_sk_open(&sk, copy, aad, len);
	if (n <= 0 && !sa) {
		/* Derived keys of an SA that is gone: nothing to open it with. */
		w->unchecked++;
		free(copy);
		return;
	}
	pt = copy + aad + ike_encr_iv_len(sk.encr);
	if (n <= 0 || pt[n - 1] >= n ||
	    ike_msg_parse_inner(&msg, pt, (size_t)(n - 1 - pt[n - 1])) != 0) {
		fprintf(stderr, "sk_world: the engine sent an SK payload that does not open\n");
		abort();
	}
	free(copy);
}

/*
 * The suite, keys, nonces and IKE_SA_INIT messages of an SA whose
 * IKE_SA_INIT is done, the same fixed values for both roles: SK_ei is
 * always 0x40.., SK_er 0x50.., whoever holds them.
 */
static int fake_init(struct ike_sa *sa)
{
	uint8_t init[64];

	sa->suite = (struct ike_suite){
		.protocol = IKEV2_PROTO_IKE,
		.encr = IKEV2_ENCR_AES_GCM_16,
		.encr_keybits = 128,
		.prf = IKEV2_PRF_HMAC_SHA2_256,
		.dh = IKEV2_DH_CURVE25519,
	};
	sa->hs->dh_group = IKEV2_DH_CURVE25519;
	sa->keys.prf_len = 32;
	sa->keys.a_len = 0;
	sa->keys.e_len = 20; /* AES-128 key + 4 octets of salt */
	fill(sa->keys.sk_d, sizeof(sa->keys.sk_d), 0x10);
	fill(sa->keys.sk_pi, sizeof(sa->keys.sk_pi), 0x20);
	fill(sa->keys.sk_pr, sizeof(sa->keys.sk_pr), 0x30);
	fill(sa->keys.sk_ei, sizeof(sa->keys.sk_ei), 0x40);
	fill(sa->keys.sk_er, sizeof(sa->keys.sk_er), 0x50);
	sa->keys_ready = true;
	fill(sa->hs->ni, IKEV2_NONCE_LEN, 0x60);
	fill(sa->hs->nr, IKEV2_NONCE_LEN, 0x70);
	sa->hs->ni_len = sa->hs->nr_len = IKEV2_NONCE_LEN;
	fill(init, sizeof(init), 0x80);
	ike_pkt_set(&sa->hs->init_req, init, sizeof(init));
	fill(init, sizeof(init), 0x90);
	ike_pkt_set(&sa->hs->init_resp, init, sizeof(init));
	return sa->hs->init_req.buf && sa->hs->init_resp.buf ? 0 : -ENOMEM;
}

int sk_world_add_conn(struct sk_world *w, const char *name, const struct ike_trust *trust)
{
	struct ike_proposal ike[1], esp[3];
	char err[128];
	int ni = ike_proposals_parse("aes128gcm16-prfsha256-x25519", IKEV2_PROTO_IKE, ike, 1, err,
				     sizeof(err));
	int ne = ike_proposals_parse("aes128gcm16, aes256gcm16, aes128-sha256", IKEV2_PROTO_ESP,
				     esp, 3, err, sizeof(err));
	struct ike_conn_cfg c = {
		.name = name,
		.psk = (const uint8_t *)psk,
		.psk_len = sizeof(psk) - 1,
		.remote_auth = trust ? IKE_AUTH_PUBKEY : IKE_AUTH_PSK,
		.trust = trust,
		.ike = ike,
		.n_ike = ni > 0 ? (size_t)ni : 0,
		.esp = esp,
		.n_esp = ne > 0 ? (size_t)ne : 0,
		.mode = XK_MODE_TRANSPORT,
	};

	return ike_engine_add_conn(w->e, &c);
}

static void discard(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)level;
	(void)sub;
	(void)line;
	(void)ctx;
}

void sk_world_quiet_logs(void)
{
	xk_log_set_level(XK_LOG_DEBUG);
	if (!getenv("XIKE_FUZZ_LOG"))
		xk_log_set_sink(discard, NULL);
}

int sk_world_init(struct sk_world *w)
{
	struct ike_ops ops = {
		.ctx = w,
		.send = sw_send,
		.now_ms = sw_now,
		.nonce = sw_nonce,
		.kernel = &fake_kernel_ops,
		.kernel_ctx = &w->k,
	};
	struct ike_sa *sa;

	w->now = 1000000;
	w->sent = w->unchecked = 0;
	w->nonces = 0;
	w->ini_spi = 0;
	fake_kernel_init(&w->k, 0xc0000000u);
	xk_addr_parse("192.0.2.2", &w->local);
	xk_addr_parse("192.0.2.1", &w->remote);
	w->local.port = w->remote.port = 500;
	w->e = ike_engine_new(NULL, &ops);
	if (!w->e)
		return -ENOMEM;
	sa = sk_world_add_conn(w, "sk", NULL) == 0 ? ike_sa_new(w->e, ike_conn_first(w->e), false)
						   : NULL;
	if (!sa) {
		ike_engine_free(w->e);
		w->e = NULL;
		return -ENOMEM;
	}
	/* What task_init_respond() leaves behind, with fixed values. */
	sa->spi_i = SPI_I;
	ike_sa_rehash_peer(sa);
	sa->local = w->local;
	sa->remote = w->remote;
	if (fake_init(sa) < 0) {
		sk_world_free(w);
		return -ENOMEM;
	}
	ike_sa_set_state(sa, IKE_S_INIT_DONE);
	ike_sa_set_half_open(sa, true);
	sa->mid_expect = 1;
	w->spi_i = sa->spi_i;
	w->spi_r = sa->spi_r;
	return 0;
}

void sk_world_free(struct sk_world *w)
{
	ike_engine_free(w->e);
	w->e = NULL;
}

struct ike_sa *sk_world_sa(struct sk_world *w)
{
	struct ike_sa *sa = ike_engine_find_sa(w->e, w->spi_r);

	return sa && sa->state != IKE_S_DEAD ? sa : NULL;
}

void sk_world_establish(struct sk_world *w)
{
	struct ike_sa *sa = sk_world_sa(w);

	if (!sa || !ike_sa_set_state(sa, IKE_S_ESTABLISHED))
		return;
	ike_sa_set_half_open(sa, false);
	sa->established_ms = w->now;
	sa->mid_expect = 2;
	ike_sa_drop_init(sa);
}

/*
 * Seal pt (first inner payload type `first`) under hdr with the keys `sa`
 * receives with, and deliver it from sa's peer.  Unsealed for IKE_SA_INIT.
 */
static int deliver(struct sk_world *w, struct ike_sa *sa, const struct ike_hdr *hdr,
		   uint8_t first, const uint8_t *pt, size_t len)
{
	static const uint8_t iv[8] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7 };
	/* Copies: the engine must not read addresses out of an SA it may kill. */
	struct xk_addr local = sa->local, remote = sa->remote;
	struct ike_sk_ctx sk;
	struct ike_mb mb;
	int n;

	ike_mb_init(&mb, w->buf, sizeof(w->buf), hdr);
	if (hdr->exch == IKEV2_EXCH_IKE_SA_INIT) {
		bw_bytes(&mb.w, pt, len);
		if (!bw_ok(&mb.w))
			return -ENOSPC;
		w->buf[16] = first;
		n = ike_mb_finish(&mb);
	} else {
		ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
		bw_bytes(&mb.w, pt, len);
		if (!bw_ok(&mb.w))
			return -ENOSPC;
		/* The SK header's Next Payload names the first inner payload. */
		mb.w.p[mb.sk_start] = first;
		/* The engine opens with its receiving context: seal with exactly that. */
		ike_sa_sk_ctx(sa, false, &sk);
		n = ike_mb_sk_seal(&mb, &sk, iv);
	}
	if (n < 0)
		return n;
	ike_engine_input(w->e, &local, &remote, w->buf, (size_t)n);
	return 0;
}

int sk_world_request(struct sk_world *w, uint8_t exch, uint32_t mid, uint8_t first,
		     const uint8_t *pt, size_t len)
{
	struct ike_sa *sa = sk_world_sa(w);
	struct ike_hdr hdr = {
		.spi_i = w->spi_i,
		.spi_r = w->spi_r,
		.exch = exch,
		.flags = IKEV2_FLAG_INITIATOR,
		.mid = mid,
	};

	if (!sa)
		return -ENOENT;
	return deliver(w, sa, &hdr, first, pt, len);
}

/*
 * The payload chain a builder made, without the IKE header: its first
 * payload type in *first, the chain in out.  Its length, or <0.
 */
static int chain_of(struct ike_mb *mb, const uint8_t *msg, uint8_t *first, uint8_t *out,
		    size_t cap)
{
	int len = ike_mb_finish(mb);

	if (len < 0)
		return len;
	if ((size_t)len - IKEV2_HDR_LEN > cap)
		return -ENOSPC;
	*first = msg[16];
	memcpy(out, msg + IKEV2_HDR_LEN, (size_t)len - IKEV2_HDR_LEN);
	return len - IKEV2_HDR_LEN;
}

int sk_world_auth_payloads(struct sk_world *w, bool transport, uint8_t *first, uint8_t *out,
			   size_t cap)
{
	static const uint8_t idi[] = { 'p', 'e', 'e', 'r', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e' };
	struct ike_sa *sa = sk_world_sa(w);
	struct ike_proposal esp[3];
	struct xk_ts any;
	uint8_t body[4 + sizeof(idi)], auth[IKE_PRF_MAX], msg[1024];
	struct ike_hdr hdr = { 0 };
	struct ike_mb mb;
	char err[128];
	size_t alen;
	int n;

	if (!sa)
		return -ENOENT;
	body[0] = IKEV2_ID_FQDN;
	body[1] = body[2] = body[3] = 0;
	memcpy(body + 4, idi, sizeof(idi));
	n = ike_psk_auth(sa, true, body, sizeof(body), auth, &alen);
	if (n < 0)
		return n;
	n = ike_proposals_parse("aes256gcm16, aes128gcm16", IKEV2_PROTO_ESP, esp, 3, err,
				sizeof(err));
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		esp[i].spi_size = 4;
		put_be32(esp[i].spi, SK_WORLD_CHILD_SPI);
	}
	memset(&any, 0, sizeof(any));
	xk_ts_parse("0.0.0.0/0", &any);

	ike_mb_init(&mb, msg, sizeof(msg), &hdr);
	ike_mb_id(&mb, IKEV2_PL_IDI, IKEV2_ID_FQDN, idi, sizeof(idi));
	ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, auth, alen);
	if (transport)
		ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	ike_mb_sa(&mb, esp, (size_t)n);
	ike_mb_ts(&mb, IKEV2_PL_TSI, &any, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSR, &any, 1);
	return chain_of(&mb, msg, first, out, cap);
}

/* ---- the initiator SA ---- */

int sk_world_add_initiator(struct sk_world *w, bool pfs)
{
	struct ike_proposal ike[1], esp[2];
	char err[128];
	int ni = ike_proposals_parse("aes128gcm16-prfsha256-x25519", IKEV2_PROTO_IKE, ike, 1, err,
				     sizeof(err));
	/* Two groups: an INVALID_KE_PAYLOAD may ask for the other one. */
	int ne = ike_proposals_parse(pfs ? "aes128gcm16-x25519, aes256gcm16-ecp256-x25519"
					 : "aes128gcm16, aes256gcm16",
				     IKEV2_PROTO_ESP, esp, 2, err, sizeof(err));
	struct ike_conn_cfg c = {
		.name = "ini",
		.psk = (const uint8_t *)psk,
		.psk_len = sizeof(psk) - 1,
		.ike = ike,
		.n_ike = ni > 0 ? (size_t)ni : 0,
		.esp = esp,
		.n_esp = ne > 0 ? (size_t)ne : 0,
		.mode = XK_MODE_TRANSPORT,
		/* Liveness checks once the clock runs (sk_world_tick). */
		.dpd_s = 20,
	};
	struct ike_task *auth;
	struct ike_conn *conn;
	struct ike_sa *sa;

	xk_addr_parse("192.0.2.3", &w->ini_remote);
	w->ini_remote.port = 500;
	c.local = w->local;
	c.remote = w->ini_remote;
	if (ike_engine_add_conn(w->e, &c) < 0)
		return -EINVAL;
	for (conn = ike_conn_first(w->e); conn && strcmp(conn->name, "ini"); conn = conn->next)
		;
	sa = conn ? ike_sa_new(w->e, conn, true) : NULL;
	auth = task_auth_new();
	if (!sa || !auth) {
		free(auth);
		return -ENOMEM;
	}
	/* What task_init's initiator leaves behind, with fixed values. */
	sa->spi_r = SK_WORLD_PEER_SPI;
	sa->local = w->local;
	sa->remote = w->ini_remote;
	if (fake_init(sa) < 0)
		return -ENOMEM;
	ike_sa_set_state(sa, IKE_S_INIT_SENT);
	sa->mid_next = 1;
	w->ini_spi = sa->spi_i;
	/* Sends IKE_AUTH. */
	ike_sa_queue(sa, auth);
	return sk_world_isa(w) ? 0 : -EIO;
}

struct ike_sa *sk_world_isa(struct sk_world *w)
{
	struct ike_sa *sa = w->ini_spi ? ike_engine_find_sa(w->e, w->ini_spi) : NULL;

	return sa && sa->state != IKE_S_DEAD ? sa : NULL;
}

struct target {
	unsigned n;
	uint64_t skip, spi;
};

static void nth_sa(void *ctx, const struct ike_sa_info *info)
{
	struct target *t = ctx;
	uint64_t spi = info->initiator ? info->spi_i : info->spi_r;

	if (spi == t->skip || t->spi)
		return;
	if (--t->n == 0)
		t->spi = spi;
}

struct ike_sa *sk_world_target(struct sk_world *w, unsigned n)
{
	struct target t = { n, w->ini_spi, 0 };
	struct ike_sa *sa;

	if (n == 0)
		return sk_world_isa(w);
	ike_engine_foreach_sa(w->e, nth_sa, &t);
	sa = t.spi ? ike_engine_find_sa(w->e, t.spi) : NULL;
	return sa && sa->state != IKE_S_DEAD ? sa : NULL;
}

int sk_world_auth_reply(struct sk_world *w, uint8_t *first, uint8_t *out, size_t cap)
{
	static const uint8_t idr[] = { 'r', 'e', 's', 'p', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e' };
	struct ike_sa *sa = sk_world_isa(w);
	struct ike_proposal esp;
	struct xk_ts tsi, tsr;
	uint8_t body[4 + sizeof(idr)], auth[IKE_PRF_MAX], msg[1024];
	struct ike_hdr hdr = { 0 };
	struct ike_mb mb;
	size_t alen;
	int n;

	if (!sa || !sa->hs)
		return -ENOENT;
	body[0] = IKEV2_ID_FQDN;
	body[1] = body[2] = body[3] = 0;
	memcpy(body + 4, idr, sizeof(idr));
	n = ike_psk_auth(sa, false, body, sizeof(body), auth, &alen);
	if (n < 0)
		return n;
	/* The first of our proposals as IKE_AUTH offers it: without DH. */
	if (child_proposals(conn_child(sa->conn, 0), 0, false, &esp, 1) != 1)
		return -EINVAL;
	put_be32(esp.spi, SK_WORLD_PEER_CHILD_SPI);
	child_local_ts(sa, conn_child(sa->conn, 0), &tsi);
	child_remote_ts(sa, conn_child(sa->conn, 0), &tsr);

	ike_mb_init(&mb, msg, sizeof(msg), &hdr);
	ike_mb_id(&mb, IKEV2_PL_IDR, IKEV2_ID_FQDN, idr, sizeof(idr));
	ike_mb_auth(&mb, IKEV2_AUTH_SHARED_KEY_MIC, auth, alen);
	ike_mb_notify(&mb, 0, NULL, 0, IKEV2_N_USE_TRANSPORT_MODE, NULL, 0);
	ike_mb_sa(&mb, &esp, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSI, &tsi, 1);
	ike_mb_ts(&mb, IKEV2_PL_TSR, &tsr, 1);
	return chain_of(&mb, msg, first, out, cap);
}

int sk_world_respond(struct sk_world *w, struct ike_sa *sa, uint8_t first, const uint8_t *pt,
		     size_t len)
{
	struct ike_hdr hdr;

	if (!sa->req_out || !sa->req.buf || sa->req.len < IKEV2_HDR_LEN)
		return -EAGAIN;
	/* The request as sent names the exchange, message ID and SPIs. */
	hdr = (struct ike_hdr){
		.spi_i = get_be64(sa->req.buf),
		.spi_r = get_be64(sa->req.buf + 8),
		.exch = sa->req.buf[18],
		.flags = IKEV2_FLAG_RESPONSE | (sa->initiator ? 0 : IKEV2_FLAG_INITIATOR),
		.mid = get_be32(sa->req.buf + 20),
	};
	if (hdr.exch == IKEV2_EXCH_IKE_SA_INIT)
		hdr.spi_r = SK_WORLD_PEER_SPI;
	else if (!sa->keys_ready)
		return -EAGAIN;
	return deliver(w, sa, &hdr, first, pt, len);
}

int sk_world_peer_request(struct sk_world *w, struct ike_sa *sa, uint8_t exch, int mid_delta,
			  uint8_t first, const uint8_t *pt, size_t len)
{
	struct ike_hdr hdr = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exch = exch,
		.flags = sa->initiator ? 0 : IKEV2_FLAG_INITIATOR,
		.mid = sa->mid_expect + (uint32_t)mid_delta,
	};

	if (!sa->keys_ready || exch == IKEV2_EXCH_IKE_SA_INIT)
		return -EAGAIN;
	return deliver(w, sa, &hdr, first, pt, len);
}

int sk_world_call(struct sk_world *w, struct ike_sa *sa, enum sk_world_req req, unsigned idx)
{
	uint64_t spi = sa->initiator ? sa->spi_i : sa->spi_r;
	struct ike_child_info ci;
	struct xk_sa_id id;

	switch (req) {
	case SK_REQ_NEW_CHILD:
		return ike_engine_create_child(w->e, spi);
	case SK_REQ_REKEY_IKE:
		return ike_engine_rekey_ike(w->e, spi);
	case SK_REQ_DELETE_IKE:
		return ike_engine_terminate(w->e, spi);
	case SK_REQ_LIVENESS:
		return ike_engine_liveness(w->e, spi);
	case SK_REQ_REAUTH:
		return ike_engine_reauth(w->e, spi);
	default:
		break;
	}
	if (ike_engine_child_info(w->e, spi, idx, &ci) < 0)
		return -ENOENT;
	switch (req) {
	case SK_REQ_REKEY_CHILD:
		return ike_engine_rekey_child(w->e, spi, ci.spi_in);
	case SK_REQ_DELETE_CHILD:
		return ike_engine_delete_child(w->e, spi, ci.spi_in);
	case SK_REQ_EXPIRE:
		id = (struct xk_sa_id){ .dst = sa->local, .spi = ci.spi_in, .proto = 50 };
		return ike_engine_expire(w->e, &id, true);
	default:
		return -EINVAL;
	}
}

void sk_world_tick(struct sk_world *w, uint64_t ms)
{
	w->now += ms;
	ike_engine_tick(w->e);
}
