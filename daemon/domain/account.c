/* SPDX-License-Identifier: BSD-3-Clause */
/* Account controls: disabled by an admin, forced password change, and when
 * the password last changed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "seclog.h"

static void read_account(const struct store_rows *row, void *ud) {
        struct account_info *ret = ud;
        ret->disabled = store_int(row, 0);
        snprintf(ret->disabled_by, sizeof(ret->disabled_by), "%s", store_text(row, 1));
        ret->must_change = (enum must_change) store_int(row, 2);
        ret->changed = store_int(row, 3);
}

int account_get(struct store *s, const char *user, struct account_info *ret) {
        memset(ret, 0, sizeof(*ret));
        int r = store_get(s, Q_ACCOUNT_GET, STORE_ARGS(A_TEXT(user)), read_account, ret);
        return r < 0 ? r : 0;
}

/* Make sure the row exists. */
static int ensure_row(struct store *s, const char *user, int64_t now) {
        int r = store_exec(s, Q_ACCOUNT_ENSURE, STORE_ARGS(A_TEXT(user), A_INT(now)));
        return r < 0 ? r : 0;
}

/* Each update names the state it changes (disabled = 0, or != 0): doing
 * what is already so changes nothing and logs nothing.  Only disabling
 * needs the row; enabling an account without one is nothing to do. */
int account_set_disabled(struct store *s, const char *user, bool disabled, const char *actor, int64_t now,
                         bool *ret_changed) {
        struct event ev = { .type = disabled ? EV_ACCOUNT_DISABLED : EV_ACCOUNT_ENABLED, .user = user, .actor = actor };
        *ret_changed = false;
        int r = disabled ? ensure_row(s, user, now) : 0;
        if (r == 0)
                r = store_exec(s, disabled ? Q_ACCOUNT_DISABLE : Q_ACCOUNT_ENABLE,
                               STORE_ARGS(A_INT(now), A_TEXT(disabled ? actor : ""), A_TEXT(user)));
        if (r <= 0) /* an error, or already so */
                return r;
        *ret_changed = true;
        return seclog_add(s, now, &ev);
}

int account_expire_in(struct store *s, const char *user, enum must_change why, int64_t now) {
        int r = ensure_row(s, user, now);
        if (r == 0)
                r = store_exec(s, Q_ACCOUNT_EXPIRE, STORE_ARGS(A_INT(why), A_INT(now), A_TEXT(user)));
        return r < 0 ? r : 0;
}

int account_expire_password(struct store *s, const char *user, const char *actor, int64_t now) {
        struct event ev = { .type = EV_PASSWORD_EXPIRED, .user = user, .actor = actor,
                            .detail = "the password must be changed at the next login" };
        int r = account_expire_in(s, user, MUST_CHANGE_ADMIN, now);
        return r < 0 ? r : seclog_add(s, now, &ev);
}

int account_password_changed_in(struct store *s, const char *user, int64_t now) {
        int r = ensure_row(s, user, now);
        if (r == 0)
                r = store_exec(s, Q_ACCOUNT_PASSWORD_CHANGED, STORE_ARGS(A_INT(now), A_TEXT(user)));
        return r < 0 ? r : 0;
}
