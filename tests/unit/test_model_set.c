/* Unit tests for the live model set (src/api/model_set.c): a reference taken before a swap keeps
 * its models, and readers acquiring on other threads while the main thread swaps always get a
 * whole set. Under AddressSanitizer a set freed early or never freed fails the run. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "odmd/api.h"

#define READERS 4
#define SWAPS 50

static atomic_bool stop;
static atomic_int misses, reads;

static odm_model_set_t *load_set(void)
{
    odm_error_t err;
    odm_models_t *models = odm_models_load("schemas", &err);
    CHECK_MSG(models != NULL, "%s", models ? "" : err.message);
    odm_model_set_t *set = models ? odm_model_set_new(models) : NULL;
    CHECK(models == NULL || set != NULL);
    return set;
}

static void *reader(void *arg)
{
    odm_api_models_t *h = arg;
    while (!atomic_load(&stop)) {
        odm_model_set_t *set = odm_api_models_acquire(h);
        const odm_models_t *models = odm_model_set_models(set);
        if (odm_models_find(models, "users", 5) == NULL || models->n != 3)
            atomic_fetch_add(&misses, 1);
        atomic_fetch_add(&reads, 1);
        odm_model_set_release(set);
    }
    return NULL;
}

/* A reference taken before a swap outlives it; the holder's is dropped by the swap. */
static void test_reference_outlives_swap(void)
{
    odm_model_set_t *a = load_set(), *b = load_set();
    if (a == NULL || b == NULL)
        return;
    odm_api_models_t *h = odm_api_models_new(a);
    CHECK(h != NULL);
    odm_model_set_t *held = odm_api_models_acquire(h);
    CHECK(held == a);
    odm_api_models_swap(h, b);
    odm_model_set_t *now = odm_api_models_acquire(h);
    CHECK(now == b);
    CHECK(odm_models_find(odm_model_set_models(held), "orders", 6) != NULL);
    odm_model_set_release(held); /* the last reference to a: freed here */
    odm_model_set_release(now);
    odm_api_models_free(h);
}

static void test_swaps_under_readers(void)
{
    odm_model_set_t *first = load_set();
    if (first == NULL)
        return;
    odm_api_models_t *h = odm_api_models_new(first);
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&threads[i], NULL, reader, h);
    for (int i = 0; i < SWAPS; i++) {
        odm_model_set_t *next = load_set();
        if (next != NULL)
            odm_api_models_swap(h, next);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    CHECK(atomic_load(&reads) > 0);
    CHECK_INT(atomic_load(&misses), 0);
    odm_api_models_free(h);
}

int main(void)
{
    test_reference_outlives_swap();
    test_swaps_under_readers();
    return check_done("model_set");
}
