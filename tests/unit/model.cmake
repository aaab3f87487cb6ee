odm_unit_test(test_model odm_model)
