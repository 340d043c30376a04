/* SPDX-License-Identifier: ISC */
/*
 * fuzz_spd: esp-soft's SPD (src/esp-soft/spd.c) against its model, a walk
 * of all policies (tests/spd_model.h).  The input is a program of
 * operations, each starting with one byte:
 *
 *   0-2  add a policy: family, then each selector as lo, hi (4 or 16
 *        bytes each, swapped if out of order), protocol, ports; priority
 *   3    delete the policy at an index of the installed ones
 *   4-7  look up a packet: family, protocol, source, destination, ports
 *
 * Every lookup must return what the walk returns, and every delete the
 * policy it names; anything else aborts.  Selectors come from the input,
 * so prefixes of every length and ranges of every shape occur.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spd_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_POL 64

struct in {
	const uint8_t *p;
	size_t left;
};

static bool take(struct in *in, void *out, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static bool take_ts(struct in *in, uint8_t family, uint8_t proto, struct xk_ts *t)
{
	size_t n = family == XK_AF_INET ? 4 : 16;
	uint16_t ports[2];

	memset(t, 0, sizeof(*t));
	t->family = family;
	t->proto = proto;
	if (!take(in, t->lo, n) || !take(in, t->hi, n) || !take(in, ports, sizeof(ports)))
		return false;
	if (memcmp(t->lo, t->hi, n) > 0) {
		uint8_t x[16];

		memcpy(x, t->lo, n);
		memcpy(t->lo, t->hi, n);
		memcpy(t->hi, x, n);
	}
	/* Ports: mostly any, so that addresses decide. */
	if (ports[0] & 1) {
		t->port_lo = ports[0] < ports[1] ? ports[0] : ports[1];
		t->port_hi = ports[0] < ports[1] ? ports[1] : ports[0];
	} else {
		t->port_hi = 0xffff;
	}
	return true;
}

/* Selectors of two policies the SPD keys by (direction aside). */
static bool same_sel(const struct xk_policy *a, const struct xk_policy *b)
{
	return !memcmp(&a->src, &b->src, sizeof(a->src)) && !memcmp(&a->dst, &b->dst, sizeof(a->dst));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct esp_pol *model[MAX_POL];
	size_t n_model = 0;
	uint64_t order = 0;
	struct esp_spd s;
	uint8_t op;

	esp_spd_init(&s, 0x5eed);
	while (take(&in, &op, 1)) {
		uint8_t fam, proto, prio;

		if (op % 8 < 3) {
			struct esp_pol *pol;
			bool dup = false;

			if (n_model == MAX_POL || !take(&in, &fam, 1) || !take(&in, &proto, 1))
				break;
			fam = fam & 1 ? XK_AF_INET6 : XK_AF_INET;
			proto = proto < 200 ? 0 : proto; /* mostly any protocol */
			pol = calloc(1, sizeof(*pol));
			if (!pol)
				break;
			if (!take_ts(&in, fam, proto, &pol->p.src) ||
			    !take_ts(&in, fam, proto, &pol->p.dst) || !take(&in, &prio, 1)) {
				free(pol);
				break;
			}
			pol->p.priority = prio % 4;
			pol->order = order++;
			for (size_t i = 0; i < n_model; i++)
				dup |= same_sel(&model[i]->p, &pol->p);
			if (esp_spd_add(&s, pol) != (dup ? -EEXIST : 0))
				abort();
			if (dup)
				free(pol);
			else
				model[n_model++] = pol;
		} else if (op % 8 == 3) {
			uint8_t i;

			if (!take(&in, &i, 1))
				break;
			if (!n_model)
				continue;
			i %= n_model;
			if (esp_spd_del(&s, &model[i]->p) != model[i])
				abort();
			free(model[i]);
			model[i] = model[--n_model];
		} else {
			uint8_t src[16], dst[16];
			uint16_t ports[2];
			struct esp_flow f = { .src = src, .dst = dst };
			size_t n;

			if (!take(&in, &fam, 1) || !take(&in, &proto, 1))
				break;
			f.family = fam & 1 ? XK_AF_INET6 : XK_AF_INET;
			f.proto = proto;
			n = f.family == XK_AF_INET ? 4 : 16;
			if (!take(&in, src, n) || !take(&in, dst, n) || !take(&in, ports, sizeof(ports)))
				break;
			f.sport = ports[0];
			f.dport = ports[1];
			if (esp_spd_lookup(&s, &f) != spd_model_lookup(model, n_model, &f))
				abort();
		}
	}
	if (s.n != n_model)
		abort();
	esp_spd_free(&s); /* frees the policies still in it */
	return 0;
}
