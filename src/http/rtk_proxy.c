/* SPDX-License-Identifier: MIT */
/* rtk_proxy.c - trusted proxies and X-Forwarded-For.
 *
 * X-Forwarded-For is a list every proxy appends the address it received the request from
 * to: "client, proxy1, proxy2". Anything left of the last trusted hop was written by a party
 * we cannot check, so the walk goes from the right and stops at the first address that is
 * not one of our proxies: that is the client as far as anyone we trust can vouch (the
 * "right-most untrusted hop"; nginx's real_ip_recursive, HAProxy's and MDN's advice). */
#include "http/rtk_proxy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/rtk_err.h"

typedef struct cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
} cidr;

struct rtk_proxy_trust {
    size_t n;
    cidr c[RTK_PROXY_MAX_CIDRS];
};

/* Parses the numeric address in s[0..len) (no port, no brackets) into *a. 0 or -1. */
static int parse_addr(const char *s, size_t len, cidr *a)
{
    char buf[RTK_PROXY_ADDR_MAX];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, buf, a->addr) == 1) {
        a->family = AF_INET;
        a->bits = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, a->addr) == 1) {
        /* An IPv4-mapped address is that IPv4 address (a dual-stack socket shows them). */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a->addr, mapped, 12) == 0) {
            memmove(a->addr, a->addr + 12, 4);
            memset(a->addr + 4, 0, 12);
            a->family = AF_INET;
            a->bits = 32;
            return 0;
        }
        a->family = AF_INET6;
        a->bits = 128;
        return 0;
    }
    return -1;
}

static int in_block(const cidr *block, const cidr *a)
{
    if (block->family != a->family)
        return 0;
    int full = block->bits / 8, rest = block->bits % 8;
    if (memcmp(block->addr, a->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (block->addr[full] & mask) == (a->addr[full] & mask);
}

static int trusted(const rtk_proxy_trust *t, const cidr *a)
{
    for (size_t i = 0; t != NULL && i < t->n; i++)
        if (in_block(&t->c[i], a))
            return 1;
    return 0;
}

/* One CIDR block "ADDR[/BITS]" in s[0..len). */
static int parse_cidr(const char *s, size_t len, cidr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (parse_addr(s, alen, out) != 0)
        return -1;
    int max = out->bits;
    if (slash != NULL) {
        const char *d = slash + 1, *end = s + len;
        if (d == end || end - d > 3)
            return -1;
        int bits = 0;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9')
                return -1;
            bits = bits * 10 + (*d - '0');
        }
        /* A mapped IPv4 block written in IPv6 (::ffff:10.0.0.0/104) counts from bit 96. */
        if (out->family == AF_INET && memchr(s, ':', alen) != NULL)
            bits -= 96;
        if (bits < 0 || bits > max)
            return -1;
        out->bits = bits;
    }
    /* Host bits below the prefix must be zero. */
    for (int b = out->bits; b < max; b++)
        if (out->addr[b / 8] & (0x80 >> (b % 8)))
            return -1;
    return 0;
}

int rtk_proxy_trust_parse(const char *list, rtk_proxy_trust **out)
{
    *out = NULL;
    if (list == NULL)
        return RTK_EINVAL;
    rtk_proxy_trust *t = rtk_xcalloc(1, sizeof(*t));
    size_t pos = 0, len = strlen(list), n;
    const char *e;
    while (rtk_http_list_next(list, len, &pos, &e, &n)) {
        if (t->n == RTK_PROXY_MAX_CIDRS || parse_cidr(e, n, &t->c[t->n]) != 0) {
            free(t);
            return RTK_EINVAL;
        }
        t->n++;
    }
    if (t->n == 0) {
        free(t);
        return RTK_EINVAL;
    }
    *out = t;
    return 0;
}

void rtk_proxy_trust_free(rtk_proxy_trust *t)
{
    free(t);
}

int rtk_proxy_trusts(const rtk_proxy_trust *t, const char *ip)
{
    cidr a;
    return ip != NULL && parse_addr(ip, strlen(ip), &a) == 0 && trusted(t, &a);
}

/* One X-Forwarded-For entry: an address, "[v6]" or "[v6]:port", or "v4:port" (some proxies
 * add the port). 0 and the address, or -1. */
static int parse_hop(const char *s, size_t len, cidr *a)
{
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        return parse_addr(s + 1, (size_t)(close - s - 1), a);
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
        len = (size_t)(colon - s); /* one colon: IPv4 with a port */
    return parse_addr(s, len, a);
}

#define MAX_HOPS 32 /* the right-most hops kept; more would be a forged list */

void rtk_proxy_client_ip(const rtk_proxy_trust *t, const rtk_http_req *req,
                         char ip[RTK_PROXY_ADDR_MAX])
{
    if (t == NULL || !rtk_proxy_trusts(t, ip))
        return;
    struct {
        const char *s;
        size_t n;
    } hops[MAX_HOPS];
    size_t nhops = 0; /* total seen; the last MAX_HOPS are kept, as a ring */
    for (size_t i = 0; i < req->nheaders; i++) {
        const rtk_http_header *h = &req->headers[i];
        if (h->name_len != 15 || strncasecmp(h->name, "x-forwarded-for", 15) != 0)
            continue;
        size_t pos = 0, n;
        const char *e;
        while (rtk_http_list_next(h->value, h->value_len, &pos, &e, &n)) {
            hops[nhops % MAX_HOPS].s = e;
            hops[nhops % MAX_HOPS].n = n;
            nhops++;
        }
    }
    size_t kept = nhops < MAX_HOPS ? nhops : MAX_HOPS;
    cidr client;
    int found = 0;
    for (size_t k = 0; k < kept; k++) {
        size_t i = (nhops - 1 - k) % MAX_HOPS;
        cidr a;
        if (parse_hop(hops[i].s, hops[i].n, &a) != 0)
            break; /* garbage: believe nothing left of it */
        client = a;
        found = 1;
        if (!trusted(t, &a))
            break;
    }
    if (found)
        inet_ntop(client.family, client.addr, ip, RTK_PROXY_ADDR_MAX);
}
