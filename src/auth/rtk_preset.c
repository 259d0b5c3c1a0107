/* SPDX-License-Identifier: MIT */
/* rtk_preset.c - the enforced permissions of a preset, and the default presets'. */
#include "auth/rtk_preset.h"

#include <jansson.h>
#include <string.h>

#include "util/rtk_err.h"

/* The permissions object of the SDK's Preset type (presets.d.ts), every required field, with
 * the fields this channel enforces set per preset. */
#define PERMISSIONS(accept, host, hidden, kick, list, create, view, vote, waiting)            \
    "{\"accept_waiting_requests\":" accept ",\"can_accept_production_requests\":" host       \
    ",\"can_change_participant_permissions\":" host ",\"can_edit_display_name\":true"        \
    ",\"can_livestream\":" host ",\"can_record\":" host ",\"can_spotlight\":" host           \
    ",\"chat\":{\"private\":{\"can_receive\":true,\"can_send\":true,\"files\":true,"         \
    "\"text\":true},\"public\":{\"can_send\":true,\"files\":true,\"text\":true}}"             \
    ",\"connected_meetings\":{\"can_alter_connected_meetings\":" host                        \
    ",\"can_switch_connected_meetings\":" host ",\"can_switch_to_parent_meeting\":" host "}" \
    ",\"disable_participant_audio\":" host ",\"disable_participant_screensharing\":" host    \
    ",\"disable_participant_video\":" host ",\"hidden_participant\":" hidden                 \
    ",\"kick_participant\":" kick ",\"media\":{\"audio\":{\"can_produce\":\"ALLOWED\"},"    \
    "\"screenshare\":{\"can_produce\":\"ALLOWED\"},\"video\":{\"can_produce\":\"ALLOWED\"}}" \
    ",\"pin_participant\":" host ",\"plugins\":{\"can_close\":" host ",\"can_edit_config\":" \
    host ",\"can_start\":" host ",\"config\":{}},\"polls\":{\"can_create\":" create         \
    ",\"can_view\":" view ",\"can_vote\":" vote "},\"recorder_type\":\"NONE\""              \
    ",\"show_participant_list\":" list ",\"waiting_room_type\":\"" waiting "\"}"

static const struct {
    const char *name;
    const char *permissions;
} defaults[RTK_PRESET_NDEFAULTS] = {
    {"group_call_host",
     PERMISSIONS("true", "true", "false", "true", "true", "true", "true", "true", "SKIP")},
    {"group_call_participant",
     PERMISSIONS("false", "false", "false", "false", "true", "false", "true", "true", "SKIP")},
    {"webinar_presenter",
     PERMISSIONS("true", "true", "false", "true", "true", "true", "true", "true", "SKIP")},
    {"webinar_viewer", PERMISSIONS("false", "false", "false", "false", "false", "false", "true",
                                   "true", "ON_PRIVILEGED_USER_ENTRY")},
};

/* The config object of the SDK's Preset type, every field given (RealtimeKit's defaults). */
#define CONFIG(view, desktop)                                                                      \
    "{\"view_type\":\"" view "\",\"max_video_streams\":{\"desktop\":" desktop                      \
    ",\"mobile\":6},\"max_screenshare_count\":1,\"media\":{\"video\":{\"quality\":\"hd\","         \
    "\"frame_rate\":30,\"simulcast\":false},\"screenshare\":{\"quality\":\"hd\","                  \
    "\"frame_rate\":5},\"audio\":{\"enable_stereo\":false,\"enable_high_bitrate\":false}},"        \
    "\"livestream_viewer_qualities\":null}"

/* The ui object: RealtimeKit's dark theme, the same for every default. */
static const char default_ui[] =
    "{\"design_tokens\":{\"border_radius\":\"rounded\",\"border_width\":\"thin\","
    "\"spacing_base\":4,\"theme\":\"dark\",\"colors\":{\"brand\":{\"300\":\"#844d1c\","
    "\"400\":\"#9d5b22\",\"500\":\"#b56927\",\"600\":\"#d37c30\",\"700\":\"#d9904f\"},"
    "\"background\":{\"600\":\"#222222\",\"700\":\"#1f1f1f\",\"800\":\"#1b1b1b\","
    "\"900\":\"#181818\",\"1000\":\"#141414\"},\"danger\":\"#ff2d2d\",\"success\":\"#62a504\","
    "\"text\":\"#eeeeee\",\"text_on_brand\":\"#eeeeee\",\"video_bg\":\"#191919\","
    "\"warning\":\"#ffcd07\"}}}";

static const char *const default_configs[RTK_PRESET_NDEFAULTS] = {
    CONFIG("GROUP_CALL", "25"), CONFIG("GROUP_CALL", "25"), CONFIG("WEBINAR", "6"),
    CONFIG("WEBINAR", "6")};

const char *const rtk_preset_default_names[RTK_PRESET_NDEFAULTS] = {
    "group_call_host", "group_call_participant", "webinar_presenter", "webinar_viewer"};

const char *rtk_preset_default_permissions(const char *name)
{
    for (size_t i = 0; name != NULL && i < RTK_PRESET_NDEFAULTS; i++)
        if (strcmp(defaults[i].name, name) == 0)
            return defaults[i].permissions;
    return NULL;
}

static int default_index(const char *name)
{
    for (int i = 0; name != NULL && i < RTK_PRESET_NDEFAULTS; i++)
        if (strcmp(defaults[i].name, name) == 0)
            return i;
    return -1;
}

const char *rtk_preset_default_config(const char *name)
{
    int i = default_index(name);
    return i < 0 ? NULL : default_configs[i];
}

const char *rtk_preset_default_ui(const char *name)
{
    return default_index(name) < 0 ? NULL : default_ui;
}

static const char *const waiting_names[] = {"SKIP", "ON_PRIVILEGED_USER_ENTRY", "SKIP_ON_ACCEPT"};

const char *rtk_preset_waiting_name(int waiting)
{
    return waiting >= 0 && waiting <= RTK_WAIT_SKIP_ON_ACCEPT ? waiting_names[waiting] : "SKIP";
}

static int flag(json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

int rtk_perms_from_json(const char *json, size_t len, rtk_perms *out)
{
    memset(out, 0, sizeof(*out));
    json_t *p = json_loadb(json, len, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        return RTK_EINVAL;
    }
    json_t *polls = json_object_get(p, "polls");
    unsigned f = 0;
    f |= flag(polls, "can_view") ? RTK_PERM_POLLS_VIEW : 0u;
    f |= flag(polls, "can_vote") ? RTK_PERM_POLLS_VOTE : 0u;
    f |= flag(polls, "can_create") ? RTK_PERM_POLLS_CREATE : 0u;
    f |= flag(p, "kick_participant") ? RTK_PERM_KICK : 0u;
    f |= flag(p, "show_participant_list") ? RTK_PERM_LIST : 0u;
    f |= flag(p, "hidden_participant") ? RTK_PERM_HIDDEN : 0u;
    f |= flag(p, "accept_waiting_requests") ? RTK_PERM_ACCEPT_WAITING : 0u;
    out->flags = (uint8_t)f;
    const char *w = json_string_value(json_object_get(p, "waiting_room_type"));
    for (int i = 0; w != NULL && i <= RTK_WAIT_SKIP_ON_ACCEPT; i++)
        if (strcmp(w, waiting_names[i]) == 0)
            out->waiting = (uint8_t)i;
    json_decref(p);
    return 0;
}
