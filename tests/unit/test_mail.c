/* SPDX-License-Identifier: BSD-3-Clause */
/* Mail: address rules, masking, messages no field can add a header to, the
 * maildir transport into a temp dir, the sendmail transport against fake
 * sendmail scripts written here (argv, stdin, fds, exit codes, timeout), and
 * the settings check.  The real SMTP exchanges are in tests/system/test_mail.py. */
#include "config.h"

#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"
#include "tmp_dir.h"

#define NOW 1700000000 /* Tue, 14 Nov 2023 22:13:20 +0000 */

static char dir[PATH_MAX]; /* a fresh temp dir per test */

static const struct mail_settings base = {
        .transport = MAIL_MAILDIR,
        .from = "acctsec@example.org",
        .maildir = "/nonexistent/Maildir",
        .smtp_starttls = true,
        .timeout_s = 10,
};

static int setup(void **state) {
        return tmp_dir_make(dir, sizeof(dir), "acctsec-mail");
}

static int teardown(void **state) {
        return tmp_dir_remove(dir);
}

/* A test with a fresh temporary directory in dir. */
#define dir_test(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static char *slurp(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = calloc(1, 8 << 20);
        assert_non_null(buf);
        size_t n = fread(buf, 1, (8 << 20) - 1, f);
        fclose(f);
        if (ret_len)
                *ret_len = n;
        return buf;
}

static void test_address_valid(void **state) {
        static const char *const good[] = {
                "john@example.com", "j@e.co", "first.last@sub.example.org", "a+tag@example.com",
                "a_b=c-d@x-y.example", "root@localhost", "UPPER@EXAMPLE.COM", "1@2.3",
        };
        static const char *const bad[] = {
                "", "@", "john", "john@", "@example.com", "john@@example.com", "jo@hn@example.com",
                "john@example.com\r\nBcc: x@y.z", "john@example.com\n", "jo\rhn@example.com", "jo hn@example.com",
                " john@example.com", "john@example .com", "\"john\"@example.com", "john,jane@example.com",
                "john@example.com,jane@example.com", "<john@example.com>", "john<@example.com", "-oQ@example.com",
                "-john@example.com", ".john@example.com", "john.@example.com", "jo..hn@example.com",
                "john@example..com", "john@.example.com", "john@example.com.", "john@-example.com",
                "john@example-.com", "john@[127.0.0.1]", "j|ohn@example.com", "/tmp/x@example.com",
                "john%relay@example.com", "j\xc3\xb6hn@example.com", "john@ex\tample.com", "john@exa_mple.com",
        };
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                if (!mail_address_valid(good[i]))
                        fail_msg("refused a good address: %s", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (mail_address_valid(bad[i]))
                        fail_msg("accepted a bad address: %s", bad[i]);
        assert_false(mail_address_valid(NULL));

        /* Length limits: 64 for the local part, 63 per label, 254 in all. */
        char a[400];
        memset(a, 'a', 64);
        strcpy(a + 64, "@example.com");
        assert_true(mail_address_valid(a));
        memset(a, 'a', 65);
        strcpy(a + 65, "@example.com");
        assert_false(mail_address_valid(a));
        strcpy(a, "x@");
        memset(a + 2, 'b', 63);
        strcpy(a + 65, ".com");
        assert_true(mail_address_valid(a));
        strcpy(a, "x@");
        memset(a + 2, 'b', 64);
        strcpy(a + 66, ".com");
        assert_false(mail_address_valid(a));
        /* x@ + 4 labels of 62 + 3 dots = 253 bytes; 254 is the limit. */
        char l[63];
        memset(l, 'c', 62);
        l[62] = '\0';
        snprintf(a, sizeof(a), "x@%s.%s.%s.%s", l, l, l, l);
        assert_int_equal(strlen(a), 253);
        assert_true(mail_address_valid(a));
        snprintf(a, sizeof(a), "xx@%s.%s.%s.%s", l, l, l, l);
        assert_true(mail_address_valid(a));
        snprintf(a, sizeof(a), "xxx@%s.%s.%s.%s", l, l, l, l);
        assert_false(mail_address_valid(a));
}

static void test_mask(void **state) {
        char buf[64];
        assert_int_equal(mail_mask("john@example.com", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "j\u2022\u2022\u2022@example.com");
        assert_int_equal(mail_mask("x@y.z", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "x\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@y.z");
        /* 1 + 9 + 4 bytes + NUL: 15 fits, 14 does not. */
        assert_int_equal(mail_mask("x@y.z", buf, 15), 0);
        assert_int_equal(mail_mask("x@y.z", buf, 14), -ENOBUFS);
        assert_int_equal(mail_mask("john", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(mail_mask("a@b\r\nBcc: c@d", buf, sizeof(buf)), -EINVAL);
}

/* Every CR is followed by LF and every LF preceded by CR. */
static void assert_crlf_only(const char *msg, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (msg[i] == '\r')
                        assert_true(i + 1 < len && msg[i + 1] == '\n');
                if (msg[i] == '\n')
                        assert_true(i > 0 && msg[i - 1] == '\r');
        }
}

static char *build(const struct mail_message *m, const char *host, int want) {
        char *msg = NULL;
        size_t len = 0;
        assert_int_equal(mail_build(&base, m, host, NOW, &msg, &len), want);
        if (want < 0) {
                assert_null(msg);
                return NULL;
        }
        assert_int_equal(strlen(msg), len);
        assert_crlf_only(msg, len);
        return msg;
}

static void test_build_headers(void **state) {
        struct mail_message m = { "john@example.com", "Your code", "Code: 123456\n" };
        char *msg = build(&m, "host.example.org", 0);
        const char *want_head = "From: acctsec@example.org\r\n"
                                "To: john@example.com\r\n"
                                "Subject: Your code\r\n"
                                "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                                "Message-ID: <";
        assert_memory_equal(msg, want_head, strlen(want_head));
        const char *id = msg + strlen(want_head);
        assert_int_equal(strspn(id, "0123456789abcdef"), 32);
        const char *want_tail = "@host.example.org>\r\n"
                                "MIME-Version: 1.0\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Transfer-Encoding: 8bit\r\n"
                                "Auto-Submitted: auto-generated\r\n"
                                "\r\n"
                                "Code: 123456\r\n";
        assert_string_equal(id + 32, want_tail);

        /* A fresh Message-ID each time. */
        char *again = build(&m, "host.example.org", 0);
        assert_memory_not_equal(msg, again, strlen(msg) - strlen(want_tail));
        free(again);
        free(msg);
}

static void test_build_hostname_sanitized(void **state) {
        struct mail_message m = { "john@example.com", "s", "b" };
        static const struct {
                const char *in, *want;
        } v[] = {
                { "evil\r\nBcc: x@y", "@evil--Bcc--x-y>" }, { "", "@localhost>" },     { NULL, "@localhost>" },
                { "..a..b..", "@a.b>" },                    { "h\xc3\xa9", "@h-->" }, { ">", "@->" },
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                char *msg = build(&m, v[i].in, 0);
                const char *at = strstr(msg, "Message-ID: <");
                assert_non_null(at);
                at = strchr(at, '@');
                assert_memory_equal(at, v[i].want, strlen(v[i].want));
                assert_null(strstr(msg, "\r\nBcc"));
                free(msg);
        }
}

static void test_build_injection(void **state) {
        static const char *const subjects[] = {
                "a\r\nBcc: x@y.z", "a\nBcc: x@y.z", "a\rb", "tab\there", "del\x7f", "esc\x1b[2J",
                "c1 \xc2\x85 next line", "ls \xe2\x80\xa8 sep", "bad \xff utf8", "overlong \xc0\xaf",
                "surrogate \xed\xa0\x80", "truncated \xe2\x82",
        };
        static const char *const tos[] = { "john@example.com\r\nBcc: x@y.z", "john@example.com\n", "a b@c.d",
                                           "\"x\"@y.z", "-f@y.z", "" };
        struct mail_message m = { "john@example.com", "ok", "ok" };

        for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
                m.subject = subjects[i];
                build(&m, "h", -EINVAL);
        }
        m.subject = "ok";
        for (size_t i = 0; i < sizeof(tos) / sizeof(tos[0]); i++) {
                m.to = tos[i];
                build(&m, "h", -EINVAL);
        }
        m.to = NULL;
        build(&m, "h", -EINVAL);
        m.to = "john@example.com";
        m.subject = NULL;
        build(&m, "h", -EINVAL);

        struct mail_settings s = base;
        char *msg = NULL;
        size_t len;
        m.subject = "ok";
        s.from = "acctsec@example.org\r\nBcc: x@y.z";
        assert_int_equal(mail_build(&s, &m, "h", NOW, &msg, &len), -EINVAL);
        assert_null(msg);

        char long_subject[MAIL_SUBJECT_MAX + 2];
        memset(long_subject, 's', sizeof(long_subject) - 1);
        long_subject[sizeof(long_subject) - 1] = '\0';
        m.subject = long_subject;
        build(&m, "h", -EMSGSIZE);
        long_subject[MAIL_SUBJECT_MAX] = '\0';
        free(build(&m, "h", 0));
}

static const char *body_of(const char *msg) {
        const char *p = strstr(msg, "\r\n\r\n");
        assert_non_null(p);
        return p + 4;
}

/* A message with body built: its body is want. */
static void check_body(const char *body, const char *want) {
        struct mail_message m = { "john@example.com", "s", body };
        char *msg = build(&m, "h", 0);
        assert_string_equal(body_of(msg), want);
        free(msg);
}

static void test_build_body(void **state) {
        struct mail_message m = { "john@example.com", "s", NULL };
        check_body("a\nb\r\nc\rd\n.\n\n\tend", "a\r\nb\r\nc\r\nd\r\n.\r\n\r\n\tend\r\n");
        check_body("\r\r\n\n", "\r\n\r\n\r\n");
        check_body(NULL, "");
        check_body("caf\xc3\xa9 \xe2\x82\xac\n", "caf\xc3\xa9 \xe2\x82\xac\r\n");

        static const char *const bad[] = { "esc \x1b[31m", "bell \a", "del \x7f", "bad \xff", "c1 \xc2\x9b" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                m.body = bad[i];
                build(&m, "h", -EINVAL);
        }

        /* Lines of up to 998 bytes (RFC 5322); the whole body up to MAIL_BODY_MAX. */
        char *big = malloc(MAIL_BODY_MAX + 2);
        assert_non_null(big);
        memset(big, 'x', 998);
        big[998] = '\0';
        m.body = big;
        free(build(&m, "h", 0));
        big[998] = 'x', big[999] = '\0';
        build(&m, "h", -EMSGSIZE);
        for (size_t i = 0; i < MAIL_BODY_MAX + 1; i++)
                big[i] = i % 100 == 99 ? '\n' : 'y';
        big[MAIL_BODY_MAX + 1] = '\0';
        build(&m, "h", -EMSGSIZE);
        big[MAIL_BODY_MAX] = '\0';
        free(build(&m, "h", 0));
        free(big);
}

/* Decode the Subject header's encoded words back to the original. */
static void test_build_utf8_subject(void **state) {
        const char *subject = "C\xc3\xb3" "digo de verifica\xc3\xa7\xc3\xa3o \xe2\x80\x94 "
                              "\xd0\xba\xd0\xbe\xd0\xb4 \xd0\xb4\xd0\xbb\xd1\x8f \xd0\xb2\xd1\x85\xd0\xbe\xd0\xb4"
                              "\xd0\xb0 \xf0\x9f\x94\x91 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
                              "\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89";
        struct mail_message m = { "john@example.com", subject, "b" };
        char *msg = build(&m, "h", 0);
        char decoded[512] = "";
        size_t dlen = 0;
        int words = 0;

        const char *p = strstr(msg, "\r\nSubject:");
        assert_non_null(p);
        p += 2;
        const char *end = strstr(p, "\r\nDate: ");
        assert_non_null(end);
        for (const char *line = p; line < end;) {
                const char *eol = strstr(line, "\r\n");
                assert_true(eol - line <= 78);
                const char *w = strstr(line, "=?UTF-8?B?");
                assert_non_null(w);
                assert_true(w == line + 9 || (line > p && w == line + 1)); /* "Subject: " or folded " " */
                w += 10;
                const char *q = strstr(w, "?=");
                assert_true(q && q + 2 == eol);
                unsigned char raw[64];
                size_t n;
                assert_int_equal(sodium_base642bin(raw, sizeof(raw), w, (size_t) (q - w), NULL, &n, NULL,
                                                   sodium_base64_VARIANT_ORIGINAL),
                                 0);
                /* Each word holds whole UTF-8 sequences. */
                char one[65];
                memcpy(one, raw, n);
                one[n] = '\0';
                struct mail_message t = { "john@example.com", one, "" };
                free(build(&t, "h", 0));
                memcpy(decoded + dlen, raw, n);
                dlen += n;
                words++;
                line = eol + 2;
        }
        decoded[dlen] = '\0';
        assert_string_equal(decoded, subject);
        assert_true(words >= 2);
        free(msg);
}

/* The one file in DIR/sub, or NULL. */
static char *only_file(const char *maildir, const char *sub, int *ret_count) {
        char path[PATH_MAX], *found = NULL;
        snprintf(path, sizeof(path), "%s/%s", maildir, sub);
        DIR *d = opendir(path);
        assert_non_null(d);
        *ret_count = 0;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                (*ret_count)++;
                free(found);
                assert_true(asprintf(&found, "%s/%s", path, e->d_name) > 0);
        }
        closedir(d);
        return found;
}

/* After the first delivery: the Maildir and its tmp/, new/ and cur/ are
 * private directories, new/ holds the message alone (0600), tmp/ nothing. */
static void check_first_delivery(const char *maildir, const char *msg, size_t len) {
        struct stat st;
        int count;

        const char *subs[] = { "", "/tmp", "/new", "/cur" };
        for (size_t i = 0; i < 4; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s%s", maildir, subs[i]);
                assert_int_equal(lstat(p, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
                assert_int_equal(st.st_mode & 077, 0);
        }
        char *file = only_file(maildir, "new", &count);
        assert_int_equal(count, 1);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        size_t n;
        char *got = slurp(file, &n);
        assert_int_equal(n, len);
        assert_memory_equal(got, msg, len);
        free(got);
        free(file);
        free(only_file(maildir, "tmp", &count));
        assert_int_equal(count, 0);
}

/* A Maildir that is a symlink is refused, nothing written through it (new/ keeps its 2 files). */
static void check_maildir_symlink(const struct mail_settings *settings, const char *maildir, const char *to,
                                  const char *msg, size_t len) {
        struct mail_settings s = *settings;
        char link[PATH_MAX], err[256];
        int count;

        snprintf(link, sizeof(link), "%s/link", dir);
        assert_int_equal(symlink(maildir, link), 0);
        s.maildir = link;
        int r = mail_deliver(&s, to, msg, len, err, sizeof(err));
        assert_true(r == -ELOOP || r == -ENOTDIR); /* O_NOFOLLOW with O_DIRECTORY: ENOTDIR on Linux */
        assert_non_null(strstr(err, "cannot open the Maildir"));
        free(only_file(maildir, "new", &count));
        assert_int_equal(count, 2);
}

/* So is new/ as a symlink (pointing somewhere else). */
static void check_new_symlink(const struct mail_settings *settings, const char *to, const char *msg, size_t len) {
        struct mail_settings s = *settings;
        char other[PATH_MAX], p[PATH_MAX], link[PATH_MAX], err[256];
        int count, r;

        snprintf(other, sizeof(other), "%s/Other", dir);
        snprintf(p, sizeof(p), "%s/new", other);
        assert_int_equal(mkdir(other, 0700), 0);
        assert_int_equal(mkdir(p, 0700), 0);
        snprintf(other, sizeof(other), "%s/M2", dir);
        assert_int_equal(mkdir(other, 0700), 0);
        snprintf(link, sizeof(link), "%s/new", other);
        assert_int_equal(symlink(p, link), 0);
        s.maildir = other;
        r = mail_deliver(&s, to, msg, len, err, sizeof(err));
        assert_true(r == -ELOOP || r == -ENOTDIR);
        free(only_file(other, "tmp", &count));
        assert_int_equal(count, 0);
        snprintf(other, sizeof(other), "%s/Other", dir);
        free(only_file(other, "new", &count));
        assert_int_equal(count, 0);
}

static void test_maildir(void **state) {
        char maildir[PATH_MAX], err[256];
        struct mail_settings s = base;
        struct mail_message m = { "john@example.com", "s", "hello\n" };
        char *msg;
        size_t len;
        int count;

        snprintf(maildir, sizeof(maildir), "%s/Maildir", dir);
        s.maildir = maildir;
        assert_int_equal(mail_build(&s, &m, "h", NOW, &msg, &len), 0);
        assert_int_equal(mail_deliver(&s, m.to, msg, len, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        check_first_delivery(maildir, msg, len);

        /* A second message: a second, differently named file. */
        assert_int_equal(mail_deliver(&s, m.to, msg, len, err, sizeof(err)), 0);
        free(only_file(maildir, "new", &count));
        assert_int_equal(count, 2);

        check_maildir_symlink(&s, maildir, m.to, msg, len);
        check_new_symlink(&s, m.to, msg, len);
        free(msg);
}

/* A fake sendmail: records argv (one per line), its open fds and stdin, then runs TAIL. */
static void write_script(const char *path, const char *tail) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f,
                "#!/bin/sh\n"
                "d='%s'\n"
                "for a in \"$0\" \"$@\"; do printf '%%s\\n' \"$a\"; done > \"$d/argv\"\n"
                "ls /proc/$$/fd > \"$d/fds\"\n"
                "%s\n",
                dir, tail);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(chmod(path, 0700), 0);
}

static int sendmail(const char *tail, const char *to, const char *msg, size_t len, unsigned timeout, char *err,
                    size_t errlen) {
        char path[PATH_MAX];
        struct mail_settings s = base;
        snprintf(path, sizeof(path), "%s/sendmail", dir);
        write_script(path, tail);
        s.transport = MAIL_SENDMAIL;
        s.sendmail_path = path;
        s.timeout_s = timeout;
        return mail_deliver(&s, to, msg, len, err, errlen);
}

static char *dir_file(const char *name) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return slurp(path, NULL);
}

static void test_sendmail(void **state) {
        struct mail_message m = { "john@example.com", "s", "line one\n.\nline three\n" };
        char *msg, err[256], want[PATH_MAX + 128];
        size_t len;

        assert_int_equal(mail_build(&base, &m, "h", NOW, &msg, &len), 0);
        /* An fd the caller forgot to mark O_CLOEXEC must not reach the child. */
        int leak = open("/dev/null", O_RDONLY);
        assert_true(leak >= 0);
        assert_int_equal(dup2(leak, 57), 57);
        close(leak);

        assert_int_equal(sendmail("cat > \"$d/stdin\"", m.to, msg, len, 10, err, sizeof(err)), 0);
        close(57);
        assert_string_equal(err, "");
        char *argv = dir_file("argv"), *in = dir_file("stdin"), *fds = dir_file("fds");
        snprintf(want, sizeof(want), "%s/sendmail\n-i\n-f\nacctsec@example.org\n--\njohn@example.com\n", dir);
        assert_string_equal(argv, want);
        assert_string_equal(in, msg);
        assert_null(strstr(fds, "57\n"));
        free(argv);
        free(in);
        free(fds);

        /* A hostile recipient never reaches argv: refused before anything runs. */
        static const char *const hostile[] = { "-oQ/tmp/x@example.com", "-X/tmp/log@example.com",
                                               "a@b.c -X/tmp/log", "a@b.c\n-X", "--@b.c" };
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/argv", dir);
        for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
                unlink(path);
                assert_int_equal(sendmail("cat >/dev/null", hostile[i], msg, len, 10, err, sizeof(err)), -EINVAL);
                assert_string_equal(err, "invalid recipient address");
                assert_int_equal(access(path, F_OK), -1);
        }
        free(msg);
}

static void test_sendmail_failures(void **state) {
        const char *msg = "To: x@y.z\r\n\r\nbody\r\n";
        char err[256];
        int r;

        r = sendmail("cat >/dev/null; echo 'no route to host' >&2; echo second line >&2; exit 75", "a@b.c", msg,
                     strlen(msg), 10, err, sizeof(err));
        assert_int_equal(r, -EIO);
        assert_non_null(strstr(err, "exited with status 75: no route to host"));
        assert_null(strstr(err, "second"));

        r = sendmail("printf 'evil\\033[2J\\n' >&2; kill -9 $$", "a@b.c", msg, strlen(msg), 10, err, sizeof(err));
        assert_int_equal(r, -EIO);
        assert_non_null(strstr(err, "killed by signal 9: evil?[2J"));

        /* Hung: killed at the timeout. */
        time_t t0 = time(NULL);
        r = sendmail("exec sleep 60", "a@b.c", msg, strlen(msg), 1, err, sizeof(err));
        assert_int_equal(r, -ETIMEDOUT);
        assert_non_null(strstr(err, "did not finish within 1 s"));
        assert_true(time(NULL) - t0 < 10);

        /* Exits 0 without reading a message bigger than any socket buffer. */
        size_t big = 8 << 20;
        char *huge = malloc(big);
        assert_non_null(huge);
        memset(huge, 'x', big);
        r = sendmail("exit 0", "a@b.c", huge, big, 10, err, sizeof(err));
        assert_int_equal(r, -EPIPE);
        assert_non_null(strstr(err, "exited before reading the whole input"));
        /* ...and reads it all when it does read. */
        r = sendmail("wc -c > \"$d/stdin\"", "a@b.c", huge, big, 30, err, sizeof(err));
        assert_int_equal(r, 0);
        char *count = dir_file("stdin");
        assert_int_equal(strtoul(count, NULL, 10), big);
        free(count);
        free(huge);

        struct mail_settings s = base;
        s.transport = MAIL_SENDMAIL;
        s.sendmail_path = "/nonexistent/sendmail";
        r = mail_deliver(&s, "a@b.c", msg, strlen(msg), err, sizeof(err));
        /* POSIX lets posix_spawn() report a failed exec as exit status 127
         * instead (so it is under valgrind, which has no CLONE_VFORK). */
        if (r == -EIO)
                assert_non_null(strstr(err, "/nonexistent/sendmail exited with status 127"));
        else {
                assert_int_equal(r, -ENOENT);
                assert_non_null(strstr(err, "cannot run /nonexistent/sendmail"));
        }
}

static void expect_bad(const struct mail_settings *s, const char *reason) {
        const char *why = NULL;
        assert_int_equal(mail_settings_check(s, &why), -EINVAL);
        assert_non_null(why);
        if (!strstr(why, reason))
                fail_msg("want a reason with \"%s\", got \"%s\"", reason, why);
}

static void expect_ok(const struct mail_settings *s) {
        const char *why = NULL;
        if (mail_settings_check(s, &why) != 0)
                fail_msg("refused: %s", why);
}

/* smtp_url and smtp_ca_file; s is left a valid smtp:// relay with a CA file. */
static void check_settings_smtp_url(struct mail_settings *s) {
        s->transport = MAIL_SMTP;
        s->smtp_url = "smtp://mail.example.org:587";
        expect_ok(s);
        s->smtp_url = "smtps://mail.example.org";
        expect_ok(s);
        s->smtp_url = "http://mail.example.org";
        expect_bad(s, "smtp_url must start with smtp:// or smtps://");
        s->smtp_url = NULL;
        expect_bad(s, "smtp_url must start with smtp://");
        s->smtp_url = "smtp://";
        expect_bad(s, "no host");
        s->smtp_url = "smtp://user:secret@mail.example.org";
        expect_bad(s, "must not hold a user or password");
        s->smtp_url = "smtp://mail.example.org\r\n";
        expect_bad(s, "control character");
        s->smtp_url = "smtp://mail.example.org";
        s->smtp_ca_file = "ca.pem";
        expect_bad(s, "smtp_ca_file must be an absolute path");
        s->smtp_ca_file = "/etc/ssl/ca.pem";
        expect_ok(s);
}

/* AUTH: a password file, and never over a clear connection. */
static void check_settings_smtp_auth(struct mail_settings *s) {
        s->smtp_user = "mailer";
        expect_bad(s, "smtp_user needs smtp_password_file");
        s->smtp_password_file = "pw";
        expect_bad(s, "smtp_user needs smtp_password_file");
        s->smtp_password_file = "/etc/acctsec/smtp.pw";
        expect_ok(s);
        s->smtp_starttls = false;
        expect_bad(s, "in clear");
        s->smtp_url = "smtps://mail.example.org";
        expect_ok(s);
        s->smtp_user = "bad\nuser";
        expect_bad(s, "smtp_user");
        /* Without a user, a plain smtp:// relay (say on localhost) is fine. */
        s->smtp_url = "smtp://127.0.0.1:25";
        s->smtp_user = "";
        expect_ok(s);
}

static void test_settings(void **state) {
        struct mail_settings s = base;
        s.maildir = "/var/lib/acctsec/mail";
        expect_ok(&s);
        s.maildir = "mail";
        expect_bad(&s, "maildir must be an absolute path");
        s.maildir = NULL;
        expect_bad(&s, "maildir must be an absolute path");

        s = base;
        s.from = "not an address";
        expect_bad(&s, "mail_from");
        s.from = NULL;
        expect_bad(&s, "mail_from");
        s = base;
        s.maildir = "/m";
        s.timeout_s = 0;
        expect_bad(&s, "timeout");
        s.timeout_s = MAIL_TIMEOUT_MAX + 1;
        expect_bad(&s, "timeout");

        s = base;
        s.transport = MAIL_SENDMAIL;
        s.sendmail_path = "/usr/sbin/sendmail";
        expect_ok(&s);
        s.sendmail_path = "sendmail";
        expect_bad(&s, "sendmail_path must be an absolute path");

        s = base;
        check_settings_smtp_url(&s);
        check_settings_smtp_auth(&s);

        s.transport = (enum mail_transport) 42;
        expect_bad(&s, "unknown mail_transport");
}

/* mail_deliver() re-checks settings: nothing runs with bad ones. */
static void test_deliver_rechecks(void **state) {
        struct mail_settings s = base;
        char err[256];
        s.transport = MAIL_SMTP;
        s.smtp_url = "smtp://127.0.0.1:1";
        s.smtp_user = "u";
        s.smtp_password_file = "/nonexistent";
        s.smtp_starttls = false;
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "in clear"));
}

/* The password file is checked before anything touches the network. */
static void test_smtp_password_file(void **state) {
        char pw[PATH_MAX], link[PATH_MAX], err[256];
        struct mail_settings s = base;
        s.transport = MAIL_SMTP;
        s.smtp_url = "smtps://127.0.0.1:1";
        s.smtp_user = "u";
        s.smtp_password_file = pw;
        s.timeout_s = 5;

        snprintf(pw, sizeof(pw), "%s/pw", dir);
        write_file(pw, "hunter2-secret\n", 0644);
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "open to group or others"));
        write_file(pw, "hunter2-secret\n", 0640);
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -EPERM);
        write_file(pw, "\nsecond line\n", 0600);
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "empty"));

        snprintf(link, sizeof(link), "%s/pwlink", dir);
        write_file(pw, "hunter2-secret\n", 0600);
        assert_int_equal(symlink(pw, link), 0);
        s.smtp_password_file = link;
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -ELOOP);
        assert_non_null(strstr(err, "symlink"));

        s.smtp_password_file = dir;
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -EPERM);
        assert_non_null(strstr(err, "not a regular file"));

        /* A good file: the failure is now the network's (nothing listens on port 1). */
        s.smtp_password_file = pw;
        assert_int_equal(mail_deliver(&s, "a@b.c", "x", 1, err, sizeof(err)), -ECONNREFUSED);
        assert_non_null(strstr(err, "smtp: "));
        assert_null(strstr(err, "hunter2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_address_valid),
                cmocka_unit_test(test_mask),
                cmocka_unit_test(test_build_headers),
                cmocka_unit_test(test_build_hostname_sanitized),
                cmocka_unit_test(test_build_injection),
                cmocka_unit_test(test_build_body),
                cmocka_unit_test(test_build_utf8_subject),
                dir_test(test_maildir),
                dir_test(test_sendmail),
                dir_test(test_sendmail_failures),
                cmocka_unit_test(test_settings),
                cmocka_unit_test(test_deliver_rechecks),
                dir_test(test_smtp_password_file),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests_name("mail", tests, NULL, NULL);
}
