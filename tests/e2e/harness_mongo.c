/* Direct database access for the end-to-end tests: what odmd stored, and documents written by
 * "other tools" (without odmd's version field). */
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "harness.h"

/* The driver's own messages: only errors, so that FerretDB's "endSessions" warnings at every
 * client's end do not bury the tests' output. */
static void on_driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                          void *arg)
{
    (void)arg;
    if (level <= MONGOC_LOG_LEVEL_ERROR)
        fprintf(stderr, "e2e: mongoc %s: %s\n", domain, message);
}

void e2e_mongo_global_init(void)
{
    mongoc_init();
    mongoc_log_set_handler(on_driver_log, NULL);
}

void e2e_mongo_global_cleanup(void)
{
    mongoc_cleanup();
}

/* A new client with short timeouts, or NULL. */
static mongoc_client_t *connect_to(const char *uri_text)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
    if (!uri) {
        fprintf(stderr, "e2e: bad uri %s: %s\n", uri_text, error.message);
        return NULL;
    }
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 5000);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 10000);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_uri_destroy(uri);
    if (client)
        mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    return client;
}

json_t *e2e_mongo_find(const char *uri, const char *db, const char *coll, const char *filter_ejson)
{
    bson_error_t error;
    bson_t *filter = bson_new_from_json((const uint8_t *)filter_ejson, -1, &error);
    if (!filter) {
        fprintf(stderr, "e2e: bad filter %s: %s\n", filter_ejson, error.message);
        return NULL;
    }
    json_t *out = NULL;
    mongoc_client_t *client = connect_to(uri);
    if (!client)
        goto done_filter;
    mongoc_collection_t *c = mongoc_client_get_collection(client, db, coll);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(c, filter, NULL, NULL);
    const bson_t *doc;
    if (mongoc_cursor_next(cursor, &doc)) {
        char *text = bson_as_canonical_extended_json(doc, NULL);
        out = json_loads(text, 0, NULL);
        bson_free(text);
    } else if (mongoc_cursor_error(cursor, &error)) {
        fprintf(stderr, "e2e: find in %s.%s: %s\n", db, coll, error.message);
    }
    mongoc_cursor_destroy(cursor);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
done_filter:
    bson_destroy(filter);
    return out;
}

bool e2e_mongo_insert(const char *uri, const char *db, const char *coll, const char *ejson)
{
    bson_error_t error;
    bson_t *doc = bson_new_from_json((const uint8_t *)ejson, -1, &error);
    if (!doc) {
        fprintf(stderr, "e2e: bad document %s: %s\n", ejson, error.message);
        return false;
    }
    bool ok = false;
    mongoc_client_t *client = connect_to(uri);
    if (client) {
        mongoc_collection_t *c = mongoc_client_get_collection(client, db, coll);
        ok = mongoc_collection_insert_one(c, doc, NULL, NULL, &error);
        if (!ok)
            fprintf(stderr, "e2e: insert into %s.%s: %s\n", db, coll, error.message);
        mongoc_collection_destroy(c);
        mongoc_client_destroy(client);
    }
    bson_destroy(doc);
    return ok;
}

bool e2e_mongo_has_unique_index(const char *uri, const char *db, const char *coll,
                                const char *field)
{
    mongoc_client_t *client = connect_to(uri);
    if (!client)
        return false;
    mongoc_collection_t *c = mongoc_client_get_collection(client, db, coll);
    mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(c, NULL);
    const bson_t *index;
    bool found = false;
    while (!found && mongoc_cursor_next(cursor, &index)) {
        bson_iter_t it, keys;
        bool unique = bson_iter_init_find(&it, index, "unique") && bson_iter_as_bool(&it);
        if (!unique || !bson_iter_init_find(&it, index, "key") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
            !bson_iter_recurse(&it, &keys))
            continue;
        int n = 0;
        bool match = true;
        while (bson_iter_next(&keys)) {
            n++;
            match =
                match && strcmp(bson_iter_key(&keys), field) == 0 && bson_iter_as_int64(&keys) == 1;
        }
        found = match && n == 1;
    }
    mongoc_cursor_destroy(cursor);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
    return found;
}

int64_t e2e_mongo_count(const char *uri, const char *db, const char *coll)
{
    mongoc_client_t *client = connect_to(uri);
    if (!client)
        return -1;
    bson_error_t error;
    bson_t filter = BSON_INITIALIZER;
    mongoc_collection_t *c = mongoc_client_get_collection(client, db, coll);
    int64_t n = mongoc_collection_count_documents(c, &filter, NULL, NULL, NULL, &error);
    if (n < 0)
        fprintf(stderr, "e2e: count %s.%s: %s\n", db, coll, error.message);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
    bson_destroy(&filter);
    return n;
}

long long e2e_ejson_int(const json_t *v, long long fallback)
{
    const char *text = json_string_value(json_object_get(v, "$numberInt"));
    if (!text)
        text = json_string_value(json_object_get(v, "$numberLong"));
    if (!text)
        return fallback;
    char *end;
    long long n = strtoll(text, &end, 10);
    return *end == '\0' ? n : fallback;
}

const char *e2e_ejson_kind(const json_t *v)
{
    if (!v)
        return "absent";
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        void *it = json_object_iter((json_t *)v);
        const char *key = it ? json_object_iter_key(it) : NULL;
        return key && key[0] == '$' ? key : "object";
    }
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    default:
        return "number";
    }
}

bool e2e_mongo_create_index(const char *uri, const char *db, const char *coll, const char *name,
                            const char *keys_ejson, bool unique)
{
    bson_error_t error;
    bson_t *keys = bson_new_from_json((const uint8_t *)keys_ejson, -1, &error);
    if (!keys) {
        fprintf(stderr, "e2e: bad keys %s: %s\n", keys_ejson, error.message);
        return false;
    }
    bson_t cmd = BSON_INITIALIZER, indexes, index;
    BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
    BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
    BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
    BSON_APPEND_DOCUMENT(&index, "key", keys);
    BSON_APPEND_UTF8(&index, "name", name);
    BSON_APPEND_BOOL(&index, "unique", unique);
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(&cmd, &indexes);
    bool ok = false;
    mongoc_client_t *client = connect_to(uri);
    if (client) {
        mongoc_database_t *d = mongoc_client_get_database(client, db);
        ok = mongoc_database_write_command_with_opts(d, &cmd, NULL, NULL, &error);
        if (!ok)
            fprintf(stderr, "e2e: create index on %s.%s: %s\n", db, coll, error.message);
        mongoc_database_destroy(d);
        mongoc_client_destroy(client);
    }
    bson_destroy(&cmd);
    bson_destroy(keys);
    return ok;
}
