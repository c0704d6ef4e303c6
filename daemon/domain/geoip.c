/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geoip.h"
#include "utf8.h"

int geoip_open(struct geoip *g, const char *path, char *why, size_t n) {
        struct stat st;
        memset(g, 0, sizeof(*g));
        if (stat(path, &st) < 0) {
                int e = errno;
                snprintf(why, n, "%s: %s", path, strerror(e));
                return -e;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(why, n, "%s: not a regular file", path);
                return -EINVAL;
        }
        int r = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
        if (r != MMDB_SUCCESS) {
                snprintf(why, n, "%s: not a MaxMind DB file (%s)", path, MMDB_strerror(r));
                return r == MMDB_IO_ERROR ? -EIO : r == MMDB_OUT_OF_MEMORY_ERROR ? -ENOMEM : -EINVAL;
        }
        g->open = true;
        return 0;
}

void geoip_close(struct geoip *g) {
        if (g->open)
                MMDB_close(&g->db);
        memset(g, 0, sizeof(*g));
}

/* Characters that would change what a terminal or a mail reader shows
 * around them: controls, and the invisible marks that reorder text. */
static bool printable(uint32_t c) {
        if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
                return false;
        if (c == 0x061c || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
            (c >= 0x2060 && c <= 0x2069) || c == 0xfeff)
                return false;
        return true;
}

void geoip_sanitize(char *out, size_t n, const char *in, size_t len) {
        const unsigned char *s = (const unsigned char *) in;
        size_t o = 0;
        for (size_t i = 0; i < len;) {
                uint32_t c = 0;
                size_t k = acctsec_utf8_decode(s + i, len - i, &c);
                if (k == 0) {
                        i++;
                        continue;
                }
                if (printable(c)) {
                        if (o + k >= n)
                                break;
                        memcpy(out + o, s + i, k);
                        o += k;
                }
                i += k;
        }
        out[o] = '\0';
}

/* A string at path (NULL-terminated keys) of entry, sanitised into out;
 * "" when the database has none there.  Negative on a damaged record. */
static int get_string(MMDB_entry_s *entry, char *out, size_t n, const char *const *path) {
        MMDB_entry_data_s data;
        out[0] = '\0';
        int r = MMDB_aget_value(entry, &data, path);
        if (r == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
                return 0;
        if (r != MMDB_SUCCESS)
                return -EIO;
        if (data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING)
                geoip_sanitize(out, n, data.utf8_string, data.data_size);
        return 0;
}

/* IPv4 as IPv6 (::ffff:a.b.c.d) is looked up as the IPv4 address. */
static int literal(const char *addr, char *out, size_t n) {
        unsigned char a[16];
        if (inet_pton(AF_INET, addr, a) == 1)
                return snprintf(out, n, "%s", addr) < (int) n ? 0 : -EINVAL;
        if (inet_pton(AF_INET6, addr, a) != 1)
                return -EINVAL;
        static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(a, mapped, sizeof(mapped)) == 0)
                return inet_ntop(AF_INET, a + 12, out, (socklen_t) n) ? 0 : -EINVAL;
        return inet_ntop(AF_INET6, a, out, (socklen_t) n) ? 0 : -EINVAL;
}

int geoip_lookup(const struct geoip *g, const char *addr, struct geoip_location *ret) {
        static const char *const iso[] = { "country", "iso_code", NULL };
        static const char *const country_name[] = { "country", "names", "en", NULL };
        static const char *const city[] = { "city", "names", "en", NULL };
        char ip[INET6_ADDRSTRLEN];
        int gai = 0, err = 0;

        memset(ret, 0, sizeof(*ret));
        /* Literals only: MMDB_lookup_string would hand a name to getaddrinfo. */
        if (!g->open || !addr || literal(addr, ip, sizeof(ip)) < 0)
                return 0;
        MMDB_lookup_result_s res = MMDB_lookup_string(&g->db, ip, &gai, &err);
        if (gai != 0)
                return 0;
        if (err != MMDB_SUCCESS)
                return -EIO;
        if (!res.found_entry)
                return 0;
        char code[8];
        int r = get_string(&res.entry, code, sizeof(code), iso);
        if (r == 0)
                r = get_string(&res.entry, ret->country_name, sizeof(ret->country_name), country_name);
        if (r == 0)
                r = get_string(&res.entry, ret->city, sizeof(ret->city), city);
        bool valid = strlen(code) == 2 && code[0] >= 'A' && code[0] <= 'Z' && code[1] >= 'A' && code[1] <= 'Z';
        if (r < 0 || !valid) {
                memset(ret, 0, sizeof(*ret));
                return r < 0 ? r : 0;
        }
        memcpy(ret->country, code, 3);
        return 1;
}

void geoip_format(char *out, size_t n, const char *country, const char *city) {
        if (!country || !*country)
                snprintf(out, n, "%s", "");
        else if (city && *city)
                snprintf(out, n, "%s, %s", city, country);
        else
                snprintf(out, n, "%s", country);
}
