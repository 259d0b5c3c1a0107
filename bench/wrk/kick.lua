-- SPDX-License-Identifier: MIT
-- kick.lua - wrk script: POST .../active-session/kick of one participant per request, each
-- request naming the next participant id of BENCH_IDS (one per line). Thread k of n sends ids
-- k, k+n, k+2n, ... so no two requests kick the same participant until the list wraps.
-- BENCH_AUTH holds the Authorization value, BENCH_PATH the kick path.
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

local ids = {}
local next_index
local step
local path = os.getenv("BENCH_PATH")
local headers = {
  ["Authorization"] = os.getenv("BENCH_AUTH"),
  ["Content-Type"] = "application/json",
}

function init(args)
  for line in io.lines(os.getenv("BENCH_IDS")) do
    ids[#ids + 1] = line
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  next_index = tid
end

function request()
  local id = ids[(next_index % #ids) + 1]
  next_index = next_index + step
  return wrk.format("POST", path, headers, '{"participant_ids":["' .. id .. '"]}')
end
