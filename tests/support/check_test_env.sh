#!/usr/bin/env bash
# scripts/test keeps ODMD_* variables out of the tests: with a polluted environment (a binary
# swap, an API key, its own LeakSanitizer switch, a variable nobody knows yet), the tests must
# see only ODMD_JSONSCHEMA_SUITE, the one it passes on.
#
#   tests/support/check_test_env.sh      exit 0 when that holds, 1 otherwise
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
got=$(env ODMD_BIN=/bin/false ODMD_API_KEY=leaked ODMD_ALLOW_NO_LSAN=1 ODMD_QUEUE_MAX=0 \
    ODMD_NOT_YET_INVENTED=1 ODMD_TEST_BACKEND=ferretdb ODMD_JSONSCHEMA_SUITE=/the/suite \
    "$root/scripts/test" --show-env 2>&1)
rc=$?
want="ODMD_JSONSCHEMA_SUITE=/the/suite"
if ((rc != 0)) || [[ $got != "$want" ]]; then
    echo "check_test_env: FAIL: scripts/test --show-env exited $rc; the tests would see:"
    printf '%s\n' "$got" | sed 's/^/    /'
    echo "check_test_env: want only: $want"
    exit 1
fi
echo "check_test_env: passed (the tests see only $want)"
