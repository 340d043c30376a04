/* SPDX-License-Identifier: ISC */
/*
 * xiked.conf text through the daemon's parser (src/daemon/config.c): every
 * key, the proposals, the selectors, the route-based keys (marks, if-id,
 * interface, mtu), [child] sections.  What it accepts must hold together: an interface has
 * the tag that steers into it, an mtu has its interface, a name fits the
 * kernel's, and a connection is the same as itself.  Inputs naming a file
 * under /dev, /proc, /sys or /run are skipped: a key file there (a FIFO, a
 * terminal) could block the run, and reading files is not what is fuzzed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void discard(enum xk_log_level level, enum xk_log_sub sub, const char *line, void *ctx)
{
	(void)level;
	(void)sub;
	(void)line;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const skip[] = { "/dev", "/proc", "/sys", "/run" };
	static int quiet;
	struct xd_config cfg;
	char err[256] = "", *text;

	if (!quiet) {
		quiet = 1;
		if (!getenv("XIKE_FUZZ_LOG"))
			xk_log_set_sink(discard, NULL);
	}
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (memmem(data, size, skip[i], strlen(skip[i])))
			return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (xd_config_parse(text, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < cfg.n_conns; i++) {
			const struct xd_conn *c = &cfg.conns[i];

			if (c->iface[0] && !xk_tag_set(&c->tag_in) && !xk_tag_set(&c->tag_out))
				abort(); /* a device nothing is steered into */
			if (c->mtu && (!c->iface[0] || c->mtu < 576 || c->mtu > 65535))
				abort();
			if (strnlen(c->iface, sizeof(c->iface)) >= sizeof(c->iface) ||
			    strchr(c->iface, '/') || strchr(c->iface, ':'))
				abort();
			if (c->iface_live || !xd_conn_same(c, c))
				abort();
			/* [child] sections: complete, bounded, none trapping, named apart. */
			if (c->n_child > IKE_MAX_CHILD_CFG || (c->n_child && !c->eng_child))
				abort();
			for (size_t j = 0; j < c->n_child; j++) {
				const struct xd_child *ch = &c->child[j];

				if (!ch->n_esp || !ch->esp || ch->start == XD_START_TRAP ||
				    ch->close_action == XD_START_TRAP ||
				    c->eng_child[j].name != ch->name ||
				    c->eng_child[j].n_esp != ch->n_esp ||
				    ch->n_local_ts > IKE_MAX_TS || ch->n_remote_ts > IKE_MAX_TS)
					abort();
				for (size_t k = 0; k < j; k++)
					if (!strcmp(c->child[k].name, ch->name))
						abort();
			}
		}
		xd_config_free(&cfg);
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort(); /* a refusal says why */
	}
	free(text);
	return 0;
}
