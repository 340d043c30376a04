/* SPDX-License-Identifier: ISC */
/*
 * The little HTTP/1.0 the OCSP fetcher speaks (RFC 6960 appendix A.1,
 * RFC 1945): responder URIs, the POST request header, and the parser of
 * the responder's answer.  No I/O; the parser sees responder input, so
 * tests/fuzz/fuzz_http.c runs it.
 */
#ifndef XD_HTTP_H
#define XD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XD_HTTP_HEAD_MAX 8192 /* status line and headers */
#define XD_HTTP_HEADERS_MAX 64
#define XD_HTTP_URI_MAX 256

/* http://host[:port][/path]; host a name, an IPv4 address or [IPv6]. */
struct xd_http_uri {
	char host[XD_HTTP_URI_MAX]; /* without the brackets of an IPv6 address */
	char port[6];               /* "80" when none is given */
	char path[XD_HTTP_URI_MAX]; /* "/" when none is given */
	bool ipv6;                  /* host was written in brackets */
};

/* 0, or -EINVAL (not http://, no host, bad port, too long, spaces or controls). */
int xd_http_uri_parse(const char *uri, struct xd_http_uri *u);

/*
 * The request's header for a POST of body_len octets of
 * application/ocsp-request, NUL-terminated into out.  Its length, or
 * -ENOSPC.
 */
int xd_http_post_head(const struct xd_http_uri *u, size_t body_len, char *out, size_t size);

struct xd_http_resp {
	int status;       /* the status code, 100..599 */
	size_t body_off;  /* where the body starts in the buffer */
	size_t body_len;  /* its length, once complete */
	bool ocsp_type;   /* Content-Type: application/ocsp-response */
};

/*
 * Parse what has arrived: buf[0..len), eof when the peer closed.
 *   0        complete: *r filled; a body is complete when Content-Length
 *            octets are there, or, without Content-Length, at eof
 *   -EAGAIN  not complete yet (only when !eof)
 *   -EBADMSG malformed status line or header, a header section over
 *            XD_HTTP_HEAD_MAX or XD_HTTP_HEADERS_MAX headers, a bad or
 *            repeated Content-Length, a chunked or other transfer coding,
 *            more octets than Content-Length, or eof too early
 *   -EMSGSIZE a body longer than body_max
 * The status and the content type are for the caller to judge.
 */
int xd_http_parse(const uint8_t *buf, size_t len, bool eof, size_t body_max,
		  struct xd_http_resp *r);

#endif
