/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions (SESSION_OPEN/CLOSE from the module's session phase, LIST and
 * TERMINATE from the CLI) and new-source login notifications. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-login.h>
#include <time.h>

#include "email.h"
#include "handlers.h"
#include "request.h"
#include "location.h"
#include "log.h"
#include "mail.h"
#include "mailcap.h"
#include "notify.h"
#include "procs.h"
#include "relief.h"
#include "seclog.h"
#include "sessions.h"
#include "terminate.h"

#define TERMINATE_TIMEOUT_USEC (15 * 1000000ULL) /* logind's grace, ours, SIGKILL: about 8 s */
#define LIST_ROOM 1024                           /* bytes kept free in a list reply for the count */
#define LIST_FIELDS 15                           /* per session record: RECORD and 14 fields */
/* A reply's fields are capped (ACCTSEC_FIELDS_MAX): records that fit, and COUNT. */
#define LIST_RECORDS_MAX ((ACCTSEC_FIELDS_MAX - 1) / LIST_FIELDS)

/* The caller and its ancestors, each as (pid, start time), and its logind
 * session: a session is the caller's own when its leader is one of them. */
struct lineage {
        size_t n;
        struct proc p[PROTECT_MAX];
        char logind[LOGIND_ID_MAX];
};

static void logind_of(pid_t pid, char *buf, size_t n) {
        char *s = NULL;
        buf[0] = '\0';
        if (sd_pid_get_session(pid, &s) >= 0 && strlen(s) < n)
                strcpy(buf, s);
        free(s);
}

/* The session's logind session: as recorded, or, when the record has none
 * (pam_systemd runs after pam_acctsec.so in the session stack, so the
 * logind session did not exist yet when the session was recorded), the
 * one its leader is in now.  BUF holds the looked-up id; "" when there is
 * none (the leader is gone, or not in a logind session: systemd --user).
 * *FOUND (when not NULL): whether one was looked up, and is worth recording. */
static const char *logind_known(const struct session *s, char *buf, size_t n, bool *found) {
        buf[0] = '\0';
        if (!s->logind[0] && proc_alive(s->pid, s->pid_start))
                logind_of(s->pid, buf, n);
        if (found)
                *found = buf[0] != '\0';
        return s->logind[0] ? s->logind : buf;
}

static void lineage_of(pid_t pid, struct lineage *l) {
        l->n = 0;
        logind_of(pid, l->logind, sizeof(l->logind));
        while (pid > 1 && l->n < PROTECT_MAX && proc_read(pid, &l->p[l->n]) == 0)
                pid = l->p[l->n++].ppid;
}

static bool in_lineage(const struct lineage *l, const struct session *s) {
        for (size_t i = 0; i < l->n; i++)
                if (l->p[i].pid == s->pid && l->p[i].start == s->pid_start)
                        return true;
        return l->logind[0] && s->logind[0] && strcmp(l->logind, s->logind) == 0;
}

/* A login from a source or a country not seen before, decided inside the
 * caller's transaction: whether to mail the user (to e.address; one mail
 * for both), and the new_source_login and new_location_login details that
 * say so or why not. */
struct new_source {
        struct email_info e;
        bool fresh;        /* a new source */
        bool new_location; /* a new country, after another one */
        bool mail;
        bool capped; /* mail_max_per_hour stopped it: a mail_capped event too */
        char masked[EMAIL_ADDRESS_MAX], news[320], location_news[320], capped_detail[160];
};

static int new_source_in(struct daemon *d, const struct session *s, const struct acctsec_conf *conf,
                         const char *key, int64_t now, struct new_source *ns) {
        const char *user = s->user;
        bool on = true;
        int64_t wait;
        int r = notify_pref(&d->store, user, &on);
        if (r == 0)
                r = email_get(&d->store, user, &ns->e);
        ns->mail = r == 0 && conf->notify_new_source && on && ns->e.address[0];
        if (ns->mail) {
                r = mailcap_take(&d->store, user, now, d->policy.global.mail_max_per_hour, &wait);
                ns->capped = r == -EDQUOT;
                ns->mail = r == 0;
                if (ns->capped)
                        r = 0;
        }
        if (r < 0)
                return r;
        if (ns->mail && mail_mask(ns->e.address, ns->masked, sizeof(ns->masked)) < 0)
                strcpy(ns->masked, "the verified address");
        const char *why = ns->capped                          ? "too many mails in the last hour (mail_max_per_hour)"
                          : !conf->notify_new_source || !on ? "notifications are off"
                                                            : "no verified address";
        const char *said = ns->mail ? "notified " : "not notified: ", *whom = ns->mail ? ns->masked : why;
        snprintf(ns->news, sizeof(ns->news), "%s%s%s%s", key[0] ? key : "", key[0] ? ": " : "", said, whom);
        char where[GEOIP_NAME_MAX + 8];
        geoip_format(where, sizeof(where), s->country, s->city);
        snprintf(ns->location_news, sizeof(ns->location_news), "%s: %s%s", where, said, whom);
        return 0;
}

/* The session s (started now), the source it came from, and their events:
 * whether to mail the user is decided in ns. */
static int record_open(struct daemon *d, const struct session *s, const struct acctsec_conf *conf, const char *key,
                       struct new_source *ns, int64_t *ret_id) {
        char opened[128];
        int64_t now = s->started;
        int r = sessions_insert(&d->store, s, ret_id);
        if (r == 0 && s->rhost && *s->rhost)
                r = notify_learn_source_in(&d->store, s->user, s->rhost, key, now, &ns->fresh);
        if (r == 0 && s->country[0])
                r = notify_learn_country_in(&d->store, s->user, s->country, now, &ns->new_location);
        if (r == 0 && (ns->fresh || ns->new_location))
                r = new_source_in(d, s, conf, key, now, ns);
        if (r < 0)
                return r;
        struct event ev[4], base = { .user = s->user, .service = s->service, .rhost = s->rhost, .tty = s->tty,
                                     .country = s->country, .city = s->city };
        size_t n = 0;
        ev[n] = base, ev[n].type = EV_SESSION_OPENED, ev[n++].detail = opened;
        if (ns->fresh)
                ev[n] = base, ev[n].type = EV_NEW_SOURCE, ev[n++].detail = ns->news;
        if (ns->new_location)
                ev[n] = base, ev[n].type = EV_NEW_LOCATION, ev[n++].detail = ns->location_news;
        if (ns->capped) {
                const char *what = ns->new_location ? "new-location login notice" : "new-source login notice";
                ev[n] = mailcap_event(s->user, what, d->policy.global.mail_max_per_hour, ns->capped_detail,
                                      sizeof(ns->capped_detail));
                ev[n].service = s->service, ev[n].rhost = s->rhost, ev[n].tty = s->tty;
                ev[n].country = s->country, ev[n++].city = s->city;
        }
        snprintf(opened, sizeof(opened), "session %lld%s%s", (long long) *ret_id, key[0] ? ", key " : "", key);
        return seclog_add_all(&d->store, now, ev, n);
}

int handle_session_open(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *user = rq_str(rq, ACCTSEC_TAG_USER), *service = rq_str(rq, ACCTSEC_TAG_SERVICE);
        const char *tty = rq_str(rq, ACCTSEC_TAG_TTY), *rhost = rq_str(rq, ACCTSEC_TAG_RHOST);
        const char *info = rq_str(rq, ACCTSEC_TAG_AUTH_INFO), *why = NULL;
        struct principal p;
        struct acctsec_conf conf;
        struct proc leader;
        struct new_source ns = { 0 };
        struct geoip_location where;
        char key[SSH_FINGERPRINT_MAX] = "", logind[LOGIND_ID_MAX];
        int64_t now = rq->now, id = 0;

        int r = user_by_name(user, &p);
        if (r < 0)
                return reply_error(reply, r, r == -ENOENT ? "no such user" : "user lookup failed");
        r = proc_read(peer->pid, &leader);
        if (r < 0)
                return reply_error(reply, r, "cannot read the calling process in /proc");
        r = policy_for(&d->policy, &p, service, NULL, &conf, &why);
        if (r < 0)
                return reply_error(reply, r, why);
        logind_of(peer->pid, logind, sizeof(logind));
        if (info && ssh_key_fingerprint(info, key, sizeof(key)) < 0) {
                log_notice("session of %s: SSH_AUTH_INFO_0 holds no public key this daemon can read", user);
                key[0] = '\0';
        }
        bool located = rhost && location_of(rhost, &where);
        if (!located)
                memset(&where, 0, sizeof(where));
        struct session s = { .user = p.name, .service = service, .tty = tty, .rhost = rhost, .logind = logind,
                             .pid = peer->pid, .pid_start = leader.start, .started = now,
                             .country = where.country, .city = where.city };
        r = record_open(d, &s, &conf, key, &ns, &id);
        if (r < 0)
                return reply_db_error(reply, req->type, p.name, r);
        if (ns.mail)
                notify_send(d, &(struct new_login){ .user = p.name, .address = ns.e.address, .service = service,
                                                    .rhost = rhost, .key = key[0] ? key : NULL,
                                                    .where = located ? &where : NULL,
                                                    .new_location = ns.new_location, .when = now });
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_SESSION, (uint64_t) id);
        return 0;
}

int handle_session_close(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *user = rq_str(rq, ACCTSEC_TAG_USER);
        struct proc leader = { 0 };
        struct session s = { 0 };
        uint64_t id = rq_u64(rq, ACCTSEC_TAG_SESSION, 0);
        char detail[64];
        int64_t now = rq->now;

        if (id > INT64_MAX)
                return reply_error(reply, -EINVAL, "missing or malformed field");
        (void) proc_read(peer->pid, &leader); /* without it, only the id can match */
        int64_t sid = (int64_t) id;
        /* 0: already ended (terminated, or found gone) */
        int r = sessions_end(&d->store, &sid, user, peer->pid, leader.start, now, SESSION_REASON_CLOSED, &s);
        if (r == 1) {
                snprintf(detail, sizeof(detail), "session %lld", (long long) sid);
                struct event ev = { .type = EV_SESSION_CLOSED, .user = s.user, .service = s.service, .rhost = s.rhost,
                                    .tty = s.tty, .detail = detail, .country = s.country, .city = s.city };
                r = seclog_add(&d->store, now, &ev);
                r = r < 0 ? r : 1;
                session_free(&s);
        }
        if (r < 0)
                return reply_db_error(reply, req->type, user, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) r);
        return 0;
}

/* Last activity: the later of what was recorded and the last input on
 * the session's terminal (its atime, as w(1) reads idle time). */
static int64_t activity(const struct session *s, const char *terminal) {
        const char *t = s->tty;
        char path[64];
        struct stat st;
        if (strncmp(t, "/dev/", 5) == 0)
                t += 5;
        /* Only "pts/N" and "ttyN": PAM_TTY is the application's word. */
        const char *num = strncmp(t, "pts/", 4) == 0 ? t + 4 : strncmp(t, "tty", 3) == 0 ? t + 3 : NULL;
        bool device = num && *num && strlen(num) < 8 && strspn(num, "0123456789") == strlen(num);
        if (!device)
                t = terminal;
        if (!t || !*t || snprintf(path, sizeof(path), "/dev/%s", t) >= (int) sizeof(path) || stat(path, &st) < 0)
                return s->last_active;
        return st.st_atime > s->last_active ? (int64_t) st.st_atime : s->last_active;
}

struct list_ctx {
        struct acctsec_frame *reply;
        const struct lineage *me;
        struct proc_table procs;
        uint64_t total, shown;
        /* found while listing, written after (no writes while a select runs) */
        size_t nfix;
        struct {
                int64_t id;
                char logind[LOGIND_ID_MAX];
                bool current;
        } fix[64];
};

/* Room for one more session in the reply: 1, or 0 (counted only). */
static int room(struct list_ctx *c) {
        c->total++;
        if (c->shown == LIST_RECORDS_MAX || c->reply->len > ACCTSEC_FRAME_MAX - LIST_ROOM)
                return 0;
        c->shown++;
        return 1;
}

static void add_common(struct acctsec_frame *f, const struct session *x) {
        acctsec_frame_add_u64(f, ACCTSEC_TAG_RECORD, 0);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_SESSION, (uint64_t) x->id);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, x->user);
        acctsec_frame_add_str(f, ACCTSEC_TAG_SERVICE, x->service);
        acctsec_frame_add_str(f, ACCTSEC_TAG_TTY, x->tty);
        acctsec_frame_add_str(f, ACCTSEC_TAG_RHOST, x->rhost);
        acctsec_frame_add_str(f, ACCTSEC_TAG_LOGIND, x->logind);
        acctsec_frame_add_str(f, ACCTSEC_TAG_COUNTRY, x->country);
        acctsec_frame_add_str(f, ACCTSEC_TAG_CITY, x->city);
        if (x->host[0])
                acctsec_frame_add_str(f, ACCTSEC_TAG_HOST, x->host);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_PID, (uint64_t) x->pid);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_CREATED, (uint64_t) x->started);
}

static int add_remote_session(struct list_ctx *c, const struct session *s) {
        if (!room(c))
                return 0;
        add_common(c->reply, s);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_LAST_USED, (uint64_t) s->last_active);
        acctsec_frame_add_u64(c->reply, ACCTSEC_TAG_CURRENT, 0);
        return 0;
}

static int add_session(const struct session *s, void *userdata) {
        struct list_ctx *c = userdata;
        struct session x = *s;
        char logind[LOGIND_ID_MAX], terminal[32] = "";
        unsigned tty_nr;
        bool found;

        if (!s->local) /* a fleet's other host: nothing of it is here to look at */
                return add_remote_session(c, s);
        x.logind = logind_known(s, logind, sizeof(logind), &found);
        bool current = in_lineage(c->me, &x);
        if ((found || current) && c->nfix < ARRAY_SIZE(c->fix)) {
                c->fix[c->nfix].id = x.id;
                strcpy(c->fix[c->nfix].logind, logind);
                c->fix[c->nfix++].current = current;
        }
        if (!room(c))
                return 0;
        if (proc_terminal(&c->procs, x.pid, &tty_nr))
                (void) proc_tty_name(tty_nr, terminal, sizeof(terminal));
        struct acctsec_frame *f = c->reply;
        add_common(f, &x);
        acctsec_frame_add_str(f, ACCTSEC_TAG_TERMINAL, terminal);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_LAST_USED,
                              (uint64_t) (current ? (int64_t) time(NULL) : activity(&x, terminal)));
        acctsec_frame_add_u64(f, ACCTSEC_TAG_CURRENT, current);
        return 0;
}

static void reconcile(struct daemon *d) {
        int64_t now = store_now(&d->store);
        int r;
        while ((r = sessions_reconcile(&d->store, now)) == 1)
                ;
        if (r < 0)
                log_warning("closing sessions whose processes are gone failed: %s", strerror(-r));
}

int handle_session_list(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        struct lineage me;
        bool all = rq->everyone;

        reconcile(d);
        lineage_of(peer->pid, &me);
        struct list_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return reply_error(reply, -ENOMEM, "out of memory");
        *c = (struct list_ctx){ .reply = reply, .me = &me };
        if (proc_table_load(&c->procs) < 0)
                log_warning("cannot read /proc: sessions are listed without their terminals");
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        int r = sessions_foreach_active(&d->store, all ? NULL : p->name, false, add_session, c);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, c->total);
        int64_t now = rq->now;
        for (size_t i = 0; r == 0 && i < c->nfix; i++) {
                if (c->fix[i].logind[0])
                        (void) sessions_set_logind(&d->store, c->fix[i].id, c->fix[i].logind);
                if (c->fix[i].current) /* the user is at work in it right now */
                        (void) sessions_touch(&d->store, c->fix[i].id, now);
        }
        proc_table_free(&c->procs);
        free(c);
        return r < 0 ? reply_db_error(reply, req->type, all ? "" : p->name, r) : 0;
}

/* TERMINATE: the sessions are picked now, ended in a child, and recorded
 * when it reports (each one whose leader is really gone). */
struct terminate_ctx {
        struct daemon *d;
        struct pending_reply *pending;
        char actor[USER_NAME_MAX + 16];
        char self[USER_NAME_MAX];
        struct terminate_job job;
        /* picking */
        const struct lineage *me;
        int64_t want; /* one id, or 0: all but the caller's */
        const char *owner; /* only this user's (NULL: any, for admins) */
        uint64_t skipped;  /* beyond TERMINATE_MAX */
        int64_t devices; /* --all-others: remembered devices revoked with them */
        /* a fleet: sessions on other hosts, asked to end (their hosts do it) */
        int64_t remote;
        char remote_host[64];
        /* ending what other hosts asked: who asked, per session */
        char by[TERMINATE_MAX][USER_NAME_MAX + 16];
};

static int pick(const struct session *s, void *userdata) {
        struct terminate_ctx *t = userdata;
        char logind[LOGIND_ID_MAX];

        if (t->want && s->id != t->want)
                return 0;
        /* Ended through logind (its whole scope, processes that left the
         * leader's tree included) whether or not a list recorded the id. */
        struct session x = *s;
        x.logind = logind_known(s, logind, sizeof(logind), NULL);
        if (!t->want && in_lineage(t->me, &x))
                return 0;
        if (t->owner && strcmp(x.user, t->owner) != 0)
                return 0;
        if (t->job.n == TERMINATE_MAX) {
                t->skipped++;
                return 0;
        }
        t->job.s[t->job.n].id = x.id;
        t->job.s[t->job.n].pid = x.pid;
        t->job.s[t->job.n].start = x.pid_start;
        snprintf(t->job.s[t->job.n].logind, LOGIND_ID_MAX, "%s", x.logind);
        t->job.n++;
        return 0;
}

/* Record one session of the job as terminated, if its leader is gone:
 * 1 it is (*gone counted), 0 it is still running, <0 error. */
static int record_terminated(struct terminate_ctx *t, size_t i, int64_t now, size_t *gone) {
        struct session ended;
        char detail[USER_NAME_MAX + 64];
        int64_t id = t->job.s[i].id;
        if (proc_alive(t->job.s[i].pid, t->job.s[i].start))
                return 0;
        (*gone)++;
        int r = sessions_end(&t->d->store, &id, NULL, 0, 0, now, SESSION_REASON_TERMINATED, &ended);
        if (r <= 0) /* 0: terminated already */
                return r;
        const char *actor = t->by[i][0] ? t->by[i] : t->actor;
        snprintf(detail, sizeof(detail), "session %lld ended by %s", (long long) id, actor);
        struct event ev = { .type = EV_SESSION_TERMINATED, .user = ended.user, .service = ended.service,
                            .rhost = ended.rhost, .tty = ended.tty, .country = ended.country, .city = ended.city,
                            .actor = strcmp(t->by[i][0] ? t->by[i] : t->self, ended.user) ? actor : NULL,
                            .detail = detail };
        r = seclog_add(&t->d->store, now, &ev);
        session_free(&ended);
        return r < 0 ? r : 1;
}

/* Sessions of other hosts that their hosts were asked to end. */
static void add_remote(const struct terminate_ctx *t, struct acctsec_frame *f) {
        if (t->devices > 0)
                acctsec_frame_add_u64(f, ACCTSEC_TAG_REVOKED, (uint64_t) t->devices);
        if (t->remote > 0) {
                acctsec_frame_add_u64(f, ACCTSEC_TAG_REMOTE, (uint64_t) t->remote);
                acctsec_frame_add_str(f, ACCTSEC_TAG_HOST, t->remote_host);
        }
}

static void terminated_reply(struct terminate_ctx *t, int q, size_t gone, struct acctsec_frame *f) {
        if (q < 0)
                reply_db_error(f, ACCTSEC_OP_SESSION_TERMINATE, t->self, q);
        else if (gone < t->job.n && gone == 0)
                reply_error(f, -ESRCH, "the session did not end (its processes outlived SIGKILL)");
        else {
                acctsec_frame_init(f, ACCTSEC_REPLY_OK);
                acctsec_frame_add_u64(f, ACCTSEC_TAG_COUNT, gone);
                add_remote(t, f);
                if (gone < t->job.n || t->skipped) {
                        char msg[160];
                        snprintf(msg, sizeof(msg), "%zu session(s) did not end%s", t->job.n - gone,
                                 t->skipped ? "; more remain: run the command again" : "");
                        acctsec_frame_add_str(f, ACCTSEC_TAG_MESSAGE, msg);
                }
        }
}

/* A child's completion: its own transaction (server.c). */
static void on_terminated(int r, const char *out, void *userdata) {
        struct terminate_ctx *t = userdata;
        int64_t now = store_now(&t->d->store);
        struct acctsec_frame *f = calloc(1, sizeof(*f));
        size_t gone = 0;
        int q = 0;

        if (r < 0)
                log_warning("ending sessions for %s: some did not end (%s)", t->actor, out && *out ? out : strerror(-r));
        for (size_t i = 0; q >= 0 && i < t->job.n; i++)
                q = record_terminated(t, i, now, &gone);
        if (f) {
                terminated_reply(t, q, gone, f);
                if (t->pending)
                        server_reply(t->pending, f);
                free(f);
        }
        free(t);
}

/* The sessions a terminate names, into t->job: 0, or 1 when the reply is
 * already filled (none, or an error). */
static int choose(struct request *rq, struct terminate_ctx *t, uint64_t id, bool all_others) {
        static const char none[] = "no such active session of yours";
        struct lineage me;
        reconcile(rq->d);
        lineage_of(rq->peer->pid, &me);
        t->me = &me;
        t->want = (int64_t) id;
        /* One id: users only their own, admins anyone's.  All others: of
         * the target user (the caller, or --user for admins). */
        bool anyones = id && rq->role == ROLE_ADMIN && !rq_str(rq, ACCTSEC_TAG_USER);
        t->owner = anyones ? NULL : rq->target.name;
        /* This host's: a session elsewhere is ended by its own host. */
        int r = sessions_foreach_active(&rq->d->store, t->owner, true, pick, t);
        if (r >= 0 && (!id || t->job.n == 0)) /* a fleet: the other hosts' sessions too */
                r = t->remote = sessions_request_end(&rq->d->store, rq->now, t->actor, (int64_t) id, t->owner,
                                                     t->remote_host, sizeof(t->remote_host));
        t->me = NULL;
        t->owner = NULL;
        if (r < 0)
                return reply_db_error(rq->reply, rq->op, rq->target.name, r), 1;
        if (t->job.n == 0) {
                if (id && !t->remote)
                        return reply_error(rq->reply, -ENOENT, none), 1;
                acctsec_frame_init(rq->reply, ACCTSEC_REPLY_OK);
                acctsec_frame_add_u64(rq->reply, ACCTSEC_TAG_COUNT, 0);
                add_remote(t, rq->reply);
                return 1;
        }
        /* Never signalled: the caller and its ancestors (all-others mode
         * must not end the session it runs in, however nested). */
        if (all_others)
                for (size_t i = 0; i < me.n; i++)
                        t->job.protect[t->job.nprotect++] = me.p[i].pid;
        return 0;
}

int handle_session_terminate(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct principal self;
        uint64_t id = rq_u64(rq, ACCTSEC_TAG_SESSION, 0), all_others = rq_u64(rq, ACCTSEC_TAG_ALL, 0);

        if (id > INT64_MAX)
                return reply_error(reply, -EINVAL, "malformed field");
        if ((id == 0) == (all_others == 0))
                return reply_error(reply, -EINVAL, "name one session, or ask for all the others");
        if (user_by_uid(peer->uid, &self) < 0)
                return reply_error(reply, -ENOENT, "your uid has no user name");
        struct terminate_ctx *t = calloc(1, sizeof(*t));
        if (!t)
                return reply_error(reply, -ENOMEM, "out of memory");
        t->d = d;
        actor_name(peer, t->actor, sizeof(t->actor));
        strcpy(t->self, self.name);
        /* Sign out everywhere else: the devices that would skip the code go too. */
        char actor[USER_NAME_MAX + 16];
        int r = all_others ? relief_revoke(&d->store, rq->target.name, 0, rq_actor(rq, actor, sizeof(actor)),
                                           "(session terminate --all-others)", rq->now, &t->devices)
                           : 0;
        if (r < 0) {
                free(t);
                return reply_db_error(reply, req->type, rq->target.name, r);
        }
        if (choose(rq, t, id, all_others != 0)) {
                free(t);
                return 0;
        }
        r = child_run_async(d->event, TERMINATE_TIMEOUT_USEC, terminate_run, &t->job, on_terminated, t);
        if (r < 0) {
                free(t);
                return reply_error(reply, r, "cannot start ending the sessions");
        }
        /* Without a pending reply the sessions still end; only the answer is lost. */
        t->pending = server_defer(d->srv);
        if (!t->pending)
                return reply_error(reply, -ENOMEM, "out of memory");
        return HANDLE_DEFERRED;
}

/* A fleet: this host's sessions that another host was asked to end
 * (SESSION_REQUEST_END), found when notified or when connected again. */
static int pick_requested(const struct session *s, const char *by, void *userdata) {
        struct terminate_ctx *t = userdata;
        size_t n = t->job.n;
        if (pick(s, t) == 0 && t->job.n > n)
                snprintf(t->by[n], sizeof(t->by[n]), "%s", by);
        return 0;
}

void sessions_end_requested(struct daemon *d) {
        struct terminate_ctx *t = calloc(1, sizeof(*t));
        if (!t)
                return;
        struct lineage none = { .n = 0 }; /* nobody's own session here: every one asked for ends */
        t->d = d;
        t->me = &none;
        snprintf(t->actor, sizeof(t->actor), "another host");
        int r = sessions_foreach_end_requested(&d->store, pick_requested, t);
        t->me = NULL;
        if (r < 0)
                log_warning("reading the sessions other hosts asked to end failed: %s", strerror(-r));
        if (r < 0 || t->job.n == 0) {
                free(t);
                return;
        }
        log_info("ending %zu session(s) that another host was asked to end", t->job.n);
        r = child_run_async(d->event, TERMINATE_TIMEOUT_USEC, terminate_run, &t->job, on_terminated, t);
        if (r < 0) {
                log_error("cannot start ending sessions other hosts asked to end: %s", strerror(-r));
                free(t);
        }
}
