/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

/* The one place where a negative errno becomes a PAM return code.  Never
 * PAM_SUCCESS or PAM_IGNORE: an internal error is never a pass. */
int acctsec_errno_to_pam(int negative_errno);
