/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mail_send: build one message with mail_build() and deliver it with
 * mail_deliver(), the daemon's code, for tests/system/test_mail.py.
 *
 *   mail_send --transport maildir|sendmail|smtp --from A --to A
 *             [--subject S] [--body B] [--maildir D] [--sendmail P]
 *             [--url U] [--starttls yes|no] [--user U --password-file F]
 *             [--ca F] [--timeout S]
 *
 * Exits 0 when delivered; otherwise prints the reason and exits 1 (2: usage).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"

static int usage(const char *argv0) {
        fprintf(stderr,
                "usage: %s --transport maildir|sendmail|smtp --from ADDR --to ADDR [--subject S] [--body B]\n"
                "       [--maildir DIR] [--sendmail PATH] [--url smtp[s]://HOST:PORT] [--starttls yes|no]\n"
                "       [--user USER --password-file FILE] [--ca FILE] [--timeout SECONDS]\n",
                argv0);
        return 2;
}

static int parse_transport(const char *v, enum mail_transport *ret) {
        static const char *const names[] = { [MAIL_MAILDIR] = "maildir", [MAIL_SENDMAIL] = "sendmail",
                                             [MAIL_SMTP] = "smtp" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(v, names[i]) == 0)
                        return *ret = (enum mail_transport) i, 0;
        return -1;
}

/* One option from getopt_long into s or m: 0, or -1 when it is unknown or its value wrong. */
static int take_option(int c, struct mail_settings *s, struct mail_message *m) {
        switch (c) {
        case 'T':
                if (parse_transport(optarg, &s->transport) < 0)
                        return -1;
                break;
        case 'f':
                s->from = optarg;
                break;
        case 't':
                m->to = optarg;
                break;
        case 's':
                m->subject = optarg;
                break;
        case 'b':
                m->body = optarg;
                break;
        case 'd':
                s->maildir = optarg;
                break;
        case 'S':
                s->sendmail_path = optarg;
                break;
        case 'u':
                s->smtp_url = optarg;
                break;
        case 'L':
                if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0)
                        return -1;
                s->smtp_starttls = strcmp(optarg, "yes") == 0;
                break;
        case 'U':
                s->smtp_user = optarg;
                break;
        case 'P':
                s->smtp_password_file = optarg;
                break;
        case 'C':
                s->smtp_ca_file = optarg;
                break;
        case 'w':
                s->timeout_s = (unsigned) strtoul(optarg, NULL, 10);
                break;
        default:
                return -1;
        }
        return 0;
}

static int parse(int argc, char **argv, struct mail_settings *s, struct mail_message *m) {
        static const struct option opts[] = {
                { "transport", required_argument, NULL, 'T' }, { "from", required_argument, NULL, 'f' },
                { "to", required_argument, NULL, 't' },        { "subject", required_argument, NULL, 's' },
                { "body", required_argument, NULL, 'b' },      { "maildir", required_argument, NULL, 'd' },
                { "sendmail", required_argument, NULL, 'S' },  { "url", required_argument, NULL, 'u' },
                { "starttls", required_argument, NULL, 'L' },  { "user", required_argument, NULL, 'U' },
                { "password-file", required_argument, NULL, 'P' }, { "ca", required_argument, NULL, 'C' },
                { "timeout", required_argument, NULL, 'w' },   { NULL, 0, NULL, 0 },
        };
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
                if (take_option(c, s, m) < 0)
                        return -1;
        return optind == argc && m->to ? 0 : -1;
}

int main(int argc, char **argv) {
        struct mail_settings s = { .transport = MAIL_MAILDIR, .smtp_starttls = true, .timeout_s = 30 };
        struct mail_message m = { .subject = "acctsec test", .body = "" };
        char host[256] = "", err[512];
        const char *why;
        char *msg = NULL;
        size_t len;
        int r;

        if (parse(argc, argv, &s, &m) < 0)
                return usage(argv[0]);
        if (mail_settings_check(&s, &why) < 0) {
                fprintf(stderr, "mail_send: bad settings: %s\n", why);
                return 1;
        }
        (void) gethostname(host, sizeof(host) - 1);
        r = mail_build(&s, &m, host, time(NULL), &msg, &len);
        if (r < 0) {
                fprintf(stderr, "mail_send: cannot build the message: %s\n", strerror(-r));
                return 1;
        }
        r = mail_deliver(&s, m.to, msg, len, err, sizeof(err));
        free(msg);
        if (r < 0) {
                fprintf(stderr, "mail_send: %s (%s)\n", err, strerror(-r));
                return 1;
        }
        printf("mail_send: delivered to %s\n", m.to);
        return 0;
}
