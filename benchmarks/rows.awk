# Shared by the benchmark scripts' tables: their awk programs start with
# this file's text.  The median of some figures, and what rdmc carried of
# each size (rdmc_bcast_bench -R).

# The median of a space-separated list of numbers.
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
        t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
    }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# The size of a "# row SIZE: ..." or "# cpu SIZE: ..." line; on a
# "# row SIZE: rdmc carried X of Y (Z of them timing)" line, the broadcasts
# of that size that carried data (Y - Z).
function row_size(    s) {
    s = $3; sub(/:$/, "", s)
    return s
}
function row_data(    timing) {
    timing = $9; sub(/^\(/, "", timing)
    return $8 - timing
}

# Adds the line's verdict to carried[key]: "yes" when rdmc carried every
# data broadcast (in every run so far), "NO" when none, else "partly".
function note_carried(key,    data, verdict) {
    data = row_data()
    verdict = ($6 >= data && data > 0) ? "yes" : ($6 == 0 ? "NO" : "partly")
    if (!(key in carried)) carried[key] = verdict
    else if (carried[key] != verdict) carried[key] = "partly"
}
