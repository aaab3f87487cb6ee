/* End-to-end: listing with limit, skip, sort, fields, filter and count=true; refused operators
 * at any depth; unknown and writeOnly fields in queries; dates and ObjectIds in filters. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)

#define N_USERS 12
#define N_WIDGETS 23

typedef struct {
    char id[32];
    char name[16];
    int age;
    const char *role;
    const char *city;
    const char *tag;
    bool has_login;
    long long login;     /* seconds since the epoch */
    char login_text[40]; /* as sent: even users with a +09:00 offset */
} seed_user_t;

static seed_user_t users[N_USERS];
static const char *const roles[] = {"admin", "member", "guest"};
static const char *const cities[] = {"Paris", "Lyon", "Nice"};

static void format_time(long long t, int offset_hours, char *out, size_t size)
{
    time_t local = (time_t)(t + offset_hours * 3600LL);
    struct tm tm;
    gmtime_r(&local, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (offset_hours == 0)
        snprintf(out, size, "%sZ", base);
    else
        snprintf(out, size, "%s%+03d:00", base, offset_hours);
}

static void seed(void)
{
    e2e_resp_t r = {0};
    for (int i = 0; i < N_USERS; i++) {
        seed_user_t *u = &users[i];
        snprintf(u->name, sizeof u->name, "U%02d", i);
        u->age = 20 + (i * 7) % 30;
        u->role = roles[i % 3];
        u->city = cities[(i / 2) % 3];
        u->tag = i % 2 ? "t1" : "t0";
        u->has_login = i % 4 != 3;
        u->login = 1614556800LL + i * 3600LL; /* 2021-03-01T00:00:00Z + i hours */
        format_time(u->login, i % 2 ? 0 : 9, u->login_text, sizeof u->login_text);
        char login[80] = "";
        if (u->has_login)
            snprintf(login, sizeof login, ",\"lastLogin\":\"%s\"", u->login_text);
        e2e_post(
            C, &r, "/api/users",
            F("{\"email\":\"q%02d@example.com\",\"name\":\"%s\",\"age\":%d,\"role\":\"%s\","
              "\"password\":\"password%02d\",\"address\":{\"city\":\"%s\"},\"tags\":[\"%s\"]%s}",
              i, u->name, u->age, u->role, i, u->city, u->tag, login));
        EXPECT_STATUS(r, 201);
        snprintf(u->id, sizeof u->id, "%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    }
    for (int i = 1; i <= N_WIDGETS; i++) {
        e2e_post(C, &r, "/api/widgets",
                 F("{\"_id\":%d,\"label\":\"w%02d\",\"size\":%d}", i, i, i % 5));
        EXPECT_STATUS(r, 201);
    }
    e2e_resp_free(&r);
}

/* GET /api/users?filter=... must answer 200 with exactly the users `want` accepts. */
typedef bool (*pred_fn)(const seed_user_t *u, const void *arg);

static void expect_users(const char *filter, pred_fn want, const void *arg)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, F("/api/users?limit=1000&count=true&filter=%s", U(filter)));
    CHECK_MSG(r.status == 200 && json_is_array(r.json), "filter %s: status %ld, body %.300s",
              filter, r.status, r.body);
    int expected = 0;
    for (int i = 0; i < N_USERS; i++) {
        bool wanted = want(&users[i], arg), seen = false;
        expected += wanted;
        size_t k;
        json_t *doc;
        json_array_foreach(r.json, k, doc)
        {
            const char *id = json_string_value(json_object_get(doc, "_id"));
            if (id && strcmp(id, users[i].id) == 0)
                seen = true;
        }
        CHECK_MSG(wanted == seen, "filter %s: %s %s", filter, users[i].name,
                  wanted ? "missing" : "should not match");
    }
    CHECK_MSG((int)json_array_size(r.json) == expected, "filter %s: %zu documents, want %d", filter,
              json_array_size(r.json), expected);
    const char *total = e2e_header(&r, "X-Total-Count");
    CHECK_MSG(total && atoi(total) == expected, "filter %s: X-Total-Count %s, want %d", filter,
              total ? total : "(none)", expected);
    CHECK_MSG(e2e_json_lacks_key(r.json, "password") && e2e_json_lacks_key(r.json, "__v"),
              "filter %s: hidden fields shown", filter);
    e2e_resp_free(&r);
}

static bool age_gte(const seed_user_t *u, const void *a)
{
    return u->age >= *(const int *)a;
}
static bool age_lt(const seed_user_t *u, const void *a)
{
    return u->age < *(const int *)a;
}
static bool age_ne(const seed_user_t *u, const void *a)
{
    return u->age != *(const int *)a;
}
static bool role_is(const seed_user_t *u, const void *a)
{
    return strcmp(u->role, a) == 0;
}
static bool city_is(const seed_user_t *u, const void *a)
{
    return strcmp(u->city, a) == 0;
}
static bool tag_is(const seed_user_t *u, const void *a)
{
    return strcmp(u->tag, a) == 0;
}
static bool no_login(const seed_user_t *u, const void *a)
{
    (void)a;
    return !u->has_login;
}
static bool all(const seed_user_t *u, const void *a)
{
    (void)u;
    (void)a;
    return true;
}
static bool login_gte(const seed_user_t *u, const void *a)
{
    return u->has_login && u->login >= *(const long long *)a;
}
static bool admin_or_young(const seed_user_t *u, const void *a)
{
    (void)a;
    return strcmp(u->role, "admin") == 0 || u->age < 30;
}
static bool nor_admin_lyon(const seed_user_t *u, const void *a)
{
    (void)a;
    return strcmp(u->role, "admin") != 0 && strcmp(u->city, "Lyon") != 0;
}
static bool member_in_age(const seed_user_t *u, const void *a)
{
    (void)a;
    return strcmp(u->role, "member") == 0 && u->age >= 25 && u->age <= 40;
}
static bool name_in(const seed_user_t *u, const void *a)
{
    (void)a;
    return strcmp(u->name, "U01") == 0 || strcmp(u->name, "U05") == 0;
}
static bool name_regex_u0(const seed_user_t *u, const void *a)
{
    (void)a;
    return strncmp(u->name, "U0", 2) == 0;
}
static bool is_user(const seed_user_t *u, const void *a)
{
    return u == a;
}
static bool is_user_0_or_1(const seed_user_t *u, const void *a)
{
    (void)a;
    return u == &users[0] || u == &users[1];
}

static void test_filters(void)
{
    int thirty = 30, age0 = users[0].age;
    expect_users("{}", all, NULL);
    expect_users(Q("{'age':{'$gte':30}}"), age_gte, &thirty);
    expect_users(Q("{'age':{'$gt':29}}"), age_gte, &thirty);
    expect_users(Q("{'age':{'$lt':30}}"), age_lt, &thirty);
    expect_users(Q("{'age':{'$lte':29}}"), age_lt, &thirty);
    expect_users(Q("{'age':{'$not':{'$gte':30}}}"), age_lt, &thirty);
    expect_users(F("{\"age\":{\"$ne\":%d}}", age0), age_ne, &age0);
    expect_users(Q("{'role':'admin'}"), role_is, "admin");
    expect_users(Q("{'role':{'$eq':'guest'}}"), role_is, "guest");
    expect_users(Q("{'role':{'$in':['guest']}}"), role_is, "guest");
    expect_users(Q("{'role':{'$nin':['admin','guest']}}"), role_is, "member");
    expect_users(Q("{'address.city':'Lyon'}"), city_is, "Lyon");
    expect_users(Q("{'tags':'t1'}"), tag_is, "t1");
    expect_users(Q("{'lastLogin':{'$exists':false}}"), no_login, NULL);
    expect_users(Q("{'$or':[{'role':'admin'},{'age':{'$lt':30}}]}"), admin_or_young, NULL);
    expect_users(Q("{'$nor':[{'role':'admin'},{'address.city':'Lyon'}]}"), nor_admin_lyon, NULL);
    expect_users(Q("{'$and':[{'role':'member'},{'age':{'$gte':25}},{'age':{'$lte':40}}]}"),
                 member_in_age, NULL);
    expect_users(Q("{'name':{'$in':['U01','U05']}}"), name_in, NULL);
    expect_users(Q("{'name':{'$regex':'^u0','$options':'i'}}"), name_regex_u0, NULL);
    expect_users(Q("{'name':{'$regex':'^U0'}}"), name_regex_u0, NULL);

    /* ObjectIds and dates in filters are converted like the fields they name. */
    expect_users(F("{\"_id\":\"%s\"}", users[3].id), is_user, &users[3]);
    expect_users(F("{\"_id\":{\"$in\":[\"%s\",\"%s\"]}}", users[0].id, users[1].id), is_user_0_or_1,
                 NULL);
    long long since = users[5].login;
    char when[40];
    format_time(since, 9, when, sizeof when); /* the same instant, written with an offset */
    expect_users(F("{\"lastLogin\":{\"$gte\":\"%s\"}}", when), login_gte, &since);
    format_time(since, 0, when, sizeof when);
    expect_users(F("{\"lastLogin\":{\"$gte\":\"%s\"}}", when), login_gte, &since);
}

static void expect_400(const char *path)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, path);
    EXPECT_PROBLEM(r, 400);
    e2e_resp_free(&r);
}

static void test_refused_filters(void)
{
    static const char *const refused[] = {
        /* operators outside the allow-list, at any depth */
        "{'$where':'this.age > 1'}",
        "{'$expr':{'$eq':['$age',30]}}",
        "{'$function':{'body':'function(){return true}','args':[],'lang':'js'}}",
        "{'$accumulator':{}}",
        "{'$text':{'$search':'x'}}",
        "{'age':{'$where':'1'}}",
        "{'age':{'$mod':[2,0]}}",
        "{'tags':{'$elemMatch':{'$eq':'t1'}}}",
        "{'age':{'$not':{'$where':'1'}}}",
        "{'$and':[{'$where':'1'}]}",
        "{'$or':[{'age':1},{'$nor':[{'$expr':{'$eq':[1,1]}}]}]}",
        "{'$and':[{'$or':[{'$and':[{'age':{'$not':{'$function':{}}}}]}]}]}",
        "{'name':{'$regex':'a','$where':'1'}}",
        "{'$bogus':1}",
        "{'age':{'$bogus':1}}",
        /* fields the model does not declare, or writeOnly ones, at any depth */
        "{'nope':1}",
        "{'$or':[{'nope':1}]}",
        "{'address.nope':'x'}",
        "{'address.city.deeper':'x'}",
        "{'password':'password01'}",
        "{'password':{'$exists':true}}",
        "{'$and':[{'role':'admin'},{'password':{'$regex':'^p'}}]}",
        "{'$nor':[{'$or':[{'password':'x'}]}]}",
        "{'__v':1}",
        "{'__v':{'$gte':0}}",
        /* malformed */
        "{'name':{'$regex':'a','$options':'g'}}",
        "{'name':{'$regex':'('}}",
        "{'name':{'$regex':5}}",
        "{'role':{'$in':'admin'}}",
        "{'$or':{'role':'admin'}}",
        "{'$and':[]}",
        "{'_id':'nothex'}",
        "{'lastLogin':{'$gte':'not a date'}}",
        "{'lastLogin':{'$gte':'2016-12-31T23:59:60Z'}}",
        "[1]",
        "'str'",
        "{'age':",
        "{'age':1,'age':2}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        e2e_resp_t r = {0};
        e2e_get(C, &r, F("/api/users?filter=%s", U(Q(refused[i]))));
        CHECK_MSG(e2e_is_problem(&r, 400), "filter %s", Q(refused[i]));
        e2e_resp_free(&r);
    }
    /* Bounds: a regex pattern of at most 256 bytes, $in with at most 1000 values. */
    e2e_resp_t r = {0};
    char pattern[400];
    memset(pattern, 'a', sizeof pattern);
    pattern[200] = '\0';
    e2e_get(C, &r, F("/api/users?filter=%s", U(F("{\"name\":{\"$regex\":\"%s\"}}", pattern))));
    EXPECT_STATUS(r, 200);
    pattern[200] = 'a';
    pattern[300] = '\0';
    e2e_get(C, &r, F("/api/users?filter=%s", U(F("{\"name\":{\"$regex\":\"%s\"}}", pattern))));
    EXPECT_PROBLEM(r, 400);
    size_t n = 20000;
    char *long_filter = malloc(n + 64);
    memcpy(long_filter, "{\"name\":{\"$regex\":\"", 19);
    memset(long_filter + 19, 'a', n);
    memcpy(long_filter + 19 + n, "\"}}", 4);
    e2e_get(C, &r, F("/api/users?filter=%s", U(long_filter)));
    /* The URI fits libmicrohttpd's 32 KiB connection pool: odmd's own regex cap answers. */
    EXPECT_PROBLEM(r, 400);
    free(long_filter);
    for (int values = 1000; values <= 1001; values++) {
        size_t cap = 16 * (size_t)values + 64, at = 0;
        char *in = malloc(cap);
        at += (size_t)snprintf(in, cap, "{\"age\":{\"$in\":[");
        for (int v = 0; v < values; v++)
            at += (size_t)snprintf(in + at, cap - at, "%s%d", v ? "," : "", v);
        snprintf(in + at, cap - at, "]}}");
        e2e_get(C, &r, F("/api/users?filter=%s", U(in)));
        if (values == 1000)
            EXPECT_STATUS(r, 200);
        else
            EXPECT_PROBLEM(r, 400);
        free(in);
    }
    e2e_resp_free(&r);
}

static size_t array_len(const e2e_resp_t *r)
{
    return json_is_array(r->json) ? json_array_size(r->json) : (size_t)-1;
}

static void test_limit_skip_count(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/api/widgets");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), 20); /* the default limit */
    CHECK_MSG(e2e_header(&r, "X-Total-Count") == NULL, "X-Total-Count without count=true");
    const char *ct = e2e_header(&r, "Content-Type");
    CHECK_MSG(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "-");
    e2e_get(C, &r, "/api/widgets?count=true");
    EXPECT_HEADER(r, "X-Total-Count", F("%d", N_WIDGETS));
    CHECK_INT(array_len(&r), 20);
    e2e_get(C, &r, "/api/widgets?limit=5&count=true&sort=_id");
    CHECK_INT(array_len(&r), 5);
    EXPECT_HEADER(r, "X-Total-Count", F("%d", N_WIDGETS));
    e2e_get(C, &r, "/api/widgets?limit=1000");
    CHECK_INT(array_len(&r), N_WIDGETS);
    e2e_get(C, &r, "/api/widgets?limit=1");
    CHECK_INT(array_len(&r), 1);
    e2e_get(C, &r, "/api/widgets?skip=20&sort=_id&limit=1000");
    CHECK_INT(array_len(&r), N_WIDGETS - 20);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(r.json, 0), "_id")), 21);
    e2e_get(C, &r, "/api/widgets?skip=0");
    EXPECT_STATUS(r, 200);
    e2e_get(C, &r, "/api/widgets?skip=500");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), 0);
    e2e_get(C, &r,
            "/api/widgets?count=true&filter="
            "%7B%22size%22%3A0%7D"); /* {"size":0} */
    int zeros = 0;
    for (int i = 1; i <= N_WIDGETS; i++)
        zeros += i % 5 == 0;
    EXPECT_HEADER(r, "X-Total-Count", F("%d", zeros));
    CHECK_INT(array_len(&r), zeros);
    e2e_get(C, &r, "/api/widgets?count=true&limit=2&skip=1&filter=%7B%22size%22%3A0%7D");
    EXPECT_HEADER(r, "X-Total-Count", F("%d", zeros)); /* the total, not the page */
    CHECK_INT(array_len(&r), 2);

    const char *bad[] = {
        "limit=0",           "limit=1001", "limit=-1",        "limit=abc",
        "limit=1.5",         "limit=",     "limit=10x",       "skip=-1",
        "skip=abc",          "skip=1.5",   "skip=1000000001", "skip=99999999999999999999",
        "sort=nope",         "sort=-nope", "sort=label,nope", "fields=nope",
        "fields=label,nope", "filter=",    "filter=nope"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_400(F("/api/widgets?%s", bad[i]));
    e2e_resp_free(&r);
}

static void test_sort(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/api/users?sort=age&limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), N_USERS);
    long long prev = -1;
    bool ordered = true;
    size_t i;
    json_t *doc;
    json_array_foreach(r.json, i, doc)
    {
        long long age = json_integer_value(json_object_get(doc, "age"));
        ordered = ordered && age >= prev;
        prev = age;
    }
    CHECK_MSG(ordered, "sort=age not ascending: %s", r.body);

    e2e_get(C, &r, "/api/users?sort=-age&limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), N_USERS);
    prev = 1000;
    ordered = true;
    json_array_foreach(r.json, i, doc)
    {
        long long age = json_integer_value(json_object_get(doc, "age"));
        ordered = ordered && age <= prev;
        prev = age;
    }
    CHECK_MSG(ordered, "sort=-age not descending: %s", r.body);

    e2e_get(C, &r, "/api/users?sort=role,-age&limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), N_USERS);
    const char *prev_role = "";
    prev = 1000;
    ordered = true;
    json_array_foreach(r.json, i, doc)
    {
        const char *role = json_string_value(json_object_get(doc, "role"));
        long long age = json_integer_value(json_object_get(doc, "age"));
        int c = strcmp(role ? role : "", prev_role);
        ordered = ordered && (c > 0 || (c == 0 && age <= prev));
        prev_role = role ? role : "";
        prev = age;
    }
    CHECK_MSG(ordered, "sort=role,-age wrong: %s", r.body);

    /* Dates sort by instant, not by the text they were sent as. */
    e2e_get(C, &r,
            "/api/"
            "users?sort=lastLogin&limit=100&filter=%7B%22lastLogin%22%3A%7B%22%24exists%22%3Atrue%"
            "7D%7D");
    EXPECT_STATUS(r, 200);
    const char *prev_when = "";
    ordered = true;
    json_array_foreach(r.json, i, doc)
    {
        const char *when = json_string_value(json_object_get(doc, "lastLogin"));
        ordered = ordered && when && strcmp(when, prev_when) >= 0 && strlen(when) == 24 &&
                  when[23] == 'Z';
        prev_when = when ? when : "";
    }
    CHECK_MSG(ordered, "sort=lastLogin not by instant: %s", r.body);
    CHECK_STR(json_string_value(json_object_get(json_array_get(r.json, 0), "lastLogin")),
              "2021-03-01T00:00:00.000Z");

    e2e_get(C, &r, "/api/users?sort=address.city,name&limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(r.json, 0), "address"), "city")),
              "Lyon");

    const char *bad[] = {"sort=password", "sort=-password",    "sort=name,password",
                         "sort=__v",      "sort=address.nope", "sort=nope"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        expect_400(F("/api/users?%s", bad[k]));
    e2e_resp_free(&r);
}

static void test_fields(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/api/users?fields=name,email&limit=100");
    EXPECT_STATUS(r, 200);
    CHECK_INT(array_len(&r), N_USERS);
    size_t i;
    json_t *doc;
    json_array_foreach(r.json, i, doc)
    {
        const char *key;
        json_t *v;
        json_object_foreach(doc, key, v)
        {
            CHECK_MSG(strcmp(key, "name") == 0 || strcmp(key, "email") == 0 ||
                          strcmp(key, "_id") == 0,
                      "fields=name,email returned '%s'", key);
        }
        CHECK(json_is_string(json_object_get(doc, "name")));
        CHECK(json_is_string(json_object_get(doc, "email")));
    }
    e2e_get(C, &r, "/api/users?fields=address.city&limit=1");
    EXPECT_STATUS(r, 200);
    json_t *first = json_array_get(r.json, 0);
    json_t *addr = json_object_get(first, "address");
    CHECK_MSG(json_is_object(addr) && json_object_size(addr) == 1 &&
                  json_object_get(addr, "city") && !json_object_get(first, "name"),
              "fields=address.city: %s", r.body);

    const char *bad[] = {"fields=password", "fields=name,password", "fields=__v", "fields=nope",
                         "fields=address.nope"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        expect_400(F("/api/users?%s", bad[k]));
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("query");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_query"));
    }
    seed();
    test_filters();
    test_refused_filters();
    test_limit_skip_count();
    test_sort();
    test_fields();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_query"));
}
