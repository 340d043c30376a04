/* SPDX-License-Identifier: ISC */
/*
 * Inside the configuration parser: the state config.c keeps while it reads
 * a file, and what config_child.c (the [child] sections) shares with it.
 * Not for the rest of the daemon: config.h is its view.
 */
#ifndef XD_CONFIG_INT_H
#define XD_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/config.h"

struct parser {
	struct xd_config *cfg;
	const char *name;   /* file name for messages */
	unsigned line;      /* current line, counted by our reader */
	char *err;
	size_t errlen;
	bool failed;
	struct xd_conn *cur; /* the conn section being read */
	struct xd_child *cur_child; /* the child section being read */
	/* The [child] sections until finish() hands them to their conns. */
	struct xd_child *children;
	size_t n_children, cap_children;
	bool new_section;    /* the reader passed a [section] line */
	unsigned section_line;
	size_t cap;
	/* The reader's source: a FILE or a string. */
	FILE *f;
	const char *text;
};

/* "file:line: [section] key: what" into p->err, once; returns 0. */
int xd_cfg_fail(struct parser *p, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A proposal list into dst and n, its text into str; 1, or 0 failed. */
int xd_cfg_proposals(struct parser *p, const char *section, const char *key, const char *v,
		     uint8_t proto, struct ike_proposal **dst, size_t *n, char *str,
		     size_t strsize);
/* local-ts, remote-ts: a comma-separated list of CIDRs into ts, *n. 1, or 0 failed. */
int xd_cfg_ts_key(struct parser *p, const char *section, const char *k, const char *v,
		  struct xk_ts *ts, size_t *n);

/* config_child.c: a [child NAME] section, one of its keys (1, or 0 failed). */
struct xd_child *xd_cfg_child_section(struct parser *p, const char *name);
int xd_cfg_child_key(struct parser *p, struct xd_child *ch, const char *k, const char *v);
/*
 * Each [child] to the [conn] it names, completed from its keys (finish(),
 * once every conn is read); errors through xd_cfg_fail.
 */
void xd_cfg_attach_children(struct parser *p);
/* The same [child] sections, in the same order, after completion. */
bool xd_cfg_children_same(const struct xd_conn *a, const struct xd_conn *b);

#endif
