odm_unit_test(test_metrics odm_core)
