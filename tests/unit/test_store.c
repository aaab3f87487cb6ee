/* Unit tests for src/store: options and timeouts, error mapping, and CRUD against a real
 * MongoDB-wire server, including a paused, a killed and a restarted database. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "odmd/clock.h"
#include "odmd/log.h"
#include "odmd/store.h"
#include "store/store_int.h"
#include "support/dbserver.h"

enum {
    T_MS = 4000,     /* request timeout of the database tests */
    SLACK_MS = 1000, /* what an outage may add to T before the test calls it a hang */
};

static char db_name[64];
static bool db_is_ferretdb;
static const char *coll = "people";

static odm_store_t *new_store(const char *uri, int timeout_ms, size_t clients, odm_error_t *err)
{
    odm_store_options_t opts = {
        .uri = uri, .db = db_name, .request_timeout_ms = timeout_ms, .max_clients = clients};
    return odm_store_new(&opts, err);
}

static int64_t deadline(void)
{
    return odm_now_ms() + T_MS;
}

static int64_t get_int(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, doc, key) ? bson_iter_as_int64(&it) : -1;
}

/* A port nothing listens on: bound and closed again. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- without a database ---- */

static void test_options(void)
{
    odm_error_t err = {0};
    odm_store_timeouts_t to;
    odm_store_options_t opts = {
        .uri = "mongodb://127.0.0.1:1/fromuri", .request_timeout_ms = 10000, .max_clients = 4};
    odm_store_t *s = odm_store_new(&opts, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK_STR(odm_store_db_name(s), "fromuri");
    odm_store_get_timeouts(s, &to);
    CHECK_INT(to.wait_queue_ms, 500);
    CHECK_INT(to.server_selection_ms, 2000);
    CHECK_INT(to.connect_ms, 1000);
    CHECK_INT(to.socket_ms, 1500);
    CHECK_INT(to.max_time_ms, 1000);
    CHECK_INT(odm_store_op_budget_ms(s), 500 + 2000 + 1000 + 2 * 1500);
    CHECK(odm_store_op_budget_ms(s) < opts.request_timeout_ms);
    odm_store_free(s);

    opts.uri = "mongodb://127.0.0.1:1/?socketTimeoutMS=300&serverSelectionTimeoutMS=90000"
               "&connectTimeoutMS=0";
    s = odm_store_new(&opts, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    CHECK_STR(odm_store_db_name(s), "odmd");
    odm_store_get_timeouts(s, &to);
    CHECK_INT(to.socket_ms, 300);            /* smaller: kept */
    CHECK_INT(to.server_selection_ms, 2000); /* larger: capped */
    CHECK_INT(to.connect_ms, 1000);          /* 0 is "no limit": capped */
    CHECK(to.max_time_ms < to.socket_ms);
    CHECK_INT(odm_store_op_budget_ms(s), 500 + 2000 + 1000 + 2 * 300);
    odm_store_free(s);

    /* the URI's retries are honoured: each attempt gets half of every share, and the budget
     * counts two attempts */
    opts.uri = "mongodb://127.0.0.1:1/?retryWrites=true";
    s = odm_store_new(&opts, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    odm_store_get_timeouts(s, &to);
    CHECK_INT(to.socket_ms, 750);
    CHECK_INT(to.server_selection_ms, 1000);
    CHECK_INT(to.max_time_ms, 500);
    CHECK_INT(odm_store_op_budget_ms(s), 2 * (250 + 1000 + 500 + 2 * 750));
    CHECK(odm_store_op_budget_ms(s) < opts.request_timeout_ms);
    odm_store_free(s);

    opts.db = "given";
    opts.uri = "mongodb://127.0.0.1:1/fromuri";
    s = odm_store_new(&opts, &err);
    CHECK(s != NULL && strcmp(odm_store_db_name(s), "given") == 0);
    odm_store_free(s);
    odm_store_free(NULL);
}

static void test_bad_options(void)
{
    odm_error_t err = {0};
    odm_store_options_t opts = {
        .uri = "http://127.0.0.1", .request_timeout_ms = 1000, .max_clients = 1};
    CHECK(odm_store_new(&opts, &err) == NULL);
    CHECK_INT(err.kind, ODM_ERR_CONFIG);
    CHECK_MSG(strstr(err.message, "malformed mongodb uri") != NULL, "%s", err.message);

    /* the driver quotes a password it refuses: the message must not */
    opts.uri = "mongodb://alice:se:cr3t@127.0.0.1/";
    CHECK(odm_store_new(&opts, &err) == NULL);
    CHECK_INT(err.kind, ODM_ERR_CONFIG);
    CHECK_MSG(strstr(err.message, "cr3t") == NULL, "%s", err.message);

    opts.uri = "mongodb://127.0.0.1";
    opts.request_timeout_ms = 10;
    CHECK(odm_store_new(&opts, &err) == NULL && err.kind == ODM_ERR_CONFIG);
    opts.request_timeout_ms = 1000;
    opts.max_clients = 0;
    CHECK(odm_store_new(&opts, &err) == NULL && err.kind == ODM_ERR_CONFIG);
}

/* The database: --db, else the URI's (decoded by the driver), else "odmd"; either way a name
 * MongoDB accepts. */
static void test_db_name(void)
{
    static const struct {
        const char *uri, *db, *want;
    } cases[] = {
        {"mongodb://127.0.0.1:1/shop?appname=x", NULL, "shop"},
        {"mongodb://127.0.0.1:1", NULL, "odmd"},
        {"mongodb://127.0.0.1:1/", NULL, "odmd"},
        {"mongodb://127.0.0.1:1/?replicaSet=rs0", NULL, "odmd"},
        {"mongodb://u:p%40ss@127.0.0.1:1,127.0.0.1:2/db2", NULL, "db2"},
        {"mongodb://127.0.0.1:1/my%2Ddb", NULL, "my-db"},
        {"mongodb://%2Ftmp%2Fmongodb-27017.sock/local", NULL, "local"},
        {"mongodb://127.0.0.1:1/other", "named", "named"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        odm_error_t err = {0};
        odm_store_options_t opts = {
            .uri = cases[i].uri, .db = cases[i].db, .request_timeout_ms = 1000, .max_clients = 1};
        odm_store_t *s = odm_store_new(&opts, &err);
        CHECK_MSG(s != NULL, "%s: %s", cases[i].uri, err.message);
        if (s != NULL)
            CHECK_STR(odm_store_db_name(s), cases[i].want);
        odm_store_free(s);
    }
    static const struct {
        const char *uri, *db;
    } bad[] = {
        {"mongodb://127.0.0.1:1/a.b", NULL},
        {"mongodb://127.0.0.1:1/has$", NULL},
        {"mongodb://127.0.0.1:1/a%2Fb", NULL},
        {"mongodb://127.0.0.1:1/a%zz", NULL},
        {"mongodb://127.0.0.1:1/0123456789012345678901234567890123456789012345678901234567890123",
         NULL},
        {"mongodb://127.0.0.1:1/ok", "a.b"},
        {"mongodb://127.0.0.1:1/ok", "a/b"},
        {"mongodb://127.0.0.1:1/ok", "a b"},
        {"mongodb://127.0.0.1:1/ok", "$x"},
        {"mongodb://127.0.0.1:1/ok", ""},
        {"mongodb://127.0.0.1:1/ok",
         "0123456789012345678901234567890123456789012345678901234567890123"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        odm_error_t err = {0};
        odm_store_options_t opts = {
            .uri = bad[i].uri, .db = bad[i].db, .request_timeout_ms = 1000, .max_clients = 1};
        odm_store_t *s = odm_store_new(&opts, &err);
        CHECK_MSG(s == NULL, "%s / %s accepted", bad[i].uri, bad[i].db ? bad[i].db : "-");
        odm_store_free(s);
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
    }
}

static void test_redact(void)
{
    char msg[32] = "user bob pw hunter2 hunter2";
    store__redact(msg, sizeof msg, "hunter2");
    CHECK_MSG(strcmp(msg, "user bob pw *** ***") == 0, "got '%s'", msg);
    store__redact(msg, sizeof msg, NULL);
    CHECK_MSG(strcmp(msg, "user bob pw *** ***") == 0, "got '%s'", msg);
    char small[8] = "a-a-a-a";
    store__redact(small, sizeof small, "a"); /* the mask grows the line: cut, never overflow */
    CHECK_MSG(strcmp(small, "***-***") == 0, "got '%s'", small);
    char stars[16] = "x*y";
    store__redact(stars, sizeof stars, "*"); /* a secret inside the mask must not loop */
    CHECK_MSG(strcmp(stars, "x***y") == 0, "got '%s'", stars);
}

static odm_error_kind_t mapped(odm_store_t *s, uint32_t domain, uint32_t code, const char *msg,
                               const bson_t *reply, odm_error_t *err)
{
    bson_error_t e;
    bson_set_error(&e, domain, code, "%s", msg);
    store__op_t op = {.what = "insert into", .collection = "people"};
    store__fail(s, &op, &e, reply, err);
    return err->kind;
}

static void test_error_mapping(void)
{
    odm_error_t err = {0};
    odm_store_options_t opts = {.uri = "mongodb://bob:pw-Secret9@127.0.0.1:1",
                                .request_timeout_ms = 1000,
                                .max_clients = 1};
    odm_store_t *s = odm_store_new(&opts, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s == NULL)
        return;
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER_SELECTION, MONGOC_ERROR_SERVER_SELECTION_FAILURE,
                     "No suitable servers", NULL, &err),
              ODM_ERR_UNAVAILABLE);
    CHECK_INT(
        mapped(s, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET, "socket error", NULL, &err),
        ODM_ERR_UNAVAILABLE);
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER, 50, "operation exceeded time limit", NULL, &err),
              ODM_ERR_TIMEOUT);
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER, 91, "shutdown in progress", NULL, &err),
              ODM_ERR_UNAVAILABLE);
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER, 2, "BadValue", NULL, &err), ODM_ERR_INTERNAL);
    /* client-side codes share numbers with server codes: only server domains carry those */
    CHECK_INT(mapped(s, MONGOC_ERROR_QUERY, 50, "legacy", NULL, &err), ODM_ERR_INTERNAL);
    CHECK_INT(mapped(s, MONGOC_ERROR_CLIENT, 11000, "client", NULL, &err), ODM_ERR_INTERNAL);
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER, 11000, "E11000 dup", NULL, &err), ODM_ERR_CONFLICT);
    CHECK_STR(err.message, "insert into 'people': duplicate key");

    bson_t *reply = BCON_NEW("writeErrors", "[", "{", "index", BCON_INT32(0), "code",
                             BCON_INT32(11000), "keyPattern", "{", "email", BCON_INT32(1), "}",
                             "keyValue", "{", "email", BCON_UTF8("a@b.c"), "}", "}", "]");
    CHECK_INT(mapped(s, MONGOC_ERROR_SERVER, 11000,
                     "E11000 duplicate key error collection: d.people index: email_1 dup key: "
                     "{ email: \"a@b.c\" }",
                     reply, &err),
              ODM_ERR_CONFLICT);
    CHECK_STR(err.message, "insert into 'people': duplicate key for 'email' (index 'email_1')");
    bson_destroy(reply);

    CHECK_INT(mapped(s, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                     "auth with bob:pw-Secret9 failed", NULL, &err),
              ODM_ERR_UNAVAILABLE);
    CHECK_MSG(strstr(err.message, "pw-Secret9") == NULL, "%s", err.message);
    /* every mapping above is counted by its kind (odmd_mongo_errors_total) */
    odm_store_stats_t stats;
    odm_store_stats(s, &stats);
    CHECK_INT(stats.errors[ODM_ERR_UNAVAILABLE], 4);
    CHECK_INT(stats.errors[ODM_ERR_TIMEOUT], 1);
    CHECK_INT(stats.errors[ODM_ERR_INTERNAL], 3);
    CHECK_INT(stats.errors[ODM_ERR_CONFLICT], 2);
    CHECK_INT(stats.max_clients, 1);
    odm_store_free(s);
}

/* Nothing listens: UNAVAILABLE within the budget; a deadline closer than the budget: TIMEOUT
 * at once. The URI's password never shows. */
static void test_no_server(int port)
{
    char uri[128];
    snprintf(uri, sizeof uri, "mongodb://bob:Hidden-pw7@127.0.0.1:%d/?authSource=admin", port);
    odm_error_t err = {0};
    odm_store_t *s = new_store(uri, 2000, 2, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s == NULL)
        return;
    int64_t t0 = odm_now_ms();
    CHECK(!odm_store_ping(s, t0 + 2000, &err));
    int64_t took = odm_now_ms() - t0;
    CHECK_INT(err.kind, ODM_ERR_UNAVAILABLE);
    CHECK_MSG(took <= odm_store_op_budget_ms(s) + 200, "took %lld ms", (long long)took);
    CHECK_MSG(strstr(err.message, "Hidden-pw7") == NULL, "%s", err.message);

    bson_t filter = BSON_INITIALIZER;
    int64_t n = -1;
    t0 = odm_now_ms();
    CHECK(!odm_store_count(s, coll, &filter, &n, t0 + odm_store_op_budget_ms(s) - 1, &err));
    CHECK_INT(err.kind, ODM_ERR_TIMEOUT);
    CHECK_MSG(strstr(err.message, "deadline too close") != NULL, "%s", err.message);
    CHECK(odm_now_ms() - t0 < 50);
    odm_store_free(s);
}

/* ---- against a server ---- */

static void insert_people(odm_store_t *s, int from, int to)
{
    odm_error_t err = {0};
    for (int i = from; i <= to; i++) {
        char name[16], email[32];
        snprintf(name, sizeof name, "p%d", i);
        snprintf(email, sizeof email, "p%d@example.org", i);
        bson_t *doc = BCON_NEW("_id", BCON_INT32(i), "name", BCON_UTF8(name), "n", BCON_INT32(i),
                               "v", BCON_INT32(1), "email", BCON_UTF8(email));
        CHECK_MSG(odm_store_insert(s, coll, doc, deadline(), &err), "%s", err.message);
        bson_destroy(doc);
    }
}

static void test_indexes_and_duplicates(odm_store_t *s)
{
    odm_error_t err = {0};
    bson_t *keys = BCON_NEW("email", BCON_INT32(1));
    CHECK_MSG(odm_store_create_index(s, coll, keys, "email_1", true, deadline(), &err), "%s",
              err.message);
    CHECK_MSG(odm_store_create_index(s, coll, keys, "email_1", true, deadline(), &err), "%s",
              err.message);
    bson_destroy(keys);

    insert_people(s, 1, 5);
    bson_t *dup_id = BCON_NEW("_id", BCON_INT32(3), "email", BCON_UTF8("other@example.org"));
    CHECK(!odm_store_insert(s, coll, dup_id, deadline(), &err));
    CHECK_INT(err.kind, ODM_ERR_CONFLICT);
    CHECK_MSG(strstr(err.message, "duplicate key") != NULL, "%s", err.message);
    bson_destroy(dup_id);

    bson_t *dup_email = BCON_NEW("_id", BCON_INT32(42), "email", BCON_UTF8("p2@example.org"));
    CHECK(!odm_store_insert(s, coll, dup_email, deadline(), &err));
    CHECK_INT(err.kind, ODM_ERR_CONFLICT);
    /* MongoDB and mongo-java-server name the index; FerretDB's message does not */
    CHECK_MSG(db_is_ferretdb || strstr(err.message, "email_1") != NULL, "%s", err.message);
    bson_destroy(dup_email);
}

static void test_find_one(odm_store_t *s)
{
    odm_error_t err = {0};
    bson_t out;
    bool found = false;
    bson_t *filter = BCON_NEW("_id", BCON_INT32(3));
    CHECK_MSG(odm_store_find_one(s, coll, filter, NULL, &out, &found, deadline(), &err), "%s",
              err.message);
    CHECK(found);
    CHECK_INT(get_int(&out, "n"), 3);
    bson_destroy(&out);

    bson_t *projection = BCON_NEW("name", BCON_INT32(1));
    CHECK(odm_store_find_one(s, coll, filter, projection, &out, &found, deadline(), &err));
    CHECK(found && get_int(&out, "n") == -1 && bson_has_field(&out, "name"));
    bson_destroy(&out);
    bson_destroy(projection);
    bson_destroy(filter);

    filter = BCON_NEW("_id", BCON_INT32(99));
    found = true;
    CHECK(odm_store_find_one(s, coll, filter, NULL, &out, &found, deadline(), &err));
    CHECK(!found);
    CHECK(bson_empty(&out));
    bson_destroy(&out);
    bson_destroy(filter);
}

typedef struct {
    int64_t n[8];
    int count;
    int stop_after; /* 0: never */
    int keys;       /* fields of the last document */
} collected_t;

static bool collect(const bson_t *doc, void *arg, odm_error_t *err)
{
    collected_t *c = arg;
    if (c->count < 8)
        c->n[c->count] = get_int(doc, "n");
    c->count++;
    c->keys = (int)bson_count_keys(doc);
    if (c->stop_after && c->count >= c->stop_after)
        return odm_error_set(err, ODM_ERR_VALIDATION, "stopped after %d", c->count);
    return true;
}

static void test_find(odm_store_t *s)
{
    odm_error_t err = {0};
    bson_t filter = BSON_INITIALIZER;
    bson_t *sort = BCON_NEW("n", BCON_INT32(-1));
    bson_t *projection = BCON_NEW("n", BCON_INT32(1), "_id", BCON_INT32(0));
    collected_t c = {0};
    CHECK_MSG(
        odm_store_find(s, coll, &filter, sort, projection, 1, 2, collect, &c, deadline(), &err),
        "%s", err.message);
    CHECK_INT(c.count, 2);
    CHECK_INT(c.n[0], 4);
    CHECK_INT(c.n[1], 3);
    CHECK_INT(c.keys, 1); /* only n */

    collected_t all = {0};
    CHECK(odm_store_find(s, coll, &filter, NULL, NULL, 0, 0, collect, &all, deadline(), &err));
    CHECK_INT(all.count, 5);

    collected_t stop = {.stop_after = 2};
    CHECK(!odm_store_find(s, coll, &filter, sort, NULL, 0, 0, collect, &stop, deadline(), &err));
    CHECK_INT(err.kind, ODM_ERR_VALIDATION);
    CHECK_STR(err.message, "stopped after 2");
    CHECK_INT(stop.count, 2);

    bson_t *bad = BCON_NEW("$bogus", BCON_INT32(1));
    collected_t none = {0};
    CHECK(!odm_store_find(s, coll, bad, NULL, NULL, 0, 0, collect, &none, deadline(), &err));
    CHECK_INT(err.kind, ODM_ERR_INTERNAL);
    CHECK_MSG(strncmp(err.message, "find in 'people': ", 18) == 0, "%s", err.message);
    bson_destroy(bad);
    bson_destroy(sort);
    bson_destroy(projection);
}

static void test_count_replace_delete(odm_store_t *s)
{
    odm_error_t err = {0};
    int64_t n = -1;
    bson_t all = BSON_INITIALIZER;
    CHECK_MSG(odm_store_count(s, coll, &all, &n, deadline(), &err), "%s", err.message);
    CHECK_INT(n, 5);
    bson_t *gt2 = BCON_NEW("n", "{", "$gt", BCON_INT32(2), "}");
    CHECK(odm_store_count(s, coll, gt2, &n, deadline(), &err));
    CHECK_INT(n, 3);
    bson_destroy(gt2);

    bson_t *guard = BCON_NEW("_id", BCON_INT32(2), "v", BCON_INT32(1));
    bson_t *doc = BCON_NEW("_id", BCON_INT32(2), "name", BCON_UTF8("p2"), "n", BCON_INT32(2), "v",
                           BCON_INT32(2), "email", BCON_UTF8("p2@example.org"));
    int64_t matched = -1;
    CHECK_MSG(odm_store_replace(s, coll, guard, doc, &matched, deadline(), &err), "%s",
              err.message);
    CHECK_INT(matched, 1);
    CHECK(odm_store_replace(s, coll, guard, doc, &matched, deadline(), &err));
    CHECK_INT(matched, 0); /* the version moved on: a stale guard matches nothing */
    bson_t out;
    bool found = false;
    bson_t *by_id = BCON_NEW("_id", BCON_INT32(2));
    CHECK(odm_store_find_one(s, coll, by_id, NULL, &out, &found, deadline(), &err));
    CHECK(found && get_int(&out, "v") == 2);
    bson_destroy(&out);
    bson_destroy(by_id);
    bson_destroy(guard);
    bson_destroy(doc);

    bson_t *five = BCON_NEW("_id", BCON_INT32(5));
    int64_t deleted = -1;
    CHECK_MSG(odm_store_delete(s, coll, five, &deleted, deadline(), &err), "%s", err.message);
    CHECK_INT(deleted, 1);
    CHECK(odm_store_delete(s, coll, five, &deleted, deadline(), &err));
    CHECK_INT(deleted, 0);
    CHECK(odm_store_count(s, coll, &all, &n, deadline(), &err));
    CHECK_INT(n, 4);
    bson_destroy(five);
}

/* insertMany: per-document fates in input order, a duplicate naming its index, ordered
 * stopping at the first refusal; deleteMany counting what it removed. Runs after
 * test_count_replace_delete: people 1-4 exist, with the unique index on email. */
static void test_insert_many_delete_many(odm_store_t *s)
{
    odm_error_t err = {0};
    bson_t *docs[5];
    docs[0] = BCON_NEW("_id", BCON_INT32(100), "email", BCON_UTF8("m100@example.org"));
    docs[1] = BCON_NEW("_id", BCON_INT32(3), "email", BCON_UTF8("m3@example.org"));
    docs[2] = BCON_NEW("_id", BCON_INT32(101), "email", BCON_UTF8("p1@example.org"));
    docs[3] = BCON_NEW("_id", BCON_INT32(102), "email", BCON_UTF8("m102@example.org"));
    docs[4] = BCON_NEW("_id", BCON_INT32(103), "email", BCON_UTF8("m103@example.org"));
    odm_store_item_t items[5];
    memset(items, 0xff, sizeof items);
    CHECK_MSG(odm_store_insert_many(s, coll, (const bson_t *const *)docs, 4, false, items,
                                    deadline(), &err),
              "%s", err.message);
    CHECK_INT(items[0].status, ODM_STORE_INSERTED);
    CHECK_INT(items[1].status, ODM_STORE_REFUSED);
    CHECK_INT(items[1].err.kind, ODM_ERR_CONFLICT);
    CHECK_MSG(strstr(items[1].err.message, "duplicate key") != NULL, "%s", items[1].err.message);
    CHECK_INT(items[2].status, ODM_STORE_REFUSED);
    CHECK_INT(items[2].err.kind, ODM_ERR_CONFLICT);
    CHECK_MSG(db_is_ferretdb || strstr(items[2].err.message, "email_1") != NULL, "%s",
              items[2].err.message);
    CHECK_INT(items[3].status, ODM_STORE_INSERTED); /* unordered: tried after the refusals */
    int64_t n = -1;
    bson_t all = BSON_INITIALIZER;
    CHECK(odm_store_count(s, coll, &all, &n, deadline(), &err));
    CHECK_INT(n, 6);

    /* ordered: 103 goes in, the duplicate 100 stops the rest */
    bson_t *late = BCON_NEW("_id", BCON_INT32(104));
    const bson_t *with_late[4] = {docs[4], docs[0], late, docs[1]};
    memset(items, 0xff, sizeof items);
    CHECK_MSG(odm_store_insert_many(s, coll, with_late, 4, true, items, deadline(), &err), "%s",
              err.message);
    CHECK_INT(items[0].status, ODM_STORE_INSERTED);
    CHECK_INT(items[1].status, ODM_STORE_REFUSED);
    CHECK_INT(items[1].err.kind, ODM_ERR_CONFLICT);
    CHECK_INT(items[2].status, ODM_STORE_NOT_TRIED);
    CHECK_INT(items[3].status, ODM_STORE_NOT_TRIED);
    bool found = true;
    bson_t out;
    bson_t *by_id = BCON_NEW("_id", BCON_INT32(104));
    CHECK(odm_store_find_one(s, coll, by_id, NULL, &out, &found, deadline(), &err));
    CHECK(!found);
    bson_destroy(&out);
    bson_destroy(by_id);
    CHECK(!odm_store_insert_many(s, coll, with_late, 0, true, items, deadline(), &err));

    bson_t *big = BCON_NEW("_id", "{", "$gte", BCON_INT32(100), "}");
    int64_t deleted = -1;
    CHECK_MSG(odm_store_delete_many(s, coll, big, &deleted, deadline(), &err), "%s", err.message);
    CHECK_INT(deleted, 3);
    CHECK(odm_store_delete_many(s, coll, big, &deleted, deadline(), &err));
    CHECK_INT(deleted, 0);
    CHECK(odm_store_count(s, coll, &all, &n, deadline(), &err));
    CHECK_INT(n, 4);
    bson_destroy(big);
    bson_destroy(late);
    for (size_t i = 0; i < 5; i++)
        bson_destroy(docs[i]);
}

/* A find's callback runs while its client is out of the pool: with one client, a nested
 * operation waits waitQueueTimeoutMS and gets 503. */
typedef struct {
    odm_store_t *store;
    odm_error_t nested;
    bool nested_ok;
    int64_t took;
    odm_store_stats_t during; /* the pool's counters while the find holds the client */
} nested_t;

static bool nested_count(const bson_t *doc, void *arg, odm_error_t *err)
{
    nested_t *st = arg;
    odm_store_stats(st->store, &st->during);
    bson_t all = BSON_INITIALIZER;
    int64_t n, t0 = odm_now_ms();
    st->nested_ok = odm_store_count(st->store, coll, &all, &n, deadline(), &st->nested);
    st->took = odm_now_ms() - t0;
    return true;
}

static void test_pool_exhausted(const char *uri)
{
    odm_error_t err = {0};
    nested_t st = {0};
    st.store = new_store(uri, T_MS, 1, &err);
    CHECK_MSG(st.store != NULL, "%s", err.message);
    if (st.store == NULL)
        return;
    bson_t *one = BCON_NEW("_id", BCON_INT32(1));
    CHECK_MSG(
        odm_store_find(st.store, coll, one, NULL, NULL, 0, 1, nested_count, &st, deadline(), &err),
        "%s", err.message);
    CHECK(!st.nested_ok);
    CHECK_INT(st.nested.kind, ODM_ERR_UNAVAILABLE);
    odm_store_timeouts_t to;
    odm_store_get_timeouts(st.store, &to);
    CHECK_MSG(st.took >= to.wait_queue_ms - 5 && st.took <= to.wait_queue_ms + 500, "took %lld ms",
              (long long)st.took);
    /* the pool's metrics: one client taken during the find, one wait that gave up, none after */
    odm_store_stats_t after;
    odm_store_stats(st.store, &after);
    CHECK_INT(st.during.in_use, 1);
    CHECK_INT(st.during.waits, 0);
    CHECK_INT(after.in_use, 0);
    CHECK_INT(after.waits, 1);
    CHECK_INT(after.wait_timeouts, 1);
    CHECK_MSG(after.wait_us >= (uint64_t)(to.wait_queue_ms - 5) * 1000, "waited %llu us",
              (unsigned long long)after.wait_us);
    for (size_t k = 0; k < ODM_ERR__COUNT; k++)
        CHECK_INT(after.errors[k], 0); /* a wait that gives up is no database error */
    bson_destroy(one);
    odm_store_free(st.store);
}

/* An operation on an unanswering database ends within T (+ slack) as 503 or 504. */
static void check_bounded_failure(odm_store_t *s, const char *label, bool write)
{
    odm_error_t err = {0};
    int64_t t0 = odm_now_ms();
    bool ok;
    if (write) {
        bson_t *doc = BCON_NEW("_id", BCON_INT32(1000), "name", BCON_UTF8("w"));
        ok = odm_store_insert(s, coll, doc, t0 + T_MS, &err);
        bson_destroy(doc);
    } else {
        bson_t *filter = BCON_NEW("_id", BCON_INT32(1));
        bson_t out;
        bool found;
        ok = odm_store_find_one(s, coll, filter, NULL, &out, &found, t0 + T_MS, &err);
        bson_destroy(&out);
        bson_destroy(filter);
    }
    int64_t took = odm_now_ms() - t0;
    CHECK_MSG(!ok, "%s: succeeded", label);
    CHECK_MSG(err.kind == ODM_ERR_UNAVAILABLE || err.kind == ODM_ERR_TIMEOUT, "%s: kind %d: %s",
              label, err.kind, err.message);
    CHECK_MSG(took <= T_MS + SLACK_MS, "%s: took %lld ms", label, (long long)took);
    printf("%s: %s after %lld ms\n", label, err.kind == ODM_ERR_TIMEOUT ? "504" : "503",
           (long long)took);
}

/* insertMany against a database that does not answer: the whole fails, in bounded time, and
 * is not mistaken for refused documents. */
static void check_bounded_insert_many(odm_store_t *s, const char *label)
{
    odm_error_t err = {0};
    bson_t *docs[2] = {BCON_NEW("_id", BCON_INT32(1001)), BCON_NEW("_id", BCON_INT32(1002))};
    odm_store_item_t items[2];
    int64_t t0 = odm_now_ms();
    bool ok = odm_store_insert_many(s, coll, (const bson_t *const *)docs, 2, false, items,
                                    t0 + T_MS, &err);
    int64_t took = odm_now_ms() - t0;
    CHECK_MSG(!ok, "%s: succeeded", label);
    CHECK_MSG(err.kind == ODM_ERR_UNAVAILABLE || err.kind == ODM_ERR_TIMEOUT, "%s: kind %d: %s",
              label, err.kind, err.message);
    CHECK_MSG(took <= T_MS + SLACK_MS, "%s: took %lld ms", label, (long long)took);
    bson_destroy(docs[0]);
    bson_destroy(docs[1]);
}

/* Polls ping until it succeeds or `within_ms` passed; returns the time it took, -1 if never. */
static int64_t recovers(odm_store_t *s, int within_ms)
{
    int64_t t0 = odm_now_ms();
    odm_error_t err = {0};
    while (odm_now_ms() - t0 < within_ms) {
        if (odm_store_ping(s, deadline(), &err))
            return odm_now_ms() - t0;
        usleep(100 * 1000);
    }
    fprintf(stderr, "still failing: %s\n", err.message);
    return -1;
}

static void test_outages(odm_store_t *s, odm_test_db_t *db)
{
    CHECK_MSG(odm_test_db_pause(db), "%s", db->error);
    check_bounded_failure(s, "paused read", false);
    check_bounded_failure(s, "paused write", true);
    check_bounded_insert_many(s, "paused insertMany");
    CHECK_MSG(odm_test_db_resume(db), "%s", db->error);
    int64_t back = recovers(s, 5000);
    CHECK_MSG(back >= 0, "no recovery after resume");

    CHECK_MSG(odm_test_db_kill(db), "%s", db->error);
    check_bounded_failure(s, "killed read", false);
    check_bounded_insert_many(s, "killed insertMany");
    odm_error_t err = {0};
    CHECK(!odm_store_ping(s, deadline(), &err));
    CHECK_INT(err.kind, ODM_ERR_UNAVAILABLE);

    CHECK_MSG(odm_test_db_restart(db), "%s", db->error);
    /* the same store, no new pool: the first operation already finds the new server */
    CHECK_MSG(odm_store_ping(s, deadline(), &err), "after restart: %s", err.message);
    insert_people(s, 100, 101); /* an in-memory server comes back empty, FerretDB does not */
    bson_t *fresh = BCON_NEW("_id", "{", "$gte", BCON_INT32(100), "}");
    int64_t n = -1;
    CHECK_MSG(odm_store_count(s, coll, fresh, &n, deadline(), &err), "%s", err.message);
    CHECK_INT(n, 2);

    /* restarted before anything noticed (no operation, no heartbeat in between): the pooled
     * connections are stale, and a read still succeeds, retried on a fresh one */
    CHECK_MSG(odm_test_db_kill(db), "%s", db->error);
    CHECK_MSG(odm_test_db_restart(db), "%s", db->error);
    CHECK_MSG(odm_store_count(s, coll, fresh, &n, deadline(), &err), "unnoticed restart: %s",
              err.message);
    bson_destroy(fresh);
}

static void test_with_server(void)
{
    odm_test_db_t db;
    if (!odm_test_db_start(&db)) {
        CHECK_MSG(false, "cannot start the test database: %s", db.error);
        return;
    }
    db_is_ferretdb = db.ferretdb;
    odm_error_t err = {0};
    odm_store_t *s = new_store(db.uri, T_MS, 4, &err);
    CHECK_MSG(s != NULL, "%s", err.message);
    if (s != NULL) {
        CHECK_MSG(odm_store_ping(s, deadline(), &err), "%s", err.message);
        test_indexes_and_duplicates(s);
        test_find_one(s);
        test_find(s);
        test_count_replace_delete(s);
        test_insert_many_delete_many(s);
        test_pool_exhausted(db.uri);
        test_outages(s, &db);
        odm_store_free(s);
    }
    odm_test_db_stop(&db);
}

int main(void)
{
    const char *level = getenv("ODMD_TEST_LOG");
    odm_log_level_t lv = ODM_LOG_ERROR;
    if (level != NULL)
        odm_log_parse_level(level, &lv);
    odm_log_set_level(lv);
    snprintf(db_name, sizeof db_name, "test_store_%d", (int)getpid());
    odm_store_global_init();

    test_options();
    test_bad_options();
    test_db_name();
    test_redact();
    test_error_mapping();
    test_no_server(dead_port());
    test_with_server();

    odm_store_global_cleanup();
    return check_done("test_store");
}
