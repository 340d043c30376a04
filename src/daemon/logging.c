/* SPDX-License-Identifier: ISC */
/*
 * Where xiked's log lines go: the journal with structured fields when
 * systemd started it (its stderr is the journal's stream), else syslog
 * (--syslog), else stderr as text or as one JSON object per line
 * (log-format).  And each subsystem's level (log-level, log-level-NAME).
 *
 * Lines are "message key=value key=value ..."; the journal and JSON get
 * the whole line as the message and each key=value as a field of its own
 * (conn, spi, peer_id, ...), so `journalctl XIKE_CONN=site` finds one
 * connection's lines.
 */
#define _GNU_SOURCE
#include "daemon/logging.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <time.h>

#define MAX_FIELDS 16

static const int syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING, LOG_ERR };

/* One key=value of a line: the key and value as pointers into it. */
struct field {
	const char *k, *v;
	size_t klen, vlen;
};

static bool is_key(const char *s, size_t n)
{
	if (n == 0 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* The key=value words of a line, in order. */
static size_t fields_of(const char *line, struct field *f, size_t max)
{
	size_t n = 0;

	for (const char *w = line; *w && n < max;) {
		size_t len = strcspn(w, " ");
		const char *eq = memchr(w, '=', len);

		if (eq && is_key(w, (size_t)(eq - w)) && eq + 1 < w + len)
			f[n++] = (struct field){ w, eq + 1, (size_t)(eq - w), len - (size_t)(eq - w) - 1 };
		w += len;
		w += strspn(w, " ");
	}
	return n;
}

static void text_sink(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s: [%s] %s\n", xk_log_level_name(level), xk_log_sub_name(sub), line);
}

static void syslog_sink(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)ctx;
	syslog(syslog_prio[level], "[%s] %s", xk_log_sub_name(sub), line);
}

static void json_sink(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	struct json_object *o = json_object_new_object();
	struct field f[MAX_FIELDS];
	size_t n = fields_of(line, f, MAX_FIELDS);
	struct timespec ts;
	struct tm tm;
	char when[40];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "level", json_object_new_string(xk_log_level_name(level)));
	json_object_object_add(o, "subsystem", json_object_new_string(xk_log_sub_name(sub)));
	json_object_object_add(o, "message", json_object_new_string(line));
	for (size_t i = 0; i < n; i++) {
		char k[64];

		snprintf(k, sizeof(k), "%.*s", (int)f[i].klen, f[i].k);
		if (!json_object_object_get_ex(o, k, NULL))
			json_object_object_add(o, k, json_object_new_string_len(f[i].v, (int)f[i].vlen));
	}
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* XIKE_ + the key in capitals: journal field names are [A-Z0-9_]. */
static int journal_field(char *out, size_t cap, const struct field *f)
{
	size_t i;
	int n = snprintf(out, cap, "XIKE_");

	for (i = 0; i < f->klen && (size_t)n + 1 < cap; i++)
		out[n++] = (char)toupper((unsigned char)f->k[i]);
	return snprintf(out + n, cap - (size_t)n, "=%.*s", (int)f->vlen, f->v) + n;
}

static void journal_sink(enum xk_log_level level, enum xk_log_sub sub, const char *line,
			 void *ctx)
{
	char fixed[4][1100], extra[MAX_FIELDS][300];
	struct iovec iov[4 + MAX_FIELDS];
	struct field f[MAX_FIELDS];
	size_t n = fields_of(line, f, MAX_FIELDS), k = 0;

	(void)ctx;
	snprintf(fixed[0], sizeof(fixed[0]), "MESSAGE=%s", line);
	snprintf(fixed[1], sizeof(fixed[1]), "PRIORITY=%d", syslog_prio[level]);
	snprintf(fixed[2], sizeof(fixed[2]), "SYSLOG_IDENTIFIER=xiked");
	snprintf(fixed[3], sizeof(fixed[3]), "XIKE_SUBSYSTEM=%s", xk_log_sub_name(sub));
	for (; k < 4; k++)
		iov[k] = (struct iovec){ fixed[k], strlen(fixed[k]) };
	for (size_t i = 0; i < n; i++) {
		int len = journal_field(extra[i], sizeof(extra[i]), &f[i]);

		if (len > 0 && (size_t)len < sizeof(extra[i]))
			iov[k++] = (struct iovec){ extra[i], (size_t)len };
	}
	sd_journal_sendv(iov, (int)k);
}

/* Is stderr the journal's stream (JOURNAL_STREAM=device:inode)? */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void xd_logging_levels(const struct xd_config *cfg, bool debug)
{
	xk_log_set_level(debug ? XK_LOG_DEBUG : cfg->log_level);
	if (debug)
		return;
	for (int s = 0; s < XK_SUB_COUNT; s++)
		if (cfg->sub_level[s] >= 0)
			xk_log_set_sub_level((enum xk_log_sub)s, (enum xk_log_level)cfg->sub_level[s]);
}

void xd_logging_start(const struct xd_config *cfg, bool use_syslog)
{
	if (use_syslog) {
		openlog("xiked", LOG_PID, LOG_DAEMON);
		xk_log_set_sink(syslog_sink, NULL);
	} else if (stderr_is_journal()) {
		xk_log_set_sink(journal_sink, NULL);
	} else {
		xk_log_set_sink(cfg->log_json ? json_sink : text_sink, NULL);
	}
}
