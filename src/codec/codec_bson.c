/* JSON -> BSON for documents: the jansson tree walked alongside the model's field tree. */
#include "codec/codec_int.h"
#include "odmd/codec.h"

#include <string.h>

typedef struct {
    json_t *errors; /* violations, borrowed (may be NULL) */
    size_t n_violations;
    bool full;              /* the BSON document passed its size limit */
    odm_pointer_t instance; /* where in the document */
    odm_pointer_t keyword;  /* where in the schema */
} walk_t;

static void violation(walk_t *w, const char *keyword, const char *message)
{
    w->n_violations++;
    if (w->errors == NULL || json_array_size(w->errors) >= ODM_SCHEMA_MAX_ERRORS)
        return;
    size_t mark =
        keyword ? odm_pointer_push(&w->keyword, keyword, strlen(keyword)) : w->keyword.len;
    json_t *v = json_pack("{s:s, s:s, s:s}", "instanceLocation", w->instance.buf, "keywordLocation",
                          w->keyword.buf, "error", message);
    if (v != NULL)
        json_array_append_new(w->errors, v);
    odm_pointer_pop(&w->keyword, mark);
}

static bool append_value(walk_t *w, bson_t *out, const char *key, size_t klen,
                         const odm_field_t *field, const json_t *value, int depth);

static bool append_members(walk_t *w, bson_t *out, const odm_field_t *field, const json_t *obj,
                           int depth)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t klen = strlen(key);
        const odm_field_t *child = odm_field_child(field, key, klen);
        size_t imark = odm_pointer_push(&w->instance, key, klen);
        size_t kmark = w->keyword.len;
        if (child != NULL) {
            odm_pointer_push(&w->keyword, "properties", 10);
            odm_pointer_push(&w->keyword, key, klen);
        }
        if (key[0] == '$' || memchr(key, '.', klen) != NULL)
            violation(w, NULL, "field names must not start with '$' or contain '.'");
        else if (depth == 1 && strcmp(key, ODM_VERSION_FIELD) == 0)
            violation(w, NULL,
                      "'" ODM_VERSION_FIELD "' is the version odmd keeps: it cannot be "
                      "written");
        else if (depth == 1 && strcmp(key, "_id") == 0 && json_is_string(value) &&
                 memchr(json_string_value(value), '\0', json_string_length(value)) != NULL)
            violation(w, NULL, "an _id cannot hold \\u0000: no URL could name the document");
        else if (!append_value(w, out, key, klen, child, value, depth))
            return false;
        odm_pointer_pop(&w->keyword, kmark);
        odm_pointer_pop(&w->instance, imark);
    }
    return true;
}

static bool append_items(walk_t *w, bson_t *out, const odm_field_t *items, const json_t *arr,
                         int depth)
{
    size_t kmark = w->keyword.len, i;
    const json_t *item;
    if (items != NULL)
        odm_pointer_push(&w->keyword, "items", 5);
    json_array_foreach(arr, i, item)
    {
        char key[16];
        const char *k;
        size_t klen = bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
        size_t imark = odm_pointer_push_index(&w->instance, i);
        if (!append_value(w, out, k, klen, items, item, depth))
            return false;
        odm_pointer_pop(&w->instance, imark);
    }
    odm_pointer_pop(&w->keyword, kmark);
    return true;
}

/* Returns false only when the document is full; violations are collected in w. */
static bool append_value(walk_t *w, bson_t *out, const char *key, size_t klen,
                         const odm_field_t *field, const json_t *value, int depth)
{
    odm_bson_type_t type = field ? field->bson : ODM_BSON_AUTO;
    bool container = json_is_object(value) || json_is_array(value);
    if (container && depth >= ODM_JSON_MAX_DEPTH) {
        violation(w, NULL, "nested too deeply");
        return true;
    }
    if (container && type == ODM_BSON_AUTO) {
        bson_t child;
        bool object = json_is_object(value), ok;
        if (object ? !bson_append_document_begin(out, key, (int)klen, &child)
                   : !bson_append_array_begin(out, key, (int)klen, &child))
            return !(w->full = true);
        if (object)
            ok = append_members(w, &child, field, value, depth + 1);
        else
            ok = append_items(w, &child, field ? field->items : NULL, value, depth + 1);
        ok &= object ? bson_append_document_end(out, &child) : bson_append_array_end(out, &child);
        return ok || !(w->full = true);
    }
    const char *why = NULL;
    switch (codec__append_scalar(out, key, (int)klen, type, value, &why)) {
    case CODEC__OK:
        return true;
    case CODEC__REFUSED:
        violation(w, field && field->bson_keyword ? field->bson_keyword : NULL, why);
        return true;
    default:
        w->full = true;
        return false;
    }
}

bool odm_codec_to_bson(const odm_model_t *model, const json_t *doc, bson_t *out, json_t *errors,
                       odm_error_t *err)
{
    walk_t w = {.errors = errors};
    odm_pointer_init(&w.instance);
    odm_pointer_init(&w.keyword);
    if (!json_is_object(doc))
        return odm_error_set(err, ODM_ERR_VALIDATION, "a document must be a JSON object");
    bool ok = append_members(&w, out, &model->root, doc, 1);
    if (!ok || w.full)
        return odm_error_set(err, ODM_ERR_TOO_LARGE, "document exceeds the BSON size limit");
    if (w.n_violations > 0)
        return odm_error_set(err, ODM_ERR_VALIDATION, "%zu value%s cannot be stored as declared",
                             w.n_violations, w.n_violations == 1 ? "" : "s");
    return true;
}
