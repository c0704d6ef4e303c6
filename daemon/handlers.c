/* SPDX-License-Identifier: BSD-3-Clause */
/* Requests: who may do what is decided here, from SO_PEERCRED only. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "handlers.h"
#include "account.h"
#include "allowlist.h"
#include "lockout.h"
#include "notify.h"
#include "ratelimit.h"
#include "log.h"
#include "txn.h"
#include "users.h"

#define LIST_MAX 500 /* records in one reply (and what fits in a frame); the rest is counted */

int reply_error(struct acctsec_frame *reply, int negative_errno, const char *message) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_ERROR);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_ERRNO, (uint64_t) -negative_errno);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, message);
        return 0;
}

/* Refusals go to the security log too (request_refused), at most
 * REFUSED_EVENTS_PER_MIN per uid a minute: a local user looping on a
 * forbidden request fills the journal's rate limit, not the database. */
#define REFUSED_EVENTS_PER_MIN 10
#define REFUSED_SLOTS 64
static bool refused_event_allowed(uid_t uid, int64_t now) {
        static struct {
                uid_t uid;
                int64_t minute;
                unsigned n;
        } slots[REFUSED_SLOTS];
        size_t i = uid % REFUSED_SLOTS; /* a collision only shares a budget */
        if (slots[i].uid != uid || slots[i].minute != now / 60)
                slots[i].uid = uid, slots[i].minute = now / 60, slots[i].n = 0;
        return slots[i].n++ < REFUSED_EVENTS_PER_MIN;
}

int refuse(struct daemon *d, struct acctsec_frame *reply, const struct ucred *peer, uint8_t op, const char *why) {
        char actor[USER_NAME_MAX + 16], detail[256];
        int64_t now = (int64_t) time(NULL);

        log_warning("refused %s from uid %u (pid %d): %s", acctsec_op_name(op), (unsigned) peer->uid,
                    (int) peer->pid, why);
        if (refused_event_allowed(peer->uid, now)) {
                actor_name(peer, actor, sizeof(actor));
                snprintf(detail, sizeof(detail), "%s: %s", acctsec_op_name(op), why);
                struct event ev = { .type = EV_REQUEST_REFUSED, .user = actor, .detail = detail };
                (void) seclog_add(&d->store, now, &ev);
        }
        return reply_error(reply, -EPERM, why);
}

/* A string field: absent is fine unless required; present must be clean text. */
int get_str(const struct acctsec_msg *m, uint8_t tag, bool required, const char **ret) {
        *ret = NULL;
        for (size_t i = 0; i < m->nfields; i++)
                if (m->f[i].tag == tag) {
                        if (!acctsec_field_is_string(&m->f[i]))
                                return -EINVAL;
                        *ret = m->f[i].val;
                        return 0;
                }
        return required ? -EINVAL : 0;
}

uint64_t wire_until(int64_t locked_until) {
        return locked_until == LOCKED_FOREVER ? ACCTSEC_LOCKED_FOREVER : (uint64_t) locked_until;
}

int login_prologue(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, struct login *l,
                   struct acctsec_frame *reply) {
        struct attempt *a = &l->a;
        const char *overrides, *why = NULL;
        uint8_t op = req->type;

        memset(l, 0, sizeof(*l));
        if (get_str(req, ACCTSEC_TAG_USER, true, &a->user) < 0 || get_str(req, ACCTSEC_TAG_SERVICE, false, &a->service) < 0 ||
            get_str(req, ACCTSEC_TAG_RHOST, false, &a->rhost) < 0 || get_str(req, ACCTSEC_TAG_TTY, false, &a->tty) < 0 ||
            get_str(req, ACCTSEC_TAG_CONF, false, &overrides) < 0)
                return reply_error(reply, -EINVAL, "missing or malformed field"), 1;
        int r = user_by_name(a->user, &l->p);
        if (r < 0 && r != -ENOENT) /* NSS is down: do not guess */
                return reply_error(reply, r, "user lookup failed"), 1;
        a->known = r == 0;
        a->root = a->known && l->p.uid == 0;
        a->privileged = peer->uid == 0;
        /* A screen locker runs as the user: it may ask about that user only. */
        if (!a->privileged && (!a->known || l->p.uid != peer->uid))
                return refuse(d, reply, peer, op, "you may only ask about your own account"), 1;
        if (overrides && !a->privileged) {
                log_notice("ignoring policy arguments from unprivileged uid %u", (unsigned) peer->uid);
                overrides = NULL;
        }
        r = policy_for(&d->policy, a->known ? &l->p : NULL, a->service, overrides, &l->conf, &why);
        if (r < 0)
                return reply_error(reply, r, why), 1;
        a->conf = &l->conf;
        return 0;
}

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
        /* An unknown change time (0) never expires: acctsec cannot tell. */
        bool expired = l->conf.max_password_age > 0 && info.changed > 0 &&
                       now - info.changed >= (int64_t) l->conf.max_password_age;
        if (info.must_change || expired)
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_MUST_CHANGE, info.must_change ? 1 : 2);
        return 0;
}

static int handle_login(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                        struct acctsec_frame *reply) {
        struct login l;
        struct attempt *a = &l.a;
        struct lock_result res;
        int64_t now = (int64_t) time(NULL);
        uint8_t op = req->type;
        int r;

        if (login_prologue(d, peer, req, &l, reply))
                return 0;
        if (op == ACCTSEC_OP_AUTHFAIL)
                r = lockout_fail(&d->store, a, now, &res);
        else if (op == ACCTSEC_OP_AUTHSUCC)
                r = lockout_success(&d->store, a, now, &res);
        else if (op == ACCTSEC_OP_ACCOUNT && !l.conf.account_lock)
                r = 0, res = (struct lock_result){ 0 }; /* not a login (cron): a lock does not stop it */
        else
                r = lockout_check(&d->store, a, now, &res);
        if (r < 0)
                return reply_db_error(reply, op, a->user, r);
        /* The allowlist, in preauth and in account (public keys skip auth). */
        if ((op == ACCTSEC_OP_PREAUTH || op == ACCTSEC_OP_ACCOUNT) && !res.locked) {
                bool allowed = false;
                r = allowlist_check(&d->store, &l.conf, a->user, a->rhost, &allowed);
                if (r < 0)
                        return reply_db_error(reply, op, a->user, r);
                if (!allowed)
                        return deny_network(d, &l, now, reply);
        }
        reply_decision(reply, &l.conf, &res);
        if (op == ACCTSEC_OP_ACCOUNT && !res.locked && a->known)
                return account_phase(d, &l, now, reply);
        return 0;
}

int reply_db_error(struct acctsec_frame *reply, uint8_t op, const char *user, int r) {
        log_error("%s for %s failed: %s", acctsec_op_name(op), user, strerror(-r));
        return reply_error(reply, r, "database error");
}

void reply_decision(struct acctsec_frame *reply, const struct acctsec_conf *conf, const struct lock_result *res) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, res->locked ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        if (res->locked && conf->lock_message)
                acctsec_frame_add_u64(reply, ACCTSEC_TAG_LOCKED_UNTIL, wire_until(res->locked_until));
}

/* The user a CLI request is about: --user, or the caller itself. */
int target_of(const struct acctsec_msg *req, const struct ucred *peer, struct principal *ret) {
        const char *user;
        if (get_str(req, ACCTSEC_TAG_USER, false, &user) < 0)
                return -EINVAL;
        return user ? user_by_name(user, ret) : user_by_uid(peer->uid, ret);
}

bool may_read(const struct daemon *d, const struct ucred *peer, uid_t target) {
        return peer->uid == target || role_of(peer->uid, &d->policy.global) >= ROLE_AUDITOR;
}

int readable_target(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req, struct principal *p,
                    struct acctsec_conf *conf, struct acctsec_frame *reply) {
        static const char others[] = "only admins and auditors may see other users";
        const char *why;
        int r = target_of(req, peer, p);
        /* Non-readers get the same answer for unknown users and others' accounts. */
        if (r == -ENOENT)
                return may_read(d, peer, (uid_t) -1) ? reply_error(reply, r, "no such user")
                                                     : refuse(d, reply, peer, req->type, others), 1;
        if (r < 0)
                return reply_error(reply, r, "user lookup failed"), 1;
        if (!may_read(d, peer, p->uid))
                return refuse(d, reply, peer, req->type, others), 1;
        r = policy_for(&d->policy, p, NULL, NULL, conf, &why);
        if (r < 0)
                return reply_error(reply, r, why), 1;
        return 0;
}

struct status_sum {
        int64_t failures, last_failure, locked_until;
        int64_t now;
};

static int sum_tally(const char *user, const struct tally *t, void *ud) {
        struct status_sum *s = ud;
        s->failures += t->failures;
        if (t->last_failure > s->last_failure)
                s->last_failure = t->last_failure;
        if (tally_is_locked(t, s->now) && s->locked_until != LOCKED_FOREVER &&
            (t->locked_until == LOCKED_FOREVER || t->locked_until > s->locked_until))
                s->locked_until = t->locked_until;
        return 0;
}

/* What acctsec status adds to the lockout: account, password, second factor. */
static int add_account_status(struct daemon *d, const struct principal *p, const struct acctsec_conf *conf,
                              struct acctsec_frame *reply) {
        struct account_info info;
        struct factors f;
        bool notify = true;
        int r = account_get(&d->store, p->name, &info);
        if (r == 0)
                r = factors_of(d, p->name, &f);
        if (r == 0)
                r = notify_pref(&d->store, p->name, &notify);
        if (r < 0)
                return reply_db_error(reply, ACCTSEC_OP_STATUS, p->name, r);
        enum acctsec_mfa policy = f.required && conf->mfa == ACCTSEC_MFA_OPTIONAL ? ACCTSEC_MFA_REQUIRED : conf->mfa;
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DISABLED, (uint64_t) info.disabled);
        if (info.disabled)
                acctsec_frame_add_str(reply, ACCTSEC_TAG_ACTOR, info.disabled_by);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MUST_CHANGE, info.must_change);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_CHANGED, (uint64_t) info.changed);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_MFA, f.totp);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, f.email.codes);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_POLICY, acctsec_mfa_name(policy));
        /* 1 on; 0 the user turned them off; 2 notify_new_source = no; 3 on, but no verified address */
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_NOTIFY,
                              !conf->notify_new_source ? 2 : !notify ? 0 : f.email.address[0] ? 1 : 3);
        return 0;
}

static int handle_status(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        struct principal p;
        struct acctsec_conf conf;
        struct status_sum sum = { .now = (int64_t) time(NULL) };

        if (readable_target(d, peer, req, &p, &conf, reply))
                return 0;
        int r;
        r = lockout_list(&d->store, p.name, sum_tally, &sum);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p.name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_UID, p.uid);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_ROLE, role_name(role_of(p.uid, &d->policy.global)));
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FAILURES, (uint64_t) sum.failures);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_LAST_FAILURE, (uint64_t) sum.last_failure);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_LOCKED_UNTIL, wire_until(sum.locked_until));
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DENY, conf.deny);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, sum.locked_until ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        return add_account_status(d, &p, &conf, reply);
}

struct list_ctx {
        struct acctsec_frame *reply;
        int64_t now;
        uint64_t n;
};

static int add_tally(const char *user, const struct tally *t, void *ud) {
        struct list_ctx *c = ud;
        /* One record is at most ~600 bytes: stop while it surely fits. */
        if (c->n++ >= LIST_MAX || c->reply->len > ACCTSEC_FRAME_MAX - 1024)
                return 0;
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_RECORD, c->n);
        acctsec_frame_add_str(c->reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_str(c->reply, ACCTSEC_TAG_SOURCE, t->source);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_FAILURES, (uint64_t) t->failures);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_LAST_FAILURE, (uint64_t) t->last_failure);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_LOCKED_UNTIL,
                              tally_is_locked(t, c->now) ? wire_until(t->locked_until) : 0);
        return 0;
}

static int count_tally(const char *user, const struct tally *t, void *ud) {
        ((struct list_ctx *) ud)->n++;
        return 0;
}

static int handle_lockout_show(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                               struct acctsec_frame *reply) {
        const char *user;
        struct principal self;
        struct list_ctx c = { .reply = reply, .now = (int64_t) time(NULL) };

        if (get_str(req, ACCTSEC_TAG_USER, false, &user) < 0)
                return reply_error(reply, -EINVAL, "malformed user");
        bool reader = role_of(peer->uid, &d->policy.global) >= ROLE_AUDITOR;
        if (!reader) {
                /* Everyone else sees only their own tallies. */
                if (user_by_uid(peer->uid, &self) < 0)
                        return refuse(d, reply, peer, req->type, "unknown caller");
                if (user && strcmp(user, self.name) != 0)
                        return refuse(d, reply, peer, req->type, "only admins and auditors may see other users");
                user = self.name;
        }
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        int r = lockout_list(&d->store, user, add_tally, &c);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, c.n);
        return 0;
}

static int handle_lockout_reset(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                                struct acctsec_frame *reply) {
        const char *user;
        struct principal target;
        char actor[USER_NAME_MAX + 16];
        int removed = 0;
        bool was_locked = false;

        if (get_str(req, ACCTSEC_TAG_USER, true, &user) < 0)
                return reply_error(reply, -EINVAL, "lockout reset needs a user");
        if (role_of(peer->uid, &d->policy.global) != ROLE_ADMIN)
                return refuse(d, reply, peer, req->type, "only admins may unlock users");
        actor_name(peer, actor, sizeof(actor));
        /* A user that no longer exists may still have a tally to clear. */
        if (user_by_name(user, &target) == -ENOENT) {
                struct list_ctx c = { .reply = NULL };
                if (lockout_list(&d->store, user, count_tally, &c) < 0 || c.n == 0)
                        return reply_error(reply, -ENOENT, "no such user");
        }
        int r = lockout_reset(&d->store, user, actor, (int64_t) time(NULL), &removed, &was_locked);
        if (r < 0)
                return reply_error(reply, r, "database error");
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) removed);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_DECISION, was_locked ? ACCTSEC_DENY_LOCKED : ACCTSEC_ALLOW);
        return 0;
}

void actor_name(const struct ucred *peer, char *buf, size_t n) {
        struct principal p;
        if (user_by_uid(peer->uid, &p) == 0)
                snprintf(buf, n, "%s", p.name);
        else
                snprintf(buf, n, "uid=%u", (unsigned) peer->uid);
}

/* RELOAD: what SIGHUP does, with the outcome as the answer, so that
 * "systemctl reload acctsecd" (ExecReload=acctsecd --reload) waits for the
 * file to be read and fails when it has an error. */
static int handle_reload(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                         struct acctsec_frame *reply) {
        char why[512];
        if (peer->uid != 0)
                return refuse(d, reply, peer, req->type, "only root reloads the configuration");
        int r = policy_reload(&d->policy, why, sizeof(why));
        if (r < 0)
                return reply_error(reply, r, why);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, d->policy.path);
        return 0;
}

static int dispatch(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                    struct acctsec_frame *reply) {
        /* Admins (admin_group) are trusted like root: a bulk unlock script must not stall. */
        if (!ratelimit_allow(peer->uid, req, (int64_t) time(NULL)) &&
            role_of(peer->uid, &d->policy.global) != ROLE_ADMIN) {
                log_warning("refused %s from uid %u (pid %d): over %u requests a minute", acctsec_op_name(req->type),
                            (unsigned) peer->uid, (int) peer->pid, USER_WRITES_PER_MIN);
                return reply_error(reply, -EAGAIN, "too many requests: try again in a minute");
        }
        switch (req->type) {
        case ACCTSEC_OP_PING:
                acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
                acctsec_frame_add_str(reply, ACCTSEC_TAG_MESSAGE, PACKAGE_STRING);
                return 0;
        case ACCTSEC_OP_PREAUTH:
        case ACCTSEC_OP_AUTHFAIL:
        case ACCTSEC_OP_AUTHSUCC:
        case ACCTSEC_OP_ACCOUNT:
                return handle_login(d, peer, req, reply);
        case ACCTSEC_OP_STATUS:
                return handle_status(d, peer, req, reply);
        case ACCTSEC_OP_LOCKOUT_SHOW:
                return handle_lockout_show(d, peer, req, reply);
        case ACCTSEC_OP_LOCKOUT_RESET:
                return handle_lockout_reset(d, peer, req, reply);
        case ACCTSEC_OP_MFA_BEGIN:
        case ACCTSEC_OP_MFA_VERIFY:
        case ACCTSEC_OP_TOTP_ENROLL:
        case ACCTSEC_OP_TOTP_CONFIRM:
        case ACCTSEC_OP_MFA_STATUS:
        case ACCTSEC_OP_MFA_RESET:
        case ACCTSEC_OP_BACKUP_GENERATE:
        case ACCTSEC_OP_BACKUP_STATUS:
        case ACCTSEC_OP_MFA_REQUIRE:
                return handle_mfa_request(d, peer, req, reply);
        case ACCTSEC_OP_CODE_SEND:
        case ACCTSEC_OP_EMAIL_SET:
        case ACCTSEC_OP_EMAIL_VERIFY:
        case ACCTSEC_OP_EMAIL_CODES:
        case ACCTSEC_OP_MFA_DISABLE:
        case ACCTSEC_OP_DISABLE_CODE:
                return handle_email_request(d, peer, req, reply);
        case ACCTSEC_OP_ACCOUNT_DISABLE:
        case ACCTSEC_OP_ACCOUNT_ENABLE:
        case ACCTSEC_OP_EXPIRE_PASSWORD:
                return handle_account_request(d, peer, req, reply);
        case ACCTSEC_OP_PASSWORD_COMMIT:
        case ACCTSEC_OP_PASSWORD_POLICY:
        case ACCTSEC_OP_PASSWORD_CHECK:
        case ACCTSEC_OP_RESET_PASSWORD:
                return handle_password_request(d, peer, req, reply);
        case ACCTSEC_OP_TOKEN_CREATE:
        case ACCTSEC_OP_TOKEN_LIST:
        case ACCTSEC_OP_TOKEN_REVOKE:
        case ACCTSEC_OP_TOKEN_AUTH:
        case ACCTSEC_OP_ALLOWLIST_ADD:
        case ACCTSEC_OP_ALLOWLIST_REMOVE:
        case ACCTSEC_OP_ALLOWLIST_LIST:
                return handle_token_request(d, peer, req, reply);
        case ACCTSEC_OP_SESSION_OPEN:
        case ACCTSEC_OP_SESSION_CLOSE:
        case ACCTSEC_OP_SESSION_LIST:
        case ACCTSEC_OP_SESSION_TERMINATE:
        case ACCTSEC_OP_NOTIFY_SET:
                return handle_session_request(d, peer, req, reply);
        case ACCTSEC_OP_LOG_SHOW:
        case ACCTSEC_OP_LOG_EXPORT:
                return handle_log_request(d, peer, req, reply);
        case ACCTSEC_OP_RELOAD:
                return handle_reload(d, peer, req, reply);
        default:
                reply_error(reply, -EOPNOTSUPP, "unknown request type");
                return -EOPNOTSUPP;
        }
}

/* One transaction per request: what the handler wrote commits when it
 * returns (an error reply included: a wrong code is counted), and rolls back
 * when a write failed; a reply never says "done" of what did not commit. */
int handle_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                   struct acctsec_frame *reply) {
        txn_begin(&d->store);
        int r = dispatch(d, peer, req, reply);
        int c = txn_end(&d->store, r >= 0);
        if (c < 0 && r != HANDLE_DEFERRED)
                reply_db_error(reply, req->type, "the request", c);
        else if (c < 0)
                log_error("%s: the transaction before the deferred reply failed: %s", acctsec_op_name(req->type),
                          strerror(-c));
        return r;
}
