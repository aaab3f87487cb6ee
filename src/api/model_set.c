/* The live model set: an immutable, reference-counted odm_models_t that a request takes at
 * routing and drops when it completes, and the holder whose set SIGHUP swaps (DESIGN.md, model
 * reload). Taking a reference is two atomic increments; the polling thread never waits. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "odmd/api.h"

struct odm_model_set {
    odm_models_t *models; /* owned: freed with the last reference */
    atomic_size_t refs;
};

struct odm_api_models {
    _Atomic(odm_model_set_t *) current; /* the holder's own reference */
    atomic_size_t acquiring;            /* readers between loading current and retaining it */
};

odm_model_set_t *odm_model_set_new(odm_models_t *models)
{
    odm_model_set_t *set = calloc(1, sizeof *set);
    if (set == NULL)
        return NULL;
    set->models = models;
    atomic_init(&set->refs, 1);
    return set;
}

const odm_models_t *odm_model_set_models(const odm_model_set_t *set)
{
    return set->models;
}

void odm_model_set_retain(odm_model_set_t *set)
{
    atomic_fetch_add(&set->refs, 1);
}

void odm_model_set_release(odm_model_set_t *set)
{
    if (set == NULL || atomic_fetch_sub(&set->refs, 1) != 1)
        return;
    odm_models_free(set->models);
    free(set);
}

odm_api_models_t *odm_api_models_new(odm_model_set_t *set)
{
    odm_api_models_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    atomic_init(&h->current, set);
    atomic_init(&h->acquiring, 0);
    return h;
}

/* A swap waits while a reader is between its load and its retain, so that the reader's set
 * cannot reach zero references in that gap (all operations sequentially consistent). */
odm_model_set_t *odm_api_models_acquire(odm_api_models_t *h)
{
    atomic_fetch_add(&h->acquiring, 1);
    odm_model_set_t *set = atomic_load(&h->current);
    odm_model_set_retain(set);
    atomic_fetch_sub(&h->acquiring, 1);
    return set;
}

void odm_api_models_swap(odm_api_models_t *h, odm_model_set_t *set)
{
    odm_model_set_t *old = atomic_exchange(&h->current, set);
    while (atomic_load(&h->acquiring) != 0)
        sched_yield();
    odm_model_set_release(old);
}

void odm_api_models_free(odm_api_models_t *h)
{
    if (h == NULL)
        return;
    odm_model_set_release(atomic_load(&h->current));
    free(h);
}
