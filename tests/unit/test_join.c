/*
 * Unit tests of the join handshake's parts: the token file and the proofs
 * (membership/join_token.c), the messages (join_wire.c), the leader's
 * judgement of a response (join_judge.c) and the bounded socket
 * (join_socket.c, over loopback only).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "coll/core/rdmc_clock.h"
#include "membership/join_judge.h"
#include "membership/join_socket.h"
#include "membership/join_token.h"
#include "membership/core/join_wire.h"

/* ---- the token file ----------------------------------------------------- */

static char dir[] = "/tmp/rdmc-test-join-XXXXXX";

static const char *write_file(const char *name, const void *bytes, size_t len, mode_t mode)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int load(const char *path, rdmc_token_t *token)
{
    char why[512] = "";
    int rc = rdmc_token_load(path, token, why, sizeof(why));

    assert_true(rc == 0 || why[0] != '\0');   /* every refusal says why */
    return rc;
}

static void test_token_owner_only_file_is_read(void **state)
{
    rdmc_token_t token;

    (void)state;
    assert_int_equal(load(write_file("good", "s3cret\n", 7, 0600), &token), 0);
    assert_int_equal(token.len, 6);   /* the trailing newline is not part of it */
    assert_memory_equal(token.bytes, "s3cret", 6);
    assert_int_equal(load(write_file("readonly", "abc", 3, 0400), &token), 0);
    assert_int_equal(token.len, 3);
}

static void test_token_bad_files_are_refused(void **state)
{
    static uint8_t big[RDMC_TOKEN_MAX_BYTES + 1];
    rdmc_token_t token = { .len = 99 };
    char link[300];

    (void)state;
    assert_int_equal(load(write_file("group", "s", 1, 0640), &token), -EACCES);
    assert_int_equal(load(write_file("world", "s", 1, 0604), &token), -EACCES);
    assert_int_equal(load(write_file("empty", "", 0, 0600), &token), -EINVAL);
    assert_int_equal(load(write_file("newline", "\n", 1, 0600), &token), -EINVAL);
    assert_int_equal(load(write_file("big", big, sizeof(big), 0600), &token), -EINVAL);
    assert_int_equal(load("/nonexistent/rdmc-token", &token), -ENOENT);
    assert_int_equal(load("", &token), -ENOENT);
    assert_int_equal(load(NULL, &token), -ENOENT);
    assert_int_equal(load(dir, &token), -EINVAL);   /* a directory */
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(write_file("target", "s", 1, 0600), link), 0);
    assert_int_equal(load(link, &token), -ELOOP);
    assert_int_equal(token.len, 99);   /* untouched by refusals */
}

/* ---- HMAC and the proofs ------------------------------------------------ */

/* RFC 4231, test case 2. */
static void test_hmac_sha256_matches_rfc4231(void **state)
{
    static const uint8_t expected[RDMC_MAC_BYTES] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
    };
    const char *data = "what do ya want for nothing?";
    uint8_t mac[RDMC_MAC_BYTES];

    (void)state;
    rdmc_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), mac);
    assert_memory_equal(mac, expected, sizeof(mac));
}

static rdmc_token_t token_of(const char *secret)
{
    rdmc_token_t t = { .len = strlen(secret) };

    memcpy(t.bytes, secret, t.len);
    return t;
}

/* A proof depends on every input: the secret, the side, the group, each
 * nonce and their order. */
static void test_proofs_bind_every_input(void **state)
{
    rdmc_token_t secret = token_of("s3cret"), other = token_of("s3cret!");
    uint8_t a[RDMC_NONCE_BYTES] = { 1 }, b[RDMC_NONCE_BYTES] = { 2 };
    uint8_t base[RDMC_MAC_BYTES], again[RDMC_MAC_BYTES], p[RDMC_MAC_BYTES];

    (void)state;
    rdmc_token_proof(&secret, RDMC_PROOF_JOINER, "g", a, b, base);
    rdmc_token_proof(&secret, RDMC_PROOF_JOINER, "g", a, b, again);
    assert_true(rdmc_token_proof_equal(base, again));
    rdmc_token_proof(&other, RDMC_PROOF_JOINER, "g", a, b, p);
    assert_false(rdmc_token_proof_equal(base, p));
    rdmc_token_proof(&secret, RDMC_PROOF_GROUP, "g", a, b, p);
    assert_false(rdmc_token_proof_equal(base, p));   /* no reflection */
    rdmc_token_proof(&secret, RDMC_PROOF_JOINER, "h", a, b, p);
    assert_false(rdmc_token_proof_equal(base, p));
    rdmc_token_proof(&secret, RDMC_PROOF_JOINER, "g", b, a, p);
    assert_false(rdmc_token_proof_equal(base, p));
    again[RDMC_MAC_BYTES - 1] ^= 1;
    assert_false(rdmc_token_proof_equal(base, again));
}

static void test_nonces_are_fresh(void **state)
{
    uint8_t a[RDMC_NONCE_BYTES], b[RDMC_NONCE_BYTES];

    (void)state;
    assert_int_equal(rdmc_token_nonce(a), 0);
    assert_int_equal(rdmc_token_nonce(b), 0);
    assert_memory_not_equal(a, b, RDMC_NONCE_BYTES);
}

/* ---- the messages -------------------------------------------------------- */

static rdmc_join_msg_t sample_verdict(void)
{
    rdmc_join_msg_t m = { .type = RDMC_JOIN_VERDICT, .code = RDMC_JOIN_ADMITTED,
                          .view_id = UINT64_C(0x0102030405060708), .wait_ms = 65000 };

    memset(m.proof, 0xab, sizeof(m.proof));
    snprintf(m.port, sizeof(m.port), "1536360448.0:2105442305");
    snprintf(m.settings, sizeof(m.settings), "failures=on window=8");
    return m;
}

static void assert_same_msg(const rdmc_join_msg_t *a, const rdmc_join_msg_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_memory_equal(a->nonce, b->nonce, sizeof(a->nonce));
    assert_memory_equal(a->proof, b->proof, sizeof(a->proof));
    assert_string_equal(a->group, b->group);
    assert_string_equal(a->settings, b->settings);
    assert_int_equal(a->code, b->code);
    assert_int_equal(a->view_id, b->view_id);
    assert_int_equal(a->wait_ms, b->wait_ms);
    assert_string_equal(a->port, b->port);
}

static void test_messages_round_trip(void **state)
{
    rdmc_join_msg_t in[4] = { { .type = RDMC_JOIN_CHALLENGE }, { .type = RDMC_JOIN_RESPONSE },
                              sample_verdict(), { .type = RDMC_JOIN_GO } };
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    rdmc_join_msg_t out;

    (void)state;
    memset(in[0].nonce, 7, sizeof(in[0].nonce));
    snprintf(in[0].group, sizeof(in[0].group), "replicas");
    memset(in[1].nonce, 9, sizeof(in[1].nonce));
    memset(in[1].proof, 3, sizeof(in[1].proof));
    snprintf(in[1].settings, sizeof(in[1].settings), "failures=off");
    for (int i = 0; i < 4; i++) {
        size_t len = rdmc_join_encode(&in[i], buf, sizeof(buf));
        assert_true(len > 0);
        assert_int_equal(rdmc_join_decode(buf, len, in[i].type, &out), 0);
        assert_same_msg(&out, &in[i]);
    }
}

static void test_malformed_messages_are_refused(void **state)
{
    rdmc_join_msg_t m = sample_verdict(), out = { .code = 42 };
    uint8_t buf[RDMC_JOIN_MSG_MAX], copy[RDMC_JOIN_MSG_MAX + 1];
    size_t len = rdmc_join_encode(&m, buf, sizeof(buf));

    (void)state;
    for (size_t cut = 0; cut < len; cut++) {   /* every truncation */
        assert_int_equal(rdmc_join_decode(buf, cut, RDMC_JOIN_VERDICT, &out), -EBADMSG);
    }
    memcpy(copy, buf, len);
    copy[len] = 0;
    assert_int_equal(rdmc_join_decode(copy, len + 1, RDMC_JOIN_VERDICT, &out), -EBADMSG);
    assert_int_equal(rdmc_join_decode(buf, len, RDMC_JOIN_RESPONSE, &out), -EBADMSG);
    copy[0] ^= 0xff;   /* not our magic */
    assert_int_equal(rdmc_join_decode(copy, len, RDMC_JOIN_VERDICT, &out), -EBADMSG);
    memcpy(copy, buf, len);
    copy[7] = 2;   /* version 2 */
    assert_int_equal(rdmc_join_decode(copy, len, RDMC_JOIN_VERDICT, &out), -EPROTO);
    memcpy(copy, buf, len);
    memset(copy + len - RDMC_JOIN_SETTINGS_MAX, 'x', RDMC_JOIN_SETTINGS_MAX);   /* no NUL */
    assert_int_equal(rdmc_join_decode(copy, len, RDMC_JOIN_VERDICT, &out), -EBADMSG);
    assert_int_equal(out.code, 42);   /* untouched */

    /* Random bytes are refused, whatever they hold. */
    srand(5);
    for (int trial = 0; trial < 2000; trial++) {
        size_t n = (size_t)rand() % sizeof(copy);
        for (size_t i = 0; i < n; i++) {
            copy[i] = (uint8_t)rand();
        }
        assert_int_not_equal(rdmc_join_decode(copy, n, RDMC_JOIN_VERDICT, &out), 0);
    }
}

static void test_encoding_refuses_what_does_not_fit(void **state)
{
    rdmc_join_msg_t m = sample_verdict();
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    size_t len = rdmc_join_encode(&m, buf, sizeof(buf));

    (void)state;
    assert_int_equal(rdmc_join_encode(&m, buf, len - 1), 0);
    memset(m.port, 'p', sizeof(m.port));   /* no room for its NUL */
    assert_int_equal(rdmc_join_encode(&m, buf, sizeof(buf)), 0);
}

/* ---- the leader's judgement of a response ------------------------------- */

static const char settings[] = "failures=on window=8";

/* What a joiner holding `secret` sends back to `challenge`, as bytes. */
static size_t answer_bytes(const char *secret, const uint8_t challenge[RDMC_NONCE_BYTES],
                           const char *mine, uint8_t buf[RDMC_JOIN_MSG_MAX])
{
    rdmc_token_t token = token_of(secret);
    rdmc_join_msg_t m = { .type = RDMC_JOIN_RESPONSE };
    size_t len;

    memset(m.nonce, 0x5e, sizeof(m.nonce));
    rdmc_token_proof(&token, RDMC_PROOF_JOINER, "replicas", challenge, m.nonce, m.proof);
    snprintf(m.settings, sizeof(m.settings), "%s", mine);
    len = rdmc_join_encode(&m, buf, RDMC_JOIN_MSG_MAX);
    assert_true(len > 0);
    return len;
}

static rdmc_join_code_t judge(const uint8_t challenge[RDMC_NONCE_BYTES], const uint8_t *bytes,
                              size_t len, rdmc_join_msg_t *answer)
{
    rdmc_token_t token = token_of("s3cret");
    rdmc_join_case_t c = { &token, "replicas", challenge, settings };

    return rdmc_join_judge(&c, bytes, len, answer);
}

static void test_judge_admits_the_right_answer(void **state)
{
    uint8_t challenge[RDMC_NONCE_BYTES] = { 0xc0, 1 }, buf[RDMC_JOIN_MSG_MAX];
    uint8_t nonce[RDMC_NONCE_BYTES];
    size_t len = answer_bytes("s3cret", challenge, settings, buf);
    rdmc_join_msg_t answer;

    (void)state;
    assert_int_equal(judge(challenge, buf, len, &answer), RDMC_JOIN_ADMITTED);
    memset(nonce, 0x5e, sizeof(nonce));
    assert_memory_equal(answer.nonce, nonce, sizeof(nonce));   /* for the group's proof */
    assert_string_equal(rdmc_join_judge_why(RDMC_JOIN_ADMITTED), "");
}

/* An answer captured from one handshake proves nothing in another. */
static void test_judge_refuses_a_replayed_answer(void **state)
{
    uint8_t first[RDMC_NONCE_BYTES] = { 0xc0, 1 }, second[RDMC_NONCE_BYTES] = { 0xc0, 2 };
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    size_t len = answer_bytes("s3cret", first, settings, buf);
    rdmc_join_msg_t answer = { .code = 42 }, admitted;

    (void)state;
    assert_int_equal(judge(first, buf, len, &admitted), RDMC_JOIN_ADMITTED);
    assert_int_equal(judge(second, buf, len, &answer), RDMC_JOIN_BAD_PROOF);
    assert_int_equal(answer.code, 42);   /* untouched by refusals */
}

static void test_judge_refuses_truncated_and_padded_answers(void **state)
{
    uint8_t challenge[RDMC_NONCE_BYTES] = { 0xc0, 1 }, buf[RDMC_JOIN_MSG_MAX + 1];
    size_t len = answer_bytes("s3cret", challenge, settings, buf);
    rdmc_join_msg_t answer = { .code = 42 };

    (void)state;
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(judge(challenge, buf, cut, &answer), RDMC_JOIN_MALFORMED);
    }
    buf[len] = 0;
    assert_int_equal(judge(challenge, buf, len + 1, &answer), RDMC_JOIN_MALFORMED);
    assert_int_equal(answer.code, 42);
    assert_string_equal(rdmc_join_judge_why(RDMC_JOIN_MALFORMED),
                        "its answer was not a join response");
}

static void test_judge_refuses_wrong_proofs_and_settings(void **state)
{
    uint8_t challenge[RDMC_NONCE_BYTES] = { 0xc0, 1 }, buf[RDMC_JOIN_MSG_MAX];
    size_t len = answer_bytes("not the secret", challenge, settings, buf);
    rdmc_join_msg_t answer;

    (void)state;
    assert_int_equal(judge(challenge, buf, len, &answer), RDMC_JOIN_BAD_PROOF);
    len = answer_bytes("s3cret", challenge, settings, buf);
    buf[12 + RDMC_NONCE_BYTES] ^= 1;   /* the proof's first byte */
    assert_int_equal(judge(challenge, buf, len, &answer), RDMC_JOIN_BAD_PROOF);
    assert_string_equal(rdmc_join_judge_why(RDMC_JOIN_BAD_PROOF),
                        "it does not hold the group's secret");
    /* The right secret with other settings: the proof is checked first. */
    len = answer_bytes("s3cret", challenge, "failures=off window=8", buf);
    assert_int_equal(judge(challenge, buf, len, &answer), RDMC_JOIN_BAD_SETTINGS);
    len = answer_bytes("not the secret", challenge, "failures=off window=8", buf);
    assert_int_equal(judge(challenge, buf, len, &answer), RDMC_JOIN_BAD_PROOF);
}

/* ---- the socket, over loopback ------------------------------------------- */

static void test_frames_cross_a_socket(void **state)
{
    int lfd, port, cfd, sfd;
    uint8_t buf[RDMC_JOIN_MSG_MAX], big[RDMC_JOIN_MSG_MAX + 8] = { 0 };
    size_t len = 0;
    double soon = rdmc_now_ms() + 2000;

    (void)state;
    assert_int_equal(rdmc_join_listen(&lfd, &port), 0);
    assert_int_equal(rdmc_join_accept(lfd, rdmc_now_ms() + 50, &sfd), -ETIMEDOUT);
    assert_int_equal(rdmc_join_connect("127.0.0.1", port, soon, &cfd), 0);
    assert_int_equal(rdmc_join_accept(lfd, soon, &sfd), 0);

    assert_int_equal(rdmc_join_send_frame(cfd, (const uint8_t *)"hello", 5, soon), 0);
    assert_int_equal(rdmc_join_recv_frame(sfd, buf, sizeof(buf), &len, soon), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(buf, "hello", 5);
    /* Nothing more comes: the wait ends at its deadline. */
    assert_int_equal(rdmc_join_recv_frame(sfd, buf, sizeof(buf), &len,
                                          rdmc_now_ms() + 50),
                     -ETIMEDOUT);
    assert_int_equal(rdmc_join_send_frame(cfd, big, sizeof(big), soon), -EMSGSIZE);
    /* A length prefix larger than any message is refused before reading on. */
    big[0] = 0x7f;
    assert_int_equal(send(cfd, big, 4, 0), 4);
    assert_int_equal(rdmc_join_recv_frame(sfd, buf, sizeof(buf), &len, soon), -EMSGSIZE);
    close(cfd);
    assert_int_equal(rdmc_join_recv_frame(sfd, buf, sizeof(buf), &len, soon), -ECONNRESET);
    close(sfd);
    close(lfd);
}

static void test_connect_to_nobody_fails(void **state)
{
    int lfd, port, fd;

    (void)state;
    assert_int_equal(rdmc_join_listen(&lfd, &port), 0);
    close(lfd);   /* nobody listens there now */
    assert_int_equal(rdmc_join_connect("127.0.0.1", port, rdmc_now_ms() + 2000, &fd),
                     -ECONNREFUSED);
}

static int make_dir(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL;
}

static int remove_dir(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_owner_only_file_is_read),
        cmocka_unit_test(test_token_bad_files_are_refused),
        cmocka_unit_test(test_hmac_sha256_matches_rfc4231),
        cmocka_unit_test(test_proofs_bind_every_input),
        cmocka_unit_test(test_nonces_are_fresh),
        cmocka_unit_test(test_messages_round_trip),
        cmocka_unit_test(test_malformed_messages_are_refused),
        cmocka_unit_test(test_encoding_refuses_what_does_not_fit),
        cmocka_unit_test(test_judge_admits_the_right_answer),
        cmocka_unit_test(test_judge_refuses_a_replayed_answer),
        cmocka_unit_test(test_judge_refuses_truncated_and_padded_answers),
        cmocka_unit_test(test_judge_refuses_wrong_proofs_and_settings),
        cmocka_unit_test(test_frames_cross_a_socket),
        cmocka_unit_test(test_connect_to_nobody_fails),
    };

    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
