-- Shared by the workload scripts: counts unexpected statuses per thread and prints one JSON line
-- ("BENCH {...}") from done() with the totals and wrk's latency distribution (microseconds).
local M = {}

local threads = {}

function M.install(expected)
  -- A string of accepted statuses, e.g. "200" or "200 404" (FerretDB rows).
  local ok = {}
  for code in string.gmatch(expected, "%d+") do ok[tonumber(code)] = true end

  function setup(thread)
    thread:set("id", #threads + 1)
    table.insert(threads, thread)
  end

  function init(args)
    math.randomseed(os.time() * 1000 + (id or 0) * 7919)
    unexpected = 0
    first_unexpected = 0
  end

  function response(status, headers, body)
    if not ok[status] then
      unexpected = unexpected + 1
      if first_unexpected == 0 then first_unexpected = status end
    end
  end

  function done(summary, latency, requests)
    local bad, first = 0, 0
    for _, t in ipairs(threads) do
      bad = bad + (t:get("unexpected") or 0)
      local f = t:get("first_unexpected") or 0
      if first == 0 then first = f end
    end
    local e = summary.errors
    io.write(string.format(
      'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"unexpected":%d,"first_unexpected":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
      summary.requests, summary.duration, summary.bytes, bad, first,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, latency.mean))
  end
end

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

return M
