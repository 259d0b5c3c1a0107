/* SPDX-License-Identifier: MIT */
/* rtk_web.c - serves the embedded web pages and assets with their security and cache headers. */
#include "web/rtk_web.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "http/rtk_reply.h"

#define UI_PREFIX "/ui/"
#define UI_PREFIX_LEN (sizeof(UI_PREFIX) - 1)
#define NAME_MAX_LEN 128
#define HTML_TYPE "text/html; charset=utf-8"

/* No inline script or style anywhere: every page loads its code and styles from /ui/, so the
 * policy can forbid everything else. base-uri 'none' stops a <base> tag from redirecting
 * relative URLs; frame-ancestors 'none' stops clickjacking (the console has a kick button). */
#define SECURITY_HEADERS                                                                       \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "       \
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "          \
    "frame-ancestors 'none'\r\n"                                                               \
    "X-Content-Type-Options: nosniff\r\n"                                                      \
    "Referrer-Policy: no-referrer\r\n"                                                         \
    "X-Frame-Options: DENY\r\n"

/* Pages are revalidated every time (a cheap 304), so a new binary shows its new console at
 * once; assets may be reused for a few minutes without asking. */
#define CACHE_PAGE "Cache-Control: no-cache\r\n"
#define CACHE_ASSET "Cache-Control: public, max-age=300\r\n"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", HTML_TYPE},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *rtk_web_content_type(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

const rtk_web_asset *rtk_web_find(const char *name, size_t len)
{
    /* The table is small (a handful of files): a linear scan is plenty. */
    for (size_t i = 0; i < rtk_web_assets_count; i++) {
        const rtk_web_asset *a = &rtk_web_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

/* True when the If-None-Match list |v| names |etag|. RFC 9110 §13.1.2: the comparison is
 * weak, so a W/ prefix is ignored; "*" matches any current representation. */
static int etag_matches(const char *v, size_t len, const char *etag)
{
    size_t pos = 0, n, elen = strlen(etag);
    const char *e;
    while (rtk_http_list_next(v, len, &pos, &e, &n)) {
        if (n >= 2 && e[0] == 'W' && e[1] == '/') {
            e += 2;
            n -= 2;
        }
        if ((n == 1 && e[0] == '*') || (n == elen && memcmp(e, etag, elen) == 0))
            return 1;
    }
    return 0;
}

/* Maps a request path to the file name it serves. Returns 1 and sets *name and *len for a
 * web URL (the name may not exist: "/ui/x"), 0 for any other path. */
static int web_path(const char *path, size_t plen, const char **name, size_t *len, int *page)
{
    if (plen == 1 && path[0] == '/') {
        *name = "index.html";
        *len = strlen(*name);
        *page = 1;
        return 1;
    }
    if (plen == 5 && memcmp(path, "/join", 5) == 0) {
        *name = "join.html";
        *len = strlen(*name);
        *page = 1;
        return 1;
    }
    if (plen >= UI_PREFIX_LEN && memcmp(path, UI_PREFIX, UI_PREFIX_LEN) == 0) {
        *name = path + UI_PREFIX_LEN;
        *len = plen - UI_PREFIX_LEN;
        *page = 0;
        return 1;
    }
    return 0;
}

int rtk_web_handle(rtk_http_req *req)
{
    const char *name = NULL;
    size_t len = 0;
    int page = 0;
    if (!web_path(req->path, req->path_len, &name, &len, &page))
        return 0;
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        rtk_reply_error_h(req, 405, "Allow: GET, HEAD\r\n", "Method %s not allowed here; allowed: "
                          "GET, HEAD", req->method_str);
        return 1;
    }
    /* Pages are reached only by their own URLs; /ui/ serves the rest. A name with a slash,
     * or a page's file name under /ui/, is simply not found: nothing here maps to the disk. */
    const rtk_web_asset *a = NULL;
    if (len > 0 && len <= NAME_MAX_LEN && memchr(name, '/', len) == NULL)
        a = rtk_web_find(name, len);
    if (a != NULL && !page && strcmp(rtk_web_content_type(a->name), HTML_TYPE) == 0)
        a = NULL;
    if (a == NULL) {
        rtk_reply_error_h(req, 404, "X-Content-Type-Options: nosniff\r\n", "No page at %.*s",
                          (int)(req->path_len > 200 ? 200 : req->path_len), req->path);
        return 1;
    }

    char headers[1024];
    snprintf(headers, sizeof(headers), "%sETag: %s\r\n" SECURITY_HEADERS,
             page ? CACHE_PAGE : CACHE_ASSET, a->etag);
    size_t inm_len = 0;
    const char *inm = rtk_http_req_header(req, "if-none-match", &inm_len);
    if (inm != NULL && etag_matches(inm, inm_len, a->etag)) {
        rtk_http_respond(req, 304, NULL, headers, NULL, 0);
        return 1;
    }
    rtk_http_respond(req, 200, rtk_web_content_type(a->name), headers, a->data, a->len);
    return 1;
}
