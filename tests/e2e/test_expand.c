/* End-to-end: ?expand= on lists and on one document, with the database commands each request
 * costs counted on the wire (tests/support/cmdcount: a proxy between odmd and the database):
 * one find per expanded path and level whatever the page holds; missing references as null;
 * writeOnly fields of referenced models never shown; fields= through expanded paths; nested
 * paths and their depth bound; arrays of ids; the 400s. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "support/cmdcount.h"

static e2e_db_t *db;
static e2e_odmd_t odmd;
static e2e_client_t client;
static odm_test_cmdcount_t *proxy;
#define C (&client)

#define N_USERS 7
#define N_PRODUCTS 5
#define N_ORDERS 25
#define MISSING_ID "0123456789abcdef01234567" /* an ObjectId no document has */

static char user_ids[N_USERS][32], product_ids[N_PRODUCTS][32];
static char team_ids[4][32]; /* a chain: team_ids[i] has parentId team_ids[i - 1] */

static bool up(void)
{
    db = e2e_db_start();
    if (db == NULL)
        return false;
    proxy = odm_test_cmdcount_start(e2e_db_port(db));
    if (proxy == NULL)
        return false;
    char uri[64];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", odm_test_cmdcount_port(proxy));
    e2e_odmd_opts_t opts = {.mongo_uri = uri, .schemas = e2e_schemas_with_extras()};
    if (!e2e_odmd_start(&odmd, &opts))
        return false;
    e2e_client_init(&client, odmd.url);
    if (!e2e_wait_status(odmd.url, "/readyz", 200, 30000))
        return false;
    int64_t deadline = e2e_now_ms() + 30000;
    while (!e2e_mongo_has_unique_index(e2e_db_uri(db), odmd.db_name, "products", "sku")) {
        if (e2e_now_ms() > deadline)
            return false;
        e2e_sleep_ms(50);
    }
    return true;
}

static void created(e2e_resp_t *r, char *id)
{
    EXPECT_STATUS(*r, 201);
    const char *got = e2e_str(r, "_id");
    snprintf(id, 32, "%s", got ? got : "");
}

static void seed(void)
{
    e2e_resp_t r = {0};
    for (int i = 0; i < N_USERS; i++) {
        e2e_post(
            C, &r, "/api/users",
            F("{\"email\":\"x%d@example.com\",\"name\":\"User %d\",\"password\":\"secret-%d\"}", i,
              i, i));
        created(&r, user_ids[i]);
    }
    for (int i = 0; i < N_PRODUCTS; i++) {
        e2e_post(C, &r, "/api/products",
                 F("{\"sku\":\"SKU-%d\",\"name\":\"Product %d\",\"price\":%d,\"cost\":1}", i, i,
                   10 + i));
        created(&r, product_ids[i]);
    }
    /* order i: user i % N_USERS (the last order: a user that does not exist), two lines */
    for (int i = 0; i < N_ORDERS; i++) {
        const char *user = i == N_ORDERS - 1 ? MISSING_ID : user_ids[i % N_USERS];
        e2e_post(C, &r, "/api/orders",
                 F("{\"userId\":\"%s\",\"total\":%d,\"note\":\"o%02d\",\"items\":["
                   "{\"sku\":\"SKU-1\",\"qty\":1,\"price\":1,\"productId\":\"%s\"},"
                   "{\"sku\":\"SKU-2\",\"qty\":2,\"price\":2,\"productId\":\"%s\"}]}",
                   user, i, i, product_ids[i % N_PRODUCTS], product_ids[(i + 1) % N_PRODUCTS]));
        EXPECT_STATUS(r, 201);
    }
    for (int i = 0; i < 4; i++) {
        char parent[64] = "";
        if (i > 0)
            snprintf(parent, sizeof parent, ",\"parentId\":\"%s\"", team_ids[i - 1]);
        e2e_post(C, &r, "/api/teams",
                 F("{\"name\":\"T%d\",\"leadId\":\"%s\",\"memberIds\":[\"%s\",\"%s\",\"%s\"]%s}", i,
                   user_ids[i], user_ids[i], MISSING_ID, user_ids[i + 1], parent));
        created(&r, team_ids[i]);
    }
    e2e_resp_free(&r);
}

/* GETs path with the counts reset first; the finds and aggregates it cost go to *finds and
 * *aggregates. */
static void get_counted(e2e_resp_t *r, const char *path, long *finds, long *aggregates)
{
    odm_test_cmdcount_reset(proxy);
    e2e_get(C, r, path);
    *finds = odm_test_cmdcount_get(proxy, "find");
    *aggregates = odm_test_cmdcount_get(proxy, "aggregate");
}

static int user_index(const char *id)
{
    for (int i = 0; id && i < N_USERS; i++)
        if (strcmp(user_ids[i], id) == 0)
            return i;
    return -1;
}

static int product_index(const char *id)
{
    for (int i = 0; id && i < N_PRODUCTS; i++)
        if (strcmp(product_ids[i], id) == 0)
            return i;
    return -1;
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* An expanded user: the user with that index, its fields, never its password. */
static void expect_user(const json_t *user, int want)
{
    int got = user_index(str_at(user, "_id"));
    CHECK_MSG(json_is_object(user) && got == want, "user %d expanded as user %d", want, got);
    CHECK_STR(str_at(user, "name"), F("User %d", want));
    CHECK(json_object_get(user, "password") == NULL);
    CHECK(json_object_get(user, "__v") == NULL);
}

static void expect_order_expanded(const json_t *order)
{
    const char *note = str_at(order, "note");
    int i = note ? atoi(note + 1) : -1;
    CHECK_MSG(i >= 0 && i < N_ORDERS, "order note %s", note ? note : "(none)");
    if (i < 0)
        return;
    if (i == N_ORDERS - 1)
        CHECK_MSG(json_is_null(json_object_get(order, "userId")), "a missing user is null");
    else
        expect_user(json_object_get(order, "userId"), i % N_USERS);
    const json_t *items = json_object_get(order, "items");
    CHECK_INT(json_array_size(items), 2);
    for (size_t k = 0; k < json_array_size(items); k++) {
        const json_t *product = json_object_get(json_array_get(items, k), "productId");
        CHECK_INT(product_index(str_at(product, "_id")), (i + (int)k) % N_PRODUCTS);
        CHECK_STR(str_at(product, "name"), F("Product %d", (i + (int)k) % N_PRODUCTS));
        CHECK_MSG(json_object_get(product, "cost") == NULL, "writeOnly cost shown");
        CHECK_STR(str_at(json_array_get(items, k), "sku"), k == 0 ? "SKU-1" : "SKU-2");
    }
}

/* A page of 20 orders with two expanded paths: 3 finds and one count, whatever the page. */
static void test_list_expand_counts(void)
{
    e2e_resp_t r = {0};
    long finds, aggregates;
    get_counted(&r, "/api/orders?limit=20&sort=note&count=true&expand=userId,items.productId",
                &finds, &aggregates);
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "X-Total-Count", "25");
    CHECK_INT(json_array_size(r.json), 20);
    CHECK_INT(finds, 3);
    CHECK_INT(aggregates, 1);
    for (size_t i = 0; i < json_array_size(r.json); i++)
        expect_order_expanded(json_array_get(r.json, i));

    get_counted(&r, "/api/orders?limit=20&skip=5&sort=note&expand=userId,items.productId", &finds,
                &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(r.json), 20);
    CHECK_INT(finds, 3);
    CHECK_INT(aggregates, 0);
    for (size_t i = 0; i < json_array_size(r.json); i++)
        expect_order_expanded(json_array_get(r.json, i));

    /* the same path twice is one path */
    get_counted(&r, "/api/orders?limit=3&expand=userId,userId", &finds, &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(finds, 2);

    /* an empty page costs its own find only */
    get_counted(&r, "/api/orders?filter=%7B%22total%22%3A1000%7D&expand=userId", &finds,
                &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(r.json), 0);
    CHECK_INT(finds, 1);
    e2e_resp_free(&r);
}

/* fields= naming expanded fields: each model's projection reaches its own find. */
static void test_fields_through_expand(void)
{
    e2e_resp_t r = {0};
    long finds, aggregates;
    get_counted(&r,
                "/api/orders?sort=note&limit=5&fields=total,userId.name,items.productId.price"
                "&expand=userId,items.productId",
                &finds, &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(finds, 3);
    CHECK_INT(json_array_size(r.json), 5);
    for (size_t i = 0; i < json_array_size(r.json); i++) {
        const json_t *order = json_array_get(r.json, i);
        CHECK_MSG(json_object_size(order) == 4, "order keys: %zu", json_object_size(order));
        CHECK(json_object_get(order, "note") == NULL);
        const json_t *user = json_object_get(order, "userId");
        CHECK_MSG(json_object_size(user) == 2, "user keys: %zu", json_object_size(user));
        CHECK_STR(str_at(user, "name"), F("User %zu", i % N_USERS));
        CHECK(json_object_get(user, "email") == NULL);
        const json_t *line = json_array_get(json_object_get(order, "items"), 0);
        CHECK_MSG(json_object_size(line) == 1, "line keys: %zu", json_object_size(line));
        const json_t *product = json_object_get(line, "productId");
        CHECK_MSG(json_object_size(product) == 2, "product keys: %zu", json_object_size(product));
        CHECK(json_is_number(json_object_get(product, "price")));
    }
    /* the whole referenced document when fields names the path itself */
    e2e_get(C, &r, "/api/orders?sort=note&limit=1&fields=userId&expand=userId");
    EXPECT_STATUS(r, 200);
    expect_user(json_object_get(json_array_get(r.json, 0), "userId"), 0);
    CHECK_STR(str_at(json_object_get(json_array_get(r.json, 0), "userId"), "email"),
              "x0@example.com");
    /* refused: a writeOnly field of the referenced model, an unknown one, whole and in part */
    static const char *const refused[] = {
        "/api/orders?fields=userId.password&expand=userId",
        "/api/orders?fields=userId.nope&expand=userId",
        "/api/orders?fields=userId,userId.name&expand=userId",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        e2e_get(C, &r, refused[i]);
        EXPECT_PROBLEM(r, 400);
    }
    e2e_resp_free(&r);
}

static void test_document_expand(void)
{
    e2e_resp_t r = {0};
    long finds, aggregates;
    e2e_get(C, &r, "/api/orders?sort=note&limit=1&fields=note");
    char id[32];
    snprintf(id, sizeof id, "%s", str_at(json_array_get(r.json, 0), "_id"));
    get_counted(&r, F("/api/orders/%s?expand=userId,items.productId", id), &finds, &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(finds, 3);
    CHECK(e2e_header(&r, "ETag") == NULL);
    EXPECT_HEADER(r, "Cache-Control", "no-cache");
    expect_order_expanded(r.json);
    EXPECT_NO_VERSION(r);

    /* the ETag of the order alone does not validate the expanded answer; If-Match still holds */
    e2e_get(C, &r, F("/api/orders/%s", id));
    char etag[64];
    snprintf(etag, sizeof etag, "%s", e2e_header(&r, "ETag") ? e2e_header(&r, "ETag") : "");
    const char *if_none[] = {F("If-None-Match: %s", etag), NULL};
    e2e_request(C, &r, "GET", F("/api/orders/%s?expand=userId", id), if_none, NULL, 0);
    EXPECT_STATUS(r, 200);
    CHECK(json_is_object(json_object_get(r.json, "userId")));
    const char *if_match[] = {"If-Match: \"no-such-tag\"", NULL};
    e2e_request(C, &r, "GET", F("/api/orders/%s?expand=userId", id), if_match, NULL, 0);
    EXPECT_PROBLEM(r, 412);

    e2e_get(C, &r, F("/api/orders/%s?expand=nope", id));
    EXPECT_PROBLEM(r, 400);
    e2e_resp_free(&r);
}

static void test_nested_and_arrays(void)
{
    e2e_resp_t r = {0};
    long finds, aggregates;
    /* three references deep: team 3 -> 2 -> 1 -> 0, one find per level */
    get_counted(&r, F("/api/teams/%s?expand=parentId.parentId.parentId", team_ids[3]), &finds,
                &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(finds, 4);
    const json_t *t = r.json;
    for (int level = 2; level >= 0; level--) {
        t = json_object_get(t, "parentId");
        CHECK_STR(str_at(t, "_id"), team_ids[level]);
        CHECK_STR(str_at(t, "name"), F("T%d", level));
    }
    CHECK_STR(str_at(json_object_get(t, "parentId"), "_id") ? "expanded" : "absent", "absent");

    /* two paths on level 1, one on level 2; the array of ids keeps its order and its nulls */
    get_counted(&r, F("/api/teams/%s?expand=leadId,parentId.leadId,memberIds", team_ids[2]), &finds,
                &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(finds, 5);
    expect_user(json_object_get(r.json, "leadId"), 2);
    const json_t *parent = json_object_get(r.json, "parentId");
    CHECK_STR(str_at(parent, "_id"), team_ids[1]);
    expect_user(json_object_get(parent, "leadId"), 1);
    CHECK_STR(str_at(parent, "leadId") ? "an id" : "expanded", "expanded");
    const json_t *members = json_object_get(r.json, "memberIds");
    CHECK_INT(json_array_size(members), 3);
    expect_user(json_array_get(members, 0), 2);
    CHECK(json_is_null(json_array_get(members, 1)));
    expect_user(json_array_get(members, 2), 3);
    /* parentId's own memberIds were not asked for: ids */
    CHECK_STR(json_string_value(json_array_get(json_object_get(parent, "memberIds"), 0)),
              user_ids[1]);

    /* a list: 4 teams, their parents' leads */
    get_counted(&r, "/api/teams?expand=parentId.leadId&count=true", &finds, &aggregates);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(r.json), 4);
    CHECK_INT(finds, 3);
    CHECK_INT(aggregates, 1);
    e2e_resp_free(&r);
}

static void expect_refused(const char *path, const char *named)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, path);
    EXPECT_PROBLEM(r, 400);
    const char *detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, named), "%s: detail '%s' does not name '%s'", path,
              detail ? detail : "(none)", named);
    const char *type = e2e_str(&r, "type");
    CHECK_STR(type, "urn:odmd:problem:bad-query");
    e2e_resp_free(&r);
}

static void test_refused(void)
{
    expect_refused("/api/orders?expand=nope", "nope");
    expect_refused("/api/orders?expand=total", "total");
    expect_refused("/api/orders?expand=items", "items");
    expect_refused("/api/orders?expand=items.0.productId", "items.0");
    expect_refused("/api/orders?expand=userId.nope", "userId.nope");
    expect_refused("/api/orders?expand=userId,", "expand");
    expect_refused("/api/teams?expand=secretRef", "secretRef");
    expect_refused("/api/teams?expand=parentId.parentId.parentId.parentId",
                   "parentId.parentId.parentId.parentId");
    expect_refused(F("/api/teams/%s?expand=parentId.parentId.parentId.leadId", team_ids[3]),
                   "parentId.parentId.parentId.leadId");

    /* more distinct ids in one path than one $in may carry */
    size_t cap = 40 * 1100;
    char *body = malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"name\":\"big\",\"memberIds\":[");
    for (int i = 0; i < 1001; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"%024x\"", i ? "," : "", i + 1);
    snprintf(body + len, cap - len, "]}");
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/teams", body);
    free(body);
    char id[32];
    created(&r, id);
    long finds, aggregates;
    get_counted(&r, F("/api/teams/%s?expand=memberIds", id), &finds, &aggregates);
    EXPECT_PROBLEM(r, 400);
    CHECK_INT(finds, 1);
    e2e_delete(C, &r, F("/api/teams/%s", id), NULL);
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

/* --expand-max-ids and --expand-max-docs, through a second odmd on the same database: order i
 * has user i and products i and i + 1, so the first k orders name k users and k + 1 products. */
static void test_configured_bounds(void)
{
    e2e_odmd_t small = {0};
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .db_name = odmd.db_name,
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--expand-max-ids", "4", "--expand-max-docs", "6", NULL}};
    if (!e2e_odmd_start(&small, &opts)) {
        CHECK_MSG(false, "odmd with small expand bounds did not start");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, small.url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/api/orders?filter=%7B%22total%22%3A%7B%22%24lt%22%3A4%7D%7D&expand=userId");
    EXPECT_STATUS(r, 200); /* 4 ids, 4 documents */
    e2e_get(&c, &r, "/api/orders?filter=%7B%22total%22%3A%7B%22%24lt%22%3A5%7D%7D&expand=userId");
    EXPECT_PROBLEM(r, 400); /* 5 distinct ids in one path */
    const char *detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "'userId'") && strstr(detail, "more than 4"), "detail %s",
              detail ? detail : "(none)");
    e2e_get(&c, &r,
            "/api/orders?filter=%7B%22total%22%3A%7B%22%24lt%22%3A2%7D%7D"
            "&expand=userId,items.productId");
    EXPECT_STATUS(r, 200); /* 2 users and 3 products: 5 documents */
    e2e_get(&c, &r,
            "/api/orders?filter=%7B%22total%22%3A%7B%22%24lt%22%3A3%7D%7D"
            "&expand=userId,items.productId");
    EXPECT_PROBLEM(r, 400); /* 3 users and 4 products: 7 documents */
    detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "more than 6 documents"), "detail %s",
              detail ? detail : "(none)");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&small, 20000), 0);
}

/* The fetches of one level run at the same time, and so does the count: with every find and
 * aggregate held DELAY_MS on the wire, an answer takes about DELAY_MS per level, not per query. */
#define DELAY_MS 500

static int64_t timed_get(e2e_resp_t *r, const char *path)
{
    int64_t start = e2e_now_ms();
    e2e_get(C, r, path);
    return e2e_now_ms() - start;
}

static void test_concurrency(void)
{
    e2e_resp_t r = {0};
    odm_test_cmdcount_delay(proxy, "find", DELAY_MS);
    odm_test_cmdcount_delay(proxy, "aggregate", DELAY_MS);
    odm_test_cmdcount_reset(proxy);
    /* the team, then its lead, parent and members at once: 2 steps of 4 finds */
    int64_t ms = timed_get(&r, F("/api/teams/%s?expand=leadId,parentId,memberIds", team_ids[2]));
    EXPECT_STATUS(r, 200);
    CHECK_INT(odm_test_cmdcount_get(proxy, "find"), 4);
    CHECK_MSG(ms >= 2 * DELAY_MS && ms < 3 * DELAY_MS, "one level of 3 paths took %lld ms",
              (long long)ms);
    /* the count beside the page and then beside the leads: 2 steps of 3 queries */
    odm_test_cmdcount_reset(proxy);
    ms = timed_get(&r, "/api/teams?expand=leadId&count=true");
    EXPECT_STATUS(r, 200);
    CHECK_INT(odm_test_cmdcount_get(proxy, "find"), 2);
    CHECK_INT(odm_test_cmdcount_get(proxy, "aggregate"), 1);
    CHECK_MSG(ms >= 2 * DELAY_MS && ms < 3 * DELAY_MS, "page, count and leads took %lld ms",
              (long long)ms); /* one after another: 3 steps */
    odm_test_cmdcount_delay(proxy, "find", 0);
    odm_test_cmdcount_delay(proxy, "aggregate", 0);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("expand");
    if (!up()) {
        CHECK_MSG(false, "environment did not start");
    } else {
        seed();
        test_list_expand_counts();
        test_fields_through_expand();
        test_document_expand();
        test_nested_and_arrays();
        test_refused();
        test_configured_bounds();
        test_concurrency();
    }
    int status = odmd.pid > 0 ? e2e_odmd_stop(&odmd, 20000) : 0;
    CHECK_INT(status, 0);
    e2e_client_release(&client);
    odm_test_cmdcount_stop(proxy);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_expand"));
}
