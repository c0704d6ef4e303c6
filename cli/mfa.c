/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec mfa ...: TOTP enrolment, status, admin reset. */
#include "config.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "secret.h"

const char *mfa_state_name(uint64_t s) {
        return s == ACCTSEC_MFA_STATE_ACTIVE ? "active" : s == ACCTSEC_MFA_STATE_PENDING ? "pending" : "none";
}

/* The QR code of an otpauth URI, as every output draws it: the same
 * version, level and mode for the terminal and for --json.  It holds the
 * secret: free it with qr_free(). */
static QRcode *qr_make(const char *uri) {
        return QRcode_encodeString(uri, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
}

static void qr_free(QRcode *qr) {
        acctsec_wipe(qr->data, (size_t) qr->width * (size_t) qr->width);
        QRcode_free(qr);
}

/* Two modules per character cell, light on dark, with a quiet zone. */
static void print_qr(const char *text) {
        QRcode *qr = qr_make(text);
        if (!qr)
                return;
        int w = qr->width, q = 2;
        for (int y = -q; y < w + q; y += 2) {
                fputs("  ", stdout);
                for (int x = -q; x < w + q; x++) {
                        int top = y >= 0 && y < w && x >= 0 && x < w && (qr->data[y * w + x] & 1);
                        int bot = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w && (qr->data[(y + 1) * w + x] & 1);
                        fputs(top && bot ? " " : top ? "\u2584" : bot ? "\u2580" : "\u2588", stdout);
                }
                fputc('\n', stdout);
        }
        qr_free(qr);
}

#define QR_WIDTH_MAX (17 + 4 * QRSPEC_VERSION_MAX) /* modules across version 40 */

/* --json: "qr": one string per row, '1' a dark module, '0' a light one, no
 * quiet zone (a page draws it at any size); null if it cannot be made. */
static void json_qr(struct json *j, const char *uri) {
        char row[QR_WIDTH_MAX + 1];
        QRcode *qr = qr_make(uri);
        if (!qr || qr->width > QR_WIDTH_MAX) {
                if (qr)
                        qr_free(qr);
                json_null(j, "qr");
                return;
        }
        int w = qr->width;
        json_open(j, "qr", '[');
        for (int y = 0; y < w; y++) {
                for (int x = 0; x < w; x++)
                        row[x] = qr->data[y * w + x] & 1 ? '1' : '0';
                row[w] = '\0';
                json_str(j, NULL, row);
        }
        json_close(j, ']');
        acctsec_wipe(row, sizeof(row));
        qr_free(qr);
}

/* The codes in a reply: printed once, never stored by the CLI. */
static void print_codes(struct cli *c, struct json *j) {
        int n = 0;
        if (j)
                json_open(j, "backup_codes", '[');
        for (size_t i = 0; i < c->reply.nfields; i++) {
                const struct acctsec_field *f = &c->reply.f[i];
                if (f->tag != ACCTSEC_TAG_CODE || !acctsec_field_is_string(f))
                        continue;
                if (j)
                        json_str(j, NULL, f->val);
                else
                        printf("%s  %s", n % 2 ? "" : "\n   ", f->val);
                n++;
        }
        if (j)
                json_close(j, ']');
        else if (n)
                printf("\n\nBackup codes: each works once where a verification code is asked. Keep them\n"
                       "somewhere safe (a password manager, or paper); they are not shown again.\n");
}

/* A reply with a new set of codes: print it once, then wipe it. */
static int print_code_set(struct cli *c, bool totp_active, const char *heading) {
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER));
                if (totp_active)
                        json_str(&j, "totp", "active");
                print_codes(c, &j);
                json_close(&j, '}');
                json_end(&j);
        } else {
                printf("%s\n", heading);
                print_codes(c, NULL);
        }
        acctsec_msg_wipe(&c->reply);
        return 0;
}

static int confirm(struct cli *c, const char *code) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_TOTP_CONFIRM);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_CODE, code);
        int r = cli_call(c);
        acctsec_frame_wipe(&c->req);
        if (r)
                return r;
        return print_code_set(c, true, "TOTP is now active: logins will ask for a verification code.");
}

int cmd_mfa_enroll(struct cli *c) {
        char line[64];

        if (strcmp(c->args[0], "email") == 0)
                return cmd_mfa_enroll_email(c);
        if (strcmp(c->args[0], "sms") == 0)
                return cmd_mfa_enroll_sms(c);
        if (strcmp(c->args[0], "totp") != 0) {
                fprintf(stderr, "acctsec: mfa enroll totp|email|sms\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_TOTP_ENROLL);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        const char *uri = acctsec_msg_str(&c->reply, ACCTSEC_TAG_URI);
        const char *secret = acctsec_msg_str(&c->reply, ACCTSEC_TAG_SECRET);
        if (!uri || !secret)
                return cli_fail(c, EXIT_FAILURE, "acctsecd sent no secret");
        if (c->json) { /* scripts confirm with: acctsec mfa confirm CODE */
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "uri", uri);
                json_str(&j, "secret", secret);
                json_str(&j, "state", "pending");
                json_qr(&j, uri);
                json_close(&j, '}');
                json_end(&j);
                acctsec_msg_wipe(&c->reply);
                return 0;
        }
        printf("Scan this with an authenticator app (or enter the key by hand):\n\n");
        print_qr(uri);
        printf("\n  key: %s\n  uri: %s\n\n", secret, uri);
        acctsec_msg_wipe(&c->reply);
        printf("Then type the 6-digit code the app shows: ");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
                printf("\nNot confirmed; TOTP stays inactive. Confirm later with: acctsec mfa confirm CODE\n");
                return EXIT_FAILURE;
        }
        line[strcspn(line, "\r\n")] = '\0';
        r = confirm(c, line);
        acctsec_wipe(line, sizeof(line));
        return r;
}

int cmd_mfa_confirm(struct cli *c) {
        return confirm(c, c->args[0]);
}

int cmd_mfa_status(struct cli *c) {
        uint64_t state = 0;
        acctsec_frame_init(&c->req, ACCTSEC_OP_MFA_STATUS);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        uint64_t left = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MFA, &state);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &left);
        const char *user = acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER);
        const char *policy = acctsec_msg_str(&c->reply, ACCTSEC_TAG_POLICY);
        const char *address = acctsec_msg_str(&c->reply, ACCTSEC_TAG_ADDRESS);
        const char *pending = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PENDING);
        const char *phone = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PHONE);
        const char *phone_pending = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PHONE_PENDING);
        uint64_t codes = 0, texted = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_FLAG, &codes);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_PHONE_CODES, &texted);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", user);
                json_str(&j, "totp", mfa_state_name(state));
                json_int(&j, "backup_codes_left", (long long) left);
                json_str(&j, "policy", policy);
                json_str(&j, "email", address && *address ? address : NULL);
                json_str(&j, "email_pending", pending && *pending ? pending : NULL);
                json_bool(&j, "email_codes", codes);
                json_str(&j, "phone", phone && *phone ? phone : NULL);
                json_str(&j, "phone_pending", phone_pending && *phone_pending ? phone_pending : NULL);
                json_bool(&j, "sms_codes", texted);
                json_close(&j, '}');
                json_end(&j);
                return 0;
        }
        printf("User:    ");
        print_safe(stdout, user ? user : "?");
        printf("\nTOTP:    %s\nBackup codes left: %llu\n", mfa_state_name(state), (unsigned long long) left);
        printf("Email:   ");
        print_safe(stdout, address && *address ? address : "none");
        if (pending && *pending) {
                printf(" (waiting for verification: ");
                print_safe(stdout, pending);
                printf(")");
        }
        printf("\nEmailed codes: %s\nPhone:   ", codes ? "on" : "off");
        print_safe(stdout, phone && *phone ? phone : "none");
        if (phone_pending && *phone_pending) {
                printf(" (waiting for verification: ");
                print_safe(stdout, phone_pending);
                printf(")");
        }
        printf("\nTexted codes: %s\nPolicy:  mfa = %s\n", texted ? "on" : "off", policy ? policy : "?");
        return 0;
}

int cmd_mfa_reset(struct cli *c) {
        uint64_t had = 0, devices = 0;
        if (!c->user) {
                fprintf(stderr, "acctsec: mfa reset needs --user NAME\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_MFA_RESET);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &had);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_REVOKED, &devices);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_bool(&j, "removed", had);
                json_int(&j, "devices_revoked", (long long) devices);
                json_close(&j, '}');
                json_end(&j);
        } else {
                print_safe(stdout, c->user);
                printf(": %s\n", had ? "second factor removed" : "had no second factor");
                print_devices_revoked(devices);
        }
        return 0;
}

int cmd_backup_generate(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_BACKUP_GENERATE);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        return print_code_set(c, false, "A new set of backup codes; the previous set no longer works.");
}

int cmd_backup_status(struct cli *c) {
        uint64_t left = 0;
        acctsec_frame_init(&c->req, ACCTSEC_OP_BACKUP_STATUS);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        uint64_t state = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &left);
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_MFA, &state);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER));
                json_int(&j, "backup_codes_left", (long long) left);
                json_close(&j, '}');
                json_end(&j);
        } else if (state != ACCTSEC_MFA_STATE_ACTIVE)
                printf("No active TOTP, so no backup codes: run 'acctsec mfa enroll totp' first.\n");
        else
                printf("%llu of 10 backup codes left%s\n", (unsigned long long) left,
                       left <= 3 ? ": run 'acctsec backup-codes generate' for a new set" : "");
        return 0;
}
