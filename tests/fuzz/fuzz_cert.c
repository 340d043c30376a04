/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer: what a peer can send to the certificate layer (ike/cert.h),
 * against fixed credentials (cert_fixture.h).  The two low bits of byte 0
 * pick a mode:
 *
 *   0  AUTH data: byte 1 picks the peer's key (RSA, P-256, P-384, P-521,
 *      Ed25519, Ed448), byte 2 is the AUTH method, the rest the AUTH data,
 *      verified over FX_OCTETS (ike_auth_verify)
 *   1  CERT payloads: the rest is a list of [length (16 bits) | DER];
 *      the first is the end-entity certificate, the others intermediates.
 *      ike_cert_parse, then ike_trust_validate at CERTS_NOW (purpose from
 *      bits 2-3), ike_cert_has_id for a few IDs and the one in the input's
 *      tail, and ike_auth_verify of a fixed Ed25519 signature
 *   2  notify and CERTREQ data: the rest goes to ike_certreq_parse,
 *      ike_cred_certreq_match and ike_sig_hashes_parse; byte 1 splits it
 *      into a remote-id pattern and an ID for ike_id_matches, of the ID
 *      types in bits 2-7 (two 3-bit indices)
 *   3  CA and CRL files (the daemon's input rather than the peer's): the
 *      rest to ike_trust_add_ca (bit 2 clear) or ike_trust_add_crl
 */
#include <stdlib.h>
#include <string.h>

#include "cert_fixture.h"
#include "ike/ikev2.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cert_fixture fx;
static uint8_t ed_auth[IKE_AUTH_SIG_MAX];
static size_t ed_auth_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t method;

	(void)argc, (void)argv;
	cert_fixture_init(&fx);
	ed_auth_len = sizeof(ed_auth);
	if (ike_auth_sign(fx.creds[FX_ED25519], IKE_SIG_HASHES_OURS, 0,
			  (const uint8_t *)FX_OCTETS, strlen(FX_OCTETS), &method, ed_auth,
			  &ed_auth_len, NULL))
		abort();
	return 0;
}

static void auth_mode(const uint8_t *p, size_t n)
{
	if (n < 2)
		return;
	ike_auth_verify(fx.certs[p[0] % FX_KEYS], p[1], p + 2, n - 2,
			(const uint8_t *)FX_OCTETS, strlen(FX_OCTETS), NULL);
}

static const uint8_t id_types[8] = {
	IKEV2_ID_IPV4_ADDR, IKEV2_ID_FQDN, IKEV2_ID_RFC822_ADDR, IKEV2_ID_IPV6_ADDR,
	IKEV2_ID_DER_ASN1_DN, IKEV2_ID_KEY_ID, IKEV2_ID_DER_ASN1_GN, 0,
};

static struct ike_id id_of(uint8_t type, const uint8_t *p, size_t n)
{
	struct ike_id id = { .type = type, .len = (uint8_t)(n > 255 ? 255 : n) };

	memcpy(id.data, p, id.len);
	return id;
}

static void peer_checks(const struct ike_cert *c, const uint8_t *tail, size_t n)
{
	static const uint8_t v4[] = { 192, 0, 2, 7 };
	struct ike_id ids[] = {
		id_of(IKEV2_ID_FQDN, (const uint8_t *)"peer.example.com", 16),
		id_of(IKEV2_ID_IPV4_ADDR, v4, 4),
		id_of(IKEV2_ID_DER_ASN1_DN, tail, n),
		id_of(n ? id_types[tail[0] & 7] : 0, tail, n),
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ike_cert_has_id(c, &ids[i]);
	ike_auth_verify(c, IKEV2_AUTH_DIGITAL_SIGNATURE, ed_auth, ed_auth_len,
			(const uint8_t *)FX_OCTETS, strlen(FX_OCTETS), NULL);
}

static void cert_mode(uint8_t mode, const uint8_t *p, size_t n)
{
	struct ike_der der[IKE_CHAIN_MAX + 3];
	size_t k = 0, len;
	struct ike_cert *c;

	while (n >= 2 && k < sizeof(der) / sizeof(der[0])) {
		len = (size_t)p[0] << 8 | p[1];
		p += 2, n -= 2;
		if (len > n)
			len = n;
		der[k++] = (struct ike_der){ p, len };
		p += len, n -= len;
	}
	if (k == 0)
		return;
	c = ike_cert_parse(der[0].p, der[0].len, NULL);
	if (!c)
		return;
	ike_trust_validate(fx.trust, c, der + 1, k - 1, CERTS_NOW,
			   (enum ike_cert_purpose)((mode >> 2) % 3), NULL);
	peer_checks(c, p, n);
	ike_cert_free(c);
}

static void names_mode(uint8_t mode, const uint8_t *p, size_t n)
{
	size_t split, count;
	uint32_t mask;
	struct ike_id pat, id;

	ike_certreq_parse(p, n, &count);
	ike_cred_certreq_match(fx.creds[FX_P256], p, n);
	ike_sig_hashes_parse(p, n, &mask);
	if (n < 1)
		return;
	split = p[0] < n - 1 ? p[0] : n - 1;
	pat = id_of(id_types[(mode >> 2) & 7], p + 1, split);
	id = id_of(id_types[(mode >> 5) & 7], p + 1 + split, n - 1 - split);
	ike_id_matches(&pat, &id);
}

static void files_mode(uint8_t mode, const uint8_t *p, size_t n)
{
	struct ike_trust *t = ike_trust_new();

	if (!t)
		return;
	if (mode & 4)
		ike_trust_add_crl(t, p, n, NULL);
	else
		ike_trust_add_ca(t, p, n, NULL);
	ike_trust_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: auth_mode(data + 1, size - 1); break;
	case 1: cert_mode(data[0], data + 1, size - 1); break;
	case 2: names_mode(data[0], data + 1, size - 1); break;
	default: files_mode(data[0], data + 1, size - 1); break;
	}
	return 0;
}
