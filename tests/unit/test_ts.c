/* SPDX-License-Identifier: ISC */
/* Traffic selectors: parsing CIDRs, intersection (RFC 7296 2.9 narrowing). */
#include "common/sa.h"
#include "check.h"

static void test_parse(void)
{
	struct xk_ts ts;
	char buf[XK_TS_STRLEN];

	CHECK_INT(xk_ts_parse("10.0.0.0/24", &ts), 0);
	CHECK_INT(ts.family, XK_AF_INET);
	CHECK(ts.lo[3] == 0 && ts.hi[3] == 255 && ts.hi[2] == 0);
	CHECK(strcmp(xk_ts_str(&ts, buf, sizeof(buf)), "10.0.0.0/24") == 0);
	CHECK_INT(xk_ts_prefix_len(&ts), 24);

	CHECK_INT(xk_ts_parse("10.1.2.3", &ts), 0);
	CHECK_INT(xk_ts_prefix_len(&ts), 32);
	CHECK_INT(xk_ts_parse("2001:db8::/64", &ts), 0);
	CHECK_INT(ts.family, XK_AF_INET6);
	CHECK_INT(xk_ts_prefix_len(&ts), 64);
	CHECK(strcmp(xk_ts_str(&ts, buf, sizeof(buf)), "2001:db8::/64") == 0);
	CHECK_INT(xk_ts_parse("0.0.0.0/0", &ts), 0);
	CHECK_INT(xk_ts_prefix_len(&ts), 0);

	/* Each rejection names a lie in the input. */
	CHECK(xk_ts_parse("10.0.0.1/24", &ts) < 0);  /* host bits set */
	CHECK(xk_ts_parse("10.0.0.0/33", &ts) < 0);  /* prefix too long */
	CHECK(xk_ts_parse("10.0.0.0/", &ts) < 0);    /* no prefix */
	CHECK(xk_ts_parse("10.0.0.0/2x", &ts) < 0);  /* junk after prefix */
	CHECK(xk_ts_parse("/24", &ts) < 0);          /* no address */
	CHECK(xk_ts_parse("example.org", &ts) < 0);  /* not an address */
}

static void test_intersect(void)
{
	struct xk_ts a, b, r;
	char buf[XK_TS_STRLEN];

	xk_ts_parse("10.0.0.0/16", &a);
	xk_ts_parse("10.0.1.0/24", &b);
	CHECK(xk_ts_intersect(&a, &b, &r));
	CHECK(strcmp(xk_ts_str(&r, buf, sizeof(buf)), "10.0.1.0/24") == 0);
	CHECK(xk_ts_contains(&a, &b));
	CHECK(!xk_ts_contains(&b, &a));

	xk_ts_parse("10.1.0.0/16", &b);
	CHECK(!xk_ts_intersect(&a, &b, &r));

	xk_ts_parse("2001:db8::/32", &b);
	CHECK(!xk_ts_intersect(&a, &b, &r)); /* families differ */

	xk_ts_parse("0.0.0.0/0", &a);
	xk_ts_parse("192.0.2.7", &b);
	b.proto = 17;
	b.port_lo = b.port_hi = 53;
	CHECK(xk_ts_intersect(&a, &b, &r));
	CHECK_INT(r.proto, 17);
	CHECK_INT(r.port_lo, 53);
	CHECK_INT(r.port_hi, 53);
	a.proto = 6;
	CHECK(!xk_ts_intersect(&a, &b, &r)); /* TCP vs UDP */
}

int main(void)
{
	test_parse();
	test_intersect();
	return check_done("ts");
}
