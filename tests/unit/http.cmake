odm_unit_test(test_http odm_http odm_core)
target_sources(test_http PRIVATE ${CMAKE_SOURCE_DIR}/tests/support/rawhttp.c)
