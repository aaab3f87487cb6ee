/* Fuzz target: a request body through the write path of every model in schemas/ (users,
 * orders): strict parsing, the model rules, validation, JSON -> BSON, and BSON -> JSON back.
 *
 * Input: the body's bytes. The models are loaded once from $ODMD_FUZZ_SCHEMAS, else from the
 * schemas/ folder of the source tree the target was built from.
 * Oracles: odm_json_parse builds jansson's tree and refuses only for its own rules; failures
 * carry a kind and a UTF-8 message; violation lists point into the body;
 * keeping readOnly values from the body itself changes nothing; defaults are idempotent and
 * keep what the client sent; the verdict with a violation list is the verdict without; BSON
 * that odm_codec_to_bson accepts is valid BSON, and writing it out gives JSON that parses
 * again, equals the body (writeOnly members left out, dates as the same instant, ObjectIds in
 * any case, numbers by value) and odm_codec_to_tree's tree, converts to the same text again,
 * and, when the body was valid, is still valid. */
#include <strings.h>
#include <time.h>

#include <bson/bson.h>

#include "fuzz.h"
#include "odmd/buf.h"
#include "odmd/codec.h"
#include "odmd/model.h"

#ifndef ODM_FUZZ_SCHEMAS_DIR
#define ODM_FUZZ_SCHEMAS_DIR "schemas"
#endif
#define OUT_MAX (64u << 20)
#define PTR_CAP 500 /* codec and model pointers are cut near 512 bytes */

static odm_models_t *models;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("ODMD_FUZZ_SCHEMAS");
    odm_error_t err = {0};
    models = odm_models_load(dir ? dir : ODM_FUZZ_SCHEMAS_DIR, &err);
    if (models == NULL) {
        fprintf(stderr, "fuzz_body: cannot load the models: %s\n", err.message);
        exit(1);
    }
    return 0;
}

/* An RFC 3339 date-time as milliseconds, parsed independently of the codec (timegm does the
 * calendar); only inputs the codec accepted reach here. */
static bool instant(const char *s, size_t n, int64_t *ms)
{
    int y, mo, d, h, mi, sec, used = 0;
    char text[64];
    if (n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    if (sscanf(text, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 19)
        return false;
    const char *p = text + 19;
    int64_t frac = 0, scale = 1000;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if ((scale /= 10) > 0)
                frac += (*p - '0') * scale;
    int64_t offset = 0;
    if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return false;
        offset = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
    } else if (*p != 'Z' && *p != 'z') {
        return false;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *ms = ((int64_t)timegm(&tm) - offset) * 1000 + frac;
    return true;
}

static bool same_number(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    const json_t *i = json_is_integer(a) ? a : b, *r = json_is_integer(a) ? b : a;
    double x = json_real_value(r);
    return x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
           (json_int_t)x == json_integer_value(i) && (double)json_integer_value(i) == x;
}

static bool same_value(const odm_field_t *field, const json_t *sent, const json_t *back);

/* `back` has the members of `sent` but its writeOnly ones, each the same value. */
static bool same_members(const odm_field_t *field, const json_t *sent, const json_t *back)
{
    const char *key;
    const json_t *v;
    size_t kept = 0;
    json_object_foreach((json_t *)sent, key, v)
    {
        size_t klen = strlen(key);
        const odm_field_t *child = field ? odm_field_child(field, key, klen) : NULL;
        if (child != NULL && child->write_only)
            continue;
        kept++;
        if (!same_value(child, v, json_object_getn(back, key, klen)))
            return false;
    }
    return kept == json_object_size(back);
}

static bool same_value(const odm_field_t *field, const json_t *sent, const json_t *back)
{
    odm_bson_type_t type = field ? field->bson : ODM_BSON_AUTO;
    if (back == NULL)
        return false;
    if (json_is_number(sent) && json_is_number(back))
        return same_number(sent, back);
    if (json_typeof(sent) != json_typeof(back))
        return false;
    if (json_is_object(sent))
        return same_members(field, sent, back);
    if (json_is_array(sent)) {
        size_t i;
        const json_t *item;
        if (json_array_size(sent) != json_array_size(back))
            return false;
        json_array_foreach(sent, i, item) if (!same_value(field ? field->items : NULL, item,
                                                          json_array_get(back, i))) return false;
        return true;
    }
    if (!json_is_string(sent))
        return json_equal(sent, back);
    const char *s = json_string_value(sent), *t = json_string_value(back);
    size_t n = json_string_length(sent), m = json_string_length(back);
    int64_t a, b;
    if (type == ODM_BSON_DATE)
        return instant(s, n, &a) && instant(t, m, &b) && a == b;
    if (type == ODM_BSON_OBJECTID)
        return n == m && strncasecmp(s, t, n) == 0;
    return n == m && memcmp(s, t, n) == 0;
}

static void check_rules(const odm_model_t *model, const json_t *body)
{
    json_t *errors = json_array();
    bool clean = odm_model_check_read_only(model, body, false, errors);
    if (clean != (json_array_size(errors) == 0))
        fuzz_fail("check_read_only: verdict and list disagree");
    if (!clean)
        fuzz_check_violations(errors, body, SIZE_MAX, PTR_CAP, "check_read_only");
    json_decref(errors);
    if (!odm_model_check_read_only(model, body, true, NULL) && clean)
        fuzz_fail("check_read_only: skipping _id found more");

    json_t *kept = json_deep_copy(body);
    odm_model_keep_read_only(model, kept, body);
    if (!json_equal(kept, body))
        fuzz_fail("keep_read_only: keeping the body's own values changed it");
    json_decref(kept);
}

/* The body with defaults filled in (new); checks that they only add and are idempotent. */
static json_t *with_defaults(const odm_model_t *model, const json_t *body)
{
    json_t *doc = json_deep_copy(body);
    odm_model_apply_defaults(model, doc);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key,
                        v) if (!json_equal(json_object_get(doc, key), v) && !json_is_object(v))
        fuzz_fail("apply_defaults: replaced '%s'", key);
    json_t *again = json_deep_copy(doc);
    odm_model_apply_defaults(model, again);
    if (!json_equal(again, doc))
        fuzz_fail("apply_defaults: not idempotent");
    json_decref(again);
    return doc;
}

static bool validate(const odm_model_t *model, const json_t *doc)
{
    bool fast = odm_schema_validate(model->schema, doc, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    if (list == NULL)
        return fast;
    bool full = odm_schema_validate(model->schema, doc, list);
    if (fast != full || (full && odm_schema_errors_count(list) != 0))
        fuzz_fail("validate: verdicts disagree");
    json_t *errors = full ? NULL : odm_schema_errors_json(list);
    if (errors != NULL)
        fuzz_check_violations(errors, doc, ODM_SCHEMA_MAX_ERRORS, SIZE_MAX, "validate");
    json_decref(errors);
    odm_schema_errors_free(list);
    return full;
}

/* BSON -> JSON text -> tree; the text is left in out. */
static json_t *write_back(const odm_model_t *model, const bson_t *b, odm_buf_t *out)
{
    odm_error_t err = {0};
    if (!bson_validate(b, BSON_VALIDATE_UTF8 | BSON_VALIDATE_DOLLAR_KEYS | BSON_VALIDATE_DOT_KEYS,
                       NULL))
        fuzz_fail("to_bson: produced invalid BSON");
    if (!odm_codec_write_json(model, b, out, &err))
        fuzz_fail("write_json: %s", err.message);
    json_t *back = odm_json_parse(odm_buf_cstr(out), out->len, ODM_JSON_DOCUMENT, &err);
    if (back == NULL)
        fuzz_fail("write_json wrote what odm_json_parse refuses (%s): %s", err.message,
                  odm_buf_cstr(out));
    return back;
}

static void round_trip(const odm_model_t *model, const json_t *doc, const bson_t *b, bool valid)
{
    odm_buf_t text, text2;
    odm_buf_init(&text, OUT_MAX);
    odm_buf_init(&text2, OUT_MAX);
    json_t *back = write_back(model, b, &text);
    if (!same_value(&model->root, doc, back))
        fuzz_fail("round trip for '%s' changed the document: %s", model->name, odm_buf_cstr(&text));
    json_t *tree = odm_codec_to_tree(model, b);
    if (tree == NULL || !same_value(&model->root, tree, back))
        fuzz_fail("to_tree and write_json disagree for '%s': %s", model->name, odm_buf_cstr(&text));
    json_decref(tree);
    if (valid && !validate(model, back))
        fuzz_fail("round trip for '%s' made a valid document invalid: %s", model->name,
                  odm_buf_cstr(&text));
    bson_t b2 = BSON_INITIALIZER;
    odm_error_t err = {0};
    if (!odm_codec_to_bson(model, back, &b2, NULL, &err))
        fuzz_fail("to_bson refuses what write_json wrote (%s): %s", err.message,
                  odm_buf_cstr(&text));
    json_t *back2 = write_back(model, &b2, &text2);
    if (text.len != text2.len || memcmp(text.data, text2.data, text.len) != 0)
        fuzz_fail("write_json is not a fixed point: %s then %s", odm_buf_cstr(&text),
                  odm_buf_cstr(&text2));
    json_decref(back2);
    bson_destroy(&b2);
    json_decref(back);
    odm_buf_release(&text2);
    odm_buf_release(&text);
}

static void through_model(const odm_model_t *model, const json_t *body)
{
    check_rules(model, body);
    json_t *doc = with_defaults(model, body);
    bool valid = validate(model, doc);
    bson_t b = BSON_INITIALIZER;
    json_t *errors = json_array();
    odm_error_t err = {0};
    if (odm_codec_to_bson(model, doc, &b, errors, &err)) {
        if (json_array_size(errors) != 0)
            fuzz_fail("to_bson: succeeded with violations");
        round_trip(model, doc, &b, valid);
    } else {
        fuzz_check_error(&err, true, "to_bson");
        if (err.kind == ODM_ERR_VALIDATION && json_is_object(doc))
            fuzz_check_violations(errors, doc, ODM_SCHEMA_MAX_ERRORS, PTR_CAP, "to_bson");
        else if (err.kind != ODM_ERR_VALIDATION && err.kind != ODM_ERR_TOO_LARGE)
            fuzz_fail("to_bson: unexpected error kind %d", (int)err.kind);
    }
    json_decref(errors);
    bson_destroy(&b);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    odm_error_t err = {0};
    json_t *body = odm_json_parse((const char *)data, size, ODM_JSON_DOCUMENT, &err);
    fuzz_check_parse(data, size, body, &err);
    if (body == NULL) {
        fuzz_check_error(&err, true, "json_parse");
        return 0;
    }
    for (size_t i = 0; i < models->n; i++)
        through_model(models->items[i], body);
    json_decref(body);
    return 0;
}
