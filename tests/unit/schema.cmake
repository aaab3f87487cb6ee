# The schema module: unit tests, and the official JSON Schema test suite (absent: exit 77,
# skipped; a failure when CI=true).
odm_unit_test(test_schema odm_schema odm_core)
add_executable(schema_suite ${CMAKE_CURRENT_SOURCE_DIR}/schema/run_suite.c)
target_include_directories(schema_suite PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(schema_suite PRIVATE odm_schema odm_core)
add_test(NAME schema.suite COMMAND schema_suite WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(schema.suite PROPERTIES LABELS schema TIMEOUT 300 SKIP_RETURN_CODE 77)
