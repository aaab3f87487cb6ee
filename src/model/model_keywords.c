/* The x- keywords of model files: where each may appear and what values it takes. */
#include "model/model_int.h"

#include <stdio.h>
#include <string.h>

/* Keywords whose value is one subschema, a map of subschemas or an array of subschemas: the
 * walk visits schema positions only, so that property names and the contents of "enum",
 * "const", "default" or "examples" are never taken for keywords. */
static const char *const single_schema_keywords[] = {
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
    "additionalItems",
    NULL,
};
static const char *const map_schema_keywords[] = {
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", NULL,
};
static const char *const array_schema_keywords[] = {
    "allOf", "anyOf", "oneOf", "prefixItems", "items", NULL,
};

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

typedef struct {
    const char *path;
    json_t *refs;
    model__keywords_t *out;
    odm_error_t *err;
    odm_pointer_t ptr;
} walk_t;

static bool fail(walk_t *w, const char *fmt, const char *arg)
{
    odm_error_set(w->err, ODM_ERR_CONFIG, fmt, arg);
    odm_error_prefix(w->err, "%s: %s", w->path, w->ptr.len ? w->ptr.buf : "/");
    return false;
}

static bool valid_collection(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 120 && strchr(s, '$') == NULL && strncmp(s, "system.", 7) != 0 &&
           s[0] != '.';
}

static bool check_index_keys(walk_t *w, const json_t *keys)
{
    if (!json_is_object(keys) || json_object_size(keys) == 0)
        return fail(w, "%s must be a non-empty object of {\"field\": 1 | -1}", "keys");
    const char *field;
    const json_t *dir;
    json_object_foreach((json_t *)keys, field, dir)
    {
        size_t mark = odm_pointer_push(&w->ptr, field, strlen(field));
        json_int_t d = json_is_integer(dir) ? json_integer_value(dir) : 0;
        if (d != 1 && d != -1)
            return fail(w, "index direction of '%s' must be 1 or -1", field);
        odm_pointer_pop(&w->ptr, mark);
    }
    return true;
}

static bool check_index(walk_t *w, const json_t *index)
{
    if (!json_is_object(index))
        return fail(w, "%s must be an object {keys, unique, name}", "an index");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)index, key, value)
    {
        size_t mark = odm_pointer_push(&w->ptr, key, strlen(key));
        if (strcmp(key, "keys") == 0) {
            if (!check_index_keys(w, value))
                return false;
        } else if (strcmp(key, "unique") == 0) {
            if (!json_is_boolean(value))
                return fail(w, "'%s' must be a boolean", key);
        } else if (strcmp(key, "name") == 0) {
            if (!json_is_string(value) || json_string_length(value) == 0)
                return fail(w, "'%s' must be a non-empty string", key);
        } else {
            return fail(w, "unknown index property '%s'", key);
        }
        odm_pointer_pop(&w->ptr, mark);
    }
    if (json_object_get(index, "keys") == NULL)
        return fail(w, "an index needs '%s'", "keys");
    return true;
}

static bool check_indexes(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_array(value))
        return fail(w, "'%s' must be an array of index objects", key);
    if (json_array_size(value) > MODEL__MAX_INDEXES)
        return fail(w, "too many indexes in '%s'", key);
    size_t i;
    const json_t *index;
    json_array_foreach(value, i, index)
    {
        size_t mark = odm_pointer_push_index(&w->ptr, i);
        if (!check_index(w, index))
            return false;
        odm_pointer_pop(&w->ptr, mark);
    }
    return true;
}

static bool check_bson(walk_t *w, const char *key, const json_t *value)
{
    static const char *const types[] = {"objectId", "date", "long", "double", NULL};
    if (!json_is_string(value) || !in_list(types, json_string_value(value)))
        return fail(w, "'%s' must be one of \"objectId\", \"date\", \"long\", \"double\"", key);
    return true;
}

static bool check_unique(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_boolean(value))
        return fail(w, "'%s' must be true or false", key);
    return true;
}

/* Records {"pointer", "model"}: the target is checked once every model is loaded. */
static bool read_ref(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_string(value) || json_string_length(value) == 0)
        return fail(w, "'%s' must name a model", key);
    json_t *ref = json_pack("{s:s, s:O}", "pointer", w->ptr.buf, "model", value);
    if (ref == NULL || json_array_append_new(w->refs, ref) != 0)
        return fail(w, "out of memory at '%s'", key);
    return true;
}

static bool read_collection(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_string(value) || !valid_collection(json_string_value(value)))
        return fail(w, "'%s' must be a valid collection name", key);
    w->out->collection = json_string_value(value);
    return true;
}

static bool read_require_if_match(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_boolean(value))
        return fail(w, "'%s' must be true or false", key);
    w->out->require_if_match = json_is_true(value);
    return true;
}

static bool read_soft_delete(walk_t *w, const char *key, const json_t *value)
{
    if (!json_is_boolean(value))
        return fail(w, "'%s' must be true or false", key);
    w->out->soft_delete = json_is_true(value);
    return true;
}

/* A field name odmd may write at the root: not _id, not the version field, no '.' or '$'. */
static bool valid_stamp_name(const json_t *name)
{
    const char *s = json_string_value(name);
    return s != NULL && s[0] != '\0' && strlen(s) <= 120 && strpbrk(s, ".$") == NULL &&
           strcmp(s, "_id") != 0 && strcmp(s, ODM_VERSION_FIELD) != 0;
}

/* true, false, or {"createdAt": NAME, "updatedAt": NAME} (either may be left out). */
static bool read_timestamps(walk_t *w, const char *key, const json_t *value)
{
    w->out->timestamps = value;
    if (json_is_boolean(value))
        return true;
    if (!json_is_object(value))
        return fail(w, "'%s' must be true, false or {\"createdAt\": NAME, \"updatedAt\": NAME}",
                    key);
    const char *k;
    const json_t *name;
    json_object_foreach((json_t *)value, k, name)
    {
        size_t mark = odm_pointer_push(&w->ptr, k, strlen(k));
        if (strcmp(k, "createdAt") != 0 && strcmp(k, "updatedAt") != 0)
            return fail(w, "unknown timestamp '%s' (createdAt or updatedAt)", k);
        if (!valid_stamp_name(name))
            return fail(w, "'%s' must name a top-level field (not _id, no '.' or '$')", k);
        odm_pointer_pop(&w->ptr, mark);
    }
    const json_t *c = json_object_get(value, "createdAt"), *u = json_object_get(value, "updatedAt");
    const char *cs = c ? json_string_value(c) : "createdAt",
               *us = u ? json_string_value(u) : "updatedAt";
    if (strcmp(cs, us) == 0)
        return fail(w, "createdAt and updatedAt must be different fields, not both '%s'", cs);
    return true;
}

/* The name of a top-level field (checked against the properties by model__add_owner). */
static bool read_owner(walk_t *w, const char *key, const json_t *value)
{
    if (!valid_stamp_name(value))
        return fail(w, "'%s' must name a top-level field (not _id, no '.' or '$')", key);
    w->out->owner = json_string_value(value);
    return true;
}

/* x-aggregations: the shape here, the pipelines once every model is loaded
 * (model_aggregations.c). */
static bool read_aggregations(walk_t *w, const char *key, const json_t *value)
{
    (void)key;
    if (model__check_aggregations_shape(value, &w->ptr, w->err))
        return true;
    odm_error_prefix(w->err, "%s: %s", w->path, w->ptr.buf);
    return false;
}

/* Where an x- keyword may stand. */
enum { X_ROOT = 1, X_ANY_SCHEMA = 2 };

/* The x- keywords, each with its place and the function that checks its value (and records
 * what the loader needs from it). A keyword not listed here is an error. */
static const struct {
    const char *name;
    unsigned where;
    bool (*read)(walk_t *w, const char *key, const json_t *value);
} x_keywords[] = {
    {"x-collection", X_ROOT, read_collection}, {"x-indexes", X_ROOT, check_indexes},
    {"x-bson", X_ANY_SCHEMA, check_bson},      {"x-unique", X_ANY_SCHEMA, check_unique},
    {"x-ref", X_ANY_SCHEMA, read_ref},         {"x-requireIfMatch", X_ROOT, read_require_if_match},
    {"x-timestamps", X_ROOT, read_timestamps}, {"x-softDelete", X_ROOT, read_soft_delete},
    {"x-owner", X_ROOT, read_owner},           {"x-aggregations", X_ROOT, read_aggregations},
};

/* One x- keyword at the current pointer (which already names it). */
static bool check_x_keyword(walk_t *w, const char *key, const json_t *value, bool at_root)
{
    for (size_t i = 0; i < sizeof x_keywords / sizeof x_keywords[0]; i++) {
        if (strcmp(key, x_keywords[i].name) != 0)
            continue;
        if (x_keywords[i].where == X_ROOT && !at_root)
            return fail(w, "'%s' is only allowed at the root of a model", key);
        return x_keywords[i].read(w, key, value);
    }
    return fail(w, "unknown keyword '%s'", key);
}

static bool walk_schema(walk_t *w, const json_t *schema, bool at_root);

static bool walk_subschemas(walk_t *w, const char *key, const json_t *value)
{
    if (json_is_object(value) && in_list(map_schema_keywords, key)) {
        const char *name;
        const json_t *sub;
        json_object_foreach((json_t *)value, name, sub)
        {
            size_t mark = odm_pointer_push(&w->ptr, name, strlen(name));
            if (!walk_schema(w, sub, false))
                return false;
            odm_pointer_pop(&w->ptr, mark);
        }
        return true;
    }
    if (json_is_array(value) && in_list(array_schema_keywords, key)) {
        size_t i;
        const json_t *sub;
        json_array_foreach(value, i, sub)
        {
            size_t mark = odm_pointer_push_index(&w->ptr, i);
            if (!walk_schema(w, sub, false))
                return false;
            odm_pointer_pop(&w->ptr, mark);
        }
        return true;
    }
    if (in_list(single_schema_keywords, key))
        return walk_schema(w, value, false);
    return true;
}

static bool walk_schema(walk_t *w, const json_t *schema, bool at_root)
{
    if (!json_is_object(schema))
        return true; /* boolean schemas carry no keywords; other values are the compiler's */
    if (w->ptr.len >= sizeof w->ptr.buf - 1)
        return fail(w, "%s", "schema nested too deeply");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)schema, key, value)
    {
        size_t mark = odm_pointer_push(&w->ptr, key, strlen(key));
        bool ok = strncmp(key, "x-", 2) == 0 ? check_x_keyword(w, key, value, at_root)
                                             : walk_subschemas(w, key, value);
        if (!ok)
            return false;
        odm_pointer_pop(&w->ptr, mark);
    }
    return true;
}

bool model__check_keywords(const json_t *doc, const char *path, json_t *refs,
                           model__keywords_t *out, odm_error_t *err)
{
    *out = (model__keywords_t){0};
    walk_t w = {.path = path, .refs = refs, .out = out, .err = err};
    odm_pointer_init(&w.ptr);
    return walk_schema(&w, doc, true);
}
