/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <security/pam_modules.h>

#include "client.h"

/* One request and its reply on this handle's connection to acctsecd (link.c),
 * made or made again as needed, to the socket for the caller
 * (acctsec_connect_as_caller), within timeout_ms; without keep, on a
 * connection of its own, closed before returning, and the handle's is
 * closed too.  What acctsec_call_as_caller() returns; path: the socket
 * used. */
int link_call(pam_handle_t *pamh, const struct acctsec_conf *c, bool keep, unsigned timeout_ms,
              struct acctsec_frame *req, struct acctsec_msg *reply, char path[static ACCTSEC_SOCKET_PATH_MAX]);
