/* SPDX-License-Identifier: ISC */
/*
 * The XFRM backend's messages without a kernel: requests checked field by
 * field and byte by byte against the kernel's UAPI layout, and events parsed
 * from a message captured from a real kernel (plus hand-built ones for the
 * kinds that are hard to provoke), including every truncation of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "xfrm/xfrm.h"

/*
 * XFRM_MSG_ACQUIRE captured from Linux 6.18 (netlink multicast, group
 * XFRMNLGRP_ACQUIRE) after `ping 10.5.0.2` from 10.5.0.1 hit an outbound
 * transport-mode policy with reqid 0x7c000005 and no SA; the packet that
 * triggered it was ping's UDP probe from port 55326 to port 1025.
 */
static const char acquire_hex[] =
	"780100001700000000000000000000000a050002000000000000000000000000"
	"00000000320000000a0500010000000000000000000000000a05000200000000"
	"00000000000000000a0500010000000000000000000000000401ffffd81effff"
	"020020201100000003000000000000000a050002000000000000000000000000"
	"0a05000100000000000000000000000000000000000000000200202000000000"
	"0000000000000000ffffffffffffffffffffffffffffffffffffffffffffffff"
	"ffffffffffffffff000000000000000000000000000000000000000000000000"
	"00000000000000000000000000000000000000000000000072b8046b00000000"
	"0000000000000000e8030000010000000100000000000000ffffffffffffffff"
	"ffffffff02000000440005000000000000000000000000000000000000000000"
	"3200000002000000000000000000000000000000000000000500007c00000000"
	"ffffffffffffffffffffffff0a0010000000000000000000";

static void test_acquire(void)
{
	size_t len;
	uint8_t *msg = check_hex(acquire_hex, &len);
	struct xk_event ev;
	char buf[XK_TS_STRLEN];

	CHECK_INT(len, 376);
	CHECK_INT(xfrm_event_parse(msg, len, &ev), 0);
	CHECK_INT(ev.type, XK_EV_ACQUIRE);
	CHECK_INT(ev.reqid, 0x7c000005);
	CHECK_INT(ev.dir, XK_DIR_OUT);
	CHECK(strcmp(xk_ts_str(&ev.pol_src, buf, sizeof(buf)), "10.5.0.1/32") == 0);
	CHECK(strcmp(xk_ts_str(&ev.pol_dst, buf, sizeof(buf)), "10.5.0.2/32") == 0);
	CHECK_INT(ev.pkt_src.proto, 17);
	CHECK_INT(ev.pkt_src.port_lo, 55326);
	CHECK_INT(ev.pkt_src.port_hi, 55326);
	CHECK_INT(ev.pkt_dst.port_lo, 1025);
	/* Every truncation is refused, none is read past. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, msg, cut);
		CHECK_MSG(xfrm_event_parse(t, cut, &ev) < 0, "accepted %zu of %zu bytes", cut, len);
		free(t);
	}
	/* A header that claims more than arrived. */
	msg[0] = 0x80;
	CHECK(xfrm_event_parse(msg, len, &ev) == -EINVAL);
	free(msg);
}

static void test_expire_mapping(void)
{
	uint8_t buf[512];
	struct nlmsghdr *nlh;
	struct xk_event ev;
	struct xfrm_user_expire *x;
	struct xfrm_user_mapping *m;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_EXPIRE;
	x = mnl_nlmsg_put_extra_header(nlh, sizeof(*x));
	x->state.id.spi = htonl(0xc0ffee01);
	x->state.id.proto = IPPROTO_ESP;
	x->state.family = AF_INET6;
	x->state.reqid = 0x7c000042;
	x->state.id.daddr.a6[0] = htonl(0x20010db8);
	x->hard = 1;
	CHECK_INT(xfrm_event_parse(buf, nlh->nlmsg_len, &ev), 0);
	CHECK_INT(ev.type, XK_EV_EXPIRE);
	CHECK(ev.hard);
	CHECK_INT(ev.sa.spi, 0xc0ffee01);
	CHECK_INT(ev.reqid, 0x7c000042);
	CHECK_INT(ev.sa.dst.family, XK_AF_INET6);
	CHECK_INT(ev.sa.dst.ip[1], 0x01);
	/* A state of no known family is no event of ours. */
	x->state.family = 0;
	CHECK_INT(xfrm_event_parse(buf, nlh->nlmsg_len, &ev), -EINVAL);

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_MAPPING;
	m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->id.family = AF_INET;
	m->id.spi = htonl(0xc0000007);
	m->reqid = 7;
	m->old_saddr.a4 = htonl(0xc6336401);
	m->new_saddr.a4 = htonl(0xc6336401);
	m->old_sport = htons(4500);
	m->new_sport = htons(61000);
	CHECK_INT(xfrm_event_parse(buf, nlh->nlmsg_len, &ev), 0);
	CHECK_INT(ev.type, XK_EV_MAPPING);
	CHECK_INT(ev.old_src.port, 4500);
	CHECK_INT(ev.new_src.port, 61000);
	CHECK_INT(ev.new_src.ip[0], 198);
	CHECK_INT(ev.sa.spi, 0xc0000007);
	/* Shorter than its struct. */
	CHECK_INT(xfrm_event_parse(buf, nlh->nlmsg_len - 1, &ev), -EINVAL);

	nlh->nlmsg_type = XFRM_MSG_NEWSA;
	CHECK_INT(xfrm_event_parse(buf, nlh->nlmsg_len, &ev), -ENOENT);
}

static void base_sa(struct xk_sa *sa, enum xk_mode mode)
{
	memset(sa, 0, sizeof(*sa));
	xk_addr_parse("192.0.2.1", &sa->src);
	xk_addr_parse("192.0.2.2", &sa->dst);
	sa->spi = 0xc1234567;
	sa->reqid = 0x7c000001;
	sa->mode = mode;
	sa->enc = XK_ENC_AES_GCM_16;
	sa->enc_key_len = 20;
	for (int i = 0; i < 20; i++)
		sa->enc_key[i] = (uint8_t)(0xa0 + i);
	sa->icv_len = 16;
	sa->replay_window = 64;
}

/* The attribute of a type in a request, or NULL. */
static const struct nlattr *find_attr(const struct nlmsghdr *nlh, size_t fixed, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, fixed)
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

/*
 * XFRMA_ALG_AEAD as the kernel's struct xfrm_algo_aead lays it out:
 * nla_len 0x60 (4 + 64 + 4 + 4 + 20), nla_type 18, the name padded to 64
 * bytes, key length 160 bits (key + salt), ICV 128 bits, then the key.
 */
static const char aead_attr_hex[] =
	"60001200"
	"726663343130362867636d286165732929000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"a0000000" "80000000"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3";

static void test_newsa(void)
{
	uint8_t buf[1024];
	struct xk_sa sa;
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct xfrm_usersa_info *p;
	const struct nlattr *a;
	const struct xfrm_replay_state_esn *r;
	size_t elen;
	uint8_t *expect = check_hex(aead_attr_hex, &elen);
	int len;

	base_sa(&sa, XK_MODE_TRANSPORT);
	len = xfrm_msg_newsa(&sa, false, 77, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_INT(nlh->nlmsg_len, len);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_NEWSA);
	CHECK_INT(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	CHECK_INT(nlh->nlmsg_seq, 77);
	p = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(ntohl(p->id.spi), 0xc1234567);
	CHECK_INT(p->id.proto, IPPROTO_ESP);
	CHECK_INT(p->family, AF_INET);
	CHECK_INT(p->mode, XFRM_MODE_TRANSPORT);
	CHECK_INT(p->reqid, 0x7c000001);
	CHECK_INT(ntohl(p->saddr.a4), 0xc0000201);
	CHECK_INT(ntohl(p->id.daddr.a4), 0xc0000202);
	/* Transport mode: the selector is these two hosts. */
	CHECK_INT(p->sel.family, AF_INET);
	CHECK_INT(p->sel.prefixlen_s, 32);
	CHECK_INT(p->sel.prefixlen_d, 32);
	/* Unlimited unless asked; the legacy replay field stays 0. */
	CHECK(p->lft.soft_byte_limit == XFRM_INF && p->lft.hard_packet_limit == XFRM_INF);
	CHECK_INT(p->replay_window, 0);
	CHECK_INT(p->flags & XFRM_STATE_ESN, 0);
	a = find_attr(nlh, sizeof(*p), XFRMA_ALG_AEAD);
	CHECK(a != NULL);
	if (a) {
		CHECK_INT(elen, 96);
		CHECK_MEM(a, expect, elen);
	}
	a = find_attr(nlh, sizeof(*p), XFRMA_REPLAY_ESN_VAL);
	CHECK(a != NULL);
	if (a) {
		r = mnl_attr_get_payload(a);
		CHECK_INT(r->replay_window, 64);
		CHECK_INT(r->bmp_len, 2);
		CHECK_INT(mnl_attr_get_payload_len(a), sizeof(*r) + 8);
	}
	CHECK(find_attr(nlh, sizeof(*p), XFRMA_ENCAP) == NULL);
	free(expect);

	/* Tunnel mode, ESN, NAT-T, lifetimes, CBC + truncated HMAC. */
	base_sa(&sa, XK_MODE_TUNNEL);
	sa.enc = XK_ENC_AES_CBC;
	sa.enc_key_len = 32;
	sa.integ = XK_INTEG_HMAC_SHA512_256;
	sa.integ_key_len = 64;
	sa.icv_len = 32;
	sa.esn = true;
	sa.encap = true;
	sa.src.port = 4500;
	sa.dst.port = 14500;
	sa.life.soft_secs = 3000;
	sa.life.hard_secs = 3600;
	sa.inbound = true;
	len = xfrm_msg_newsa(&sa, true, 78, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_UPDSA);
	CHECK_INT(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	p = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(p->mode, XFRM_MODE_TUNNEL);
	CHECK(p->flags & XFRM_STATE_ESN);
	CHECK(p->flags & XFRM_STATE_AF_UNSPEC);
	CHECK_INT(p->lft.soft_add_expires_seconds, 3000);
	CHECK_INT(p->lft.hard_add_expires_seconds, 3600);
	a = find_attr(nlh, sizeof(*p), XFRMA_ALG_CRYPT);
	CHECK(a && strcmp(((const struct xfrm_algo *)mnl_attr_get_payload(a))->alg_name,
			  "cbc(aes)") == 0);
	CHECK(a && ((const struct xfrm_algo *)mnl_attr_get_payload(a))->alg_key_len == 256);
	a = find_attr(nlh, sizeof(*p), XFRMA_ALG_AUTH_TRUNC);
	if (a) {
		const struct xfrm_algo_auth *au = mnl_attr_get_payload(a);

		CHECK(strcmp(au->alg_name, "hmac(sha512)") == 0);
		CHECK_INT(au->alg_key_len, 512);
		CHECK_INT(au->alg_trunc_len, 256); /* RFC 4868: half the hash */
	} else {
		CHECK(!"no XFRMA_ALG_AUTH_TRUNC");
	}
	a = find_attr(nlh, sizeof(*p), XFRMA_ENCAP);
	if (a) {
		const struct xfrm_encap_tmpl *e = mnl_attr_get_payload(a);

		CHECK_INT(e->encap_type, UDP_ENCAP_ESPINUDP);
		CHECK_INT(ntohs(e->encap_sport), 4500);
		CHECK_INT(ntohs(e->encap_dport), 14500);
	} else {
		CHECK(!"no XFRMA_ENCAP");
	}

	/* Each rejection names a lie. */
	base_sa(&sa, XK_MODE_TRANSPORT);
	sa.integ = XK_INTEG_HMAC_SHA256_128; /* AEAD with a separate MAC */
	CHECK_INT(xfrm_msg_newsa(&sa, false, 1, buf, sizeof(buf)), -EINVAL);
	base_sa(&sa, XK_MODE_TRANSPORT);
	sa.enc = XK_ENC_AES_CBC; /* CBC with no MAC */
	CHECK_INT(xfrm_msg_newsa(&sa, false, 1, buf, sizeof(buf)), -EINVAL);
	base_sa(&sa, XK_MODE_TRANSPORT);
	xk_addr_parse("2001:db8::2", &sa.dst); /* outer families differ */
	CHECK_INT(xfrm_msg_newsa(&sa, false, 1, buf, sizeof(buf)), -EINVAL);
	base_sa(&sa, XK_MODE_TRANSPORT);
	sa.enc_key_len = XK_MAX_KEY + 1;
	CHECK_INT(xfrm_msg_newsa(&sa, false, 1, buf, sizeof(buf)), -EINVAL);
	base_sa(&sa, XK_MODE_TRANSPORT);
	CHECK_INT(xfrm_msg_newsa(&sa, false, 1, buf, 200), -ENOSPC);
	/* Nothing of the key stays in a buffer that was given up on. */
	for (size_t i = 0; i < 200; i++)
		CHECK(buf[i] == 0);
}

static void test_policy(void)
{
	uint8_t buf[1024];
	const struct nlmsghdr *nlh = (const void *)buf;
	struct xk_policy pol = { .dir = XK_DIR_FWD, .priority = 0x2345, .mode = XK_MODE_TUNNEL,
				 .reqid = 0x7c000009 };
	const struct xfrm_userpolicy_info *p;
	const struct xfrm_userpolicy_id *pid;
	const struct nlattr *a;
	int len;

	xk_ts_parse("10.2.0.0/24", &pol.src);
	xk_ts_parse("10.1.0.0/16", &pol.dst);
	pol.src.proto = IPPROTO_TCP;
	pol.dst.proto = IPPROTO_TCP;
	pol.dst.port_lo = pol.dst.port_hi = 443;
	xk_addr_parse("2001:db8::2", &pol.tmpl_src);
	xk_addr_parse("2001:db8::1", &pol.tmpl_dst);
	len = xfrm_msg_newpolicy(&pol, 9, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_NEWPOLICY);
	p = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(p->dir, XFRM_POLICY_FWD);
	CHECK_INT(p->priority, 0x2345);
	CHECK_INT(p->sel.family, AF_INET);
	CHECK_INT(p->sel.prefixlen_s, 24);
	CHECK_INT(p->sel.prefixlen_d, 16);
	CHECK_INT(p->sel.proto, IPPROTO_TCP);
	CHECK_INT(ntohs(p->sel.dport), 443);
	CHECK_INT(p->sel.dport_mask, 0xffff);
	CHECK_INT(p->sel.sport_mask, 0);
	CHECK_INT(p->action, XFRM_POLICY_ALLOW);
	a = find_attr(nlh, sizeof(*p), XFRMA_TMPL);
	if (a) {
		const struct xfrm_user_tmpl *t = mnl_attr_get_payload(a);

		/* IPv4 selectors in an IPv6 tunnel. */
		CHECK_INT(t->family, AF_INET6);
		CHECK_INT(t->reqid, 0x7c000009);
		CHECK_INT(t->mode, XFRM_MODE_TUNNEL);
		CHECK_INT(t->id.proto, IPPROTO_ESP);
		CHECK_INT(ntohl(t->id.daddr.a6[3]), 1);
		CHECK_INT(ntohl(t->saddr.a6[3]), 2);
	} else {
		CHECK(!"no XFRMA_TMPL");
	}

	len = xfrm_msg_delpolicy(&pol, 10, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_DELPOLICY);
	pid = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(pid->dir, XFRM_POLICY_FWD);
	CHECK_INT(pid->sel.prefixlen_d, 16);

	/* What one kernel selector cannot say is refused, never widened. */
	pol.dst.port_lo = 1000;
	pol.dst.port_hi = 2000;
	CHECK_INT(xfrm_msg_newpolicy(&pol, 11, buf, sizeof(buf)), -ENOTSUP);
	pol.dst.port_lo = 0;
	pol.dst.port_hi = 0xffff;
	pol.src.hi[3] = 0x7f; /* 10.2.0.0 - 10.2.0.127 is a /25, fine ... */
	CHECK(xfrm_msg_newpolicy(&pol, 12, buf, sizeof(buf)) > 0);
	pol.src.hi[3] = 0x80; /* ... 10.2.0.0 - 10.2.0.128 is no prefix */
	CHECK_INT(xfrm_msg_newpolicy(&pol, 13, buf, sizeof(buf)), -ENOTSUP);
}

static void test_ids(void)
{
	uint8_t buf[512];
	const struct nlmsghdr *nlh = (const void *)buf;
	struct xk_sa_id id = { .spi = 0xc0000010, .proto = 50 };
	struct xk_addr s, d;
	const struct xfrm_usersa_id *u;
	const struct xfrm_userspi_info *si;

	xk_addr_parse("2001:db8::7", &id.dst);
	CHECK(xfrm_msg_delsa(&id, 3, buf, sizeof(buf)) > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_DELSA);
	u = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(ntohl(u->spi), 0xc0000010);
	CHECK_INT(u->family, AF_INET6);
	CHECK_INT(u->proto, IPPROTO_ESP);
	CHECK(xfrm_msg_getsa(&id, 4, buf, sizeof(buf)) > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_GETSA);

	xk_addr_parse("192.0.2.9", &s);
	xk_addr_parse("192.0.2.10", &d);
	CHECK(xfrm_msg_allocspi(&s, &d, 0xc0000000, 0xcfffffff, 0x7c000000, 5, buf,
				sizeof(buf)) > 0);
	CHECK_INT(nlh->nlmsg_type, XFRM_MSG_ALLOCSPI);
	si = mnl_nlmsg_get_payload(nlh);
	CHECK_INT(si->min, 0xc0000000);
	CHECK_INT(si->max, 0xcfffffff);
	CHECK_INT(si->info.reqid, 0x7c000000);
	CHECK_INT(si->info.id.proto, IPPROTO_ESP);
	CHECK_INT(ntohl(si->info.id.daddr.a4), 0xc000020a);
}

/*
 * Dumps read back (a resync after lost events): an SA with its limits and
 * use, a larval one, and policies, parsed from the very requests that
 * install them; and when the kernel would call an SA's soft limit passed.
 */
static void test_dump_parse(void)
{
	uint8_t buf[1024];
	struct nlmsghdr *nlh = (void *)buf;
	struct xk_sa sa = { .spi = 0xc0000011, .reqid = 0x7c000003, .mode = XK_MODE_TUNNEL,
			    .enc = XK_ENC_AES_GCM_16, .enc_key_len = 20, .icv_len = 16,
			    .life = { .soft_secs = 90, .hard_secs = 100, .soft_bytes = 1000 } };
	struct xk_policy pol = { .dir = XK_DIR_IN, .priority = 0x2100, .mode = XK_MODE_TUNNEL,
				 .reqid = 0x7c000003 }, back;
	struct xfrm_sa_entry e;
	struct xfrm_usersa_info *p;
	int len;

	xk_addr_parse("192.0.2.1", &sa.src);
	xk_addr_parse("192.0.2.2", &sa.dst);
	len = xfrm_msg_newsa(&sa, false, 1, buf, sizeof(buf));
	CHECK(len > 0);
	p = mnl_nlmsg_get_payload(nlh);
	p->curlft.add_time = 1000000;
	p->curlft.bytes = 10;
	CHECK_INT(xfrm_sa_entry_parse(buf, (size_t)len, &e), 0);
	CHECK_INT(e.id.spi, 0xc0000011);
	CHECK(xk_addr_eq(&e.id.dst, &sa.dst) && xk_addr_eq(&e.src, &sa.src));
	CHECK_INT(e.reqid, 0x7c000003);
	CHECK(!e.larval);
	/* XFRM_INF, the kernel's "no limit", reads as ours: 0. */
	CHECK(e.life.soft_secs == 90 && e.life.hard_secs == 100 && e.life.soft_bytes == 1000 &&
	      e.life.hard_bytes == 0 && e.life.soft_packets == 0);
	CHECK(!xfrm_sa_soft_due(&e, 1000089));
	CHECK(xfrm_sa_soft_due(&e, 1000090));
	e.cur.bytes = 1000;
	CHECK(xfrm_sa_soft_due(&e, 1000000));
	e.life = (struct xk_lifetime){ 0 };
	CHECK(!xfrm_sa_soft_due(&e, UINT32_MAX));
	/* Without algorithms: an SPI reserved by ALLOCSPI, no SA yet. */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + sizeof(*p);
	CHECK_INT(xfrm_sa_entry_parse(buf, nlh->nlmsg_len, &e), 0);
	CHECK(e.larval);
	nlh->nlmsg_len--;
	CHECK_INT(xfrm_sa_entry_parse(buf, nlh->nlmsg_len, &e), -EINVAL);

	xk_ts_parse("10.2.0.0/24", &pol.src);
	xk_ts_parse("10.1.0.7", &pol.dst);
	xk_addr_parse("192.0.2.2", &pol.tmpl_src);
	xk_addr_parse("192.0.2.1", &pol.tmpl_dst);
	len = xfrm_msg_newpolicy(&pol, 2, buf, sizeof(buf));
	CHECK(len > 0);
	CHECK_INT(xfrm_policy_parse(buf, (size_t)len, &back), 0);
	CHECK(!memcmp(&back.src, &pol.src, sizeof(pol.src)) &&
	      !memcmp(&back.dst, &pol.dst, sizeof(pol.dst)));
	CHECK(back.dir == XK_DIR_IN && back.priority == 0x2100 && back.reqid == 0x7c000003);
	CHECK(back.mode == XK_MODE_TUNNEL && !back.bypass);
	CHECK(xk_addr_eq(&back.tmpl_src, &pol.tmpl_src) && xk_addr_eq(&back.tmpl_dst, &pol.tmpl_dst));
	pol.bypass = true;
	pol.mark = 7;
	pol.mark_mask = 0xff;
	len = xfrm_msg_newpolicy(&pol, 3, buf, sizeof(buf));
	CHECK_INT(xfrm_policy_parse(buf, (size_t)len, &back), 0);
	CHECK(back.bypass && back.reqid == 0 && back.mark == 7 && back.mark_mask == 0xff);
	/* An SA is no policy. */
	CHECK_INT(xfrm_policy_parse(buf, (size_t)xfrm_msg_newsa(&sa, false, 4, buf, sizeof(buf)),
				    &back), -EINVAL);
}

int main(void)
{
	test_acquire();
	test_expire_mapping();
	test_newsa();
	test_policy();
	test_ids();
	test_dump_parse();
	return check_done("xfrm");
}
