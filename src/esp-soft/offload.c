/* SPDX-License-Identifier: ISC */
/*
 * TUN offloads: checksums, TCP segmentation of TSO super-packets, and TCP
 * coalescing before writing to the device.  Pure functions over buffers;
 * outbound.c and inbound.c do the reading and writing.
 */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "esp-soft/esp.h"
#include "esp-soft/offload.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* 64-bit words, their carries kept in the top half of a 128-bit sum. */
__extension__ typedef unsigned __int128 csum128;

static uint64_t fold128(csum128 acc)
{
	uint64_t lo = (uint64_t)acc, hi = (uint64_t)(acc >> 64), s = lo + hi;

	return s + (s < lo); /* end-around carry */
}

/* Both: copy len bytes from src to dst (may be NULL) and sum them. */
static uint64_t csum_copy(uint64_t sum, uint8_t *dst, const uint8_t *src, size_t len)
{
	csum128 acc = sum;

	while (len >= 32) {
		uint64_t w[4];

		memcpy(w, src, 32);
		if (dst) {
			memcpy(dst, w, 32);
			dst += 32;
		}
		acc += (csum128)w[0] + w[1] + w[2] + w[3];
		src += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, src, 8);
		if (dst) {
			memcpy(dst, &w, 8);
			dst += 8;
		}
		acc += w;
		src += 8;
		len -= 8;
	}
	if (len) {
		/* The tail as a zero-padded word: byte order of the host, as above. */
		uint8_t last[8] = { 0 };
		uint64_t w;

		memcpy(last, src, len);
		if (dst)
			memcpy(dst, last, len);
		memcpy(&w, last, 8);
		acc += w;
	}
	return fold128(acc);
}

uint64_t esp_csum_add(uint64_t sum, const void *p, size_t len)
{
	return csum_copy(sum, NULL, p, len);
}

uint16_t esp_csum_fold(uint64_t sum)
{
	/* 64 -> 32 -> 16 bits, each with its end-around carry. */
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t esp_ip4_csum(const uint8_t *hdr, size_t len)
{
	uint64_t sum = esp_csum_add(0, hdr, 10);

	sum = esp_csum_add(sum, hdr + 12, len - 12);
	return (uint16_t)~esp_csum_fold(sum);
}

int esp_csum_complete(uint8_t *pkt, size_t len, size_t start, size_t off)
{
	uint16_t c;

	/* The field must lie inside the packet, after the start. */
	if (start >= len || off + 2 > len - start)
		return -EINVAL;
	c = (uint16_t)~esp_csum_fold(esp_csum_add(0, pkt + start, len - start));
	memcpy(pkt + start + off, &c, 2);
	return 0;
}

/* The pseudo-header of RFC 793 / RFC 8200 8.1 for a TCP segment of l4len bytes. */
static uint64_t pseudo(const uint8_t *ip, bool v6, size_t l4len)
{
	uint8_t ph[40];

	if (!v6) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = ESP_PROTO_TCP;
		put_be16(ph + 10, (uint16_t)l4len);
		return esp_csum_add(0, ph, 12);
	}
	memcpy(ph, ip + 8, 32);
	put_be32(ph + 32, (uint32_t)l4len);
	memset(ph + 36, 0, 3);
	ph[39] = ESP_PROTO_TCP;
	return esp_csum_add(0, ph, 40);
}

struct tso {
	bool v6;
	size_t l4, thlen, hlen, payload;
	unsigned count;
};

/* Validate a super-packet's headers before cutting it. */
static int tso_geom(const struct esp_vnet_hdr *h, const uint8_t *pkt, size_t len, struct tso *t)
{
	uint8_t type = h->gso_type & (uint8_t)~ESP_VNET_GSO_ECN;

	memset(t, 0, sizeof(*t));
	if (type == ESP_VNET_GSO_TCPV4) {
		/* An IPv4 header whose length fits. */
		if (len < 20 || pkt[0] >> 4 != 4 || (size_t)(pkt[0] & 15) * 4 < 20)
			return -EINVAL;
		t->l4 = (size_t)(pkt[0] & 15) * 4;
		if (pkt[9] != ESP_PROTO_TCP)
			return -EINVAL;
	} else if (type == ESP_VNET_GSO_TCPV6) {
		if (len < 40 || pkt[0] >> 4 != 6)
			return -EINVAL;
		t->v6 = true;
		/* Extension headers, if any, end where the checksum starts. */
		t->l4 = h->csum_start ? h->csum_start : 40;
		if (t->l4 < 40 || (t->l4 == 40 && pkt[6] != ESP_PROTO_TCP))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	/* The TCP header must fit, and so must its options. */
	if (t->l4 + 20 > len)
		return -EINVAL;
	t->thlen = (size_t)(pkt[t->l4 + 12] >> 4) * 4;
	if (t->thlen < 20 || t->l4 + t->thlen > len)
		return -EINVAL;
	t->hlen = t->l4 + t->thlen;
	t->payload = len - t->hlen;
	if (h->gso_size == 0 || t->payload == 0)
		return -EINVAL;
	t->count = (unsigned)((t->payload + h->gso_size - 1) / h->gso_size);
	return 0;
}

int esp_tso_count(const struct esp_vnet_hdr *h, const uint8_t *pkt, size_t len)
{
	struct tso t;
	int err = tso_geom(h, pkt, len, &t);

	return err ? err : (int)t.count;
}

int esp_tso_segment(const struct esp_vnet_hdr *h, const uint8_t *pkt, size_t len, unsigned i,
		    uint8_t *out, size_t cap)
{
	struct tso t;
	size_t off, seg, total;
	uint8_t *th;
	uint16_t c;
	uint64_t sum;
	int err = tso_geom(h, pkt, len, &t);

	if (err)
		return err;
	if (i >= t.count)
		return -EINVAL;
	off = (size_t)i * h->gso_size;
	seg = t.payload - off < h->gso_size ? t.payload - off : h->gso_size;
	total = t.hlen + seg;
	if (total > cap || total > 65535)
		return -EMSGSIZE;
	memcpy(out, pkt, t.hlen);
	if (!t.v6) {
		put_be16(out + 2, (uint16_t)total);
		put_be16(out + 4, (uint16_t)(get_be16(pkt + 4) + i));
		c = esp_ip4_csum(out, t.l4);
		memcpy(out + 10, &c, 2);
	} else {
		put_be16(out + 4, (uint16_t)(total - 40));
	}
	th = out + t.l4;
	put_be32(th + 4, get_be32(pkt + t.l4 + 4) + (uint32_t)off);
	if (i + 1 < t.count)
		th[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		th[13] &= (uint8_t)~TCP_CWR;
	th[16] = th[17] = 0;
	/* One pass over the payload: copy it and sum it. */
	sum = pseudo(out, t.v6, t.thlen + seg);
	sum = esp_csum_add(sum, th, t.thlen);
	sum = csum_copy(sum, out + t.hlen, pkt + t.hlen + off, seg);
	c = (uint16_t)~esp_csum_fold(sum);
	memcpy(th + 16, &c, 2);
	return (int)total;
}

/* ---- coalescing ---- */

struct seg_view {
	bool v6;
	size_t l4, hlen, len;
	uint32_t seq;
	uint8_t flags;
};

/* Is this packet (headers in h, n bytes of them) a segment a run may hold? */
static bool gro_candidate(const uint8_t *h, size_t n, size_t len, struct seg_view *v)
{
	size_t thlen;

	if (n < 20)
		return false;
	if (h[0] == 0x45) {
		/* No IP options, no fragment, TCP, honest length. */
		if ((get_be16(h + 6) & 0x3fff) || h[9] != ESP_PROTO_TCP || get_be16(h + 2) != len)
			return false;
		v->v6 = false;
		v->l4 = 20;
	} else if (h[0] >> 4 == 6) {
		/* No extension headers, honest length. */
		if (n < 40 || h[6] != ESP_PROTO_TCP || (size_t)get_be16(h + 4) + 40 != len)
			return false;
		v->v6 = true;
		v->l4 = 40;
	} else {
		return false;
	}
	if (v->l4 + 20 > n)
		return false;
	thlen = (size_t)(h[v->l4 + 12] >> 4) * 4;
	if (thlen < 20 || v->l4 + thlen > n || v->l4 + thlen >= len)
		return false; /* options must be in view, and data must follow */
	v->hlen = v->l4 + thlen;
	v->len = len;
	v->seq = get_be32(h + v->l4 + 4);
	v->flags = h[v->l4 + 13];
	/* Plain data: ACK, maybe PSH; nothing that changes the connection. */
	return (v->flags & ~TCP_PSH) == TCP_ACK;
}

/* Do the headers continue the run (everything but lengths, IDs, sums, seq, PSH)? */
static bool gro_same(const struct esp_gro *g, const uint8_t *h, const struct seg_view *v)
{
	const uint8_t *a = g->hdr;
	uint8_t fa, fb;

	if (v->v6 != (a[0] >> 4 == 6) || v->hlen != g->hlen)
		return false;
	if (!v->v6) {
		/* TOS, DF, TTL, protocol, addresses. */
		if (a[1] != h[1] || (a[6] & 0x40) != (h[6] & 0x40) || a[8] != h[8] ||
		    memcmp(a + 12, h + 12, 8))
			return false;
	} else if (memcmp(a, h, 4) || a[7] != h[7] || memcmp(a + 8, h + 8, 32)) {
		return false;
	}
	/* Ports, ACK number, data offset/flags/window (PSH aside), options. */
	fa = a[g->l4 + 13] & (uint8_t)~TCP_PSH;
	fb = h[g->l4 + 13] & (uint8_t)~TCP_PSH;
	return !memcmp(a + g->l4, h + g->l4, 4) && !memcmp(a + g->l4 + 8, h + g->l4 + 8, 5) &&
	       fa == fb && !memcmp(a + g->l4 + 14, h + g->l4 + 14, 2) &&
	       !memcmp(a + g->l4 + 20, h + g->l4 + 20, g->hlen - g->l4 - 20);
}

bool esp_gro_add(struct esp_gro *g, const uint8_t *hdr, size_t hdr_len, const uint8_t *data,
		 size_t len)
{
	uint8_t h[128];
	size_t total = hdr_len + len, n, pay;
	struct seg_view v;

	if (total < 20)
		return false; /* not even an IPv4 header */
	/* A contiguous view of the headers, wherever they sit. */
	n = total < sizeof(h) ? total : sizeof(h);
	if (hdr_len >= n) {
		memcpy(h, hdr, n);
	} else {
		if (hdr_len)
			memcpy(h, hdr, hdr_len);
		memcpy(h + hdr_len, data, n - hdr_len);
	}
	/* Headers in view; a transport-mode header is never split from them. */
	if (!gro_candidate(h, n, total, &v) || v.hlen < hdr_len)
		return false;
	pay = total - v.hlen;
	if (g->segs == 0) {
		memcpy(g->hdr, h, v.hlen);
		g->len = total;
		g->l4 = v.l4;
		g->hlen = v.hlen;
		g->gso = (uint16_t)pay;
		g->segs = 1;
		g->closed = (v.flags & TCP_PSH) != 0;
		g->next_seq = v.seq + (uint32_t)pay;
		g->iov[2] = (struct iovec){ (void *)(data + (v.hlen - hdr_len)), pay };
		return true;
	}
	/* Only an exact continuation, no larger than the first, within 64 KiB. */
	if (g->closed || g->segs == ESP_GRO_MAX || v.seq != g->next_seq || pay > g->gso ||
	    g->len + pay > 65535 || !gro_same(g, h, &v))
		return false;
	g->iov[2 + g->segs] = (struct iovec){ (void *)(data + (v.hlen - hdr_len)), pay };
	g->len += pay;
	g->next_seq += (uint32_t)pay;
	g->segs++;
	if (v.flags & TCP_PSH) {
		g->hdr[g->l4 + 13] |= TCP_PSH;
		g->closed = true;
	}
	if (pay < g->gso)
		g->closed = true;
	return true;
}

int esp_gro_finish(struct esp_gro *g, struct esp_vnet_hdr *h, const struct iovec **iov)
{
	unsigned segs = g->segs;
	bool v6;
	uint16_t c;

	memset(h, 0, sizeof(*h));
	*iov = g->iov;
	if (segs == 0)
		return 0;
	v6 = g->hdr[0] >> 4 == 6;
	if (segs > 1) {
		if (!v6) {
			put_be16(g->hdr + 2, (uint16_t)g->len);
			c = esp_ip4_csum(g->hdr, 20);
			memcpy(g->hdr + 10, &c, 2);
		} else {
			put_be16(g->hdr + 4, (uint16_t)(g->len - 40));
		}
		/* CHECKSUM_PARTIAL: the pseudo-header sum, for the kernel to finish. */
		c = esp_csum_fold(pseudo(g->hdr, v6, g->len - g->l4));
		memcpy(g->hdr + g->l4 + 16, &c, 2);
		h->flags = ESP_VNET_F_NEEDS_CSUM;
		h->gso_type = v6 ? ESP_VNET_GSO_TCPV6 : ESP_VNET_GSO_TCPV4;
		h->hdr_len = (uint16_t)g->hlen;
		h->gso_size = g->gso;
		h->csum_start = (uint16_t)g->l4;
		h->csum_offset = 16;
	}
	g->iov[0] = (struct iovec){ h, ESP_VNET_HDR_LEN };
	g->iov[1] = (struct iovec){ g->hdr, g->hlen };
	g->segs = 0;
	g->len = 0;
	g->closed = false;
	return (int)(2 + segs);
}
