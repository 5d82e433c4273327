-- wrk script for bench/auth/run.
--
--   [WRK_CHECK=1] wrk ... -s bench.lua URL -- MODE FILE EXPECT [ORIGIN]
--
-- MODE   cookie: GET URL with "Cookie: <line>", rotating over FILE's lines
--        signin: POST URL with {"email","password"} from FILE's "email<TAB>password" lines
--        plain:  GET URL as is (FILE ignored; pass "-")
-- EXPECT a substring that a good response body contains ("-": none); checked with WRK_CHECK=1
-- ORIGIN sent as the Origin header of POSTs, as a browser would
--
-- WRK_CHECK=1 inspects every response (2xx and EXPECT in the body), counts the bad ones, keeps
-- one bad sample and prints "CHECK good=N bad=N" (and "CHECK sample=...") at the end. The run
-- script uses it for the warm-ups only: a Lua response() callback makes wrk parse every response
-- into Lua, which costs CPU that this 2-core machine shares with the server under test, so the
-- measured runs rely on wrk's own "Non-2xx or 3xx responses" and socket error counters.

local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

local function json_string(s)
  return '"' .. s:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

local reqs, n, i = {}, 0, 0
local expect

function init(args)
  local mode, file = args[1], args[2]
  expect = (args[3] and args[3] ~= "-") and args[3] or nil
  local origin = args[4]
  if mode == "plain" then
    reqs[1] = wrk.format("GET")
  elseif mode == "cookie" or mode == "signin" then
    local f = assert(io.open(file, "r"), "cannot open " .. tostring(file))
    for line in f:lines() do
      if line ~= "" then
        if mode == "cookie" then
          reqs[#reqs + 1] = wrk.format("GET", nil, { ["Cookie"] = line })
        else
          local email, password = line:match("^([^\t]+)\t(.+)$")
          assert(email, "bad line in " .. file)
          local body = '{"email":' .. json_string(email) .. ',"password":' .. json_string(password) .. '}'
          local h = { ["Content-Type"] = "application/json" }
          if origin and origin ~= "" then h["Origin"] = origin end
          reqs[#reqs + 1] = wrk.format("POST", nil, h, body)
        end
      end
    end
    f:close()
  else
    error("bench.lua: unknown mode " .. tostring(mode))
  end
  n = #reqs
  assert(n > 0, "bench.lua: no requests built")
  -- Start each thread at its own place in the list so they do not walk it in lock step.
  i = (tid or 0) * math.floor(n / 2)
  good, bad, sample = 0, 0, ""
end

function request()
  i = i + 1
  return reqs[(i % n) + 1]
end

if os.getenv("WRK_CHECK") == "1" then
  function response(status, headers, body)
    if status >= 200 and status < 300 and (not expect or (body and body:find(expect, 1, true))) then
      good = good + 1
    else
      bad = bad + 1
      if sample == "" then
        sample = "HTTP " .. status .. " " .. string.sub(body or "", 1, 300)
      end
    end
  end

  function done(summary, latency, requests)
    local g, b, s = 0, 0, ""
    for _, t in ipairs(threads) do
      g = g + (t:get("good") or 0)
      b = b + (t:get("bad") or 0)
      local ts = t:get("sample")
      if s == "" and ts and ts ~= "" then s = ts end
    end
    io.write(string.format("CHECK good=%d bad=%d\n", g, b))
    if s ~= "" then io.write("CHECK sample=" .. s:gsub("[\r\n]", " ") .. "\n") end
  end
end
