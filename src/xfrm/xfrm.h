/* SPDX-License-Identifier: ISC */
/*
 * The kernel ESP backend: Linux Netlink XFRM over libmnl.
 *
 * It implements struct xk_kernel_ops (common/sa.h) on the neutral SA and
 * policy types, and knows nothing of IKE.  Everything it installs carries a
 * reqid from its own range, so that flushing after a crash touches nothing
 * that belongs to other tools.  Buffers that carried keys are wiped.
 */
#ifndef XFRM_XFRM_H
#define XFRM_XFRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

struct xfrm;

/* Bypass policies we install carry this priority: it marks them as ours. */
#define XFRM_BYPASS_PRIORITY 0x10

struct xfrm_cfg {
	uint32_t reqid_base;  /* owned reqids: [base, base + count) */
	uint32_t reqid_count;
	uint32_t spi_min, spi_max; /* ALLOCSPI range */
};

void xfrm_cfg_defaults(struct xfrm_cfg *cfg);

/* Open the request socket.  NULL with *err set (e.g. -EPROTONOSUPPORT). */
struct xfrm *xfrm_open(const struct xfrm_cfg *cfg, int *err);
void xfrm_close(struct xfrm *x);

/* The backend interface; ctx is the struct xfrm. */
extern const struct xk_kernel_ops xfrm_kernel_ops;

int xfrm_alloc_spi(struct xfrm *x, const struct xk_addr *src,
		   const struct xk_addr *dst, uint32_t *spi);
/*
 * Inbound SAs replace the larval SA that xfrm_alloc_spi() left in the
 * kernel (an update); all others are created.
 */
int xfrm_add_sa(struct xfrm *x, const struct xk_sa *sa);
int xfrm_update_sa(struct xfrm *x, const struct xk_sa *sa);
int xfrm_del_sa(struct xfrm *x, const struct xk_sa_id *id);
int xfrm_add_policy(struct xfrm *x, const struct xk_policy *pol);
int xfrm_del_policy(struct xfrm *x, const struct xk_policy *pol);
int xfrm_query_sa(struct xfrm *x, const struct xk_sa_id *id, struct xk_sa_stats *st);
/*
 * Move an SA to new outer addresses/ports (NAT mapping change).  The SA is
 * read back from the kernel (keys, sequence numbers and all), its
 * addresses and UDP encapsulation ports rewritten, and updated in place
 * (or, if its destination changed, re-added under the new one).
 */
int xfrm_move_sa(struct xfrm *x, const struct xk_sa_id *id, const struct xk_addr *src,
		 const struct xk_addr *dst);
/* Delete every SA and policy whose reqid is ours.  Returns how many. */
int xfrm_flush_owned(struct xfrm *x);
bool xfrm_owns_reqid(const struct xfrm *x, uint32_t reqid);

/* One SA as a dump reads it back: no keys, its limits and its use. */
struct xfrm_sa_entry {
	struct xk_sa_id id;
	struct xk_addr src;
	uint32_t reqid;
	struct xk_lifetime life; /* 0: no limit */
	struct xk_sa_stats cur;  /* bytes, packets, add_time */
	/*
	 * No keys yet: an SPI that ALLOCSPI reserved for a CHILD_SA still
	 * being negotiated, or the kernel's own state for an ACQUIRE.  The
	 * kernel removes such SAs itself after net.core.xfrm_acq_expires.
	 */
	bool larval;
};

/*
 * What the kernel holds in our reqid range (SAs, larval ones included,
 * and policies with a template of ours) and our bypass policies, read
 * with NLM_F_DUMP.  Plain arrays; free with xfrm_owned_free().
 */
struct xfrm_owned {
	struct xfrm_sa_entry *sas;
	size_t n_sas;
	struct xk_policy *pols;
	size_t n_pols;
};

int xfrm_dump_owned(struct xfrm *x, struct xfrm_owned *o);
void xfrm_owned_free(struct xfrm_owned *o);
/*
 * Whether the SA's soft limit has passed at now_s (seconds since the
 * epoch, the kernel's add_time clock), as the kernel decides it: by age
 * since it was added, or by bytes or packets carried.
 */
bool xfrm_sa_soft_due(const struct xfrm_sa_entry *e, uint64_t now_s);

/*
 * Batching: requests queued here go to the kernel in as few sends as
 * possible, each acknowledged by sequence number.  XFRM has no
 * transactions: if any request fails, commit undoes the ones that
 * succeeded (adds are deleted) and returns the first error, with the index
 * of the failed request in *failed (-1 if none).  An inbound SA in a batch
 * must have its SPI from xfrm_alloc_spi() (it is sent as an update).
 */
struct xfrm_batch;

struct xfrm_batch *xfrm_batch_new(struct xfrm *x);
int xfrm_batch_add_sa(struct xfrm_batch *b, const struct xk_sa *sa);
int xfrm_batch_del_sa(struct xfrm_batch *b, const struct xk_sa_id *id);
int xfrm_batch_add_policy(struct xfrm_batch *b, const struct xk_policy *pol);
int xfrm_batch_del_policy(struct xfrm_batch *b, const struct xk_policy *pol);
size_t xfrm_batch_len(const struct xfrm_batch *b);
int xfrm_batch_commit(struct xfrm_batch *b, int *failed);
/* Wipes the queued requests (they may hold keys). */
void xfrm_batch_free(struct xfrm_batch *b);

/*
 * Events: subscribe to the ACQUIRE, EXPIRE and MAPPING multicast groups on a
 * second, non-blocking socket; poll its fd, then read.  rcvbuf (bytes, 0:
 * the system's default) sizes its receive buffer, beyond net.core.rmem_max
 * where we may (SO_RCVBUFFORCE): the kernel sends events in bursts (many
 * SAs reaching a lifetime at once) and drops what does not fit.
 */
int xfrm_events_open(struct xfrm *x, int rcvbuf);
int xfrm_events_fd(const struct xfrm *x);
/*
 * Read and dispatch everything pending; returns the number of events, or
 * -ENOBUFS if the socket overran since the last read: events were lost
 * (what was still queued has been dispatched all the same), so the caller
 * must read the kernel's state back (xfrm_dump_owned).
 */
int xfrm_events_read(struct xfrm *x, xk_event_cb cb, void *ctx);

/*
 * Start-up probe: which algorithms does the running kernel accept?  Each
 * is tried with a throwaway SA in a scratch SPI, then deleted.
 */
struct xfrm_probe {
	bool esp;   /* ESP itself (esp4/esp6) */
	bool enc[4];   /* by enum xk_enc */
	bool integ[4]; /* by enum xk_integ */
	int esp_err;
};

int xfrm_probe(struct xfrm *x, struct xfrm_probe *p);
/*
 * NULL if the kernel carries enc + integ, else a sentence for the user:
 * "kernel lacks rfc4106(gcm(aes)) (module esp4/gcm missing?)".
 */
const char *xfrm_probe_check(const struct xfrm_probe *p, enum xk_enc enc,
			     enum xk_integ integ, char *buf, size_t len);

/* ---- pure message codecs (no socket), for tests and fuzzing ---- */

/* Build one request into buf; returns its length or a negative errno. */
int xfrm_msg_newsa(const struct xk_sa *sa, bool update, uint32_t seq,
		   void *buf, size_t cap);
int xfrm_msg_delsa(const struct xk_sa_id *id, uint32_t seq, void *buf, size_t cap);
int xfrm_msg_newpolicy(const struct xk_policy *pol, uint32_t seq, void *buf, size_t cap);
int xfrm_msg_delpolicy(const struct xk_policy *pol, uint32_t seq, void *buf, size_t cap);
int xfrm_msg_allocspi(const struct xk_addr *src, const struct xk_addr *dst,
		      uint32_t min, uint32_t max, uint32_t reqid, uint32_t seq,
		      void *buf, size_t cap);
int xfrm_msg_getsa(const struct xk_sa_id *id, uint32_t seq, void *buf, size_t cap);

/*
 * Parse one netlink message from the event groups.  0 and *ev filled for
 * ACQUIRE, EXPIRE and MAPPING; -ENOENT for other (valid) message types;
 * -EINVAL for anything malformed.
 */
int xfrm_event_parse(const void *buf, size_t len, struct xk_event *ev);

/* Parse a NEWSA reply (GETSA, ALLOCSPI) into the SPI and counters. */
int xfrm_sa_reply_parse(const void *buf, size_t len, uint32_t *spi, uint32_t *reqid,
			struct xk_sa_stats *st);
/* Parse one NEWSA of a dump (or a request) into an entry.  0 or -EINVAL. */
int xfrm_sa_entry_parse(const void *buf, size_t len, struct xfrm_sa_entry *e);
/*
 * Parse one NEWPOLICY of a dump (or a request): selectors, direction,
 * priority, mark, and the first template's reqid, mode and addresses; a
 * policy that allows without a template is a bypass.  0 or -EINVAL.
 */
int xfrm_policy_parse(const void *buf, size_t len, struct xk_policy *pol);

#endif
