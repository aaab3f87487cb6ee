/* Unit tests for src/api's pure parts: routing, media types, entity tags, merge patch. */
#include "api/internal.h"
#include "check.h"

static void test_routes(const odm_models_t *models)
{
    api_route_t r;
    CHECK(api__match_route(models, "/healthz", &r) && r.kind == API_HEALTHZ);
    CHECK(api__match_route(models, "/readyz", &r) && r.kind == API_READYZ);
    CHECK(api__match_route(models, "/api/users", &r) && r.kind == API_COLLECTION);
    CHECK_STR(r.model->name, "users");
    CHECK(api__match_route(models, "/api/users/", &r) && r.kind == API_COLLECTION);
    CHECK(api__match_route(models, "/api/orders/abc", &r) && r.kind == API_DOCUMENT);
    CHECK_STR(r.model->name, "orders");
    CHECK_INT(r.id_len, 3);
    CHECK(strncmp(r.id, "abc", 3) == 0);
    CHECK(!api__match_route(models, "/api/nope", &r));
    CHECK(!api__match_route(models, "/api/user", &r));
    CHECK(!api__match_route(models, "/api/usersx/1", &r));
    CHECK(!api__match_route(models, "/api/users/a/b", &r));
    /* paths are routed as sent: an encoded slash stays within the id segment */
    CHECK(api__match_route(models, "/api/orders/a%2Fb", &r) && r.kind == API_DOCUMENT);
    CHECK(r.id_len == 5 && strncmp(r.id, "a%2Fb", 5) == 0);
    CHECK(!api__match_route(models, "/api", &r));
    CHECK(!api__match_route(models, "/api/", &r));
    CHECK(!api__match_route(models, "/healthz/", &r));
    CHECK(!api__match_route(models, "/", &r));
    CHECK(!api__match_route(models, "/users", &r));
}

static void test_media_types(void)
{
    static const char *const good[] = {
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json; charset=\"utf-8\"",
        "application/merge-patch+json",
        "application/problem+json",
        " application/json ",
    };
    static const char *const bad[] = {
        "text/plain",
        "application/xml",
        "application/json; charset=latin1",
        "application/json; boundary=x",
        "text/json",
        "application/jsonx",
        "+json",
        "",
        "json",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_MSG(api__acceptable_media_type(good[i], ODM_METHOD_POST), "'%s' refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(!api__acceptable_media_type(bad[i], ODM_METHOD_POST), "'%s' accepted", bad[i]);
        CHECK_MSG(!api__acceptable_media_type(bad[i], ODM_METHOD_PATCH), "'%s' accepted", bad[i]);
    }
    CHECK(!api__acceptable_media_type(NULL, ODM_METHOD_POST));

    /* PATCH reads merge patches only (RFC 5789 2.2): not JSON Patch, not any other +json */
    static const char *const patch_good[] = {
        "application/merge-patch+json",
        "application/json",
        "Application/Merge-Patch+JSON; charset=utf-8",
    };
    static const char *const patch_bad[] = {
        "application/json-patch+json",
        "application/problem+json",
        "application/vnd.x+json",
        "application/merge-patch+json; charset=latin1",
    };
    for (size_t i = 0; i < sizeof patch_good / sizeof patch_good[0]; i++)
        CHECK_MSG(api__acceptable_media_type(patch_good[i], ODM_METHOD_PATCH), "'%s' refused",
                  patch_good[i]);
    for (size_t i = 0; i < sizeof patch_bad / sizeof patch_bad[0]; i++)
        CHECK_MSG(!api__acceptable_media_type(patch_bad[i], ODM_METHOD_PATCH), "'%s' accepted",
                  patch_bad[i]);
}

static void test_entity_tags(void)
{
    char etag[32];
    api__etag(7, etag, sizeof etag);
    CHECK_STR(etag, "\"7\"");
    CHECK(api__if_match(NULL, false, 0));
    CHECK(api__if_match("\"7\"", true, 7));
    CHECK(api__if_match("\"3\", \"7\"", true, 7));
    CHECK(api__if_match("*", true, 7));
    CHECK(!api__if_match("*", false, 0));
    CHECK(!api__if_match("\"6\"", true, 7));
    CHECK(!api__if_match("W/\"7\"", true, 7)); /* If-Match compares strongly */
    CHECK(!api__if_match("\"77\"", true, 7));
    CHECK(api__if_none_match("W/\"7\"", 7)); /* If-None-Match weakly */
    CHECK(api__if_none_match("\"1\",\"7\"", 7));
    CHECK(api__if_none_match("*", 7));
    CHECK(!api__if_none_match("\"8\"", 7));
    CHECK(!api__if_none_match(NULL, 7));
}

static void check_merge(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL);
    json_t *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    json_t *got = api__merge_patch(t, p);
    char *text = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    CHECK_MSG(json_equal(got, w), "merge %s with %s gave %s, want %s", target, patch, text, want);
    free(text);
    json_decref(got);
    json_decref(p);
    json_decref(w);
}

/* The examples of RFC 7396, appendix A. */
static void test_merge_patch(void)
{
    check_merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check_merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    check_merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    check_merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    check_merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check_merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    check_merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                "{\"a\":{\"b\":\"d\"}}");
    check_merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    check_merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    check_merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    check_merge("{\"a\":\"foo\"}", "null", "null");
    check_merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    check_merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    check_merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    check_merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

int main(void)
{
    odm_error_t err;
    odm_models_t *models = odm_models_load("schemas", &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models != NULL) {
        test_routes(models);
        odm_models_free(models);
    }
    test_media_types();
    test_entity_tags();
    test_merge_patch();
    return check_done("api");
}
