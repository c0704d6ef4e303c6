/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec token create|list|revoke and allowlist add|remove|list. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "secret.h"

int cmd_token_create(struct cli *c) {
        char *end = NULL;
        unsigned long months = c->expires ? strtoul(c->expires, &end, 10) : 0;
        if (!c->name || !c->services || !c->expires || !end || *end || months < 1 || months > 12) {
                fprintf(stderr, "acctsec: token create needs --name NAME --expires MONTHS (1-12) --services LIST\n");
                return EXIT_USAGE;
        }
        acctsec_frame_init(&c->req, ACCTSEC_OP_TOKEN_CREATE);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_NAME, c->name);
        acctsec_frame_add_str(&c->req, ACCTSEC_TAG_SERVICES, c->services);
        acctsec_frame_add_u64(&c->req, ACCTSEC_TAG_COUNT, months);
        int r = cli_call(c);
        if (r)
                return r;
        const char *token = acctsec_msg_str(&c->reply, ACCTSEC_TAG_TOKEN);
        uint64_t expires = 0;
        char t[64];
        (void) acctsec_msg_u64(&c->reply, ACCTSEC_TAG_EXPIRES, &expires);
        if (!token)
                return cli_fail(c, EXIT_FAILURE, "acctsecd sent no token");
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", acctsec_msg_str(&c->reply, ACCTSEC_TAG_USER));
                json_str(&j, "name", c->name);
                json_str(&j, "token", token);
                json_str(&j, "services", c->services);
                json_int(&j, "expires", (long long) expires);
                json_close(&j, '}');
                json_end(&j);
        } else
                printf("%s\n\nThe token above is shown this once: store it now.  It works as the password for\n"
                       "the services %s until %s; revoke it with: acctsec token revoke %s\n",
                       token, c->services, fmt_time(expires, t, sizeof(t)), c->name);
        acctsec_msg_wipe(&c->reply);
        return 0;
}

int cmd_token_list(struct cli *c) {
        struct json j;
        char t1[64], t2[64], t3[64];
        acctsec_frame_init(&c->req, ACCTSEC_OP_TOKEN_LIST);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '[');
        } else
                printf("%-24s %-19s %-19s %-19s %s\n", "NAME", "CREATED", "LAST USED", "EXPIRES", "SERVICES");
        const char *name = NULL, *services = NULL;
        uint64_t created = 0, expires = 0, last = 0;
        for (size_t i = 0; i <= c->reply.nfields; i++) {
                const struct acctsec_field *f = i < c->reply.nfields ? &c->reply.f[i] : NULL;
                if ((!f || f->tag == ACCTSEC_TAG_RECORD) && name) {
                        if (c->json) {
                                json_open(&j, NULL, '{');
                                json_str(&j, "name", name);
                                json_str(&j, "services", services);
                                json_int(&j, "created", (long long) created);
                                if (last)
                                        json_int(&j, "last_used", (long long) last);
                                else
                                        json_null(&j, "last_used");
                                json_int(&j, "expires", (long long) expires);
                                json_close(&j, '}');
                        } else {
                                print_safe(stdout, name);
                                printf("%*s %-19s %-19s %-19s ", strlen(name) < 24 ? (int) (24 - strlen(name)) : 0, "",
                                       fmt_time(created, t1, sizeof(t1)), last ? fmt_time(last, t2, sizeof(t2)) : "never",
                                       fmt_time(expires, t3, sizeof(t3)));
                                print_safe(stdout, services ? services : "");
                                fputc('\n', stdout);
                        }
                        name = services = NULL;
                        created = expires = last = 0;
                }
                if (!f)
                        break;
                if (f->tag == ACCTSEC_TAG_NAME && acctsec_field_is_string(f))
                        name = f->val;
                else if (f->tag == ACCTSEC_TAG_SERVICES && acctsec_field_is_string(f))
                        services = f->val;
                else if (f->tag == ACCTSEC_TAG_CREATED)
                        (void) acctsec_field_u64(f, &created);
                else if (f->tag == ACCTSEC_TAG_EXPIRES)
                        (void) acctsec_field_u64(f, &expires);
                else if (f->tag == ACCTSEC_TAG_LAST_USED)
                        (void) acctsec_field_u64(f, &last);
        }
        if (c->json) {
                json_close(&j, ']');
                json_end(&j);
        }
        return 0;
}

static int simple(struct cli *c, uint8_t op, uint8_t tag, const char *what, const char *done) {
        acctsec_frame_init(&c->req, op);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        acctsec_frame_add_str(&c->req, tag, c->args[0]);
        int r = cli_call(c);
        if (r)
                return r;
        const char *canonical = acctsec_msg_str(&c->reply, tag);
        if (c->json) {
                struct json j;
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_str(&j, what, canonical ? canonical : c->args[0]);
                json_close(&j, '}');
                json_end(&j);
        } else {
                bool list = tag == ACCTSEC_TAG_CIDR;
                print_safe(stdout, canonical ? canonical : c->args[0]);
                printf(": %s%s", done, c->user ? " for " : list ? " (the global list)" : "");
                if (c->user)
                        print_safe(stdout, c->user);
                fputc('\n', stdout);
        }
        return 0;
}

int cmd_token_revoke(struct cli *c) {
        return simple(c, ACCTSEC_OP_TOKEN_REVOKE, ACCTSEC_TAG_NAME, "revoked", "revoked; it stops working now");
}

int cmd_allowlist_add(struct cli *c) {
        return simple(c, ACCTSEC_OP_ALLOWLIST_ADD, ACCTSEC_TAG_CIDR, "added", "added to the allowlist");
}

int cmd_allowlist_remove(struct cli *c) {
        return simple(c, ACCTSEC_OP_ALLOWLIST_REMOVE, ACCTSEC_TAG_CIDR, "removed", "removed from the allowlist");
}

int cmd_allowlist_list(struct cli *c) {
        struct json j;
        char t[64];
        acctsec_frame_init(&c->req, ACCTSEC_OP_ALLOWLIST_LIST);
        acctsec_frame_add_str_opt(&c->req, ACCTSEC_TAG_USER, c->user);
        int r = cli_call(c);
        if (r)
                return r;
        const char *conf = acctsec_msg_str(&c->reply, ACCTSEC_TAG_POLICY);
        if (c->json) {
                json_begin(&j, stdout);
                json_open(&j, NULL, '{');
                json_str(&j, "user", c->user);
                json_str(&j, "config", conf);
                json_open(&j, "entries", '[');
        } else {
                printf("%s allowlist%s%s", c->user ? "The" : "The global", c->user ? " of " : "", c->user ? c->user : "");
                if (conf && *conf)
                        printf(" (empty: no restriction from it; the config's allowlist=%s applies too):\n", conf);
                else
                        printf(" (empty: no restriction from it; the config sets no allowlist):\n");
        }
        const char *cidr = NULL, *actor = NULL;
        uint64_t created = 0;
        for (size_t i = 0; i <= c->reply.nfields; i++) {
                const struct acctsec_field *f = i < c->reply.nfields ? &c->reply.f[i] : NULL;
                if ((!f || f->tag == ACCTSEC_TAG_RECORD) && cidr) {
                        if (c->json) {
                                json_open(&j, NULL, '{');
                                json_str(&j, "cidr", cidr);
                                json_str(&j, "added_by", actor);
                                json_int(&j, "added", (long long) created);
                                json_close(&j, '}');
                        } else {
                                printf("  %-43s added by ", cidr);
                                print_safe(stdout, actor ? actor : "?");
                                printf(", %s\n", fmt_time(created, t, sizeof(t)));
                        }
                        cidr = actor = NULL;
                }
                if (!f)
                        break;
                if (f->tag == ACCTSEC_TAG_CIDR && acctsec_field_is_string(f))
                        cidr = f->val;
                else if (f->tag == ACCTSEC_TAG_ACTOR && acctsec_field_is_string(f))
                        actor = f->val;
                else if (f->tag == ACCTSEC_TAG_CREATED)
                        (void) acctsec_field_u64(f, &created);
        }
        if (c->json) {
                json_close(&j, ']');
                json_close(&j, '}');
                json_end(&j);
        }
        return 0;
}
