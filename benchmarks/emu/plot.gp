# Completion time and bandwidth of each broadcast against message size, from
# run.sh's plot.dat (size link_us rdmc_us default_us pipeline_us chain_us han_us).
#   gnuplot -e "data='plot.dat'; png='bcast.png'; title='...'" plot.gp
set terminal pngcairo size 960,420 font ",9"
set output png
set multiplot layout 1,2 title title
set logscale x 2
set format x "%.0b%B"
set xlabel "message size (bytes)"
set key top left
set grid
set style data linespoints

set logscale y
set ylabel "completion time (ms)"
plot data using 1:($2/1e3) title "link limit" dashtype 2 lc rgb "black", \
     ''   using 1:($3/1e3) title "rdmc" lw 2 lc rgb "#d62728", \
     ''   using 1:($4/1e3) title "Open MPI default" lc rgb "#1f77b4", \
     ''   using 1:($5/1e3) title "tuned pipeline (best segment)" lc rgb "#2ca02c", \
     ''   using 1:($6/1e3) title "tuned chain (best segment)" lc rgb "#9467bd", \
     ''   using 1:($7/1e3) title "Open MPI han" lc rgb "#ff7f0e"

unset logscale y
set ylabel "bandwidth (MB/s, size / completion time)"
set yrange [0:*]
unset key                      # the same lines as on the left
plot data using 1:($1/$2) title "link limit" dashtype 2 lc rgb "black", \
     ''   using 1:($1/$3) title "rdmc" lw 2 lc rgb "#d62728", \
     ''   using 1:($1/$4) title "Open MPI default" lc rgb "#1f77b4", \
     ''   using 1:($1/$5) title "tuned pipeline (best segment)" lc rgb "#2ca02c", \
     ''   using 1:($1/$6) title "tuned chain (best segment)" lc rgb "#9467bd", \
     ''   using 1:($1/$7) title "Open MPI han" lc rgb "#ff7f0e"
unset multiplot
