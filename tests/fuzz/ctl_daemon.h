/* SPDX-License-Identifier: ISC */
/*
 * An xiked inside the fuzzing process: the daemon's own control socket,
 * connections, engine and event loop, with a fake ESP backend
 * (fake_kernel.h) and datagrams sent nowhere.  A client connects as root,
 * sends what it is given and reads every answer, the loop turning in
 * between, as the daemon's would.
 */
#ifndef XK_FUZZ_CTL_DAEMON_H
#define XK_FUZZ_CTL_DAEMON_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* An oracle of fuzz_ctl failed: say which, and stop. */
#define CTL_FAIL(what)                                                               \
	do {                                                                         \
		fprintf(stderr, "fuzz_ctl: %s (%s:%d)\n", what, __FILE__, __LINE__); \
		abort();                                                             \
	} while (0)

/* Set up the daemon once (a config with a few connections, its socket in /tmp). */
void ctl_daemon_start(void);

/*
 * Send data as one client; read until `answers` responses ({"ok": ...})
 * came, events between them, each line checked to be a JSON object of
 * one kind or the other.  Aborts if the answers do not come.
 */
void ctl_daemon_talk(const char *data, size_t len, size_t answers);

#endif
