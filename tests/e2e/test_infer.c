/* End-to-end: models from an existing database. `odmd schema infer` on a collection seeded
 * straight into the database (ObjectId _id, dates, 64-bit integers, nested objects, arrays of
 * objects, optional fields, emails, a field of two types): the model's content, `odmd check`
 * on it, and every seeded document read and written back through odmd serving it. Then the
 * index report, from `odmd check --mongo-uri` and in the startup log: a declared index that is
 * missing, one that cannot be built over duplicate values (named), one no model declares. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static e2e_db_t *db;
static char dbname[96];
static char uri[160]; /* the database's URI naming dbname */

#define N_PEOPLE 4
static const char *const people[N_PEOPLE] = {
    "{'_id': {'$oid': '65a1b2c3d4e5f60718293a01'}, 'name': 'Ada', 'email': 'ada@example.org',"
    " 'joined': {'$date': '2020-01-02T03:04:05Z'}, 'visits': {'$numberLong': '5000000000'},"
    " 'score': 1.5, 'code': 'A1', 'address': {'city': 'London', 'zip': 'N1'},"
    " 'orders': [{'sku': 'a1', 'qty': 2}, {'sku': 'b2', 'qty': 1, 'note': 'gift'}],"
    " 'nickname': 'Countess', 'manager': {'$oid': '65a1b2c3d4e5f60718293a02'}}",
    "{'_id': {'$oid': '65a1b2c3d4e5f60718293a02'}, 'name': 'Alan', 'email': 'alan@example.org',"
    " 'joined': {'$date': '2021-06-23T10:00:00Z'}, 'visits': {'$numberLong': '7'},"
    " 'score': 2.25, 'code': 42, 'address': {'city': 'Wilmslow', 'zip': 'SK9'},"
    " 'orders': [{'sku': 'c3', 'qty': 5}], 'manager': null}",
    "{'_id': {'$oid': '65a1b2c3d4e5f60718293a03'}, 'name': 'Grace', 'email': 'grace@example.org',"
    " 'joined': {'$date': '2019-12-09T00:00:00Z'}, 'visits': {'$numberLong': '12'},"
    " 'score': 3.5, 'code': 'G3', 'address': {'city': 'Arlington', 'zip': '22201'},"
    " 'orders': [], 'left': {'$date': '2023-01-01T00:00:00Z'}}",
    "{'_id': {'$oid': '65a1b2c3d4e5f60718293a04'}, 'name': 'Edsger', 'email': 'ewd@example.org',"
    " 'joined': {'$date': '2022-08-06T12:30:00Z'}, 'visits': {'$numberLong': '1'},"
    " 'score': 0.5, 'code': 7, 'address': {'city': 'Nuenen', 'zip': '5671'},"
    " 'orders': [{'sku': 'a1', 'qty': 1}], 'left': null}",
};

static int run(const char *const *argv, char **out)
{
    return e2e_run_odmd(argv, NULL, NULL, 30000, out);
}

static const json_t *at(const json_t *model, const char *path)
{
    json_t *v = (json_t *)model;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok && v;
         tok = strtok_r(NULL, "/", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(tok)) : json_object_get(v, tok);
    return v;
}

static void expect_str(const json_t *model, const char *path, const char *want)
{
    const char *got = json_string_value(at(model, path));
    CHECK_MSG(got && strcmp(got, want) == 0, "model %s is '%s', want '%s'", path,
              got ? got : "(none)", want);
}

static bool in_array(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) &&
                                    strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

static void check_model(const json_t *m)
{
    expect_str(m, "x-collection", "people");
    expect_str(m, "properties/_id/x-bson", "objectId");
    CHECK_MSG(json_is_true(at(m, "properties/_id/readOnly")), "the ObjectId _id is readOnly");
    expect_str(m, "properties/name/type", "string");
    expect_str(m, "properties/email/format", "email");
    expect_str(m, "properties/joined/format", "date-time");
    expect_str(m, "properties/visits/type", "integer");
    expect_str(m, "properties/visits/x-bson", "long");
    expect_str(m, "properties/score/x-bson", "double");
    expect_str(m, "properties/manager/x-bson", "objectId");
    CHECK_MSG(in_array(at(m, "properties/manager/type"), "null"), "manager may be null");
    expect_str(m, "properties/left/format", "date-time");
    CHECK_MSG(in_array(at(m, "properties/left/type"), "null"), "left may be null");
    expect_str(m, "properties/address/type", "object");
    expect_str(m, "properties/address/properties/zip/type", "string");
    CHECK_MSG(json_is_false(at(m, "properties/address/additionalProperties")),
              "nested object closed");
    expect_str(m, "properties/orders/items/type", "object");
    expect_str(m, "properties/orders/items/properties/qty/type", "integer");
    const json_t *item_req = at(m, "properties/orders/items/required");
    CHECK_MSG(in_array(item_req, "sku") && !in_array(item_req, "note"),
              "items require sku, not the optional note");
    const json_t *code = at(m, "properties/code/type");
    CHECK_MSG(json_array_size(code) == 2 && in_array(code, "string") && in_array(code, "integer"),
              "code is a union of string and integer");
    const json_t *req = at(m, "required");
    CHECK_MSG(in_array(req, "name") && in_array(req, "email") && in_array(req, "orders") &&
                  !in_array(req, "nickname") && !in_array(req, "_id"),
              "required: every field present everywhere, not nickname, not the generated _id");
    CHECK_MSG(json_is_false(at(m, "additionalProperties")), "root closed");
    CHECK_MSG(json_object_get(at(m, "properties"), "__v") == NULL, "no version field");
}

/* Reads each seeded document through odmd serving the inferred model, and writes it back: the
 * PUT validates it against the model. */
static void serve_and_round_trip(const char *schemas)
{
    e2e_odmd_t odmd;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db), .schemas = schemas, .db_name = dbname};
    if (!e2e_odmd_start(&odmd, &opts)) {
        CHECK_MSG(false, "odmd did not serve the inferred model");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0}, w = {0};
    e2e_get(&c, &r, "/api/people?limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_INT((long long)json_array_size(r.json), N_PEOPLE);
    size_t i;
    json_t *doc;
    json_array_foreach(r.json, i, doc)
    {
        const char *id = json_string_value(json_object_get(doc, "_id"));
        char *body = json_dumps(doc, JSON_COMPACT);
        e2e_put(&c, &w, F("/api/people/%s", id ? id : "none"), body, NULL);
        EXPECT_STATUS(w, 200);
        free(body);
    }
    json_t *stored = e2e_mongo_find(e2e_db_uri(db), dbname, "people",
                                    "{\"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a01\"}}");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "joined")), "$date");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "visits")), "$numberLong");
    CHECK_STR(e2e_ejson_kind(json_object_get(stored, "manager")), "$oid");
    json_decref(stored);
    e2e_resp_free(&r);
    e2e_resp_free(&w);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&odmd, 10000), 0);
}

static void test_infer(void)
{
    for (int i = 0; i < N_PEOPLE; i++)
        CHECK(e2e_mongo_insert(e2e_db_uri(db), dbname, "people", Q(people[i])));
    const char *dir = e2e_temp_dir("inferred");
    const char *out_file = F("%s/people.json", dir);
    char out_path[512];
    snprintf(out_path, sizeof out_path, "%s", out_file);
    char *out = NULL;
    const char *argv[] = {"schema", "infer", "--mongo-uri", uri, "people", "--out", out_path, NULL};
    CHECK_INT(run(argv, &out), 0);
    /* mongo-java-server has $sample; FerretDB refuses it, and the first documents are read */
    const char *how = e2e_is_ferretdb()
                          ? "4 documents of 'people' read in natural order (the server refused "
                            "$sample: not a random sample)"
                          : "4 documents of 'people' sampled with $sample";
    CHECK_MSG(out && strstr(out, how), "infer said: %s", out ? out : "");
    free(out);
    char *text = e2e_read_file(out_path);
    json_t *model = text ? json_loads(text, 0, NULL) : NULL;
    CHECK_MSG(model != NULL, "the model is JSON: %.300s", text ? text : "(no file)");
    free(text);
    if (model == NULL)
        return;
    check_model(model);
    json_decref(model);

    const char *check[] = {"check", dir, NULL};
    CHECK_INT(run(check, &out), 0);
    CHECK_MSG(out && strstr(out, "people.json: ok"), "check said: %s", out ? out : "");
    free(out);
    serve_and_round_trip(dir);

    const char *to_stdout[] = {"schema", "infer",    "--mongo-uri", uri,
                               "people", "--sample", "2",           NULL};
    CHECK_INT(run(to_stdout, &out), 0);
    CHECK_MSG(out && strstr(out, "\"x-collection\": \"people\"") && strstr(out, "2 documents"),
              "infer --sample 2 to stdout: %.300s", out ? out : "");
    free(out);
    const char *empty[] = {"schema", "infer", "--mongo-uri", uri, "nothing_here", NULL};
    CHECK_INT(run(empty, &out), 1);
    CHECK_MSG(out && strstr(out, "no documents"), "empty collection: %s", out ? out : "");
    free(out);
    const char *help[] = {"--help", NULL};
    CHECK_INT(run(help, &out), 0);
    CHECK_MSG(out && strstr(out, "odmd schema infer --mongo-uri URI COLLECTION") &&
                  strstr(out, "odmd check --mongo-uri URI [DIR]"),
              "--help: %.600s", out ? out : "");
    free(out);
    const char *bad[][8] = {
        {"schema", "infer", "people", NULL},
        {"schema", "infer", "--mongo-uri", uri, NULL},
        {"schema", "infer", "--mongo-uri", uri, "people", "--sample", "0", NULL},
        {"schema", "guess", "--mongo-uri", uri, "people", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(run(bad[i], &out), 2);
        CHECK_MSG(out && strstr(out, "usage"), "usage shown: %s", out ? out : "");
        free(out);
    }
}

/* Integer ids are client-supplied; an object whose keys are data (each seen once) stays open. */
static void test_integer_ids_and_maps(void)
{
    const char *stats[] = {
        "{'_id': 1, 'days': {'2024-01-01': 3}}",
        "{'_id': 2, 'days': {'2024-01-02': 1, '2024-01-03': 4}}",
        "{'_id': 3, 'days': {'2024-01-04': 2}}",
    };
    for (size_t i = 0; i < 3; i++)
        CHECK(e2e_mongo_insert(e2e_db_uri(db), dbname, "stats", Q(stats[i])));
    const char *dir = e2e_temp_dir("stats");
    char out_path[512];
    snprintf(out_path, sizeof out_path, "%s/daily.json", dir);
    const char *argv[] = {"schema", "infer", "--mongo-uri", uri, "stats", "--out", out_path, NULL};
    CHECK_INT(run(argv, NULL), 0);
    char *text = e2e_read_file(out_path);
    json_t *m = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    expect_str(m, "x-collection", "stats");
    expect_str(m, "properties/_id/type", "integer");
    CHECK_MSG(at(m, "properties/_id/readOnly") == NULL, "an integer _id is client-supplied");
    CHECK_MSG(at(m, "properties/days/additionalProperties") == NULL,
              "keys that differ from document to document stay allowed");
    CHECK_MSG(json_is_false(at(m, "additionalProperties")),
              "the root, whose keys agree, is closed");
    json_decref(m);
    const char *check[] = {"check", dir, NULL};
    CHECK_INT(run(check, NULL), 0);
}

/* accounts: email and handle unique, emails repeat; an index on age no model declares. */
static const char accounts_model[] = "{\"type\": \"object\", \"properties\": {"
                                     "\"email\": {\"type\": \"string\", \"x-unique\": true},"
                                     "\"handle\": {\"type\": \"string\", \"x-unique\": true},"
                                     "\"age\": {\"type\": \"integer\"}}}";

/* Whether odmd's log has a line of this level whose message is `msg`. */
static bool log_has(const e2e_odmd_t *o, const char *level, const char *msg)
{
    char *log = e2e_read_file(o->log_path);
    bool found = false;
    for (char *save = NULL, *line = log ? strtok_r(log, "\n", &save) : NULL; line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *l = json_string_value(json_object_get(j, "level"));
        const char *m = json_string_value(json_object_get(j, "msg"));
        found = l && m && strcmp(l, level) == 0 && strcmp(m, msg) == 0;
        json_decref(j);
    }
    free(log);
    return found;
}

static void test_index_report(void)
{
    const char *accounts[] = {
        "{'email': 'dup@example.org', 'handle': 'a', 'age': 30}",
        "{'email': 'dup@example.org', 'handle': 'b', 'age': 31}",
        "{'email': 'solo@example.org', 'handle': 'c', 'age': 32}",
    };
    for (size_t i = 0; i < 3; i++)
        CHECK(e2e_mongo_insert(e2e_db_uri(db), dbname, "accounts", Q(accounts[i])));
    CHECK(e2e_mongo_create_index(e2e_db_uri(db), dbname, "accounts", "by_age", "{\"age\": 1}",
                                 false));
    /* tags: the name its declared index would take already holds other keys */
    CHECK(e2e_mongo_insert(e2e_db_uri(db), dbname, "tags", Q("{'label': 'x', 'other': 1}")));
    CHECK(
        e2e_mongo_create_index(e2e_db_uri(db), dbname, "tags", "label_1", "{\"other\": 1}", false));
    const char *dir = e2e_temp_dir("accounts");
    CHECK(e2e_write_file(dir, "accounts.json", accounts_model));
    CHECK(e2e_write_file(dir, "tags.json",
                         "{\"type\": \"object\", \"properties\": {\"label\": {\"type\": "
                         "\"string\", \"x-unique\": true}, \"other\": {\"type\": \"integer\"}}}"));
    char *out = NULL;
    const char *check[] = {"check", "--mongo-uri", uri, dir, NULL};
    CHECK_INT(run(check, &out), 2);
    CHECK_MSG(out && strstr(out, "accounts.json: ok") &&
                  strstr(out, "{\"handle\":1} unique on 'accounts': missing (will be created at "
                              "startup)") &&
                  strstr(out, "{\"email\":1} unique on 'accounts': would fail: duplicate values "
                              "\"dup@example.org\" (2 documents)") &&
                  strstr(out, "index 'by_age' {\"age\":1} on 'accounts': in the database, "
                              "declared by no model") &&
                  !strstr(out, "solo@example.org") &&
                  strstr(out, "index 'label_1' {\"label\":1} unique on 'tags': would fail: its "
                              "name is taken by an index on {\"other\":1}") &&
                  strstr(out, "index 'label_1' {\"other\":1} on 'tags': in the database, declared "
                              "by no model"),
              "check --mongo-uri said: %s", out ? out : "");
    free(out);

    e2e_odmd_t odmd;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db), .schemas = dir, .db_name = dbname};
    if (!e2e_odmd_start(&odmd, &opts)) {
        CHECK_MSG(false, "odmd did not start on the accounts model");
        return;
    }
    const char *dup = "index 'email_1' {\"email\":1} on 'accounts' cannot be built: duplicate "
                      "values \"dup@example.org\" (2 documents)";
    const char *undeclared =
        "index 'by_age' {\"age\":1} on 'accounts' is in the database but declared by no model";
    int64_t deadline = e2e_now_ms() + 20000;
    while (!log_has(&odmd, "info", undeclared) && e2e_now_ms() < deadline)
        e2e_sleep_ms(100);
    CHECK_MSG(log_has(&odmd, "warn", dup), "startup log lacks the duplicates");
    CHECK_MSG(log_has(&odmd, "info", undeclared), "startup log lacks the undeclared index");
    CHECK_MSG(log_has(&odmd, "info", "index 'handle_1' on 'accounts' ready"),
              "the missing index was created");
    CHECK_MSG(
        log_has(&odmd, "warn",
                "index 'label_1' {\"label\":1} on 'tags' cannot be built: its name is taken by an "
                "index on {\"other\":1}"),
        "startup log lacks the index that could not be created");
    if (!log_has(&odmd, "info", undeclared))
        e2e_odmd_dump_log(&odmd, 40);
    CHECK(e2e_mongo_has_unique_index(e2e_db_uri(db), dbname, "accounts", "handle"));
    CHECK_INT(e2e_odmd_stop(&odmd, 10000), 0);

    /* models whose every index exists or can be built (a compound unique one over values that
     * do not repeat as pairs): exit 0, and by_age is now declared */
    const char *dir2 = e2e_temp_dir("handles");
    CHECK(e2e_write_file(dir2, "accounts.json",
                         "{\"type\": \"object\", \"properties\": {"
                         "\"email\": {\"type\": \"string\"},"
                         "\"handle\": {\"type\": \"string\", \"x-unique\": true},"
                         "\"age\": {\"type\": \"integer\"}},"
                         "\"x-indexes\": [{\"keys\": {\"age\": 1}}, {\"keys\": {\"email\": 1,"
                         " \"handle\": -1}, \"unique\": true, \"name\": \"pair\"}]}"));
    const char *check2[] = {"check", "--mongo-uri", uri, dir2, NULL};
    CHECK_INT(run(check2, &out), 0);
    CHECK_MSG(out && strstr(out, "{\"handle\":1} unique on 'accounts': present") &&
                  strstr(out, "{\"age\":1} on 'accounts': present") &&
                  strstr(out, "index 'pair' {\"email\":1,\"handle\":-1} unique on 'accounts': "
                              "missing") &&
                  !strstr(out, "declared by no model"),
              "check --mongo-uri said: %s", out ? out : "");
    free(out);
}

/* A database that does not answer: exit 1 from both commands, with the reason. */
static void test_database_down(void)
{
    char dead[160];
    snprintf(dead, sizeof dead, "%sx?serverSelectionTimeoutMS=500", e2e_dead_uri(NULL));
    char *out = NULL;
    const char *infer[] = {"schema", "infer", "--mongo-uri", dead, "people", NULL};
    CHECK_INT(run(infer, &out), 1);
    CHECK_MSG(out && strstr(out, "odmd schema infer: "), "infer said: %s", out ? out : "");
    free(out);
    const char *dir = e2e_temp_dir("down");
    CHECK(e2e_write_file(dir, "accounts.json", accounts_model));
    const char *check[] = {"check", "--mongo-uri", dead, dir, NULL};
    CHECK_INT(run(check, &out), 1);
    CHECK_MSG(out && strstr(out, "accounts.json: ok") && strstr(out, "odmd check: "),
              "check said: %s", out ? out : "");
    free(out);
}

int main(void)
{
    e2e_init("infer");
    db = e2e_db_start();
    if (!db) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_infer"));
    }
    snprintf(dbname, sizeof dbname, "e2e_infer_%d", (int)getpid());
    snprintf(uri, sizeof uri, "%s%s", e2e_db_uri(db), dbname);
    test_infer();
    test_integer_ids_and_maps();
    test_index_report();
    test_database_down();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_infer"));
}
