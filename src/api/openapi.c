/* The OpenAPI 3.1 document of the models in force (GET /openapi.json, `odmd openapi`): one
 * operation per row of the router's table, described by that row's function, for each route
 * that applies to each model; the models' schemas as components, as written. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/dataapi.h"
#include "api/internal.h"

#define OBJECT_ID_PATTERN "^[0-9a-fA-F]{24}$"
/* RFC 3339 with at most milliseconds and no leap second: what a BSON date holds exactly */
#define DATE_TIME_PATTERN                                                                          \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]{1,3})?([Zz]|[+-][0-9]{"  \
    "2}:[0-9]{2})$"
/* a field name MongoDB stores and a dotted path names: not empty, no leading '$', no '.' */
#define FIELD_NAME_PATTERN "^[^$.\\u0000][^.\\u0000]*$"
/* Idempotency-Key: a quoted string or a bare token of 1 to 255 printable characters */
#define IDEMPOTENCY_KEY_PATTERN "^(\"[ !#-\\[\\]-~]{1,255}\"|[!#-\\[\\]-~]{1,255})$"
#define PROBLEM_TYPE "application/problem+json"
#define REF_SCHEMAS "#/components/schemas/"

struct api_doc {
    const odm_app_t *app;     /* borrowed, may be NULL */
    const odm_model_t *model; /* NULL for the routes without one */
    api_route_kind_t kind;
    odm_method_t method;
    const char *method_name; /* "GET" */
    size_t bulk_max;
    const odm_aggregation_t *aggregation; /* API_AGGREGATE: the one described */
    const api_dataapi_action_t *action;   /* API_DATAAPI: the action of the path */
    const odm_models_t *models;           /* every model in the document */
};

/* ---- what is in force: one small function each, so that new options extend them ---- */

/* Whether the routes that check callers need credentials: keys (--keys, --api-key) or tokens
 * (--jwt-secret, --jwt-public-key) configured. */
static bool security_in_force(const api_doc_t *d)
{
    return d->app != NULL && odm_auth_enabled(d->app->auth);
}

/* Whether a request may be refused 429: a rate limit in force, on the routes it counts (not the
 * probes and the scrape: docs/cors-and-limits.md). */
static bool rate_limit_possible(const api_doc_t *d)
{
    return d->app != NULL && d->app->rate_limit > 0 && d->kind != API_HEALTHZ &&
           d->kind != API_READYZ && d->kind != API_METRICS;
}

/* Whether GET /metrics is answered on the API's listener (not off, not on a listener of its
 * own). */
static bool metrics_served(const api_doc_t *d)
{
    return d->app != NULL && d->app->metrics != NULL && !d->app->metrics_elsewhere;
}

/* ---- small builders ---- */

static json_t *ref(const char *kind, const char *name)
{
    char buf[256];
    snprintf(buf, sizeof buf, "#/components/%s/%s", kind, name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *json_content(const char *type, json_t *schema)
{
    return json_pack("{s:{s:o}}", type, "schema", schema);
}

static json_t *model_ref(const odm_model_t *model)
{
    return ref("schemas", model->name);
}

static void set_response(json_t *op, int status, json_t *response)
{
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    json_t *responses = json_object_get(op, "responses");
    if (responses == NULL) {
        responses = json_object();
        json_object_set_new(op, "responses", responses);
    }
    json_object_set_new(responses, code, response);
}

static json_t *response(const char *description, json_t *content, json_t *headers)
{
    json_t *r = json_pack("{s:s}", "description", description);
    if (content != NULL)
        json_object_set_new(r, "content", content);
    if (headers != NULL)
        json_object_set_new(r, "headers", headers);
    return r;
}

/* The header an error status carries besides its body. */
static const struct {
    int status;
    const char *header;
} problem_headers[] = {
    {401, "WWW-Authenticate"},
    {403, "WWW-Authenticate"}, /* error="insufficient_scope" */
    {429, "Retry-After"},      /* and RateLimit, RateLimit-Policy: add_common */
    {503, "Retry-After"},
};

/* A problem+json answer of `status`. */
static void problem(json_t *op, int status, const char *description)
{
    json_t *headers = NULL;
    for (size_t i = 0; i < sizeof problem_headers / sizeof problem_headers[0]; i++)
        if (problem_headers[i].status == status)
            headers = json_pack("{s:o}", problem_headers[i].header,
                                ref("headers", problem_headers[i].header));
    set_response(
        op, status,
        response(description, json_content(PROBLEM_TYPE, ref("schemas", "Problem")), headers));
}

static json_t *header(const char *name)
{
    return ref("headers", name);
}

static json_t *param(const char *name, const char *in, bool required, const char *description,
                     json_t *schema)
{
    return json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "in", in, "required", required,
                     "description", description, "schema", schema);
}

static void add_param(json_t *op, json_t *p)
{
    json_t *params = json_object_get(op, "parameters");
    if (params == NULL) {
        params = json_array();
        json_object_set_new(op, "parameters", params);
    }
    json_array_append_new(params, p);
}

static json_t *operation(const api_doc_t *d, const char *summary, const char *description)
{
    json_t *op = json_pack("{s:s, s:s}", "summary", summary, "description", description);
    json_object_set_new(op, "tags",
                        json_pack("[s]", d->model                 ? d->model->name
                                         : d->kind == API_DATAAPI ? "dataapi"
                                                                  : "service"));
    return op;
}

/* The schema of the path's id: the model's _id schema, readOnly dropped (the path names it). */
static json_t *id_schema(const odm_model_t *model)
{
    json_t *props = json_object_get(model->doc, "properties");
    json_t *id = json_deep_copy(json_object_get(props, "_id"));
    if (!json_is_object(id)) {
        json_decref(id);
        id = json_pack("{s:s}", "type", "string");
    }
    json_object_del(id, "readOnly");
    json_object_del(id, "default");
    if (model->id_kind == ODM_ID_OBJECTID && json_object_get(id, "pattern") == NULL)
        json_object_set_new(id, "pattern", json_string(OBJECT_ID_PATTERN));
    return id;
}

static void add_header_param(json_t *op, const char *name)
{
    char buf[64];
    snprintf(buf, sizeof buf, "#/components/parameters/%s", name);
    add_param(op, json_pack("{s:s}", "$ref", buf));
}

static void add_deleted_param(json_t *op, const odm_model_t *model)
{
    if (model->deleted_at != NULL)
        add_param(op,
                  param("deleted", "query", false,
                        "x-softDelete: include the soft-deleted documents, or only them",
                        json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "include", "only")));
}

static json_t *string_schema(void)
{
    return json_pack("{s:s}", "type", "string");
}

static void add_filter_param(json_t *op, bool required)
{
    add_param(op, param("filter", "query", required,
                        "a JSON object of MongoDB query operators from odmd's allow-list, on the "
                        "model's declared fields (filter={} means every document)",
                        string_schema()));
}

/* ---- the routes' descriptions (the describe column of router.c's table) ---- */

json_t *api__describe_healthz(const api_doc_t *d)
{
    json_t *op = operation(d, "Liveness", "200 from the polling thread, without the database.");
    set_response(
        op, 200,
        response("alive", json_content("application/json", ref("schemas", "Health")), NULL));
    return op;
}

json_t *api__describe_readyz(const api_doc_t *d)
{
    json_t *op = operation(d, "Readiness",
                           "200 once the models' indexes exist and the database answers a ping.");
    set_response(
        op, 200,
        response("ready", json_content("application/json", ref("schemas", "Health")), NULL));
    problem(op, 503, "not ready: indexes still being created, or the database unreachable");
    return op;
}

json_t *api__describe_openapi(const api_doc_t *d)
{
    json_t *op = operation(d, "This document", "The OpenAPI 3.1 document of the models in force.");
    set_response(op, 200,
                 response("the document",
                          json_content("application/json", json_pack("{s:s}", "type", "object")),
                          NULL));
    return op;
}

json_t *api__describe_metrics(const api_doc_t *d)
{
    json_t *op = operation(d, "Metrics", "Prometheus text format 0.0.4 (docs/metrics.md).");
    set_response(op, 200,
                 response("the metrics", json_content("text/plain", string_schema()), NULL));
    return op;
}

json_t *api__describe_options(const api_doc_t *d)
{
    json_t *op = operation(d, "Methods allowed", "204 with the methods the route allows.");
    json_t *headers = json_pack("{s:o}", "Allow", header("Allow"));
    if (api__route_allows(d->kind, ODM_METHOD_PATCH))
        json_object_set_new(headers, "Accept-Patch", header("Accept-Patch"));
    set_response(op, 204, response("the methods allowed", NULL, headers));
    return op;
}

json_t *api__describe_list(const api_doc_t *d)
{
    json_t *op = operation(d, "List documents",
                           "A page of the documents the filter matches; with Accept: "
                           "application/x-ndjson or text/csv, every one streamed.");
    add_param(op, param("limit", "query", false, "page size",
                        json_pack("{s:s, s:i, s:i, s:i}", "type", "integer", "minimum", 1,
                                  "maximum", ODM_API_MAX_LIMIT, "default", ODM_API_DEFAULT_LIMIT)));
    add_param(op, param("skip", "query", false, "documents skipped (page further with after=)",
                        json_pack("{s:s, s:i, s:i}", "type", "integer", "minimum", 0, "maximum",
                                  (int)ODM_API_MAX_SKIP)));
    add_param(op, param("sort", "query", false,
                        "comma-separated declared fields, '-' for descending (sort=-pages,title)",
                        string_schema()));
    add_param(op, param("fields", "query", false,
                        "comma-separated declared fields to return (the columns of text/csv)",
                        string_schema()));
    add_filter_param(op, false);
    add_param(op, param("count", "query", false, "adds X-Total-Count",
                        json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "true", "false")));
    add_param(op, param("expand", "query", false,
                        "comma-separated x-ref paths replaced by the documents they name",
                        string_schema()));
    add_param(op, param("after", "query", false,
                        "the cursor of the next page, from the Link header", string_schema()));
    add_deleted_param(op, d->model);
    add_param(op, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", "Accept", "in", "header",
                            "required", false, "description",
                            "application/x-ndjson or text/csv: an export of every match", "schema",
                            string_schema()));
    json_t *page = json_pack("{s:s, s:o}", "type", "array", "items", model_ref(d->model));
    json_t *content = json_content("application/json", page);
    json_object_set_new(content, "application/x-ndjson",
                        json_pack("{s:{s:s}}", "schema", "type", "string"));
    json_object_set_new(content, "text/csv", json_pack("{s:{s:s}}", "schema", "type", "string"));
    json_t *headers = json_pack("{s:o, s:o, s:o}", "X-Total-Count", header("X-Total-Count"), "Link",
                                header("Link"), "Cache-Control", header("Cache-Control"));
    set_response(op, 200, response("a page, or the export", content, headers));
    problem(op, 400,
            "a malformed or unknown query parameter, filter, sort, fields, expand or "
            "after");
    return op;
}

static json_t *document_headers(void)
{
    return json_pack("{s:o}", "ETag", header("ETag"));
}

/* links from a created document's _id to the operations on it */
static json_t *item_links(const odm_model_t *model)
{
    static const char *const ops[][2] = {
        {"get", "GetCreated"},
        {"put", "ReplaceCreated"},
        {"patch", "PatchCreated"},
        {"delete", "DeleteCreated"},
    };
    json_t *links = json_object();
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        char id[160];
        snprintf(id, sizeof id, "%s_%s_document", ops[i][0], model->name);
        json_object_set_new(links, ops[i][1],
                            json_pack("{s:s, s:{s:s}}", "operationId", id, "parameters", "id",
                                      "$response.body#/_id"));
    }
    return links;
}

/* What POST takes as one document: the model, and _id when odmd cannot make one. */
static json_t *create_schema(const odm_model_t *model)
{
    if (model->id_generated)
        return model_ref(model);
    return json_pack("{s:[o], s:{s:{}}, s:[s]}", "allOf", model_ref(model), "properties", "_id",
                     "required", "_id");
}

json_t *api__describe_create(const api_doc_t *d)
{
    json_t *op = operation(d, "Create documents",
                           "One document (201), or a JSON array of them: a bulk insert (200, "
                           "one result per item).");
    add_header_param(op, "Idempotency-Key");
    add_param(op, param("ordered", "query", false, "bulk insert: stop at the first failure",
                        json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "true", "false")));
    json_t *body = json_pack(
        "{s:[o, {s:s, s:s, s:o, s:I}]}", "oneOf", create_schema(d->model), "description",
        "a bulk insert: each item is checked as one POST's body and answered in the "
        "results (200), whatever it holds",
        "type", "array", "items", ref("schemas", "Storable"), "maxItems", (json_int_t)d->bulk_max);
    json_object_set_new(op, "requestBody",
                        json_pack("{s:b, s:o}", "required", true, "content",
                                  json_content("application/json", body)));
    json_t *created =
        response("created", json_content("application/json", model_ref(d->model)),
                 json_pack("{s:o, s:o, s:o}", "Location", header("Location"), "ETag",
                           header("ETag"), "Idempotency-Replayed", header("Idempotency-Replayed")));
    json_object_set_new(created, "links", item_links(d->model));
    set_response(op, 201, created);
    set_response(
        op, 200,
        response("a bulk insert's results, one per item",
                 json_content("application/json", ref("schemas", "BulkResults")),
                 json_pack("{s:o}", "Idempotency-Replayed", header("Idempotency-Replayed"))));
    problem(op, 400, "malformed JSON, neither an object nor an array, a bad Idempotency-Key");
    problem(op, 409, "a duplicate key, or the Idempotency-Key's first request still running");
    problem(op, 413, "a body above --max-body, or more items than --bulk-max");
    problem(op, 415, "not a JSON content type");
    problem(op, 422,
            "the document breaks its model, or the Idempotency-Key was used for another "
            "request");
    return op;
}

/* A merge patch may be any JSON value (RFC 7396: anything but an object replaces the document,
 * which is then validated), with field names odmd stores. */
static json_t *merge_patch_body(void)
{
    json_t *content = json_content(ODM_API_MERGE_PATCH, ref("schemas", "Storable"));
    json_object_set_new(content, "application/json",
                        json_pack("{s:o}", "schema", ref("schemas", "Storable")));
    return json_pack("{s:b, s:o}", "required", true, "content", content);
}

static void add_write_preconditions(json_t *op, const api_doc_t *d)
{
    add_header_param(op, "If-Match");
    add_header_param(op, "If-None-Match");
    problem(op, 412, "If-Match does not match, or If-None-Match does");
    if (d->model->require_if_match)
        problem(op, 428, "x-requireIfMatch: If-Match is required");
}

json_t *api__describe_bulk_patch(const api_doc_t *d)
{
    json_t *op = operation(d, "Patch every match",
                           "The merge patch applied to every document the filter matches.");
    add_filter_param(op, true);
    json_object_set_new(op, "requestBody", merge_patch_body());
    add_write_preconditions(op, d);
    set_response(op, 200,
                 response("what was written",
                          json_content("application/json", ref("schemas", "BulkPatchResult")),
                          NULL));
    problem(op, 400, "no filter, a malformed filter, too many matches, malformed JSON");
    problem(op, 413, "a body above --max-body");
    problem(op, 415, "not a JSON merge patch");
    problem(op, 422, "a readOnly field in the patch");
    return op;
}

json_t *api__describe_bulk_delete(const api_doc_t *d)
{
    json_t *op = operation(d, "Delete every match",
                           d->model->deleted_at ? "Soft-deletes every live match (x-softDelete)."
                                                : "Deletes every document the filter matches.");
    add_filter_param(op, true);
    add_write_preconditions(op, d);
    set_response(op, 200,
                 response("how many",
                          json_content("application/json", ref("schemas", "BulkDeleteResult")),
                          NULL));
    problem(op, 400, "no filter, or a malformed one");
    return op;
}

json_t *api__describe_get(const api_doc_t *d)
{
    json_t *op = operation(d, "Read a document", "The document, with its ETag.");
    add_param(op, param("expand", "query", false,
                        "comma-separated x-ref paths replaced by the documents they name",
                        string_schema()));
    add_deleted_param(op, d->model);
    add_header_param(op, "If-Match");
    add_header_param(op, "If-None-Match");
    json_t *headers =
        json_pack("{s:o, s:o}", "ETag", header("ETag"), "Cache-Control", header("Cache-Control"));
    set_response(
        op, 200,
        response("the document", json_content("application/json", model_ref(d->model)), headers));
    set_response(op, 304, response("If-None-Match matches", NULL, document_headers()));
    problem(op, 400, "a malformed id, or a bad expand");
    problem(op, 404, "no such document");
    problem(op, 412, "If-Match does not match");
    return op;
}

static void document_write(json_t *op, const api_doc_t *d)
{
    add_write_preconditions(op, d);
    problem(op, 400, "a malformed id or body");
    problem(op, 404, "no such document");
    problem(op, 409, "too many concurrent writes to the document, or a duplicate key");
}

static json_t *model_schema(const odm_model_t *model, const odm_models_t *models);

/* Whether the model's schema lists `_id` in its top-level required. */
static bool requires_id(const odm_model_t *model)
{
    size_t i;
    const json_t *name;
    json_array_foreach(json_object_get(model->doc, "required"), i, name)
    {
        if (json_is_string(name) && strcmp(json_string_value(name), "_id") == 0)
            return true;
    }
    return false;
}

/* What PUT takes: the model as odmd checks a replacement, whose _id comes from the path: not
 * required in the body (the model's schema, _id dropped from its required), and when present
 * equal to the path's (422 otherwise: no schema relates a body to its path). */
static json_t *replace_schema(const api_doc_t *d)
{
    if (!requires_id(d->model) || d->models == NULL)
        return model_ref(d->model);
    json_t *s = model_schema(d->model, d->models);
    json_t *required = json_object_get(s, "required");
    for (size_t i = json_array_size(required); i-- > 0;)
        if (strcmp(json_string_value(json_array_get(required, i)), "_id") == 0)
            json_array_remove(required, i);
    json_t *id = json_object_get(json_object_get(s, "properties"), "_id");
    if (json_is_object(id))
        json_object_set_new(id, "description",
                            json_string("optional: the path names the document; when present, "
                                        "equal to the path's id"));
    return s;
}

json_t *api__describe_put(const api_doc_t *d)
{
    json_t *op = operation(d, "Replace a document", "Full replacement, validated.");
    document_write(op, d);
    json_object_set_new(op, "requestBody",
                        json_pack("{s:b, s:o}", "required", true, "content",
                                  json_content("application/json", replace_schema(d))));
    set_response(op, 200,
                 response("the stored document",
                          json_content("application/json", model_ref(d->model)),
                          document_headers()));
    problem(op, 413, "a body above --max-body");
    problem(op, 415, "not a JSON content type");
    problem(op, 422, "the document breaks its model");
    return op;
}

json_t *api__describe_patch(const api_doc_t *d)
{
    json_t *op = operation(d, "Patch a document",
                           "A JSON merge patch (RFC 7396); the merged document is validated.");
    document_write(op, d);
    json_object_set_new(op, "requestBody", merge_patch_body());
    set_response(op, 200,
                 response("the stored document",
                          json_content("application/json", model_ref(d->model)),
                          document_headers()));
    problem(op, 413, "a body above --max-body");
    set_response(op, 415,
                 response("not a JSON merge patch",
                          json_content(PROBLEM_TYPE, ref("schemas", "Problem")),
                          json_pack("{s:o}", "Accept-Patch", header("Accept-Patch"))));
    problem(op, 422, "the merged document breaks its model");
    return op;
}

json_t *api__describe_delete(const api_doc_t *d)
{
    json_t *op = operation(d, "Delete a document",
                           d->model->deleted_at
                               ? "Sets deletedAt (x-softDelete); purge=true removes it for good."
                               : "Removes the document.");
    document_write(op, d);
    if (d->model->deleted_at != NULL)
        add_param(op,
                  param("purge", "query", false, "remove for good",
                        json_pack("{s:s, s:[s,s]}", "type", "string", "enum", "true", "false")));
    set_response(op, 204, response("deleted", NULL, NULL));
    return op;
}

/* The enum of a model's readable fields, as dotted paths (array items looked through). */
static void add_fields(json_t *names, const odm_field_t *f, const char *prefix)
{
    for (size_t i = 0; i < f->n_children; i++) {
        const odm_field_t *c = &f->children[i];
        if (c->write_only)
            continue;
        char path[512];
        int n = snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", c->name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        json_array_append_new(names, json_string(path));
        const odm_field_t *inner = c;
        while (inner->items != NULL)
            inner = inner->items;
        add_fields(names, inner, path);
    }
}

json_t *api__describe_distinct(const api_doc_t *d)
{
    json_t *op = operation(d, "Distinct values", "The distinct values of a declared field.");
    add_filter_param(op, false);
    set_response(
        op, 200,
        response("the values",
                 json_content("application/json", json_pack("{s:s, s:o}", "type", "array", "items",
                                                            ref("schemas", "Storable"))),
                 NULL));
    problem(op, 400, "a malformed filter");
    problem(op, 404, "a field the model does not declare");
    problem(op, 413, "distinct values past 16 MB");
    return op;
}

json_t *api__describe_restore(const api_doc_t *d)
{
    json_t *op = operation(d, "Restore a document", "Removes deletedAt (x-softDelete).");
    set_response(op, 200,
                 response("the restored document",
                          json_content("application/json", model_ref(d->model)),
                          document_headers()));
    problem(op, 400, "a malformed id");
    problem(op, 404, "no soft-deleted document has that id");
    problem(op, 409, "a live document holds one of its unique values");
    return op;
}

static void adapt_schema(json_t *s, const char *name, const odm_models_t *models);

/* A named aggregation: its parameters as query parameters, each with its schema. */
json_t *api__describe_aggregate(const api_doc_t *d)
{
    const odm_aggregation_t *a = d->aggregation;
    json_t *op = operation(d, "Named aggregation",
                           a->description ? a->description
                                          : "A pipeline of the model file (x-aggregations).");
    for (size_t i = 0; i < a->n_params; i++) {
        json_t *schema = json_deep_copy(a->params[i].schema);
        adapt_schema(schema, d->model->name, d->models);
        add_param(op, param(a->params[i].name, "query", a->params[i].default_value == NULL,
                            "a parameter of the pipeline", schema));
    }
    set_response(
        op, 200,
        response("the results, at most 1000 documents",
                 json_content("application/json", json_pack("{s:s, s:o}", "type", "array", "items",
                                                            ref("schemas", "Storable"))),
                 NULL));
    problem(op, 400, "a parameter unknown, missing or refused by its schema");
    problem(op, 413, "more than 1000 documents or 16 MiB of results");
    return op;
}

/* ---- the Data API (dataapi.c's action table: one path per action) ---- */

/* The members of a Data API body, each with its schema (JSON text; %d: a bound). */
static json_t *dataapi_member(const api_doc_t *d, unsigned bit)
{
    switch (bit) {
    case API_DATAAPI_FILTER:
        return json_pack("{s:s, s:s}", "type", "object", "description",
                         "MongoDB query operators from odmd's allow-list on declared fields; "
                         "Extended JSON values ($oid, $date, $numberLong, ...)");
    case API_DATAAPI_PROJECTION: /* inclusions, and _id left out with 0 */
        return json_pack("{s:s, s:{s:{s:[i,i,b,b]}}, s:{s:[i,b]}}", "type", "object", "properties",
                         "_id", "enum", 0, 1, false, true, "additionalProperties", "enum", 1, true);
    case API_DATAAPI_SORT:
        return json_pack("{s:s, s:{s:[i,i]}}", "type", "object", "additionalProperties", "enum", 1,
                         -1);
    case API_DATAAPI_LIMIT:
        return json_pack("{s:s, s:i, s:i}", "type", "integer", "minimum", 0, "maximum",
                         API_DATAAPI_MAX_LIMIT);
    case API_DATAAPI_SKIP:
        return json_pack("{s:s, s:i, s:i}", "type", "integer", "minimum", 0, "maximum",
                         (int)ODM_API_MAX_SKIP);
    case API_DATAAPI_DOCUMENTS:
        return json_pack("{s:s, s:i, s:I, s:{s:s}}", "type", "array", "minItems", 1, "maxItems",
                         (json_int_t)d->bulk_max, "items", "type", "object");
    case API_DATAAPI_UPSERT:
        return json_pack("{s:s}", "type", "boolean");
    case API_DATAAPI_UPDATE: /* an update pipeline (an array) is refused: 400 */
        return json_pack("{s:s, s:i, s:s}", "type", "object", "minProperties", 1, "description",
                         "update operators ($set, $inc, ...: docs/dataapi.md)");
    case API_DATAAPI_PIPELINE:
        return json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type", "object");
    default: /* document, replacement */
        return json_pack("{s:s}", "type", "object");
    }
}

static const struct {
    const char *name;
    unsigned bit;
    bool required;
} dataapi_members[] = {
    {"filter", API_DATAAPI_FILTER, false},
    {"projection", API_DATAAPI_PROJECTION, false},
    {"sort", API_DATAAPI_SORT, false},
    {"limit", API_DATAAPI_LIMIT, false},
    {"skip", API_DATAAPI_SKIP, false},
    {"document", API_DATAAPI_DOCUMENT, true},
    {"documents", API_DATAAPI_DOCUMENTS, true},
    {"update", API_DATAAPI_UPDATE, true},
    {"replacement", API_DATAAPI_REPLACEMENT, true},
    {"upsert", API_DATAAPI_UPSERT, false},
    {"pipeline", API_DATAAPI_PIPELINE, true},
};

/* The body: dataSource, database (the one odmd serves: another is a 404), collection (a
 * model's), and the
 * members the action reads. */
static json_t *dataapi_body(const api_doc_t *d, const odm_models_t *models)
{
    json_t *collections = json_array();
    for (size_t i = 0; i < models->n; i++)
        json_array_append_new(collections, json_string(models->items[i]->collection));
    json_t *database = json_pack("{s:s, s:i, s:s}", "type", "string", "minLength", 1, "description",
                                 "the database odmd serves (--mongo-uri, --db)");
    json_t *props =
        json_pack("{s:{s:s, s:i}, s:o, s:{s:s, s:o}}", "dataSource", "type", "string", "minLength",
                  1, "database", database, "collection", "type", "string", "enum", collections);
    json_t *required = json_pack("[s,s,s]", "dataSource", "database", "collection");
    for (size_t i = 0; i < sizeof dataapi_members / sizeof dataapi_members[0]; i++) {
        if (!(d->action->members & dataapi_members[i].bit))
            continue;
        json_object_set_new(props, dataapi_members[i].name,
                            dataapi_member(d, dataapi_members[i].bit));
        if (dataapi_members[i].required)
            json_array_append_new(required, json_string(dataapi_members[i].name));
    }
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
                     required, "additionalProperties", false);
}

json_t *api__describe_dataapi(const api_doc_t *d)
{
    const api_dataapi_action_t *a = d->action;
    json_t *op = operation(d, a->summary,
                           "The Atlas Data API's action, over odmd's models (docs/dataapi.md): "
                           "writes validated as REST writes are.");
    json_object_set_new(op, "requestBody",
                        json_pack("{s:b, s:{s:{s:o}}}", "required", true, "content",
                                  "application/json", "schema", dataapi_body(d, d->models)));
    add_param(op, param("Accept", "header", false,
                        "application/ejson: canonical Extended JSON; application/json (the "
                        "default): plain JSON as the REST API writes it",
                        string_schema()));
    json_t *answer = json_loads(a->answer_schema, 0, NULL);
    json_t *content = json_content("application/json", answer);
    json_object_set_new(content, API_DATAAPI_EJSON,
                        json_pack("{s:{s:s}}", "schema", "type", "object"));
    set_response(op, a->status, response(a->answer, content, NULL));
    problem(op, 400,
            security_in_force(d)
                ? "no credential at all (no authentication methods were specified); a "
                  "malformed body, filter, sort or projection; a document the model refuses "
                  "(with its violations)"
                : "a malformed body, filter, sort or projection; a document the model refuses "
                  "(with its violations)");
    problem(op, 404, "no such action, database or collection");
    if (a->access == ODM_ACCESS_WRITE) {
        problem(op, 409, "a duplicate key");
        problem(op, 428, "the model requires If-Match (x-requireIfMatch)");
    }
    problem(op, 413, "more documents than the cap, or a body above --max-body");
    problem(op, 415, "a body that is not application/json or application/ejson");
    return op;
}

/* The Data API's errors are {error, error_code, link} as application/json, whatever the
 * status (api__dataapi_shape). */
static void dataapi_error_shape(json_t *op)
{
    const char *code;
    json_t *r;
    json_object_foreach(json_object_get(op, "responses"), code, r)
    {
        if (code[0] >= '4' && json_object_get(r, "content") != NULL)
            json_object_set_new(r, "content",
                                json_content("application/json", ref("schemas", "DataApiError")));
    }
}

/* ---- the statuses every route shares ---- */

static bool touches_database(api_route_kind_t kind)
{
    return kind != API_HEALTHZ && kind != API_OPENAPI && kind != API_METRICS;
}

static bool takes_body(odm_method_t method)
{
    return method & (ODM_METHOD_POST | ODM_METHOD_PUT | ODM_METHOD_PATCH);
}

static void add_common(json_t *op, const api_doc_t *d)
{
    bool secured = security_in_force(d) && api__route_needs_key(d->kind);
    json_object_set_new(op, "security", secured ? json_pack("[{s:[]}]", "bearer") : json_array());
    if (secured && d->kind == API_DATAAPI) /* no credential at all: 400, as the Data API */
        problem(op, 401, "a credential refused (an unknown key, an invalid token)");
    else if (secured)
        problem(op, 401, "no credential, or one refused (an unknown key, an invalid token)");
    if (secured && (d->model != NULL || d->kind == API_DATAAPI))
        problem(op, 403, "the caller's scopes do not cover this model and access");
    if (rate_limit_possible(d)) {
        problem(op, 429, "the client's rate limit is reached (--rate-limit)");
        json_t *h =
            json_object_get(json_object_get(json_object_get(op, "responses"), "429"), "headers");
        json_object_set_new(h, "RateLimit", header("RateLimit"));
        json_object_set_new(h, "RateLimit-Policy", header("RateLimit-Policy"));
    }
    json_t *responses = json_object_get(op, "responses");
    if (json_object_get(responses, "400") == NULL)
        problem(op, 400, "an ambiguous request framing (RFC 9112)");
    if (takes_body(d->method) && json_object_get(responses, "413") == NULL)
        problem(op, 413, "a body above --max-body");
    if (d->method != ODM_METHOD_OPTIONS && touches_database(d->kind)) {
        if (d->kind != API_READYZ)
            problem(op, 503,
                    "the database is unreachable, the queue is full, or odmd is "
                    "stopping");
        problem(op, 504, "not answered within --request-timeout");
        problem(op, 500, "a bug (the log has the request id)");
    }
}

/* HEAD: GET's answers without their bodies. */
static void strip_bodies(json_t *op)
{
    const char *code;
    json_t *r;
    json_object_foreach(json_object_get(op, "responses"), code, r) json_object_del(r, "content");
}

/* ---- the models as components ---- */

/* Keywords whose values are data or odmd's settings, not subschemas: left as written. */
static bool holds_data(const char *key)
{
    static const char *const data[] = {
        "enum",      "const",        "default",  "examples",
        "x-indexes", "x-timestamps", "required", "dependentRequired"};
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
        if (strcmp(key, data[i]) == 0)
            return true;
    return false;
}

static void adapt_schema(json_t *s, const char *name, const odm_models_t *models);

/* Every member of a keyword that maps names to subschemas. */
static void adapt_members(json_t *map, const char *name, const odm_models_t *models)
{
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v) adapt_schema(v, name, models);
}

/* A "$ref" into this model's document, or into another model's file, made to point at the
 * model's component. */
static void adapt_ref(json_t *s, const char *r, const char *name, const odm_models_t *models)
{
    char buf[512];
    const char *hash = strchr(r, '#');
    const char *dot = strstr(r, ".json");
    if (r[0] == '#') {
        snprintf(buf, sizeof buf, REF_SCHEMAS "%s%s", name, r + 1);
        json_object_set_new(s, "$ref", json_string(buf));
        return;
    }
    if (dot == NULL || (hash != NULL && dot > hash) || strchr(r, ':') != NULL)
        return;
    const char *base = strrchr(r, '/');
    base = base && base < dot ? base + 1 : r;
    if (odm_models_find(models, base, (size_t)(dot - base)) == NULL)
        return;
    snprintf(buf, sizeof buf, REF_SCHEMAS "%.*s%s", (int)(dot - base), base, hash ? hash + 1 : "");
    json_object_set_new(s, "$ref", json_string(buf));
}

static bool is_type(const json_t *s, const char *type)
{
    const char *t = json_string_value(json_object_get(s, "type"));
    return t != NULL && strcmp(t, type) == 0;
}

/* What odmd checks beyond the schema, said as schema keywords where one says it exactly: an
 * ObjectId's 24 hex characters, a date BSON can hold (milliseconds, no leap second), an integer
 * within 64 bits, and field names MongoDB can store and a dotted path can name (odmd refuses
 * others with 400, at any depth: the Storable component). */
static void add_stored_rules(json_t *s)
{
    const char *bson = json_string_value(json_object_get(s, "x-bson"));
    const char *format = json_string_value(json_object_get(s, "format"));
    if (bson != NULL && strcmp(bson, "objectId") == 0 && json_object_get(s, "pattern") == NULL)
        json_object_set_new(s, "pattern", json_string(OBJECT_ID_PATTERN));
    if (format != NULL && strcmp(format, "date-time") == 0 && json_object_get(s, "pattern") == NULL)
        json_object_set_new(s, "pattern", json_string(DATE_TIME_PATTERN));
    if (is_type(s, "integer") && json_object_get(s, "minimum") == NULL &&
        json_object_get(s, "exclusiveMinimum") == NULL)
        json_object_set_new(s, "minimum", json_integer(INT64_MIN));
    if (is_type(s, "integer") && json_object_get(s, "maximum") == NULL &&
        json_object_get(s, "exclusiveMaximum") == NULL)
        json_object_set_new(s, "maximum", json_integer(INT64_MAX));
    bool object = is_type(s, "object") || json_object_get(s, "properties") != NULL;
    if (object && json_object_get(s, "propertyNames") == NULL)
        json_object_set_new(s, "propertyNames", json_pack("{s:s}", "pattern", FIELD_NAME_PATTERN));
    json_t *extra = json_object_get(s, "additionalProperties");
    if (object && (extra == NULL || json_is_true(extra)))
        json_object_set_new(s, "additionalProperties", ref("schemas", "Storable"));
    /* "items" absent accepts any item: the same, said the way OpenAPI linters ask */
    if (is_type(s, "array") && json_object_get(s, "items") == NULL)
        json_object_set_new(s, "items", ref("schemas", "Storable"));
}

/* Adapts a copy of a model's schema to its place in the document: "$ref"s made to point at the
 * components, and odmd's own rules added (add_stored_rules). */
static void adapt_schema(json_t *s, const char *name, const odm_models_t *models)
{
    if (json_is_array(s)) {
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v) adapt_schema(v, name, models);
        return;
    }
    if (!json_is_object(s))
        return;
    const char *key;
    json_t *v;
    json_object_foreach(s, key, v)
    {
        if (strcmp(key, "$ref") == 0 && json_is_string(v))
            adapt_ref(s, json_string_value(v), name, models);
        else if (strcmp(key, "properties") == 0 || strcmp(key, "patternProperties") == 0 ||
                 strcmp(key, "$defs") == 0 || strcmp(key, "dependentSchemas") == 0)
            adapt_members(v, name, models);
        else if (!holds_data(key) && strncmp(key, "x-", 2) != 0)
            adapt_schema(v, name, models);
    }
    add_stored_rules(s);
}

static json_t *model_schema(const odm_model_t *model, const odm_models_t *models)
{
    json_t *s = json_deep_copy(model->doc);
    json_object_del(s, "$schema");
    json_object_del(s, "$id");
    adapt_schema(s, model->name, models);
    return s;
}

/* The schemas of odmd's own answers (fixed: they do not depend on the models). */
static const char shared_schemas_json[] =
    "{\"Problem\": {\"type\": \"object\", \"required\": [\"type\", \"title\", \"status\"],"
    "  \"properties\": {\"type\": {\"type\": \"string\"}, \"title\": {\"type\": \"string\"},"
    "    \"status\": {\"type\": \"integer\"}, \"detail\": {\"type\": \"string\"},"
    "    \"errors\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/Violation\"}}}},"
    " \"Violation\": {\"type\": \"object\", \"properties\": {"
    "    \"instanceLocation\": {\"type\": \"string\"}, \"keywordLocation\": {\"type\": \"string\"},"
    "    \"absoluteKeywordLocation\": {\"type\": \"string\"}, \"error\": {\"type\": \"string\"}}},"
    " \"Health\": {\"type\": \"object\", \"properties\": {\"status\": {\"type\": \"string\"}}},"
    " \"BulkResults\": {\"type\": \"array\", \"items\": {\"type\": \"object\","
    "    \"required\": [\"status\"], \"properties\": {\"status\": {\"type\": \"integer\"},"
    "      \"_id\": {}, \"etag\": {\"type\": \"string\"}, \"detail\": {\"type\": \"string\"},"
    "      \"errors\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/Violation\"}}}}},"
    " \"BulkPatchResult\": {\"type\": \"object\", \"properties\": {"
    "    \"matched\": {\"type\": \"integer\"}, \"modified\": {\"type\": \"integer\"},"
    "    \"failed\": {\"type\": \"integer\"}, \"failures\": {\"type\": \"array\", \"items\": {"
    "      \"type\": \"object\", \"properties\": {\"_id\": {}, \"status\": {\"type\": \"integer\"},"
    "        \"detail\": {\"type\": \"string\"}, \"errors\": {\"type\": \"array\","
    "        \"items\": {\"$ref\": \"#/components/schemas/Violation\"}}}}}}},"
    " \"BulkDeleteResult\": {\"type\": \"object\", \"properties\": {"
    "    \"deleted\": {\"type\": \"integer\"}}},"
    " \"DataApiError\": {\"type\": \"object\", \"required\": [\"error\", \"error_code\","
    "    \"link\"], \"properties\": {\"error\": {\"type\": \"string\"},"
    "    \"error_code\": {\"type\": \"string\"}, \"link\": {\"type\": \"string\"},"
    "    \"errors\": {\"type\": \"array\", \"items\": {\"$ref\": "
    "\"#/components/schemas/Violation\"}}}}}";

static json_t *shared_schemas(void)
{
    return json_loads(shared_schemas_json, 0, NULL);
}

static json_t *headers_component(void)
{
    static const char *const rows[][2] = {
        {"ETag", "the document's version as an entity-tag (\"N\")"},
        {"Location", "the created document's path"},
        {"X-Total-Count", "the number of documents the filter matches (count=true)"},
        {"Link", "the next page: <...&after=TOKEN>; rel=\"next\" (RFC 8288)"},
        {"Retry-After", "seconds to wait before retrying"},
        {"Allow", "the methods the route allows"},
        {"Accept-Patch", "the media types PATCH reads"},
        {"Cache-Control", "no-cache: revalidate with the ETag"},
        {"Idempotency-Replayed", "true when the answer is the replay of a first request's"},
    };
    json_t *h = json_object();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        json_object_set_new(h, rows[i][0],
                            json_pack("{s:s, s:{s:s}}", "description", rows[i][1], "schema", "type",
                                      strcmp(rows[i][0], "X-Total-Count") == 0 ||
                                              strcmp(rows[i][0], "Retry-After") == 0
                                          ? "integer"
                                          : "string"));
    return h;
}

static json_t *parameters_component(void)
{
    return json_pack(
        "{s:o, s:o, s:o}", "If-Match",
        param("If-Match", "header", false, "entity-tags (or *) the document must match",
              string_schema()),
        "If-None-Match",
        param("If-None-Match", "header", false, "entity-tags (or *) the document must not match",
              string_schema()),
        "Idempotency-Key",
        param("Idempotency-Key", "header", false,
              "a quoted string or token of 1 to 255 printable characters: a retry with it gets "
              "the first answer",
              json_pack("{s:s, s:s}", "type", "string", "pattern", IDEMPOTENCY_KEY_PATTERN)));
}

/* ---- paths ---- */

/* Where each route kind is served; "%s" is the model's name. */
static const struct {
    const char *path;
    bool per_model;
} routes_at[] = {
    [API_HEALTHZ] = {"/healthz", false},
    [API_READYZ] = {"/readyz", false},
    [API_OPENAPI] = {"/openapi.json", false},
    [API_COLLECTION] = {"/api/%s", true},
    [API_DOCUMENT] = {"/api/%s/{id}", true},
    [API_DISTINCT] = {"/api/%s/_distinct/{field}", true},
    [API_RESTORE] = {"/api/%s/{id}/restore", true},
    [API_METRICS] = {"/metrics", false},
    [API_DATAAPI] = {"/data/v1/action/%s", false},
    [API_AGGREGATE] = {"/api/%s/_agg/%s", true},
};

static const char *const op_names[] = {
    [API_HEALTHZ] = "healthz", [API_READYZ] = "readyz",     [API_OPENAPI] = "openapi",
    [API_COLLECTION] = "list", [API_DOCUMENT] = "document", [API_DISTINCT] = "distinct",
    [API_RESTORE] = "restore", [API_METRICS] = "metrics",   [API_DATAAPI] = "dataapi",
    [API_AGGREGATE] = "agg",
};

static bool route_applies(api_route_kind_t kind, const odm_model_t *model)
{
    if (kind == API_AGGREGATE)
        return model->n_aggregations > 0;
    return kind != API_RESTORE || model->deleted_at != NULL;
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* The path's parameters, first in the operation's list. OPTIONS answers for the route whatever
 * the segment holds (it reads neither the id nor the database): any string. */
static void add_path_params(json_t *op, const api_doc_t *d)
{
    json_t *schema = NULL;
    const char *name = "id", *description = "the document's _id (percent-encoded)";
    if (d->kind == API_DOCUMENT || d->kind == API_RESTORE) {
        schema = id_schema(d->model);
    } else if (d->kind == API_DISTINCT) {
        json_t *names = json_array();
        add_fields(names, &d->model->root, "");
        schema = json_pack("{s:s, s:o}", "type", "string", "enum", names);
        name = "field";
        description = "a declared field (dotted path), not writeOnly";
    } else {
        return;
    }
    if (d->method == ODM_METHOD_OPTIONS) {
        json_decref(schema);
        schema = json_pack("{s:s, s:i}", "type", "string", "minLength", 1);
    }
    json_t *params = json_object_get(op, "parameters");
    if (params == NULL) {
        params = json_array();
        json_object_set_new(op, "parameters", params);
    }
    json_array_insert_new(params, 0, param(name, "path", true, description, schema));
}

static void add_operation(json_t *paths, api_doc_t *d, api_describe_fn describe)
{
    char path[256], method[16], id[192];
    const char *agg = d->kind == API_AGGREGATE ? d->aggregation->name : "";
    snprintf(path, sizeof path, routes_at[d->kind].path,
             d->model    ? d->model->name
             : d->action ? d->action->name
                         : "",
             agg);
    snprintf(method, sizeof method, "%s", d->method_name);
    lowercase(method);
    json_t *item = json_object_get(paths, path);
    if (item == NULL) {
        item = json_object();
        json_object_set_new(paths, path, item);
    }
    json_t *op = describe(d);
    add_path_params(op, d);
    if (d->method == ODM_METHOD_HEAD)
        strip_bodies(op);
    add_common(op, d);
    if (d->kind == API_DATAAPI)
        dataapi_error_shape(op);
    if (d->kind == API_AGGREGATE)
        snprintf(id, sizeof id, "%s_%s_agg_%s", method, d->model->name, agg);
    else if (d->action != NULL)
        snprintf(id, sizeof id, "%s_%s_%s", method, op_names[d->kind], d->action->name);
    else if (d->model != NULL)
        snprintf(id, sizeof id, "%s_%s_%s", method, d->model->name, op_names[d->kind]);
    else
        snprintf(id, sizeof id, "%s_%s", method, op_names[d->kind]);
    json_object_set_new(op, "operationId", json_string(id));
    json_object_set_new(item, method, op);
}

static void add_paths(json_t *paths, const odm_models_t *models, api_doc_t *d)
{
    api_describe_fn describe;
    for (size_t i = 0; api__route_row(i, &d->kind, &d->method, &d->method_name, &describe); i++) {
        if (describe == NULL || (size_t)d->kind >= sizeof routes_at / sizeof routes_at[0] ||
            routes_at[d->kind].path == NULL)
            continue;
        if (d->kind == API_DATAAPI) { /* one path per action */
            d->model = NULL;
            for (size_t a = 0; api__dataapi_action_row(a, &d->action); a++)
                add_operation(paths, d, describe);
            d->action = NULL;
            continue;
        }
        if (!routes_at[d->kind].per_model) {
            d->model = NULL;
            if (d->kind != API_METRICS || metrics_served(d))
                add_operation(paths, d, describe);
            continue;
        }
        for (size_t m = 0; m < models->n; m++) {
            d->model = models->items[m];
            if (!route_applies(d->kind, d->model))
                continue;
            size_t n = d->kind == API_AGGREGATE ? d->model->n_aggregations : 1;
            for (size_t a = 0; a < n; a++) {
                d->aggregation = d->kind == API_AGGREGATE ? &d->model->aggregations[a] : NULL;
                add_operation(paths, d, describe);
            }
        }
    }
}

static json_t *tags(const odm_models_t *models)
{
    json_t *t = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "service", "description",
                          "health, readiness and this document", "name", "dataapi", "description",
                          "the Atlas Data API's actions over the models (docs/dataapi.md)");
    for (size_t i = 0; i < models->n; i++) {
        const odm_model_t *m = models->items[i];
        const char *desc = json_string_value(json_object_get(m->doc, "description"));
        char buf[256];
        if (desc == NULL) {
            snprintf(buf, sizeof buf, "the model '%s' (collection '%s')", m->name, m->collection);
            desc = buf;
        }
        json_array_append_new(t, json_pack("{s:s, s:s}", "name", m->name, "description", desc));
    }
    return t;
}

json_t *odm_api_openapi(const odm_models_t *models, const odm_app_t *app)
{
    api_doc_t d = {.app = app,
                   .bulk_max = app && app->bulk_max ? app->bulk_max : ODM_API_BULK_MAX,
                   .models = models};
    json_t *schemas = shared_schemas();
    json_object_set_new(schemas, "Storable",
                        json_pack("{s:s, s:{s:s}, s:o, s:o}", "description",
                                  "any JSON value whose field names MongoDB stores and a dotted "
                                  "path names, at any depth",
                                  "propertyNames", "pattern", FIELD_NAME_PATTERN,
                                  "additionalProperties", ref("schemas", "Storable"), "items",
                                  ref("schemas", "Storable")));
    for (size_t i = 0; i < models->n; i++)
        json_object_set_new(schemas, models->items[i]->name,
                            model_schema(models->items[i], models));
    json_t *components = json_pack("{s:o, s:o, s:o}", "schemas", schemas, "headers",
                                   headers_component(), "parameters", parameters_component());
    if (d.app != NULL && d.app->rate_limit > 0) {
        json_t *h = json_object_get(components, "headers");
        json_object_set_new(h, "RateLimit",
                            json_pack("{s:s, s:{s:s}}", "description",
                                      "the client's bucket (draft-ietf-httpapi-ratelimit-headers)",
                                      "schema", "type", "string"));
        json_object_set_new(h, "RateLimit-Policy",
                            json_pack("{s:s, s:{s:s}}", "description", "the limit in force",
                                      "schema", "type", "string"));
    }
    if (security_in_force(&d))
        json_object_set_new(json_object_get(components, "headers"), "WWW-Authenticate",
                            json_pack("{s:s, s:{s:s}}", "description",
                                      "the authentication scheme (Bearer)", "schema", "type",
                                      "string"));
    if (security_in_force(&d))
        json_object_set_new(components, "securitySchemes",
                            json_pack("{s:{s:s, s:s, s:s}}", "bearer", "type", "http", "scheme",
                                      "bearer", "description",
                                      "Authorization: Bearer KEY (--keys, --api-key) or Bearer JWT "
                                      "(--jwt-secret, --jwt-public-key); scopes read:MODEL, "
                                      "write:MODEL, read:*, write:*, admin"));
    json_t *paths = json_object();
    add_paths(paths, models, &d);
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:o, s:o}", "openapi", "3.1.0",
                     "info", "title", "odmd", "version", ODMD_VERSION, "description",
                     "The REST API odmd serves for its models.", "servers", "url", "/", "tags",
                     tags(models), "paths", paths, "components", components);
}

/* GET and HEAD /openapi.json, answered on the polling thread. */
void api__openapi(api_call_t *call)
{
    json_t *doc = odm_api_openapi(call->models, call->app);
    if (doc == NULL) {
        api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
        return;
    }
    odm_request_reply_json(call->req, 200, doc);
    json_decref(doc);
}
