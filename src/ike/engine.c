/* SPDX-License-Identifier: ISC */
/*
 * The engine's public calls (ike.h): configuration, connections, what a
 * program may ask of an SA, and the listings.  The SA tables are in
 * sa_table.c, the message windows in window.c, time in timers.c and
 * cookies in cookie.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/cert.h"
#include "ike/child.h"
#include "ike/engine_int.h"
#include "ike/reauth.h"
#include "ike/task.h"
#include "ike/work.h"

void ike_engine_cfg_defaults(struct ike_engine_cfg *cfg)
{
	*cfg = (struct ike_engine_cfg){
		.nat_port = 4500,
		.retransmit_timeout_ms = 4000,
		.retransmit_base = 1.8,
		.retransmit_tries = 5,
		.half_open_timeout_ms = 30000,
		.cookie_threshold = 30,
		.cookie_threshold_ip = 3,
		.cookie_lifetime_ms = 60000,
		.half_open_max = 5000,
		.half_open_max_ip = 100,
		.init_max_len = 8192,
		.reqid_base = 0x7c000000,
		.keepalive_ms = IKE_KEEPALIVE_MS,
	};
}

uint64_t ike_now(struct ike_engine *e)
{
	return e->ops.now_ms(e->ops.ctx);
}

int64_t ike_wall_time(struct ike_engine *e)
{
	if (e->ops.wall_time)
		return e->ops.wall_time(e->ops.ctx);
	return (int64_t)time(NULL);
}

int ike_nonce(struct ike_engine *e, void *buf, size_t len)
{
	if (e->ops.nonce)
		return e->ops.nonce(e->ops.ctx, buf, len);
	return ike_random(buf, len);
}

const struct ike_engine_cfg *ike_cfg(struct ike_engine *e)
{
	return &e->cfg;
}

struct ike_stats *ike_stats_mut(struct ike_engine *e)
{
	return &e->stats;
}

const struct xk_kernel_ops *ike_kernel(struct ike_engine *e, void **ctx)
{
	*ctx = e->ops.kernel_ctx;
	return e->ops.kernel;
}

uint32_t ike_alloc_reqid(struct ike_engine *e)
{
	return e->reqid_next++;
}

struct ike_conn *ike_conn_first(struct ike_engine *e)
{
	return e->conns;
}

void ike_emit(struct ike_sa *sa, enum ike_event_type type,
	      const struct ike_child *child, uint16_t notify, const char *reason)
{
	struct ike_engine *e = sa->eng;
	struct ike_child_info ci;
	struct ike_event ev = {
		.type = type,
		.conn = sa->conn ? sa->conn->name : "",
		.initiator = sa->initiator,
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.child_spi_in = child ? child->spi_in : 0,
		.child_spi_out = child ? child->spi_out : 0,
		.local = &sa->local,
		.remote = &sa->remote,
		.notify = notify,
		.reason = reason,
	};

	if (child) {
		child_fill_info(child, &ci);
		ev.child = &ci;
	}
	if (e->ops.event)
		e->ops.event(e->ops.ctx, &ev);
}

void ike_emit_peer(struct ike_engine *e, enum ike_event_type type, const char *conn,
		   const struct xk_addr *remote, uint16_t notify, const char *reason)
{
	struct ike_event ev = {
		.type = type,
		.conn = conn ? conn : "",
		.remote = remote,
		.notify = notify,
		.reason = reason,
	};

	if (e->ops.event)
		e->ops.event(e->ops.ctx, &ev);
}

/* ---- connections ---- */

void ike_conn_get(struct ike_conn *c)
{
	c->refs++;
}

static void conn_free(struct ike_conn *c)
{
	xk_wipe(c->psk, sizeof(c->psk));
	ike_cred_free(c->cred);
	ike_trust_free(c->trust);
	free(c->ike);
	for (size_t i = 0; i < c->n_child; i++)
		free(c->child[i].esp);
	free(c->child);
	free(c);
}

void ike_conn_put(struct ike_engine *e, struct ike_conn *c)
{
	(void)e;
	if (--c->refs == 0 && c->deleted)
		conn_free(c);
}

/* Each side's method has what it needs: a PSK, our credential, the CAs. */
static bool auth_cfg_ok(const struct ike_conn_cfg *cfg)
{
	bool psk = cfg->local_auth == IKE_AUTH_PSK || cfg->remote_auth == IKE_AUTH_PSK;

	if (cfg->local_auth > IKE_AUTH_PUBKEY || cfg->remote_auth > IKE_AUTH_PUBKEY ||
	    cfg->send_cert > IKE_SEND_CERT_NEVER || cfg->psk_len > IKE_PSK_MAX ||
	    cfg->revocation > IKE_REVOCATION_STRICT)
		return false;
	return (!psk || cfg->psk_len > 0) &&
	       (cfg->local_auth != IKE_AUTH_PUBKEY || cfg->cred) &&
	       (cfg->remote_auth != IKE_AUTH_PUBKEY || cfg->trust);
}

/* The CHILD_SA fields of a connection without ike_conn_cfg.children, as its one. */
static struct ike_child_cfg conn_own_child(const struct ike_conn_cfg *cfg)
{
	struct ike_child_cfg cc = {
		.name = cfg->name,
		.esp = cfg->esp,
		.n_esp = cfg->n_esp,
		.n_local_ts = cfg->n_local_ts,
		.n_remote_ts = cfg->n_remote_ts,
		.mode = cfg->mode,
		.replay_window = cfg->replay_window,
		.life_time_s = cfg->life_time_s,
		.rekey_time_s = cfg->rekey_time_s,
		.reqid = cfg->reqid,
		.tag_in = cfg->tag_in,
		.tag_out = cfg->tag_out,
		.recreate_closed = cfg->recreate_closed,
		.recreate_lost = cfg->recreate_lost,
		.start = true,
	};

	memcpy(cc.local_ts, cfg->local_ts, sizeof(cc.local_ts));
	memcpy(cc.remote_ts, cfg->remote_ts, sizeof(cc.remote_ts));
	return cc;
}

static bool child_cfg_ok(const struct ike_child_cfg *cc)
{
	return cc->n_esp && cc->n_local_ts <= IKE_MAX_TS && cc->n_remote_ts <= IKE_MAX_TS &&
	       (!cc->name || strlen(cc->name) < IKE_NAME_MAX);
}

/* Copy one CHILD_SA configuration in; conn_name names it if it has no name. */
static int cconf_copy(struct ike_cconf *to, const struct ike_child_cfg *from,
		      const char *conn_name)
{
	to->esp = calloc(from->n_esp, sizeof(*to->esp));
	if (!to->esp)
		return -ENOMEM;
	memcpy(to->esp, from->esp, from->n_esp * sizeof(*to->esp));
	to->n_esp = from->n_esp;
	snprintf(to->name, sizeof(to->name), "%s",
		 from->name && *from->name ? from->name : conn_name);
	memcpy(to->local_ts, from->local_ts, sizeof(to->local_ts));
	memcpy(to->remote_ts, from->remote_ts, sizeof(to->remote_ts));
	to->n_local_ts = from->n_local_ts;
	to->n_remote_ts = from->n_remote_ts;
	to->mode = from->mode;
	to->replay_window = from->replay_window ? from->replay_window : 32;
	to->life_time_s = from->life_time_s;
	to->rekey_time_s = from->rekey_time_s;
	to->reqid = from->reqid;
	to->tag_in = from->tag_in;
	to->tag_out = from->tag_out;
	to->recreate_closed = from->recreate_closed;
	to->recreate_lost = from->recreate_lost;
	to->start = from->start;
	return 0;
}

/* Valid, and names unique (a CHILD_SA is found by its configuration's name). */
static bool children_ok(const struct ike_conn_cfg *cfg)
{
	if (!cfg->n_children) {
		struct ike_child_cfg own = conn_own_child(cfg);

		return child_cfg_ok(&own);
	}
	if (cfg->n_children > IKE_MAX_CHILD_CFG)
		return false;
	for (size_t i = 0; i < cfg->n_children; i++) {
		const char *ni = cfg->children[i].name && *cfg->children[i].name
					 ? cfg->children[i].name
					 : cfg->name;

		if (!child_cfg_ok(&cfg->children[i]))
			return false;
		for (size_t j = 0; j < i; j++) {
			const char *nj = cfg->children[j].name && *cfg->children[j].name
						 ? cfg->children[j].name
						 : cfg->name;

			if (!strcmp(ni, nj))
				return false;
		}
	}
	return true;
}

int ike_engine_add_conn(struct ike_engine *e, const struct ike_conn_cfg *cfg)
{
	struct ike_conn *c, **pp;

	if (!cfg->name || !*cfg->name || strlen(cfg->name) >= IKE_NAME_MAX ||
	    !cfg->n_ike || !auth_cfg_ok(cfg) || !children_ok(cfg) ||
	    (cfg->fragment_size && cfg->fragment_size < IKE_FRAG_SIZE_FLOOR))
		return -EINVAL;
	for (pp = &e->conns; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, cfg->name) == 0)
			return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ike = calloc(cfg->n_ike, sizeof(*c->ike));
	c->n_child = cfg->n_children ? cfg->n_children : 1;
	c->child = calloc(c->n_child, sizeof(*c->child));
	if (!c->ike || !c->child) {
		conn_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_child; i++) {
		struct ike_child_cfg own;
		const struct ike_child_cfg *from = cfg->children ? &cfg->children[i] : NULL;

		if (!from) {
			own = conn_own_child(cfg);
			from = &own;
		}
		if (cconf_copy(&c->child[i], from, cfg->name) < 0) {
			conn_free(c);
			return -ENOMEM;
		}
	}
	memcpy(c->ike, cfg->ike, cfg->n_ike * sizeof(*c->ike));
	c->n_ike = cfg->n_ike;
	strcpy(c->name, cfg->name);
	c->local = cfg->local;
	c->remote = cfg->remote;
	c->local_id = cfg->local_id;
	c->remote_id = cfg->remote_id;
	if (cfg->psk_len)
		memcpy(c->psk, cfg->psk, cfg->psk_len);
	c->psk_len = cfg->psk_len;
	c->local_auth = cfg->local_auth;
	c->remote_auth = cfg->remote_auth;
	c->cred = cfg->cred;
	c->trust = cfg->trust;
	ike_cred_hold(c->cred);
	ike_trust_hold(c->trust);
	c->send_cert = cfg->send_cert;
	c->revocation = cfg->revocation;
	c->ocsp_uri = cfg->ocsp_uri;
	c->ike_rekey_time_s = cfg->ike_rekey_time_s;
	c->reauth_time_s = cfg->reauth_time_s;
	c->dpd_s = cfg->dpd_s;
	c->dpd_timeout_s = cfg->dpd_timeout_s;
	c->force_encap = cfg->force_encap;
	c->fragmentation = cfg->fragmentation;
	c->fragment_size = cfg->fragment_size ? cfg->fragment_size : IKE_FRAG_SIZE_DEFAULT;
	c->refs = 1; /* the list's reference */
	*pp = c;
	return 0;
}

int ike_engine_del_conn(struct ike_engine *e, const char *name)
{
	struct ike_conn **pp;

	for (pp = &e->conns; *pp; pp = &(*pp)->next) {
		struct ike_conn *c = *pp;

		if (strcmp(c->name, name) == 0) {
			*pp = c->next;
			c->deleted = true;
			ike_conn_put(e, c);
			return 0;
		}
	}
	return -ENOENT;
}

static struct ike_conn *conn_find(struct ike_engine *e, const char *name)
{
	for (struct ike_conn *c = e->conns; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct ike_engine *ike_engine_new(const struct ike_engine_cfg *cfg,
				  const struct ike_ops *ops)
{
	struct ike_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (cfg)
		e->cfg = *cfg;
	else
		ike_engine_cfg_defaults(&e->cfg);
	e->ops = *ops;
	if (ike_tables_init(e) < 0 || ike_random_secret(&e->hash_key, sizeof(e->hash_key)) < 0 ||
	    ike_random_secret(e->cookie_secret, sizeof(e->cookie_secret)) < 0) {
		ike_tables_fini(e);
		free(e);
		return NULL;
	}
	e->cookie_rotate_ms = ike_now(e) + e->cfg.cookie_lifetime_ms;
	e->reqid_next = e->cfg.reqid_base ? e->cfg.reqid_base : 1;
	return e;
}

void ike_engine_free(struct ike_engine *e)
{
	if (!e)
		return;
	while (e->all)
		ike_sa_kill(e->all, 0, "shutdown");
	ike_engine_reap(e);
	/* Works still out are the embedder's to release (ike_work_free). */
	ike_work_orphan_all(e);
	while (e->conns) {
		struct ike_conn *c = e->conns;

		e->conns = c->next;
		c->deleted = true;
		ike_conn_put(e, c);
	}
	xk_wipe(e->cookie_secret, sizeof(e->cookie_secret));
	ike_tables_fini(e);
	free(e);
}

void ike_engine_stats(const struct ike_engine *e, struct ike_stats *out)
{
	*out = e->stats;
}

void ike_send_raw(struct ike_engine *e, const struct xk_addr *local,
		  const struct xk_addr *remote, const uint8_t *buf, size_t len)
{
	e->stats.tx_packets++;
	e->ops.send(e->ops.ctx, local, remote, buf, len);
}

void ike_sa_send_raw(struct ike_sa *sa, const uint8_t *buf, size_t len)
{
	ike_send_raw(sa->eng, &sa->local, &sa->remote, buf, len);
}

void ike_sa_keepalive(struct ike_sa *sa)
{
	if (sa->eng->ops.keepalive)
		sa->eng->ops.keepalive(sa->eng->ops.ctx, &sa->local, &sa->remote);
}


struct ike_sa *ike_sa_initiate(struct ike_engine *e, struct ike_conn *c, struct ike_sa *old)
{
	struct ike_task *init, *auth;
	struct ike_sa *sa;

	sa = ike_sa_new(e, c, true);
	init = task_init_new();
	auth = task_auth_new();
	if (!sa || !init || !auth) {
		free(init);
		free(auth);
		if (sa)
			ike_sa_kill(sa, 0, "out of memory");
		return NULL;
	}
	sa->local = c->local;
	sa->remote = c->remote;
	/* No local address configured: the one the system would pick. */
	if (!sa->local.family && e->ops.source)
		e->ops.source(e->ops.ctx, &sa->remote, &sa->local);
	if (!sa->remote.port)
		sa->remote.port = 500;
	if (!sa->local.port)
		sa->local.port = 500;
	/* Linked before anything is sent: IKE_AUTH reads the old SA. */
	if (old && ike_reauth_link(sa, old) < 0) {
		free(init);
		free(auth);
		ike_sa_kill(sa, 0, "out of memory");
		return NULL;
	}
	xk_info("initiating conn=%s spi=%016llx", c->name, (unsigned long long)sa->spi_i);
	ike_sa_queue(sa, init);
	ike_sa_queue(sa, auth);
	return sa;
}

/*
 * IKE_AUTH carries cfg (-1: the first configuration that starts, else the
 * first); the others that start follow it with CREATE_CHILD_SA.
 */
static int initiate(struct ike_engine *e, const char *name, int cfg, uint64_t *spi_out)
{
	struct ike_conn *c = conn_find(e, name);
	struct ike_sa *sa;

	if (!c)
		return -ENOENT;
	/* An initiator needs to know where to go. */
	if (!c->remote.family)
		return -EDESTADDRREQ;
	if (cfg < 0)
		for (size_t i = 0; i < c->n_child && cfg < 0; i++)
			if (c->child[i].start)
				cfg = (int)i;
	sa = ike_sa_initiate(e, c, NULL);
	if (sa) {
		sa->auth_none = cfg < 0;
		sa->auth_cfg = (uint8_t)(cfg < 0 ? 0 : cfg);
		sa->start_others = true;
		if (spi_out)
			*spi_out = sa->spi_i;
	}
	ike_engine_reap(e);
	return sa ? 0 : -ENOMEM;
}

int ike_engine_initiate(struct ike_engine *e, const char *name, uint64_t *spi_out)
{
	return initiate(e, name, -1, spi_out);
}

int ike_engine_initiate_child(struct ike_engine *e, const char *name, const char *child,
			      uint64_t *spi_out)
{
	struct ike_conn *c = conn_find(e, name);
	int i = c && child ? conn_child_find(c, child) : 0;

	if (!c || i < 0)
		return -ENOENT;
	return initiate(e, name, i, spi_out);
}

static struct ike_sa *find_established(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = ike_engine_find_sa(e, spi);

	return sa && sa->state == IKE_S_ESTABLISHED ? sa : NULL;
}

/* Queue a task made for one of the public calls below. */
static int queue_task(struct ike_engine *e, struct ike_sa *sa, struct ike_task *t)
{
	if (!t)
		return -ENOMEM;
	ike_sa_queue(sa, t);
	ike_engine_reap(e);
	return 0;
}

int ike_engine_terminate(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = ike_engine_find_sa(e, spi);

	if (!sa || sa->state == IKE_S_DEAD)
		return -ENOENT;
	/* The SA an IKE rekey is making: its exchange settles it (terminate the old one). */
	if (sa->state == IKE_S_NEW && !sa->tasks)
		return -EBUSY;
	if (sa->state != IKE_S_ESTABLISHED) {
		/* Nothing the peer could be told in an authenticated message. */
		ike_sa_kill(sa, 0, "terminated");
		ike_engine_reap(e);
		return 0;
	}
	return queue_task(e, sa, task_terminate_new());
}


int ike_engine_delete_child(struct ike_engine *e, uint64_t spi, uint32_t spi_in)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa || !child_find_in(sa, spi_in, CHILD_LIVE))
		return -ENOENT;
	return queue_task(e, sa, task_delete_child_new(spi_in, false));
}

int ike_engine_liveness(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa)
		return -ENOENT;
	return queue_task(e, sa, task_liveness_new());
}

int ike_engine_create_child(struct ike_engine *e, uint64_t spi)
{
	return ike_engine_create_child_cfg(e, spi, NULL);
}

int ike_engine_create_child_cfg(struct ike_engine *e, uint64_t spi, const char *child)
{
	struct ike_sa *sa = find_established(e, spi);
	int i;

	if (!sa || sa->succ == IKE_SUCC_REPLACED)
		return -ENOENT;
	i = child ? conn_child_find(sa->conn, child) : 0;
	if (i < 0)
		return -ENOENT;
	return queue_task(e, sa, task_child_cfg_new((uint8_t)i));
}

int ike_engine_rekey_ike(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);

	if (!sa)
		return -ENOENT;
	if (sa->succ != IKE_SUCC_NONE)
		return -EALREADY;
	return queue_task(e, sa, task_ike_rekey_new());
}

int ike_engine_reauth(struct ike_engine *e, uint64_t spi)
{
	struct ike_sa *sa = find_established(e, spi);
	int err;

	if (!sa)
		return -ENOENT;
	err = ike_reauth_start(sa);
	ike_engine_reap(e);
	return err;
}

int ike_engine_rekey_child(struct ike_engine *e, uint64_t spi, uint32_t spi_in)
{
	struct ike_sa *sa = find_established(e, spi);
	struct ike_child *c = sa ? child_find_in(sa, spi_in, CHILD_LIVE) : NULL;

	if (!c)
		return -ENOENT;
	if (c->succ != CHILD_SUCC_NONE || c->state != CHILD_S_INSTALLED)
		return -EALREADY;
	return queue_task(e, sa, task_child_new(spi_in));
}

/*
 * What a soft (rekey) or hard (forget, tell the peer) expiry of c's SA
 * does.  False if there was nothing to do: a soft expiry of a CHILD_SA
 * already being rekeyed or replaced, or of an IKE SA not established.
 */
static bool child_expire(struct ike_child *c, bool inbound, bool hard)
{
	struct ike_sa *sa = c->sa;

	xk_info("%s expire conn=%s spi_in=%08x (%s SA)", hard ? "hard" : "soft", sa->conn->name,
		c->spi_in, inbound ? "inbound" : "outbound");
	if (hard) {
		/* The kernel dropped it already; tell the peer, forget it. */
		struct ike_task *t = NULL;

		/*
		 * The other SA of the pair expired first (the kernel expires
		 * both, one after the other), or we were deleting it anyway:
		 * that DELETE says it all.
		 */
		if (sa->state == IKE_S_ESTABLISHED && task_delete_child_queued(sa, c->spi_in))
			return true;
		if (sa->state == IKE_S_ESTABLISHED && c->succ != CHILD_SUCC_REPLACED)
			t = task_delete_child_new(c->spi_in, false);
		/* Lost, not replaced: its connection may want it back. */
		if (c->state == CHILD_S_INSTALLED && c->succ != CHILD_SUCC_REPLACED)
			child_lost(c, IKE_CHILD_END_LOST);
		if (t)
			ike_sa_queue(sa, t);
		else
			child_remove(c);
	} else if (c->succ == CHILD_SUCC_NONE && c->state == CHILD_S_INSTALLED &&
		   sa->state == IKE_S_ESTABLISHED) {
		struct ike_task *t = task_child_new(c->spi_in);

		if (t)
			ike_sa_queue(sa, t);
	} else {
		return false;
	}
	return true;
}

int ike_engine_expire(struct ike_engine *e, const struct xk_sa_id *id, bool hard)
{
	bool inbound;
	/*
	 * Only installed CHILD_SAs are indexed.  One still being negotiated
	 * has only the larval SA that ALLOCSPI left; the kernel expires that
	 * on its own, and the CHILD_SA belongs to its exchange until that ends.
	 */
	struct ike_child *c = ike_child_by_sa_id(e, id, &inbound);

	if (!c)
		return -ENOENT;
	child_expire(c, inbound, hard);
	ike_engine_reap(e);
	return 0;
}

int ike_engine_peer_moved(struct ike_engine *e, const struct xk_sa_id *id,
			  const struct xk_addr *peer)
{
	bool inbound;
	struct ike_child *c = ike_child_by_sa_id(e, id, &inbound);
	struct ike_sa *sa = c ? c->sa : NULL;
	struct xk_addr old;
	char a[64];

	/* The kernel reports a mapping for the inbound SA that saw the ESP. */
	if (!c || !inbound || sa->state != IKE_S_ESTABLISHED)
		return -ENOENT;
	/* Only behind a NAT, and only to where ESP now really comes from. */
	if (!(sa->nat_local || sa->nat_remote) || xk_addr_eq(&sa->remote, peer))
		return 0;
	old = sa->remote;
	sa->remote = *peer;
	xk_info("peer moved conn=%s to %s:%u (ESP)", sa->conn->name,
		xk_addr_str(peer, a, sizeof(a)), peer->port);
	child_move_all(sa, &old);
	ike_sa_schedule(sa);
	return 0;
}

/* ---- resync with the backend ---- */

static int cmp_kernel_sa(const void *a, const void *b)
{
	uint32_t x = ((const struct ike_kernel_sa *)a)->id.spi;
	uint32_t y = ((const struct ike_kernel_sa *)b)->id.spi;

	return (x > y) - (x < y);
}

static int cmp_kernel_pol(const void *a, const void *b)
{
	uint32_t x = ((const struct ike_kernel_pol *)a)->pol.reqid;
	uint32_t y = ((const struct ike_kernel_pol *)b)->pol.reqid;

	return (x > y) - (x < y);
}

/* The kernel's SA (sas sorted by SPI) with this SPI and destination, marked ours. */
static struct ike_kernel_sa *kernel_sa(struct ike_kernel_view *kv, const struct xk_addr *dst,
				       uint32_t spi)
{
	struct ike_kernel_sa key = { .id.spi = spi }, *s;

	s = bsearch(&key, kv->sas, kv->n_sas, sizeof(key), cmp_kernel_sa);
	if (!s)
		return NULL;
	/* bsearch found one of the run with this SPI: look at all of it. */
	while (s > kv->sas && s[-1].id.spi == spi)
		s--;
	for (; s < kv->sas + kv->n_sas && s->id.spi == spi; s++) {
		if (xk_addr_ip_eq(&s->id.dst, dst)) {
			s->ours = true;
			return s;
		}
	}
	return NULL;
}

/* The kernel's policies (sorted by reqid) with this reqid: *n of them. */
static struct ike_kernel_pol *kernel_pols(struct ike_kernel_view *kv, uint32_t reqid, size_t *n)
{
	struct ike_kernel_pol key = { .pol.reqid = reqid }, *p, *end = kv->pols + kv->n_pols;

	*n = 0;
	p = bsearch(&key, kv->pols, kv->n_pols, sizeof(key), cmp_kernel_pol);
	if (!p)
		return NULL;
	while (p > kv->pols && p[-1].pol.reqid == reqid)
		p--;
	while (p + *n < end && p[*n].pol.reqid == reqid)
		(*n)++;
	return p;
}

/* A lost expiry that c is due, named by one of its SAs. */
struct sync_due {
	struct xk_sa_id id;
	bool hard;
};

/*
 * c against the kernel: its policies (restored where missing), then
 * whether one of its SAs is gone (a lost hard expiry) or past its soft
 * lifetime (a lost soft one).  False if neither.
 */
static bool child_sync(struct ike_child *c, struct ike_kernel_view *kv, struct sync_due *due,
		       struct ike_sync_result *res)
{
	struct ike_sa *sa = c->sa;
	struct xk_sa_id in = child_sa_id(sa, c, true);
	struct xk_sa_id out = child_sa_id(sa, c, false);
	struct ike_kernel_sa *kin = c->sa_in ? kernel_sa(kv, &in.dst, in.spi) : NULL;
	struct ike_kernel_sa *kout = c->sa_out ? kernel_sa(kv, &out.dst, out.spi) : NULL;
	struct ike_kernel_pol *pols;
	size_t n;

	if (c->n_policies) {
		pols = kernel_pols(kv, c->reqid, &n);
		res->restored += child_sync_policies(sa, c, pols, n);
	}
	due->hard = (c->sa_in && !kin) || (c->sa_out && !kout);
	due->id = c->sa_in && !kin ? in : out;
	if (due->hard)
		return true;
	due->id = kin && kin->soft_due ? in : out;
	return (kin && kin->soft_due) || (kout && kout->soft_due);
}

int ike_engine_kernel_sync(struct ike_engine *e, struct ike_kernel_view *kv,
			   struct ike_sync_result *res)
{
	struct sync_due *due = calloc(e->n_children + 1, sizeof(*due));
	size_t n_due = 0;

	memset(res, 0, sizeof(*res));
	if (!due)
		return -ENOMEM;
	qsort(kv->sas, kv->n_sas, sizeof(kv->sas[0]), cmp_kernel_sa);
	qsort(kv->pols, kv->n_pols, sizeof(kv->pols[0]), cmp_kernel_pol);
	/* First the whole picture, then the expiries: they change the lists. */
	for (struct ike_sa *sa = e->all; sa; sa = sa->next_all) {
		for (struct ike_child *c = sa->children; c; c = c->next) {
			/* Installed CHILD_SAs are indexed, n_children of them. */
			if (c->indexed && n_due < e->n_children && child_sync(c, kv, &due[n_due], res))
				n_due++;
		}
	}
	for (size_t i = 0; i < n_due; i++) {
		bool inbound;
		/* An earlier expiry may have taken this CHILD_SA along. */
		struct ike_child *c = ike_child_by_sa_id(e, &due[i].id, &inbound);

		if (!c || !child_expire(c, inbound, due[i].hard))
			continue;
		if (due[i].hard)
			res->gone++;
		else
			res->due++;
	}
	free(due);
	ike_engine_reap(e);
	return 0;
}

/* ---- listing ---- */

static void fill_info(const struct ike_sa *sa, struct ike_sa_info *info)
{
	*info = (struct ike_sa_info){
	    .conn = sa->conn ? sa->conn->name : "",
	    .state = sa->state,
	    .initiator = sa->initiator,
	    .spi_i = sa->spi_i,
	    .spi_r = sa->spi_r,
	    .local = sa->local,
	    .remote = sa->remote,
	    .suite = sa->suite,
	    .nat_local = sa->nat_local,
	    .nat_remote = sa->nat_remote,
	    .created_ms = sa->created_ms,
	    .established_ms = sa->established_ms,
	    .n_children = ike_sa_count_children(sa),
	};
	ike_sa_local_id(sa, &info->local_id);
	memcpy(&info->remote_id, ike_sa_remote_id(sa),
	       offsetof(struct ike_id, data) + ike_sa_remote_id(sa)->len);
}

void ike_engine_foreach_sa(struct ike_engine *e, ike_sa_cb cb, void *ctx)
{
	struct ike_sa_info info;

	for (struct ike_sa *sa = e->all; sa; sa = sa->next_all) {
		fill_info(sa, &info);
		cb(ctx, &info);
	}
}

int ike_engine_sa_info(struct ike_engine *e, uint64_t spi, struct ike_sa_info *info)
{
	struct ike_sa *sa = ike_engine_find_sa(e, spi);

	if (!sa)
		return -ENOENT;
	fill_info(sa, info);
	return 0;
}

int ike_engine_child_info(struct ike_engine *e, uint64_t spi, size_t i,
			  struct ike_child_info *info)
{
	struct ike_sa *sa = ike_engine_find_sa(e, spi);
	struct ike_child *c;

	if (!sa)
		return -ENOENT;
	for (c = sa->children; c && i; c = c->next)
		i--;
	if (!c)
		return -ENOENT;
	child_fill_info(c, info);
	return 0;
}
