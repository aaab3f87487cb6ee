/* Collection handles kept per pooled client, made once instead of once per operation.
 *
 * mongoc_client_get_collection copies the client's read preference, read and write concerns
 * and the names on every call, and destroying the handle frees them again: 4k instructions of
 * the store's share of a GET by id. A pooled client is used by one thread at a time (between
 * pop and push, which order everything through the pool's lock), so the handles made from it
 * are too, and need no lock of their own: only finding a client's slot is shared, through an
 * open-addressed table whose keys are claimed with compare-and-swap and never released.
 *
 * Handles outlive operations only while the pool keeps its clients for its whole life, which
 * it does unless the URI sets minPoolSize (then mongoc_client_pool_push may destroy one, and a
 * new client could reuse its address): that store makes a handle per operation, as before. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_CLIENTS 4096   /* slots: past this many clients, handles are not kept */
#define CACHE_MAX_COLLECTIONS 64 /* per client: past this many names, not kept */

bool store__colls_init(odm_store_t *store, size_t max_clients, bool enabled)
{
    store->colls = NULL;
    store->colls_size = 0;
    if (!enabled)
        return true;
    size_t size = 16;
    while (size < 2 * max_clients && size < CACHE_MAX_CLIENTS)
        size *= 2;
    store->colls = calloc(size, sizeof *store->colls);
    if (store->colls == NULL)
        return false;
    store->colls_size = size;
    return true;
}

void store__colls_release(odm_store_t *store)
{
    for (size_t i = 0; i < store->colls_size; i++) {
        store__client_colls_t *slot = &store->colls[i];
        for (size_t k = 0; k < slot->n; k++) {
            mongoc_collection_destroy(slot->items[k].coll);
            free(slot->items[k].name);
        }
        free(slot->items);
    }
    free(store->colls);
    store->colls = NULL;
    store->colls_size = 0;
}

/* The slot of `client`, claimed on its first use; NULL when the table is full or off. */
static store__client_colls_t *slot_of(odm_store_t *store, mongoc_client_t *client)
{
    if (store->colls_size == 0)
        return NULL;
    size_t mask = store->colls_size - 1;
    size_t i = (size_t)(((uintptr_t)client >> 4) * 0x9E3779B97F4A7C15ull >> 32) & mask;
    for (size_t probe = 0; probe <= mask; probe++, i = (i + 1) & mask) {
        store__client_colls_t *slot = &store->colls[i];
        mongoc_client_t *owner = atomic_load_explicit(&slot->client, memory_order_acquire);
        if (owner == NULL &&
            atomic_compare_exchange_strong_explicit(&slot->client, &owner, client,
                                                    memory_order_acq_rel, memory_order_acquire))
            return slot;
        if (owner == client)
            return slot;
    }
    return NULL;
}

/* Keeps a new handle in the slot; false when it cannot (then the caller owns it). */
static bool keep(store__client_colls_t *slot, const char *name, mongoc_collection_t *coll)
{
    if (slot->n == slot->cap) {
        if (slot->cap == CACHE_MAX_COLLECTIONS)
            return false;
        size_t cap = slot->cap ? slot->cap * 2 : 4;
        struct store__cached_coll *items = realloc(slot->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        slot->items = items;
        slot->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return false;
    slot->items[slot->n].name = copy;
    slot->items[slot->n].coll = coll;
    slot->n++;
    return true;
}

mongoc_collection_t *store__collection(odm_store_t *store, mongoc_client_t *client,
                                       const char *name, mongoc_collection_t **to_destroy)
{
    *to_destroy = NULL;
    store__client_colls_t *slot = slot_of(store, client);
    if (slot != NULL)
        for (size_t k = 0; k < slot->n; k++)
            if (strcmp(slot->items[k].name, name) == 0)
                return slot->items[k].coll;
    mongoc_collection_t *coll = mongoc_client_get_collection(client, store->db, name);
    if (slot == NULL || !keep(slot, name, coll))
        *to_destroy = coll;
    return coll;
}
