odm_unit_test(test_model_set odm_api)
