/*
 * A pipelined, asynchronous ZooKeeper writer (C client, multi-threaded
 * library): COUNT writes of SIZE bytes, at most WINDOW outstanding, each
 * timed from its submission to its completion callback (the server the
 * client talks to has applied it: the leader had a quorum's
 * acknowledgement).
 *
 *   zk_bench -H HOSTS -s SIZE -n COUNT [-w WINDOW] [-c CLIENT] [-m set|create]
 *            [-S START_EPOCH] [-T SECONDS] [-L LATFILE]
 *   zk_bench -H HOST -r        read back /bench/seq (after a sync)
 *
 * set: setData on /bench/kCLIENT (the state stays one node per client);
 * create: sequential nodes /bench/seq/m-NNNNNNNNNN, one total order over
 * all clients, which -r reads back from one server: its count and a hash
 * of the names in order ("READBACK count=N hash=H").  -S: sleep until that
 * wall-clock second, so that clients on several hosts start together.
 * Prints
 *
 *   RESULT client=C size=S count=N ok=K failed=F start=T0 end=T1 msgs_per_s=..
 *          lat_med_us=.. lat_p99_us=.. gap_ms=..
 *
 * gap: the longest time between two consecutive successful completions.
 * Every wait is bounded by -T (default 300 s).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#include "ordered_stats.h"

typedef struct bench {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int outstanding, ok, failed, connected;
    double *t0, *lat, last_ok, gap, end;
} bench_t;

static bench_t b = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
static double deadline;

static void on_session(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh;
    (void)path;
    (void)ctx;
    if (type == ZOO_SESSION_EVENT) {
        pthread_mutex_lock(&b.lock);
        b.connected = state == ZOO_CONNECTED_STATE;
        pthread_cond_broadcast(&b.cond);
        pthread_mutex_unlock(&b.lock);
    }
}

/* Wait on the condition up to 100 ms; 0 once the deadline has passed. */
static int wait_a_while(void)
{
    struct timespec ts;
    double t = ordered_now() + 0.1;

    if (ordered_now() > deadline) {
        return 0;
    }
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait(&b.cond, &b.lock, &ts);
    return 1;
}

static void completed(int rc, intptr_t i)
{
    double t = ordered_now();

    pthread_mutex_lock(&b.lock);
    if (rc == ZOK) {
        b.lat[b.ok++] = (t - b.t0[i]) * 1e6;
        if (b.last_ok > 0 && t - b.last_ok > b.gap) {
            b.gap = t - b.last_ok;
        }
        b.last_ok = t;
    } else {
        b.failed++;
    }
    b.end = t;
    b.outstanding--;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
}

static void on_stat(int rc, const struct Stat *stat, const void *data)
{
    (void)stat;
    completed(rc, (intptr_t)data);
}

static void on_create(int rc, const char *name, const void *data)
{
    (void)name;
    completed(rc, (intptr_t)data);
}

static void on_sync(int rc, const char *value, const void *data)
{
    (void)rc;
    (void)value;
    (void)data;
    pthread_mutex_lock(&b.lock);
    b.outstanding = 0;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The sequential nodes as this server has them, after a sync. */
static int read_back(zhandle_t *zh)
{
    struct String_vector names = { 0, NULL };
    uint32_t h = 2166136261u;

    b.outstanding = 1;
    if (zoo_async(zh, "/bench/seq", on_sync, NULL) != ZOK) {
        return 1;
    }
    pthread_mutex_lock(&b.lock);
    while (b.outstanding > 0 && wait_a_while()) {
    }
    pthread_mutex_unlock(&b.lock);
    int rc = zoo_get_children(zh, "/bench/seq", 0, &names);
    if (rc != ZOK) {
        fprintf(stderr, "zk_bench: reading /bench/seq: %s\n", zerror(rc));
        return 1;
    }
    qsort(names.data, (size_t)names.count, sizeof(char *), by_name);
    for (int i = 0; i < names.count; i++) {
        for (const char *c = names.data[i]; *c != '\0'; c++) {
            h = (h ^ (uint8_t)*c) * 16777619u;
        }
    }
    printf("READBACK count=%d hash=%08x first=%s last=%s\n", names.count, h,
           names.count > 0 ? names.data[0] : "-", names.count > 0 ? names.data[names.count - 1] : "-");
    deallocate_String_vector(&names);
    return 0;
}

static void ensure(zhandle_t *zh, const char *path)
{
    int rc = zoo_create(zh, path, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) {
        fprintf(stderr, "zk_bench: creating %s: %s\n", path, zerror(rc));
    }
}

/* Submit write i, once the window has room and the session is up. */
static int submit(zhandle_t *zh, int i, int window, int create, const char *path, const char *buf,
                  int len)
{
    int rc;

    pthread_mutex_lock(&b.lock);
    while ((b.outstanding >= window || !b.connected) && wait_a_while()) {
    }
    if (ordered_now() > deadline) {
        pthread_mutex_unlock(&b.lock);
        return -1;
    }
    b.outstanding++;
    b.t0[i] = ordered_now();
    pthread_mutex_unlock(&b.lock);
    if (create) {
        rc = zoo_acreate(zh, path, buf, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE, on_create,
                         (void *)(intptr_t)i);
    } else {
        rc = zoo_aset(zh, path, buf, len, -1, on_stat, (void *)(intptr_t)i);
    }
    if (rc != ZOK) {
        completed(rc, i); /* refused at once (connection lost): a failure */
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *hosts = NULL, *mode = "set", *latfile = NULL;
    int size = 1024, count = 1000, window = 64, client = 0, readback = 0, c, limit = 300;
    double start_at = 0;
    char path[64];

    while ((c = getopt(argc, argv, "H:s:n:w:c:m:S:T:L:r")) != -1) {
        switch (c) {
        case 'H': hosts = optarg; break;
        case 's': size = atoi(optarg); break;
        case 'n': count = atoi(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'c': client = atoi(optarg); break;
        case 'm': mode = optarg; break;
        case 'S': start_at = atof(optarg); break;
        case 'T': limit = atoi(optarg); break;
        case 'L': latfile = optarg; break;
        case 'r': readback = 1; break;
        default: hosts = NULL; break;
        }
    }
    int create = strcmp(mode, "create") == 0;
    if (hosts == NULL || size < 0 || count < 1 || window < 1 || limit < 1 ||
        (!create && strcmp(mode, "set") != 0)) {
        fprintf(stderr, "usage: zk_bench -H HOSTS -s SIZE -n COUNT [-w W] [-c CLIENT] "
                        "[-m set|create] [-S EPOCH] [-T SECONDS] [-L FILE] | -H HOST -r\n");
        return 2;
    }
    deadline = ordered_now() + limit;
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hosts, on_session, 30000, NULL, NULL, 0);
    if (zh == NULL) {
        fprintf(stderr, "zk_bench: zookeeper_init: %s\n", strerror(errno));
        return 1;
    }
    pthread_mutex_lock(&b.lock);
    while (!b.connected && wait_a_while()) {
    }
    pthread_mutex_unlock(&b.lock);
    if (!b.connected) {
        fprintf(stderr, "zk_bench: no session with %s\n", hosts);
        zookeeper_close(zh);
        return 1;
    }
    if (readback) {
        int rc = read_back(zh);
        zookeeper_close(zh);
        return rc;
    }
    ensure(zh, "/bench");
    if (create) {
        ensure(zh, "/bench/seq");
        snprintf(path, sizeof(path), "/bench/seq/m-");
    } else {
        snprintf(path, sizeof(path), "/bench/k%d", client);
        ensure(zh, path);
    }
    char *buf = malloc((size_t)size + 1);
    memset(buf, 'a' + client % 26, (size_t)size);
    b.t0 = calloc((size_t)count, sizeof(double));
    b.lat = calloc((size_t)count, sizeof(double));
    /* One sleep until the common start (bounded by the deadline). */
    double wait_s = start_at > 0 ? (start_at < deadline ? start_at : deadline) - ordered_now() : 0;
    if (wait_s > 0) {
        struct timespec ts = { (time_t)wait_s, (long)((wait_s - (double)(time_t)wait_s) * 1e9) };
        nanosleep(&ts, NULL);
    }
    double start = ordered_now();
    int submitted = 0;
    for (int i = 0; i < count && submit(zh, i, window, create, path, buf, size) == 0; i++) {
        submitted++;
    }
    pthread_mutex_lock(&b.lock);
    while (b.outstanding > 0 && wait_a_while()) {
    }
    double secs = b.end - start;
    printf("RESULT client=%d size=%d count=%d ok=%d failed=%d unsent=%d start=%.6f end=%.6f "
           "msgs_per_s=%.1f lat_med_us=%.1f lat_p99_us=%.1f gap_ms=%.1f\n",
           client, size, count, b.ok, b.failed + b.outstanding, count - submitted, start, b.end,
           secs > 0 ? b.ok / secs : 0, ordered_percentile(b.lat, b.ok, 50),
           ordered_percentile(b.lat, b.ok, 99), b.gap * 1e3);
    if (latfile != NULL) {
        FILE *f = fopen(latfile, "w");
        for (int i = 0; f != NULL && i < b.ok; i++) {
            fprintf(f, "%.1f\n", b.lat[i]);
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    pthread_mutex_unlock(&b.lock);
    zookeeper_close(zh);
    return b.ok == count ? 0 : 3;
}
