/* Pipelines to BSON: a named aggregation's stages as written, each {"$param": "P"} replaced by
 * the parameter's value typed by its schema (a date-time string a date, an ObjectId string an
 * ObjectId, x-bson as for fields); a client's stages (the Data API) in Extended JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec_int.h"

typedef struct {
    const odm_aggregation_t *agg;
    const json_t *values;
    odm_error_t *err;
} pipeline_t;

static bool append_value(pipeline_t *p, bson_t *out, const char *key, int klen, const json_t *v);

static const odm_agg_param_t *param_named(const odm_aggregation_t *agg, const char *name)
{
    for (size_t i = 0; i < agg->n_params; i++)
        if (strcmp(agg->params[i].name, name) == 0)
            return &agg->params[i];
    return NULL;
}

static bool result(pipeline_t *p, codec__result_t r, const char *what, const char *why)
{
    if (r == CODEC__OK)
        return true;
    if (r == CODEC__FULL)
        return odm_error_set(p->err, ODM_ERR_TOO_LARGE, "the pipeline passes BSON's size limit");
    return odm_error_set(p->err, ODM_ERR_BAD_QUERY, "parameter '%s': %s", what,
                         why ? why : "cannot be stored");
}

/* {"$param": "P"}: the value of P (checked at load: P is declared; the caller supplies every
 * declared value). */
static bool append_param(pipeline_t *p, bson_t *out, const char *key, int klen, const json_t *ref)
{
    const char *name = json_string_value(json_object_get(ref, "$param"));
    const odm_agg_param_t *param = name ? param_named(p->agg, name) : NULL;
    const json_t *v = param ? json_object_get(p->values, param->name) : NULL;
    if (v == NULL)
        return odm_error_set(p->err, ODM_ERR_BAD_QUERY, "parameter '%s' has no value",
                             name ? name : "?");
    if (json_is_object(v) || json_is_array(v))
        return append_value(p, out, key, klen, v); /* a default written as JSON */
    const char *why = NULL;
    return result(p, codec__append_scalar(out, key, klen, param->bson, v, &why), name, why);
}

static bool append_object(pipeline_t *p, bson_t *out, const char *key, int klen, const json_t *v)
{
    bson_t child;
    if (!bson_append_document_begin(out, key, klen, &child))
        return result(p, CODEC__FULL, key, NULL);
    const char *k;
    const json_t *member;
    json_object_foreach((json_t *)v, k, member)
    {
        if (!append_value(p, &child, k, (int)strlen(k), member))
            return false;
    }
    return bson_append_document_end(out, &child) || result(p, CODEC__FULL, key, NULL);
}

static bool append_array(pipeline_t *p, bson_t *out, const char *key, int klen, const json_t *v)
{
    bson_t child;
    if (!bson_append_array_begin(out, key, klen, &child))
        return result(p, CODEC__FULL, key, NULL);
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item)
    {
        char index[16];
        const char *ikey;
        size_t ilen = bson_uint32_to_string((uint32_t)i, &ikey, index, sizeof index);
        if (!append_value(p, &child, ikey, (int)ilen, item))
            return false;
    }
    return bson_append_array_end(out, &child) || result(p, CODEC__FULL, key, NULL);
}

static bool append_value(pipeline_t *p, bson_t *out, const char *key, int klen, const json_t *v)
{
    if (json_is_object(v) && json_object_get(v, "$param") != NULL)
        return append_param(p, out, key, klen, v);
    if (json_is_object(v))
        return append_object(p, out, key, klen, v);
    if (json_is_array(v))
        return append_array(p, out, key, klen, v);
    const char *why = NULL;
    return result(p, codec__append_scalar(out, key, klen, ODM_BSON_AUTO, v, &why), key, why);
}

bool odm_codec_pipeline(const odm_aggregation_t *agg, const json_t *values, uint32_t first,
                        bson_t *out, odm_error_t *err)
{
    pipeline_t p = {.agg = agg, .values = values, .err = err};
    size_t i;
    const json_t *stage;
    json_array_foreach(agg->pipeline, i, stage)
    {
        char index[16];
        const char *key;
        size_t len = bson_uint32_to_string(first + (uint32_t)i, &key, index, sizeof index);
        if (!append_value(&p, out, key, (int)len, stage))
            return false;
    }
    return true;
}

bool odm_codec_ejson_pipeline(const json_t *pipeline, uint32_t first, bson_t *out, odm_error_t *err)
{
    json_t *wrapper = json_pack("{s:O}", "p", pipeline);
    char *text = wrapper ? json_dumps(wrapper, JSON_COMPACT) : NULL;
    json_decref(wrapper);
    if (text == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    bson_t doc;
    bson_error_t error;
    bool ok = bson_init_from_json(&doc, text, -1, &error);
    free(text);
    if (!ok)
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "pipeline: %s", error.message);
    bson_iter_t it, stages;
    ok = bson_iter_init_find(&it, &doc, "p") && bson_iter_recurse(&it, &stages);
    for (uint32_t i = first; ok && bson_iter_next(&stages); i++) {
        char index[16];
        const char *key;
        size_t len = bson_uint32_to_string(i, &key, index, sizeof index);
        ok = bson_append_iter(out, key, (int)len, &stages);
    }
    bson_destroy(&doc);
    return ok || odm_error_set(err, ODM_ERR_TOO_LARGE, "the pipeline passes BSON's size limit");
}
