/* SPDX-License-Identifier: ISC */
/*
 * The authentication methods of IKE_AUTH: a pre-shared key or a
 * signature, chosen per side by the connection (local_auth, remote_auth).
 *
 *   IKE_SA_INIT  both send N(SIGNATURE_HASH_ALGORITHMS) (RFC 7427 section
 *                4), always: the responder cannot know before IKE_AUTH
 *                which connection the initiator means, and the notify
 *                costs a dozen octets; the responder adds a CERTREQ
 *                (RFC 7296 section 3.7) when a connection that may be the
 *                peer's wants a signature.
 *   IKE_AUTH     the signer sends CERT payloads (X.509, encoding 4: the
 *                end-entity first, then the intermediates) as send_cert
 *                says, the initiator a CERTREQ when it wants the
 *                responder's signature, and AUTH signs the octets of
 *                section 2.15, the same ones a PSK MAC covers
 *                (ike_auth_octets).
 *
 * The peer's certificates are checked before its signature: at most
 * 1 + IKE_CHAIN_MAX CERT payloads, each X.509 and at most
 * IKE_CERT_DER_MAX octets, the first the end-entity; the chain validated
 * against the connection's CAs (and CRLs) at the wall-clock time; the ID
 * the peer sent bound to the certificate (ike_cert_has_id) and fitting
 * remote-id; only then the signature.  Any failure is
 * AUTHENTICATION_FAILED to the caller, with the reason for the log.
 *
 * The chain is checked for IKE_PURPOSE_ANY: peers of a site-to-site
 * connection take either role, so a certificate with serverAuth (or
 * clientAuth) alone must do for both.
 */
#include "ike/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secret.h"
#include "ike/cert.h"
#include "ike/engine.h"
#include "ike/ocsp.h"
#include "ike/work.h"

/* Most hashes in a CERTREQ we send in IKE_SA_INIT: 32 CAs, 640 octets. */
#define CERTREQ_MAX_HASHES 32

void auth_hashes_add(struct ike_mb *mb)
{
	uint8_t data[16];
	size_t len = sizeof(data);

	if (ike_sig_hashes_build(data, &len) == 0)
		ike_mb_notify(mb, 0, NULL, 0, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, data, len);
}

bool auth_certreq_in(const struct ike_msg *msg)
{
	for (size_t i = 0; i < msg->n_pl; i++) {
		const uint8_t *data;
		uint8_t enc;
		size_t len;

		if (msg->pl[i].type == IKEV2_PL_CERTREQ &&
		    ike_pl_cert(&msg->pl[i], &enc, &data, &len) == 0 &&
		    enc == IKEV2_CERT_X509_SIGNATURE)
			return true;
	}
	return false;
}

void auth_init_keep(struct ike_sa *sa, const struct ike_msg *msg)
{
	struct ike_notify n;
	uint32_t mask = 0;

	/* A malformed list is no list: we sign as if none came (RFC 7427 4). */
	if (ike_msg_notify(msg, IKEV2_N_SIGNATURE_HASH_ALGORITHMS, &n) &&
	    ike_sig_hashes_parse(n.data, n.len, &mask) < 0)
		mask = 0;
	sa->hs->peer_hashes = mask;
	sa->hs->certreq_seen = auth_certreq_in(msg);
}

/* Appends the hashes of t not yet in out (n of them so far). */
static size_t certreq_merge(const struct ike_trust *t, uint8_t *out, size_t n)
{
	uint8_t buf[CERTREQ_MAX_HASHES * IKE_CERTREQ_HASH_LEN];
	size_t len = sizeof(buf);

	if (ike_trust_certreq(t, buf, &len) < 0)
		return n;
	for (size_t off = 0; off < len && n < CERTREQ_MAX_HASHES; off += IKE_CERTREQ_HASH_LEN) {
		bool dup = false;

		for (size_t j = 0; j < n && !dup; j++)
			dup = memcmp(out + j * IKE_CERTREQ_HASH_LEN, buf + off,
				     IKE_CERTREQ_HASH_LEN) == 0;
		if (!dup)
			memcpy(out + n++ * IKE_CERTREQ_HASH_LEN, buf + off, IKE_CERTREQ_HASH_LEN);
	}
	return n;
}

static bool addr_fits(const struct xk_addr *cfg, const struct xk_addr *a)
{
	return !cfg->family || xk_addr_ip_eq(cfg, a);
}

void auth_certreq_init(struct ike_engine *e, const struct xk_addr *local,
		       const struct xk_addr *remote, struct ike_mb *mb)
{
	uint8_t hashes[CERTREQ_MAX_HASHES * IKE_CERTREQ_HASH_LEN];
	size_t n = 0;
	bool want = false;

	for (const struct ike_conn *c = ike_conn_first(e); c; c = c->next) {
		if (c->remote_auth != IKE_AUTH_PUBKEY || !addr_fits(&c->local, local) ||
		    !addr_fits(&c->remote, remote))
			continue;
		want = true;
		n = certreq_merge(c->trust, hashes, n);
	}
	if (want)
		ike_mb_cert(mb, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIGNATURE, hashes,
			    n * IKE_CERTREQ_HASH_LEN);
}

void auth_certreq_add(const struct ike_conn *c, struct ike_mb *mb)
{
	uint8_t hashes[CERTREQ_MAX_HASHES * IKE_CERTREQ_HASH_LEN];
	size_t n;

	if (c->remote_auth != IKE_AUTH_PUBKEY)
		return;
	n = certreq_merge(c->trust, hashes, 0);
	ike_mb_cert(mb, IKEV2_PL_CERTREQ, IKEV2_CERT_X509_SIGNATURE, hashes,
		    n * IKE_CERTREQ_HASH_LEN);
}

void auth_certs_add(struct ike_sa *sa, struct ike_mb *mb, bool asked)
{
	const struct ike_conn *c = sa->conn;
	const uint8_t *der;
	size_t len;

	if (c->local_auth != IKE_AUTH_PUBKEY || c->send_cert == IKE_SEND_CERT_NEVER ||
	    (c->send_cert == IKE_SEND_CERT_IFASKED && !asked))
		return;
	/* Section 3.6: the end-entity certificate first, then what chains it. */
	for (size_t i = 0; (der = ike_cred_cert(c->cred, i, &len)) != NULL; i++)
		ike_mb_cert(mb, IKEV2_PL_CERT, IKEV2_CERT_X509_SIGNATURE, der, len);
}

/* The ID payload as an ike_id; false if it is too long to be one. */
static bool idp_to_id(const struct ike_idp *p, struct ike_id *id)
{
	if (p->len > sizeof(id->data))
		return false;
	id->type = p->type;
	id->len = (uint8_t)p->len;
	memcpy(id->data, p->data, p->len);
	return true;
}

bool auth_remote_id_ok(const struct ike_conn *c, const struct ike_idp *p)
{
	struct ike_id id;

	if (!c->remote_id.type)
		return true;
	if (c->remote_auth == IKE_AUTH_PUBKEY)
		return idp_to_id(p, &id) && ike_id_matches(&c->remote_id, &id);
	return c->remote_id.type == p->type && c->remote_id.len == p->len &&
	       memcmp(c->remote_id.data, p->data, p->len) == 0;
}

bool auth_method_ok(const struct ike_conn *c, uint8_t method)
{
	switch (method) {
	case IKEV2_AUTH_SHARED_KEY_MIC:
		return c->remote_auth == IKE_AUTH_PSK;
	case IKEV2_AUTH_RSA_SIG:
	case IKEV2_AUTH_ECDSA_SHA256_P256:
	case IKEV2_AUTH_ECDSA_SHA384_P384:
	case IKEV2_AUTH_ECDSA_SHA512_P521:
	case IKEV2_AUTH_DIGITAL_SIGNATURE:
		return c->remote_auth == IKE_AUTH_PUBKEY;
	default:
		return false;
	}
}

static int verify_psk(struct ike_sa *sa, const struct ike_idp *id, const struct ike_auth *auth,
		      const char **why)
{
	uint8_t expect[IKE_PRF_MAX];
	size_t len = 0;
	int err;

	*why = "AUTH does not verify";
	err = ike_psk_auth(sa, !sa->initiator, id->body, id->body_len, expect, &len);
	if (err == 0 && (auth->len != len || !xk_ct_equal(expect, auth->data, len)))
		err = -EBADMSG;
	xk_wipe(expect, sizeof(expect));
	return err;
}

/* The peer's CERT payloads: its certificate and up to IKE_CHAIN_MAX more. */
static int peer_certs(const struct ike_msg *msg, struct ike_cert **ee, struct ike_der *im,
		      size_t *n_im, const char **why)
{
	*ee = NULL;
	*n_im = 0;
	for (size_t i = 0; i < msg->n_pl; i++) {
		struct ike_der d;
		uint8_t enc;

		if (msg->pl[i].type != IKEV2_PL_CERT)
			continue;
		if (ike_pl_cert(&msg->pl[i], &enc, &d.p, &d.len) < 0 ||
		    enc != IKEV2_CERT_X509_SIGNATURE) {
			*why = "a CERT payload that is not an X.509 certificate";
			return -EINVAL;
		}
		/* Bounded work: a chain longer than we validate is refused whole. */
		if (*ee && *n_im == IKE_CHAIN_MAX) {
			*why = "too many CERT payloads";
			return -E2BIG;
		}
		if (d.len > IKE_CERT_DER_MAX) {
			*why = "certificate too large";
			return -E2BIG;
		}
		if (*ee)
			im[(*n_im)++] = d;
		else if (!(*ee = ike_cert_parse(d.p, d.len, why)))
			return -EINVAL;
	}
	if (!*ee) {
		*why = "no certificate from the peer";
		return -ENOENT;
	}
	return 0;
}

/*
 * Hand out the OCSP request about ee (docs/engine.md "Revocation and
 * OCSP"): AUTH_PENDING while it is out.  Done inline (no one takes the
 * work), there is no answer, and the policy decides on "unknown" at once.
 */
static int ocsp_ask(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_cert *ee,
		    struct ike_blob *issuer, const char **why)
{
	struct ike_work *w = ike_work_new(sa, IKE_WORK_OCSP,
					  sa->initiator ? IKE_RESUME_AUTH_REPLY
							: IKE_RESUME_AUTH_RESPOND);
	enum ike_revocation_outcome o;

	*why = "out of memory";
	if (!w || ike_cert_der(ee, &w->cert) < 0 || ike_work_keep_msg(w, msg) < 0) {
		ike_work_free(w);
		return -ENOMEM;
	}
	w->issuer = *issuer;
	*issuer = (struct ike_blob){ 0 };
	/* Any URI it names; the connection's configured one is the embedder's to prefer. */
	if (ike_cert_ocsp_uri(&(struct ike_der){ w->cert.p, w->cert.len }, w->uri, sizeof(w->uri),
			      NULL) < 0)
		w->uri[0] = '\0';
	snprintf(w->conn, sizeof(w->conn), "%s", sa->conn->name);
	/* The message (kept above) is processed again, as it is, once the answer is in. */
	if (ike_work_start(w))
		return AUTH_PENDING;
	o = ike_work_ocsp_outcome(w);
	ike_work_free(w);
	return ike_revocation_decide(sa->conn->revocation, o, true, why);
}

/* ---- the signature works and what they leave (work.h) ---- */

/*
 * What the VERIFY and SIGN works of one IKE_AUTH gave, kept in sa->hs
 * until the message is processed (or our request built) again: valid
 * for the connection they were made for only (a message processed again
 * may pick another one after a reload).
 */
struct auth_kept {
	struct ike_conn *conn; /* held */
	bool verified;
	int verify_err;
	const char *verify_why;
	struct ike_cert *ee;
	struct ike_blob issuer;
	bool have_sig;
	int sign_err;
	const char *sign_why;
	uint8_t method;
	size_t sig_len;
	uint8_t sig[AUTH_DATA_MAX];
};

void auth_kept_free(struct ike_sa *sa)
{
	struct auth_kept *k = sa->hs ? sa->hs->auth_kept : NULL;

	if (!k)
		return;
	sa->hs->auth_kept = NULL;
	ike_conn_put(sa->eng, k->conn);
	ike_cert_free(k->ee);
	free(k->issuer.p);
	xk_free_secret(k, sizeof(*k));
}

/* What was kept for the SA's connection now, or NULL. */
static struct auth_kept *kept_for(struct ike_sa *sa)
{
	struct auth_kept *k = sa->hs ? sa->hs->auth_kept : NULL;

	if (k && k->conn != sa->conn) {
		auth_kept_free(sa);
		k = NULL;
	}
	return k;
}

bool auth_work_keep(struct ike_sa *sa, struct ike_work *w)
{
	struct auth_kept *k;

	if (!sa->hs || !sa->conn)
		return false;
	k = kept_for(sa);
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return false;
		ike_conn_get(sa->conn);
		k->conn = sa->conn;
		sa->hs->auth_kept = k;
	}
	if (w->kind == IKE_WORK_VERIFY) {
		k->verified = true;
		k->verify_err = w->err;
		k->verify_why = w->why ? w->why : "AUTH does not verify";
		ike_cert_free(k->ee);
		free(k->issuer.p);
		k->ee = w->ee;
		k->issuer = w->chain_issuer;
		w->ee = NULL;
		w->chain_issuer = (struct ike_blob){ 0 };
	}
	/* Signed only where asked for, and (with a check) after it passed. */
	if (w->kind == IKE_WORK_SIGN || (w->our_octets && w->err == 0)) {
		k->have_sig = true;
		k->sign_err = w->sign_err;
		k->sign_why = w->sign_why ? w->sign_why : "cannot compute our AUTH";
		k->method = w->sig_method;
		k->sig_len = w->sig_len <= sizeof(k->sig) ? w->sig_len : 0;
		if (w->sig && k->sig_len)
			memcpy(k->sig, w->sig, k->sig_len);
		else if (!k->sign_err)
			k->sign_err = -EINVAL;
	}
	return true;
}

/*
 * Fill w's signing part: our credential (held), the peer's hashes, the
 * octets of section 2.15 with our ID, and room for the signature.
 */
static int sign_part(struct ike_sa *sa, struct ike_work *w)
{
	uint8_t body[4 + 255];
	struct ike_id lid;
	size_t blen;
	int err;

	ike_sa_local_id(sa, &lid);
	blen = auth_id_body(&lid, body);
	err = ike_auth_octets(sa, sa->initiator, body, blen, &w->our_octets, &w->our_octets_len);
	if (err < 0)
		return err;
	w->sig = malloc(AUTH_DATA_MAX);
	if (!w->sig)
		return -ENOMEM;
	ike_cred_hold(sa->conn->cred);
	w->cred = sa->conn->cred;
	w->peer_hashes = sa->hs->peer_hashes;
	return 0;
}

/*
 * Hand w out, or run it here; either way its results end in sa->hs.
 * AUTH_PENDING while it is out, else 0 (results kept) or an error.
 */
static int work_go(struct ike_sa *sa, struct ike_work *w)
{
	int err = 0;

	if (ike_work_start(w))
		return AUTH_PENDING;
	if (!auth_work_keep(sa, w))
		err = -ENOMEM;
	ike_work_free(w);
	return err;
}

/*
 * The peer's certificate check and signature as a work (IKE_WORK_VERIFY):
 * the work takes ee and copies what else it reads (intermediates, ID,
 * AUTH data, the signed octets), and holds the trust store.  A responder
 * that signs has its signature made by the same work, when the peer's
 * passed: one trip to a worker per IKE_AUTH.
 */
static int verify_start(struct ike_sa *sa, const struct ike_msg *msg, struct ike_cert **ee,
			const struct ike_der *im, size_t n_im, const struct ike_idp *idp,
			const struct ike_auth *auth, const char **why)
{
	struct ike_work *w;
	int err = -ENOMEM;

	*why = "the peer's ID is not in its certificate";
	w = ike_work_new(sa, IKE_WORK_VERIFY,
			 sa->initiator ? IKE_RESUME_AUTH_REPLY : IKE_RESUME_AUTH_RESPOND);
	if (!w) {
		*why = "out of memory";
		return -ENOMEM;
	}
	if (!idp_to_id(idp, &w->peer_id)) {
		ike_work_free(w);
		return -ENOENT;
	}
	*why = "out of memory";
	w->ee = *ee;
	*ee = NULL;
	for (size_t i = 0; i < n_im; i++) {
		w->im[i].p = malloc(im[i].len ? im[i].len : 1);
		if (!w->im[i].p)
			goto fail;
		memcpy(w->im[i].p, im[i].p, im[i].len);
		w->im[i].len = im[i].len;
		w->n_im++;
	}
	ike_trust_hold(sa->conn->trust);
	w->trust = sa->conn->trust;
	w->now = ike_wall_time(sa->eng);
	w->auth_method = auth->method;
	w->auth_data = malloc(auth->len ? auth->len : 1);
	if (!w->auth_data)
		goto fail;
	memcpy(w->auth_data, auth->data, auth->len);
	w->auth_len = auth->len;
	*why = "cannot compute the signed octets";
	err = ike_auth_octets(sa, !sa->initiator, idp->body, idp->body_len, &w->peer_octets,
			      &w->peer_octets_len);
	if (err < 0)
		goto fail;
	*why = "cannot compute our AUTH";
	if (!sa->initiator && sa->conn->local_auth == IKE_AUTH_PUBKEY &&
	    (err = sign_part(sa, w)) < 0)
		goto fail;
	*why = "out of memory";
	if (ike_work_keep_msg(w, msg) < 0) {
		err = -ENOMEM;
		goto fail;
	}
	return work_go(sa, w);
fail:
	ike_work_free(w);
	return err < 0 ? err : -ENOMEM;
}

/*
 * The check's outcome, then the revocation policy, from what the CRLs
 * settle, last: only a peer that proved it holds the key of a
 * certificate our CAs issued may make us ask a responder.  Where only
 * OCSP could settle it, the answer is asked for (a pending operation),
 * and this message is processed again with it.
 */
static int verify_finish(struct ike_sa *sa, const struct ike_msg *msg, struct auth_kept *k,
			 const char **why)
{
	bool need_ocsp = false;
	int err;

	if (k->verify_err < 0) {
		*why = k->verify_why;
		return k->verify_err;
	}
	if (sa->hs->ocsp_known)
		return ike_revocation_decide(sa->conn->revocation, sa->hs->ocsp_outcome, true, why);
	if (!k->ee) {
		*why = "no certificate from the peer";
		return -ENOENT;
	}
	err = ike_trust_revocation(sa->conn->trust, k->ee, sa->conn->revocation,
				   sa->conn->ocsp_uri, &need_ocsp, why);
	if (need_ocsp && k->issuer.p)
		err = ocsp_ask(sa, msg, k->ee, &k->issuer, why);
	return err;
}

/*
 * A responder that signs while the peer used a pre-shared key: the
 * signature alone as a work, before anything is answered.
 */
static int sign_start(struct ike_sa *sa, const struct ike_msg *msg, enum ike_work_resume r)
{
	struct ike_work *w = ike_work_new(sa, IKE_WORK_SIGN, r);
	int err;

	if (!w)
		return -ENOMEM;
	err = sign_part(sa, w);
	if (err == 0 && msg)
		err = ike_work_keep_msg(w, msg);
	if (err < 0) {
		ike_work_free(w);
		return err;
	}
	return work_go(sa, w);
}

/* Our signature here and now: a responder that found none made (no handshake kept it). */
static int sign_inline(struct ike_sa *sa, const uint8_t *id_body, size_t id_len,
		       uint8_t *method, uint8_t *out, size_t *len, const char **why)
{
	uint8_t *octets = NULL;
	size_t olen = 0;
	int err;

	err = ike_auth_octets(sa, sa->initiator, id_body, id_len, &octets, &olen);
	if (err < 0)
		return err;
	*len = AUTH_DATA_MAX;
	err = ike_auth_sign(sa->conn->cred, sa->hs->peer_hashes, 0, octets, olen, method, out,
			    len, why);
	xk_free_secret(octets, olen);
	return err;
}

int auth_ours(struct ike_sa *sa, const uint8_t *id_body, size_t id_len, uint8_t *method,
	      uint8_t *out, size_t *len, const char **why)
{
	struct auth_kept *k;
	int err;

	*why = "cannot compute our AUTH";
	if (sa->conn->local_auth == IKE_AUTH_PSK) {
		*method = IKEV2_AUTH_SHARED_KEY_MIC;
		return ike_psk_auth(sa, sa->initiator, id_body, id_len, out, len);
	}
	if (!sa->hs)
		return -EINVAL;
	k = kept_for(sa);
	if ((!k || !k->have_sig) && !sa->initiator)
		return sign_inline(sa, id_body, id_len, method, out, len, why);
	if (!k || !k->have_sig) {
		/*
		 * The initiator signs before its request goes (the request
		 * goes when the work is back); a responder's signature was
		 * made with the check (verify_start, auth_verify).
		 */
		err = sign_start(sa, NULL, IKE_RESUME_AUTH_SIGN);
		if (err)
			return err;
		k = kept_for(sa);
		if (!k || !k->have_sig)
			return -EINVAL;
	}
	/* Used once: a request built again signs again (fresh octets). */
	k->have_sig = false;
	if (k->sign_err < 0) {
		*why = k->sign_why;
		return k->sign_err;
	}
	*method = k->method;
	*len = k->sig_len;
	memcpy(out, k->sig, k->sig_len);
	xk_wipe(k->sig, sizeof(k->sig));
	return 0;
}

int auth_verify(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_idp *id,
		const struct ike_auth *auth, const char **why)
{
	struct ike_der im[IKE_CHAIN_MAX];
	struct ike_cert *ee = NULL;
	struct auth_kept *k;
	size_t n_im = 0;
	int err;

	*why = "AUTH does not verify"; /* each step below says better */
	if (!auth_method_ok(sa->conn, auth->method)) {
		*why = sa->conn->remote_auth == IKE_AUTH_PSK ?
			       "peer signed where a pre-shared key is expected" :
			       "peer used a method other than a signature";
		return -EPERM;
	}
	if (!auth_remote_id_ok(sa->conn, id)) {
		*why = "the peer's ID is not the remote-id";
		return -EPERM;
	}
	if (!sa->hs)
		return -EINVAL;
	if (sa->conn->remote_auth == IKE_AUTH_PSK) {
		err = verify_psk(sa, id, auth, why);
		/* A responder that signs does it now, while nothing is answered yet. */
		k = kept_for(sa);
		if (err == 0 && !sa->initiator && sa->conn->local_auth == IKE_AUTH_PUBKEY &&
		    (!k || !k->have_sig))
			err = sign_start(sa, msg, IKE_RESUME_AUTH_RESPOND);
		return err;
	}
	k = kept_for(sa);
	if (!k || !k->verified) {
		err = peer_certs(msg, &ee, im, &n_im, why);
		if (err == 0)
			err = verify_start(sa, msg, &ee, im, n_im, id, auth, why);
		ike_cert_free(ee);
		if (err)
			return err;
		k = kept_for(sa);
		if (!k || !k->verified)
			return -ENOMEM;
	}
	return verify_finish(sa, msg, k, why);
}

size_t auth_id_body(const struct ike_id *id, uint8_t *out)
{
	out[0] = id->type;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, id->data, id->len);
	return 4u + id->len;
}
