-- wrk script of the webhook benchmarks: every request POSTs the next pre-signed body of a file written by
-- bench/wrk.py (one request a line: "<signature>\t<body>"), so each carries a new wamid and a valid
-- X-Hub-Signature-256 without the load generator computing an HMAC. Each wrk thread takes every n-th
-- line, so no two threads send the same body; a thread that runs out starts again from its first
-- (a duplicate delivery, which the server acknowledges and does not store twice).
-- Environment: WRK_BODIES (the file), WRK_PATH (the path), WRK_THREADS (wrk's -t).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("WRK_BODIES"), "r"))
  local every = tonumber(os.getenv("WRK_THREADS"))
  local n = 0
  bodies = {}
  signatures = {}
  for line in file:lines() do
    if n % every == id then
      local tab = line:find("\t", 1, true)
      table.insert(signatures, line:sub(1, tab - 1))
      table.insert(bodies, line:sub(tab + 1))
    end
    n = n + 1
  end
  file:close()
  path = os.getenv("WRK_PATH")
  next_index = 1
  sent = 0
end

function request()
  local i = next_index
  next_index = next_index % #bodies + 1
  sent = sent + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = signatures[i],
  }, bodies[i])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
