/* End-to-end: the Atlas Data API's routes (POST /data/v1/action/ACTION) over the models: each
 * action's answer, Extended JSON in filters and documents and out (Accept: application/ejson),
 * keys by api-key header and by Bearer with their scopes, the Data API's error shape (with the
 * violations' pointers), writeOnly fields hidden, x-owner and x-softDelete as REST applies
 * them, and models written the plain JSON Schema way. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
static e2e_client_t admin, reader, writer, alice, bob;
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

/* POST /data/v1/action/ACTION on `collection` with more members (' for ", may be "") and one
 * more header (may be NULL). */
static void act(e2e_client_t *c, e2e_resp_t *r, const char *action, const char *collection,
                const char *members, const char *extra)
{
    const char *body =
        F("{\"dataSource\":\"Cluster0\",\"database\":\"%s\",\"collection\":\"%s\"%s%s}", DBNAME,
          collection, members[0] ? "," : "", Q(members));
    const char *headers[] = {"Content-Type: application/json", extra, NULL};
    e2e_request(c, r, "POST", F("/data/v1/action/%s", action), headers, body, (size_t)-1);
}

/* r is a Data API error: `status`, application/json, {error, error_code, link}. */
static void expect_error(const e2e_resp_t *r, long status, const char *code)
{
    CHECK_MSG(r->status == status, "%s: status %ld, want %ld; body %.300s", r->path, r->status,
              status, r->body);
    const char *ct = e2e_header(r, "Content-Type");
    CHECK_MSG(ct != NULL && strncmp(ct, "application/json", 16) == 0, "content type %s",
              ct ? ct : "(none)");
    CHECK_MSG(e2e_str(r, "error") != NULL && e2e_str(r, "error")[0] != '\0', "no error: %.300s",
              r->body);
    CHECK_STR(e2e_str(r, "error_code"), code);
    const char *link = e2e_str(r, "link");
    CHECK_MSG(link != NULL && strncmp(link, "urn:odmd:request:", 17) == 0, "link %s",
              link ? link : "(none)");
}

static const char *member_str(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* ---- reads ---- */

static void seed(void)
{
    const char *users[] = {
        "{'email':'ann@example.com','name':'Ann','password':'secret-ann','age':31,"
        "'lastLogin':'2024-05-01T10:00:00.000Z','tags':['a']}",
        "{'email':'bea@example.com','name':'Bea','password':'secret-bea','age':25}",
        "{'email':'cid@example.com','name':'Cid','password':'secret-cid','age':47}",
    };
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        e2e_resp_t r = {0};
        e2e_post(&admin, &r, "/api/users", Q(users[i]));
        EXPECT_STATUS(r, 201);
        e2e_resp_free(&r);
    }
}

static char ann_id[32];

static void test_find_one(void)
{
    e2e_resp_t r = {0};
    act(&reader, &r, "findOne", "users", "'filter':{'email':'ann@example.com'}", NULL);
    EXPECT_STATUS(r, 200);
    const json_t *doc = json_object_get(r.json, "document");
    CHECK_STR(member_str(doc, "name"), "Ann");
    CHECK_MSG(json_object_get(doc, "password") == NULL, "writeOnly shown: %s", r.body);
    CHECK_MSG(json_object_get(doc, "__v") == NULL, "version shown: %s", r.body);
    CHECK_STR(member_str(doc, "lastLogin"), "2024-05-01T10:00:00.000Z");
    snprintf(ann_id, sizeof ann_id, "%s", member_str(doc, "_id") ? member_str(doc, "_id") : "");
    CHECK_INT(strlen(ann_id), 24);

    /* no match: null */
    act(&reader, &r, "findOne", "users", "'filter':{'email':'nobody@example.com'}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK(json_is_null(json_object_get(r.json, "document")));

    /* Extended JSON in the filter: $oid on the ObjectId _id, $date on a date-time */
    act(&reader, &r, "findOne", "users", F("'filter':{'_id':{'$oid':'%s'}}", ann_id), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_STR(member_str(json_object_get(r.json, "document"), "email"), "ann@example.com");
    act(&reader, &r, "findOne", "users",
        "'filter':{'lastLogin':{'$gte':{'$date':{'$numberLong':'1714557600000'}}}}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_STR(member_str(json_object_get(r.json, "document"), "name"), "Ann");
    act(&reader, &r, "findOne", "users",
        "'filter':{'lastLogin':{'$gt':{'$date':'2024-05-01T10:00:00Z'}}}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK(json_is_null(json_object_get(r.json, "document")));

    /* projection: inclusion, the REST API's fields= */
    act(&reader, &r, "findOne", "users", "'filter':{'name':'Bea'},'projection':{'email':1}", NULL);
    EXPECT_STATUS(r, 200);
    doc = json_object_get(r.json, "document");
    CHECK_STR(member_str(doc, "email"), "bea@example.com");
    CHECK(json_object_get(doc, "name") == NULL);
    CHECK(json_object_get(doc, "_id") != NULL);
    e2e_resp_free(&r);
}

/* Extended JSON out: canonical types ($oid, $date {$numberLong}, numbers wrapped). */
static void test_ejson_out(void)
{
    e2e_resp_t r = {0};
    act(&reader, &r, "findOne", "users", "'filter':{'email':'ann@example.com'}",
        "Accept: application/ejson");
    EXPECT_STATUS(r, 200);
    const char *ct = e2e_header(&r, "Content-Type");
    CHECK_MSG(ct != NULL && strncmp(ct, "application/ejson", 17) == 0, "content type %s",
              ct ? ct : "(none)");
    const json_t *doc = json_object_get(r.json, "document");
    CHECK_STR(member_str(json_object_get(doc, "_id"), "$oid"), ann_id);
    CHECK_STR(
        member_str(json_object_get(json_object_get(doc, "lastLogin"), "$date"), "$numberLong"),
        "1714557600000");
    const json_t *age = json_object_get(doc, "age");
    CHECK_MSG(e2e_ejson_int(age, -1) == 31, "age %s", r.body);
    CHECK(json_object_get(doc, "password") == NULL);
    CHECK(json_object_get(doc, "__v") == NULL);
    e2e_resp_free(&r);
}

static void test_find(void)
{
    e2e_resp_t r = {0};
    act(&reader, &r, "find", "users", "'filter':{'age':{'$gte':25}},'sort':{'age':-1}", NULL);
    EXPECT_STATUS(r, 200);
    const json_t *docs = json_object_get(r.json, "documents");
    CHECK_INT(json_array_size(docs), 3);
    CHECK_STR(member_str(json_array_get(docs, 0), "name"), "Cid");
    CHECK_STR(member_str(json_array_get(docs, 2), "name"), "Bea");
    CHECK(e2e_json_lacks_key(docs, "password"));

    act(&reader, &r, "find", "users", "'sort':{'age':1},'skip':1,'limit':1", NULL);
    EXPECT_STATUS(r, 200);
    docs = json_object_get(r.json, "documents");
    CHECK_INT(json_array_size(docs), 1);
    CHECK_STR(member_str(json_array_get(docs, 0), "name"), "Ann");

    /* no filter: every document */
    act(&reader, &r, "find", "users", "", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 3);

    /* the REST API's allow-list and field checks */
    act(&reader, &r, "find", "users", "'filter':{'password':'secret-ann'}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'filter':{'$where':'true'}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    CHECK_MSG(strstr(r.body, "$where") != NULL, "%s", r.body);
    act(&reader, &r, "find", "users", "'filter':{'nosuch':1}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'sort':{'password':1}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'projection':{'password':1}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'limit':1001", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'limit':'ten'", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "find", "users", "'sort':{'age':2}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    e2e_resp_free(&r);
}

/* ---- the request as a whole ---- */

static void test_request_errors(void)
{
    e2e_resp_t r = {0};
    act(&reader, &r, "findMany", "users", "", NULL);
    expect_error(&r, 404, "NotFound");
    act(&reader, &r, "findOne", "nosuch", "", NULL);
    expect_error(&r, 404, "NotFound");
    act(&reader, &r, "findOne", "users", "'document':{}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "findOne", "users", "'colour':1", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "findOne", "users", "'filter':{'_id':{'$oid':'zz'}}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "findOne", "users", "'filter':{'x':{'$binary':{'base64':'','subType':'0'}}}",
        NULL);
    expect_error(&r, 400, "InvalidParameter");

    const char *json[] = {"Content-Type: application/json", NULL};
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", json,
                "{\"dataSource\":", (size_t)-1);
    expect_error(&r, 400, "InvalidParameter");
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", json,
                F("{\"dataSource\":\"x\",\"database\":\"other\",\"collection\":\"users\"}"),
                (size_t)-1);
    expect_error(&r, 404, "NotFound");
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", json,
                F("{\"database\":\"%s\",\"collection\":\"users\"}", DBNAME), (size_t)-1);
    expect_error(&r, 400, "InvalidParameter");
    CHECK_MSG(strstr(r.body, "dataSource") != NULL, "%s", r.body);
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", json, "[]", (size_t)-1);
    expect_error(&r, 400, "InvalidParameter");

    /* GET: 405 with Allow, in the same shape */
    e2e_get(&reader, &r, "/data/v1/action/findOne");
    expect_error(&r, 405, "MethodNotAllowed");
    CHECK_STR(e2e_header(&r, "Allow"), "POST, OPTIONS");
    /* a body of Extended JSON may say so */
    const char *ejson[] = {"Content-Type: application/ejson", NULL};
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", ejson,
                F("{\"dataSource\":\"x\",\"database\":\"%s\",\"collection\":\"users\"}", DBNAME),
                (size_t)-1);
    EXPECT_STATUS(r, 200);
    const char *text[] = {"Content-Type: text/plain", NULL};
    e2e_request(&reader, &r, "POST", "/data/v1/action/findOne", text, "{}", (size_t)-1);
    expect_error(&r, 415, "InvalidParameter");
    e2e_resp_free(&r);
}

/* ---- authentication ---- */

static void test_auth(void)
{
    e2e_resp_t r = {0};
    e2e_client_t anon;
    e2e_client_init(&anon, env.odmd.url);
    act(&anon, &r, "findOne", "users", "", NULL);
    expect_error(&r, 401, "InvalidSession");
    act(&anon, &r, "findOne", "users", "", "api-key: wrong-key");
    expect_error(&r, 401, "InvalidSession");
    /* the api-key header, with Access-Control-Request-Headers as clients send it */
    const char *headers[] = {"Content-Type: application/json", "api-key: reader-key-71c2",
                             "Access-Control-Request-Headers: *", NULL};
    e2e_request(&anon, &r, "POST", "/data/v1/action/findOne", headers,
                F("{\"dataSource\":\"x\",\"database\":\"%s\",\"collection\":\"users\","
                  "\"filter\":{\"name\":\"Cid\"}}",
                  DBNAME),
                (size_t)-1);
    EXPECT_STATUS(r, 200);
    CHECK_STR(member_str(json_object_get(r.json, "document"), "name"), "Cid");
    /* scopes: reader has read:users only */
    act(&reader, &r, "findOne", "widgets", "", NULL);
    expect_error(&r, 403, "NoMatchingRuleFound");
    act(&anon, &r, "find", "widgets", "", "api-key: reader-key-71c2");
    expect_error(&r, 403, "NoMatchingRuleFound");
    e2e_client_release(&anon);
    e2e_resp_free(&r);
}

/* ---- set-up ---- */

/* A key file: admin, reader (read:users), writer (write:users, read:users), and two owners of
 * diaries. */
static bool write_keys(const char *dir, char *path, size_t size)
{
    const char *names[] = {"admin", "reader", "writer", "alice", "bob"};
    const char *keys[] = {"admin-key-0d3a", "reader-key-71c2", "writer-key-9b44", "alice-key-5c1e",
                          "bob-key-93fa"};
    const char *scopes[] = {"\"admin\"", "\"read:users\"",
                            "\"read:users\", \"write:users\", \"read:gadgets\", "
                            "\"write:gadgets\", \"read:plain\", \"write:plain\"",
                            "\"read:diaries\", \"write:diaries\"",
                            "\"read:diaries\", \"write:diaries\""};
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "{\"keys\": [");
    for (int i = 0; i < 5; i++) {
        char cmd[1024], hash[80] = "";
        e2e_write_file(dir, "k.txt", keys[i]);
        snprintf(cmd, sizeof cmd, "%s key-hash < %s/k.txt", e2e_odmd_bin(), dir);
        FILE *p = popen(cmd, "r");
        if (p == NULL || fgets(hash, sizeof hash, p) == NULL)
            hash[0] = '\0';
        if (p != NULL)
            pclose(p);
        hash[strcspn(hash, "\n")] = '\0';
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "%s{\"name\": \"%s\", \"sha256\": \"%s\", \"scopes\": [%s]}",
                                i ? "," : "", names[i], hash, scopes[i]);
    }
    snprintf(text + len, sizeof text - len, "]}");
    snprintf(path, size, "%s/keys.json", dir);
    return e2e_write_file(dir, "keys.json", text);
}

int main(void)
{
    e2e_init("dataapi");
    char keys[512];
    CHECK(write_keys(e2e_temp_dir("keys"), keys, sizeof keys));
    const char *args[] = {"--keys", keys, NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_dataapi"));
    }
    e2e_client_t *clients[] = {&admin, &reader, &writer, &alice, &bob};
    const char *bearer[] = {"admin-key-0d3a", "reader-key-71c2", "writer-key-9b44",
                            "alice-key-5c1e", "bob-key-93fa"};
    for (int i = 0; i < 5; i++) {
        e2e_client_init(clients[i], env.odmd.url);
        clients[i]->api_key = bearer[i];
    }
    seed();
    test_find_one();
    test_ejson_out();
    test_find();
    test_request_errors();
    test_auth();
    for (int i = 0; i < 5; i++)
        e2e_client_release(clients[i]);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_dataapi"));
}
