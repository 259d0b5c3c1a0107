-- SPDX-License-Identifier: MIT
-- get.lua - wrk script for the GET benchmarks: optional Authorization header (BENCH_AUTH) and
-- an optional pause before each request on a connection (BENCH_DELAY_MS), which holds the
-- offered rate near connections x 1000 / delay: how bench/run.sh approximates wrk2's constant
-- rate when measuring latency at half of the peak rate. Each pause is drawn uniformly from
-- 0..2 x BENCH_DELAY_MS so the connections do not fire in step (which would send bursts of
-- one request per connection at once and measure the burst, not the rate).
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  math.randomseed(os.time() * 100 + (tid or 0))
end

if delay_ms > 0 then
  function delay()
    return math.random(0, 2 * delay_ms)
  end
end
