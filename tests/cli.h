/* SPDX-License-Identifier: ISC */
/*
 * The command-line words the backend tools (xk-xfrm, xk-esp) share: numbers,
 * addresses, selectors, hex keys, modes, directions, algorithms, and the
 * SA and policy specifications built from them.  Any word that does not
 * parse ends the program: "<tool>: <what>: <word>" on stderr, exit status 2.
 */
#ifndef XK_TEST_CLI_H
#define XK_TEST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sa.h"

/* The tool's name for its messages; each tool defines it. */
extern const char cli_prog[];

_Noreturn void cli_die(const char *what, const char *arg);

uint32_t cli_num(const char *s);
void cli_addr(const char *s, struct xk_addr *a);
void cli_ts(const char *s, struct xk_ts *t);
/* An even number of hex digits, at most cap bytes; returns the bytes written. */
size_t cli_hex(const char *s, uint8_t *out, size_t cap);
enum xk_mode cli_mode(const char *s);           /* tunnel | transport */
enum xk_dir cli_dir(const char *s);             /* in | out | fwd */
/* aes128gcm16 aes256gcm16 chacha20poly1305 aes128 aes256 */
void cli_enc(const char *s, struct xk_sa *sa);
/* sha256 sha384 sha512; false (sa untouched) for any other word. */
bool cli_integ(const char *s, struct xk_sa *sa);

/*
 * "SRC DST SPI REQID MODE ENC KEYHEX [INTEG KEYHEX]" from argv[0, argc)
 * into sa (whose other fields the caller has set); returns the index of
 * the first word after them.  usage is printed if fewer than 7 words.
 */
int cli_sa(int argc, char **argv, struct xk_sa *sa, const char *usage);
/*
 * The SA option at argv[i] that both tools take (esn, window N,
 * encap SPORT DPORT, soft-secs N, hard-secs N, soft-packets N,
 * hard-packets N): returns the number of words after argv[i] it took, or
 * -1 if argv[i] is none of them (or encap lacks its ports).
 */
int cli_sa_option(int argc, char **argv, int i, struct xk_sa *sa);

/* "SRC_TS DST_TS in|out|fwd" from argv[0, 3) into a zeroed p. */
void cli_policy_sel(char **argv, struct xk_policy *p);
/*
 * "SRC_TS DST_TS DIR REQID MODE [TSRC TDST] [prio N]" (priority 1000 if
 * none is given); usage is printed if fewer than 5 words.
 */
void cli_policy(int argc, char **argv, struct xk_policy *p, const char *usage);

#endif
