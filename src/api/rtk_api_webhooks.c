/* SPDX-License-Identifier: MIT */
/* rtk_api_webhooks.c - P/webhooks (RealtimeKit's resource), its deliveries and retry (rtkd's
 * extensions), and GET /.well-known/webhooks.json (../shared/WEBHOOKS.md). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/rtk_api.h"
#include "cluster/rtk_cluster.h"
#include "hook/rtk_hook.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define NAME_MAX_BYTES 256
#define URL_MAX_BYTES 2048

/* Every event name RealtimeKit accepts; the first four are sent (no media plane here). */
static const char *const event_names[] = {
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
};

static int known_event(const char *s)
{
    for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
        if (strcmp(s, event_names[i]) == 0)
            return 1;
    return 0;
}

static json_t *hook_json(const rtk_store_set *set, size_t row)
{
    char created[25], updated[25];
    rtk_time_iso(rtk_store_int(set, row, RTK_STORE_HOOK_CREATED), created);
    rtk_time_iso(rtk_store_int(set, row, RTK_STORE_HOOK_UPDATED), updated);
    json_t *events = json_loads(rtk_store_text(set, row, RTK_STORE_HOOK_EVENTS, NULL), 0, NULL);
    if (!json_is_array(events)) {
        json_decref(events);
        events = json_array();
    }
    return json_pack("{s:s,s:s,s:s,s:o,s:b,s:s,s:s}", "id",
                     rtk_store_text(set, row, RTK_STORE_HOOK_ID, NULL), "name",
                     rtk_store_text(set, row, RTK_STORE_HOOK_NAME, NULL), "url",
                     rtk_store_text(set, row, RTK_STORE_HOOK_URL, NULL), "events", events,
                     "enabled", (int)rtk_store_int(set, row, RTK_STORE_HOOK_ENABLED), "created_at",
                     created, "updated_at", updated);
}

/* Checks |body| (an object) field by field; with |whole|, name, url and events are required.
 * Returns 0, or -1 with a message naming the field in msg[cap]. */
int rtk_api_webhook_check(json_t *body, int whole, char *msg, size_t cap)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "name") != 0 && strcmp(key, "url") != 0 && strcmp(key, "events") != 0 &&
            strcmp(key, "enabled") != 0) {
            snprintf(msg, cap, "\"%.64s\" is not a webhook field", key);
            return -1;
        }
    }
    if (whole) {
        static const char *const required[] = {"name", "url", "events"};
        for (size_t i = 0; i < 3; i++)
            if (json_object_get(body, required[i]) == NULL) {
                snprintf(msg, cap, "\"%s\" is required", required[i]);
                return -1;
            }
    }
    if ((v = json_object_get(body, "name")) != NULL) {
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        if (!json_is_string(v) || n == 0 || n > NAME_MAX_BYTES ||
            strlen(json_string_value(v)) != n) {
            snprintf(msg, cap, "\"name\" must be a string of 1 to %d bytes", NAME_MAX_BYTES);
            return -1;
        }
    }
    if ((v = json_object_get(body, "url")) != NULL) {
        const char *u = json_is_string(v) ? json_string_value(v) : "";
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        size_t scheme = strncasecmp(u, "http://", 7) == 0    ? 7
                        : strncasecmp(u, "https://", 8) == 0 ? 8
                                                             : 0;
        int ok = json_is_string(v) && scheme > 0 && n > scheme && n <= URL_MAX_BYTES &&
                 strlen(u) == n && u[scheme] != '/';
        for (size_t i = 0; ok && i < n; i++)
            if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
                ok = 0;
        if (!ok) {
            snprintf(msg, cap, "\"url\" must be an http:// or https:// URL of at most %d bytes",
                     URL_MAX_BYTES);
            return -1;
        }
    }
    if ((v = json_object_get(body, "events")) != NULL) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            snprintf(msg, cap, "\"events\" must be a non-empty array of event names");
            return -1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || !known_event(json_string_value(e))) {
                snprintf(msg, cap, "\"events[%zu]\" is not a known event name", i);
                return -1;
            }
        }
    }
    if ((v = json_object_get(body, "enabled")) != NULL && !json_is_boolean(v)) {
        snprintf(msg, cap, "\"enabled\" must be a boolean");
        return -1;
    }
    return 0;
}

/* The events of |arr| (checked) without repeats, as compact JSON text (free it). */
static char *events_text(json_t *arr)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *e, *f;
    json_array_foreach(arr, i, e)
    {
        int seen = 0;
        json_array_foreach(out, k, f) seen |= json_equal(e, f);
        if (!seen)
            json_array_append(out, e);
    }
    char *s = rtk_api_dump(out);
    json_decref(out);
    return s;
}

typedef struct hook_state {
    char id[72]; /* a path parameter is at most 64 bytes */
    int64_t now;
    rtk_store_webhook w;
    char *events;
} hook_state;

static void state_free(hook_state *hs)
{
    if (hs != NULL)
        free(hs->events);
}

static void reply_row(rtk_call *call, int status, const rtk_store_webhook *w)
{
    /* The row as it was written, in the shape of a stored one. */
    rtk_store_val cells[RTK_STORE_HOOK_COLS] = {
        [RTK_STORE_HOOK_ID] = {RTK_SV_TEXT, 0, w->id, strlen(w->id)},
        [RTK_STORE_HOOK_NAME] = {RTK_SV_TEXT, 0, w->name, strlen(w->name)},
        [RTK_STORE_HOOK_URL] = {RTK_SV_TEXT, 0, w->url, strlen(w->url)},
        [RTK_STORE_HOOK_EVENTS] = {RTK_SV_TEXT, 0, w->events, strlen(w->events)},
        [RTK_STORE_HOOK_ENABLED] = {RTK_SV_INT, w->enabled, "", 0},
        [RTK_STORE_HOOK_CREATED] = {RTK_SV_INT, w->created_ms, "", 0},
        [RTK_STORE_HOOK_UPDATED] = {RTK_SV_INT, w->updated_ms, "", 0},
    };
    rtk_store_set set = {1, RTK_STORE_HOOK_COLS, cells};
    rtk_api_reply(call, status, hook_json(&set, 0), NULL);
}

/* 1 after answering a failed read or write of the path's webhook: 404, or the store's error. */
static int hook_failed(rtk_call *call, int status)
{
    if (status == RTK_ENOTFOUND)
        rtk_api_fail(call, 404, "No webhook found with id %s", call->m.params[2]);
    else if (status != 0)
        rtk_api_store_error(call, status);
    return status != 0;
}

/* A write to the app's webhooks is over (whatever its status): this node's event filter
 * rereads them, and a cluster's other nodes are told to. */
static void hooks_written(rtk_call *call)
{
    rtk_hook_app_written(call->ctx->hook, call->app);
    rtk_cluster_hooks_changed(call->ctx->cluster, call->app);
}

static void on_written(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    hook_state *hs = call->data;
    (void)res;
    hooks_written(call);
    if (status != 0) {
        state_free(hs);
        hook_failed(call, status);
        return;
    }
    int insert = strcmp(call->req->method_str, "POST") == 0;
    char *events = hs->events; /* the reply frees hs with the call */
    reply_row(call, insert ? 201 : 200, &hs->w);
    free(events);
}

/* Writes the merged webhook: |base| (a stored row, or NULL on create) overlaid with the
 * checked body; PUT and POST give absent fields their defaults. */
static void write_hook(rtk_call *call, const rtk_store_set *base, int insert, int replace)
{
    hook_state *hs = call->data;
    json_t *b = call->body;
    rtk_store_webhook *w = &hs->w;
    w->id = hs->id;
    hs->now = rtk_time_now_ms();
    w->created_ms = base != NULL ? rtk_store_int(base, 0, RTK_STORE_HOOK_CREATED) : hs->now;
    w->updated_ms = hs->now > w->created_ms ? hs->now : w->created_ms;
    if (base != NULL && !insert && w->updated_ms <= rtk_store_int(base, 0, RTK_STORE_HOOK_UPDATED))
        w->updated_ms = rtk_store_int(base, 0, RTK_STORE_HOOK_UPDATED) + 1;
    json_t *v;
    /* Texts from |base| are copied into the body object, so they outlive the result. */
    if (base != NULL && !replace) {
        if (json_object_get(b, "name") == NULL)
            json_object_set_new(b, "name",
                                json_string(rtk_store_text(base, 0, RTK_STORE_HOOK_NAME, NULL)));
        if (json_object_get(b, "url") == NULL)
            json_object_set_new(b, "url",
                                json_string(rtk_store_text(base, 0, RTK_STORE_HOOK_URL, NULL)));
        if (json_object_get(b, "events") == NULL)
            json_object_set_new(
                b, "events",
                json_loads(rtk_store_text(base, 0, RTK_STORE_HOOK_EVENTS, NULL), 0, NULL));
        if (json_object_get(b, "enabled") == NULL)
            json_object_set_new(b, "enabled",
                                json_boolean(rtk_store_int(base, 0, RTK_STORE_HOOK_ENABLED)));
    }
    w->name = json_string_value(json_object_get(b, "name"));
    w->url = json_string_value(json_object_get(b, "url"));
    hs->events = events_text(json_object_get(b, "events"));
    w->events = hs->events;
    w->enabled = (v = json_object_get(b, "enabled")) != NULL ? json_is_true(v) : 1;
    /* In this turn: an event after the reply is written to the outbox (rtk_hook.h). */
    rtk_hook_app_writing(call->ctx->hook, call->app);
    rtk_store_webhook_put(call->ctx->store, call->app, w, insert, on_written, call);
}

static int checked_body(rtk_call *call, int whole)
{
    char msg[160];
    if (rtk_api_body(call) != 0)
        return -1;
    if (!json_is_object(call->body)) {
        rtk_api_fail(call, 400, "the body must be a JSON object");
        return -1;
    }
    if (rtk_api_webhook_check(call->body, whole, msg, sizeof(msg)) != 0) {
        rtk_api_fail(call, 400, "%s", msg);
        return -1;
    }
    return 0;
}

void rtk_api_webhooks_create(rtk_call *call)
{
    if (checked_body(call, 1) != 0)
        return;
    hook_state *hs = rtk_xcalloc(1, sizeof(*hs));
    call->data = hs;
    rtk_id_uuid4(hs->id);
    write_hook(call, NULL, 1, 1);
}

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < res->sets[0].nrows; i++)
        json_array_append_new(items, hook_json(&res->sets[0], i));
    rtk_api_reply(call, 200, items, NULL);
}

void rtk_api_webhooks_list(rtk_call *call)
{
    rtk_store_webhook_list(call->ctx->store, call->app, on_listed, call);
}

static void on_got(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (hook_failed(call, status))
        return;
    if (strcmp(call->req->method_str, "GET") == 0) {
        rtk_api_reply(call, 200, hook_json(&res->sets[0], 0), NULL);
        return;
    }
    write_hook(call, &res->sets[0], 0, strcmp(call->req->method_str, "PUT") == 0);
}

void rtk_api_webhook_get(rtk_call *call)
{
    rtk_store_webhook_get(call->ctx->store, call->app, call->m.params[2], on_got, call);
}

void rtk_api_webhook_update(rtk_call *call)
{
    int put = strcmp(call->req->method_str, "PUT") == 0;
    if (checked_body(call, put) != 0)
        return;
    hook_state *hs = rtk_xcalloc(1, sizeof(*hs));
    call->data = hs;
    snprintf(hs->id, sizeof(hs->id), "%s", call->m.params[2]);
    rtk_store_webhook_get(call->ctx->store, call->app, call->m.params[2], on_got, call);
}

static void on_deleted(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    hooks_written(call);
    if (hook_failed(call, status))
        return;
    rtk_api_reply(call, 200, hook_json(&res->sets[0], 0), NULL);
}

void rtk_api_webhook_delete(rtk_call *call)
{
    rtk_hook_app_writing(call->ctx->hook, call->app);
    rtk_store_webhook_delete(call->ctx->store, call->app, call->m.params[2], on_deleted, call);
}

typedef struct deliveries_state {
    rtk_store_page page;
} deliveries_state;

static json_t *time_or_null(const rtk_store_set *set, size_t row, int col)
{
    if (rtk_store_is_null(set, row, col))
        return json_null();
    char t[25];
    rtk_time_iso(rtk_store_int(set, row, col), t);
    return json_string(t);
}

static void on_deliveries(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    deliveries_state *ds = call->data;
    if (hook_failed(call, status))
        return;
    const rtk_store_set *rows = &res->sets[2];
    json_t *items = json_array();
    for (size_t i = 0; i < rows->nrows; i++) {
        json_t *code =
            rtk_store_is_null(rows, i, 4) ? json_null() : json_integer(rtk_store_int(rows, i, 4));
        json_t *err = rtk_store_is_null(rows, i, 5) ? json_null()
                                                    : json_string(rtk_store_text(rows, i, 5, NULL));
        json_array_append_new(
            items,
            json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
                      rtk_store_text(rows, i, 0, NULL), "event", rtk_store_text(rows, i, 1, NULL),
                      "status", rtk_store_text(rows, i, 2, NULL), "attempts",
                      (json_int_t)rtk_store_int(rows, i, 3), "last_status_code", code, "last_error",
                      err, "created_at", time_or_null(rows, i, 6), "delivered_at",
                      time_or_null(rows, i, 7), "next_attempt_at", time_or_null(rows, i, 8)));
    }
    int64_t total = rtk_store_int(&res->sets[1], 0, 0);
    rtk_api_reply(call, 200, items, rtk_reply_paging(total, ds->page.offset, rows->nrows));
}

void rtk_api_webhook_deliveries(rtk_call *call)
{
    deliveries_state *ds = rtk_xcalloc(1, sizeof(*ds));
    call->data = ds;
    if (rtk_api_paging(call, &ds->page) != 0)
        return;
    rtk_store_hook_deliveries(call->ctx->store, call->app, call->m.params[2], ds->page,
                              on_deliveries, call);
}

static void on_retried(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    if (res->sets[0].nrows == 0) {
        rtk_api_fail(call, 404, "No delivery found with id %s", call->m.params[3]);
        return;
    }
    if (res->changes == 0) {
        rtk_api_fail(call, 400, "delivery %s is %s, not failed", call->m.params[3],
                     rtk_store_text(&res->sets[0], 0, 0, NULL));
        return;
    }
    rtk_api_reply(call, 202, json_pack("{s:s,s:s}", "id", call->m.params[3], "status", "pending"),
                  NULL);
}

void rtk_api_webhook_retry(rtk_call *call)
{
    rtk_store_hook_retry(call->ctx->store, call->app, call->m.params[2], call->m.params[3],
                         rtk_time_now_ms(), on_retried, call);
}

void rtk_api_webhooks_keys(rtk_call *call)
{
    const char *body = call->ctx->webhook_keys_json;
    if (body == NULL) {
        rtk_api_fail(call, 503, "webhook keys are not loaded");
        return;
    }
    rtk_api_reply_raw(call, 200, body, strlen(body));
}
