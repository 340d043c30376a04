/* SPDX-License-Identifier: ISC */
/*
 * ike/ocsp.c: requests, and responses made here as a responder makes
 * them (OCSP_basic_sign through certs.h), each case changing one thing:
 * good / revoked / unknown from the issuer, a delegated responder and a
 * locally trusted one; signers that may not answer; stale and future
 * times; nonces; error statuses; garbage.  Then the revocation policy's
 * table and the AIA reader.
 */
#include "check.h"
#include "certs.h"
#include "ike/ocsp.h"

#include <errno.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

static struct {
	EVP_PKEY *ca_key, *ee_key, *resp_key, *other_key;
	X509 *ca, *ee, *ee2, *delegated, *no_eku, *other_ca, *other_resp, *local;
	uint8_t *ca_der, *ee_der, *local_der;
	size_t ca_len, ee_len, local_len;
} pki;

static const uint8_t nonce[IKE_OCSP_NONCE_LEN] = "0123456789abcdef";

static X509 *ee_cert(const char *cn, long serial, X509 *issuer, EVP_PKEY *ikey, const char *eku)
{
	struct certs_spec s = {
		.cn = cn, .key = pki.ee_key, .issuer = issuer, .ikey = ikey,
		.ku = "critical,digitalSignature", .eku = eku, .serial = serial,
		.san = "DNS:peer.example.com",
	};

	return certs_make(&s);
}

static void pki_setup(void)
{
	pki.ca_key = certs_key("EC", "P-256", 0);
	pki.ee_key = certs_key("EC", "P-256", 0);
	pki.resp_key = certs_key("EC", "P-256", 0);
	pki.other_key = certs_key("EC", "P-256", 0);
	pki.ca = certs_ca("OCSP CA", pki.ca_key, NULL, NULL);
	pki.ee = ee_cert("peer", 7, pki.ca, pki.ca_key, NULL);
	pki.ee2 = ee_cert("peer2", 8, pki.ca, pki.ca_key, NULL);
	/* Responder certificates: the key is the responder's, the issuer varies. */
	pki.delegated = certs_make(&(struct certs_spec){
		.cn = "responder", .key = pki.resp_key, .issuer = pki.ca, .ikey = pki.ca_key,
		.eku = "OCSPSigning", .serial = 20 });
	pki.no_eku = certs_make(&(struct certs_spec){
		.cn = "not a responder", .key = pki.resp_key, .issuer = pki.ca,
		.ikey = pki.ca_key, .eku = "serverAuth", .serial = 21 });
	pki.other_ca = certs_ca("Other CA", pki.other_key, NULL, NULL);
	pki.other_resp = certs_make(&(struct certs_spec){
		.cn = "responder", .key = pki.resp_key, .issuer = pki.other_ca,
		.ikey = pki.other_key, .eku = "OCSPSigning", .serial = 22 });
	pki.local = certs_make(&(struct certs_spec){ .cn = "local responder", .key = pki.resp_key });
	pki.ca_der = certs_der(pki.ca, &pki.ca_len);
	pki.ee_der = certs_der(pki.ee, &pki.ee_len);
	pki.local_der = certs_der(pki.local, &pki.local_len);
}

static void pki_teardown(void)
{
	X509 *xs[] = { pki.ca, pki.ee, pki.ee2, pki.delegated, pki.no_eku, pki.other_ca,
		       pki.other_resp, pki.local };
	EVP_PKEY *ks[] = { pki.ca_key, pki.ee_key, pki.resp_key, pki.other_key };

	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		X509_free(xs[i]);
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		EVP_PKEY_free(ks[i]);
	free(pki.ca_der);
	free(pki.ee_der);
	free(pki.local_der);
}

static struct ike_ocsp_query query(void)
{
	struct ike_ocsp_query q = {
		.cert = { pki.ee_der, pki.ee_len },
		.issuer = { pki.ca_der, pki.ca_len },
		.nonce_len = IKE_OCSP_NONCE_LEN,
	};

	memcpy(q.nonce, nonce, sizeof(nonce));
	return q;
}

/* A good answer about pki.ee from the CA, nonce echoed, valid a day. */
static struct certs_ocsp_spec spec_good(void)
{
	return (struct certs_ocsp_spec){
		.cert = pki.ee, .issuer = pki.ca, .signer = pki.ca, .skey = pki.ca_key,
		.status = V_OCSP_CERTSTATUS_GOOD, .reason = -1,
		.this_off = -60, .next_off = CERTS_DAY,
		.nonce = nonce, .nonce_len = sizeof(nonce),
	};
}

/* Check the response of spec against q at `now`; the return value. */
static int run_at(const struct certs_ocsp_spec *s, const struct ike_ocsp_query *q, time_t now,
		  struct ike_ocsp_result *r)
{
	size_t len;
	uint8_t *der = certs_ocsp_response(s, &len);
	const char *why = NULL;
	int ret = ike_ocsp_check(q, der, len, now, r, &why);

	CHECK(ret == 0 || why != NULL);
	free(der);
	return ret;
}

static int run(const struct certs_ocsp_spec *s, struct ike_ocsp_result *r)
{
	struct ike_ocsp_query q = query();

	return run_at(s, &q, CERTS_NOW, r);
}

static void test_request(void)
{
	struct ike_ocsp_query q = query();
	uint8_t out[IKE_OCSP_REQ_MAX];
	size_t len = sizeof(out);
	const unsigned char *p = out;
	const char *why = NULL;
	OCSP_REQUEST *req;
	OCSP_CERTID *want = OCSP_cert_to_id(EVP_sha1(), pki.ee, pki.ca);

	CHECK_INT(ike_ocsp_request(&q, out, &len, &why), 0);
	req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	CHECK(req != NULL && p == out + len);
	CHECK_INT(OCSP_request_onereq_count(req), 1);
	CHECK_INT(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)), want), 0);
	/* The nonce is there (OpenSSL's own check against a response echoing it). */
	CHECK(OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1) >= 0);
	OCSP_REQUEST_free(req);
	OCSP_CERTID_free(want);

	/* A buffer one octet short, an issuer that did not issue, garbage. */
	len -= 1;
	CHECK_INT(ike_ocsp_request(&q, out, &len, &why), -ENOSPC);
	q.issuer = (struct ike_der){ pki.local_der, pki.local_len };
	len = sizeof(out);
	CHECK_INT(ike_ocsp_request(&q, out, &len, &why), -EINVAL);
	q.issuer = (struct ike_der){ (const uint8_t *)"\x30\x03\x02\x01\x00", 5 };
	CHECK_INT(ike_ocsp_request(&q, out, &len, &why), -EINVAL);
	q = query();
	q.nonce_len = IKE_OCSP_NONCE_MAX + 1;
	CHECK_INT(ike_ocsp_request(&q, out, &len, &why), -EINVAL);
}

static void test_status(void)
{
	struct certs_ocsp_spec s = spec_good();
	struct ike_ocsp_result r;

	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_GOOD);
	CHECK_INT(r.this_update, CERTS_NOW - 60);
	CHECK_INT(r.next_update, CERTS_NOW + CERTS_DAY);
	CHECK_INT(r.revoked_at, -1);

	s.status = V_OCSP_CERTSTATUS_REVOKED;
	s.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_REVOKED);
	CHECK_INT(r.reason, 1);
	CHECK(strcmp(ike_ocsp_reason_name(r.reason), "keyCompromise") == 0);
	CHECK_INT(r.revoked_at, CERTS_NOW - 2 * CERTS_DAY);

	s.reason = -1;
	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_REVOKED);
	CHECK_INT(r.reason, -1);

	s = spec_good();
	s.status = V_OCSP_CERTSTATUS_UNKNOWN;
	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_UNKNOWN);
	CHECK(strcmp(ike_ocsp_status_name(r.status), "unknown") == 0);
}

static void test_signers(void)
{
	struct certs_ocsp_spec s = spec_good();
	struct ike_ocsp_query q = query();
	struct ike_ocsp_result r;
	struct ike_der local = { pki.local_der, pki.local_len };

	/* A delegated responder of the CA (id-kp-OCSPSigning). */
	s.signer = pki.delegated;
	s.skey = pki.resp_key;
	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_GOOD);
	/* The same key, certified by the CA but not for OCSP. */
	s.signer = pki.no_eku;
	CHECK_INT(run(&s, &r), -EBADMSG);
	/* A responder of another CA. */
	s.signer = pki.other_resp;
	CHECK_INT(run(&s, &r), -EBADMSG);
	/* Another CA's own signature. */
	s.signer = pki.other_ca;
	s.skey = pki.other_key;
	CHECK_INT(run(&s, &r), -EBADMSG);
	/* The CA's answer, no certificate sent along (the issuer is known):
	 * good, and with a flipped signature octet refused. */
	s = spec_good();
	s.bad_sig = 0;
	CHECK_INT(run(&s, &r), 0);
	s.bad_sig = 1;
	CHECK_INT(run(&s, &r), -EBADMSG);
	s = spec_good();
	/* A self-signed responder: refused, unless locally trusted. */
	s.signer = pki.local;
	s.skey = pki.resp_key;
	CHECK_INT(run(&s, &r), -EBADMSG);
	q.trusted = &local;
	q.n_trusted = 1;
	CHECK_INT(run_at(&s, &q, CERTS_NOW, &r), 0);
	CHECK_INT(r.status, IKE_OCSP_GOOD);
	/* The delegated responder, once it has expired (a year from CERTS_NOW). */
	s.signer = pki.delegated;
	q = query();
	s.this_off = 400 * CERTS_DAY - 60;
	s.next_off = 401 * CERTS_DAY;
	CHECK_INT(run_at(&s, &q, CERTS_NOW + 400 * CERTS_DAY, &r), -EBADMSG);
}

static void test_times(void)
{
	struct certs_ocsp_spec s = spec_good();
	struct ike_ocsp_result r;

	/* nextUpdate passed more than the skew ago: stale. */
	s.this_off = -2 * CERTS_DAY;
	s.next_off = -IKE_OCSP_SKEW - 10;
	CHECK_INT(run(&s, &r), -EKEYEXPIRED);
	/* Within the skew: still taken. */
	s.next_off = -IKE_OCSP_SKEW + 10;
	CHECK_INT(run(&s, &r), 0);
	/* thisUpdate ahead of us by more than the skew. */
	s = spec_good();
	s.this_off = IKE_OCSP_SKEW + 10;
	CHECK_INT(run(&s, &r), -EKEYEXPIRED);
	s.this_off = IKE_OCSP_SKEW - 10;
	CHECK_INT(run(&s, &r), 0);
	/* No nextUpdate: valid IKE_OCSP_NO_NEXT after thisUpdate, then stale. */
	s = spec_good();
	s.no_next = 1;
	CHECK_INT(run(&s, &r), 0);
	CHECK_INT(r.next_update, CERTS_NOW - 60 + IKE_OCSP_NO_NEXT);
	s.this_off = -IKE_OCSP_NO_NEXT - IKE_OCSP_SKEW - 100;
	CHECK_INT(run(&s, &r), -EKEYEXPIRED);
	/* nextUpdate before thisUpdate. */
	s = spec_good();
	s.this_off = -60;
	s.next_off = -120;
	CHECK_INT(run(&s, &r), -EINVAL);
}

static void test_nonce_and_id(void)
{
	static const uint8_t other[IKE_OCSP_NONCE_LEN] = "fedcba9876543210";
	struct certs_ocsp_spec s = spec_good();
	struct ike_ocsp_query q = query();
	struct ike_ocsp_result r;

	s.nonce = other;
	CHECK_INT(run(&s, &r), -ERANGE);
	/* A shorter nonce that is a prefix of ours. */
	s.nonce = nonce;
	s.nonce_len = 8;
	CHECK_INT(run(&s, &r), -ERANGE);
	/* No nonce in the response: a pre-signed answer, accepted. */
	s.nonce = NULL;
	CHECK_INT(run(&s, &r), 0);
	/* A query without nonce (a cached answer) ignores the response's. */
	s.nonce = other;
	s.nonce_len = sizeof(other);
	q.nonce_len = 0;
	CHECK_INT(run_at(&s, &q, CERTS_NOW, &r), 0);
	/* An answer about another certificate of the same CA. */
	s = spec_good();
	s.cert = pki.ee2;
	CHECK_INT(run(&s, &r), -ENOENT);
}

static void test_errors(void)
{
	static const int statuses[][2] = {
		{ OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, -EPROTO },
		{ OCSP_RESPONSE_STATUS_INTERNALERROR, -EAGAIN },
		{ OCSP_RESPONSE_STATUS_TRYLATER, -EAGAIN },
		{ OCSP_RESPONSE_STATUS_SIGREQUIRED, -EACCES },
		{ OCSP_RESPONSE_STATUS_UNAUTHORIZED, -EACCES },
	};
	struct certs_ocsp_spec s = spec_good();
	struct ike_ocsp_query q = query();
	struct ike_ocsp_result r;
	const char *why = NULL;
	uint8_t *der;
	size_t len;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		s.resp_status = statuses[i][0];
		CHECK_INT(run(&s, &r), statuses[i][1]);
	}
	/* Garbage, empty, truncated, trailing octets, oversized. */
	CHECK_INT(ike_ocsp_check(&q, (const uint8_t *)"garbage", 7, CERTS_NOW, &r, &why), -EINVAL);
	CHECK_INT(ike_ocsp_check(&q, NULL, 0, CERTS_NOW, &r, &why), -EINVAL);
	s = spec_good();
	der = certs_ocsp_response(&s, &len);
	CHECK_INT(ike_ocsp_check(&q, der, len - 1, CERTS_NOW, &r, &why), -EINVAL);
	der = realloc(der, IKE_OCSP_RESP_MAX + 1);
	der[len] = 0;
	CHECK_INT(ike_ocsp_check(&q, der, len + 1, CERTS_NOW, &r, &why), -EINVAL);
	CHECK_INT(ike_ocsp_check(&q, der, IKE_OCSP_RESP_MAX + 1, CERTS_NOW, &r, &why), -EINVAL);
	/*
	 * One flipped octet inside the signed data.  The response is about
	 * 700 octets: the signed part and its signature fill the first 340 or
	 * so, the certificates it carries the rest (an octet of those may
	 * change unnoticed when the signer is found among ours, so len / 2
	 * failed the check now and then as signature lengths varied).
	 */
	CHECK_INT(ike_ocsp_check(&q, der, len, CERTS_NOW, &r, &why), 0);
	der[len / 4] ^= 0x01;
	CHECK(ike_ocsp_check(&q, der, len, CERTS_NOW, &r, &why) < 0);
	free(der);
}

static void test_policy(void)
{
	static const struct {
		enum ike_revocation_policy p;
		enum ike_revocation_outcome o;
		bool source;
		int want;
	} t[] = {
		{ IKE_REVOCATION_STRICT, IKE_REVOCATION_GOOD, true, 0 },
		{ IKE_REVOCATION_STRICT, IKE_REVOCATION_REVOKED, true, -EKEYREVOKED },
		{ IKE_REVOCATION_STRICT, IKE_REVOCATION_NONE, true, -EKEYREJECTED },
		{ IKE_REVOCATION_STRICT, IKE_REVOCATION_NONE, false, -EKEYREJECTED },
		{ IKE_REVOCATION_IFURI, IKE_REVOCATION_GOOD, true, 0 },
		{ IKE_REVOCATION_IFURI, IKE_REVOCATION_REVOKED, false, -EKEYREVOKED },
		{ IKE_REVOCATION_IFURI, IKE_REVOCATION_NONE, true, -EKEYREJECTED },
		{ IKE_REVOCATION_IFURI, IKE_REVOCATION_NONE, false, 0 },
		{ IKE_REVOCATION_RELAXED, IKE_REVOCATION_GOOD, false, 0 },
		{ IKE_REVOCATION_RELAXED, IKE_REVOCATION_REVOKED, true, -EKEYREVOKED },
		{ IKE_REVOCATION_RELAXED, IKE_REVOCATION_NONE, true, 0 },
		{ IKE_REVOCATION_RELAXED, IKE_REVOCATION_NONE, false, 0 },
	};
	enum ike_revocation_policy p;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *why = NULL;
		int ret = ike_revocation_decide(t[i].p, t[i].o, t[i].source, &why);

		CHECK_MSG(ret == t[i].want, "row %zu: %d", i, ret);
		CHECK(ret == 0 || why != NULL);
	}
	CHECK_INT(ike_revocation_policy_parse("ifuri", &p), 0);
	CHECK_INT(p, IKE_REVOCATION_IFURI);
	CHECK(strcmp(ike_revocation_policy_name(p), "ifuri") == 0);
	CHECK_INT(ike_revocation_policy_parse("Strict", &p), -EINVAL);
	CHECK_INT(ike_revocation_policy_parse("", &p), -EINVAL);
}

static void note_uri(void *ctx, const struct ike_cert_info *in)
{
	if (in->role == IKE_CERT_OWN)
		snprintf(ctx, 128, "%s", in->ocsp_uri);
}

static void test_aia(void)
{
	X509 *x = certs_make(&(struct certs_spec){
		.cn = "aia", .key = pki.ee_key, .issuer = pki.ca, .ikey = pki.ca_key,
		.aia = "OCSP;URI:ldap://ldap.example.com/,OCSP;URI:http://192.0.2.9:8080/ocsp",
		.cdp = "URI:http://crl.example.com/ca.crl" });
	size_t len;
	uint8_t *der = certs_der(x, &len);
	struct ike_der d = { der, len }, plain = { pki.ee_der, pki.ee_len };
	char uri[64], small[8];
	bool cdp = false;

	CHECK_INT(ike_cert_ocsp_uri(&d, uri, sizeof(uri), &cdp), 0);
	CHECK(strcmp(uri, "http://192.0.2.9:8080/ocsp") == 0);
	CHECK(cdp);
	CHECK_INT(ike_cert_ocsp_uri(&d, small, sizeof(small), NULL), -ENOSPC);
	CHECK_INT(ike_cert_ocsp_uri(&plain, uri, sizeof(uri), &cdp), -ENOENT);
	CHECK(!cdp);
	d.len = 10;
	CHECK_INT(ike_cert_ocsp_uri(&d, uri, sizeof(uri), &cdp), -EINVAL);
	free(der);

	/* What list-certs shows: the URI of our certificate, none for its CA. */
	{
		struct ike_cred *cred = NULL;
		const char *why = NULL;
		size_t klen, clen;
		uint8_t *kpem = certs_key_pem(pki.ee_key, &klen), *cpem = certs_pem(x, &clen);
		char seen[2][128] = { "-", "-" };

		CHECK_INT(ike_cred_new(kpem, klen, &cred, &why), 0);
		CHECK_INT(ike_cred_add_certs(cred, cpem, clen, &why), 0);
		ike_cred_visit(cred, note_uri, seen[0]);
		CHECK(strcmp(seen[0], "http://192.0.2.9:8080/ocsp") == 0);
		ike_cred_free(cred);
		free(kpem);
		free(cpem);
	}
	X509_free(x);
}

int main(void)
{
	pki_setup();
	test_request();
	test_status();
	test_signers();
	test_times();
	test_nonce_and_id();
	test_errors();
	test_policy();
	test_aia();
	pki_teardown();
	return check_done("ocsp");
}
