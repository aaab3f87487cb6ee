/* Ceiling "what the database allows": find-by-_id with mongoc from N threads, no HTTP.
 *
 *   mongoc_direct URI DB COLLECTION THREADS SECONDS [MAX_ID]
 *
 * Each thread takes its own client from one mongoc_client_pool_t and loops find({_id: random
 * 1..MAX_ID}, limit 1) until SECONDS have passed. Prints one JSON line: threads, finds, errors,
 * seconds, finds_per_s. Built by bench/run, not by the main CMake build. */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static mongoc_client_pool_t *pool;
static const char *db_name;
static const char *coll_name;
static int max_id = 10000;
static atomic_bool stop;
static atomic_long total_finds;
static atomic_long total_errors;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    mongoc_client_t *client = mongoc_client_pool_pop(pool);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, db_name, coll_name);
    bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
    long finds = 0;
    long errors = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        bson_t filter;
        bson_init(&filter);
        BSON_APPEND_INT32(&filter, "_id", 1 + (int)(rand_r(&seed) % (unsigned)max_id));
        mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
        const bson_t *doc;
        int found = 0;
        while (mongoc_cursor_next(cursor, &doc))
            found++;
        bson_error_t error;
        if (mongoc_cursor_error(cursor, &error) || found != 1)
            errors++;
        else
            finds++;
        mongoc_cursor_destroy(cursor);
        bson_destroy(&filter);
    }
    bson_destroy(opts);
    mongoc_collection_destroy(coll);
    mongoc_client_pool_push(pool, client);
    atomic_fetch_add(&total_finds, finds);
    atomic_fetch_add(&total_errors, errors);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: mongoc_direct URI DB COLLECTION THREADS SECONDS [MAX_ID]\n");
        return 2;
    }
    db_name = argv[2];
    coll_name = argv[3];
    int threads = atoi(argv[4]);
    double seconds = atof(argv[5]);
    if (argc > 6)
        max_id = atoi(argv[6]);
    if (threads < 1 || threads > 1024 || seconds <= 0 || max_id < 1) {
        fprintf(stderr, "mongoc_direct: bad arguments\n");
        return 2;
    }
    mongoc_init();
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[1], &error);
    if (uri == NULL) {
        fprintf(stderr, "mongoc_direct: %s\n", error.message);
        return 2;
    }
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, threads);
    pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (tids == NULL)
        return 1;
    double start = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, run, (void *)(uintptr_t)i);
    struct timespec pause = {.tv_sec = (time_t)seconds,
                             .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&pause, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    double elapsed = now_s() - start;
    long finds = atomic_load(&total_finds);
    printf("{\"threads\":%d,\"finds\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"finds_per_s\":%.1f}\n",
           threads, finds, atomic_load(&total_errors), elapsed, (double)finds / elapsed);
    free(tids);
    mongoc_client_pool_destroy(pool);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return 0;
}
