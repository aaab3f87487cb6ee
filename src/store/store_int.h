/* The store's internals shared by its files: the store object, the operation runner and the
 * driver-error mapping. Nothing outside src/store/ includes this (it includes mongoc). */
#ifndef ODMD_STORE_INT_H
#define ODMD_STORE_INT_H

#include <stdatomic.h>

#include <mongoc/mongoc.h>

#include "odmd/store.h"

/* A collection handle kept for one client (colls.c). */
struct store__cached_coll {
    char *name; /* owned copy */
    mongoc_collection_t *coll;
};

/* One pooled client's collection handles (colls.c). */
typedef struct {
    _Atomic(mongoc_client_t *) client; /* claimed once, never released; NULL: free slot */
    struct store__cached_coll *items;  /* touched only by the thread holding the client */
    size_t n, cap;
} store__client_colls_t;

struct odm_store {
    mongoc_client_pool_t *pool;
    store__client_colls_t *colls; /* open-addressed by client; NULL: handles not kept */
    size_t colls_size;            /* slots, a power of two (0 with colls NULL) */
    char *db;                     /* database name, owned */
    char *password; /* the URI's password (owned, may be NULL): redacted from messages */
    odm_store_timeouts_t timeouts; /* the driver timeouts in force */
    int64_t budget_ms;             /* worst case of one operation, see store.c */
    bool driver_retries_reads;     /* the URI's retryReads=true: the driver may try twice */
    bool driver_retries_writes;    /* the URI's retryWrites=true: likewise for writes */
    size_t max_clients;            /* the pool's size */
    /* metrics (relaxed atomics, read by odm_store_stats) */
    atomic_ullong in_use;                 /* clients popped, not yet pushed back */
    atomic_ullong waits, wait_timeouts;   /* pops that found no free client, and gave up */
    atomic_ullong wait_us;                /* time those pops waited */
    atomic_ullong errors[ODM_ERR__COUNT]; /* store__fail's errors by kind */
};

typedef struct store__op store__op_t;

/* One attempt of an operation on a popped client. Returns true on success; on failure either
 * fills `error` from the driver (error->domain != 0; `reply` may hold the server's reply), or
 * leaves error->domain at 0 after setting `err` itself (a callback's verdict). `reply` is
 * bson_init'ed on entry and destroyed by the runner; the attempt may hand it to a driver call
 * that re-initialises it. Every collection and cursor made from `client` is destroyed before
 * the attempt returns. */
typedef bool (*store__attempt_fn)(store__op_t *op, mongoc_client_t *client, bson_t *reply,
                                  bson_error_t *error, odm_error_t *err);

struct store__op {
    odm_store_t *store;     /* set by store__run */
    const char *what;       /* "find in", "insert into": prefixes error messages */
    const char *collection; /* borrowed; NULL for database-wide commands */
    bool read;              /* a read: one retry after a broken connection, when time allows */
    bool progressed;        /* set by the attempt once results reached the caller: no retry */
    store__attempt_fn attempt;
    void *arg; /* the attempt's own arguments */
};

/* Sets up the per-client collection handles for up to max_clients clients, or none when
 * !enabled. Returns false on out of memory. */
bool store__colls_init(odm_store_t *store, size_t max_clients, bool enabled);

/* Destroys every kept handle; before the pool is destroyed. */
void store__colls_release(odm_store_t *store);

/* Returns: the collection `name` of the store's database on `client` (popped by the caller):
 * borrowed when kept for the client (*to_destroy NULL), otherwise new and also in *to_destroy
 * for the caller to destroy (mongoc_collection_destroy(NULL) does nothing). */
mongoc_collection_t *store__collection(odm_store_t *store, mongoc_client_t *client,
                                       const char *name, mongoc_collection_t **to_destroy);

/* A client from the pool (waiting at most waitQueueTimeoutMS), or NULL; and giving it back.
 * Both keep the pool's metrics (stats.c). */
mongoc_client_t *store__pop(odm_store_t *store);
void store__push(odm_store_t *store, mongoc_client_t *client);

/* Runs op against the store: refuses to start when less than the budget remains before
 * deadline_ms (ODM_ERR_TIMEOUT), pops a client (bounded wait; ODM_ERR_UNAVAILABLE), runs one
 * attempt (a read once more after a broken connection if the budget still fits), pushes the
 * client back, and maps a driver error into err. */
bool store__run(odm_store_t *store, store__op_t *op, int64_t deadline_ms, odm_error_t *err);

/* Hands every document of `cursor` to `each` (op->progressed set on the first), then destroys
 * the cursor (which kills the server's cursor when `each` stopped early). Returns: false when
 * `each` refused a document (err is its own) or the cursor failed (error, and the server's
 * error document in reply). */
bool store__drain(store__op_t *op, mongoc_cursor_t *cursor, odm_store_each_fn each, void *arg,
                  bson_t *reply, bson_error_t *error, odm_error_t *err);

/* Appends maxTimeMS (the server-side limit of one operation) to an options document. */
void store__append_max_time(const odm_store_t *store, bson_t *opts);

/* Maps a driver error (and the server's reply, may be NULL or empty) into err with the message
 * "<what> '<collection>': <detail>", the URI's password never included. Returns false. */
bool store__fail(odm_store_t *store, const store__op_t *op, const bson_error_t *error,
                 const bson_t *reply, odm_error_t *err);

/* Maps one entry of a bulk write's writeErrors ({index, code, errmsg[, keyPattern]}) into err,
 * as store__fail maps an operation's error. */
void store__write_error(odm_store_t *store, const store__op_t *op, const bson_t *write_error,
                        odm_error_t *err);

/* Replaces every occurrence of secret (may be NULL or empty) in msg by "***", in place. */
void store__redact(char *msg, size_t size, const char *secret);

#endif
