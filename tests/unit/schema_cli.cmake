odm_unit_test(test_schema_cli odm_schema)
# The official suite's bignum cases: shared/ beside the repository.
target_compile_definitions(test_schema_cli PRIVATE
  ODM_BIGNUM_SUITE="${CMAKE_SOURCE_DIR}/../shared/jsonschema-suite/tests/draft2020-12/optional/bignum.json")
# `odmd validate` through the binary: the shipped models compile and give verdicts on samples.
# Each checks the exit status (0 valid, 1 invalid: include/odmd/schema_cli.h) and the output.
set(odm_expect_run bash ${CMAKE_SOURCE_DIR}/tests/support/expect_run.sh)
add_test(NAME cli.validate.valid
  COMMAND ${odm_expect_run} 0 "\"valid\":true"
          $<TARGET_FILE:odmd> validate schemas/users.json bench/validator/data/users-valid.json
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME cli.validate.invalid
  COMMAND ${odm_expect_run} 1 "\"valid\":false.*\"keywordLocation\":\"/properties/placedAt/format\""
          $<TARGET_FILE:odmd> validate --formats=assert schemas/orders.json
          bench/validator/data/orders-invalid.json
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(cli.validate.valid cli.validate.invalid PROPERTIES LABELS cli TIMEOUT 60)
