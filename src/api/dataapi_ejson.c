/* Extended JSON on the Data API's routes: the typed values a client sends unwrapped into the
 * plain JSON odmd's codec types by the model, and documents answered as canonical Extended
 * JSON (Accept: application/ejson). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dataapi.h"

#define POINTER_MAX 512 /* the JSON Pointer an unwrapping error names (cut beyond) */

/* ---- in: Extended JSON -> plain JSON ---- */

/* A whole decimal number in [min, max], the whole string. */
static bool parse_integer(const char *s, long long min, long long max, long long *out)
{
    if (s == NULL || *s == '\0' || strspn(s + (*s == '-'), "0123456789") != strlen(s + (*s == '-')))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A finite number, the whole string (strtod's syntax, no hexadecimal). */
static bool parse_real(const char *s, double *out)
{
    if (s == NULL || *s == '\0' || strpbrk(s, "xXnN") != NULL)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

typedef json_t *(*unwrap_fn)(const json_t *v);

static json_t *unwrap_oid(const json_t *v)
{
    const char *s = json_string_value(v);
    return s != NULL && strlen(s) == 24 && bson_oid_is_valid(s, 24) ? json_string(s) : NULL;
}

static json_t *unwrap_long(const json_t *v)
{
    long long n;
    return parse_integer(json_string_value(v), INT64_MIN, INT64_MAX, &n) ? json_integer(n) : NULL;
}

static json_t *unwrap_int(const json_t *v)
{
    long long n;
    return parse_integer(json_string_value(v), INT32_MIN, INT32_MAX, &n) ? json_integer(n) : NULL;
}

static json_t *unwrap_double(const json_t *v)
{
    double d;
    return parse_real(json_string_value(v), &d) ? json_real(d) : NULL;
}

/* Decimal128 is not a type odmd stores: a whole number within 64 bits stays exact, anything
 * else becomes the nearest double. */
static json_t *unwrap_decimal(const json_t *v)
{
    long long n;
    double d;
    const char *s = json_string_value(v);
    if (parse_integer(s, INT64_MIN, INT64_MAX, &n))
        return json_integer(n);
    return parse_real(s, &d) ? json_real(d) : NULL;
}

/* {"$date": "ISO 8601"} (kept for the codec to judge), {"$date": {"$numberLong": "ms"}} or
 * {"$date": ms} (relaxed): RFC 3339 UTC with milliseconds. */
static json_t *unwrap_date(const json_t *v)
{
    long long ms;
    if (json_is_string(v))
        return json_string(json_string_value(v));
    if (json_is_integer(v))
        return odm_model_date(json_integer_value(v));
    const json_t *n = json_object_get(v, "$numberLong");
    if (json_object_size(v) != 1 || !parse_integer(json_string_value(n), INT64_MIN, INT64_MAX, &ms))
        return NULL;
    return odm_model_date(ms);
}

static const struct {
    const char *key;
    unwrap_fn fn; /* NULL: an Extended JSON type odmd does not store */
} wrappers[] = {
    {"$oid", unwrap_oid},
    {"$date", unwrap_date},
    {"$numberLong", unwrap_long},
    {"$numberInt", unwrap_int},
    {"$numberDouble", unwrap_double},
    {"$numberDecimal", unwrap_decimal},
    {"$binary", NULL},
    {"$uuid", NULL},
    {"$regularExpression", NULL},
    {"$timestamp", NULL},
    {"$minKey", NULL},
    {"$maxKey", NULL},
    {"$symbol", NULL},
    {"$code", NULL},
    {"$scope", NULL},
    {"$dbPointer", NULL},
    {"$undefined", NULL},
};

/* The wrapper row of an object {"$type": value} (one member), or -1. */
static int wrapper_of(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) != 1)
        return -1;
    const char *key = json_object_iter_key(json_object_iter((json_t *)v));
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++)
        if (strcmp(wrappers[i].key, key) == 0)
            return (int)i;
    return -1;
}

static bool unwrap_at(json_t **v, char *pointer, size_t len, odm_error_t *err);

/* Appends "/key" to the pointer (escaped as RFC 6901 asks; cut when it does not fit). */
static size_t pointer_push(char *pointer, size_t len, const char *key)
{
    if (len + 2 >= POINTER_MAX)
        return len;
    pointer[len++] = '/';
    for (const char *p = key; *p != '\0' && len + 3 < POINTER_MAX; p++) {
        if (*p == '~' || *p == '/') {
            pointer[len++] = '~';
            pointer[len++] = *p == '~' ? '0' : '1';
        } else {
            pointer[len++] = *p;
        }
    }
    pointer[len] = '\0';
    return len;
}

static bool unwrap_children(json_t *v, char *pointer, size_t len, odm_error_t *err)
{
    const char *key;
    json_t *child;
    size_t i;
    json_object_foreach(v, key, child)
    {
        json_t *c = json_incref(child);
        size_t n = pointer_push(pointer, len, key);
        bool ok = unwrap_at(&c, pointer, n, err);
        pointer[len] = '\0';
        if (!ok)
            json_decref(c);
        if (!ok || json_object_set_new(v, key, c) != 0)
            return ok ? odm_error_set(err, ODM_ERR_INTERNAL, "out of memory") : false;
    }
    json_array_foreach(v, i, child)
    {
        char index[24];
        snprintf(index, sizeof index, "%zu", i);
        json_t *c = json_incref(child);
        size_t n = pointer_push(pointer, len, index);
        bool ok = unwrap_at(&c, pointer, n, err);
        pointer[len] = '\0';
        if (!ok)
            json_decref(c);
        if (!ok || json_array_set_new(v, i, c) != 0)
            return ok ? odm_error_set(err, ODM_ERR_INTERNAL, "out of memory") : false;
    }
    return true;
}

static bool unwrap_at(json_t **v, char *pointer, size_t len, odm_error_t *err)
{
    int w = wrapper_of(*v);
    if (w < 0)
        return unwrap_children(*v, pointer, len, err);
    if (wrappers[w].fn == NULL)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "'%s' at '%s': odmd does not store this Extended JSON type",
                             wrappers[w].key, pointer);
    json_t *plain = wrappers[w].fn(json_object_get(*v, wrappers[w].key));
    if (plain == NULL)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "malformed '%s' value at '%s'",
                             wrappers[w].key, pointer);
    json_decref(*v);
    *v = plain;
    return true;
}

bool api__dataapi_unwrap(json_t **v, odm_error_t *err)
{
    char pointer[POINTER_MAX] = "";
    return unwrap_at(v, pointer, 0, err);
}

/* ---- out: BSON -> canonical Extended JSON ---- */

static bool too_large(odm_error_t *err)
{
    return odm_error_set(err, ODM_ERR_INTERNAL, "answer larger than %u bytes",
                         ODM_API_MAX_RESPONSE);
}

/* {"$TYPE":"text"} */
static bool put_wrapped(odm_buf_t *out, const char *type, const char *text)
{
    return odm_buf_puts(out, "{\"") && odm_buf_puts(out, type) && odm_buf_puts(out, "\":\"") &&
           odm_buf_puts(out, text) && odm_buf_puts(out, "\"}");
}

/* The shortest text that reads back as d, with ".0" on a whole number (as canonical Extended
 * JSON writes 1.0). */
static void double_text(double d, char *buf, size_t size)
{
    if (isnan(d)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, size, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".e") == NULL && strlen(buf) + 3 <= size)
        memcpy(buf + strlen(buf), ".0", 3);
}

/* A value of a type without a case below, as libbson writes it canonically. */
static bool put_other(const bson_iter_t *it, odm_buf_t *out)
{
    bson_t one = BSON_INITIALIZER;
    size_t len = 0;
    char *text = NULL;
    if (bson_append_iter(&one, "v", 1, it))
        text = bson_as_canonical_extended_json(&one, &len);
    static const char head[] = "{ \"v\" : ";
    bool ok = text != NULL && len > sizeof head + 1 && strncmp(text, head, sizeof head - 1) == 0 &&
              odm_buf_append(out, text + sizeof head - 1, len - (sizeof head - 1) - 2);
    bson_free(text);
    bson_destroy(&one);
    return ok;
}

static bool put_members(const odm_field_t *field, bson_iter_t *children, bool array, bool top,
                        odm_buf_t *out, odm_error_t *err);

static bool put_value(const odm_field_t *field, const bson_iter_t *it, odm_buf_t *out,
                      odm_error_t *err)
{
    char text[64];
    bson_iter_t children;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return odm_buf_json_string(out, s, len);
    }
    case BSON_TYPE_INT32:
        snprintf(text, sizeof text, "%" PRId32, bson_iter_int32(it));
        return put_wrapped(out, "$numberInt", text);
    case BSON_TYPE_INT64:
        snprintf(text, sizeof text, "%" PRId64, bson_iter_int64(it));
        return put_wrapped(out, "$numberLong", text);
    case BSON_TYPE_DOUBLE:
        double_text(bson_iter_double(it), text, sizeof text);
        return put_wrapped(out, "$numberDouble", text);
    case BSON_TYPE_BOOL:
        return odm_buf_puts(out, bson_iter_bool(it) ? "true" : "false");
    case BSON_TYPE_NULL:
        return odm_buf_puts(out, "null");
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), text);
        return put_wrapped(out, "$oid", text);
    case BSON_TYPE_DATE_TIME:
        snprintf(text, sizeof text, "%" PRId64, bson_iter_date_time(it));
        return odm_buf_puts(out, "{\"$date\":") && put_wrapped(out, "$numberLong", text) &&
               odm_buf_putc(out, '}');
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        char s[BSON_DECIMAL128_STRING];
        bson_iter_decimal128(it, &dec);
        bson_decimal128_to_string(&dec, s);
        return put_wrapped(out, "$numberDecimal", s);
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
        bool array = bson_iter_type(it) == BSON_TYPE_ARRAY;
        return bson_iter_recurse(it, &children) &&
               put_members(field, &children, array, false, out, err);
    }
    default:
        return put_other(it, out);
    }
}

static bool put_members(const odm_field_t *field, bson_iter_t *children, bool array, bool top,
                        odm_buf_t *out, odm_error_t *err)
{
    bool first = true;
    if (!odm_buf_putc(out, array ? '[' : '{'))
        return too_large(err);
    while (bson_iter_next(children)) {
        const char *key = bson_iter_key(children);
        size_t klen = bson_iter_key_len(children);
        if (top && strcmp(key, ODM_VERSION_FIELD) == 0)
            continue;
        const odm_field_t *child = field == NULL ? NULL
                                   : array       ? field->items
                                                 : odm_field_child(field, key, klen);
        if (child != NULL && child->write_only)
            continue;
        if ((!first && !odm_buf_putc(out, ',')) ||
            (!array && !(odm_buf_json_string(out, key, klen) && odm_buf_putc(out, ':'))) ||
            !put_value(child, children, out, err))
            return too_large(err);
        first = false;
    }
    return odm_buf_putc(out, array ? ']' : '}') || too_large(err);
}

bool api__dataapi_put_ejson(const odm_model_t *model, const bson_t *doc, odm_buf_t *out,
                            odm_error_t *err)
{
    bson_iter_t it;
    return (bson_iter_init(&it, doc) && put_members(&model->root, &it, false, true, out, err)) ||
           too_large(err);
}

bool api__dataapi_put_ejson_value(const bson_iter_t *it, odm_buf_t *out, odm_error_t *err)
{
    return put_value(NULL, it, out, err) || too_large(err);
}
