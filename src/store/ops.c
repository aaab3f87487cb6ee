/* The store's operations: each builds its driver options (maxTimeMS where the driver sends it
 * with the command) and runs one attempt on a pooled client through store__run. */
#include "store_int.h"

#include <string.h>

/* ---- find and find_one ---- */

typedef struct {
    const bson_t *filter, *sort, *projection;
    int64_t skip, limit;
    odm_store_each_fn each;
    void *each_arg;
} find_args_t;

bool store__drain(store__op_t *op, mongoc_cursor_t *cursor, odm_store_each_fn each, void *arg,
                  bson_t *reply, bson_error_t *error, odm_error_t *err)
{
    bool ok = true;
    const bson_t *doc;
    while (mongoc_cursor_next(cursor, &doc)) {
        op->progressed = true;
        if (!each(doc, arg, err)) {
            ok = false; /* error->domain stays 0: the callback's verdict stands */
            break;
        }
    }
    const bson_t *error_doc = NULL;
    if (ok && mongoc_cursor_error_document(cursor, error, &error_doc)) {
        ok = false;
        if (error_doc != NULL) {
            bson_destroy(reply);
            bson_copy_to(error_doc, reply);
        }
    }
    mongoc_cursor_destroy(cursor); /* kills the server's cursor when the callback stopped early */
    return ok;
}

/* limit as batchSize makes a page one round trip (a getMore would be a second socket wait
 * the budget does not count), unless the page passes the server's 16 MB batch size. A limit of
 * 1 needs no batchSize: the server closes a cursor once its limit is reached, so the first
 * batch is the last (and the command is shorter for the driver to build and the server to
 * parse, on the hottest path, GET by id). */
static void find_options(const odm_store_t *store, const find_args_t *a, bson_t *opts)
{
    if (a->sort != NULL)
        BSON_APPEND_DOCUMENT(opts, "sort", a->sort);
    if (a->projection != NULL)
        BSON_APPEND_DOCUMENT(opts, "projection", a->projection);
    if (a->skip > 0)
        BSON_APPEND_INT64(opts, "skip", a->skip);
    if (a->limit > 0) {
        BSON_APPEND_INT64(opts, "limit", a->limit);
        if (a->limit > 1 && a->limit <= INT32_MAX)
            BSON_APPEND_INT32(opts, "batchSize", (int32_t)a->limit);
    }
    store__append_max_time(store, opts);
}

static bool find_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                         bson_error_t *error, odm_error_t *err)
{
    const find_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    find_options(op->store, a, &opts);
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, a->filter, &opts, NULL);
    bool ok = store__drain(op, cursor, a->each, a->each_arg, reply, error, err);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    return ok;
}

static bool run_find(odm_store_t *store, const char *collection, find_args_t *a,
                     int64_t deadline_ms, odm_error_t *err)
{
    if (a->skip < 0 || a->limit < 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "find in '%s': negative skip or limit",
                             collection);
    store__op_t op = {.what = "find in",
                      .collection = collection,
                      .read = true,
                      .attempt = find_attempt,
                      .arg = a};
    return store__run(store, &op, deadline_ms, err);
}

bool odm_store_find(odm_store_t *store, const char *collection, const bson_t *filter,
                    const bson_t *sort, const bson_t *projection, int64_t skip, int64_t limit,
                    odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err)
{
    find_args_t a = {.filter = filter,
                     .sort = sort,
                     .projection = projection,
                     .skip = skip,
                     .limit = limit,
                     .each = each,
                     .each_arg = arg};
    return run_find(store, collection, &a, deadline_ms, err);
}

typedef struct {
    bson_t *out;
    bool *found;
} find_one_state_t;

static bool keep_first(const bson_t *doc, void *arg, odm_error_t *err)
{
    find_one_state_t *st = arg;
    bson_destroy(st->out);
    bson_copy_to(doc, st->out);
    *st->found = true;
    return true;
}

bool odm_store_find_one(odm_store_t *store, const char *collection, const bson_t *filter,
                        const bson_t *projection, bson_t *out, bool *found, int64_t deadline_ms,
                        odm_error_t *err)
{
    bson_init(out);
    *found = false;
    find_one_state_t st = {.out = out, .found = found};
    find_args_t a = {.filter = filter,
                     .projection = projection,
                     .limit = 1,
                     .each = keep_first,
                     .each_arg = &st};
    return run_find(store, collection, &a, deadline_ms, err);
}

/* ---- count ---- */

typedef struct {
    const bson_t *filter;
    int64_t *count;
} count_args_t;

static bool count_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                          bson_error_t *error, odm_error_t *err)
{
    count_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts);
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    int64_t n = mongoc_collection_count_documents(coll, a->filter, &opts, NULL, reply, error);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    if (n < 0)
        return false;
    *a->count = n;
    return true;
}

bool odm_store_count(odm_store_t *store, const char *collection, const bson_t *filter,
                     int64_t *count, int64_t deadline_ms, odm_error_t *err)
{
    count_args_t a = {.filter = filter, .count = count};
    store__op_t op = {.what = "count in",
                      .collection = collection,
                      .read = true,
                      .attempt = count_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* ---- writes ---- */

typedef struct {
    const bson_t *filter, *doc;
    int64_t *n; /* matchedCount or deletedCount */
    bool many;  /* delete: every match, not the first */
} write_args_t;

static int64_t reply_count(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

static bool insert_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                           bson_error_t *error, odm_error_t *err)
{
    write_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts); /* insert_one sends unknown opts with the command */
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    bool ok = mongoc_collection_insert_one(coll, a->doc, &opts, reply, error);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    return ok;
}

bool odm_store_insert(odm_store_t *store, const char *collection, const bson_t *doc,
                      int64_t deadline_ms, odm_error_t *err)
{
    write_args_t a = {.doc = doc};
    store__op_t op = {
        .what = "insert into", .collection = collection, .attempt = insert_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* No maxTimeMS here: replace_one puts unknown opts into the update statement, where the server
 * would refuse it; socketTimeoutMS still bounds the wait. */
static bool replace_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                            bson_error_t *error, odm_error_t *err)
{
    write_args_t *a = op->arg;
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    bool ok = mongoc_collection_replace_one(coll, a->filter, a->doc, NULL, reply, error);
    mongoc_collection_destroy(owned);
    if (ok)
        *a->n = reply_count(reply, "matchedCount");
    return ok;
}

bool odm_store_replace(odm_store_t *store, const char *collection, const bson_t *filter,
                       const bson_t *doc, int64_t *matched, int64_t deadline_ms, odm_error_t *err)
{
    *matched = 0;
    write_args_t a = {.filter = filter, .doc = doc, .n = matched};
    store__op_t op = {
        .what = "replace in", .collection = collection, .attempt = replace_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

static bool delete_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                           bson_error_t *error, odm_error_t *err)
{
    write_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts); /* delete_one/many send unknown opts along */
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    bool ok = a->many ? mongoc_collection_delete_many(coll, a->filter, &opts, reply, error)
                      : mongoc_collection_delete_one(coll, a->filter, &opts, reply, error);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    if (ok)
        *a->n = reply_count(reply, "deletedCount");
    return ok;
}

bool odm_store_delete(odm_store_t *store, const char *collection, const bson_t *filter,
                      int64_t *deleted, int64_t deadline_ms, odm_error_t *err)
{
    *deleted = 0;
    write_args_t a = {.filter = filter, .n = deleted};
    store__op_t op = {
        .what = "delete in", .collection = collection, .attempt = delete_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* ---- bulk writes ---- */

typedef struct {
    const bson_t *const *docs;
    size_t n;
    bool ordered;
    odm_store_item_t *items;
} insert_many_args_t;

/* Marks the documents the reply's writeErrors name as refused and, when ordered, the ones after
 * the first of them as not tried. Returns: false when the reply names none (the failure was
 * not the documents'). */
static bool mark_write_errors(store__op_t *op, const bson_t *reply)
{
    insert_many_args_t *a = op->arg;
    bson_iter_t it, errors;
    if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &errors))
        return false;
    size_t first = a->n;
    while (bson_iter_next(&errors)) {
        bson_t entry;
        bson_iter_t idx;
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(&errors))
            continue;
        bson_iter_document(&errors, &len, &data);
        if (!bson_init_static(&entry, data, len) || !bson_iter_init_find(&idx, &entry, "index") ||
            !BSON_ITER_HOLDS_NUMBER(&idx))
            continue;
        int64_t i = bson_iter_as_int64(&idx);
        if (i < 0 || (uint64_t)i >= a->n)
            continue;
        a->items[i].status = ODM_STORE_REFUSED;
        store__write_error(op->store, op, &entry, &a->items[i].err);
        if ((size_t)i < first)
            first = (size_t)i;
    }
    if (first == a->n)
        return false;
    for (size_t i = first + 1; a->ordered && i < a->n; i++)
        if (a->items[i].status == ODM_STORE_INSERTED)
            a->items[i].status = ODM_STORE_NOT_TRIED;
    return true;
}

/* A write concern error leaves the documents' fate unknown: a failure of the whole. */
static bool write_concern_failed(const bson_t *reply)
{
    bson_iter_t it, entries;
    return bson_iter_init_find(&it, reply, "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
           bson_iter_recurse(&it, &entries) && bson_iter_next(&entries);
}

static bool insert_many_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                                bson_error_t *error, odm_error_t *err)
{
    insert_many_args_t *a = op->arg;
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", a->ordered);
    store__append_max_time(op->store, &opts); /* insert_many sends unknown opts with the command */
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    bool ok =
        mongoc_collection_insert_many(coll, (const bson_t **)a->docs, a->n, &opts, reply, error);
    mongoc_collection_destroy(owned);
    bson_destroy(&opts);
    for (size_t i = 0; i < a->n; i++)
        a->items[i].status = ODM_STORE_INSERTED;
    if (ok)
        return true;
    if (error->domain != MONGOC_ERROR_SERVER || write_concern_failed(reply) ||
        !mark_write_errors(op, reply))
        return false;
    error->domain = 0;
    return true;
}

bool odm_store_insert_many(odm_store_t *store, const char *collection, const bson_t *const *docs,
                           size_t n, bool ordered, odm_store_item_t *items, int64_t deadline_ms,
                           odm_error_t *err)
{
    if (n == 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "insert into '%s': no documents", collection);
    insert_many_args_t a = {.docs = docs, .n = n, .ordered = ordered, .items = items};
    store__op_t op = {
        .what = "insert into", .collection = collection, .attempt = insert_many_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

bool odm_store_delete_many(odm_store_t *store, const char *collection, const bson_t *filter,
                           int64_t *deleted, int64_t deadline_ms, odm_error_t *err)
{
    *deleted = 0;
    write_args_t a = {.filter = filter, .n = deleted, .many = true};
    store__op_t op = {
        .what = "delete in", .collection = collection, .attempt = delete_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* No maxTimeMS here either: update_many, like replace_one, puts unknown opts into the update
 * statement, which MongoDB parses strictly ("BSON field 'update.updates.maxTimeMS' is an unknown
 * field") and FerretDB refuses too; socketTimeoutMS still bounds the wait. */
static bool update_many_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                                bson_error_t *error, odm_error_t *err)
{
    write_args_t *a = op->arg;
    mongoc_collection_t *owned;
    mongoc_collection_t *coll = store__collection(op->store, client, op->collection, &owned);
    bool ok = mongoc_collection_update_many(coll, a->filter, a->doc, NULL, reply, error);
    mongoc_collection_destroy(owned);
    if (ok)
        *a->n = reply_count(reply, "modifiedCount");
    return ok;
}

bool odm_store_update_many(odm_store_t *store, const char *collection, const bson_t *filter,
                           const bson_t *update, int64_t *modified, int64_t deadline_ms,
                           odm_error_t *err)
{
    *modified = 0;
    write_args_t a = {.filter = filter, .doc = update, .n = modified};
    store__op_t op = {
        .what = "update in", .collection = collection, .attempt = update_many_attempt, .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

/* ---- commands ---- */

typedef struct {
    const bson_t *keys;
    const char *name;
    bool unique;
    int64_t expire_after_s; /* a TTL index; -1: none */
} index_args_t;

/* mongo-c-driver 1.23 has no index model API: run createIndexes, which succeeds without
 * change ("all indexes already exist") for an identical index. */
static bool create_index_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                                 bson_error_t *error, odm_error_t *err)
{
    index_args_t *a = op->arg;
    bson_t cmd = BSON_INITIALIZER, indexes, index;
    BSON_APPEND_UTF8(&cmd, "createIndexes", op->collection);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
    BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
    BSON_APPEND_DOCUMENT(&index, "key", a->keys);
    BSON_APPEND_UTF8(&index, "name", a->name);
    if (a->unique)
        BSON_APPEND_BOOL(&index, "unique", true);
    if (a->expire_after_s >= 0)
        BSON_APPEND_INT64(&index, "expireAfterSeconds", a->expire_after_s);
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(&cmd, &indexes);
    bson_t opts = BSON_INITIALIZER;
    store__append_max_time(op->store, &opts);
    mongoc_database_t *db = mongoc_client_get_database(client, op->store->db);
    bool ok = mongoc_database_write_command_with_opts(db, &cmd, &opts, reply, error);
    mongoc_database_destroy(db);
    bson_destroy(&opts);
    bson_destroy(&cmd);
    return ok;
}

bool odm_store_create_index(odm_store_t *store, const char *collection, const bson_t *keys,
                            const char *name, bool unique, int64_t deadline_ms, odm_error_t *err)
{
    index_args_t a = {.keys = keys, .name = name, .unique = unique, .expire_after_s = -1};
    store__op_t op = {.what = "create index in",
                      .collection = collection,
                      .attempt = create_index_attempt,
                      .arg = &a};
    return store__run(store, &op, deadline_ms, err);
}

static bool ping_attempt(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                         bson_error_t *error, odm_error_t *err)
{
    bson_t cmd = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    store__append_max_time(op->store, &opts);
    bool ok = mongoc_client_command_with_opts(client, "admin", &cmd, NULL, &opts, reply, error);
    bson_destroy(&opts);
    bson_destroy(&cmd);
    return ok;
}

bool odm_store_ping(odm_store_t *store, int64_t deadline_ms, odm_error_t *err)
{
    store__op_t op = {.what = "ping", .read = true, .attempt = ping_attempt};
    return store__run(store, &op, deadline_ms, err);
}

bool odm_store_create_ttl_index(odm_store_t *store, const char *collection, const char *field,
                                int64_t expire_after_s, const char *name, int64_t deadline_ms,
                                odm_error_t *err)
{
    bson_t keys = BSON_INITIALIZER;
    BSON_APPEND_INT32(&keys, field, 1);
    index_args_t a = {.keys = &keys, .name = name, .expire_after_s = expire_after_s};
    store__op_t op = {.what = "create index in",
                      .collection = collection,
                      .attempt = create_index_attempt,
                      .arg = &a};
    bool ok = store__run(store, &op, deadline_ms, err);
    bson_destroy(&keys);
    return ok;
}
