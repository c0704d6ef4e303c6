/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "totp.h"

int totp_code(const uint8_t *secret, size_t len, int64_t step, unsigned digits, char out[9]) {
        if (digits < 6 || digits > 8 || step < 0)
                return -EINVAL;
        /* liboath takes a time, not a step: the step's first second. */
        int r = oath_totp_generate((const char *) secret, len, (time_t) (step * TOTP_STEP), TOTP_STEP, 0, digits, out);
        return r == OATH_OK ? 0 : -EIO;
}

static int valid_code(const char *code) {
        size_t n = strlen(code);
        if (n != TOTP_DIGITS)
                return 0;
        return strspn(code, "0123456789") == n;
}

int totp_check(const uint8_t *secret, size_t len, int64_t now, unsigned window, int64_t last_step, const char *code,
               int64_t *ret_step) {
        char want[9];
        int64_t hit = -1;

        if (!valid_code(code) || window > TOTP_WINDOW_MAX)
                return -EACCES;
        int64_t step = now / TOTP_STEP;
        for (int64_t s = step - (int64_t) window; s <= step + (int64_t) window; s++) {
                if (totp_code(secret, len, s, TOTP_DIGITS, want) < 0)
                        continue;
                /* No early exit: every candidate costs the same. */
                if (acctsec_equal_ct(want, code, TOTP_DIGITS) && hit < 0)
                        hit = s;
        }
        acctsec_wipe(want, sizeof(want));
        if (hit < 0)
                return -EACCES;
        if (hit <= last_step)
                return -EALREADY;
        *ret_step = hit;
        return 0;
}

/* Percent-encode what is not unreserved (RFC 3986) for the otpauth URI. */
static void put_escaped(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p))
                        fputc(*p, f);
                else
                        fprintf(f, "%%%02X", *p);
        }
}

int totp_uri(const uint8_t *secret, size_t len, const char *user, const char *issuer, char **ret_uri,
             char **ret_base32) {
        char *b32 = NULL, *uri = NULL;
        size_t b32len = 0, urilen = 0;

        if (oath_base32_encode((const char *) secret, len, &b32, &b32len) != OATH_OK)
                return -ENOMEM;
        /* Authenticator apps want the secret without '=' padding. */
        char *eq = strchr(b32, '=');
        if (eq)
                *eq = '\0';
        FILE *f = open_memstream(&uri, &urilen);
        if (!f) {
                acctsec_erase_and_free(b32);
                return -ENOMEM;
        }
        fputs("otpauth://totp/", f);
        put_escaped(f, issuer);
        fputc(':', f);
        put_escaped(f, user);
        fprintf(f, "?secret=%s&issuer=", b32);
        put_escaped(f, issuer);
        fprintf(f, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_STEP);
        if (fclose(f) != 0) {
                acctsec_erase_and_free(b32);
                acctsec_erase_and_free(uri);
                return -ENOMEM;
        }
        *ret_uri = uri;
        *ret_base32 = b32;
        return 0;
}
