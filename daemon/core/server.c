/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The event loop: one thread, non-blocking sockets, requests handled one at
 * a time.  Every change to the database happens inside one handler call and
 * one transaction, so a SIGTERM can never leave anything half-written.
 *
 * Group commit: the requests that are ready together share one durable
 * COMMIT (store.h).  A reply queued while that batch is open is held and
 * sent only after the COMMIT succeeded, or replaced by an error if it
 * failed; the COMMIT runs from a source of lower priority than client I/O,
 * once every ready request was handled or GROUP_COMMIT_MAX replies wait.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "secret.h"
#include "seclog.h"
#include "request.h"
#include "txn.h"
#include "server.h"

struct conn {
        struct server *srv;
        struct conn *prev, *next;
        int fd;
        bool priv; /* on the private socket */
        struct ucred peer;
        sd_event_source *io;
        sd_event_source *timer;
        uint8_t hdr[ACCTSEC_HEADER_SIZE];
        size_t hdr_got;
        uint8_t type;
        uint32_t body_len;
        uint8_t *body;
        size_t body_got;
        uint8_t *out;
        size_t out_len, out_sent;
        bool close_after_write;
        bool kept; /* answered a request and stays open for the next (pam_acctsec.so keeps one per handle) */
        uint64_t idle_since; /* CLOCK_MONOTONIC usec of its last reply, while kept */
        bool held; /* out waits for the group commit */
        struct pending_reply *pending; /* a handler answers later (mail) */
        struct queued *queued; /* waits for, or runs on, the store's worker */
};

/* A request for an engine that waits (worker.h): its body waits for its
 * turn, then is parsed and handled on a fiber; the reply is queued on the
 * loop's stack when the fiber ended. */
struct queued {
        struct server *srv;
        struct conn *conn; /* NULL once the client went away */
        struct ucred peer;
        uint8_t type;
        uint8_t *body;
        uint32_t body_len;
        bool handled; /* parsed and handled: r is the handler's */
        int r;
};

struct pending_reply {
        struct conn *conn; /* NULL once the client went away */
};

static void maybe_exit(struct server *s);

/* Connections are edge-triggered: epoll reports a socket once when it
 * becomes ready, instead of polling every ready socket again on each loop
 * iteration (level-triggered, with 32 clients that was a fifth of the
 * daemon's time).  So on_conn_io() reads until EAGAIN, and a changed
 * event mask (epoll_ctl MOD) re-arms the edge for what is already there. */
#define CONN_READ (EPOLLIN | EPOLLET)
#define CONN_WRITE (EPOLLOUT | EPOLLET)
#define CONN_HANGUP (EPOLLRDHUP | EPOLLET)

/* The private socket's listener and connections: before everything else
 * (sd-event dispatches the most urgent ready source first).  A reply to
 * root held for the group commit raises the commit above the shared
 * socket too, or a stream of other users' requests could put it off. */
#define PRIORITY_PRIVATE SD_EVENT_PRIORITY_IMPORTANT
#define PRIORITY_PRIVATE_COMMIT (SD_EVENT_PRIORITY_IMPORTANT / 2)

static void conn_reset_request(struct conn *c) {
        if (c->body) {
                acctsec_wipe(c->body, c->body_len);
                free(c->body);
                c->body = NULL;
        }
        c->hdr_got = c->body_got = 0;
        c->body_len = 0;
}

static void conn_free(struct conn *c) {
        struct server *s = c->srv;
        if (c->pending)
                c->pending->conn = NULL;
        if (c->queued)
                c->queued->conn = NULL;
        if (s->current == c)
                s->current = NULL;
        if (c->held)
                s->nheld--;
        conn_reset_request(c);
        if (c->out) {
                acctsec_wipe(c->out, c->out_len);
                free(c->out);
        }
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->nconns--;
        if (c->priv)
                s->nprivate--;
        free(c);
        if (!s->stopping && s->nconns - s->nprivate < CONN_MAX)
                sd_event_source_set_enabled(s->listen_src, SD_EVENT_ON);
        if (!s->stopping && s->private_src && s->nprivate < CONN_MAX_PRIVATE)
                sd_event_source_set_enabled(s->private_src, SD_EVENT_ON);
        maybe_exit(s);
}

/* request_timeout: to send a request, or to read a reply (re-read on SIGHUP). */
static uint64_t deadline_usec(const struct server *s) {
        return s->d->policy.global.request_timeout * 1000000ULL;
}

static void arm_deadline(struct conn *c) {
        sd_event_source_set_time_relative(c->timer, deadline_usec(c->srv));
        sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

/* Returns <0 when the connection was freed. */
static int conn_flush(struct conn *c) {
        while (c->out_sent < c->out_len) {
                ssize_t k = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        /* A client that never reads its reply loses its slot. */
                        sd_event_source_set_io_events(c->io, CONN_WRITE);
                        arm_deadline(c);
                        return 0;
                }
                if (k < 0) {
                        conn_free(c);
                        return -1;
                }
                c->out_sent += (size_t) k;
        }
        acctsec_wipe(c->out, c->out_len);
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_sent = 0;
        if (c->close_after_write || c->srv->stopping) {
                conn_free(c);
                return -1;
        }
        c->kept = true;
        (void) sd_event_now(c->srv->event, CLOCK_MONOTONIC, &c->idle_since);
        /* Full, its listener was paused: an idle connection can give its
         * slot to one waiting in the backlog (accept_some). */
        sd_event_source *listener = c->priv ? c->srv->private_src : c->srv->listen_src;
        if (listener)
                sd_event_source_set_enabled(listener, SD_EVENT_ON);
        sd_event_source_set_io_events(c->io, CONN_READ);
        arm_deadline(c);
        return 0;
}

static int conn_queue_reply(struct conn *c, struct acctsec_frame *f) {
        if (acctsec_frame_finish(f) < 0) {
                /* Our own reply did not fit: say so in a frame that does. */
                acctsec_frame_init(f, ACCTSEC_REPLY_ERROR);
                acctsec_frame_add_u64(f, ACCTSEC_TAG_ERRNO, EMSGSIZE);
                acctsec_frame_finish(f);
        }
        c->out = malloc(f->len);
        if (!c->out) {
                conn_free(c);
                return -1;
        }
        memcpy(c->out, f->buf, f->len);
        c->out_len = f->len;
        c->out_sent = 0;
        acctsec_frame_wipe(f);
        if (c->srv->d->store.batch_open) {
                /* It may tell of writes, or show data, not yet on disk. */
                c->held = true;
                c->srv->nheld++;
                if (c->priv)
                        (void) sd_event_source_set_priority(c->srv->commit_src, PRIORITY_PRIVATE_COMMIT);
                sd_event_source_set_io_events(c->io, CONN_HANGUP);
                return 0;
        }
        return conn_flush(c);
}

static int conn_protocol_error(struct conn *c, int r) {
        struct acctsec_frame *f = c->srv->frame;
        log_notice("closing connection from uid %u (pid %d): %s", (unsigned) c->peer.uid, (int) c->peer.pid,
                   strerror(-r));
        acctsec_frame_init(f, ACCTSEC_REPLY_ERROR);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_ERRNO, (uint64_t) -r);
        acctsec_frame_add_str(f, ACCTSEC_TAG_MESSAGE, "malformed request");
        c->close_after_write = true;
        conn_reset_request(c);
        return conn_queue_reply(c, f);
}

/* The handler's answer r (HANDLE_DEFERRED, or <0: close after it) in frame. */
static int conn_answer(struct conn *c, int r, struct acctsec_frame *frame) {
        if (r == HANDLE_DEFERRED && c->pending) {
                /* Only a hang-up matters until the answer comes. */
                sd_event_source_set_io_events(c->io, CONN_HANGUP);
                return 0;
        }
        if (r < 0)
                c->close_after_write = true;
        return conn_queue_reply(c, frame);
}

/* On the worker's fiber: the request's turn came. */
static void run_queued(void *arg) {
        struct queued *q = arg;
        struct server *s = q->srv;
        if (!q->conn)
                return;
        q->r = acctsec_msg_parse(s->msg, q->type, q->body, q->body_len);
        acctsec_wipe(q->body, q->body_len);
        if (q->r < 0)
                return;
        s->current = q->conn;
        q->handled = true;
        q->r = handle_request(s->d, &q->peer, s->msg, s->frame);
        s->current = NULL;
        acctsec_msg_wipe(s->msg);
}

static void queued_done(void *arg) {
        struct queued *q = arg;
        struct conn *c = q->conn;
        int r = q->r;
        bool malformed = !q->handled;
        free(q->body);
        free(q);
        if (!c)
                return;
        c->queued = NULL;
        if (malformed)
                (void) conn_protocol_error(c, r);
        else
                (void) conn_answer(c, r, c->srv->frame);
}

/* Engines that wait: the request waits for the worker (PING and other
 * requests that need no store are answered at once, below). */
static int conn_queue_request(struct conn *c) {
        struct server *s = c->srv;
        struct queued *q = calloc(1, sizeof(*q));
        if (!q) {
                conn_free(c);
                return -1;
        }
        *q = (struct queued){ .srv = s, .conn = c, .peer = c->peer, .type = c->type, .body = c->body,
                              .body_len = c->body_len };
        c->body = NULL;
        conn_reset_request(c);
        c->queued = q;
        sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        sd_event_source_set_io_events(c->io, CONN_HANGUP);
        int r = worker_run(&s->d->worker, run_queued, queued_done, q);
        if (r < 0) {
                c->queued = NULL;
                free(q->body);
                free(q);
                return conn_protocol_error(c, r);
        }
        return 0;
}

static int conn_dispatch(struct conn *c) {
        struct server *s = c->srv;
        if (s->d->worker.fibers && !request_is_offline(c->type))
                return conn_queue_request(c);
        struct acctsec_msg *msg = s->d->worker.fibers ? s->omsg : s->msg;
        struct acctsec_frame *frame = s->d->worker.fibers ? s->oframe : s->frame;
        int r = acctsec_msg_parse(msg, c->type, c->body, c->body_len);
        if (r < 0)
                return conn_protocol_error(c, r);
        sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        struct conn *outer = s->current; /* a unit of work waits on a fiber */
        s->current = c;
        r = handle_request(s->d, &c->peer, msg, frame);
        s->current = outer;
        acctsec_msg_wipe(msg);
        conn_reset_request(c);
        r = conn_answer(c, r, frame);
        if (s->nheld >= GROUP_COMMIT_MAX) /* bounded latency under a steady stream */
                (void) server_commit(s);
        return r;
}

/* recv(), and who sent the bytes.  A connection's authority is its
 * maker's: SO_PEERCRED, taken at connect().  pam_acctsec.so keeps its
 * connection for the calls of a PAM handle, and a process that holds the
 * fd may fork and drop its privileges (sshd's session child) without
 * closing it.  With SO_PASSCRED the kernel tells, for every write, the
 * process that wrote it (it never glues bytes of two writers into one
 * read): bytes from another process than the maker are refused unread, so
 * a connection serves the process that made it, as the module uses it.
 * (The process, not the uid: the uid the kernel attaches is the real one,
 * and su and sudo run with a real uid that is not their effective 0.)
 * Bytes written before the daemon accepted carry no credentials (the kernel
 * then says pid 0): they come from the connecting process, as SO_PEERCRED
 * says; every write after the accept has them.  Descriptors a client
 * passes (SCM_RIGHTS) are closed. */
static ssize_t conn_recv(struct conn *c, void *dst, size_t want, bool *ret_foreign, pid_t *ret_pid) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(16 * sizeof(int))];
        } ctl;
        struct iovec iov = { .iov_base = dst, .iov_len = want };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
        *ret_foreign = false;
        ssize_t k = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
        if (k < 0)
                return k;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
                if (h->cmsg_level != SOL_SOCKET)
                        continue;
                if (h->cmsg_type == SCM_RIGHTS) {
                        size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < n; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
                                close(fd);
                        }
                } else if (h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
                        struct ucred u;
                        memcpy(&u, CMSG_DATA(h), sizeof(u));
                        /* pid 0: no credentials attached (written before accept) */
                        if (u.pid != 0 && u.pid != c->peer.pid) {
                                *ret_foreign = true;
                                *ret_pid = u.pid;
                        }
                }
        }
        return k;
}

/* <0: the connection was freed; 0: nothing more to read now; 1: a request
 * was handled (its reply sent, held or deferred). */
static int conn_read(struct conn *c) {
        for (;;) {
                uint8_t *dst;
                size_t want;
                if (c->hdr_got < sizeof(c->hdr)) {
                        dst = c->hdr + c->hdr_got;
                        want = sizeof(c->hdr) - c->hdr_got;
                } else {
                        dst = c->body + c->body_got;
                        want = c->body_len - c->body_got;
                }
                bool foreign = false;
                pid_t pid = 0;
                ssize_t k = want ? conn_recv(c, dst, want, &foreign, &pid) : 0;
                if (k < 0 && errno == EINTR)
                        continue;
                if (k > 0 && foreign) {
                        log_warning("closing a connection made by pid %d (uid %u): pid %d wrote to it (a process "
                                    "that inherited it); a connection serves the process that made it",
                                    (int) c->peer.pid, (unsigned) c->peer.uid, (int) pid);
                        conn_free(c);
                        return -1;
                }
                if (k < 0 && errno == EAGAIN)
                        return 0;
                if (want && k <= 0) { /* EOF or error: the peer is gone */
                        conn_free(c);
                        return -1;
                }
                if (c->hdr_got < sizeof(c->hdr)) {
                        c->hdr_got += (size_t) k;
                        if (c->hdr_got < sizeof(c->hdr))
                                continue;
                        int r = acctsec_header_parse(c->hdr, &c->type, &c->body_len);
                        if (r < 0)
                                return conn_protocol_error(c, r);
                        c->body = malloc(c->body_len ? c->body_len : 1);
                        if (!c->body) {
                                conn_free(c);
                                return -1;
                        }
                } else
                        c->body_got += (size_t) k;
                if (c->body_got == c->body_len)
                        return conn_dispatch(c) < 0 ? -1 : 1;
        }
}

static int on_conn_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct conn *c = userdata;
        if (c->pending || c->held || c->queued) {
                if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                        conn_free(c);
                return 0;
        }
        /* Edge-triggered: go on until the socket would block, a reply must
         * wait (EPOLLOUT, the group commit, a child) or the connection went. */
        for (;;) {
                if (c->pending || c->held || c->queued) /* a held reply waits for its commit */
                        return 0;
                if (c->out) {
                        if (conn_flush(c) < 0 || c->out)
                                return 0;
                } else if (conn_read(c) <= 0)
                        return 0;
        }
}

static int on_conn_deadline(sd_event_source *src, uint64_t usec, void *userdata) {
        struct conn *c = userdata;
        log_notice("closing connection from uid %u (pid %d): request not completed in time", (unsigned) c->peer.uid,
                   (int) c->peer.pid);
        conn_free(c);
        return 0;
}

/* Bytes of a next request already in the socket, not read yet (the event
 * loop has not come to them): the connection is busy, not idle. */
static bool conn_has_unread(const struct conn *c) {
        int n = 0;
        return ioctl(c->fd, FIONREAD, &n) < 0 || n > 0;
}

/* Kept between requests and quiet: nothing read or waiting to be read of
 * a next request, no reply on its way, nothing waiting for the store, a
 * commit or a child. */
static bool conn_idle(const struct conn *c) {
        return c->kept && c->hdr_got == 0 && !c->out && !c->pending && !c->queued && !c->held &&
               !conn_has_unread(c);
}

/* Room for a newcomer: the idle connection of this socket (and uid, unless
 * 0) that waited longest is closed.  Its client finds it closed when it
 * next looks, or its next request reset unread, and connects again
 * (common/client.h); a kept connection never holds a slot a login needs. */
static bool evict_idle(struct server *s, bool priv, uid_t uid) {
        struct conn *oldest = NULL;
        for (struct conn *c = s->conns; c; c = c->next)
                if (c->priv == priv && (uid == 0 || c->peer.uid == uid) && conn_idle(c) &&
                    (!oldest || c->idle_since < oldest->idle_since))
                        oldest = c;
        if (!oldest)
                return false;
        conn_free(oldest);
        return true;
}

/* Local users cannot take the slots that sshd, login, su and sudo need:
 * those have the private socket, with slots of its own; on the shared
 * socket each uid has a few, and root keeps some. */
static bool over_limit(struct server *s, const struct ucred *peer, bool priv) {
        unsigned mine = 0;
        if (priv || peer->uid == 0)
                return false;
        if (s->nconns - s->nprivate >= CONN_MAX - CONN_RESERVED_ROOT && !evict_idle(s, false, peer->uid) &&
            !evict_idle(s, false, 0))
                return true;
        for (struct conn *c = s->conns; c; c = c->next)
                mine += !c->priv && c->peer.uid == peer->uid;
        return mine >= CONN_MAX_PER_USER && !evict_idle(s, false, peer->uid);
}

static void conn_new(struct server *s, int fd, bool priv) {
        struct ucred peer;
        socklen_t len = sizeof(peer);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
                close(fd);
                return;
        }
        /* Only root can reach it (mode 0600 in a 0700 directory); anyone
         * else there means the socket's permissions were changed. */
        if (priv && peer.uid != 0) {
                log_warning("refusing uid %u (pid %d) on the private socket, which is root's: check its permissions",
                            (unsigned) peer.uid, (int) peer.pid);
                close(fd);
                return;
        }
        if (over_limit(s, &peer, priv)) {
                if (s->refused++ % 100 == 0)
                        log_warning("connection limit reached (uid %u, %u open); refusing connections",
                                    (unsigned) peer.uid, s->nconns);
                close(fd);
                return;
        }
        /* Who writes each request (conn_recv); without it, no connection. */
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
                log_warning("SO_PASSCRED: %s; refusing the connection", strerror(errno));
                close(fd);
                return;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return;
        }
        *c = (struct conn){ .srv = s, .fd = fd, .priv = priv, .peer = peer, .next = s->conns };
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        s->nprivate += priv;
        sd_event_source_set_enabled(s->idle_src, SD_EVENT_OFF);
        if (sd_event_add_io(s->event, &c->io, fd, CONN_READ, on_conn_io, c) < 0 ||
            sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, deadline_usec(s), 0,
                                       on_conn_deadline, c) < 0) {
                conn_free(c);
                return;
        }
        /* root's requests are handled before any waiting on the shared socket. */
        if (priv)
                (void) sd_event_source_set_priority(c->io, PRIORITY_PRIVATE);
}

static bool connection_waits(int listen_fd) {
        struct pollfd p = { .fd = listen_fd, .events = POLLIN };
        return poll(&p, 1, 0) > 0;
}

static int accept_some(struct server *s, int fd, bool priv) {
        sd_event_source *src = priv ? s->private_src : s->listen_src;
        for (int i = 0; i < 64; i++) {
                /* Full: later clients wait in the listen backlog (their own
                 * timeout bounds the wait) instead of being refused. */
                if ((priv ? s->nprivate >= CONN_MAX_PRIVATE : s->nconns - s->nprivate >= CONN_MAX) &&
                    !(connection_waits(fd) && evict_idle(s, priv, 0))) {
                        sd_event_source_set_enabled(src, SD_EVENT_OFF);
                        return 0;
                }
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_warning("accept: %s", strerror(errno));
                        return 0;
                }
                conn_new(s, cfd, priv);
        }
        return 0;
}

static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        return accept_some(userdata, fd, false);
}

static int on_listen_private(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        return accept_some(userdata, fd, true);
}

/* Exit (stopping) or arm the idle timer once no client is connected and no
 * child runs: a mail sent after its reply (login notices) is waited for. */
static void maybe_exit(struct server *s) {
        if ((s->nconns > 0 && !s->grace_over) || child_running() > 0 ||
            (!worker_idle(&s->d->worker) && !s->grace_over))
                return;
        if (s->stopping)
                sd_event_exit(s->event, 0);
        else if (s->idle_exit_usec) {
                sd_event_source_set_time_relative(s->idle_src, s->idle_exit_usec);
                sd_event_source_set_enabled(s->idle_src, SD_EVENT_ONESHOT);
        }
}

static void on_children_done(void *userdata) {
        maybe_exit(userdata);
}

static void on_worker_idle(void *userdata) {
        maybe_exit(userdata);
}

static int on_idle(sd_event_source *src, uint64_t usec, void *userdata) {
        struct server *s = userdata;
        if (s->nconns > 0 || child_running() > 0 || !worker_idle(&s->d->worker)) /* maybe_exit re-arms it */
                return 0;
        log_info("idle, exiting (socket activation restarts on demand)");
        sd_event_exit(s->event, 0);
        return 0;
}

static int on_grace(sd_event_source *src, uint64_t usec, void *userdata) {
        struct server *s = userdata;
        log_notice("%u connection(s) and %u child process(es) still running at shutdown; exiting", s->nconns,
                   child_running());
        /* Children are killed, not abandoned: each job still ends through
         * its callback (a failure, answered like a timed-out child). */
        s->grace_over = true;
        child_cancel_all();
        maybe_exit(s);
        return 0;
}

static int on_term(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
        struct server *s = userdata;
        if (s->stopping)
                return 0;
        s->stopping = true;
        sd_notify(0, "STOPPING=1");
        log_info("stopping on signal %u", si->ssi_signo);
        sd_event_source_set_enabled(s->listen_src, SD_EVENT_OFF);
        if (s->private_src)
                sd_event_source_set_enabled(s->private_src, SD_EVENT_OFF);
        /* Idle connections go now; one mid-request gets its reply first. */
        for (struct conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (c->hdr_got == 0 && !c->out && !c->pending && !c->queued)
                        conn_free(c);
        }
        if (s->nconns > 0 || child_running() > 0)
                sd_event_add_time_relative(s->event, &s->grace_src, CLOCK_MONOTONIC, 3 * 1000000ULL, 0, on_grace, s);
        maybe_exit(s);
        return 0;
}

/* Durability by meaning (store.h): log appends alone reach the disk
 * within log_sync_delay of the first one that waits, or sooner with a
 * commit that changes security state. */
static void sync_in(struct server *s, uint64_t usec) {
        int on = SD_EVENT_OFF;
        if (!s->d->store.unsynced || (sd_event_source_get_enabled(s->sync_src, &on) >= 0 && on != SD_EVENT_OFF))
                return;
        sd_event_source_set_time_relative(s->sync_src, usec);
        sd_event_source_set_enabled(s->sync_src, SD_EVENT_ONESHOT);
}

static void sync_later(struct server *s) {
        sync_in(s, s->d->policy.global.log_sync_delay_ms * 1000ULL);
}

/* A batch open now is committed from the idle source, which then calls
 * sync_later() again: nothing to re-arm here but after a failure (a
 * second later at the soonest, never in a loop that would starve it). */
static int on_sync(sd_event_source *src, uint64_t usec, void *userdata) {
        struct server *s = userdata;
        int r = store_sync(&s->d->store);
        if (r < 0) {
                log_error("making the log durable failed: %s (tried again in a second)", strerror(-r));
                sync_in(s, 1000000ULL);
        }
        return 0;
}

static void follow_log_sync_delay(struct server *s) {
        bool defer = s->d->policy.global.log_sync_delay_ms > 0;
        if (!defer)
                (void) store_sync(&s->d->store);
        s->d->store.defer_log = defer;
}

static int on_hup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
        struct server *s = userdata;
        char why[512];
        (void) policy_reload(&s->d->policy, why, sizeof(why));
        follow_log_sync_delay(s);
        return 0;
}

/* Replace a held reply by an error: the client must not hear "done" of a
 * write that did not reach the disk. */
static int conn_fail_held(struct conn *c, int r) {
        struct acctsec_frame f;
        acctsec_wipe(c->out, c->out_len);
        free(c->out);
        c->out = NULL;
        acctsec_frame_init(&f, ACCTSEC_REPLY_ERROR);
        acctsec_frame_add_u64(&f, ACCTSEC_TAG_ERRNO, (uint64_t) -r);
        acctsec_frame_add_str(&f, ACCTSEC_TAG_MESSAGE, "database error");
        return conn_queue_reply(c, &f);
}

int server_commit(struct server *s) {
        struct store *st = &s->d->store;
        if (!st->batch_open)
                return 0;
        unsigned n = s->nheld;
        int r = store_batch_commit(st);
        if (r == -EBUSY && st->batch_open) /* inside a transaction: not now */
                return r;
        sd_event_source_set_enabled(s->commit_src, SD_EVENT_OFF);
        (void) sd_event_source_set_priority(s->commit_src, SD_EVENT_PRIORITY_IDLE);
        sync_later(s);
        seclog_release(r == 0);
        if (r < 0)
                log_error("database write failed: %s (group commit of %u replies; each is answered with an error)",
                          strerror(-r), n);
        for (struct conn *c = s->conns, *next; c; c = next) {
                next = c->next; /* c may be freed */
                if (!c->held)
                        continue;
                c->held = false;
                s->nheld--;
                if (r < 0)
                        (void) conn_fail_held(c, r);
                else
                        (void) conn_flush(c);
        }
        return r;
}

static int on_commit(sd_event_source *src, void *userdata) {
        (void) server_commit(userdata);
        return 0;
}

static void on_batch_open(void *userdata) {
        struct server *s = userdata;
        seclog_hold();
        sd_event_source_set_enabled(s->commit_src, SD_EVENT_ONESHOT);
}

/* A child is forked with nothing uncommitted: what the request wrote so
 * far commits first (a code's hash before its mail goes out). */
static int commit_before_child(void *userdata) {
        struct server *s = userdata;
        int r = s->d->store.in_txn ? txn_commit_now(&s->d->store) : 0;
        return r < 0 ? r : server_commit(s);
}

/* A child's completion is a unit of work of its own (worker.h): one
 * transaction. */
struct completion {
        struct server *srv;
        child_done_t done;
        int r;
        void *userdata;
        char out[CHILD_OUT_MAX];
};

static void run_completion(void *arg) {
        struct completion *c = arg;
        struct store *st = &c->srv->d->store;
        bool began = !st->armed; /* inside a request already: a job that could not start */
        if (began)
                txn_begin(st);
        c->done(c->r, c->out, c->userdata);
        int r = began ? txn_end(st, true) : 0;
        if (r < 0)
                log_error("a completion's transaction failed: %s", strerror(-r));
}

static void completion_free(void *arg) {
        acctsec_wipe(arg, sizeof(struct completion));
        free(arg);
}

static void complete(child_done_t done, int r, const char *out, void *userdata, void *server) {
        struct server *s = server;
        struct completion *c = calloc(1, sizeof(*c));
        if (c) {
                *c = (struct completion){ .srv = s, .done = done, .r = r, .userdata = userdata };
                snprintf(c->out, sizeof(c->out), "%s", out);
        }
        if (!c || worker_run(&s->d->worker, run_completion, completion_free, c) < 0) {
                log_error("out of memory: a child's completion runs outside its turn");
                free(c);
                done(r, out, userdata); /* its store calls fail: nothing half-written */
        }
}

struct pending_reply *server_defer(struct server *s) {
        struct conn *c = s->current;
        if (!c || c->pending)
                return NULL;
        c->pending = calloc(1, sizeof(*c->pending));
        if (c->pending)
                c->pending->conn = c;
        return c->pending;
}

void server_reply(struct pending_reply *p, struct acctsec_frame *f) {
        struct conn *c = p->conn;
        free(p);
        if (!c) { /* the client is gone; nobody to tell */
                acctsec_frame_wipe(f);
                return;
        }
        c->pending = NULL;
        (void) conn_queue_reply(c, f);
}

int server_init(struct server *s, struct daemon *d, int listen_fd, int private_fd, uint64_t idle_exit_usec) {
        sigset_t mask;
        int r;

        memset(s, 0, sizeof(*s));
        s->d = d;
        d->srv = s;
        s->listen_fd = listen_fd;
        s->private_fd = private_fd;
        s->idle_exit_usec = idle_exit_usec;
        s->msg = calloc(1, sizeof(*s->msg));
        s->frame = calloc(1, sizeof(*s->frame));
        s->omsg = calloc(1, sizeof(*s->omsg));
        s->oframe = calloc(1, sizeof(*s->oframe));
        if (!s->msg || !s->frame || !s->omsg || !s->oframe)
                return -ENOMEM;
        if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0 ||
            (private_fd >= 0 && fcntl(private_fd, F_SETFL, fcntl(private_fd, F_GETFL) | O_NONBLOCK) < 0))
                return negative_errno();
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD); /* sd_event_add_child: mail delivery */
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        if ((r = sd_event_new(&s->event)) < 0)
                return r;
        d->event = s->event;
        child_on_idle(on_children_done, s);
        if ((r = sd_event_add_io(s->event, &s->listen_src, listen_fd, EPOLLIN, on_listen, s)) < 0 ||
            (r = sd_event_add_signal(s->event, NULL, SIGTERM, on_term, s)) < 0 ||
            (r = sd_event_add_signal(s->event, NULL, SIGINT, on_term, s)) < 0 ||
            (r = sd_event_add_signal(s->event, NULL, SIGHUP, on_hup, s)) < 0 ||
            (r = sd_event_add_time_relative(s->event, &s->idle_src, CLOCK_MONOTONIC, idle_exit_usec, 0, on_idle,
                                            s)) < 0 ||
            (r = sd_event_add_defer(s->event, &s->commit_src, on_commit, s)) < 0 ||
            (r = sd_event_add_time_relative(s->event, &s->sync_src, CLOCK_MONOTONIC, 0, 0, on_sync, s)) < 0 ||
            (r = sd_event_source_set_enabled(s->sync_src, SD_EVENT_OFF)) < 0 ||
            (r = sd_event_source_set_priority(s->commit_src, SD_EVENT_PRIORITY_IDLE)) < 0 ||
            (r = sd_event_source_set_enabled(s->commit_src, SD_EVENT_OFF)) < 0)
                return r;
        if (private_fd >= 0 &&
            ((r = sd_event_add_io(s->event, &s->private_src, private_fd, EPOLLIN, on_listen_private, s)) < 0 ||
             (r = sd_event_source_set_priority(s->private_src, PRIORITY_PRIVATE)) < 0))
                return r;
        sd_event_source_set_enabled(s->idle_src, idle_exit_usec ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        d->store.on_batch_open = on_batch_open;
        d->store.batch_userdata = s;
        child_before_start(commit_before_child, s);
        child_on_done(complete, s);
        worker_init(&d->worker, s->event, store_waits(&d->store));
        d->worker.on_idle = on_worker_idle;
        d->worker.idle_ud = s;
        d->store.batching = !store_waits(&d->store); /* PostgreSQL groups commits across sessions itself */
        follow_log_sync_delay(s);
        return 0;
}

int server_run(struct server *s) {
        int r = sd_event_loop(s->event);
        /* Exit came with a batch open (a child's outcome, the maintenance
         * tick): it is durable before we go. */
        (void) server_commit(s);
        log_info("%" PRIu64 " write transactions in %" PRIu64 " commits", s->d->store.transactions,
                 s->d->store.commits);
        log_info("durability: %" PRIu64 " commits of log appends alone, made durable by %" PRIu64 " later syncs",
                 s->d->store.deferred, s->d->store.late_syncs);
        return r;
}

void server_done(struct server *s) {
        (void) server_commit(s);
        (void) store_sync(&s->d->store);
        child_before_start(NULL, NULL);
        child_on_done(NULL, NULL);
        s->d->store.batching = false;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->listen_src);
        sd_event_source_disable_unref(s->private_src);
        sd_event_source_disable_unref(s->idle_src);
        sd_event_source_disable_unref(s->grace_src);
        sd_event_source_disable_unref(s->commit_src);
        sd_event_source_disable_unref(s->sync_src);
        sd_event_unref(s->event);
        free(s->msg);
        free(s->frame);
        free(s->omsg);
        free(s->oframe);
}
