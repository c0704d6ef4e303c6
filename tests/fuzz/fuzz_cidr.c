/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for allowlist entries and login sources (common/cidr.c).
 * Built and run by tests/fuzz/run.sh.  Input: an entry up to the first NUL,
 * a PAM_RHOST after it (none: no NUL).  Beyond the sanitizers: what parses
 * is well-formed and formats to text that parses back to the same struct,
 * and cidr_match agrees with a bit-by-bit reference.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t zero[16];
static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static unsigned bits(uint8_t family) {
        return family == 4 ? 32 : 128;
}

static bool bit(const uint8_t *a, unsigned i) {
        return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void check_entry(const struct cidr *c) {
        char text[CIDR_TEXT_MAX], text2[CIDR_TEXT_MAX];
        struct cidr again;

        if (c->local) {
                if (c->family != 0 || c->prefix != 0 || memcmp(c->addr, zero, 16) != 0)
                        abort();
        } else {
                if ((c->family != 4 && c->family != 6) || c->prefix > bits(c->family))
                        abort();
                for (unsigned i = c->prefix; i < 128; i++) /* host bits, and v4's unused bytes */
                        if (bit(c->addr, i))
                                abort();
                if (c->family == 6 && c->prefix >= 96 && memcmp(c->addr, mapped, 12) == 0)
                        abort(); /* must have become IPv4 */
        }
        memset(text, 'x', sizeof(text));
        cidr_format(c, text);
        if (!memchr(text, '\0', sizeof(text)))
                abort();
        if (cidr_parse(text, &again) != 0 || memcmp(c, &again, sizeof(again)) != 0)
                abort();
        cidr_format(&again, text2);
        if (strcmp(text, text2) != 0)
                abort();
}

static void check_source(const char *rhost, const struct cidr_source *s) {
        switch (s->kind) {
        case CIDR_SOURCE_LOCAL:
                if (rhost && rhost[0])
                        abort();
                break;
        case CIDR_SOURCE_ADDRESS:
                if (s->family == 4 ? memcmp(s->addr + 4, zero, 12) != 0
                                   : s->family != 6 || memcmp(s->addr, mapped, 12) == 0)
                        abort();
                break;
        case CIDR_SOURCE_INVALID:
                if (!rhost || !rhost[0] || s->family != 0 || memcmp(s->addr, zero, 16) != 0)
                        abort();
                break;
        default:
                abort();
        }
}

static bool ref_match(const struct cidr *c, const struct cidr_source *s) {
        if (c->local)
                return s->kind == CIDR_SOURCE_LOCAL;
        if (s->kind != CIDR_SOURCE_ADDRESS || s->family != c->family)
                return false;
        for (unsigned i = 0; i < c->prefix; i++)
                if (bit(c->addr, i) != bit(s->addr, i))
                        return false;
        return true;
}

/* The source as a one-address entry: it parses, and matches the source. */
static void check_host_entry(const struct cidr_source *s) {
        struct cidr host = { .family = s->family, .prefix = (uint8_t) bits(s->family) }, c;
        char text[CIDR_TEXT_MAX];

        memcpy(host.addr, s->addr, 16);
        cidr_format(&host, text);
        if (cidr_parse(text, &c) != 0 || memcmp(&c, &host, sizeof(c)) != 0 || !cidr_match(&c, s))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cidr c;
        struct cidr_source s;
        char *buf = malloc(size + 1); /* exactly sized, so that ASan sees any over-read */
        const char *rhost;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        rhost = strlen(buf) < size ? buf + strlen(buf) + 1 : NULL;

        memset(&c, 0xA5, sizeof(c));
        int r = cidr_parse(buf, &c);
        if (r == 0)
                check_entry(&c);
        else if (r != -EINVAL || c.prefix != 0xA5)
                abort();

        cidr_source_parse(rhost, &s);
        check_source(rhost, &s);
        if (s.kind == CIDR_SOURCE_ADDRESS)
                check_host_entry(&s);
        if (r == 0 && cidr_match(&c, &s) != ref_match(&c, &s))
                abort();

        /* the entry text as a source: an address without a prefix is one */
        cidr_source_parse(buf, &s);
        check_source(buf, &s);
        if (r == 0 && !c.local && !strchr(buf, '/') && (s.kind != CIDR_SOURCE_ADDRESS || !cidr_match(&c, &s)))
                abort();
        free(buf);
        return 0;
}
