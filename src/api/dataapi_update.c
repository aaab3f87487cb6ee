/* The Data API's updateOne and updateMany: MongoDB update operators (odmd/codec_update.h)
 * applied by odmd to each matching document, every result checked as a PATCH's (readOnly values,
 * owner, schema, conversion) before any is written, then each written with PATCH's
 * compare-and-set; with upsert and no match, one document built from the filter's equalities
 * and the update, checked as a POST's and inserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dataapi.h"
#include "odmd/codec_update.h"

#define UPDATE_AT "/update" /* the update's place in the request body */

/* A refusal's violations: [{"instanceLocation": where, "error": message}], the message without
 * the "POINTER: " it starts with. Returns: a new array, NULL on out of memory. */
static json_t *violation(const odm_pointer_t *where, const odm_error_t *err)
{
    const char *reason = err->message;
    size_t n = strlen(where->buf);
    if (strncmp(reason, where->buf, n) == 0 && strncmp(reason + n, ": ", 2) == 0)
        reason += n + 2;
    return json_pack("[{s:s, s:s}]", "instanceLocation", where->buf, "error", reason);
}

/* Compiles the request's update. Returns: NULL with v filled (400 naming the pointer). */
static odm_update_t *compile(const api_call_t *call, api_verdict_t *v)
{
    odm_pointer_t where;
    const json_t *update = call->dataapi->update;
    if (update == NULL) {
        odm_error_set(&v->err, ODM_ERR_BAD_REQUEST, "'update' is required");
        return NULL;
    }
    odm_update_t *u = odm_codec_update_compile(call->model, update, UPDATE_AT, &where, &v->err);
    if (u == NULL && v->err.kind == ODM_ERR_BAD_REQUEST)
        v->errors = violation(&where, &v->err);
    return u;
}

/* Answers a verdict. Returns: true. */
static bool fail_verdict(api_call_t *call, api_verdict_t *v)
{
    api__fail(call->req, &v->err, v->errors);
    api__verdict_release(v);
    return true;
}

bool api__dataapi_check_update(api_call_t *call)
{
    api_verdict_t v = {0};
    odm_update_t *u = compile(call, &v);
    if (u == NULL)
        return fail_verdict(call, &v);
    odm_codec_update_free(u);
    return false;
}

/* ---- the updated document ---- */

/* The tree `stored` becomes under `u`, its readOnly values unchanged. Returns: a new tree, or
 * NULL with v filled. */
static json_t *updated(const api_call_t *call, const odm_update_t *u, const bson_t *stored,
                       api_verdict_t *v)
{
    odm_pointer_t where;
    json_t *old = odm_codec_to_tree(call->model, stored);
    json_t *doc = old ? json_deep_copy(old) : NULL;
    json_t *errors = json_array();
    bool ok = doc != NULL && errors != NULL;
    if (!ok)
        odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
    else if (!odm_codec_update_apply(u, doc, false, odm_model_wall_ms(), &where, &v->err)) {
        ok = false;
        if (v->err.kind == ODM_ERR_BAD_REQUEST)
            v->errors = violation(&where, &v->err);
    } else if (!odm_codec_update_check_read_only(call->model, old, doc, errors)) {
        ok = false;
        odm_error_set(&v->err, ODM_ERR_VALIDATION, "the update changes read-only fields");
        v->errors = json_incref(errors);
    }
    json_decref(errors);
    json_decref(old);
    if (!ok) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* An api_build_fn: the update applied to the stored document (compiled again: the write may
 * run on a document other than the one checked, after a lost race). */
static json_t *build_updated(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    api_verdict_t v = {0};
    odm_update_t *u = compile(call, &v);
    json_t *doc = u ? updated(call, u, stored, &v) : NULL;
    if (doc == NULL)
        *err = v.err;
    api__verdict_release(&v);
    odm_codec_update_free(u);
    return doc;
}

/* The _id of a stored document as a message shows it. */
static const char *id_text(const api_call_t *call, const bson_t *doc, char *out, size_t size)
{
    bson_iter_t it;
    odm_buf_t b;
    odm_error_t err;
    odm_buf_init(&b, 128);
    bool ok = bson_iter_init_find(&it, doc, "_id") &&
              odm_codec_write_value(odm_field_child(&call->model->root, "_id", 3), &it, &b, &err);
    snprintf(out, size, "%s", ok && b.len < size ? odm_buf_cstr(&b) : "(a long _id)"); /* uncut */
    odm_buf_release(&b);
    return out;
}

/* Checks what the update makes of `stored` as the write will (api__write_guarded's build,
 * owner kept, updatedAt stamped, validated, converted), writing nothing. Returns: false with v
 * filled, its message naming the document. */
static bool check_one(api_call_t *call, const odm_update_t *u, const bson_t *stored,
                      api_verdict_t *v)
{
    json_t *doc = updated(call, u, stored, v);
    bson_t out = BSON_INITIALIZER;
    bool ok = doc != NULL;
    if (ok && !api__owner_keep(call, stored, doc))
        ok = odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
    if (ok) {
        odm_model_stamp(call->model, doc, odm_model_wall_ms(), false);
        ok = api__check_valid(call->model, doc, v) &&
             api__check_convertible(call->model, doc, odm_codec_version(stored) + 1, &out, v);
    }
    if (!ok && v->err.kind != ODM_ERR_INTERNAL) {
        char id[96];
        odm_error_prefix(&v->err, "document %s", id_text(call, stored, id, sizeof id));
    }
    bson_destroy(&out);
    json_decref(doc);
    return ok;
}

/* ---- reading and writing the matches ---- */

/* Reads up to `max` matching documents (one more for updateMany, to tell that more match).
 * Returns: false with err set (400 when more than `max` match). */
static bool read_matches(api_call_t *call, size_t max, bool many, api_matches_t *m,
                         odm_error_t *err)
{
    if (!api__read_matches(call, &call->dataapi->filter_bson, many ? max + 1 : 1, m, err))
        return false;
    if (many && m->n > max)
        return odm_error_set(err, ODM_ERR_BAD_QUERY,
                             "more than %zu documents match the filter: narrow it (updateMany "
                             "writes at most %zu)",
                             max, max);
    return true;
}

/* {$and: [filter, {_id: the document's}]}: a document changed meanwhile so that it no longer
 * matches the request's filter is not written. */
static void guard_filter(const api_call_t *call, const bson_t *doc, bson_t *out)
{
    bson_t and, one;
    bson_iter_t it;
    bson_init(out);
    BSON_APPEND_ARRAY_BEGIN(out, "$and", &and);
    BSON_APPEND_DOCUMENT(&and, "0", &call->dataapi->filter_bson);
    BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &one);
    if (bson_iter_init_find(&it, doc, "_id"))
        bson_append_iter(&one, "_id", 3, &it);
    bson_append_document_end(&and, &one);
    bson_append_array_end(out, &and);
}

/* Writes the update to one matched document with the compare-and-set of a PATCH. An update
 * that leaves the document as it was writes nothing, unless it writes a writeOnly field (whose
 * value the count of modified documents would otherwise betray). Returns: its status;
 * API_WRITE_REFUSED with v filled. */
static api_write_status_t write_one(api_call_t *call, const odm_update_t *u, const bson_t *doc,
                                    api_verdict_t *v)
{
    bson_t guard;
    api_write_t w;
    guard_filter(call, doc, &guard);
    api__write_init(&w, &guard);
    w.build = build_updated;
    w.skip_same = !odm_codec_update_writes_write_only(u);
    w.first = doc;
    api_write_status_t status = api__write_guarded(call, &w);
    if (status == API_WRITE_REFUSED) {
        v->err = w.verdict.err;
        v->errors = json_incref(w.verdict.errors);
    }
    api__write_release(&w);
    bson_destroy(&guard);
    return status;
}

/* Writes every match (all checked) and answers the counts; a refusal (a database failure, or a
 * document a concurrent write changed so that the update no longer fits it) stops the writes
 * and is answered, saying how many were written. Returns: true (answered). */
static bool write_matches(api_call_t *call, const odm_update_t *u, api_matches_t *m)
{
    int64_t matched = (int64_t)m->n, modified = 0;
    for (size_t i = 0; i < m->n; i++) {
        api_verdict_t v = {0};
        api_write_status_t status = write_one(call, u, &m->docs[i], &v);
        if (status == API_WRITE_DONE)
            modified++;
        else if (status == API_WRITE_GONE)
            matched--; /* deleted, or no longer matching, since it was read */
        else if (status == API_WRITE_REFUSED) {
            if (modified > 0)
                odm_error_prefix(&v.err, "%lld of %zu documents were updated before one failed",
                                 (long long)modified, m->n);
            return fail_verdict(call, &v);
        }
    }
    return api__dataapi_reply_counts(call, matched, modified, NULL);
}

/* ---- upsert ---- */

static bool add_equalities(const json_t *filter, json_t *eq, int depth, odm_error_t *err);

/* The equalities of one filter member (`key`: `v`) into eq: {f: v}, {f: {$eq: v}}, and those of
 * each member of $and. A field named twice is refused, as MongoDB refuses it (which value would
 * the document get?). Returns: false with err set. */
static bool add_equality(const char *key, const json_t *v, json_t *eq, int depth, odm_error_t *err)
{
    if (strcmp(key, "$and") == 0) {
        size_t i;
        const json_t *q;
        json_array_foreach(v, i, q)
        {
            if (!add_equalities(q, eq, depth + 1, err))
                return false;
        }
        return true;
    }
    if (key[0] == '$')
        return true;
    const json_t *want = v;
    if (json_is_object(v)) {
        const char *first = json_object_iter_key(json_object_iter((json_t *)v));
        if (first != NULL && first[0] == '$')
            want = json_object_get(v, "$eq"); /* other operators say no value */
    }
    if (want == NULL)
        return true;
    if (json_object_get(eq, key) != NULL)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "cannot infer the upserted document's fields: the filter matches "
                             "'%.200s' twice",
                             key);
    return json_object_set(eq, key, (json_t *)want) == 0 ||
           odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
}

static bool add_equalities(const json_t *filter, json_t *eq, int depth, odm_error_t *err)
{
    const char *key;
    const json_t *v;
    if (!json_is_object(filter) || depth > ODM_JSON_MAX_DEPTH)
        return true;
    json_object_foreach((json_t *)filter, key, v)
    {
        if (!add_equality(key, v, eq, depth, err))
            return false;
    }
    return true;
}

/* Sets the filter's equalities in `doc`, as $setOnInsert would. Returns: false with v's err set
 * and `where` naming the filter (a field matched twice, or on overlapping paths). */
static bool seed_equalities(const api_call_t *call, json_t *doc, api_verdict_t *v,
                            odm_pointer_t *where)
{
    json_t *eq = json_object();
    json_t *set = eq ? json_pack("{s:O}", "$setOnInsert", eq) : NULL;
    odm_update_t *seed = NULL;
    bool ok = set != NULL || odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
    ok = ok && add_equalities(call->dataapi->filter, eq, 0, &v->err);
    if (ok && json_object_size(eq) > 0) {
        seed = odm_codec_update_compile(call->model, set, NULL, where, &v->err);
        ok = seed != NULL && odm_codec_update_apply(seed, doc, true, 0, where, &v->err);
        if (!ok && v->err.kind == ODM_ERR_BAD_REQUEST) { /* "POINTER: reason": the reason */
            const char *reason = strstr(v->err.message, ": ");
            char told[ODM_ERROR_MSG_MAX];
            snprintf(told, sizeof told, "%s", reason ? reason + 2 : v->err.message);
            odm_error_set(&v->err, ODM_ERR_BAD_REQUEST,
                          "the filter's equalities make no document: %s", told);
        }
    }
    if (!ok) {
        odm_pointer_init(where);
        odm_pointer_push(where, "filter", 6);
    }
    odm_codec_update_free(seed);
    json_decref(set);
    json_decref(eq);
    return ok;
}

/* The upserted document before odmd's own fields: the filter's equalities, then the update
 * (with $setOnInsert) applied to them, as MongoDB builds it. Returns: a new tree, or NULL with
 * v filled. */
static json_t *upsert_seed(const api_call_t *call, const odm_update_t *u, api_verdict_t *v)
{
    odm_pointer_t where;
    json_t *doc = json_object();
    bool ok = doc != NULL || odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
    ok = ok && seed_equalities(call, doc, v, &where) &&
         odm_codec_update_apply(u, doc, true, odm_model_wall_ms(), &where, &v->err);
    if (!ok && v->err.kind == ODM_ERR_BAD_REQUEST)
        v->errors = violation(&where, &v->err);
    if (!ok) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

bool api__dataapi_filter_id(const api_call_t *call, json_t **id, odm_error_t *err)
{
    json_t *eq = json_object();
    *id = NULL;
    if (eq == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    bool ok = add_equalities(call->dataapi->filter, eq, 0, err);
    if (ok)
        *id = json_incref(json_object_get(eq, "_id"));
    json_decref(eq);
    return ok;
}

/* Points the violations at the document's _id (or inside it) into the filter, where that _id
 * was written. */
static void point_id_at_filter(json_t *errors)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *at = json_string_value(json_object_get(e, "instanceLocation"));
        if (at == NULL || strncmp(at, "/_id", 4) != 0 || (at[4] != '\0' && at[4] != '/'))
            continue;
        char moved[1024];
        snprintf(moved, sizeof moved, "/filter%s", at);
        json_object_set_new(e, "instanceLocation", json_string(moved));
    }
}

bool api__dataapi_check_upserted(api_call_t *call, json_t *doc, bool id_from_filter, bson_t *out,
                                 api_verdict_t *v)
{
    if (!api__check_read_only(call->model, doc, true, v)) {
        json_decref(doc);
        return false;
    }
    doc = api__build_create(call->model, doc);
    if (doc == NULL || !api__owner_stamp(call, doc)) {
        json_decref(doc);
        return odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
    }
    bool has_id = json_object_get(doc, "_id") != NULL;
    bool ok = api__check_valid(call->model, doc, v) &&
              (has_id || odm_codec_new_id(call->model, doc, NULL, &v->err)) &&
              api__check_convertible(call->model, doc, odm_codec_first_version(), out, v);
    json_decref(doc);
    if (!ok && id_from_filter)
        point_id_at_filter(v->errors);
    return ok;
}

/* Checks and converts the upserted document as a POST's (its _id may come from the filter or
 * $setOnInsert, as MongoDB's upsert takes it) into out. Returns: false with v filled. */
static bool check_upsert(api_call_t *call, const odm_update_t *u, bson_t *out, api_verdict_t *v)
{
    json_t *doc = upsert_seed(call, u, v);
    if (doc == NULL)
        return false;
    json_t *filter_id = NULL;
    odm_error_t err;
    bool from_filter = api__dataapi_filter_id(call, &filter_id, &err) && filter_id != NULL;
    json_decref(filter_id);
    return api__dataapi_check_upserted(call, doc, from_filter, out, v);
}

/* No document matched and upsert is true: inserts the built document and answers its id.
 * Returns: true (answered). */
static bool upsert(api_call_t *call, const odm_update_t *u)
{
    api_verdict_t v = {0};
    bson_t doc = BSON_INITIALIZER;
    bool ok = check_upsert(call, u, &doc, &v) &&
              odm_store_insert(call->app->store, call->model->collection, &doc,
                               odm_request_deadline_ms(call->req), &v.err);
    bool answered = ok ? api__dataapi_reply_counts(call, 0, 0, &doc) : fail_verdict(call, &v);
    api__verdict_release(&v);
    bson_destroy(&doc);
    return answered;
}

/* ---- the actions ---- */

/* updateOne (`many` false) and updateMany: read the matches, check every result, then write
 * them (or upsert when none matched). Returns: true (answered). */
static bool update_work(api_call_t *call, bool many)
{
    api_verdict_t v = {0};
    odm_update_t *u = compile(call, &v);
    if (u == NULL)
        return fail_verdict(call, &v);
    api_matches_t m = {0};
    bool answered = false;
    if (!read_matches(call, api__bulk_max(call), many, &m, &v.err))
        answered = fail_verdict(call, &v);
    else if (m.n == 0)
        answered =
            call->dataapi->upsert ? upsert(call, u) : api__dataapi_reply_counts(call, 0, 0, NULL);
    for (size_t i = 0; !answered && i < m.n; i++)
        if (!check_one(call, u, &m.docs[i], &v))
            answered = fail_verdict(call, &v);
    if (!answered)
        answered = write_matches(call, u, &m);
    api__matches_release(&m);
    odm_codec_update_free(u);
    return answered;
}

bool api__dataapi_update_one(api_call_t *call)
{
    return update_work(call, false);
}

bool api__dataapi_update_many(api_call_t *call)
{
    return update_work(call, true);
}
