/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "totp_enrol.h"

int totp_env_start(void **state) {
        int r = env_start(state);
        env_reconfigure(*state, "totp_window = 3\n");
        return r;
}

void totp_parse_backup_codes(const char *json, struct totp_user *t) {
        const char *p = strstr(json, "\"backup_codes\":[");
        assert_non_null(p);
        p += strlen("\"backup_codes\":[");
        for (int i = 0; i < 10; i++) {
                p = strchr(p, '"');
                assert_non_null(p);
                assert_int_equal(sscanf(p, "\"%11[^\"]\"", t->backup[i]), 1);
                p = strchr(p + 1, '"') + 1;
        }
}

const char *totp_code_at(const struct totp_user *t, int offset, char buf[16]) {
        assert_int_equal(oath_totp_generate(t->secret, t->secret_len, time(NULL) + 30 * offset, 30, 0, 6, buf),
                         OATH_OK);
        return buf;
}

void totp_enrol(struct env *e, const char *user, struct totp_user *ret) {
        char out[4096], code[16];
        const char *enroll[] = { "--json", "mfa", "enroll", "totp", "--user", user, NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), enroll), 0);
        char *p = strstr(out, "\"secret\":\"");
        assert_non_null(p);
        p += strlen("\"secret\":\"");
        p[strcspn(p, "\"")] = '\0';
        char *bin = NULL;
        memset(ret, 0, sizeof(*ret));
        assert_int_equal(oath_init(), OATH_OK); /* reference-counted: any number of times */
        assert_int_equal(oath_base32_decode(p, strlen(p), &bin, &ret->secret_len), OATH_OK);
        assert_true(ret->secret_len <= sizeof(ret->secret));
        memcpy(ret->secret, bin, ret->secret_len);
        free(bin);
        const char *confirm[] = { "--json", "mfa", "confirm", totp_code_at(ret, -2, code), "--user", user, NULL };
        assert_int_equal(run_cli(e, (uid_t) -1, out, sizeof(out), confirm), 0);
        totp_parse_backup_codes(out, ret);
}
