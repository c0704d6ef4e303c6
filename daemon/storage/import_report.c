/* SPDX-License-Identifier: BSD-3-Clause */
/* The import's report: per table, how many of the host's rows were
 * imported, merged, already there, kept as the fleet had them, or could
 * not move; then one line per user for everything that needs an admin's
 * eye (a conflict, a secret to make again).  Text, or one JSON document. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import_internal.h"

static const char *const outcomes[IMPORT_OUTCOME_COUNT] = IMPORT_OUTCOMES;
static const char *const headings[IMPORT_OUTCOME_COUNT] = { "IMPORTED", "MERGED", "SAME", "KEPT-FLEET'S",
                                                            "NOT-IMPORTABLE" };

/* A column as wide as its heading, and at least 8. */
static int width(int o) {
        int n = (int) strlen(headings[o]);
        return n > 8 ? n : 8;
}

static long long count_of(const PGresult *counts, const char *outcome) {
        for (int r = 0; counts && r < PQntuples(counts); r++)
                if (strcmp(PQgetvalue(counts, r, 0), outcome) == 0)
                        return atoll(PQgetvalue(counts, r, 1));
        return 0;
}

/* User names (sshd passes any on, and failures of unknown ones are
 * tallied), addresses and names may hold anything: control characters are
 * escaped, as \xNN in text (as acctsec(1) does) and \u00NN in JSON. */
static void put_escaped(const char *s, bool json) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (json && (*p == '"' || *p == '\\'))
                        printf("\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        printf(json ? "\\u%04x" : "\\x%02x", *p);
                else
                        putchar(*p);
        }
}

static void json_string(const char *s) {
        putchar('"');
        put_escaped(s, true);
        putchar('"');
}

/* The user a line is about; '' is the global allowlist. */
static const char *who(const PGresult *lines, int row) {
        const char *u = PQgetvalue(lines, row, 0);
        return u[0] ? u : "(the global list)";
}

static int line_count(const struct import *im) {
        int n = 0;
        for (size_t i = 0; i < import_tables_count; i++)
                n += PQntuples(im->results[i].lines);
        return n;
}

static void print_text(const struct import *im) {
        printf("%s of %s (host %s) into the fleet (key id %s)%s\n\n", im->o->dry_run ? "Dry run of the import"
                                                                                     : "Imported the state",
               im->o->state_dir, im->host_id, im->key_id, im->o->dry_run ? ": nothing was written" : "");
        printf("%-18s", "TABLE");
        for (int o = 0; o < IMPORT_OUTCOME_COUNT; o++)
                printf(" %*s", width(o), headings[o]);
        putchar('\n');
        for (size_t i = 0; i < import_tables_count; i++) {
                printf("%-18s", import_tables[i].name);
                for (int o = 0; o < IMPORT_OUTCOME_COUNT; o++)
                        printf(" %*lld", width(o), count_of(im->results[i].counts, outcomes[o]));
                putchar('\n');
        }
        printf("\n%d conflict%s and rows that did not move%s\n", line_count(im), line_count(im) == 1 ? "" : "s",
               line_count(im) ? ":" : ".");
        for (size_t i = 0; i < import_tables_count; i++) {
                const PGresult *l = im->results[i].lines;
                for (int r = 0; r < PQntuples(l); r++) {
                        const char *items = PQgetvalue(l, r, 3);
                        long long rows = atoll(PQgetvalue(l, r, 2));
                        printf("  %s: ", import_tables[i].name);
                        put_escaped(who(l, r), false);
                        printf(": ");
                        put_escaped(PQgetvalue(l, r, 1), false);
                        if (items[0]) {
                                printf(" [");
                                put_escaped(items, false);
                                putchar(']');
                        } else if (rows > 1)
                                printf(" [%lld rows]", rows);
                        putchar('\n');
                }
        }
}

static void json_tables(const struct import *im) {
        printf("\"tables\":{");
        for (size_t i = 0; i < import_tables_count; i++) {
                printf("%s\"%s\":{", i ? "," : "", import_tables[i].name);
                for (int o = 0; o < IMPORT_OUTCOME_COUNT; o++)
                        printf("%s\"%s\":%lld", o ? "," : "", outcomes[o], count_of(im->results[i].counts,
                                                                                    outcomes[o]));
                putchar('}');
        }
        putchar('}');
}

static void json_lines(const struct import *im) {
        bool first = true;
        printf("\"conflicts\":[");
        for (size_t i = 0; i < import_tables_count; i++) {
                const PGresult *l = im->results[i].lines;
                for (int r = 0; r < PQntuples(l); r++, first = false) {
                        printf("%s{\"table\":\"%s\",\"user\":", first ? "" : ",", import_tables[i].name);
                        json_string(PQgetvalue(l, r, 0));
                        printf(",\"what\":");
                        json_string(PQgetvalue(l, r, 1));
                        /* items: the server's json_agg, already JSON */
                        printf(",\"rows\":%s,\"items\":%s}", PQgetvalue(l, r, 2), PQgetvalue(l, r, 4));
                }
        }
        putchar(']');
}

static void print_json(const struct import *im) {
        printf("{\"state_dir\":");
        json_string(im->o->state_dir);
        printf(",\"host_id\":");
        json_string(im->host_id);
        printf(",\"fleet_key_id\":\"%s\",\"dry_run\":%s,\"committed\":%s,\"host_key_is_fleet_key\":%s,", im->key_id,
               im->o->dry_run ? "true" : "false", im->committed ? "true" : "false",
               im->keys_equal ? "true" : "false");
        json_tables(im);
        putchar(',');
        json_lines(im);
        printf("}\n");
}

void import_report_print(const struct import *im) {
        if (im->o->json)
                print_json(im);
        else
                print_text(im);
        fflush(stdout);
}

void import_report_error(const struct import *im) {
        fprintf(stderr, "acctsecd --import-from: %s; nothing was imported\n", im->why[0] ? im->why : "failed");
        if (im->o->json) {
                printf("{\"error\":");
                json_string(im->why);
                printf(",\"exit_status\":1}\n");
        }
}
