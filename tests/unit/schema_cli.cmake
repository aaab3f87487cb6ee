odm_unit_test(test_schema_cli odm_schema)
# The official suite's bignum cases: shared/ beside the repository.
target_compile_definitions(test_schema_cli PRIVATE
  ODM_BIGNUM_SUITE="${CMAKE_SOURCE_DIR}/../shared/jsonschema-suite/tests/draft2020-12/optional/bignum.json")
# `odmd validate` through the binary: the shipped models compile and give verdicts on samples.
add_test(NAME cli.validate.valid
  COMMAND odmd validate schemas/users.json bench/validator/data/users-valid.json
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME cli.validate.invalid
  COMMAND odmd validate --formats=assert schemas/orders.json bench/validator/data/orders-invalid.json
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(cli.validate.invalid PROPERTIES
  PASS_REGULAR_EXPRESSION "\"valid\":false.*\"keywordLocation\":\"/properties/placedAt/format\"")
set_tests_properties(cli.validate.valid cli.validate.invalid PROPERTIES LABELS cli TIMEOUT 60)
