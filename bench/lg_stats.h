/* SPDX-License-Identifier: MIT */
/* lg_stats.h - latency samples of the load generator: sorting, percentiles and summaries. */
#ifndef LG_STATS_H
#define LG_STATS_H

#include <stddef.h>
#include <stdint.h>

/* A summary of n samples (all in the samples' own unit, microseconds in the load generator).
 * With n == 0 every other field is 0. */
typedef struct lg_summary {
    size_t n;
    int64_t min;
    int64_t p50;
    int64_t p90;
    int64_t p99;
    int64_t max;
    double mean;
} lg_summary;

/* Sorts |v| (|n| values) ascending, in place. Pure function. */
void lg_stats_sort(int64_t *v, size_t n);

/* Returns the |p|-th percentile of |sorted| (|n| values, ascending) by the nearest-rank
 * method: the smallest value such that at least |p| percent of the samples are at or below
 * it, i.e. sorted[ceil(p / 100 * n) - 1]. |p| is clamped to [0, 100]; p == 0 gives the
 * minimum. Returns 0 when |n| is 0. Pure function. */
int64_t lg_stats_percentile(const int64_t *sorted, size_t n, double p);

/* Sorts |v| in place and fills |*out| with its count, min, p50, p90, p99, max and mean. */
void lg_stats_summarize(int64_t *v, size_t n, lg_summary *out);

/* Returns the median of |v| (|n| doubles, sorted in place): the middle value, or the mean of
 * the two middle values when |n| is even; 0 when |n| is 0. Used for the A/B run medians. */
double lg_stats_median(double *v, size_t n);

#endif
