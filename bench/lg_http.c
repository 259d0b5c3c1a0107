/* SPDX-License-Identifier: MIT */
/* lg_http.c - blocking HTTP/1.1 keep-alive client on http-parser (response mode). */
#include "lg_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/rtk_err.h"

struct lg_http {
    int fd;
    struct sockaddr_in addr;
    char host[64];
    http_parser parser;
    char *body;     /* response body being read */
    size_t body_len;
    int done;       /* the response is complete */
};

static int on_body(http_parser *p, const char *at, size_t len)
{
    lg_http *h = p->data;
    h->body = rtk_xrealloc(h->body, h->body_len + len + 1);
    memcpy(h->body + h->body_len, at, len);
    h->body_len += len;
    h->body[h->body_len] = '\0';
    return 0;
}

static int on_complete(http_parser *p)
{
    lg_http *h = p->data;
    h->done = 1;
    http_parser_pause(p, 1); /* anything after the response is not ours */
    return 0;
}

static const http_parser_settings settings = {
    .on_body = on_body,
    .on_message_complete = on_complete,
};

static int dial(lg_http *h)
{
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(h->fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) != 0) {
        int rc = -errno;
        close(h->fd);
        h->fd = -1;
        return rc;
    }
    return 0;
}

int lg_http_open(const char *host, int port, lg_http **out)
{
    *out = NULL;
    lg_http *h = rtk_xcalloc(1, sizeof(*h));
    h->fd = -1;
    h->addr.sin_family = AF_INET;
    h->addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &h->addr.sin_addr) != 1) {
        free(h);
        return RTK_EINVAL;
    }
    snprintf(h->host, sizeof(h->host), "%s:%d", host, port);
    int rc = dial(h);
    if (rc != 0) {
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One attempt on the current connection. Returns the status, or a negative error; sets
 * |*stale| when the connection turned out to be closed before any response byte. */
static int attempt(lg_http *h, const char *req, size_t req_len, int *stale)
{
    *stale = 0;
    int rc = write_all(h->fd, req, req_len);
    if (rc != 0) {
        *stale = 1;
        return rc;
    }
    http_parser_init(&h->parser, HTTP_RESPONSE);
    h->parser.data = h;
    h->done = 0;
    free(h->body);
    h->body = NULL;
    h->body_len = 0;
    size_t got = 0;
    char buf[16384];
    while (!h->done) {
        ssize_t r = recv(h->fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *stale = got == 0;
            return -errno;
        }
        if (r == 0) {
            if (got == 0) {
                *stale = 1;
                return -ECONNRESET;
            }
            http_parser_execute(&h->parser, &settings, NULL, 0); /* EOF ends a body */
            break;
        }
        got += (size_t)r;
        size_t n = http_parser_execute(&h->parser, &settings, buf, (size_t)r);
        if (HTTP_PARSER_ERRNO(&h->parser) != HPE_OK && HTTP_PARSER_ERRNO(&h->parser) != HPE_PAUSED)
            return RTK_EPROTO;
        (void)n;
    }
    if (!h->done)
        return RTK_EPROTO;
    int status = (int)h->parser.status_code;
    if (!http_should_keep_alive(&h->parser)) {
        close(h->fd);
        h->fd = -1;
    }
    return status;
}

int lg_http_request(lg_http *h, const char *method, const char *path, const char *auth,
                    const char *body, char **resp)
{
    size_t blen = body ? strlen(body) : 0;
    size_t cap = strlen(method) + strlen(path) + (auth ? strlen(auth) : 0) + blen + 256;
    char *req = rtk_xmalloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s", method, path, h->host,
                     auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    if (body != NULL)
        n += snprintf(req + n, cap - (size_t)n,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", blen,
                      body);
    else
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: 0\r\n\r\n");
    int rc = RTK_EPROTO;
    for (int tries = 0; tries < 2; tries++) {
        if (h->fd < 0 && (rc = dial(h)) != 0)
            break;
        int stale = 0;
        rc = attempt(h, req, (size_t)n, &stale);
        if (rc > 0 || !stale)
            break;
        close(h->fd);
        h->fd = -1;
    }
    free(req);
    if (rc < 0 && h->fd >= 0) { /* the connection is in an unknown state: start afresh */
        close(h->fd);
        h->fd = -1;
    }
    if (resp != NULL) {
        *resp = rc > 0 ? h->body : NULL;
        if (rc > 0)
            h->body = NULL;
        if (rc > 0 && *resp == NULL)
            *resp = rtk_xstrndup("", 0);
    }
    return rc;
}

void lg_http_close(lg_http *h)
{
    if (h == NULL)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h->body);
    free(h);
}
