/*
 * The group's secret for joins, and the proofs built from it.
 *
 * The secret is the content of a token file that only its owner may read
 * (no permission bits for group or others; one trailing newline is not part
 * of it).  It never crosses the wire: each side proves it holds the secret
 * with HMAC-SHA256 over both sides' fresh nonces, the group's name and a
 * label saying which side speaks, so no proof can be replayed or reflected.
 *
 * No MPI here: the unit tests use it directly.
 */
#ifndef RDMC_JOIN_TOKEN_H
#define RDMC_JOIN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "join_wire.h"   /* RDMC_NONCE_BYTES, RDMC_MAC_BYTES */

enum {
    RDMC_TOKEN_MAX_BYTES = 4096,
};

typedef struct rdmc_token {
    size_t len;
    uint8_t bytes[RDMC_TOKEN_MAX_BYTES];
} rdmc_token_t;

/* Who a proof speaks for: the joiner answering the group's challenge, or
 * the group confirming the joiner it admits. */
typedef enum { RDMC_PROOF_JOINER, RDMC_PROOF_GROUP } rdmc_proof_side_t;

/* Read the secret from path.  0, or a negative errno with a sentence in
 * why: -ENOENT (no such file), -EACCES (group or others may access it, or
 * it belongs to another user), -EINVAL (not a regular file, empty, larger
 * than RDMC_TOKEN_MAX_BYTES), or what open/read said. */
int rdmc_token_load(const char *path, rdmc_token_t *token_p, char *why, size_t why_len);

/* Wipe a secret from memory. */
void rdmc_token_clear(rdmc_token_t *token);

/* Fresh random bytes for a nonce: 0 or a negative errno. */
int rdmc_token_nonce(uint8_t nonce[RDMC_NONCE_BYTES]);

/* HMAC-SHA256(key, data): the primitive, exposed for its test vectors. */
void rdmc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len,
                      uint8_t mac[RDMC_MAC_BYTES]);

/* The proof `side` gives: an HMAC under the secret of the side's label,
 * the group's name, the challenger's nonce and the answerer's nonce. */
void rdmc_token_proof(const rdmc_token_t *token, rdmc_proof_side_t side, const char *group,
                      const uint8_t challenge[RDMC_NONCE_BYTES],
                      const uint8_t answer[RDMC_NONCE_BYTES], uint8_t mac[RDMC_MAC_BYTES]);

/* Compare two proofs in time that does not depend on where they differ. */
bool rdmc_token_proof_equal(const uint8_t a[RDMC_MAC_BYTES], const uint8_t b[RDMC_MAC_BYTES]);

#endif
