#!/usr/bin/env bash
# End-to-end: the user's command (scripts/run) on its local default database keeps data across a
# restart. Starts scripts/run with the local database's file in a temp folder and free ports,
# creates a document, stops it with SIGTERM, starts it again and reads the document back.
# Then no acknowledged write is lost when the database process dies: on the same file, the
# local database (scripts/mongo-java-server --h2, as scripts/run starts it) is killed with
# SIGKILL right after each of 20 201s and started again, then three times while 8 concurrent
# writers are under way; every document answered 201 must be there after the restarts.
#
#   tests/e2e/run_local_default.sh PATH/TO/odmd
#
# Exit 0 when it passed, 1 when it failed, 77 when skipped (the reason is printed).
set -uo pipefail

odmd_bin=${1:?usage: run_local_default.sh PATH/TO/odmd}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [[ ${ODMD_TEST_BACKEND:-} == ferretdb ]]; then
    echo "run_local_default: skipped: the local default database is mongo-java-server (H2), not FerretDB"
    exit 77
fi
command -v curl >/dev/null || { echo "run_local_default: skipped: curl is not installed"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/odmd-e2e-run-XXXXXX")
failures=0
run_pid=""

fail() {
    echo "run_local_default: FAIL: $*" >&2
    failures=$((failures + 1))
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cleanup() {
    local pid
    for pid in "$run_pid" "$odmd_pid" "$db_pid"; do
        if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    if ((failures == 0)); then
        rm -rf "$tmp"
    else
        echo "run_local_default: kept $tmp for inspection" >&2
    fi
}
trap cleanup EXIT

kills=20
db_pid=""
odmd_pid=""
db_port=$(free_port)
http_port=$(free_port)
base="http://127.0.0.1:$http_port"
db_file="$tmp/var/db/odmd.mv.db"

# Unsets every ODMD_* variable of this shell (run it in a subshell).
clear_odmd_env() {
    local name
    for name in $(compgen -e); do
        if [[ $name == ODMD_* ]]; then unset "$name"; fi
    done
}

# Starts scripts/run in the background (its output in $tmp/run-N.log), waits for /readyz.
start_run() {
    local n=$1
    (
        # Only what this test means to set: no ODMD_* variable from the caller's environment.
        clear_odmd_env
        export ODMD_SKIP_SETUP=1 ODMD_BUILD_DIR="$(dirname "$odmd_bin")" \
            ODMD_LOCAL_DB_PORT="$db_port" ODMD_LOCAL_DB_FILE="$db_file"
        exec "$root/scripts/run" --listen "127.0.0.1:$http_port"
    ) >"$tmp/run-$n.log" 2>&1 &
    run_pid=$!
    local i
    for ((i = 0; i < 1200; i++)); do # up to 120 s: the first start may build the launcher
        if [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]]; then
            return 0
        fi
        if ! kill -0 "$run_pid" 2>/dev/null; then
            fail "scripts/run (start $n) exited before odmd was ready; its output:"
            tail -n 30 "$tmp/run-$n.log" >&2
            return 1
        fi
        sleep 0.1
    done
    fail "odmd was not ready 120 s after scripts/run (start $n)"
    tail -n 30 "$tmp/run-$n.log" >&2
    return 1
}

# SIGTERM to scripts/run: odmd drains and exits 0, the local database stops; status 0.
stop_run() {
    local n=$1 status i
    kill -TERM "$run_pid"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$run_pid" 2>/dev/null; then
        fail "scripts/run (start $n) still running 30 s after SIGTERM"
        kill -KILL "$run_pid"
    fi
    wait "$run_pid"
    status=$?
    run_pid=""
    ((status == 0)) || fail "scripts/run (start $n) exited with status $status after SIGTERM"
    if (exec 3<>"/dev/tcp/127.0.0.1/$db_port") 2>/dev/null; then
        fail "the local database still listens on $db_port after scripts/run stopped"
    fi
}

start_run 1 || exit 1
[[ -f $db_file ]] || fail "the local database did not use ODMD_LOCAL_DB_FILE ($db_file)"
body='{"email":"persist@example.com","name":"Persisted","age":33}'
post_user() {
    created=$(curl -s -D "$tmp/headers" -H 'Content-Type: application/json' -d "$body" \
        -w '\n%{http_code}' "$base/api/users")
    status=${created##*$'\n'}
}
post_user
if [[ $status == 500 ]]; then
    # mongo-java-server can fail an insert racing odmd's start-up createIndexes on a new
    # collection ("Unknown error: null"); that race is not what this test is about.
    echo "run_local_default: NOTE: the first POST raced index creation (500: ${created%$'\n'*}); retrying once"
    sleep 1
    post_user
fi
[[ $status == 201 ]] || fail "POST /api/users: status $status: $created"
location=$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Ll]ocation: //p')
[[ $location == /api/users/* ]] || fail "POST /api/users: Location '$location'"
stop_run 1

start_run 2 || exit 1
got=$(curl -s -w '\n%{http_code}' "$base$location")
status=${got##*$'\n'}
[[ $status == 200 ]] || fail "GET $location after a restart: status $status: $got"
[[ $got == *'"email":"persist@example.com"'* && $got == *'"age":33'* ]] ||
    fail "GET $location after a restart: $got"
# The unique index survived too.
dup=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "$body" \
    "$base/api/users")
[[ $dup == 409 ]] || fail "a duplicate email after a restart: status $dup"
stop_run 2

# ---- acknowledged writes survive SIGKILL of the database --------------------------------------

# Starts the local database on $db_file (as scripts/run does), waits for its "listening" line.
start_db() {
    local n=$1 i
    "$root/scripts/mongo-java-server" --port "$db_port" --h2 "$db_file" \
        >"$tmp/db-$n.out" 2>"$tmp/db-$n.log" </dev/null &
    db_pid=$!
    for ((i = 0; i < 600; i++)); do
        grep -qs '^listening ' "$tmp/db-$n.out" && return 0
        if ! kill -0 "$db_pid" 2>/dev/null; then
            fail "the local database (start $n) exited: $(tail -n 5 "$tmp/db-$n.log")"
            return 1
        fi
        sleep 0.1
    done
    fail "the local database (start $n) did not listen within 60 s"
    return 1
}

kill_db() {
    kill -KILL "$db_pid"
    wait "$db_pid" 2>/dev/null
    db_pid=""
}

# GET PATH until it answers something other than 503 (odmd reconnecting), at most 20 s.
get_settled() {
    local i code
    for ((i = 0; i < 200; i++)); do
        code=$(curl -s -o "$tmp/got" -w '%{http_code}' "$base$1")
        [[ $code != 503 && $code != 000 ]] && break
        sleep 0.1
    done
    echo "$code"
}

start_db 0 || exit 1
(clear_odmd_env && exec "$odmd_bin" --listen "127.0.0.1:$http_port" --mongo-uri "mongodb://127.0.0.1:$db_port/odmd" \
    --schemas "$root/schemas") >"$tmp/odmd.out" 2>"$tmp/odmd.log" </dev/null &
odmd_pid=$!
ready=false
for ((i = 0; i < 300; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] && { ready=true; break; }
    sleep 0.1
done
$ready || { fail "odmd on the local database was not ready within 30 s: $(tail -n 5 "$tmp/odmd.log")"; kills=0; }
acked=()
for ((k = 1; k <= kills; k++)); do
    code=$(curl -s -o "$tmp/post" -D "$tmp/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        -d "{\"email\":\"killed-$k@example.com\",\"name\":\"Kill $k\",\"age\":$k}" \
        "$base/api/users")
    kill_db # right after the 201 reached us
    if [[ $code == 201 ]]; then
        acked+=("$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Ll]ocation: //p')")
    else
        echo "run_local_default: NOTE: write $k answered $code (not acknowledged): $(cat "$tmp/post")"
    fi
    start_db "$k" || break
    get_settled "/readyz" >/dev/null
done
((kills == 0 || ${#acked[@]} >= kills / 2)) || fail "only ${#acked[@]} of $kills writes were acknowledged"
lost=0
for location in "${acked[@]}"; do
    code=$(get_settled "$location")
    if [[ $code != 200 ]]; then
        lost=$((lost + 1))
        echo "run_local_default: acknowledged $location answers $code after SIGKILL and restart" >&2
    fi
done
((lost == 0)) || fail "$lost of ${#acked[@]} acknowledged writes were lost when the database was killed"

# Concurrent writers share commits: WRITERS loops POST as fast as they can and record every
# 201's Location; the database is killed while they run. Every recorded write must survive.
writers=8
concurrent_total=0
concurrent_lost=0
writer_loop() {
    local w=$1 round=$2 n=0 code
    while :; do
        n=$((n + 1))
        code=$(curl -s -o /dev/null -D "$tmp/h-$round-$w" -w '%{http_code}' -m 5 \
            -H 'Content-Type: application/json' \
            -d "{\"email\":\"c$round-$w-$n@example.com\",\"name\":\"C\"}" "$base/api/users")
        [[ $code == 201 ]] || break
        tr -d '\r' <"$tmp/h-$round-$w" | sed -n 's/^[Ll]ocation: //p' >>"$tmp/acked-$round"
    done
}
for round in 1 2 3; do
    ((${#acked[@]} > 0)) || break # the database did not come back above
    : >"$tmp/acked-$round"
    pids=()
    for ((w = 1; w <= writers; w++)); do
        writer_loop "$w" "$round" &
        pids+=($!)
    done
    sleep 0.$((3 + round * 2))
    kill_db
    wait "${pids[@]}"
    start_db "c$round" || break
    get_settled "/readyz" >/dev/null
    while read -r location; do
        concurrent_total=$((concurrent_total + 1))
        code=$(get_settled "$location")
        if [[ $code != 200 ]]; then
            concurrent_lost=$((concurrent_lost + 1))
            echo "run_local_default: acknowledged $location (concurrent round $round) answers $code" >&2
        fi
    done <"$tmp/acked-$round"
done
echo "run_local_default: $concurrent_total writes acknowledged by $writers concurrent writers before" \
    "3 kills; $concurrent_lost lost"
((concurrent_total > 0)) || fail "no concurrent write was acknowledged"
((concurrent_lost == 0)) ||
    fail "$concurrent_lost of $concurrent_total concurrently acknowledged writes were lost"
kill -TERM "$odmd_pid"
wait "$odmd_pid"
odmd_pid=""
kill -TERM "$db_pid"
wait "$db_pid"
db_pid=""

if ((failures > 0)); then
    echo "run_local_default: $failures failed"
    exit 1
fi
echo "run_local_default: passed (a document survived a restart of scripts/run; ${#acked[@]} of" \
    "${#acked[@]} acknowledged writes, and $concurrent_total of $concurrent_total from concurrent" \
    "writers, survived SIGKILL of the database)"
