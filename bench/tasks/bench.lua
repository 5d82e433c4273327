-- wrk script for bench/tasks: every request carries the token of a random
-- user (of 1,000) and, for GET by id, one of THAT user's task ids, so every
-- answer should be a 200. orgbyid and orglist are the team-task routes: the
-- ids are then those of the user's organization (pairs-org.tsv) and the list
-- asks for the organization's tasks.
--
--   wrk -t2 -c32 -d10s --latency -s bench.lua http://127.0.0.1:PORT -- pairs.tsv byid|list
--   wrk … -- pairs-org.tsv orgbyid|orglist
--
-- pairs.tsv: "<sub>\t<token>\t<id>,<id>,…" per user (written by ./run).
-- done() prints one machine-readable RESULT line that ./run parses.

local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local users, mode = {}, "byid"

function init(args)
  local file = args[1] or "pairs.tsv"
  mode = args[2] or "byid"
  for line in io.lines(file) do
    local token, ids = line:match("^[^\t]+\t([^\t]+)\t([^\t]+)$")
    if token then
      local list = {}
      for id in ids:gmatch("%d+") do list[#list + 1] = id end
      users[#users + 1] = { auth = "Bearer " .. token, ids = list }
    end
  end
  if #users == 0 then error("no users in " .. file) end
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  local u = users[math.random(#users)]
  local path
  if mode == "list" then
    path = "/api/tasks?limit=20"
  elseif mode == "orglist" then
    path = "/api/tasks?scope=organization&limit=20"
  else
    path = "/api/tasks/" .. u.ids[math.random(#u.ids)]
  end
  return wrk.format("GET", path, { Authorization = u.auth })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
