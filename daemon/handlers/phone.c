/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Phone numbers for texted codes: setting one (PHONE_SET: an admin's is
 * verified at once, one's own waits for the code texted to it), verifying
 * it (PHONE_VERIFY), turning texted login codes on (PHONE_CODES: acctsec
 * mfa enroll sms) and removing the number (PHONE_CLEAR).  The codes are
 * email_codes.c's, sent through the SMS gateway.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "request.h"
#include "sms.h"

#define MASKED_MAX (PHONE_NUMBER_MAX * 4)

static int reply_number(struct acctsec_frame *reply, const char *user, const char *number, bool verified) {
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, user);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_PHONE, number);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_FLAG, verified);
        return 0;
}

int handle_phone_set(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *number = rq_str(rq, ACCTSEC_TAG_PHONE);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];

        if (!sms_number_valid(number))
                return reply_error(reply, -EINVAL, "not a phone number acctsec can text: the international form, "
                                                   "'+', country code and number, digits only (+4915112345678)");
        if (rq->self) {
                /* One's own number: in use once its code comes back. */
                if (d->policy.global.sms_transport == ACCTSEC_SMS_NONE)
                        return reply_error(reply, -ENOTSUP, "no SMS gateway is configured (sms_transport in "
                                                            "acctsec.conf): ask an administrator");
                struct event ev = { .type = EV_PHONE_SET, .user = p->name, .detail = "waiting for verification" };
                return mail_new_code(rq, PHONE_VERIFY, number, true, &ev);
        }
        /* An admin sets someone's number: it counts as verified. */
        actor_name(peer, actor, sizeof(actor));
        struct event ev = { .type = EV_PHONE_SET, .user = p->name, .actor = actor, .detail = "set by an admin: verified" };
        int r = phone_set_in(&d->store, p->name, number, true, rq->now);
        if (r == 0)
                r = seclog_add(&d->store, rq->now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        return reply_number(reply, p->name, number, true);
}

int handle_phone_verify(struct request *rq) {
        REQUEST_UNPACK(rq);
        const char *code = rq_str(rq, ACCTSEC_TAG_CODE);
        const struct principal self = rq->target;
        char attempt[EMAIL_ATTEMPT_HEX];
        struct phone_info ph;

        /* As an address check: a wrong try counts, an expired code is void,
         * a right one is used only while a number waits for it. */
        int r = email_attempt_of(&d->store, self.name, PHONE_VERIFY, attempt);
        if (r == 0)
                r = email_code_use_in(&d->store, d->key, attempt, self.name, PHONE_VERIFY, code, rq->now);
        if (r == 0)
                r = phone_promote_in(&d->store, self.name, rq->now);
        if (r == 0) {
                struct event ev = { .type = EV_PHONE_VERIFIED, .user = self.name };
                r = seclog_add(&d->store, rq->now, &ev);
        }
        if (r == -ENOENT)
                return reply_error(reply, -ENOENT, "no number is waiting for a code: run 'acctsec phone set NUMBER'");
        if (r == -EACCES || r == -ETIME)
                return reply_error(reply, -EKEYREJECTED, r == -ETIME ? "the code has expired: run 'acctsec phone set' again"
                                                                     : "wrong code (after 5 wrong codes, ask for a new one)");
        if (r < 0)
                return reply_db_error(reply, req->type, self.name, r);
        (void) phone_get(&d->store, self.name, &ph);
        return reply_number(reply, self.name, ph.number, true);
}

/* acctsec mfa enroll sms: codes by text at every login. */
int handle_phone_codes(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal self = rq->target;
        struct phone_info ph;
        char masked[MASKED_MAX];

        int r = phone_get(&d->store, self.name, &ph);
        if (r == 0 && !ph.number[0])
                r = -ENOENT;
        if (r == 0) /* still a verified number as it is written */
                r = phone_codes_enable_in(&d->store, self.name, true, rq->now);
        if (r == -ENOENT)
                return reply_error(reply, r, "no verified phone number: run 'acctsec phone set NUMBER' "
                                             "and 'acctsec phone verify CODE' first");
        struct event ev = { .type = EV_MFA_ENROLLED, .user = self.name, .detail = "texted codes" };
        if (r == 0)
                r = seclog_add(&d->store, rq->now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, self.name, r);
        (void) sms_mask(ph.number, masked, sizeof(masked));
        return reply_number(reply, self.name, masked, true);
}

/* The number goes, and texted codes with it.  One's own only while the
 * second factor does not depend on it alone (else mfa disable first). */
int handle_phone_clear(struct request *rq) {
        REQUEST_UNPACK(rq);
        const struct principal *p = &rq->target;
        char actor[USER_NAME_MAX + 16];
        struct factors f;

        int r = factors_of(d, p->name, &f);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        if (rq->self && f.phone.codes && f.totp != ACCTSEC_MFA_STATE_ACTIVE && !f.email.codes)
                return reply_error(reply, -EBUSY, "texted codes are your second factor: turn it off with "
                                                  "'acctsec mfa disable' first (or ask an administrator)");
        actor_name(peer, actor, sizeof(actor));
        struct event ev = { .type = EV_PHONE_SET, .user = p->name, .actor = rq->self ? NULL : actor,
                            .detail = "removed" };
        r = phone_delete_in(&d->store, p->name);
        if (r > 0)
                r = seclog_add(&d->store, rq->now, &ev);
        if (r < 0)
                return reply_db_error(reply, req->type, p->name, r);
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(reply, ACCTSEC_TAG_USER, p->name);
        acctsec_frame_add_u64(reply, ACCTSEC_TAG_COUNT, (uint64_t) r);
        return 0;
}
