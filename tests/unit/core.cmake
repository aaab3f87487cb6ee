odm_unit_test(test_core odm_core)
