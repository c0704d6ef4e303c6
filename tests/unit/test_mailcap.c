/* SPDX-License-Identifier: BSD-3-Clause */
/* mail_max_per_hour (daemon/domain/mailcap.c): the sliding-hour rule on its own,
 * then on a real SQLite store with the clock passed in, so every edge of
 * the window is tested to the second without waiting for it. */
#include "config.h"

#include "unit.h"

#include "mailcap.h"
#include "store_fixture.h"

#define T0 1700000000
#define HOUR MAILCAP_WINDOW

static void test_wait_rule(void **state) {
        (void) state;
        int64_t now = T0;
        int64_t three[] = { now - 10, now - 20, now - 30 };
        assert_int_equal(mailcap_wait(three, 3, now, 0), 0);  /* no cap */
        assert_int_equal(mailcap_wait(three, 3, now, 4), 0);  /* room for one more */
        assert_int_equal(mailcap_wait(three, 0, now, 1), 0);  /* nothing sent */
        /* full: the oldest of the newest three leaves the window first */
        assert_int_equal(mailcap_wait(three, 3, now, 3), HOUR - 30);
        assert_int_equal(mailcap_wait(three, 3, now, 2), HOUR - 20);
        assert_int_equal(mailcap_wait(three, 3, now, 1), HOUR - 10);
        /* a mail exactly an hour old no longer counts; a second younger does */
        int64_t edge[] = { now - HOUR + 1, now - HOUR };
        assert_int_equal(mailcap_wait(edge, 2, now, 1), 1);
        assert_int_equal(mailcap_wait(edge + 1, 1, now, 1), 0);
        assert_int_equal(mailcap_wait(edge, 2, now, 2), 0);
        /* mails "sent" after now (the clock was set back) do not count */
        int64_t future[] = { now + 500, now + 100, now - 5 };
        assert_int_equal(mailcap_wait(future, 3, now, 1), HOUR - 5);
        assert_int_equal(mailcap_wait(future, 3, now, 2), 0);
        /* sent this very second: counts, for a whole hour */
        int64_t just[] = { now };
        assert_int_equal(mailcap_wait(just, 1, now, 1), HOUR);
}

static void test_message_and_event(void **state) {
        char buf[200];
        (void) state;
        mailcap_message(720, buf, sizeof(buf));
        assert_string_equal(buf, "Too many mails were sent to this account in the last hour; try again in 12 minutes.");
        mailcap_message(1, buf, sizeof(buf)); /* never "in 0 minutes" */
        assert_non_null(strstr(buf, "try again in 1 minute."));
        mailcap_message(61, buf, sizeof(buf));
        assert_non_null(strstr(buf, "try again in 2 minutes."));
        struct event ev = mailcap_event("alice", "login code", 10, buf, sizeof(buf));
        assert_int_equal(ev.type, EV_MAIL_CAPPED);
        assert_string_equal(ev.user, "alice");
        assert_string_equal(ev.detail, "login code not mailed: 10 mails in the last hour (mail_max_per_hour)");
}

/* mailcap_take in a request of its own, which commits (a refusal too,
 * as the daemon's requests do: it must have written nothing). */
static int take(struct store_fixture *f, const char *user, int64_t now, unsigned max, int64_t *wait) {
        return IN_TXN(&f->s, mailcap_take(&f->s, user, now, max, wait));
}

/* A user's rows (everyone's with NULL), as committed. */
static long long rows(struct store_fixture *f, const char *user) {
        return peek_int(f, "SELECT count(*) FROM mail_sent%s%s%s", user ? " WHERE user = '" : "", user ? user : "",
                        user ? "'" : "");
}

static int purge(struct store_fixture *f, int64_t now) {
        return IN_TXN(&f->s, mailcap_purge(&f->s, now));
}

/* Three mails allowed an hour: the fourth waits until the first is an
 * hour old, to the second; then the window slides on. */
static void test_sliding_hour(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = -1;
        assert_int_equal(take(f, "alice", T0, 3, &wait), 0);
        assert_int_equal(take(f, "alice", T0 + 10, 3, &wait), 0);
        assert_int_equal(take(f, "alice", T0 + 20, 3, &wait), 0);
        assert_int_equal(wait, -1); /* untouched while mail may go */
        assert_int_equal(take(f, "alice", T0 + 30, 3, &wait), -EDQUOT);
        assert_int_equal(wait, HOUR - 30);
        assert_int_equal(take(f, "alice", T0 + HOUR - 1, 3, &wait), -EDQUOT);
        assert_int_equal(wait, 1);
        assert_int_equal(rows(f, "alice"), 3); /* refusals are not counted */
        /* bob has his own three */
        assert_int_equal(take(f, "bob", T0 + 30, 3, &wait), 0);
        assert_int_equal(take(f, "alice", T0 + HOUR, 3, &wait), 0); /* T0 left the window */
        assert_int_equal(take(f, "alice", T0 + HOUR, 3, &wait), -EDQUOT);
        assert_int_equal(wait, 10); /* until T0 + 10 leaves it */
        /* each user keeps only the rows that count */
        assert_int_equal(rows(f, "alice"), 3);
        assert_int_equal(rows(f, "bob"), 1);
}

/* A mail taken in a transaction that rolls back was never counted. */
static void test_rolled_back_take_is_not_counted(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        txn_begin(&f->s);
        assert_int_equal(mailcap_take(&f->s, "alice", T0, 1, &wait), 0);
        assert_int_equal(txn_end(&f->s, false), 0);
        assert_int_equal(rows(f, NULL), 0);
        assert_int_equal(take(f, "alice", T0, 1, &wait), 0);
        assert_int_equal(take(f, "alice", T0, 1, &wait), -EDQUOT);
}

/* mailcap_check answers like take and counts nothing. */
static void test_check_counts_nothing(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        assert_int_equal(take(f, "alice", T0, 2, &wait), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(mailcap_check(&f->s, "alice", T0 + 1, 2, &wait), 0);
        assert_int_equal(rows(f, "alice"), 1);
        assert_int_equal(take(f, "alice", T0 + 1, 2, &wait), 0);
        assert_int_equal(mailcap_check(&f->s, "alice", T0 + 2, 2, &wait), -EDQUOT);
        assert_int_equal(wait, HOUR - 2);
}

/* An admin lowers the cap: the mails already sent count against the new
 * one, and mail goes again once few enough are left in the window. */
static void test_lowered_cap(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        for (int i = 0; i < 5; i++)
                assert_int_equal(take(f, "alice", T0 + 100 * i, 5, &wait), 0);
        assert_int_equal(take(f, "alice", T0 + 500, 2, &wait), -EDQUOT);
        assert_int_equal(wait, T0 + 300 + HOUR - (T0 + 500)); /* the second newest must leave */
        assert_int_equal(take(f, "alice", T0 + 300 + HOUR, 2, &wait), 0);
}

/* mail_max_per_hour = 0: no cap, and no rows to keep. */
static void test_no_cap_records_nothing(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        for (int i = 0; i < 50; i++)
                assert_int_equal(take(f, "alice", T0, 0, &wait), 0);
        assert_int_equal(rows(f, NULL), 0);
        assert_int_equal(mailcap_check(&f->s, "alice", T0, 0, &wait), 0);
}

/* The purge keeps exactly the rows that still count, everyone's. */
static void test_purge(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        assert_int_equal(take(f, "alice", T0, 10, &wait), 0);
        assert_int_equal(take(f, "bob", T0 + 1, 10, &wait), 0);
        assert_int_equal(take(f, "carol", T0 + 2, 10, &wait), 0);
        assert_int_equal(take(f, "carol", T0 + 5000, 10, &wait), 0); /* carol's T0 + 2 is trimmed here */
        assert_int_equal(rows(f, NULL), 3);
        assert_int_equal(purge(f, T0 + 5001), 0);
        assert_int_equal(rows(f, "alice"), 0);
        assert_int_equal(rows(f, "bob"), 0);
        assert_int_equal(rows(f, "carol"), 1);
        /* the clock set back before carol's mail: it is dropped, not kept for ever */
        assert_int_equal(purge(f, T0 + 4000), 0);
        assert_int_equal(rows(f, NULL), 0);
}

/* Another daemon sends the last mail of the hour after this one checked:
 * the insert itself decides, so the cap is never passed. */
static void test_insert_decides(void **state) {
        struct store_fixture *f = *state;
        int64_t wait = 0;
        assert_int_equal(take(f, "alice", T0, 2, &wait), 0);
        txn_begin(&f->s);
        assert_int_equal(mailcap_check(&f->s, "alice", T0 + 5, 2, &wait), 0);
        assert_int_equal(peek_exec(f, "INSERT INTO mail_sent (user, time) VALUES ('alice', %d)", T0 + 5), 0);
        assert_int_equal(mailcap_take(&f->s, "alice", T0 + 5, 2, &wait), -EDQUOT);
        assert_int_equal(wait, HOUR - 5);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(rows(f, "alice"), 2);
        /* rows that do not count (an hour old, or ahead of the clock) leave room */
        assert_int_equal(
                peek_exec(f, "INSERT INTO mail_sent (user, time) VALUES ('bob', %d), ('bob', %d)", T0 - HOUR, T0 + 100),
                0);
        assert_int_equal(take(f, "bob", T0, 1, &wait), 0);
        assert_int_equal(rows(f, "bob"), 1); /* and the take trimmed them */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wait_rule),
                cmocka_unit_test(test_message_and_event),
                store_unit_test(test_sliding_hour),
                store_unit_test(test_rolled_back_take_is_not_counted),
                store_unit_test(test_check_counts_nothing),
                store_unit_test(test_lowered_cap),
                store_unit_test(test_no_cap_records_nothing),
                store_unit_test(test_purge),
                store_unit_test(test_insert_decides),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
