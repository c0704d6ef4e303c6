/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the pam.d reader of "acctsec doctor" (cli/pamconf.c).
 * Built and run by tests/fuzz/run.sh.  Input: one service file (up to the
 * first NUL; includes are reported, not followed).  Beyond the sanitizers:
 * every entry's arguments and module name lie inside the entry, counts stay
 * within their bounds, and a jump is a positive count within the limit.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pamconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct pamconf_entry *e) {
        if (e->argc < 0 || e->argc > PAMCONF_ARGS_MAX || e->line == 0)
                abort();
        if (e->base < e->module || e->base > e->module + strlen(e->module))
                abort();
        for (int i = 0; i < e->argc; i++)
                if (e->argv[i] < e->argbuf || e->argv[i] + strlen(e->argv[i]) >= e->argbuf + sizeof(e->argbuf))
                        abort();
        if (e->on_success > PAMCONF_ENTRIES_MAX || e->on_default > PAMCONF_ENTRIES_MAX)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > PAMCONF_FILE_MAX)
                return 0;
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        static struct pamconf_stack st;
        memset(&st, 0, sizeof(st));
        pamconf_parse(&st, NULL, "fuzz", text, -1, 0);
        for (int t = 0; t < PAMCONF_NTYPES; t++) {
                if (st.n[t] > PAMCONF_ENTRIES_MAX)
                        abort();
                for (size_t i = 0; i < st.n[t]; i++)
                        check_entry(&st.e[t][i]);
        }
        if (st.nissues > sizeof(st.issues) / sizeof(st.issues[0]))
                abort();
        pamconf_stack_free(&st);
        free(text);
        return 0;
}
