-- Workload 1: GET one world document by a random _id (1..10000); 200 expected.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
local max_id = tonumber(bench.env("BENCH_MAX_ID", "10000"))
request = function()
  return wrk.format("GET", "/api/world/" .. math.random(1, max_id))
end
bench.install("200")
