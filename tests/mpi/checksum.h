/* A checksum of a received buffer, for survivors to compare what each got
 * (FNV-1a, 32 bits). */
#ifndef RDMC_TEST_CHECKSUM_H
#define RDMC_TEST_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t test_checksum(const uint8_t *buf, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t b = 0; b < len; b++) {
        h = (h ^ buf[b]) * 16777619u;
    }
    return h;
}

#endif
