/* GET /api/NAME/_agg/AGG?P=...: a named aggregation of the model (x-aggregations) run with its
 * parameters from the query string, behind the model's soft-delete and owner filters, its
 * answer capped; and the running of any checked pipeline, shared with the Data API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "odmd/pointer.h"

/* ---- parameters from the query string ---- */

typedef struct {
    const odm_aggregation_t *agg;
    json_t *values;     /* P -> typed value */
    json_t *violations; /* {instanceLocation, keywordLocation, error} */
    size_t faults;      /* counted apart: a violation that cannot be written still refuses */
} params_t;

/* The JSON Pointer of parameter `name` (escaped) followed by `rest` (already a pointer). */
static void param_pointer(odm_pointer_t *at, const char *name, const char *rest)
{
    odm_pointer_init(at);
    odm_pointer_push(at, name, strlen(name));
    size_t n = strlen(rest);
    if (at->len + n < sizeof at->buf) {
        memcpy(at->buf + at->len, rest, n + 1);
        at->len += n;
    }
}

static void violation(params_t *p, const char *name, const char *keyword, const char *error)
{
    odm_pointer_t at;
    param_pointer(&at, name, "");
    p->faults++;
    json_t *v = json_pack("{s:s, s:s, s:s}", "instanceLocation", at.buf, "keywordLocation", keyword,
                          "error", error);
    if (v == NULL) /* a name that is not UTF-8 */
        v = json_pack("{s:s, s:s, s:s}", "instanceLocation", "", "keywordLocation", keyword,
                      "error", error);
    json_array_append_new(p->violations, v);
}

static const odm_agg_param_t *param_named(const odm_aggregation_t *agg, const char *name)
{
    for (size_t i = 0; i < agg->n_params; i++)
        if (strcmp(agg->params[i].name, name) == 0)
            return &agg->params[i];
    return NULL;
}

/* A query-string value read as the parameter's JSON type; text that is not one stays a string
 * (its schema then says why it is refused). NULL: not UTF-8. */
static json_t *read_value(const odm_agg_param_t *param, const char *text)
{
    char *end = NULL;
    if (strcmp(param->type, "boolean") == 0 &&
        (strcmp(text, "true") == 0 || strcmp(text, "false") == 0))
        return json_boolean(text[0] == 't');
    bool numeric = text[0] == '-' || (text[0] >= '0' && text[0] <= '9');
    if (numeric && (strcmp(param->type, "integer") == 0 || strcmp(param->type, "number") == 0)) {
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (errno == 0 && end != text && *end == '\0')
            return json_integer(n);
    }
    if (numeric && strcmp(param->type, "number") == 0) {
        errno = 0;
        double d = strtod(text, &end);
        if (errno == 0 && end != text && *end == '\0')
            return json_real(d);
    }
    return json_string(text);
}

/* Appends the validator's units for one parameter, each instanceLocation under "/P". */
static void add_schema_violations(params_t *p, const char *name, const json_t *units)
{
    size_t i;
    const json_t *u;
    json_array_foreach(units, i, u)
    {
        odm_pointer_t at;
        const char *rest = json_string_value(json_object_get(u, "instanceLocation"));
        param_pointer(&at, name, rest ? rest : "");
        json_t *copy = json_copy((json_t *)u);
        json_object_set_new(copy, "instanceLocation", json_string(at.buf));
        json_array_append_new(p->violations, copy);
    }
}

static bool take_param(const char *key, const char *text, void *arg)
{
    params_t *p = arg;
    const odm_agg_param_t *param = param_named(p->agg, key);
    if (param == NULL) {
        violation(p, key, "", "unknown parameter");
        return true;
    }
    if (json_object_get(p->values, key) != NULL) {
        violation(p, key, "", "parameter given more than once");
        return true;
    }
    json_t *value = read_value(param, text ? text : "");
    if (value == NULL) {
        violation(p, key, "", "not UTF-8");
        return true;
    }
    json_object_set_new(p->values, param->name, value);
    return true;
}

/* Validates every given value; fills the defaults; a missing one without a default is refused. */
static void check_params(params_t *p)
{
    odm_schema_errors_t *units = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    for (size_t i = 0; i < p->agg->n_params; i++) {
        const odm_agg_param_t *param = &p->agg->params[i];
        const json_t *value = json_object_get(p->values, param->name);
        if (value == NULL && param->default_value == NULL) {
            violation(p, param->name, "/required", "required parameter missing");
            continue;
        }
        if (value == NULL) {
            json_object_set(p->values, param->name, (json_t *)param->default_value);
            continue;
        }
        if (odm_schema_validate(param->compiled, value, units))
            continue;
        p->faults++;
        json_t *list = units ? odm_schema_errors_json(units) : NULL;
        add_schema_violations(p, param->name, list);
        json_decref(list);
    }
    odm_schema_errors_free(units);
}

/* Reads and checks the parameters into p->values. Returns: true after answering 400 with a
 * violation per parameter at fault. */
static bool refuse_params(api_call_t *call, params_t *p)
{
    p->values = json_object();
    p->violations = json_array();
    if (p->values == NULL || p->violations == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    odm_request_each_query(call->req, take_param, p);
    check_params(p);
    if (p->faults == 0)
        return false;
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_BAD_QUERY, "invalid parameters of aggregation '%s'", p->agg->name);
    return api__fail(call->req, &err, p->violations);
}

/* ---- the pipeline and its answer ---- */

uint32_t api__aggregate_prefix(const api_call_t *call, bson_t *pipeline)
{
    bson_t filter = BSON_INITIALIZER;
    api__scope_filter(call->model, API_SCOPE_LIVE, &filter);
    api__owner_filter(call, call->model, &filter);
    uint32_t next = 0;
    if (!bson_empty(&filter)) {
        bson_t stage;
        BSON_APPEND_DOCUMENT_BEGIN(pipeline, "0", &stage);
        BSON_APPEND_DOCUMENT(&stage, "$match", &filter);
        bson_append_document_end(pipeline, &stage);
        next = 1;
    }
    bson_destroy(&filter);
    return next;
}

/* Appends the dotted path of every writeOnly field under `field` (a writeOnly field's
 * descendants are writeOnly with it: the field alone is named), looking through arrays, to
 * `project` as PATH: 0. */
static void exclude_write_only(const odm_field_t *field, char *path, size_t len, size_t size,
                               bson_t *project, int depth)
{
    for (size_t i = 0; depth < 32 && i < field->n_children; i++) {
        const odm_field_t *child = &field->children[i];
        size_t n = len + (len ? 1 : 0) + child->name_len;
        if (n >= size)
            continue; /* a path past the bound: no field of a model is this deep */
        if (len)
            path[len] = '.';
        memcpy(path + len + (len ? 1 : 0), child->name, child->name_len);
        path[n] = '\0';
        if (child->write_only)
            bson_append_int32(project, path, (int)n, 0);
        else
            exclude_write_only(child, path, n, size, project, depth + 1);
        path[len] = '\0';
    }
    if (field->items != NULL && !field->items->write_only)
        exclude_write_only(field->items, path, len, size, project, depth + 1);
}

uint32_t api__aggregate_hide_write_only(const odm_model_t *model, bson_t *pipeline, uint32_t index)
{
    bson_t project = BSON_INITIALIZER;
    char path[ODM_POINTER_MAX];
    path[0] = '\0';
    exclude_write_only(&model->root, path, 0, sizeof path, &project, 0);
    if (bson_empty(&project)) {
        bson_destroy(&project);
        return index;
    }
    char key[16];
    const char *k;
    size_t len = bson_uint32_to_string(index, &k, key, sizeof key);
    bson_t stage;
    bson_append_document_begin(pipeline, k, (int)len, &stage);
    BSON_APPEND_DOCUMENT(&stage, "$project", &project);
    bson_append_document_end(pipeline, &stage);
    bson_destroy(&project);
    return index + 1;
}

void api__aggregate_cap(bson_t *pipeline, uint32_t index)
{
    char key[16];
    const char *k;
    size_t len = bson_uint32_to_string(index, &k, key, sizeof key);
    bson_t stage;
    bson_append_document_begin(pipeline, k, (int)len, &stage);
    BSON_APPEND_INT32(&stage, "$limit", ODM_API_AGG_MAX_DOCS + 1);
    bson_append_document_end(pipeline, &stage);
}

typedef struct {
    const api_call_t *call;
    api_aggregate_each_fn each;
    void *arg;
    size_t n;
} run_t;

static bool take_document(const bson_t *doc, void *arg, odm_error_t *err)
{
    run_t *r = arg;
    if (++r->n > ODM_API_AGG_MAX_DOCS)
        return odm_error_set(err, ODM_ERR_TOO_LARGE,
                             "the aggregation answers more than %d documents: narrow it "
                             "(parameters, $match, $limit)",
                             ODM_API_AGG_MAX_DOCS);
    return r->each(r->arg, doc, r->n - 1, err);
}

bool api__aggregate_run(const api_call_t *call, const bson_t *pipeline, api_aggregate_each_fn each,
                        void *arg, odm_error_t *err)
{
    run_t r = {.call = call, .each = each, .arg = arg};
    return odm_store_aggregate_client(call->app->store, call->model->collection, pipeline,
                                      take_document, &r, odm_request_deadline_ms(call->req), err);
}

typedef struct {
    const odm_model_t *model;
    odm_buf_t out;
} answer_t;

/* Writes one result as the model's documents are written (writeOnly fields, the version left
 * out) into the JSON array being built (an api_aggregate_each_fn). */
static bool write_document(void *arg, const bson_t *doc, size_t i, odm_error_t *err)
{
    answer_t *a = arg;
    if ((i > 0 && !odm_buf_putc(&a->out, ',')) ||
        !odm_codec_write_json(a->model, doc, &a->out, err))
        return odm_error_set(err, ODM_ERR_TOO_LARGE,
                             "the aggregation answers more than %u bytes: narrow it",
                             ODM_API_AGG_MAX_BYTES);
    return true;
}

static bool aggregate_work(api_call_t *call)
{
    answer_t a = {.model = call->model};
    odm_buf_init(&a.out, ODM_API_AGG_MAX_BYTES);
    odm_buf_putc(&a.out, '[');
    odm_error_t err = {0};
    if (!api__aggregate_run(call, &call->doc, write_document, &a, &err) ||
        !odm_buf_putc(&a.out, ']')) {
        odm_buf_release(&a.out);
        if (err.kind == ODM_ERR_NONE)
            odm_error_set(&err, ODM_ERR_TOO_LARGE, "the aggregation's answer is too large");
        return api__fail(call->req, &err, NULL);
    }
    size_t len;
    char *body = odm_buf_steal(&a.out, &len);
    if (body == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    odm_request_add_header(call->req, "Cache-Control", ODM_API_CACHE_CONTROL);
    odm_request_reply(call->req, 200, "application/json", body, len);
    return true;
}

void api__aggregate(api_call_t *call)
{
    const odm_aggregation_t *agg = odm_model_aggregation(call->model, call->id, strlen(call->id));
    if (agg == NULL) {
        api__failf(call->req, ODM_ERR_NOT_FOUND, "model '%s' has no aggregation '%s'",
                   call->model->name, call->id);
        return;
    }
    params_t p = {.agg = agg};
    bool refused = refuse_params(call, &p);
    odm_error_t err;
    if (!refused) {
        uint32_t first = api__aggregate_prefix(call, &call->doc);
        if (!odm_codec_pipeline(agg, p.values, first, &call->doc, &err))
            refused = api__fail(call->req, &err, NULL);
        else
            api__aggregate_cap(&call->doc, first + (uint32_t)json_array_size(agg->pipeline));
    }
    json_decref(p.values);
    json_decref(p.violations);
    if (refused)
        return;
    call->work = aggregate_work;
    api__submit(call);
}
