/* SPDX-License-Identifier: ISC */
/*
 * A reader of strongSwan's settings syntax (swanctl.conf, strongswan.conf),
 * for `xikectl import`.  What it takes:
 *
 *	name { ... }          a section; the same name twice at one level is
 *	                      one section (their keys merge, as strongSwan does)
 *	key = value           the value runs to the end of the line (or to a
 *	                      `#` comment or a `}`), blanks around it removed
 *	key = "quoted"        \" \\ \n \t \r escapes; a backslash before a line
 *	                      break continues the string; may span lines
 *	# comment             to the end of the line, outside quotes
 *	include PATTERN       a glob, relative to the including file's
 *	                      directory; only when reading files (not buffers)
 *
 * Not taken (an error naming the line): section references `name : other`,
 * `key := value`, a `}` without a section, an unclosed section or string.
 * A key given twice keeps the last value.  Bounds: SW_MAX_DEPTH nested
 * sections, SW_MAX_FILE bytes per file, SW_MAX_NODES keys and sections in
 * all, SW_MAX_INCLUDE levels of include, SW_MAX_VALUE bytes per value.
 */
#ifndef XK_SWANCTL_PARSE_H
#define XK_SWANCTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SW_MAX_DEPTH 16
#define SW_MAX_FILE (4u << 20)
#define SW_MAX_NODES 100000
#define SW_MAX_INCLUDE 8
#define SW_MAX_VALUE 65536

struct sw_node {
	char *name;
	char *value;		/* NULL for a section */
	struct sw_node *child;	/* a section's keys and sections, in order */
	struct sw_node *next;
	const char *file;	/* owned by the tree's file list */
	int line;
};

struct sw_tree {
	struct sw_node *root;	/* a section without a name */
	char **files;		/* every file read, for node->file */
	size_t nfiles;
	size_t nodes;
};

/*
 * Parse LEN bytes named NAME (for messages).  With allow_include, include
 * patterns are read relative to the directory of NAME.  0 on success;
 * -1 with a one-line message "NAME:LINE: what" in ERR otherwise (the tree is
 * then freed).
 */
int sw_parse_buf(struct sw_tree *t, const char *buf, size_t len, const char *name,
		 bool allow_include, char *err, size_t errlen);
/* Read and parse a file (- for standard input), includes allowed. */
int sw_parse_file(struct sw_tree *t, const char *path, char *err, size_t errlen);
void sw_tree_free(struct sw_tree *t);

/* The child called NAME of section S (a key or a section), or NULL. */
const struct sw_node *sw_get(const struct sw_node *s, const char *name);
/* The value of key NAME in S, NULL when absent or a section. */
const char *sw_value(const struct sw_node *s, const char *name);

#endif
