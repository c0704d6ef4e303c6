/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

#include "log.h"

static bool journal;

void log_setup(bool force_stderr) {
        /* JOURNAL_STREAM is set by systemd when stderr is connected to journald. */
        journal = !force_stderr && getenv("JOURNAL_STREAM") != NULL;
}

bool log_to_journal(void) {
        return journal;
}

void log_msg(int priority, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (journal)
                sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=acctsecd", NULL);
        else
                fprintf(stderr, "acctsecd: %s\n", buf);
}
