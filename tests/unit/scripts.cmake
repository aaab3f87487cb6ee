# scripts/test itself: the tests' environment carries no ODMD_* variable of the caller's.
add_test(NAME scripts.test_env COMMAND bash ${CMAKE_SOURCE_DIR}/tests/support/check_test_env.sh)
set_tests_properties(scripts.test_env PROPERTIES LABELS unit TIMEOUT 60)
