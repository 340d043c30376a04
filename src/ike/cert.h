/* SPDX-License-Identifier: ISC */
/*
 * Certificates and signatures for IKE_AUTH over OpenSSL 3 (EVP_PKEY, X509,
 * X509_STORE): our credential, the CAs we trust, the peer's certificate,
 * the binding of an IKE ID to a certificate, CERTREQ contents, and the AUTH
 * data of the signature methods (RFC 7427 method 14, RFC 7296 method 1,
 * RFC 4754 methods 9/10/11).  No file I/O: the daemon reads the files and
 * passes their bytes; PEM and DER are both accepted from memory.
 *
 * API, for whoever wires this into IKE_AUTH:
 *
 *   our side
 *     ike_cred_new            private key (PEM/DER, PKCS#8 or traditional);
 *                             weak keys refused; encrypted keys refused
 *     ike_cred_add_certs      certificates (PEM, one or several; or one DER):
 *                             the first is the end-entity certificate and
 *                             must match the key, later ones intermediates
 *                             (self-signed ones only serve CERTREQ matching)
 *     ike_cred_cert           DER of certificate i for CERT payloads:
 *                             0 the end-entity, then the intermediates
 *     ike_cred_certreq_match  does the peer's CERTREQ name a CA of our chain
 *     ike_auth_sign           AUTH data for the peer's hash list: method 14
 *                             when it sent SIGNATURE_HASH_ALGORITHMS, else
 *                             ECDSA 9/10/11
 *     ike_cred_hold, ike_cred_free  references; the last frees the key
 *                             (EVP_PKEY_free clears it)
 *   trust
 *     ike_trust_new, ike_trust_add_ca, ike_trust_add_crl, ike_trust_free
 *     ike_trust_certreq       CERTREQ data: SHA-1 of each CA's SPKI (once
 *                             each); ike_trust_ca_count how many CAs
 *     ike_trust_validate      the peer's certificate and intermediates at
 *                             a given time: chain, validity, CRLs, name
 *                             constraints, key usage and extended key usage
 *   the peer
 *     ike_cert_parse          CERT payload data (X.509, encoding 4), DER
 *     ike_cert_has_id         is the peer's IKE ID bound to the certificate
 *     ike_auth_verify         the peer's AUTH data against its certificate
 *     ike_cert_free
 *   names and notifies
 *     ike_id_matches          a configured remote-id (with a leading "*."
 *                             or "*@" wildcard) against the peer's ID
 *     ike_certreq_parse       check a CERTREQ's CA list (20-octet hashes)
 *     ike_sig_hashes_build    our SIGNATURE_HASH_ALGORITHMS notify data
 *     ike_sig_hashes_parse    the peer's, as a mask of IKEV2_HASH_BIT()s
 *
 * Typical use: responder and initiator both send SIGNATURE_HASH_ALGORITHMS
 * in IKE_SA_INIT (ike_sig_hashes_build) and keep the peer's mask; IKE_AUTH
 * carries CERT payloads from ike_cred_cert and AUTH from ike_auth_sign; on
 * receipt: ike_cert_parse the first CERT, ike_trust_validate with the
 * others, ike_cert_has_id with IDi/IDr, ike_id_matches with the configured
 * remote-id, then ike_auth_verify over the signed octets (RFC 7296 2.15).
 *
 * Errors are negative errno values, and *why (when why is not NULL)
 * receives a static string the caller may log: -EINVAL malformed input,
 * -ENOTSUP an algorithm or key type refused, -EKEYREJECTED a key or
 * certificate refused (weak key, unknown CA, usage), -EKEYEXPIRED outside
 * its validity, -EKEYREVOKED revoked, -EBADMSG a signature that does not
 * verify, -ENOENT not found / no match, -ENOSPC buffer too small, -ENOMEM,
 * -EIO an OpenSSL failure.  Nothing secret is logged or put in *why.
 */
#ifndef IKE_CERT_H
#define IKE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ike/ike.h"
#include "ike/ikev2.h"

/* What we announce and accept: SHA-2 and Identity; SHA-1 never. */
#define IKE_SIG_HASHES_OURS                                                     \
	(IKEV2_HASH_BIT(IKEV2_HASH_SHA2_256) | IKEV2_HASH_BIT(IKEV2_HASH_SHA2_384) | \
	 IKEV2_HASH_BIT(IKEV2_HASH_SHA2_512) | IKEV2_HASH_BIT(IKEV2_HASH_IDENTITY))

#define IKE_CERT_DER_MAX 16384  /* a peer's certificate, DER */
#define IKE_CHAIN_MAX 8         /* intermediates in a chain, either side */
#define IKE_CRED_BLOB_MAX (1u << 20) /* a key, certificate or CRL file */
#define IKE_CERTREQ_HASH_LEN 20 /* SHA-1, RFC 7296 section 3.7 */
/* AUTH data: length octet, AlgorithmIdentifier, RSA-16384 signature. */
#define IKE_AUTH_SIG_MAX (1 + 255 + 2048)

struct ike_cred;
struct ike_trust;
struct ike_cert;

/* One DER object in a buffer the caller owns. */
struct ike_der {
	const uint8_t *p;
	size_t len;
};

/* DER octets of one's own (malloc'd: free(p)). */
struct ike_blob {
	uint8_t *p;
	size_t len;
};

/* --- our credential ---------------------------------------------------- */

int ike_cred_new(const uint8_t *key, size_t len, struct ike_cred **out, const char **why);
/* On an error the credential may hold part of the blob: free it. */
int ike_cred_add_certs(struct ike_cred *c, const uint8_t *blob, size_t len, const char **why);
/* Certificate i (0: end-entity) to send, NULL past the last one. */
const uint8_t *ike_cred_cert(const struct ike_cred *c, size_t i, size_t *len);
/* True if hashes (a CERTREQ's CA list) names a CA certificate of our chain. */
bool ike_cred_certreq_match(const struct ike_cred *c, const uint8_t *hashes, size_t len);
/*
 * A credential and a trust are counted: ike_*_new gives one reference,
 * ike_*_hold takes another (the engine holds one per connection, until
 * its last SA is gone), ike_*_free drops one and frees at the last.
 */
void ike_cred_hold(const struct ike_cred *c);
void ike_cred_free(const struct ike_cred *c);

/* ike_auth_sign flags */
#define IKE_SIGN_RSA_PKCS1 0x1 /* RSA: PKCS#1 v1.5 instead of RSASSA-PSS */

/*
 * Sign `octets` (RFC 7296 section 2.15) for a peer whose
 * SIGNATURE_HASH_ALGORITHMS gave peer_hashes (0: it sent none).  With a
 * common hash: method 14, AUTH data = length | AlgorithmIdentifier |
 * signature (RFC 7427 section 3).  Without: ECDSA keys use their RFC 4754
 * method, other keys fail with -ENOTSUP (method 1 means SHA-1: never
 * signed).  *len: in the size of out (IKE_AUTH_SIG_MAX is always enough),
 * out the bytes written.
 */
int ike_auth_sign(const struct ike_cred *c, uint32_t peer_hashes, unsigned flags,
		  const uint8_t *octets, size_t olen, uint8_t *method, uint8_t *out,
		  size_t *len, const char **why);

/* --- trust ------------------------------------------------------------- */

enum ike_cert_purpose {
	IKE_PURPOSE_ANY,    /* the peer's role is not known */
	IKE_PURPOSE_SERVER, /* the peer is the gateway we connect to */
	IKE_PURPOSE_CLIENT, /* the peer is a remote-access client */
};

struct ike_trust *ike_trust_new(void);
/* CA certificates (PEM, one or several; or one DER); each must be a CA. */
int ike_trust_add_ca(struct ike_trust *t, const uint8_t *blob, size_t len, const char **why);
/* CRLs (PEM or DER).  A CA with a CRL loaded has its certificates checked
 * against it; a CA without one is not checked. */
int ike_trust_add_crl(struct ike_trust *t, const uint8_t *blob, size_t len, const char **why);
/* CERTREQ data: 20 octets per CA; *len in: size of out, out: written. */
int ike_trust_certreq(const struct ike_trust *t, uint8_t *out, size_t *len);
size_t ike_trust_ca_count(const struct ike_trust *t);
void ike_trust_hold(const struct ike_trust *t);
void ike_trust_free(const struct ike_trust *t);

/*
 * Validate the peer's end-entity certificate with up to IKE_CHAIN_MAX
 * intermediates (DER, any order) at time `now`.  0 when it chains to a CA
 * of t; the checks and the extended key usages accepted are described in
 * cert_chain.c.
 */
int ike_trust_validate(const struct ike_trust *t, const struct ike_cert *ee,
		       const struct ike_der *intermediates, size_t n, time_t now,
		       enum ike_cert_purpose purpose, const char **why);
/*
 * The same, and on success the DER of the certificate that issued ee in
 * the validated chain (what an OCSP request names) into *issuer, to be
 * freed by the caller; empty when the chain has none (ee trusted as
 * itself), and on any error.
 */
int ike_trust_validate_issuer(const struct ike_trust *t, const struct ike_cert *ee,
			      const struct ike_der *intermediates, size_t n, time_t now,
			      enum ike_cert_purpose purpose, struct ike_blob *issuer,
			      const char **why);

/* --- the peer's certificate -------------------------------------------- */

struct ike_cert *ike_cert_parse(const uint8_t *der, size_t len, const char **why);
void ike_cert_free(struct ike_cert *c);
/* Its DER into *der (malloc'd). 0 or -ENOMEM. */
int ike_cert_der(const struct ike_cert *c, struct ike_blob *der);

/*
 * 0 if the ID is the certificate's (subjectAltName iPAddress, dNSName,
 * rfc822Name, or the subject DN), -ENOENT if not, -ENOTSUP for an ID
 * type that no certificate binds, -EINVAL for a malformed DN.
 */
int ike_cert_has_id(const struct ike_cert *c, const struct ike_id *id);

/*
 * The peer's AUTH data (after the 4-octet header) of `method` against the
 * public key of its (validated) certificate.  0 when it verifies.
 */
int ike_auth_verify(const struct ike_cert *peer, uint8_t method, const uint8_t *auth,
		    size_t alen, const uint8_t *octets, size_t olen, const char **why);

/* --- what is loaded (cert_info.c) ----------------------------------------- */

/* Where a certificate or CRL sits in a credential or a trust. */
enum ike_cert_role {
	IKE_CERT_OWN,          /* our end-entity certificate */
	IKE_CERT_INTERMEDIATE, /* sent with it */
	IKE_CERT_CA,           /* a trusted CA */
	IKE_CERT_CRL,          /* a CRL: not_before thisUpdate, not_after nextUpdate */
	IKE_CERT_PEER,         /* a peer's, as it came in a CERT payload */
};

struct ike_cert_info {
	enum ike_cert_role role;
	char subject[256], issuer[256]; /* RFC 2253 strings, cut to fit */
	char serial[96];                /* hex, colon-separated; "" for a CRL */
	char key_type[16];              /* "RSA", "EC", "ED25519", ...; "" for a CRL */
	unsigned key_bits;
	int64_t not_before, not_after;  /* seconds since the epoch; not_after -1: none */
	uint8_t sha256[32];             /* of the DER */
	char ocsp_uri[128];             /* its first http:// OCSP responder (AIA), "" none */
};

/* f(ctx, info) for our certificates: the end-entity, then the intermediates. */
void ike_cred_visit(const struct ike_cred *c,
		    void (*f)(void *ctx, const struct ike_cert_info *info), void *ctx);
/* A peer's certificate (role IKE_CERT_PEER): 0, or -EINVAL if it does not parse. */
int ike_cert_der_info(const struct ike_der *der, struct ike_cert_info *info);
/* f(ctx, info) for every CA certificate and CRL of a trust. */
void ike_trust_visit(const struct ike_trust *t,
		     void (*f)(void *ctx, const struct ike_cert_info *info), void *ctx);

/* --- names and notifies ------------------------------------------------- */

/* The rules are in cert_id.c. */
bool ike_id_matches(const struct ike_id *pattern, const struct ike_id *id);

/* The number of hashes in a CERTREQ's CA list, -EINVAL if it is not whole. */
int ike_certreq_parse(const uint8_t *data, size_t len, size_t *n);

/* Notify data: 2 octets per hash; *len in: size of out, out: written. */
int ike_sig_hashes_build(uint8_t *out, size_t *len);
/* Unknown values are skipped; -EINVAL for an odd length or no value. */
int ike_sig_hashes_parse(const uint8_t *data, size_t len, uint32_t *mask);

#endif
