/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cap on mails to one user (mail_max_per_hour): every mail acctsecd
 * decides to send to a user (login, address-check and disable codes, and
 * the notices) is one row of mail_sent, and at most mail_max_per_hour of
 * them may fall within any hour.  Whoever knows a password must not be
 * able to flood its owner's mailbox by dropping logins at the code prompt.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "seclog.h"
#include "store.h"

#define MAILCAP_WINDOW 3600 /* seconds: the sliding hour */
#define MAILCAP_MAX 1000    /* the largest mail_max_per_hour (common/conf.c) */

/* The rule, on the send times of a user's newest mails (newest first):
 * seconds until one more may go, 0 when it may go now (always with max 0,
 * no cap).  A mail counts while now - MAILCAP_WINDOW < time <= now: one
 * "sent" in the future (the clock was set back) does not count, so a clock
 * step cannot stop a user's mail for the length of the step. */
int64_t mailcap_wait(const int64_t *newest_first, size_t n, int64_t now, unsigned max);

/* Whether one more mail to user may go now, without counting it: 0 yes,
 * -EDQUOT no (*ret_wait seconds until it may), <0 another error. */
int mailcap_check(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait);

/* The same, and a mail that may go is counted, inside the caller's
 * transaction (one conditional insert, so the count is exact however many
 * daemons share the store; a refusal writes nothing).  It stays counted
 * whatever happens to its delivery: a failed delivery was still an attempt
 * to mail the user, and not counting failures would let a broken or slow
 * mail server be retried without end.  With max 0 nothing is recorded. */
int mailcap_take(struct store *s, const char *user, int64_t now, unsigned max, int64_t *ret_wait);

/* Delete everyone's rows that no longer count (maintenance.c, inside its
 * transaction); take keeps each user's own rows to those in the window. */
int mailcap_purge(struct store *s, int64_t now);

/* The mail_capped event for a mail that was not sent: what, e.g. "login
 * code"; the detail is written into buf. */
struct event mailcap_event(const char *user, const char *what, unsigned max, char *buf, size_t n);

/* What the user is told: "Too many mails were sent to this account in the
 * last hour; try again in 12 minutes." */
void mailcap_message(int64_t wait, char *buf, size_t n);
