/* SPDX-License-Identifier: ISC */
/*
 * XIKE_FAULTS: the test seam for lost, duplicated and refused things.
 * Each fault happens once, at the N-th datagram or install it counts.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/faults.h"

bool xd_faults_parse(const char *spec, struct xd_faults *f)
{
	char buf[256], *save = NULL;

	memset(f, 0, sizeof(*f));
	if (strlen(spec) >= sizeof(buf))
		return false;
	strcpy(buf, spec);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		unsigned long n;

		if (!eq)
			return false;
		*eq = '\0';
		n = strtoul(eq + 1, NULL, 10);
		if (!n)
			return false;
		if (!strcmp(tok, "drop-in"))
			f->drop_in = (unsigned)n;
		else if (!strcmp(tok, "dup-in"))
			f->dup_in = (unsigned)n;
		else if (!strcmp(tok, "drop-out"))
			f->drop_out = (unsigned)n;
		else if (!strcmp(tok, "dup-out"))
			f->dup_out = (unsigned)n;
		else if (!strcmp(tok, "fail-install"))
			f->fail_install = (unsigned)n;
		else
			return false;
	}
	return true;
}

/* The datagram just counted in *n: dropped (0), passed (1) or duplicated (2). */
static unsigned copies(unsigned *n, unsigned drop, unsigned dup, const char *dir)
{
	(*n)++;
	if (drop && *n == drop) {
		xk_notice("fault injection: dropping %s IKE datagram %u", dir, *n);
		return 0;
	}
	if (dup && *n == dup) {
		xk_notice("fault injection: duplicating %s IKE datagram %u", dir, *n);
		return 2;
	}
	return 1;
}

unsigned xd_faults_in(struct xd_faults *f)
{
	return copies(&f->n_in, f->drop_in, f->dup_in, "inbound");
}

unsigned xd_faults_out(struct xd_faults *f)
{
	return copies(&f->n_out, f->drop_out, f->dup_out, "outbound");
}

bool xd_faults_install(struct xd_faults *f)
{
	f->n_install++;
	if (f->fail_install && f->n_install == f->fail_install) {
		xk_notice("fault injection: failing SA install %u", f->n_install);
		return true;
	}
	return false;
}
