/* The store: the only code that includes mongoc. A client pool, CRUD operations with deadlines,
 * and driver errors mapped to odmd's error kinds.
 *
 * Every operation blocks and must run on a worker thread, never on a polling thread. Each one
 * takes a client from the pool (bounded wait) and gives it back before returning. `deadline_ms`
 * is on odm_now_ms()'s clock: an operation refuses to start (ODM_ERR_TIMEOUT) when less than
 * its worst-case duration (odm_store_op_budget_ms) remains, so it always ends by the deadline.
 * Errors: no reachable server or network failure -> ODM_ERR_UNAVAILABLE; duplicate key (11000)
 * -> ODM_ERR_CONFLICT; server time limit (50) -> ODM_ERR_TIMEOUT; anything else ODM_ERR_INTERNAL.
 * A read (find, count, ping) is tried once more after a broken connection while a whole budget
 * still fits before the deadline; a write never is (its reply may be what was lost), so an
 * ODM_ERR_UNAVAILABLE write may still have happened. Messages never show the URI's password. */
#ifndef ODMD_STORE_H
#define ODMD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

#include "odmd/error.h"

typedef struct odm_store odm_store_t;

typedef struct {
    const char *uri;        /* mongodb://... */
    const char *db;         /* database name; NULL: the URI's, else "odmd" (the name must
                               follow MongoDB's rules: 1..63 bytes, none of / \\ . space " $) */
    int request_timeout_ms; /* the budget every driver timeout is derived from */
    size_t max_clients;     /* pool size (at least the number of workers) */
} odm_store_options_t;

/* Creates the pool (maxPoolSize = max_clients) with its timeouts derived from
 * request_timeout_ms (at least 100): the URI's larger timeouts are lowered, its smaller ones
 * kept, and the driver's own retries turned off. Does not connect: a database that is down
 * at startup is not an error here. Call after odm_store_global_init(), before any worker
 * thread starts.
 * Returns: a new store, or NULL with ODM_ERR_CONFIG for a malformed URI or bad options. */
odm_store_t *odm_store_new(const odm_store_options_t *opts, odm_error_t *err);
void odm_store_free(odm_store_t *store);

/* mongoc_init and the driver's log handler (its lines go to odm_log, ERROR/CRITICAL as error,
 * WARNING as warn, the rest as debug); once, before any thread starts. */
void odm_store_global_init(void);
void odm_store_global_cleanup(void); /* mongoc_cleanup; last */

const char *odm_store_db_name(const odm_store_t *store);

/* The longest one operation can take with the configured driver timeouts. */
int64_t odm_store_op_budget_ms(const odm_store_t *store);

/* The driver timeouts in force, derived from request_timeout_ms (store.c explains the split);
 * a smaller value given in the URI is kept. */
typedef struct {
    int32_t wait_queue_ms;       /* waitQueueTimeoutMS: waiting for a pooled client */
    int32_t server_selection_ms; /* serverSelectionTimeoutMS */
    int32_t connect_ms;          /* connectTimeoutMS (TCP and TLS) */
    int32_t socket_ms;           /* socketTimeoutMS: each handshake and each operation's I/O */
    int32_t max_time_ms;         /* maxTimeMS sent with each operation, below socket_ms */
} odm_store_timeouts_t;

void odm_store_get_timeouts(const odm_store_t *store, odm_store_timeouts_t *out);

bool odm_store_ping(odm_store_t *store, int64_t deadline_ms, odm_error_t *err);

/* Finds one document. *found tells whether one matched; `out` is initialised (bson_init or a
 * copy of the document) in both cases and the caller bson_destroy()s it. projection may be NULL. */
bool odm_store_find_one(odm_store_t *store, const char *collection, const bson_t *filter,
                        const bson_t *projection, bson_t *out, bool *found, int64_t deadline_ms,
                        odm_error_t *err);

/* Called for each document of a find (borrowed, valid during the call); return false to stop
 * (the find then fails with the error the callback set). */
typedef bool (*odm_store_each_fn)(const bson_t *doc, void *arg, odm_error_t *err);

/* Runs find with filter, sort (may be NULL), projection (may be NULL), skip and limit. */
bool odm_store_find(odm_store_t *store, const char *collection, const bson_t *filter,
                    const bson_t *sort, const bson_t *projection, int64_t skip, int64_t limit,
                    odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err);

bool odm_store_count(odm_store_t *store, const char *collection, const bson_t *filter,
                     int64_t *count, int64_t deadline_ms, odm_error_t *err);

bool odm_store_insert(odm_store_t *store, const char *collection, const bson_t *doc,
                      int64_t deadline_ms, odm_error_t *err);

/* Replaces the one document matching `filter` (the caller's compare-and-set guard) by `doc`;
 * *matched is 0 or 1. */
bool odm_store_replace(odm_store_t *store, const char *collection, const bson_t *filter,
                       const bson_t *doc, int64_t *matched, int64_t deadline_ms, odm_error_t *err);

/* Deletes the one document matching `filter`; *deleted is 0 or 1. */
bool odm_store_delete(odm_store_t *store, const char *collection, const bson_t *filter,
                      int64_t *deleted, int64_t deadline_ms, odm_error_t *err);

/* Creates an index through the createIndexes command; idempotent for an identical index. */
bool odm_store_create_index(odm_store_t *store, const char *collection, const bson_t *keys,
                            const char *name, bool unique, int64_t deadline_ms, odm_error_t *err);

/* Runs an aggregation pipeline (an array document) on the collection and hands every result
 * document to `each` (borrowed, valid during the call). */
bool odm_store_aggregate(odm_store_t *store, const char *collection, const bson_t *pipeline,
                         odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err);

/* Hands up to n documents of the collection to `each`: a random sample through the $sample
 * stage (*random set), or, when the server refuses that stage before any document (a MongoDB
 * stand-in without it), the first n in natural order (*random false). */
bool odm_store_sample(odm_store_t *store, const char *collection, int64_t n,
                      odm_store_each_fn each, void *arg, bool *random, int64_t deadline_ms,
                      odm_error_t *err);

/* Hands the description of every index of the collection ({"v", "key", "name", "unique"?, ...}
 * as listIndexes answers) to `each`; a collection that does not exist has none (not an error). */
bool odm_store_list_indexes(odm_store_t *store, const char *collection, odm_store_each_fn each,
                            void *arg, int64_t deadline_ms, odm_error_t *err);

#endif
