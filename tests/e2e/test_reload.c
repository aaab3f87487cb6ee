/* End-to-end: SIGHUP reloads the model files while clients keep sending requests. A model
 * added answers and gets its unique index (readiness unaffected), a model changed takes effect
 * for new requests, a model removed answers 404, and a folder with a broken file changes
 * nothing, the log naming the file and the place. No request of the load fails across all of
 * it: every one is answered with the status it would get without a reload. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define LOAD_THREADS 4
#define RELOAD_WAIT_MS 10000
#define INDEX_WAIT_MS 20000

static e2e_env_t env;
static atomic_bool stop_load;
static atomic_int load_requests, load_failures;

static const char GADGET_V1[] =
    "{\"type\": \"object\", \"properties\": {\"serial\": {\"type\": \"string\", \"x-unique\": "
    "true}}}";
static const char GADGET_V2[] =
    "{\"type\": \"object\", \"required\": [\"maker\"], \"properties\": {\"serial\": {\"type\": "
    "\"string\", \"x-unique\": true}, \"maker\": {\"type\": \"string\"}}}";
/* A syntax error on line 2. */
static const char BROKEN[] = "{\"type\": \"object\",\n  \"properties\": }\n";

/* One load client: GETs of two lists (one expanded on workers) and POSTs of notes (models no reload
 * here touches), each answer counted as failed unless it is the usual one. */
static void *load(void *arg)
{
    (void)arg;
    e2e_client_t c;
    e2e_client_init(&c, env.odmd.url);
    e2e_resp_t r = {0};
    while (!atomic_load(&stop_load)) {
        bool ok = e2e_get(&c, &r, "/api/users?limit=5") && r.status == 200;
        ok = e2e_post(&c, &r, "/api/notes", "{\"title\": \"load\"}") && r.status == 201 && ok;
        ok = e2e_get(&c, &r, "/api/orders?limit=5&expand=userId") && r.status == 200 && ok;
        atomic_fetch_add(&load_requests, 3);
        if (!ok)
            atomic_fetch_add(&load_failures, 1);
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

/* Occurrences of `needle` in odmd's log so far. */
static int log_count(const char *needle)
{
    char *log = e2e_read_file(env.odmd.log_path);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* SIGHUP, then waits (bounded) until the log has one more `outcome` line than before. */
static bool reload(const char *outcome)
{
    int before = log_count(outcome);
    if (kill(env.odmd.pid, SIGHUP) != 0)
        return false;
    for (int64_t until = e2e_now_ms() + RELOAD_WAIT_MS; e2e_now_ms() < until; e2e_sleep_ms(20))
        if (log_count(outcome) > before)
            return true;
    e2e_odmd_dump_log(&env.odmd, 20);
    return false;
}

static long status_of(const char *method, const char *path, const char *body)
{
    e2e_resp_t r = {0};
    bool got =
        strcmp(method, "GET") == 0 ? e2e_get(&env.c, &r, path) : e2e_post(&env.c, &r, path, body);
    long status = got ? r.status : 0;
    e2e_resp_free(&r);
    return status;
}

static bool unique_index_within(const char *coll, const char *field, int ms)
{
    for (int64_t until = e2e_now_ms() + ms; e2e_now_ms() < until; e2e_sleep_ms(50))
        if (e2e_mongo_has_unique_index(e2e_db_uri(env.db), env.odmd.db_name, coll, field))
            return true;
    return false;
}

static void test_added(const char *dir)
{
    CHECK_INT(status_of("GET", "/api/gadgets", NULL), 404);
    CHECK(e2e_write_file(dir, "gadgets.json", GADGET_V1));
    CHECK(reload("reloaded '"));
    CHECK_INT(status_of("GET", "/readyz", NULL), 200);
    CHECK_INT(status_of("GET", "/api/gadgets", NULL), 200);
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g1\"}"), 201);
    CHECK_MSG(unique_index_within("gadgets", "serial", INDEX_WAIT_MS),
              "no unique index on gadgets.serial");
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g1\"}"), 409);
    CHECK_INT(status_of("GET", "/readyz", NULL), 200);
}

static void test_changed(const char *dir)
{
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g2\"}"), 201);
    CHECK(e2e_write_file(dir, "gadgets.json", GADGET_V2));
    CHECK(reload("reloaded '"));
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g3\"}"), 422);
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g3\", \"maker\": \"m\"}"), 201);
}

static void test_removed(const char *dir)
{
    CHECK(remove(F("%s/gadgets.json", dir)) == 0);
    CHECK(reload("reloaded '"));
    CHECK_INT(status_of("GET", "/api/gadgets", NULL), 404);
    CHECK_INT(status_of("POST", "/api/gadgets", "{\"serial\": \"g4\", \"maker\": \"m\"}"), 404);
    CHECK_INT(status_of("GET", "/api/products", NULL), 200);
}

/* A broken file next to a removed model: the reload is refused as a whole, so the removed
 * model still answers; the log says which file and where. */
static void test_broken(const char *dir)
{
    char *products = e2e_read_file(F("%s/products.json", dir));
    CHECK(products != NULL);
    CHECK(remove(F("%s/products.json", dir)) == 0);
    CHECK(e2e_write_file(dir, "broken.json", BROKEN));
    CHECK(reload("reload refused"));
    CHECK_MSG(log_count("broken.json:2:") == 1, "the log does not name broken.json and its line");
    CHECK_INT(status_of("GET", "/api/products", NULL), 200);
    CHECK_INT(status_of("GET", "/api/broken", NULL), 404);
    CHECK_INT(status_of("GET", "/readyz", NULL), 200);
    CHECK(remove(F("%s/broken.json", dir)) == 0);
    CHECK(products != NULL && e2e_write_file(dir, "products.json", products));
    free(products);
    CHECK(reload("reloaded '"));
    CHECK_INT(status_of("GET", "/api/products", NULL), 200);
}

int main(void)
{
    e2e_init("reload");
    if (!e2e_env_up(&env, NULL))
        return e2e_finish(check_done("e2e.reload"));
    const char *dir = e2e_schemas_with_extras();
    pthread_t threads[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_create(&threads[i], NULL, load, NULL);
    e2e_sleep_ms(200);
    test_added(dir);
    test_changed(dir);
    test_removed(dir);
    test_broken(dir);
    e2e_sleep_ms(200);
    atomic_store(&stop_load, true);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(threads[i], NULL);
    CHECK_MSG(atomic_load(&load_requests) >= 100, "the load sent too few requests");
    CHECK_INT(atomic_load(&load_failures), 0);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e.reload"));
}
