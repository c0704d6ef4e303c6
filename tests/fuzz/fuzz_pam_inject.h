/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Force-included (clang -include) into the module's and common/'s sources,
 * and only those, when tests/fuzz/run.sh builds fuzz_pam.  It renames the
 * calls through which an internal error can reach the module to wrappers in
 * fuzz_pam.c, which fail the Nth call with a chosen errno while a pam_sm_*
 * call runs.  Renaming at compile time (rather than interposing the symbols)
 * leaves libFuzzer, ASan, libpam and the fake daemon's own calls alone: ASan
 * already owns malloc and friends, and libpam's allocations are not ours.
 *
 * The renaming also covers the declarations in the system headers that
 * follow, so prototypes and definitions stay consistent.
 */
#ifndef ACCTSEC_FUZZ_PAM_INJECT_H
#define ACCTSEC_FUZZ_PAM_INJECT_H

/* memory */
#define malloc fuzz_malloc
#define calloc fuzz_calloc
#define realloc fuzz_realloc
#define strdup fuzz_strdup
/* the daemon's socket (common/client.c) */
#define socket fuzz_socket
#define connect fuzz_connect
#define send fuzz_send
#define recv fuzz_recv
#define poll fuzz_poll
#define getsockopt fuzz_getsockopt
#define setsockopt fuzz_setsockopt
#define lstat fuzz_lstat
/* the config file (common/conf_file.c) */
#define open fuzz_open
#define fstat fuzz_fstat
#define read fuzz_read
/* libpam calls that fail on their own (out of memory, a failed conversation) */
#define pam_get_user fuzz_pam_get_user
#define pam_get_authtok fuzz_pam_get_authtok
#define pam_prompt fuzz_pam_prompt
/* millions of log lines must not reach syslog: formatted, then dropped */
#define pam_syslog fuzz_pam_syslog
/* the module's entry points, called by fuzz_pam.c through libpam and a shim */
#define pam_sm_authenticate acctsec_sm_authenticate
#define pam_sm_setcred acctsec_sm_setcred
#define pam_sm_acct_mgmt acctsec_sm_acct_mgmt
#define pam_sm_chauthtok acctsec_sm_chauthtok
#define pam_sm_open_session acctsec_sm_open_session
#define pam_sm_close_session acctsec_sm_close_session

#endif
