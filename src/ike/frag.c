/* SPDX-License-Identifier: ISC */
/*
 * IKE message fragmentation (RFC 7383): a message after IKE_SA_INIT that
 * would not fit the path goes out as SKF fragments, each a whole IKE
 * message with its own IV and ICV; the peer's fragments are authenticated
 * one by one, kept within bounds, and put back together into the inner
 * payload chain that one SK payload would have carried.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/engine.h"
#include "ike/ike_sa.h"

/*
 * Bounds of one message in reassembly.  Each of the peer's messages is
 * collected alone (window size 1: the one request we expect, the one
 * response we wait for), so an SA holds at most two of them, each at most
 * IKE_FRAG_BYTES_MAX of plaintext in at most IKE_FRAG_MAX pieces.  Only
 * fragments that passed the ICV are kept: no one but the peer can fill
 * them, and a message ID that moves on frees them.
 */
#define IKE_FRAG_MAX	   64
#define IKE_FRAG_BYTES_MAX IKE_MSG_MAX

struct ike_frag_rx {
	uint32_t mid;
	uint16_t total; /* Total Fragments of what is kept */
	uint16_t have;
	size_t bytes;
	uint8_t first;	   /* fragment 1's Next Payload: the inner chain's first type */
	uint8_t hash1[16]; /* fragment 1 as received (section 2.6.1) */
	uint8_t *part[IKE_FRAG_MAX];
	uint16_t len[IKE_FRAG_MAX];
	uint8_t *whole; /* reassembled, while the message is handled */
	size_t whole_len;
};

/* ---- sending ---- */

/*
 * RFC 7383 section 2.5.1: the fragment size counts the whole IP datagram,
 * so the IP header (no options), UDP header and, on the NAT-T port, the
 * non-ESP marker (RFC 3948 section 2.2) come off it.
 */
static size_t frag_budget(const struct ike_sa *sa)
{
	size_t size = sa->conn ? sa->conn->fragment_size : IKE_FRAG_SIZE_DEFAULT;
	size_t ip = sa->remote.family == XK_AF_INET6 ? 40 : 20;
	size_t marker = sa->local.port == ike_cfg(sa->eng)->nat_port ? 4 : 0;

	if (size < IKE_FRAG_SIZE_FLOOR)
		size = IKE_FRAG_SIZE_FLOOR;
	return size - ip - 8 - marker;
}

static int frag_split(struct ike_sa *sa, struct ike_mb *mb, const struct ike_sk_ctx *sk,
		      size_t budget, struct ike_pkt *out)
{
	size_t iv_len = mb->iv_len, aad = mb->sk_start + mb->sk_hdr_len;
	size_t block = ike_encr_block_len(sk->encr), icv = ike_sk_icv_len(sk->encr, sk->integ);
	size_t over = IKEV2_HDR_LEN + IKEV2_SKF_HDR_LEN + iv_len + icv;
	const uint8_t *pt = mb->w.p + aad + iv_len, *h = mb->w.p;
	size_t pt_len = mb->w.len - aad - iv_len;
	uint8_t first = mb->w.p[mb->sk_start];
	struct ike_hdr hdr = {
	    .spi_i = get_be64(h),
	    .spi_r = get_be64(h + 8),
	    .exch = h[18],
	    .flags = h[19],
	    .mid = get_be32(h + 20),
	};
	size_t chunk, n, off = 0;
	uint8_t *buf;

	if (budget < over + 2 * block)
		return -EMSGSIZE;
	/* Whole cipher blocks, one octet of them for the Pad Length. */
	chunk = (budget - over) / block * block - 1;
	n = (pt_len + chunk - 1) / chunk;
	/* No more than a receiver like us takes. */
	if (n > IKE_FRAG_MAX)
		return -EMSGSIZE;
	buf = malloc(n * budget);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t clen = i + 1 < n ? chunk : pt_len - i * chunk;
		struct ike_mb fm;
		int len;

		ike_mb_init(&fm, buf + off, budget, &hdr);
		ike_mb_skf_begin(&fm, iv_len, (uint16_t)(i + 1), (uint16_t)n, first);
		bw_bytes(&fm.w, pt + i * chunk, clen);
		/* Each fragment its own IV (random) and ICV. */
		len = ike_mb_sk_seal(&fm, sk, NULL);
		if (len < 0) {
			free(buf);
			return len;
		}
		off += (size_t)len;
	}
	ike_pkt_free(out);
	out->buf = buf;
	out->len = off;
	ike_stats_mut(sa->eng)->tx_fragments += n;
	xk_debug("%s mid=%u in %zu fragments spi=%016llx", ikev2_exch_name(hdr.exch), hdr.mid, n,
		 (unsigned long long)ike_sa_local_spi(sa));
	return 0;
}

int ike_sa_seal(struct ike_sa *sa, struct ike_mb *mb, struct ike_pkt *out)
{
	struct ike_sk_ctx sk;
	size_t block, icv, aad, pt_len, whole;
	int len;

	ike_sa_sk_ctx(sa, true, &sk);
	block = ike_encr_block_len(sk.encr);
	icv = ike_sk_icv_len(sk.encr, sk.integ);
	if (!bw_ok(&mb->w) || !mb->sk_start || !block)
		return -EINVAL;
	aad = mb->sk_start + mb->sk_hdr_len;
	pt_len = mb->w.len - aad - mb->iv_len;
	/* What the single message would be: padded to blocks, with its ICV. */
	whole = aad + mb->iv_len + (pt_len + 1 + block - 1) / block * block + icv;
	if (sa->frag && whole > frag_budget(sa))
		return frag_split(sa, mb, &sk, frag_budget(sa), out);
	len = ike_mb_sk_seal(mb, &sk, NULL);
	if (len < 0)
		return len;
	ike_pkt_set(out, mb->w.p, (size_t)len);
	return out->buf ? 0 : -ENOMEM;
}

void ike_pkt_send(struct ike_sa *sa, const struct ike_pkt *p, const struct xk_addr *local,
		  const struct xk_addr *remote)
{
	size_t off = 0;

	/* One message, or fragments back to back: each says its length. */
	while (p->buf && p->len - off >= IKEV2_HDR_LEN) {
		size_t len = get_be32(p->buf + off + 24);

		if (len < IKEV2_HDR_LEN || len > p->len - off)
			break;
		ike_send_raw(sa->eng, local, remote, p->buf + off, len);
		off += len;
	}
}

/* ---- receiving ---- */

static void slot_clear(struct ike_frag_rx *f)
{
	for (size_t i = 0; i < IKE_FRAG_MAX; i++) {
		if (f->part[i])
			xk_free_secret(f->part[i], f->len[i] ? f->len[i] : 1);
		f->part[i] = NULL;
		f->len[i] = 0;
	}
	if (f->whole)
		xk_free_secret(f->whole, f->whole_len ? f->whole_len : 1);
	f->whole = NULL;
	f->whole_len = 0;
	f->have = 0;
	f->bytes = 0;
	f->total = 0;
	f->first = 0;
}

static void slot_free(struct ike_sa *sa, int i)
{
	if (!sa->frx[i])
		return;
	slot_clear(sa->frx[i]);
	free(sa->frx[i]);
	sa->frx[i] = NULL;
}

void ike_frag_release(struct ike_sa *sa)
{
	for (int i = 0; i < 2; i++)
		if (sa->frx[i] && sa->frx[i]->whole)
			slot_free(sa, i);
}

void ike_frag_free(struct ike_sa *sa)
{
	slot_free(sa, 0);
	slot_free(sa, 1);
}

static int frag_drop(struct ike_sa *sa, const struct ike_msg *msg, const char *why)
{
	ike_stats_mut(sa->eng)->rx_frag_dropped++;
	xk_debug("fragment %u/%u mid=%u dropped spi=%016llx: %s", msg->frag_num, msg->frag_total,
		 msg->hdr.mid, (unsigned long long)ike_sa_local_spi(sa), why);
	return -EBADMSG;
}

static int frag_complete(struct ike_sa *sa, struct ike_frag_rx *f, struct ike_msg *msg)
{
	size_t off = 0;

	f->whole_len = f->bytes;
	f->whole = malloc(f->bytes ? f->bytes : 1);
	if (!f->whole)
		return -ENOMEM;
	for (size_t i = 0; i < f->total; i++) {
		memcpy(f->whole + off, f->part[i], f->len[i]);
		off += f->len[i];
		xk_free_secret(f->part[i], f->len[i] ? f->len[i] : 1);
		f->part[i] = NULL;
	}
	ike_stats_mut(sa->eng)->rx_reassembled++;
	msg->sk_first = f->first;
	msg->authenticated = true;
	memcpy(msg->frag1_hash, f->hash1, sizeof(f->hash1));
	return ike_msg_parse_inner(msg, f->whole, f->whole_len);
}

int ike_frag_input(struct ike_sa *sa, struct ike_msg *msg, uint8_t *copy, bool response)
{
	struct ike_frag_rx *f = sa->frx[response];
	uint16_t num = msg->frag_num, total = msg->frag_total;
	size_t aad = msg->sk_off + IKEV2_SKF_HDR_LEN;
	size_t iv_len = ike_encr_iv_len(sa->suite.encr);
	struct ike_sk_ctx sk;
	uint8_t h[32], pad;
	size_t len;
	int n, err;

	/* RFC 7383 section 2.3: only when both ends announced it. */
	if (!sa->frag)
		return frag_drop(sa, msg, "fragmentation not negotiated");
	if (total > IKE_FRAG_MAX)
		return frag_drop(sa, msg, "too many fragments");
	/* One message at a time: the caller checked this is the one expected. */
	if (f && f->mid != msg->hdr.mid)
		slot_clear(f);
	if (f && f->whole)
		return frag_drop(sa, msg, "message already reassembled");
	if (f && f->have) {
		/* Section 2.6: a smaller total than before is stale. */
		if (total < f->total)
			return frag_drop(sa, msg, "Total Fragments went down");
		if (total == f->total && f->part[num - 1])
			return frag_drop(sa, msg, "duplicate");
	}
	/* Section 2.6: each fragment is authenticated before it is kept. */
	ike_sa_sk_ctx(sa, false, &sk);
	n = ike_sk_open(&sk, copy, aad, msg->raw_len);
	if (n <= 0) {
		ike_stats_mut(sa->eng)->rx_bad_icv++;
		return -EBADMSG;
	}
	pad = copy[aad + iv_len + (size_t)n - 1];
	/* The Pad Length cannot exceed what was decrypted. */
	if ((size_t)pad + 1 > (size_t)n) {
		ike_stats_mut(sa->eng)->rx_malformed++;
		return -EBADMSG;
	}
	len = (size_t)n - pad - 1;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -EBADMSG;
		sa->frx[response] = f;
	}
	/*
	 * Section 2.6: a larger total means the sender fragmented the message
	 * anew (smaller pieces for the path): start over with this one.
	 */
	if (f->have && total > f->total) {
		ike_stats_mut(sa->eng)->rx_frag_dropped += f->have;
		slot_clear(f);
	}
	if (f->bytes + len > IKE_FRAG_BYTES_MAX) {
		slot_free(sa, response);
		return frag_drop(sa, msg, "reassembled message too large");
	}
	f->part[num - 1] = malloc(len ? len : 1);
	if (!f->part[num - 1])
		return -EBADMSG;
	memcpy(f->part[num - 1], copy + aad + iv_len, len);
	f->len[num - 1] = (uint16_t)len;
	f->mid = msg->hdr.mid;
	f->total = total;
	f->bytes += len;
	f->have++;
	if (num == 1) {
		f->first = copy[msg->sk_off];
		ike_sha256(msg->raw, msg->raw_len, h);
		memcpy(f->hash1, h, sizeof(f->hash1));
	}
	ike_stats_mut(sa->eng)->rx_fragments++;
	if (f->have < f->total)
		return 0;
	err = frag_complete(sa, f, msg);
	return err < 0 ? err : 1;
}
