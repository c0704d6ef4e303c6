/* SPDX-License-Identifier: BSD-3-Clause */
/* Turning the second factor off: DISABLE_CODE mails (or texts) a code for
 * it (emailed or texted codes only), MFA_DISABLE checks the password through PAM in a child, then
 * a current code. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "lockout.h"
#include "log.h"
#include "mfa.h"
#include "passcheck.h"
#include "request.h"
#include "secret.h"
#include "server.h"

#define PASSCHECK_TIMEOUT_USEC (30 * 1000000ULL)

static void copy(char *dst, size_t n, const char *src) {
        snprintf(dst, n, "%s", src ? src : "");
}

/* Whether the user may turn the second factor off at all. */
static int disable_allowed(struct daemon *d, const struct principal *self, const struct acctsec_conf *conf,
                           struct factors *f, struct acctsec_frame *reply) {
        int r = factors_of(d, self->name, f);
        if (r < 0)
                return reply_db_error(reply, ACCTSEC_OP_MFA_DISABLE, self->name, r), 1;
        if (conf->mfa == ACCTSEC_MFA_REQUIRED || f->required)
                return reply_error(reply, -EPERM, "a second factor is required for this account; "
                                                  "only an administrator can change that"), 1;
        if (f->totp != ACCTSEC_MFA_STATE_ACTIVE && !f->email.codes && !f->phone.codes)
                return reply_error(reply, -ENOENT, "no second factor is enabled"), 1;
        return 0;
}

int handle_disable_code(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct factors f;

        if (disable_allowed(d, &rq->target, &rq->conf, &f, reply))
                return 0;
        if (f.totp == ACCTSEC_MFA_STATE_ACTIVE)
                return reply_error(reply, -EINVAL, "use a code from your authenticator app (or a backup code)");
        /* Where the login codes go: the address first, as at login. */
        return mail_new_code(rq, EMAIL_DISABLE, f.email.codes ? f.email.address : f.phone.number, false, NULL);
}

/* MFA_DISABLE: the password is checked through PAM in a child, then the code. */
struct disable_job {
        struct daemon *d;
        struct pending_reply *pending;
        struct passcheck pc;
        char user[USER_NAME_MAX];
        char password[ACCTSEC_STR_MAX + 1];
        char code[64];
        char attempt[EMAIL_ATTEMPT_HEX];
        bool has_attempt;
};

static void disable_job_free(struct disable_job *j) {
        acctsec_wipe(j, sizeof(*j));
        free(j);
}

static bool code_refused(int r) {
        return r == -EACCES || r == -EALREADY || r == -ETIME || r == -ENOENT;
}

/* Answer a disable request once the password check ended: a wrong password
 * or code counts toward the lockout, and neither says which was wrong. */
static void disable_finish(struct disable_job *j, int r, const char *err, struct acctsec_frame *f) {
        struct daemon *d = j->d;
        struct principal p;
        struct acctsec_conf conf;
        struct lock_result res;
        const char *why = NULL;
        int64_t now = store_now(&d->store);

        int q = user_by_name(j->user, &p);
        if (q == 0)
                q = policy_for(&d->policy, &p, PASSCHECK_SERVICE, NULL, &conf, &why);
        if (q < 0) {
                reply_error(f, q, "user lookup failed");
                return;
        }
        if (r < 0 && r != -EACCES) {
                log_error("password check for %s through PAM service %s failed: %s", j->user, PASSCHECK_SERVICE, err);
                reply_error(f, r, "the password could not be checked (see acctsecd's log)");
                return;
        }
        if (r == 0)
                q = mfa_disable(&d->mfa, j->user, j->has_attempt ? j->attempt : NULL, j->code, conf.totp_window, now);
        if (r == -EACCES)
                log_notice("mfa disable for %s: the password was refused (%s)", j->user, err);
        if (r == -EACCES || code_refused(q)) {
                struct attempt a = { .user = j->user, .service = PASSCHECK_SERVICE, .known = true,
                                     .root = p.uid == 0, .conf = &conf, .factor = r == 0 ? "code" : NULL,
                                     .refusal = r == 0 ? "mfa disable: code refused" : NULL };
                (void) lockout_fail(&d->store, &a, now, &res);
                reply_error(f, -EKEYREJECTED, "wrong password or code; nothing was changed");
                return;
        }
        if (q < 0) {
                reply_db_error(f, ACCTSEC_OP_MFA_DISABLE, j->user, q);
                return;
        }
        acctsec_frame_init(f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, j->user);
}

static void on_password_checked(int r, const char *err, void *userdata) {
        struct disable_job *j = userdata;
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        if (f) {
                disable_finish(j, r, err, f);
                if (j->pending)
                        server_reply(j->pending, f);
                free(f);
        } else if (j->pending) {
                struct acctsec_frame tiny;
                reply_error(&tiny, -ENOMEM, "out of memory");
                server_reply(j->pending, &tiny);
        }
        disable_job_free(j);
}

int handle_mfa_disable(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *password = rq_str(rq, ACCTSEC_TAG_PASSWORD), *code = rq_str(rq, ACCTSEC_TAG_CODE);
        const char *attempt = rq_str(rq, ACCTSEC_TAG_ATTEMPT);
        const struct principal self = rq->target;
        struct factors f;
        struct lock_result res;

        if (disable_allowed(d, &self, &rq->conf, &f, reply))
                return 0;
        struct attempt a = { .user = self.name, .service = PASSCHECK_SERVICE, .known = true, .root = self.uid == 0,
                             .conf = &rq->conf };
        int r = lockout_check(&d->store, &a, rq->now, &res);
        if (r < 0)
                return reply_db_error(reply, req->type, self.name, r);
        if (res.locked)
                return reply_error(reply, -EKEYREJECTED, "wrong password or code; nothing was changed");
        struct disable_job *j = calloc(1, sizeof(*j));
        if (!j || strlen(code) >= sizeof(j->code) || (attempt && strlen(attempt) >= sizeof(j->attempt))) {
                free(j);
                return reply_error(reply, j ? -EINVAL : -ENOMEM, j ? "malformed code" : "out of memory");
        }
        j->d = d;
        copy(j->user, sizeof(j->user), self.name);
        copy(j->password, sizeof(j->password), password);
        copy(j->code, sizeof(j->code), code);
        if (attempt) {
                copy(j->attempt, sizeof(j->attempt), attempt);
                j->has_attempt = true;
        }
        j->pc = (struct passcheck){ .user = j->user, .password = j->password };
        r = child_run_async(d->event, PASSCHECK_TIMEOUT_USEC, passcheck_run, &j->pc, on_password_checked, j);
        if (r < 0) {
                disable_job_free(j);
                return reply_error(reply, r, "cannot start the password check");
        }
        /* The child has its copy; ours is needed only for the code. */
        acctsec_wipe(j->password, sizeof(j->password));
        j->pending = server_defer(d->srv);
        if (!j->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}
