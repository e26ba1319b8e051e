/*
 * One verdict per process, across communicators, and the per-communicator
 * failure timeout (info key rdmc_failure_timeout_ms).  Under mpirun
 * --enable-recovery, with a long coll_rdmc_failure_timeout_ms (--long-ms,
 * 4000 in verdicts.test), every rank has:
 *
 *   - MPI_COMM_WORLD, busy: a broadcast now and then;
 *   - fast: a duplicate made with info rdmc_failure_timeout_ms = --fast-ms;
 *   - idle: a plain duplicate, set up by one barrier and then left alone;
 *   - odd: a duplicate given a malformed value ("soon"), which rdmc says
 *     and ignores (the script looks for the message).
 *
 * Rank 0 stops the victim (the last rank, SIGSTOP) for --stop-ms, longer
 * than fast's failure timeout and shorter than the others'.  fast removes
 * it (only if its timeout was taken from the info key), and the verdict
 * is the process's: MPI_COMM_WORLD and idle must remove it too, though
 * their own detectors would have kept it (it beats again when continued).
 * Each survivor checks, and prints "PASS rank R" or "FAIL rank R: ...":
 *
 *   - the victim left all four communicators' views within --bound-ms of
 *     the stop (every wait bounded);
 *   - MPI_T: the three others took fast's verdict
 *     (coll_rdmc_carried_verdicts) at the first survivor to remove the
 *     victim from fast, and no communicator took it twice;
 *   - a barrier on each, and a 1 MiB broadcast on MPI_COMM_WORLD with the
 *     bytes right, complete among the survivors, carried by rdmc (MPI_T);
 *   - the delays from the stop to each view are printed.
 *
 * The continued victim finds itself removed; rank 0 ends it (SIGKILL)
 * before the survivors leave.
 *
 *   verdicts --dir D [--fast-ms 300] [--stop-ms 1500] [--bound-ms 6000]
 */
#include <mpi.h>

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "membership/rdmc.h"
#include "rank_fail.h"
#include "rank_pid.h"
#include "rdmc_pvars.h"

enum { WORLD, FAST, IDLE, ODD, NCOMMS };
static const char *const names[NCOMMS] = { "MPI_COMM_WORLD", "fast", "idle", "odd" };

static int size;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Is the victim still in comm's current view? */
static int has_member(MPI_Comm comm, int victim)
{
    MPI_Group members, world_group;
    uint64_t vid = 0;
    int in_members = MPI_UNDEFINED;

    if (RDMC_Comm_get_view(comm, &vid, &members) != MPI_SUCCESS) {
        return -1;
    }
    MPI_Comm_group(comm, &world_group);
    MPI_Group_translate_ranks(world_group, 1, &victim, members, &in_members);
    MPI_Group_free(&members);
    MPI_Group_free(&world_group);
    return in_members != MPI_UNDEFINED;
}

static MPI_Comm dup_with_timeout(const char *value)
{
    MPI_Info info;
    MPI_Comm comm;

    MPI_Info_create(&info);
    MPI_Info_set(info, "rdmc_failure_timeout_ms", value);
    MPI_Comm_dup_with_info(MPI_COMM_WORLD, info, &comm);
    MPI_Info_free(&info);
    return comm;
}

/* The survivors' check of the bytes of one broadcast on comm. */
static void broadcast_check(MPI_Comm comm, int root, size_t len)
{
    uint8_t *buf = malloc(len);
    size_t bad = 0;

    for (size_t b = 0; b < len; b++) {
        buf[b] = rank == root ? (uint8_t)(b * 13 + 5) : 0;
    }
    if (MPI_Bcast(buf, (int)len, MPI_BYTE, root, comm) != MPI_SUCCESS) {
        fail("the broadcast among the survivors failed");
    }
    for (size_t b = 0; b < len; b++) {
        bad += buf[b] != (uint8_t)(b * 13 + 5);
    }
    if (bad != 0) {
        fail("%zu of %zu bytes wrong after the broadcast", bad, len);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *fast_ms = "300";
    int stop_ms = 1500, bound_ms = 6000, victim, victim_pid = 0;
    MPI_Comm comms[NCOMMS];
    double stop_at, gone_ms[NCOMMS] = { 0 };

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) {
            dir = argv[++a];
        } else if (strcmp(argv[a], "--fast-ms") == 0 && a + 1 < argc) {
            fast_ms = argv[++a];
        } else if (strcmp(argv[a], "--stop-ms") == 0 && a + 1 < argc) {
            stop_ms = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--bound-ms") == 0 && a + 1 < argc) {
            bound_ms = atoi(argv[++a]);
        } else {
            dir = NULL;
            break;
        }
    }
    if (dir == NULL || size < 3 || stop_ms < 1 || bound_ms <= stop_ms) {
        if (rank == 0) {
            fprintf(stderr, "usage: verdicts --dir D [--fast-ms MS] [--stop-ms MS] "
                            "[--bound-ms MS > stop] (3 ranks or more)\n");
        }
        MPI_Finalize();
        return 2;
    }
    victim = size - 1;
    rank_pid_write(dir, rank);

    comms[WORLD] = MPI_COMM_WORLD;
    comms[FAST] = dup_with_timeout(fast_ms);
    MPI_Comm_dup(MPI_COMM_WORLD, &comms[IDLE]);
    comms[ODD] = dup_with_timeout("soon");
    for (int c = 0; c < NCOMMS; c++) {
        int active = 0;
        MPI_Comm_set_errhandler(comms[c], MPI_ERRORS_RETURN);
        if (MPI_Barrier(comms[c]) != MPI_SUCCESS ||
            RDMC_Comm_active(comms[c], &active) != MPI_SUCCESS || !active) {
            fail("%s: rdmc is not active on it", names[c]);
        }
    }
    broadcast_check(MPI_COMM_WORLD, 0, 1 << 20);
    MPI_Barrier(MPI_COMM_WORLD);

    if (rank == victim) {
        /* Stopped by rank 0, then continued; removed everywhere by then.
         * Rank 0 ends it; the wait is bounded all the same. */
        for (int i = 0; i < (bound_ms + 30000) / 50; i++) {
            usleep(50 * 1000);
        }
        _exit(1);
    }

    long long barriers_before = rdmc_pvar_read("coll_rdmc_barriers");
    long long carried_before = rdmc_pvar_read("coll_rdmc_carried_verdicts");
    stop_at = now_ms();
    if (rank == 0) {
        victim_pid = rank_pid_read(dir, victim);
        if (victim_pid <= 0 || kill(victim_pid, SIGSTOP) != 0) {
            fail("cannot stop the victim (pid %d)", victim_pid);
        }
    }
    /* Watch the views (MPI_Iprobe drives Open MPI's progress, and rdmc's
     * reports with it) until the victim is out of all four. */
    for (int left = 0; left < NCOMMS && now_ms() - stop_at < bound_ms;) {
        int flag;
        if (rank == 0 && victim_pid > 0 && now_ms() - stop_at >= stop_ms) {
            kill(victim_pid, SIGCONT);
            victim_pid = 0;
        }
        MPI_Iprobe(MPI_ANY_SOURCE, 4242, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
        left = 0;
        for (int c = 0; c < NCOMMS; c++) {
            if (gone_ms[c] == 0 && has_member(comms[c], victim) == 0) {
                gone_ms[c] = now_ms() - stop_at;
            }
            left += gone_ms[c] != 0;
        }
        usleep(2000);
    }
    if (rank == 0 && victim_pid > 0) {
        kill(victim_pid, SIGCONT);
    }
    printf("rank %d: stop %d ms; the victim left", rank, stop_ms);
    for (int c = 0; c < NCOMMS; c++) {
        if (gone_ms[c] != 0) {
            printf(" %s at %.0f ms%s", names[c], gone_ms[c], c + 1 < NCOMMS ? "," : "\n");
        } else {
            printf(" %s never%s", names[c], c + 1 < NCOMMS ? "," : "\n");
        }
    }
    fflush(stdout);
    for (int c = 0; c < NCOMMS; c++) {
        if (gone_ms[c] == 0) {
            fail("%s still holds the stopped rank %d after %d ms", names[c], victim, bound_ms);
        }
    }

    for (int c = 0; c < NCOMMS; c++) {
        if (MPI_Barrier(comms[c]) != MPI_SUCCESS) {
            fail("%s: the barrier among the survivors failed", names[c]);
        }
    }
    broadcast_check(MPI_COMM_WORLD, 1, 1 << 20);
    long long carried = rdmc_pvar_read("coll_rdmc_barriers") - barriers_before;
    if (carried < NCOMMS) {
        fail("MPI_T: rdmc carried %lld of the survivors' %d barriers", carried, NCOMMS);
    }
    /* fast's verdict reached the three others.  A survivor whose fast
     * removed the victim later may have heard of it first through the
     * others' rows (not counted), but the first survivor to remove it
     * took it on all three: their own detectors, at 4 s, never fired. */
    carried = rdmc_pvar_read("coll_rdmc_carried_verdicts") - carried_before;
    long long most = 0;
    for (int root = 0; root < victim; root++) {
        long long at_root = carried;
        if (MPI_Bcast(&at_root, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD) != MPI_SUCCESS) {
            fail("the exchange of MPI_T counts failed");
        }
        most = at_root > most ? at_root : most;
    }
    printf("rank %d: %lld verdicts carried here, at most %lld at a survivor\n", rank, carried,
           most);
    if (carried > NCOMMS - 1 || most != NCOMMS - 1) {
        fail("MPI_T: %lld verdicts carried here, at most %lld at a survivor; %d expected there",
             carried, most, NCOMMS - 1);
    }

    if (rank == 0) {
        int pid = rank_pid_read(dir, victim);
        if (pid > 0) {
            kill(pid, SIGKILL);
        }
    }
    if (failures == 0) {
        printf("PASS rank %d: the victim left all %d communicators\n", rank, NCOMMS);
    }
    for (int c = FAST; c < NCOMMS; c++) {
        MPI_Comm_free(&comms[c]);
    }
    fflush(stdout);
    /* Open MPI 4.1's MPI_Finalize fences over every process the job
     * started, the dead victim included, and may wait there for good
     * (failover.c): the verdict is out, leave without it. */
    _exit(failures == 0 ? 0 : 1);
}
