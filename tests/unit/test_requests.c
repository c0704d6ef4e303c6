/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The request table against its other copies: every request type of
 * common/proto.h has a row and a handler (and nothing else has one);
 * doc/protocol.md's table has each type with the table's number, name, who
 * may send it, whether it writes, its rate limit and whether its reply is
 * deferred; the integration tests' OP_ constants have the protocol's
 * numbers.  ACCTSEC_PRINT_TABLE=1 prints the documentation's columns.
 */
#include "config.h"

#include "unit.h"

#include <ctype.h>

#include "request.h"

static const struct {
        const char *name;
        int number;
} ops[] = {
#define OP_ROW(name, number, wire) { #name, number },
        ACCTSEC_OPS(OP_ROW)
#undef OP_ROW
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static char *slurp(const char *rel) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", TOP_SRCDIR, rel);
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("cannot read %s", path);
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        return strdup(buf);
}

static void every_type_has_a_row(void **state) {
        (void) state;
        for (int op = 0; op < 256; op++) {
                bool in_proto = false;
                for (size_t i = 0; i < NOPS; i++)
                        in_proto |= ops[i].number == op;
                const struct request_type *t = request_type_of((uint8_t) op);
                if (in_proto != (t != NULL))
                        fail_msg("op %d: %s in the protocol, %s in the table", op, in_proto ? "" : "not",
                                 t ? "a row" : "no row");
                if (!t)
                        continue;
                assert_non_null(t->handler);
                if (t->access == ACCESS_LOGIN) /* its authorization is login_prologue() */
                        assert_true(t->login);
                if (t->access == ACCESS_ROOT || t->access == ACCESS_ADMIN || t->access == ACCESS_OWN ||
                    t->access == ACCESS_READERS)
                        assert_true(t->access == ACCESS_OWN && t->others == OTHERS_NOBODY ? true : !!t->refusal);
                if (t->access == ACCESS_ADMIN)
                        assert_int_not_equal(t->rate, RATE_FREE);
                if (t->deferred)
                        assert_true(t->writes || t->access == ACCESS_ROOT);
                /* Answered without the store: never refused (a refusal is
                 * logged in the store), never a write. */
                if (t->offline)
                        assert_true(t->access == ACCESS_ANYONE && !t->writes && t->rate == RATE_FREE);
        }
}

/* "| 2  | `PREAUTH` | sent by | who | writes | rate | deferred |" */
static void the_documentation_agrees(void **state) {
        (void) state;
        char *doc = slurp("doc/protocol.md");
        for (size_t i = 0; getenv("ACCTSEC_PRINT_TABLE") && i < NOPS; i++) {
                char want[512];
                assert_int_equal(request_type_describe((uint8_t) ops[i].number, want, sizeof(want)), 0);
                printf("| %d | `%s` | %s |\n", ops[i].number, ops[i].name, want);
        }
        for (size_t i = 0; i < NOPS; i++) {
                char want[512], needle[64];
                assert_int_equal(request_type_describe((uint8_t) ops[i].number, want, sizeof(want)), 0);
                snprintf(needle, sizeof(needle), "| `%s`", ops[i].name);
                char *row = NULL;
                for (char *p = doc; (p = strstr(p, needle)); p++) {
                        char *start = p;
                        while (start > doc && start[-1] != '\n')
                                start--;
                        if (atoi(start + 1) == ops[i].number && start[0] == '|') {
                                row = start;
                                break;
                        }
                }
                if (!row)
                        fail_msg("doc/protocol.md has no row \"| %d | `%s`\"", ops[i].number, ops[i].name);
                char *end = strchr(row, '\n');
                char line[1024];
                snprintf(line, sizeof(line), "%.*s", (int) (end ? end - row : (long) strlen(row)), row);
                if (!strstr(line, want))
                        fail_msg("doc/protocol.md: %s\n  wants the columns: %s", line, want);
        }
        free(doc);
}

/* "| 95  | `RULES`  |" rows of the tag table, for the tags clients read
 * by number (a page built on the CLI's JSON relies on these). */
static void the_tag_table_agrees(void **state) {
        (void) state;
        static const struct {
                int tag;
                const char *name;
        } tags[] = {
                { ACCTSEC_TAG_USER, "USER" },       { ACCTSEC_TAG_FLAG, "FLAG" },
                { ACCTSEC_TAG_HOST, "HOST" },       { ACCTSEC_TAG_TIME, "TIME" },
                { ACCTSEC_TAG_REVOKED, "REVOKED" }, { ACCTSEC_TAG_RULES, "RULES" },
                { ACCTSEC_TAG_SELF_CHANGE, "SELF_CHANGE" },
        };
        char *doc = slurp("doc/protocol.md");
        const char *table = strstr(doc, "### Tags");
        assert_non_null(table);
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
                char number[16], name[64], row[1024] = "";
                snprintf(number, sizeof(number), "\n| %d ", tags[i].tag);
                snprintf(name, sizeof(name), "| `%s` ", tags[i].name);
                const char *p = strstr(table, number);
                if (p)
                        snprintf(row, sizeof(row), "%.*s", (int) strcspn(p + 1, "\n"), p + 1);
                /* the columns are padded: "| 95  | `RULES`        |" */
                for (char *q = row; (q = strstr(q, "  ")); )
                        memmove(q, q + 1, strlen(q));
                if (!strstr(row, name))
                        fail_msg("doc/protocol.md: no tag row \"| %d | `%s`\": %s", tags[i].tag, tags[i].name, row);
        }
        free(doc);
}

/* OP_A, OP_B = 1, 2 lines in tests/integration/test_daemon.py. */
static void the_tests_constants_agree(void **state) {
        (void) state;
        char *py = slurp("tests/integration/test_daemon.py");
        size_t checked = 0;
        for (char *line = strtok(py, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "OP_", 3) != 0 || !strchr(line, '='))
                        continue;
                char *eq = strchr(line, '=');
                *eq = 0;
                char *names = line, *values = eq + 1, *sn, *sv;
                for (char *n = strtok_r(names, ", ", &sn), *v = strtok_r(values, ", ", &sv); n && v;
                     n = strtok_r(NULL, ", ", &sn), v = strtok_r(NULL, ", ", &sv)) {
                        if (strncmp(n, "OP_", 3) != 0)
                                continue;
                        bool found = false;
                        for (size_t i = 0; i < NOPS; i++)
                                if (strcmp(ops[i].name, n + 3) == 0) {
                                        found = true;
                                        if (ops[i].number != atoi(v))
                                                fail_msg("test_daemon.py: %s = %s, the protocol says %d", n, v,
                                                         ops[i].number);
                                }
                        if (!found)
                                fail_msg("test_daemon.py: %s is no request type", n);
                        checked++;
                }
        }
        assert_true(checked >= 10);
        free(py);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_type_has_a_row),
                cmocka_unit_test(the_documentation_agrees),
                cmocka_unit_test(the_tag_table_agrees),
                cmocka_unit_test(the_tests_constants_agree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
