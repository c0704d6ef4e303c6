/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "phone.h"

static void read_info(const struct store_rows *row, void *ud) {
        struct phone_info *p = ud;
        snprintf(p->number, sizeof(p->number), "%s", store_text(row, 0));
        snprintf(p->pending, sizeof(p->pending), "%s", store_text(row, 1));
        p->codes = store_int(row, 2) != 0;
}

int phone_get(struct store *s, const char *user, struct phone_info *ret) {
        memset(ret, 0, sizeof(*ret));
        int r = store_get(s, Q_PHONE_GET, STORE_ARGS(A_TEXT(user)), read_info, ret);
        return r < 0 ? r : 0;
}

int phone_set_in(struct store *s, const char *user, const char *number, bool verified, int64_t now) {
        int r = store_exec(s, verified ? Q_PHONE_SET_VERIFIED : Q_PHONE_SET_PENDING,
                           STORE_ARGS(A_TEXT(user), A_TEXT(number), A_INT(now)));
        return r < 0 ? r : 0;
}

int phone_promote_in(struct store *s, const char *user, int64_t now) {
        int r = store_exec(s, Q_PHONE_PROMOTE, STORE_ARGS(A_INT(now), A_TEXT(user)));
        return r < 0 ? r : r == 1 ? 0 : -ENOENT;
}

int phone_codes_enable_in(struct store *s, const char *user, bool on, int64_t now) {
        int r = store_exec(s, Q_PHONE_CODES_SET, STORE_ARGS(A_INT(on), A_INT(now), A_TEXT(user)));
        return r < 0 ? r : r == 1 || !on ? 0 : -ENOENT;
}

int phone_delete_in(struct store *s, const char *user) {
        int r = store_exec(s, Q_PHONE_DELETE, STORE_ARGS(A_TEXT(user)));
        return r < 0 ? r : r > 0;
}
