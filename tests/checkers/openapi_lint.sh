#!/usr/bin/env bash
# Lints the OpenAPI document `odmd openapi` writes for schemas/ and for schemas/ with
# tests/e2e/schemas/ (the e2e models), with @redocly/cli and @stoplight/spectral-cli at the
# versions pinned in tools/checkers/ (installed under var/checkers by scripts/setup), each with
# its config here (redocly.yaml, spectral.yaml): zero errors, zero warnings.
#
#   tests/checkers/openapi_lint.sh PATH/TO/odmd (redocly|spectral)
#
# Exit 0 when clean, 1 otherwise, 77 when the linter is not installed (1 with CI set).
set -uo pipefail

odmd_bin=${1:?usage: openapi_lint.sh PATH/TO/odmd (redocly|spectral)}
linter=${2:?usage: openapi_lint.sh PATH/TO/odmd (redocly|spectral)}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/tests/checkers"
bin="$root/var/checkers/node_modules/.bin/$linter"

if [[ ! -x $bin ]] || ! command -v node >/dev/null; then
    echo "openapi_lint: $linter is not installed under var/checkers (scripts/setup installs it)"
    [[ -n ${CI:-} ]] && exit 1
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/odmd-openapi-lint-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/all"
cp "$root"/schemas/*.json "$root"/tests/e2e/schemas/*.json "$tmp/all/"

# No telemetry, no update checks: nothing leaves the machine.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

failed=0
for dir in "$root/schemas" "$tmp/all"; do
    doc="$tmp/openapi-$(basename "$dir").json"
    if ! "$odmd_bin" openapi --schemas "$dir" >"$doc"; then
        echo "openapi_lint: FAIL: odmd openapi --schemas $dir"
        failed=1
        continue
    fi
    case $linter in
        redocly) out=$("$bin" lint --config "$here/redocly.yaml" --max-problems 50 "$doc" 2>&1) ;;
        spectral) out=$("$bin" lint --ruleset "$here/spectral.yaml" --fail-severity warn "$doc" 2>&1) ;;
        *) echo "openapi_lint: unknown linter '$linter'"; exit 2 ;;
    esac
    rc=$?
    # redocly exits 0 on warnings: a warning left is a failure too (justify it in the config).
    if ((rc != 0)) || grep -qE '^\s*(warning|error)\b|Warning was generated|You have [0-9]+ warning' <<<"$out"; then
        echo "openapi_lint: FAIL: $linter on the document of $dir:"
        printf '%s\n' "$out" | tail -60
        failed=1
    else
        echo "openapi_lint: $linter: the document of $dir is clean"
    fi
done
exit "$failed"
