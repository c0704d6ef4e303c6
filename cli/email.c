/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec email set|verify, mfa enroll email, mfa disable, mfa require. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "macro.h"
#include "output.h"
#include "secret.h"

/* The terminal as read_line found it, while echo is off: put back when a
 * signal ends the program at the prompt (Ctrl-C). */
static struct termios saved_term;
static volatile sig_atomic_t term_saved;
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void restore_term_and_die(int sig) {
        if (term_saved)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_term);
        (void) signal(sig, SIG_DFL);
        (void) raise(sig);
}

/* One line from the terminal (echo off when secret) or, for scripts, from
 * stdin.  false at end of input.  As getpass(3) and PAM's misc_conv do:
 * echo goes off (dropping what was typed before the prompt) before the
 * prompt is shown, so that an answer typed as soon as it appears is
 * neither echoed nor thrown away; echo comes back afterwards, and also when
 * a signal ends the program at the prompt; Ctrl-Z waits until the line is
 * read. */
static bool read_line(const char *prompt, bool secret, char *buf, size_t n) {
        struct termios old, quiet;
        struct sigaction prev[ARRAY_SIZE(fatal_signals)];
        bool caught[ARRAY_SIZE(fatal_signals)] = { false };
        sigset_t tstp, oset;
        bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
        bool quiet_tty = tty && secret;
        if (quiet_tty) {
                struct sigaction sa = { .sa_handler = restore_term_and_die };
                sigemptyset(&sa.sa_mask);
                saved_term = old;
                term_saved = 1;
                for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
                        /* a signal ignored (nohup) stays ignored */
                        caught[i] = sigaction(fatal_signals[i], NULL, &prev[i]) == 0 &&
                                    prev[i].sa_handler == SIG_DFL && sigaction(fatal_signals[i], &sa, NULL) == 0;
                sigemptyset(&tstp);
                sigaddset(&tstp, SIGTSTP);
                (void) sigprocmask(SIG_BLOCK, &tstp, &oset);
                quiet = old;
                quiet.c_lflag &= (tcflag_t) ~ECHO;
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
        if (tty) {
                fputs(prompt, stderr);
                fflush(stderr);
        }
        bool ok = fgets(buf, (int) n, stdin) != NULL;
        if (quiet_tty) {
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &old);
                term_saved = 0;
                for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
                        if (caught[i])
                                (void) sigaction(fatal_signals[i], &prev[i], NULL);
                (void) sigprocmask(SIG_SETMASK, &oset, NULL);
                fputc('\n', stderr);
        }
        if (ok)
                buf[strcspn(buf, "\r\n")] = '\0';
        return ok;
}

void print_message(struct cli *c) {
        const char *m = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        if (m) {
                print_safe(stdout, m);
                fputc('\n', stdout);
        }
}

/* A reply to a request that mails a code: sent, not sent, or wait. */
int sent_or_fail(struct cli *c) {
        uint64_t sent = 0, wait = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_SENT, &sent);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_WAIT, &wait);
        const char *m = acctsec_msg_str(&c->reply, ACCTSEC_TAG_MESSAGE);
        if (!sent)
                return cli_fail(c, wait ? EXIT_TEMPFAIL : EXIT_FAILURE, "%s", m ? m : "the code was not sent");
        return 0;
}

int cmd_email_set(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_EMAIL_SET);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_ADDRESS, c->args[0]);
        int r = cli_call_long(c);
        if (r)
                return r;
        uint64_t verified = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_FLAG, &verified);
        if (!verified && (r = sent_or_fail(c)))
                return r;
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "address", c->args[0]);
                json_bool(&j, "verified", verified);
                json_close(&j, '}');
                json_end(&j);
        } else if (verified)
                printf("Address set (set by an admin, so it counts as verified).\n");
        else {
                print_message(c);
                printf("Confirm it with: acctsec email verify CODE\n");
        }
        return 0;
}

int cmd_email_verify(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_EMAIL_VERIFY);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_CODE, c->args[0]);
        int r = cli_call(c);
        acctsec_frame_wipe(&c->req);
        if (r)
                return r;
        const char *address = acctsec_msg_str(&c->reply, ACCTSEC_TAG_ADDRESS);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "address", address);
                json_bool(&j, "verified", true);
                json_close(&j, '}');
                json_end(&j);
        } else {
                printf("Address verified: ");
                print_safe(stdout, address ? address : "?");
                printf("\nTo get login codes by mail: acctsec mfa enroll email\n");
        }
        return 0;
}

int cmd_mfa_enroll_email(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_EMAIL_CODES);
        acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_FLAG, 1);
        int r = cli_call(c);
        if (r)
                return r;
        const char *masked = acctsec_msg_str(&c->reply, ACCTSEC_TAG_ADDRESS);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "email_codes", "active");
                json_str(&j, "address", masked);
                json_close(&j, '}');
                json_end(&j);
        } else {
                printf("Emailed codes are on: logins will send a code to ");
                print_safe(stdout, masked ? masked : "your address");
                printf(".\n");
        }
        return 0;
}

/* The password, then a current code: from the app, a backup code, or (with
 * emailed codes only) one mailed now. */
int cmd_mfa_disable(struct cli *c) {
        char password[1024], code[64], attempt[64] = "";
        uint64_t totp = 0;

        if (c->user) {
                fprintf(stderr, "acctsec: mfa disable is for your own account; admins use 'mfa reset --user NAME'\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_MFA_STATUS);
        int r = cli_call(c);
        if (r)
                return r;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MFA, &totp);
        if (!read_line("Password: ", true, password, sizeof(password)))
                return cli_fail(c, EXIT_FAILURE, "no password given; nothing was changed");
        if (totp != ACCTSEC_MFA_STATE_ACTIVE) {
                acctsec_frame_init(&c->req, ACCTSEC_OP_DISABLE_CODE);
                r = cli_call_long(c);
                if (r == 0)
                        r = sent_or_fail(c);
                if (r) {
                        acctsec_wipe(password, sizeof(password));
                        return r;
                }
                snprintf(attempt, sizeof(attempt), "%s", acctsec_msg_str(&c->reply, ACCTSEC_TAG_ATTEMPT) ?: "");
                if (!c->json)
                        print_message(c);
        }
        if (!read_line(totp == ACCTSEC_MFA_STATE_ACTIVE ? "Code from your authenticator app (or a backup code): "
                                                         : "Code just sent to you: ",
                       true, code, sizeof(code))) {
                acctsec_wipe(password, sizeof(password));
                return cli_fail(c, EXIT_FAILURE, "no code given; nothing was changed");
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_MFA_DISABLE);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_PASSWORD, password);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_CODE, code);
        if (attempt[0])
                acctsec_frame_add_str(&c->req, ACCTSEC_TAG_ATTEMPT, attempt);
        acctsec_wipe(password, sizeof(password));
        acctsec_wipe(code, sizeof(code));
        r = cli_call_long(c);
        acctsec_frame_wipe(&c->req);
        if (r)
                return r;
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_bool(&j, "disabled", true);
                json_close(&j, '}');
                json_end(&j);
        } else
                printf("Second factor turned off (authenticator app, backup codes, emailed and texted codes).\n");
        return 0;
}

int cmd_mfa_require(struct cli *c) {
        if (!c->user) {
                fprintf(stderr, "acctsec: mfa require needs --user NAME\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_MFA_REQUIRE);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_FLAG, !c->off);
        int r = cli_call(c);
        if (r)
                return r;
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_bool(&j, "required", !c->off);
                json_close(&j, '}');
                json_end(&j);
        } else {
                print_safe(stdout, c->user);
                printf(c->off ? ": a second factor is no longer required by an admin (the config still applies)\n"
                              : ": a second factor is now required at every login\n");
        }
        return 0;
}
