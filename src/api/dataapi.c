/* The Atlas Data API's routes (POST /data/v1/action/ACTION): the action table, the request
 * every action reads (checked on arrival for small bodies, on the worker for large ones), the
 * Data API's answer and error shapes. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/dataapi.h"

#define API_DATAAPI_DELETED_SCHEMA                                                                 \
    "{\"type\": \"object\", \"required\": [\"deletedCount\"], \"properties\": "                    \
    "{\"deletedCount\": {\"type\": \"integer\", \"minimum\": 0}}}"

/* One row per action (dataapi.h says how to add one). */
static const api_dataapi_action_t actions[] = {
    {"findOne", ODM_ACCESS_READ, API_DATAAPI_FILTER | API_DATAAPI_PROJECTION, NULL,
     api__dataapi_find_one, "Find one document",
     "{\"document\": the first document matching filter, or null}",
     "{\"type\": \"object\", \"required\": [\"document\"], \"properties\": {\"document\": "
     "{\"type\": [\"object\", \"null\"]}}}",
     200},
    {"find", ODM_ACCESS_READ,
     API_DATAAPI_FILTER | API_DATAAPI_PROJECTION | API_DATAAPI_SORT | API_DATAAPI_LIMIT |
         API_DATAAPI_SKIP,
     NULL, api__dataapi_find, "Find documents",
     "{\"documents\": the matching documents, at most limit (1000 at most)}",
     "{\"type\": \"object\", \"required\": [\"documents\"], \"properties\": {\"documents\": "
     "{\"type\": \"array\", \"items\": {\"type\": \"object\"}}}}",
     200},
    {"insertOne", ODM_ACCESS_WRITE, API_DATAAPI_DOCUMENT, api__dataapi_check_insert_one,
     api__dataapi_insert_one, "Insert one document", "{\"insertedId\": its _id}",
     "{\"type\": \"object\", \"required\": [\"insertedId\"], \"properties\": {\"insertedId\": {}}}",
     201},
    {"insertMany", ODM_ACCESS_WRITE, API_DATAAPI_DOCUMENTS, api__dataapi_check_insert_many,
     api__dataapi_insert_many, "Insert documents (ordered)",
     "{\"insertedIds\": their _ids, in order}",
     "{\"type\": \"object\", \"required\": [\"insertedIds\"], \"properties\": {\"insertedIds\": "
     "{\"type\": \"array\", \"items\": {}}}}",
     201},
    {"replaceOne", ODM_ACCESS_WRITE,
     API_DATAAPI_FILTER | API_DATAAPI_REPLACEMENT | API_DATAAPI_UPSERT,
     api__dataapi_check_replace_one, api__dataapi_replace_one,
     "Replace the first document matching filter",
     "{\"matchedCount\", \"modifiedCount\"[, \"upsertedId\"]}", API_DATAAPI_COUNTS_SCHEMA, 200},
    {"deleteOne", ODM_ACCESS_WRITE, API_DATAAPI_FILTER, api__dataapi_check_delete,
     api__dataapi_delete_one, "Delete the first document matching filter",
     "{\"deletedCount\": 0 or 1}", API_DATAAPI_DELETED_SCHEMA, 200},
    {"deleteMany", ODM_ACCESS_WRITE, API_DATAAPI_FILTER, api__dataapi_check_delete,
     api__dataapi_delete_many, "Delete every document matching filter",
     "{\"deletedCount\": how many}", API_DATAAPI_DELETED_SCHEMA, 200},
    {"updateOne", ODM_ACCESS_WRITE, API_DATAAPI_FILTER | API_DATAAPI_UPDATE | API_DATAAPI_UPSERT,
     api__dataapi_check_update, api__dataapi_update_one,
     "Update the first document matching filter with update operators",
     "{\"matchedCount\", \"modifiedCount\"[, \"upsertedId\"]}", API_DATAAPI_COUNTS_SCHEMA, 200},
    {"updateMany", ODM_ACCESS_WRITE, API_DATAAPI_FILTER | API_DATAAPI_UPDATE | API_DATAAPI_UPSERT,
     api__dataapi_check_update, api__dataapi_update_many,
     "Update every document matching filter with update operators",
     "{\"matchedCount\", \"modifiedCount\"[, \"upsertedId\"]}", API_DATAAPI_COUNTS_SCHEMA, 200},
    {"aggregate", ODM_ACCESS_READ, API_DATAAPI_PIPELINE, api__dataapi_check_aggregate,
     api__dataapi_aggregate, "Run an aggregation pipeline (docs/aggregations.md's stages)",
     "{\"documents\": the results, at most 1000}",
     "{\"type\": \"object\", \"required\": [\"documents\"], \"properties\": {\"documents\": "
     "{\"type\": \"array\", \"items\": {\"type\": \"object\"}}}}",
     200},
};

/* ---- the error shape ---- */

/* The Data API's error_code and status of each kind (a kind not named: "InternalServerError"
 * and its own status). A validation failure is a 400 there. */
static const struct {
    const char *code;
    int status; /* 0: the kind's own */
} codes[ODM_ERR__COUNT] = {
    [ODM_ERR_BAD_REQUEST] = {"InvalidParameter", 0},
    [ODM_ERR_MALFORMED_JSON] = {"InvalidParameter", 0},
    [ODM_ERR_BAD_QUERY] = {"InvalidParameter", 0},
    [ODM_ERR_BAD_ID] = {"InvalidParameter", 0},
    [ODM_ERR_MEDIA_TYPE] = {"InvalidParameter", 0},
    [ODM_ERR_UNAUTHORIZED] = {"InvalidSession", 0},
    [ODM_ERR_FORBIDDEN] = {"NoMatchingRuleFound", 0},
    [ODM_ERR_NOT_FOUND] = {"NotFound", 0},
    [ODM_ERR_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 0},
    [ODM_ERR_CONFLICT] = {"DuplicateKey", 0},
    [ODM_ERR_PRECONDITION] = {"PreconditionFailed", 0},
    [ODM_ERR_PRECONDITION_REQUIRED] = {"PreconditionRequired", 0},
    [ODM_ERR_TOO_LARGE] = {"RequestTooLarge", 0},
    [ODM_ERR_VALIDATION] = {"SchemaValidationFailedWrite", 400},
    [ODM_ERR_UNAVAILABLE] = {"ServiceUnavailable", 0},
    [ODM_ERR_TIMEOUT] = {"ExecutionTimeLimitExceeded", 0},
    [ODM_ERR_TOO_MANY_REQUESTS] = {"TooManyRequests", 0},
};

#define DATAAPI_ERROR_MAX ((size_t)64 << 20) /* as a problem body's */

/* odm_fail_body_fn: {"error", "error_code", "link"[, "errors"]}; link names the request in
 * odmd's log (its X-Request-Id), where the Data API linked to its application's log. */
static char *error_body(const odm_request_t *req, const odm_error_t *err,
                        odm_problem_errors_fn *write, const void *errors, int *status,
                        const char **content_type, size_t *len)
{
    bool known = err->kind > ODM_ERR_NONE && err->kind < ODM_ERR__COUNT && codes[err->kind].code;
    const char *code = known ? codes[err->kind].code : "InternalServerError";
    if (known && codes[err->kind].status != 0)
        *status = codes[err->kind].status;
    *content_type = "application/json";
    odm_buf_t b;
    odm_buf_init(&b, DATAAPI_ERROR_MAX);
    bool ok = odm_buf_puts(&b, "{\"error\":") &&
              odm_buf_json_string(&b, err->message, strlen(err->message)) &&
              odm_buf_puts(&b, ",\"error_code\":") && odm_buf_json_string(&b, code, strlen(code)) &&
              odm_buf_puts(&b, ",\"link\":\"urn:odmd:request:") &&
              odm_buf_puts(&b, odm_request_id(req)) && odm_buf_putc(&b, '"');
    if (ok && write != NULL && errors != NULL)
        ok = odm_buf_puts(&b, ",\"errors\":") && write(&b, errors);
    ok = ok && odm_buf_putc(&b, '}');
    if (!ok) {
        odm_buf_release(&b);
        return NULL;
    }
    return odm_buf_steal(&b, len);
}

void api__dataapi_shape(odm_request_t *req)
{
    odm_request_set_fail_body(req, error_body);
}

/* ---- the request ---- */

void api__dataapi_free(api_dataapi_t *d)
{
    if (d == NULL)
        return;
    bson_destroy(&d->filter_bson);
    bson_destroy(&d->sort_bson);
    bson_destroy(&d->projection_bson);
    if (d->state_free != NULL)
        d->state_free(d->state);
    free(d);
}

bool api__dataapi_action_row(size_t i, const api_dataapi_action_t **row)
{
    if (i >= sizeof actions / sizeof actions[0])
        return false;
    *row = &actions[i];
    return true;
}

/* The body's members: the three every action reads, then the API_DATAAPI_* bits. */
static const struct {
    const char *name;
    unsigned bit; /* 0: every action reads it */
} members[] = {
    {"dataSource", 0},
    {"database", 0},
    {"collection", 0},
    {"filter", API_DATAAPI_FILTER},
    {"projection", API_DATAAPI_PROJECTION},
    {"sort", API_DATAAPI_SORT},
    {"limit", API_DATAAPI_LIMIT},
    {"skip", API_DATAAPI_SKIP},
    {"document", API_DATAAPI_DOCUMENT},
    {"documents", API_DATAAPI_DOCUMENTS},
    {"update", API_DATAAPI_UPDATE},
    {"replacement", API_DATAAPI_REPLACEMENT},
    {"upsert", API_DATAAPI_UPSERT},
    {"pipeline", API_DATAAPI_PIPELINE},
};

/* Every member of the body is one the action reads. Returns: true after answering 400. */
static bool refuse_members(api_call_t *call)
{
    const api_dataapi_action_t *action = call->dataapi->action;
    const char *key;
    json_t *value;
    json_object_foreach(call->body, key, value)
    {
        size_t i = 0;
        while (i < sizeof members / sizeof members[0] && strcmp(members[i].name, key) != 0)
            i++;
        if (i == sizeof members / sizeof members[0])
            return api__failf(call->req, ODM_ERR_BAD_REQUEST, "unknown member '%s' in the body",
                              key);
        if (members[i].bit != 0 && !(action->members & members[i].bit))
            return api__failf(call->req, ODM_ERR_BAD_REQUEST, "%s does not take '%s'", action->name,
                              key);
    }
    return false;
}

/* A member that must be a string when present. Returns: true after answering 400. */
static bool refuse_string(api_call_t *call, const char *name, const char **out)
{
    json_t *v = json_object_get(call->body, name);
    if (v == NULL)
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "missing '%s' in the body", name);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "'%s' must be a non-empty string", name);
    *out = json_string_value(v);
    return false;
}

/* The model whose collection (or, failing that, whose name) `collection` is. */
static const odm_model_t *model_named(const odm_models_t *models, const char *collection)
{
    for (size_t i = 0; i < models->n; i++)
        if (strcmp(models->items[i]->collection, collection) == 0)
            return models->items[i];
    return odm_models_find(models, collection, strlen(collection));
}

/* dataSource, database and collection: the model, and the caller's scope on it. Returns: true
 * after answering (400, 404, 403). */
static bool refuse_namespace(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    if (refuse_string(call, "dataSource", &d->data_source) ||
        refuse_string(call, "database", &d->database) ||
        refuse_string(call, "collection", &d->collection))
        return true;
    const char *served = odm_store_db_name(call->app->store);
    if (strcmp(d->database, served) != 0)
        return api__failf(call->req, ODM_ERR_NOT_FOUND, "no such database '%s' (odmd serves '%s')",
                          d->database, served);
    call->model = model_named(call->models, d->collection);
    if (call->model == NULL)
        return api__failf(call->req, ODM_ERR_NOT_FOUND, "no such collection '%s'", d->collection);
    return api__refuse_scope(call->req, &call->caller, d->action->access, call->model);
}

/* Unwraps the Extended JSON of the member `name`, if present, in the body. Returns: the
 * member (borrowed), NULL when absent or after answering 400 (*refused). */
static const json_t *unwrapped(api_call_t *call, const char *name, bool *refused)
{
    json_t *v = json_object_get(call->body, name);
    if (v == NULL || *refused)
        return NULL;
    odm_error_t err;
    json_incref(v);
    if (!api__dataapi_unwrap(&v, &err)) {
        json_decref(v);
        odm_error_prefix(&err, "%s", name);
        *refused = api__fail(call->req, &err, NULL);
        return NULL;
    }
    json_object_set_new(call->body, name, v);
    return v;
}

/* A member that must be of JSON type `type` when present. Returns: true after answering. */
static bool refuse_type(api_call_t *call, const json_t *v, const char *name, json_type type,
                        const char *what)
{
    return v != NULL && json_typeof(v) != type &&
           api__failf(call->req, ODM_ERR_BAD_REQUEST, "'%s' must be %s", name, what);
}

/* The members holding values: unwrapped and typed. Returns: true after answering 400. */
static bool refuse_values(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    bool refused = false;
    d->filter = unwrapped(call, "filter", &refused);
    d->document = unwrapped(call, "document", &refused);
    d->documents = unwrapped(call, "documents", &refused);
    d->update = unwrapped(call, "update", &refused);
    d->replacement = unwrapped(call, "replacement", &refused);
    if (refused)
        return true;
    d->projection = json_object_get(call->body, "projection");
    d->sort = json_object_get(call->body, "sort");
    d->pipeline = json_object_get(call->body, "pipeline");
    json_t *upsert = json_object_get(call->body, "upsert");
    if (upsert != NULL && !json_is_boolean(upsert))
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "'upsert' must be true or false");
    d->upsert = json_is_true(upsert);
    if (d->update != NULL && !json_is_object(d->update) && !json_is_array(d->update))
        return api__failf(call->req, ODM_ERR_BAD_REQUEST,
                          "'update' must be an object of update operators (or a pipeline)");
    return refuse_type(call, d->filter, "filter", JSON_OBJECT, "an object") ||
           refuse_type(call, d->projection, "projection", JSON_OBJECT, "an object") ||
           refuse_type(call, d->sort, "sort", JSON_OBJECT, "an object") ||
           refuse_type(call, d->document, "document", JSON_OBJECT, "an object") ||
           refuse_type(call, d->documents, "documents", JSON_ARRAY, "an array") ||
           refuse_type(call, d->replacement, "replacement", JSON_OBJECT, "an object") ||
           refuse_type(call, d->pipeline, "pipeline", JSON_ARRAY, "an array");
}

/* A whole number member within [0, max] (absent: *out untouched). Returns: true after
 * answering 400. */
static bool refuse_count(api_call_t *call, const char *name, int64_t max, int64_t *out,
                         bool *present)
{
    json_t *v = json_object_get(call->body, name);
    if (v == NULL)
        return false;
    double r = json_is_real(v) ? json_real_value(v) : -1;
    bool whole_real = json_is_real(v) && r >= 0 && r <= (double)max && r == (double)(int64_t)r;
    if (!(json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= max) &&
        !whole_real)
        return api__failf(call->req, ODM_ERR_BAD_QUERY,
                          "'%s' must be a whole number from 0 to %lld", name, (long long)max);
    *out = json_is_integer(v) ? json_integer_value(v) : (int64_t)r;
    if (present != NULL)
        *present = *out > 0; /* a limit of 0 is no limit, as MongoDB reads it */
    return false;
}

/* Writes `spec` ({"a": 1, "b": -1}) as the REST API's list ("a,-b") into `out`; `signed_`:
 * -1 allowed (sort), else only 1 or true (an inclusion projection). Returns: false with
 * ODM_ERR_BAD_QUERY. */
static bool spec_list(const json_t *spec, bool signed_, const char *name, odm_buf_t *out,
                      bool *hide_id, odm_error_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v)
    {
        double r = json_is_real(v) ? json_real_value(v) : 0;
        json_int_t n = json_is_integer(v)                                 ? json_integer_value(v)
                       : json_is_real(v) && (r == 1 || r == -1 || r == 0) ? (json_int_t)r
                       : json_is_true(v)                                  ? 1
                       : json_is_false(v)                                 ? 0
                                                                          : 2;
        if (hide_id != NULL && n == 0 && strcmp(key, "_id") == 0) {
            *hide_id = true; /* {"_id": 0}: left out of the answer */
            continue;
        }
        if (!(n == 1 || (signed_ && n == -1)))
            return odm_error_set(err, ODM_ERR_BAD_QUERY,
                                 signed_ ? "%s: '%s' must be 1 or -1"
                                         : "%s: '%s' must be 1 (only inclusion projections, "
                                           "and _id: 0, are supported)",
                                 name, key);
        if ((out->len > 0 && !odm_buf_putc(out, ',')) || (n == -1 && !odm_buf_putc(out, '-')) ||
            !odm_buf_puts(out, key))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "%s too long", name);
    }
    return true;
}

/* sort and projection through the REST API's checks. Returns: false with err set. */
static bool convert_spec(api_call_t *call, const json_t *spec, bool sort, bson_t *out,
                         odm_error_t *err)
{
    if (spec == NULL || json_object_size(spec) == 0)
        return true;
    odm_buf_t list;
    odm_buf_init(&list, 64 * 1024);
    bool ok = spec_list(spec, sort, sort ? "sort" : "projection", &list,
                        sort ? NULL : &call->dataapi->hide_id, err) &&
              (list.len == 0 ||
               (sort ? odm_codec_sort(call->model, odm_buf_cstr(&list), list.len, out, err)
                     : odm_codec_projection(call->model, odm_buf_cstr(&list), list.len, out, err)));
    odm_buf_release(&list);
    return ok;
}

bool api__dataapi_filter(const api_call_t *call, const json_t *filter, bson_t *out,
                         odm_error_t *err)
{
    if (filter != NULL && !odm_codec_filter(call->model, filter, out, err))
        return false;
    api__scope_filter(call->model, API_SCOPE_LIVE, out);
    api__owner_filter(call, call->model, out);
    return true;
}

/* filter, sort, projection, limit, skip. Returns: true after answering 400. */
static bool refuse_query(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    odm_error_t err;
    if (refuse_count(call, "limit", API_DATAAPI_MAX_LIMIT, &d->limit, &d->has_limit) ||
        refuse_count(call, "skip", ODM_API_MAX_SKIP, &d->skip, NULL))
        return true;
    if (!api__dataapi_filter(call, d->filter, &d->filter_bson, &err) ||
        !convert_spec(call, d->sort, true, &d->sort_bson, &err) ||
        !convert_spec(call, d->projection, false, &d->projection_bson, &err))
        return api__fail(call->req, &err, NULL);
    return false;
}

/* Everything of the request the action needs, checked before any database work. Returns: true
 * after answering. */
static bool refuse_request(api_call_t *call)
{
    if (api__refuse_body(call, false))
        return true;
    if (!json_is_object(call->body))
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "the body must be a JSON object");
    const api_dataapi_action_t *action = call->dataapi->action;
    return refuse_members(call) || refuse_namespace(call) || refuse_values(call) ||
           refuse_query(call) || (action->check != NULL && action->check(call));
}

/* Whether Accept asks for Extended JSON. */
static bool wants_ejson(odm_request_t *req)
{
    const char *accept = odm_request_header(req, "Accept");
    for (const char *p = accept; p != NULL && *p != '\0'; p++)
        if (strncasecmp(p, API_DATAAPI_EJSON, strlen(API_DATAAPI_EJSON)) == 0)
            return true;
    return false;
}

/* The action named by the path, and the call's Data API state. Returns: true after answering
 * (404, 500). */
static bool refuse_action(api_call_t *call)
{
    size_t i = 0;
    while (i < sizeof actions / sizeof actions[0] && strcmp(actions[i].name, call->id) != 0)
        i++;
    if (i == sizeof actions / sizeof actions[0])
        return api__failf(call->req, ODM_ERR_NOT_FOUND, "no such action '%s'", call->id);
    api_dataapi_t *d = calloc(1, sizeof *d);
    if (d == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    bson_init(&d->filter_bson);
    bson_init(&d->sort_bson);
    bson_init(&d->projection_bson);
    d->action = &actions[i];
    d->ejson = wants_ejson(call->req);
    call->dataapi = d;
    return false;
}

static bool dataapi_work(api_call_t *call)
{
    if (!call->body_ready && refuse_request(call))
        return true;
    return call->dataapi->action->work(call);
}

void api__dataapi(api_call_t *call)
{
    if (refuse_action(call))
        return;
    size_t len;
    odm_request_body(call->req, &len);
    if (len <= call->app->inline_body_max) { /* a large body is read on the worker */
        if (refuse_request(call))
            return;
        call->body_ready = true;
    }
    call->work = dataapi_work;
    api__submit(call);
}

/* ---- answers ---- */

void api__dataapi_answer_init(odm_buf_t *out)
{
    odm_buf_init(out, ODM_API_MAX_RESPONSE);
}

bool api__dataapi_reply(api_call_t *call, odm_buf_t *body, bool ok, const odm_error_t *err)
{
    if (!ok) {
        odm_buf_release(body);
        return api__fail(call->req, err, NULL);
    }
    size_t len;
    char *text = odm_buf_steal(body, &len);
    odm_request_reply(call->req, call->dataapi->action->status,
                      call->dataapi->ejson ? API_DATAAPI_EJSON : "application/json", text, len);
    return true;
}

bool api__dataapi_put_document(const api_call_t *call, const bson_t *doc, odm_buf_t *out,
                               odm_error_t *err)
{
    bson_t shown = BSON_INITIALIZER;
    if (call->dataapi->hide_id) {
        bson_copy_to_excluding_noinit(doc, &shown, "_id", NULL);
        doc = &shown;
    }
    bool ok = call->dataapi->ejson ? api__dataapi_put_ejson(call->model, doc, out, err)
                                   : odm_codec_write_json(call->model, doc, out, err);
    bson_destroy(&shown);
    return ok;
}

bool api__dataapi_put_id(const api_call_t *call, const bson_t *doc, odm_buf_t *out,
                         odm_error_t *err)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return odm_buf_puts(out, "null") ||
               odm_error_set(err, ODM_ERR_INTERNAL, "answer larger than its limit");
    if (call->dataapi->ejson)
        return api__dataapi_put_ejson_value(&it, out, err);
    return odm_codec_write_value(odm_field_child(&call->model->root, "_id", 3), &it, out, err);
}

bool api__dataapi_reply_counts(api_call_t *call, int64_t matched, int64_t modified,
                               const bson_t *upserted)
{
    odm_buf_t out;
    odm_error_t err = {0};
    api__dataapi_answer_init(&out);
    bool ok = odm_buf_puts(&out, "{\"matchedCount\":") && odm_buf_put_int(&out, matched) &&
              odm_buf_puts(&out, ",\"modifiedCount\":") && odm_buf_put_int(&out, modified);
    if (ok && upserted != NULL)
        ok = odm_buf_puts(&out, ",\"upsertedId\":") &&
             api__dataapi_put_id(call, upserted, &out, &err);
    ok = ok && odm_buf_putc(&out, '}');
    if (!ok && err.kind == ODM_ERR_NONE)
        odm_error_set(&err, ODM_ERR_INTERNAL, "answer larger than its limit");
    return api__dataapi_reply(call, &out, ok, &err);
}
