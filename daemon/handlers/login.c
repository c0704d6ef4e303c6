/* SPDX-License-Identifier: BSD-3-Clause */
/* PREAUTH, AUTHFAIL, AUTHSUCC, ACCOUNT: the lockout, the allowlist, a
 * disabled account and a forced password change, at login. */
#include "config.h"

#include <stdio.h>

#include "account.h"
#include "allowlist.h"
#include "lockout.h"
#include "mfa.h"
#include "relief.h"
#include "request.h"

int deny_network(struct daemon *d, const struct login *l, int64_t now, struct acctsec_frame *reply) {
        char detail[320];
        snprintf(detail, sizeof(detail), "source %s not in the allowlist",
                 l->a.rhost && l->a.rhost[0] ? l->a.rhost : "LOCAL");
        struct event ev = event_of(&l->a, EV_LOGIN_DENIED, detail);
        int r = seclog_add(&d->store, now, &ev);
        if (r < 0)
                return reply_db_error(reply, ACCTSEC_OP_PREAUTH, l->a.user, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_NETWORK);
        return 0;
}

/* Older than max_password_age.  An unknown change time (0) never expires:
 * acctsec cannot tell. */
static bool password_expired(const struct login *l, const struct account_info *info, int64_t now) {
        return l->conf.max_password_age > 0 && info->changed > 0 &&
               now - info->changed >= (int64_t) l->conf.max_password_age;
}

/* The account phase, past the lock: disabled accounts are refused for
 * every service (public-key SSH included), a forced change is asked for. */
static int account_phase(struct daemon *d, struct login *l, int64_t now, struct acctsec_frame *reply) {
        struct account_info info;
        int r = account_get(&d->store, l->a.user, &info);
        if (r < 0)
                return reply_db_error(reply, ACCTSEC_OP_ACCOUNT, l->a.user, r);
        if (info.disabled) {
                struct event ev = event_of(&l->a, EV_LOGIN_DENIED, "account disabled");
                r = seclog_add(&d->store, now, &ev);
                if (r < 0)
                        return reply_db_error(reply, ACCTSEC_OP_ACCOUNT, l->a.user, r);
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_DISABLED);
                return 0;
        }
        if (info.must_change || password_expired(l, &info, now))
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_MUST_CHANGE,
                                      info.must_change == MUST_CHANGE_RECOVERY ? 3 : info.must_change ? 1 : 2);
        return 0;
}

/* After a successful authentication (authsucc, a good code): the account
 * phase's answer too when it is a plain yes, so that the module, in the
 * same process a moment later, need not ask (pam_module: ACCOUNT_OK).
 * Anything else (a lock, a disabled account, a forced or due change, a
 * source the allowlists refuse, an unknown user) is left to the ACCOUNT
 * request, which says it and logs it.  The reads are the ACCOUNT request's,
 * done once. */
int add_account_ok(struct daemon *d, const struct login *l, int64_t now, const struct lock_result *res,
                   struct acctsec_frame *reply) {
        struct account_info info;
        bool allowed = false;
        if (res->locked || !l->a.known)
                return 0;
        int r = allowlist_check(&d->store, &l->conf, l->a.user, l->a.rhost, &allowed);
        if (r < 0 || !allowed)
                return r;
        r = account_get(&d->store, l->a.user, &info);
        if (r < 0 || info.disabled || info.must_change || password_expired(l, &info, now))
                return r;
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_ACCOUNT_OK, 1);
        return 0;
}

/* PREAUTH allowed: whether the mfa line's next step is the code prompt
 * (an active authenticator; an unknown user where a factor is required,
 * asked like an enrolled one), so that the module can prompt and verify in
 * one request instead of asking MFA_BEGIN first.  Only a hint: MFA_VERIFY
 * decides.  Emailed codes and the rest still begin with MFA_BEGIN. */
static int add_mfa_hint(struct request *rq, const struct login *l, struct acctsec_frame *reply) {
        enum acctsec_mfa_state state = ACCTSEC_MFA_STATE_NONE;
        struct relief rl = { 0 };
        if (l->conf.mfa == ACCTSEC_MFA_OFF)
                return 0;
        int r = l->a.known ? mfa_totp_state(&rq->d->mfa, l->a.user, &state) : 0;
        bool next = l->a.known ? state == ACCTSEC_MFA_STATE_ACTIVE : l->conf.mfa == ACCTSEC_MFA_REQUIRED;
        /* No hint where relief may apply: MFA_BEGIN decides it (and logs it). */
        if (r == 0 && next)
                r = relief_at_login(rq, l, true, false, &rl);
        if (r == 0 && next && !rl.skip)
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, ACCTSEC_MFA_TOTP);
        return r;
}

/* PREAUTH, AUTHFAIL, AUTHSUCC, ACCOUNT. */
int handle_login(struct request *rq) {
        struct daemon *d = rq->d;
        struct acctsec_frame *reply = rq->reply;
        struct login *l = &rq->login; /* not a copy: 7 KB, on every login request */
        struct attempt *a = &l->a;
        struct lock_result res;
        int64_t now = rq->now;
        uint8_t op = rq->op;
        int r;

        if (op == ACCTSEC_OP_AUTHFAIL)
                r = lockout_fail(&d->store, a, now, &res);
        else if (op == ACCTSEC_OP_AUTHSUCC)
                r = lockout_success(&d->store, a, now, &res);
        else if (op == ACCTSEC_OP_ACCOUNT && !l->conf.account_lock)
                r = 0, res = (struct lock_result){ 0 }; /* not a login (cron): a lock does not stop it */
        else
                r = lockout_check(&d->store, a, now, &res);
        if (r < 0)
                return reply_db_error(reply, op, a->user, r);
        /* The allowlist, in preauth and in account (public keys skip auth). */
        if ((op == ACCTSEC_OP_PREAUTH || op == ACCTSEC_OP_ACCOUNT) && !res.locked) {
                bool allowed = false;
                r = allowlist_check(&d->store, &l->conf, a->user, a->rhost, &allowed);
                if (r < 0)
                        return reply_db_error(reply, op, a->user, r);
                if (!allowed)
                        return deny_network(d, l, now, reply);
        }
        reply_decision(reply, &l->conf, &res);
        if (op == ACCTSEC_OP_ACCOUNT && !res.locked && a->known)
                return account_phase(d, l, now, reply);
        if (op == ACCTSEC_OP_PREAUTH && !res.locked)
                r = add_mfa_hint(rq, l, reply);
        else if (op == ACCTSEC_OP_AUTHSUCC)
                r = add_account_ok(d, l, now, &res, reply);
        if (r < 0)
                return reply_db_error(reply, op, a->user, r);
        return 0;
}

