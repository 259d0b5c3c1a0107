/* SPDX-License-Identifier: MIT */
/* lg_stats.c - sorting, nearest-rank percentiles and summaries of latency samples. */
#include "lg_stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void lg_stats_sort(int64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_i64);
}

int64_t lg_stats_percentile(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (!(p > 0)) /* also catches NaN */
        return sorted[0];
    if (p >= 100)
        return sorted[n - 1];
    /* Nearest rank: ceil(p/100 * n), 1-based. The product is computed in long double and
     * nudged down by a relative epsilon so that, e.g., 0.99 * 100 (which is 99.000000000000014
     * in binary) ranks 99 and not 100. */
    long double exact = (long double)p / 100.0L * (long double)n;
    size_t rank = (size_t)ceill(exact - exact * 1e-12L);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

void lg_stats_summarize(int64_t *v, size_t n, lg_summary *out)
{
    *out = (lg_summary){.n = n};
    if (n == 0)
        return;
    lg_stats_sort(v, n);
    long double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    out->min = v[0];
    out->p50 = lg_stats_percentile(v, n, 50);
    out->p90 = lg_stats_percentile(v, n, 90);
    out->p99 = lg_stats_percentile(v, n, 99);
    out->max = v[n - 1];
    out->mean = (double)(sum / n);
}

double lg_stats_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_dbl);
    if (n % 2)
        return v[n / 2];
    return (v[n / 2 - 1] + v[n / 2]) / 2;
}
