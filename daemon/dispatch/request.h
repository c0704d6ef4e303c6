/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A request type is one row of the table in requests.c: its handler, who
 * may send it, whose account it may be about, whether it writes, how it is
 * rate-limited, whether its reply is deferred, and its fields.  The
 * dispatcher (dispatch.c) enforces all of it before the handler runs: a
 * handler receives parsed, authorized input in struct request.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon.h"
#include "handlers.h"
#include "proto.h"
#include "users.h"

/* Who may send a request (authz.c has the one rule). */
enum access {
        ACCESS_ANYONE, /* PING */
        ACCESS_ROOT,   /* root only: the module's password and session phases, RELOAD */
        ACCESS_LOGIN,  /* the module: root about anyone, a process of the user about that user only */
        ACCESS_OWN,    /* one's own account; .others says who may name another user */
        ACCESS_ADMIN,  /* admins only */
        ACCESS_READERS, /* admins and auditors: reads about no one account */
};

/* Who may name another user's account in an ACCESS_OWN request. */
enum others {
        OTHERS_NOBODY,
        OTHERS_ROOT,    /* provisioning: enrol a factor for someone */
        OTHERS_READERS, /* admins and auditors */
        OTHERS_ADMINS,
};

enum target {
        TARGET_NONE,    /* the request is about no account */
        TARGET_USER,    /* USER, or the caller's own account */
        TARGET_GLOBAL,  /* USER, or the global list when there is none (allowlists) */
        TARGET_ANYNAME, /* USER need not exist (its events or tallies outlive it) */
        TARGET_ANYNAME_ALL, /* the same; no USER is everyone's for admins and auditors */
};

enum rate {
        RATE_FREE,    /* reads; never counted */
        RATE_WRITE,   /* counted in USER_WRITES_PER_MIN (never for root or admins) */
        RATE_EXPORT,  /* LOG_EXPORT: the first page counts, the pages after it are reads */
};

enum field_type { FIELD_STR, FIELD_U64 };
struct field {
        uint8_t tag;
        enum field_type type;
        bool required;
        bool lenient; /* malformed counts as absent (a typed code: a wrong one), never as a bad request */
};
#define REQUEST_FIELDS_MAX 8

struct request;
typedef int (*request_handler_t)(struct request *rq);

struct request_type {
        request_handler_t handler;
        enum access access;
        enum others others;
        enum target target;
        bool all;      /* ALL=1 asks for every user's: admins and auditors */
        bool login;    /* the dispatcher prepares struct login (user, service, policy) */
        bool writes;   /* may change state or log: its transaction commits */
        enum rate rate;
        bool deferred; /* the reply may come later (HANDLE_DEFERRED) */
        bool offline;  /* needs no store: answered at once, even while the database is away;
                        * only for ACCESS_ANYONE reads (a refusal is logged in the store) */
        const char *refusal; /* what a caller that may not send it (or not about that user) is told */
        const char *usage;   /* what a request with a missing or malformed field is told */
        struct field fields[REQUEST_FIELDS_MAX];
};

/* The row of op, or NULL for an unknown type. */
const struct request_type *request_type_of(uint8_t op);
/* Whether op needs no store (PING): such requests never wait for the
 * store's worker (core/worker.h). */
bool request_is_offline(uint8_t op);
/* "who may send | writes | rate-limited | deferred": doc/protocol.md's
 * columns for op (tests/unit/test_requests.c compares them). */
int request_type_describe(uint8_t op, char *buf, size_t n);

struct request {
        struct daemon *d;
        const struct ucred *peer;
        const struct acctsec_msg *msg;
        struct acctsec_frame *reply;
        const struct request_type *type;
        uint8_t op;
        int64_t now;             /* the store's clock when the request began */
        enum role role;          /* the caller's */
        /* TARGET_*: whose account (authz.c). */
        bool everyone;           /* ALL=1 */
        bool global;             /* TARGET_GLOBAL without a user */
        bool self;               /* the caller's own account */
        bool known;              /* target names an existing user (TARGET_ANYNAME may not) */
        struct principal target; /* .name set whenever a user is the target */
        struct acctsec_conf conf; /* the target's policy (known targets) */
        struct login login;      /* .login rows */
};

/* A field the row lists, already checked: the string, or NULL if absent. */
const char *rq_str(const struct request *rq, uint8_t tag);
/* A u64 field the row lists, or def when absent. */
uint64_t rq_u64(const struct request *rq, uint8_t tag, uint64_t def);

/* Who acted, for the log: NULL when the caller acted on its own account. */
const char *rq_actor(struct request *rq, char *buf, size_t n);

/* authz.c: 0, or 1 with the refusal (or lookup error) in rq->reply. */
int authorize(struct request *rq);

/* Unpack a request into the names handlers used before the table. */
#define REQUEST_UNPACK(rq)                                                                                       \
        struct daemon *d __attribute__((unused)) = (rq)->d;                                                     \
        const struct ucred *peer __attribute__((unused)) = (rq)->peer;                                          \
        const struct acctsec_msg *req __attribute__((unused)) = (rq)->msg;                                      \
        struct acctsec_frame *reply __attribute__((unused)) = (rq)->reply
