/* End-to-end: GET /openapi.json and `odmd openapi`. The document is OpenAPI 3.1, names every
 * model and every route and method odmd serves (the router's table), answers without the
 * database, and is what `odmd openapi` prints for the same models and options; with --api-key
 * it describes the bearer scheme and the 401 on the routes that check it. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)
#define KEY "openapi-test-key-0123456789"

/* The models of the e2e schema folder (schemas/ and tests/e2e/schemas/). */
static const char *const models[] = {"codes", "counters", "journals", "locks",  "members",
                                     "notes", "orders",   "products", "slugs",  "stamps",
                                     "teams", "tickets",  "users",    "widgets"};

/* Every route and its methods, as odmd serves them ("%s": a model). */
static const struct {
    const char *path;
    const char *methods[7];
} routes[] = {
    {"/healthz", {"get", "head", "options"}},
    {"/readyz", {"get", "head", "options"}},
    {"/openapi.json", {"get", "head", "options"}},
    {"/api/%s", {"get", "head", "post", "patch", "delete", "options"}},
    {"/api/%s/{id}", {"get", "head", "put", "patch", "delete", "options"}},
    {"/api/%s/_distinct/{field}", {"get", "head", "options"}},
};

static json_t *operation(const json_t *doc, const char *path, const char *method)
{
    return json_object_get(json_object_get(json_object_get(doc, "paths"), path), method);
}

static bool has_status(const json_t *op, const char *status)
{
    return json_object_get(json_object_get(op, "responses"), status) != NULL;
}

/* Every route, method and model is there, each operation with responses, an operationId of
 * its own and the parameters of its path. */
static void check_coverage(const json_t *doc)
{
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *ids = json_object();
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        CHECK_MSG(json_is_object(json_object_get(schemas, models[m])), "schema of %s", models[m]);
        for (size_t r = 0; r < sizeof routes / sizeof *routes; r++) {
            bool per_model = strstr(routes[r].path, "%s") != NULL;
            if (!per_model && m > 0)
                continue; /* the service's routes, once */
            const char *path = per_model ? F(routes[r].path, models[m]) : routes[r].path;
            json_t *item = json_object_get(json_object_get(doc, "paths"), path);
            CHECK_MSG(json_is_object(item), "path %s", path);
            size_t n = 0;
            for (const char *const *meth = routes[r].methods; *meth; meth++, n++) {
                json_t *op = json_object_get(item, *meth);
                CHECK_MSG(json_is_object(op), "%s %s", *meth, path);
                const char *id = json_string_value(json_object_get(op, "operationId"));
                CHECK_MSG(id != NULL && json_object_get(ids, id) == NULL,
                          "%s %s: a unique operationId", *meth, path);
                if (id != NULL)
                    json_object_set_new(ids, id, json_true());
                CHECK_MSG(json_object_size(json_object_get(op, "responses")) > 0,
                          "%s %s: responses", *meth, path);
                if (strchr(path, '{') != NULL)
                    CHECK_MSG(json_array_size(json_object_get(op, "parameters")) > 0,
                              "%s %s: its path parameter", *meth, path);
            }
            CHECK_MSG(json_object_size(item) == n, "%s: only the methods odmd serves", path);
        }
        json_t *restore = operation(doc, F("/api/%s/{id}/restore", models[m]), "post");
        bool soft = strcmp(models[m], "members") == 0 || strcmp(models[m], "diaries") == 0;
        CHECK_MSG((restore != NULL) == soft, "restore only on x-softDelete models (%s)", models[m]);
    }
    json_decref(ids);
}

/* What some routes say in particular: links, headers, statuses that depend on the model. */
static void check_details(const json_t *doc)
{
    json_t *created =
        json_object_get(json_object_get(operation(doc, "/api/users", "post"), "responses"), "201");
    json_t *links = json_object_get(created, "links");
    const char *target[] = {"get_users_document", "put_users_document", "patch_users_document",
                            "delete_users_document"};
    size_t found = 0;
    const char *name;
    json_t *link;
    json_object_foreach(links, name, link)
    {
        for (size_t i = 0; i < 4; i++)
            found +=
                strcmp(json_string_value(json_object_get(link, "operationId")), target[i]) == 0;
        CHECK_STR(json_string_value(json_object_get(json_object_get(link, "parameters"), "id")),
                  "$response.body#/_id");
    }
    CHECK_MSG(found == 4, "201 links to the four item operations (%zu)", found);
    CHECK(json_object_get(json_object_get(created, "headers"), "Location") != NULL);
    CHECK(json_object_get(json_object_get(created, "headers"), "ETag") != NULL);
    json_t *list = operation(doc, "/api/users", "get");
    json_t *page = json_object_get(json_object_get(list, "responses"), "200");
    CHECK(json_object_get(json_object_get(page, "headers"), "X-Total-Count") != NULL);
    CHECK(json_object_get(json_object_get(page, "headers"), "Link") != NULL);
    CHECK(json_object_get(json_object_get(page, "content"), "text/csv") != NULL);
    /* PUT takes the id from the path: its body need not hold the _id a model requires */
    json_t *put_body = json_object_get(
        json_object_get(json_object_get(json_object_get(operation(doc, "/api/widgets/{id}", "put"),
                                                        "requestBody"),
                                        "content"),
                        "application/json"),
        "schema");
    bool id_required = false;
    size_t k;
    json_t *req_name;
    json_array_foreach(json_object_get(put_body, "required"), k, req_name) id_required =
        id_required || strcmp(json_string_value(req_name), "_id") == 0;
    CHECK_MSG(json_is_object(put_body) && !id_required && json_object_get(put_body, "$ref") == NULL,
              "PUT /api/widgets/{id} requires no _id in its body");
    CHECK(json_is_object(json_object_get(json_object_get(put_body, "properties"), "_id")));
    json_t *widgets =
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "widgets");
    CHECK_MSG(json_array_size(json_object_get(widgets, "required")) == 2,
              "the model itself still requires _id and label");
    CHECK(has_status(operation(doc, "/api/locks/{id}", "put"), "428"));
    CHECK(!has_status(operation(doc, "/api/users/{id}", "put"), "428"));
    CHECK(has_status(operation(doc, "/api/users/{id}", "get"), "304"));
    CHECK(!has_status(operation(doc, "/api/users", "get"), "401")); /* no --api-key */
    CHECK(json_object_get(json_object_get(doc, "components"), "securitySchemes") == NULL);
    /* the distinct field: declared ones, never a writeOnly one */
    json_t *field = json_array_get(
        json_object_get(operation(doc, "/api/users/_distinct/{field}", "get"), "parameters"), 0);
    json_t *names = json_object_get(json_object_get(field, "schema"), "enum");
    bool email = false, password = false;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
    {
        email = email || strcmp(json_string_value(v), "email") == 0;
        password = password || strcmp(json_string_value(v), "password") == 0;
    }
    CHECK_MSG(email && !password, "distinct fields: email, not password");
    /* the model as written: its x- keywords and writeOnly kept */
    json_t *users =
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "users");
    json_t *props = json_object_get(users, "properties");
    CHECK(json_is_true(json_object_get(json_object_get(props, "password"), "writeOnly")));
    CHECK(json_is_true(json_object_get(json_object_get(props, "email"), "x-unique")));
}

/* The document `odmd openapi` prints for the e2e models with `extra` arguments (NULL-terminated,
 * may be NULL). */
static json_t *printed(const char *const *extra)
{
    const char *argv[16] = {"openapi", "--schemas", e2e_schemas_with_extras()};
    size_t n = 3;
    for (; extra != NULL && *extra != NULL && n < 15; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 30000, &out);
    CHECK_INT(status, 0);
    json_t *doc = out ? json_loads(out, 0, NULL) : NULL;
    CHECK_MSG(doc != NULL, "odmd openapi printed JSON");
    free(out);
    return doc;
}

static void test_served(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    CHECK(e2e_header(&r, "Content-Type") &&
          strncmp(e2e_header(&r, "Content-Type"), "application/json", 16) == 0);
    CHECK_MSG(r.json != NULL, "GET /openapi.json is JSON");
    check_coverage(r.json);
    check_details(r.json);
    json_t *cli = printed(NULL);
    CHECK_MSG(json_equal(cli, r.json), "odmd openapi prints the document GET /openapi.json serves");
    json_decref(cli);
    /* /metrics is in the document when this listener serves it */
    bool metrics = operation(r.json, "/metrics", "get") != NULL;
    e2e_resp_t m = {0};
    e2e_get(C, &m, "/metrics");
    CHECK_MSG(metrics == (m.status == 200), "/metrics described (%d) as served (%ld)", metrics,
              m.status);
    e2e_resp_free(&m);
    e2e_head(C, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    CHECK_INT(r.body_len, 0);
    e2e_request(C, &r, "OPTIONS", "/openapi.json", NULL, NULL, 0);
    EXPECT_STATUS(r, 204);
    EXPECT_HEADER(r, "Allow", "GET, HEAD, OPTIONS");
    e2e_request(C, &r, "POST", "/openapi.json", NULL, NULL, 0);
    EXPECT_PROBLEM(r, 405);
    e2e_resp_free(&r);
}

/* Served without the database: it answers while the database is paused. */
static void test_without_database(void)
{
    e2e_resp_t r = {0};
    CHECK(e2e_db_pause(env.db));
    e2e_get(C, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    CHECK(e2e_db_resume(env.db));
    e2e_resp_free(&r);
}

/* With --api-key and --rate-limit: the bearer scheme, 401 on the routes that check callers (this
 * one too), 403 on the model routes, 429 on all but the probes, none of them on /healthz; `odmd
 * openapi` with the same options prints the same document. */
static void test_with_key(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--api-key", KEY, "--rate-limit", "1000/s", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd with --api-key did not start");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/openapi.json");
    EXPECT_PROBLEM(r, 401);
    c.api_key = KEY;
    e2e_get(&c, &r, "/openapi.json");
    EXPECT_STATUS(r, 200);
    json_t *doc = r.json;
    json_t *bearer = json_object_get(
        json_object_get(json_object_get(doc, "components"), "securitySchemes"), "bearer");
    CHECK_STR(json_string_value(json_object_get(bearer, "scheme")), "bearer");
    json_t *list = operation(doc, "/api/users", "get");
    CHECK(has_status(list, "401"));
    CHECK(has_status(list, "403")); /* scopes */
    CHECK(json_object_get(json_array_get(json_object_get(list, "security"), 0), "bearer"));
    CHECK(has_status(operation(doc, "/openapi.json", "get"), "401"));
    json_t *health = operation(doc, "/healthz", "get");
    CHECK(!has_status(health, "401"));
    CHECK(json_array_size(json_object_get(health, "security")) == 0);
    CHECK(has_status(list, "429")); /* --rate-limit */
    CHECK(!has_status(health, "429"));
    json_t *cli = printed((const char *[]){"--api-key", KEY, "--rate-limit", "1000/s", NULL});
    CHECK_MSG(json_equal(cli, doc), "odmd openapi --api-key prints the served document");
    json_decref(cli);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 10000), 0);
}

/* The command's own failures: a bad folder, an unknown option. */
static void test_cli_errors(void)
{
    char *out = NULL;
    const char *bad_dir[] = {"openapi", "--schemas", "/nonexistent-odmd-folder", NULL};
    CHECK_INT(e2e_run_odmd(bad_dir, NULL, NULL, 30000, &out), 2);
    free(out);
    out = NULL;
    const char *bad_opt[] = {"openapi", "--no-such-option", NULL};
    CHECK_INT(e2e_run_odmd(bad_opt, NULL, NULL, 30000, &out), 2);
    CHECK(out != NULL && strstr(out, "usage: odmd openapi") != NULL);
    free(out);
}

int main(void)
{
    e2e_init("openapi");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_openapi"));
    }
    test_served();
    test_without_database();
    test_with_key();
    test_cli_errors();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_openapi"));
}
