#!/usr/bin/env bash
# Validator benchmark (not a test): validations per second of odmd's JSON Schema validator
# against ajv 8 (draft 2020-12, ajv-formats), on the example models, a large nested schema and
# the official suite's cases taken together. Writes bench/results/validator.md.
#
#   bench/validator/run.sh            # BENCH_SECONDS=1 per workload and engine by default
#   bench/validator/run.sh --setup    # only builds and writes build/workloads.json (cpu.sh)
#
# Builds odm_schema and odm_core (Release) in bench/validator/build/cmake and the C driver next
# to it; installs ajv with npm ci when node_modules is missing. Needs cmake, ninja, cc, node/npm,
# and the suite in ../shared/jsonschema-suite (the suite workload is skipped without it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/build"
suite="${ODMD_SUITE:-$root/../shared/jsonschema-suite}"
mkdir -p "$build" "$root/bench/results"

cmake -S "$root" -B "$build/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release -DODMD_TESTS=OFF >/dev/null
cmake --build "$build/cmake" --target odm_schema odm_core >/dev/null
cc -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -I"$root/include" "$here/driver.c" -o "$build/driver" \
  "$build/cmake/libodm_schema.a" "$build/cmake/libodm_core.a" -ljansson -lpcre2-8 -lpthread

if [ ! -d "$here/node_modules/ajv" ]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
fi

# Workloads: {name, schema, instances, formats, allErrors, writeErrors} or {name, suite, remotes,
# ids}. "all errors" collects every error (odmd: into a reused odm_schema_errors_t; ajv: its
# errors array); "all errors written" also writes them as JSON text (odm_schema_errors_write into
# a reused buffer; JSON.stringify of ajv's errors).
d="$here/data"
models=(users "$root/schemas/users.json" orders "$root/schemas/orders.json"
        marketplace "$d/marketplace.schema.json")
{
  echo "["
  for ((k = 0; k < ${#models[@]}; k += 2)); do
    m="${models[k]}" s="${models[k + 1]}"
    for kind in valid invalid; do
      echo "{\"name\": \"$m $kind\", \"schema\": \"$s\", \"instances\": [\"$d/$m-$kind.json\"]},"
    done
    echo "{\"name\": \"$m invalid, all errors\", \"schema\": \"$s\", \"allErrors\": true,"
    echo " \"instances\": [\"$d/$m-invalid.json\"]},"
    echo "{\"name\": \"$m invalid, all errors written\", \"schema\": \"$s\", \"allErrors\": true,"
    echo " \"writeErrors\": true, \"instances\": [\"$d/$m-invalid.json\"]},"
  done
  if [ -d "$suite/tests/draft2020-12" ]; then
    echo "{\"name\": \"suite cases together\", \"suite\": \"$suite/tests/draft2020-12\","
    echo " \"remotes\": \"$suite/remotes\", \"formats\": \"annotate\", \"ids\": \"$build/suite-ids.json\"},"
  fi
  echo "{\"name\": \"users valid and invalid\", \"schema\": \"$root/schemas/users.json\","
  echo " \"instances\": [\"$d/users-valid.json\", \"$d/users-invalid.json\"]}"
  echo "]"
} >"$build/workloads.json"

[ "${1:-}" = --setup ] && exit 0

"$build/driver" "$build/workloads.json" | tee "$build/odmd.jsonl"
node "$here/ajv-bench.mjs" "$build/workloads.json" | tee "$build/ajv.jsonl"
node "$here/report.mjs" "$build/odmd.jsonl" "$build/ajv.jsonl" >"$root/bench/results/validator.md"
echo "wrote bench/results/validator.md"
