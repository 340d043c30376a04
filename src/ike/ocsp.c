/* SPDX-License-Identifier: ISC */
/*
 * OCSP request and response check (ocsp.h) over OpenSSL 3's OCSP_* API,
 * and the revocation policy.  Every OpenSSL object lives inside one call.
 */
#include "ocsp.h"

#include "cert_int.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

static X509 *parse_der(const struct ike_der *d)
{
	const unsigned char *p = d->p;
	X509 *x;

	if (!d->p || d->len == 0 || d->len > IKE_CERT_DER_MAX)
		return NULL;
	x = d2i_X509(NULL, &p, (long)d->len);
	if (x && p != d->p + d->len) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* The certificate and its issuer, and the certID naming the first. */
struct subject {
	X509 *cert, *issuer;
	OCSP_CERTID *id;
};

static void subject_free(struct subject *s)
{
	OCSP_CERTID_free(s->id);
	X509_free(s->cert);
	X509_free(s->issuer);
}

static int subject_load(const struct ike_ocsp_query *q, struct subject *s, const char **why)
{
	memset(s, 0, sizeof(*s));
	s->cert = parse_der(&q->cert);
	s->issuer = parse_der(&q->issuer);
	if (!s->cert || !s->issuer)
		return cert_fail(why, "malformed certificate or issuer (DER)", -EINVAL);
	/* The issuer must be the certificate's: else no responder can
	 * answer about the certID built from them. */
	if (X509_check_issued(s->issuer, s->cert) != X509_V_OK)
		return cert_fail(why, "issuer did not issue the certificate", -EINVAL);
	s->id = OCSP_cert_to_id(EVP_sha1(), s->cert, s->issuer);
	if (!s->id)
		return cert_fail(why, "out of memory", -ENOMEM);
	return 0;
}

/* A request holding the query's certID and nonce; the certID is then the request's. */
static int request_make(const struct ike_ocsp_query *q, struct subject *s, OCSP_REQUEST **out,
			const char **why)
{
	OCSP_REQUEST *req;

	if (q->nonce_len > IKE_OCSP_NONCE_MAX)
		return cert_fail(why, "nonce longer than 32 octets", -EINVAL);
	req = OCSP_REQUEST_new();
	if (!req)
		return cert_fail(why, "out of memory", -ENOMEM);
	if (!OCSP_request_add0_id(req, s->id)) {
		OCSP_REQUEST_free(req);
		return cert_fail(why, "out of memory", -ENOMEM);
	}
	s->id = NULL; /* the request owns it */
	if (q->nonce_len &&
	    !OCSP_request_add1_nonce(req, (unsigned char *)q->nonce, (int)q->nonce_len)) {
		OCSP_REQUEST_free(req);
		return cert_fail(why, "out of memory", -ENOMEM);
	}
	*out = req;
	return 0;
}

int ike_ocsp_request(const struct ike_ocsp_query *q, uint8_t *out, size_t *len,
		     const char **why)
{
	struct subject s;
	OCSP_REQUEST *req = NULL;
	unsigned char *der = NULL;
	int n, ret = subject_load(q, &s, why);

	if (!ret)
		ret = request_make(q, &s, &req, why);
	if (!ret) {
		n = i2d_OCSP_REQUEST(req, &der);
		if (n <= 0)
			ret = cert_fail(why, "cannot encode the request", -ENOMEM);
		else if ((size_t)n > *len)
			ret = cert_fail(why, "request buffer too small", -ENOSPC);
		else {
			memcpy(out, der, (size_t)n);
			*len = (size_t)n;
		}
	}
	OPENSSL_free(der);
	OCSP_REQUEST_free(req);
	subject_free(&s);
	ERR_clear_error();
	return ret;
}

/* --- the response ---------------------------------------------------------- */

static int response_status(OCSP_RESPONSE *resp, const char **why)
{
	switch (OCSP_response_status(resp)) {
	case OCSP_RESPONSE_STATUS_SUCCESSFUL:
		return 0;
	case OCSP_RESPONSE_STATUS_TRYLATER:
		return cert_fail(why, "responder says: try later", -EAGAIN);
	case OCSP_RESPONSE_STATUS_INTERNALERROR:
		return cert_fail(why, "responder says: internal error", -EAGAIN);
	case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
		return cert_fail(why, "responder says: unauthorized", -EACCES);
	case OCSP_RESPONSE_STATUS_SIGREQUIRED:
		return cert_fail(why, "responder says: signed request required", -EACCES);
	case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
		return cert_fail(why, "responder says: malformed request", -EPROTO);
	default:
		return cert_fail(why, "unknown response status", -EPROTO);
	}
}

/*
 * The trust of one check: the issuer as the only anchor (partial chains
 * allowed, since it may be an intermediate), verification at `now`.
 */
static X509_STORE *issuer_store(X509 *issuer, time_t now)
{
	X509_STORE *st = X509_STORE_new();

	if (!st || !X509_STORE_add_cert(st, issuer)) {
		X509_STORE_free(st);
		return NULL;
	}
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), now);
	X509_VERIFY_PARAM_set_auth_level(X509_STORE_get0_param(st), 2);
	return st;
}

static int trusted_load(const struct ike_ocsp_query *q, STACK_OF(X509) *out, const char **why)
{
	if (q->n_trusted > IKE_OCSP_TRUSTED_MAX)
		return cert_fail(why, "too many trusted responders", -EINVAL);
	for (size_t i = 0; i < q->n_trusted; i++) {
		X509 *x = parse_der(&q->trusted[i]);

		if (!x)
			return cert_fail(why, "malformed trusted responder certificate", -EINVAL);
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			return cert_fail(why, "out of memory", -ENOMEM);
		}
	}
	return 0;
}

/* A delegated responder (RFC 6960 section 4.2.2.2): issued and signed by
 * the issuer, id-kp-OCSPSigning in its extended key usage. */
static bool delegated_by(X509 *signer, X509 *issuer)
{
	EVP_PKEY *ikey = X509_get0_pubkey(issuer);

	return ikey && X509_check_issued(issuer, signer) == X509_V_OK &&
	       X509_verify(signer, ikey) == 1 &&
	       (X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) &&
	       (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN);
}

static bool in_stack(STACK_OF(X509) *sk, X509 *x)
{
	for (int i = 0; i < sk_X509_num(sk); i++)
		if (X509_cmp(sk_X509_value(sk, i), x) == 0)
			return true;
	return false;
}

/*
 * The signature and its signer (see ocsp.h).  OCSP_basic_verify checks
 * the signature with the signer's key; with OCSP_TRUSTOTHER a signer
 * among `certs` (the issuer and the locally trusted responders) needs no
 * chain, any other must chain to the issuer at `now`.  OCSP_NOCHECKS
 * leaves the authorization to us: OpenSSL's own would accept any signer
 * whose chain ends in a self-signed root, and the issuer is often one.
 */
static int signature_check(const struct ike_ocsp_query *q, OCSP_BASICRESP *bs, X509 *issuer,
			   time_t now, const char **why)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509_STORE *st = issuer_store(issuer, now);
	X509 *signer = NULL;
	int ret = (!certs || !st) ? cert_fail(why, "out of memory", -ENOMEM) : 0;

	if (!ret)
		ret = trusted_load(q, certs, why);
	if (!ret && (!X509_up_ref(issuer) || !sk_X509_push(certs, issuer))) {
		X509_free(issuer);
		ret = cert_fail(why, "out of memory", -ENOMEM);
	}
	if (!ret && OCSP_basic_verify(bs, certs, st, OCSP_TRUSTOTHER | OCSP_NOCHECKS) <= 0)
		ret = cert_fail(why, "response signature does not verify", -EBADMSG);
	if (!ret && !OCSP_resp_get0_signer(bs, &signer, certs))
		ret = cert_fail(why, "response signer not found", -EBADMSG);
	if (!ret && !in_stack(certs, signer) && !delegated_by(signer, issuer))
		ret = cert_fail(why, "response signer may not answer for the issuer", -EBADMSG);
	sk_X509_pop_free(certs, X509_free);
	X509_STORE_free(st);
	return ret;
}

static int nonce_check(const struct ike_ocsp_query *q, struct subject *s, OCSP_BASICRESP *bs,
		       const char **why)
{
	OCSP_REQUEST *req = NULL;
	int ret, n;

	if (!q->nonce_len)
		return 0;
	ret = request_make(q, s, &req, why);
	if (ret)
		return ret;
	n = OCSP_check_nonce(req, bs);
	OCSP_REQUEST_free(req);
	/* 1: equal; -1: the responder sent none (see ocsp.h). */
	if (n == 1 || n == -1)
		return 0;
	return cert_fail(why, "nonce does not match the request", -ERANGE);
}

static int times_check(ASN1_GENERALIZEDTIME *thisupd, ASN1_GENERALIZEDTIME *nextupd,
		       time_t now, struct ike_ocsp_result *r, const char **why)
{
	r->this_update = cert_time_of(thisupd);
	r->next_update = nextupd ? cert_time_of(nextupd) : -1;
	if (r->this_update < 0 || (nextupd && r->next_update < 0))
		return cert_fail(why, "malformed thisUpdate or nextUpdate", -EINVAL);
	/* RFC 6960 section 3.2 item 5: thisUpdate sufficiently recent. */
	if (r->this_update > (int64_t)now + IKE_OCSP_SKEW)
		return cert_fail(why, "response from the future (thisUpdate)", -EKEYEXPIRED);
	if (!nextupd)
		r->next_update = r->this_update + IKE_OCSP_NO_NEXT;
	/* Item 6: nextUpdate, when set, greater than the current time. */
	if (r->next_update + IKE_OCSP_SKEW < (int64_t)now)
		return cert_fail(why, "stale response (nextUpdate past)", -EKEYEXPIRED);
	if (r->next_update < r->this_update)
		return cert_fail(why, "nextUpdate before thisUpdate", -EINVAL);
	return 0;
}

static int single_check(OCSP_BASICRESP *bs, OCSP_CERTID *id, time_t now,
			struct ike_ocsp_result *r, const char **why)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	int status, reason = -1, ret;

	/* Item 1 of RFC 6960 section 3.2: the answer is about our certificate. */
	if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd))
		return cert_fail(why, "no answer for the certificate in the response", -ENOENT);
	ret = times_check(thisupd, nextupd, now, r, why);
	if (ret)
		return ret;
	r->reason = -1;
	r->revoked_at = -1;
	switch (status) {
	case V_OCSP_CERTSTATUS_GOOD:
		r->status = IKE_OCSP_GOOD;
		return 0;
	case V_OCSP_CERTSTATUS_REVOKED:
		r->status = IKE_OCSP_REVOKED;
		r->reason = reason >= 0 ? reason : -1;
		r->revoked_at = cert_time_of(rev);
		return 0;
	case V_OCSP_CERTSTATUS_UNKNOWN:
		r->status = IKE_OCSP_UNKNOWN;
		return 0;
	default:
		return cert_fail(why, "malformed certificate status", -EINVAL);
	}
}

static int decode(const uint8_t *p, size_t len, OCSP_RESPONSE **resp, OCSP_BASICRESP **bs,
		  const char **why)
{
	const unsigned char *c = p;
	int ret;

	if (!p || len == 0 || len > IKE_OCSP_RESP_MAX)
		return cert_fail(why, len ? "response larger than 64 KiB" : "empty response",
				 -EINVAL);
	*resp = d2i_OCSP_RESPONSE(NULL, &c, (long)len);
	/* Trailing octets: not what the responder signed or sent. */
	if (!*resp || c != p + len)
		return cert_fail(why, "malformed response (DER)", -EINVAL);
	ret = response_status(*resp, why);
	if (ret)
		return ret;
	*bs = OCSP_response_get1_basic(*resp);
	if (!*bs)
		return cert_fail(why, "not a basic OCSP response", -EINVAL);
	return 0;
}

int ike_ocsp_check(const struct ike_ocsp_query *q, const uint8_t *p, size_t len, time_t now,
		   struct ike_ocsp_result *r, const char **why)
{
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	struct subject s;
	int ret = subject_load(q, &s, why);

	if (!ret)
		ret = decode(p, len, &resp, &bs, why);
	if (!ret)
		ret = signature_check(q, bs, s.issuer, now, why);
	if (!ret)
		ret = single_check(bs, s.id, now, r, why);
	if (!ret)
		ret = nonce_check(q, &s, bs, why);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	subject_free(&s);
	ERR_clear_error();
	return ret;
}

const char *ike_ocsp_status_name(enum ike_ocsp_cert_status s)
{
	switch (s) {
	case IKE_OCSP_GOOD:
		return "good";
	case IKE_OCSP_REVOKED:
		return "revoked";
	default:
		return "unknown";
	}
}

const char *ike_ocsp_reason_name(int reason)
{
	/* RFC 5280 section 5.3.1; 7 is not used. */
	static const char *const names[] = {
		"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
		"superseded", "cessationOfOperation", "certificateHold", "unspecified",
		"removeFromCRL", "privilegeWithdrawn", "aACompromise",
	};

	if (reason < 0 || reason >= (int)(sizeof(names) / sizeof(names[0])))
		return "unspecified";
	return names[reason];
}

/* --- policy ------------------------------------------------------------------ */

int ike_revocation_decide(enum ike_revocation_policy p, enum ike_revocation_outcome o,
			  bool has_source, const char **why)
{
	if (o == IKE_REVOCATION_REVOKED)
		return cert_fail(why, "revoked", -EKEYREVOKED);
	if (o == IKE_REVOCATION_GOOD)
		return 0;
	if (p == IKE_REVOCATION_STRICT)
		return cert_fail(why, "revocation status unknown (revocation = strict)",
				 -EKEYREJECTED);
	if (p == IKE_REVOCATION_IFURI && has_source)
		return cert_fail(why, "revocation status unknown though a source exists "
				      "(revocation = ifuri)", -EKEYREJECTED);
	return 0;
}

static const char *const policy_names[] = {
	[IKE_REVOCATION_RELAXED] = "relaxed",
	[IKE_REVOCATION_IFURI] = "ifuri",
	[IKE_REVOCATION_STRICT] = "strict",
};

const char *ike_revocation_policy_name(enum ike_revocation_policy p)
{
	return (unsigned)p < 3 ? policy_names[p] : "?";
}

int ike_revocation_policy_parse(const char *s, enum ike_revocation_policy *p)
{
	for (unsigned i = 0; i < 3; i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*p = (enum ike_revocation_policy)i;
			return 0;
		}
	return -EINVAL;
}

/* --- the certificate's own sources ------------------------------------------- */

int cert_ocsp_uri(X509 *x, char *out, size_t size, bool *has_cdp)
{
	STACK_OF(OPENSSL_STRING) *uris;
	int ret = -ENOENT;

	if (has_cdp) {
		STACK_OF(DIST_POINT) *cdp = X509_get_ext_d2i(x, NID_crl_distribution_points,
							     NULL, NULL);

		*has_cdp = cdp && sk_DIST_POINT_num(cdp) > 0;
		CRL_DIST_POINTS_free(cdp);
	}
	uris = X509_get1_ocsp(x);
	for (int i = 0; ret == -ENOENT && i < sk_OPENSSL_STRING_num(uris); i++) {
		const char *u = sk_OPENSSL_STRING_value(uris, i);

		/* Only plain HTTP: RFC 6960 appendix A; OCSP is signed. */
		if (strncmp(u, "http://", 7) != 0)
			continue;
		if (strlen(u) >= size)
			ret = -ENOSPC;
		else {
			strcpy(out, u);
			ret = 0;
		}
	}
	X509_email_free(uris);
	ERR_clear_error();
	return ret;
}

int ike_cert_ocsp_uri(const struct ike_der *cert, char *out, size_t size, bool *has_cdp)
{
	X509 *x = parse_der(cert);
	int ret;

	if (!x)
		return -EINVAL;
	ret = cert_ocsp_uri(x, out, size, has_cdp);
	X509_free(x);
	return ret;
}

int ike_trust_revocation(const struct ike_trust *t, const struct ike_cert *ee,
			 enum ike_revocation_policy p, bool ocsp_configured, bool *need_ocsp,
			 const char **why)
{
	char uri[8];
	bool cdp = false, aia;
	int ret;

	if (need_ocsp)
		*need_ocsp = false;
	if (t->n_crl && cert_crl_loaded(t->store, ee->x))
		return ike_revocation_decide(p, IKE_REVOCATION_GOOD, true, why);
	/* -ENOSPC: there is a URI, only this buffer is too small to hold it. */
	ret = cert_ocsp_uri(ee->x, uri, sizeof(uri), &cdp);
	aia = ret == 0 || ret == -ENOSPC;
	if (need_ocsp)
		*need_ocsp = ocsp_configured || aia;
	return ike_revocation_decide(p, IKE_REVOCATION_NONE, ocsp_configured || aia || cdp, why);
}
