/* SPDX-License-Identifier: ISC */
/*
 * `xikectl import`: swanctl.conf connections, children and secrets into
 * xiked.conf.  Whatever xiked cannot express is listed per connection, as
 * comments above its section and on the notes stream; a connection that
 * would change meaning without what is missing (EAP, ports in selectors,
 * IKEv1) is not written at all.  Pre-shared keys go only into the output,
 * never into notes.
 */
#define _GNU_SOURCE
#include "swanctl_import.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NOTES 64
#define LINE_MAX_XIKED 198	/* xiked.conf's longest line */
#define MAX_PSK 256

struct notes {
	char *line[MAX_NOTES];
	size_t n, lost;
	bool skip;		/* the connection (or child) is not written */
};

__attribute__((format(printf, 2, 3))) static void note(struct notes *ns, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (ns->n >= MAX_NOTES) {
		ns->lost++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		ns->lost++;
		return;
	}
	/* A note goes into a comment line: no line breaks in it. */
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	ns->line[ns->n++] = s;
}

static void notes_free(struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->line[i]);
	memset(ns, 0, sizeof(*ns));
}

/* A value to show in a note: short, printable. */
static const char *shown(const char *v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; v[i] && i + 4 < len && i < 60; i++)
		buf[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	buf[i] = '\0';
	if (v[i])
		snprintf(buf + i, len - i, "...");
	return buf;
}

/* ---- values ------------------------------------------------------------ */

static bool is_duration(const char *v)
{
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (p - v > 10 || (*p && strchr("smhd", *p) && p[1]) || (*p && !strchr("smhd", *p)))
		return false;
	return strtoull(v, NULL, 10) <= 2147483647ull;
}

static bool is_addr(const char *v)
{
	unsigned char b[16];

	return inet_pton(AF_INET, v, b) == 1 || inet_pton(AF_INET6, v, b) == 1;
}

static int addr_family(const char *v)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, v, b) == 1)
		return 4;
	if (inet_pton(AF_INET6, v, b) == 1)
		return 6;
	return 0;
}

/* A value xiked.conf reads back as written: no " ;", no line break. */
static bool ini_safe(const char *v)
{
	if (!*v || isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1]))
		return false;
	for (const char *p = v; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
		if ((*p == ' ' || *p == '\t') && p[1] == ';')
			return false;
	}
	return strlen(v) < 160;
}

/*
 * One selector: an address or CIDR, host bits cleared (xiked refuses them,
 * strongSwan masks them).  0 ok; -1 with a reason.
 */
static int map_selector(const char *in, char *out, size_t outlen, const char **why)
{
	unsigned char b[16];
	char addr[64];
	const char *slash = strchr(in, '/');
	long plen;
	int fam, bits;
	size_t alen = slash ? (size_t)(slash - in) : strlen(in);

	if (strchr(in, '[')) {
		*why = "protocol or port in a selector (xiked selectors cover all of them)";
		return -1;
	}
	if (strchr(in, '-')) {
		*why = "address range (xiked takes CIDR blocks)";
		return -1;
	}
	if (alen == 0 || alen >= sizeof(addr)) {
		*why = "not an address";
		return -1;
	}
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, b) == 1)
		fam = AF_INET, bits = 32;
	else if (inet_pton(AF_INET6, addr, b) == 1)
		fam = AF_INET6, bits = 128;
	else {
		*why = "not an address (host names are not taken)";
		return -1;
	}
	plen = bits;
	if (slash) {
		char *end;

		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || plen < 0 || plen > bits) {
			*why = "bad prefix length";
			return -1;
		}
	}
	for (int i = 0; i < bits / 8; i++) {
		int keep = (int)plen - i * 8;

		if (keep <= 0)
			b[i] = 0;
		else if (keep < 8)
			b[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (!inet_ntop(fam, b, addr, sizeof(addr))) {
		*why = "not an address";
		return -1;
	}
	snprintf(out, outlen, "%s/%ld", addr, plen);
	return 0;
}

/* ---- proposals --------------------------------------------------------- */

enum kind { K_ENC, K_AEAD, K_INTEG, K_PRF, K_DH, K_ESN };

static const struct alg {
	const char *sw, *xi;
	enum kind kind;
} algs[] = {
	{ "aes128", "aes128", K_ENC }, { "aes", "aes128", K_ENC },
	{ "aes192", "aes192", K_ENC }, { "aes256", "aes256", K_ENC },
	{ "aes128gcm16", "aes128gcm16", K_AEAD }, { "aes128gcm128", "aes128gcm16", K_AEAD },
	{ "aes128gcm", "aes128gcm16", K_AEAD },
	{ "aes192gcm16", "aes192gcm16", K_AEAD }, { "aes192gcm128", "aes192gcm16", K_AEAD },
	{ "aes192gcm", "aes192gcm16", K_AEAD },
	{ "aes256gcm16", "aes256gcm16", K_AEAD }, { "aes256gcm128", "aes256gcm16", K_AEAD },
	{ "aes256gcm", "aes256gcm16", K_AEAD },
	{ "chacha20poly1305", "chacha20poly1305", K_AEAD },
	{ "sha256", "sha256", K_INTEG }, { "sha2_256", "sha256", K_INTEG },
	{ "sha384", "sha384", K_INTEG }, { "sha2_384", "sha384", K_INTEG },
	{ "sha512", "sha512", K_INTEG }, { "sha2_512", "sha512", K_INTEG },
	{ "prfsha256", "prfsha256", K_PRF }, { "prfsha384", "prfsha384", K_PRF },
	{ "prfsha512", "prfsha512", K_PRF },
	{ "x25519", "x25519", K_DH }, { "curve25519", "x25519", K_DH },
	{ "x448", "x448", K_DH }, { "curve448", "x448", K_DH },
	{ "ecp256", "ecp256", K_DH }, { "ecp384", "ecp384", K_DH }, { "ecp521", "ecp521", K_DH },
	{ "modp2048", "modp2048", K_DH }, { "modp3072", "modp3072", K_DH },
	{ "modp4096", "modp4096", K_DH },
	{ "esn", "esn", K_ESN }, { "noesn", "noesn", K_ESN },
};

static const struct alg *find_alg(const char *name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (!strcmp(algs[i].sw, name))
			return &algs[i];
	return NULL;
}

/*
 * A strongSwan proposal list into xiked's.  Unknown algorithms drop out of
 * their proposal (noted); a proposal that is no longer complete drops out
 * whole.  OUT empty: use xiked's default (strongSwan's `default`).
 * -1 when nothing is left.
 */
static int map_proposals(const char *in, bool ike, const char *key, char *out, size_t outlen,
			 struct notes *ns)
{
	char *copy = strdup(in), *save = NULL, *prop;
	size_t used = 0;
	int kept = 0, total = 0;
	char buf[80];

	out[0] = '\0';
	if (!copy)
		return -1;
	for (prop = strtok_r(copy, ",", &save); prop; prop = strtok_r(NULL, ",", &save)) {
		char one[512] = "", *s2 = NULL, *tok;
		size_t olen = 0;
		int n[6] = { 0 }, count = 0;
		const char *chosen[32];
		bool dropped = false;

		while (isspace((unsigned char)*prop))
			prop++;
		for (char *e = prop + strlen(prop); e > prop && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (!*prop)
			continue;
		total++;
		if (!strcmp(prop, "default")) {
			if (total == 1 && !strchr(in, ','))
				break;	/* alone: xiked's own default */
			note(ns, "%s: 'default' (strongSwan's default list) dropped; xiked's "
				 "defaults differ", key);
			continue;
		}
		for (tok = strtok_r(prop, "-", &s2); tok; tok = strtok_r(NULL, "-", &s2)) {
			const struct alg *a = find_alg(tok);

			if (!a || (ike && a->kind == K_ESN) || (!ike && a->kind == K_PRF)) {
				note(ns, "%s: algorithm '%s' is not supported by xiked, dropped", key,
				     shown(tok, buf, sizeof(buf)));
				dropped = true;
				continue;
			}
			bool twice = false;

			for (int i = 0; i < count; i++)
				twice |= chosen[i] == a->xi;
			if (twice)
				continue;	/* twice (aes128gcm and aes128gcm16) */
			if (count >= 32 || olen + strlen(a->xi) + 2 >= sizeof(one))
				break;
			chosen[count] = a->xi;
			olen += (size_t)snprintf(one + olen, sizeof(one) - olen, "%s%s",
						 olen ? "-" : "", a->xi);
			n[a->kind]++;
			count++;
		}
		/* The rules of xiked.conf(5), Proposals. */
		if ((!n[K_ENC] && !n[K_AEAD]) || (n[K_AEAD] && (n[K_ENC] || n[K_INTEG])) ||
		    (n[K_ENC] && !n[K_INTEG]) || (ike && !n[K_DH]) ||
		    (ike && n[K_AEAD] && !n[K_PRF])) {
			note(ns, "%s: proposal %d is incomplete for xiked%s, dropped", key, total,
			     dropped ? " without its unsupported algorithms" : "");
			continue;
		}
		if (kept >= 16) {
			note(ns, "%s: more than 16 proposals, the rest dropped", key);
			break;
		}
		if (used + strlen(one) + 3 >= outlen) {
			note(ns, "%s: proposals too long for one line, the rest dropped", key);
			break;
		}
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", kept ? ", " : "", one);
		kept++;
	}
	free(copy);
	if (total == 0 || (total == 1 && kept == 0 && !strncmp(in, "default", 7) &&
			   !strchr(in, ',')))
		return 0;
	return kept ? 0 : -1;
}

/* ---- secrets ----------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* strongSwan's secret forms (text, 0x hex, 0s base64) into bytes. */
static int decode_secret(const char *v, unsigned char *out, size_t *outlen)
{
	size_t n = 0, len = strlen(v);

	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		if ((len - 2) % 2)
			return -1;
		for (size_t i = 2; i < len; i += 2) {
			int h = hexval(v[i]), l = hexval(v[i + 1]);

			if (h < 0 || l < 0 || n >= MAX_PSK)
				return -1;
			out[n++] = (unsigned char)(h << 4 | l);
		}
	} else if (len > 2 && v[0] == '0' && (v[1] == 's' || v[1] == 'S')) {
		unsigned acc = 0;
		int bits = 0;

		for (size_t i = 2; i < len && v[i] != '='; i++) {
			int b = b64val(v[i]);

			if (b < 0)
				return -1;
			acc = acc << 6 | (unsigned)b;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (n >= MAX_PSK)
					return -1;
				out[n++] = (unsigned char)(acc >> bits);
				acc &= (1u << bits) - 1;
			}
		}
	} else {
		if (len > MAX_PSK)
			return -1;
		memcpy(out, v, len);
		n = len;
	}
	if (n == 0)
		return -1;
	*outlen = n;
	return 0;
}

/* psk = as xiked reads it: the text when it survives, else hex. */
static int write_psk(FILE *f, const unsigned char *k, size_t n)
{
	bool text = n < 160 && !(n >= 2 && k[0] == '0' && (k[1] == 'x' || k[1] == 'X'));
	char tmp[MAX_PSK + 1];

	if (text) {
		memcpy(tmp, k, n);
		tmp[n] = '\0';
		text = strlen(tmp) == n && ini_safe(tmp);
		for (size_t i = 0; text && i < n; i++)
			text = k[i] >= 0x20 && k[i] < 0x7f;
		explicit_bzero(tmp, sizeof(tmp));
	}
	if (text) {
		fputs("psk = ", f);
		fwrite(k, 1, n, f);
		fputc('\n', f);
		return 0;
	}
	if (6 + 2 + 2 * n > LINE_MAX_XIKED)
		return -1;
	fputs("psk = 0x", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", k[i]);
	fputc('\n', f);
	return 0;
}

/*
 * The secret strongSwan would use for these identities: a secret listing
 * both ids beats one listing one of them, which beats one listing none; a
 * secret listing only other ids never matches.  The first of equals wins.
 */
static const struct sw_node *find_secret(const struct sw_node *secrets, const char *lid,
					 const char *rid, struct notes *ns)
{
	const struct sw_node *best = NULL;
	int best_score = -1, ties = 0;

	for (const struct sw_node *s = secrets ? secrets->child : NULL; s; s = s->next) {
		int ids = 0, hits = 0;
		bool hit_l = false, hit_r = false;

		if (s->value || strncmp(s->name, "ike", 3))
			continue;
		for (const struct sw_node *k = s->child; k; k = k->next) {
			if (!k->value || strncmp(k->name, "id", 2) ||
			    (k->name[2] && k->name[2] != '-'))
				continue;
			if (!strcmp(k->value, "%any"))
				continue;	/* fits anyone, as no id does */
			ids++;
			if (lid && !strcmp(k->value, lid))
				hit_l = true;
			if (rid && !strcmp(k->value, rid))
				hit_r = true;
		}
		hits = hit_l + hit_r;
		if (ids && !hits)
			continue;
		if (hits > best_score) {
			best = s;
			best_score = hits;
			ties = 0;
		} else if (hits == best_score) {
			ties++;
		}
	}
	if (ties)
		note(ns, "secrets: several secrets fit equally; the first (%s) taken",
		     best->name);
	return best;
}

/* ---- files beside swanctl.conf ---------------------------------------- */

/* DIR/SUB/NAME, or NAME when absolute. */
static char *beside(const char *dir, const char *sub, const char *name)
{
	char *p;

	if (name[0] == '/')
		return strdup(name);
	if (asprintf(&p, "%s/%s/%s", dir ? dir : "/etc/swanctl", sub, name) < 0)
		return NULL;
	return p;
}

/* The only regular file in DIR/SUB, for the keys strongSwan loads itself. */
static char *only_file(const char *dir, const char *sub, int *count)
{
	char path[4096];
	char *found = NULL;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		(*count)++;
		free(found);
		found = NULL;
		if (asprintf(&found, "%s/%s", path, e->d_name) < 0)
			found = NULL;
	}
	closedir(d);
	return found;
}

/* ---- one connection ---------------------------------------------------- */

struct side {
	const struct sw_node *sec;
	const char *auth, *id;
};

/* local or local-SUFFIX: one round only. */
static int find_side(const struct sw_node *conn, const char *prefix, struct side *sd,
		     struct notes *ns)
{
	size_t pl = strlen(prefix);
	int rounds = 0;

	memset(sd, 0, sizeof(*sd));
	for (const struct sw_node *n = conn->child; n; n = n->next) {
		if (n->value || strncmp(n->name, prefix, pl) || (n->name[pl] && n->name[pl] != '-'))
			continue;
		if (++rounds == 1)
			sd->sec = n;
	}
	if (rounds > 1) {
		note(ns, "%s: %d authentication rounds; xiked does one", prefix, rounds);
		ns->skip = true;
	}
	sd->auth = sd->sec ? sw_value(sd->sec, "auth") : NULL;
	sd->id = sd->sec ? sw_value(sd->sec, "id") : NULL;
	if (!sd->auth)
		sd->auth = "pubkey";	/* strongSwan's default */
	if (!strcmp(sd->auth, "psk"))
		return 0;
	if (!strcmp(sd->auth, "pubkey") || !strncmp(sd->auth, "rsa", 3) ||
	    !strncmp(sd->auth, "ecdsa", 5) || !strncmp(sd->auth, "ed25519", 7) ||
	    !strncmp(sd->auth, "ed448", 5)) {
		if (strcmp(sd->auth, "pubkey"))
			note(ns, "%s: auth = %s taken as pubkey (xiked chooses the signature "
				 "scheme by the key)", prefix, sd->auth);
		sd->auth = "pubkey";
		return 0;
	}
	note(ns, "%s: auth = %s is not supported by xiked (psk and pubkey only)", prefix,
	     sd->auth);
	ns->skip = true;
	return -1;
}

/* Keys of a local/remote section xiked has, and which it ignores. */
static void side_keys(const struct side *sd, const char *what, bool remote, struct notes *ns)
{
	static const char *const known_l[] = { "auth", "id", "certs", "round", NULL };
	static const char *const known_r[] = { "auth", "id", "cacerts", "round", "revocation",
					       NULL };

	if (!sd->sec)
		return;
	for (const struct sw_node *k = sd->sec->child; k; k = k->next) {
		const char *const *kn = remote ? known_r : known_l;
		bool ok = false;

		for (; *kn; kn++)
			ok |= !strcmp(*kn, k->name);
		if (remote && !strcmp(k->name, "revocation") && k->value &&
		    strcmp(k->value, "relaxed"))
			note(ns, "%s.revocation = %s: xiked checks CRLs given to it (crl =) "
				 "and has no OCSP", what, k->value);
		if (!ok)
			note(ns, "%s.%s: not supported by xiked", what, k->name);
	}
}

static bool ident_ok(const char *id, struct notes *ns, const char *what)
{
	if (strchr(id, '=') || strchr(id, ',')) {
		note(ns, "%s: '%s' looks like a distinguished name; xiked identities are "
			 "addresses, FQDNs, e-mail addresses and key ids", what, id);
		ns->skip = true;
		return false;
	}
	if (!ini_safe(id) || strlen(id) > 255) {
		note(ns, "%s: cannot be written to xiked.conf as it is", what);
		ns->skip = true;
		return false;
	}
	return true;
}

struct conn_out {
	char *text;		/* the IKE part of the section */
	size_t len;
	char lid[300], rid[300];
	char local[64], remote[64];
};

static const char *const harmless_conn[][2] = {
	{ "mobike", "no" }, { "fragmentation", "no" }, { "unique", "no" },
	{ "childless", "allow" }, { "send_certreq", "yes" }, { "aggressive", "no" },
	{ "pull", "yes" }, { "dscp", "000000" }, { "keyingtries", "1" },
};

static bool harmless(const char *const tab[][2], size_t n, const char *k, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i][0], k) && !strcmp(tab[i][1], v))
			return true;
	return false;
}

static int conn_ike(const struct sw_node *conn, const struct sw_node *secrets,
		    const struct sw_import_opts *o, struct conn_out *co, struct notes *ns)
{
	FILE *f = open_memstream(&co->text, &co->len);
	struct side l, r;
	const char *v;
	char buf[1024], sh[80];
	int rc = 0;

	if (!f)
		return -1;
	memset(co->lid, 0, sizeof(co->lid));
	memset(co->rid, 0, sizeof(co->rid));
	snprintf(co->local, sizeof(co->local), "%%any");
	snprintf(co->remote, sizeof(co->remote), "%%any");
	v = sw_value(conn, "version");
	if (v && strcmp(v, "2") && strcmp(v, "0")) {
		note(ns, "version = %s: xiked speaks IKEv2 only", shown(v, sh, sizeof(sh)));
		ns->skip = true;
	}
	for (int side = 0; side < 2; side++) {
		const char *key = side ? "remote_addrs" : "local_addrs";
		char *dst = side ? co->remote : co->local;

		v = sw_value(conn, key);
		if (!v || !strcmp(v, "%any") || !strcmp(v, "%any4") || !strcmp(v, "%any6"))
			continue;
		if (!is_addr(v)) {
			note(ns, "%s = %s: xiked takes one address or %%any (no lists, ranges, "
				 "subnets or names)", key, shown(v, sh, sizeof(sh)));
			ns->skip = true;
			continue;
		}
		snprintf(dst, 64, "%s", v);
	}
	if (addr_family(co->local) && addr_family(co->remote) &&
	    addr_family(co->local) != addr_family(co->remote)) {
		note(ns, "local_addrs and remote_addrs are of different families");
		ns->skip = true;
	}
	fprintf(f, "local = %s\nremote = %s\n", co->local, co->remote);

	find_side(conn, "local", &l, ns);
	find_side(conn, "remote", &r, ns);
	side_keys(&l, "local", false, ns);
	side_keys(&r, "remote", true, ns);
	if (l.id && ident_ok(l.id, ns, "local.id")) {
		snprintf(co->lid, sizeof(co->lid), "%s", l.id);
		fprintf(f, "local-id = %s\n", l.id);
	}
	if (r.id && ident_ok(r.id, ns, "remote.id")) {
		snprintf(co->rid, sizeof(co->rid), "%s", r.id);
		if (strcmp(r.id, "%any"))
			fprintf(f, "remote-id = %s\n", r.id);
	}
	if (l.auth && strcmp(l.auth, "psk"))
		fprintf(f, "auth = %s\n", l.auth);
	if (r.auth && strcmp(r.auth, l.auth ? l.auth : "psk"))
		fprintf(f, "remote-auth = %s\n", r.auth);

	/* Our certificate and key: strongSwan loads every key in private/. */
	if (l.auth && !strcmp(l.auth, "pubkey")) {
		const char *certs = l.sec ? sw_value(l.sec, "certs") : NULL;

		if (!certs) {
			note(ns, "local: auth = pubkey without certs; xiked needs cert = and key =");
			ns->skip = true;
		} else if (strchr(certs, ',')) {
			note(ns, "local.certs: several certificates; xiked takes one");
			ns->skip = true;
		} else {
			char *p = beside(o->base_dir, "x509", certs);
			int count = 0;
			char *key = NULL;

			if (p && ini_safe(p))
				fprintf(f, "cert = %s\n", p);
			free(p);
			static const char *const kdirs[] = { "private", "rsa", "ecdsa", "pkcs8" };
			for (size_t i = 0; o->base_dir && i < 4; i++) {
				char *k = only_file(o->base_dir, kdirs[i], &count);

				if (k) {
					free(key);
					key = k;
				}
			}
			if (count == 1 && key && ini_safe(key)) {
				fprintf(f, "key = %s\n", key);
			} else {
				note(ns, "local: %s private key in %s/private (or rsa, ecdsa, "
					 "pkcs8): set key = by hand", count ? "more than one" : "no",
				     o->base_dir ? o->base_dir : "/etc/swanctl");
				ns->skip = true;
			}
			free(key);
		}
	}
	if (r.auth && !strcmp(r.auth, "pubkey")) {
		const char *cas = r.sec ? sw_value(r.sec, "cacerts") : NULL;

		if (!cas) {
			note(ns, "remote: no cacerts; strongSwan trusts every CA in x509ca/, "
				 "xiked needs ca = (set it by hand)");
			ns->skip = true;
		} else {
			char *copy = strdup(cas), *s = NULL;
			size_t used = 0;

			buf[0] = '\0';
			for (char *t = copy ? strtok_r(copy, ", ", &s) : NULL; t;
			     t = strtok_r(NULL, ", ", &s)) {
				char *p = beside(o->base_dir, "x509ca", t);

				if (p && ini_safe(p) && used + strlen(p) + 3 < 180)
					used += (size_t)snprintf(buf + used, sizeof(buf) - used,
								 "%s%s", used ? ", " : "", p);
				else
					note(ns, "remote.cacerts: '%s' cannot be written to a line "
						 "of xiked.conf", shown(t, sh, sizeof(sh)));
				free(p);
			}
			free(copy);
			if (used)
				fprintf(f, "ca = %s\n", buf);
		}
	}
	v = sw_value(conn, "send_cert");
	if (v) {
		if (!strcmp(v, "always") || !strcmp(v, "ifasked") || !strcmp(v, "never"))
			fprintf(f, "send-cert = %s\n", v);
		else
			note(ns, "send_cert = %s: not always, ifasked or never",
			     shown(v, sh, sizeof(sh)));
	}

	/* The pre-shared key, for either side using psk. */
	if ((l.auth && !strcmp(l.auth, "psk")) || (r.auth && !strcmp(r.auth, "psk"))) {
		const char *lid = co->lid[0] ? co->lid : co->local;
		const char *rid = co->rid[0] ? co->rid : co->remote;
		const struct sw_node *s = find_secret(secrets, lid, rid, ns);
		const char *secret = s ? sw_value(s, "secret") : NULL;
		unsigned char key[MAX_PSK];
		size_t klen = 0;

		if (!secret) {
			note(ns, "secrets: no ike secret fits the identities of this connection");
			ns->skip = true;
		} else if (decode_secret(secret, key, &klen)) {
			note(ns, "secrets.%s: secret is not 1 to %d bytes of text, 0x hex or 0s "
				 "base64", s->name, MAX_PSK);
			ns->skip = true;
		} else if (write_psk(f, key, klen)) {
			note(ns, "secrets.%s: the key is too long for a line of xiked.conf; "
				 "write it to a file and set psk-file =", s->name);
			ns->skip = true;
		}
		explicit_bzero(key, sizeof(key));
	}

	v = sw_value(conn, "proposals");
	if (v) {
		if (map_proposals(v, true, "proposals", buf, sizeof(buf), ns)) {
			note(ns, "proposals: none left that xiked supports");
			ns->skip = true;
		} else if (buf[0]) {
			fprintf(f, "ike = %s\n", buf);
		}
	} else {
		note(ns, "proposals: not set; strongSwan's default list differs from xiked's "
			 "(aes128gcm16-prfsha256-x25519)");
	}

	/* The rest of the connection's keys, one by one. */
	for (const struct sw_node *k = conn->child; k; k = k->next) {
		const char *n = k->name;

		if (!k->value) {
			if (!strncmp(n, "local", 5) || !strncmp(n, "remote", 6) ||
			    !strcmp(n, "children"))
				continue;
			note(ns, "%s { }: not supported by xiked", n);
			continue;
		}
		v = k->value;
		if (!strcmp(n, "version") || !strcmp(n, "local_addrs") ||
		    !strcmp(n, "remote_addrs") || !strcmp(n, "proposals") ||
		    !strcmp(n, "send_cert"))
			continue;
		if (!strcmp(n, "dpd_delay") || !strcmp(n, "rekey_time") ||
		    !strcmp(n, "reauth_time")) {
			const char *xk = !strcmp(n, "dpd_delay") ? "dpd" :
					 !strcmp(n, "rekey_time") ? "ike-rekey-time" : "reauth-time";

			if (is_duration(v))
				fprintf(f, "%s = %s\n", xk, v);
			else
				note(ns, "%s = %s: not a duration xiked takes", n,
				     shown(v, sh, sizeof(sh)));
		} else if (!strcmp(n, "encap")) {
			if (!strcmp(v, "yes") || !strcmp(v, "no"))
				fprintf(f, "encap = %s\n", v);
			else
				note(ns, "encap = %s: not yes or no", shown(v, sh, sizeof(sh)));
		} else if (!strcmp(n, "dpd_timeout")) {
			note(ns, "dpd_timeout: IKEv1 only in strongSwan; xiked's dpd-timeout "
				 "(150s) applies");
		} else if (harmless(harmless_conn, sizeof(harmless_conn) / sizeof(harmless_conn[0]),
				    n, v)) {
			continue;
		} else if (!strcmp(n, "mobike")) {
			note(ns, "mobike = %s: xiked has no MOBIKE (addresses follow NAT "
				 "changes only)", shown(v, sh, sizeof(sh)));
		} else if (!strcmp(n, "fragmentation")) {
			note(ns, "fragmentation = %s: xiked has no IKE fragmentation",
			     shown(v, sh, sizeof(sh)));
		} else if (!strcmp(n, "pools") || !strcmp(n, "vips")) {
			note(ns, "%s: virtual IPs are not supported by xiked", n);
		} else {
			note(ns, "%s = %s: not supported by xiked", n, shown(v, sh, sizeof(sh)));
		}
	}
	if (ferror(f))
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

static const char *const harmless_child[][2] = {
	{ "ipcomp", "no" }, { "hostaccess", "no" }, { "policies", "yes" },
	{ "sha256_96", "no" }, { "close_action", "none" }, { "updown", "" },
	{ "hw_offload", "no" },
};

/* One child into the CHILD SA part of a section; -1 if it cannot be. */
static int conn_child(const struct sw_node *ch, const char *remote, FILE *f, struct notes *ns,
		      char *start_out)
{
	const char *v;
	char buf[1024], sh[80];

	start_out[0] = '\0';
	for (const struct sw_node *k = ch->child; k; k = k->next) {
		const char *n = k->name;

		v = k->value;
		if (!v) {
			note(ns, "%s { }: not supported by xiked", n);
			continue;
		}
		if (!strcmp(n, "esp_proposals")) {
			if (map_proposals(v, false, "esp_proposals", buf, sizeof(buf), ns)) {
				note(ns, "esp_proposals: none left that xiked supports");
				ns->skip = true;
			} else if (buf[0]) {
				fprintf(f, "esp = %s\n", buf);
			}
		} else if (!strcmp(n, "local_ts") || !strcmp(n, "remote_ts")) {
			char *copy = strdup(v), *s = NULL;
			size_t used = 0;
			int count = 0;
			bool dyn = false;

			buf[0] = '\0';
			for (char *t = copy ? strtok_r(copy, ", ", &s) : NULL; t;
			     t = strtok_r(NULL, ", ", &s)) {
				char one[80];
				const char *why = NULL;

				if (!strcmp(t, "dynamic")) {
					dyn = true;
					continue;
				}
				if (map_selector(t, one, sizeof(one), &why)) {
					note(ns, "%s: '%s': %s", n, shown(t, sh, sizeof(sh)), why);
					ns->skip = true;
					continue;
				}
				if (++count > 8) {
					note(ns, "%s: more than 8 selectors", n);
					ns->skip = true;
					break;
				}
				used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
							 used ? ", " : "", one);
			}
			free(copy);
			if (dyn && count) {
				note(ns, "%s: 'dynamic' beside other selectors; xiked takes one or "
					 "the other", n);
				ns->skip = true;
			}
			if (count)
				fprintf(f, "%s = %s\n", !strcmp(n, "local_ts") ? "local-ts" :
					"remote-ts", buf);
		} else if (!strcmp(n, "mode")) {
			if (!strcmp(v, "tunnel") || !strcmp(v, "transport")) {
				fprintf(f, "mode = %s\n", v);
			} else {
				note(ns, "mode = %s: xiked has tunnel and transport",
				     shown(v, sh, sizeof(sh)));
				ns->skip = true;
			}
		} else if (!strcmp(n, "start_action")) {
			if (!strcmp(v, "none") || !strcmp(v, "trap") || !strcmp(v, "start")) {
				snprintf(start_out, 16, "%s", v);
			} else if (!strcmp(v, "trap|start") || !strcmp(v, "start|trap")) {
				note(ns, "start_action = %s: xiked does one; start taken", v);
				snprintf(start_out, 16, "start");
			} else {
				note(ns, "start_action = %s: not none, trap or start",
				     shown(v, sh, sizeof(sh)));
			}
		} else if (!strcmp(n, "dpd_action")) {
			if (!strcmp(v, "clear") || !strcmp(v, "trap") || !strcmp(v, "restart"))
				fprintf(f, "dpd-action = %s\n", v);
			else if (strcmp(v, "none"))
				note(ns, "dpd_action = %s: not clear, trap or restart",
				     shown(v, sh, sizeof(sh)));
		} else if (!strcmp(n, "rekey_time") || !strcmp(n, "life_time")) {
			if (is_duration(v))
				fprintf(f, "%s = %s\n", !strcmp(n, "rekey_time") ? "rekey-time" :
					"life-time", v);
			else
				note(ns, "%s = %s: not a duration xiked takes", n,
				     shown(v, sh, sizeof(sh)));
		} else if (harmless(harmless_child, sizeof(harmless_child) /
				    sizeof(harmless_child[0]), n, v)) {
			continue;
		} else if (!strcmp(n, "ah_proposals")) {
			note(ns, "ah_proposals: xiked has no AH");
			ns->skip = true;
		} else {
			note(ns, "%s = %s: not supported by xiked", n, shown(v, sh, sizeof(sh)));
		}
	}
	if ((!strcmp(start_out, "start") || !strcmp(start_out, "trap")) && !strcmp(remote, "%any")) {
		note(ns, "start_action = %s without a remote address: none taken", start_out);
		start_out[0] = '\0';
	}
	return 0;
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > 63)
		return false;
	for (const char *p = n; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\'' || *p == ']' ||
		    *p == '[' || *p == ';' || *p == '#' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* xiked.conf lines are at most 198 characters: the key of one that is not. */
static bool lines_fit(const char *text, size_t len, struct notes *ns)
{
	for (const char *line = text, *nl; line && line < text + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (!nl)
			nl = text + len;
		if (nl - line > LINE_MAX_XIKED) {
			const char *eq = memchr(line, ' ', (size_t)(nl - line));

			note(ns, "%.*s: longer than a line of xiked.conf (198 characters)",
			     eq ? (int)(eq - line) : 16, line);
			return false;
		}
	}
	return true;
}

static void emit_notes(FILE *out, const struct sw_import_opts *o, const char *conn,
		       const struct notes *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		fprintf(out, "#   %s\n", ns->line[i]);
		if (o->notes)
			fprintf(o->notes, "xikectl import: %s: %s\n", conn, ns->line[i]);
	}
	if (ns->lost) {
		fprintf(out, "#   (and %zu more)\n", ns->lost);
		if (o->notes)
			fprintf(o->notes, "xikectl import: %s: and %zu more\n", conn, ns->lost);
	}
}

/* ---- the whole file ---------------------------------------------------- */

int sw_import(const struct sw_tree *t, FILE *out, const struct sw_import_opts *o)
{
	const struct sw_node *conns = sw_get(t->root, "connections");
	const struct sw_node *secrets = sw_get(t->root, "secrets");
	struct notes top = { 0 };
	int written = 0, partial = 0;

	fprintf(out, "# Made by xikectl import from %s.\n", t->nfiles ? t->files[0] : "?");
	fprintf(out, "# It holds pre-shared keys: keep it mode 0600 or 0640.\n");
	for (const struct sw_node *n = t->root->child; n; n = n->next)
		if (strcmp(n->name, "connections") && strcmp(n->name, "secrets"))
			note(&top, "%s: not supported by xiked", n->name);
	for (const struct sw_node *s = secrets ? secrets->child : NULL; s; s = s->next)
		if (s->value || strncmp(s->name, "ike", 3))
			note(&top, "secrets.%s: only ike secrets are taken", s->name);
	if (top.n) {
		fprintf(out, "#\n# Not converted:\n");
		emit_notes(out, o, "(file)", &top);
		partial = 1;
	}
	notes_free(&top);
	if (!conns || !conns->child) {
		if (o->notes)
			fprintf(o->notes, "xikectl import: no connections\n");
		return SW_IMPORT_ERROR;
	}

	for (const struct sw_node *c = conns->child; c; c = c->next) {
		struct notes ns = { 0 };
		struct conn_out co = { 0 };
		const struct sw_node *children = sw_get(c, "children");
		int nchild = 0;
		bool conn_skip;

		if (c->value) {
			fprintf(out, "\n# connections.%s = ...: not a connection, ignored\n", c->name);
			if (o->notes)
				fprintf(o->notes, "xikectl import: connections.%s: a key, not a "
					"connection: ignored\n", c->name);
			partial = 1;
			continue;
		}
		if (conn_ike(c, secrets, o, &co, &ns)) {
			free(co.text);
			notes_free(&ns);
			return SW_IMPORT_ERROR;
		}
		for (const struct sw_node *ch = children ? children->child : NULL; ch; ch = ch->next)
			nchild += !ch->value;
		if (nchild == 0) {
			note(&ns, "no children: xiked negotiates a CHILD SA with every IKE SA");
			ns.skip = true;
		}
		conn_skip = ns.skip;
		if (nchild > 1)
			note(&ns, "%d children: one xiked connection each, each with an IKE SA "
				  "of its own (the importer writes no [child] sections yet)", nchild);
		for (const struct sw_node *ch = children ? children->child : NULL; ch; ch = ch->next) {
			struct notes cn = { 0 };
			char name[160], start[16];
			char *body = NULL;
			size_t blen = 0;
			FILE *bf;

			if (ch->value)
				continue;
			if (nchild == 1)
				snprintf(name, sizeof(name), "%s", c->name);
			else
				snprintf(name, sizeof(name), "%s-%s", c->name, ch->name);
			bf = open_memstream(&body, &blen);
			if (!bf) {
				free(co.text);
				notes_free(&ns);
				return SW_IMPORT_ERROR;
			}
			conn_child(ch, co.remote, bf, &cn, start);
			if (start[0] && strcmp(start, "none"))
				fprintf(bf, "start = %s\n", start);
			fclose(bf);
			if (conn_skip && nchild > 1 && !ns.n)
				note(&cn, "not written: see the connection above");
			if (!lines_fit(co.text, co.len, &cn) || !lines_fit(body, blen, &cn))
				cn.skip = true;
			if (!name_ok(name)) {
				note(&cn, "the name '%s' is not a name xiked takes", name);
				cn.skip = true;
			}
			fprintf(out, "\n# connections.%s", c->name);
			if (nchild > 1)
				fprintf(out, ", child %s", ch->name);
			fprintf(out, " (%s:%d)\n", c->file, c->line);
			if (ns.n || cn.n)
				fprintf(out, "# Not converted:\n");
			emit_notes(out, o, c->name, &ns);
			if (cn.n) {
				char who[200];

				snprintf(who, sizeof(who), "%s.children.%s", c->name, ch->name);
				emit_notes(out, o, who, &cn);
			}
			if (conn_skip || cn.skip) {
				fprintf(out, "# (not written: it would not mean the same without "
					     "the above)\n");
				if (o->notes)
					fprintf(o->notes, "xikectl import: %s: not written\n", name);
				partial = 1;
			} else {
				fprintf(out, "[conn %s]\n", name);
				fwrite(co.text, 1, co.len, out);
				fwrite(body, 1, blen, out);
				written++;
				if (ns.n || cn.n)
					partial = 1;
			}
			/* The IKE part holds the key. */
			if (body)
				explicit_bzero(body, blen);
			free(body);
			notes_free(&cn);
			/* Notes of the connection are said once. */
			notes_free(&ns);
		}
		if (nchild == 0) {
			fprintf(out, "\n# connections.%s (%s:%d)\n# Not converted:\n", c->name,
				c->file, c->line);
			emit_notes(out, o, c->name, &ns);
			partial = 1;
		}
		if (co.text)
			explicit_bzero(co.text, co.len);
		free(co.text);
		notes_free(&ns);
	}
	if (!written)
		return SW_IMPORT_ERROR;
	return partial ? SW_IMPORT_PARTIAL : SW_IMPORT_COMPLETE;
}

/* ---- the command ------------------------------------------------------- */

int xikectl_import_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *in = "/etc/swanctl/swanctl.conf", *outpath = NULL;
	struct sw_tree t;
	char err[600], *dircopy = NULL;
	struct sw_import_opts o = { .notes = stderr };
	FILE *out = stdout;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': outpath = optarg; break;
		case 'h':
			printf("usage: xikectl import [--output FILE] [FILE|-]\n");
			return 0;
		default:
			fprintf(stderr, "usage: xikectl import [--output FILE] [FILE|-]\n");
			return 2;
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "usage: xikectl import [--output FILE] [FILE|-]\n");
		return 2;
	}
	if (sw_parse_file(&t, in, err, sizeof(err))) {
		fprintf(stderr, "xikectl import: %s\n", err);
		return SW_IMPORT_ERROR;
	}
	if (strcmp(in, "-")) {
		dircopy = strdup(in);
		o.base_dir = dircopy ? dirname(dircopy) : NULL;
	}
	if (outpath) {
		/* It holds keys: never readable by others, not even briefly. */
		int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			fprintf(stderr, "xikectl import: %s: %s\n", outpath, strerror(errno));
			if (fd >= 0)
				close(fd);
			sw_tree_free(&t);
			free(dircopy);
			return SW_IMPORT_ERROR;
		}
	}
	rc = sw_import(&t, out, &o);
	if (fflush(out) || ferror(out)) {
		fprintf(stderr, "xikectl import: writing the output failed\n");
		rc = SW_IMPORT_ERROR;
	}
	if (out != stdout)
		fclose(out);
	if (rc == SW_IMPORT_COMPLETE)
		fprintf(stderr, "xikectl import: converted completely\n");
	else if (rc == SW_IMPORT_PARTIAL)
		fprintf(stderr, "xikectl import: converted with omissions (listed above)\n");
	else
		fprintf(stderr, "xikectl import: nothing converted\n");
	sw_tree_free(&t);
	free(dircopy);
	return rc;
}
