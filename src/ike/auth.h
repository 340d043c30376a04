/* SPDX-License-Identifier: ISC */
/*
 * The authentication methods of IKE_AUTH (auth.c): a pre-shared key
 * (RFC 7296 section 2.15) or a signature with a certificate's key
 * (RFC 7427, RFC 4754, RFC 7296 method 1), with what IKE_SA_INIT carries
 * for them (SIGNATURE_HASH_ALGORITHMS, the responder's CERTREQ) and the
 * CERT and CERTREQ payloads of IKE_AUTH.  task_init.c and task_auth.c use
 * it; the certificate work itself is cert*.c's.
 */
#ifndef XK_IKE_AUTH_H
#define XK_IKE_AUTH_H

#include "ike/ike_sa.h"

/* Our AUTH data, a PSK MAC or a signature, fits in this. */
#define AUTH_DATA_MAX (1 + 255 + 2048)

/* IKE_SA_INIT, both roles: our SIGNATURE_HASH_ALGORITHMS notify. */
void auth_hashes_add(struct ike_mb *mb);
/* IKE_SA_INIT, both roles: what the peer's message says for IKE_AUTH. */
void auth_init_keep(struct ike_sa *sa, const struct ike_msg *msg);
/*
 * IKE_SA_INIT responder: a CERTREQ naming the CAs of every connection
 * that could be this peer's and wants its signature (the connection is
 * chosen only in IKE_AUTH), if there is any such connection.
 */
void auth_certreq_init(struct ike_engine *e, const struct xk_addr *local,
		       const struct xk_addr *remote, struct ike_mb *mb);

/* IKE_AUTH: CERT payloads per the connection's send_cert policy. */
void auth_certs_add(struct ike_sa *sa, struct ike_mb *mb, bool asked);
/* IKE_AUTH initiator: a CERTREQ when the connection wants a signature. */
void auth_certreq_add(const struct ike_conn *c, struct ike_mb *mb);
/* Does the message carry a CERTREQ for X.509 certificates? */
bool auth_certreq_in(const struct ike_msg *msg);

/* Does the peer's ID fit the connection's remote-id (wildcards with certificates)? */
bool auth_remote_id_ok(const struct ike_conn *c, const struct ike_idp *id);
/* Does the AUTH method the peer used suit what the connection expects of it? */
bool auth_method_ok(const struct ike_conn *c, uint8_t method);

/*
 * Our AUTH payload's method and data (out: AUTH_DATA_MAX octets), over
 * the octets of section 2.15 with our ID payload body.  *why says what
 * failed.
 */
int auth_ours(struct ike_sa *sa, const uint8_t *id_body, size_t id_len, uint8_t *method,
	      uint8_t *out, size_t *len, const char **why);
/*
 * The peer's AUTH against what sa->conn expects of it; with a signature,
 * its certificates (chain, validity, revocation, usage at the wall-clock
 * time), its ID bound to the certificate, then the signature.  0, or a
 * negative errno with *why for the log, or AUTH_PENDING: an OCSP request
 * went out (sa->work); msg is processed again when its answer is in
 * sa->hs (ocsp_known).
 */
#define AUTH_PENDING 1
int auth_verify(struct ike_sa *sa, const struct ike_msg *msg, const struct ike_idp *id,
		const struct ike_auth *auth, const char **why);

/* The ID payload body as it is signed: type, three reserved zeros, data. */
size_t auth_id_body(const struct ike_id *id, uint8_t *out);

/*
 * The signature works (IKE_WORK_VERIFY, IKE_WORK_SIGN; docs/engine.md):
 * with an embedder that takes them, auth_verify and auth_ours hand the
 * certificate check and the signatures out and return AUTH_PENDING; the
 * work's results are kept in sa->hs (auth_work_keep, on its return), and
 * the next call for the same connection takes them instead of starting
 * again.  auth_work_keep is false when the SA has no handshake left to
 * keep them in; auth_kept_free lets them go (ike_sa_drop_init).
 */
bool auth_work_keep(struct ike_sa *sa, struct ike_work *w);
void auth_kept_free(struct ike_sa *sa);

#endif
