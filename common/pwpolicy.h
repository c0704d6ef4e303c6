/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The password policy: which new passwords are acceptable, and the text that
 * tells users so.  No PAM and no I/O except the dictionary file; the daemon
 * decides, the module only shows the messages.
 *
 * Lengths: max_length counts bytes (it bounds the work done on a password,
 * hashing included, and is checked before any other byte is looked at);
 * min_length counts characters (UTF-8 code points), so "ééééé" is 5 long.
 * When min_length exceeds max_length, max_length is also the minimum.
 *
 * Characters: the password must be valid UTF-8 (no overlong forms, no
 * surrogates) without control characters (U+0000-U+001F, U+007F-U+009F:
 * NUL and tab included).  Upper and lower case and digits are the ASCII ones
 * (A-Z, a-z, 0-9), whatever the locale; "special" is any other printable
 * ASCII character (space included) or any non-ASCII character.  There is no
 * Unicode normalisation: the bytes typed are the password.
 *
 * These functions never copy the password, never log and never put it into
 * a message.  The history rule (history=) is the daemon's: it needs the
 * stored hashes.  enforce_for_root and allow_self_change are the caller's
 * decisions, too.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define PWPOLICY_DICTIONARY_MAX (64 * 1024 * 1024) /* bytes */

/* Why a password was refused, in the order the rules are checked. */
enum pwpolicy_rule {
        PWPOLICY_OK,
        PWPOLICY_TOO_LONG,     /* more than max_length bytes */
        PWPOLICY_BAD_UTF8,     /* not valid UTF-8 */
        PWPOLICY_CONTROL,      /* a control character */
        PWPOLICY_TOO_SHORT,    /* fewer than min_length characters */
        PWPOLICY_NO_UPPER,
        PWPOLICY_NO_LOWER,
        PWPOLICY_NO_DIGIT,
        PWPOLICY_NO_SPECIAL,
        PWPOLICY_USER_NAME,    /* contains the user name */
        PWPOLICY_DICTIONARY,   /* in the dictionary file */
        PWPOLICY_UNCHECKED,    /* the dictionary could not be read: refuse */
};

struct pwpolicy_result {
        enum pwpolicy_rule rule;
        char message[128]; /* one sentence for the user, never the password */
};

/* Check a new password of len bytes (NUL not needed; an embedded NUL is a
 * control character) for user (NULL: no user-name rule).  Returns 0 when it
 * is acceptable, -EINVAL when a rule refuses it, and another negative errno
 * when the dictionary could not be read (fail closed: refuse the change).
 * ret (may be NULL) gets the rule and the sentence to show in every case. */
int pwpolicy_check(const struct acctsec_conf *c, const char *user, const char *password, size_t len,
                   struct pwpolicy_result *ret);

/* The policy shown before the first prompt: one sentence, such as "Password
 * policy: at least 12 characters, with an uppercase letter, ...".  0, or
 * -ENOBUFS when it does not fit in n bytes (buf then holds a truncated,
 * NUL-terminated text). */
int pwpolicy_text(const struct acctsec_conf *c, char *buf, size_t n);

/* Whether password (NUL-terminated) is a line of the dictionary at path.  One password per
 * line, compared exactly but for ASCII case ("Summer2024!" matches
 * "summer2024!"); LF or CRLF line ends; empty lines and lines that start
 * with '#' are skipped; lines longer than 4096 bytes match nothing.  The
 * file must be a regular file (a symbolic link is refused), owned by root or
 * by the effective uid, not world-writable, at most PWPOLICY_DICTIONARY_MAX
 * bytes; it is read in constant memory.  Returns 0 with *ret set, or a
 * negative errno (-ENOENT missing, -ELOOP symlink, -EBADFD not a regular
 * file, -EPERM owner or mode, -EFBIG too big, or from open/read); *ret is
 * left untouched on error. */
int pwpolicy_dictionary_contains(const char *path, const char *password, bool *ret);
