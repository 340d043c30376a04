/* SPDX-License-Identifier: ISC */
/*
 * Pending operations: work the engine hands out (ops.submit) and the
 * continuation of the exchange when it comes back (ike_engine_complete).
 *
 * Ownership: a work names its SA by pointer only while the SA waits for it
 * (sa->work is the way back); ike_sa_kill cuts both, so a result for an SA
 * that died finds w->sa NULL and is dropped.  The engine keeps a list of
 * the works out so that ike_engine_free can cut their tie to it too.
 * ike_work_run reads and writes only the work's own fields below "what
 * ike_work_run owns" (work.h): it may run on any thread.
 */
#include "ike/work.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/auth.h"
#include "ike/engine_int.h"

/* ---- the computations: any thread ---- */

static void run_dh(struct ike_work *w)
{
	uint8_t gir[IKE_WORK_PUB_MAX];
	size_t girlen = sizeof(gir);
	int err;

	if (!w->dh) {
		w->dh = ike_dh_new(w->group);
		if (!w->dh) {
			w->err = -ENOTSUP;
			return;
		}
	}
	err = ike_dh_derive(w->dh, w->peer_pub, w->peer_len, gir, &girlen);
	if (err < 0)
		goto out;
	w->pub_len = sizeof(w->pub);
	err = ike_dh_public(w->dh, w->pub, &w->pub_len);
	if (err == 0 && w->want_secret && girlen <= sizeof(w->gir)) {
		memcpy(w->gir, gir, girlen);
		w->gir_len = girlen;
	}
	if (err < 0 || !w->want_keys)
		goto out;
	err = ike_derive_ike_keys(w->prf, w->ni, w->ni_len, w->nr, w->nr_len, gir, girlen,
				  w->spi_i, w->spi_r, w->a_len, w->e_len, &w->keys);
out:
	/* g^ir lives on only in the keys made from it. */
	xk_wipe(gir, sizeof(gir));
	w->err = err < 0 ? err : 0;
}

/*
 * Our AUTH signature over our_octets, with the credential the work holds
 * (EVP_PKEY signing is safe from several threads on one key).
 */
static void run_sign(struct ike_work *w)
{
	w->sign_why = "cannot compute our AUTH";
	w->sig_len = AUTH_DATA_MAX;
	if (!w->sig || !w->cred || !w->our_octets)
		w->sign_err = -EINVAL;
	else
		w->sign_err = ike_auth_sign(w->cred, w->peer_hashes, 0, w->our_octets,
					    w->our_octets_len, &w->sig_method, w->sig, &w->sig_len,
					    &w->sign_why);
	if (w->sign_err < 0)
		w->sig_len = 0;
	if (w->kind == IKE_WORK_SIGN)
		w->err = w->sign_err;
}

/*
 * The peer's certificate, then its ID, then its signature (auth.c says
 * why in this order); the responder's own signature only for a peer that
 * passed, so that a forged AUTH costs us no signature.
 */
static void run_verify(struct ike_work *w)
{
	struct ike_der im[IKE_CHAIN_MAX];
	const char *why = "AUTH does not verify";
	int err;

	for (size_t i = 0; i < w->n_im; i++)
		im[i] = (struct ike_der){ w->im[i].p, w->im[i].len };
	if (!w->ee || !w->trust || !w->peer_octets) {
		err = -EINVAL;
		goto out;
	}
	err = ike_trust_validate_issuer(w->trust, w->ee, im, w->n_im, (time_t)w->now,
					IKE_PURPOSE_ANY, &w->chain_issuer, &why);
	if (err < 0)
		goto out;
	why = "the peer's ID is not in its certificate";
	err = ike_cert_has_id(w->ee, &w->peer_id) < 0 ? -ENOENT : 0;
	if (err < 0)
		goto out;
	why = "the signature does not verify";
	err = ike_auth_verify(w->ee, w->auth_method, w->auth_data, w->auth_len, w->peer_octets,
			      w->peer_octets_len, &why);
out:
	w->err = err < 0 ? err : 0;
	w->why = why;
	if (w->err == 0 && w->our_octets)
		run_sign(w);
}

/*
 * OCSP is I/O: the embedder asks and stores the answer
 * (ike_work_ocsp_answer) before completing.  Run without one (no submit,
 * or an embedder that runs it anyway), the status is unknown.
 */
static void run_ocsp(struct ike_work *w)
{
	if (w->answered)
		return;
	w->answered = true;
	w->ocsp_err = -ENOTSUP;
}

/*
 * One row per kind: its name and its computation (NULL: not done by this
 * engine yet; the work fails with -ENOTSUP).  A new kind adds a row here
 * and a continuation in `resumes` below.
 */
static const struct {
	const char *name;
	void (*run)(struct ike_work *w);
} kinds[IKE_WORK_KINDS] = {
	[IKE_WORK_DH] = { "dh", run_dh },
	[IKE_WORK_SIGN] = { "sign", run_sign },
	[IKE_WORK_VERIFY] = { "verify", run_verify },
	[IKE_WORK_OCSP] = { "ocsp", run_ocsp },
};

enum ike_work_kind ike_work_kind(const struct ike_work *w)
{
	return w->kind;
}

const char *ike_work_kind_name(enum ike_work_kind k)
{
	return (unsigned)k < IKE_WORK_KINDS && kinds[k].name ? kinds[k].name : "unknown";
}

void ike_work_run(struct ike_work *w)
{
	if ((unsigned)w->kind >= IKE_WORK_KINDS || !kinds[w->kind].run) {
		w->err = -ENOTSUP;
		return;
	}
	kinds[w->kind].run(w);
}

/* ---- the engine's side ---- */

/* Where each kind of exchange goes on (work.h). */
static void (*const resumes[IKE_RESUME_COUNT])(struct ike_sa *sa, struct ike_work *w) = {
	[IKE_RESUME_INIT_RESPOND] = task_init_respond_resume,
	[IKE_RESUME_INIT_REPLY] = task_init_reply_resume,
	[IKE_RESUME_AUTH_RESPOND] = task_auth_respond_resume,
	[IKE_RESUME_AUTH_REPLY] = task_auth_reply_resume,
	[IKE_RESUME_AUTH_SIGN] = task_auth_sign_resume,
	[IKE_RESUME_CREATE_RESPOND] = task_child_respond_resume,
};

int ike_work_ocsp_query(const struct ike_work *w, struct ike_der *cert,
			struct ike_der *issuer, const char **cert_uri, const char **conn)
{
	if (w->kind != IKE_WORK_OCSP)
		return -EINVAL;
	*cert = (struct ike_der){ w->cert.p, w->cert.len };
	*issuer = (struct ike_der){ w->issuer.p, w->issuer.len };
	*cert_uri = w->uri;
	*conn = w->conn;
	return 0;
}

void ike_work_ocsp_answer(struct ike_work *w, int err, const struct ike_ocsp_result *r)
{
	if (w->kind != IKE_WORK_OCSP)
		return;
	w->answered = true;
	w->ocsp_err = err < 0 ? err : 0;
	if (err >= 0 && r)
		w->ocsp = *r;
	else if (err >= 0)
		w->ocsp_err = -EINVAL;
}

enum ike_revocation_outcome ike_work_ocsp_outcome(const struct ike_work *w)
{
	/* Section 4 of ike/ocsp.h's rules: an error is no answer. */
	if (!w->answered || w->ocsp_err < 0)
		return IKE_REVOCATION_NONE;
	switch (w->ocsp.status) {
	case IKE_OCSP_GOOD:
		return IKE_REVOCATION_GOOD;
	case IKE_OCSP_REVOKED:
		return IKE_REVOCATION_REVOKED;
	default:
		return IKE_REVOCATION_NONE;
	}
}

int ike_work_msg(const struct ike_work *w, struct ike_msg *m)
{
	*m = (struct ike_msg){ .hdr = w->hdr, .has_sk = true, .sk_first = w->sk_first,
			       .authenticated = true };
	memcpy(m->req_key, w->req_key, sizeof(m->req_key));
	if (!w->msg)
		return -EINVAL;
	return ike_msg_parse_inner(m, w->msg, w->msg_len);
}

int ike_work_keep_msg(struct ike_work *w, const struct ike_msg *m)
{
	free(w->msg);
	w->msg = malloc(m->inner_len + 1);
	if (!w->msg)
		return -ENOMEM;
	memcpy(w->msg, m->inner, m->inner_len);
	w->msg_len = m->inner_len;
	w->hdr = m->hdr;
	w->sk_first = m->sk_first;
	memcpy(w->req_key, m->req_key, sizeof(w->req_key));
	return 0;
}

int ike_work_ke(struct ike_sa *sa, const struct ike_msg *req, uint16_t group,
		const struct ike_ke *ke, uint8_t *gir, size_t *girlen, uint8_t *pub,
		size_t *publen)
{
	const struct ike_work *r = sa->resumed;
	struct ike_work *w;
	struct ike_dh *dh;
	int err;

	/* Back from the work made for this very KE: its results. */
	if (r && r->kind == IKE_WORK_DH && r->want_secret && r->group == group &&
	    r->peer_len == ke->len && memcmp(r->peer_pub, ke->data, ke->len) == 0) {
		if (r->err < 0 || r->gir_len > *girlen || r->pub_len > *publen)
			return -EINVAL;
		memcpy(gir, r->gir, r->gir_len);
		*girlen = r->gir_len;
		memcpy(pub, r->pub, r->pub_len);
		*publen = r->pub_len;
		return 0;
	}
	if (ike_work_async(sa->eng, IKE_WORK_DH) && ke->len <= IKE_WORK_PUB_MAX) {
		w = ike_work_new(sa, IKE_WORK_DH, IKE_RESUME_CREATE_RESPOND);
		if (!w || ike_work_keep_msg(w, req) < 0) {
			ike_work_free(w);
			return -ENOMEM;
		}
		w->group = group;
		memcpy(w->peer_pub, ke->data, ke->len);
		w->peer_len = ke->len;
		w->want_secret = true;
		if (ike_work_start(w))
			return 1;
		ike_work_free(w); /* not reached: async was asked first */
		return -ENOMEM;
	}
	dh = ike_dh_new(group);
	if (!dh)
		return -ENOMEM;
	err = ike_dh_derive(dh, ke->data, ke->len, gir, girlen);
	if (err == 0)
		err = ike_dh_public(dh, pub, publen);
	ike_dh_free(dh);
	return err < 0 ? -EINVAL : 0;
}

struct ike_work *ike_work_new(struct ike_sa *sa, enum ike_work_kind kind,
			      enum ike_work_resume resume)
{
	struct ike_work *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->kind = kind;
	w->resume = resume;
	w->eng = sa->eng;
	w->sa = sa;
	return w;
}

bool ike_work_async(const struct ike_engine *e, enum ike_work_kind kind)
{
	return e->ops.submit && (!e->ops.submit_takes || e->ops.submit_takes(e->ops.ctx, kind));
}

int ike_work_start(struct ike_work *w)
{
	struct ike_engine *e = w->eng;
	struct ike_sa *sa = w->sa;

	if (!ike_work_async(e, w->kind)) {
		/* No one to hand it to: done here, as the caller waits. */
		ike_work_run(w);
		w->sa = NULL;
		return 0;
	}
	/* One pending operation per SA: its exchanges stop while it waits. */
	ike_work_detach(sa);
	sa->work = w;
	w->next = e->works;
	if (e->works)
		e->works->prev = &w->next;
	w->prev = &e->works;
	e->works = w;
	w->submitted = true;
	e->stats.work_submitted++;
	e->stats.work_pending++;
	xk_debug("%s work out spi=%016llx", ike_work_kind_name(w->kind),
		 (unsigned long long)ike_sa_local_spi(sa));
	e->ops.submit(e->ops.ctx, w);
	return 1;
}

void ike_work_detach(struct ike_sa *sa)
{
	if (!sa->work)
		return;
	sa->work->sa = NULL;
	sa->work = NULL;
}

/* Off the engine's list (it no longer waits for w). */
static void work_unlink(struct ike_work *w)
{
	if (!w->prev)
		return;
	*w->prev = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = NULL;
	w->prev = NULL;
	if (w->eng)
		w->eng->stats.work_pending--;
}

void ike_work_orphan_all(struct ike_engine *e)
{
	while (e->works) {
		struct ike_work *w = e->works;

		if (w->sa)
			ike_work_detach(w->sa);
		work_unlink(w);
		w->eng = NULL;
	}
}

void ike_work_free(struct ike_work *w)
{
	if (!w)
		return;
	if (w->sa)
		ike_work_detach(w->sa);
	work_unlink(w);
	ike_dh_free(w->dh);
	ike_keys_wipe(&w->keys);
	free(w->msg);
	free(w->cert.p);
	free(w->issuer.p);
	ike_cert_free(w->ee);
	for (size_t i = 0; i < w->n_im; i++)
		free(w->im[i].p);
	/* Releases of what the work held: on the engine's thread, as ever. */
	if (w->trust)
		ike_trust_free(w->trust);
	if (w->cred)
		ike_cred_free(w->cred);
	free(w->auth_data);
	free(w->chain_issuer.p);
	/* The octets hold prf(SK_p, ID): as secret as the key. */
	xk_free_secret(w->peer_octets, w->peer_octets_len);
	xk_free_secret(w->our_octets, w->our_octets_len);
	xk_free_secret(w->sig, AUTH_DATA_MAX);
	/* Nonces and keys went through it. */
	xk_wipe(w, sizeof(*w));
	free(w);
}

void ike_engine_complete(struct ike_engine *e, struct ike_work *w)
{
	struct ike_sa *sa;

	if (!w)
		return;
	/* A work of another engine (or of a freed one) is not ours to act on. */
	if (w->eng != e || !w->submitted) {
		xk_warn("work completed on an engine that did not hand it out");
		return;
	}
	sa = w->sa;
	work_unlink(w);
	if (!sa) {
		/* Its SA died meanwhile: nothing to go on with. */
		e->stats.work_dropped++;
		xk_debug("%s work back for an SA gone", ike_work_kind_name(w->kind));
		ike_work_free(w);
		return;
	}
	ike_work_detach(sa);
	if ((unsigned)w->resume < IKE_RESUME_COUNT && resumes[w->resume])
		resumes[w->resume](sa, w);
	/* What was queued while it waited (a DELETE, a rekey) goes now. */
	if (sa->state != IKE_S_DEAD && !sa->work)
		ike_sa_request_next(sa);
	ike_work_free(w);
	ike_engine_reap(e);
}
