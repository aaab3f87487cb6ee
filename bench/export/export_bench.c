/* The export benchmark's database side, with mongoc alone:
 *
 *   export_bench seed URI DB COLL N   inserts N small documents (insertMany, 1000 at a time)
 *   export_bench read URI DB COLL     reads every document through one cursor (batchSize 1000,
 *                                     as odmd's export does) and prints
 *                                     {"docs": N, "bytes": B, "seconds": S}: the baseline rate */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#define BATCH 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int seed(mongoc_collection_t *coll, long n)
{
    bson_t *docs[BATCH];
    for (long start = 0; start < n; start += BATCH) {
        size_t k = 0;
        for (long id = start; id < start + BATCH && id < n; id++) {
            char sku[32];
            snprintf(sku, sizeof sku, "SKU-%08ld", id);
            docs[k++] = BCON_NEW("_id", BCON_INT64(id), "sku", BCON_UTF8(sku), "qty",
                                 BCON_INT32((int32_t)(id % 100)), "price",
                                 BCON_DOUBLE((double)(id % 1000) / 4.0), "active",
                                 BCON_BOOL(id % 2 == 0), "__v", BCON_INT64(1));
        }
        bson_error_t error;
        bool ok = mongoc_collection_insert_many(coll, (const bson_t **)docs, k, NULL, NULL, &error);
        for (size_t i = 0; i < k; i++)
            bson_destroy(docs[i]);
        if (!ok) {
            fprintf(stderr, "export_bench: insert: %s\n", error.message);
            return 1;
        }
    }
    return 0;
}

static int read_all(mongoc_collection_t *coll)
{
    bson_t filter = BSON_INITIALIZER;
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(BATCH));
    double t0 = now_s();
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
    const bson_t *doc;
    long docs = 0;
    uint64_t bytes = 0;
    while (mongoc_cursor_next(cursor, &doc)) {
        docs++;
        bytes += doc->len;
    }
    bson_error_t error;
    int status = 0;
    if (mongoc_cursor_error(cursor, &error)) {
        fprintf(stderr, "export_bench: find: %s\n", error.message);
        status = 1;
    }
    double t1 = now_s();
    mongoc_cursor_destroy(cursor);
    bson_destroy(opts);
    printf("{\"docs\": %ld, \"bytes\": %" PRIu64 ", \"seconds\": %.3f}\n", docs, bytes, t1 - t0);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "seed") == 0 && argc < 6)) {
        fprintf(stderr, "usage: export_bench seed URI DB COLL N | read URI DB COLL\n");
        return 2;
    }
    mongoc_init();
    mongoc_client_t *client = mongoc_client_new(argv[2]);
    if (client == NULL) {
        fprintf(stderr, "export_bench: bad URI\n");
        return 2;
    }
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, argv[3], argv[4]);
    int status = strcmp(argv[1], "seed") == 0 ? seed(coll, atol(argv[5])) : read_all(coll);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_cleanup();
    return status;
}
