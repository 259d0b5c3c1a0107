/* SPDX-License-Identifier: MIT */
/* rtk_preset.h - presets: what a participant's peers may do and see on the channel
 * (PROTOCOL.md §3a).
 *
 * A preset's `permissions` object is stored and returned whole by the REST API; the channel
 * enforces only the fields below, which it reads once per join into an rtk_perms (two bytes,
 * kept per peer). The four default presets every app gets are defined here, once. */
#ifndef RTK_PRESET_H
#define RTK_PRESET_H

#include <stddef.h>
#include <stdint.h>

/* rtk_perms.flags */
enum {
    RTK_PERM_POLLS_VIEW = 1u << 0,     /* polls.can_view */
    RTK_PERM_POLLS_VOTE = 1u << 1,     /* polls.can_vote */
    RTK_PERM_POLLS_CREATE = 1u << 2,   /* polls.can_create */
    RTK_PERM_KICK = 1u << 3,           /* kick_participant */
    RTK_PERM_LIST = 1u << 4,           /* show_participant_list */
    RTK_PERM_HIDDEN = 1u << 5,         /* hidden_participant */
    RTK_PERM_ACCEPT_WAITING = 1u << 6, /* accept_waiting_requests */
};

/* rtk_perms.waiting: waiting_room_type */
enum rtk_waiting_room {
    RTK_WAIT_SKIP = 0,
    RTK_WAIT_ON_PRIVILEGED, /* ON_PRIVILEGED_USER_ENTRY: waits on every join */
    RTK_WAIT_SKIP_ON_ACCEPT /* waits until admitted once in the session */
};

typedef struct rtk_perms {
    uint8_t flags;
    uint8_t waiting;
} rtk_perms;

/* The preset every participant falls back to when its preset is unknown (a participant
 * stored before presets existed). */
#define RTK_PRESET_FALLBACK "group_call_participant"

/* Reads the enforced fields from a permissions object (|json|, |len| bytes of JSON text).
 * A field that is absent or of the wrong type counts as false (SKIP for the waiting room).
 * Returns 0, or RTK_EINVAL when |json| is not a JSON object. */
int rtk_perms_from_json(const char *json, size_t len, rtk_perms *out);

/* The default presets (PROTOCOL.md §3a, docs/api.md), in creation order. */
#define RTK_PRESET_NDEFAULTS 4
extern const char *const rtk_preset_default_names[RTK_PRESET_NDEFAULTS];

/* The permissions object (compact JSON text, static) of the default preset |name|, or NULL
 * when |name| is not one of them. */
const char *rtk_preset_default_permissions(const char *name);

/* The config and ui objects (compact JSON text, static) of the default preset |name|:
 * view_type GROUP_CALL for group_call_*, WEBINAR for webinar_*; NULL when |name| is not one
 * of them. */
const char *rtk_preset_default_config(const char *name);
const char *rtk_preset_default_ui(const char *name);

/* The waiting_room_type strings, for rendering and validation. */
const char *rtk_preset_waiting_name(int waiting);

#endif
