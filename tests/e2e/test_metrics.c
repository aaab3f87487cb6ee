/* End-to-end: GET /metrics. Requests of known statuses (200, 404, 409, 413, 422, a database
 * failure) move their counters by exactly their number, the histograms and the pool's counters
 * follow, a reload is counted and keeps a model's label, and every scrape parses as the text
 * format 0.0.4 (families typed before their samples, histogram buckets cumulative, _count equal
 * to the +Inf bucket). --metrics-listen serves /metrics on its own address only; --metrics off
 * serves none. With the argument --promtool, a scrape goes through `promtool check metrics`
 * instead (skipped with 77 when promtool is missing, failed then when CI is set). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"

#define MAX_BODY 2048
#define RELOAD_WAIT_MS 10000

static e2e_env_t env;

/* ---- the text format ----------------------------------------------------------------------- */

/* The family a sample belongs to, given the declared types (a JSON object name -> type). */
static const char *family_of(const json_t *types, const char *name, char *buf, size_t size)
{
    if (json_object_get(types, name) != NULL)
        return name;
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), s = strlen(suffixes[i]);
        if (n > s && strcmp(name + n - s, suffixes[i]) == 0 && n - s < size) {
            memcpy(buf, name, n - s);
            buf[n - s] = '\0';
            const char *type = json_string_value(json_object_get(types, buf));
            if (type != NULL && strcmp(type, "histogram") == 0)
                return buf;
        }
    }
    return NULL;
}

/* The end of a label set starting after '{': each label name="value" with escapes. NULL when
 * malformed. */
static const char *skip_labels(const char *p)
{
    while (*p != '}') {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
        if (n == 0 || p[n] != '=' || p[n + 1] != '"')
            return NULL;
        p += n + 2;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return NULL;
            p += *p == '\\' ? 2 : 1;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return NULL;
    }
    return p + 1;
}

/* One sample line into samples ("name{labels}" -> value); false (with a message) when
 * malformed or of no declared family. */
static bool parse_sample(const char *line, json_t *types, json_t *samples)
{
    size_t n = strcspn(line, "{ ");
    char name[256], fam[256];
    CHECK_MSG(n > 0 && n < sizeof name, "bad sample line '%s'", line);
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, line, n);
    name[n] = '\0';
    const char *end = line[n] == '{' ? skip_labels(line + n + 1) : line + n;
    CHECK_MSG(end != NULL && *end == ' ', "bad labels in '%s'", line);
    CHECK_MSG(family_of(types, name, fam, sizeof fam) != NULL, "'%s' has no # TYPE before it",
              line);
    if (end == NULL || *end != ' ')
        return false;
    char *after;
    double v = strtod(end + 1, &after);
    CHECK_MSG(after != end + 1 && *after == '\0', "bad value in '%s'", line);
    char key[1024];
    snprintf(key, sizeof key, "%.*s", (int)(end - line), line);
    CHECK_MSG(json_object_get(samples, key) == NULL, "'%s' twice", key);
    json_object_set_new(samples, key, json_real(v));
    return true;
}

/* Checks every histogram: buckets non-decreasing in le order and _count == the +Inf bucket. */
static void check_histograms(const json_t *samples)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)samples, key, v)
    {
        const char *inf = strstr(key, ",le=\"+Inf\"}");
        if (inf == NULL)
            continue;
        char count_key[1024];
        const char *bucket = strstr(key, "_bucket{");
        if (bucket == NULL)
            continue;
        snprintf(count_key, sizeof count_key, "%.*s_count{%.*s}", (int)(bucket - key), key,
                 (int)(inf - bucket - 8), bucket + 8);
        json_t *count = json_object_get(samples, count_key);
        CHECK_MSG(count && json_real_value(count) == json_real_value(v), "%s != %s", count_key,
                  key);
    }
}

/* Scrapes url's /metrics and parses it: a new object "name{labels}" -> value, or NULL. */
static json_t *scrape(const char *url)
{
    e2e_client_t c;
    e2e_client_init(&c, url);
    e2e_resp_t r = {0};
    json_t *samples = NULL;
    if (!e2e_get(&c, &r, "/metrics") || r.status != 200) {
        CHECK_MSG(false, "GET /metrics: %ld", r.status);
        goto done;
    }
    const char *ct = e2e_header(&r, "Content-Type");
    CHECK_MSG(ct && strcmp(ct, "text/plain; version=0.0.4; charset=utf-8") == 0, "type %s", ct);
    CHECK(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    samples = json_object();
    json_t *types = json_object();
    char *text = strdup(r.body), *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[256], type[32];
        if (sscanf(line, "# TYPE %255s %31s", name, type) == 2) {
            CHECK_MSG(json_object_get(types, name) == NULL, "TYPE of %s twice", name);
            json_object_set_new(types, name, json_string(type));
        } else if (strncmp(line, "# HELP ", 7) != 0) {
            parse_sample(line, types, samples);
        }
    }
    free(text);
    json_decref(types);
    check_histograms(samples);
done:
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return samples;
}

/* A sample's value, 0 when absent (a counter never moved is not written). */
static double value(const json_t *samples, const char *key)
{
    json_t *v = json_object_get(samples, key);
    return v ? json_real_value(v) : 0;
}

static double delta(const json_t *before, const json_t *after, const char *key)
{
    return value(after, key) - value(before, key);
}

#define REQ(model, method, status)                                                                 \
    "odmd_http_requests_total{model=\"" model "\",method=\"" method "\",status=\"" status "\"}"

#define EXPECT_DELTA(before, after, key, want)                                                     \
    CHECK_MSG(delta(before, after, key) == (want), "%s moved by %g, want %g", key,                 \
              delta(before, after, key), (double)(want))

/* ---- the counters -------------------------------------------------------------------------- */

static long send_json(const char *method, const char *path, const char *body)
{
    e2e_resp_t r = {0};
    bool got = e2e_request(&env.c, &r, method, path,
                           (const char *const[]){"Content-Type: application/json", NULL}, body,
                           body ? strlen(body) : 0);
    long status = got ? r.status : 0;
    e2e_resp_free(&r);
    return status;
}

static void test_requests(void)
{
    e2e_resp_t r = {0};
    CHECK(e2e_post(&env.c, &r, "/api/users", "{\"email\": \"m@example.com\", \"name\": \"M\"}"));
    EXPECT_STATUS(r, 201);
    char path[128];
    snprintf(path, sizeof path, "/api/users/%s", e2e_str(&r, "_id"));
    e2e_resp_free(&r);

    json_t *before = scrape(env.odmd.url);
    for (int i = 0; i < 3; i++)
        CHECK_INT(send_json("GET", path, NULL), 200);
    for (int i = 0; i < 2; i++)
        CHECK_INT(send_json("GET", "/api/users/0123456789abcdef01234567", NULL), 404);
    CHECK_INT(send_json("POST", "/api/users", "{\"email\": \"x@example.com\"}"), 422);
    CHECK_INT(send_json("POST", "/api/users", "{\"email\": \"m@example.com\", \"name\": \"N\"}"),
              409);
    char big[MAX_BODY * 2];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(send_json("POST", "/api/users", big), 413); /* declared length: answered at once */
    e2e_client_t chunked;
    e2e_client_init(&chunked, env.odmd.url);
    CHECK(e2e_request_chunked(&chunked, &r, "POST", "/api/users", "application/json", MAX_BODY * 3,
                              512));
    EXPECT_STATUS(r, 413); /* counted as it arrives */
    e2e_resp_free(&r);
    e2e_client_release(&chunked);
    CHECK_INT(send_json("GET", "/no/such/route", NULL), 404);
    json_t *after = scrape(env.odmd.url);

    EXPECT_DELTA(before, after, REQ("users", "GET", "200"), 3);
    EXPECT_DELTA(before, after, REQ("users", "GET", "404"), 2);
    EXPECT_DELTA(before, after, REQ("users", "POST", "422"), 1);
    EXPECT_DELTA(before, after, REQ("users", "POST", "409"), 1);
    EXPECT_DELTA(before, after, REQ("users", "POST", "413"), 2);
    EXPECT_DELTA(before, after, REQ("users", "POST", "201"), 0);
    EXPECT_DELTA(before, after, REQ("", "GET", "404"), 1);
    EXPECT_DELTA(before, after, REQ("", "GET", "200"), 1); /* the first scrape */
    EXPECT_DELTA(before, after,
                 "odmd_http_request_duration_seconds_count{route=\"document\",method=\"GET\"}", 5);
    EXPECT_DELTA(before, after,
                 "odmd_http_request_duration_seconds_count{route=\"collection\",method=\"POST\"}",
                 4);
    EXPECT_DELTA(before, after,
                 "odmd_http_request_duration_seconds_count{route=\"none\",method=\"GET\"}", 1);
    EXPECT_DELTA(before, after, "odmd_mongo_errors_total{kind=\"conflict\"}", 1);
    CHECK(delta(before, after,
                "odmd_http_request_duration_seconds_sum{route=\"document\",method=\"GET\"}") > 0);
    /* 3 finds and 2 misses at least; the insert, and the index creation, may add jobs */
    CHECK(delta(before, after, "odmd_worker_jobs_total") >= 6);
    CHECK(delta(before, after, "odmd_worker_busy_seconds_total") > 0);
    CHECK(value(after, "odmd_http_requests_in_flight") == 1); /* the scrape itself */
    CHECK(value(after, "odmd_mongo_pool_in_use") == 0);
    CHECK(value(after, "odmd_work_queue_depth") == 0);
    CHECK(value(after, "odmd_mongo_pool_size") > 0);
    CHECK(value(after, "odmd_build_info{version=\"0.1.0\"}") == 1);
    CHECK(value(after, "process_resident_memory_bytes") > 1e6);
    CHECK(value(after, "process_open_fds") > 3);
    CHECK(json_object_get(after, "process_cpu_seconds_total") != NULL);
    CHECK(value(after, "process_start_time_seconds") > 1.7e9);
    json_decref(before);
    json_decref(after);
}

/* A database that stops answering: the request gets 503 or 504 and the error is counted. */
static void test_database_error(void)
{
    json_t *before = scrape(env.odmd.url);
    CHECK(e2e_db_pause(env.db));
    long status = send_json("GET", "/api/users?limit=1", NULL);
    CHECK(e2e_db_resume(env.db));
    CHECK_MSG(status == 503 || status == 504, "status %ld", status);
    json_t *after = scrape(env.odmd.url);
    EXPECT_DELTA(before, after, REQ("users", "GET", "503"), status == 503 ? 1 : 0);
    EXPECT_DELTA(before, after, REQ("users", "GET", "504"), status == 504 ? 1 : 0);
    double errors = 0;
    static const char *const kinds[] = {"unavailable", "timeout", "internal", "other"};
    for (size_t i = 0; i < 4; i++) {
        char key[128];
        snprintf(key, sizeof key, "odmd_mongo_errors_total{kind=\"%s\"}", kinds[i]);
        errors += delta(before, after, key);
    }
    /* a deadline reached before the database was asked counts no database error */
    CHECK_MSG(errors >= 1 || status == 504, "errors %g", errors);
    json_decref(before);
    json_decref(after);
}

static bool log_has_more(const char *needle, int before)
{
    for (int64_t until = e2e_now_ms() + RELOAD_WAIT_MS; e2e_now_ms() < until; e2e_sleep_ms(20)) {
        char *log = e2e_read_file(env.odmd.log_path);
        int n = 0;
        for (const char *p = log; p && (p = strstr(p, needle)) != NULL; p++)
            n++;
        free(log);
        if (n > before)
            return true;
    }
    return false;
}

/* A reload is counted, and the model keeps its counters. */
static void test_reload(void)
{
    json_t *before = scrape(env.odmd.url);
    CHECK(kill(env.odmd.pid, SIGHUP) == 0);
    CHECK(log_has_more("reloaded '", 0));
    CHECK_INT(send_json("GET", "/api/users/0123456789abcdef01234567", NULL), 404);
    json_t *after = scrape(env.odmd.url);
    EXPECT_DELTA(before, after, "odmd_model_reloads_total{result=\"success\"}", 1);
    EXPECT_DELTA(before, after, "odmd_model_reloads_total{result=\"failure\"}", 0);
    EXPECT_DELTA(before, after, REQ("users", "GET", "404"), 1);
    json_decref(before);
    json_decref(after);
}

/* ---- the listeners ------------------------------------------------------------------------- */

static long status_at(const char *url, const char *method, const char *path)
{
    e2e_client_t c;
    e2e_client_init(&c, url);
    e2e_resp_t r = {0};
    bool got = e2e_request(&c, &r, method, path, NULL, NULL, 0);
    long status = got ? r.status : 0;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return status;
}

/* --metrics-listen: /metrics there only; the API's listener answers 404 and counts it. */
static void test_metrics_listen(void)
{
    int port = e2e_free_port();
    char listen[64], url[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .args = {"--metrics-listen", listen, NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd with --metrics-listen did not start");
        return;
    }
    CHECK_INT(status_at(o.url, "GET", "/metrics"), 404);
    CHECK_INT(status_at(url, "GET", "/healthz"), 404);
    CHECK_INT(status_at(url, "POST", "/metrics"), 405);
    CHECK_INT(status_at(url, "HEAD", "/metrics"), 200);
    /* a request is counted once libmicrohttpd has finished it, which may be just after its
     * client read the answer: the scrapes wait for the two counts, at most 2 s */
    json_t *s = NULL;
    for (int64_t until = e2e_now_ms() + 2000;; e2e_sleep_ms(20)) {
        json_decref(s);
        s = scrape(url);
        bool counted = s != NULL && value(s, REQ("", "GET", "404")) >= 1 &&
                       value(s, "odmd_http_request_duration_seconds_count{route=\"metrics\","
                                "method=\"GET\"}") >= 1;
        if (counted || e2e_now_ms() >= until)
            break;
    }
    CHECK(s != NULL);
    CHECK(value(s, REQ("", "GET", "404")) == 1);  /* the API listener's /metrics */
    CHECK(value(s, REQ("", "GET", "200")) >= 1);  /* the harness's /healthz */
    CHECK(value(s, REQ("", "POST", "405")) == 0); /* the metrics listener counts nothing */
    CHECK(value(s, "odmd_http_request_duration_seconds_count{route=\"metrics\",method=\"GET\"}") ==
          1);
    json_decref(s);
    CHECK_INT(e2e_odmd_stop(&o, 15000), 0);
}

/* --metrics off: no /metrics anywhere. */
static void test_metrics_off(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db), .args = {"--metrics", "off", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd with --metrics off did not start");
        return;
    }
    CHECK_INT(status_at(o.url, "GET", "/metrics"), 404);
    CHECK_INT(status_at(o.url, "GET", "/healthz"), 200);
    CHECK_INT(e2e_odmd_stop(&o, 15000), 0);
}

/* ---- promtool ------------------------------------------------------------------------------ */

static bool have_promtool(void)
{
    return system("command -v promtool >/dev/null 2>&1") == 0;
}

static int run_promtool(void)
{
    e2e_client_t c;
    e2e_client_init(&c, env.odmd.url);
    e2e_resp_t r = {0};
    CHECK(e2e_get(&c, &r, "/api/users?limit=1"));
    CHECK(e2e_get(&c, &r, "/no/such/route"));
    CHECK(e2e_get(&c, &r, "/metrics"));
    EXPECT_STATUS(r, 200);
    const char *dir = e2e_temp_dir("promtool");
    CHECK(e2e_write_file(dir, "metrics.txt", r.body));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s/metrics.txt'", dir);
    int rc = system(cmd);
    CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "promtool check metrics: status %d", rc);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return 0;
}

int main(int argc, char **argv)
{
    bool promtool = argc > 1 && strcmp(argv[1], "--promtool") == 0;
    e2e_init(promtool ? "metrics_promtool" : "metrics");
    if (promtool && !have_promtool()) {
        const char *ci = getenv("CI");
        if (ci == NULL || ci[0] == '\0') {
            printf("SKIP: promtool not found (Debian package prometheus; scripts/setup)\n");
            return e2e_finish(77);
        }
        CHECK_MSG(false, "promtool not found, and CI is set");
        return e2e_finish(check_done("e2e.metrics_promtool"));
    }
    char max_body[16];
    snprintf(max_body, sizeof max_body, "%d", MAX_BODY);
    const char *args[] = {"--max-body", max_body, "--request-timeout", "2000", NULL};
    if (!e2e_env_up(&env, args))
        return e2e_finish(check_done(promtool ? "e2e.metrics_promtool" : "e2e.metrics"));
    if (promtool) {
        run_promtool();
    } else {
        test_requests();
        test_database_error();
        test_reload();
        test_metrics_listen();
        test_metrics_off();
    }
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done(promtool ? "e2e.metrics_promtool" : "e2e.metrics"));
}
