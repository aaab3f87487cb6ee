#!/usr/bin/env python3
"""Writes the first seeds of the fuzz corpora (fuzz/corpus/NAME/seed-*), before libFuzzer
grows and -merge=1 minimises them: the official suite's draft 2020-12 cases for fuzz_schema,
hand-written bodies and query parameters for fuzz_body and fuzz_filter.

Usage: fuzz/make_seeds.py [SUITE_DIR]   (default ../shared/jsonschema-suite beside the repo)
"""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX_SEED = 2048  # bytes: small seeds mutate faster

BODIES = [
    {"email": "ada@example.com", "name": "Ada", "password": "correct horse",
     "role": "admin", "age": 36, "birthday": "1815-12-10",
     "lastLogin": "2024-03-01T12:00:00.5+01:30",
     "address": {"street": "12 St James's Square", "city": "London", "zip": "12345"},
     "tags": ["math", "engines"]},
    {"_id": "65F0C0FFEE0000000000BEEF", "email": "b@example.org", "name": "B\u00e9",
     "age": 1.0, "lastLogin": "0001-01-01t00:00:00z"},
    {"userId": "65f0c0ffee0000000000beef", "status": "paid", "total": 12.5,
     "placedAt": "2024-02-29T23:59:59.999-00:00", "note": "\u2603 \U0001F600",
     "items": [{"sku": "AB-1", "qty": 2, "price": 1e-3}, {"sku": "ZZZ", "qty": 1, "price": 0}]},
    {"userId": "65f0c0ffee0000000000beef", "items": [{"sku": "abc", "qty": 0, "price": -1}],
     "status": "lost", "total": 1.234, "placedAt": "yesterday"},
    {"email": "x@y.z", "name": "n", "lastLogin": "9999-12-31T23:59:59Z", "extra": [1, {"k": None}],
     "big": 9223372036854775807, "small": -9223372036854775808, "real": 1.7976931348623157e308},
    {"email": "x@y.z", "name": "n", "lastLogin": "2016-12-31T23:59:60Z", "__v": 3},
    [1, "two", None, True],
]

FILTERS = [
    '{"name": "Ada"}',
    '{"age": {"$gte": 18, "$lt": 65}, "role": {"$in": ["admin", "member"]}}',
    '{"$or": [{"email": {"$regex": "^a", "$options": "i"}}, {"tags": {"$nin": ["x"]}}]}',
    '{"lastLogin": {"$gt": "2024-01-01T00:00:00Z"}, "_id": "65f0c0ffee0000000000beef"}',
    '{"address.city": {"$not": {"$eq": "Paris"}}, "birthday": {"$exists": true}}',
    '{"$and": [{"items.sku": "AB-1"}, {"total": {"$ne": null}}], "$nor": [{"status": "paid"}]}',
    '{"userId": {"$in": ["65f0c0ffee0000000000beef"]}, "placedAt": {"$lte": "2024-01-01T00:00:00Z"}}',
    '{"password": "x"}',
    '{"address": {"city": "x"}}',
    '{"name": {"$where": "1"}}',
    '-age,name',
    'address.city,tags,_id',
    'items.0.sku,+total,-placedAt',
    'email,email',
    'address,address.city',
]


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def dumps(value):
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: keep it as an escape
        return json.dumps(value, separators=(",", ":")).encode()


def schema_seeds(suite):
    count = 0
    files = sorted(glob.glob(os.path.join(suite, "tests", "draft2020-12", "*.json")))
    files += sorted(glob.glob(os.path.join(suite, "tests", "draft2020-12", "optional", "format",
                                           "*.json")))
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        asserting = "/optional/format/" in path
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)
        for i, case in enumerate(cases):
            tests = case["tests"]
            for j in sorted({0, len(tests) - 1}):
                flags = 1 if asserting or (i + j) % 2 else 0
                data = bytes([flags]) + dumps(case["schema"]) + b"\0" + dumps(tests[j]["data"])
                if len(data) <= MAX_SEED:
                    write("fuzz_schema", "%s-%d-%d" % (stem, i, j), data)
                    count += 1
    return count


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared",
                                                                "jsonschema-suite")
    print("fuzz_schema:", schema_seeds(suite), "seeds;", end=" ")
    for i, body in enumerate(BODIES):
        write("fuzz_body", "%d" % i, dumps(body))
    for name in sorted(glob.glob(os.path.join(ROOT, "bench", "validator", "data", "[uo]*.json"))):
        with open(name, "rb") as f:
            write("fuzz_body", os.path.basename(name), f.read())
    for i, text in enumerate(FILTERS):
        write("fuzz_filter", "%d" % i, text.encode())
    print("fuzz_body:", len(BODIES) + 4, "seeds; fuzz_filter:", len(FILTERS), "seeds")


if __name__ == "__main__":
    main()
