/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FLEET_STATUS and FLEET_KEY_ROTATE (acctsec fleet key check|rotate): the
 * fleet key's ids, and its rotation.  A rotation: every host gets the new
 * key as fleet_key and the old one as fleet_key_previous (hosts then open
 * and check what either key made), then one host re-seals the TOTP secrets
 * with the new key, a batch per request, and at the end makes the new key
 * the fleet's.  Backup codes and tokens are keyed hashes: they cannot be
 * re-keyed, and keep working under the previous key until they are used
 * up, regenerated or revoked (FLEET_STATUS counts them).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyfile.h"
#include "log.h"
#include "request.h"
#include "seclog.h"
#include "secret.h"
#include "totp.h"

#define RESEAL_BATCH 200 /* TOTP secrets re-sealed by one request */

struct fleet_ids {
        char fleet[32];
        int64_t sealed_left, hashed_left;
};

static void take_text(const struct store_rows *row, void *ud) {
        snprintf(ud, 32, "%s", store_text(row, 0));
}

static void take_left(const struct store_rows *row, void *ud) {
        struct fleet_ids *x = ud;
        x->sealed_left = store_int(row, 0);
        x->hashed_left = store_int(row, 1);
}

/* What the fleet records, and what is left under another key than ours. */
static int read_ids(struct daemon *d, struct fleet_ids *x) {
        int r = store_get(&d->store, Q_FLEET_KEY_ID_GET, STORE_NO_ARGS, take_text, x->fleet);
        if (r >= 0)
                r = store_get(&d->store, Q_FLEET_KEY_LEFT, STORE_ARGS(A_TEXT(d->key_id)), take_left, x);
        return r < 0 ? r : 0;
}

static void reply_ids(struct daemon *d, const struct fleet_ids *x, struct acctsec_frame *reply) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_KEY_ID, d->key_id);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_FLEET_KEY_ID, x->fleet);
        if (d->prev_key_id[0])
                acctsec_frame_add_str(reply, ACCTSEC_TAG_PREV_KEY_ID, d->prev_key_id);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_SEALED_LEFT, (uint64_t) x->sealed_left);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_HASHED_LEFT, (uint64_t) x->hashed_left);
}

static bool fleet(struct request *rq) {
        if (store_waits(&rq->d->store))
                return true;
        reply_error(rq->reply, -EOPNOTSUPP, "not a fleet (store = sqlite): there is no fleet key");
        return false;
}

int handle_fleet_status(struct request *rq) {
        struct fleet_ids x = { .fleet = "" };
        if (!fleet(rq))
                return 0;
        int r = read_ids(rq->d, &x);
        if (r < 0)
                return reply_db_error(rq->reply, rq->op, "the fleet", r);
        reply_ids(rq->d, &x, rq->reply);
        return 0;
}

struct reseal {
        struct daemon *d;
        int64_t done, failed;
        int r;
};

/* One secret: opened with either key, sealed with ours, written only if it
 * is still what was read (an enrolment meanwhile keeps its own). */
static int reseal_one(struct reseal *x, const char *user, const uint8_t *sealed, size_t len) {
        uint8_t secret[TOTP_SECRET_SIZE], fresh[TOTP_SECRET_SIZE + VAULT_OVERHEAD];
        int r = len == sizeof(fresh) ? vault_open(x->d->key, sealed, len, secret) : -EBADMSG;
        if (r < 0 && len == sizeof(fresh) && x->d->prev_key_id[0])
                r = vault_open(x->d->prev_key, sealed, len, secret);
        if (r < 0) {
                log_error("fleet key rotation: the TOTP secret of %s opens with neither key; left as it is", user);
                x->failed++;
                return 0;
        }
        vault_seal(x->d->key, secret, sizeof(secret), fresh);
        acctsec_wipe(secret, sizeof(secret));
        r = store_exec(&x->d->store, Q_TOTP_RESEAL,
                       STORE_ARGS(A_BLOB(fresh, sizeof(fresh)), A_TEXT(user), A_BLOB(sealed, len)));
        x->done += r > 0;
        return r < 0 ? r : 0;
}

static int reseal_batch(struct reseal *x) {
        struct store_rows rows;
        int64_t n = 0;
        int r = store_select(&x->d->store, Q_TOTP_OTHER_KEY, STORE_ARGS(A_TEXT(x->d->key_id), A_INT(RESEAL_BATCH)),
                             &rows);
        while (r >= 0 && (r = store_next(&rows)) > 0) {
                size_t len = 0;
                const void *sealed = store_blob(&rows, 1, &len);
                n++;
                r = reseal_one(x, store_text(&rows, 0), sealed, len);
        }
        store_rows_end(&rows);
        return r < 0 ? r : n == RESEAL_BATCH; /* 1: there may be more */
}

/* The fleet's id becomes ours once nothing is sealed with another key. */
static int finish(struct request *rq, struct fleet_ids *x) {
        int r = read_ids(rq->d, x);
        if (r < 0 || x->sealed_left > 0 || strcmp(x->fleet, rq->d->key_id) == 0)
                return r;
        r = store_exec(&rq->d->store, Q_FLEET_KEY_ID_SET, STORE_ARGS(A_TEXT(rq->d->key_id)));
        if (r < 0)
                return r;
        struct event ev = { .type = EV_FLEET_KEY_ROTATED, .user = "", .actor = "root", .detail = rq->d->key_id };
        snprintf(x->fleet, sizeof(x->fleet), "%s", rq->d->key_id);
        return seclog_add(&rq->d->store, rq->now, &ev);
}

int handle_fleet_key_rotate(struct request *rq) {
        struct daemon *d = rq->d;
        struct fleet_ids x = { .fleet = "" };
        struct reseal rs = { .d = d };
        if (!fleet(rq))
                return 0;
        int r = read_ids(d, &x);
        if (r < 0)
                return reply_db_error(rq->reply, rq->op, "the fleet", r);
        if (strcmp(x.fleet, d->key_id) != 0 && strcmp(x.fleet, d->prev_key_id) != 0)
                return reply_error(rq->reply, -EKEYREJECTED, "the fleet records a key that is neither fleet_key nor "
                                                             "fleet_key_previous on this host");
        if (strcmp(x.fleet, d->key_id) != 0 && !d->prev_key_id[0])
                return reply_error(rq->reply, -EINVAL, "set fleet_key_previous to the key being replaced");
        r = reseal_batch(&rs);
        int more = r;
        if (r == 0)
                r = finish(rq, &x);
        if (r < 0)
                return reply_db_error(rq->reply, rq->op, "the fleet", r);
        if (more && (r = read_ids(d, &x)) < 0)
                return reply_db_error(rq->reply, rq->op, "the fleet", r);
        reply_ids(d, &x, rq->reply);
        acctsec_frame_add_u64(rq->reply, ACCTSEC_TAG_COUNT, (uint64_t) rs.done);
        acctsec_frame_add_u64(rq->reply, ACCTSEC_TAG_MORE, (uint64_t) more);
        return 0;
}
