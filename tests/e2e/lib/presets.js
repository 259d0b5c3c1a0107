// SPDX-License-Identifier: MIT
// Presets for the protocol 2 channel tests (issue 13, PROTOCOL.md §3a): whole `config`,
// `permissions` and `ui` objects shaped as the official SDK's presets.d.ts
// (PresetCreateParams), with the permissions this channel enforces set from a few flags, and
// a fixture on top of polls.js's pollsFixture that creates presets through
// client.realtimeKit.presets.create and adds participants with them.

import assert from 'node:assert/strict';
import { pollsFixture } from './polls.js';

/* The four presets every app has (issue 13 item 2). */
export const DEFAULT_PRESETS = [
    'group_call_host', 'group_call_participant', 'webinar_presenter', 'webinar_viewer',
];

/* The permissions of PROTOCOL.md §3a, the ones the channel enforces. */
export const ENFORCED = [
    'polls.can_view', 'polls.can_vote', 'polls.can_create', 'kick_participant',
    'show_participant_list', 'hidden_participant', 'waiting_room_type', 'accept_waiting_requests',
];

/* PresetCreateParams.Config: every required field. */
export function presetConfig(over = {}) {
    return {
        max_screenshare_count: 1,
        max_video_streams: { desktop: 9, mobile: 4 },
        media: {
            screenshare: { frame_rate: 5, quality: 'hd' },
            video: { frame_rate: 30, quality: 'hd', simulcast: false },
            audio: { enable_high_bitrate: false, enable_stereo: false },
        },
        view_type: 'GROUP_CALL',
        ...over,
    };
}

/* PresetCreateParams.UI: every required field. */
export function presetUI(over = {}) {
    return {
        design_tokens: {
            border_radius: 'rounded',
            border_width: 'thin',
            colors: {
                background: {
                    1000: '#080808', 600: '#222222', 700: '#1f1f1f', 800: '#1b1b1b', 900: '#181818',
                },
                brand: { 300: '#844d1c', 400: '#9d5b22', 500: '#b56927', 600: '#d37c30', 700: '#d9904f' },
                danger: '#FF2D2D',
                success: '#62A504',
                text: '#EEEEEE',
                text_on_brand: '#EEEEEE',
                video_bg: '#191919',
                warning: '#FFCD07',
            },
            spacing_base: 4,
            theme: 'dark',
        },
        ...over,
    };
}

/**
 * PresetCreateParams.Permissions: every required field, media/chat/plugins/stage as a plain
 * participant's (stored, not enforced), and the enforced ones from FLAGS:
 *   view, vote, create     polls.can_view / can_vote / can_create (default true, true, false)
 *   kick                   kick_participant (false)
 *   list                   show_participant_list (true)
 *   hidden                 hidden_participant (false)
 *   wait                   waiting_room_type ('SKIP')
 *   accept                 accept_waiting_requests (false)
 */
export function presetPermissions(flags = {}) {
    const {
        view = true, vote = true, create = false, kick = false, list = true, hidden = false,
        wait = 'SKIP', accept = false,
    } = flags;
    return {
        accept_waiting_requests: accept,
        can_accept_production_requests: false,
        can_change_participant_permissions: false,
        can_edit_display_name: true,
        can_livestream: false,
        can_record: false,
        can_spotlight: false,
        chat: {
            private: { can_receive: true, can_send: true, files: true, text: true },
            public: { can_send: true, files: true, text: true },
        },
        connected_meetings: {
            can_alter_connected_meetings: false,
            can_switch_connected_meetings: false,
            can_switch_to_parent_meeting: false,
        },
        disable_participant_audio: false,
        disable_participant_screensharing: false,
        disable_participant_video: false,
        hidden_participant: hidden,
        kick_participant: kick,
        media: {
            audio: { can_produce: 'ALLOWED' },
            screenshare: { can_produce: 'ALLOWED' },
            video: { can_produce: 'ALLOWED' },
        },
        pin_participant: false,
        plugins: { can_close: false, can_edit_config: false, can_start: false, config: {} },
        polls: { can_create: create, can_view: view, can_vote: vote },
        recorder_type: 'NONE',
        show_participant_list: list,
        waiting_room_type: wait,
        accept_stage_requests: false,
        is_recorder: false,
        stage_access: 'ALLOWED',
        stage_enabled: false,
        transcription_enabled: false,
    };
}

/* A whole PresetCreateParams body (without account_id) named NAME with FLAGS. */
export function presetBody(name, flags = {}) {
    return { name, config: presetConfig(), permissions: presetPermissions(flags), ui: presetUI() };
}

/**
 * pollsFixture (polls.js) plus:
 *   f.preset(name, flags)       creates a preset through the SDK; returns it (asserted whole)
 *   f.presetByName(name)        the stored preset NAME of the app (list with search, then get)
 *   f.as(meetingId, custom, preset, extra)   a participant with PRESET (default name = custom)
 *   f.connectRaw(part)          a ws peer that does not wait for hello (see connectWaiting)
 */
export async function presetsFixture(opts = {}) {
    const f = await pollsFixture(opts);
    const P = () => f.cf.realtimeKit.presets;
    f.preset = async (name, flags = {}) => {
        const body = presetBody(name, flags);
        const res = await P().create(f.appId, { account_id: f.accountId, ...body });
        assert.equal(res.success, true, JSON.stringify(res));
        assert.equal(res.data.name, name);
        assert.deepEqual(res.data.permissions, body.permissions, `preset ${name} permissions`);
        return res.data;
    };
    f.presetByName = async (name) => {
        const items = (await P().get(f.appId, { account_id: f.accountId, search: name, per_page: 100 }))
            .data;
        const row = items.find((p) => p.name === name);
        assert.ok(row, `no preset ${name} in ${JSON.stringify(items.map((p) => p.name))}`);
        return (await P().getPresetByID(row.id, f.at())).data;
    };
    f.as = (meetingId, custom, preset, extra = {}) =>
        f.participant(meetingId, custom, { preset_name: preset, ...extra });
    return f;
}
