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

void sms_settings_of(const struct acctsec_conf *g, struct sms_settings *ret) {
        *ret = (struct sms_settings){
                .transport = (enum sms_transport) g->sms_transport,
                .command = g->sms_command,
                .url = g->sms_url,
                .from = g->sms_from,
                .body = g->sms_http_body,
                .format = (enum sms_format) g->sms_http_format,
                .header = g->sms_http_header,
                .user = g->sms_http_user,
                .password_file = g->sms_http_password_file,
                .ca_file = g->sms_ca_file,
                .timeout_s = g->sms_timeout,
        };
}

struct text_delivery {
        struct sms_settings ss;
        const char *to;
        char text[SMS_TEXT_MAX + 1];
};

static int deliver_text(void *arg, char *err, size_t errlen) {
        struct text_delivery *t = arg;
        return sms_deliver(&t->ss, t->to, t->text, err, errlen);
}

int sms_send(sd_event *e, const struct acctsec_conf *global, const char *to, const char *text, child_done_t done,
             void *userdata) {
        struct text_delivery t = { .to = to };

        sms_settings_of(global, &t.ss);
        if (strlen(text) > SMS_TEXT_MAX)
                return -EMSGSIZE;
        strcpy(t.text, text);
        int r = child_run_async(e, global->sms_timeout * 1000000ULL + KILL_GRACE_USEC, deliver_text, &t, done, userdata);
        acctsec_wipe(t.text, sizeof(t.text));
        return r;
}
