#!/usr/bin/env bash
# Runs a command and checks both its exit status and its output (stdout and stderr together), so
# that a test registered through it cannot pass on output alone (ctest's PASS_REGULAR_EXPRESSION
# ignores the exit status).
#
#   tests/support/expect_run.sh STATUS REGEX COMMAND [ARGS...]
#
# STATUS: the exit status wanted; REGEX: an extended regular expression (grep -E) that some
# line of the output must match. Exit 0 when both hold, 1 otherwise (the output is shown).
set -uo pipefail

if (($# < 3)); then
    echo "usage: expect_run.sh STATUS REGEX COMMAND [ARGS...]" >&2
    exit 2
fi
want=$1 regex=$2
shift 2
out=$("$@" 2>&1)
got=$?
printf '%s\n' "$out"
failed=0
if ((got != want)); then
    echo "expect_run: FAIL: '$*' exited with status $got, want $want" >&2
    failed=1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
    echo "expect_run: FAIL: no line of the output matches '$regex'" >&2
    failed=1
fi
exit "$failed"
