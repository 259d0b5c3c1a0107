/* SPDX-License-Identifier: MIT */
/* test_metrics.c - the metric registry and its Prometheus text: histogram buckets (inclusive
 * upper bounds, cumulative, +Inf = count), every family's HELP/TYPE, label values, the bounded
 * route labels and statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rtk_metrics.h"

static char *render(const rtk_metrics_snapshot *snap)
{
    size_t len = 0;
    char *text = rtk_metrics_render(snap, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* 1 when |text| has |line| as a whole line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

#define assert_line(text, line)                                                                    \
    do {                                                                                           \
        if (!has_line((text), (line)))                                                             \
            fail_msg("no line \"%s\" in:\n%s", (line), (text));                                    \
    } while (0)

static int reset(void **state)
{
    (void)state;
    rtk_metrics_reset();
    return 0;
}

static void histogram_buckets_are_cumulative_and_inclusive(void **state)
{
    (void)state;
    static const double le[] = {1, 2.5, 10};
    rtk_metrics_histogram h = {.le = le, .nb = 3};
    rtk_metrics_hist_observe(&h, 0.5);
    rtk_metrics_hist_observe(&h, 1); /* on a bound: that bucket (le is "less or equal") */
    rtk_metrics_hist_observe(&h, 2.6);
    rtk_metrics_hist_observe(&h, 11); /* over every bound: +Inf only */
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[1], 0);
    assert_int_equal(h.counts[2], 1);
    assert_int_equal(h.counts[3], 1);
    assert_int_equal(h.count, 4);
    assert_true(h.sum > 15.09 && h.sum < 15.11);

    /* Rendered: cumulative counts, then +Inf equal to _count, then _sum. */
    rtk_metrics_observe(RTK_MH_BATCH_WRITES, 1);
    rtk_metrics_observe(RTK_MH_BATCH_WRITES, 3);
    rtk_metrics_observe(RTK_MH_BATCH_WRITES, 3);
    rtk_metrics_observe(RTK_MH_BATCH_WRITES, 20000);
    rtk_metrics_snapshot snap = {0};
    char *t = render(&snap);
    assert_line(t, "# TYPE rtkd_commit_batch_writes histogram");
    assert_line(t, "rtkd_commit_batch_writes_bucket{le=\"1\"} 1");
    assert_line(t, "rtkd_commit_batch_writes_bucket{le=\"2\"} 1");
    assert_line(t, "rtkd_commit_batch_writes_bucket{le=\"5\"} 3");
    assert_line(t, "rtkd_commit_batch_writes_bucket{le=\"10000\"} 3");
    assert_line(t, "rtkd_commit_batch_writes_bucket{le=\"+Inf\"} 4");
    assert_line(t, "rtkd_commit_batch_writes_sum 20007");
    assert_line(t, "rtkd_commit_batch_writes_count 4");
    free(t);
}

static void snapshot_and_required_names(void **state)
{
    (void)state;
    rtk_metrics_snapshot snap = {.version = "9.8.7",
                                 .peers_live = 3,
                                 .peers_waiting = 2,
                                 .sessions_live = 1,
                                 .meetings_with_peers = 1,
                                 .log_dropped = 42,
                                 .store_ready = 1};
    rtk_metrics_ws_in(RTK_MWI_VOTE);
    rtk_metrics_ws_in(-5); /* out of range: "invalid" */
    rtk_metrics_ws_out(RTK_MWO_HELLO);
    rtk_metrics_ws_out(RTK_MWO_HELLO);
    rtk_metrics_ws_close(RTK_MWC_SLOW);
    rtk_metrics_handshake_refused(429);
    rtk_metrics_gauge_add(RTK_MG_CONNS_OPEN, 5);
    rtk_metrics_gauge_add(RTK_MG_CONNS_UPGRADED, 3);
    rtk_metrics_gauge_add(RTK_MG_CONNS_IDLE, 1);
    rtk_metrics_observe(RTK_MH_COMMIT, 0.003);
    char *t = render(&snap);
    assert_line(t, "# TYPE rtkd_peers gauge");
    assert_line(t, "rtkd_peers{state=\"live\"} 3");
    assert_line(t, "rtkd_peers{state=\"waiting\"} 2");
    assert_line(t, "rtkd_sessions_live 1");
    assert_line(t, "rtkd_meetings_with_peers 1");
    assert_line(t, "rtkd_build_info{version=\"9.8.7\"} 1");
    assert_line(t, "# TYPE rtkd_log_lines_dropped_total counter");
    assert_line(t, "rtkd_log_lines_dropped_total 42");
    assert_line(t, "rtkd_store_up 1");
    assert_line(t, "rtkd_ws_messages_total{direction=\"in\",type=\"poll.vote\"} 1");
    assert_line(t, "rtkd_ws_messages_total{direction=\"in\",type=\"invalid\"} 1");
    assert_line(t, "rtkd_ws_messages_total{direction=\"out\",type=\"hello\"} 2");
    assert_line(t, "rtkd_ws_closes_total{reason=\"slow\"} 1");
    assert_line(t, "rtkd_ws_handshake_refusals_total{status=\"429\"} 1");
    assert_line(t, "rtkd_connections{state=\"upgraded\"} 3");
    assert_line(t, "rtkd_connections{state=\"idle\"} 1");
    assert_line(t, "rtkd_connections{state=\"busy\"} 1"); /* open minus the named states */
    assert_line(t, "rtkd_commit_duration_seconds_bucket{le=\"0.0025\"} 0");
    assert_line(t, "rtkd_commit_duration_seconds_bucket{le=\"0.005\"} 1");
    assert_line(t, "# TYPE rtkd_http_request_duration_seconds histogram");
    assert_line(t, "# TYPE rtkd_http_requests_total counter");
    free(t);
}

/* Every line is a comment (# HELP / # TYPE, in that order, once per family, before its
 * samples) or a sample `name{labels} value` of the family last typed. */
static void every_line_is_well_formed(void **state)
{
    (void)state;
    rtk_metrics_http(rtk_metrics_route_label("/x/:id"), 200, 0.01);
    rtk_metrics_observe(RTK_MH_BROADCAST, 0.0002);
    rtk_metrics_snapshot snap = {.version = "1"};
    char *t = render(&snap);
    char family[128] = "", type[32] = "", helped[128] = "";
    int nfamilies = 0;
    for (char *line = t, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s", helped), 1);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s %31s", family, type), 2);
            assert_string_equal(family, helped); /* HELP came just before */
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            nfamilies++;
            continue;
        }
        assert_true(line[0] != '#');
        size_t fl = strlen(family);
        if (strncmp(line, family, fl) != 0)
            fail_msg("sample \"%s\" outside its family %s", line, family);
        const char *rest = line + fl;
        if (strcmp(type, "histogram") == 0) {
            if (strncmp(rest, "_bucket{", 8) == 0)
                assert_non_null(strstr(rest, "le=\""));
            else
                assert_true(strncmp(rest, "_sum", 4) == 0 || strncmp(rest, "_count", 6) == 0);
            rest += strcspn(rest, "{ ");
        } else if (strcmp(type, "counter") == 0) {
            assert_true(fl > 6 && strcmp(family + fl - 6, "_total") == 0);
        }
        if (*rest == '{') {
            rest = strchr(rest, '}');
            assert_non_null(rest);
            rest++;
        }
        assert_int_equal(*rest, ' ');
        char *num_end = NULL;
        strtod(rest + 1, &num_end);
        assert_true(num_end != rest + 1 && *num_end == '\0');
    }
    assert_true(nfamilies >= 25);
    free(t);
}

static void routes_and_statuses_are_bounded(void **state)
{
    (void)state;
    int a = rtk_metrics_route_label("/a");
    assert_int_equal(a, 2); /* after "unmatched" and "web" */
    assert_int_equal(rtk_metrics_route_label("/a"), a);
    char names[RTK_METRICS_ROUTES_MAX + 8][16];
    int last = 0;
    for (int i = 0; i < RTK_METRICS_ROUTES_MAX + 8; i++) {
        snprintf(names[i], sizeof(names[i]), "/r%d", i);
        last = rtk_metrics_route_label(names[i]);
    }
    assert_int_equal(last, RTK_METRICS_ROUTE_UNMATCHED); /* past the bound: "unmatched" */
    rtk_metrics_http(a, 201, 0.001);
    rtk_metrics_http(a, 599, 0.001);  /* not in the table: "other" */
    rtk_metrics_http(1000, 404, 0.1); /* no such label: "unmatched" */
    rtk_metrics_http(RTK_METRICS_ROUTE_WEB, 200, 0.1);
    assert_int_equal(rtk_metrics_status_index(101), 0);
    assert_int_equal(rtk_metrics_status_index(999), RTK_METRICS_NSTATUS);
    rtk_metrics_snapshot snap = {0};
    char *t = render(&snap);
    assert_line(t, "rtkd_http_requests_total{route=\"/a\",status=\"201\"} 1");
    assert_line(t, "rtkd_http_requests_total{route=\"/a\",status=\"other\"} 1");
    assert_line(t, "rtkd_http_requests_total{route=\"unmatched\",status=\"404\"} 1");
    assert_line(t, "rtkd_http_requests_total{route=\"web\",status=\"200\"} 1");
    assert_line(t, "rtkd_http_request_duration_seconds_count{route=\"/a\"} 2");
    assert_line(t, "rtkd_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.001\"} 2");
    assert_line(t, "rtkd_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"+Inf\"} 1");
    assert_null(strstr(t, "route=\"/r70\"")); /* never registered */
    free(t);
}

static void label_values_are_escaped(void **state)
{
    (void)state;
    rtk_metrics_http(rtk_metrics_route_label("/q\"b\\s\nn"), 200, 0);
    rtk_metrics_snapshot snap = {.version = "v\"1"};
    char *t = render(&snap);
    assert_line(t, "rtkd_http_requests_total{route=\"/q\\\"b\\\\s\\nn\",status=\"200\"} 1");
    assert_line(t, "rtkd_build_info{version=\"v\\\"1\"} 1");
    free(t);
}

#ifdef __SANITIZE_ADDRESS__
/* AddressSanitizer's allocator calls these on every malloc and free (its public interface;
 * GCC ships no header for it). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static volatile int counting;
static volatile size_t mallocs;
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    if (counting)
        mallocs++;
}
static void on_free(const volatile void *p)
{
    (void)p;
}
#endif

/* The design's promise: counting allocates nothing (only rendering does). */
static void counting_allocates_nothing(void **state)
{
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    static int installed;
    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    assert_true(installed);
    int route = rtk_metrics_route_label("/hot");
    rtk_metrics_snapshot snap = {0};
    mallocs = 0;
    counting = 1;
    for (int i = 0; i < 10000; i++) {
        rtk_metrics_http(route, i % 2 ? 200 : 404, 0.0001 * i);
        rtk_metrics_add(RTK_MC_BYTES_IN_WS, 100);
        rtk_metrics_gauge_add(RTK_MG_CONNS_IDLE, i % 2 ? 1 : -1);
        rtk_metrics_ws_in(i % RTK_MWI_COUNT);
        rtk_metrics_ws_out(i % RTK_MWO_COUNT);
        rtk_metrics_ws_close(i % RTK_MWC_COUNT);
        rtk_metrics_handshake_refused(401);
        rtk_metrics_observe(RTK_MH_COMMIT, 0.001);
        rtk_metrics_observe(RTK_MH_BROADCAST, 0.0001);
    }
    size_t counted = mallocs;
    free(render(&snap)); /* the hook sees this one: the check above is not vacuous */
    counting = 0;
    assert_int_equal(counted, 0);
    assert_true(mallocs > 0);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(histogram_buckets_are_cumulative_and_inclusive, reset),
        cmocka_unit_test_setup(snapshot_and_required_names, reset),
        cmocka_unit_test_setup(every_line_is_well_formed, reset),
        cmocka_unit_test_setup(routes_and_statuses_are_bounded, reset),
        cmocka_unit_test_setup(label_values_are_escaped, reset),
        cmocka_unit_test_setup(counting_allocates_nothing, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
