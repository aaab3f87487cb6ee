#!/usr/bin/env bash
# Static check of docker-compose.yml (the default stack and the replset and scale profiles, each
# resolved with --profile), the scale profile's nginx configuration (nginx -t) and the
# Dockerfile: no Docker engine runs here, so no stack is ever started; Debian's docker-compose
# parses, validates and resolves the file.
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

# 5. Each profile resolves (docker-compose --profile X config) and has its shape: the default
# services carry no profile; replset has three keyfile nodes, an init step running rs.initiate
# and an odmd with replicaSet=; scale has three odmd replicas checked on /readyz behind nginx.
for profile in replset scale; do
    config ODMD_API_KEY="$key" "$compose" --env-file "$tmp/empty.env" -f "$root/docker-compose.yml" \
        --profile "$profile" config >"$tmp/$profile.yml" 2>"$tmp/err"
    rc=$?
    check "docker-compose --profile $profile config accepts the file (exit $rc: $(cat "$tmp/err"))" \
        test "$rc" -eq 0
done

assert_profiles() {
    ROOT="$root" "$python" - "$tmp/resolved.yml" "$tmp/replset.yml" "$tmp/scale.yml" <<'PY'
import os, re, sys, yaml

default, replset, scale = (yaml.safe_load(open(p)) for p in sys.argv[1:4])
failures = []

def expect(ok, what):
    if not ok:
        failures.append(what)

def in_profile(doc, name, profile):
    svc = doc.get("services", {}).get(name)
    expect(svc is not None, "service %s exists" % name)
    expect(svc is None or svc.get("profiles") == [profile],
           "%s is in profile %s only: %s" % (name, profile, svc and svc.get("profiles")))
    return svc or {}

def cmd(svc):
    c = svc.get("command", [])
    return " ".join(c) if isinstance(c, list) else str(c)

def depends(svc, on, condition):
    got = svc.get("depends_on", {}).get(on, {}).get("condition")
    expect(got == condition, "depends on %s being %s, got %r" % (on, condition, got))

for name in ("mongo", "odmd"):
    expect("profiles" not in default["services"].get(name, {}), "%s runs by default (no profile)" % name)

nodes = ["mongo-rs1", "mongo-rs2", "mongo-rs3"]
for n in nodes:
    svc = in_profile(replset, n, "replset")
    expect(str(svc.get("image", "")).startswith("mongo:7"), "%s runs mongo:7" % n)
    expect("--replSet rs0" in cmd(svc) and "--keyFile" in cmd(svc), "%s: --replSet rs0 --keyFile: %s" % (n, cmd(svc)))
    expect(any(str(v).split(":")[1:2] == ["/data/db"] for v in svc.get("volumes", [])), "%s keeps /data/db in a volume" % n)
    expect("healthcheck" in svc, "%s has a health check" % n)
init = in_profile(replset, "rs-init", "replset")
for n in nodes:
    depends(init, n, "service_healthy")
expect("rs.initiate" in cmd(init) and all(n + ":27017" in cmd(init) for n in nodes),
       "rs-init runs rs.initiate with the three nodes: %s" % cmd(init))
odmd_rs = in_profile(replset, "odmd-rs", "replset")
depends(odmd_rs, "rs-init", "service_completed_successfully")
expect(re.search(r"mongodb://root:.+@mongo-rs1:27017,mongo-rs2:27017,mongo-rs3:27017/odmd\?replicaSet=rs0&", cmd(odmd_rs)) is not None,
       "odmd-rs's URI names the three nodes and replicaSet=rs0: %s" % cmd(odmd_rs))

replicas = ["odmd-1", "odmd-2", "odmd-3"]
nginx = in_profile(scale, "nginx", "scale")
for r in replicas:
    svc = in_profile(scale, r, "scale")
    expect("/readyz" in " ".join(svc.get("healthcheck", {}).get("test", [])), "%s is checked on /readyz" % r)
    expect("ODMD_CURSOR_KEY=" in cmd(svc), "%s signs cursors with the shared key: %s" % (r, cmd(svc)))
    depends(nginx, r, "service_healthy")
conf = [str(v).split(":")[0] for v in nginx.get("volumes", []) if ":/etc/nginx/conf.d/" in str(v)]
path = os.path.join(os.environ["ROOT"], "contrib/nginx/odmd-scale.conf")
expect(len(conf) == 1 and os.path.realpath(conf[0]) == os.path.realpath(path),
       "nginx's config is contrib/nginx/odmd-scale.conf: %s" % conf)
text = open(path).read() if os.path.exists(path) else ""
for r in replicas:
    expect(re.search(r"^\s*server\s+%s:8080\b" % r, text, re.M) is not None, "the upstream lists %s:8080" % r)

for f in failures:
    print("FAIL: " + f)
sys.exit(1 if failures else 0)
PY
}
if [[ -s $tmp/replset.yml && -s $tmp/scale.yml && -s $tmp/resolved.yml ]]; then
    check "the profiles' resolved configurations (above)" assert_profiles
fi

# 6. The scale profile's nginx configuration is valid to nginx itself (the replicas' names
# replaced by loopback addresses, since they resolve only inside the stack).
nginx_bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)
if [[ -n $nginx_bin ]]; then
    mkdir -p "$tmp/nginx"
    sed -E 's/odmd-([0-9]):8080/127.0.0.1:1808\1/; s/^(\s*listen\s+)80;/\1127.0.0.1:18080;/' \
        "$root/contrib/nginx/odmd-scale.conf" >"$tmp/nginx/site.conf"
    printf '%s\n' "pid $tmp/nginx/nginx.pid;" "error_log $tmp/nginx/error.log;" 'events {}' \
        "http { access_log off; client_body_temp_path $tmp/nginx/b; proxy_temp_path $tmp/nginx/p;" \
        "fastcgi_temp_path $tmp/nginx/f; uwsgi_temp_path $tmp/nginx/u; scgi_temp_path $tmp/nginx/s;" \
        "include $tmp/nginx/site.conf; }" >"$tmp/nginx/nginx.conf"
    check "nginx -t accepts contrib/nginx/odmd-scale.conf: $("$nginx_bin" -t -q -p "$tmp/nginx" \
        -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" 2>&1)" \
        "$nginx_bin" -t -q -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
elif [[ -n ${CI:-} ]]; then
    check "nginx is installed (scripts/setup) to check contrib/nginx/odmd-scale.conf" false
else
    echo "skip: no nginx to check contrib/nginx/odmd-scale.conf with (apt-get install nginx)"
fi

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
