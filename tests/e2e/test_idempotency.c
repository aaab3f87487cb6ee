/* Idempotency-Key on POST: a retry gets the first answer again without a second write, a reused
 * key with another request is refused (422), a key whose first request is still running is
 * refused (409), across two odmd processes on one database too, and a client that went away
 * after sending gets exactly one document when it retries. Requests are held in flight through a
 * proxy that delays the database's insert commands (tests/support/cmdcount). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "check.h"
#include "harness.h"
#include "support/cmdcount.h"
#include "support/rawhttp.h"

#define COLL "e2e_notes"

static e2e_db_t *db;
static odm_test_cmdcount_t *proxy;
static e2e_odmd_t odmd, odmd2;
static e2e_client_t client;
#define C (&client)
#define DBURI (e2e_db_uri(db))
#define DBNAME (odmd.db_name)

static int64_t count(void)
{
    return e2e_mongo_count(DBURI, DBNAME, COLL);
}

static bool post_to(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *key,
                    const char *body)
{
    const char *headers[] = {"Content-Type: application/json", F("Idempotency-Key: %s", key), NULL};
    return e2e_request(c, r, "POST", path, headers, body, (size_t)-1);
}

static bool post_key(e2e_client_t *c, e2e_resp_t *r, const char *key, const char *body)
{
    return post_to(c, r, "/api/notes", key, body);
}

static void expect_same(const e2e_resp_t *a, const e2e_resp_t *b)
{
    CHECK_MSG(a->status == b->status, "status %ld then %ld", a->status, b->status);
    CHECK_MSG(a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0,
              "bodies differ: %.300s / %.300s", a->body, b->body);
    static const char *const names[] = {"Location", "ETag", "Content-Type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *x = e2e_header(a, names[i]), *y = e2e_header(b, names[i]);
        CHECK_MSG((x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0), "%s: '%s' then '%s'",
                  names[i], x ? x : "(none)", y ? y : "(none)");
    }
}

/* A retry with the same key and body: the same answer, marked as replayed, one document. */
static void test_replay(void)
{
    e2e_resp_t a = {0}, b = {0};
    int64_t before = count();
    post_key(C, &a, "k-replay", Q("{'title':'replay'}"));
    EXPECT_STATUS(a, 201);
    CHECK(e2e_header(&a, "Location") != NULL && e2e_header(&a, "ETag") != NULL);
    CHECK(e2e_header(&a, "Idempotency-Replayed") == NULL);
    post_key(C, &b, "\"k-replay\"", Q("{'title':'replay'}"));
    EXPECT_STATUS(b, 201);
    expect_same(&a, &b);
    EXPECT_HEADER(b, "Idempotency-Replayed", "true");
    CHECK_INT(count(), before + 1);

    /* the same key with another body, or on another model's path: 422 */
    post_key(C, &b, "k-replay", Q("{'title':'other'}"));
    EXPECT_PROBLEM(b, 422);
    CHECK_INT(count(), before + 1);

    /* a body refused on arrival does not claim the key: nothing ran */
    post_key(C, &a, "k-invalid", Q("{'title':5}"));
    EXPECT_PROBLEM(a, 422);
    post_key(C, &b, "k-invalid", Q("{'title':'valid now'}"));
    EXPECT_STATUS(b, 201);
    CHECK(e2e_header(&b, "Idempotency-Replayed") == NULL);
    CHECK_INT(count(), before + 2);

    /* the same for a body too large to be checked on arrival (checked on a worker) */
    char big[6000];
    int n = snprintf(big, sizeof big, "{\"title\":5,\"pad\":\"");
    memset(big + n, 'p', 5000);
    snprintf(big + n + 5000, sizeof big - (size_t)n - 5000, "\"}");
    post_key(C, &a, "k-invalid-big", big);
    EXPECT_PROBLEM(a, 422);
    post_key(C, &b, "k-invalid-big", Q("{'title':'valid now'}"));
    EXPECT_STATUS(b, 201);
    CHECK_INT(count(), before + 3);

    /* a 4xx of a request that ran is kept and replayed, even once the cause is gone */
    post_to(C, &a, "/api/widgets", NULL, Q("{'_id':7,'label':'seven'}"));
    EXPECT_STATUS(a, 201);
    post_to(C, &a, "/api/widgets", "k-dup", Q("{'_id':7,'label':'again'}"));
    EXPECT_PROBLEM(a, 409);
    e2e_delete(C, &b, "/api/widgets/7", NULL);
    EXPECT_STATUS(b, 204);
    post_to(C, &b, "/api/widgets", "k-dup", Q("{'_id':7,'label':'again'}"));
    expect_same(&a, &b);
    EXPECT_HEADER(b, "Idempotency-Replayed", "true");
    e2e_resp_free(&a);
    e2e_resp_free(&b);
}

static void test_bad_keys(void)
{
    e2e_resp_t r = {0};
    char longkey[300];
    memset(longkey, 'x', 256);
    longkey[256] = '\0';
    const char *bad[] = {longkey, "\"\"", "a\\b", "\"unterminated"};
    int64_t before = count();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        post_key(C, &r, bad[i], Q("{'title':'bad key'}"));
        EXPECT_PROBLEM(r, 400);
    }
    longkey[255] = '\0';
    post_key(C, &r, longkey, Q("{'title':'long key'}"));
    EXPECT_STATUS(r, 201);
    CHECK_INT(count(), before + 1);
    e2e_resp_free(&r);
}

typedef struct {
    const char *url;
    const char *key;
    const char *body;
    e2e_resp_t r;
} sender_t;

static void *send_one(void *arg)
{
    sender_t *s = arg;
    e2e_client_t c;
    e2e_client_init(&c, s->url);
    post_key(&c, &s->r, s->key, s->body);
    e2e_client_release(&c);
    return NULL;
}

/* While the first request with a key runs (its inserts held), a second one gets 409. */
static void test_in_flight(void)
{
    int64_t before = count();
    odm_test_cmdcount_delay(proxy, "insert", 1500);
    sender_t first = {.url = odmd.url, .key = "k-flight", .body = Q("{'title':'flight'}")};
    pthread_t t;
    pthread_create(&t, NULL, send_one, &first);
    e2e_sleep_ms(700); /* the claim is held until 1500 ms: it is there by 2200 ms */
    e2e_resp_t r = {0};
    post_key(C, &r, "k-flight", Q("{'title':'flight'}"));
    pthread_join(t, NULL);
    odm_test_cmdcount_delay(proxy, "insert", 0);
    EXPECT_PROBLEM(r, 409);
    EXPECT_STATUS(first.r, 201);
    post_key(C, &r, "k-flight", Q("{'title':'flight'}"));
    expect_same(&first.r, &r);
    CHECK_INT(count(), before + 1);
    e2e_resp_free(&r);
    e2e_resp_free(&first.r);
}

/* Two odmd processes on one database, the same key sent to both at once: one document. */
static void test_two_processes(void)
{
    int64_t before = count();
    odm_test_cmdcount_delay(proxy, "insert", 500);
    sender_t s[2] = {{.url = odmd.url, .key = "k-two", .body = Q("{'title':'two'}")},
                     {.url = odmd2.url, .key = "k-two", .body = Q("{'title':'two'}")}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, send_one, &s[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    odm_test_cmdcount_delay(proxy, "insert", 0);
    int created = 0;
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(s[i].r.status == 201 || s[i].r.status == 409, "status %ld: %.300s", s[i].r.status,
                  s[i].r.body);
        created += s[i].r.status == 201;
    }
    CHECK_INT(created, 1);
    CHECK_INT(count(), before + 1);
    for (int i = 0; i < 2; i++)
        e2e_resp_free(&s[i].r);
}

/* A client that sends and goes away before the answer, then retries with its key (until the
 * first request is over): exactly one document, and the retry is answered 201. */
static void test_killed_client(void)
{
    int64_t before = count();
    const char *body = Q("{'title':'killed'}");
    char req[512];
    int n =
        snprintf(req, sizeof req,
                 "POST /api/notes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                 "application/json\r\nIdempotency-Key: k-killed\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
    odm_test_cmdcount_delay(proxy, "insert", 300);
    int fd = raw_connect((unsigned)odmd.port);
    CHECK(fd >= 0 && raw_send_all(fd, req, (size_t)n));
    close(fd);
    e2e_sleep_ms(100);
    e2e_resp_t r = {0};
    int64_t deadline = e2e_now_ms() + 10000;
    do {
        post_key(C, &r, "k-killed", body);
        if (r.status != 409)
            break;
        e2e_sleep_ms(100);
    } while (e2e_now_ms() < deadline);
    odm_test_cmdcount_delay(proxy, "insert", 0);
    EXPECT_STATUS(r, 201);
    post_key(C, &r, "k-killed", body);
    EXPECT_STATUS(r, 201);
    EXPECT_HEADER(r, "Idempotency-Replayed", "true");
    CHECK_INT(count(), before + 1);
    e2e_resp_free(&r);
}

/* A pending record whose odmd died mid-request: taken over once its takeoverAt passed, a 409
 * before. The fingerprint does not depend on the key: one from a finished request serves. */
static void test_abandoned(void)
{
    e2e_resp_t r = {0};
    const char *body = Q("{'title':'abandoned'}");
    post_key(C, &r, "k-fp", body);
    EXPECT_STATUS(r, 201);
    json_t *done = e2e_mongo_find(DBURI, DBNAME, "odmd_idempotency", Q("{'_id':'notes:k-fp'}"));
    const char *fp = json_string_value(json_object_get(done, "fingerprint"));
    CHECK_MSG(fp != NULL, "no record for notes:k-fp");
    long long now = (long long)time(NULL) * 1000;
    const char *fmt = "{\"_id\":\"notes:%s\",\"fingerprint\":\"%s\",\"state\":\"pending\","
                      "\"createdAt\":{\"$date\":{\"$numberLong\":\"%lld\"}},"
                      "\"takeoverAt\":{\"$date\":{\"$numberLong\":\"%lld\"}}}";
    CHECK(e2e_mongo_insert(DBURI, DBNAME, "odmd_idempotency",
                           F(fmt, "k-dead", fp ? fp : "", now, now - 1000)));
    CHECK(e2e_mongo_insert(DBURI, DBNAME, "odmd_idempotency",
                           F(fmt, "k-alive", fp ? fp : "", now, now + 3600000)));
    json_decref(done);
    int64_t before = count();
    post_key(C, &r, "k-alive", body);
    EXPECT_PROBLEM(r, 409);
    post_key(C, &r, "k-dead", body);
    EXPECT_STATUS(r, 201);
    CHECK(e2e_header(&r, "Idempotency-Replayed") == NULL);
    post_key(C, &r, "k-dead", body);
    EXPECT_HEADER(r, "Idempotency-Replayed", "true");
    CHECK_INT(count(), before + 1);
    e2e_resp_free(&r);
}

/* A bulk POST with a key: replayed whole, its documents written once. */
static void test_bulk(void)
{
    int64_t before = count();
    e2e_resp_t a = {0}, b = {0};
    const char *body = Q("[{'title':'bulk 1'},{'title':'bulk 2'},{'title':3}]");
    post_key(C, &a, "k-bulk", body);
    EXPECT_STATUS(a, 200);
    CHECK_INT(count(), before + 2);
    post_key(C, &b, "k-bulk", body);
    expect_same(&a, &b);
    EXPECT_HEADER(b, "Idempotency-Replayed", "true");
    CHECK_INT(count(), before + 2);
    e2e_resp_free(&a);
    e2e_resp_free(&b);
}

/* The expireAfterSeconds of the index `name` of db.coll; -1 when absent, -2 without it. */
static int64_t index_ttl(const char *coll, const char *name)
{
    mongoc_client_t *mc = mongoc_client_new(DBURI);
    if (mc == NULL)
        return -1;
    mongoc_collection_t *c = mongoc_client_get_collection(mc, DBNAME, coll);
    mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(c, NULL);
    const bson_t *index;
    int64_t ttl = -1;
    while (ttl == -1 && mongoc_cursor_next(cursor, &index)) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, index, "name") || !BSON_ITER_HOLDS_UTF8(&it) ||
            strcmp(bson_iter_utf8(&it, NULL), name) != 0)
            continue;
        ttl = bson_iter_init_find(&it, index, "expireAfterSeconds") ? bson_iter_as_int64(&it) : -2;
    }
    mongoc_cursor_destroy(cursor);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(mc);
    return ttl;
}

/* The records' TTL index exists once odmd is ready, with --idempotency-ttl's expiry. */
static void test_ttl_index(void)
{
    if (e2e_is_ferretdb()) {
        /* FerretDB v1.24.2 refuses TTL indexes: odmd logs that the records will not expire
         * there and stays ready (src/api/indexes.c) */
        printf("idempotency: TTL index check skipped on FerretDB (no TTL indexes)\n");
        return;
    }
    CHECK_INT(index_ttl("odmd_idempotency", "createdAt_ttl"), 3600);
}

static bool start(void)
{
    db = e2e_db_start();
    if (db == NULL)
        return false;
    proxy = odm_test_cmdcount_start(e2e_db_port(db));
    if (proxy == NULL)
        return false;
    char uri[64];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", odm_test_cmdcount_port(proxy));
    e2e_odmd_opts_t opts = {
        .mongo_uri = uri,
        .schemas = e2e_schemas_with_extras(),
        .args = {"--request-timeout", "20000", "--idempotency-ttl", "3600", NULL}};
    if (!e2e_odmd_start(&odmd, &opts))
        return false;
    opts.db_name = odmd.db_name;
    if (!e2e_odmd_start(&odmd2, &opts))
        return false;
    e2e_client_init(&client, odmd.url);
    return e2e_wait_status(odmd.url, "/readyz", 200, 30000) &&
           e2e_wait_status(odmd2.url, "/readyz", 200, 30000);
}

int main(void)
{
    e2e_init("idempotency");
    if (start()) {
        test_ttl_index();
        test_replay();
        test_bad_keys();
        test_bulk();
        test_abandoned();
        test_in_flight();
        test_two_processes();
        test_killed_client();
    } else {
        CHECK_MSG(false, "environment did not start");
    }
    e2e_client_release(&client);
    if (odmd2.pid > 0)
        CHECK_INT(e2e_odmd_stop(&odmd2, 10000), 0);
    if (odmd.pid > 0)
        CHECK_INT(e2e_odmd_stop(&odmd, 10000), 0);
    odm_test_cmdcount_stop(proxy);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_idempotency"));
}
