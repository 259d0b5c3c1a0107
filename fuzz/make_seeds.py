#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# make_seeds.py - writes the committed seed corpora under fuzz/corpus/<harness>/.
#
# Seeds are a handful of realistic inputs per harness, in each harness's input format (see the
# comment at the top of fuzz/fuzz_<harness>.c). Run it after changing a format; it rewrites
# every seed_* file and leaves other files (e.g. minimised crash reproducers) alone.
import base64
import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

MEETING = "5f1d7a52-2d1c-4c8e-9a53-8b2b6e0f0a01"
PART = ["7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a50", "7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a51",
        "7c0e3c1a-1b2d-4e5f-8a9b-0c1d2e3f4a52"]


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


def clean(harness):
    d = os.path.join(HERE, "corpus", harness)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith("seed_"):
                os.unlink(os.path.join(d, n))


# ---- WebSocket client frames ----

MASK = b"\x37\xfa\x21\x3d"


def frame(op, payload=b"", fin=True, masked=True, rsv=0, force_len=None):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | rsv << 4 | op
    n = len(payload) if force_len is None else force_len
    if n < 126:
        head = bytes([b0, (0x80 if masked else 0) | n])
    elif n < 65536:
        head = bytes([b0, (0x80 if masked else 0) | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, (0x80 if masked else 0) | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    body = bytes(c ^ MASK[i % 4] for i, c in enumerate(payload))
    return head + MASK + body


def ws_seeds():
    h = "ws"
    clean(h)
    split = lambda n: struct.pack("<H", n)  # the harness's split point
    ping = '{"type":"ping","ref":"r1"}'
    vote = '{"type":"poll.vote","poll_id":"x","option":1}'
    write(h, "text", split(3) + frame(1, ping))
    write(h, "two_texts", split(9) + frame(1, ping) + frame(1, vote))
    write(h, "fragmented", split(20) + frame(1, '{"type":', fin=False) + frame(9, "hb") +
          frame(0, '"pi', fin=False) + frame(0, 'ng"}'))
    write(h, "utf8_straddle", split(7) + frame(1, b'{"t":"\xe2\x82', fin=False) +
          frame(0, b'\xac"}'))
    write(h, "close_reason", split(1) + frame(8, struct.pack(">H", 1000) + b"bye"))
    write(h, "close_empty", split(0) + frame(8))
    write(h, "ping_pong", split(4) + frame(9, "are you there") + frame(10, "yes"))
    write(h, "len126", split(2) + frame(1, '{"type":"ping","ref":"' + "a" * 40 + '"}' + " " * 150))
    write(h, "binary", split(1) + frame(2, b"\x00\x01"))
    write(h, "unmasked", split(1) + frame(1, ping, masked=False))
    write(h, "bad_utf8", split(5) + frame(1, b'{"a":"\xc0\xaf"}'))
    write(h, "too_big", split(3) + frame(1, b"", force_len=70000)[:10])
    write(h, "rsv", split(1) + frame(1, ping, rsv=4))
    write(h, "bad_close_code", split(2) + frame(8, struct.pack(">H", 1005)))
    write(h, "cont_without_start", split(1) + frame(0, "x"))


# ---- channel messages: first byte picks the sending peer ----

def channel_seeds():
    h = "channel_msg"
    clean(h)
    write(h, "ping", b"\x00" + b'{"type":"ping"}')
    write(h, "ping_ref", b"\x01" + b'{"type":"ping","ref":"abc-123"}')
    write(h, "vote", b"\x00" + b'{"type":"poll.vote","poll_id":"$POLL0","option":1,"ref":"v1"}')
    write(h, "vote_many", b"\x02" + b'{"type":"poll.vote","poll_id":"$POLL1","option":7}')
    write(h, "vote_bad_option", b"\x01" + b'{"type":"poll.vote","poll_id":"$POLL2","option":-1}')
    write(h, "vote_single", b"\x01" + b'{"type":"poll.vote","poll_id":"$POLL3","option":0}')
    write(h, "vote_unknown", b"\x00" + b'{"type":"poll.vote","poll_id":"nope","option":0}')
    write(h, "unknown_type", b"\x00" + b'{"type":"chat.send","text":"hi"}')
    write(h, "no_type", b"\x00" + b'{"ref":"x"}')
    write(h, "array", b"\x00" + b'[1,2,3]')
    write(h, "dup_keys", b"\x00" + b'{"type":"ping","type":"ping"}')
    write(h, "long_ref", b"\x00" + b'{"type":"ping","ref":"' + b"r" * 70 + b'"}')
    write(h, "nested", b"\x00" + b'{"type":"ping","x":' + b"[" * 40 + b"]" * 40 + b"}")
    # protocol 2: peer 0 is a host, peer 1 a participant, peer 2 waits
    write(h, "create", b"\x00" + b'{"type":"poll.create","question":"Q","options":["a","b"],'
          b'"hide_votes":true,"ref":"c"}')
    write(h, "create_forbidden", b"\x01" + b'{"type":"poll.create","question":"Q","options":["a"]}')
    write(h, "create_bad", b"\x00" + b'{"type":"poll.create","question":"","options":[]}')
    write(h, "kick", b"\x00" + b'{"type":"participant.kick","participant_ids":["$PART1"],"ref":"k"}')
    write(h, "kick_custom", b"\x00" + b'{"type":"participant.kick","custom_participant_ids":["nope"]}')
    write(h, "kick_all", b"\x00" + b'{"type":"session.kick_all","ref":"ka"}')
    write(h, "kick_all_forbidden", b"\x01" + b'{"type":"session.kick_all"}')
    write(h, "admit", b"\x00" + b'{"type":"waiting.admit","participant_ids":["$PART2","x"]}')
    write(h, "refuse", b"\x00" + b'{"type":"waiting.refuse","participant_ids":["$PART2"]}')
    write(h, "waiting_vote", b"\x02" + b'{"type":"poll.vote","poll_id":"$POLL0","option":0}')


# ---- participant tokens ----

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def ptoken_seeds():
    h = "ptoken"
    clean(h)
    hdr = b'{"alg":"HS256","typ":"JWT"}'
    claims = {"appId": "14a396e7-ca44-4937-bf1f-050a69118543", "meetingId": MEETING,
              "participantId": PART[0], "iat": 1700000000, "exp": 1800000000}
    pay = json.dumps(claims, separators=(",", ":")).encode()
    # Mode 0: a token as received (signed with some other key).
    other = hmac.new(b"not-our-key", b64u(hdr) + b"." + b64u(pay), hashlib.sha256).digest()
    tok = b64u(hdr) + b"." + b64u(pay) + b"." + b64u(other)
    write(h, "raw_token", b"\x00" + tok)
    write(h, "raw_none", b"\x00" + b64u(b'{"alg":"none"}') + b"." + b64u(pay) + b".")
    write(h, "raw_parts", b"\x00" + b"a.b.c.d")
    # Mode 1: header 0xff payload, then tamper position and xor.
    write(h, "signed_ok", b"\x01" + hdr + b"\xff" + pay + b"\x10\x01")
    expired = dict(claims, exp=1600000000)
    write(h, "signed_expired", b"\x01" + hdr + b"\xff" +
          json.dumps(expired, separators=(",", ":")).encode() + b"\x33\x20")
    write(h, "signed_none", b"\x01" + b'{"alg":"none"}' + b"\xff" + pay + b"\x00\x01")
    write(h, "signed_crit", b"\x01" + b'{"alg":"HS256","crit":["x"]}' + b"\xff" + pay + b"\x05\x02")
    upper = dict(claims, participantId=PART[1].upper(), extra=[1, {"a": None}])
    write(h, "signed_upper", b"\x01" + b'{"alg":"HS256"}' + b"\xff" +
          json.dumps(upper).encode() + b"\x07\x40")
    write(h, "signed_float", b"\x01" + hdr + b"\xff" +
          json.dumps(dict(claims, exp=1.8e9)).encode() + b"\x01\x01")


# ---- request targets: first byte picks the output buffer size ----

def query_seeds():
    h = "query"
    clean(h)
    kit = "/accounts/0123456789abcdef0123456789abcdef/realtime/kit/" + \
          "14a396e7-ca44-4937-bf1f-050a69118543"
    write(h, "meetings", b"\x06" + (kit + "/meetings?page_no=2&per_page=10&search=stand%20up+x"
                                    "&status=ACTIVE&start_time=2024-01-01T00:00:00Z").encode())
    write(h, "apps", b"\x02/client/v4/accounts/abc/realtime/kit/apps/?sort_order=DESC&search=%27")
    write(h, "participant", b"\x05" + (kit + "/meetings/" + MEETING + "/participants/" + PART[0] +
                                       "/token").encode())
    write(h, "poll_one", b"\x04" + (kit + "/meetings/" + MEETING +
                                    "/active-session/polls/abc.def_1").encode())
    write(h, "ws", b"\x07/v1/ws?token=eyJhbGciOiJIUzI1NiJ9.e30.c2ln&x=%00")
    write(h, "bad_escape", b"\x03/healthz?search=%4&page_no=0&per_page=101&&=&token=%zz")
    write(h, "big_page", b"\x01/readyz?page_no=999999999999999999999&per_page=0100")
    write(h, "sessions", b"\x08" + (kit + "/sessions/" + MEETING +
                                    "/participants?page_no=1").encode())


def time_seeds():
    h = "time"
    clean(h)
    for i, s in enumerate(["2024-02-29T12:34:56.789+05:30", "2024-01-01", "1970-01-01T00:00Z",
                           "9999-12-31T23:59:59.999Z", "0000-01-01T00:00:00-23:59",
                           "2023-02-29", "2024-06-30t23:59:60z", "2024-06-30T10:00:00.123456789",
                           "1999-12-31T23:59:59.9+00:00"]):
        write(h, "t%d" % i, s)


# The default group_call_participant's objects (src/auth/rtk_preset.c), for preset seeds.
DEFAULT_CONFIG = {"view_type": "GROUP_CALL", "max_video_streams": {"desktop": 25, "mobile": 6},
                  "max_screenshare_count": 1,
                  "media": {"video": {"quality": "hd", "frame_rate": 30, "simulcast": False},
                            "screenshare": {"quality": "hd", "frame_rate": 5},
                            "audio": {"enable_stereo": False, "enable_high_bitrate": False}},
                  "livestream_viewer_qualities": None}
_f, _t = False, True
DEFAULT_PERMISSIONS = {
    "accept_waiting_requests": _f, "can_accept_production_requests": _f,
    "can_change_participant_permissions": _f, "can_edit_display_name": _t, "can_livestream": _f,
    "can_record": _f, "can_spotlight": _f,
    "chat": {"private": {"can_receive": _t, "can_send": _t, "files": _t, "text": _t},
             "public": {"can_send": _t, "files": _t, "text": _t}},
    "connected_meetings": {"can_alter_connected_meetings": _f, "can_switch_connected_meetings": _f,
                           "can_switch_to_parent_meeting": _f},
    "disable_participant_audio": _f, "disable_participant_screensharing": _f,
    "disable_participant_video": _f, "hidden_participant": _f, "kick_participant": _f,
    "media": {"audio": {"can_produce": "ALLOWED"}, "screenshare": {"can_produce": "ALLOWED"},
              "video": {"can_produce": "ALLOWED"}},
    "pin_participant": _f,
    "plugins": {"can_close": _f, "can_edit_config": _f, "can_start": _f, "config": {}},
    "polls": {"can_create": _f, "can_view": _t, "can_vote": _t}, "recorder_type": "NONE",
    "show_participant_list": _t, "waiting_room_type": "SKIP"}
DEFAULT_UI = {"design_tokens": {
    "border_radius": "rounded", "border_width": "thin", "spacing_base": 4, "theme": "dark",
    "colors": {"brand": {"300": "#844d1c", "400": "#9d5b22", "500": "#b56927", "600": "#d37c30",
                         "700": "#d9904f"},
               "background": {"600": "#222222", "700": "#1f1f1f", "800": "#1b1b1b",
                              "900": "#181818", "1000": "#141414"},
               "danger": "#ff2d2d", "success": "#62a504", "text": "#eeeeee",
               "text_on_brand": "#eeeeee", "video_bg": "#191919", "warning": "#ffcd07"}}}

# ---- JSON bodies: first byte picks the route (see fuzz_json_api.c route()) ----

def json_api_seeds():
    h = "json_api"
    clean(h)
    b = lambda sel, obj: bytes([sel]) + (obj if isinstance(obj, bytes) else
                                         json.dumps(obj).encode())
    write(h, "app", b(0, {"name": "My app"}))
    write(h, "meeting", b(1, {"title": "Standup", "record_on_start": False,
                              "live_stream_on_start": None, "persist_chat": True,
                              "summarize_on_end": False, "transcribe_on_end": False,
                              "session_keep_alive_time_in_secs": 120, "status": "ACTIVE",
                              "ai_config": {"summarization": {"word_limit": 500}},
                              "recording_config": None}))
    write(h, "meeting_empty", b(1, b""))
    write(h, "patch_meeting", b(2, {"title": None, "status": "INACTIVE"}))
    write(h, "put_meeting", b(3, {"title": "Renamed", "session_keep_alive_time_in_secs": 0}))
    write(h, "participant", b(4, {"custom_participant_id": "c-1", "preset_name": "group_call_host",
                                  "name": "Zed", "picture": "https://example.com/p.png"}))
    write(h, "participant_dup", b(4, {"custom_participant_id": "fuzz-ann", "preset_name": "x"}))
    write(h, "patch_participant", b(5, {"name": "New name", "preset_name": "webinar_viewer",
                                        "picture": None}))
    write(h, "kick", b(6, {"participant_ids": [PART[0]], "custom_participant_ids": ["fuzz-bob"]}))
    write(h, "kick_offline", b(6, {"custom_participant_ids": ["fuzz-cy", "nobody"]}))
    write(h, "poll", b(7, {"question": "Lunch?", "options": ["Pizza", "Sushi"],
                           "anonymous": True, "hide_votes": False}))
    # Webhooks: route 6 with bits 3-4 = 1 (POST), 2 (PATCH), 3 (PUT of the world's webhook).
    write(h, "webhook", b(6 | 1 << 3, {"name": "backend", "url": "https://example.com/hook",
                                       "events": ["meeting.started", "meeting.ended",
                                                  "meeting.participantJoined"],
                                       "enabled": True}))
    write(h, "webhook_bad_url", b(6 | 1 << 3, {"name": "x", "url": "ftp://example.com/",
                                               "events": ["meeting.started"]}))
    write(h, "patch_webhook", b(6 | 2 << 3, {"enabled": False,
                                             "events": ["meeting.participantLeft"]}))
    write(h, "put_webhook", b(6 | 3 << 3, {"name": "replaced", "url": "http://127.0.0.1:1/x",
                                           "events": ["meeting.summary", "meeting.summary"]}))
    write(h, "poll_bad", b(7, {"question": "  ", "options": []}))
    write(h, "not_object", b(1, b"[1,2]"))
    write(h, "bad_json", b(2, b'{"title":'))
    write(h, "nul", b(0, b'{"name":"a\\u0000b"}'))
    write(h, "kick_too_many", b(6, {"custom_participant_ids": ["a"] * 1001}))
    write(h, "poll_nul", b(7, {"question": "q\u0000", "options": ["o"]}))
    write(h, "poll_too_many", b(7, {"question": "q", "options": ["o"] * 33}))
    write(h, "poll_no_session", b(0x67, {"question": "Anyone?", "options": ["Yes"]}))
    write(h, "kick_no_session", b(0x66, {"participant_ids": [PART[1]]}))
    preset = {"name": "fuzz-preset", "config": DEFAULT_CONFIG, "permissions": DEFAULT_PERMISSIONS,
              "ui": DEFAULT_UI}
    write(h, "preset", b(0x08, preset))
    write(h, "preset_taken", b(0x08, {**preset, "name": "group_call_host"}))
    write(h, "preset_bad_field", b(0x08, {**preset, "permissions": {**DEFAULT_PERMISSIONS,
                                                                    "polls": {"can_vote": 1}}}))
    write(h, "patch_preset", b(0x10, {"permissions": {"polls": {"can_create": False},
                                                      "plugins": {"config": {"p": {"x": [1]}}}},
                                      "config": {"media": {"video": {"frame_rate": 24}}}}))
    write(h, "patch_preset_rename", b(0x10, {"name": "webinar_viewer"}))
    write(h, "put_preset", b(0x18, {**preset, "name": "replaced"}))
    write(h, "put_preset_partial", b(0x18, {"name": "p", "ui": DEFAULT_UI}))


# ---- raw HTTP to the whole server: placeholders $ACC $APP $TOK $PTK0..2 (fuzz_world.h) ----

def server_seeds():
    h = "server"
    clean(h)
    kit = "/client/v4/accounts/$ACC/realtime/kit/$APP"
    auth = "Authorization: Bearer $TOK\r\n"

    def req(method, target, body=None, headers="", version="HTTP/1.1"):
        s = "%s %s %s\r\nHost: rtkd\r\n%s" % (method, target, version, headers)
        if body is not None:
            s += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        return s + "\r\n" + (body or "")

    write(h, "healthz", req("GET", "/healthz"))
    write(h, "apps_list", req("GET", "/client/v4/accounts/$ACC/realtime/kit/apps?per_page=5",
                              headers=auth))
    write(h, "meeting_create", req("POST", kit + "/meetings", '{"title":"Standup"}', auth))
    write(h, "meetings_list", req("GET", kit + "/meetings?search=st%25&status=ACTIVE&"
                                  "start_time=2020-01-01", headers=auth))
    write(h, "meeting_patch", req("PATCH", kit + "/meetings/" + MEETING, '{"title":"x"}', auth))
    write(h, "participant_add", req("POST", kit + "/meetings/" + MEETING + "/participants",
                                    '{"custom_participant_id":"z","preset_name":"p"}', auth))
    write(h, "participant_delete", req("DELETE", kit + "/meetings/" + MEETING + "/participants/" +
                                       PART[2], headers=auth))
    write(h, "participant_token", req("POST", kit + "/meetings/" + MEETING + "/participants/" +
                                      PART[1] + "/token", headers=auth))
    write(h, "active_session", req("GET", kit + "/meetings/" + MEETING + "/active-session",
                                   headers=auth))
    write(h, "sessions", req("GET", kit + "/sessions?status=ENDED", headers=auth))
    chunked = ("POST " + kit + "/meetings HTTP/1.1\r\nHost: rtkd\r\n" + auth +
               "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"tit\r\n9\r\nle\":\"a\"}\r\n0\r\n\r\n")
    write(h, "chunked", chunked)
    write(h, "pipelined", req("GET", "/healthz") + req("GET", "/readyz") +
          req("HEAD", "/healthz") + req("GET", "/nope"))
    write(h, "expect", req("POST", kit + "/meetings", "{}", auth + "Expect: 100-continue\r\n"))
    write(h, "http10", req("GET", "/healthz", version="HTTP/1.0"))
    write(h, "close", req("GET", "/readyz", headers="Connection: close\r\n") + req("GET", "/"))
    write(h, "web", req("GET", "/") + req("GET", "/join?token=x"))
    write(h, "bad_method", req("BREW", "/healthz"))
    write(h, "method_not_allowed", req("DELETE", kit + "/meetings", headers=auth))
    write(h, "no_auth", req("GET", kit + "/meetings", headers="Authorization: Basic eA==\r\n"))
    ws = ("GET /v1/ws?token=$PTK0 HTTP/1.1\r\nHost: rtkd\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    write(h, "ws", ws + frame(1, '{"type":"ping"}') +
          frame(8, struct.pack(">H", 1000)))
    write(h, "ws_bearer", ws.replace(b"?token=$PTK0", b"").replace(
        b"Host: rtkd\r\n", b"Host: rtkd\r\nAuthorization: Bearer $PTK1\r\n") +
          frame(1, '{"type":"poll.vote","poll_id":"p","option":0}'))
    write(h, "ws_bad", ws.replace(b"13", b"8"))
    write(h, "big_head", req("GET", "/healthz", headers="X-Pad: " + "p" * 17000 + "\r\n"))
    write(h, "big_body_declared", req("POST", kit + "/meetings", headers=auth +
                                      "Content-Length: 2000000\r\n"))
    write(h, "big_chunk", "POST " + kit + "/meetings HTTP/1.1\r\nHost: rtkd\r\n" + auth +
          "Transfer-Encoding: chunked\r\n\r\n200000\r\n" + "x" * 64 + "\r\n")
    write(h, "trailer", "POST " + kit + "/meetings HTTP/1.1\r\nHost: rtkd\r\n" + auth +
          "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: yes\r\n\r\n")
    write(h, "pipeline40", req("GET", "/healthz") * 40)
    write(h, "absolute_uri", req("GET", "http://rtkd:8080/healthz?x=1") +
          req("OPTIONS", "*"))
    write(h, "pieces", "POST " + kit + "/mee$BRKtings HTTP/1.1\r\nHo$BRKst: rtkd\r\n" + auth +
          "Content-Length: 17\r\n\r$BRK\n{\"title\"$BRK:\"split\"}")
    write(h, "chunk_pieces", "POST " + kit + "/meetings HTTP/1.1\r\n" + auth +
          "Transfer-Encoding: chunked\r\n\r\n4\r\n{\"t$BRKi\r\n9\r\ntle\":\"a\"}\r\n0\r$BRK\n\r\n")
    write(h, "conflict", "POST /healthz HTTP/1.1\r\nContent-Length: 3\r\n"
          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


# ---- raw HTTP to the sans-I/O parser (fuzz_http): a client's stream, nothing else ----

def http_seeds():
    h = "http"
    clean(h)

    def req(method, target, body=None, headers="", version="HTTP/1.1"):
        s = "%s %s %s\r\nHost: rtkd\r\n%s" % (method, target, version, headers)
        if body is not None:
            s += "Content-Length: %d\r\n" % len(body)
        return s + "\r\n" + (body or "")

    chunked = "Transfer-Encoding: chunked\r\n"
    write(h, "get", req("GET", "/v1/x?y=1&z", headers="X-Empty:\r\nX-Pad:  v \t\r\n"))
    write(h, "post", req("POST", "/p", '{"title":"x"}'))
    write(h, "pipelined", req("GET", "/a") + req("PUT", "/b", "xyz") + req("HEAD", "/c") +
          req("DELETE", "/d", headers="Connection: close\r\n") + req("GET", "/after"))
    write(h, "chunked", req("POST", "/c", headers=chunked) +
          "5\r\nhello\r\n1;ext=1\r\n \r\n3\r\n\r\rX\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n")
    write(h, "expect", req("PUT", "/e", "ok", "Expect: 100-continue\r\n") +
          req("POST", "/e2", headers="Expect: 100-continue\r\n" + chunked) + "2\r\nab\r\n0\r\n\r\n")
    write(h, "upgrade", req("GET", "/ws", headers="Upgrade: websocket\r\nConnection: Upgrade\r\n") +
          "\x81\x85abcde")
    write(h, "connect", "CONNECT rtkd:443 HTTP/1.1\r\nHost: rtkd:443\r\n\r\ntunnel")
    write(h, "http10", "GET /old HTTP/1.0\r\n\r\nGET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    write(h, "targets", req("GET", "http://rtkd:8080/p?q=1#f") + req("OPTIONS", "*") +
          req("GET", "http://rtkd"))
    write(h, "fold", req("GET", "/f", headers="X-Fold: one\r\n  two\r\n\tthree\r\n"))
    write(h, "lf_only", "GET  /lf  HTTP/1.2\nHost: x\n\n")
    write(h, "no_host", "GET / HTTP/1.1\r\n\r\n")
    write(h, "v2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n")
    write(h, "httq", "GET / HTTQ/1.1\r\nHost: x\r\n\r\n")
    write(h, "v09", "GET /s\r\nHost: x\r\n\r\n")
    write(h, "bare_cr", "GET / HTTP/1.1\r\nHost: x\r\n\rX")
    write(h, "space_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
    write(h, "ctl_first", "GET / HTTP/1.1\r\nHost: x\r\nX-A: \x00b\r\n\r\n")
    write(h, "cl_te", req("POST", "/x", headers="Content-Length: 3\r\n" + chunked) + "0\r\n\r\n")
    write(h, "two_cl", req("POST", "/x", headers="Content-Length: 1\r\nContent-Length: 2\r\n") + "ab")
    write(h, "te_gzip_chunked", req("POST", "/x", headers="Transfer-Encoding: gzip, chunked\r\n") +
          "0\r\n\r\n")
    write(h, "two_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    write(h, "chunk_xx", req("POST", "/x", headers=chunked) + "2\r\n{}XX0\r\n\r\n")
    write(h, "chunk_bad_size", req("POST", "/x", headers=chunked) + "zz\r\n{}\r\n0\r\n\r\n")
    write(h, "big_head", req("GET", "/h", headers="X-Pad: " + "p" * 17000 + "\r\n"))
    write(h, "near_small_limit", req("GET", "/" + "t" * 400, headers="X-A: " + "a" * 60 + "\r\n"))
    write(h, "many_headers", req("GET", "/m", headers="X: y\r\n" * 120))
    write(h, "big_body_declared", req("POST", "/b", headers="Content-Length: 2000000\r\n"))
    write(h, "chunks_past_small", req("POST", "/b", headers=chunked) +
          ("40\r\n" + "z" * 64 + "\r\n") * 5 + "0\r\n\r\n")
    write(h, "big_trailers", req("POST", "/t", headers=chunked) + "0\r\n" +
          "X-Trailer: 0123456789abcdef\r\n" * 20 + "\r\n")


if __name__ == "__main__":
    ws_seeds()
    channel_seeds()
    ptoken_seeds()
    query_seeds()
    time_seeds()
    json_api_seeds()
    server_seeds()
    http_seeds()
