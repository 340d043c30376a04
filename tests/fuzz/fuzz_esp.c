/* SPDX-License-Identifier: ISC */
/*
 * fuzz_esp: esp-soft's receive path and TUN offloads, with fixed keys.
 * The first byte picks what the rest is:
 *
 *   0  a datagram on the NAT-T port: IKE marker, keepalive, or ESP under
 *      any SPI (three SAs are installed: AES-GCM tunnel, ChaCha20-Poly1305
 *      transport with ESN, AES-CBC + HMAC-SHA-256 tunnel with ESN)
 *   1  the same from a raw ESP socket
 *   2  a plaintext sealed under one of those SAs with the real keys, then
 *      received: past the ICV, into padding, next header, inner headers,
 *      the transport-mode header and the policy check.  data[0] picks the
 *      SA, data[1] is the next header, the rest the payload.
 *   3  a virtio-net header and a TUN packet: TSO segmentation, then the
 *      segments offered for coalescing
 *
 * Nothing may crash, hang or leak, and no packet may come out that the
 * datapath did not vouch for.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "esp-soft/esp.h"
#include "esp-soft/esp_soft.h"
#include "esp-soft/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct esp_soft *es;
static struct esp_sa *twin[3];
static struct xk_addr a1, a2;

static void ike_cb(void *ctx, const struct xk_addr *l, const struct xk_addr *r,
		   const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)l;
	(void)r;
	(void)buf;
	(void)len;
}

static void ev_cb(void *ctx, const struct xk_event *ev)
{
	(void)ctx;
	(void)ev;
}

static void policy(const char *src, const char *dst, uint32_t reqid, enum xk_mode mode)
{
	struct xk_policy p = { .dir = XK_DIR_IN, .mode = mode, .reqid = reqid, .priority = 10 };

	xk_ts_parse(src, &p.src);
	xk_ts_parse(dst, &p.dst);
	p.tmpl_src = a2;
	p.tmpl_dst = a1;
	esp_soft_add_policy(es, &p);
}

static void setup(void)
{
	static const struct {
		uint32_t spi;
		enum xk_enc enc;
		uint16_t klen;
		enum xk_integ integ;
		enum xk_mode mode;
		bool esn;
	} sas[3] = {
		{ 0x1001, XK_ENC_AES_GCM_16, 20, XK_INTEG_NONE, XK_MODE_TUNNEL, false },
		{ 0x1002, XK_ENC_CHACHA20_POLY1305, 36, XK_INTEG_NONE, XK_MODE_TRANSPORT, true },
		{ 0x1003, XK_ENC_AES_CBC, 16, XK_INTEG_HMAC_SHA256_128, XK_MODE_TUNNEL, true },
	};
	struct esp_soft_cfg cfg = { .workers = 1 };
	int err;

	xk_log_set_level(XK_LOG_ERROR);
	es = esp_soft_new(&cfg, &err);
	if (!es)
		abort();
	xk_addr_parse("10.0.0.1", &a1);
	xk_addr_parse("10.0.0.2", &a2);
	a1.port = a2.port = 4500;
	for (int i = 0; i < 3; i++) {
		struct xk_sa sa = { .src = a2, .dst = a1, .spi = sas[i].spi, .reqid = (uint32_t)i + 1,
				    .mode = sas[i].mode, .inbound = true, .enc = sas[i].enc,
				    .enc_key_len = sas[i].klen, .integ = sas[i].integ,
				    .integ_key_len = sas[i].integ ? 32 : 0, .esn = sas[i].esn,
				    .replay_window = 64, .encap = true };

		memset(sa.enc_key, 0x11 * (i + 1), sa.enc_key_len);
		memset(sa.integ_key, 0x77, sa.integ_key_len);
		if (esp_soft_add_sa(es, &sa) < 0)
			abort();
		sa.inbound = false;
		if (esp_sa_new(&sa, 1, &twin[i]) < 0)
			abort();
	}
	policy("0.0.0.0/0", "0.0.0.0/0", 1, XK_MODE_TUNNEL);
	policy("::/0", "::/0", 1, XK_MODE_TUNNEL);
	policy("10.0.0.2", "10.0.0.1", 2, XK_MODE_TRANSPORT);
	policy("10.128.0.0/9", "0.0.0.0/0", 3, XK_MODE_TUNNEL);
}

static void receive(uint8_t *buf, size_t len, bool udp)
{
	struct esp_soft_rx rx;

	if (esp_soft_input(es, 0, &a1, &a2, udp, buf, len, &rx) == 0) {
		/* What comes out lies inside the buffer and is an IP packet. */
		if (rx.data < buf || rx.data + rx.len > buf + len ||
		    (rx.hdr_len == 0 && (rx.len == 0 || (rx.data[0] >> 4 != 4 &&
							 rx.data[0] >> 4 != 6))))
			abort();
	}
}

static void offloads(const uint8_t *data, size_t size)
{
	static uint8_t pkt[65536], seg[256][2048];
	static struct esp_gro g;
	struct esp_vnet_hdr h;
	const struct iovec *iov;
	int n;

	if (size < ESP_VNET_HDR_LEN || size - ESP_VNET_HDR_LEN > sizeof(pkt))
		return;
	memcpy(&h, data, sizeof(h));
	size -= ESP_VNET_HDR_LEN;
	memcpy(pkt, data + ESP_VNET_HDR_LEN, size);
	if (h.flags & ESP_VNET_F_NEEDS_CSUM)
		esp_csum_complete(pkt, size, h.csum_start, h.csum_offset);
	/* Segments stay where they are until the run is finished (zero copy). */
	n = esp_tso_count(&h, pkt, size);
	for (int i = 0; i < n && i < 256; i++) {
		uint8_t *s = seg[i];
		int len = esp_tso_segment(&h, pkt, size, (unsigned)i, s, sizeof(seg[i]));
		size_t hl = 20 < len ? 20 : (size_t)len;

		if (len <= 0)
			continue;
		if (!esp_gro_add(&g, NULL, 0, s, (size_t)len)) {
			struct esp_vnet_hdr gh;

			esp_gro_finish(&g, &gh, &iov);
			/* Transport mode's way: the IP header apart. */
			esp_gro_add(&g, s, hl, s + hl, (size_t)len - hl);
		}
	}
	{
		struct esp_vnet_hdr gh;

		n = esp_gro_finish(&g, &gh, &iov);
		for (int i = 1; i < n; i++)
			if (!iov[i].iov_base || iov[i].iov_len > 65535)
				abort();
	}
	/* The packet itself offered as a segment, too. */
	esp_gro_add(&g, NULL, 0, pkt, size);
	esp_gro_finish(&g, &h, &iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];

	if (!es)
		setup();
	if (size < 1 || size > 65536)
		return 0;
	switch (data[0] & 3) {
	case 0:
	case 1:
		memcpy(buf, data + 1, size - 1);
		receive(buf, size - 1, (data[0] & 3) == 0);
		break;
	case 2: {
		struct esp_sa *sa;
		int n;

		if (size < 3)
			break;
		sa = twin[data[1] % 3];
		n = esp_encap(sa, 0, data[2], data + 3, size - 3, buf, sizeof(buf));
		if (n > 0)
			receive(buf, (size_t)n, true);
		break;
	}
	case 3:
		offloads(data + 1, size - 1);
		break;
	}
	esp_soft_ike_read(es, ike_cb, NULL);
	esp_soft_events_read(es, ev_cb, NULL);
	return 0;
}
