#!/bin/bash
# A pipelined etcd writer: COUNT puts of SIZE bytes through etcd's HTTP
# API (the gRPC gateway, /v3/kv/put) with one curl doing up to PARALLEL
# requests at once (--parallel: that many keep-alive connections).
#
#   etcd_put.sh ENDPOINT SIZE COUNT PARALLEL CLIENT set|seq DIR [START_EPOCH]
#
# set: every put to the key /bench/kCLIENT (the state stays one key per
# client); seq: the keys /seq/cCC/NNNNNNNNN, one each, so that the
# members' copies can be read back in revision order.  START_EPOCH: wait
# until then (clients on several hosts start together).  Prints
#
#   RESULT client=C size=S count=N ok=K failed=F start=T0 end=T1 msgs_per_s=..
#          lat_med_us=.. lat_p99_us=.. gap_ms=..
#
# latency: curl's time_total of each request; gap (seq only, from curl's
# --trace-time trace): the longest time between two successful replies.
set -eu

[ $# -ge 7 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
endpoint=$1 size=$2 count=$3 parallel=$4 client=$5 mode=$6 dir=$7 start_at=${8:-0}
mkdir -p "$dir"
cfg=$dir/curl.$client.cfg

# base64 of SIZE bytes, without line breaks.
# (In files: a 1 MiB value is too long for one command-line argument.)
head -c "$size" /dev/zero | tr '\0' 'a' | base64 -w0 >"$dir/value.$client"
key=$(printf '/bench/k%s' "$client" | base64 -w0)
printf '{"key":"%s","value":"%s"}' "$key" "$(cat "$dir/value.$client")" >"$dir/put.$client.json"

# seq: the keys /seq/cCC/NNNNNNNNN, base64, one a line.  Both parts are
# 9 characters, a multiple of 3, so a key's base64 is its parts' base64
# side by side, and NNNNNNNNN's that of its three 3-digit groups: one
# base64 run encodes the prefix, another all 1000 groups.
keys=$dir/keys.$client
: >"$keys"
if [ "$mode" = seq ]; then
    prefix=$(printf '/seq/c%02d/' "$client" | base64 -w0)
    seq -f '%03g' 0 999 | tr -d '\n' | base64 -w0 |
        awk -v n="$count" -v prefix="$prefix" '{
            for (i = 0; i < n; i++) {
                d = sprintf("%09d", i)
                k = prefix
                for (g = 0; g < 3; g++) k = k substr($0, substr(d, 3 * g + 1, 3) * 4 + 1, 4)
                print k
            }
        }' >"$keys"
fi

# One block of options per request, separated by "next".
awk -v n="$count" -v url="http://$endpoint/v3/kv/put" -v mode="$mode" -v keys="$keys" \
    -v json="$dir/put.$client.json" -v valuefile="$dir/value.$client" '
    BEGIN {
        getline value <valuefile
        for (i = 0; i < n; i++) {
            print "url = \"" url "\""
            if (mode == "seq") {
                getline k <keys
                printf("data-binary = \"{\\\"key\\\":\\\"%s\\\",\\\"value\\\":\\\"%s\\\"}\"\n",
                       k, value)
            } else {
                print "data-binary = \"@" json "\""
            }
            print "output = \"/dev/null\""
            print "write-out = \"%{http_code} %{time_total}\\n\""
            if (i < n - 1) print "next"
        }
    }' >"$cfg"

now() { date +%s.%N; }
# One sleep until START_EPOCH (none if it has passed).
if [ "$start_at" != 0 ]; then
    sleep "$(awk -v a="$start_at" -v b="$(now)" 'BEGIN { d = a - b; printf("%.3f", d > 0 ? d : 0) }')"
fi
trace=()
[ "$mode" != seq ] || trace=(-v --trace-time)
start=$(now)
curl -sS "${trace[@]}" --parallel --parallel-max "$parallel" -K "$cfg" \
    >"$dir/replies.$client" 2>"$dir/trace.$client" || true
end=$(now)

gap=0
if [ "$mode" = seq ]; then
    # "HH:MM:SS.uuuuuu < HTTP/1.1 200 OK": the replies' arrival times.
    gap=$(awk '$2 == "<" && $3 ~ /^HTTP/ && $4 == 200 {
                   split($1, t, ":"); s = t[1] * 3600 + t[2] * 60 + t[3]
                   if (p != "" && s - p > g) g = s - p
                   p = s
               } END { printf("%.1f", g * 1e3) }' "$dir/trace.$client")
fi
sort -k2 -g "$dir/replies.$client" | awk -v c="$client" -v s="$size" -v n="$count" \
    -v t0="$start" -v t1="$end" -v gap="$gap" '
    $1 == 200 { lat[ok++] = $2 * 1e6 }
    END {
        med = ok ? lat[int((ok - 1) * 0.5)] : 0
        p99 = ok ? lat[int((ok - 1) * 0.99)] : 0
        printf("RESULT client=%s size=%s count=%d ok=%d failed=%d start=%.6f end=%.6f " \
               "msgs_per_s=%.1f lat_med_us=%.1f lat_p99_us=%.1f gap_ms=%s\n",
               c, s, n, ok, n - ok, t0, t1, ok / (t1 - t0), med, p99, gap)
    }'
