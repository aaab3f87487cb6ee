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
    size_t max_clients;     /* pool size unless the URI sets maxPoolSize (at least the number
                               of workers) */
} odm_store_options_t;

/* Creates the pool (maxPoolSize: the URI's when it sets one, else max_clients) with its
 * timeouts derived from request_timeout_ms (at least 100): the URI's larger timeouts are
 * lowered, its smaller ones kept, and the driver's own retries turned off (retryWrites and
 * retryReads asked for in the URI are replaced, with a log line). Every other URI option
 * (readPreference, w, wtimeoutMS, journal, readConcernLevel, tls, replicaSet, ...) is the
 * driver's and is used as given. Does not connect: a database that is down at startup is not
 * an error here. Call after odm_store_global_init(), before any worker
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

/* What the store has done so far, for metrics. */
typedef struct {
    uint64_t max_clients;            /* the pool's size */
    uint64_t in_use;                 /* clients taken by operations now */
    uint64_t waits;                  /* operations that found no free client and waited */
    uint64_t wait_timeouts;          /* of those, the ones that gave up (503) */
    uint64_t wait_us;                /* time spent waiting */
    uint64_t errors[ODM_ERR__COUNT]; /* driver errors by the kind they map to (see above) */
} odm_store_stats_t;

/* Fills out from relaxed atomic counters (no lock). Any thread. */
void odm_store_stats(odm_store_t *store, odm_store_stats_t *out);

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

/* An export's query: every matching document, read in batches of batch_size (the driver
 * holds one batch at a time), the server's time over all batches bounded by max_time_ms. */
typedef struct {
    const bson_t *filter;
    const bson_t *sort;       /* may be NULL */
    const bson_t *projection; /* may be NULL */
    int64_t skip;
    int32_t batch_size;  /* at least 1 */
    int32_t max_time_ms; /* at least 1 */
} odm_store_scan_t;

/* Runs the query of q, calling each for every document in order; each may block (the client
 * stays taken meanwhile). Stopping early kills the server's cursor. Not retried once a document
 * reached each. */
bool odm_store_scan(odm_store_t *store, const char *collection, const odm_store_scan_t *q,
                    odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err);

/* Runs the distinct command on `field` (a dotted path) with filter (may be NULL). `values` is
 * initialised in every case (the caller bson_destroy()s it) and on success holds the values as a
 * BSON array document ("0", "1", ...). A result past the server's document limit is
 * ODM_ERR_TOO_LARGE. */
bool odm_store_distinct(odm_store_t *store, const char *collection, const char *field,
                        const bson_t *filter, bson_t *values, int64_t deadline_ms,
                        odm_error_t *err);

bool odm_store_count(odm_store_t *store, const char *collection, const bson_t *filter,
                     int64_t *count, int64_t deadline_ms, odm_error_t *err);

bool odm_store_insert(odm_store_t *store, const char *collection, const bson_t *doc,
                      int64_t deadline_ms, odm_error_t *err);

/* The fate of one document of odm_store_insert_many. */
typedef enum {
    ODM_STORE_INSERTED,  /* written */
    ODM_STORE_REFUSED,   /* the server refused it: `err` says why (ODM_ERR_CONFLICT for a
                            duplicate key, the message naming the index and its fields) */
    ODM_STORE_NOT_TRIED, /* ordered: after a refused one, so not written */
} odm_store_item_status_t;

typedef struct {
    odm_store_item_status_t status;
    odm_error_t err; /* ODM_STORE_REFUSED only */
} odm_store_item_t;

/* Inserts docs[0..n) (borrowed, n >= 1) with one insertMany (the driver splits it into batches
 * the server takes). Unordered: every document is tried; ordered: the first refused document
 * stops the rest. `items` (n of them, the caller's) gets each document's fate, in the order of
 * `docs`.
 * Returns: true when the server answered for every document (some may be refused: see items);
 * false with err when the operation as a whole failed (database unavailable, time limit):
 * some documents may then have been written, and `items` means nothing. */
bool odm_store_insert_many(odm_store_t *store, const char *collection, const bson_t *const *docs,
                           size_t n, bool ordered, odm_store_item_t *items, int64_t deadline_ms,
                           odm_error_t *err);

/* Replaces the one document matching `filter` (the caller's compare-and-set guard) by `doc`;
 * *matched is 0 or 1. */
bool odm_store_replace(odm_store_t *store, const char *collection, const bson_t *filter,
                       const bson_t *doc, int64_t *matched, int64_t deadline_ms, odm_error_t *err);

/* Deletes the one document matching `filter`; *deleted is 0 or 1. */
bool odm_store_delete(odm_store_t *store, const char *collection, const bson_t *filter,
                      int64_t *deleted, int64_t deadline_ms, odm_error_t *err);

/* Deletes every document matching `filter`; *deleted is how many. Not atomic as a whole: on a
 * failure part of them may be gone. */
bool odm_store_delete_many(odm_store_t *store, const char *collection, const bson_t *filter,
                           int64_t *deleted, int64_t deadline_ms, odm_error_t *err);

/* Applies `update` (update operators: {$set: ...}) to every document matching `filter`;
 * *modified is how many changed. Not atomic as a whole. */
bool odm_store_update_many(odm_store_t *store, const char *collection, const bson_t *filter,
                           const bson_t *update, int64_t *modified, int64_t deadline_ms,
                           odm_error_t *err);

/* Creates an index through the createIndexes command; idempotent for an identical index. */
bool odm_store_create_index(odm_store_t *store, const char *collection, const bson_t *keys,
                            const char *name, bool unique, int64_t deadline_ms, odm_error_t *err);

/* Creates the TTL index `name` on {field: 1}: the server removes a document once its date in
 * `field` is expire_after_s seconds old (about a minute later). An index of that name with
 * another expiry is an error (ODM_ERR_INTERNAL). */
bool odm_store_create_ttl_index(odm_store_t *store, const char *collection, const char *field,
                                int64_t expire_after_s, const char *name, int64_t deadline_ms,
                                odm_error_t *err);

/* Runs an aggregation pipeline (an array document) on the collection and hands every result
 * document to `each` (borrowed, valid during the call). */
bool odm_store_aggregate(odm_store_t *store, const char *collection, const bson_t *pipeline,
                         odm_store_each_fn each, void *arg, int64_t deadline_ms, odm_error_t *err);

/* odm_store_aggregate for a pipeline a client shaped (a named aggregation's parameters, a Data
 * API pipeline): a command error from the server without a kind of its own (not a time limit,
 * not unavailability) is the pipeline's fault, ODM_ERR_BAD_QUERY with the server's message,
 * instead of ODM_ERR_INTERNAL. */
bool odm_store_aggregate_client(odm_store_t *store, const char *collection, const bson_t *pipeline,
                                odm_store_each_fn each, void *arg, int64_t deadline_ms,
                                odm_error_t *err);

/* Hands up to n documents of the collection to `each`: a random sample through the $sample
 * stage (*random set), or, when the server refuses that stage before any document (a MongoDB
 * stand-in without it), the first n in natural order (*random false). */
bool odm_store_sample(odm_store_t *store, const char *collection, int64_t n, odm_store_each_fn each,
                      void *arg, bool *random, int64_t deadline_ms, odm_error_t *err);

/* Hands the description of every index of the collection ({"v", "key", "name", "unique"?, ...}
 * as listIndexes answers) to `each`; a collection that does not exist has none (not an error). */
bool odm_store_list_indexes(odm_store_t *store, const char *collection, odm_store_each_fn each,
                            void *arg, int64_t deadline_ms, odm_error_t *err);

#endif
