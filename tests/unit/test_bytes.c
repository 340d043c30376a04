/* SPDX-License-Identifier: ISC */
/*
 * The bounded reader/writer: reads past the end fail and stick.  And the
 * rest of common/ that has no file of its own here: log levels.
 */
#include "common/bytes.h"
#include "common/log.h"
#include "common/secret.h"
#include "check.h"

#include <string.h>

static void test_reader(void)
{
	static const uint8_t buf[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct br r, sub;
	uint8_t out[4];

	br_init(&r, buf, sizeof(buf));
	CHECK_INT(br_u8(&r), 1);
	CHECK_INT(br_u16(&r), 0x0203);
	CHECK_INT(br_u32(&r), 0x04050607);
	CHECK_INT(br_left(&r), 8);
	CHECK(br_ok(&r));

	br_init(&r, buf, sizeof(buf));
	CHECK(br_skip(&r, 7));
	CHECK(br_u64(&r) == 0x08090a0b0c0d0e0fULL);
	CHECK(br_ok(&r));
	CHECK_INT(br_left(&r), 0);
	/* One byte past the end: fails, sticks, and yields zero. */
	CHECK_INT(br_u8(&r), 0);
	CHECK(!br_ok(&r));
	CHECK_INT(br_left(&r), 0);
	CHECK(br_take(&r, 0) == NULL);

	br_init(&r, buf, sizeof(buf));
	CHECK(br_sub(&r, 4, &sub));
	CHECK_INT(br_u32(&sub), 0x01020304);
	CHECK_INT(br_u8(&sub), 0);
	CHECK(!br_ok(&sub));
	CHECK(br_ok(&r));
	CHECK_INT(br_u8(&r), 5);
	CHECK(!br_sub(&r, 100, &sub));
	CHECK(!br_ok(&r));

	br_init(&r, buf, 3);
	memset(out, 0xff, sizeof(out));
	CHECK(!br_copy(&r, out, 4));
	CHECK(out[0] == 0 && out[3] == 0);
}

static void test_writer(void)
{
	uint8_t buf[8];
	struct bw w;

	bw_init(&w, buf, sizeof(buf));
	bw_u8(&w, 0xaa);
	bw_u16(&w, 0x0102);
	bw_u32(&w, 0x03040506);
	CHECK(bw_ok(&w));
	CHECK_INT(w.len, 7);
	bw_put_u16_at(&w, 1, 0xbeef);
	CHECK(buf[1] == 0xbe && buf[2] == 0xef);
	bw_u16(&w, 0); /* one byte left: overflow */
	CHECK(!bw_ok(&w));
	CHECK_INT(w.len, 7);

	bw_init(&w, buf, sizeof(buf));
	bw_u8(&w, 1);
	bw_put_u16_at(&w, 0, 1); /* patch past what was written */
	CHECK(!bw_ok(&w));
}

static void test_secret(void)
{
	uint8_t a[32], b[32];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK(xk_ct_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	CHECK(!xk_ct_equal(a, b, sizeof(a)));
	b[31] ^= 1;
	b[0] ^= 0x80;
	CHECK(!xk_ct_equal(a, b, sizeof(a)));
	xk_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK(a[i] == 0);
}

static int log_lines;
static char log_last[64];

static void count_sink(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)level;
	(void)sub;
	(void)ctx;
	log_lines++;
	snprintf(log_last, sizeof(log_last), "%s", line);
}

/*
 * xk_log_on answers what xk_log_sub does: a caller that skips the
 * formatting of its arguments when it says no loses no line that would
 * have been written.
 */
static void test_log_levels(void)
{
	xk_log_set_sink(count_sink, NULL);
	xk_log_set_level(XK_LOG_WARNING);
	xk_log_set_sub_level(XK_SUB_ENGINE, XK_LOG_DEBUG);
	for (int sub = 0; sub < XK_SUB_COUNT; sub++) {
		for (int lv = XK_LOG_DEBUG; lv <= XK_LOG_ERROR; lv++) {
			int before = log_lines;
			bool on = xk_log_on((enum xk_log_sub)sub, (enum xk_log_level)lv);

			xk_log_sub((enum xk_log_sub)sub, (enum xk_log_level)lv, "line %d %d", sub, lv);
			CHECK_INT(log_lines - before, on ? 1 : 0);
			CHECK(on == (sub == XK_SUB_ENGINE || lv >= XK_LOG_WARNING));
		}
	}
	CHECK(strcmp(log_last, "line 6 4") == 0);
	/* An unknown subsystem writes nothing and says so. */
	CHECK(!xk_log_on(XK_SUB_COUNT, XK_LOG_ERROR));
	xk_log_set_sink(NULL, NULL);
}

int main(void)
{
	test_reader();
	test_writer();
	test_secret();
	test_log_levels();
	return check_done("bytes");
}
