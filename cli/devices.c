/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec device list|revoke: remembered devices (second-factor relief). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

void print_devices_revoked(uint64_t n) {
        if (n > 0)
                printf("%llu remembered device%s revoked: the next login from %s asks for a code.\n",
                       (unsigned long long) n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
}

struct device_rec {
        uint64_t id, created, expires, last_used;
        const char *kind, *name, *source;
};

static void show_device(struct cli *c, struct json *j, const struct device_rec *d) {
        char t1[64], t2[64], t3[64];
        if (c->json) {
                json_open(j, NULL, '{');
                json_int(j, "id", (long long) d->id);
                json_str(j, "kind", d->kind);
                json_str(j, "device", d->name);
                json_str(j, "source", d->source);
                json_int(j, "created", (long long) d->created);
                json_int(j, "expires", (long long) d->expires);
                json_int(j, "last_used", (long long) d->last_used);
                json_close(j, '}');
                return;
        }
        printf("%-5llu %-8s ", (unsigned long long) d->id, d->kind ? d->kind : "?");
        print_safe(stdout, d->name ? d->name : "?");
        printf("\n      from ");
        print_safe(stdout, d->source ? d->source : "?");
        printf(", remembered %s, last used %s, until %s\n", fmt_time(d->created, t1, sizeof(t1)),
               fmt_time(d->last_used, t2, sizeof(t2)), fmt_time(d->expires, t3, sizeof(t3)));
}

/* One field of a DEVICE_LIST record into d. */
static void take_field(const struct acctsec_field *f, struct device_rec *d) {
        bool s = acctsec_field_is_string(f);
        if (f->tag == ACCTSEC_TAG_DEVICE)
                (void) acctsec_field_u64(f, &d->id);
        else if (f->tag == ACCTSEC_TAG_DEVICE_KIND && s)
                d->kind = f->val;
        else if (f->tag == ACCTSEC_TAG_DEVICE_NAME && s)
                d->name = f->val;
        else if (f->tag == ACCTSEC_TAG_SOURCE && s)
                d->source = f->val;
        else if (f->tag == ACCTSEC_TAG_CREATED)
                (void) acctsec_field_u64(f, &d->created);
        else if (f->tag == ACCTSEC_TAG_EXPIRES)
                (void) acctsec_field_u64(f, &d->expires);
        else if (f->tag == ACCTSEC_TAG_LAST_USED)
                (void) acctsec_field_u64(f, &d->last_used);
}

int cmd_device_list(struct cli *c) {
        struct json j;
        struct device_rec d = { 0 };
        uint64_t setting = 0;
        size_t shown = 0;
        acctsec_frame_init(&c->req, ACCTSEC_OP_DEVICE_LIST);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        /* Fields before the first RECORD are the reply's own. */
        size_t i = 0;
        for (; i < c->reply.nfields && c->reply.f[i].tag != ACCTSEC_TAG_RECORD; i++)
                if (c->reply.f[i].tag == ACCTSEC_TAG_EXPIRES)
                        (void) acctsec_field_u64(&c->reply.f[i], &setting);
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER));
                json_int(&j, "remember_device", (long long) setting);
                json_open(&j, "devices", '[');
        }
        for (; i <= c->reply.nfields; i++) {
                const struct acctsec_field *f = i < c->reply.nfields ? &c->reply.f[i] : NULL;
                if ((!f || f->tag == ACCTSEC_TAG_RECORD) && d.id) {
                        show_device(c, &j, &d);
                        shown++;
                        d = (struct device_rec){ 0 };
                }
                if (f)
                        take_field(f, &d);
        }
        if (c->json) {
                json_close(&j, ']');
                json_close(&j, '}');
                json_end(&j);
        } else if (shown == 0)
                printf("No remembered devices%s.\n", setting ? "" : " (remember_device is off)");
        return 0;
}

int cmd_device_revoke(struct cli *c) {
        uint64_t id = 0, n = 0;
        bool one = c->args[0] != NULL;
        if (one == c->all || (one && parse_id(c->args[0], &id) < 0)) {
                fprintf(stderr, "acctsec: device revoke needs a device ID (from 'acctsec device list') or --all\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_DEVICE_REVOKE);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_u64(&c->req, one ? ACCTSEC_TAG_DEVICE : ACCTSEC_TAG_ALL, one ? id : 1);
        int r = cli_call(c);
        if (r)
                return r;
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_COUNT, &n);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER));
                json_int(&j, "revoked", (long long) n);
                json_close(&j, '}');
                json_end(&j);
        } else if (n == 0)
                printf("No remembered devices.\n");
        else
                print_devices_revoked(n);
        return 0;
}
