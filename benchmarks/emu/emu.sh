#!/bin/bash
# An emulated cluster on one machine: N hosts, each a network namespace with
# one link of a given rate to a shared switch, and a control namespace that
# runs mpirun.  Needs root and iproute2.
#
#   emu.sh setup N RATE [SLOW_HOST [SLOW_FACTOR]]
#   emu.sh mpirun [mpirun options] PROGRAM [args]   one rank per host, or
#                                                   EMU_LAYOUT's ranks
#   emu.sh teardown
#   emu.sh list                                     what exists now
#   emu.sh wire                                     bytes the hosts have sent
#
# RATE is tc's syntax (200mbit, 1gbit).  SLOW_HOST K gives host hK a link
# SLOW_FACTOR (default 4) times slower than the others.  EMU_PREFIX (default
# rdmcemu) names everything this script creates, so that two clusters (a
# test and a benchmark) can exist at once without touching each other.
# EMU_GSO (default 65536) sets the largest packet and the token buckets'
# burst (twice that); see below.
#
# mpirun reads two more, per run, so that one cluster serves several
# layouts: EMU_LAYOUT=a,b,... puts a ranks on h1, b on h2, ... (hosts past
# the list, and entries of 0, get none; -np is the sum; Open MPI numbers
# h1's ranks first); unset, every host gets one.  EMU_BTL is Open MPI's
# btl list: by default tcp,self with at most one rank per host and
# tcp,vader,self with more, so that the ranks of one host share memory as
# on a real node (each host has its own orted, so Open MPI takes them for
# local ranks and the ranks of other hosts for remote ones, which vader
# never pairs: between hosts only the shaped links carry data).  With
# tcp,self two ranks of one host would talk TCP over loopback, unshaped.
# The ranks of one host share its link and, like every rank, the
# machine's cores.
#
#   namespace P-head (10.99.0.254, runs mpirun; its link is not shaped)
#         eth0 ==veth== vhead --+
#   namespace P-h1 (10.99.0.1)  |
#         eth0 ==veth== vh1 ----+-- namespace P-sw: bridge br0, the switch
#   ...                         |
#   namespace P-hN (10.99.0.N)  |
#         eth0 ==veth== vhN ----+
#
# A host sends at most RATE (tbf on its eth0) and receives at most RATE
# (tbf on its switch port towards it): a NIC on a non-blocking switch.
# 10.99.0.0/24 exists only inside these namespaces and none of them has a
# default route, so no emulated traffic can leave them; no interface is
# ever created in the namespace this script runs in.
set -eu

PREFIX=${EMU_PREFIX:-rdmcemu}
STATE=/tmp/$PREFIX.emu          # hostfile and the cluster's description
NET=10.99.0
HERE=$(cd "$(dirname "$0")" && pwd)

# TCP hands the veth 64 KiB super-packets (GSO); smaller ones cost ~2.5x
# more CPU per bit, and the CPUs must not become the bottleneck.  The token
# bucket must hold at least one such packet, twice for slack.  But a full
# bucket lets that much through at once: a hop that has been idle forwards
# its first 2 x GSO bytes without delay, which hides the store-and-forward
# time of small segments hop after hop (a chain's N - 2 extra steps).
# EMU_GSO=16384 makes that 32 KiB, for more CPU.
GSO=${EMU_GSO:-65536}
BURST=$((2 * GSO))
# A host's send queue: a broadcast root has many streams at once, and a
# real NIC's queue (1000 GSO packets) practically never drops; a small one
# here made roots drop packets and TCP back off.
HOST_QUEUE=$((16 * 1024 * 1024))
# A switch port's queue: 10 ms at the port's rate, at least 256 KiB, like a
# real switch's buffer; overflowing it is real TCP loss.
PORT_QUEUE_MS=10
PORT_QUEUE_MIN=262144

die() {
    echo "emu.sh: $*" >&2
    exit 1
}

# Bits per second of a tc rate (k, m, g are powers of 1000 in tc).
rate_bps() {
    local r=${1,,}
    case "$r" in
    *gbit) echo $((${r%gbit} * 1000000000)) ;;
    *mbit) echo $((${r%mbit} * 1000000)) ;;
    *kbit) echo $((${r%kbit} * 1000)) ;;
    *) die "rate '$1': use Nkbit, Nmbit or Ngbit" ;;
    esac
}

our_namespaces() {
    ip netns list | awk '{print $1}' | grep -E "^$PREFIX-(sw|head|h[0-9]+)\$" || true
}

# A namespace with loopback up and IPv6 off (no router solicitations or
# neighbour discovery chatter on the shaped links).
make_namespace() {
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
}

# A veth pair created inside the switch namespace, its far end moved
# straight into namespace NS as eth0 with ADDRESS.
plug() {
    local ns=$1 address=$2 port=$3
    ip -n "$PREFIX-sw" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$PREFIX-sw" link set "$port" gso_max_size "$GSO" master br0 up
    ip -n "$ns" link set eth0 gso_max_size "$GSO" up
    ip -n "$ns" addr add "$address/24" dev eth0
}

# Token buckets on host hK: its sending side and the switch port feeding it.
shape() {
    local host=$1 bps=$2 port_queue
    port_queue=$((bps * PORT_QUEUE_MS / 8000))
    [ "$port_queue" -ge "$PORT_QUEUE_MIN" ] || port_queue=$PORT_QUEUE_MIN
    ip netns exec "$PREFIX-h$host" tc qdisc add dev eth0 root tbf rate "${bps}bit" \
        burst "$BURST" limit "$HOST_QUEUE"
    ip netns exec "$PREFIX-sw" tc qdisc add dev "vh$host" root tbf rate "${bps}bit" \
        burst "$BURST" limit "$port_queue"
}

setup() {
    [ $# -ge 2 ] || die "usage: emu.sh setup N RATE [SLOW_HOST [SLOW_FACTOR]]"
    local n=$1 rate=$2 slow=${3:-0} factor=${4:-4} bps k
    case "$n" in '' | *[!0-9]*) die "N must be a number" ;; esac
    if [ "$n" -lt 1 ] || [ "$n" -gt 250 ]; then
        die "N must be 1..250"
    fi
    bps=$(rate_bps "$rate")
    [ -z "$(our_namespaces)" ] || die "a cluster named $PREFIX exists; emu.sh teardown first"
    command -v tc >/dev/null || die "tc (iproute2) is missing"

    # A half-built cluster is torn down before the error is reported.
    trap 'echo "emu.sh: setup failed, tearing down" >&2; teardown >/dev/null 2>&1' ERR

    make_namespace "$PREFIX-sw"
    ip -n "$PREFIX-sw" link add br0 type bridge
    ip -n "$PREFIX-sw" link set br0 up
    make_namespace "$PREFIX-head"
    plug "$PREFIX-head" "$NET.254" vhead
    for k in $(seq 1 "$n"); do
        make_namespace "$PREFIX-h$k"
        plug "$PREFIX-h$k" "$NET.$k" "vh$k"
        if [ "$k" = "$slow" ]; then
            shape "$k" $((bps / factor))
        else
            shape "$k" "$bps"
        fi
    done

    # Names of the hosts, seen only inside the namespaces: `ip netns exec`
    # mounts /etc/netns/NS/* over /etc/*.  Lookups of other names fail at
    # once on the namespace's own loopback instead of waiting for a DNS
    # server that is unreachable.
    mkdir -p "$STATE"
    {
        echo "127.0.0.1 localhost"
        echo "$NET.254 head"
        for k in $(seq 1 "$n"); do echo "$NET.$k h$k"; done
    } >"$STATE/hosts"
    for ns in "$PREFIX-head" $(seq -f "$PREFIX-h%g" 1 "$n"); do
        mkdir -p "/etc/netns/$ns"
        cp "$STATE/hosts" "/etc/netns/$ns/hosts"
        printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
    done
    seq -f 'h%g slots=1' 1 "$n" >"$STATE/hostfile"
    echo "$n $rate $slow $factor" >"$STATE/cluster"
    trap - ERR
    if [ "$slow" != 0 ]; then
        echo "emulated cluster $PREFIX: $n hosts h1..h$n at $rate, h$slow at 1/$factor of it"
    else
        echo "emulated cluster $PREFIX: $n hosts h1..h$n at $rate"
    fi
}

any_alive() {
    local pid
    for pid in "$@"; do
        ! kill -0 "$pid" 2>/dev/null || return 0
    done
    return 1
}

# Kills what runs in our namespaces (only this script's users start
# anything there), then deletes them: a namespace with a process in it
# would outlive `ip netns del`, and deleting one destroys its interfaces.
teardown() {
    local namespaces pids ns _
    namespaces=$(our_namespaces)
    pids=$(for ns in $namespaces; do ip netns pids "$ns" 2>/dev/null || true; done | tr '\n' ' ')
    if [ -n "${pids// /}" ]; then
        echo "emu.sh: stopping processes left in the cluster: $pids"
        # $pids unquoted: one word per pid.
        # shellcheck disable=SC2086
        {
            kill -TERM $pids 2>/dev/null || true
            # Up to 5 s for them to exit, then SIGKILL, then up to 2 s more.
            for _ in $(seq 1 25); do
                any_alive $pids || break
                sleep 0.2
            done
            kill -KILL $pids 2>/dev/null || true
            for _ in $(seq 1 10); do
                any_alive $pids || break
                sleep 0.2
            done
        }
    fi
    for ns in $namespaces; do
        ip netns del "$ns" || echo "emu.sh: cannot delete namespace $ns" >&2
        rm -rf "/etc/netns/$ns"
    done
    rmdir /etc/netns 2>/dev/null || true
    rm -rf "$STATE"
    [ -z "$(our_namespaces)" ] || die "namespaces left: $(our_namespaces | tr '\n' ' ')"
}

# The hostfile for EMU_LAYOUT (a,b,...: ranks on h1, h2, ...) next to the
# default one, named after the layout; prints its name.
layout_hostfile() {
    local layout=$1 n=$2 file k=0 ranks=0 count
    file=$STATE/hostfile.${layout//,/-}
    : >"$file"
    for count in ${layout//,/ }; do
        k=$((k + 1))
        case "$count" in '' | *[!0-9]*) die "EMU_LAYOUT '$layout': '$count' is not a number" ;; esac
        [ "$k" -le "$n" ] || die "EMU_LAYOUT '$layout' names more than the cluster's $n hosts"
        [ "$count" -eq 0 ] || echo "h$k slots=$count" >>"$file"
        ranks=$((ranks + count))
    done
    [ "$ranks" -gt 0 ] || die "EMU_LAYOUT '$layout' gives no host a rank"
    echo "$file"
}

# mpirun on the control namespace, one rank per host (or EMU_LAYOUT's),
# the ranks' and the runtime's traffic on the emulated network only.
emu_mpirun() {
    local n hostfile np btl
    [ -f "$STATE/cluster" ] || die "no cluster $PREFIX; emu.sh setup first"
    read -r n _ <"$STATE/cluster"
    hostfile=$STATE/hostfile
    if [ -n "${EMU_LAYOUT:-}" ]; then
        hostfile=$(layout_hostfile "$EMU_LAYOUT" "$n") || exit 1
    fi
    np=$(awk -F'slots=' '{ ranks += $2 } END { print ranks + 0 }' "$hostfile")
    # Shared memory only where a host has more than one rank (see above).
    if awk -F'slots=' '$2 > 1 { more = 1 } END { exit !more }' "$hostfile"; then
        btl=${EMU_BTL:-tcp,vader,self}
    else
        btl=${EMU_BTL:-tcp,self}
    fi
    # plm_rsh_agent: Open MPI starts one orted per host through nsrsh, as
    #   it would through ssh; nsrsh enters the host's namespace.
    # oob/btl_tcp_if_include: only the emulated network, never loopback.
    # btl and pml ob1: TCP between "hosts", shared memory (vader) only
    #   between ranks of one host; UCX would see one machine.
    # --bind-to none: every orted sees the same cores; binding to a core
    #   would put all ranks on core 0.
    # mpi_yield_when_idle 1: the ranks share the machine's few cores and
    #   would otherwise spin.
    # Open MPI 4.1's mpirun refuses an MCA parameter given twice: set the
    # btl through EMU_BTL, not on the command line.
    exec ip netns exec "$PREFIX-head" env EMU_PREFIX="$PREFIX" \
        mpirun --allow-run-as-root --hostfile "$hostfile" -np "$np" \
        --mca plm_rsh_agent "$HERE/nsrsh" \
        --mca oob_tcp_if_include "$NET.0/24" --mca btl_tcp_if_include "$NET.0/24" \
        --mca btl "$btl" --mca pml ob1 --bind-to none --mca mpi_yield_when_idle 1 \
        "$@"
}

# Bytes every host has put on its link since setup (their token buckets'
# counters: payload and every header down to Ethernet's).
wire_bytes() {
    local n k total=0 sent
    [ -f "$STATE/cluster" ] || die "no cluster $PREFIX; emu.sh setup first"
    read -r n _ <"$STATE/cluster"
    for k in $(seq 1 "$n"); do
        sent=$(ip netns exec "$PREFIX-h$k" tc -s qdisc show dev eth0 |
            awk '$1 == "Sent" { print $2; exit }')
        total=$((total + ${sent:-0}))
    done
    echo "$total"
}

case "${1:-}" in
setup) shift; setup "$@" ;;
teardown) teardown ;;
mpirun) shift; emu_mpirun "$@" ;;
list) our_namespaces ;;
wire) wire_bytes ;;
*) sed -n '2,14p' "$0"; exit 2 ;;
esac
