/* SPDX-License-Identifier: ISC */
/*
 * swanctl.conf text, as `xikectl import` reads it: the settings parser
 * (no includes: a buffer has no directory), then the converter into a
 * memory stream, with no look-ups beside the file.  Whatever the converter
 * writes must be text lines xiked.conf can hold: no NUL, no line longer
 * than 198 characters outside comments.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swanctl_import.h"
#include "swanctl_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_tree t;
	char err[256], *out = NULL;
	size_t outlen = 0;
	FILE *f;
	int rc;

	if (sw_parse_buf(&t, (const char *)data, size, "fuzz.conf", false, err, sizeof(err)))
		return 0;
	f = open_memstream(&out, &outlen);
	if (!f)
		abort();
	struct sw_import_opts o = { .base_dir = NULL, .notes = NULL };

	rc = sw_import(&t, f, &o);
	fclose(f);
	if (rc != SW_IMPORT_COMPLETE && rc != SW_IMPORT_PARTIAL && rc != SW_IMPORT_ERROR)
		abort();
	if (memchr(out, '\0', outlen))
		abort();
	for (char *line = out, *nl; line < out + outlen; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(out + outlen - line));
		if (!nl)
			abort();	/* every line ends */
		if (line[0] != '#' && nl - line > 198)
			abort();
	}
	free(out);
	sw_tree_free(&t);
	return 0;
}
