# Throughput of ordered delivery against message size (run.sh's plot.dat):
#   gnuplot -e "data='plot.dat'; png='ordered.png'; title='...'; link=125e6" plot.gp
# link: the link's bytes/s (0: unshaped, no line for it).
set terminal pngcairo size 1000,620 font ",11"
set output png
set title "Ordered, uniform delivery: ".title
set logscale xy
set xlabel "message size (bytes)"
set ylabel "messages/s delivered (log)"
set grid
set key outside right
set xrange [5:2e6]
set yrange [1:300000]
set xtics ("10" 10, "1K" 1024, "10K" 10240, "100K" 102400, "1M" 1048576)
limit(x) = link > 0 ? link / x : NaN
plot limit(x) with lines lc rgb "gray40" dt 2 title "link limit (one sender)", \
     data using 1:2 with linespoints lw 2 pt 7 title "rdmc (stable bcast)", \
     data using 1:3 with linespoints lw 2 pt 5 title "ZooKeeper, in memory", \
     data using 1:4 with linespoints lw 1 pt 4 dt 2 title "ZooKeeper, durable", \
     data using 1:5 with linespoints lw 2 pt 9 title "etcd, tmpfs", \
     data using 1:6 with linespoints lw 1 pt 8 dt 2 title "etcd, durable"
