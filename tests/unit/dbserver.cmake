# The tests' database starter itself (tests/support/dbserver.c): what counts as ready.
if(NOT TARGET odm_test_dbserver)
  add_library(odm_test_dbserver STATIC ${CMAKE_CURRENT_SOURCE_DIR}/support/dbserver.c)
  target_include_directories(odm_test_dbserver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(odm_test_dbserver PRIVATE ODMD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
odm_unit_test(test_dbserver odm_test_dbserver)
set_tests_properties(unit.test_dbserver PROPERTIES LABELS "unit;db")
