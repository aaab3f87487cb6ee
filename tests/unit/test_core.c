/* Unit tests for src/core: error table, problem bodies, capped buffers, log levels. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "odmd/buf.h"
#include "odmd/error.h"
#include "odmd/log.h"
#include "odmd/pointer.h"
#include "odmd/text.h"

static void test_error_table(void)
{
    CHECK_INT(odm_error_status(ODM_ERR_VALIDATION), 422);
    CHECK_INT(odm_error_status(ODM_ERR_MEDIA_TYPE), 415);
    CHECK_INT(odm_error_status(ODM_ERR_UNAVAILABLE), 503);
    for (int k = 1; k < ODM_ERR__COUNT; k++) { /* every kind has a type URI and a title */
        odm_error_t err = {.kind = k};
        char *body = odm_problem_body(&err, NULL, NULL);
        json_t *parsed = body ? json_loads(body, 0, NULL) : NULL;
        const char *type = json_string_value(json_object_get(parsed, "type"));
        const char *title = json_string_value(json_object_get(parsed, "title"));
        CHECK_MSG(type != NULL && strncmp(type, "urn:odmd:problem:", 17) == 0 && type[17] &&
                      title != NULL && title[0] != '\0',
                  "kind %d: %s", k, body ? body : "NULL");
        json_decref(parsed);
        free(body);
    }
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

/* The body as json_pack and json_dumps made it before odm_problem_body wrote it itself (the
 * type and title as the body without errors gives them). */
static char *reference_body(const odm_error_t *err, const json_t *errors)
{
    odm_error_t bare = {.kind = err->kind};
    char *plain = odm_problem_body(&bare, NULL, NULL);
    json_t *fields = plain ? json_loads(plain, 0, NULL) : NULL;
    free(plain);
    const char *title = json_string_value(json_object_get(fields, "title"));
    json_t *body = json_pack("{s:O, s:s, s:i, s:s}", "type", json_object_get(fields, "type"),
                             "title", title, "status", odm_error_status(err->kind), "detail",
                             err->message[0] ? err->message : title);
    json_decref(fields);
    if (errors != NULL)
        json_object_set(body, "errors", (json_t *)errors);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

static void check_same_body(const odm_error_t *err, json_t *errors, const char *what)
{
    size_t len = 0;
    char *got = odm_problem_body(err, errors, &len);
    char *want = reference_body(err, errors);
    CHECK_MSG(got != NULL && want != NULL && strcmp(got, want) == 0, "%s: got %s, want %s", what,
              got ? got : "NULL", want ? want : "NULL");
    CHECK_MSG(got == NULL || len == strlen(got), "%s: length", what);
    free(got);
    free(want);
    json_decref(errors);
}

/* Byte for byte what json_dumps(JSON_COMPACT) wrote, for every kind of value. */
static void test_problem_body_bytes(void)
{
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_VALIDATION, "3 violations of the 'users' model");
    check_same_body(&err, NULL, "no errors");
    check_same_body(&err, json_array(), "empty errors");
    check_same_body(&err,
                    json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "instanceLocation", "/email",
                              "keywordLocation", "/properties/email/format", "error",
                              "'not-an-email' is not an 'email'", "instanceLocation", "/a~1b/0",
                              "keywordLocation", "/properties/a~1b", "error",
                              "quote \" slash / back \\"),
                    "validator errors");
    check_same_body(&err,
                    json_pack("[s, s, s]", "ctl \x01\x1f\b\f\n\r\t end",
                              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\x7f del"),
                    "escapes and UTF-8");
    check_same_body(&err,
                    json_pack("[I, I, I, i, b, b, n, {}, [], {s:{s:[{}]}}]", (json_int_t)INT64_MIN,
                              (json_int_t)INT64_MAX, (json_int_t)-1, 0, 1, 0, "a", "b"),
                    "integers and constants");
    check_same_body(&err, json_pack("[f, f, f, f, f]", 0.1, -2.5e300, 1.0, 1e-7, 123456789.0),
                    "reals");
    json_t *deep = json_string("bottom");
    for (int i = 0; i < 40; i++)
        deep = json_pack("[o]", deep);
    check_same_body(&err, deep, "nested deeper than the writer recurses");
    json_t *keys = json_object();
    json_object_setn(keys, "nul\0key", 7, json_true());
    json_object_set_new(keys, "\xc3\xa9t\xc3\xa9", json_false());
    json_object_set_new(keys, "q\"k", json_null());
    check_same_body(&err, keys, "keys with escapes");
    odm_error_t empty = {.kind = ODM_ERR_NOT_FOUND};
    check_same_body(&empty, NULL, "empty message: the title");
    odm_error_set(&err, ODM_ERR_BAD_QUERY, "filter: bad \"$where\" at line 1\tcolumn 2");
    check_same_body(&err, NULL, "message with escapes");
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

/* Every byte alone and inside a run: escaped exactly when JSON requires it. */
static void test_json_string_bytes(void)
{
    for (int c = 0; c < 256; c++) {
        char in[3] = {'a', (char)c, 'z'}, want[16];
        if (c == '"' || c == '\\')
            snprintf(want, sizeof want, "\"a\\%cz\"", c);
        else if (c == '\n')
            snprintf(want, sizeof want, "\"a\\nz\"");
        else if (c == '\t')
            snprintf(want, sizeof want, "\"a\\tz\"");
        else if (c == '\r')
            snprintf(want, sizeof want, "\"a\\rz\"");
        else if (c == '\b')
            snprintf(want, sizeof want, "\"a\\bz\"");
        else if (c == '\f')
            snprintf(want, sizeof want, "\"a\\fz\"");
        else if (c < 0x20)
            snprintf(want, sizeof want, "\"a\\u%04Xz\"", c);
        else
            snprintf(want, sizeof want, "\"a%cz\"", c);
        odm_buf_t b;
        odm_buf_init(&b, 64);
        CHECK(odm_buf_json_string(&b, in, 3));
        CHECK_MSG(strcmp(odm_buf_cstr(&b), want) == 0, "byte 0x%02x: got %s, want %s", c,
                  odm_buf_cstr(&b), want);
        odm_buf_release(&b);
        /* at every place of a longer run (read eight bytes at a time), after bytes >= 0x80 */
        size_t esc_len = strlen(want) - 4; /* want is "a" ESC "z" with its quotes */
        for (size_t at = 0; at < 20; at++) {
            char run[20], expect[64];
            memset(run, at % 2 ? 'x' : '\xe9', sizeof run);
            run[at] = (char)c;
            snprintf(expect, sizeof expect, "\"%.*s%.*s%.*s\"", (int)at, run, (int)esc_len,
                     want + 2, (int)(sizeof run - at - 1), run + at + 1);
            odm_buf_init(&b, 64);
            CHECK(odm_buf_json_string(&b, run, sizeof run));
            CHECK_MSG(strcmp(odm_buf_cstr(&b), expect) == 0, "byte 0x%02x at %zu: %s", c, at,
                      odm_buf_cstr(&b));
            odm_buf_release(&b);
        }
    }
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

/* Pointers: escapes, pops, and the cap, whatever part of a segment it falls in. */
static void test_pointer(void)
{
    odm_pointer_t p;
    odm_pointer_init(&p);
    size_t a = odm_pointer_push(&p, "address", 7);
    size_t b = odm_pointer_push(&p, "a/b~c", 5);
    CHECK_STR(p.buf, "/address/a~1b~0c");
    odm_pointer_push_index(&p, 12);
    CHECK_STR(p.buf, "/address/a~1b~0c/12");
    odm_pointer_pop(&p, b);
    CHECK_STR(p.buf, "/address");
    odm_pointer_push(&p, "", 0);
    CHECK_STR(p.buf, "/address/");
    odm_pointer_pop(&p, a);
    CHECK_STR(p.buf, "");
    /* a long segment of plain bytes, or of escapes, is cut where the buffer ends */
    char seg[2 * ODM_POINTER_MAX];
    for (int kind = 0; kind < 3; kind++) {
        memset(seg, kind == 0 ? 'x' : kind == 1 ? '/' : 'y', sizeof seg);
        if (kind == 2)
            seg[ODM_POINTER_MAX - 10] = '~';
        odm_pointer_init(&p);
        odm_pointer_push(&p, "k", 1);
        odm_pointer_push(&p, seg, sizeof seg);
        CHECK_MSG(p.len < ODM_POINTER_MAX && p.len == strlen(p.buf), "kind %d: len %zu", kind,
                  p.len);
        CHECK_MSG(p.len >= ODM_POINTER_MAX - 3, "kind %d: only %zu bytes kept", kind, p.len);
        CHECK(strncmp(p.buf, "/k/", 3) == 0);
        CHECK_MSG(kind != 1 || strncmp(p.buf + 3, "~1~1~1", 6) == 0, "%.12s", p.buf);
        size_t mark = odm_pointer_push(&p, "more", 4); /* full: nothing added */
        CHECK_INT(mark, p.len);
    }
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

/* A pointer cut at the cap keeps whole UTF-8 characters only. */
static void test_pointer_cut_utf8(void)
{
    char name[1200];
    size_t n = 0;
    while (n + 2 <= sizeof name - 1) {
        name[n++] = (char)0xC3; /* U+00E9, two bytes */
        name[n++] = (char)0xA9;
    }
    for (int shift = 0; shift < 2; shift++) {
        odm_pointer_t p;
        odm_pointer_init(&p);
        if (shift)
            odm_pointer_push(&p, "xy", 2);
        odm_pointer_push(&p, name, n);
        CHECK(p.len < sizeof p.buf);
        size_t i = shift ? 4 : 1;
        bool whole = true;
        for (; i < p.len; i += 2)
            whole = whole && (unsigned char)p.buf[i] == 0xC3 && i + 1 < p.len &&
                    (unsigned char)p.buf[i + 1] == 0xA9;
        CHECK_MSG(whole && i == p.len, "pointer of %zu bytes ends mid-character", p.len);
    }
}

/* The one decimal writer and hex reader: printf's digits, the shortest double that reads back. */
static void test_text(void)
{
    char out[ODM_TEXT_INT_MAX], want[64];
    static const long long ints[] = {0, 1, -1, 9, 10, -10, 1234567890, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(want, sizeof want, "%lld", ints[i]);
        CHECK_INT(odm_text_int(ints[i], out), strlen(want));
        CHECK_STR(out, want);
    }
    CHECK_INT(odm_text_uint(ULLONG_MAX, out), 20);
    CHECK_STR(out, "18446744073709551615");
    static const struct {
        double d;
        const char *want;
    } reals[] = {
        {0.1, "0.1"},
        {1.5, "1.5"},
        {-2.5e300, "-2.5e+300"},
        {1e-7, "1e-07"},
        {123456789.0, "123456789"},
        {0.30000000000000004, "0.30000000000000004"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
        {1e21, "1e+21"},
        {-0.0, "-0"},
        {1.0 / 3, "0.3333333333333333"},
    };
    char text[ODM_TEXT_DOUBLE_MAX];
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        size_t n = odm_text_double(reals[i].d, text);
        CHECK_MSG(strcmp(text, reals[i].want) == 0, "%.17g: got %s, want %s", reals[i].d, text,
                  reals[i].want);
        CHECK_INT(n, strlen(text));
        CHECK(strtod(text, NULL) == reals[i].d);
    }
    CHECK_INT(odm_text_double(NAN, text), 0);
    CHECK_INT(odm_text_double(-INFINITY, text), 0);
    for (int c = 0; c < 256; c++) {
        const char *digits = "0123456789abcdef", *upper = "0123456789ABCDEF";
        const char *at = c ? strchr(digits, c) : NULL, *up = c ? strchr(upper, c) : NULL;
        int want_value = at ? (int)(at - digits) : up ? (int)(up - upper) : -1;
        CHECK_MSG(odm_text_hex_digit(c) == want_value, "byte 0x%02x", c);
    }
    /* base64url: RFC 4648's vectors without padding, round trips, and the strict refusals */
    static const struct {
        const char *bytes, *text;
    } b64[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        char enc[16];
        unsigned char dec[16];
        size_t n = strlen(b64[i].bytes), got = 99;
        odm_text_b64url_encode((const unsigned char *)b64[i].bytes, n, enc);
        CHECK_STR(enc, b64[i].text);
        CHECK(odm_text_b64url_decode(b64[i].text, strlen(b64[i].text), dec, sizeof dec, &got));
        CHECK(got == n && memcmp(dec, b64[i].bytes, n) == 0);
    }
    unsigned char dec[4];
    size_t got;
    CHECK(!odm_text_b64url_decode("Zg==", 4, dec, sizeof dec, &got));     /* padding */
    CHECK(!odm_text_b64url_decode("Zh", 2, dec, sizeof dec, &got));       /* spare bits set */
    CHECK(!odm_text_b64url_decode("Z", 1, dec, sizeof dec, &got));        /* 1 mod 4 */
    CHECK(!odm_text_b64url_decode("Zm+v", 4, dec, sizeof dec, &got));     /* base64, not -url */
    CHECK(!odm_text_b64url_decode("Zm9vYmFy", 8, dec, sizeof dec, &got)); /* past cap */
}

/* The one token escaper and decoder: into a capped buffer, cut only between escapes. */
static void test_pointer_tokens(void)
{
    odm_buf_t b;
    odm_buf_init(&b, 16);
    CHECK(odm_pointer_append_token(&b, "a/b~c", 5));
    CHECK(odm_pointer_append_token(&b, "", 0));
    CHECK_STR(odm_buf_cstr(&b), "/a~1b~0c/");
    CHECK(!odm_pointer_append_token(&b, "//////", 6)); /* 13 bytes past a 16-byte cap */
    CHECK_STR(odm_buf_cstr(&b), "/a~1b~0c/");
    odm_buf_release(&b);
    odm_buf_init(&b, 4096);
    char big[1000];
    memset(big, '~', sizeof big);
    CHECK(odm_pointer_append_token(&b, big, sizeof big)); /* longer than one escape chunk */
    CHECK_INT(b.len, 1 + 2 * sizeof big);
    odm_buf_release(&b);

    char out[8];
    size_t used;
    CHECK_INT(odm_pointer_escape("ab~/", 4, out, 3, &used), 2); /* "ab" fits, "~0" does not */
    CHECK_INT(used, 2);
    CHECK_INT(odm_pointer_escape("ab~/", 4, out, 6, &used), 4);
    CHECK_INT(used, 6);
    CHECK(memcmp(out, "ab~0~1", 6) == 0);

    size_t len = 0;
    CHECK(odm_pointer_unescape("a~1b~0c", 7, out, sizeof out, &len));
    CHECK_STR(out, "a/b~c");
    CHECK_INT(len, 5);
    CHECK(!odm_pointer_unescape("a~2", 3, out, sizeof out, NULL));
    CHECK(!odm_pointer_unescape("a~", 2, out, sizeof out, NULL));
    CHECK(!odm_pointer_unescape("12345678", 8, out, sizeof out, NULL)); /* no room for NUL */
}

int main(void)
{
    test_pointer_tokens();
    test_text();
    test_pointer_cut_utf8();
    test_error_table();
    test_problem_body();
    test_problem_body_bytes();
    test_buf_cap();
    test_json_string_bytes();
    test_json_string_rollback();
    test_pointer();
    test_log_levels();
    return check_done("core");
}
