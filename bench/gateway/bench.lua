-- wrk script for bench/gateway: every request is GET /api/tasks?limit=20 as
-- a random one of the seeded users, either with the browser's session cookie
-- (through the gateway) or with that user's Bearer JWT (straight to tasks).
--
--   wrk -t2 -c32 -d10s --latency -s bench.lua http://127.0.0.1:PORT -- users.tsv cookie|bearer
--
-- users.tsv: "<session cookie>\t<jwt>" per user (written by ./run).
-- done() prints one machine-readable RESULT line that ./run parses.

local users, mode = {}, "cookie"

function init(args)
  local file = args[1] or "users.tsv"
  mode = args[2] or "cookie"
  for line in io.lines(file) do
    local cookie, jwt = line:match("^([^\t]+)\t([^\t]+)$")
    if cookie then
      if mode == "cookie" then
        users[#users + 1] = { Cookie = cookie }
      else
        users[#users + 1] = { Authorization = "Bearer " .. jwt }
      end
    end
  end
  if #users == 0 then error("no users in " .. file) end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", "/api/tasks?limit=20", users[math.random(#users)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
