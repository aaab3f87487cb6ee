# Every tracked C file follows .clang-format (tests/lint/check_format.sh; skipped with exit 77
# where clang-format is missing, except in CI).
add_test(NAME lint.format COMMAND bash ${CMAKE_SOURCE_DIR}/tests/lint/check_format.sh ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(lint.format PROPERTIES LABELS lint TIMEOUT 300 SKIP_RETURN_CODE 77)
