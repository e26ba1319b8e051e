# shellcheck shell=sh
# Shared by the MPI integration tests (sourced).  Runs mpirun with this
# build's component ahead of the installed ones, bounded in time.
set -eu

: "${RDMC_BUILDDIR:?run through make check}"
: "${RDMC_SRCDIR:?run through make check}"
MPIRUN=${MPIRUN:-mpirun}
TESTS_DIR="$RDMC_BUILDDIR/tests/mpi"
# The component is found in the build tree first, then Open MPI's own.
COMPONENT_PATH="$RDMC_BUILDDIR/.libs:SYS_DEFAULT"
# Open MPI 5's mpirun passes the component path to PMIx too: keep PMIx on
# its own folder (configure found it), or every rank lists our files as
# "bad prefix".
PMIX_ARGS=""
if [ -n "${RDMC_PMIX_COMPONENT_DIR:-}" ]; then
    PMIX_ARGS="--pmixmca mca_base_component_path $RDMC_PMIX_COMPONENT_DIR"
fi
# mpirun's flag for a job that survives failures (for the tests that
# source this): Open MPI 4.1's, or 5's ULFM (--enable-recovery is accepted
# there but reaches no rank).
# shellcheck disable=SC2034
RECOVERY="--enable-recovery"
if [ "${RDMC_OMPI_MAJOR:-4}" -ge 5 ]; then
    # shellcheck disable=SC2034
    RECOVERY="--with-ft ulfm"
fi

# Short runs, the default: the same paths with fewer repetitions (fewer
# process counts, layouts, sizes or broadcasts; the tests say which), so
# that CI's four runs of the suite fit its time.  RDMC_TEST_LONG=1 make
# check runs every repetition (about twice as long).
# shellcheck disable=SC2034
RDMC_SHORT=1
if [ "${RDMC_TEST_LONG:-0}" = 1 ]; then
    RDMC_SHORT=0
fi

SANITIZER_ENV=""
if [ "${RDMC_SANITIZERS:-0}" = 1 ]; then
    # Open MPI leaks at exit by design; leaks are checked in the unit tests.
    SANITIZER_ENV="-x ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 -x UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
fi
if [ "${RDMC_TSAN:-0}" = 1 ]; then
    # make check's TSAN_OPTIONS (the suppressions file) to every rank.
    SANITIZER_ENV="-x TSAN_OPTIONS"
fi

# A test that loads the machine (busy.test and large_group.test set
# RDMC_LOADS_MACHINE=1) runs alone: under make -j2 its hogs and paused
# ranks would otherwise land on another test's failure detectors, at
# several times the load that test states (chaos.test's join, next to
# busy.test, once saw a member stopped for 272 ms removed at a 1000 ms
# failure timeout).  It holds the machine lock (fd 9) exclusively, every
# other MPI test shared, until its shell exits.  A shared lock is taken
# through the gate (fd 8), which one waiting for the lock exclusively
# holds meanwhile: flock(1) would otherwise grant new shared locks ahead
# of it, and the exclusive waiter sat on its make slot until every other
# test had run (Open MPI 5's suite took 5 minutes longer).  Nobody waits
# for the gate while holding the lock.  Every wait is bounded.
RDMC_MACHINE_LOCK="$RDMC_BUILDDIR/tests/mpi/.machine.lock"
exec 9>"$RDMC_MACHINE_LOCK" 8>"$RDMC_MACHINE_LOCK.gate"

# rdmc_lock_machine -s|-x: take the machine lock through the gate.
rdmc_lock_machine() {
    if ! flock -x -w 1800 8 || ! flock "$1" -w 1800 9; then
        echo "$0: waited 1800 s for $RDMC_MACHINE_LOCK" >&2
        flock -u 8
        return 1
    fi
    flock -u 8
}

if [ "${RDMC_LOADS_MACHINE:-0}" = 1 ]; then
    rdmc_lock_machine -x || exit 1
else
    rdmc_lock_machine -s || exit 1
fi

# rdmc_alone CMD...: run CMD with the machine lock held exclusively (no
# other MPI test runs meanwhile), then share it again; CMD's exit status.
# install.test's `make install` needs it: libtool relinks the component
# for its installed run path by moving the build tree's
# .libs/mca_coll_rdmc.so aside and writing a new one in its place, and a
# test that started mpirun meanwhile found the file "too short" and ran
# without rdmc.
rdmc_alone() {
    flock -u 9
    rdmc_lock_machine -x || return 1
    rdmc_alone_status=0
    "$@" || rdmc_alone_status=$?
    flock -s -w 1800 9 || rdmc_alone_status=1
    return "$rdmc_alone_status"
}

# rdmc_mpirun NP [mpirun options and program...]
# Exit status: mpirun's (124, or 137 after -k, when it timed out).
rdmc_mpirun() {
    rdmc_np=$1
    shift
    echo "+ mpirun -np $rdmc_np $*"
    if [ "${RDMC_OMPI_MAJOR:-4}" -lt 5 ]; then
        rdmc_mpirun_bounded "$rdmc_np" "$@"
        return
    fi
    # PRRTE names its session dir under TMPDIR after mpirun's PID: runs in
    # other PID namespaces sharing /tmp (ompi5-root's run.sh), or a dir a
    # killed run left, make a later mpirun fail ("prte_session_dir failed").
    # A fresh TMPDIR per mpirun cannot collide.
    rdmc_session=$(mktemp -d /tmp/rdmc-mpirun.XXXXXX)
    rdmc_status=0
    (
        TMPDIR=$rdmc_session
        export TMPDIR
        rdmc_mpirun_bounded "$rdmc_np" "$@"
    ) || rdmc_status=$?
    rm -rf "$rdmc_session"
    return "$rdmc_status"
}

# rdmc_mpirun_bounded NP [mpirun options and program...]: mpirun itself.
rdmc_mpirun_bounded() {
    rdmc_np=$1
    shift
    # shellcheck disable=SC2086
    # No stdin: mpirun forwards it to rank 0, and with --enable-recovery and
    # a killed rank, Open MPI 4.1's MPI_Finalize can then wait for minutes.
    # -k: Open MPI 5's mpirun of a DVM job can outlive a TERM ("Abort is in
    # progress").
    timeout -k 30 "${RDMC_MPIRUN_TIMEOUT:-600}" "$MPIRUN" --allow-run-as-root --oversubscribe \
        -np "$rdmc_np" --mca mca_base_component_path "$COMPONENT_PATH" $PMIX_ARGS $SANITIZER_ENV "$@" </dev/null
}

# Provider options: shm, or tcp over loopback only.
provider_args() {
    case "$1" in
    shm) echo "--mca coll_rdmc_provider shm" ;;
    tcp) echo "--mca coll_rdmc_provider tcp --mca coll_rdmc_domain lo -x FI_TCP_IFACE=lo" ;;
    *) echo "unknown provider $1" >&2; exit 2 ;;
    esac
}

# Every byte of every size through rdmc, np = 2..8, on one provider, with
# the provider's default schedule; then every schedule by name at np = 5
# (not a power of two: twin vertices) and 8.  Short runs take the large
# sizes at np 2, 5 and 8 only (a pair, twin vertices and a power of two)
# and the schedules by name at np 5.
run_bcast_suite() {
    provider=$1
    small_nps="2 3 4 5 6 7 8"
    large_nps="2 3 4 5 6 7 8"
    schedule_nps="5 8"
    if [ "$RDMC_SHORT" = 1 ]; then
        small_nps="2 3 5 8"
        large_nps="2 5 8"
        schedule_nps=5
    fi
    # shellcheck disable=SC2046
    for np in $small_nps; do
        rdmc_mpirun "$np" $(provider_args "$provider") \
            --mca coll_rdmc_block_bytes 4096 --mca coll_rdmc_bcast_min_bytes 0 \
            "$TESTS_DIR/bcast_check" --small --block 4096
        case " $large_nps " in
        *" $np "*) rdmc_mpirun "$np" $(provider_args "$provider") \
            --mca coll_rdmc_bcast_min_bytes 0 "$TESTS_DIR/bcast_check" --large --comms ;;
        esac
    done
    # shellcheck disable=SC2046
    for schedule in binomial_pipeline chain sequential binomial_tree fanout; do
        for np in $schedule_nps; do
            rdmc_mpirun "$np" $(provider_args "$provider") --mca coll_rdmc_schedule "$schedule" \
                --mca coll_rdmc_block_bytes 4096 --mca coll_rdmc_bcast_min_bytes 0 \
                "$TESTS_DIR/bcast_check" --small --no-split --block 4096
        done
    done
}

# rdmc_pause PID MS [LOG]: stop a process for MS milliseconds; false when
# it is gone.  On a loaded machine the shell that does it may itself wait
# for a core, and the stop last longer: LOG gets how long it lasted at
# most (ms, from before the stop to after the continue), a line each.
rdmc_pause() {
    rdmc_pause_s=$(awk -v ms="$2" 'BEGIN { print ms / 1000 }')
    rdmc_pause_t0=$(date +%s%N)
    kill -STOP "$1" 2>/dev/null || return 1
    sleep "$rdmc_pause_s"
    kill -CONT "$1" 2>/dev/null || true
    if [ -n "${3:-}" ]; then
        echo $((($(date +%s%N) - rdmc_pause_t0) / 1000000)) >>"$3"
    fi
}

# rdmc_kill_ranks DIR R[,R...]: SIGKILL what is left of those ranks of a
# program that wrote DIR/rank.R (tests/mpi/rank_pid.h), e.g. a victim
# stopped for good whose survivors failed before they could end it.
rdmc_kill_ranks() {
    for rdmc_r in $(echo "$2" | tr ',' ' '); do
        if [ -f "$1/rank.$rdmc_r" ]; then
            kill -9 "$(cat "$1/rank.$rdmc_r")" 2>/dev/null || true
        fi
    done
}

# rdmc_shm_snapshot FILE: the names in /dev/shm now, taken before a job.
# rdmc_shm_left FILE PID...: the names in /dev/shm carrying one of those
# process ids (ours: rdmc-[doorbell-]PID-HEX8-N; libfabric's shm provider
# names its own PID:...) that were not in the snapshot.  The whole pid
# field is matched (pid 346 is not 6346, which a test beside this one may
# own), and names older than the job are left out: a job killed whole
# (mpirun too) long ago leaves its names behind, and the kernel may have
# given one of its pids to a rank of ours since.
rdmc_shm_snapshot() {
    find /dev/shm -maxdepth 1 | sort >"$1"
}
rdmc_shm_left() {
    rdmc_snapshot=$1
    shift
    for rdmc_pid in "$@"; do
        find /dev/shm -maxdepth 1 | grep -E "^/dev/shm/($rdmc_pid:|rdmc-(doorbell-)?$rdmc_pid-)" |
            grep -vxF -f "$rdmc_snapshot" || true
    done
}

# rdmc_verdicts FILE COUNT [WHO]: true when FILE holds COUNT "PASS WHO"
# verdicts and no "FAIL WHO" (WHO: an extended regex, "rank" by default);
# leaves the count of passes in rdmc_pass_count.  A verdict may follow
# other output on its line: Open MPI 5's mpirun forwards a rank's stderr
# and stdout separately and can glue a message to it.
rdmc_verdicts() {
    rdmc_who=${3:-rank}
    rdmc_pass_count=$(grep -oE "(PASS|FAIL) ($rdmc_who)" "$1" | grep -c '^PASS' || true)
    ! grep -qE "FAIL ($rdmc_who)" "$1" && [ "$rdmc_pass_count" -eq "$2" ]
}

# rdmc_name_service_start DIR: the name service that separately started
# mpiruns share for joins, in the background: an ompi-server, or under
# Open MPI 5 (no ompi-server) a PRRTE DVM, in whose jobs
# MPI_Publish_name/MPI_Lookup_name and connect/accept work across jobs.
# Its URI goes to DIR/uri; sets rdmc_server_pid and RDMC_SERVER (the
# mpirun options that reach it).  False, after what it printed, if it did
# not start.
rdmc_name_service_start() {
    if [ "${RDMC_OMPI_MAJOR:-4}" -ge 5 ]; then
        mkdir -p "$1/prte"
        TMPDIR="$1/prte" prte --no-ready-msg --allow-run-as-root \
            --report-uri "$1/uri" </dev/null >"$1/server" 2>&1 &
        rdmc_server_pid=$!
        # Open MPI 5.0.7's sm BTL does not reach a process of another job
        # ("unable to reach each other", host "unknown"): the joined
        # communicators' traffic needs btl/tcp, which leaves loopback out
        # unless told.
        RDMC_SERVER="--dvm file:$1/uri --mca btl_tcp_if_include lo"
    else
        ompi-server --no-daemonize -r "$1/uri" >"$1/server" 2>&1 &
        rdmc_server_pid=$!
        RDMC_SERVER="--ompi-server file:$1/uri"
    fi
    for rdmc_i in $(seq 1 100); do
        [ -s "$1/uri" ] && return 0
        kill -0 "$rdmc_server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the name service did not start (${RDMC_SERVER%% *}) in $rdmc_i tries:"
    cat "$1/server"
    return 1
}

# rdmc_name_service_stop DIR: pterm stops a DVM with its jobs; then the
# process itself, bounded.
rdmc_name_service_stop() {
    if [ "${RDMC_OMPI_MAJOR:-4}" -ge 5 ] && [ -s "$1/uri" ]; then
        rdmc_pterm=$(command -v pterm || command -v pterm.openmpi || true)
        if [ -n "$rdmc_pterm" ]; then
            timeout 20 "$rdmc_pterm" --dvm-uri "file:$1/uri" >/dev/null 2>&1 || true
        fi
    fi
    kill "$rdmc_server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$rdmc_server_pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$rdmc_server_pid" 2>/dev/null || true
}
