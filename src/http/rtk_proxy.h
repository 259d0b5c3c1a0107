/* SPDX-License-Identifier: MIT */
/* rtk_proxy.h - trusted reverse proxies (--trust-proxy) and the client address they forward
 * in X-Forwarded-For. Sans-I/O: addresses in, an address out. */
#ifndef RTK_PROXY_H
#define RTK_PROXY_H

#include <stddef.h>

#include "http/rtk_req.h"

#define RTK_PROXY_MAX_CIDRS 64
#define RTK_PROXY_ADDR_MAX 46 /* INET6_ADDRSTRLEN, as RTK_H1_ADDR_MAX */

typedef struct rtk_proxy_trust rtk_proxy_trust; /* opaque: a list of CIDR blocks */

/* Parses |list|: CIDR blocks or single addresses separated by commas (spaces allowed),
 * IPv4 ("10.0.0.0/8", "127.0.0.1") and IPv6 ("fd00::/8", "::1"), at most RTK_PROXY_MAX_CIDRS.
 * Host bits set below the prefix are an error (a typo, not a wider block). On success stores
 * a new list in *out (free with rtk_proxy_trust_free). Errors: RTK_EINVAL (empty list, a bad
 * address or prefix, too many blocks); *out is NULL then. Any thread. */
int rtk_proxy_trust_parse(const char *list, rtk_proxy_trust **out);

/* Frees |t|; accepts NULL. */
void rtk_proxy_trust_free(rtk_proxy_trust *t);

/* 1 if the numeric address |ip| (text) is in one of |t|'s blocks; 0 otherwise, also for NULL
 * |t| or an |ip| that is not an address. IPv4-mapped IPv6 addresses match IPv4 blocks. */
int rtk_proxy_trusts(const rtk_proxy_trust *t, const char *ip);

/* The client address of |req|, whose peer is |ip| (numeric text, RTK_PROXY_ADDR_MAX bytes):
 * when the peer is trusted, the right-most address of X-Forwarded-For (all its header lines,
 * in order) that is not trusted, or the left-most one when all are; a malformed entry stops
 * the walk at the trusted hop before it. Otherwise (peer not trusted, no header) |ip| is left
 * as it is. Rewrites |ip| in place. Any thread. */
void rtk_proxy_client_ip(const rtk_proxy_trust *t, const rtk_http_req *req,
                         char ip[RTK_PROXY_ADDR_MAX]);

#endif
