odm_unit_test(test_ratelimit odm_http odm_core)
