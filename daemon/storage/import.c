/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acctsecd --import-from STATE_DIR: moving a host into the fleet.  The
 * host's acctsec.db is read (read-only, one read transaction: one
 * consistent snapshot) and merged into the fleet's PostgreSQL database in
 * ONE transaction, so that the import is all or nothing; --dry-run does
 * all of it and rolls back.  The rules of each table are in
 * import_tables.c; doc/fleet.md tells the admin's side.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_internal.h"
#include "pgsql_sql.h"
#include "policy.h"
#include "secret.h"
#include "store.h"

#define SCHEMA_LOCK "1633907827" /* the advisory lock the engine's migrations hold (pgsql.c) */

int import_fail(struct import *im, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(im->why, sizeof(im->why), fmt, ap);
        va_end(ap);
        return r;
}

int import_pg(struct import *im, const char *sql, const char *const *params, PGresult **ret) {
        int n = 0;
        while (params && params[n])
                n++;
        /* without parameters, a simple query: a schema step has several statements */
        PGresult *res = n ? PQexecParams(im->pg, sql, n, NULL, params, NULL, NULL, 0) : PQexec(im->pg, sql);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(im->pg);
                import_fail(im, -EIO, "the fleet's database: %.*s", (int) strcspn(m, "\n"), m);
                PQclear(res);
                return -EIO;
        }
        if (ret)
                *ret = res;
        else
                PQclear(res);
        return 0;
}

/* The first value of a one-row query, or "" (no row, NULL). */
static int pg_value(struct import *im, const char *sql, const char *const *params, char *buf, size_t n) {
        PGresult *res = NULL;
        int r = import_pg(im, sql, params, &res);
        buf[0] = '\0';
        if (r == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
                snprintf(buf, n, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return r;
}

/* The settings: the fleet this host moves into, and this host's name. */
static int load_config(struct import *im, struct policy *p) {
        struct acctsec_conf_error e = { 0 };
        int r = policy_load(p, im->o->config, im->o->config_explicit, &e);
        if (r < 0)
                return import_fail(im, r, "%s:%u: %s", im->o->config, e.line, e.msg[0] ? e.msg : strerror(-r));
        const struct acctsec_conf *c = &p->global;
        if (c->store != ACCTSEC_STORE_POSTGRESQL || !c->postgresql[0])
                return import_fail(im, -EINVAL,
                                   "%s does not say store = postgresql (with postgresql = <connection string>):"
                                   " set up the fleet this host moves into first (doc/fleet.md)",
                                   im->o->config);
        if (c->host_id[0])
                snprintf(im->host_id, sizeof(im->host_id), "%s", c->host_id);
        else if (gethostname(im->host_id, sizeof(im->host_id)) < 0 || !im->host_id[0])
                snprintf(im->host_id, sizeof(im->host_id), "unknown");
        return 0;
}

/* The fleet's key, and the host's (never created: a missing one is only
 * fine when nothing of the host's was sealed or hashed with it). */
static int load_keys(struct import *im, const struct acctsec_conf *c) {
        const char *why = "";
        int r = keyfile_load_file(c->fleet_key, im->fleet_key, &why);
        if (r < 0)
                return import_fail(im, r, "fleet key %s: %s (%s)", c->fleet_key, why, strerror(-r));
        keyfile_id(im->fleet_key, im->key_id);
        r = keyfile_load(im->o->state_dir, false, im->host_key, &why);
        if (r == -ENOKEY)
                return 0; /* checked against the tables that need it */
        if (r < 0)
                return import_fail(im, r, "the host's key file in %s: %s (%s)", im->o->state_dir, why, strerror(-r));
        im->have_host_key = true;
        im->keys_equal = sodium_memcmp(im->host_key, im->fleet_key, KEYFILE_KEY_SIZE) == 0;
        return 0;
}

/* STATE_DIR/acctsec.db must be a regular file of ours, as the SQLite
 * engine wants it (sqlite.c); it is only read. */
static int check_host_files(struct import *im, char *path, size_t n) {
        struct stat st;
        if (lstat(im->o->state_dir, &st) < 0)
                return import_fail(im, negative_errno(), "%s: %s (the host's state directory, e.g. %s)",
                                   im->o->state_dir, strerror(errno), ACCTSEC_DEFAULT_STATE_DIR);
        if (!S_ISDIR(st.st_mode))
                return import_fail(im, -ENOTDIR, "%s is not a directory", im->o->state_dir);
        if (snprintf(path, n, "%s/%s", im->o->state_dir, STORE_DB_NAME) >= (int) n)
                return import_fail(im, -ENAMETOOLONG, "%s: path too long", im->o->state_dir);
        if (lstat(path, &st) < 0)
                return import_fail(im, negative_errno(), "%s: %s (no acctsec database to import)", path,
                                   strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
                return import_fail(im, -EPERM, "%s is not a regular file owned by this user", path);
        return 0;
}

static int lite_version(struct import *im, int *ret) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(im->lite, "PRAGMA user_version", -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
        sqlite3_finalize(st);
        return *ret < 0 ? import_fail(im, -EIO, "cannot read the schema version of the host's database: %s",
                                      sqlite3_errmsg(im->lite))
                        : 0;
}

/* Read-only, and one read transaction for everything: a snapshot. */
static int open_host_db(struct import *im) {
        char path[4096];
        int r = check_host_files(im, path, sizeof(path)), v;
        if (r < 0)
                return r;
        int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path, &im->lite, flags, NULL) != SQLITE_OK)
                return import_fail(im, -EIO, "%s: %s", path, im->lite ? sqlite3_errmsg(im->lite) : "cannot open");
        sqlite3_busy_timeout(im->lite, 5000);
        if (sqlite3_exec(im->lite, "BEGIN", NULL, NULL, NULL) != SQLITE_OK || (r = lite_version(im, &v)) < 0)
                return r < 0 ? r : import_fail(im, -EIO, "%s: %s", path, sqlite3_errmsg(im->lite));
        if (v != store_schema_version())
                return import_fail(im, -EPROTO,
                                   "%s has schema version %d, this acctsecd reads version %d: %s", path, v,
                                   store_schema_version(),
                                   v < store_schema_version()
                                           ? "start this acctsecd on it once (store = sqlite) to upgrade it"
                                           : "it was written by a newer acctsecd: import with that one");
        return 0;
}

static int connect_fleet(struct import *im, const char *conninfo) {
        const char *const keys[] = { "application_name", "dbname", NULL };
        const char *const vals[] = { "acctsecd --import-from", conninfo, NULL };
        im->pg = PQconnectdbParams(keys, vals, 1);
        if (!im->pg)
                return import_fail(im, -ENOMEM, "out of memory");
        if (PQstatus(im->pg) != CONNECTION_OK) {
                const char *m = PQerrorMessage(im->pg);
                return import_fail(im, -ECONNREFUSED, "cannot connect to the fleet's database: %.*s",
                                   (int) strcspn(m, "\n"), m);
        }
        return 0;
}

/* The fleet's schema, as the engine would make it (a fleet no host has
 * started against yet gets it here, in this transaction). */
static int fleet_schema(struct import *im) {
        char v[32];
        int r = import_pg(im, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", NULL, NULL);
        if (r == 0)
                r = pg_value(im, "SELECT to_regclass('acctsec_meta') IS NOT NULL", NULL, v, sizeof(v));
        if (r == 0 && strcmp(v, "t") == 0)
                r = pg_value(im, "SELECT value FROM acctsec_meta WHERE key = 'schema_version'", NULL, v, sizeof(v));
        else
                v[0] = '\0';
        if (r < 0)
                return r;
        size_t have = (size_t) atoi(v);
        if (have > pgsql_migrations_count)
                return import_fail(im, -EPROTO, "the fleet's schema is version %zu, newer than this acctsecd knows"
                                   " (%zu): upgrade acctsec on this host", have, pgsql_migrations_count);
        for (size_t i = have; i < pgsql_migrations_count && r == 0; i++) {
                char n[24];
                snprintf(n, sizeof(n), "%zu", i + 1);
                const char *const p[] = { n, NULL };
                r = import_pg(im, pgsql_migrations[i], NULL, NULL);
                if (r == 0)
                        r = import_pg(im, "INSERT INTO acctsec_meta (key, value) VALUES ('schema_version', $1)"
                                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", p, NULL);
        }
        return r;
}

/* The fleet key's id, recorded by the first host (or by us, first), must
 * be ours; and this host's state moves in once. */
static int fleet_checks(struct import *im) {
        char fleet[64], done[64], mark[128];
        const char *const id[] = { im->key_id, NULL };
        int r = import_pg(im, "INSERT INTO acctsec_meta (key, value) VALUES ('fleet_key_id', $1)"
                              " ON CONFLICT (key) DO NOTHING", id, NULL);
        if (r == 0)
                r = pg_value(im, "SELECT value FROM acctsec_meta WHERE key = 'fleet_key_id'", NULL, fleet,
                             sizeof(fleet));
        if (r < 0)
                return r;
        if (strcmp(fleet, im->key_id) != 0)
                return import_fail(im, -EKEYREJECTED,
                                   "the fleet key (id %s) is not the fleet's (id %s): copy the fleet's key file"
                                   " to this host", im->key_id, fleet);
        snprintf(mark, sizeof(mark), "imported:%s", im->host_id);
        const char *const key[] = { mark, NULL };
        r = pg_value(im, "SELECT to_char(to_timestamp(value::bigint) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                         " FROM acctsec_meta WHERE key = $1", key, done, sizeof(done));
        if (r == 0 && done[0])
                return import_fail(im, -EEXIST,
                                   "the state of host %s was imported on %s UTC: importing it again would add its"
                                   " events and history twice", im->host_id, done);
        if (r == 0)
                r = import_pg(im, "INSERT INTO acctsec_meta (key, value)"
                                  " VALUES ($1, floor(extract(epoch FROM now()))::bigint::text)", key, NULL);
        return r;
}

/* One transaction, whose new rows name this host and the fleet key. */
static int fleet_begin(struct import *im) {
        const char *const p[] = { im->host_id, im->key_id, NULL };
        int r = import_pg(im, "BEGIN", NULL, NULL);
        if (r == 0)
                r = import_pg(im, "SELECT set_config('acctsec.host_id', $1, true),"
                                  " set_config('acctsec.key_id', $2, true)", p, NULL);
        if (r == 0)
                r = fleet_schema(im);
        if (r == 0)
                r = fleet_checks(im);
        return r;
}

static int run(struct import *im, const struct acctsec_conf *c) {
        int r = load_keys(im, c);
        if (r == 0)
                r = open_host_db(im);
        if (r == 0)
                r = connect_fleet(im, c->postgresql);
        if (r == 0)
                r = fleet_begin(im);
        if (r == 0 && !(im->results = calloc(import_tables_count, sizeof(*im->results))))
                r = import_fail(im, -ENOMEM, "out of memory");
        for (size_t i = 0; r == 0 && i < import_tables_count; i++)
                r = import_table_run(im, i);
        if (r == 0)
                r = import_pg(im, im->o->dry_run ? "ROLLBACK" : "COMMIT", NULL, NULL);
        im->committed = r == 0 && !im->o->dry_run;
        return r;
}

static void cleanup(struct import *im) {
        for (size_t i = 0; im->results && i < import_tables_count; i++) {
                PQclear(im->results[i].counts);
                PQclear(im->results[i].lines);
        }
        free(im->results);
        if (im->pg)
                PQfinish(im->pg); /* an open transaction is rolled back */
        if (im->lite)
                sqlite3_close(im->lite);
        acctsec_wipe(im->host_key, sizeof(im->host_key));
        acctsec_wipe(im->fleet_key, sizeof(im->fleet_key));
}

int import_main(const struct import_options *o) {
        struct import im = { .o = o };
        struct policy p = { 0 };

        int r = sodium_init() < 0 ? import_fail(&im, -EIO, "libsodium cannot start") : 0;
        if (r == 0)
                r = load_config(&im, &p);
        if (r == 0)
                r = run(&im, &p.global);
        if (r == 0)
                import_report_print(&im);
        else
                import_report_error(&im);
        cleanup(&im);
        policy_free(&p);
        return r == 0 ? 0 : 1;
}
