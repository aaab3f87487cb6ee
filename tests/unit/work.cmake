odm_unit_test(test_work odm_work)
