odm_unit_test(test_jarena odm_core)
