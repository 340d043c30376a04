/* SPDX-License-Identifier: ISC */
/*
 * xiked.conf parsing: a good config in every key, and each mistake reported
 * with file, line and key (the daemon refuses to start on any of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs.h"
#include "check.h"
#include "daemon/config.h"
#include "ike/cert.h"
#include "ike/ikev2.h"

static const char good[] =
	"# a comment\n"
	"[global]\n"
	"backend = xfrm\n"
	"listen = 192.0.2.1, 2001:db8::1\n"
	"port = 500\n"
	"nat-port = 4500\n"
	"socket = /run/test.sock\n"
	"socket-group = root\n"
	"socket-clients = 8\n"
	"log-level = debug\n"
	"log-level-kernel = warning\n"
	"log-level-esp-soft = error\n"
	"log-format = json\n"
	"user = root\n"
	"install-routes = no\n"
	"half-open-max = 100\n"
	"half-open-max-ip = 0\n"
	"ike-sa-init-max = 4096\n"
	"cookie-threshold = 10\n"
	"cookie-threshold-ip = 2\n"
	"kernel-event-buffer = 65536\n"
	"threads = 3\n"
	"\n"
	"[conn site]\n"
	"local = 192.0.2.1\n"
	"remote = 198.51.100.2\n"
	"local-id = gw1.example\n"
	"remote-id = admin@example.org\n"
	"auth = psk\n"
	"psk = 0x00112233445566778899aabbccddeeff\n"
	"ike = aes256gcm16-prfsha384-ecp384, aes128-sha256-modp2048\n"
	"esp = aes256gcm16-esn\n"
	"local-ts = 10.1.0.0/24, 10.3.0.0/16\n"
	"remote-ts = 10.2.0.0/24\n"
	"mode = tunnel\n"
	"start = trap\n"
	"close-action = start\n"
	"dpd = 30s\n"
	"rekey-time = 1h\n"
	"ike-rekey-time = 4h\n"
	"reauth-time = 12h\n"
	"life-time = 2h\n"
	"encap = yes\n"
	"fragmentation = no\n"
	"fragment-size = 576\n"
	"mark-in = 0x2a\n"
	"mark-out = 7/0xff\n"
	"if-id = 4096\n"
	"interface = ipsec-4096\n"
	"mtu = 1400\n"
	"\n"
	"[conn roadwarriors]\n"
	"remote = %any\n"
	"psk = plain text secret\n"
	"mode = transport\n";

static void test_good(void)
{
	struct xd_config cfg;
	char err[256] = "";
	const struct xd_conn *c;

	CHECK_INT(xd_config_parse(good, "good.conf", &cfg, err, sizeof(err)), 0);
	CHECK_MSG(err[0] == '\0', "unexpected error: %s", err);
	CHECK_INT(cfg.backend, XD_BACKEND_XFRM);
	CHECK_INT(cfg.n_listen, 2);
	CHECK_INT(cfg.log_level, XK_LOG_DEBUG);
	CHECK_INT(cfg.sub_level[XK_SUB_KERNEL], XK_LOG_WARNING);
	CHECK_INT(cfg.sub_level[XK_SUB_ESP], XK_LOG_ERROR);
	CHECK_INT(cfg.sub_level[XK_SUB_ENGINE], -1);
	CHECK(cfg.log_json);
	CHECK(cfg.user_set && cfg.user_found && cfg.uid == 0);
	CHECK(!cfg.install_routes);
	CHECK_INT(cfg.half_open_max, 100);
	CHECK_INT(cfg.half_open_max_ip, 0);
	CHECK_INT(cfg.init_max_len, 4096);
	CHECK_INT(cfg.cookie_threshold, 10);
	CHECK_INT(cfg.cookie_threshold_ip, 2);
	CHECK_INT(cfg.event_buffer, 65536);
	CHECK_INT(cfg.threads, 3);
	CHECK(strcmp(cfg.socket, "/run/test.sock") == 0);
	CHECK(strcmp(cfg.socket_group, "root") == 0);
	CHECK_INT(cfg.socket_gid, 0);
	CHECK_INT(cfg.socket_clients, 8);
	CHECK_INT(cfg.n_conns, 2);
	c = &cfg.conns[0];
	CHECK(strcmp(c->name, "site") == 0);
	CHECK_INT(c->psk_len, 16);
	CHECK_INT(c->psk[15], 0xff);
	CHECK_INT(c->n_ike, 2);
	CHECK_INT(c->n_esp, 1);
	CHECK_INT(c->n_local_ts, 2);
	CHECK_INT(c->n_remote_ts, 1);
	CHECK_INT(c->local_id.type, IKEV2_ID_FQDN);
	CHECK_INT(c->remote_id.type, IKEV2_ID_RFC822_ADDR);
	CHECK_INT(c->start, XD_START_TRAP);
	CHECK_INT(c->close_action, XD_START_START);
	{
		struct ike_conn_cfg ec;

		/* Closed by the peer: made again (close-action); lost: the trap's. */
		xd_conn_to_engine(c, &ec);
		CHECK(ec.recreate_closed && !ec.recreate_lost);
	}
	CHECK_INT(c->dpd_s, 30);
	CHECK_INT(c->rekey_s, 3600);
	CHECK_INT(c->ike_rekey_s, 4 * 3600);
	CHECK_INT(c->reauth_s, 12 * 3600);
	CHECK_INT(c->life_s, 7200);
	CHECK(c->encap);
	CHECK(!c->fragmentation);
	CHECK_INT(c->fragment_size, 576);
	CHECK_INT(c->tag_in.mark, 0x2a);
	CHECK_INT(c->tag_in.mark_mask, 0xffffffff);
	CHECK_INT(c->tag_out.mark, 7);
	CHECK_INT(c->tag_out.mark_mask, 0xff);
	CHECK_INT(c->tag_in.if_id, 4096);
	CHECK_INT(c->tag_out.if_id, 4096);
	CHECK(!strcmp(c->iface, "ipsec-4096"));
	CHECK_INT(c->mtu, 1400);
	CHECK(c->iface_live == NULL);
	c = &cfg.conns[1];
	/* IKE fragmentation on by default, at 1280 bytes. */
	CHECK(c->fragmentation);
	CHECK_INT(c->fragment_size, 1280);
	CHECK(!xk_tag_set(&c->tag_in) && !xk_tag_set(&c->tag_out));
	CHECK_INT(c->remote.family, 0);
	CHECK_INT(c->mode, XK_MODE_TRANSPORT);
	/* close-action follows start (none). */
	CHECK_INT(c->close_action, XD_START_NONE);
	/* Defaults filled in for proposals not given. */
	CHECK_INT(c->n_ike, 1);
	CHECK_INT(c->n_esp, 1);
	/* Reauthentication is off unless asked for. */
	CHECK_INT(c->reauth_s, 0);
	CHECK(xd_conn_same(&cfg.conns[0], &cfg.conns[0]));
	CHECK(!xd_conn_same(&cfg.conns[0], &cfg.conns[1]));
	{
		/* A changed reauth-time is a changed connection (reload). */
		struct xd_conn other = cfg.conns[0];

		other.reauth_s = 3600;
		CHECK(!xd_conn_same(&cfg.conns[0], &other));
		other = cfg.conns[0];
		other.fragment_size = 1400;
		CHECK(!xd_conn_same(&cfg.conns[0], &other));
		{
			struct ike_conn_cfg ec;

			memset(&ec, 0, sizeof(ec));
			xd_conn_to_engine(&cfg.conns[1], &ec);
			CHECK(ec.fragmentation);
			CHECK_INT(ec.fragment_size, 1280);
		}
		/* So is a changed mark. */
		other = cfg.conns[0];
		other.tag_out.mark = 8;
		CHECK(!xd_conn_same(&cfg.conns[0], &other));
	}
	xd_config_free(&cfg);
}

/* Each bad config, and the start of the message it must produce. */
static const struct {
	const char *text;
	const char *want;
} bad[] = {
	{ "[global]\nbackend = kernel\n", "t.conf:2: [global] backend: 'kernel' is not auto" },
	{ "[global]\nport = 70000\n", "t.conf:2: [global] port: '70000' is not a port" },
	{ "[global]\nfoo = 1\n", "t.conf:2: [global] foo: unknown key" },
	{ "[conn a]\npsk = x\nfragmentation = force\n",
	  "t.conf:3: [a] fragmentation: 'force' is not yes or no" },
	{ "[conn a]\npsk = x\nfragment-size = 575\n",
	  "t.conf:3: [a] fragment-size: '575' is not a size from 576 to 65535 bytes" },
	{ "[conn a]\npsk = x\nfragment-size = 65536\n",
	  "t.conf:3: [a] fragment-size: '65536' is not a size" },
	{ "[conn a]\npsk = x\nfragment-size = 1k\n",
	  "t.conf:3: [a] fragment-size: '1k' is not a size" },
	{ "[global]\nhalf-open-max = -1\n", "t.conf:2: [global] half-open-max: '-1' is not a number" },
	{ "[global]\nhalf-open-max-ip = many\n", "t.conf:2: [global] half-open-max-ip: 'many'" },
	{ "[global]\nike-sa-init-max = 100\n", "t.conf:2: [global] ike-sa-init-max: '100' is not 0 or a size" },
	{ "[global]\nthreads = 0\n", "t.conf:2: [global] threads: '0' is not a number from 1 to 256" },
	{ "[global]\nthreads = 257\n", "t.conf:2: [global] threads: '257' is not a number from 1 to 256" },
	{ "[global]\nkernel-event-buffer = 100\n",
	  "t.conf:2: [global] kernel-event-buffer: '100' is not 0 or a size" },
	{ "[global]\nlisten = 192.0.2.1, nope\n", "t.conf:2: [global] listen: 'nope'" },
	{ "[global]\nsocket = relative\n", "t.conf:2: [global] socket:" },
	{ "[global]\n\nsocket-group = no-such-group-xike\n",
	  "t.conf:3: [global] socket-group: 'no-such-group-xike' is not a group on this host" },
	{ "[global]\nsocket-clients = 0\n", "t.conf:2: [global] socket-clients: '0' is not a number from 1" },
	{ "[global]\nsocket-clients = lots\n", "t.conf:2: [global] socket-clients: 'lots'" },
	{ "[global]\nlog-level = loud\n", "t.conf:2: [global] log-level: 'loud'" },
	{ "[global]\nlog-level-ike = debug\n", "t.conf:2: [global] log-level-ike: unknown subsystem" },
	{ "[global]\nlog-level-engine = 2\n", "t.conf:2: [global] log-level-engine: '2' is not debug" },
	{ "[global]\nlog-format = xml\n", "t.conf:2: [global] log-format: 'xml' is not text or json" },
	{ "[global]\nuser = no-such-user-x\n", "t.conf:2: [global] user: no such user 'no-such-user-x'" },
	{ "[bogus]\nx = 1\n", "t.conf:2: [bogus] x: unknown section" },
	{ "[conn a]\npsk = x\n\n[conn a]\npsk = y\n", "t.conf:5: [conn a] psk: connection defined twice" },
	{ "[conn a]\npsk = x\nremote = 300.1.2.3\n", "t.conf:3: [a] remote: '300.1.2.3' is not an IP" },
	{ "[conn a]\npsk = x\nesp = aes128gcm16-sha999\n", "t.conf:3: [a] esp: unknown algorithm 'sha999'" },
	{ "[conn a]\npsk = x\nike = aes128gcm16\n", "t.conf:3: [a] ike:" },
	{ "[conn a]\npsk = x\nlocal-ts = 10.0.0.1/24\n", "t.conf:3: [a] local-ts: '10.0.0.1/24' is not a CIDR" },
	{ "[conn a]\npsk = x\nmode = tunel\n", "t.conf:3: [a] mode: 'tunel'" },
	{ "[conn a]\npsk = x\ndpd = soon\n", "t.conf:3: [a] dpd: 'soon' is not a duration" },
	{ "[conn a]\npsk = x\nauth = rsa\n", "t.conf:3: [a] auth: 'rsa' is not psk or pubkey" },
	{ "[conn a]\npsk = x\nremote-auth = eap\n", "t.conf:3: [a] remote-auth: 'eap' is not psk or pubkey" },
	{ "[conn a]\npsk = x\nsend-cert = sometimes\n", "t.conf:3: [a] send-cert: 'sometimes' is not always" },
	{ "[conn a]\npsk = x\nrevocation = hard\n", "t.conf:3: [a] revocation: 'hard' is not strict, ifuri or relaxed" },
	{ "[conn a]\npsk = x\nocsp-uri = https://192.0.2.1/\n", "t.conf:3: [a] ocsp-uri: 'https://192.0.2.1/' is not http://" },
	{ "[conn a]\npsk = x\nocsp-uri = http://ocsp.example.com:99999/\n", "t.conf:3: [a] ocsp-uri: 'http://ocsp.example.com:99999/' is not http://HOST[:PORT][/PATH]" },
	{ "[conn a]\npsk = x\nocsp-uri = http://[2001:db8::1:8080/\n", "t.conf:3: [a] ocsp-uri: " },
	{ "[conn a]\npsk = x\nauth = pubkey\n", "t.conf:1: [a] key: missing (auth = pubkey needs key and cert)" },
	{ "[conn a]\npsk = x\nremote-auth = pubkey\n", "t.conf:1: [a] ca: missing (remote-auth = pubkey needs ca)" },
	{ "[conn a]\nauth = pubkey\nremote-auth = psk\nkey = /nonexistent/k\ncert = /x\n", "t.conf:1: [a] psk: missing" },
	{ "[conn a]\nauth = pubkey\nkey = /nonexistent/k\ncert = /nonexistent/c\nca = /x\n", "t.conf:3: [a] key: /nonexistent/k:" },
	{ "[conn a]\npsk = 0x123\n", "t.conf:2: [a] psk: empty" },
	{ "[conn a]\npsk = x\nflavour = mint\n", "t.conf:3: [a] flavour: unknown key" },
	{ "[conn a]\nremote = 192.0.2.1\n", "t.conf:1: [a] psk: missing" },
	{ "[conn a]\npsk = x\nstart = start\n", "t.conf:1: [a] remote: start = start needs a remote" },
	{ "[conn a]\npsk = x\nreauth-time = 1h\n", "t.conf:1: [a] reauth-time: needs a remote address" },
	{ "[conn a]\npsk = x\nclose-action = restart\n", "t.conf:3: [a] close-action: 'restart' is not none, start or trap" },
	{ "[conn a]\npsk = x\nclose-action = start\n", "t.conf:1: [a] close-action: start needs a remote address" },
	{ "[conn a]\npsk = x\nremote = 192.0.2.1\nclose-action = trap\n", "t.conf:1: [a] local: trapping needs local" },
	{ "[conn a]\npsk = x\nreauth-time = often\n", "t.conf:3: [a] reauth-time: 'often' is not a duration" },
	{ "[conn a]\npsk = x\npsk-file = /nonexistent/psk\n", "t.conf:3: [a] psk-file: /nonexistent/psk:" },
	{ "[conn a]\npsk = x\nmark-in = 0x1ff/0xff\n", "t.conf:3: [a] mark-in: '0x1ff/0xff' is not VALUE[/MASK]" },
	{ "[conn a]\npsk = x\nmark-out = 1/0\n", "t.conf:3: [a] mark-out: '1/0' is not VALUE[/MASK]" },
	{ "[conn a]\npsk = x\nmark-out = -1\n", "t.conf:3: [a] mark-out: '-1' is not VALUE[/MASK]" },
	{ "[conn a]\npsk = x\nmark-in = 4294967296\n", "t.conf:3: [a] mark-in: '4294967296' is not" },
	{ "[conn a]\npsk = x\nmark-in = 0x000000000000000000000000000000000000000000000000000000000000000001\n",
	  "t.conf:3: [a] mark-in: '0x0000" },
	{ "[conn a]\npsk = x\nif-id = 0\n", "t.conf:3: [a] if-id: '0' is not a number from 1" },
	{ "[conn a]\npsk = x\nif-id = eth0\n", "t.conf:3: [a] if-id: 'eth0' is not a number" },
	{ "[conn a]\npsk = x\ninterface = vti0\n",
	  "t.conf:1: [a] interface: needs if-id (an XFRM interface) or mark-in and mark-out" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = a-name-of-16-byte\n",
	  "t.conf:4: [a] interface: 'a-name-of-16-byte' is not an interface name" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = vti:0\n", "t.conf:4: [a] interface: 'vti:0' is not" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = ..\n", "t.conf:4: [a] interface: '..' is not" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = a/b\n", "t.conf:4: [a] interface: 'a/b' is not" },
	{ "[conn a]\npsk = x\nif-id = 1\nmtu = 1400\n", "t.conf:1: [a] mtu: needs interface" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = x\n[conn b]\npsk = x\nif-id = 2\ninterface = x\n",
	  "t.conf:5: [b] interface: x is [conn a]'s too, with other marks, if-id or mtu" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = x\nmtu = 575\n",
	  "t.conf:5: [a] mtu: '575' is not an MTU from 576 to 65535" },
	{ "[conn a]\npsk = x\nif-id = 1\ninterface = x\nmtu = 65536\n", "t.conf:5: [a] mtu: '65536' is not" },
	{ "[child x]\nlocal-ts = 10.0.0.0/8\n", "t.conf:1: [x] conn: missing" },
	{ "[child x]\nconn = nope\n", "t.conf:2: [x] conn: no [conn nope]" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\n[child x]\nconn = a\n",
	  "t.conf:6: [child x] conn: child defined twice" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nstart = trap\n",
	  "t.conf:5: [x] start: trap is for a [conn] without [child] sections" },
	{ "[conn a]\npsk = x\nremote = 192.0.2.1\nstart = trap\nlocal = 192.0.2.2\n"
	  "[child x]\nconn = a\n",
	  "t.conf:1: [a] start: trap is for a [conn] without [child] sections" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nstart = start\n",
	  "t.conf:3: [x] start: needs a remote address in [conn a]" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nlocal-ts = 10.0.0.0/33\n",
	  "t.conf:5: [x] local-ts: '10.0.0.0/33' is not a CIDR" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nesp = nonsense\n", "t.conf:5: [x] esp: " },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nrekey-time = 1h\nlife-time = 30m\n",
	  "t.conf:3: [x] life-time: must be longer than rekey-time (3600s)" },
	{ "[conn a]\npsk = x\n[child x]\nconn = a\nif-id = 5\n",
	  "t.conf:5: [x] if-id: unknown key" },
	{ "[conn a]\npsk = x\n[child a/b]\nconn = a\n",
	  "t.conf:4: [child a/b] conn: child names are" },
	{ "[global\n", "t.conf:1: syntax error" },
	{ "[conn a]\nno equals sign here\n", "t.conf:2: syntax error" },
};

/*
 * [child] sections: each goes to the connection it names, in file order,
 * its keys not given taken from the connection; the conn starts when one
 * of them does; the engine's view carries them.
 */
static const char children_conf[] =
	"[conn gw]\n"
	"psk = 0x1234567890abcdef1234\n"
	"remote = 192.0.2.1\n"
	"local = 192.0.2.2\n"
	"esp = aes256gcm16\n"
	"rekey-time = 2h\n"
	"if-id = 7\n"
	"[child lan]\n"
	"conn = gw\n"
	"local-ts = 10.1.0.0/16\n"
	"remote-ts = 10.2.0.0/16, 10.3.0.0/16\n"
	"start = start\n"
	"[conn other]\n"
	"psk = 0x1234567890abcdef1234\n"
	"[child voip]\n"
	"conn = gw\n"
	"local-ts = 10.9.0.0/24\n"
	"remote-ts = 10.8.0.0/24\n"
	"esp = aes128gcm16\n"
	"mode = transport\n"
	"rekey-time = 10m\n";

static void test_children(void)
{
	struct xd_config cfg, again;
	char err[256] = "";
	const struct xd_conn *gw, *other;
	struct ike_conn_cfg ec;

	CHECK_INT(xd_config_parse(children_conf, "c.conf", &cfg, err, sizeof(err)), 0);
	CHECK_MSG(err[0] == '\0', "unexpected error: %s", err);
	CHECK_INT(cfg.n_conns, 2);
	if (cfg.n_conns != 2)
		return;
	gw = &cfg.conns[0];
	other = &cfg.conns[1];
	CHECK_INT(other->n_child, 0);
	CHECK_INT(gw->n_child, 2);
	if (gw->n_child == 2) {
		const struct xd_child *lan = &gw->child[0], *voip = &gw->child[1];

		CHECK(!strcmp(lan->name, "lan") && !strcmp(voip->name, "voip"));
		CHECK_INT(lan->n_remote_ts, 2);
		CHECK_INT(lan->start, XD_START_START);
		CHECK_INT(lan->close_action, XD_START_START);
		/* Not given: the connection's. */
		CHECK_INT(lan->rekey_s, 7200);
		CHECK_INT(lan->esp[0].xf[0].keybits, 256);
		CHECK_INT(lan->mode, XK_MODE_TUNNEL);
		CHECK_INT(voip->start, XD_START_NONE);
		CHECK_INT(voip->rekey_s, 600);
		CHECK_INT(voip->life_s, 660);
		CHECK_INT(voip->mode, XK_MODE_TRANSPORT);
		CHECK_INT(voip->esp[0].xf[0].keybits, 128);
	}
	/* One child that starts starts the connection. */
	CHECK_INT(gw->start, XD_START_START);
	xd_conn_to_engine(gw, &ec);
	CHECK_INT(ec.n_children, 2);
	if (ec.n_children == 2) {
		CHECK(!strcmp(ec.children[1].name, "voip"));
		CHECK(ec.children[0].start && !ec.children[1].start);
		CHECK(ec.children[0].recreate_closed && !ec.children[1].recreate_closed);
		CHECK_INT(ec.children[1].tag_in.if_id, 7);
	}
	/* Reload: the same text is the same; a changed child is a changed conn. */
	CHECK_INT(xd_config_parse(children_conf, "c.conf", &again, err, sizeof(err)), 0);
	CHECK(xd_conn_same(&cfg.conns[0], &again.conns[0]));
	again.conns[0].child[1].rekey_s = 601;
	CHECK(!xd_conn_same(&cfg.conns[0], &again.conns[0]));
	again.conns[0].n_child = 1;
	CHECK(!xd_conn_same(&cfg.conns[0], &again.conns[0]));
	again.conns[0].n_child = 2;
	xd_config_free(&again);
	xd_config_free(&cfg);
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xd_config cfg;
		char err[256] = "";
		int r = xd_config_parse(bad[i].text, "t.conf", &cfg, err, sizeof(err));

		CHECK_MSG(r < 0, "case %zu accepted: %s", i, bad[i].text);
		if (r == 0)
			xd_config_free(&cfg);
		CHECK_MSG(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0,
			  "case %zu: got \"%s\", want \"%s...\"", i, err, bad[i].want);
		/* No secret ever appears in a message. */
		CHECK(!strstr(err, "0x123"));
	}
}

/* A psk-file other users can read is refused; the group may read it. */
static void test_psk_file_mode(void)
{
	char path[] = "/tmp/xike-psk-XXXXXX", text[256], err[256];
	struct xd_config cfg;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, "a shared secret of some length\n", 31) == 31);
	close(fd);
	snprintf(text, sizeof(text), "[conn a]\npsk-file = %s\n", path);
	for (int i = 0; i < 3; i++) {
		static const mode_t modes[] = { 0644, 0604, 0640 };
		int r;

		chmod(path, modes[i]);
		err[0] = '\0';
		r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
		if (i < 2) {
			CHECK_MSG(r < 0 && strstr(err, "t.conf:2: [a] psk-file:") &&
					  strstr(err, "lets other users at it"),
				  "mode %04o: %s", (unsigned)modes[i], err);
		} else {
			CHECK_MSG(r == 0, "mode 0640 refused: %s", err);
			if (r == 0)
				xd_config_free(&cfg);
		}
	}
	unlink(path);
}

static void put_file(char *path, const uint8_t *data, size_t len, mode_t mode)
{
	CHECK(certs_put_file(path, data, len, mode) == 0);
}

struct pki_files {
	char key[32], cert[32], ca[32], crl[32];
};

static void pki_files_make(struct pki_files *f)
{
	EVP_PKEY *cak = certs_key("EC", "P-256", 0), *k = certs_key("ED25519", NULL, 0);
	X509 *ca = certs_ca("config test CA", cak, NULL, NULL);
	X509 *ee = certs_make(&(struct certs_spec){.cn = "gw", .key = k, .issuer = ca, .ikey = cak,
						   .san = "DNS:gw.example.org"});
	X509_CRL *crl = certs_crl(ca, cak, NULL, 0, 30 * CERTS_DAY);
	uint8_t *b;
	size_t n;

	strcpy(f->key, "/tmp/xike-key-XXXXXX");
	strcpy(f->cert, "/tmp/xike-crt-XXXXXX");
	strcpy(f->ca, "/tmp/xike-ca-XXXXXX");
	strcpy(f->crl, "/tmp/xike-crl-XXXXXX");
	b = certs_key_pem(k, &n);
	put_file(f->key, b, n, 0640);
	free(b);
	b = certs_pem(ee, &n);
	put_file(f->cert, b, n, 0644);
	free(b);
	b = certs_pem(ca, &n);
	put_file(f->ca, b, n, 0644);
	free(b);
	b = certs_crl_der(crl, &n);
	put_file(f->crl, b, n, 0644);
	free(b);
	X509_CRL_free(crl);
	X509_free(ee);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
}

static void rewrite_ca(const char *path)
{
	EVP_PKEY *k = certs_key("EC", "P-256", 0);
	X509 *ca = certs_ca("another CA", k, NULL, NULL);
	size_t n;
	uint8_t *b = certs_pem(ca, &n);
	FILE *fp = fopen(path, "w");

	CHECK(fp && fwrite(b, 1, n, fp) == n);
	if (fp)
		fclose(fp);
	free(b);
	X509_free(ca);
	EVP_PKEY_free(k);
}

static void count_signer(void *ctx, const struct ike_cert_info *in)
{
	if (in->role == IKE_CERT_OCSP_SIGNER)
		++*(size_t *)ctx;
}

/*
 * auth = pubkey: the files become the engine's credential and trust; a
 * key file others can read is refused; a changed file makes the conn
 * differ for a reload; a PSK one way and a signature the other.
 */
static void test_pubkey(void)
{
	struct pki_files f;
	struct xd_config cfg, again;
	struct ike_conn_cfg ec;
	char text[1024], err[256] = "";
	int r;

	pki_files_make(&f);
	snprintf(text, sizeof(text),
		 "[conn a]\nauth = pubkey\ncert = %s\nkey = %s\nca = %s , %s\ncrl = %s\n"
		 "send-cert = ifasked\nlocal-id = gw.example.org\nrevocation = strict\n"
		 "ocsp-uri = http://[2001:db8::5]:2560/ocsp\n",
		 f.cert, f.key, f.ca, f.ca, f.crl);
	/* A responder by name: looked up when asked, not when loaded. */
	CHECK(xd_config_parse("[conn n]\npsk = x\nocsp-uri = http://ocsp.example.com:8080/o\n",
			      "t.conf", &again, err, sizeof(err)) == 0);
	CHECK(strcmp(again.conns[0].ocsp_uri, "http://ocsp.example.com:8080/o") == 0);
	xd_config_free(&again);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r == 0, "pubkey conn refused: %s", err);
	if (r == 0) {
		xd_conn_to_engine(&cfg.conns[0], &ec);
		CHECK(ec.local_auth == IKE_AUTH_PUBKEY && ec.remote_auth == IKE_AUTH_PUBKEY);
		CHECK(ec.cred != NULL && ec.trust != NULL && ec.psk_len == 0);
		CHECK(ec.send_cert == IKE_SEND_CERT_IFASKED);
		CHECK(ec.revocation == IKE_REVOCATION_STRICT && ec.ocsp_uri);
		CHECK(strcmp(cfg.conns[0].ocsp_uri, "http://[2001:db8::5]:2560/ocsp") == 0);
		CHECK(ike_cred_cert(ec.cred, 0, &(size_t){0}) != NULL);
		CHECK(xd_config_parse(text, "t.conf", &again, err, sizeof(err)) == 0);
		CHECK(xd_conn_same(&cfg.conns[0], &again.conns[0]));
		xd_config_free(&again);
		/* Another CA in the same file: a changed conn for a reload. */
		rewrite_ca(f.ca);
		CHECK(xd_config_parse(text, "t.conf", &again, err, sizeof(err)) == 0);
		CHECK(!xd_conn_same(&cfg.conns[0], &again.conns[0]));
		xd_config_free(&again);
		xd_config_free(&cfg);
	}

	chmod(f.key, 0644);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r < 0 && strstr(err, "t.conf:4: [a] key: ") && strstr(err, "other users"),
		  "readable key: %s", err);
	if (r == 0)
		xd_config_free(&cfg);
	chmod(f.key, 0600);

	snprintf(text, sizeof(text),
		 "[conn a]\nauth = pubkey\nremote-auth = psk\npsk = a shared secret of 16+\n"
		 "cert = %s\nkey = %s\n",
		 f.cert, f.key);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r == 0, "pubkey/psk conn refused: %s", err);
	if (r == 0) {
		xd_conn_to_engine(&cfg.conns[0], &ec);
		CHECK(ec.local_auth == IKE_AUTH_PUBKEY && ec.remote_auth == IKE_AUTH_PSK);
		CHECK(ec.trust == NULL && ec.psk_len > 0);
		xd_config_free(&cfg);
	}

	/* ocsp-trust: responder certificates beside the CAs; a file of none named. */
	snprintf(text, sizeof(text),
		 "[conn a]\nauth = psk\npsk = a shared secret of 16+\nremote-auth = pubkey\n"
		 "ca = %s\nocsp-trust = %s\n",
		 f.ca, f.cert);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r == 0, "ocsp-trust refused: %s", err);
	if (r == 0) {
		size_t n = 0;
		const struct ike_der *s = ike_trust_ocsp_signers(cfg.conns[0].trust, &n);

		CHECK_INT(n, 1);
		CHECK(s && s[0].len > 100 && s[0].p[0] == 0x30);
		/* list-certs names it beside the CA. */
		n = 0;
		ike_trust_visit(cfg.conns[0].trust, count_signer, &n);
		CHECK_INT(n, 1);
		xd_config_free(&cfg);
	}
	snprintf(text, sizeof(text),
		 "[conn a]\nauth = psk\npsk = a shared secret of 16+\nremote-auth = pubkey\n"
		 "ca = %s\nocsp-trust = %s\n",
		 f.ca, f.crl);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r < 0 && strstr(err, "t.conf:6: [a] ocsp-trust: ") && strstr(err, f.crl),
		  "ocsp-trust of a CRL: %s", err);
	if (r == 0)
		xd_config_free(&cfg);

	/* The certificate is not this key's. */
	snprintf(text, sizeof(text),
		 "[conn a]\nauth = pubkey\nremote-auth = psk\npsk = a shared secret of 16+\n"
		 "cert = %s\nkey = %s\n",
		 f.ca, f.key);
	r = xd_config_parse(text, "t.conf", &cfg, err, sizeof(err));
	CHECK_MSG(r < 0 && strstr(err, "t.conf:5: [a] cert: "), "wrong cert: %s", err);
	if (r == 0)
		xd_config_free(&cfg);
	unlink(f.key);
	unlink(f.cert);
	unlink(f.ca);
	unlink(f.crl);
}

/* The control socket without a group: root only, 64 clients. */
static void test_socket_defaults(void)
{
	struct xd_config cfg;
	char err[256] = "";

	CHECK_INT(xd_config_parse("[global]\nport = 500\n", "t.conf", &cfg, err, sizeof(err)), 0);
	CHECK(strcmp(cfg.socket, "/run/xike/xiked.sock") == 0);
	CHECK(cfg.socket_group[0] == '\0');
	CHECK_INT(cfg.socket_clients, 64);
	xd_config_free(&cfg);
}

static void test_duration(void)
{
	CHECK_INT(xd_parse_duration("0"), 0);
	CHECK_INT(xd_parse_duration("45"), 45);
	/* Too large once in seconds: refused, not wrapped (fuzz_config's finding). */
	CHECK_INT(xd_parse_duration("6345880684084477939d"), -1);
	CHECK_INT(xd_parse_duration("106751991167301d"), -1);
	CHECK(xd_parse_duration("106751991167300d") == 106751991167300L * 86400);
	CHECK_INT(xd_parse_duration("153722867280912931m"), -1);
	CHECK_INT(xd_parse_duration("30s"), 30);
	CHECK_INT(xd_parse_duration("5m"), 300);
	CHECK_INT(xd_parse_duration("1h"), 3600);
	CHECK_INT(xd_parse_duration("2d"), 172800);
	CHECK_INT(xd_parse_duration(""), -1);
	CHECK_INT(xd_parse_duration("1x"), -1);
	CHECK_INT(xd_parse_duration("1hh"), -1);
	CHECK_INT(xd_parse_duration("-1"), -1);
}

int main(void)
{
	xk_log_set_level(XK_LOG_ERROR);
	test_good();
	test_bad();
	test_children();
	test_psk_file_mode();
	test_pubkey();
	test_socket_defaults();
	test_duration();
	return check_done("config");
}
