/* SPDX-License-Identifier: BSD-3-Clause */
/* The daemon's location database (geoip_database): one for the process,
 * opened at start and on every reload, consulted for each login's remote
 * address.  Without one, or with one that could not be opened, nothing
 * has a location and everything else works as before. */
#pragma once

#include <stdbool.h>

#include "geoip.h"

/* Open path ("" for none) in place of the current database, which is
 * closed either way: a file that cannot be opened is a warning, never an
 * error (logins do not wait for a location). */
void location_follow(const char *path);
void location_stop(void);
/* The location of a remote host (an address literal): false when there
 * is none to tell. */
bool location_of(const char *rhost, struct geoip_location *ret);
