/* SPDX-License-Identifier: BSD-3-Clause */
/* acctsec log show|export. */
#include "config.h"

#include <stdlib.h>

#include "cli.h"

int cmd_log_show(struct cli *c) {
        return cli_fail(c, EXIT_FAILURE, "log show: not implemented yet");
}

int cmd_log_export(struct cli *c) {
        return cli_fail(c, EXIT_FAILURE, "log export: not implemented yet");
}
