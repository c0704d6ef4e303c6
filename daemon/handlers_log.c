/* SPDX-License-Identifier: BSD-3-Clause */
/* The security log: LOG_SHOW and LOG_EXPORT. */
#include "config.h"

#include <errno.h>

#include "handlers.h"

int handle_log_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                       struct acctsec_frame *reply) {
        (void) d;
        (void) peer;
        (void) req;
        return reply_error(reply, -EOPNOTSUPP, "not implemented yet");
}
