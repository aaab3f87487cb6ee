odm_unit_test(test_http odm_http odm_core)
