-- One benchmark scenario for wrk, described by environment variables (set by tests/bench/run.py):
--   BENCH_METHOD, BENCH_PATH, BENCH_BODY, BENCH_HEADERS ("Name: value" lines),
--   BENCH_EXPECT_STATUS and BENCH_EXPECT (a text the body, or a redirect's Location, must hold),
--   BENCH_EXPECT_PATTERN (a Lua pattern the body, or the Location, must match too),
--   BENCH_CODES_FILE: one authorization code a line; "{code}" in the body takes the next unused one.
-- Every answer is checked: a fast error must never pass for a fast success.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  bad, exhausted = 0, 0
  method = os.getenv("BENCH_METHOD") or "GET"
  path = os.getenv("BENCH_PATH")
  body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  headers = {}
  for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  expect_status = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "200")
  expect = os.getenv("BENCH_EXPECT")
  if expect == "" then expect = nil end
  expect_pattern = os.getenv("BENCH_EXPECT_PATTERN")
  if expect_pattern == "" then expect_pattern = nil end
  local file = os.getenv("BENCH_CODES_FILE")
  if file and file ~= "" then
    -- Each thread takes every n-th code, so no two threads ever send the same one.
    local total = tonumber(os.getenv("BENCH_THREADS"))
    codes, next_code = {}, 0
    local n = 0
    for line in io.lines(file) do
      if n % total == id - 1 then table.insert(codes, line) end
      n = n + 1
    end
  else
    prepared = wrk.format(method, path, headers, body)
  end
end

function request()
  if prepared then return prepared end
  next_code = next_code + 1
  local code = codes[next_code]
  if code == nil then
    exhausted = exhausted + 1
    code = "exhausted"
  end
  return wrk.format(method, path, headers, (body:gsub("{code}", code)))
end

-- Header names are case-insensitive (RFC 9110 §5.1): granian, for one, sends them in lower case.
function header(response_headers, wanted)
  for name, value in pairs(response_headers) do
    if name:lower() == wanted then return value end
  end
  return nil
end

function response(status, response_headers, response_body)
  if status ~= expect_status then
    bad = bad + 1
  elseif expect or expect_pattern then
    local seen = response_body
    if status >= 300 and status < 400 then seen = header(response_headers, "location") or "" end
    if (expect and not seen:find(expect, 1, true)) or (expect_pattern and not seen:find(expect_pattern)) then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local total_bad, total_exhausted = 0, 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    total_exhausted = total_exhausted + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bad": %d, "exhausted": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, total_bad, total_exhausted,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
