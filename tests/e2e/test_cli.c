/* End-to-end: the odmd command line. --help/--version, bad options (exit 2), options from the
 * environment with the flag winning, `odmd check DIR`, refusing to start on bad models (exit 2,
 * nothing served), and `odmd health URL`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static e2e_db_t *db;

static int run(const char *const *argv, const char *const *envv, char **out)
{
    return e2e_run_odmd(argv, envv, NULL, 20000, out);
}

static void test_help_version_bad_options(void)
{
    char *out = NULL;
    const char *help[] = {"--help", NULL};
    CHECK_INT(run(help, NULL, &out), 0);
    CHECK_MSG(out && strstr(out, "--mongo-uri") && strstr(out, "--api-key") &&
                  strstr(out, "--request-timeout"),
              "--help output: %.500s", out ? out : "");
    free(out);
    const char *version[] = {"--version", NULL};
    CHECK_INT(run(version, NULL, &out), 0);
    CHECK_MSG(out && strstr(out, ODMD_VERSION), "--version output: %s", out ? out : "");
    free(out);

    static const char *const bad[][4] = {
        {"--bogus", NULL},
        {"--workers", "abc", NULL},
        {"--workers", NULL},
        {"--workers", "-3", NULL},
        {"--request-timeout", "soon", NULL},
        {"--max-body", "12abc", NULL},
        {"--listen", "127.0.0.1:notaport", NULL},
        {"--log-level", "loud", NULL},
        {"-z", NULL},
        {"frobnicate", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int status = run(bad[i], NULL, &out);
        CHECK_MSG(status == 2, "odmd %s %s: exit %d, want 2", bad[i][0], bad[i][1] ? bad[i][1] : "",
                  status);
        CHECK_MSG(out && *out, "odmd %s: no message", bad[i][0]);
        free(out);
    }
    const char *bad_env[] = {"ODMD_WORKERS=many", NULL};
    const char *none[] = {NULL};
    CHECK_INT(run(none, bad_env, NULL), 2);
}

/* One folder per broken model; the messages must locate the fault. */
typedef struct {
    const char *what;
    const char *file, *text;
    const char *expect[3]; /* substrings of the output */
} bad_models_t;

static const bad_models_t bad_models[] = {
    {"syntax error",
     "broken.json",
     "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"a\": {\"type\": \"string\",}\n  "
     "}\n}\n",
     {"broken.json:4:", NULL}},
    {"unknown x- keyword",
     "colours.json",
     "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"x-colour\": "
     "\"red\"}}}",
     {"colours.json", "/properties/name/x-colour", NULL}},
    {"misspelt root x- keyword",
     "things.json",
     "{\"type\": \"object\", \"x-colection\": \"t\"}",
     {"things.json", "/x-colection", NULL}},
    {"bad keyword value",
     "ages.json",
     "{\"type\": \"object\", \"properties\": {\"age\": {\"type\": \"integer\", \"minimum\": "
     "\"ten\"}}}",
     {"ages.json", "/properties/age/minimum", NULL}},
    {"unknown type",
     "kinds.json",
     "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"strng\"}}}",
     {"kinds.json", "/properties/a/type", NULL}},
    {"dangling $ref",
     "refs.json",
     "{\"type\": \"object\", \"properties\": {\"a\": {\"$ref\": \"#/$defs/missing\"}}}",
     {"refs.json", "/properties/a/$ref", NULL}},
    {"bad x-bson",
     "bsons.json",
     "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"x-bson\": "
     "\"uuid4\"}}}",
     {"bsons.json", "/properties/a/x-bson", NULL}},
    {"x-ref to an unknown model",
     "links.json",
     "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"x-bson\": "
     "\"objectId\", "
     "\"x-ref\": \"ghosts\"}}}",
     {"links.json", "/properties/a/x-ref", NULL}},
    {"bad pattern",
     "patterns.json",
     "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"string\", \"pattern\": "
     "\"([a-z\"}}}",
     {"patterns.json", "/properties/a/pattern", NULL}},
    {"empty file", "empty.json", "", {"empty.json", NULL}},
};

/* The folder holding bad_models[i] alone, made once. */
static const char *bad_dir(size_t i)
{
    static const char *dirs[sizeof bad_models / sizeof *bad_models];
    if (!dirs[i]) {
        dirs[i] = e2e_temp_dir("badmodels");
        if (!e2e_write_file(dirs[i], bad_models[i].file, bad_models[i].text))
            abort();
    }
    return dirs[i];
}

static void test_check(void)
{
    char *out = NULL;
    char schemas[600];
    snprintf(schemas, sizeof schemas, "%s/schemas", e2e_source_dir());
    const char *good[] = {"check", schemas, NULL};
    CHECK_MSG(run(good, NULL, &out) == 0, "odmd check %s: %s", schemas, out ? out : "");
    free(out);
    const char *extras[] = {"check", e2e_schemas_with_extras(), NULL};
    CHECK_MSG(run(extras, NULL, &out) == 0, "odmd check (test models): %s", out ? out : "");
    free(out);
    const char *dflt[] = {"check", NULL};
    int status = e2e_run_odmd(dflt, NULL, e2e_source_dir(), 20000, &out);
    CHECK_MSG(status == 0, "odmd check (./schemas from the repository root): %d %s", status,
              out ? out : "");
    free(out);
    const char *missing[] = {"check", "/nonexistent/odmd/schemas", NULL};
    CHECK_INT(run(missing, NULL, NULL), 2);

    for (size_t i = 0; i < sizeof bad_models / sizeof *bad_models; i++) {
        const char *argv[] = {"check", bad_dir(i), NULL};
        status = run(argv, NULL, &out);
        CHECK_MSG(status == 2, "odmd check on a %s: exit %d", bad_models[i].what, status);
        for (const char *const *e = bad_models[i].expect; *e; e++) {
            const char *at = out ? strstr(out, *e) : NULL;
            CHECK_MSG(at, "odmd check on a %s: '%s' not in: %s", bad_models[i].what, *e,
                      out ? out : "");
            size_t n = strlen(*e);
            if (at && n > 0 && (*e)[n - 1] == ':') /* FILE:LINE: is followed by the column */
                CHECK_MSG(at[n] >= '1' && at[n] <= '9', "no column after '%s' in: %s", *e, out);
        }
        free(out);
    }
    /* A bad file among good ones still fails the folder. */
    const char *mixed = e2e_temp_dir("mixed");
    char *users = e2e_read_file(F("%s/schemas/users.json", e2e_source_dir()));
    CHECK(users && e2e_write_file(mixed, "users.json", users));
    free(users);
    CHECK(e2e_write_file(mixed, "zz.json", "{\"type\": \"object\", \"x-unknown\": 1}"));
    const char *argv[] = {"check", mixed, NULL};
    CHECK_INT(run(argv, NULL, NULL), 2);
}

static void test_refuses_bad_models(void)
{
    for (size_t i = 0; i < sizeof bad_models / sizeof *bad_models; i += 3) {
        e2e_odmd_t o;
        e2e_odmd_opts_t opts = {
            .mongo_uri = e2e_db_uri(db), .schemas = bad_dir(i), .no_wait = true};
        CHECK(e2e_odmd_start(&o, &opts));
        int status = e2e_odmd_wait(&o, 15000);
        CHECK_MSG(status == 2, "odmd with a %s: exit %d, want 2", bad_models[i].what, status);
        if (status == -2)
            e2e_odmd_stop(&o, 2000);
        e2e_client_t c;
        e2e_client_init(&c, o.url);
        e2e_resp_t r = {0};
        e2e_get(&c, &r, "/healthz");
        CHECK_MSG(r.code == CURLE_COULDNT_CONNECT, "something answered on odmd's port: %ld",
                  r.status);
        e2e_resp_free(&r);
        e2e_client_release(&c);
        char *log = e2e_read_file(o.log_path);
        CHECK_MSG(log && strstr(log, bad_models[i].file), "the startup error does not name %s: %s",
                  bad_models[i].file, log ? log : "");
        free(log);
    }
}

static void test_health_command(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db)};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start");
        return;
    }
    const char *ok[] = {"health", F("%s/healthz", o.url), NULL};
    char *out = NULL;
    int status = run(ok, NULL, &out);
    CHECK_MSG(status == 0, "odmd health %s: exit %d: %s", ok[1], status, out ? out : "");
    free(out);
    /* ready once the models' indexes exist, which takes a moment after the start */
    const char *ready[] = {"health", F("%s/readyz", o.url), NULL};
    int ready_status = 1;
    for (int i = 0; i < 100 && ready_status != 0; i++) {
        ready_status = run(ready, NULL, NULL);
        if (ready_status != 0)
            e2e_sleep_ms(50);
    }
    CHECK_INT(ready_status, 0);
    const char *missing[] = {"health", F("%s/no-such-page", o.url), NULL};
    CHECK_MSG(run(missing, NULL, NULL) != 0, "odmd health on a 404 page exits 0");
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    const char *gone[] = {"health", F("%s/healthz", o.url), NULL};
    CHECK_MSG(run(gone, NULL, NULL) != 0, "odmd health on a stopped odmd exits 0");
    const char *garbage[] = {"health", "not a url", NULL};
    CHECK_MSG(run(garbage, NULL, NULL) != 0, "odmd health 'not a url' exits 0");

    /* A live odmd whose database is down: /healthz fine, /readyz not. */
    int port;
    e2e_odmd_opts_t down = {.mongo_uri = e2e_dead_uri(&port),
                            .args = {"--request-timeout", "1500", NULL}};
    if (!e2e_odmd_start(&o, &down)) {
        CHECK_MSG(false, "odmd did not start with its database down");
        return;
    }
    const char *live[] = {"health", F("%s/healthz", o.url), NULL};
    CHECK_INT(run(live, NULL, NULL), 0);
    const char *not_ready[] = {"health", F("%s/readyz", o.url), NULL};
    CHECK_MSG(run(not_ready, NULL, NULL) != 0, "odmd health on a 503 /readyz exits 0");
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

static void test_environment(void)
{
    e2e_resp_t r = {0};
    e2e_client_t c;

    /* ODMD_LISTEN alone; then the flag beats the variable. */
    int env_port = e2e_free_port();
    char listen_env[64];
    snprintf(listen_env, sizeof listen_env, "ODMD_LISTEN=127.0.0.1:%d", env_port);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .omit_listen = true,
                            .port = env_port,
                            .env = {listen_env, NULL}};
    CHECK_MSG(e2e_odmd_start(&o, &opts), "odmd did not listen where ODMD_LISTEN said");
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);

    int flag_port = e2e_free_port();
    e2e_odmd_opts_t both = {.mongo_uri = e2e_db_uri(db),
                            .port = flag_port,
                            .env = {listen_env, "ODMD_API_KEY=from-env", "ODMD_MAX_BODY=100", NULL},
                            .args = {"--api-key", "from-flag", NULL}};
    if (e2e_odmd_start(&o, &both)) {
        e2e_client_init(&c, F("http://127.0.0.1:%d", env_port));
        e2e_get(&c, &r, "/healthz");
        CHECK_MSG(r.code == CURLE_COULDNT_CONNECT, "odmd listened on ODMD_LISTEN despite --listen");
        e2e_client_release(&c);
        e2e_client_init(&c, o.url);
        c.api_key = "from-env";
        e2e_get(&c, &r, "/api/users");
        EXPECT_PROBLEM(r, 401);
        c.api_key = "from-flag";
        e2e_get(&c, &r, "/api/users");
        EXPECT_STATUS(r, 200);
        e2e_post(
            &c, &r, "/api/users",
            Q("{'email':'env@example.com','name':'A name long enough to pass one hundred bytes "
              "of body, which ODMD_MAX_BODY=100 does not allow'}"));
        EXPECT_PROBLEM(r, 413);
        e2e_client_release(&c);
        CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    } else {
        CHECK_MSG(false, "odmd did not start with both ODMD_LISTEN and --listen");
    }

    /* ODMD_MONGO_URI carries the database name when neither --db nor ODMD_DB is given; --db
     * beats ODMD_DB. */
    const char *uri_db = F("e2e_cli_uri_%d", (int)getpid());
    char uri_env[256], uri_db_copy[64];
    snprintf(uri_db_copy, sizeof uri_db_copy, "%s", uri_db);
    snprintf(uri_env, sizeof uri_env, "ODMD_MONGO_URI=mongodb://127.0.0.1:%d/%s", e2e_db_port(db),
             uri_db_copy);
    e2e_odmd_opts_t from_uri = {.omit_mongo_uri = true, .omit_db = true, .env = {uri_env, NULL}};
    if (e2e_odmd_start(&o, &from_uri)) {
        CHECK(e2e_wait_status(o.url, "/readyz", 200, 10000));
        e2e_client_init(&c, o.url);
        e2e_post(&c, &r, "/api/users", Q("{'email':'uri@example.com','name':'Uri'}"));
        EXPECT_STATUS(r, 201);
        CHECK_INT(e2e_mongo_count(e2e_db_uri(db), uri_db_copy, "users"), 1);
        e2e_client_release(&c);
        CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    } else {
        CHECK_MSG(false, "odmd did not start from ODMD_MONGO_URI");
    }
    char db_env[128];
    snprintf(db_env, sizeof db_env, "ODMD_DB=e2e_cli_envdb_%d", (int)getpid());
    e2e_odmd_opts_t db_flag = {.mongo_uri = e2e_db_uri(db), .env = {db_env, NULL}};
    if (e2e_odmd_start(&o, &db_flag)) {
        e2e_client_init(&c, o.url);
        e2e_post(&c, &r, "/api/users", Q("{'email':'flag@example.com','name':'Flag'}"));
        EXPECT_STATUS(r, 201);
        CHECK_INT(e2e_mongo_count(e2e_db_uri(db), o.db_name, "users"), 1);
        CHECK_INT(e2e_mongo_count(e2e_db_uri(db), db_env + strlen("ODMD_DB="), "users"), 0);
        e2e_client_release(&c);
        CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    }
    e2e_resp_free(&r);
}

/* The harness keeps the test's own ODMD_* variables out of odmd: ODMD_BIN cannot swap the
 * binary under test, and settings odmd reads (known ones, and any added later) do not leak. */
static void test_environment_not_inherited(void)
{
    setenv("ODMD_BIN", "/bin/false", 1);
    setenv("ODMD_QUEUE_MAX", "0", 1);    /* invalid: odmd would refuse to start */
    setenv("ODMD_API_KEY", "leaked", 1); /* would make /api answer 401 */
    setenv("ODMD_IDLE_TIMEOUT", "x", 1);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db)};
    bool started = e2e_odmd_start(&o, &opts);
    CHECK_MSG(started, "odmd did not start with ODMD_* set in the test's environment");
    if (started) {
        e2e_client_t c;
        e2e_resp_t r = {0};
        e2e_client_init(&c, o.url);
        e2e_get(&c, &r, "/api/users?limit=1");
        EXPECT_STATUS(r, 200);
        e2e_resp_free(&r);
        e2e_client_release(&c);
        CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    }
    char *out = NULL;
    const char *version[] = {"--version", NULL};
    CHECK_INT(e2e_run_odmd(version, NULL, NULL, 10000, &out), 0);
    CHECK_MSG(out && strstr(out, ODMD_VERSION), "--version with ODMD_BIN=/bin/false: %s",
              out ? out : "");
    free(out);
    unsetenv("ODMD_BIN");
    unsetenv("ODMD_QUEUE_MAX");
    unsetenv("ODMD_API_KEY");
    unsetenv("ODMD_IDLE_TIMEOUT");
}

int main(void)
{
    e2e_init("cli");
    test_help_version_bad_options();
    test_check();
    db = e2e_db_start();
    if (!db) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_cli"));
    }
    test_refuses_bad_models();
    test_health_command();
    test_environment();
    test_environment_not_inherited();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_cli"));
}
