/* The local database launcher (tools/mongo-launcher) answers a filter with an `_id` equality
 * beside other conditions from its `_id` index, as MongoDB does, and gives the same answers as
 * mongo-java-server's collection scan.
 *
 *   test_launcher_id filters   answers of `_id`-with-more filters (finds, counts, updates,
 *                              deletes, findAndModify) against the scan's, in memory and on an
 *                              H2 file, the file reopened in between
 *   test_launcher_id cost      the launcher's CPU per compare-and-set update `{_id, __v}` on
 *                              10,000 documents in memory against its CPU per update by `{_id}`
 *   test_launcher_id cost_h2   the same for finds on an H2 file (its writes are dominated by the
 *                              commit to the file)
 *
 * The scan's answer comes from the same filter wrapped in `$and` (mongo-java-server scans it,
 * and the launcher narrows only top-level `_id` equalities), so both run on the same data in
 * the same server. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mongoc/mongoc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define START_TIMEOUT_MS 180000 /* the first start may build the launcher with Maven */
#define STOP_TIMEOUT_MS 10000
#define COST_DOCS 10000
#define COST_ROUNDS 8
#define COST_PER_ROUND 250
#define COST_PER_ROUND_H2 250
/* Before the launcher narrowed the filter, a compare-and-set update scanned the 10,000
 * documents: many times the CPU of an update by `_id` alone. */
#define COST_MAX_RATIO 3.0

typedef struct {
    pid_t pid;
    int port;
    char dir[64];
    char uri[64];
} launcher_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads "listening 127.0.0.1:PORT" from the launcher's stdout. Returns: the port, or 0. */
static int read_port(int fd)
{
    char line[128];
    size_t got = 0;
    long long until = now_ms() + START_TIMEOUT_MS;
    while (got < sizeof line - 1 && now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        ssize_t r = read(fd, line + got, sizeof line - 1 - got);
        if (r <= 0)
            return 0;
        got += (size_t)r;
        line[got] = '\0';
        const char *colon = strstr(line, "listening 127.0.0.1:");
        if (colon != NULL && strchr(colon, '\n') != NULL)
            return atoi(colon + strlen("listening 127.0.0.1:"));
    }
    return 0;
}

/* Starts scripts/mongo-java-server (--memory, or --h2 DIR/data.mv with h2) on a free port, or
 * on l->port when it is set. Its stderr goes to DIR/server.log. */
static bool launcher_start(launcher_t *l, bool h2)
{
    if (l->dir[0] == '\0') {
        snprintf(l->dir, sizeof l->dir, "/tmp/odmd-launcher-XXXXXX");
        if (mkdtemp(l->dir) == NULL)
            return false;
    }
    char script[512], port[16], file[96], log[96];
    snprintf(script, sizeof script, "%s", ODMD_SOURCE_DIR "/scripts/mongo-java-server");
    snprintf(port, sizeof port, "%d", l->port);
    snprintf(file, sizeof file, "%s/data.mv", l->dir);
    snprintf(log, sizeof log, "%s/server.log", l->dir);
    char *argv[] = {script, "--port", port, h2 ? "--h2" : "--memory", h2 ? file : NULL, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return false;
    l->pid = fork();
    if (l->pid == 0) {
        int err = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fds[1], STDOUT_FILENO);
        if (err >= 0)
            dup2(err, STDERR_FILENO);
        execv(script, argv);
        _exit(127);
    }
    close(fds[1]);
    int bound = l->pid > 0 ? read_port(fds[0]) : 0;
    close(fds[0]); /* the launcher prints nothing more; a write would get EPIPE, not block */
    if (bound == 0) {
        fprintf(stderr, "the launcher did not start (see %s)\n", log);
        return false;
    }
    l->port = bound;
    snprintf(l->uri, sizeof l->uri, "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=5000",
             l->port);
    return true;
}

/* SIGTERM (an H2 file is closed), then SIGKILL after STOP_TIMEOUT_MS; reaped. */
static void launcher_stop(launcher_t *l)
{
    if (l->pid <= 0)
        return;
    kill(l->pid, SIGTERM);
    long long until = now_ms() + STOP_TIMEOUT_MS;
    while (waitpid(l->pid, NULL, WNOHANG) == 0) {
        if (now_ms() >= until) {
            kill(l->pid, SIGKILL);
            waitpid(l->pid, NULL, 0);
            break;
        }
        usleep(20000);
    }
    l->pid = 0;
}

static void launcher_remove(launcher_t *l)
{
    char path[128];
    const char *files[] = {"data.mv", "server.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", l->dir, files[i]);
        unlink(path);
    }
    rmdir(l->dir);
}

static bson_t *json(const char *text)
{
    bson_error_t err;
    bson_t *b = bson_new_from_json((const uint8_t *)text, -1, &err);
    if (b == NULL)
        fprintf(stderr, "bad test JSON %s: %s\n", text, err.message);
    return b;
}

/* The documents a filter finds, sorted by _id, as one canonical Extended JSON array (new). */
static char *find_all(mongoc_collection_t *c, const bson_t *filter)
{
    bson_t *opts = json("{\"sort\": {\"_id\": 1}}");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, filter, opts, NULL);
    bson_string_t *out = bson_string_new("[");
    const bson_t *doc;
    bson_error_t err;
    while (mongoc_cursor_next(cur, &doc)) {
        char *s = bson_as_canonical_extended_json(doc, NULL);
        bson_string_append(out, s);
        bson_string_append(out, ",");
        bson_free(s);
    }
    if (mongoc_cursor_error(cur, &err)) {
        bson_string_append(out, "error: ");
        bson_string_append(out, err.message);
    }
    bson_string_append(out, "]");
    mongoc_cursor_destroy(cur);
    bson_destroy(opts);
    return bson_string_free(out, false);
}

static bson_t *wrapped_in_and(const char *filter)
{
    char text[512];
    snprintf(text, sizeof text, "{\"$and\": [%s]}", filter);
    return json(text);
}

/* Finds and counts with `filter` and with the scanned `{$and: [filter]}`: the same answers, and
 * `want` documents. */
static void check_same(mongoc_collection_t *c, const char *filter, int want)
{
    bson_t *direct = json(filter), *scanned = wrapped_in_and(filter);
    if (direct == NULL || scanned == NULL) {
        CHECK_MSG(false, "filter %s", filter);
        return;
    }
    char *got = find_all(c, direct), *oracle = find_all(c, scanned);
    CHECK_MSG(strcmp(got, oracle) == 0, "%s: %s, the scan %s", filter, got, oracle);
    bson_error_t err;
    int64_t n = mongoc_collection_count_documents(c, direct, NULL, NULL, NULL, &err);
    CHECK_MSG(n == want, "%s: countDocuments %lld, want %d (%s)", filter, (long long)n, want,
              n < 0 ? err.message : "");
    /* the count command: the collection's own query path, unlike countDocuments' aggregation */
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_UTF8(&cmd, "count", mongoc_collection_get_name(c));
    BSON_APPEND_DOCUMENT(&cmd, "query", direct);
    bson_iter_t it;
    n = -1;
    if (mongoc_collection_command_simple(c, &cmd, NULL, &reply, &err) &&
        bson_iter_init_find(&it, &reply, "n"))
        n = bson_iter_as_int64(&it);
    CHECK_MSG(n == want, "%s: count %lld, want %d", filter, (long long)n, want);
    bson_destroy(&reply);
    bson_destroy(&cmd);
    bson_free(got);
    bson_free(oracle);
    bson_destroy(direct);
    bson_destroy(scanned);
}

/* 200 documents: _id 0..199 (int32), a = _id % 3 (none on _id 100), __v 1; _id "s7" (a 1);
 * an ObjectId _id (a 2); _id 300 as int64 (a 0). */
static bool seed(mongoc_collection_t *c)
{
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(c, NULL);
    for (int i = 0; i < 200; i++) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, "_id", i);
        if (i != 100)
            BSON_APPEND_INT32(&d, "a", i % 3);
        BSON_APPEND_INT32(&d, "__v", 1);
        mongoc_bulk_operation_insert(bulk, &d);
        bson_destroy(&d);
    }
    const char *more[] = {
        "{\"_id\": \"s7\", \"a\": 1, \"__v\": 1}",
        "{\"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}, \"a\": 2, \"__v\": 1}",
        "{\"_id\": {\"$numberLong\": \"300\"}, \"a\": 0, \"__v\": 1}",
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        bson_t *d = json(more[i]);
        mongoc_bulk_operation_insert(bulk, d);
        bson_destroy(d);
    }
    bson_error_t err;
    bool ok = mongoc_bulk_operation_execute(bulk, NULL, &err) != 0;
    if (!ok)
        fprintf(stderr, "seed: %s\n", err.message);
    mongoc_bulk_operation_destroy(bulk);
    return ok;
}

/* Reads: matches, non-matches, operators beside the equality, what is not narrowed. */
static void check_reads(mongoc_collection_t *c)
{
    static const struct {
        const char *filter;
        int want;
    } cases[] = {
        {"{\"_id\": 5, \"a\": 2}", 1},
        {"{\"_id\": 5, \"a\": 1}", 0},
        {"{\"a\": 2, \"_id\": 5}", 1},
        {"{\"_id\": {\"$eq\": 5}, \"a\": 2}", 1},
        {"{\"_id\": {\"$eq\": 5, \"$ne\": 6}, \"a\": 2}", 1},
        {"{\"_id\": {\"$eq\": 5, \"$ne\": 5}, \"a\": 2}", 0},
        {"{\"_id\": 5, \"__v\": {\"$exists\": false}}", 0},
        {"{\"_id\": 100, \"a\": {\"$exists\": false}}", 1},
        {"{\"_id\": 100, \"a\": null}", 1},
        {"{\"_id\": 9999, \"a\": 0}", 0},
        {"{\"_id\": \"9999\", \"a\": 0}", 0},
        {"{\"_id\": \"5\", \"a\": 2}", 0},
        {"{\"_id\": \"s7\", \"a\": 1}", 1},
        {"{\"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}, \"a\": 2}", 1},
        {"{\"_id\": {\"$oid\": \"65a1b2c3d4e5f60718293a4c\"}, \"a\": 2}", 0},
        {"{\"_id\": 300, \"a\": 0}", 1},
        {"{\"_id\": 300.0, \"a\": 0}", 1},
        {"{\"_id\": {\"$numberLong\": \"5\"}, \"a\": 2}", 1},
        {"{\"_id\": 5.0, \"a\": 2}", 1},
        {"{\"_id\": 5.5, \"a\": 2}", 0},
        {"{\"_id\": 5, \"$or\": [{\"a\": 9}, {\"a\": 2}]}", 1},
        {"{\"_id\": 5, \"$or\": [{\"a\": 9}, {\"a\": 1}]}", 0},
        {"{\"_id\": {\"$in\": [4, 5, 6, 9999]}, \"a\": 2}", 1},
        {"{\"_id\": {\"$in\": [3, 9, 12]}, \"a\": 0}", 3},
        {"{\"_id\": {\"$gt\": 190}, \"a\": 1}", 3},
        {"{\"_id\": {\"$regex\": \"^s\"}, \"a\": 1}", 1},
        {"{\"_id\": null, \"a\": 1}", 0},
        {"{\"_id\": [5], \"a\": 2}", 0},
        {"{\"_id\": {\"x\": 5}, \"a\": 2}", 0},
        {"{\"_id\": 5}", 1},
        {"{\"_id\": {\"$eq\": 5}}", 1},
        {"{\"_id\": {\"$eq\": 9999}}", 0},
        {"{\"_id\": {\"$eq\": 5, \"$gt\": 5}}", 0},
        {"{\"a\": 2}", 67},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_same(c, cases[i].filter, cases[i].want);
}

/* One update or delete with `filter`; returns what the server matched (updates) or deleted. */
static int64_t write_count(mongoc_collection_t *c, const char *filter, const char *update)
{
    bson_t *f = json(filter), *u = update ? json(update) : NULL, reply;
    bson_error_t err;
    bool ok = update ? mongoc_collection_update_one(c, f, u, NULL, &reply, &err)
                     : mongoc_collection_delete_one(c, f, NULL, &reply, &err);
    bson_iter_t it;
    int64_t n = -1;
    const char *key = update ? "matchedCount" : "deletedCount";
    if (ok && bson_iter_init_find(&it, &reply, key))
        n = bson_iter_as_int64(&it);
    if (!ok)
        fprintf(stderr, "%s: %s\n", filter, err.message);
    bson_destroy(&reply);
    bson_destroy(f);
    if (u)
        bson_destroy(u);
    return n;
}

/* Compare-and-set, deletes and re-inserts by `_id`-with-more filters, and the reads after them:
 * nothing the index answers is left from before a write. */
static void check_writes(mongoc_collection_t *c)
{
    const char *bump = "{\"$inc\": {\"__v\": 1}}";
    CHECK_INT(write_count(c, "{\"_id\": 5, \"__v\": 1}", bump), 1);
    CHECK_INT(write_count(c, "{\"_id\": 5, \"__v\": 1}", bump), 0); /* stale version */
    CHECK_INT(write_count(c, "{\"_id\": 5, \"__v\": 2}", bump), 1);
    check_same(c, "{\"_id\": 5, \"__v\": 3}", 1);
    check_same(c, "{\"_id\": 5, \"__v\": 1}", 0);
    check_same(c, "{\"_id\": 4, \"__v\": 1}", 1);
    check_same(c, "{\"_id\": 4, \"__v\": 2}", 0);
    CHECK_INT(write_count(c, "{\"_id\": 7, \"a\": 1}", "{\"$set\": {\"a\": 8}}"), 1);
    check_same(c, "{\"_id\": 7, \"a\": 1}", 0);
    check_same(c, "{\"_id\": 7, \"a\": 8}", 1);
    CHECK_INT(write_count(c, "{\"_id\": 6, \"a\": 1}", NULL), 0); /* 6 % 3 is 0 */
    CHECK_INT(write_count(c, "{\"_id\": 6, \"a\": 0}", NULL), 1);
    check_same(c, "{\"_id\": 6, \"a\": 0}", 0);
    CHECK_INT(write_count(c, "{\"_id\": 6, \"a\": 0}", bump), 0);
    bson_t *again = json("{\"_id\": 6, \"a\": 5, \"__v\": 1}");
    bson_error_t err;
    CHECK_MSG(mongoc_collection_insert_one(c, again, NULL, NULL, &err), "%s", err.message);
    bson_destroy(again);
    check_same(c, "{\"_id\": 6, \"a\": 5}", 1);
    check_same(c, "{\"_id\": 6, \"a\": 0}", 0);
    CHECK_INT(write_count(c, "{\"_id\": 9999, \"a\": 0}", bump), 0);

    /* findAndModify: the matched document, or none */
    bson_t *query = json("{\"_id\": 8, \"a\": 2}"), *update = json(bump), reply;
    CHECK(mongoc_collection_find_and_modify(c, query, NULL, update, NULL, false, false, true,
                                            &reply, &err));
    bson_iter_t it, v;
    CHECK(bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "value.__v", &v) &&
          bson_iter_as_int64(&v) == 2);
    bson_destroy(&reply);
    bson_destroy(query);
    query = json("{\"_id\": 8, \"a\": 1}");
    CHECK(mongoc_collection_find_and_modify(c, query, NULL, update, NULL, false, false, true,
                                            &reply, &err));
    CHECK(bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_NULL(&it));
    bson_destroy(&reply);
    bson_destroy(query);
    bson_destroy(update);
}

/* What check_writes left, as read after the H2 file was reopened. */
static void check_after_reopen(mongoc_collection_t *c)
{
    check_same(c, "{\"_id\": 5, \"__v\": 3}", 1);
    check_same(c, "{\"_id\": 7, \"a\": 8}", 1);
    check_same(c, "{\"_id\": 6, \"a\": 5}", 1);
    check_same(c, "{\"_id\": 6, \"a\": 0}", 0);
    check_same(c, "{\"_id\": 8, \"__v\": 2}", 1);
    CHECK_INT(write_count(c, "{\"_id\": 5, \"__v\": 3}", "{\"$inc\": {\"__v\": 1}}"), 1);
    check_same(c, "{\"_id\": 5, \"__v\": 4}", 1);
    check_reads(c);
}

static bool with_collection(const char *uri, void (*fn)(mongoc_collection_t *), bool drop_first)
{
    mongoc_client_t *client = mongoc_client_new(uri);
    if (client == NULL)
        return false;
    mongoc_collection_t *c = mongoc_client_get_collection(client, "launcher", "docs");
    bool ok = true;
    if (drop_first) {
        mongoc_collection_drop(c, NULL);
        ok = seed(c);
    }
    if (ok)
        fn(c);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
    return ok;
}

static void reads_then_writes(mongoc_collection_t *c)
{
    check_reads(c);
    check_writes(c);
    check_reads(c);
}

static int run_filters(void)
{
    launcher_t mem = {0};
    CHECK(launcher_start(&mem, false));
    if (mem.pid > 0)
        CHECK(with_collection(mem.uri, reads_then_writes, true));
    launcher_stop(&mem);
    launcher_remove(&mem);

    launcher_t h2 = {0};
    CHECK(launcher_start(&h2, true));
    if (h2.pid > 0) {
        CHECK(with_collection(h2.uri, reads_then_writes, true));
        launcher_stop(&h2);
        CHECK(launcher_start(&h2, true)); /* the same file and port */
        if (h2.pid > 0)
            CHECK(with_collection(h2.uri, check_after_reopen, false));
    }
    launcher_stop(&h2);
    launcher_remove(&h2);
    return check_done("launcher filters");
}

/* The launcher's CPU time so far, in seconds (all its threads, ended ones included). */
static double process_cpu_s(pid_t pid)
{
    clockid_t clock;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int versions[COST_DOCS];

/* `count` updates of random documents: by {_id} alone, or by {_id, __v} (the compare-and-set of
 * odmd's PATCH). Returns: false on any update that did not match. */
static bool updates(mongoc_collection_t *c, int count, bool cas)
{
    for (int i = 0; i < count; i++) {
        int id = rand() % COST_DOCS;
        bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, inc, reply;
        BSON_APPEND_INT32(&f, "_id", id);
        if (cas)
            BSON_APPEND_INT32(&f, "__v", versions[id]);
        BSON_APPEND_DOCUMENT_BEGIN(&u, "$inc", &inc);
        BSON_APPEND_INT32(&inc, "__v", 1);
        bson_append_document_end(&u, &inc);
        bson_error_t err;
        bson_iter_t it;
        bool ok = mongoc_collection_update_one(c, &f, &u, NULL, &reply, &err) &&
                  bson_iter_init_find(&it, &reply, "matchedCount") && bson_iter_as_int64(&it) == 1;
        bson_destroy(&reply);
        bson_destroy(&f);
        bson_destroy(&u);
        if (!ok)
            return false;
        versions[id]++;
    }
    return true;
}

/* `count` finds of random documents by {_id} alone or by {_id, __v}. Returns: false on any find
 * that did not return its document. */
static bool finds(mongoc_collection_t *c, int count, bool cas)
{
    for (int i = 0; i < count; i++) {
        int id = rand() % COST_DOCS;
        bson_t f = BSON_INITIALIZER;
        BSON_APPEND_INT32(&f, "_id", id);
        if (cas)
            BSON_APPEND_INT32(&f, "__v", versions[id]);
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(c, &f, NULL, NULL);
        const bson_t *doc;
        bool ok = mongoc_cursor_next(cur, &doc);
        mongoc_cursor_destroy(cur);
        bson_destroy(&f);
        if (!ok)
            return false;
    }
    return true;
}

static bool seed_cost(mongoc_collection_t *c)
{
    mongoc_collection_drop(c, NULL);
    mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(c, NULL);
    for (int i = 0; i < COST_DOCS; i++) {
        bson_t d = BSON_INITIALIZER;
        BSON_APPEND_INT32(&d, "_id", i);
        BSON_APPEND_INT32(&d, "randomNumber", rand() % 10000 + 1);
        BSON_APPEND_INT32(&d, "__v", 1);
        mongoc_bulk_operation_insert(bulk, &d);
        bson_destroy(&d);
        versions[i] = 1;
    }
    bson_error_t err;
    bool ok = mongoc_bulk_operation_execute(bulk, NULL, &err) != 0;
    mongoc_bulk_operation_destroy(bulk);
    return ok;
}

static int run_cost(bool h2)
{
    launcher_t mem = {0};
    CHECK(launcher_start(&mem, h2));
    mongoc_client_t *client = mem.pid > 0 ? mongoc_client_new(mem.uri) : NULL;
    if (client != NULL) {
        mongoc_collection_t *c = mongoc_client_get_collection(client, "launcher", "world");
        int per_round = h2 ? COST_PER_ROUND_H2 : COST_PER_ROUND;
        srand(12);
        CHECK(seed_cost(c));
        /* warm-up: the JIT compiles both paths before anything is counted */
        /* On H2 every write is committed to the file, which costs more than a scan of the
         * collection: the finds show the lookup there. In memory the updates do. */
        bool (*op)(mongoc_collection_t *, int, bool) = h2 ? finds : updates;
        CHECK(op(c, 2 * per_round, false) && op(c, 2 * per_round, true));
        double by_id = 0, by_cas = 0;
        bool ok = true;
        for (int r = 0; r < COST_ROUNDS && ok; r++) { /* interleaved: the same machine load */
            double t0 = process_cpu_s(mem.pid);
            ok = op(c, per_round, false);
            double t1 = process_cpu_s(mem.pid);
            ok = ok && op(c, per_round, true);
            double t2 = process_cpu_s(mem.pid);
            by_id += t1 - t0;
            by_cas += t2 - t1;
        }
        CHECK(ok);
        int n = COST_ROUNDS * per_round;
        double ratio = by_id > 0 ? by_cas / by_id : 0;
        printf("launcher CPU per %s on %d documents (%s): by {_id} %.1f us, by {_id, __v} %.1f us "
               "(%.2fx)\n",
               h2 ? "find" : "update", COST_DOCS, h2 ? "H2 file" : "in memory", by_id / n * 1e6,
               by_cas / n * 1e6, ratio);
        CHECK_MSG(by_id > 0 && ratio < COST_MAX_RATIO, "ratio %.2f, at most %.1f allowed", ratio,
                  COST_MAX_RATIO);
        mongoc_collection_destroy(c);
        mongoc_client_destroy(client);
    }
    launcher_stop(&mem);
    launcher_remove(&mem);
    return check_done("launcher cost");
}

/* The launcher's command counts: {odmdCommandCounts: 1}'s commands.NAME (0 when absent), -1
 * when the command fails. */
static int64_t command_count(mongoc_client_t *client, const char *name)
{
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_INT32(&cmd, "odmdCommandCounts", 1);
    bson_error_t err;
    int64_t n = -1;
    if (mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, &err)) {
        bson_iter_t it, sub;
        n = 0;
        if (bson_iter_init_find(&it, &reply, "commands") && bson_iter_recurse(&it, &sub) &&
            bson_iter_find(&sub, name))
            n = bson_iter_as_int64(&sub);
    }
    bson_destroy(&reply);
    bson_destroy(&cmd);
    return n;
}

/* Each backend counts the commands it receives, by name, and answers the counts. */
static void check_counts(const launcher_t *l)
{
    mongoc_client_t *client = mongoc_client_new(l->uri);
    mongoc_collection_t *c = mongoc_client_get_collection(client, "launcher", "counted");
    bson_t *doc = json("{\"_id\": 1}");
    CHECK(mongoc_collection_insert_one(c, doc, NULL, NULL, NULL)); /* connects */
    int64_t finds = command_count(client, "find"), inserts = command_count(client, "insert");
    CHECK_MSG(finds >= 0 && inserts >= 1, "counts: find %lld, insert %lld", (long long)finds,
              (long long)inserts);
    bson_free(find_all(c, doc));
    bson_free(find_all(c, doc));
    bson_t *other = json("{\"_id\": 2}");
    CHECK(mongoc_collection_insert_one(c, other, NULL, NULL, NULL));
    CHECK_INT(command_count(client, "find") - finds, 2);
    CHECK_INT(command_count(client, "insert") - inserts, 1);
    CHECK_INT(command_count(client, "odmdCommandCounts"), 0); /* not counted itself */
    bson_destroy(other);
    bson_destroy(doc);
    mongoc_collection_destroy(c);
    mongoc_client_destroy(client);
}

static int run_counts(void)
{
    for (int h2 = 0; h2 <= 1; h2++) {
        launcher_t l = {0};
        CHECK(launcher_start(&l, h2 == 1));
        if (l.pid > 0)
            check_counts(&l);
        launcher_stop(&l);
        launcher_remove(&l);
    }
    return check_done("launcher counts");
}

int main(int argc, char **argv)
{
    const char *part = argc == 2 ? argv[1] : "";
    if (strcmp(part, "filters") != 0 && strcmp(part, "cost") != 0 && strcmp(part, "cost_h2") != 0 &&
        strcmp(part, "counts") != 0) {
        fprintf(stderr, "usage: test_launcher_id filters|cost|cost_h2|counts\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    mongoc_init();
    int rc = strcmp(part, "filters") == 0  ? run_filters()
             : strcmp(part, "counts") == 0 ? run_counts()
                                           : run_cost(strcmp(part, "cost_h2") == 0);
    mongoc_cleanup();
    return rc;
}
