/*
 * The leader's judgement of a joiner's RESPONSE to its CHALLENGE
 * (join_wire.h): the bytes that came back, decoded strictly, the proof
 * checked against the challenge the leader sent, the settings compared.
 *
 * No MPI, no I/O, no clock: rdmc_join.c hands it the frame it received, and
 * the unit tests and the fuzzer hand it anything.  It lives outside core/
 * because the proof is an HMAC (join_token.c, OpenSSL).
 */
#ifndef RDMC_JOIN_JUDGE_H
#define RDMC_JOIN_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "join_token.h"
#include "join_wire.h"

/* What the leader sent, and what it holds. */
typedef struct rdmc_join_case {
    const rdmc_token_t *token;               /* the group's secret */
    const char *group;                       /* the name in the challenge */
    const uint8_t *challenge;                /* its nonce: RDMC_NONCE_BYTES */
    const char *settings;                    /* the group's coll/rdmc settings */
} rdmc_join_case_t;

/* The verdict on response[0..len): RDMC_JOIN_ADMITTED only for exactly one
 * well-formed RESPONSE whose proof answers this very challenge under the
 * secret and whose settings equal the group's; then *answer_p is the
 * decoded response (the group's own proof needs its nonce).  Refusals:
 * MALFORMED (not a response: truncated, padded, foreign, other version),
 * BAD_PROOF (a proof for another secret, group or challenge: a replay),
 * BAD_SETTINGS (the right secret, other settings). */
rdmc_join_code_t rdmc_join_judge(const rdmc_join_case_t *c, const uint8_t *response, size_t len,
                                 rdmc_join_msg_t *answer_p);

/* The leader's one-line reason for a refusal ("" for ADMITTED). */
const char *rdmc_join_judge_why(rdmc_join_code_t code);

#endif
