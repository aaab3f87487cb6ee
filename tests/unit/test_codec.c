/* Unit tests for src/codec: strict parsing, JSON <-> BSON by model, query translation, ids. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "odmd/codec.h"

#define CHECK_CONTAINS(hay, needle)                                                                \
    CHECK_MSG(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

static odm_models_t *models;
static const odm_model_t *users, *orders, *things, *counters, *labels;
static char tmp_dir[] = "/tmp/odmd-test-codec-XXXXXX";

static const char things_model[] =
    "{\"type\": \"object\", \"properties\": {\n"
    "  \"n\": {\"type\": \"integer\", \"x-bson\": \"long\"},\n"
    "  \"d\": {\"type\": \"number\", \"x-bson\": \"double\"},\n"
    "  \"when\": {\"type\": \"string\", \"x-bson\": \"date\"},\n"
    "  \"days\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": "
    "\"date-time\"}},\n"
    "  \"secret\": {\"type\": \"object\", \"writeOnly\": true, \"properties\": {\"pin\": {}}},\n"
    "  \"box\": {\"type\": \"object\", \"properties\": {\"key\": {\"writeOnly\": true},\n"
    "    \"label\": {\"type\": \"string\"}}},\n"
    "  \"any\": {}}}";

static void write_file(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static bool setup(void)
{
    odm_error_t err = {0};
    if (mkdtemp(tmp_dir) == NULL)
        return false;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "cp schemas/users.json schemas/orders.json schemas/products.json '%s'", tmp_dir);
    if (system(cmd) != 0)
        return false;
    write_file("things.json", things_model);
    write_file("counters.json", "{\"properties\": {\"_id\": {\"type\": \"integer\"}}}");
    write_file("labels.json", "{\"properties\": {\"_id\": {\"type\": \"string\"}}}");
    models = odm_models_load(tmp_dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return false;
    users = odm_models_find(models, "users", 5);
    orders = odm_models_find(models, "orders", 6);
    things = odm_models_find(models, "things", 6);
    counters = odm_models_find(models, "counters", 8);
    labels = odm_models_find(models, "labels", 6);
    return users && orders && things && counters && labels;
}

/* ---- odm_json_parse ---- */

static const char *parse_error(const char *text, unsigned flags)
{
    static odm_error_t err;
    odm_error_clear(&err);
    json_t *v = odm_json_parse(text, strlen(text), flags, &err);
    if (v != NULL) {
        json_decref(v);
        return "(parsed)";
    }
    CHECK_INT(err.kind, ODM_ERR_MALFORMED_JSON);
    return err.message;
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

static void test_parse(void)
{
    CHECK_STR(parse_error("{\"a\": [1, {\"b\": null}]}", ODM_JSON_DOCUMENT), "(parsed)");
    CHECK_STR(parse_error("{\"a\": 1,\n \"b\" 2}", 0), "line 2 column 6: ':' expected near '2'");
    CHECK_STR(parse_error("{\"a\": 1,\n \"a\": 2}", 0), "line 2 column 4: duplicate key 'a'");
    CHECK_CONTAINS(parse_error("{\"x\": {\"k\": 1, \"k\": 1}}", 0), "duplicate key 'k'");
    CHECK_STR(parse_error("{\"a\": 99999999999999999999}", 0),
              "integer out of range at line 1 column 26");
    CHECK_CONTAINS(parse_error("{\"a\": -99999999999999999999}", 0), "integer out of range");
    CHECK_CONTAINS(parse_error("{\"a\": 1e400}", 0), "number out of range at line 1");
    CHECK_STR(parse_error("{\"a\": 9223372036854775807}", 0), "(parsed)");
    CHECK_CONTAINS(parse_error("{\"a\": \"\xff\"}", 0), "invalid UTF-8");
    CHECK_STR(parse_error("{\"a\\u0000b\": 1}", 0),
              "line 1 column 11: a field name must not contain \\u0000");
    CHECK_STR(parse_error("{\"a\": \"x\\u0000\"}", 0), "(parsed)"); /* BSON strings carry it */
    CHECK_CONTAINS(parse_error("", 0), "line 1 column 0");
    /* jansson's "near" text holds the client's bytes: a message must stay UTF-8 (it goes into
     * a JSON problem body) */
    CHECK_STR(parse_error("{\"a\\\xc2\x84\x84\": 1}", 0),
              "line 1 column 5: invalid escape near '\"a\\?'");

    char *ok = nested(ODM_JSON_MAX_DEPTH), *deep = nested(ODM_JSON_MAX_DEPTH + 1);
    CHECK_STR(parse_error(ok, 0), "(parsed)");
    CHECK_STR(parse_error(deep, 0), "line 1 column 65: nesting deeper than 64 levels");
    free(ok);
    free(deep);
    /* brackets inside strings do not nest */
    char text[300];
    snprintf(text, sizeof text, "{\"a\": \"%s\\\"[\"}",
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    CHECK_STR(parse_error(text, 0), "(parsed)");

    CHECK_STR(parse_error("{\"$set\": 1}", ODM_JSON_DOCUMENT),
              "field name '$set' at '/$set' must not start with '$'");
    CHECK_STR(parse_error("{\"a\": {\"b.c\": 1}}", ODM_JSON_DOCUMENT),
              "field name 'b.c' at '/a/b.c' must not contain '.'");
    CHECK_STR(parse_error("{\"a/b\": [0, {\"$x\": 1}]}", ODM_JSON_DOCUMENT),
              "field name '$x' at '/a~1b/1/$x' must not start with '$'");
    CHECK_STR(parse_error("{\"a\": {\"b.c\": 1, \"$x\": 2}}", 0), "(parsed)");

    /* a long pointer of non-ASCII names is cut in the message, which stays UTF-8 and whole */
    char key[201], deep_keys[1024];
    for (int i = 0; i < 100; i++)
        memcpy(key + 2 * i, "\xc3\xa9", 2);
    key[200] = '\0';
    snprintf(deep_keys, sizeof deep_keys, "{\"%s\": {\"%s\": {\"%s\": {\"$x\": 1}}}}", key, key,
             key);
    const char *msg = parse_error(deep_keys, ODM_JSON_DOCUMENT);
    CHECK(bson_utf8_validate(msg, strlen(msg), false));
    CHECK_CONTAINS(msg, "field name '$x' at '/");
    CHECK_CONTAINS(msg, "...' must not start with '$'");
}

/* ---- odm_codec_to_bson / odm_codec_write_json ---- */

static json_t *parse(const char *text)
{
    odm_error_t err = {0};
    json_t *v = odm_json_parse(text, strlen(text), ODM_JSON_DOCUMENT, &err);
    CHECK_MSG(v != NULL, "%s: %s", text, err.message);
    return v;
}

/* Converts text to BSON with `model`; returns false (and the violations) when refused. */
static bool to_bson(const odm_model_t *model, const char *text, bson_t *out, json_t **errors)
{
    odm_error_t err = {0};
    json_t *doc = parse(text);
    *errors = json_array();
    bson_init(out);
    bool ok = doc && odm_codec_to_bson(model, doc, out, *errors, &err);
    if (!ok && doc)
        CHECK_INT(err.kind, ODM_ERR_VALIDATION);
    json_decref(doc);
    return ok;
}

static char written[4096];

static const char *write_json(const odm_model_t *model, const bson_t *doc)
{
    odm_buf_t buf;
    odm_error_t err = {0};
    odm_buf_init(&buf, 1 << 20);
    bool ok = odm_codec_write_json(model, doc, &buf, &err);
    snprintf(written, sizeof written, "%s", ok ? odm_buf_cstr(&buf) : err.message);
    odm_buf_release(&buf);
    return written;
}

static bson_type_t type_at(const bson_t *doc, const char *dotted)
{
    bson_iter_t it, found;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, dotted, &found))
        return BSON_TYPE_EOD;
    return bson_iter_type(&found);
}

static int64_t int_at(const bson_t *doc, const char *dotted)
{
    bson_iter_t it, found;
    if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, dotted, &found))
        return -1;
    return BSON_ITER_HOLDS_DATE_TIME(&found) ? bson_iter_date_time(&found)
                                             : bson_iter_as_int64(&found);
}

static void test_round_trip(void)
{
    bson_t b;
    json_t *errors;
    bool ok = to_bson(users,
                      "{\"_id\": \"0123456789ABCDEF01234567\", \"email\": \"a@b.example\", "
                      "\"name\": \"Ann \\\"A\\\"\\n\", \"password\": \"secret123\", "
                      "\"lastLogin\": \"2024-02-29T23:30:00.5+01:00\", \"age\": 30, "
                      "\"tags\": [\"x\", \"y\"], \"address\": {\"city\": \"Oslo\"}, "
                      "\"birthday\": \"2000-01-31\"}",
                      &b, &errors);
    CHECK(ok);
    CHECK_INT(type_at(&b, "_id"), BSON_TYPE_OID);
    CHECK_INT(type_at(&b, "lastLogin"), BSON_TYPE_DATE_TIME);
    CHECK_INT(int_at(&b, "lastLogin"), INT64_C(1709245800500));
    CHECK_INT(type_at(&b, "age"), BSON_TYPE_INT32);
    CHECK_INT(type_at(&b, "birthday"), BSON_TYPE_UTF8);
    CHECK_INT(type_at(&b, "tags.1"), BSON_TYPE_UTF8);
    CHECK_INT(type_at(&b, "password"), BSON_TYPE_UTF8);
    BSON_APPEND_INT32(&b, ODM_VERSION_FIELD, 7);
    CHECK_INT(odm_codec_version(&b), 7);
    CHECK_STR(write_json(users, &b),
              "{\"_id\":\"0123456789abcdef01234567\",\"email\":\"a@b.example\","
              "\"name\":\"Ann \\\"A\\\"\\n\",\"lastLogin\":\"2024-02-29T22:30:00.500Z\","
              "\"age\":30,\"tags\":[\"x\",\"y\"],\"address\":{\"city\":\"Oslo\"},"
              "\"birthday\":\"2000-01-31\"}");

    json_t *tree = odm_codec_to_tree(users, &b);
    CHECK(tree != NULL);
    CHECK_STR(json_string_value(json_object_get(tree, "password")), "secret123");
    CHECK_STR(json_string_value(json_object_get(tree, "lastLogin")), "2024-02-29T22:30:00.500Z");
    CHECK_STR(json_string_value(json_object_get(tree, "_id")), "0123456789abcdef01234567");
    CHECK(json_object_get(tree, ODM_VERSION_FIELD) == NULL);
    CHECK_INT(json_integer_value(json_object_get(tree, "age")), 30);
    /* the tree converts back to the same BSON, the version aside */
    odm_error_t err = {0};
    bson_t body = BSON_INITIALIZER;
    CHECK(odm_codec_to_bson(users, tree, &body, NULL, &err));
    bson_t reordered = BSON_INITIALIZER;
    bson_copy_to_excluding_noinit(&b, &reordered, ODM_VERSION_FIELD, NULL);
    CHECK(bson_equal(&body, &reordered));
    CHECK_INT(odm_codec_version(&body), 0);
    bson_destroy(&reordered);
    bson_destroy(&body);
    json_decref(tree);
    json_decref(errors);
    bson_destroy(&b);
}

static const char *date_error(const char *value)
{
    static char message[256];
    char text[200];
    bson_t b;
    json_t *errors;
    snprintf(text, sizeof text, "{\"lastLogin\": \"%s\"}", value);
    if (to_bson(users, text, &b, &errors)) {
        snprintf(message, sizeof message, "(stored %lld)", (long long)int_at(&b, "lastLogin"));
    } else {
        json_t *v = json_array_get(errors, 0);
        CHECK_INT(json_array_size(errors), 1);
        CHECK_STR(json_string_value(json_object_get(v, "instanceLocation")), "/lastLogin");
        CHECK_STR(json_string_value(json_object_get(v, "keywordLocation")),
                  "/properties/lastLogin/format");
        snprintf(message, sizeof message, "%s", json_string_value(json_object_get(v, "error")));
    }
    json_decref(errors);
    bson_destroy(&b);
    return message;
}

static const char *date_text(int64_t ms)
{
    static char out[64];
    bson_t b = BSON_INITIALIZER;
    BSON_APPEND_DATE_TIME(&b, "lastLogin", ms);
    const char *json = write_json(users, &b);
    snprintf(out, sizeof out, "%s", json);
    bson_destroy(&b);
    return out;
}

static void test_dates(void)
{
    CHECK_STR(date_error("1970-01-01T00:00:00Z"), "(stored 0)");
    CHECK_STR(date_error("1970-01-01t01:00:00.123000+01:00"), "(stored 123)");
    CHECK_STR(date_error("1970-01-01T00:00:00.001z"), "(stored 1)");
    CHECK_STR(date_error("1969-12-31T19:00:00-05:00"), "(stored 0)");
    CHECK_STR(date_error("9999-12-31T23:59:59.999Z"), "(stored 253402300799999)");
    CHECK_STR(date_error("0001-01-01T00:00:00Z"), "(stored -62135596800000)");
    CHECK_CONTAINS(date_error("2016-12-31T23:59:60Z"), "leap second");
    CHECK_CONTAINS(date_error("2024-01-01T00:00:00.1239Z"), "milliseconds");
    CHECK_CONTAINS(date_error("0001-01-01T00:00:00+01:00"), "0001-9999");
    CHECK_CONTAINS(date_error("0000-06-01T00:00:00Z"), "0001-9999");
    CHECK_CONTAINS(date_error("2023-02-29T00:00:00Z"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-13-01T00:00:00Z"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-01-01T24:00:00Z"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-01-01T00:00:00"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-01-01T00:00:00+24:00"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-01-01T00:00:00.Z"), "RFC 3339");
    CHECK_CONTAINS(date_error("2024-01-01"), "RFC 3339");
    CHECK_STR(date_error("2024-02-29T12:00:00Z"), "(stored 1709208000000)");

    CHECK_STR(date_text(0), "{\"lastLogin\":\"1970-01-01T00:00:00.000Z\"}");
    CHECK_STR(date_text(-1), "{\"lastLogin\":\"1969-12-31T23:59:59.999Z\"}");
    CHECK_STR(date_text(1709249400500), "{\"lastLogin\":\"2024-02-29T23:30:00.500Z\"}");
    CHECK_STR(date_text(-62135596800000), "{\"lastLogin\":\"0001-01-01T00:00:00.000Z\"}");
    CHECK_STR(date_text(253402300800000), "{\"lastLogin\":\"+010000-01-01T00:00:00.000Z\"}");
    CHECK_STR(date_text(-62167219200001), "{\"lastLogin\":\"-000001-12-31T23:59:59.999Z\"}");
    CHECK_CONTAINS(date_text(INT64_MIN), "Z\"}");
    CHECK_CONTAINS(date_text(INT64_MAX), "Z\"}");

    /* dates inside arrays, and x-bson date */
    bson_t b;
    json_t *errors;
    CHECK(to_bson(things,
                  "{\"days\": [\"2020-01-01T00:00:00Z\"], \"when\": \"2020-01-01T00:00:00Z\"}", &b,
                  &errors));
    CHECK_INT(type_at(&b, "days.0"), BSON_TYPE_DATE_TIME);
    CHECK_INT(type_at(&b, "when"), BSON_TYPE_DATE_TIME);
    bson_destroy(&b);
    json_decref(errors);
    CHECK(!to_bson(things, "{\"days\": [\"2020-01-01T00:00:00Z\", \"nope\"], \"when\": 5}", &b,
                   &errors));
    CHECK_INT(json_array_size(errors), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation")),
              "/days/1");
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "keywordLocation")),
              "/properties/days/items/format");
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 1), "keywordLocation")),
              "/properties/when/x-bson");
    bson_destroy(&b);
    json_decref(errors);
}

static void test_numbers(void)
{
    bson_t b;
    json_t *errors;
    CHECK(to_bson(things,
                  "{\"any\": 9007199254740993, \"n\": 5, \"d\": 2, \"box\": {\"label\": "
                  "-9223372036854775808}}",
                  &b, &errors));
    CHECK_INT(type_at(&b, "any"), BSON_TYPE_INT64);
    CHECK_INT(int_at(&b, "any"), INT64_C(9007199254740993));
    CHECK_INT(type_at(&b, "n"), BSON_TYPE_INT64);
    CHECK_INT(type_at(&b, "d"), BSON_TYPE_DOUBLE);
    CHECK_STR(write_json(things, &b), "{\"any\":9007199254740993,\"n\":5,\"d\":2,"
                                      "\"box\":{\"label\":-9223372036854775808}}");
    bson_destroy(&b);
    json_decref(errors);

    CHECK(to_bson(things, "{\"n\": 7.0}", &b, &errors));
    CHECK_INT(type_at(&b, "n"), BSON_TYPE_INT64);
    bson_destroy(&b);
    json_decref(errors);
    CHECK(!to_bson(things, "{\"n\": 7.5, \"d\": 9007199254740993}", &b, &errors));
    CHECK_INT(json_array_size(errors), 2);
    bson_destroy(&b);
    json_decref(errors);

    bson_init(&b);
    BSON_APPEND_DOUBLE(&b, "a", 0.1);
    BSON_APPEND_DOUBLE(&b, "b", 1e300);
    BSON_APPEND_DOUBLE(&b, "c", 5e-324);
    BSON_APPEND_DOUBLE(&b, "d", 1.0 / 3);
    BSON_APPEND_DOUBLE(&b, "e", NAN);
    BSON_APPEND_DOUBLE(&b, "f", -INFINITY);
    BSON_APPEND_DOUBLE(&b, "g", 100.0);
    BSON_APPEND_DOUBLE(&b, "h", 2.2250738585072014e-308);
    BSON_APPEND_DOUBLE(&b, "i", 123456789.125);
    BSON_APPEND_DOUBLE(&b, "j", 0.30000000000000004);
    CHECK_STR(write_json(things, &b),
              "{\"a\":0.1,\"b\":1e+300,\"c\":5e-324,\"d\":0.3333333333333333,\"e\":null,"
              "\"f\":null,\"g\":100,\"h\":2.2250738585072014e-308,\"i\":123456789.125,"
              "\"j\":0.30000000000000004}");
    bson_reinit(&b);
    /* negative zero keeps its sign and stays a double through write, parse and convert */
    BSON_APPEND_DOUBLE(&b, "d", -0.0);
    CHECK_STR(write_json(things, &b), "{\"d\":-0.0}");
    bson_t again;
    CHECK(to_bson(things, "{\"d\": -0.0, \"any\": -0.0}", &again, &errors));
    CHECK_STR(write_json(things, &again), "{\"d\":-0.0,\"any\":-0.0}");
    bson_destroy(&again);
    json_decref(errors);
    bson_reinit(&b);
    BSON_APPEND_DOUBLE(&b, "a", 0.1);
    BSON_APPEND_DOUBLE(&b, "c", 5e-324);
    BSON_APPEND_DOUBLE(&b, "e", NAN);
    json_t *tree = odm_codec_to_tree(things, &b);
    CHECK(json_real_value(json_object_get(tree, "a")) == 0.1);
    CHECK(json_real_value(json_object_get(tree, "c")) == 5e-324);
    CHECK(json_is_null(json_object_get(tree, "e")));
    json_decref(tree);
    bson_destroy(&b);
}

static void test_hidden_and_other_types(void)
{
    bson_t b = BSON_INITIALIZER, box, secret;
    BSON_APPEND_INT32(&b, ODM_VERSION_FIELD, 3);
    BSON_APPEND_DOCUMENT_BEGIN(&b, "secret", &secret);
    BSON_APPEND_UTF8(&secret, "pin", "1234");
    bson_append_document_end(&b, &secret);
    BSON_APPEND_DOCUMENT_BEGIN(&b, "box", &box);
    BSON_APPEND_UTF8(&box, "key", "k");
    BSON_APPEND_UTF8(&box, "label", "l");
    BSON_APPEND_INT32(&box, ODM_VERSION_FIELD, 1); /* only the top-level one is odmd's */
    bson_append_document_end(&b, &box);
    BSON_APPEND_BINARY(&b, "bin", BSON_SUBTYPE_BINARY, (const uint8_t *)"hello", 5);
    bson_decimal128_t dec;
    bson_decimal128_from_string("1.10", &dec);
    BSON_APPEND_DECIMAL128(&b, "dec", &dec);
    BSON_APPEND_REGEX(&b, "re", "^a", "i");
    BSON_APPEND_NULL(&b, "nothing");
    BSON_APPEND_BOOL(&b, "yes", true);
    CHECK_STR(write_json(things, &b),
              "{\"box\":{\"label\":\"l\",\"__v\":1},\"bin\":\"aGVsbG8=\",\"dec\":\"1.10\","
              "\"re\":null,\"nothing\":null,\"yes\":true}");
    json_t *tree = odm_codec_to_tree(things, &b);
    CHECK_STR(json_string_value(json_object_get(json_object_get(tree, "secret"), "pin")), "1234");
    CHECK_STR(json_string_value(json_object_get(json_object_get(tree, "box"), "key")), "k");
    CHECK_STR(json_string_value(json_object_get(tree, "bin")), "aGVsbG8=");
    CHECK(json_object_get(tree, ODM_VERSION_FIELD) == NULL);
    json_decref(tree);

    odm_buf_t small;
    odm_error_t err = {0};
    odm_buf_init(&small, 16);
    CHECK(!odm_codec_write_json(things, &b, &small, &err));
    CHECK_INT(err.kind, ODM_ERR_INTERNAL);
    CHECK_INT(small.len, 0);
    odm_buf_release(&small);
    bson_destroy(&b);
}

static void test_keys_refused_in_to_bson(void)
{
    json_t *doc = json_pack("{s:{s:i}}", "box", "$inc", 1), *errors = json_array();
    bson_t b = BSON_INITIALIZER;
    odm_error_t err = {0};
    CHECK(!odm_codec_to_bson(things, doc, &b, errors, &err));
    CHECK_INT(err.kind, ODM_ERR_VALIDATION);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation")),
              "/box/$inc");
    bson_destroy(&b);
    json_decref(doc);
    json_decref(errors);

    /* the version is odmd's: a client's "__v" never reaches the database */
    doc = json_pack("{s:i, s:{s:i}}", ODM_VERSION_FIELD, 9, "box", ODM_VERSION_FIELD, 1);
    errors = json_array();
    bson_init(&b);
    CHECK(!odm_codec_to_bson(things, doc, &b, errors, &err));
    CHECK_INT(json_array_size(errors), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation")),
              "/" ODM_VERSION_FIELD);
    bson_destroy(&b);
    json_decref(doc);
    json_decref(errors);
}

/* ---- ids ---- */

static const char *id_filter(const odm_model_t *model, const char *id, bson_type_t *type)
{
    static char out[ODM_ERROR_MSG_MAX];
    bson_t b = BSON_INITIALIZER;
    odm_error_t err = {0};
    if (odm_codec_id_filter(model, id, strlen(id), &b, &err)) {
        char *json = bson_as_relaxed_extended_json(&b, NULL);
        snprintf(out, sizeof out, "%s", json);
        bson_free(json);
        *type = type_at(&b, "_id");
    } else {
        CHECK_INT(err.kind, ODM_ERR_BAD_ID);
        snprintf(out, sizeof out, "%s", err.message);
        *type = BSON_TYPE_EOD;
    }
    bson_destroy(&b);
    return out;
}

static const char *segment(const bson_t *doc)
{
    static char out[128];
    odm_buf_t buf;
    odm_buf_init(&buf, 1024);
    bool ok = odm_codec_id_segment(doc, &buf);
    snprintf(out, sizeof out, "%s", ok ? odm_buf_cstr(&buf) : "(none)");
    odm_buf_release(&buf);
    return out;
}

static void test_ids(void)
{
    bson_type_t t;
    CHECK_CONTAINS(id_filter(users, "0123456789abcdefABCDEF01", &t), "0123456789abcdefabcdef01");
    CHECK_INT(t, BSON_TYPE_OID);
    CHECK_STR(id_filter(users, "xyz", &t),
              "malformed id 'xyz': expected 24 hexadecimal characters");
    CHECK_CONTAINS(id_filter(users, "0123456789abcdef0123456g", &t), "malformed id");
    CHECK_STR(id_filter(users, "", &t), "empty id");
    CHECK_CONTAINS(id_filter(counters, "42", &t), "42");
    CHECK_INT(t, BSON_TYPE_INT32);
    CHECK_CONTAINS(id_filter(counters, "-9223372036854775808", &t), "-9223372036854775808");
    CHECK_INT(t, BSON_TYPE_INT64);
    CHECK_CONTAINS(id_filter(counters, "9223372036854775807", &t), "9223372036854775807");
    CHECK_STR(id_filter(counters, "9223372036854775808", &t),
              "malformed id '9223372036854775808': expected an integer");
    CHECK_CONTAINS(id_filter(counters, "007", &t), "malformed id");
    CHECK_CONTAINS(id_filter(counters, "-0", &t), "malformed id");
    CHECK_CONTAINS(id_filter(counters, "1e3", &t), "malformed id");
    CHECK_CONTAINS(id_filter(counters, "-", &t), "malformed id");
    CHECK_CONTAINS(id_filter(labels, "a b/c", &t), "a b/c");
    CHECK_INT(t, BSON_TYPE_UTF8);
    CHECK_CONTAINS(id_filter(labels, "\xc3\x28", &t), "not UTF-8");

    bson_t b = BSON_INITIALIZER;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "0123456789abcdef01234567");
    BSON_APPEND_OID(&b, "_id", &oid);
    CHECK_STR(segment(&b), "0123456789abcdef01234567");
    bson_reinit(&b);
    BSON_APPEND_INT64(&b, "_id", -12);
    CHECK_STR(segment(&b), "-12");
    bson_reinit(&b);
    BSON_APPEND_UTF8(&b, "_id", "a b/c?d%e~f\xc3\xa9");
    CHECK_STR(segment(&b), "a%20b%2Fc%3Fd%25e~f%C3%A9");
    bson_reinit(&b);
    CHECK_STR(segment(&b), "(none)");
    /* dot-segments would be collapsed by clients (RFC 3986 5.2.4): their dots are encoded */
    static const char *const dots[][2] = {
        {".", "%2E"}, {"..", "%2E%2E"}, {"...", "..."}, {".a", ".a"}, {"a.", "a."}};
    for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++) {
        bson_reinit(&b);
        BSON_APPEND_UTF8(&b, "_id", dots[i][0]);
        CHECK_STR(segment(&b), dots[i][1]);
    }
    bson_destroy(&b);
}

/* The id segment as sent, decoded; what odmd generates; where versions start. */
static void test_id_decode_and_generation(void)
{
    odm_error_t err = {0};
    static const char *const good[][2] = {
        {"a%2Fb", "a/b"},         {"%2E", "."},       {"%2e%2E", ".."}, {"a+b", "a+b"},
        {"%C3%A9x", "\xc3\xa9x"}, {"plain", "plain"}, {"", ""}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char *id = odm_codec_id_decode(good[i][0], strlen(good[i][0]), &err);
        CHECK_MSG(id != NULL && strcmp(id, good[i][1]) == 0, "decode '%s': '%s'", good[i][0],
                  id ? id : err.message);
        free(id);
    }
    static const char *const bad[] = {"%", "a%2", "%zz", "%00", "a%0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *id = odm_codec_id_decode(bad[i], strlen(bad[i]), &err);
        CHECK_MSG(id == NULL && err.kind == ODM_ERR_BAD_ID, "decode '%s' accepted", bad[i]);
        free(id);
    }

    json_t *doc = json_object(), *errors = json_array();
    CHECK(odm_codec_new_id(users, doc, errors, &err));
    const char *hex = json_string_value(json_object_get(doc, "_id"));
    CHECK_MSG(hex && strlen(hex) == 24 && strspn(hex, "0123456789abcdef") == 24, "new id '%s'",
              hex ? hex : "(none)");
    json_object_clear(doc);
    CHECK(!odm_codec_new_id(counters, doc, errors, &err)); /* integer ids: the client's */
    CHECK_INT(err.kind, ODM_ERR_VALIDATION);
    CHECK(json_object_get(doc, "_id") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "keywordLocation")),
              "/properties/_id");
    json_decref(doc);
    json_decref(errors);

    int64_t first = odm_codec_first_version(), again = odm_codec_first_version();
    CHECK_MSG(first >= 1 && first < ((int64_t)1 << 62) && again >= 1 &&
                  again < ((int64_t)1 << 62) && first != again,
              "first versions %lld and %lld", (long long)first, (long long)again);
}

/* ---- filters, sort, fields ---- */

static char filtered[2048];

/* Returns the filter as relaxed Extended JSON, or the error message. */
static const char *filter(const odm_model_t *model, const char *text)
{
    odm_error_t err = {0};
    json_error_t jerr;
    json_t *f = json_loads(text, 0, &jerr);
    CHECK_MSG(f != NULL, "%s: %s", text, jerr.text);
    bson_t b = BSON_INITIALIZER;
    if (f && odm_codec_filter(model, f, &b, &err)) {
        char *json = bson_as_relaxed_extended_json(&b, NULL);
        snprintf(filtered, sizeof filtered, "%s", json);
        bson_free(json);
    } else {
        CHECK_INT(err.kind, ODM_ERR_BAD_QUERY);
        snprintf(filtered, sizeof filtered, "%s", err.message);
    }
    bson_destroy(&b);
    json_decref(f);
    return filtered;
}

static void test_filter_allowed(void)
{
    CHECK_STR(filter(users, "{\"age\": {\"$gt\": 1, \"$gte\": 2, \"$lt\": 9, \"$lte\": 8, "
                            "\"$ne\": 5, \"$eq\": 6, \"$in\": [6, 7], \"$nin\": [5], "
                            "\"$exists\": true, \"$not\": {\"$gt\": 100}}}"),
              "{ \"age\" : { \"$gt\" : 1, \"$gte\" : 2, \"$lt\" : 9, \"$lte\" : 8, \"$ne\" : 5, "
              "\"$eq\" : 6, \"$in\" : [ 6, 7 ], \"$nin\" : [ 5 ], \"$exists\" : true, "
              "\"$not\" : { \"$gt\" : 100 } } }");
    CHECK_STR(filter(users, "{\"name\": {\"$regex\": \"^a\", \"$options\": \"ix\"}, "
                            "\"email\": {\"$not\": {\"$regex\": \"x\"}}}"),
              "{ \"name\" : { \"$regex\" : \"^a\", \"$options\" : \"ix\" }, "
              "\"email\" : { \"$not\" : { \"$regex\" : \"x\" } } }");
    CHECK_STR(filter(users, "{\"$and\": [{\"name\": \"a\"}, {\"$or\": [{\"age\": 1}, "
                            "{\"$nor\": [{\"role\": null}]}]}], \"address.city\": \"Oslo\"}"),
              "{ \"$and\" : [ { \"name\" : \"a\" }, { \"$or\" : [ { \"age\" : 1 }, "
              "{ \"$nor\" : [ { \"role\" : null } ] } ] } ], \"address.city\" : \"Oslo\" }");
    CHECK_STR(filter(users, "{\"tags\": [\"a\", \"b\"]}"), "{ \"tags\" : [ \"a\", \"b\" ] }");
    CHECK_STR(filter(users, "{\"_id\": \"0123456789abcdef01234567\"}"),
              "{ \"_id\" : { \"$oid\" : \"0123456789abcdef01234567\" } }");
    CHECK_STR(filter(orders, "{\"userId\": {\"$in\": [\"0123456789abcdef01234567\"]}, "
                             "\"placedAt\": {\"$gte\": \"2024-01-01T00:00:00+01:00\"}}"),
              "{ \"userId\" : { \"$in\" : [ { \"$oid\" : \"0123456789abcdef01234567\" } ] }, "
              "\"placedAt\" : { \"$gte\" : { \"$date\" : \"2023-12-31T23:00:00Z\" } } }");
    CHECK_STR(filter(orders, "{\"items.sku\": \"A-1\", \"items.0.qty\": {\"$gt\": 2}}"),
              "{ \"items.sku\" : \"A-1\", \"items.0.qty\" : { \"$gt\" : 2 } }");
    CHECK_STR(filter(things, "{\"days\": {\"$lt\": \"2020-01-01T00:00:00Z\"}, \"n\": 3}"),
              "{ \"days\" : { \"$lt\" : { \"$date\" : \"2020-01-01T00:00:00Z\" } }, "
              "\"n\" : 3 }");
    bson_t b = BSON_INITIALIZER;
    json_t *f = json_pack("{s:i}", "n", 3);
    CHECK(odm_codec_filter(things, f, &b, NULL));
    CHECK_INT(type_at(&b, "n"), BSON_TYPE_INT64);
    json_decref(f);
    bson_destroy(&b);
    CHECK_STR(filter(users, "{}"), "{ }");
}

static void test_filter_refused(void)
{
    CHECK_STR(filter(users, "{\"$where\": \"1\"}"), "operator '$where' is not allowed");
    CHECK_STR(filter(users, "{\"$expr\": {\"$eq\": [1, 1]}}"), "operator '$expr' is not allowed");
    CHECK_STR(filter(users, "{\"$and\": [{\"$or\": [{\"$function\": {}}]}]}"),
              "operator '$function' is not allowed");
    CHECK_STR(filter(users, "{\"age\": {\"$eq\": {\"x\": [{\"$accumulator\": 1}]}}}"),
              "operator '$accumulator' is not allowed");
    CHECK_STR(filter(users, "{\"tags\": {\"$elemMatch\": {\"$eq\": \"a\"}}}"),
              "operator '$elemMatch' is not allowed");
    CHECK_STR(filter(users, "{\"age\": {\"$not\": {\"$where\": 1}}}"),
              "operator '$where' is not allowed");
    CHECK_STR(filter(users, "{\"age\": {\"$in\": [1, {\"$expr\": 1}]}}"),
              "operator '$expr' is not allowed");
    CHECK_STR(filter(users, "{\"$text\": {\"$search\": \"a\"}}"),
              "operator '$text' is not allowed");
    CHECK_STR(filter(users, "{\"$comment\": \"a\"}"), "operator '$comment' is not allowed");
    CHECK_STR(filter(users, "{\"nope\": 1}"), "unknown field 'nope' in filter");
    CHECK_STR(filter(users, "{\"address.nope\": 1}"), "unknown field 'address.nope' in filter");
    CHECK_STR(filter(users, "{\"password\": \"x\"}"), "field 'password' cannot be queried");
    CHECK_STR(filter(users, "{\"$or\": [{\"password\": {\"$exists\": true}}]}"),
              "field 'password' cannot be queried");
    CHECK_STR(filter(things, "{\"secret.pin\": 1}"), "field 'secret.pin' cannot be queried");
    CHECK_STR(filter(things, "{\"box.key\": 1}"), "field 'box.key' cannot be queried");
    CHECK_CONTAINS(filter(users, "{\"address\": {\"city\": \"Oslo\"}}"), "embedded documents");
    CHECK_CONTAINS(filter(users, "{\"address\": {}}"), "embedded documents");
    CHECK_CONTAINS(filter(users, "{\"age\": {\"$gt\": 1, \"x\": 2}}"), "cannot be mixed");
    CHECK_CONTAINS(filter(users, "{\"_id\": \"nope\"}"), "invalid value for '_id' in filter");
    CHECK_CONTAINS(filter(orders, "{\"placedAt\": {\"$in\": [\"2024-13-01T00:00:00Z\"]}}"),
                   "invalid value for 'placedAt'");
    CHECK_STR(filter(users, "{\"$and\": []}"), "'$and' needs a non-empty array of filters");
    CHECK_STR(filter(users, "{\"$or\": {\"a\": 1}}"), "'$or' needs a non-empty array of filters");
    CHECK_STR(filter(users, "{\"$nor\": [1]}"), "'$nor' needs an array of objects");
    CHECK_STR(filter(users, "{\"age\": {\"$in\": 1}}"), "'$in' needs an array");
    CHECK_STR(filter(users, "{\"age\": {\"$exists\": 1}}"), "'$exists' needs true or false");
    CHECK_STR(filter(users, "{\"age\": {\"$not\": 1}}"), "'$not' needs an object of operators");
    CHECK_STR(filter(users, "{\"name\": {\"$options\": \"i\"}}"), "'$options' needs '$regex'");
    CHECK_STR(filter(users, "{\"name\": {\"$regex\": \"a\", \"$options\": \"g\"}}"),
              "'$options' takes only the flags imsx");
    CHECK_STR(filter(users, "{\"name\": {\"$regex\": 1}}"), "'$regex' needs a string");

    char regex[400];
    snprintf(regex, sizeof regex, "{\"name\": {\"$regex\": \"%0*d\"}}", ODM_REGEX_MAX_LENGTH, 0);
    CHECK_CONTAINS(filter(users, regex), "\"$regex\" : \"000");
    snprintf(regex, sizeof regex, "{\"name\": {\"$regex\": \"%0*d\"}}", ODM_REGEX_MAX_LENGTH + 1,
             0);
    CHECK_STR(filter(users, regex), "'$regex' longer than 256 bytes");

    json_t *list = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(list, json_integer(i));
    json_t *f = json_pack("{s:{s:O}}", "age", "$in", list);
    bson_t b = BSON_INITIALIZER;
    odm_error_t err = {0};
    CHECK(!odm_codec_filter(users, f, &b, &err));
    CHECK_STR(err.message, "more than 1000 values in '$in'");
    json_array_remove(list, 0);
    json_decref(f);
    bson_reinit(&b);
    f = json_pack("{s:{s:O}}", "age", "$nin", list);
    CHECK(odm_codec_filter(users, f, &b, &err));
    json_decref(f);
    json_decref(list);

    /* nesting built directly (a parsed body could not be this deep) */
    json_t *deep = json_pack("{s:i}", "age", 1);
    for (int i = 0; i < ODM_JSON_MAX_DEPTH; i++)
        deep = json_pack("{s:[o]}", "$and", deep);
    bson_reinit(&b);
    CHECK(!odm_codec_filter(users, deep, &b, &err));
    CHECK_CONTAINS(err.message, "nested deeper");
    json_decref(deep);
    bson_destroy(&b);
}

static const char *list_spec(bool sort, const odm_model_t *model, const char *spec)
{
    static char out[2048];
    bson_t b = BSON_INITIALIZER;
    odm_error_t err = {0};
    bool ok = sort ? odm_codec_sort(model, spec, strlen(spec), &b, &err)
                   : odm_codec_projection(model, spec, strlen(spec), &b, &err);
    if (ok) {
        char *json = bson_as_relaxed_extended_json(&b, NULL);
        snprintf(out, sizeof out, "%s", json);
        bson_free(json);
    } else {
        CHECK_INT(err.kind, ODM_ERR_BAD_QUERY);
        snprintf(out, sizeof out, "%s", err.message);
    }
    bson_destroy(&b);
    return out;
}

static void test_sort_and_fields(void)
{
    CHECK_STR(list_spec(true, users, "-age,name,+email,address.city"),
              "{ \"age\" : -1, \"name\" : 1, \"email\" : 1, \"address.city\" : 1 }");
    CHECK_STR(list_spec(true, users, ""), "empty item in sort");
    CHECK_STR(list_spec(true, users, "age,,name"), "empty item in sort");
    CHECK_STR(list_spec(true, users, "age,"), "empty item in sort");
    CHECK_STR(list_spec(true, users, "-"), "empty field name in sort");
    CHECK_STR(list_spec(true, users, "nope"), "unknown field 'nope' in sort");
    CHECK_STR(list_spec(true, users, "-password"), "field 'password' cannot be queried");
    CHECK_STR(list_spec(true, users, "age,-age"), "field 'age' appears twice in sort");
    CHECK_STR(list_spec(true, users, "_id"), "{ \"_id\" : 1 }");
    char many[512];
    size_t used = 0;
    for (int i = 0; i < 33; i++)
        used += (size_t)snprintf(many + used, sizeof many - used, ",items.%d.qty", i);
    CHECK_STR(list_spec(true, orders, many), "empty item in sort");
    CHECK_CONTAINS(list_spec(true, orders, many + 1), "more than 32 fields in sort");
    many[used - strlen(",items.32.qty")] = '\0';
    CHECK_CONTAINS(list_spec(true, orders, many + 1), "\"items.31.qty\" : 1 }");

    CHECK_STR(list_spec(false, users, "name,email"),
              "{ \"name\" : 1, \"email\" : 1, \"__v\" : 1 }");
    CHECK_STR(list_spec(false, users, "password"), "field 'password' cannot be queried");
    CHECK_STR(list_spec(false, users, "-name"), "unknown field '-name' in fields");
    CHECK_STR(list_spec(false, users, "address,address.city"),
              "fields 'address' and 'address.city' overlap");
    CHECK_STR(list_spec(false, users, "address.city,address"),
              "fields 'address.city' and 'address' overlap");
    CHECK_STR(list_spec(false, users, "address.city,address.zip"),
              "{ \"address.city\" : 1, \"address.zip\" : 1, \"__v\" : 1 }");
    CHECK_STR(list_spec(false, things, "secret"), "field 'secret' cannot be queried");
}

/* ---- odm_codec_write_json_subst / odm_codec_each_at ---- */

/* Writes "<i:VALUE>" for an ObjectId at substituted field i (the hex's first 4 digits). */
static bool write_mark(void *arg, size_t i, const bson_iter_t *value, odm_buf_t *out)
{
    char hex[25], mark[32];
    (*(int *)arg)++;
    if (!BSON_ITER_HOLDS_OID(value))
        return odm_buf_puts(out, "null");
    bson_oid_to_string(bson_iter_oid(value), hex);
    snprintf(mark, sizeof mark, "\"%zu:%.4s\"", i, hex);
    return odm_buf_puts(out, mark);
}

static void count_value(void *arg, size_t i, const bson_iter_t *value)
{
    ((int *)arg)[i]++;
    (void)value;
}

static void test_substitutions(void)
{
    bson_t doc;
    json_t *errors = NULL;
    const char *text = "{'userId':'aaaa00000000000000000000','total':1,'items':["
                       "{'sku':'AB-1','qty':1,'price':1,'productId':'bbbb00000000000000000000'},"
                       "{'sku':'AB-2','qty':1,'price':1},"
                       "{'sku':'AB-3','qty':1,'price':1,'productId':'cccc00000000000000000000'}]}";
    char quoted[512];
    snprintf(quoted, sizeof quoted, "%s", text);
    for (char *q = quoted; *q; q++)
        *q = *q == '\'' ? '"' : *q;
    CHECK(to_bson(orders, quoted, &doc, &errors));
    json_decref(errors);
    const odm_field_t *fields[] = {odm_model_field(orders, "userId", 6),
                                   odm_model_field(orders, "items.productId", 15)};
    int calls = 0;
    odm_codec_subst_t subst = {.fields = fields, .n = 2, .write = write_mark, .arg = &calls};
    odm_buf_t buf;
    odm_error_t err = {0};
    odm_buf_init(&buf, 1 << 20);
    CHECK(odm_codec_write_json_subst(orders, &doc, &subst, &buf, &err));
    CHECK_STR(odm_buf_cstr(&buf),
              "{\"userId\":\"0:aaaa\",\"total\":1,\"items\":["
              "{\"sku\":\"AB-1\",\"qty\":1,\"price\":1,\"productId\":\"1:bbbb\"},"
              "{\"sku\":\"AB-2\",\"qty\":1,\"price\":1},"
              "{\"sku\":\"AB-3\",\"qty\":1,\"price\":1,\"productId\":\"1:cccc\"}]}");
    CHECK_INT(calls, 3);
    /* each_at visits exactly the values the writer substitutes */
    int seen[2] = {0, 0};
    odm_codec_each_at(orders, &doc, fields, 2, count_value, seen);
    CHECK_INT(seen[0], 1);
    CHECK_INT(seen[1], 2);
    /* without substitutions: the plain writer */
    odm_buf_reset(&buf);
    CHECK(odm_codec_write_json_subst(orders, &doc, NULL, &buf, &err));
    CHECK(strstr(odm_buf_cstr(&buf), "\"userId\":\"aaaa00000000000000000000\"") != NULL);
    odm_buf_release(&buf);
    bson_destroy(&doc);
}

int main(void)
{
    bool ready = setup();
    CHECK_MSG(ready, "set-up failed (models from schemas/ and %s): every group skipped", tmp_dir);
    if (ready) {
        test_parse();
        test_round_trip();
        test_dates();
        test_numbers();
        test_hidden_and_other_types();
        test_keys_refused_in_to_bson();
        test_ids();
        test_id_decode_and_generation();
        test_filter_allowed();
        test_filter_refused();
        test_sort_and_fields();
        test_substitutions();
    }
    odm_models_free(models);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_done("test_codec");
}
