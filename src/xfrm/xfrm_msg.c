/* SPDX-License-Identifier: ISC */
/*
 * XFRM netlink messages, built and parsed without a socket (so that they
 * can be checked byte for byte and fuzzed).  Every attribute put is checked
 * against the buffer; every reply attribute is validated before use.
 */
#include "xfrm_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "common/secret.h"

_Static_assert(XK_AF_INET == AF_INET && XK_AF_INET6 == AF_INET6,
	       "neutral address families equal Linux's");

void xfrm_addr_put(xfrm_address_t *dst, const struct xk_addr *a)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, a->ip, xk_addr_len(a));
}

void xfrm_addr_get(struct xk_addr *a, const xfrm_address_t *src, uint16_t family,
		   uint16_t port_be)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	a->port = ntohs(port_be);
	memcpy(a->ip, src, family == AF_INET ? 4 : 16);
}

/* A port range as the kernel's port + mask: any port, or exactly one. */
static int ports_put(const struct xk_ts *ts, __be16 *port, __be16 *mask)
{
	if (ts->port_lo == 0 && ts->port_hi == 0xffff) {
		*port = 0;
		*mask = 0;
	} else if (ts->port_lo == ts->port_hi) {
		*port = htons(ts->port_lo);
		*mask = 0xffff;
	} else {
		return -ENOTSUP; /* a range the kernel cannot express in one selector */
	}
	return 0;
}

int xfrm_sel_put(struct xfrm_selector *sel, const struct xk_ts *src, const struct xk_ts *dst)
{
	int ps = xk_ts_prefix_len(src), pd = xk_ts_prefix_len(dst);

	memset(sel, 0, sizeof(*sel));
	/* The kernel takes prefixes only: ranges would need splitting. */
	if (ps < 0 || pd < 0 || src->family != dst->family)
		return -ENOTSUP;
	sel->family = src->family;
	memcpy(&sel->saddr, src->lo, 16);
	memcpy(&sel->daddr, dst->lo, 16);
	sel->prefixlen_s = (uint8_t)ps;
	sel->prefixlen_d = (uint8_t)pd;
	/* A selector names one protocol (0 = any), so both sides must agree. */
	if (src->proto && dst->proto && src->proto != dst->proto)
		return -EINVAL;
	sel->proto = src->proto ? src->proto : dst->proto;
	if (ports_put(src, &sel->sport, &sel->sport_mask) < 0 ||
	    ports_put(dst, &sel->dport, &sel->dport_mask) < 0)
		return -ENOTSUP;
	return 0;
}

static void half_get(struct xk_ts *ts, uint16_t family, const xfrm_address_t *a, uint8_t plen,
		     uint8_t proto, __be16 port, __be16 mask)
{
	size_t bits = family == AF_INET ? 32 : 128;

	memset(ts, 0, sizeof(*ts));
	ts->family = (uint8_t)family;
	ts->proto = proto;
	memcpy(ts->lo, a, bits / 8);
	memcpy(ts->hi, a, bits / 8);
	if (plen > bits)
		plen = (uint8_t)bits;
	for (size_t i = plen; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		ts->lo[i / 8] &= (uint8_t)~m;
		ts->hi[i / 8] |= m;
	}
	if (mask) {
		ts->port_lo = ts->port_hi = ntohs(port);
	} else {
		ts->port_lo = 0;
		ts->port_hi = 0xffff;
	}
}

void xfrm_sel_get(const struct xfrm_selector *sel, struct xk_ts *src, struct xk_ts *dst)
{
	half_get(src, sel->family, &sel->saddr, sel->prefixlen_s, sel->proto, sel->sport,
		 sel->sport_mask);
	half_get(dst, sel->family, &sel->daddr, sel->prefixlen_d, sel->proto, sel->dport,
		 sel->dport_mask);
}

static struct nlmsghdr *msg_start(void *buf, size_t cap, uint16_t type, uint16_t flags,
				  uint32_t seq, size_t extra)
{
	struct nlmsghdr *nlh;

	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static void lifetime_put(struct xfrm_lifetime_cfg *lft, const struct xk_lifetime *l)
{
	lft->soft_byte_limit = l && l->soft_bytes ? l->soft_bytes : XFRM_INF;
	lft->hard_byte_limit = l && l->hard_bytes ? l->hard_bytes : XFRM_INF;
	lft->soft_packet_limit = l && l->soft_packets ? l->soft_packets : XFRM_INF;
	lft->hard_packet_limit = l && l->hard_packets ? l->hard_packets : XFRM_INF;
	lft->soft_add_expires_seconds = l ? l->soft_secs : 0;
	lft->hard_add_expires_seconds = l ? l->hard_secs : 0;
}

static size_t key_bits(size_t bytes)
{
	return bytes * 8;
}

/* Algorithm attributes: AEAD, or encryption + truncated HMAC (RFC 4868). */
static int alg_put(struct nlmsghdr *nlh, size_t cap, const struct xk_sa *sa)
{
	/* Large enough for the biggest algo struct plus a key. */
	union {
		struct xfrm_algo_aead aead;
		struct xfrm_algo crypt;
		struct xfrm_algo_auth auth;
		uint8_t raw[sizeof(struct xfrm_algo_auth) + XK_MAX_KEY];
	} u;
	int err = 0;

	if (sa->enc_key_len > XK_MAX_KEY || sa->integ_key_len > XK_MAX_KEY)
		return -EINVAL;
	switch (sa->enc) {
	case XK_ENC_AES_GCM_16:
	case XK_ENC_CHACHA20_POLY1305:
		/* AEAD carries no separate integrity algorithm. */
		if (sa->integ != XK_INTEG_NONE)
			return -EINVAL;
		memset(&u, 0, sizeof(u));
		strcpy(u.aead.alg_name, xk_enc_name(sa->enc));
		u.aead.alg_key_len = (unsigned)key_bits(sa->enc_key_len);
		u.aead.alg_icv_len = (unsigned)sa->icv_len * 8;
		memcpy(u.aead.alg_key, sa->enc_key, sa->enc_key_len);
		if (!mnl_attr_put_check(nlh, cap, XFRMA_ALG_AEAD,
					sizeof(u.aead) + sa->enc_key_len, &u))
			err = -ENOSPC;
		break;
	case XK_ENC_AES_CBC:
		if (sa->integ == XK_INTEG_NONE)
			return -EINVAL;
		memset(&u, 0, sizeof(u));
		strcpy(u.crypt.alg_name, xk_enc_name(sa->enc));
		u.crypt.alg_key_len = (unsigned)key_bits(sa->enc_key_len);
		memcpy(u.crypt.alg_key, sa->enc_key, sa->enc_key_len);
		if (!mnl_attr_put_check(nlh, cap, XFRMA_ALG_CRYPT,
					sizeof(u.crypt) + sa->enc_key_len, &u)) {
			err = -ENOSPC;
			break;
		}
		memset(&u, 0, sizeof(u));
		strcpy(u.auth.alg_name, xk_integ_name(sa->integ));
		u.auth.alg_key_len = (unsigned)key_bits(sa->integ_key_len);
		u.auth.alg_trunc_len = (unsigned)sa->icv_len * 8;
		memcpy(u.auth.alg_key, sa->integ_key, sa->integ_key_len);
		if (!mnl_attr_put_check(nlh, cap, XFRMA_ALG_AUTH_TRUNC,
					sizeof(u.auth) + sa->integ_key_len, &u))
			err = -ENOSPC;
		break;
	default:
		err = -EINVAL;
	}
	xk_wipe(&u, sizeof(u));
	return err;
}

int xfrm_msg_newsa(const struct xk_sa *sa, bool update, uint32_t seq, void *buf, size_t cap)
{
	struct nlmsghdr *nlh;
	struct xfrm_usersa_info *p;
	int err;

	nlh = msg_start(buf, cap, update ? XFRM_MSG_UPDSA : XFRM_MSG_NEWSA,
			NLM_F_ACK | (update ? 0 : NLM_F_CREATE | NLM_F_EXCL), seq, sizeof(*p));
	if (!nlh)
		return -ENOSPC;
	if (!xk_addr_len(&sa->src) || sa->src.family != sa->dst.family)
		return -EINVAL;
	p = mnl_nlmsg_get_payload(nlh);
	xfrm_addr_put(&p->id.daddr, &sa->dst);
	xfrm_addr_put(&p->saddr, &sa->src);
	p->id.spi = htonl(sa->spi);
	p->id.proto = IPPROTO_ESP;
	p->family = sa->dst.family;
	p->reqid = sa->reqid;
	p->mode = sa->mode == XK_MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	lifetime_put(&p->lft, &sa->life);
	if (sa->mode == XK_MODE_TRANSPORT) {
		/* Transport mode: the SA covers exactly these two hosts. */
		struct xk_ts s, d;
		struct xk_addr a = sa->src, b = sa->dst;

		xk_ts_from_addr(&a, &s);
		xk_ts_from_addr(&b, &d);
		xfrm_sel_put(&p->sel, &s, &d);
	} else {
		/* Tunnel mode may carry either inner family (v4-in-v6 and back). */
		p->flags |= XFRM_STATE_AF_UNSPEC;
	}
	err = alg_put(nlh, cap, sa);
	if (err < 0)
		goto out;
	if (sa->replay_window || sa->esn) {
		/*
		 * XFRMA_REPLAY_ESN_VAL carries windows above 32 and ESN; with it
		 * the legacy replay_window field must stay 0.
		 */
		uint32_t words = (sa->replay_window + 31) / 32;
		uint8_t rb[sizeof(struct xfrm_replay_state_esn) + 4 * 128];
		struct xfrm_replay_state_esn *r = (struct xfrm_replay_state_esn *)rb;

		if (words > 128) {
			err = -EINVAL;
			goto out;
		}
		memset(rb, 0, sizeof(rb));
		r->bmp_len = words;
		r->replay_window = sa->replay_window;
		if (!mnl_attr_put_check(nlh, cap, XFRMA_REPLAY_ESN_VAL,
					sizeof(*r) + 4 * words, r)) {
			err = -ENOSPC;
			goto out;
		}
		if (sa->esn)
			p->flags |= XFRM_STATE_ESN;
	}
	if (sa->encap) {
		/* RFC 3948: ESP in UDP between the two ports of the IKE SA. */
		struct xfrm_encap_tmpl enc = {
			.encap_type = UDP_ENCAP_ESPINUDP,
			.encap_sport = htons(sa->src.port),
			.encap_dport = htons(sa->dst.port),
		};

		if (!mnl_attr_put_check(nlh, cap, XFRMA_ENCAP, sizeof(enc), &enc)) {
			err = -ENOSPC;
			goto out;
		}
	}
	if (sa->mark_mask) {
		struct xfrm_mark m = { .v = sa->mark, .m = sa->mark_mask };

		if (!mnl_attr_put_check(nlh, cap, XFRMA_MARK, sizeof(m), &m)) {
			err = -ENOSPC;
			goto out;
		}
	}
	if (sa->if_id && !mnl_attr_put_u32_check(nlh, cap, XFRMA_IF_ID, sa->if_id)) {
		err = -ENOSPC;
		goto out;
	}
	return (int)nlh->nlmsg_len;
out:
	/* The buffer may already hold keys. */
	xk_wipe(buf, cap);
	return err;
}

static void sa_id_put(struct xfrm_usersa_id *id, const struct xk_sa_id *sid)
{
	xfrm_addr_put(&id->daddr, &sid->dst);
	id->spi = htonl(sid->spi);
	id->family = sid->dst.family;
	id->proto = sid->proto ? sid->proto : IPPROTO_ESP;
}

/* DELSA and GETSA: the SA's id, and its mark when it has one. */
static int sa_id_msg(uint16_t type, uint16_t flags, const struct xk_sa_id *id, uint32_t seq,
		     void *buf, size_t cap)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, type, flags, seq, sizeof(struct xfrm_usersa_id));

	if (!nlh)
		return -ENOSPC;
	sa_id_put(mnl_nlmsg_get_payload(nlh), id);
	if (id->mark_mask) {
		struct xfrm_mark m = { .v = id->mark, .m = id->mark_mask };

		if (!mnl_attr_put_check(nlh, cap, XFRMA_MARK, sizeof(m), &m))
			return -ENOSPC;
	}
	return (int)nlh->nlmsg_len;
}

int xfrm_msg_delsa(const struct xk_sa_id *id, uint32_t seq, void *buf, size_t cap)
{
	return sa_id_msg(XFRM_MSG_DELSA, NLM_F_ACK, id, seq, buf, cap);
}

int xfrm_msg_getsa(const struct xk_sa_id *id, uint32_t seq, void *buf, size_t cap)
{
	return sa_id_msg(XFRM_MSG_GETSA, 0, id, seq, buf, cap);
}

int xfrm_msg_allocspi(const struct xk_addr *src, const struct xk_addr *dst, uint32_t min,
		      uint32_t max, uint32_t reqid, uint32_t seq, void *buf, size_t cap)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, XFRM_MSG_ALLOCSPI, 0, seq,
					 sizeof(struct xfrm_userspi_info));
	struct xfrm_userspi_info *p;

	if (!nlh)
		return -ENOSPC;
	p = mnl_nlmsg_get_payload(nlh);
	xfrm_addr_put(&p->info.id.daddr, dst);
	xfrm_addr_put(&p->info.saddr, src);
	p->info.id.proto = IPPROTO_ESP;
	p->info.family = dst->family;
	/* The larval SA carries one of our reqids, so a flush finds it. */
	p->info.reqid = reqid;
	p->min = min;
	p->max = max;
	return (int)nlh->nlmsg_len;
}

static int mark_put(struct nlmsghdr *nlh, size_t cap, const struct xk_policy *pol)
{
	if (pol->mark_mask) {
		struct xfrm_mark m = { .v = pol->mark, .m = pol->mark_mask };

		if (!mnl_attr_put_check(nlh, cap, XFRMA_MARK, sizeof(m), &m))
			return -ENOSPC;
	}
	if (pol->if_id && !mnl_attr_put_u32_check(nlh, cap, XFRMA_IF_ID, pol->if_id))
		return -ENOSPC;
	return 0;
}

int xfrm_msg_newpolicy(const struct xk_policy *pol, uint32_t seq, void *buf, size_t cap)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, XFRM_MSG_NEWPOLICY,
					 NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq,
					 sizeof(struct xfrm_userpolicy_info));
	struct xfrm_userpolicy_info *p;
	struct xfrm_user_tmpl t;
	int err;

	if (!nlh)
		return -ENOSPC;
	p = mnl_nlmsg_get_payload(nlh);
	err = xfrm_sel_put(&p->sel, &pol->src, &pol->dst);
	if (err < 0)
		return err;
	lifetime_put(&p->lft, NULL);
	p->priority = pol->priority;
	p->dir = (uint8_t)pol->dir;
	p->action = XFRM_POLICY_ALLOW;
	p->share = XFRM_SHARE_ANY;
	/* A bypass policy has no template: matching packets pass unprotected. */
	if (pol->bypass) {
		err = mark_put(nlh, cap, pol);
		return err < 0 ? err : (int)nlh->nlmsg_len;
	}

	memset(&t, 0, sizeof(t));
	t.id.proto = IPPROTO_ESP;
	t.reqid = pol->reqid;
	t.mode = pol->mode == XK_MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT;
	t.share = XFRM_SHARE_ANY;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	if (pol->mode == XK_MODE_TUNNEL) {
		/* The tunnel's outer addresses; their family may differ inside. */
		if (!xk_addr_len(&pol->tmpl_dst) || pol->tmpl_src.family != pol->tmpl_dst.family)
			return -EINVAL;
		xfrm_addr_put(&t.id.daddr, &pol->tmpl_dst);
		xfrm_addr_put(&t.saddr, &pol->tmpl_src);
		t.family = pol->tmpl_dst.family;
	} else {
		t.family = pol->src.family;
	}
	if (!mnl_attr_put_check(nlh, cap, XFRMA_TMPL, sizeof(t), &t))
		return -ENOSPC;
	err = mark_put(nlh, cap, pol);
	return err < 0 ? err : (int)nlh->nlmsg_len;
}

int xfrm_msg_delpolicy(const struct xk_policy *pol, uint32_t seq, void *buf, size_t cap)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, XFRM_MSG_DELPOLICY, NLM_F_ACK, seq,
					 sizeof(struct xfrm_userpolicy_id));
	struct xfrm_userpolicy_id *p;
	int err;

	if (!nlh)
		return -ENOSPC;
	p = mnl_nlmsg_get_payload(nlh);
	err = xfrm_sel_put(&p->sel, &pol->src, &pol->dst);
	if (err < 0)
		return err;
	p->dir = (uint8_t)pol->dir;
	err = mark_put(nlh, cap, pol);
	return err < 0 ? err : (int)nlh->nlmsg_len;
}

/* ---- parsing ---- */

/* Minimum payload length of each attribute we read; others are skipped. */
static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(attr);
	size_t need = 0;

	if (mnl_attr_type_valid(attr, XFRMA_MAX) < 0)
		return MNL_CB_OK; /* newer than this build: ignore */
	switch (type) {
	case XFRMA_TMPL:
		need = sizeof(struct xfrm_user_tmpl);
		break;
	case XFRMA_ENCAP:
		need = sizeof(struct xfrm_encap_tmpl);
		break;
	case XFRMA_LTIME_VAL:
		need = sizeof(struct xfrm_lifetime_cur);
		break;
	case XFRMA_MARK:
		need = sizeof(struct xfrm_mark);
		break;
	case XFRMA_IF_ID:
		need = sizeof(uint32_t);
		break;
	case XFRMA_ALG_AEAD:
	case XFRMA_ALG_CRYPT:
	case XFRMA_ALG_AUTH:
	case XFRMA_ALG_AUTH_TRUNC:
		break; /* only whether the SA has keys: never read here */
	default:
		return MNL_CB_OK;
	}
	/* An attribute shorter than its struct is a lie about its contents. */
	if (mnl_attr_get_payload_len(attr) < need)
		return MNL_CB_ERROR;
	tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t fixed, const struct nlattr **tb)
{
	memset(tb, 0, sizeof(*tb) * (XFRMA_MAX + 1));
	if (mnl_attr_parse(nlh, (unsigned)MNL_ALIGN(fixed), attr_cb, tb) < 0)
		return -EINVAL;
	return 0;
}

/* Check the outer header: complete, and long enough for `fixed`. */
static const struct nlmsghdr *msg_check(const void *buf, size_t len, size_t fixed)
{
	const struct nlmsghdr *nlh = buf;

	if (len < sizeof(*nlh) || !mnl_nlmsg_ok(nlh, (int)len) ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + fixed)
		return NULL;
	return nlh;
}

static bool family_ok(uint16_t f)
{
	return f == AF_INET || f == AF_INET6;
}

int xfrm_event_parse(const void *buf, size_t len, struct xk_event *ev)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	const struct nlmsghdr *nlh = msg_check(buf, len, 0);

	memset(ev, 0, sizeof(*ev));
	if (!nlh)
		return -EINVAL;
	switch (nlh->nlmsg_type) {
	case XFRM_MSG_ACQUIRE: {
		const struct xfrm_user_acquire *a = mnl_nlmsg_get_payload(nlh);
		uint16_t fam;

		if (!msg_check(buf, len, sizeof(*a)) || parse_attrs(nlh, sizeof(*a), tb) < 0)
			return -EINVAL;
		fam = a->policy.sel.family ? a->policy.sel.family : a->sel.family;
		/* Selectors without a family cannot be matched to anything. */
		if (!family_ok(a->sel.family) || !family_ok(fam))
			return -EINVAL;
		ev->type = XK_EV_ACQUIRE;
		xfrm_sel_get(&a->sel, &ev->pkt_src, &ev->pkt_dst);
		{
			struct xfrm_selector ps = a->policy.sel;

			ps.family = fam;
			xfrm_sel_get(&ps, &ev->pol_src, &ev->pol_dst);
		}
		ev->dir = (enum xk_dir)a->policy.dir;
		ev->policy_index = a->policy.index;
		if (tb[XFRMA_TMPL]) {
			const struct xfrm_user_tmpl *t = mnl_attr_get_payload(tb[XFRMA_TMPL]);

			ev->reqid = t->reqid;
			if (family_ok(t->family)) {
				xfrm_addr_get(&ev->tmpl_src, &t->saddr, t->family, 0);
				xfrm_addr_get(&ev->tmpl_dst, &t->id.daddr, t->family, 0);
			}
		}
		return 0;
	}
	case XFRM_MSG_EXPIRE: {
		const struct xfrm_user_expire *x = mnl_nlmsg_get_payload(nlh);

		if (!msg_check(buf, len, sizeof(*x)) || !family_ok(x->state.family))
			return -EINVAL;
		ev->type = XK_EV_EXPIRE;
		ev->hard = x->hard != 0;
		ev->reqid = x->state.reqid;
		xfrm_addr_get(&ev->sa.dst, &x->state.id.daddr, x->state.family, 0);
		xfrm_addr_get(&ev->sa_src, &x->state.saddr, x->state.family, 0);
		ev->sa.spi = ntohl(x->state.id.spi);
		ev->sa.proto = x->state.id.proto;
		return 0;
	}
	case XFRM_MSG_MAPPING: {
		const struct xfrm_user_mapping *m = mnl_nlmsg_get_payload(nlh);

		if (!msg_check(buf, len, sizeof(*m)) || !family_ok(m->id.family))
			return -EINVAL;
		ev->type = XK_EV_MAPPING;
		ev->reqid = m->reqid;
		xfrm_addr_get(&ev->sa.dst, &m->id.daddr, m->id.family, 0);
		ev->sa.spi = ntohl(m->id.spi);
		ev->sa.proto = m->id.proto;
		xfrm_addr_get(&ev->old_src, &m->old_saddr, m->id.family, m->old_sport);
		xfrm_addr_get(&ev->new_src, &m->new_saddr, m->id.family, m->new_sport);
		return 0;
	}
	default:
		return -ENOENT;
	}
}

int xfrm_sa_reply_parse(const void *buf, size_t len, uint32_t *spi, uint32_t *reqid,
			struct xk_sa_stats *st)
{
	const struct nlmsghdr *nlh = msg_check(buf, len, sizeof(struct xfrm_usersa_info));
	const struct xfrm_usersa_info *p;

	if (!nlh || nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return -EINVAL;
	p = mnl_nlmsg_get_payload(nlh);
	if (spi)
		*spi = ntohl(p->id.spi);
	if (reqid)
		*reqid = p->reqid;
	if (st) {
		memset(st, 0, sizeof(*st));
		st->bytes = p->curlft.bytes;
		st->packets = p->curlft.packets;
		st->add_time = p->curlft.add_time;
		st->use_time = p->curlft.use_time;
		st->replay_window_drops = p->stats.replay_window;
		st->replay_drops = p->stats.replay;
		st->integrity_failures = p->stats.integrity_failed;
	}
	return 0;
}

/* A whole message of this type with its fixed part; its attributes in tb. */
static const struct nlmsghdr *msg_parse(const void *buf, size_t len, uint16_t type, size_t fixed,
					const struct nlattr **tb)
{
	const struct nlmsghdr *nlh = msg_check(buf, len, fixed);

	if (!nlh || nlh->nlmsg_type != type || parse_attrs(nlh, fixed, tb) < 0)
		return NULL;
	return nlh;
}

/* The kernel's "no limit" is XFRM_INF; ours is 0. */
static uint64_t limit_get(uint64_t v)
{
	return v == XFRM_INF ? 0 : v;
}

int xfrm_sa_entry_parse(const void *buf, size_t len, struct xfrm_sa_entry *e)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	const struct nlmsghdr *nlh =
		msg_parse(buf, len, XFRM_MSG_NEWSA, sizeof(struct xfrm_usersa_info), tb);
	const struct xfrm_usersa_info *p;

	memset(e, 0, sizeof(*e));
	if (!nlh)
		return -EINVAL;
	p = mnl_nlmsg_get_payload(nlh);
	if (!family_ok(p->family))
		return -EINVAL;
	e->larval = !tb[XFRMA_ALG_AEAD] && !tb[XFRMA_ALG_CRYPT] && !tb[XFRMA_ALG_AUTH] &&
		    !tb[XFRMA_ALG_AUTH_TRUNC];
	xfrm_addr_get(&e->id.dst, &p->id.daddr, p->family, 0);
	xfrm_addr_get(&e->src, &p->saddr, p->family, 0);
	e->id.spi = ntohl(p->id.spi);
	e->id.proto = p->id.proto;
	if (tb[XFRMA_MARK]) {
		const struct xfrm_mark *m = mnl_attr_get_payload(tb[XFRMA_MARK]);

		e->id.mark = m->v;
		e->id.mark_mask = m->m;
	}
	e->reqid = p->reqid;
	e->life = (struct xk_lifetime){
		.soft_bytes = limit_get(p->lft.soft_byte_limit),
		.hard_bytes = limit_get(p->lft.hard_byte_limit),
		.soft_packets = limit_get(p->lft.soft_packet_limit),
		.hard_packets = limit_get(p->lft.hard_packet_limit),
		.soft_secs = p->lft.soft_add_expires_seconds,
		.hard_secs = p->lft.hard_add_expires_seconds,
	};
	return xfrm_sa_reply_parse(buf, len, NULL, NULL, &e->cur);
}

int xfrm_policy_parse(const void *buf, size_t len, struct xk_policy *pol)
{
	const struct nlattr *tb[XFRMA_MAX + 1];
	const struct nlmsghdr *nlh =
		msg_parse(buf, len, XFRM_MSG_NEWPOLICY, sizeof(struct xfrm_userpolicy_info), tb);
	const struct xfrm_userpolicy_info *p;

	memset(pol, 0, sizeof(*pol));
	if (!nlh)
		return -EINVAL;
	p = mnl_nlmsg_get_payload(nlh);
	/* A direction or family we never install cannot be one of ours. */
	if (p->dir > XFRM_POLICY_FWD || !family_ok(p->sel.family))
		return -EINVAL;
	xfrm_sel_get(&p->sel, &pol->src, &pol->dst);
	pol->dir = (enum xk_dir)p->dir;
	pol->priority = p->priority;
	pol->bypass = !tb[XFRMA_TMPL] && p->action == XFRM_POLICY_ALLOW;
	if (tb[XFRMA_TMPL]) {
		const struct xfrm_user_tmpl *t = mnl_attr_get_payload(tb[XFRMA_TMPL]);

		pol->reqid = t->reqid;
		pol->mode = t->mode == XFRM_MODE_TUNNEL ? XK_MODE_TUNNEL : XK_MODE_TRANSPORT;
		if (pol->mode == XK_MODE_TUNNEL && family_ok(t->family)) {
			xfrm_addr_get(&pol->tmpl_src, &t->saddr, t->family, 0);
			xfrm_addr_get(&pol->tmpl_dst, &t->id.daddr, t->family, 0);
		}
	}
	if (tb[XFRMA_MARK]) {
		const struct xfrm_mark *m = mnl_attr_get_payload(tb[XFRMA_MARK]);

		pol->mark = m->v;
		pol->mark_mask = m->m;
	}
	if (tb[XFRMA_IF_ID])
		pol->if_id = mnl_attr_get_u32(tb[XFRMA_IF_ID]);
	return 0;
}
