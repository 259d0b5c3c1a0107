/* SPDX-License-Identifier: MIT */
/* test_proxy.c - unit tests for http/rtk_proxy: CIDR lists and the client address behind
 * trusted proxies (the right-most untrusted hop of X-Forwarded-For). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/rtk_proxy.h"
#include "util/rtk_err.h"

static rtk_proxy_trust *trust(const char *list)
{
    rtk_proxy_trust *t = NULL;
    int rc = rtk_proxy_trust_parse(list, &t);
    if (rc != 0)
        fail_msg("rtk_proxy_trust_parse(\"%s\") = %d", list, rc);
    return t;
}

static void parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"",           " , ",        "10.0.0.0/33", "10.0.0.1/8",
                                      "10.0.0/8",   "fd00::/129", "nothost",     "10.0.0.0/",
                                      "10.0.0.0/x", "::1/1280"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rtk_proxy_trust *t = (rtk_proxy_trust *)1;
        if (rtk_proxy_trust_parse(bad[i], &t) != RTK_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_null(t);
    }
}

static void matching(void **state)
{
    (void)state;
    rtk_proxy_trust *t = trust("10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1,172.16.0.0/12");
    assert_true(rtk_proxy_trusts(t, "10.1.2.3"));
    assert_true(rtk_proxy_trusts(t, "192.168.1.7"));
    assert_false(rtk_proxy_trusts(t, "192.168.1.8"));
    assert_true(rtk_proxy_trusts(t, "172.31.255.255"));
    assert_false(rtk_proxy_trusts(t, "172.32.0.0"));
    assert_true(rtk_proxy_trusts(t, "fd12:3456::1"));
    assert_false(rtk_proxy_trusts(t, "fe80::1"));
    assert_true(rtk_proxy_trusts(t, "::1"));
    assert_true(rtk_proxy_trusts(t, "::ffff:10.9.9.9")); /* mapped IPv4 */
    assert_false(rtk_proxy_trusts(t, "-"));
    assert_false(rtk_proxy_trusts(NULL, "10.1.2.3"));
    rtk_proxy_trust_free(t);
    rtk_proxy_trust_free(NULL);
}

/* The client address of a request from |peer| with these X-Forwarded-For lines. */
static void client_is(const rtk_proxy_trust *t, const char *peer, const char *const *xff, size_t n,
                      const char *want)
{
    rtk_http_header h[4];
    for (size_t i = 0; i < n; i++) {
        h[i].name = i == 0 ? "X-Forwarded-For" : "x-forwarded-for";
        h[i].name_len = 15;
        h[i].value = xff[i];
        h[i].value_len = strlen(xff[i]);
    }
    rtk_http_req req;
    memset(&req, 0, sizeof(req));
    req.headers = h;
    req.nheaders = n;
    char ip[RTK_PROXY_ADDR_MAX];
    snprintf(ip, sizeof(ip), "%s", peer);
    rtk_proxy_client_ip(t, &req, ip);
    if (strcmp(ip, want) != 0)
        fail_msg("peer %s, X-Forwarded-For %s%s: got %s, want %s", peer, n ? xff[0] : "(none)",
                 n > 1 ? " …" : "", ip, want);
}

static void right_most_untrusted_hop(void **state)
{
    (void)state;
    rtk_proxy_trust *t = trust("127.0.0.1,10.0.0.0/8");
    const char *one[] = {"203.0.113.9"};
    client_is(t, "127.0.0.1", one, 1, "203.0.113.9");
    /* A forged left part is not believed: the right-most untrusted hop wins. */
    const char *forged[] = {"6.6.6.6, 203.0.113.9, 10.1.1.1"};
    client_is(t, "127.0.0.1", forged, 1, "203.0.113.9");
    /* Two header lines are one list, in order. */
    const char *two[] = {"6.6.6.6, 198.51.100.4", "10.2.2.2"};
    client_is(t, "127.0.0.1", two, 2, "198.51.100.4");
    /* All trusted: the left-most. */
    const char *all[] = {"10.0.0.5, 10.0.0.6"};
    client_is(t, "127.0.0.1", all, 1, "10.0.0.5");
    /* Not from a trusted peer: the header is ignored. */
    client_is(t, "198.51.100.1", one, 1, "198.51.100.1");
    /* No header: the peer. */
    client_is(t, "127.0.0.1", NULL, 0, "127.0.0.1");
    /* Garbage stops the walk at the trusted hop before it. */
    const char *junk[] = {"203.0.113.9, <script>"};
    client_is(t, "127.0.0.1", junk, 1, "127.0.0.1");
    const char *junk2[] = {"junk, 10.0.0.7"};
    client_is(t, "127.0.0.1", junk2, 1, "10.0.0.7");
    /* Ports and brackets, IPv6. */
    const char *ported[] = {"203.0.113.9:4711"};
    client_is(t, "127.0.0.1", ported, 1, "203.0.113.9");
    const char *v6[] = {"[2001:db8::1]:443"};
    client_is(t, "10.0.0.1", v6, 1, "2001:db8::1");
    const char *v6plain[] = {"2001:DB8:0::2"};
    client_is(t, "10.0.0.1", v6plain, 1, "2001:db8::2");
    /* A long forged list: only the right-most hops are looked at. */
    char longlist[2048] = "";
    for (int i = 0; i < 100; i++)
        strcat(longlist, "6.6.6.6, ");
    strcat(longlist, "203.0.113.77");
    const char *lst[] = {longlist};
    client_is(t, "127.0.0.1", lst, 1, "203.0.113.77");
    rtk_proxy_trust_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_rejects),
        cmocka_unit_test(matching),
        cmocka_unit_test(right_most_untrusted_hop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
