/* The MongoDB URI's options reach the server as given: a write concern in the URI
 * (w=majority, wtimeoutMS, journal) is the writeConcern of every insert, update and delete odmd
 * sends, readConcernLevel is the readConcern of its reads, the URI's maxPoolSize bounds the
 * connections odmd opens, and retryWrites=true is used (said in the log: each attempt then gets
 * half of the request's database share). Commands are read on the wire by a proxy
 * (tests/support/cmdcount). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bson/bson.h>

#include "check.h"
#include "harness.h"
#include "support/cmdcount.h"

#define WTIMEOUT 2500
#define PARALLEL 8
#define POOL 2

static e2e_db_t *db;

/* The body of the last `command` seen by the proxy; false (with a failure) when none. */
static bool last_body(odm_test_cmdcount_t *p, const char *command, bson_t *out, uint8_t **data)
{
    size_t len = 0;
    *data = odm_test_cmdcount_last(p, command, &len);
    bool ok = *data != NULL && bson_init_static(out, *data, len);
    CHECK_MSG(ok, "no '%s' command was seen", command);
    return ok;
}

/* The last `command` carried writeConcern {w: "majority", j: true, wtimeout: WTIMEOUT}. */
static void expect_write_concern(odm_test_cmdcount_t *p, const char *command)
{
    bson_t body;
    uint8_t *data;
    if (!last_body(p, command, &body, &data))
        return;
    bson_iter_t w, j, wt;
    bool has_w = bson_iter_init(&w, &body) && bson_iter_find_descendant(&w, "writeConcern.w", &w);
    bool has_j = bson_iter_init(&j, &body) && bson_iter_find_descendant(&j, "writeConcern.j", &j);
    bool has_wt =
        bson_iter_init(&wt, &body) && bson_iter_find_descendant(&wt, "writeConcern.wtimeout", &wt);
    char *json = bson_as_relaxed_extended_json(&body, NULL);
    CHECK_MSG(has_w && BSON_ITER_HOLDS_UTF8(&w) &&
                  strcmp(bson_iter_utf8(&w, NULL), "majority") == 0,
              "%s: writeConcern.w is not \"majority\": %s", command, json);
    CHECK_MSG(has_j && bson_iter_as_bool(&j), "%s: writeConcern.j is not true: %s", command, json);
    CHECK_MSG(has_wt && bson_iter_as_int64(&wt) == WTIMEOUT,
              "%s: writeConcern.wtimeout is not %d: %s", command, WTIMEOUT, json);
    bson_free(json);
    free(data);
}

static void expect_read_concern(odm_test_cmdcount_t *p, const char *command)
{
    bson_t body;
    uint8_t *data;
    if (!last_body(p, command, &body, &data))
        return;
    bson_iter_t it;
    bool has = bson_iter_init(&it, &body) &&
               bson_iter_find_descendant(&it, "readConcern.level", &it) &&
               BSON_ITER_HOLDS_UTF8(&it) && strcmp(bson_iter_utf8(&it, NULL), "majority") == 0;
    char *json = bson_as_relaxed_extended_json(&body, NULL);
    CHECK_MSG(has, "%s: readConcern.level is not \"majority\": %s", command, json);
    bson_free(json);
    free(data);
}

static bool log_has(const e2e_odmd_t *o, const char *text)
{
    char *log = e2e_read_file(o->log_path);
    bool found = log && strstr(log, text);
    free(log);
    return found;
}

static void test_concerns(void)
{
    odm_test_cmdcount_t *proxy = odm_test_cmdcount_start(e2e_db_port(db));
    if (proxy == NULL) {
        CHECK_MSG(false, "no proxy");
        return;
    }
    const char *uri = F("mongodb://127.0.0.1:%d/?w=majority&wtimeoutMS=%d&journal=true"
                        "&readConcernLevel=majority&retryWrites=true",
                        odm_test_cmdcount_port(proxy), WTIMEOUT);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = uri, .schemas = e2e_schemas_with_extras()};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start on %s", uri);
        odm_test_cmdcount_stop(proxy);
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    e2e_post(&c, &r, "/api/notes", Q("{'title':'concerned'}"));
    EXPECT_STATUS(r, 201);
    expect_write_concern(proxy, "insert");
    char path[128], etag[128];
    snprintf(path, sizeof path, "/api/notes/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    snprintf(etag, sizeof etag, "If-Match: %s",
             e2e_header(&r, "ETag") ? e2e_header(&r, "ETag") : "\"-\"");
    e2e_patch(&c, &r, path, Q("{'title':'changed'}"), etag);
    EXPECT_STATUS(r, 200);
    expect_write_concern(proxy, "update");
    e2e_get(&c, &r, "/api/notes?limit=5");
    EXPECT_STATUS(r, 200);
    expect_read_concern(proxy, "find");
    e2e_delete(&c, &r, path, NULL);
    EXPECT_STATUS(r, 204);
    expect_write_concern(proxy, "delete");
    /* honoured: a standalone stand-in takes no retryable writes (no txnNumber on the wire), so
     * the log is what shows it: each attempt gets half of the request's database share */
    CHECK_MSG(log_has(&o, "retryWrites=true: the driver may try an operation twice"),
              "the log does not say that retryWrites=true is used");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    odm_test_cmdcount_stop(proxy);
}

typedef struct {
    const char *url;
    long status;
} poster_t;

static void *post_one(void *arg)
{
    poster_t *p = arg;
    e2e_client_t c;
    e2e_client_init(&c, p->url);
    e2e_resp_t r = {0};
    e2e_post(&c, &r, "/api/notes", Q("{'title':'pooled'}"));
    p->status = r.status;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

/* maxPoolSize=2 with 8 workers and 8 slow inserts at once: the inserts queue for the 2 pooled
 * clients, and odmd opens no more connections than those and the monitor's. */
static void test_pool_size(void)
{
    odm_test_cmdcount_t *proxy = odm_test_cmdcount_start(e2e_db_port(db));
    if (proxy == NULL) {
        CHECK_MSG(false, "no proxy");
        return;
    }
    const char *uri =
        F("mongodb://127.0.0.1:%d/?maxPoolSize=%d", odm_test_cmdcount_port(proxy), POOL);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = uri,
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--workers", "8", "--request-timeout", "30000", NULL}};
    if (!e2e_odmd_start(&o, &opts) || !e2e_wait_status(o.url, "/readyz", 200, 30000)) {
        CHECK_MSG(false, "odmd did not start on %s", uri);
        odm_test_cmdcount_stop(proxy);
        return;
    }
    odm_test_cmdcount_delay(proxy, "insert", 150);
    pthread_t t[PARALLEL];
    poster_t p[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        p[i] = (poster_t){o.url, 0};
        pthread_create(&t[i], NULL, post_one, &p[i]);
    }
    for (int i = 0; i < PARALLEL; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(p[i].status, 201);
    }
    long conns = odm_test_cmdcount_connections(proxy);
    /* the pool's clients, plus the monitor's connection and, on servers that stream their
     * state, its round-trip-time connection */
    CHECK_MSG(conns <= POOL + 2, "%ld connections with maxPoolSize=%d", conns, POOL);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    odm_test_cmdcount_stop(proxy);
}

int main(void)
{
    e2e_init("uri_options");
    db = e2e_db_start();
    if (db == NULL)
        return e2e_finish(1);
    test_concerns();
    test_pool_size();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_uri_options"));
}
