// SPDX-License-Identifier: MIT
// rtkd quickstart with the official Cloudflare SDK: create a meeting, add a participant, join
// her over the participant channel (as her browser would), read the live session, kick her.
//
//   cd examples && npm ci                 # once: cloudflare and ws, as pinned in package-lock.json
//   export ACCOUNT=… APP=… TOKEN=… BASE=… # the line `make run` prints
//   node quickstart.mjs
//
// `make example` does all of it against a server it starts. Exits 0 when every step worked.

import Cloudflare from 'cloudflare';
import WebSocket from 'ws';

const { ACCOUNT: account_id, APP: app_id, TOKEN, BASE } = process.env;
if (!account_id || !app_id || !TOKEN || !BASE) {
    console.error('Set ACCOUNT, APP, TOKEN and BASE first: paste the `export …` line that ' +
        '`make run` prints (the same values are in var/dev-credentials.json).');
    process.exit(2);
}

const client = new Cloudflare({ apiToken: TOKEN, baseURL: BASE }); // BASE: http://HOST:PORT/client/v4

const meeting = await client.realtimeKit.meetings.create(app_id, { account_id, title: 'Standup' });
const meeting_id = meeting.data.id;
console.log(`meeting ${meeting_id} created`);

const ann = await client.realtimeKit.meetings.addParticipant(meeting_id, {
    account_id, app_id, custom_participant_id: 'ann', preset_name: 'group_call_participant', name: 'Ann',
});

// Ann joins: one WebSocket per participant (docs/protocol.md). The server greets her with `hello`.
const wsURL = `${BASE.replace(/^http/, 'ws').replace(/\/client\/v4\/?$/, '')}/v1/ws?token=${ann.data.token}`;
const ws = new WebSocket(wsURL);
const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
await new Promise((resolve, reject) => {
    ws.on('message', (data) => {
        if (JSON.parse(data).type === 'hello') resolve();
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`join refused: HTTP ${res.statusCode}`)));
});
console.log('Ann joined');

const live = await client.realtimeKit.activeSession.getActiveSession(meeting_id, { account_id, app_id });
console.log(`live participants: ${live.data.live_participants}`);

await client.realtimeKit.activeSession.kickParticipants(meeting_id, {
    account_id, app_id, custom_participant_ids: ['ann'],
});
const code = await closed; // 4001: kicked
console.log(`Ann was kicked (close code ${code})`);
if (live.data.live_participants !== 1 || code !== 4001) process.exit(1);
