/* End-to-end: model lifecycle keywords. x-requireIfMatch: writes without If-Match are 428
 * (problem+json), with the document's ETag they go on, and the bulk writes of /api/NAME need
 * If-Match: *. x-timestamps: createdAt and updatedAt set by odmd as BSON dates on every insert
 * and write, never by clients, kept (createdAt) by PUT, renamed by the object form, and usable
 * in filter and sort. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

static void copy_header(const e2e_resp_t *r, const char *name, char *out, size_t size)
{
    const char *v = e2e_header(r, name);
    snprintf(out, size, "%s", v ? v : "");
}

static void copy_str(const e2e_resp_t *r, const char *key, char *out, size_t size)
{
    const char *v = e2e_str(r, key);
    snprintf(out, size, "%s", v ? v : "");
}

/* A 428 that says what to send. */
static void expect_428(const e2e_resp_t *r, const char *what)
{
    CHECK_MSG(e2e_is_problem(r, 428), "%s: %ld %s", what, r->status, r->body);
    const char *type = e2e_str(r, "type");
    CHECK_MSG(type && strcmp(type, "urn:odmd:problem:precondition-required") == 0, "%s: type %s",
              what, type ? type : "(none)");
    const char *detail = e2e_str(r, "detail");
    CHECK_MSG(detail && strstr(detail, "If-Match") && strstr(detail, "ETag"), "%s: detail %s", what,
              detail ? detail : "(none)");
}

static void test_require_if_match(void)
{
    e2e_resp_t r = {0};
    char location[256], etag[64];
    e2e_post(C, &r, "/api/locks", Q("{'name':'a','n':1}"));
    EXPECT_STATUS(r, 201); /* POST creates: nothing to match */
    copy_header(&r, "Location", location, sizeof location);
    copy_header(&r, "ETag", etag, sizeof etag);
    e2e_get(C, &r, location);
    EXPECT_STATUS(r, 200);

    e2e_put(C, &r, location, Q("{'name':'b'}"), NULL);
    expect_428(&r, "PUT without If-Match");
    e2e_patch(C, &r, location, Q("{'n':2}"), NULL);
    expect_428(&r, "PATCH without If-Match");
    e2e_delete(C, &r, location, NULL);
    expect_428(&r, "DELETE without If-Match");
    e2e_delete(C, &r, "/api/locks/not-an-id", NULL);
    CHECK(e2e_is_problem(&r, 400)); /* a malformed id comes first */
    e2e_patch(C, &r, location, Q("{'n':2}"), "If-Match: *");
    expect_428(&r, "PATCH with If-Match: *"); /* names no version: lost updates stay possible */
    e2e_patch(C, &r, location, Q("{'n':2}"), "If-Match: \"999\"");
    EXPECT_STATUS(r, 412); /* a stale tag is still 412 */
    e2e_get(C, &r, location);
    CHECK_MSG(json_integer_value(json_object_get(r.json, "n")) == 1 &&
                  strcmp(e2e_str(&r, "name"), "a") == 0,
              "refused writes changed the document: %s", r.body);

    e2e_patch(C, &r, location, Q("{'n':2}"), F("If-Match: %s", etag));
    EXPECT_STATUS(r, 200);
    copy_header(&r, "ETag", etag, sizeof etag);
    e2e_put(C, &r, location, Q("{'name':'b','n':3}"), F("If-Match: %s", etag));
    EXPECT_STATUS(r, 200);
    copy_header(&r, "ETag", etag, sizeof etag);

    /* The collection has no ETag: bulk writes go on with If-Match: * only. */
    const char *bulk = F("/api/locks?filter=%s", U("{\"name\":\"b\"}"));
    e2e_patch(C, &r, bulk, Q("{'n':4}"), NULL);
    expect_428(&r, "bulk PATCH without If-Match");
    e2e_delete(C, &r, bulk, NULL);
    expect_428(&r, "bulk DELETE without If-Match");
    e2e_patch(C, &r, bulk, Q("{'n':4}"), "If-Match: *");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_integer_value(json_object_get(r.json, "modified")) == 1, "bulk PATCH: %s",
              r.body);
    e2e_get(C, &r, location);
    copy_header(&r, "ETag", etag, sizeof etag);
    e2e_delete(C, &r, location, F("If-Match: %s", etag));
    EXPECT_STATUS(r, 204);
    e2e_post(C, &r, "/api/locks", Q("{'name':'c'}"));
    EXPECT_STATUS(r, 201);
    e2e_delete(C, &r, "/api/locks?filter={}", "If-Match: *");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_integer_value(json_object_get(r.json, "deleted")) == 1, "bulk DELETE: %s",
              r.body);

    /* Other models are unchanged: no If-Match needed. */
    e2e_post(C, &r, "/api/notes", Q("{'title':'free'}"));
    EXPECT_STATUS(r, 201);
    copy_header(&r, "Location", location, sizeof location);
    e2e_delete(C, &r, location, NULL);
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

/* The stored value of `field` of the document `id` in `coll` is a BSON date. */
static void expect_stored_date(const char *coll, const char *id, const char *field)
{
    json_t *doc = e2e_mongo_find(DBURI, DBNAME, coll, F("{\"_id\": {\"$oid\": \"%s\"}}", id));
    CHECK_MSG(doc != NULL, "%s %s not stored", coll, id);
    const char *kind = e2e_ejson_kind(json_object_get(doc, field));
    CHECK_MSG(strcmp(kind, "$date") == 0, "%s.%s stored as %s", coll, field, kind);
    json_decref(doc);
}

/* An RFC 3339 UTC time with milliseconds: 2026-01-02T03:04:05.678Z. */
static bool is_time(const char *s)
{
    return s != NULL && strlen(s) == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z';
}

static void test_timestamps(void)
{
    e2e_resp_t r = {0};
    char id[32], location[256], created[32], updated[32];
    e2e_post(C, &r, "/api/stamps", Q("{'name':'s1','n':1}"));
    EXPECT_STATUS(r, 201);
    copy_str(&r, "_id", id, sizeof id);
    copy_header(&r, "Location", location, sizeof location);
    copy_str(&r, "createdAt", created, sizeof created);
    copy_str(&r, "updatedAt", updated, sizeof updated);
    CHECK_MSG(is_time(created) && strcmp(created, updated) == 0, "POST: %s", r.body);
    expect_stored_date("e2e_stamps", id, "createdAt");
    expect_stored_date("e2e_stamps", id, "updatedAt");

    /* Clients cannot write them: 422 like any readOnly field, on every write. */
    e2e_post(C, &r, "/api/stamps", Q("{'name':'x','createdAt':'2020-01-01T00:00:00Z'}"));
    EXPECT_STATUS(r, 422);
    e2e_patch(C, &r, location, Q("{'updatedAt':'2020-01-01T00:00:00Z'}"), NULL);
    EXPECT_STATUS(r, 422);
    e2e_put(C, &r, location, Q("{'name':'x','createdAt':'2020-01-01T00:00:00Z'}"), NULL);
    EXPECT_STATUS(r, 422);
    e2e_post(C, &r, "/api/stamps", Q("[{'name':'x','updatedAt':'2020-01-01T00:00:00Z'}]"));
    CHECK_MSG(r.status == 200 &&
                  json_integer_value(json_object_get(json_array_get(r.json, 0), "status")) == 422,
              "bulk POST with updatedAt: %ld %s", r.status, r.body);

    /* PATCH and PUT move updatedAt, keep createdAt. */
    e2e_sleep_ms(5);
    e2e_patch(C, &r, location, Q("{'n':2}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(strcmp(e2e_str(&r, "createdAt"), created) == 0, "PATCH createdAt: %s", r.body);
    CHECK_MSG(is_time(e2e_str(&r, "updatedAt")) && strcmp(e2e_str(&r, "updatedAt"), updated) > 0,
              "PATCH updatedAt (was %s): %s", updated, r.body);
    copy_str(&r, "updatedAt", updated, sizeof updated);
    e2e_sleep_ms(5);
    e2e_put(C, &r, location, Q("{'name':'s1'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(strcmp(e2e_str(&r, "createdAt"), created) == 0, "PUT createdAt: %s", r.body);
    CHECK_MSG(strcmp(e2e_str(&r, "updatedAt"), updated) > 0, "PUT updatedAt (was %s): %s", updated,
              r.body);
    copy_str(&r, "updatedAt", updated, sizeof updated);
    expect_stored_date("e2e_stamps", id, "createdAt");
    expect_stored_date("e2e_stamps", id, "updatedAt");

    /* Bulk POST stamps every item; bulk PATCH moves updatedAt of what it changes. */
    e2e_sleep_ms(5);
    e2e_post(C, &r, "/api/stamps", Q("[{'name':'s2','n':2},{'name':'s3','n':3}]"));
    EXPECT_STATUS(r, 200);
    char id2[32] = "";
    const char *got = json_string_value(json_object_get(json_array_get(r.json, 0), "_id"));
    snprintf(id2, sizeof id2, "%s", got ? got : "");
    CHECK_MSG(strlen(id2) == 24, "bulk POST answer: %s", r.body);
    e2e_get(C, &r, F("/api/stamps/%s", id2));
    EXPECT_STATUS(r, 200);
    char created2[32];
    copy_str(&r, "createdAt", created2, sizeof created2);
    CHECK_MSG(is_time(created2) && strcmp(created2, updated) > 0 &&
                  strcmp(e2e_str(&r, "updatedAt"), created2) == 0,
              "bulk POST item: %s", r.body);
    expect_stored_date("e2e_stamps", id2, "createdAt");
    e2e_sleep_ms(5);
    e2e_patch(C, &r, F("/api/stamps?filter=%s", U("{\"name\":\"s2\"}")), Q("{'n':20}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_integer_value(json_object_get(r.json, "modified")) == 1, "bulk PATCH: %s",
              r.body);
    e2e_get(C, &r, F("/api/stamps/%s", id2));
    CHECK_MSG(strcmp(e2e_str(&r, "createdAt"), created2) == 0 &&
                  strcmp(e2e_str(&r, "updatedAt"), created2) > 0,
              "bulk PATCH item: %s", r.body);

    /* Filter by a range and sort on updatedAt: s2 was written last. */
    e2e_get(C, &r,
            F("/api/stamps?sort=-updatedAt&fields=name&filter=%s",
              U(F("{\"updatedAt\":{\"$gte\":\"%s\"}}", created))));
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_array_size(r.json) == 3 &&
                  strcmp(json_string_value(json_object_get(json_array_get(r.json, 0), "name")),
                         "s2") == 0,
              "sorted by -updatedAt: %s", r.body);
    e2e_get(C, &r, F("/api/stamps?filter=%s", U(F("{\"createdAt\":{\"$gt\":\"%s\"}}", created))));
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_array_size(r.json) == 2, "created after the first: %s", r.body);
    e2e_resp_free(&r);
}

/* The object form: other names, one of them declared by the model itself. */
static void test_renamed_timestamps(void)
{
    e2e_resp_t r = {0};
    char id[32], location[256], created[32];
    e2e_post(C, &r, "/api/journals", Q("{'title':'j'}"));
    EXPECT_STATUS(r, 201);
    copy_str(&r, "_id", id, sizeof id);
    copy_header(&r, "Location", location, sizeof location);
    copy_str(&r, "created", created, sizeof created);
    CHECK_MSG(is_time(created) && strcmp(created, e2e_str(&r, "modified")) == 0 &&
                  e2e_json_lacks_key(r.json, "createdAt") &&
                  e2e_json_lacks_key(r.json, "updatedAt"),
              "POST: %s", r.body);
    expect_stored_date("e2e_journals", id, "created");
    expect_stored_date("e2e_journals", id, "modified");
    e2e_patch(C, &r, location, Q("{'modified':'2020-01-01T00:00:00Z'}"), NULL);
    EXPECT_STATUS(r, 422);
    e2e_sleep_ms(5);
    e2e_patch(C, &r, location, Q("{'title':'k'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(strcmp(e2e_str(&r, "created"), created) == 0 &&
                  strcmp(e2e_str(&r, "modified"), created) > 0,
              "PATCH: %s", r.body);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("lifecycle");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_lifecycle"));
    }
    test_require_if_match();
    test_timestamps();
    test_renamed_timestamps();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_lifecycle"));
}
