/* /api/NAME/ID: read, replace, merge-patch and delete one document, every write a
 * compare-and-set on the document's version. */
#include <stdio.h>
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

/* Reads the document by id into out (always initialised). Returns: true after answering an
 * error or 404. */
static bool refuse_missing(api_call_t *call, bson_t *out)
{
    odm_error_t err;
    bool found = false;
    bson_init(out);
    if (!odm_store_find_one(call->app->store, call->model->collection, &call->id_filter, NULL, out,
                            &found, odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    return !found && api__failf(call->req, ODM_ERR_NOT_FOUND, "no such document");
}

/* Which documents the route sees (x-softDelete): ?deleted= for reads, every one for a purge,
 * the soft-deleted for a restore, the live ones otherwise. Returns: true after answering 400. */
static bool refuse_bad_scope(api_call_t *call, api_scope_t *scope)
{
    *scope = API_SCOPE_LIVE;
    odm_method_t method = odm_request_method(call->req);
    if (call->route == API_RESTORE)
        *scope = API_SCOPE_DELETED;
    else if ((method & ODM_METHOD_DELETE) && api__purge_wanted(call))
        *scope = API_SCOPE_ALL;
    else if (method & (ODM_METHOD_GET | ODM_METHOD_HEAD))
        return api__refuse_deleted_param(call, scope);
    return false;
}

/* Parses the path's id into call->id_filter, narrowed to the documents the route sees.
 * Returns: true after answering 400. */
static bool refuse_bad_id(api_call_t *call)
{
    odm_error_t err;
    api_scope_t scope;
    if (!odm_codec_id_filter(call->model, call->id, strlen(call->id), &call->id_filter, &err))
        return api__fail(call->req, &err, NULL);
    if (refuse_bad_scope(call, &scope))
        return true;
    api__scope_filter(call->model, scope, &call->id_filter);
    api__owner_filter(call, call->model, &call->id_filter); /* another's document: 404 */
    return false;
}

/* If-Match, then If-None-Match, on the stored document (RFC 9110 13.2.2; a missing document was
 * answered 404 before). Returns: true after answering 412, or 304 for GET and HEAD. */
static bool refuse_preconditions(api_call_t *call, const bson_t *stored)
{
    odm_request_t *req = call->req;
    int64_t version = odm_codec_version(stored);
    if (!api__if_match(odm_request_header(req, "If-Match"), true, version))
        return api__failf(req, ODM_ERR_PRECONDITION, "the document's ETag does not match");
    if (!api__if_none_match(odm_request_header(req, "If-None-Match"), version))
        return false;
    if (odm_request_method(req) & (ODM_METHOD_GET | ODM_METHOD_HEAD))
        return api__reply_document(call, 304, stored);
    return api__failf(req, ODM_ERR_PRECONDITION, "the document matches If-None-Match");
}

/* Whether the request carries a precondition on the document. */
static bool has_preconditions(api_call_t *call)
{
    return odm_request_header(call->req, "If-Match") != NULL ||
           odm_request_header(call->req, "If-None-Match") != NULL;
}

/* Small bodies are checked on the polling thread, large ones on the worker. */
static bool body_is_small(api_call_t *call)
{
    size_t len;
    odm_request_body(call->req, &len);
    return len <= call->app->inline_body_max;
}

/* The request checks of a document route that need no database, then the hand-off to `work`.
 * `refuse_body` (may be NULL) checks the body when it is small; `work` checks it otherwise. */
static void submit(api_call_t *call, bool (*refuse_body)(api_call_t *call),
                   bool (*work)(api_call_t *call))
{
    if (refuse_bad_id(call) || api__refuse_unconditional(call))
        return;
    if (refuse_body != NULL && body_is_small(call)) {
        if (refuse_body(call))
            return;
        call->body_ready = true;
    }
    call->work = work;
    api__submit(call);
}

/* GET and HEAD */

bool api__answer_get(api_call_t *call, const bson_t *doc)
{
    if (doc == NULL)
        return api__failf(call->req, ODM_ERR_NOT_FOUND, "no such document");
    return refuse_preconditions(call, doc) || api__reply_document(call, 200, doc);
}

static bool get_work(api_call_t *call)
{
    if (call->coalesce && api__coalesce_get(call))
        return true;
    bson_t doc;
    bool answered = refuse_missing(call, &doc) ||
                    (call->expand != NULL ? api__expand_document(call, &doc)
                                          : refuse_preconditions(call, &doc) ||
                                                api__reply_document(call, 200, &doc));
    bson_destroy(&doc);
    return answered;
}

void api__get_document(api_call_t *call)
{
    const char *expand = odm_request_query(call->req, "expand");
    if (expand != NULL && api__refuse_expand(call, expand, NULL, NULL))
        return;
    call->coalesce = api__coalescible_get(call);
    submit(call, NULL, get_work);
}

/* The compare-and-set write path of PUT, PATCH and DELETE */

void api__write_init(api_write_t *w, const bson_t *id_filter)
{
    memset(w, 0, sizeof *w);
    w->id_filter = id_filter;
    bson_init(&w->written);
}

void api__write_release(api_write_t *w)
{
    api__verdict_release(&w->verdict);
    bson_destroy(&w->written);
}

/* Whether the build gives back the stored document (the version field aside). */
static bool same_document(api_call_t *call, const bson_t *stored, const json_t *doc)
{
    json_t *old = odm_codec_to_tree(call->model, stored);
    bool same = old != NULL && json_equal(old, (json_t *)doc);
    json_decref(old);
    return same;
}

/* Deletes the document if it is still at the version `guard` names. Returns: true when
 * decided (*status set), false when another write came first. */
static bool delete_once(api_call_t *call, api_write_t *w, const bson_t *guard,
                        api_write_status_t *status)
{
    int64_t deleted = 0;
    *status = API_WRITE_REFUSED;
    if (!odm_store_delete(call->app->store, call->model->collection, guard, &deleted,
                          odm_request_deadline_ms(call->req), &w->verdict.err))
        return true;
    *status = API_WRITE_DONE;
    return deleted == 1;
}

/* Builds the new document (its x-timestamps' updatedAt set to now unless it is the stored one
 * again), validates and converts it into w->written, and replaces the stored
 * one with it if that is still at the version `guard` names. Returns: true when decided
 * (*status set), false when another write came first. */
static bool replace_once(api_call_t *call, api_write_t *w, const bson_t *stored,
                         const bson_t *guard, api_write_status_t *status)
{
    *status = API_WRITE_REFUSED;
    json_t *doc = w->build(call, stored, &w->verdict.err);
    if (doc == NULL)
        return true;
    if (!api__owner_keep(call, stored, doc)) { /* x-owner: no write changes it */
        json_decref(doc);
        odm_error_set(&w->verdict.err, ODM_ERR_INTERNAL, "out of memory");
        return true;
    }
    if (w->skip_same && same_document(call, stored, doc)) {
        json_decref(doc);
        *status = API_WRITE_SAME;
        return true;
    }
    odm_model_stamp(call->model, doc, odm_model_wall_ms(), false);
    bson_reinit(&w->written);
    bool ok = api__check_valid(call->model, doc, &w->verdict) &&
              api__check_convertible(call->model, doc, odm_codec_version(stored) + 1, &w->written,
                                     &w->verdict);
    json_decref(doc);
    int64_t matched = 0;
    if (!ok || !odm_store_replace(call->app->store, call->model->collection, guard, &w->written,
                                  &matched, odm_request_deadline_ms(call->req), &w->verdict.err))
        return true;
    *status = API_WRITE_DONE;
    return matched == 1;
}

void api__snapshot_projection(bson_t *out)
{
    bson_init(out);
    BSON_APPEND_INT32(out, "_id.odmd-snapshot", 0);
}

/* Reads the document into out (always initialised): the one given for the first attempt, else
 * from the store. Returns: true when that decides the write (*status: gone or refused). */
static bool read_stored(api_call_t *call, api_write_t *w, int attempt, bson_t *out,
                        api_write_status_t *status)
{
    if (attempt == 0 && w->first != NULL) {
        bson_copy_to(w->first, out);
        return false;
    }
    bool found = false;
    bson_t snapshot;
    api__snapshot_projection(&snapshot);
    *status = API_WRITE_REFUSED;
    bool read =
        odm_store_find_one(call->app->store, call->model->collection, w->id_filter, &snapshot, out,
                           &found, odm_request_deadline_ms(call->req), &w->verdict.err);
    bson_destroy(&snapshot);
    if (!read)
        return true;
    *status = API_WRITE_GONE;
    return !found;
}

/* One attempt on the stored document. Returns: true when decided, false on a lost race. */
static bool write_once(api_call_t *call, api_write_t *w, const bson_t *stored,
                       api_write_status_t *status)
{
    if (w->check != NULL && !w->check(call, stored, &w->verdict.err)) {
        *status = API_WRITE_REFUSED;
        return true;
    }
    bson_t guard;
    version_guard(w->id_filter, odm_codec_version(stored), &guard);
    bool decided = w->build != NULL ? replace_once(call, w, stored, &guard, status)
                                    : delete_once(call, w, &guard, status);
    bson_destroy(&guard);
    return decided;
}

api_write_status_t api__write_guarded(api_call_t *call, api_write_t *w)
{
    for (int attempt = 0; attempt < ODM_API_WRITE_RETRIES; attempt++) {
        bson_t stored;
        api_write_status_t status;
        bool decided = read_stored(call, w, attempt, &stored, &status) ||
                       write_once(call, w, &stored, &status);
        bson_destroy(&stored);
        if (decided)
            return status;
    }
    odm_error_set(&w->verdict.err, ODM_ERR_CONFLICT, "too many concurrent writes to this document");
    return API_WRITE_REFUSED;
}

/* If-Match, then If-None-Match, for a write (RFC 9110 13.2.2): false with err set (412). */
static bool preconditions_hold(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    int64_t version = odm_codec_version(stored);
    if (!api__if_match(odm_request_header(call->req, "If-Match"), true, version))
        return odm_error_set(err, ODM_ERR_PRECONDITION, "the document's ETag does not match");
    if (api__if_none_match(odm_request_header(call->req, "If-None-Match"), version))
        return odm_error_set(err, ODM_ERR_PRECONDITION, "the document matches If-None-Match");
    return true;
}

/* Writes the path's document (replaces it with what `build` makes, or deletes it when `build`
 * is NULL) under the request's preconditions, and answers. Returns: true (answered). */
static bool write_loop(api_call_t *call, api_build_fn build)
{
    api_write_t w;
    api__write_init(&w, &call->id_filter);
    w.build = build;
    w.check = preconditions_hold;
    api_write_status_t status = api__write_guarded(call, &w);
    if (status == API_WRITE_GONE)
        api__failf(call->req, ODM_ERR_NOT_FOUND, "no such document");
    else if (status == API_WRITE_REFUSED)
        api__fail(call->req, &w.verdict.err, w.verdict.errors);
    else if (build == NULL)
        odm_request_reply(call->req, 204, NULL, NULL, 0);
    else
        api__reply_document(call, 200, &w.written);
    api__write_release(&w);
    return true;
}

json_t *api__build_replace(const odm_model_t *model, const json_t *body, const bson_t *stored,
                           odm_error_t *err)
{
    json_t *doc = json_deep_copy(body);
    json_t *old = odm_codec_to_tree(model, stored);
    if (doc == NULL || old == NULL) {
        json_decref(doc);
        json_decref(old);
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    json_t *id = json_object_get(old, "_id");
    if (id != NULL)
        json_object_set(doc, "_id", id);
    odm_model_keep_read_only(model, doc, old);
    odm_model_apply_defaults(model, doc);
    json_decref(old);
    return doc;
}

/* PUT: the client's fields, the stored _id and readOnly values, then defaults. */
static json_t *build_put(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    return api__build_replace(call->model, call->body, stored, err);
}

/* A PUT body's _id, when present, must be the path's id. Returns: true after answering 422. */
static bool refuse_other_id(api_call_t *call)
{
    json_t *id = json_object_get(call->body, "_id");
    if (id == NULL)
        return false;
    bson_t given;
    bson_init(&given);
    bool same = false;
    odm_error_t err;
    if (json_is_string(id))
        same = odm_codec_id_filter(call->model, json_string_value(id), json_string_length(id),
                                   &given, &err);
    else if (json_is_integer(id) && call->model->id_kind == ODM_ID_INT) {
        char text[32];
        int n = snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        same = odm_codec_id_filter(call->model, text, (size_t)n, &given, &err);
    }
    if (same) { /* the path's filter is scoped: scope the body's alike */
        api__scope_filter(call->model, API_SCOPE_LIVE, &given);
        api__owner_filter(call, call->model, &given);
        same = bson_equal(&given, &call->id_filter);
    }
    bson_destroy(&given);
    if (!same) {
        json_t *errors =
            json_pack("[{s:s, s:s, s:s}]", "instanceLocation", "/_id", "keywordLocation",
                      "/properties/_id/readOnly", "error", "_id differs from the id in the path");
        odm_error_set(&err, ODM_ERR_VALIDATION, "_id differs from the id in the path");
        api__fail(call->req, &err, errors);
        json_decref(errors);
    }
    return !same;
}

/* The checks of a PUT body that need no database. Returns: true after answering. */
static bool refuse_put_body(api_call_t *call)
{
    if (api__refuse_body(call, true))
        return true;
    if (json_is_object(call->body))
        return api__refuse_read_only(call, true) || refuse_other_id(call);
    return api__refuse_invalid(call, call->body);
}

static bool put_work(api_call_t *call)
{
    if (!call->body_ready && refuse_put_body(call))
        return true;
    return write_loop(call, build_put);
}

void api__put_document(api_call_t *call)
{
    submit(call, refuse_put_body, put_work);
}

/* PATCH: RFC 7396 merge of the body into the stored document. */
json_t *api__build_patch(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    json_t *old = odm_codec_to_tree(call->model, stored);
    json_t *doc = old ? api__merge_patch(old, call->body) : NULL;
    if (doc == NULL)
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    return doc;
}

bool api__refuse_patch_body(api_call_t *call)
{
    if (api__refuse_body(call, true))
        return true;
    return json_is_object(call->body) && api__refuse_read_only(call, false);
}

static bool patch_work(api_call_t *call)
{
    if (!call->body_ready && api__refuse_patch_body(call))
        return true;
    return write_loop(call, api__build_patch);
}

void api__patch_document(api_call_t *call)
{
    submit(call, api__refuse_patch_body, patch_work);
}

/* Deletes what `filter` matches. Returns: true after answering (204, or an error); false when
 * nothing matched. */
static bool delete_matching(api_call_t *call, const bson_t *filter)
{
    odm_error_t err;
    int64_t deleted = 0;
    if (!odm_store_delete(call->app->store, call->model->collection, filter, &deleted,
                          odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    if (deleted == 0)
        return false;
    odm_request_reply(call->req, 204, NULL, NULL, 0);
    return true;
}

/* DELETE: without preconditions one atomic delete by id; with them, the compare-and-set path.
 * On an x-softDelete model (without ?purge=true), deletedAt set through that path. */
static bool delete_work(api_call_t *call)
{
    if (!api__purge_wanted(call))
        return api__soft_write(call, false, has_preconditions(call) ? preconditions_hold : NULL);
    if (has_preconditions(call))
        return write_loop(call, NULL);
    return delete_matching(call, &call->id_filter) ||
           api__failf(call->req, ODM_ERR_NOT_FOUND, "no such document");
}

void api__delete_document(api_call_t *call)
{
    submit(call, NULL, delete_work);
}

/* POST /api/NAME/ID/restore: deletedAt removed, under the request's preconditions. */
static bool restore_work(api_call_t *call)
{
    return api__soft_write(call, true, preconditions_hold);
}

void api__restore_document(api_call_t *call)
{
    submit(call, NULL, restore_work);
}
