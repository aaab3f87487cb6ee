#!/usr/bin/env bash
# Static check of docker-compose.yml and the Dockerfile: no Docker engine runs here, so the
# stack is never started; Debian's docker-compose parses, validates and resolves the file.
#
#   tests/compose/check_compose.sh [REPO_ROOT]
#
# Fails when docker-compose is missing (apt-get install docker-compose, or scripts/setup).
set -uo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
passed=0 failed=0
key=compose-check-key-123

check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what"
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    ((failed == 0))
    exit
}

compose=$(command -v docker-compose) || {
    echo "FAIL: docker-compose is not installed (apt-get install docker-compose, or scripts/setup)"
    failed=1
    finish
}
# The interpreter docker-compose runs on has PyYAML (docker-compose needs it).
python=$(sed -n '1s/^#![[:space:]]*//p' "$compose" | awk '{print $1}')
[[ -x $python ]] || python=/usr/bin/python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.env"

# config FILE: resolved configuration on stdout, docker-compose's messages on stderr. A .env
# file or COMPOSE_* variable of the caller's must not change the verdict.
config() {
    env -u COMPOSE_FILE -u COMPOSE_PROJECT_NAME -u ODMD_LOG_LEVEL "$@"
}

# 1. The file as shipped, with a key: valid, and it says what it should.
config ODMD_API_KEY="$key" "$compose" --env-file "$tmp/empty.env" -f "$root/docker-compose.yml" config \
    >"$tmp/resolved.yml" 2>"$tmp/err"
rc=$?
check "docker-compose config accepts docker-compose.yml (exit $rc: $(cat "$tmp/err"))" test "$rc" -eq 0

assert_resolved() {
    KEY="$key" ROOT="$root" "$python" - "$tmp/resolved.yml" <<'PY'
import os, sys, yaml

doc = yaml.safe_load(open(sys.argv[1]))
failures = []

def expect(ok, what):
    if not ok:
        failures.append(what)

services = doc.get("services", {})
expect(set(services) >= {"mongo", "odmd"}, "services mongo and odmd, got %s" % sorted(services))
mongo = services.get("mongo", {})
odmd = services.get("odmd", {})

expect(str(mongo.get("image", "")).startswith("mongo:"), "mongo uses the official mongo image")
test = mongo.get("healthcheck", {}).get("test", [])
expect(test[:2] == ["CMD", "mongosh"] and "ping" in " ".join(test), "mongo's healthcheck pings with mongosh: %s" % test)
mounts = [v for v in mongo.get("volumes", []) if str(v).split(":")[1:2] == ["/data/db"]]
expect(len(mounts) == 1, "mongo keeps /data/db in a volume")
volume = str(mounts[0]).split(":")[0] if mounts else None
expect(volume in (doc.get("volumes") or {}), "that volume is a named volume: %s" % volume)

expect(os.path.realpath(odmd.get("build", {}).get("context", "")) == os.path.realpath(os.environ["ROOT"]),
       "odmd is built from the repository's Dockerfile")
cond = odmd.get("depends_on", {}).get("mongo", {}).get("condition")
expect(cond == "service_healthy", "odmd depends on mongo being healthy, got %r" % cond)
env = odmd.get("environment", {})
expect(env.get("ODMD_MONGO_URI") == "mongodb://mongo:27017/odmd", "ODMD_MONGO_URI points at the mongo service")
expect(env.get("ODMD_API_KEY") == os.environ["KEY"], "ODMD_API_KEY comes from the environment")
expect(odmd.get("healthcheck", {}).get("test") == ["CMD", "odmd", "health", "http://127.0.0.1:8080/healthz"],
       "odmd's healthcheck is odmd health on /healthz: %s" % odmd.get("healthcheck"))
ports = odmd.get("ports", [])
expect(any(p.get("target") == 8080 and str(p.get("published")) == "8080" for p in ports if isinstance(p, dict)),
       "odmd publishes port 8080: %s" % ports)
schemas = [v for v in odmd.get("volumes", []) if str(v).endswith(":/app/schemas:ro")]
expect(len(schemas) == 1 and os.path.realpath(str(schemas[0]).split(":")[0]) == os.path.realpath(os.path.join(os.environ["ROOT"], "schemas")),
       "schemas/ is mounted read-only at /app/schemas: %s" % odmd.get("volumes"))

for f in failures:
    print("FAIL: " + f)
sys.exit(1 if failures else 0)
PY
}
if ((rc == 0)); then
    check "the resolved configuration (above)" assert_resolved
fi

# 2. Without ODMD_API_KEY it refuses, naming the variable (port 8080 is public: no silent open API).
config "$compose" --env-file "$tmp/empty.env" -f "$root/docker-compose.yml" config >/dev/null 2>"$tmp/err"
rc=$?
check "docker-compose config refuses a missing ODMD_API_KEY (exit $rc)" test "$rc" -ne 0
check "the refusal names ODMD_API_KEY: $(cat "$tmp/err")" grep -q 'ODMD_API_KEY' "$tmp/err"

# 3. The check can fail: a misspelt depends_on condition is rejected.
mkdir -p "$tmp/bad/schemas"
sed 's/condition: service_healthy/condition: service_healty/' "$root/docker-compose.yml" >"$tmp/bad/docker-compose.yml"
config ODMD_API_KEY="$key" "$compose" --env-file "$tmp/empty.env" -f "$tmp/bad/docker-compose.yml" config >/dev/null 2>"$tmp/err"
rc=$?
check "a misspelt depends_on condition is rejected (exit $rc)" test "$rc" -ne 0
check "the rejection is about the condition: $(cat "$tmp/err")" grep -q 'service_healty' "$tmp/err"

# 4. The Dockerfile serves on 0.0.0.0:8080, checks its health the same way, ships the models.
dockerfile=$root/Dockerfile
check "the Dockerfile starts from debian:bookworm" grep -qE '^FROM debian:bookworm( |$)' "$dockerfile"
check "the Dockerfile's HEALTHCHECK runs odmd health on /healthz" \
    grep -qF 'CMD ["odmd", "health", "http://127.0.0.1:8080/healthz"]' "$dockerfile"
check "the Dockerfile runs odmd --listen 0.0.0.0:8080" \
    grep -qF 'CMD ["odmd", "--listen", "0.0.0.0:8080"]' "$dockerfile"
check "the Dockerfile copies schemas/" grep -qE '^COPY schemas/ ' "$dockerfile"
check "the Dockerfile builds with scripts/setup" grep -qE '^RUN scripts/setup ' "$dockerfile"
check "the image's build context lets in what it copies" \
    bash -c 'for p in CMakeLists.txt include/ src/ scripts/ schemas/; do grep -qxF "!$p" "$1/.dockerignore" || exit 1; done' _ "$root"

finish
