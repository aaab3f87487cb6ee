odm_unit_test(test_format odm_schema)
# The official suite's format cases: shared/ beside the repository (ODMD_FORMAT_SUITE overrides).
target_compile_definitions(test_format PRIVATE
  ODM_FORMAT_SUITE_DIR="${CMAKE_SOURCE_DIR}/../shared/jsonschema-suite/tests/draft2020-12/optional/format")
