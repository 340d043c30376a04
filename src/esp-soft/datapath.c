/* SPDX-License-Identifier: ISC */
/*
 * One packet through esp-soft, with no I/O: inner IP packet -> SPD -> SA ->
 * ESP (output), and NAT-T datagram -> IKE / keepalive / ESP -> SA -> inner
 * packet checked against the SA's policy (input).  The workers call these
 * with the table lock held for reading; tests and fuzzers call the
 * esp_soft_input/output wrappers at the end, which take it (kept here,
 * not in esp_soft.c, so that the compiler may fold the call into them).
 */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "esp-soft/datapath.h"
#include "esp-soft/queue.h"
#include "esp-soft/sad.h"
#include "esp-soft/state.h"

/* Soft EXPIRE this many sequence numbers before they run out. */
#define ESP_SEQ_SOFT_MARGIN (1ull << 28)

static bool has_ports(uint8_t proto)
{
	return proto == ESP_PROTO_TCP || proto == ESP_PROTO_UDP || proto == 132 /* SCTP */ ||
	       proto == 136 /* UDP-Lite */;
}

static void flow_ports(struct esp_flow *f, const uint8_t *p)
{
	const uint8_t *l4 = p + f->l4off;
	size_t left = f->len - f->l4off;

	if (f->frag)
		return;
	if (has_ports(f->proto) && left >= 4) {
		f->sport = get_be16(l4);
		f->dport = get_be16(l4 + 2);
	} else if ((f->proto == ESP_PROTO_ICMP || f->proto == ESP_PROTO_ICMPV6) && left >= 2) {
		f->sport = l4[0];
		f->dport = l4[1];
	}
}

/* IPv6 extension headers that may sit before the upper layer (RFC 8200 4.1). */
static bool v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51;
}

/*
 * Parse an IP packet's header far enough for selectors.  -EINVAL if the
 * header lies about its length or the packet is not IPv4/IPv6.
 */
static int flow_parse(const uint8_t *p, size_t len, struct esp_flow *f)
{
	memset(f, 0, sizeof(*f));
	if (len < 1)
		return -EINVAL;
	if (p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, tot;

		/* The fixed header must fit, and its lengths must be honest. */
		if (len < 20 || ihl < 20 || ihl > len)
			return -EINVAL;
		tot = get_be16(p + 2);
		if (tot < ihl || tot > len)
			return -EINVAL;
		f->family = XK_AF_INET;
		f->proto = p[9];
		f->frag = (get_be16(p + 6) & 0x3fff) != 0; /* MF or an offset */
		f->src = p + 12;
		f->dst = p + 16;
		f->l4off = ihl;
		f->len = tot;
	} else if (p[0] >> 4 == 6) {
		size_t off = 40, tot;
		uint8_t nh;

		if (len < 40)
			return -EINVAL;
		tot = 40 + (size_t)get_be16(p + 4);
		if (tot > len)
			return -EINVAL;
		f->family = XK_AF_INET6;
		f->src = p + 8;
		f->dst = p + 24;
		f->len = tot;
		nh = p[6];
		/* Walk a bounded number of extension headers, each inside tot. */
		for (int i = 0; i < 8 && v6_ext(nh); i++) {
			size_t hl;

			if (off + 8 > tot)
				return -EINVAL;
			if (nh == 44) {
				f->frag = true;
				hl = 8;
			} else if (nh == 51) {
				hl = ((size_t)p[off + 1] + 2) * 4;
			} else {
				hl = ((size_t)p[off + 1] + 1) * 8;
			}
			if (off + hl > tot)
				return -EINVAL;
			nh = p[off];
			off += hl;
		}
		if (v6_ext(nh))
			return -EINVAL; /* more than eight: not worth carrying */
		f->proto = nh;
		f->l4off = off;
	} else {
		return -EINVAL;
	}
	flow_ports(f, p);
	return 0;
}

static void host_ts(struct xk_ts *t, const struct esp_flow *f, const uint8_t *addr, uint16_t port)
{
	size_t n = f->family == XK_AF_INET ? 4 : 16;

	memset(t, 0, sizeof(*t));
	t->family = f->family;
	t->proto = f->proto;
	t->port_lo = t->port_hi = port;
	memcpy(t->lo, addr, n);
	memcpy(t->hi, addr, n);
}

/* A packet hit an out policy with no SA: ask the daemon, not too often. */
static void acquire(struct esp_soft *es, struct esp_pol *pol, const struct esp_flow *f)
{
	uint64_t now = esp_now_mono(), last = atomic_load(&pol->last_acquire);
	struct xk_event ev = { .type = XK_EV_ACQUIRE, .dir = XK_DIR_OUT };

	if (last && now - last < es->cfg.acquire_secs)
		return;
	if (!atomic_compare_exchange_strong(&pol->last_acquire, &last, now))
		return; /* another worker raised it just now */
	host_ts(&ev.pkt_src, f, f->src, f->sport);
	host_ts(&ev.pkt_dst, f, f->dst, f->dport);
	ev.pol_src = pol->p.src;
	ev.pol_dst = pol->p.dst;
	ev.policy_index = pol->index;
	ev.tmpl_src = pol->p.tmpl_src;
	ev.tmpl_dst = pol->p.tmpl_dst;
	ev.reqid = pol->p.reqid;
	esp_event_push(es, &ev);
}

/* Byte and packet lifetimes, after a packet was counted. */
static void life_check(struct esp_soft *es, struct esp_sa *sa)
{
	const struct xk_lifetime *l = &sa->cfg.life;
	uint64_t b, p;

	if (!l->hard_bytes && !l->hard_packets && !l->soft_bytes && !l->soft_packets)
		return;
	b = esp_sa_bytes(sa);
	p = esp_sa_packets(sa);
	if ((l->hard_bytes && b >= l->hard_bytes) || (l->hard_packets && p >= l->hard_packets))
		esp_expire(es, sa, true);
	else if ((l->soft_bytes && b >= l->soft_bytes) || (l->soft_packets && p >= l->soft_packets))
		esp_expire(es, sa, false);
}

static enum esp_soft_drop drop_of(int err)
{
	switch (err) {
	case -ENOENT: return ESP_SOFT_DROP_NO_SA;
	case -ESTALE:
	case -EALREADY: return ESP_SOFT_DROP_REPLAY;
	case -EBADMSG: return ESP_SOFT_DROP_AUTH;
	case -EPROTO: return ESP_SOFT_DROP_PAD;
	case -EPROTONOSUPPORT: return ESP_SOFT_DROP_NEXT_HDR;
	case -ENODATA: return ESP_SOFT_DROP_DUMMY;
	case -EIO: return ESP_SOFT_DROP_CRYPTO;
	case -EOVERFLOW: return ESP_SOFT_DROP_EXPIRED;
	case -EMSGSIZE:
	default: return ESP_SOFT_DROP_SHORT;
	}
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get_be16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Transport mode: the IP header the ESP header replaced (RFC 4303 3.1.1). */
static int rebuild_header(const struct esp_sa *sa, uint8_t nh, size_t len,
			  struct esp_soft_rx *rx)
{
	uint8_t *h = rx->hdr;

	if (sa->cfg.src.family == XK_AF_INET) {
		if (len > 65535 - 20)
			return -EMSGSIZE;
		memset(h, 0, 20);
		h[0] = 0x45;
		put_be16(h + 2, (uint16_t)(20 + len));
		h[8] = 64;
		h[9] = nh;
		memcpy(h + 12, sa->cfg.src.ip, 4);
		memcpy(h + 16, sa->cfg.dst.ip, 4);
		put_be16(h + 10, ip_csum(h, 20));
		rx->hdr_len = 20;
	} else {
		if (len > 65535)
			return -EMSGSIZE;
		memset(h, 0, 40);
		h[0] = 0x60;
		put_be16(h + 4, (uint16_t)len);
		h[6] = nh;
		h[7] = 64;
		memcpy(h + 8, sa->cfg.src.ip, 16);
		memcpy(h + 24, sa->cfg.dst.ip, 16);
		rx->hdr_len = 40;
	}
	return 0;
}

/* RFC 4301 5.2 step 4: the inner packet must fit the SA's own policy. */
static bool policy_ok(struct esp_soft *es, const struct esp_sa *sa, const struct esp_flow *f)
{
	struct esp_pol *in = esp_spd_lookup(&es->spd[XK_DIR_IN], f);
	struct esp_pol *fwd = esp_spd_lookup(&es->spd[XK_DIR_FWD], f);
	/*
	 * The kernel checks the "in" policy for local delivery and "fwd" for
	 * forwarding; which one applies is decided after the TUN device, so
	 * either direction's best match may vouch for the SA.
	 */
	return (in && in->p.reqid == sa->cfg.reqid) || (fwd && fwd->p.reqid == sa->cfg.reqid);
}

static int dropped(struct esp_soft *es, unsigned slot, enum esp_soft_drop d, int err)
{
	esp_drop(es, slot, d);
	return err;
}

int esp_dp_input(struct esp_soft *es, unsigned slot, const struct xk_addr *local,
		 const struct xk_addr *remote, bool udp, uint8_t *buf, size_t len,
		 struct esp_soft_rx *rx)
{
	struct esp_plain pl;
	struct esp_sa *sa;
	struct esp_flow f;
	const uint8_t *inner;
	static const struct xk_addr none;
	int err;

	memset(rx, 0, sizeof(*rx));
	if (!local)
		local = &none;
	if (!remote)
		remote = &none;
	if (udp) {
		/* RFC 3948 2.3: a NAT keepalive is one 0xff byte. */
		if (len == 1 && buf[0] == 0xff) {
			esp_ctr_add(es, slot, CTR_KEEPALIVE, 1);
			return ESP_SOFT_RX_KEEPALIVE;
		}
		/* RFC 3948 2.2: four zero bytes (where the SPI would be) mark IKE. */
		if (len >= 4 && get_be32(buf) == 0) {
			if (esp_ike_push(es, local, remote, buf + 4, len - 4) < 0)
				return dropped(es, slot, ESP_SOFT_DROP_QUEUE, -ENOBUFS);
			esp_ctr_add(es, slot, CTR_IKE_IN, 1);
			esp_ctr_add(es, slot, CTR_IKE_RELAYED, 1);
			return ESP_SOFT_RX_IKE;
		}
	}
	/* SPI and sequence number at least; the SA checks the rest. */
	if (len < ESP_HDR_LEN || get_be32(buf) == 0)
		return dropped(es, slot, ESP_SOFT_DROP_SHORT, -EMSGSIZE);
	sa = esp_sad_in(es, get_be32(buf));
	if (!sa)
		return dropped(es, slot, ESP_SOFT_DROP_NO_SA, -ENOENT);
	if (atomic_load_explicit(&sa->dead, memory_order_relaxed))
		return dropped(es, slot, ESP_SOFT_DROP_EXPIRED, -EKEYEXPIRED);
	err = esp_decap(sa, slot, buf, len, &pl);
	if (err)
		return dropped(es, slot, drop_of(err), err);
	atomic_store_explicit(&sa->use_time, atomic_load_explicit(&es->now, memory_order_relaxed),
			      memory_order_relaxed);
	life_check(es, sa);

	/* Authentic ESP-in-UDP from a new address or port: NAT rebinding. */
	if (udp && sa->cfg.encap && remote->family && !xk_addr_eq(remote, &sa->cfg.src)) {
		bool report;

		pthread_spin_lock(&sa->lock);
		report = !xk_addr_eq(remote, &sa->mapped);
		if (report)
			sa->mapped = *remote;
		pthread_spin_unlock(&sa->lock);
		if (report) {
			struct xk_event ev = { .type = XK_EV_MAPPING, .reqid = sa->cfg.reqid };

			ev.sa.dst = sa->cfg.dst;
			ev.sa.spi = sa->cfg.spi;
			ev.sa.proto = ESP_PROTO_ESP;
			ev.sa_src = sa->cfg.src;
			ev.old_src = sa->cfg.src;
			ev.new_src = *remote;
			esp_event_push(es, &ev);
		}
	}

	inner = buf + pl.off;
	if (sa->cfg.mode == XK_MODE_TUNNEL) {
		/* The inner header must agree with Next Header and fit the payload. */
		if (flow_parse(inner, pl.len, &f) < 0 ||
		    (pl.nh == ESP_PROTO_IPIP) != (f.family == XK_AF_INET))
			return dropped(es, slot, ESP_SOFT_DROP_INNER, -EINVAL);
		rx->data = inner;
		rx->len = f.len; /* anything after it is TFC padding (RFC 4303 2.7) */
	} else {
		err = rebuild_header(sa, pl.nh, pl.len, rx);
		if (err)
			return dropped(es, slot, ESP_SOFT_DROP_INNER, err);
		rx->data = inner;
		rx->len = pl.len;
		/* Selectors see the packet as the kernel will: header + payload. */
		memset(&f, 0, sizeof(f));
		f.family = sa->cfg.src.family;
		f.proto = pl.nh;
		f.src = sa->cfg.src.ip;
		f.dst = sa->cfg.dst.ip;
		f.len = pl.len;
		flow_ports(&f, inner);
	}
	if (!policy_ok(es, sa, &f))
		return dropped(es, slot, ESP_SOFT_DROP_POLICY, -EACCES);
	esp_ctr_add(es, slot, CTR_RX_PKTS, 1);
	esp_ctr_add(es, slot, CTR_RX_BYTES, rx->hdr_len + rx->len);
	return 0;
}

int esp_dp_output(struct esp_soft *es, unsigned slot, uint8_t *ip, size_t len, size_t head,
		  size_t tail, uint8_t **pkt, struct esp_soft_tx *tx)
{
	struct esp_pol *pol;
	struct esp_sa *sa;
	struct esp_flow f;
	uint8_t *payload, *out;
	size_t plen;
	uint8_t nh;
	int n;

	if (head < ESP_HEADROOM || flow_parse(ip, len, &f) < 0)
		return dropped(es, slot, ESP_SOFT_DROP_INNER, -EINVAL);
	pol = esp_spd_lookup(&es->spd[XK_DIR_OUT], &f);
	if (!pol)
		return dropped(es, slot, ESP_SOFT_DROP_NO_POLICY, -ENOENT);
	sa = esp_sad_out(es, pol->p.reqid);
	if (!sa) {
		acquire(es, pol, &f);
		return dropped(es, slot, ESP_SOFT_DROP_NO_SA_OUT, -EAGAIN);
	}
	if (sa->cfg.mode == XK_MODE_TUNNEL) {
		payload = ip;
		plen = f.len;
		nh = f.family == XK_AF_INET ? ESP_PROTO_IPIP : ESP_PROTO_IPV6;
	} else {
		/* The receiver rebuilds one plain header: no fragments, no options kept. */
		if (f.frag || f.family != sa->cfg.src.family)
			return dropped(es, slot, ESP_SOFT_DROP_INNER, -EINVAL);
		payload = ip + f.l4off;
		plen = f.len - f.l4off;
		nh = f.proto;
	}
	/* In place: the header and IV go into the headroom, the trailer after. */
	out = payload - esp_payload_off(sa);
	*pkt = out;
	n = esp_encap(sa, slot, nh, payload, plen, out, (size_t)(ip + len + tail - out));
	if (n == -EOVERFLOW) {
		/* RFC 4303 3.3.3: out of sequence numbers; the SA is finished. */
		esp_expire(es, sa, true);
		return dropped(es, slot, ESP_SOFT_DROP_EXPIRED, n);
	}
	if (n < 0)
		return dropped(es, slot, n == -EMSGSIZE ? ESP_SOFT_DROP_TOO_BIG
							   : ESP_SOFT_DROP_CRYPTO, n);
	atomic_store_explicit(&sa->use_time, atomic_load_explicit(&es->now, memory_order_relaxed),
			      memory_order_relaxed);
	life_check(es, sa);
	/* Ask for a rekey while numbers remain (a soft expiry, like bytes). */
	if (atomic_load_explicit(&sa->seq, memory_order_relaxed) >
	    sa->seq_max - ESP_SEQ_SOFT_MARGIN)
		esp_expire(es, sa, false);

	if (tx) {
		tx->local = sa->cfg.src;
		tx->remote = sa->cfg.dst;
		tx->udp = sa->cfg.encap;
		if (tx->udp && !tx->remote.port)
			tx->remote.port = es->cfg.nat_port;
	}
	esp_ctr_add(es, slot, CTR_TX_PKTS, 1);
	esp_ctr_add(es, slot, CTR_TX_BYTES, plen);
	return n;
}

int esp_soft_input(struct esp_soft *es, unsigned slot, const struct xk_addr *local,
		   const struct xk_addr *remote, bool udp, uint8_t *buf, size_t len,
		   struct esp_soft_rx *rx)
{
	int err;

	if (slot >= es->n_slots)
		return -EINVAL;
	pthread_rwlock_rdlock(&es->lock);
	err = esp_dp_input(es, slot, local, remote, udp, buf, len, rx);
	pthread_rwlock_unlock(&es->lock);
	return err;
}

int esp_soft_output(struct esp_soft *es, unsigned slot, const uint8_t *ip, size_t len,
		    uint8_t *out, size_t cap, struct esp_soft_tx *tx)
{
	uint8_t *pkt;
	int n;

	if (slot >= es->n_slots)
		return -EINVAL;
	if (cap < ESP_HEADROOM + len)
		return -EMSGSIZE;
	/* The workers read packets with headroom; give this one the same. */
	memmove(out + ESP_HEADROOM, ip, len);
	pthread_rwlock_rdlock(&es->lock);
	n = esp_dp_output(es, slot, out + ESP_HEADROOM, len, ESP_HEADROOM,
			  cap - ESP_HEADROOM - len, &pkt, tx);
	pthread_rwlock_unlock(&es->lock);
	if (n > 0)
		memmove(out, pkt, (size_t)n);
	return n;
}
