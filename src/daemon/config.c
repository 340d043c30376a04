/* SPDX-License-Identifier: ISC */
#define _DEFAULT_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/secret.h"
#include "daemon/config_int.h"
#include "daemon/config_value.h"
#include "daemon/http.h"
#include "ike/ocsp.h"
#include "ike/ikev2.h"

#define DEFAULT_IKE "aes128gcm16-prfsha256-x25519"
#define DEFAULT_ESP "aes128gcm16"

int xd_cfg_fail(struct parser *p, const char *section, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (p->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: [%s] %s: %s", p->name, p->line, section, key, what);
	p->failed = true;
	return 0;
}

void xd_config_defaults(struct xd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = XD_BACKEND_AUTO;
	cfg->port = 500;
	cfg->nat_port = 4500;
	strcpy(cfg->socket, "/run/xike/xiked.sock");
	cfg->socket_clients = 64;
	cfg->log_level = XK_LOG_INFO;
	for (int i = 0; i < XK_SUB_COUNT; i++)
		cfg->sub_level[i] = -1;
	cfg->install_routes = true;
	cfg->route_table = 220;
	cfg->keepalive_s = 20;
	cfg->half_open_max = 5000;
	cfg->half_open_max_ip = 100;
	cfg->init_max_len = 8192;
	cfg->cookie_threshold = 30;
	cfg->cookie_threshold_ip = 3;
	cfg->event_buffer = 4 << 20;
	cfg->cert_expiry_days = 30; /* XD_CERT_EXPIRY_WARNING_DAYS */
	strcpy(cfg->user, XD_DEFAULT_USER);
}

/*
 * The user xiked runs as.  The default user may be missing (a build tree
 * never installed): xiked then stays root with its capabilities cut, and
 * says so at start.  A user the config names must exist.
 */
static bool find_user(struct xd_config *cfg, const char *name)
{
	struct passwd *pw = getpwnam(name);

	snprintf(cfg->user, sizeof(cfg->user), "%s", name);
	cfg->user_found = pw != NULL;
	cfg->uid = pw ? pw->pw_uid : 0;
	cfg->gid = pw ? pw->pw_gid : 0;
	return pw != NULL;
}

static int each_item(char *list, int (*fn)(const char *item, void *ctx), void *ctx)
{
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		int err;

		while (isspace((unsigned char)*tok))
			tok++;
		end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok)
			return -EINVAL;
		err = fn(tok, ctx);
		if (err)
			return err;
	}
	return 0;
}

struct ts_list {
	struct xk_ts *ts;
	size_t *n;
	const char *bad;
};

static int add_ts(const char *item, void *ctx)
{
	struct ts_list *l = ctx;

	if (*l->n >= IKE_MAX_TS) {
		l->bad = "too many selectors";
		return -E2BIG;
	}
	if (xk_ts_parse(item, &l->ts[*l->n]) < 0) {
		l->bad = item;
		return -EINVAL;
	}
	(*l->n)++;
	return 0;
}

struct addr_list {
	struct xk_addr *a;
	size_t *n;
	const char *bad;
};

static int add_listen(const char *item, void *ctx)
{
	struct addr_list *l = ctx;

	if (*l->n >= XD_MAX_LISTEN || xk_addr_parse(item, &l->a[*l->n]) < 0) {
		l->bad = item;
		return -EINVAL;
	}
	(*l->n)++;
	return 0;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* A PSK: text as written, or 0x-prefixed hex. */
static int set_psk(struct xd_conn *c, const char *v, size_t len)
{
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		size_t n = len - 2;

		if (n % 2 || n / 2 > sizeof(c->psk))
			return -EINVAL;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval((unsigned char)v[2 + 2 * i]);
			int lo = hexval((unsigned char)v[3 + 2 * i]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			c->psk[i] = (uint8_t)(hi << 4 | lo);
		}
		c->psk_len = n / 2;
		return 0;
	}
	if (len == 0 || len > sizeof(c->psk))
		return -EINVAL;
	memcpy(c->psk, v, len);
	c->psk_len = len;
	return 0;
}

static int read_psk_file(struct parser *p, struct xd_conn *c, const char *path)
{
	char buf[2 * IKE_PSK_MAX + 8];
	struct stat st;
	size_t n;
	FILE *f = fopen(path, "re");
	int err;

	if (!f)
		return xd_cfg_fail(p, c->name, "psk-file", "%s: %s", path, strerror(errno));
	/*
	 * A secret other users can read is no secret: refused.  The group
	 * may read it (root:xike 0640, for the daemon's unprivileged user).
	 */
	if (fstat(fileno(f), &st) < 0 || (st.st_mode & S_IRWXO)) {
		fclose(f);
		return xd_cfg_fail(p, c->name, "psk-file",
			    "%s: mode %04o lets other users at it (chmod 640 or 600)", path,
			    (unsigned)(st.st_mode & 07777));
	}
	if (st.st_mode & S_IWGRP)
		xk_warn("%s: psk-file %s is writable by its group (chmod 640)", p->name, path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	err = set_psk(c, buf, n);
	xk_wipe(buf, sizeof(buf));
	if (err)
		return xd_cfg_fail(p, c->name, "psk-file", "%s: empty, too long or bad hex", path);
	return 1;
}

int xd_cfg_proposals(struct parser *p, const char *section, const char *key, const char *v,
		     uint8_t proto, struct ike_proposal **dst, size_t *ndst, char *str,
		     size_t strsize)
{
	struct ike_proposal tmp[IKE_MAX_PROPOSALS];
	char err[128];
	int n = ike_proposals_parse(v, proto, tmp, IKE_MAX_PROPOSALS, err, sizeof(err));

	if (n < 0)
		return xd_cfg_fail(p, section, key, "%s", err);
	free(*dst);
	*dst = malloc((size_t)n * sizeof(**dst));
	if (!*dst)
		return xd_cfg_fail(p, section, key, "out of memory");
	memcpy(*dst, tmp, (size_t)n * sizeof(**dst));
	*ndst = (size_t)n;
	snprintf(str, strsize, "%s", v);
	return 1;
}

static int proposals(struct parser *p, struct xd_conn *c, const char *key, const char *v,
		     uint8_t proto)
{
	if (proto == IKEV2_PROTO_IKE)
		return xd_cfg_proposals(p, c->name, key, v, proto, &c->ike, &c->n_ike, c->ike_str,
					sizeof(c->ike_str));
	return xd_cfg_proposals(p, c->name, key, v, proto, &c->esp, &c->n_esp, c->esp_str,
				sizeof(c->esp_str));
}

/* local-ts, remote-ts: a comma-separated list of CIDRs into ts, *n. 1, or 0 failed. */
int xd_cfg_ts_key(struct parser *p, const char *section, const char *k, const char *v,
		   struct xk_ts *ts, size_t *n)
{
	struct ts_list l = { ts, n, NULL };
	char *copy = strdup(v);
	int err;

	*n = 0;
	err = copy ? each_item(copy, add_ts, &l) : -ENOMEM;
	if (err)
		xd_cfg_fail(p, section, k, "'%s' is not a CIDR (like 10.0.0.0/24)", l.bad ? l.bad : v);
	free(copy); /* l.bad points into it */
	return err ? 0 : 1;
}

/* cert, key, ca (a comma-separated list), crl, ocsp-trust: read in finish(). */
static int cred_path(struct parser *p, struct xd_conn *c, const char *k, const char *v)
{
	char *dst = !strcmp(k, "cert") ? c->cert_file :
		    !strcmp(k, "key")  ? c->key_file :
		    !strcmp(k, "ca")   ? c->ca_files :
		    !strcmp(k, "crl")  ? c->crl_file :
					 c->ocsp_trust_file;
	size_t cap = dst == c->ca_files ? sizeof(c->ca_files) : sizeof(c->cert_file);
	unsigned *line = dst == c->cert_file ? &c->cert_line :
			 dst == c->key_file  ? &c->key_line :
			 dst == c->ca_files  ? &c->ca_line :
			 dst == c->crl_file  ? &c->crl_line :
					       &c->ocsp_trust_line;

	if (!*v || strlen(v) >= cap)
		return xd_cfg_fail(p, c->name, k, "empty or longer than %zu characters", cap - 1);
	memcpy(dst, v, strlen(v) + 1);
	*line = p->line;
	return 1;
}

static int conn_key(struct parser *p, struct xd_conn *c, const char *k, const char *v)
{
	long d;

	if (!strcmp(k, "local")) {
		if (strcmp(v, "%any") && xk_addr_parse(v, &c->local) < 0)
			return xd_cfg_fail(p, c->name, k, "'%s' is not an IP address or %%any", v);
	} else if (!strcmp(k, "remote")) {
		if (strcmp(v, "%any") && xk_addr_parse(v, &c->remote) < 0)
			return xd_cfg_fail(p, c->name, k, "'%s' is not an IP address or %%any", v);
	} else if (!strcmp(k, "local-id") || !strcmp(k, "remote-id")) {
		/* %any: whatever identity the peer proves (the default). */
		if (!strcmp(v, "%any") && k[0] == 'r')
			memset(&c->remote_id, 0, sizeof(c->remote_id));
		else if (ike_id_parse(v, k[0] == 'l' ? &c->local_id : &c->remote_id) < 0)
			return xd_cfg_fail(p, c->name, k, "'%s' is not an identity", v);
	} else if (!strcmp(k, "auth") || !strcmp(k, "remote-auth")) {
		enum ike_auth_method m;

		if (!strcmp(v, "psk"))
			m = IKE_AUTH_PSK;
		else if (!strcmp(v, "pubkey"))
			m = IKE_AUTH_PUBKEY;
		else
			return xd_cfg_fail(p, c->name, k, "'%s' is not psk or pubkey", v);
		if (k[0] == 'a') {
			c->auth = m;
			c->seen_auth = true;
		} else {
			c->remote_auth = m;
			c->seen_remote_auth = true;
		}
	} else if (!strcmp(k, "send-cert")) {
		if (!strcmp(v, "always"))
			c->send_cert = IKE_SEND_CERT_ALWAYS;
		else if (!strcmp(v, "ifasked"))
			c->send_cert = IKE_SEND_CERT_IFASKED;
		else if (!strcmp(v, "never"))
			c->send_cert = IKE_SEND_CERT_NEVER;
		else
			return xd_cfg_fail(p, c->name, k, "'%s' is not always, ifasked or never", v);
	} else if (!strcmp(k, "revocation")) {
		if (ike_revocation_policy_parse(v, &c->revocation) < 0)
			return xd_cfg_fail(p, c->name, k, "'%s' is not strict, ifuri or relaxed", v);
	} else if (!strcmp(k, "ocsp-uri")) {
		struct xd_http_uri u;

		if (xd_http_uri_parse(v, &u) < 0 || strlen(v) >= sizeof(c->ocsp_uri))
			return xd_cfg_fail(p, c->name, k, "'%s' is not http://HOST[:PORT][/PATH]", v);
		memcpy(c->ocsp_uri, v, strlen(v) + 1);
	} else if (!strcmp(k, "cert") || !strcmp(k, "key") || !strcmp(k, "ca") ||
		   !strcmp(k, "crl") || !strcmp(k, "ocsp-trust")) {
		return cred_path(p, c, k, v);
	} else if (!strcmp(k, "psk")) {
		if (set_psk(c, v, strlen(v)) < 0)
			return xd_cfg_fail(p, c->name, k, "empty, longer than %d bytes or bad hex", IKE_PSK_MAX);
		c->seen_psk = true;
	} else if (!strcmp(k, "psk-file")) {
		c->seen_psk = true;
		return read_psk_file(p, c, v);
	} else if (!strcmp(k, "ike")) {
		return proposals(p, c, k, v, IKEV2_PROTO_IKE);
	} else if (!strcmp(k, "esp")) {
		return proposals(p, c, k, v, IKEV2_PROTO_ESP);
	} else if (!strcmp(k, "local-ts") || !strcmp(k, "remote-ts")) {
		bool local = k[0] == 'l';

		return xd_cfg_ts_key(p, c->name, k, v, local ? c->local_ts : c->remote_ts,
			      local ? &c->n_local_ts : &c->n_remote_ts);
	} else if (!strcmp(k, "mode")) {
		if (!strcmp(v, "tunnel"))
			c->mode = XK_MODE_TUNNEL;
		else if (!strcmp(v, "transport"))
			c->mode = XK_MODE_TRANSPORT;
		else
			return xd_cfg_fail(p, c->name, k, "'%s' is not tunnel or transport", v);
	} else if (!strcmp(k, "start")) {
		if (!xd_cfg_start(v, &c->start))
			return xd_cfg_fail(p, c->name, k, "'%s' is not none, start or trap", v);
	} else if (!strcmp(k, "dpd") || !strcmp(k, "rekey-time") || !strcmp(k, "ike-rekey-time") ||
		   !strcmp(k, "life-time") || !strcmp(k, "dpd-timeout") || !strcmp(k, "reauth-time")) {
		d = xd_parse_duration(v);
		if (d < 0 || d > 0x7fffffff)
			return xd_cfg_fail(p, c->name, k, "'%s' is not a duration (like 30s, 1h)", v);
		if (!strcmp(k, "dpd"))
			c->dpd_s = (uint32_t)d;
		else if (!strcmp(k, "dpd-timeout"))
			c->dpd_timeout_s = (uint32_t)d;
		else if (!strcmp(k, "rekey-time"))
			c->rekey_s = (uint32_t)d;
		else if (!strcmp(k, "ike-rekey-time"))
			c->ike_rekey_s = (uint32_t)d;
		else if (!strcmp(k, "reauth-time"))
			c->reauth_s = (uint32_t)d;
		else {
			c->life_s = (uint32_t)d;
			c->life_set = true;
		}
	} else if (!strcmp(k, "close-action")) {
		if (!xd_cfg_start(v, &c->close_action))
			return xd_cfg_fail(p, c->name, k, "'%s' is not none, start or trap", v);
		c->close_set = true;
	} else if (!strcmp(k, "dpd-action")) {
		if (!strcmp(v, "clear"))
			c->dpd_action = XD_DPD_CLEAR;
		else if (!strcmp(v, "restart"))
			c->dpd_action = XD_DPD_RESTART;
		else if (!strcmp(v, "trap"))
			c->dpd_action = XD_DPD_TRAP;
		else
			return xd_cfg_fail(p, c->name, k, "'%s' is not clear, restart or trap", v);
	} else if (!strcmp(k, "encap")) {
		if (!xd_cfg_bool(v, &c->encap))
			return xd_cfg_fail(p, c->name, k, "'%s' is not yes or no", v);
	} else if (!strcmp(k, "fragmentation")) {
		/* "force" (fragments without the peer's notify) is not offered. */
		if (!xd_cfg_bool(v, &c->fragmentation))
			return xd_cfg_fail(p, c->name, k, "'%s' is not yes or no", v);
	} else if (!strcmp(k, "fragment-size")) {
		uint32_t n;

		if (!xd_cfg_count(v, 65535, &n) || n < IKE_FRAG_SIZE_MIN)
			return xd_cfg_fail(p, c->name, k, "'%s' is not a size from %d to 65535 bytes", v,
				    IKE_FRAG_SIZE_MIN);
		c->fragment_size = (uint16_t)n;
	} else if (!strcmp(k, "mark-in") || !strcmp(k, "mark-out")) {
		struct xk_tag *t = k[5] == 'i' ? &c->tag_in : &c->tag_out;
		char buf[64];
		/* A value cut short to fit would be read as another number. */
		int n = snprintf(buf, sizeof(buf), "%s", v);

		if (n < 0 || (size_t)n >= sizeof(buf) || !xd_cfg_mark(buf, t))
			return xd_cfg_fail(p, c->name, k,
				    "'%s' is not VALUE[/MASK] (32-bit numbers, the value within the mask)",
				    v);
	} else if (!strcmp(k, "if-id")) {
		if (!xd_cfg_u32(v, &c->tag_in.if_id) || !c->tag_in.if_id)
			return xd_cfg_fail(p, c->name, k, "'%s' is not a number from 1 to 4294967295", v);
		c->tag_out.if_id = c->tag_in.if_id;
	} else if (!strcmp(k, "interface")) {
		if (!xd_cfg_iface_name(v))
			return xd_cfg_fail(p, c->name, k,
				    "'%s' is not an interface name (1 to 15 bytes, no '/', ':' or blank)",
				    v);
		snprintf(c->iface, sizeof(c->iface), "%s", v);
	} else if (!strcmp(k, "mtu")) {
		if (!xd_cfg_count(v, 65535, &c->mtu) || c->mtu < 576)
			return xd_cfg_fail(p, c->name, k, "'%s' is not an MTU from 576 to 65535 bytes", v);
	} else {
		return xd_cfg_fail(p, c->name, k, "unknown key");
	}
	return 1;
}

/* Resolved now: a group that does not exist is a mistake in the file. */
static int socket_group(struct parser *p, const char *k, const char *v)
{
	struct xd_config *cfg = p->cfg;
	const struct group *g;

	if (strlen(v) >= sizeof(cfg->socket_group))
		return xd_cfg_fail(p, "global", k, "'%s' is longer than %zu bytes", v,
			    sizeof(cfg->socket_group) - 1);
	errno = 0;
	g = getgrnam(v);
	if (!g)
		return xd_cfg_fail(p, "global", k, "'%s' is not a group on this host%s%s", v,
			    errno ? ": " : "", errno ? strerror(errno) : "");
	strcpy(cfg->socket_group, v);
	cfg->socket_gid = g->gr_gid;
	return 1;
}

static int global_key(struct parser *p, const char *k, const char *v)
{
	struct xd_config *cfg = p->cfg;

	if (!strcmp(k, "backend")) {
		if (!strcmp(v, "auto"))
			cfg->backend = XD_BACKEND_AUTO;
		else if (!strcmp(v, "xfrm"))
			cfg->backend = XD_BACKEND_XFRM;
		else if (!strcmp(v, "soft"))
			cfg->backend = XD_BACKEND_SOFT;
		else
			return xd_cfg_fail(p, "global", k, "'%s' is not auto, xfrm or soft", v);
	} else if (!strcmp(k, "listen")) {
		struct addr_list l = { cfg->listen, &cfg->n_listen, NULL };
		char *copy = strdup(v);
		int err;

		cfg->n_listen = 0;
		err = copy ? each_item(copy, add_listen, &l) : -ENOMEM;
		if (err)
			xd_cfg_fail(p, "global", k, "'%s' is not an IP address (at most %d)",
			     l.bad ? l.bad : v, XD_MAX_LISTEN);
		free(copy);
		return !err;
	} else if (!strcmp(k, "port")) {
		if (!xd_cfg_port(v, &cfg->port))
			return xd_cfg_fail(p, "global", k, "'%s' is not a port", v);
	} else if (!strcmp(k, "nat-port")) {
		if (!xd_cfg_port(v, &cfg->nat_port))
			return xd_cfg_fail(p, "global", k, "'%s' is not a port", v);
	} else if (!strcmp(k, "socket")) {
		if (strlen(v) >= sizeof(cfg->socket) || v[0] != '/')
			return xd_cfg_fail(p, "global", k, "'%s' is not an absolute path under 108 bytes", v);
		strcpy(cfg->socket, v);
	} else if (!strcmp(k, "socket-group")) {
		return socket_group(p, k, v);
	} else if (!strcmp(k, "socket-clients")) {
		if (!xd_cfg_count(v, 10000, &cfg->socket_clients) || !cfg->socket_clients)
			return xd_cfg_fail(p, "global", k, "'%s' is not a number from 1 to 10000", v);
	} else if (!strcmp(k, "user")) {
		if (strlen(v) >= sizeof(cfg->user) || !find_user(cfg, v))
			return xd_cfg_fail(p, "global", k, "no such user '%s'", v);
		cfg->user_set = true;
	} else if (!strncmp(k, "log-level-", 10)) {
		int sub = xk_log_sub_parse(k + 10), l = xk_log_level_parse(v);

		if (sub < 0)
			return xd_cfg_fail(p, "global", k,
				    "unknown subsystem (daemon, engine, config, kernel, network, "
				    "esp-soft or control)");
		if (l < 0)
			return xd_cfg_fail(p, "global", k,
				    "'%s' is not debug, info, notice, warning or error", v);
		cfg->sub_level[sub] = l;
	} else if (!strcmp(k, "log-format")) {
		if (strcmp(v, "text") && strcmp(v, "json"))
			return xd_cfg_fail(p, "global", k, "'%s' is not text or json", v);
		cfg->log_json = !strcmp(v, "json");
	} else if (!strcmp(k, "log-level")) {
		int l = xk_log_level_parse(v);

		if (l < 0)
			return xd_cfg_fail(p, "global", k,
				    "'%s' is not debug, info, notice, warning or error", v);
		cfg->log_level = (enum xk_log_level)l;
	} else if (!strcmp(k, "install-routes")) {
		if (!xd_cfg_bool(v, &cfg->install_routes))
			return xd_cfg_fail(p, "global", k, "'%s' is not yes or no", v);
	} else if (!strcmp(k, "keepalive")) {
		long d = xd_parse_duration(v);

		if (d < 0 || d > 3600)
			return xd_cfg_fail(p, "global", k, "'%s' is not a duration up to 1h", v);
		cfg->keepalive_s = (uint32_t)d;
	} else if (!strcmp(k, "half-open-max") || !strcmp(k, "half-open-max-ip") ||
		   !strcmp(k, "cookie-threshold") || !strcmp(k, "cookie-threshold-ip")) {
		uint32_t *to = !strcmp(k, "half-open-max")      ? &cfg->half_open_max
			       : !strcmp(k, "half-open-max-ip") ? &cfg->half_open_max_ip
			       : !strcmp(k, "cookie-threshold") ? &cfg->cookie_threshold
								: &cfg->cookie_threshold_ip;

		if (!xd_cfg_count(v, 10000000, to))
			return xd_cfg_fail(p, "global", k, "'%s' is not a number from 0 to 10000000", v);
	} else if (!strcmp(k, "ike-sa-init-max")) {
		if (!xd_cfg_count(v, 65535, &cfg->init_max_len) ||
		    (cfg->init_max_len && cfg->init_max_len < 256))
			return xd_cfg_fail(p, "global", k, "'%s' is not 0 or a size from 256 to 65535 bytes", v);
	} else if (!strcmp(k, "kernel-event-buffer")) {
		if (!xd_cfg_count(v, 1u << 30, &cfg->event_buffer) ||
		    (cfg->event_buffer && cfg->event_buffer < 1024))
			return xd_cfg_fail(p, "global", k, "'%s' is not 0 or a size from 1024 to 2^30 bytes", v);
	} else if (!strcmp(k, "threads")) {
		if (!xd_cfg_count(v, XD_THREADS_MAX, &cfg->threads) || !cfg->threads)
			return xd_cfg_fail(p, "global", k, "'%s' is not a number from 1 to %d", v,
				    XD_THREADS_MAX);
	} else if (!strcmp(k, "cert-expiry-warning")) {
		if (!xd_cfg_count(v, 3650, &cfg->cert_expiry_days))
			return xd_cfg_fail(p, "global", k, "'%s' is not a number of days from 0 to 3650", v);
	} else if (!strcmp(k, "route-table")) {
		char *end;
		unsigned long t = strtoul(v, &end, 10);

		if (!*v || *end || t == 0 || t > 0xfffffffful)
			return xd_cfg_fail(p, "global", k, "'%s' is not a routing table number", v);
		cfg->route_table = (uint32_t)t;
	} else {
		return xd_cfg_fail(p, "global", k, "unknown key");
	}
	return 1;
}

static struct xd_conn *conn_new(struct parser *p, const char *name)
{
	struct xd_config *cfg = p->cfg;
	struct xd_conn *c;

	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!strcmp(cfg->conns[i].name, name))
			return NULL;
	if (cfg->n_conns == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct xd_conn *n = realloc(cfg->conns, cap * sizeof(*n));

		if (!n)
			return NULL;
		cfg->conns = n;
		p->cap = cap;
	}
	c = &cfg->conns[cfg->n_conns++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = p->section_line;
	c->mode = XK_MODE_TUNNEL;
	/* Lifetimes as the established daemons default them. */
	c->rekey_s = 3600;
	c->ike_rekey_s = 4 * 3600;
	c->dpd_timeout_s = 150;
	/* RFC 7383: announce it, use it when a message does not fit. */
	c->fragmentation = true;
	c->fragment_size = IKE_FRAG_SIZE_DEFAULT;
	return c;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct parser *p = user;

	if (p->failed)
		return 1;
	/* A section header starts a new conn, even one repeating a name. */
	if (p->new_section) {
		p->new_section = false;
		p->cur = NULL;
		p->cur_child = NULL;
	}
	if (!strcmp(section, "global"))
		return global_key(p, key, value);
	if (!strncmp(section, "conn ", 5)) {
		const char *name = section + 5;

		if (!*name || strlen(name) >= IKE_NAME_MAX || strpbrk(name, " \t\"'"))
			return xd_cfg_fail(p, section, key, "connection names are 1-%d characters, no spaces",
				    IKE_NAME_MAX - 1);
		if (!p->cur || strcmp(p->cur->name, name)) {
			p->cur = conn_new(p, name);
			if (!p->cur)
				return xd_cfg_fail(p, section, key, "connection defined twice");
		}
		return conn_key(p, p->cur, key, value);
	}
	if (!strncmp(section, "child ", 6)) {
		const char *name = section + 6;

		if (!*name || strlen(name) >= IKE_NAME_MAX || strpbrk(name, " \t\"'/"))
			return xd_cfg_fail(p, section, key,
				    "child names are 1-%d characters, no spaces or '/'",
				    IKE_NAME_MAX - 1);
		if (!p->cur_child || strcmp(p->cur_child->name, name)) {
			p->cur_child = xd_cfg_child_section(p, name);
			if (!p->cur_child)
				return xd_cfg_fail(p, section, key, "child defined twice");
		}
		return xd_cfg_child_key(p, p->cur_child, key, value);
	}
	return xd_cfg_fail(p, section, key,
		    "unknown section (expected [global], [conn NAME] or [child NAME])");
}

/* Line-counting readers, so that every message can name its line. */
static void saw_line(struct parser *p, const char *line)
{
	p->line++;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '[') {
		p->new_section = true;
		p->section_line = p->line;
	}
}

static char *read_file_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	char *r = fgets(str, num, p->f);
	size_t n;

	if (!r)
		return r;
	saw_line(p, r);
	n = strlen(r);
	/* The parser's line buffer is finite: say so rather than cut a value. */
	if (n == (size_t)num - 1 && r[n - 1] != '\n' && !feof(p->f) && !p->failed) {
		snprintf(p->err, p->errlen, "%s:%u: line longer than %d characters (use psk-file for long keys)",
			 p->name, p->line, num - 2);
		p->failed = true;
	}
	return r;
}

static char *read_text_line(char *str, int num, void *stream)
{
	struct parser *p = stream;
	const char *nl;
	size_t n;

	if (!*p->text)
		return NULL;
	nl = strchr(p->text, '\n');
	n = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, p->text, n);
	str[n] = '\0';
	p->text += n;
	saw_line(p, str);
	return str;
}

/* The credential files, read as the methods need them; 0 on a failure. */
static int creds_load(struct parser *p, struct xd_conn *c)
{
	struct xd_cred_err e = {0};

	if (xd_conn_load_creds(c, &e) == 0)
		return 1;
	p->line = e.line;
	return xd_cfg_fail(p, c->name, e.key, "%s", e.msg);
}

/* What can only be checked once a section is complete. */
static void finish(struct parser *p)
{
	struct xd_config *cfg = p->cfg;

	for (size_t i = 0; i < cfg->n_conns && !p->failed; i++) {
		struct xd_conn *c = &cfg->conns[i];
		char err[128];

		p->line = c->line;
		if (!c->seen_remote_auth)
			c->remote_auth = c->auth;
		if (!c->psk_len && (c->auth == IKE_AUTH_PSK || c->remote_auth == IKE_AUTH_PSK)) {
			xd_cfg_fail(p, c->name, "psk", "missing (set psk or psk-file)");
			break;
		}
		if (!creds_load(p, c))
			break;
		if (c->psk_len && c->psk_len < 16)
			xk_warn("%s:%u: [%s] psk: %zu bytes; 16 or more are advised (random, per peer)",
				p->name, c->line, c->name, c->psk_len);
		if (!c->n_ike && proposals(p, c, "ike", DEFAULT_IKE, IKEV2_PROTO_IKE) == 0)
			break;
		if (!c->n_esp && proposals(p, c, "esp", DEFAULT_ESP, IKEV2_PROTO_ESP) == 0)
			break;
		if (c->start != XD_START_NONE && !c->remote.family) {
			xd_cfg_fail(p, c->name, "remote", "start = %s needs a remote address",
			     c->start == XD_START_START ? "start" : "trap");
			break;
		}
		/* The hard lifetime must leave room for the rekey before it. */
		if (!c->life_set)
			c->life_s = c->rekey_s + c->rekey_s / 10;
		else if (c->life_s && c->rekey_s && c->life_s <= c->rekey_s) {
			xd_cfg_fail(p, c->name, "life-time", "must be longer than rekey-time (%us)", c->rekey_s);
			break;
		}
		if (c->local.family && c->remote.family && c->local.family != c->remote.family) {
			xd_cfg_fail(p, c->name, "remote", "local and remote are of different families");
			break;
		}
		/* Only the end that knows where the peer is starts a new IKE_SA_INIT. */
		if (c->reauth_s && !c->remote.family) {
			xd_cfg_fail(p, c->name, "reauth-time", "needs a remote address");
			break;
		}
		if (c->dpd_action != XD_DPD_CLEAR && !c->remote.family) {
			xd_cfg_fail(p, c->name, "dpd-action", "%s needs a remote address",
			     c->dpd_action == XD_DPD_RESTART ? "restart" : "trap");
			break;
		}
		if (!c->close_set)
			c->close_action = c->start;
		if (c->close_action != XD_START_NONE && !c->remote.family) {
			xd_cfg_fail(p, c->name, "close-action", "%s needs a remote address",
			     c->close_action == XD_START_START ? "start" : "trap");
			break;
		}
		if ((c->start == XD_START_TRAP || c->dpd_action == XD_DPD_TRAP ||
		     c->close_action == XD_START_TRAP) &&
		    (!c->n_local_ts && !c->local.family)) {
			xd_cfg_fail(p, c->name, "local", "trapping needs local (or local-ts)");
			break;
		}
		/* A device of ours needs the tag that steers its traffic. */
		if (c->iface[0] && !xk_tag_set(&c->tag_in) && !xk_tag_set(&c->tag_out)) {
			xd_cfg_fail(p, c->name, "interface", "needs if-id (an XFRM interface) or "
			     "mark-in and mark-out (a VTI device)");
			break;
		}
		if (c->mtu && !c->iface[0]) {
			xd_cfg_fail(p, c->name, "mtu", "needs interface");
			break;
		}
		/* One device, one way into it. */
		for (size_t j = 0; j < i && c->iface[0]; j++) {
			const struct xd_conn *o = &cfg->conns[j];

			if (!strcmp(o->iface, c->iface) &&
			    (memcmp(&o->tag_in, &c->tag_in, sizeof(c->tag_in)) ||
			     memcmp(&o->tag_out, &c->tag_out, sizeof(c->tag_out)) || o->mtu != c->mtu)) {
				xd_cfg_fail(p, c->name, "interface", "%s is [conn %s]'s too, with other marks, "
				     "if-id or mtu", c->iface, o->name);
				break;
			}
		}
		if (p->failed)
			break;
		(void)err;
	}
	if (!p->failed)
		xd_cfg_attach_children(p);
}

static int run(struct parser *p, ini_reader reader)
{
	int r;

	/* An indented line is a line, not the continuation of the one above. */
	ini_allow_multiline = false;
	r = ini_parse_stream(reader, p, handler, p);
	if (r > 0 && !p->failed) {
		snprintf(p->err, p->errlen, "%s:%d: syntax error (expected [section] or key = value)",
			 p->name, r);
		p->failed = true;
	}
	if (!p->failed)
		finish(p);
	for (size_t i = 0; i < p->n_children; i++)
		free(p->children[i].esp);
	free(p->children);
	p->children = NULL;
	p->n_children = 0;
	if (!p->failed && !p->cfg->user_set)
		find_user(p->cfg, XD_DEFAULT_USER);
	if (p->failed) {
		xd_config_free(p->cfg);
		return -EINVAL;
	}
	return 0;
}

int xd_config_load(const char *path, struct xd_config *cfg, char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .name = path, .err = err, .errlen = errlen };
	int r;

	xd_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	p.f = fopen(path, "re");
	if (!p.f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	r = run(&p, read_file_line);
	fclose(p.f);
	return r;
}

int xd_config_parse(const char *text, const char *name, struct xd_config *cfg,
		    char *err, size_t errlen)
{
	struct parser p = { .cfg = cfg, .name = name, .err = err, .errlen = errlen, .text = text };

	xd_config_defaults(cfg);
	snprintf(cfg->path, sizeof(cfg->path), "%s", name);
	return run(&p, read_text_line);
}

void xd_config_free(struct xd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_conns; i++) {
		free(cfg->conns[i].ike);
		free(cfg->conns[i].esp);
		for (size_t j = 0; j < cfg->conns[i].n_child; j++)
			free(cfg->conns[i].child[j].esp);
		free(cfg->conns[i].child);
		free(cfg->conns[i].eng_child);
		xd_conn_free_creds(&cfg->conns[i]);
	}
	if (cfg->conns)
		xk_wipe(cfg->conns, cfg->n_conns * sizeof(*cfg->conns));
	free(cfg->conns);
	cfg->conns = NULL;
	cfg->n_conns = 0;
}

bool xd_conn_same(const struct xd_conn *a, const struct xd_conn *b)
{
	return xd_cfg_children_same(a, b) && !strcmp(a->name, b->name) &&
	       xk_addr_eq(&a->local, &b->local) && xk_addr_eq(&a->remote, &b->remote) &&
	       ike_id_eq(&a->local_id, &b->local_id) &&
	       ike_id_eq(&a->remote_id, &b->remote_id) && a->psk_len == b->psk_len &&
	       xk_ct_equal(a->psk, b->psk, a->psk_len) && a->n_ike == b->n_ike &&
	       a->n_esp == b->n_esp &&
	       !memcmp(a->ike, b->ike, a->n_ike * sizeof(*a->ike)) &&
	       !memcmp(a->esp, b->esp, a->n_esp * sizeof(*a->esp)) &&
	       a->n_local_ts == b->n_local_ts && a->n_remote_ts == b->n_remote_ts &&
	       !memcmp(a->local_ts, b->local_ts, a->n_local_ts * sizeof(a->local_ts[0])) &&
	       !memcmp(a->remote_ts, b->remote_ts, a->n_remote_ts * sizeof(a->remote_ts[0])) &&
	       a->mode == b->mode && a->start == b->start && a->dpd_s == b->dpd_s &&
	       a->close_action == b->close_action &&
	       a->dpd_timeout_s == b->dpd_timeout_s && a->dpd_action == b->dpd_action &&
	       a->rekey_s == b->rekey_s && a->ike_rekey_s == b->ike_rekey_s &&
	       a->reauth_s == b->reauth_s &&
	       a->life_s == b->life_s && a->encap == b->encap && a->auth == b->auth &&
	       a->remote_auth == b->remote_auth && a->send_cert == b->send_cert &&
	       a->revocation == b->revocation && !strcmp(a->ocsp_uri, b->ocsp_uri) &&
	       a->fragmentation == b->fragmentation && a->fragment_size == b->fragment_size &&
	       !memcmp(&a->tag_in, &b->tag_in, sizeof(a->tag_in)) &&
	       !memcmp(&a->tag_out, &b->tag_out, sizeof(a->tag_out)) &&
	       !strcmp(a->iface, b->iface) && a->mtu == b->mtu &&
	       !memcmp(a->cred_digest, b->cred_digest, sizeof(a->cred_digest));
}

void xd_conn_to_engine(const struct xd_conn *c, struct ike_conn_cfg *out)
{
	memset(out, 0, sizeof(*out));
	out->name = c->name;
	out->local = c->local;
	out->remote = c->remote;
	out->local_id = c->local_id;
	out->remote_id = c->remote_id;
	out->psk = c->psk;
	out->psk_len = c->psk_len;
	out->local_auth = c->auth;
	out->remote_auth = c->remote_auth;
	out->cred = c->cred;
	out->trust = c->trust;
	out->send_cert = c->send_cert;
	out->revocation = c->revocation;
	out->ocsp_uri = c->ocsp_uri[0] != '\0';
	out->ike = c->ike;
	out->n_ike = c->n_ike;
	out->esp = c->esp;
	out->n_esp = c->n_esp;
	memcpy(out->local_ts, c->local_ts, sizeof(out->local_ts));
	memcpy(out->remote_ts, c->remote_ts, sizeof(out->remote_ts));
	out->n_local_ts = c->n_local_ts;
	out->n_remote_ts = c->n_remote_ts;
	out->mode = c->mode;
	out->life_time_s = c->life_s;
	out->rekey_time_s = c->rekey_s;
	out->ike_rekey_time_s = c->ike_rekey_s;
	out->reauth_time_s = c->reauth_s;
	out->dpd_s = c->dpd_s;
	out->dpd_timeout_s = c->dpd_timeout_s;
	out->force_encap = c->encap;
	/*
	 * Lost to a hard lifetime (or a rekey the peer did not know): a
	 * start = start CHILD_SA is made again at once; a trapped one's trap
	 * never left.  Closed by the peer: as close-action says (trap is the
	 * daemon's, on CHILD_DOWN).
	 */
	out->recreate_lost = c->start == XD_START_START;
	out->recreate_closed = c->close_action == XD_START_START;
	out->fragmentation = c->fragmentation;
	out->fragment_size = c->fragment_size;
	out->tag_in = c->tag_in;
	out->tag_out = c->tag_out;
	out->children = c->eng_child;
	out->n_children = c->n_child;
}
