#include "ordered_stats.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double ordered_percentile(double *v, int n, double p)
{
    if (n <= 0) {
        return 0;
    }
    qsort(v, (size_t)n, sizeof(v[0]), by_value);
    int k = (int)ceil(p / 100.0 * n) - 1;
    k = k < 0 ? 0 : (k >= n ? n - 1 : k);
    return v[k];
}

double ordered_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
