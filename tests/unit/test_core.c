/* Unit tests for src/core: error table, problem bodies, capped buffers, log levels. */
#include <stdlib.h>

#include "check.h"
#include "odmd/buf.h"
#include "odmd/error.h"
#include "odmd/log.h"

static void test_error_table(void)
{
    CHECK_INT(odm_error_status(ODM_ERR_VALIDATION), 422);
    CHECK_INT(odm_error_status(ODM_ERR_MEDIA_TYPE), 415);
    CHECK_INT(odm_error_status(ODM_ERR_UNAVAILABLE), 503);
    CHECK_STR(odm_error_type(ODM_ERR_VALIDATION), "urn:odmd:problem:validation");
    for (int k = 1; k < ODM_ERR__COUNT; k++)
        CHECK_MSG(odm_error_type(k) != NULL && odm_error_title(k) != NULL, "kind %d", k);
}

static void test_problem_body(void)
{
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_VALIDATION, "%d violations", 2);
    odm_error_prefix(&err, "users");
    json_t *errors = json_pack("[{s:s}]", "instanceLocation", "/email");
    size_t len = 0;
    char *body = odm_problem_body(&err, errors, &len);
    json_t *parsed = json_loads(body, 0, NULL);
    CHECK(parsed != NULL);
    CHECK_INT(json_integer_value(json_object_get(parsed, "status")), 422);
    CHECK_STR(json_string_value(json_object_get(parsed, "detail")), "users: 2 violations");
    CHECK_STR(json_string_value(json_object_get(parsed, "type")), "urn:odmd:problem:validation");
    CHECK_INT(json_array_size(json_object_get(parsed, "errors")), 1);
    CHECK_INT(len, strlen(body));
    json_decref(parsed);
    json_decref(errors);
    free(body);
}

static void test_buf_cap(void)
{
    odm_buf_t b;
    odm_buf_init(&b, 8);
    CHECK(odm_buf_puts(&b, "abcd"));
    CHECK(!odm_buf_puts(&b, "efghi"));
    CHECK_STR(odm_buf_cstr(&b), "abcd");
    CHECK(odm_buf_puts(&b, "efgh"));
    CHECK_INT(b.len, 8);
    CHECK(!odm_buf_putc(&b, 'x'));
    odm_buf_release(&b);

    odm_buf_init(&b, 1024);
    CHECK(odm_buf_json_string(&b, "a\"b\\\n\x01", 6));
    CHECK_STR(odm_buf_cstr(&b), "\"a\\\"b\\\\\\n\\u0001\"");
    odm_buf_reset(&b);
    CHECK(odm_buf_printf(&b, "%d-%s", 42, "x"));
    CHECK_STR(odm_buf_cstr(&b), "42-x");
    size_t n;
    char *p = odm_buf_steal(&b, &n);
    CHECK_INT(n, 4);
    free(p);
    CHECK_INT(b.len, 0);
}

static void test_json_string_rollback(void)
{
    odm_buf_t b;
    odm_buf_init(&b, 5);
    CHECK(odm_buf_puts(&b, "x"));
    CHECK(!odm_buf_json_string(&b, "abcdef", 6));
    CHECK_STR(odm_buf_cstr(&b), "x");
    odm_buf_release(&b);
}

static void test_log_levels(void)
{
    odm_log_level_t l;
    CHECK(odm_log_parse_level("warn", &l) && l == ODM_LOG_WARN);
    CHECK(!odm_log_parse_level("loud", &l));
    odm_log_set_level(ODM_LOG_ERROR);
    CHECK(!odm_log_enabled(ODM_LOG_INFO));
    CHECK(odm_log_enabled(ODM_LOG_ERROR));
    odm_log_set_level(ODM_LOG_OFF);
    CHECK(!odm_log_enabled(ODM_LOG_ERROR));
    char t[40];
    odm_log_time(t, sizeof t);
    CHECK_INT(strlen(t), 24);
}

int main(void)
{
    test_error_table();
    test_problem_body();
    test_buf_cap();
    test_json_string_rollback();
    test_log_levels();
    return check_done("core");
}
