/* SPDX-License-Identifier: ISC */
#include "payload.h"

#include <errno.h>
#include <string.h>

int ike_hdr_parse(const uint8_t *buf, size_t len, struct ike_hdr *hdr)
{
	struct br r;

	br_init(&r, buf, len);
	hdr->spi_i = br_u64(&r);
	hdr->spi_r = br_u64(&r);
	hdr->next = br_u8(&r);
	hdr->version = br_u8(&r);
	hdr->exch = br_u8(&r);
	hdr->flags = br_u8(&r);
	hdr->mid = br_u32(&r);
	hdr->length = br_u32(&r);
	/* Shorter than a header: nothing else can be trusted. */
	if (!br_ok(&r))
		return -EINVAL;
	/* Section 2.5: a higher major version gets INVALID_MAJOR_VERSION. */
	if ((hdr->version >> 4) != 2)
		return IKE_PARSE_VERSION;
	/* The Length field must describe exactly this datagram. */
	if (hdr->length != len)
		return -EINVAL;
	return 0;
}

static bool pl_known(uint8_t type)
{
	return type >= IKEV2_PL_SA && type <= IKEV2_PL_EAP;
}

/* Walk one chain of generic payload headers starting with type `next`. */
static int parse_chain(struct ike_msg *msg, uint8_t next, const uint8_t *buf,
		       size_t len, bool encrypted)
{
	struct br r;

	br_init(&r, buf, len);
	while (next != IKEV2_PL_NONE) {
		uint8_t type = next, flags;
		uint16_t plen;
		const uint8_t *body;
		/*
		 * RFC 7383 section 2.5: SKF stands for SK in the messages after
		 * IKE_SA_INIT; in IKE_SA_INIT, or inside SK, it is an unknown
		 * payload like any other.
		 */
		bool skf = type == IKEV2_PL_SKF && !encrypted &&
			   msg->hdr.exch != IKEV2_EXCH_IKE_SA_INIT;

		next = br_u8(&r);
		flags = br_u8(&r);
		plen = br_u16(&r);
		/* A generic header must fit, and the length covers it. */
		if (!br_ok(&r) || plen < IKEV2_GENHDR_LEN)
			return -EINVAL;
		body = br_take(&r, plen - IKEV2_GENHDR_LEN);
		/* The payload claims more than the message holds. */
		if (!body)
			return -EINVAL;
		/*
		 * Types 1-32 are IKEv1's (section 3.2): to IKEv2 they are unknown
		 * payloads like any other, skipped unless critical (2.5).
		 */
		if (type == IKEV2_PL_SK || skf) {
			/*
			 * Section 3.14: SK is the last payload, and not nested;
			 * RFC 7383 section 2.5: so is SKF, instead of SK.
			 */
			if (encrypted || msg->has_sk || br_left(&r) != 0)
				return -EINVAL;
			if (skf) {
				/* RFC 7383 section 2.5: the numbers must fit. */
				if (plen - IKEV2_GENHDR_LEN < IKEV2_SKF_HDR_LEN - IKEV2_GENHDR_LEN)
					return -EINVAL;
				msg->frag = true;
				msg->frag_num = get_be16(body);
				msg->frag_total = get_be16(body + 2);
				/* Section 2.6: numbers count from 1 up to the total. */
				if (!msg->frag_num || msg->frag_num > msg->frag_total)
					return -EINVAL;
			}
			msg->has_sk = true;
			msg->sk_first = next;
			msg->sk_off = (size_t)(body - msg->raw) - IKEV2_GENHDR_LEN;
		}
		if (!pl_known(type) && !skf) {
			/* Section 2.5: unknown critical payloads reject the message. */
			if ((flags & IKEV2_CRITICAL) && !msg->unsupported_critical)
				msg->unsupported_critical = type;
			continue;
		}
		if (msg->n_pl >= IKE_MAX_PAYLOADS)
			return -EINVAL;
		msg->pl[msg->n_pl++] = (struct ike_pl){
			.type = type,
			.critical = flags & IKEV2_CRITICAL,
			.encrypted = encrypted,
			.body = body,
			.len = (uint16_t)(plen - IKEV2_GENHDR_LEN),
		};
		if (type == IKEV2_PL_SK || skf)
			return 0;
	}
	/* Bytes after the last payload are a lie about the chain. */
	return br_left(&r) == 0 ? 0 : -EINVAL;
}

int ike_msg_parse(struct ike_msg *msg, const uint8_t *buf, size_t len)
{
	int err;

	memset(msg, 0, sizeof(*msg));
	msg->raw = buf;
	msg->raw_len = len;
	err = ike_hdr_parse(buf, len, &msg->hdr);
	if (err)
		return err;
	return parse_chain(msg, msg->hdr.next, buf + IKEV2_HDR_LEN,
			   len - IKEV2_HDR_LEN, false);
}

int ike_msg_parse_inner(struct ike_msg *msg, const uint8_t *pt, size_t ptlen)
{
	/* Drop the SK payload itself from the list: its job is done. */
	if (msg->n_pl && (msg->pl[msg->n_pl - 1].type == IKEV2_PL_SK ||
			  msg->pl[msg->n_pl - 1].type == IKEV2_PL_SKF))
		msg->n_pl--;
	msg->inner = pt;
	msg->inner_len = ptlen;
	return parse_chain(msg, msg->sk_first, pt, ptlen, true);
}

const struct ike_pl *ike_msg_find(const struct ike_msg *msg, uint8_t type)
{
	for (size_t i = 0; i < msg->n_pl; i++)
		if (msg->pl[i].type == type)
			return &msg->pl[i];
	return NULL;
}

size_t ike_msg_count(const struct ike_msg *msg, uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->n_pl; i++)
		n += msg->pl[i].type == type;
	return n;
}

/* ---- SA ---- */

static bool xform_type_known(uint8_t type)
{
	return type >= IKEV2_XF_ENCR && type <= IKEV2_XF_MAX;
}

/* Transform attributes (section 3.3.5); only Key Length is defined. */
static int parse_xform_attrs(struct br *r, struct ike_xform *xf, bool *unusable)
{
	while (br_left(r) > 0) {
		uint16_t type = br_u16(r);
		uint16_t val = br_u16(r);

		if (!br_ok(r))
			return -EINVAL;
		if (!(type & IKEV2_ATTR_TV)) {
			/* TLV: val is a length; skip it, but we know no such attribute. */
			if (!br_skip(r, val))
				return -EINVAL;
			*unusable = true;
			continue;
		}
		type &= (uint16_t)~IKEV2_ATTR_TV;
		if (type == IKEV2_ATTR_KEY_LENGTH)
			xf->keybits = val;
		else
			*unusable = true; /* section 3.3.6: unknown attribute */
	}
	return 0;
}

static int parse_proposal(struct br *r, struct ike_proposal *p, uint8_t expect_num)
{
	uint8_t n_xf, spi_size;

	memset(p, 0, sizeof(*p));
	p->num = br_u8(r);
	p->protocol = br_u8(r);
	spi_size = br_u8(r);
	n_xf = br_u8(r);
	if (!br_ok(r))
		return -EINVAL;
	/*
	 * Section 3.3.1: numbering starts at 1 and goes up by one; a lone
	 * proposal (expect_num 0) is a reply echoing the number it accepted.
	 */
	if (expect_num ? p->num != expect_num : p->num == 0)
		return -EINVAL;
	if (spi_size > sizeof(p->spi) || !br_copy(r, p->spi, spi_size))
		return -EINVAL;
	p->spi_size = spi_size;
	if (p->protocol != IKEV2_PROTO_IKE && p->protocol != IKEV2_PROTO_ESP)
		p->unusable = true;
	/* IKE: no SPI, or 8 for a rekey; ESP: 4 (section 3.3.1). */
	if ((p->protocol == IKEV2_PROTO_IKE && spi_size != 0 && spi_size != 8) ||
	    (p->protocol == IKEV2_PROTO_ESP && spi_size != 4))
		return -EINVAL;

	for (unsigned i = 0; i < n_xf; i++) {
		struct ike_xform xf = { 0 };
		struct br body;
		uint8_t last = br_u8(r);
		uint16_t len;

		br_u8(r);
		len = br_u16(r);
		/* A transform header, at least, that fits what is left. */
		if (!br_ok(r) || len < IKEV2_XFORM_HDR_LEN ||
		    !br_sub(r, len - 4u, &body))
			return -EINVAL;
		/* Only the last transform says "last"; the others say "more". */
		if (last != (i + 1u == n_xf ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_XFORM))
			return -EINVAL;
		xf.type = br_u8(&body);
		br_u8(&body);
		xf.id = br_u16(&body);
		if (parse_xform_attrs(&body, &xf, &p->unusable) < 0)
			return -EINVAL;
		if (!xform_type_known(xf.type)) {
			p->unusable = true;
			continue;
		}
		if (p->n_xforms >= IKE_MAX_XFORMS) {
			p->unusable = true;
			continue;
		}
		p->xf[p->n_xforms++] = xf;
	}
	/* The proposal length must be exactly header + SPI + transforms. */
	if (br_left(r) != 0)
		return -EINVAL;
	return 0;
}

int ike_pl_sa(const struct ike_pl *pl, struct ike_proposal *out, size_t max)
{
	struct ike_proposal scratch;
	struct br r;
	size_t n = 0;
	uint8_t num = 1;
	uint8_t last = IKEV2_SUBSTRUC_PROPOSAL;

	br_init(&r, pl->body, pl->len);
	/* An SA payload without proposals offers nothing. */
	if (pl->len == 0)
		return -EINVAL;
	while (br_left(&r) > 0) {
		struct br body;
		uint16_t len;

		/* Something follows a proposal that said it was the last. */
		if (last != IKEV2_SUBSTRUC_PROPOSAL)
			return -EINVAL;
		last = br_u8(&r);
		br_u8(&r);
		len = br_u16(&r);
		if (!br_ok(&r) || len < IKEV2_PROPOSAL_HDR_LEN ||
		    !br_sub(&r, len - 4u, &body))
			return -EINVAL;
		if (last != IKEV2_SUBSTRUC_LAST && last != IKEV2_SUBSTRUC_PROPOSAL)
			return -EINVAL;
		if (parse_proposal(&body, n < max ? &out[n] : &scratch,
				   num == 1 && last == IKEV2_SUBSTRUC_LAST ? 0 : num) < 0)
			return -EINVAL;
		if (n < max)
			n++;
		if (num == 255 && last == IKEV2_SUBSTRUC_PROPOSAL)
			return -EINVAL;
		num++;
	}
	/* The chain ended without a proposal marked last. */
	if (last != IKEV2_SUBSTRUC_LAST)
		return -EINVAL;
	return (int)n;
}

int ike_pl_sa_one(const struct ike_pl *pl, struct ike_proposal *out)
{
	struct ike_proposal two[2];

	/* Section 3.3: an answer holds exactly one proposal, the one chosen. */
	if (ike_pl_sa(pl, two, 2) != 1)
		return -EINVAL;
	*out = two[0];
	return 0;
}

int ike_pl_ke(const struct ike_pl *pl, struct ike_ke *out)
{
	struct br r;

	br_init(&r, pl->body, pl->len);
	out->group = br_u16(&r);
	br_u16(&r);
	if (!br_ok(&r) || br_left(&r) == 0)
		return -EINVAL;
	out->len = br_left(&r);
	out->data = br_take(&r, out->len);
	return 0;
}

int ike_pl_id(const struct ike_pl *pl, struct ike_idp *out)
{
	struct br r;

	br_init(&r, pl->body, pl->len);
	out->type = br_u8(&r);
	br_skip(&r, 3);
	/* An identity needs at least one octet of data. */
	if (!br_ok(&r) || br_left(&r) == 0)
		return -EINVAL;
	out->len = br_left(&r);
	out->data = br_take(&r, out->len);
	out->body = pl->body;
	out->body_len = pl->len;
	if ((out->type == IKEV2_ID_IPV4_ADDR && out->len != 4) ||
	    (out->type == IKEV2_ID_IPV6_ADDR && out->len != 16))
		return -EINVAL;
	return 0;
}

int ike_pl_auth(const struct ike_pl *pl, struct ike_auth *out)
{
	struct br r;

	br_init(&r, pl->body, pl->len);
	out->method = br_u8(&r);
	br_skip(&r, 3);
	if (!br_ok(&r) || br_left(&r) == 0)
		return -EINVAL;
	out->len = br_left(&r);
	out->data = br_take(&r, out->len);
	return 0;
}

int ike_pl_nonce(const struct ike_pl *pl, const uint8_t **data, size_t *len)
{
	/* Section 3.9: at least 16 and at most 256 octets. */
	if (pl->len < IKEV2_NONCE_MIN || pl->len > IKEV2_NONCE_MAX)
		return -EINVAL;
	*data = pl->body;
	*len = pl->len;
	return 0;
}

int ike_pl_notify(const struct ike_pl *pl, struct ike_notify *out)
{
	struct br r;

	br_init(&r, pl->body, pl->len);
	out->proto = br_u8(&r);
	out->spi_size = br_u8(&r);
	out->type = br_u16(&r);
	out->spi = br_take(&r, out->spi_size);
	if (!br_ok(&r))
		return -EINVAL;
	out->len = br_left(&r);
	out->data = out->len ? br_take(&r, out->len) : NULL;
	return 0;
}

bool ike_msg_notify(const struct ike_msg *msg, uint16_t type, struct ike_notify *out)
{
	for (size_t i = 0; i < msg->n_pl; i++) {
		if (msg->pl[i].type != IKEV2_PL_NOTIFY)
			continue;
		if (ike_pl_notify(&msg->pl[i], out) == 0 && out->type == type)
			return true;
	}
	return false;
}

int ike_pl_delete(const struct ike_pl *pl, struct ike_delete *out)
{
	struct br r;

	br_init(&r, pl->body, pl->len);
	out->proto = br_u8(&r);
	out->spi_size = br_u8(&r);
	out->n_spi = br_u16(&r);
	if (!br_ok(&r))
		return -EINVAL;
	/* Section 3.11: IKE SA deletes carry no SPI; ESP/AH SPIs are 4 bytes. */
	if (out->proto == IKEV2_PROTO_IKE) {
		if (out->spi_size != 0 || out->n_spi != 0)
			return -EINVAL;
	} else if (out->proto == IKEV2_PROTO_ESP || out->proto == IKEV2_PROTO_AH) {
		if (out->spi_size != 4)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	out->spis = br_take(&r, (size_t)out->spi_size * out->n_spi);
	/* The SPI list must fill the payload exactly. */
	if (!br_ok(&r) || br_left(&r) != 0)
		return -EINVAL;
	return 0;
}

int ike_pl_ts(const struct ike_pl *pl, struct xk_ts *out, size_t max)
{
	struct br r;
	uint8_t count;
	int unsupported = 0;

	br_init(&r, pl->body, pl->len);
	count = br_u8(&r);
	br_skip(&r, 3);
	/* A TS payload must carry at least one selector. */
	if (!br_ok(&r) || count == 0)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		struct xk_ts ts = { 0 };
		struct br sel;
		uint8_t type = br_u8(&r);
		size_t alen;
		uint16_t len;

		ts.proto = br_u8(&r);
		len = br_u16(&r);
		if (!br_ok(&r) || len < 8 || !br_sub(&r, len - 4u, &sel))
			return -EINVAL;
		if (type == IKEV2_TS_IPV4_ADDR_RANGE && len == IKEV2_TS_IPV4_LEN) {
			ts.family = XK_AF_INET;
			alen = 4;
		} else if (type == IKEV2_TS_IPV6_ADDR_RANGE && len == IKEV2_TS_IPV6_LEN) {
			ts.family = XK_AF_INET6;
			alen = 16;
		} else if (type == IKEV2_TS_IPV4_ADDR_RANGE || type == IKEV2_TS_IPV6_ADDR_RANGE) {
			return -EINVAL; /* a known type with the wrong length */
		} else {
			unsupported = 1;
			continue;
		}
		ts.port_lo = br_u16(&sel);
		ts.port_hi = br_u16(&sel);
		br_copy(&sel, ts.lo, alen);
		br_copy(&sel, ts.hi, alen);
		if (!br_ok(&sel))
			return -EINVAL;
		/* Start above end: an OPAQUE port or an empty range, not for us. */
		if (ts.port_lo > ts.port_hi ||
		    memcmp(ts.lo, ts.hi, alen) > 0) {
			unsupported = 1;
			continue;
		}
		if (i < max)
			out[i] = ts;
	}
	if (br_left(&r) != 0)
		return -EINVAL;
	if (unsupported)
		return -ENOTSUP;
	return count;
}

int ike_pl_cp(const struct ike_pl *pl, uint8_t *cfg_type,
	      struct ike_cp_attr *out, size_t max)
{
	struct br r;
	size_t n = 0;

	br_init(&r, pl->body, pl->len);
	*cfg_type = br_u8(&r);
	br_skip(&r, 3);
	if (!br_ok(&r))
		return -EINVAL;
	while (br_left(&r) > 0) {
		struct ike_cp_attr a;

		a.type = br_u16(&r) & 0x7fff;
		a.len = br_u16(&r);
		a.value = br_take(&r, a.len);
		if (!br_ok(&r))
			return -EINVAL;
		if (n < max)
			out[n] = a;
		n++;
	}
	return (int)n;
}

int ike_pl_cert(const struct ike_pl *pl, uint8_t *encoding,
		const uint8_t **data, size_t *len)
{
	if (pl->len < IKEV2_CERT_HDR_LEN)
		return -EINVAL;
	*encoding = pl->body[0];
	*data = pl->body + 1;
	*len = pl->len - 1u;
	return 0;
}

/* ---- building ---- */

void ike_mb_init(struct ike_mb *mb, uint8_t *buf, size_t cap,
		 const struct ike_hdr *hdr)
{
	bw_init(&mb->w, buf, cap);
	mb->sk_start = 0;
	mb->sk_hdr_len = IKEV2_GENHDR_LEN;
	mb->iv_len = 0;
	bw_u64(&mb->w, hdr->spi_i);
	bw_u64(&mb->w, hdr->spi_r);
	mb->next_off = mb->w.len;
	bw_u8(&mb->w, IKEV2_PL_NONE);
	bw_u8(&mb->w, IKEV2_VERSION);
	bw_u8(&mb->w, hdr->exch);
	bw_u8(&mb->w, hdr->flags);
	bw_u32(&mb->w, hdr->mid);
	bw_u32(&mb->w, 0);
}

size_t ike_mb_begin(struct ike_mb *mb, uint8_t type, bool critical)
{
	size_t start = mb->w.len;

	if (!mb->w.err)
		mb->w.p[mb->next_off] = type;
	mb->next_off = start;
	bw_u8(&mb->w, IKEV2_PL_NONE);
	bw_u8(&mb->w, critical ? IKEV2_CRITICAL : 0);
	bw_u16(&mb->w, 0);
	return start;
}

void ike_mb_end(struct ike_mb *mb, size_t start)
{
	size_t len = mb->w.len - start;

	if (len > 0xffff) {
		mb->w.err = true;
		return;
	}
	bw_put_u16_at(&mb->w, start + 2, (uint16_t)len);
}

static void put_xform(struct bw *w, const struct ike_xform *xf, bool last)
{
	size_t start = w->len;

	bw_u8(w, last ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_XFORM);
	bw_u8(w, 0);
	bw_u16(w, 0);
	bw_u8(w, xf->type);
	bw_u8(w, 0);
	bw_u16(w, xf->id);
	if (xf->keybits) {
		bw_u16(w, IKEV2_ATTR_TV | IKEV2_ATTR_KEY_LENGTH);
		bw_u16(w, xf->keybits);
	}
	bw_put_u16_at(w, start + 2, (uint16_t)(w->len - start));
}

void ike_mb_sa(struct ike_mb *mb, const struct ike_proposal *props, size_t n)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_SA, false);
	struct bw *w = &mb->w;

	for (size_t i = 0; i < n; i++) {
		const struct ike_proposal *p = &props[i];
		size_t pstart = w->len;

		bw_u8(w, i + 1 == n ? IKEV2_SUBSTRUC_LAST : IKEV2_SUBSTRUC_PROPOSAL);
		bw_u8(w, 0);
		bw_u16(w, 0);
		bw_u8(w, p->num ? p->num : (uint8_t)(i + 1));
		bw_u8(w, p->protocol);
		bw_u8(w, p->spi_size);
		bw_u8(w, p->n_xforms);
		bw_bytes(w, p->spi, p->spi_size);
		for (size_t j = 0; j < p->n_xforms; j++)
			put_xform(w, &p->xf[j], j + 1 == p->n_xforms);
		bw_put_u16_at(w, pstart + 2, (uint16_t)(w->len - pstart));
	}
	ike_mb_end(mb, start);
}

void ike_mb_ke(struct ike_mb *mb, uint16_t group, const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_KE, false);

	bw_u16(&mb->w, group);
	bw_u16(&mb->w, 0);
	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_id(struct ike_mb *mb, uint8_t pl_type, uint8_t id_type,
	       const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, pl_type, false);

	bw_u8(&mb->w, id_type);
	bw_zero(&mb->w, 3);
	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_auth(struct ike_mb *mb, uint8_t method, const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_AUTH, false);

	bw_u8(&mb->w, method);
	bw_zero(&mb->w, 3);
	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_nonce(struct ike_mb *mb, const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_NONCE, false);

	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_notify(struct ike_mb *mb, uint8_t proto, const uint8_t *spi,
		   uint8_t spi_size, uint16_t type, const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_NOTIFY, false);

	bw_u8(&mb->w, proto);
	bw_u8(&mb->w, spi_size);
	bw_u16(&mb->w, type);
	bw_bytes(&mb->w, spi, spi_size);
	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_delete(struct ike_mb *mb, uint8_t proto, uint8_t spi_size,
		   const uint8_t *spis, uint16_t n)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_DELETE, false);

	bw_u8(&mb->w, proto);
	bw_u8(&mb->w, spi_size);
	bw_u16(&mb->w, n);
	bw_bytes(&mb->w, spis, (size_t)spi_size * n);
	ike_mb_end(mb, start);
}

void ike_mb_ts(struct ike_mb *mb, uint8_t pl_type, const struct xk_ts *ts, size_t n)
{
	size_t start = ike_mb_begin(mb, pl_type, false);

	bw_u8(&mb->w, (uint8_t)n);
	bw_zero(&mb->w, 3);
	for (size_t i = 0; i < n; i++) {
		bool v4 = ts[i].family == XK_AF_INET;
		size_t alen = v4 ? 4 : 16;

		bw_u8(&mb->w, v4 ? IKEV2_TS_IPV4_ADDR_RANGE : IKEV2_TS_IPV6_ADDR_RANGE);
		bw_u8(&mb->w, ts[i].proto);
		bw_u16(&mb->w, v4 ? IKEV2_TS_IPV4_LEN : IKEV2_TS_IPV6_LEN);
		bw_u16(&mb->w, ts[i].port_lo);
		bw_u16(&mb->w, ts[i].port_hi);
		bw_bytes(&mb->w, ts[i].lo, alen);
		bw_bytes(&mb->w, ts[i].hi, alen);
	}
	ike_mb_end(mb, start);
}

void ike_mb_vendor(struct ike_mb *mb, const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, IKEV2_PL_VENDOR, false);

	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_cert(struct ike_mb *mb, uint8_t pl_type, uint8_t encoding,
		 const uint8_t *data, size_t len)
{
	size_t start = ike_mb_begin(mb, pl_type, false);

	bw_u8(&mb->w, encoding);
	bw_bytes(&mb->w, data, len);
	ike_mb_end(mb, start);
}

void ike_mb_sk_begin(struct ike_mb *mb, size_t iv_len)
{
	mb->sk_start = ike_mb_begin(mb, IKEV2_PL_SK, false);
	mb->iv_len = iv_len;
	bw_reserve(&mb->w, iv_len);
}

void ike_mb_skf_begin(struct ike_mb *mb, size_t iv_len, uint16_t num, uint16_t total,
		      uint8_t first)
{
	mb->sk_start = ike_mb_begin(mb, IKEV2_PL_SKF, false);
	mb->sk_hdr_len = IKEV2_SKF_HDR_LEN;
	bw_u16(&mb->w, num);
	bw_u16(&mb->w, total);
	/* RFC 7383 section 2.5: the inner chain's first type, in fragment 1 only. */
	if (bw_ok(&mb->w))
		mb->w.p[mb->sk_start] = num == 1 ? first : IKEV2_PL_NONE;
	mb->iv_len = iv_len;
	bw_reserve(&mb->w, iv_len);
}

int ike_mb_sk_seal(struct ike_mb *mb, const struct ike_sk_ctx *sk, const uint8_t *iv)
{
	size_t aad_len = mb->sk_start + mb->sk_hdr_len;
	size_t block = ike_encr_block_len(sk->encr);
	size_t icv_len = ike_sk_icv_len(sk->encr, sk->integ);
	size_t pt_len, pad;
	int err;

	if (!block || !mb->sk_start)
		return -EINVAL;
	pt_len = mb->w.len - aad_len - mb->iv_len;
	/* Section 3.14: pad so that plaintext + Pad Length fills blocks. */
	pad = (block - (pt_len + 1) % block) % block;
	bw_zero(&mb->w, pad);
	bw_u8(&mb->w, (uint8_t)pad);
	pt_len += pad + 1;
	bw_reserve(&mb->w, icv_len);
	ike_mb_end(mb, mb->sk_start);
	if (!bw_ok(&mb->w))
		return -ENOSPC;
	bw_put_u32_at(&mb->w, 24, (uint32_t)mb->w.len);
	err = ike_sk_seal(sk, mb->w.p, aad_len, pt_len, iv);
	if (err < 0)
		return err;
	return (int)mb->w.len;
}

int ike_mb_finish(struct ike_mb *mb)
{
	bw_put_u32_at(&mb->w, 24, (uint32_t)mb->w.len);
	if (!bw_ok(&mb->w))
		return -ENOSPC;
	return (int)mb->w.len;
}
