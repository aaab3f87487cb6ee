"""Drives odmd's bulk writes with Python's urllib (e2e.bulk runs it): POST of an array, PATCH and
DELETE with ?filter=. Asserts what it reads; exit status 0 and "bulk ok" when all held."""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1]


def call(method, path, body=None, content_type="application/json"):
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"Content-Type": content_type}
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def expect(what, got, want):
    if got != want:
        print("FAIL", what, "got", repr(got), "want", repr(want))
        sys.exit(1)


status, items = call("POST", "/api/notes", [{"title": "py1", "n": 1}, {"title": 5},
                                            {"title": "py2", "n": 2}])
expect("POST status", status, 200)
expect("POST item statuses", [i["status"] for i in items], [201, 422, 201])
expect("POST etag", items[0]["etag"].startswith('"'), True)
status, doc = call("GET", "/api/notes/" + items[0]["_id"])
expect("GET inserted", (status, doc.get("title")), (200, "py1"))

flt = urllib.parse.quote(json.dumps({"title": {"$in": ["py1", "py2"]}}))
status, tally = call("PATCH", "/api/notes?filter=" + flt, {"n": 9},
                     "application/merge-patch+json")
expect("PATCH", (status, tally["matched"], tally["modified"], tally["failed"]), (200, 2, 2, 0))
status, doc = call("GET", "/api/notes/" + items[2]["_id"])
expect("GET patched", doc.get("n"), 9)

status, problem = call("DELETE", "/api/notes")
expect("DELETE without filter", (status, problem["status"]), (400, 400))
status, answer = call("DELETE", "/api/notes?filter=" + flt)
expect("DELETE", (status, answer), (200, {"deleted": 2}))
print("bulk ok")
