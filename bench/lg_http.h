/* SPDX-License-Identifier: MIT */
/* lg_http.h - a small blocking HTTP/1.1 keep-alive client for the load generator's set-up
 * requests and triggers (create participants, create a poll, kick-all). */
#ifndef LG_HTTP_H
#define LG_HTTP_H

#include <stddef.h>

typedef struct lg_http lg_http;

/* Connects to |host| (dotted IPv4) port |port|. Stores a new client in *out (free it with
 * lg_http_close). Errors: RTK_EINVAL for a bad address, negated errno from socket/connect. */
int lg_http_open(const char *host, int port, lg_http **out);

/* Sends one request, |method| |path| with header "Authorization: |auth|" when |auth| is not
 * NULL and a JSON |body| when it is not NULL, and reads the whole response. Reconnects once if
 * the server had closed the kept-alive connection. Returns the HTTP status (> 0) and stores a
 * new NUL-terminated copy of the body in *resp (the caller frees it; *resp may be NULL when
 * |resp| is NULL), or a negative error: negated errno from the socket, RTK_EPROTO for a
 * response that is not HTTP. Blocking; any thread. */
int lg_http_request(lg_http *h, const char *method, const char *path, const char *auth,
                    const char *body, char **resp);

/* Closes the connection and frees |h| (NULL is fine). */
void lg_http_close(lg_http *h);

#endif
