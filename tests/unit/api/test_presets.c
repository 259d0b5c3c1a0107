/* SPDX-License-Identifier: MIT */
/* test_presets.c - the preset schema (every default passes it whole, each kind of bad field
 * is named), PATCH merging, the enforced permissions of stored texts, and analytics dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/rtk_api.h"
#include "auth/rtk_preset.h"
#include "util/rtk_err.h"

/* A whole preset body made of default |name|'s objects. New reference. */
static json_t *default_body(const char *name)
{
    json_t *b = json_object();
    json_object_set_new(b, "name", json_string(name));
    json_object_set_new(b, "config", json_loads(rtk_preset_default_config(name), 0, NULL));
    json_object_set_new(b, "permissions",
                        json_loads(rtk_preset_default_permissions(name), 0, NULL));
    json_object_set_new(b, "ui", json_loads(rtk_preset_default_ui(name), 0, NULL));
    return b;
}

static void defaults_are_whole_presets(void **state)
{
    (void)state;
    char msg[640] = "";
    for (int i = 0; i < RTK_PRESET_NDEFAULTS; i++) {
        json_t *b = default_body(rtk_preset_default_names[i]);
        assert_non_null(json_object_get(b, "config"));
        assert_non_null(json_object_get(b, "ui"));
        if (rtk_api_preset_check(b, 1, msg, sizeof(msg)) != 0)
            fail_msg("%s: %s", rtk_preset_default_names[i], msg);
        json_decref(b);
    }
    const char *vt = rtk_preset_default_config("webinar_viewer");
    assert_non_null(strstr(vt, "\"view_type\":\"WEBINAR\""));
    vt = rtk_preset_default_config("group_call_host");
    assert_non_null(strstr(vt, "\"view_type\":\"GROUP_CALL\""));
    assert_null(rtk_preset_default_config("nope"));
    assert_null(rtk_preset_default_ui(NULL));
}

/* Applies the JSON patch |edit| (an object of dotted paths to JSON values, or to null to
 * remove) to default group_call_host and checks it, expecting |field| in the message, or
 * success when |field| is NULL. */
static void expect(int whole, const char *path, const char *value, const char *field)
{
    json_t *b = default_body("group_call_host");
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", path);
    json_t *o = b;
    char *save = NULL, *tok = strtok_r(copy, ".", &save), *next;
    for (; (next = strtok_r(NULL, ".", &save)) != NULL; tok = next)
        o = json_object_get(o, tok);
    assert_non_null(o);
    if (value == NULL)
        json_object_del(o, tok);
    else
        json_object_set_new(o, tok, json_loads(value, JSON_DECODE_ANY, NULL));
    char msg[640] = "";
    int rc = rtk_api_preset_check(b, whole, msg, sizeof(msg));
    if (field == NULL) {
        if (rc != 0)
            fail_msg("%s=%s: %s", path, value ? value : "(removed)", msg);
    } else {
        if (rc == 0)
            fail_msg("%s=%s was accepted", path, value ? value : "(removed)");
        char quoted[300];
        snprintf(quoted, sizeof(quoted), "\"%s\"", field);
        if (strstr(msg, quoted) == NULL)
            fail_msg("%s: the message does not name %s: %s", path, quoted, msg);
    }
    json_decref(b);
}

static void every_kind_of_bad_field_is_named(void **state)
{
    (void)state;
    expect(1, "name", "7", "name");
    expect(1, "name", "\"\"", "name");
    expect(1, "name", NULL, "name");
    expect(1, "config.view_type", "\"MEETING\"", "config.view_type");
    expect(1, "config.max_video_streams.desktop", "101", "config.max_video_streams.desktop");
    expect(1, "config.max_video_streams.mobile", "1.5", "config.max_video_streams.mobile");
    expect(1, "config.media.video.quality", "\"8k\"", "config.media.video.quality");
    expect(1, "config.media.video.simulcast", "\"yes\"", "config.media.video.simulcast");
    expect(1, "config.media.screenshare", NULL, "config.media.screenshare");
    expect(1, "config.livestream_viewer_qualities", "[720, \"x\"]",
           "config.livestream_viewer_qualities");
    expect(1, "config.livestream_viewer_qualities", "[360, 720]", NULL);
    expect(1, "config.livestream_viewer_qualities", "null", NULL);
    expect(1, "config.media.audio", NULL, NULL); /* optional */
    expect(1, "permissions.polls.can_vote", "1", "permissions.polls.can_vote");
    expect(1, "permissions.polls.can_create", NULL, "permissions.polls.can_create");
    expect(1, "permissions.chat.private.files", "null", "permissions.chat.private.files");
    expect(1, "permissions.waiting_room_type", "\"LATER\"", "permissions.waiting_room_type");
    expect(1, "permissions.media.video.can_produce", "\"YES\"",
           "permissions.media.video.can_produce");
    expect(1, "permissions.plugins.config", "[]", "permissions.plugins.config");
    expect(1, "permissions.plugins.config", "{\"p1\":{\"access_control\":\"ALL\"}}",
           "permissions.plugins.config.p1.access_control");
    expect(1, "permissions.plugins.config", "{\"p1\":{\"access_control\":\"VIEW_ONLY\",\"x\":1}}",
           NULL); /* a plugin's config is open */
    expect(1, "permissions.kick", "true", "permissions.kick");
    expect(1, "permissions.stage_access", "\"CAN_REQUEST\"", NULL);
    expect(1, "ui.design_tokens.colors.brand.500", "5", "ui.design_tokens.colors.brand.500");
    expect(1, "ui.design_tokens.colors.background.1000", NULL,
           "ui.design_tokens.colors.background.1000");
    expect(1, "ui.design_tokens.spacing_base", "-1", "ui.design_tokens.spacing_base");
    expect(1, "ui.design_tokens.theme", "\"blue\"", "ui.design_tokens.theme");
    expect(1, "ui", "[]", "ui");
    expect(1, "id", "\"x\"", "id");
    /* A PATCH needs nothing, but what it gives is checked alike. */
    expect(0, "permissions.polls.can_create", NULL, NULL);
    expect(0, "name", NULL, NULL);
    expect(0, "permissions.polls.can_vote", "\"no\"", "permissions.polls.can_vote");
}

static void patch_merges_field_by_field(void **state)
{
    (void)state;
    json_t *doc = default_body("group_call_participant");
    json_t *patch = json_loads("{\"permissions\":{\"polls\":{\"can_create\":true},"
                               "\"plugins\":{\"config\":{\"p\":{\"x\":1}}}},"
                               "\"config\":{\"media\":{\"video\":{\"frame_rate\":24}}}}",
                               0, NULL);
    char msg[640];
    assert_int_equal(rtk_api_preset_check(patch, 0, msg, sizeof(msg)), 0);
    rtk_api_preset_merge(doc, patch);
    json_t *perms = json_object_get(doc, "permissions"), *polls = json_object_get(perms, "polls");
    assert_true(json_is_true(json_object_get(polls, "can_create")));
    assert_true(json_is_true(json_object_get(polls, "can_vote"))); /* kept */
    assert_true(json_is_true(json_object_get(polls, "can_view")));
    assert_true(json_is_false(json_object_get(perms, "kick_participant")));
    json_t *video =
        json_object_get(json_object_get(json_object_get(doc, "config"), "media"), "video");
    assert_int_equal(json_integer_value(json_object_get(video, "frame_rate")), 24);
    assert_string_equal(json_string_value(json_object_get(video, "quality")), "hd");
    assert_non_null(json_object_get(
        json_object_get(json_object_get(json_object_get(perms, "plugins"), "config"), "p"), "x"));
    assert_int_equal(rtk_api_preset_check(doc, 1, msg, sizeof(msg)), 0);
    json_decref(patch);
    json_decref(doc);
}

static void perms_of_the_defaults_and_of_stored_texts(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned flags;
        int waiting;
    } want[] = {
        {"group_call_host",
         RTK_PERM_POLLS_VIEW | RTK_PERM_POLLS_VOTE | RTK_PERM_POLLS_CREATE | RTK_PERM_KICK |
             RTK_PERM_LIST | RTK_PERM_ACCEPT_WAITING,
         RTK_WAIT_SKIP},
        {"group_call_participant", RTK_PERM_POLLS_VIEW | RTK_PERM_POLLS_VOTE | RTK_PERM_LIST,
         RTK_WAIT_SKIP},
        {"webinar_presenter",
         RTK_PERM_POLLS_VIEW | RTK_PERM_POLLS_VOTE | RTK_PERM_POLLS_CREATE | RTK_PERM_KICK |
             RTK_PERM_LIST | RTK_PERM_ACCEPT_WAITING,
         RTK_WAIT_SKIP},
        {"webinar_viewer", RTK_PERM_POLLS_VIEW | RTK_PERM_POLLS_VOTE, RTK_WAIT_ON_PRIVILEGED},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *t = rtk_preset_default_permissions(want[i].name);
        rtk_perms p;
        assert_int_equal(rtk_perms_from_json(t, strlen(t), &p), 0);
        assert_int_equal(p.flags, want[i].flags);
        assert_int_equal(p.waiting, want[i].waiting);
    }
    /* A stored text as jsonb gives it back (spaces, another key order) reads the same. */
    static const char jsonb[] = "{\"polls\": {\"can_vote\": false, \"can_view\": true}, "
                                "\"hidden_participant\": true, \"waiting_room_type\": "
                                "\"SKIP_ON_ACCEPT\", \"kick_participant\": \"true\"}";
    rtk_perms p;
    assert_int_equal(rtk_perms_from_json(jsonb, strlen(jsonb), &p), 0);
    assert_int_equal(p.flags, RTK_PERM_POLLS_VIEW | RTK_PERM_HIDDEN); /* "true" is no boolean */
    assert_int_equal(p.waiting, RTK_WAIT_SKIP_ON_ACCEPT);
    assert_int_equal(rtk_perms_from_json("[]", 2, &p), RTK_EINVAL);
    assert_int_equal(rtk_perms_from_json("{", 1, &p), RTK_EINVAL);
}

static void analytics_dates(void **state)
{
    (void)state;
    int64_t d = -1;
    assert_int_equal(rtk_api_parse_day("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(rtk_api_parse_day("2024-02-29", &d), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(rtk_api_parse_day("2026-12-02", &d), 0);
    assert_int_equal(d, 20789);
    static const char *const bad[] = {
        "2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01",
        "26-01-01",   "2026/01/01", "1969-12-31", "",           "2026-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (rtk_api_parse_day(bad[i], &d) != RTK_EINVAL)
            fail_msg("%s was accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_whole_presets),
        cmocka_unit_test(every_kind_of_bad_field_is_named),
        cmocka_unit_test(patch_merges_field_by_field),
        cmocka_unit_test(perms_of_the_defaults_and_of_stored_texts),
        cmocka_unit_test(analytics_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
