/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec session list|terminate and notify on|off|status. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

#define TERMINATE_TIMEOUT_MS 30000 /* acctsecd waits up to about 8 s for a session to end */

struct session_row {
        uint64_t id, pid, started, active, current;
        const char *user, *service, *tty, *rhost, *logind, *terminal;
        const char *host; /* a fleet's: the host it runs on */
        const char *country, *city; /* where rhost is (geoip_database) */
};

static void row_field(struct session_row *s, const struct acctsec_field *f) {
        const char **str = NULL;
        uint64_t *num = NULL;
        switch (f->tag) {
        case ACCTSEC_TAG_SESSION: num = &s->id; break;
        case ACCTSEC_TAG_PID: num = &s->pid; break;
        case ACCTSEC_TAG_CREATED: num = &s->started; break;
        case ACCTSEC_TAG_LAST_USED: num = &s->active; break;
        case ACCTSEC_TAG_CURRENT: num = &s->current; break;
        case ACCTSEC_TAG_USER: str = &s->user; break;
        case ACCTSEC_TAG_SERVICE: str = &s->service; break;
        case ACCTSEC_TAG_TTY: str = &s->tty; break;
        case ACCTSEC_TAG_RHOST: str = &s->rhost; break;
        case ACCTSEC_TAG_LOGIND: str = &s->logind; break;
        case ACCTSEC_TAG_TERMINAL: str = &s->terminal; break;
        case ACCTSEC_TAG_HOST: str = &s->host; break;
        case ACCTSEC_TAG_COUNTRY: str = &s->country; break;
        case ACCTSEC_TAG_CITY: str = &s->city; break;
        default: return;
        }
        if (num)
                (void) acctsec_field_u64(f, num);
        else if (acctsec_field_is_string(f))
                *str = f->val;
}

static const char *or_dash(const char *s) {
        return s && *s ? s : "-";
}

static void show_row(struct cli *c, struct json *j, const struct session_row *s, bool fleet) {
        char t1[64], t2[64], tty[96];
        if (c->json) {
                json_open(j, NULL, '{');
                json_int(j, "id", (long long) s->id);
                json_str(j, "user", s->user);
                json_str(j, "service", s->service);
                json_str(j, "tty", s->tty);
                json_str(j, "terminal", s->terminal && *s->terminal ? s->terminal : NULL);
                json_str(j, "rhost", s->rhost && *s->rhost ? s->rhost : NULL);
                json_str(j, "country", s->country && *s->country ? s->country : NULL);
                json_str(j, "city", s->city && *s->city ? s->city : NULL);
                json_str(j, "logind_session", s->logind && *s->logind ? s->logind : NULL);
                json_str(j, "host", s->host && *s->host ? s->host : NULL);
                json_int(j, "pid", (long long) s->pid);
                json_int(j, "started", (long long) s->started);
                json_int(j, "last_activity", (long long) s->active);
                json_bool(j, "current", s->current != 0);
                json_close(j, '}');
                return;
        }
        /* sshd's PAM_TTY is "ssh": show the terminal its shell got, too. */
        const char *pam_tty = or_dash(s->tty), *term = s->terminal && *s->terminal ? s->terminal : NULL;
        if (term && strcmp(pam_tty, term) != 0 && strcmp(pam_tty + (strncmp(pam_tty, "/dev/", 5) ? 0 : 5), term) != 0)
                snprintf(tty, sizeof(tty), "%s (%s)", pam_tty, term);
        else
                snprintf(tty, sizeof(tty), "%s", pam_tty);
        printf("%s%-6llu ", s->current ? "*" : " ", (unsigned long long) s->id);
        if (fleet)
                print_padded(stdout, or_dash(s->host), 12);
        print_padded(stdout, or_dash(s->user), 12);
        print_padded(stdout, or_dash(s->service), 10);
        print_padded(stdout, tty, 16);
        print_padded(stdout, s->rhost && *s->rhost ? s->rhost : "local", 24);
        print_location(stdout, s->country, s->city, 16);
        printf("%-19s  %s\n", fmt_time(s->started, t1, sizeof(t1)), fmt_time(s->active, t2, sizeof(t2)));
}

int cmd_session_list(struct cli *c) {
        struct json j;
        if (c->all && c->user) {
                fprintf(stderr, "acctsec: session list takes --user NAME or --all, not both\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_SESSION_LIST);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        if (c->all)
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_ALL, 1);
        int r = cli_call(c);
        if (r)
                return r;
        bool fleet = acctsec_msg_str(&c->reply, ACCTSEC_TAG_HOST) != NULL; /* a HOST column */
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_open(&j, "sessions", '[');
        } else
                printf(" %-6s %s%-12s %-10s %-16s %-24s %-16s %-19s  %s\n", "ID", fleet ? "HOST         " : "",
                       "USER", "SERVICE", "TTY", "FROM", "LOCATION", "STARTED", "LAST ACTIVITY");
        size_t shown = 0;
        bool any_current = false;
        struct session_row s = { 0 };
        const struct acctsec_msg *m = &c->reply;
        for (size_t i = 0; i <= m->nfields; i++) {
                const struct acctsec_field *f = i < m->nfields ? &m->f[i] : NULL;
                if (!f || f->tag == ACCTSEC_TAG_RECORD || f->tag == ACCTSEC_TAG_COUNT) {
                        if (s.id) {
                                show_row(c, &j, &s, fleet);
                                any_current |= s.current != 0;
                                shown++;
                        }
                        s = (struct session_row){ 0 };
                        if (!f || f->tag == ACCTSEC_TAG_COUNT)
                                break;
                        continue;
                }
                row_field(&s, f);
        }
        uint64_t total = 0;
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_COUNT, &total);
        if (c->json) {
                json_close(&j, ']');
                json_int(&j, "total", (long long) total);
                json_close(&j, '}');
                json_end(&j);
                return 0;
        }
        if (total > shown)
                printf("(%llu more not shown)\n", (unsigned long long) (total - shown));
        if (shown == 0)
                printf("(no active sessions)\n");
        else if (any_current)
                printf("* this session\n");
        return 0;
}

int parse_id(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || v == 0 || s[0] == '-' || v > INT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Ended here; asked of other hosts (a fleet), which end them within seconds. */
static void print_terminated(uint64_t id, uint64_t n, uint64_t remote, const char *host) {
        if (id && remote) {
                printf("Session %llu is on host ", (unsigned long long) id);
                print_safe(stdout, host ? host : "?");
                printf(": that host ends it.\n");
                return;
        }
        if (id)
                printf("Session %llu ended.\n", (unsigned long long) id);
        else
                printf("%llu other session%s ended.\n", (unsigned long long) n, n == 1 ? "" : "s");
        if (!id && remote)
                printf("%llu more on other hosts: their hosts end them.\n", (unsigned long long) remote);
}

int cmd_session_terminate(struct cli *c) {
        uint64_t id = 0;
        bool one = c->args[0] != NULL;
        if (one == c->all_others || (one && parse_id(c->args[0], &id) < 0)) {
                fprintf(stderr, "acctsec: session terminate needs a session ID (from 'acctsec session list') "
                                "or --all-others\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_SESSION_TERMINATE);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        if (one)
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_SESSION, id);
        else
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_ALL, 1);
        int r = cli_call_long(c);
        if (r)
                return r;
        uint64_t n = 0, remote = 0, devices = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &n);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_REVOKED, &devices);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_REMOTE, &remote);
        const char *warn = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        const char *host = acctsec_msg_str(&c->reply, ACCTSEC_TAG_HOST);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_int(&j, "terminated", (long long) n);
                if (remote) /* a fleet: sessions whose hosts end them */
                        json_int(&j, "requested_on_other_hosts", (long long) remote);
                if (!one)
                        json_int(&j, "devices_revoked", (long long) devices);
                json_str(&j, "warning", warn);
                json_close(&j, '}');
                json_end(&j);
        } else {
                print_terminated(one ? id : 0, n, remote, host);
                print_devices_revoked(devices);
        }
        if (warn && !c->json) {
                fprintf(stderr, "acctsec: ");
                print_safe(stderr, warn);
                fputc('\n', stderr);
        }
        return warn ? EXIT_FAILURE : 0;
}

/* Effective state in STATUS replies (ACCTSEC_TAG_NOTIFY). */
const char *notify_state_text(uint64_t v) {
        switch (v) {
        case 1: return "on";
        case 0: return "off (turned off by the user)";
        case 2: return "off (notify_new_source = no)";
        default: return "on, but no verified address to mail";
        }
}

int cmd_notify(struct cli *c) {
        if (strcmp(c->verb, "status") == 0) {
                acctsec_frame_init(&c->req, ACCTSEC_OP_STATUS);
                acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        } else {
                acctsec_frame_init(&c->req, ACCTSEC_OP_NOTIFY_SET);
                acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_NOTIFY, strcmp(c->verb, "on") == 0);
        }
        int r = cli_call(c);
        if (r)
                return r;
        uint64_t v = 3;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_NOTIFY, &v);
        const char *user = acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", user);
                json_bool(&j, "new_source_mails", v == 1 || (v == 3 && strcmp(c->verb, "status") == 0));
                if (strcmp(c->verb, "status") == 0)
                        json_str(&j, "state", notify_state_text(v));
                json_close(&j, '}');
                json_end(&j);
                return 0;
        }
        printf("New-source login mails for ");
        print_safe(stdout, user ? user : "?");
        if (strcmp(c->verb, "status") == 0)
                printf(": %s\n", notify_state_text(v));
        else
                printf(": %s\n", v ? "on" : "off");
        return 0;
}
