/* End-to-end: every document is addressable. Over every model the tests serve, a POST answers
 * 201 with _id and a Location that GET, PATCH and DELETE reach; read-only ids are generated;
 * client ids with slashes, dots and other characters come back through their Location (libcurl
 * and Python's urllib following it); models whose _id no URL can name are refused at load; an
 * id deleted and created again never repeats an ETag. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

/* One valid document per model the tests serve (schemas/ and tests/e2e/schemas/). A model
 * without a row here fails test_every_model_addressable: add one with the model. */
static const struct {
    const char *model, *body;
} samples[] = {
    {"users", "{'email':'ids@example.com','name':'Ids'}"},
    {"orders", "{'userId':'0123456789abcdef01234567','items':[{'sku':'BOOK-1','qty':1,"
               "'price':2.5}],'total':2.5}"},
    {"counters", "{'f0':1}"},
    {"notes", "{'title':'t'}"},
    {"widgets", "{'_id':77,'label':'w'}"},
    {"tickets", "{'subject':'printer on fire'}"},
    {"slugs", "{'_id':'sample-slug','target':'x'}"},
    {"codes", "{'_id':'SMP','label':'sample'}"},
    {"products", "{'sku':'IDS-1','name':'Ids','price':1}"},
    {"teams", "{'name':'ids'}"},
    {"locks", "{'name':'ids'}"},
    {"stamps", "{'name':'ids'}"},
    {"journals", "{'title':'ids'}"},
    {"members", "{'name':'ids','email':'ids@example.com'}"},
    {"diaries", "{'title':'ids'}"},
    {"events", "{'kind':'ids'}"},
    {"places", "{'code':'ids'}"},
    {"ledgers", "{'title':'ids'}"},
};

/* The models whose writes need If-Match (x-requireIfMatch). */
static const char *const if_match_models[] = {"locks", NULL};

static const char *sample_for(const char *model, bool *if_match)
{
    *if_match = false;
    for (const char *const *m = if_match_models; *m != NULL; m++)
        *if_match = *if_match || strcmp(*m, model) == 0;
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        if (strcmp(samples[i].model, model) == 0)
            return samples[i].body;
    return NULL;
}

/* The model names served (NAME of DIR/NAME.json), into names; returns how many. */
static size_t served_models(char names[][64], size_t max)
{
    DIR *d = opendir(e2e_schemas_with_extras());
    CHECK_MSG(d != NULL, "cannot list %s", e2e_schemas_with_extras());
    size_t n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 5 && len - 5 < 64 && strcmp(e->d_name + len - 5, ".json") == 0)
            snprintf(names[n++], 64, "%.*s", (int)(len - 5), e->d_name);
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* The body's _id as the text a URL would carry (a string as is, an integer in decimal). */
static const char *id_text(const e2e_resp_t *r)
{
    const json_t *id = json_object_get(r->json, "_id");
    if (json_is_string(id))
        return F("%s", json_string_value(id));
    if (json_is_integer(id))
        return F("%" JSON_INTEGER_FORMAT, json_integer_value(id));
    return NULL;
}

static void copy_header(const e2e_resp_t *r, const char *name, char *out, size_t size)
{
    const char *v = e2e_header(r, name);
    snprintf(out, size, "%s", v ? v : "");
}

/* POST answers 201 with _id and a Location that GET answers 200 (the same document), that PATCH
 * and DELETE reach, and that is gone afterwards. */
static void check_addressable(const char *model, const char *body, bool if_match)
{
    e2e_resp_t r = {0};
    char location[512], etag[128], id[256];
    e2e_post(C, &r, F("/api/%s", model), Q(body));
    EXPECT_STATUS(r, 201);
    copy_header(&r, "Location", location, sizeof location);
    copy_header(&r, "ETag", etag, sizeof etag);
    const char *text = id_text(&r);
    snprintf(id, sizeof id, "%s", text ? text : "");
    CHECK_MSG(text != NULL, "%s: POST answered no _id: %s", model, r.body);
    CHECK_MSG(strncmp(location, F("/api/%s/", model), strlen(model) + 6) == 0 &&
                  strlen(location) > strlen(model) + 6,
              "%s: Location '%s'", model, location);
    if (text == NULL || location[0] == '\0') {
        e2e_resp_free(&r);
        return;
    }
    json_t *created = json_incref(r.json);
    e2e_get(C, &r, location);
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "ETag", etag);
    CHECK_MSG(json_equal(r.json, created), "%s: GET %s differs from the POST's answer: %s", model,
              location, r.body);
    json_decref(created);
    e2e_patch(C, &r, location, "{}", if_match ? F("If-Match: %s", etag) : NULL);
    EXPECT_STATUS(r, 200);
    copy_header(&r, "ETag", etag, sizeof etag);
    CHECK_MSG(r.status != 200 || strcmp(id_text(&r), id) == 0, "%s: PATCH answered _id %s", model,
              id_text(&r));
    e2e_delete(C, &r, location, if_match ? F("If-Match: %s", etag) : NULL);
    EXPECT_STATUS(r, 204);
    e2e_get(C, &r, location);
    EXPECT_STATUS(r, 404);
    e2e_resp_free(&r);
}

static void test_every_model_addressable(void)
{
    char names[64][64];
    size_t n = served_models(names, 64);
    CHECK_MSG(n >= sizeof samples / sizeof samples[0], "only %zu models served", n);
    for (size_t i = 0; i < n; i++) {
        bool if_match = false;
        const char *body = sample_for(names[i], &if_match);
        CHECK_MSG(body != NULL, "model '%s' has no sample document in test_ids.c", names[i]);
        if (body != NULL)
            check_addressable(names[i], body, if_match);
    }
}

/* "_id": {"type": "string", "readOnly": true}: generated, an ObjectId in the database. */
static void test_read_only_string_id(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/tickets", Q("{'subject':'s'}"));
    EXPECT_STATUS(r, 201);
    const char *id = e2e_str(&r, "_id");
    char hex[32] = "";
    snprintf(hex, sizeof hex, "%s", id ? id : "");
    CHECK_MSG(strlen(hex) == 24 && strspn(hex, "0123456789abcdef") == 24, "_id '%s'", hex);
    EXPECT_HEADER(r, "Location", F("/api/tickets/%s", hex));
    json_t *doc = e2e_mongo_find(DBURI, DBNAME, "tickets", F("{\"_id\": {\"$oid\": \"%s\"}}", hex));
    CHECK_MSG(doc != NULL, "ticket %s is not stored under an ObjectId", hex);
    json_decref(doc);

    e2e_get(C, &r, "/api/tickets");
    EXPECT_STATUS(r, 200);
    const char *listed = json_string_value(json_object_get(json_array_get(r.json, 0), "_id"));
    CHECK_MSG(listed && strcmp(listed, hex) == 0, "list shows %s", r.body);
    e2e_put(C, &r, F("/api/tickets/%s", hex), Q("{'subject':'replaced'}"), NULL);
    EXPECT_STATUS(r, 200);
    CHECK_STR(e2e_str(&r, "_id"), hex);
    e2e_patch(C, &r, F("/api/tickets/%s", hex), Q("{'open':false}"), NULL);
    EXPECT_STATUS(r, 200);
    e2e_post(C, &r, "/api/tickets", Q("{'_id':'mine','subject':'s'}"));
    EXPECT_PROBLEM(r, 422); /* readOnly: the client cannot choose it */
    e2e_delete(C, &r, F("/api/tickets/%s", hex), NULL);
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

/* A client-supplied string _id left out: odmd makes one (a string) when the schema accepts an
 * ObjectId's hex, and answers 422 when it does not. */
static void test_missing_client_ids(void)
{
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/slugs", Q("{'target':'none given'}"));
    EXPECT_STATUS(r, 201);
    const char *id = e2e_str(&r, "_id");
    char made[32] = "";
    snprintf(made, sizeof made, "%s", id ? id : "");
    CHECK_MSG(strlen(made) == 24, "made _id '%s'", made);
    json_t *doc = e2e_mongo_find(DBURI, DBNAME, "slugs", F("{\"_id\": \"%s\"}", made));
    CHECK_MSG(doc != NULL, "slug %s is not stored under a string _id", made);
    json_decref(doc);
    e2e_get(C, &r, F("/api/slugs/%s", made));
    EXPECT_STATUS(r, 200);

    int64_t before = e2e_mongo_count(DBURI, DBNAME, "codes");
    e2e_post(C, &r, "/api/codes", Q("{'label':'no id'}"));
    EXPECT_PROBLEM(r, 422);
    const char *where = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "errors"), 0), "keywordLocation"));
    CHECK_STR(where ? where : "(none)", "/properties/_id");
    e2e_post(C, &r, "/api/widgets", Q("{'label':'no id'}"));
    EXPECT_PROBLEM(r, 422);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "codes"), before);
    e2e_resp_free(&r);
}

/* Ids with characters a path gives meaning to, "." and "..": the Location leads back to the
 * document (libcurl follows it as given; it collapses dot-segments, so they must be encoded). */
static const char *const odd_ids[] = {
    "a/b", ".",  "..",  "a b", "50%",   "?q=1",  "#top", "\xc3\xa9t\xc3\xa9",
    "a+b", "~x", "%2F", "./a", "../..", "a;b=c", "...",
};

static void test_odd_ids_through_location(void)
{
    e2e_resp_t r = {0};
    for (size_t i = 0; i < sizeof odd_ids / sizeof odd_ids[0]; i++) {
        json_t *body = json_pack("{s:s, s:s}", "_id", odd_ids[i], "target", "curl");
        char *text = json_dumps(body, 0);
        json_decref(body);
        e2e_post(C, &r, "/api/slugs", text);
        free(text);
        EXPECT_STATUS(r, 201);
        char location[512];
        copy_header(&r, "Location", location, sizeof location);
        e2e_get(C, &r, location);
        CHECK_MSG(r.status == 200 && e2e_str(&r, "_id") &&
                      strcmp(e2e_str(&r, "_id"), odd_ids[i]) == 0,
                  "id '%s': GET %s answered %ld %s", odd_ids[i], location, r.status, r.body);
        e2e_delete(C, &r, location, NULL);
        EXPECT_STATUS(r, 204);
    }
    /* escapes are decoded whatever their case; %00 and broken escapes are a bad id */
    e2e_put(C, &r, "/api/slugs/%2e", Q("{'target':'dot'}"), NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_post(C, &r, "/api/slugs", Q("{'_id':'.','target':'dot'}"));
    e2e_get(C, &r, "/api/slugs/%2e");
    EXPECT_STATUS(r, 200);
    e2e_get(C, &r, "/api/slugs/%2E%2e");
    EXPECT_PROBLEM(r, 404);
    e2e_delete(C, &r, "/api/slugs/%2E", NULL);
    EXPECT_STATUS(r, 204);
    /* an id with NUL could be stored but named by no URL (%00 is refused): refused too */
    e2e_post(C, &r, "/api/slugs", "{\"_id\": \"a\\u0000b\", \"target\": \"nul\"}");
    EXPECT_PROBLEM(r, 422);
    const char *bad[] = {"/api/slugs/a%00b", "/api/slugs/%zz", "/api/slugs/a%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e2e_get(C, &r, bad[i]);
        EXPECT_PROBLEM(r, 400);
    }
    e2e_resp_free(&r);
}

/* The same through Python's urllib: POST, then urljoin the Location and GET it. */
static const char python_client[] =
    "import json, sys, urllib.error, urllib.parse, urllib.request\n"
    "base, ids = sys.argv[1], json.load(open(sys.argv[2]))\n"
    "bad = 0\n"
    "for i in ids:\n"
    "    url = base + '/api/slugs'\n"
    "    req = urllib.request.Request(url, data=json.dumps({'_id': i, 'target': 'py'}).encode(),\n"
    "                                 headers={'Content-Type': 'application/json'})\n"
    "    with urllib.request.urlopen(req, timeout=10) as r:\n"
    "        status, loc = r.status, r.headers['Location']\n"
    "    follow = urllib.parse.urljoin(url, loc)\n"
    "    try:\n"
    "        with urllib.request.urlopen(follow, timeout=10) as g:\n"
    "            got, code = json.load(g), g.status\n"
    "    except urllib.error.HTTPError as e:\n"
    "        got, code = None, e.code\n"
    "    if status != 201 or code != 200 or got is None or got.get('_id') != i:\n"
    "        bad += 1\n"
    "        print('FAIL', repr(i), status, loc, follow, code)\n"
    "    else:\n"
    "        print('ok', repr(i), loc)\n"
    "sys.exit(1 if bad else 0)\n";

static void test_odd_ids_through_urllib(void)
{
    const char *dir = e2e_temp_dir("urllib");
    json_t *ids = json_array();
    for (size_t i = 0; i < sizeof odd_ids / sizeof odd_ids[0]; i++)
        json_array_append_new(ids, json_string(odd_ids[i]));
    char *text = json_dumps(ids, 0);
    json_decref(ids);
    bool written =
        e2e_write_file(dir, "client.py", python_client) && e2e_write_file(dir, "ids.json", text);
    free(text);
    CHECK_MSG(written, "cannot write the urllib client into %s", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 120 python3 client.py '%s' ids.json >out.txt 2>&1", dir,
             env.odmd.url);
    int status = system(cmd);
    char *out = e2e_read_file(F("%s/out.txt", dir));
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "urllib client: status %d: %s", status,
              out ? out : "(no output)");
    free(out);
}

/* RFC 9110 8.8.1: a strong ETag names one content of a resource over its whole life. */
static void check_new_life(const char *model, const char *path, const char *body)
{
    e2e_resp_t r = {0};
    char old_etag[128], new_etag[128];
    e2e_post(C, &r, F("/api/%s", model), Q(body));
    EXPECT_STATUS(r, 201);
    copy_header(&r, "ETag", old_etag, sizeof old_etag);
    e2e_delete(C, &r, path, NULL);
    EXPECT_STATUS(r, 204);
    e2e_post(C, &r, F("/api/%s", model), Q(body));
    EXPECT_STATUS(r, 201);
    copy_header(&r, "ETag", new_etag, sizeof new_etag);
    CHECK_MSG(old_etag[0] == '"' && strcmp(old_etag, new_etag) != 0,
              "%s re-created with the ETag of its first life %s", path, old_etag);

    const char *inm[] = {F("If-None-Match: %s", old_etag), NULL};
    e2e_request(C, &r, "GET", path, inm, NULL, 0);
    EXPECT_STATUS(r, 200);
    const char *put[] = {"Content-Type: application/json", F("If-Match: %s", old_etag), NULL};
    e2e_request(C, &r, "PUT", path, put, Q(body), (size_t)-1);
    EXPECT_PROBLEM(r, 412);
    e2e_patch(C, &r, path, "{}", F("If-Match: %s", old_etag));
    EXPECT_PROBLEM(r, 412);
    e2e_delete(C, &r, path, F("If-Match: %s", old_etag));
    EXPECT_PROBLEM(r, 412);
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    EXPECT_HEADER(r, "ETag", new_etag);
    e2e_delete(C, &r, path, F("If-Match: %s", new_etag));
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

static void test_etags_over_lives(void)
{
    check_new_life("slugs", "/api/slugs/again", "{'_id':'again','target':'t'}");
    check_new_life("widgets", "/api/widgets/4242", "{'_id':4242,'label':'w'}");
}

/* A model whose _id can be neither supplied nor generated stops odmd check and odmd serve
 * with the file, the pointer and the reason (exit 2). */
static void test_refused_at_load(void)
{
    static const struct {
        const char *file, *model, *reason;
    } bad[] = {
        {"ints.json", "{'properties':{'_id':{'type':'integer','readOnly':true}}}",
         "ints.json: /properties/_id: a read-only _id is generated"},
        {"uuids.json", "{'properties':{'_id':{'type':'string','format':'uuid','readOnly':true}}}",
         "uuids.json: /properties/_id: a read-only _id is generated"},
        {"anys.json", "{'properties':{'_id':{}}}",
         "anys.json: /properties/_id: a client-supplied _id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *dir = e2e_temp_dir("refused");
        CHECK(e2e_write_file(dir, bad[i].file, Q(bad[i].model)));
        char *out = NULL;
        const char *check[] = {"check", dir, NULL};
        int status = e2e_run_odmd(check, NULL, NULL, 20000, &out);
        CHECK_MSG(status == 2 && out && strstr(out, bad[i].reason), "odmd check %s: exit %d: %s",
                  bad[i].file, status, out ? out : "");
        free(out);
        out = NULL;
        const char *serve[] = {"--schemas", dir,        "--mongo-uri",
                               DBURI,       "--listen", F("127.0.0.1:%d", e2e_free_port()),
                               NULL};
        status = e2e_run_odmd(serve, NULL, NULL, 20000, &out);
        CHECK_MSG(status == 2 && out && strstr(out, bad[i].reason), "odmd serve %s: exit %d: %s",
                  bad[i].file, status, out ? out : "");
        free(out);
    }
}

int main(void)
{
    e2e_init("ids");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_ids"));
    }
    test_every_model_addressable();
    test_read_only_string_id();
    test_missing_client_ids();
    test_odd_ids_through_location();
    test_odd_ids_through_urllib();
    test_etags_over_lives();
    test_refused_at_load();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_ids"));
}
