/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec phone set|verify|clear, mfa enroll sms. */
#include "config.h"

#include <stdio.h>

#include "cli.h"
#include "output.h"

static void print_number_json(const char *number, bool verified) {
        struct json j;
        json_begin(&j, stdout);
        json_open(&j, NULL, '{');
        json_str(&j, "phone", number);
        json_bool(&j, "verified", verified);
        json_close(&j, '}');
        json_end(&j);
}

int cmd_phone_set(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_PHONE_SET);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_PHONE, c->args[0]);
        int r = cli_call_long(c);
        if (r)
                return r;
        uint64_t verified = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_FLAG, &verified);
        if (!verified && (r = sent_or_fail(c)))
                return r;
        if (c->json)
                print_number_json(c->args[0], verified);
        else if (verified)
                printf("Phone number set (set by an admin, so it counts as verified).\n");
        else {
                print_message(c);
                printf("Confirm it with: acctsec phone verify CODE\n");
        }
        return 0;
}

int cmd_phone_verify(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_PHONE_VERIFY);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_CODE, c->args[0]);
        int r = cli_call(c);
        acctsec_frame_wipe(&c->req);
        if (r)
                return r;
        const char *number = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PHONE);
        if (c->json)
                print_number_json(number, true);
        else {
                printf("Phone number verified: ");
                print_safe(stdout, number ? number : "?");
                printf("\nTo get login codes by text message: acctsec mfa enroll sms\n");
        }
        return 0;
}

int cmd_phone_clear(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_PHONE_CLEAR);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        uint64_t had = 0;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &had);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_bool(&j, "removed", had != 0);
                json_close(&j, '}');
                json_end(&j);
        } else
                printf(had ? "Phone number removed; texted codes are off.\n" : "There was no phone number.\n");
        return 0;
}

int cmd_mfa_enroll_sms(struct cli *c) {
        acctsec_frame_init(&c->req, ACCTSEC_OP_PHONE_CODES);
        int r = cli_call(c);
        if (r)
                return r;
        const char *masked = acctsec_msg_str(&c->reply, ACCTSEC_TAG_PHONE);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "sms_codes", "active");
                json_str(&j, "phone", masked);
                json_close(&j, '}');
                json_end(&j);
        } else {
                printf("Texted codes are on: logins will text a code to ");
                print_safe(stdout, masked ? masked : "your phone");
                printf(".\n");
        }
        return 0;
}
