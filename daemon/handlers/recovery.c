/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Password recovery at the login prompt (password_recovery, off by
 * default): the user types "forgot" as the password; RECOVERY_BEGIN sends a
 * code to the verified address (or phone), RECOVERY_VERIFY takes it in
 * place of the password for that one login.  It never logs anyone in by
 * itself: the stack's mfa line still asks for the second factor, and the
 * forgotten password is replaced by a random one (the module gives it to
 * pam_unix as the current password) and the account is marked for a forced
 * change (MUST_CHANGE 3), so the login sets a new password before a session
 * opens.  Both answers are the same
 * whoever the user is (unknown, refused, or eligible): a random attempt,
 * one message, and the code's delivery is never waited for.
 */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "handlers.h"
#include "log.h"
#include "mailcap.h"
#include "mailer.h"
#include "passcheck.h"
#include "request.h"
#include "secret.h"

#define RECOVER_TIMEOUT_USEC (30 * 1000000ULL)
#define SENT_MESSAGE "If this account can be recovered, a code was sent to its verified address or phone."

/* Where this user's recovery code may go, or why none may: "" and why set
 * when refused.  Root and admins are refused unless the global
 * password_recovery_admins says otherwise: a mailbox is a weaker guard than
 * an admin's password. */
static int recovery_destination(struct daemon *d, const struct login *l, char to[EMAIL_ADDRESS_MAX],
                                const char **why) {
        struct factors f;
        to[0] = '\0';
        *why = NULL;
        if (!l->conf.password_recovery)
                return *why = "password recovery is off for this login (password_recovery)", 0;
        if (!l->a.known)
                return 0;
        if (!l->a.privileged) /* the temporary password goes to the module of a root login program only */
                return *why = "password recovery: only through root's login programs", 0;
        if ((l->p.uid == 0 || role_of(l->p.uid, &d->policy.global) == ROLE_ADMIN) &&
            !d->policy.global.password_recovery_admins)
                return *why = "password recovery is refused for administrators (password_recovery_admins)", 0;
        int r = factors_of(d, l->a.user, &f);
        if (r < 0)
                return r;
        if (f.email.address[0])
                snprintf(to, EMAIL_ADDRESS_MAX, "%s", f.email.address);
        else if (f.phone.number[0] && d->policy.global.sms_transport != ACCTSEC_SMS_NONE)
                snprintf(to, EMAIL_ADDRESS_MAX, "%s", f.phone.number);
        else
                *why = "password recovery: no verified address or phone number";
        return 0;
}

/* A code for this attempt, committed and sent (never waited for).  A
 * request within code_resend_interval of the last recovery code sends
 * nothing and counts nothing; nor does one past half of mail_max_per_hour:
 * anyone can type "forgot", so recovery codes may use only half of a
 * user's hourly mails, and never the half that login codes need (the
 * answer is the same either way). */
static int issue(struct daemon *d, const struct login *l, const char *to, int64_t now, char attempt[EMAIL_ATTEMPT_HEX]) {
        char code[EMAIL_CODE_MAX], dest[EMAIL_ADDRESS_MAX], capped[160];
        unsigned cap = d->policy.global.mail_max_per_hour, half = cap ? (cap + 1) / 2 : 0;
        int64_t wait = 0, last = 0;
        int r = email_last_sent(&d->store, l->a.user, EMAIL_RECOVERY, &last);
        if (r < 0 || (last > 0 && now < last + (int64_t) l->conf.code_resend_interval))
                return r; /* one went out a moment ago: that one is still good */
        /* The attempt first (the interval again, in the insert: another
         * daemon may have sent one since), then the cap: an attempt left
         * without a code sends and counts nothing (purged after a day). */
        r = email_attempt_new_spaced_in(&d->store, l->a.user, EMAIL_RECOVERY, to, l->conf.code_resend_interval, now,
                                        attempt, &wait);
        if (r == -EAGAIN)
                return 0;
        if (r == 0)
                r = mailcap_take(&d->store, l->a.user, now, half, &wait);
        if (r == -EDQUOT) {
                struct event ev = mailcap_event(l->a.user, "recovery code", half, capped, sizeof(capped));
                ev.service = l->a.service;
                ev.rhost = l->a.rhost;
                ev.tty = l->a.tty;
                return seclog_add(&d->store, now, &ev);
        }
        if (r == 0)
                r = email_code_issue_in(&d->store, d->key, attempt, l->a.user, EMAIL_RECOVERY, l->conf.code_digits,
                                        l->conf.code_ttl, 0, now, code, dest, &wait);
        if (r < 0) {
                acctsec_wipe(code, sizeof(code));
                return r;
        }
        r = code_send_detached(d, EMAIL_RECOVERY, &l->a, attempt, dest, code, l->conf.code_ttl);
        if (r < 0)
                log_error("cannot send the recovery code of %s: %s", l->a.user, strerror(-r));
        return 0;
}

int handle_recovery_begin(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login l = rq->login;
        struct lock_result res;
        char attempt[EMAIL_ATTEMPT_HEX], to[EMAIL_ADDRESS_MAX];
        const char *why = NULL;
        uint8_t random[16];

        /* Whoever asks gets an attempt id, used or not. */
        randombytes_buf(random, sizeof(random));
        sodium_bin2hex(attempt, sizeof(attempt), random, sizeof(random));
        l.a.conf = &l.conf;
        int r = lockout_check(&d->store, &l.a, rq->now, &res);
        if (r == 0 && !res.locked)
                r = recovery_destination(d, &l, to, &why);
        if (r == 0 && !res.locked && why && l.a.known) {
                struct event ev = event_of(&l.a, EV_LOGIN_DENIED, why);
                r = seclog_add(&d->store, rq->now, &ev);
        }
        if (r == 0 && !res.locked && to[0])
                r = issue(d, &l, to, rq->now, attempt);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        reply_decision(reply, &l.conf, &res);
        if (!res.locked)
                acctsec_frame_add_str(reply, ACCTSEC_TAG_ATTEMPT, attempt);
        /* A locked user is told the same, and asked for a code that is never checked. */
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, SENT_MESSAGE);
        return 0;
}

/* "Your account was recovered": where from, and what to do if it was not
 * the user.  Never a code, never a link. */
static void mail_notice(struct daemon *d, const struct attempt *a, const char *address) {
        char host[NOTICE_HOST_MAX], when[NOTICE_WHEN_MAX], body[1024];
        notice_stamp(host, when);
        snprintf(body, sizeof(body),
                 "A recovery code was used to log in to the account %s on %s\n"
                 "in place of its password.\n\n"
                 "  at:      %s\n  service: %s\n  from:    %s\n\n"
                 "The login must set a new password before it goes on.\n"
                 "If this was not you, tell your administrator now.\n",
                 a->user, host, when, a->service && *a->service ? a->service : "-",
                 a->rhost && *a->rhost ? a->rhost : "this machine");
        notice_send(d, a->user, address, "recovery notice", "Your password was recovered", body);
}

/* A right code: the forgotten password is replaced by a random one the
 * user never sees (set through /etc/pam.d/acctsec in a child, as
 * reset-password does), which the module holds for this login's forced
 * change only (pam_unix asks for the current password: the module gives it
 * this one).  The old password is void from here on, whatever the rest of
 * the login does: an abandoned login needs a new recovery. */
struct recover_job {
        struct daemon *d;
        struct pending_reply *pending;
        struct passcheck pc;
        char user[USER_NAME_MAX];
        char service[64], rhost[256], tty[64];
        char password[PASSWORD_TEMP_LENGTH + 1];
};

/* The forced change, the events, the notice: in the completion's
 * transaction. */
static int recovered(struct daemon *d, const struct attempt *a, int64_t now) {
        struct email_info e;
        char capped[160];
        struct event ev[2] = { event_of(a, EV_PASSWORD_RECOVERED, "the password was replaced; a new one is "
                                                                 "required at this login") };
        int r = account_expire_in(&d->store, a->user, MUST_CHANGE_RECOVERY, now);
        int mail = 0;
        if (r == 0)
                r = mail = notice_allowed(d, a->user, "recovery notice", now, &e, &ev[1], capped, sizeof(capped));
        if (r >= 0)
                r = seclog_add_all(&d->store, now, ev, ev[1].user ? 2 : 1);
        if (r == 0 && mail == 1)
                mail_notice(d, a, e.address);
        return r;
}

static void on_replaced(int r, const char *out, void *userdata) {
        struct recover_job *j = userdata;
        struct daemon *d = j->d;
        struct attempt a = { .user = j->user, .service = j->service, .rhost = j->rhost, .tty = j->tty, .known = true };
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        int q = r;
        if (r < 0)
                log_error("password recovery for %s: the password could not be replaced: %s", j->user, out);
        if (q == 0)
                q = recovered(d, &a, store_now(&d->store));
        if (f) {
                if (r < 0)
                        reply_error(f, r, "the password could not be replaced (see acctsecd's log)");
                else if (q < 0)
                        reply_db_error(f, ACCTSEC_OP_RECOVERY_VERIFY, j->user, q);
                else {
                        acctsec_frame_init(f, ACCTSEC_REPLY_OK);
                        acctsec_frame_add_u64(f, ACCTSEC_TAG_DECISION, ACCTSEC_ALLOW);
                        acctsec_frame_add_str(f, ACCTSEC_TAG_PASSWORD, j->password);
                        acctsec_frame_add_str(f, ACCTSEC_TAG_MESSAGE,
                                              "Recovery code accepted: next your second factor, if you have one, "
                                              "then a new password.");
                }
                if (j->pending)
                        server_reply(j->pending, f);
                acctsec_frame_wipe(f);
                free(f);
        }
        acctsec_wipe(j, sizeof(*j));
        free(j);
}

static int replace_password(struct daemon *d, const struct login *l, struct acctsec_frame *reply) {
        struct recover_job *j = calloc(1, sizeof(*j));
        if (!j)
                return reply_error(reply, -ENOMEM, "out of memory");
        j->d = d;
        snprintf(j->user, sizeof(j->user), "%s", l->a.user);
        snprintf(j->service, sizeof(j->service), "%s", l->a.service ? l->a.service : "");
        snprintf(j->rhost, sizeof(j->rhost), "%s", l->a.rhost ? l->a.rhost : "");
        snprintf(j->tty, sizeof(j->tty), "%s", l->a.tty ? l->a.tty : "");
        int r = password_generate(&l->conf, l->a.user, j->password);
        if (r == 0) {
                j->pc = (struct passcheck){ .user = j->user, .password = j->password };
                r = child_run_async(d->event, RECOVER_TIMEOUT_USEC, passset_run, &j->pc, on_replaced, j);
        }
        if (r < 0) {
                acctsec_wipe(j, sizeof(*j));
                free(j);
                log_error("password recovery for %s: cannot replace the password: %s", l->a.user, strerror(-r));
                return reply_error(reply, r, "the password could not be replaced (see acctsecd's log)");
        }
        j->pending = server_defer(d->srv);
        if (!j->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}

int handle_recovery_verify(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login l = rq->login;
        struct lock_result res;
        const char *code = rq_str(rq, ACCTSEC_TAG_CODE), *attempt = rq_str(rq, ACCTSEC_TAG_ATTEMPT);
        char to[EMAIL_ADDRESS_MAX];
        const char *why = NULL;

        l.a.conf = &l.conf;
        int r = lockout_check(&d->store, &l.a, rq->now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        if (res.locked) {
                reply_decision(reply, &l.conf, &res);
                return 0;
        }
        l.a.factor = "recovery code";
        /* Still allowed (the policy may have changed since the code went out). */
        r = recovery_destination(d, &l, to, &why);
        if (r == 0)
                r = to[0] && code && attempt
                            ? email_code_use_in(&d->store, d->key, attempt, l.a.user, EMAIL_RECOVERY, code, rq->now)
                            : -ENOENT;
        if (r == 0) /* the code is used up with this request's commit, whatever the child does */
                return replace_password(d, &l, reply);
        if (r == -EACCES || r == -ENOENT || r == -ETIME) {
                l.a.refusal = r == -ETIME ? "recovery code: expired" : r == -EACCES ? "recovery code: wrong code"
                                                                                    : "recovery code: no live code";
                r = lockout_fail(&d->store, &l.a, rq->now, &res);
        }
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        reply_decision(reply, &l.conf, &res);
        if (!res.locked) {
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_CODE);
        }
        return 0;
}
