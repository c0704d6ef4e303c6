/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pam_acctsec.so: the PAM entry points.  Thin on purpose: it collects the
 * PAM items, asks acctsecd over its socket, and turns the answer into a PAM
 * code.  No threads, no signal handlers, no state kept between calls (sshd
 * runs auth and account in different processes), every fd closed on return.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "args.h"
#include "carry.h"
#include "client.h"
#include "link.h"
#include "pamerr.h"
#include "secret.h"
#include "token.h"

#define FIELD_MAX 255 /* rhost and tty are trimmed to this and made printable */
#define MAIL_WAIT_MS 60000 /* acctsecd gives up on a delivery after mail_timeout or sms_timeout (<= 50 s) + 5 s */
#define RESEND_MAX 5       /* "resend"s in one attempt */
#define PWHASH_WAIT_MS 30000 /* acctsecd hashes passwords in a bounded pool: allow for a queue */
#define ANSWER_MAX 1024      /* longer than any code or token: a longer answer is a wrong one */
#define FAIL_DELAY_USEC 2000000 /* what a wrong password, code or token costs (pam_unix asks the same) */

struct exchange {
        struct acctsec_frame req;
        struct acctsec_msg reply;
};

static void exchange_free(struct exchange **x) {
        if (*x) {
                acctsec_frame_wipe(&(*x)->req);
                acctsec_msg_wipe(&(*x)->reply);
                free(*x);
        }
}

/* PAM_RHOST and PAM_TTY come from the client side (an attacker's DNS name,
 * "UNKNOWN", an IPv6 literal): never trusted, only recorded. */
static void add_item(pam_handle_t *pamh, struct acctsec_frame *f, uint8_t tag, int item) {
        const void *v = NULL;
        char buf[FIELD_MAX + 1];
        size_t i;

        if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v)
                return;
        for (i = 0; i < FIELD_MAX && ((const char *) v)[i]; i++) {
                unsigned char c = (unsigned char) ((const char *) v)[i];
                buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char) c;
        }
        buf[i] = '\0';
        acctsec_frame_add_str(f, tag, buf);
}

#define AUTH_INFO_MAX 4000 /* one "publickey TYPE BASE64" line; longer keys are not fingerprinted */

/* sshd's SSH_AUTH_INFO_0 ("publickey ssh-ed25519 AAAA...", a line per
 * method): the first public key line, for the daemon to fingerprint. */
static void add_auth_info(pam_handle_t *pamh, struct acctsec_frame *f) {
        const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
        char line[AUTH_INFO_MAX + 1];
        for (const char *p = info; p && *p;) {
                size_t n = strcspn(p, "\n");
                if (n <= AUTH_INFO_MAX && strncmp(p, "publickey ", 10) == 0) {
                        for (size_t i = 0; i < n; i++)
                                line[i] = ((unsigned char) p[i] < 0x20 || p[i] == 0x7f) ? '?' : p[i];
                        line[n] = '\0';
                        acctsec_frame_add_str(f, ACCTSEC_TAG_AUTH_INFO, line);
                        return;
                }
                p += n + (p[n] == '\n');
        }
}

static bool transport_error(int r) {
        return r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET || r == -ECONNABORTED || r == -EPIPE ||
               r == -ETIMEDOUT || r == -EAGAIN || r == -EHOSTDOWN;
}

/* Start a request: the user and the PAM items every request carries, and
 * the policy arguments the daemon honours from root. */
static struct acctsec_frame *begin_request(pam_handle_t *pamh, const struct module_args *a, uint8_t op,
                                           const char *user, struct exchange *x) {
        struct acctsec_frame *f = &x->req;
        acctsec_frame_init(f, op);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, user);
        add_item(pamh, f, ACCTSEC_TAG_SERVICE, PAM_SERVICE);
        add_item(pamh, f, ACCTSEC_TAG_RHOST, PAM_RHOST);
        add_item(pamh, f, ACCTSEC_TAG_TTY, PAM_TTY);
        if (a->overrides_len > 0)
                acctsec_frame_add_str(f, ACCTSEC_TAG_CONF, a->overrides);
        /* The key a remembered device is known by (second-factor relief). */
        if (op == ACCTSEC_OP_PREAUTH || op == ACCTSEC_OP_MFA_BEGIN || op == ACCTSEC_OP_MFA_VERIFY)
                add_auth_info(pamh, f);
        return f;
}

/* Send it.  PAM_SUCCESS with x->reply an OK reply, or a PAM error;
 * *ret_open is set (with PAM_SUCCESS) when failmode=open let an unreachable
 * daemon pass.  The request, which may hold a secret, is wiped. */
static int send_request(pam_handle_t *pamh, const struct module_args *a, uint8_t op, const char *user,
                        unsigned timeout_ms, struct exchange *x, bool *ret_open) {
        char path[ACCTSEC_SOCKET_PATH_MAX];
        *ret_open = false;
        /* Authentication and account keep the handle's connection; the
         * session and password calls, after which login programs fork the
         * user's processes, close it (link.c). */
        bool keep = op != ACCTSEC_OP_SESSION_OPEN && op != ACCTSEC_OP_SESSION_CLOSE &&
                    op != ACCTSEC_OP_PASSWORD_POLICY && op != ACCTSEC_OP_PASSWORD_CHECK &&
                    op != ACCTSEC_OP_PASSWORD_COMMIT;
        int r = link_call(pamh, &a->conf, keep, timeout_ms, &x->req, &x->reply, path);
        acctsec_frame_wipe(&x->req);
        if (r == 0 && x->reply.type != ACCTSEC_REPLY_OK && acctsec_reply_errno(&x->reply) == EHOSTDOWN)
                r = -EHOSTDOWN; /* its database is away (a fleet): no decision, as if it were unreachable */
        if (r == 0 && x->reply.type != ACCTSEC_REPLY_OK) {
                /* The daemon answered and said no: never a case for failmode=open. */
                const char *m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
                r = -acctsec_reply_errno(&x->reply);
                pam_syslog(pamh, LOG_ERR, "acctsecd refused %s for %s: %s (%s); denying", acctsec_op_name(op),
                           user, m ? m : "no reason given", strerror(-r));
                return r == -EPERM ? PAM_PERM_DENIED : PAM_SERVICE_ERR;
        }
        if (r == 0)
                return PAM_SUCCESS;

        if (transport_error(r) && a->conf.failmode == ACCTSEC_FAILMODE_OPEN) {
                pam_syslog(pamh, LOG_WARNING,
                           "acctsecd at %s unreachable or without its database (%s) during %s for %s: "
                           "failmode=open lets the login continue without acctsec",
                           path, strerror(-r), acctsec_op_name(op), user);
                *ret_open = true;
                return PAM_SUCCESS;
        }
        pam_syslog(pamh, LOG_ERR, "acctsecd at %s: %s during %s for %s; denying", path, strerror(-r),
                   acctsec_op_name(op), user);
        return acctsec_errno_to_pam(r);
}

/* Login requests, with a typed code and the emailed-code attempt if any. */
static int ask_for(pam_handle_t *pamh, const struct module_args *a, uint8_t op, const char *user, const char *code,
                   const char *attempt, unsigned timeout_ms, struct exchange *x, bool *ret_open) {
        struct acctsec_frame *f = begin_request(pamh, a, op, user, x);
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_CODE, code);
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_ATTEMPT, attempt);
        return send_request(pamh, a, op, user, timeout_ms, x, ret_open);
}

static int ask(pam_handle_t *pamh, const struct module_args *a, uint8_t op, const char *user, const char *code,
               struct exchange *x, bool *ret_open) {
        return ask_for(pamh, a, op, user, code, NULL, a->conf.timeout_ms, x, ret_open);
}

/* The password stack's requests: who runs the change (the real uid:
 * passwd is setuid root) and whether it is an expired password changed at
 * login (sshd and login do that as root, for the user). */
static int ask_password(pam_handle_t *pamh, const struct module_args *a, uint8_t op, const char *user,
                        const char *password, bool at_login, unsigned timeout_ms, struct exchange *x, bool *ret_open) {
        struct acctsec_frame *f = begin_request(pamh, a, op, user, x);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_UID, (uint64_t) getuid());
        acctsec_frame_add_u64(f, ACCTSEC_TAG_FLAG, at_login);
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_PASSWORD, password);
        return send_request(pamh, a, op, user, timeout_ms, x, ret_open);
}

static int ask_token(pam_handle_t *pamh, const struct module_args *a, const char *user, const char *token,
                     struct exchange *x, bool *ret_open) {
        struct acctsec_frame *f = begin_request(pamh, a, ACCTSEC_OP_TOKEN_AUTH, user, x);
        acctsec_frame_add_str(f, ACCTSEC_TAG_TOKEN, token);
        return send_request(pamh, a, ACCTSEC_OP_TOKEN_AUTH, user, a->conf.timeout_ms, x, ret_open);
}

static bool is_locked(const struct acctsec_msg *reply) {
        uint64_t d = ACCTSEC_ALLOW;
        /* A reply without a decision is malformed: treat it as a denial. */
        if (acctsec_msg_u64(reply, ACCTSEC_TAG_DECISION, &d) < 0)
                return true;
        return d != ACCTSEC_ALLOW;
}

/* The daemon sends LOCKED_UNTIL only when the admin chose lock_message=yes. */
static void tell_locked(pam_handle_t *pamh, const struct module_args *a, const struct acctsec_msg *reply) {
        uint64_t until;
        char when[64];
        struct tm tm;

        if (a->conf.silent || acctsec_msg_u64(reply, ACCTSEC_TAG_LOCKED_UNTIL, &until) < 0 || until == 0)
                return;
        if (until == ACCTSEC_LOCKED_FOREVER) {
                pam_error(pamh, "The account is locked until an administrator unlocks it.");
                return;
        }
        time_t t = (time_t) until;
        if (!localtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
                return;
        pam_error(pamh, "The account is locked until %s.", when);
}

/* sshd's SSH_AUTH_INFO_0 is set (not empty) when another method, such as a
 * public key, already succeeded in this connection: keyboard-interactive is
 * then its second step.  Only sshd and the modules of the stack set PAM
 * environment variables during authentication. */
static bool ssh_method_passed(pam_handle_t *pamh) {
        const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
        return info && *info;
}

static bool asks_code_first(pam_handle_t *pamh, const struct module_args *a) {
        return a->conf.prompt == ACCTSEC_PROMPT_CODE ||
               (a->conf.prompt == ACCTSEC_PROMPT_AUTO && ssh_method_passed(pamh));
}

/* The second factor's prompt.  The typed code goes to the daemon whatever
 * it is (empty, or a failed conversation, counts as a wrong code:
 * CVE-2021-31924); an answer longer than any code is sent as an empty one,
 * so it fails like any wrong code, counted and delayed. */
static int prompt_code(pam_handle_t *pamh, const char *prompt, char **ret) {
        if (pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, ret, "%s", prompt) != PAM_SUCCESS || !*ret ||
            strlen(*ret) > ANSWER_MAX) {
                acctsec_erase_and_free(*ret);
                *ret = strdup("");
                if (!*ret)
                        return PAM_BUF_ERR;
        }
        return PAM_SUCCESS;
}

#define CODE_PROMPT "Verification code: "

/* A locked user, or a source the allowlists refuse, sees what a wrong
 * password (or code) looks like: the prompt everyone gets first in this
 * stack (prompt=), the same delay, the same failure.  What is typed is
 * never checked. */
static int deny_like_wrong_answer(pam_handle_t *pamh, const struct module_args *a, const struct acctsec_msg *reply,
                                  bool code) {
        tell_locked(pamh, a, reply);
        if (code) {
                _cleanup_erase_ char *answer = NULL;
                (void) prompt_code(pamh, CODE_PROMPT, &answer);
        } else {
                const char *tok = NULL;
                (void) pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
        }
        (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
        return PAM_AUTH_ERR;
}

static int get_user(pam_handle_t *pamh, const char **ret_user) {
        int r = pam_get_user(pamh, ret_user, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!*ret_user || !**ret_user)
                return PAM_USER_UNKNOWN;
        return PAM_SUCCESS;
}

/* The user and a fresh exchange for one call to the daemon. */
static int get_user_and_exchange(pam_handle_t *pamh, const char **ret_user, struct exchange **ret_x) {
        int r = get_user(pamh, ret_user);
        if (r != PAM_SUCCESS)
                return r;
        *ret_x = calloc(1, sizeof(**ret_x));
        return *ret_x ? PAM_SUCCESS : PAM_BUF_ERR;
}

/* An allowing reply may say more for the calls that follow (carry.c):
 * PREAUTH that the code prompt comes next, AUTHSUCC or a good code that
 * the account phase would say yes. */
static int carry_what_was_said(pam_handle_t *pamh, const struct module_args *a, const char *user,
                               const struct acctsec_msg *reply) {
        uint64_t v = 0;
        if (acctsec_msg_u64(reply, ACCTSEC_TAG_MFA, &v) == 0 && v == ACCTSEC_MFA_TOTP)
                return carry_set(pamh, CARRY_CODE_NEXT, user, a);
        if (acctsec_msg_u64(reply, ACCTSEC_TAG_ACCOUNT_OK, &v) == 0 && v == 1)
                return carry_set(pamh, CARRY_ACCOUNT_OK, user, a);
        return PAM_SUCCESS;
}

static int do_auth(pam_handle_t *pamh, const struct module_args *a, const char *user, struct exchange *x) {
        static const uint8_t ops[] = {
                [MODE_PREAUTH] = ACCTSEC_OP_PREAUTH,
                [MODE_AUTHFAIL] = ACCTSEC_OP_AUTHFAIL,
                [MODE_AUTHSUCC] = ACCTSEC_OP_AUTHSUCC,
        };
        bool open = false;
        int r = ask(pamh, a, ops[a->mode], user, NULL, x, &open);

        /* authfail runs only after the password failed: it never passes, and
         * costs what a refused locked user waits, whether or not the password
         * module asked for a delay (or the lock would show by timing). */
        if (a->mode == MODE_AUTHFAIL) {
                (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
                if (r == PAM_SUCCESS && !open && is_locked(&x->reply))
                        tell_locked(pamh, a, &x->reply);
                return PAM_AUTH_ERR;
        }
        if (r != PAM_SUCCESS || open)
                return r;
        if (!is_locked(&x->reply))
                return carry_what_was_said(pamh, a, user, &x->reply);
        if (a->conf.debug)
                pam_syslog(pamh, LOG_DEBUG, "%s: %s is locked", acctsec_op_name(ops[a->mode]), user);
        if (a->mode == MODE_PREAUTH)
                return deny_like_wrong_answer(pamh, a, &x->reply, asks_code_first(pamh, a));
        return PAM_AUTH_ERR;
}

static int check_code(pam_handle_t *pamh, const struct module_args *a, const char *user, const char *code,
                      const char *attempt, struct exchange *x) {
        bool open = false;
        int r = ask_for(pamh, a, ACCTSEC_OP_MFA_VERIFY, user, code, attempt, a->conf.timeout_ms, x, &open);
        if (r != PAM_SUCCESS)
                return r;
        if (open) /* failmode=open never grants a second factor by itself */
                return PAM_IGNORE;
        if (!is_locked(&x->reply)) {
                const char *note = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
                if (note && !a->conf.silent) /* e.g. few backup codes left */
                        pam_info(pamh, "%s", note);
                return carry_what_was_said(pamh, a, user, &x->reply);
        }
        tell_locked(pamh, a, &x->reply);
        (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
        return PAM_AUTH_ERR;
}

static int verify_code(pam_handle_t *pamh, const struct module_args *a, const char *user, struct exchange *x) {
        _cleanup_erase_ char *code = NULL;
        int r = prompt_code(pamh, CODE_PROMPT, &code);
        return r != PAM_SUCCESS ? r : check_code(pamh, a, user, code, NULL, x);
}

/* Send a code for this attempt (the first one, or "resend").  The daemon
 * answers once the mail or text left, so the deadline allows for a mail
 * server or an SMS gateway. */
static int send_code(pam_handle_t *pamh, const struct module_args *a, const char *user, const char *attempt,
                     struct exchange *x) {
        bool open = false;
        uint64_t sent = 0;
        int r = ask_for(pamh, a, ACCTSEC_OP_CODE_SEND, user, NULL, attempt, a->conf.timeout_ms + MAIL_WAIT_MS, x,
                        &open);
        if (r != PAM_SUCCESS)
                return r;
        if (open || is_locked(&x->reply)) { /* locked meanwhile: as a wrong code would end */
                (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
                return PAM_AUTH_ERR;
        }
        const char *m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
        (void) acctsec_msg_u64(&x->reply, ACCTSEC_TAG_SENT, &sent);
        if (m && !sent) /* not sent, or wait: always said */
                pam_error(pamh, "%s", m);
        else if (m && !a->conf.silent)
                pam_info(pamh, "%s", m);
        return PAM_SUCCESS;
}

/* An emailed (or texted) code, bound to this attempt: typing "resend"
 * sends a new one (the daemon enforces the interval and says how long to
 * wait). */
static int sent_code(pam_handle_t *pamh, const struct module_args *a, const char *user, const char *prompt,
                     struct exchange *x) {
        char attempt[64];
        const char *id = acctsec_msg_str(&x->reply, ACCTSEC_TAG_ATTEMPT);
        if (!id || strlen(id) >= sizeof(attempt))
                return PAM_SERVICE_ERR;
        strcpy(attempt, id);
        int r = send_code(pamh, a, user, attempt, x);
        for (int round = 0; r == PAM_SUCCESS; round++) {
                _cleanup_erase_ char *code = NULL;
                r = prompt_code(pamh, prompt, &code);
                if (r != PAM_SUCCESS)
                        return r;
                /* Too many resends end like a wrong code: it is counted. */
                bool resend = strcasecmp(code, "resend") == 0;
                if (!resend || round == RESEND_MAX)
                        return check_code(pamh, a, user, resend ? "" : code, attempt, x);
                r = send_code(pamh, a, user, attempt, x);
        }
        return r;
}

/* sshd's keyboard-interactive with no method before it (SSH_AUTH_INFO_0
 * set but empty: no AuthenticationMethods publickey,...) and no password
 * asked in this stack: nothing but our lines stands between the user and a
 * shell, so a user with no second factor must not pass on preauth's word.
 * The daemon refuses such a user (and logs it); sshd is the one program
 * that says so, elsewhere the stack decides. */
static bool no_first_factor(pam_handle_t *pamh) {
        const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
        const void *pw = NULL;
        return info && !*info && (pam_get_item(pamh, PAM_AUTHTOK, &pw) != PAM_SUCCESS || !pw);
}

static int do_mfa(pam_handle_t *pamh, const struct module_args *a, const char *user, struct exchange *x) {
        uint64_t what;
        bool open = false;

        bool unchecked = no_first_factor(pamh);
        /* PREAUTH said the code comes next: prompt, and verify in one request. */
        if (carry_take(pamh, CARRY_CODE_NEXT, user, a) && !unchecked)
                return verify_code(pamh, a, user, x);
        struct acctsec_frame *f = begin_request(pamh, a, ACCTSEC_OP_MFA_BEGIN, user, x);
        if (unchecked)
                acctsec_frame_add_u64(f, ACCTSEC_TAG_FLAG, 1);
        int r = send_request(pamh, a, ACCTSEC_OP_MFA_BEGIN, user, a->conf.timeout_ms, x, &open);
        if (r != PAM_SUCCESS)
                return r;
        if (open)
                return PAM_IGNORE;
        if (acctsec_msg_u64(&x->reply, ACCTSEC_TAG_MFA, &what) < 0)
                return PAM_SERVICE_ERR;
        /* A locked user is asked for a code like anyone else, and refused;
         * where no first factor was checked, without asking the daemon
         * about a code (it would count it). */
        if (is_locked(&x->reply) && unchecked)
                return deny_like_wrong_answer(pamh, a, &x->reply, true);
        if (is_locked(&x->reply))
                what = ACCTSEC_MFA_TOTP;
        switch (what) {
        case ACCTSEC_MFA_NONE: /* not required, not enrolled, or relieved: the stack decides, never us */
                if (a->conf.debug && acctsec_msg_str(&x->reply, ACCTSEC_TAG_REASON))
                        pam_syslog(pamh, LOG_DEBUG, "mfa: no code asked of %s: %s", user,
                                   acctsec_msg_str(&x->reply, ACCTSEC_TAG_REASON));
                return PAM_IGNORE;
        case ACCTSEC_MFA_ENROL:
                if (!a->conf.silent)
                        pam_error(pamh, "This account needs a second factor and has none. "
                                        "Set one up with 'acctsec mfa enroll totp' (or ask an administrator).");
                return PAM_AUTH_ERR;
        case ACCTSEC_MFA_TOTP:
                acctsec_msg_wipe(&x->reply);
                return verify_code(pamh, a, user, x);
        case ACCTSEC_MFA_EMAIL:
                return sent_code(pamh, a, user, "Emailed code (or type resend): ", x);
        case ACCTSEC_MFA_SMS:
                return sent_code(pamh, a, user, "Texted code (or type resend): ", x);
        default:
                return PAM_SERVICE_ERR;
        }
}

/* An API token typed as the password.  Anything that does not start like
 * a token is left alone for the next module (PAM_IGNORE, PAM_AUTHTOK kept
 * for pam_unix try_first_pass); a token-shaped answer is decided by the
 * daemon, and a refusal counts toward the lockout there. */
static int do_token(pam_handle_t *pamh, const struct module_args *a, const char *user, struct exchange *x) {
        const char *tok = NULL;
        bool open = false;
        uint64_t decision = ACCTSEC_DENY_CODE;

        int r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!tok || !token_looks_like(tok))
                return PAM_IGNORE;
        /* Longer than any token: sent cut (still no token), so that it is
         * refused, counted and delayed like any wrong one. */
        char cut[ANSWER_MAX + 1];
        if (strlen(tok) > ANSWER_MAX) {
                memcpy(cut, tok, ANSWER_MAX);
                cut[ANSWER_MAX] = '\0';
                tok = cut;
        }
        r = ask_token(pamh, a, user, tok, x, &open);
        explicit_bzero(cut, sizeof(cut));
        if (r != PAM_SUCCESS)
                return r;
        if (open) /* failmode=open never grants by itself */
                return PAM_IGNORE;
        (void) acctsec_msg_u64(&x->reply, ACCTSEC_TAG_DECISION, &decision);
        if (decision == ACCTSEC_ALLOW)
                return PAM_SUCCESS;
        tell_locked(pamh, a, &x->reply);
        (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
        return PAM_AUTH_ERR;
}

/* Password recovery: "forgot" typed as the password (before pam_unix, which
 * takes anything else with try_first_pass).  A code is sent to the user's
 * verified address, if the daemon allows it; the answer is the same
 * whoever the user is.  The right code stands in for the password step
 * only: the stack's mfa line follows, and the account phase then asks for
 * a new password.  A wrong code is counted and delayed like a wrong
 * password, and ends this stack (default=die). */
#define RECOVER_WORD "forgot"
#define RECOVERED_DATA "pam_acctsec_recovered" /* the temporary password, for this login's forced change */

static void wipe_data(pam_handle_t *pamh, void *data, int error_status) {
        acctsec_erase_and_free(data);
}

static int do_recover(pam_handle_t *pamh, const struct module_args *a, const char *user, struct exchange *x) {
        const char *tok = NULL;
        char attempt[64] = "";
        bool open = false;

        int r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!tok || strcmp(tok, RECOVER_WORD) != 0)
                return PAM_IGNORE;
        r = ask(pamh, a, ACCTSEC_OP_RECOVERY_BEGIN, user, NULL, x, &open);
        if (r != PAM_SUCCESS)
                return r;
        if (open) /* failmode=open never grants by itself: the password step decides */
                return PAM_IGNORE;
        /* A locked user sees what anyone sees, and the code is never checked. */
        bool locked = is_locked(&x->reply);
        const char *id = acctsec_msg_str(&x->reply, ACCTSEC_TAG_ATTEMPT);
        const char *m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
        if (!locked && (!id || strlen(id) >= sizeof(attempt)))
                return PAM_SERVICE_ERR;
        if (!locked)
                strcpy(attempt, id);
        if (m)
                pam_info(pamh, "%s", m);
        _cleanup_erase_ char *code = NULL;
        r = prompt_code(pamh, "Recovery code: ", &code);
        if (r != PAM_SUCCESS)
                return r;
        if (locked) {
                tell_locked(pamh, a, &x->reply);
                (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
                return PAM_AUTH_ERR;
        }
        /* A right code is answered once the password was replaced (a child). */
        r = ask_for(pamh, a, ACCTSEC_OP_RECOVERY_VERIFY, user, code, attempt, a->conf.timeout_ms + PWHASH_WAIT_MS, x,
                    &open);
        if (r != PAM_SUCCESS)
                return r;
        if (open)
                return PAM_AUTH_ERR;
        if (is_locked(&x->reply)) {
                tell_locked(pamh, a, &x->reply);
                (void) pam_fail_delay(pamh, FAIL_DELAY_USEC);
                return PAM_AUTH_ERR;
        }
        /* The password the daemon put in place of the forgotten one: the
         * forced change gives it to pam_unix as the current password. */
        const char *temp = acctsec_msg_str(&x->reply, ACCTSEC_TAG_PASSWORD);
        char *keep = temp ? strdup(temp) : NULL;
        if (!keep)
                return PAM_SERVICE_ERR;
        if (pam_set_data(pamh, RECOVERED_DATA, keep, wipe_data) != PAM_SUCCESS) {
                acctsec_erase_and_free(keep);
                return PAM_SERVICE_ERR;
        }
        m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
        if (m && !a->conf.silent)
                pam_info(pamh, "%s", m);
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        struct module_args a;
        struct exchange *x __attribute__((cleanup(exchange_free))) = NULL;
        const char *user = NULL;

        int r = module_args_parse(pamh, flags, argc, argv, &a);
        if (r != PAM_SUCCESS)
                return r;
        if (a.mode == MODE_NONE || a.mode == MODE_COMMIT) {
                pam_syslog(pamh, LOG_ERR, "auth needs a mode: preauth, authfail, authsucc, mfa, token or recover");
                return PAM_SERVICE_ERR;
        }
        r = get_user_and_exchange(pamh, &user, &x);
        if (r != PAM_SUCCESS)
                return a.mode == MODE_AUTHFAIL ? PAM_AUTH_ERR : r;
        if (a.mode == MODE_TOKEN)
                return do_token(pamh, &a, user, x);
        if (a.mode == MODE_RECOVER)
                return do_recover(pamh, &a, user, x);
        return a.mode == MODE_MFA ? do_mfa(pamh, &a, user, x) : do_auth(pamh, &a, user, x);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return PAM_SUCCESS;
}

/* The account phase runs for every login, public-key SSH included (which
 * skips auth), so a lock is enforced here too. */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        struct module_args a;
        struct exchange *x __attribute__((cleanup(exchange_free))) = NULL;
        const char *user = NULL;
        bool open = false;

        int r = module_args_parse(pamh, flags, argc, argv, &a);
        if (r != PAM_SUCCESS)
                return r;
        if (a.mode != MODE_NONE) {
                pam_syslog(pamh, LOG_ERR, "account takes no mode argument");
                return PAM_SERVICE_ERR;
        }
        r = get_user_and_exchange(pamh, &user, &x);
        if (r != PAM_SUCCESS)
                return r;
        if (carry_take(pamh, CARRY_ACCOUNT_OK, user, &a)) {
                if (a.conf.debug)
                        pam_syslog(pamh, LOG_DEBUG, "account: %s: allowed by the authentication's reply", user);
                return PAM_SUCCESS;
        }
        r = ask(pamh, &a, ACCTSEC_OP_ACCOUNT, user, NULL, x, &open);
        if (r != PAM_SUCCESS || open)
                return r;
        uint64_t decision = ACCTSEC_ALLOW, must_change = 0;
        (void) acctsec_msg_u64(&x->reply, ACCTSEC_TAG_DECISION, &decision);
        if (decision == ACCTSEC_DENY_DISABLED || decision == ACCTSEC_DENY_NETWORK) {
                if (!a.conf.silent)
                        pam_error(pamh, decision == ACCTSEC_DENY_DISABLED
                                                ? "This account has been disabled by an administrator."
                                                : "Logins from this address are not allowed for this account.");
                return PAM_PERM_DENIED;
        }
        if (is_locked(&x->reply)) {
                tell_locked(pamh, &a, &x->reply);
                return PAM_PERM_DENIED;
        }
        /* login, su and sshd then make the user change it (pam_chauthtok).
         * A malformed field is a broken reply, not "no forced change". */
        r = acctsec_msg_u64(&x->reply, ACCTSEC_TAG_MUST_CHANGE, &must_change);
        if (r < 0 && r != -ENOENT) {
                pam_syslog(pamh, LOG_ERR, "acctsecd: malformed reply to account for %s; denying", user);
                return PAM_SERVICE_ERR;
        }
        if (must_change) {
                if (!a.conf.silent)
                        pam_error(pamh, must_change == 2   ? "Your password has expired: you are required to change it now."
                                        : must_change == 3 ? "You logged in with a recovery code: set a new password now."
                                                           : "You are required to change your password now "
                                                             "(administrator request).");
                return PAM_NEW_AUTHTOK_REQD;
        }
        return PAM_SUCCESS;
}

/* The policy line, before pam_unix: the policy is shown, then the new
 * password is asked (and retyped) and checked by the daemon (rules and
 * history) up to retry= times; pam_unix use_authtok then takes it. */
static int password_policy(pam_handle_t *pamh, const struct module_args *a, int flags, const char *user,
                           struct exchange *x) {
        bool at_login = flags & PAM_CHANGE_EXPIRED_AUTHTOK, open = false;
        uint64_t decision = ACCTSEC_DENY_POLICY;
        const void *recovered = NULL;

        /* After a recovery in this handle's authentication: the current
         * password is the temporary one (libpam cleared the items when
         * pam_chauthtok began, so it is set here, for pam_unix). */
        if (at_login && pam_get_data(pamh, RECOVERED_DATA, &recovered) == PAM_SUCCESS && recovered)
                (void) pam_set_item(pamh, PAM_OLDAUTHTOK, recovered);

        int r = ask_password(pamh, a, ACCTSEC_OP_PASSWORD_POLICY, user, NULL, at_login, a->conf.timeout_ms, x, &open);
        if (open)
                return PAM_IGNORE;
        if (r != PAM_SUCCESS) /* no daemon, no policy: refuse the change */
                return PAM_AUTHTOK_ERR;
        (void) acctsec_msg_u64(&x->reply, ACCTSEC_TAG_DECISION, &decision);
        const char *m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
        if (decision != ACCTSEC_ALLOW) {
                pam_error(pamh, "%s", m ? m : "The password cannot be changed here.");
                return PAM_AUTHTOK_ERR;
        }
        if (flags & PAM_PRELIM_CHECK)
                return PAM_SUCCESS;
        if (m && !a->conf.silent)
                pam_info(pamh, "%s", m);
        for (unsigned i = 0; i < a->conf.retry; i++) {
                const char *tok = NULL;
                r = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL);
                if (r == PAM_TRY_AGAIN) /* the two did not match: libpam said so */
                        continue;
                if (r != PAM_SUCCESS || !tok)
                        return r == PAM_SUCCESS ? PAM_AUTHTOK_ERR : r;
                r = ask_password(pamh, a, ACCTSEC_OP_PASSWORD_CHECK, user, tok, at_login,
                                 a->conf.timeout_ms + PWHASH_WAIT_MS, x, &open);
                if (open)
                        return PAM_IGNORE;
                if (r != PAM_SUCCESS) {
                        (void) pam_set_item(pamh, PAM_AUTHTOK, NULL);
                        return PAM_AUTHTOK_ERR;
                }
                decision = ACCTSEC_DENY_POLICY;
                (void) acctsec_msg_u64(&x->reply, ACCTSEC_TAG_DECISION, &decision);
                if (decision == ACCTSEC_ALLOW)
                        return PAM_SUCCESS;
                m = acctsec_msg_str(&x->reply, ACCTSEC_TAG_MESSAGE);
                pam_error(pamh, "%s", m ? m : "The password was refused.");
                (void) pam_set_item(pamh, PAM_AUTHTOK, NULL);
        }
        return PAM_MAXTRIES;
}

/* The commit line, after pam_unix: runs only once the password really
 * changed.  The daemon clears a forced change, records the time and (with
 * history=) the new password's argon2id hash, and mails a notice.  It
 * succeeds whatever happens: the password module decided, and in the usual
 * "[success=1 default=ignore] pam_unix" stack it is the only line left to
 * give the stack its result (PAM_IGNORE there would make libpam fail a
 * change that happened). */
static int password_commit(pam_handle_t *pamh, const struct module_args *a, int flags, const char *user,
                           struct exchange *x) {
        const void *tok = NULL;
        bool open = false;
        if (flags & PAM_PRELIM_CHECK)
                return PAM_SUCCESS;
        (void) pam_get_item(pamh, PAM_AUTHTOK, &tok);
        int r = ask_password(pamh, a, ACCTSEC_OP_PASSWORD_COMMIT, user, tok, (flags & PAM_CHANGE_EXPIRED_AUTHTOK) != 0,
                             a->conf.timeout_ms + PWHASH_WAIT_MS, x, &open);
        if (r != PAM_SUCCESS)
                pam_syslog(pamh, LOG_ERR, "the password of %s changed, but acctsecd did not record it "
                           "(a forced change stays in force)", user);
        return PAM_SUCCESS;
}

/* Sessions.  The record's id is kept with pam_set_data for the close in
 * the same handle (sshd opens and closes in its privileged monitor); the
 * daemon also finds it from the calling process, and closes records whose
 * process is gone.  Only root's login programs record sessions, and not
 * the user's service manager (not_a_login). */
#define SESSION_DATA "pam_acctsec_session"

static void free_data(pam_handle_t *pamh, void *data, int error_status) {
        free(data);
}

/* A session that is not a login, left unrecorded: user@.service opens one
 * for the user's service manager (PAM service "systemd-user", as root, on
 * Debian through common-session-noninteractive).  Recorded, it would be
 * listed as a login and "session terminate --all-others" would end the
 * manager of a user who is still logged in.  Other non-interactive services
 * (cron) are left out by the stack, not named here: the Debian profile
 * puts the session line into common-session only. */
static bool not_a_login(pam_handle_t *pamh, const struct module_args *a) {
        const void *service = NULL;
        if (pam_get_item(pamh, PAM_SERVICE, &service) != PAM_SUCCESS || !service ||
            strcmp(service, "systemd-user") != 0)
                return false;
        if (a->conf.debug)
                pam_syslog(pamh, LOG_DEBUG, "systemd-user: the user's service manager is not a login, not recorded");
        return true;
}

static int session(pam_handle_t *pamh, int flags, int argc, const char **argv, bool open) {
        struct module_args a;
        struct exchange *x __attribute__((cleanup(exchange_free))) = NULL;
        const char *user = NULL;
        const void *data = NULL;
        uint8_t op = open ? ACCTSEC_OP_SESSION_OPEN : ACCTSEC_OP_SESSION_CLOSE;
        bool failed_open = false;
        uint64_t id = 0;

        int r = module_args_parse(pamh, flags, argc, argv, &a);
        if (r != PAM_SUCCESS)
                return r;
        if (a.mode != MODE_NONE) {
                pam_syslog(pamh, LOG_ERR, "session takes no mode argument");
                return PAM_SERVICE_ERR;
        }
        if (not_a_login(pamh, &a))
                return PAM_IGNORE;
        if (geteuid() != 0) {
                if (a.conf.debug)
                        pam_syslog(pamh, LOG_DEBUG, "not root: sessions are recorded for root's login programs only");
                return PAM_IGNORE;
        }
        r = get_user_and_exchange(pamh, &user, &x);
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;
        struct acctsec_frame *f = begin_request(pamh, &a, op, user, x);
        if (open)
                add_auth_info(pamh, f);
        else if (pam_get_data(pamh, SESSION_DATA, &data) == PAM_SUCCESS && data)
                acctsec_frame_add_u64(f, ACCTSEC_TAG_SESSION, *(const uint64_t *) data);
        r = send_request(pamh, &a, op, user, a.conf.timeout_ms, x, &failed_open);
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;
        if (!open || failed_open || acctsec_msg_u64(&x->reply, ACCTSEC_TAG_SESSION, &id) < 0)
                return PAM_SUCCESS;
        uint64_t *keep = malloc(sizeof(*keep));
        if (keep) {
                *keep = id;
                if (pam_set_data(pamh, SESSION_DATA, keep, free_data) != PAM_SUCCESS)
                        free(keep);
        }
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return session(pamh, flags, argc, argv, true);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        return session(pamh, flags, argc, argv, false);
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        struct module_args a;
        struct exchange *x __attribute__((cleanup(exchange_free))) = NULL;
        const char *user = NULL;

        int r = module_args_parse(pamh, flags, argc, argv, &a);
        if (r != PAM_SUCCESS)
                return r;
        if (a.mode != MODE_COMMIT && a.mode != MODE_NONE) {
                pam_syslog(pamh, LOG_ERR, "password takes no mode argument but commit");
                return PAM_SERVICE_ERR;
        }
        r = get_user_and_exchange(pamh, &user, &x);
        if (r != PAM_SUCCESS)
                return a.mode == MODE_COMMIT ? PAM_SUCCESS : r;
        return a.mode == MODE_COMMIT ? password_commit(pamh, &a, flags, user, x) : password_policy(pamh, &a, flags, user, x);
}
