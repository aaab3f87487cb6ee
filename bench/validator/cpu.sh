#!/usr/bin/env bash
# Validations per CPU-second of odmd and ajv on each workload of run.sh, steadier than run.sh's
# wall-clock rates on a shared machine: each engine runs each workload alone for BENCH_SECONDS
# (default 2) and for 0 s, and the rate is the difference in validations over the difference in
# CPU time (user + system, node's compiler and GC threads included), so that loading,
# compiling and warm-up cancel out. Prints one line per workload: name, odmd/CPU-s, ajv/CPU-s,
# ratio. Repeat it and report the range: one run is one sample. Needs /usr/bin/time (Debian's
# time, in scripts/packages.sh's benchmark list) besides what run.sh needs.
#
#   bench/validator/cpu.sh [NAME-SUBSTRING]   # only the workloads whose name contains it
#   ODMD_DRIVER=path/to/driver bench/validator/cpu.sh   # another build of the odmd side
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
driver="${ODMD_DRIVER:-$build/driver}" # another build of the driver, e.g. an older one
"$here/run.sh" --setup
seconds="${BENCH_SECONDS:-2}"
filter="${1:-}"

# CPU seconds and validations of one engine on one workload file for $2 seconds.
sample() { # engine file seconds
    local out cpu
    out=$(mktemp)
    if [ "$1" = odmd ]; then
        cpu=$(BENCH_SECONDS=$3 /usr/bin/time -f '%U %S' "$driver" "$2" 2>&1 >"$out" | tail -1)
    else
        cpu=$(BENCH_SECONDS=$3 /usr/bin/time -f '%U %S' node "$here/ajv-bench.mjs" "$2" 2>&1 >"$out" |
            tail -1)
    fi
    node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").pop();
             const [u,s]=process.argv[2].split(" ").map(Number);
             console.log(u+s, JSON.parse(l).validations)' "$out" "$cpu"
    rm -f "$out"
}

n=$(node -e 'console.log(require(process.argv[1]).length)' "$build/workloads.json")
for ((i = 0; i < n; i++)); do
    one="$build/workload-$i.json"
    node -e 'const w=require(process.argv[1]);console.log(JSON.stringify([w[+process.argv[2]]]))' \
        "$build/workloads.json" "$i" >"$one"
    name=$(node -e 'console.log(require(process.argv[1])[0].name)' "$one")
    [[ -n "$filter" && "$name" != *"$filter"* ]] && continue
    line="$name"
    for engine in odmd ajv; do
        read -r c0 v0 < <(sample "$engine" "$one" 0)
        read -r c1 v1 < <(sample "$engine" "$one" "$seconds")
        rate=$(node -e 'console.log(Math.round((process.argv[3]-process.argv[4])/(process.argv[1]-process.argv[2])))' \
            "$c1" "$c0" "$v1" "$v0")
        line="$line	$rate"
    done
    echo "$line" | awk -F'\t' '{printf "%s\t%s\t%s\t%.2f\n", $1, $2, $3, $2 / $3}'
done
