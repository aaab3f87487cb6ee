/* The store's lifecycle: the driver's global state and log routing, the client pool with its
 * timeouts derived from one budget, and the runner every operation goes through. */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#include "odmd/clock.h"
#include "odmd/log.h"

/* One operation's worst case is a share of the request timeout T (--request-timeout):
 *
 *   waitQueueTimeoutMS        5%   waiting for a free pooled client
 * + serverSelectionTimeoutMS 20%   waiting for a usable server; meanwhile the pool's monitor
 *                                  rescans every 500 ms, so a restarted server is found
 * + connectTimeoutMS         10%   a new connection's TCP (and TLS) setup
 * + socketTimeoutMS          15%   a new connection's handshake (hello, speculative auth)
 * + socketTimeoutMS          15%   the operation's own round trip
 * = 65% of T: odm_store_op_budget_ms().
 *
 * maxTimeMS is 10% of T and at most two thirds of socketTimeoutMS, so a slow query is stopped
 * and reported by the server (ODM_ERR_TIMEOUT) before the socket gives up on it.
 *
 * An operation starts only while the whole budget fits before the request's deadline, so the
 * 35% left is what a request may spend queued, or on earlier operations, and still run one
 * more. The driver's own retries (retryReads, retryWrites) add a second full attempt, so they
 * are off unless the URI turns them on: then each attempt gets half of every share above and
 * the budget counts two attempts (still 65% of T). Without them the runner retries a read once
 * itself after a broken connection, and only when the budget still fits (a server restarted
 * unnoticed between two heartbeats then costs no failed request). socketTimeoutMS bounds each read
 * and write, not a whole exchange: a server trickling a reply byte by byte, or a multi-round SCRAM
 * conversation, can stretch an attempt further; mongo-c-driver 1.23 has no client-side operation
 * timeout.
 *
 * A timeout the URI sets smaller than its share is kept (it only shrinks the budget); a larger
 * one, or 0 ("no limit" to the driver), is replaced by the share. */
enum {
    WAIT_QUEUE_PCT = 5,
    SERVER_SELECTION_PCT = 20,
    CONNECT_PCT = 10,
    SOCKET_PCT = 15,
    MAX_TIME_PCT = 10,
    MIN_REQUEST_TIMEOUT_MS = 100, /* below it the shares round down to nothing useful */
};

#define DEFAULT_DB "odmd"
#define DB_NAME_MAX 63  /* MongoDB's limit on a database name, in bytes */
#define DB_NAME_ECHO 64 /* longest part of a bad name quoted back in a message */

/* The driver's levels (mongoc_log_level_t, ERROR = 0 .. TRACE = 6) to odmd's. The driver's
 * MESSAGE and INFO lines are chatty (a line per failed monitor check), hence DEBUG. */
static const odm_log_level_t driver_log_levels[] = {
    [MONGOC_LOG_LEVEL_ERROR] = ODM_LOG_ERROR,  [MONGOC_LOG_LEVEL_CRITICAL] = ODM_LOG_ERROR,
    [MONGOC_LOG_LEVEL_WARNING] = ODM_LOG_WARN, [MONGOC_LOG_LEVEL_MESSAGE] = ODM_LOG_DEBUG,
    [MONGOC_LOG_LEVEL_INFO] = ODM_LOG_DEBUG,   [MONGOC_LOG_LEVEL_DEBUG] = ODM_LOG_DEBUG,
    [MONGOC_LOG_LEVEL_TRACE] = ODM_LOG_DEBUG,
};

static void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                       void *data)
{
    odm_log_level_t ours = ODM_LOG_DEBUG;
    if ((size_t)level < sizeof driver_log_levels / sizeof driver_log_levels[0])
        ours = driver_log_levels[level];
    if (!odm_log_enabled(ours))
        return;
    odm_log(ours, "mongoc %s: %s", domain ? domain : "-", message ? message : "");
}

void odm_store_global_init(void)
{
    mongoc_log_set_handler(driver_log, NULL);
    mongoc_log_trace_disable();
    mongoc_init();
}

void odm_store_global_cleanup(void)
{
    mongoc_cleanup();
}

static int32_t share_of(int request_timeout_ms, int pct)
{
    int64_t v = (int64_t)request_timeout_ms * pct / 100;
    return v < 1 ? 1 : (int32_t)v;
}

/* Sets `option` to `ours` unless the URI already holds a positive value not above it.
 * Returns: the value in force, or 0 when the driver refused to set it. */
static int32_t cap_timeout(mongoc_uri_t *uri, const char *option, int32_t ours)
{
    int32_t theirs = mongoc_uri_get_option_as_int32(uri, option, 0);
    if (theirs > 0 && theirs <= ours)
        return theirs;
    if (theirs > 0)
        odm_info("mongodb uri: %s %d ms lowered to %d ms to fit the request timeout", option,
                 (int)theirs, (int)ours);
    return mongoc_uri_set_option_as_int32(uri, option, ours) ? ours : 0;
}

/* Whether the URI itself sets `option` to true (mongoc defaults the retries on; odmd does not). */
static bool uri_turns_on(const mongoc_uri_t *uri, const char *option)
{
    return mongoc_uri_get_option_as_bool(uri, option, false);
}

static bool apply_timeouts(odm_store_t *store, mongoc_uri_t *uri, int request_timeout_ms,
                           odm_error_t *err)
{
    odm_store_timeouts_t *to = &store->timeouts;
    store->driver_retries_reads = uri_turns_on(uri, MONGOC_URI_RETRYREADS);
    store->driver_retries_writes = uri_turns_on(uri, MONGOC_URI_RETRYWRITES);
    int attempts = store->driver_retries_reads || store->driver_retries_writes ? 2 : 1;
    int t = request_timeout_ms / attempts; /* one attempt's share of the request */
    to->wait_queue_ms =
        cap_timeout(uri, MONGOC_URI_WAITQUEUETIMEOUTMS, share_of(t, WAIT_QUEUE_PCT));
    to->server_selection_ms =
        cap_timeout(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, share_of(t, SERVER_SELECTION_PCT));
    to->connect_ms = cap_timeout(uri, MONGOC_URI_CONNECTTIMEOUTMS, share_of(t, CONNECT_PCT));
    to->socket_ms = cap_timeout(uri, MONGOC_URI_SOCKETTIMEOUTMS, share_of(t, SOCKET_PCT));
    if (!to->wait_queue_ms || !to->server_selection_ms || !to->connect_ms || !to->socket_ms)
        return odm_error_set(err, ODM_ERR_CONFIG, "cannot set the database timeouts");
    to->max_time_ms = share_of(t, MAX_TIME_PCT);
    int32_t below_socket = (int32_t)((int64_t)to->socket_ms * 2 / 3);
    if (to->max_time_ms > below_socket)
        to->max_time_ms = below_socket > 0 ? below_socket : 1;
    store->budget_ms = attempts * ((int64_t)to->wait_queue_ms + to->server_selection_ms +
                                   to->connect_ms + 2 * (int64_t)to->socket_ms);
    return true;
}

/* Logs what the URI's retries (if it turns them on) do to each attempt's timeouts. */
static void log_retries(const odm_store_t *store)
{
    if (store->driver_retries_reads || store->driver_retries_writes)
        odm_info("mongodb uri: %s%s%s: the driver may try an operation twice, so each attempt "
                 "gets half of the request timeout's database share",
                 store->driver_retries_writes ? "retryWrites=true" : "",
                 store->driver_retries_writes && store->driver_retries_reads ? ", " : "",
                 store->driver_retries_reads ? "retryReads=true" : "");
}

/* Pool behaviour that keeps odmd serving across a database restart and answering 503 fast
 * while it is down: selection waits (never "try once") so a restarted server is picked up by
 * the monitor's rescans within serverSelectionTimeoutMS. The pool holds the URI's maxPoolSize
 * when it sets one (sizing is the operator's: docs/deploy.md), else *max_clients; *max_clients
 * is set to the size in force. */
static bool apply_pool_options(const odm_store_t *store, mongoc_uri_t *uri, size_t *max_clients,
                               odm_error_t *err)
{
    int32_t theirs = mongoc_uri_get_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, 0);
    if (theirs > 0)
        *max_clients = (size_t)theirs;
    log_retries(store);
    bool ok =
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, (int32_t)*max_clients) &&
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_SERVERSELECTIONTRYONCE, false) &&
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYREADS, store->driver_retries_reads) &&
        mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, store->driver_retries_writes);
    if (ok && mongoc_uri_get_appname(uri) == NULL)
        ok = mongoc_uri_set_appname(uri, "odmd");
    return ok ? true : odm_error_set(err, ODM_ERR_CONFIG, "cannot set the database pool options");
}

/* Redacts the user and password a malformed URI string carries (between "://" and its last
 * '@') from a parse error message: the driver quotes either when it refuses it. */
static void redact_userinfo(char *msg, size_t size, const char *uri)
{
    const char *start = strstr(uri, "://");
    const char *at = strrchr(uri, '@');
    if (start == NULL || at == NULL || at < start + 3)
        return;
    start += 3;
    char *userinfo = bson_strndup(start, (size_t)(at - start));
    store__redact(msg, size, userinfo);
    char *colon = strchr(userinfo, ':');
    if (colon != NULL) {
        store__redact(msg, size, colon + 1);
        *colon = '\0';
    }
    store__redact(msg, size, userinfo);
    bson_free(userinfo);
}

static mongoc_uri_t *parse_uri(const char *text, odm_error_t *err)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(text, &error);
    if (uri == NULL) {
        redact_userinfo(error.message, sizeof error.message, text);
        odm_error_set(err, ODM_ERR_CONFIG, "malformed mongodb uri: %s", error.message);
    }
    return uri;
}

static bool check_options(const odm_store_options_t *opts, odm_error_t *err)
{
    if (opts->uri == NULL || opts->uri[0] == '\0')
        return odm_error_set(err, ODM_ERR_CONFIG, "no mongodb uri");
    if (opts->request_timeout_ms < MIN_REQUEST_TIMEOUT_MS)
        return odm_error_set(err, ODM_ERR_CONFIG, "request timeout %d ms is below %d ms",
                             opts->request_timeout_ms, MIN_REQUEST_TIMEOUT_MS);
    if (opts->max_clients == 0 || opts->max_clients > INT32_MAX)
        return odm_error_set(err, ODM_ERR_CONFIG, "database pool size %zu out of range",
                             opts->max_clients);
    return true;
}

/* MongoDB's rules for database names on every platform: 1..63 bytes, none of / \ . space " $,
 * no control characters. */
static bool check_db_name(const char *name, odm_error_t *err)
{
    size_t len = strlen(name);
    if (len == 0 || len > DB_NAME_MAX)
        return odm_error_set(err, ODM_ERR_CONFIG, "a database name has 1 to %d bytes", DB_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f || strchr("/\\. \"$", c) != NULL)
            return odm_error_set(err, ODM_ERR_CONFIG,
                                 "'%.*s' is not a database name (no / \\ . space \" $)",
                                 (int)(len < DB_NAME_ECHO ? len : DB_NAME_ECHO), name);
    }
    return true;
}

/* The database: opts->db, else the URI's (the driver percent-decodes it), else "odmd". */
static bool resolve_db(odm_store_t *store, const odm_store_options_t *opts, const mongoc_uri_t *uri,
                       odm_error_t *err)
{
    const char *db = opts->db;
    const char *from = "--db";
    if (db == NULL) {
        db = mongoc_uri_get_database(uri);
        from = "the database in the mongodb uri";
    }
    if (db == NULL || (opts->db == NULL && db[0] == '\0'))
        db = DEFAULT_DB;
    if (!check_db_name(db, err)) {
        odm_error_prefix(err, "%s", from);
        return false;
    }
    store->db = bson_strdup(db);
    return true;
}

odm_store_t *odm_store_new(const odm_store_options_t *opts, odm_error_t *err)
{
    if (!check_options(opts, err))
        return NULL;
    mongoc_uri_t *uri = parse_uri(opts->uri, err);
    if (uri == NULL)
        return NULL;
    odm_store_t *store = calloc(1, sizeof *store);
    if (store == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        goto fail_uri;
    }
    store->password = bson_strdup(mongoc_uri_get_password(uri)); /* NULL stays NULL */
    size_t max_clients = opts->max_clients;
    if (!resolve_db(store, opts, uri, err) ||
        !apply_timeouts(store, uri, opts->request_timeout_ms, err) ||
        !apply_pool_options(store, uri, &max_clients, err))
        goto fail_store;
    /* with minPoolSize the pool may destroy clients: no handles kept past an operation */
    bool keep_handles = mongoc_uri_get_option_as_int32(uri, MONGOC_URI_MINPOOLSIZE, 0) <= 0;
    store->max_clients = max_clients;
    if (!store__colls_init(store, max_clients, keep_handles)) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        goto fail_store;
    }
    bson_error_t error;
    store->pool = mongoc_client_pool_new_with_error(uri, &error);
    if (store->pool == NULL) {
        store__redact(error.message, sizeof error.message, store->password);
        odm_error_set(err, ODM_ERR_CONFIG, "cannot create the database pool: %s", error.message);
        goto fail_store;
    }
    mongoc_client_pool_set_error_api(store->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_uri_destroy(uri);
    const odm_store_timeouts_t *to = &store->timeouts;
    odm_debug(
        "database '%s': pool wait %d ms, server selection %d ms, connect %d ms, socket %d ms, "
        "maxTimeMS %d: at most %lld ms per operation",
        store->db, (int)to->wait_queue_ms, (int)to->server_selection_ms, (int)to->connect_ms,
        (int)to->socket_ms, (int)to->max_time_ms, (long long)store->budget_ms);
    return store;

fail_store:
    odm_store_free(store);
fail_uri:
    mongoc_uri_destroy(uri);
    return NULL;
}

void odm_store_free(odm_store_t *store)
{
    if (store == NULL)
        return;
    store__colls_release(store); /* the handles first: they belong to the pool's clients */
    if (store->pool != NULL)
        mongoc_client_pool_destroy(store->pool);
    bson_free(store->db);
    bson_free(store->password);
    free(store);
}

const char *odm_store_db_name(const odm_store_t *store)
{
    return store->db;
}

int64_t odm_store_op_budget_ms(const odm_store_t *store)
{
    return store->budget_ms;
}

void odm_store_get_timeouts(const odm_store_t *store, odm_store_timeouts_t *out)
{
    *out = store->timeouts;
}

void store__append_max_time(const odm_store_t *store, bson_t *opts)
{
    BSON_APPEND_INT32(opts, "maxTimeMS", store->timeouts.max_time_ms);
}

/* A read is tried again (unless the driver does, retryReads=true) after a broken connection (the
 * pool then reconnects, or the server is marked unknown and selection waits for it), once, and only
 * while a whole budget still fits. */
static bool worth_retrying(const odm_store_t *store, const store__op_t *op, int attempt,
                           const bson_error_t *error, int64_t deadline_ms)
{
    return op->read && !store->driver_retries_reads && attempt == 1 && !op->progressed &&
           error->domain == MONGOC_ERROR_STREAM && deadline_ms - odm_now_ms() >= store->budget_ms;
}

bool store__run(odm_store_t *store, store__op_t *op, int64_t deadline_ms, odm_error_t *err)
{
    op->store = store;
    int64_t left = deadline_ms - odm_now_ms();
    if (left < store->budget_ms)
        return odm_error_set(err, ODM_ERR_TIMEOUT,
                             "deadline too close: %lld ms left, a database operation may take "
                             "%lld ms",
                             (long long)left, (long long)store->budget_ms);
    for (int attempt = 1;; attempt++) {
        mongoc_client_t *client = store__pop(store);
        if (client == NULL)
            return odm_error_set(err, ODM_ERR_UNAVAILABLE,
                                 "no database connection free within %d ms",
                                 (int)store->timeouts.wait_queue_ms);
        bson_error_t error = {0};
        bson_t reply = BSON_INITIALIZER;
        bool ok = op->attempt(op, client, &reply, &error, err);
        store__push(store, client);
        if (ok || error.domain == 0) {
            bson_destroy(&reply);
            return ok;
        }
        if (!worth_retrying(store, op, attempt, &error, deadline_ms)) {
            store__fail(store, op, &error, &reply, err);
            bson_destroy(&reply);
            return false;
        }
        store__redact(error.message, sizeof error.message, store->password);
        odm_debug("%s '%s': retrying once: %s", op->what, op->collection ? op->collection : "-",
                  error.message);
        bson_destroy(&reply);
    }
}
