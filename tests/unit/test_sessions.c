/* SPDX-License-Identifier: BSD-3-Clause */
/* Session records (daemon/domain/sessions.c) on a real SQLite store, each call
 * inside a transaction as the dispatcher makes one: open, close (by id or
 * by the opening process), the active list, terminate's last word,
 * reconciliation of sessions whose process is gone, and the purge.  The
 * live process of reconciliation is this test itself; the gone ones are a
 * pid no process can have and this pid with another start time (a reused
 * pid).  The rows left behind are read through a second connection. */
#include "config.h"

#include "unit.h"

#include <unistd.h>

#include "procs.h"
#include "sessions.h"
#include "store_fixture.h"

#define T0 1700000000
#define NO_SUCH_PID 0x3fffffff /* above any pid_max (2^22) */

static struct proc me; /* this test: a live process */

/* cmocka group setup: read me. */
static int read_me(void **state) {
        assert_int_equal(proc_read(getpid(), &me), 0);
        return 0;
}

/* An active session of user, opened by (pid, start) at now: its id. */
static int64_t open_session(struct store_fixture *f, const char *user, const char *rhost, pid_t pid, uint64_t start,
                            int64_t now) {
        struct session s = { .user = user, .service = "sshd", .tty = "pts/3", .rhost = rhost, .pid = pid,
                             .pid_start = start, .started = now };
        int64_t id = 0;
        assert_int_equal(IN_TXN(&f->s, sessions_insert(&f->s, &s, &id)), 0);
        assert_true(id > 0);
        return id;
}

/* sessions_end in a request of its own; *ret freed here. */
static int end(struct store_fixture *f, int64_t *id, const char *user, pid_t pid, uint64_t start, int64_t now,
               const char *reason, struct session *ret) {
        return IN_TXN(&f->s, sessions_end(&f->s, id, user, pid, start, now, reason, ret));
}

static void test_open(void **state) {
        struct store_fixture *f = *state;
        int64_t a = open_session(f, "alice", "192.0.2.1", 4242, 777, T0);
        struct session s = { .user = "bob", .pid = 1, .pid_start = 2, .started = T0 + 1 }; /* NULL fields: '' */
        int64_t b = 0;
        assert_int_equal(IN_TXN(&f->s, sessions_insert(&f->s, &s, &b)), 0);
        assert_int_equal(b, a + 1);
        assert_string_equal(peek_text(f, "SELECT user || '|' || service || '|' || tty || '|' || rhost || '|' || logind"
                                   " || '|' || pid || '|' || pid_start || '|' || started || '|' || last_active"
                                   " || '|' || ended || '|' || end_reason FROM sessions WHERE id = %lld",
                                (long long) a),
                            "alice|sshd|pts/3|192.0.2.1||4242|777|1700000000|1700000000|0|");
        assert_string_equal(peek_text(f, "SELECT user || '|' || service || '|' || tty || '|' || rhost || '|' || logind"
                                   " FROM sessions WHERE id = %lld",
                                (long long) b),
                            "bob||||");
}

static void test_close(void **state) {
        struct store_fixture *f = *state;
        struct session s;
        int64_t a = open_session(f, "alice", "192.0.2.1", 4242, 777, T0);
        int64_t id = a;

        assert_int_equal(end(f, &id, "bob", 0, 0, T0 + 5, SESSION_REASON_CLOSED, &s), 0); /* not bob's */
        assert_int_equal(peek_int(f, "SELECT ended FROM sessions WHERE id = %lld", (long long) a), 0);
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 5, SESSION_REASON_CLOSED, &s), 1);
        assert_int_equal(s.id, a);
        assert_string_equal(s.user, "alice");
        assert_string_equal(s.service, "sshd");
        assert_string_equal(s.tty, "pts/3");
        assert_string_equal(s.rhost, "192.0.2.1");
        assert_int_equal(s.pid, 4242);
        assert_int_equal(s.ended, T0 + 5);
        session_free(&s);
        assert_string_equal(peek_text(f, "SELECT ended || '|' || end_reason FROM sessions WHERE id = %lld", (long long) a),
                            "1700000005|closed");
        /* Once: a second close finds it ended, and changes nothing. */
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 9, SESSION_REASON_CLOSED, &s), 0);
        assert_null(s.user);
        assert_int_equal(peek_int(f, "SELECT ended FROM sessions WHERE id = %lld", (long long) a), T0 + 5);
}

/* Without an id: the newest active session of that user and process. */
static void test_close_by_process(void **state) {
        struct store_fixture *f = *state;
        struct session s;
        int64_t a = open_session(f, "alice", "", 4242, 777, T0);
        int64_t b = open_session(f, "alice", "", 4242, 777, T0 + 1);
        int64_t c = open_session(f, "alice", "", 4242, 778, T0 + 2); /* the pid reused */
        int64_t id = 0;

        assert_int_equal(end(f, &id, "bob", 4242, 777, T0 + 5, SESSION_REASON_CLOSED, &s), 0);
        assert_int_equal(id, 0);
        assert_int_equal(end(f, &id, "alice", 4242, 777, T0 + 5, SESSION_REASON_CLOSED, &s), 1);
        assert_int_equal(id, b);
        session_free(&s);
        id = 0;
        assert_int_equal(end(f, &id, "alice", 4242, 777, T0 + 6, SESSION_REASON_CLOSED, &s), 1);
        assert_int_equal(id, a);
        session_free(&s);
        id = 0;
        assert_int_equal(end(f, &id, "alice", 4242, 777, T0 + 7, SESSION_REASON_CLOSED, &s), 0);
        assert_int_equal(peek_int(f, "SELECT ended FROM sessions WHERE id = %lld", (long long) c), 0);
}

struct seen {
        int64_t ids[8];
        size_t n, stop_at;
};

static int see(const struct session *s, void *userdata) {
        struct seen *v = userdata;
        assert_int_equal(s->ended, 0);
        v->ids[v->n++] = s->id;
        return v->n == v->stop_at ? 7 : 0;
}

static void test_list_active(void **state) {
        struct store_fixture *f = *state;
        struct session s;
        int64_t a = open_session(f, "alice", "", 1, 1, T0);
        int64_t b = open_session(f, "bob", "", 2, 2, T0);
        int64_t c = open_session(f, "alice", "", 3, 3, T0);
        int64_t d = open_session(f, "alice", "", 4, 4, T0);
        int64_t id = c;
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 1, SESSION_REASON_CLOSED, &s), 1);
        session_free(&s);

        struct seen v = { .n = 0 };
        assert_int_equal(sessions_foreach_active(&f->s, "alice", false, see, &v), 0);
        assert_int_equal(v.n, 2); /* oldest first, the ended one left out */
        assert_int_equal(v.ids[0], a);
        assert_int_equal(v.ids[1], d);
        v = (struct seen){ .n = 0 };
        assert_int_equal(sessions_foreach_active(&f->s, NULL, false, see, &v), 0);
        assert_int_equal(v.n, 3);
        assert_int_equal(v.ids[1], b);
        /* A callback's nonzero return stops the walk and is returned. */
        v = (struct seen){ .n = 0, .stop_at = 2 };
        assert_int_equal(sessions_foreach_active(&f->s, NULL, false, see, &v), 7);
        assert_int_equal(v.n, 2);
        v = (struct seen){ .n = 0 };
        assert_int_equal(sessions_foreach_active(&f->s, "carol", false, see, &v), 0);
        assert_int_equal(v.n, 0);
        /* One host: its sessions are all the sessions. */
        v = (struct seen){ .n = 0 };
        assert_int_equal(sessions_foreach_active(&f->s, "alice", true, see, &v), 0);
        assert_int_equal(v.n, 2);
        v = (struct seen){ .n = 0 };
        assert_int_equal(sessions_foreach_active(&f->s, NULL, true, see, &v), 0);
        assert_int_equal(v.n, 3);
        assert_false(f->s.in_txn); /* the list only reads */
}

/* Terminate has the last word: a session its leader closed on the way out
 * is marked terminated, keeping the time it ended; marked once. */
static void test_terminate_marks(void **state) {
        struct store_fixture *f = *state;
        struct session s;
        int64_t a = open_session(f, "alice", "", 1, 1, T0);
        int64_t b = open_session(f, "alice", "", 2, 2, T0);
        int64_t id = a;

        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 5, SESSION_REASON_CLOSED, &s), 1);
        session_free(&s);
        assert_int_equal(end(f, &id, NULL, 0, 0, T0 + 8, SESSION_REASON_TERMINATED, &s), 1);
        assert_string_equal(s.user, "alice");
        session_free(&s);
        assert_string_equal(peek_text(f, "SELECT ended || '|' || end_reason FROM sessions WHERE id = %lld", (long long) a),
                            "1700000005|terminated");
        assert_int_equal(end(f, &id, NULL, 0, 0, T0 + 9, SESSION_REASON_TERMINATED, &s), 0); /* once */
        /* An active one: ended now. */
        id = b;
        assert_int_equal(end(f, &id, NULL, 0, 0, T0 + 10, SESSION_REASON_TERMINATED, &s), 1);
        session_free(&s);
        assert_string_equal(peek_text(f, "SELECT ended || '|' || end_reason FROM sessions WHERE id = %lld", (long long) b),
                            "1700000010|terminated");
        /* With a user, only that user's. */
        int64_t c = open_session(f, "bob", "", 3, 3, T0);
        id = c;
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 11, SESSION_REASON_TERMINATED, &s), 0);
        assert_int_equal(peek_int(f, "SELECT ended FROM sessions WHERE id = %lld", (long long) c), 0);
}

static void test_logind_and_touch(void **state) {
        struct store_fixture *f = *state;
        int64_t a = open_session(f, "alice", "", 1, 1, T0);
        txn_begin(&f->s);
        assert_int_equal(sessions_set_logind(&f->s, a, "c17"), 0);
        assert_int_equal(sessions_touch(&f->s, a, T0 + 60), 0);
        assert_int_equal(sessions_touch(&f->s, a, T0 + 30), 0); /* never backwards */
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_string_equal(peek_text(f, "SELECT logind || '|' || last_active FROM sessions WHERE id = %lld", (long long) a),
                            "c17|1700000060");
}

/* sessions_reconcile in a transaction of its own: 1 more, 0 done. */
static int reconcile(struct store_fixture *f, int64_t now) {
        return IN_TXN(&f->s, sessions_reconcile(&f->s, now));
}

static void test_reconcile(void **state) {
        struct store_fixture *f = *state;
        int64_t live = open_session(f, "alice", "", me.pid, me.start, T0);
        int64_t gone = open_session(f, "alice", "192.0.2.7", NO_SUCH_PID, 1, T0);
        int64_t reused = open_session(f, "bob", "", me.pid, me.start + 1, T0);
        int64_t closed = open_session(f, "bob", "", NO_SUCH_PID, 2, T0);
        struct session s;
        int64_t id = closed;
        assert_int_equal(end(f, &id, "bob", 0, 0, T0 + 1, SESSION_REASON_CLOSED, &s), 1);
        session_free(&s);

        assert_int_equal(reconcile(f, T0 + 50), 0);
        assert_int_equal(peek_int(f, "SELECT ended FROM sessions WHERE id = %lld", (long long) live), 0);
        assert_string_equal(peek_text(f, "SELECT ended || '|' || end_reason FROM sessions WHERE id = %lld", (long long) gone),
                            "1700000050|process gone");
        assert_string_equal(peek_text(f, "SELECT end_reason FROM sessions WHERE id = %lld", (long long) reused),
                            "process gone");
        assert_string_equal(peek_text(f, "SELECT ended || '|' || end_reason FROM sessions WHERE id = %lld", (long long) closed),
                            "1700000001|closed"); /* ended already: left alone */
        assert_int_equal(peek_events(f, "session_closed"), 2);
        assert_string_equal(peek_text(f, "SELECT time || '|' || user || '|' || service || '|' || rhost || '|' || tty"
                                   " || '|' || detail FROM events WHERE type = 'session_closed' ORDER BY id"),
                            "1700000050|alice|sshd|192.0.2.7|pts/3|session 2: process gone");
        /* Nothing more to do: nothing written. */
        assert_int_equal(reconcile(f, T0 + 60), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM events"), 2);
}

/* More gone sessions than one batch: 256 a call, then the rest. */
static void test_reconcile_in_batches(void **state) {
        struct store_fixture *f = *state;
        txn_begin(&f->s);
        for (int i = 0; i < 300; i++) {
                struct session s = { .user = "alice", .pid = NO_SUCH_PID, .pid_start = (uint64_t) i, .started = T0 };
                int64_t id;
                assert_int_equal(sessions_insert(&f->s, &s, &id), 0);
        }
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(reconcile(f, T0 + 1), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions WHERE ended = 0"), 300 - 256);
        assert_int_equal(reconcile(f, T0 + 2), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions WHERE ended = 0"), 0);
        assert_int_equal(peek_events(f, "session_closed"), 300);
        assert_int_equal(peek_int(f, "SELECT max(id) FROM sessions WHERE ended = 1700000001"), 256); /* oldest first */
}

static void test_purge(void **state) {
        struct store_fixture *f = *state;
        struct session s;
        int64_t old = open_session(f, "alice", "", 1, 1, T0);
        int64_t recent = open_session(f, "alice", "", 2, 2, T0);
        open_session(f, "alice", "", 3, 3, T0); /* active: kept however old */
        int64_t id = old;
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 10, SESSION_REASON_CLOSED, &s), 1);
        session_free(&s);
        id = recent;
        assert_int_equal(end(f, &id, "alice", 0, 0, T0 + 86400, SESSION_REASON_CLOSED, &s), 1);
        session_free(&s);

        assert_int_equal(IN_TXN(&f->s, sessions_purge(&f->s, T0 + 100 * 86400, 0)), 0); /* 0 days: keep */
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions"), 3);
        assert_int_equal(IN_TXN(&f->s, sessions_purge(&f->s, T0 + 86400 + 11, 1)), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions"), 2);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions WHERE id = %lld", (long long) old), 0);
        assert_int_equal(IN_TXN(&f->s, sessions_purge(&f->s, T0 + 1000 * 86400, 1)), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions WHERE ended = 0"), 1);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM sessions"), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                store_unit_test(test_open),
                store_unit_test(test_close),
                store_unit_test(test_close_by_process),
                store_unit_test(test_list_active),
                store_unit_test(test_terminate_marks),
                store_unit_test(test_logind_and_touch),
                store_unit_test(test_reconcile),
                store_unit_test(test_reconcile_in_batches),
                store_unit_test(test_purge),
        };
        return cmocka_run_group_tests(tests, read_me, NULL);
}
