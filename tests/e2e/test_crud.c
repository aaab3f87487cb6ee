/* End-to-end: create, read, replace, merge-patch and delete over HTTP; ETags and preconditions,
 * the hidden version field, readOnly/writeOnly/default rules, dates, int64, unique indexes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

/* Copies the string member `key` of r's body into out ("" when absent). */
static void copy_str(const e2e_resp_t *r, const char *key, char *out, size_t size)
{
    const char *v = e2e_str(r, key);
    snprintf(out, size, "%s", v ? v : "");
}

static void copy_etag(const e2e_resp_t *r, char *out, size_t size)
{
    const char *v = e2e_header(r, "ETag");
    snprintf(out, size, "%s", v ? v : "");
}

static bool is_hex24(const char *s)
{
    if (!s || strlen(s) != 24)
        return false;
    for (int i = 0; i < 24; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return false;
    return true;
}

/* The stored document of `coll` with ObjectId `id` (canonical Extended JSON), new or NULL. */
static json_t *stored(const char *coll, const char *id)
{
    return e2e_mongo_find(DBURI, DBNAME, coll, F("{\"_id\": {\"$oid\": \"%s\"}}", id));
}

static long long stored_version(const char *coll, const char *id)
{
    json_t *doc = stored(coll, id);
    long long v = e2e_ejson_int(json_object_get(doc, "__v"), -1);
    json_decref(doc);
    return v;
}

static const char *ann_body =
    "{'email':'ann@example.com','name':'Ann','password':'s3cretpass','age':30,"
    "'lastLogin':'2020-01-02T05:04:05+02:00','birthday':'1990-05-06',"
    "'address':{'street':'1 Main St','city':'Paris','zip':'75001'},'tags':['a','b']}";

static char ann_id[64], ann_etag[128];

static void test_post_and_get(void)
{
    e2e_resp_t r = {0}, g = {0};
    e2e_post(C, &r, "/api/users", Q(ann_body));
    EXPECT_STATUS(r, 201);
    copy_str(&r, "_id", ann_id, sizeof ann_id);
    copy_etag(&r, ann_etag, sizeof ann_etag);
    CHECK_MSG(is_hex24(ann_id), "_id '%s' is not 24 hex characters", ann_id);
    EXPECT_HEADER(r, "Location", F("/api/users/%s", ann_id));
    CHECK_MSG(ann_etag[0] == '"' && strlen(ann_etag) > 2, "ETag '%s' is not a strong tag",
              ann_etag);
    const char *ct = e2e_header(&r, "Content-Type");
    CHECK_MSG(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "-");
    CHECK_STR(e2e_str(&r, "role"), "member"); /* default filled in */
    CHECK_STR(e2e_str(&r, "lastLogin"), "2020-01-02T03:04:05.000Z");
    CHECK_STR(e2e_str(&r, "birthday"), "1990-05-06");
    CHECK_STR(e2e_str(&r, "name"), "Ann");
    CHECK_INT(json_integer_value(json_object_get(r.json, "age")), 30);
    CHECK_MSG(json_object_get(r.json, "password") == NULL, "writeOnly password returned: %s",
              r.body);
    EXPECT_NO_VERSION(r);

    e2e_get(C, &g, F("/api/users/%s", ann_id));
    EXPECT_STATUS(g, 200);
    EXPECT_HEADER(g, "ETag", ann_etag);
    CHECK_MSG(json_equal(g.json, r.json), "GET differs from POST: %s vs %s", g.body, r.body);
    EXPECT_NO_VERSION(g);

    e2e_head(C, &g, F("/api/users/%s", ann_id));
    EXPECT_STATUS(g, 200);
    EXPECT_HEADER(g, "ETag", ann_etag);
    CHECK_INT(g.body_len, 0);

    /* What is stored: the version the ETag names (a new document starts at a random one), BSON
     * date and ObjectId types, the writeOnly value. */
    json_t *doc = stored("users", ann_id);
    CHECK_MSG(doc != NULL, "document %s not found in the database", ann_id);
    long long v = e2e_ejson_int(json_object_get(doc, "__v"), -1);
    CHECK_MSG(v >= 1 && strcmp(ann_etag, F("\"%lld\"", v)) == 0, "version %lld, ETag %s", v,
              ann_etag);
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "lastLogin")), "$date");
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "birthday")), "string");
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "_id")), "$oid");
    CHECK_STR(json_string_value(json_object_get(doc, "password")), "s3cretpass");
    json_decref(doc);
    e2e_resp_free(&r);
    e2e_resp_free(&g);
}

static void test_conditional_get(void)
{
    e2e_resp_t r = {0};
    const char *path = F("/api/users/%s", ann_id);
    const char *inm[] = {F("If-None-Match: %s", ann_etag), NULL};
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "Cache-Control", "no-cache"); /* RFC 9111 4.2.2: no invented lifetime */
    const char *cl = e2e_header(&r, "Content-Length");
    char full_length[32];
    snprintf(full_length, sizeof full_length, "%s", cl ? cl : "");
    CHECK_MSG(atoi(full_length) > 0, "200 Content-Length '%s'", full_length);

    e2e_request(C, &r, "GET", path, inm, NULL, 0);
    EXPECT_STATUS(r, 304);
    CHECK_INT(r.body_len, 0);
    EXPECT_HEADER(r, "ETag", ann_etag); /* RFC 9110 15.4.5: a 304 carries the ETag */
    EXPECT_HEADER(r, "Cache-Control", "no-cache");
    /* RFC 9110 8.6: a 304's Content-Length, if any, is the length a 200 would have sent */
    cl = e2e_header(&r, "Content-Length");
    CHECK_MSG(cl == NULL || strcmp(cl, full_length) == 0, "304 Content-Length '%s', 200 had '%s'",
              cl ? cl : "-", full_length);
    CHECK_MSG(e2e_header(&r, "Content-Type") == NULL, "304 with Content-Type %s",
              e2e_header(&r, "Content-Type"));
    e2e_get(C, &r, path); /* the connection still frames requests right after the 304 */
    EXPECT_STATUS(r, 200);
    CHECK_INT(r.num_connects, 0);
    e2e_head(C, &r, path);
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "Cache-Control", "no-cache");
    e2e_get(C, &r, "/api/users?limit=2");
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "Cache-Control", "no-cache");

    const char *other[] = {"If-None-Match: \"not-the-tag\"", NULL};
    e2e_request(C, &r, "GET", path, other, NULL, 0);
    EXPECT_STATUS(r, 200);

    const char *list[] = {F("If-None-Match: \"x\", %s", ann_etag), NULL};
    e2e_request(C, &r, "GET", path, list, NULL, 0);
    EXPECT_STATUS(r, 304);

    const char *star[] = {"If-None-Match: *", NULL};
    e2e_request(C, &r, "GET", path, star, NULL, 0);
    EXPECT_STATUS(r, 304); /* RFC 9110 13.1.2: * matches any current representation */

    e2e_request(C, &r, "HEAD", path, inm, NULL, 0);
    EXPECT_STATUS(r, 304);
    e2e_resp_free(&r);
}

static void test_absent_and_bad_ids(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/api/users/000000000000000000000000");
    EXPECT_PROBLEM(r, 404);
    e2e_head(C, &r, "/api/users/000000000000000000000000");
    EXPECT_STATUS(r, 404);
    const char *bad[] = {"xyz", "0123456789abcdef0123456z", "0123456789abcdef012345678",
                         "0123456789abcdef0123456", "12"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e2e_get(C, &r, F("/api/users/%s", bad[i]));
        EXPECT_PROBLEM(r, 400);
        e2e_put(C, &r, F("/api/users/%s", bad[i]), Q("{'email':'x@example.com','name':'X'}"), NULL);
        EXPECT_PROBLEM(r, 400);
        e2e_patch(C, &r, F("/api/users/%s", bad[i]), Q("{'name':'X'}"), NULL);
        EXPECT_PROBLEM(r, 400);
        e2e_delete(C, &r, F("/api/users/%s", bad[i]), NULL);
        EXPECT_PROBLEM(r, 400);
    }
    e2e_get(C, &r, "/api/widgets/abc");
    EXPECT_PROBLEM(r, 400);
    e2e_get(C, &r, "/api/widgets/12");
    EXPECT_PROBLEM(r, 404);
    e2e_put(C, &r, "/api/users/000000000000000000000000",
            Q("{'email':'nobody@example.com','name':'Nobody'}"), NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_patch(C, &r, "/api/users/000000000000000000000000", Q("{'name':'Nobody'}"), NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_delete(C, &r, "/api/users/000000000000000000000000", NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_resp_free(&r);
}

/* A 422 whose "errors" has an entry at instanceLocation `where`, every entry complete. */
static bool has_violation_at(const e2e_resp_t *r, const char *where)
{
    json_t *errors = json_object_get(r->json, "errors"), *e;
    size_t i;
    bool found = false;
    json_array_foreach(errors, i, e)
    {
        const char *inst = json_string_value(json_object_get(e, "instanceLocation"));
        if (!inst || !json_is_string(json_object_get(e, "keywordLocation")) ||
            !json_is_string(json_object_get(e, "error")))
            return false;
        if (strcmp(inst, where) == 0)
            found = true;
    }
    if (!found)
        fprintf(stderr, "  no violation at '%s' in %s\n", where, r->body);
    return found;
}

static void test_read_only_write_only_defaults(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_post(C, &r, "/api/users",
             Q("{'_id':'0123456789abcdef01234567','email':'ro@example.com','name':'Ro'}"));
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/_id"));
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);

    /* The version field is never accepted, even where additional properties are allowed. */
    int64_t notes_before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    e2e_post(C, &r, "/api/notes", Q("{'title':'v','__v':5}"));
    EXPECT_PROBLEM(r, 422);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), notes_before);

    /* readOnly with a default: filled on POST, refused from clients, kept on PUT. */
    e2e_post(C, &r, "/api/notes", Q("{'title':'t','secret':'hush'}"));
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "code"), "N1");
    CHECK_MSG(json_object_get(r.json, "secret") == NULL, "writeOnly returned: %s", r.body);
    char id[64];
    copy_str(&r, "_id", id, sizeof id);
    json_t *doc = stored("e2e_notes", id);
    CHECK_STR(json_string_value(json_object_get(doc, "secret")), "hush");
    json_decref(doc);

    e2e_post(C, &r, "/api/notes", Q("{'title':'t','code':'X9'}"));
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/code"));
    e2e_patch(C, &r, F("/api/notes/%s", id), Q("{'code':'X9'}"), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_patch(C, &r, F("/api/notes/%s", id), Q(F("{'_id':'%s'}", id)), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_put(C, &r, F("/api/notes/%s", id), Q("{'title':'t2','code':'N1'}"), NULL);
    EXPECT_PROBLEM(r, 422);

    /* A document written by another tool: no version (counts as 0), a readOnly value that
     * differs from the default. PUT keeps the stored readOnly value and sets version 1. */
    const char *legacy = "5f0000000000000000000001";
    CHECK(e2e_mongo_insert(
        DBURI, DBNAME, "e2e_notes",
        F("{\"_id\": {\"$oid\": \"%s\"}, \"title\": \"legacy\", \"code\": \"ZZ\"}", legacy)));
    e2e_get(C, &r, F("/api/notes/%s", legacy));
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "code"), "ZZ");
    char etag0[128];
    copy_etag(&r, etag0, sizeof etag0);
    CHECK_MSG(etag0[0] == '"', "no strong ETag for a version-0 document: '%s'", etag0);
    const char *im[] = {"Content-Type: application/json", F("If-Match: %s", etag0), NULL};
    e2e_request(C, &r, "PUT", F("/api/notes/%s", legacy), im, Q("{'title':'renewed'}"), (size_t)-1);
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "code"), "ZZ");
    CHECK_STR(e2e_str(&r, "title"), "renewed");
    CHECK_MSG(e2e_header(&r, "ETag") && strcmp(e2e_header(&r, "ETag"), etag0) != 0,
              "ETag did not change on PUT");
    CHECK_INT(stored_version("e2e_notes", legacy), 1);

    /* PUT may repeat the _id of the path, not another one. */
    e2e_put(C, &r, F("/api/users/%s", ann_id),
            Q(F("{'_id':'%s','email':'ann@example.com','name':'Ann'}", ann_id)), NULL);
    EXPECT_STATUS(r, 200);
    copy_etag(&r, ann_etag, sizeof ann_etag);
    e2e_put(C, &r, F("/api/users/%s", ann_id),
            Q("{'_id':'0123456789abcdef01234567','email':'ann@example.com','name':'Ann'}"), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_resp_free(&r);
}

static void test_put(void)
{
    e2e_resp_t r = {0};
    const char *path = F("/api/users/%s", ann_id);
    char path_copy[128];
    snprintf(path_copy, sizeof path_copy, "%s", path);
    long long v0 = stored_version("users", ann_id);

    e2e_put(C, &r, path_copy,
            Q("{'email':'ann@example.com','name':'Ann B','age':31,'role':'admin'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "name"), "Ann B");
    CHECK_STR(e2e_str(&r, "role"), "admin");
    CHECK_MSG(json_object_get(r.json, "address") == NULL, "PUT did not replace: %s", r.body);
    EXPECT_NO_VERSION(r);
    char etag1[128];
    copy_etag(&r, etag1, sizeof etag1);
    CHECK_MSG(strcmp(etag1, ann_etag) != 0 && etag1[0] == '"', "ETag after PUT: '%s'", etag1);
    CHECK_INT(stored_version("users", ann_id), v0 + 1);

    /* Replacement: missing properties get their defaults again; writeOnly values go. */
    e2e_put(C, &r, path_copy, Q("{'email':'ann@example.com','name':'Ann C'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "role"), "member");
    CHECK_MSG(json_object_get(r.json, "age") == NULL, "age survived a PUT: %s", r.body);
    copy_etag(&r, etag1, sizeof etag1);

    /* Invalid: 422, nothing written. */
    e2e_put(C, &r, path_copy, Q("{'email':'not-an-email','age':-1}"), NULL);
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/email"));
    CHECK(has_violation_at(&r, "/age"));
    CHECK(has_violation_at(&r, "")); /* required name */
    e2e_get(C, &r, path_copy);
    EXPECT_HEADER(r, "ETag", etag1);
    CHECK_STR(e2e_str(&r, "name"), "Ann C");

    /* If-Match: stale 412, current, *, and a list holding the current one. */
    const char *stale[] = {"Content-Type: application/json", F("If-Match: %s", ann_etag), NULL};
    e2e_request(C, &r, "PUT", path_copy, stale, Q("{'email':'ann@example.com','name':'Stale'}"),
                (size_t)-1);
    EXPECT_PROBLEM(r, 412);
    e2e_get(C, &r, path_copy);
    CHECK_STR(e2e_str(&r, "name"), "Ann C");
    const char *cur[] = {"Content-Type: application/json", F("If-Match: %s", etag1), NULL};
    e2e_request(C, &r, "PUT", path_copy, cur, Q("{'email':'ann@example.com','name':'Ann D'}"),
                (size_t)-1);
    EXPECT_STATUS(r, 200);
    copy_etag(&r, etag1, sizeof etag1);
    const char *star[] = {"Content-Type: application/json", "If-Match: *", NULL};
    e2e_request(C, &r, "PUT", path_copy, star, Q("{'email':'ann@example.com','name':'Ann E'}"),
                (size_t)-1);
    EXPECT_STATUS(r, 200);
    copy_etag(&r, etag1, sizeof etag1);
    const char *list[] = {"Content-Type: application/json", F("If-Match: \"nope\", %s", etag1),
                          NULL};
    e2e_request(C, &r, "PUT", path_copy, list, Q("{'email':'ann@example.com','name':'Ann'}"),
                (size_t)-1);
    EXPECT_STATUS(r, 200);
    copy_etag(&r, ann_etag, sizeof ann_etag);
    e2e_request(C, &r, "PUT", "/api/users/000000000000000000000000", star,
                Q("{'email':'ghost@example.com','name':'Ghost'}"), (size_t)-1);
    EXPECT_PROBLEM(r, 404); /* RFC 9110 13.2.1: a missing document is 404 */
    e2e_resp_free(&r);
}

static void test_patch(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/users",
             Q("{'email':'bob@example.com','name':'Bob','age':40,'tags':['x','y'],"
               "'address':{'street':'2 Side St','city':'Paris','zip':'75002'}}"));
    EXPECT_STATUS(r, 201);
    char id[64], etag[128], path[128];
    copy_str(&r, "_id", id, sizeof id);
    copy_etag(&r, etag, sizeof etag);
    snprintf(path, sizeof path, "/api/users/%s", id);
    long long v0 = stored_version("users", id);

    /* RFC 7396: objects merge, null removes, arrays are replaced. */
    e2e_patch(C, &r, path, Q("{'address':{'city':'Lyon'},'age':null,'tags':['z']}"), NULL);
    EXPECT_STATUS(r, 200);
    json_t *addr = json_object_get(r.json, "address");
    CHECK_STR(json_string_value(json_object_get(addr, "city")), "Lyon");
    CHECK_STR(json_string_value(json_object_get(addr, "street")), "2 Side St");
    CHECK_STR(json_string_value(json_object_get(addr, "zip")), "75002");
    CHECK_MSG(json_object_get(r.json, "age") == NULL, "null did not remove age: %s", r.body);
    CHECK_INT(json_array_size(json_object_get(r.json, "tags")), 1);
    CHECK_STR(e2e_str(&r, "name"), "Bob");
    EXPECT_NO_VERSION(r);
    char etag2[128];
    copy_etag(&r, etag2, sizeof etag2);
    CHECK_MSG(strcmp(etag, etag2) != 0 && etag2[0] == '"', "ETag after PATCH: '%s'", etag2);
    CHECK_INT(stored_version("users", id), v0 + 1);
    e2e_get(C, &r, path);
    EXPECT_HEADER(r, "ETag", etag2);

    /* application/json and a charset parameter are accepted too. */
    const char *as_json[] = {"Content-Type: application/json", NULL};
    e2e_request(C, &r, "PATCH", path, as_json, Q("{'age':41}"), (size_t)-1);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "age")), 41);
    const char *charset[] = {"Content-Type: application/merge-patch+json; charset=utf-8", NULL};
    e2e_request(C, &r, "PATCH", path, charset, Q("{'age':42}"), (size_t)-1);
    EXPECT_STATUS(r, 200);
    copy_etag(&r, etag2, sizeof etag2);
    CHECK_INT(stored_version("users", id), v0 + 3);

    /* The merged document is validated: removing a required field or breaking a nested one. */
    e2e_patch(C, &r, path, Q("{'name':null}"), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_patch(C, &r, path, Q("{'address':{'zip':'abc'}}"), NULL);
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/address/zip"));
    e2e_patch(C, &r, path, Q("{'nickname':'b'}"), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_patch(C, &r, path, "[1]", NULL);
    EXPECT_PROBLEM(r, 422); /* RFC 7396: the array replaces the document, which breaks its type */
    e2e_get(C, &r, path);
    EXPECT_HEADER(r, "ETag", etag2);
    CHECK_STR(e2e_str(&r, "name"), "Bob");
    CHECK_INT(stored_version("users", id), v0 + 3);

    /* writeOnly through PATCH: stored, not shown. */
    e2e_patch(C, &r, path, Q("{'password':'another-secret'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(json_object_get(r.json, "password") == NULL, "password shown: %s", r.body);
    json_t *doc = stored("users", id);
    CHECK_STR(json_string_value(json_object_get(doc, "password")), "another-secret");
    json_decref(doc);
    copy_etag(&r, etag2, sizeof etag2);

    /* Preconditions. */
    const char *stale[] = {"Content-Type: application/merge-patch+json", F("If-Match: %s", etag),
                           NULL};
    e2e_request(C, &r, "PATCH", path, stale, Q("{'age':1}"), (size_t)-1);
    EXPECT_PROBLEM(r, 412);
    const char *cur[] = {"Content-Type: application/merge-patch+json", F("If-Match: %s", etag2),
                         NULL};
    e2e_request(C, &r, "PATCH", path, cur, Q("{'age':2}"), (size_t)-1);
    EXPECT_STATUS(r, 200);
    const char *star[] = {"Content-Type: application/merge-patch+json", "If-Match: *", NULL};
    e2e_request(C, &r, "PATCH", path, star, Q("{'age':3}"), (size_t)-1);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "age")), 3);
    e2e_request(C, &r, "PATCH", "/api/users/000000000000000000000000", star, Q("{'age':3}"),
                (size_t)-1);
    EXPECT_PROBLEM(r, 404);

    /* The version is never accepted through PATCH either. */
    e2e_post(C, &r, "/api/notes", Q("{'title':'p'}"));
    EXPECT_STATUS(r, 201);
    char nid[64];
    copy_str(&r, "_id", nid, sizeof nid);
    long long nv = stored_version("e2e_notes", nid);
    e2e_patch(C, &r, F("/api/notes/%s", nid), Q("{'__v':7}"), NULL);
    EXPECT_PROBLEM(r, 422);
    CHECK_INT(stored_version("e2e_notes", nid), nv);
    e2e_patch(C, &r, F("/api/notes/%s", nid), Q("{'meta':{'__v':7}}"), NULL);
    EXPECT_STATUS(r, 200); /* nested: an ordinary key */
    e2e_resp_free(&r);
}

static void test_delete(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/users", Q("{'email':'del@example.com','name':'Del'}"));
    EXPECT_STATUS(r, 201);
    char id[64], etag[128], path[128];
    copy_str(&r, "_id", id, sizeof id);
    copy_etag(&r, etag, sizeof etag);
    snprintf(path, sizeof path, "/api/users/%s", id);

    e2e_delete(C, &r, path, "If-Match: \"stale\"");
    EXPECT_PROBLEM(r, 412);
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    e2e_delete(C, &r, path, F("If-Match: %s", etag));
    EXPECT_STATUS(r, 204);
    CHECK_INT(r.body_len, 0);
    e2e_get(C, &r, path);
    EXPECT_PROBLEM(r, 404);
    e2e_delete(C, &r, path, NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_delete(C, &r, path, "If-Match: *");
    EXPECT_PROBLEM(r, 404); /* RFC 9110 13.2.1: no precondition turns a 404 into a 412 */
    CHECK(e2e_mongo_find(DBURI, DBNAME, "users", F("{\"_id\": {\"$oid\": \"%s\"}}", id)) == NULL);

    e2e_post(C, &r, "/api/users", Q("{'email':'del2@example.com','name':'Del'}"));
    copy_str(&r, "_id", id, sizeof id);
    e2e_delete(C, &r, F("/api/users/%s", id), NULL);
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

/* RFC 9110 13.2.2: If-Match then If-None-Match, on every method; 404 outranks both (13.2.1). */
static void test_preconditions(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/users", Q("{'email':'pre@example.com','name':'Pre'}"));
    EXPECT_STATUS(r, 201);
    char id[64], etag[128], path[128];
    copy_str(&r, "_id", id, sizeof id);
    copy_etag(&r, etag, sizeof etag);
    snprintf(path, sizeof path, "/api/users/%s", id);
    long long v0 = stored_version("users", id);
    char tag[160];
    snprintf(tag, sizeof tag, "If-None-Match: %s", etag);
    const char *star = "If-None-Match: *";
    const char *inm[] = {star, tag};
    for (size_t i = 0; i < 2; i++) {
        e2e_put(C, &r, path, Q("{'email':'pre@example.com','name':'Put'}"), inm[i]);
        EXPECT_PROBLEM(r, 412);
        e2e_patch(C, &r, path, Q("{'name':'Patch'}"), inm[i]);
        EXPECT_PROBLEM(r, 412);
        e2e_delete(C, &r, path, inm[i]);
        EXPECT_PROBLEM(r, 412);
    }
    CHECK_INT(stored_version("users", id), v0); /* none of them wrote */
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "name"), "Pre");

    const char *stale[] = {"If-Match: \"stale\"", NULL};
    e2e_request(C, &r, "GET", path, stale, NULL, 0);
    EXPECT_PROBLEM(r, 412);
    e2e_request(C, &r, "HEAD", path, stale, NULL, 0);
    EXPECT_STATUS(r, 412);
    const char *fresh[] = {F("If-Match: %s", etag), NULL};
    e2e_request(C, &r, "GET", path, fresh, NULL, 0);
    EXPECT_STATUS(r, 200);
    const char *both[] = {F("If-Match: %s", etag), F("If-None-Match: %s", etag), NULL};
    e2e_request(C, &r, "GET", path, both, NULL, 0);
    EXPECT_STATUS(r, 304);

    e2e_patch(C, &r, path, Q("{'name':'Other'}"), "If-None-Match: \"other\"");
    EXPECT_STATUS(r, 200); /* a tag that does not match lets the write through */
    e2e_delete(C, &r, path, "If-None-Match: \"other\"");
    EXPECT_STATUS(r, 204);

    /* the document is gone: 404 whatever the preconditions */
    const char *pre[] = {"If-Match: *", "If-Match: \"stale\"", star, tag};
    for (size_t i = 0; i < 4; i++) {
        e2e_delete(C, &r, path, pre[i]);
        EXPECT_PROBLEM(r, 404);
        e2e_put(C, &r, path, Q("{'email':'pre@example.com','name':'Put'}"), pre[i]);
        EXPECT_PROBLEM(r, 404);
        e2e_patch(C, &r, path, Q("{'name':'Patch'}"), pre[i]);
        EXPECT_PROBLEM(r, 404);
        const char *get[] = {pre[i], NULL};
        e2e_request(C, &r, "GET", path, get, NULL, 0);
        EXPECT_PROBLEM(r, 404);
    }
    e2e_resp_free(&r);
}

/* The string member `key` of a JSON body that may hold \u0000 (parsed with JSON_ALLOW_NUL) is
 * the `n` bytes `want`. */
static bool body_string_is(const e2e_resp_t *r, const char *key, const char *want, size_t n)
{
    json_t *doc = json_loadb(r->body, r->body_len, JSON_ALLOW_NUL, NULL);
    json_t *v = json_object_get(doc, key);
    bool same = json_is_string(v) && json_string_length(v) == n &&
                memcmp(json_string_value(v), want, n) == 0;
    json_decref(doc);
    if (!same)
        fprintf(stderr, "  %s: want %zu bytes in '%s': %s\n", r->path, n, key, r->body);
    return same;
}

/* \u0000 in a string value is JSON: stored whole, counted, matched and written back escaped. In
 * a field name (BSON's are NUL-terminated) it is refused in odmd's words. */
static void test_nul_in_strings(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/notes", "{\"title\":\"a\\u0000b\",\"meta\":{\"k\":\"\\u0000\"}}");
    EXPECT_STATUS(r, 201);
    CHECK(body_string_is(&r, "title", "a\0b", 3));
    CHECK_MSG(strstr(r.body, "\"a\\u0000b\"") != NULL, "written back: %s", r.body);
    json_t *created = json_loadb(r.body, r.body_len, JSON_ALLOW_NUL, NULL);
    char id[64], path[128];
    const char *cid = json_string_value(json_object_get(created, "_id"));
    snprintf(id, sizeof id, "%s", cid ? cid : "-");
    json_decref(created);
    snprintf(path, sizeof path, "/api/notes/%s", id);
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    CHECK(body_string_is(&r, "title", "a\0b", 3));
    e2e_get(C, &r, F("/api/notes?filter=%s", U(F("{\"_id\":\"%s\",\"title\":\"a\\u0000b\"}", id))));
    json_t *found = json_loadb(r.body, r.body_len, JSON_ALLOW_NUL, NULL);
    CHECK_MSG(json_array_size(found) == 1, "filter on a\\u0000b: %s", r.body);
    json_decref(found);
    e2e_get(C, &r, F("/api/notes?filter=%s", U(F("{\"_id\":\"%s\",\"title\":\"a\"}", id))));
    CHECK_MSG(r.json && json_array_size(r.json) == 0, "filter on a: %s", r.body);
    e2e_patch(C, &r, path, "{\"title\":\"\\u0000x\\u0000\"}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK(body_string_is(&r, "title", "\0x\0", 3));

    /* a NUL is a character: maxLength 100 holds 99 and a NUL, not 100 and a NUL */
    char name[128];
    memset(name, 'n', 100);
    name[100] = '\0';
    e2e_post(C, &r, "/api/users",
             F("{\"email\":\"nul1@example.com\",\"name\":\"%.99s\\u0000\"}", name));
    EXPECT_STATUS(r, 201);
    e2e_post(C, &r, "/api/users",
             F("{\"email\":\"nul2@example.com\",\"name\":\"%s\\u0000\"}", name));
    EXPECT_PROBLEM(r, 422);

    e2e_post(C, &r, "/api/notes", "{\"meta\":{\"a\\u0000b\":1}}");
    EXPECT_PROBLEM(r, 400);
    const char *detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "field name") && !strstr(detail, "JSON_") &&
                  !strstr(detail, "not supported"),
              "detail: %s", detail ? detail : "-");
    e2e_resp_free(&r);
}

static void test_unique_index(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_post(C, &r, "/api/users", Q("{'email':'ann@example.com','name':'Ann Again'}"));
    EXPECT_PROBLEM(r, 409);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);

    e2e_post(C, &r, "/api/users", Q("{'email':'carl@example.com','name':'Carl'}"));
    EXPECT_STATUS(r, 201);
    char id[64], etag[128], path[128];
    copy_str(&r, "_id", id, sizeof id);
    copy_etag(&r, etag, sizeof etag);
    snprintf(path, sizeof path, "/api/users/%s", id);
    e2e_put(C, &r, path, Q("{'email':'ann@example.com','name':'Carl'}"), NULL);
    if (!e2e_is_ferretdb())
        EXPECT_PROBLEM(r, 409);
    e2e_patch(C, &r, path, Q("{'email':'ann@example.com'}"), NULL);
    if (!e2e_is_ferretdb())
        EXPECT_PROBLEM(r, 409);
    else
        printf("FerretDB: 409 on a duplicate key through PUT/PATCH not checked: FerretDB reports a "
               "unique violation on update as a generic error (SQLite 'UNIQUE constraint failed'), "
               "not as code 11000; got %ld\n",
               r.status);
    e2e_get(C, &r, path);
    CHECK_STR(e2e_str(&r, "email"), "carl@example.com");
    EXPECT_HEADER(r, "ETag", etag);
    e2e_resp_free(&r);
}

static void test_dates(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/notes",
             Q("{'title':'d','at':'2020-01-02T03:04:05.5+01:30','day':'2020-02-29'}"));
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "at"), "2020-01-02T01:34:05.500Z");
    CHECK_STR(e2e_str(&r, "day"), "2020-02-29");
    char id[64];
    copy_str(&r, "_id", id, sizeof id);
    json_t *doc = stored("e2e_notes", id);
    json_t *at = json_object_get(doc, "at");
    CHECK_STR(e2e_ejson_kind(at), "$date");
    CHECK_INT(e2e_ejson_int(json_object_get(at, "$date"), -1), 1577928845500LL);
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "day")), "string");
    json_decref(doc);

    e2e_post(C, &r, "/api/notes", Q("{'at':'1969-12-31T23:59:59.999Z'}"));
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "at"), "1969-12-31T23:59:59.999Z");
    e2e_post(C, &r, "/api/notes", Q("{'at':'2021-06-30T23:00:00-01:00'}"));
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "at"), "2021-07-01T00:00:00.000Z");

    /* Values a BSON date cannot hold exactly are refused, never changed. */
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    const char *refused[] = {"2016-12-31T23:59:60Z", "2020-01-02T03:04:05.123456Z", "2020-01-02",
                             "2020-13-01T00:00:00Z", "yesterday"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        e2e_post(C, &r, "/api/notes", F("{\"at\":\"%s\"}", refused[i]));
        CHECK_MSG(e2e_is_problem(&r, 422), "at = %s", refused[i]);
    }
    e2e_post(C, &r, "/api/users",
             Q("{'email':'leap@example.com','name':'Leap','lastLogin':'2016-12-31T23:59:60Z'}"));
    EXPECT_PROBLEM(r, 422);
    e2e_post(C, &r, "/api/notes", Q("{'day':'2021-02-29'}"));
    EXPECT_PROBLEM(r, 422);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before);
    e2e_resp_free(&r);
}

static void test_numbers(void)
{
    e2e_resp_t r = {0};
    static const struct {
        const char *text;
        long long value;
    } exact[] = {
        {"9007199254740993", 9007199254740993LL},
        {"9223372036854775807", 9223372036854775807LL},
        {"-9223372036854775808", (-9223372036854775807LL - 1)},
        {"12", 12},
    };
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++) {
        e2e_post(C, &r, "/api/notes", F("{\"big\": %s}", exact[i].text));
        EXPECT_STATUS(r, 201);
        CHECK_MSG(strstr(r.body, exact[i].text) != NULL, "%s not in %s", exact[i].text, r.body);
        CHECK_INT(json_integer_value(json_object_get(r.json, "big")), exact[i].value);
        char id[64];
        copy_str(&r, "_id", id, sizeof id);
        e2e_get(C, &r, F("/api/notes/%s", id));
        CHECK_INT(json_integer_value(json_object_get(r.json, "big")), exact[i].value);
        json_t *doc = stored("e2e_notes", id);
        CHECK_INT(e2e_ejson_int(json_object_get(doc, "big"), 0), exact[i].value);
        json_decref(doc);
    }
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    const char *inexact[] = {"9223372036854775808", "-9223372036854775809",
                             "123456789012345678901234567890", "1e400"};
    for (size_t i = 0; i < sizeof inexact / sizeof *inexact; i++) {
        e2e_post(C, &r, "/api/notes", F("{\"big\": %s}", inexact[i]));
        CHECK_MSG(e2e_is_problem(&r, 400), "big = %s", inexact[i]);
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before);

    /* Doubles come back in shortest round-trip form. */
    e2e_post(C, &r, "/api/notes", Q("{'ratio':0.1,'n':-7}"));
    EXPECT_STATUS(r, 201);
    CHECK_MSG(strstr(r.body, "0.1") && !strstr(r.body, "0.10000"), "0.1 written as %s", r.body);
    CHECK_MSG(json_real_value(json_object_get(r.json, "ratio")) == 0.1, "ratio: %s", r.body);
    e2e_post(C, &r, "/api/notes", Q("{'ratio':1.5e300}"));
    EXPECT_STATUS(r, 201);
    CHECK_MSG(json_number_value(json_object_get(r.json, "ratio")) == 1.5e300, "ratio: %s", r.body);
    e2e_resp_free(&r);
}

static void test_other_id_kinds_and_refs(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/widgets", Q("{'_id':7,'label':'seven'}"));
    EXPECT_STATUS(r, 201);
    EXPECT_HEADER(r, "Location", "/api/widgets/7");
    CHECK_INT(json_integer_value(json_object_get(r.json, "_id")), 7);
    CHECK_INT(json_integer_value(json_object_get(r.json, "size")), 1);
    e2e_get(C, &r, "/api/widgets/7");
    EXPECT_STATUS(r, 200);
    e2e_post(C, &r, "/api/widgets", Q("{'_id':7,'label':'again'}"));
    EXPECT_PROBLEM(r, 409);
    e2e_post(C, &r, "/api/widgets", Q("{'label':'no id'}"));
    EXPECT_PROBLEM(r, 422);
    e2e_put(C, &r, "/api/widgets/7", Q("{'_id':7,'label':'seven!'}"), NULL);
    EXPECT_STATUS(r, 200);
    e2e_put(C, &r, "/api/widgets/7", Q("{'_id':8,'label':'eight'}"), NULL);
    EXPECT_PROBLEM(r, 422);
    e2e_put(C, &r, "/api/widgets/7", Q("{'label':'no id in body'}"), NULL);
    EXPECT_STATUS(r, 200); /* the path's _id is the one stored */
    CHECK_INT(json_integer_value(json_object_get(r.json, "_id")), 7);
    e2e_delete(C, &r, "/api/widgets/7", NULL);
    EXPECT_STATUS(r, 204);

    /* An order holds its user's _id as an ObjectId. */
    e2e_post(C, &r, "/api/orders",
             Q(F("{'userId':'%s','items':[{'sku':'AB-1','qty':2,'price':3.5}],'total':7,"
                 "'placedAt':'2024-05-01T10:00:00Z'}",
                 ann_id)));
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "status"), "pending");
    CHECK_STR(e2e_str(&r, "userId"), ann_id);
    char oid[64];
    copy_str(&r, "_id", oid, sizeof oid);
    json_t *doc = stored("orders", oid);
    CHECK_STR(e2e_ejson_kind(json_object_get(doc, "userId")), "$oid");
    json_decref(doc);
    e2e_post(C, &r, "/api/orders",
             Q("{'userId':'nothex','items':[{'sku':'AB-1','qty':2,'price':3.5}],'total':7}"));
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/userId"));
    e2e_post(C, &r, "/api/orders", Q(F("{'userId':'%s','items':[],'total':-1}", ann_id)));
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/items"));
    CHECK(has_violation_at(&r, "/total"));
    e2e_resp_free(&r);
}

/* Bodies big enough to be parsed and validated off the polling thread. */
static void test_large_bodies(void)
{
    size_t n = 600 * 1024;
    char *body = malloc(n + 64);
    memcpy(body, "{\"title\":\"", 10);
    memset(body + 10, 'q', n);
    memcpy(body + 10 + n, "\"}", 3);
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/notes", body);
    EXPECT_STATUS(r, 201);
    CHECK_INT(json_string_length(json_object_get(r.json, "title")), n);
    memcpy(body + 10 + n, "\",\"n\":\"x\"}", 11);
    e2e_post(C, &r, "/api/notes", body);
    EXPECT_PROBLEM(r, 422);
    CHECK(has_violation_at(&r, "/n"));
    free(body);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("crud");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_crud"));
    }
    test_post_and_get();
    test_conditional_get();
    test_absent_and_bad_ids();
    test_read_only_write_only_defaults();
    test_put();
    test_patch();
    test_delete();
    test_preconditions();
    test_nul_in_strings();
    test_unique_index();
    test_dates();
    test_numbers();
    test_other_id_kinds_and_refs();
    test_large_bodies();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_crud"));
}
