/* End-to-end: concurrent GETs by id and valid POSTs on one model share database commands (one
 * find with $in, one unordered insertMany), and so do the $in lookups of concurrent expands,
 * counted on the wire (tests/support/cmdcount), while every request gets its own answer: the
 * document of its id, 404 for a missing id, writeOnly fields hidden, If-None-Match answered 304,
 * 201 or 409 for its own duplicate key, null for a soft-deleted or another owner's reference.
 * The database's commands are held a moment so that requests wait in the queue meanwhile. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "support/cmdcount.h"

static e2e_db_t *db;
static e2e_odmd_t odmd;
static odm_test_cmdcount_t *proxy;

#define N_PRODUCTS 40
#define N_REQUESTS 64
#define HOLD_MS 300
#define EXPAND_HOLD_MS                                                                             \
    25 /* a GET with expand= runs its own find first: 64 of them, 2 at a time                      \
        */
#define MISSING_ID "0123456789abcdef01234567" /* an ObjectId no document has */

static char product_ids[N_PRODUCTS][32], product_etags[N_PRODUCTS][32];

static bool up(void)
{
    db = e2e_db_start();
    if (db == NULL)
        return false;
    proxy = odm_test_cmdcount_start(e2e_db_port(db));
    if (proxy == NULL)
        return false;
    char uri[64];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", odm_test_cmdcount_port(proxy));
    e2e_odmd_opts_t opts = {
        .mongo_uri = uri, .schemas = e2e_schemas_with_extras(), .args = {"--workers", "2", NULL}};
    if (!e2e_odmd_start(&odmd, &opts) || !e2e_wait_status(odmd.url, "/readyz", 200, 30000))
        return false;
    int64_t deadline = e2e_now_ms() + 30000;
    while (!e2e_mongo_has_unique_index(e2e_db_uri(db), odmd.db_name, "products", "sku")) {
        if (e2e_now_ms() > deadline)
            return false;
        e2e_sleep_ms(50);
    }
    return true;
}

static void seed(void)
{
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0};
    for (int i = 0; i < N_PRODUCTS; i++) {
        e2e_post(&c, &r, "/api/products",
                 F("{\"sku\":\"SKU-%d\",\"name\":\"Product %d\",\"price\":%d,\"cost\":7}", i, i,
                   10 + i));
        EXPECT_STATUS(r, 201);
        const char *id = e2e_str(&r, "_id"), *etag = e2e_header(&r, "ETag");
        snprintf(product_ids[i], sizeof product_ids[i], "%s", id ? id : "");
        snprintf(product_etags[i], sizeof product_etags[i], "%s", etag ? etag : "");
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* One request on its own connection, sent from its own thread. */
typedef struct {
    const char *method;
    const char *base;    /* NULL: odmd.url */
    const char *api_key; /* NULL: none */
    char path[96];
    char header[64]; /* "" for none */
    char body[160];  /* POST only */
    e2e_resp_t resp;
} shot_t;

static void *shot_main(void *arg)
{
    shot_t *s = arg;
    e2e_client_t c;
    e2e_client_init(&c, s->base ? s->base : odmd.url);
    c.api_key = s->api_key;
    const char *json[] = {"Content-Type: application/json", NULL};
    const char *extra[] = {s->header, NULL};
    if (strcmp(s->method, "POST") == 0)
        e2e_request(&c, &s->resp, "POST", s->path, json, s->body, (size_t)-1);
    else
        e2e_request(&c, &s->resp, s->method, s->path, s->header[0] ? extra : NULL, NULL, 0);
    e2e_client_release(&c);
    return NULL;
}

/* Sends every shot at once and waits for all the answers. */
static void fire(shot_t *shots, int n)
{
    pthread_t threads[N_REQUESTS];
    CHECK(n <= N_REQUESTS);
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&threads[i], NULL, shot_main, &shots[i]) == 0);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
}

/* Request i: every 9th a missing id, every 8th with If-None-Match of its document's ETag, the
 * rest plain; some ids asked twice. */
static int product_of(int i)
{
    return i % 9 == 4 ? -1 : (i * 7) % N_PRODUCTS;
}

static void test_gets_share_finds(void)
{
    static shot_t shots[N_REQUESTS];
    for (int i = 0; i < N_REQUESTS; i++) {
        int p = product_of(i);
        shots[i] = (shot_t){.method = i % 5 == 3 ? "HEAD" : "GET"};
        snprintf(shots[i].path, sizeof shots[i].path, "/api/products/%s",
                 p < 0 ? MISSING_ID : product_ids[p]);
        if (p >= 0 && i % 8 == 1)
            snprintf(shots[i].header, sizeof shots[i].header, "If-None-Match: %s",
                     product_etags[p]);
    }
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "find", HOLD_MS);
    fire(shots, N_REQUESTS);
    odm_test_cmdcount_delay(proxy, "find", 0);
    long finds = odm_test_cmdcount_get(proxy, "find");
    CHECK_MSG(finds > 0 && finds <= N_REQUESTS / 4, "%d GETs cost %ld finds", N_REQUESTS, finds);

    for (int i = 0; i < N_REQUESTS; i++) {
        e2e_resp_t *r = &shots[i].resp;
        int p = product_of(i);
        bool head = strcmp(shots[i].method, "HEAD") == 0;
        if (p < 0) {
            EXPECT_STATUS(*r, 404);
        } else if (shots[i].header[0]) {
            EXPECT_STATUS(*r, 304);
            const char *etag = e2e_header(r, "ETag");
            CHECK_MSG(etag && strcmp(etag, product_etags[p]) == 0, "%s: ETag %s", r->path,
                      etag ? etag : "(none)");
        } else if (head) {
            EXPECT_STATUS(*r, 200);
            CHECK_MSG(r->body_len == 0, "%s: HEAD with a body", r->path);
        } else {
            EXPECT_STATUS(*r, 200);
            const char *id = e2e_str(r, "_id"), *sku = e2e_str(r, "sku");
            CHECK_MSG(id && strcmp(id, product_ids[p]) == 0, "%s: _id %s", r->path,
                      id ? id : "(none)");
            CHECK_MSG(sku && strcmp(sku, F("SKU-%d", p)) == 0, "%s: sku %s", r->path,
                      sku ? sku : "(none)");
            CHECK_MSG(r->json && e2e_json_lacks_key(r->json, "cost"), "%s: writeOnly cost shown",
                      r->path);
            const char *etag = e2e_header(r, "ETag");
            CHECK_MSG(etag && strcmp(etag, product_etags[p]) == 0, "%s: ETag %s", r->path,
                      etag ? etag : "(none)");
        }
        e2e_resp_free(r);
    }
}

/* Request i: a new sku, except pairs sharing one (i and i + 1 for i % 8 == 0) and every 10th
 * naming a sku already stored. */
static int sku_of(int i)
{
    if (i % 10 == 5)
        return i % N_PRODUCTS;      /* stored by seed(): 409 */
    return 1000 + i - (i % 8 == 1); /* i and i - 1 share when i % 8 == 1 */
}

static void test_posts_share_inserts(void)
{
    static shot_t shots[N_REQUESTS];
    for (int i = 0; i < N_REQUESTS; i++) {
        shots[i] = (shot_t){.method = "POST"};
        snprintf(shots[i].path, sizeof shots[i].path, "/api/products");
        snprintf(shots[i].body, sizeof shots[i].body,
                 "{\"sku\":\"SKU-%d\",\"name\":\"Shot %d\",\"price\":%d,\"cost\":3}", sku_of(i), i,
                 i + 1);
    }
    int64_t before = e2e_mongo_count(e2e_db_uri(db), odmd.db_name, "products");
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "insert", HOLD_MS);
    fire(shots, N_REQUESTS);
    odm_test_cmdcount_delay(proxy, "insert", 0);
    long inserts = odm_test_cmdcount_get(proxy, "insert");
    CHECK_MSG(inserts > 0 && inserts <= N_REQUESTS / 4, "%d POSTs cost %ld inserts", N_REQUESTS,
              inserts);

    int created = 0;
    for (int i = 0; i < N_REQUESTS; i++) {
        e2e_resp_t *r = &shots[i].resp;
        int sku = sku_of(i);
        if (sku < N_PRODUCTS) {
            CHECK_MSG(e2e_is_problem(r, 409), "POST %d (stored sku): %ld", i, r->status);
        } else if (i % 8 == 0 || i % 8 == 1) { /* one of a pair: checked below */
            CHECK_MSG(r->status == 201 || e2e_is_problem(r, 409), "POST %d: %ld", i, r->status);
        } else {
            EXPECT_STATUS(*r, 201);
        }
        if (r->status == 201) {
            created++;
            const char *name = e2e_str(r, "name"), *loc = e2e_header(r, "Location");
            const char *id = e2e_str(r, "_id");
            CHECK_MSG(name && strcmp(name, F("Shot %d", i)) == 0, "POST %d: name %s", i,
                      name ? name : "(none)");
            CHECK_MSG(r->json && e2e_json_lacks_key(r->json, "cost"), "POST %d: cost shown", i);
            CHECK_MSG(id && loc && strcmp(loc, F("/api/products/%s", id)) == 0,
                      "POST %d: Location %s", i, loc ? loc : "(none)");
        }
    }
    for (int i = 0; i + 1 < N_REQUESTS; i += 8) /* each pair: exactly one created */
        CHECK_MSG((shots[i].resp.status == 201) + (shots[i + 1].resp.status == 201) == 1,
                  "pair %d/%d: %ld and %ld", i, i + 1, shots[i].resp.status,
                  shots[i + 1].resp.status);
    int64_t after = e2e_mongo_count(e2e_db_uri(db), odmd.db_name, "products");
    CHECK_MSG(after - before == created, "%d answered 201, %lld stored", created,
              (long long)(after - before));
    for (int i = 0; i < N_REQUESTS; i++)
        e2e_resp_free(&shots[i].resp);
}

/* Integer ids (stored as int32 by another tool, or as odmd writes them) and a soft-delete model
 * in one volley: each model's GETs share finds; a soft-deleted member is 404 as it is alone. */
#define N_WIDGETS 12
#define N_MEMBERS 8

static void test_other_models(void)
{
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0};
    for (int i = 1; i <= N_WIDGETS; i++) {
        if (i % 2 == 0) {
            CHECK(e2e_mongo_insert(
                e2e_db_uri(db), odmd.db_name, "widgets",
                F("{\"_id\": {\"$numberInt\": \"%d\"}, \"label\": \"w%d\", \"__v\": 1}", i, i)));
        } else {
            e2e_post(&c, &r, "/api/widgets", F("{\"_id\": %d, \"label\": \"w%d\"}", i, i));
            EXPECT_STATUS(r, 201);
        }
    }
    static char member_ids[N_MEMBERS][32];
    for (int i = 0; i < N_MEMBERS; i++) {
        e2e_post(&c, &r, "/api/members",
                 F("{\"name\": \"m%d\", \"email\": \"m%d@example.com\"}", i, i));
        EXPECT_STATUS(r, 201);
        const char *id = e2e_str(&r, "_id");
        snprintf(member_ids[i], sizeof member_ids[i], "%s", id ? id : "");
        if (i % 3 == 1) {
            e2e_delete(&c, &r, F("/api/members/%s", member_ids[i]), NULL);
            EXPECT_STATUS(r, 204);
        }
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);

    enum { N = 2 * (N_WIDGETS + 2) + 2 * N_MEMBERS };
    static shot_t shots[N];
    int n = 0;
    for (int k = 0; k < 2; k++) {
        for (int i = 1; i <= N_WIDGETS + 2; i++) /* ids past N_WIDGETS: 404 */
            shots[n++] = (shot_t){.method = "GET"};
        for (int i = 0; i < N_MEMBERS; i++)
            shots[n++] = (shot_t){.method = "GET"};
    }
    n = 0;
    for (int k = 0; k < 2; k++) {
        for (int i = 1; i <= N_WIDGETS + 2; i++)
            snprintf(shots[n++].path, sizeof shots[0].path, "/api/widgets/%d", i);
        for (int i = 0; i < N_MEMBERS; i++)
            snprintf(shots[n++].path, sizeof shots[0].path, "/api/members/%.31s", member_ids[i]);
    }
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "find", HOLD_MS);
    fire(shots, N);
    odm_test_cmdcount_delay(proxy, "find", 0);
    long finds = odm_test_cmdcount_get(proxy, "find");
    CHECK_MSG(finds > 0 && finds <= N / 3, "%d GETs cost %ld finds", N, finds);

    n = 0;
    for (int k = 0; k < 2; k++) {
        for (int i = 1; i <= N_WIDGETS + 2; i++) {
            e2e_resp_t *w = &shots[n++].resp;
            if (i > N_WIDGETS) {
                EXPECT_STATUS(*w, 404);
                continue;
            }
            EXPECT_STATUS(*w, 200);
            const char *label = e2e_str(w, "label");
            CHECK_MSG(label && strcmp(label, F("w%d", i)) == 0, "%s: label %s", w->path,
                      label ? label : "(none)");
        }
        for (int i = 0; i < N_MEMBERS; i++) {
            e2e_resp_t *m = &shots[n++].resp;
            if (i % 3 == 1) {
                EXPECT_STATUS(*m, 404);
                continue;
            }
            EXPECT_STATUS(*m, 200);
            const char *name = e2e_str(m, "name");
            CHECK_MSG(name && strcmp(name, F("m%d", i)) == 0, "%s: name %s", m->path,
                      name ? name : "(none)");
        }
    }
    for (int i = 0; i < N; i++)
        e2e_resp_free(&shots[i].resp);
}

/* x-owner (tests/e2e/schemas/diaries.json) on an odmd with API keys: alice's and bob's GETs of
 * every diary at once. GETs of one owner share finds, never another owner's: each sees its own
 * diaries and a 404 for the other's, batched or not. */
#define N_DIARIES 6

static char *key_hash(const char *dir, const char *key)
{
    static char hash[2][65];
    static int next;
    char *out = hash[next++ % 2], cmd[1024];
    e2e_write_file(dir, "k.txt", key);
    snprintf(cmd, sizeof cmd, "%s key-hash < %s/k.txt", e2e_odmd_bin(), dir);
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (p == NULL || fgets(out, 65, p) == NULL)
        out[0] = '\0';
    if (p != NULL)
        pclose(p);
    out[strcspn(out, "\n")] = '\0';
    return out;
}

/* Whether an expanded reference is null (id NULL) or the document with `id` and that name. */
static void expect_expanded(const e2e_resp_t *r, const char *field, const char *id,
                            const char *name)
{
    json_t *v = r->json ? json_object_get(r->json, field) : NULL;
    if (id == NULL) {
        CHECK_MSG(json_is_null(v), "%s: %s should be null", r->path, field);
        return;
    }
    const char *got_id = json_string_value(json_object_get(v, "_id"));
    const char *got_name = json_string_value(json_object_get(v, "name"));
    if (got_name == NULL)
        got_name = json_string_value(json_object_get(v, "title"));
    CHECK_MSG(json_is_object(v) && got_id && strcmp(got_id, id) == 0 && got_name &&
                  strcmp(got_name, name) == 0,
              "%s: %s expanded as %s/%s, expected %s/%s", r->path, field,
              got_id ? got_id : "(none)", got_name ? got_name : "(none)", id, name);
}

/* Each owner's diaries whose parentId names a diary of either owner (ids[owner][i]), the first
 * of alice's soft-deleted, all read with expand=parentId at once by their owners: the lookups
 * of one owner share finds, never another's; a parent of the other owner, or soft-deleted, is
 * null, batched or not. */
static void expand_owners_apart(const e2e_odmd_t *owned, const char *const keys[2],
                                char ids[2][N_DIARIES][32])
{
    enum { N = 2 * 2 * N_DIARIES };
    static char children[N][32];
    static shot_t shots[N];
    e2e_resp_t r = {0};
    e2e_client_t c;
    e2e_client_init(&c, owned->url);
    c.api_key = keys[0];
    e2e_delete(&c, &r, F("/api/diaries/%s", ids[0][0]), NULL);
    EXPECT_STATUS(r, 204);
    e2e_client_release(&c);
    int n = 0;
    for (int caller = 0; caller < 2; caller++) {
        e2e_client_init(&c, owned->url);
        c.api_key = keys[caller];
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < N_DIARIES; i++, n++) {
                e2e_post(&c, &r, "/api/diaries",
                         F("{\"title\": \"c%d\", \"parentId\": \"%s\"}", n, ids[o][i]));
                EXPECT_STATUS(r, 201);
                const char *id = e2e_str(&r, "_id");
                snprintf(children[n], sizeof children[n], "%s", id ? id : "");
                shots[n] = (shot_t){.method = "GET", .base = owned->url, .api_key = keys[caller]};
                snprintf(shots[n].path, sizeof shots[n].path, "/api/diaries/%.31s?expand=parentId",
                         children[n]);
            }
        e2e_client_release(&c);
    }
    e2e_resp_free(&r);
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "find", EXPAND_HOLD_MS);
    fire(shots, N);
    odm_test_cmdcount_delay(proxy, "find", 0);
    long lookups = odm_test_cmdcount_get(proxy, "find") - N;
    printf("coalesce: %d GETs with expand= of two owners: %ld lookups\n", N, lookups);
    CHECK_MSG(lookups >= 2 && lookups <= N / 2, "%d lookups of two owners cost %ld finds", N,
              lookups);
    n = 0;
    for (int caller = 0; caller < 2; caller++)
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < N_DIARIES; i++, n++) {
                e2e_resp_t *d = &shots[n].resp;
                EXPECT_STATUS(*d, 200);
                const char *title = e2e_str(d, "title");
                CHECK_MSG(title && strcmp(title, F("c%d", n)) == 0, "%s: title %s", d->path,
                          title ? title : "(none)");
                bool gone = o != caller || (o == 0 && i == 0);
                expect_expanded(d, "parentId", gone ? NULL : ids[o][i],
                                gone ? "" : F("d%d-%d", o, i));
                e2e_resp_free(d);
            }
}

static void test_owners_apart(void)
{
    static const char *keys[] = {"alice-key-5c1e", "bob-key-93fa"};
    const char *dir = e2e_temp_dir("keys");
    const char *text =
        F("{\"keys\": [{\"name\": \"alice\", \"sha256\": \"%s\", \"scopes\": [\"read:*\", "
          "\"write:*\"]}, {\"name\": \"bob\", \"sha256\": \"%s\", \"scopes\": [\"read:*\", "
          "\"write:*\"]}]}",
          key_hash(dir, keys[0]), key_hash(dir, keys[1]));
    CHECK(e2e_write_file(dir, "keys.json", text));
    char uri[64], keys_path[512];
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", odm_test_cmdcount_port(proxy));
    snprintf(keys_path, sizeof keys_path, "%s/keys.json", dir);
    e2e_odmd_t owned;
    e2e_odmd_opts_t opts = {.mongo_uri = uri,
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--workers", "2", "--keys", keys_path, NULL}};
    if (!e2e_odmd_start(&owned, &opts)) {
        CHECK_MSG(false, "odmd with --keys did not start");
        return;
    }
    static char ids[2][N_DIARIES][32];
    e2e_resp_t r = {0};
    for (int o = 0; o < 2; o++) {
        e2e_client_t c;
        e2e_client_init(&c, owned.url);
        c.api_key = keys[o];
        for (int i = 0; i < N_DIARIES; i++) {
            e2e_post(&c, &r, "/api/diaries", F("{\"title\": \"d%d-%d\"}", o, i));
            EXPECT_STATUS(r, 201);
            const char *id = e2e_str(&r, "_id");
            snprintf(ids[o][i], sizeof ids[o][i], "%s", id ? id : "");
        }
        e2e_client_release(&c);
    }
    e2e_resp_free(&r);

    enum { N = 2 * 2 * N_DIARIES };
    static shot_t shots[N];
    int n = 0;
    for (int caller = 0; caller < 2; caller++)
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < N_DIARIES; i++) {
                shots[n] = (shot_t){.method = "GET", .base = owned.url, .api_key = keys[caller]};
                snprintf(shots[n++].path, sizeof shots[0].path, "/api/diaries/%.31s", ids[o][i]);
            }
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "find", HOLD_MS);
    fire(shots, N);
    odm_test_cmdcount_delay(proxy, "find", 0);
    long finds = odm_test_cmdcount_get(proxy, "find");
    CHECK_MSG(finds > 0 && finds <= N / 3, "%d GETs cost %ld finds", N, finds);
    n = 0;
    for (int caller = 0; caller < 2; caller++)
        for (int o = 0; o < 2; o++)
            for (int i = 0; i < N_DIARIES; i++) {
                e2e_resp_t *d = &shots[n++].resp;
                if (o != caller) {
                    EXPECT_STATUS(*d, 404);
                    continue;
                }
                EXPECT_STATUS(*d, 200);
                const char *title = e2e_str(d, "title");
                CHECK_MSG(title && strcmp(title, F("d%d-%d", o, i)) == 0, "%s: title %s", d->path,
                          title ? title : "(none)");
            }
    for (int i = 0; i < N; i++)
        e2e_resp_free(&shots[i].resp);
    expand_owners_apart(&owned, keys, ids);
    CHECK_INT(e2e_odmd_stop(&owned, 20000), 0);
}

/* Member i of the expand test: its buddy (buddy index), or -1 for an id no member has. */
#define N_BUDDIES 12
static int buddy_of(int i)
{
    return i % 9 == 4 ? -1 : (i * 5) % N_BUDDIES;
}

/* 64 GETs with expand= at once, each naming one buddy (soft-deleted ones and a missing id
 * among them): every GET's own find, and far fewer lookups than requests, each answer with its
 * own buddy (null for a soft-deleted or missing one, as when it runs alone). */
static void test_expand_lookups_share_finds(void)
{
    static char buddies[N_BUDDIES][32], members[N_REQUESTS][32];
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0};
    for (int i = 0; i < N_BUDDIES; i++) {
        e2e_post(&c, &r, "/api/members",
                 F("{\"name\": \"b%d\", \"email\": \"b%d@example.com\"}", i, i));
        EXPECT_STATUS(r, 201);
        const char *id = e2e_str(&r, "_id");
        snprintf(buddies[i], sizeof buddies[i], "%s", id ? id : "");
        if (i % 4 == 1) {
            e2e_delete(&c, &r, F("/api/members/%s", buddies[i]), NULL);
            EXPECT_STATUS(r, 204);
        }
    }
    for (int i = 0; i < N_REQUESTS; i++) {
        int b = buddy_of(i);
        e2e_post(&c, &r, "/api/members",
                 F("{\"name\": \"p%d\", \"email\": \"p%d@example.com\", \"buddyId\": \"%s\"}", i, i,
                   b < 0 ? MISSING_ID : buddies[b]));
        EXPECT_STATUS(r, 201);
        const char *id = e2e_str(&r, "_id");
        snprintf(members[i], sizeof members[i], "%s", id ? id : "");
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);

    static shot_t shots[N_REQUESTS];
    for (int i = 0; i < N_REQUESTS; i++) {
        shots[i] = (shot_t){.method = "GET"};
        snprintf(shots[i].path, sizeof shots[i].path, "/api/members/%.31s?expand=buddyId",
                 members[i]);
    }
    odm_test_cmdcount_reset(proxy);
    odm_test_cmdcount_delay(proxy, "find", EXPAND_HOLD_MS);
    fire(shots, N_REQUESTS);
    odm_test_cmdcount_delay(proxy, "find", 0);
    long finds = odm_test_cmdcount_get(proxy, "find");
    /* each GET's own find (GETs with expand= run alone), then the lookups: one per GET alone */
    long lookups = finds - N_REQUESTS;
    printf("coalesce: %d GETs with expand= cost %ld finds: %d their own, %ld lookups\n", N_REQUESTS,
           finds, N_REQUESTS, lookups);
    CHECK_MSG(lookups > 0 && lookups <= N_REQUESTS / 4, "%d lookups cost %ld finds (%ld in all)",
              N_REQUESTS, lookups, finds);
    for (int i = 0; i < N_REQUESTS; i++) {
        e2e_resp_t *m = &shots[i].resp;
        int b = buddy_of(i);
        EXPECT_STATUS(*m, 200);
        const char *name = e2e_str(m, "name"), *id = e2e_str(m, "_id");
        CHECK_MSG(name && strcmp(name, F("p%d", i)) == 0 && id && strcmp(id, members[i]) == 0,
                  "%s: name %s", m->path, name ? name : "(none)");
        bool gone = b < 0 || b % 4 == 1;
        expect_expanded(m, "buddyId", gone ? NULL : buddies[b], gone ? "" : F("b%d", b));
        e2e_resp_free(m);
    }
}

/* One request with expand= at a time: two finds each, as before. */
static void test_expand_alone(void)
{
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0};
    e2e_post(&c, &r, "/api/members", "{\"name\": \"solo\", \"email\": \"solo@example.com\"}");
    EXPECT_STATUS(r, 201);
    char buddy[32];
    snprintf(buddy, sizeof buddy, "%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    e2e_post(&c, &r, "/api/members",
             F("{\"name\": \"pal\", \"email\": \"pal@example.com\", \"buddyId\": \"%s\"}", buddy));
    EXPECT_STATUS(r, 201);
    char pal[32];
    snprintf(pal, sizeof pal, "%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    odm_test_cmdcount_reset(proxy);
    for (int i = 0; i < 3; i++) {
        e2e_get(&c, &r, F("/api/members/%s?expand=buddyId", pal));
        EXPECT_STATUS(r, 200);
        expect_expanded(&r, "buddyId", buddy, "solo");
    }
    CHECK_MSG(odm_test_cmdcount_get(proxy, "find") == 6, "3 expands in turn: %ld finds",
              odm_test_cmdcount_get(proxy, "find"));
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* One request at a time: one command each, as before (no batch waits to fill). */
static void test_alone_costs_one(void)
{
    e2e_client_t c;
    e2e_client_init(&c, odmd.url);
    e2e_resp_t r = {0};
    odm_test_cmdcount_reset(proxy);
    for (int i = 0; i < 5; i++) {
        e2e_get(&c, &r, F("/api/products/%s", product_ids[i]));
        EXPECT_STATUS(r, 200);
    }
    CHECK_MSG(odm_test_cmdcount_get(proxy, "find") == 5, "5 GETs in turn: %ld finds",
              odm_test_cmdcount_get(proxy, "find"));
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

int main(void)
{
    e2e_init("coalesce");
    if (!up()) {
        CHECK_MSG(false, "environment did not start");
    } else {
        seed();
        test_alone_costs_one();
        test_gets_share_finds();
        test_posts_share_inserts();
        test_other_models();
        test_owners_apart();
        test_expand_alone();
        test_expand_lookups_share_finds();
    }
    int status = odmd.pid > 0 ? e2e_odmd_stop(&odmd, 20000) : 0;
    CHECK_INT(status, 0);
    odm_test_cmdcount_stop(proxy);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_coalesce"));
}
