/* SPDX-License-Identifier: ISC */
/*
 * xikectl import: the settings parser (tools/swanctl_parse.c) on the
 * syntax strongSwan's swanctl.conf files use, its refusals with their line,
 * and the converter (tools/swanctl_import.c) on connections of real
 * shapes: what it writes, what it lists as not converted, its result.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "swanctl_import.h"
#include "swanctl_parse.h"

#define CHECK_STR(a, b)                                                          \
	do {                                                                     \
		const char *a_ = (a), *b_ = (b);                                 \
		CHECK_MSG(a_ && !strcmp(a_, b_), "'%s' != '%s'", a_ ? a_ : "(null)", b_); \
	} while (0)

static int parse(struct sw_tree *t, const char *text, char *err, size_t errlen)
{
	return sw_parse_buf(t, text, strlen(text), "test.conf", false, err, errlen);
}

static void test_syntax(void)
{
	struct sw_tree t;
	char err[256];
	const struct sw_node *c;

	CHECK_INT(parse(&t,
		"# comment\n"
		"connections {\n"
		"  a { local_addrs = 192.0.2.1   # trailing comment\n"
		"      proposals = aes128-sha256-x25519, aes256gcm16-prfsha384-ecp384 }\n"
		"  a\n  {\n    version = 2\n  }\n"	/* merged, brace on its own line */
		"}\n"
		"secrets { ike-1 { secret = \"with \\\"quotes\\\" and # hash\\tend\" } }\n"
		"secrets { ike-2 { secret = \"line\\\none\" } }\n",
		err, sizeof(err)), 0);
	c = sw_get(sw_get(t.root, "connections"), "a");
	CHECK(c != NULL);
	CHECK_STR(sw_value(c, "local_addrs"), "192.0.2.1");
	CHECK_STR(sw_value(c, "proposals"), "aes128-sha256-x25519, aes256gcm16-prfsha384-ecp384");
	CHECK_STR(sw_value(c, "version"), "2");
	CHECK_STR(sw_value(sw_get(sw_get(t.root, "secrets"), "ike-1"), "secret"),
		  "with \"quotes\" and # hash\tend");
	CHECK_STR(sw_value(sw_get(sw_get(t.root, "secrets"), "ike-2"), "secret"), "lineone");
	CHECK(sw_get(sw_get(t.root, "secrets"), "ike-1") != NULL);	/* both sections merged */
	CHECK_INT(sw_get(c, "local_addrs")->line, 3);
	sw_tree_free(&t);

	/* A key given twice: the last value. */
	CHECK_INT(parse(&t, "a = 1\na = 2\n", err, sizeof(err)), 0);
	CHECK_STR(sw_value(t.root, "a"), "2");
	sw_tree_free(&t);
	/* Empty input is an empty tree. */
	CHECK_INT(parse(&t, "", err, sizeof(err)), 0);
	CHECK(t.root->child == NULL);
	sw_tree_free(&t);
}

static void test_refusals(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "a {\n b = 1\n", "test.conf:3: section 'a' not closed" },
		{ "a = 1\n}\n", "test.conf:2: '}' without a section" },
		{ "a = \"open\n\n", "test.conf:1: string not closed" },
		{ "a : b { }\n", "test.conf:1: 'a': section references" },
		{ "a b = 1\n", "test.conf:1: 'a': expected '=' or '{'" },
		{ "a = 1\na { }\n", "test.conf:2: 'a' is a key and a section" },
		{ "include x.conf\n", "test.conf:1: include is not taken here" },
		{ "a = \"x\" y\n", "test.conf:1: text after a quoted value" },
		{ "= 1\n", "test.conf:1: expected a key or a section" },
	};
	char deep[200] = "", err[256];
	struct sw_tree t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(parse(&t, bad[i].text, err, sizeof(err)), -1);
		CHECK_MSG(!strncmp(err, bad[i].err, strlen(bad[i].err)), "%s: got '%s'",
			  bad[i].text, err);
	}
	for (int i = 0; i <= SW_MAX_DEPTH; i++)
		strcat(deep, "a {");
	CHECK_INT(parse(&t, deep, err, sizeof(err)), -1);
	CHECK(strstr(err, "nested deeper") != NULL);
}

static void test_include(void)
{
	char dir[] = "/tmp/xk-swanctl-XXXXXX", path[256], err[256];
	struct sw_tree t;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/conf.d", dir);
	CHECK_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/conf.d/a.conf", dir);
	f = fopen(path, "w");
	fputs("b { x = 1 }\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/conf.d/b.conf", dir);
	f = fopen(path, "w");
	fputs("b { y = 2 }\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/swanctl.conf", dir);
	f = fopen(path, "w");
	fputs("connections {\n include conf.d/*.conf\n}\ninclude nothing-*.conf\n", f);
	fclose(f);
	CHECK_INT(sw_parse_file(&t, path, err, sizeof(err)), 0);
	CHECK_STR(sw_value(sw_get(sw_get(t.root, "connections"), "b"), "x"), "1");
	CHECK_STR(sw_value(sw_get(sw_get(t.root, "connections"), "b"), "y"), "2");
	sw_tree_free(&t);
	/* A file that includes itself stops at the include depth. */
	f = fopen(path, "w");
	fputs("include swanctl.conf\n", f);
	fclose(f);
	CHECK_INT(sw_parse_file(&t, path, err, sizeof(err)), -1);
	CHECK(strstr(err, "includes nested deeper") != NULL);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK_INT(system(path), 0);
}

/* Convert TEXT; the output and the notes in *OUT and *NOTES. */
static int convert(const char *text, char **out, char **notes)
{
	struct sw_tree t;
	char err[256];
	size_t ol = 0, nl = 0;
	FILE *of, *nf;
	int rc;

	if (parse(&t, text, err, sizeof(err))) {
		fprintf(stderr, "parse: %s\n", err);
		return -100;
	}
	of = open_memstream(out, &ol);
	nf = open_memstream(notes, &nl);
	struct sw_import_opts o = { .notes = nf };

	rc = sw_import(&t, of, &o);
	fclose(of);
	fclose(nf);
	sw_tree_free(&t);
	return rc;
}

/* The interop suite's shape (netns-tests/interop/run.sh charon_conf). */
static const char interop[] =
	"connections {\n"
	"\tt {\n"
	"\t\tversion = 2\n"
	"\t\tlocal_addrs = 10.0.0.2\n"
	"\t\tremote_addrs = 10.0.0.1\n"
	"\t\tproposals = aes128gcm16-prfsha256-x25519\n"
	"\t\tlocal {\n\t\t\tauth = psk\n\t\t}\n"
	"\t\tremote {\n\t\t\tauth = psk\n\t\t}\n"
	"\t\tchildren {\n\t\t\tt {\n"
	"\t\t\t\tmode = transport\n"
	"\t\t\t\tesp_proposals = aes256-sha512\n"
	"\t\t\t\tlocal_ts = 10.2.0.1/32,10.2.1.1/32\n"
	"\t\t\t\trekey_time = 20s\n"
	"\t\t\t}\n\t\t}\n\t}\n}\n"
	"secrets {\n\tike-t {\n\t\tsecret = \"interop secret\"\n\t}\n}\n";

static void test_convert_complete(void)
{
	char *out, *notes;

	CHECK_INT(convert(interop, &out, &notes), SW_IMPORT_COMPLETE);
	CHECK(strstr(out, "[conn t]\nlocal = 10.0.0.2\nremote = 10.0.0.1\n"
			  "psk = interop secret\nike = aes128gcm16-prfsha256-x25519\n") != NULL);
	CHECK(strstr(out, "mode = transport\n") != NULL);
	CHECK(strstr(out, "esp = aes256-sha512\n") != NULL);
	CHECK(strstr(out, "local-ts = 10.2.0.1/32, 10.2.1.1/32\n") != NULL);
	CHECK(strstr(out, "rekey-time = 20s\n") != NULL);
	CHECK_STR(notes, "");
	free(out);
	free(notes);
}

static void test_convert_omissions(void)
{
	char *out, *notes;

	/* Unsupported algorithms drop out; a proposal left incomplete too. */
	CHECK_INT(convert(
		"connections { c { remote_addrs = 192.0.2.2\n"
		" proposals = aes128-sha1-modp1024, aes256-sha256-modp2048-ecp256bp\n"
		" local { auth = psk\n id = me@example.org }\n"
		" remote { auth = psk\n id = peer.example.org }\n"
		" children { x { esp_proposals = aes128gcm, aes128ctr-sha256\n"
		"  remote_ts = 10.9.9.9/16\n start_action = start\n close_action = restart } } } }\n"
		"secrets { ike-a { id = other@example.org\n secret = wrong }\n"
		" ike-b { id-1 = me@example.org\n id-2 = peer.example.org\n secret = 0sYWJjZA== } }\n",
		&out, &notes), SW_IMPORT_PARTIAL);
	CHECK(strstr(out, "ike = aes256-sha256-modp2048\n") != NULL);
	CHECK(strstr(out, "esp = aes128gcm16\n") != NULL);
	CHECK(strstr(out, "remote-ts = 10.9.0.0/16\n") != NULL);
	CHECK(strstr(out, "start = start\n") != NULL);
	CHECK(strstr(out, "psk = abcd\n") != NULL);	/* the ids' secret, base64 */
	CHECK(strstr(out, "wrong") == NULL);
	CHECK(strstr(notes, "c: proposals: algorithm 'sha1' is not supported") != NULL);
	CHECK(strstr(notes, "c: proposals: proposal 1 is incomplete") != NULL);
	CHECK(strstr(notes, "'ecp256bp'") != NULL);
	CHECK(strstr(notes, "c.children.x: close_action = restart: not supported") != NULL);
	CHECK(strstr(out, "#   close_action = restart: not supported") != NULL);
	/* Secrets never reach the notes. */
	CHECK(strstr(notes, "abcd") == NULL && strstr(notes, "YWJj") == NULL);
	free(out);
	free(notes);

	/* EAP, several rounds, selectors with ports: not written at all. */
	CHECK_INT(convert(
		"connections { rw { local { auth = psk }\n remote { auth = eap-tls }\n"
		" children { c { } } }\n"
		" two { local-1 { auth = psk }\n local-2 { auth = psk }\n remote { auth = psk }\n"
		" children { c { } } }\n"
		" port { local { auth = psk }\n remote { auth = psk }\n"
		" children { c { local_ts = 10.0.0.0/8[tcp/22] } } } }\n"
		"secrets { ike { secret = 12345678901234567890 } }\n",
		&out, &notes), SW_IMPORT_ERROR);
	CHECK(strstr(out, "[conn") == NULL);
	CHECK(strstr(notes, "rw: remote: auth = eap-tls is not supported") != NULL);
	CHECK(strstr(notes, "two: local: 2 authentication rounds") != NULL);
	CHECK(strstr(notes, "port.children.c: local_ts: '10.0.0.0/8[tcp/22]'") != NULL);
	free(out);
	free(notes);

	/* Two children: two connections, each saying so; IKEv1: refused. */
	CHECK_INT(convert(
		"connections { m { remote_addrs = 2001:db8::2\n local { auth = psk }\n"
		" remote { auth = psk }\n"
		" children { a { local_ts = 2001:db8:1::/48 }\n b { local_ts = 2001:db8:2::1 } } }\n"
		" v1 { version = 1\n local { auth = psk }\n remote { auth = psk }\n"
		" children { c { } } } }\n"
		"secrets { ike { secret = \" lead and trail \" } }\n", &out, &notes),
		SW_IMPORT_PARTIAL);
	CHECK(strstr(out, "[conn m-a]\n") != NULL && strstr(out, "[conn m-b]\n") != NULL);
	CHECK(strstr(out, "local-ts = 2001:db8:2::1/128\n") != NULL);
	/* Blanks around a key do not survive as text: hex. */
	CHECK(strstr(out, "psk = 0x206c65616420616e6420747261696c20\n") != NULL);
	CHECK(strstr(notes, "m: 2 children: one xiked connection each") != NULL);
	CHECK(strstr(notes, "v1: version = 1: xiked speaks IKEv2 only") != NULL);
	CHECK(strstr(out, "[conn v1]") == NULL);
	free(out);
	free(notes);

	/* A secret for %any fits, as one without ids; a key among connections. */
	CHECK_INT(convert(
		"connections { stray = 1\n c { local { auth = psk }\n remote { auth = psk\n"
		" id = peer@example.org }\n children { c { } } } }\n"
		"secrets { ike-x { id = nobody@example.org\n secret = no-this-one }\n"
		" ike-y { id = %any\n secret = 0x0a0b } }\n", &out, &notes),
		SW_IMPORT_PARTIAL);
	CHECK(strstr(out, "psk = 0x0a0b\n") != NULL);
	CHECK(strstr(out, "no-this-one") == NULL);
	CHECK(strstr(notes, "connections.stray: a key, not a connection") != NULL);
	free(out);
	free(notes);

	/* No connections at all. */
	CHECK_INT(convert("secrets { }\n", &out, &notes), SW_IMPORT_ERROR);
	free(out);
	free(notes);
}

int main(void)
{
	test_syntax();
	test_refusals();
	test_include();
	test_convert_complete();
	test_convert_omissions();
	return check_done("swanctl");
}
