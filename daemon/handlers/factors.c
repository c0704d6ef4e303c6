/* SPDX-License-Identifier: BSD-3-Clause */
/* Second-factor requests: the module's mfa mode and the CLI's enrolment. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "request.h"
#include "log.h"
#include "email.h"
#include "mail.h"
#include "sms.h"
#include "relief.h"
#include "secret.h"

/* What to ask this user for.  An unknown user is asked like an enrolled one
 * when a factor is required, so the answer does not tell who exists.  An
 * admin's "mfa require" raises optional to required (off stays off: it is
 * how a service is exempted).  A verified address is a factor when codes
 * are on, or when a factor is required and there is no app; so is a
 * verified phone number, texted codes first when the user turned them on
 * (whether or not a gateway is configured: without one the code cannot be
 * sent and the login fails, it never passes without its factor). */
static enum acctsec_mfa_ask what_to_ask(const struct login *l, const struct factors *f) {
        if (l->conf.mfa == ACCTSEC_MFA_OFF)
                return ACCTSEC_MFA_NONE;
        bool required = l->conf.mfa == ACCTSEC_MFA_REQUIRED || f->required;
        if (f->totp == ACCTSEC_MFA_STATE_ACTIVE)
                return ACCTSEC_MFA_TOTP;
        if (f->phone.number[0] && f->phone.codes)
                return ACCTSEC_MFA_SMS;
        if (f->email.address[0] && (f->email.codes || required))
                return ACCTSEC_MFA_EMAIL;
        if (f->phone.number[0] && required)
                return ACCTSEC_MFA_SMS;
        if (!l->a.known && required)
                return ACCTSEC_MFA_TOTP;
        return required ? ACCTSEC_MFA_ENROL : ACCTSEC_MFA_NONE;
}

int factors_of(struct daemon *d, const char *user, struct factors *ret) {
        memset(ret, 0, sizeof(*ret));
        int r = mfa_totp_state(&d->mfa, user, &ret->totp);
        if (r == 0)
                r = email_get(&d->store, user, &ret->email);
        if (r == 0)
                r = phone_get(&d->store, user, &ret->phone);
        if (r == 0)
                r = mfa_required(&d->mfa, user, &ret->required);
        return r;
}

/* The module says nothing checked a first factor (sshd's
 * keyboard-interactive alone, no password in the stack) and there is no
 * second one to ask: refused, and logged as such, never as a success.  The
 * flag only ever refuses, so whoever sends it need not be trusted. */
static int refuse_no_factor(struct daemon *d, const struct login *l, int64_t now, struct lock_result *res) {
        struct event ev = event_of(&l->a, EV_LOGIN_DENIED, "no first factor: keyboard-interactive alone, "
                                                           "no password, and no second factor to ask");
        int r = seclog_add(&d->store, now, &ev);
        res->locked = true; /* answered as a lock: the module asks for a code and refuses */
        res->locked_until = 0;
        return r;
}

int handle_mfa_begin(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login *l = &rq->login; /* not a copy: 7 KB, on every login */
        struct lock_result res;
        struct factors f = { 0 };
        char attempt[EMAIL_ATTEMPT_HEX] = "", masked[EMAIL_ADDRESS_MAX + 8] = "";
        int64_t now = rq->now;
        uint64_t no_first_factor = rq_u64(rq, ACCTSEC_TAG_FLAG, 0);

        int r = lockout_check(&d->store, &l->a, now, &res);
        if (r == 0 && l->a.known)
                r = factors_of(d, l->a.user, &f);
        enum acctsec_mfa_ask ask = what_to_ask(l, &f);
        /* A trusted network or a remembered device: no code (relief.c). */
        struct relief rl = { 0 };
        if (r == 0 && !res.locked && ask != ACCTSEC_MFA_NONE)
                r = relief_at_login(rq, l, !no_first_factor, true, &rl);
        if (rl.skip)
                ask = ACCTSEC_MFA_NONE;
        if (r == 0 && !res.locked && ask == ACCTSEC_MFA_NONE && no_first_factor)
                r = refuse_no_factor(d, l, now, &res);
        /* Nothing to ask: this line ends a successful authentication, as
         * authsucc would.  (authsucc must not run before mfa: it would clear
         * the count before every guess of the code.) */
        else if (r == 0 && !res.locked && ask == ACCTSEC_MFA_NONE)
                r = lockout_success(&d->store, &l->a, now, &res);
        if (r == 0 && !res.locked && ask == ACCTSEC_MFA_EMAIL) {
                /* An emailed code: a new attempt, its code sent by CODE_SEND. */
                r = email_attempt_new_in(&d->store, l->a.user, EMAIL_LOGIN, f.email.address, now, attempt);
                (void) mail_mask(f.email.address, masked, sizeof(masked));
        }
        if (r == 0 && !res.locked && ask == ACCTSEC_MFA_SMS) {
                /* A texted code: the same, to the number. */
                r = email_attempt_new_in(&d->store, l->a.user, EMAIL_LOGIN, f.phone.number, now, attempt);
                (void) sms_mask(f.phone.number, masked, sizeof(masked));
        }
        if (r < 0)
                return reply_db_error(reply, req->type, l->a.user, r);
        reply_decision(reply, &l->conf, &res);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, ask);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(l->conf.mfa));
        if (rl.skip && !res.locked)
                acctsec_frame_add_str(reply, ACCTSEC_TAG_REASON, rl.reason);
        if (attempt[0]) {
                acctsec_frame_add_str(reply, ACCTSEC_TAG_ATTEMPT, attempt);
                acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, masked);
        }
        return 0;
}

static void reply_refused_code(struct acctsec_frame *reply) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_CODE);
}

/* The refusal's detail, "FACTOR: why" (factor: "totp", "emailed code",
 * "texted code"); buf holds it. */
static const char *refusal(const char *factor, const char *code, int r, char *buf, size_t n) {
        bool sent = strcmp(factor, "totp") != 0;
        const char *why = !code          ? "no code"
                          : r == -EALREADY ? "code already used"
                          : r == -ETIME    ? "expired"
                          : r == -ENOENT   ? (sent ? "no live code for this attempt" : "not enrolled")
                                           : "wrong code";
        snprintf(buf, n, "%s: %s", factor, why);
        return buf;
}

/* What the attempt's code was sent by, for the log: a texted code when
 * its attempt goes to a phone number. */
static const char *factor_of_attempt(struct daemon *d, const char *attempt, const char *user) {
        char to[EMAIL_ADDRESS_MAX];
        if (!attempt)
                return "totp";
        if (email_attempt_destination(&d->store, attempt, user, EMAIL_LOGIN, to) == 0 && sms_number_valid(to))
                return "texted code";
        return "emailed code";
}

/* A typed code: right → the tally is cleared like a good password; wrong,
 * replayed or expired → it counts toward the lockout like a wrong password. */
int handle_mfa_verify(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login *l = &rq->login; /* not a copy: 7 KB, on every login */
        struct lock_result res;
        const char *code = rq_str(rq, ACCTSEC_TAG_CODE); /* a malformed code is a wrong code */
        const char *attempt = rq_str(rq, ACCTSEC_TAG_ATTEMPT);
        int64_t now = rq->now;

        int r = lockout_check(&d->store, &l->a, now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, l->a.user, r);
        if (res.locked) {
                reply_decision(reply, &l->conf, &res);
                return 0;
        }
        int64_t left = -1;
        char why[64];
        l->a.factor = factor_of_attempt(d, attempt, l->a.user);
        r = l->a.known && code ? mfa_verify(&d->mfa, &l->a, now, l->conf.totp_window, attempt, code, &res, &left)
                              : -ENOENT;
        bool good = r == 0;
        if (r == -EACCES || r == -EALREADY || r == -ENOENT || r == -ETIME) {
                l->a.refusal = refusal(l->a.factor, code, r, why, sizeof(why));
                r = lockout_fail(&d->store, &l->a, now, &res);
        }
        if (r < 0)
                return reply_db_error(reply, req->type, l->a.user, r);
        reply_decision(reply, &l->conf, &res);
        if (!good && !res.locked) /* replace the decision: this code was refused */
                reply_refused_code(reply);
        if (good && (r = relief_after_code(rq, l)) < 0)
                return reply_db_error(reply, req->type, l->a.user, r);
        if (good && (r = add_account_ok(d, l, now, &res, reply)) < 0)
                return reply_db_error(reply, req->type, l->a.user, r);
        if (good && left >= 0 && left <= BACKUP_WARN_AT) {
                char msg[160];
                snprintf(msg, sizeof(msg), "Backup code accepted. %lld backup code%s left: "
                         "run 'acctsec backup-codes generate' for a new set.", (long long) left, left == 1 ? "" : "s");
                acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, msg);
        }
        return 0;
}

int handle_totp_enroll(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        _cleanup_erase_ char *uri = NULL, *b32 = NULL;

        int r = mfa_totp_enroll(&d->mfa, p->name, rq->now, &uri, &b32);
        if (r == -EEXIST)
                return reply_error(reply, r, "TOTP is already enabled (an admin can reset it: acctsec mfa reset)");
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_URI, uri);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_SECRET, b32);
        return 0;
}

static void add_codes(struct acctsec_frame *reply, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]);

int handle_totp_confirm(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        const char *code = rq_str(rq, ACCTSEC_TAG_CODE);

        if (!code)
                return reply_error(reply, -EINVAL, "a code is needed");
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT];
        /* The user's own window ([user]/[group] sections), as at login. */
        int r = mfa_totp_confirm(&d->mfa, p->name, rq->now, rq->conf.totp_window, code, codes);
        if (r < 0)
                acctsec_wipe(codes, sizeof(codes));
        if (r == -ENOENT)
                return reply_error(reply, r, "no TOTP enrolment in progress: run acctsec mfa enroll totp");
        if (r == -EACCES || r == -EALREADY)
                return reply_error(reply, -EKEYREJECTED, "wrong code: check the app and the clock, then try again");
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, ACCTSEC_MFA_STATE_ACTIVE);
        add_codes(reply, codes);
        return 0;
}

/* Shown once, here; only their keyed hashes are kept. */
static void add_codes(struct acctsec_frame *reply, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]) {
        for (int i = 0; i < BACKUP_CODES; i++)
                acctsec_frame_add_str(reply, ACCTSEC_TAG_CODE, codes[i]);
        acctsec_wipe(codes, sizeof(char[BACKUP_CODES][BACKUP_CODE_TEXT]));
}

int handle_backup_generate(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], actor[USER_NAME_MAX + 16];

        int r = mfa_backup_generate(&d->mfa, p->name, rq_actor(rq, actor, sizeof(actor)), rq->now, codes);
        if (r < 0)
                acctsec_wipe(codes, sizeof(codes));
        if (r == -ENOENT)
                return reply_error(reply, r, "backup codes go with an active TOTP: run acctsec mfa enroll totp first");
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        add_codes(reply, codes);
        return 0;
}

int handle_mfa_status(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        struct acctsec_conf conf = rq->conf;
        struct factors f;
        int64_t left = 0;

        int r = factors_of(d, p->name, &f);
        if (r == 0)
                r = mfa_backup_left(&d->mfa, p->name, &left);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        if (f.required && conf.mfa == ACCTSEC_MFA_OPTIONAL)
                conf.mfa = ACCTSEC_MFA_REQUIRED;
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, f.totp);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) left);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(conf.mfa));
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, f.email.address);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_PENDING, f.email.pending);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, f.email.codes);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_PHONE, f.phone.number);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_PHONE_PENDING, f.phone.pending);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_PHONE_CODES, f.phone.codes);
        return 0;
}

int handle_mfa_reset(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *user = rq->target.name;
        char actor[USER_NAME_MAX + 16];
        bool had = false;
        int64_t devices = 0;

        actor_name(peer, actor, sizeof(actor));
        int r = mfa_reset(&d->mfa, user, actor, rq->now, &had);
        /* A lost phone: what its codes let skip goes with it. */
        if (r == 0)
                r = relief_revoke(&d->store, user, 0, actor, "(mfa reset)", rq->now, &devices);
        if (r < 0)
                return reply_db_error(reply, req->type, user, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, had);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_REVOKED, (uint64_t) devices);
        return 0;
}

int handle_mfa_require(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];
        uint64_t on = rq_u64(rq, ACCTSEC_TAG_FLAG, 1);

        actor_name(peer, actor, sizeof(actor));
        int r = mfa_require(&d->mfa, p->name, on != 0, actor, rq->now);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, on != 0);
        return 0;
}
