/* SPDX-License-Identifier: ISC */
/*
 * ike/crypto.c against published known answers, then the properties no
 * vector covers: both ends of every group agree, SK payloads round-trip,
 * and every bad peer value or tampered message is refused.
 *
 * Each vector names its source next to it.  Byte strings are hex; spaces
 * and line breaks inside them are ignored.
 */
#include "common/bytes.h"
#include "ike/crypto.h"
#include "ike/ikev2.h"
#include "check.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

/* Decoded vectors, all freed together by hx_free(). */
static uint8_t *hx_bufs[128];
static size_t hx_n;

static uint8_t *hx(const char *s, size_t *len)
{
	size_t n;
	uint8_t *p = check_hex(s, &n);

	if (hx_n < sizeof(hx_bufs) / sizeof(hx_bufs[0]))
		hx_bufs[hx_n++] = p;
	else
		abort(); /* a test decoded more than it frees: grow hx_bufs */
	if (len)
		*len = n;
	return p;
}

static void hx_free(void)
{
	while (hx_n)
		free(hx_bufs[--hx_n]);
}

/* `unit` repeated `rep` times: the keys and data of RFC 4231 / 4868. */
static size_t repeat(uint8_t *out, const char *unit, size_t rep)
{
	size_t ul = strlen(unit);

	for (size_t i = 0; i < rep; i++)
		memcpy(out + i * ul, unit, ul);
	return ul * rep;
}

/* --- lengths --------------------------------------------------------- */

static void test_lengths(void)
{
	static const struct {
		uint16_t encr, keybits;
		size_t key_len;
	} encr[] = {
		/* RFC 5282 section 7.1: the key plus 4 octets of salt. */
		{ IKEV2_ENCR_AES_GCM_16, 128, 20 },
		{ IKEV2_ENCR_AES_GCM_16, 192, 28 },
		{ IKEV2_ENCR_AES_GCM_16, 256, 36 },
		{ IKEV2_ENCR_AES_GCM_16, 0, 0 },
		/* RFC 7634 section 2: 256-bit key, no Key Length attribute. */
		{ IKEV2_ENCR_CHACHA20_POLY1305, 0, 36 },
		{ IKEV2_ENCR_CHACHA20_POLY1305, 256, 36 },
		{ IKEV2_ENCR_CHACHA20_POLY1305, 128, 0 },
		{ IKEV2_ENCR_AES_CBC, 128, 16 },
		{ IKEV2_ENCR_AES_CBC, 192, 24 },
		{ IKEV2_ENCR_AES_CBC, 256, 32 },
		{ IKEV2_ENCR_AES_CBC, 0, 0 },
		{ IKEV2_ENCR_AES_CBC, 512, 0 },
		{ IKEV2_ENCR_AES_GCM_8, 128, 0 },
		{ 0, 0, 0 },
	};
	static const struct {
		uint16_t integ;
		size_t key_len, icv_len;
	} integ[] = {
		/* RFC 4868 section 2.1 (key = digest size), 2.3 (ICV = half) */
		{ IKEV2_AUTH_HMAC_SHA2_256_128, 32, 16 },
		{ IKEV2_AUTH_HMAC_SHA2_384_192, 48, 24 },
		{ IKEV2_AUTH_HMAC_SHA2_512_256, 64, 32 },
		{ IKEV2_AUTH_HMAC_SHA1_96, 0, 0 },
	};
	static const struct {
		uint16_t group;
		size_t pub_len, secret_len;
	} dh[] = {
		{ IKEV2_DH_MODP_2048, 256, 256 },
		{ IKEV2_DH_MODP_3072, 384, 384 },
		{ IKEV2_DH_MODP_4096, 512, 512 },
		{ IKEV2_DH_ECP_256, 64, 32 },
		{ IKEV2_DH_ECP_384, 96, 48 },
		{ IKEV2_DH_ECP_521, 132, 66 },
		{ IKEV2_DH_CURVE25519, 32, 32 },
		{ IKEV2_DH_CURVE448, 56, 56 },
		{ IKEV2_DH_NONE, 0, 0 },
	};

	static const struct {
		uint16_t encr;
		bool aead;
		size_t iv_len, block_len, aead_icv_len;
	} modes[] = {
		/* RFC 3602 section 3: a block-sized IV; IKE pads to whole blocks. */
		{ IKEV2_ENCR_AES_CBC, false, 16, 16, 0 },
		/* RFC 5282 sections 3.1, 7.1 and RFC 7634 section 2: 8-byte IV, 16-byte ICV. */
		{ IKEV2_ENCR_AES_GCM_16, true, 8, 1, 16 },
		{ IKEV2_ENCR_CHACHA20_POLY1305, true, 8, 1, 16 },
	};
	static const struct {
		uint16_t prf;
		size_t len;
	} prf[] = {
		/* RFC 4868 section 2.1.2: the PRF's output is the digest. */
		{ IKEV2_PRF_HMAC_SHA2_256, 32 },
		{ IKEV2_PRF_HMAC_SHA2_384, 48 },
		{ IKEV2_PRF_HMAC_SHA2_512, 64 },
		{ IKEV2_PRF_HMAC_SHA1, 0 },
	};

	for (size_t i = 0; i < sizeof(encr) / sizeof(encr[0]); i++) {
		CHECK_INT(ike_encr_key_len(encr[i].encr, encr[i].keybits), encr[i].key_len);
		CHECK(ike_encr_supported(encr[i].encr, encr[i].keybits) == (encr[i].key_len != 0));
	}
	for (size_t i = 0; i < sizeof(integ) / sizeof(integ[0]); i++) {
		CHECK_INT(ike_integ_key_len(integ[i].integ), integ[i].key_len);
		CHECK_INT(ike_integ_icv_len(integ[i].integ), integ[i].icv_len);
		CHECK(ike_integ_supported(integ[i].integ) == (integ[i].key_len != 0));
		CHECK_INT(ike_sk_icv_len(IKEV2_ENCR_AES_CBC, integ[i].integ), integ[i].icv_len);
	}
	for (size_t i = 0; i < sizeof(dh) / sizeof(dh[0]); i++) {
		CHECK_INT(ike_dh_pub_len(dh[i].group), dh[i].pub_len);
		CHECK_INT(ike_dh_secret_len(dh[i].group), dh[i].secret_len);
		CHECK(ike_dh_supported(dh[i].group) == (dh[i].pub_len != 0));
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK(ike_encr_is_aead(modes[i].encr) == modes[i].aead);
		CHECK_INT(ike_encr_iv_len(modes[i].encr), modes[i].iv_len);
		CHECK_INT(ike_encr_block_len(modes[i].encr), modes[i].block_len);
		if (modes[i].aead)
			CHECK_INT(ike_sk_icv_len(modes[i].encr, IKEV2_INTEG_NONE),
				  modes[i].aead_icv_len);
	}
	for (size_t i = 0; i < sizeof(prf) / sizeof(prf[0]); i++)
		CHECK_INT(ike_prf_len(prf[i].prf), prf[i].len);
}

/* --- PRF ------------------------------------------------------------- */

#define TC1_DATA "Hi There"
#define TC2_DATA "what do ya want for nothing?"
#define TC6_DATA "Test Using Larger Than Block-Size Key - Hash Key First"
#define TC7_DATA                                                                       \
	"This is a test using a larger than block-size key and a larger than block-size " \
	"data. The key needs to be hashed before being used by the HMAC algorithm."

struct prf_kat {
	const char *src;
	uint16_t prf;
	const char *key_unit; /* the key is key_unit repeated key_rep times */
	size_t key_rep;
	const char *data;
	const char *mac;
};

/*
 * RFC 4231 section 4: test case 1 (4.2), 2 (4.3), 6 (4.7) and 7 (4.8);
 * RFC 4868 section 2.7.1 repeats them as PRF-1, PRF-2, PRF-5 and PRF-6.
 */
static const struct prf_kat rfc4231[] = {
	{ "RFC 4231 4.2 TC1 SHA-256", IKEV2_PRF_HMAC_SHA2_256, "\x0b", 20, TC1_DATA,
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "RFC 4231 4.3 TC2 SHA-256", IKEV2_PRF_HMAC_SHA2_256, "Jefe", 1, TC2_DATA,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "RFC 4231 4.7 TC6 SHA-256", IKEV2_PRF_HMAC_SHA2_256, "\xaa", 131, TC6_DATA,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ "RFC 4231 4.8 TC7 SHA-256", IKEV2_PRF_HMAC_SHA2_256, "\xaa", 131, TC7_DATA,
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	{ "RFC 4231 4.2 TC1 SHA-384", IKEV2_PRF_HMAC_SHA2_384, "\x0b", 20, TC1_DATA,
	  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
	  "faea9ea9076ede7f4af152e8b2fa9cb6" },
	{ "RFC 4231 4.3 TC2 SHA-384", IKEV2_PRF_HMAC_SHA2_384, "Jefe", 1, TC2_DATA,
	  "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
	  "8e2240ca5e69e2c78b3239ecfab21649" },
	{ "RFC 4231 4.7 TC6 SHA-384", IKEV2_PRF_HMAC_SHA2_384, "\xaa", 131, TC6_DATA,
	  "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
	  "0c2ef6ab4030fe8296248df163f44952" },
	{ "RFC 4231 4.8 TC7 SHA-384", IKEV2_PRF_HMAC_SHA2_384, "\xaa", 131, TC7_DATA,
	  "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
	  "a678cc31e799176d3860e6110c46523e" },
	{ "RFC 4231 4.2 TC1 SHA-512", IKEV2_PRF_HMAC_SHA2_512, "\x0b", 20, TC1_DATA,
	  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
	  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
	{ "RFC 4231 4.3 TC2 SHA-512", IKEV2_PRF_HMAC_SHA2_512, "Jefe", 1, TC2_DATA,
	  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	{ "RFC 4231 4.7 TC6 SHA-512", IKEV2_PRF_HMAC_SHA2_512, "\xaa", 131, TC6_DATA,
	  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
	{ "RFC 4231 4.8 TC7 SHA-512", IKEV2_PRF_HMAC_SHA2_512, "\xaa", 131, TC7_DATA,
	  "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
	  "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58" },
};

struct auth_kat {
	const char *src;
	uint16_t integ, prf; /* the PRF of the same hash computes the full MAC */
	const char *key_unit;
	size_t key_rep;
	const char *data;
	const char *mac;   /* PRF-HMAC-SHA-xxx */
	const char *trunc; /* HMAC-SHA-xxx-yyy, the ICV */
};

/*
 * RFC 4868 section 2.7.2: AUTH test cases 1 and 2 per hash, with keys of
 * the integrity key length (2.7.2.1 SHA-256, 2.7.2.2 SHA-384, 2.7.2.3
 * SHA-512).
 */
static const struct auth_kat rfc4868[] = {
	{ "RFC 4868 2.7.2.1 AUTH256-1", IKEV2_AUTH_HMAC_SHA2_256_128, IKEV2_PRF_HMAC_SHA2_256,
	  "\x0b", 32, TC1_DATA,
	  "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7",
	  "198a607eb44bfbc69903a0f1cf2bbdc5" },
	{ "RFC 4868 2.7.2.1 AUTH256-2", IKEV2_AUTH_HMAC_SHA2_256_128, IKEV2_PRF_HMAC_SHA2_256,
	  "Jefe", 8, TC2_DATA,
	  "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6",
	  "167f928588c5cc2eef8e3093caa0e87c" },
	{ "RFC 4868 2.7.2.2 AUTH384-1", IKEV2_AUTH_HMAC_SHA2_384_192, IKEV2_PRF_HMAC_SHA2_384,
	  "\x0b", 48, TC1_DATA,
	  "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
	  "4c5df61d5b3297b4fb68dab9f1b582c2",
	  "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973" },
	{ "RFC 4868 2.7.2.2 AUTH384-2", IKEV2_AUTH_HMAC_SHA2_384_192, IKEV2_PRF_HMAC_SHA2_384,
	  "Jefe", 12, TC2_DATA,
	  "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
	  "349524ca4e82400cbde0686d403371c9",
	  "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d" },
	{ "RFC 4868 2.7.2.3 AUTH512-1", IKEV2_AUTH_HMAC_SHA2_512_256, IKEV2_PRF_HMAC_SHA2_512,
	  "\x0b", 64, TC1_DATA,
	  "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
	  "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b",
	  "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8" },
	{ "RFC 4868 2.7.2.3 AUTH512-2", IKEV2_AUTH_HMAC_SHA2_512_256, IKEV2_PRF_HMAC_SHA2_512,
	  "Jefe", 16, TC2_DATA,
	  "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"
	  "6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38",
	  "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454" },
};

static void test_prf(void)
{
	uint8_t key[256], out[IKE_PRF_MAX];
	size_t klen, n;

	for (size_t i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		const struct prf_kat *v = &rfc4231[i];
		const uint8_t *mac = hx(v->mac, &n), *data = (const uint8_t *)v->data;

		klen = repeat(key, v->key_unit, v->key_rep);
		CHECK_INT(n, ike_prf_len(v->prf));
		CHECK_INT(ike_prf(v->prf, key, klen, data, strlen(v->data), out), 0);
		CHECK_MSG(memcmp(out, mac, n) == 0, "%s", v->src);
	}
	for (size_t i = 0; i < sizeof(rfc4868) / sizeof(rfc4868[0]); i++) {
		const struct auth_kat *v = &rfc4868[i];
		const uint8_t *mac = hx(v->mac, NULL), *trunc = hx(v->trunc, &n);
		const uint8_t *data = (const uint8_t *)v->data;

		klen = repeat(key, v->key_unit, v->key_rep);
		CHECK_INT(klen, ike_integ_key_len(v->integ));
		CHECK_INT(n, ike_integ_icv_len(v->integ));
		CHECK_INT(ike_prf(v->prf, key, klen, data, strlen(v->data), out), 0);
		CHECK_MSG(memcmp(out, mac, ike_prf_len(v->prf)) == 0, "%s", v->src);
		CHECK_MSG(memcmp(out, trunc, n) == 0, "%s truncated", v->src);
	}
	CHECK_INT(ike_prf(IKEV2_PRF_HMAC_SHA1, key, 20, key, 20, out), -ENOTSUP);
	hx_free();
}

/* prf+ (RFC 7296 section 2.13) by its definition, and its 255-block limit. */
static void test_prf_plus(void)
{
	static const uint16_t prfs[] = { IKEV2_PRF_HMAC_SHA2_256, IKEV2_PRF_HMAC_SHA2_384,
					 IKEV2_PRF_HMAC_SHA2_512 };
	const uint8_t key[] = "prf+ key", seed[] = "prf+ seed";
	uint8_t in[64 + sizeof(seed) + 1], t[IKE_PRF_MAX], *out, long_key[131];

	out = malloc(255 * IKE_PRF_MAX + 1);
	/*
	 * A key longer than the hash's block is hashed first: every block of
	 * prf+ must start again from that, not from the key as given.
	 */
	memset(long_key, 0xaa, sizeof(long_key));
	for (size_t i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++) {
		size_t plen = ike_prf_len(prfs[i]);

		CHECK_INT(ike_prf_plus(prfs[i], long_key, sizeof(long_key), seed, sizeof(seed), out,
				       3 * plen),
			  0);
		memcpy(in, out + plen, plen); /* T3 = prf(K, T2 | S | 0x03) */
		memcpy(in + plen, seed, sizeof(seed));
		in[plen + sizeof(seed)] = 3;
		CHECK_INT(ike_prf(prfs[i], long_key, sizeof(long_key), in, plen + sizeof(seed) + 1, t),
			  0);
		CHECK_MEM(out + 2 * plen, t, plen);
	}
	for (size_t i = 0; i < sizeof(prfs) / sizeof(prfs[0]); i++) {
		size_t plen = ike_prf_len(prfs[i]), max = 255 * plen;

		CHECK_INT(ike_prf_plus(prfs[i], key, sizeof(key), seed, sizeof(seed), out, max), 0);
		/* T1 = prf(K, S | 0x01) */
		memcpy(in, seed, sizeof(seed));
		in[sizeof(seed)] = 1;
		CHECK_INT(ike_prf(prfs[i], key, sizeof(key), in, sizeof(seed) + 1, t), 0);
		CHECK_MEM(out, t, plen);
		/* T255 = prf(K, T254 | S | 0xff): the last block before the limit */
		memcpy(in, out + 253 * plen, plen);
		memcpy(in + plen, seed, sizeof(seed));
		in[plen + sizeof(seed)] = 255;
		CHECK_INT(ike_prf(prfs[i], key, sizeof(key), in, plen + sizeof(seed) + 1, t), 0);
		CHECK_MEM(out + 254 * plen, t, plen);
		/* A 256th block would need the counter to wrap. */
		CHECK_INT(ike_prf_plus(prfs[i], key, sizeof(key), seed, sizeof(seed), out, max + 1),
			  -EINVAL);
		/* A shorter output is a prefix of the longer one. */
		memcpy(t, out, plen);
		CHECK_INT(ike_prf_plus(prfs[i], key, sizeof(key), seed, sizeof(seed), out, 5), 0);
		CHECK_MEM(out, t, 5);
	}
	CHECK_INT(ike_prf_plus(IKEV2_PRF_HMAC_SHA1, key, sizeof(key), seed, sizeof(seed), out, 20),
		  -ENOTSUP);
	free(out);
}

/* --- IKEv2 key schedule ---------------------------------------------- */

/*
 * NIST SP 800-135 section 4.1.2 IKEv2 KDF, test case "IKEv2 SHA2-256" of
 * the NIST ACVP server (usnistgov/ACVP-Server,
 * crypto/test/NIST.CVP.Crypto.IKEv2.Tests/IKEv2Tests.cs): 2048-bit nonces,
 * 224-bit g^ir, 3072-bit DKM.  DKM(Child SA) uses SK_d, the first 32
 * bytes of DKM.
 */
static const struct {
	const char *ni, *nr, *gir, *gir_new, *spi_i, *spi_r;
	const char *skeyseed, *dkm, *dkm_child, *dkm_child_dh, *skeyseed_rekey;
} acvp_ikev2_sha256 = {
	.ni = "0a58fea9c1d4fee2e74e1aad6fb02dd5f318eb127465a112be8dc3c04d5dba62"
		"eae708f9dc1b2362afd6ba4bda3cf5000f4979fbcbadbcfda9291593829c4e90"
		"5c21db0c2ee15175ce77a8a0dadf25c7f175bc53fd91b636a9b3c50b203de9b9"
		"d6dc463dcb4048f101e26498ceaed3afbcd931394a7e099392dfff82e5d6fa85"
		"c2e8a8ab90ad363a66795dc32798847e405acd87988140f973058917273a6b0b"
		"afb962c75e2b1a21e79c08beeb82168bf8b4b57f3dce867bf7862a7b8acbc21b"
		"e838021913daf64340c055ed17aaf7b6e1d0ca33ae890ddbdb83f4e615aad5e3"
		"bff58c3db70bac81a0dfbabe5391fc62bca4659e22a0741e01d8d06e67d9bb41",
	.nr = "e4fdfa68df6171d9eaff8b7b5ad31e7c6098d259f3397c9854cbefe7449b0864"
		"c1df16ddece8b26567560f8d59182a44c19149c2d0d72606a160021ade3d23c7"
		"c6936c91a4b6bec37adf38cfc84b851c68dcee06f81306f63abbefc07e231e30"
		"58c49437a557df617eac01663593d2a3e594699284c0a35eae6931492ccb2a43"
		"db72a600a3899205d681d2b76b1280e456339bb10e0c584aecfdae31c77a4c40"
		"dbcb345f782ac32835d4c220c1e97254ded6a40075dd717b00b69c86a49e8017"
		"73026536ae02d58a649827f1ba67610ee936dffd11c9d5a9156631916a0a0046"
		"ec0ba42f56f2a18de83d5d71a985b0cc9eec2c06b3d907ca58454419f374069d",
	.gir = "9d469de41b4739c7dd01f19aa94f17e48150ae9dbede94832142db19",
	.gir_new = "c2987b0767006c3b9aea491bfed1646a3d7194639492b8d45b23b383",
	.spi_i = "c8de93111750e409",
	.spi_r = "32d51b33508997fa",
	.skeyseed = "eec13ac67c2e072abb684ab4e7b6ce3e7f400af8b96bed48e113497ed337f8d4",
	.dkm = "bc83518f63b762874ac57947cdfae33a8d9724df0b83ee4b6df38c23fc2ad829"
		"f4d70b5a68dd1f5a52416f09758638aedf919c09a17c5298cdb703bb75b1005c"
		"ba0109739aaa4efd2fe7534c95ad05e546e4419931270eddcab68ac1589d7fde"
		"47f5b9e8d5b614cb24ec3caf515497a9e99ee6f1b318ff153b539ef071dcaff9"
		"b41945dcb780700d69e5dc888a91de195c52825badfd0ab4c33cec71ab5c2b4b"
		"adefe5455455ce5d8ae91721a2091bcccc1514e69482c9c8da1d9f0f187eedda"
		"916393570a8c0a8dfabc26d8ed31e8ea47662515972a22d11d692bc1fac6395a"
		"ecd82a01ab78daafcd6f3070b1201f158a19331b5d21ceee66fccd2ea37bc076"
		"48b9539a52dbf797af53e31a0e8706dd86cf5081ebabd095f281d23c222dd3bc"
		"5abf06869017ca8f751cafcc85abea6ba88c139d1f32a12f7f486cf57eae5d85"
		"551b97f3963616d8f597c70efa98c1e1fa369fb77a80b1ec5fe533890672c455"
		"1172eab1b7fd68ad08c4d4c69f2a867302065ca730aa6915bc2cfb6d93820977",
	.dkm_child = "c725012285d56e53244a9baaaf95abfca543708d333a3f3a86ba660e00edd4d4"
		"89bcd631819fda0413382edd9f53d1ed718e056c2ad91d38de90f06cd434de70"
		"141d051c021e7ddd6e4137946b4770dca59a4decabdd866852eb557fdd995646"
		"613ff2923f5f23aa58c8fbd5ad52cf2eac9bda97faad5596695f4a747a0f1cc6"
		"a1f78b2181138fb19ac24574d2e6b3a40d6e688abb919a27d793b76568ec66bd"
		"099f6f476b705c1472d774a1516a11311b887688f36649e24227640ea8d8666b"
		"9f452217e7103b6f0a92b6adb8fbda650ba58d6ac13ac6f6b6361a5d1c44f1e9"
		"f22196c96295115c5d01a120e7265962d20353a049286908da776c2165f706a1"
		"6f43d85fcd319f89c4386340bcb8ed10df38345cb68af719abaf997e9789a5f1"
		"9a392dcecd78168ba282f0b30555c7a47031a3156d12d7158aa41b863b8394d3"
		"0fec63120e89cbc5750eed7786f7d5961b1f2e6faca641ed776d2211bee757b6"
		"8b77f94056172553715da9fbd1c9a8728f28a2f3c9714a4917490132562484cd",
	.dkm_child_dh = "140a1f2a3c94318ece6edfa8c63f37d8d45982de8b6cbfe34011150db0253e34"
		"de3796d4aa579954a0bbf234794eb6e7ece2a8f91100f5507df4ee8e66c7813d"
		"4c0ff64d484a3494c54b0d9c605ea24234a49a010ce5c352feb9e1060c8c7872"
		"29466296cdc9d11bb9d221ed2bb39544572464254ec02a0fbe777b07402c775e"
		"b6d3e53cd16214c707f851942cc7da92a811b6c5c82f29d9fc3751b0ebff9898"
		"fb14372402a6989ffb9cc32dfe7e2cea32fd882e09804d7fea34ce3b5eb6f303"
		"e095c48a452b0a3eccada81af22195ebbaad289aeabdab074c94e751496bde39"
		"d868ebf1d693f36d1c3c672bbb59c9f77aeb68de57d77da231b7f13d6d277f60"
		"0c3d3086c4de7b3a59127f4cb9c118935574f30e1b7c88b52c8c3531fdbd38ee"
		"3d14c69e81803ced6e7501fa0180f6d110b648272002dc1ad5bf09dc83188011"
		"da1d48632e0d2453c8abdd8e9fd32a576aeb9ddfb0a024f674441c20a950d9bd"
		"8cd7b30933cc0d8e87b55e8aa9d913579b410417b3acc13c14bf73c457327873",
	.skeyseed_rekey = "05f796c8df322a7e33283ae5fa2f376d8d5efa0ac3745fc548e430031424c121",
};

/* k split as section 2.14 orders it: SK_d SK_ai SK_ar SK_ei SK_er SK_pi SK_pr. */
static void check_split(const struct ike_keys *k, const uint8_t *km, size_t plen,
			size_t a_len, size_t e_len)
{
	size_t off = 0;

	CHECK_INT(k->prf_len, plen);
	CHECK_INT(k->a_len, a_len);
	CHECK_INT(k->e_len, e_len);
	CHECK_MEM(k->sk_d, km + off, plen);
	off += plen;
	CHECK_MEM(k->sk_ai, km + off, a_len);
	off += a_len;
	CHECK_MEM(k->sk_ar, km + off, a_len);
	off += a_len;
	CHECK_MEM(k->sk_ei, km + off, e_len);
	off += e_len;
	CHECK_MEM(k->sk_er, km + off, e_len);
	off += e_len;
	CHECK_MEM(k->sk_pi, km + off, plen);
	off += plen;
	CHECK_MEM(k->sk_pr, km + off, plen);
}

static void test_ikev2_kdf(void)
{
	const uint16_t prf = IKEV2_PRF_HMAC_SHA2_256;
	size_t nil, nrl, girl, gnl, dkml;
	const uint8_t *ni = hx(acvp_ikev2_sha256.ni, &nil);
	const uint8_t *nr = hx(acvp_ikev2_sha256.nr, &nrl);
	const uint8_t *gir = hx(acvp_ikev2_sha256.gir, &girl);
	const uint8_t *gn = hx(acvp_ikev2_sha256.gir_new, &gnl);
	const uint8_t *spi_i = hx(acvp_ikev2_sha256.spi_i, NULL);
	const uint8_t *spi_r = hx(acvp_ikev2_sha256.spi_r, NULL);
	const uint8_t *skeyseed = hx(acvp_ikev2_sha256.skeyseed, NULL);
	const uint8_t *dkm = hx(acvp_ikev2_sha256.dkm, &dkml);
	const uint8_t *dkm_child = hx(acvp_ikev2_sha256.dkm_child, NULL);
	const uint8_t *dkm_child_dh = hx(acvp_ikev2_sha256.dkm_child_dh, NULL);
	const uint8_t *rekey = hx(acvp_ikev2_sha256.skeyseed_rekey, NULL);
	uint8_t buf[1024], out[384], ss[IKE_PRF_MAX];
	struct ike_keys k;
	size_t n;

	CHECK_INT(dkml, sizeof(out));

	/* SKEYSEED = prf(Ni | Nr, g^ir) */
	memcpy(buf, ni, nil);
	memcpy(buf + nil, nr, nrl);
	CHECK_INT(ike_prf(prf, buf, nil + nrl, gir, girl, ss), 0);
	CHECK_MEM(ss, skeyseed, 32);

	/* DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
	memcpy(buf + nil + nrl, spi_i, 8);
	memcpy(buf + nil + nrl + 8, spi_r, 8);
	CHECK_INT(ike_prf_plus(prf, skeyseed, 32, buf, nil + nrl + 16, out, sizeof(out)), 0);
	CHECK_MEM(out, dkm, sizeof(out));

	/* The same through the key schedule, for a CBC and an AEAD suite. */
	CHECK_INT(ike_derive_ike_keys(prf, ni, nil, nr, nrl, gir, girl, get_be64(spi_i),
				      get_be64(spi_r), 32, 32, &k), 0);
	check_split(&k, dkm, 32, 32, 32);
	CHECK_INT(ike_derive_ike_keys(prf, ni, nil, nr, nrl, gir, girl, get_be64(spi_i),
				      get_be64(spi_r), 0, 36, &k), 0);
	check_split(&k, dkm, 32, 0, 36);

	/* DKM(Child SA) = prf+(SK_d, Ni | Nr) */
	CHECK_INT(ike_child_keymat(prf, k.sk_d, k.prf_len, NULL, 0, ni, nil, nr, nrl, out,
				   sizeof(out)), 0);
	CHECK_MEM(out, dkm_child, sizeof(out));

	/* DKM(Child SA D-H) = prf+(SK_d, g^ir (new) | Ni | Nr) */
	CHECK_INT(ike_child_keymat(prf, k.sk_d, k.prf_len, gn, gnl, ni, nil, nr, nrl, out,
				   sizeof(out)), 0);
	CHECK_MEM(out, dkm_child_dh, sizeof(out));

	/* SKEYSEED(Rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr) */
	memcpy(buf, gn, gnl);
	memcpy(buf + gnl, ni, nil);
	memcpy(buf + gnl + nil, nr, nrl);
	CHECK_INT(ike_prf(prf, k.sk_d, k.prf_len, buf, gnl + nil + nrl, ss), 0);
	CHECK_MEM(ss, rekey, 32);

	/* The rekeyed SA's keys are prf+(SKEYSEED(Rekey), Ni | Nr | SPIi | SPIr). */
	memcpy(buf, ni, nil);
	memcpy(buf + nil, nr, nrl);
	memcpy(buf + nil + nrl, spi_i, 8);
	memcpy(buf + nil + nrl + 8, spi_r, 8);
	n = 3 * 32 + 2 * 32 + 2 * 32;
	CHECK_INT(ike_prf_plus(prf, rekey, 32, buf, nil + nrl + 16, out, n), 0);
	memcpy(ss, k.sk_d, 32);
	CHECK_INT(ike_derive_rekey_keys(prf, ss, 32, prf, ni, nil, nr, nrl, gn, gnl,
					get_be64(spi_i), get_be64(spi_r), 32, 32, &k), 0);
	check_split(&k, out, 32, 32, 32);
	/* Old SK_d and the new keys may share a struct. */
	memcpy(k.sk_d, ss, 32);
	CHECK_INT(ike_derive_rekey_keys(prf, k.sk_d, 32, prf, ni, nil, nr, nrl, gn, gnl,
					get_be64(spi_i), get_be64(spi_r), 32, 32, &k), 0);
	check_split(&k, out, 32, 32, 32);

	/* Impossible lengths and unknown PRFs are refused, leaving nothing behind. */
	CHECK_INT(ike_derive_ike_keys(prf, ni, nil, nr, nrl, gir, girl, 1, 2, IKE_KEY_MAX + 1, 32,
				      &k), -EINVAL);
	CHECK_INT(ike_derive_ike_keys(IKEV2_PRF_HMAC_SHA1, ni, nil, nr, nrl, gir, girl, 1, 2, 32,
				      32, &k), -ENOTSUP);
	CHECK_INT(k.prf_len, 0);
	ike_keys_wipe(&k);
	hx_free();
}

/* --- key exchange ---------------------------------------------------- */

struct dh_kat {
	const char *src;
	uint16_t group;
	const char *i, *gi, *r, *gr, *gir;
};

static const struct dh_kat dh_kats[] = {
	/* RFC 7748 section 6.1: Alice is i, Bob is r. */
	{ "RFC 7748 6.1 X25519", IKEV2_DH_CURVE25519,
	  "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	  "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	  "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" },
	/* RFC 7748 section 6.2 */
	{ "RFC 7748 6.2 X448", IKEV2_DH_CURVE448,
	  "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf5"
	  "74a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
	  "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bb"
	  "c836647241d953d40c5b12da88120d53177f80e532c41fa0",
	  "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120"
	  "bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
	  "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972"
	  "fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
	  "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56"
	  "fd2464c335543936521c24403085d59a449a5037514a879d" },
	/* RFC 5903 section 8.1: gi and gr are x | y, gir is x. */
	{ "RFC 5903 8.1 ECP-256", IKEV2_DH_ECP_256,
	  "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
	  "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
	  "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
	  "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
	  "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
	  "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
	  "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE" },
	/* RFC 5903 section 8.2 */
	{ "RFC 5903 8.2 ECP-384", IKEV2_DH_ECP_384,
	  "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
	  "E35B5380 41E649EE 3FAEF896 783AB194",
	  "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
	  "DE3AC808 ACB4BDB4 C88732AE E95F41AA"
	  "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
	  "EB9FCFF3 C2C947DA E69B4C63 4573A81C",
	  "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
	  "E0308312 916B8ED2 960E4BD5 5A7448FC",
	  "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
	  "0D1AC43A 0336DEF9 6FDA41D0 774A3571"
	  "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
	  "F83FA401 42209DFF 5EAAD96D B9E6386C",
	  "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
	  "D6031355 69B9E9D0 9CF5D4A2 70F59746" },
	/* RFC 5903 section 8.3 */
	{ "RFC 5903 8.3 ECP-521", IKEV2_DH_ECP_521,
	  "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
	  "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D"
	  "4A52",
	  "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
	  "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C"
	  "ED3E"
	  "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
	  "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F"
	  "9582",
	  "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
	  "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168"
	  "5EB9",
	  "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
	  "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9"
	  "460F"
	  "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
	  "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F"
	  "C56A",
	  "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
	  "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3"
	  "DDEA" },
};

#define PUB_MAX 512

static void test_dh_kat(void)
{
	for (size_t t = 0; t < sizeof(dh_kats) / sizeof(dh_kats[0]); t++) {
		const struct dh_kat *v = &dh_kats[t];
		size_t il, rl, gil, grl, girl, len;
		const uint8_t *i = hx(v->i, &il), *r = hx(v->r, &rl);
		const uint8_t *gi = hx(v->gi, &gil), *gr = hx(v->gr, &grl);
		const uint8_t *gir = hx(v->gir, &girl);
		struct ike_dh *a = ike_dh_new_private(v->group, i, il);
		struct ike_dh *b = ike_dh_new_private(v->group, r, rl);
		uint8_t pub[PUB_MAX], sec[PUB_MAX];

		CHECK_MSG(a && b, "%s: key from private value", v->src);
		if (!a || !b) {
			ike_dh_free(a);
			ike_dh_free(b);
			continue;
		}
		CHECK_INT(ike_dh_group(a), v->group);
		CHECK_INT(gil, ike_dh_pub_len(v->group));
		CHECK_INT(girl, ike_dh_secret_len(v->group));

		len = sizeof(pub);
		CHECK_INT(ike_dh_public(a, pub, &len), 0);
		CHECK_INT(len, gil);
		CHECK_MSG(memcmp(pub, gi, gil) == 0, "%s: g^i", v->src);
		len = sizeof(pub);
		CHECK_INT(ike_dh_public(b, pub, &len), 0);
		CHECK_MSG(memcmp(pub, gr, grl) == 0, "%s: g^r", v->src);

		len = sizeof(sec);
		CHECK_INT(ike_dh_derive(a, gr, grl, sec, &len), 0);
		CHECK_INT(len, girl);
		CHECK_MSG(memcmp(sec, gir, girl) == 0, "%s: g^ir at i", v->src);
		len = sizeof(sec);
		CHECK_INT(ike_dh_derive(b, gi, gil, sec, &len), 0);
		CHECK_MSG(memcmp(sec, gir, girl) == 0, "%s: g^ir at r", v->src);

		/* A buffer too small for the public value or the secret. */
		len = gil - 1;
		CHECK_INT(ike_dh_public(a, pub, &len), -EINVAL);
		len = girl - 1;
		CHECK_INT(ike_dh_derive(a, gr, grl, sec, &len), -EINVAL);

		ike_dh_free(a);
		ike_dh_free(b);
	}
	CHECK(ike_dh_new_private(IKEV2_DH_CURVE25519, (const uint8_t *)"short", 5) == NULL);
	CHECK(ike_dh_new(IKEV2_DH_NONE) == NULL);
	hx_free();
}

static const uint16_t all_groups[] = {
	IKEV2_DH_MODP_2048, IKEV2_DH_MODP_3072, IKEV2_DH_MODP_4096,  IKEV2_DH_ECP_256,
	IKEV2_DH_ECP_384,   IKEV2_DH_ECP_521,   IKEV2_DH_CURVE25519, IKEV2_DH_CURVE448,
};

/* Two fresh key pairs of every group reach the same secret. */
static void test_dh_agreement(void)
{
	for (size_t t = 0; t < sizeof(all_groups) / sizeof(all_groups[0]); t++) {
		uint16_t grp = all_groups[t];
		struct ike_dh *a = ike_dh_new(grp), *b = ike_dh_new(grp);
		uint8_t pa[PUB_MAX], pb[PUB_MAX], sa[PUB_MAX], sb[PUB_MAX];
		size_t la = sizeof(pa), lb = sizeof(pb), ls = sizeof(sa), lt = sizeof(sb);

		CHECK_MSG(a && b, "group %u: key generation", grp);
		if (!a || !b) {
			ike_dh_free(a);
			ike_dh_free(b);
			continue;
		}
		CHECK_INT(ike_dh_public(a, pa, &la), 0);
		CHECK_INT(ike_dh_public(b, pb, &lb), 0);
		CHECK_INT(la, ike_dh_pub_len(grp));
		CHECK(memcmp(pa, pb, la) != 0);
		CHECK_INT(ike_dh_derive(a, pb, lb, sa, &ls), 0);
		CHECK_INT(ike_dh_derive(b, pa, la, sb, &lt), 0);
		CHECK_INT(ls, ike_dh_secret_len(grp));
		CHECK_INT(lt, ls);
		CHECK_MSG(memcmp(sa, sb, ls) == 0, "group %u: secrets differ", grp);
		ike_dh_free(a);
		ike_dh_free(b);
	}
}

/* RFC 3526 section 3: the 2048-bit MODP prime. */
static const char modp2048_p[] =
	"FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1"
	"29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
	"EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245"
	"E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED"
	"EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D"
	"C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F"
	"83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D"
	"670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B"
	"E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9"
	"DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510"
	"15728E5A 8AACAA68 FFFFFFFF FFFFFFFF";

/* d(peer) on a fresh key of `grp`: the return value. */
static int derive_with(uint16_t grp, const uint8_t *peer, size_t plen)
{
	struct ike_dh *dh = ike_dh_new(grp);
	uint8_t sec[PUB_MAX];
	size_t len = sizeof(sec);
	int ret;

	if (!dh)
		return -1000;
	ret = ike_dh_derive(dh, peer, plen, sec, &len);
	ike_dh_free(dh);
	return ret;
}

/*
 * MODP-2048 peer values (RFC 6989 section 2.1: 1 < y < p - 1), each a
 * base with a small number added to its last octet.
 */
enum modp_base { MODP_ZERO, MODP_P, MODP_ONES };

static const struct {
	const char *what;
	enum modp_base base;
	int last;
	int want;
} modp_peers[] = {
	{ "0", MODP_ZERO, 0, -EINVAL },
	{ "1", MODP_ZERO, 1, -EINVAL },
	{ "p", MODP_P, 0, -EINVAL },
	{ "p - 1", MODP_P, -1, -EINVAL },
	{ "2^2048 - 1 > p", MODP_ONES, 0, -EINVAL },
	/*
	 * p - 2 is in range but outside the order-q subgroup: p = 7 mod 8
	 * makes 2 a square and -1 a non-square, so -2 is a non-square.
	 */
	{ "p - 2", MODP_P, -2, -EINVAL },
	/* 2 itself, the generator, is accepted. */
	{ "2", MODP_ZERO, 2, 0 },
};

/* Values of the KE payload's length that no key of the group may accept. */
static const struct {
	const char *what;
	uint16_t group;
	uint8_t first; /* the first octet; the rest are zero */
} zero_peers[] = {
	/* (0, 0): what an infinity written as x | y would look like. */
	{ "ECP-256 (0, 0)", IKEV2_DH_ECP_256, 0 },
	{ "ECP-384 (0, 0)", IKEV2_DH_ECP_384, 0 },
	{ "ECP-521 (0, 0)", IKEV2_DH_ECP_521, 0 },
	/*
	 * u = 0 (order 2) and u = 1 (order 4) are small-order points (RFC
	 * 7748 section 7); clamped scalars send them to the all-zero value
	 * that RFC 8031 section 2.3 requires us to refuse.
	 */
	{ "X25519 u = 0", IKEV2_DH_CURVE25519, 0 },
	{ "X448 u = 0", IKEV2_DH_CURVE448, 0 },
	{ "X25519 u = 1", IKEV2_DH_CURVE25519, 1 },
	{ "X448 u = 1", IKEV2_DH_CURVE448, 1 },
};

static void test_dh_reject(void)
{
	uint8_t v[PUB_MAX + 1];
	size_t plen;
	const uint8_t *p = hx(modp2048_p, &plen);
	const uint8_t *gr256 = hx(dh_kats[2].gr, NULL);

	CHECK_INT(plen, 256);
	for (size_t t = 0; t < sizeof(modp_peers) / sizeof(modp_peers[0]); t++) {
		switch (modp_peers[t].base) {
		case MODP_ZERO: memset(v, 0, 256); break;
		case MODP_P: memcpy(v, p, 256); break;
		case MODP_ONES: memset(v, 0xff, 256); break;
		}
		v[255] = (uint8_t)(v[255] + modp_peers[t].last);
		CHECK_MSG(derive_with(IKEV2_DH_MODP_2048, v, 256) == modp_peers[t].want,
			  "MODP-2048 peer value %s", modp_peers[t].what);
	}

	/* Every group: a KE payload one byte short or long. */
	for (size_t t = 0; t < sizeof(all_groups) / sizeof(all_groups[0]); t++) {
		size_t len = ike_dh_pub_len(all_groups[t]);

		memset(v, 0x42, sizeof(v));
		CHECK_INT(derive_with(all_groups[t], v, len - 1), -EINVAL);
		CHECK_INT(derive_with(all_groups[t], v, len + 1), -EINVAL);
		CHECK_INT(derive_with(all_groups[t], v, 0), -EINVAL);
	}

	/* ECP: RFC 5903 8.1's g^r with one bit of y flipped is off the curve. */
	memcpy(v, gr256, 64);
	CHECK_INT(derive_with(IKEV2_DH_ECP_256, v, 64), 0);
	v[63] ^= 1;
	CHECK_INT(derive_with(IKEV2_DH_ECP_256, v, 64), -EINVAL);
	/* x = 2^256 - 1 is not a field element. */
	memcpy(v, gr256, 64);
	memset(v, 0xff, 32);
	CHECK_INT(derive_with(IKEV2_DH_ECP_256, v, 64), -EINVAL);
	for (size_t t = 0; t < sizeof(zero_peers) / sizeof(zero_peers[0]); t++) {
		uint16_t grp = zero_peers[t].group;

		memset(v, 0, sizeof(v));
		v[0] = zero_peers[t].first;
		CHECK_MSG(derive_with(grp, v, ike_dh_pub_len(grp)) == -EINVAL, "%s",
			  zero_peers[t].what);
	}
	hx_free();
}

/* --- SK payload: AEAD -------------------------------------------------- */

struct aead_kat {
	const char *src;
	uint16_t encr, keybits;
	const char *key, *nonce, *aad, *pt, *ct, *tag;
};

#define GCM_TC_IV "cafebabefacedbaddecaf888"
#define GCM_TC_AAD "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_TC_PT                                                          \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"

/*
 * The 12-byte nonce of each vector is salt | IV: its first 4 bytes go at
 * the end of the key (RFC 5282 section 4, RFC 7634 section 2), the last 8
 * into the message as the IV.
 */
static const struct aead_kat aead_kats[] = {
	/* RFC 8439 section 2.8.2 */
	{ "RFC 8439 2.8.2", IKEV2_ENCR_CHACHA20_POLY1305, 0,
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	  "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	  /* "Ladies and Gentlemen of the class of '99: If I could offer you
	   * only one tip for the future, sunscreen would be it." */
	  "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
	  "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
	  "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
	  "637265656e20776f756c642062652069742e",
	  "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	  "3ff4def08e4b7a9de576d26586cec64b6116",
	  "1ae10b594f09e26a7e902ecbd0600691" },
	/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 4 */
	{ "GCM spec test case 4", IKEV2_ENCR_AES_GCM_16, 128, "feffe9928665731c6d6a8f9467308308",
	  GCM_TC_IV, GCM_TC_AAD, GCM_TC_PT,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
	/* ... test case 16, its AES-256 twin */
	{ "GCM spec test case 16", IKEV2_ENCR_AES_GCM_16, 256,
	  "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	  GCM_TC_IV, GCM_TC_AAD, GCM_TC_PT,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

#define MSG_MAX 512

static void test_aead(void)
{
	for (size_t t = 0; t < sizeof(aead_kats) / sizeof(aead_kats[0]); t++) {
		const struct aead_kat *v = &aead_kats[t];
		size_t kl, al, pl, cl, n;
		const uint8_t *key = hx(v->key, &kl), *nonce = hx(v->nonce, &n);
		const uint8_t *aad = hx(v->aad, &al), *pt = hx(v->pt, &pl);
		const uint8_t *ct = hx(v->ct, &cl), *tag = hx(v->tag, NULL);
		uint8_t ekey[IKE_KEY_MAX], msg[MSG_MAX];
		struct ike_sk_ctx c = { .encr = v->encr, .keybits = v->keybits, .ekey = ekey };
		size_t len = al + 8 + pl + 16;
		const size_t at[] = { len - 1, al + 8 + 3, 1, al + 2 };

		CHECK_INT(n, 12);
		CHECK_INT(ike_encr_key_len(v->encr, v->keybits), kl + 4);
		memcpy(ekey, key, kl);
		memcpy(ekey + kl, nonce, 4);
		/* [AAD][IV][plaintext][tag] */
		memcpy(msg, aad, al);
		memcpy(msg + al + 8, pt, pl);
		CHECK_INT(ike_sk_seal(&c, msg, al, pl, nonce + 4), 0);
		CHECK_MSG(memcmp(msg + al, nonce + 4, 8) == 0, "%s: IV", v->src);
		CHECK_MSG(memcmp(msg + al + 8, ct, cl) == 0, "%s: ciphertext", v->src);
		CHECK_MSG(memcmp(msg + al + 8 + pl, tag, 16) == 0, "%s: tag", v->src);

		CHECK_INT(ike_sk_open(&c, msg, al, len), (int)pl);
		CHECK_MSG(memcmp(msg + al + 8, pt, pl) == 0, "%s: open", v->src);

		/* A flipped bit in tag, ciphertext, AAD or IV: refused, nothing released. */
		for (size_t f = 0; f < sizeof(at) / sizeof(at[0]); f++) {
			memcpy(msg + al + 8, pt, pl);
			CHECK_INT(ike_sk_seal(&c, msg, al, pl, nonce + 4), 0);
			msg[at[f]] ^= 0x10;
			CHECK_INT(ike_sk_open(&c, msg, al, len), -EBADMSG);
			msg[at[f]] ^= 0x10;
			CHECK_MSG(memcmp(msg + al + 8, ct, cl) == 0, "%s: released on failure",
				  v->src);
		}
		/* Shorter than IV and tag together. */
		CHECK_INT(ike_sk_open(&c, msg, al, al + 8 + 15), -EINVAL);
		CHECK_INT(ike_sk_open(&c, msg, al, al - 1), -EINVAL);

		/* A random IV round-trips too. */
		memcpy(msg + al + 8, pt, pl);
		CHECK_INT(ike_sk_seal(&c, msg, al, pl, NULL), 0);
		CHECK_INT(ike_sk_open(&c, msg, al, len), (int)pl);
		CHECK(memcmp(msg + al + 8, pt, pl) == 0);
	}
	hx_free();
}

/* --- SK payload: AES-CBC + HMAC ----------------------------------------- */

/*
 * NIST SP 800-38A appendix F.2.1 (CBC-AES128) and F.2.5 (CBC-AES256):
 * checks the ciphertext; the ICV is checked against ike_prf below.
 */
static const struct {
	const char *src;
	uint16_t keybits;
	const char *key, *ct;
} cbc_kats[] = {
	{ "SP 800-38A F.2.1", 128, "2b7e151628aed2a6abf7158809cf4f3c",
	  "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
	  "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7" },
	{ "SP 800-38A F.2.5", 256,
	  "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
	  "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b" },
};

#define SP800_38A_IV "000102030405060708090a0b0c0d0e0f"
#define SP800_38A_PT                                                       \
	"6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" \
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

static const struct {
	uint16_t integ, prf;
} cbc_integs[] = {
	{ IKEV2_AUTH_HMAC_SHA2_256_128, IKEV2_PRF_HMAC_SHA2_256 },
	{ IKEV2_AUTH_HMAC_SHA2_384_192, IKEV2_PRF_HMAC_SHA2_384 },
	{ IKEV2_AUTH_HMAC_SHA2_512_256, IKEV2_PRF_HMAC_SHA2_512 },
};

#define HDR_LEN (IKEV2_HDR_LEN + IKEV2_GENHDR_LEN) /* the AAD of an SK payload */

/* ICV = the first icv_len bytes of HMAC(SK_a, msg[0, len)), section 3.14. */
static void check_icv(uint16_t integ, uint16_t prf, const uint8_t *akey, const uint8_t *msg,
		      size_t len)
{
	uint8_t mac[IKE_PRF_MAX];

	CHECK_INT(ike_prf(prf, akey, ike_integ_key_len(integ), msg, len, mac), 0);
	CHECK_MEM(msg + len, mac, ike_integ_icv_len(integ));
}

static void test_cbc(void)
{
	const uint8_t *iv = hx(SP800_38A_IV, NULL);
	size_t pl;
	const uint8_t *pt = hx(SP800_38A_PT, &pl);
	uint8_t akey[64], msg[MSG_MAX], copy[MSG_MAX];

	memset(akey, 0x5a, sizeof(akey));
	for (size_t t = 0; t < sizeof(cbc_kats) / sizeof(cbc_kats[0]); t++) {
		const uint8_t *key = hx(cbc_kats[t].key, NULL), *ct = hx(cbc_kats[t].ct, NULL);
		struct ike_sk_ctx c = { .encr = IKEV2_ENCR_AES_CBC,
					.keybits = cbc_kats[t].keybits,
					.integ = IKEV2_AUTH_HMAC_SHA2_256_128,
					.ekey = key,
					.akey = akey };
		size_t len = HDR_LEN + 16 + pl + 16;

		memset(msg, 0xa5, HDR_LEN);
		memcpy(msg + HDR_LEN + 16, pt, pl);
		CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, pl, iv), 0);
		CHECK_MSG(memcmp(msg + HDR_LEN + 16, ct, pl) == 0, "%s", cbc_kats[t].src);
		check_icv(c.integ, IKEV2_PRF_HMAC_SHA2_256, akey, msg, HDR_LEN + 16 + pl);
		CHECK_INT(ike_sk_open(&c, msg, HDR_LEN, len), (int)pl);
		CHECK_MEM(msg + HDR_LEN + 16, pt, pl);
	}

	/* Every supported key size with every integrity algorithm. */
	for (uint16_t kb = 128; kb <= 256; kb += 64) {
		for (size_t j = 0; j < sizeof(cbc_integs) / sizeof(cbc_integs[0]); j++) {
			uint8_t ekey[32];
			struct ike_sk_ctx c = { .encr = IKEV2_ENCR_AES_CBC,
						.keybits = kb,
						.integ = cbc_integs[j].integ,
						.ekey = ekey,
						.akey = akey };
			size_t icv = ike_sk_icv_len(c.encr, c.integ);
			size_t len = HDR_LEN + 16 + pl + icv;
			const size_t at[] = { HDR_LEN + 16 + 5, HDR_LEN + 3, 0, len - 1 };

			CHECK_INT(ike_random(ekey, sizeof(ekey)), 0);
			CHECK_INT(ike_random(akey, sizeof(akey)), 0);
			memset(msg, 0xa5, HDR_LEN);
			memcpy(msg + HDR_LEN + 16, pt, pl);
			CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, pl, NULL), 0);
			CHECK(memcmp(msg + HDR_LEN + 16, pt, pl) != 0);
			check_icv(c.integ, cbc_integs[j].prf, akey, msg, HDR_LEN + 16 + pl);
			memcpy(copy, msg, len);
			CHECK_INT(ike_sk_open(&c, msg, HDR_LEN, len), (int)pl);
			CHECK_MEM(msg + HDR_LEN + 16, pt, pl);

			/*
			 * Tampered ciphertext, IV, header or ICV: refused, and the
			 * ciphertext is left as it was: nothing was decrypted.
			 */
			for (size_t f = 0; f < sizeof(at) / sizeof(at[0]); f++) {
				memcpy(msg, copy, len);
				msg[at[f]] ^= 0x01;
				CHECK_INT(ike_sk_open(&c, msg, HDR_LEN, len), -EBADMSG);
				msg[at[f]] ^= 0x01;
				CHECK(memcmp(msg, copy, len) == 0);
			}

			/* Ciphertext not whole blocks, or empty. */
			memcpy(msg, copy, len);
			CHECK_INT(ike_sk_open(&c, msg, HDR_LEN, len - 1), -EINVAL);
			CHECK_INT(ike_sk_open(&c, msg, HDR_LEN, HDR_LEN + 16 + icv), -EINVAL);
			CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, pl - 1, NULL), -EINVAL);
			CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, 0, NULL), -EINVAL);
		}
	}

	/* Unsupported algorithms and missing keys. */
	{
		uint8_t ekey[32] = { 0 };
		struct ike_sk_ctx c = { .encr = IKEV2_ENCR_AES_CBC,
					.keybits = 128,
					.integ = IKEV2_AUTH_HMAC_SHA1_96,
					.ekey = ekey,
					.akey = akey };

		CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, 16, NULL), -ENOTSUP);
		c.integ = IKEV2_AUTH_HMAC_SHA2_256_128;
		c.akey = NULL;
		CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, 16, NULL), -EINVAL);
		c.encr = IKEV2_ENCR_CHACHA20_POLY1305;
		c.keybits = 128;
		CHECK_INT(ike_sk_seal(&c, msg, HDR_LEN, 16, NULL), -ENOTSUP);
	}
	hx_free();
}

/* --- misc ------------------------------------------------------------- */

/* FIPS 180-2 appendix A.1 and B.1: the one-block message "abc". */
static const struct {
	const char *src;
	int (*fn)(const uint8_t *data, size_t len, uint8_t *out);
	const char *msg, *digest;
} digest_kats[] = {
	{ "FIPS 180-2 A.1 SHA-1", ike_sha1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ "FIPS 180-2 B.1 SHA-256", ike_sha256, "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
};

static void test_misc(void)
{
	uint8_t out[32], r1[32], r2[32];

	for (size_t t = 0; t < sizeof(digest_kats) / sizeof(digest_kats[0]); t++) {
		size_t n;
		const uint8_t *digest = hx(digest_kats[t].digest, &n);
		const char *msg = digest_kats[t].msg;

		CHECK_INT(digest_kats[t].fn((const uint8_t *)msg, strlen(msg), out), 0);
		CHECK_MSG(memcmp(out, digest, n) == 0, "%s", digest_kats[t].src);
	}
	CHECK_INT(ike_random(r1, sizeof(r1)), 0);
	CHECK_INT(ike_random(r2, sizeof(r2)), 0);
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	CHECK_INT(ike_random(r1, 0), 0);
	CHECK_INT(ike_random_secret(r1, sizeof(r1)), 0);
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	hx_free();
}

/*
 * ike_random() serves small requests from a per-thread pool: draws across
 * several refills never repeat, a request larger than the pool's share
 * works, and a forked child does not hand out the bytes its parent will.
 */
static void test_random_pool(void)
{
	enum { N = 200 }; /* 200 x 32 bytes: twelve refills of 512 */
	static uint8_t seen[N][32];
	uint8_t big[4096], mine[32], child[32];
	int fds[2], status = 0;
	bool dup = false;
	pid_t pid;

	for (int i = 0; i < N; i++) {
		CHECK_INT(ike_random(seen[i], 32), 0);
		for (int j = 0; j < i && !dup; j++)
			dup = memcmp(seen[i], seen[j], 32) == 0;
	}
	CHECK(!dup);
	CHECK_INT(ike_random(big, sizeof(big)), 0);
	CHECK(memcmp(big, big + 2048, 32) != 0);

	CHECK_INT(ike_random(mine, 8), 0); /* the pool is part-used now */
	CHECK_INT(pipe(fds), 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (ike_random(child, sizeof(child)) == 0 &&
		    write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child))
			_exit(0);
		_exit(1);
	}
	close(fds[1]);
	CHECK_INT(ike_random(mine, sizeof(mine)), 0);
	CHECK_INT((int)read(fds[0], child, sizeof(child)), (int)sizeof(child));
	close(fds[0]);
	CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(memcmp(mine, child, sizeof(mine)) != 0);
}

int main(void)
{
	test_lengths();
	test_prf();
	test_prf_plus();
	test_ikev2_kdf();
	test_dh_kat();
	test_dh_agreement();
	test_dh_reject();
	test_aead();
	test_cbc();
	test_misc();
	test_random_pool();
	return check_done("crypto");
}
