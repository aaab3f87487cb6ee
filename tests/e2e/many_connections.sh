#!/usr/bin/env bash
# Many busy keep-alive connections: /healthz must keep flowing at 128 and 256 connections.
# libmicrohttpd 0.9.75's epoll loop stalls when one epoll_wait returns exactly 128 events (see
# src/http/wake.c); without the waker, wrk saw 9 to 300 answers in 2 s here instead of ~100k.
#
#   many_connections.sh ODMD_BINARY
set -euo pipefail
odmd=$1
schemas=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../schemas" && pwd)
command -v wrk >/dev/null || { echo "many_connections: wrk is missing (apt-get install wrk)"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
# no database is needed for /healthz: odmd starts without one
"$odmd" --listen "127.0.0.1:$port" --schemas "$schemas" --mongo-uri mongodb://127.0.0.1:1/ --max-connections 2000 \
    --log-level error 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
up=false
for _ in $(seq 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && { up=true; break; }
    sleep 0.05
done
$up || { echo "FAIL: odmd did not answer /healthz"; cat "$log"; exit 1; }

failed=0
for conns in 128 256; do
    out=$(wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port/healthz")
    done_=$(awk '/requests in/ {print $1}' <<<"$out")
    # far below what any machine does (tens of thousands), far above a stall (hundreds)
    if [[ -z $done_ || $done_ -lt 2000 ]]; then
        echo "FAIL: $conns connections: ${done_:-no} answers in 2 s"
        failed=$((failed + 1))
    else
        echo "ok: $conns connections: $done_ answers in 2 s"
    fi
done
kill -TERM $pid
wait $pid && status=0 || status=$?
[[ $status -eq 0 ]] || { echo "FAIL: odmd exited $status on SIGTERM"; failed=$((failed + 1)); cat "$log"; }
echo "many_connections: $((2 - failed)) passed, $failed failed"
exit $((failed > 0))
