# The store's collection handles against a real MongoDB-wire server (tests/support/dbserver.c).
if(NOT TARGET odm_test_dbserver)
  add_library(odm_test_dbserver STATIC ${CMAKE_CURRENT_SOURCE_DIR}/support/dbserver.c)
  target_include_directories(odm_test_dbserver PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(odm_test_dbserver PRIVATE ODMD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
endif()
odm_unit_test(test_store_colls odm_store odm_test_dbserver)
set_tests_properties(unit.test_store_colls PROPERTIES LABELS "db")
