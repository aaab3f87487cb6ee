odm_unit_test(test_survey odm_survey)
