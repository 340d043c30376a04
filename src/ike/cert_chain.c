/* SPDX-License-Identifier: ISC */
/*
 * Validation of the peer's certificate chain through X509_verify_cert:
 * signatures up to a CA we trust, validity at the time given, basic
 * constraints and path lengths, name constraints, CRLs, a bounded depth
 * and OpenSSL's security level 2 (RSA >= 2048 bits, no SHA-1 or MD5
 * signatures in the chain).  Then what X509_verify_cert leaves to the
 * application for the end-entity certificate: its key (cert_key_check),
 * its key usage and its extended key usage.
 *
 * Extended key usage.  RFC 4945 section 5.1.3.12 lets IKE accept any EKU,
 * while real clients demand some: Windows and macOS/iOS want serverAuth on
 * a gateway's certificate, and CAs issue clientAuth to users; strongSwan's
 * `pki --flag serverAuth/clientAuth/ikeIntermediate` follows that.  So an
 * end-entity certificate is accepted with no EKU at all, or with one of
 * anyExtendedKeyUsage, id-kp-ipsecIKE (1.3.6.1.5.5.7.3.17, RFC 4945
 * 5.1.3.12), and serverAuth or clientAuth as the peer's role allows
 * (IKE_PURPOSE_SERVER: serverAuth; IKE_PURPOSE_CLIENT: clientAuth;
 * IKE_PURPOSE_ANY: either).  A certificate whose EKU names only other
 * purposes (code signing, e-mail protection, ...) is refused: its CA meant
 * it for something else.
 *
 * Revocation.  When CRLs are loaded, every certificate of the chain is
 * checked against its issuer's CRL (X509_V_FLAG_CRL_CHECK | CRL_CHECK_ALL);
 * a CA for which no CRL is loaded is not checked (the callback below lets
 * "unable to get certificate CRL" pass), while a CA whose CRLs do not
 * settle a certificate (another key signed them, or their scope leaves
 * its revocation reasons out) fails it.  An expired CRL fails the chain:
 * the operator loaded it, so a stale one is an error to fix, not a reason
 * to accept everything.
 */
#include "cert_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* What X509_verify_cert found, as our errno and a short reason. */
struct verify_reason {
	int x509_err;
	int err;
	const char *why;
};

static const struct verify_reason reasons[] = {
	{ X509_V_ERR_CERT_HAS_EXPIRED, -EKEYEXPIRED, "certificate expired" },
	{ X509_V_ERR_CERT_NOT_YET_VALID, -EKEYEXPIRED, "certificate not yet valid" },
	{ X509_V_ERR_CERT_REVOKED, -EKEYREVOKED, "revoked" },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, -EKEYREJECTED, "unknown CA" },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, -EKEYREJECTED, "unknown CA" },
	{ X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, -EKEYREJECTED, "unknown CA" },
	{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, -EKEYREJECTED, "unknown CA (self-signed)" },
	{ X509_V_ERR_CERT_CHAIN_TOO_LONG, -EKEYREJECTED, "chain too long" },
	{ X509_V_ERR_PATH_LENGTH_EXCEEDED, -EKEYREJECTED, "CA path length exceeded" },
	{ X509_V_ERR_PERMITTED_VIOLATION, -EKEYREJECTED, "name constraints violated" },
	{ X509_V_ERR_EXCLUDED_VIOLATION, -EKEYREJECTED, "name constraints violated" },
	{ X509_V_ERR_CERT_SIGNATURE_FAILURE, -EKEYREJECTED, "bad certificate signature" },
	{ X509_V_ERR_INVALID_CA, -EKEYREJECTED, "issuer is not a CA" },
	{ X509_V_ERR_KEYUSAGE_NO_CERTSIGN, -EKEYREJECTED, "issuer may not sign certificates" },
	{ X509_V_ERR_CRL_HAS_EXPIRED, -EKEYREJECTED, "CRL expired" },
	{ X509_V_ERR_CRL_NOT_YET_VALID, -EKEYREJECTED, "CRL not yet valid" },
	{ X509_V_ERR_CRL_SIGNATURE_FAILURE, -EKEYREJECTED, "bad CRL signature" },
	{ X509_V_ERR_UNABLE_TO_GET_CRL, -EKEYREJECTED, "no usable CRL of the issuer" },
	{ X509_V_ERR_EE_KEY_TOO_SMALL, -EKEYREJECTED, "key too small" },
	{ X509_V_ERR_CA_KEY_TOO_SMALL, -EKEYREJECTED, "CA key too small" },
	{ X509_V_ERR_CA_MD_TOO_WEAK, -EKEYREJECTED, "certificate signed with a weak hash" },
};

static int verify_fail(int x509_err, const char **why)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].x509_err == x509_err)
			return cert_fail(why, reasons[i].why, reasons[i].err);
	/* OpenSSL's own strings are static too. */
	return cert_fail(why, X509_verify_cert_error_string(x509_err), -EKEYREJECTED);
}

bool cert_crl_loaded(X509_STORE *st, X509 *x)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);

	for (int i = 0; x && i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);

		if (X509_OBJECT_get_type(o) == X509_LU_CRL &&
		    X509_NAME_cmp(X509_CRL_get_issuer(X509_OBJECT_get0_X509_CRL(o)),
				  X509_get_issuer_name(x)) == 0)
			return true;
	}
	return false;
}

/* Does the store hold a CRL in the name of the current certificate's issuer? */
static bool crl_loaded_for(X509_STORE_CTX *ctx)
{
	return cert_crl_loaded(X509_STORE_CTX_get0_store(ctx),
			       X509_STORE_CTX_get_current_cert(ctx));
}

/*
 * A CA without a CRL loaded is not checked (see the top of this file).
 * One with a CRL that OpenSSL found unusable for the certificate (signed
 * by another key, say) stays an error: that is no CA without a CRL.
 */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    !crl_loaded_for(ctx))
		return 1;
	return ok;
}

/* The intermediates, each bounded like the end-entity certificate. */
static int parse_untrusted(const struct ike_der *der, size_t n, STACK_OF(X509) *out,
			   const char **why)
{
	for (size_t i = 0; i < n; i++) {
		struct ike_cert *c = ike_cert_parse(der[i].p, der[i].len, why);

		if (!c)
			return -EINVAL;
		if (!sk_X509_push(out, c->x)) {
			ike_cert_free(c);
			return cert_fail(why, "out of memory", -ENOMEM);
		}
		OPENSSL_free(c); /* the stack owns the X509 now */
	}
	return 0;
}

/* The DER of the validated chain's element 1 (the end-entity's issuer) into *der. */
static int chain_issuer(X509_STORE_CTX *ctx, struct ike_blob *der, const char **why)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	unsigned char *p = NULL;
	int n;

	/* An end-entity trusted as itself has no issuer to ask about: none given. */
	if (!chain || sk_X509_num(chain) < 2)
		return 0;
	n = i2d_X509(sk_X509_value(chain, 1), &p);
	if (n <= 0)
		return cert_fail(why, "out of memory", -ENOMEM);
	der->p = malloc((size_t)n);
	if (!der->p) {
		OPENSSL_free(p);
		return cert_fail(why, "out of memory", -ENOMEM);
	}
	memcpy(der->p, p, (size_t)n);
	der->len = (size_t)n;
	OPENSSL_free(p);
	return 0;
}

static int verify_chain(const struct ike_trust *t, X509 *ee, STACK_OF(X509) *untrusted,
			time_t now, struct ike_blob *issuer, const char **why)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int ret = 0;

	if (!ctx || !X509_STORE_CTX_init(ctx, t->store, ee, untrusted)) {
		X509_STORE_CTX_free(ctx);
		return cert_fail(why, "out of memory", -ENOMEM);
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_depth(param, IKE_CHAIN_MAX);
	X509_VERIFY_PARAM_set_auth_level(param, 2);
	if (t->n_crl)
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK |
							   X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1)
		ret = verify_fail(X509_STORE_CTX_get_error(ctx), why);
	else if (issuer)
		ret = chain_issuer(ctx, issuer, why);
	X509_STORE_CTX_free(ctx);
	return ret;
}

/* The extended key usages accepted; see the top of this file. */
static bool eku_ok(int nid, enum ike_cert_purpose purpose)
{
	switch (nid) {
	case NID_anyExtendedKeyUsage:
	case NID_ipsec_IKE:
		return true;
	case NID_server_auth:
		return purpose != IKE_PURPOSE_CLIENT;
	case NID_client_auth:
		return purpose != IKE_PURPOSE_SERVER;
	default:
		return false;
	}
}

static int eku_check(X509 *x, enum ike_cert_purpose purpose, const char **why)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	bool ok = false;

	if (!eku)
		return cert_fail(why, "malformed extended key usage", -EKEYREJECTED);
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && !ok; i++)
		ok = eku_ok(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)), purpose);
	EXTENDED_KEY_USAGE_free(eku);
	if (!ok)
		return cert_fail(why, "extended key usage does not allow IKE", -EKEYREJECTED);
	return 0;
}

static int usage_check(X509 *x, enum ike_cert_purpose purpose, const char **why)
{
	uint32_t flags = X509_get_extension_flags(x);

	/* RFC 4945 section 5.1.3.2: digitalSignature or nonRepudiation. */
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
		return cert_fail(why, "key usage does not allow signatures (digitalSignature)",
				 -EKEYREJECTED);
	if (flags & EXFLAG_XKUSAGE)
		return eku_check(x, purpose, why);
	return 0;
}

int ike_trust_validate(const struct ike_trust *t, const struct ike_cert *ee,
		       const struct ike_der *intermediates, size_t n, time_t now,
		       enum ike_cert_purpose purpose, const char **why)
{
	return ike_trust_validate_issuer(t, ee, intermediates, n, now, purpose, NULL, why);
}

int ike_trust_validate_issuer(const struct ike_trust *t, const struct ike_cert *ee,
			      const struct ike_der *intermediates, size_t n, time_t now,
			      enum ike_cert_purpose purpose, struct ike_blob *issuer,
			      const char **why)
{
	STACK_OF(X509) *untrusted;
	EVP_PKEY *pub;
	int ret = cert_peer_key(ee, &pub, why);

	if (ret)
		return ret;
	/* Each one costs a parse and a signature check: bound them first. */
	if (n > IKE_CHAIN_MAX)
		return cert_fail(why, "chain too long", -EKEYREJECTED);
	untrusted = sk_X509_new_null();
	if (!untrusted)
		return cert_fail(why, "out of memory", -ENOMEM);
	ret = parse_untrusted(intermediates, n, untrusted, why);
	if (!ret)
		ret = verify_chain(t, ee->x, untrusted, now, issuer, why);
	if (!ret)
		ret = usage_check(ee->x, purpose, why);
	if (ret && issuer) {
		free(issuer->p);
		*issuer = (struct ike_blob){ 0 };
	}
	sk_X509_pop_free(untrusted, X509_free);
	ERR_clear_error();
	return ret;
}
