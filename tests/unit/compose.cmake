# docker-compose.yml (every profile), contrib/nginx/odmd-scale.conf and the Dockerfile, checked
# statically (docker-compose config, nginx -t; no Docker engine is needed, and none is started).
add_test(NAME unit.compose COMMAND bash ${CMAKE_SOURCE_DIR}/tests/compose/check_compose.sh ${CMAKE_SOURCE_DIR}
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(unit.compose PROPERTIES LABELS unit TIMEOUT 120)
