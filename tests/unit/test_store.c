/* SPDX-License-Identifier: BSD-3-Clause */
/* Group commit in daemon/storage/store.c on a real SQLite store: inside a batch a
 * request's rollback undoes only that request, nothing is visible to
 * another connection (nothing is durable) before store_batch_commit(), and
 * a batch whose COMMIT fails loses every request in it. */
#include "config.h"

#include "unit.h"

#include "store_sqlite.h"
#include "store_fixture.h"

static unsigned opened; /* batches opened (the server's hook) */

static void on_open(void *userdata) {
        (*(unsigned *) userdata)++;
}

static int setup(void **state) {
        store_setup(state);
        struct store_fixture *f = *state;
        opened = 0;
        f->s.on_batch_open = on_open;
        f->s.batch_userdata = &opened;
        f->s.batching = true;
        return 0;
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
static void request(struct store_fixture *f, const char *user, bool commit) {
        txn_begin(&f->s);
        add_tally(&f->s, user);
        assert_int_equal(txn_end(&f->s, commit), 0);
}

static void batch_shares_one_commit(void **state) {
        struct store_fixture *f = *state;
        uint64_t commits = f->s.commits, transactions = f->s.transactions;
        request(f, "a", true);
        request(f, "b", false); /* its own part only */
        request(f, "c", true);
        /* Later requests see earlier ones; nobody else does yet. */
        assert_int_equal(sql_int(store_sqlite_db(&f->s), "SELECT count(*) FROM lockout"), 2);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 0);
        assert_int_equal(opened, 1);
        assert_true(f->s.batch_open);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_false(f->s.batch_open);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE user IN ('a', 'c')"), 2);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 2);
        assert_int_equal(f->s.transactions - transactions, 2);
        assert_int_equal(f->s.commits - commits, 1);
        assert_int_equal(store_batch_commit(&f->s), 0); /* nothing open: nothing to do */
        request(f, "d", true);
        assert_int_equal(opened, 2);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout"), 3);
}

static void no_commit_inside_a_transaction(void **state) {
        struct store_fixture *f = *state;
        txn_begin(&f->s);
        assert_false(f->s.batch_open); /* a request that only reads opens nothing */
        add_tally(&f->s, "e");
        assert_int_equal(store_batch_commit(&f->s), -EBUSY);
        assert_true(f->s.batch_open);
        assert_int_equal(txn_end(&f->s, true), 0);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE user = 'e'"), 1);
}

/* A deferred foreign key fails at the outer COMMIT only: the RELEASEs
 * before it succeeded, yet nothing of the batch may remain. */
static void failed_commit_loses_the_whole_batch(void **state) {
        struct store_fixture *f = *state;
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
        assert_int_equal(sql_int(store_sqlite_db(&f->s), "SELECT count(*) FROM lockout WHERE user = 'f'"), 0);
        assert_int_equal(sql_int(store_sqlite_db(&f->s), "SELECT count(*) FROM child"), 0);
        /* The next batch starts clean. */
        request(f, "g", true);
        assert_int_equal(store_batch_commit(&f->s), 0);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE user = 'g'"), 1);
}

/* Outside the server (batching off) every commit is durable at once. */
static void without_batching_each_commit_is_durable(void **state) {
        struct store_fixture *f = *state;
        f->s.batching = false;
        uint64_t commits = f->s.commits;
        request(f, "h", true);
        assert_false(f->s.batch_open);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE user = 'h'"), 1);
        request(f, "i", false);
        assert_int_equal(peek_int(f, "SELECT count(*) FROM lockout WHERE user = 'i'"), 0);
        assert_int_equal(f->s.commits - commits, 1);
        assert_int_equal(opened, 0);
}

/* The engine has a statement for every operation of the catalogue, and
 * each compiles against the schema the migrations made. */
static void every_operation_has_a_statement(void **state) {
        struct store_fixture *f = *state;
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
                store_unit_test_setup(every_operation_has_a_statement, setup),
                store_unit_test_setup(batch_shares_one_commit, setup),
                store_unit_test_setup(no_commit_inside_a_transaction, setup),
                store_unit_test_setup(failed_commit_loses_the_whole_batch, setup),
                store_unit_test_setup(without_batching_each_commit_is_durable, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
