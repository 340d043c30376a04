/* SPDX-License-Identifier: ISC */
/*
 * SA proposals: the configuration syntax, responder selection (RFC 7296
 * section 2.7) and the initiator's check of the responder's choice.
 */
#include "ike/ikev2.h"
#include "ike/proposal.h"
#include "check.h"

#include <errno.h>

#define IKE IKEV2_PROTO_IKE
#define ESP IKEV2_PROTO_ESP

/*
 * Proposals as text, to compare against a table: one token per transform,
 * a letter for the type (E ENCR, P PRF, I INTEG, D DH, N ESN), the IANA ID
 * and "/keybits" when present; proposals separated by " | ".
 */
static const char *render(const struct ike_proposal *p, int n, char *buf, size_t len)
{
	static const char letter[] = "?EPIDN";
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < p[i].n_xforms; j++) {
			const struct ike_xform *x = &p[i].xf[j];
			const char *sep = j ? " " : i ? " | " : "";
			char kb[8] = "";

			if (x->keybits)
				snprintf(kb, sizeof(kb), "/%u", x->keybits);
			off += (size_t)snprintf(buf + off, len - off, "%s%c%u%s", sep,
						x->type <= 5 ? letter[x->type] : '?', x->id, kb);
			if (off >= len)
				return buf;
		}
	}
	return buf;
}

/* Parse a string the test knows to be valid. */
static int mk_n(const char *str, uint8_t proto, struct ike_proposal *out, size_t max)
{
	char err[128];
	int n = ike_proposals_parse(str, proto, out, max, err, sizeof(err));

	CHECK_MSG(n > 0, "'%s': %s", str, err);
	return n;
}

#define mk(str, proto, arr) mk_n(str, proto, arr, IKE_MAX_PROPOSALS)

/* Field by field: struct padding is not ours to compare. */
static bool suite_eq(const struct ike_suite *a, const struct ike_suite *b)
{
	return a->protocol == b->protocol && a->encr == b->encr &&
	       a->encr_keybits == b->encr_keybits && a->prf == b->prf && a->integ == b->integ &&
	       a->dh == b->dh && a->esn == b->esn;
}

static bool xforms_eq(const struct ike_proposal *a, const struct ike_proposal *b)
{
	if (a->n_xforms != b->n_xforms)
		return false;
	for (int i = 0; i < a->n_xforms; i++)
		if (a->xf[i].type != b->xf[i].type || a->xf[i].id != b->xf[i].id ||
		    a->xf[i].keybits != b->xf[i].keybits)
			return false;
	return true;
}

static const struct {
	const char *str;
	uint8_t proto;
	const char *want;
} parse_ok[] = {
	{ "aes128gcm16-prfsha256-x25519", IKE, "E20/128 P5 D31" },
	/* sha256 without prf* implies prfsha256 for IKE. */
	{ "aes256-sha256-modp2048", IKE, "E12/256 P5 I12 D14" },
	/* Implied PRFs follow the integrity algorithms' order. */
	{ "aes128-aes256-sha384-sha256-ecp256-modp3072", IKE,
	  "E12/128 E12/256 P6 P5 I13 I12 D19 D15" },
	/* An explicit prf* suppresses the implied ones. */
	{ "aes256-sha512-prfsha256-modp4096", IKE, "E12/256 P5 I14 D16" },
	/* Wire order by type whatever the written order, written order within. */
	{ "x25519-prfsha384-ecp521-chacha20poly1305", IKE, "E28 P6 D31 D21" },
	{ "aes256gcm128-aes192gcm16-prfsha512-curve448-x25519", IKE, "E20/256 E20/192 P7 D32 D31" },
	{ " aes128gcm16-prfsha256-x25519 ,aes256-sha2_256-modp2048 ", IKE,
	  "E20/128 P5 D31 | E12/256 P5 I12 D14" },
	{ "aes192-sha2_384-sha2_512-ecp384", IKE, "E12/192 P6 P7 I13 I14 D20" },
	/* ESP: noesn unless asked. */
	{ "aes128gcm16", ESP, "E20/128 N0" },
	{ "aes256-sha512-esn-noesn", ESP, "E12/256 I14 N1 N0" },
	/* ESP may carry DH groups for PFS in CREATE_CHILD_SA. */
	{ "aes128gcm16-ecp384", ESP, "E20/128 D20 N0" },
	{ "aes192-sha384, chacha20poly1305-esn", ESP, "E12/192 I13 N0 | E28 N1" },
};

static const struct {
	const char *str;
	uint8_t proto;
	const char *want; /* must appear in the error message */
} parse_bad[] = {
	{ "aes129-sha256-modp2048", IKE, "unknown algorithm 'aes129' in proposal 1" },
	{ "aes128gcm16-prfsha256-x25519, aes129", IKE, "unknown algorithm 'aes129' in proposal 2" },
	{ "aes128 gcm16-prfsha256-x25519", IKE, "'aes128 gcm16'" },
	{ "", IKE, "empty proposal 1" },
	{ "  ", ESP, "empty proposal 1" },
	{ "aes128gcm16-prfsha256-x25519,", IKE, "empty proposal 2" },
	{ "aes128gcm16-prfsha256-x25519, ,aes128gcm16", IKE, "empty proposal 2" },
	{ "aes128gcm16--x25519", IKE, "empty algorithm in proposal 1" },
	{ "aes128gcm16-prfsha256-x25519-", IKE, "empty algorithm" },
	{ "-aes128gcm16", ESP, "empty algorithm" },
	{ "aes128-sha256", IKE, "no DH group" },
	{ "sha256-prfsha256-modp2048", IKE, "no encryption" },
	{ "sha256", ESP, "no encryption" },
	/* AEAD gives no integrity algorithm to take a PRF from. */
	{ "aes128gcm16-x25519", IKE, "no prf" },
	{ "aes128-prfsha256-modp2048", IKE, "'aes128' needs an integrity" },
	{ "aes256", ESP, "'aes256' needs an integrity" },
	{ "aes128-aes128gcm16-sha256-modp2048", IKE, "'aes128gcm16' mixes" },
	{ "chacha20poly1305-aes256", ESP, "'aes256' mixes" },
	{ "aes128gcm16-sha256-prfsha256-x25519", IKE, "'sha256' with AEAD" },
	{ "sha256-aes128gcm16", ESP, "'aes128gcm16' with integrity" },
	{ "aes128gcm16-prfsha256-x25519-esn", IKE, "'esn' is only valid for ESP" },
	{ "aes128gcm16-prfsha256", ESP, "'prfsha256' is only valid for IKE" },
	{ "aes128-sha256-sha2_256-modp2048", IKE, "duplicate algorithm 'sha2_256'" },
	{ "aes128gcm16-prfsha256-x25519-curve25519", IKE, "duplicate algorithm 'curve25519'" },
	{ "aes192gcm16-aes192gcm128", ESP, "duplicate algorithm 'aes192gcm128'" },
	{ "aes128gcm16-noesn-noesn", ESP, "duplicate algorithm 'noesn'" },
	/* Keywords are lower case. */
	{ "AES128GCM16", ESP, "unknown algorithm 'AES128GCM16'" },
};

static void test_parse(void)
{
	struct ike_proposal p[IKE_MAX_PROPOSALS];
	char err[128], buf[512];

	for (size_t i = 0; i < sizeof(parse_ok) / sizeof(parse_ok[0]); i++) {
		int n = ike_proposals_parse(parse_ok[i].str, parse_ok[i].proto, p,
					    IKE_MAX_PROPOSALS, err, sizeof(err));

		CHECK_MSG(n > 0, "'%s': %s", parse_ok[i].str, err);
		if (n <= 0)
			continue;
		render(p, n, buf, sizeof(buf));
		CHECK_MSG(strcmp(buf, parse_ok[i].want) == 0, "'%s' gave '%s', want '%s'",
			  parse_ok[i].str, buf, parse_ok[i].want);
		for (int j = 0; j < n; j++) {
			CHECK_INT(p[j].num, j + 1);
			CHECK_INT(p[j].protocol, parse_ok[i].proto);
			CHECK_INT(p[j].spi_size, 0);
			CHECK(!p[j].unusable);
		}
	}
	for (size_t i = 0; i < sizeof(parse_bad) / sizeof(parse_bad[0]); i++) {
		int n = ike_proposals_parse(parse_bad[i].str, parse_bad[i].proto, p,
					    IKE_MAX_PROPOSALS, err, sizeof(err));

		CHECK_MSG(n == -EINVAL, "'%s' gave %d", parse_bad[i].str, n);
		CHECK_MSG(strstr(err, parse_bad[i].want), "'%s': '%s' lacks '%s'",
			  parse_bad[i].str, err, parse_bad[i].want);
	}

	/* More proposals than the caller has room for. */
	CHECK_INT(ike_proposals_parse("aes128gcm16, aes256gcm16, chacha20poly1305", ESP, p, 2,
				      err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "too many proposals") != NULL);
	CHECK_INT(ike_proposals_parse("aes128gcm16, aes256gcm16", ESP, p, 2, err, sizeof(err)),
		  2);
	CHECK_INT(err[0], '\0');
	/* Only IKE and ESP proposals. */
	CHECK_INT(ike_proposals_parse("aes128gcm16", IKEV2_PROTO_AH, p, 1, err, sizeof(err)),
		  -EINVAL);
	/* No room for a message is no reason to crash. */
	CHECK_INT(ike_proposals_parse("aes129", ESP, p, 1, NULL, 0), -EINVAL);
	CHECK_INT(ike_proposals_parse("aes128gcm16", ESP, p, 1, NULL, 0), 1);
	/* A short buffer truncates the message and keeps it terminated. */
	CHECK_INT(ike_proposals_parse("aes129", ESP, p, 1, err, 8), -EINVAL);
	CHECK_INT(strlen(err), 7);
}

static const struct {
	const char *ours, *theirs;
	uint8_t proto;
	uint16_t ke_group;
	bool no_dh;
	const char *want; /* NULL: -ENOENT */
	size_t chosen;
} select_cases[] = {
	{ "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-x25519", IKE, 0, false,
	  "aes128gcm16-prfsha256-x25519", 0 },
	/* Our preference order wins within a type... */
	{ "aes256gcm16-aes128gcm16-prfsha384-prfsha256-x25519",
	  "aes128gcm16-aes256gcm16-prfsha256-prfsha384-x25519", IKE, 0, false,
	  "aes256gcm16-prfsha384-x25519", 0 },
	/* ...and across our proposals, whatever the peer's order. */
	{ "aes256-sha256-modp2048, aes128gcm16-prfsha256-x25519",
	  "aes128gcm16-prfsha256-x25519, aes256-sha256-modp2048", IKE, 0, false,
	  "aes256-sha256-prfsha256-modp2048", 1 },
	/* The peer's first proposal does not match, its second does. */
	{ "aes128gcm16-prfsha256-x25519",
	  "aes256-sha256-modp2048, aes128gcm16-prfsha256-ecp256-x25519", IKE, 0, false,
	  "aes128gcm16-prfsha256-x25519", 1 },
	/* The KE payload's group beats our preference when both allow it... */
	{ "aes128gcm16-prfsha256-x25519-ecp256", "aes128gcm16-prfsha256-ecp256-x25519", IKE,
	  IKEV2_DH_ECP_256, false, "aes128gcm16-prfsha256-ecp256", 0 },
	{ "aes128gcm16-prfsha256-x25519-ecp256", "aes128gcm16-prfsha256-ecp256-x25519", IKE, 0,
	  false, "aes128gcm16-prfsha256-x25519", 0 },
	/* ...but not when we do not allow it... */
	{ "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-modp2048-x25519", IKE,
	  IKEV2_DH_MODP_2048, false, "aes128gcm16-prfsha256-x25519", 0 },
	/* ...or the peer's proposal does not. */
	{ "aes128gcm16-prfsha256-x25519-modp2048", "aes128gcm16-prfsha256-x25519", IKE,
	  IKEV2_DH_MODP_2048, false, "aes128gcm16-prfsha256-x25519", 0 },
	/* No common DH group, key size or PRF: nothing. */
	{ "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-ecp256", IKE, 0, false, NULL, 0 },
	{ "aes128gcm16-prfsha256-x25519", "aes256gcm16-prfsha256-x25519", IKE, 0, false, NULL, 0 },
	{ "aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha384-x25519", IKE, 0, false, NULL, 0 },
	{ "aes256-sha256-modp2048", "aes256-sha512-prfsha256-modp2048", IKE, 0, false, NULL, 0 },
	/* ESP: ESN preference is ours too. */
	{ "aes256-sha512-esn-noesn", "aes256-sha512-noesn-esn", ESP, 0, false, "aes256-sha512-esn",
	  0 },
	{ "aes256-sha512-esn", "aes256-sha512-noesn", ESP, 0, false, NULL, 0 },
	/* We want PFS, the peer offers none: only the first CHILD_SA may go without. */
	{ "aes128gcm16-modp2048", "aes128gcm16", ESP, 0, false, NULL, 0 },
	{ "aes128gcm16-modp2048", "aes128gcm16", ESP, 0, true, "aes128gcm16-noesn", 0 },
	/* The peer wants PFS, we do not. */
	{ "aes128gcm16", "aes128gcm16-modp2048", ESP, 0, false, NULL, 0 },
	{ "aes128gcm16", "aes128gcm16-modp2048", ESP, 0, true, "aes128gcm16-noesn", 0 },
	{ "aes128gcm16-ecp256-modp2048", "aes128gcm16-modp2048-ecp256", ESP, 0, false,
	  "aes128gcm16-ecp256-noesn", 0 },
	/* With no_dh even disjoint groups do not matter. */
	{ "aes128gcm16-ecp256", "aes128gcm16-modp2048", ESP, 0, true, "aes128gcm16-noesn", 0 },
};

static void test_select_table(void)
{
	struct ike_proposal ours[IKE_MAX_PROPOSALS], theirs[IKE_MAX_PROPOSALS];
	struct ike_suite s;
	char buf[128];

	for (size_t i = 0; i < sizeof(select_cases) / sizeof(select_cases[0]); i++) {
		int no = mk(select_cases[i].ours, select_cases[i].proto, ours);
		int nt = mk(select_cases[i].theirs, select_cases[i].proto, theirs);
		size_t chosen = 99;
		int rc;

		if (no <= 0 || nt <= 0)
			continue;
		rc = ike_proposal_select(ours, (size_t)no, theirs, (size_t)nt,
					 select_cases[i].ke_group, select_cases[i].no_dh, &s,
					 &chosen);
		if (!select_cases[i].want) {
			CHECK_MSG(rc == -ENOENT, "case %zu gave %d", i, rc);
			continue;
		}
		CHECK_MSG(rc == 0, "case %zu gave %d", i, rc);
		if (rc)
			continue;
		ike_suite_str(&s, buf, sizeof(buf));
		CHECK_MSG(strcmp(buf, select_cases[i].want) == 0, "case %zu chose '%s', want '%s'",
			  i, buf, select_cases[i].want);
		CHECK_MSG(chosen == select_cases[i].chosen, "case %zu chose proposal %zu", i,
			  chosen);
		CHECK_INT(s.protocol, select_cases[i].proto);
	}
}

static void add_xf(struct ike_proposal *p, uint8_t type, uint16_t id, uint16_t keybits)
{
	p->xf[p->n_xforms++] = (struct ike_xform){ type, id, keybits };
}

static void test_select_special(void)
{
	struct ike_proposal ours[IKE_MAX_PROPOSALS], theirs[IKE_MAX_PROPOSALS];
	struct ike_suite s;
	size_t chosen;

	/* A proposal the wire parser could not fully understand is skipped. */
	mk("aes128gcm16-prfsha256-x25519", IKE, ours);
	mk("aes128gcm16-prfsha256-x25519, aes128gcm16-prfsha256-x25519", IKE, theirs);
	theirs[0].unusable = true;
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 2, 0, false, &s, &chosen), 0);
	CHECK_INT(chosen, 1);
	theirs[1].unusable = true;
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 2, 0, false, &s, &chosen), -ENOENT);

	/* So is one holding a transform type we do not know. */
	mk("aes128gcm16-prfsha256-x25519", IKE, theirs);
	add_xf(&theirs[0], 6, 1, 0);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), -ENOENT);

	/* The protocol must match. */
	mk("aes128gcm16", ESP, theirs);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), -ENOENT);

	/* Section 3.3: AEAD may come with INTEG NONE instead of no INTEG. */
	mk("aes128gcm16-prfsha256-x25519", IKE, theirs);
	add_xf(&theirs[0], IKEV2_XF_INTEG, IKEV2_INTEG_NONE, 0);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), 0);
	CHECK_INT(s.integ, 0);
	CHECK_INT(s.encr, IKEV2_ENCR_AES_GCM_16);
	CHECK_INT(s.encr_keybits, 128);
	CHECK_INT(s.prf, IKEV2_PRF_HMAC_SHA2_256);
	CHECK_INT(s.dh, IKEV2_DH_CURVE25519);
	/* But NONE is no integrity algorithm for a classic cipher. */
	mk("aes256-sha256-modp2048", IKE, ours);
	mk("aes256-prfsha256-modp2048-sha256", IKE, theirs);
	theirs[0].xf[2].id = IKEV2_INTEG_NONE; /* INTEG sorts third */
	CHECK_INT(theirs[0].xf[2].type, IKEV2_XF_INTEG);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), -ENOENT);

	/* A peer offering optional PFS (NONE or a group) and us without DH. */
	mk("aes128gcm16", ESP, ours);
	mk("aes128gcm16-modp2048", ESP, theirs);
	add_xf(&theirs[0], IKEV2_XF_DH, IKEV2_DH_NONE, 0);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), 0);
	CHECK_INT(s.dh, 0);

	/* ESP proposals without ESN on either side agree on no ESN. */
	memset(ours, 0, sizeof(ours[0]));
	ours[0].num = 1;
	ours[0].protocol = ESP;
	add_xf(&ours[0], IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, 256);
	theirs[0] = ours[0];
	s.esn = 7;
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), 0);
	CHECK_INT(s.esn, IKEV2_ESN_NO);
	CHECK_INT(s.encr_keybits, 256);
	/* But only one side having ESN does not agree. */
	mk("aes256gcm16", ESP, theirs);
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 1, 0, false, &s, &chosen), -ENOENT);

	/* Nothing offered, nothing chosen. */
	CHECK_INT(ike_proposal_select(ours, 1, theirs, 0, 0, false, &s, &chosen), -ENOENT);
}

/* Our offer for the check_reply tests: two proposals, several choices. */
#define OFFER "aes128gcm16-aes256gcm16-prfsha256-prfsha384-x25519-ecp256, aes256-sha256-modp2048"

static void test_check_reply(void)
{
	struct ike_proposal ours[IKE_MAX_PROPOSALS], reply;
	struct ike_suite s, want;
	int n = mk(OFFER, IKE, ours);

	if (n != 2)
		return;

	/* One choice from each type of proposal 1. */
	want = (struct ike_suite){ .protocol = IKE, .encr = IKEV2_ENCR_AES_GCM_16,
				   .encr_keybits = 256, .prf = IKEV2_PRF_HMAC_SHA2_384,
				   .dh = IKEV2_DH_ECP_256 };
	ike_proposal_from_suite(&want, 1, &reply);
	memset(&s, 0xff, sizeof(s));
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), 0);
	CHECK(suite_eq(&s, &want));

	/* INTEG NONE is what we meant by no INTEG with AEAD. */
	add_xf(&reply, IKEV2_XF_INTEG, IKEV2_INTEG_NONE, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), 0);
	CHECK_INT(s.integ, 0);

	/* Proposal number 1 with proposal 2's transforms. */
	ike_proposal_from_suite(&want, 2, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* A proposal number we never used. */
	ike_proposal_from_suite(&want, 3, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* The same transforms for the wrong protocol. */
	ike_proposal_from_suite(&want, 1, &reply);
	reply.protocol = ESP;
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);

	/* Two DH groups: the responder must choose. */
	ike_proposal_from_suite(&want, 1, &reply);
	add_xf(&reply, IKEV2_XF_DH, IKEV2_DH_CURVE25519, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* A group we did not offer in proposal 1 (only in 2). */
	ike_proposal_from_suite(&want, 1, &reply);
	reply.xf[2].id = IKEV2_DH_MODP_2048;
	CHECK_INT(reply.xf[2].type, IKEV2_XF_DH);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* Our cipher with a key size we did not offer. */
	ike_proposal_from_suite(&want, 1, &reply);
	reply.xf[0].keybits = 192;
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* A type missing: no DH, no PRF. */
	ike_proposal_from_suite(&(struct ike_suite){ .protocol = IKE,
						     .encr = IKEV2_ENCR_AES_GCM_16,
						     .encr_keybits = 256,
						     .prf = IKEV2_PRF_HMAC_SHA2_384 },
				1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	ike_proposal_from_suite(&(struct ike_suite){ .protocol = IKE,
						     .encr = IKEV2_ENCR_AES_GCM_16,
						     .encr_keybits = 256,
						     .dh = IKEV2_DH_ECP_256 },
				1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* A type we never offered in this proposal (INTEG with AEAD). */
	ike_proposal_from_suite(&want, 1, &reply);
	add_xf(&reply, IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_256_128, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	/* A type nobody knows. */
	ike_proposal_from_suite(&want, 1, &reply);
	add_xf(&reply, 9, 1, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);

	/* Proposal 2, classic: INTEG is required, NONE is not acceptable. */
	want = (struct ike_suite){ .protocol = IKE, .encr = IKEV2_ENCR_AES_CBC,
				   .encr_keybits = 256, .prf = IKEV2_PRF_HMAC_SHA2_256,
				   .integ = IKEV2_AUTH_HMAC_SHA2_256_128,
				   .dh = IKEV2_DH_MODP_2048 };
	ike_proposal_from_suite(&want, 2, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), 0);
	CHECK(suite_eq(&s, &want));
	want.integ = IKEV2_INTEG_NONE;
	ike_proposal_from_suite(&want, 2, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	add_xf(&reply, IKEV2_XF_INTEG, IKEV2_INTEG_NONE, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
}

static void test_check_reply_esp(void)
{
	struct ike_proposal ours[IKE_MAX_PROPOSALS], reply;
	struct ike_suite s, want = { .protocol = ESP, .encr = IKEV2_ENCR_AES_GCM_16,
				     .encr_keybits = 128, .esn = IKEV2_ESN_NO };
	int n = mk("aes128gcm16-modp2048", ESP, ours);

	if (n != 1)
		return;

	/* First CHILD_SA: no DH, or DH NONE, is right; a group is not. */
	ike_proposal_from_suite(&want, 1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, true, &s), 0);
	CHECK(suite_eq(&s, &want));
	add_xf(&reply, IKEV2_XF_DH, IKEV2_DH_NONE, 0);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, true, &s), 0);
	CHECK_INT(s.dh, 0);
	want.dh = IKEV2_DH_MODP_2048;
	ike_proposal_from_suite(&want, 1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, true, &s), -EINVAL);
	/* Later CHILD_SAs: the group we asked for, and it must be there. */
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), 0);
	CHECK_INT(s.dh, IKEV2_DH_MODP_2048);
	want.dh = 0;
	ike_proposal_from_suite(&want, 1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);

	/* ESN: we offered noesn; esn, or silence, is not an answer. */
	want.dh = IKEV2_DH_MODP_2048;
	want.esn = IKEV2_ESN_YES;
	ike_proposal_from_suite(&want, 1, &reply);
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
	want.esn = IKEV2_ESN_NO;
	ike_proposal_from_suite(&want, 1, &reply);
	reply.n_xforms--; /* ESN is last */
	CHECK_INT(ike_proposal_check_reply(ours, (size_t)n, &reply, false, &s), -EINVAL);
}

/* Suites print in the proposal syntax and parse back to themselves. */
static const struct {
	const char *str;
	uint8_t proto;
} round_trip[] = {
	{ "aes128gcm16-prfsha256-x25519", IKE },
	{ "aes256-sha256-prfsha256-modp2048", IKE },
	{ "aes192-sha384-prfsha512-ecp384", IKE },
	{ "chacha20poly1305-prfsha512-x448", IKE },
	{ "aes256gcm16-prfsha384-ecp521", IKE },
	{ "aes128-sha512-prfsha256-modp4096", IKE },
	{ "aes128gcm16-noesn", ESP },
	{ "aes256-sha512-esn", ESP },
	{ "aes128-sha256-modp3072-noesn", ESP },
	{ "chacha20poly1305-ecp256-esn", ESP },
};

static void test_round_trip(void)
{
	struct ike_proposal p, q;
	struct ike_suite s, t;
	char buf[128];

	for (size_t i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++) {
		const char *str = round_trip[i].str;

		if (mk_n(str, round_trip[i].proto, &p, 1) != 1)
			continue;
		/* A proposal with one choice per type selects itself. */
		CHECK_INT(ike_proposal_select(&p, 1, &p, 1, 0, false, &s, NULL), 0);
		ike_suite_str(&s, buf, sizeof(buf));
		CHECK_MSG(strcmp(buf, str) == 0, "'%s' printed '%s'", str, buf);
		/* from_suite rebuilds the very proposal the string parses to. */
		ike_proposal_from_suite(&s, 1, &q);
		CHECK_INT(q.num, 1);
		CHECK_INT(q.protocol, p.protocol);
		CHECK(xforms_eq(&q, &p));
		/* And the initiator accepts it back as a reply. */
		CHECK_INT(ike_proposal_check_reply(&p, 1, &q, false, &t), 0);
		CHECK(suite_eq(&t, &s));
	}

	/* Implied PRFs print explicitly. */
	mk_n("aes256-sha256-modp2048", IKE, &p, 1);
	CHECK_INT(ike_proposal_select(&p, 1, &p, 1, 0, false, &s, NULL), 0);
	CHECK(strcmp(ike_suite_str(&s, buf, sizeof(buf)), "aes256-sha256-prfsha256-modp2048") ==
	      0);
	/* Truncated output stays terminated. */
	CHECK_INT(strlen(ike_suite_str(&s, buf, 10)), 9);
	CHECK(strncmp(buf, "aes256-sh", 9) == 0);
	CHECK(strcmp(ike_suite_str(&s, buf, 0), "") == 0);
	/* Algorithms without a keyword still print, as numbers. */
	s = (struct ike_suite){ .protocol = ESP, .encr = IKEV2_ENCR_AES_GCM_8,
				.encr_keybits = 128, .integ = 0, .esn = 1 };
	CHECK(strcmp(ike_suite_str(&s, buf, sizeof(buf)), "encr18_128-esn") == 0);
}

int main(void)
{
	test_parse();
	test_select_table();
	test_select_special();
	test_check_reply();
	test_check_reply_esp();
	test_round_trip();
	return check_done("proposal");
}
