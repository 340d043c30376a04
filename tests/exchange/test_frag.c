/* SPDX-License-Identifier: ISC */
/*
 * IKE fragmentation (RFC 7383) between two engines.  A small fragment
 * size splits IKE_AUTH and CREATE_CHILD_SA into several SKF fragments,
 * which arrive in order, reversed, with one lost (the retransmission
 * completes it, and only fragment 1 of a retransmitted request brings the
 * reply again), duplicated, or beside a forged copy; every datagram fits
 * the fragment size with its IP, UDP and NAT-T headers.  Forged fragments
 * with the SA's real keys test the bounds: Total Fragments going down
 * and up mid-message, too many fragments, too many bytes, and SKF to a
 * peer that did not negotiate fragmentation.  Last, a realistic RSA-3072
 * certificate chain: IKE_AUTH does not fit 1280 bytes, goes out in
 * fragments and completes.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "certs.h"
#include "check.h"
#include "ike/cert.h"
#include "ike/engine.h"
#include "ike/ike_sa.h"
#include "world.h"

#define IKE	"aes128gcm16-prfsha256-x25519"
#define IKE_CBC "aes256-sha256-prfsha256-ecp256"
#define ESP	"aes128gcm16"
#define PSK	"a shared secret of some length"
#define SMALL	200 /* bytes of IP datagram: PSK IKE_AUTH takes several */

struct conf {
	bool frag[2];
	uint16_t size[2];
	bool encap;
	/* certificates, for the last test */
	struct ike_cred *cred[2];
	struct ike_trust *trust[2];
};

struct conf_side {
	const struct conf *c;
	int idx;
};

static const char *const names[2] = {"gw0.example.org", "gw1.example.org"};

static void edit(struct ike_conn_cfg *cc, void *ctx)
{
	const struct conf_side *s = ctx;

	cc->fragmentation = s->c->frag[s->idx];
	cc->fragment_size = s->c->size[s->idx];
	cc->force_encap = s->c->encap;
	if (s->c->cred[s->idx]) {
		cc->local_auth = cc->remote_auth = IKE_AUTH_PUBKEY;
		cc->cred = s->c->cred[s->idx];
		cc->trust = s->c->trust[s->idx];
		ike_id_parse(names[s->idx], &cc->local_id);
		ike_id_parse(names[1 - s->idx], &cc->remote_id);
	}
}

/* What went over the wire, by sender. */
struct tally {
	unsigned skf[2];     /* SKF datagrams */
	unsigned auth_sk[2]; /* IKE_AUTH in one SK payload */
	unsigned ccs_skf[2]; /* CREATE_CHILD_SA fragments */
	size_t max_dgram[2]; /* the largest SKF datagram with IP/UDP/marker headers */
	size_t max_auth[2];  /* the largest unfragmented IKE_AUTH datagram */
};

/* What a filter does to fragments. */
enum mangle {
	M_NONE,
	M_REVERSE,    /* each fragmented message's fragments in reverse order */
	M_LOSE_REQ2,  /* lose fragment 2 of the first IKE_AUTH request */
	M_LOSE_RESP1, /* lose fragment 1 of the first IKE_AUTH response */
	M_DUPLICATE,  /* every fragment twice */
	M_FORGE,      /* a forged copy (bad ICV) before every fragment 2 */
};

struct ctx {
	enum mangle m;
	struct tally t;
	struct w_pkt *held[64];
	size_t n_held;
	bool done;
};

static bool is_skf(const struct w_pkt *p)
{
	return p->len > 36 && p->buf[16] == IKEV2_PL_SKF;
}

static uint16_t frag_num(const struct w_pkt *p)
{
	return get_be16(p->buf + 32);
}

static uint16_t frag_total(const struct w_pkt *p)
{
	return get_be16(p->buf + 34);
}

static struct w_pkt *dup_pkt(const struct w_pkt *p)
{
	struct w_pkt *c = malloc(sizeof(*c));

	CHECK(c != NULL);
	memcpy(c, p, sizeof(*c));
	c->copy = true;
	return c;
}

static size_t dgram_len(const struct w_pkt *p)
{
	size_t ip = p->src.family == XK_AF_INET6 ? 40 : 20;

	return p->len + ip + 8 + (p->src.port == 4500 ? 4 : 0);
}

static bool filter(struct world *w, struct w_pkt *p, unsigned seq)
{
	struct ctx *c = w->filter_ctx;
	int from = 1 - p->to;
	uint8_t exch = p->buf[18];
	bool resp = p->buf[19] & IKEV2_FLAG_RESPONSE;

	(void)seq;
	if (p->copy)
		return true;
	if (!is_skf(p)) {
		if (exch == IKEV2_EXCH_IKE_AUTH) {
			c->t.auth_sk[from]++;
			if (dgram_len(p) > c->t.max_auth[from])
				c->t.max_auth[from] = dgram_len(p);
		}
		return true;
	}
	c->t.skf[from]++;
	if (exch == IKEV2_EXCH_CREATE_CHILD_SA)
		c->t.ccs_skf[from]++;
	if (dgram_len(p) > c->t.max_dgram[from])
		c->t.max_dgram[from] = dgram_len(p);
	switch (c->m) {
	case M_NONE: return true;
	case M_REVERSE:
		c->held[c->n_held++] = dup_pkt(p);
		if (frag_num(p) == frag_total(p)) {
			while (c->n_held)
				world_put(w, c->held[--c->n_held]);
		}
		return false;
	case M_LOSE_REQ2:
		if (!c->done && !resp && exch == IKEV2_EXCH_IKE_AUTH && frag_num(p) == 2) {
			c->done = true;
			return false;
		}
		return true;
	case M_LOSE_RESP1:
		if (!c->done && resp && exch == IKEV2_EXCH_IKE_AUTH && frag_num(p) == 1) {
			c->done = true;
			return false;
		}
		return true;
	case M_DUPLICATE:
		/* The copy right after it, ahead of the rest of the queue. */
		if (w->q_len < W_MAX_PKTS) {
			memmove(w->q + 1, w->q, w->q_len * sizeof(w->q[0]));
			w->q[0] = dup_pkt(p);
			w->q_len++;
		}
		return true;
	case M_FORGE:
		if (frag_num(p) == 2) {
			struct w_pkt *f = dup_pkt(p);

			f->buf[f->len - 1] ^= 0x40; /* the ICV */
			world_put(w, f);
			world_put(w, dup_pkt(p));
			return false;
		}
		return true;
	}
	return true;
}

static void setup(struct world *w, struct ctx *c, const struct conf *conf, bool v6,
		  struct conf_side sides[2], const char *ike)
{
	struct ike_engine_cfg cfg;

	ike_engine_cfg_defaults(&cfg);
	world_init(w, &cfg, &cfg, v6);
	w->wall = CERTS_NOW;
	w->filter = filter;
	w->filter_ctx = c;
	for (int i = 0; i < 2; i++) {
		sides[i] = (struct conf_side){conf, i};
		CHECK_INT(world_conn_edit(w, i, "c", ike, ESP, conf->cred[i] ? NULL : PSK, false,
					  edit, &sides[i]),
			  0);
	}
}

static void stats(struct world *w, int i, struct ike_stats *s)
{
	ike_engine_stats(w->p[i].e, s);
}

/* Both ends up with one CHILD_SA each, the same keys. */
static void expect_up(struct world *w, const char *what)
{
	for (int i = 0; i < 2; i++)
		CHECK_MSG(world_events(&w->p[i], IKE_EV_IKE_UP) == 1 &&
			      world_events(&w->p[i], IKE_EV_CHILD_UP) >= 1,
			  "%s: peer %d up %zu child %zu", what, i,
			  world_events(&w->p[i], IKE_EV_IKE_UP),
			  world_events(&w->p[i], IKE_EV_CHILD_UP));
}

/*
 * All delivered: IKE_AUTH in fragments both ways, a CHILD_SA rekey too,
 * every datagram within the size with its headers (IPv4, IPv6, NAT-T).
 */
static void test_plain(bool v6, bool encap, const char *ike)
{
	struct conf conf = {.frag = {true, true}, .size = {SMALL, SMALL}, .encap = encap};
	struct conf_side sides[2];
	struct ctx c = {0};
	struct world w;
	struct ike_stats s[2];
	uint64_t spi;
	struct ike_sa *sa;

	setup(&w, &c, &conf, v6, sides, ike);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 60000);
	expect_up(&w, "plain");
	for (int i = 0; i < 2; i++) {
		CHECK_MSG(c.t.skf[i] >= 2, "peer %d sent %u fragments", i, c.t.skf[i]);
		CHECK_INT(c.t.auth_sk[i], 0);
		/* Never larger than the size, and not far below it (the split is tight). */
		CHECK_MSG(c.t.max_dgram[i] <= SMALL && c.t.max_dgram[i] > SMALL - 20,
			  "peer %d largest fragment %zu of %u (v6 %d encap %d)", i,
			  c.t.max_dgram[i], SMALL, v6, encap);
		spi = world_sa_spi(&w.p[i]);
		sa = ike_engine_find_sa(w.p[i].e, spi);
		CHECK(sa && sa->frag);
		if (encap)
			CHECK(sa && sa->local.port == 4500);
	}
	/* A CHILD_SA rekey: CREATE_CHILD_SA fragmented too. */
	spi = world_sa_spi(&w.p[0]);
	CHECK(world_event(&w.p[0], IKE_EV_CHILD_UP) != NULL);
	CHECK_INT(ike_engine_rekey_child(w.p[0].e, spi,
					 world_event(&w.p[0], IKE_EV_CHILD_UP)->child_spi_in),
		  0);
	world_run(&w, 60000);
	CHECK_MSG(world_events(&w.p[0], IKE_EV_CHILD_UP) == 2, "rekeyed %zu",
		  world_events(&w.p[0], IKE_EV_CHILD_UP));
	CHECK(c.t.ccs_skf[0] >= 2 && c.t.ccs_skf[1] >= 2);
	stats(&w, 0, &s[0]);
	stats(&w, 1, &s[1]);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(s[i].tx_fragments, c.t.skf[i]);
		CHECK_INT(s[i].rx_fragments, c.t.skf[1 - i]);
		CHECK_INT(s[i].rx_reassembled, 2);
		CHECK_INT(s[i].rx_frag_dropped, 0);
	}
	world_free(&w);
}

static void test_mangled(enum mangle m, const char *what)
{
	struct conf conf = {.frag = {true, true}, .size = {SMALL, SMALL}};
	struct conf_side sides[2];
	struct ctx c = {.m = m};
	struct world w;
	struct ike_stats s[2];

	setup(&w, &c, &conf, false, sides, IKE);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 120000);
	expect_up(&w, what);
	stats(&w, 0, &s[0]);
	stats(&w, 1, &s[1]);
	switch (m) {
	case M_REVERSE:
		CHECK_INT(s[0].rx_reassembled, 1);
		CHECK_INT(s[1].rx_reassembled, 1);
		CHECK_INT(s[0].retransmits, 0);
		break;
	case M_LOSE_REQ2:
		/* The request again, all of it: the kept ones are duplicates now. */
		CHECK_INT(s[0].retransmits, 1);
		CHECK_MSG(s[1].rx_frag_dropped >= 1, "dropped %llu",
			  (unsigned long long)s[1].rx_frag_dropped);
		CHECK_INT(s[1].responses_resent, 0);
		break;
	case M_LOSE_RESP1:
		/*
		 * The whole request came again; only its fragment 1 brought the
		 * reply again, the others are of an old message ID.
		 */
		CHECK_INT(s[0].retransmits, 1);
		CHECK_INT(s[1].responses_resent, 1);
		CHECK(s[1].rx_unexpected >= 1);
		break;
	case M_DUPLICATE:
		CHECK(s[0].rx_frag_dropped >= 1 && s[1].rx_frag_dropped >= 1);
		CHECK_INT(s[0].retransmits, 0);
		break;
	case M_FORGE:
		CHECK(s[0].rx_bad_icv >= 1 && s[1].rx_bad_icv >= 1);
		CHECK_INT(s[0].retransmits, 0);
		break;
	case M_NONE: break;
	}
	world_free(&w);
}

/* ---- forged fragments with the SA's real keys ---- */

/* An inner chain: one status notify (unknown type, ignored) with len octets of data. */
static size_t inner_chain(uint8_t *buf, size_t len)
{
	size_t n = 8 + len;

	buf[0] = 0;
	buf[1] = 0;
	put_be16(buf + 2, (uint16_t)n);
	buf[4] = 0; /* protocol */
	buf[5] = 0; /* SPI size */
	put_be16(buf + 6, 40123);
	memset(buf + 8, 0x5a, len);
	return n;
}

/*
 * Fragment num of total from peer `from` as a request with message ID mid,
 * holding data, sealed with the SA's keys; handed straight to the other
 * peer's engine.
 */
static void send_frag(struct world *w, int from, uint32_t mid, uint16_t num, uint16_t total,
		      const uint8_t *data, size_t len)
{
	struct ike_sa *sa = ike_engine_find_sa(w->p[from].e, world_sa_spi(&w->p[from]));
	static uint8_t buf[4096];
	struct ike_sk_ctx sk;
	struct ike_mb mb;
	struct ike_hdr hdr;
	int n;

	CHECK(sa != NULL);
	if (!sa)
		return;
	hdr = (struct ike_hdr){
	    .spi_i = sa->spi_i,
	    .spi_r = sa->spi_r,
	    .exch = IKEV2_EXCH_INFORMATIONAL,
	    .flags = sa->initiator ? IKEV2_FLAG_INITIATOR : 0,
	    .mid = mid,
	};
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_skf_begin(&mb, ike_encr_iv_len(sa->suite.encr), num, total, IKEV2_PL_NOTIFY);
	bw_bytes(&mb.w, data, len);
	ike_sa_sk_ctx(sa, true, &sk);
	n = ike_mb_sk_seal(&mb, &sk, NULL);
	CHECK(n > 0);
	if (n > 0)
		ike_engine_input(w->p[1 - from].e, &sa->remote, &sa->local, buf, (size_t)n);
}

static struct ike_sa *peer_sa(struct world *w, int i)
{
	return ike_engine_find_sa(w->p[i].e, world_sa_spi(&w->p[i]));
}

static void test_bounds(void)
{
	struct conf conf = {.frag = {true, true}, .size = {SMALL, SMALL}};
	struct conf_side sides[2];
	struct ctx c = {0};
	struct world w;
	struct ike_stats s0, s1;
	uint8_t inner[64], big[1100];
	size_t n = inner_chain(inner, 22); /* 30 octets */
	struct ike_sa *r;
	uint32_t mid;

	setup(&w, &c, &conf, false, sides, IKE);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 60000);
	expect_up(&w, "bounds");
	r = peer_sa(&w, 1);
	CHECK(r != NULL);
	if (!r) {
		world_free(&w);
		return;
	}
	mid = r->mid_expect;
	stats(&w, 1, &s0);

	/* Total Fragments going down: the smaller one is dropped. */
	send_frag(&w, 0, mid, 1, 3, inner, 10);
	send_frag(&w, 0, mid, 2, 2, inner + 10, 20);
	stats(&w, 1, &s1);
	CHECK_INT(s1.rx_frag_dropped - s0.rx_frag_dropped, 1);
	CHECK_INT(r->mid_expect, mid);
	/* A duplicate of fragment 1 is dropped; the rest completes the message. */
	send_frag(&w, 0, mid, 1, 3, inner, 10);
	send_frag(&w, 0, mid, 3, 3, inner + 20, n - 20);
	CHECK_INT(r->mid_expect, mid);
	send_frag(&w, 0, mid, 2, 3, inner + 10, 10);
	CHECK_INT(r->mid_expect, mid + 1);
	stats(&w, 1, &s1);
	CHECK_INT(s1.rx_frag_dropped - s0.rx_frag_dropped, 2);
	CHECK_INT(s1.rx_reassembled - s0.rx_reassembled, 1);
	CHECK_INT(s1.rx_malformed, s0.rx_malformed);
	mid++;

	/* Total Fragments going up: the sender split anew, start over with it. */
	send_frag(&w, 0, mid, 1, 2, inner, 15);
	send_frag(&w, 0, mid, 1, 3, inner, 10);
	send_frag(&w, 0, mid, 2, 3, inner + 10, 10);
	CHECK_INT(r->mid_expect, mid);
	/* fragment 2 of the old split would complete the old message: no more */
	send_frag(&w, 0, mid, 2, 2, inner + 15, n - 15);
	CHECK_INT(r->mid_expect, mid);
	send_frag(&w, 0, mid, 3, 3, inner + 20, n - 20);
	CHECK_INT(r->mid_expect, mid + 1);
	mid++;
	stats(&w, 0, &s0);
	stats(&w, 1, &s1);

	/* Too many fragments: dropped before anything is kept. */
	send_frag(&w, 0, mid, 1, 65, inner, 10);
	CHECK(r->frx[0] == NULL);
	/* Too many bytes: 64 fragments of 1100 octets exceed a message. */
	memset(big, 0, sizeof(big));
	for (uint16_t i = 1; i <= 64; i++)
		send_frag(&w, 0, mid, i, 64, big, sizeof(big));
	CHECK_INT(r->mid_expect, mid);
	stats(&w, 1, &s1);
	CHECK_MSG(s1.rx_frag_dropped - s0.rx_frag_dropped >= 2, "dropped %llu",
		  (unsigned long long)(s1.rx_frag_dropped - s0.rx_frag_dropped));
	/* A forged fragment (bad ICV) is dropped and counted, nothing kept. */
	{
		struct ike_sa *sa0 = peer_sa(&w, 0);
		uint8_t *key = sa0->initiator ? sa0->keys.sk_ei : sa0->keys.sk_er;

		/* Fragment 1 is not kept (the too-large message started over after it). */
		key[0] ^= 1;
		send_frag(&w, 0, mid, 1, 64, inner, 10);
		key[0] ^= 1;
		stats(&w, 1, &s0);
		CHECK_INT(s0.rx_bad_icv - s1.rx_bad_icv, 1);
	}
	/* The SA lives on: a liveness check still works. */
	world_run(&w, 10000);
	peer_sa(&w, 0)->mid_next = r->mid_expect;
	CHECK_INT(ike_engine_liveness(w.p[0].e, world_sa_spi(&w.p[0])), 0);
	world_run(&w, 10000);
	CHECK(peer_sa(&w, 0) && peer_sa(&w, 0)->state == IKE_S_ESTABLISHED);
	CHECK_INT(world_events(&w.p[0], IKE_EV_IKE_DOWN), 0);
	world_free(&w);
}

/* One end without fragmentation: none is used, and SKF sent to it is dropped. */
static void test_not_negotiated(void)
{
	struct conf conf = {.frag = {true, false}, .size = {SMALL, SMALL}};
	struct conf_side sides[2];
	struct ctx c = {0};
	struct world w;
	struct ike_stats s;
	uint8_t inner[64];
	size_t n = inner_chain(inner, 8);
	struct ike_sa *r;
	uint32_t mid;

	setup(&w, &c, &conf, false, sides, IKE);
	CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
	world_run(&w, 60000);
	expect_up(&w, "not negotiated");
	CHECK_INT(c.t.skf[0] + c.t.skf[1], 0);
	CHECK(c.t.auth_sk[0] == 1 && c.t.auth_sk[1] == 1);
	CHECK_MSG(c.t.max_auth[0] > SMALL, "IKE_AUTH %zu", c.t.max_auth[0]);
	r = peer_sa(&w, 1);
	CHECK(r && !r->frag && peer_sa(&w, 0) && !peer_sa(&w, 0)->frag);
	if (r) {
		mid = r->mid_expect;
		send_frag(&w, 0, mid, 1, 1, inner, n);
		stats(&w, 1, &s);
		CHECK_INT(s.rx_frag_dropped, 1);
		CHECK_INT(s.rx_fragments, 0);
		CHECK_INT(r->mid_expect, mid);
		CHECK(r->frx[0] == NULL);
	}
	world_free(&w);
}

/* ---- a realistic certificate chain ---- */

static void append_pem(uint8_t **buf, size_t *len, X509 *x)
{
	size_t n;
	uint8_t *pem = certs_pem(x, &n);

	*buf = realloc(*buf, *len + n);
	memcpy(*buf + *len, pem, n);
	*len += n;
	free(pem);
}

static void test_certs(void)
{
	EVP_PKEY *root_key = certs_key("RSA", NULL, 3072);
	EVP_PKEY *int_key = certs_key("RSA", NULL, 3072);
	EVP_PKEY *ee_key = certs_key("RSA", NULL, 3072);
	X509 *root = certs_ca("xike test root", root_key, NULL, NULL);
	X509 *inter = certs_ca("xike test intermediate", int_key, root, root_key);
	struct conf conf = {.frag = {true, true}};
	const char *why = NULL;
	uint8_t *kpem;
	size_t klen;

	kpem = certs_key_pem(ee_key, &klen);
	for (int i = 0; i < 2; i++) {
		char san[64];
		struct certs_spec spec = {
		    .cn = names[i],
		    .key = ee_key,
		    .issuer = inter,
		    .ikey = int_key,
		    .ku = "critical,digitalSignature",
		    .san = san,
		    .serial = 10 + i,
		};
		X509 *ee;
		uint8_t *bundle = NULL, *der;
		size_t blen = 0, dlen;

		snprintf(san, sizeof(san), "DNS:%s", names[i]);
		ee = certs_make(&spec);
		CHECK_INT(ike_cred_new(kpem, klen, &conf.cred[i], &why), 0);
		append_pem(&bundle, &blen, ee);
		append_pem(&bundle, &blen, inter);
		CHECK_INT(ike_cred_add_certs(conf.cred[i], bundle, blen, &why), 0);
		conf.trust[i] = ike_trust_new();
		der = certs_der(root, &dlen);
		CHECK_INT(ike_trust_add_ca(conf.trust[i], der, dlen, &why), 0);
		free(der);
		free(bundle);
		X509_free(ee);
	}
	free(kpem);

	/* Without fragmentation IKE_AUTH exceeds 1280 bytes... */
	for (int frag = 0; frag < 2; frag++) {
		struct conf_side sides[2];
		struct ctx c = {0};
		struct world w;

		conf.frag[0] = conf.frag[1] = frag;
		setup(&w, &c, &conf, true, sides, IKE);
		CHECK_INT(ike_engine_initiate(w.p[0].e, "c", NULL), 0);
		world_run(&w, 60000);
		expect_up(&w, frag ? "certificates, fragmented" : "certificates, whole");
		if (!frag) {
			CHECK_MSG(c.t.max_auth[0] > IKE_FRAG_SIZE_DEFAULT &&
				      c.t.max_auth[1] > IKE_FRAG_SIZE_DEFAULT,
				  "IKE_AUTH %zu / %zu bytes", c.t.max_auth[0], c.t.max_auth[1]);
		} else {
			/* ... with it, it goes in fragments of at most 1280 over IPv6. */
			CHECK_INT(c.t.auth_sk[0] + c.t.auth_sk[1], 0);
			CHECK_MSG(c.t.skf[0] >= 3 && c.t.skf[1] >= 3, "fragments %u / %u",
				  c.t.skf[0], c.t.skf[1]);
			CHECK(c.t.max_dgram[0] <= IKE_FRAG_SIZE_DEFAULT &&
			      c.t.max_dgram[1] <= IKE_FRAG_SIZE_DEFAULT);
		}
		world_free(&w);
	}
	for (int i = 0; i < 2; i++) {
		ike_cred_free(conf.cred[i]);
		ike_trust_free(conf.trust[i]);
	}
	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(ee_key);
}

int main(void)
{
	test_plain(false, false, IKE);
	test_plain(true, false, IKE);
	test_plain(false, true, IKE);
	test_plain(true, true, IKE_CBC);
	test_mangled(M_REVERSE, "reversed");
	test_mangled(M_LOSE_REQ2, "request fragment lost");
	test_mangled(M_LOSE_RESP1, "response fragment lost");
	test_mangled(M_DUPLICATE, "duplicated");
	test_mangled(M_FORGE, "forged");
	test_bounds();
	test_not_negotiated();
	test_certs();
	return check_done("frag");
}
