# run.sh's tables and plot (sourced): table.txt from results.dat
# (system hosts rate senders size msgs/s MB/s lat_med_us lat_p99_us note),
# failures.txt as it is, ordered.png with gnuplot.
# shellcheck shell=bash
# shellcheck disable=SC2154 # run.sh's variables

report() {
    local load_before=$1 load_after=$2
    {
        echo "# ordered uniform delivery: rdmc (stable MPI_Ibcast stream, window $rdmc_window) vs"
        echo "# ZooKeeper 3.8 and etcd 3.4 (pipelined async clients, $client_window writes outstanding each);"
        echo "# disk = durable as shipped, mem = ZooKeeper forceSync=no on tmpfs / etcd on tmpfs."
        echo "# load average before: $load_before, after: $load_after (2 cores)"
        awk '
            function name(b) {
                if (b >= 1048576 && b % 1048576 == 0) return (b / 1048576) "M"
                if (b >= 1024 && b % 1024 == 0) return (b / 1024) "K"
                return b
            }
            function rate_MBps(r) {
                if (r ~ /gbit$/) return substr(r, 1, length(r) - 4) * 125
                if (r ~ /mbit$/) return substr(r, 1, length(r) - 4) * 0.125
                return 0
            }
            {
                k = $2 " " $3
                if (!(k in seen)) { seen[k] = 1; groups[++ng] = k }
                if (!($5 in sz)) { sz[$5] = 1; sizes[++ns] = $5 }
                if (!($1 in sy)) { sy[$1] = 1; systems[++nsys] = $1 }
                t[$1, k, $4, $5] = $6; mb[$1, k, $4, $5] = $7
                med[$1, k, $4, $5] = $8; p99[$1, k, $4, $5] = $9
                if ($10 != "-") note[$1, k, $4, $5] = $10
            }
            function cell(s, k, snd, z) {
                if (!((s, k, snd, z) in t) || t[s, k, snd, z] == "") return "-"
                return sprintf("%.0f%s", t[s, k, snd, z], ((s, k, snd, z) in note) ? "!" : "")
            }
            # a figure the run flagged counts for no comparison
            function v(s, k, snd, z) {
                return ((s, k, snd, z) in note) ? 0 : t[s, k, snd, z] + 0
            }
            function lat(s, k, z) {
                if (!((s, k, "lat", z) in med) || med[s, k, "lat", z] == "") return "-"
                return sprintf("%.2f/%.2f", med[s, k, "lat", z] / 1e3, p99[s, k, "lat", z] / 1e3)
            }
            END {
                # sizes ascending
                for (i = 1; i <= ns; i++) for (j = i + 1; j <= ns; j++)
                    if (sizes[j] + 0 < sizes[i] + 0) { x = sizes[i]; sizes[i] = sizes[j]; sizes[j] = x }
                for (g = 1; g <= ng; g++) {
                    k = groups[g]; split(k, kk, " "); link = rate_MBps(kk[2])
                    printf("\n# %s hosts, %s links: throughput, messages/s delivered (one sender / all senders)\n",
                           kk[1], kk[2])
                    printf("%-5s", "size")
                    for (s = 1; s <= nsys; s++) printf(" %21s", systems[s])
                    printf(" %9s %10s %7s %9s\n", "rdmc 1x1", "rdmc MB/s", "x link", "rdmc/best")
                    for (i = 1; i <= ns; i++) {
                        z = sizes[i]; best = 0
                        printf("%-5s", name(z))
                        for (s = 1; s <= nsys; s++) {
                            printf(" %21s", cell(systems[s], k, "one", z) " / " cell(systems[s], k, "all", z))
                            if (systems[s] != "rdmc")
                                for (m = 1; m <= 2; m++) {
                                    x = v(systems[s], k, m == 1 ? "one" : "all", z)
                                    if (x > best) best = x
                                }
                        }
                        # rdmc: the best of its stream, all senders and one at a time
                        r = v("rdmc", k, "one", z)
                        if (v("rdmc", k, "lat", z) > r) r = v("rdmc", k, "lat", z)
                        rmb = r * z / 1e6   # one sender: what one link can carry
                        if (v("rdmc", k, "all", z) > r) r = v("rdmc", k, "all", z)
                        printf(" %9s %10s %7s %9s\n", cell("rdmc", k, "lat", z),
                               rmb > 0 ? sprintf("%.1f", rmb) : "-",
                               link > 0 && rmb > 0 && z >= 102400 ? sprintf("%.2f", link / rmb) : "-",
                               best > 0 && r > 0 ? sprintf("%.1fx", r / best) : "-")
                    }
                    printf("\n# %s hosts, %s links: latency, ms, median/p99, one write at a time", kk[1], kk[2])
                    printf(" (rdmc: send to last member; zk/etcd: request to reply)\n")
                    printf("%-5s", "size")
                    for (s = 1; s <= nsys; s++) printf(" %15s", systems[s])
                    printf(" %14s\n", "best/rdmc med")
                    for (i = 1; i <= ns; i++) {
                        z = sizes[i]; best = 0
                        printf("%-5s", name(z))
                        for (s = 1; s <= nsys; s++) {
                            printf(" %15s", lat(systems[s], k, z))
                            x = med[systems[s], k, "lat", z] + 0
                            if (systems[s] != "rdmc" && x > 0 && (best == 0 || x < best)) best = x
                        }
                        r = med["rdmc", k, "lat", z] + 0
                        printf(" %14s\n", r > 0 && best > 0 ? sprintf("%.1fx", best / r) : "-")
                    }
                }
                print "\n# rdmc 1x1: one sender, blocking MPI_Bcast (one at a time); rdmc MB/s: one sender, the better of its"
                print "# stream and 1x1; x link: the link'"'"'s 125 MB/s (1 Gbit/s) over it (100K and up);"
                print "# rdmc/best: rdmc'"'"'s best over the best of ZooKeeper'"'"'s and etcd'"'"'s (one or all senders)"
                print "# ! = the run flagged the figure (not carried by rdmc, order differs, failed writes): no ratio uses it"
            }' "$out/results.dat"
        if [ -s "$out/failures.txt" ]; then
            echo
            echo "# failure runs (1 KiB, killed ~1/4 into the stream; rdmc failure timeout 1000 ms)"
            cat "$out/failures.txt"
        fi
    } | tee "$out/table.txt"

    # plot.dat: size, then msgs/s of each system with one sender, first
    # group and rate of the run.
    awk -v g="${groups%%,*}" -v r="${rates%%,*}" '
        $2 == g && $3 == r && $4 == "one" {
            if (!($5 in sz)) { sz[$5] = 1; sizes[++ns] = $5 }
            t[$1, $5] = $6
        }
        END {
            print "# size rdmc zk-mem zk-disk etcd-mem etcd-disk (messages/s, one sender)"
            for (i = 1; i <= ns; i++) for (j = i + 1; j <= ns; j++)
                if (sizes[j] + 0 < sizes[i] + 0) { x = sizes[i]; sizes[i] = sizes[j]; sizes[j] = x }
            for (i = 1; i <= ns; i++) {
                z = sizes[i]
                printf("%s", z)
                split("rdmc zk-mem zk-disk etcd-mem etcd-disk", s, " ")
                for (k = 1; k <= 5; k++) printf(" %s", (s[k], z) in t ? t[s[k], z] : "NaN")
                printf("\n")
            }
        }' "$out/results.dat" >"$out/plot.dat"
    local link=0 r=${rates%%,*}
    case "$r" in *bit) link=$(($(emu_rate_bps "$r") / 8)) ;; esac
    if [ "$(wc -l <"$out/plot.dat")" -gt 1 ] && command -v gnuplot >/dev/null &&
        gnuplot -e "data='$out/plot.dat'; png='$out/ordered.png'; link=$link; title='${groups%%,*} emulated hosts, ${rates%%,*} links, one sender'" \
            "$here/plot.gp"; then
        echo "# plot: $out/ordered.png" >&2
    fi
}
