/* SPDX-License-Identifier: ISC */
/*
 * The anti-replay window (RFC 4303 3.4.3, RFC 6479 bitmap) and ESN
 * inference (RFC 4303 Appendix A2.2) from tables: each row is one call and
 * what it must return, walking the window's edges — the first number, one
 * inside and one outside the left edge, holes, slides of one block, of
 * more than the ring, and the 2^32 boundary with ESN.
 */
#include <errno.h>

#include "check.h"
#include "esp-soft/esp.h"

enum op { CHECK, COMMIT };

struct step {
	enum op op;
	uint64_t seq;
	int want;
};

static void run(const char *name, uint32_t window, const struct step *s, size_t n)
{
	struct esp_replay r;

	esp_replay_init(&r, window);
	for (size_t i = 0; i < n; i++) {
		int got = s[i].op == CHECK ? esp_replay_check(&r, s[i].seq)
					   : esp_replay_commit(&r, s[i].seq);

		CHECK_MSG(got == s[i].want, "%s row %zu: %s %llu -> %d, want %d", name, i,
			  s[i].op == CHECK ? "check" : "commit", (unsigned long long)s[i].seq,
			  got, s[i].want);
	}
	esp_replay_free(&r);
}

/* A window of 64 (two words in the ring). */
static const struct step w64[] = {
	{ CHECK, 0, -ESTALE },        /* 0 is never sent (RFC 4303 3.3.3) */
	{ CHECK, 1, 0 },
	{ CHECK, 1, 0 },              /* check alone records nothing */
	{ COMMIT, 1, 0 },
	{ COMMIT, 1, -EALREADY },
	{ CHECK, 1, -EALREADY },
	{ COMMIT, 3, 0 },             /* leaves a hole at 2 */
	{ CHECK, 2, 0 },
	{ COMMIT, 2, 0 },
	{ COMMIT, 2, -EALREADY },
	{ COMMIT, 64, 0 },            /* top 64: 1 is 63 behind, inside */
	{ CHECK, 1, -EALREADY },
	{ CHECK, 4, 0 },
	{ COMMIT, 65, 0 },            /* top 65: 1 is 64 behind, just outside */
	{ CHECK, 1, -ESTALE },
	{ CHECK, 2, -EALREADY },      /* 63 behind: inside, and seen */
	{ COMMIT, 4, 0 },             /* a late packet inside the window */
	{ COMMIT, 4, -EALREADY },
	{ COMMIT, 128, 0 },           /* slide by one block */
	{ CHECK, 65, -EALREADY },
	{ CHECK, 64, -ESTALE },
	{ CHECK, 66, 0 },
	{ CHECK, 127, 0 },
	{ COMMIT, 130, 0 },           /* block of 64..127 is kept, 0..63 reused */
	{ CHECK, 66, -ESTALE },
	{ CHECK, 67, 0 },
	{ CHECK, 128, -EALREADY },
	{ COMMIT, 1000, 0 },          /* a jump wider than the window */
	{ CHECK, 937, 0 },            /* 63 behind, never seen: slide cleared it */
	{ CHECK, 936, -ESTALE },
	{ CHECK, 130, -ESTALE },
	{ COMMIT, 999, 0 },
	{ COMMIT, 1000, -EALREADY },
	{ COMMIT, 1000 + 64 * 300, 0 }, /* more blocks than the ring holds */
	{ CHECK, 1000 + 64 * 300 - 1, 0 },
	{ CHECK, 1000 + 64 * 300 - 63, 0 },
	{ CHECK, 1000 + 64 * 300 - 64, -ESTALE },
	{ COMMIT, 1000 + 64 * 300 + 1, 0 },
	{ CHECK, 1000 + 64 * 300, -EALREADY },
};

/* The largest window, 4096 (65 blocks live in a ring of 128). */
static const struct step w4096[] = {
	{ COMMIT, 5000, 0 },
	{ CHECK, 5000 - 4095, 0 },    /* left edge, inside */
	{ CHECK, 5000 - 4096, -ESTALE },
	{ COMMIT, 905, 0 },
	{ COMMIT, 905, -EALREADY },
	{ COMMIT, 4999, 0 },
	{ COMMIT, 9095, 0 },          /* top moves 4095: 5000 is the left edge */
	{ CHECK, 5000, -EALREADY },
	{ CHECK, 5001, 0 },
	{ CHECK, 4999, -ESTALE },
	{ COMMIT, 9096, 0 },
	{ CHECK, 5000, -ESTALE },
	{ COMMIT, 9096 + 4096 * 3, 0 },
	{ CHECK, 9096 + 4096 * 3 - 4095, 0 },
	{ CHECK, 9096, -ESTALE },
};

/* Replay protection off (window 0): everything but 0 passes, top is tracked. */
static const struct step w0[] = {
	{ CHECK, 0, -ESTALE },
	{ COMMIT, 5, 0 },
	{ COMMIT, 5, 0 },
	{ COMMIT, 1, 0 },
};

static void test_sizes(void)
{
	struct esp_replay r;

	CHECK_INT(esp_replay_init(&r, 32), 0); /* below the minimum: raised */
	CHECK_INT(r.window, 64);
	CHECK_INT(r.words, 2);
	CHECK(r.bmp == r.small); /* the usual window: nothing allocated */
	esp_replay_free(&r);
	CHECK_INT(esp_replay_init(&r, 100), 0); /* rounded to whole blocks */
	CHECK_INT(r.window, 128);
	CHECK_INT(r.words, 4);
	CHECK(r.bmp != r.small);
	esp_replay_free(&r);
	CHECK_INT(esp_replay_init(&r, 4096), 0);
	CHECK_INT(r.window, 4096);
	CHECK_INT(r.words, 128);
	/* The whole ring is there to write (ASan checks the bounds). */
	for (uint64_t seq = 1; seq <= 3 * 4096; seq += 7)
		CHECK_INT(esp_replay_commit(&r, seq), 0);
	esp_replay_free(&r);
	CHECK_INT(esp_replay_init(&r, 100000), 0); /* above the maximum: clamped */
	CHECK_INT(r.window, 4096);
	esp_replay_free(&r);
	esp_replay_init(&r, 0);
	CHECK_INT(r.window, 0);
	esp_replay_commit(&r, 77);
	CHECK(r.top == 77);
}

struct infer_row {
	uint32_t window;
	uint64_t top;
	uint32_t seq_lo;
	uint64_t want;
};

static void test_infer(void)
{
	static const struct infer_row rows[] = {
		/* Nothing received yet: the low half of the space is ahead. */
		{ 64, 0, 1, 1 },
		{ 64, 0, 0x7fffffff, 0x7fffffff },
		/* ...and what lies just "before 0" belongs to no subspace. */
		{ 64, 0, 0xffffffff, 0 },
		{ 64, 0, 0xffffffc1, 0 },
		{ 64, 0, 0xffffffc0, 0xffffffc0 },
		/* Case A, window inside one subspace: Th, or Th + 1 if wrapped. */
		{ 64, 0x180000000ull, 0x80000001, 0x180000001ull },
		{ 64, 0x180000000ull, 0x7fffffc1, 0x17fffffc1ull }, /* left edge */
		{ 64, 0x180000000ull, 0x7fffffc0, 0x27fffffc0ull }, /* past it: next */
		{ 64, 0x1ffffffffull, 0x00000002, 0x200000002ull }, /* across 2^32 */
		/* Case B, window across the boundary: Th - 1 for the old side. */
		{ 64, 0x100000010ull, 0xffffffe0, 0x0ffffffe0ull },
		{ 64, 0x100000010ull, 0x00000005, 0x100000005ull },
		{ 64, 0x100000010ull, 0x00000020, 0x100000020ull },
		{ 4096, 0x500000100ull, 0xfffff200, 0x4fffff200ull },
		{ 4096, 0x500000100ull, 0xfffff100, 0x5fffff100ull },
		/* No number past 2^64 - 1. */
		{ 64, 0xfffffffffffffff0ull, 0xfffffff5, 0xfffffffffffffff5ull },
		{ 64, 0xfffffffffffffff0ull, 0x00000005, 0 },
		/* Window 0 (no replay protection) still infers, with 64. */
		{ 0, 0x100000010ull, 0xffffffe0, 0x0ffffffe0ull },
	};
	struct esp_replay r;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t got;

		esp_replay_init(&r, rows[i].window);
		r.top = rows[i].top;
		got = esp_replay_infer(&r, rows[i].seq_lo, true);
		esp_replay_free(&r);
		CHECK_MSG(got == rows[i].want, "infer row %zu: %llx, want %llx", i,
			  (unsigned long long)got, (unsigned long long)rows[i].want);
	}
	/* Without ESN the 32 bits are the number. */
	esp_replay_init(&r, 64);
	r.top = 0x1000;
	CHECK(esp_replay_infer(&r, 0xfffffff0, false) == 0xfffffff0);
}

/* ESN end to end: inferred numbers commit across the 2^32 boundary. */
static void test_esn_walk(void)
{
	struct esp_replay r;
	uint64_t s;

	esp_replay_init(&r, 64);
	r.top = 0xfffffff0;
	for (uint32_t lo = 0xfffffff1; lo != 0x10; lo++) {
		s = esp_replay_infer(&r, lo, true);
		CHECK_INT(esp_replay_commit(&r, s), 0);
	}
	CHECK(r.top == 0x10000000full);
	/* A straggler from before the boundary is still placed right. */
	s = esp_replay_infer(&r, 0xfffffff5, true);
	CHECK(s == 0xfffffff5ull);
	CHECK_INT(esp_replay_check(&r, s), -EALREADY);
}

int main(void)
{
	run("w64", 64, w64, sizeof(w64) / sizeof(w64[0]));
	run("w4096", 4096, w4096, sizeof(w4096) / sizeof(w4096[0]));
	run("w0", 0, w0, sizeof(w0) / sizeof(w0[0]));
	test_sizes();
	test_infer();
	test_esn_walk();
	return check_done("replay");
}
