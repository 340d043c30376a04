/* SPDX-License-Identifier: ISC */
/*
 * The IKE SA: its one state transition function, key derivation, the PSK
 * AUTH computation (RFC 7296 section 2.15) and NAT detection hashes (2.23),
 * and its end, which wipes every secret it held.
 */
#include "ike/ike_sa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/auth.h"
#include "ike/child.h"
#include "ike/engine.h"
#include "ike/reauth.h"
#include "ike/task.h"
#include "ike/task.h"
#include "ike/work.h"

static const char *const state_names[] = {
	[IKE_S_NEW] = "NEW",
	[IKE_S_INIT_SENT] = "INIT_SENT",
	[IKE_S_INIT_DONE] = "INIT_DONE",
	[IKE_S_AUTH_SENT] = "AUTH_SENT",
	[IKE_S_ESTABLISHED] = "ESTABLISHED",
	[IKE_S_DELETING] = "DELETING",
	[IKE_S_DEAD] = "DEAD",
};

const char *ike_sa_state_name(enum ike_sa_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

/* Legal moves: allowed[from] has bit `to` set.  DEAD is reachable from all. */
#define B(s) (1u << (s))
static const unsigned allowed[] = {
	/* A new SA from an IKE SA rekey is established at once (1.3.2). */
	[IKE_S_NEW] = B(IKE_S_INIT_SENT) | B(IKE_S_INIT_DONE) | B(IKE_S_ESTABLISHED),
	[IKE_S_INIT_SENT] = B(IKE_S_INIT_SENT) | B(IKE_S_AUTH_SENT),
	[IKE_S_INIT_DONE] = B(IKE_S_ESTABLISHED),
	[IKE_S_AUTH_SENT] = B(IKE_S_ESTABLISHED),
	[IKE_S_ESTABLISHED] = B(IKE_S_DELETING),
	[IKE_S_DELETING] = 0,
	[IKE_S_DEAD] = 0,
};
#undef B

static const char *const succ_names[] = {
	[IKE_SUCC_NONE] = "NONE",
	[IKE_SUCC_REKEYING] = "REKEYING",
	[IKE_SUCC_COLLIDED] = "COLLIDED",
	[IKE_SUCC_REAUTHING] = "REAUTHING",
	[IKE_SUCC_REAUTH_NEW] = "REAUTH_NEW",
	[IKE_SUCC_REPLACED] = "REPLACED",
};

const char *ike_succ_name(enum ike_succ s)
{
	return (unsigned)s < sizeof(succ_names) / sizeof(succ_names[0]) ? succ_names[s] : "?";
}

/*
 * The succession's legal moves, like the state's.  REPLACED is reachable
 * from all and left for none: an SA replaced (or given up) stays so until
 * it dies.
 */
#define B(s) (1u << (s))
static const unsigned succ_allowed[] = {
	[IKE_SUCC_NONE] = B(IKE_SUCC_REKEYING) | B(IKE_SUCC_REAUTHING) | B(IKE_SUCC_REAUTH_NEW),
	/* Our rekey's answer came, or the same exchange again (INVALID_KE_PAYLOAD). */
	[IKE_SUCC_REKEYING] = B(IKE_SUCC_NONE) | B(IKE_SUCC_COLLIDED),
	/* ... or the peer deleted its SA of the collision before our answer came. */
	[IKE_SUCC_COLLIDED] = B(IKE_SUCC_NONE) | B(IKE_SUCC_REKEYING),
	/* The new SA failed. */
	[IKE_SUCC_REAUTHING] = B(IKE_SUCC_NONE),
	/* Done with the old SA, whichever way that went. */
	[IKE_SUCC_REAUTH_NEW] = B(IKE_SUCC_NONE),
	[IKE_SUCC_REPLACED] = 0,
};
#undef B

bool ike_sa_set_succ(struct ike_sa *sa, enum ike_succ to)
{
	enum ike_succ from = sa->succ;

	if (from == to)
		return true;
	if (to != IKE_SUCC_REPLACED && !(succ_allowed[from] & (1u << to))) {
		xk_err("illegal IKE SA succession %s -> %s spi=%016llx", ike_succ_name(from),
		       ike_succ_name(to), (unsigned long long)ike_sa_local_spi(sa));
		return false;
	}
	xk_debug("IKE SA %016llx_%016llx %s -> %s", (unsigned long long)sa->spi_i,
		 (unsigned long long)sa->spi_r, ike_succ_name(from), ike_succ_name(to));
	sa->succ = to;
	return true;
}

bool ike_sa_set_state(struct ike_sa *sa, enum ike_sa_state to)
{
	enum ike_sa_state from = sa->state;

	if (to != IKE_S_DEAD && !(allowed[from] & (1u << to))) {
		xk_err("illegal IKE SA transition %s -> %s spi=%016llx",
		       ike_sa_state_name(from), ike_sa_state_name(to),
		       (unsigned long long)(sa->initiator ? sa->spi_i : sa->spi_r));
		return false;
	}
	if (from == to)
		return true;
	xk_debug("IKE SA %016llx_%016llx %s -> %s", (unsigned long long)sa->spi_i,
		 (unsigned long long)sa->spi_r, ike_sa_state_name(from), ike_sa_state_name(to));
	sa->state = to;
	return true;
}

/* A deadline a little before `secs` from now, so both ends do not act at once. */
static uint64_t jittered(uint64_t now, uint32_t secs)
{
	uint32_t r = 0;

	ike_random(&r, sizeof(r));
	return now + (uint64_t)secs * 1000 - (secs >= 10 ? r % (secs * 100) : 0);
}

/*
 * The connection's other CHILD_SA configurations that start follow the one
 * IKE_AUTH carried, each with its CREATE_CHILD_SA (section 1.3.1).
 */
static void start_others(struct ike_sa *sa)
{
	sa->start_others = false;
	for (size_t i = 0; i < sa->conn->n_child; i++) {
		struct ike_task *t;

		if (i == sa->auth_cfg || !sa->conn->child[i].start)
			continue;
		t = task_child_cfg_new((uint8_t)i);
		if (!t) {
			xk_warn("conn=%s child=%s: out of memory, not started", sa->conn->name,
				sa->conn->child[i].name);
			continue;
		}
		ike_sa_queue(sa, t);
	}
}

void ike_sa_established(struct ike_sa *sa, bool by_rekey)
{
	struct ike_stats *st = ike_stats_mut(sa->eng);
	uint64_t now = ike_now(sa->eng);
	struct ike_sa *old = by_rekey ? NULL : ike_reauth_old(sa);
	char suite[96], rid[300], replaces[48] = "";

	ike_sa_set_state(sa, IKE_S_ESTABLISHED);
	sa->established_ms = now;
	sa->last_rx_ms = now;
	sa->expire_ms = 0;
	ike_sa_set_half_open(sa, false);
	if (sa->conn->ike_rekey_time_s)
		sa->ike_rekey_ms = jittered(now, sa->conn->ike_rekey_time_s);
	/*
	 * Reauthentication is the original initiator's (it knows where the
	 * peer is); the time counts from IKE_AUTH, and IKE SA rekeys carry
	 * it along (task_ike_rekey.c).
	 */
	if (!by_rekey && sa->initiator && sa->conn->reauth_time_s)
		sa->reauth_ms = jittered(now, sa->conn->reauth_time_s);
	if (sa->conn->dpd_s)
		sa->dpd_ms = now + (uint64_t)sa->conn->dpd_s * 1000;
	/* RFC 3948 section 4: keep the NAT's mapping alive from behind it. */
	if (sa->nat_local && ike_cfg(sa->eng)->keepalive_ms)
		sa->keepalive_ms = now + ike_cfg(sa->eng)->keepalive_ms;
	if (!by_rekey)
		st->handshakes_ok++;
	if (old)
		snprintf(replaces, sizeof(replaces), " replaces=%016llx_%016llx",
			 (unsigned long long)old->spi_i, (unsigned long long)old->spi_r);
	if (xk_log_enabled(XK_LOG_INFO))
		xk_info("IKE SA %s conn=%s spi=%016llx_%016llx role=%s peer_id=%s suite=%s%s",
			by_rekey ? "rekeyed" : old ? "reauthenticated" : "up", sa->conn->name,
			(unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r,
			sa->initiator ? "initiator" : "responder",
			ike_id_str(ike_sa_remote_id(sa), rid, sizeof(rid)),
			ike_suite_str(&sa->suite, suite, sizeof(suite)), replaces);
	if (old)
		ike_emit(sa, IKE_EV_IKE_REAUTHENTICATED, NULL, 0, replaces + 1);
	else
		ike_emit(sa, by_rekey ? IKE_EV_IKE_REKEYED : IKE_EV_IKE_UP, NULL, 0, NULL);
	if (!by_rekey && !old && sa->initiator && sa->start_others)
		start_others(sa);
	ike_sa_schedule(sa);
}

void ike_pkt_set(struct ike_pkt *p, const uint8_t *buf, size_t len)
{
	uint8_t *n = realloc(p->buf, len);

	if (!n) {
		ike_pkt_free(p);
		return;
	}
	memcpy(n, buf, len);
	p->buf = n;
	p->len = len;
}

void ike_pkt_free(struct ike_pkt *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
}

size_t ike_sa_count_children(const struct ike_sa *sa)
{
	size_t n = 0;

	for (const struct ike_child *c = sa->children; c; c = c->next)
		n++;
	return n;
}

int ike_sa_derive_keys(struct ike_sa *sa, const uint8_t *gir, size_t girlen)
{
	size_t a_len = sa->suite.integ ? ike_integ_key_len(sa->suite.integ) : 0;
	size_t e_len = ike_encr_key_len(sa->suite.encr, sa->suite.encr_keybits);
	int err;

	err = ike_derive_ike_keys(sa->suite.prf, sa->hs->ni, sa->hs->ni_len, sa->hs->nr,
				  sa->hs->nr_len, gir, girlen, sa->spi_i, sa->spi_r, a_len, e_len,
				  &sa->keys);
	if (err == 0)
		sa->keys_ready = true;
	return err;
}

void ike_sa_local_id(const struct ike_sa *sa, struct ike_id *id)
{
	if (sa->conn && sa->conn->local_id.type) {
		*id = sa->conn->local_id;
		return;
	}
	memset(id, 0, sizeof(*id));
	id->type = sa->local.family == XK_AF_INET ? IKEV2_ID_IPV4_ADDR : IKEV2_ID_IPV6_ADDR;
	id->len = (uint8_t)xk_addr_len(&sa->local);
	memcpy(id->data, sa->local.ip, id->len);
}

const struct ike_id *ike_sa_remote_id(const struct ike_sa *sa)
{
	static const struct ike_id none;

	return sa->remote_id ? sa->remote_id : &none;
}

void ike_sa_drop_init(struct ike_sa *sa)
{
	struct ike_hs *hs = sa->hs;

	if (!hs)
		return;
	ike_sa_set_half_open(sa, false);
	auth_kept_free(sa);
	ike_dh_free(hs->dh);
	ike_pkt_free(&hs->init_req);
	ike_pkt_free(&hs->init_resp);
	xk_free_secret(hs, sizeof(*hs));
	sa->hs = NULL;
}

void ike_sa_kill(struct ike_sa *sa, uint16_t notify, const char *reason)
{
	struct ike_stats *st = ike_stats_mut(sa->eng);
	enum ike_sa_state from = sa->state;

	if (from == IKE_S_DEAD)
		return;
	ike_sa_set_half_open(sa, false);
	/* A work it waits for comes back to nobody (work.c drops it). */
	ike_work_detach(sa);
	/*
	 * Every other SA refers to this one by its SPI (successor_spi,
	 * moved_to_spi, a rekey task's collision, the reauthentications'
	 * list): nothing dangles once it is freed.  What those references
	 * meant is settled here.
	 */
	/* A reauthentication that did not get as far as replacing the old SA. */
	if (sa->succ == IKE_SUCC_REAUTH_NEW)
		ike_reauth_failed(sa, reason);
	ike_rekey_sa_gone(sa);
	/* Whoever moved CHILD_SAs here now points past this SA, to where they went. */
	for (struct ike_sa *o = ike_sa_same_id(sa); o; o = o->id_next)
		if (o != sa && o->moved_to_spi == ike_sa_local_spi(sa))
			o->moved_to_spi = sa->moved_to_spi;
	for (struct ike_task *t = sa->tasks; t; t = t->next)
		if (t->ops->orphan)
			t->ops->orphan(t, sa);
	child_free_all(sa);
	if (sa->succ == IKE_SUCC_REPLACED) {
		xk_debug("IKE SA %016llx_%016llx replaced by a rekey", (unsigned long long)sa->spi_i,
			 (unsigned long long)sa->spi_r);
	} else if (from == IKE_S_ESTABLISHED || from == IKE_S_DELETING) {
		xk_info("IKE SA down conn=%s spi=%016llx_%016llx reason=\"%s\"",
			sa->conn ? sa->conn->name : "", (unsigned long long)sa->spi_i,
			(unsigned long long)sa->spi_r, reason);
		ike_emit(sa, IKE_EV_IKE_DOWN, NULL, notify, reason);
	} else {
		st->handshakes_failed++;
		xk_notice("IKE SA failed conn=%s spi=%016llx_%016llx state=%s notify=%s reason=\"%s\"",
			  sa->conn ? sa->conn->name : "", (unsigned long long)sa->spi_i,
			  (unsigned long long)sa->spi_r, ike_sa_state_name(from),
			  notify ? ikev2_notify_name(notify) : "none", reason);
		ike_emit(sa, IKE_EV_FAILED, NULL, notify, reason);
	}
	ike_sa_set_state(sa, IKE_S_DEAD);
	ike_sa_bury(sa);
}

void ike_sa_free(struct ike_sa *sa)
{
	ike_work_detach(sa);
	free(sa->remote_id);
	while (sa->tasks) {
		struct ike_task *t = sa->tasks;

		sa->tasks = t->next;
		t->ops->destroy(t);
	}
	ike_sa_drop_init(sa);
	ike_pkt_free(&sa->req);
	ike_pkt_free(&sa->resp);
	ike_frag_free(sa);
	if (sa->conn)
		ike_conn_put(sa->eng, sa->conn);
	/* The SA's life ends here: nothing it knew survives it. */
	xk_free_secret(sa, sizeof(*sa));
}

/*
 * AUTH for a shared key (section 2.15):
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 *   InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi')
 *   ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')
 */
int ike_auth_octets(const struct ike_sa *sa, bool initiator, const uint8_t *id_body,
		    size_t id_len, uint8_t **out, size_t *outlen)
{
	const struct ike_pkt *msg = initiator ? &sa->hs->init_req : &sa->hs->init_resp;
	const uint8_t *nonce = initiator ? sa->hs->nr : sa->hs->ni;
	size_t nlen = initiator ? sa->hs->nr_len : sa->hs->ni_len;
	uint16_t prf = sa->suite.prf;
	size_t plen = ike_prf_len(prf);
	uint8_t *octets;
	size_t olen;
	int err;

	if (!plen || !msg->buf)
		return -EINVAL;
	olen = msg->len + nlen + plen;
	octets = malloc(olen);
	if (!octets)
		return -ENOMEM;
	memcpy(octets, msg->buf, msg->len);
	memcpy(octets + msg->len, nonce, nlen);
	err = ike_prf(prf, initiator ? sa->keys.sk_pi : sa->keys.sk_pr, sa->keys.prf_len,
		      id_body, id_len, octets + msg->len + nlen);
	if (err < 0) {
		xk_free_secret(octets, olen);
		return err;
	}
	*out = octets;
	*outlen = olen;
	return 0;
}

int ike_psk_auth(const struct ike_sa *sa, bool initiator, const uint8_t *id_body,
		 size_t id_len, uint8_t *out, size_t *outlen)
{
	static const char pad[] = "Key Pad for IKEv2";
	uint16_t prf = sa->suite.prf;
	size_t plen = ike_prf_len(prf);
	uint8_t key[IKE_PRF_MAX];
	uint8_t *octets = NULL;
	size_t olen = 0;
	int err;

	if (!sa->conn || !sa->conn->psk_len)
		return -EINVAL;
	err = ike_auth_octets(sa, initiator, id_body, id_len, &octets, &olen);
	if (err < 0)
		return err;
	err = ike_prf(prf, sa->conn->psk, sa->conn->psk_len, (const uint8_t *)pad,
		      sizeof(pad) - 1, key);
	if (err < 0)
		goto out;
	err = ike_prf(prf, key, plen, octets, olen, out);
	if (err < 0)
		goto out;
	*outlen = plen;
out:
	xk_wipe(key, sizeof(key));
	xk_free_secret(octets, olen);
	return err;
}

/* SHA-1(SPIi | SPIr | IP address | port), section 2.23. */
void ike_nat_hash(uint64_t spi_i, uint64_t spi_r, const struct xk_addr *a,
		  uint8_t out[20])
{
	uint8_t buf[8 + 8 + 16 + 2];
	struct bw w;

	bw_init(&w, buf, sizeof(buf));
	bw_u64(&w, spi_i);
	bw_u64(&w, spi_r);
	bw_bytes(&w, a->ip, xk_addr_len(a));
	bw_u16(&w, a->port);
	ike_sha1(buf, w.len, out);
}
