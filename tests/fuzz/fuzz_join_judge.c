/*
 * libFuzzer target: the leader's judgement of a joiner's RESPONSE
 * (membership/join_judge.c), for a fixed secret, group name and settings.
 *
 * The input is what came back on the socket, judged against two
 * challenges: the one the seeds answer, and another one (where an answer
 * captured for the first is a replay).  The oracle builds the right proof
 * on its own, from HMAC-SHA256 (RFC 4231-checked by test_join) and the
 * proof's layout, and aborts unless:
 *   - MALFORMED exactly when the input does not decode as a response;
 *   - ADMITTED only for a response carrying the right proof for this
 *     challenge and the group's settings, and always for one that does;
 *   - BAD_PROOF exactly for a wrong proof, BAD_SETTINGS for the right
 *     proof with other settings;
 *   - the decoded answer comes out on ADMITTED only.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "membership/join_judge.h"

static const char secret[] = "correct horse battery staple";
static const char group[] = "replicas";
static const uint8_t challenges[2][RDMC_NONCE_BYTES] = {
    { 0xc0, 0x01, 0xc0, 0x02, 0xc0, 0x03, 0xc0, 0x04, 0xc0, 0x05, 0xc0, 0x06, 0xc0, 0x07, 0xc0 },
    { 0xc1, 0x01, 0xc1, 0x02, 0xc1, 0x03, 0xc1, 0x04, 0xc1, 0x05, 0xc1, 0x06, 0xc1, 0x07, 0xc1 },
};

static void check(bool fact)
{
    if (!fact) {
        abort();
    }
}

static const rdmc_token_t *the_token(void)
{
    static rdmc_token_t token;

    token.len = strlen(secret);
    memcpy(token.bytes, secret, token.len);
    return &token;
}

/* HMAC(secret, "rdmc-join-joiner" NUL group NUL challenge answer). */
static void right_proof(const uint8_t *challenge, const uint8_t *answer,
                        uint8_t mac[RDMC_MAC_BYTES])
{
    static const char label[] = "rdmc-join-joiner";
    uint8_t data[sizeof(label) + sizeof(group) + 2 * RDMC_NONCE_BYTES];
    size_t n = 0;

    memcpy(data + n, label, sizeof(label));
    n += sizeof(label);
    memcpy(data + n, group, sizeof(group));
    n += sizeof(group);
    memcpy(data + n, challenge, RDMC_NONCE_BYTES);
    n += RDMC_NONCE_BYTES;
    memcpy(data + n, answer, RDMC_NONCE_BYTES);
    n += RDMC_NONCE_BYTES;
    rdmc_hmac_sha256((const uint8_t *)secret, strlen(secret), data, n, mac);
}

static void judge_against(const uint8_t *challenge, const uint8_t *data, size_t size)
{
    rdmc_join_case_t c = { the_token(), group, challenge, FUZZ_SETTINGS };
    rdmc_join_msg_t answer, untouched, decoded;
    uint8_t mac[RDMC_MAC_BYTES];
    rdmc_join_code_t code;
    bool proven, same_settings;

    memset(&answer, 0xa5, sizeof(answer));
    memcpy(&untouched, &answer, sizeof(answer));
    code = rdmc_join_judge(&c, data, size, &answer);
    check((code == RDMC_JOIN_ADMITTED) == (rdmc_join_judge_why(code)[0] == '\0'));
    if (code != RDMC_JOIN_ADMITTED) {
        check(memcmp(&answer, &untouched, sizeof(answer)) == 0);
    }
    if (rdmc_join_decode(data, size, RDMC_JOIN_RESPONSE, &decoded) != 0) {
        check(code == RDMC_JOIN_MALFORMED);
        return;
    }
    right_proof(challenge, decoded.nonce, mac);
    proven = memcmp(mac, decoded.proof, sizeof(mac)) == 0;
    same_settings = strcmp(decoded.settings, FUZZ_SETTINGS) == 0;
    switch (code) {
    case RDMC_JOIN_ADMITTED:
        check(proven && same_settings);
        check(memcmp(answer.nonce, decoded.nonce, sizeof(answer.nonce)) == 0);
        break;
    case RDMC_JOIN_BAD_PROOF:
        check(!proven);
        break;
    case RDMC_JOIN_BAD_SETTINGS:
        check(proven && !same_settings);
        break;
    default:
        abort();   /* a response that decodes is never MALFORMED */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    judge_against(challenges[0], data, size);
    judge_against(challenges[1], data, size);
    return 0;
}

/* --write-seeds DIR: a joiner's real answers to challenges[0]. */
static void write_answer(const char *dir, const char *name, const char *key, const char *settings,
                         size_t cut)
{
    rdmc_join_msg_t m = { .type = RDMC_JOIN_RESPONSE };
    rdmc_token_t token = { .len = strlen(key) };
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    size_t len;

    memcpy(token.bytes, key, token.len);
    memset(m.nonce, 0x5e, sizeof(m.nonce));
    rdmc_token_proof(&token, RDMC_PROOF_JOINER, group, challenges[0], m.nonce, m.proof);
    strcpy(m.settings, settings);
    len = rdmc_join_encode(&m, buf, sizeof(buf));
    check(len > cut);
    fuzz_seed_write(dir, name, buf, len - cut);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = fuzz_seeds_dir(*argc, *argv);

    if (dir == NULL) {
        return 0;
    }
    write_answer(dir, "admitted", secret, FUZZ_SETTINGS, 0);
    write_answer(dir, "bad_proof", "another secret", FUZZ_SETTINGS, 0);
    write_answer(dir, "bad_settings", secret, "failures=off window=8", 0);
    write_answer(dir, "truncated", secret, FUZZ_SETTINGS, 1);
    exit(0);
}
