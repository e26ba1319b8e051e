/*
 * The join handshake's messages, as bytes on the wire and back.
 *
 *   joiner                                group's leader
 *     |  <--- CHALLENGE  nonce_g, group name  ---|
 *     |  ---> RESPONSE   nonce_j, proof_j, settings  -->|  proof_j = HMAC(secret, joiner,
 *     |  <--- VERDICT    code, proof_g, view id,  ---|            group, nonce_g, nonce_j)
 *     |                  wait, MPI port, settings    |  proof_g likewise, the group's side
 *     |  ---> GO  (the joiner calls MPI_Comm_connect) ->|  (the members then MPI_Comm_accept)
 *
 * Every message starts with a magic number, a version and its type; every
 * field has a fixed size, strings are NUL-terminated inside theirs, numbers
 * are big-endian.  A decoder accepts exactly one well-formed message of the
 * type it expects and nothing else: truncated, padded, foreign or
 * unterminated input gives -EBADMSG, another version -EPROTO.
 *
 * No MPI, no I/O: the unit tests feed it bytes.
 */
#ifndef RDMC_JOIN_WIRE_H
#define RDMC_JOIN_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum {
    RDMC_JOIN_NAME_MAX = 128,       /* group names, with their NUL */
    RDMC_JOIN_SETTINGS_MAX = 512,   /* coll/rdmc settings that must match */
    RDMC_JOIN_PORT_MAX = 1024,      /* MPI_MAX_PORT_NAME in Open MPI */
    RDMC_JOIN_MSG_MAX = 2048,       /* no message is longer */
};

/* The sizes of a nonce and of a proof (HMAC-SHA256) on the wire. */
enum {
    RDMC_NONCE_BYTES = 16,
    RDMC_MAC_BYTES = 32,
};

typedef enum {
    RDMC_JOIN_CHALLENGE = 1,
    RDMC_JOIN_RESPONSE = 2,
    RDMC_JOIN_VERDICT = 3,
    RDMC_JOIN_GO = 4,
} rdmc_join_type_t;

/* What the group says of a joiner. */
typedef enum {
    RDMC_JOIN_ADMITTED = 0,
    RDMC_JOIN_BAD_PROOF = 1,      /* wrong secret */
    RDMC_JOIN_BAD_SETTINGS = 2,   /* its coll/rdmc settings differ from the group's */
    RDMC_JOIN_MALFORMED = 3,      /* its response was not a response */
} rdmc_join_code_t;

typedef struct rdmc_join_msg {
    rdmc_join_type_t type;
    uint8_t nonce[RDMC_NONCE_BYTES];      /* CHALLENGE, RESPONSE */
    uint8_t proof[RDMC_MAC_BYTES];        /* RESPONSE, VERDICT */
    char group[RDMC_JOIN_NAME_MAX];       /* CHALLENGE */
    char settings[RDMC_JOIN_SETTINGS_MAX]; /* RESPONSE (the joiner's), VERDICT (the group's) */
    uint32_t code;                        /* VERDICT: an rdmc_join_code_t */
    uint64_t view_id;                     /* VERDICT: the id of the view it will join */
    uint32_t wait_ms;                     /* VERDICT: how long admitting may still take */
    char port[RDMC_JOIN_PORT_MAX];        /* VERDICT: where to MPI_Comm_connect */
} rdmc_join_msg_t;

/* Encode msg's fields for its type into buf: the length, or 0 if cap is
 * too small or a string does not fit its field. */
size_t rdmc_join_encode(const rdmc_join_msg_t *msg, uint8_t *buf, size_t cap);

/* Decode exactly one message of type `expect` from buf[0..len). */
int rdmc_join_decode(const uint8_t *buf, size_t len, rdmc_join_type_t expect,
                     rdmc_join_msg_t *msg_p);

#endif
