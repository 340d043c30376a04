/* SPDX-License-Identifier: ISC */
/* Name tables for the IANA constants in ikev2.h, for logs. */
#include "ikev2.h"

#include <stdio.h>

#define N(x) [x] = #x

static const char *const exch_names[] = {
	[IKEV2_EXCH_IKE_SA_INIT] = "IKE_SA_INIT",
	[IKEV2_EXCH_IKE_AUTH] = "IKE_AUTH",
	[IKEV2_EXCH_CREATE_CHILD_SA] = "CREATE_CHILD_SA",
	[IKEV2_EXCH_INFORMATIONAL] = "INFORMATIONAL",
};

static const char *const pl_names[] = {
	[IKEV2_PL_NONE] = "NONE", [IKEV2_PL_SA] = "SA", [IKEV2_PL_KE] = "KE",
	[IKEV2_PL_IDI] = "IDi", [IKEV2_PL_IDR] = "IDr", [IKEV2_PL_CERT] = "CERT",
	[IKEV2_PL_CERTREQ] = "CERTREQ", [IKEV2_PL_AUTH] = "AUTH",
	[IKEV2_PL_NONCE] = "No", [IKEV2_PL_NOTIFY] = "N", [IKEV2_PL_DELETE] = "D",
	[IKEV2_PL_VENDOR] = "V", [IKEV2_PL_TSI] = "TSi", [IKEV2_PL_TSR] = "TSr",
	[IKEV2_PL_SK] = "SK", [IKEV2_PL_CP] = "CP", [IKEV2_PL_EAP] = "EAP", [IKEV2_PL_SKF] = "SKF",
};

struct code_name {
	uint16_t code;
	const char *name;
};

static const struct code_name notify_names[] = {
	{ IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD, "UNSUPPORTED_CRITICAL_PAYLOAD" },
	{ IKEV2_N_INVALID_IKE_SPI, "INVALID_IKE_SPI" },
	{ IKEV2_N_INVALID_MAJOR_VERSION, "INVALID_MAJOR_VERSION" },
	{ IKEV2_N_INVALID_SYNTAX, "INVALID_SYNTAX" },
	{ IKEV2_N_INVALID_MESSAGE_ID, "INVALID_MESSAGE_ID" },
	{ IKEV2_N_INVALID_SPI, "INVALID_SPI" },
	{ IKEV2_N_NO_PROPOSAL_CHOSEN, "NO_PROPOSAL_CHOSEN" },
	{ IKEV2_N_INVALID_KE_PAYLOAD, "INVALID_KE_PAYLOAD" },
	{ IKEV2_N_AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED" },
	{ IKEV2_N_SINGLE_PAIR_REQUIRED, "SINGLE_PAIR_REQUIRED" },
	{ IKEV2_N_NO_ADDITIONAL_SAS, "NO_ADDITIONAL_SAS" },
	{ IKEV2_N_INTERNAL_ADDRESS_FAILURE, "INTERNAL_ADDRESS_FAILURE" },
	{ IKEV2_N_FAILED_CP_REQUIRED, "FAILED_CP_REQUIRED" },
	{ IKEV2_N_TS_UNACCEPTABLE, "TS_UNACCEPTABLE" },
	{ IKEV2_N_INVALID_SELECTORS, "INVALID_SELECTORS" },
	{ IKEV2_N_TEMPORARY_FAILURE, "TEMPORARY_FAILURE" },
	{ IKEV2_N_CHILD_SA_NOT_FOUND, "CHILD_SA_NOT_FOUND" },
	{ IKEV2_N_INITIAL_CONTACT, "INITIAL_CONTACT" },
	{ IKEV2_N_SET_WINDOW_SIZE, "SET_WINDOW_SIZE" },
	{ IKEV2_N_ADDITIONAL_TS_POSSIBLE, "ADDITIONAL_TS_POSSIBLE" },
	{ IKEV2_N_IPCOMP_SUPPORTED, "IPCOMP_SUPPORTED" },
	{ IKEV2_N_NAT_DETECTION_SOURCE_IP, "NAT_DETECTION_SOURCE_IP" },
	{ IKEV2_N_NAT_DETECTION_DESTINATION_IP, "NAT_DETECTION_DESTINATION_IP" },
	{ IKEV2_N_COOKIE, "COOKIE" },
	{ IKEV2_N_USE_TRANSPORT_MODE, "USE_TRANSPORT_MODE" },
	{ IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED, "HTTP_CERT_LOOKUP_SUPPORTED" },
	{ IKEV2_N_REKEY_SA, "REKEY_SA" },
	{ IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED, "ESP_TFC_PADDING_NOT_SUPPORTED" },
	{ IKEV2_N_NON_FIRST_FRAGMENTS_ALSO, "NON_FIRST_FRAGMENTS_ALSO" },
	{ IKEV2_N_CHILDLESS_IKEV2_SUPPORTED, "CHILDLESS_IKEV2_SUPPORTED" },
	{ IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED, "IKEV2_FRAGMENTATION_SUPPORTED" },
	{ IKEV2_N_SIGNATURE_HASH_ALGORITHMS, "SIGNATURE_HASH_ALGORITHMS" },
};

static const char *table_name(const char *const *t, size_t n, unsigned v)
{
	static _Thread_local char buf[16];

	if (v < n && t[v])
		return t[v];
	snprintf(buf, sizeof(buf), "%u", v);
	return buf;
}

const char *ikev2_exch_name(uint8_t exch)
{
	return table_name(exch_names, sizeof(exch_names) / sizeof(exch_names[0]), exch);
}

const char *ikev2_pl_name(uint8_t type)
{
	return table_name(pl_names, sizeof(pl_names) / sizeof(pl_names[0]), type);
}

const char *ikev2_notify_name(uint16_t type)
{
	static _Thread_local char buf[16];

	for (size_t i = 0; i < sizeof(notify_names) / sizeof(notify_names[0]); i++)
		if (notify_names[i].code == type)
			return notify_names[i].name;
	snprintf(buf, sizeof(buf), "%u", type);
	return buf;
}

struct xform_name {
	uint8_t type;
	uint16_t id;
	const char *name;
};

static const struct xform_name xform_names[] = {
	{ IKEV2_XF_ENCR, IKEV2_ENCR_AES_CBC, "AES_CBC" },
	{ IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_8, "AES_GCM_8" },
	{ IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_12, "AES_GCM_12" },
	{ IKEV2_XF_ENCR, IKEV2_ENCR_AES_GCM_16, "AES_GCM_16" },
	{ IKEV2_XF_ENCR, IKEV2_ENCR_CHACHA20_POLY1305, "CHACHA20_POLY1305" },
	{ IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA1, "PRF_HMAC_SHA1" },
	{ IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_256, "PRF_HMAC_SHA2_256" },
	{ IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_384, "PRF_HMAC_SHA2_384" },
	{ IKEV2_XF_PRF, IKEV2_PRF_HMAC_SHA2_512, "PRF_HMAC_SHA2_512" },
	{ IKEV2_XF_INTEG, IKEV2_INTEG_NONE, "NONE" },
	{ IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA1_96, "HMAC_SHA1_96" },
	{ IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_256_128, "HMAC_SHA2_256_128" },
	{ IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_384_192, "HMAC_SHA2_384_192" },
	{ IKEV2_XF_INTEG, IKEV2_AUTH_HMAC_SHA2_512_256, "HMAC_SHA2_512_256" },
	{ IKEV2_XF_DH, IKEV2_DH_NONE, "NONE" },
	{ IKEV2_XF_DH, IKEV2_DH_MODP_2048, "MODP_2048" },
	{ IKEV2_XF_DH, IKEV2_DH_MODP_3072, "MODP_3072" },
	{ IKEV2_XF_DH, IKEV2_DH_MODP_4096, "MODP_4096" },
	{ IKEV2_XF_DH, IKEV2_DH_ECP_256, "ECP_256" },
	{ IKEV2_XF_DH, IKEV2_DH_ECP_384, "ECP_384" },
	{ IKEV2_XF_DH, IKEV2_DH_ECP_521, "ECP_521" },
	{ IKEV2_XF_DH, IKEV2_DH_CURVE25519, "CURVE25519" },
	{ IKEV2_XF_DH, IKEV2_DH_CURVE448, "CURVE448" },
	{ IKEV2_XF_ESN, IKEV2_ESN_NO, "NO_ESN" },
	{ IKEV2_XF_ESN, IKEV2_ESN_YES, "ESN" },
};

const char *ikev2_xform_name(uint8_t type, uint16_t id)
{
	static _Thread_local char buf[24];

	for (size_t i = 0; i < sizeof(xform_names) / sizeof(xform_names[0]); i++)
		if (xform_names[i].type == type && xform_names[i].id == id)
			return xform_names[i].name;
	snprintf(buf, sizeof(buf), "%u/%u", type, id);
	return buf;
}
