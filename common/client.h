/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include "conf.h"
#include "proto.h"

/*
 * One request, one reply, within timeout_ms in total (connect, send and
 * receive).  The socket must belong to root or to the caller, and the peer
 * (SO_PEERCRED) must be that same uid: nobody else can stand in for the daemon.
 * Returns 0 with *reply filled, or -ENOENT/-ECONNREFUSED (no daemon),
 * -ETIMEDOUT (hung daemon), -EPERM (untrusted socket or peer), -EPROTO etc.
 * The socket is opened with SOCK_CLOEXEC and always closed before returning;
 * no signal disposition is touched (MSG_NOSIGNAL).  The connect waits for
 * room in a full listen backlog until the deadline (-ETIMEDOUT).
 */
int acctsec_call(const char *socket_path, unsigned timeout_ms, struct acctsec_frame *req,
                 struct acctsec_msg *reply);

/*
 * The same, to the socket for this caller: root (sshd, login, su, sudo,
 * root's acctsec) uses the private socket (private_socket, or "" for the
 * one beside socket_path: acctsec_private_socket_path), which only root can
 * reach, and falls back to socket_path only when there is no private one
 * (nothing at its path); any failure on it is final.  Every other caller
 * uses socket_path.  ret_path: the socket used.
 */
int acctsec_call_as_caller(const char *socket_path, const char *private_socket, unsigned timeout_ms,
                           struct acctsec_frame *req, struct acctsec_msg *reply,
                           char ret_path[static ACCTSEC_SOCKET_PATH_MAX]);

/* For an ERROR reply: its errno (positive) and message. */
int acctsec_reply_errno(const struct acctsec_msg *reply);
