/* SPDX-License-Identifier: MIT */
/* test_router.c - route matching, prefixes, parameters and methods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_router.h"
#include "util/rtk_err.h"

static int match_m(const char *path, int method, rtk_route_match *m, int *allow)
{
    return rtk_router_match(rtk_api_routes, rtk_api_nroutes, path, strlen(path), method, m, allow);
}

static int match(const char *path, rtk_route_match *m)
{
    int allow;
    return match_m(path, RTK_M_GET, m, &allow);
}

#define ACC "0123456789abcdef0123456789abcdef"
#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define MTG "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
#define KIT "/accounts/" ACC "/realtime/kit/" APP

static void routes_every_resource(void **state)
{
    (void)state;
    static const struct {
        int method;
        const char *path;
        void (*handler)(rtk_call *);
        int nparams;
    } cases[] = {
        {RTK_M_GET, "/healthz", rtk_api_healthz, 0},
        {RTK_M_GET, "/readyz", rtk_api_readyz, 0},
        {RTK_M_GET, "/accounts/" ACC "/realtime/kit/apps", rtk_api_apps_list, 1},
        {RTK_M_POST, "/accounts/" ACC "/realtime/kit/apps", rtk_api_apps_create, 1},
        {RTK_M_GET, KIT "/meetings", rtk_api_meetings_list, 2},
        {RTK_M_POST, KIT "/meetings", rtk_api_meetings_create, 2},
        {RTK_M_GET, KIT "/meetings/" MTG, rtk_api_meeting_get, 3},
        {RTK_M_PATCH, KIT "/meetings/" MTG, rtk_api_meeting_update, 3},
        {RTK_M_PUT, KIT "/meetings/" MTG, rtk_api_meeting_update, 3},
        {RTK_M_GET, KIT "/meetings/" MTG "/participants", rtk_api_participants_list, 3},
        {RTK_M_POST, KIT "/meetings/" MTG "/participants", rtk_api_participants_add, 3},
        {RTK_M_GET, KIT "/meetings/" MTG "/participants/p1", rtk_api_participant_get, 4},
        {RTK_M_PATCH, KIT "/meetings/" MTG "/participants/p1", rtk_api_participant_edit, 4},
        {RTK_M_DELETE, KIT "/meetings/" MTG "/participants/p1", rtk_api_participant_delete, 4},
        {RTK_M_POST, KIT "/meetings/" MTG "/participants/p1/token", rtk_api_participant_token, 4},
        {RTK_M_GET, KIT "/meetings/" MTG "/active-session", rtk_api_active_get, 3},
        {RTK_M_POST, KIT "/meetings/" MTG "/active-session/kick", rtk_api_active_kick, 3},
        {RTK_M_POST, KIT "/meetings/" MTG "/active-session/kick-all", rtk_api_active_kick_all, 3},
        {RTK_M_POST, KIT "/meetings/" MTG "/active-session/poll", rtk_api_poll_create, 3},
        {RTK_M_GET, KIT "/meetings/" MTG "/active-session/polls", rtk_api_polls_list, 3},
        {RTK_M_GET, KIT "/meetings/" MTG "/active-session/polls/x", rtk_api_poll_get, 4},
        {RTK_M_GET, KIT "/sessions", rtk_api_sessions_list, 2},
        {RTK_M_GET, KIT "/sessions/s1", rtk_api_session_get, 3},
        {RTK_M_GET, KIT "/sessions/s1/participants", rtk_api_session_participants, 3},
        {RTK_M_GET, KIT "/sessions/s1/polls", rtk_api_session_polls, 3},
        {RTK_M_GET, "/v1/ws", rtk_api_ws, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rtk_route_match m;
        char prefixed[512];
        int allow = -1;
        assert_int_equal(match_m(cases[i].path, cases[i].method, &m, &allow), 0);
        assert_ptr_equal(m.route->handler, cases[i].handler);
        assert_int_equal(m.nparams, cases[i].nparams);
        snprintf(prefixed, sizeof(prefixed), "/client/v4%s", cases[i].path);
        assert_int_equal(match_m(prefixed, cases[i].method, &m, &allow), 0);
        assert_ptr_equal(m.route->handler, cases[i].handler);
    }
}

static void extracts_parameters_in_order(void **state)
{
    (void)state;
    rtk_route_match m;
    assert_int_equal(match("/client/v4" KIT "/meetings/" MTG "/participants/x9", &m), 0);
    assert_string_equal(m.params[0], ACC);
    assert_string_equal(m.params[1], APP);
    assert_string_equal(m.params[2], MTG);
    assert_string_equal(m.params[3], "x9");
}

static void trailing_slash_once(void **state)
{
    (void)state;
    rtk_route_match m;
    assert_int_equal(match("/healthz/", &m), 0);
    assert_int_equal(match("/healthz//", &m), RTK_ENOTFOUND);
}

static void rejects_unknown_and_odd_paths(void **state)
{
    (void)state;
    rtk_route_match m;
    static const char *const bad[] = {
        "",
        "/",
        "/nope",
        "/client/v4",
        "/client/v4x/healthz",
        "/accounts//realtime/kit/apps",
        "/accounts/" ACC "/realtime/kit",
        "/accounts/a'b/realtime/kit/apps",
        "/accounts/a%20b/realtime/kit/apps",
        KIT "/meetings/" MTG "/extra/deep/path",
        "/healthzz",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(match(bad[i], &m), RTK_ENOTFOUND);
}

static void rejects_overlong_parameter(void **state)
{
    (void)state;
    char path[512];
    char big[RTK_ROUTE_PARAM_MAX + 2];
    rtk_route_match m;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(path, sizeof(path), "/accounts/%s/realtime/kit/apps", big);
    assert_int_equal(match(path, &m), RTK_ENOTFOUND);
    big[RTK_ROUTE_PARAM_MAX] = '\0'; /* exactly the maximum is fine */
    snprintf(path, sizeof(path), "/accounts/%s/realtime/kit/apps", big);
    assert_int_equal(match(path, &m), 0);
}

/* Allow is derived from every row that shares the pattern. */
static void other_methods_get_allow_from_the_rows(void **state)
{
    (void)state;
    rtk_route_match m;
    int allow = 0;
    char text[64];
    assert_int_equal(match_m(KIT "/meetings/" MTG, RTK_M_DELETE, &m, &allow), RTK_EINVAL);
    assert_int_equal(allow, RTK_M_GET | RTK_M_PATCH | RTK_M_PUT);
    rtk_router_allow(allow, text, sizeof(text));
    assert_string_equal(text, "GET, PUT, PATCH");
    assert_int_equal(match_m(KIT "/meetings/" MTG "/participants/p", RTK_M_POST, &m, &allow),
                     RTK_EINVAL);
    rtk_router_allow(allow, text, sizeof(text));
    assert_string_equal(text, "GET, PATCH, DELETE");
    assert_int_equal(match_m("/healthz", 0, &m, &allow), RTK_EINVAL); /* e.g. OPTIONS */
    assert_int_equal(allow, RTK_M_GET);
    assert_int_equal(rtk_router_method_bit(HTTP_GET), RTK_M_GET);
    assert_int_equal(rtk_router_method_bit(HTTP_DELETE), RTK_M_DELETE);
    assert_int_equal(rtk_router_method_bit(HTTP_OPTIONS), 0);
    assert_int_equal(rtk_router_method_bit(HTTP_HEAD), 0);
}

/* A table of a resource that is not the API's: one row per method and pattern. */
/* The table itself: rows that share a pattern take disjoint methods (else one would shadow
 * the other), and two patterns that match the same paths are the same string (else Allow would
 * list only one row's methods). Same shape: equal segment count, equal literals, parameters in
 * the same places. */
static int same_shape(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        const char *ea = strchr(a + 1, '/'), *eb = strchr(b + 1, '/');
        size_t la = ea != NULL ? (size_t)(ea - a) : strlen(a);
        size_t lb = eb != NULL ? (size_t)(eb - b) : strlen(b);
        int pa = a[1] == ':', pb = b[1] == ':';
        if (pa != pb || (!pa && (la != lb || memcmp(a, b, la) != 0)))
            return 0;
        a += la;
        b += lb;
    }
    return *a == *b;
}

static void the_table_has_no_shadowed_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < rtk_api_nroutes; i++) {
        assert_int_not_equal(rtk_api_routes[i].methods, 0);
        for (size_t j = i + 1; j < rtk_api_nroutes; j++) {
            const rtk_route *a = &rtk_api_routes[i], *b = &rtk_api_routes[j];
            if (!same_shape(a->pattern, b->pattern))
                continue;
            if (strcmp(a->pattern, b->pattern) != 0 || (a->methods & b->methods) != 0)
                fail_msg("rows %zu and %zu (%s, %s) overlap", i, j, a->pattern, b->pattern);
        }
    }
    assert_true(same_shape("/a/:x/b", "/a/:y/b"));
    assert_false(same_shape("/a/:x/b", "/a/x/b"));
    assert_false(same_shape("/a/:x", "/a/:x/b"));
}

static void handler_a(rtk_call *c)
{
    (void)c;
}
static void handler_b(rtk_call *c)
{
    (void)c;
}

static void a_small_table(void **state)
{
    (void)state;
    static const rtk_route table[] = {
        {RTK_M_GET, 0, "/things/:id", handler_a},
        {RTK_M_POST | RTK_M_PUT, 0, "/things/:id", handler_b},
    };
    rtk_route_match m;
    int allow = 0;
    assert_int_equal(rtk_router_match(table, 2, "/things/7", 9, RTK_M_PUT, &m, &allow), 0);
    assert_ptr_equal(m.route->handler, handler_b);
    assert_string_equal(m.params[0], "7");
    assert_int_equal(rtk_router_match(table, 2, "/things/7", 9, RTK_M_DELETE, &m, &allow),
                     RTK_EINVAL);
    assert_int_equal(allow, RTK_M_GET | RTK_M_POST | RTK_M_PUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_every_resource),
        cmocka_unit_test(extracts_parameters_in_order),
        cmocka_unit_test(trailing_slash_once),
        cmocka_unit_test(rejects_unknown_and_odd_paths),
        cmocka_unit_test(rejects_overlong_parameter),
        cmocka_unit_test(other_methods_get_allow_from_the_rows),
        cmocka_unit_test(a_small_table),
        cmocka_unit_test(the_table_has_no_shadowed_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
