/* The pool's metrics: clients in use, waits for a free one, and the errors store__fail maps. */
#include "store_int.h"

#include "odmd/clock.h"

static void add(atomic_ullong *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

/* A free client at once (try_pop never blocks; it fails only when every client is taken), else
 * the bounded wait of pop, counted. */
mongoc_client_t *store__pop(odm_store_t *store)
{
    mongoc_client_t *client = mongoc_client_pool_try_pop(store->pool);
    if (client == NULL) {
        int64_t started = odm_now_us();
        add(&store->waits, 1);
        client = mongoc_client_pool_pop(store->pool);
        add(&store->wait_us, (uint64_t)(odm_now_us() - started));
        if (client == NULL)
            add(&store->wait_timeouts, 1);
    }
    if (client != NULL)
        add(&store->in_use, 1);
    return client;
}

void store__push(odm_store_t *store, mongoc_client_t *client)
{
    mongoc_client_pool_push(store->pool, client);
    atomic_fetch_sub_explicit(&store->in_use, 1, memory_order_relaxed);
}

void odm_store_stats(odm_store_t *store, odm_store_stats_t *out)
{
    out->max_clients = store->max_clients;
    out->in_use = atomic_load_explicit(&store->in_use, memory_order_relaxed);
    out->waits = atomic_load_explicit(&store->waits, memory_order_relaxed);
    out->wait_timeouts = atomic_load_explicit(&store->wait_timeouts, memory_order_relaxed);
    out->wait_us = atomic_load_explicit(&store->wait_us, memory_order_relaxed);
    for (size_t i = 0; i < ODM_ERR__COUNT; i++)
        out->errors[i] = atomic_load_explicit(&store->errors[i], memory_order_relaxed);
}
