/* End-to-end: bulk writes on /api/NAME. POST of an array (per-item results in input order,
 * unordered and ordered), the --bulk-max bound, PATCH ?filter= with the compare-and-set of a
 * single PATCH, DELETE ?filter=, the required filter; and a client odmd's tests did not write
 * (Python's urllib) driving them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"

#define BULK_MAX 5 /* odmd runs with --bulk-max 5 */

static e2e_env_t env;
#define C (&env.c)
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

/* The integer member `key` of `obj`, -1 when absent. */
static long long int_of(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* The status of item i of a bulk POST's answer, -1 when absent. */
static long long item_status(const e2e_resp_t *r, size_t i)
{
    return int_of(json_array_get(r->json, i), "status");
}

static const char *item_str(const e2e_resp_t *r, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(r->json, i), key));
}

static void expect_statuses(const e2e_resp_t *r, const long long *want, size_t n)
{
    CHECK_MSG(json_is_array(r->json) && json_array_size(r->json) == n,
              "%s %s: want %zu results: %.600s", r->method, r->path, n, r->body);
    for (size_t i = 0; i < n; i++)
        CHECK_MSG(item_status(r, i) == want[i], "%s %s: item %zu status %lld, want %lld: %.600s",
                  r->method, r->path, i, item_status(r, i), want[i], r->body);
}

/* Mixed items, unordered: each judged as a single POST would be, the valid ones inserted. */
static void test_post_mixed(void)
{
    e2e_resp_t r = {0}, g = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_post(C, &r, "/api/users",
             Q("[{'email':'b1@example.com','name':'B1','password':'s3cretpass',"
               "'lastLogin':'2020-01-02T05:04:05+02:00'},"
               "{'email':'not-an-email','name':'','age':200},"
               "{'_id':'0123456789abcdef01234567','email':'b2@example.com','name':'B2'},"
               "{'email':'b1@example.com','name':'B1 again'},"
               "{'email':'b3@example.com','name':'B3','role':'admin'}]"));
    EXPECT_STATUS(r, 200);
    const long long want[] = {201, 422, 422, 409, 201};
    expect_statuses(&r, want, 5);
    CHECK_MSG(json_array_size(json_object_get(json_array_get(r.json, 1), "errors")) >= 3,
              "item 1 lists every violation: %s", r.body);
    CHECK_MSG(json_array_size(json_object_get(json_array_get(r.json, 2), "errors")) == 1,
              "item 2 names the readOnly _id: %s", r.body);
    const char *dup = item_str(&r, 3, "detail");
    CHECK_MSG(dup && strstr(dup, "duplicate key") != NULL, "item 3: %s", r.body);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before + 2);

    /* an inserted item is what a single POST would have stored: generated ObjectId, BSON
     * date, the writeOnly field stored, the default filled in, its version the ETag's */
    char id[64], etag[64];
    snprintf(id, sizeof id, "%s", item_str(&r, 0, "_id") ? item_str(&r, 0, "_id") : "");
    snprintf(etag, sizeof etag, "%s", item_str(&r, 0, "etag") ? item_str(&r, 0, "etag") : "");
    CHECK_MSG(strlen(id) == 24, "item 0 _id '%s'", id);
    e2e_get(C, &g, F("/api/users/%s", id));
    EXPECT_STATUS(g, 200);
    EXPECT_HEADER(g, "ETag", etag);
    CHECK_STR(e2e_str(&g, "role"), "member");
    CHECK_STR(e2e_str(&g, "lastLogin"), "2020-01-02T03:04:05.000Z");
    CHECK_MSG(json_object_get(g.json, "password") == NULL, "writeOnly returned: %s", g.body);
    json_t *doc = e2e_mongo_find(DBURI, DBNAME, "users", F("{\"_id\": {\"$oid\": \"%s\"}}", id));
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "lastLogin")), "$date");
    CHECK_STR(json_string_value(json_object_get(doc, "password")), "s3cretpass");
    CHECK_MSG(strcmp(etag, F("\"%lld\"", e2e_ejson_int(json_object_get(doc, "__v"), -1))) == 0,
              "etag %s for a stored version %lld", etag,
              e2e_ejson_int(json_object_get(doc, "__v"), -1));
    json_decref(doc);
    CHECK_STR(item_str(&r, 4, "etag") ? "set" : "none", "set");

    /* an empty array inserts nothing */
    e2e_post(C, &r, "/api/users", "[]");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_is_array(r.json) && json_array_size(r.json) == 0, "%s", r.body);
    e2e_resp_free(&r);
    e2e_resp_free(&g);
}

/* Client-given ids: kept as given (an integer stays one), a missing one odmd cannot make is the
 * item's 422 as on a single POST, and a repeated one is a 409. */
static void test_post_client_ids(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/codes",
             Q("[{'_id':'ABC','label':'a'},{'label':'no id'},{'_id':'ABC','label':'again'}]"));
    EXPECT_STATUS(r, 200);
    const long long want[] = {201, 422, 409};
    expect_statuses(&r, want, 3);
    CHECK_STR(item_str(&r, 0, "_id") ? item_str(&r, 0, "_id") : "", "ABC");
    e2e_post(C, &r, "/api/widgets", Q("[{'_id':7,'label':'w'},{'_id':0,'label':'zero'}]"));
    const long long want_widgets[] = {201, 422};
    expect_statuses(&r, want_widgets, 2);
    CHECK_INT(int_of(json_array_get(r.json, 0), "_id"), 7);
    e2e_get(C, &r, "/api/widgets/7");
    EXPECT_STATUS(r, 200);
    CHECK_INT(int_of(r.json, "size"), 1); /* the default, as on a single POST */
    e2e_resp_free(&r);
}

/* ordered=true stops at the first failure, whether the checks or the database find it. */
static void test_post_ordered(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_post(C, &r, "/api/users?ordered=true",
             Q("[{'email':'o1@example.com','name':'O1'},{'email':'o2@example.com','name':''},"
               "{'email':'o3@example.com','name':'O3'}]"));
    EXPECT_STATUS(r, 200);
    const long long want_invalid[] = {201, 422, 424};
    expect_statuses(&r, want_invalid, 3);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before + 1);

    e2e_post(C, &r, "/api/users?ordered=true",
             Q("[{'email':'o4@example.com','name':'O4'},{'email':'o1@example.com','name':'O1'},"
               "{'email':'o5@example.com','name':'O5'}]"));
    EXPECT_STATUS(r, 200);
    const long long want_dup[] = {201, 409, 424};
    expect_statuses(&r, want_dup, 3);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before + 2);
    CHECK_MSG(e2e_mongo_find(DBURI, DBNAME, "users", "{\"email\": \"o5@example.com\"}") == NULL,
              "an item after the ordered failure was inserted");

    /* the same items unordered: the one after the failure goes in */
    e2e_post(C, &r, "/api/users?ordered=false",
             Q("[{'email':'o1@example.com','name':'O1'},{'email':'o5@example.com','name':'O5'}]"));
    const long long want_unordered[] = {409, 201};
    expect_statuses(&r, want_unordered, 2);

    e2e_post(C, &r, "/api/users?ordered=yes", "[]");
    EXPECT_PROBLEM(r, 400);
    e2e_post(C, &r, "/api/users?orderd=true", "[]");
    EXPECT_PROBLEM(r, 400);
    /* a single document's POST is held to the same query (both were ignored, 201) */
    e2e_post(C, &r, "/api/users?ordered=yes", Q("{'email':'o6@example.com','name':'O6'}"));
    EXPECT_PROBLEM(r, 400);
    e2e_post(C, &r, "/api/users?orderd=true", Q("{'email':'o6@example.com','name':'O6'}"));
    EXPECT_PROBLEM(r, 400);
    e2e_post(C, &r, "/api/users?ordered=true", Q("{'email':'o6@example.com','name':'O6'}"));
    EXPECT_STATUS(r, 201);
    e2e_resp_free(&r);
}

/* An array of n users with emails PREFIX-i@example.com. */
static char *users_array(const char *prefix, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "email", F("%s-%d@example.com", prefix, i), "name", "N"));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* An array of n notes, each with a title of `pad` bytes. */
static char *notes_array(int n, size_t pad)
{
    char *title = malloc(pad + 1);
    memset(title, 'x', pad);
    title[pad] = '\0';
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:i}", "title", title, "n", i));
    free(title);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* --bulk-max: more items is a 413, the bound itself goes through, on the polling thread's
 * small bodies and on the worker's large ones alike. */
static void test_post_bound(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    char *over = users_array("over", BULK_MAX + 1);
    e2e_post(C, &r, "/api/users", over);
    EXPECT_PROBLEM(r, 413);
    free(over);
    char *at = users_array("at", BULK_MAX);
    e2e_post(C, &r, "/api/users", at);
    EXPECT_STATUS(r, 200);
    const long long want[] = {201, 201, 201, 201, 201};
    expect_statuses(&r, want, BULK_MAX);
    free(at);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before + BULK_MAX);

    /* a body above 4 KiB is parsed and checked on a worker: the same answers */
    int64_t notes = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    char *big = notes_array(BULK_MAX + 1, 2000);
    e2e_post(C, &r, "/api/notes", big);
    EXPECT_PROBLEM(r, 413);
    free(big);
    big = notes_array(3, 2000);
    CHECK_MSG(strlen(big) > 4096, "body of %zu bytes", strlen(big));
    e2e_post(C, &r, "/api/notes", big);
    const long long want_big[] = {201, 201, 201};
    expect_statuses(&r, want_big, 3);
    free(big);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), notes + 3);
    e2e_resp_free(&r);
}

/* The version of the user with `id`, -1 when missing. */
static long long user_version(const char *id)
{
    json_t *doc = e2e_mongo_find(DBURI, DBNAME, "users", F("{\"_id\": {\"$oid\": \"%s\"}}", id));
    long long v = e2e_ejson_int(json_object_get(doc, "__v"), -1);
    json_decref(doc);
    return v;
}

static void post_user(const char *body, char *id, size_t size)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/users", Q(body));
    EXPECT_STATUS(r, 201);
    snprintf(id, size, "%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    e2e_resp_free(&r);
}

/* PATCH ?filter=: every match merged, validated and written guarded by its version; one that
 * breaks the model fails alone, one the patch leaves as it is is matched but not modified. */
static void test_patch(void)
{
    e2e_resp_t r = {0};
    char g1[64], g2[64], same[64];
    post_user("{'email':'g1@example.com','name':'G1','role':'guest','age':20}", g1, sizeof g1);
    post_user("{'email':'g2@example.com','name':'G2','role':'guest'}", g2, sizeof g2);
    post_user("{'email':'g3@example.com','name':'G3','role':'guest','tags':['vip']}", same,
              sizeof same);
    /* written by another tool: breaks the model (an empty name), whatever the patch */
    const char *bad = "0123456789abcdef0123abcd";
    CHECK(e2e_mongo_insert(DBURI, DBNAME, "users",
                           F("{\"_id\": {\"$oid\": \"%s\"}, \"email\": \"g4@example.com\", "
                             "\"name\": \"\", \"role\": \"guest\", \"__v\": 7}",
                             bad)));
    long long v1 = user_version(g1), vsame = user_version(same);

    e2e_patch(C, &r, F("/api/users?filter=%s", U("{\"role\":\"guest\"}")), Q("{'tags':['vip']}"),
              NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(int_of(r.json, "matched") == 4 && int_of(r.json, "modified") == 2 &&
                  int_of(r.json, "failed") == 1,
              "counts: %s", r.body);
    json_t *f = json_array_get(json_object_get(r.json, "failures"), 0);
    CHECK_STR(json_string_value(json_object_get(f, "_id")), bad);
    CHECK_INT(int_of(f, "status"), 422);
    CHECK_MSG(json_array_size(json_object_get(f, "errors")) >= 1, "failure errors: %s", r.body);
    CHECK_MSG(user_version(g1) == v1 + 1, "g1 version %lld, was %lld", user_version(g1), v1);
    CHECK_MSG(user_version(same) == vsame, "unchanged document rewritten");
    CHECK_MSG(user_version(bad) == 7, "the failing document was written");
    e2e_get(C, &r, F("/api/users/%s", g2));
    json_t *tags = json_object_get(r.json, "tags");
    CHECK_MSG(json_array_size(tags) == 1 && json_string_value(json_array_get(tags, 0)) &&
                  strcmp(json_string_value(json_array_get(tags, 0)), "vip") == 0,
              "g2 not patched: %s", r.body);

    /* the patch's own rules hold as on a single PATCH: readOnly refused before any write */
    e2e_patch(C, &r, F("/api/users?filter=%s", U("{\"role\":\"guest\"}")),
              Q("{'_id':'0123456789abcdef01234567'}"), NULL);
    EXPECT_PROBLEM(r, 422);

    /* more matches than --bulk-max: 400, nothing written */
    long long v2 = user_version(g2);
    e2e_patch(C, &r, F("/api/users?filter=%s", U("{}")), Q("{'age':33}"), NULL);
    EXPECT_PROBLEM(r, 400);
    CHECK_MSG(e2e_str(&r, "detail") && strstr(e2e_str(&r, "detail"), "narrow") != NULL, "%s",
              r.body);
    CHECK_MSG(user_version(g2) == v2, "a document was written past the bound");
    e2e_resp_free(&r);
}

/* The documents a bulk PATCH reads are bounded in bytes too: three of 12 MB (written by
 * another tool) pass the 32 MiB bound, 400 and nothing written. */
static void test_patch_bytes_bound(void)
{
    if (e2e_is_ferretdb()) { /* it cannot read 36 MB within the request's time */
        printf("test_patch_bytes_bound: skipped on FerretDB\n");
        return;
    }
    e2e_resp_t r = {0};
    size_t big = 12u << 20;
    char *doc = malloc(big + 64);
    int n = snprintf(doc, 64, "{\"n\": 777777, \"title\": \"");
    memset(doc + n, 'x', big);
    memcpy(doc + n + big, "\"}", 3);
    for (int i = 0; i < 3; i++)
        CHECK(e2e_mongo_insert(DBURI, DBNAME, "e2e_notes", doc));
    free(doc);
    const char *filter = U("{\"n\":777777}");
    char path[256];
    snprintf(path, sizeof path, "/api/notes?filter=%s", filter);
    e2e_patch(C, &r, path, "{\"n\": 1}", NULL);
    EXPECT_PROBLEM(r, 400);
    CHECK_MSG(e2e_str(&r, "detail") && strstr(e2e_str(&r, "detail"), "MiB") != NULL, "%s", r.body);
    e2e_delete(C, &r, path, NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(int_of(r.json, "deleted"), 3); /* none was patched away from the filter */
    e2e_resp_free(&r);
}

/* Preconditions on /api/NAME itself (RFC 9110 13.1): the collection has no ETag, so If-Match
 * with a tag fails and If-None-Match: * matches: 412, nothing written. */
static void test_collection_preconditions(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    const char *all = F("/api/users?filter=%s", U("{}"));
    char path[256];
    snprintf(path, sizeof path, "%s", all);
    const char *refused[] = {"If-Match: \"1\"", "If-None-Match: *"};
    for (size_t i = 0; i < 2; i++) {
        const char *h[] = {"Content-Type: application/merge-patch+json", refused[i], NULL};
        e2e_request(C, &r, "PATCH", path, h, "{\"age\": 1}", (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, 412), "PATCH with %s", refused[i]);
        e2e_delete(C, &r, path, refused[i]);
        CHECK_MSG(e2e_is_problem(&r, 412), "DELETE with %s", refused[i]);
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);
    e2e_delete(C, &r, F("/api/users?filter=%s", U("{\"email\":\"none@example.com\"}")),
               "If-Match: *");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

/* DELETE ?filter= answers how many it deleted. */
static void test_delete(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_delete(C, &r, F("/api/users?filter=%s", U("{\"role\":\"guest\"}")), NULL);
    EXPECT_STATUS(r, 200);
    /* the four guests of test_patch */
    CHECK_INT(int_of(r.json, "deleted"), 4);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before - 4);
    e2e_delete(C, &r, F("/api/users?filter=%s", U("{\"role\":\"guest\"}")), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(int_of(r.json, "deleted"), 0);
    e2e_resp_free(&r);
}

/* Without an explicit filter nothing is written: 400; so for a malformed one. */
static void test_filter_required(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_delete(C, &r, "/api/users", NULL);
    EXPECT_PROBLEM(r, 400);
    e2e_patch(C, &r, "/api/users", Q("{'age':1}"), NULL);
    EXPECT_PROBLEM(r, 400);
    const char *bad[] = {"filter=%7B", "filter=%5B%5D", "filter=%7B%22%24where%22%3A%221%22%7D",
                         "filter=%7B%7D&limit=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e2e_delete(C, &r, F("/api/users?%s", bad[i]), NULL);
        CHECK_MSG(e2e_is_problem(&r, 400), "DELETE ?%s", bad[i]);
        e2e_patch(C, &r, F("/api/users?%s", bad[i]), Q("{'age':1}"), NULL);
        CHECK_MSG(e2e_is_problem(&r, 400), "PATCH ?%s", bad[i]);
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);

    /* filter={} means every document */
    e2e_post(C, &r, "/api/notes", Q("[{'title':'a'},{'title':'b'}]"));
    int64_t notes = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    CHECK_MSG(notes >= 2, "%lld notes", (long long)notes);
    e2e_delete(C, &r, F("/api/notes?filter=%s", U("{}")), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(int_of(r.json, "deleted"), notes);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), 0);
    e2e_resp_free(&r);
}

/* ---- bulk PATCH racing single PATCHes: the compare-and-set loses neither ---- */

enum { RACE_DOCS = 5, RACE_ROUNDS = 15 };

typedef struct {
    char ids[RACE_DOCS][64];
    int bulk_failures, single_failures; /* requests that did not answer as they should */
} race_t;

/* Each round a bulk PATCH adds the key bR to every raced note. */
static void *bulk_racer(void *arg)
{
    race_t *race = arg;
    e2e_client_t c;
    e2e_resp_t r = {0};
    e2e_client_init(&c, env.odmd.url);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char path[256], body[64];
        snprintf(path, sizeof path, "/api/notes?filter=%%7B%%22title%%22%%3A%%22race%%22%%7D");
        snprintf(body, sizeof body, "{\"b%d\": %d}", round, round);
        e2e_patch(&c, &r, path, body, NULL);
        json_t *modified = json_object_get(r.json, "modified");
        if (r.status != 200 || json_integer_value(modified) != RACE_DOCS)
            race->bulk_failures++;
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

/* Meanwhile single PATCHes add the key sR to each raced note in turn. */
static void *single_racer(void *arg)
{
    race_t *race = arg;
    e2e_client_t c;
    e2e_resp_t r = {0};
    e2e_client_init(&c, env.odmd.url);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        for (int d = 0; d < RACE_DOCS; d++) {
            char path[128], body[64];
            snprintf(path, sizeof path, "/api/notes/%s", race->ids[d]);
            snprintf(body, sizeof body, "{\"s%d\": %d}", round, round);
            e2e_patch(&c, &r, path, body, NULL);
            if (r.status != 200)
                race->single_failures++;
        }
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_patch_races(void)
{
    if (e2e_is_ferretdb()) { /* it loses concurrent updates (FIELD-NOTES): nothing to hold */
        printf("test_patch_races: skipped on FerretDB, which loses concurrent updates\n");
        return;
    }
    race_t race = {0};
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/notes",
             Q("[{'title':'race'},{'title':'race'},{'title':'race'},{'title':'race'},"
               "{'title':'race'}]"));
    for (size_t i = 0; i < RACE_DOCS; i++) {
        const char *id = item_str(&r, i, "_id");
        snprintf(race.ids[i], sizeof race.ids[i], "%s", id ? id : "");
    }
    pthread_t bulk, single;
    pthread_create(&bulk, NULL, bulk_racer, &race);
    pthread_create(&single, NULL, single_racer, &race);
    pthread_join(bulk, NULL);
    pthread_join(single, NULL);
    CHECK_INT(race.bulk_failures, 0);
    CHECK_INT(race.single_failures, 0);
    for (int d = 0; d < RACE_DOCS; d++) {
        e2e_get(C, &r, F("/api/notes/%s", race.ids[d]));
        int missing = 0;
        for (int round = 0; round < RACE_ROUNDS; round++)
            missing += (json_object_get(r.json, F("b%d", round)) == NULL) +
                       (json_object_get(r.json, F("s%d", round)) == NULL);
        CHECK_MSG(missing == 0, "note %s lost %d updates: %s", race.ids[d], missing, r.body);
    }
    e2e_resp_free(&r);
}

/* A bulk PATCH that runs out of --request-timeout still answers: the documents left are
 * failures with 504, and the log tells the database's refusal once, not once per document. */
static void test_patch_out_of_time(void)
{
    enum { MANY = 3000 };    /* far more than the time allows, however fast the machine */
    if (e2e_is_ferretdb()) { /* too slow to read MANY documents in this timeout's budget */
        printf("test_patch_out_of_time: skipped on FerretDB\n");
        return;
    }
    e2e_resp_t r = {0};
    for (int k = 0; k < MANY / BULK_MAX; k++) { /* through the usual odmd, whose timeout is 5 s */
        e2e_post(C, &r, "/api/notes",
                 Q("[{'title':'many'},{'title':'many'},{'title':'many'},{'title':'many'},"
                   "{'title':'many'}]"));
        EXPECT_STATUS(r, 200);
    }
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = DBURI,
                            .schemas = e2e_schemas_with_extras(),
                            .db_name = DBNAME,
                            .args = {"--request-timeout", "500", "--bulk-max", "5000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd with --request-timeout 500 did not start");
        e2e_resp_free(&r);
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_patch(&c, &r, F("/api/notes?filter=%s", U("{\"title\":\"many\"}")), "{\"n\": -1}", NULL);
    EXPECT_STATUS(r, 200);
    long long matched = int_of(r.json, "matched"), modified = int_of(r.json, "modified");
    long long failed = int_of(r.json, "failed");
    printf("test_patch_out_of_time: %lld modified, %lld failed, %lld ms\n", modified, failed,
           (long long)r.elapsed_ms);
    CHECK_MSG(matched == MANY && modified + failed == MANY && failed > 0,
              "matched %lld, modified %lld, failed %lld", matched, modified, failed);
    json_t *failures = json_object_get(r.json, "failures"), *f;
    size_t i, not_504 = 0;
    json_array_foreach(failures, i, f) not_504 += int_of(f, "status") != 504;
    CHECK_INT(not_504, 0);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    e2e_odmd_stop(&o, 5000);
    char *log = e2e_read_file(o.log_path);
    int told = 0;
    for (const char *p = log; p && (p = strstr(p, "deadline too close")) != NULL; p++)
        told++;
    CHECK_MSG(told == 1, "the log tells the refusal %d times", told);
    free(log);
}

/* The three through Python's urllib (tests/e2e/clients/bulk.py asserts what it reads). */
static void test_through_urllib(void)
{
    const char *dir = e2e_temp_dir("urllib");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 120 python3 '%s/tests/e2e/clients/bulk.py' '%s' >'%s/out.txt' 2>&1",
             e2e_source_dir(), env.odmd.url, dir);
    int status = system(cmd);
    char *out = e2e_read_file(F("%s/out.txt", dir));
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "urllib client: status %d: %s", status,
              out ? out : "(no output)");
    CHECK_MSG(out && strstr(out, "bulk ok") != NULL, "urllib client: %s", out ? out : "");
    free(out);
}

int main(void)
{
    e2e_init("bulk");
    const char *args[] = {"--bulk-max", "5", NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_bulk"));
    }
    test_post_mixed();
    test_post_client_ids();
    test_post_ordered();
    test_post_bound();
    test_patch();
    test_collection_preconditions();
    test_patch_bytes_bound();
    test_delete();
    test_patch_races();
    test_patch_out_of_time();
    test_filter_required();
    test_through_urllib();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_bulk"));
}
