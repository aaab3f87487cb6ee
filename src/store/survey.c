/* The store's reads for surveying a collection as it stands: aggregation pipelines (a sample
 * of documents, groups of duplicate values) and the indexes a collection holds. */
#include "store_int.h"

#include <string.h>

#include "odmd/log.h"

#define NAMESPACE_NOT_FOUND 26 /* listIndexes on a collection that does not exist */

typedef struct {
    const bson_t *pipeline;
    odm_store_each_fn each;
    void *arg;
    bool refused; /* the server answered the command with an error */
} cursor_args_t;

static bool aggregate_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                              bson_error_t *error, odm_error_t *err)
{
    cursor_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts);
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    mongoc_cursor_t *cursor =
        mongoc_collection_aggregate(coll, MONGOC_QUERY_NONE, a->pipeline, &opts, NULL);
    bool ok = store__drain(op, cursor, a->each, a->arg, reply, error, err);
    a->refused =
        !ok && (error->domain == MONGOC_ERROR_SERVER || error->domain == MONGOC_ERROR_QUERY);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    return ok;
}

bool odm_store_aggregate_client(odm_store_t *store, const char *collection, const bson_t *pipeline,
                                odm_store_each_fn each, void *arg, int64_t deadline_ms,
                                odm_error_t *err)
{
    cursor_args_t a = {.pipeline = pipeline, .each = each, .arg = arg};
    store__op_t op = {.what = "aggregate in",
                      .collection = collection,
                      .read = true,
                      .attempt = aggregate_attempt,
                      .arg = &a};
    bool ok = store__run(store, &op, deadline_ms, err);
    if (!ok && a.refused && err->kind == ODM_ERR_INTERNAL)
        err->kind = ODM_ERR_BAD_QUERY; /* the pipeline's fault, in the server's words */
    return ok;
}

bool odm_store_aggregate(odm_store_t *store, const char *collection, const bson_t *pipeline,
                         odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err)
{
    cursor_args_t a = {.pipeline = pipeline, .each = each, .arg = arg};
    store__op_t op = {.what = "aggregate in",
                      .collection = collection,
                      .read = true,
                      .attempt = aggregate_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

bool odm_store_sample(odm_store_t *store, const char *collection, int64_t n, odm_store_each_fn each,
                      void *arg, bool *random, int64_t deadline_ms, odm_error_t *err)
{
    *random = false;
    bson_t pipeline = BSON_INITIALIZER, stage, sample;
    BSON_APPEND_DOCUMENT_BEGIN(&pipeline, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$sample", &sample);
    BSON_APPEND_INT64(&sample, "size", n);
    bson_append_document_end(&stage, &sample);
    bson_append_document_end(&pipeline, &stage);
    cursor_args_t a = {.pipeline = &pipeline, .each = each, .arg = arg};
    store__op_t op = {.what = "sample",
                      .collection = collection,
                      .read = true,
                      .attempt = aggregate_attempt,
                      .arg = &a};
    bool ok = store__run(store, &op, deadline_ms, err);
    bson_destroy(&pipeline);
    if (ok) {
        *random = true;
        return true;
    }
    /* A server without $sample refuses the stage before any document: read the first n. */
    if (op.progressed || err->kind != ODM_ERR_INTERNAL)
        return false;
    odm_debug("$sample refused in '%s' (%s): reading the first %lld documents", collection,
              err->message, (long long)n);
    bson_t filter = BSON_INITIALIZER;
    ok = odm_store_find(store, collection, &filter, NULL, NULL, 0, n, each, arg, deadline_ms, err);
    bson_destroy(&filter);
    return ok;
}

static bool indexes_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                            bson_error_t *error, odm_error_t *err)
{
    const cursor_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts);
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(coll, &opts);
    bool ok = store__drain(op, cursor, a->each, a->arg, reply, error, err);
    if (!ok && error->domain == MONGOC_ERROR_SERVER && error->code == NAMESPACE_NOT_FOUND) {
        memset(error, 0, sizeof *error); /* no collection yet: no indexes */
        ok = true;
    }
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    return ok;
}

bool odm_store_list_indexes(odm_store_t *store, const char *collection, odm_store_each_fn each,
                            void *arg, int64_t deadline_ms, odm_error_t *err)
{
    cursor_args_t a = {.each = each, .arg = arg};
    store__op_t op = {.what = "list indexes of",
                      .collection = collection,
                      .read = true,
                      .attempt = indexes_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}
