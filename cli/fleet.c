/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec fleet import: moving this host's SQLite state into the fleet's
 * database is acctsecd's work (acctsecd --import-from: it holds the
 * storage code and the keys' rules); the CLI checks who asks and runs it.
 * acctsec fleet key check|rotate: the fleet key's state, and its rotation
 * (daemon/handlers/fleet_key.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

/* ACCTSEC_DAEMON names another acctsecd (a build tree's, in tests). */
static const char *daemon_path(void) {
        const char *p = getenv("ACCTSEC_DAEMON");
        return p && p[0] ? p : ACCTSEC_SBINDIR "/acctsecd";
}

int cmd_fleet_import(struct cli *c) {
        const char *argv[10];
        size_t n = 0;

        /* The import reads the host's key file and writes the whole fleet's
         * state: root's, like the state directory. */
        if (geteuid() != 0)
                return cli_fail(c, EXIT_DENIED, "fleet import: only root may import a host's state (it reads %s)",
                                c->state_dir ? c->state_dir : ACCTSEC_DEFAULT_STATE_DIR);
        if (c->user)
                return cli_fail(c, EXIT_USAGE, "fleet import takes no --user: it moves every user's state");
        argv[n++] = "acctsecd";
        argv[n++] = "--import-from";
        argv[n++] = c->state_dir ? c->state_dir : ACCTSEC_DEFAULT_STATE_DIR;
        if (c->conf_file) {
                argv[n++] = "--config";
                argv[n++] = c->conf_file;
        }
        if (c->dry_run)
                argv[n++] = "--dry-run";
        if (c->json)
                argv[n++] = "--json";
        argv[n] = NULL;
        fflush(stdout);
        execv(daemon_path(), (char **) argv);
        return cli_fail(c, EXIT_UNAVAILABLE, "cannot run %s: %s", daemon_path(), strerror(errno));
}

struct key_state {
        const char *key, *fleet, *prev;
        uint64_t sealed_left, hashed_left, resealed;
};

static void read_state(const struct acctsec_msg *m, struct key_state *k) {
        k->key = acctsec_msg_str(m, ACCTSEC_TAG_KEY_ID);
        k->fleet = acctsec_msg_str(m, ACCTSEC_TAG_FLEET_KEY_ID);
        k->prev = acctsec_msg_str(m, ACCTSEC_TAG_PREV_KEY_ID);
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_SEALED_LEFT, &k->sealed_left);
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_HASHED_LEFT, &k->hashed_left);
}

/* "ok", "rotation pending" or "mismatch": this host against the fleet. */
static const char *verdict(const struct key_state *k) {
        if (k->key && k->fleet && strcmp(k->key, k->fleet) == 0)
                return "ok";
        if (k->prev && k->fleet && strcmp(k->prev, k->fleet) == 0)
                return "rotation pending";
        return "mismatch";
}

static void print_state(const struct cli *c, const struct key_state *k) {
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "key_id", k->key);
                json_str(&j, "fleet_key_id", k->fleet);
                json_str(&j, "previous_key_id", k->prev);
                json_str(&j, "state", verdict(k));
                json_int(&j, "totp_secrets_under_other_keys", (long long) k->sealed_left);
                json_int(&j, "hashes_under_other_keys", (long long) k->hashed_left);
                json_int(&j, "resealed", (long long) k->resealed);
                json_close(&j, '}');
                json_end(&j);
                return;
        }
        printf("this host's fleet key:   %s\n", k->key ? k->key : "?");
        printf("the fleet's key:         %s (%s)\n", k->fleet ? k->fleet : "none recorded yet", verdict(k));
        if (k->prev)
                printf("fleet_key_previous:      %s\n", k->prev);
        printf("TOTP secrets sealed with another key:            %llu\n", (unsigned long long) k->sealed_left);
        printf("backup codes and tokens hashed with another key: %llu%s\n", (unsigned long long) k->hashed_left,
               k->hashed_left ? " (they work while fleet_key_previous is set; until used, regenerated or revoked)"
                              : "");
}

/* Re-seal a batch a request until none is left, then the fleet's key is ours. */
static int rotate(struct cli *c, struct key_state *k) {
        uint64_t more = 1, n = 0;
        while (more) {
                acctsec_frame_init(&c->req, ACCTSEC_OP_FLEET_KEY_ROTATE);
                int r = cli_call(c);
                if (r)
                        return r;
                more = 0;
                (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &n);
                (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MORE, &more);
                k->resealed += n;
                if (more && n == 0)
                        return cli_fail(c, EXIT_FAILURE, "fleet key rotate: secrets remain that open with neither "
                                                         "key (the daemon's log names their users)");
        }
        read_state(&c->reply, k);
        return 0;
}

static void host_row(struct cli *c, struct json *j, const struct acctsec_field *f, size_t n) {
        const char *host = "";
        uint64_t seen = 0, sessions = 0;
        char t[64];
        for (size_t i = 0; i < n; i++) {
                if (f[i].tag == ACCTSEC_TAG_HOST && acctsec_field_is_string(&f[i]))
                        host = f[i].val;
                else if (f[i].tag == ACCTSEC_TAG_TIME)
                        (void) acctsec_field_u64(&f[i], &seen);
                else if (f[i].tag == ACCTSEC_TAG_COUNT)
                        (void) acctsec_field_u64(&f[i], &sessions);
        }
        if (c->json) {
                json_open(j, NULL, '{');
                json_str(j, "host", host);
                json_time(j, "last_seen", seen);
                json_int(j, "sessions", (long long) sessions);
                json_close(j, '}');
                return;
        }
        print_padded(stdout, host, 24);
        printf("%-19s  %8llu\n", fmt_time(seen, t, sizeof(t)), (unsigned long long) sessions);
}

/* The fleet's hosts: when each was last seen (its maintenance tick, every
 * 5 minutes; the answering host: now) and its active sessions. */
int cmd_fleet_hosts(struct cli *c) {
        const struct acctsec_msg *m = &c->reply;
        uint64_t fleet = 0, more = 0;
        struct json j;
        if (c->user)
                return cli_fail(c, EXIT_USAGE, "fleet hosts takes no --user");
        acctsec_frame_init(&c->req, ACCTSEC_OP_HOST_LIST);
        int r = cli_call(c);
        if (r)
                return r;
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_FLAG, &fleet);
        (void) acctsec_msg_u64(m, ACCTSEC_TAG_MORE, &more);
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_bool(&j, "fleet", fleet != 0);
                json_open(&j, "hosts", '[');
        } else
                printf("%-24s %-19s  %8s\n", "HOST", "LAST SEEN", "SESSIONS");
        for (size_t i = 0; i < m->nfields; i++) {
                if (m->f[i].tag != ACCTSEC_TAG_RECORD)
                        continue;
                size_t end = i + 1;
                while (end < m->nfields && m->f[end].tag != ACCTSEC_TAG_RECORD && m->f[end].tag != ACCTSEC_TAG_MORE)
                        end++;
                host_row(c, &j, &m->f[i + 1], end - i - 1);
        }
        if (c->json) {
                json_close(&j, ']');
                json_close(&j, '}');
                json_end(&j);
        } else if (!fleet)
                printf("(one host: store = sqlite)\n");
        if (more)
                fprintf(stderr, "acctsec: more hosts than one answer holds: the first by name are shown\n");
        return 0;
}

int cmd_fleet_key(struct cli *c) {
        struct key_state k = { 0 };
        bool rot = strcmp(c->args[0], "rotate") == 0;
        if (!rot && strcmp(c->args[0], "check") != 0)
                return cli_fail(c, EXIT_USAGE, "fleet key: check or rotate");
        if (c->user)
                return cli_fail(c, EXIT_USAGE, "fleet key takes no --user");
        int r;
        if (rot)
                r = rotate(c, &k);
        else {
                acctsec_frame_init(&c->req, ACCTSEC_OP_FLEET_STATUS);
                r = cli_call(c);
                read_state(&c->reply, &k);
        }
        if (r)
                return r;
        if (rot && !c->json)
                printf("re-sealed %llu TOTP secret%s with this host's fleet key\n", (unsigned long long) k.resealed,
                       k.resealed == 1 ? "" : "s");
        print_state(c, &k);
        return strcmp(verdict(&k), "ok") == 0 ? 0 : EXIT_FAILURE;
}
