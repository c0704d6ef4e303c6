/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec log show|export: the security log, a page per request (the
 * daemon answers one frame at a time, and the client holds the cursor), so
 * memory stays constant on both sides however long the log is. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "export_format.h"
#include "macro.h"
#include "output.h"

#define LIMIT_MAX 10000
#define PROGRESS_EVERY_MS 200

static uint64_t u64_of(const struct acctsec_msg *m, uint8_t tag) {
        uint64_t v = 0;
        (void) acctsec_msg_u64(m, tag, &v);
        return v;
}

/* The options both verbs share; 0 or an exit status. */
static int check_options(struct cli *c, int64_t *ret_since) {
        *ret_since = 0;
        if (c->user && c->all)
                return fprintf(stderr, "acctsec: --user and --all exclude each other\n"), EXIT_USAGE;
        if (!c->since)
                return 0;
        int r = parse_since(c->since, time(NULL), ret_since);
        if (r == -ERANGE)
                fprintf(stderr, "acctsec: --since %s: no such date or local time (or before 1970)\n", c->since);
        else if (r < 0)
                fprintf(stderr, "acctsec: --since %s: expected YYYY-MM-DD[ HH:MM[:SS]] (local time), a time ago "
                                "(30m, 12h, 7d) or @UNIXTIME\n", c->since);
        return r < 0 ? EXIT_USAGE : 0;
}

static void request(struct cli *c, uint8_t op, int64_t since, uint64_t cursor) {
        acctsec_frame_init(&c->req, op);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        if (c->all)
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_ALL, 1);
        if (since)
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_SINCE, (uint64_t) since);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_TYPE, c->type);
        acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_ID, cursor);
}

static const char *str_of(const struct acctsec_field *f) {
        return acctsec_field_is_string(f) ? f->val : "";
}

/* The record whose RECORD field is at index i; returns the index of the
 * next RECORD (or nfields). */
static size_t read_event(const struct acctsec_msg *m, size_t i, struct export_event *e) {
        *e = (struct export_event){ .type = "", .outcome = "", .user = "", .service = "", .rhost = "", .tty = "",
                                    .actor = "", .detail = "", .host = "", .country = "", .city = "" };
        const char **text[] = { [ACCTSEC_TAG_TYPE] = &e->type,       [ACCTSEC_TAG_OUTCOME] = &e->outcome,
                                [ACCTSEC_TAG_USER] = &e->user,       [ACCTSEC_TAG_SERVICE] = &e->service,
                                [ACCTSEC_TAG_RHOST] = &e->rhost,     [ACCTSEC_TAG_TTY] = &e->tty,
                                [ACCTSEC_TAG_ACTOR] = &e->actor,     [ACCTSEC_TAG_DETAIL] = &e->detail,
                                [ACCTSEC_TAG_HOST] = &e->host,       [ACCTSEC_TAG_COUNTRY] = &e->country,
                                [ACCTSEC_TAG_CITY] = &e->city };
        for (i++; i < m->nfields && m->f[i].tag != ACCTSEC_TAG_RECORD; i++) {
                const struct acctsec_field *f = &m->f[i];
                if (f->tag == ACCTSEC_TAG_ID)
                        (void) acctsec_field_u64(f, &e->id);
                else if (f->tag == ACCTSEC_TAG_TIME)
                        (void) acctsec_field_u64(f, &e->time);
                else if (f->tag < ARRAY_SIZE(text) && text[f->tag])
                        *text[f->tag] = str_of(f);
        }
        return i;
}

static size_t first_record(const struct acctsec_msg *m) {
        size_t i = 0;
        while (i < m->nfields && m->f[i].tag != ACCTSEC_TAG_RECORD)
                i++;
        return i;
}

static void print_event_row(const struct export_event *e) {
        char t[64];
        printf("%-19s ", fmt_time(e->time, t, sizeof(t)));
        if (*e->host) { /* a fleet: which host logged it */
                print_padded(stdout, e->host, 12);
        }
        print_padded(stdout, e->user, 16);
        print_padded(stdout, e->type, 22);
        print_padded(stdout, e->outcome, 7);
        print_padded(stdout, *e->service ? e->service : "-", 10);
        print_padded(stdout, *e->rhost ? e->rhost : *e->tty ? e->tty : "-", 24);
        print_location(stdout, e->country, e->city, 16);
        /* Who acted, when it was not the user (an admin, root). */
        if (*e->actor && strcmp(e->actor, e->user) != 0) {
                fputs("by ", stdout);
                print_safe(stdout, e->actor);
                fputs(*e->detail ? ": " : "", stdout);
        }
        print_safe(stdout, e->detail);
        fputc('\n', stdout);
}

static int parse_limit(const char *text, uint64_t *ret) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = text ? strtoull(text, &end, 10) : 50;
        if (text && (errno || !end || *end || text[0] < '0' || text[0] > '9' || v < 1 || v > LIMIT_MAX)) {
                fprintf(stderr, "acctsec: --limit: a number from 1 to %d\n", LIMIT_MAX);
                return EXIT_USAGE;
        }
        *ret = v;
        return 0;
}

/* Newest first, a page at a time until the limit or the oldest event. */
int cmd_log_show(struct cli *c) {
        int64_t since;
        uint64_t limit, shown = 0, cursor = 0;
        bool more = false;
        int r = check_options(c, &since);
        if (r)
                return r;
        if (c->format || c->output)
                return fprintf(stderr, "acctsec: --format and --output are for log export\n"), EXIT_USAGE;
        r = parse_limit(c->limit, &limit);
        if (r)
                return r;
        do {
                request(c, ACCTSEC_OP_LOG_SHOW, since, cursor);
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_COUNT, limit - shown);
                r = cli_call(c);
                if (r)
                        return r;
                if (cursor == 0 && c->json) /* after the first answer: an error prints its own document */
                        fputs("{\"events\":[", stdout);
                else if (cursor == 0)
                        printf("%-19s %s%-16s %-22s %-7s %-10s %-24s %-16s %s\n", "TIME",
                               acctsec_msg_str(&c->reply, ACCTSEC_TAG_HOST) ? "HOST         " : "", "USER", "TYPE",
                               "OUTCOME", "SERVICE", "SOURCE", "LOCATION", "DETAIL");
                uint64_t next = u64_of(&c->reply, ACCTSEC_TAG_ID);
                more = u64_of(&c->reply, ACCTSEC_TAG_MORE) != 0;
                /* Each page starts below the last: a daemon that did not move
                 * on would keep us here forever. */
                if (more && (next == 0 || (cursor && next >= cursor)))
                        return cli_fail(c, EXIT_FAILURE, "acctsecd sent a page that does not move back");
                cursor = next;
                struct export_event e;
                for (size_t i = first_record(&c->reply); i < c->reply.nfields && shown < limit; shown++) {
                        i = read_event(&c->reply, i, &e);
                        if (c->json) {
                                fputs(shown ? "," : "", stdout);
                                export_json_event(stdout, &e);
                        } else
                                print_event_row(&e);
                }
        } while (more && shown < limit);
        if (c->json)
                printf("],\"more\":%s}\n", more ? "true" : "false");
        else if (shown == 0)
                printf("(no events)\n");
        else if (more)
                printf("(older events not shown: --limit N, or acctsec log export)\n");
        return 0;
}

/* --output: a new file, mode 0600; an existing one only if it is a regular
 * file of ours with no other name (then truncated and made 0600).  Never
 * through a symbolic link: an export by root into a directory others can
 * write must not land in a file they picked. */
static int open_output(const char *path, int *ret_fd) {
        struct stat st;
        int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
        _cleanup_close_ int fd = open(path, flags | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno == EEXIST) {
                fd = open(path, flags | O_NONBLOCK); /* O_NONBLOCK: a FIFO must not hang us */
                if (fd < 0)
                        return negative_errno();
                if (fstat(fd, &st) < 0)
                        return negative_errno();
                if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
                        return -EPERM;
                if (ftruncate(fd, 0) < 0 || ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0) ||
                    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                        return negative_errno();
        }
        if (fd < 0)
                return negative_errno(); /* ELOOP: a symbolic link */
        *ret_fd = TAKE_FD(fd);
        return 0;
}

struct export {
        struct cli *c;
        FILE *out;
        bool csv, progress;
        uint64_t written, last_id;
        long long next_progress_ms;
};

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void show_progress(struct export *x, bool last) {
        if (!x->progress || (!last && now_ms() < x->next_progress_ms))
                return;
        fprintf(stderr, "\racctsec: %llu events exported%s", (unsigned long long) x->written, last ? "\n" : "");
        x->next_progress_ms = now_ms() + PROGRESS_EVERY_MS;
}

/* Write one page's events; 0 or an exit status. */
static int write_page(struct export *x) {
        struct export_event e;
        const struct acctsec_msg *m = &x->c->reply;
        for (size_t i = first_record(m); i < m->nfields;) {
                i = read_event(m, i, &e);
                if (e.id <= x->last_id) /* ids only grow: never write one twice */
                        return cli_fail(x->c, EXIT_FAILURE, "acctsecd sent event %llu out of order",
                                        (unsigned long long) e.id);
                x->last_id = e.id;
                if (x->csv)
                        export_csv_event(x->out, &e);
                else {
                        fputs(x->written ? ",\n" : "\n", x->out);
                        export_json_event(x->out, &e);
                }
                x->written++;
        }
        return 0;
}

/* Every page, oldest first; 0 or an exit status. */
static int export_pages(struct export *x, int64_t since, const char *name) {
        struct cli *c = x->c;
        uint64_t cursor = 0, until = 0, pages = 0;
        bool more;
        do {
                request(c, ACCTSEC_OP_LOG_EXPORT, since, cursor);
                acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_UNTIL, until);
                int r = cli_call(c);
                if (r)
                        return r;
                uint64_t next = u64_of(&c->reply, ACCTSEC_TAG_ID);
                more = u64_of(&c->reply, ACCTSEC_TAG_MORE) != 0;
                if (until == 0)
                        until = u64_of(&c->reply, ACCTSEC_TAG_UNTIL); /* fixed by the first page */
                if (more && next <= cursor)
                        return cli_fail(c, EXIT_FAILURE, "acctsecd sent a page that does not move on");
                cursor = next;
                if (pages++ == 0) { /* after the first answer: an error leaves no output at all */
                        if (x->csv)
                                export_csv_header(x->out);
                        else
                                fputs("[", x->out);
                }
                r = write_page(x);
                if (r)
                        return r;
                if (ferror(x->out))
                        return cli_fail(c, EXIT_FAILURE, "writing %s: %s", name, strerror(errno));
                show_progress(x, false);
        } while (more);
        if (x->csv)
                return 0;
        fputs(x->written ? "\n]\n" : "]\n", x->out);
        return 0;
}

/* Flush (and for a file, sync and close); 0 or an exit status. */
static int finish_output(struct export *x, const char *name, int fd) {
        int r = fflush(x->out) == 0 ? 0 : negative_errno();
        if (r == 0 && fd >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (fd >= 0 && fclose(x->out) != 0 && r == 0)
                r = negative_errno();
        return r < 0 ? cli_fail(x->c, EXIT_FAILURE, "writing %s: %s", name, strerror(-r)) : 0;
}

int cmd_log_export(struct cli *c) {
        struct export x = { .c = c, .out = stdout };
        const char *name = c->output ? c->output : "standard output";
        int64_t since;
        int fd = -1;
        int r = check_options(c, &since);
        if (r)
                return r;
        if (c->limit)
                return fprintf(stderr, "acctsec: --limit is for log show: log export writes every matching event\n"),
                       EXIT_USAGE;
        if (!c->format || (strcmp(c->format, "json") != 0 && strcmp(c->format, "csv") != 0))
                return fprintf(stderr, "acctsec: log export needs --format json or --format csv\n"), EXIT_USAGE;
        x.csv = strcmp(c->format, "csv") == 0;
        if (!c->output && c->json && x.csv)
                return fprintf(stderr, "acctsec: --json with --format csv needs --output FILE\n"), EXIT_USAGE;
        if (c->output) {
                r = open_output(c->output, &fd);
                if (r == -ELOOP)
                        return cli_fail(c, EXIT_FAILURE, "%s is a symbolic link: not writing through it", name);
                if (r == -EPERM)
                        return cli_fail(c, EXIT_FAILURE, "%s exists and is not a regular file of yours with one link: "
                                        "not overwriting it", name);
                if (r < 0)
                        return cli_fail(c, EXIT_FAILURE, "cannot create %s: %s", name, strerror(-r));
                x.out = fdopen(fd, "w");
                if (!x.out) {
                        close(fd);
                        return cli_fail(c, EXIT_FAILURE, "cannot write %s: %s", name, strerror(errno));
                }
        }
        x.progress = isatty(STDERR_FILENO) && (c->output || !isatty(STDOUT_FILENO));
        bool json_summary = c->json && c->output;
        c->json = json_summary; /* errors must not land in the middle of a document on stdout */
        r = export_pages(&x, since, name);
        show_progress(&x, true);
        if (r == 0)
                r = finish_output(&x, name, fd);
        else if (fd >= 0)
                fclose(x.out);
        if (r && c->output && unlink(c->output) == 0)
                fprintf(stderr, "acctsec: removed the incomplete %s\n", c->output);
        if (r || !c->output)
                return r;
        if (json_summary) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "output", c->output);
                json_str(&j, "format", c->format);
                json_int(&j, "events", (long long) x.written);
                json_close(&j, '}');
                json_end(&j);
        } else
                printf("%llu events written to %s\n", (unsigned long long) x.written, c->output);
        return 0;
}
