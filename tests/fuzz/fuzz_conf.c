/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the config parser: the input is a whole
 * /etc/security/acctsec.conf.  Built and run by tests/fuzz/run.sh.
 * Beyond the sanitizers, it checks invariants and abort()s when one breaks.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_group(const char *group, void *userdata) {
        if (userdata != (void *) in_group)
                abort();
        return strcmp(group, "wheel") == 0 || strcmp(group, "admins") == 0 || strcmp(group, "g") == 0;
}

static void check(const struct acctsec_conf *c) {
        if (!memchr(c->socket, '\0', sizeof(c->socket)) || c->socket[0] != '/')
                abort();
        if (c->timeout_ms < 10 || c->timeout_ms > 600000)
                abort();
        if (c->failmode != ACCTSEC_FAILMODE_SECURE && c->failmode != ACCTSEC_FAILMODE_OPEN)
                abort();
        if (c->lock_scope != ACCTSEC_LOCK_SCOPE_USER && c->lock_scope != ACCTSEC_LOCK_SCOPE_USER_SOURCE)
                abort();
        if (c->deny > 1000000 || c->fail_interval < 1 || c->fail_interval > 366 * 86400 ||
            c->unlock_time > 366 * 86400)
                abort();
        if (!memchr(c->admin_group, '\0', sizeof(c->admin_group)) ||
            !memchr(c->audit_group, '\0', sizeof(c->audit_group)))
                abort();
        if (c->min_length < 1 || c->min_length > 1024 || c->max_length < 8 || c->max_length > 4096 ||
            c->history > 50 || c->retry < 1 || c->retry > 10 || c->max_password_age > 3650 * 86400)
                abort();
        if (!memchr(c->dictionary, '\0', sizeof(c->dictionary)) || (c->dictionary[0] && c->dictionary[0] != '/'))
                abort();
}

static bool conf_equal(const struct acctsec_conf *a, const struct acctsec_conf *b) {
        return strcmp(a->socket, b->socket) == 0 && a->timeout_ms == b->timeout_ms &&
               a->failmode == b->failmode && a->debug == b->debug && a->silent == b->silent &&
               a->deny == b->deny && a->fail_interval == b->fail_interval && a->unlock_time == b->unlock_time &&
               a->even_deny_root == b->even_deny_root && a->lock_scope == b->lock_scope &&
               a->lock_message == b->lock_message && strcmp(a->admin_group, b->admin_group) == 0 &&
               strcmp(a->audit_group, b->audit_group) == 0 && a->min_length == b->min_length &&
               a->max_length == b->max_length && a->require_upper == b->require_upper &&
               a->require_lower == b->require_lower && a->require_digit == b->require_digit &&
               a->require_special == b->require_special && a->history == b->history &&
               strcmp(a->dictionary, b->dictionary) == 0 && a->allow_self_change == b->allow_self_change &&
               a->enforce_for_root == b->enforce_for_root && a->max_password_age == b->max_password_age &&
               a->retry == b->retry;
}

static unsigned count_lines(const uint8_t *data, size_t size) {
        unsigned n = 0;
        for (size_t i = 0; i < size; i++)
                if (data[i] == '\n')
                        n++;
        return n + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const struct acctsec_conf_match m = {
                .user = "alice",
                .service = "sshd",
                .in_group = in_group,
                .userdata = (void *) in_group,
        };
        const struct acctsec_conf_match none = { 0 };
        struct acctsec_conf c, c2, c3;
        struct acctsec_conf_error e = { 0 }, e2 = { 0 };
        int r, r2, r3;

        acctsec_conf_defaults(&c);
        r = acctsec_conf_parse(&c, (const char *) data, size, &m, &e);
        if (r != 0 && r != -EINVAL && r != -ENOENT && r != -EPERM)
                abort();
        if (r < 0) {
                if (e.line < 1 || e.line > count_lines(data, size))
                        abort();
                if (!memchr(e.msg, '\0', sizeof(e.msg)) || e.msg[0] == '\0')
                        abort();
        }
        check(&c);

        /* Whether a file is valid does not depend on who logs in, and the
         * error struct is optional. */
        acctsec_conf_defaults(&c2);
        r2 = acctsec_conf_parse(&c2, (const char *) data, size, &none, &e2);
        if (r2 != r || (r < 0 && e2.line != e.line))
                abort();
        check(&c2);
        acctsec_conf_defaults(&c3);
        r3 = acctsec_conf_parse(&c3, (const char *) data, size, NULL, NULL);
        if (r3 != r)
                abort();
        /* With nobody matching, only the global part applies: same result. */
        if (!conf_equal(&c2, &c3))
                abort();

        /* The input as one module argument, from every origin. */
        if (size < 256 && !memchr(data, '\0', size)) {
                char arg[256];
                memcpy(arg, data, size);
                arg[size] = '\0';
                for (int o = ACCTSEC_CONF_GLOBAL; o <= ACCTSEC_CONF_OVERRIDE; o++) {
                        const char *why = NULL;
                        acctsec_conf_defaults(&c);
                        r = acctsec_conf_set_arg(&c, arg, (enum acctsec_conf_origin) o, &why);
                        if (r != 0 && r != -EINVAL && r != -ENOENT && r != -EPERM)
                                abort();
                        if (r < 0 && !why)
                                abort();
                        /* policy keys are accepted (or refused for their value) as overrides */
                        if (o == ACCTSEC_CONF_OVERRIDE && r == -EPERM && acctsec_conf_key_is_policy(arg))
                                abort();
                        check(&c);
                }
        }
        return 0;
}
