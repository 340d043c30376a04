/* SPDX-License-Identifier: ISC */
/*
 * daemon/http.c: responder URIs, the POST head, and the answer parser
 * from a table of answers whole, cut short and hostile; then the OCSP
 * cache of ocsp_fetch.c (kept until nextUpdate, bounded, least recently
 * used out first).
 */
#include "check.h"
#include "certs.h"
#include "daemon/http.h"
#include "daemon/ocsp_fetch.h"

#include <errno.h>

static void test_uri(void)
{
	static const struct {
		const char *uri;
		int ret;
		const char *host, *port, *path;
		bool v6;
	} t[] = {
		{ "http://192.0.2.1/", 0, "192.0.2.1", "80", "/", false },
		{ "http://192.0.2.1:8080", 0, "192.0.2.1", "8080", "/", false },
		{ "HTTP://ocsp.example.com:80/a/b", 0, "ocsp.example.com", "80", "/a/b", false },
		{ "http://[2001:db8::1]:2560/ocsp", 0, "2001:db8::1", "2560", "/ocsp", true },
		{ "http://[2001:db8::1]/", 0, "2001:db8::1", "80", "/", true },
		{ "https://192.0.2.1/", -EINVAL, "", "", "", false },
		{ "http://", -EINVAL, "", "", "", false },
		{ "http:///x", -EINVAL, "", "", "", false },
		{ "http://h:0/", -EINVAL, "", "", "", false },
		{ "http://h:65536/", -EINVAL, "", "", "", false },
		{ "http://h:/", -EINVAL, "", "", "", false },
		{ "http://h:8x/", -EINVAL, "", "", "", false },
		{ "http://[2001:db8::1/", -EINVAL, "", "", "", false },
		{ "http://[]/", -EINVAL, "", "", "", false },
		{ "http://[::1]x/", -EINVAL, "", "", "", false },
		{ "http://user@h/", -EINVAL, "", "", "", false },
		{ "http://h/a b", -EINVAL, "", "", "", false },
		{ "http://h/a\r\nX: y", -EINVAL, "", "", "", false },
	};
	struct xd_http_uri u;
	char longer[XD_HTTP_URI_MAX + 16] = "http://h/";

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int ret = xd_http_uri_parse(t[i].uri, &u);

		CHECK_MSG(ret == t[i].ret, "%s: %d", t[i].uri, ret);
		if (ret || t[i].ret)
			continue;
		CHECK_MSG(strcmp(u.host, t[i].host) == 0, "%s: host %s", t[i].uri, u.host);
		CHECK_MSG(strcmp(u.port, t[i].port) == 0, "%s: port %s", t[i].uri, u.port);
		CHECK_MSG(strcmp(u.path, t[i].path) == 0, "%s: path %s", t[i].uri, u.path);
		CHECK(u.ipv6 == t[i].v6);
	}
	memset(longer + 9, 'a', XD_HTTP_URI_MAX);
	CHECK_INT(xd_http_uri_parse(longer, &u), -EINVAL);
}

static void test_head(void)
{
	struct xd_http_uri u;
	char out[512], tiny[16];

	CHECK_INT(xd_http_uri_parse("http://[2001:db8::1]:2560/ocsp", &u), 0);
	CHECK(xd_http_post_head(&u, 83, out, sizeof(out)) > 0);
	CHECK(strcmp(out, "POST /ocsp HTTP/1.0\r\nHost: [2001:db8::1]:2560\r\n"
			  "Content-Type: application/ocsp-request\r\nContent-Length: 83\r\n\r\n") == 0);
	CHECK_INT(xd_http_uri_parse("http://192.0.2.1/", &u), 0);
	CHECK(xd_http_post_head(&u, 1, out, sizeof(out)) > 0);
	CHECK(strstr(out, "Host: 192.0.2.1\r\n") != NULL);
	CHECK_INT(xd_http_post_head(&u, 1, tiny, sizeof(tiny)), -ENOSPC);
}

#define OK_HEAD "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"

static void test_parse(void)
{
	static const struct {
		const char *in;
		bool eof;
		int ret;
		int status;
		size_t body_len;
		bool ocsp;
	} t[] = {
		{ OK_HEAD "Content-Length: 3\r\n\r\nabc", false, 0, 200, 3, true },
		{ OK_HEAD "Content-Length: 3\r\n\r\nab", false, -EAGAIN, 0, 0, false },
		{ OK_HEAD "Content-Length: 3\r\n\r\nab", true, -EBADMSG, 0, 0, false },
		{ OK_HEAD "Content-Length: 3\r\n\r\nabcd", false, -EBADMSG, 0, 0, false },
		{ OK_HEAD "\r\nabcdef", false, -EAGAIN, 0, 0, false },
		{ OK_HEAD "\r\nabcdef", true, 0, 200, 6, true },
		{ "HTTP/1.1 200 OK\nContent-Type: Application/OCSP-Response; x=y\nContent-Length: 0\n\n",
		  false, 0, 200, 0, true },
		{ "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", true, 0, 200, 6, false },
		{ "HTTP/1.0 503 Busy\r\n\r\n", true, 0, 503, 0, false },
		{ "HTTP/1.0 200\r\n\r\n", true, 0, 200, 0, false },
		{ "HTTP/1.0 200 OK\r\n", false, -EAGAIN, 0, 0, false },
		{ "HTTP/1.0 200 OK\r\n", true, -EBADMSG, 0, 0, false },
		{ "HTTP/1.0 2000 OK\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ "HTTP/2.0 200 OK\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ "HTTP/1.0 20x OK\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ "HTTP/1.0 099 OK\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ "ICY 200 OK\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ "", true, -EBADMSG, 0, 0, false },
		{ "", false, -EAGAIN, 0, 0, false },
		{ OK_HEAD "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false, -EBADMSG, 0, 0, false },
		{ OK_HEAD "Content-Length: -1\r\n\r\n", false, -EBADMSG, 0, 0, false },
		{ OK_HEAD "Content-Length: \r\n\r\n", false, -EBADMSG, 0, 0, false },
		{ OK_HEAD "Content-Length: 65537\r\n\r\n", false, -EMSGSIZE, 0, 0, false },
		{ OK_HEAD "Content-Length: 99999999999999999999999999\r\n\r\n", false, -EMSGSIZE, 0, 0, false },
		{ OK_HEAD "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false, -EBADMSG, 0, 0, false },
		{ OK_HEAD " folded: line\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ OK_HEAD "no colon\r\n\r\n", true, -EBADMSG, 0, 0, false },
		{ OK_HEAD ": empty name\r\n\r\n", true, -EBADMSG, 0, 0, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct xd_http_resp r;
		int ret = xd_http_parse((const uint8_t *)t[i].in, strlen(t[i].in), t[i].eof,
					IKE_OCSP_RESP_MAX, &r);

		CHECK_MSG(ret == t[i].ret, "row %zu: %d", i, ret);
		if (ret || t[i].ret)
			continue;
		CHECK_MSG(r.status == t[i].status, "row %zu: status %d", i, r.status);
		CHECK_MSG(r.body_len == t[i].body_len, "row %zu: body %zu", i, r.body_len);
		CHECK_MSG(r.ocsp_type == t[i].ocsp, "row %zu: type", i);
		CHECK(r.body_off + r.body_len == strlen(t[i].in));
	}
}

static void test_parse_bounds(void)
{
	size_t cap = XD_HTTP_HEAD_MAX + IKE_OCSP_RESP_MAX + 64;
	uint8_t *buf = malloc(cap);
	struct xd_http_resp r;
	size_t n;

	/* A head that never ends: refused at XD_HTTP_HEAD_MAX, not later. */
	n = (size_t)sprintf((char *)buf, "HTTP/1.0 200 OK\r\n");
	while (n < XD_HTTP_HEAD_MAX + 10)
		n += (size_t)sprintf((char *)buf + n, "X-A: b\r\n");
	CHECK_INT(xd_http_parse(buf, n, false, IKE_OCSP_RESP_MAX, &r), -EBADMSG);
	/* A header line without end that fills the bound. */
	n = (size_t)sprintf((char *)buf, "HTTP/1.0 200 OK\r\nX: ");
	memset(buf + n, 'a', XD_HTTP_HEAD_MAX);
	CHECK_INT(xd_http_parse(buf, n + XD_HTTP_HEAD_MAX, false, IKE_OCSP_RESP_MAX, &r),
		  -EBADMSG);
	CHECK_INT(xd_http_parse(buf, XD_HTTP_HEAD_MAX - 1, false, IKE_OCSP_RESP_MAX, &r),
		  -EAGAIN);
	/* Too many headers. */
	n = (size_t)sprintf((char *)buf, "HTTP/1.0 200 OK\r\n");
	for (int i = 0; i <= XD_HTTP_HEADERS_MAX; i++)
		n += (size_t)sprintf((char *)buf + n, "X: %d\r\n", i);
	n += (size_t)sprintf((char *)buf + n, "\r\n");
	CHECK_INT(xd_http_parse(buf, n, true, IKE_OCSP_RESP_MAX, &r), -EBADMSG);
	/* A body without length that grows past the bound. */
	n = (size_t)sprintf((char *)buf, OK_HEAD "\r\n");
	memset(buf + n, 0, IKE_OCSP_RESP_MAX + 1);
	CHECK_INT(xd_http_parse(buf, n + IKE_OCSP_RESP_MAX, true, IKE_OCSP_RESP_MAX, &r), 0);
	CHECK_INT(r.body_len, IKE_OCSP_RESP_MAX);
	CHECK_INT(xd_http_parse(buf, n + IKE_OCSP_RESP_MAX + 1, false, IKE_OCSP_RESP_MAX, &r),
		  -EMSGSIZE);
	free(buf);
}

static void test_cache(void)
{
	struct xd_ocsp o;
	uint8_t certs[XD_OCSP_CACHE_MAX + 1][4], issuer_b[4] = "ISS";
	struct ike_der issuer = { issuer_b, 4 }, c0 = { certs[0], 4 };
	struct ike_ocsp_result r = { .status = IKE_OCSP_GOOD, .next_update = 1000 };
	const struct xd_ocsp_entry *e;
	const uint8_t der[] = { 0x30, 0x03, 0x0a, 0x01, 0x00 };

	xd_ocsp_init(&o, NULL);
	for (int i = 0; i <= XD_OCSP_CACHE_MAX; i++)
		memcpy(certs[i], (uint8_t[4]){ 'C', (uint8_t)i, 0, 0 }, 4);
	/* Kept until nextUpdate, not at it; an answer stale already is not kept. */
	xd_ocsp_cache_put(&o, &c0, &issuer, der, sizeof(der), &r, NULL, 100);
	e = xd_ocsp_cached(&o, &c0, &issuer, 999);
	CHECK(e != NULL && e->len == sizeof(der) && memcmp(e->der, der, sizeof(der)) == 0);
	CHECK(xd_ocsp_cached(&o, &c0, &(struct ike_der){ (const uint8_t *)"ISX", 4 }, 999) == NULL);
	CHECK(xd_ocsp_cached(&o, &c0, &issuer, 1000) == NULL);
	CHECK_INT(o.n_cache, 0);
	xd_ocsp_cache_put(&o, &c0, &issuer, der, sizeof(der), &r, NULL, 1000);
	CHECK_INT(o.n_cache, 0);
	/* Bounded: filling it, then one more, drops the least recently used (1). */
	for (int i = 0; i < XD_OCSP_CACHE_MAX; i++)
		xd_ocsp_cache_put(&o, &(struct ike_der){ certs[i], 4 }, &issuer, der, sizeof(der),
				  &r, NULL, 10 + i);
	CHECK(xd_ocsp_cached(&o, &c0, &issuer, 50) != NULL);
	xd_ocsp_cache_put(&o, &(struct ike_der){ certs[XD_OCSP_CACHE_MAX], 4 }, &issuer, der,
			  sizeof(der), &r, NULL, 60);
	CHECK_INT(o.n_cache, XD_OCSP_CACHE_MAX);
	CHECK(xd_ocsp_cached(&o, &c0, &issuer, 61) != NULL);
	CHECK(xd_ocsp_cached(&o, &(struct ike_der){ certs[1], 4 }, &issuer, 61) == NULL);
	CHECK(xd_ocsp_cached(&o, &(struct ike_der){ certs[2], 4 }, &issuer, 61) != NULL);
	/* The same certificate again replaces its entry. */
	r.status = IKE_OCSP_REVOKED;
	xd_ocsp_cache_put(&o, &c0, &issuer, der, sizeof(der), &r, NULL, 62);
	CHECK_INT(o.n_cache, XD_OCSP_CACHE_MAX);
	e = xd_ocsp_cached(&o, &c0, &issuer, 63);
	CHECK(e != NULL && e->result.status == IKE_OCSP_REVOKED);
	xd_ocsp_free(&o);
	CHECK_INT(o.n_cache, 0);
}

int main(void)
{
	test_uri();
	test_head();
	test_parse();
	test_parse_bounds();
	test_cache();
	return check_done("http");
}
