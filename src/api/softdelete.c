/* x-softDelete in the API: which documents a request sees (live ones unless ?deleted= says
 * otherwise), DELETE as a stamp of deletedAt, ?purge=true, and POST /api/NAME/ID/restore. */
#include <string.h>

#include "api/internal.h"

bool api__refuse_deleted_param(api_call_t *call, api_scope_t *scope)
{
    *scope = API_SCOPE_LIVE;
    const char *v = odm_request_query(call->req, "deleted");
    if (v == NULL)
        return false;
    if (call->model->deleted_at == NULL)
        return api__failf(call->req, ODM_ERR_BAD_QUERY,
                          "model '%s' has no x-softDelete: deleted= does not apply",
                          call->model->name);
    if (strcmp(v, "include") == 0)
        *scope = API_SCOPE_ALL;
    else if (strcmp(v, "only") == 0)
        *scope = API_SCOPE_DELETED;
    else
        return api__failf(call->req, ODM_ERR_BAD_QUERY, "deleted must be include or only, not '%s'",
                          v);
    return false;
}

/* {deletedAt: null} (live: absent or null) or {deletedAt: {$ne: null}} (soft-deleted). */
static void append_condition(const char *field, api_scope_t scope, bson_t *out)
{
    if (scope == API_SCOPE_LIVE) {
        BSON_APPEND_NULL(out, field);
        return;
    }
    bson_t ne;
    BSON_APPEND_DOCUMENT_BEGIN(out, field, &ne);
    BSON_APPEND_NULL(&ne, "$ne");
    bson_append_document_end(out, &ne);
}

void api__scope_filter(const odm_model_t *model, api_scope_t scope, bson_t *filter)
{
    if (model->deleted_at == NULL || scope == API_SCOPE_ALL)
        return;
    if (!bson_has_field(filter, model->deleted_at)) {
        append_condition(model->deleted_at, scope, filter);
        return;
    }
    bson_t scoped = BSON_INITIALIZER, and, cond;
    BSON_APPEND_ARRAY_BEGIN(&scoped, "$and", &and);
    BSON_APPEND_DOCUMENT(&and, "0", filter);
    BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &cond);
    append_condition(model->deleted_at, scope, &cond);
    bson_append_document_end(&and, &cond);
    bson_append_array_end(&scoped, &and);
    bson_reinit(filter);
    bson_concat(filter, &scoped);
    bson_destroy(&scoped);
}

bool api__purge_wanted(const api_call_t *call)
{
    const char *v = odm_request_query(call->req, "purge");
    return call->model->deleted_at == NULL || (v != NULL && strcmp(v, "true") == 0);
}

/* The stored document with deletedAt set to now (an api_build_fn). */
static json_t *build_deleted(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    json_t *doc = odm_codec_to_tree(call->model, stored);
    json_t *now = odm_model_date(odm_model_wall_ms());
    if (doc == NULL || now == NULL || json_object_set_new(doc, call->model->deleted_at, now) != 0) {
        json_decref(doc);
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return doc;
}

/* The stored document without deletedAt (an api_build_fn). */
static json_t *build_restored(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    json_t *doc = odm_codec_to_tree(call->model, stored);
    if (doc == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    json_object_del(doc, call->model->deleted_at);
    return doc;
}

bool api__soft_write(api_call_t *call, bool restore,
                     bool (*check)(api_call_t *call, const bson_t *stored, odm_error_t *err))
{
    api_write_t w;
    api__write_init(&w, &call->id_filter);
    w.build = restore ? build_restored : build_deleted;
    w.check = check;
    api_write_status_t status = api__write_guarded(call, &w);
    if (status == API_WRITE_GONE)
        api__failf(call->req, ODM_ERR_NOT_FOUND,
                   restore ? "no such soft-deleted document" : "no such document");
    else if (status == API_WRITE_REFUSED)
        api__fail(call->req, &w.verdict.err, w.verdict.errors);
    else if (restore)
        api__reply_document(call, 200, &w.written);
    else
        odm_request_reply(call->req, 204, NULL, NULL, 0);
    api__write_release(&w);
    return true;
}

bool api__soft_delete_many(api_call_t *call, int64_t *deleted, odm_error_t *err)
{
    bson_t update = BSON_INITIALIZER, set, inc;
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    int64_t now = odm_model_wall_ms();
    BSON_APPEND_DATE_TIME(&set, call->model->deleted_at, now);
    if (call->model->updated_at != NULL) /* x-timestamps: a write like any other */
        BSON_APPEND_DATE_TIME(&set, call->model->updated_at, now);
    bson_append_document_end(&update, &set);
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$inc", &inc); /* a new version: ETags change */
    BSON_APPEND_INT64(&inc, ODM_VERSION_FIELD, 1);
    bson_append_document_end(&update, &inc);
    bool ok = odm_store_update_many(call->app->store, call->model->collection, &call->filter,
                                    &update, deleted, odm_request_deadline_ms(call->req), err);
    bson_destroy(&update);
    return ok;
}
