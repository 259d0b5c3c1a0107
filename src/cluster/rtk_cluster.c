/* SPDX-License-Identifier: MIT */
/* rtk_cluster.c - live state shared through Redis; this node's part of it.
 *
 * Keys (every value a string; times are milliseconds since the epoch, from the nodes'
 * clocks, which must agree (NTP); sums of join times are kept relative to the session's
 * start so that they stay exact in Lua's doubles):
 *   rtkd:s:MID    hash   the meeting's live session: sid, app, started, ka (keep-alive ms),
 *                        live, peak, closed (summed time of peers that left), sumj (summed
 *                        join times of live peers - started), seen, stored (1 once a peer
 *                        joined: its row is in the store)
 *   rtkd:p:MID    hash   participant id -> "NODE PEER JOINED" of its one live peer
 *   rtkd:k:MID    set    participants kicked from the live session
 *   rtkd:np:NODE  hash   "MID PID" -> "PEER VIEW": the node's peers (retired with the node; VIEW for
 *                        their webhooks)
 *   rtkd:nodes    hash   node -> last lease renewal
 *   rtkd:idle     zset   meeting id by the time its peerless session's keep-alive runs out
 * Channels: rtkd:m:MID (to the nodes with peers in the meeting: "c SID LIVE PEAK CLOSED SUMJ
 * SEEN" counters, "e SID" ended) and rtkd:n:NODE (to one node: "r PID PEER" replaced).
 *
 * The scripts are the only writers, so each change is atomic across nodes: the first join
 * of a meeting anywhere creates its one session (SESSION), a join at node B of a participant
 * live at node A moves it and tells A to close its peer (JOIN), the last leave starts the
 * keep-alive (LEAVE), exactly one node ends a session whose keep-alive ran out (REAP), and
 * every node renews its lease and retires the peers of nodes whose lease ran out (LEASE). */
#include "cluster/rtk_cluster.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/rtk_bus.h"
#include "chan/rtk_chan_msg.h"
#include "util/rtk_err.h"
#include "util/rtk_id.h"
#include "util/rtk_jw.h"
#include "util/rtk_log.h"
#include "util/rtk_map.h"
#include "util/rtk_time.h"

/* Lua: F formats a number as an integer (Lua 5.1's tostring would write 1.7e+12). */
#define LUA_F "local function F(x) return string.format('%d', x) end\n"
/* Lua: CPUB publishes a session's new counters on the meeting's channel at most once per
 * COUNTERS_MS (key 'pub': the last time); a change within it marks the session 'dirty' and
 * returns 1: the node that made it sends FLUSH after COUNTERS_MS (a burst of joins costs the
 * nodes a few notices per second, not one each). */
#define COUNTERS_MS 250
#define STR_(x) #x
#define STR(x) STR_(x)
#define LUA_CPUB                                                                              \
    "local function CPUB(s, ch, msg, now)\n"                                                   \
    "  local last = tonumber(redis.call('HGET', s, 'pub') or '0')\n"                           \
    "  if now - last >= " STR(COUNTERS_MS) " then\n"                                                            \
    "    redis.call('HSET', s, 'pub', F(now), 'dirty', '0')\n"                                 \
    "    redis.call('PUBLISH', ch, msg)\n"                                                     \
    "    return 0\n"                                                                           \
    "  end\n"                                                                                  \
    "  redis.call('HSET', s, 'dirty', '1')\n"                                                  \
    "  return 1\n"                                                                             \
    "end\n"

enum {
    S_SESSION,
    S_JOIN,
    S_LEAVE,
    S_REAP,
    S_LEASE,
    S_KICK,
    S_KICK_ALL,
    S_POLL,
    S_SENDER,
    S_WAIT_IN,
    S_WAIT_OUT,
    S_DECIDE,
    S_LISTS,
    S_FLUSH,
    NSCRIPTS
};

static const char *const scripts[NSCRIPTS] = {
    /* SESSION: KEYS s, k, idle, a, f; ARGV proposed sid, app, now, participant, ka, mid,
     * title, how the joiner joins: s (at once), a (unless admitted once: SKIP_ON_ACCEPT), w
     * (it waits), r (a node republishing its peers). {sid, started, created, kicked, live,
     * peak, closed, sumj, seen, admitted, refused, starter}: starter 1 for the first joiner
     * that joins at once, whose node tells the session started (a session that only waiting
     * peers have is not started yet). */
    "local f = redis.call('HMGET', KEYS[1], 'sid', 'started', 'live', 'peak', 'closed', "
    "'sumj', 'seen')\n"
    "local created = 0\n"
    "if not f[1] then\n"
    "  redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'app', ARGV[2], 'started', ARGV[3], 'ka', "
    "ARGV[5], 'live', 0, 'peak', 0, 'closed', 0, 'sumj', 0, 'seen', ARGV[3], 'stored', 0, "
    "'title', ARGV[7])\n"
    /* A session nobody joins (the handshake failed) is reaped after its keep-alive, but not
     * before the joiner had time to join. */
    "  local ka = tonumber(ARGV[5]); if ka < 10000 then ka = 10000 end\n"
    "  redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + ka, ARGV[6])\n"
    "  f = {ARGV[1], ARGV[3], '0', '0', '0', '0', ARGV[3]}\n"
    "  created = 1\n"
    "end\n"
    "local admitted = redis.call('SISMEMBER', KEYS[4], ARGV[4])\n"
    "local starter = 0\n"
    "if ARGV[8] == 'r' then redis.call('HSETNX', KEYS[1], 'starter', '1')\n"
    "elseif ARGV[8] == 's' or (ARGV[8] == 'a' and admitted == 1) then\n"
    "  starter = redis.call('HSETNX', KEYS[1], 'starter', '1')\n"
    "end\n"
    "return {f[1], f[2], created, redis.call('SISMEMBER', KEYS[2], ARGV[4]), f[3], f[4], f[5], "
    "f[6], f[7], admitted, redis.call('SISMEMBER', KEYS[5], ARGV[4]), starter}\n",

    /* JOIN: KEYS s, p, np(me), idle, r; ARGV sid, participant, peer, at, node, mid, the
     * peer's view (JSON: kept with the node's peers, for its webhook should the node die), 1 if
     * it is listed (else hidden: never in the list). {'ok', node, peer of the peer it
     * replaced (or ''), 1 if the counters' notice waits for a FLUSH}. */
    LUA_F LUA_CPUB "local f = redis.call('HMGET', KEYS[1], 'sid', 'started', 'live', 'peak', 'closed', "
          "'sumj')\n"
          "if f[1] ~= ARGV[1] then return {'stale'} end\n"
          "local ch = 'rtkd:l:' .. ARGV[6]\n"
          "local rold = redis.call('HGET', KEYS[5], ARGV[2])\n"
          "if rold then\n"
          "  local rp = string.match(rold, '^(%S+) ')\n"
          "  if rp ~= ARGV[3] then redis.call('PUBLISH', ch, 'rl ' .. rp) end\n"
          "end\n"
          "if ARGV[8] == '1' then\n"
          "  redis.call('HSET', KEYS[5], ARGV[2], ARGV[3] .. ' ' .. ARGV[5] .. ' ' .. ARGV[7])\n"
          "  redis.call('PUBLISH', ch, 'rj ' .. ARGV[1] .. ' ' .. ARGV[5] .. ' ' .. ARGV[7])\n"
          "elseif rold then redis.call('HDEL', KEYS[5], ARGV[2]) end\n"
          "local started, live, peak = tonumber(f[2]), tonumber(f[3]), tonumber(f[4])\n"
          "local closed, sumj, at = tonumber(f[5]), tonumber(f[6]), tonumber(ARGV[4])\n"
          "local on, op = '', ''\n"
          "local old = redis.call('HGET', KEYS[2], ARGV[2])\n"
          "if old then\n"
          "  local n, p, j = string.match(old, '^(%S+) (%S+) (%S+)$')\n"
          "  if n == ARGV[5] and p == ARGV[3] then return {'ok', '', ''} end\n"
          "  j = tonumber(j)\n"
          "  on, op = n, p\n"
          "  live = live - 1\n"
          "  sumj = sumj - (j - started)\n"
          "  if at > j then closed = closed + (at - j) end\n"
          "  redis.call('HDEL', 'rtkd:np:' .. n, ARGV[6] .. ' ' .. ARGV[2])\n"
          "end\n"
          "live = live + 1\n"
          "sumj = sumj + (at - started)\n"
          "if live > peak then peak = live end\n"
          "redis.call('HSET', KEYS[1], 'live', F(live), 'peak', F(peak), 'closed', F(closed), "
          "'sumj', F(sumj), 'seen', F(at), 'stored', '1')\n"
          "redis.call('HSET', KEYS[2], ARGV[2], ARGV[5] .. ' ' .. ARGV[3] .. ' ' .. F(at))\n"
          "redis.call('HSET', KEYS[3], ARGV[6] .. ' ' .. ARGV[2], ARGV[3] .. ' ' .. ARGV[7])\n"
          "redis.call('ZREM', KEYS[4], ARGV[6])\n"
          "local d = CPUB(KEYS[1], 'rtkd:m:' .. ARGV[6], 'c ' .. ARGV[1] .. ' ' .. F(live) .. ' ' "
          ".. F(peak) .. ' ' .. F(closed) .. ' ' .. F(sumj) .. ' ' .. F(at), at)\n"
          "return {'ok', on, op, d}\n",

    /* LEAVE: KEYS s, p, np(me), idle, r; ARGV sid, participant, peer, at, mid, now. {'ok', 1 if
     * the counters' notice waits for a FLUSH}, or {'stale'} / {'none'}. */
    LUA_F LUA_CPUB "local rc = redis.call('HGET', KEYS[5], ARGV[2])\n"
          "if rc and string.match(rc, '^(%S+) ') == ARGV[3] then\n"
          "  redis.call('HDEL', KEYS[5], ARGV[2])\n"
          "  redis.call('PUBLISH', 'rtkd:l:' .. ARGV[5], 'rl ' .. ARGV[3])\n"
          "end\n"
          "local f = redis.call('HMGET', KEYS[1], 'sid', 'started', 'live', 'peak', 'closed', "
          "'sumj', 'ka')\n"
          "if f[1] ~= ARGV[1] then return {'stale'} end\n"
          "local cur = redis.call('HGET', KEYS[2], ARGV[2])\n"
          "if not cur then return {'none'} end\n"
          "local n, p, j = string.match(cur, '^(%S+) (%S+) (%S+)$')\n"
          "if p ~= ARGV[3] then return {'none'} end\n"
          "j = tonumber(j)\n"
          "local started, live, peak = tonumber(f[2]), tonumber(f[3]), tonumber(f[4])\n"
          "local closed, sumj, at, now = tonumber(f[5]), tonumber(f[6]), tonumber(ARGV[4]), "
          "tonumber(ARGV[6])\n"
          "redis.call('HDEL', KEYS[2], ARGV[2])\n"
          "redis.call('HDEL', KEYS[3], ARGV[5] .. ' ' .. ARGV[2])\n"
          "live = live - 1\n"
          "sumj = sumj - (j - started)\n"
          "if at > j then closed = closed + (at - j) end\n"
          "redis.call('HSET', KEYS[1], 'live', F(live), 'closed', F(closed), 'sumj', F(sumj), "
          "'seen', F(now))\n"
          "if live <= 0 then redis.call('ZADD', KEYS[4], now + tonumber(f[7]), ARGV[5]) end\n"
          "local d = CPUB(KEYS[1], 'rtkd:m:' .. ARGV[5], 'c ' .. ARGV[1] .. ' ' .. F(live) .. ' ' "
          ".. F(peak) .. ' ' .. F(closed) .. ' ' .. F(sumj) .. ' ' .. F(now), now)\n"
          "return {'ok', d}\n",

    /* REAP: KEYS idle; ARGV now. Ends the sessions whose keep-alive ran out, at most 32. */
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 32)\n"
    "local out = {}\n"
    "for _, mid in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[1], mid)\n"
    "  local s = 'rtkd:s:' .. mid\n"
    "  local f = redis.call('HMGET', s, 'sid', 'app', 'started', 'live', 'peak', 'closed', "
    "'stored', 'title')\n"
    "  local waits = f[7] ~= '1' and redis.call('HLEN', 'rtkd:w:' .. mid) > 0\n"
    /* nobody joined yet, peers wait: kept for the host they wait for */
    "  if f[1] and tonumber(f[4]) <= 0 and waits then\n"
    "    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + 10000, mid)\n"
    "  elseif f[1] and tonumber(f[4]) <= 0 then\n"
    "    redis.call('DEL', s, 'rtkd:p:' .. mid, 'rtkd:k:' .. mid, 'rtkd:r:' .. mid, "
    "'rtkd:w:' .. mid, 'rtkd:a:' .. mid, 'rtkd:f:' .. mid)\n"
    "    redis.call('PUBLISH', 'rtkd:m:' .. mid, 'e ' .. f[1])\n"
    "    if f[7] == '1' then\n"
    "      for _, x in ipairs({mid, f[1], f[2], f[3], f[5], f[6], f[8] or ''}) do "
    "table.insert(out, x) end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n",

    /* LEASE: KEYS nodes, idle; ARGV node, now, lease ms, reset (1: this node's entries go too:
     * it lost the bus and republishes). Renews this node's lease and retires the peers of
     * every node whose lease ran out (at its last renewal) and, with reset, this node's. Each
     * retired peer: mid, sid, app, started, participant, peer, joined, left, live, peak,
     * closed, dead (1: another node's). */
    LUA_F "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
          "local now, lease = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
          "local all = redis.call('HGETALL', KEYS[1])\n"
          "local out = {}\n"
          "for i = 1, #all, 2 do\n"
          "  local node, last = all[i], tonumber(all[i + 1])\n"
          "  local dead = node ~= ARGV[1] and now - last > lease\n"
          "  local reset = node == ARGV[1] and ARGV[4] == '1'\n"
          "  if dead or reset then\n"
          "    local at = last\n"
          "    if reset then at = now end\n"
          "    local np = 'rtkd:np:' .. node\n"
          "    local peers = redis.call('HGETALL', np)\n"
          "    for k = 1, #peers, 2 do\n"
          "      local mid, pid = string.match(peers[k], '^(%S+) (%S+)$')\n"
          "      local peer, view = string.match(peers[k + 1], '^(%S+) ?(.*)$')\n"
          "      local cur = redis.call('HGET', 'rtkd:p:' .. mid, pid)\n"
          "      if cur then\n"
          "        local cn, cp, j = string.match(cur, '^(%S+) (%S+) (%S+)$')\n"
          "        local s = 'rtkd:s:' .. mid\n"
          "        local f = redis.call('HMGET', s, 'sid', 'app', 'started', 'live', 'peak', "
          "'closed', 'sumj', 'ka')\n"
          "        if cn == node and cp == peer and f[1] then\n"
          "          j = tonumber(j)\n"
          "          local left = at\n"
          "          if left < j then left = j end\n"
          "          local started, live = tonumber(f[3]), tonumber(f[4]) - 1\n"
          "          local closed = tonumber(f[6]) + (left - j)\n"
          "          local sumj = tonumber(f[7]) - (j - started)\n"
          "          redis.call('HDEL', 'rtkd:p:' .. mid, pid)\n"
          "          local rc = redis.call('HGET', 'rtkd:r:' .. mid, pid)\n"
          "          if rc and string.match(rc, '^(%S+) ') == peer then\n"
          "            redis.call('HDEL', 'rtkd:r:' .. mid, pid)\n"
          "            redis.call('PUBLISH', 'rtkd:l:' .. mid, 'rl ' .. peer)\n"
          "          end\n"
          "          redis.call('HSET', s, 'live', F(live), 'closed', F(closed), 'sumj', "
          "F(sumj), 'seen', F(now))\n"
          "          if live <= 0 then redis.call('ZADD', KEYS[2], now + tonumber(f[8]), mid) "
          "end\n"
          "          redis.call('PUBLISH', 'rtkd:m:' .. mid, 'c ' .. f[1] .. ' ' .. F(live) .. "
          "' ' .. f[5] .. ' ' .. F(closed) .. ' ' .. F(sumj) .. ' ' .. F(now))\n"
          "          for _, x in ipairs({mid, f[1], f[2], f[3], pid, peer, F(j), F(left), "
          "F(live), f[5], F(closed), dead and '1' or '0', view}) do table.insert(out, x) end\n"
          "        end\n"
          "      end\n"
          "    end\n"
          "    redis.call('DEL', np)\n"
          /* its waiting peers leave the waiting rooms */
          "    local nw = 'rtkd:nw:' .. node\n"
          "    local ws = redis.call('HGETALL', nw)\n"
          "    for k = 1, #ws, 2 do\n"
          "      local mid, pid = string.match(ws[k], '^(%S+) (%S+)$')\n"
          "      local cur = redis.call('HGET', 'rtkd:w:' .. mid, pid)\n"
          "      if cur and string.match(cur, '^(%S+) ') == ws[k + 1] then\n"
          "        redis.call('HDEL', 'rtkd:w:' .. mid, pid)\n"
          "        redis.call('PUBLISH', 'rtkd:l:' .. mid, 'wl ' .. ws[k + 1])\n"
          "      end\n"
          "    end\n"
          "    redis.call('DEL', nw)\n"
          "    if dead then redis.call('HDEL', KEYS[1], node) end\n"
          "  end\n"
          "end\n"
          "return out\n",

    /* KICK: KEYS s, p, k, idle, w; ARGV sid, now, mid, then participant ids (already stored
     * as kicked). Bars them from the session and takes their live peers out (they leave now):
     * returns participant, node, peer, 1 of each, and participant, node, peer, 2 of each
     * waiting peer, for their nodes to close. */
    LUA_F "local f = redis.call('HMGET', KEYS[1], 'sid', 'started', 'live', 'peak', 'closed', "
          "'sumj', 'ka')\n"
          "if f[1] ~= ARGV[1] then return {} end\n"
          "local started, live, peak = tonumber(f[2]), tonumber(f[3]), tonumber(f[4])\n"
          "local closed, sumj, now = tonumber(f[5]), tonumber(f[6]), tonumber(ARGV[2])\n"
          "local out, changed = {}, false\n"
          "for i = 4, #ARGV do\n"
          "  local pid = ARGV[i]\n"
          "  redis.call('SADD', KEYS[3], pid)\n"
          "  local cur = redis.call('HGET', KEYS[2], pid)\n"
          "  if cur then\n"
          "    local n, p, j = string.match(cur, '^(%S+) (%S+) (%S+)$')\n"
          "    j = tonumber(j)\n"
          "    redis.call('HDEL', KEYS[2], pid)\n"
          "    redis.call('HDEL', 'rtkd:np:' .. n, ARGV[3] .. ' ' .. pid)\n"
          "    live = live - 1\n"
          "    sumj = sumj - (j - started)\n"
          "    if now > j then closed = closed + (now - j) end\n"
          "    for _, x in ipairs({pid, n, p, '1'}) do table.insert(out, x) end\n"
          "    changed = true\n"
          "  end\n"
          "  local wc = redis.call('HGET', KEYS[5], pid)\n"
          "  if wc then\n"
          "    local wp, wn = string.match(wc, '^(%S+) (%S+) ')\n"
          "    for _, x in ipairs({pid, wn, wp, '2'}) do table.insert(out, x) end\n"
          "  end\n"
          "end\n"
          "if changed then\n"
          "  redis.call('HSET', KEYS[1], 'live', F(live), 'closed', F(closed), 'sumj', F(sumj), "
          "'seen', F(now))\n"
          "  if live <= 0 then redis.call('ZADD', KEYS[4], now + tonumber(f[7]), ARGV[3]) end\n"
          "  redis.call('PUBLISH', 'rtkd:m:' .. ARGV[3], 'c ' .. ARGV[1] .. ' ' .. F(live) .. ' ' "
          ".. F(peak) .. ' ' .. F(closed) .. ' ' .. F(sumj) .. ' ' .. F(now))\n"
          "end\n"
          "return out\n",

    /* KICK_ALL: KEYS s, p, k, idle, r, w, a, f; ARGV sid, mid, request, origin node. The
     * session's end is stored: it goes from Redis, and every node with peers in it (live or
     * waiting) is told to close them and answer the origin. Returns the live peers' count,
     * the number of nodes that had any, those nodes, then the participants that had a live
     * peer. */
    "if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return {-1} end\n"
    "local all = redis.call('HGETALL', KEYS[2])\n"
    "local nodes, seen = {}, {}\n"
    "for i = 1, #all, 2 do\n"
    "  local n = string.match(all[i + 1], '^(%S+) ')\n"
    "  redis.call('HDEL', 'rtkd:np:' .. n, ARGV[2] .. ' ' .. all[i])\n"
    "  if not seen[n] then seen[n] = true; table.insert(nodes, n) end\n"
    "end\n"
    "local ws = redis.call('HGETALL', KEYS[6])\n"
    "for i = 1, #ws, 2 do\n"
    "  local n = string.match(ws[i + 1], '^%S+ (%S+) ')\n"
    "  redis.call('HDEL', 'rtkd:nw:' .. n, ARGV[2] .. ' ' .. ws[i])\n"
    "  if not seen[n] then seen[n] = true; table.insert(nodes, n) end\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8])\n"
    "redis.call('ZREM', KEYS[4], ARGV[2])\n"
    "redis.call('PUBLISH', 'rtkd:m:' .. ARGV[2], 'x ' .. ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. "
    "ARGV[4])\n"
    "local out = {#all / 2, #nodes}\n"
    "for _, n in ipairs(nodes) do table.insert(out, n) end\n"
    "for i = 1, #all, 2 do table.insert(out, all[i]) end\n"
    "return out\n",

    /* POLL: KEYS s; ARGV view bytes, max polls, max bytes (negative bytes: give a place back,
     * ARGV[4] the session). Takes a place in the live session's poll limits (so that every
     * hello still fits, PROTOCOL.md): {sid, app, started, title}, {'none'} or {'full'}. */
    "local f = redis.call('HMGET', KEYS[1], 'sid', 'stored', 'npolls', 'pollbytes', 'app', "
    "'started', 'title')\n"
    "local b = tonumber(ARGV[1])\n"
    "if b < 0 then\n"
    "  if f[1] == ARGV[4] then redis.call('HINCRBY', KEYS[1], 'npolls', -1); "
    "redis.call('HINCRBY', KEYS[1], 'pollbytes', b) end\n"
    "  return {'ok'}\n"
    "end\n"
    "if not f[1] or f[2] ~= '1' then return {'none'} end\n"
    "local n, used = tonumber(f[3] or '0'), tonumber(f[4] or '0')\n"
    "if n >= tonumber(ARGV[2]) or used + b > tonumber(ARGV[3]) then return {'full'} end\n"
    "redis.call('HINCRBY', KEYS[1], 'npolls', 1)\n"
    "redis.call('HINCRBY', KEYS[1], 'pollbytes', b)\n"
    "return {f[1], f[5], f[6], f[7] or ''}\n",

    /* SENDER: KEYS lease; ARGV node, ttl ms, give up (1). The webhook sender's lease: one node
     * at a time sends the outbox's deliveries. 1 while this node holds it. */
    "local cur = redis.call('GET', KEYS[1])\n"
    "if ARGV[3] == '1' then\n"
    "  if cur == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "  return 0\n"
    "end\n"
    "if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end\n"
    "if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end\n"
    "return 0\n",

    /* WAIT_IN: KEYS s, w, p, nw(me); ARGV sid, participant, peer, node, mid, view (JSON). A
     * peer waits at this node: it is the participant's one peer (a peer of it elsewhere,
     * waiting or live, is replaced: 4002) and every node's waiting list shows it. */
    "if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return 0 end\n"
    "local ch = 'rtkd:l:' .. ARGV[5]\n"
    "local old = redis.call('HGET', KEYS[2], ARGV[2])\n"
    "if old then\n"
    "  local op, on = string.match(old, '^(%S+) (%S+) ')\n"
    "  if op ~= ARGV[3] then\n"
    "    redis.call('PUBLISH', ch, 'wl ' .. op)\n"
    "    if on ~= ARGV[4] then\n"
    "      redis.call('HDEL', 'rtkd:nw:' .. on, ARGV[5] .. ' ' .. ARGV[2])\n"
    "      redis.call('PUBLISH', 'rtkd:n:' .. on, 'r ' .. ARGV[2] .. ' ' .. op)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local cur = redis.call('HGET', KEYS[3], ARGV[2])\n"
    "if cur then\n"
    "  local ln, lp = string.match(cur, '^(%S+) (%S+) ')\n"
    "  if ln ~= ARGV[4] then redis.call('PUBLISH', 'rtkd:n:' .. ln, 'r ' .. ARGV[2] .. ' ' .. lp) "
    "end\n"
    "end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[6])\n"
    "redis.call('HSET', KEYS[4], ARGV[5] .. ' ' .. ARGV[2], ARGV[3])\n"
    "redis.call('PUBLISH', ch, 'wj ' .. ARGV[1] .. ' ' .. ARGV[4] .. ' ' .. ARGV[6])\n"
    "return 1\n",

    /* WAIT_OUT: KEYS w, nw(me); ARGV participant, peer, mid. It no longer waits here. */
    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if cur and string.match(cur, '^(%S+) ') == ARGV[2] then\n"
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "  redis.call('PUBLISH', 'rtkd:l:' .. ARGV[3], 'wl ' .. ARGV[2])\n"
    "end\n"
    "if redis.call('HGET', KEYS[2], ARGV[3] .. ' ' .. ARGV[1]) == ARGV[2] then\n"
    "  redis.call('HDEL', KEYS[2], ARGV[3] .. ' ' .. ARGV[1])\n"
    "end\n"
    "return 1\n",

    /* DECIDE: KEYS s, w, a or f; ARGV sid, a (admit) or f (refuse), mid, participant ids. A
     * host's decision, taken once: each participant waiting anywhere leaves the waiting room
     * now, joins the admitted (or refused) set of the session, and its node is told to admit
     * (refuse) its peer. Returns the participants acted on, or {-1}: no such session. */
    "if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return {-1} end\n"
    "local out = {}\n"
    "for i = 4, #ARGV do\n"
    "  local pid = ARGV[i]\n"
    "  local cur = redis.call('HGET', KEYS[2], pid)\n"
    "  if cur then\n"
    "    local p, n = string.match(cur, '^(%S+) (%S+) ')\n"
    "    redis.call('HDEL', KEYS[2], pid)\n"
    "    redis.call('HDEL', 'rtkd:nw:' .. n, ARGV[3] .. ' ' .. pid)\n"
    "    redis.call('SADD', KEYS[3], pid)\n"
    "    redis.call('PUBLISH', 'rtkd:l:' .. ARGV[3], 'wl ' .. p)\n"
    "    redis.call('PUBLISH', 'rtkd:n:' .. n, 'w' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. pid .. "
    "' ' .. p)\n"
    "    table.insert(out, pid)\n"
    "  end\n"
    "end\n"
    "return out\n",

    /* LISTS: KEYS s, r, w; ARGV sid, listed (1: wanted), waiting (1: wanted). The session's
     * listed live peers and waiting peers, for a node taking its first share: {listed values},
     * {waiting values} ("PEER NODE JSON" each; {} when not wanted), or {} when the session is
     * another. */
    "if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return {} end\n"
    "local r, w = {}, {}\n"
    "if ARGV[2] == '1' then r = redis.call('HVALS', KEYS[2]) end\n"
    "if ARGV[3] == '1' then w = redis.call('HVALS', KEYS[3]) end\n"
    "return {r, w}\n",

    /* FLUSH: KEYS s; ARGV mid, now. The counters' notice a JOIN or LEAVE held back, if no
     * other node sent it since. */
    LUA_F "local f = redis.call('HMGET', KEYS[1], 'sid', 'live', 'peak', 'closed', 'sumj', "
          "'seen', 'dirty')\n"
          "if not f[1] or f[7] ~= '1' then return 0 end\n"
          "redis.call('HSET', KEYS[1], 'pub', ARGV[2], 'dirty', '0')\n"
          "redis.call('PUBLISH', 'rtkd:m:' .. ARGV[1], 'c ' .. f[1] .. ' ' .. f[2] .. ' ' .. f[3] "
          ".. ' ' .. f[4] .. ' ' .. f[5] .. ' ' .. f[6])\n"
          "return 1\n",
};

#define LEASE_FIELDS 13
#define REAP_FIELDS 7

struct rtk_cluster {
    uv_loop_t *loop;
    rtk_live *live;
    rtk_bus *bus;
    char node[128];
    char node_chan[160];
    char node_tag[160]; /* node + a random part: request ids no other run of it reuses */
    uint64_t lease_ms;
    uv_timer_t timer; /* lease renewal, reaping */
    int reset;        /* the bus came back: this node's entries are republished */
    int remote;       /* telling live what happened elsewhere: our sink ignores it */
    int stopping;
    struct kop *ops;     /* kicks and kick-alls waiting for other nodes' answers */
    struct kop *answers; /* ... done, answered in the next loop turn */
    uv_timer_t answer_timer;
    struct vbuf *votes; /* this loop turn's stored votes, one notice per meeting */
    uv_timer_t vote_timer;
    rtk_map flush;        /* meeting id -> itself (owned): counters' notices held back */
    uv_timer_t flush_timer;
    uint64_t next_req;
    int handles; /* timers still open */
    void (*hooks_fn)(void *arg, const char *app_id);
    void *hooks_arg;
    void (*sender_fn)(void *arg, int on); /* the webhook sender's lease taken or lost */
    void *sender_arg;
    int sender; /* this node holds it */
    int was_up; /* the bus was up before: a reconnect, not the first connect */
};

static void key(char *buf, size_t cap, const char *kind, const char *id)
{
    snprintf(buf, cap, "rtkd:%s:%s", kind, id);
}

static void fmt_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
}

/* ---- what happens here goes to Redis ---- */

typedef struct join_ctx {
    rtk_cluster *c;
    char participant_id[37];
    char peer_id[37];
    char meeting_id[37];
} join_ctx;

static void on_flush_timer(uv_timer_t *t)
{
    rtk_cluster *c = t->data;
    size_t it = 0;
    const char *k;
    char now_s[24];
    fmt_i64(now_s, rtk_time_now_ms());
    void *owned; /* the key itself */
    while (rtk_map_next(&c->flush, &it, &k, &owned)) {
        char ks[80];
        key(ks, sizeof(ks), "s", k);
        const char *argv[3] = {ks, k, now_s};
        if (!c->stopping)
            rtk_bus_script(c->bus, S_FLUSH, NULL, NULL, 1, 3, argv, NULL);
        free(owned); /* (the walk reads no key again) */
    }
    rtk_map_free(&c->flush);
    rtk_map_init(&c->flush);
}

/* A JOIN or LEAVE held the counters' notice of |meeting_id| back (|r|'s element |i| is 1):
 * this node sends it after COUNTERS_MS unless another did. */
static void counters_later(rtk_cluster *c, const char *meeting_id, const rtk_bus_reply *r,
                           size_t i)
{
    if (rtk_bus_reply_int_at(r, i, 0) != 1 || rtk_map_get(&c->flush, meeting_id) != NULL)
        return;
    char *k = rtk_xstrndup(meeting_id, strlen(meeting_id));
    rtk_map_put(&c->flush, k, k);
    if (!uv_is_active((uv_handle_t *)&c->flush_timer))
        uv_timer_start(&c->flush_timer, on_flush_timer, COUNTERS_MS + 10, 0);
}

static void publish_to(rtk_cluster *c, const char *chan, const char *msg)
{
    const char *argv[3] = {"PUBLISH", chan, msg};
    rtk_bus_cmd(c->bus, NULL, NULL, 3, argv, NULL);
}

static void on_joined(void *arg, int status, const rtk_bus_reply *r)
{
    join_ctx *j = arg;
    rtk_cluster *c = j->c;
    size_t len = 0;
    const char *what = rtk_bus_reply_str(rtk_bus_reply_at(r, 0), &len);
    if (status == 0 && what != NULL && len == 2 && memcmp(what, "ok", 2) == 0) {
        counters_later(c, j->meeting_id, r, 3);
        size_t nl = 0, pl = 0;
        const char *on = rtk_bus_reply_str(rtk_bus_reply_at(r, 1), &nl);
        const char *op = rtk_bus_reply_str(rtk_bus_reply_at(r, 2), &pl);
        if (on != NULL && nl > 0 && op != NULL && pl > 0 && pl < 37 &&
            !(nl == strlen(c->node) && memcmp(on, c->node, nl) == 0)) {
            /* The participant was live at another node: that peer goes (4002). */
            char chan[200], msg[100];
            snprintf(chan, sizeof(chan), "rtkd:n:%.*s", (int)nl, on);
            snprintf(msg, sizeof(msg), "r %s %.*s", j->participant_id, (int)pl, op);
            publish_to(c, chan, msg);
        }
    } else if (status == 0 && what != NULL && len == 5 && memcmp(what, "stale", 5) == 0) {
        /* The session ended at another node between the handshake and the join: this peer
         * reconnects into the next one. */
        rtk_live_cluster_close(c->live, j->participant_id, j->peer_id, RTK_LIVE_REFUSED);
    } else if (status == 0 && rtk_bus_reply_type(r) == RTK_BUS_ERR) {
        rtk_log(RTK_LOG_ERROR, "bus: join script: %s", rtk_bus_reply_str(r, NULL));
    }
    free(j);
}

/* A peer as the bus carries it in the lists (rtkd:r, rtkd:w and their news): compact JSON
 * {"peer_id","participant_id","custom_participant_id","name","picture","preset_name","t"}
 * (t: when it joined, or began to wait). The caller frees it. */
static char *view_json(const rtk_peer_view *p)
{
    rtk_jw w;
    char stack[512];
    rtk_jw_init(&w, stack, sizeof(stack));
    RTK_JW_LIT(&w, "{\"peer_id\":");
    rtk_jw_str(&w, p->peer_id);
    RTK_JW_LIT(&w, ",\"participant_id\":");
    rtk_jw_str(&w, p->participant_id);
    RTK_JW_LIT(&w, ",\"custom_participant_id\":");
    rtk_jw_str(&w, p->custom_id ? p->custom_id : "");
    RTK_JW_LIT(&w, ",\"name\":");
    rtk_jw_str(&w, p->name);
    RTK_JW_LIT(&w, ",\"picture\":");
    rtk_jw_str(&w, p->picture);
    RTK_JW_LIT(&w, ",\"preset_name\":");
    rtk_jw_str(&w, p->preset);
    RTK_JW_LIT(&w, ",\"t\":");
    rtk_jw_int(&w, p->joined_ms);
    RTK_JW_LIT(&w, "}");
    char *text = rtk_xstrndup(w.buf, w.len);
    rtk_jw_free(&w);
    return text;
}

/* The view in |j| (borrowing from it): 0, or -1 when it is not one. */
static int view_from_json(json_t *j, rtk_peer_view *v)
{
    memset(v, 0, sizeof(*v));
    v->peer_id = json_string_value(json_object_get(j, "peer_id"));
    v->participant_id = json_string_value(json_object_get(j, "participant_id"));
    v->custom_id = json_string_value(json_object_get(j, "custom_participant_id"));
    v->name = json_string_value(json_object_get(j, "name"));
    v->picture = json_string_value(json_object_get(j, "picture"));
    v->preset = json_string_value(json_object_get(j, "preset_name"));
    v->joined_ms = json_integer_value(json_object_get(j, "t"));
    if (v->custom_id == NULL)
        v->custom_id = "";
    return v->peer_id != NULL && v->participant_id != NULL ? 0 : -1;
}

static void send_join(rtk_cluster *c, const rtk_session_view *s, const rtk_peer_view *p, int64_t at)
{
    char ks[80], kp[80], knp[200], kr[80], at_s[24];
    key(ks, sizeof(ks), "s", s->meeting_id);
    key(kp, sizeof(kp), "p", s->meeting_id);
    key(knp, sizeof(knp), "np", c->node);
    key(kr, sizeof(kr), "r", s->meeting_id);
    fmt_i64(at_s, at);
    char *view = view_json(p);
    const char *argv[13] = {ks,    kp,      knp,    "rtkd:idle",     kr,
                            s->id, p->participant_id, p->peer_id, at_s, c->node,
                            s->meeting_id, view, p->hidden ? "0" : "1"};
    join_ctx *j = rtk_xcalloc(1, sizeof(*j));
    j->c = c;
    snprintf(j->participant_id, sizeof(j->participant_id), "%s", p->participant_id);
    snprintf(j->peer_id, sizeof(j->peer_id), "%s", p->peer_id);
    snprintf(j->meeting_id, sizeof(j->meeting_id), "%s", s->meeting_id);
    if (rtk_bus_script(c->bus, S_JOIN, on_joined, j, 5, 13, argv, NULL) != 0)
        free(j); /* the bus is down: republished when it is back */
    free(view);
}

static void on_left(void *arg, int status, const rtk_bus_reply *r)
{
    join_ctx *j = arg;
    size_t len = 0;
    const char *what = rtk_bus_reply_str(rtk_bus_reply_at(r, 0), &len);
    if (status == 0 && what != NULL && len == 2 && memcmp(what, "ok", 2) == 0)
        counters_later(j->c, j->meeting_id, r, 1);
    free(j);
}

static void send_leave(rtk_cluster *c, const rtk_session_view *s, const rtk_peer_view *p,
                       int64_t at)
{
    char ks[80], kp[80], knp[200], kr[80], at_s[24], now_s[24];
    key(ks, sizeof(ks), "s", s->meeting_id);
    key(kp, sizeof(kp), "p", s->meeting_id);
    key(knp, sizeof(knp), "np", c->node);
    key(kr, sizeof(kr), "r", s->meeting_id);
    fmt_i64(at_s, at);
    fmt_i64(now_s, rtk_time_now_ms());
    const char *argv[11] = {ks,    kp,   knp,           "rtkd:idle", kr,   s->id, p->participant_id,
                            p->peer_id, at_s, s->meeting_id, now_s};
    join_ctx *j = rtk_xcalloc(1, sizeof(*j));
    j->c = c;
    snprintf(j->meeting_id, sizeof(j->meeting_id), "%s", s->meeting_id);
    if (rtk_bus_script(c->bus, S_LEAVE, on_left, j, 5, 11, argv, NULL) != 0)
        free(j);
}

/* A peer begins (|in|) or ends its wait at this node. */
static void send_wait(rtk_cluster *c, const rtk_session_view *s, const rtk_peer_view *p, int in)
{
    char kw[80], knw[200];
    key(kw, sizeof(kw), "w", s->meeting_id);
    key(knw, sizeof(knw), "nw", c->node);
    if (!in) {
        const char *argv[5] = {kw, knw, p->participant_id, p->peer_id, s->meeting_id};
        rtk_bus_script(c->bus, S_WAIT_OUT, NULL, NULL, 2, 5, argv, NULL);
        return;
    }
    if (s->id[0] == '\0')
        return; /* (no share: a session the cluster ended) */
    char ks[80], kp[80];
    key(ks, sizeof(ks), "s", s->meeting_id);
    key(kp, sizeof(kp), "p", s->meeting_id);
    char *view = view_json(p);
    const char *argv[10] = {ks, kw, kp, knw, s->id, p->participant_id, p->peer_id, c->node,
                            s->meeting_id, view};
    rtk_bus_script(c->bus, S_WAIT_IN, NULL, NULL, 4, 10, argv, NULL);
    free(view);
}

/* Votes stored in one loop turn go to the other nodes in one notice per meeting (a commit
 * holds many): "V SID\n" then, per vote, "POLL PARTICIPANT OPTION NAMELEN NAME\n" (the name
 * as it is, any bytes). A notice is sent once it holds VBUF_MAX bytes, or at the turn's end. */
#define VBUF_MAX (48 * 1024)

typedef struct vbuf {
    struct vbuf *next;
    char chan[80];
    char *text;
    size_t len, cap;
} vbuf;

static void vbuf_send(rtk_cluster *c, vbuf *v)
{
    const char *argv[3] = {"PUBLISH", v->chan, v->text};
    size_t lens[3] = {7, strlen(v->chan), v->len};
    rtk_bus_cmd(c->bus, NULL, NULL, 3, argv, lens);
    free(v->text);
    free(v);
}

static void votes_flush(rtk_cluster *c)
{
    while (c->votes != NULL) {
        vbuf *v = c->votes;
        c->votes = v->next;
        vbuf_send(c, v);
    }
}

static void on_vote_turn(uv_timer_t *t)
{
    votes_flush(t->data);
}

static void vote_notice(rtk_cluster *c, const rtk_live_event *ev)
{
    char chan[80];
    key(chan, sizeof(chan), "m", ev->session->meeting_id);
    vbuf **pp = &c->votes;
    while (*pp != NULL && strcmp((*pp)->chan, chan) != 0)
        pp = &(*pp)->next;
    vbuf *v = *pp;
    /* one session per notice: a notice of another session of the meeting goes first */
    size_t sid_len = strlen(ev->session->id);
    if (v != NULL &&
        (v->len < 2 + sid_len || memcmp(v->text + 2, ev->session->id, sid_len) != 0)) {
        *pp = v->next;
        vbuf_send(c, v);
        v = NULL;
    }
    if (v == NULL) {
        v = rtk_xcalloc(1, sizeof(*v));
        snprintf(v->chan, sizeof(v->chan), "%s", chan);
        v->cap = 1024;
        v->text = rtk_xmalloc(v->cap);
        v->len = (size_t)snprintf(v->text, v->cap, "V %s\n", ev->session->id);
        v->next = c->votes;
        c->votes = v;
        if (!uv_is_active((uv_handle_t *)&c->vote_timer))
            uv_timer_start(&c->vote_timer, on_vote_turn, 0, 0);
    }
    const char *name = ev->name ? ev->name : "";
    size_t nlen = strlen(name);
    char head[160];
    int hl = snprintf(head, sizeof(head), "%s %s %d %zu ", ev->poll->id, ev->participant_id,
                      ev->option, nlen);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        return;
    size_t need = v->len + (size_t)hl + nlen + 2;
    if (need > v->cap) {
        while (v->cap < need)
            v->cap *= 2;
        v->text = rtk_xrealloc(v->text, v->cap);
    }
    memcpy(v->text + v->len, head, (size_t)hl);
    v->len += (size_t)hl;
    memcpy(v->text + v->len, name, nlen);
    v->len += nlen;
    v->text[v->len++] = '\n';
    v->text[v->len] = '\0';
    if (v->len >= VBUF_MAX) {
        for (pp = &c->votes; *pp != v; pp = &(*pp)->next)
            ;
        *pp = v->next;
        vbuf_send(c, v);
    }
}

/* A notice of votes from another node: each is counted here. */
static void on_votes_message(rtk_cluster *c, const char *mid, const char *text, size_t len)
{
    const char *end = text + len, *nl = memchr(text, '\n', len);
    char sid[40];
    if (nl == NULL || nl == text || (size_t)(nl - text) >= sizeof(sid))
        return;
    memcpy(sid, text, (size_t)(nl - text));
    sid[nl - text] = '\0';
    const char *p = nl + 1;
    while (p < end) {
        char poll[40], pid[40], head[128];
        int option = 0, used = 0;
        size_t nlen = 0;
        size_t hl = (size_t)(end - p) < sizeof(head) - 1 ? (size_t)(end - p) : sizeof(head) - 1;
        memcpy(head, p, hl);
        head[hl] = '\0';
        if (sscanf(head, "%39s %39s %d %zu %n", poll, pid, &option, &nlen, &used) != 4 ||
            used <= 0 || (size_t)used > hl || nlen >= (size_t)(end - p) ||
            nlen + 1 > (size_t)(end - p) - (size_t)used ||
            p[used + nlen] != '\n')
            return; /* not a notice of ours: the rest is ignored */
        char *name = nlen ? rtk_xstrndup(p + used, nlen) : NULL;
        p += (size_t)used + nlen + 1;
        rtk_live_cluster_vote(c->live, mid, sid, poll, pid, option, name);
        free(name);
    }
}

static void on_event(void *arg, const rtk_live_event *ev)
{
    rtk_cluster *c = arg;
    if (c->remote)
        return;
    char chan[80];
    switch (ev->type) {
    case RTK_LIVE_EV_JOINED:
        key(chan, sizeof(chan), "m", ev->session->meeting_id);
        rtk_bus_hold(c->bus, chan);
        send_join(c, ev->session, ev->peer, ev->at_ms);
        break;
    case RTK_LIVE_EV_LEFT:
        key(chan, sizeof(chan), "m", ev->session->meeting_id);
        rtk_bus_release(c->bus, chan);
        send_leave(c, ev->session, ev->peer, ev->at_ms);
        break;
    case RTK_LIVE_EV_LEFT_IN_BULK: /* a session's end here: Redis has forgotten it already */
        key(chan, sizeof(chan), "m", ev->session->meeting_id);
        rtk_bus_release(c->bus, chan);
        break;
    case RTK_LIVE_EV_WAITING: /* it hears the session's news (its end, 4004) while it waits */
        key(chan, sizeof(chan), "m", ev->session->meeting_id);
        rtk_bus_hold(c->bus, chan);
        send_wait(c, ev->session, ev->peer, 1);
        break;
    case RTK_LIVE_EV_WAIT_OUT:
        key(chan, sizeof(chan), "m", ev->session->meeting_id);
        rtk_bus_release(c->bus, chan);
        send_wait(c, ev->session, ev->peer, 0);
        break;
    case RTK_LIVE_EV_VOTE_STORED:
        vote_notice(c, ev);
        break;
    default: break;
    }
}

/* ---- what happens elsewhere comes from Redis ---- */

static void ack_to(rtk_cluster *c, const char *origin, const char *req);
static void on_ack(rtk_cluster *c, const char *req);
static void on_poll_message(rtk_cluster *c, const char *mid, const char *text, size_t len);

/* A list entry "SID NODE JSON" (|waiting|: of the waiting room) or a stored value "PEER NODE
 * JSON" (|sid| given): another node's peer joins this node's lists. */
static void list_entry(rtk_cluster *c, const char *mid, const char *sid, int waiting,
                       const char *text, size_t len)
{
    const char *sp1 = memchr(text, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - text)) : NULL;
    if (sp1 == NULL || sp2 == NULL)
        return;
    char first[40], node[128];
    size_t fl = (size_t)(sp1 - text), nl = (size_t)(sp2 - sp1 - 1);
    if (fl == 0 || fl >= sizeof(first) || nl == 0 || nl >= sizeof(node))
        return;
    memcpy(first, text, fl);
    first[fl] = '\0';
    memcpy(node, sp1 + 1, nl);
    node[nl] = '\0';
    if (strcmp(node, c->node) == 0 || !rtk_live_cluster_mirrors(c->live, mid, waiting))
        return; /* this node's own (in its lists already), or a list nobody here sees */
    json_t *j = json_loadb(sp2 + 1, len - (size_t)(sp2 + 1 - text), 0, NULL);
    rtk_peer_view v;
    if (j != NULL && view_from_json(j, &v) == 0)
        rtk_live_cluster_listed(c->live, mid, sid != NULL ? sid : first, waiting, &v);
    json_decref(j);
}

/* On rtkd:m:MID: "c SID LIVE PEAK CLOSED SUMJ SEEN" counters, "e SID" ended, "x SID REQ ORIGIN"
 * kicked-all. On our channel: "r PID PEER" replaced, "k REQ ORIGIN PID PEER" kicked, "a REQ"
 * a node did what REQ asked. */
static void on_message(void *arg, const char *chan, size_t chan_len, const char *msg,
                       size_t msg_len)
{
    rtk_cluster *c = arg;
    char buf[512], mid[40], req[200], origin[160];
    /* A meeting's channel (rtkd:m:MID) or its lists' (rtkd:l:MID): |kind| 'm' or 'l'. */
    char kind = 0;
    if (chan_len > 7 && chan_len - 7 < sizeof(mid) && memcmp(chan, "rtkd:", 5) == 0 &&
        (chan[5] == 'm' || chan[5] == 'l') && chan[6] == ':') {
        kind = chan[5];
        memcpy(mid, chan + 7, chan_len - 7);
        mid[chan_len - 7] = '\0';
    }
    if (kind == 'm' && msg_len > 2 && (msg[0] == 'p' || msg[0] == 'V') && msg[1] == ' ') {
        /* (a poll or a notice of votes: longer than the other messages) */
        if (msg[0] == 'p')
            on_poll_message(c, mid, msg + 2, msg_len - 2);
        else
            on_votes_message(c, mid, msg + 2, msg_len - 2);
        return;
    }
    if (kind == 'l') {
        /* the lists' news: "rj|wj SID NODE VIEW" joined, "rl|wl PEER" left */
        char peer_id[40];
        if (msg_len > 3 && (msg[0] == 'r' || msg[0] == 'w') && msg[1] == 'j' && msg[2] == ' ') {
            list_entry(c, mid, NULL, msg[0] == 'w', msg + 3, msg_len - 3);
        } else if (msg_len > 3 && msg_len < 64 && (msg[0] == 'r' || msg[0] == 'w') &&
                   msg[1] == 'l' && msg[2] == ' ') {
            memcpy(peer_id, msg + 3, msg_len - 3 < 39 ? msg_len - 3 : 39);
            peer_id[msg_len - 3 < 39 ? msg_len - 3 : 39] = '\0';
            rtk_live_cluster_unlisted(c->live, mid, peer_id);
        }
        return;
    }
    if (msg_len >= sizeof(buf) || chan_len < 8)
        return;
    memcpy(buf, msg, msg_len);
    buf[msg_len] = '\0';
    if (chan_len == strlen(c->node_chan) && memcmp(chan, c->node_chan, chan_len) == 0) {
        char pid[40], peer[40];
        if (sscanf(buf, "r %39s %39s", pid, peer) == 2) {
            rtk_live_cluster_close(c->live, pid, peer, RTK_LIVE_REPLACED);
        } else if (sscanf(buf, "k %199s %159s %39s %39s", req, origin, pid, peer) == 4) {
            rtk_live_cluster_close(c->live, pid, peer, RTK_LIVE_KICKED);
            ack_to(c, origin, req);
        } else if (sscanf(buf, "a %199s", req) == 1) {
            on_ack(c, req);
        } else if ((buf[0] == 'w' && (buf[1] == 'a' || buf[1] == 'f')) &&
                   sscanf(buf + 2, " %39s %39s %39s", mid, pid, peer) == 3) {
            rtk_live_cluster_decide(c->live, pid, peer, buf[1] == 'a');
        }
        return;
    }
    if (chan_len == 10 && memcmp(chan, "rtkd:hooks", 10) == 0) {
        char app[40];
        if (sscanf(buf, "h %39s", app) == 1 && c->hooks_fn != NULL)
            c->hooks_fn(c->hooks_arg, app);
        return;
    }
    if (kind != 'm')
        return;
    char sid[40];
    long long v[5];
    if (sscanf(buf, "c %39s %lld %lld %lld %lld %lld", sid, &v[0], &v[1], &v[2], &v[3], &v[4]) ==
        6) {
        rtk_live_cluster_counters(c->live, mid, sid, v[0], v[1], v[2], v[3], v[4]);
    } else if (strncmp(buf, "v ", 2) == 0) {
        char poll[40], pid[40];
        int option, used = 0;
        if (sscanf(buf, "v %39s %39s %39s %d %n", sid, poll, pid, &option, &used) == 4 && used > 0)
            rtk_live_cluster_vote(c->live, mid, sid, poll, pid, option,
                                  buf[used] != '\0' ? buf + used : NULL);
    } else if (sscanf(buf, "e %39s", sid) == 1) {
        rtk_session_view sv = {.id = sid, .meeting_id = mid, .ended = 1};
        sv.ended_ms = rtk_time_now_ms();
        rtk_live_cluster_ended(c->live, &sv, RTK_LIVE_END_KEEPALIVE, 0);
    } else if (sscanf(buf, "x %39s %199s %159s", sid, req, origin) == 3 &&
               strcmp(origin, c->node) != 0) {
        /* A kick-all decided at another node: our share ends, and we say so. */
        rtk_session_view sv = {.id = sid, .meeting_id = mid, .ended = 1};
        sv.ended_ms = rtk_time_now_ms();
        rtk_live_cluster_ended(c->live, &sv, RTK_LIVE_END_KICK_ALL, 0);
        ack_to(c, origin, req);
    }
}

/* The SESSION script for |meeting_id|: its session, or |sid| begun at |started| (ms) with
 * keep-alive |ka| (ms). */
static int session_script(rtk_cluster *c, const char *meeting_id, const char *sid,
                          const char *app_id, int64_t started, const char *participant_id,
                          int64_t ka, const char *title, const char *how, rtk_bus_cb cb,
                          void *arg)
{
    char ks[80], kk[80], ka_[80], kf[80], at[24], ka_s[24];
    key(ks, sizeof(ks), "s", meeting_id);
    key(kk, sizeof(kk), "k", meeting_id);
    key(ka_, sizeof(ka_), "a", meeting_id);
    key(kf, sizeof(kf), "f", meeting_id);
    fmt_i64(at, started);
    fmt_i64(ka_s, ka);
    const char *argv[13] = {ks,  kk,     "rtkd:idle",    ka_,  kf,         sid,
                            app_id, at, participant_id, ka_s, meeting_id, title ? title : "",
                            how};
    return rtk_bus_script(c->bus, S_SESSION, cb, arg, 5, 13, argv, NULL);
}

static void republish_one(void *arg, const rtk_session_view *s, const rtk_peer_view *p)
{
    rtk_cluster *c = arg;
    /* Recreates the session as this node knew it if Redis lost it; a no-op otherwise. */
    session_script(c, s->meeting_id, s->id, s->app_id, s->started_ms, p->participant_id, 0,
                   s->title, "r", NULL, NULL);
    send_join(c, s, p, p->joined_ms);
}

static void republish_waiting(void *arg, const rtk_session_view *s, const rtk_peer_view *p)
{
    send_wait(arg, s, p, 1);
}

static void on_lease(void *arg, int status, const rtk_bus_reply *r)
{
    rtk_cluster *c = arg;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY) {
        if (status == 0)
            rtk_log(RTK_LOG_ERROR, "bus: lease script: %s", rtk_bus_reply_str(r, NULL));
        return;
    }
    size_t n = rtk_bus_reply_len(r) / LEASE_FIELDS;
    for (size_t i = 0; i < n; i++) {
        const char *f[LEASE_FIELDS];
        char cp[LEASE_FIELDS][40];
        for (size_t k = 0; k < LEASE_FIELDS; k++) {
            rtk_bus_reply_copy_at(r, i * LEASE_FIELDS + k, cp[k], sizeof(cp[k]));
            f[k] = cp[k];
        }
        if (strcmp(f[11], "1") != 0)
            continue; /* our own, republished: their leaves were stored as they happened */
        /* The peer as it joined (its view, kept with the node's peers): its webhook says who. */
        size_t vlen = 0;
        const char *vtext = rtk_bus_reply_str(rtk_bus_reply_at(r, i * LEASE_FIELDS + 12), &vlen);
        json_t *vj = vtext != NULL && vlen > 0 ? json_loadb(vtext, vlen, 0, NULL) : NULL;
        rtk_session_view sv = {
            .id = f[1],
            .meeting_id = f[0],
            .app_id = f[2],
            .started_ms = strtoll(f[3], NULL, 10),
            .live = strtoll(f[8], NULL, 10),
            .peak = strtoll(f[9], NULL, 10),
            .closed_ms = strtoll(f[10], NULL, 10),
        };
        sv.updated_ms = sv.seen_ms = rtk_time_now_ms();
        rtk_peer_view pv = {.peer_id = f[5], .participant_id = f[4], .custom_id = ""};
        rtk_peer_view told;
        if (vj != NULL && view_from_json(vj, &told) == 0 && strcmp(told.peer_id, f[5]) == 0) {
            pv.custom_id = told.custom_id;
            pv.name = told.name;
            pv.picture = told.picture;
            pv.preset = told.preset;
        }
        pv.joined_ms = strtoll(f[6], NULL, 10);
        c->remote = 1;
        rtk_live_cluster_left(c->live, &sv, &pv, strtoll(f[7], NULL, 10));
        c->remote = 0;
        json_decref(vj);
        rtk_log(RTK_LOG_INFO, "bus: peer %s of a lost node left meeting %s", f[5], f[0]);
    }
}

static void on_reaped(void *arg, int status, const rtk_bus_reply *r)
{
    rtk_cluster *c = arg;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY)
        return;
    size_t n = rtk_bus_reply_len(r) / REAP_FIELDS;
    int64_t now = rtk_time_now_ms();
    for (size_t i = 0; i < n; i++) {
        char cp[REAP_FIELDS][40], title[1024];
        for (size_t k = 0; k < REAP_FIELDS; k++)
            rtk_bus_reply_copy_at(r, i * REAP_FIELDS + k, cp[k], sizeof(cp[k]));
        rtk_bus_reply_copy_at(r, i * REAP_FIELDS + 6, title, sizeof(title));
        rtk_session_view sv = {
            .title = title,
            .id = cp[1],
            .meeting_id = cp[0],
            .app_id = cp[2],
            .started_ms = strtoll(cp[3], NULL, 10),
            .peak = strtoll(cp[4], NULL, 10),
            .closed_ms = strtoll(cp[5], NULL, 10),
            .ended = 1,
        };
        sv.ended_ms = sv.updated_ms = sv.seen_ms = now;
        sv.minutes = (double)sv.closed_ms / 60000.0;
        /* This node decided it: it alone tells SESSION_ENDED. */
        rtk_live_cluster_ended(c->live, &sv, RTK_LIVE_END_KEEPALIVE, 1);
    }
}

static void ops_expire(rtk_cluster *c, int64_t now);

static void set_sender(rtk_cluster *c, int on)
{
    if (c->sender == on)
        return;
    c->sender = on;
    if (c->sender_fn != NULL)
        c->sender_fn(c->sender_arg, on);
}

static void on_sender(void *arg, int status, const rtk_bus_reply *r)
{
    rtk_cluster *c = arg;
    if (!c->stopping)
        set_sender(c, status == 0 && rtk_bus_reply_int(r) == 1);
}

static void on_timer(uv_timer_t *t)
{
    rtk_cluster *c = t->data;
    ops_expire(c, rtk_time_now_ms());
    if (!rtk_bus_up(c->bus) || c->stopping) {
        set_sender(c, 0); /* it cannot renew: another node takes over when it runs out */
        return;
    }
    if (c->sender_fn != NULL) {
        char ttl[24];
        fmt_i64(ttl, (int64_t)c->lease_ms);
        const char *sargv[4] = {"rtkd:hook-sender", c->node, ttl, "0"};
        rtk_bus_script(c->bus, S_SENDER, on_sender, c, 1, 4, sargv, NULL);
    }
    char now_s[24], lease_s[24];
    fmt_i64(now_s, rtk_time_now_ms());
    fmt_i64(lease_s, (int64_t)c->lease_ms);
    const char *largv[6] = {"rtkd:nodes", "rtkd:idle", c->node,
                            now_s,        lease_s,     c->reset ? "1" : "0"};
    if (rtk_bus_script(c->bus, S_LEASE, on_lease, c, 2, 6, largv, NULL) == 0 && c->reset) {
        c->reset = 0;
        rtk_live_each_peer(c->live, republish_one, c);
        rtk_live_each_waiting(c->live, republish_waiting, c);
    }
    const char *rargv[2] = {"rtkd:idle", now_s};
    rtk_bus_script(c->bus, S_REAP, on_reaped, c, 1, 2, rargv, NULL);
}

static void on_state(void *arg, int up)
{
    rtk_cluster *c = arg;
    if (up) {
        /* What this node holds goes back into Redis (which may have lost it, or missed our
         * leaves while we could not reach it), in the next renewal; news of webhook writes
         * may have been missed meanwhile. */
        c->reset = 1;
        if (c->hooks_fn != NULL && c->was_up)
            c->hooks_fn(c->hooks_arg, NULL);
        c->was_up = 1;
        on_timer(&c->timer);
    }
}

/* ---- the handshake's session ---- */

typedef struct session_ctx {
    rtk_cluster_session_cb cb;
    void *arg;
} session_ctx;

static void on_session(void *arg, int status, const rtk_bus_reply *r)
{
    session_ctx *s = arg;
    rtk_cluster_sess out;
    memset(&out, 0, sizeof(out));
    if (status == 0 && rtk_bus_reply_type(r) == RTK_BUS_ARRAY && rtk_bus_reply_len(r) >= 9) {
        size_t len = rtk_bus_reply_copy_at(r, 0, out.id, sizeof(out.id));
        if (len > 0 && len < sizeof(out.id)) {
            out.started_ms = rtk_bus_reply_int_at(r, 1, 0);
            out.created = rtk_bus_reply_int_at(r, 2, 0) == 1;
            out.kicked = rtk_bus_reply_int_at(r, 3, 0) == 1;
            out.admitted = rtk_bus_reply_int_at(r, 9, 0) == 1;
            out.refused = rtk_bus_reply_int_at(r, 10, 0) == 1;
            out.starter = rtk_bus_reply_int_at(r, 11, 0) == 1;
            for (int i = 0; i < 5; i++)
                out.counters[i] = rtk_bus_reply_int_at(r, 4 + (size_t)i, 0);
            s->cb(s->arg, 0, &out);
            free(s);
            return;
        }
    }
    if (status == 0)
        rtk_log(RTK_LOG_ERROR, "bus: session script: %s",
                rtk_bus_reply_type(r) == RTK_BUS_ERR ? rtk_bus_reply_str(r, NULL) : "bad reply");
    s->cb(s->arg, RTK_EUNAVAIL, NULL);
    free(s);
}

int rtk_cluster_session(rtk_cluster *c, const char *app_id, const char *meeting_id,
                        const char *title, const char *participant_id, int64_t keep_alive_s,
                        int waiting, rtk_cluster_session_cb cb, void *arg)
{
    char sid[37];
    rtk_id_uuid4(sid);
    session_ctx *s = rtk_xcalloc(1, sizeof(*s));
    s->cb = cb;
    s->arg = arg;
    const char *how = waiting == RTK_WAIT_ON_PRIVILEGED    ? "w"
                      : waiting == RTK_WAIT_SKIP_ON_ACCEPT ? "a"
                                                           : "s";
    int rc = session_script(c, meeting_id, sid, app_id, rtk_time_now_ms(), participant_id,
                            keep_alive_s * 1000, title, how, on_session, s);
    if (rc != 0) {
        free(s);
        return RTK_EUNAVAIL;
    }
    return 0;
}

/* ---- the REST view ---- */

typedef struct active_ctx {
    rtk_cluster_view_cb cb;
    void *arg;
    char mid[40];
} active_ctx;

static void on_active(void *arg, int status, const rtk_bus_reply *r)
{
    active_ctx *a = arg;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY || rtk_bus_reply_len(r) < 8) {
        a->cb(a->arg, RTK_EUNAVAIL, NULL);
        free(a);
        return;
    }
    char id[37], app_id[37];
    size_t len = rtk_bus_reply_copy_at(r, 0, id, sizeof(id));
    size_t alen = rtk_bus_reply_copy_at(r, 1, app_id, sizeof(app_id));
    if (len == 0 || len >= sizeof(id) || alen == 0 || alen >= sizeof(app_id) ||
        rtk_bus_reply_int_at(r, 7, 0) != 1) { /* none, or not joined yet */
        a->cb(a->arg, RTK_ENOTFOUND, NULL);
        free(a);
        return;
    }
    int64_t now = rtk_time_now_ms();
    rtk_session_view v = {.id = id, .meeting_id = a->mid, .app_id = app_id};
    v.started_ms = rtk_bus_reply_int_at(r, 2, 0);
    v.live = rtk_bus_reply_int_at(r, 3, 0);
    v.peak = rtk_bus_reply_int_at(r, 4, 0);
    v.closed_ms = rtk_bus_reply_int_at(r, 5, 0);
    int64_t sumj = rtk_bus_reply_int_at(r, 6, 0);
    v.seen_ms = v.updated_ms = now;
    v.minutes = (double)(v.closed_ms + v.live * (now - v.started_ms) - sumj) / 60000.0;
    a->cb(a->arg, 0, &v);
    free(a);
}

int rtk_cluster_active(rtk_cluster *c, const char *meeting_id, rtk_cluster_view_cb cb, void *arg)
{
    char ks[80];
    key(ks, sizeof(ks), "s", meeting_id);
    const char *argv[10] = {"HMGET", ks,     "sid",    "app",  "started",
                            "live",  "peak", "closed", "sumj", "stored"};
    active_ctx *a = rtk_xcalloc(1, sizeof(*a));
    a->cb = cb;
    a->arg = arg;
    snprintf(a->mid, sizeof(a->mid), "%s", meeting_id);
    if (rtk_bus_cmd(c->bus, on_active, a, 10, argv, NULL) != 0) {
        free(a);
        return RTK_EUNAVAIL;
    }
    return 0;
}

/* A client's ref kept for a later answer (at most 64 bytes, as live keeps them): 1 if any. */
static int keep_ref(char buf[65], size_t *len, const char *ref, size_t ref_len)
{
    *len = ref == NULL ? 0 : ref_len < 64 ? ref_len : 64;
    if (*len > 0)
        memcpy(buf, ref, *len);
    return ref != NULL;
}

/* ---- kicks and kick-alls, decided here for the whole cluster ---- */

#define KICK_ACK_MS 2000

typedef struct kop {
    struct kop *next;
    rtk_cluster *c;
    int all;
    char mid[40], sid[40], app[40], title[1024];
    int64_t started_ms, peak, closed_ms, live, sumj;
    size_t n;
    char (*ids)[40];
    int *was_live;
    int64_t count;
    /* this node's own peers to close after the answer (a host hears `done` first) */
    char (*local)[2][40];
    size_t nlocal;
    int local_share; /* kick-all: this node has peers in the session (until they are closed) */
    int answered;    /* a host's kick-all: `done` went before this node's closes */
    char req[200];
    size_t acks_left;
    int64_t deadline;
    int answer_last; /* a REST call: answered after even this node's peers are closed */
    /* a host's session.kick_all: its peer, answered `done` before its `kicked` */
    char sender_participant[40], sender_peer[40], ref[65];
    size_t ref_len;
    int has_ref;
    rtk_cluster_kick_cb kcb;
    rtk_cluster_count_cb acb;
    void *arg;
} kop;

static void kop_free(kop *o)
{
    free(o->ids);
    free(o->was_live);
    free(o->local);
    free(o);
}

static void kop_answer(kop *o, int status)
{
    if (o->all && o->acb == NULL) { /* a host's session.kick_all on the channel */
        rtk_peer *p = rtk_live_peer_find(o->c->live, o->sender_participant, o->sender_peer);
        if (p == NULL) {
            return;
        } else if (status != 0) {
            rtk_live_reject(o->c->live, p, "unavailable",
                            status == RTK_ENOTFOUND ? "The session has ended; nothing was done"
                                                    : "The kick-all could not be done; try again",
                            o->has_ref ? o->ref : NULL, o->ref_len);
        } else {
            rtk_live_send_done_rows(o->c->live, p, "kick_all", o->ids[0], sizeof(o->ids[0]), o->n,
                                    o->has_ref ? o->ref : NULL, o->ref_len);
        }
    } else if (o->all) {
        o->acb(o->arg, status, o->count);
    } else {
        o->kcb(o->arg, status, status == 0 ? o->was_live : NULL);
    }
}

static void on_answer_turn(uv_timer_t *t)
{
    rtk_cluster *c = t->data;
    kop *o;
    while ((o = c->answers) != NULL) {
        c->answers = o->next;
        kop_answer(o, 0);
        kop_free(o);
    }
}

/* Everyone that had to close a peer did (or the time is up): our own peers too, and the
 * answer. A channel's host hears `done` first (it may have kicked itself); a REST call's
 * reply waits for the next loop turn, when this turn's close frames are written. */
/* A kick-all's end of this node's share (its peers get kicked and 4001). */
static void kop_end_share(kop *o)
{
    if (!o->all || !o->local_share)
        return;
    o->local_share = 0;
    rtk_session_view v = {.id = o->sid, .meeting_id = o->mid, .app_id = o->app, .ended = 1};
    v.ended_ms = rtk_time_now_ms();
    rtk_live_cluster_ended(o->c->live, &v, RTK_LIVE_END_KICK_ALL, 0);
}

static void kop_finish(kop *o)
{
    rtk_cluster *c = o->c;
    for (kop **pp = &c->ops; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    }
    if (!o->answer_last && !o->answered)
        kop_answer(o, 0);
    kop_end_share(o);
    for (size_t i = 0; i < o->nlocal; i++)
        rtk_live_cluster_close(c->live, o->local[i][0], o->local[i][1], RTK_LIVE_KICKED);
    if (!o->answer_last) {
        kop_free(o);
        return;
    }
    o->next = c->answers;
    c->answers = o;
    uv_timer_start(&c->answer_timer, on_answer_turn, 0, 0);
}

static void kop_wait(kop *o)
{
    if (o->acks_left == 0) {
        kop_finish(o);
        return;
    }
    o->deadline = rtk_time_now_ms() + KICK_ACK_MS;
    o->next = o->c->ops;
    o->c->ops = o;
}

static void on_ack(rtk_cluster *c, const char *req)
{
    for (kop *o = c->ops; o != NULL; o = o->next) {
        if (strcmp(o->req, req) == 0) {
            if (--o->acks_left == 0)
                kop_finish(o);
            return;
        }
    }
}

static void ops_expire(rtk_cluster *c, int64_t now)
{
    for (kop *o = c->ops, *next; o != NULL; o = next) {
        next = o->next;
        if (now >= o->deadline || c->stopping)
            kop_finish(o);
    }
}

static void ack_to(rtk_cluster *c, const char *origin, const char *req)
{
    char chan[200], msg[256];
    snprintf(chan, sizeof(chan), "rtkd:n:%s", origin);
    snprintf(msg, sizeof(msg), "a %s", req);
    publish_to(c, chan, msg);
}

static void on_kicked_out(void *arg, int status, const rtk_bus_reply *r)
{
    kop *o = arg;
    rtk_cluster *c = o->c;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY) {
        /* Stored, but the bus failed: the peers stay until their node hears it (unknown). */
        kop_answer(o, RTK_EUNAVAIL);
        kop_free(o);
        return;
    }
    size_t n = rtk_bus_reply_len(r) / 4;
    o->local = rtk_xcalloc(n ? n : 1, sizeof(*o->local));
    for (size_t i = 0; i < n; i++) {
        char f[4][40];
        for (size_t k = 0; k < 4; k++)
            rtk_bus_reply_copy_at(r, 4 * i + k, f[k], sizeof(f[k]));
        for (size_t k = 0; k < o->n; k++) /* 1: a live peer, 2: a waiting one (as live's) */
            if (strcmp(o->ids[k], f[0]) == 0 && o->was_live[k] != 1)
                o->was_live[k] = f[3][0] == '2' ? 2 : 1;
        if (strcmp(f[1], c->node) == 0) {
            memcpy(o->local[o->nlocal][0], f[0], 40);
            memcpy(o->local[o->nlocal++][1], f[2], 40);
        } else {
            char chan[200], msg[512];
            snprintf(chan, sizeof(chan), "rtkd:n:%s", f[1]);
            snprintf(msg, sizeof(msg), "k %s %s %s %s", o->req, c->node, f[0], f[2]);
            publish_to(c, chan, msg);
            o->acks_left++;
        }
    }
    kop_wait(o);
}

static void on_ended_out(void *arg, int status, const rtk_bus_reply *r)
{
    kop *o = arg;
    rtk_cluster *c = o->c;
    long long count = rtk_bus_reply_int_at(r, 0, -1);
    if (status != 0 || count < 0) {
        kop_answer(o, status != 0 ? RTK_EUNAVAIL : RTK_ENOTFOUND);
        kop_free(o);
        return;
    }
    o->count = count;
    size_t nnodes = (size_t)rtk_bus_reply_int_at(r, 1, 0), total = rtk_bus_reply_len(r);
    for (size_t i = 2; i < 2 + nnodes && i < total; i++) {
        size_t len = 0;
        const char *n = rtk_bus_reply_str(rtk_bus_reply_at(r, i), &len);
        if (n != NULL && len == strlen(c->node) && memcmp(n, c->node, len) == 0)
            o->local_share = 1;
        else if (n != NULL)
            o->acks_left++;
    }
    /* A host's kick-all: its `done` lists the participants that had a live peer. */
    size_t first = 2 + nnodes, n = total > first ? total - first : 0;
    o->ids = rtk_xcalloc(n ? n : 1, sizeof(*o->ids));
    for (size_t i = 0; i < n; i++)
        rtk_bus_reply_copy_at(r, first + i, o->ids[o->n++], sizeof(o->ids[0]));
    /* This node's share ends now, while the other nodes end theirs, not after their answers
     * (a host here hears `done` first: it is kicked too; a REST reply still waits for all). */
    if (!o->answer_last && o->local_share) {
        kop_answer(o, 0);
        o->answered = 1;
    }
    kop_end_share(o);
    kop_wait(o);
}

/* The kicks (or the end) are stored: Redis next. */
static void on_kop_stored(void *arg, int status)
{
    kop *o = arg;
    rtk_cluster *c = o->c;
    char ks[80], kp[80], kk[80], kr[80], kw[80], ka[80], kf[80], now_s[24];
    key(ks, sizeof(ks), "s", o->mid);
    key(kp, sizeof(kp), "p", o->mid);
    key(kk, sizeof(kk), "k", o->mid);
    key(kr, sizeof(kr), "r", o->mid);
    key(kw, sizeof(kw), "w", o->mid);
    key(ka, sizeof(ka), "a", o->mid);
    key(kf, sizeof(kf), "f", o->mid);
    fmt_i64(now_s, rtk_time_now_ms());
    int rc = status;
    if (rc == 0 && o->all) {
        const char *argv[12] = {ks,     kp,     kk,     "rtkd:idle", kr,    kw,
                                ka,     kf,     o->sid, o->mid,      o->req, c->node};
        rc = rtk_bus_script(c->bus, S_KICK_ALL, on_ended_out, o, 8, 12, argv, NULL);
    } else if (rc == 0) {
        size_t argc = 8 + o->n;
        const char **argv = rtk_xcalloc(argc, sizeof(*argv));
        argv[0] = ks;
        argv[1] = kp;
        argv[2] = kk;
        argv[3] = "rtkd:idle";
        argv[4] = kw;
        argv[5] = o->sid;
        argv[6] = now_s;
        argv[7] = o->mid;
        for (size_t i = 0; i < o->n; i++)
            argv[8 + i] = o->ids[i];
        rc = rtk_bus_script(c->bus, S_KICK, on_kicked_out, o, 5, (int)argc, argv, NULL);
        free(argv);
    }
    if (rc != 0) {
        kop_answer(o, RTK_EUNAVAIL);
        kop_free(o);
    }
}

/* The meeting's live session is read: the kicks (or the end) go to the store. */
static void on_kop_session(void *arg, int status, const rtk_bus_reply *r)
{
    kop *o = arg;
    rtk_cluster *c = o->c;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY) {
        kop_answer(o, RTK_EUNAVAIL);
        kop_free(o);
        return;
    }
    size_t len = rtk_bus_reply_copy_at(r, 0, o->sid, sizeof(o->sid));
    size_t alen = rtk_bus_reply_copy_at(r, 1, o->app, sizeof(o->app));
    if (len == 0 || len >= sizeof(o->sid) || alen == 0 || alen >= sizeof(o->app) ||
        rtk_bus_reply_int_at(r, 7, 0) != 1) {
        kop_answer(o, RTK_ENOTFOUND);
        kop_free(o);
        return;
    }
    rtk_bus_reply_copy_at(r, 8, o->title, sizeof(o->title));
    o->started_ms = rtk_bus_reply_int_at(r, 2, 0);
    o->live = rtk_bus_reply_int_at(r, 3, 0);
    o->peak = rtk_bus_reply_int_at(r, 4, 0);
    o->closed_ms = rtk_bus_reply_int_at(r, 5, 0);
    o->sumj = rtk_bus_reply_int_at(r, 6, 0);
    int64_t now = rtk_time_now_ms();
    rtk_session_view v = {.id = o->sid,
                          .meeting_id = o->mid,
                          .app_id = o->app,
                          .title = o->title,
                          .started_ms = o->started_ms,
                          .peak = o->peak,
                          .live = o->live};
    v.updated_ms = v.seen_ms = now;
    v.closed_ms = o->closed_ms + o->live * (now - o->started_ms) - o->sumj;
    v.minutes = (double)v.closed_ms / 60000.0;
    c->remote = 1;
    if (o->all) {
        /* Stored as a single node's kick-all is: the end, every open peer leaving with it. */
        v.ended = 1;
        v.ended_ms = now;
        v.live = 0;
        rtk_live_event ev = {.type = RTK_LIVE_EV_SESSION_ENDED,
                             .reason = RTK_LIVE_END_KICK_ALL,
                             .all_left = 1,
                             .at_ms = now,
                             .session = &v,
                             .done = on_kop_stored,
                             .done_arg = o};
        rtk_live_cluster_tell(c->live, &ev);
    } else {
        for (size_t i = 0; i < o->n; i++) {
            rtk_live_event ev = {
                .type = RTK_LIVE_EV_KICK, .at_ms = now, .session = &v, .participant_id = o->ids[i]};
            if (i + 1 == o->n) {
                ev.done = on_kop_stored;
                ev.done_arg = o;
            }
            rtk_live_cluster_tell(c->live, &ev);
        }
    }
    c->remote = 0;
}

static kop *kop_new(rtk_cluster *c, const char *meeting_id, int all, int answer_last)
{
    kop *o = rtk_xcalloc(1, sizeof(*o));
    o->c = c;
    o->all = all;
    o->answer_last = answer_last;
    snprintf(o->mid, sizeof(o->mid), "%s", meeting_id);
    return o;
}

static int kop_start(kop *o)
{
    rtk_cluster *c = o->c;
    snprintf(o->req, sizeof(o->req), "%s-%llu", c->node_tag, (unsigned long long)++c->next_req);
    char ks[80];
    key(ks, sizeof(ks), "s", o->mid);
    const char *argv[11] = {"HMGET", ks,       "sid",  "app",    "started", "live",
                            "peak",  "closed", "sumj", "stored", "title"};
    if (rtk_bus_cmd(c->bus, on_kop_session, o, 11, argv, NULL) != 0) {
        kop_free(o);
        return RTK_EUNAVAIL;
    }
    return 0;
}

int rtk_cluster_kick(rtk_cluster *c, const char *meeting_id, const char *const *ids, size_t n,
                     int answer_last, rtk_cluster_kick_cb cb, void *arg)
{
    kop *o = kop_new(c, meeting_id, 0, answer_last);
    o->n = n;
    o->ids = rtk_xcalloc(n ? n : 1, sizeof(*o->ids));
    o->was_live = rtk_xcalloc(n ? n : 1, sizeof(*o->was_live));
    for (size_t i = 0; i < n; i++)
        snprintf(o->ids[i], sizeof(o->ids[i]), "%s", ids[i]);
    o->kcb = cb;
    o->arg = arg;
    return kop_start(o);
}

/* What live asks for a host's session.kick_all. */
static int host_kick_all(void *arg, const char *meeting_id, const char *sender_participant,
                         const char *sender_peer, const char *ref, size_t ref_len)
{
    kop *o = kop_new(arg, meeting_id, 1, 0);
    snprintf(o->sender_participant, sizeof(o->sender_participant), "%s", sender_participant);
    snprintf(o->sender_peer, sizeof(o->sender_peer), "%s", sender_peer);
    o->has_ref = keep_ref(o->ref, &o->ref_len, ref, ref_len);
    return kop_start(o);
}

int rtk_cluster_kick_all(rtk_cluster *c, const char *meeting_id, rtk_cluster_count_cb cb, void *arg)
{
    kop *o = kop_new(c, meeting_id, 1, 1);
    o->acb = cb;
    o->arg = arg;
    return kop_start(o);
}

/* ---- the waiting room, decided here for the whole cluster ---- */

/* A host's waiting.admit or waiting.refuse. */
typedef struct wop {
    rtk_cluster *c;
    int admit;
    char mid[40], host_participant[40], host_peer[40], ref[65];
    size_t ref_len;
    int has_ref;
    size_t n;
    char (*ids)[40];
} wop;

static void wop_answer(wop *w, int status)
{
    rtk_live *live = w->c->live;
    rtk_peer *p = rtk_live_peer_find(live, w->host_participant, w->host_peer);
    const char *ref = w->has_ref ? w->ref : NULL;
    if (p != NULL && status != 0) {
        rtk_live_reject(live, p, "unavailable",
                        status == RTK_ENOTFOUND       ? "The session has ended; nothing was done"
                        : status == RTK_EUNAVAIL      ? "The cluster's bus is unavailable; "
                                                        "the outcome is unknown"
                                                      : "The store could not take it; try again",
                        ref, w->ref_len);
    } else if (p != NULL) {
        rtk_live_send_done_rows(live, p, w->admit ? "admit" : "refuse", w->ids[0],
                                sizeof(w->ids[0]), w->n, ref, w->ref_len);
    }
    free(w->ids);
    free(w);
}

static void on_wop_stored(void *arg, int status)
{
    wop_answer(arg, status != 0 ? RTK_EDB : 0);
}

/* Redis decided who left the waiting room: refusals are stored (as a single node's), then
 * the host hears `done`. */
static void on_decided(void *arg, int status, const rtk_bus_reply *r)
{
    wop *w = arg;
    rtk_cluster *c = w->c;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY) {
        wop_answer(w, RTK_EUNAVAIL);
        return;
    }
    size_t n = rtk_bus_reply_len(r);
    if (n == 1 && rtk_bus_reply_type(rtk_bus_reply_at(r, 0)) == RTK_BUS_INT) {
        wop_answer(w, RTK_ENOTFOUND); /* {-1}: the session is another now */
        return;
    }
    w->ids = rtk_xcalloc(n ? n : 1, sizeof(*w->ids));
    for (size_t i = 0; i < n; i++)
        rtk_bus_reply_copy_at(r, i, w->ids[w->n++], sizeof(w->ids[0]));
    rtk_session_view v;
    if (w->admit || w->n == 0 || rtk_live_session(c->live, w->mid, &v) != 0) {
        wop_answer(w, 0);
        return;
    }
    int64_t now = rtk_time_now_ms();
    for (size_t i = 0; i < w->n; i++) {
        rtk_live_event ev = {.type = RTK_LIVE_EV_KICK,
                             .reason = RTK_LIVE_KICK_REFUSED,
                             .at_ms = now,
                             .session = &v,
                             .participant_id = w->ids[i]};
        if (i + 1 == w->n) {
            ev.done = on_wop_stored;
            ev.done_arg = w;
        }
        rtk_live_cluster_tell(c->live, &ev);
    }
}

/* What live asks for a host's waiting.admit / waiting.refuse. */
static int host_wait(void *arg, const char *meeting_id, const char *session_id, int admit,
                     const char *const *ids, size_t n, const char *host_participant,
                     const char *host_peer, const char *ref, size_t ref_len)
{
    rtk_cluster *c = arg;
    char ks[80], kw[80], kset[80];
    key(ks, sizeof(ks), "s", meeting_id);
    key(kw, sizeof(kw), "w", meeting_id);
    key(kset, sizeof(kset), admit ? "a" : "f", meeting_id);
    size_t argc = 6 + n;
    const char **argv = rtk_xcalloc(argc, sizeof(*argv));
    argv[0] = ks;
    argv[1] = kw;
    argv[2] = kset;
    argv[3] = session_id;
    argv[4] = admit ? "a" : "f";
    argv[5] = meeting_id;
    for (size_t i = 0; i < n; i++)
        argv[6 + i] = ids[i];
    wop *w = rtk_xcalloc(1, sizeof(*w));
    w->c = c;
    w->admit = admit;
    snprintf(w->mid, sizeof(w->mid), "%s", meeting_id);
    snprintf(w->host_participant, sizeof(w->host_participant), "%s", host_participant);
    snprintf(w->host_peer, sizeof(w->host_peer), "%s", host_peer);
    w->has_ref = keep_ref(w->ref, &w->ref_len, ref, ref_len);
    int rc = rtk_bus_script(c->bus, S_DECIDE, on_decided, w, 3, (int)argc, argv, NULL);
    free(argv);
    if (rc != 0)
        free(w);
    return rc;
}

/* ---- a node's first share of a session: what the other nodes list ---- */

/* Live keeps (|on|) or stops keeping the other nodes' lists of |meeting_id|: their news is
 * heard meanwhile (held before the handshake reads the lists, so nothing is missed). */
static void on_mirror(void *arg, const char *meeting_id, int on)
{
    rtk_cluster *c = arg;
    char chan[80];
    key(chan, sizeof(chan), "l", meeting_id);
    if (on)
        rtk_bus_hold(c->bus, chan);
    else
        rtk_bus_release(c->bus, chan);
}

typedef struct share_ctx {
    rtk_cluster *c;
    char mid[40], sid[40];
    void (*cb)(void *arg, int status);
    void *arg;
    int waits;  /* subscriptions not confirmed yet */
    int failed; /* one could not be made */
} share_ctx;

static void on_lists(void *arg, int status, const rtk_bus_reply *r)
{
    share_ctx *sh = arg;
    if (status != 0 || rtk_bus_reply_type(r) != RTK_BUS_ARRAY) {
        sh->cb(sh->arg, RTK_EUNAVAIL);
        free(sh);
        return;
    }
    for (size_t k = 0; k < 2 && k < rtk_bus_reply_len(r); k++) {
        const rtk_bus_reply *vals = rtk_bus_reply_at(r, k);
        for (size_t i = 0; i < rtk_bus_reply_len(vals); i++) {
            size_t len = 0;
            const char *text = rtk_bus_reply_str(rtk_bus_reply_at(vals, i), &len);
            if (text != NULL)
                list_entry(sh->c, sh->mid, sh->sid, (int)k, text, len);
        }
    }
    sh->cb(sh->arg, 0);
    free(sh);
}

/* The meeting's channels are subscribed: what changes from now on is heard, so the lists
 * (and then the polls) are read. */
static void on_share_subscribed(void *arg, int status)
{
    share_ctx *sh = arg;
    rtk_cluster *c = sh->c;
    sh->failed |= status != 0;
    if (--sh->waits > 0)
        return;
    char ks[80], kr[80], kw[80];
    key(ks, sizeof(ks), "s", sh->mid);
    key(kr, sizeof(kr), "r", sh->mid);
    key(kw, sizeof(kw), "w", sh->mid);
    const char *argv[6] = {ks, kr, kw, sh->sid,
                           rtk_live_cluster_mirrors(c->live, sh->mid, 0) ? "1" : "0",
                           rtk_live_cluster_mirrors(c->live, sh->mid, 1) ? "1" : "0"};
    if (sh->failed || rtk_bus_script(c->bus, S_LISTS, on_lists, sh, 3, 6, argv, NULL) != 0) {
        sh->cb(sh->arg, RTK_EUNAVAIL);
        free(sh);
    }
}

int rtk_cluster_share_load(rtk_cluster *c, const char *meeting_id, const char *session_id,
                           void (*cb)(void *arg, int status), void *arg)
{
    char chan[80], lchan[80];
    key(chan, sizeof(chan), "m", meeting_id);
    key(lchan, sizeof(lchan), "l", meeting_id);
    rtk_bus_hold(c->bus, chan); /* (released by rtk_cluster_share_end, whatever happens) */
    if (!rtk_bus_up(c->bus))
        return RTK_EUNAVAIL;
    share_ctx *sh = rtk_xcalloc(1, sizeof(*sh));
    sh->c = c;
    snprintf(sh->mid, sizeof(sh->mid), "%s", meeting_id);
    snprintf(sh->sid, sizeof(sh->sid), "%s", session_id);
    sh->cb = cb;
    sh->arg = arg;
    /* Subscribed first (Redis confirmed it): what changes after the lists are read is heard.
     * The lists' channel is held while live keeps a list (rtk_live_cluster_mirrors). */
    int lists = rtk_live_cluster_mirrors(c->live, meeting_id, 0) ||
                rtk_live_cluster_mirrors(c->live, meeting_id, 1);
    sh->waits = 1 + lists + 1; /* (+1: this call's own, so that none completes it early) */
    int refused = 0;
    if (rtk_bus_when_subscribed(c->bus, chan, on_share_subscribed, sh) != 0)
        refused++;
    if (lists && rtk_bus_when_subscribed(c->bus, lchan, on_share_subscribed, sh) != 0)
        refused++;
    sh->waits -= refused;
    sh->failed |= refused > 0;
    on_share_subscribed(sh, 0);
    return 0;
}

void rtk_cluster_share_end(rtk_cluster *c, const char *meeting_id, const char *session_id,
                           int loaded)
{
    char chan[80];
    key(chan, sizeof(chan), "m", meeting_id);
    rtk_bus_release(c->bus, chan);
    rtk_live_cluster_share_done(c->live, meeting_id, session_id, loaded);
}

/* ---- polls, created here for the whole cluster ---- */

/* A poll as the bus carries it ("p SID JSON" on the meeting's channel) and as this node keeps
 * it while it is stored: {"id","question","options","anonymous","hide_votes","created_by",
 * "created_ms","view_bytes"}. Filled into *v (borrowing from |j|). */
static int poll_from_json(json_t *j, rtk_poll_view *v, const char **opts, size_t *view_bytes)
{
    static const int64_t zeros[RTK_POLL_OPTIONS_MAX]; /* a new poll's counts */
    json_t *o = json_object_get(j, "options");
    size_t n = json_array_size(o);
    memset(v, 0, sizeof(*v));
    v->id = json_string_value(json_object_get(j, "id"));
    v->question = json_string_value(json_object_get(j, "question"));
    if (v->id == NULL || v->question == NULL || n < 1 || n > RTK_POLL_OPTIONS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((opts[i] = json_string_value(json_array_get(o, i))) == NULL)
            return -1;
    v->opts = opts;
    v->nopts = (int)n;
    v->counts = zeros;
    v->anonymous = json_is_true(json_object_get(j, "anonymous"));
    v->hide_votes = json_is_true(json_object_get(j, "hide_votes"));
    v->created_by = json_string_value(json_object_get(j, "created_by"));
    v->created_ms = json_integer_value(json_object_get(j, "created_ms"));
    *view_bytes = (size_t)json_integer_value(json_object_get(j, "view_bytes"));
    return 0;
}

static void on_poll_message(rtk_cluster *c, const char *mid, const char *text, size_t len)
{
    const char *sp = memchr(text, ' ', len);
    if (sp == NULL || sp - text >= 40)
        return;
    char sid[40];
    memcpy(sid, text, (size_t)(sp - text));
    sid[sp - text] = '\0';
    json_t *j = json_loadb(sp + 1, len - (size_t)(sp + 1 - text), 0, NULL);
    rtk_poll_view v;
    const char *opts[RTK_POLL_OPTIONS_MAX];
    size_t vb;
    if (j != NULL && poll_from_json(j, &v, opts, &vb) == 0)
        rtk_live_cluster_poll(c->live, mid, sid, &v, vb, NULL, NULL, NULL, 0);
    json_decref(j);
}

typedef struct pop {
    rtk_cluster *c;
    char mid[40], sid[40], app[40];
    json_t *poll;
    size_t view_bytes;
    rtk_cluster_poll_cb cb; /* REST, or NULL: a host's poll.create */
    void *arg;
    char creator_participant[40], creator_peer[40];
    char ref[65];
    size_t ref_len;
    int has_ref;
} pop;

static void pop_free(pop *o)
{
    json_decref(o->poll);
    free(o);
}

static void pop_fail(pop *o, int status, const char *code, const char *text)
{
    if (o->cb != NULL) {
        o->cb(o->arg, status, NULL);
        return;
    }
    rtk_peer *p = rtk_live_peer_find(o->c->live, o->creator_participant, o->creator_peer);
    if (p != NULL)
        rtk_live_reject(o->c->live, p, code, text, o->has_ref ? o->ref : NULL, o->ref_len);
}

static void on_poll_stored(void *arg, int status)
{
    pop *o = arg;
    rtk_cluster *c = o->c;
    if (status != 0) {
        char ks[80], b[24];
        key(ks, sizeof(ks), "s", o->mid);
        fmt_i64(b, -(int64_t)o->view_bytes);
        const char *argv[5] = {ks, b, "0", "0", o->sid};
        rtk_bus_script(c->bus, S_POLL, NULL, NULL, 1, 5, argv, NULL);
        pop_fail(o, RTK_EUNAVAIL, "unavailable",
                 "The poll could not be stored; nothing was created; try again");
        pop_free(o);
        return;
    }
    char *text = json_dumps(o->poll, JSON_COMPACT);
    if (text != NULL) {
        size_t n = strlen(text) + strlen(o->sid) + 4; /* "p ", " ", NUL */
        char *msg = rtk_xmalloc(n);
        snprintf(msg, n, "p %s %s", o->sid, text);
        char chan[80];
        key(chan, sizeof(chan), "m", o->mid);
        publish_to(c, chan, msg);
        free(msg);
        free(text);
    }
    rtk_poll_view v;
    const char *opts[RTK_POLL_OPTIONS_MAX];
    size_t vb;
    poll_from_json(o->poll, &v, opts, &vb);
    rtk_live_cluster_poll(
        c->live, o->mid, o->sid, &v, vb, o->cb == NULL ? o->creator_participant : NULL,
        o->cb == NULL ? o->creator_peer : NULL, o->has_ref ? o->ref : NULL, o->ref_len);
    if (o->cb != NULL)
        o->cb(o->arg, 0, &v);
    pop_free(o);
}

static void on_poll_reserved(void *arg, int status, const rtk_bus_reply *r)
{
    pop *o = arg;
    rtk_cluster *c = o->c;
    size_t len = 0;
    const char *sid = status == 0 ? rtk_bus_reply_str(rtk_bus_reply_at(r, 0), &len) : NULL;
    if (sid == NULL || rtk_bus_reply_len(r) < 1) {
        pop_fail(o, RTK_EUNAVAIL, "unavailable",
                 "The cluster's bus is unavailable; nothing "
                 "was created; try again");
        pop_free(o);
        return;
    }
    if (rtk_bus_reply_len(r) == 1) {
        int full = len == 4 && memcmp(sid, "full", 4) == 0;
        pop_fail(o, full ? RTK_ETOOBIG : RTK_ENOTFOUND, full ? "invalid_message" : "unavailable",
                 full ? "The live session holds as many polls as it may"
                      : "The session has ended; nothing was created");
        pop_free(o);
        return;
    }
    char tbuf[1024];
    rtk_bus_reply_copy_at(r, 0, o->sid, sizeof(o->sid));
    rtk_bus_reply_copy_at(r, 1, o->app, sizeof(o->app));
    rtk_bus_reply_copy_at(r, 3, tbuf, sizeof(tbuf));
    int64_t now = rtk_time_now_ms();
    rtk_session_view sv = {.id = o->sid, .meeting_id = o->mid, .app_id = o->app, .title = tbuf};
    sv.started_ms = rtk_bus_reply_int_at(r, 2, 0);
    sv.updated_ms = sv.seen_ms = now;
    rtk_poll_view v;
    const char *opts[RTK_POLL_OPTIONS_MAX];
    size_t vb;
    poll_from_json(o->poll, &v, opts, &vb);
    /* Stored through this node's persistence, as a single node's poll is. */
    rtk_live_event ev = {.type = RTK_LIVE_EV_POLL_CREATED,
                         .at_ms = v.created_ms,
                         .session = &sv,
                         .poll = &v,
                         .done = on_poll_stored,
                         .done_arg = o};
    rtk_live_cluster_tell(c->live, &ev);
}

int rtk_cluster_poll_create(rtk_cluster *c, const char *meeting_id, const rtk_poll_spec *spec,
                            const char *creator_participant, const char *creator_peer,
                            const char *ref, size_t ref_len, rtk_cluster_poll_cb cb, void *arg)
{
    if (spec->view_bytes > RTK_LIVE_POLL_BYTES_MAX)
        return RTK_ETOOBIG;
    pop *o = rtk_xcalloc(1, sizeof(*o));
    o->c = c;
    snprintf(o->mid, sizeof(o->mid), "%s", meeting_id);
    o->cb = cb;
    o->arg = arg;
    o->view_bytes = spec->view_bytes;
    if (creator_participant != NULL) {
        snprintf(o->creator_participant, sizeof(o->creator_participant), "%s", creator_participant);
        snprintf(o->creator_peer, sizeof(o->creator_peer), "%s", creator_peer);
    }
    o->has_ref = keep_ref(o->ref, &o->ref_len, ref, ref_len);
    char id[37];
    rtk_id_uuid4(id);
    json_t *opts = json_array();
    for (int i = 0; i < spec->nopts; i++)
        json_array_append_new(opts, json_string(spec->opts[i]));
    o->poll = json_pack("{s:s,s:s,s:o,s:b,s:b,s:s?,s:I,s:I}", "id", id, "question", spec->question,
                        "options", opts, "anonymous", spec->anonymous, "hide_votes",
                        spec->hide_votes, "created_by", spec->created_by, "created_ms",
                        (json_int_t)rtk_time_now_ms(), "view_bytes", (json_int_t)spec->view_bytes);
    if (o->poll == NULL)
        abort(); /* OOM only: the strings passed the validators (valid UTF-8) */
    char ks[80], b[24], maxn[24], maxb[24];
    key(ks, sizeof(ks), "s", meeting_id);
    fmt_i64(b, (int64_t)spec->view_bytes);
    fmt_i64(maxn, RTK_LIVE_POLLS_MAX);
    fmt_i64(maxb, RTK_LIVE_POLL_BYTES_MAX);
    const char *argv[4] = {ks, b, maxn, maxb};
    if (rtk_bus_script(c->bus, S_POLL, on_poll_reserved, o, 1, 4, argv, NULL) != 0) {
        pop_free(o);
        return RTK_EUNAVAIL;
    }
    return 0;
}

/* What live asks for a host's poll.create. */
static int host_poll(void *arg, const char *meeting_id, const rtk_poll_spec *spec,
                     const char *creator_participant, const char *creator_peer, const char *ref,
                     size_t ref_len)
{
    return rtk_cluster_poll_create(arg, meeting_id, spec, creator_participant, creator_peer, ref,
                                   ref_len, NULL, NULL);
}

/* The polls of the meeting's live session with their votes, from the store. */
typedef struct polls_read {
    rtk_cluster *c;
    rtk_store *st;
    rtk_store_cb cb;
    void *arg;
} polls_read;

static void on_polls_session(void *arg, int status, const rtk_bus_reply *r)
{
    polls_read *pr = arg;
    char id[40];
    size_t len = status == 0 ? rtk_bus_reply_copy_at(r, 0, id, sizeof(id)) : 0;
    if (status != 0)
        pr->cb(pr->arg, RTK_EUNAVAIL, NULL);
    else if (len == 0 || len >= sizeof(id) || rtk_bus_reply_int_at(r, 1, 0) != 1)
        pr->cb(pr->arg, RTK_ENOTFOUND, NULL);
    else
        rtk_store_polls_load(pr->st, id, pr->cb, pr->arg);
    free(pr);
}

int rtk_cluster_polls(rtk_cluster *c, rtk_store *st, const char *meeting_id, rtk_store_cb cb,
                      void *arg)
{
    char ks[80];
    key(ks, sizeof(ks), "s", meeting_id);
    const char *argv[4] = {"HMGET", ks, "sid", "stored"};
    polls_read *pr = rtk_xcalloc(1, sizeof(*pr));
    pr->c = c;
    pr->st = st;
    pr->cb = cb;
    pr->arg = arg;
    if (rtk_bus_cmd(c->bus, on_polls_session, pr, 4, argv, NULL) != 0) {
        free(pr);
        return RTK_EUNAVAIL;
    }
    return 0;
}

/* ---- webhooks written elsewhere ---- */

void rtk_cluster_hooks_changed(rtk_cluster *c, const char *app_id)
{
    if (c == NULL)
        return;
    char msg[64];
    snprintf(msg, sizeof(msg), "h %s", app_id);
    publish_to(c, "rtkd:hooks", msg);
}

void rtk_cluster_on_hooks(rtk_cluster *c, void (*fn)(void *arg, const char *app_id), void *arg)
{
    c->hooks_fn = fn;
    c->hooks_arg = arg;
}

void rtk_cluster_on_sender(rtk_cluster *c, void (*fn)(void *arg, int on), void *arg)
{
    c->sender_fn = fn;
    c->sender_arg = arg;
    fn(arg, 0); /* until the lease is taken */
}

/* ---- lifecycle ---- */

static void on_timer_closed(uv_handle_t *h);
static void close_handles(rtk_cluster *c);

int rtk_cluster_new(uv_loop_t *loop, const rtk_cluster_config *cfg, rtk_live *live,
                    rtk_cluster **out)
{
    rtk_cluster *c = rtk_xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->live = live;
    c->lease_ms = cfg->lease_ms ? cfg->lease_ms : 5000;
    snprintf(c->node, sizeof(c->node), "%s", cfg->node_id);
    snprintf(c->node_chan, sizeof(c->node_chan), "rtkd:n:%s", c->node);
    char rnd[37];
    rtk_id_uuid4(rnd);
    snprintf(c->node_tag, sizeof(c->node_tag), "%s-%.8s", c->node, rnd);
    rtk_bus_config bcfg = {
        .url = cfg->bus_url,
        .scripts = scripts,
        .nscripts = NSCRIPTS,
        .on_state = on_state,
        .on_message = on_message,
        .arg = c,
    };
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_init(loop, &c->answer_timer);
    c->answer_timer.data = c;
    uv_timer_init(loop, &c->vote_timer);
    c->vote_timer.data = c;
    uv_timer_init(loop, &c->flush_timer);
    c->flush_timer.data = c;
    rtk_map_init(&c->flush);
    c->handles = 4;
    if (rtk_bus_new(loop, &bcfg, &c->bus) != 0) {
        close_handles(c);
        return RTK_EINVAL;
    }
    rtk_bus_hold(c->bus, c->node_chan);
    rtk_bus_hold(c->bus, "rtkd:hooks");
    rtk_live_set_clustered(live, 1);
    rtk_live_set_cluster_poll(live, host_poll, c);
    rtk_live_set_cluster_kick_all(live, host_kick_all, c);
    rtk_live_set_cluster_wait(live, host_wait, c);
    rtk_live_set_cluster_mirror(live, on_mirror, c);
    rtk_live_subscribe(live, on_event, c, 0);
    /* Renewed three times per lease, reaping once a second at most. */
    uint64_t every = c->lease_ms / 3 < 1000 ? c->lease_ms / 3 : 1000;
    uv_timer_start(&c->timer, on_timer, every, every);
    *out = c;
    return 0;
}

int rtk_cluster_up(const rtk_cluster *c)
{
    return c != NULL && rtk_bus_up(c->bus);
}

const char *rtk_cluster_node(const rtk_cluster *c)
{
    return c->node;
}

static void on_timer_closed(uv_handle_t *h)
{
    rtk_cluster *c = h->data;
    if (--c->handles == 0)
        free(c);
}

static void close_handles(rtk_cluster *c)
{
    on_flush_timer(&c->flush_timer); /* frees the map (sends nothing: stopping) */
    rtk_map_free(&c->flush);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->answer_timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->vote_timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->flush_timer, on_timer_closed);
}

static void close_all(rtk_cluster *c)
{
    on_answer_turn(&c->answer_timer);
    votes_flush(c); /* (the bus is closing: what it cannot send is lost, as any publish) */
    rtk_bus_close(c->bus);
    c->bus = NULL;
    close_handles(c);
}

static void on_lease_given_up(void *arg, int status, const rtk_bus_reply *r)
{
    close_all(arg);
}

void rtk_cluster_stop(rtk_cluster *c)
{
    if (c == NULL || c->stopping)
        return;
    c->stopping = 1;
    uv_timer_stop(&c->timer);
    ops_expire(c, rtk_time_now_ms());
    votes_flush(c); /* the other nodes count this node's last votes */
    /* Our peers' leaves went out before this (live's shutdown) on the same connection; the
     * lease goes after them, and then the bus closes. */
    char knp[200];
    key(knp, sizeof(knp), "np", c->node);
    if (c->sender) { /* given up at once: another node sends from its next renewal */
        const char *sargv[4] = {"rtkd:hook-sender", c->node, "0", "1"};
        rtk_bus_script(c->bus, S_SENDER, NULL, NULL, 1, 4, sargv, NULL);
        set_sender(c, 0);
    }
    const char *argv[3] = {"HDEL", "rtkd:nodes", c->node};
    const char *dargv[2] = {"DEL", knp};
    if (rtk_bus_cmd(c->bus, NULL, NULL, 3, argv, NULL) != 0 ||
        rtk_bus_cmd(c->bus, on_lease_given_up, c, 2, dargv, NULL) != 0)
        close_all(c);
}
