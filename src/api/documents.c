/* /api/NAME/ID: read, replace, merge-patch and delete one document, every write a
 * compare-and-set on the document's version. */
#include <string.h>

#include "api/internal.h"
#include "odmd/log.h"

/* {_id: ..., __v: version} (or __v absent for version 0: written by another tool). */
static void version_guard(const bson_t *id_filter, int64_t version, bson_t *out)
{
    bson_copy_to(id_filter, out);
    if (version > 0) {
        BSON_APPEND_INT64(out, ODM_VERSION_FIELD, version);
        return;
    }
    bson_t exists;
    BSON_APPEND_DOCUMENT_BEGIN(out, ODM_VERSION_FIELD, &exists);
    BSON_APPEND_BOOL(&exists, "$exists", false);
    bson_append_document_end(out, &exists);
}

static bool fail_kind(api_call_t *call, odm_error_kind_t kind, const char *msg)
{
    odm_error_t err;
    odm_error_set(&err, kind, "%s", msg);
    return api__fail(call, &err, NULL);
}

/* Reads the document by id into out (always initialised). Returns false after answering an
 * error or 404. */
static bool read_current(api_call_t *call, bson_t *out)
{
    odm_error_t err;
    bool found = false;
    bson_init(out);
    if (!odm_store_find_one(call->app->store, call->model->collection, &call->id_filter, NULL, out,
                            &found, odm_request_deadline_ms(call->req), &err)) {
        api__fail(call, &err, NULL);
        return false;
    }
    if (!found) {
        fail_kind(call, ODM_ERR_NOT_FOUND, "no such document");
        return false;
    }
    return true;
}

static bool parse_id(api_call_t *call)
{
    odm_error_t err;
    if (odm_codec_id_filter(call->model, call->id, strlen(call->id), &call->id_filter, &err))
        return true;
    odm_request_fail(call->req, &err, NULL);
    return false;
}

/* GET and HEAD */

static bool get_work(api_call_t *call)
{
    bson_t doc;
    if (!read_current(call, &doc)) {
        bson_destroy(&doc);
        return true;
    }
    int64_t version = odm_codec_version(&doc);
    if (api__if_none_match(odm_request_header(call->req, "If-None-Match"), version)) {
        char etag[32];
        api__etag(version, etag, sizeof etag);
        odm_request_add_header(call->req, "ETag", etag);
        odm_request_reply(call->req, 304, NULL, NULL, 0);
    } else {
        api__reply_document(call, 200, &doc);
    }
    bson_destroy(&doc);
    return true;
}

void api__get_document(api_call_t *call)
{
    if (!parse_id(call))
        return;
    call->work = get_work;
    api__submit(call);
}

/* Writes `doc` (the whole new document, JSON) guarded by `version`. Returns true when written;
 * *conflict tells a lost race (retry) from an answered failure. */
static bool write_guarded(api_call_t *call, json_t *doc, int64_t version, bool *conflict,
                          bson_t *written)
{
    *conflict = false;
    bson_init(written);
    if (!api__validate(call, doc))
        return false;
    json_t *errors = json_array();
    odm_error_t err;
    if (!odm_codec_to_bson(call->model, doc, written, errors, &err)) {
        api__fail(call, &err, errors);
        json_decref(errors);
        return false;
    }
    json_decref(errors);
    BSON_APPEND_INT64(written, ODM_VERSION_FIELD, version + 1);
    bson_t guard;
    version_guard(&call->id_filter, version, &guard);
    int64_t matched = 0;
    bool ok = odm_store_replace(call->app->store, call->model->collection, &guard, written, &matched,
                                odm_request_deadline_ms(call->req), &err);
    bson_destroy(&guard);
    if (!ok) {
        api__fail(call, &err, NULL);
        return false;
    }
    *conflict = matched == 0;
    return matched == 1;
}

/* The read-modify-write loop of PUT and PATCH: `build` makes the new document from the
 * stored one (or answers and returns NULL). */
typedef json_t *(*build_fn)(api_call_t *call, const bson_t *stored);

static bool update_loop(api_call_t *call, build_fn build)
{
    const char *if_match = odm_request_header(call->req, "If-Match");
    for (int attempt = 0; attempt < ODM_API_WRITE_RETRIES; attempt++) {
        bson_t stored;
        if (!read_current(call, &stored)) {
            bson_destroy(&stored);
            return true;
        }
        int64_t version = odm_codec_version(&stored);
        if (!api__if_match(if_match, true, version)) {
            bson_destroy(&stored);
            return fail_kind(call, ODM_ERR_PRECONDITION, "the document's ETag does not match");
        }
        json_t *doc = build(call, &stored);
        bson_destroy(&stored);
        if (doc == NULL)
            return true;
        bool conflict;
        bson_t written;
        bool ok = write_guarded(call, doc, version, &conflict, &written);
        json_decref(doc);
        if (ok)
            api__reply_document(call, 200, &written);
        bson_destroy(&written);
        if (!conflict)
            return true;
    }
    return fail_kind(call, ODM_ERR_CONFLICT, "too many concurrent writes to this document");
}

/* PUT: the client's fields, the stored _id and readOnly values, then defaults. */
static json_t *build_put(api_call_t *call, const bson_t *stored)
{
    json_t *doc = json_deep_copy(call->body);
    json_t *old = odm_codec_to_tree(call->model, stored);
    if (doc == NULL || old == NULL) {
        json_decref(doc);
        json_decref(old);
        fail_kind(call, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    json_t *id = json_object_get(old, "_id");
    if (id != NULL)
        json_object_set(doc, "_id", id);
    odm_model_keep_read_only(call->model, doc, old);
    odm_model_apply_defaults(call->model, doc);
    json_decref(old);
    return doc;
}

/* The client's readOnly fields are refused (422); on PUT an _id equal to the path's is fine. */
static bool refuse_read_only(api_call_t *call, bool skip_id)
{
    json_t *errors = json_array();
    bool ok = odm_model_check_read_only(call->model, call->body, skip_id, errors);
    if (!ok) {
        odm_error_t err;
        odm_error_set(&err, ODM_ERR_VALIDATION, "read-only fields cannot be written");
        odm_request_fail(call->req, &err, errors);
    }
    json_decref(errors);
    return ok;
}

/* A PUT body's _id, when present, must be the path's id. */
static bool same_id_as_path(api_call_t *call)
{
    json_t *id = json_object_get(call->body, "_id");
    if (id == NULL)
        return true;
    bson_t given;
    bson_init(&given);
    bool same = false;
    odm_error_t err;
    if (json_is_string(id))
        same = odm_codec_id_filter(call->model, json_string_value(id),
                                   json_string_length(id), &given, &err) &&
               bson_equal(&given, &call->id_filter);
    else if (json_is_integer(id) && call->model->id_kind == ODM_ID_INT) {
        char text[32];
        int n = snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        same = odm_codec_id_filter(call->model, text, (size_t)n, &given, &err) &&
               bson_equal(&given, &call->id_filter);
    }
    bson_destroy(&given);
    if (!same) {
        json_t *errors = json_pack("[{s:s, s:s, s:s}]", "instanceLocation", "/_id",
                                   "keywordLocation", "/properties/_id/readOnly", "error",
                                   "_id differs from the id in the path");
        odm_error_set(&err, ODM_ERR_VALIDATION, "_id differs from the id in the path");
        odm_request_fail(call->req, &err, errors);
        json_decref(errors);
    }
    return same;
}

static bool parse_document_body(api_call_t *call)
{
    odm_error_t err;
    call->body = api__parse_body(call->req, true, &err);
    if (call->body == NULL) {
        odm_request_fail(call->req, &err, NULL);
        return false;
    }
    return true;
}

/* The checks of a PUT body that need no database; false after answering. */
static bool prepare_put(api_call_t *call)
{
    if (!parse_document_body(call))
        return false;
    if (json_is_object(call->body))
        return refuse_read_only(call, true) && same_id_as_path(call);
    return api__validate(call, call->body);
}

static bool put_work(api_call_t *call)
{
    if (!call->body_ready && !prepare_put(call))
        return true;
    return update_loop(call, build_put);
}

/* Small bodies are checked here on the polling thread, large ones on the worker. */
static bool body_is_small(api_call_t *call)
{
    size_t len;
    odm_request_body(call->req, &len);
    return len <= call->app->inline_body_max;
}

void api__put_document(api_call_t *call)
{
    if (!parse_id(call))
        return;
    if (body_is_small(call)) {
        if (!prepare_put(call))
            return;
        call->body_ready = true;
    }
    call->work = put_work;
    api__submit(call);
}

/* PATCH: RFC 7396 merge of the body into the stored document. */
static json_t *build_patch(api_call_t *call, const bson_t *stored)
{
    json_t *old = odm_codec_to_tree(call->model, stored);
    json_t *doc = old ? api__merge_patch(old, call->body) : NULL;
    if (doc == NULL)
        fail_kind(call, ODM_ERR_INTERNAL, "out of memory");
    return doc;
}

static bool prepare_patch(api_call_t *call)
{
    if (!parse_document_body(call))
        return false;
    return !json_is_object(call->body) || refuse_read_only(call, false);
}

static bool patch_work(api_call_t *call)
{
    if (!call->body_ready && !prepare_patch(call))
        return true;
    return update_loop(call, build_patch);
}

void api__patch_document(api_call_t *call)
{
    if (!parse_id(call))
        return;
    if (body_is_small(call)) {
        if (!prepare_patch(call))
            return;
        call->body_ready = true;
    }
    call->work = patch_work;
    api__submit(call);
}

/* DELETE: without If-Match one atomic delete by id; with it, a compare-and-set. */
static bool delete_by(api_call_t *call, const bson_t *filter, int64_t *deleted)
{
    odm_error_t err;
    if (odm_store_delete(call->app->store, call->model->collection, filter, deleted,
                         odm_request_deadline_ms(call->req), &err))
        return true;
    api__fail(call, &err, NULL);
    return false;
}

static bool delete_work(api_call_t *call)
{
    const char *if_match = odm_request_header(call->req, "If-Match");
    int64_t deleted = 0;
    if (if_match == NULL) {
        if (!delete_by(call, &call->id_filter, &deleted))
            return true;
        if (deleted == 0)
            return fail_kind(call, ODM_ERR_NOT_FOUND, "no such document");
        odm_request_reply(call->req, 204, NULL, NULL, 0);
        return true;
    }
    for (int attempt = 0; attempt < ODM_API_WRITE_RETRIES; attempt++) {
        bson_t stored = BSON_INITIALIZER;
        odm_error_t err;
        bool found = false;
        bool ok = odm_store_find_one(call->app->store, call->model->collection, &call->id_filter,
                                     NULL, &stored, &found, odm_request_deadline_ms(call->req),
                                     &err);
        int64_t version = odm_codec_version(&stored);
        bson_destroy(&stored);
        if (!ok)
            return api__fail(call, &err, NULL);
        if (!api__if_match(if_match, found, version))
            return fail_kind(call, ODM_ERR_PRECONDITION, "the document's ETag does not match");
        bson_t guard;
        version_guard(&call->id_filter, version, &guard);
        ok = delete_by(call, &guard, &deleted);
        bson_destroy(&guard);
        if (!ok)
            return true;
        if (deleted == 1) {
            odm_request_reply(call->req, 204, NULL, NULL, 0);
            return true;
        }
    }
    return fail_kind(call, ODM_ERR_CONFLICT, "too many concurrent writes to this document");
}

void api__delete_document(api_call_t *call)
{
    if (!parse_id(call))
        return;
    call->work = delete_work;
    api__submit(call);
}
