/* End-to-end: keyset cursors. Walking a list by its Link headers gives the same documents in
 * the same order as one page holding them all, for many sorts (mixed directions, ties, missing
 * values, mixed BSON types) and page sizes; a forged or foreign after= is a 400; replicas with
 * one --cursor-key accept each other's tokens; skip has a cap; and a walk while other clients
 * insert and delete returns every document that existed throughout exactly once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "support/cmdcount.h"

#define KEY_A "cursor-key-of-the-e2e-test-0123456789abcdef"
#define KEY_B "another-cursor-key-for-the-test-0123456789ab"
#define N_USERS 12
#define N_WIDGETS 23
#define N_NOTES 14
#define N_ORDERS 9
#define MAX_PAGES 2000
#define LINK_PATH_MAX 16384

static e2e_env_t env;
#define C (&env.c)
static char user_ids[3][32];

/* ---- helpers ------------------------------------------------------------------------------ */

/* The target of `Link: <TARGET>; rel="next"` into out; false when there is none. */
static bool next_target(const char *link, char *out, size_t size)
{
    const char *end = link ? strstr(link, ">; rel=\"next\"") : NULL;
    if (link == NULL || link[0] != '<' || end == NULL || (size_t)(end - link) >= size)
        return false;
    snprintf(out, size, "%.*s", (int)(end - link - 1), link + 1);
    return true;
}

/* A GET on any client, for URLs longer than the harness's 8 KiB: status and Link (new or
 * NULL). */
typedef struct {
    char *link;
} raw_headers_t;

static size_t raw_header(char *p, size_t size, size_t n, void *arg)
{
    raw_headers_t *h = arg;
    size_t len = size * n;
    if (len > 6 && strncasecmp(p, "Link: ", 6) == 0) {
        free(h->link);
        h->link = strndup(p + 6, len - 6);
        char *cr = strpbrk(h->link, "\r\n");
        if (cr)
            *cr = '\0';
    }
    return len;
}

static size_t raw_sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static long raw_get(const char *base, const char *path, char **link)
{
    size_t n = strlen(base) + strlen(path) + 1;
    char *url = malloc(n);
    snprintf(url, n, "%s%s", base, path);
    CURL *h = curl_easy_init();
    raw_headers_t hd = {NULL};
    long status = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, raw_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, raw_sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    free(url);
    *link = hd.link;
    return status;
}

/* Follows the Links from `first`: a new array of every page's documents in order. Every page
 * but the last is full (limit documents) and the last has no Link. */
static json_t *walk(e2e_client_t *c, const char *first, size_t limit, int *pages)
{
    json_t *all = json_array();
    char path[LINK_PATH_MAX];
    snprintf(path, sizeof path, "%s", first);
    e2e_resp_t r = {0};
    *pages = 0;
    while (*pages < MAX_PAGES) {
        e2e_get(c, &r, path);
        if (r.status != 200 || !json_is_array(r.json)) {
            CHECK_MSG(false, "walk %s: page %d answered %ld: %.300s", first, *pages, r.status,
                      r.body);
            break;
        }
        (*pages)++;
        json_array_extend(all, r.json);
        const char *link = e2e_header(&r, "Link");
        if (link == NULL)
            break;
        CHECK_MSG(json_array_size(r.json) == limit, "walk %s: page %d has %zu documents and a Link",
                  first, *pages, json_array_size(r.json));
        if (!next_target(link, path, sizeof path)) {
            CHECK_MSG(false, "walk %s: malformed Link '%s'", first, link);
            break;
        }
    }
    e2e_resp_free(&r);
    return all;
}

/* Walks `query` on `model` with `limit` and compares the documents, in order, with one page
 * of them all. */
static void expect_walk(const char *model, const char *query, size_t limit, size_t total)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, F("/api/%s?limit=1000%s%s", model, *query ? "&" : "", query));
    EXPECT_STATUS(r, 200);
    CHECK_MSG(e2e_header(&r, "Link") == NULL, "%s %s: one page of all has a Link", model, query);
    int pages = 0;
    json_t *walked =
        walk(C, F("/api/%s?limit=%zu%s%s", model, limit, *query ? "&" : "", query), limit, &pages);
    CHECK_MSG(json_equal(walked, r.json), "%s?%s limit %zu: the walk differs from one page: %s",
              model, query, limit, json_dumps(walked, JSON_COMPACT));
    CHECK_INT(json_array_size(walked), total);
    /* the look-ahead document: no empty page at the end */
    CHECK_INT(pages, total == 0 ? 1 : (total + limit - 1) / limit);
    json_decref(walked);
    e2e_resp_free(&r);
}

/* ---- seeds -------------------------------------------------------------------------------- */

static void seed(void)
{
    static const char *const roles[] = {"admin", "member", "guest"};
    static const char *const cities[] = {"Paris", "Lyon", "Nice"};
    e2e_resp_t r = {0};
    for (int i = 0; i < N_USERS; i++) {
        char login[64] = "";
        if (i % 4 != 3)
            snprintf(login, sizeof login, ",\"lastLogin\":\"2021-03-01T%02d:00:00Z\"", i % 5);
        char city[48] = "";
        if (i % 5 != 4)
            snprintf(city, sizeof city, ",\"address\":{\"city\":\"%s\"}", cities[(i / 2) % 3]);
        e2e_post(C, &r, "/api/users",
                 F("{\"email\":\"c%02d@example.com\",\"name\":\"U%02d\",\"age\":%d,\"role\":\"%s\","
                   "\"tags\":[\"t%d\"]%s%s}",
                   i, i % 7, 20 + i % 4, roles[i % 3], i % 2, city, login));
        EXPECT_STATUS(r, 201);
        if (i < 3)
            snprintf(user_ids[i], sizeof user_ids[i], "%s",
                     e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    }
    for (int i = 0; i < N_ORDERS; i++) {
        char placed[64] = "";
        if (i % 3 != 1)
            snprintf(placed, sizeof placed, ",\"placedAt\":\"2024-05-0%dT09:30:00Z\"", 1 + i % 4);
        e2e_post(C, &r, "/api/orders",
                 F("{\"userId\":\"%s\",\"items\":[{\"sku\":\"SKU-%d\",\"qty\":1,\"price\":1}],"
                   "\"total\":%d.5%s}",
                   user_ids[i % 3], i, i % 4, placed));
        EXPECT_STATUS(r, 201);
    }
    for (int i = 1; i <= N_WIDGETS; i++) {
        e2e_post(C, &r, "/api/widgets",
                 F("{\"_id\":%d,\"label\":\"w%02d\",\"size\":%d}", i, i % 6, i % 5));
        EXPECT_STATUS(r, 201);
    }
    /* Documents written by another tool: the same field with values of every BSON type, and
     * none at all. */
    static const char *const titles[N_NOTES] = {
        "",
        ", \"title\": null",
        ", \"title\": 7",
        ", \"title\": {\"$numberLong\": \"7\"}",
        ", \"title\": 2.5",
        ", \"title\": {\"$numberLong\": \"-40\"}",
        ", \"title\": \"b\"",
        ", \"title\": \"a\"",
        ", \"title\": \"b\"",
        ", \"title\": {\"$oid\": \"5f0000000000000000000001\"}",
        ", \"title\": true",
        ", \"title\": false",
        ", \"title\": {\"$date\": {\"$numberLong\": \"1600000000000\"}}",
        "",
    };
    for (int i = 0; i < N_NOTES; i++)
        CHECK(
            e2e_mongo_insert(e2e_db_uri(env.db), env.odmd.db_name, "e2e_notes",
                             F("{\"_id\": {\"$oid\": \"6a00000000000000000000%02d\"}, \"n\": %d%s}",
                               i, i % 3, titles[i])));
    e2e_resp_free(&r);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_walks(void)
{
    static const char *const user_sorts[] = {
        "",
        "sort=age",
        "sort=-age",
        "sort=role,-age",
        "sort=lastLogin",
        "sort=-lastLogin",
        "sort=address.city,name",
        "sort=-address.city,-name",
        "sort=-_id",
        "sort=name,_id,age",
        "sort=-lastLogin,age,-name",
    };
    static const size_t limits[] = {1, 2, 5, 12};
    for (size_t i = 0; i < sizeof user_sorts / sizeof *user_sorts; i++)
        for (size_t k = 0; k < sizeof limits / sizeof *limits; k++)
            expect_walk("users", user_sorts[i], limits[k], N_USERS);
    static const char *const widget_sorts[] = {"sort=size", "sort=-size,label", "sort=-label,size"};
    for (size_t i = 0; i < sizeof widget_sorts / sizeof *widget_sorts; i++) {
        expect_walk("widgets", widget_sorts[i], 4, N_WIDGETS);
        expect_walk("widgets", widget_sorts[i], 23, N_WIDGETS);
    }
    static const char *const note_sorts[] = {"sort=title", "sort=-title", "sort=n,-title",
                                             "sort=-n,title"};
    for (size_t i = 0; i < sizeof note_sorts / sizeof *note_sorts; i++)
        for (size_t k = 1; k <= 3; k++)
            expect_walk("notes", note_sorts[i], k, N_NOTES);
    /* with referenced documents in place of ids */
    expect_walk("orders", "expand=userId&sort=-total", 2, N_ORDERS);
    expect_walk("orders", "expand=userId&fields=total,userId.name&sort=placedAt", 4, N_ORDERS);
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/api/orders?expand=userId&fields=total,userId.name&sort=placedAt&limit=4");
    size_t i;
    json_t *doc;
    json_array_foreach(r.json, i, doc)
    {
        CHECK_MSG(json_object_size(doc) == 3 && json_is_object(json_object_get(doc, "userId")),
                  "expand with a sort key left out of fields shows %s",
                  json_dumps(doc, JSON_COMPACT));
    }
    CHECK(e2e_header(&r, "Link") != NULL);
    e2e_resp_free(&r);
    /* the filter, fields and count go along */
    const char *filter = U("{\"role\":{\"$ne\":\"guest\"}}");
    expect_walk("users", F("filter=%s&sort=-age&fields=name&count=true", filter), 3,
                N_USERS - N_USERS / 3);
}

static void test_link(void)
{
    e2e_resp_t r = {0};
    const char *filter = U("{\"age\":{\"$gte\":21}}");
    e2e_get(C, &r,
            F("/api/users?sort=-age,name&fields=name&filter=%s&limit=2&count=true&skip=1", filter));
    EXPECT_STATUS(r, 200);
    const char *link = e2e_header(&r, "Link");
    CHECK_MSG(link &&
                  strncmp(link,
                          F("</api/users?sort=-age%%2Cname&fields=name&filter=%s&limit=2&"
                            "count=true&after=",
                            filter),
                          strlen(F("</api/users?sort=-age%%2Cname&fields=name&filter=%s&limit=2&"
                                   "count=true&after=",
                                   filter))) == 0,
              "Link '%s' does not repeat the query without skip", link ? link : "(none)");
    size_t i;
    json_t *doc;
    json_array_foreach(r.json, i, doc)
        CHECK_MSG(json_object_size(doc) == 2 && json_object_get(doc, "name"),
                  "fields=name with a sort on age shows %s", json_dumps(doc, JSON_COMPACT));
    char total[32], next[LINK_PATH_MAX];
    snprintf(total, sizeof total, "%s",
             e2e_header(&r, "X-Total-Count") ? e2e_header(&r, "X-Total-Count") : "none");
    CHECK(next_target(link, next, sizeof next));
    e2e_get(C, &r, next);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(e2e_header(&r, "X-Total-Count") &&
                  strcmp(total, e2e_header(&r, "X-Total-Count")) == 0,
              "X-Total-Count differs on the next page");
    /* a dotted sort key left out of fields: read for the token, not shown */
    expect_walk("users", "fields=name&sort=-address.city", 3, N_USERS);
    e2e_get(C, &r, "/api/users?fields=name&sort=-address.city&limit=3");
    json_array_foreach(r.json, i, doc) CHECK_MSG(
        json_object_size(doc) == 2 && json_object_get(doc, "name"),
        "fields=name with a sort on address.city shows %s", json_dumps(doc, JSON_COMPACT));
    CHECK(e2e_header(&r, "Link") != NULL);
    /* the last page: no Link */
    e2e_get(C, &r, "/api/widgets?limit=1000");
    CHECK_MSG(e2e_header(&r, "Link") == NULL, "a list that fits one page has a Link");
    e2e_get(C, &r, F("/api/widgets?limit=%d", N_WIDGETS));
    CHECK_MSG(e2e_header(&r, "Link") == NULL, "a page ending on the last document has a Link");
    e2e_get(C, &r, F("/api/widgets?limit=%d", N_WIDGETS - 1));
    CHECK_MSG(e2e_header(&r, "Link") != NULL, "a page before the last document has no Link");
    e2e_resp_free(&r);
}

/* The after= token of the first page of `query` (limit 2), into out. */
static bool first_token(const char *query, char *out, size_t size)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, F("%s&limit=2", query));
    const char *link = e2e_header(&r, "Link");
    const char *after = link ? strstr(link, "after=") : NULL;
    const char *end = after ? strchr(after, '>') : NULL;
    bool ok = end && (size_t)(end - after - 6) < size;
    if (ok)
        snprintf(out, size, "%.*s", (int)(end - after - 6), after + 6);
    CHECK_MSG(ok, "%s: no token in the Link", query);
    e2e_resp_free(&r);
    return ok;
}

static void expect_bad_query(const char *path, const char *detail_part)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, path);
    EXPECT_PROBLEM(r, 400);
    const char *type = e2e_str(&r, "type"), *detail = e2e_str(&r, "detail");
    CHECK_MSG(type && strcmp(type, "urn:odmd:problem:bad-query") == 0, "%s: type %s", path,
              type ? type : "-");
    CHECK_MSG(detail && strstr(detail, detail_part), "%s: detail '%s' lacks '%s'", path,
              detail ? detail : "-", detail_part);
    e2e_resp_free(&r);
}

static void test_refused(void)
{
    char token[4096], forged[4096];
    const char *filter = U("{\"role\":\"member\"}");
    if (!first_token(F("/api/users?sort=age&filter=%s", filter), token, sizeof token))
        return;
    e2e_resp_t r = {0};
    e2e_get(C, &r, F("/api/users?sort=age&filter=%s&limit=2&after=%s", filter, token));
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    expect_bad_query(F("/api/users?sort=-age&filter=%s&after=%s", filter, token), "another");
    expect_bad_query(F("/api/users?sort=age&after=%s", token), "another");
    expect_bad_query(F("/api/users?sort=age&filter=%s&after=%s", U("{\"role\":\"admin\"}"), token),
                     "another");
    expect_bad_query(F("/api/widgets?sort=size&after=%s", token), "another");
    for (size_t at = 1; at < strlen(token); at += 7) { /* every few characters, one changed */
        snprintf(forged, sizeof forged, "%s", token);
        forged[at] = forged[at] == 'A' ? 'B' : 'A';
        e2e_get(C, &r, F("/api/users?sort=age&filter=%s&after=%s", filter, forged));
        EXPECT_PROBLEM(r, 400);
    }
    snprintf(forged, sizeof forged, "%.*s", (int)strlen(token) - 4, token);
    expect_bad_query(F("/api/users?sort=age&filter=%s&after=%s", filter, forged), "after");
    expect_bad_query("/api/users?after=", "after");
    expect_bad_query("/api/users?after=%25%25%25", "after");
    expect_bad_query(F("/api/users?after=%s", U("not a token at all")), "after");

    e2e_get(C, &r, "/api/widgets?skip=10000");
    EXPECT_STATUS(r, 200);
    expect_bad_query("/api/widgets?skip=10001", "after");
    expect_bad_query("/api/users?sort=tags", "array");
    expect_bad_query("/api/users?sort=address", "object");
    e2e_resp_free(&r);
}

static void test_replicas(void)
{
    char token[4096];
    if (!first_token("/api/widgets?sort=-size", token, sizeof token))
        return;
    const char *path = F("/api/widgets?sort=-size&limit=2&after=%s", token);
    char next[LINK_PATH_MAX];
    snprintf(next, sizeof next, "%s", path);
    e2e_resp_t mine = {0}, theirs = {0};
    e2e_get(C, &mine, next);
    EXPECT_STATUS(mine, 200);
    const char *keys[] = {KEY_A, KEY_B};
    for (int i = 0; i < 2; i++) {
        e2e_odmd_t other;
        e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                                .db_name = env.odmd.db_name,
                                .schemas = e2e_schemas_with_extras(),
                                .args = {"--cursor-key", keys[i], NULL}};
        if (i == 0) { /* the same key through the environment */
            opts.args[0] = NULL;
            opts.env[0] = "ODMD_CURSOR_KEY=" KEY_A;
        }
        if (!e2e_odmd_start(&other, &opts)) {
            CHECK_MSG(false, "a second odmd did not start");
            continue;
        }
        e2e_client_t c;
        e2e_client_init(&c, other.url);
        e2e_get(&c, &theirs, next);
        if (i == 0) {
            EXPECT_STATUS(theirs, 200);
            CHECK_MSG(theirs.body && mine.body && strcmp(theirs.body, mine.body) == 0,
                      "a replica with the same key answers another page");
        } else {
            EXPECT_PROBLEM(theirs, 400);
        }
        e2e_client_release(&c);
        CHECK_INT(e2e_odmd_stop(&other, 20000), 0);
    }
    e2e_resp_free(&mine);
    e2e_resp_free(&theirs);

    const char *argv[] = {"--cursor-key", "tiny-secret-9", "--mongo-uri", e2e_db_uri(env.db), NULL};
    char *out = NULL;
    CHECK_INT(e2e_run_odmd(argv, NULL, NULL, 10000, &out), 2);
    CHECK_MSG(out && strstr(out, "cursor-key") && strstr(out, "32") &&
                  !strstr(out, "tiny-secret-9"),
              "a short --cursor-key: %s", out ? out : "(no output)");
    free(out);
}

/* Counted on the wire (an odmd behind tests/support/cmdcount): a walk costs one find per page,
 * the look-ahead document answering whether a next page exists; no count, no getMore. */
static void test_one_find_per_page(void)
{
    odm_test_cmdcount_t *proxy = odm_test_cmdcount_start(e2e_db_port(env.db));
    if (proxy == NULL) {
        CHECK_MSG(false, "the counting proxy did not start");
        return;
    }
    char uri[64];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", odm_test_cmdcount_port(proxy));
    e2e_odmd_t counted;
    e2e_odmd_opts_t opts = {.mongo_uri = uri,
                            .db_name = env.odmd.db_name,
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--cursor-key", KEY_A, NULL}};
    if (!e2e_odmd_start(&counted, &opts)) {
        CHECK_MSG(false, "odmd behind the proxy did not start");
        odm_test_cmdcount_stop(proxy);
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, counted.url);
    static const size_t limits[] = {1, 4, 5, N_WIDGETS - 1, N_WIDGETS};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        int pages = 0;
        odm_test_cmdcount_reset(proxy);
        json_t *walked =
            walk(&c, F("/api/widgets?sort=-size,label&limit=%zu", limits[i]), limits[i], &pages);
        CHECK_INT(json_array_size(walked), N_WIDGETS);
        CHECK_INT(pages, (N_WIDGETS + limits[i] - 1) / limits[i]);
        CHECK_MSG(odm_test_cmdcount_get(proxy, "find") == pages,
                  "limit %zu: %ld finds for %d pages", limits[i],
                  odm_test_cmdcount_get(proxy, "find"), pages);
        /* batchSize = limit + 1: one batch per page on MongoDB and mongo-java-server;
         * FerretDB v1.24.2 was seen asking for more batches (getMore) within a page */
        if (!e2e_is_ferretdb())
            CHECK_INT(odm_test_cmdcount_get(proxy, "getMore"), 0);
        CHECK_INT(odm_test_cmdcount_get(proxy, "count"), 0);
        CHECK_INT(odm_test_cmdcount_get(proxy, "aggregate"), 0);
        json_decref(walked);
    }
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&counted, 20000), 0);
    odm_test_cmdcount_stop(proxy);
}

/* A filter of n long strings, percent-encoded. */
static char *long_filter(int n)
{
    size_t size = (size_t)n * 160 + 64;
    char *json = malloc(size), *enc = malloc(size * 3);
    size_t len = (size_t)snprintf(json, size, "{\"label\":{\"$nin\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, size - len, "%s\"%s-%040d\"", i ? "," : "",
                                "not-a-label", i);
    snprintf(json + len, size - len, "]}}");
    snprintf(enc, size * 3, "%s", U(json));
    free(json);
    return enc;
}

/* The Link shares libmicrohttpd's per-connection memory with the request: a long one is a
 * clear 400, never a dropped connection. */
static void test_long_link(void)
{
    char *small = long_filter(90), *large = long_filter(200);
    char *link = NULL;
    long status = raw_get(env.odmd.url, F("/api/widgets?limit=3&filter=%s", small), &link);
    CHECK_INT(status, 200);
    char next[LINK_PATH_MAX];
    CHECK_MSG(link && strlen(link) > 5000 && next_target(link, next, sizeof next),
              "a 5 KB filter: Link %.80s", link ? link : "(none)");
    free(link);
    link = NULL;
    CHECK_INT(raw_get(env.odmd.url, next, &link), 200);
    free(link);
    link = NULL;
    CHECK_INT(raw_get(env.odmd.url, F("/api/widgets?limit=3&filter=%s", large), &link), 400);
    CHECK_INT(raw_get(env.odmd.url, F("/api/widgets?limit=1000&filter=%s", large), &link), 200);
    free(link);
    free(small);
    free(large);
}

/* ---- walking while others write ----------------------------------------------------------- */

#define STABLE_FIRST 1000
#define N_STABLE 300
#define CHURN_FIRST 5000
#define N_CHURN 300
#define NEW_FIRST 9000
#define WRITERS 4

static atomic_bool walking_done;
static atomic_int inserted, deleted, write_failures;
static atomic_int next_new_id = NEW_FIRST;
static unsigned char seen[1 << 20]; /* by _id, during one check */

static void *churn_main(void *arg)
{
    int w = (int)(intptr_t)arg;
    unsigned seed = 77u + (unsigned)w;
    e2e_client_t c;
    e2e_client_init(&c, env.odmd.url);
    e2e_resp_t r = {0};
    char path[128], body[128];
    /* paced, so that the collection stays small enough for FerretDB, which scans it per page */
    int pause_ms = e2e_is_ferretdb() ? 10 : 1;
    for (int k = 0; !atomic_load(&walking_done); k++, e2e_sleep_ms(pause_ms)) {
        if (w % 2 == 0) { /* inserters: new ids all over the sort order */
            int id = atomic_fetch_add(&next_new_id, 1);
            snprintf(body, sizeof body, "{\"_id\":%d,\"label\":\"c%05d\",\"size\":%d}", id,
                     rand_r(&seed) % 100000, rand_r(&seed) % 5);
            e2e_post(&c, &r, "/api/widgets", body);
            if (r.status == 201)
                atomic_fetch_add(&inserted, 1);
            else
                atomic_fetch_add(&write_failures, 1);
        } else { /* deleters: the churn documents, in their own order */
            int id = CHURN_FIRST + (w / 2) + 2 * k;
            if (id >= CHURN_FIRST + N_CHURN)
                continue;
            snprintf(path, sizeof path, "/api/widgets/%d", id);
            e2e_delete(&c, &r, path, NULL);
            if (r.status == 204)
                atomic_fetch_add(&deleted, 1);
            else
                atomic_fetch_add(&write_failures, 1);
        }
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void seed_churn(void)
{
    e2e_resp_t r = {0};
    unsigned seed = 5;
    for (int i = 0; i < N_STABLE + N_CHURN; i++) {
        int id = i < N_STABLE ? STABLE_FIRST + i : CHURN_FIRST + i - N_STABLE;
        e2e_post(C, &r, "/api/widgets",
                 F("{\"_id\":%d,\"label\":\"c%05d\",\"size\":%d}", id, rand_r(&seed) % 100000,
                   rand_r(&seed) % 5));
        EXPECT_STATUS(r, 201);
    }
    e2e_resp_free(&r);
}

/* Every document there before the walk and never deleted is seen once; none is seen twice. */
static void check_exactly_once(const json_t *walked, const char *what)
{
    memset(seen, 0, sizeof seen);
    size_t i;
    json_t *doc;
    int twice = 0;
    json_array_foreach(walked, i, doc)
    {
        json_int_t id = json_integer_value(json_object_get(doc, "_id"));
        if (id <= 0 || (size_t)id >= sizeof seen) {
            CHECK_MSG(false, "%s: unexpected _id %lld", what, (long long)id);
            continue;
        }
        if (seen[id]++)
            twice++;
    }
    CHECK_MSG(twice == 0, "%s: %d documents seen twice", what, twice);
    int missing = 0;
    for (int id = 1; id <= N_WIDGETS; id++)
        missing += seen[id] != 1;
    for (int id = STABLE_FIRST; id < STABLE_FIRST + N_STABLE; id++)
        missing += seen[id] != 1;
    CHECK_MSG(missing == 0, "%s: %d stable documents not seen exactly once", what, missing);
}

/* Compares two widgets by "sort=KEY,-KEY,..." (size, label, _id), then _id ascending. */
static int widget_cmp(const json_t *a, const json_t *b, const char *sort)
{
    const char *p = sort + strlen("sort=");
    for (;;) {
        int direction = *p == '-' ? -1 : 1;
        p += *p == '-';
        size_t n = strcspn(p, ",");
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        const json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
        int c = json_is_string(va) ? strcmp(json_string_value(va), json_string_value(vb))
                                   : (json_integer_value(va) > json_integer_value(vb)) -
                                         (json_integer_value(va) < json_integer_value(vb));
        if (c != 0)
            return direction * c;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    json_int_t ia = json_integer_value(json_object_get(a, "_id"));
    json_int_t ib = json_integer_value(json_object_get(b, "_id"));
    return (ia > ib) - (ia < ib);
}

/* The walk's documents follow the sort strictly, whatever was written meanwhile. */
static void check_ordered(const json_t *walked, const char *sort)
{
    int out_of_order = 0;
    for (size_t i = 1; i < json_array_size(walked); i++)
        out_of_order +=
            widget_cmp(json_array_get(walked, i - 1), json_array_get(walked, i), sort) >= 0;
    CHECK_MSG(out_of_order == 0, "%s: %d documents out of order", sort, out_of_order);
}

static void test_walk_while_writing(void)
{
    static const char *const sorts[] = {"sort=size,-label", "sort=-label", "sort=-size"};
    for (size_t s = 0; s < sizeof sorts / sizeof *sorts; s++) {
        seed_churn();
        atomic_store(&walking_done, false);
        atomic_store(&inserted, 0);
        atomic_store(&deleted, 0);
        pthread_t threads[WRITERS];
        for (int w = 0; w < WRITERS; w++)
            pthread_create(&threads[w], NULL, churn_main, (void *)(intptr_t)w);
        int pages = 0;
        e2e_sleep_ms(20);
        int during_ins = atomic_load(&inserted), during_del = atomic_load(&deleted);
        json_t *walked = walk(C, F("/api/widgets?limit=7&%s", sorts[s]), 7, &pages);
        int after_ins = atomic_load(&inserted), after_del = atomic_load(&deleted);
        atomic_store(&walking_done, true);
        for (int w = 0; w < WRITERS; w++)
            pthread_join(threads[w], NULL);
        printf("walk %s: %d pages, %zu documents; meanwhile %d inserted, %d deleted\n", sorts[s],
               pages, json_array_size(walked), after_ins - during_ins, after_del - during_del);
        CHECK_MSG(after_ins > during_ins && after_del > during_del,
                  "%s: the writers did not write during the walk", sorts[s]);
        check_exactly_once(walked, sorts[s]);
        check_ordered(walked, sorts[s]);
        json_decref(walked);
        /* clean up for the next round: what the writers inserted and did not delete */
        e2e_resp_t r = {0};
        json_t *left = NULL;
        do {
            json_decref(left);
            e2e_get(C, &r,
                    F("/api/widgets?limit=1000&fields=size&filter=%s",
                      U(F("{\"_id\":{\"$gte\":%d}}", CHURN_FIRST))));
            left = json_incref(r.json);
            size_t i;
            json_t *doc;
            json_array_foreach(left, i, doc)
            {
                e2e_delete(C, &r,
                           F("/api/widgets/%lld",
                             (long long)json_integer_value(json_object_get(doc, "_id"))),
                           NULL);
            }
        } while (json_array_size(left) > 0);
        json_decref(left);
        for (int id = STABLE_FIRST; id < STABLE_FIRST + N_STABLE; id++)
            e2e_delete(C, &r, F("/api/widgets/%d", id), NULL);
        e2e_resp_free(&r);
    }
    /* FerretDB, slow under this load, may answer a write 503 or 504; the walk's checks above
     * hold either way */
    if (e2e_is_ferretdb())
        printf("cursors: %d writes failed on FerretDB during the walks\n",
               atomic_load(&write_failures));
    else
        CHECK_INT(atomic_load(&write_failures), 0);
}

int main(void)
{
    e2e_init("cursors");
    /* FerretDB answers a keyset page under concurrent writes in seconds when the machine is
     * busy: the walks check order, not latency, so there a page may take up to 30 s */
    const char *args[] = {"--cursor-key", KEY_A, "--workers", "8", NULL, NULL, NULL};
    if (e2e_is_ferretdb()) {
        args[4] = "--request-timeout";
        args[5] = "30000";
    }
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_cursors"));
    }
    seed();
    test_walks();
    test_link();
    test_refused();
    test_replicas();
    test_one_find_per_page();
    test_long_link();
    test_walk_while_writing();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_cursors"));
}
