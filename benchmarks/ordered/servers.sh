# ZooKeeper and etcd ensembles on the emulated cluster, one server per host
# hK (10.99.0.K), for run.sh (sourced).  Each server runs inside its
# host's namespace, with its own data folder under $ORD_DATA (disk) or
# $ORD_MEM (tmpfs); emu.sh's teardown ends whatever is left in the
# namespaces.  Every wait is bounded.
# shellcheck shell=bash

ZK_CLASSPATH=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
# Largest request a server takes: 1 MiB of data plus the request around it.
ZK_MAXBUFFER=4194304
ETCD_MAX_REQUEST=4194304
ord_net=10.99.0

# ord_in_host K command...: run in host hK's namespace.
ord_in_host() {
    local k=$1
    shift
    ip netns exec "$EMU_PREFIX-h$k" "$@"
}

# ord_in_head command...: run in the control namespace (reaches every host).
ord_in_head() {
    ip netns exec "$EMU_PREFIX-head" "$@"
}

# The server pids, one per host, of the ensemble that runs now.
declare -a ord_pids=()

ord_stop_servers() {
    local pid _
    for pid in "${ord_pids[@]}"; do
        [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 1 50); do
        local alive=0
        for pid in "${ord_pids[@]}"; do
            [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || alive=1
        done
        [ "$alive" = 1 ] || break
        sleep 0.2
    done
    for pid in "${ord_pids[@]}"; do
        [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
    done
    ord_pids=()
}

# zk_mode K: "leader", "follower" or nothing, from the srvr command.
zk_mode() {
    # shellcheck disable=SC2016 # $0 is the inner shell's
    ord_in_head timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/2181" && echo srvr >&3 && cat <&3' \
        "$ord_net.$1" 2>/dev/null | awk '$1 == "Mode:" { print $2 }'
}

# zk_start N durable|memory DIR: an ensemble of N servers, up within 90 s.
zk_start() {
    local n=$1 how=$2 dir=$3 k j ready
    for k in $(seq 1 "$n"); do
        mkdir -p "$dir/zk$k/data"
        echo "$k" >"$dir/zk$k/data/myid"
        {
            echo "tickTime=2000"
            echo "initLimit=10"
            echo "syncLimit=5"
            echo "dataDir=$dir/zk$k/data"
            echo "clientPort=2181"
            echo "clientPortAddress=$ord_net.$k"
            echo "maxClientCnxns=0"
            echo "admin.enableServer=false"
            echo "4lw.commands.whitelist=srvr"
            echo "autopurge.purgeInterval=0"
            # memory: the log on tmpfs, and no fsync of it (ZooKeeper's
            # own switch); durable: as shipped, fsync on every commit.
            [ "$how" != memory ] || echo "forceSync=no"
            for j in $(seq 1 "$n"); do echo "server.$j=$ord_net.$j:2888:3888"; done
        } >"$dir/zk$k/zoo.cfg"
        # Not through ord_in_host: $! must be the server itself.
        ip netns exec "$EMU_PREFIX-h$k" java -Xmx2g -Djute.maxbuffer=$ZK_MAXBUFFER \
            -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CLASSPATH" \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zk$k/zoo.cfg" \
            >"$dir/zk$k/log" 2>&1 </dev/null &
        ord_pids[k]=$!
    done
    for _ in $(seq 1 90); do
        ready=0
        for k in $(seq 1 "$n"); do
            case "$(zk_mode "$k")" in leader | follower) ready=$((ready + 1)) ;; esac
        done
        [ "$ready" != "$n" ] || return 0
        sleep 1
    done
    echo "ZooKeeper ensemble of $n not ready after 90 s (logs in $dir/zk*/log)" >&2
    return 1
}

# zk_leader N: the host number of the leader.
zk_leader() {
    local k
    for k in $(seq 1 "$1"); do
        [ "$(zk_mode "$k")" != leader ] || { echo "$k"; return 0; }
    done
    return 1
}

# etcd's member id and its leader's, in hex, from a status request to K.
etcd_status() {
    ord_in_head timeout 5 curl -sS -X POST -d '{}' "http://$ord_net.$1:2379/v3/maintenance/status" 2>/dev/null |
        tr ',{}' '\n' | awk -F'"' '$2 == "member_id" { m = $4 } $2 == "leader" { l = $4 }
                                       END { if (m != "") print m, l }'
}

# etcd_start N durable|memory DIR: a cluster of N members, up within 60 s.
# etcd 3.4 has no switch to skip fsync (--unsafe-no-fsync came with 3.5):
# "memory" puts its data folder on tmpfs, where fsync returns at once.
etcd_start() {
    local n=$1 how=$2 dir=$3 k cluster="" ready
    for k in $(seq 1 "$n"); do cluster+=${cluster:+,}h$k=http://$ord_net.$k:2380; done
    for k in $(seq 1 "$n"); do
        mkdir -p "$dir/etcd$k"
        ip netns exec "$EMU_PREFIX-h$k" etcd --name "h$k" --data-dir "$dir/etcd$k/data" \
            --listen-peer-urls "http://$ord_net.$k:2380" \
            --initial-advertise-peer-urls "http://$ord_net.$k:2380" \
            --listen-client-urls "http://$ord_net.$k:2379" \
            --advertise-client-urls "http://$ord_net.$k:2379" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --initial-cluster-token ordered-bench \
            --max-request-bytes $ETCD_MAX_REQUEST --quota-backend-bytes 8589934592 \
            --log-level error >"$dir/etcd$k/log" 2>&1 </dev/null &
        ord_pids[k]=$!
    done
    for _ in $(seq 1 60); do
        ready=0
        for k in $(seq 1 "$n"); do
            etcd_status "$k" | awk '$2 != "" && $2 != "0" { ok = 1 } END { exit !ok }' &&
                ready=$((ready + 1))
        done
        [ "$ready" != "$n" ] || return 0
        sleep 1
    done
    echo "etcd cluster of $n not ready after 60 s (logs in $dir/etcd*/log)" >&2
    return 1
}

# etcd_leader N: the host number of the leader.
etcd_leader() {
    local k
    for k in $(seq 1 "$1"); do
        etcd_status "$k" | awk '$1 == $2 { ok = 1 } END { exit !ok }' && { echo "$k"; return 0; }
    done
    return 1
}
