/* Unit tests for the update operators (src/codec/codec_update*.c): each operator as MongoDB's
 * manual describes it (most cases are its examples), dotted paths, arrays, missing fields, type
 * mismatches, conflicts, and every refusal with the pointer it names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "odmd/codec_update.h"

static odm_models_t *models;
static const odm_model_t *things;
static char tmp_dir[] = "/tmp/odmd-test-update-XXXXXX";
static char result[4096];
static odm_pointer_t where;

static const char things_model[] =
    "{\"type\": \"object\", \"properties\": {\n"
    "  \"_id\": {\"type\": \"string\", \"x-bson\": \"objectId\", \"readOnly\": true},\n"
    "  \"when\": {\"type\": \"string\", \"format\": \"date-time\"},\n"
    "  \"days\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": "
    "\"date-time\"}},\n"
    "  \"ref\": {\"type\": \"string\", \"x-bson\": \"objectId\"},\n"
    "  \"meta\": {\"type\": \"object\", \"properties\": {\n"
    "    \"created\": {\"type\": \"string\", \"readOnly\": true},\n"
    "    \"note\": {\"type\": \"string\"}}},\n"
    "  \"secret\": {\"type\": \"object\", \"writeOnly\": true, \"properties\": {\"pin\": {}}},\n"
    "  \"box\": {\"type\": \"object\", \"properties\": {\"key\": {\"writeOnly\": true}}},\n"
    "  \"lines\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {\n"
    "    \"sku\": {\"type\": \"string\", \"readOnly\": true},\n"
    "    \"qty\": {\"type\": \"integer\"}}}},\n"
    "  \"seals\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"readOnly\": true}},\n"
    "  \"any\": {}}}";

static bool setup(void)
{
    odm_error_t err = {0};
    char path[256];
    if (mkdtemp(tmp_dir) == NULL)
        return false;
    snprintf(path, sizeof path, "%s/things.json", tmp_dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    fputs(things_model, f);
    fclose(f);
    models = odm_models_load(tmp_dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    things = models ? odm_models_find(models, "things", 6) : NULL;
    return things != NULL;
}

/* Applies `update` to `doc` (JSON texts) for documents of `model` (may be NULL), at time 0.
 * Returns: the result as compact JSON, or "ERROR: message" (the pointer in `where`). */
static const char *run_as(const odm_model_t *model, const char *doc, const char *update,
                          bool inserting)
{
    odm_error_t err = {0};
    json_t *d = json_loads(doc, 0, NULL), *u = json_loads(update, JSON_DECODE_ANY, NULL);
    odm_update_t *c = u ? odm_codec_update_compile(model, u, "/update", &where, &err) : NULL;
    bool ok = c != NULL && d != NULL && odm_codec_update_apply(c, d, inserting, 0, &where, &err);
    char *s = ok ? json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (ok)
        snprintf(result, sizeof result, "%s", s ? s : "(out of memory)");
    else
        snprintf(result, sizeof result, "ERROR: %s", u && d ? err.message : "bad test JSON");
    free(s);
    odm_codec_update_free(c);
    json_decref(d);
    json_decref(u);
    return result;
}

static const char *run(const char *doc, const char *update)
{
    return run_as(NULL, doc, update, false);
}

#define CHECK_ERROR(got, pointer, words)                                                           \
    do {                                                                                           \
        const char *got_ = (got);                                                                  \
        CHECK_MSG(strncmp(got_, "ERROR: ", 7) == 0 && strstr(got_, (words)) != NULL,               \
                  "got '%s', want an error with '%s'", got_, (words));                             \
        CHECK_STR(where.buf, (pointer));                                                           \
    } while (0)

static void test_set(void)
{
    const char *doc = "{\"_id\":100,\"quantity\":250,\"instock\":true,\"details\":{\"model\":"
                      "\"14QQ\",\"make\":\"Clothes Corp\"},\"tags\":[\"apparel\",\"clothing\"],"
                      "\"ratings\":[{\"by\":\"Customer007\",\"rating\":4}]}";
    CHECK_STR(run(doc, "{\"$set\":{\"quantity\":500,\"details\":{\"model\":\"2600\",\"make\":"
                       "\"Fashionaires\"},\"tags\":[\"coats\",\"outerwear\",\"clothing\"]}}"),
              "{\"_id\":100,\"quantity\":500,\"instock\":true,\"details\":{\"model\":\"2600\","
              "\"make\":\"Fashionaires\"},\"tags\":[\"coats\",\"outerwear\",\"clothing\"],"
              "\"ratings\":[{\"by\":\"Customer007\",\"rating\":4}]}");
    /* embedded documents, array elements by index */
    CHECK_STR(run(doc, "{\"$set\":{\"details.make\":\"Kustom Kidz\",\"tags.1\":\"rain gear\","
                       "\"ratings.0.rating\":2}}"),
              "{\"_id\":100,\"quantity\":250,\"instock\":true,\"details\":{\"model\":\"14QQ\","
              "\"make\":\"Kustom Kidz\"},\"tags\":[\"apparel\",\"rain gear\"],\"ratings\":[{"
              "\"by\":\"Customer007\",\"rating\":2}]}");
    /* missing embedded documents are created; new fields in MongoDB's (lexicographic) order */
    CHECK_STR(run("{}", "{\"$set\":{\"b\":1,\"a.b.c\":1}}"), "{\"a\":{\"b\":{\"c\":1}},\"b\":1}");
    CHECK_STR(run("{}", "{\"$set\":{\"x.10\":1,\"x.9\":2}}"), "{\"x\":{\"9\":2,\"10\":1}}");
    /* past an array's end: padded with nulls */
    CHECK_STR(run("{\"a\":[1]}", "{\"$set\":{\"a.3\":4}}"), "{\"a\":[1,null,null,4]}");
    CHECK_STR(run("{\"a\":[]}", "{\"$set\":{\"a.1.b\":4}}"), "{\"a\":[null,{\"b\":4}]}");
    /* a scalar on the way, a field name into an array */
    CHECK_ERROR(run("{\"a\":1}", "{\"$set\":{\"a.b\":2}}"), "/update/$set/a.b",
                "cannot create field 'b' in 'a', a value of type int");
    CHECK_ERROR(run("{\"a\":[1]}", "{\"$set\":{\"a.x\":1}}"), "/update/$set/a.x",
                "cannot create field 'x' in an array");
    CHECK_ERROR(run("{\"a\":[]}", "{\"$set\":{\"a.100000\":1}}"), "/update/$set/a.100000",
                "past the limit");
    /* a value is copied, never shared with the update */
    CHECK_STR(run("{}", "{\"$set\":{\"o\":{\"p\":[1]}}}"), "{\"o\":{\"p\":[1]}}");
}

static void test_unset(void)
{
    CHECK_STR(run("{\"sku\":\"unknown\",\"quantity\":2,\"instock\":true}",
                  "{\"$unset\":{\"quantity\":\"\",\"instock\":\"\"}}"),
              "{\"sku\":\"unknown\"}");
    CHECK_STR(run("{\"a\":1}", "{\"$unset\":{\"b\":\"\",\"c.d\":1,\"a.e\":1}}"), "{\"a\":1}");
    CHECK_STR(run("{\"a\":{\"b\":1,\"c\":2}}", "{\"$unset\":{\"a.b\":true}}"), "{\"a\":{\"c\":2}}");
    /* an array element becomes null: the array keeps its length */
    CHECK_STR(run("{\"a\":[1,2,3]}", "{\"$unset\":{\"a.1\":\"\",\"a.7\":\"\"}}"),
              "{\"a\":[1,null,3]}");
}

static void test_inc(void)
{
    CHECK_STR(run("{\"_id\":1,\"sku\":\"abc123\",\"quantity\":10,\"metrics\":{\"orders\":2,"
                  "\"ratings\":3.5}}",
                  "{\"$inc\":{\"quantity\":-2,\"metrics.orders\":1}}"),
              "{\"_id\":1,\"sku\":\"abc123\",\"quantity\":8,\"metrics\":{\"orders\":3,"
              "\"ratings\":3.5}}");
    /* a missing field is created with the increment; a double makes a double */
    CHECK_STR(run("{}", "{\"$inc\":{\"a.b\":5}}"), "{\"a\":{\"b\":5}}");
    CHECK_STR(run("{\"a\":[1,2]}", "{\"$inc\":{\"a.1\":5}}"), "{\"a\":[1,7]}");
    CHECK_STR(run("{\"a\":[{\"n\":1}]}", "{\"$inc\":{\"a.0.n\":1,\"a.2.n\":1}}"),
              "{\"a\":[{\"n\":2},null,{\"n\":1}]}");
    CHECK_STR(run("{\"a\":1}", "{\"$inc\":{\"a\":0.5}}"), "{\"a\":1.5}");
    CHECK_STR(run("{\"a\":1.5}", "{\"$inc\":{\"a\":1}}"), "{\"a\":2.5}");
    /* an int32 overflows into an int64; an int64 overflow is an error */
    CHECK_STR(run("{\"a\":2147483647}", "{\"$inc\":{\"a\":1}}"), "{\"a\":2147483648}");
    CHECK_ERROR(run("{\"a\":9223372036854775807}", "{\"$inc\":{\"a\":1}}"), "/update/$inc/a",
                "overflows a 64-bit integer");
    CHECK_ERROR(run("{\"a\":-9223372036854775807}", "{\"$inc\":{\"a\":-2}}"), "/update/$inc/a",
                "overflows");
    CHECK_ERROR(run("{\"a\":\"x\"}", "{\"$inc\":{\"a\":1}}"), "/update/$inc/a",
                "non-numeric type: field 'a' is of type string");
    CHECK_ERROR(run("{}", "{\"$inc\":{\"a\":\"1\"}}"), "/update/$inc/a", "$inc needs a number");
    CHECK_ERROR(run("{\"a~/b\":\"x\"}", "{\"$inc\":{\"a~/b\":1}}"), "/update/$inc/a~0~1b",
                "non-numeric");
}

static void test_mul(void)
{
    CHECK_STR(run("{\"_id\":1,\"item\":\"Hats\",\"price\":10.5,\"quantity\":25}",
                  "{\"$mul\":{\"price\":1.25,\"quantity\":2}}"),
              "{\"_id\":1,\"item\":\"Hats\",\"price\":13.125,\"quantity\":50}");
    /* a missing field: zero of the multiplier's type */
    CHECK_STR(run("{\"_id\":2}", "{\"$mul\":{\"price\":100}}"), "{\"_id\":2,\"price\":0}");
    CHECK_STR(run("{}", "{\"$mul\":{\"price\":2.5}}"), "{\"price\":0.0}");
    CHECK_STR(run("{\"a\":3}", "{\"$mul\":{\"a\":1.5}}"), "{\"a\":4.5}");
    CHECK_ERROR(run("{\"a\":4611686018427387904}", "{\"$mul\":{\"a\":2}}"), "/update/$mul/a",
                "overflows a 64-bit integer");
    CHECK_ERROR(run("{\"a\":1e300}", "{\"$mul\":{\"a\":1e300}}"), "/update/$mul/a",
                "not a finite number");
    CHECK_ERROR(run("{\"a\":[1]}", "{\"$mul\":{\"a\":2}}"), "/update/$mul/a", "of type array");
}

static void test_min_max(void)
{
    const char *doc = "{\"_id\":1,\"highScore\":800,\"lowScore\":200}";
    CHECK_STR(run(doc, "{\"$min\":{\"lowScore\":150}}"),
              "{\"_id\":1,\"highScore\":800,\"lowScore\":150}");
    CHECK_STR(run(doc, "{\"$min\":{\"lowScore\":250}}"), doc);
    CHECK_STR(run(doc, "{\"$max\":{\"highScore\":950}}"),
              "{\"_id\":1,\"highScore\":950,\"lowScore\":200}");
    const char *high = "{\"_id\":1,\"highScore\":950,\"lowScore\":200}";
    CHECK_STR(run(high, "{\"$max\":{\"highScore\":870}}"), high);
    /* missing: set; numbers by value; across kinds by BSON's order (numbers < strings) */
    CHECK_STR(run("{}", "{\"$max\":{\"a.b\":1}}"), "{\"a\":{\"b\":1}}");
    CHECK_STR(run("{\"a\":2}", "{\"$min\":{\"a\":2.0}}"), "{\"a\":2}");
    CHECK_STR(run("{\"a\":\"x\"}", "{\"$min\":{\"a\":5}}"), "{\"a\":5}");
    CHECK_STR(run("{\"a\":\"x\"}", "{\"$max\":{\"a\":5}}"), "{\"a\":\"x\"}");
    CHECK_STR(run("{\"a\":null}", "{\"$max\":{\"a\":false}}"), "{\"a\":false}");
    /* a date field compares instants: 05:30+01:00 is before 05:00Z, whatever the text says */
    const char *when = "{\"when\":\"2013-10-01T05:00:00.000Z\"}";
    CHECK_STR(run_as(things, when, "{\"$max\":{\"when\":\"2013-10-01T05:30:00+01:00\"}}", false),
              when);
    CHECK_STR(run_as(NULL, when, "{\"$max\":{\"when\":\"2013-10-01T05:30:00+01:00\"}}", false),
              "{\"when\":\"2013-10-01T05:30:00+01:00\"}");
    CHECK_STR(run_as(things, when, "{\"$min\":{\"when\":\"2013-09-25T00:00:00Z\"}}", false),
              "{\"when\":\"2013-09-25T00:00:00Z\"}");
    /* an ObjectId field compares the 12 bytes, not the text's case */
    CHECK_STR(run_as(things, "{\"ref\":\"0000000000000000000000aa\"}",
                     "{\"$max\":{\"ref\":\"0000000000000000000000AB\"}}", false),
              "{\"ref\":\"0000000000000000000000AB\"}");
}

static void test_rename(void)
{
    const char *doc = "{\"_id\":1,\"mobile\":\"555\",\"nmae\":{\"first\":\"george\",\"last\":"
                      "\"washington\"}}";
    CHECK_STR(run(doc, "{\"$rename\":{\"nmae\":\"name\"}}"),
              "{\"_id\":1,\"mobile\":\"555\",\"name\":{\"first\":\"george\",\"last\":"
              "\"washington\"}}");
    CHECK_STR(run(doc, "{\"$rename\":{\"nmae.first\":\"nmae.fname\",\"mobile\":\"contact."
                       "mobile\"}}"),
              "{\"_id\":1,\"nmae\":{\"last\":\"washington\",\"fname\":\"george\"},\"contact\":{"
              "\"mobile\":\"555\"}}");
    /* a missing source changes nothing; the target is overwritten */
    CHECK_STR(run(doc, "{\"$rename\":{\"wife\":\"spouse\"}}"), doc);
    CHECK_STR(run("{\"a\":1,\"b\":2}", "{\"$rename\":{\"a\":\"b\"}}"), "{\"b\":1}");
    CHECK_ERROR(run("{\"a\":[{\"b\":1}]}", "{\"$rename\":{\"a.0.b\":\"c\"}}"),
                "/update/$rename/a.0.b", "the source field cannot be an array element");
    CHECK_ERROR(run("{\"a\":[],\"x\":1}", "{\"$rename\":{\"x\":\"a.0\"}}"), "/update/$rename/x",
                "the destination field cannot be an array element");
    CHECK_ERROR(run("{}", "{\"$rename\":{\"a\":\"a\"}}"), "/update/$rename/a", "must differ");
    CHECK_ERROR(run("{}", "{\"$rename\":{\"a\":\"a.b\"}}"), "/update/$rename/a",
                "must not be on the same path");
    CHECK_ERROR(run("{}", "{\"$rename\":{\"a\":1}}"), "/update/$rename/a", "needs a string");
    CHECK_ERROR(run("{}", "{\"$rename\":{\"a\":\"_id\"}}"), "/update/$rename/a",
                "immutable field '_id'");
}

static void test_push(void)
{
    CHECK_STR(run("{\"_id\":1,\"scores\":[44,78,38,80]}", "{\"$push\":{\"scores\":89}}"),
              "{\"_id\":1,\"scores\":[44,78,38,80,89]}");
    CHECK_STR(run("{}", "{\"$push\":{\"a.b\":[1]}}"), "{\"a\":{\"b\":[[1]]}}");
    CHECK_STR(run("{\"s\":[1]}", "{\"$push\":{\"s\":{\"$each\":[90,92,85]}}}"),
              "{\"s\":[1,90,92,85]}");
    /* $each, $sort on a field, $slice: the manual's quizzes */
    CHECK_STR(run("{\"q\":[{\"wk\":1,\"score\":10},{\"wk\":2,\"score\":8},{\"wk\":3,\"score\":5},"
                  "{\"wk\":4,\"score\":6}]}",
                  "{\"$push\":{\"q\":{\"$each\":[{\"wk\":5,\"score\":8},{\"wk\":6,\"score\":7},{"
                  "\"wk\":7,\"score\":6}],\"$sort\":{\"score\":-1},\"$slice\":3}}}"),
              "{\"q\":[{\"wk\":1,\"score\":10},{\"wk\":2,\"score\":8},{\"wk\":5,\"score\":8}]}");
    CHECK_STR(run("{\"s\":[3,1]}", "{\"$push\":{\"s\":{\"$each\":[2],\"$sort\":1}}}"),
              "{\"s\":[1,2,3]}");
    /* $position, from the start and from the end */
    CHECK_STR(run("{\"s\":[100]}", "{\"$push\":{\"s\":{\"$each\":[50,60,70],\"$position\":0}}}"),
              "{\"s\":[50,60,70,100]}");
    CHECK_STR(
        run("{\"s\":[50,60,70,100]}", "{\"$push\":{\"s\":{\"$each\":[20,30],\"$position\":-2}}}"),
        "{\"s\":[50,60,20,30,70,100]}");
    /* $slice negative, positive, zero */
    CHECK_STR(run("{\"s\":[40,50,60]}", "{\"$push\":{\"s\":{\"$each\":[80,78,86],\"$slice\":-5}}}"),
              "{\"s\":[50,60,80,78,86]}");
    CHECK_STR(run("{\"s\":[89,90]}", "{\"$push\":{\"s\":{\"$each\":[100,20],\"$slice\":3}}}"),
              "{\"s\":[89,90,100]}");
    CHECK_STR(run("{\"s\":[1,2]}", "{\"$push\":{\"s\":{\"$each\":[],\"$slice\":0}}}"),
              "{\"s\":[]}");
    CHECK_ERROR(run("{\"s\":5}", "{\"$push\":{\"s\":1}}"), "/update/$push/s",
                "non-array field: field 's' is of type int");
    CHECK_ERROR(run("{}", "{\"$push\":{\"s\":{\"$each\":[1],\"$top\":1}}}"), "/update/$push/s",
                "unrecognized clause in $push: $top");
    CHECK_ERROR(run("{}", "{\"$push\":{\"s\":{\"$slice\":1}}}"), "/update/$push/s",
                "$slice in $push needs $each");
    CHECK_ERROR(run("{}", "{\"$push\":{\"s\":{\"$each\":1}}}"), "/update/$push/s",
                "must be an array");
    char big[8192];
    int n = snprintf(big, sizeof big, "{\"$push\":{\"s\":{\"$each\":[0");
    for (int i = 0; i < ODM_UPDATE_MAX_EACH; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, ",0");
    snprintf(big + n, sizeof big - (size_t)n, "]}}}");
    CHECK_ERROR(run("{}", big), "/update/$push/s", "more than 1000 items in $each");
    CHECK_ERROR(run("{}", "{\"$push\":{\"s\":{\"$each\":[1],\"$sort\":2}}}"), "/update/$push/s",
                "$sort in $push");
}

static void test_add_to_set(void)
{
    CHECK_STR(run("{\"letters\":[\"a\",\"b\"]}", "{\"$addToSet\":{\"letters\":[\"c\",\"d\"]}}"),
              "{\"letters\":[\"a\",\"b\",[\"c\",\"d\"]]}");
    CHECK_STR(run("{\"tags\":[\"electronics\",\"camera\"]}",
                  "{\"$addToSet\":{\"tags\":\"accessories\"}}"),
              "{\"tags\":[\"electronics\",\"camera\",\"accessories\"]}");
    CHECK_STR(
        run("{\"tags\":[\"electronics\",\"camera\"]}", "{\"$addToSet\":{\"tags\":\"camera\"}}"),
        "{\"tags\":[\"electronics\",\"camera\"]}");
    CHECK_STR(run("{\"tags\":[\"electronics\",\"supplies\"]}",
                  "{\"$addToSet\":{\"tags\":{\"$each\":[\"camera\",\"electronics\",\"accessories\","
                  "\"camera\"]}}}"),
              "{\"tags\":[\"electronics\",\"supplies\",\"camera\",\"accessories\"]}");
    /* documents are equal only with the same fields in the same order; numbers by value */
    CHECK_STR(run("{\"a\":[{\"x\":1,\"y\":2}]}", "{\"$addToSet\":{\"a\":{\"x\":1,\"y\":2}}}"),
              "{\"a\":[{\"x\":1,\"y\":2}]}");
    CHECK_STR(run("{\"a\":[{\"x\":1,\"y\":2}]}", "{\"$addToSet\":{\"a\":{\"y\":2,\"x\":1}}}"),
              "{\"a\":[{\"x\":1,\"y\":2},{\"y\":2,\"x\":1}]}");
    CHECK_STR(run("{\"a\":[1]}", "{\"$addToSet\":{\"a\":1.0}}"), "{\"a\":[1]}");
    CHECK_STR(run("{}", "{\"$addToSet\":{\"a\":1}}"), "{\"a\":[1]}");
    /* dates of a date field by instant */
    CHECK_STR(run_as(things, "{\"days\":[\"2020-01-01T00:00:00.000Z\"]}",
                     "{\"$addToSet\":{\"days\":\"2020-01-01T01:00:00+01:00\"}}", false),
              "{\"days\":[\"2020-01-01T00:00:00.000Z\"]}");
    CHECK_ERROR(run("{\"a\":1}", "{\"$addToSet\":{\"a\":1}}"), "/update/$addToSet/a",
                "non-array field");
    CHECK_ERROR(run("{}", "{\"$addToSet\":{\"a\":{\"$each\":[1],\"b\":1}}}"), "/update/$addToSet/a",
                "unexpected fields after $each");
}

static void test_pop(void)
{
    CHECK_STR(run("{\"s\":[8,9,10]}", "{\"$pop\":{\"s\":-1}}"), "{\"s\":[9,10]}");
    CHECK_STR(run("{\"s\":[9,10]}", "{\"$pop\":{\"s\":1}}"), "{\"s\":[9]}");
    CHECK_STR(run("{\"s\":[]}", "{\"$pop\":{\"s\":1,\"t\":1}}"), "{\"s\":[]}");
    CHECK_ERROR(run("{}", "{\"$pop\":{\"s\":2}}"), "/update/$pop/s", "$pop expects 1 or -1");
    CHECK_ERROR(run("{\"s\":\"x\"}", "{\"$pop\":{\"s\":1}}"), "/update/$pop/s", "non-array value");
}

static void test_pull(void)
{
    CHECK_STR(run("{\"fruits\":[\"apples\",\"pears\",\"oranges\",\"grapes\",\"bananas\"],"
                  "\"vegetables\":[\"carrots\",\"celery\",\"squash\",\"carrots\"]}",
                  "{\"$pull\":{\"fruits\":{\"$in\":[\"apples\",\"oranges\"]},\"vegetables\":"
                  "\"carrots\"}}"),
              "{\"fruits\":[\"pears\",\"grapes\",\"bananas\"],\"vegetables\":[\"celery\","
              "\"squash\"]}");
    CHECK_STR(run("{\"votes\":[3,5,6,7,7,8]}", "{\"$pull\":{\"votes\":{\"$gte\":6}}}"),
              "{\"votes\":[3,5]}");
    /* type bracketing: $gte 6 leaves strings alone */
    CHECK_STR(run("{\"v\":[\"7\",7]}", "{\"$pull\":{\"v\":{\"$gte\":6}}}"), "{\"v\":[\"7\"]}");
    /* a document condition is a query on each element (other fields may be there) */
    CHECK_STR(run("{\"r\":[{\"item\":\"A\",\"score\":5},{\"item\":\"B\",\"score\":8,\"c\":1}]}",
                  "{\"$pull\":{\"r\":{\"score\":8,\"item\":\"B\"}}}"),
              "{\"r\":[{\"item\":\"A\",\"score\":5}]}");
    CHECK_STR(
        run("{\"r\":[{\"item\":\"A\",\"score\":5,\"answers\":[{\"q\":1,\"a\":4},{\"q\":2,"
            "\"a\":6}]},{\"item\":\"B\",\"score\":8,\"answers\":[{\"q\":1,\"a\":8},{\"q\":"
            "2,\"a\":9}]}]}",
            "{\"$pull\":{\"r\":{\"answers\":{\"$elemMatch\":{\"q\":2,\"a\":{\"$gte\":8}}}}}}"),
        "{\"r\":[{\"item\":\"A\",\"score\":5,\"answers\":[{\"q\":1,\"a\":4},{\"q\":2,\"a\":"
        "6}]}]}");
    CHECK_STR(run("{\"r\":[{\"a\":1},{\"a\":2},{\"b\":3}]}",
                  "{\"$pull\":{\"r\":{\"$or\":[{\"a\":1},{\"b\":{\"$exists\":true}}]}}}"),
              "{\"r\":[{\"a\":2}]}");
    CHECK_STR(run("{\"r\":[[1,2],[2,1]]}", "{\"$pull\":{\"r\":[2,1]}}"), "{\"r\":[[1,2]]}");
    CHECK_STR(run("{\"r\":[1,2,3]}", "{\"$pull\":{\"r\":{\"$not\":{\"$lt\":2}}}}"), "{\"r\":[1]}");
    CHECK_STR(run("{}", "{\"$pull\":{\"r\":1}}"), "{}");
    CHECK_ERROR(run("{\"r\":1}", "{\"$pull\":{\"r\":1}}"), "/update/$pull/r", "non-array value");
    CHECK_ERROR(run("{}", "{\"$pull\":{\"r\":{\"$regex\":\"x\"}}}"), "/update/$pull/r/$regex",
                "'$regex' is not allowed in a $pull condition");
    CHECK_ERROR(run("{}", "{\"$pull\":{\"r\":{\"a\":{\"$where\":\"1\"}}}}"),
                "/update/$pull/r/a/$where", "not allowed");
    CHECK_ERROR(run("{}", "{\"$pull\":{\"r\":{\"$in\":1}}}"), "/update/$pull/r/$in",
                "needs an array");
}

static void test_current_date_and_set_on_insert(void)
{
    CHECK_STR(run("{\"status\":\"a\"}", "{\"$currentDate\":{\"lastModified\":true,"
                                        "\"cancellation.date\":{\"$type\":\"date\"}}}"),
              "{\"status\":\"a\",\"cancellation\":{\"date\":\"1970-01-01T00:00:00.000Z\"},"
              "\"lastModified\":\"1970-01-01T00:00:00.000Z\"}");
    CHECK_ERROR(run("{}", "{\"$currentDate\":{\"t\":{\"$type\":\"timestamp\"}}}"),
                "/update/$currentDate/t", "not supported");
    CHECK_ERROR(run("{}", "{\"$currentDate\":{\"t\":1}}"), "/update/$currentDate/t",
                "needs true or");
    const char *u = "{\"$set\":{\"item\":\"apple\"},\"$setOnInsert\":{\"defaultQty\":100,\"_id\":"
                    "1}}";
    CHECK_STR(run_as(NULL, "{}", u, true), "{\"_id\":1,\"defaultQty\":100,\"item\":\"apple\"}");
    CHECK_STR(run_as(NULL, "{\"_id\":2}", u, false), "{\"_id\":2,\"item\":\"apple\"}");
}

static void test_refusals(void)
{
    CHECK_ERROR(run("{}", "[{\"$set\":{\"a\":1}}]"), "/update", "update pipelines");
    CHECK_ERROR(run("{}", "5"), "/update", "must be an object");
    CHECK_ERROR(run("{}", "{}"), "/update", "the update is empty");
    CHECK_ERROR(run("{}", "{\"$set\":{\"a\":1},\"a\":2}"), "/update/a",
                "'a' is not an update operator");
    CHECK_ERROR(run("{}", "{\"$where\":{\"a\":1}}"), "/update/$where",
                "update operator '$where' is not supported");
    CHECK_ERROR(run("{}", "{\"$set\":5}"), "/update/$set", "needs an object of fields");
    CHECK_ERROR(run("{}", "{\"$set\":{\"a..b\":1}}"), "/update/$set/a..b", "empty field name");
    CHECK_ERROR(run("{}", "{\"$set\":{\"\":1}}"), "/update/$set/", "empty field name");
    CHECK_ERROR(run("{}", "{\"$set\":{\"a.$.b\":1}}"), "/update/$set/a.$.b",
                "positional operators are not supported");
    CHECK_ERROR(run("{}", "{\"$inc\":{\"_id\":1}}"), "/update/$inc/_id",
                "would modify the immutable field '_id'");
    CHECK_ERROR(run("{}", "{\"$unset\":{\"_id.x\":1}}"), "/update/$unset/_id.x", "immutable");
    /* conflicts: the same path, a prefix, a rename's target */
    CHECK_ERROR(run("{}", "{\"$set\":{\"a\":1},\"$inc\":{\"a.b\":1}}"), "/update/$inc/a.b",
                "updating the path 'a.b' would create a conflict at 'a'");
    CHECK_ERROR(run("{}", "{\"$set\":{\"a\":1},\"$unset\":{\"a\":1}}"), "/update/$unset/a",
                "updating the path 'a' would create a conflict at 'a'");
    CHECK_ERROR(run("{}", "{\"$rename\":{\"a\":\"b.c\"},\"$set\":{\"b\":1}}"), "/update/$set/b",
                "conflict at 'b'");
    CHECK_ERROR(run("{}", "{\"$set\":{\"x.y\":1},\"$setOnInsert\":{\"x\":1}}"),
                "/update/$setOnInsert/x", "conflict at 'x'");
    CHECK_ERROR(run("{}", "{\"$set\":{\"a.b\":1,\"c\":1,\"a.1\":1,\"a.b.c.d\":2}}"),
                "/update/$set/a.b.c.d",
                "updating the path 'a.b.c.d' would create a conflict at 'a.b'");
    CHECK_ERROR(run("{}", "{\"$inc\":{\"a.b\":1},\"$set\":{\"a\":1}}"), "/update/$set/a",
                "updating the path 'a' would create a conflict at 'a'");
    /* numeric names in numeric order, before the others (a total order: 2 < 10 < 1a) */
    CHECK_STR(run("{}", "{\"$set\":{\"x.1a\":1,\"x.10\":2,\"x.2\":3}}"),
              "{\"x\":{\"2\":3,\"10\":2,\"1a\":1}}");
    /* siblings and look-alike prefixes are no conflict */
    CHECK_STR(run("{}", "{\"$set\":{\"a.b\":1,\"a.bc\":2},\"$inc\":{\"ab\":1}}"),
              "{\"a\":{\"b\":1,\"bc\":2},\"ab\":1}");
    /* an empty operator is allowed (MongoDB 5.0 on) and changes nothing */
    CHECK_STR(run("{\"a\":1}", "{\"$set\":{}}"), "{\"a\":1}");
}

/* Whether `update` compiles for things and writes a writeOnly field. */
static bool writes_write_only(const char *update)
{
    odm_error_t err = {0};
    json_t *u = json_loads(update, 0, NULL);
    odm_update_t *c = u ? odm_codec_update_compile(things, u, "/update", &where, &err) : NULL;
    bool yes = c != NULL && odm_codec_update_writes_write_only(c);
    odm_codec_update_free(c);
    json_decref(u);
    return yes;
}

/* A writeOnly value is set or unset as a whole, never read through an operator. */
static void test_write_only(void)
{
    CHECK_STR(
        run_as(things, "{\"secret\":{\"pin\":1}}", "{\"$set\":{\"secret\":{\"pin\":2}}}", false),
        "{\"secret\":{\"pin\":2}}");
    CHECK(writes_write_only("{\"$set\":{\"secret\":{\"pin\":2}}}"));
    CHECK(writes_write_only("{\"$rename\":{\"any\":\"secret\"}}"));
    CHECK(writes_write_only("{\"$unset\":{\"box\":1}}"));
    CHECK(!writes_write_only("{\"$set\":{\"any\":1},\"$max\":{\"when\":\"x\"}}"));
    CHECK_ERROR(run_as(things, "{}", "{\"$max\":{\"secret\":{\"pin\":9}}}", false),
                "/update/$max/secret", "'secret' is or holds a write-only field, which $max");
    CHECK_ERROR(run_as(things, "{}", "{\"$addToSet\":{\"box\":1}}", false), "/update/$addToSet/box",
                "write-only");
    CHECK_ERROR(run_as(things, "{}", "{\"$rename\":{\"secret\":\"any\"}}", false),
                "/update/$rename/secret", "write-only");
    CHECK_ERROR(run_as(things, "{}", "{\"$set\":{\"secret.pin\":1}}", false),
                "/update/$set/secret.pin", "'secret' is write-only");
    CHECK_ERROR(run_as(things, "{}", "{\"$inc\":{\"box.key\":1}}", false), "/update/$inc/box.key",
                "write-only");
}

/* Messages carry client text (paths, names, pointers) cut where needed, never inside a UTF-8
 * sequence: they become JSON strings. */
static void test_messages_stay_utf8(void)
{
    char name[256] = "", update[1024];
    for (int i = 0; i < 100; i++)
        memcpy(name + 2 * i, "\xc3\xa9", 3); /* U+00E9, 200 bytes in all */
    const char *shapes[] = {
        "{\"$%s\":{\"a\":1}}",             /* an unknown operator */
        "{\"%s\":1}",                      /* not an operator */
        "{\"$inc\":{\"%s\":\"x\"}}",       /* a bad argument under a long path */
        "{\"$set\":{\"a\":1,\"a.%s\":1}}", /* a conflict naming the path */
        "{\"$pull\":{\"a\":{\"$%s\":1}}}", /* a condition's operator */
        "{\"$inc\":{\"%s\":1}}",           /* applied to a string */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        snprintf(update, sizeof update, shapes[i], name);
        char doc[512];
        snprintf(doc, sizeof doc, "{\"%s\":\"s\"}", name);
        const char *got = run(doc, update);
        json_t *as_json = json_string(got);
        CHECK_MSG(strncmp(got, "ERROR: ", 7) == 0 && as_json != NULL, "shape %zu: %s", i, got);
        json_decref(as_json);
    }
}

static void test_read_only(void)
{
    json_t *before =
        json_loads("{\"_id\":\"x\",\"meta\":{\"created\":\"c\",\"note\":\"n\"}}", 0, NULL);
    json_t *same =
        json_loads("{\"_id\":\"x\",\"meta\":{\"note\":\"m\",\"created\":\"c\"}}", 0, NULL);
    json_t *changed = json_loads("{\"_id\":\"x\",\"meta\":{\"created\":\"d\"}}", 0, NULL);
    json_t *gone = json_loads("{\"_id\":\"x\"}", 0, NULL);
    json_t *errors = json_array();
    CHECK(odm_codec_update_check_read_only(things, before, same, errors));
    CHECK(json_array_size(errors) == 0);
    CHECK(!odm_codec_update_check_read_only(things, before, changed, errors));
    CHECK(json_array_size(errors) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation")),
              "/meta/created");
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "keywordLocation")),
              "/properties/meta/properties/created/readOnly");
    CHECK(!odm_codec_update_check_read_only(things, before, gone, NULL));
    json_decref(before);
    json_decref(same);
    json_decref(changed);
    json_decref(gone);
    json_decref(errors);
}

/* Whether `after` passes the readOnly check against `before`; the first violation's
 * instanceLocation into `at` ("" when none). */
static bool read_only_holds(const char *before, const char *after, char *at, size_t size)
{
    json_t *b = json_loads(before, 0, NULL), *a = json_loads(after, 0, NULL);
    json_t *errors = json_array();
    bool ok = odm_codec_update_check_read_only(things, b, a, errors);
    const char *first =
        json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation"));
    snprintf(at, size, "%s", first ? first : "");
    json_decref(b);
    json_decref(a);
    json_decref(errors);
    return ok;
}

/* readOnly values inside array items: none written, changed or added by an update (as PATCH
 * and PUT refuse them in a body); items kept, moved or removed, and their other fields
 * changed, pass. */
static void test_read_only_in_arrays(void)
{
    static const char before[] = "{\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":2}],"
                                 "\"seals\":[\"s1\",\"s2\"]}";
    char at[256];
    /* $set lines.0.qty, $pull of the first line, $pop of a seal, $sort-like moves */
    CHECK(read_only_holds(before,
                          "{\"lines\":[{\"sku\":\"a\",\"qty\":5},{\"sku\":\"b\",\"qty\":2}],"
                          "\"seals\":[\"s1\",\"s2\"]}",
                          at, sizeof at));
    CHECK(read_only_holds(before, "{\"lines\":[{\"sku\":\"b\",\"qty\":2}],\"seals\":[\"s2\"]}", at,
                          sizeof at));
    CHECK(read_only_holds(before,
                          "{\"lines\":[{\"sku\":\"b\",\"qty\":2},{\"sku\":\"a\",\"qty\":1}],"
                          "\"seals\":[\"s2\",\"s1\"]}",
                          at, sizeof at));
    CHECK(read_only_holds(before, "{\"lines\":[{\"qty\":3}]}", at, sizeof at)); /* none left */
    /* $set lines.1.sku */
    CHECK(!read_only_holds(before,
                           "{\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"z\",\"qty\":2}],"
                           "\"seals\":[\"s1\",\"s2\"]}",
                           at, sizeof at));
    CHECK_STR(at, "/lines/1/sku");
    /* $push of a line carrying a sku, of a seal */
    CHECK(!read_only_holds(before,
                           "{\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":2},"
                           "{\"sku\":\"c\"}],\"seals\":[\"s1\",\"s2\"]}",
                           at, sizeof at));
    CHECK_STR(at, "/lines/2/sku");
    CHECK(!read_only_holds(before,
                           "{\"lines\":[{\"sku\":\"a\",\"qty\":1},{\"sku\":\"b\",\"qty\":2}],"
                           "\"seals\":[\"s1\",\"s2\",\"s3\"]}",
                           at, sizeof at));
    CHECK_STR(at, "/seals/2");
    /* a line set whole ($set lines.0) with another sku */
    CHECK(!read_only_holds(before,
                           "{\"lines\":[{\"sku\":\"q\",\"qty\":1},{\"sku\":\"b\",\"qty\":2}]}", at,
                           sizeof at));
    CHECK_STR(at, "/lines/0/sku");
    /* an array created where there was none, holding a readOnly value */
    CHECK(!read_only_holds("{}", "{\"lines\":[{\"sku\":\"n\"}]}", at, sizeof at));
    CHECK_STR(at, "/lines/0/sku");
}

int main(void)
{
    if (setup()) {
        test_set();
        test_unset();
        test_inc();
        test_mul();
        test_min_max();
        test_rename();
        test_push();
        test_add_to_set();
        test_pop();
        test_pull();
        test_current_date_and_set_on_insert();
        test_refusals();
        test_write_only();
        test_messages_stay_utf8();
        test_read_only();
        test_read_only_in_arrays();
    }
    odm_models_free(models);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_done("test_update_ops");
}
