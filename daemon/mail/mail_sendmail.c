/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sendmail transport: the configured program with a fixed argv and no
 * shell (path -i -f FROM -- TO), the message on its stdin (program.c).
 */
#include "config.h"

#include "mail_internal.h"

int mail_deliver_sendmail(const struct mail_settings *s, const char *to, const char *msg, size_t len, char *err,
                          size_t errlen) {
        /* "--": nothing after it is an option, whatever the address (which
         * mail_address_valid() already keeps from starting with '-'). */
        char *const argv[] = { (char *) s->sendmail_path, (char *) "-i", (char *) "-f", (char *) s->from,
                               (char *) "--", (char *) to, NULL };
        return program_run(argv, msg, len, s->timeout_s, err, errlen);
}
