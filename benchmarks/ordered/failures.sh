# Failure runs for run.sh (sourced): a member killed (SIGKILL) in the
# middle of a stream of 1 KiB ordered writes, first an ordinary member
# (rdmc: rank N-1; ZooKeeper/etcd: a follower), then the leader (rdmc: rank
# 0, the lowest live rank, which leads view changes; ZooKeeper/etcd: the
# elected leader).  Reported per run in failures.txt: the longest gap
# between two consecutive deliveries (rdmc: at any survivor) or replies
# (the client, which talks to a follower that survives), what was
# delivered, and whether every survivor holds the same sequence (rdmc:
# compared on the shrunk communicator; ZooKeeper/etcd: read back from
# every surviving server after a sync, in commit order).
# shellcheck shell=bash
# shellcheck disable=SC2154 # run.sh's variables

FAIL_SIZE=1024

# rdmc: all senders in turn, W broadcasts outstanding, rank VICTIM dies
# while broadcast COUNT/4 is under way.
rdmc_failure() {
    local n=$1 rate=$2 victim=$3 role=$4 count f
    count=$((quick ? 4000 : 30000))
    f=$out/raw/fail-rdmc-$n-$role
    mkdir -p "$f.d"
    emu_run "$f" "$limit" "${RDMC_MCA[@]}" "$ORD_BENCH" -s $FAIL_SIZE -n "$count" \
        -w "$rdmc_window" -a -x 20 -k "$victim" -K $((count / 4)) -d "$f.d" || true
    # mpirun's status means nothing with recovery on; the survivors' line does.
    local line
    line=$(grep '^FAILURE' "$f" | head -n 1 || true)
    echo "rdmc $n $rate $role rank$victim ${line:-FAILURE no-result}" >>"$out/failures.txt"
}

# The follower a client uses and the victim: host numbers, from the leader.
pick_hosts() {
    local n=$1 leader=$2 role=$3 k client="" victim=""
    for k in $(seq 1 "$n"); do
        [ "$k" != "$leader" ] || continue
        if [ -z "$client" ]; then client=$k; else victim=$k; fi
    done
    [ "$role" != leader ] || victim=$leader
    echo "$client $victim"
}

# readback SYSTEM HOST: "count hash" of the sequence server HOST holds.
readback() {
    if [ "$1" = zk ]; then
        ord_in_host "$2" timeout 60 "$ZK_BENCH" -H "$ord_net.$2:2181" -r -T 50 |
            awk '{ split($2, c, "="); split($3, h, "="); print c[2], h[2] }'
    else
        local keys
        keys=$(ord_in_head timeout 60 etcdctl --endpoints "$ord_net.$2:2379" get /seq/ --prefix \
            --keys-only --sort-by=MODIFY --order=ASCEND --consistency=s | grep . || true)
        echo "$(printf '%s\n' "$keys" | grep -c .) $(printf '%s\n' "$keys" | md5sum | cut -c1-8)"
    fi
}

# server_failure SYSTEM N RATE ROLE: a fresh in-memory ensemble, a stream
# of sequential writes from a client on a surviving follower, the victim
# killed 1.5 s in.
server_failure() {
    local sys=$1 n=$2 rate=$3 role=$4 dir leader client victim count pid line k seqs
    dir=$mem/fail-$sys-$role
    rm -rf "$dir"
    "${sys}_start" "$n" memory "$dir" || { ord_stop_servers; return 0; }
    leader=$("${sys}_leader" "$n" || true)
    [ -n "$leader" ] || { echo "$sys $n $rate $role no-leader" >>"$out/failures.txt"; ord_stop_servers; return 0; }
    read -r client victim <<<"$(pick_hosts "$n" "$leader" "$role")"
    count=$((quick ? 4000 : 12000))
    if [ "$sys" = zk ]; then
        ord_in_host "$client" timeout -k 5 "$limit" "$ZK_BENCH" -H "$ord_net.$client:2181" -m create \
            -s $FAIL_SIZE -n "$count" -w "$client_window" -c "$client" -T "$limit" \
            >"$dir/client.out" 2>"$dir/client.err" &
    else
        ord_in_host "$client" timeout -k 5 "$limit" "$here/etcd_put.sh" "$ord_net.$client:2379" \
            $FAIL_SIZE "$count" "$client_window" "$client" seq "$dir/c" \
            >"$dir/client.out" 2>"$dir/client.err" &
    fi
    pid=$!
    # etcd's client first writes its requests out; the stream starts after.
    [ "$sys" = zk ] || for _ in $(seq 1 300); do
        [ ! -s "$dir/c/curl.$client.cfg" ] || break
        sleep 0.1
    done
    sleep 1.5
    kill -KILL "${ord_pids[victim]}" 2>/dev/null || true
    wait "$pid" || true
    sleep 2 # the survivors apply what was committed
    seqs=""
    for k in $(seq 1 "$n"); do
        [ "$k" != "$victim" ] || continue
        seqs+="h$k:$(readback "$sys" "$k" | tr -s ' ' ':' | sed 's/:$//') "
    done
    line=$(grep '^RESULT' "$dir/client.out" || echo "RESULT none")
    echo "$sys $n $rate $role h$victim(leader=h$leader,client=h$client) $line readback: $seqs" \
        >>"$out/failures.txt"
    cp "$dir/client.out" "$dir/client.err" "$out/raw/" 2>/dev/null || true
    ord_stop_servers
    rm -rf "$dir"
}

failure_runs() {
    local n=$1 rate=$2
    echo "# failure runs, $n hosts, $rate: $(date +%T)" >&2
    cluster "$n" "$rate"
    if want rdmc; then
        rdmc_failure "$n" "$rate" $((n - 1)) member
        rdmc_failure "$n" "$rate" 0 leader
    fi
    for sys in zk etcd; do
        want "$sys" || continue
        server_failure "$sys" "$n" "$rate" follower
        server_failure "$sys" "$n" "$rate" leader
    done
}
