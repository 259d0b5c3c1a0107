/* SPDX-License-Identifier: MIT */
/* rtk_api_routes.c - the route table: one row per route, method set + pattern + handler.
 *
 * Adding a resource is its handlers in their own file and one row each here. Rows that share
 * a pattern must use the same string (the macros below), so that a request with another
 * method gets 405 with an Allow header listing every row's methods. */
#include "api/rtk_api.h"

#define ACC "/accounts/:account/realtime/kit"
#define KIT ACC "/:app"
#define MEETING KIT "/meetings/:meeting"
#define PART MEETING "/participants/:participant"
#define AS MEETING "/active-session"
#define SESSION KIT "/sessions/:session"
#define PRESET KIT "/presets/:preset"
#define HOOK KIT "/webhooks/:webhook"

const rtk_route rtk_api_routes[] = {
    {RTK_M_GET, RTK_AUTH_NONE, "/healthz", rtk_api_healthz},
    {RTK_M_GET, RTK_AUTH_NONE, "/readyz", rtk_api_readyz},
    {RTK_M_GET, RTK_AUTH_NONE, "/metrics", rtk_api_metrics},
    {RTK_M_GET, RTK_AUTH_NONE, "/v1/ws", rtk_api_ws},
    {RTK_M_GET, RTK_AUTH_NONE, "/v1/ws/check", rtk_api_ws_check},
    {RTK_M_GET, RTK_AUTH_ACCOUNT, ACC "/apps", rtk_api_apps_list},
    {RTK_M_POST, RTK_AUTH_ACCOUNT, ACC "/apps", rtk_api_apps_create},
    {RTK_M_GET, RTK_AUTH_APP, KIT "/meetings", rtk_api_meetings_list},
    {RTK_M_POST, RTK_AUTH_APP, KIT "/meetings", rtk_api_meetings_create},
    {RTK_M_GET, RTK_AUTH_APP, MEETING, rtk_api_meeting_get},
    {RTK_M_PATCH | RTK_M_PUT, RTK_AUTH_APP, MEETING, rtk_api_meeting_update},
    {RTK_M_GET, RTK_AUTH_APP, MEETING "/participants", rtk_api_participants_list},
    {RTK_M_POST, RTK_AUTH_APP, MEETING "/participants", rtk_api_participants_add},
    {RTK_M_GET, RTK_AUTH_APP, PART, rtk_api_participant_get},
    {RTK_M_PATCH, RTK_AUTH_APP, PART, rtk_api_participant_edit},
    {RTK_M_DELETE, RTK_AUTH_APP, PART, rtk_api_participant_delete},
    {RTK_M_POST, RTK_AUTH_APP, PART "/token", rtk_api_participant_token},
    {RTK_M_GET, RTK_AUTH_APP, AS, rtk_api_active_get},
    {RTK_M_POST, RTK_AUTH_APP, AS "/kick", rtk_api_active_kick},
    {RTK_M_POST, RTK_AUTH_APP, AS "/kick-all", rtk_api_active_kick_all},
    {RTK_M_POST, RTK_AUTH_APP, AS "/poll", rtk_api_poll_create},
    {RTK_M_GET, RTK_AUTH_APP, AS "/polls", rtk_api_polls_list},
    {RTK_M_GET, RTK_AUTH_APP, AS "/polls/:poll", rtk_api_poll_get},
    {RTK_M_GET, RTK_AUTH_APP, KIT "/sessions", rtk_api_sessions_list},
    {RTK_M_GET, RTK_AUTH_APP, SESSION, rtk_api_session_get},
    {RTK_M_GET, RTK_AUTH_APP, SESSION "/participants", rtk_api_session_participants},
    {RTK_M_GET, RTK_AUTH_APP, SESSION "/polls", rtk_api_session_polls},
    {RTK_M_GET, RTK_AUTH_APP, KIT "/presets", rtk_api_presets_list},
    {RTK_M_POST, RTK_AUTH_APP, KIT "/presets", rtk_api_presets_create},
    {RTK_M_GET, RTK_AUTH_APP, PRESET, rtk_api_preset_get},
    {RTK_M_PATCH | RTK_M_PUT, RTK_AUTH_APP, PRESET, rtk_api_preset_update},
    {RTK_M_DELETE, RTK_AUTH_APP, PRESET, rtk_api_preset_delete},
    {RTK_M_GET, RTK_AUTH_APP, KIT "/analytics/daywise", rtk_api_analytics_daywise},
    {RTK_M_GET, RTK_AUTH_NONE, "/.well-known/webhooks.json", rtk_api_webhooks_keys},
    {RTK_M_GET, RTK_AUTH_APP, KIT "/webhooks", rtk_api_webhooks_list},
    {RTK_M_POST, RTK_AUTH_APP, KIT "/webhooks", rtk_api_webhooks_create},
    {RTK_M_GET, RTK_AUTH_APP, HOOK, rtk_api_webhook_get},
    {RTK_M_PATCH | RTK_M_PUT, RTK_AUTH_APP, HOOK, rtk_api_webhook_update},
    {RTK_M_DELETE, RTK_AUTH_APP, HOOK, rtk_api_webhook_delete},
    {RTK_M_GET, RTK_AUTH_APP, HOOK "/deliveries", rtk_api_webhook_deliveries},
    {RTK_M_POST, RTK_AUTH_APP, HOOK "/deliveries/:delivery/retry", rtk_api_webhook_retry},
};

const size_t rtk_api_nroutes = sizeof(rtk_api_routes) / sizeof(rtk_api_routes[0]);

/* The --metrics-listen listener serves only these: a scraper and its health check. */
const rtk_route rtk_api_metrics_routes[] = {
    {RTK_M_GET, RTK_AUTH_NONE, "/metrics", rtk_api_metrics_open},
    {RTK_M_GET, RTK_AUTH_NONE, "/healthz", rtk_api_healthz},
};

const size_t rtk_api_metrics_nroutes =
    sizeof(rtk_api_metrics_routes) / sizeof(rtk_api_metrics_routes[0]);
