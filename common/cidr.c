/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* A literal address, nothing else: inet_pton refuses spaces, zones ("%eth0"),
 * brackets, trailing dots, and (glibc, musl) the IPv4 forms that other
 * parsers read differently: octal "0177.0.0.1", shorthand "127.1", hex.
 * The copy bounds what we hand it (the longest IPv6 text is 45 bytes). */
static int parse_address(const char *s, size_t len, uint8_t *ret_family, uint8_t ret_addr[16]) {
        char buf[INET6_ADDRSTRLEN];
        uint8_t a[16] = { 0 };
        uint8_t family;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET, buf, a) == 1)
                family = 4;
        else if (inet_pton(AF_INET6, buf, a) == 1)
                family = 6;
        else
                return -EINVAL;
        *ret_family = family;
        memcpy(ret_addr, a, sizeof(a));
        return 0;
}

/* Decimal, no sign, no leading zero, at most max. */
static int parse_prefix(const char *s, unsigned max, uint8_t *ret) {
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > max)
                return -EINVAL;
        *ret = (uint8_t) v;
        return 0;
}

/* Whether a and b agree in their first `prefix` bits. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix) {
        unsigned whole = prefix / 8, rest = prefix % 8;
        if (memcmp(a, b, whole) != 0)
                return false;
        if (rest == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff00u >> rest);
        return ((a[whole] ^ b[whole]) & mask) == 0;
}

static void to_v4(uint8_t *family, uint8_t addr[16]) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = 4;
}

int cidr_parse(const char *s, struct cidr *ret) {
        struct cidr c = { 0 };
        const char *slash;
        size_t len;
        int r;

        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "LOCAL") == 0) {
                *ret = (struct cidr){ .local = true };
                return 0;
        }
        slash = strchr(s, '/');
        len = slash ? (size_t) (slash - s) : strlen(s);
        r = parse_address(s, len, &c.family, c.addr);
        if (r < 0)
                return r;
        c.prefix = c.family == 4 ? 32 : 128;
        if (slash) {
                r = parse_prefix(slash + 1, c.prefix, &c.prefix);
                if (r < 0)
                        return r;
        }
        /* Host bits set: most likely a typo for another range; refuse it
         * rather than guess which one was meant. */
        for (unsigned bit = c.prefix; bit < (c.family == 4 ? 32u : 128u); bit++)
                if (c.addr[bit / 8] & (0x80u >> (bit % 8)))
                        return -EINVAL;
        /* Sources in ::ffff:0:0/96 are compared as IPv4 (cidr_source_parse),
         * so a range inside it becomes the IPv4 range it denotes: kept as
         * IPv6 it could never match.  A wider IPv6 range (::/64) stays IPv6
         * and matches IPv6 logins only, as ::/0 does. */
        if (c.family == 6 && c.prefix >= 96 && memcmp(c.addr, v4_mapped, 12) == 0) {
                to_v4(&c.family, c.addr);
                c.prefix -= 96;
        }
        *ret = c;
        return 0;
}

void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]) {
        char a[INET6_ADDRSTRLEN];

        if (c->local) {
                snprintf(out, CIDR_TEXT_MAX, "LOCAL");
                return;
        }
        if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a)))
                a[0] = '\0'; /* cannot happen: the buffer is big enough */
        snprintf(out, CIDR_TEXT_MAX, "%s/%u", a, (unsigned) c->prefix);
}

void cidr_source_parse(const char *rhost, struct cidr_source *ret) {
        struct cidr_source src = { .kind = CIDR_SOURCE_INVALID };

        if (!rhost || rhost[0] == '\0')
                src.kind = CIDR_SOURCE_LOCAL;
        else if (parse_address(rhost, strlen(rhost), &src.family, src.addr) == 0) {
                src.kind = CIDR_SOURCE_ADDRESS;
                if (src.family == 6 && memcmp(src.addr, v4_mapped, 12) == 0)
                        to_v4(&src.family, src.addr);
        }
        *ret = src;
}

bool cidr_match(const struct cidr *c, const struct cidr_source *src) {
        if (c->local)
                return src->kind == CIDR_SOURCE_LOCAL;
        if (src->kind != CIDR_SOURCE_ADDRESS || c->family != src->family)
                return false;
        if ((c->family != 4 && c->family != 6) || c->prefix > (c->family == 4 ? 32 : 128))
                return false;
        return prefix_equal(c->addr, src->addr, c->prefix);
}
