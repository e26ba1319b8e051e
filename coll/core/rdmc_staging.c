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

/* Under the lock: the buffers put back longest ago leave until `room`
 * more bytes and `slots` more buffers fit; they go to gone (to be freed
 * outside the lock).  Returns how many went. */
static int make_room(size_t room, int slots, void **gone)
{
    int n = 0;

    while (nkept > 0 && (nkept + slots > RDMC_STAGING_KEPT_MAX || kept_bytes + room > budget)) {
        gone[n++] = take(oldest()).buf;
    }
    return n;
}

static void free_all(void **bufs, int n)
{
    for (int i = 0; i < n; i++) {
        free(bufs[i]);
    }
}

void rdmc_staging_put(void *buf, size_t capacity)
{
    void *gone[RDMC_STAGING_KEPT_MAX + 1];
    int ngone = 0;

    if (buf == NULL) {
        return;
    }
    pthread_mutex_lock(&lock);
    if (capacity > budget) {
        gone[ngone++] = buf;
    } else {
        ngone = make_room(capacity, 1, gone);
        kept[nkept++] = (kept_t){ buf, capacity, puts++ };
        kept_bytes += capacity;
    }
    pthread_mutex_unlock(&lock);
    free_all(gone, ngone);
}

void rdmc_staging_set_budget(size_t bytes)
{
    void *gone[RDMC_STAGING_KEPT_MAX];
    int ngone;

    pthread_mutex_lock(&lock);
    budget = bytes;
    ngone = make_room(0, 0, gone);
    pthread_mutex_unlock(&lock);
    free_all(gone, ngone);
}

size_t rdmc_staging_kept_bytes(void)
{
    size_t bytes;

    pthread_mutex_lock(&lock);
    bytes = kept_bytes;
    pthread_mutex_unlock(&lock);
    return bytes;
}
