/* SPDX-License-Identifier: ISC */
/*
 * The IKEv2 wire format: header and payload layouts (RFC 7296 section 3)
 * and the IANA constants xike speaks, each with the section that defines it.
 * All multi-byte fields are big-endian on the wire.
 */
#ifndef IKE_IKEV2_H
#define IKE_IKEV2_H

#include <stdint.h>

/*
 * IKE header, RFC 7296 section 3.1:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_HDR_LEN 28
#define IKEV2_VERSION 0x20 /* major 2, minor 0 */

#define IKEV2_FLAG_INITIATOR 0x08
#define IKEV2_FLAG_VERSION 0x10
#define IKEV2_FLAG_RESPONSE 0x20

/* Exchange types, section 3.1. */
#define IKEV2_EXCH_IKE_SA_INIT 34
#define IKEV2_EXCH_IKE_AUTH 35
#define IKEV2_EXCH_CREATE_CHILD_SA 36
#define IKEV2_EXCH_INFORMATIONAL 37

/*
 * Generic payload header, section 3.2:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_GENHDR_LEN 4
#define IKEV2_CRITICAL 0x80

/* Payload types, section 3.2.  Values 1-32 are IKEv1's and never valid here. */
#define IKEV2_PL_NONE 0
#define IKEV2_PL_SA 33
#define IKEV2_PL_KE 34
#define IKEV2_PL_IDI 35
#define IKEV2_PL_IDR 36
#define IKEV2_PL_CERT 37
#define IKEV2_PL_CERTREQ 38
#define IKEV2_PL_AUTH 39
#define IKEV2_PL_NONCE 40
#define IKEV2_PL_NOTIFY 41
#define IKEV2_PL_DELETE 42
#define IKEV2_PL_VENDOR 43
#define IKEV2_PL_TSI 44
#define IKEV2_PL_TSR 45
#define IKEV2_PL_SK 46
#define IKEV2_PL_CP 47
#define IKEV2_PL_EAP 48
/*
 * Encrypted and Authenticated Fragment, RFC 7383 section 2.5:
 *
 *   Next Payload | C | RESERVED | Payload Length
 *   Fragment Number (2 octets)  | Total Fragments (2 octets)
 *   IV | encrypted fragment of the inner payloads | padding | ICV
 *
 * Next Payload is the first inner payload's type in fragment 1, 0 in the
 * others.  The AAD covers the IKE header and these eight octets.
 */
#define IKEV2_PL_SKF 53
#define IKEV2_SKF_HDR_LEN 8

/*
 * Proposal substructure, section 3.3.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        <Transforms>                           ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform substructure, section 3.3.2:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Transform Attributes                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform attribute, section 3.3.5 (AF=1: TV format, 2-byte value):
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |A|       Attribute Type        |    AF=0  Attribute Length     |
 * |F|                             |    AF=1  Attribute Value      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_PROPOSAL_HDR_LEN 8
#define IKEV2_XFORM_HDR_LEN 8
#define IKEV2_SUBSTRUC_LAST 0
#define IKEV2_SUBSTRUC_PROPOSAL 2
#define IKEV2_SUBSTRUC_XFORM 3
#define IKEV2_ATTR_TV 0x8000
#define IKEV2_ATTR_KEY_LENGTH 14

/* Protocol IDs, section 3.3.1. */
#define IKEV2_PROTO_IKE 1
#define IKEV2_PROTO_AH 2
#define IKEV2_PROTO_ESP 3

/* Transform types, section 3.3.2. */
#define IKEV2_XF_ENCR 1
#define IKEV2_XF_PRF 2
#define IKEV2_XF_INTEG 3
#define IKEV2_XF_DH 4
#define IKEV2_XF_ESN 5
#define IKEV2_XF_MAX 5

/* ENCR: section 3.3.2; AES-GCM RFC 5282 / 4106; ChaCha20-Poly1305 RFC 7634. */
#define IKEV2_ENCR_AES_CBC 12
#define IKEV2_ENCR_AES_GCM_8 18
#define IKEV2_ENCR_AES_GCM_12 19
#define IKEV2_ENCR_AES_GCM_16 20
#define IKEV2_ENCR_CHACHA20_POLY1305 28

/* PRF: RFC 4868. */
#define IKEV2_PRF_HMAC_SHA1 2
#define IKEV2_PRF_HMAC_SHA2_256 5
#define IKEV2_PRF_HMAC_SHA2_384 6
#define IKEV2_PRF_HMAC_SHA2_512 7

/* INTEG: RFC 4868. */
#define IKEV2_INTEG_NONE 0
#define IKEV2_AUTH_HMAC_SHA1_96 2
#define IKEV2_AUTH_HMAC_SHA2_256_128 12
#define IKEV2_AUTH_HMAC_SHA2_384_192 13
#define IKEV2_AUTH_HMAC_SHA2_512_256 14

/* Key exchange groups: RFC 3526 (MODP), RFC 5903 (ECP), RFC 8031 (Curve). */
#define IKEV2_DH_NONE 0
#define IKEV2_DH_MODP_2048 14
#define IKEV2_DH_MODP_3072 15
#define IKEV2_DH_MODP_4096 16
#define IKEV2_DH_ECP_256 19
#define IKEV2_DH_ECP_384 20
#define IKEV2_DH_ECP_521 21
#define IKEV2_DH_CURVE25519 31
#define IKEV2_DH_CURVE448 32

/* Extended sequence numbers, section 3.3.2. */
#define IKEV2_ESN_NO 0
#define IKEV2_ESN_YES 1

/*
 * Key Exchange payload, section 3.4:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Diffie-Hellman Group Num    |           RESERVED            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Key Exchange Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_KE_HDR_LEN 4

/*
 * Identification payload, section 3.5:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   ID Type     |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                   Identification Data                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_ID_HDR_LEN 4
#define IKEV2_ID_IPV4_ADDR 1
#define IKEV2_ID_FQDN 2
#define IKEV2_ID_RFC822_ADDR 3
#define IKEV2_ID_IPV6_ADDR 5
#define IKEV2_ID_DER_ASN1_DN 9
#define IKEV2_ID_DER_ASN1_GN 10
#define IKEV2_ID_KEY_ID 11

/*
 * Certificate / Certificate Request payloads, sections 3.6 and 3.7:
 * one octet of encoding followed by the data.
 */
#define IKEV2_CERT_HDR_LEN 1
#define IKEV2_CERT_X509_SIGNATURE 4 /* section 3.6: DER X.509 certificate */

/*
 * Authentication payload, section 3.8:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Auth Method   |                RESERVED                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Authentication Data                      ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_AUTH_HDR_LEN 4
#define IKEV2_AUTH_RSA_SIG 1
#define IKEV2_AUTH_SHARED_KEY_MIC 2
#define IKEV2_AUTH_DSS_SIG 3
#define IKEV2_AUTH_ECDSA_SHA256_P256 9  /* RFC 4754 section 7 */
#define IKEV2_AUTH_ECDSA_SHA384_P384 10
#define IKEV2_AUTH_ECDSA_SHA512_P521 11
#define IKEV2_AUTH_DIGITAL_SIGNATURE 14 /* RFC 7427 section 3 */

/* Hash Algorithm Identifiers, RFC 7427 section 4 and RFC 8420 section 2. */
#define IKEV2_HASH_SHA1 1
#define IKEV2_HASH_SHA2_256 2
#define IKEV2_HASH_SHA2_384 3
#define IKEV2_HASH_SHA2_512 4
#define IKEV2_HASH_IDENTITY 5 /* EdDSA signs the octets themselves */
#define IKEV2_HASH_BIT(h) (1u << (h))

/* Nonce payload, section 3.9: 16..256 octets. */
#define IKEV2_NONCE_MIN 16
#define IKEV2_NONCE_MAX 256
#define IKEV2_NONCE_LEN 32 /* what xike sends */

/*
 * Notify payload, section 3.10:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                Security Parameter Index (SPI)                 ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                       Notification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_NOTIFY_HDR_LEN 4

/* Error types, section 3.10.1 (below 16384). */
#define IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD 1
#define IKEV2_N_INVALID_IKE_SPI 4
#define IKEV2_N_INVALID_MAJOR_VERSION 5
#define IKEV2_N_INVALID_SYNTAX 7
#define IKEV2_N_INVALID_MESSAGE_ID 9
#define IKEV2_N_INVALID_SPI 11
#define IKEV2_N_NO_PROPOSAL_CHOSEN 14
#define IKEV2_N_INVALID_KE_PAYLOAD 17
#define IKEV2_N_AUTHENTICATION_FAILED 24
#define IKEV2_N_SINGLE_PAIR_REQUIRED 34
#define IKEV2_N_NO_ADDITIONAL_SAS 35
#define IKEV2_N_INTERNAL_ADDRESS_FAILURE 36
#define IKEV2_N_FAILED_CP_REQUIRED 37
#define IKEV2_N_TS_UNACCEPTABLE 38
#define IKEV2_N_INVALID_SELECTORS 39
#define IKEV2_N_TEMPORARY_FAILURE 43
#define IKEV2_N_CHILD_SA_NOT_FOUND 44
#define IKEV2_N_ERROR_MAX 16383

/* Status types, section 3.10.1. */
#define IKEV2_N_INITIAL_CONTACT 16384
#define IKEV2_N_SET_WINDOW_SIZE 16385
#define IKEV2_N_ADDITIONAL_TS_POSSIBLE 16386
#define IKEV2_N_IPCOMP_SUPPORTED 16387
#define IKEV2_N_NAT_DETECTION_SOURCE_IP 16388
#define IKEV2_N_NAT_DETECTION_DESTINATION_IP 16389
#define IKEV2_N_COOKIE 16390
#define IKEV2_N_USE_TRANSPORT_MODE 16391
#define IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED 16392
#define IKEV2_N_REKEY_SA 16393
#define IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED 16394
#define IKEV2_N_NON_FIRST_FRAGMENTS_ALSO 16395
#define IKEV2_N_CHILDLESS_IKEV2_SUPPORTED 16418 /* RFC 6023 section 3: responder, IKE_SA_INIT */
#define IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED 16430 /* RFC 7383 section 2.3 */
#define IKEV2_N_SIGNATURE_HASH_ALGORITHMS 16431 /* RFC 7427 section 4 */

#define IKEV2_COOKIE_MAX 64 /* section 2.6: 1..64 octets */

/*
 * Delete payload, section 3.11:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~               Security Parameter Index(es) (SPI)              ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_DELETE_HDR_LEN 4

/*
 * Traffic Selector payload, section 3.13, and one selector, 3.13.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Number of TSs |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Start Port*         |           End Port*           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Starting Address*                     ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                         Ending Address*                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_TS_HDR_LEN 4
#define IKEV2_TS_IPV4_ADDR_RANGE 7
#define IKEV2_TS_IPV6_ADDR_RANGE 8
#define IKEV2_TS_IPV4_LEN 16
#define IKEV2_TS_IPV6_LEN 40

/*
 * Encrypted and Authenticated payload, section 3.14:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Encrypted IKE Payloads                     ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/*
 * Configuration payload, section 3.15, and its attributes, 3.15.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   CFG Type    |                    RESERVED                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|         Attribute Type      |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#define IKEV2_CP_HDR_LEN 4
#define IKEV2_CFG_REQUEST 1
#define IKEV2_CFG_REPLY 2
#define IKEV2_CFG_SET 3
#define IKEV2_CFG_ACK 4

/* Name tables for logs; unknown values print as numbers. */
const char *ikev2_exch_name(uint8_t exch);
const char *ikev2_pl_name(uint8_t type);
const char *ikev2_notify_name(uint16_t type);
const char *ikev2_xform_name(uint8_t type, uint16_t id);

#endif
