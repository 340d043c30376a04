/* SPDX-License-Identifier: ISC */
/*
 * Neutral SA, policy and selector types shared by the IKE engine and the
 * ESP backends (kernel XFRM, userspace esp-soft).  Nothing here knows IKE
 * message formats or netlink: the engine fills these in, a backend installs
 * them.
 */
#ifndef XK_SA_H
#define XK_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Address families, numerically equal to AF_INET / AF_INET6 on Linux. */
#define XK_AF_INET 2
#define XK_AF_INET6 10

/* An IP address with a UDP port (port 0 where no port applies). */
struct xk_addr {
	uint8_t family; /* XK_AF_INET or XK_AF_INET6, 0 if unset */
	uint16_t port;  /* host byte order */
	uint8_t ip[16]; /* network byte order; IPv4 uses the first 4 */
};

static inline size_t xk_addr_len(const struct xk_addr *a)
{
	return a->family == XK_AF_INET ? 4 : a->family == XK_AF_INET6 ? 16 : 0;
}

bool xk_addr_eq(const struct xk_addr *a, const struct xk_addr *b);
bool xk_addr_ip_eq(const struct xk_addr *a, const struct xk_addr *b);
/* Parse "192.0.2.1" or "2001:db8::1" (no port). 0 or -EINVAL. */
int xk_addr_parse(const char *s, struct xk_addr *out);
/* "192.0.2.1" / "2001:db8::1", port not shown.  buf >= 46 bytes. */
const char *xk_addr_str(const struct xk_addr *a, char *buf, size_t len);

/*
 * A traffic selector: an address range, an IP protocol (0 = any) and a
 * port range, as in RFC 7296 section 3.13.1.
 */
struct xk_ts {
	uint8_t family;
	uint8_t proto;
	uint16_t port_lo, port_hi;
	uint8_t lo[16], hi[16];
};

#define XK_TS_STRLEN 110

/* Parse "10.0.0.0/24", "2001:db8::/64", "10.1.2.3" (host), "0.0.0.0/0". */
int xk_ts_parse(const char *s, struct xk_ts *out);
/* A selector covering exactly one address, all protocols and ports. */
void xk_ts_from_addr(const struct xk_addr *a, struct xk_ts *out);
/* The intersection of a and b; false if empty. */
bool xk_ts_intersect(const struct xk_ts *a, const struct xk_ts *b, struct xk_ts *out);
/* True if inner lies entirely within outer. */
bool xk_ts_contains(const struct xk_ts *outer, const struct xk_ts *inner);
/* If the address range is one CIDR prefix, its length; else -1. */
int xk_ts_prefix_len(const struct xk_ts *ts);
const char *xk_ts_str(const struct xk_ts *ts, char *buf, size_t len);

enum xk_mode {
	XK_MODE_TRANSPORT = 0,
	XK_MODE_TUNNEL = 1,
};

/* ESP algorithms, named the way the kernel names them. */
enum xk_enc {
	XK_ENC_NONE = 0,
	XK_ENC_AES_GCM_16,         /* rfc4106(gcm(aes)), key incl. 4-byte salt */
	XK_ENC_CHACHA20_POLY1305,  /* rfc7539esp(chacha20,poly1305), incl. salt */
	XK_ENC_AES_CBC,            /* cbc(aes) */
};

enum xk_integ {
	XK_INTEG_NONE = 0,
	XK_INTEG_HMAC_SHA256_128,
	XK_INTEG_HMAC_SHA384_192,
	XK_INTEG_HMAC_SHA512_256,
};

const char *xk_enc_name(enum xk_enc e);
const char *xk_integ_name(enum xk_integ i);

#define XK_MAX_KEY 72

struct xk_lifetime {
	uint64_t soft_bytes, hard_bytes;
	uint64_t soft_packets, hard_packets;
	uint64_t soft_secs, hard_secs; /* 0 = unlimited */
};

/* One direction of a CHILD_SA: one ESP state in the kernel's SAD. */
struct xk_sa {
	struct xk_addr src, dst; /* outer addresses; ports used only for encap */
	uint32_t spi;            /* host byte order */
	uint32_t reqid;
	enum xk_mode mode;
	bool inbound;
	enum xk_enc enc;
	uint16_t enc_key_len; /* bytes, including salt for AEAD */
	uint8_t enc_key[XK_MAX_KEY];
	enum xk_integ integ;
	uint16_t integ_key_len;
	uint8_t integ_key[XK_MAX_KEY];
	uint8_t icv_len; /* bytes */
	bool esn;
	uint32_t replay_window;
	bool encap; /* ESP in UDP (RFC 3948): ports from src/dst */
	struct xk_lifetime life;
	uint32_t mark, mark_mask;
	uint32_t if_id;
};

/*
 * What a route-based tunnel puts on one direction's SA and policies: the
 * mark a VTI device or a routing rule matches (mask 0: no mark) and the ID
 * of an XFRM interface (0: none).
 */
struct xk_tag {
	uint32_t mark, mark_mask;
	uint32_t if_id;
};

static inline bool xk_tag_set(const struct xk_tag *t)
{
	return t->mark_mask || t->if_id;
}

/* Identifies an SA for deletion or queries. */
struct xk_sa_id {
	struct xk_addr dst;
	uint32_t spi;
	uint8_t proto; /* 50 = ESP */
	/* The SA's mark, if it has one (mask 0: none): XFRM finds a marked SA only by it. */
	uint32_t mark, mark_mask;
};

enum xk_dir {
	XK_DIR_IN = 0,
	XK_DIR_OUT = 1,
	XK_DIR_FWD = 2,
};

struct xk_policy {
	struct xk_ts src, dst; /* selectors */
	enum xk_dir dir;
	uint32_t priority;
	bool bypass; /* let matching traffic pass in the clear: no template */
	/* template */
	enum xk_mode mode;
	struct xk_addr tmpl_src, tmpl_dst; /* tunnel endpoints */
	uint32_t reqid;
	uint32_t mark, mark_mask;
	uint32_t if_id;
};

/* Counters of one SA, as the backend sees them. */
struct xk_sa_stats {
	uint64_t bytes, packets;
	uint64_t add_time; /* seconds since the epoch */
	uint64_t use_time; /* seconds since the epoch, 0 if never used */
	uint32_t replay_window_drops, replay_drops, integrity_failures;
};

/*
 * Events a backend reports on its own: the kernel wants an SA for a packet
 * that hit a trap policy (ACQUIRE), an SA reached a lifetime (EXPIRE), or a
 * NAT changed the peer's port (MAPPING).
 */
enum xk_event_type {
	XK_EV_ACQUIRE = 1,
	XK_EV_EXPIRE,
	XK_EV_MAPPING,
};

struct xk_event {
	enum xk_event_type type;
	/* ACQUIRE: the triggering packet's selector and the policy's. */
	struct xk_ts pkt_src, pkt_dst;
	struct xk_ts pol_src, pol_dst;
	enum xk_dir dir;
	uint32_t policy_index;
	struct xk_addr tmpl_src, tmpl_dst;
	/* ACQUIRE, EXPIRE, MAPPING: which SA (EXPIRE/MAPPING) or template. */
	uint32_t reqid;
	struct xk_sa_id sa;
	struct xk_addr sa_src;
	/* EXPIRE */
	bool hard;
	/* MAPPING: the peer's old and new address and port. */
	struct xk_addr old_src, new_src;
};

typedef void (*xk_event_cb)(void *ctx, const struct xk_event *ev);

/*
 * The ESP backend interface: what the engine and the daemon need from the
 * kernel's XFRM (src/xfrm) or from userspace ESP (src/esp-soft).  Every call
 * is synchronous and returns 0 or a negative errno.  `ctx` is the backend's
 * own state.  Optional members may be NULL.
 */
struct xk_kernel_ops {
	/* A fresh inbound SPI for an SA from src to dst (reserved until used). */
	int (*alloc_spi)(void *ctx, const struct xk_addr *src,
			 const struct xk_addr *dst, uint32_t *spi);
	int (*add_sa)(void *ctx, const struct xk_sa *sa);
	/* Optional: change an existing SA (addresses, encap, lifetimes). */
	int (*upd_sa)(void *ctx, const struct xk_sa *sa);
	int (*del_sa)(void *ctx, const struct xk_sa_id *id);
	int (*add_policy)(void *ctx, const struct xk_policy *pol);
	int (*del_policy)(void *ctx, const struct xk_policy *pol);
	/* Optional: counters and last use of an SA. */
	int (*query_sa)(void *ctx, const struct xk_sa_id *id, struct xk_sa_stats *st);
	/* Optional: remove every SA and policy this daemon owns, nothing else. */
	int (*flush)(void *ctx);
	/*
	 * Optional: the SA `id` now runs between src and dst (with ports, for
	 * UDP encapsulation): a NAT changed the peer's address or port.
	 */
	int (*move_sa)(void *ctx, const struct xk_sa_id *id, const struct xk_addr *src,
		       const struct xk_addr *dst);
};

#endif
