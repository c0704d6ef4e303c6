/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec session list|terminate and notify on|off|status. */
#include "config.h"

#include <stdlib.h>

#include "cli.h"

int cmd_session_list(struct cli *c) {
        return cli_fail(c, EXIT_FAILURE, "session list: not implemented yet");
}

int cmd_session_terminate(struct cli *c) {
        return cli_fail(c, EXIT_FAILURE, "session terminate: not implemented yet");
}

int cmd_notify(struct cli *c) {
        return cli_fail(c, EXIT_FAILURE, "notify: not implemented yet");
}
