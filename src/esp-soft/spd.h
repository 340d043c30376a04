/* SPDX-License-Identifier: ISC */
/*
 * The security policy database of one direction (RFC 4301 4.4.1): which
 * policy, if any, selects a packet.  Of the policies that select it the
 * best wins: lowest priority value, then the first installed, as in the
 * kernel.
 *
 * A packet must not walk every policy: a gateway has one or more per
 * tunnel, tens of thousands of them.  Policies whose address selectors are
 * prefixes (nearly all: IKE's traffic selectors are subnets and hosts) are
 * grouped by (family, source prefix length, destination prefix length),
 * and each group hashes them by their two masked addresses; a lookup
 * probes each group once.  The groups are few (hosts, a subnet size or
 * two).  Policies with other address ranges sit in one list sorted best
 * first.  Ports and protocol are checked on the candidates.
 *
 * No locking here: sad.c's table lock is held around every call.
 */
#ifndef XK_ESP_SPD_H
#define XK_ESP_SPD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

/* What selectors see of an IP packet (RFC 4301 4.4.1.1). */
struct esp_flow {
	uint8_t family, proto;
	uint16_t sport, dport; /* ICMP: type and code, as the kernel does */
	const uint8_t *src, *dst;
	size_t l4off; /* where the upper-layer header starts */
	size_t len;   /* the packet's own length, from its header */
	bool frag;    /* a fragment: no ports, and transport mode can't carry it */
};

/* One installed policy. */
struct esp_pol {
	struct xk_policy p;
	struct esp_pol *next_sel;      /* hash chain by selectors (add, delete) */
	struct esp_pol *next_key;      /* hash chain in its prefix group (lookup) */
	uint32_t index;                /* reported in ACQUIRE */
	uint64_t order;                /* insertion order, breaks priority ties */
	_Atomic uint64_t last_acquire; /* monotonic seconds */
};

/* Policies with one (family, source prefix, destination prefix) shape. */
struct esp_spd_group {
	uint8_t family, slen, dlen;
	size_t n, cap; /* cap buckets, a power of two */
	struct esp_pol **bk;
};

struct esp_spd {
	/* Every policy by its selectors, cap buckets (what the kernel keys by). */
	struct esp_pol **by_sel;
	size_t n, cap;
	struct esp_spd_group *groups;
	size_t n_groups;
	/* Address ranges that are no prefix, sorted by (priority, order). */
	struct esp_pol **ranges;
	size_t n_ranges, cap_ranges;
	uint64_t seed; /* keys the hashes */
};

void esp_spd_init(struct esp_spd *s, uint64_t seed);
/* The policy with these selectors (direction aside), or NULL. */
struct esp_pol *esp_spd_find(const struct esp_spd *s, const struct xk_policy *p);
/* Add pol (its order set by the caller); -EEXIST, -ENOMEM. */
int esp_spd_add(struct esp_spd *s, struct esp_pol *pol);
/* Unlink the policy with p's selectors and return it (the caller frees). */
struct esp_pol *esp_spd_del(struct esp_spd *s, const struct xk_policy *p);
/* The best policy that selects the packet, or NULL. */
struct esp_pol *esp_spd_lookup(const struct esp_spd *s, const struct esp_flow *f);
/* Free every policy; the tables stay for reuse. */
void esp_spd_flush(struct esp_spd *s);
/* Free every policy and the tables. */
void esp_spd_free(struct esp_spd *s);

#endif
