/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "users.h"

#define NSS_BUF 16384
#define GROUPS_MAX 1024

static int fill(struct passwd *pw, struct principal *ret) {
        if (strlen(pw->pw_name) >= sizeof(ret->name))
                return -ENOENT;
        ret->uid = pw->pw_uid;
        ret->gid = pw->pw_gid;
        strcpy(ret->name, pw->pw_name);
        return 0;
}

int user_by_name(const char *name, struct principal *ret) {
        struct passwd pw, *res = NULL;
        char buf[NSS_BUF];

        if (!name || !*name || strlen(name) >= USER_NAME_MAX)
                return -ENOENT;
        int r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
        if (r != 0)
                return -r; /* an NSS failure is not "unknown user" */
        if (!res)
                return -ENOENT;
        return fill(res, ret);
}

int user_by_uid(uid_t uid, struct principal *ret) {
        struct passwd pw, *res = NULL;
        char buf[NSS_BUF];

        int r = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
        if (r != 0)
                return -r;
        if (!res)
                return -ENOENT;
        return fill(res, ret);
}

static int group_gid(const char *group, gid_t *ret) {
        struct group gr, *res = NULL;
        char buf[NSS_BUF];
        if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res)
                return -ENOENT;
        *ret = res->gr_gid;
        return 0;
}

bool user_in_group(const struct principal *p, const char *group) {
        gid_t want, groups[GROUPS_MAX];
        int n = GROUPS_MAX;

        if (!group || !*group || group_gid(group, &want) < 0)
                return false;
        if (p->gid == want)
                return true;
        /* Too many groups: fail closed (not a member) rather than guess. */
        if (getgrouplist(p->name, p->gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == want)
                        return true;
        return false;
}

enum role role_of(uid_t uid, const struct acctsec_conf *global) {
        struct principal p;
        if (uid == 0)
                return ROLE_ADMIN;
        if (user_by_uid(uid, &p) < 0)
                return ROLE_USER;
        if (user_in_group(&p, global->admin_group))
                return ROLE_ADMIN;
        if (user_in_group(&p, global->audit_group))
                return ROLE_AUDITOR;
        return ROLE_USER;
}

const char *role_name(enum role r) {
        switch (r) {
        case ROLE_ADMIN:
                return "admin";
        case ROLE_AUDITOR:
                return "auditor";
        default:
                return "user";
        }
}
