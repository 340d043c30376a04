/* SPDX-License-Identifier: ISC */
/* Identities as users write them, and as IKEv2 carries them (section 3.5). */
#include "ike.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ike/ikev2.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ike_id_parse(const char *s, struct ike_id *out)
{
	struct xk_addr a;
	size_t len = strlen(s);

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -EINVAL;
	if (xk_addr_parse(s, &a) == 0) {
		out->type = a.family == XK_AF_INET ? IKEV2_ID_IPV4_ADDR : IKEV2_ID_IPV6_ADDR;
		out->len = (uint8_t)xk_addr_len(&a);
		memcpy(out->data, a.ip, out->len);
		return 0;
	}
	if (strncmp(s, "@#", 2) == 0) {
		size_t n = len - 2;

		if (n == 0 || n % 2 || n / 2 > sizeof(out->data))
			return -EINVAL;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hexval(s[2 + 2 * i]), lo = hexval(s[3 + 2 * i]);

			if (hi < 0 || lo < 0)
				return -EINVAL;
			out->data[i] = (uint8_t)(hi << 4 | lo);
		}
		out->type = IKEV2_ID_KEY_ID;
		out->len = (uint8_t)(n / 2);
		return 0;
	}
	if (s[0] == '@') {
		s++;
		len--;
		out->type = IKEV2_ID_FQDN;
	} else {
		out->type = strchr(s, '@') ? IKEV2_ID_RFC822_ADDR : IKEV2_ID_FQDN;
	}
	if (len == 0 || len > sizeof(out->data))
		return -EINVAL;
	memcpy(out->data, s, len);
	out->len = (uint8_t)len;
	return 0;
}

const char *ike_id_str(const struct ike_id *id, char *buf, size_t len)
{
	struct xk_addr a = { 0 };
	size_t o = 0;

	switch (id->type) {
	case 0:
		snprintf(buf, len, "%%any");
		break;
	case IKEV2_ID_IPV4_ADDR:
	case IKEV2_ID_IPV6_ADDR:
		a.family = id->type == IKEV2_ID_IPV4_ADDR ? XK_AF_INET : XK_AF_INET6;
		memcpy(a.ip, id->data, id->len > 16 ? 16 : id->len);
		xk_addr_str(&a, buf, len);
		break;
	case IKEV2_ID_FQDN:
	case IKEV2_ID_RFC822_ADDR:
		/* Printable only: identities come from the peer. */
		for (size_t i = 0; i < id->len && o + 1 < len; i++)
			buf[o++] = id->data[i] >= 0x20 && id->data[i] < 0x7f ? (char)id->data[i] : '?';
		if (len)
			buf[o] = '\0';
		break;
	default:
		o = (size_t)snprintf(buf, len, "@#");
		for (size_t i = 0; i < id->len && o + 3 <= len; i++)
			o += (size_t)snprintf(buf + o, len - o, "%02x", id->data[i]);
		break;
	}
	return buf;
}

bool ike_id_eq(const struct ike_id *a, const struct ike_id *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}
