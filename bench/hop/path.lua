-- GET of the path in BENCH_PATH (bench/hop/run: /direct or /hop); 200 expected. Fixed request.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
wrk.path = bench.env("BENCH_PATH", "/direct")
bench.install("200")
