odm_unit_test(test_auth odm_auth)
