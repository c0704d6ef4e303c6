/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the wire protocol: the input is a frame as read from
 * the socket (8-byte header, then the body).  Built and run by
 * tests/fuzz/run.sh.  Beyond the sanitizers, it checks invariants (parsing in
 * place equals parsing from a copy; re-encoding reproduces the body) and
 * abort()s when one breaks.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct acctsec_msg m, m2, m3;
static struct acctsec_frame f;

static void check_msg(const struct acctsec_msg *msg) {
        if (msg->nfields > ACCTSEC_FIELDS_MAX || msg->used > sizeof(msg->arena))
                abort();
        for (size_t i = 0; i < msg->nfields; i++) {
                const struct acctsec_field *fl = &msg->f[i];
                uint64_t v;

                if (fl->tag == 0)
                        abort();
                if (fl->val < msg->arena || fl->val + fl->len >= msg->arena + msg->used ||
                    msg->used > sizeof(msg->arena))
                        abort();
                if (fl->val[fl->len] != '\0')
                        abort();
                if ((acctsec_field_u64(fl, &v) == 0) != (fl->len == 8))
                        abort();
                if (acctsec_field_is_string(fl) && strlen(fl->val) != fl->len)
                        abort();
        }
        /* every tag: the accessors agree with the first field that has it */
        const struct acctsec_field *firsts[256] = { NULL };
        for (size_t i = msg->nfields; i-- > 0;)
                firsts[msg->f[i].tag] = &msg->f[i];
        for (unsigned tag = 0; tag < 256; tag++) {
                const struct acctsec_field *first = firsts[tag];
                uint64_t v = 0;
                const char *s = acctsec_msg_str(msg, (uint8_t) tag);
                int r = acctsec_msg_u64(msg, (uint8_t) tag, &v);
                if (!first) {
                        if (s || r != -ENOENT)
                                abort();
                        continue;
                }
                if (s != (acctsec_field_is_string(first) ? first->val : NULL))
                        abort();
                if (s) {
                        for (const char *p = s; *p; p++)
                                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                                        abort();
                        if (strlen(s) > ACCTSEC_STR_MAX)
                                abort();
                }
                if (r != (first->len == 8 ? 0 : -EBADMSG))
                        abort();
        }
}

static bool same_msg(const struct acctsec_msg *a, const struct acctsec_msg *b) {
        if (a->type != b->type || a->nfields != b->nfields || a->used != b->used)
                return false;
        for (size_t i = 0; i < a->nfields; i++)
                if (a->f[i].tag != b->f[i].tag || a->f[i].len != b->f[i].len ||
                    memcmp(a->f[i].val, b->f[i].val, a->f[i].len) != 0)
                        return false;
        return true;
}

/* Encode the parsed fields again; when each is a string or 8 bytes long, the
 * encoder must reproduce the body byte for byte. */
static void reencode(const struct acctsec_msg *msg, const uint8_t *body, size_t len) {
        acctsec_frame_init(&f, msg->type);
        for (size_t i = 0; i < msg->nfields; i++) {
                const struct acctsec_field *fl = &msg->f[i];
                uint64_t v;
                if (acctsec_field_u64(fl, &v) == 0)
                        acctsec_frame_add_u64(&f, fl->tag, v);
                else if (acctsec_field_is_string(fl))
                        acctsec_frame_add_str(&f, fl->tag, fl->val);
                else
                        return;
        }
        if (acctsec_frame_finish(&f) != 0)
                abort();
        if (f.len != ACCTSEC_HEADER_SIZE + len || memcmp(f.buf + ACCTSEC_HEADER_SIZE, body, len) != 0)
                abort();

        uint8_t type;
        uint32_t blen;
        if (acctsec_header_parse(f.buf, &type, &blen) != 0 || type != msg->type || blen != len)
                abort();
        if (acctsec_msg_parse(&m3, type, f.buf + ACCTSEC_HEADER_SIZE, blen) != 0 || !same_msg(msg, &m3))
                abort();
}

/* Any bytes after the header as a body, whatever the header says. */
static void parse_any_body(const uint8_t *data, size_t size) {
        int r = acctsec_msg_parse(&m, data[3], data + ACCTSEC_HEADER_SIZE, size - ACCTSEC_HEADER_SIZE);
        if (r != 0 && r != -EBADMSG && r != -EMSGSIZE)
                abort();
        if ((r == -EMSGSIZE) != (size - ACCTSEC_HEADER_SIZE > ACCTSEC_BODY_MAX))
                abort();
        if (r == 0)
                check_msg(&m);
}

/* The header: false when it is (rightly) refused, else true with its type and body length. */
static bool parse_header(const uint8_t *data, uint8_t *type, uint32_t *len) {
        int r = acctsec_header_parse(data, type, len);
        if (r == -EPROTO) {
                if (data[0] == 'A' && data[1] == 'S')
                        abort();
                return false;
        }
        if (r == -EPROTONOSUPPORT) {
                if (data[2] == ACCTSEC_PROTO_VERSION)
                        abort();
                return false;
        }
        if (r == -EMSGSIZE)
                return false;
        if (r != 0 || *len > ACCTSEC_BODY_MAX || *type != data[3])
                abort();
        return true;
}

/* The len bytes after the header parsed from a copy and in place: the two must agree. */
static void parse_body(const uint8_t *data, uint8_t type, uint32_t len) {
        int r;

        /* from an exactly sized copy, so that ASan sees any over-read */
        uint8_t *body = malloc(len ? len : 1);
        if (!body)
                return;
        memcpy(body, data + ACCTSEC_HEADER_SIZE, len);
        r = acctsec_msg_parse(&m, type, body, len);
        if (r != 0 && r != -EBADMSG)
                abort();

        /* in place, as acctsec_call() does */
        memcpy(m2.arena, data + ACCTSEC_HEADER_SIZE, len);
        int r2 = acctsec_msg_parse(&m2, type, (const uint8_t *) m2.arena, len);
        if (r2 != r)
                abort();
        if (r == 0) {
                if (memcmp(body, data + ACCTSEC_HEADER_SIZE, len) != 0) /* input untouched */
                        abort();
                check_msg(&m);
                check_msg(&m2);
                if (!same_msg(&m, &m2))
                        abort();
                reencode(&m, body, len);
                acctsec_msg_wipe(&m2);
                if (m2.nfields != 0 || m2.used != 0)
                        abort();
        }
        free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t type = 0;
        uint32_t len = 0;

        if (size < ACCTSEC_HEADER_SIZE)
                return 0;
        parse_any_body(data, size);
        if (!parse_header(data, &type, &len))
                return 0;
        if (size - ACCTSEC_HEADER_SIZE < len)
                len = (uint32_t) (size - ACCTSEC_HEADER_SIZE); /* a short read: parse what came */
        parse_body(data, type, len);
        return 0;
}
