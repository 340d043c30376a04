/* SPDX-License-Identifier: ISC */
/*
 * swanctl.conf (a parsed tree, swanctl_parse.h) into xiked.conf [conn]
 * sections: docs/xikectl.8, "import".
 */
#ifndef XK_SWANCTL_IMPORT_H
#define XK_SWANCTL_IMPORT_H

#include <stdio.h>

#include "swanctl_parse.h"

/* Results of sw_import() and exit statuses of `xikectl import`. */
#define SW_IMPORT_COMPLETE 0	/* everything expressed */
#define SW_IMPORT_ERROR 1	/* nothing usable (or bad input) */
#define SW_IMPORT_PARTIAL 3	/* written, with omissions listed */

struct sw_import_opts {
	/*
	 * The directory of swanctl.conf, where x509/, x509ca/ and private/
	 * are looked up for certificates, CAs and keys; NULL: no look-ups.
	 */
	const char *base_dir;
	/* The summary of omissions, one line each; NULL for none. */
	FILE *notes;
};

int sw_import(const struct sw_tree *t, FILE *out, const struct sw_import_opts *o);
/* `xikectl import [--output FILE] [FILE|-]`: ARGV[0] is "import". */
int xikectl_import_main(int argc, char **argv);

#endif
