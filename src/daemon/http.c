/* SPDX-License-Identifier: ISC */
/*
 * HTTP/1.0 for OCSP (http.h).  The answer is read through one bounded
 * reader (common/bytes.h), a line at a time; each rejection says which
 * lie it catches.
 */
#include "daemon/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/bytes.h"

static bool uri_char_ok(char c)
{
	/* No spaces or controls: they would end the request line early. */
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f;
}

static int copy_str(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		return -EINVAL;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int port_parse(const char *p, size_t n, struct xd_http_uri *u)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	snprintf(u->port, sizeof(u->port), "%u", v);
	return 0;
}

int xd_http_uri_parse(const char *uri, struct xd_http_uri *u)
{
	const char *h, *end, *path, *colon = NULL;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(uri, "http://", 7) != 0)
		return -EINVAL;
	for (const char *c = uri; *c; c++)
		if (!uri_char_ok(*c))
			return -EINVAL;
	h = uri + 7;
	path = strchr(h, '/');
	end = path ? path : h + strlen(h);
	if (memchr(h, '@', (size_t)(end - h)) || memchr(h, '?', (size_t)(end - h)))
		return -EINVAL; /* userinfo or a query where the host goes */
	if (*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (!close || close == h + 1)
			return -EINVAL;
		if (copy_str(u->host, sizeof(u->host), h + 1, (size_t)(close - h - 1)))
			return -EINVAL;
		u->ipv6 = true;
		if (close + 1 != end) {
			if (close[1] != ':')
				return -EINVAL;
			colon = close + 1;
		}
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if (copy_str(u->host, sizeof(u->host), h, (size_t)((colon ? colon : end) - h)))
			return -EINVAL;
	}
	if (!u->host[0])
		return -EINVAL;
	if (colon) {
		if (port_parse(colon + 1, (size_t)(end - colon - 1), u))
			return -EINVAL;
	} else
		strcpy(u->port, "80");
	if (copy_str(u->path, sizeof(u->path), path ? path : "/", path ? strlen(path) : 1))
		return -EINVAL;
	return 0;
}

int xd_http_post_head(const struct xd_http_uri *u, size_t body_len, char *out, size_t size)
{
	bool std_port = strcmp(u->port, "80") == 0;
	int n = snprintf(out, size,
			 "POST %s HTTP/1.0\r\n"
			 "Host: %s%s%s%s%s\r\n"
			 "Content-Type: application/ocsp-request\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n",
			 u->path, u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "",
			 std_port ? "" : ":", std_port ? "" : u->port, body_len);

	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

/* --- the answer ------------------------------------------------------------ */

/*
 * The next line (without CR LF or LF) into *line; false when no whole
 * line is there yet.
 */
static bool next_line(struct br *r, const char **line, size_t *n)
{
	const uint8_t *p, *lf;

	if (!br_left(r))
		return false;
	p = r->p + r->off;
	lf = memchr(p, '\n', br_left(r));
	if (!lf)
		return false;
	*n = (size_t)(lf - p);
	*line = (const char *)br_take(r, *n + 1);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	return true;
}

/* "HTTP/1.x SP 3DIGIT [SP reason]" (RFC 1945 section 6.1). */
static int status_line(const char *l, size_t n, struct xd_http_resp *resp)
{
	if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') ||
	    l[8] != ' ')
		return -EBADMSG;
	for (int i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return -EBADMSG;
	if (n > 12 && l[12] != ' ')
		return -EBADMSG; /* a fourth digit */
	resp->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (resp->status < 100)
		return -EBADMSG;
	return 0;
}

/* The value of a header without surrounding blanks. */
static void trim(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

static bool is_name(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

struct head {
	bool has_length;
	size_t length;
};

static int content_length(const char *v, size_t n, struct head *h, size_t body_max)
{
	size_t len = 0;

	/* Two lengths: which one frames the body is what smuggling exploits. */
	if (h->has_length || n == 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EBADMSG;
		if (len > body_max)
			return -EMSGSIZE; /* before it could overflow */
		len = len * 10 + (size_t)(v[i] - '0');
	}
	if (len > body_max)
		return -EMSGSIZE;
	h->has_length = true;
	h->length = len;
	return 0;
}

static int header(const char *l, size_t n, struct head *h, size_t body_max,
		  struct xd_http_resp *resp)
{
	const char *colon = memchr(l, ':', n), *v;
	size_t name_len, vn;

	/* No name, or a folded line (obsolete, and a way to hide a header). */
	if (!colon || colon == l || l[0] == ' ' || l[0] == '\t')
		return -EBADMSG;
	name_len = (size_t)(colon - l);
	for (size_t i = 0; i < name_len; i++)
		if (!uri_char_ok(l[i]))
			return -EBADMSG;
	v = colon + 1;
	vn = n - name_len - 1;
	trim(&v, &vn);
	if (is_name(l, name_len, "Content-Length"))
		return content_length(v, vn, h, body_max);
	/* We asked in HTTP/1.0: no coding may frame the body. */
	if (is_name(l, name_len, "Transfer-Encoding"))
		return -EBADMSG;
	if (is_name(l, name_len, "Content-Type")) {
		static const char want[] = "application/ocsp-response";
		size_t w = sizeof(want) - 1;

		resp->ocsp_type = vn >= w && strncasecmp(v, want, w) == 0 &&
				  (vn == w || v[w] == ';' || v[w] == ' ');
	}
	return 0;
}

int xd_http_parse(const uint8_t *buf, size_t len, bool eof, size_t body_max,
		  struct xd_http_resp *r)
{
	struct head h = { 0 };
	struct br rd;
	const char *l;
	size_t n, lines = 0;
	int err;

	memset(r, 0, sizeof(*r));
	br_init(&rd, buf, len < XD_HTTP_HEAD_MAX ? len : XD_HTTP_HEAD_MAX);
	if (!next_line(&rd, &l, &n))
		goto incomplete_head;
	err = status_line(l, n, r);
	if (err)
		return err;
	for (;;) {
		if (!next_line(&rd, &l, &n))
			goto incomplete_head;
		if (n == 0)
			break;
		if (++lines > XD_HTTP_HEADERS_MAX)
			return -EBADMSG;
		err = header(l, n, &h, body_max, r);
		if (err)
			return err;
	}
	r->body_off = rd.off;
	if (h.has_length) {
		if (len - r->body_off < h.length)
			return eof ? -EBADMSG : -EAGAIN;
		/* More than announced: not one answer to one request. */
		if (len - r->body_off > h.length)
			return -EBADMSG;
		r->body_len = h.length;
		return 0;
	}
	if (len - r->body_off > body_max)
		return -EMSGSIZE;
	if (!eof)
		return -EAGAIN;
	r->body_len = len - r->body_off;
	return 0;

incomplete_head:
	/* The head did not end within its bound, or the peer closed first. */
	if (len >= XD_HTTP_HEAD_MAX || eof)
		return -EBADMSG;
	return -EAGAIN;
}
