/* SPDX-License-Identifier: ISC */
/*
 * SA proposals (RFC 7296 sections 2.7 and 3.3): the proposal syntax of the
 * configuration, responder selection and the initiator's check of the
 * responder's choice.  Pure functions over struct ike_proposal; which
 * algorithms the crypto code implements is not this file's business.
 */
#include "proposal.h"
#include "ikev2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KW_AEAD 0x01

struct keyword {
	const char *name;
	uint8_t type;
	uint16_t id;
	uint16_t keybits;
	uint8_t flags;
	uint16_t prf; /* integrity only: the PRF it implies for IKE */
};

/*
 * Where a transform has several names, the first one listed is what
 * ike_suite_str() prints, so that its output parses back to the same suite.
 */
static const struct keyword keywords[] = {
	{ "aes128", IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 128, 0, 0 },
	{ "aes192", IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 192, 0, 0 },
	{ "aes256", IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, 256, 0, 0 },
	{ "aes128gcm16", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 128, KW_AEAD, 0 },
	{ "aes192gcm16", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 192, KW_AEAD, 0 },
	{ "aes256gcm16", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 256, KW_AEAD, 0 },
	{ "aes128gcm128", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 128, KW_AEAD, 0 },
	{ "aes192gcm128", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 192, KW_AEAD, 0 },
	{ "aes256gcm128", IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 256, KW_AEAD, 0 },
	{ "chacha20poly1305", IKEV2_XF_ENCR, IKEV2_ENCR_CHACHA20_POLY1305, 0, KW_AEAD, 0 },
	{ "sha256", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_256_128, 0, 0, IKEV2_PRF_HMAC_SHA2_256 },
	{ "sha384", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_384_192, 0, 0, IKEV2_PRF_HMAC_SHA2_384 },
	{ "sha512", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_512_256, 0, 0, IKEV2_PRF_HMAC_SHA2_512 },
	{ "sha2_256", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_256_128, 0, 0, IKEV2_PRF_HMAC_SHA2_256 },
	{ "sha2_384", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_384_192, 0, 0, IKEV2_PRF_HMAC_SHA2_384 },
	{ "sha2_512", IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_512_256, 0, 0, IKEV2_PRF_HMAC_SHA2_512 },
	{ "prfsha256", IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_256, 0, 0, 0 },
	{ "prfsha384", IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_384, 0, 0, 0 },
	{ "prfsha512", IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_512, 0, 0, 0 },
	{ "modp2048", IKEV2_XF_DH, IKEV2_DH_MODP_2048, 0, 0, 0 },
	{ "modp3072", IKEV2_XF_DH, IKEV2_DH_MODP_3072, 0, 0, 0 },
	{ "modp4096", IKEV2_XF_DH, IKEV2_DH_MODP_4096, 0, 0, 0 },
	{ "ecp256", IKEV2_XF_DH, IKEV2_DH_ECP_256, 0, 0, 0 },
	{ "ecp384", IKEV2_XF_DH, IKEV2_DH_ECP_384, 0, 0, 0 },
	{ "ecp521", IKEV2_XF_DH, IKEV2_DH_ECP_521, 0, 0, 0 },
	{ "x25519", IKEV2_XF_DH, IKEV2_DH_CURVE25519, 0, 0, 0 },
	{ "curve25519", IKEV2_XF_DH, IKEV2_DH_CURVE25519, 0, 0, 0 },
	{ "x448", IKEV2_XF_DH, IKEV2_DH_CURVE448, 0, 0, 0 },
	{ "curve448", IKEV2_XF_DH, IKEV2_DH_CURVE448, 0, 0, 0 },
	{ "esn", IKEV2_XF_ESN, IKEV2_ESN_YES, 0, 0, 0 },
	{ "noesn", IKEV2_XF_ESN, IKEV2_ESN_NO, 0, 0, 0 },
};

#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* --- Parsing --------------------------------------------------------- */

struct parse_ctx {
	struct ike_proposal *p;
	unsigned num;
	char *err;
	size_t errlen;
	const struct keyword *first_encr; /* named when integrity is missing */
	bool aead, classic;               /* kinds of encryption seen */
	uint8_t n_type[IKEV2_XF_MAX + 1];
	uint16_t implied_prf[IKE_MAX_XFORMS];
	size_t n_implied;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const struct keyword *keyword_find(const char *s, size_t len)
{
	for (size_t i = 0; i < N_KEYWORDS; i++)
		if (strlen(keywords[i].name) == len && memcmp(keywords[i].name, s, len) == 0)
			return &keywords[i];
	return NULL;
}

static bool xform_eq(const struct ike_xform *a, const struct ike_xform *b)
{
	return a->type == b->type && a->id == b->id && a->keybits == b->keybits;
}

static bool proposal_has(const struct ike_proposal *p, const struct ike_xform *x)
{
	for (size_t i = 0; i < p->n_xforms; i++)
		if (xform_eq(&p->xf[i], x))
			return true;
	return false;
}

static bool proposal_add(struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t keybits)
{
	if (p->n_xforms >= IKE_MAX_XFORMS)
		return false;
	p->xf[p->n_xforms++] = (struct ike_xform){ type, id, keybits };
	return true;
}

/* Encryption keywords: AEAD and classic ciphers never share a proposal. */
static int check_encr(struct parse_ctx *c, const struct keyword *k, const char *s, size_t len)
{
	bool aead = k->flags & KW_AEAD;

	/*
	 * Section 3.3: an initiator offering combined-mode and normal
	 * ciphers must put them in separate proposals, since INTEG applies
	 * to one and not the other.
	 */
	if ((aead && c->classic) || (!aead && c->aead))
		return fail(c->err, c->errlen,
			    "'%.*s' mixes AEAD and non-AEAD encryption in proposal %u", (int)len, s,
			    c->num);
	if (aead && c->n_type[IKEV2_XF_INTEG])
		return fail(c->err, c->errlen,
			    "AEAD algorithm '%.*s' with integrity algorithms in proposal %u",
			    (int)len, s, c->num);
	c->aead |= aead;
	c->classic |= !aead;
	if (!c->first_encr)
		c->first_encr = k;
	return 0;
}

/* Restrictions that depend on the keyword's type and the protocol. */
static int check_type(struct parse_ctx *c, const struct keyword *k, const char *s, size_t len)
{
	switch (k->type) {
	case IKEV2_XF_ENCR:
		return check_encr(c, k, s, len);
	case IKEV2_XF_INTEG:
		/*
		 * Section 3.3: combined-mode ciphers offer no integrity
		 * algorithm (or NONE); they carry their own ICV.
		 */
		if (c->aead)
			return fail(c->err, c->errlen,
				    "integrity algorithm '%.*s' with AEAD in proposal %u", (int)len,
				    s, c->num);
		return 0;
	case IKEV2_XF_PRF:
		/* Child SAs take their keys from SK_d with the IKE SA's PRF. */
		if (c->p->protocol != IKEV2_PROTO_IKE)
			return fail(c->err, c->errlen,
				    "'%.*s' is only valid for IKE in proposal %u", (int)len, s,
				    c->num);
		return 0;
	case IKEV2_XF_ESN:
		/* Section 3.3.2: ESN is a transform of ESP and AH only. */
		if (c->p->protocol != IKEV2_PROTO_ESP)
			return fail(c->err, c->errlen,
				    "'%.*s' is only valid for ESP in proposal %u", (int)len, s,
				    c->num);
		return 0;
	default:
		return 0;
	}
}

static int add_keyword(struct parse_ctx *c, const char *s, size_t len)
{
	const struct keyword *k;
	struct ike_xform x;
	int rc;

	if (len == 0)
		return fail(c->err, c->errlen, "empty algorithm in proposal %u", c->num);
	k = keyword_find(s, len);
	if (!k)
		return fail(c->err, c->errlen, "unknown algorithm '%.*s' in proposal %u", (int)len,
			    s, c->num);
	rc = check_type(c, k, s, len);
	if (rc)
		return rc;
	x = (struct ike_xform){ k->type, k->id, k->keybits };
	/* A transform listed twice is a typo or two names for one thing. */
	if (proposal_has(c->p, &x))
		return fail(c->err, c->errlen, "duplicate algorithm '%.*s' in proposal %u",
			    (int)len, s, c->num);
	if (!proposal_add(c->p, x.type, x.id, x.keybits))
		return fail(c->err, c->errlen, "too many algorithms at '%.*s' in proposal %u",
			    (int)len, s, c->num);
	c->n_type[k->type]++;
	if (k->type == IKEV2_XF_INTEG && c->p->protocol == IKEV2_PROTO_IKE)
		c->implied_prf[c->n_implied++] = k->prf;
	return 0;
}

/* Wire order: ENCR, PRF, INTEG, DH, ESN; keep the written order within a type. */
static void sort_by_type(struct ike_proposal *p)
{
	for (size_t i = 1; i < p->n_xforms; i++) {
		struct ike_xform x = p->xf[i];
		size_t j = i;

		for (; j > 0 && p->xf[j - 1].type > x.type; j--)
			p->xf[j] = p->xf[j - 1];
		p->xf[j] = x;
	}
}

/*
 * A non-AEAD IKE proposal without prf* uses the PRFs matching its
 * integrity algorithms, in the same order, as the common proposal syntax
 * does.
 */
static int add_implied_prfs(struct parse_ctx *c)
{
	for (size_t i = 0; i < c->n_implied; i++) {
		if (!proposal_add(c->p, IKEV2_XF_PRF, c->implied_prf[i], 0))
			return fail(c->err, c->errlen, "too many algorithms in proposal %u",
				    c->num);
		c->n_type[IKEV2_XF_PRF]++;
	}
	return 0;
}

/* Checks that need the whole proposal, and the defaults. */
static int finish_proposal(struct parse_ctx *c)
{
	bool ike = c->p->protocol == IKEV2_PROTO_IKE;
	int rc;

	/* Section 3.3.3: ENCR is mandatory for IKE and ESP. */
	if (!c->n_type[IKEV2_XF_ENCR])
		return fail(c->err, c->errlen, "no encryption algorithm in proposal %u", c->num);
	/*
	 * Section 3.3.3: INTEG is mandatory for a non-AEAD IKE SA; ESP with
	 * encryption but no integrity is NOT RECOMMENDED (RFC 8221) and we
	 * never offer it.
	 */
	if (c->classic && !c->n_type[IKEV2_XF_INTEG])
		return fail(c->err, c->errlen, "'%s' needs an integrity algorithm in proposal %u",
			    c->first_encr->name, c->num);
	if (ike && !c->n_type[IKEV2_XF_PRF]) {
		rc = add_implied_prfs(c);
		if (rc)
			return rc;
	}
	/* Section 3.3.3: PRF and D-H are mandatory for IKE. */
	if (ike && !c->n_type[IKEV2_XF_PRF])
		return fail(c->err, c->errlen, "no prf algorithm in proposal %u", c->num);
	if (ike && !c->n_type[IKEV2_XF_DH])
		return fail(c->err, c->errlen, "no DH group in proposal %u", c->num);
	/* Section 3.3.3: ESN is mandatory for ESP; say no unless asked. */
	if (!ike && !c->n_type[IKEV2_XF_ESN] &&
	    !proposal_add(c->p, IKEV2_XF_ESN, IKEV2_ESN_NO, 0))
		return fail(c->err, c->errlen, "too many algorithms in proposal %u", c->num);
	sort_by_type(c->p);
	return 0;
}

static int parse_one(const char *s, size_t len, uint8_t protocol, unsigned num,
		     struct ike_proposal *p, char *err, size_t errlen)
{
	struct parse_ctx c = { .p = p, .num = num, .err = err, .errlen = errlen };
	const char *end = s + len;
	int rc;

	memset(p, 0, sizeof(*p));
	p->num = (uint8_t)num;
	p->protocol = protocol;
	if (len == 0)
		return fail(err, errlen, "empty proposal %u", num);
	for (;;) {
		const char *dash = memchr(s, '-', (size_t)(end - s));
		const char *kend = dash ? dash : end;

		rc = add_keyword(&c, s, (size_t)(kend - s));
		if (rc)
			return rc;
		if (!dash)
			break;
		s = dash + 1;
	}
	return finish_proposal(&c);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int ike_proposals_parse(const char *str, uint8_t protocol, struct ike_proposal *out, size_t max,
			char *err, size_t errlen)
{
	size_t count = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!str)
		return fail(err, errlen, "no proposals");
	if (protocol != IKEV2_PROTO_IKE && protocol != IKEV2_PROTO_ESP)
		return fail(err, errlen, "proposals for protocol %u are not supported", protocol);
	for (const char *s = str;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		int rc;

		while (len && is_blank(*s)) {
			s++;
			len--;
		}
		while (len && is_blank(s[len - 1]))
			len--;
		/* Section 3.3.1: proposal numbers are one octet. */
		if (count >= max || count >= UINT8_MAX)
			return fail(err, errlen, "too many proposals (at most %zu)",
				    max < UINT8_MAX ? max : UINT8_MAX);
		rc = parse_one(s, len, protocol, (unsigned)count + 1, &out[count], err, errlen);
		if (rc)
			return rc;
		count++;
		if (!comma)
			break;
		s = comma + 1;
	}
	return (int)count;
}

/* --- Selection ------------------------------------------------------- */

/* The transforms of one type, in the proposal's order of preference. */
struct xf_list {
	struct ike_xform xf[IKE_MAX_XFORMS];
	size_t n;
};

/*
 * Section 3.3.3: INTEG (with AEAD) and D-H (for ESP) are optional, and a
 * proposal without them offers NONE; so absence on one side and NONE on
 * the other agree, and both collect as a single NONE transform.
 */
static void collect(const struct ike_proposal *p, uint8_t type, struct xf_list *l)
{
	size_t n = p->n_xforms < IKE_MAX_XFORMS ? p->n_xforms : IKE_MAX_XFORMS;

	l->n = 0;
	for (size_t i = 0; i < n; i++)
		if (p->xf[i].type == type)
			l->xf[l->n++] = p->xf[i];
	if (l->n == 0 && (type == IKEV2_XF_INTEG || type == IKEV2_XF_DH))
		l->xf[l->n++] = (struct ike_xform){ type, 0, 0 };
}

static size_t count_type(const struct ike_proposal *p, uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_xforms && i < IKE_MAX_XFORMS; i++)
		n += p->xf[i].type == type;
	return n;
}

static bool list_has(const struct xf_list *l, const struct ike_xform *x)
{
	for (size_t i = 0; i < l->n; i++)
		if (xform_eq(&l->xf[i], x))
			return true;
	return false;
}

/*
 * A proposal the wire parser did not mark unusable may still hold a type
 * we do not know if it was built by hand; such a proposal is never chosen
 * (section 3.3.6).
 */
static bool types_known(const struct ike_proposal *p)
{
	if (p->n_xforms > IKE_MAX_XFORMS)
		return false;
	for (size_t i = 0; i < p->n_xforms; i++)
		if (p->xf[i].type < IKEV2_XF_ENCR || p->xf[i].type > IKEV2_XF_MAX)
			return false;
	return true;
}

static void suite_set(struct ike_suite *s, const struct ike_xform *x)
{
	switch (x->type) {
	case IKEV2_XF_ENCR:
		s->encr = x->id;
		s->encr_keybits = x->keybits;
		break;
	case IKEV2_XF_PRF: s->prf = x->id; break;
	case IKEV2_XF_INTEG: s->integ = x->id; break;
	case IKEV2_XF_DH: s->dh = x->id; break;
	case IKEV2_XF_ESN: s->esn = x->id; break;
	default: break;
	}
}

/*
 * Our most preferred transform of one type that the peer also offers; for
 * D-H the group of the peer's KE payload first, which spares the
 * INVALID_KE_PAYLOAD round trip of section 1.2.  A type neither side has
 * (ESN of a hand-built ESP proposal) agrees on 0.
 */
static bool pick(const struct xf_list *ours, const struct xf_list *theirs, uint8_t type,
		 uint16_t ke_group, struct ike_xform *out)
{
	struct ike_xform ke = { IKEV2_XF_DH, ke_group, 0 };

	*out = (struct ike_xform){ type, 0, 0 };
	if (ours->n == 0 && theirs->n == 0)
		return true;
	if (type == IKEV2_XF_DH && ke_group && list_has(ours, &ke) && list_has(theirs, &ke)) {
		*out = ke;
		return true;
	}
	for (size_t i = 0; i < ours->n; i++) {
		if (list_has(theirs, &ours->xf[i])) {
			*out = ours->xf[i];
			return true;
		}
	}
	return false;
}

static bool agree(const struct ike_proposal *ours, const struct ike_proposal *theirs,
		  uint16_t ke_group, bool no_dh, struct ike_suite *suite)
{
	struct xf_list a, b;
	struct ike_xform x;

	/* Section 3.3.6: a proposal with something we cannot parse is skipped. */
	if (theirs->unusable || !types_known(theirs) || !types_known(ours))
		return false;
	if (ours->protocol != theirs->protocol)
		return false;
	memset(suite, 0, sizeof(*suite));
	suite->protocol = ours->protocol;
	for (uint8_t t = IKEV2_XF_ENCR; t <= IKEV2_XF_MAX; t++) {
		/* Section 1.2: the first CHILD_SA has no KE of its own. */
		if (no_dh && t == IKEV2_XF_DH)
			continue;
		collect(ours, t, &a);
		collect(theirs, t, &b);
		if (!pick(&a, &b, t, ke_group, &x))
			return false;
		suite_set(suite, &x);
	}
	return true;
}

int ike_proposal_select(const struct ike_proposal *ours, size_t n_ours,
			const struct ike_proposal *theirs, size_t n_theirs, uint16_t ke_group,
			bool no_dh, struct ike_suite *suite, size_t *chosen)
{
	struct ike_suite s;

	for (size_t i = 0; i < n_ours; i++) {
		for (size_t j = 0; j < n_theirs; j++) {
			if (!agree(&ours[i], &theirs[j], ke_group, no_dh, &s))
				continue;
			if (suite)
				*suite = s;
			if (chosen)
				*chosen = j;
			return 0;
		}
	}
	return -ENOENT;
}

/* --- Initiator's check ---------------------------------------------- */

static const struct ike_proposal *find_offer(const struct ike_proposal *ours, size_t n_ours,
					     uint8_t num)
{
	for (size_t i = 0; i < n_ours; i++)
		if (ours[i].num == num)
			return &ours[i];
	return NULL;
}

/* One transform type of the reply against what we offered. */
static int check_reply_type(const struct ike_proposal *offer, const struct ike_proposal *reply,
			    uint8_t type, bool no_dh, struct ike_suite *s)
{
	struct xf_list offered, got;

	/* Section 3.3: the responder picks exactly one transform of each type. */
	if (count_type(reply, type) > 1)
		return -EINVAL;
	collect(reply, type, &got);
	/* Section 1.2: no D-H in the first CHILD_SA, NONE at most. */
	if (no_dh && type == IKEV2_XF_DH)
		return got.n && got.xf[0].id != IKEV2_DH_NONE ? -EINVAL : 0;
	collect(offer, type, &offered);
	/* A mandatory type we offered and the responder dropped. */
	if (got.n == 0)
		return offered.n ? -EINVAL : 0;
	/* A type, or a transform, we never offered. */
	if (!list_has(&offered, &got.xf[0]))
		return -EINVAL;
	suite_set(s, &got.xf[0]);
	return 0;
}

int ike_proposal_check_reply(const struct ike_proposal *ours, size_t n_ours,
			     const struct ike_proposal *reply, bool no_dh, struct ike_suite *suite)
{
	const struct ike_proposal *offer = find_offer(ours, n_ours, reply->num);
	struct ike_suite s = { 0 };

	/* The reply must answer one of our proposals, for the same protocol. */
	if (!offer || offer->protocol != reply->protocol)
		return -EINVAL;
	/* Something we could not parse cannot be what we offered. */
	if (reply->unusable || !types_known(reply))
		return -EINVAL;
	s.protocol = offer->protocol;
	for (uint8_t t = IKEV2_XF_ENCR; t <= IKEV2_XF_MAX; t++) {
		int rc = check_reply_type(offer, reply, t, no_dh, &s);

		if (rc)
			return rc;
	}
	if (suite)
		*suite = s;
	return 0;
}

/* --- Suites ---------------------------------------------------------- */

void ike_proposal_from_suite(const struct ike_suite *suite, uint8_t num, struct ike_proposal *out)
{
	memset(out, 0, sizeof(*out));
	out->num = num;
	out->protocol = suite->protocol;
	if (suite->encr)
		proposal_add(out, IKEV2_XF_ENCR, suite->encr, suite->encr_keybits);
	if (suite->protocol == IKEV2_PROTO_IKE && suite->prf)
		proposal_add(out, IKEV2_XF_PRF, suite->prf, 0);
	if (suite->integ)
		proposal_add(out, IKEV2_XF_INTEG, suite->integ, 0);
	if (suite->dh)
		proposal_add(out, IKEV2_XF_DH, suite->dh, 0);
	/* Section 3.3.3: ESN is mandatory in ESP proposals, "no" included. */
	if (suite->protocol == IKEV2_PROTO_ESP)
		proposal_add(out, IKEV2_XF_ESN, suite->esn, 0);
}

static const char *keyword_name(uint8_t type, uint16_t id, uint16_t keybits)
{
	for (size_t i = 0; i < N_KEYWORDS; i++)
		if (keywords[i].type == type && keywords[i].id == id &&
		    keywords[i].keybits == keybits)
			return keywords[i].name;
	return NULL;
}

static const char *const type_prefix[IKEV2_XF_MAX + 1] = {
	[IKEV2_XF_ENCR] = "encr", [IKEV2_XF_PRF] = "prf", [IKEV2_XF_INTEG] = "integ",
	[IKEV2_XF_DH] = "dh",     [IKEV2_XF_ESN] = "esn",
};

/* Append "-name" (no dash first); a truncated buffer stays terminated. */
static void append_xform(char *buf, size_t len, size_t *off, uint8_t type, uint16_t id,
			 uint16_t keybits)
{
	const char *name = keyword_name(type, id, keybits);
	const char *sep = *off ? "-" : "";
	int n;

	if (*off >= len - 1)
		return;
	if (name)
		n = snprintf(buf + *off, len - *off, "%s%s", sep, name);
	else if (keybits)
		n = snprintf(buf + *off, len - *off, "%s%s%u_%u", sep, type_prefix[type], id,
			     keybits);
	else
		n = snprintf(buf + *off, len - *off, "%s%s%u", sep, type_prefix[type], id);
	if (n < 0)
		return;
	*off += (size_t)n;
	if (*off >= len)
		*off = len - 1;
}

enum xk_enc ike_xk_enc(uint16_t encr)
{
	switch (encr) {
	case IKEV2_ENCR_AES_GCM_16: return XK_ENC_AES_GCM_16;
	case IKEV2_ENCR_CHACHA20_POLY1305: return XK_ENC_CHACHA20_POLY1305;
	case IKEV2_ENCR_AES_CBC: return XK_ENC_AES_CBC;
	}
	return XK_ENC_NONE;
}

enum xk_integ ike_xk_integ(uint16_t integ)
{
	switch (integ) {
	case IKEV2_AUTH_HMAC_SHA2_256_128: return XK_INTEG_HMAC_SHA256_128;
	case IKEV2_AUTH_HMAC_SHA2_384_192: return XK_INTEG_HMAC_SHA384_192;
	case IKEV2_AUTH_HMAC_SHA2_512_256: return XK_INTEG_HMAC_SHA512_256;
	}
	return XK_INTEG_NONE;
}

const char *ike_suite_str(const struct ike_suite *s, char *buf, size_t len)
{
	size_t off = 0;

	if (!buf || len == 0)
		return "";
	buf[0] = '\0';
	append_xform(buf, len, &off, IKEV2_XF_ENCR, s->encr, s->encr_keybits);
	if (s->integ)
		append_xform(buf, len, &off, IKEV2_XF_INTEG, s->integ, 0);
	if (s->prf)
		append_xform(buf, len, &off, IKEV2_XF_PRF, s->prf, 0);
	if (s->dh)
		append_xform(buf, len, &off, IKEV2_XF_DH, s->dh, 0);
	if (s->protocol == IKEV2_PROTO_ESP)
		append_xform(buf, len, &off, IKEV2_XF_ESN, s->esn, 0);
	return buf;
}
