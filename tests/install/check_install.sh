#!/usr/bin/env bash
# `cmake --install` into a temp prefix: the binary runs, the example models it installs pass
# `odmd check`, the documentation is there, and the systemd unit names the installed binary (and
# passes `systemd-analyze verify` where that command exists).
#
#   tests/install/check_install.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: check_install.sh BUILD_DIR}
passed=0 failed=0
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1
rc=$?
check "cmake --install --prefix $prefix (exit $rc: $(tail -5 "$tmp/install.log"))" test "$rc" -eq 0

check "bin/odmd is installed and runs" bash -c '"$1/bin/odmd" --version | grep -q "^odmd "' _ "$prefix"
models=("$prefix"/share/odmd/schemas/*.json)
check "example models are installed under share/odmd/schemas" test -f "${models[0]}"
check "odmd check accepts the installed models" "$prefix/bin/odmd" check "$prefix/share/odmd/schemas"
check "README.md and docs/deploy.md are installed" test -f "$prefix/share/doc/odmd/README.md" \
    -a -f "$prefix/share/doc/odmd/deploy.md"

unit=$prefix/lib/systemd/system/odmd.service
check "the systemd unit is installed" test -f "$unit"
check "the unit starts the installed binary" grep -qxF "ExecStart=$prefix/bin/odmd serve" "$unit"
check "the unit has no placeholder left" bash -c '! grep -q "@[A-Z_]*@" "$1"' _ "$unit"
check "the unit does not restart on a configuration error (exit 2)" \
    grep -qxF "RestartPreventExitStatus=2" "$unit"
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify accepts the unit: $(systemd-analyze verify "$unit" 2>&1)" \
        systemd-analyze verify "$unit"
else
    echo "skip: no systemd-analyze to verify the unit with"
fi

echo "$passed passed, $failed failed"
((failed == 0))
