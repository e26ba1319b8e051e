/*
 * The join handshake's wire format (join_wire.h).
 */
#include "join_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum { JOIN_MAGIC = 0x524a4f49 /* "RJOI" */, JOIN_VERSION = 1 };

/* A cursor over a buffer; `bad` sticks once a field does not fit. */
typedef struct cursor {
    uint8_t *out;         /* encoding */
    const uint8_t *in;    /* decoding */
    size_t len, at;
    bool bad;
} cursor_t;

static bool room(cursor_t *c, size_t n)
{
    c->bad = c->bad || c->len - c->at < n;
    return !c->bad;
}

/* One field of n bytes: copied in or out, numbers as big-endian. */
static void field(cursor_t *c, void *value, size_t n)
{
    if (!room(c, n)) {
        return;
    }
    if (c->out != NULL) {
        memcpy(c->out + c->at, value, n);
    } else {
        memcpy(value, c->in + c->at, n);
    }
    c->at += n;
}

static void number(cursor_t *c, uint64_t *value, size_t n)
{
    uint8_t bytes[8];

    if (c->out != NULL) {
        for (size_t i = 0; i < n; i++) {
            bytes[i] = (uint8_t)(*value >> (8 * (n - 1 - i)));
        }
    }
    field(c, bytes, n);
    if (c->out == NULL && !c->bad) {
        *value = 0;
        for (size_t i = 0; i < n; i++) {
            *value = *value << 8 | bytes[i];
        }
    }
}

static void u32(cursor_t *c, uint32_t *value)
{
    uint64_t wide = *value;

    number(c, &wide, 4);
    *value = (uint32_t)wide;
}

/* A string in a field of n bytes: it must hold its NUL, both ways. */
static void string(cursor_t *c, char *s, size_t n)
{
    if (c->out != NULL && strnlen(s, n) == n) {
        c->bad = true;
        return;
    }
    field(c, s, n);
    if (c->out == NULL && !c->bad && strnlen(s, n) == n) {
        c->bad = true;
    }
}

/* The same walk both ways, so that encoder and decoder cannot disagree. */
static void walk(cursor_t *c, rdmc_join_msg_t *m)
{
    uint32_t magic = JOIN_MAGIC, version = JOIN_VERSION, type = (uint32_t)m->type;

    u32(c, &magic);
    u32(c, &version);
    u32(c, &type);
    if (c->out == NULL && !c->bad && (magic != JOIN_MAGIC || type != (uint32_t)m->type)) {
        c->bad = true;
    }
    if (c->bad || version != JOIN_VERSION) {
        return;
    }
    switch (m->type) {
    case RDMC_JOIN_CHALLENGE:
        field(c, m->nonce, sizeof(m->nonce));
        string(c, m->group, sizeof(m->group));
        break;
    case RDMC_JOIN_RESPONSE:
        field(c, m->nonce, sizeof(m->nonce));
        field(c, m->proof, sizeof(m->proof));
        string(c, m->settings, sizeof(m->settings));
        break;
    case RDMC_JOIN_VERDICT:
        u32(c, &m->code);
        field(c, m->proof, sizeof(m->proof));
        number(c, &m->view_id, 8);
        u32(c, &m->wait_ms);
        string(c, m->port, sizeof(m->port));
        string(c, m->settings, sizeof(m->settings));
        break;
    case RDMC_JOIN_GO:
        break;
    default:
        c->bad = true;
    }
}

size_t rdmc_join_encode(const rdmc_join_msg_t *msg, uint8_t *buf, size_t cap)
{
    rdmc_join_msg_t copy = *msg;
    cursor_t c = { .out = buf, .len = cap };

    walk(&c, &copy);
    return c.bad ? 0 : c.at;
}

int rdmc_join_decode(const uint8_t *buf, size_t len, rdmc_join_type_t expect,
                     rdmc_join_msg_t *msg_p)
{
    rdmc_join_msg_t msg;
    cursor_t c = { .in = buf, .len = len };
    uint32_t version = 0;

    memset(&msg, 0, sizeof(msg));
    msg.type = expect;
    /* The version is read on its own first: another version is told
     * apart from garbage. */
    if (len >= 8) {
        cursor_t peek = { .in = buf + 4, .len = 4 };
        u32(&peek, &version);
    }
    walk(&c, &msg);
    if (len >= 8 && version != JOIN_VERSION && !c.bad) {
        return -EPROTO;
    }
    if (c.bad || c.at != len) {
        return -EBADMSG;
    }
    *msg_p = msg;
    return 0;
}
