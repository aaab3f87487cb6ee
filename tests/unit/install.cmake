# cmake --install into a temp prefix, and what it installs (tests/install/check_install.sh).
add_test(NAME unit.install COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/check_install.sh ${CMAKE_BINARY_DIR}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit.install PROPERTIES LABELS unit TIMEOUT 120)
