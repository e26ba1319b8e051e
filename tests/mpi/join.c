/*
 * Processes joining a running rdmc group (RDMC_Comm_open / admit / join),
 * across separately started mpiruns that share a name service (an
 * ompi-server, or a PRRTE DVM under Open MPI 5; join.test starts it).  Each
 * process checks what it relies on and prints one line, PASS or FAIL:
 * mpirun's exit code says nothing here.
 *
 *   join --role member --group NAME --token FILE --dir DIR --admits 1,3
 *        [--kill RANK [--kill-after-ms T]]
 *     The group (MPI_COMM_WORLD): opens, then for each number k in
 *     --admits admits k joiners, each time checking the new communicator
 *     (size, old members first, view id continuing) and broadcasting on it
 *     from every root (1 MiB and 1 KiB, bytes checked, through rdmc).
 *     Between admissions it broadcasts on the old communicator too: refused
 *     joiners leave the group as it was.  --kill RANK: that member dies
 *     right after the group opened (T ms after), and the survivors admit
 *     its replacement; rank 0, the leader that opened the group, too: the
 *     next one opens it again.  Each member writes DIR/rank.R (its pid).
 *   join --role joiner --group NAME --token FILE --joined-at K --admits 1,3
 *     Joins during admission K (0-based), then takes part in the rest.
 *     Prints the time from its call to its first broadcast.
 *   join --role joiner ... --expect access|other
 *     Must be refused with RDMC_ERR_ACCESS (or another error) and return.
 *   join --role rogue --group NAME
 *     Connects to the group's published socket and sends bytes that are
 *     no join message: the group must drop it and go on.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "coll/core/rdmc_clock.h"
#include "membership/join_socket.h"
#include "membership/rdmc.h"
#include "rank_pid.h"
#include "rdmc_pvars.h"

enum { MAX_ADMITS = 8, BIG = 1 << 20, SMALL = 1024, ADMIT_TIMEOUT_MS = 60000 };

static struct {
    const char *role, *group, *token, *dir, *expect;
    int admits[MAX_ADMITS], nadmits, joined_at, kill, kill_after_ms;
} opt = { .role = "member", .expect = "ok", .joined_at = -1, .kill = -1 };

static int failures;
static char where[64] = "?";

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            failures++;                                                                         \
            printf("%s: check failed (line %d): ", where, __LINE__);                          \
            printf(__VA_ARGS__);                                                                \
            printf("\n");                                                                       \
            fflush(stdout);                                                                     \
        }                                                                                       \
    } while (0)

static void parse(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--role") == 0) {
            opt.role = v;
        } else if (strcmp(k, "--group") == 0) {
            opt.group = v;
        } else if (strcmp(k, "--token") == 0) {
            opt.token = v;
        } else if (strcmp(k, "--dir") == 0) {
            opt.dir = v;
        } else if (strcmp(k, "--expect") == 0) {
            opt.expect = v;
        } else if (strcmp(k, "--joined-at") == 0) {
            opt.joined_at = atoi(v);
        } else if (strcmp(k, "--kill") == 0) {
            opt.kill = atoi(v);
        } else if (strcmp(k, "--kill-after-ms") == 0) {
            opt.kill_after_ms = atoi(v);
        } else if (strcmp(k, "--admits") == 0) {
            for (char *s = argv[i + 1]; *s != '\0' && opt.nadmits < MAX_ADMITS;) {
                opt.admits[opt.nadmits++] = (int)strtol(s, &s, 10);
                s += *s == ',';
            }
        } else {
            fprintf(stderr, "join: unknown option %s\n", k);
            exit(2);
        }
    }
}

static uint8_t pattern(uint64_t view, int root, size_t b)
{
    return (uint8_t)(view * 131 + (uint64_t)root * 31 + b * 7 + (b >> 11));
}

/* One broadcast of len bytes from every root of comm, bytes checked. */
static void broadcast_round(MPI_Comm comm, const char *what)
{
    static uint8_t buf[BIG];
    uint64_t view;
    MPI_Group members;
    int size, rank, rc;

    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    rc = RDMC_Comm_get_view(comm, &view, &members);
    CHECK(rc == MPI_SUCCESS, "%s: RDMC_Comm_get_view returned %d", what, rc);
    if (rc != MPI_SUCCESS) {
        return;
    }
    int in_view = 0, gsize = 0;
    MPI_Group_size(members, &gsize);
    for (int root = 0; root < size; root++) {
        /* Only the view's live members root broadcasts. */
        MPI_Group world;
        int r = root, found = MPI_UNDEFINED;
        MPI_Comm_group(comm, &world);
        MPI_Group_translate_ranks(world, 1, &r, members, &found);
        MPI_Group_free(&world);
        if (found == MPI_UNDEFINED) {
            continue;
        }
        in_view++;
        const size_t lens[] = { BIG, SMALL };
        for (int i = 0; i < 2; i++) {
            size_t len = lens[i], bad = 0;
            for (size_t b = 0; b < len; b++) {
                buf[b] = rank == root ? pattern(view, root, b) : 0;
            }
            rc = MPI_Bcast(buf, (int)len, MPI_BYTE, root, comm);
            CHECK(rc == MPI_SUCCESS, "%s: MPI_Bcast from %d returned %d", what, root, rc);
            for (size_t b = 0; b < len; b++) {
                bad += buf[b] != pattern(view, root, b);
            }
            CHECK(bad == 0, "%s: %zu of %zu bytes from root %d wrong", what, bad, len, root);
        }
    }
    CHECK(in_view == gsize, "%s: %d roots of %d view members", what, in_view, gsize);
    MPI_Group_free(&members);
}

static MPI_Info token_info(void)
{
    MPI_Info info;

    MPI_Info_create(&info);
    if (opt.token != NULL) {
        MPI_Info_set(info, "rdmc_token_file", opt.token);
    }
    MPI_Info_set(info, "rdmc_timeout_ms", "60000");
    return info;
}

static uint64_t view_of(MPI_Comm comm)
{
    uint64_t view = UINT64_MAX;
    MPI_Group members;

    if (RDMC_Comm_get_view(comm, &view, &members) == MPI_SUCCESS) {
        MPI_Group_free(&members);
    }
    return view;
}

static int live_size(MPI_Comm comm)
{
    MPI_Group members;
    uint64_t view;
    int n = -1;

    if (RDMC_Comm_get_view(comm, &view, &members) == MPI_SUCCESS) {
        MPI_Group_size(members, &n);
        MPI_Group_free(&members);
    }
    return n;
}

/* What the view callback heard during one admission. */
static struct {
    int calls, joined, left;
    uint64_t view;
} heard;

static void on_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left, void *arg)
{
    (void)comm;
    (void)arg;
    heard.calls++;
    heard.view = view_id;
    MPI_Group_size(joined, &heard.joined);
    MPI_Group_size(left, &heard.left);
}

/* Tell the driver that admission k is done (-1: the group is open): the
 * view's lowest member (the group's leader) does. */
static void mark(MPI_Comm comm, int k)
{
    MPI_Group members, group;
    uint64_t view;
    char path[512];
    FILE *f;
    int first = 0, lowest = -1, rank;

    if (opt.dir == NULL || RDMC_Comm_get_view(comm, &view, &members) != MPI_SUCCESS) {
        return;
    }
    MPI_Comm_group(comm, &group);
    MPI_Group_translate_ranks(members, 1, &first, group, &lowest);
    MPI_Group_free(&group);
    MPI_Group_free(&members);
    MPI_Comm_rank(comm, &rank);
    if (rank != lowest) {
        return;
    }

    snprintf(path, sizeof(path), "%s/%s%d", opt.dir, k < 0 ? "open" : "admitted.", k < 0 ? 0 : k);
    f = fopen(path, "w");
    if (f != NULL) {
        fclose(f);
    }
}

/* Admission k on *comm: check the new communicator, broadcast on it. */
static void admit(MPI_Comm *comm, int k)
{
    MPI_Comm next;
    int old_live = live_size(*comm), old_rank, size = 0, rank = -1, flag = 0;
    uint64_t old_view = view_of(*comm);
    double t0 = rdmc_now_ms();
    int rc;

    MPI_Comm_rank(*comm, &old_rank);
    snprintf(where, sizeof(where), "%s %d, admission %d", opt.role, old_rank, k);
    memset(&heard, 0, sizeof(heard));
    rc = RDMC_Comm_set_view_callback(*comm, on_view, NULL);
    CHECK(rc == MPI_SUCCESS, "RDMC_Comm_set_view_callback returned %d", rc);
    rc = RDMC_Comm_admit(*comm, opt.admits[k], ADMIT_TIMEOUT_MS, &next);
    CHECK(rc == MPI_SUCCESS, "RDMC_Comm_admit returned %d", rc);
    if (rc != MPI_SUCCESS) {
        return;
    }
    printf("%s: admitted %d in %.0f ms\n", where, opt.admits[k], rdmc_now_ms() - t0);
    mark(*comm, k);   /* the driver starts the next joiners now */
    MPI_Comm_size(next, &size);
    MPI_Comm_rank(next, &rank);
    CHECK(size == old_live + opt.admits[k], "new size %d, expected %d + %d", size, old_live,
          opt.admits[k]);
    CHECK(rank < old_live, "an old member has rank %d of %d", rank, size);
    CHECK(RDMC_Comm_active(next, &flag) == MPI_SUCCESS && flag, "rdmc not active on it");
    CHECK(view_of(next) == old_view + 1, "view %llu after %llu",
          (unsigned long long)view_of(next), (unsigned long long)old_view);
    CHECK(heard.calls == 1 && heard.view == old_view + 1 && heard.joined == opt.admits[k] &&
              heard.left == 0,
          "view callback: %d calls, view %llu, %d joined, %d left", heard.calls,
          (unsigned long long)heard.view, heard.joined, heard.left);
    broadcast_round(next, "new communicator");
    if (*comm != MPI_COMM_WORLD) {
        MPI_Comm_free(comm);
    } else {
        broadcast_round(*comm, "old communicator");   /* unaffected */
    }
    *comm = next;
}

static int run_member(void)
{
    MPI_Comm comm = MPI_COMM_WORLD;
    MPI_Info info = token_info();
    int rank, flag = 0, rc;

    MPI_Comm_rank(comm, &rank);
    snprintf(where, sizeof(where), "member %d", rank);
    if (opt.dir != NULL) {
        rank_pid_write(opt.dir, rank);   /* for a driver that pauses members */
    }
    rc = RDMC_Comm_active(comm, &flag);
    CHECK(rc == MPI_SUCCESS && flag, "rdmc not active on MPI_COMM_WORLD");
    rc = RDMC_Comm_open(comm, opt.group, info);
    CHECK(rc == MPI_SUCCESS, "RDMC_Comm_open returned %d", rc);
    MPI_Info_free(&info);
    if (rc != MPI_SUCCESS) {
        return 1;
    }
    mark(comm, -1);   /* the driver may start joiners now: they wait to be admitted */
    if (rank == opt.kill) {
        usleep((useconds_t)opt.kill_after_ms * 1000);
        raise(SIGKILL);
    }
    if (opt.kill >= 0) {
        /* The survivors' barrier ends once the view without it is in. */
        rc = MPI_Barrier(comm);
        CHECK(rc == MPI_SUCCESS, "barrier after the kill returned %d", rc);
        CHECK(view_of(comm) == 1, "view %llu after the kill", (unsigned long long)view_of(comm));
    }
    broadcast_round(comm, "before admitting");
    for (int k = 0; k < opt.nadmits; k++) {
        admit(&comm, k);
    }
    snprintf(where, sizeof(where), "member %d", rank);
    return 0;
}

static int run_joiner(void)
{
    MPI_Info info = token_info();
    MPI_Comm comm;
    double t0 = rdmc_now_ms();
    int rc, cls = -1, rank, size;

    snprintf(where, sizeof(where), "joiner (admission %d)", opt.joined_at);
    rc = RDMC_Comm_join(opt.group, info, &comm);
    MPI_Info_free(&info);
    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (strcmp(opt.expect, "access") == 0) {
        CHECK(cls == RDMC_ERR_ACCESS, "expected RDMC_ERR_ACCESS, got rc %d class %d", rc, cls);
        return 0;
    }
    if (strcmp(opt.expect, "other") == 0) {
        CHECK(rc != MPI_SUCCESS && cls != RDMC_ERR_ACCESS, "expected an error, got rc %d", rc);
        return 0;
    }
    CHECK(rc == MPI_SUCCESS, "RDMC_Comm_join returned %d", rc);
    if (rc != MPI_SUCCESS) {
        return 1;
    }
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    snprintf(where, sizeof(where), "joiner %d of %d (admission %d)", rank, size, opt.joined_at);
    CHECK(view_of(comm) >= 1, "view id %llu", (unsigned long long)view_of(comm));
    double joined_ms = rdmc_now_ms() - t0;
    long long before = rdmc_pvar_read("coll_rdmc_bcasts");
    broadcast_round(comm, "first round");
    printf("%s: join latency: RDMC_Comm_join returned after %.0f ms, first broadcast round "
           "(%d roots) done after %.0f ms\n",
           where, joined_ms, size, rdmc_now_ms() - t0);
    CHECK(rdmc_pvar_read("coll_rdmc_bcasts") > before, "rdmc carried none of the broadcasts");
    for (int k = opt.joined_at + 1; k < opt.nadmits; k++) {
        admit(&comm, k);
    }
    return 0;
}

static int run_rogue(void)
{
    char value[MPI_MAX_PORT_NAME] = "";
    uint8_t junk[64], buf[4096];
    size_t len;
    int fd, rc;

    snprintf(where, sizeof(where), "rogue");
    rc = MPI_Lookup_name(opt.group, MPI_INFO_NULL, value);
    CHECK(rc == MPI_SUCCESS && strchr(value, ':') != NULL, "lookup gave %d '%s'", rc, value);
    if (rc != MPI_SUCCESS || strchr(value, ':') == NULL) {
        return 1;
    }
    *strrchr(value, ':') = '\0';
    rc = rdmc_join_connect(value, atoi(value + strlen(value) + 1), rdmc_now_ms() + 10000, &fd);
    CHECK(rc == 0, "cannot connect: %d", rc);
    if (rc != 0) {
        return 1;
    }
    /* A frame that holds no join message, after the group's challenge. */
    rc = rdmc_join_recv_frame(fd, buf, sizeof(buf), &len, rdmc_now_ms() + 60000);
    CHECK(rc == 0, "no challenge: %d", rc);
    memset(junk, 0x5a, sizeof(junk));
    rc = rdmc_join_send_frame(fd, junk, sizeof(junk), rdmc_now_ms() + 10000);
    CHECK(rc == 0, "cannot send: %d", rc);
    /* The group answers "malformed" and hangs up. */
    rc = rdmc_join_recv_frame(fd, buf, sizeof(buf), &len, rdmc_now_ms() + 10000);
    CHECK(rc == 0, "no verdict: %d", rc);
    rc = rdmc_join_recv_frame(fd, buf, sizeof(buf), &len, rdmc_now_ms() + 10000);
    CHECK(rc == -ECONNRESET, "the group kept the connection: %d", rc);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int provided;

    MPI_Init_thread(&argc, &argv, MPI_THREAD_SINGLE, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    parse(argc, argv);
    if (opt.group == NULL) {
        fprintf(stderr, "join: --group is required\n");
        return 2;
    }
    if (strcmp(opt.role, "member") == 0) {
        run_member();
    } else if (strcmp(opt.role, "joiner") == 0) {
        run_joiner();
    } else {
        run_rogue();
    }
    printf("%s %s\n", failures == 0 ? "PASS" : "FAIL", where);
    fflush(stdout);
    if (opt.kill >= 0) {
        _exit(0);   /* Open MPI 4.1's MPI_Finalize waits for the dead */
    }
    MPI_Finalize();
    return 0;
}
