-- wrk script for bench/run. One file, five modes, chosen by the first
-- argument after `--` on wrk's command line:
--
--   wrk ... -s bench/wrk/bench.lua URL -- get           the URL's path, unchanged (static: fastest)
--   wrk ... -s bench/wrk/bench.lua URL -- post          POST /api/users, a new user per request
--   wrk ... -s bench/wrk/bench.lua URL -- post-message  POST /api/messages, from user 1 to user 2
--   wrk ... -s bench/wrk/bench.lua URL -- post-as-logged-in  POST /api/messages to user 2,
--                                                   from whoever the -H Cookie logs in (s20 on)
--   wrk ... -s bench/wrk/bench.lua URL -- mix           80 % GET /api/users/<1..3>, 20 % POST /api/users
--
-- A second argument tags the users (their nickname) and messages (their
-- content) created, so several runs on one database stay distinguishable. A third is
-- wrk's -c, the connections, for the measured latencies (see `measured`). Whatever the mode, `done` prints one line
-- `BENCH-JSON {...}` with the figures bench/run reads (latencies in µs).

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

local function new_user()
   counter = counter + 1
   local nick = string.format("bench-%s-%d-%d", tag, id, counter)
   local body = string.format(
      '{"name":"Bench User %d-%d","email":"%s@bench.invalid","nickname":"%s"}',
      id, counter, nick, nick)
   return wrk.format("POST", "/api/users",
                     { ["Content-Type"] = "application/json" }, body)
end

local function new_message()
   counter = counter + 1
   local body = string.format(
      '{"author_id":1,"recipient_id":2,"content":"bench-%s-%d-%d"}', tag, id, counter)
   return wrk.format("POST", "/api/messages",
                     { ["Content-Type"] = "application/json" }, body)
end

-- From step 20 the author is whoever is logged in (wrk sends the session
-- cookie with -H): the body names the recipient only.
local function new_message_as_logged_in()
   counter = counter + 1
   local body = string.format(
      '{"recipient_id":2,"content":"bench-%s-%d-%d"}', tag, id, counter)
   -- wrk.format's headers replace those of -H: the cookie is copied in.
   local headers = { ["Content-Type"] = "application/json" }
   for name, value in pairs(wrk.headers) do
      headers[name] = value
   end
   return wrk.format("POST", "/api/messages", headers, body)
end

local function mixed()
   if math.random() < 0.2 then
      return new_user()
   end
   return wrk.format("GET", "/api/users/" .. math.random(1, 3))
end

function init(args)
   local mode = args[1] or "get"
   tag = args[2] or "run"
   connections = tonumber(args[3])
   math.randomseed(id * 7919 + os.time())
   if mode == "post" then
      request = new_user
   elseif mode == "post-message" then
      request = new_message
   elseif mode == "post-as-logged-in" then
      request = new_message_as_logged_in
   elseif mode == "mix" then
      request = mixed
   elseif mode ~= "get" then
      error("bench.lua: unknown mode " .. mode .. " (get, post, post-message, post-as-logged-in or mix)")
   end
end

-- wrk 4.1 "corrects" its latencies for coordinated omission before done()
-- (stats_correct in its wrk.c): with e = duration / (requests / connections),
-- the mean time between two requests of a connection, each latency n of at
-- least 2e adds a made-up one at n - e, n - 2e, ... down to e. One stall of a
-- second at 1 ms per request thus adds a thousand latencies spread up to it:
-- wrk's p99 tells of the stalls. The measured latencies are that histogram
-- with the made-up ones taken back out, from the top down; nil if the
-- connections are not known (third argument) or the counts do not add up.
local function measured(latency, summary)
   -- done() runs in wrk's main Lua state: init's globals are the threads'.
   local connections = threads[1] and tonumber(threads[1]:get("connections"))
   if not connections or summary.requests < connections then
      return nil
   end
   local e = math.floor(summary.duration / math.floor(summary.requests / connections))
   local values, counts = {}, {}
   for i = 1, #latency do
      local value, count = latency(i)
      values[i] = value
      counts[value] = count
   end
   for i = #values, 1, -1 do
      local n = values[i]
      local count = counts[n]
      if n >= 2 * e and count > 0 then
         local m = n - e
         while m > e do
            if (counts[m] or 0) < count then
               return nil
            end
            counts[m] = counts[m] - count
            m = m - e
         end
      end
   end
   local total = 0
   for _, n in ipairs(values) do
      total = total + counts[n]
   end
   local function percentile(p)
      local rank, seen = math.floor(p / 100 * total + 0.5), 0
      for _, n in ipairs(values) do
         seen = seen + counts[n]
         if seen >= rank and seen > 0 then
            return n
         end
      end
      return 0
   end
   return string.format('{"count":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}',
                        total, percentile(50), percentile(90), percentile(99), percentile(99.9))
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"measured":%s}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout, measured(latency, summary) or "null"))
end
