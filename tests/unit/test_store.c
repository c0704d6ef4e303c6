/* SPDX-License-Identifier: BSD-3-Clause */
/* Group commit in daemon/storage/store.c on a real SQLite store: inside a batch a
 * request's rollback undoes only that request, nothing is visible to
 * another connection (nothing is durable) before store_batch_commit(), and
 * a batch whose COMMIT fails loses every request in it. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_sqlite.h"
#include "txn.h"
#include "store_dir.h"

struct fx {
        char dir[64];
        struct store s;
        sqlite3 *other; /* another connection: sees only what committed */
        unsigned opened; /* batches opened (the server's hook) */
};

static void on_open(void *userdata) {
        ((struct fx *) userdata)->opened++;
}

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        const char *why = NULL;
        char path[128];
        strcpy(f->dir, "/tmp/acctsec-store.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(store_open(&f->s, f->dir, &why), 0);
        snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
        assert_int_equal(sqlite3_open(path, &f->other), SQLITE_OK);
        f->s.on_batch_open = on_open;
        f->s.batch_userdata = f;
        f->s.batching = true;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        sqlite3_close(f->other);
        store_close(&f->s);
        assert_int_equal(store_dir_remove(f->dir), 0);
        free(f);
        return 0;
}

static int64_t count(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st;
        int64_t n = -1;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return n;
}

static int exec(struct store *s, const char *sql) {
        return sqlite3_exec(store_sqlite_db(s), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* A write through the interface: it opens the request's transaction. */
static void add_tally(struct store *s, const char *user) {
        assert_int_equal(store_exec(s, Q_TALLY_INSERT, STORE_ARGS(A_TEXT(user), A_TEXT(""), A_INT(1), A_INT(0),
                                                                  A_INT(0), A_INT(0))),
                         1);
}

/* One request: a tally row for user, committed or rolled back. */
static void request(struct fx *f, const char *user, bool commit) {
        txn_begin(&f->s);
        add_tally(&f->s, user);
        assert_int_equal(txn_end(&f->s, commit), 0);
}

static void batch_shares_one_commit(void **state) {
        struct fx *f = *state;
        uint64_t commits = f->s.commits, transactions = f->s.transactions;
        request(f, "a", true);
        request(f, "b", false); /* its own part only */
        request(f, "c", true);
        /* Later requests see earlier ones; nobody else does yet. */
        assert_int_equal(count(store_sqlite_db(&f->s), "SELECT count(*) FROM lockout"), 2);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout"), 0);
        assert_int_equal(f->opened, 1);
        assert_true(f->s.batch_open);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_false(f->s.batch_open);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout WHERE user IN ('a', 'c')"), 2);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout"), 2);
        assert_int_equal(f->s.transactions - transactions, 2);
        assert_int_equal(f->s.commits - commits, 1);
        assert_int_equal(store_batch_commit(&f->s), 0); /* nothing open: nothing to do */
        request(f, "d", true);
        assert_int_equal(f->opened, 2);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout"), 3);
}

static void no_commit_inside_a_transaction(void **state) {
        struct fx *f = *state;
        txn_begin(&f->s);
        assert_false(f->s.batch_open); /* a request that only reads opens nothing */
        add_tally(&f->s, "e");
        assert_int_equal(store_batch_commit(&f->s), -EBUSY);
        assert_true(f->s.batch_open);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout WHERE user = 'e'"), 1);
}

/* A deferred foreign key fails at the outer COMMIT only: the RELEASEs
 * before it succeeded, yet nothing of the batch may remain. */
static void failed_commit_loses_the_whole_batch(void **state) {
        struct fx *f = *state;
        f->s.batching = false;
        assert_int_equal(exec(&f->s, "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                                     "CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"),
                         0);
        f->s.batching = true;
        uint64_t commits = f->s.commits;
        request(f, "f", true);
        txn_begin(&f->s);
        add_tally(&f->s, "f2");
        assert_int_equal(exec(&f->s, "INSERT INTO child (p) VALUES (42)"), 0);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_not_equal(store_batch_commit(&f->s), 0);
        assert_false(f->s.batch_open);
        assert_true(sqlite3_get_autocommit(store_sqlite_db(&f->s)));
        assert_int_equal(f->s.commits, commits);
        assert_int_equal(count(store_sqlite_db(&f->s), "SELECT count(*) FROM lockout WHERE user = 'f'"), 0);
        assert_int_equal(count(store_sqlite_db(&f->s), "SELECT count(*) FROM child"), 0);
        /* The next batch starts clean. */
        request(f, "g", true);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout WHERE user = 'g'"), 1);
}

/* Outside the server (batching off) every commit is durable at once. */
static void without_batching_each_commit_is_durable(void **state) {
        struct fx *f = *state;
        f->s.batching = false;
        uint64_t commits = f->s.commits;
        request(f, "h", true);
        assert_false(f->s.batch_open);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout WHERE user = 'h'"), 1);
        request(f, "i", false);
        assert_int_equal(count(f->other, "SELECT count(*) FROM lockout WHERE user = 'i'"), 0);
        assert_int_equal(f->s.commits - commits, 1);
        assert_int_equal(f->opened, 0);
}

/* The engine has a statement for every operation of the catalogue, and
 * each compiles against the schema the migrations made. */
static void every_operation_has_a_statement(void **state) {
        struct fx *f = *state;
        enum store_query bad = 0;
        int r = store_sqlite_check(&f->s, &bad);
        if (r < 0)
                fail_msg("%s: %s", store_query_name(bad), r == -ENOENT ? "no SQLite statement" : "does not compile");
        assert_true(_Q_MAX > 50);
        for (int q = 0; q < _Q_MAX; q++) /* every name says what its kind is */
                assert_in_range(store_query_kind((enum store_query) q), STORE_READ, STORE_LOG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(every_operation_has_a_statement, setup, teardown),
                cmocka_unit_test_setup_teardown(batch_shares_one_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(no_commit_inside_a_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(failed_commit_loses_the_whole_batch, setup, teardown),
                cmocka_unit_test_setup_teardown(without_batching_each_commit_is_durable, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
