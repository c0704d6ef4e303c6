/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "location.h"
#include "log.h"
#include "seclog.h"

enum outcome { OUT_INFO, OUT_SUCCESS, OUT_FAILURE };
static const char *const outcomes[] = { [OUT_INFO] = "info", [OUT_SUCCESS] = "success", [OUT_FAILURE] = "failure" };

/* The MESSAGE_IDs are an interface (doc/security-log.md): never change one. */
static const struct {
        const char *name;
        const char *message_id;
        int priority;
        enum outcome outcome;
} types[_EV_MAX] = {
        [EV_AUTH_SUCCESS] = { "auth_success", "28593984699d42aba68c3361e075fee0", LOG_INFO, OUT_SUCCESS },
        [EV_AUTH_FAILURE] = { "auth_failure", "00cb934898b442039e1603c36265de7f", LOG_NOTICE, OUT_FAILURE },
        [EV_LOCKOUT] = { "lockout", "f24dacdff45943a2be72adc6c0ce36d9", LOG_WARNING, OUT_FAILURE },
        [EV_UNLOCK] = { "unlock", "6988fae179d044d99673707dfc2ff56d", LOG_NOTICE, OUT_INFO },
        [EV_LOGIN_DENIED] = { "login_denied", "9e91236bf68944a8ac6ea7ac16dc3723", LOG_NOTICE, OUT_FAILURE },
        [EV_MFA_ENROLLED] = { "mfa_enrolled", "65b5149bda144d9a968ca447d7d112ee", LOG_NOTICE, OUT_INFO },
        [EV_MFA_RESET] = { "mfa_reset", "3713ea839b824d65ab00bb5988a72343", LOG_NOTICE, OUT_INFO },
        [EV_CODE_USED] = { "code_used", "dbfc81ac3a59469a9a86a390badecb38", LOG_INFO, OUT_SUCCESS },
        [EV_CODE_REFUSED] = { "code_refused", "e2111c988c734048a18e5198af34c4ed", LOG_NOTICE, OUT_FAILURE },
        [EV_BACKUP_GENERATED] = { "backup_codes_generated", "2014b3bf593e41738e28cffb2996d73f", LOG_NOTICE, OUT_INFO },
        [EV_CODE_SENT] = { "code_sent", "cfa44d8ca9134f9c865f2aba1ed70508", LOG_INFO, OUT_INFO },
        [EV_CODE_SEND_FAILED] = { "code_send_failed", "c3fb5b91542a49a19de3c10907db269a", LOG_WARNING, OUT_FAILURE },
        [EV_EMAIL_SET] = { "email_set", "85dea37eeb264880984b84de7b7b5f7d", LOG_NOTICE, OUT_INFO },
        [EV_EMAIL_VERIFIED] = { "email_verified", "261094d514ee426896820d502d1780b8", LOG_NOTICE, OUT_INFO },
        [EV_MFA_DISABLED] = { "mfa_disabled", "4cd60b4eff584d9f9a79cc45ce8d2fd8", LOG_NOTICE, OUT_INFO },
        [EV_MFA_REQUIRED] = { "mfa_required", "13e9a4c8131943a7b713eec7cdd4f7f7", LOG_NOTICE, OUT_INFO },
        [EV_ACCOUNT_DISABLED] = { "account_disabled", "77409b06221a41d7b9c70b90fed7ffec", LOG_NOTICE, OUT_INFO },
        [EV_ACCOUNT_ENABLED] = { "account_enabled", "db8bb70d85974fed8a52c9bb384f1f1b", LOG_NOTICE, OUT_INFO },
        [EV_PASSWORD_EXPIRED] = { "password_expired", "f176f4c6141742c385985c065f142246", LOG_NOTICE, OUT_INFO },
        [EV_PASSWORD_CHANGED] = { "password_changed", "61dcf1ccf32c4c8ab83cf032c42eab20", LOG_NOTICE, OUT_INFO },
        [EV_PASSWORD_RESET] = { "password_reset", "1537fb9600e74826890bd6d9758704bc", LOG_NOTICE, OUT_INFO },
        [EV_TOKEN_CREATED] = { "token_created", "def4ea362eef4aa9ac67547b1c8bccdc", LOG_NOTICE, OUT_INFO },
        [EV_TOKEN_USED] = { "token_used", "60664520dca94349aa76b93d539896df", LOG_INFO, OUT_SUCCESS },
        [EV_TOKEN_REFUSED] = { "token_refused", "42b2918a433d4e888c564115da04defe", LOG_NOTICE, OUT_FAILURE },
        [EV_TOKEN_REVOKED] = { "token_revoked", "4ea81d5334be4d8aad9e052b27d5748f", LOG_NOTICE, OUT_INFO },
        [EV_ALLOWLIST_ADDED] = { "allowlist_added", "678ca58467e2405b952eca1ca74f4c38", LOG_NOTICE, OUT_INFO },
        [EV_ALLOWLIST_REMOVED] = { "allowlist_removed", "b782b6030c2d4d6a967b90c0cb689487", LOG_NOTICE, OUT_INFO },
        [EV_SESSION_OPENED] = { "session_opened", "25ca5ab518354b0c9d67e0b97a438ce9", LOG_INFO, OUT_SUCCESS },
        [EV_SESSION_CLOSED] = { "session_closed", "b2cb8a9975de402fa1dc6d3f49af938b", LOG_INFO, OUT_INFO },
        [EV_SESSION_TERMINATED] = { "session_terminated", "c6bfb39a7b904b5d9a4b902fd8cbc321", LOG_NOTICE, OUT_INFO },
        [EV_NEW_SOURCE] = { "new_source_login", "f140089e48d84e1d9142da5d214d8a9e", LOG_NOTICE, OUT_INFO },
        [EV_NOTIFY_CHANGED] = { "notifications_changed", "c820c319f53747e3ac469c831246888b", LOG_NOTICE, OUT_INFO },
        [EV_REQUEST_REFUSED] = { "request_refused", "5f51894f2dd84787a29d4eb61869ff88", LOG_WARNING, OUT_FAILURE },
        [EV_LOG_EXPORTED] = { "log_exported", "0e233333b2ec41b987c4ce9a1318b195", LOG_NOTICE, OUT_INFO },
        [EV_MAIL_CAPPED] = { "mail_capped", "f4ee99f999ca4080bdafd522294051b9", LOG_WARNING, OUT_FAILURE },
        [EV_FLEET_KEY_ROTATED] = { "fleet_key_rotated", "80343be2d4cb482ba1fab3ff969bc135", LOG_NOTICE, OUT_INFO },
        [EV_PHONE_SET] = { "phone_set", "6d613fda08d34de4a1bb26b6017f1a88", LOG_NOTICE, OUT_INFO },
        [EV_PASSWORD_RECOVERED] = { "password_recovered", "499a4baeb5554880a1aa7ca1bd4f37d1", LOG_WARNING, OUT_SUCCESS },
        [EV_PHONE_VERIFIED] = { "phone_verified", "ab6d998cf6554c599ea89acd8e46db2a", LOG_NOTICE, OUT_INFO },
        [EV_NEW_LOCATION] = { "new_location_login", "2ee5b81990fd4ea5b4652c70c62842af", LOG_NOTICE, OUT_INFO },
        [EV_MFA_SKIPPED] = { "mfa_skipped", "0ccc92cd48e349769b66d939c5c7e351", LOG_NOTICE, OUT_SUCCESS },
        [EV_DEVICE_REMEMBERED] = { "device_remembered", "d02786d3d461424da8e83137fe315716", LOG_NOTICE, OUT_INFO },
        [EV_DEVICE_REVOKED] = { "device_revoked", "047f16fb2d504616a54d578ca2744071", LOG_NOTICE, OUT_INFO },
};

const char *seclog_type_name(enum event_type t) {
        return t < _EV_MAX ? types[t].name : "unknown";
}

const char *seclog_type_outcome(enum event_type t) {
        return t < _EV_MAX ? outcomes[types[t].outcome] : "info";
}

int seclog_type_by_name(const char *name) {
        for (int t = 0; t < _EV_MAX; t++)
                if (strcmp(types[t].name, name) == 0)
                        return t;
        return -ENOENT;
}

const char *seclog_outcome_of(const char *type_name) {
        int t = seclog_type_by_name(type_name);
        return t < 0 ? "info" : seclog_type_outcome((enum event_type) t);
}

static const char *or_empty(const char *s) {
        return s ? s : "";
}

static void emit_now(const struct event *e) {
        const char *name = seclog_type_name(e->type);
        char msg[768];

        /* Every string here passed the protocol's no-control-character check,
         * so one event is one line wherever it is shown. */
        char where[GEOIP_NAME_MAX + 16] = "";
        if (e->country && *e->country)
                geoip_format(where, sizeof(where), e->country, e->city);
        snprintf(msg, sizeof(msg), "%s user=%s service=%s rhost=%s%s%s%s tty=%s%s%s%s%s", name, or_empty(e->user),
                 or_empty(e->service), or_empty(e->rhost), where[0] ? " (" : "", where, where[0] ? ")" : "",
                 or_empty(e->tty), e->actor ? " actor=" : "", or_empty(e->actor), e->detail ? " detail=" : "",
                 or_empty(e->detail));
        if (!log_to_journal()) {
                log_msg(types[e->type].priority, "%s", msg);
                return;
        }
        sd_journal_send("MESSAGE=%s", msg, "MESSAGE_ID=%s", types[e->type].message_id, "PRIORITY=%d",
                        types[e->type].priority, "SYSLOG_IDENTIFIER=acctsecd", "ACCTSEC_EVENT=%s", name,
                        "ACCTSEC_USER=%s", or_empty(e->user), "ACCTSEC_SERVICE=%s", or_empty(e->service),
                        "ACCTSEC_RHOST=%s", or_empty(e->rhost), "ACCTSEC_TTY=%s", or_empty(e->tty),
                        "ACCTSEC_ACTOR=%s", or_empty(e->actor), "ACCTSEC_DETAIL=%s", or_empty(e->detail),
                        "ACCTSEC_COUNTRY=%s", or_empty(e->country), "ACCTSEC_CITY=%s", or_empty(e->city), NULL);
}

/* Events of an open group commit, in order, until it ends. */
struct held_event {
        struct held_event *next;
        struct event ev;
        char strings[]; /* the event's strings, NUL-separated */
};
struct held_list {
        struct held_event *head, **tail;
};
static struct held_list held = { NULL, &held.head }; /* committed, waiting for the batch */
static struct held_list uncommitted = { NULL, &uncommitted.head }; /* the request's, until its end */
static bool holding;

static const char *hold_str(char **p, const char *s) {
        if (!s)
                return NULL;
        const char *start = *p;
        *p = stpcpy(*p, s) + 1;
        return start;
}

static void keep(struct held_list *l, const struct event *e) {
        const char *f[] = { e->user, e->service, e->rhost, e->tty, e->actor, e->detail, e->country, e->city };
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(f); i++)
                n += f[i] ? strlen(f[i]) + 1 : 0;
        struct held_event *h = malloc(sizeof(*h) + n);
        if (!h) {
                log_error("out of memory: %s event not sent to the journal", seclog_type_name(e->type));
                return;
        }
        char *p = h->strings;
        h->next = NULL;
        h->ev = (struct event){ .type = e->type, .user = hold_str(&p, e->user), .service = hold_str(&p, e->service),
                                .rhost = hold_str(&p, e->rhost), .tty = hold_str(&p, e->tty),
                                .actor = hold_str(&p, e->actor), .detail = hold_str(&p, e->detail),
                                .country = hold_str(&p, e->country), .city = hold_str(&p, e->city) };
        *l->tail = h;
        l->tail = &h->next;
}

/* Empty a list, emitting (through emit) or dropping its events. */
static void drain(struct held_list *l, void (*emit)(const struct event *e)) {
        while (l->head) {
                struct held_event *h = l->head;
                l->head = h->next;
                if (emit)
                        emit(&h->ev);
                free(h);
        }
        l->tail = &l->head;
}

int seclog_add(struct store *s, int64_t now, const struct event *in) {
        struct event e = *in;
        struct geoip_location loc;
        if (!e.country && e.rhost && *e.rhost && location_of(e.rhost, &loc))
                e.country = loc.country, e.city = loc.city;
        int r = store_exec(s, Q_EVENT_ADD,
                           STORE_ARGS(A_INT(now), A_TEXT(seclog_type_name(e.type)), A_TEXT(or_empty(e.user)),
                                      A_TEXT(or_empty(e.service)), A_TEXT(or_empty(e.rhost)),
                                      A_TEXT(or_empty(e.tty)), A_TEXT(or_empty(e.actor)),
                                      A_TEXT(or_empty(e.detail)), A_TEXT(or_empty(e.country)),
                                      A_TEXT(or_empty(e.city))));
        if (r < 0)
                return r;
        keep(&uncommitted, &e);
        return 0;
}

int seclog_add_all(struct store *s, int64_t now, const struct event *ev, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = seclog_add(s, now, &ev[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void seclog_emit(const struct event *e) {
        if (holding)
                keep(&held, e);
        else
                emit_now(e);
}

void seclog_hold(void) {
        holding = true;
}

void seclog_release(bool committed) {
        drain(&held, committed ? emit_now : NULL);
        holding = false;
}

void seclog_request_end(bool committed) {
        drain(&uncommitted, committed ? seclog_emit : NULL);
}
