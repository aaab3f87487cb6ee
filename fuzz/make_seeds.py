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

# Format assertion: one valid and one near-miss string per format (the suite's optional/format
# cases are not always present beside the repository).
FORMATS = {
    "date-time": ["1963-06-19T08:30:06.283185Z", "1990-12-31T15:59:60-08:00", "2013-350T01:01:01"],
    "date": ["2020-02-29", "2021-02-29", "1998-1-20"],
    "time": ["08:30:06.283185Z", "23:59:60+00:00", "12:00:00+25:00"],
    "duration": ["P4DT12H30M5S", "P1Y2M3DT4H5M6.5S", "PT", "P2W", "P1D2H"],
    "email": ["joe.bloggs@example.com", '"joe bloggs"@example.com', "joe@[127.0.0.1]",
              "te..st@example.com"],
    "idn-email": ["\uc2e4\ub840@\uc2e4\ub840.\ud14c\uc2a4\ud2b8", "2962"],
    "hostname": ["www.example.com", "-a-host-name-that-starts-with--", "xn--4gbwdl.xn--wgbh1c"],
    "idn-hostname": ["\uc2e4\ub840.\ud14c\uc2a4\ud2b8", "xn--X", "\u0627\u0660\u06f0"],
    "ipv4": ["192.168.0.1", "087.10.0.1", "256.256.256.256"],
    "ipv6": ["::1", "1:d6::42", "::ffff:192.168.0.1", "12345::", "fe80::a%eth1"],
    "uri": ["http://foo.bar/?baz=qux#quux", "ldap://[2001:db8::7]/c=GB?objectClass?one",
            "urn:oasis:names:specification:docbook:dtd:xml:4.1.2", "\\\\WINDOWS\\fileshare"],
    "uri-reference": ["/abc", "#fragment", "\\\\WINDOWS\\fileshare", "#frag\\ment"],
    "iri": ["http://\u0192\u00f8\u00f8.\u00df\u00e5r/?\u2202\u00e9\u0153=\u03c0\u00eex#\u03c0",
            "http://[2001:db8::7]/", "/abc"],
    "iri-reference": ["//\u0192\u00f8\u00f8.\u00df\u00e5r/?\u2202\u00e9\u0153", "#\u0192r\u00e4g\\m"],
    "uuid": ["2EB8AA08-AA98-11EA-B4AA-73B441D16380", "2eb8aa08-aa98-11ea-b4aa-73b441d1638",
             "00000000-0000-0000-0000-000000000000"],
    "json-pointer": ["/foo/bar~0/baz~1/%a", "/foo/bar~", "#/", ""],
    "relative-json-pointer": ["0/foo/bar", "1#", "-1/foo", "+1/foo/bar", "120/foo"],
    "uri-template": ["http://example.com/dictionary/{term:1}/{term}", "http://example.com/{x",
                     "{+path,x}/here{?q*}{#frag:3}"],
    "regex": ["([abc])+\\s+$", "^(abc]", "\\p{Letter}\\cC(?<n>a)\\k<n>", "(?<=a)b"],
}

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
    for name, samples in sorted(FORMATS.items()):
        for j, sample in enumerate(samples):
            data = b"\1" + dumps({"format": name}) + b"\0" + dumps(sample)
            write("fuzz_schema", "format-%s-%d" % (name, j), data)
            count += 1
    # the paths that allocate: uniqueItems over 32 items, unevaluated* over 256 members
    big = {
        "unique-40": ({"uniqueItems": True}, list(range(39)) + [{"a": [1.0]}, {"a": [1]}]),
        "unevaluated-300": ({"properties": {"k7": True}, "unevaluatedProperties": {"type": "integer"}},
                            {"k%d" % i: i for i in range(300)}),
        "unevaluated-items-300": ({"prefixItems": [True], "unevaluatedItems": False}, [0] * 300),
    }
    # two documents (flags bit 3): the schema, then one registered as OTHER_URI
    other = "http://example.com/other.json"
    pairs = {
        "two-defs": ({"$ref": other + "#/$defs/a"},
                     {"$defs": {"a": {"type": "integer", "minimum": 3}}}, 2),
        "two-relative": ({"$id": "http://example.com/root.json", "properties": {"x": {"$ref": "other.json"}}},
                         {"items": {"$ref": "root.json"}}, {"x": [{"x": []}]}),
        "two-dynamic": ({"$dynamicAnchor": "node", "$ref": other, "properties": {"v": {"type": "string"}}},
                        {"$dynamicAnchor": "node", "properties": {"kids": {"items": {"$dynamicRef": "#node"}}}},
                        {"kids": [{"v": 1}]}),
        "two-anchor": ({"$ref": other + "#here"}, {"$defs": {"h": {"$anchor": "here", "const": None}}}, None),
        "two-bad": ({"$ref": other + "#/$defs/a"}, {"$defs": {"a": {"minLength": -1}}}, "x"),
    }
    for name, (schema, doc, instance) in sorted(pairs.items()):
        write("fuzz_schema", name, b"\x08" + dumps(schema) + b"\0" + dumps(doc) + b"\0" + dumps(instance))
        count += 1
    for name, (schema, instance) in sorted(big.items()):
        write("fuzz_schema", name, b"\0" + dumps(schema) + b"\0" + dumps(instance))
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
