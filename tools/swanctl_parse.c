/* SPDX-License-Identifier: ISC */
/*
 * strongSwan's settings syntax into a tree (swanctl_parse.h says what is
 * taken).  One cursor over the bytes of a file; every read is bounded by
 * its length, and every rejection names the file and line.
 */
#define _GNU_SOURCE
#include "swanctl_parse.h"

#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SW_MAX_CHILDREN 10000

struct cursor {
	struct sw_tree *t;
	const char *buf;
	size_t len, pos;
	const char *file;
	int line;
	bool allow_include;
	int incdepth;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct cursor *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || !c->errlen)
		return -1;
	n = snprintf(c->err, c->errlen, "%s:%d: ", c->file, c->line);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->buf[c->pos] : -1;
}

static int next(struct cursor *c)
{
	int ch = peek(c);

	if (ch < 0)
		return -1;
	c->pos++;
	if (ch == '\n')
		c->line++;
	return ch;
}

static bool is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static void skip_comment(struct cursor *c)
{
	while (peek(c) >= 0 && peek(c) != '\n')
		next(c);
}

/* Blanks, and with NL line breaks and comments too. */
static void skip_space(struct cursor *c, bool nl)
{
	for (;;) {
		int ch = peek(c);

		if (is_blank(ch) || (nl && ch == '\n'))
			next(c);
		else if (nl && ch == '#')
			skip_comment(c);
		else
			return;
	}
}

/* A name: anything but blanks, line breaks and the syntax's own marks. */
static bool is_name_char(int ch)
{
	return ch > ' ' && ch != '{' && ch != '}' && ch != '=' && ch != '#' && ch != '"' &&
	       ch != ':' && ch != 0x7f;
}

static struct sw_node *new_node(struct cursor *c, struct sw_node *parent, char *name, char *value)
{
	struct sw_node *n, **tail;
	size_t kids = 0;

	/* A file of a million tiny keys would make the tree the memory hog. */
	if (c->t->nodes >= SW_MAX_NODES) {
		fail(c, "more than %d keys and sections", SW_MAX_NODES);
		return NULL;
	}
	for (tail = &parent->child; *tail; tail = &(*tail)->next)
		kids++;
	if (kids >= SW_MAX_CHILDREN) {
		fail(c, "more than %d entries in one section", SW_MAX_CHILDREN);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		fail(c, "out of memory");
		return NULL;
	}
	n->name = name;
	n->value = value;
	n->file = c->file;
	n->line = c->line;
	*tail = n;
	c->t->nodes++;
	return n;
}

static struct sw_node *find(const struct sw_node *s, const char *name)
{
	struct sw_node *n;

	for (n = s->child; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

static char *read_name(struct cursor *c)
{
	size_t start = c->pos;

	while (is_name_char(peek(c)))
		next(c);
	if (c->pos == start)
		return NULL;
	return strndup(c->buf + start, c->pos - start);
}

/* A quoted string, the opening quote consumed. */
static char *read_quoted(struct cursor *c)
{
	char *out = malloc(SW_MAX_VALUE + 1);
	size_t n = 0;
	int start = c->line;

	if (!out) {
		fail(c, "out of memory");
		return NULL;
	}
	for (;;) {
		int ch = next(c);

		if (ch < 0) {
			c->line = start;
			fail(c, "string not closed");
			goto bad;
		}
		if (ch == '"')
			break;
		if (ch == '\\') {
			ch = next(c);
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '"': case '\\': break;
			case '\n': continue;	/* a continued line */
			case -1: continue;	/* reported above next time round */
			default:
				/* strongSwan keeps unknown escapes as written. */
				if (n + 2 > SW_MAX_VALUE)
					goto long_value;
				out[n++] = '\\';
				break;
			}
		}
		if (n + 1 > SW_MAX_VALUE)
			goto long_value;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	if (memchr(out, '\0', n)) {
		fail(c, "NUL byte in a string");
		goto bad;
	}
	return out;
long_value:
	fail(c, "value longer than %d bytes", SW_MAX_VALUE);
bad:
	free(out);
	return NULL;
}

/* The value after `=`: quoted, or the rest of the line up to # or }. */
static char *read_value(struct cursor *c)
{
	size_t start, end;

	skip_space(c, false);
	if (peek(c) == '"') {
		char *v;

		next(c);
		v = read_quoted(c);
		if (!v)
			return NULL;
		skip_space(c, false);
		if (peek(c) >= 0 && peek(c) != '\n' && peek(c) != '#' && peek(c) != '}') {
			free(v);
			fail(c, "text after a quoted value");
			return NULL;
		}
		return v;
	}
	start = c->pos;
	while (peek(c) >= 0 && peek(c) != '\n' && peek(c) != '#' && peek(c) != '}') {
		if (peek(c) == '\0') {
			fail(c, "NUL byte in a value");
			return NULL;
		}
		next(c);
	}
	end = c->pos;
	while (end > start && is_blank((unsigned char)c->buf[end - 1]))
		end--;
	if (end - start > SW_MAX_VALUE) {
		fail(c, "value longer than %d bytes", SW_MAX_VALUE);
		return NULL;
	}
	return strndup(c->buf + start, end - start);
}

static int parse_body(struct cursor *c, struct sw_node *sec, int depth, bool closing);

static int parse_text(struct sw_tree *t, const char *buf, size_t len, const char *file,
		      bool allow_include, int incdepth, struct sw_node *sec, int depth,
		      char *err, size_t errlen)
{
	struct cursor c = {
		.t = t, .buf = buf, .len = len, .file = file, .line = 1,
		.allow_include = allow_include, .incdepth = incdepth,
		.err = err, .errlen = errlen,
	};

	return parse_body(&c, sec, depth, false);
}

static const char *keep_name(struct sw_tree *t, const char *name)
{
	char **f = realloc(t->files, (t->nfiles + 1) * sizeof(*f));

	if (!f)
		return NULL;
	t->files = f;
	f[t->nfiles] = strdup(name);
	if (!f[t->nfiles])
		return NULL;
	return f[t->nfiles++];
}

static int read_whole(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(cap);
	while (buf) {
		size_t got;

		if (n == cap) {
			char *nb;

			/* Bound before growing: a runaway file or pipe stops here. */
			if (cap >= SW_MAX_FILE) {
				snprintf(err, errlen, "%s: longer than %u bytes", path, SW_MAX_FILE);
				goto bad;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto bad;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if (f != stdin)
		fclose(f);
	*out = buf;
	*outlen = n;
	return 0;
bad:
	free(buf);
	if (f != stdin)
		fclose(f);
	return -1;
}

static int include(struct cursor *c, struct sw_node *sec, int depth, const char *pattern)
{
	char *dir, *full, *copy;
	glob_t g;
	int rc = 0;

	if (!c->allow_include)
		return fail(c, "include is not taken here");
	if (c->incdepth >= SW_MAX_INCLUDE)
		return fail(c, "includes nested deeper than %d", SW_MAX_INCLUDE);
	copy = strdup(c->file);
	if (!copy)
		return fail(c, "out of memory");
	dir = dirname(copy);
	if (pattern[0] == '/' || !strcmp(c->file, "-"))
		full = strdup(pattern);
	else if (asprintf(&full, "%s/%s", dir, pattern) < 0)
		full = NULL;
	free(copy);
	if (!full)
		return fail(c, "out of memory");
	rc = glob(full, 0, NULL, &g);
	free(full);
	if (rc == GLOB_NOMATCH)
		return 0;	/* as strongSwan: a pattern matching nothing is fine */
	if (rc)
		return fail(c, "include %s: cannot expand", pattern);
	for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
		char *buf;
		size_t len;
		const char *name = keep_name(c->t, g.gl_pathv[i]);
		char sub[512];

		if (!name) {
			rc = fail(c, "out of memory");
			break;
		}
		if (read_whole(name, &buf, &len, sub, sizeof(sub))) {
			rc = fail(c, "include: %s", sub);
			break;
		}
		rc = parse_text(c->t, buf, len, name, true, c->incdepth + 1, sec, depth,
				c->err, c->errlen);
		free(buf);
	}
	globfree(&g);
	return rc;
}

static int parse_body(struct cursor *c, struct sw_node *sec, int depth, bool closing)
{
	for (;;) {
		struct sw_node *n;
		char *name, *value;
		int line;

		skip_space(c, true);
		if (peek(c) < 0) {
			if (closing)
				return fail(c, "section '%s' not closed", sec->name);
			return 0;
		}
		if (peek(c) == '}') {
			if (!closing)
				return fail(c, "'}' without a section");
			next(c);
			return 0;
		}
		line = c->line;
		name = read_name(c);
		if (!name)
			return fail(c, "expected a key or a section, found '%c'", peek(c));
		if (!strcmp(name, "include")) {
			skip_space(c, false);
			if (peek(c) != '=' && peek(c) != '{' && peek(c) != ':') {
				value = read_value(c);
				free(name);
				if (!value)
					return -1;
				if (!*value) {
					free(value);
					return fail(c, "include without a pattern");
				}
				int rc = include(c, sec, depth, value);

				free(value);
				if (rc)
					return rc;
				continue;
			}
		}
		skip_space(c, true);
		switch (peek(c)) {
		case '=':
			next(c);
			value = read_value(c);
			if (!value)
				goto bad;
			n = find(sec, name);
			if (n && !n->value) {
				fail(c, "'%s' is a section and a key", name);
				free(value);
				goto bad;
			}
			if (n) {
				/* Given twice: the last value counts. */
				free(n->value);
				free(name);
				n->value = value;
				n->line = line;
				n->file = c->file;
				continue;
			}
			n = new_node(c, sec, name, value);
			if (!n) {
				free(value);
				goto bad;
			}
			n->line = line;
			continue;
		case '{':
			next(c);
			if (depth + 1 > SW_MAX_DEPTH) {
				fail(c, "sections nested deeper than %d", SW_MAX_DEPTH);
				goto bad;
			}
			n = find(sec, name);
			if (n && n->value) {
				fail(c, "'%s' is a key and a section", name);
				goto bad;
			}
			if (n) {
				free(name);	/* the same section again: merged */
			} else {
				n = new_node(c, sec, name, NULL);
				if (!n)
					goto bad;
				n->line = line;
			}
			if (parse_body(c, n, depth + 1, true))
				return -1;
			continue;
		case ':':
			fail(c, "'%s': section references (name : other) are not taken", name);
			goto bad;
		default:
			fail(c, "'%s': expected '=' or '{'", name);
			goto bad;
		}
bad:
		free(name);
		return -1;
	}
}

int sw_parse_buf(struct sw_tree *t, const char *buf, size_t len, const char *name,
		 bool allow_include, char *err, size_t errlen)
{
	const char *kept;

	memset(t, 0, sizeof(*t));
	if (err && errlen)
		err[0] = '\0';
	t->root = calloc(1, sizeof(*t->root));
	kept = keep_name(t, name);
	if (!t->root || !kept || !(t->root->name = strdup(""))) {
		snprintf(err, errlen, "%s: out of memory", name);
		sw_tree_free(t);
		return -1;
	}
	if (len > SW_MAX_FILE) {
		snprintf(err, errlen, "%s: longer than %u bytes", name, SW_MAX_FILE);
		sw_tree_free(t);
		return -1;
	}
	if (parse_text(t, buf, len, kept, allow_include, 0, t->root, 0, err, errlen)) {
		sw_tree_free(t);
		return -1;
	}
	return 0;
}

int sw_parse_file(struct sw_tree *t, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	memset(t, 0, sizeof(*t));
	if (read_whole(path, &buf, &len, err, errlen))
		return -1;
	rc = sw_parse_buf(t, buf, len, path, true, err, errlen);
	free(buf);
	return rc;
}

static void free_nodes(struct sw_node *n)
{
	while (n) {
		struct sw_node *nx = n->next;

		free_nodes(n->child);
		free(n->name);
		if (n->value) {
			/* Secrets pass through here: wipe before freeing. */
			explicit_bzero(n->value, strlen(n->value));
			free(n->value);
		}
		free(n);
		n = nx;
	}
}

void sw_tree_free(struct sw_tree *t)
{
	free_nodes(t->root);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	memset(t, 0, sizeof(*t));
}

const struct sw_node *sw_get(const struct sw_node *s, const char *name)
{
	return s ? find(s, name) : NULL;
}

const char *sw_value(const struct sw_node *s, const char *name)
{
	const struct sw_node *n = sw_get(s, name);

	return n ? n->value : NULL;
}
