/* SPDX-License-Identifier: ISC */
/*
 * A tiny test harness: CHECK macros count failures and print where they
 * happened; check_done() prints a summary and returns the exit status.
 */
#ifndef XK_TEST_CHECK_H
#define XK_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                              \
	do {                                                                     \
		check_count++;                                                   \
		if (!(cond)) {                                                   \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
		}                                                                \
	} while (0)

#define CHECK_MSG(cond, ...)                                                     \
	do {                                                                     \
		check_count++;                                                   \
		if (!(cond)) {                                                   \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__,   \
				__LINE__, #cond);                                \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
		}                                                                \
	} while (0)

#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);  \
		check_count++;                                                   \
		if (check_a_ != check_b_) {                                      \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, check_a_, #b, check_b_); \
		}                                                                \
	} while (0)

#define CHECK_MEM(a, b, n)                                                       \
	do {                                                                     \
		check_count++;                                                   \
		if (memcmp((a), (b), (n)) != 0) {                                \
			check_failures++;                                        \
			fprintf(stderr, "%s:%d: %s differs from %s (%zu bytes)\n", \
				__FILE__, __LINE__, #a, #b, (size_t)(n));        \
		}                                                                \
	} while (0)

/* Decode a hex string (whitespace ignored) into a malloc'd buffer. */
static inline uint8_t *check_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex), o = 0;
	uint8_t *out = malloc(n / 2 + 1);
	int hi = -1;

	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[o++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = o;
	return out;
}

static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
