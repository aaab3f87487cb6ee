-- Workload 4: POST an invalid customer (bad email, age below the minimum, malformed zip); 422
-- expected, before any database work. The body is fixed, so no request() runs per request.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
wrk.method = "POST"
wrk.path = "/api/customers"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"not-an-email","name":{"first":"Ada","last":"Lovelace"},"age":12,"plan":"pro",' ..
  '"active":true,"balance":1234.56,"signedUpAt":"2023-04-05T06:07:08.000Z","address":{"street":' ..
  '"12 Analytical Engine Way","city":"London","zip":"ABCDE","country":"GB"},"tags":["early-adopter",' ..
  '"newsletter"],"loginCount":42}'
bench.install("422")
