/* Model inference (src/survey/infer.c) case by case: documents as Extended JSON in, the model's
 * value at JSON Pointer-like paths out ("absent" where nothing may be). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "odmd/survey.h"

#define MAX_DOCS 4
#define MAX_EXPECT 4

typedef struct {
    const char *path; /* "/"-separated, from the model's root */
    const char *want; /* JSON text, or "absent" */
} expect_t;

typedef struct {
    const char *what;
    const char *docs[MAX_DOCS]; /* Extended JSON; ' stands for " */
    expect_t expect[MAX_EXPECT];
} case_t;

static const case_t cases[] = {
    {"uuids",
     {"{'_id': 1, 'u': '2eb8aa08-aa98-11ea-b4aa-73b441d16380'}",
      "{'_id': 2, 'u': '123e4567-e89b-12d3-a456-426614174000'}"},
     {{"properties/u/format", "'uuid'"}, {"properties/_id/type", "'integer'"}}},
    {"uris",
     {"{'_id': 'a', 'link': 'https://example.org/a'}",
      "{'_id': 'b', 'link': 'urn:isbn:0451450523'}"},
     {{"properties/link/format", "'uri'"}, {"properties/_id", "{'type': 'string'}"}}},
    {"one string is not an email",
     {"{'_id': 1, 'e': 'a@example.org'}", "{'_id': 2, 'e': 'nobody'}"},
     {{"properties/e/format", "absent"}}},
    {"date-time strings stay strings",
     {"{'_id': 1, 't': '2024-01-02T03:04:05Z'}"},
     {{"properties/t/format", "absent"}, {"properties/t/type", "'string'"}}},
    {"ObjectIds mixed with strings",
     {"{'_id': 1, 'r': {'$oid': '65a1b2c3d4e5f60718293a01'}}", "{'_id': 2, 'r': 'legacy'}"},
     {{"properties/r/x-bson", "absent"}, {"properties/r/type", "'string'"}}},
    {"integers and doubles",
     {"{'_id': 1, 'n': 1}", "{'_id': 2, 'n': 2.5}", "{'_id': 3, 'n': {'$numberLong': '3'}}"},
     {{"properties/n/type", "'number'"}, {"properties/n/x-bson", "absent"}}},
    {"a type odmd does not map",
     {"{'_id': 1, 'd': {'$numberDecimal': '1.5'}}"},
     {{"properties/d/type", "absent"}, {"required", "['d']"}}},
    {"keys that are data",
     {"{'_id': 1, 'm': {'a': 1, 'b': 2}}", "{'_id': 2, 'm': {'c': 1}}",
      "{'_id': 3, 'm': {'d': 1}}"},
     {{"properties/m/additionalProperties", "absent"}, {"additionalProperties", "false"}}},
    {"optional keys still agree",
     {"{'_id': 1, 'o': {'a': 1, 'b': 2}}", "{'_id': 2, 'o': {'a': 1}}",
      "{'_id': 3, 'o': {'a': 3}}"},
     {{"properties/o/additionalProperties", "false"}, {"properties/o/required", "['a']"}}},
    {"arrays of arrays, odmd's version field left out",
     {"{'_id': 1, 'g': [[1, 2], [3]], '__v': 4}"},
     {{"properties/g/items/items/type", "'integer'"}, {"properties/__v", "absent"}}},
};

static const json_t *at(const json_t *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok && v;
         tok = strtok_r(NULL, "/", &save))
        v = json_object_get(v, tok);
    return v;
}

static char *quoted(const char *s)
{
    char *copy = strdup(s);
    for (char *p = copy; *p; p++)
        *p = *p == '\'' ? '"' : *p;
    return copy;
}

/* A new inference of the case's documents. */
static odm_survey_infer_t *infer_docs(const char *const *docs, size_t n)
{
    odm_survey_infer_t *inf = odm_survey_infer_new();
    for (size_t d = 0; d < n && docs[d]; d++) {
        char *text = quoted(docs[d]);
        bson_error_t berr;
        bson_t *doc = bson_new_from_json((const uint8_t *)text, -1, &berr);
        CHECK_MSG(doc != NULL, "%s: %s", text, berr.message);
        odm_error_t err;
        CHECK(doc && odm_survey_infer_add(inf, doc, &err));
        bson_destroy(doc);
        free(text);
    }
    return inf;
}

static void run_case(const case_t *c)
{
    odm_survey_infer_t *inf = infer_docs(c->docs, MAX_DOCS);
    odm_error_t err;
    json_t *model = odm_survey_infer_model(inf, "things", &err);
    CHECK_MSG(model != NULL, "%s: %s", c->what, model ? "" : err.message);
    for (size_t i = 0; model && i < MAX_EXPECT && c->expect[i].path; i++) {
        const expect_t *e = &c->expect[i];
        const json_t *got = at(model, e->path);
        char *want_text = quoted(e->want);
        json_t *want =
            strcmp(e->want, "absent") ? json_loads(want_text, JSON_DECODE_ANY, NULL) : NULL;
        char *got_text = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        CHECK_MSG(want ? json_equal(got, want) : got == NULL, "%s: %s is %s, want %s", c->what,
                  e->path, got_text ? got_text : "absent", e->want);
        free(got_text);
        json_decref(want);
        free(want_text);
    }
    json_decref(model);
    odm_survey_infer_free(inf);
}

static void test_refusals(void)
{
    odm_error_t err;
    odm_survey_infer_t *inf = odm_survey_infer_new();
    CHECK(odm_survey_infer_model(inf, "things", &err) == NULL);
    CHECK_MSG(strstr(err.message, "no documents in 'things'"), "%s", err.message);
    odm_survey_infer_free(inf);
    const char *mixed[] = {"{'_id': 1}", "{'_id': 'two'}"};
    inf = infer_docs(mixed, 2);
    CHECK(odm_survey_infer_model(inf, "things", &err) == NULL && err.kind == ODM_ERR_CONFIG);
    CHECK_MSG(strstr(err.message, "_id values"), "%s", err.message);
    odm_survey_infer_free(inf);
}

/* Values nested past the depth bound accept anything; the levels above stay typed. */
static void test_depth(void)
{
    bson_t *doc = bson_new();
    BSON_APPEND_INT32(doc, "_id", 1);
    bson_t levels[40];
    bson_t *parent = doc;
    for (int i = 0; i < 40; i++) {
        BSON_APPEND_DOCUMENT_BEGIN(parent, "x", &levels[i]);
        parent = &levels[i];
    }
    BSON_APPEND_INT32(parent, "leaf", 1);
    for (int i = 39; i >= 0; i--)
        bson_append_document_end(i ? &levels[i - 1] : doc, &levels[i]);
    odm_survey_infer_t *inf = odm_survey_infer_new();
    odm_error_t err;
    CHECK(odm_survey_infer_add(inf, doc, &err));
    json_t *model = odm_survey_infer_model(inf, "deep", &err);
    const json_t *v = model;
    int typed = 0;
    while ((v = json_object_get(json_object_get(v, "properties"), "x")) != NULL &&
           json_object_get(v, "type") != NULL)
        typed++;
    CHECK_MSG(typed == 32 && v != NULL && json_object_get(v, "description"),
              "%d typed levels, then %s", typed, v ? "an untyped one" : "none");
    json_decref(model);
    odm_survey_infer_free(inf);
    bson_destroy(doc);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        run_case(&cases[i]);
    test_refusals();
    test_depth();
    return check_done("test_survey");
}
