-- Workload 3: POST a valid customer (~320 bytes, random email, age and plan); 201 expected.
package.path = os.getenv("BENCH_LUA") .. "/?.lua;" .. package.path
local bench = require("common")
local plans = { "free", "pro", "team", "enterprise" }
local headers = { ["Content-Type"] = "application/json" }
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"email":"user%d.%d@example.com","name":{"first":"Ada","last":"Lovelace"},"age":%d,"plan":"%s",' ..
    '"active":true,"balance":%d.%02d,"signedUpAt":"2023-04-05T06:07:08.000Z","address":{"street":' ..
    '"12 Analytical Engine Way","city":"London","zip":"%05d","country":"GB"},"tags":["early-adopter",' ..
    '"newsletter"],"loginCount":%d}',
    math.random(1, 1000000000), counter, math.random(18, 90), plans[math.random(1, 4)],
    math.random(0, 99999), math.random(0, 99), math.random(10000, 99999), math.random(0, 500))
  return wrk.format("POST", "/api/customers", headers, body)
end
bench.install("201")
