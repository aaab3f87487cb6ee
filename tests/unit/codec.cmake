odm_unit_test(test_codec odm_codec)
