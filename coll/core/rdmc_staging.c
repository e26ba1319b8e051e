#include "rdmc_staging.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct kept {
    void *buf;
    size_t capacity;
    uint64_t put_at;   /* order of the puts: the smallest went back longest ago */
} kept_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static kept_t kept[RDMC_STAGING_KEPT_MAX];
static int nkept;
static size_t kept_bytes, budget;
static uint64_t puts;

/* Sizes of one message, which programs broadcast again and again, meet
 * the same buffer; close sizes share one too. */
static size_t rounded(size_t bytes)
{
    size_t unit = bytes >= ((size_t)1 << 20) ? (size_t)1 << 20 : (size_t)4096;

    if (bytes == 0) {
        return unit;
    }
    return bytes > SIZE_MAX - unit ? bytes : (bytes + unit - 1) / unit * unit;
}

/* Under the lock: entry i leaves the cache (the caller owns its buffer). */
static kept_t take(int i)
{
    kept_t k = kept[i];

    kept[i] = kept[--nkept];
    kept_bytes -= k.capacity;
    return k;
}

/* Under the lock: the entry put back longest ago. */
static int oldest(void)
{
    int o = 0;

    for (int i = 1; i < nkept; i++) {
        if (kept[i].put_at < kept[o].put_at) {
            o = i;
        }
    }
    return o;
}

void *rdmc_staging_get(size_t bytes, size_t *capacity)
{
    int best = -1;
    void *buf;

    pthread_mutex_lock(&lock);
    for (int i = 0; i < nkept; i++) {
        if (kept[i].capacity >= bytes &&
            (best < 0 || kept[i].capacity < kept[best].capacity)) {
            best = i;
        }
    }
    if (best >= 0) {
        kept_t k = take(best);
        pthread_mutex_unlock(&lock);
        *capacity = k.capacity;
        return k.buf;
    }
    pthread_mutex_unlock(&lock);
    *capacity = rounded(bytes);
    buf = malloc(*capacity);
    if (buf == NULL) {
        *capacity = 0;
    }
    return buf;
}

void rdmc_staging_put(void *buf, size_t capacity)
{
    void *evicted[RDMC_STAGING_KEPT_MAX];
    int nevicted = 0;

    if (buf == NULL) {
        return;
    }
    pthread_mutex_lock(&lock);
    if (capacity > budget) {
        pthread_mutex_unlock(&lock);
        free(buf);
        return;
    }
    while (nkept > 0 && (nkept == RDMC_STAGING_KEPT_MAX || kept_bytes + capacity > budget)) {
        evicted[nevicted++] = take(oldest()).buf;
    }
    kept[nkept++] = (kept_t){ buf, capacity, puts++ };
    kept_bytes += capacity;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nevicted; i++) {
        free(evicted[i]);
    }
}

void rdmc_staging_set_budget(size_t bytes)
{
    void *evicted[RDMC_STAGING_KEPT_MAX];
    int nevicted = 0;

    pthread_mutex_lock(&lock);
    budget = bytes;
    while (kept_bytes > budget) {
        evicted[nevicted++] = take(oldest()).buf;
    }
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nevicted; i++) {
        free(evicted[i]);
    }
}

size_t rdmc_staging_kept_bytes(void)
{
    size_t bytes;

    pthread_mutex_lock(&lock);
    bytes = kept_bytes;
    pthread_mutex_unlock(&lock);
    return bytes;
}
