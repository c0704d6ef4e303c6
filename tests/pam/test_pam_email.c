/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tier 3, emailed codes: password, then a code the daemon mails into a
 * Maildir, read back here by the conversation function (as a user reads
 * their mail), through the real stack and a real acctsecd.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpamtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define MAX_MAILS 64

/* Mail already read: each test's new mail is exactly the files not seen. */
static char seen[MAX_MAILS][256];
static int nseen;

struct mail {
        char to[256];
        char code[16];
        char text[8192];
};

/* The one mail that arrived since the last call; fails on none or several. */
static void take_mail(struct env *e, struct mail *m) {
        char dir[PATH_MAX + 8], path[PATH_MAX + 300], fresh[256] = "";
        int nfresh = 0;
        snprintf(dir, sizeof(dir), "%s/new", e->maildir);
        DIR *d = opendir(dir);
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));) {
                bool old = de->d_name[0] == '.';
                for (int i = 0; i < nseen && !old; i++)
                        old = strcmp(seen[i], de->d_name) == 0;
                if (!old) {
                        snprintf(fresh, sizeof(fresh), "%s", de->d_name);
                        nfresh++;
                }
        }
        closedir(d);
        if (nfresh != 1)
                fail_msg("expected exactly one new mail in %s, found %d", dir, nfresh);
        assert_true(nseen < MAX_MAILS);
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", fresh);
        snprintf(path, sizeof(path), "%s/%s", dir, fresh);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t k = fread(m->text, 1, sizeof(m->text) - 1, f);
        m->text[k] = '\0';
        fclose(f);
        const char *to = strstr(m->text, "\r\nTo: ");
        assert_non_null(to);
        sscanf(to + 6, "%255[^\r\n]", m->to);
        const char *c = strstr(m->text, "code is: ");
        if (!c)
                c = strstr(m->text, " is: ");
        assert_non_null(c);
        c = strstr(c, ": ") + 2;
        assert_int_equal(sscanf(c, "%15[0-9]", m->code), 1);
}

static int new_mails(struct env *e) {
        char dir[PATH_MAX + 8];
        int n = 0;
        snprintf(dir, sizeof(dir), "%s/new", e->maildir);
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                bool old = de->d_name[0] == '.';
                for (int i = 0; i < nseen && !old; i++)
                        old = strcmp(seen[i], de->d_name) == 0;
                n += !old;
        }
        closedir(d);
        return n;
}

static void conf(struct env *e, const char *extra) {
        char text[2048];
        snprintf(text, sizeof(text), "mail_transport = maildir\nmaildir = %s\nmail_from = acctsec@test.example\n%s",
                 e->maildir, extra);
        env_reconfigure(e, text);
}

static int start(void **state) {
        char cmd[PATH_MAX + 32];
        int r = env_start(state);
        struct env *e = *state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->maildir);
        assert_int_equal(system(cmd), 0);
        nseen = 0;
        conf(e, "");
        return r;
}

/* An admin's address counts as verified; mfa=required makes it the factor. */
static void set_address(struct env *e, const char *user, const char *address) {
        char out[1024];
        const char *set[] = { "email", "set", address, "--user", user, NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), set), 0);
}

/* What the conversation answers to the second echo-off prompt onward. */
enum step { MAILED, LITERAL, RESEND, OLD, NESTED, EXPIRE };

struct script {
        struct env *e;
        const char *password;
        enum step steps[6];
        const char *literal;
        int nsteps, at;
        char code[16];      /* the code of the last mail read */
        char first[16];     /* the first code this attempt got */
        char nested[16];    /* the code a nested login used */
        char info[8][PAM_MAX_MSG_SIZE];  /* PAM_TEXT_INFO */
        char error[8][PAM_MAX_MSG_SIZE]; /* PAM_ERROR_MSG */
        int ninfo, nerror;
        int prompts;
};

static int run(struct script *s, const char *service, const char *user);

static const char *answer(struct script *s) {
        struct mail m;
        if (s->prompts++ == 0)
                return s->password;
        if (s->at == 0) { /* the first code prompt: the first mail is here */
                take_mail(s->e, &m);
                strcpy(s->code, m.code);
                strcpy(s->first, m.code);
        }
        switch (s->at < s->nsteps ? s->steps[s->at++] : MAILED) {
        case LITERAL:
                return s->literal;
        case RESEND:
                return "resend";
        case OLD:
                return s->first;
        case NESTED: {
                struct script inner = { .e = s->e, .password = ALICE_PW };
                assert_int_equal(run(&inner, "mfareq", "alice"), PAM_SUCCESS);
                strcpy(s->nested, inner.code);
                return s->code;
        }
        case EXPIRE:
                db_exec(s->e, "UPDATE email_codes SET expires = 1");
                return s->code;
        case MAILED:
        default:
                if (new_mails(s->e) == 1) { /* after a resend */
                        take_mail(s->e, &m);
                        strcpy(s->code, m.code);
                }
                return s->code;
        }
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
        struct script *s = data;
        struct pam_response *r = calloc((size_t) n, sizeof(*r));
        assert_non_null(r);
        for (int i = 0; i < n; i++)
                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                case PAM_PROMPT_ECHO_ON:
                        r[i].resp = strdup(answer(s));
                        break;
                case PAM_TEXT_INFO:
                        if (s->ninfo < 8)
                                snprintf(s->info[s->ninfo++], sizeof(s->info[0]), "%s", msg[i]->msg);
                        break;
                case PAM_ERROR_MSG:
                        if (s->nerror < 8)
                                snprintf(s->error[s->nerror++], sizeof(s->error[0]), "%s", msg[i]->msg);
                        break;
                }
        *resp = r;
        return PAM_SUCCESS;
}

static int run(struct script *s, const char *service, const char *user) {
        struct pam_testcase tests[] = { pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS) };
        enum pamtest_err r = _pamtest_conv(service, user, conv, s, tests, 1, NULL); /* (libpamtest 1.1.4's run_pamtest_conv macro misses a parenthesis) */
        assert_true(r == PAMTEST_ERR_OK || r == PAMTEST_ERR_CASE);
        return tests[0].op_rv;
}

static void test_emailed_code_login(void **state) {
        struct env *e = *state;
        set_address(e, "alice", "alice@example.com");
        struct script s = { .e = e, .password = ALICE_PW };
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_SUCCESS);
        assert_true(any_line(s.info, s.ninfo, "a\u2022\u2022\u2022@example.com"));
        assert_int_equal(strlen(s.code), 6);
        /* The mail: to the address, the code never stored in clear. */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used' AND detail = 'emailed code'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM email_codes WHERE hash IS NOT NULL", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE detail LIKE '%' || ? || '%'", s.code), 0);
}

static void test_mail_headers(void **state) {
        struct env *e = *state;
        struct mail m;
        set_address(e, "alice", "alice@example.com");
        struct script s = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "" };
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_AUTH_ERR);
        /* Read the mail again from the file the script saw. */
        nseen--;
        take_mail(e, &m);
        assert_string_equal(m.to, "alice@example.com");
        assert_non_null(strstr(m.text, "From: acctsec@test.example\r\n"));
        assert_non_null(strstr(m.text, "\r\nSubject: "));
        assert_non_null(strstr(m.text, "valid for 30 minutes"));
}

static void test_code_single_use_and_bound_to_attempt(void **state) {
        struct env *e = *state;
        set_address(e, "alice", "alice@example.com");
        struct script a = { .e = e, .password = ALICE_PW };
        assert_int_equal(run(&a, "mfareq", "alice"), PAM_SUCCESS);
        /* The same code in a new login: that login has its own code. */
        struct script b = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = a.code };
        assert_int_equal(run(&b, "mfareq", "alice"), PAM_AUTH_ERR);
        assert_string_not_equal(a.code, b.code);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = 'alice'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_refused'", NULL), 1);
}

static void test_concurrent_attempts_get_different_codes(void **state) {
        struct env *e = *state;
        set_address(e, "alice", "alice@example.com");
        /* While the first login waits at its prompt, a second one runs whole. */
        struct script s = { .e = e, .password = ALICE_PW, .steps = { NESTED }, .nsteps = 1 };
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_SUCCESS);
        assert_int_equal(strlen(s.nested), 6);
        assert_string_not_equal(s.first, s.nested);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'auth_success'", NULL), 2);
        assert_int_equal(db_int(e, "SELECT count(DISTINCT attempt) FROM email_codes", NULL), 2);
}

static void test_resend_refused_during_interval(void **state) {
        struct env *e = *state;
        set_address(e, "alice", "alice@example.com");
        struct script s = { .e = e, .password = ALICE_PW, .steps = { RESEND, OLD }, .nsteps = 2 };
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_SUCCESS);
        assert_true(any_line(s.error, s.nerror, "you can ask for a new one in 2:") ||
                    any_line(s.error, s.nerror, "you can ask for a new one in 3:"));
        assert_int_equal(new_mails(e), 0); /* nothing was sent */
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent'", NULL), 1);
}

static void test_resend_voids_the_old_code(void **state) {
        struct env *e = *state;
        conf(e, "code_resend_interval = 0\n");
        set_address(e, "alice", "alice@example.com");
        struct script s = { .e = e, .password = ALICE_PW, .steps = { RESEND, OLD }, .nsteps = 2 };
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_AUTH_ERR);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent'", NULL), 2);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = 'alice'", NULL), 1);
        struct mail m;
        take_mail(e, &m); /* the resent one, not used */
        /* and the new code works */
        struct script t = { .e = e, .password = ALICE_PW, .steps = { RESEND, MAILED }, .nsteps = 2 };
        assert_int_equal(run(&t, "mfareq", "alice"), PAM_SUCCESS);
        assert_string_not_equal(t.first, t.code);
}

static void test_wrong_and_expired_codes_lock(void **state) {
        struct env *e = *state;
        set_address(e, "alice", "alice@example.com");
        struct script w1 = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "000000" };
        struct script w2 = w1;
        struct script x = { .e = e, .password = ALICE_PW, .steps = { EXPIRE }, .nsteps = 1 };
        int r1 = run(&w1, "mfareq", "alice");
        /* a wrong code may be right by chance once in a million; the rest is certain */
        assert_true(r1 == PAM_AUTH_ERR || strcmp(w1.code, "000000") == 0);
        assert_int_equal(run(&x, "mfareq", "alice"), PAM_AUTH_ERR);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE detail LIKE '%expired%'", NULL), 1);
        (void) run(&w2, "mfareq", "alice");
        assert_int_equal(db_int(e, "SELECT count(*) FROM lockout WHERE user = 'alice' AND locked_until != 0", NULL),
                         r1 == PAM_AUTH_ERR ? 1 : 0);
        /* Locked: even the right code is refused, and no mail is sent. */
        if (r1 == PAM_AUTH_ERR) {
                struct script l = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "1" };
                assert_int_equal(run(&l, "mfareq", "alice"), PAM_AUTH_ERR);
                assert_int_equal(new_mails(e), 0);
        }
}

static void test_failed_delivery_is_logged_and_told(void **state) {
        struct env *e = *state;
        conf(e, "mail_transport = sendmail\nsendmail_path = /bin/false\n");
        set_address(e, "alice", "alice@example.com");
        struct script s = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "123456" };
        s.at = 1; /* no mail to read first */
        assert_int_equal(run(&s, "mfareq", "alice"), PAM_AUTH_ERR);
        assert_true(any_line(s.error, s.nerror, "could not be sent to a\u2022\u2022\u2022@example.com"));
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_send_failed'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent'", NULL), 0);
        /* the code that was never delivered is void */
        assert_int_equal(db_int(e, "SELECT count(*) FROM email_codes WHERE hash IS NOT NULL", NULL), 0);
}

/* A user sets and verifies their own address, then turns codes on. */
static void test_self_service_address(void **state) {
        struct env *e = *state;
        char out[2048];
        struct mail m;
        const char *set[] = { "email", "set", "alice@example.org", NULL };
        const char *bad[] = { "email", "set", "alice@example.org\r\nBcc: x@evil.example", NULL };
        const char *wrong[] = { "email", "verify", "000000", NULL };
        const char *codes_off[] = { "mfa", "enroll", "email", NULL };
        const char *status[] = { "--json", "mfa", "status", NULL };

        assert_int_equal(run_cli(e, 1001, out, sizeof(out), bad), 1);
        assert_int_equal(new_mails(e), 0);
        assert_int_not_equal(run_cli(e, 1001, out, sizeof(out), codes_off), 0); /* nothing verified yet */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), set), 0);
        take_mail(e, &m);
        assert_string_equal(m.to, "alice@example.org");
        assert_non_null(strstr(m.text, "acctsec email verify"));
        /* Asking again at once: refused, with the time to wait, and the
         * address waiting for its code is still the one that was mailed. */
        const char *set2[] = { "email", "set", "other@example.org", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), set2), 75);
        assert_int_equal(db_int(e, "SELECT count(*) FROM email WHERE pending = 'alice@example.org'", NULL), 1);
        if (strcmp(m.code, "000000") != 0)
                assert_int_equal(run_cli(e, 1001, out, sizeof(out), wrong), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM email WHERE user = 'alice' AND address = ''", NULL), 1);
        const char *verify[] = { "email", "verify", m.code, NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), verify), 0);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), verify), 1); /* single use */
        assert_int_equal(db_int(e, "SELECT count(*) FROM email WHERE address = 'alice@example.org'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'email_verified'", NULL), 1);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), codes_off), 0);
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), status), 0);
        assert_non_null(strstr(out, "\"email_codes\":true"));
        /* Under mfa = optional, the enrolled address is now asked for. */
        struct script s = { .e = e, .password = ALICE_PW };
        assert_int_equal(run(&s, "mfa", "alice"), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_used'", NULL), 1);
        /* Another user cannot set alice's address. */
        const char *other[] = { "email", "set", "bob@example.org", "--user", "alice", NULL };
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), other), 4);
}

static void test_admin_require(void **state) {
        struct env *e = *state;
        char out[1024];
        const char *require[] = { "mfa", "require", "--user", "alice", NULL };
        const char *lift[] = { "mfa", "require", "--user", "alice", "--off", NULL };
        assert_int_equal(run_cli(e, 1002, out, sizeof(out), require), 4); /* bob is no admin */
        assert_int_equal(run_cli(e, 1003, out, sizeof(out), require), 0); /* carol is */
        /* Under the optional policy, alice now needs a factor and has none. */
        struct script s = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "" };
        s.at = 1;
        assert_int_equal(run(&s, "mfa", "alice"), PAM_AUTH_ERR);
        assert_true(any_line(s.error, s.nerror, "acctsec mfa enroll"));
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), lift), 0);
        struct script t = { .e = e, .password = ALICE_PW };
        t.at = 1;
        assert_int_equal(run(&t, "mfa", "alice"), PAM_SUCCESS);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_required'", NULL), 2);
}

/* Wait for the daemon's next mail (a condition, not a fixed delay). */
static void await_mail(struct env *e) {
        for (int i = 0; i < 2000 && new_mails(e) == 0; i++)
                usleep(5000);
        assert_int_equal(new_mails(e), 1);
}

/* acctsec mfa disable as alice: the password, then the mailed code. */
static int disable(struct env *e, const char *password, const char *code_or_null, struct mail *m) {
        char out[2048], line[256];
        struct cli_run c;
        const char *args[] = { "mfa", "disable", NULL };
        cli_start(e, 1001, args, &c);
        snprintf(line, sizeof(line), "%s\n", password);
        assert_true(write(c.in, line, strlen(line)) == (ssize_t) strlen(line));
        await_mail(e);
        take_mail(e, m);
        snprintf(line, sizeof(line), "%s\n", code_or_null ? code_or_null : m->code);
        assert_true(write(c.in, line, strlen(line)) == (ssize_t) strlen(line));
        close(c.in);
        return cli_finish(&c, out, sizeof(out));
}

/* mfa disable: the password through acctsecd's own PAM service "acctsec",
 * then a current code (mailed for it, with emailed codes only). */
static void test_disable_needs_password_and_code(void **state) {
        struct env *e = *state;
        char out[1024];
        struct mail m;
        set_address(e, "alice", "alice@example.com");
        const char *on[] = { "mfa", "enroll", "email", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), on), 0);
        conf(e, "code_resend_interval = 0\n");

        /* A wrong password: refused and counted, nothing changed. */
        assert_int_equal(disable(e, "not-the-password", NULL, &m), 1);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = 'alice'", NULL), 1);
        assert_int_equal(db_int(e, "SELECT codes FROM email WHERE user = 'alice'", NULL), 1);
        /* The right password and a wrong code: the same. */
        assert_int_equal(disable(e, ALICE_PW, "12345", &m), 1);
        assert_int_equal(db_int(e, "SELECT failures FROM lockout WHERE user = 'alice'", NULL), 2);
        assert_int_equal(db_int(e, "SELECT codes FROM email WHERE user = 'alice'", NULL), 1);
        /* Both right: off, logged, and the next login asks for nothing. */
        assert_int_equal(disable(e, ALICE_PW, NULL, &m), 0);
        assert_int_equal(db_int(e, "SELECT codes FROM email WHERE user = 'alice'", NULL), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mfa_disabled'", NULL), 1);
        struct script s = { .e = e, .password = ALICE_PW };
        s.at = 1;
        assert_int_equal(run(&s, "mfa", "alice"), PAM_SUCCESS);
        assert_int_equal(s.prompts, 1);
        /* Under mfa = required it cannot be turned off at all. */
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), on), 0);
        conf(e, "mfa = required\n");
        const char *args[] = { "mfa", "disable", NULL };
        struct cli_run c;
        cli_start(e, 1001, args, &c);
        assert_true(write(c.in, ALICE_PW "\n", strlen(ALICE_PW) + 1) > 0);
        close(c.in);
        assert_int_equal(cli_finish(&c, out, sizeof(out)), 4);
        assert_int_equal(new_mails(e), 0);
}

/* Whoever knows alice's password drops logins at the code prompt, again and
 * again: mail_max_per_hour mails reach her, then no more, and the prompt
 * says why.  Her other mails (an address check) count too; bob's do not. */
static void test_mails_capped_per_user(void **state) {
        struct env *e = *state;
        char out[1024];
        /* deny: the empty answers count as wrong codes; no lockout here */
        conf(e, "mail_max_per_hour = 3\ndeny = 50\n");
        set_address(e, "alice", "alice@example.com");
        set_address(e, "bob", "bob@example.com");
        for (int i = 0; i < 3; i++) {
                struct script s = { .e = e, .password = ALICE_PW, .steps = { LITERAL }, .nsteps = 1, .literal = "" };
                assert_int_equal(run(&s, "mfareq", "alice"), PAM_AUTH_ERR); /* each read exactly one new mail */
        }
        assert_int_equal(nseen, 3);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mail_capped'", NULL), 0);

        /* The fourth: no code, no mail; the message at the prompt, which
         * still comes (and "resend" there is capped too). */
        struct script c = { .e = e, .password = ALICE_PW, .steps = { LITERAL, RESEND, LITERAL }, .nsteps = 3,
                            .literal = "" };
        c.at = 1; /* no mail to read */
        assert_int_equal(run(&c, "mfareq", "alice"), PAM_AUTH_ERR);
        assert_int_equal(c.prompts, 3); /* password, code, code after the resend */
        assert_int_equal(c.nerror, 2);
        for (int i = 0; i < 2; i++)
                assert_non_null(strstr(c.error[i], "Too many mails were sent to this account in the last hour; "
                                                   "try again in "));
        assert_int_equal(new_mails(e), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'code_sent'", NULL), 3);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mail_capped' AND user = 'alice'"
                                   " AND service = 'mfareq' AND detail = ?",
                                "login code not mailed: 3 mails in the last hour (mail_max_per_hour)"),
                         2);
        assert_int_equal(db_int(e, "SELECT count(*) FROM mail_sent WHERE user = 'alice'", NULL), 3);

        /* Her own address check is a mail too: refused for now (exit 75),
         * and the address she asked for is not even pending. */
        const char *set[] = { "email", "set", "alice@example.org", NULL };
        assert_int_equal(run_cli(e, 1001, out, sizeof(out), set), 75);
        assert_int_equal(new_mails(e), 0);
        assert_int_equal(db_int(e, "SELECT count(*) FROM email WHERE user = 'alice' AND pending = ''", NULL), 1);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mail_capped' AND detail LIKE ?",
                                "address check code not mailed: %"),
                         1);

        /* bob has a cap of his own */
        struct script b = { .e = e, .password = BOB_PW };
        assert_int_equal(run(&b, "mfareq", "bob"), PAM_SUCCESS);
        assert_int_equal(nseen, 4);
        assert_int_equal(db_int(e, "SELECT count(*) FROM events WHERE type = 'mail_capped' AND user = 'bob'", NULL), 0);
}

static const struct service_def services[] = {
        { "mfa", NULL, NULL, true, false, NULL },
        { "mfareq", NULL, "mfa=required", true, false, NULL },
        { "acctsec", NULL, NULL, false, true, NULL },
        {},
};

int main(int argc, char **argv) {
        harness_main(argc, argv, services);
        harness_daemon_pam = true;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_emailed_code_login, start, env_stop),
                cmocka_unit_test_setup_teardown(test_mail_headers, start, env_stop),
                cmocka_unit_test_setup_teardown(test_code_single_use_and_bound_to_attempt, start, env_stop),
                cmocka_unit_test_setup_teardown(test_concurrent_attempts_get_different_codes, start, env_stop),
                cmocka_unit_test_setup_teardown(test_resend_refused_during_interval, start, env_stop),
                cmocka_unit_test_setup_teardown(test_resend_voids_the_old_code, start, env_stop),
                cmocka_unit_test_setup_teardown(test_wrong_and_expired_codes_lock, start, env_stop),
                cmocka_unit_test_setup_teardown(test_failed_delivery_is_logged_and_told, start, env_stop),
                cmocka_unit_test_setup_teardown(test_self_service_address, start, env_stop),
                cmocka_unit_test_setup_teardown(test_admin_require, start, env_stop),
                cmocka_unit_test_setup_teardown(test_disable_needs_password_and_code, start, env_stop),
                cmocka_unit_test_setup_teardown(test_mails_capped_per_user, start, env_stop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
