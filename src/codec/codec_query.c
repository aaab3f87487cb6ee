/* Query parameters -> BSON: filters through an allow-list of operators, sort, projection, ids. */
#include "codec/codec_int.h"
#include "odmd/codec.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#define MAX_LIST_ITEMS 32 /* fields in sort= and fields= */

typedef struct {
    const odm_model_t *model;
    odm_error_t *err;
} query_t;

/* _id is always queryable, even in a model built by hand without it. */
static const odm_field_t id_field = {.bson = ODM_BSON_AUTO, .any_children = true};

/* The field at a dotted path, or NULL with ODM_ERR_BAD_QUERY (unknown or writeOnly). */
static const odm_field_t *query_field(const odm_model_t *model, const char *name, size_t n,
                                      const char *where, odm_error_t *err)
{
    char quoted[CODEC__QUOTE_MAX];
    if (n == 0) {
        odm_error_set(err, ODM_ERR_BAD_QUERY, "empty field name in %s", where);
        return NULL;
    }
    const odm_field_t *field = odm_model_field(model, name, n);
    if (field == NULL && n == 3 && memcmp(name, "_id", 3) == 0)
        return &id_field;
    if (field == NULL) {
        odm_error_set(err, ODM_ERR_BAD_QUERY, "unknown field '%s' in %s",
                      codec__quote(name, n, quoted), where);
        return NULL;
    }
    if (field->write_only) {
        odm_error_set(err, ODM_ERR_BAD_QUERY, "field '%s' cannot be queried",
                      codec__quote(name, n, quoted));
        return NULL;
    }
    return field;
}

static bool not_allowed(query_t *q, const char *op)
{
    char quoted[CODEC__QUOTE_MAX];
    return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "operator '%s' is not allowed",
                         codec__quote(op, strlen(op), quoted));
}

static bool too_large(query_t *q)
{
    return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "filter too large");
}

static bool too_deep(query_t *q)
{
    return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "filter nested deeper than %d levels",
                         ODM_JSON_MAX_DEPTH);
}

/* The first key starting with '$' at any depth of v, or NULL. */
static const char *find_operator(const json_t *v, int depth)
{
    const char *key, *found = NULL;
    const json_t *sub;
    size_t i;
    if (depth > ODM_JSON_MAX_DEPTH)
        return NULL;
    json_object_foreach((json_t *)v, key, sub)
    {
        if (key[0] == '$')
            return key;
        if ((found = find_operator(sub, depth + 1)) != NULL)
            return found;
    }
    json_array_foreach(v, i, sub) if ((found = find_operator(sub, depth + 1)) != NULL) return found;
    return NULL;
}

/* The type of a scalar compared with the field: arrays match their elements. */
static odm_bson_type_t scalar_type(const odm_field_t *field)
{
    while (field != NULL && field->items != NULL)
        field = field->items;
    return field ? field->bson : ODM_BSON_AUTO;
}

static bool filter_value(query_t *q, const char *key, const char *path, const odm_field_t *field,
                         const json_t *v, bson_t *out, int depth);

static bool filter_list(query_t *q, const char *key, const char *path, const odm_field_t *field,
                        const json_t *list, bson_t *out, int depth)
{
    bson_t arr;
    size_t i;
    const json_t *item;
    if (json_array_size(list) > CODEC__ARRAY_MAX)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "more than %d values in '%s'",
                             CODEC__ARRAY_MAX, key);
    if (!bson_append_array_begin(out, key, -1, &arr))
        return too_large(q);
    bool ok = true;
    json_array_foreach(list, i, item)
    {
        char buf[16];
        const char *k;
        bson_uint32_to_string((uint32_t)i, &k, buf, sizeof buf);
        if (!(ok = filter_value(q, k, path, field, item, &arr, depth + 1)))
            break;
    }
    return bson_append_array_end(out, &arr) ? ok : (ok && too_large(q));
}

/* A value compared with the field at `path`, appended under key (NUL-terminated). */
static bool filter_value(query_t *q, const char *key, const char *path, const odm_field_t *field,
                         const json_t *v, bson_t *out, int depth)
{
    char quoted[CODEC__QUOTE_MAX];
    const char *why = NULL;
    if (depth > ODM_JSON_MAX_DEPTH)
        return too_deep(q);
    if (json_is_object(v)) {
        const char *op = find_operator(v, depth);
        if (op != NULL)
            return not_allowed(q, op);
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY,
                             "'%s' in filter: embedded documents cannot be matched, use dotted "
                             "field names",
                             codec__quote(path, strlen(path), quoted));
    }
    if (json_is_array(v))
        return filter_list(q, key, path, field, v, out, depth);
    switch (codec__append_scalar(out, key, -1, scalar_type(field), v, &why)) {
    case CODEC__OK:
        return true;
    case CODEC__REFUSED:
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "invalid value for '%s' in filter: %s",
                             codec__quote(path, strlen(path), quoted), why);
    default:
        return too_large(q);
    }
}

static bool filter_ops(query_t *q, const char *key, const char *path, const odm_field_t *field,
                       const json_t *ops, bson_t *out, int depth);

/* The database would refuse a pattern that does not compile (MongoDB uses PCRE2): say so as a
 * 400 here instead of a 500 from the server. */
static bool regex_compiles(query_t *q, const char *s, size_t n)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, n, PCRE2_UTF, &code, &offset, NULL);
    if (re != NULL) {
        pcre2_code_free(re);
        return true;
    }
    PCRE2_UCHAR msg[120];
    pcre2_get_error_message(code, msg, sizeof msg);
    return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$regex' does not compile at offset %zu: %s",
                         (size_t)offset, (const char *)msg);
}

static bool filter_regex(query_t *q, const char *op, const json_t *v, bson_t *out)
{
    if (!json_is_string(v))
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'%s' needs a string", op);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (op[1] == 'r' && n > ODM_REGEX_MAX_LENGTH)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$regex' longer than %d bytes",
                             ODM_REGEX_MAX_LENGTH);
    if (op[1] == 'o' && strspn(s, "imsx") != n)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$options' takes only the flags imsx");
    if (op[1] == 'r' && !regex_compiles(q, s, n))
        return false;
    return bson_append_utf8(out, op, -1, s, (int)n) || too_large(q);
}

typedef enum { OP_VALUE, OP_LIST, OP_EXISTS, OP_NOT, OP_REGEX } op_kind_t;

static const struct {
    const char *name;
    op_kind_t kind;
} operators[] = {
    {"$eq", OP_VALUE},      {"$ne", OP_VALUE},  {"$gt", OP_VALUE},    {"$gte", OP_VALUE},
    {"$lt", OP_VALUE},      {"$lte", OP_VALUE}, {"$in", OP_LIST},     {"$nin", OP_LIST},
    {"$exists", OP_EXISTS}, {"$not", OP_NOT},   {"$regex", OP_REGEX}, {"$options", OP_REGEX},
};

static bool filter_op(query_t *q, const char *op, const char *path, const odm_field_t *field,
                      const json_t *v, bson_t *out, int depth)
{
    size_t i = 0, n = sizeof operators / sizeof operators[0];
    while (i < n && strcmp(operators[i].name, op) != 0)
        i++;
    if (i == n)
        return not_allowed(q, op);
    switch (operators[i].kind) {
    case OP_VALUE:
        return filter_value(q, op, path, field, v, out, depth);
    case OP_LIST:
        if (!json_is_array(v))
            return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'%s' needs an array", op);
        return filter_list(q, op, path, field, v, out, depth);
    case OP_EXISTS:
        if (!json_is_boolean(v))
            return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$exists' needs true or false");
        return bson_append_bool(out, op, -1, json_is_true(v)) || too_large(q);
    case OP_NOT:
        if (!json_is_object(v) || json_object_size(v) == 0)
            return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$not' needs an object of operators");
        return filter_ops(q, op, path, field, v, out, depth + 1);
    default:
        return filter_regex(q, op, v, out);
    }
}

/* {"$gt": 1, "$lt": 9} at `path`, appended as key: {...}. */
static bool filter_ops(query_t *q, const char *key, const char *path, const odm_field_t *field,
                       const json_t *ops, bson_t *out, int depth)
{
    char quoted[CODEC__QUOTE_MAX];
    bson_t sub;
    const char *op;
    const json_t *v;
    bool ok = true;
    if (depth > ODM_JSON_MAX_DEPTH)
        return too_deep(q);
    if (json_object_get(ops, "$options") != NULL && json_object_get(ops, "$regex") == NULL)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'$options' needs '$regex'");
    if (!bson_append_document_begin(out, key, -1, &sub))
        return too_large(q);
    json_object_foreach((json_t *)ops, op, v)
    {
        if (op[0] != '$')
            ok = odm_error_set(q->err, ODM_ERR_BAD_QUERY,
                               "'%s' in filter: operators and field names cannot be mixed",
                               codec__quote(path, strlen(path), quoted));
        else
            ok = filter_op(q, op, path, field, v, &sub, depth);
        if (!ok)
            break;
    }
    return bson_append_document_end(out, &sub) ? ok : (ok && too_large(q));
}

static bool filter_doc(query_t *q, const json_t *filter, bson_t *out, int depth);

static bool filter_logical(query_t *q, const char *op, const json_t *list, bson_t *out, int depth)
{
    bson_t arr;
    size_t i;
    const json_t *item;
    bool ok = true;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'%s' needs a non-empty array of filters",
                             op);
    if (json_array_size(list) > CODEC__ARRAY_MAX)
        return odm_error_set(q->err, ODM_ERR_BAD_QUERY, "more than %d filters in '%s'",
                             CODEC__ARRAY_MAX, op);
    if (!bson_append_array_begin(out, op, -1, &arr))
        return too_large(q);
    json_array_foreach(list, i, item)
    {
        char buf[16];
        const char *k;
        size_t kn = bson_uint32_to_string((uint32_t)i, &k, buf, sizeof buf);
        bson_t sub;
        if (!json_is_object(item)) {
            ok = odm_error_set(q->err, ODM_ERR_BAD_QUERY, "'%s' needs an array of objects", op);
            break;
        }
        if (!bson_append_document_begin(&arr, k, (int)kn, &sub)) {
            ok = too_large(q);
            break;
        }
        ok = filter_doc(q, item, &sub, depth + 1);
        ok = bson_append_document_end(&arr, &sub) ? ok : (ok && too_large(q));
        if (!ok)
            break;
    }
    return bson_append_array_end(out, &arr) ? ok : (ok && too_large(q));
}

static bool filter_field(query_t *q, const char *path, const json_t *v, bson_t *out, int depth)
{
    size_t n = strlen(path);
    const odm_field_t *field = query_field(q->model, path, n, "filter", q->err);
    if (field == NULL)
        return false;
    const char *first =
        json_is_object(v) ? json_object_iter_key(json_object_iter((json_t *)v)) : NULL;
    if (first != NULL && first[0] == '$')
        return filter_ops(q, path, path, field, v, out, depth + 1);
    return filter_value(q, path, path, field, v, out, depth + 1);
}

static bool filter_doc(query_t *q, const json_t *filter, bson_t *out, int depth)
{
    const char *key;
    const json_t *v;
    if (depth > ODM_JSON_MAX_DEPTH)
        return too_deep(q);
    json_object_foreach((json_t *)filter, key, v)
    {
        bool logical =
            strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0 || strcmp(key, "$nor") == 0;
        bool ok = logical         ? filter_logical(q, key, v, out, depth)
                  : key[0] == '$' ? not_allowed(q, key)
                                  : filter_field(q, key, v, out, depth);
        if (!ok)
            return false;
    }
    return true;
}

bool odm_codec_filter(const odm_model_t *model, const json_t *filter, bson_t *out, odm_error_t *err)
{
    query_t q = {.model = model, .err = err};
    if (!json_is_object(filter))
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "a filter must be a JSON object");
    return filter_doc(&q, filter, out, 1);
}

typedef struct {
    const char *name;
    size_t len;
    int direction;
} list_item_t;

/* Splits "a,-b" into checked, distinct fields. `signs`: a leading '-' (or '+') sets the
 * direction (sort); otherwise it is part of the name. */
static bool split_list(const odm_model_t *model, const char *spec, size_t len, const char *what,
                       bool signs, list_item_t *items, size_t *count, odm_error_t *err)
{
    char quoted[CODEC__QUOTE_MAX];
    size_t start = 0, n = 0;
    while (start <= len) {
        const char *s = spec + start, *comma = memchr(s, ',', len - start);
        size_t k = comma ? (size_t)(comma - s) : len - start;
        list_item_t item = {.name = s, .len = k, .direction = 1};
        if (signs && k > 0 && (s[0] == '-' || s[0] == '+')) {
            item.direction = s[0] == '-' ? -1 : 1;
            item.name++;
            item.len--;
        }
        if (k == 0)
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "empty item in %s", what);
        if (n == MAX_LIST_ITEMS)
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "more than %d fields in %s",
                                 MAX_LIST_ITEMS, what);
        if (query_field(model, item.name, item.len, what, err) == NULL)
            return false;
        for (size_t i = 0; i < n; i++)
            if (items[i].len == item.len && memcmp(items[i].name, item.name, item.len) == 0)
                return odm_error_set(err, ODM_ERR_BAD_QUERY, "field '%s' appears twice in %s",
                                     codec__quote(item.name, item.len, quoted), what);
        items[n++] = item;
        start += k + 1;
    }
    *count = n;
    return true;
}

bool odm_codec_sort(const odm_model_t *model, const char *spec, size_t len, bson_t *out,
                    odm_error_t *err)
{
    list_item_t items[MAX_LIST_ITEMS];
    size_t n;
    if (!split_list(model, spec, len, "sort", true, items, &n, err))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!bson_append_int32(out, items[i].name, (int)items[i].len, items[i].direction))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "sort too large");
    return true;
}

/* "a" and "a.b" select overlapping paths, which MongoDB refuses. */
static bool overlap(const list_item_t *a, const list_item_t *b)
{
    const list_item_t *shorter = a->len < b->len ? a : b, *longer = a->len < b->len ? b : a;
    return memcmp(shorter->name, longer->name, shorter->len) == 0 &&
           longer->name[shorter->len] == '.';
}

bool odm_codec_projection(const odm_model_t *model, const char *spec, size_t len, bson_t *out,
                          odm_error_t *err)
{
    char qa[CODEC__QUOTE_MAX], qb[CODEC__QUOTE_MAX];
    list_item_t items[MAX_LIST_ITEMS];
    size_t n;
    if (!split_list(model, spec, len, "fields", false, items, &n, err))
        return false;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (overlap(&items[i], &items[j]))
                return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields '%s' and '%s' overlap",
                                     codec__quote(items[i].name, items[i].len, qa),
                                     codec__quote(items[j].name, items[j].len, qb));
    for (size_t i = 0; i < n; i++)
        if (!bson_append_int32(out, items[i].name, (int)items[i].len, 1))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields too large");
    if (!bson_append_int32(out, ODM_VERSION_FIELD, -1, 1))
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields too large");
    return true;
}

/* Canonical decimal int64: no sign but '-', no leading zeros, no overflow. */
static bool parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = n > 0 && s[0] == '-';
    uint64_t v = 0, limit = i ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (i == n || (s[i] == '0' && n > i + 1) || (i && s[i] == '0'))
        return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = s[0] == '-' ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

bool odm_codec_id_filter(const odm_model_t *model, const char *id, size_t len, bson_t *out,
                         odm_error_t *err)
{
    char quoted[CODEC__QUOTE_MAX];
    bson_oid_t oid;
    int64_t i;
    bool ok;
    if (len == 0)
        return odm_error_set(err, ODM_ERR_BAD_ID, "empty id");
    switch (model->id_kind) {
    case ODM_ID_OBJECTID:
        if (!codec__parse_oid(id, len, &oid))
            return odm_error_set(err, ODM_ERR_BAD_ID,
                                 "malformed id '%s': expected 24 hexadecimal characters",
                                 codec__quote(id, len, quoted));
        ok = bson_append_oid(out, "_id", 3, &oid);
        break;
    case ODM_ID_INT:
        if (!parse_int64(id, len, &i))
            return odm_error_set(err, ODM_ERR_BAD_ID, "malformed id '%s': expected an integer",
                                 codec__quote(id, len, quoted));
        /* stored as documents store integers: int32 when it fits */
        ok = i >= INT32_MIN && i <= INT32_MAX ? bson_append_int32(out, "_id", 3, (int32_t)i)
                                              : bson_append_int64(out, "_id", 3, i);
        break;
    default:
        if (!bson_utf8_validate(id, len, false))
            return odm_error_set(err, ODM_ERR_BAD_ID, "malformed id '%s': not UTF-8",
                                 codec__quote(id, len, quoted));
        ok = bson_append_utf8(out, "_id", 3, id, (int)len);
        break;
    }
    return ok || odm_error_set(err, ODM_ERR_INTERNAL, "cannot build the id filter");
}
