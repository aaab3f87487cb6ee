-- Workload 2: list customers with a filter (a random plan, age at least a random value), sorted by
-- signedUpAt descending, limit 20; 200 expected.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
local plans = { "free", "pro", "team", "enterprise" }
local function escape(s)
  return (string.gsub(s, "[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  local filter = string.format('{"plan":"%s","age":{"$gte":%d}}', plans[math.random(1, 4)], math.random(18, 70))
  return wrk.format("GET", "/api/customers?filter=" .. escape(filter) .. "&sort=-signedUpAt&limit=20")
end
bench.install("200")
