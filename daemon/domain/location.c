/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "location.h"
#include "log.h"

static struct geoip db;
static bool damaged_said; /* a damaged file is said once per opening, not per login */

void location_follow(const char *path) {
        char why[512];
        location_stop();
        if (!path || !*path)
                return;
        int r = geoip_open(&db, path, why, sizeof(why));
        if (r < 0) {
                log_warning("geoip_database %s; logins have no location until it is fixed and the daemon "
                            "reloaded", why);
                return;
        }
        char built[32] = "?";
        time_t t = (time_t) db.db.metadata.build_epoch;
        struct tm tm;
        if (gmtime_r(&t, &tm))
                strftime(built, sizeof(built), "%Y-%m-%d", &tm);
        log_info("geoip_database %s: %s, built on %s", path, db.db.metadata.database_type, built);
}

void location_stop(void) {
        geoip_close(&db);
        damaged_said = false;
}

bool location_of(const char *rhost, struct geoip_location *ret) {
        int r = geoip_lookup(&db, rhost, ret);
        if (r < 0 && !damaged_said) {
                damaged_said = true;
                log_warning("geoip_database: a record could not be read (a damaged file?); such addresses have "
                            "no location");
        }
        return r > 0;
}
