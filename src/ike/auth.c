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

int auth_ours(struct ike_sa *sa, const uint8_t *id_body, size_t id_len, uint8_t *method,
	      uint8_t *out, size_t *len, const char **why)
{
	uint8_t *octets = NULL;
	size_t olen = 0;
	int err;

	*why = "cannot compute our AUTH";
	if (sa->conn->local_auth == IKE_AUTH_PSK) {
		*method = IKEV2_AUTH_SHARED_KEY_MIC;
		return ike_psk_auth(sa, sa->initiator, id_body, id_len, out, len);
	}
	err = ike_auth_octets(sa, sa->initiator, id_body, id_len, &octets, &olen);
	if (err < 0)
		return err;
	*len = AUTH_DATA_MAX;
	err = ike_auth_sign(sa->conn->cred, sa->hs->peer_hashes, 0, octets, olen, method, out,
			    len, why);
	xk_free_secret(octets, olen);
	return err;
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
	if (!w || ike_cert_der(ee, &w->cert) < 0 || !(w->msg = malloc(msg->inner_len + 1))) {
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
	/* Processed again, as it is, once the answer is in. */
	memcpy(w->msg, msg->inner, msg->inner_len);
	w->msg_len = msg->inner_len;
	w->hdr = msg->hdr;
	w->sk_first = msg->sk_first;
	memcpy(w->req_key, msg->req_key, sizeof(w->req_key));
	if (ike_work_start(w))
		return AUTH_PENDING;
	o = ike_work_ocsp_outcome(w);
	ike_work_free(w);
	return ike_revocation_decide(sa->conn->revocation, o, true, why);
}

/* Is the certificate the peer's (chain, ID) and the AUTH its signature? */
static int verify_cert(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_cert *ee,
		       const struct ike_der *im, size_t n_im, const struct ike_idp *idp,
		       const struct ike_auth *auth, const char **why)
{
	struct ike_blob issuer = { 0 };
	struct ike_id id;
	uint8_t *octets = NULL;
	size_t olen = 0;
	bool need_ocsp = false;
	int err;

	err = ike_trust_validate_issuer(sa->conn->trust, ee, im, n_im,
					(time_t)ike_wall_time(sa->eng), IKE_PURPOSE_ANY, &issuer,
					why);
	if (err < 0)
		return err;
	*why = "the peer's ID is not in its certificate";
	err = -ENOENT;
	if (!idp_to_id(idp, &id) || ike_cert_has_id(ee, &id) < 0)
		goto out;
	*why = "cannot compute the signed octets";
	err = ike_auth_octets(sa, !sa->initiator, idp->body, idp->body_len, &octets, &olen);
	if (err < 0)
		goto out;
	*why = "the signature does not verify";
	err = ike_auth_verify(ee, auth->method, auth->data, auth->len, octets, olen, why);
	xk_free_secret(octets, olen);
	if (err < 0)
		goto out;
	/*
	 * The revocation policy, from what the CRLs settle, last: only a peer
	 * that proved it holds the key of a certificate our CAs issued may
	 * make us ask a responder.  Where only OCSP could settle it, the
	 * answer is asked for (a pending operation), and this message is
	 * processed again with it.
	 */
	if (sa->hs && sa->hs->ocsp_known) {
		err = ike_revocation_decide(sa->conn->revocation, sa->hs->ocsp_outcome, true, why);
		goto out;
	}
	err = ike_trust_revocation(sa->conn->trust, ee, sa->conn->revocation, sa->conn->ocsp_uri,
				   &need_ocsp, why);
	if (need_ocsp && sa->hs && issuer.p)
		err = ocsp_ask(sa, msg, ee, &issuer, why);
out:
	free(issuer.p);
	return err;
}

int auth_verify(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_idp *id,
		const struct ike_auth *auth, const char **why)
{
	struct ike_der im[IKE_CHAIN_MAX];
	struct ike_cert *ee = NULL;
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
	if (sa->conn->remote_auth == IKE_AUTH_PSK)
		return verify_psk(sa, id, auth, why);
	err = peer_certs(msg, &ee, im, &n_im, why);
	if (err == 0)
		err = verify_cert(sa, msg, ee, im, n_im, id, auth, why);
	ike_cert_free(ee);
	return err;
}
