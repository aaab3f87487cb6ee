# tests/check.h itself: zero checks run is a failure.
odm_unit_test(test_check)
