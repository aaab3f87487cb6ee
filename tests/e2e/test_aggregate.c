/* End-to-end: named aggregations (x-aggregations) at GET /api/NAME/_agg/AGG?P=...
 * (tests/e2e/schemas/events.json, places.json, ledgers.json): real pipelines ($match by a date
 * parameter, $group, $sort/$skip/$limit, $lookup into another model, $facet, $sortByCount,
 * $unwind, $count), writeOnly fields left out, parameter validation with pointers, the owner and
 * soft-delete filters, the 1000-document cap, 404 for an unknown aggregation, read scopes, and
 * `odmd check` refusing a bad model file.
 *
 * mongo-java-server 1.46 lacks the $set stage (it has $addFields): no test model uses it.
 * FerretDB v1.24 lacks $lookup, $facet and $sortByCount: those parts are skipped there; it
 * computes only the first $sum of a $group (ferretdb_sums_once). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
static e2e_client_t alice, bob, root, stranger;

/* FerretDB v1.24 computes the first $sum of a $group only: the others come back 0 (seen here:
 * {total: {$sum: "$n"}, count: {$sum: 1}} gave count 0, and count first gave total 0). MongoDB
 * and mongo-java-server compute every one. */
static bool ferretdb_sums_once(void)
{
    return e2e_is_ferretdb();
}

static void post_ok(e2e_client_t *c, const char *path, const char *body)
{
    e2e_resp_t r = {0};
    e2e_post(c, &r, path, Q(body));
    CHECK_MSG(r.status == 200 || r.status == 201, "POST %s: %ld %s", path, r.status, r.body);
    e2e_resp_free(&r);
}

/* GET of an aggregation expected to answer 200 with a JSON array; returns it (new). */
static json_t *agg(e2e_client_t *c, const char *path)
{
    e2e_resp_t r = {0};
    e2e_get(c, &r, path);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_is_array(r.json), "%s: not an array: %.200s", path, r.body);
    json_t *out = json_incref(r.json);
    e2e_resp_free(&r);
    return out ? out : json_array();
}

static const char *str_at(const json_t *docs, size_t i, const char *key)
{
    const char *s = json_string_value(json_object_get(json_array_get(docs, i), key));
    return s ? s : "(none)";
}

static long long int_at(const json_t *docs, size_t i, const char *key)
{
    const json_t *v = json_object_get(json_array_get(docs, i), key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void seed(void)
{
    post_ok(&root, "/api/places", "{'code':'p1','name':'Paris'}");
    post_ok(&root, "/api/events",
            "[{'kind':'a','at':'2026-01-01T00:00:00Z','n':1,'place':'p1','tags':['x','y'],"
            "'secret':'s1'},"
            "{'kind':'b','at':'2026-02-01T00:00:00Z','n':2,'tags':['x'],'secret':'s2'},"
            "{'kind':'a','at':'2026-03-01T00:00:00Z','n':3,'place':'p1'}]");
}

static void test_pipelines(void)
{
    /* $match on a date parameter (a BSON date: the string would not compare), $sort, $limit */
    json_t *d = agg(&root, F("/api/events/_agg/since?from=%s", U("2026-01-15T00:00:00Z")));
    CHECK_INT(json_array_size(d), 2);
    CHECK_STR(str_at(d, 0, "at"), "2026-03-01T00:00:00.000Z");
    CHECK_STR(str_at(d, 1, "at"), "2026-02-01T00:00:00.000Z");
    json_decref(d);
    d = agg(&root, F("/api/events/_agg/since?from=%s&top=1", U("2026-01-15T00:00:00+01:00")));
    CHECK_INT(json_array_size(d), 1);
    CHECK_INT(int_at(d, 0, "n"), 3);
    json_decref(d);
    /* $group and $sort */
    d = agg(&root, "/api/events/_agg/byKind");
    CHECK_INT(json_array_size(d), 2);
    CHECK_STR(str_at(d, 0, "_id"), "a");
    CHECK_INT(int_at(d, 0, "total"), 4);
    if (!ferretdb_sums_once())
        CHECK_INT(int_at(d, 0, "count"), 2);
    CHECK_STR(str_at(d, 1, "_id"), "b");
    json_decref(d);
    /* $skip by a parameter */
    d = agg(&root, "/api/events/_agg/page?skip=1");
    CHECK_INT(json_array_size(d), 2);
    CHECK_INT(int_at(d, 0, "n"), 2);
    CHECK_INT(int_at(d, 1, "n"), 3);
    json_decref(d);
    /* $unwind, $group */
    d = agg(&root, "/api/events/_agg/tagCounts");
    CHECK_INT(json_array_size(d), 2);
    CHECK_STR(str_at(d, 0, "_id"), "x");
    CHECK_INT(int_at(d, 0, "c"), 2);
    json_decref(d);
    /* $count with an integer parameter */
    d = agg(&root, "/api/events/_agg/atLeast?min=2");
    CHECK_INT(json_array_size(d), 1);
    CHECK_INT(int_at(d, 0, "matching"), 2);
    json_decref(d);
    /* a writeOnly field of the model is left out even when the pipeline keeps it */
    d = agg(&root, "/api/events/_agg/secrets");
    CHECK_INT(json_array_size(d), 3);
    CHECK(e2e_json_lacks_key(d, "secret"));
    CHECK_STR(str_at(d, 0, "kind"), "a");
    json_decref(d);
    /* HEAD: the same answer without its body */
    e2e_resp_t r = {0};
    e2e_head(&root, &r, "/api/events/_agg/byKind");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

static void test_lookup_and_facet(void)
{
    if (e2e_is_ferretdb()) {
        printf("e2e_aggregate: FerretDB v1.24 lacks $lookup, $facet and $sortByCount: its "
               "refusal is a 400\n");
        e2e_resp_t r = {0};
        e2e_get(&root, &r, "/api/events/_agg/withPlace?kind=a");
        EXPECT_PROBLEM(r, 400);
        e2e_get(&root, &r, "/api/events/_agg/facets");
        EXPECT_PROBLEM(r, 400);
        e2e_resp_free(&r);
        return;
    }
    json_t *d = agg(&root, "/api/events/_agg/withPlace?kind=a");
    CHECK_INT(json_array_size(d), 2);
    const json_t *where = json_object_get(json_array_get(d, 0), "where");
    CHECK_INT(json_array_size(where), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(where, 0), "name")), "Paris");
    json_decref(d);
    d = agg(&root, "/api/events/_agg/facets");
    CHECK_INT(json_array_size(d), 1);
    const json_t *facets = json_array_get(d, 0);
    const json_t *total = json_object_get(facets, "total");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(total, 0), "n")), 3);
    const json_t *kinds = json_object_get(facets, "kinds");
    CHECK_INT(json_array_size(kinds), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(kinds, 0), "_id")), "a");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(kinds, 0), "count")), 2);
    json_decref(d);
}

/* The violation of `r` at instanceLocation `at`, or NULL. */
static const json_t *violation_at(const e2e_resp_t *r, const char *at)
{
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(r->json, "errors"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "instanceLocation")), at) == 0)
            return v;
    }
    return NULL;
}

static void test_parameters(void)
{
    e2e_resp_t r = {0};
    /* a required parameter missing */
    e2e_get(&root, &r, "/api/events/_agg/since");
    EXPECT_PROBLEM(r, 400);
    CHECK(violation_at(&r, "/from") != NULL);
    /* a value its schema refuses, an unknown parameter, a value of the wrong type: all named */
    e2e_get(&root, &r, "/api/events/_agg/since?from=yesterday&top=0&colour=red");
    EXPECT_PROBLEM(r, 400);
    const json_t *from = violation_at(&r, "/from");
    CHECK(from != NULL);
    CHECK_STR(json_string_value(json_object_get(from, "keywordLocation")), "/format");
    CHECK(violation_at(&r, "/top") != NULL);
    CHECK(violation_at(&r, "/colour") != NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "errors")), 3);
    e2e_get(&root, &r, F("/api/events/_agg/since?from=%s&top=ten", U("2026-01-01T00:00:00Z")));
    EXPECT_PROBLEM(r, 400);
    const json_t *top = violation_at(&r, "/top");
    CHECK(top != NULL);
    CHECK_STR(json_string_value(json_object_get(top, "keywordLocation")), "/type");
    /* given twice */
    e2e_get(&root, &r, "/api/events/_agg/page?skip=1&skip=2");
    EXPECT_PROBLEM(r, 400);
    CHECK(violation_at(&r, "/skip") != NULL);
    /* an aggregation without parameters takes none */
    e2e_get(&root, &r, "/api/events/_agg/byKind?x=1");
    EXPECT_PROBLEM(r, 400);
    CHECK(violation_at(&r, "/x") != NULL);
    /* a name that is not UTF-8 is refused all the same; one with '/' and '~' is escaped */
    e2e_get(&root, &r, "/api/events/_agg/byKind?%FF=1");
    EXPECT_PROBLEM(r, 400);
    e2e_get(&root, &r, "/api/events/_agg/byKind?a%2Fb~c=1");
    EXPECT_PROBLEM(r, 400);
    CHECK(violation_at(&r, "/a~1b~0c") != NULL);
    /* a date a BSON date cannot hold */
    e2e_get(&root, &r, F("/api/events/_agg/since?from=%s", U("0000-01-01T00:00:00Z")));
    EXPECT_PROBLEM(r, 400);
    /* unknown aggregation; an aggregation of another model */
    e2e_get(&root, &r, "/api/events/_agg/nope");
    EXPECT_PROBLEM(r, 404);
    e2e_get(&root, &r, "/api/places/_agg/byKind");
    EXPECT_PROBLEM(r, 404);
    e2e_get(&root, &r, "/api/events/_agg/byKind/more");
    EXPECT_PROBLEM(r, 404);
    e2e_resp_free(&r);
}

/* x-owner and x-softDelete: the first $match narrows to the caller's live documents. */
static void test_owner_and_soft_delete(void)
{
    post_ok(&alice, "/api/ledgers", "[{'title':'a1','amount':10},{'title':'a2','amount':20}]");
    post_ok(&bob, "/api/ledgers", "{'title':'b1','amount':100}");
    json_t *d = agg(&alice, "/api/ledgers/_agg/total");
    CHECK_INT(int_at(d, 0, "sum"), 30);
    if (!ferretdb_sums_once())
        CHECK_INT(int_at(d, 0, "count"), 2);
    json_decref(d);
    d = agg(&bob, "/api/ledgers/_agg/total");
    CHECK_INT(int_at(d, 0, "sum"), 100);
    json_decref(d);
    d = agg(&root, "/api/ledgers/_agg/total"); /* admin sees every owner */
    CHECK_INT(int_at(d, 0, "sum"), 130);
    json_decref(d);
    /* soft-delete alice's a2: it leaves her total */
    e2e_resp_t r = {0};
    e2e_get(&alice, &r, F("/api/ledgers?filter=%s", U("{\"title\":\"a2\"}")));
    const char *id = json_string_value(json_object_get(json_array_get(r.json, 0), "_id"));
    char path[128];
    snprintf(path, sizeof path, "/api/ledgers/%s", id ? id : "none");
    e2e_delete(&alice, &r, path, NULL);
    EXPECT_STATUS(r, 204);
    d = agg(&alice, "/api/ledgers/_agg/total");
    CHECK_INT(int_at(d, 0, "sum"), 10);
    if (!ferretdb_sums_once())
        CHECK_INT(int_at(d, 0, "count"), 1);
    json_decref(d);
    d = agg(&root, "/api/ledgers/_agg/total");
    CHECK_INT(int_at(d, 0, "sum"), 110);
    json_decref(d);
    /* read:MODEL is the scope: alice may read ledgers only */
    e2e_get(&alice, &r, "/api/events/_agg/byKind");
    EXPECT_PROBLEM(r, 403);
    e2e_get(&stranger, &r, "/api/events/_agg/byKind");
    EXPECT_PROBLEM(r, 401);
    e2e_resp_free(&r);
}

/* More than 1000 results: 413, whatever the pipeline's own stages. */
static void test_cap(void)
{
    char body[16384];
    size_t len = (size_t)snprintf(body, sizeof body, "{'kind':'many','tags':[");
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(body + len, sizeof body - len, "%s't%d'", i ? "," : "", i);
    snprintf(body + len, sizeof body - len, "]}");
    post_ok(&root, "/api/events", body);
    json_t *d = agg(&root, "/api/events/_agg/allTags"); /* 603 results: under the cap */
    CHECK_INT(json_array_size(d), 603);
    json_decref(d);
    post_ok(&root, "/api/events", body);
    e2e_resp_t r = {0};
    e2e_get(&root, &r, "/api/events/_agg/allTags"); /* 1203 */
    EXPECT_PROBLEM(r, 413);
    const char *detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "1000 documents"), "detail: %s", detail ? detail : "");
    /* fewer documents, more than 16 MiB of JSON: 30 copies of a 600 KB document. FerretDB
     * v1.24's $unwind keeps only _id and the unwound field (seen here), so the copies stay small
     * there: MongoDB and mongo-java-server only */
    if (e2e_is_ferretdb()) {
        e2e_resp_free(&r);
        return;
    }
    size_t big = 600 * 1024;
    char *text = malloc(big + 512);
    if (text == NULL)
        return;
    len = (size_t)snprintf(text, 64, "{\"kind\":\"big\",\"place\":\"");
    memset(text + len, 'x', big);
    len += big;
    len += (size_t)snprintf(text + len, 512 - 64, "\",\"tags\":[");
    for (int i = 0; i < 30; i++)
        len += (size_t)snprintf(text + len, 16, "%s\"t%d\"", i ? "," : "", i);
    snprintf(text + len, 8, "]}");
    e2e_post(&root, &r, "/api/events", text);
    EXPECT_STATUS(r, 201);
    free(text);
    e2e_get(&root, &r, "/api/events/_agg/unwound?kind=big");
    EXPECT_PROBLEM(r, 413);
    detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "bytes"), "detail: %s", detail ? detail : "");
    e2e_resp_free(&r);
}

/* The OpenAPI document lists each aggregation with its parameters. */
static void test_openapi(void)
{
    e2e_resp_t r = {0};
    e2e_get(&root, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    const json_t *since = json_object_get(
        json_object_get(json_object_get(r.json, "paths"), "/api/events/_agg/since"), "get");
    CHECK(since != NULL);
    const json_t *params = json_object_get(since, "parameters");
    CHECK_INT(json_array_size(params), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(params, 0), "name")), "from");
    CHECK(json_is_true(json_object_get(json_array_get(params, 0), "required")));
    CHECK(json_is_false(json_object_get(json_array_get(params, 1), "required")));
    CHECK_STR(json_string_value(json_object_get(since, "operationId")), "get_events_agg_since");
    e2e_resp_free(&r);
}

/* A model file with a refused stage stops `odmd check` (and startup) with its pointer. */
static void test_check_refuses(void)
{
    const char *dir = e2e_temp_dir("bad-agg");
    CHECK(e2e_write_file(dir, "things.json",
                         "{\"x-aggregations\": {\"dump\": {\"pipeline\": [{\"$match\": {}}, "
                         "{\"$out\": \"copy\"}]}}}"));
    const char *argv[] = {"check", dir, NULL};
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 20000, &out);
    CHECK_INT(status, 2);
    CHECK_MSG(out && strstr(out, "things.json: /x-aggregations/dump/pipeline/1/$out: stage "
                                 "'$out' is not allowed"),
              "odmd check: %s", out ? out : "");
    free(out);
}

static const char *key_hash(const char *dir, const char *key, char *out, size_t size)
{
    char cmd[1024];
    e2e_write_file(dir, "k.txt", key);
    snprintf(cmd, sizeof cmd, "%s key-hash < %s/k.txt", e2e_odmd_bin(), dir);
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (p == NULL || fgets(out, (int)size, p) == NULL)
        out[0] = '\0';
    if (p != NULL)
        pclose(p);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

int main(void)
{
    e2e_init("aggregate");
    const char *dir = e2e_temp_dir("keys");
    char h[3][65];
    const char *keys[] = {"alice-key-71ab", "bob-key-02cd", "root-key-93ef"};
    const char *text =
        F("{\"keys\": [{\"name\": \"alice\", \"sha256\": \"%s\", \"scopes\": [\"read:ledgers\", "
          "\"write:ledgers\"]},"
          "{\"name\": \"bob\", \"sha256\": \"%s\", \"scopes\": [\"read:*\", \"write:*\"]},"
          "{\"name\": \"root\", \"sha256\": \"%s\", \"scopes\": [\"admin\"]}]}",
          key_hash(dir, keys[0], h[0], 65), key_hash(dir, keys[1], h[1], 65),
          key_hash(dir, keys[2], h[2], 65));
    CHECK(e2e_write_file(dir, "keys.json", text));
    char path[512];
    snprintf(path, sizeof path, "%s/keys.json", dir);
    const char *args[] = {"--keys", path, NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_aggregate"));
    }
    e2e_client_init(&alice, env.odmd.url);
    e2e_client_init(&bob, env.odmd.url);
    e2e_client_init(&root, env.odmd.url);
    e2e_client_init(&stranger, env.odmd.url);
    alice.api_key = keys[0];
    bob.api_key = keys[1];
    root.api_key = keys[2];
    seed();
    test_pipelines();
    test_lookup_and_facet();
    test_parameters();
    test_owner_and_soft_delete();
    test_cap();
    test_openapi();
    test_check_refuses();
    e2e_client_release(&alice);
    e2e_client_release(&bob);
    e2e_client_release(&root);
    e2e_client_release(&stranger);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_aggregate"));
}
