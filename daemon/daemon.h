/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

#include "keyfile.h"
#include "mfa.h"
#include "policy.h"
#include "proto.h"
#include "store.h"

struct daemon {
        struct store store;
        struct policy policy;
        uint8_t key[KEYFILE_KEY_SIZE]; /* master key: seals TOTP secrets */
        struct mfa mfa;
};

/* Handle one request from a peer known by SO_PEERCRED; always fills reply
 * (OK or ERROR).  Returns 0, or <0 when the connection should close. */
int handle_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                   struct acctsec_frame *reply);
