# The OpenAPI document checked by the ecosystem's own tools (tests/checkers/): @redocly/cli and
# @stoplight/spectral-cli lint it, schemathesis runs every check against a live odmd with it.
# Installed by scripts/setup at pinned versions under var/; missing: exit 77 (skipped), or a
# failure when CI is set.
foreach(linter redocly spectral)
  add_test(NAME openapi.${linter}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/checkers/openapi_lint.sh $<TARGET_FILE:odmd> ${linter}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(openapi.${linter} PROPERTIES LABELS checkers TIMEOUT 120 SKIP_RETURN_CODE 77)
endforeach()
add_test(NAME openapi.schemathesis
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/checkers/schemathesis.sh $<TARGET_FILE:odmd>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(openapi.schemathesis PROPERTIES LABELS checkers TIMEOUT 600 SKIP_RETURN_CODE 77)
