/* SPDX-License-Identifier: MIT */
/* rtk_bus.h - the cluster's bus: Redis through hiredis on the loop thread (CLUSTER.md).
 *
 * Two connections to one Redis: one for commands and scripts, one for pub/sub. Both are
 * non-blocking (hiredis's async API on uv_poll through its libuv adapter); the host name is
 * resolved with uv_getaddrinfo first, so not even the connect blocks. When a connection
 * breaks, or a command has had no answer for |cmd_timeout_ms|, the bus drops both and
 * reconnects with exponential backoff and jitter; commands in flight then complete with
 * RTK_EUNAVAIL (their outcome is unknown) and new ones fail at once until the bus is up
 * again. Once up, it resubscribes to every channel it holds, loads its Lua scripts, and tells
 * its owner (on_up) so that the owner republishes what Redis may have lost.
 *
 * No hiredis type appears here: replies are read through rtk_bus_reply's accessors, valid
 * during the callback only. */
#ifndef RTK_BUS_H
#define RTK_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct rtk_bus rtk_bus;
typedef struct rtk_bus_reply rtk_bus_reply;

/* Parses redis://HOST:PORT[/DB] (HOST may be [v6]). 0, or RTK_EINVAL. */
int rtk_bus_url_parse(const char *url, char *host, size_t host_cap, int *port, int *db);

typedef struct rtk_bus_config {
    const char *url;
    uint64_t cmd_timeout_ms;    /* a command unanswered this long breaks the connection (2000) */
    uint64_t backoff_min_ms;    /* first reconnect delay (100), doubling up to ... */
    uint64_t backoff_max_ms;    /* ... this (2000) */
    const char *const *scripts; /* Lua sources, loaded on every connect; run by index */
    size_t nscripts;
    /* Called on the loop each time the bus comes up (scripts loaded, channels resubscribed)
     * and each time it goes down. */
    void (*on_state)(void *arg, int up);
    /* A message on a subscribed channel. */
    void (*on_message)(void *arg, const char *channel, size_t channel_len, const char *msg,
                       size_t msg_len);
    void *arg;
} rtk_bus_config;

/* Creates the bus and starts connecting. 0, or RTK_EINVAL for a bad URL. */
int rtk_bus_new(uv_loop_t *loop, const rtk_bus_config *cfg, rtk_bus **out);

/* 1 while both connections are up and the scripts are loaded. */
int rtk_bus_up(const rtk_bus *bus);

/* A command's answer: |status| 0 with |r| (which may be an error reply), or RTK_EUNAVAIL
 * with |r| NULL (the bus was down, went down, or timed out: the outcome is unknown). */
typedef void (*rtk_bus_cb)(void *arg, int status, const rtk_bus_reply *r);

/* Sends a command (|argc| arguments, binary-safe; |lens| NULL: C strings). |cb| may be NULL.
 * Returns 0 (|cb| will run, never inside this call), or RTK_EUNAVAIL when the bus is down
 * (|cb| never runs). */
int rtk_bus_cmd(rtk_bus *bus, rtk_bus_cb cb, void *arg, int argc, const char *const *argv,
                const size_t *lens);
/* Runs script |idx| (EVALSHA) with |nkeys| keys then the other arguments, as rtk_bus_cmd. */
int rtk_bus_script(rtk_bus *bus, size_t idx, rtk_bus_cb cb, void *arg, int nkeys, int argc,
                   const char *const *argv, const size_t *lens);

/* Subscriptions are counted: the bus subscribes on the first hold and unsubscribes on the
 * last release, and keeps them across reconnects. */
void rtk_bus_hold(rtk_bus *bus, const char *channel);
void rtk_bus_release(rtk_bus *bus, const char *channel);
/* |cb|(|arg|, 0) once Redis has taken the subscription to |channel| (held), so that whatever
 * is published from then on is heard: at once (inside this call) when it has; RTK_EUNAVAIL if
 * the bus goes down or the channel is released first. Returns 0, or RTK_EUNAVAIL (not held,
 * or the bus is down: |cb| never runs). */
int rtk_bus_when_subscribed(rtk_bus *bus, const char *channel, void (*cb)(void *arg, int status),
                            void *arg);

/* Commands sent and not yet answered (for tests and metrics). */
size_t rtk_bus_pending(const rtk_bus *bus);

/* Closes both connections (commands in flight complete with RTK_EUNAVAIL) and the bus's
 * handles; the loop runs until they are closed. Then the bus is freed. */
void rtk_bus_close(rtk_bus *bus);

/* ---- replies ---- */
enum { RTK_BUS_NIL = 0, RTK_BUS_INT, RTK_BUS_STR, RTK_BUS_ARRAY, RTK_BUS_ERR, RTK_BUS_STATUS };
int rtk_bus_reply_type(const rtk_bus_reply *r);
long long rtk_bus_reply_int(const rtk_bus_reply *r);
/* The string of a STR, ERR or STATUS reply (NULL otherwise). */
const char *rtk_bus_reply_str(const rtk_bus_reply *r, size_t *len);
size_t rtk_bus_reply_len(const rtk_bus_reply *r);                        /* elements of an ARRAY */
const rtk_bus_reply *rtk_bus_reply_at(const rtk_bus_reply *r, size_t i); /* NULL past end */
/* Copies element |i|'s string (see rtk_bus_reply_str) into |buf|, NUL-terminated and cut to
 * |cap| - 1 bytes ("" when it has none); returns its whole length. */
size_t rtk_bus_reply_copy_at(const rtk_bus_reply *r, size_t i, char *buf, size_t cap);
/* Element |i| of an array as an integer: an INT, or a STR holding one; |dflt| otherwise. */
long long rtk_bus_reply_int_at(const rtk_bus_reply *r, size_t i, long long dflt);

#endif
