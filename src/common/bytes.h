/* SPDX-License-Identifier: ISC */
/*
 * Bounded byte reader and writer.
 *
 * Every parser in xike walks its input through one `struct br`: a cursor
 * over a fixed span.  A read that would run past the end fails, sets the
 * sticky error flag and returns zeros, so a parser can read a whole header
 * and check `br_ok()` once.  The writer is the mirror image: writes past the
 * capacity set the error flag and write nothing.
 */
#ifndef XK_BYTES_H
#define XK_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct br {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
};

static inline void br_init(struct br *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = false;
}

static inline size_t br_left(const struct br *r)
{
	return r->err ? 0 : r->len - r->off;
}

static inline bool br_ok(const struct br *r)
{
	return !r->err;
}

/* Pointer to the next n bytes, advancing past them; NULL if they don't fit. */
const uint8_t *br_take(struct br *r, size_t n);
uint8_t br_u8(struct br *r);
uint16_t br_u16(struct br *r);
uint32_t br_u32(struct br *r);
uint64_t br_u64(struct br *r);
/* Copy n bytes out; zero-fills dst on failure. */
bool br_copy(struct br *r, void *dst, size_t n);
bool br_skip(struct br *r, size_t n);
/* A reader over the next n bytes, advancing past them. */
bool br_sub(struct br *r, size_t n, struct br *sub);

struct bw {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool err;
};

static inline void bw_init(struct bw *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = false;
}

static inline bool bw_ok(const struct bw *w)
{
	return !w->err;
}

/* Reserve n bytes and return a pointer to them (NULL on overflow). */
uint8_t *bw_reserve(struct bw *w, size_t n);
void bw_u8(struct bw *w, uint8_t v);
void bw_u16(struct bw *w, uint16_t v);
void bw_u32(struct bw *w, uint32_t v);
void bw_u64(struct bw *w, uint64_t v);
void bw_bytes(struct bw *w, const void *src, size_t n);
void bw_zero(struct bw *w, size_t n);
/* Patch a big-endian u16 at an offset already written. */
void bw_put_u16_at(struct bw *w, size_t off, uint16_t v);
void bw_put_u32_at(struct bw *w, size_t off, uint32_t v);

/* Big-endian helpers for fixed buffers. */
static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

#endif
