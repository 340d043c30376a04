/* SPDX-License-Identifier: ISC */
/*
 * Identities and certificates: is the ID a peer sent bound to its
 * certificate (RFC 7296 section 3.5, RFC 4945 section 3.1), and does it
 * match the remote-id configured for the connection.
 *
 * Binding, by ID type (ike_cert_has_id):
 *   ID_IPV4_ADDR, ID_IPV6_ADDR   a subjectAltName iPAddress of equal octets
 *   ID_FQDN                      a subjectAltName dNSName equal ignoring
 *                                ASCII case; a wildcard in the certificate
 *                                ("*.example.com") is taken literally, and
 *                                the subject's CN is never consulted
 *                                (RFC 4945 section 3.1.3)
 *   ID_RFC822_ADDR               a subjectAltName rfc822Name equal ignoring
 *                                ASCII case (the whole address)
 *   ID_DER_ASN1_DN               the subject, compared by X509_NAME_cmp
 *                                (the canonical encodings: case and
 *                                spacing of string values do not matter)
 *   others (KEY_ID, DER_ASN1_GN) bound to no certificate
 *
 * Matching a configured remote-id (ike_id_matches):
 *   - type 0 (none configured) matches every ID;
 *   - otherwise the types must be equal, and
 *   - FQDN: equal ignoring ASCII case, or the pattern is "*." SUFFIX and
 *     the ID is exactly one more label in front of ".SUFFIX": "*.example.com"
 *     matches "gw.example.com", not "example.com", not "a.b.example.com";
 *   - RFC822: equal ignoring ASCII case, or the pattern is "*@" DOMAIN and
 *     the ID is a non-empty local part without '@' followed by "@DOMAIN";
 *   - DER_ASN1_DN: the same name by X509_NAME_cmp, no wildcards;
 *   - anything else: equal octets.
 *   A '*' anywhere else is an ordinary character.
 */
#include "cert_int.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ike/ikev2.h"

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool caseeq(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static bool name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, bool fold)
{
	if (alen != blen)
		return false;
	return fold ? caseeq(a, b, alen) : memcmp(a, b, alen) == 0;
}

/* One subjectAltName of `type` equal to the ID's octets. */
static int san_match(X509 *x, int type, const struct ike_id *id, bool fold)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ret = -ENOENT;

	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && ret; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int gtype;
		ASN1_STRING *s = GENERAL_NAME_get0_value(g, &gtype);

		if (gtype != type)
			continue;
		if (name_eq(ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), id->data,
			    id->len, fold))
			ret = 0;
	}
	GENERAL_NAMES_free(gens);
	return ret;
}

static X509_NAME *dn_decode(const struct ike_id *id)
{
	const unsigned char *q = id->data;
	X509_NAME *n = d2i_X509_NAME(NULL, &q, id->len);

	/* Trailing octets, or an empty name, identify nobody. */
	if (n && (q != id->data + id->len || X509_NAME_entry_count(n) == 0)) {
		X509_NAME_free(n);
		n = NULL;
	}
	ERR_clear_error();
	return n;
}

static int dn_match(X509 *x, const struct ike_id *id)
{
	X509_NAME *n = dn_decode(id);
	int ret;

	if (!n)
		return -EINVAL;
	ret = X509_NAME_cmp(n, X509_get_subject_name(x)) == 0 ? 0 : -ENOENT;
	X509_NAME_free(n);
	return ret;
}

int ike_cert_has_id(const struct ike_cert *c, const struct ike_id *id)
{
	switch (id->type) {
	case IKEV2_ID_IPV4_ADDR:
		return id->len == 4 ? san_match(c->x, GEN_IPADD, id, false) : -EINVAL;
	case IKEV2_ID_IPV6_ADDR:
		return id->len == 16 ? san_match(c->x, GEN_IPADD, id, false) : -EINVAL;
	case IKEV2_ID_FQDN:
		return san_match(c->x, GEN_DNS, id, true);
	case IKEV2_ID_RFC822_ADDR:
		return san_match(c->x, GEN_EMAIL, id, true);
	case IKEV2_ID_DER_ASN1_DN:
		return dn_match(c->x, id);
	default:
		return -ENOTSUP;
	}
}

/*
 * "*" SEP SUFFIX against ID: the ID ends in SEP SUFFIX (ignoring case) and
 * what comes before is non-empty and free of `forbid`.
 */
static bool wildcard_match(const struct ike_id *pat, const struct ike_id *id, char sep,
			   char forbid)
{
	size_t slen, plen;

	if (pat->len < 2 || pat->data[0] != '*' || pat->data[1] != sep)
		return false;
	slen = pat->len - 1; /* SEP SUFFIX */
	if (id->len <= slen)
		return false;
	plen = id->len - slen;
	if (!caseeq(id->data + plen, pat->data + 1, slen))
		return false;
	return memchr(id->data, forbid, plen) == NULL;
}

static bool dn_equal(const struct ike_id *a, const struct ike_id *b)
{
	X509_NAME *na = dn_decode(a), *nb = dn_decode(b);
	bool eq = na && nb && X509_NAME_cmp(na, nb) == 0;

	X509_NAME_free(na);
	X509_NAME_free(nb);
	return eq;
}

bool ike_id_matches(const struct ike_id *pattern, const struct ike_id *id)
{
	if (pattern->type == 0)
		return true;
	if (pattern->type != id->type)
		return false;
	switch (id->type) {
	case IKEV2_ID_FQDN:
		return name_eq(pattern->data, pattern->len, id->data, id->len, true) ||
		       wildcard_match(pattern, id, '.', '.');
	case IKEV2_ID_RFC822_ADDR:
		return name_eq(pattern->data, pattern->len, id->data, id->len, true) ||
		       wildcard_match(pattern, id, '@', '@');
	case IKEV2_ID_DER_ASN1_DN:
		return dn_equal(pattern, id);
	default:
		return name_eq(pattern->data, pattern->len, id->data, id->len, false);
	}
}
