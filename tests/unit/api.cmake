odm_unit_test(test_api odm_api)
