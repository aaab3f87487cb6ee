/* Unit tests for x-aggregations (src/model/model_aggregations.c): a good model's aggregations
 * and their typed parameters, every refusal at load with its file and JSON Pointer, and the
 * stage allow-list applied to free pipelines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "odmd/model.h"

static char tmp_root[] = "/tmp/odmd-test-agg-XXXXXX";

#define CHECK_CONTAINS(hay, needle)                                                                \
    CHECK_MSG(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

/* Writes files given as (name, content) pairs, NULL-terminated, into a new directory. */
static const char *make_dir(const char *dir_name, ...)
{
    static char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, dir_name);
    CHECK_MSG(mkdir(dir, 0700) == 0, "mkdir %s", dir);
    va_list ap;
    va_start(ap, dir_name);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *content = va_arg(ap, const char *);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(content, f);
            fclose(f);
        }
    }
    va_end(ap);
    return dir;
}

/* `s` with every ' turned into " (static ring of 4). */
static const char *Q(const char *s)
{
    static char out[4][4096];
    static size_t next;
    char *d = out[next++ % 4];
    size_t i = 0;
    for (; s[i] && i < 4095; i++)
        d[i] = s[i] == '\'' ? '"' : s[i];
    d[i] = '\0';
    return d;
}

static const char other_models[] =
    "{'x-collection': 'o_people', 'properties': {'name': {'type': 'string'}}}";
static const char owned_model[] = "{'x-owner': 'who', 'properties': {'who': {'type': 'string'}}}";
static const char gone_model[] = "{'x-softDelete': true, 'properties': {}}";
static const char secret_model[] = "{'properties': {'pw': {'type': 'string', 'writeOnly': true}}}";

/* Loads the model `text` as bad.json beside the other models; returns the message (static). */
static const char *load_error(const char *name, const char *text)
{
    static odm_error_t err;
    odm_error_clear(&err);
    char json[4096];
    snprintf(json, sizeof json, "%s", Q(text));
    char people[512], owned[512], gone[512], secret[512];
    snprintf(people, sizeof people, "%s", Q(other_models));
    snprintf(owned, sizeof owned, "%s", Q(owned_model));
    snprintf(gone, sizeof gone, "%s", Q(gone_model));
    snprintf(secret, sizeof secret, "%s", Q(secret_model));
    odm_models_t *models =
        odm_models_load(make_dir(name, "bad.json", json, "people.json", people, "owned.json", owned,
                                 "gone.json", gone, "secret.json", secret, NULL),
                        &err);
    if (models != NULL) {
        odm_models_free(models);
        return "(loaded)";
    }
    CHECK_INT(err.kind, ODM_ERR_CONFIG);
    return err.message;
}

static void test_good(void)
{
    const char *model = Q("{'properties': {'at': {'type': 'string', 'format': 'date-time'}, "
                          "'n': {'type': 'integer'}}, 'x-aggregations': {"
                          " 'since': {'description': 'by day', 'pipeline': ["
                          "   {'$match': {'at': {'$gte': {'$param': 'from'}}}},"
                          "   {'$group': {'_id': '$n', 'c': {'$sum': 1}}},"
                          "   {'$lookup': {'from': 'o_people', 'localField': '_id',"
                          "     'foreignField': 'n', 'as': 'p'}},"
                          "   {'$facet': {'a': [{'$count': 'k'}], 'b': [{'$limit': {'$param': "
                          "'top'}}]}}],"
                          "  'params': {'from': {'type': 'string', 'format': 'date-time'},"
                          "   'top': {'type': 'integer', 'minimum': 1, 'default': 5},"
                          "   'who': {'type': 'string', 'pattern': '^[0-9a-fA-F]{24}$'},"
                          "   'big': {'type': 'integer', 'x-bson': 'long'}}},"
                          " 'all': {'pipeline': []}}}");
    char text[4096];
    snprintf(text, sizeof text, "%s", model);
    const char *dir = make_dir("good", "m.json", text, "people.json", Q(other_models), NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    const odm_model_t *m = odm_models_find(models, "m", 1);
    CHECK_INT(m->n_aggregations, 2);
    const odm_aggregation_t *a = odm_model_aggregation(m, "since", 5);
    CHECK(a != NULL && odm_model_aggregation(m, "sinc", 4) == NULL);
    if (a == NULL) {
        odm_models_free(models);
        return;
    }
    CHECK_STR(a->description, "by day");
    CHECK_INT(a->n_params, 4);
    CHECK_STR(a->params[0].name, "from");
    CHECK_INT(a->params[0].bson, ODM_BSON_DATE);
    CHECK(a->params[0].default_value == NULL); /* required */
    CHECK_STR(a->params[1].type, "integer");
    CHECK(json_integer_value(a->params[1].default_value) == 5);
    CHECK_INT(a->params[2].bson, ODM_BSON_OBJECTID);
    CHECK_INT(a->params[3].bson, ODM_BSON_INT64);
    /* the compiled schema judges values */
    json_t *zero = json_integer(0), *two = json_integer(2);
    CHECK(!odm_schema_validate(a->params[1].compiled, zero, NULL));
    CHECK(odm_schema_validate(a->params[1].compiled, two, NULL));
    json_decref(zero);
    json_decref(two);
    json_t *bad_date = json_string("yesterday");
    CHECK(!odm_schema_validate(a->params[0].compiled, bad_date, NULL));
    json_decref(bad_date);
    CHECK_INT(odm_model_aggregation(m, "all", 3)->n_params, 0);
    odm_models_free(models);
}

/* Every refusal at load: the file, the JSON Pointer of the fault and the reason. */
static void test_refused(void)
{
    static const struct {
        const char *name, *model, *reason;
    } refused[] = {
        {"not-object", "{'x-aggregations': []}",
         "bad.json: /x-aggregations: 'x-aggregations' must be an object"},
        {"place", "{'properties': {'a': {'type': 'object', 'x-aggregations': {}}}}",
         "bad.json: /properties/a/x-aggregations: 'x-aggregations' is only allowed at the root"},
        {"bad-name", "{'x-aggregations': {'a b': {'pipeline': []}}}",
         "bad.json: /x-aggregations/a b: aggregation name 'a b' must match"},
        {"no-pipeline", "{'x-aggregations': {'a': {'params': {}}}}",
         "bad.json: /x-aggregations/a: 'a' must be {\"pipeline\""},
        {"unknown-member", "{'x-aggregations': {'a': {'pipeline': [], 'sort': 1}}}",
         "bad.json: /x-aggregations/a/sort: unknown member 'sort'"},
        {"param-name", "{'x-aggregations': {'a': {'pipeline': [], 'params': {'1x': {}}}}}",
         "bad.json: /x-aggregations/a/params/1x: parameter '1x' must match"},
        {"param-type",
         "{'x-aggregations': {'a': {'pipeline': [], 'params': {'p': {'type': 'array'}}}}}",
         "bad.json: /x-aggregations/a/params/p: 'p' must have one type"},
        {"param-schema",
         "{'x-aggregations': {'a': {'pipeline': [], 'params': {'p': {'minimum': 'x'}}}}}",
         "bad.json: /x-aggregations/a/params/p"},
        {"stage-out", "{'x-aggregations': {'a': {'pipeline': [{'$match': {}}, {'$out': 'x'}]}}}",
         "bad.json: /x-aggregations/a/pipeline/1/$out: stage '$out' is not allowed"},
        {"stage-merge", "{'x-aggregations': {'a': {'pipeline': [{'$merge': 'x'}]}}}",
         "bad.json: /x-aggregations/a/pipeline/0/$merge: stage '$merge' is not allowed"},
        {"stage-unknown", "{'x-aggregations': {'a': {'pipeline': [{'$graphLookup': {}}]}}}",
         "/x-aggregations/a/pipeline/0/$graphLookup: stage '$graphLookup' is not allowed"},
        {"stage-two", "{'x-aggregations': {'a': {'pipeline': [{'$match': {}, '$limit': 1}]}}}",
         "/x-aggregations/a/pipeline/0: a stage must be an object with exactly one member"},
        {"where", "{'x-aggregations': {'a': {'pipeline': [{'$match': {'$where': 'true'}}]}}}",
         "/x-aggregations/a/pipeline/0/$match/$where: '$where' is not allowed"},
        {"function",
         "{'x-aggregations': {'a': {'pipeline': [{'$match': {'$expr': {'$function': {}}}}]}}}",
         "/x-aggregations/a/pipeline/0/$match/$expr/$function: '$function' is not allowed"},
        {"accumulator",
         "{'x-aggregations': {'a': {'pipeline': [{'$group': {'_id': 1, 'x': {'$accumulator': "
         "{}}}}]}}}",
         "/x-aggregations/a/pipeline/0/$group/x/$accumulator: '$accumulator' is not allowed"},
        {"facet-out",
         "{'x-aggregations': {'a': {'pipeline': [{'$facet': {'f': [{'$out': 'x'}]}}]}}}",
         "/x-aggregations/a/pipeline/0/$facet/f/0/$out: '$out' is not allowed"},
        {"facet-stage",
         "{'x-aggregations': {'a': {'pipeline': [{'$facet': {'f': [{'$sample': {}}]}}]}}}",
         "/x-aggregations/a/pipeline/0/$facet/f/0/$sample: stage '$sample' is not allowed"},
        {"param-undeclared",
         "{'x-aggregations': {'a': {'pipeline': [{'$limit': {'$param': 'n'}}], 'params': "
         "{'m': {}}}}}",
         "/x-aggregations/a/pipeline/0/$limit: 'n' is not a declared parameter"},
        {"param-none", "{'x-aggregations': {'a': {'pipeline': [{'$limit': {'$param': 'n'}}]}}}",
         "/x-aggregations/a/pipeline/0/$limit: 'n' is not a declared parameter"},
        {"lookup-unknown",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'nope', 'as': 'x'}}]}}}",
         "/x-aggregations/a/pipeline/0/$lookup/from: 'nope' is not the collection of a model"},
        {"lookup-owned",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'owned', 'as': 'x'}}]}}}",
         "/x-aggregations/a/pipeline/0/$lookup/from: $lookup into 'owned' is refused"},
        {"lookup-gone",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'gone', 'as': 'x'}}]}}}",
         "/x-aggregations/a/pipeline/0/$lookup/from: $lookup into 'gone' is refused"},
        {"lookup-secret",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'secret', 'as': 'x'}}]}}}",
         "$lookup into 'secret' is refused: joined documents would show its writeOnly"},
        {"lookup-pipeline",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'o_people', 'as': 'x', "
         "'pipeline': [{'$merge': 'y'}]}}]}}}",
         "/x-aggregations/a/pipeline/0/$lookup/pipeline/0/$merge: '$merge' is not allowed"},
        {"lookup-pipeline-stage",
         "{'x-aggregations': {'a': {'pipeline': [{'$lookup': {'from': 'o_people', 'as': 'x', "
         "'pipeline': [{'$sample': {'size': 1}}]}}]}}}",
         "/x-aggregations/a/pipeline/0/$lookup/pipeline/0/$sample: stage '$sample' is not"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *msg = load_error(refused[i].name, refused[i].model);
        CHECK_CONTAINS(msg, refused[i].reason);
    }
}

/* Free pipelines (the Data API's aggregate): the same checker, no $param. */
static void test_free_pipeline(void)
{
    const char *dir = make_dir("free", "people.json", Q(other_models), NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    json_t *ok = json_loads(Q("[{'$match': {'a': 1}}, {'$sortByCount': '$a'}]"), 0, NULL);
    CHECK(odm_model_check_pipeline(models, ok, NULL, &err));
    json_t *param = json_loads(Q("[{'$limit': {'$param': 'n'}}]"), 0, NULL);
    CHECK(!odm_model_check_pipeline(models, param, NULL, &err));
    CHECK_INT(err.kind, ODM_ERR_BAD_QUERY);
    CHECK_CONTAINS(err.message, "/0/$limit: '$param' is only for the parameters");
    json_t *out = json_loads(Q("[{'$out': 'x'}]"), 0, NULL);
    CHECK(!odm_model_check_pipeline(models, out, NULL, &err));
    CHECK_CONTAINS(err.message, "/0/$out: stage '$out' is not allowed");
    json_t *not_array = json_loads(Q("{'$match': {}}"), 0, NULL);
    CHECK(!odm_model_check_pipeline(models, not_array, NULL, &err));
    CHECK_CONTAINS(err.message, "/: a pipeline must be an array of stages");
    /* nesting past the bound */
    char deep[1024];
    size_t len = (size_t)snprintf(deep, sizeof deep, "[{'$match': ");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(deep + len, sizeof deep - len, "{'a': ");
    len += (size_t)snprintf(deep + len, sizeof deep - len, "1");
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(deep + len, sizeof deep - len, "}");
    snprintf(deep + len, sizeof deep - len, "}]");
    json_t *too_deep = json_loads(Q(deep), 0, NULL);
    CHECK(too_deep != NULL && !odm_model_check_pipeline(models, too_deep, NULL, &err));
    CHECK_CONTAINS(err.message, "nested too deeply");
    json_decref(ok);
    json_decref(param);
    json_decref(out);
    json_decref(not_array);
    json_decref(too_deep);
    odm_models_free(models);
}

int main(void)
{
    if (mkdtemp(tmp_root) == NULL)
        return 1;
    test_good();
    test_refused();
    test_free_pipeline();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_done("test_aggregations");
}
