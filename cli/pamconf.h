/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A reader for /etc/pam.d service files, as Linux-PAM parses them: comments,
 * "\" line continuations, bracketed controls and arguments, "-" before the
 * type, "include"/"substack" and Debian's "@include", all flattened into one
 * list per type.  Bounded everywhere: lines, arguments, files, entries and
 * include depth.  Used by "acctsec doctor".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define PAMCONF_LINE_MAX 4096
#define PAMCONF_ARGS_MAX 64
#define PAMCONF_FILE_MAX (256 * 1024)
#define PAMCONF_ENTRIES_MAX 1024
#define PAMCONF_DEPTH_MAX 8
#define PAMCONF_NAME_MAX 256

enum pamconf_type { PAMCONF_AUTH, PAMCONF_ACCOUNT, PAMCONF_PASSWORD, PAMCONF_SESSION, PAMCONF_NTYPES };

/* What a line does with PAM_SUCCESS and with everything else.  >0: jump over
 * that many lines; the others as Linux-PAM names them. */
enum pamconf_action {
        PAMCONF_IGNORE = 0,
        PAMCONF_OK = -1,
        PAMCONF_DONE = -2,
        PAMCONF_DIE = -3,
        PAMCONF_BAD = -4,
        PAMCONF_RESET = -5,
        PAMCONF_INVALID = -6,
};

struct pamconf_entry {
        enum pamconf_type type;
        bool dash;       /* "-auth": skipped when the module is missing */
        bool bracket;    /* control written as [value=action ...] */
        int on_success;  /* enum pamconf_action or a jump */
        int on_default;
        char control[PAMCONF_NAME_MAX]; /* as written, brackets included */
        char module[PAMCONF_NAME_MAX];  /* as written */
        const char *base;               /* module's file name without the directory */
        int argc;
        char *argv[PAMCONF_ARGS_MAX];
        char argbuf[PAMCONF_LINE_MAX];
        char file[PAMCONF_NAME_MAX]; /* the file it came from, as named */
        unsigned line;
        unsigned sub;       /* the innermost substack it is in; 0: none */
        unsigned sub_outer; /* the outermost one */
        unsigned subdepth;
};

struct pamconf_stack {
        struct pamconf_entry *e[PAMCONF_NTYPES];
        size_t n[PAMCONF_NTYPES];
        /* What could not be read or understood, one message each (the first few). */
        unsigned nissues;
        char issues[16][384];
        bool fatal[16]; /* Linux-PAM would fail the stack over it */
        /* The files included, as named (to tell Debian's common-* files from services). */
        unsigned nincluded;
        char included[32][PAMCONF_NAME_MAX];
        /* while parsing */
        unsigned next_sub, cur_sub, cur_outer, cur_subdepth;
};

/* Load DIR/NAME (NAME may be absolute) and every file it includes.  Returns
 * 0, or -errno when NAME itself cannot be read; problems in included files and
 * unparsable lines go to st->issues.  Free with pamconf_stack_free(). */
int pamconf_load(struct pamconf_stack *st, const char *dir, const char *name);
/* Parse one file's text (NUL-terminated); includes are looked up in DIR
 * (NULL: includes become issues).  For the fuzzer and the loader. */
void pamconf_parse(struct pamconf_stack *st, const char *dir, const char *name, const char *text, int only_type,
                   unsigned depth);
void pamconf_stack_free(struct pamconf_stack *st);

/* "auth", "account", "password", "session". */
const char *pamconf_type_name(enum pamconf_type t);
/* Read a file with the checks a root tool wants: no FIFO, a regular file of at most PAMCONF_FILE_MAX bytes; NUL-terminated. */
int pamconf_read_file(const char *path, char **ret_text);
