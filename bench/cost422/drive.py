#!/usr/bin/env python3
"""drive.py PORT N: waits for odmd, then N invalid POSTs (bench/lua/post_invalid.lua's body) on
one keep-alive connection after one to warm up; exits 1 unless every answer is 422."""
import http.client
import sys
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
BODY = ('{"email":"not-an-email","name":{"first":"Ada","last":"Lovelace"},"age":12,"plan":"pro",'
        '"active":true,"balance":1234.56,"signedUpAt":"2023-04-05T06:07:08.000Z","address":{"street":'
        '"12 Analytical Engine Way","city":"London","zip":"ABCDE","country":"GB"},"tags":["early-adopter",'
        '"newsletter"],"loginCount":42}')
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/healthz")
        c.getresponse().read()
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("cost422: odmd did not start")
bad = 0
for _ in range(n + 1):
    c.request("POST", "/api/customers", BODY, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    bad += r.status != 422
if bad:
    sys.exit(f"cost422: {bad} answers were not 422")
