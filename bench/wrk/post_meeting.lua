-- SPDX-License-Identifier: MIT
-- post_meeting.lua - wrk script: POST .../meetings (a durable write) with the API token from
-- BENCH_AUTH. Every request creates a new meeting.
wrk.method = "POST"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"bench meeting","session_keep_alive_time_in_secs":0}'
