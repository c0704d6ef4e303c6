/* SPDX-License-Identifier: BSD-3-Clause */
/* API tokens: TOKEN_CREATE, TOKEN_LIST, TOKEN_REVOKE, and the module's
 * token mode (TOKEN_AUTH). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "allowlist.h"
#include "handlers.h"
#include "request.h"
#include "log.h"
#include "secret.h"
#include "tokens.h"

int handle_token_create(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        const struct acctsec_conf *conf = &rq->conf;
        const char *name = rq_str(rq, ACCTSEC_TAG_NAME), *services = rq_str(rq, ACCTSEC_TAG_SERVICES);
        uint64_t months = rq_u64(rq, ACCTSEC_TAG_COUNT, 0);
        char token[TOKEN_TEXT], actor[USER_NAME_MAX + 16];
        int64_t expires = 0;

        if (!name || !token_name_valid(name))
                return reply_error(reply, -EINVAL, "a token name is 1-64 letters, digits, '.', '_' or '-'");
        if (!services || !token_services_valid(services))
                return reply_error(reply, -EINVAL, "services: a comma-separated list of PAM service names");
        if (months < 1 || months > conf->token_max_months) {
                char msg[96];
                snprintf(msg, sizeof(msg), "the expiry is 1 to %u months", conf->token_max_months);
                return reply_error(reply, -EINVAL, msg);
        }
        int r = tokens_create(&d->store, d->key, p->name, name, services, (unsigned) months, conf->token_max,
                              rq_actor(rq, actor, sizeof(actor)), rq->now, token, &expires);
        if (r == -EEXIST)
                return reply_error(reply, r, "a token with that name exists (revoke it first, or pick another name)");
        if (r == -EMLINK) {
                char msg[96];
                snprintf(msg, sizeof(msg), "at most %u tokens per user: revoke one first", conf->token_max);
                return reply_error(reply, r, msg);
        }
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_NAME, name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_TOKEN, token); /* the only copy there will ever be */
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_EXPIRES, (uint64_t) expires);
        acctsec_wipe(token, sizeof(token));
        return 0;
}

static int add_token_record(const struct token_info *t, void *ud) {
        struct acctsec_frame *f = ud;
        acctsec_frame_add_u64(f, ACCTSEC_TAG_RECORD, 0);
        acctsec_frame_add_str(f, ACCTSEC_TAG_NAME, t->name);
        acctsec_frame_add_str(f, ACCTSEC_TAG_SERVICES, t->services);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_CREATED, (uint64_t) t->created);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_EXPIRES, (uint64_t) t->expires);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_LAST_USED, (uint64_t) t->last_used);
        return 0;
}

int handle_token_list(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        int r = tokens_list(&d->store, p->name, add_token_record, reply);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        return 0;
}

int handle_token_revoke(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        const char *name = rq_str(rq, ACCTSEC_TAG_NAME);
        char actor[USER_NAME_MAX + 16];
        if (!name)
                return reply_error(reply, -EINVAL, "which token? (a name)");
        int r = tokens_revoke(&d->store, p->name, name, rq_actor(rq, actor, sizeof(actor)), rq->now);
        if (r == -ENOENT)
                return reply_error(reply, r, "no token of that name");
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_NAME, name);
        return 0;
}

/* The typed token: NULL when it logs in (recorded as used), else why not;
 * *ret is 0 when the token was found (*t filled), or -ENOENT, -EBADMSG,
 * or a storage error (and NULL). */
static const char *token_check(struct daemon *d, const struct login *l, const char *token, int64_t now,
                               struct token_info *t, int *ret) {
        const char *refusal = NULL;
        const uint8_t *key = d->key;
        int r = !token || !token_valid(token) ? -EBADMSG
                : !l->a.known                 ? -ENOENT /* the same answer as an unknown token */
                                              : tokens_find_in(&d->store, key, l->a.user, token, t);
        if (r == -ENOENT && l->a.known && d->mfa.prev_key) /* made before a rotation of the fleet key */
                r = tokens_find_in(&d->store, key = d->mfa.prev_key, l->a.user, token, t);
        if (r == 0 && now >= t->expires)
                refusal = "token: expired";
        else if (r == 0 && !token_service_in(t->services, l->a.service))
                refusal = "token: not for this service";
        else if (r == 0) /* -ENOENT: revoked since it was found */
                r = tokens_touch_in(&d->store, key, l->a.user, token, now);
        if (r == -ENOENT || r == -EBADMSG)
                refusal = r == -ENOENT ? "token: unknown or revoked" : "token: malformed";
        *ret = r;
        return refusal;
}

static int token_accepted(struct daemon *d, struct login *l, const struct token_info *t, int64_t now, uint8_t op,
                          struct acctsec_frame *reply) {
        struct lock_result res;
        struct event ev[2];
        int r = lockout_success_in(&d->store, &l->a, now, &res, &ev[1]);
        if (r == 0) {
                ev[0] = event_of(&l->a, EV_TOKEN_USED, t->name);
                r = seclog_add_all(&d->store, now, ev, 2);
        }
        if (r < 0)
                return reply_db_error(reply, op, l->a.user, r);
        reply_decision(reply, &l->conf, &res);
        return 0;
}

/* The module's token mode: a well-formed token typed as the password.  Any
 * refusal (unknown or revoked, expired, out of scope) counts toward the
 * lockout like a wrong password. */
int handle_token_auth(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login l = rq->login;
        struct lock_result res;
        struct token_info t;
        const char *token = rq_str(rq, ACCTSEC_TAG_TOKEN);
        int64_t now = rq->now;
        bool allowed = false;
        char detail[TOKEN_NAME_MAX + 64];

        l.a.conf = &l.conf;
        int r = lockout_check(&d->store, &l.a, now, &res);
        if (r == 0 && !res.locked)
                r = allowlist_check(&d->store, &l.conf, l.a.user, l.a.rhost, &allowed);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        if (res.locked)
                return reply_decision(reply, &l.conf, &res), 0;
        if (!allowed)
                return deny_network(d, &l, now, reply);
        l.a.factor = "token";
        const char *refusal = token_check(d, &l, token, now, &t, &r);
        if (!refusal)
                return r < 0 ? reply_db_error(reply, req->type, l.a.user, r)
                             : token_accepted(d, &l, &t, now, req->type, reply);
        snprintf(detail, sizeof(detail), "%s%s%s", refusal, r == 0 ? ": " : "", r == 0 ? t.name : "");
        l.a.refusal = detail;
        r = lockout_fail(&d->store, &l.a, now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        reply_decision(reply, &l.conf, &res);
        if (!res.locked) { /* refused, not (yet) locked */
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_CODE);
        }
        return 0;
}
