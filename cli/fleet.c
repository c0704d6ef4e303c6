/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec fleet import: moving this host's SQLite state into the fleet's
 * database is acctsecd's work (acctsecd --import-from: it holds the
 * storage code and the keys' rules); the CLI checks who asks and runs it. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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
