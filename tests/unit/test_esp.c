/* SPDX-License-Identifier: ISC */
/*
 * esp-soft without I/O.  What it proves:
 *  1. esp_decap reads published ESP packets: the AES-GCM test cases of
 *     draft-mcgrew-gcm-test-01 (128/192/256-bit keys, 32-bit and extended
 *     sequence numbers), RFC 7634 Appendix A (ChaCha20-Poly1305, tunnel
 *     mode), and RFC 7539 A.5 read as an ESN packet (authentic, but its
 *     "padding" is text: -EPROTO, not an ICV failure).
 *  2. esp_encap output verifies under a separate, plain-EVP implementation
 *     of RFC 4106 / RFC 7634 / RFC 4868, and round-trips for every
 *     algorithm, ESN on and off, payloads 0..1500 bytes.
 *  3. The backend (two instances wired back to back, no start) carries
 *     tunnel and transport packets, IPv4 and IPv6, and drops and counts
 *     each malformed packet: short, bad pad, bad next header, dummy, bad
 *     ICV, wrong SPI, replayed, too old, inner mismatch, policy mismatch.
 *  4. The ops behave like the kernel's (EEXIST, ESRCH, ENOENT), and the
 *     events come: ACQUIRE (rate-limited), soft/hard expiry by packets,
 *     bytes and time, sequence-number exhaustion, MAPPING, IKE and
 *     keepalives on the NAT-T port.
 *  6. Threads: three slots carry packets while the control thread adds,
 *     deletes and queries SAs and policies and runs housekeeping; every
 *     packet is either delivered or counted as dropped (ASan/TSan builds
 *     watch the locking).
 *  5. TUN offloads: checksums agree with a naive RFC 1071 sum; a TSO
 *     super-packet (IPv4 and IPv6, with options) cuts into segments with
 *     the right lengths, IDs, sequence numbers, flags and checksums; those
 *     segments coalesce back into one super-packet whose virtio header
 *     cuts into the same segments again; anything that does not continue
 *     a run stays out of it.
 */
#include <arpa/inet.h>
#include <errno.h>

#include <openssl/evp.h>

#include "check.h"
#include "common/bytes.h"
#include "common/log.h"
#include "esp-soft/esp.h"
#include "esp-soft/esp_soft.h"
#include "esp-soft/esp_soft_int.h"
#include "esp-soft/offload.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n;
	uint8_t *b = check_hex(hex, &n);

	if (n > cap)
		n = cap;
	memcpy(out, b, n);
	free(b);
	return n;
}

/* ---- 1. published packets ---- */

struct kat {
	const char *name;
	enum xk_enc enc;
	enum xk_mode mode;
	const char *key; /* cipher key followed by the 4-byte salt */
	uint32_t spi;
	uint64_t seq; /* full number; > 2^32 means ESN */
	bool esn;
	const char *packet;
	const char *plain; /* ESP plaintext with padding and trailer */
};

static const struct kat kats[] = {
	{ "mcgrew #1 (ESN)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "4c80cdefbb5d10da906ac73c3613a634 2e443b68", 0x00004321, 0x8765432100000000ull, true,
	  "00004321000000004956ed7e3b244cfe fecf537e729d5b07dc30df528dd22b76"
	  "8d1b98736696a6fd348509fa13ceac34 cfa2436f14a3f3cf65925bf1f4a13c5d"
	  "15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe72"
	  "2fd04796562dfdb4",
	  "45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000"
	  "00000000045f736970045f7564700373 69700963796265726369747902646b00"
	  "0021000101020201" },
	{ "mcgrew #2", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "feffe9928665731c6d6a8f9467308308 cafebabe", 0x0000a5f8, 0x0a, false,
	  "0000a5f80000000afacedbaddecaf888 deb22cd9b07c72c16e3a65beeb8df304"
	  "a5a5897d33ae530f1ba76d5d114d2a5c 3de81827c10e9a4f51330d0eec416642"
	  "cfbb85a5b47e48a4ec3b9ba95d918bd1 83b70d3aa8bc6ee4c309e9d85a41ad4a",
	  "4500003e698f000080114dccc0a80102 c0a801010a980035002a2343b2d00100"
	  "00010000000000000373697009637962 65726369747902646b00000100010001" },
	{ "mcgrew #3 (AES-256)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344",
	  0x4a2cbfe3, 2, false,
	  "4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d"
	  "6a78107f1b0b1cbf06efae9d65a5d763 748a637985771d347f0545659f14e99d"
	  "ef842d8eb335f4eecfdbf831824b4c49 15956c96",
	  "4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000"
	  "7002400020bf0000020405b401010402 01020201" },
	{ "mcgrew #4 (zero key)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "00000000000000000000000000000000 00000000", 0, 1, false,
	  "00000000000000010000000000000000 4688daf2f973a392732909c331d56d60"
	  "f694abaa414b5e7ff5fdcdfff5e9a284 456476492719ffb64de7d9dca1e1d894"
	  "bc3bd57873ed4d181d19d4d5c8c18af3 f821d496eeb096e98ad2b69e4799c71d",
	  "4500003c99c500008001cb7a40679318 010101010800075c0200440061626364"
	  "65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201" },
	{ "mcgrew #5 (ESN)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, true,
	  "42f67e3f101010104e280000a2fca1a3 fba2caa4853cf9f0f22cb10d86dd83b0"
	  "fec75691cf1a04b00d1138ec9c357917 65acbd8701ad79845bf9fe3fba487bc9"
	  "1755e6662b4c8d0d1f5e22739530320a e0d731cc978ecafaeae88f00e80d6e48",
	  "4500003c99c300008001cb7c40679318 010101010800085c0200430061626364"
	  "65666768696a6b6c6d6e6f7071727374 75767761626364656667686901020201" },
	{ "mcgrew #6 (ESN, short)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, true,
	  "42f67e3f101010104e280000a2fca1a3 fba2ca845e5df9f0f22c3e6e86dd831e"
	  "1fc65792cd1af9130e1379ed369f071f 35e034be95f112e4e7d05d35",
	  "4500001c42a200008001441f406793b6 e00000020a00f5ff01020201" },
	{ "mcgrew #7 (AES-192)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "feffe9928665731c6d6a8f9467308308 feffe9928665731c cafebabe", 0x0000a5f8, 0x0a, false,
	  "0000a5f80000000afacedbaddecaf888 a5b1f8066029aea40e598b8122de0242"
	  "0938b3ab33f828e687b8858b5bfbdbd0 315b27452144cc7795457b9652037f53"
	  "18027b5b4cd7a636",
	  "45000028a4ad4000400678800a01038f 0a010612802306b8cb712602dd6bb03e"
	  "501016d075680001" },
	{ "mcgrew #8 (ESN 1)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "abbccddef00112233445566778899aab decaf888", 0x00000100, 1, true,
	  "0000010000000001cafedebaceface74 18a6fd42f72cbf4ab2a2ea901f73d814"
	  "e3e7f243d95412e1c349c1d2fbec168f 9190feebaf2cb01984e65863965d7472"
	  "b79da345e0e780191f0d2f0e0f496c22 6f2127b27db35724e7845d68651f57e6"
	  "5f354f75ff17015769623436",
	  "4500004933ba00007f119106c3fb1d10 c2b1d326c02831ce0035dd7b800302d5"
	  "00004e20001e8c18d75b81dc91baa047 6b91b924b280389d92c963bac046ec95"
	  "9b6266c04722b14923010101" },
	{ "mcgrew #9 (AES-256, ESN)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
	  0x17405e67, 0x156f3126dd0db99bull, true,
	  "17405e67dd0db99b616e640169766563 f2d69ecdbd5a0d5b8d5ef38bad4da58d"
	  "1f278fde98ef67549d524a3018d9a57f f4d3a31ce673119e451626c2415771e3"
	  "b7eebca614c89b35",
	  "45080028732c00004006e9f90a010612 0a01038f06b88023dd6bafbecb712602"
	  "50101f646d540001" },
	{ "mcgrew #10 (ESN)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "3de09874b388e6491988d0c3607eae1f 57690e43", 0x42f67e3f, 0x1010101010101010ull, true,
	  "42f67e3f101010104e280000a2fca1a3 fba2cad12fc1f9f00d3cebf305410db8"
	  "3d7784b607323d220f24b0a97d541828 00cadb0f68d99ef0e0c0c89ae9bea888"
	  "4e52d65bc1afd0740f742444747b5b39 ab533163aad4550ee5160975cdb608c5"
	  "769189609763b8e18caa81e2",
	  "45000049333e00007f119182c3fb1d10 c2b1d326c02831ce0035cb458003025b"
	  "000001e0001e8c18d65759d52284a035 2c71475c8880391c764d6e5ee0496b32"
	  "5ae270c03899493915010101" },
	{ "mcgrew #11 (AES-256, ESN)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
	  0x17405e67, 0x156f3126dd0db99bull, true,
	  "17405e67dd0db99b616e640169766563 d4b7ed86a1777f2ea13d6973d324c69e"
	  "7b43f826fb56831226508bebd2dceb18 d0a6df10e5487df074113e14c641024e"
	  "3e6773d91a62ee429b043a10e3efe6b0 12a49363412364f8c0cac587f249e56b"
	  "11e24f30e44ccc76",
	  "636973636f0172756c65730174686501 6e6574776501646566696e6501746865"
	  "746563686e6f6c6f6769657301746861 7477696c6c01646566696e65746f6d6f"
	  "72726f7701020201" },
	{ "mcgrew #12 (seq 2^32-1, empty)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "7d773d00c144c525ac619d18c84a3f47 d9664267", 0x335467ae, 0xffffffffull, false,
	  "335467aeffffffff43457e9182443bc6 437f866bcb3f699fe9b0822bac961c45 04bef270",
	  "01020201" },
	{ "mcgrew #13 (ESN 1)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "abbccddef00112233445566778899aab decaf888", 0x00000100, 1, true,
	  "0000010000000001cafedebaceface74 29c9fc69a197d038ccdd14e2ddfcaa05"
	  "43332164412503524303ed3c6c5f2838 43af8c3e",
	  "746f016265016f72016e6f7401746f01 62650001" },
	{ "mcgrew #14 (ESN 2^64-1)", XK_ENC_AES_GCM_16, XK_MODE_TRANSPORT,
	  "6c6567616c697a656d6172696a75616e 61616e64646f69746265666f72656961 7475726e",
	  0x796b6963, 0xffffffffffffffffull, true,
	  "796b6963ffffffff333021696765746d f97ab2aa356d8edce17644ac8c78e25d"
	  "d24dedbb29ebf1b64a274b39b49c3a86 4cd3d78ca4ae68a32b42458fb57dbe82"
	  "1dcc63b9d0937ba2945f669368661a32 9fb4c053",
	  "45000030da3a00008001df3bc0a80005 c0a800010800c6cd0200070061626364"
	  "65666768696a6b6c6d6e6f7071727374 01020201" },
	/* RFC 7634 Appendix A: tunnel mode, an ICMP echo in IPv4, next header 4. */
	{ "RFC 7634 A", XK_ENC_CHACHA20_POLY1305, XK_MODE_TUNNEL,
	  "808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f a0a1a2a3",
	  0x01020304, 5, false,
	  "01020304 00000005 1011121314151617"
	  "24039428b97f417e3c13753a4f05087b 67c352e6a7fab1b982d466ef407ae5c6"
	  "14ee8099d52844eb61aa95dfab4c02f7 2aa71e7c4c4f64c9befe2facc638e8f3"
	  "cbec163fac469b502773f6fb94e664da 9165b82829f641e0"
	  "76aaa8266b7fb0f7b11b369907e1ad43",
	  "45000054a6f200004001e778c6336405 c0000205 08005b7a3a080000553bec10"
	  "000736270809 0a0b0c0d0e0f10111213 1415161718191a1b1c1d1e1f20212223"
	  "2425262728292a2b2c2d2e2f30313233 3435363701020204" },
};

static void sa_from_kat(const struct kat *k, struct xk_sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	xk_addr_parse("192.0.2.1", &sa->src);
	xk_addr_parse("192.0.2.2", &sa->dst);
	sa->spi = k->spi;
	sa->mode = k->mode;
	sa->inbound = true;
	sa->enc = k->enc;
	sa->enc_key_len = (uint16_t)unhex(k->key, sa->enc_key, sizeof(sa->enc_key));
	sa->esn = k->esn;
	sa->replay_window = 64;
}

static void test_kats(void)
{
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		uint8_t pkt[512], plain[512];
		size_t len = unhex(k->packet, pkt, sizeof(pkt));
		size_t plen = unhex(k->plain, plain, sizeof(plain));
		size_t body = plen - 2 - plain[plen - 2];
		struct esp_plain pl;
		struct esp_sa *sa;
		struct xk_sa cfg;
		int err;

		sa_from_kat(k, &cfg);
		CHECK_INT(esp_sa_new(&cfg, 1, &sa), 0);
		if (!sa)
			continue;
		/* Place the window so the low 32 bits infer the full number. */
		sa->replay.top = k->seq - 1;
		err = esp_decap(sa, 0, pkt, len, &pl);
		CHECK_MSG(err == 0, "%s: esp_decap %d", k->name, err);
		if (!err) {
			CHECK_MSG(pl.seq == k->seq, "%s: seq", k->name);
			CHECK_MSG(pl.nh == plain[plen - 1], "%s: next header", k->name);
			CHECK_MSG(pl.len == body && !memcmp(pkt + pl.off, plain, body),
				  "%s: payload", k->name);
		}
		/* The same packet again is a replay; a flipped bit fails the ICV. */
		len = unhex(k->packet, pkt, sizeof(pkt));
		CHECK_INT(esp_decap(sa, 0, pkt, len, &pl), -EALREADY);
		sa->replay.top = k->seq - 1;
		memset(sa->replay.bmp, 0, sa->replay.words * sizeof(*sa->replay.bmp));
		pkt[len - 20] ^= 0x01;
		CHECK_INT(esp_decap(sa, 0, pkt, len, &pl), -EBADMSG);
		CHECK_INT(atomic_load(&sa->integrity_failures), 1);
		esp_sa_free(sa);
	}
}

/*
 * RFC 7539 A.5 is an ESN ESP packet in all but name: SPI f3338886, Seq-high
 * 0, Seq-low 4e91, salt 0, IV 0102030405060708.  Its plaintext is text, so
 * it authenticates and then fails the padding check.
 */
static void test_rfc7539_a5(void)
{
	static const char *ct =
		"64a0861575861af460f062c79be643bd 5e805cfd345cf389f108670ac76c8cb2"
		"4c6cfc18755d43eea09ee94e382d26b0 bdb7b73c321b0100d4f03b7f355894cf"
		"332f830e710b97ce98c8a84abd0b9481 14ad176e008d33bd60f982b1ff37c855"
		"9797a06ef4f0ef61c186324e2b350638 3606907b6a7c02b0f9f6157b53c867e4"
		"b9166c767b804d46a59b5216cde7a4e9 9040c5a40433225ee282a1b0a06c523e"
		"af4534d7f83fa1155b0047718cbc546a 0d072b04b3564eea1b422273f548271a"
		"0bb2316053fa76991955ebd63159434e cebb4e466dae5a1073a6727627097a10"
		"49e617d91d361094fa68f0ff77987130 305beaba2eda04df997b714d6c6f2c29"
		"a6ad5cb4022b02709b"
		"eead9d67890cbb22392336fea1851f38";
	struct xk_sa cfg = { .spi = 0xf3338886, .mode = XK_MODE_TRANSPORT, .inbound = true,
			     .enc = XK_ENC_CHACHA20_POLY1305, .esn = true, .replay_window = 64 };
	uint8_t pkt[512];
	size_t len;
	struct esp_plain pl;
	struct esp_sa *sa;

	cfg.enc_key_len = (uint16_t)unhex("1c9240a5eb55d38af333888604f6b5f0"
					  "473917c1402b80099dca5cbc207075c0 00000000",
					  cfg.enc_key, sizeof(cfg.enc_key));
	CHECK_INT(cfg.enc_key_len, 36);
	xk_addr_parse("192.0.2.1", &cfg.src);
	xk_addr_parse("192.0.2.2", &cfg.dst);
	len = unhex("f3338886 00004e91 0102030405060708", pkt, sizeof(pkt));
	len += unhex(ct, pkt + len, sizeof(pkt) - len);
	CHECK_INT(len, 16 + 265 + 16);
	CHECK_INT(esp_sa_new(&cfg, 1, &sa), 0);
	CHECK_INT(esp_decap(sa, 0, pkt, len, &pl), -EPROTO);
	CHECK_INT(atomic_load(&sa->integrity_failures), 0);
	/* It authenticated, so the number was committed. */
	CHECK(sa->replay.top == 0x4e91);
	esp_sa_free(sa);
}

/* ---- 2. encap against plain EVP, and round trips ---- */

struct alg {
	const char *name;
	enum xk_enc enc;
	uint16_t key_len;
	enum xk_integ integ;
	uint16_t integ_len;
	const char *evp, *md;
	uint8_t icv;
};

static const struct alg algs[] = {
	{ "aes128gcm16", XK_ENC_AES_GCM_16, 20, XK_INTEG_NONE, 0, "AES-128-GCM", NULL, 16 },
	{ "aes192gcm16", XK_ENC_AES_GCM_16, 28, XK_INTEG_NONE, 0, "AES-192-GCM", NULL, 16 },
	{ "aes256gcm16", XK_ENC_AES_GCM_16, 36, XK_INTEG_NONE, 0, "AES-256-GCM", NULL, 16 },
	{ "chacha20poly1305", XK_ENC_CHACHA20_POLY1305, 36, XK_INTEG_NONE, 0,
	  "ChaCha20-Poly1305", NULL, 16 },
	{ "aes128-sha256", XK_ENC_AES_CBC, 16, XK_INTEG_HMAC_SHA256_128, 32, "AES-128-CBC",
	  "SHA256", 16 },
	{ "aes256-sha384", XK_ENC_AES_CBC, 32, XK_INTEG_HMAC_SHA384_192, 48, "AES-256-CBC",
	  "SHA384", 24 },
	{ "aes192-sha512", XK_ENC_AES_CBC, 24, XK_INTEG_HMAC_SHA512_256, 64, "AES-192-CBC",
	  "SHA512", 32 },
};

static void make_sa(const struct alg *a, bool esn, bool inbound, enum xk_mode mode,
		    uint32_t spi, struct xk_sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	xk_addr_parse("10.0.0.1", &sa->src);
	xk_addr_parse("10.0.0.2", &sa->dst);
	sa->spi = spi;
	sa->reqid = 1;
	sa->mode = mode;
	sa->inbound = inbound;
	sa->enc = a->enc;
	sa->enc_key_len = a->key_len;
	for (unsigned i = 0; i < a->key_len; i++)
		sa->enc_key[i] = (uint8_t)(0x40 + i);
	sa->integ = a->integ;
	sa->integ_key_len = a->integ_len;
	for (unsigned i = 0; i < a->integ_len; i++)
		sa->integ_key[i] = (uint8_t)(0x90 + i);
	sa->esn = esn;
	sa->replay_window = 128;
	sa->encap = true;
	sa->src.port = sa->dst.port = 4500;
}

/*
 * Open an ESP packet with nothing but EVP and the RFCs: an independent
 * check on esp_encap's nonce, AAD, IV, HMAC input and truncation.
 */
static bool open_plain(const struct alg *a, const struct xk_sa *sa, uint64_t seq,
		       const uint8_t *pkt, size_t len, uint8_t *out, size_t *out_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, a->evp, NULL);
	size_t iv = a->integ ? 16 : 8, ct_len = len - 8 - iv - a->icv;
	uint8_t aad[12], nonce[12], tag[16];
	int n = 0, m = 0;
	bool ok;

	if (a->integ) {
		uint8_t mac[64], buf[2100];
		size_t ml = 0, n_in = len - a->icv;

		/* RFC 4303 2.2.1: Seq-high follows the packet in the ICV input. */
		memcpy(buf, pkt, n_in);
		put_be32(buf + n_in, (uint32_t)(seq >> 32));
		ok = EVP_Q_mac(NULL, "HMAC", NULL, a->md, NULL, sa->integ_key, sa->integ_key_len,
			       buf, n_in + (sa->esn ? 4 : 0), mac, sizeof(mac), &ml) != NULL;
		/* RFC 4868 2.3: the ICV is the leftmost half of the HMAC. */
		ok = ok && ml == 2u * a->icv && !memcmp(mac, pkt + len - a->icv, a->icv);
		ok = ok && EVP_DecryptInit_ex2(c, ciph, sa->enc_key, pkt + 8, NULL) &&
		     EVP_CIPHER_CTX_set_padding(c, 0) &&
		     EVP_DecryptUpdate(c, out, &n, pkt + 8 + iv, (int)ct_len) &&
		     EVP_DecryptFinal_ex(c, out + n, &m);
	} else {
		memcpy(nonce, sa->enc_key + sa->enc_key_len - 4, 4);
		memcpy(nonce + 4, pkt + 8, 8);
		memcpy(aad, pkt, 4);
		if (sa->esn) {
			put_be64(aad + 4, seq);
		} else {
			memcpy(aad + 4, pkt + 4, 4);
		}
		memcpy(tag, pkt + len - 16, 16);
		ok = EVP_DecryptInit_ex2(c, ciph, sa->enc_key, nonce, NULL) &&
		     EVP_DecryptUpdate(c, NULL, &n, aad, sa->esn ? 12 : 8) &&
		     EVP_DecryptUpdate(c, out, &n, pkt + 8 + iv, (int)ct_len) &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag) &&
		     EVP_DecryptFinal_ex(c, out + n, &m) > 0;
	}
	*out_len = (size_t)(n + m);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ciph);
	return ok;
}

static void test_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 15, 16, 17, 64, 511, 512, 1400, 1500 };
	uint8_t in[1600], pkt[2000], plain[2000];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (size_t ai = 0; ai < sizeof(algs) / sizeof(algs[0]); ai++) {
		for (int esn = 0; esn < 2; esn++) {
			const struct alg *a = &algs[ai];
			struct xk_sa oc, ic;
			struct esp_sa *out, *inb;

			make_sa(a, esn, false, XK_MODE_TRANSPORT, 0x1234, &oc);
			make_sa(a, esn, true, XK_MODE_TRANSPORT, 0x1234, &ic);
			CHECK_INT(esp_sa_new(&oc, 2, &out), 0);
			CHECK_INT(esp_sa_new(&ic, 2, &inb), 0);
			if (!out || !inb)
				continue;
			if (esn) /* cross the 2^32 boundary on the way */
				out->seq = inb->replay.top = 0xfffffffdull;
			for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
				size_t len = sizes[si], plen;
				struct esp_plain pl;
				uint64_t seq = out->seq + 1;
				int n = esp_encap(out, si & 1, 17, in, len, pkt, sizeof(pkt));

				CHECK_MSG(n > 0 && (size_t)n == esp_encap_len(out, len),
					  "%s esn=%d len=%zu: encap %d", a->name, esn, len, n);
				if (n <= 0)
					continue;
				CHECK_MSG(open_plain(a, &oc, seq, pkt, (size_t)n, plain, &plen) &&
						  plen >= len + 2 && !memcmp(plain, in, len) &&
						  plain[plen - 1] == 17,
					  "%s esn=%d len=%zu: plain EVP disagrees", a->name, esn,
					  len);
				/* Padding 1, 2, 3, ... up to the alignment (RFC 4303 2.4). */
				for (size_t p = 0; p < plain[plen - 2]; p++)
					CHECK(plain[len + p] == p + 1);
				CHECK_INT(esp_decap(inb, (si + 1) & 1, pkt, (size_t)n, &pl), 0);
				CHECK(pl.seq == seq && pl.nh == 17 && pl.len == len);
				CHECK(!memcmp(pkt + pl.off, in, len));
			}
			CHECK(esp_sa_packets(out) == sizeof(sizes) / sizeof(sizes[0]));
			CHECK(esp_sa_packets(inb) == sizeof(sizes) / sizeof(sizes[0]));
			esp_sa_free(out);
			esp_sa_free(inb);
		}
	}
}

static void test_in_place_and_limits(void)
{
	const struct alg *a = &algs[0];
	struct xk_sa oc, ic;
	struct esp_sa *out, *inb;
	uint8_t pkt[256], ref[256];
	struct esp_plain pl;
	int n;

	make_sa(a, false, false, XK_MODE_TUNNEL, 0x2000, &oc);
	make_sa(a, false, true, XK_MODE_TUNNEL, 0x2000, &ic);
	CHECK_INT(esp_sa_new(&oc, 1, &out), 0);
	CHECK_INT(esp_sa_new(&ic, 1, &inb), 0);
	/* Payload already where ESP wants it (out + header + IV). */
	memset(pkt, 0, sizeof(pkt));
	pkt[16] = 0x45;
	memcpy(ref, pkt + 16, 100);
	n = esp_encap(out, 0, ESP_PROTO_IPIP, pkt + 16, 100, pkt, sizeof(pkt));
	CHECK(n > 0);
	CHECK_INT(esp_decap(inb, 0, pkt, (size_t)n, &pl), 0);
	CHECK(pl.len == 100 && !memcmp(pkt + pl.off, ref, 100));
	/* Too small a buffer. */
	CHECK_INT(esp_encap(out, 0, 4, ref, 100, pkt, 100), -EMSGSIZE);
	/* RFC 4303 3.3.3: 2^32 - 1 is the last number without ESN. */
	out->seq = 0xfffffffeull;
	CHECK(esp_encap(out, 0, 4, ref, 10, pkt, sizeof(pkt)) > 0);
	CHECK_INT(esp_encap(out, 0, 4, ref, 10, pkt, sizeof(pkt)), -EOVERFLOW);
	CHECK_INT(esp_encap(out, 0, 4, ref, 10, pkt, sizeof(pkt)), -EOVERFLOW);
	/* Bad slot. */
	CHECK_INT(esp_encap(out, 5, 4, ref, 10, pkt, sizeof(pkt)), -EIO);
	esp_sa_free(out);
	esp_sa_free(inb);
}

static void test_bad_configs(void)
{
	struct xk_sa c;
	struct esp_sa *sa;

	make_sa(&algs[0], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.enc_key_len = 16; /* GCM without its salt */
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
	CHECK(sa == NULL);
	make_sa(&algs[0], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.integ = XK_INTEG_HMAC_SHA256_128; /* AEAD with a MAC */
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
	make_sa(&algs[4], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.integ = XK_INTEG_NONE; /* CBC without integrity */
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
	make_sa(&algs[4], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.integ_key_len = 20; /* RFC 4868: the key is the hash's length */
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
	make_sa(&algs[3], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.enc_key_len = 32;
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
	c.enc = XK_ENC_NONE;
	CHECK_INT(esp_sa_new(&c, 1, &sa), -ENOTSUP);
	make_sa(&algs[0], false, true, XK_MODE_TUNNEL, 0x3000, &c);
	c.icv_len = 8; /* only the 16-byte ICV variant */
	CHECK_INT(esp_sa_new(&c, 1, &sa), -EINVAL);
}

/* ---- 3. the backend, two instances back to back ---- */

struct peer {
	struct esp_soft *es;
	struct xk_addr addr;
	struct xk_event ev[16];
	int n_ev;
	struct xk_addr ike_local, ike_remote;
	uint8_t ike[64];
	size_t ike_len;
	int n_ike;
};

static struct peer A, B;

static void on_event(void *ctx, const struct xk_event *ev)
{
	struct peer *p = ctx;

	if (p->n_ev < 16)
		p->ev[p->n_ev] = *ev;
	p->n_ev++;
}

static int drain(struct peer *p)
{
	p->n_ev = 0;
	return esp_soft_events_read(p->es, on_event, p);
}

static void on_ike(void *ctx, const struct xk_addr *local, const struct xk_addr *remote,
		   const uint8_t *buf, size_t len)
{
	struct peer *p = ctx;

	p->ike_local = *local;
	p->ike_remote = *remote;
	p->ike_len = len < sizeof(p->ike) ? len : sizeof(p->ike);
	memcpy(p->ike, buf, p->ike_len);
	p->n_ike++;
}

static void peer_init(struct peer *p, const char *addr)
{
	struct esp_soft_cfg cfg = { .workers = 1 };
	int err;

	memset(p, 0, sizeof(*p));
	p->es = esp_soft_new(&cfg, &err);
	CHECK_INT(err, 0);
	xk_addr_parse(addr, &p->addr);
	p->addr.port = 4500;
}

/* A CHILD_SA from `from` to `to`: out SA + out policy there, in SA + in policy here. */
static void child(const struct alg *a, enum xk_mode mode, uint32_t spi, uint32_t reqid,
		  const char *src_ts, const char *dst_ts, struct peer *from, struct peer *to,
		  const struct xk_lifetime *life)
{
	struct xk_sa sa;
	struct xk_policy pol = { .priority = 100, .mode = mode, .reqid = reqid };

	make_sa(a, false, false, mode, spi, &sa);
	sa.src = from->addr;
	sa.dst = to->addr;
	sa.reqid = reqid;
	if (life)
		sa.life = *life;
	CHECK_INT(esp_soft_add_sa(from->es, &sa), 0);
	sa.inbound = true;
	CHECK_INT(esp_soft_add_sa(to->es, &sa), 0);
	xk_ts_parse(src_ts, &pol.src);
	xk_ts_parse(dst_ts, &pol.dst);
	pol.tmpl_src = from->addr;
	pol.tmpl_dst = to->addr;
	pol.dir = XK_DIR_OUT;
	CHECK_INT(esp_soft_add_policy(from->es, &pol), 0);
	pol.dir = XK_DIR_IN;
	CHECK_INT(esp_soft_add_policy(to->es, &pol), 0);
}

static size_t ip4(uint8_t *p, const char *src, const char *dst, uint8_t proto, size_t plen)
{
	memset(p, 0, 20 + plen);
	p[0] = 0x45;
	put_be16(p + 2, (uint16_t)(20 + plen));
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	for (size_t i = 0; i < plen; i++)
		p[20 + i] = (uint8_t)(i + 1);
	if (proto == ESP_PROTO_ICMP && plen >= 2)
		p[20] = 8, p[21] = 0; /* echo request */
	if (proto == ESP_PROTO_UDP && plen >= 4)
		put_be16(p + 20, 1234), put_be16(p + 22, 53);
	return 20 + plen;
}

static size_t ip6(uint8_t *p, const char *src, const char *dst, uint8_t proto, size_t plen)
{
	memset(p, 0, 40 + plen);
	p[0] = 0x60;
	put_be16(p + 4, (uint16_t)plen);
	p[6] = proto;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	for (size_t i = 0; i < plen; i++)
		p[40 + i] = (uint8_t)(i + 1);
	if (proto == ESP_PROTO_ICMPV6 && plen >= 2)
		p[40] = 128, p[41] = 0;
	return 40 + plen;
}

/* Send one IP packet from `from` to `to`; the receive verdict. */
static int carry(struct peer *from, struct peer *to, const uint8_t *ip, size_t len,
		 struct esp_soft_rx *rx, uint8_t *wire, size_t *wire_len)
{
	struct esp_soft_tx tx;
	int n = esp_soft_output(from->es, 0, ip, len, wire, 2048, &tx);

	if (n < 0)
		return 1000 + n; /* distinguishable from receive errors */
	CHECK(tx.udp);
	CHECK(xk_addr_eq(&tx.remote, &to->addr));
	CHECK(xk_addr_ip_eq(&tx.local, &from->addr));
	if (wire_len)
		*wire_len = (size_t)n;
	return esp_soft_input(to->es, 0, &to->addr, &from->addr, true, wire, (size_t)n, rx);
}

static uint64_t drops(struct peer *p, enum esp_soft_drop d)
{
	struct esp_soft_stats st;

	esp_soft_get_stats(p->es, &st);
	return st.drops[d];
}

static void test_tunnel_v4(void)
{
	uint8_t ip[1600], wire[2048];
	struct esp_soft_rx rx;
	struct esp_soft_stats st;
	size_t len;

	peer_init(&A, "10.0.0.1");
	peer_init(&B, "10.0.0.2");
	child(&algs[0], XK_MODE_TUNNEL, 0x1001, 1, "10.1.0.0/24", "10.2.0.0/24", &A, &B, NULL);
	child(&algs[0], XK_MODE_TUNNEL, 0x2001, 1, "10.2.0.0/24", "10.1.0.0/24", &B, &A, NULL);

	for (size_t plen = 8; plen <= 1380; plen += 343) {
		len = ip4(ip, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, plen);
		CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 0);
		CHECK(rx.hdr_len == 0 && rx.len == len && !memcmp(rx.data, ip, len));
		len = ip4(ip, "10.2.0.7", "10.1.0.5", ESP_PROTO_UDP, plen);
		CHECK_INT(carry(&B, &A, ip, len, &rx, wire, NULL), 0);
		CHECK(rx.len == len && !memcmp(rx.data, ip, len));
	}
	esp_soft_get_stats(B.es, &st);
	CHECK_INT(st.rx_packets, 5);
	CHECK_INT(st.tx_packets, 5);

	/* No out policy for this destination. */
	len = ip4(ip, "10.1.0.5", "10.9.0.7", ESP_PROTO_ICMP, 8);
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 1000 - ENOENT);
	CHECK_INT(drops(&A, ESP_SOFT_DROP_NO_POLICY), 1);
	/* Not IP at all. */
	memset(ip, 0xee, 40);
	CHECK_INT(esp_soft_output(A.es, 0, ip, 40, wire, sizeof(wire), NULL), -EINVAL);
	CHECK_INT(esp_soft_output(A.es, 0, ip, 0, wire, sizeof(wire), NULL), -EINVAL);
	CHECK_INT(drops(&A, ESP_SOFT_DROP_INNER), 2);
}

/*
 * A GCM packet under B's inbound SA 0x1001 with whatever plaintext the
 * test wants (bad padding, odd next header): authentic, yet malformed.
 */
static size_t seal(uint32_t spi, uint32_t seq, const uint8_t *plain, size_t len, uint8_t *out)
{
	struct xk_sa k;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t nonce[12];
	int n = 0, m = 0;

	make_sa(&algs[0], false, true, XK_MODE_TUNNEL, spi, &k);
	put_be32(out, spi);
	put_be32(out + 4, seq);
	put_be64(out + 8, seq);
	memcpy(nonce, k.enc_key + 16, 4);
	memcpy(nonce + 4, out + 8, 8);
	EVP_EncryptInit_ex2(c, EVP_aes_128_gcm(), k.enc_key, nonce, NULL);
	EVP_EncryptUpdate(c, NULL, &n, out, 8);
	EVP_EncryptUpdate(c, out + 16, &n, plain, (int)len);
	EVP_EncryptFinal_ex(c, out + 16 + n, &m);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + 16 + len);
	EVP_CIPHER_CTX_free(c);
	return 16 + len + 16;
}

static int rx_raw(struct peer *to, struct peer *from, uint8_t *pkt, size_t len)
{
	struct esp_soft_rx rx;

	return esp_soft_input(to->es, 0, &to->addr, &from->addr, true, pkt, len, &rx);
}

static void test_malformed(void)
{
	uint8_t ip[256], plain[256], pkt[512], good[512];
	struct xk_sa_id id = { .spi = 0x1001, .proto = 50 };
	struct xk_sa_stats st;
	size_t len, glen, pl;
	uint32_t seq = 100;

	id.dst = B.addr;
	/* A valid packet to mangle, not delivered yet (the number is fresh). */
	len = ip4(ip, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 32);
	glen = (size_t)esp_soft_output(A.es, 0, ip, len, good, sizeof(good), NULL);
	CHECK(glen > 0 && glen < sizeof(good));

	/* Short: not even SPI and sequence number; SPI but nothing else. */
	CHECK_INT(rx_raw(&B, &A, good, 5), -EMSGSIZE);
	CHECK_INT(rx_raw(&B, &A, good, 2), -EMSGSIZE);
	memcpy(pkt, good, glen);
	CHECK_INT(rx_raw(&B, &A, pkt, 20), -EMSGSIZE);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_SHORT), 3);

	/* Bad ICV: the last byte flipped. */
	memcpy(pkt, good, glen);
	pkt[glen - 1] ^= 0x80;
	CHECK_INT(rx_raw(&B, &A, pkt, glen), -EBADMSG);
	/* ...or the ciphertext, or the sequence number (it is in the AAD). */
	memcpy(pkt, good, glen);
	pkt[30] ^= 1;
	CHECK_INT(rx_raw(&B, &A, pkt, glen), -EBADMSG);
	memcpy(pkt, good, glen);
	pkt[7] ^= 0x40;
	CHECK_INT(rx_raw(&B, &A, pkt, glen), -EBADMSG);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_AUTH), 3);

	/* Wrong SPI. */
	memcpy(pkt, good, glen);
	pkt[3] ^= 0x55;
	CHECK_INT(rx_raw(&B, &A, pkt, glen), -ENOENT);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_NO_SA), 1);

	/* None of that moved the window: the real packet still passes... */
	memcpy(pkt, good, glen);
	CHECK_INT(rx_raw(&B, &A, pkt, glen), 0);
	/* ...once. */
	memcpy(pkt, good, glen);
	CHECK_INT(rx_raw(&B, &A, pkt, glen), -EALREADY);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_REPLAY), 1);

	/* Bad padding: pad length 3 but bytes 1, 2, 4. */
	pl = ip4(plain, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 8);
	memcpy(plain + pl, "\x01\x02\x04\x03\x04", 5);
	len = seal(0x1001, seq++, plain, pl + 5, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EPROTO);
	/* Pad length longer than the payload. */
	plain[0] = 0x00;
	plain[1] = 0xf0;
	plain[2] = 0x04;
	len = seal(0x1001, seq++, plain, 3, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EPROTO);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_PAD), 2);

	/* Bad next header: TCP (6) in tunnel mode. */
	pl = ip4(plain, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 10);
	memcpy(plain + pl, "\x00\x06", 2);
	len = seal(0x1001, seq++, plain, pl + 2, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EPROTONOSUPPORT);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_NEXT_HDR), 1);
	/* Next header 59: a dummy packet (RFC 4303 2.6), dropped quietly. */
	memcpy(plain + pl, "\x00\x3b", 2);
	len = seal(0x1001, seq++, plain, pl + 2, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -ENODATA);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_DUMMY), 1);
	/* Next header says IPv4, the packet is IPv6. */
	pl = ip6(plain, "fd01::5", "fd02::7", ESP_PROTO_ICMPV6, 8);
	memcpy(plain + pl, "\x01\x02\x02\x04", 4);
	len = seal(0x1001, seq++, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EINVAL);
	/* The inner header claims more than was carried. */
	pl = ip4(plain, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 10);
	put_be16(plain + 2, 200);
	memcpy(plain + pl, "\x01\x02\x02\x04", 4);
	len = seal(0x1001, seq++, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EINVAL);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_INNER), 2);

	/* Authentic, but from outside the SA's selectors (RFC 4301 5.2). */
	pl = ip4(plain, "10.7.0.5", "10.2.0.7", ESP_PROTO_ICMP, 10);
	memcpy(plain + pl, "\x01\x02\x02\x04", 4);
	len = seal(0x1001, seq++, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -EACCES);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_POLICY), 1);

	/* Left of the window: far ahead first, then an old number. */
	pl = ip4(plain, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 10);
	memcpy(plain + pl, "\x01\x02\x02\x04", 4);
	len = seal(0x1001, 5000, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), 0);
	len = seal(0x1001, 5000 - 128, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), -ESTALE);
	len = seal(0x1001, 5000 - 127, plain, pl + 4, pkt);
	CHECK_INT(rx_raw(&B, &A, pkt, len), 0);
	CHECK_INT(drops(&B, ESP_SOFT_DROP_REPLAY), 2);

	/* The SA's own counters, through query_sa as the daemon sees them. */
	CHECK_INT(esp_soft_query_sa(B.es, &id, &st), 0);
	CHECK_INT(st.integrity_failures, 3);
	CHECK_INT(st.replay_drops, 1);
	CHECK_INT(st.replay_window_drops, 1);
	CHECK(st.packets >= 4 && st.bytes > 0 && st.add_time > 0 && st.use_time > 0);

	/* Garbage of every length up to 200 never crashes, never delivers. */
	for (size_t n = 0; n < 200; n++) {
		for (size_t i = 0; i < n; i++)
			pkt[i] = (uint8_t)(i * 31 + n);
		if (n >= 4)
			put_be32(pkt, 0x1001);
		CHECK(rx_raw(&B, &A, pkt, n) != 0 || n == 1 || n < 4);
	}
}

static void test_ike_and_keepalive(void)
{
	uint8_t pkt[64] = { 0, 0, 0, 0, 'I', 'K', 'E' };
	struct esp_soft_rx rx;
	struct esp_soft_stats st;

	CHECK_INT(esp_soft_input(B.es, 0, &B.addr, &A.addr, true, pkt, 7, &rx), ESP_SOFT_RX_IKE);
	pkt[0] = 0xff;
	CHECK_INT(esp_soft_input(B.es, 0, &B.addr, &A.addr, true, pkt, 1, &rx),
		  ESP_SOFT_RX_KEEPALIVE);
	/* Four zero bytes from a raw socket are no IKE: SPI 0 is invalid. */
	memset(pkt, 0, 16);
	CHECK_INT(esp_soft_input(B.es, 0, &B.addr, &A.addr, false, pkt, 16, &rx), -EMSGSIZE);
	B.n_ike = 0;
	CHECK_INT(esp_soft_ike_read(B.es, on_ike, &B), 1);
	CHECK_INT(B.n_ike, 1);
	CHECK(B.ike_len == 3 && !memcmp(B.ike, "IKE", 3));
	CHECK(xk_addr_eq(&B.ike_remote, &A.addr) && xk_addr_eq(&B.ike_local, &B.addr));
	CHECK_INT(esp_soft_ike_read(B.es, on_ike, &B), 0);
	esp_soft_get_stats(B.es, &st);
	CHECK_INT(st.ike_in, 1);
	CHECK_INT(st.keepalives, 1);
	/* Not started: nothing to send through. */
	CHECK_INT(esp_soft_ike_send(B.es, &B.addr, &A.addr, pkt, 4), -ENOTCONN);
	CHECK_INT(esp_soft_keepalive(B.es, &B.addr, &A.addr), -ENOTCONN);
	esp_soft_get_stats(B.es, &st);
	CHECK_INT(st.keepalives_out, 0);
	/* A full queue drops and counts. */
	pkt[0] = 0;
	for (int i = 0; i < 300; i++)
		esp_soft_input(B.es, 0, &B.addr, &A.addr, true, pkt, 8, &rx);
	esp_soft_get_stats(B.es, &st);
	CHECK_INT(st.drops[ESP_SOFT_DROP_QUEUE], 300 - 256);
	CHECK_INT(esp_soft_ike_read(B.es, on_ike, &B), 256);
}

static void test_transport(void)
{
	uint8_t ip[256], wire[2048];
	struct esp_soft_rx rx;
	size_t len;
	struct peer C, D;

	peer_init(&C, "fd00::1");
	peer_init(&D, "fd00::2");
	child(&algs[3], XK_MODE_TRANSPORT, 0x5001, 7, "fd00::1", "fd00::2", &C, &D, NULL);
	len = ip6(ip, "fd00::1", "fd00::2", ESP_PROTO_ICMPV6, 56);
	CHECK_INT(carry(&C, &D, ip, len, &rx, wire, NULL), 0);
	/* The header is rebuilt from the SA's addresses, the rest carried. */
	CHECK_INT(rx.hdr_len, 40);
	CHECK_INT(rx.len, 56);
	CHECK(!memcmp(rx.hdr, ip, 40));
	CHECK(!memcmp(rx.data, ip + 40, 56));
	esp_soft_free(C.es);
	esp_soft_free(D.es);

	peer_init(&C, "10.0.0.1");
	peer_init(&D, "10.0.0.2");
	child(&algs[4], XK_MODE_TRANSPORT, 0x5002, 8, "10.0.0.1", "10.0.0.2", &C, &D, NULL);
	len = ip4(ip, "10.0.0.1", "10.0.0.2", ESP_PROTO_UDP, 30);
	CHECK_INT(carry(&C, &D, ip, len, &rx, wire, NULL), 0);
	CHECK_INT(rx.hdr_len, 20);
	CHECK(!memcmp(rx.hdr, ip, 10) && !memcmp(rx.hdr + 12, ip + 12, 8));
	CHECK(!memcmp(rx.data, ip + 20, 30));
	put_be16(ip + 6, 0x2000); /* MF: transport mode cannot carry fragments */
	CHECK_INT(carry(&C, &D, ip, len, &rx, wire, NULL), 1000 - EINVAL);
	esp_soft_free(C.es);
	esp_soft_free(D.es);
}

static void test_ops(void)
{
	struct peer P;
	struct xk_sa sa;
	struct xk_sa_id id = { .proto = 50 };
	struct xk_policy pol = { .dir = XK_DIR_OUT, .mode = XK_MODE_TRANSPORT, .reqid = 3 };
	struct xk_sa_stats st;
	uint32_t spi[200]; /* SPIs come from a pool of 64: several refills */

	peer_init(&P, "10.0.0.1");
	for (int i = 0; i < 200; i++) {
		CHECK_INT(esp_soft_alloc_spi(P.es, &A.addr, &P.addr, &spi[i]), 0);
		CHECK(spi[i] >= 256);
		for (int j = 0; j < i; j++)
			CHECK(spi[i] != spi[j]);
	}
	/* The reserved SPI becomes the inbound SA. */
	make_sa(&algs[0], false, true, XK_MODE_TRANSPORT, spi[0], &sa);
	CHECK_INT(esp_soft_add_sa(P.es, &sa), 0);
	CHECK_INT(esp_soft_add_sa(P.es, &sa), -EEXIST);
	id.dst = sa.dst;
	id.spi = spi[0];
	CHECK_INT(esp_soft_query_sa(P.es, &id, &st), 0);
	CHECK_INT(st.packets, 0);
	/* Updating: ports and encapsulation, found by destination and SPI. */
	sa.src.port = 31000;
	CHECK_INT(esp_soft_upd_sa(P.es, &sa), 0);
	/* Moving (a NAT mapping changed): found as before, then by its new place. */
	{
		struct xk_addr src = sa.src, dst = sa.dst, v6 = {.family = XK_AF_INET6};

		src.port = 31001;
		CHECK_INT(esp_soft_move_sa(P.es, &id, &src, &dst), 0);
		CHECK_INT(esp_soft_query_sa(P.es, &id, &st), 0);
		v6.ip[15] = 1;
		CHECK_INT(esp_soft_move_sa(P.es, &id, &src, &v6), -EINVAL);
		id.spi ^= 1;
		CHECK_INT(esp_soft_move_sa(P.es, &id, &src, &dst), -ESRCH);
		id.spi ^= 1;
	}
	/* Many SAs: the SAD grows and finds every one. */
	{
		struct xk_sa m;
		struct xk_sa_id mid = {.dst = sa.dst, .proto = 50};

		for (uint32_t i = 0; i < 5000; i++) {
			make_sa(&algs[0], false, false, XK_MODE_TRANSPORT, 0x10000 + i, &m);
			m.reqid = 100 + i;
			CHECK_INT(esp_soft_add_sa(P.es, &m), 0);
		}
		for (uint32_t i = 0; i < 5000; i++) {
			mid.dst = m.dst;
			mid.spi = 0x10000 + i;
			CHECK_INT(esp_soft_query_sa(P.es, &mid, &st), 0);
			CHECK_INT(esp_soft_del_sa(P.es, &mid), 0);
		}
	}
	CHECK_INT(esp_soft_del_sa(P.es, &id), 0);
	CHECK_INT(esp_soft_del_sa(P.es, &id), -ESRCH);
	CHECK_INT(esp_soft_query_sa(P.es, &id, &st), -ESRCH);
	CHECK_INT(esp_soft_upd_sa(P.es, &sa), -ESRCH);
	/* A reservation alone can be deleted (a failed negotiation). */
	id.spi = spi[1];
	CHECK_INT(esp_soft_del_sa(P.es, &id), 0);
	/* Invalid SAs. */
	sa.spi = 7;
	CHECK_INT(esp_soft_add_sa(P.es, &sa), -EINVAL);
	sa.spi = 0x9999;
	xk_addr_parse("fd00::9", &sa.dst);
	CHECK_INT(esp_soft_add_sa(P.es, &sa), -EINVAL);

	xk_ts_parse("10.0.0.0/8", &pol.src);
	xk_ts_parse("10.9.0.0/16", &pol.dst);
	CHECK_INT(esp_soft_add_policy(P.es, &pol), 0);
	CHECK_INT(esp_soft_add_policy(P.es, &pol), -EEXIST);
	pol.dir = XK_DIR_IN; /* another direction is another policy */
	CHECK_INT(esp_soft_add_policy(P.es, &pol), 0);
	CHECK_INT(esp_soft_del_policy(P.es, &pol), 0);
	CHECK_INT(esp_soft_del_policy(P.es, &pol), -ENOENT);
	pol.mode = XK_MODE_TUNNEL; /* tunnel mode needs template addresses */
	CHECK_INT(esp_soft_add_policy(P.es, &pol), -EINVAL);
	xk_ts_parse("fd00::/64", &pol.dst);
	CHECK_INT(esp_soft_add_policy(P.es, &pol), -EINVAL);
	CHECK_INT(esp_soft_flush(P.es), 0);
	pol.dst = pol.src;
	pol.mode = XK_MODE_TRANSPORT;
	pol.dir = XK_DIR_OUT;
	CHECK_INT(esp_soft_del_policy(P.es, &pol), -ENOENT);

	/* The ops table is the same thing. */
	CHECK(esp_soft_ops.alloc_spi && esp_soft_ops.add_sa && esp_soft_ops.upd_sa &&
	      esp_soft_ops.del_sa && esp_soft_ops.add_policy && esp_soft_ops.del_policy &&
	      esp_soft_ops.query_sa && esp_soft_ops.flush);
	make_sa(&algs[0], false, false, XK_MODE_TRANSPORT, 0x7777, &sa);
	CHECK_INT(esp_soft_ops.add_sa(P.es, &sa), 0);
	id.dst = sa.dst;
	id.spi = 0x7777;
	CHECK_INT(esp_soft_ops.del_sa(P.es, &id), 0);
	esp_soft_free(P.es);
}

static void test_events(void)
{
	uint8_t ip[256], wire[2048];
	struct esp_soft_rx rx;
	struct xk_lifetime life = { .soft_packets = 2, .hard_packets = 3 };
	struct xk_sa_id id = { .spi = 0x6001, .proto = 50 };
	struct xk_sa_stats st;
	struct esp_sa *sa;
	size_t len;
	struct xk_addr moved;

	peer_init(&A, "10.0.0.1");
	peer_init(&B, "10.0.0.2");
	/* ACQUIRE: an out policy without SA, raised once per interval. */
	{
		struct xk_policy pol = { .priority = 50, .mode = XK_MODE_TUNNEL, .reqid = 77,
					 .dir = XK_DIR_OUT };

		xk_ts_parse("10.5.0.0/16", &pol.src);
		xk_ts_parse("10.6.0.0/16", &pol.dst);
		pol.tmpl_src = A.addr;
		pol.tmpl_dst = B.addr;
		CHECK_INT(esp_soft_add_policy(A.es, &pol), 0);
	}
	len = ip4(ip, "10.5.1.1", "10.6.2.2", ESP_PROTO_UDP, 20);
	CHECK_INT(esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), NULL), -EAGAIN);
	CHECK_INT(esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), NULL), -EAGAIN);
	CHECK_INT(drain(&A), 1);
	CHECK_INT(A.ev[0].type, XK_EV_ACQUIRE);
	CHECK_INT(A.ev[0].reqid, 77);
	CHECK_INT(A.ev[0].pkt_src.proto, ESP_PROTO_UDP);
	CHECK_INT(A.ev[0].pkt_dst.port_lo, 53);
	CHECK(xk_addr_eq(&A.ev[0].tmpl_dst, &B.addr));
	CHECK_INT(drops(&A, ESP_SOFT_DROP_NO_SA_OUT), 2);

	/* Packet lifetimes: soft after 2, hard after 3, and the SA is gone. */
	child(&algs[0], XK_MODE_TUNNEL, 0x6001, 5, "10.1.0.0/24", "10.2.0.0/24", &A, &B, &life);
	len = ip4(ip, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 20);
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 0);
	CHECK_INT(drain(&A), 0);
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 0);
	CHECK_INT(drain(&A), 1);
	CHECK(A.ev[0].type == XK_EV_EXPIRE && !A.ev[0].hard && A.ev[0].sa.spi == 0x6001);
	CHECK_INT(drain(&B), 1);
	CHECK(B.ev[0].type == XK_EV_EXPIRE && !B.ev[0].hard && B.ev[0].reqid == 5);
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 0);
	CHECK_INT(drain(&A), 1);
	CHECK(A.ev[0].type == XK_EV_EXPIRE && A.ev[0].hard);
	CHECK_INT(drain(&B), 1);
	CHECK(B.ev[0].hard);
	/* Hard-expired: no SA for the policy any more, so ACQUIRE. */
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 1000 - EAGAIN);
	CHECK_INT(drain(&A), 1);
	CHECK_INT(A.ev[0].type, XK_EV_ACQUIRE);
	/* The housekeeping pass removes it, as the kernel would. */
	esp_soft_tick(A.es, 0);
	id.dst = B.addr;
	CHECK_INT(esp_soft_query_sa(A.es, &id, &st), -ESRCH);
	CHECK_INT(esp_soft_query_sa(B.es, &id, &st), 0);
	esp_soft_tick(B.es, 0);
	CHECK_INT(esp_soft_query_sa(B.es, &id, &st), -ESRCH);

	/* Time lifetimes, on a made-up clock. */
	life = (struct xk_lifetime){ .soft_secs = 30, .hard_secs = 40 };
	child(&algs[0], XK_MODE_TUNNEL, 0x6002, 6, "10.3.0.0/24", "10.4.0.0/24", &A, &B, &life);
	esp_soft_tick(A.es, esp_now_mono() + 10);
	CHECK_INT(drain(&A), 0);
	esp_soft_tick(A.es, esp_now_mono() + 31);
	CHECK_INT(drain(&A), 1);
	CHECK(!A.ev[0].hard && A.ev[0].sa.spi == 0x6002);
	esp_soft_tick(A.es, esp_now_mono() + 35);
	CHECK_INT(drain(&A), 0);
	esp_soft_tick(A.es, esp_now_mono() + 41);
	CHECK_INT(drain(&A), 1);
	CHECK(A.ev[0].hard);
	id.spi = 0x6002;
	CHECK_INT(esp_soft_query_sa(A.es, &id, &st), -ESRCH);

	/* Byte lifetimes count payload bytes. */
	life = (struct xk_lifetime){ .soft_bytes = 100, .hard_bytes = 1000000 };
	child(&algs[0], XK_MODE_TUNNEL, 0x6003, 9, "10.7.0.0/24", "10.8.0.0/24", &A, &B, &life);
	len = ip4(ip, "10.7.0.5", "10.8.0.7", ESP_PROTO_ICMP, 100);
	CHECK_INT(carry(&A, &B, ip, len, &rx, wire, NULL), 0);
	CHECK_INT(drain(&A), 1);
	CHECK(!A.ev[0].hard && A.ev[0].sa.spi == 0x6003);
	drain(&B);

	/* Sequence numbers running out: soft near the end, hard at it. */
	pthread_rwlock_rdlock(&A.es->lock);
	sa = esp_sad_out(A.es, 9);
	pthread_rwlock_unlock(&A.es->lock);
	CHECK(sa != NULL);
	if (sa) {
		sa->seq = 0xfffffffdull;
		atomic_store(&sa->soft_fired, false);
		CHECK_INT(esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), NULL) > 0, 1);
		CHECK_INT(drain(&A), 1);
		CHECK(!A.ev[0].hard);
		CHECK(esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), NULL) > 0);
		CHECK_INT(esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), NULL), -EOVERFLOW);
		CHECK_INT(drain(&A), 1);
		CHECK(A.ev[0].hard && A.ev[0].sa.spi == 0x6003);
		CHECK_INT(drops(&A, ESP_SOFT_DROP_EXPIRED), 1);
	}

	/* MAPPING: authentic ESP-in-UDP from a new port, reported once. */
	child(&algs[0], XK_MODE_TUNNEL, 0x6004, 10, "10.11.0.0/24", "10.12.0.0/24", &A, &B, NULL);
	len = ip4(ip, "10.11.0.5", "10.12.0.7", ESP_PROTO_ICMP, 20);
	moved = A.addr;
	moved.port = 61000;
	for (int i = 0; i < 2; i++) {
		struct esp_soft_tx tx;
		int n = esp_soft_output(A.es, 0, ip, len, wire, sizeof(wire), &tx);

		CHECK(n > 0);
		CHECK_INT(esp_soft_input(B.es, 0, &B.addr, &moved, true, wire, (size_t)n, &rx), 0);
	}
	CHECK_INT(drain(&B), 1);
	CHECK_INT(B.ev[0].type, XK_EV_MAPPING);
	CHECK_INT(B.ev[0].old_src.port, 4500);
	CHECK_INT(B.ev[0].new_src.port, 61000);
	CHECK_INT(B.ev[0].sa.spi, 0x6004);

	/* A bounded event queue: overflow is counted, not grown. */
	for (int i = 0; i < 1100; i++) {
		struct xk_event ev = { .type = XK_EV_EXPIRE };

		esp_event_push(A.es, &ev);
	}
	CHECK_INT(drain(&A), 1024);
	{
		struct esp_soft_stats s;

		esp_soft_get_stats(A.es, &s);
		CHECK_INT(s.events_lost, 1100 - 1024);
	}
	esp_soft_free(A.es);
	esp_soft_free(B.es);
}

/* ---- 5. TUN offloads ---- */

/* RFC 1071, one 16-bit big-endian word at a time: the reference. */
static uint16_t naive_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Does the TCP segment at ip (IPv4 or IPv6, no extension headers) check? */
static bool tcp_ok(const uint8_t *ip, size_t len)
{
	bool v6 = ip[0] >> 4 == 6;
	size_t l4 = v6 ? 40 : (size_t)(ip[0] & 15) * 4;
	uint8_t ph[40];
	uint32_t s;

	if (v6) {
		memcpy(ph, ip + 8, 32);
		put_be32(ph + 32, (uint32_t)(len - l4));
		memset(ph + 36, 0, 3);
		ph[39] = 6;
		s = naive_sum(ph, 40, 0);
	} else {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put_be16(ph + 10, (uint16_t)(len - l4));
		s = naive_sum(ph, 12, 0);
		if (naive_sum(ip, l4, 0) != 0xffff)
			return false; /* the IPv4 header's own sum */
	}
	return naive_sum(ip + l4, len - l4, s) == 0xffff;
}

static void test_csum(void)
{
	uint8_t b[300];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 151 + 7);
	for (size_t n = 0; n < sizeof(b); n += 7) {
		uint16_t mine = esp_csum_fold(esp_csum_add(0, b, n)), ref = naive_sum(b, n, 0);
		uint8_t m[2];

		/* Host-order sum, stored as bytes, equals the big-endian reference. */
		memcpy(m, &mine, 2);
		CHECK_MSG(get_be16(m) == ref, "csum of %zu bytes", n);
	}
}

/* A TCP super-packet: headers, 12 bytes of options, `pay` bytes of data. */
static size_t super_packet(uint8_t *p, bool v6, size_t pay, uint8_t flags)
{
	size_t l4 = v6 ? 40 : 20, len = l4 + 32 + pay;

	memset(p, 0, len);
	if (v6) {
		p[0] = 0x60;
		put_be16(p + 4, (uint16_t)(len - 40));
		p[6] = 6;
		p[7] = 64;
		inet_pton(AF_INET6, "fd01::5", p + 8);
		inet_pton(AF_INET6, "fd02::7", p + 24);
	} else {
		p[0] = 0x45;
		put_be16(p + 2, (uint16_t)len);
		put_be16(p + 4, 0x1234);
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = 6;
		inet_pton(AF_INET, "10.1.0.5", p + 12);
		inet_pton(AF_INET, "10.2.0.7", p + 16);
	}
	put_be16(p + l4, 40000);
	put_be16(p + l4 + 2, 5201);
	put_be32(p + l4 + 4, 0xfffff000); /* wraps on the way */
	put_be32(p + l4 + 8, 777);
	p[l4 + 12] = 8 << 4; /* 32-byte header */
	p[l4 + 13] = flags;
	put_be16(p + l4 + 14, 512);
	memcpy(p + l4 + 20, "\x01\x01\x08\x0a\x00\x00\x00\x2a\x00\x00\x00\x07", 12);
	for (size_t i = 0; i < pay; i++)
		p[l4 + 32 + i] = (uint8_t)(i * 13 + 1);
	return len;
}

/* Finish a run and lay it out in one buffer: its length. */
static size_t gro_flat(struct esp_gro *g, struct esp_vnet_hdr *h, uint8_t *out)
{
	const struct iovec *iov;
	int n = esp_gro_finish(g, h, &iov);
	size_t len = 0;

	/* iov[0] is the virtio header itself. */
	CHECK(n == 0 || (iov[0].iov_base == h && iov[0].iov_len == ESP_VNET_HDR_LEN));
	for (int i = 1; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

static void test_tso_gro(void)
{
	static uint8_t sp[70000], seg[8][2048], gbuf[65535], again[2048];
	static struct esp_gro g;

	for (int v6 = 0; v6 < 2; v6++) {
		size_t l4 = v6 ? 40 : 20, hl = l4 + 32, pay = 5000, len, slen[8];
		struct esp_vnet_hdr h = { .gso_type = v6 ? ESP_VNET_GSO_TCPV6 : ESP_VNET_GSO_TCPV4,
					  .flags = ESP_VNET_F_NEEDS_CSUM, .gso_size = 1448,
					  .hdr_len = (uint16_t)hl, .csum_start = (uint16_t)l4,
					  .csum_offset = 16 };
		struct esp_vnet_hdr gh;
		int n;

		len = super_packet(sp, v6, pay, 0x10 | 0x08 | 0x01 | 0x80); /* ACK PSH FIN CWR */
		n = esp_tso_count(&h, sp, len);
		CHECK_INT(n, 4);
		for (int i = 0; i < n && i < 8; i++) {
			int r = esp_tso_segment(&h, sp, len, (unsigned)i, seg[i], sizeof(seg[i]));
			size_t want = i < 3 ? 1448 : pay - 3 * 1448;
			uint8_t fl;

			CHECK_INT(r, (int)(hl + want));
			if (r <= 0)
				continue;
			slen[i] = (size_t)r;
			CHECK_MSG(tcp_ok(seg[i], slen[i]), "v6=%d segment %d checksum", v6, i);
			if (v6)
				CHECK_INT(get_be16(seg[i] + 4), r - 40);
			else
				CHECK(get_be16(seg[i] + 2) == r && get_be16(seg[i] + 4) == 0x1234 + i);
			CHECK(get_be32(seg[i] + l4 + 4) == (uint32_t)(0xfffff000u + i * 1448u));
			fl = seg[i][l4 + 13];
			CHECK_INT(fl & 0x80, i == 0 ? 0x80 : 0);       /* CWR first only */
			CHECK_INT(fl & 0x09, i == n - 1 ? 0x09 : 0);  /* FIN, PSH last only */
			CHECK(!memcmp(seg[i] + hl, sp + hl + (size_t)i * 1448, want));
		}
		/* Too small an output buffer, a segment past the end, junk headers. */
		CHECK_INT(esp_tso_segment(&h, sp, len, 0, again, 100), -EMSGSIZE);
		CHECK_INT(esp_tso_segment(&h, sp, len, 4, again, sizeof(again)), -EINVAL);
		CHECK_INT(esp_tso_count(&h, sp, hl), -EINVAL);
		sp[l4 + 12] = 15 << 4;
		CHECK_INT(esp_tso_count(&h, sp, 70), -EINVAL);

		/* Coalescing: CWR and FIN would end it, so plain ACK segments. */
		len = super_packet(sp, v6, pay, 0x10);
		for (int i = 0; i < n; i++) {
			esp_tso_segment(&h, sp, len, (unsigned)i, seg[i], sizeof(seg[i]));
			/* Transport mode hands the IP header separately. */
			CHECK(esp_gro_add(&g, i & 1 ? seg[i] : NULL, i & 1 ? l4 : 0,
					  seg[i] + (i & 1 ? l4 : 0), slen[i] - (i & 1 ? l4 : 0)));
		}
		CHECK_INT(g.segs, 4);
		/* A short last segment closes the run. */
		CHECK(!esp_gro_add(&g, NULL, 0, seg[0], slen[0]));
		len = gro_flat(&g, &gh, gbuf);
		CHECK_INT(len, hl + pay);
		CHECK(gh.gso_type == h.gso_type && gh.gso_size == 1448 && gh.hdr_len == hl &&
		      gh.flags == ESP_VNET_F_NEEDS_CSUM && gh.csum_start == l4 && gh.csum_offset == 16);
		CHECK(!memcmp(gbuf + hl, sp + hl, pay));
		/* What the kernel would do with it: finish the sum, or cut it again. */
		memcpy(sp, gbuf, len);
		for (int i = 0; i < n; i++) {
			int r = esp_tso_segment(&gh, sp, len, (unsigned)i, again, sizeof(again));

			CHECK(r == (int)slen[i] && !memcmp(again + l4, seg[i] + l4, slen[i] - l4));
		}
		CHECK_INT(esp_csum_complete(gbuf, len, gh.csum_start, gh.csum_offset), 0);
		CHECK_MSG(tcp_ok(gbuf, len), "v6=%d coalesced checksum", v6);

		/* What must not join: a gap, another port, SYN, a different window. */
		CHECK(esp_gro_add(&g, NULL, 0, seg[0], slen[0]));
		CHECK(!esp_gro_add(&g, NULL, 0, seg[2], slen[2]));
		memcpy(again, seg[1], slen[1]);
		again[l4 + 1] ^= 1;
		CHECK(!esp_gro_add(&g, NULL, 0, again, slen[1]));
		memcpy(again, seg[1], slen[1]);
		again[l4 + 15] ^= 1;
		CHECK(!esp_gro_add(&g, NULL, 0, again, slen[1]));
		CHECK_INT(g.segs, 1);
		/* A run of one goes out untouched, with an empty header. */
		len = gro_flat(&g, &gh, gbuf);
		CHECK(len == slen[0] && gh.gso_type == 0 && gh.flags == 0 &&
		      !memcmp(gbuf, seg[0], len));
		memcpy(again, seg[0], slen[0]);
		again[l4 + 13] |= 0x02;
		CHECK(!esp_gro_add(&g, NULL, 0, again, slen[0]));
		CHECK_INT(gro_flat(&g, &gh, gbuf), 0);
	}
	/* A partial checksum the kernel left: completed, it verifies. */
	{
		size_t len = super_packet(sp, false, 100, 0x10);
		uint8_t ph[12];
		uint16_t c;

		memcpy(ph, sp + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put_be16(ph + 10, (uint16_t)(len - 20));
		c = esp_csum_fold(esp_csum_add(0, ph, 12));
		memcpy(sp + 36, &c, 2);
		c = esp_ip4_csum(sp, 20);
		memcpy(sp + 10, &c, 2);
		CHECK_INT(esp_csum_complete(sp, len, 20, 16), 0);
		CHECK(tcp_ok(sp, len));
		CHECK_INT(esp_csum_complete(sp, len, len - 1, 16), -EINVAL);
	}
}

/* ---- 6. threads ---- */

#define T_THREADS 3
#define T_PACKETS 3000

static atomic_int t_delivered, t_failed_out, t_failed_in;

static void *t_worker(void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg;
	uint8_t ip[200], wire[2048];
	struct esp_soft_rx rx;
	struct esp_soft_tx tx;

	for (int i = 0; i < T_PACKETS; i++) {
		size_t len = ip4(ip, "10.1.0.5", "10.2.0.7", ESP_PROTO_ICMP, 40 + (size_t)(i % 100));
		int n = esp_soft_output(A.es, slot, ip, len, wire, sizeof(wire), &tx);

		if (n < 0) {
			atomic_fetch_add(&t_failed_out, 1);
			continue;
		}
		if (esp_soft_input(B.es, slot, &B.addr, &A.addr, true, wire, (size_t)n, &rx) == 0 &&
		    rx.len == len && !memcmp(rx.data, ip, len))
			atomic_fetch_add(&t_delivered, 1);
		else
			atomic_fetch_add(&t_failed_in, 1);
	}
	return NULL;
}

static void test_threads(void)
{
	struct esp_soft_cfg cfg = { .workers = T_THREADS };
	pthread_t th[T_THREADS];
	struct esp_soft_stats sa_, sb;
	int err;

	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	A.es = esp_soft_new(&cfg, &err);
	B.es = esp_soft_new(&cfg, &err);
	xk_addr_parse("10.0.0.1", &A.addr);
	xk_addr_parse("10.0.0.2", &B.addr);
	A.addr.port = B.addr.port = 4500;
	/* A window wide enough that three threads' interleaving stays inside. */
	child(&algs[0], XK_MODE_TUNNEL, 0x9001, 1, "10.1.0.0/24", "10.2.0.0/24", &A, &B, NULL);
	for (unsigned t = 0; t < T_THREADS; t++)
		pthread_create(&th[t], NULL, t_worker, (void *)(uintptr_t)t);
	/* Meanwhile: churn in both tables, queries, housekeeping. */
	for (int i = 0; i < 300; i++) {
		struct xk_sa sa;
		struct xk_sa_id id = { .spi = 0xa000u + (uint32_t)i, .proto = 50 };
		struct xk_sa_stats st;
		struct xk_policy pol = { .dir = XK_DIR_OUT, .mode = XK_MODE_TUNNEL, .reqid = 50,
					 .priority = 10 };
		char dst[32];

		make_sa(&algs[i % 7], false, i & 1, XK_MODE_TUNNEL, 0xa000u + (uint32_t)i, &sa);
		sa.reqid = 1000 + (uint32_t)i; /* not the reqid carrying the traffic */
		CHECK_INT(esp_soft_add_sa(A.es, &sa), 0);
		snprintf(dst, sizeof(dst), "10.%d.%d.0/24", 100 + i % 100, i / 100);
		xk_ts_parse("10.1.0.0/24", &pol.src);
		xk_ts_parse(dst, &pol.dst);
		pol.tmpl_src = A.addr;
		pol.tmpl_dst = B.addr;
		CHECK_INT(esp_soft_add_policy(A.es, &pol), 0);
		id.dst = sa.dst;
		CHECK_INT(esp_soft_query_sa(A.es, &id, &st), 0);
		if (i % 3 == 0) {
			CHECK_INT(esp_soft_del_sa(A.es, &id), 0);
			CHECK_INT(esp_soft_del_policy(A.es, &pol), 0);
		}
		if (i % 50 == 0)
			esp_soft_tick(A.es, 0);
	}
	for (unsigned t = 0; t < T_THREADS; t++)
		pthread_join(th[t], NULL);
	esp_soft_get_stats(A.es, &sa_);
	esp_soft_get_stats(B.es, &sb);
	/* Every packet accounted for, on both sides. */
	CHECK_INT(atomic_load(&t_failed_out), 0);
	CHECK_INT(sa_.tx_packets, T_THREADS * T_PACKETS);
	CHECK_INT(atomic_load(&t_delivered) + atomic_load(&t_failed_in), T_THREADS * T_PACKETS);
	CHECK_INT(sb.rx_packets, atomic_load(&t_delivered));
	CHECK_INT(sb.rx_packets + sb.drops[ESP_SOFT_DROP_REPLAY], T_THREADS * T_PACKETS);
	/* The interleaving may push a few left of the window, no more. */
	CHECK(atomic_load(&t_delivered) > T_THREADS * T_PACKETS * 9 / 10);
	esp_soft_free(A.es);
	esp_soft_free(B.es);
}

int main(void)
{
	xk_log_set_level(XK_LOG_ERROR);
	test_kats();
	test_rfc7539_a5();
	test_roundtrip();
	test_in_place_and_limits();
	test_bad_configs();
	test_tunnel_v4();
	test_malformed();
	test_ike_and_keepalive();
	esp_soft_free(A.es);
	esp_soft_free(B.es);
	test_transport();
	test_ops();
	test_events();
	test_csum();
	test_tso_gro();
	test_threads();
	return check_done("esp");
}
