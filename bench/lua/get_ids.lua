-- GET one customer by a random ObjectId _id from BENCH_IDS (a Lua file returning a list): the FerretDB row.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
local ids = dofile(os.getenv("BENCH_IDS"))
request = function()
  return wrk.format("GET", "/api/customers/" .. ids[math.random(1, #ids)])
end
bench.install("200")
