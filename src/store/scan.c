/* Long reads: a find read to its end in batches (exports), and the distinct command. */
#include "store_int.h"

#include <string.h>

/* ---- scan ---- */

typedef struct {
    const odm_store_scan_t *q;
    odm_store_each_fn each;
    void *each_arg;
} scan_args_t;

static void scan_options(const odm_store_scan_t *q, bson_t *opts)
{
    if (q->sort != NULL)
        BSON_APPEND_DOCUMENT(opts, "sort", q->sort);
    if (q->projection != NULL)
        BSON_APPEND_DOCUMENT(opts, "projection", q->projection);
    if (q->skip > 0)
        BSON_APPEND_INT64(opts, "skip", q->skip);
    BSON_APPEND_INT32(opts, "batchSize", q->batch_size);
    /* for a cursor, maxTimeMS bounds the server's time over every batch together */
    BSON_APPEND_INT32(opts, "maxTimeMS", q->max_time_ms);
}

static bool scan_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                         bson_error_t *error, odm_error_t *err)
{
    const scan_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    scan_options(a->q, &opts);
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, a->q->filter, &opts, NULL);
    bool ok = store__drain(op, cursor, a->each, a->each_arg, reply, error, err);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    return ok;
}

bool odm_store_scan(odm_store_t *store, const char *collection, const odm_store_scan_t *q,
                    odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err)
{
    if (q->skip < 0 || q->batch_size < 1 || q->max_time_ms < 1)
        return odm_error_set(err, ODM_ERR_INTERNAL, "scan of '%s': bad skip, batch or time",
                             collection);
    scan_args_t a = {.q = q, .each = each, .each_arg = arg};
    store__op_t op = {.what = "scan of",
                      .collection = collection,
                      .read = true,
                      .attempt = scan_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* ---- distinct ---- */

typedef struct {
    const char *field;
    const bson_t *filter;
    bson_t *values;
} distinct_args_t;

static bool distinct_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                             bson_error_t *error, odm_error_t *err)
{
    distinct_args_t *a = op->arg;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&cmd, "distinct", op->collection);
    BSON_APPEND_UTF8(&cmd, "key", a->field);
    if (a->filter != NULL)
        BSON_APPEND_DOCUMENT(&cmd, "query", a->filter);
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts);
    mongoc_database_t *db = mongoc_client_get_database(client, op->store->db);
    bson_destroy(reply);
    bool ok = mongoc_database_read_command_with_opts(db, &cmd, NULL, &opts, reply, error);
    mongoc_database_destroy(db);
    bson_destroy(&opts);
    bson_destroy(&cmd);
    bson_iter_t it;
    if (!ok && error->domain == MONGOC_ERROR_SERVER &&
        (error->code == 17217 || error->code == 10334)) {
        error->domain = 0; /* distinct too big (16 MB cap), BSONObjectTooLarge: the caller's */
        return odm_error_set(err, ODM_ERR_TOO_LARGE,
                             "distinct values of '%s' past the "
                             "database's 16 MB limit",
                             a->field);
    }
    if (!ok)
        return false;
    if (!bson_iter_init_find(&it, reply, "values") || !BSON_ITER_HOLDS_ARRAY(&it)) {
        bson_set_error(error, MONGOC_ERROR_PROTOCOL, MONGOC_ERROR_PROTOCOL_INVALID_REPLY,
                       "distinct reply without values");
        return false;
    }
    uint32_t len;
    const uint8_t *data;
    bson_iter_array(&it, &len, &data);
    bson_t view;
    if (!bson_init_static(&view, data, len)) {
        bson_set_error(error, MONGOC_ERROR_BSON, MONGOC_ERROR_BSON_INVALID,
                       "distinct reply with malformed values");
        return false;
    }
    bson_destroy(a->values);
    bson_copy_to(&view, a->values); /* the reply is the runner's to destroy */
    return true;
}

bool odm_store_distinct(odm_store_t *store, const char *collection, const char *field,
                        const bson_t *filter, bson_t *values, int64_t deadline_ms, odm_error_t *err)
{
    bson_init(values);
    distinct_args_t a = {.field = field, .filter = filter, .values = values};
    store__op_t op = {.what = "distinct in",
                      .collection = collection,
                      .read = true,
                      .attempt = distinct_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}
