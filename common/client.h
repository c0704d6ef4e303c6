/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include "proto.h"

/*
 * One request, one reply, within timeout_ms in total (connect, send and
 * receive).  The socket must belong to root or to the caller, and the peer
 * (SO_PEERCRED) must be that same uid: nobody else can stand in for the daemon.
 * Returns 0 with *reply filled, or -ENOENT/-ECONNREFUSED (no daemon),
 * -ETIMEDOUT (hung daemon), -EPERM (untrusted socket or peer), -EPROTO etc.
 * The socket is opened with SOCK_CLOEXEC and always closed before returning;
 * no signal disposition is touched (MSG_NOSIGNAL).
 */
int acctsec_call(const char *socket_path, unsigned timeout_ms, struct acctsec_frame *req,
                 struct acctsec_msg *reply);

/* For an ERROR reply: its errno (positive) and message. */
int acctsec_reply_errno(const struct acctsec_msg *reply);
