/* SPDX-License-Identifier: ISC */
/*
 * Pending operations (ike.h, ops->submit): what a work carries, and where
 * the engine continues when it comes back.  The computation (work.c,
 * ike_work_run) reads and writes only the work; everything else here runs
 * on the engine's thread.
 */
#ifndef XK_IKE_WORK_H
#define XK_IKE_WORK_H

#include "ike/cert.h"
#include "ike/ike_sa.h"
#include "ike/ocsp.h"
#include "ike/payload.h"

/* Where the exchange goes on once the work is done (the table in work.c). */
enum ike_work_resume {
	IKE_RESUME_INIT_RESPOND, /* responder: answer IKE_SA_INIT (task_init.c) */
	IKE_RESUME_INIT_REPLY,   /* initiator: the IKE_SA_INIT response (task_init.c) */
	IKE_RESUME_AUTH_RESPOND, /* responder: answer IKE_AUTH (task_auth.c) */
	IKE_RESUME_AUTH_REPLY,   /* initiator: the IKE_AUTH response (task_auth.c) */
	IKE_RESUME_AUTH_SIGN,    /* initiator: send IKE_AUTH once it is signed (task_auth.c) */
	IKE_RESUME_CREATE_RESPOND, /* responder: answer CREATE_CHILD_SA with KE (task_child.c) */
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
	/* When want_secret, g^ir itself (CREATE_CHILD_SA's KEYMAT takes it). */
	bool want_secret;
	uint8_t gir[IKE_WORK_PUB_MAX];
	size_t gir_len;
	/* And, when want_keys, SKEYSEED and the keys (section 2.14) from g^ir. */
	bool want_keys;
	uint16_t prf;
	size_t a_len, e_len;
	uint64_t spi_i, spi_r;
	uint8_t ni[IKEV2_NONCE_MAX], nr[IKEV2_NONCE_MAX];
	uint16_t ni_len, nr_len;
	struct ike_keys keys; /* out */
	/*
	 * The message the exchange stopped at, when it needs it again: as
	 * received (IKE_SA_INIT), or (IKE_AUTH) the decrypted inner payloads
	 * with the header, the first inner type and the request's cache key.
	 */
	uint8_t *msg;
	size_t msg_len;
	struct ike_hdr hdr;
	uint8_t sk_first;
	uint8_t req_key[16];
	/* IKE_WORK_OCSP: what is asked (cert and issuer DER, the
	 * certificate's own responder URI or "", the connection), and the
	 * answer the embedder gives (ike_work_ocsp_answer). */
	struct ike_blob cert, issuer;
	char uri[256];
	char conn[IKE_NAME_MAX];
	bool answered;
	int ocsp_err;
	struct ike_ocsp_result ocsp;
	/*
	 * IKE_WORK_VERIFY: the peer's certificate (parsed, owned) and the
	 * intermediates it sent (DER copies), validated against trust (held)
	 * at the wall-clock time `now`; its ID bound to the certificate; its
	 * AUTH data over the octets it signed.  Out: err and why (a static
	 * string), and the certificate's issuer (DER) for OCSP.
	 */
	struct ike_cert *ee;
	struct ike_blob im[IKE_CHAIN_MAX];
	size_t n_im;
	const struct ike_trust *trust;
	int64_t now;
	struct ike_id peer_id;
	uint8_t auth_method;
	uint8_t *auth_data;
	size_t auth_len;
	uint8_t *peer_octets;
	size_t peer_octets_len;
	const char *why;
	struct ike_blob chain_issuer;
	/*
	 * IKE_WORK_SIGN, and IKE_WORK_VERIFY with our_octets (the responder
	 * signs once the peer's AUTH verified): our credential (held), the
	 * peer's hashes, the octets to sign.  Out: sign_err, sign_why, the
	 * method and the AUTH data (sig: AUTH_DATA_MAX octets, ours).
	 */
	const struct ike_cred *cred;
	uint32_t peer_hashes;
	uint8_t *our_octets;
	size_t our_octets_len;
	int sign_err;
	const char *sign_why;
	uint8_t sig_method;
	uint8_t *sig;
	size_t sig_len;
};

/* IKE_WORK_OCSP: what the answer says for the revocation policy. */
enum ike_revocation_outcome ike_work_ocsp_outcome(const struct ike_work *w);
/* The decrypted message w stopped at (IKE_AUTH), parsed again into m. */
int ike_work_msg(const struct ike_work *w, struct ike_msg *m);

/* A work of this kind for sa, to resume at `resume`; NULL without memory. */
struct ike_work *ike_work_new(struct ike_sa *sa, enum ike_work_kind kind,
			      enum ike_work_resume resume);
/*
 * Hand w out if the embedder takes work (returns 1: the SA waits, sa->work
 * is w), else run it here and now (returns 0: the caller goes on with the
 * results in w and frees it).
 */
int ike_work_start(struct ike_work *w);
/* Does the engine hand work of this kind out (ops.submit), or do it inline? */
bool ike_work_async(const struct ike_engine *e, enum ike_work_kind kind);
/* The SA dies or stops waiting: the work, if any, no longer names it. */
void ike_work_detach(struct ike_sa *sa);
/* ike_engine_free: every work out forgets the engine. */
void ike_work_orphan_all(struct ike_engine *e);

/* The continuations (task_init.c), called by ike_engine_complete. */
void task_init_respond_resume(struct ike_sa *sa, struct ike_work *w);
void task_init_reply_resume(struct ike_sa *sa, struct ike_work *w);
void task_auth_respond_resume(struct ike_sa *sa, struct ike_work *w);
void task_auth_reply_resume(struct ike_sa *sa, struct ike_work *w);
void task_auth_sign_resume(struct ike_sa *sa, struct ike_work *w);
void task_child_respond_resume(struct ike_sa *sa, struct ike_work *w);

/*
 * window.c: act on an initiator task's result as a response does (move
 * the window, next task, retry, kill).
 */
void ike_sa_task_result(struct ike_sa *sa, enum ike_task_result res);
/*
 * window.c: answer the request m again, from where its processing
 * stopped for a work (the peer's retransmissions were dropped meanwhile).
 */
void ike_sa_request_resume(struct ike_sa *sa, const struct ike_msg *m);
/* window.c: send the next queued request, if none is out (a work held it back). */
void ike_sa_request_next(struct ike_sa *sa);
/*
 * A responder's key exchange in CREATE_CHILD_SA for a CHILD_SA with PFS
 * (section 1.3.1; an IKE SA rekey, 1.3.2, still does its own inline: the
 * hostile orderings of test_hostile count on its answer coming at once):
 * our public value and g^ir
 * for the peer's ke into pub and gir (in: their sizes).  0; 1 when it
 * was handed out as a work (IKE_WORK_DH: the request is processed again
 * when it is back, and this call then takes the work's results); -EINVAL
 * for a bad public value, -ENOMEM.
 */
int ike_work_ke(struct ike_sa *sa, const struct ike_msg *req, uint16_t group,
		const struct ike_ke *ke, uint8_t *gir, size_t *girlen, uint8_t *pub,
		size_t *publen);
/* Keep the message m in w, to be processed again when w is back (ike_work_msg). */
int ike_work_keep_msg(struct ike_work *w, const struct ike_msg *m);

#endif
