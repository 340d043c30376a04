/* SPDX-License-Identifier: ISC */
/*
 * xk-ocsp-fetch: the daemon's OCSP client (src/daemon/ocsp_fetch.c) from
 * the shell, for netns-tests/ocsp.sh.
 *
 *   xk-ocsp-fetch [-t SECONDS] [-n COUNT] [-r RESPONDER.pem] URI CERT ISSUER
 *
 * Asks COUNT times in a row (the cache answers after the first) about CERT
 * (PEM or DER), issued by ISSUER, at URI (http://HOST[:PORT]/PATH, HOST
 * an address or a name);
 * -r trusts a responder certificate locally.  One line per answer:
 *   good | revoked REASON | unknown   [cached]
 *   error ERRNO-NAME: WHY
 * then the counters.  Exit status of the last answer: 0 good, 1 revoked,
 * 2 unknown, 3 error; 4 bad usage.
 */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "daemon/ocsp_fetch.h"

struct run {
	struct xd_ocsp o;
	int last;
	bool done;
};

static void done(void *ctx, int err, const struct ike_ocsp_result *r, bool cached,
		 const char *why)
{
	struct run *run = ctx;

	run->done = true;
	if (err) {
		printf("error %s: %s\n", strerrorname_np(-err) ? strerrorname_np(-err) : "?",
		       why ? why : "");
		run->last = 3;
		return;
	}
	if (r->status == IKE_OCSP_REVOKED)
		printf("revoked %s%s\n", ike_ocsp_reason_name(r->reason), cached ? " cached" : "");
	else
		printf("%s%s\n", ike_ocsp_status_name(r->status), cached ? " cached" : "");
	run->last = r->status == IKE_OCSP_GOOD ? 0 : r->status == IKE_OCSP_REVOKED ? 1 : 2;
}

static struct ike_der load(const char *path)
{
	FILE *f = fopen(path, "re");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int n;

	if (f && !x) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	if (f)
		fclose(f);
	n = x ? i2d_X509(x, &der) : -1;
	X509_free(x);
	if (n <= 0) {
		fprintf(stderr, "xk-ocsp-fetch: %s: not a certificate\n", path);
		exit(4);
	}
	return (struct ike_der){ der, (size_t)n };
}

int main(int argc, char **argv)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct ike_der cert, issuer, trusted;
	struct xd_http_uri uri;
	struct run run = { .last = 3 };
	double timeout = XD_OCSP_TIMEOUT;
	const char *rpath = NULL;
	int count = 1, opt;

	while ((opt = getopt(argc, argv, "t:n:r:")) != -1) {
		if (opt == 't')
			timeout = atof(optarg);
		else if (opt == 'n')
			count = atoi(optarg);
		else if (opt == 'r')
			rpath = optarg;
		else
			return 4;
	}
	if (argc - optind != 3 || count < 1 || timeout <= 0) {
		fprintf(stderr, "usage: xk-ocsp-fetch [-t SECONDS] [-n COUNT] [-r RESPONDER] "
				"URI CERT ISSUER\n");
		return 4;
	}
	if (xd_http_uri_parse(argv[optind], &uri)) {
		fprintf(stderr, "xk-ocsp-fetch: %s: not http://HOST[:PORT]/PATH\n",
			argv[optind]);
		return 4;
	}
	cert = load(argv[optind + 1]);
	issuer = load(argv[optind + 2]);
	if (rpath)
		trusted = load(rpath);
	xd_ocsp_init(&run.o, loop);
	run.o.timeout = timeout;
	for (int i = 0; i < count; i++) {
		int err;

		run.done = false;
		err = xd_ocsp_query(&run.o, &cert, &issuer, rpath ? &trusted : NULL, rpath ? 1 : 0,
				    &uri, done, &run);
		if (err) {
			printf("error %s: query refused\n", strerrorname_np(-err));
			run.last = 3;
			break;
		}
		while (!run.done)
			ev_run(loop, EVRUN_ONCE);
	}
	printf("requests=%llu cache_hits=%llu good=%llu revoked=%llu unknown=%llu failed=%llu "
	       "timeouts=%llu\n",
	       (unsigned long long)run.o.stats.requests, (unsigned long long)run.o.stats.cache_hits,
	       (unsigned long long)run.o.stats.good, (unsigned long long)run.o.stats.revoked,
	       (unsigned long long)run.o.stats.unknown, (unsigned long long)run.o.stats.failed,
	       (unsigned long long)run.o.stats.timeouts);
	xd_ocsp_free(&run.o);
	OPENSSL_free((void *)cert.p);
	OPENSSL_free((void *)issuer.p);
	if (rpath)
		OPENSSL_free((void *)trusted.p);
	ev_loop_destroy(loop);
	return run.last;
}
