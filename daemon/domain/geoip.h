/* SPDX-License-Identifier: BSD-3-Clause */
/* An IP geolocation database in the MaxMind DB format (GeoLite2-City,
 * DB-IP city): the country and city of a login's remote address.  No
 * logging here: the daemon (location.c) and `acctsec doctor` both use it
 * and say what went wrong in their own words. */
#pragma once

#include <maxminddb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEOIP_COUNTRY_MAX 3 /* an ISO 3166-1 alpha-2 code and a NUL */
#define GEOIP_NAME_MAX 64   /* a country's or city's name, in bytes with the NUL (longer ones are cut) */

struct geoip {
        MMDB_s db;
        bool open;
};

/* What the database says of an address; empty strings where it says
 * nothing.  A location always has a country: a city without one is not
 * shown. */
struct geoip_location {
        char country[GEOIP_COUNTRY_MAX];   /* "FR" */
        char country_name[GEOIP_NAME_MAX]; /* "France" (names.en) */
        char city[GEOIP_NAME_MAX];         /* "Paris" (names.en) */
};

/* Map the file at path (a regular file: a FIFO would hang the daemon).
 * 0, or negative errno with the reason in why (which names the path). */
int geoip_open(struct geoip *g, const char *path, char *why, size_t n);
void geoip_close(struct geoip *g);

/* The location of addr, an IPv4 or IPv6 literal; a host name is never
 * resolved (a client chose it).  1 found, 0 nothing known (not an
 * address, a private range the database does not hold), negative errno
 * when the database could not be read (a damaged file). */
int geoip_lookup(const struct geoip *g, const char *addr, struct geoip_location *ret);

/* Copy len bytes of in as printable UTF-8 into out (n bytes, n > 0,
 * always terminated): control characters (C0, DEL, C1), bidirectional
 * overrides and ill-formed sequences are dropped, and the text is cut at
 * a character boundary.  What a database holds is data, never trusted. */
void geoip_sanitize(char *out, size_t n, const char *in, size_t len);

/* "Paris, FR", "FR", or "" for no country. */
void geoip_format(char *out, size_t n, const char *country, const char *city);
