#!/usr/bin/env bash
# The C sources follow the committed .clang-format: every tracked .c and .h file is checked
# with clang-format --dry-run --Werror (nothing is rewritten).
#
#   tests/lint/check_format.sh [REPO_ROOT]
#
# clang-format missing: a skip (exit 77) on a workstation, a failure in CI (CI=true).
# To reformat: clang-format -i $(git ls-files '*.c' '*.h' | grep -v format_unicode.h)
set -uo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root" || exit 1

if ! command -v clang-format >/dev/null; then
    echo "clang-format is not installed (apt-get install clang-format, or scripts/setup)"
    [[ ${CI:-} == true ]] && exit 1
    exit 77
fi

# format_unicode.h is generated data: its tables are laid out by its generator.
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null | grep -v '/format_unicode\.h$')
if ((${#files[@]} == 0)); then
    # not a git checkout (a source tarball): every .c and .h under the project's folders
    mapfile -t files < <(find src include tests fuzz bench -name '*.[ch]' ! -name format_unicode.h | sort)
fi
passed=0 failed=0
for f in "${files[@]}"; do
    if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $f is not formatted (clang-format -i $f)"
    fi
done
echo "$passed passed, $failed failed"
((passed > 0 && failed == 0))
