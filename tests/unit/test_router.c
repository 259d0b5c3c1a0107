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

#include "http/rtk_router.h"
#include "util/rtk_err.h"

static int match(const char *path, rtk_route_match *m)
{
    return rtk_router_match(path, strlen(path), m);
}

#define ACC "0123456789abcdef0123456789abcdef"
#define APP "14a396e7-ca44-4937-bf1f-050a69118543"
#define MTG "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"

static void routes_every_resource(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        rtk_route_id route;
        int nparams;
    } cases[] = {
        {"/healthz", RTK_ROUTE_HEALTHZ, 0},
        {"/readyz", RTK_ROUTE_READYZ, 0},
        {"/accounts/" ACC "/realtime/kit/apps", RTK_ROUTE_APPS, 1},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings", RTK_ROUTE_MEETINGS, 2},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG, RTK_ROUTE_MEETING, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/participants",
         RTK_ROUTE_PARTICIPANTS, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/participants/p1",
         RTK_ROUTE_PARTICIPANT, 4},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/participants/p1/token",
         RTK_ROUTE_PARTICIPANT_TOKEN, 4},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/active-session",
         RTK_ROUTE_ACTIVE_SESSION, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/active-session/kick",
         RTK_ROUTE_KICK, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/active-session/kick-all",
         RTK_ROUTE_KICK_ALL, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/active-session/poll",
         RTK_ROUTE_POLL, 3},
        {"/accounts/" ACC "/realtime/kit/" APP "/sessions", RTK_ROUTE_SESSIONS, 2},
        {"/v1/ws", RTK_ROUTE_WS, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rtk_route_match m;
        char prefixed[512];
        assert_int_equal(match(cases[i].path, &m), 0);
        assert_int_equal(m.route, cases[i].route);
        assert_int_equal(m.nparams, cases[i].nparams);
        snprintf(prefixed, sizeof(prefixed), "/client/v4%s", cases[i].path);
        assert_int_equal(match(prefixed, &m), 0);
        assert_int_equal(m.route, cases[i].route);
    }
}

static void extracts_parameters_in_order(void **state)
{
    (void)state;
    rtk_route_match m;
    assert_int_equal(
        match("/client/v4/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/participants/x9",
              &m),
        0);
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
        "/accounts/" ACC "/realtime/kit/" APP "/meetings/" MTG "/extra/deep/path",
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

static void methods_and_allow(void **state)
{
    (void)state;
    assert_int_equal(rtk_router_methods(RTK_ROUTE_MEETING), RTK_M_GET | RTK_M_PATCH | RTK_M_PUT);
    assert_string_equal(rtk_router_allow(RTK_ROUTE_PARTICIPANT), "GET, PATCH, DELETE");
    assert_int_equal(rtk_router_method_bit(HTTP_GET), RTK_M_GET);
    assert_int_equal(rtk_router_method_bit(HTTP_DELETE), RTK_M_DELETE);
    assert_int_equal(rtk_router_method_bit(HTTP_OPTIONS), 0);
    assert_int_equal(rtk_router_method_bit(HTTP_HEAD), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_every_resource),
        cmocka_unit_test(extracts_parameters_in_order),
        cmocka_unit_test(trailing_slash_once),
        cmocka_unit_test(rejects_unknown_and_odd_paths),
        cmocka_unit_test(rejects_overlong_parameter),
        cmocka_unit_test(methods_and_allow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
