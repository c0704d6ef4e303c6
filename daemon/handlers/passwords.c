/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The password stack: the policy line before pam_unix (PASSWORD_POLICY,
 * PASSWORD_CHECK) and the commit line after it (PASSWORD_COMMIT).  Only
 * root asks (passwd, chpasswd, login and sshd run as root): a user talking
 * to the daemon directly must not test guesses against the history or
 * clear their own forced change.  argon2id work runs in a bounded pool of
 * children, and these requests answer when it is done.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "handlers.h"
#include "request.h"
#include "log.h"
#include "mailcap.h"
#include "mailer.h"
#include "passcheck.h"
#include "pwhistory.h"
#include "pwpolicy.h"
#include "secret.h"
#include "server.h"

#define PWPOOL_TIMEOUT_USEC (30 * 1000000ULL)

/* Who is changing whose password. */
struct change {
        struct login l;
        uint64_t ruid;     /* the real uid of the process: passwd is setuid */
        bool at_login;     /* PAM_CHANGE_EXPIRED_AUTHTOK: sshd or login, for the user */
        bool by_user;      /* the user changes their own password */
        bool exempt;       /* root changes another's and enforce_for_root = no */
};

/* Root only (the dispatcher checked); the login as the dispatcher made it. */
static int change_prologue(const struct request *rq, struct change *c) {
        memset(c, 0, sizeof(*c));
        c->l = rq->login;
        c->l.a.conf = &c->l.conf;
        if (!c->l.a.known)
                return reply_error(rq->reply, -ENOENT, "no such user"), 1;
        c->ruid = rq_u64(rq, ACCTSEC_TAG_UID, c->l.p.uid);
        uint64_t flag = rq_u64(rq, ACCTSEC_TAG_FLAG, 0);
        /* sshd and login change an expired password as root, su as whoever
         * ran it: another user, who has just given the user's password (no
         * setuid program changes another user's password for a non-root
         * caller otherwise).  A user's own "passwd -k" passes the same flag,
         * and is no login. */
        c->at_login = flag != 0 && (c->ruid == 0 || c->ruid != c->l.p.uid);
        c->by_user = c->at_login || c->ruid == c->l.p.uid;
        c->exempt = !c->by_user && c->ruid == 0 && !c->l.conf.enforce_for_root;
        return 0;
}

static struct child_pool *pool(struct daemon *d) {
        if (!d->pwpool.event)
                d->pwpool = (struct child_pool){ .event = d->event, .max = PWHISTORY_POOL,
                                                 .timeout_usec = PWPOOL_TIMEOUT_USEC };
        return &d->pwpool;
}

static void reply_verdict(struct acctsec_frame *reply, bool ok, const char *message) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, ok ? ACCTSEC_ALLOW : ACCTSEC_DENY_POLICY);
        acctsec_frame_add_str_opt(reply, ACCTSEC_TAG_MESSAGE, message);
}

/* A user changing their own password when an admin forbade it (a change
 * forced at login is the admin's own request, so it is allowed). */
static bool self_change_refused(const struct change *c) {
        return !c->l.conf.allow_self_change && c->by_user && !c->at_login && c->ruid != 0;
}

#define SELF_CHANGE_REFUSED "Password changes are made by an administrator: ask one to reset your password."

int handle_password_policy(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct change c;
        char text[512];
        if (change_prologue(rq, &c))
                return 0;
        if (self_change_refused(&c))
                return reply_verdict(reply, false, SELF_CHANGE_REFUSED), 0;
        (void) pwpolicy_text(&c.l.conf, text, sizeof(text));
        reply_verdict(reply, true, c.exempt ? NULL : text);
        return 0;
}

/* PASSWORD_CHECK: the rules now, the history in a child. */
struct check_job {
        struct pending_reply *pending;
        unsigned history;
        struct pwhistory_job job;
};

static void on_checked(int r, const char *out, void *userdata) {
        struct check_job *cj = userdata;
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        char msg[128];
        if (r < 0 && r != -EACCES)
                log_error("password history check failed: %s", out);
        if (r == -EACCES && cj->history == 1)
                snprintf(msg, sizeof(msg), "The password must not be your current password.");
        else if (r == -EACCES)
                snprintf(msg, sizeof(msg), "The password must not be one of your last %u passwords.", cj->history);
        else if (r < 0)
                snprintf(msg, sizeof(msg), "The password history cannot be checked now; try again later.");
        if (f) {
                reply_verdict(f, r == 0, r == 0 ? NULL : msg);
                if (cj->pending)
                        server_reply(cj->pending, f);
                free(f);
        }
        acctsec_wipe(cj, sizeof(*cj));
        free(cj);
}

int handle_password_check(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct change c;
        struct pwpolicy_result res;
        const char *password = NULL;

        if (change_prologue(rq, &c))
                return 0;
        if (!(password = rq_str(rq, ACCTSEC_TAG_PASSWORD)))
                return reply_verdict(reply, false, "The password has a character that is not allowed."), 0;
        if (self_change_refused(&c))
                return reply_verdict(reply, false, SELF_CHANGE_REFUSED), 0;
        if (c.exempt)
                return reply_verdict(reply, true, NULL), 0;
        int r = pwpolicy_check(&c.l.conf, c.l.a.user, password, strlen(password), &res);
        if (r < 0 && r != -EINVAL)
                log_error("password policy for %s: %s (%s)", c.l.a.user, res.message, strerror(-r));
        if (r < 0)
                return reply_verdict(reply, false, res.message), 0;
        if (c.l.conf.history == 0 || strlen(password) > PWHISTORY_PASSWORD_MAX)
                return reply_verdict(reply, true, NULL), 0;
        struct check_job *cj = calloc(1, sizeof(*cj));
        if (!cj)
                return reply_error(reply, -ENOMEM, "out of memory");
        cj->history = c.l.conf.history;
        r = pwhistory_load(&d->store, c.l.a.user, c.l.conf.history, &cj->job);
        if (r < 0 || cj->job.n == 0) {
                free(cj);
                return r < 0 ? reply_db_error(reply, req->type, c.l.a.user, r) : (reply_verdict(reply, true, NULL), 0);
        }
        strcpy(cj->job.password, password);
        r = child_pool_run(pool(d), pwhistory_match_run, &cj->job, on_checked, cj);
        if (r < 0) {
                acctsec_wipe(cj, sizeof(*cj));
                free(cj);
                return reply_error(reply, r, "cannot start the history check");
        }
        /* The child has (or will get) its own copy; ours waits in cj. */
        cj->pending = server_defer(d->srv);
        if (!cj->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}

/* PASSWORD_COMMIT: the change happened.  Record it (and, with a history,
 * the new password's hash, made in a child), then tell the user by mail. */
struct commit_job {
        struct daemon *d;
        struct pending_reply *pending;
        char user[USER_NAME_MAX];
        char service[64], rhost[256], tty[64];
        char detail[USER_NAME_MAX + 64];
        unsigned keep;
        struct pwhistory_job job;
};

struct notice {
        char user[USER_NAME_MAX];
        char what[48];
};

static void notified(int r, const char *out, void *userdata) {
        struct notice *n = userdata;
        if (r < 0)
                log_warning("%s to %s not delivered: %s", n->what, n->user, out);
        free(n);
}

void notice_stamp(char host[NOTICE_HOST_MAX], char when[NOTICE_WHEN_MAX]) {
        time_t t = time(NULL);
        struct tm tm;
        snprintf(host, NOTICE_HOST_MAX, "localhost");
        (void) gethostname(host, NOTICE_HOST_MAX - 1);
        when[0] = '\0';
        if (gmtime_r(&t, &tm))
                strftime(when, NOTICE_WHEN_MAX, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void notice_send(struct daemon *d, const char *user, const char *address, const char *what, const char *subject,
                 const char *body) {
        struct mail_message m = { .to = address, .subject = subject, .body = body };
        struct notice *n = calloc(1, sizeof(*n));
        if (n) {
                snprintf(n->user, sizeof(n->user), "%s", user);
                snprintf(n->what, sizeof(n->what), "%s", what);
        }
        if (!n || mailer_send(d->event, &d->policy.global, &m, notified, n) < 0) {
                log_warning("%s to %s: cannot start the delivery", what, user);
                free(n);
        }
}

/* "Your password was changed": never the password, never a link. */
static void notify(struct daemon *d, const struct commit_job *j, const char *address) {
        char host[NOTICE_HOST_MAX], when[NOTICE_WHEN_MAX], body[2048];
        notice_stamp(host, when);
        snprintf(body, sizeof(body),
                 "The password of the account %s on %s was changed.\n\n"
                 "  at:      %s\n  service: %s\n  from:    %s\n  who:     %s\n\n"
                 "If this was not you, tell your administrator now.\n",
                 j->user, host, when, j->service[0] ? j->service : "-", j->rhost[0] ? j->rhost : "this machine",
                 j->detail);
        notice_send(d, j->user, address, "password change notice", "Your password was changed", body);
}

int notice_allowed(struct daemon *d, const char *user, const char *what, int64_t now, struct email_info *e,
                   struct event *ret_capped, char *buf, size_t n) {
        int64_t wait;
        int r = email_get(&d->store, user, e);
        if (r < 0 || !e->address[0])
                return r;
        r = mailcap_take(&d->store, user, now, d->policy.global.mail_max_per_hour, &wait);
        if (r == -EDQUOT) {
                *ret_capped = mailcap_event(user, what, d->policy.global.mail_max_per_hour, buf, n);
                return 0;
        }
        return r < 0 ? r : 1;
}

static int record_change(struct daemon *d, struct commit_job *j, const char *hash) {
        int64_t now = store_now(&d->store);
        struct email_info e;
        char capped[160];
        struct event ev[2] = { { .type = EV_PASSWORD_CHANGED, .user = j->user,
                                 .service = j->service[0] ? j->service : NULL, .rhost = j->rhost[0] ? j->rhost : NULL,
                                 .tty = j->tty[0] ? j->tty : NULL, .detail = j->detail } };
        int r = account_password_changed_in(&d->store, j->user, now);
        if (r == 0 && hash)
                r = pwhistory_add_in(&d->store, j->user, hash, j->keep, now);
        int mail = 0;
        if (r == 0)
                r = mail = notice_allowed(d, j->user, "password change notice", now, &e, &ev[1], capped,
                                          sizeof(capped));
        if (r >= 0)
                r = seclog_add_all(&d->store, now, ev, ev[1].user ? 2 : 1);
        /* The mail's child starts only once this committed (server.c). */
        if (r == 0 && mail == 1)
                notify(d, j, e.address);
        return r;
}

static void on_hashed(int r, const char *out, void *userdata) {
        struct commit_job *j = userdata;
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        if (r < 0)
                log_error("hashing the new password of %s for the history failed: %s", j->user, out);
        /* Without a hash the change is still recorded (the forced change ends). */
        int q = record_change(j->d, j, r == 0 && strncmp(out, "$argon2id$", 10) == 0 ? out : NULL);
        if (f) {
                if (q < 0)
                        reply_db_error(f, ACCTSEC_OP_PASSWORD_COMMIT, j->user, q);
                else
                        acctsec_frame_init(f, ACCTSEC_REPLY_OK);
                if (j->pending)
                        server_reply(j->pending, f);
                free(f);
        }
        acctsec_wipe(j, sizeof(*j));
        free(j);
}

int handle_password_commit(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct change c;
        struct principal who;
        const char *password = NULL;

        if (change_prologue(rq, &c))
                return 0;
        password = rq_str(rq, ACCTSEC_TAG_PASSWORD);
        struct commit_job *j = calloc(1, sizeof(*j));
        if (!j)
                return reply_error(reply, -ENOMEM, "out of memory");
        j->d = d;
        j->keep = c.l.conf.history;
        snprintf(j->user, sizeof(j->user), "%s", c.l.a.user);
        snprintf(j->service, sizeof(j->service), "%s", c.l.a.service ? c.l.a.service : "");
        snprintf(j->rhost, sizeof(j->rhost), "%s", c.l.a.rhost ? c.l.a.rhost : "");
        snprintf(j->tty, sizeof(j->tty), "%s", c.l.a.tty ? c.l.a.tty : "");
        struct account_info info = { .must_change = MUST_CHANGE_NO };
        if (c.at_login) /* sshd, login (as root) and su (as its caller), for the user */
                (void) account_get(&d->store, c.l.a.user, &info);
        if (c.at_login && info.must_change == MUST_CHANGE_RECOVERY)
                snprintf(j->detail, sizeof(j->detail), "by the user, at login (after a password recovery)");
        else if (c.at_login)
                snprintf(j->detail, sizeof(j->detail), "by the user, at login (the password had expired)");
        else if (c.ruid == c.l.p.uid)
                snprintf(j->detail, sizeof(j->detail), "by the user");
        else if (c.ruid <= UINT32_MAX && user_by_uid((uid_t) c.ruid, &who) == 0)
                snprintf(j->detail, sizeof(j->detail), "by %s", who.name);
        else
                snprintf(j->detail, sizeof(j->detail), "by uid %llu", (unsigned long long) c.ruid);
        if (!password || !password[0] || j->keep == 0 || strlen(password) > PWHISTORY_PASSWORD_MAX) {
                int r = record_change(d, j, NULL);
                free(j);
                if (r < 0)
                        return reply_db_error(reply, req->type, c.l.a.user, r);
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                return 0;
        }
        strcpy(j->job.password, password);
        int r = child_pool_run(pool(d), pwhistory_hash_run, &j->job, on_hashed, j);
        if (r < 0) { /* record it anyway, without the hash */
                r = record_change(d, j, NULL);
                acctsec_wipe(j, sizeof(*j));
                free(j);
                if (r < 0)
                        return reply_db_error(reply, req->type, c.l.a.user, r);
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                return 0;
        }
        j->pending = server_defer(d->srv);
        if (!j->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}

/* acctsec account reset-password: a random password that meets the user's
 * policy, set through the system's own password stack (/etc/pam.d/acctsec,
 * pam_unix hashes it), to be changed at the next login; shown once to the
 * admin, or mailed to the user's verified address. */
#define RESET_TIMEOUT_USEC (30 * 1000000ULL)

struct reset_job {
        struct daemon *d;
        struct pending_reply *pending;
        struct passcheck pc;
        char user[USER_NAME_MAX];
        char actor[USER_NAME_MAX + 16];
        char password[PASSWORD_TEMP_LENGTH + 1];
        bool mail;
};

/* 20 characters with each class: about 120 bits, and the policy's rules
 * (user name, dictionary) are checked too; a refusal draws again. */
int password_generate(const struct acctsec_conf *c, const char *user, char out[PASSWORD_TEMP_LENGTH + 1]) {
        static const char upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ", lower[] = "abcdefghijkmnopqrstuvwxyz",
                          digit[] = "23456789", special[] = "-_.:+=%@", all[] =
                                  "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.:+=%@";
        const char *sets[] = { upper, lower, digit, special };
        for (int round = 0; round < 100; round++) {
                for (int i = 0; i < PASSWORD_TEMP_LENGTH; i++) {
                        const char *set = i < 4 ? sets[i] : all;
                        out[i] = set[randombytes_uniform((uint32_t) strlen(set))];
                }
                out[PASSWORD_TEMP_LENGTH] = '\0';
                /* shuffle so the classes are not always in front */
                for (int i = PASSWORD_TEMP_LENGTH - 1; i > 0; i--) {
                        int k = (int) randombytes_uniform((uint32_t) i + 1);
                        char t = out[i];
                        out[i] = out[k];
                        out[k] = t;
                }
                int r = pwpolicy_check(c, user, out, PASSWORD_TEMP_LENGTH, NULL);
                if (r == 0)
                        return 0;
                if (r != -EINVAL)
                        return r;
        }
        return -EAGAIN;
}

static void mail_reset(struct daemon *d, const struct reset_job *j, const char *address) {
        char host[NOTICE_HOST_MAX], when[NOTICE_WHEN_MAX], body[1024];
        notice_stamp(host, when);
        snprintf(body, sizeof(body),
                 "An administrator (%s) reset the password of the account %s on %s.\n\n"
                 "Your temporary password: %s\n\n"
                 "It works for one login: you will be asked to choose a new password\n"
                 "then.  Delete this mail afterwards.\n",
                 j->actor, j->user, host, j->password);
        notice_send(d, j->user, address, "password reset mail", "Your password was reset", body);
        acctsec_wipe(body, sizeof(body));
}

/* Record the reset and how the password travels.  With --mail it is
 * shown to the admin after all when the address went away or
 * mail_max_per_hour was reached while it was being set (handle_reset
 * checked both before): a password nobody knows would lock the user out,
 * and the admin may see it anyway (a reset without --mail). */
static int record_reset(struct daemon *d, struct reset_job *j, struct email_info *e, int64_t now) {
        char capped[160];
        struct event ev[2] = { { .type = EV_PASSWORD_RESET, .user = j->user, .actor = j->actor } };
        int r = account_password_changed_in(&d->store, j->user, now);
        if (r == 0)
                r = account_expire_in(&d->store, j->user, MUST_CHANGE_ADMIN, now);
        if (r == 0 && j->mail)
                r = notice_allowed(d, j->user, "password reset mail", now, e, &ev[1], capped, sizeof(capped));
        if (r < 0)
                return r;
        j->mail = j->mail && r == 1;
        ev[0].detail = j->mail ? "a temporary password, mailed; change required at the next login"
                               : "a temporary password, shown to the admin; change required at the next login";
        ev[1].actor = j->actor;
        return seclog_add_all(&d->store, now, ev, ev[1].user ? 2 : 1);
}

static void on_reset(int r, const char *out, void *userdata) {
        struct reset_job *j = userdata;
        struct daemon *d = j->d;
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        struct email_info e = { 0 };
        int q = r;
        if (r < 0)
                log_error("reset-password for %s: %s", j->user, out);
        if (q == 0)
                q = record_reset(d, j, &e, store_now(&d->store));
        if (q == 0 && j->mail)
                mail_reset(d, j, e.address);
        if (f) {
                if (r < 0)
                        reply_error(f, r, "the password could not be set (see acctsecd's log)");
                else if (q < 0)
                        reply_db_error(f, ACCTSEC_OP_RESET_PASSWORD, j->user, q);
                else {
                        acctsec_frame_init(f, ACCTSEC_REPLY_OK);
                        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, j->user);
                        if (j->mail) {
                                char masked[EMAIL_ADDRESS_MAX + 8];
                                (void) mail_mask(e.address, masked, sizeof(masked));
                                acctsec_frame_add_u64(f, ACCTSEC_TAG_SENT, 1);
                                acctsec_frame_add_str(f, ACCTSEC_TAG_ADDRESS, masked);
                        } else
                                acctsec_frame_add_str(f, ACCTSEC_TAG_PASSWORD, j->password);
                }
                if (j->pending)
                        server_reply(j->pending, f);
                acctsec_frame_wipe(f);
                free(f);
        }
        acctsec_wipe(j, sizeof(*j));
        free(j);
}

int handle_reset_password(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *why = NULL;
        struct principal p = rq->target;
        struct acctsec_conf conf;
        struct email_info e;
        uint64_t mail = rq_u64(rq, ACCTSEC_TAG_FLAG, 0);

        /* An admin group member who could set root's password would be root. */
        if (p.uid == 0 && peer->uid != 0)
                return refuse(d, reply, peer, req->type, "only root may reset root's password");
        if (mail && (email_get(&d->store, p.name, &e) < 0 || !e.address[0]))
                return reply_error(reply, -ENOENT, "the user has no verified mail address: reset without --mail "
                                                   "and hand the password over yourself");
        int64_t wait;
        if (mail && mailcap_check(&d->store, p.name, rq->now, d->policy.global.mail_max_per_hour,
                                  &wait) == -EDQUOT) {
                char msg[256], capped[160];
                mailcap_message(wait, capped, sizeof(capped));
                snprintf(msg, sizeof(msg), "%s Nothing was changed: reset without --mail and hand the password "
                                           "over yourself.", capped);
                return reply_error(reply, -EDQUOT, msg);
        }
        int r = policy_for(&d->policy, &p, PASSCHECK_SERVICE, NULL, &conf, &why);
        if (r < 0)
                return reply_error(reply, r, why);
        struct reset_job *j = calloc(1, sizeof(*j));
        if (!j)
                return reply_error(reply, -ENOMEM, "out of memory");
        j->d = d;
        j->mail = mail != 0;
        snprintf(j->user, sizeof(j->user), "%s", p.name);
        actor_name(peer, j->actor, sizeof(j->actor));
        r = password_generate(&conf, p.name, j->password);
        if (r < 0) {
                free(j);
                return reply_error(reply, r, "cannot make a password that meets the policy (check min_length, "
                                             "max_length and the dictionary)");
        }
        j->pc = (struct passcheck){ .user = j->user, .password = j->password };
        r = child_run_async(d->event, RESET_TIMEOUT_USEC, passset_run, &j->pc, on_reset, j);
        if (r < 0) {
                acctsec_wipe(j, sizeof(*j));
                free(j);
                return reply_error(reply, r, "cannot start the password change");
        }
        j->pending = server_defer(d->srv);
        if (!j->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}
