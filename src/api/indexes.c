/* Index creation: a background thread that retries with backoff until every model's indexes
 * exist, so that odmd starts (and serves) while the database is still down. After the first
 * attempt that reaches the database, the index report (odmd/survey.h) goes to the log. A reload
 * hands the thread its new set, whose indexes are then created the same way. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odmd/api.h"
#include "odmd/clock.h"
#include "odmd/log.h"
#include "odmd/survey.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

struct odm_api_indexes {
    odm_model_set_t *first; /* the startup set (a reference), handed to the thread */
    odm_store_t *store;
    int timeout_ms;
    int64_t idempotency_ttl_s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    odm_model_set_t *pending; /* a reloaded set (a reference) waiting for the thread */
    atomic_bool done;
};

/* The TTL index that ends Idempotency-Key records (src/api/idempotency.c). Readiness does not
 * wait for it: without it records only stay longer. `settled` becomes true once it exists, or
 * once the server refused it for a reason other than being unreachable (FerretDB v1.24 has no
 * TTL indexes): then it is not asked again. */
static void create_ttl(odm_api_indexes_t *ix, bool *settled)
{
    if (*settled)
        return;
    odm_error_t err;
    if (odm_store_create_ttl_index(ix->store, ODM_API_IDEMPOTENCY_COLLECTION, "createdAt",
                                   ix->idempotency_ttl_s, ODM_API_IDEMPOTENCY_INDEX,
                                   odm_now_ms() + ix->timeout_ms, &err)) {
        *settled = true;
        odm_info("index '%s' on '%s' ready", ODM_API_IDEMPOTENCY_INDEX,
                 ODM_API_IDEMPOTENCY_COLLECTION);
    } else if (err.kind == ODM_ERR_UNAVAILABLE || err.kind == ODM_ERR_TIMEOUT) {
        odm_warn("index '%s' on '%s' not created yet: %s", ODM_API_IDEMPOTENCY_INDEX,
                 ODM_API_IDEMPOTENCY_COLLECTION, err.message);
    } else {
        *settled = true;
        odm_warn("index '%s' on '%s' refused by the database (%s): Idempotency-Key records "
                 "will not expire",
                 ODM_API_IDEMPOTENCY_INDEX, ODM_API_IDEMPOTENCY_COLLECTION, err.message);
    }
}

static bool create_all(odm_api_indexes_t *ix, const odm_models_t *models, bool *created)
{
    size_t k = 0;
    bool all = true;
    for (size_t m = 0; m < models->n; m++) {
        const odm_model_t *model = models->items[m];
        for (size_t i = 0; i < model->n_indexes; i++, k++) {
            if (created[k])
                continue;
            const odm_index_t *index = &model->indexes[i];
            bson_t keys;
            bson_init(&keys);
            const char *field;
            json_t *dir;
            json_object_foreach(index->keys, field, dir)
                BSON_APPEND_INT32(&keys, field, (int32_t)json_integer_value(dir));
            odm_error_t err;
            created[k] = odm_store_create_index(ix->store, model->collection, &keys, index->name,
                                                index->unique, odm_now_ms() + ix->timeout_ms, &err);
            bson_destroy(&keys);
            if (created[k]) {
                odm_info("index '%s' on '%s' ready", index->name, model->collection);
            } else {
                all = false;
                odm_warn("index '%s' on '%s' not created yet: %s", index->name, model->collection,
                         err.message);
            }
        }
    }
    return all;
}

static size_t count_indexes(const odm_models_t *models)
{
    size_t n = 0;
    for (size_t m = 0; m < models->n; m++)
        n += models->items[m]->n_indexes;
    return n;
}

/* The index report as log lines; false when the database could not be read (tried again after
 * the next attempt). */
static bool report(odm_api_indexes_t *ix, const odm_models_t *models)
{
    odm_error_t err;
    if (odm_survey_indexes(models, ix->store, ix->timeout_ms, odm_survey_index_log, NULL, &err))
        return true;
    odm_debug("index report not made yet: %s", err.message);
    return false;
}

/* Works on one set until its indexes exist and are reported, the stop, or a newer set (which
 * holds every model still served, so it supersedes this one). Indexes that exist already are
 * created again as no-ops. Readiness, once reached, stays: a reload does not undo it. */
static void work_set(odm_api_indexes_t *ix, const odm_models_t *models)
{
    size_t n = count_indexes(models) + 1; /* and the idempotency records' */
    bool *created = calloc(n, sizeof *created);
    int backoff = BACKOFF_FIRST_MS;
    bool reported = false;
    pthread_mutex_lock(&ix->lock);
    while (created != NULL && !ix->stop && ix->pending == NULL) {
        pthread_mutex_unlock(&ix->lock);
        bool all = create_all(ix, models, created);
        create_ttl(ix, &created[n - 1]);
        if (!reported)
            reported = report(ix, models);
        pthread_mutex_lock(&ix->lock);
        if (all)
            atomic_store(&ix->done, true);
        if (all && reported && created[n - 1])
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += backoff / 1000;
        until.tv_nsec += (long)(backoff % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        if (!ix->stop && ix->pending == NULL)
            pthread_cond_timedwait(&ix->wake, &ix->lock, &until);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    pthread_mutex_unlock(&ix->lock);
    free(created);
}

/* The startup set, then each reloaded set in turn, until the stop. */
static void *index_thread(void *arg)
{
    odm_api_indexes_t *ix = arg;
    odm_model_set_t *set = ix->first;
    ix->first = NULL;
    while (set != NULL) {
        work_set(ix, odm_model_set_models(set));
        odm_model_set_release(set);
        pthread_mutex_lock(&ix->lock);
        while (!ix->stop && ix->pending == NULL)
            pthread_cond_wait(&ix->wake, &ix->lock);
        set = ix->stop ? NULL : ix->pending;
        ix->pending = ix->stop ? ix->pending : NULL;
        pthread_mutex_unlock(&ix->lock);
    }
    return NULL;
}

odm_api_indexes_t *odm_api_indexes_start(odm_model_set_t *set, odm_store_t *store,
                                         int request_timeout_ms, int64_t idempotency_ttl_s)
{
    odm_api_indexes_t *ix = calloc(1, sizeof *ix);
    if (ix == NULL) {
        odm_err("index creation cannot start: out of memory");
        return NULL;
    }
    odm_model_set_retain(set);
    ix->first = set;
    ix->store = store;
    ix->timeout_ms = request_timeout_ms;
    ix->idempotency_ttl_s = idempotency_ttl_s;
    pthread_mutex_init(&ix->lock, NULL);
    pthread_cond_init(&ix->wake, NULL);
    int rc = pthread_create(&ix->thread, NULL, index_thread, ix);
    if (rc != 0) {
        odm_err("index creation cannot start: %s", strerror(rc));
        odm_model_set_release(set);
        pthread_cond_destroy(&ix->wake);
        pthread_mutex_destroy(&ix->lock);
        free(ix);
        return NULL;
    }
    return ix;
}

void odm_api_indexes_add(odm_api_indexes_t *ix, odm_model_set_t *set)
{
    if (ix == NULL)
        return;
    odm_model_set_retain(set);
    pthread_mutex_lock(&ix->lock);
    odm_model_set_t *superseded = ix->pending;
    ix->pending = set;
    pthread_cond_signal(&ix->wake);
    pthread_mutex_unlock(&ix->lock);
    odm_model_set_release(superseded);
}

bool odm_api_indexes_done(odm_api_indexes_t *ix)
{
    return ix != NULL && atomic_load(&ix->done);
}

void odm_api_indexes_stop(odm_api_indexes_t *ix)
{
    if (ix == NULL)
        return;
    pthread_mutex_lock(&ix->lock);
    ix->stop = true;
    pthread_cond_signal(&ix->wake);
    pthread_mutex_unlock(&ix->lock);
    pthread_join(ix->thread, NULL);
    odm_model_set_release(ix->pending);
    pthread_cond_destroy(&ix->wake);
    pthread_mutex_destroy(&ix->lock);
    free(ix);
}
