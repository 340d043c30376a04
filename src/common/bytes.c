/* SPDX-License-Identifier: ISC */
#include "bytes.h"

#include <string.h>

const uint8_t *br_take(struct br *r, size_t n)
{
	const uint8_t *p;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t br_u8(struct br *r)
{
	const uint8_t *p = br_take(r, 1);

	return p ? p[0] : 0;
}

uint16_t br_u16(struct br *r)
{
	const uint8_t *p = br_take(r, 2);

	return p ? get_be16(p) : 0;
}

uint32_t br_u32(struct br *r)
{
	const uint8_t *p = br_take(r, 4);

	return p ? get_be32(p) : 0;
}

uint64_t br_u64(struct br *r)
{
	const uint8_t *p = br_take(r, 8);

	return p ? get_be64(p) : 0;
}

bool br_copy(struct br *r, void *dst, size_t n)
{
	const uint8_t *p = br_take(r, n);

	if (!p) {
		memset(dst, 0, n);
		return false;
	}
	if (n)
		memcpy(dst, p, n);
	return true;
}

bool br_skip(struct br *r, size_t n)
{
	return br_take(r, n) != NULL;
}

bool br_sub(struct br *r, size_t n, struct br *sub)
{
	const uint8_t *p = br_take(r, n);

	br_init(sub, p, p ? n : 0);
	sub->err = !p;
	return p != NULL;
}

uint8_t *bw_reserve(struct bw *w, size_t n)
{
	uint8_t *p;

	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

void bw_u8(struct bw *w, uint8_t v)
{
	uint8_t *p = bw_reserve(w, 1);

	if (p)
		p[0] = v;
}

void bw_u16(struct bw *w, uint16_t v)
{
	uint8_t *p = bw_reserve(w, 2);

	if (p)
		put_be16(p, v);
}

void bw_u32(struct bw *w, uint32_t v)
{
	uint8_t *p = bw_reserve(w, 4);

	if (p)
		put_be32(p, v);
}

void bw_u64(struct bw *w, uint64_t v)
{
	uint8_t *p = bw_reserve(w, 8);

	if (p)
		put_be64(p, v);
}

void bw_bytes(struct bw *w, const void *src, size_t n)
{
	uint8_t *p = bw_reserve(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void bw_zero(struct bw *w, size_t n)
{
	uint8_t *p = bw_reserve(w, n);

	if (p && n)
		memset(p, 0, n);
}

void bw_put_u16_at(struct bw *w, size_t off, uint16_t v)
{
	if (w->err || off + 2 > w->len) {
		w->err = true;
		return;
	}
	put_be16(w->p + off, v);
}

void bw_put_u32_at(struct bw *w, size_t off, uint32_t v)
{
	if (w->err || off + 4 > w->len) {
		w->err = true;
		return;
	}
	put_be32(w->p + off, v);
}
