odm_unit_test(test_format odm_schema)
# The official suite's format cases: shared/ beside the repository (ODMD_JSONSCHEMA_SUITE, the
# suite's root, overrides). Without the suite: exit 77 (skipped), or a failure when CI=true; a
# copy of the suite without tests/draft2020-12/optional/format: exit 77 (skipped).
target_compile_definitions(test_format PRIVATE
  ODM_JSONSCHEMA_SUITE_DIR="${CMAKE_SOURCE_DIR}/../shared/jsonschema-suite")
set_tests_properties(unit.test_format PROPERTIES SKIP_RETURN_CODE 77)
