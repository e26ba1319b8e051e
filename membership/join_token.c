/*
 * The join secret and its proofs (join_token.h), over OpenSSL's libcrypto.
 */
#include "join_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static int refuse(int rc, char *why, size_t why_len, const char *path, const char *reason)
{
    snprintf(why, why_len, "token file %s: %s", path, reason);
    return rc;
}

/* Owner-only, like ssh's private keys: a secret others can read is no
 * secret, so such a file is refused rather than trusted. */
static int check_file(int fd, const char *path, char *why, size_t why_len)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return refuse(-errno, why, why_len, path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return refuse(-EINVAL, why, why_len, path, "not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        return refuse(-EACCES, why, why_len, path,
                      "group or others may access it (chmod 600 it)");
    }
    if (st.st_uid != geteuid()) {
        return refuse(-EACCES, why, why_len, path, "owned by another user");
    }
    if (st.st_size <= 0 || st.st_size > RDMC_TOKEN_MAX_BYTES) {
        return refuse(-EINVAL, why, why_len, path, "empty, or larger than 4096 bytes");
    }
    return 0;
}

int rdmc_token_load(const char *path, rdmc_token_t *token_p, char *why, size_t why_len)
{
    rdmc_token_t token;
    ssize_t got;
    int fd, rc;

    if (path == NULL || path[0] == '\0') {
        return refuse(-ENOENT, why, why_len, "(none)", "no rdmc_token_file given");
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        return refuse(rc, why, why_len, path, strerror(-rc));
    }
    rc = check_file(fd, path, why, why_len);
    if (rc == 0) {
        got = read(fd, token.bytes, sizeof(token.bytes));
        if (got < 0) {
            rc = refuse(-errno, why, why_len, path, strerror(errno));
        } else {
            token.len = (size_t)got;
            if (token.len > 0 && token.bytes[token.len - 1] == '\n') {
                token.len--;   /* `echo secret > file` */
            }
            if (token.len == 0) {
                rc = refuse(-EINVAL, why, why_len, path, "empty");
            }
        }
    }
    close(fd);
    if (rc == 0) {
        *token_p = token;
    }
    rdmc_token_clear(&token);
    return rc;
}

void rdmc_token_clear(rdmc_token_t *token)
{
    OPENSSL_cleanse(token, sizeof(*token));
}

int rdmc_token_nonce(uint8_t nonce[RDMC_NONCE_BYTES])
{
    ssize_t got = getrandom(nonce, RDMC_NONCE_BYTES, 0);

    return got == RDMC_NONCE_BYTES ? 0 : got < 0 ? -errno : -EIO;
}

void rdmc_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len,
                      uint8_t mac[RDMC_MAC_BYTES])
{
    unsigned int len = RDMC_MAC_BYTES;

    HMAC(EVP_sha256(), key, (int)key_len, data, data_len, mac, &len);
}

void rdmc_token_proof(const rdmc_token_t *token, rdmc_proof_side_t side, const char *group,
                      const uint8_t challenge[RDMC_NONCE_BYTES],
                      const uint8_t answer[RDMC_NONCE_BYTES], uint8_t mac[RDMC_MAC_BYTES])
{
    /* label, NUL, group, NUL, nonces: the NULs keep the fields apart. */
    const char *label = side == RDMC_PROOF_JOINER ? "rdmc-join-joiner" : "rdmc-join-group";
    uint8_t data[32 + 256 + 2 * RDMC_NONCE_BYTES];
    size_t label_len = strlen(label) + 1, group_len = strnlen(group, 255) + 1, n = 0;

    memcpy(data + n, label, label_len);
    n += label_len;
    memcpy(data + n, group, group_len - 1);
    data[n + group_len - 1] = '\0';
    n += group_len;
    memcpy(data + n, challenge, RDMC_NONCE_BYTES);
    n += RDMC_NONCE_BYTES;
    memcpy(data + n, answer, RDMC_NONCE_BYTES);
    n += RDMC_NONCE_BYTES;
    rdmc_hmac_sha256(token->bytes, token->len, data, n, mac);
}

bool rdmc_token_proof_equal(const uint8_t a[RDMC_MAC_BYTES], const uint8_t b[RDMC_MAC_BYTES])
{
    return CRYPTO_memcmp(a, b, RDMC_MAC_BYTES) == 0;
}
