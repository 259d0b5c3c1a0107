/* SPDX-License-Identifier: MIT */
/* rtk_web.h - the web pages (operator console, participant page) compiled into the binary.
 *
 * Runs on the loop thread. The files of web/ are turned into byte arrays at build time
 * (src/web/rtk_web_embed.cmake writes <build>/rtk_web_assets.c), so rtkd stays one file.
 * URLs: "/" is web/index.html (the console), "/join" is web/join.html (the participant page)
 * and "/ui/<name>" is any other file of web/. */
#ifndef RTK_WEB_H
#define RTK_WEB_H

#include <stddef.h>

#include "net/rtk_http.h"

/* One embedded file. Filled in by the generated table; read-only. */
typedef struct rtk_web_asset {
    const char *name;          /* file name in web/, e.g. "console.js" */
    const unsigned char *data; /* |len| bytes of content, followed by a NUL */
    size_t len;
    const char *etag; /* strong validator with its quotes: "\"<16 hex of SHA-256>\"" */
} rtk_web_asset;

/* The generated table (rtk_web_assets.c), sorted by name. */
extern const rtk_web_asset rtk_web_assets[];
extern const size_t rtk_web_assets_count;

/* Returns the embedded file called |name| (|len| bytes, no NUL needed), or NULL. Borrowed:
 * static data. */
const rtk_web_asset *rtk_web_find(const char *name, size_t len);

/* Returns the Content-Type for a file called |name| (by its extension, with a charset for
 * text); "application/octet-stream" when the extension is unknown. Static string. */
const char *rtk_web_content_type(const char *name);

/* Answers |req| when its path is one of the web URLs: GET and HEAD get the file (200, or 304
 * when If-None-Match names its ETag) with a strict Content-Security-Policy, nosniff,
 * Referrer-Policy no-referrer and caching headers (pages: no-cache; assets: public,
 * max-age=300; both with the ETag); another method gets 405 with "Allow: GET, HEAD"; an
 * unknown "/ui/..." name gets 404. Returns 1 when it answered (|req| is then consumed), 0 when
 * the path is not a web URL and the caller must route the request. Never fails. */
int rtk_web_handle(rtk_http_req *req);

#endif
