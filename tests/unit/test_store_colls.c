/* Unit tests for the store's per-client collection handles (src/store/colls.c), against a real
 * MongoDB-wire server: threads sharing a small pool read and write several collections at once
 * and always reach the collection they named; a client's handles are made once; a URI with
 * minPoolSize keeps none; handles are released with the store (ASan sees any leak). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "odmd/clock.h"
#include "odmd/log.h"
#include "odmd/store.h"
#include "store/store_int.h"
#include "support/dbserver.h"

#define THREADS 6
#define COLLECTIONS 5
#define ROUNDS 150
#define T_MS 60000

static char db_name[64];

static odm_store_t *new_store(const char *uri, size_t clients)
{
    odm_error_t err = {0};
    /* a long timeout: six threads share three clients, and the pool's wait (5% of it) must not
     * run out on a busy machine */
    odm_store_options_t opts = {
        .uri = uri, .db = db_name, .request_timeout_ms = T_MS, .max_clients = clients};
    odm_store_t *s = odm_store_new(&opts, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    return s;
}

static const char *coll_name(int i)
{
    static const char *const names[COLLECTIONS] = {"alpha", "beta", "gamma", "delta", "epsilon"};
    return names[i];
}

/* Every collection holds {_id: 1, from: <its own name>}. */
static void seed(odm_store_t *s)
{
    for (int c = 0; c < COLLECTIONS; c++) {
        odm_error_t err = {0};
        bson_t *doc = BCON_NEW("_id", BCON_INT32(1), "from", BCON_UTF8(coll_name(c)));
        CHECK_MSG(odm_store_insert(s, coll_name(c), doc, odm_now_ms() + T_MS, &err), "%s",
                  err.message);
        bson_destroy(doc);
    }
}

typedef struct {
    odm_store_t *store;
    int index;
    int wrong, failed;
} worker_t;

static void *reader(void *arg)
{
    worker_t *w = arg;
    bson_t *one = BCON_NEW("_id", BCON_INT32(1));
    for (int r = 0; r < ROUNDS; r++) {
        int c = (w->index + r) % COLLECTIONS;
        odm_error_t err = {0};
        bson_t out;
        bool found = false;
        if (!odm_store_find_one(w->store, coll_name(c), one, NULL, &out, &found,
                                odm_now_ms() + T_MS, &err) ||
            !found) {
            w->failed++;
            fprintf(stderr, "find in '%s': %s\n", coll_name(c), found ? "" : err.message);
        } else {
            bson_iter_t it;
            if (!bson_iter_init_find(&it, &out, "from") || !BSON_ITER_HOLDS_UTF8(&it) ||
                strcmp(bson_iter_utf8(&it, NULL), coll_name(c)) != 0)
                w->wrong++;
        }
        bson_destroy(&out);
        int64_t n = -1;
        if (r % 10 == 0 &&
            (!odm_store_count(w->store, coll_name(c), one, &n, odm_now_ms() + T_MS, &err) ||
             n != 1)) {
            w->failed++;
            fprintf(stderr, "count in '%s': %s\n", coll_name(c), err.message);
        }
    }
    bson_destroy(one);
    return NULL;
}

static void run_readers(odm_store_t *s, const char *what)
{
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker_t){.store = s, .index = i};
        pthread_create(&threads[i], NULL, reader, &workers[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(workers[i].wrong == 0, "%s: thread %d read another collection %d times", what, i,
                  workers[i].wrong);
        CHECK_MSG(workers[i].failed == 0, "%s: thread %d failed %d times", what, i,
                  workers[i].failed);
    }
}

/* Handles kept: one per (client, collection) at most, however many operations ran. */
static void check_kept(odm_store_t *s, size_t clients, bool expect_kept)
{
    size_t slots = 0, handles = 0;
    for (size_t i = 0; i < s->colls_size; i++) {
        if (atomic_load(&s->colls[i].client) == NULL)
            continue;
        slots++;
        handles += s->colls[i].n;
        for (size_t a = 0; a < s->colls[i].n; a++)
            for (size_t b = a + 1; b < s->colls[i].n; b++)
                CHECK_MSG(strcmp(s->colls[i].items[a].name, s->colls[i].items[b].name) != 0,
                          "a collection kept twice for one client");
    }
    if (expect_kept) {
        CHECK_MSG(slots >= 1 && slots <= clients, "%zu clients seen with a pool of %zu", slots,
                  clients);
        CHECK_MSG(handles >= COLLECTIONS && handles <= clients * COLLECTIONS, "%zu handles",
                  handles);
    } else {
        CHECK_MSG(s->colls_size == 0 && slots == 0, "handles kept despite minPoolSize");
    }
}

int main(void)
{
    odm_log_set_level(ODM_LOG_ERROR);
    snprintf(db_name, sizeof db_name, "test_store_colls_%d", (int)getpid());
    odm_store_global_init();
    odm_test_db_t db;
    if (!odm_test_db_start(&db)) {
        CHECK_MSG(false, "cannot start the test database: %s", db.error);
        return check_done("store_colls");
    }

    odm_store_t *s = new_store(db.uri, 3);
    if (s != NULL) {
        seed(s);
        run_readers(s, "kept handles");
        check_kept(s, 3, true);
        odm_store_free(s);
    }

    char uri[128];
    snprintf(uri, sizeof uri, "%s/?minPoolSize=1", db.uri);
    s = new_store(uri, 3);
    if (s != NULL) {
        run_readers(s, "minPoolSize");
        check_kept(s, 3, false);
        odm_store_free(s);
    }

    odm_test_db_stop(&db);
    odm_store_global_cleanup();
    return check_done("store_colls");
}
