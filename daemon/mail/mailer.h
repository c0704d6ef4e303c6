/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <systemd/sd-event.h>

#include "child.h"
#include "conf.h"
#include "mail.h"
#include "sms.h"

/* The mail settings of the config file's global section. */
void mailer_settings(const struct acctsec_conf *global, struct mail_settings *ret);

/* Build a message and deliver it in a forked child (child.h): the event
 * loop never waits for a mail server.  0: done is called exactly once (the
 * child is killed after mail_timeout + 5 s); <0: nothing started. */
int mailer_send(sd_event *e, const struct acctsec_conf *global, const struct mail_message *m, child_done_t done,
                void *userdata);

/* The SMS settings of the config file's global section. */
void sms_settings_of(const struct acctsec_conf *global, struct sms_settings *ret);

/* Send a text in a forked child, as mailer_send does a mail: 0 and done is
 * called exactly once (the child is killed after sms_timeout + 5 s), or <0
 * and nothing started.  text is copied and the caller's may be wiped. */
int sms_send(sd_event *e, const struct acctsec_conf *global, const char *to, const char *text, child_done_t done,
             void *userdata);
