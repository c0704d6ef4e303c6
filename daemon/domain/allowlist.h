/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cidr.h"
#include "conf.h"
#include "store.h"

#define ALLOWLIST_MAX 256 /* entries in one list */

/* Add or remove an entry of a user's list ("" the global list), with its
 * event: -EEXIST / -ENOENT when nothing changes, -EMLINK when the list is
 * full. */
int allowlist_add(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now);
int allowlist_remove(struct store *s, const char *user, const struct cidr *c, const char *actor, int64_t now);
/* The entries of one list ("" global), in order. */
int allowlist_list(struct store *s, const char *user, int (*cb)(const char *cidr, const char *actor, int64_t created,
                                                                 void *ud), void *ud);

/* May a login from rhost go on?  Every list that applies and is not empty
 * must contain the source: the config's allowlist= (global, sections, module
 * arguments), the global list and the user's list.  A source that is not a
 * literal address (a host name, "UNKNOWN") matches nothing.  *ret_allowed;
 * 0 or a negative errno (then the caller denies). */
int allowlist_check(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                    bool *ret_allowed);
/* Is rhost allowed AND inside an entry of some list (not merely allowed
 * because every list is empty)?  Second-factor relief (relief.c) trusts a
 * source only when an admin listed it. */
int allowlist_covers(struct store *s, const struct acctsec_conf *conf, const char *user, const char *rhost,
                     bool *ret_covered);
