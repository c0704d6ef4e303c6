/* SPDX-License-Identifier: BSD-3-Clause */
/* Second-factor requests: the module's mfa mode and the CLI's enrolment. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "log.h"
#include "email.h"
#include "mail.h"
#include "secret.h"

/* What to ask this user for.  An unknown user is asked like an enrolled one
 * when a factor is required, so the answer does not tell who exists.  An
 * admin's "mfa require" raises optional to required (off stays off: it is
 * how a service is exempted).  A verified address is a factor when codes
 * are on, or when a factor is required and there is no app. */
static enum acctsec_mfa_ask what_to_ask(const struct login *l, const struct factors *f) {
        if (l->conf.mfa == ACCTSEC_MFA_OFF)
                return ACCTSEC_MFA_NONE;
        bool required = l->conf.mfa == ACCTSEC_MFA_REQUIRED || f->required;
        if (f->totp == ACCTSEC_MFA_STATE_ACTIVE)
                return ACCTSEC_MFA_TOTP;
        if (f->email.address[0] && (f->email.codes || required))
                return ACCTSEC_MFA_EMAIL;
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

static int handle_begin(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                        struct acctsec_frame *reply) {
        struct login l;
        struct lock_result res;
        struct factors f = { 0 };
        char attempt[EMAIL_ATTEMPT_HEX] = "", masked[EMAIL_ADDRESS_MAX + 8] = "";
        int64_t now = (int64_t) time(NULL);
        uint64_t no_first_factor = 0;

        if (login_prologue(d, peer, req, &l, reply))
                return 0;
        (void) acctsec_msg_u64(req, ACCTSEC_TAG_FLAG, &no_first_factor);
        int r = lockout_check(&d->store, &l.a, now, &res);
        if (r == 0 && l.a.known)
                r = factors_of(d, l.a.user, &f);
        enum acctsec_mfa_ask ask = what_to_ask(&l, &f);
        if (r == 0 && !res.locked && ask == ACCTSEC_MFA_NONE && no_first_factor)
                r = refuse_no_factor(d, &l, now, &res);
        /* Nothing to ask: this line ends a successful authentication, as
         * authsucc would.  (authsucc must not run before mfa: it would clear
         * the count before every guess of the code.) */
        else if (r == 0 && !res.locked && ask == ACCTSEC_MFA_NONE)
                r = lockout_success(&d->store, &l.a, now, &res);
        if (r == 0 && !res.locked && ask == ACCTSEC_MFA_EMAIL) {
                /* An emailed code: a new attempt, its code sent by CODE_SEND. */
                r = email_attempt_new_in(&d->store, l.a.user, EMAIL_LOGIN, f.email.address, now, attempt);
                (void) mail_mask(f.email.address, masked, sizeof(masked));
        }
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        reply_decision(reply, &l.conf, &res);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, ask);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(l.conf.mfa));
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

static const char *refusal(const char *code, int r, bool emailed) {
        if (!code)
                return emailed ? "emailed code: no code" : "totp: no code";
        switch (r) {
        case -EALREADY:
                return "totp: code already used";
        case -ETIME:
                return "emailed code: expired";
        case -ENOENT:
                return emailed ? "emailed code: no live code for this attempt" : "totp: not enrolled";
        default:
                return emailed ? "emailed code: wrong code" : "totp: wrong code";
        }
}

/* A typed code: right → the tally is cleared like a good password; wrong,
 * replayed or expired → it counts toward the lockout like a wrong password. */
static int handle_verify(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        struct login l;
        struct lock_result res;
        const char *code = NULL, *attempt = NULL;
        int64_t now = (int64_t) time(NULL);

        if (login_prologue(d, peer, req, &l, reply))
                return 0;
        (void) get_str(req, ACCTSEC_TAG_CODE, true, &code); /* a malformed code is a wrong code */
        (void) get_str(req, ACCTSEC_TAG_ATTEMPT, false, &attempt);
        int r = lockout_check(&d->store, &l.a, now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        if (res.locked) {
                reply_decision(reply, &l.conf, &res);
                return 0;
        }
        int64_t left = -1;
        l.a.factor = attempt ? "emailed code" : "totp";
        r = l.a.known && code ? mfa_verify(&d->mfa, &l.a, now, l.conf.totp_window, attempt, code, &res, &left)
                              : -ENOENT;
        bool good = r == 0;
        if (r == -EACCES || r == -EALREADY || r == -ENOENT || r == -ETIME) {
                l.a.refusal = refusal(code, r, attempt != NULL);
                r = lockout_fail(&d->store, &l.a, now, &res);
        }
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        reply_decision(reply, &l.conf, &res);
        if (!good && !res.locked) /* replace the decision: this code was refused */
                reply_refused_code(reply);
        if (good && left >= 0 && left <= BACKUP_WARN_AT) {
                char msg[160];
                snprintf(msg, sizeof(msg), "Backup code accepted. %lld backup code%s left: "
                         "run 'acctsec backup-codes generate' for a new set.", (long long) left, left == 1 ? "" : "s");
                acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, msg);
        }
        return 0;
}

/* Enrolment and backup codes are for oneself; root may name another user
 * (provisioning).  A non-root caller naming anyone else is refused before
 * any lookup, so the answer does not tell which users exist. */
static int enrol_target(struct daemon *d, const struct acctsec_msg *req, const struct ucred *peer, struct principal *ret,
                        struct acctsec_frame *reply) {
        const char *user;
        if (get_str(req, ACCTSEC_TAG_USER, false, &user) < 0)
                return reply_error(reply, -EINVAL, "malformed user"), 1;
        if (peer->uid != 0) {
                if (user_by_uid(peer->uid, ret) < 0 || (user && strcmp(user, ret->name) != 0))
                        return refuse(d, reply, peer, req->type, "you may only manage your own second factor"), 1;
                return 0;
        }
        int r = user ? user_by_name(user, ret) : user_by_uid(peer->uid, ret);
        if (r == -ENOENT)
                return reply_error(reply, r, "no such user"), 1;
        if (r < 0)
                return reply_error(reply, r, "user lookup failed"), 1;
        return 0;
}

static int handle_enroll(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        struct principal p;
        _cleanup_erase_ char *uri = NULL, *b32 = NULL;

        if (enrol_target(d, req, peer, &p, reply))
                return 0;
        int r = mfa_totp_enroll(&d->mfa, p.name, (int64_t) time(NULL), &uri, &b32);
        if (r == -EEXIST)
                return reply_error(reply, r, "TOTP is already enabled (an admin can reset it: acctsec mfa reset)");
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_URI, uri);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_SECRET, b32);
        return 0;
}

static void add_codes(struct acctsec_frame *reply, char codes[BACKUP_CODES][BACKUP_CODE_TEXT]);

static int handle_confirm(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                          struct acctsec_frame *reply) {
        struct principal p;
        const char *code = NULL;

        if (enrol_target(d, req, peer, &p, reply))
                return 0;
        if (get_str(req, ACCTSEC_TAG_CODE, true, &code) < 0)
                return reply_error(reply, -EINVAL, "a code is needed");
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT];
        struct acctsec_conf conf;
        const char *why = NULL;
        /* The user's own window ([user]/[group] sections), as at login. */
        int r = policy_for(&d->policy, &p, NULL, NULL, &conf, &why);
        if (r < 0)
                return reply_error(reply, r, why);
        r = mfa_totp_confirm(&d->mfa, p.name, (int64_t) time(NULL), conf.totp_window, code, codes);
        if (r < 0)
                acctsec_wipe(codes, sizeof(codes));
        if (r == -ENOENT)
                return reply_error(reply, r, "no TOTP enrolment in progress: run acctsec mfa enroll totp");
        if (r == -EACCES || r == -EALREADY)
                return reply_error(reply, -EKEYREJECTED, "wrong code: check the app and the clock, then try again");
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
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

static int handle_backup_generate(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                                  struct acctsec_frame *reply) {
        struct principal p;
        char codes[BACKUP_CODES][BACKUP_CODE_TEXT], actor[USER_NAME_MAX + 16];

        if (enrol_target(d, req, peer, &p, reply))
                return 0;
        actor_name(peer, actor, sizeof(actor));
        int r = mfa_backup_generate(&d->mfa, p.name, peer->uid == p.uid ? NULL : actor, (int64_t) time(NULL), codes);
        if (r < 0)
                acctsec_wipe(codes, sizeof(codes));
        if (r == -ENOENT)
                return reply_error(reply, r, "backup codes go with an active TOTP: run acctsec mfa enroll totp first");
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        add_codes(reply, codes);
        return 0;
}

static int handle_status(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        struct principal p;
        struct acctsec_conf conf;
        struct factors f;
        int64_t left = 0;

        if (readable_target(d, peer, req, &p, &conf, reply))
                return 0;
        int r = factors_of(d, p.name, &f);
        if (r == 0)
                r = mfa_backup_left(&d->mfa, p.name, &left);
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        if (f.required && conf.mfa == ACCTSEC_MFA_OPTIONAL)
                conf.mfa = ACCTSEC_MFA_REQUIRED;
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, f.totp);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) left);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(conf.mfa));
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, f.email.address);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_PENDING, f.email.pending);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, f.email.codes);
        return 0;
}

static int handle_reset(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                        struct acctsec_frame *reply) {
        const char *user;
        char actor[USER_NAME_MAX + 16];
        bool had = false;

        if (get_str(req, ACCTSEC_TAG_USER, true, &user) < 0)
                return reply_error(reply, -EINVAL, "mfa reset needs a user");
        if (role_of(peer->uid, &d->policy.global) != ROLE_ADMIN)
                return refuse(d, reply, peer, req->type, "only admins may reset a second factor");
        struct principal p;
        int r = user_by_name(user, &p);
        if (r < 0) /* admins may learn who exists */
                return reply_error(reply, r, r == -ENOENT ? "no such user" : "user lookup failed");
        actor_name(peer, actor, sizeof(actor));
        r = mfa_reset(&d->mfa, user, actor, (int64_t) time(NULL), &had);
        if (r < 0)
                return reply_db_error(reply, req->type, user, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, had);
        return 0;
}

static int handle_require(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                          struct acctsec_frame *reply) {
        const char *user;
        char actor[USER_NAME_MAX + 16];
        uint64_t on = 1;
        struct principal p;

        if (get_str(req, ACCTSEC_TAG_USER, true, &user) < 0)
                return reply_error(reply, -EINVAL, "mfa require needs a user");
        if (role_of(peer->uid, &d->policy.global) != ROLE_ADMIN)
                return refuse(d, reply, peer, req->type, "only admins may require a second factor");
        (void) acctsec_msg_u64(req, ACCTSEC_TAG_FLAG, &on);
        int r = user_by_name(user, &p);
        if (r == -ENOENT)
                return reply_error(reply, r, "no such user");
        if (r < 0)
                return reply_error(reply, r, "user lookup failed");
        actor_name(peer, actor, sizeof(actor));
        r = mfa_require(&d->mfa, p.name, on != 0, actor, (int64_t) time(NULL));
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, on != 0);
        return 0;
}

int handle_mfa_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                       struct acctsec_frame *reply) {
        switch (req->type) {
        case ACCTSEC_OP_MFA_BEGIN:
                return handle_begin(d, peer, req, reply);
        case ACCTSEC_OP_MFA_VERIFY:
                return handle_verify(d, peer, req, reply);
        case ACCTSEC_OP_TOTP_ENROLL:
                return handle_enroll(d, peer, req, reply);
        case ACCTSEC_OP_TOTP_CONFIRM:
                return handle_confirm(d, peer, req, reply);
        case ACCTSEC_OP_MFA_STATUS:
        case ACCTSEC_OP_BACKUP_STATUS: /* the same reply: state, policy, codes left */
                return handle_status(d, peer, req, reply);
        case ACCTSEC_OP_BACKUP_GENERATE:
                return handle_backup_generate(d, peer, req, reply);
        case ACCTSEC_OP_MFA_REQUIRE:
                return handle_require(d, peer, req, reply);
        default:
                return handle_reset(d, peer, req, reply);
        }
}
