# JWT verification against tokens made outside odmd: keys by the openssl command, tokens by
# tests/support/jwt_mint.py (python3-cryptography). Without them: exit 77 (skipped), or a
# failure when CI=true.
odm_unit_test(test_jwt odm_auth)
target_sources(test_jwt PRIVATE ${CMAKE_SOURCE_DIR}/tests/support/jwtmint.c)
target_compile_definitions(test_jwt PRIVATE ODMD_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
set_tests_properties(unit.test_jwt PROPERTIES SKIP_RETURN_CODE 77)
