/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec account disable|enable|expire-password (admins). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

static int account_op(struct cli *c, uint8_t op, const char *done, const char *already) {
        uint64_t changed = 1;
        if (!c->user) {
                fprintf(stderr, "acctsec: account %s needs --user NAME\n", c->verb);
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, op);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &changed);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_bool(&j, "changed", changed);
                json_close(&j, '}');
                json_end(&j);
        } else {
                print_safe(stdout, c->user);
                printf(": %s\n", changed ? done : already);
        }
        return 0;
}

int cmd_account_disable(struct cli *c) {
        return account_op(c, ACCTSEC_OP_ACCOUNT_DISABLE, "disabled: every login is refused (public keys included)",
                          "was disabled already");
}

int cmd_account_enable(struct cli *c) {
        return account_op(c, ACCTSEC_OP_ACCOUNT_ENABLE, "enabled", "was not disabled");
}

int cmd_account_expire(struct cli *c) {
        return account_op(c, ACCTSEC_OP_EXPIRE_PASSWORD, "must change the password at the next login",
                          "must change the password at the next login");
}

/* The temporary password is printed once, here, or mailed by the daemon. */
int cmd_account_reset_password(struct cli *c) {
        if (!c->user) {
                fprintf(stderr, "acctsec: account reset-password needs --user NAME\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_RESET_PASSWORD);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_FLAG, c->mail);
        int r = cli_call_long(c);
        if (r)
                return r;
        const char *password = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PASSWORD);
        const char *masked = acctsec_msg_str(&c->reply, ACCTSEC_TAG_ADDRESS);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_str(&j, "password", password);
                json_str(&j, "mailed_to", masked);
                json_bool(&j, "change_required", true);
                json_close(&j, '}');
                json_end(&j);
        } else if (password) {
                printf("Temporary password for ");
                print_safe(stdout, c->user);
                printf(": %s\n(shown this once; the user must change it at the next login)\n", password);
        } else {
                printf("A temporary password was mailed to ");
                print_safe(stdout, masked ? masked : "the user's address");
                printf("; the user must change it at the next login.\n");
        }
        acctsec_msg_wipe(&c->reply);
        return 0;
}
