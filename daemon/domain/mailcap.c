/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "mailcap.h"

#define ADD_TRIES 16 /* the count changing under us this often in a row: give up */

int64_t mailcap_wait(const int64_t *newest_first, size_t n, int64_t now, unsigned max) {
        size_t counted = 0;
        if (max == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                int64_t t = newest_first[i];
                if (t > now || t <= now - MAILCAP_WINDOW)
                        continue;
                /* max mails in the window: one more may go once the
                 * oldest of these max newest ones leaves it. */
                if (++counted == max)
                        return t + MAILCAP_WINDOW - now;
        }
        return 0;
}

int mailcap_check(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait) {
        int64_t times[MAILCAP_MAX];
        size_t n = 0;
        struct store_rows rows;

        if (max == 0)
                return 0;
        if (max > MAILCAP_MAX)
                max = MAILCAP_MAX;
        int r = store_select(s, Q_MAILCAP_NEWEST,
                             STORE_ARGS(A_TEXT(user), A_INT(now - MAILCAP_WINDOW), A_INT(now), A_INT(max)), &rows);
        while (r >= 0 && n < max && (r = store_next(&rows)) > 0)
                times[n++] = store_int(&rows, 0);
        store_rows_end(&rows);
        if (r < 0)
                return r;
        int64_t wait = mailcap_wait(times, n, now, max);
        if (wait == 0)
                return 0;
        *ret_wait = wait;
        return -EDQUOT;
}

/* The mail is counted only while fewer than max count: one statement, so
 * two daemons sharing the store cannot both take the last one. */
int mailcap_take(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait) {
        if (max == 0) /* no cap: nothing to count, and nothing unbounded to keep */
                return 0;
        if (max > MAILCAP_MAX)
                max = MAILCAP_MAX;
        for (int i = 0; i < ADD_TRIES; i++) {
                int r = store_exec(s, Q_MAILCAP_ADD,
                                   STORE_ARGS(A_TEXT(user), A_INT(now), A_INT(now - MAILCAP_WINDOW), A_INT(max)));
                if (r > 0) { /* the user's rows that no longer count: at most max stay */
                        r = store_exec(s, Q_MAILCAP_TRIM,
                                       STORE_ARGS(A_TEXT(user), A_INT(now - MAILCAP_WINDOW), A_INT(now)));
                        return r < 0 ? r : 0;
                }
                if (r == 0) /* full: how long to wait (or room again: try again) */
                        r = mailcap_check(s, user, now, max, ret_wait);
                if (r != 0)
                        return r;
        }
        return -EBUSY;
}

int mailcap_purge(struct store *s, int64_t now) {
        int r = store_exec(s, Q_MAILCAP_PURGE, STORE_ARGS(A_INT(now - MAILCAP_WINDOW), A_INT(now)));
        return r < 0 ? r : 0;
}

struct event mailcap_event(const char *user, const char *what, unsigned max, char *buf, size_t n) {
        snprintf(buf, n, "%s not mailed: %u mail%s in the last hour (mail_max_per_hour)", what, max,
                 max == 1 ? "" : "s");
        return (struct event){ .type = EV_MAIL_CAPPED, .user = user, .detail = buf };
}

void mailcap_message(int64_t wait, char *buf, size_t n) {
        int64_t minutes = (wait + 59) / 60; /* "in 0 minutes" would never be true */
        snprintf(buf, n, "Too many mails were sent to this account in the last hour; try again in %lld minute%s.",
                 (long long) minutes, minutes == 1 ? "" : "s");
}
