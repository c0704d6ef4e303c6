/* SPDX-License-Identifier: BSD-3-Clause */
/* Sessions and new-source notifications. */
#include "config.h"

#include <errno.h>

#include "handlers.h"

int handle_session_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                           struct acctsec_frame *reply) {
        (void) d;
        (void) peer;
        (void) req;
        return reply_error(reply, -EOPNOTSUPP, "not implemented yet");
}
