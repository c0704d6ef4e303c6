/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PostgreSQL dialect (daemon/storage/pgsql_sql.c) against a real server:
 *
 *   pg_catalogue_check CONNINFO     apply every migration in one transaction
 *                                   (commit), then prepare every operation's
 *                                   statement with no parameter types given
 *   pg_catalogue_check --print NAME print the statement of operation NAME
 *   pg_catalogue_check --list       print "NAME PARAMS" per operation
 *
 * A statement fails when it is missing, does not prepare, or PostgreSQL
 * infers a parameter count other than its highest $N, a parameter type
 * other than bigint, text or bytea, or a result column type other than
 * those (the engine binds and reads only these).  One line per operation;
 * exit 1 on any failure, 2 on a usage or connection error.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgsql_sql.h"

/* pg_type.h's OIDs (server headers are not part of libpq-dev). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

static const char *const names[_Q_MAX] = {
#define NAME_OF(n, k) [Q_##n] = #n,
        STORE_QUERIES(NAME_OF)
#undef NAME_OF
};

/* The highest $N in the text: the parameters the statement names. */
static int highest_param(const char *sql) {
        int max = 0;
        for (const char *p = sql; (p = strchr(p, '$')); p++)
                if (isdigit((unsigned char) p[1])) {
                        int n = atoi(p + 1);
                        if (n > max)
                                max = n;
                }
        return max;
}

static int find(const char *name) {
        for (int q = 0; q < _Q_MAX; q++)
                if (strcmp(names[q], name) == 0)
                        return q;
        return -1;
}

static const char *type_name(Oid t) {
        switch (t) {
        case OID_BYTEA:
                return "bytea";
        case OID_INT8:
                return "bigint";
        case OID_TEXT:
                return "text";
        default:
                return NULL;
        }
}

/* "bigint,text,..." into buf; false when a type is not one the engine uses. */
static bool describe_types(const PGresult *d, bool params, char *buf, size_t size) {
        int n = params ? PQnparams(d) : PQnfields(d);
        bool ok = true;
        size_t used = 0;
        buf[0] = 0;
        for (int i = 0; i < n && used < size; i++) {
                Oid t = params ? PQparamtype(d, i) : PQftype(d, i);
                const char *name = type_name(t);
                ok = ok && name;
                int w = name ? snprintf(buf + used, size - used, "%s%s", i ? "," : "", name)
                             : snprintf(buf + used, size - used, "%s(oid %u)", i ? "," : "", (unsigned) t);
                used += w > 0 ? (size_t) w : 0;
        }
        return ok;
}

static bool exec_ok(PGconn *c, const char *sql, const char *what) {
        PGresult *r = PQexec(c, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
                printf("FAIL %s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return ok;
}

static bool migrate(PGconn *c) {
        char what[64];
        if (!exec_ok(c, "BEGIN", "BEGIN"))
                return false;
        for (size_t i = 0; i < pgsql_migrations_count; i++) {
                snprintf(what, sizeof(what), "migration %zu", i + 1);
                if (!exec_ok(c, pgsql_migrations[i], what)) {
                        (void) exec_ok(c, "ROLLBACK", "ROLLBACK");
                        return false;
                }
        }
        if (!exec_ok(c, "COMMIT", "COMMIT"))
                return false;
        printf("ok migrations 1..%zu\n", pgsql_migrations_count);
        return true;
}

static bool check_one(PGconn *c, int q) {
        char stmt[32], ptypes[512], ctypes[512];
        if (!pgsql_sql[q]) {
                printf("FAIL %d %s: no PostgreSQL statement\n", q, names[q]);
                return false;
        }
        snprintf(stmt, sizeof(stmt), "q%d", q);
        PGresult *r = PQprepare(c, stmt, pgsql_sql[q], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                printf("FAIL %d %s: %s", q, names[q], PQresultErrorMessage(r));
                PQclear(r);
                return false;
        }
        PQclear(r);
        PGresult *d = PQdescribePrepared(c, stmt);
        if (PQresultStatus(d) != PGRES_COMMAND_OK) {
                printf("FAIL %d %s: describe: %s", q, names[q], PQresultErrorMessage(d));
                PQclear(d);
                return false;
        }
        int nparams = PQnparams(d), highest = highest_param(pgsql_sql[q]);
        bool params_ok = describe_types(d, true, ptypes, sizeof(ptypes));
        bool cols_ok = describe_types(d, false, ctypes, sizeof(ctypes));
        bool ok = params_ok && cols_ok && nparams == highest;
        printf("%s %d %s: %d parameters (highest $%d) [%s] -> %d columns [%s]\n", ok ? "ok" : "FAIL", q, names[q],
               nparams, highest, ptypes, PQnfields(d), ctypes);
        PQclear(d);
        return ok;
}

int main(int argc, char **argv) {
        if (argc == 3 && strcmp(argv[1], "--print") == 0) {
                int q = find(argv[2]);
                if (q < 0 || !pgsql_sql[q])
                        return fprintf(stderr, "no operation %s\n", argv[2]), 2;
                printf("%s\n", pgsql_sql[q]);
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "--list") == 0) {
                for (int q = 0; q < _Q_MAX; q++)
                        printf("%s %d\n", names[q], pgsql_sql[q] ? highest_param(pgsql_sql[q]) : -1);
                return 0;
        }
        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "usage: %s CONNINFO | --print NAME | --list\n", argv[0]);
                return 2;
        }
        PGconn *c = PQconnectdb(argv[1]);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
                PQfinish(c);
                return 2;
        }
        int failed = 0;
        if (!migrate(c))
                failed++;
        else
                for (int q = 0; q < _Q_MAX; q++)
                        failed += !check_one(c, q);
        printf("%d of %d operations failed\n", failed, (int) _Q_MAX);
        PQfinish(c);
        return failed ? 1 : 0;
}
