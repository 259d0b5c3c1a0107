/* SPDX-License-Identifier: MIT */
/* rtk_api_presets.c - presets: create, list, get, PATCH (merge), PUT (replace), delete.
 *
 * A preset is a name and three objects, `config`, `permissions` and `ui`, in the shapes of the
 * SDK's Preset type (presets.d.ts). Every field is checked against the schema below, so a
 * stored preset always has those shapes: a whole preset (POST, PUT) must give every required
 * field; a PATCH may give any subset at any depth, and the given fields replace the stored
 * ones one by one (a nested field not given keeps its value). Unknown fields are refused, so
 * nothing is stored that the API would not return as the SDK types it, except inside a
 * plugin's config, which the SDK leaves open.
 *
 * Names are unique within an app; a preset that participants use can be neither deleted nor
 * renamed (each is checked by the store in the statement that writes, rtk_store.h). */
#include <http_parser.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/rtk_api.h"
#include "http/rtk_query.h"
#include "http/rtk_reply.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_time.h"

#define PRESET_NAME_MAX 256
#define COLOR_MAX 64
#define TEXT_MAX 256
#define URL_MAX 2048
#define PLUGINS_MAX 64   /* entries of permissions.plugins.config */
#define QUALITIES_MAX 16 /* entries of config.livestream_viewer_qualities */

/* ---- the schema ------------------------------------------------------------------------- */

enum {
    S_END = 0,
    S_BOOL,
    S_INT,   /* an integer in [min, max] */
    S_STR,   /* a string of at most max bytes */
    S_ENUM,  /* one of the strings of sub */
    S_OBJ,   /* an object of the fields of sub, no others */
    S_OPEN,  /* an object of the fields of sub, and any others */
    S_MAP,   /* an object whose every value has the schema *sub (at most PLUGINS_MAX) */
    S_QUALS, /* null or an array of at most QUALITIES_MAX integers in [min, max] */
};

typedef struct field {
    const char *name;
    int type;
    int required; /* in a whole preset */
    const void *sub;
    int64_t min, max;
} field;

#define BOOL_(n, r)                                                                                \
    {                                                                                              \
        n, S_BOOL, r, NULL, 0, 0                                                                   \
    }
#define INT_(n, r, lo, hi)                                                                         \
    {                                                                                              \
        n, S_INT, r, NULL, lo, hi                                                                  \
    }
#define STR_(n, r, max)                                                                            \
    {                                                                                              \
        n, S_STR, r, NULL, 1, max                                                                  \
    }
#define ENUM_(n, r, v)                                                                             \
    {                                                                                              \
        n, S_ENUM, r, v, 0, 0                                                                      \
    }
#define OBJ_(n, r, f)                                                                              \
    {                                                                                              \
        n, S_OBJ, r, f, 0, 0                                                                       \
    }
#define END_                                                                                       \
    {                                                                                              \
        NULL, S_END, 0, NULL, 0, 0                                                                 \
    }

static const char *const view_types[] = {"GROUP_CALL", "WEBINAR", "AUDIO_ROOM", "LIVESTREAM", NULL};
static const char *const qualities[] = {"hd", "vga", "qvga", "fhd", "uhd", NULL};
static const char *const produce[] = {"ALLOWED", "NOT_ALLOWED", "CAN_REQUEST", NULL};
static const char *const recorder_types[] = {"RECORDER", "LIVESTREAMER", "NONE", NULL};
static const char *const waiting_types[] = {"SKIP", "ON_PRIVILEGED_USER_ENTRY", "SKIP_ON_ACCEPT",
                                            NULL};
static const char *const access_controls[] = {"FULL_ACCESS", "VIEW_ONLY", NULL};
static const char *const radii[] = {"sharp", "rounded", "extra-rounded", "circular", NULL};
static const char *const widths[] = {"none", "thin", "fat", NULL};
static const char *const themes[] = {"darkest", "dark", "light", NULL};

static const field max_video_streams[] = {INT_("desktop", 1, 0, 100), INT_("mobile", 1, 0, 100),
                                          END_};
static const field screenshare_cfg[] = {INT_("frame_rate", 1, 1, 60),
                                        ENUM_("quality", 1, qualities), END_};
static const field video_cfg[] = {INT_("frame_rate", 1, 1, 60), ENUM_("quality", 1, qualities),
                                  BOOL_("simulcast", 0), END_};
static const field audio_cfg[] = {BOOL_("enable_high_bitrate", 0), BOOL_("enable_stereo", 0), END_};
static const field media_cfg[] = {OBJ_("screenshare", 1, screenshare_cfg),
                                  OBJ_("video", 1, video_cfg), OBJ_("audio", 0, audio_cfg), END_};
static const field config_fields[] = {
    ENUM_("view_type", 1, view_types),
    OBJ_("max_video_streams", 1, max_video_streams),
    INT_("max_screenshare_count", 1, 0, 100),
    OBJ_("media", 1, media_cfg),
    {"livestream_viewer_qualities", S_QUALS, 0, NULL, 1, 4320},
    END_,
};

static const field chat_private[] = {BOOL_("can_receive", 1), BOOL_("can_send", 1),
                                     BOOL_("files", 1), BOOL_("text", 1), END_};
static const field chat_public[] = {BOOL_("can_send", 1), BOOL_("files", 1), BOOL_("text", 1),
                                    END_};
static const field chat[] = {OBJ_("private", 1, chat_private), OBJ_("public", 1, chat_public),
                             END_};
static const field connected[] = {BOOL_("can_alter_connected_meetings", 1),
                                  BOOL_("can_switch_connected_meetings", 1),
                                  BOOL_("can_switch_to_parent_meeting", 1), END_};
static const field can_produce[] = {ENUM_("can_produce", 1, produce), END_};
static const field media_perm[] = {OBJ_("audio", 1, can_produce),
                                   OBJ_("screenshare", 1, can_produce),
                                   OBJ_("video", 1, can_produce), END_};
static const field plugin_cfg_fields[] = {ENUM_("access_control", 0, access_controls),
                                          BOOL_("handles_view_only", 0), END_};
static const field plugin_cfg = {"", S_OPEN, 1, plugin_cfg_fields, 0, 0};
static const field plugins[] = {BOOL_("can_close", 1),
                                BOOL_("can_edit_config", 1),
                                BOOL_("can_start", 1),
                                {"config", S_MAP, 1, &plugin_cfg, 0, 0},
                                END_};
static const field polls[] = {BOOL_("can_create", 1), BOOL_("can_view", 1), BOOL_("can_vote", 1),
                              END_};
static const field permission_fields[] = {
    BOOL_("accept_waiting_requests", 1),
    BOOL_("can_accept_production_requests", 1),
    BOOL_("can_change_participant_permissions", 1),
    BOOL_("can_edit_display_name", 1),
    BOOL_("can_livestream", 1),
    BOOL_("can_record", 1),
    BOOL_("can_spotlight", 1),
    OBJ_("chat", 1, chat),
    OBJ_("connected_meetings", 1, connected),
    BOOL_("disable_participant_audio", 1),
    BOOL_("disable_participant_screensharing", 1),
    BOOL_("disable_participant_video", 1),
    BOOL_("hidden_participant", 1),
    BOOL_("kick_participant", 1),
    OBJ_("media", 1, media_perm),
    BOOL_("pin_participant", 1),
    OBJ_("plugins", 1, plugins),
    OBJ_("polls", 1, polls),
    ENUM_("recorder_type", 1, recorder_types),
    BOOL_("show_participant_list", 1),
    ENUM_("waiting_room_type", 1, waiting_types),
    BOOL_("accept_stage_requests", 0),
    BOOL_("is_recorder", 0),
    ENUM_("stage_access", 0, produce),
    BOOL_("stage_enabled", 0),
    BOOL_("transcription_enabled", 0),
    END_,
};

static const field background[] = {STR_("1000", 1, COLOR_MAX), STR_("600", 1, COLOR_MAX),
                                   STR_("700", 1, COLOR_MAX),  STR_("800", 1, COLOR_MAX),
                                   STR_("900", 1, COLOR_MAX),  END_};
static const field brand[] = {STR_("300", 1, COLOR_MAX), STR_("400", 1, COLOR_MAX),
                              STR_("500", 1, COLOR_MAX), STR_("600", 1, COLOR_MAX),
                              STR_("700", 1, COLOR_MAX), END_};
static const field colors[] = {OBJ_("background", 1, background),
                               OBJ_("brand", 1, brand),
                               STR_("danger", 1, COLOR_MAX),
                               STR_("success", 1, COLOR_MAX),
                               STR_("text", 1, COLOR_MAX),
                               STR_("text_on_brand", 1, COLOR_MAX),
                               STR_("video_bg", 1, COLOR_MAX),
                               STR_("warning", 1, COLOR_MAX),
                               END_};
static const field design_tokens[] = {
    ENUM_("border_radius", 1, radii),
    ENUM_("border_width", 1, widths),
    OBJ_("colors", 1, colors),
    INT_("spacing_base", 1, 0, 64),
    ENUM_("theme", 1, themes),
    STR_("font_family", 0, TEXT_MAX),
    STR_("google_font", 0, TEXT_MAX),
    STR_("logo", 0, URL_MAX),
    END_,
};
static const field ui_fields[] = {OBJ_("design_tokens", 1, design_tokens), END_};

static const field preset_fields[] = {
    STR_("name", 1, PRESET_NAME_MAX), OBJ_("config", 1, config_fields),
    OBJ_("permissions", 1, permission_fields), OBJ_("ui", 1, ui_fields), END_};

/* ---- validation ------------------------------------------------------------------------- */

typedef struct checker {
    int whole;      /* every required field must be given */
    char path[512]; /* the dotted name of the field being checked */
    size_t plen;
    char *msg; /* the first problem found */
    size_t cap;
} checker;

static int bad(checker *c, const char *what)
{
    snprintf(c->msg, c->cap, "\"%s\" %s", c->path, what);
    return -1;
}

static size_t push(checker *c, const char *key)
{
    size_t was = c->plen;
    int n = snprintf(c->path + was, sizeof(c->path) - was, "%s%.64s", was ? "." : "", key);
    c->plen = n < 0 || (size_t)n >= sizeof(c->path) - was ? sizeof(c->path) - 1 : was + (size_t)n;
    return was;
}

static void pop(checker *c, size_t was)
{
    c->plen = was;
    c->path[was] = '\0';
}

static const field *find(const field *fields, const char *key)
{
    for (const field *f = fields; f->name != NULL; f++)
        if (strcmp(f->name, key) == 0)
            return f;
    return NULL;
}

static int check_value(checker *c, const field *f, json_t *v);

static int check_object(checker *c, const field *fields, int open, json_t *v)
{
    if (!json_is_object(v))
        return bad(c, "must be an object");
    const char *key;
    json_t *child;
    json_object_foreach(v, key, child)
    {
        const field *f = find(fields, key);
        size_t was = push(c, key);
        if (f == NULL && !open)
            return bad(c, "is not a field of a preset");
        if (f != NULL && check_value(c, f, child) != 0)
            return -1;
        pop(c, was);
    }
    for (const field *f = fields; c->whole && f->name != NULL; f++) {
        if (f->required && json_object_get(v, f->name) == NULL) {
            push(c, f->name);
            return bad(c, "is required");
        }
    }
    return 0;
}

static int check_value(checker *c, const field *f, json_t *v)
{
    char what[96];
    switch (f->type) {
    case S_BOOL: return json_is_boolean(v) ? 0 : bad(c, "must be a boolean");
    case S_INT:
        if (json_is_integer(v) && json_integer_value(v) >= f->min &&
            json_integer_value(v) <= f->max)
            return 0;
        snprintf(what, sizeof(what), "must be an integer from %lld to %lld", (long long)f->min,
                 (long long)f->max);
        return bad(c, what);
    case S_STR:
        if (!json_is_string(v))
            return bad(c, "must be a string");
        if (json_string_length(v) < (size_t)f->min || json_string_length(v) > (size_t)f->max) {
            snprintf(what, sizeof(what), "must be from %lld to %lld bytes long", (long long)f->min,
                     (long long)f->max);
            return bad(c, what);
        }
        if (strlen(json_string_value(v)) != json_string_length(v))
            return bad(c, "must not contain NUL characters");
        return 0;
    case S_ENUM: {
        const char *const *vals = f->sub;
        const char *s = json_string_value(v);
        for (size_t i = 0; s != NULL && vals[i] != NULL; i++)
            if (strcmp(s, vals[i]) == 0 && strlen(s) == json_string_length(v))
                return 0;
        size_t n = 0;
        n += (size_t)snprintf(what, sizeof(what), "must be one of");
        for (size_t i = 0; vals[i] != NULL && n < sizeof(what); i++)
            n += (size_t)snprintf(what + n, sizeof(what) - n, "%s %s", i ? "," : "", vals[i]);
        return bad(c, what);
    }
    case S_OBJ: return check_object(c, f->sub, 0, v);
    case S_OPEN: return check_object(c, f->sub, 1, v);
    case S_MAP: {
        if (!json_is_object(v))
            return bad(c, "must be an object");
        if (json_object_size(v) > PLUGINS_MAX) {
            snprintf(what, sizeof(what), "must have at most %d entries", PLUGINS_MAX);
            return bad(c, what);
        }
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            size_t was = push(c, key);
            if (check_value(c, f->sub, child) != 0)
                return -1;
            pop(c, was);
        }
        return 0;
    }
    case S_QUALS:
        if (json_is_null(v))
            return 0;
        if (json_is_array(v) && json_array_size(v) <= QUALITIES_MAX) {
            size_t i;
            json_t *q;
            json_array_foreach(v, i, q)
            {
                if (!json_is_integer(q) || json_integer_value(q) < f->min ||
                    json_integer_value(q) > f->max)
                    break;
            }
            if (i == json_array_size(v))
                return 0;
        }
        snprintf(what, sizeof(what),
                 "must be null or an array of at most %d integers from %lld to %lld", QUALITIES_MAX,
                 (long long)f->min, (long long)f->max);
        return bad(c, what);
    default: return bad(c, "has no schema");
    }
}

int rtk_api_preset_check(json_t *body, int whole, char *msg, size_t cap)
{
    checker c = {.whole = whole, .msg = msg, .cap = cap};
    if (check_object(&c, preset_fields, 0, body) != 0)
        return -1;
    return 0;
}

/* Copies the fields of |src| (checked) into |dst| one by one: objects are merged, everything
 * else (and a map's entries) replaced. */
static void merge(const field *fields, json_t *dst, json_t *src)
{
    const char *key;
    json_t *v;
    json_object_foreach(src, key, v)
    {
        const field *f = fields ? find(fields, key) : NULL;
        json_t *old = json_object_get(dst, key);
        if (f != NULL && (f->type == S_OBJ || f->type == S_OPEN) && json_is_object(old))
            merge(f->sub, old, v);
        else if (f != NULL && f->type == S_MAP && json_is_object(old))
            merge(NULL, old, v);
        else
            json_object_set_new(dst, key, json_deep_copy(v));
    }
}

void rtk_api_preset_merge(json_t *doc, json_t *body)
{
    merge(preset_fields, doc, body);
}

/* ---- rows and views ----------------------------------------------------------------------- */

/* The preset of row |row| of |set| (RTK_STORE_PRESET_COLS): a new reference, or NULL when a
 * stored object is not valid JSON. */
static json_t *preset_json(const rtk_store_set *set, size_t row)
{
    char created[25], updated[25];
    rtk_time_iso(rtk_store_int(set, row, RTK_STORE_PRESET_CREATED), created);
    rtk_time_iso(rtk_store_int(set, row, RTK_STORE_PRESET_UPDATED), updated);
    json_t *obj[3];
    for (int i = 0; i < 3; i++) {
        size_t len;
        const char *t = rtk_store_text(set, row, RTK_STORE_PRESET_CONFIG + i, &len);
        obj[i] = json_loadb(t, len, 0, NULL);
    }
    if (!json_is_object(obj[0]) || !json_is_object(obj[1]) || !json_is_object(obj[2])) {
        for (int i = 0; i < 3; i++)
            json_decref(obj[i]);
        return NULL;
    }
    return json_pack(
        "{s:s,s:s,s:o,s:o,s:o,s:s,s:s}", "id", rtk_store_text(set, row, RTK_STORE_PRESET_ID, NULL),
        "name", rtk_store_text(set, row, RTK_STORE_PRESET_NAME, NULL), "config", obj[0],
        "permissions", obj[1], "ui", obj[2], "created_at", created, "updated_at", updated);
}

/* Writes preset |doc| (insert or update) with |cb|. */
static void write_preset(rtk_call *call, json_t *doc, int insert, rtk_store_cb cb)
{
    char *text[3];
    static const char *const parts[] = {"config", "permissions", "ui"};
    for (int i = 0; i < 3; i++)
        text[i] = rtk_api_dump(json_object_get(doc, parts[i]));
    int64_t created = 0, updated = 0;
    const char *ca = json_string_value(json_object_get(doc, "created_at"));
    const char *ua = json_string_value(json_object_get(doc, "updated_at"));
    rtk_time_parse_iso(ca, strlen(ca), &created);
    rtk_time_parse_iso(ua, strlen(ua), &updated);
    rtk_store_preset p = {.id = json_string_value(json_object_get(doc, "id")),
                          .name = json_string_value(json_object_get(doc, "name")),
                          .created_ms = created,
                          .updated_ms = updated,
                          .config = text[0],
                          .permissions = text[1],
                          .ui = text[2]};
    rtk_store_preset_put(call->ctx->store, call->app, &p, insert, cb, call);
    for (int i = 0; i < 3; i++)
        free(text[i]);
}

static int checked_body(rtk_call *call, int whole)
{
    char msg[640];
    if (rtk_api_body(call) != 0)
        return -1;
    if (rtk_api_preset_check(call->body, whole, msg, sizeof(msg)) != 0) {
        rtk_api_fail(call, 400, "%s", msg);
        return -1;
    }
    return 0;
}

static void name_taken(rtk_call *call)
{
    rtk_api_fail(call, 400, "A preset named \"%s\" already exists in this app",
                 json_string_value(json_object_get(call->doc, "name")));
}

/* ---- create ---- */

static void on_created(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    (void)res;
    if (status == RTK_EEXIST) {
        name_taken(call);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    json_t *doc = call->doc;
    call->doc = NULL;
    rtk_api_reply(call, 201, doc, NULL);
}

void rtk_api_presets_create(rtk_call *call)
{
    if (checked_body(call, 1) != 0)
        return;
    char id[37], now[25];
    rtk_id_uuid4(id);
    rtk_time_iso(rtk_time_now_ms(), now);
    json_t *b = call->body;
    call->doc = json_pack("{s:s,s:O,s:O,s:O,s:O,s:s,s:s}", "id", id, "name",
                          json_object_get(b, "name"), "config", json_object_get(b, "config"),
                          "permissions", json_object_get(b, "permissions"), "ui",
                          json_object_get(b, "ui"), "created_at", now, "updated_at", now);
    write_preset(call, call->doc, 1, on_created);
}

/* ---- list ---- */

typedef struct list_state {
    rtk_store_page page;
} list_state;

static void on_listed(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    list_state *ls = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    const rtk_store_set *rows = &res->sets[1];
    json_t *items = json_array();
    for (size_t i = 0; i < rows->nrows; i++) {
        char created[25], updated[25];
        rtk_time_iso(rtk_store_int(rows, i, 2), created);
        rtk_time_iso(rtk_store_int(rows, i, 3), updated);
        json_array_append_new(items,
                              json_pack("{s:s,s:s,s:s,s:s}", "id", rtk_store_text(rows, i, 0, NULL),
                                        "name", rtk_store_text(rows, i, 1, NULL), "created_at",
                                        created, "updated_at", updated));
    }
    int64_t total = rtk_store_int(&res->sets[0], 0, 0);
    rtk_api_reply(call, 200, items, rtk_reply_paging(total, ls->page.offset, rows->nrows));
}

void rtk_api_presets_list(rtk_call *call)
{
    rtk_http_req *req = call->req;
    char search[257];
    list_state *ls = rtk_xcalloc(1, sizeof(*ls));
    call->data = ls;
    if (rtk_api_paging(call, &ls->page) != 0)
        return;
    int has_search = rtk_query_get(req->query, req->query_len, "search", search, sizeof(search));
    if (has_search < 0) {
        rtk_api_fail(call, 400, "\"search\" must be at most 256 bytes of valid text");
        return;
    }
    rtk_store_preset_list(call->ctx->store, call->app, has_search ? search : NULL, ls->page,
                          on_listed, call);
}

/* ---- one preset: load it, then continue ---- */

static void on_loaded(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    void (*next)(rtk_call *) = call->next;
    call->next = NULL;
    if (status == RTK_ENOTFOUND) {
        rtk_api_fail(call, 404, "No preset found with id %s", call->m.params[2]);
        return;
    }
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    call->doc = preset_json(&res->sets[0], 0);
    if (call->doc == NULL) {
        rtk_api_store_error(call, RTK_EDB);
        return;
    }
    next(call);
}

static void load_preset(rtk_call *call, void (*next)(rtk_call *call))
{
    call->next = next;
    rtk_store_preset_get(call->ctx->store, call->app, call->m.params[2], 0, on_loaded, call);
}

static void reply_doc(rtk_call *call)
{
    json_t *doc = call->doc;
    call->doc = NULL;
    rtk_api_reply(call, 200, doc, NULL);
}

void rtk_api_preset_get(rtk_call *call)
{
    load_preset(call, reply_doc);
}

/* ---- PATCH and PUT ---- */

/* The preset's name before the update, for the answers. */
typedef struct update_state {
    char old_name[PRESET_NAME_MAX + 1];
} update_state;

static void on_updated(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    update_state *us = call->data;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    if (res->changes == 0) {
        int64_t users = rtk_store_int(&res->sets[0], 0, 0);
        int64_t taken = rtk_store_int(&res->sets[1], 0, 0);
        const char *name = json_string_value(json_object_get(call->doc, "name"));
        if (taken > 0)
            name_taken(call);
        else if (users > 0 && strcmp(name, us->old_name) != 0)
            rtk_api_fail(call, 400,
                         "Preset \"%s\" is used by %lld participant%s and cannot be renamed",
                         us->old_name, (long long)users, users == 1 ? "" : "s");
        else
            rtk_api_fail(call, 404, "No preset found with id %s", call->m.params[2]);
        return;
    }
    reply_doc(call);
}

static void update_loaded(rtk_call *call)
{
    int put = call->req->method == HTTP_PUT;
    if (checked_body(call, put) != 0)
        return;
    update_state *us = rtk_xcalloc(1, sizeof(*us));
    call->data = us;
    snprintf(us->old_name, sizeof(us->old_name), "%s",
             json_string_value(json_object_get(call->doc, "name")));
    if (put) {
        static const char *const parts[] = {"name", "config", "permissions", "ui"};
        for (size_t i = 0; i < 4; i++)
            json_object_set(call->doc, parts[i], json_object_get(call->body, parts[i]));
    } else {
        rtk_api_preset_merge(call->doc, call->body);
    }
    rtk_api_touch(call->doc);
    write_preset(call, call->doc, 0, on_updated);
}

void rtk_api_preset_update(rtk_call *call)
{
    load_preset(call, update_loaded);
}

/* ---- delete ---- */

static void on_deleted(void *arg, int status, const rtk_store_res *res)
{
    rtk_call *call = arg;
    if (status != 0) {
        rtk_api_store_error(call, status);
        return;
    }
    if (res->changes == 0) {
        int64_t users = rtk_store_int(&res->sets[0], 0, 0);
        if (users > 0)
            rtk_api_fail(call, 400,
                         "Preset \"%s\" is used by %lld participant%s; give them another preset"
                         " first",
                         json_string_value(json_object_get(call->doc, "name")), (long long)users,
                         users == 1 ? "" : "s");
        else
            rtk_api_fail(call, 404, "No preset found with id %s", call->m.params[2]);
        return;
    }
    reply_doc(call);
}

static void delete_loaded(rtk_call *call)
{
    rtk_store_preset_delete(call->ctx->store, call->app, call->m.params[2], on_deleted, call);
}

void rtk_api_preset_delete(rtk_call *call)
{
    load_preset(call, delete_loaded);
}
