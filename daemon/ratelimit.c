/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-uid budgets for local users.  Every request that can add a row (a
 * security-log event above all: auth_failure from a screen locker,
 * log_exported, token_created...) counts against its caller's budget for
 * the current minute; over it, the request is refused before it does
 * anything, so the log and the state stay consistent.  A fixed table: a
 * uid has its own slot (no sharing, so one user cannot use up another's
 * budget); when every slot is taken by a uid active this minute, further
 * uids pass, as memory stays bounded and those users are limited by the
 * per-uid connection cap anyway.
 */
#include "config.h"

#include "proto.h"
#include "ratelimit.h"

/* A LOG_EXPORT page after the first (ID and UNTIL given) only reads: the
 * export was logged, and counted, once, with its first page. */
static bool is_export_page(const struct acctsec_msg *req) {
        uint64_t id = 0, until = 0;
        return req->type == ACCTSEC_OP_LOG_EXPORT && acctsec_msg_u64(req, ACCTSEC_TAG_ID, &id) == 0 &&
               acctsec_msg_u64(req, ACCTSEC_TAG_UNTIL, &until) == 0 && id != 0 && until != 0;
}

static bool is_read(const struct acctsec_msg *req) {
        if (is_export_page(req))
                return true;
        switch (req->type) {
        case ACCTSEC_OP_PING:
        case ACCTSEC_OP_STATUS:
        case ACCTSEC_OP_LOCKOUT_SHOW:
        case ACCTSEC_OP_MFA_STATUS:
        case ACCTSEC_OP_BACKUP_STATUS:
        case ACCTSEC_OP_TOKEN_LIST:
        case ACCTSEC_OP_ALLOWLIST_LIST:
        case ACCTSEC_OP_SESSION_LIST:
        case ACCTSEC_OP_LOG_SHOW:
                return true;
        default:
                return false;
        }
}

bool ratelimit_allow(uid_t uid, const struct acctsec_msg *req, int64_t now) {
        static struct {
                uid_t uid;
                int64_t minute; /* 0: free */
                unsigned n;
        } slots[RATELIMIT_SLOTS];
        int64_t minute = now / 60 + 1;
        int free_slot = -1;

        if (uid == 0 || is_read(req))
                return true;
        for (int i = 0; i < RATELIMIT_SLOTS; i++) {
                if (slots[i].minute == minute && slots[i].uid == uid)
                        return slots[i].n < USER_WRITES_PER_MIN ? (slots[i].n++, true) : false;
                if (slots[i].minute != minute && free_slot < 0)
                        free_slot = i;
        }
        if (free_slot >= 0)
                slots[free_slot].uid = uid, slots[free_slot].minute = minute, slots[free_slot].n = 1;
        return true;
}
