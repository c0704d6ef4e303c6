/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mail addresses and emailed codes: sending a login code (CODE_SEND),
 * setting and verifying an address (EMAIL_SET, EMAIL_VERIFY), turning
 * emailed codes on (EMAIL_CODES).  A code whose attempt goes to a phone
 * number is texted instead (phone.c sets numbers).  Delivery runs in a
 * child process; these requests answer later (HANDLE_DEFERRED) and the
 * event loop serves everyone else meanwhile.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "request.h"
#include "log.h"
#include "mailcap.h"
#include "mailer.h"
#include "secret.h"
#include "server.h"
#include "sms.h"

#define MASKED_MAX (EMAIL_ADDRESS_MAX + 8)

/* A code on its way; the reply waits for the delivery. */
struct send_job {
        struct daemon *d;
        struct pending_reply *pending;
        enum email_purpose purpose;
        bool texted; /* to a phone number */
        char attempt[EMAIL_ATTEMPT_HEX];
        char user[USER_NAME_MAX];
        char masked[MASKED_MAX];
        char service[64], rhost[256], tty[64];
};

static void copy(char *dst, size_t n, const char *src) {
        snprintf(dst, n, "%s", src ? src : "");
}

static const char *or_dash(const char *s) {
        return s && *s ? s : "-";
}

static void body_of(const struct send_job *j, const char *code, unsigned ttl, char *buf, size_t n) {
        char host[256] = "localhost", when[64] = "";
        time_t t = time(NULL);
        struct tm tm;
        (void) gethostname(host, sizeof(host) - 1);
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        switch (j->purpose) {
        case EMAIL_LOGIN:
                snprintf(buf, n,
                         "Your verification code is: %s\n\n"
                         "It was asked for to log in as %s on %s\n"
                         "  service: %s\n  from:    %s\n  at:      %s\n\n"
                         "It is valid for %u minutes, for this one login only.\n\n"
                         "If this was not you, someone knows your password: change it\n"
                         "(passwd) and tell your administrator.\n",
                         code, j->user, host, or_dash(j->service), or_dash(j->rhost), when, ttl / 60);
                break;
        case EMAIL_RECOVERY:
                snprintf(buf, n,
                         "Your code to recover the account %s on %s is: %s\n\n"
                         "It was asked for at the login prompt (\"forgot\")\n"
                         "  service: %s\n  from:    %s\n  at:      %s\n\n"
                         "It is valid for %u minutes, for one login, in place of the password; that\n"
                         "login then asks for your second factor, if you have one, and for a new\n"
                         "password.\n\n"
                         "If this was not you, someone is trying to get into your account: do not\n"
                         "give this code to anyone, and tell your administrator.\n",
                         j->user, host, code, or_dash(j->service), or_dash(j->rhost), when, ttl / 60);
                break;
        case PHONE_VERIFY: /* texted, never mailed */
        case EMAIL_VERIFY:
                snprintf(buf, n,
                         "Your code to confirm this address for the account %s on %s is: %s\n\n"
                         "Confirm it with:\n  acctsec email verify %s\n\n"
                         "It is valid for %u minutes.  If you did not ask for this, ignore this mail.\n",
                         j->user, host, code, code, ttl / 60);
                break;
        case EMAIL_DISABLE:
                snprintf(buf, n,
                         "Your code to turn OFF the second factor of the account %s on %s is: %s\n\n"
                         "It is valid for %u minutes.  If you did not ask for this, someone\n"
                         "knows your password: change it (passwd) and tell your administrator.\n",
                         j->user, host, code, ttl / 60);
                break;
        }
}

/* The same as one short text (printable, one line, well under 160
 * characters for a six-digit code and a short host name). */
static void text_of(const struct send_job *j, const char *code, unsigned ttl, char *buf, size_t n) {
        char host[64] = "localhost";
        (void) gethostname(host, sizeof(host) - 1);
        for (char *p = host; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        *p = '?';
        switch (j->purpose) {
        case EMAIL_LOGIN:
                snprintf(buf, n, "%s is your code to log in as %s on %s (valid %u min). Not you? Change your password.",
                         code, j->user, host, ttl / 60);
                break;
        case PHONE_VERIFY:
        case EMAIL_VERIFY:
                snprintf(buf, n, "%s is your code to confirm this number for %s on %s: acctsec phone verify %s",
                         code, j->user, host, code);
                break;
        case EMAIL_DISABLE:
                snprintf(buf, n, "%s is your code to turn OFF the second factor of %s on %s. Not you? Change your password.",
                         code, j->user, host);
                break;
        case EMAIL_RECOVERY:
                snprintf(buf, n, "%s is your code to recover %s on %s (valid %u min). Not you? Tell your administrator.",
                         code, j->user, host, ttl / 60);
                break;
        }
}

static const char *purpose_name(enum email_purpose p) {
        return p == EMAIL_LOGIN    ? "login"
               : p == EMAIL_VERIFY ? "address check"
               : p == PHONE_VERIFY ? "number check"
               : p == EMAIL_RECOVERY ? "recovery"
                                   : "disable";
}

static const char *subject_of(enum email_purpose p) {
        return p == EMAIL_LOGIN      ? "Your login verification code"
               : p == EMAIL_VERIFY   ? "Confirm your mail address"
               : p == EMAIL_RECOVERY ? "Your password recovery code"
                                     : "Code to turn off your second factor";
}

static void reply_sent(struct acctsec_frame *f, const struct send_job *j, bool sent, const char *attempt) {
        char msg[MASKED_MAX + 128];
        acctsec_frame_init(f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_DECISION, ACCTSEC_ALLOW);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_SENT, sent);
        acctsec_frame_add_str(f, ACCTSEC_TAG_ADDRESS, j->masked);
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_ATTEMPT, attempt);
        if (sent)
                snprintf(msg, sizeof(msg), "A code was sent to %s.", j->masked);
        else
                snprintf(msg, sizeof(msg), "The code could not be sent to %s; try again later.", j->masked);
        acctsec_frame_add_str(f, ACCTSEC_TAG_MESSAGE, msg);
}

static void on_sent(int r, const char *err, void *userdata) {
        struct send_job *j = userdata;
        struct daemon *d = j->d;
        int64_t now = store_now(&d->store);
        char detail[400];
        struct event ev = { .type = r == 0 ? EV_CODE_SENT : EV_CODE_SEND_FAILED, .user = j->user,
                            .service = j->service[0] ? j->service : NULL, .rhost = j->rhost[0] ? j->rhost : NULL,
                            .tty = j->tty[0] ? j->tty : NULL, .detail = detail };

        snprintf(detail, sizeof(detail), "%s code to %s%s%s", purpose_name(j->purpose), j->masked, r < 0 ? ": " : "",
                 r < 0 ? err : "");
        /* In the completion's transaction (server.c: completion_begin). */
        int q = r < 0 ? email_code_unsend(&d->store, j->attempt, now) : 0;
        if (q == 0)
                q = seclog_add(&d->store, now, &ev);
        if (q < 0)
                log_error("recording the mail outcome for %s: %s", j->user, strerror(-q));
        if (r < 0)
                log_warning("%s to %s for %s not delivered: %s", j->texted ? "text" : "mail", j->masked, j->user, err);
        if (j->pending) {
                struct acctsec_frame *f = calloc(1, sizeof(*f));
                if (f) {
                        reply_sent(f, j, r == 0, j->purpose == EMAIL_DISABLE ? j->attempt : NULL);
                        server_reply(j->pending, f);
                        free(f);
                } else {
                        struct acctsec_frame tiny;
                        reply_error(&tiny, -ENOMEM, "out of memory");
                        server_reply(j->pending, &tiny);
                }
        }
        free(j);
}

/* Mail (or text) the code that was just committed; the reply is deferred
 * until the delivery ends.  On any failure to start, the code is void and
 * the reply says it was not sent.  Without a reply (a recovery code, whose
 * answer must not depend on the account) the delivery goes on alone: its
 * outcome is only logged. */
static int send_code(struct daemon *d, struct send_job *j, const char *address, char code[EMAIL_CODE_MAX],
                     unsigned ttl, struct acctsec_frame *reply) {
        char body[1024];
        struct mail_message m = { .to = address, .subject = subject_of(j->purpose), .body = body };
        int r;

        if (j->texted) {
                text_of(j, code, ttl, body, SMS_TEXT_MAX + 1);
                acctsec_wipe(code, EMAIL_CODE_MAX);
                r = sms_send(d->event, &d->policy.global, address, body, on_sent, j);
        } else {
                body_of(j, code, ttl, body, sizeof(body));
                acctsec_wipe(code, EMAIL_CODE_MAX);
                r = mailer_send(d->event, &d->policy.global, &m, on_sent, j);
        }
        acctsec_wipe(body, sizeof(body));
        if (r < 0) {
                char detail[128];
                int64_t now = store_now(&d->store);
                struct event ev = { .type = EV_CODE_SEND_FAILED, .user = j->user, .detail = detail };
                snprintf(detail, sizeof(detail), "cannot start the delivery: %s", strerror(-r));
                log_error("cannot start %s delivery for %s: %s", j->texted ? "SMS" : "mail", j->user, strerror(-r));
                if (email_code_unsend(&d->store, j->attempt, now) == 0)
                        (void) seclog_add(&d->store, now, &ev);
                if (reply)
                        reply_sent(reply, j, false, NULL);
                free(j);
                return 0;
        }
        if (!reply)
                return 0;
        j->pending = server_defer(d->srv);
        if (!j->pending) /* on_sent will find nobody to answer */
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}

static struct send_job *job_new(struct daemon *d, enum email_purpose purpose, const char *user, const char *address,
                                const struct attempt *a) {
        struct send_job *j = calloc(1, sizeof(*j));
        if (!j)
                return NULL;
        j->d = d;
        j->purpose = purpose;
        j->texted = sms_number_valid(address);
        copy(j->user, sizeof(j->user), user);
        if (j->texted ? sms_mask(address, j->masked, sizeof(j->masked)) < 0
                      : mail_mask(address, j->masked, sizeof(j->masked)) < 0)
                copy(j->masked, sizeof(j->masked), j->texted ? "your phone" : "your address");
        if (a) {
                copy(j->service, sizeof(j->service), a->service);
                copy(j->rhost, sizeof(j->rhost), a->rhost);
                copy(j->tty, sizeof(j->tty), a->tty);
        }
        return j;
}

static void reply_wait(struct acctsec_frame *reply, int64_t wait) {
        char msg[128];
        snprintf(msg, sizeof(msg), "A code was sent recently; you can ask for a new one in %lld:%02lld.",
                 (long long) (wait / 60), (long long) (wait % 60));
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_ALLOW);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_SENT, 0);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_WAIT, (uint64_t) wait);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, msg);
}

/* mail_max_per_hour was reached (mailcap.h): no code was made and nothing
 * is mailed.  Logged in the request's transaction (nothing else was
 * written: the cap is taken before the code is made); the reply says not
 * sent and how long to wait, which the module shows at the prompt (the
 * login goes on) and the CLI as a temporary failure. */
static int reply_capped(struct daemon *d, const char *user, const struct attempt *a, enum email_purpose purpose,
                        int64_t now, int64_t wait, struct acctsec_frame *reply) {
        char what[32], detail[160], msg[160];
        snprintf(what, sizeof(what), "%s code", purpose_name(purpose));
        struct event ev = mailcap_event(user, what, d->policy.global.mail_max_per_hour, detail, sizeof(detail));
        if (a) {
                ev.service = a->service;
                ev.rhost = a->rhost;
                ev.tty = a->tty;
        }
        int r = seclog_add(&d->store, now, &ev);
        if (r < 0)
                log_error("recording a mail to %s not sent (mail_max_per_hour): %s", user, strerror(-r));
        mailcap_message(wait, msg, sizeof(msg));
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ACCTSEC_ALLOW);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_SENT, 0);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_WAIT, (uint64_t) wait);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, msg);
        return 0;
}

/* The module: mail a code for a login attempt (the first, or "resend"). */
int handle_code_send(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct login l = rq->login;
        struct lock_result res;
        const char *attempt = rq_str(rq, ACCTSEC_TAG_ATTEMPT);
        char code[EMAIL_CODE_MAX], address[EMAIL_ADDRESS_MAX];
        int64_t now = rq->now, wait = 0;

        l.a.conf = &l.conf;
        if (!attempt)
                return reply_error(reply, -EINVAL, "code-send needs an attempt");
        int r = lockout_check(&d->store, &l.a, now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        if (res.locked) {
                reply_decision(reply, &l.conf, &res);
                return 0;
        }
        /* The resend interval first, then the cap, then the code: a refusal
         * writes nothing but its event. */
        r = email_code_wait(&d->store, attempt, l.a.user, EMAIL_LOGIN, l.conf.code_resend_interval, now, &wait);
        if (r == 0)
                r = mailcap_take(&d->store, l.a.user, now, d->policy.global.mail_max_per_hour, &wait);
        if (r == 0)
                r = email_code_issue_in(&d->store, d->key, attempt, l.a.user, EMAIL_LOGIN, l.conf.code_digits,
                                        l.conf.code_ttl, l.conf.code_resend_interval, now, code, address, &wait);
        if (r < 0)
                acctsec_wipe(code, sizeof(code));
        if (r == -EAGAIN)
                return reply_wait(reply, wait), 0;
        if (r == -EDQUOT)
                return reply_capped(d, l.a.user, &l.a, EMAIL_LOGIN, now, wait, reply);
        if (r == -ENOENT)
                return reply_error(reply, -EINVAL, "no such attempt for this user");
        if (r < 0)
                return reply_db_error(reply, req->type, l.a.user, r);
        struct send_job *j = job_new(d, EMAIL_LOGIN, l.a.user, address, &l.a);
        if (!j) {
                acctsec_wipe(code, sizeof(code));
                (void) email_code_unsend(&d->store, attempt, now);
                return reply_error(reply, -ENOMEM, "out of memory");
        }
        copy(j->attempt, sizeof(j->attempt), attempt);
        return send_code(d, j, address, code, l.conf.code_ttl, reply);
}

/* A new attempt for purpose, its code committed and mailed.  The resend
 * interval counts per user here (no login attempt to bind it to). */
int mail_new_code(struct request *rq, enum email_purpose purpose, const char *address, bool set_pending,
                         struct event *ev) {
        struct daemon *d = rq->d;
        struct acctsec_frame *reply = rq->reply;
        const struct principal *p = &rq->target;
        const struct acctsec_conf *conf = &rq->conf;
        char attempt[EMAIL_ATTEMPT_HEX], code[EMAIL_CODE_MAX], to[EMAIL_ADDRESS_MAX];
        int64_t now = rq->now, last = 0, wait = 0;

        /* The resend interval first, then the cap: a refusal writes nothing
         * but its event. */
        int r = email_last_sent(&d->store, p->name, purpose, &last);
        if (r == 0 && last > 0 && now < last + (int64_t) conf->code_resend_interval)
                return reply_wait(reply, last + (int64_t) conf->code_resend_interval - now), 0;
        if (r == 0)
                r = mailcap_take(&d->store, p->name, now, d->policy.global.mail_max_per_hour, &wait);
        if (r == -EDQUOT) /* nothing changes, the pending address neither */
                return reply_capped(d, p->name, NULL, purpose, now, wait, reply);
        if (r == 0) /* the interval again, in the insert (a code sent since by another daemon) */
                r = email_attempt_new_spaced_in(&d->store, p->name, purpose, address, conf->code_resend_interval, now,
                                                attempt, &wait);
        if (r == -EAGAIN)
                return reply_wait(reply, wait), 0;
        if (r == 0 && set_pending)
                r = purpose == PHONE_VERIFY ? phone_set_in(&d->store, p->name, address, false, now)
                                            : email_set_in(&d->store, p->name, address, false, now);
        if (r == 0 && ev)
                r = seclog_add(&d->store, now, ev);
        if (r == 0)
                r = email_code_issue_in(&d->store, d->key, attempt, p->name, purpose, conf->code_digits, conf->code_ttl,
                                        0, now, code, to, &wait);
        if (r < 0)
                return reply_db_error(reply, rq->msg->type, p->name, r);
        struct send_job *j = job_new(d, purpose, p->name, to, NULL);
        if (!j) {
                acctsec_wipe(code, sizeof(code));
                (void) email_code_unsend(&d->store, attempt, now);
                return reply_error(reply, -ENOMEM, "out of memory");
        }
        copy(j->attempt, sizeof(j->attempt), attempt);
        return send_code(d, j, to, code, conf->code_ttl, reply);
}

int code_send_detached(struct daemon *d, enum email_purpose purpose, const struct attempt *a, const char *attempt,
                       const char *to, char code[EMAIL_CODE_MAX], unsigned ttl) {
        struct send_job *j = job_new(d, purpose, a->user, to, a);
        if (!j) {
                acctsec_wipe(code, EMAIL_CODE_MAX);
                return -ENOMEM;
        }
        copy(j->attempt, sizeof(j->attempt), attempt);
        return send_code(d, j, to, code, ttl, NULL);
}

int handle_email_set(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *address = rq_str(rq, ACCTSEC_TAG_ADDRESS);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];

        if (!mail_address_valid(address))
                return reply_error(reply, -EINVAL, "not a mail address acctsec can send to (user@domain, "
                                                   "no spaces, quotes or brackets)");
        if (rq->self) {
                /* One's own address: in use once its code comes back. */
                struct event ev = { .type = EV_EMAIL_SET, .user = p->name, .detail = "waiting for verification" };
                return mail_new_code(rq, EMAIL_VERIFY, address, true, &ev);
        }
        /* An admin sets someone's address: it counts as verified. */
        actor_name(peer, actor, sizeof(actor));
        struct event ev = { .type = EV_EMAIL_SET, .user = p->name, .actor = actor, .detail = "set by an admin: verified" };
        int64_t now = rq->now;
        int r = email_set_in(&d->store, p->name, address, true, now);
        if (r == 0)
                r = seclog_add(&d->store, now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, address);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, 1);
        return 0;
}

int handle_email_verify(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *code = rq_str(rq, ACCTSEC_TAG_CODE);
        const struct principal self = rq->target;
        char attempt[EMAIL_ATTEMPT_HEX];
        int64_t now = rq->now;

        /* A wrong try counts, an expired code is void; a right one is used
         * only while an address waits for it (email_code_use_in). */
        int r = email_attempt_of(&d->store, self.name, EMAIL_VERIFY, attempt);
        if (r == 0)
                r = email_code_use_in(&d->store, d->key, attempt, self.name, EMAIL_VERIFY, code, now);
        if (r == 0)
                r = email_promote_in(&d->store, self.name, now);
        if (r == 0) {
                struct event ev = { .type = EV_EMAIL_VERIFIED, .user = self.name };
                r = seclog_add(&d->store, now, &ev);
        }
        if (r == -ENOENT)
                return reply_error(reply, -ENOENT, "no address is waiting for a code: run 'acctsec email set ADDRESS'");
        if (r == -EACCES || r == -ETIME)
                return reply_error(reply, -EKEYREJECTED, r == -ETIME ? "the code has expired: run 'acctsec email set' again"
                                                                     : "wrong code (after 5 wrong codes, ask for a new one)");
        if (r < 0)
                return reply_db_error(reply, req->type, self.name, r);
        struct email_info e;
        (void) email_get(&d->store, self.name, &e);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, self.name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, e.address);
        return 0;
}

/* acctsec mfa enroll email: codes by mail at every login. */
int handle_email_codes(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal self = rq->target;
        struct email_info e;
        int64_t now = rq->now;

        int r = email_get(&d->store, self.name, &e);
        if (r == 0 && !e.address[0])
                r = -ENOENT;
        if (r == 0) /* still a verified address as it is written */
                r = email_codes_enable_in(&d->store, self.name, true, now);
        if (r < 0) {
                if (r == -ENOENT)
                        return reply_error(reply, r, "no verified address: run 'acctsec email set ADDRESS' "
                                                     "and 'acctsec email verify CODE' first");
                return reply_db_error(reply, req->type, self.name, r);
        }
        struct event ev = { .type = EV_MFA_ENROLLED, .user = self.name, .detail = "emailed codes" };
        r = seclog_add(&d->store, now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, self.name, r);
        char masked[MASKED_MAX];
        (void) mail_mask(e.address, masked, sizeof(masked));
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, self.name);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ADDRESS, masked);
        return 0;
}
