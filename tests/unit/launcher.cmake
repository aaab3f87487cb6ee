# The local database launcher (tools/mongo-launcher): filters with an `_id` equality answered
# from the `_id` index with the scan's answers (db.launcher_filters), and a compare-and-set
# update costing about what an update by `_id` costs (db.launcher_cost; a find with `{_id, __v}`
# on an H2 file, db.launcher_cost_h2); the commands it counts for bench/run (db.launcher_counts).
add_executable(test_launcher_id ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_launcher_id.c)
target_include_directories(test_launcher_id PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(test_launcher_id PRIVATE ODMD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(test_launcher_id PRIVATE PkgConfig::MONGOC PkgConfig::BSON)
foreach(part filters cost cost_h2 counts)
  add_test(NAME db.launcher_${part} COMMAND test_launcher_id ${part} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(db.launcher_${part} PROPERTIES LABELS "unit;db" TIMEOUT 300)
endforeach()
