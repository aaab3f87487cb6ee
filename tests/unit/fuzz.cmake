# The fuzz targets' corpora (fuzz/corpus/NAME) replayed once through their entry points, built
# with the normal compiler and without libFuzzer (fuzz/replay.c drives them), so that a
# regression of anything the fuzzers once found fails an ordinary test run.
function(odm_fuzz_replay name)
  add_executable(replay_${name} ${CMAKE_SOURCE_DIR}/fuzz/${name}.c ${CMAKE_SOURCE_DIR}/fuzz/replay.c)
  target_include_directories(replay_${name} PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/fuzz)
  target_compile_definitions(replay_${name} PRIVATE ODM_FUZZ_SCHEMAS_DIR="${CMAKE_SOURCE_DIR}/schemas")
  target_link_libraries(replay_${name} PRIVATE ${ARGN})
  add_test(NAME unit.${name} COMMAND replay_${name} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 300)
endfunction()

odm_fuzz_replay(fuzz_schema odm_schema odm_core)
odm_fuzz_replay(fuzz_body odm_codec odm_model odm_schema odm_core)
odm_fuzz_replay(fuzz_filter odm_codec odm_model odm_schema odm_core)
odm_fuzz_replay(fuzz_update odm_codec odm_model odm_schema odm_core)
