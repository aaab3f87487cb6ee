-- Workload 6: GET /healthz (no database); 200 expected. Fixed request: no request() per request.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
wrk.path = "/healthz"
bench.install("200")
