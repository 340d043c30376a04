/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: two engines (tests/world.h) driven through a hostile schedule.
 * The input is a byte program (fuzz_world.h): lifecycle calls on either
 * side, a network that delivers, drops, duplicates, reorders, holds back
 * and replays datagrams, a clock that jumps, and messages forged with the
 * live keys of either side (or real ones decrypted, mutated and sealed
 * again).  Every random number the engines draw comes from a generator
 * seeded by the input, so that a crash replays exactly.
 *
 * What must hold, checked after every operation and every delivery
 * (abort() with a line on stderr when it does not):
 *  - every CHILD_SA is in exactly one IKE SA's list, its c->sa names that
 *    SA, and the CHILD_SAs it points to (replaced_by, peer_rekey) are alive
 *    in the same list; an IKE SA's rekey collision names a live IKE SA;
 *  - each fake kernel holds exactly the SAs that live CHILD_SAs of its side
 *    say are installed (sa_in / sa_out), and its allocated SPIs are those of
 *    CHILD_SAs still being negotiated;
 *  - message IDs (mid_next, mid_expect) of an IKE SA never move back.
 * At the end, timers that start new exchanges are turned off and the world
 * runs quietly (no loss, no forgery) for FW_QUIET_MS.  If the schedule forged
 * nothing, both sides must then agree: every IKE SA established, the same
 * SPI pairs on both sides, the same CHILD_SAs installed with the keys
 * matching crosswise.  Lost messages may kill SAs on one side only, but
 * liveness checks (dpd) find those within the quiet period, so this holds
 * whatever the network did.  In every case, once both sides terminate all
 * their SAs and the world runs quietly again, no SA and no kernel entry
 * (SA, SPI, policy) may be left.
 *
 * Campaign: tools/fuzz world [SECONDS].  Replay one input: fuzz_world FILE;
 * XIKE_FUZZ_TRACE=1 prints each operation and the state it left, and
 * XIKE_FUZZ_LOG=1 XIKE_TEST_LOG=debug what the engines log.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fuzz_world.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "ike/task.h"
#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FW_PSK "fuzz world shared secret"
#define FW_HIST 32         /* datagrams remembered for FW_REPLAY / FW_RESEAL */
#define FW_HIST_LEN 4096   /* longer ones are not remembered */
#define FW_HELD 16
#define FW_MIDS 64         /* IKE SAs per side whose message IDs are watched */
#define FW_LIST 64         /* IKE SAs per side an operation can pick from */
#define FW_DPD_S 60
/* Longer than a liveness check plus all its retransmissions (fw_cfg). */
#define FW_QUIET_MS 240000

/* ---- deterministic random numbers ---- */

static uint64_t rng_state;
static unsigned rng_calls;

static uint64_t rng_next(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rng_bytes(unsigned char *buf, int num)
{
	rng_calls++;
	for (int i = 0; i < num; i += 8) {
		uint64_t v = rng_next();

		memcpy(buf + i, &v, num - i < 8 ? (size_t)(num - i) : 8);
	}
	return 1;
}

static int rng_status(void)
{
	return 1;
}

/* Every RAND_bytes / RAND_priv_bytes of OpenSSL, key generation included. */
static const RAND_METHOD rng_method = {
	.bytes = rng_bytes,
	.pseudorand = rng_bytes,
	.status = rng_status,
};

static void rng_reset(uint64_t seed)
{
	unsigned calls = rng_calls;
	uint8_t b;

	rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
	/*
	 * ike_random() hands out a per-thread pool (crypto.c): drain what the
	 * last input left in it, so that this input starts from a pool filled
	 * just now.  A one-octet ike_random() reaches RAND_bytes only to refill.
	 */
	for (unsigned i = 0; i < 1u << 16 && rng_calls == calls; i++)
		ike_random(&b, 1);
	if (rng_calls == calls) {
		fprintf(stderr, "fuzz_world: ike_random() never refilled its pool: "
				"runs will not replay exactly\n");
		abort();
	}
}

/* ---- the input ---- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint32_t rd32(struct rd *r)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | rd8(r);
	return v;
}

/* ---- the world ---- */

struct hist {
	int to;
	struct xk_addr src, dst;
	size_t len;
	uint8_t buf[FW_HIST_LEN];
	/* The SK payload's content, if the sender's SA could open it when seen. */
	bool has_inner;
	uint8_t first; /* type of the first inner payload */
	size_t inner_len;
	uint8_t inner[FW_HIST_LEN];
};

struct mid_watch {
	uint64_t spi;
	uint32_t next, expect;
};

static struct fw {
	struct world w;
	bool trace; /* XIKE_FUZZ_TRACE: each operation and what it left */
	uint8_t cfg;
	bool forged; /* a message was forged or sealed again: no agreement check */
	unsigned step;
	const char *what; /* the operation running, for failure messages */
	struct w_pkt *held[FW_HELD];
	size_t n_held;
	struct hist hist[FW_HIST];
	size_t n_hist, hist_next;
	struct mid_watch mids[2][FW_MIDS];
	size_t n_mids[2], mids_next[2];
} fw;

#define fail(...)                                                                         \
	do {                                                                              \
		fprintf(stderr, "fuzz_world: step %u (%s): ", fw.step, fw.what);          \
		fprintf(stderr, __VA_ARGS__);                                             \
		fputc('\n', stderr);                                                      \
		abort();                                                                  \
	} while (0)

struct sa_list {
	struct ike_engine *e;
	struct ike_sa *sa[FW_LIST];
	size_t n;
};

static void list_cb(void *ctx, const struct ike_sa_info *info)
{
	struct sa_list *l = ctx;
	struct ike_sa *sa = ike_engine_find_sa(l->e, info->initiator ? info->spi_i : info->spi_r);

	if (!sa)
		fail("IKE SA %016llx_%016llx listed but not found by its SPI",
		     (unsigned long long)info->spi_i, (unsigned long long)info->spi_r);
	if (l->n < FW_LIST)
		l->sa[l->n++] = sa;
}

/* The live IKE SAs of a side.  Pointers valid until the next engine call. */
static void sa_list(int side, struct sa_list *l)
{
	l->e = fw.w.p[side].e;
	l->n = 0;
	ike_engine_foreach_sa(l->e, list_cb, l);
}

static struct ike_sa *pick_sa(uint8_t who)
{
	struct sa_list l;

	sa_list(who & 1, &l);
	return l.n ? l.sa[(who >> 1) % l.n] : NULL;
}

static struct ike_child *pick_child(struct ike_sa *sa, uint8_t k)
{
	size_t n = 0;
	struct ike_child *c;

	for (c = sa->children; c; c = c->next)
		n++;
	if (!n)
		return NULL;
	k %= n;
	for (c = sa->children; k; c = c->next)
		k--;
	return c;
}

/* One line per side: its IKE SAs (state, message IDs) and their CHILD_SAs. */
static void trace_state(void)
{
	static const char *const cs[] = { "C", "I", "D", "X" };

	for (int side = 0; side < 2; side++) {
		struct sa_list l;

		sa_list(side, &l);
		fprintf(stderr, "    %c:", "ab"[side]);
		for (size_t i = 0; i < l.n; i++) {
			const struct ike_sa *sa = l.sa[i];

			fprintf(stderr, " [%04llx_%04llx %s%s%s m%u/%u",
				(unsigned long long)(sa->spi_i & 0xffff),
				(unsigned long long)(sa->spi_r & 0xffff), ike_sa_state_name(sa->state),
				sa->succ ? " " : "", sa->succ ? ike_succ_name(sa->succ) : "",
				sa->mid_next, sa->mid_expect);
			for (const struct ike_child *c = sa->children; c; c = c->next)
				fprintf(stderr, " %s%08x/%08x", cs[c->state], c->spi_in, c->spi_out);
			fputc(']', stderr);
		}
		fprintf(stderr, " kernel %zu SAs %zu SPIs %zu policies", fw.w.p[side].k.n_sas,
			fw.w.p[side].k.n_spis, fw.w.p[side].k.n_pols);
		for (size_t i = 0; i < fw.w.p[side].k.n_sas; i++)
			fprintf(stderr, " %s%08x", fw.w.p[side].k.sas[i].inbound ? "<" : ">",
				fw.w.p[side].k.sas[i].spi);
		fputc('\n', stderr);
	}
	fprintf(stderr, "    in flight %zu, held %zu, now %llu\n", fw.w.q_len, fw.n_held,
		(unsigned long long)fw.w.now);
}

/* ---- invariants ---- */

static const struct xk_sa *kernel_find(const struct fake_kernel *k, uint32_t spi, bool in)
{
	for (size_t i = 0; i < k->n_sas; i++)
		if (k->sas[i].spi == spi && k->sas[i].inbound == in)
			return &k->sas[i];
	return NULL;
}

static bool in_list(const struct ike_sa *sa, const struct ike_child *c)
{
	for (const struct ike_child *o = sa->children; o; o = o->next)
		if (o == c)
			return true;
	return false;
}

static void check_mids(int side, const struct ike_sa *sa)
{
	uint64_t spi = ike_sa_local_spi(sa);
	struct mid_watch *m;

	for (size_t i = 0; i < fw.n_mids[side]; i++) {
		m = &fw.mids[side][i];
		if (m->spi != spi)
			continue;
		if (sa->mid_next < m->next || sa->mid_expect < m->expect)
			fail("side %d IKE SA %016llx: message IDs went back: next %u -> %u, "
			     "expect %u -> %u",
			     side, (unsigned long long)spi, m->next, sa->mid_next, m->expect,
			     sa->mid_expect);
		m->next = sa->mid_next;
		m->expect = sa->mid_expect;
		return;
	}
	/* A ring: the oldest SAs' entries go first. */
	m = &fw.mids[side][fw.mids_next[side]];
	fw.mids_next[side] = (fw.mids_next[side] + 1) % FW_MIDS;
	if (fw.n_mids[side] < FW_MIDS)
		fw.n_mids[side]++;
	*m = (struct mid_watch){ .spi = spi, .next = sa->mid_next, .expect = sa->mid_expect };
}

#define FW_CHILDREN 512

static void check_side(int side, const struct ike_child **seen, size_t *n_seen)
{
	const struct fake_kernel *k = &fw.w.p[side].k;
	struct sa_list l;

	sa_list(side, &l);
	for (size_t i = 0; i < l.n; i++) {
		struct ike_sa *sa = l.sa[i];
		unsigned n = 0;

		if (sa->state == IKE_S_DEAD)
			fail("side %d: dead IKE SA %016llx still listed", side,
			     (unsigned long long)ike_sa_local_spi(sa));
		if (ike_rekey_collision(sa)) {
			bool alive = false;

			for (size_t j = 0; j < l.n; j++)
				alive |= ike_sa_local_spi(l.sa[j]) == ike_rekey_collision(sa);
			if (!alive)
				fail("side %d IKE SA %016llx: its rekey collision names an IKE SA "
				     "that is gone",
				     side, (unsigned long long)ike_sa_local_spi(sa));
		}
		check_mids(side, sa);
		for (struct ike_child *c = sa->children; c; c = c->next) {
			if (++n > FW_CHILDREN)
				fail("side %d IKE SA %016llx: CHILD_SA list does not end", side,
				     (unsigned long long)ike_sa_local_spi(sa));
			if (c->sa != sa)
				fail("side %d CHILD_SA %08x_i %08x_o: listed on IKE SA %016llx "
				     "but c->sa says %p",
				     side, c->spi_in, c->spi_out, (unsigned long long)ike_sa_local_spi(sa),
				     (void *)c->sa);
			for (size_t j = 0; j < *n_seen; j++)
				if (seen[j] == c)
					fail("CHILD_SA %08x_i %08x_o is in two IKE SAs' lists",
					     c->spi_in, c->spi_out);
			if (*n_seen < FW_CHILDREN)
				seen[(*n_seen)++] = c;
			if (c->peer_rekey && !in_list(sa, c->peer_rekey))
				fail("side %d CHILD_SA %08x: peer_rekey not on its IKE SA", side,
				     c->spi_in);
			if (c->replaced_by && !in_list(sa, c->replaced_by))
				fail("side %d CHILD_SA %08x: replaced_by not on its IKE SA", side,
				     c->spi_in);
			if (c->sa_in && !kernel_find(k, c->spi_in, true))
				fail("side %d CHILD_SA %08x_i: inbound SA not in the kernel", side,
				     c->spi_in);
			if (c->sa_out && !kernel_find(k, c->spi_out, false))
				fail("side %d CHILD_SA %08x_o: outbound SA not in the kernel", side,
				     c->spi_out);
			if (c->state == CHILD_S_CREATING && c->spi_in) {
				bool found = false;

				for (size_t j = 0; j < k->n_spis; j++)
					found |= k->spis[j] == c->spi_in;
				if (!found && !c->sa_in)
					fail("side %d CHILD_SA %08x being created: its SPI is not "
					     "allocated",
					     side, c->spi_in);
			}
		}
	}
	/* And the other way round: nothing in the kernel that no CHILD_SA owns. */
	for (size_t j = 0; j < k->n_sas; j++) {
		const struct xk_sa *ks = &k->sas[j];
		bool owned = false;

		for (size_t i = 0; i < l.n && !owned; i++)
			for (const struct ike_child *c = l.sa[i]->children; c && !owned; c = c->next)
				owned = ks->inbound ? c->sa_in && c->spi_in == ks->spi
						    : c->sa_out && c->spi_out == ks->spi;
		if (!owned)
			fail("side %d: kernel SA %08x (%s) belongs to no CHILD_SA", side, ks->spi,
			     ks->inbound ? "in" : "out");
	}
	for (size_t j = 0; j < k->n_spis; j++) {
		bool owned = false;

		for (size_t i = 0; i < l.n && !owned; i++)
			for (const struct ike_child *c = l.sa[i]->children; c && !owned; c = c->next)
				owned = c->spi_in == k->spis[j] && !c->sa_in;
		if (!owned)
			fail("side %d: allocated SPI %08x belongs to no CHILD_SA", side, k->spis[j]);
	}
}

static void check(void)
{
	static const struct ike_child *seen[FW_CHILDREN];
	size_t n_seen = 0;

	check_side(0, seen, &n_seen);
	check_side(1, seen, &n_seen);
}

/* ---- the network ---- */

/* Remember a datagram, and what it says if the sender's SA can still open it. */
static void record(const struct w_pkt *p)
{
	struct hist *h;
	struct ike_msg msg;
	struct ike_sa *sa;
	struct ike_sk_ctx sk;
	size_t aad, iv;
	int n;

	if (p->len > FW_HIST_LEN)
		return;
	h = &fw.hist[fw.hist_next];
	fw.hist_next = (fw.hist_next + 1) % FW_HIST;
	if (fw.n_hist < FW_HIST)
		fw.n_hist++;
	h->to = p->to;
	h->src = p->src;
	h->dst = p->dst;
	h->len = p->len;
	memcpy(h->buf, p->buf, p->len);
	h->has_inner = false;
	if (ike_msg_parse(&msg, h->buf, h->len) < 0 || !msg.has_sk)
		return;
	sa = ike_engine_find_sa(fw.w.p[1 - p->to].e, msg.hdr.flags & IKEV2_FLAG_INITIATOR
							    ? msg.hdr.spi_i
							    : msg.hdr.spi_r);
	if (!sa || !sa->keys_ready || sa->spi_i != msg.hdr.spi_i || sa->spi_r != msg.hdr.spi_r)
		return;
	memcpy(h->inner, h->buf, h->len);
	ike_sa_sk_ctx(sa, true, &sk);
	aad = msg.sk_off + IKEV2_GENHDR_LEN;
	iv = ike_encr_iv_len(sk.encr);
	n = ike_sk_open(&sk, h->inner, aad, h->len);
	if (n <= 0 || h->inner[aad + iv + (size_t)n - 1] >= n)
		return;
	h->first = h->buf[msg.sk_off];
	h->inner_len = (size_t)n - 1 - h->inner[aad + iv + (size_t)n - 1];
	memmove(h->inner, h->inner + aad + iv, h->inner_len);
	h->has_inner = true;
}

static const struct hist *hist_get(uint8_t k)
{
	if (!fw.n_hist)
		return NULL;
	/* 0: the most recent. */
	return &fw.hist[(fw.hist_next + FW_HIST - 1 - k % fw.n_hist) % FW_HIST];
}

static bool filter(struct world *w, struct w_pkt *p, unsigned seq)
{
	(void)w;
	(void)seq;
	check();
	record(p);
	return true;
}

static struct w_pkt *q_take(size_t k)
{
	struct world *w = &fw.w;
	struct w_pkt *p = w->q[k];

	memmove(w->q + k, w->q + k + 1, (w->q_len - k - 1) * sizeof(w->q[0]));
	w->q_len--;
	return p;
}

static void q_put(struct w_pkt *p, bool first)
{
	struct world *w = &fw.w;

	if (w->q_len == W_MAX_PKTS) {
		free(p);
		return;
	}
	if (first) {
		memmove(w->q + 1, w->q, w->q_len * sizeof(w->q[0]));
		w->q[0] = p;
	} else {
		w->q[w->q_len] = p;
	}
	w->q_len++;
}

static struct w_pkt *pkt_new(int to, const struct xk_addr *src, const struct xk_addr *dst,
			     const uint8_t *buf, size_t len)
{
	struct w_pkt *p;

	if (len > sizeof(p->buf))
		return NULL;
	p = malloc(sizeof(*p));
	if (!p)
		return NULL;
	p->to = to;
	p->src = *src;
	p->dst = *dst;
	memcpy(p->buf, buf, len);
	p->len = len;
	p->copy = true;
	return p;
}

static void deliver(size_t k)
{
	struct w_pkt *p = q_take(k);
	struct w_peer *to = &fw.w.p[p->to];

	record(p);
	fw.w.delivered++;
	ike_engine_input(to->e, &p->dst, &p->src, p->buf, p->len);
	free(p);
}

/* Time passes with everything in flight staying there; timers run. */
static void clock_advance(uint64_t ms)
{
	struct world *w = &fw.w;
	uint64_t end = w->now + ms;

	for (unsigned guard = 0; guard < 10000; guard++) {
		uint64_t t0 = ike_engine_next_timeout(w->p[0].e);
		uint64_t t1 = ike_engine_next_timeout(w->p[1].e);
		uint64_t t = t0 < t1 ? t0 : t1;

		if (t > end)
			break;
		if (t > w->now)
			w->now = t;
		ike_engine_tick(w->p[0].e);
		ike_engine_tick(w->p[1].e);
		check();
	}
	w->now = end;
}

/* ---- forged messages ---- */

static const uint16_t fw_notifies[] = {
	IKEV2_N_TEMPORARY_FAILURE,   IKEV2_N_REKEY_SA,	       IKEV2_N_INITIAL_CONTACT,
	IKEV2_N_NO_PROPOSAL_CHOSEN,  IKEV2_N_INVALID_KE_PAYLOAD, IKEV2_N_CHILD_SA_NOT_FOUND,
	IKEV2_N_AUTHENTICATION_FAILED, IKEV2_N_INVALID_SYNTAX,   IKEV2_N_INVALID_MESSAGE_ID,
	IKEV2_N_USE_TRANSPORT_MODE,
};

static uint32_t pick_spi(struct ike_sa *sa, struct rd *r)
{
	uint8_t b = rd8(r);
	struct ike_child *c;

	switch (b & 3) {
	case 0:
		return 0;
	case 1:
	case 2:
		c = pick_child(sa, b >> 2);
		return !c ? 0 : (b & 3) == 1 ? c->spi_in : c->spi_out;
	default:
		return rd32(r);
	}
}

/* The peer's IKE SA matching sa (the other end of it), or NULL. */
static struct ike_sa *peer_sa(int side, const struct ike_sa *sa)
{
	struct ike_sa *o = ike_engine_find_sa(fw.w.p[1 - side].e,
					      sa->initiator ? sa->spi_r : sa->spi_i);

	return o && o->spi_i == sa->spi_i && o->spi_r == sa->spi_r ? o : NULL;
}

static uint32_t pick_mid(int side, const struct ike_sa *sa, unsigned mode, struct rd *r)
{
	const struct ike_sa *o = peer_sa(side, sa);

	switch (mode) {
	case 0:
		return o ? o->mid_expect : sa->mid_next;
	case 1:
		return o ? o->mid_next : sa->mid_expect;
	case 2:
		return o ? o->mid_expect - 1 : sa->mid_next - 1;
	default:
		return rd8(r);
	}
}

static void forge_payload(struct ike_mb *mb, struct ike_sa *sa, struct rd *r)
{
	uint8_t kind = rd8(r) % FW_N_PL, f, spis[8], data[32];
	struct ike_proposal props[IKE_MAX_PROPOSALS];
	struct xk_ts l[IKE_MAX_TS], rt[IKE_MAX_TS];
	struct ike_dh *dh;
	size_t n, nl, nr, len;
	uint16_t type;
	uint32_t spi;

	switch (kind) {
	case FW_PL_DELETE_ESP:
		n = 1 + (rd8(r) & 1);
		for (size_t i = 0; i < n; i++)
			put_be32(spis + 4 * i, pick_spi(sa, r));
		ike_mb_delete(mb, IKEV2_PROTO_ESP, 4, spis, (uint16_t)n);
		break;
	case FW_PL_DELETE_IKE:
		ike_mb_delete(mb, IKEV2_PROTO_IKE, 0, NULL, 0);
		break;
	case FW_PL_NOTIFY:
		type = fw_notifies[rd8(r) % (sizeof(fw_notifies) / sizeof(fw_notifies[0]))];
		if (type == IKEV2_N_REKEY_SA) {
			put_be32(spis, pick_spi(sa, r));
			ike_mb_notify(mb, IKEV2_PROTO_ESP, spis, 4, type, NULL, 0);
		} else if (type == IKEV2_N_INVALID_KE_PAYLOAD) {
			put_be16(data, rd8(r) & 1 ? IKEV2_DH_ECP_256 : IKEV2_DH_CURVE25519);
			ike_mb_notify(mb, 0, NULL, 0, type, data, 2);
		} else {
			ike_mb_notify(mb, 0, NULL, 0, type, NULL, 0);
		}
		break;
	case FW_PL_SA_ESP:
		spi = pick_spi(sa, r);
		f = rd8(r);
		n = child_proposals(conn_child(sa->conn, 0), spi, f & 1, props, IKE_MAX_PROPOSALS);
		ike_mb_sa(mb, props, f & 2 && n ? 1 : n);
		break;
	case FW_PL_SA_IKE:
		n = sa->conn->n_ike < IKE_MAX_PROPOSALS ? sa->conn->n_ike : IKE_MAX_PROPOSALS;
		memcpy(props, sa->conn->ike, n * sizeof(props[0]));
		f = rd8(r);
		for (size_t i = 0; i < 8; i++)
			data[i] = f ? rd8(r) : 0;
		for (size_t i = 0; i < n; i++) {
			props[i].num = (uint8_t)(i + 1);
			props[i].spi_size = 8;
			memcpy(props[i].spi, data, 8);
		}
		ike_mb_sa(mb, props, n);
		break;
	case FW_PL_KE:
		f = rd8(r);
		len = sizeof(data);
		dh = f & 1 ? ike_dh_new(IKEV2_DH_CURVE25519) : NULL;
		if (!dh || ike_dh_public(dh, data, &len) < 0) {
			len = sizeof(data);
			memset(data, f, len);
		}
		ike_dh_free(dh);
		ike_mb_ke(mb, f & 2 ? IKEV2_DH_ECP_256 : IKEV2_DH_CURVE25519, data, len);
		break;
	case FW_PL_NONCE:
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(0xa5 + i);
		data[0] = rd8(r);
		ike_mb_nonce(mb, data, sizeof(data));
		break;
	case FW_PL_TS:
		f = rd8(r);
		if (f & 1) {
			nl = child_local_ts(sa, conn_child(sa->conn, 0), l);
			nr = child_remote_ts(sa, conn_child(sa->conn, 0), rt);
		} else {
			memset(l, 0, sizeof(l[0]));
			xk_ts_parse(sa->local.family == XK_AF_INET6 ? "::/0" : "0.0.0.0/0", &l[0]);
			rt[0] = l[0];
			nl = nr = 1;
		}
		ike_mb_ts(mb, IKEV2_PL_TSI, f & 2 ? rt : l, f & 2 ? nr : nl);
		ike_mb_ts(mb, IKEV2_PL_TSR, f & 2 ? l : rt, f & 2 ? nl : nr);
		break;
	default: {
		size_t start;

		type = rd8(r);
		len = rd8(r) % 33;
		for (size_t i = 0; i < len; i++)
			data[i] = rd8(r);
		/* Any type: SK inside SK and IKEv1 numbers too, which the parser must refuse. */
		start = ike_mb_begin(mb, (uint8_t)type, false);
		bw_bytes(&mb->w, data, len);
		ike_mb_end(mb, start);
		break;
	}
	}
}

/* Seal what mb holds with sa's sending keys and put it on the wire to the peer. */
static void send_sealed(int side, struct ike_sa *sa, struct ike_mb *mb)
{
	struct ike_sk_ctx sk;
	struct w_pkt *p;
	int n;

	ike_sa_sk_ctx(sa, true, &sk);
	n = ike_mb_sk_seal(mb, &sk, NULL);
	if (n < 0)
		return;
	p = pkt_new(1 - side, &sa->local, &sa->remote, mb->w.p, (size_t)n);
	if (!p)
		return;
	if (!p->src.family) {
		p->src = fw.w.p[side].addr;
		p->src.port = sa->local.port;
	}
	fw.forged = true;
	q_put(p, false);
}

static const uint8_t fw_exchanges[] = {
	IKEV2_EXCH_INFORMATIONAL,
	IKEV2_EXCH_CREATE_CHILD_SA,
	IKEV2_EXCH_IKE_AUTH,
};

static struct ike_sa *pick_keyed(uint8_t who)
{
	struct sa_list l;
	struct ike_sa *keyed[FW_LIST];
	size_t n = 0;

	sa_list(who & 1, &l);
	for (size_t i = 0; i < l.n; i++)
		if (l.sa[i]->keys_ready)
			keyed[n++] = l.sa[i];
	return n ? keyed[(who >> 1) % n] : NULL;
}

static void forge(struct rd *r)
{
	static uint8_t buf[8192];
	uint8_t who = rd8(r), how = rd8(r);
	int side = who & 1;
	struct ike_sa *sa = pick_keyed(who);
	struct ike_hdr hdr;
	struct ike_mb mb;
	unsigned n_pl = how >> 5;

	if (!sa)
		return;
	hdr = (struct ike_hdr){
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.flags = (uint8_t)((sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
				   (how & 4 ? IKEV2_FLAG_RESPONSE : 0)),
		.mid = pick_mid(side, sa, how & 3, r),
	};
	hdr.exch = (how >> 3 & 3) == 3 ? rd8(r) : fw_exchanges[how >> 3 & 3];
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	for (unsigned i = 0; i < n_pl; i++)
		forge_payload(&mb, sa, r);
	send_sealed(side, sa, &mb);
}

static void reseal(struct rd *r)
{
	static uint8_t buf[FW_HIST_LEN + 512], inner[FW_HIST_LEN];
	const struct hist *h = hist_get(rd8(r));
	uint8_t who = rd8(r), how = rd8(r), off;
	struct ike_hdr hdr;
	struct ike_sa *sa;
	struct ike_mb mb;
	size_t len;
	int side;

	if (!h || !h->has_inner || ike_hdr_parse(h->buf, h->len, &hdr) < 0)
		return;
	side = 1 - h->to;
	if (who & 1)
		sa = pick_keyed((uint8_t)((who & ~1) | side));
	else
		sa = ike_engine_find_sa(fw.w.p[side].e,
					hdr.flags & IKEV2_FLAG_INITIATOR ? hdr.spi_i : hdr.spi_r);
	if (!sa || !sa->keys_ready)
		return;
	len = h->inner_len;
	memcpy(inner, h->inner, len);
	switch (how & 3) {
	case 1:
		off = rd8(r);
		if (len)
			inner[off % len] ^= rd8(r) | 1;
		break;
	case 2:
		off = rd8(r);
		if (len)
			len = off % len;
		break;
	case 3:
		off = rd8(r);
		if (len >= 4)
			put_be32(inner + off % (len - 3), rd32(r));
		break;
	}
	hdr.spi_i = sa->spi_i;
	hdr.spi_r = sa->spi_r;
	hdr.flags = (uint8_t)((sa->initiator ? IKEV2_FLAG_INITIATOR : 0) |
			      (hdr.flags & IKEV2_FLAG_RESPONSE));
	if (how & 16)
		hdr.flags ^= IKEV2_FLAG_RESPONSE;
	switch (how >> 2 & 3) {
	case 1:
	case 2:
		hdr.mid = pick_mid(side, sa, (how >> 2 & 3) - 1, r);
		break;
	case 3:
		hdr.mid++;
		break;
	}
	ike_mb_init(&mb, buf, sizeof(buf), &hdr);
	ike_mb_sk_begin(&mb, ike_encr_iv_len(sa->suite.encr));
	bw_bytes(&mb.w, inner, len);
	/* The SK header's Next Payload names the first inner payload. */
	mb.w.p[mb.sk_start] = len ? h->first : IKEV2_PL_NONE;
	send_sealed(side, sa, &mb);
}

/* ---- operations ---- */

static const char *const op_names[FW_N_OPS] = {
	[FW_INITIATE] = "initiate",	    [FW_CREATE_CHILD] = "create-child",
	[FW_REKEY_CHILD] = "rekey-child",   [FW_REKEY_IKE] = "rekey-ike",
	[FW_REAUTH] = "reauth",		    [FW_DELETE_CHILD] = "delete-child",
	[FW_TERMINATE] = "terminate",	    [FW_LIVENESS] = "liveness",
	[FW_EXPIRE] = "expire",		    [FW_DELIVER] = "deliver",
	[FW_DROP] = "drop",		    [FW_DUP] = "dup",
	[FW_SWAP] = "swap",		    [FW_HOLD] = "hold",
	[FW_RELEASE] = "release",	    [FW_REPLAY] = "replay",
	[FW_FLUSH] = "flush",		    [FW_RUN] = "run",
	[FW_CLOCK] = "clock",		    [FW_CLOCK_LONG] = "clock-long",
	[FW_NONCE] = "nonce",		    [FW_FORGE] = "forge",
	[FW_RESEAL] = "reseal",		    [FW_RUN_LONG] = "run-long",
	[FW_WORK] = "work",
};

static void expire(uint8_t who, uint8_t k, uint8_t how)
{
	struct ike_sa *sa = pick_sa(who);
	struct ike_child *c = sa ? pick_child(sa, k) : NULL;
	struct xk_sa_id id = { .proto = 50 };

	if (!c)
		return;
	/* Named as the kernel names it: destination address and SPI. */
	if (how & 2) {
		id.dst = sa->remote;
		id.spi = c->spi_out;
	} else {
		id.dst = sa->local;
		id.spi = c->spi_in;
	}
	ike_engine_expire(fw.w.p[who & 1].e, &id, how & 1);
}

static void step(struct rd *r)
{
	struct world *w = &fw.w;
	uint8_t op = rd8(r) % FW_N_OPS, who, k;
	struct ike_engine *e;
	struct ike_sa *sa;
	struct ike_child *c;
	struct w_pkt *p;

	fw.what = op_names[op];
	switch (op) {
	case FW_INITIATE:
		ike_engine_initiate(w->p[rd8(r) & 1].e, "c", NULL);
		break;
	case FW_CREATE_CHILD:
	case FW_REKEY_IKE:
	case FW_REAUTH:
	case FW_TERMINATE:
	case FW_LIVENESS:
		who = rd8(r);
		sa = pick_sa(who);
		e = w->p[who & 1].e;
		if (!sa)
			break;
		if (op == FW_CREATE_CHILD)
			ike_engine_create_child(e, ike_sa_local_spi(sa));
		else if (op == FW_REKEY_IKE)
			ike_engine_rekey_ike(e, ike_sa_local_spi(sa));
		else if (op == FW_REAUTH)
			ike_engine_reauth(e, ike_sa_local_spi(sa));
		else if (op == FW_TERMINATE)
			ike_engine_terminate(e, ike_sa_local_spi(sa));
		else
			ike_engine_liveness(e, ike_sa_local_spi(sa));
		break;
	case FW_REKEY_CHILD:
	case FW_DELETE_CHILD:
		who = rd8(r);
		k = rd8(r);
		sa = pick_sa(who);
		c = sa ? pick_child(sa, k) : NULL;
		e = w->p[who & 1].e;
		if (!c)
			break;
		if (op == FW_REKEY_CHILD)
			ike_engine_rekey_child(e, ike_sa_local_spi(sa), c->spi_in);
		else
			ike_engine_delete_child(e, ike_sa_local_spi(sa), c->spi_in);
		break;
	case FW_EXPIRE:
		who = rd8(r);
		k = rd8(r);
		expire(who, k, rd8(r));
		break;
	case FW_DELIVER:
	case FW_DROP:
	case FW_DUP:
	case FW_SWAP:
	case FW_HOLD:
		k = rd8(r);
		if (!w->q_len)
			break;
		k %= w->q_len;
		if (op == FW_DELIVER) {
			deliver(k);
		} else if (op == FW_DROP) {
			p = q_take(k);
			record(p);
			free(p);
		} else if (op == FW_DUP) {
			p = w->q[k];
			p = pkt_new(p->to, &p->src, &p->dst, p->buf, p->len);
			if (p)
				q_put(p, false);
		} else if (op == FW_SWAP) {
			p = w->q[k];
			w->q[k] = w->q[0];
			w->q[0] = p;
		} else if (fw.n_held < FW_HELD) {
			fw.held[fw.n_held++] = q_take(k);
		}
		break;
	case FW_RELEASE:
		k = rd8(r);
		if (!fw.n_held)
			break;
		k %= fw.n_held;
		p = fw.held[k];
		fw.held[k] = fw.held[--fw.n_held];
		q_put(p, true);
		break;
	case FW_REPLAY: {
		const struct hist *h = hist_get(rd8(r));

		p = h ? pkt_new(h->to, &h->src, &h->dst, h->buf, h->len) : NULL;
		if (p)
			q_put(p, false);
		break;
	}
	case FW_FLUSH:
		for (unsigned guard = 0; w->q_len && guard < 256; guard++) {
			deliver(0);
			check();
		}
		break;
	case FW_RUN:
		world_run(w, (uint64_t)rd8(r) * 100);
		break;
	case FW_RUN_LONG:
		world_run(w, (uint64_t)rd8(r) * 10000);
		break;
	case FW_CLOCK:
		clock_advance((uint64_t)rd8(r) * 100);
		break;
	case FW_CLOCK_LONG:
		clock_advance((uint64_t)rd8(r) * 10000);
		break;
	case FW_NONCE:
		who = rd8(r);
		/* world.c: the n-th nonce starts with nonce_first[n]; restart at 0. */
		w->p[who & 1].nonce_first[0] = rd8(r);
		w->p[who & 1].n_nonces = 0;
		break;
	case FW_FORGE:
		forge(r);
		break;
	case FW_RESEAL:
		reseal(r);
		break;
	case FW_WORK:
		k = rd8(r);
		if (w->p[k & 1].n_work)
			world_work_done(w, k & 1, (size_t)(k >> 1) % w->p[k & 1].n_work);
		break;
	}
}

/* ---- the end: quiet, agreement, and nothing left ---- */

/* No new exchanges from timers: the quiet period is to settle, not to start. */
static void timers_off(void)
{
	for (int i = 0; i < 2; i++) {
		struct sa_list l;

		for (struct ike_conn *c = ike_conn_first(fw.w.p[i].e); c; c = c->next) {
			c->ike_rekey_time_s = 0;
			c->reauth_time_s = 0;
		}
		sa_list(i, &l);
		for (size_t j = 0; j < l.n; j++) {
			l.sa[j]->ike_rekey_ms = 0;
			l.sa[j]->reauth_ms = 0;
			ike_sa_schedule(l.sa[j]);
		}
	}
}

static void quiet(void)
{
	/* What was held back arrives late, not never. */
	while (fw.n_held)
		q_put(fw.held[--fw.n_held], false);
	world_run(&fw.w, FW_QUIET_MS);
	check();
}

static void check_keys(const struct xk_sa *a, const struct xk_sa *b, uint32_t spi)
{
	if (!a || !b || a->enc_key_len != b->enc_key_len ||
	    memcmp(a->enc_key, b->enc_key, a->enc_key_len) != 0 ||
	    a->integ_key_len != b->integ_key_len ||
	    memcmp(a->integ_key, b->integ_key, a->integ_key_len) != 0)
		fail("SA %08x: the two kernels disagree (%s)", spi,
		     !a || !b ? "missing on one side" : "different keys");
}

/* Both sides hold the same established IKE SAs and CHILD_SAs, keys crosswise. */
static void check_agree(void)
{
	struct sa_list l0, l1;
	size_t n_children[2] = { 0, 0 };

	fw.what = "agreement after the quiet period";
	sa_list(0, &l0);
	sa_list(1, &l1);
	for (int side = 0; side < 2; side++) {
		struct sa_list *l = side ? &l1 : &l0;

		for (size_t i = 0; i < l->n; i++) {
			struct ike_sa *sa = l->sa[i], *o = peer_sa(side, sa);

			if (sa->state != IKE_S_ESTABLISHED)
				fail("side %d IKE SA %016llx_%016llx still %s", side,
				     (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
				     ike_sa_state_name(sa->state));
			if (!o || o->initiator == sa->initiator)
				fail("side %d IKE SA %016llx_%016llx: the peer has no such SA",
				     side, (unsigned long long)sa->spi_i,
				     (unsigned long long)sa->spi_r);
			if (sa->req_out || sa->tasks)
				fail("side %d IKE SA %016llx_%016llx: an exchange is still under way",
				     side, (unsigned long long)sa->spi_i,
				     (unsigned long long)sa->spi_r);
			for (struct ike_child *c = sa->children; c; c = c->next) {
				struct ike_child *d = o->children;

				n_children[side]++;
				if (c->state != CHILD_S_INSTALLED || !c->sa_in || !c->sa_out)
					fail("side %d CHILD_SA %08x_i %08x_o on %016llx: %s%s%s",
					     side, c->spi_in, c->spi_out,
					     (unsigned long long)ike_sa_local_spi(sa),
					     c->state == CHILD_S_CREATING    ? "CREATING"
					     : c->state == CHILD_S_DELETING ? "DELETING"
					     : c->state == CHILD_S_DELETED  ? "DELETED"
									    : "INSTALLED",
					     c->sa_in ? "" : ", no inbound SA",
					     c->sa_out ? "" : ", no outbound SA");
				while (d && !(d->spi_in == c->spi_out && d->spi_out == c->spi_in))
					d = d->next;
				if (!d)
					fail("side %d CHILD_SA %08x_i %08x_o: the peer's IKE SA has "
					     "no such CHILD_SA",
					     side, c->spi_in, c->spi_out);
				check_keys(kernel_find(&fw.w.p[side].k, c->spi_in, true),
					   kernel_find(&fw.w.p[1 - side].k, c->spi_in, false),
					   c->spi_in);
			}
		}
		if (fw.w.p[side].k.n_sas != 2 * n_children[side])
			fail("side %d: %zu kernel SAs for %zu CHILD_SAs", side,
			     fw.w.p[side].k.n_sas, n_children[side]);
	}
}

/* engines: false once they are freed, and only the kernels can be looked at. */
static void check_empty(const char *when, bool engines)
{
	fw.what = when;
	for (int i = 0; i < 2; i++) {
		const struct fake_kernel *k = &fw.w.p[i].k;

		if (engines && world_sa_count(&fw.w.p[i]))
			fail("side %d: %zu IKE SAs left", i, world_sa_count(&fw.w.p[i]));
		if (!fake_kernel_empty(k))
			fail("side %d: left in the kernel: %zu SAs, %zu SPIs, %zu policies", i,
			     k->n_sas, k->n_spis, k->n_pols);
	}
}

static void terminate_all(int side)
{
	struct sa_list l;
	uint64_t spis[FW_LIST];
	size_t n;

	sa_list(side, &l);
	n = l.n;
	for (size_t i = 0; i < n; i++)
		spis[i] = ike_sa_local_spi(l.sa[i]);
	/* One by one: each call may end others (none here, but pointers die). */
	for (size_t i = 0; i < n; i++)
		ike_engine_terminate(fw.w.p[side].e, spis[i]);
}

static void finish(void)
{
	fw.what = "quiet period";
	timers_off();
	quiet();
	if (fw.trace) {
		fprintf(stderr, "after the quiet period%s\n", fw.forged ? " (forged: no agreement check)" : "");
		trace_state();
	}
	if (!fw.forged) {
		check_agree();
		/* One side says goodbye; the other must follow through the protocol. */
		fw.what = "termination by side 0";
		terminate_all(0);
		quiet();
		check_empty("after side 0 terminated everything", true);
	} else {
		fw.what = "termination by both sides";
		terminate_all(0);
		terminate_all(1);
		quiet();
		check_empty("after both sides terminated everything", true);
	}
}

/* ---- setup ---- */

static int conn(int side)
{
	bool pfs = fw.cfg & FW_CFG_PFS;
	const char *ike = fw.cfg & FW_CFG_CBC ? "aes128-sha256-x25519" : "aes128gcm16-prfsha256-x25519";
	int err = world_conn(&fw.w, side, "c", ike, pfs ? "aes128gcm16-x25519" : "aes128gcm16", FW_PSK);
	struct ike_conn *c;

	if (err < 0)
		return err;
	/* White-box: world_conn has no knobs for these. */
	c = ike_conn_first(fw.w.p[side].e);
	c->dpd_s = FW_DPD_S;
	if (fw.cfg & FW_CFG_TIMERS) {
		c->ike_rekey_time_s = 600;
		c->reauth_time_s = 1800;
		/* CHILD_SAs deleted or expired come back, crossing whatever else runs. */
		c->child[0].recreate_closed = true;
		c->child[0].recreate_lost = true;
	}
	if (fw.cfg & FW_CFG_FRAG) {
		/* IKE_AUTH and CREATE_CHILD_SA go in fragments, through every fault. */
		c->fragmentation = true;
		c->fragment_size = 200;
	}
	return 0;
}

/*
 * What the engines log goes nowhere (or to stderr with XIKE_FUZZ_LOG=1),
 * but an illegal change of an SA's state or succession is an engine bug
 * whatever else happened: the set_state functions refuse it and say so.
 */
static void sink(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	if (ctx)
		fprintf(stderr, "%s: %s\n", xk_log_level_name(level), line);
	if (level == XK_LOG_ERROR && strstr(line, "illegal"))
		fail("the engine logged: %s", line);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (RAND_set_rand_method(&rng_method) != 1) {
		fprintf(stderr, "fuzz_world: cannot install the deterministic RAND method\n");
		abort();
	}
	/* XIKE_FUZZ_LOG=1 (with XIKE_TEST_LOG=debug) shows what the engines say. */
	fw.trace = getenv("XIKE_FUZZ_TRACE") != NULL;
	xk_log_set_sink(sink, getenv("XIKE_FUZZ_LOG") ? "" : NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	struct ike_engine_cfg cfg;

	if (size < 2)
		return 0;
	fw.cfg = rd8(&r);
	rng_reset(rd8(&r));
	ike_engine_cfg_defaults(&cfg);
	/* Retransmissions give up after 2+4+8+16 s: the quiet period outlasts them. */
	cfg.retransmit_timeout_ms = 2000;
	cfg.retransmit_base = 2.0;
	cfg.retransmit_tries = 3;
	if (fw.cfg & FW_CFG_COOKIE)
		cfg.cookie_threshold = 0;
	world_init(&fw.w, &cfg, &cfg, fw.cfg & FW_CFG_V6);
	if (fw.cfg & FW_CFG_ASYNC) {
		world_async(&fw.w, 0, &cfg);
		world_async(&fw.w, 1, &cfg);
		fw.w.work_lifo = fw.cfg & FW_CFG_LIFO;
	}
	fw.w.filter = filter;
	fw.forged = false;
	fw.n_held = fw.n_hist = fw.hist_next = 0;
	fw.n_mids[0] = fw.n_mids[1] = fw.mids_next[0] = fw.mids_next[1] = 0;
	fw.step = 0;
	fw.what = "setup";
	if (!fw.w.p[0].e || !fw.w.p[1].e || conn(0) < 0 || conn(1) < 0) {
		fprintf(stderr, "fuzz_world: cannot set up the world\n");
		abort();
	}
	for (fw.step = 1; fw.step <= FW_MAX_OPS && r.n; fw.step++) {
		step(&r);
		check();
		if (fw.trace) {
			fprintf(stderr, "%2u %s\n", fw.step, fw.what);
			trace_state();
		}
	}
	finish();
	world_free(&fw.w);
	while (fw.n_held)
		free(fw.held[--fw.n_held]);
	check_empty("after the engines were freed", false);
	return 0;
}
