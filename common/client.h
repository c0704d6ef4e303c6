/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include "conf.h"
#include "proto.h"

/*
 * One request, one reply, within timeout_ms in total (connect, send and
 * receive).  The socket must belong to root or to the caller, and the peer
 * (SO_PEERCRED) must be that same uid: nobody else can stand in for the daemon.
 * Returns 0 with *reply filled, or -ENOENT/-ECONNREFUSED (no daemon),
 * -ETIMEDOUT (hung daemon), -ECONNABORTED (it closed the connection without
 * a reply), -EPERM (untrusted socket or peer), -EPROTO etc.
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

/*
 * The same in two steps, for a client that keeps its connection for more
 * than one request (pam_acctsec.so keeps one per PAM handle).  deadline:
 * from acctsec_deadline().  acctsec_connect_as_caller() opens the
 * connection (*ret_fd, SOCK_CLOEXEC, the caller closes it);
 * acctsec_exchange() sends one request on it and reads its reply; with
 * spin, it polls for the reply up to 50 us before it sleeps (a waste when
 * the daemon is busy: ask for it only after a quick reply), and
 * *ret_quick (if not NULL) says whether this reply came within that.  The
 * daemon serves a connection's requests one at a time, and closes one that
 * is idle (request_timeout, or its slot wanted by a new one).  A request
 * sent on a kept connection that fails with -EPIPE or -ECONNRESET was not
 * read by the daemon (Linux: a Unix stream socket closed with unread data
 * resets its peer) and may be sent again on a new connection; after any
 * other error the connection's state is unknown and it must be closed (a
 * late reply would be read as the next request's).
 */
long long acctsec_deadline(unsigned timeout_ms);
int acctsec_connect_as_caller(const char *socket_path, const char *private_socket, long long deadline,
                              int *ret_fd, char ret_path[static ACCTSEC_SOCKET_PATH_MAX]);
int acctsec_exchange(int fd, long long deadline, bool spin, bool *ret_quick, struct acctsec_frame *req,
                     struct acctsec_msg *reply);

/* For an ERROR reply: its errno (positive) and message. */
int acctsec_reply_errno(const struct acctsec_msg *reply);
