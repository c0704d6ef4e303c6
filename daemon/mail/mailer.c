/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailer.h"
#include "secret.h"

#define KILL_GRACE_USEC (5 * 1000000ULL)

void mailer_settings(const struct acctsec_conf *g, struct mail_settings *ret) {
        *ret = (struct mail_settings){
                .transport = (enum mail_transport) g->mail_transport,
                .from = g->mail_from,
                .maildir = g->maildir,
                .sendmail_path = g->sendmail_path,
                .smtp_url = g->smtp_url,
                .smtp_starttls = g->smtp_starttls,
                .smtp_user = g->smtp_user,
                .smtp_password_file = g->smtp_password_file,
                .smtp_ca_file = g->smtp_ca_file,
                .timeout_s = g->mail_timeout,
        };
}

struct delivery {
        struct mail_settings ms;
        const char *to;
        char *msg;
        size_t len;
};

static int deliver(void *arg, char *err, size_t errlen) {
        struct delivery *dl = arg;
        return mail_deliver(&dl->ms, dl->to, dl->msg, dl->len, err, errlen);
}

int mailer_send(sd_event *e, const struct acctsec_conf *global, const struct mail_message *m, child_done_t done,
                void *userdata) {
        struct delivery dl = { .to = m->to };
        char host[256] = "localhost";

        mailer_settings(global, &dl.ms);
        (void) gethostname(host, sizeof(host) - 1);
        int r = mail_build(&dl.ms, m, host, time(NULL), &dl.msg, &dl.len);
        if (r < 0)
                return r;
        /* The child has its own copy of dl; ours holds a code: wipe it now. */
        r = child_run_async(e, global->mail_timeout * 1000000ULL + KILL_GRACE_USEC, deliver, &dl, done, userdata);
        acctsec_wipe(dl.msg, dl.len);
        free(dl.msg);
        return r;
}
