/* SPDX-License-Identifier: ISC */
/*
 * Pending operations (ike.h, ops->submit): what a work carries, and where
 * the engine continues when it comes back.  The computation (work.c,
 * ike_work_run) reads and writes only the work; everything else here runs
 * on the engine's thread.
 */
#ifndef XK_IKE_WORK_H
#define XK_IKE_WORK_H

#include "ike/ike_sa.h"

/* Where the exchange goes on once the work is done (the table in work.c). */
enum ike_work_resume {
	IKE_RESUME_INIT_RESPOND, /* responder: answer IKE_SA_INIT (task_init.c) */
	IKE_RESUME_INIT_REPLY,   /* initiator: the IKE_SA_INIT response (task_init.c) */
	IKE_RESUME_COUNT,
};

#define IKE_WORK_PUB_MAX 1024

struct ike_work {
	enum ike_work_kind kind;
	enum ike_work_resume resume;
	/*
	 * Engine-thread fields: the engine's list of works out, and the SA
	 * waiting.  sa is cleared when the SA dies (ike_sa_kill), eng when
	 * the engine is freed: a late result then finds nobody to resume.
	 * ike_work_run never reads them.
	 */
	struct ike_engine *eng;
	struct ike_sa *sa;
	struct ike_work *next, **prev;
	bool submitted;

	/* ---- what ike_work_run owns ---- */
	int err; /* the outcome: 0 or a negative errno */
	/* IKE_WORK_DH: our key pair (made here if NULL), the peer's value. */
	uint16_t group;
	struct ike_dh *dh;
	uint8_t peer_pub[IKE_WORK_PUB_MAX];
	size_t peer_len;
	uint8_t pub[IKE_WORK_PUB_MAX]; /* out: our public value */
	size_t pub_len;
	/* And, when want_keys, SKEYSEED and the keys (section 2.14) from g^ir. */
	bool want_keys;
	uint16_t prf;
	size_t a_len, e_len;
	uint64_t spi_i, spi_r;
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
	uint16_t ni_len, nr_len;
	struct ike_keys keys; /* out */
	/* The message the exchange stopped at, when it needs it again. */
	uint8_t *msg;
	size_t msg_len;
};

/* A work of this kind for sa, to resume at `resume`; NULL without memory. */
struct ike_work *ike_work_new(struct ike_sa *sa, enum ike_work_kind kind,
			      enum ike_work_resume resume);
/*
 * Hand w out if the embedder takes work (returns 1: the SA waits, sa->work
 * is w), else run it here and now (returns 0: the caller goes on with the
 * results in w and frees it).
 */
int ike_work_start(struct ike_work *w);
/* Does the engine hand work out (ops.submit), or do it inline? */
bool ike_work_async(const struct ike_engine *e);
/* The SA dies or stops waiting: the work, if any, no longer names it. */
void ike_work_detach(struct ike_sa *sa);
/* ike_engine_free: every work out forgets the engine. */
void ike_work_orphan_all(struct ike_engine *e);

/* The continuations (task_init.c), called by ike_engine_complete. */
void task_init_respond_resume(struct ike_sa *sa, struct ike_work *w);
void task_init_reply_resume(struct ike_sa *sa, struct ike_work *w);

/*
 * window.c: act on an initiator task's result as a response does (move
 * the window, next task, retry, kill).
 */
void ike_sa_task_result(struct ike_sa *sa, enum ike_task_result res);

#endif
