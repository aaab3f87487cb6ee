/* End-to-end: the answers to bad requests: unknown routes (404), wrong methods (405 + Allow),
 * media types (415), malformed bodies (400: syntax, duplicate keys, depth, $-keys, dotted keys),
 * schema violations (422 with every violation located), all as problem+json. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

static void test_unknown_routes(void)
{
    const char *paths[] = {"/",
                           "/api",
                           "/api/",
                           "/api/nope",
                           "/api/nope/0123456789abcdef01234567",
                           "/api/users/0123456789abcdef01234567/extra",
                           "/apix",
                           "/healthzz",
                           "/api/Users",
                           "/api/users/0123456789abcdef01234567/",
                           "/api//users",
                           "/favicon.ico"};
    e2e_resp_t r = {0};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        e2e_get(C, &r, paths[i]);
        EXPECT_PROBLEM(r, 404);
    }
    e2e_post(C, &r, "/api/nope", "{}");
    EXPECT_PROBLEM(r, 404);
    e2e_delete(C, &r, "/api/nope/1", NULL);
    EXPECT_PROBLEM(r, 404);
    e2e_resp_free(&r);
}

/* True when the comma-separated Allow header lists `method`. */
static bool allows(const e2e_resp_t *r, const char *method)
{
    const char *allow = e2e_header(r, "Allow");
    if (!allow)
        return false;
    size_t n = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += n) {
        bool start = p == allow || p[-1] == ' ' || p[-1] == ',';
        bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

static void test_methods(void)
{
    e2e_resp_t r = {0};
    const char *headers[] = {"Content-Type: application/json", NULL};
    e2e_request(C, &r, "PUT", "/api/users", headers, "{}", (size_t)-1);
    EXPECT_PROBLEM(r, 405);
    CHECK_MSG(allows(&r, "GET") && allows(&r, "POST") && allows(&r, "PATCH") &&
                  allows(&r, "DELETE") && !allows(&r, "PUT"),
              "PUT /api/users: Allow '%s'",
              e2e_header(&r, "Allow") ? e2e_header(&r, "Allow") : "(none)");
    e2e_post(C, &r, "/api/users/0123456789abcdef01234567", "{}");
    EXPECT_PROBLEM(r, 405);
    CHECK_MSG(allows(&r, "GET") && allows(&r, "PUT") && allows(&r, "PATCH") &&
                  allows(&r, "DELETE") && !allows(&r, "POST"),
              "POST /api/users/ID: Allow '%s'",
              e2e_header(&r, "Allow") ? e2e_header(&r, "Allow") : "(none)");
    e2e_post(C, &r, "/healthz", "{}");
    EXPECT_PROBLEM(r, 405);
    CHECK_MSG(allows(&r, "GET"), "POST /healthz: Allow '%s'",
              e2e_header(&r, "Allow") ? e2e_header(&r, "Allow") : "(none)");
    e2e_delete(C, &r, "/readyz", NULL);
    EXPECT_PROBLEM(r, 405);
    e2e_resp_free(&r);
}

/* OPTIONS on a route: 204 with Allow, and Accept-Patch where PATCH is allowed (RFC 9110 9.3.7,
 * RFC 5789 3.1). */
static void test_options(void)
{
    e2e_resp_t r = {0};
    static const struct {
        const char *path, *allow;
        bool patch;
    } cases[] = {
        {"/api/users/0123456789abcdef01234567", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS", true},
        {"/api/users", "GET, HEAD, POST, PATCH, DELETE, OPTIONS", true},
        {"/healthz", "GET, HEAD, OPTIONS", false},
        {"/readyz", "GET, HEAD, OPTIONS", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e2e_request(C, &r, "OPTIONS", cases[i].path, NULL, NULL, 0);
        EXPECT_STATUS(r, 204);
        CHECK_INT(r.body_len, 0);
        EXPECT_HEADER(r, "Allow", cases[i].allow);
        if (cases[i].patch)
            EXPECT_HEADER(r, "Accept-Patch", "application/merge-patch+json, application/json");
        else
            CHECK_MSG(e2e_header(&r, "Accept-Patch") == NULL, "OPTIONS %s: Accept-Patch %s",
                      cases[i].path, e2e_header(&r, "Accept-Patch"));
    }
    e2e_request(C, &r, "OPTIONS", "/api/nope", NULL, NULL, 0);
    EXPECT_PROBLEM(r, 404);
    e2e_resp_free(&r);
}

static void test_media_types(void)
{
    e2e_resp_t r = {0};
    const char *body = Q("{'email':'mt@example.com','name':'Media'}");
    char body_copy[128];
    snprintf(body_copy, sizeof body_copy, "%s", body);
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    const char *refused[] = {NULL,
                             "text/plain",
                             "application/xml",
                             "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x",
                             "application/jsonx",
                             "json"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", refused[i] ? refused[i] : "");
        const char *headers[] = {refused[i] ? ct : NULL, NULL};
        e2e_request(C, &r, "POST", "/api/users", headers, body_copy, (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, 415), "POST with Content-Type %s",
                  refused[i] ? refused[i] : "(none)");
        e2e_request(C, &r, "PUT", "/api/users/0123456789abcdef01234567", headers, body_copy,
                    (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, 415), "PUT with Content-Type %s",
                  refused[i] ? refused[i] : "(none)");
        e2e_request(C, &r, "PATCH", "/api/users/0123456789abcdef01234567", headers, "{}",
                    (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, 415), "PATCH with Content-Type %s",
                  refused[i] ? refused[i] : "(none)");
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);

    /* PATCH reads JSON merge patches only: a JSON Patch (RFC 6902) or any other +json is 415
     * with Accept-Patch (RFC 5789 2.2), and nothing is written */
    e2e_post(C, &r, "/api/users", Q("{'email':'patch-mt@example.com','name':'Media'}"));
    EXPECT_STATUS(r, 201);
    const char *path = F("/api/users/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    char doc_path[128];
    snprintf(doc_path, sizeof doc_path, "%s", path);
    const char *not_merge[] = {"application/json-patch+json", "application/vnd.odmd.user+json",
                               "application/problem+json"};
    for (size_t i = 0; i < sizeof not_merge / sizeof *not_merge; i++) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", not_merge[i]);
        const char *headers[] = {ct, NULL};
        const char *patch =
            i == 0 ? Q("[{'op':'replace','path':'/name','value':'X'}]") : Q("{'name':'X'}");
        e2e_request(C, &r, "PATCH", doc_path, headers, patch, (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, 415), "PATCH with Content-Type %s", not_merge[i]);
        EXPECT_HEADER(r, "Accept-Patch", "application/merge-patch+json, application/json");
    }
    e2e_get(C, &r, doc_path);
    CHECK_STR(e2e_str(&r, "name"), "Media");
    const char *merge[] = {"application/merge-patch+json", "application/json"};
    for (size_t i = 0; i < 2; i++) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", merge[i]);
        const char *headers[] = {ct, NULL};
        e2e_request(C, &r, "PATCH", doc_path, headers, Q("{'name':'Merged'}"), (size_t)-1);
        EXPECT_STATUS(r, 200);
    }

    const char *accepted[] = {"application/json", "application/json; charset=utf-8",
                              "application/json;charset=UTF-8", "Application/JSON",
                              "application/vnd.odmd.user+json"};
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", accepted[i]);
        const char *headers[] = {ct, NULL};
        e2e_request(C, &r, "POST", "/api/users", headers,
                    F("{\"email\":\"mt%zu@example.com\",\"name\":\"Media\"}", i), (size_t)-1);
        CHECK_MSG(r.status == 201, "POST with Content-Type %s: %ld %s", accepted[i], r.status,
                  r.body);
    }
    e2e_resp_free(&r);
}

/* The violation at `where`, or NULL. Borrowed. */
static json_t *violation_at(const e2e_resp_t *r, const char *where)
{
    json_t *errors = json_object_get(r->json, "errors"), *e;
    size_t i;
    json_array_foreach(errors, i, e)
    {
        const char *inst = json_string_value(json_object_get(e, "instanceLocation"));
        if (inst && strcmp(inst, where) == 0)
            return e;
    }
    fprintf(stderr, "  no violation at '%s' in %s\n", where, r->body);
    return NULL;
}

/* The keywordLocation of the violation at `where`, or "". Borrowed. */
static const char *keyword_at(const e2e_resp_t *r, const char *where)
{
    const char *k = json_string_value(json_object_get(violation_at(r, where), "keywordLocation"));
    return k ? k : "";
}

static void test_malformed_bodies(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");

    /* A syntax error: line and column in the detail. */
    e2e_post(C, &r, "/api/notes", "{\n  \"title\": \"x\",\n  \"n\": 1,\n  \"list\": [1, 2,, 3]\n}");
    EXPECT_PROBLEM(r, 400);
    const char *detail = e2e_str(&r, "detail");
    CHECK_MSG(detail && strstr(detail, "4") && strstr(detail, "line"), "detail without line 4: %s",
              detail ? detail : "(none)");

    const char *bad[] = {
        "",
        " ",
        "{",
        "}",
        "{\"title\": }",
        "{\"title\": \"x\"} trailing",
        "{'title':'x',}",
        "{\"title\": \"\\ud800\"}",
        "nul",
        "{\"title\":\"\xff\xfe\"}",
        /* duplicate keys, at the top and nested */
        "{'title':'a','title':'b'}",
        "{'meta':{'k':1,'k':2}}",
        /* $-keys and dotted keys at any depth */
        "{'$set':{'title':'x'}}",
        "{'meta':{'$where':'1'}}",
        "{'list':[{'$x':1}]}",
        "{'meta':{'deep':{'$gt':1}}}",
        "{'a.b':1}",
        "{'meta':{'a.b':1}}",
        "{'list':[[{'x.y':1}]]}",
        "{'$':1}",
        "{'.':1}",
        /* empty field names at any depth: no path names them (a 500 from the store before) */
        "{'':1}",
        "{'meta':{'':1}}",
        "{'list':[{'':null}]}",
        "[{'':null}]",
        /* numbers that cannot be stored exactly */
        "{'n':18446744073709551616}",
        "{'ratio':1e999}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *body = strchr(bad[i], '\'') ? Q(bad[i]) : bad[i];
        e2e_post(C, &r, "/api/notes", body);
        CHECK_MSG(e2e_is_problem(&r, 400), "POST body %s", body);
    }
    /* Nesting: 20 levels are fine; 100 (over the documented 64) and a few thousand are not.
     * Objects, not arrays: FerretDB does not store nested arrays. */
    size_t depths[] = {20, 100, 3000};
    for (size_t d = 0; d < 3; d++) {
        size_t depth = depths[d];
        char *deep = malloc(7 * depth + 32);
        size_t at = 0;
        memcpy(deep, "{\"meta\":", 8);
        at = 8;
        for (size_t i = 0; i < depth; i++) {
            memcpy(deep + at, "{\"a\":", 5);
            at += 5;
        }
        deep[at++] = '1';
        for (size_t i = 0; i <= depth; i++)
            deep[at++] = '}';
        deep[at] = '\0';
        e2e_post(C, &r, "/api/notes", deep);
        if (d == 0)
            CHECK_MSG(r.status == 201, "nesting %zu: %ld %s", depth, r.status, r.body);
        else
            CHECK_MSG(e2e_is_problem(&r, 400), "nesting %zu", depth);
        free(deep);
    }
    before++;

    /* The same refusals through PUT and PATCH, and nothing written. */
    e2e_post(C, &r, "/api/notes", Q("{'title':'keep'}"));
    EXPECT_STATUS(r, 201);
    char path[128];
    snprintf(path, sizeof path, "/api/notes/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    const char *etag = e2e_header(&r, "ETag");
    char etag_copy[128];
    snprintf(etag_copy, sizeof etag_copy, "%s", etag ? etag : "");
    const char *bad_writes[] = {"{'meta':{'$where':'1'}}", "{'list':[{'a.b':1}]}",
                                "{'title':'a','title':'b'}", "{'title':"};
    for (size_t i = 0; i < sizeof bad_writes / sizeof *bad_writes; i++) {
        e2e_put(C, &r, path, Q(bad_writes[i]), NULL);
        CHECK_MSG(e2e_is_problem(&r, 400), "PUT body %s", Q(bad_writes[i]));
        e2e_patch(C, &r, path, Q(bad_writes[i]), NULL);
        CHECK_MSG(e2e_is_problem(&r, 400), "PATCH body %s", Q(bad_writes[i]));
    }
    e2e_get(C, &r, path);
    EXPECT_HEADER(r, "ETag", etag_copy);
    CHECK_STR(e2e_str(&r, "title"), "keep");
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before + 1);

    /* A JSON value that is not an object is valid JSON but not a document: the model's type
     * refuses it (422) on PUT and on PATCH, where it replaces the document (RFC 7396 2). A POST
     * body is a document or an array of them (a bulk insert, whose items are judged one by
     * one): anything else is a 400 */
    const char *not_objects[] = {"[1,2]", "null", "1", "\"x\"", "true", " \"\" "};
    for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++) {
        const char *body = not_objects[i];
        e2e_post(C, &r, "/api/notes", body);
        if (i == 0) {
            EXPECT_STATUS(r, 200);
            json_t *item = json_array_get(r.json, 1);
            CHECK_MSG(json_array_size(r.json) == 2 &&
                          json_integer_value(json_object_get(item, "status")) == 422,
                      "POST body %s: %s", body, r.body);
        } else {
            CHECK_MSG(e2e_is_problem(&r, 400), "POST body %s", body);
            CHECK_STR(e2e_str(&r, "type"), "urn:odmd:problem:bad-request");
        }
        for (int m = 1; m < 3; m++) {
            if (m == 1)
                e2e_put(C, &r, path, body, NULL);
            else
                e2e_patch(C, &r, path, body, NULL);
            CHECK_MSG(e2e_is_problem(&r, 422), "%s body %s", r.method, body);
            CHECK_MSG(strcmp(keyword_at(&r, ""), "/type") == 0, "%s body %s: %s", r.method, body,
                      r.body);
        }
    }
    e2e_patch(C, &r, "/api/notes/0123456789abcdef01234567", "1", NULL);
    EXPECT_PROBLEM(r, 404); /* a missing document first */
    e2e_get(C, &r, path);
    EXPECT_HEADER(r, "ETag", etag_copy);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before + 1);
    e2e_resp_free(&r);
}

static void test_violations(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    e2e_post(C, &r, "/api/users",
             Q("{'email':'not-an-email','name':'','age':200,'role':'boss','tags':['a','a'],"
               "'address':{'zip':'1234'},'zzz':1}"));
    EXPECT_PROBLEM(r, 422);
    json_t *errors = json_object_get(r.json, "errors");
    CHECK_MSG(json_is_array(errors) && json_array_size(errors) >= 7, "errors: %s", r.body);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        CHECK_MSG(json_is_string(json_object_get(e, "instanceLocation")) &&
                      json_is_string(json_object_get(e, "keywordLocation")) &&
                      json_is_string(json_object_get(e, "error")),
                  "incomplete violation %zu in %s", i, r.body);
    }
    json_t *email = violation_at(&r, "/email");
    CHECK_STR(json_string_value(json_object_get(email, "keywordLocation")),
              "/properties/email/format");
    json_t *name = violation_at(&r, "/name");
    CHECK_STR(json_string_value(json_object_get(name, "keywordLocation")),
              "/properties/name/minLength");
    json_t *age = violation_at(&r, "/age");
    CHECK_STR(json_string_value(json_object_get(age, "keywordLocation")),
              "/properties/age/maximum");
    json_t *role = violation_at(&r, "/role");
    CHECK_STR(json_string_value(json_object_get(role, "keywordLocation")), "/properties/role/enum");
    json_t *tags = violation_at(&r, "/tags");
    CHECK_STR(json_string_value(json_object_get(tags, "keywordLocation")),
              "/properties/tags/uniqueItems");
    json_t *zip = violation_at(&r, "/address/zip");
    CHECK_STR(json_string_value(json_object_get(zip, "keywordLocation")),
              "/properties/address/properties/zip/pattern");
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);

    /* Through $ref: the keyword location follows the reference. */
    e2e_post(C, &r, "/api/orders",
             Q("{'userId':'0123456789abcdef01234567','items':[{'sku':'ok-lower','qty':1,'price':1}]"
               ",'total':1}"));
    EXPECT_PROBLEM(r, 422);
    json_t *sku = violation_at(&r, "/items/0/sku");
    const char *kw = json_string_value(json_object_get(sku, "keywordLocation"));
    CHECK_MSG(kw && strstr(kw, "pattern"), "sku keywordLocation %s", kw ? kw : "(none)");

    /* Capped at 100. */
    size_t cap = 64 * 100 + 200;
    char *many = malloc(cap);
    size_t at = (size_t)snprintf(
        many, cap, "{\"userId\":\"0123456789abcdef01234567\",\"total\":1,\"items\":[");
    for (int k = 0; k < 100; k++)
        at += (size_t)snprintf(many + at, cap - at, "%s{\"sku\":\"x\",\"qty\":0,\"price\":-1}",
                               k ? "," : "");
    snprintf(many + at, cap - at, "]}");
    e2e_post(C, &r, "/api/orders", many);
    EXPECT_PROBLEM(r, 422);
    CHECK_INT(json_array_size(json_object_get(r.json, "errors")), 100);
    free(many);
    e2e_resp_free(&r);
}

/* A 503 from a database that is down says what the client can do; the database's address and
 * the driver's words stay in the log, with the request id. */
static void test_database_down(void)
{
    int port = 0;
    const char *uri = e2e_dead_uri(&port);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = uri, .args = {"--request-timeout", "1500", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with its database down");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    char port_text[16], request_id[64] = "";
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *paths[] = {"/api/users", "/api/users/0123456789abcdef01234567", "/api/users"};
    for (size_t i = 0; i < 3; i++) {
        if (i < 2)
            e2e_get(&c, &r, paths[i]);
        else
            e2e_post(&c, &r, paths[i], Q("{'email':'down@example.com','name':'Down'}"));
        EXPECT_PROBLEM(r, 503);
        const char *detail = r.json ? json_string_value(json_object_get(r.json, "detail")) : NULL;
        CHECK_MSG(detail && strstr(detail, "retry later"), "%s %s: detail '%s'", r.method, paths[i],
                  detail ? detail : "-");
        CHECK_MSG(detail && !strstr(detail, "127.0.0.1") && !strstr(detail, port_text) &&
                      !strstr(detail, "server"),
                  "%s %s: the detail names the database: '%s'", r.method, paths[i],
                  detail ? detail : "-");
        if (e2e_header(&r, "X-Request-Id"))
            snprintf(request_id, sizeof request_id, "%s", e2e_header(&r, "X-Request-Id"));
    }
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    char *log = e2e_read_file(o.log_path);
    const char *line = log && request_id[0] ? strstr(log, request_id) : NULL;
    while (line && !(strstr(line, port_text) && strstr(line, port_text) < strchr(line, '\n')))
        line = strstr(line + 1, request_id);
    CHECK_MSG(line != NULL, "no log line names request %s and the database's port %s", request_id,
              port_text);
    free(log);
    e2e_client_release(&c);
    e2e_resp_free(&r);
}

/* The offset of the function `name` in the executable `bin` (nm's hexadecimal), into out. */
static bool symbol_offset(const char *bin, const char *name, char *out, size_t size)
{
    FILE *nm = popen(F("nm '%s'", bin), "r");
    if (nm == NULL)
        return false;
    char line[512], sym[256], kind;
    bool found = false;
    while (!found && fgets(line, sizeof line, nm) != NULL)
        found = sscanf(line, "%31s %c %255s", out, &kind, sym) == 3 && strcmp(sym, name) == 0 &&
                (kind == 't' || kind == 'T') && strlen(out) < size;
    pclose(nm);
    return found;
}

/* odmd with the test double that fails pthread_create for the start routine at `offset`; its
 * /readyz status after a second (a database that answers, indexes made in milliseconds). */
static long readyz_with_failed_thread(const char *offset, e2e_odmd_t *o)
{
    const char *asan = getenv("ASAN_OPTIONS");
    e2e_odmd_opts_t opts = {
        .mongo_uri = DBURI,
        .schemas = e2e_schemas_with_extras(),
        .env = {F("LD_PRELOAD=%s", E2E_FAIL_THREAD_LIB), F("E2E_FAIL_THREAD_AT=%s", offset),
                /* the double is preloaded ahead of an ASan runtime */
                F("ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : ""),
                NULL},
    };
    if (!e2e_odmd_start(o, &opts))
        return -1;
    e2e_sleep_ms(1000);
    e2e_client_t c;
    e2e_client_init(&c, o->url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/readyz");
    long status = r.status;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return status;
}

/* When the index thread cannot start, /readyz never answers ready, and the log says why. The
 * fault (pthread_create failing for that one thread) cannot be produced from outside without
 * failing odmd's other threads first, so a preloaded test double produces it (fail_thread.c). */
static void test_index_thread_fault(void)
{
    char offset[32];
    if (!symbol_offset(e2e_odmd_bin(), "index_thread", offset, sizeof offset)) {
        CHECK_MSG(false, "no index_thread symbol in %s", e2e_odmd_bin());
        return;
    }
    e2e_odmd_t o;
    CHECK_INT(readyz_with_failed_thread("1", &o), 200); /* the double alone changes nothing */
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    CHECK_INT(readyz_with_failed_thread(offset, &o), 503);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    char *log = e2e_read_file(o.log_path);
    CHECK_MSG(log && strstr(log, "index creation cannot start"), "log: %s", log ? log : "-");
    free(log);
}

int main(void)
{
    e2e_init("errors");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_errors"));
    }
    test_unknown_routes();
    test_methods();
    test_options();
    test_media_types();
    test_malformed_bodies();
    test_violations();
    test_database_down();
    test_index_thread_fault();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_errors"));
}
