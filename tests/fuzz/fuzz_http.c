/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: what an OCSP responder's HTTP server sends back
 * (daemon/http.c).  Byte 0: bit 0 says the connection ended; the rest is
 * parsed as the answer so far, with a body bound from bits 1-2 (small
 * bounds reach the size checks).  The same bytes, cut at the first NUL,
 * go to the URI parser as a configured ocsp-uri would, and a URI that
 * parses must give a request head.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bounds[4] = { 65536, 0, 16, 1024 };
	struct xd_http_resp r;
	struct xd_http_uri u;
	char uri[XD_HTTP_URI_MAX * 2 + 1], head[XD_HTTP_URI_MAX * 2 + 256];
	size_t bound, n;
	int ret;

	if (size < 1)
		return 0;
	bound = bounds[(data[0] >> 1) & 3];
	ret = xd_http_parse(data + 1, size - 1, data[0] & 1, bound, &r);
	if (ret == 0 && (r.body_off > size - 1 || r.body_len > size - 1 - r.body_off ||
			 r.body_len > bound || r.status < 100 || r.status > 999))
		abort();
	n = size - 1 < sizeof(uri) - 1 ? size - 1 : sizeof(uri) - 1;
	memcpy(uri, data + 1, n);
	uri[n] = '\0';
	if (xd_http_uri_parse(uri, &u) == 0 && xd_http_post_head(&u, 100, head, sizeof(head)) < 0)
		abort();
	return 0;
}
