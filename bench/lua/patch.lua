-- Workload 5: PATCH (JSON merge patch) the randomNumber of a random world document; 200 expected.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
local headers = { ["Content-Type"] = "application/merge-patch+json" }
request = function()
  return wrk.format("PATCH", "/api/world/" .. math.random(1, 10000), headers,
    string.format('{"randomNumber":%d}', math.random(1, 10000)))
end
bench.install("200")
