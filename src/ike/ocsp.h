/* SPDX-License-Identifier: ISC */
/*
 * OCSP (RFC 6960) as pure functions over OpenSSL 3: the request for one
 * certificate, and the check of a responder's answer.  No I/O and no
 * shared state, so either may run on a worker thread; the daemon carries
 * the bytes over HTTP (src/daemon/ocsp_fetch.c).  And the revocation
 * policy (strict / ifuri / relaxed) that turns what CRLs and OCSP said
 * into accept or refuse.
 *
 *   ike_ocsp_request   DER OCSPRequest for (certificate, issuer), with
 *                      the query's nonce (RFC 8954: 1..32 octets)
 *   ike_ocsp_check     a DER OCSPResponse against the query: response
 *                      status, signature, signer, certID, nonce, times
 *   ike_revocation_decide  the policy's verdict
 *
 * A response is accepted when signed by (RFC 6960 section 4.2.2.2):
 *   - the issuer of the certificate itself;
 *   - a delegated responder: a certificate with id-kp-OCSPSigning in its
 *     extended key usage, issued by that same issuer, valid at `now`;
 *   - a locally trusted responder: one of q->trusted (the operator
 *     configured it; RFC 6960 names this case "Locally Configured").
 * Any other signer, a CA's root that merely chains to it included, is
 * refused: a self-signed root in the store is no answer for another
 * CA's certificate.
 *
 * Times: thisUpdate must not be more than IKE_OCSP_SKEW ahead of `now`,
 * nextUpdate (when present) not more than IKE_OCSP_SKEW behind it; a
 * response without nextUpdate is taken as valid for IKE_OCSP_NO_NEXT
 * after thisUpdate (RFC 6960 section 4.2.2.1: newer information is always
 * available then; we still bound how old an answer may be).
 *
 * Nonce: a response that carries another nonce than the request's is
 * refused (a replay); one that carries none is accepted, as many
 * responders send pre-signed answers (RFC 5019) and its times bound it.
 * A query with nonce_len 0 checks no nonce (a cached answer re-checked).
 */
#ifndef IKE_OCSP_H
#define IKE_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ike/cert.h"

#define IKE_OCSP_NONCE_LEN 16         /* what we send; RFC 8954 allows 1..32 */
#define IKE_OCSP_NONCE_MAX 32
#define IKE_OCSP_RESP_MAX (64 * 1024) /* a response, DER: the fetcher's bound too */
#define IKE_OCSP_REQ_MAX 1024         /* a request, DER, SHA-1 certID and a nonce */
#define IKE_OCSP_SKEW 300             /* seconds of clock skew tolerated */
#define IKE_OCSP_NO_NEXT (24 * 3600)  /* validity of an answer without nextUpdate */
#define IKE_OCSP_TRUSTED_MAX IKE_TRUST_OCSP_SIGNERS_MAX /* locally trusted responders */

/* What is asked: one certificate, and what its answer must show. */
struct ike_ocsp_query {
	struct ike_der cert;   /* the certificate asked about, DER */
	struct ike_der issuer; /* the certificate of its issuer, DER */
	uint8_t nonce[IKE_OCSP_NONCE_MAX];
	size_t nonce_len;      /* 0: no nonce sent, none checked */
	/* Responder certificates the operator trusts directly (DER). */
	const struct ike_der *trusted;
	size_t n_trusted;
};

enum ike_ocsp_cert_status {
	IKE_OCSP_GOOD,
	IKE_OCSP_REVOKED,
	IKE_OCSP_UNKNOWN, /* the responder does not know the certificate */
};

/* The answer about the query's certificate, once the response checked out. */
struct ike_ocsp_result {
	enum ike_ocsp_cert_status status;
	int reason;           /* IKE_OCSP_REVOKED: CRLReason (RFC 5280 5.3.1), -1 none given */
	int64_t revoked_at;   /* IKE_OCSP_REVOKED: revocationTime, else -1 */
	int64_t this_update;
	int64_t next_update;  /* until when it may be kept: nextUpdate, or see above */
};

/*
 * The DER OCSPRequest: one SHA-1 certID (RFC 6960 section 4.1.1; what
 * every responder supports, and RFC 5019 section 2.1.1 asks for) and the
 * nonce when nonce_len > 0.  *len: in the size of out (IKE_OCSP_REQ_MAX
 * is enough), out the octets written.  0, -EINVAL (a certificate that
 * does not parse, a nonce too long), -ENOSPC, -ENOMEM.
 */
int ike_ocsp_request(const struct ike_ocsp_query *q, uint8_t *out, size_t *len,
		     const char **why);

/*
 * Check a DER OCSPResponse at wall time `now`.  0 with *r filled when the
 * response is signed as described above and answers for q->cert (its
 * status may still be revoked or unknown).  Errors, with a static *why:
 *   -EINVAL      malformed response, or more than IKE_OCSP_RESP_MAX
 *   -EAGAIN      responseStatus tryLater or internalError: ask again later
 *   -EACCES      responseStatus unauthorized or sigRequired: the responder
 *                will not answer about this certificate
 *   -EPROTO      responseStatus malformedRequest, or an unknown one
 *   -EBADMSG     a signature that does not verify, or a signer that may not
 *                answer for this issuer
 *   -ENOENT      no answer in the response for q->cert
 *   -ERANGE      the nonce does not match
 *   -EKEYEXPIRED thisUpdate in the future or nextUpdate past (stale)
 *   -ENOMEM
 */
int ike_ocsp_check(const struct ike_ocsp_query *q, const uint8_t *resp, size_t rlen,
		   time_t now, struct ike_ocsp_result *r, const char **why);

/* "good", "revoked", "unknown". */
const char *ike_ocsp_status_name(enum ike_ocsp_cert_status s);
/* A CRLReason's name ("keyCompromise", ...); "unspecified" for -1 and unknown ones. */
const char *ike_ocsp_reason_name(int reason);

/* --- the revocation policy --------------------------------------------- */

/* The policy itself (enum ike_revocation_policy) is in ike/ike.h. */

/* What the sources said about one certificate. */
enum ike_revocation_outcome {
	IKE_REVOCATION_GOOD,    /* a current CRL or OCSP answer: not revoked */
	IKE_REVOCATION_REVOKED, /* a CRL or OCSP answer: revoked */
	IKE_REVOCATION_NONE,    /* nothing known: no source, no answer, "unknown" */
};

/*
 * 0 to accept, -EKEYREVOKED for a revoked certificate, -EKEYREJECTED when
 * the policy wants a status that is not known.  has_source: a CRL or an
 * OCSP responder exists for the certificate (ifuri's condition).
 */
int ike_revocation_decide(enum ike_revocation_policy p, enum ike_revocation_outcome o,
			  bool has_source, const char **why);

/*
 * The policy applied to the peer's end-entity certificate after
 * ike_trust_validate accepted its chain, from what is known without a
 * network fetch: a CRL of its issuer loaded in t settles it (the
 * validation already refused a revoked one); else it is unknown, and
 * a source exists if ocsp_configured or the certificate names an OCSP
 * responder (AIA) or CRL distribution points.  *need_ocsp (may be
 * NULL) says that an OCSP answer could still settle it: the status is
 * unknown and ocsp_configured or the certificate has an http:// OCSP
 * URI; the engine then asks (IKE_WORK_OCSP) before applying the
 * policy to the answer with ike_revocation_decide.
 */
int ike_trust_revocation(const struct ike_trust *t, const struct ike_cert *ee,
			 enum ike_revocation_policy p, bool ocsp_configured, bool *need_ocsp,
			 const char **why);

/* --- the engine's pending OCSP request (IKE_WORK_OCSP, ike.h) ----------- */

struct ike_work;

/*
 * What an IKE_WORK_OCSP asks: the peer's certificate and its issuer (DER,
 * owned by the work), the responder URI the certificate names (AIA,
 * http:// only; "" none) and the name of the connection, whose configured
 * responder (ocsp_uri) comes first.  -EINVAL for another kind of work.
 */
int ike_work_ocsp_query(const struct ike_work *w, struct ike_der *cert,
			struct ike_der *issuer, const char **cert_uri, const char **conn);
/*
 * The answer, before ike_engine_complete: err 0 with r (a response that
 * ike_ocsp_check accepted), or the error of the fetch or of the check;
 * the policy then takes the status as unknown.
 */
void ike_work_ocsp_answer(struct ike_work *w, int err, const struct ike_ocsp_result *r);

/* "strict", "ifuri", "relaxed"; parse returns -EINVAL for another word. */
const char *ike_revocation_policy_name(enum ike_revocation_policy p);
int ike_revocation_policy_parse(const char *s, enum ike_revocation_policy *p);

/*
 * The first http:// OCSP responder URI of the certificate's Authority
 * Information Access (RFC 5280 section 4.2.2.1), NUL-terminated into out.
 * 0, -ENOENT (none), -ENOSPC, -EINVAL (the certificate does not parse).
 * has_cdp (may be NULL): whether it names CRL distribution points.
 */
int ike_cert_ocsp_uri(const struct ike_der *cert, char *out, size_t size, bool *has_cdp);

#endif
