odm_unit_test(test_config odm_core)
