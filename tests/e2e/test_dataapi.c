/* End-to-end: the Atlas Data API's routes (POST /data/v1/action/ACTION) over the models: each
 * action's answer, Extended JSON in filters and documents and out (Accept: application/ejson),
 * keys by api-key header and by Bearer with their scopes, the Data API's error shape (with the
 * violations' pointers), writeOnly fields hidden, x-owner and x-softDelete as REST applies
 * them, and models written the plain JSON Schema way. With the argument --client, a client
 * library written for the Atlas Data API (npm's mongodb-data-api, installed pinned under
 * var/dataapi-client by scripts/setup) drives odmd instead (clients/dataapi_client.mjs asserts;
 * skipped with 77 when node or the library is missing, failed then when CI is set). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

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
    /* {"_id": 0} leaves _id out, alone or with inclusions; other exclusions are refused */
    act(&reader, &r, "findOne", "users", "'filter':{'name':'Bea'},'projection':{'_id':0,'name':1}",
        NULL);
    EXPECT_STATUS(r, 200);
    doc = json_object_get(r.json, "document");
    CHECK_STR(member_str(doc, "name"), "Bea");
    CHECK(json_object_get(doc, "_id") == NULL && json_object_get(doc, "email") == NULL);
    act(&reader, &r, "findOne", "users", "'filter':{'name':'Bea'},'projection':{'_id':0}",
        "Accept: application/ejson");
    EXPECT_STATUS(r, 200);
    doc = json_object_get(r.json, "document");
    CHECK(json_object_get(doc, "_id") == NULL && json_object_get(doc, "email") != NULL);
    act(&reader, &r, "findOne", "users", "'projection':{'email':0}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "findOne", "users", "'projection':{'email':1e300}", NULL);
    expect_error(&r, 400, "InvalidParameter");
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

static bool has_prefix(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_auth(void)
{
    e2e_resp_t r = {0};
    e2e_client_t anon;
    e2e_client_init(&anon, env.odmd.url);
    /* no credential at all: the Data API's 400, in its words */
    act(&anon, &r, "findOne", "users", "", NULL);
    expect_error(&r, 400, "InvalidParameter");
    CHECK_STR(e2e_str(&r, "error"), "no authentication methods were specified");
    /* a key or token refused: 401 InvalidSession, "invalid session: ..." */
    act(&anon, &r, "findOne", "users", "", "api-key: wrong-key");
    expect_error(&r, 401, "InvalidSession");
    CHECK_MSG(has_prefix(e2e_str(&r, "error"), "invalid session: "), "%s", r.body);
    CHECK_MSG(e2e_header(&r, "WWW-Authenticate") != NULL, "no WWW-Authenticate");
    act(&anon, &r, "findOne", "users", "", "Authorization: Bearer wrong-key");
    expect_error(&r, 401, "InvalidSession");
    CHECK_MSG(has_prefix(e2e_str(&r, "error"), "invalid session: "), "%s", r.body);
    char long_key[1200];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    act(&anon, &r, "findOne", "users", "", F("api-key: %s", long_key));
    expect_error(&r, 401, "InvalidSession");
    /* the REST routes keep their 401 problem with its challenge */
    e2e_get(&anon, &r, "/api/users");
    EXPECT_STATUS(r, 401);
    CHECK_MSG(has_prefix(e2e_header(&r, "Content-Type"), "application/problem+json"), "%s", r.body);
    CHECK_MSG(e2e_header(&r, "WWW-Authenticate") != NULL, "no WWW-Authenticate");
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

/* ---- writes ---- */

static const char gadgets_model[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"type\": \"object\","
    " \"x-collection\": \"e2e_gadgets\", \"x-timestamps\": true, \"additionalProperties\": false,"
    " \"properties\": {"
    "  \"name\": {\"type\": \"string\", \"minLength\": 1},"
    "  \"serial\": {\"type\": \"integer\", \"x-bson\": \"long\"},"
    "  \"madeAt\": {\"type\": \"string\", \"format\": \"date-time\"},"
    "  \"price\": {\"type\": \"number\"},"
    "  \"status\": {\"enum\": [\"new\", \"used\"], \"default\": \"new\"},"
    "  \"pin\": {\"type\": \"string\", \"writeOnly\": true},"
    "  \"code\": {\"type\": \"string\", \"readOnly\": true}},"
    " \"required\": [\"name\"]}";

/* A model written the plain JSON Schema way: no x- keyword at all. */
static const char plain_model[] =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"type\": \"object\","
    " \"properties\": {\"name\": {\"type\": \"string\"},"
    "  \"qty\": {\"type\": \"integer\", \"minimum\": 0}},"
    " \"required\": [\"name\"]}";

static void test_insert_one(void)
{
    e2e_resp_t r = {0};
    act(&writer, &r, "insertOne", "e2e_gadgets",
        "'document':{'name':'g1','serial':{'$numberLong':'9007199254740993'},"
        "'madeAt':{'$date':{'$numberLong':'1700000000000'}},'price':{'$numberDecimal':'9.5'},"
        "'pin':'1234'}",
        NULL);
    EXPECT_STATUS(r, 201);
    const char *id = e2e_str(&r, "insertedId");
    CHECK_MSG(id != NULL && strlen(id) == 24, "%s", r.body);
    json_t *stored =
        e2e_mongo_find(DBURI, DBNAME, "e2e_gadgets", F("{\"_id\": {\"$oid\": \"%s\"}}", id));
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "serial")), "$numberLong");
    CHECK_STR(member_str(json_object_get(stored, "serial"), "$numberLong"), "9007199254740993");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "madeAt")), "$date");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "createdAt")), "$date");
    CHECK_STR(member_str(stored, "status"), "new"); /* the default */
    CHECK_STR(member_str(stored, "pin"), "1234");
    json_decref(stored);

    /* the answer in Extended JSON: the inserted _id as $oid */
    act(&writer, &r, "insertOne", "e2e_gadgets", "'document':{'name':'g2','serial':2}",
        "Accept: application/ejson");
    EXPECT_STATUS(r, 201);
    CHECK_MSG(member_str(json_object_get(r.json, "insertedId"), "$oid") != NULL, "%s", r.body);

    /* read back: writeOnly hidden, long and date typed in EJSON */
    act(&writer, &r, "findOne", "e2e_gadgets", "'filter':{'name':'g1'}",
        "Accept: application/ejson");
    EXPECT_STATUS(r, 200);
    const json_t *doc = json_object_get(r.json, "document");
    CHECK(json_object_get(doc, "pin") == NULL);
    CHECK_STR(member_str(json_object_get(doc, "serial"), "$numberLong"), "9007199254740993");
    CHECK_STR(member_str(json_object_get(json_object_get(doc, "madeAt"), "$date"), "$numberLong"),
              "1700000000000");
    CHECK_STR(member_str(json_object_get(doc, "price"), "$numberDouble"), "9.5");
    /* $numberLong in a filter, exact past 2^53 */
    act(&writer, &r, "find", "e2e_gadgets",
        "'filter':{'serial':{'$numberLong':'9007199254740993'}}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 1);
    act(&writer, &r, "find", "e2e_gadgets",
        "'filter':{'serial':{'$numberLong':'9007199254740992'}}", NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 0);
    act(&writer, &r, "findOne", "e2e_gadgets", "'filter':{'name':'g1'}", NULL);
    doc = json_object_get(r.json, "document");
    CHECK(json_object_get(doc, "pin") == NULL);
    CHECK_STR(member_str(doc, "madeAt"), "2023-11-14T22:13:20.000Z");
    CHECK(json_integer_value(json_object_get(doc, "serial")) == 9007199254740993LL);

    /* validation as REST's: types, x- rules, readOnly; pointers into the body */
    act(&writer, &r, "insertOne", "e2e_gadgets", "'document':{'name':'','serial':'x','extra':1}",
        NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    const json_t *errors = json_object_get(r.json, "errors");
    CHECK_MSG(json_array_size(errors) >= 2, "%s", r.body);
    CHECK_MSG(strstr(r.body, "\"instanceLocation\":\"/document/name\"") != NULL, "%s", r.body);
    CHECK_MSG(strstr(r.body, "\"instanceLocation\":\"/document/serial\"") != NULL, "%s", r.body);
    act(&writer, &r, "insertOne", "e2e_gadgets", "'document':{'name':'g3','code':'X'}", NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    CHECK_MSG(strstr(r.body, "/document/code") != NULL && strstr(r.body, "readOnly") != NULL, "%s",
              r.body);
    act(&writer, &r, "insertOne", "e2e_gadgets", "'document':{'name':'g3','createdAt':'x'}", NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    act(&writer, &r, "insertOne", "e2e_gadgets", "'document':{'name':'g3','$set':{'a':1}}", NULL);
    CHECK_INT(r.status, 400);
    act(&writer, &r, "insertOne", "e2e_gadgets", "", NULL);
    expect_error(&r, 400, "InvalidParameter");
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_gadgets"), 2);

    /* duplicate key (users.email is x-unique) */
    act(&writer, &r, "insertOne", "users", "'document':{'email':'ann@example.com','name':'Ann 2'}",
        NULL);
    expect_error(&r, 409, "DuplicateKey");

    /* the plain model: a generated ObjectId, its schema's rules */
    act(&writer, &r, "insertOne", "plain", "'document':{'name':'p1','qty':3}", NULL);
    EXPECT_STATUS(r, 201);
    act(&writer, &r, "insertOne", "plain", "'document':{'name':'p2','qty':-1}", NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    CHECK_MSG(strstr(r.body, "/document/qty") != NULL, "%s", r.body);

    /* scopes: reader may not write */
    act(&reader, &r, "insertOne", "users", "'document':{'email':'x@example.com','name':'X'}", NULL);
    expect_error(&r, 403, "NoMatchingRuleFound");
    e2e_resp_free(&r);
}

static void test_insert_many(void)
{
    e2e_resp_t r = {0};
    /* the model's _id is odmd's to make (readOnly), as on REST: a client's is refused */
    act(&writer, &r, "insertMany", "plain",
        "'documents':[{'name':'m0'},{'_id':{'$oid':'65a1b2c3d4e5f60718293a4b'},'name':'m3'}]",
        NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    CHECK_MSG(strstr(r.body, "\"instanceLocation\":\"/documents/1/_id\"") != NULL, "%s", r.body);
    act(&writer, &r, "insertMany", "plain",
        "'documents':[{'name':'m1','qty':1},{'name':'m2','qty':{'$numberInt':'2'}},{'name':'m3'}]",
        NULL);
    CHECK_MSG(r.status == 201, "%ld %s", r.status, r.body);
    const json_t *ids = json_object_get(r.json, "insertedIds");
    CHECK_INT(json_array_size(ids), 3);
    const char *m3_id = json_string_value(json_array_get(ids, 2));
    json_t *m3 = e2e_mongo_find(DBURI, DBNAME, "plain",
                                F("{\"_id\": {\"$oid\": \"%s\"}}", m3_id ? m3_id : ""));
    CHECK_STR(member_str(m3, "name"), "m3");
    json_decref(m3);

    /* one invalid document: nothing inserted, its pointer names it */
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "plain");
    act(&writer, &r, "insertMany", "plain", "'documents':[{'name':'m4'},{'qty':5}]", NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    CHECK_MSG(strstr(r.body, "\"instanceLocation\":\"/documents/1\"") != NULL, "%s", r.body);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "plain"), before);

    act(&writer, &r, "insertMany", "plain", "'documents':[]", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&writer, &r, "insertMany", "plain", "'documents':{'name':'x'}", NULL);
    expect_error(&r, 400, "InvalidParameter");

    /* a duplicate: ordered, the ones before it are in */
    act(&writer, &r, "insertMany", "users",
        "'documents':[{'email':'dan@example.com','name':'Dan'},"
        "{'email':'ann@example.com','name':'Ann 3'},{'email':'eve@example.com','name':'Eve'}]",
        NULL);
    expect_error(&r, 409, "DuplicateKey");
    json_t *dan = e2e_mongo_find(DBURI, DBNAME, "users", "{\"email\": \"dan@example.com\"}");
    CHECK(dan != NULL);
    json_decref(dan);
    json_t *eve = e2e_mongo_find(DBURI, DBNAME, "users", "{\"email\": \"eve@example.com\"}");
    CHECK(eve == NULL);
    json_decref(eve);
    e2e_resp_free(&r);
}

static void test_replace_one(void)
{
    e2e_resp_t r = {0};
    act(&writer, &r, "findOne", "e2e_gadgets", "'filter':{'name':'g1'}", NULL);
    const json_t *before = json_object_get(r.json, "document");
    char created[64];
    snprintf(created, sizeof created, "%s", member_str(before, "createdAt"));
    char id[32];
    snprintf(id, sizeof id, "%s", member_str(before, "_id"));

    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g1'},'replacement':{'name':'g1b','serial':7}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "matchedCount")), 1);
    CHECK_INT(json_integer_value(json_object_get(r.json, "modifiedCount")), 1);
    CHECK(json_object_get(r.json, "upsertedId") == NULL);
    json_t *stored =
        e2e_mongo_find(DBURI, DBNAME, "e2e_gadgets", F("{\"_id\": {\"$oid\": \"%s\"}}", id));
    CHECK_STR(member_str(stored, "name"), "g1b");
    CHECK(json_object_get(stored, "madeAt") == NULL); /* replaced, not merged */
    CHECK_STR(member_str(stored, "status"), "new");   /* defaults again */
    CHECK(json_object_get(stored, "updatedAt") != NULL);
    json_decref(stored);
    act(&writer, &r, "findOne", "e2e_gadgets", "'filter':{'name':'g1b'}", NULL);
    CHECK_STR(member_str(json_object_get(r.json, "document"), "createdAt"), created);

    /* the same again: matched, not modified */
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g1b'},'replacement':{'name':'g1b','serial':7}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "matchedCount")), 1);
    CHECK_INT(json_integer_value(json_object_get(r.json, "modifiedCount")), 0);

    /* no match */
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'none'},'replacement':{'name':'x'}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "matchedCount")), 0);
    CHECK_INT(json_integer_value(json_object_get(r.json, "modifiedCount")), 0);

    /* an invalid replacement changes nothing */
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g1b'},'replacement':{'name':'g1c','serial':'seven'}", NULL);
    expect_error(&r, 400, "SchemaValidationFailedWrite");
    CHECK_MSG(strstr(r.body, "/replacement/serial") != NULL, "%s", r.body);
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g1b'},'replacement':{'$set':{'name':'y'}}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g1b'},'replacement':{'name':'z','_id':{'$oid':'65a1b2c3d4e5f60718293a4b'"
        "}}",
        NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&writer, &r, "findOne", "e2e_gadgets", "'filter':{'name':'g1b'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(r.json, "document"), "serial")),
              7);

    /* upsert: no match inserts the replacement */
    act(&writer, &r, "replaceOne", "e2e_gadgets",
        "'filter':{'name':'g9'},'replacement':{'name':'g9','serial':9},'upsert':true", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "matchedCount")), 0);
    const char *up = e2e_str(&r, "upsertedId");
    CHECK_MSG(up != NULL && strlen(up) == 24, "%s", r.body);
    stored = e2e_mongo_find(DBURI, DBNAME, "e2e_gadgets", "{\"name\": \"g9\"}");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "createdAt")), "$date");
    json_decref(stored);
    e2e_resp_free(&r);
}

static void test_delete(void)
{
    e2e_resp_t r = {0};
    act(&writer, &r, "deleteOne", "plain", "'filter':{'name':{'$in':['m1','m2']}}", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 1);
    act(&writer, &r, "deleteOne", "plain", "'filter':{'name':'nothing'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 0);
    int64_t left = e2e_mongo_count(DBURI, DBNAME, "plain");
    act(&writer, &r, "deleteMany", "plain", "'filter':{'qty':{'$gte':0}}", NULL);
    EXPECT_STATUS(r, 200);
    int64_t deleted = json_integer_value(json_object_get(r.json, "deletedCount"));
    CHECK_MSG(deleted >= 2, "%s", r.body);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "plain"), left - deleted);
    act(&writer, &r, "deleteMany", "plain", "'filter':{'nosuch':1}", NULL);
    expect_error(&r, 400, "InvalidParameter");
    act(&reader, &r, "deleteMany", "users", "", NULL);
    expect_error(&r, 403, "NoMatchingRuleFound");
    e2e_resp_free(&r);
}

/* x-owner and x-softDelete (diaries): each owner sees and writes only its own; a delete stamps
 * deletedAt and the document is gone from reads. */
static void test_owner(void)
{
    e2e_resp_t r = {0};
    act(&alice, &r, "insertOne", "e2e_diaries", "'document':{'title':'a1','ownerId':'bob'}", NULL);
    EXPECT_STATUS(r, 201);
    act(&bob, &r, "insertMany", "e2e_diaries", "'documents':[{'title':'b1'},{'title':'b2'}]", NULL);
    EXPECT_STATUS(r, 201);
    json_t *a1 = e2e_mongo_find(DBURI, DBNAME, "e2e_diaries", "{\"title\": \"a1\"}");
    CHECK_STR(member_str(a1, "ownerId"), "alice");
    json_decref(a1);

    act(&alice, &r, "find", "e2e_diaries", "", NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 1);
    act(&alice, &r, "find", "e2e_diaries", "'filter':{'ownerId':'bob'}", NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 0);
    act(&alice, &r, "findOne", "e2e_diaries", "'filter':{'title':'b1'}", NULL);
    CHECK(json_is_null(json_object_get(r.json, "document")));

    /* alice cannot replace or delete bob's */
    act(&alice, &r, "replaceOne", "e2e_diaries",
        "'filter':{'title':'b1'},'replacement':{'title':'mine'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "matchedCount")), 0);
    act(&alice, &r, "deleteMany", "e2e_diaries", "'filter':{'title':{'$in':['b1','b2']}}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 0);

    /* a replacement keeps the owner, whatever it says */
    act(&bob, &r, "replaceOne", "e2e_diaries",
        "'filter':{'title':'b1'},'replacement':{'title':'b1x','ownerId':'alice'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "modifiedCount")), 1);
    json_t *b1 = e2e_mongo_find(DBURI, DBNAME, "e2e_diaries", "{\"title\": \"b1x\"}");
    CHECK_STR(member_str(b1, "ownerId"), "bob");
    json_decref(b1);

    /* soft delete: deletedAt stamped, the document kept but no longer read */
    act(&bob, &r, "deleteOne", "e2e_diaries", "'filter':{'title':'b1x'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 1);
    b1 = e2e_mongo_find(DBURI, DBNAME, "e2e_diaries", "{\"title\": \"b1x\"}");
    CHECK_STR(e2e_ejson_kind(json_object_get(b1, "deletedAt")), "$date");
    json_decref(b1);
    act(&bob, &r, "find", "e2e_diaries", "", NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 1);
    act(&bob, &r, "deleteOne", "e2e_diaries", "'filter':{'title':'b1x'}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 0);
    act(&bob, &r, "deleteMany", "e2e_diaries", "", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 1);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_diaries"), 3);
    e2e_resp_free(&r);
}

/* The OpenAPI document lists each action, its body and its error shape. */
static void test_openapi(void)
{
    e2e_resp_t r = {0};
    e2e_get(&reader, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    const json_t *paths = json_object_get(r.json, "paths");
    const char *actions[] = {"findOne",    "find",      "insertOne", "insertMany",
                             "replaceOne", "deleteOne", "deleteMany"};
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        const json_t *post =
            json_object_get(json_object_get(paths, F("/data/v1/action/%s", actions[i])), "post");
        CHECK_MSG(post != NULL, "no POST /data/v1/action/%s", actions[i]);
        const json_t *schema = json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(post, "requestBody"), "content"),
                                "application/json"),
                "schema"),
            "required");
        CHECK_MSG(json_array_size(schema) >= 3, "%s: required %zu", actions[i],
                  json_array_size(schema));
        const json_t *e400 = json_object_get(json_object_get(post, "responses"), "400");
        const json_t *shape = json_object_get(
            json_object_get(json_object_get(e400, "content"), "application/json"), "schema");
        CHECK_STR(json_string_value(json_object_get(shape, "$ref")),
                  "#/components/schemas/DataApiError");
    }
    e2e_resp_free(&r);
}

/* A browser's preflight before a Data API call with its api-key header. */
static void test_cors(void)
{
    e2e_resp_t r = {0};
    e2e_client_t anon;
    e2e_client_init(&anon, env.odmd.url);
    const char *headers[] = {"Origin: http://app.example", "Access-Control-Request-Method: POST",
                             "Access-Control-Request-Headers: api-key,content-type", NULL};
    e2e_request(&anon, &r, "OPTIONS", "/data/v1/action/find", headers, NULL, 0);
    EXPECT_STATUS(r, 204);
    const char *allowed = e2e_header(&r, "Access-Control-Allow-Headers");
    CHECK_MSG(allowed != NULL && strstr(allowed, "api-key") != NULL, "allowed: %s",
              allowed ? allowed : "(none)");
    e2e_client_release(&anon);
    e2e_resp_free(&r);
}

/* x-requireIfMatch: the Data API sends no If-Match, so its writes of stored documents are
 * refused (428); inserts are not such writes. */
static void test_require_if_match(void)
{
    e2e_resp_t r = {0};
    act(&admin, &r, "insertOne", "locks", "'document':{'name':'l1'}", NULL);
    CHECK_MSG(r.status == 201 || r.status == 400, "%ld %s", r.status, r.body);
    act(&admin, &r, "replaceOne", "locks", "'filter':{},'replacement':{'name':'l2'}", NULL);
    expect_error(&r, 428, "PreconditionRequired");
    act(&admin, &r, "deleteMany", "locks", "", NULL);
    expect_error(&r, 428, "PreconditionRequired");
    e2e_resp_free(&r);
}

/* find answers at most 1000 documents: without a limit, more matches is a 413 (page with
 * limit and skip), never a silently cut list. */
static void test_find_cap(void)
{
    e2e_resp_t r = {0};
    /* bodies of ~15 KB: above the size checked on arrival, so checked on a worker */
    for (int batch = 0; batch < 2; batch++) {
        char docs[40000];
        size_t len = 0;
        for (int i = 0; i < 501; i++)
            len += (size_t)snprintf(docs + len, sizeof docs - len, "%s{'name':'c%d','qty':%d}",
                                    i ? "," : "", batch * 501 + i, batch * 501 + i);
        act(&writer, &r, "insertMany", "plain", F("'documents':[%s]", docs), NULL);
        EXPECT_STATUS(r, 201);
    }
    {
        char docs[40000];
        size_t len = 0;
        for (int i = 0; i < 400; i++)
            len += (size_t)snprintf(docs + len, sizeof docs - len, "{'name':'w%d'},", i);
        act(&writer, &r, "insertMany", "plain", F("'documents':[%s{'qty':-2}]", docs), NULL);
        expect_error(&r, 400, "SchemaValidationFailedWrite");
        CHECK_MSG(strstr(r.body, "/documents/400") != NULL, "%.300s", r.body);
    }
    act(&writer, &r, "find", "plain", "'filter':{'name':{'$regex':'^c'}}", NULL);
    expect_error(&r, 413, "RequestTooLarge");
    act(&writer, &r, "find", "plain", "'filter':{'name':{'$regex':'^c'}},'limit':1000", NULL);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 1000);
    act(&writer, &r, "find", "plain",
        "'filter':{'name':{'$regex':'^c'}},'sort':{'qty':1},'skip':1000,'limit':1000", NULL);
    CHECK_INT(json_array_size(json_object_get(r.json, "documents")), 2);
    act(&writer, &r, "deleteMany", "plain", "'filter':{'name':{'$regex':'^c'}}", NULL);
    CHECK_INT(json_integer_value(json_object_get(r.json, "deletedCount")), 1002);
    e2e_resp_free(&r);
}

/* ---- a client library of the old service ---- */

/* Where scripts/setup installs the library (var/dataapi-client), when it is there. */
static const char *client_dir(void)
{
    static char dir[1024];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/var/dataapi-client", e2e_source_dir());
    char lib[1100];
    snprintf(lib, sizeof lib, "%s/node_modules/mongodb-data-api/package.json", dir);
    if (system("node --version >/dev/null 2>&1") != 0 || stat(lib, &st) != 0)
        return NULL;
    return dir;
}

static void run_client(const char *installed)
{
    const char *dir = e2e_temp_dir("client");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "timeout 120 node '%s/tests/e2e/clients/dataapi_client.mjs' '%s' '%s' '%s' '%s' "
             ">'%s/out.txt' 2>&1",
             e2e_source_dir(), env.odmd.url, "writer-key-9b44", DBNAME, installed, dir);
    int status = system(cmd);
    char *out = e2e_read_file(F("%s/out.txt", dir));
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client: status %d: %s", status,
              out ? out : "(no output)");
    CHECK_MSG(out && strstr(out, "dataapi client ok") != NULL, "client: %s", out ? out : "");
    free(out);
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

int main(int argc, char **argv)
{
    bool client = argc > 1 && strcmp(argv[1], "--client") == 0;
    const char *name = client ? "e2e.dataapi_client" : "e2e_dataapi";
    e2e_init(client ? "dataapi_client" : "dataapi");
    const char *installed = client ? client_dir() : NULL;
    if (client && installed == NULL) {
        if (getenv("CI") == NULL) {
            printf("SKIP: node or var/dataapi-client (mongodb-data-api) missing: scripts/setup\n");
            return e2e_finish(77);
        }
        CHECK_MSG(false, "node or var/dataapi-client missing, and CI is set");
        return e2e_finish(check_done(name));
    }
    char keys[512];
    CHECK(write_keys(e2e_temp_dir("keys"), keys, sizeof keys));
    CHECK(e2e_write_file(e2e_schemas_with_extras(), "gadgets.json", gadgets_model));
    CHECK(e2e_write_file(e2e_schemas_with_extras(), "plain.json", plain_model));
    const char *args[] = {"--keys", keys, "--cors-origin", "http://app.example", NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done(name));
    }
    e2e_client_t *clients[] = {&admin, &reader, &writer, &alice, &bob};
    const char *bearer[] = {"admin-key-0d3a", "reader-key-71c2", "writer-key-9b44",
                            "alice-key-5c1e", "bob-key-93fa"};
    for (int i = 0; i < 5; i++) {
        e2e_client_init(clients[i], env.odmd.url);
        clients[i]->api_key = bearer[i];
    }
    seed();
    if (client) {
        run_client(installed);
        goto done;
    }
    test_find_one();
    test_ejson_out();
    test_find();
    test_request_errors();
    test_auth();
    test_insert_one();
    test_insert_many();
    test_replace_one();
    test_delete();
    test_owner();
    test_openapi();
    test_cors();
    test_require_if_match();
    test_find_cap();
done:
    for (int i = 0; i < 5; i++)
        e2e_client_release(clients[i]);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done(name));
}
