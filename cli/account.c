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
