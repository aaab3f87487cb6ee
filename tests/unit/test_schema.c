/* Unit tests for src/schema: verdicts odmd relies on, the output units, compile errors as
 * "POINTER: reason", the registry (duplicates, cross-document references, mapped folders),
 * the built-in meta-schemas, reference loops, the error cap, threads and allocation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "odmd/schema.h"

/* Compiles `text` registered at `uri` in `reg`; NULL (with err) on failure. */
static odm_schema_t *compile_in(odm_schema_registry_t *reg, const char *uri, const char *text,
                                odm_format_mode_t formats, odm_error_t *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "bad test schema: %s\n", jerr.text);
        return NULL;
    }
    bool ok = odm_schema_registry_add(reg, uri, doc, NULL, err);
    json_decref(doc);
    return ok ? odm_schema_compile(reg, uri, formats, err) : NULL;
}

/* Validates `inst` collecting at most `max` units; *errors (when not NULL) is set to them as a
 * new array when invalid, to NULL when valid. Returns the verdict. */
static bool validate_into(const odm_schema_t *s, const json_t *inst, json_t **errors, size_t max)
{
    odm_schema_errors_t *list = odm_schema_errors_new(max);
    bool ok = list != NULL && odm_schema_validate(s, inst, list);
    if (errors != NULL)
        *errors = ok || list == NULL ? NULL : odm_schema_errors_json(list);
    odm_schema_errors_free(list);
    return ok;
}

/* Validates instance text; returns the verdict, *errors set when invalid (may be NULL). */
static bool check_json(const odm_schema_t *s, const char *text, json_t **errors)
{
    json_t *inst = json_loads(text, JSON_DECODE_ANY, NULL);
    if (inst == NULL) {
        fprintf(stderr, "bad test instance: %s\n", text);
        return false;
    }
    bool ok = validate_into(s, inst, errors, ODM_SCHEMA_MAX_ERRORS);
    json_decref(inst);
    return ok;
}

static bool valid(const odm_schema_t *s, const char *text)
{
    json_t *inst = json_loads(text, JSON_DECODE_ANY, NULL);
    bool ok = inst != NULL && odm_schema_validate(s, inst, NULL);
    json_decref(inst);
    return ok;
}

static const char *unit_field(const json_t *errors, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(errors, i), key));
}

/* ---- verdicts ---- */

static void test_numbers(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(reg, "urn:t:price",
                                 "{\"type\":\"object\",\"properties\":{"
                                 "\"n\":{\"type\":\"integer\"},"
                                 "\"price\":{\"type\":\"number\",\"multipleOf\":0.01},"
                                 "\"big\":{\"multipleOf\":1e-5,\"maximum\":1e300},"
                                 "\"pct\":{\"exclusiveMinimum\":0,\"maximum\":100}}}",
                                 ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK(valid(s, "{\"n\": 1.0}"));
    CHECK(valid(s, "{\"n\": -3}"));
    CHECK(!valid(s, "{\"n\": 1.5}"));
    CHECK(valid(s, "{\"price\": 19.99}"));
    CHECK(valid(s, "{\"price\": 0.3}"));
    CHECK(valid(s, "{\"price\": 1234567.89}"));
    CHECK(!valid(s, "{\"price\": 19.999}"));
    CHECK(valid(s, "{\"big\": 0.00003}"));
    CHECK(!valid(s, "{\"big\": 0.000031}"));
    CHECK(valid(s, "{\"pct\": 100}"));
    CHECK(!valid(s, "{\"pct\": 0}"));
    CHECK(!valid(s, "{\"pct\": 100.000001}"));
    odm_schema_free(s);
    /* integers past 2^53 against reals compare exactly */
    s = compile_in(reg, "urn:t:big", "{\"exclusiveMaximum\":9007199254740993}", ODM_FORMAT_ASSERT,
                   &err);
    CHECK(s != NULL && valid(s, "9007199254740992.0") && valid(s, "9007199254740992"));
    CHECK(s != NULL && !valid(s, "9007199254740993") && !valid(s, "9007199254740994.0"));
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

static void test_strings_and_structure(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(
        reg, "urn:t:user",
        "{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,"
        "\"x-collection\":\"users\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":5},"
        "\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}\\\\d+$\"},"
        "\"tags\":{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"enum\":[\"a\",\"b\",1]}},"
        "\"kind\":{\"const\":{\"k\":[1,2]}}}}",
        ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK(valid(s, "{\"name\":\"h\\u00e9llo\"}")); /* 5 code points, 6 bytes */
    CHECK(!valid(s, "{\"name\":\"h\\u00e9llo!\"}"));
    CHECK(!valid(s, "{\"name\":\"\\ud83d\\ude00\"}")); /* one code point, four bytes */
    CHECK(valid(s, "{\"name\":\"ab\",\"code\":\"FR75\"}"));
    CHECK(!valid(s, "{\"name\":\"ab\",\"code\":\"FR75\\n\"}")); /* $ is the very end */
    CHECK(valid(s, "{\"name\":\"ab\",\"tags\":[\"a\",1.0]}"));
    CHECK(!valid(s, "{\"name\":\"ab\",\"tags\":[1,1.0]}")); /* 1 equals 1.0 */
    CHECK(!valid(s, "{\"name\":\"ab\",\"tags\":[\"c\"]}"));
    CHECK(valid(s, "{\"name\":\"ab\",\"kind\":{\"k\":[1.0,2]}}"));
    CHECK(!valid(s, "{\"name\":\"ab\",\"kind\":{\"k\":[2,1]}}"));
    CHECK(!valid(s, "{\"name\":\"ab\",\"other\":1}"));
    CHECK(!valid(s, "{}"));
    CHECK(!valid(s, "[]"));
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* Lengths count code points, whatever the bytes per code point. */
static void test_lengths(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s =
        compile_in(reg, "urn:t:len", "{\"minLength\":9,\"maxLength\":9}", ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK(valid(s, "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\""));
    CHECK(!valid(s, "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\""));
    CHECK(!valid(s, "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\""));
    CHECK(valid(s, "\"a\\u00e9\\ud83d\\ude00a\\u00e9\\ud83d\\ude00a\\u00e9\\ud83d\\ude00\""));
    CHECK(!valid(s, "\"a\\u00e9\\ud83d\\ude00a\\u00e9\\ud83d\\ude00a\\u00e9\""));
    CHECK(valid(s, "\"abcdefghi\""));
    CHECK(!valid(s, "\"abcdefgh\""));
    CHECK(!valid(s, "\"\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\""));
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

static void test_formats(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    const char *text = "{\"format\":\"email\"}";
    odm_schema_t *assert = compile_in(reg, "urn:t:fa", text, ODM_FORMAT_ASSERT, &err);
    odm_schema_t *annotate = compile_in(reg, "urn:t:fn", text, ODM_FORMAT_ANNOTATE, &err);
    CHECK(assert != NULL && annotate != NULL);
    CHECK(valid(assert, "\"a@example.com\""));
    CHECK(!valid(assert, "\"not an email\""));
    CHECK(valid(annotate, "\"not an email\""));
    odm_schema_t *unknown =
        compile_in(reg, "urn:t:fu", "{\"format\":\"x-odd\"}", ODM_FORMAT_ASSERT, &err);
    CHECK(unknown != NULL && valid(unknown, "\"anything\""));
    odm_schema_free(assert);
    odm_schema_free(annotate);
    odm_schema_free(unknown);
    odm_schema_registry_free(reg);
}

/* ---- output ---- */

static void test_output_units(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s =
        compile_in(reg, "https://odmd.test/book.json",
                   "{\"type\":\"object\",\"required\":[\"title\"],\"properties\":{"
                   "\"year\":{\"type\":\"integer\",\"minimum\":1450},"
                   "\"a/b\":{\"type\":\"string\"},"
                   "\"authors\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/author\"}}},"
                   "\"$defs\":{\"author\":{\"type\":\"object\",\"required\":[\"name\"]}}}",
                   ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    json_t *errors = NULL;
    CHECK(!check_json(s, "{\"year\":1200.5,\"a/b\":3,\"authors\":[{\"name\":\"x\"},{}]}", &errors));
    CHECK_INT(json_array_size(errors), 5);
    /* keywords run in table order: assertions on the object, then its applicators */
    CHECK_STR(unit_field(errors, 0, "instanceLocation"), "");
    CHECK_STR(unit_field(errors, 0, "keywordLocation"), "/required");
    CHECK_STR(unit_field(errors, 0, "error"), "missing required property 'title'");
    CHECK_STR(unit_field(errors, 1, "instanceLocation"), "/year");
    CHECK_STR(unit_field(errors, 1, "keywordLocation"), "/properties/year/type");
    CHECK_STR(unit_field(errors, 1, "error"), "expected integer, got number");
    CHECK_STR(unit_field(errors, 2, "keywordLocation"), "/properties/year/minimum");
    CHECK_STR(unit_field(errors, 2, "error"), "must be at least 1450");
    CHECK_STR(unit_field(errors, 3, "instanceLocation"), "/a~1b");
    CHECK_STR(unit_field(errors, 3, "keywordLocation"), "/properties/a~1b/type");
    CHECK(json_object_get(json_array_get(errors, 3), "absoluteKeywordLocation") == NULL);
    CHECK_STR(unit_field(errors, 4, "instanceLocation"), "/authors/1");
    CHECK_STR(unit_field(errors, 4, "keywordLocation"), "/properties/authors/items/$ref/required");
    CHECK_STR(unit_field(errors, 4, "absoluteKeywordLocation"),
              "https://odmd.test/book.json#/$defs/author/required");
    json_decref(errors);

    /* written straight as text: the bytes json_dumps makes of the same units */
    json_t *inst = json_loads("{\"year\":\"\\\"q\\u0001\",\"a/b\":[],\"authors\":[{},3]}", 0, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    CHECK(inst != NULL && !odm_schema_validate(s, inst, list));
    CHECK_INT(odm_schema_errors_count(list), 5);
    json_t *units = odm_schema_errors_json(list);
    char *dumped = json_dumps(units, JSON_COMPACT);
    odm_buf_t written;
    odm_buf_init(&written, 1 << 20);
    CHECK(odm_schema_errors_write(list, &written));
    CHECK_STR(odm_buf_cstr(&written), dumped);
    CHECK(strstr(dumped, "\"absoluteKeywordLocation\"") != NULL);
    odm_buf_release(&written);
    free(dumped);
    json_decref(units);
    /* a list that does not fit is refused */
    odm_buf_init(&written, 40);
    CHECK(!odm_schema_errors_write(list, &written));
    odm_buf_release(&written);
    odm_schema_errors_free(list);
    json_decref(inst);

    errors = NULL;
    CHECK(check_json(s, "{\"title\":1,\"extra\":true,\"year\":1500}", &errors));
    CHECK(errors == NULL); /* valid: no array handed out */
    json_decref(errors);

    /* the cap */
    json_t *many = json_loads("{\"authors\":[{},{},{},{},{},{},{},{}]}", 0, NULL);
    CHECK(!validate_into(s, many, &errors, 3));
    CHECK_INT(json_array_size(errors), 3);
    json_decref(errors);
    CHECK(!odm_schema_validate(s, many, NULL));
    json_decref(many);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* Whether the units of `text` (invalid against s) as written are json_dumps's text of them. */
static bool written_as_dumped(const odm_schema_t *s, const char *text)
{
    json_t *inst = json_loads(text, 0, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    bool invalid = inst != NULL && list != NULL && !odm_schema_validate(s, inst, list);
    json_t *units = invalid ? odm_schema_errors_json(list) : NULL;
    char *dumped = units ? json_dumps(units, JSON_COMPACT) : NULL;
    odm_buf_t written;
    odm_buf_init(&written, 1 << 20);
    bool same = dumped != NULL && odm_schema_errors_write(list, &written) &&
                strcmp(odm_buf_cstr(&written), dumped) == 0;
    if (!same)
        fprintf(stderr, "  written %s\n  dumped  %s\n", odm_buf_cstr(&written),
                dumped != NULL ? dumped : "(nothing)");
    odm_buf_release(&written);
    free(dumped);
    json_decref(units);
    odm_schema_errors_free(list);
    json_decref(inst);
    return same;
}

/* Every missing name of "required" is reported once, in the keyword's order, whether the
 * members were walked (with "properties") or not. */
static void test_output_required(void)
{
    static const char *const schemas[] = {
        "{\"properties\":{\"a\":{\"type\":\"integer\"},\"c\":{}},\"required\":[\"d\",\"a\",\"b\","
        "\"c\",\"b\"]}",
        "{\"required\":[\"d\",\"a\",\"b\",\"c\",\"b\"]}",
    };
    for (size_t k = 0; k < sizeof schemas / sizeof schemas[0]; k++) {
        odm_schema_registry_t *reg = odm_schema_registry_new();
        odm_error_t err = {0};
        odm_schema_t *s = compile_in(reg, "urn:t:req", schemas[k], ODM_FORMAT_ASSERT, &err);
        CHECK_MSG(s != NULL, "%s", err.message);
        json_t *errors = NULL;
        CHECK(!check_json(s, "{\"a\":1,\"x\":2}", &errors));
        CHECK_INT(json_array_size(errors), 4);
        CHECK_STR(unit_field(errors, 0, "error"), "missing required property 'd'");
        CHECK_STR(unit_field(errors, 1, "error"), "missing required property 'b'");
        CHECK_STR(unit_field(errors, 2, "error"), "missing required property 'c'");
        CHECK_STR(unit_field(errors, 3, "error"), "missing required property 'b'");
        CHECK_STR(unit_field(errors, 3, "keywordLocation"), "/required");
        json_decref(errors);
        odm_schema_free(s);
        odm_schema_registry_free(reg);
    }
}

static void test_output_messages(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(
        reg, "urn:t:msg",
        "{\"properties\":{\"a\":{\"enum\":[\"x\",\"y\"]},\"b\":{\"anyOf\":[{\"type\":\"string\"},"
        "{\"type\":\"null\"}]},\"c\":{\"maxLength\":1},\"d\":false},\"additionalProperties\":"
        "false}",
        ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    json_t *errors = NULL;
    CHECK(
        !check_json(s, "{\"a\":\"z\",\"b\":1,\"c\":\"\\u00e9\\u00e9\",\"d\":0,\"zz\":1}", &errors));
    char *text = json_dumps(errors, JSON_COMPACT);
    CHECK_STR(unit_field(errors, 0, "error"), "value must be one of [\"x\",\"y\"]");
    CHECK_STR(unit_field(errors, 1, "keywordLocation"), "/properties/b/anyOf");
    CHECK_STR(unit_field(errors, 2, "keywordLocation"), "/properties/b/anyOf/0/type");
    CHECK_STR(unit_field(errors, 2, "error"), "expected string, got integer");
    CHECK_STR(unit_field(errors, 3, "error"), "expected null, got integer");
    CHECK_STR(unit_field(errors, 4, "error"), "string has 2 characters, at most 1 allowed");
    CHECK_STR(unit_field(errors, 5, "keywordLocation"), "/properties/d");
    CHECK_STR(unit_field(errors, 6, "keywordLocation"), "/additionalProperties");
    CHECK_STR(unit_field(errors, 6, "instanceLocation"), "/zz");
    CHECK_STR(unit_field(errors, 6, "error"), "property 'zz' is not allowed");
    CHECK_MSG(json_array_size(errors) == 7, "%s", text);
    /* as text: quotes and control characters escaped in messages and locations, '~' and '/'
     * of names escaped in locations */
    CHECK(written_as_dumped(s, "{\"a\":\"z\",\"b\":1,\"c\":\"\\u00e9\\u00e9\",\"d\":0,\"zz\":1}"));
    CHECK(written_as_dumped(s, "{\"q\\\"~/\\\\\\n\\u0001x\":1,\"~\":2,\"/\":3}"));
    free(text);
    json_decref(errors);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* Objects with more members than a node looks up at once (24) walk the rest one by one. */
static void test_large_objects(void)
{
    char schema[4096] = "{\"required\":[\"p0\",\"p29\"],\"additionalProperties\":false,"
                        "\"patternProperties\":{\"^x\":{\"type\":\"string\"}},\"properties\":{";
    for (int i = 0; i < 30; i++)
        snprintf(schema + strlen(schema), sizeof(schema) - strlen(schema),
                 "%s\"p%d\":{\"type\":\"integer\"}", i ? "," : "", i);
    snprintf(schema + strlen(schema), sizeof(schema) - strlen(schema), "}}");
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(reg, "urn:t:large", schema, ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    char doc[4096] = "{";
    for (int i = 0; i < 30; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "\"p%d\":%d,", i, i);
    char good[4200], bad[4200], missing[4200];
    snprintf(good, sizeof(good), "%s\"xa\":\"s\"}", doc);
    snprintf(bad, sizeof(bad), "%s\"xa\":1,\"zz\":2}", doc);
    CHECK(valid(s, good));
    json_t *errors = NULL;
    CHECK(!check_json(s, bad, &errors));
    CHECK_INT(json_array_size(errors), 2);
    CHECK_STR(unit_field(errors, 0, "keywordLocation"), "/patternProperties/^x/type");
    CHECK_STR(unit_field(errors, 0, "instanceLocation"), "/xa");
    CHECK_STR(unit_field(errors, 1, "keywordLocation"), "/additionalProperties");
    CHECK_STR(unit_field(errors, 1, "instanceLocation"), "/zz");
    json_decref(errors);
    snprintf(missing, sizeof(missing), "{\"p0\":0,\"p28\":\"no\"}");
    CHECK(!check_json(s, missing, &errors));
    CHECK_INT(json_array_size(errors), 2);
    CHECK_STR(unit_field(errors, 0, "error"), "missing required property 'p29'");
    CHECK_STR(unit_field(errors, 1, "keywordLocation"), "/properties/p28/type");
    json_decref(errors);
    doc[strlen(doc) - 1] = '}'; /* p29 last, past the members looked up at once */
    CHECK(valid(s, doc));
    doc[strlen(doc) - 3] = '\0';
    snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "\"2\"}");
    json_t *last = json_loads(doc, 0, NULL); /* ... "p29":"2"} */
    CHECK(last != NULL && !odm_schema_validate(s, last, NULL));
    json_decref(last);
    odm_schema_free(s);

    s = compile_in(reg, "urn:t:large-uneval",
                   "{\"allOf\":[{\"properties\":{\"p27\":true}}],\"unevaluatedProperties\":"
                   "{\"type\":\"integer\",\"maximum\":26}}",
                   ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    doc[0] = '\0';
    for (int i = 0; i < 28; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "%s\"p%d\":%d", i ? "," : "{", i, i);
    snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "}");
    CHECK(valid(s, doc)); /* p27 evaluated by allOf, the rest at most 26 */
    doc[strlen(doc) - 1] = '\0';
    snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), ",\"p28\":28}");
    CHECK(!check_json(s, doc, &errors));
    CHECK_INT(json_array_size(errors), 1);
    CHECK_STR(unit_field(errors, 0, "instanceLocation"), "/p28");
    json_decref(errors);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* A node whose only member keyword is "properties" may look members up by name when only the
 * verdict is wanted; the verdict must match the one with every error collected. */
static void test_properties_by_name(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(
        reg, "urn:t:by-name",
        "{\"required\":[\"k\"],\"properties\":{\"a\":{\"type\":\"string\"},"
        "\"b\":{\"properties\":{\"c\":{\"maximum\":3}}}},"
        "\"if\":{\"properties\":{\"k\":{\"const\":\"us\"}}},\"then\":{\"required\":[\"z\"]}}",
        ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    static const struct {
        const char *doc;
        bool valid;
    } cases[] = {
        {"{\"k\":\"fr\",\"x\":1,\"y\":2,\"a\":\"s\",\"b\":{\"c\":3,\"d\":4,\"e\":5}}", true},
        {"{\"k\":\"fr\",\"x\":1,\"y\":2,\"a\":3}", false},
        {"{\"k\":\"fr\",\"x\":1,\"y\":2,\"b\":{\"c\":4,\"d\":4,\"e\":5}}", false},
        {"{\"k\":\"us\",\"x\":1,\"y\":2,\"a\":\"s\"}", false},
        {"{\"k\":\"us\",\"x\":1,\"y\":2,\"z\":0}", true},
        {"{\"x\":1,\"y\":2,\"a\":\"s\"}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *errors = NULL;
        CHECK_MSG(valid(s, cases[i].doc) == cases[i].valid, "case %zu", i);
        CHECK_MSG(check_json(s, cases[i].doc, &errors) == cases[i].valid, "case %zu", i);
        CHECK((errors == NULL) == cases[i].valid);
        json_decref(errors);
    }
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* A verdict alone runs "required" just after "properties": the verdict must be the one the
 * errors give, with duplicate names in "required", additionalProperties after it and
 * evaluated members still seen by unevaluatedProperties. */
static void test_required_last(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s =
        compile_in(reg, "urn:t:required-last",
                   "{\"type\":\"object\",\"required\":[\"a\",\"a\",\"b\"],"
                   "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"maxLength\":2}},"
                   "\"additionalProperties\":{\"type\":\"boolean\"},"
                   "\"anyOf\":[{\"required\":[\"c\"],\"properties\":{\"c\":true}},"
                   "{\"unevaluatedProperties\":false,\"required\":[\"a\"],"
                   "\"properties\":{\"a\":{\"minimum\":0},\"b\":true}}]}",
                   ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    static const struct {
        const char *doc;
        bool valid;
    } cases[] = {
        {"{\"a\":1,\"b\":\"x\"}", true},   /* two members, three entries of "required" */
        {"{\"a\":-1,\"b\":\"x\"}", false}, /* no branch of anyOf holds */
        {"{\"a\":-1,\"b\":\"x\",\"c\":true}", true},
        {"{\"a\":1}", false},            /* "b" missing, fewer members than names */
        {"{\"a\":1,\"c\":true}", false}, /* "b" missing, as many members as names */
        {"{\"a\":1,\"c\":true,\"d\":true}", false},
        {"{\"a\":\"1\",\"b\":\"x\"}", false},
        {"{\"a\":1,\"b\":\"xyz\"}", false},
        {"{\"b\":\"x\",\"c\":1}", false},
        {"{\"b\":\"x\",\"a\":2,\"c\":false}", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *errors = NULL;
        CHECK_MSG(valid(s, cases[i].doc) == cases[i].valid, "case %zu", i);
        CHECK_MSG(check_json(s, cases[i].doc, &errors) == cases[i].valid, "case %zu", i);
        CHECK((errors == NULL) == cases[i].valid);
        json_decref(errors);
    }
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* A string whose subschema's keywords can all judge bytes gets its verdict from them when no
 * error is wanted: the verdict must be the one the full evaluation gives. */
static void test_strings_as_bytes(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s =
        compile_in(reg, "urn:t:strings-as-bytes",
                   "{\"properties\":{\"t\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3},"
                   "\"e\":{\"enum\":[\"x\",1]},\"c\":{\"const\":\"k\"},"
                   "\"p\":{\"pattern\":\"^a+$\",\"format\":\"email\"},\"f\":{\"format\":\"date\"},"
                   "\"n\":{\"type\":[\"integer\",\"string\"],\"maxLength\":1},\"z\":{}},"
                   "\"items\":{\"type\":\"number\"}}",
                   ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    static const struct {
        const char *doc;
        bool valid;
    } cases[] = {
        {"{\"t\":\"ab\",\"e\":\"x\",\"c\":\"k\",\"f\":\"2024-02-29\",\"n\":\"1\",\"z\":\"\"}",
         true},
        {"{\"t\":\"a\"}", false},
        {"{\"t\":\"\u00e9\u00e9\u00e9\"}", true}, /* characters, not bytes */
        {"{\"t\":\"abcd\"}", false},
        {"{\"t\":12}", false},
        {"{\"e\":\"y\"}", false},
        {"{\"e\":1}", true},
        {"{\"c\":\"kk\"}", false},
        {"{\"p\":\"aaa\"}", false}, /* the pattern holds, the format does not */
        {"{\"f\":\"2023-02-29\"}", false},
        {"{\"n\":\"12\"}", false},
        {"{\"n\":12}", true},
        {"\"abc\"", true},
        {"[\"abc\"]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *errors = NULL;
        CHECK_MSG(valid(s, cases[i].doc) == cases[i].valid, "case %zu", i);
        CHECK_MSG(check_json(s, cases[i].doc, &errors) == cases[i].valid, "case %zu", i);
        CHECK((errors == NULL) == cases[i].valid);
        json_decref(errors);
    }
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* Property names are judged as bytes when only the verdict counts; both modes must agree. */
static void test_property_names(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(
        reg, "urn:t:names",
        "{\"properties\":{\"a\":{\"propertyNames\":{\"$ref\":\"#/$defs/status\"}},"
        "\"b\":{\"propertyNames\":{\"pattern\":\"^[a-z]+$\",\"maxLength\":3,\"minLength\":2}},"
        "\"c\":{\"propertyNames\":{\"type\":\"integer\"}},"
        "\"d\":{\"propertyNames\":{\"const\":\"x\"}},"
        "\"e\":{\"propertyNames\":{\"format\":\"ipv4\"}},"
        "\"f\":{\"propertyNames\":{\"not\":{\"const\":\"no\"}}}},"
        "\"$defs\":{\"status\":{\"$ref\":\"#/$defs/s2\"},\"s2\":{\"enum\":[\"paid\",1,\"sent\"]}}}",
        ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    static const struct {
        const char *doc;
        bool valid;
    } cases[] = {
        {"{\"a\":{\"paid\":1,\"sent\":2}}", true},
        {"{\"a\":{\"paid\":1,\"lost\":2}}", false},
        {"{\"a\":{\"1\":1}}", false},
        {"{\"b\":{\"ab\":1,\"abc\":2}}", true},
        {"{\"b\":{\"abcd\":1}}", false},
        {"{\"b\":{\"a\":1}}", false},
        {"{\"b\":{\"\\u00e9\\u00e9\":1}}", false},
        {"{\"c\":{}}", true},
        {"{\"c\":{\"1\":1}}", false},
        {"{\"d\":{\"x\":1}}", true},
        {"{\"d\":{\"y\":1}}", false},
        {"{\"e\":{\"10.0.0.1\":1}}", true},
        {"{\"e\":{\"10.0.0.256\":1}}", false},
        {"{\"f\":{\"yes\":1}}", true},
        {"{\"f\":{\"no\":1}}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *errors = NULL;
        CHECK_MSG(valid(s, cases[i].doc) == cases[i].valid, "case %zu", i);
        CHECK_MSG(check_json(s, cases[i].doc, &errors) == cases[i].valid, "case %zu", i);
        json_decref(errors);
    }
    json_t *errors = NULL;
    CHECK(!check_json(s, "{\"b\":{\"ab\":1,\"abcd\":2,\"x\":3}}", &errors));
    CHECK_INT(json_array_size(errors), 2);
    CHECK_STR(unit_field(errors, 0, "instanceLocation"), "/b/abcd");
    CHECK_STR(unit_field(errors, 0, "keywordLocation"), "/properties/b/propertyNames/maxLength");
    CHECK_STR(unit_field(errors, 1, "instanceLocation"), "/b/x");
    CHECK_STR(unit_field(errors, 1, "keywordLocation"), "/properties/b/propertyNames/minLength");
    json_decref(errors);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* Simple anchored patterns match without PCRE2; wrapped in a group they go through PCRE2.
 * Both must agree on every string. */
static bool pattern_verdict(odm_schema_registry_t *reg, const char *pattern, const char *text,
                            int n)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "urn:t:pattern-%d", n);
    json_t *doc = json_pack("{s:s}", "pattern", pattern);
    odm_error_t err = {0};
    odm_schema_t *s = NULL;
    if (odm_schema_registry_add(reg, uri, doc, NULL, &err))
        s = odm_schema_compile(reg, uri, ODM_FORMAT_ASSERT, &err);
    json_decref(doc);
    CHECK_MSG(s != NULL, "%s: %s", pattern, err.message);
    json_t *inst = json_string(text);
    bool ok = s != NULL && odm_schema_validate(s, inst, NULL);
    json_decref(inst);
    odm_schema_free(s);
    return ok;
}

static void test_simple_patterns(void)
{
    static const char *const patterns[] = {
        "^[0-9]{5}$",
        "^[A-Z0-9][A-Z0-9 -]{1,9}$",
        "^\\+[1-9][0-9]{6,14}$",
        "^[a-z][a-zA-Z]*$",
        "^WH-[A-Z0-9]{2,8}$",
        "^[A-Z]{2}\\d+$",
        "^a*b?c+$",
        "^\\w+$",
        "^[\\-.]x",
        "^abc",
        "^",
        "^$",
        "^[a-c-]{0,3}$",
        "^x{2,}$",
        "^[a-z]*[a-z]{2}$",
        "^a?a$",
        "^[^a]b$",
        "^\\.\\$\\^$",
    };
    static const char *const texts[] = {
        "",
        "12345",
        "1234",
        "123456",
        "AB",
        "A B-9",
        "+33612345678",
        "+0612",
        "abc",
        "aBc",
        "WH-PAR1",
        "WH-P",
        "\xc3\xa9\xc3\xa9",
        "a\xc3\xa9",
        "x",
        "xx",
        "xxx",
        "FR75",
        "ab-",
        "aabcc",
        "-x",
        ".x",
        "abcdef",
        "a_1",
        "a",
        "aa",
        "cb",
        ".$^",
    };
    odm_schema_registry_t *reg = odm_schema_registry_new();
    int n = 0;
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        const char *p = patterns[i];
        char grouped[128];
        size_t len = strlen(p), end = len > 1 && p[len - 1] == '$' && p[len - 2] != '\\' ? 1 : 0;
        snprintf(grouped, sizeof(grouped), "^(?:%.*s)%s", (int)(len - 1 - end), p + 1,
                 end ? "$" : "");
        for (size_t j = 0; j < sizeof(texts) / sizeof(texts[0]); j++) {
            bool simple = pattern_verdict(reg, p, texts[j], n++);
            bool pcre = pattern_verdict(reg, grouped, texts[j], n++);
            CHECK_MSG(simple == pcre, "'%s' on '%s': %d, '%s' says %d", p, texts[j], simple,
                      grouped, pcre);
        }
    }
    CHECK(pattern_verdict(reg, "^[0-9]{5}$", "12345", n++));
    CHECK(!pattern_verdict(reg, "^[0-9]{5}$", "1234\xd9\xa0", n++)); /* Arabic-Indic zero */
    odm_schema_registry_free(reg);
}

/* ---- compile errors ---- */

static void expect_compile_error(const char *text, const char *message)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(reg, "https://odmd.test/bad.json", text, ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s == NULL, "compiled: %s", text);
    CHECK_INT(err.kind, ODM_ERR_SCHEMA);
    CHECK_STR(err.message, message);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

static void test_compile_errors(void)
{
    expect_compile_error("{\"properties\":{\"age\":{\"minimum\":\"10\"}}}",
                         "/properties/age/minimum: expected a number");
    expect_compile_error("{\"type\":\"text\"}", "/type: expected a type name or an array of them");
    expect_compile_error("{\"items\":{\"pattern\":\"([a-z\"}}",
                         "/items/pattern: invalid regular expression: missing terminating ] for "
                         "character class");
    expect_compile_error("{\"allOf\":[]}", "/allOf: expected a non-empty array of schemas");
    expect_compile_error("{\"anyOf\":[{},3]}",
                         "/anyOf/1: expected a schema (an object or a boolean)");
    expect_compile_error("{\"properties\":{\"a\":{\"$ref\":\"#/$defs/missing\"}}}",
                         "/properties/a/$ref: cannot resolve "
                         "'https://odmd.test/bad.json#/$defs/missing'");
    expect_compile_error("{\"required\":[\"a\",1]}", "/required/1: expected a string");
    expect_compile_error("{\"minLength\":-1}", "/minLength: expected a non-negative integer");
    expect_compile_error("{\"multipleOf\":0}", "/multipleOf: expected a number above 0");
    expect_compile_error("{\"$defs\":{\"a\":{\"maxItems\":1.5}},\"$ref\":\"#/$defs/a\"}",
                         "/$defs/a/maxItems: expected a non-negative integer");
    expect_compile_error("{\"$schema\":\"https://example.com/unknown-dialect\"}",
                         "/$schema: unsupported meta-schema 'https://example.com/unknown-dialect'");
    expect_compile_error("3", "/: expected an object or a boolean");
    expect_compile_error("{\"$defs\":{\"n\":5},\"items\":{\"$ref\":\"#/$defs/n\"}}",
                         "/$defs/n: expected an object or a boolean");

    /* an error in another document names that document */
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    json_t *lib = json_loads("{\"$defs\":{\"bad\":{\"minimum\":\"x\"}}}", 0, NULL);
    CHECK(odm_schema_registry_add(reg, "https://odmd.test/lib.json", lib, NULL, &err));
    json_decref(lib);
    CHECK(compile_in(reg, "https://odmd.test/main.json", "{\"$ref\":\"lib.json#/$defs/bad\"}",
                     ODM_FORMAT_ASSERT, &err) == NULL);
    CHECK_STR(err.message, "https://odmd.test/lib.json#/$defs/bad/minimum: expected a number");
    /* keywords unknown to 2020-12 (x- included) are annotations */
    odm_schema_t *s = compile_in(reg, "urn:t:x", "{\"x-index\":{\"minimum\":\"no\"},\"foo\":[1]}",
                                 ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* ---- registry ---- */

static void test_registry(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    json_t *doc = json_loads("{\"$id\":\"https://odmd.test/author.json\",\"type\":\"object\","
                             "\"properties\":{\"name\":{\"$ref\":\"#/$defs/name\"}},"
                             "\"$defs\":{\"name\":{\"$anchor\":\"nm\",\"type\":\"string\"}}}",
                             0, NULL);
    CHECK(odm_schema_registry_add(reg, "file:///models/author.json", doc, "author.json", &err));
    CHECK(!odm_schema_registry_add(reg, "file:///models/author.json", doc, NULL, &err));
    CHECK_INT(err.kind, ODM_ERR_SCHEMA);
    CHECK_STR(err.message, "uri 'file:///models/author.json' is already registered");
    json_decref(doc);

    /* the same document by its $id, by the URI it was added under, and by anchor */
    odm_schema_t *book = compile_in(reg, "https://odmd.test/book.json",
                                    "{\"properties\":{\"author\":{\"$ref\":\"author.json\"},"
                                    "\"alias\":{\"$ref\":\"file:///models/author.json#nm\"}}}",
                                    ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(book != NULL, "%s", err.message);
    CHECK(valid(book, "{\"author\":{\"name\":\"Ann\"},\"alias\":\"A\"}"));
    CHECK(!valid(book, "{\"author\":{\"name\":5}}"));
    CHECK(!valid(book, "{\"alias\":5}"));
    json_t *errors = NULL;
    CHECK(!check_json(book, "{\"author\":{\"name\":5}}", &errors));
    CHECK_STR(unit_field(errors, 0, "keywordLocation"),
              "/properties/author/$ref/properties/name/$ref/type");
    CHECK_STR(unit_field(errors, 0, "absoluteKeywordLocation"),
              "https://odmd.test/author.json#/$defs/name/type");
    json_decref(errors);
    odm_schema_t *frag = odm_schema_compile(reg, "https://odmd.test/author.json#/$defs/name",
                                            ODM_FORMAT_ASSERT, &err);
    CHECK(frag != NULL && valid(frag, "\"x\"") && !valid(frag, "1"));
    odm_schema_free(frag);
    odm_schema_free(book);

    /* a document whose embedded $id is taken is refused whole: its URI stays free */
    json_t *clash = json_loads("{\"$defs\":{\"a\":{\"$id\":\"author.json\"}}}", 0, NULL);
    CHECK(!odm_schema_registry_add(reg, "https://odmd.test/clash.json", clash, "clash", &err));
    CHECK_STR(err.message, "/$defs/a: uri 'https://odmd.test/author.json' is already registered");
    json_decref(clash);
    json_t *fine = json_loads("{\"type\":\"null\"}", 0, NULL);
    CHECK(odm_schema_registry_add(reg, "https://odmd.test/clash.json", fine, NULL, &err));
    json_decref(fine);
    odm_schema_registry_free(reg);
}

static void test_mapped_folder(void)
{
    char dir[] = "/tmp/odmd-schema-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/point.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("{\"type\":\"object\",\"required\":[\"x\",\"y\"]}", f);
        fclose(f);
    }
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    CHECK(odm_schema_registry_map(reg, "https://geo.test/", dir, &err));
    odm_schema_t *s = compile_in(reg, "https://odmd.test/shape.json",
                                 "{\"items\":{\"$ref\":\"https://geo.test/point.json\"}}",
                                 ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK(valid(s, "[{\"x\":1,\"y\":2}]"));
    CHECK(!valid(s, "[{\"x\":1}]"));
    odm_schema_t *escape =
        compile_in(reg, "https://odmd.test/escape.json",
                   "{\"$ref\":\"https://geo.test/../etc/passwd\"}", ODM_FORMAT_ASSERT, &err);
    CHECK(escape == NULL);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
    unlink(path);
    rmdir(dir);
}

static void test_metaschema(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *meta = odm_schema_compile(reg, "https://json-schema.org/draft/2020-12/schema",
                                            ODM_FORMAT_ANNOTATE, &err);
    CHECK_MSG(meta != NULL, "%s", err.message);
    CHECK(valid(meta, "{\"type\":\"object\",\"properties\":{\"a\":{\"minimum\":1}}}"));
    CHECK(!valid(meta, "{\"type\":\"object\",\"properties\":{\"a\":{\"minimum\":\"1\"}}}"));
    CHECK(!valid(meta, "{\"$defs\":{\"a\":{\"type\":5}}}"));
    odm_schema_free(meta);
    odm_schema_t *s = compile_in(reg, "urn:t:dialect",
                                 "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
                                 "\"minimum\":3}",
                                 ODM_FORMAT_ASSERT, &err);
    CHECK(s != NULL && valid(s, "3") && !valid(s, "2"));
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

static void test_recursion(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *tree = compile_in(reg, "urn:t:tree",
                                    "{\"type\":\"object\",\"properties\":{\"v\":{\"type\":"
                                    "\"integer\"},\"kids\":{\"items\":{\"$ref\":\"#\"}}},"
                                    "\"unevaluatedProperties\":false}",
                                    ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(tree != NULL, "%s", err.message);
    CHECK(valid(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]}"));
    CHECK(!valid(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"w\":3}]}]}"));
    odm_schema_t *loop = compile_in(reg, "urn:t:loop",
                                    "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
                                    "\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
                                    ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(loop != NULL, "%s", err.message);
    json_t *errors = NULL;
    CHECK(!check_json(loop, "1", &errors));
    CHECK_STR(unit_field(errors, 0, "error"), "reference loop on the same value");
    json_decref(errors);
    /* 600 nested arrays under a schema that recurses per level: the depth cap fails it */
    odm_schema_t *deep =
        compile_in(reg, "urn:t:deep", "{\"items\":{\"$ref\":\"#\"}}", ODM_FORMAT_ASSERT, &err);
    char nested[1300];
    memset(nested, '[', 600);
    memset(nested + 600, ']', 600);
    nested[1200] = '\0';
    CHECK(deep != NULL && !check_json(deep, nested, &errors));
    CHECK_STR(unit_field(errors, 0, "error"), "schema evaluation nested deeper than 512");
    json_decref(errors);
    /* around the cap, stopping at the first error and collecting them all agree */
    int flips = 0;
    bool valid_prev = false;
    for (int n = 250; n < 262; n++) {
        memset(nested, '[', (size_t)n);
        memset(nested + n, ']', (size_t)n);
        nested[2 * n] = '\0';
        bool quick = valid(deep, nested), full = check_json(deep, nested, &errors);
        CHECK_MSG(quick == full, "%d levels: %d, all errors %d", n, quick, full);
        flips += n > 250 && quick != valid_prev;
        valid_prev = quick;
        json_decref(errors);
        errors = NULL;
    }
    CHECK_INT(flips, 1);
    odm_schema_free(deep);
    odm_schema_free(tree);
    odm_schema_free(loop);
    odm_schema_registry_free(reg);
}

/* ---- threads ---- */

typedef struct {
    const odm_schema_t *schema;
    json_t *good, *bad;
    int wrong;
} worker_t;

static void *validate_many(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 2000; i++) {
        json_t *errors = NULL;
        if (!odm_schema_validate(w->schema, w->good, NULL))
            w->wrong++;
        if (validate_into(w->schema, w->bad, &errors, 10) || json_array_size(errors) != 2)
            w->wrong++;
        json_decref(errors);
    }
    return NULL;
}

static void test_threads(void)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(reg, "urn:t:threads",
                                 "{\"patternProperties\":{\"^s_\":{\"type\":\"string\","
                                 "\"pattern\":\"^[a-z]+$\"}},\"properties\":{\"n\":{\"$ref\":"
                                 "\"#/$defs/n\"}},\"$defs\":{\"n\":{\"maximum\":5}}}",
                                 ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    json_t *good = json_loads("{\"s_a\":\"abc\",\"n\":3}", 0, NULL);
    json_t *bad = json_loads("{\"s_a\":\"ABC\",\"n\":30}", 0, NULL);
    worker_t w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){s, good, bad, 0};
        pthread_create(&t[i], NULL, validate_many, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(w[i].wrong, 0);
    }
    json_decref(good);
    json_decref(bad);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
}

/* ---- allocation: a valid instance costs no malloc (not under the sanitizers) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_MALLOC 0
#endif
#endif
#ifndef COUNT_MALLOC
#define COUNT_MALLOC 1
#endif

#if COUNT_MALLOC
extern void *__libc_malloc(size_t size);
static _Thread_local long malloc_calls;
void *malloc(size_t size)
{
    malloc_calls++;
    return __libc_malloc(size);
}
#endif

static void test_no_allocation(void)
{
#if COUNT_MALLOC
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_error_t err = {0};
    odm_schema_t *s = compile_in(
        reg, "urn:t:alloc",
        "{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,"
        "\"properties\":{\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Z]\"},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/tag\"},\"uniqueItems\":true},"
        "\"price\":{\"multipleOf\":0.01},\"kind\":{\"oneOf\":[{\"const\":\"a\"},{\"const\":\"b\"}]}"
        ","
        "\"when\":{\"format\":\"date-time\"},\"meta\":{\"propertyNames\":{\"$ref\":\"#/$defs/"
        "key\"}}},"
        "\"$defs\":{\"tag\":{\"enum\":[\"x\",\"y\",\"z\"]},\"key\":{\"pattern\":\"^[a-z]+$\"}}}",
        ODM_FORMAT_ASSERT, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    json_t *inst =
        json_loads("{\"name\":\"Ann\",\"tags\":[\"x\",\"y\"],\"price\":19.99,"
                   "\"kind\":\"b\",\"when\":\"2024-01-02T03:04:05Z\",\"meta\":{\"ab\":1}}",
                   0, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(10);
    CHECK(odm_schema_validate(s, inst, list)); /* warms the thread's match data */
    long before = malloc_calls;
    CHECK(odm_schema_validate(s, inst, NULL));
    long after = malloc_calls;
    CHECK_INT(after - before, 0);
    /* nor when errors are asked for: the list's memory is taken with the first unit */
    before = malloc_calls;
    CHECK(odm_schema_validate(s, inst, list));
    after = malloc_calls;
    CHECK_INT(after - before, 0);
    CHECK_INT(odm_schema_errors_count(list), 0);
    /* an invalid instance: the units are kept in the list's memory, reused by the next */
    json_t *bad = json_loads("{\"name\":\"ann\",\"tags\":[\"x\",\"q\",\"x\"],\"price\":1.001,"
                             "\"kind\":\"c\",\"when\":\"noon\",\"z\":0}",
                             0, NULL);
    CHECK(!odm_schema_validate(s, bad, list));
    size_t units = odm_schema_errors_count(list);
    CHECK(units >= 8);
    before = malloc_calls;
    CHECK(!odm_schema_validate(s, bad, list));
    after = malloc_calls;
    CHECK_INT(after - before, 0);
    CHECK_INT(odm_schema_errors_count(list), units); /* emptied first, then filled again */
    json_decref(bad);
    odm_schema_errors_free(list);
    json_decref(inst);
    odm_schema_free(s);
    odm_schema_registry_free(reg);
#endif
}

int main(void)
{
    json_object_seed(1);
    test_numbers();
    test_strings_and_structure();
    test_lengths();
    test_formats();
    test_output_units();
    test_output_required();
    test_output_messages();
    test_large_objects();
    test_properties_by_name();
    test_required_last();
    test_strings_as_bytes();
    test_simple_patterns();
    test_property_names();
    test_compile_errors();
    test_registry();
    test_mapped_folder();
    test_metaschema();
    test_recursion();
    test_threads();
    test_no_allocation();
    return check_done("test_schema");
}
