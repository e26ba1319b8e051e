/*
 * The leader's judgement of a joiner's response (join_judge.h).
 */
#include "join_judge.h"

#include <string.h>

rdmc_join_code_t rdmc_join_judge(const rdmc_join_case_t *c, const uint8_t *response, size_t len,
                                 rdmc_join_msg_t *answer_p)
{
    rdmc_join_msg_t answer;
    uint8_t expected[RDMC_MAC_BYTES];

    if (rdmc_join_decode(response, len, RDMC_JOIN_RESPONSE, &answer) != 0) {
        return RDMC_JOIN_MALFORMED;
    }
    /* The proof binds the challenge's nonce: a response captured from
     * another handshake proves nothing here. */
    rdmc_token_proof(c->token, RDMC_PROOF_JOINER, c->group, c->challenge, answer.nonce, expected);
    if (!rdmc_token_proof_equal(expected, answer.proof)) {
        return RDMC_JOIN_BAD_PROOF;
    }
    if (strcmp(answer.settings, c->settings) != 0) {
        return RDMC_JOIN_BAD_SETTINGS;
    }
    *answer_p = answer;
    return RDMC_JOIN_ADMITTED;
}

const char *rdmc_join_judge_why(rdmc_join_code_t code)
{
    switch (code) {
    case RDMC_JOIN_ADMITTED:
        return "";
    case RDMC_JOIN_BAD_PROOF:
        return "it does not hold the group's secret";
    case RDMC_JOIN_BAD_SETTINGS:
        return "its coll_rdmc settings differ from the group's";
    default:
        return "its answer was not a join response";
    }
}
