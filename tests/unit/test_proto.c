/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for the wire protocol (common/proto.c) and common/secret.c. */
#include "config.h"

#include "unit.h"

#include "client.h"
#include "macro.h"
#include "proto.h"
#include "secret.h"

/* Big structures live on the heap, one fresh set per test. */
struct bufs {
        struct acctsec_frame f;
        struct acctsec_msg m;
        struct acctsec_msg m2;
        uint8_t body[ACCTSEC_FRAME_MAX + 16];
};

static int setup(void **state) {
        struct bufs *b = malloc(sizeof(*b));
        if (!b)
                return -1;
        memset(b, 0x5A, sizeof(*b)); /* garbage, as on a real stack */
        *state = b;
        return 0;
}

static int teardown(void **state) {
        free(*state);
        return 0;
}

/* A test given a struct bufs full of garbage. */
#define bufs_test(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* Finish f, check its header and parse its body into m (from f->buf). */
static void finish_and_parse(struct acctsec_frame *f, struct acctsec_msg *m, uint8_t want_type) {
        uint8_t type = 0;
        uint32_t len = 0;

        assert_int_equal(acctsec_frame_finish(f), 0);
        assert_int_equal(acctsec_header_parse(f->buf, &type, &len), 0);
        assert_int_equal(type, want_type);
        assert_int_equal(len, f->len - ACCTSEC_HEADER_SIZE);
        assert_int_equal(acctsec_msg_parse(m, type, f->buf + ACCTSEC_HEADER_SIZE, len), 0);
        assert_int_equal(m->type, want_type);
}

static void assert_same_msg(const struct acctsec_msg *a, const struct acctsec_msg *b) {
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->nfields, b->nfields);
        assert_int_equal(a->used, b->used);
        for (size_t i = 0; i < a->nfields; i++) {
                assert_int_equal(a->f[i].tag, b->f[i].tag);
                assert_int_equal(a->f[i].len, b->f[i].len);
                assert_memory_equal(a->f[i].val, b->f[i].val, a->f[i].len);
                assert_int_equal(a->f[i].val[a->f[i].len], '\0');
                assert_int_equal(b->f[i].val[b->f[i].len], '\0');
                /* values point into their own message's arena */
                assert_true(a->f[i].val >= a->arena && a->f[i].val + a->f[i].len < a->arena + sizeof(a->arena));
                assert_true(b->f[i].val >= b->arena && b->f[i].val + b->f[i].len < b->arena + sizeof(b->arena));
        }
}

/* ---- encoding ------------------------------------------------------------ */

static void test_frame_layout(void **state) {
        struct bufs *b = *state;
        struct acctsec_frame *f = &b->f;
        static const uint8_t want[] = {
                'A', 'S', 1, ACCTSEC_OP_PREAUTH, 0, 0, 0, 3 + 5 + 3 + 8 + 3,  /* header */
                ACCTSEC_TAG_USER, 0, 5, 'a', 'l', 'i', 'c', 'e',              /* string */
                ACCTSEC_TAG_FAILURES, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,           /* u64, big-endian */
                ACCTSEC_TAG_RHOST, 0, 0,                                      /* empty string */
        };

        acctsec_frame_init(f, ACCTSEC_OP_PREAUTH);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, "alice");
        acctsec_frame_add_u64(f, ACCTSEC_TAG_FAILURES, UINT64_C(0x0102030405060708));
        acctsec_frame_add_str(f, ACCTSEC_TAG_RHOST, "");
        assert_int_equal(acctsec_frame_finish(f), 0);
        assert_int_equal(f->len, sizeof(want));
        assert_memory_equal(f->buf, want, sizeof(want));
}

static void test_empty_frame(void **state) {
        struct bufs *b = *state;
        uint8_t type;
        uint32_t len;

        acctsec_frame_init(&b->f, ACCTSEC_OP_PING);
        assert_int_equal(acctsec_frame_finish(&b->f), 0);
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE);
        assert_int_equal(be32(b->f.buf + 4), 0);
        assert_int_equal(acctsec_header_parse(b->f.buf, &type, &len), 0);
        assert_int_equal(type, ACCTSEC_OP_PING);
        assert_int_equal(len, 0);
        assert_int_equal(acctsec_msg_parse(&b->m, type, b->f.buf + ACCTSEC_HEADER_SIZE, 0), 0);
        assert_int_equal(b->m.nfields, 0);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));
        /* an empty body may come without a buffer */
        assert_int_equal(acctsec_msg_parse(&b->m2, ACCTSEC_REPLY_OK, NULL, 0), 0);
        assert_int_equal(b->m2.nfields, 0);
        assert_int_equal(b->m2.type, ACCTSEC_REPLY_OK);
}

static void test_round_trip(void **state) {
        struct bufs *b = *state;
        struct acctsec_frame *f = &b->f;
        struct acctsec_msg *m = &b->m;
        uint64_t v;

        acctsec_frame_init(f, ACCTSEC_OP_AUTHFAIL);
        acctsec_frame_add_str(f, ACCTSEC_TAG_USER, "alice");
        acctsec_frame_add_str(f, ACCTSEC_TAG_SERVICE, "sshd");
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_RHOST, NULL); /* skipped */
        acctsec_frame_add_str_opt(f, ACCTSEC_TAG_TTY, "pts/0");
        acctsec_frame_add_str(f, ACCTSEC_TAG_CONF, "deny=5");
        acctsec_frame_add_str(f, ACCTSEC_TAG_MESSAGE, "caf\xc3\xa9 ~ \"quoted\"");
        acctsec_frame_add_str(f, ACCTSEC_TAG_SOURCE, "");
        acctsec_frame_add_u64(f, ACCTSEC_TAG_FAILURES, 0);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_LOCKED_UNTIL, ACCTSEC_LOCKED_FOREVER);
        acctsec_frame_add_u64(f, ACCTSEC_TAG_LAST_FAILURE, UINT64_C(0x8000000000000001));
        acctsec_frame_add_u64(f, 255, 42);
        finish_and_parse(f, m, ACCTSEC_OP_AUTHFAIL);

        assert_int_equal(m->nfields, 10);
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_USER), "alice");
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_SERVICE), "sshd");
        assert_null(acctsec_msg_str(m, ACCTSEC_TAG_RHOST));
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_TTY), "pts/0");
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_CONF), "deny=5");
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_MESSAGE), "caf\xc3\xa9 ~ \"quoted\"");
        assert_string_equal(acctsec_msg_str(m, ACCTSEC_TAG_SOURCE), "");
        v = 99;
        assert_int_equal(acctsec_msg_u64(m, ACCTSEC_TAG_FAILURES, &v), 0);
        assert_true(v == 0);
        assert_int_equal(acctsec_msg_u64(m, ACCTSEC_TAG_LOCKED_UNTIL, &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(acctsec_msg_u64(m, ACCTSEC_TAG_LAST_FAILURE, &v), 0);
        assert_true(v == UINT64_C(0x8000000000000001));
        assert_int_equal(acctsec_msg_u64(m, 255, &v), 0);
        assert_true(v == 42);

        /* field order is kept */
        static const uint8_t order[] = {
                ACCTSEC_TAG_USER,     ACCTSEC_TAG_SERVICE,      ACCTSEC_TAG_TTY,          ACCTSEC_TAG_CONF,
                ACCTSEC_TAG_MESSAGE,  ACCTSEC_TAG_SOURCE,       ACCTSEC_TAG_FAILURES,     ACCTSEC_TAG_LOCKED_UNTIL,
                ACCTSEC_TAG_LAST_FAILURE, 255,
        };
        for (size_t i = 0; i < ARRAY_SIZE(order); i++)
                assert_int_equal(m->f[i].tag, order[i]);
        assert_int_equal(m->f[0].len, 5);
        assert_int_equal(m->f[6].len, 8);
}

static void test_u64_values(void **state) {
        static const uint64_t values[] = {
                0, 1, 0xff, 0x100, 0xffffffff, UINT64_C(0x100000000), UINT64_C(0x7fffffffffffffff),
                UINT64_C(0xfedcba9876543210), UINT64_MAX,
        };
        struct bufs *b = *state;

        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (size_t i = 0; i < ARRAY_SIZE(values); i++)
                acctsec_frame_add_u64(&b->f, (uint8_t) (i + 1), values[i]);
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
        assert_int_equal(b->m.nfields, ARRAY_SIZE(values));
        for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
                uint64_t v = 0;
                assert_int_equal(acctsec_msg_u64(&b->m, (uint8_t) (i + 1), &v), 0);
                assert_true(v == values[i]);
                v = 0;
                assert_int_equal(acctsec_field_u64(&b->m.f[i], &v), 0);
                assert_true(v == values[i]);
        }
}

static void test_many_fields(void **state) {
        struct bufs *b = *state;
        char s[32];

        /* ACCTSEC_FIELDS_MAX fields: the most a message may hold */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (unsigned i = 0; i < ACCTSEC_FIELDS_MAX; i++) {
                if (i % 2 == 0) {
                        snprintf(s, sizeof(s), "record-%u", i);
                        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, s);
                } else
                        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_UID, i);
        }
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
        assert_int_equal(b->m.nfields, ACCTSEC_FIELDS_MAX);
        for (unsigned i = 0; i < ACCTSEC_FIELDS_MAX; i++) {
                const struct acctsec_field *fl = &b->m.f[i];
                if (i % 2 == 0) {
                        snprintf(s, sizeof(s), "record-%u", i);
                        assert_int_equal(fl->tag, ACCTSEC_TAG_RECORD);
                        assert_true(acctsec_field_is_string(fl));
                        assert_string_equal(fl->val, s);
                } else {
                        uint64_t v = 0;
                        assert_int_equal(fl->tag, ACCTSEC_TAG_UID);
                        assert_int_equal(acctsec_field_u64(fl, &v), 0);
                        assert_true(v == i);
                }
        }
        /* the first field with a tag wins */
        assert_string_equal(acctsec_msg_str(&b->m, ACCTSEC_TAG_RECORD), "record-0");

        /* one more is malformed, even though the encoder builds it */
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_UID, 1);
        assert_int_equal(acctsec_frame_finish(&b->f), 0);
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_OK, b->f.buf + ACCTSEC_HEADER_SIZE,
                                           b->f.len - ACCTSEC_HEADER_SIZE),
                         -EBADMSG);

        /* and so are 1025 empty fields */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (unsigned i = 0; i <= ACCTSEC_FIELDS_MAX; i++)
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, "");
        assert_int_equal(acctsec_frame_finish(&b->f), 0);
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE + 3 * (ACCTSEC_FIELDS_MAX + 1));
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_OK, b->f.buf + ACCTSEC_HEADER_SIZE,
                                           b->f.len - ACCTSEC_HEADER_SIZE),
                         -EBADMSG);
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_OK, b->f.buf + ACCTSEC_HEADER_SIZE,
                                           b->f.len - ACCTSEC_HEADER_SIZE - 3),
                         0);
        assert_int_equal(b->m.nfields, ACCTSEC_FIELDS_MAX);
}

static void test_duplicate_tags(void **state) {
        struct bufs *b = *state;
        uint64_t v = 0;

        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "first");
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "second");
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_COUNT, 1);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_COUNT, 2);
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
        assert_string_equal(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER), "first");
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_COUNT, &v), 0);
        assert_true(v == 1);
        assert_string_equal(b->m.f[1].val, "second");
}

/* ---- encoder errors ------------------------------------------------------ */

static void test_str_max(void **state) {
        struct bufs *b = *state;
        _cleanup_free_ char *s = malloc(ACCTSEC_STR_MAX + 2);

        assert_non_null(s);
        memset(s, 'x', ACCTSEC_STR_MAX + 1);
        s[ACCTSEC_STR_MAX] = '\0';

        /* exactly ACCTSEC_STR_MAX: fine */
        acctsec_frame_init(&b->f, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, s);
        finish_and_parse(&b->f, &b->m, ACCTSEC_OP_STATUS);
        assert_string_equal(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER), s);

        /* one more: -EMSGSIZE, nothing added, and the error sticks */
        s[ACCTSEC_STR_MAX] = 'x';
        s[ACCTSEC_STR_MAX + 1] = '\0';
        acctsec_frame_init(&b->f, ACCTSEC_OP_STATUS);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "alice");
        size_t len = b->f.len;
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, s);
        assert_int_equal(b->f.error, -EMSGSIZE);
        assert_int_equal(b->f.len, len);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_SERVICE, "sshd");
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_COUNT, 1);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_SERVICE, NULL);
        assert_int_equal(b->f.len, len);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);

        /* frame_init clears it */
        acctsec_frame_init(&b->f, ACCTSEC_OP_STATUS);
        assert_int_equal(acctsec_frame_finish(&b->f), 0);
}

static void test_str_null(void **state) {
        struct bufs *b = *state;

        acctsec_frame_init(&b->f, ACCTSEC_OP_PING);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, NULL);
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "alice");
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE);
        assert_int_equal(acctsec_frame_finish(&b->f), -EINVAL);

        /* the first error is the one reported */
        _cleanup_free_ char *s = malloc(ACCTSEC_STR_MAX + 2);
        assert_non_null(s);
        memset(s, 'y', ACCTSEC_STR_MAX + 1);
        s[ACCTSEC_STR_MAX + 1] = '\0';
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, s);
        assert_int_equal(acctsec_frame_finish(&b->f), -EINVAL);

        acctsec_frame_init(&b->f, ACCTSEC_OP_PING);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, s);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, NULL);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);

        /* _opt with NULL is not an error */
        acctsec_frame_init(&b->f, ACCTSEC_OP_PING);
        acctsec_frame_add_str_opt(&b->f, ACCTSEC_TAG_RHOST, NULL);
        assert_int_equal(acctsec_frame_finish(&b->f), 0);
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE);
}

static void test_frame_overflow(void **state) {
        struct bufs *b = *state;
        _cleanup_free_ char *s = malloc(ACCTSEC_STR_MAX + 1);
        const size_t per = 3 + ACCTSEC_STR_MAX;
        const size_t nfull = (ACCTSEC_FRAME_MAX - ACCTSEC_HEADER_SIZE) / per; /* 15 */
        const size_t rest = ACCTSEC_FRAME_MAX - ACCTSEC_HEADER_SIZE - nfull * per;

        assert_non_null(s);
        memset(s, 'z', ACCTSEC_STR_MAX);
        s[ACCTSEC_STR_MAX] = '\0';
        assert_true(rest > 3 && rest - 3 < ACCTSEC_STR_MAX);

        /* fill the frame to exactly ACCTSEC_FRAME_MAX */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (size_t i = 0; i < nfull; i++)
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, s);
        s[rest - 3] = '\0';
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, s);
        assert_int_equal(b->f.error, 0);
        assert_int_equal(b->f.len, ACCTSEC_FRAME_MAX);
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
        assert_int_equal(be32(b->f.buf + 4), ACCTSEC_BODY_MAX);
        assert_int_equal(b->m.nfields, nfull + 1);
        assert_int_equal(strlen(acctsec_msg_str(&b->m, ACCTSEC_TAG_RECORD)), rest - 3);

        /* not even an empty field fits now, nor a u64 */
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "");
        assert_int_equal(b->f.error, -EMSGSIZE);
        assert_int_equal(b->f.len, ACCTSEC_FRAME_MAX);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);

        /* one byte too many, through a u64 */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        s[ACCTSEC_STR_MAX] = '\0';
        memset(s, 'z', ACCTSEC_STR_MAX);
        for (size_t i = 0; i < nfull; i++)
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, s);
        s[rest - 3 - 11 + 1] = '\0'; /* leaves 10 bytes: one short of a u64 field */
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, s);
        assert_int_equal(b->f.len, ACCTSEC_FRAME_MAX - 10);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_COUNT, 1);
        assert_int_equal(b->f.len, ACCTSEC_FRAME_MAX - 10);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);

        /* many strings: stops at the first one that does not fit */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        memset(s, 'z', ACCTSEC_STR_MAX);
        s[ACCTSEC_STR_MAX] = '\0';
        for (size_t i = 0; i < 100; i++)
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, s);
        assert_int_equal(b->f.len, ACCTSEC_HEADER_SIZE + nfull * per);
        assert_int_equal(acctsec_frame_finish(&b->f), -EMSGSIZE);
}

/* ---- header -------------------------------------------------------------- */

/* A length over ACCTSEC_BODY_MAX: -EMSGSIZE (h says 16 bytes again afterwards). */
static void check_header_too_long(uint8_t *h, uint8_t *type, uint32_t *len) {
        put_be32(h + 4, ACCTSEC_BODY_MAX + 1);
        assert_int_equal(acctsec_header_parse(h, type, len), -EMSGSIZE);
        put_be32(h + 4, ACCTSEC_FRAME_MAX);
        assert_int_equal(acctsec_header_parse(h, type, len), -EMSGSIZE);
        put_be32(h + 4, UINT32_MAX);
        assert_int_equal(acctsec_header_parse(h, type, len), -EMSGSIZE);
        put_be32(h + 4, 0x80000000u);
        assert_int_equal(acctsec_header_parse(h, type, len), -EMSGSIZE);
        put_be32(h + 4, 16);
}

/* A version other than 1: -EPROTONOSUPPORT, checked before the length (h is back to version 1, 16 bytes). */
static void check_header_version(uint8_t *h, uint8_t *type, uint32_t *len) {
        h[2] = 0;
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTONOSUPPORT);
        h[2] = 2;
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTONOSUPPORT);
        h[2] = 0xff;
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTONOSUPPORT);
        put_be32(h + 4, UINT32_MAX); /* version is checked before length */
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTONOSUPPORT);
        h[2] = 1;
        put_be32(h + 4, 16);
}

/* A magic other than "AS": -EPROTO, checked first. */
static void check_header_magic(uint8_t *h, uint8_t *type, uint32_t *len) {
        h[0] = 'a';
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTO);
        h[0] = 'A';
        h[1] = 's';
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTO);
        h[1] = 'S';
        h[0] = 'S';
        h[1] = 'A';
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTO);
        h[2] = 7;
        put_be32(h + 4, UINT32_MAX);
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTO);
        memset(h, 0, ACCTSEC_HEADER_SIZE);
        assert_int_equal(acctsec_header_parse(h, type, len), -EPROTO);
}

static void test_header(void **state) {
        uint8_t h[ACCTSEC_HEADER_SIZE] = { 'A', 'S', 1, ACCTSEC_OP_STATUS, 0, 0, 1, 2 };
        uint8_t type = 0x77;
        uint32_t len = 0x77;

        assert_int_equal(acctsec_header_parse(h, &type, &len), 0);
        assert_int_equal(type, ACCTSEC_OP_STATUS);
        assert_int_equal(len, 0x102);

        /* the largest body */
        put_be32(h + 4, ACCTSEC_BODY_MAX);
        assert_int_equal(acctsec_header_parse(h, &type, &len), 0);
        assert_int_equal(len, ACCTSEC_BODY_MAX);
        /* any type is accepted here; the daemon decides */
        h[3] = 0;
        assert_int_equal(acctsec_header_parse(h, &type, &len), 0);
        assert_int_equal(type, 0);
        h[3] = 0xff;
        assert_int_equal(acctsec_header_parse(h, &type, &len), 0);
        assert_int_equal(type, 0xff);

        type = 0x77;
        len = 0x77;
        check_header_too_long(h, &type, &len);
        check_header_version(h, &type, &len);
        check_header_magic(h, &type, &len);

        /* nothing is returned on error */
        assert_int_equal(type, 0x77);
        assert_int_equal(len, 0x77);
}

/* ---- decoder errors ------------------------------------------------------ */

static void test_parse_errors(void **state) {
        static const struct {
                uint8_t body[16];
                size_t len;
        } bad[] = {
                { { 1 }, 1 },                                        /* truncated field header */
                { { 1, 0 }, 2 },                                     /* truncated field header */
                { { 1, 0, 1 }, 3 },                                  /* value missing */
                { { 1, 0, 5, 'a', 'b' }, 5 },                        /* value truncated */
                { { 1, 0xff, 0xff, 'a' }, 4 },                       /* length way beyond the body */
                { { 1, 0x01, 0x00, 'a' }, 4 },                       /* big-endian length */
                { { 1, 0, 1, 'a', 2 }, 5 },                          /* good field, then 1 byte */
                { { 1, 0, 1, 'a', 2, 0 }, 6 },                       /* good field, then 2 bytes */
                { { 1, 0, 1, 'a', 2, 0, 2, 'b' }, 8 },               /* good field, then a short one */
                { { 0, 0, 0 }, 3 },                                  /* tag 0 */
                { { 0, 0, 1, 'a' }, 4 },                             /* tag 0 */
                { { 1, 0, 1, 'a', 0, 0, 0 }, 7 },                    /* tag 0 later on */
                { { 1, 0, 0, 0, 0, 0 }, 6 },                         /* tag 0 later on */
        };
        struct bufs *b = *state;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                /* exactly len bytes, so that reading past them is caught by ASan/valgrind */
                uint8_t *p = malloc(bad[i].len);
                assert_non_null(p);
                memcpy(p, bad[i].body, bad[i].len);
                int r = acctsec_msg_parse(&b->m, ACCTSEC_REPLY_OK, p, bad[i].len);
                free(p);
                if (r != -EBADMSG)
                        fail_msg("case %zu: %d", i, r);
        }

        /* prefixes of a good body are good exactly at field boundaries */
        static const uint8_t good[] = { 1, 0, 2, 'h', 'i', 255, 0, 0, 3, 0, 1, 'x' };
        for (size_t n = 0; n <= sizeof(good); n++) {
                int want = (n == 0 || n == 5 || n == 8 || n == 12) ? 0 : -EBADMSG;
                assert_int_equal(acctsec_msg_parse(&b->m, 9, good, n), want);
        }
        assert_int_equal(b->m.nfields, 3);
        assert_int_equal(b->m.type, 9);
        assert_string_equal(acctsec_msg_str(&b->m, 1), "hi");
        assert_string_equal(acctsec_msg_str(&b->m, 255), "");
        assert_string_equal(acctsec_msg_str(&b->m, 3), "x");

        /* a body longer than the protocol allows */
        memset(b->body, 0, sizeof(b->body));
        assert_int_equal(acctsec_msg_parse(&b->m, 1, b->body, ACCTSEC_BODY_MAX + 1), -EMSGSIZE);
        assert_int_equal(acctsec_msg_parse(&b->m, 1, b->body, SIZE_MAX), -EMSGSIZE);
}

static void test_parse_max_field(void **state) {
        /* the wire allows a 65535-byte value, but not as a string */
        struct bufs *b = *state;
        const size_t n = ACCTSEC_BODY_MAX - 3;

        b->body[0] = ACCTSEC_TAG_MESSAGE;
        b->body[1] = (uint8_t) (n >> 8);
        b->body[2] = (uint8_t) n;
        memset(b->body + 3, 'm', n);
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_ERROR, b->body, n + 3), 0);
        assert_int_equal(b->m.nfields, 1);
        assert_int_equal(b->m.f[0].len, n);
        assert_false(acctsec_field_is_string(&b->m.f[0]));
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_MESSAGE));

        /* ACCTSEC_STR_MAX + 1 on the wire: not a string either */
        b->body[1] = (uint8_t) ((ACCTSEC_STR_MAX + 1) >> 8);
        b->body[2] = (uint8_t) (ACCTSEC_STR_MAX + 1);
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_ERROR, b->body, ACCTSEC_STR_MAX + 4), 0);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_MESSAGE));
        b->body[1] = (uint8_t) (ACCTSEC_STR_MAX >> 8);
        b->body[2] = (uint8_t) ACCTSEC_STR_MAX;
        assert_int_equal(acctsec_msg_parse(&b->m, ACCTSEC_REPLY_ERROR, b->body, ACCTSEC_STR_MAX + 3), 0);
        assert_non_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_MESSAGE));
        assert_int_equal(strlen(acctsec_msg_str(&b->m, ACCTSEC_TAG_MESSAGE)), ACCTSEC_STR_MAX);
}

/* ---- string and integer accessors ---------------------------------------- */

static void test_msg_str_control(void **state) {
        static const char *const bad[] = {
                "a\nb", "\t", "tab\there", "\r", "esc\x1b[31m", "del\x7f", "\x01", "bell\a", "\x1f",
        };
        static const char *const good[] = {
                " ", "~", "plain", "caf\xc3\xa9", "\x80\xff", "a b", "\x20\x7e",
        };
        struct bufs *b = *state;

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, bad[i]);
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_SERVICE, "sshd");
                finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
                assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));
                assert_false(acctsec_field_is_string(&b->m.f[0]));
                assert_string_equal(acctsec_msg_str(&b->m, ACCTSEC_TAG_SERVICE), "sshd");
        }
        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, good[i]);
                finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
                assert_string_equal(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER), good[i]);
                assert_true(acctsec_field_is_string(&b->m.f[0]));
        }

        /* an embedded NUL (only possible on the wire) is a control character */
        static const uint8_t nul[] = { ACCTSEC_TAG_USER, 0, 5, 'r', 'o', 0, 'o', 't' };
        assert_int_equal(acctsec_msg_parse(&b->m, 1, nul, sizeof(nul)), 0);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));
        static const uint8_t trailing_nul[] = { ACCTSEC_TAG_USER, 0, 5, 'r', 'o', 'o', 't', 0 };
        assert_int_equal(acctsec_msg_parse(&b->m, 1, trailing_nul, sizeof(trailing_nul)), 0);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));

        /* the first field with the tag decides, even when a later one is clean */
        static const uint8_t two[] = { ACCTSEC_TAG_USER, 0, 1, '\n', ACCTSEC_TAG_USER, 0, 1, 'x' };
        assert_int_equal(acctsec_msg_parse(&b->m, 1, two, sizeof(two)), 0);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));

        /* a u64 is usually not text */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_COUNT, 1);
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_COUNT));
        /* missing */
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));
}

static void test_msg_u64_errors(void **state) {
        struct bufs *b = *state;
        uint64_t v;

        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_FAILURES, "1234567");   /* 7 bytes */
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_DENY, "123456789");     /* 9 bytes */
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_UID, "");               /* 0 bytes */
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_COUNT, "\x01\x02\x03\x04\x05\x06\x07\x08");
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_LAST_SUCCESS, "1");
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_LAST_SUCCESS, 5);
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_OK);

        v = 77;
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_FAILURES, &v), -EBADMSG);
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_DENY, &v), -EBADMSG);
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_UID, &v), -EBADMSG);
        /* the first field with the tag decides */
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_LAST_SUCCESS, &v), -EBADMSG);
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_LOCKED_UNTIL, &v), -ENOENT);
        assert_int_equal(acctsec_msg_u64(&b->m, 0, &v), -ENOENT);
        assert_true(v == 77);
        /* any 8 bytes are a u64 */
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_COUNT, &v), 0);
        assert_true(v == UINT64_C(0x0102030405060708));

        assert_int_equal(acctsec_field_u64(&b->m.f[0], &v), -EBADMSG);
        assert_int_equal(acctsec_field_u64(&b->m.f[5], &v), 0);
        assert_true(v == 5);

        /* high bytes are not sign-extended */
        static const uint8_t hi[] = { ACCTSEC_TAG_COUNT, 0, 8, 0xff, 0x80, 0x7f, 0x00, 0xfe, 0x81, 0x01, 0x90 };
        assert_int_equal(acctsec_msg_parse(&b->m, 1, hi, sizeof(hi)), 0);
        assert_int_equal(acctsec_msg_u64(&b->m, ACCTSEC_TAG_COUNT, &v), 0);
        assert_true(v == UINT64_C(0xff807f00fe810190));
}

/* ---- parsing in place, as acctsec_call() does ---------------------------- */

static void check_in_place(struct bufs *b) {
        uint8_t type;
        uint32_t len;

        assert_int_equal(acctsec_frame_finish(&b->f), 0);
        assert_int_equal(acctsec_header_parse(b->f.buf, &type, &len), 0);

        /* from a separate buffer */
        memcpy(b->body, b->f.buf + ACCTSEC_HEADER_SIZE, len);
        assert_int_equal(acctsec_msg_parse(&b->m, type, b->body, len), 0);
        /* the separate buffer is left alone */
        assert_memory_equal(b->body, b->f.buf + ACCTSEC_HEADER_SIZE, len);

        /* from the message's own arena */
        memset(b->m2.arena, 0x5A, sizeof(b->m2.arena));
        memcpy(b->m2.arena, b->f.buf + ACCTSEC_HEADER_SIZE, len);
        assert_int_equal(acctsec_msg_parse(&b->m2, type, (const uint8_t *) b->m2.arena, len), 0);

        assert_same_msg(&b->m, &b->m2);
}

/* Mixed sizes: 200 strings of 0 to 299 bytes, 200 short ones and 200 numbers; s is scratch. */
static void in_place_mixed_sizes(struct bufs *b, char *s) {
        char t[64];

        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (unsigned i = 0; i < 200; i++) {
                size_t n = (i * 37) % 300;
                for (size_t j = 0; j < n; j++)
                        s[j] = (char) ('a' + (i + j) % 26);
                s[n] = '\0';
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, s);
                snprintf(t, sizeof(t), "uid-%u", i);
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_ROLE, t);
                acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_UID, (uint64_t) i * 0x0101010101010101ULL);
        }
        check_in_place(b);
        assert_int_equal(b->m2.nfields, 600);
}

/* A full 64 KiB frame of large strings; s is scratch (ACCTSEC_STR_MAX + 1 bytes). */
static void in_place_full_frame(struct bufs *b, char *s) {
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        s[ACCTSEC_STR_MAX] = '\0';
        for (unsigned i = 0; i < 15; i++) {
                memset(s, 'A' + (int) i, ACCTSEC_STR_MAX);
                acctsec_frame_add_str(&b->f, (uint8_t) (i + 1), s);
        }
        s[ACCTSEC_FRAME_MAX - b->f.len - 3] = '\0';
        acctsec_frame_add_str(&b->f, 100, s);
        assert_int_equal(b->f.len, ACCTSEC_FRAME_MAX);
        check_in_place(b);
        for (unsigned i = 0; i < 15; i++) {
                const char *x = acctsec_msg_str(&b->m2, (uint8_t) (i + 1));
                assert_non_null(x);
                assert_int_equal(strlen(x), ACCTSEC_STR_MAX);
                assert_int_equal(x[0], 'A' + (int) i);
                assert_int_equal(x[ACCTSEC_STR_MAX - 1], 'A' + (int) i);
        }
}

/* A wire-only 65525-byte field, longer than any string the encoder takes, written
 * into the frame in_place_full_frame() left in b->f. */
static void in_place_wire_only_field(struct bufs *b) {
        const size_t n = ACCTSEC_BODY_MAX - 3;
        b->f.buf[ACCTSEC_HEADER_SIZE] = 7;
        b->f.buf[ACCTSEC_HEADER_SIZE + 1] = (uint8_t) (n >> 8);
        b->f.buf[ACCTSEC_HEADER_SIZE + 2] = (uint8_t) n;
        for (size_t j = 0; j < n; j++)
                b->f.buf[ACCTSEC_HEADER_SIZE + 3 + j] = (uint8_t) (j * 7);
        b->f.len = ACCTSEC_FRAME_MAX;
        check_in_place(b);
        assert_int_equal(b->m2.f[0].len, n);
}

static void test_in_place(void **state) {
        struct bufs *b = *state;
        _cleanup_free_ char *s = malloc(ACCTSEC_STR_MAX + 1);

        assert_non_null(s);

        /* a typical reply */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_DECISION, ACCTSEC_DENY_LOCKED);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_FAILURES, 4);
        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_LOCKED_UNTIL, ACCTSEC_LOCKED_FOREVER);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, "locked");
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_SOURCE, "");
        check_in_place(b);
        uint64_t v = 0;
        assert_int_equal(acctsec_msg_u64(&b->m2, ACCTSEC_TAG_LOCKED_UNTIL, &v), 0);
        assert_true(v == ACCTSEC_LOCKED_FOREVER);
        assert_string_equal(acctsec_msg_str(&b->m2, ACCTSEC_TAG_MESSAGE), "locked");

        /* the most fields, all empty: each copy moves only a little */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (unsigned i = 0; i < ACCTSEC_FIELDS_MAX; i++)
                acctsec_frame_add_str(&b->f, (uint8_t) (i % 255 + 1), "");
        check_in_place(b);
        assert_int_equal(b->m2.nfields, ACCTSEC_FIELDS_MAX);

        /* the most fields, one byte each */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_OK);
        for (unsigned i = 0; i < ACCTSEC_FIELDS_MAX; i++) {
                char one[2] = { (char) ('!' + i % 90), '\0' };
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_RECORD, one);
        }
        check_in_place(b);

        in_place_mixed_sizes(b, s);
        in_place_full_frame(b, s);
        in_place_wire_only_field(b);
}

/* ---- wiping, names, replies ---------------------------------------------- */

static bool all_zero(const void *p, size_t n) {
        const uint8_t *q = p;
        for (size_t i = 0; i < n; i++)
                if (q[i])
                        return false;
        return true;
}

static void test_msg_wipe(void **state) {
        struct bufs *b = *state;

        acctsec_frame_init(&b->f, ACCTSEC_OP_AUTHFAIL);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_USER, "alice");
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_CONF, "hunter2");
        finish_and_parse(&b->f, &b->m, ACCTSEC_OP_AUTHFAIL);
        size_t used = b->m.used;
        size_t flen = b->f.len;
        assert_int_equal(used, 6 + 8);

        acctsec_msg_wipe(&b->m);
        assert_int_equal(b->m.used, 0);
        assert_int_equal(b->m.nfields, 0);
        assert_true(all_zero(b->m.arena, used));
        assert_null(acctsec_msg_str(&b->m, ACCTSEC_TAG_USER));

        acctsec_frame_wipe(&b->f);
        assert_int_equal(b->f.len, 0);
        assert_true(all_zero(b->f.buf, flen));
}

static void test_op_name(void **state) {
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_PING), "ping");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_PREAUTH), "preauth");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_AUTHFAIL), "authfail");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_AUTHSUCC), "authsucc");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_ACCOUNT), "account");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_STATUS), "status");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_LOCKOUT_SHOW), "lockout-show");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_LOCKOUT_RESET), "lockout-reset");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_MFA_BEGIN), "mfa-begin");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_MFA_VERIFY), "mfa-verify");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_TOTP_ENROLL), "totp-enroll");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_TOTP_CONFIRM), "totp-confirm");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_MFA_STATUS), "mfa-status");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_MFA_RESET), "mfa-reset");
        assert_string_equal(acctsec_op_name(0), "unknown");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_BACKUP_GENERATE), "backup-generate");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_BACKUP_STATUS), "backup-status");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_CODE_SEND), "code-send");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_EMAIL_SET), "email-set");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_MFA_DISABLE), "mfa-disable");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_DISABLE_CODE), "disable-code");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_ACCOUNT_DISABLE), "account-disable");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_PASSWORD_COMMIT), "password-commit");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_PASSWORD_CHECK), "password-check");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_RESET_PASSWORD), "reset-password");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_TOKEN_AUTH), "token-auth");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_ALLOWLIST_LIST), "allowlist-list");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_SESSION_OPEN), "session-open");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_SESSION_TERMINATE), "session-terminate");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_LOG_EXPORT), "log-export");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_NOTIFY_SET), "notify-set");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_LOG_SHOW), "log-show");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_RELOAD), "reload");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_FLEET_STATUS), "fleet-status");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_FLEET_KEY_ROTATE), "fleet-key-rotate");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_PHONE_SET), "phone-set");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_DEVICE_REVOKE), "device-revoke");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_HOST_LIST), "host-list");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_RECOVERY_VERIFY), "recovery-verify");
        assert_string_equal(acctsec_op_name(ACCTSEC_OP_HOST_LIST + 1), "unknown");
        assert_string_equal(acctsec_op_name(ACCTSEC_REPLY_OK), "unknown");
        assert_string_equal(acctsec_op_name(255), "unknown");
}

static void test_reply_errno(void **state) {
        static const struct {
                uint8_t type;
                bool has_errno;
                uint64_t e;
                int want;
        } cases[] = {
                { ACCTSEC_REPLY_OK, false, 0, 0 },
                { ACCTSEC_REPLY_OK, true, 13, 0 },
                { ACCTSEC_REPLY_ERROR, true, EACCES, EACCES },
                { ACCTSEC_REPLY_ERROR, true, 1, 1 },
                { ACCTSEC_REPLY_ERROR, true, 4095, 4095 },
                { ACCTSEC_REPLY_ERROR, true, 4096, EPROTO },
                { ACCTSEC_REPLY_ERROR, true, 0, EPROTO },
                { ACCTSEC_REPLY_ERROR, true, UINT64_MAX, EPROTO },
                { ACCTSEC_REPLY_ERROR, true, UINT64_C(0x100000005), EPROTO },
                { ACCTSEC_REPLY_ERROR, false, 0, EPROTO },
                { 0x42, true, ENOENT, ENOENT },
        };
        struct bufs *b = *state;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                acctsec_frame_init(&b->f, cases[i].type);
                acctsec_frame_add_str(&b->f, ACCTSEC_TAG_MESSAGE, "why");
                if (cases[i].has_errno)
                        acctsec_frame_add_u64(&b->f, ACCTSEC_TAG_ERRNO, cases[i].e);
                finish_and_parse(&b->f, &b->m, cases[i].type);
                assert_int_equal(acctsec_reply_errno(&b->m), cases[i].want);
        }
        /* an errno field of the wrong size */
        acctsec_frame_init(&b->f, ACCTSEC_REPLY_ERROR);
        acctsec_frame_add_str(&b->f, ACCTSEC_TAG_ERRNO, "13");
        finish_and_parse(&b->f, &b->m, ACCTSEC_REPLY_ERROR);
        assert_int_equal(acctsec_reply_errno(&b->m), EPROTO);
}

/* ---- secret.h ------------------------------------------------------------ */

static void test_equal_ct(void **state) {
        uint8_t a[64], c[64];

        for (size_t i = 0; i < sizeof(a); i++)
                a[i] = c[i] = (uint8_t) (i * 13 + 1);
        assert_true(acctsec_equal_ct(a, c, sizeof(a)));
        assert_true(acctsec_equal_ct(a, a, sizeof(a)));
        assert_true(acctsec_equal_ct(a, c, 0));
        assert_true(acctsec_equal_ct("abc", "abd", 2));
        assert_false(acctsec_equal_ct("abc", "abd", 3));

        for (size_t i = 0; i < sizeof(a); i++) {
                for (unsigned bit = 0; bit < 8; bit++) {
                        c[i] ^= (uint8_t) (1u << bit);
                        assert_false(acctsec_equal_ct(a, c, sizeof(a)));
                        assert_false(acctsec_equal_ct(c, a, sizeof(a)));
                        /* only the first i bytes: still equal */
                        assert_true(acctsec_equal_ct(a, c, i));
                        c[i] ^= (uint8_t) (1u << bit);
                }
        }
        assert_true(acctsec_equal_ct(a, c, sizeof(a)));
        /* not a lexical comparison: 0x00 vs 0xff either way round */
        assert_false(acctsec_equal_ct("\x00", "\xff", 1));
        assert_false(acctsec_equal_ct("\xff", "\x00", 1));
}

static void test_wipe(void **state) {
        uint8_t buf[100];

        memset(buf, 0xCC, sizeof(buf));
        acctsec_wipe(buf + 10, 50);
        assert_true(all_zero(buf + 10, 50));
        for (size_t i = 0; i < 10; i++)
                assert_int_equal(buf[i], 0xCC);
        for (size_t i = 60; i < sizeof(buf); i++)
                assert_int_equal(buf[i], 0xCC);

        acctsec_wipe(buf, 0); /* nothing */
        assert_int_equal(buf[0], 0xCC);
        acctsec_wipe(NULL, 0);
        acctsec_wipe(NULL, 10); /* NULL is ignored */
        acctsec_wipe(buf, sizeof(buf));
        assert_true(all_zero(buf, sizeof(buf)));

        /* erase_and_free: NULL is fine; a string is wiped and freed (ASan/valgrind check the free) */
        acctsec_erase_and_free(NULL);
        acctsec_erase_and_free(strdup("hunter2"));
        acctsec_erase_and_free(strdup(""));
        {
                _cleanup_erase_ char *p = strdup("correct horse");
                assert_non_null(p);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                bufs_test(test_frame_layout),
                bufs_test(test_empty_frame),
                bufs_test(test_round_trip),
                bufs_test(test_u64_values),
                bufs_test(test_many_fields),
                bufs_test(test_duplicate_tags),
                bufs_test(test_str_max),
                bufs_test(test_str_null),
                bufs_test(test_frame_overflow),
                cmocka_unit_test(test_header),
                bufs_test(test_parse_errors),
                bufs_test(test_parse_max_field),
                bufs_test(test_msg_str_control),
                bufs_test(test_msg_u64_errors),
                bufs_test(test_in_place),
                bufs_test(test_msg_wipe),
                cmocka_unit_test(test_op_name),
                bufs_test(test_reply_errno),
                cmocka_unit_test(test_equal_ct),
                cmocka_unit_test(test_wipe),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
