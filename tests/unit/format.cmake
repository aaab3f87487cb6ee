odm_unit_test(test_format odm_schema)
# The official suite's format cases: shared/ beside the repository (ODMD_JSONSCHEMA_SUITE, the
# suite's root, overrides). unit.test_format runs odmd's own cases; unit.test_format_suite
# the suite's. Without the suite: exit 77 (skipped), or a failure when CI=true; a
# copy of the suite without tests/draft2020-12/optional/format: exit 77 (skipped).
target_compile_definitions(test_format PRIVATE
  ODM_JSONSCHEMA_SUITE_DIR="${CMAKE_SOURCE_DIR}/../shared/jsonschema-suite")
add_test(NAME unit.test_format_suite COMMAND test_format suite WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit.test_format_suite PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77)
