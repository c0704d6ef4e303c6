/* SPDX-License-Identifier: BSD-3-Clause */
/* The security log: LOG_SHOW (the newest events, a page at a time) and
 * LOG_EXPORT (every matching event, oldest first; the client carries the
 * cursor, so an export of millions of events costs the daemon one bounded
 * page per request and no state between them). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eventlog.h"
#include "handlers.h"
#include "request.h"
#include "seclog.h"

#define SHOW_DEFAULT 50
/* RECORD ID TIME TYPE OUTCOME USER SERVICE RHOST TTY ACTOR DETAIL [HOST] [COUNTRY CITY] */
#define RECORD_FIELDS 14
#define RECORD_STRINGS 11

/* A request, checked: whose events, which ones, and where the page starts. */
struct log_request {
        struct eventlog_filter f;
        char user[USER_NAME_MAX]; /* f.user points here unless everyone's */
        uint64_t cursor, until, count;
};

/* An optional u64 field: 0 when absent; -EINVAL when malformed or beyond
 * what an id or a time can be. */
static int opt_u64(const struct acctsec_msg *m, uint8_t tag, uint64_t *ret) {
        uint64_t v = 0;
        int r = acctsec_msg_u64(m, tag, &v);
        if (r == -ENOENT)
                v = 0;
        else if (r < 0 || v > INT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Whose events (authz.c decided): one's own by default; administrators
 * and auditors any name (a user that no longer exists too: its events
 * stay) or everyone's with ALL. */
static void log_scope(const struct request *rq, struct log_request *q) {
        if (rq->everyone) {
                q->f.user = NULL;
                return;
        }
        snprintf(q->user, sizeof(q->user), "%s", rq->target.name);
        q->f.user = q->user;
}

static int parse_log_request(const struct request *rq, struct log_request *q) {
        const struct acctsec_msg *req = rq->msg;
        struct acctsec_frame *reply = rq->reply;
        uint64_t since, all;
        char msg[128];

        memset(q, 0, sizeof(*q));
        if (opt_u64(req, ACCTSEC_TAG_ALL, &all) < 0)
                return reply_error(reply, -EINVAL, "malformed USER or ALL"), 1;
        log_scope(rq, q);
        q->f.type = rq_str(rq, ACCTSEC_TAG_TYPE);
        if (q->f.type && seclog_type_by_name(q->f.type) < 0) {
                snprintf(msg, sizeof(msg), "unknown event type %.64s", q->f.type);
                return reply_error(reply, -EINVAL, msg), 1;
        }
        if (opt_u64(req, ACCTSEC_TAG_SINCE, &since) < 0 || opt_u64(req, ACCTSEC_TAG_ID, &q->cursor) < 0 ||
            opt_u64(req, ACCTSEC_TAG_UNTIL, &q->until) < 0 || opt_u64(req, ACCTSEC_TAG_COUNT, &q->count) < 0)
                return reply_error(reply, -EINVAL, "malformed SINCE, ID, UNTIL or COUNT"), 1;
        q->f.since = (int64_t) since;
        return 0;
}

/* A reply being filled with records. */
struct page {
        struct acctsec_frame *reply;
        size_t fields; /* acctsec_msg_parse() takes at most ACCTSEC_FIELDS_MAX */
        uint64_t count, limit;
        bool export;
};

static void put_summary(struct page *p, uint64_t cursor, uint64_t until, bool more) {
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_ID, cursor);
        if (p->export)
                acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_UNTIL, until);
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_MORE, more);
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_COUNT, p->count);
}

static void page_begin(struct page *p, struct acctsec_frame *reply, bool export, uint64_t limit) {
        *p = (struct page){ .reply = reply, .limit = limit, .export = export };
        acctsec_frame_init(reply, ACCTSEC_REPLY_OK);
        put_summary(p, 0, 0, false); /* placeholders: see page_end() */
        p->fields = export ? 4 : 3;
}

/* The summary goes before the records, where no reader can take its ID for
 * the last record's.  Its fields have a fixed size, so the placeholders are
 * rewritten in place once the page is known. */
static void page_end(struct page *p, uint64_t cursor, uint64_t until, bool more) {
        size_t end = p->reply->len;
        p->reply->len = ACCTSEC_HEADER_SIZE;
        put_summary(p, cursor, until, more);
        p->reply->len = end;
}

static size_t wire_len(const char *s) {
        size_t n = strlen(s);
        return n > ACCTSEC_STR_MAX ? ACCTSEC_STR_MAX : n;
}

/* Stored text as a protocol string.  Everything seclog.c stores passed the
 * protocol's checks already; a row written some other way is cut to
 * ACCTSEC_STR_MAX bytes and has its control characters replaced, so that
 * one bad row cannot make every page that holds it fail. */
static void add_text(struct acctsec_frame *f, uint8_t tag, const char *s) {
        char buf[ACCTSEC_STR_MAX + 1];
        size_t n = wire_len(s);
        bool clean = n == strlen(s);
        for (size_t i = 0; clean && i < n; i++)
                clean = (unsigned char) s[i] >= 0x20 && s[i] != 0x7f;
        if (clean) {
                acctsec_frame_add_str(f, tag, s);
                return;
        }
        for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        buf[n] = '\0';
        acctsec_frame_add_str(f, tag, buf);
}

/* Every field of a record is sent but the optional ones: HOST (a
 * fleet's), and COUNTRY with CITY (only where there is a location). */
static bool sent(uint8_t tag, const char *value, bool located) {
        if (tag == ACCTSEC_TAG_HOST)
                return value[0] != '\0';
        if (tag == ACCTSEC_TAG_COUNTRY || tag == ACCTSEC_TAG_CITY)
                return located;
        return true;
}

/* eventlog_fn: one record, if the limit and the frame allow it. */
static int add_event(const struct event_row *e, void *userdata) {
        static const uint8_t tags[RECORD_STRINGS] = { ACCTSEC_TAG_TYPE,    ACCTSEC_TAG_OUTCOME, ACCTSEC_TAG_USER,
                                                      ACCTSEC_TAG_SERVICE, ACCTSEC_TAG_RHOST,   ACCTSEC_TAG_TTY,
                                                      ACCTSEC_TAG_ACTOR,   ACCTSEC_TAG_DETAIL,  ACCTSEC_TAG_HOST,
                                                      ACCTSEC_TAG_COUNTRY, ACCTSEC_TAG_CITY };
        struct page *p = userdata;
        const char *s[RECORD_STRINGS] = { e->type,  seclog_outcome_of(e->type), e->user,  e->service,
                                          e->rhost, e->tty,                     e->actor, e->detail,
                                          e->host,  e->country,                 e->city };
        /* the host: a fleet's only; the location: where there is one */
        bool located = e->country[0] != '\0';
        size_t nfields = RECORD_FIELDS - !e->host[0] - 2 * !located;
        size_t need = nfields * 3 + 3 * 8;            /* field headers, three u64 values */
        for (size_t i = 0; i < RECORD_STRINGS; i++)
                need += wire_len(s[i]);
        if (p->count >= p->limit || p->fields + nfields > ACCTSEC_FIELDS_MAX ||
            p->reply->len + need > ACCTSEC_FRAME_MAX)
                return 1;
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_RECORD, ++p->count);
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_ID, (uint64_t) e->id);
        acctsec_frame_add_u64(p->reply, ACCTSEC_TAG_TIME, (uint64_t) e->time);
        for (size_t i = 0; i < RECORD_STRINGS; i++)
                if (sent(tags[i], s[i], located))
                        add_text(p->reply, tags[i], s[i]);
        p->fields += nfields;
        return 0;
}

static const char *scope_name(const struct log_request *q) {
        return q->f.user ? q->f.user : "*";
}

/* LOG_SHOW: newest first, ids below the cursor (0: from the newest). */
int handle_log_show(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct log_request q;
        struct page p;
        int64_t last = 0;

        if (parse_log_request(rq, &q))
                return 0;
        if (q.count == 0 && acctsec_msg_u64(req, ACCTSEC_TAG_COUNT, &q.count) == 0)
                return reply_error(reply, -EINVAL, "COUNT: at least one event");
        if (q.count == 0)
                q.count = SHOW_DEFAULT;
        int64_t before = q.cursor ? (int64_t) q.cursor : INT64_MAX;
        page_begin(&p, reply, false, q.count);
        int r = eventlog_scan(&d->store, &q.f, true, 1, before - 1, add_event, &p, &last);
        if (r < 0)
                return reply_db_error(reply, req->type, scope_name(&q), r);
        if (r == 1 && last == 0) /* cannot happen: any record fits an empty page */
                return reply_error(reply, -EMSGSIZE, "an event does not fit in a reply");
        page_end(&p, r == 1 ? (uint64_t) last : 0, 0, r == 1);
        return 0;
}

/* The first page of an export fixes its end and is logged, with what was
 * asked for.  The event is not a gate: LOG_SHOW reads the same events. */
static int export_begin(struct daemon *d, const struct ucred *peer, struct log_request *q, int64_t max_id) {
        char actor[USER_NAME_MAX + 16], detail[USER_NAME_MAX + 160];
        int n = snprintf(detail, sizeof(detail), "%s%s", q->f.user ? "user=" : "all users", q->f.user ? q->f.user : "");
        if (q->f.type)
                n += snprintf(detail + n, sizeof(detail) - (size_t) n, " type=%s", q->f.type);
        if (q->f.since)
                n += snprintf(detail + n, sizeof(detail) - (size_t) n, " since=%lld", (long long) q->f.since);
        snprintf(detail + n, sizeof(detail) - (size_t) n, " until=%lld", (long long) max_id);
        actor_name(peer, actor, sizeof(actor));
        struct event ev = { .type = EV_LOG_EXPORTED, .user = scope_name(q), .actor = actor, .detail = detail };
        q->until = (uint64_t) max_id;
        return seclog_add(&d->store, store_now(&d->store), &ev);
}

/* LOG_EXPORT: oldest first, ids in (cursor, until]. */
int handle_log_export(struct request *rq) {
        REQUEST_UNPACK(rq);
        struct log_request q;
        struct page p;
        int64_t max_id = 0, last = 0;
        int r = 0;

        if (parse_log_request(rq, &q))
                return 0;
        if (q.cursor == 0 || q.until == 0) {
                r = eventlog_max_id(&d->store, &max_id);
                if (r == 0)
                        r = export_begin(d, peer, &q, max_id);
                if (r < 0)
                        return reply_db_error(reply, req->type, scope_name(&q), r);
        }
        page_begin(&p, reply, true, UINT64_MAX);
        if (q.cursor < q.until)
                r = eventlog_scan(&d->store, &q.f, false, (int64_t) q.cursor + 1, (int64_t) q.until, add_event, &p,
                                  &last);
        if (r < 0)
                return reply_db_error(reply, req->type, scope_name(&q), r);
        if (r == 1 && last == 0)
                return reply_error(reply, -EMSGSIZE, "an event does not fit in a reply");
        uint64_t cursor = r == 1 ? (uint64_t) last : q.cursor > q.until ? q.cursor : q.until;
        page_end(&p, cursor, q.until, cursor < q.until);
        return 0;
}
