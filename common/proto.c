/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "proto.h"
#include "secret.h"

static const uint8_t magic[2] = { 'A', 'S' };

static void put_u32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

static uint32_t get_u32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

void acctsec_frame_init(struct acctsec_frame *f, uint8_t type) {
        f->len = ACCTSEC_HEADER_SIZE;
        f->error = 0;
        memcpy(f->buf, magic, 2);
        f->buf[2] = ACCTSEC_PROTO_VERSION;
        f->buf[3] = type;
}

static void add_raw(struct acctsec_frame *f, uint8_t tag, const void *v, size_t n) {
        if (f->error)
                return;
        if (n > UINT16_MAX || f->len + 3 + n > ACCTSEC_FRAME_MAX) {
                f->error = -EMSGSIZE;
                return;
        }
        f->buf[f->len] = tag;
        f->buf[f->len + 1] = (uint8_t) (n >> 8);
        f->buf[f->len + 2] = (uint8_t) n;
        memcpy(f->buf + f->len + 3, v, n);
        f->len += 3 + n;
}

void acctsec_frame_add_str(struct acctsec_frame *f, uint8_t tag, const char *s) {
        if (!s) {
                if (!f->error)
                        f->error = -EINVAL;
                return;
        }
        size_t n = strlen(s);
        if (n > ACCTSEC_STR_MAX) {
                if (!f->error)
                        f->error = -EMSGSIZE;
                return;
        }
        add_raw(f, tag, s, n);
}

void acctsec_frame_add_str_opt(struct acctsec_frame *f, uint8_t tag, const char *s) {
        if (s)
                acctsec_frame_add_str(f, tag, s);
}

void acctsec_frame_add_u64(struct acctsec_frame *f, uint8_t tag, uint64_t v) {
        uint8_t b[8];
        for (int i = 7; i >= 0; i--, v >>= 8)
                b[i] = (uint8_t) v;
        add_raw(f, tag, b, sizeof(b));
}

int acctsec_frame_finish(struct acctsec_frame *f) {
        if (f->error)
                return f->error;
        put_u32(f->buf + 4, (uint32_t) (f->len - ACCTSEC_HEADER_SIZE));
        return 0;
}

int acctsec_header_parse(const uint8_t hdr[ACCTSEC_HEADER_SIZE], uint8_t *ret_type, uint32_t *ret_len) {
        if (memcmp(hdr, magic, 2) != 0)
                return -EPROTO;
        if (hdr[2] != ACCTSEC_PROTO_VERSION)
                return -EPROTONOSUPPORT;
        uint32_t len = get_u32(hdr + 4);
        if (len > ACCTSEC_BODY_MAX)
                return -EMSGSIZE;
        *ret_type = hdr[3];
        *ret_len = len;
        return 0;
}

int acctsec_msg_parse(struct acctsec_msg *m, uint8_t type, const uint8_t *body, size_t len) {
        if (len > ACCTSEC_BODY_MAX)
                return -EMSGSIZE;
        m->type = type;
        m->nfields = 0;
        m->used = 0;
        for (size_t pos = 0; pos < len;) {
                if (len - pos < 3 || m->nfields >= ACCTSEC_FIELDS_MAX)
                        return -EBADMSG;
                uint8_t tag = body[pos];
                uint16_t n = (uint16_t) (body[pos + 1] << 8 | body[pos + 2]);
                pos += 3;
                if (n > len - pos || tag == 0)
                        return -EBADMSG;
                /* Values are copied NUL-terminated into the arena.  The body may
                 * itself live in the arena: each copy lands at least two bytes
                 * before its source, so memmove parses it in place. */
                char *dst = m->arena + m->used;
                memmove(dst, body + pos, n);
                dst[n] = '\0';
                m->used += (size_t) n + 1;
                m->f[m->nfields++] = (struct acctsec_field){ .tag = tag, .len = n, .val = dst };
                pos += n;
        }
        return 0;
}

bool acctsec_field_is_string(const struct acctsec_field *f) {
        for (size_t i = 0; i < f->len; i++) {
                unsigned char c = (unsigned char) f->val[i];
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return f->len <= ACCTSEC_STR_MAX;
}

const char *acctsec_msg_str(const struct acctsec_msg *m, uint8_t tag) {
        for (size_t i = 0; i < m->nfields; i++)
                if (m->f[i].tag == tag)
                        return acctsec_field_is_string(&m->f[i]) ? m->f[i].val : NULL;
        return NULL;
}

int acctsec_field_u64(const struct acctsec_field *f, uint64_t *ret) {
        if (f->len != 8)
                return -EBADMSG;
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | (uint8_t) f->val[i];
        *ret = v;
        return 0;
}

int acctsec_msg_u64(const struct acctsec_msg *m, uint8_t tag, uint64_t *ret) {
        for (size_t i = 0; i < m->nfields; i++)
                if (m->f[i].tag == tag)
                        return acctsec_field_u64(&m->f[i], ret);
        return -ENOENT;
}

void acctsec_msg_wipe(struct acctsec_msg *m) {
        acctsec_wipe(m->arena, m->used);
        m->used = 0;
        m->nfields = 0;
}

void acctsec_frame_wipe(struct acctsec_frame *f) {
        acctsec_wipe(f->buf, f->len);
        f->len = 0;
}

const char *acctsec_op_name(uint8_t op) {
        static const char *const names[] = {
#define ACCTSEC_OP_NAME(name, number, wire) [ACCTSEC_OP_##name] = wire,
                ACCTSEC_OPS(ACCTSEC_OP_NAME)
#undef ACCTSEC_OP_NAME
        };
        if (op < ARRAY_SIZE(names) && names[op])
                return names[op];
        return "unknown";
}
