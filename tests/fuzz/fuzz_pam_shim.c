/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM module libpam loads for fuzz_pam: every entry point hands the call
 * back to the fuzz binary (fuzz_pam_dispatch, exported by it), which runs
 * the real module code compiled into itself.  The module code lives in the
 * executable so that libFuzzer sees its coverage; libpam still does the
 * loading, the stack, the items and the conversation as for sshd or login.
 */
#include <security/pam_modules.h>

int fuzz_pam_dispatch(int which, pam_handle_t *pamh, int flags, int argc, const char **argv);

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return fuzz_pam_dispatch(0, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return fuzz_pam_dispatch(1, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return fuzz_pam_dispatch(2, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return fuzz_pam_dispatch(3, pamh, flags, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return fuzz_pam_dispatch(4, pamh, flags, argc, argv);
}
