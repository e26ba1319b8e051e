/*
 * libFuzzer target: the join handshake's wire format (join_wire.c).
 *
 * The input is one message off the socket, decoded as each of the four
 * types.  Invariants (abort() when broken):
 *   - a failed decode leaves the output untouched;
 *   - what decodes holds NUL-terminated strings, encodes again to exactly
 *     the input's bytes (every field has a fixed size and the decoder takes
 *     the whole input), and decodes from those to an equal message;
 *   - no input decodes as two types (the type is on the wire).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "membership/core/join_wire.h"

static const rdmc_join_type_t types[] = { RDMC_JOIN_CHALLENGE, RDMC_JOIN_RESPONSE,
                                          RDMC_JOIN_VERDICT, RDMC_JOIN_GO };

static void check(int fact)
{
    if (!fact) {
        abort();
    }
}

static int terminated(const char *s, size_t field)
{
    return strnlen(s, field) < field;
}

static int same_msg(const rdmc_join_msg_t *a, const rdmc_join_msg_t *b)
{
    return a->type == b->type && memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0 &&
           memcmp(a->proof, b->proof, sizeof(a->proof)) == 0 &&
           memcmp(a->group, b->group, sizeof(a->group)) == 0 &&
           memcmp(a->settings, b->settings, sizeof(a->settings)) == 0 && a->code == b->code &&
           a->view_id == b->view_id && a->wait_ms == b->wait_ms &&
           memcmp(a->port, b->port, sizeof(a->port)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int decoded = 0;

    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        rdmc_join_msg_t msg, before, again;
        uint8_t buf[RDMC_JOIN_MSG_MAX];
        size_t len;

        memset(&msg, 0x5a, sizeof(msg));
        memcpy(&before, &msg, sizeof(msg));
        if (rdmc_join_decode(data, size, types[t], &msg) != 0) {
            check(memcmp(&msg, &before, sizeof(msg)) == 0);
            continue;
        }
        decoded++;
        check(msg.type == types[t]);
        check(terminated(msg.group, sizeof(msg.group)) &&
              terminated(msg.settings, sizeof(msg.settings)) &&
              terminated(msg.port, sizeof(msg.port)));
        len = rdmc_join_encode(&msg, buf, sizeof(buf));
        check(len == size && memcmp(buf, data, size) == 0);
        check(rdmc_join_decode(buf, len, types[t], &again) == 0 && same_msg(&msg, &again));
    }
    check(decoded <= 1);
    return 0;
}

/* --write-seeds DIR: one real message of each type. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = fuzz_seeds_dir(*argc, *argv);
    rdmc_join_msg_t m[4] = { { .type = RDMC_JOIN_CHALLENGE }, { .type = RDMC_JOIN_RESPONSE },
                             { .type = RDMC_JOIN_VERDICT, .code = RDMC_JOIN_ADMITTED,
                               .view_id = 7, .wait_ms = 65000 },
                             { .type = RDMC_JOIN_GO } };
    static const char *names[4] = { "challenge", "response", "verdict", "go" };
    uint8_t buf[RDMC_JOIN_MSG_MAX];

    if (dir == NULL) {
        return 0;
    }
    memset(m[0].nonce, 0x11, sizeof(m[0].nonce));
    strcpy(m[0].group, "replicas");
    memset(m[1].nonce, 0x22, sizeof(m[1].nonce));
    memset(m[1].proof, 0x33, sizeof(m[1].proof));
    strcpy(m[1].settings, FUZZ_SETTINGS);
    memset(m[2].proof, 0x44, sizeof(m[2].proof));
    strcpy(m[2].port, "1536360448.0:2105442305");
    strcpy(m[2].settings, FUZZ_SETTINGS);
    for (int i = 0; i < 4; i++) {
        size_t len = rdmc_join_encode(&m[i], buf, sizeof(buf));
        check(len > 0);
        fuzz_seed_write(dir, names[i], buf, len);
    }
    exit(0);
}
