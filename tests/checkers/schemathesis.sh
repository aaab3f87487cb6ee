#!/usr/bin/env bash
# Runs schemathesis (pinned in tools/checkers/requirements.txt, installed under var/schemathesis
# by scripts/setup) against a running odmd with the document it serves: every check
# (schemathesis.toml: all of them, with its narrow exceptions), every phase including the stateful one (the links from POST's 201 to the
# document's operations). Starts mongo-java-server in memory and odmd on free ports, with
# schemas/ and tests/e2e/schemas/.
#
#   tests/checkers/schemathesis.sh PATH/TO/odmd
#
# Exit 0 when no check failed, 1 otherwise, 77 when schemathesis or the local database is not
# there (1 with CI set). ODMD_SCHEMATHESIS_TIME (seconds, default 150) bounds the run.
set -uo pipefail

odmd_bin=${1:?usage: schemathesis.sh PATH/TO/odmd}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
st="$root/var/schemathesis/bin/schemathesis"

skip() {
    echo "schemathesis: $*"
    [[ -n ${CI:-} ]] && exit 1
    exit 77
}
[[ -x $st ]] || skip "not installed under var/schemathesis (scripts/setup installs it)"
[[ ${ODMD_TEST_BACKEND:-} == ferretdb ]] && { echo "schemathesis: skipped: runs on mongo-java-server only"; exit 77; }
command -v java >/dev/null || skip "java is not installed (the local database needs it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/odmd-schemathesis-XXXXXX")
db_pid="" odmd_pid=""
cleanup() {
    local pid
    for pid in "$odmd_pid" "$db_pid"; do
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

mkdir "$tmp/schemas"
cp "$root"/schemas/*.json "$root"/tests/e2e/schemas/*.json "$tmp/schemas/"

"$root/scripts/mongo-java-server" --port 0 --memory >"$tmp/db.out" 2>"$tmp/db.err" &
db_pid=$!
db_port=""
for _ in $(seq 1 600); do
    db_port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/db.out")
    [[ -n $db_port ]] && break
    kill -0 "$db_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n $db_port ]] || { cat "$tmp/db.err"; echo "schemathesis: FAIL: the local database did not start"; exit 1; }

port=$(free_port)
base="http://127.0.0.1:$port"
"$odmd_bin" --listen "127.0.0.1:$port" --schemas "$tmp/schemas" \
    --mongo-uri "mongodb://127.0.0.1:$db_port/odmd_schemathesis" --log-level warn \
    2>"$tmp/odmd.log" &
odmd_pid=$!
for _ in $(seq 1 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] && break
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] ||
    { cat "$tmp/odmd.log"; echo "schemathesis: FAIL: odmd did not become ready"; exit 1; }

cd "$tmp" || exit 1
rc=0
# One worker: with two, Python 3.11's ast.parse (which Hypothesis calls to describe its filters)
# raced between threads here ("AST constructor recursion depth mismatch", a CPython 3.11 bug).
"$st" --no-color --config-file "$root/tests/checkers/schemathesis.toml" run "$base/openapi.json" \
    --url "$base" --phases examples,coverage,fuzzing,stateful \
    --max-time "${ODMD_SCHEMATHESIS_TIME:-150}" --workers 1 --seed 1 \
    --report junit --report-dir "$tmp/report" >"$tmp/st.out" 2>&1 || rc=$?
cat "$tmp/st.out"
if ((rc != 0)); then
    echo "schemathesis: odmd's warnings and errors:"
    grep -v '"level":"info"' "$tmp/odmd.log" | tail -40
fi
if ! kill -0 "$odmd_pid" 2>/dev/null; then
    echo "schemathesis: FAIL: odmd died during the run"
    tail -50 "$tmp/odmd.log"
    rc=1
else
    # a clean stop: exit 0, and under the sanitizers no report (they make the exit status fail)
    kill -TERM "$odmd_pid"
    wait "$odmd_pid"
    odmd_rc=$?
    odmd_pid=""
    if ((odmd_rc != 0)); then
        echo "schemathesis: FAIL: odmd exited $odmd_rc after the run"
        tail -50 "$tmp/odmd.log"
        rc=1
    fi
fi
((rc == 0)) && echo "schemathesis: passed" || echo "schemathesis: FAIL (exit $rc)"
((rc == 0))
