/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IP allowlists: CIDR ranges (IPv4 and IPv6) and LOCAL (a login with no
 * remote host).  An IPv4-mapped IPv6 address (::ffff:192.0.2.1) matches the
 * IPv4 ranges.  Host names are never resolved: an address that does not
 * parse is not in any range.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIDR_TEXT_MAX 64 /* "ffff:...:ffff/128" and a NUL, with room */

struct cidr {
        bool local;       /* the entry LOCAL */
        uint8_t family;   /* 4 or 6 (0 for LOCAL) */
        uint8_t addr[16]; /* network bytes, host bits zero */
        uint8_t prefix;   /* 0..32 or 0..128 */
};

/* Parse "192.0.2.0/24", "2001:db8::/32", "192.0.2.7" (= /32), "::1" (= /128)
 * or "LOCAL" (case-insensitive).  Host bits set below the prefix are an
 * error (-EINVAL with why "host bits set: did you mean 192.0.2.0/24?"-style
 * is not required; just -EINVAL).  No spaces, no leading zeros in IPv4
 * octets (0177.0.0.1 is an error: it is octal to some parsers). */
int cidr_parse(const char *s, struct cidr *ret);
/* The canonical text ("192.0.2.0/24", "2001:db8::/32", "LOCAL"). */
void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]);

/* A login's source: PAM_RHOST as an address, or no remote host.
 * rhost NULL or "" is LOCAL.  Anything that is not a literal IPv4 or IPv6
 * address (a host name, "UNKNOWN", garbage, an IPv6 zone "%eth0") is
 * CIDR_SOURCE_INVALID: it matches no entry, LOCAL included. */
enum cidr_source_kind { CIDR_SOURCE_LOCAL, CIDR_SOURCE_ADDRESS, CIDR_SOURCE_INVALID };
struct cidr_source {
        enum cidr_source_kind kind;
        uint8_t family;
        uint8_t addr[16]; /* an IPv4-mapped IPv6 address is stored as IPv4 */
};
void cidr_source_parse(const char *rhost, struct cidr_source *ret);

bool cidr_match(const struct cidr *c, const struct cidr_source *src);
