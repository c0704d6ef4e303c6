/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"

#define USER_NAME_MAX 256 /* longer names are never real users */

struct principal {
        uid_t uid;
        gid_t gid;
        char name[USER_NAME_MAX];
};

/* NSS lookups.  -ENOENT for an unknown user (or a name that cannot be one). */
int user_by_name(const char *name, struct principal *ret);
int user_by_uid(uid_t uid, struct principal *ret);
/* Membership by name, primary group included (getgrouplist). */
bool user_in_group(const struct principal *p, const char *group);

enum role {
        ROLE_USER,    /* manages only itself */
        ROLE_AUDITOR, /* reads others' status and logs */
        ROLE_ADMIN,   /* root, or a member of admin_group */
};

/* A caller's role, from its uid (SO_PEERCRED), never from what it says. */
enum role role_of(uid_t uid, const struct acctsec_conf *global);
const char *role_name(enum role r);
