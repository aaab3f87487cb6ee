/* Unit tests for src/model: loading schemas/, bad model directories, field lookups, rules. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "odmd/model.h"

static char tmp_root[] = "/tmp/odmd-test-model-XXXXXX";

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

/* Loads a directory expected to fail; returns the message (static). */
static const char *load_error(const char *dir)
{
    static odm_error_t err;
    odm_error_clear(&err);
    odm_models_t *models = odm_models_load(dir, &err);
    if (models != NULL) {
        odm_models_free(models);
        return "(loaded)";
    }
    CHECK_INT(err.kind, ODM_ERR_CONFIG);
    return err.message;
}

#define CHECK_CONTAINS(hay, needle)                                                                \
    CHECK_MSG(strstr((hay), (needle)) != NULL, "'%s' lacks '%s'", (hay), (needle))

static const odm_index_t *find_index(const odm_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_indexes; i++)
        if (strcmp(m->indexes[i].name, name) == 0)
            return &m->indexes[i];
    return NULL;
}

static const odm_field_t *field(const odm_model_t *m, const char *dotted)
{
    return odm_model_field(m, dotted, strlen(dotted));
}

/* Field attributes as strings ("" when the field is missing), for CHECK_STR. */
static const char *keyword_of(const odm_field_t *f)
{
    return f && f->bson_keyword ? f->bson_keyword : "";
}

static const char *default_of(const odm_field_t *f)
{
    return f && json_is_string(f->default_value) ? json_string_value(f->default_value) : "";
}

static void test_examples_users(const odm_models_t *models)
{
    const odm_model_t *users = odm_models_find(models, "users", 5);
    CHECK(users != NULL);
    if (users == NULL)
        return;
    CHECK_STR(users->collection, "users");
    CHECK_INT(users->id_kind, ODM_ID_OBJECTID);
    CHECK(users->schema != NULL);
    CHECK(field(users, "_id") && field(users, "_id")->bson == ODM_BSON_OBJECTID);
    CHECK(field(users, "_id") && field(users, "_id")->read_only);
    CHECK(field(users, "password") && field(users, "password")->write_only);
    CHECK(field(users, "email") && !field(users, "email")->write_only);
    CHECK(field(users, "lastLogin") && field(users, "lastLogin")->bson == ODM_BSON_DATE);
    CHECK_STR(keyword_of(field(users, "lastLogin")), "format");
    CHECK(field(users, "birthday") && field(users, "birthday")->bson == ODM_BSON_AUTO);
    const odm_field_t *role = field(users, "role");
    CHECK(role && json_is_string(role->default_value));
    CHECK_STR(default_of(role), "member");
    CHECK(field(users, "address.city") != NULL);
    CHECK(field(users, "address.country") == NULL);
    CHECK(field(users, "address.") == NULL);
    CHECK(field(users, ".address") == NULL);
    CHECK(field(users, "") == NULL);
    CHECK(field(users, "emai") == NULL);
    CHECK(odm_model_field(users, "emailx", 5) == field(users, "email"));
    CHECK(field(users, "address") && !field(users, "address")->any_children);
    const odm_field_t *tags = field(users, "tags");
    CHECK(tags && tags->items != NULL && tags->items->bson == ODM_BSON_AUTO);
    CHECK(odm_field_child(&users->root, "name", 4) == field(users, "name"));
    const odm_index_t *email = find_index(users, "email_1");
    CHECK(email != NULL && email->unique);
    CHECK(email && json_integer_value(json_object_get(email->keys, "email")) == 1);
    CHECK_INT(users->n_indexes, 1);
}

static void test_examples_orders(const odm_models_t *models)
{
    const odm_model_t *orders = odm_models_find(models, "orders", 6);
    CHECK(orders != NULL);
    if (orders == NULL)
        return;
    CHECK_STR(orders->collection, "orders");
    CHECK(field(orders, "userId") && field(orders, "userId")->bson == ODM_BSON_OBJECTID);
    CHECK_STR(keyword_of(field(orders, "userId")), "x-bson");
    CHECK(field(orders, "placedAt") && field(orders, "placedAt")->bson == ODM_BSON_DATE);
    /* items are a local $ref to #/$defs/line */
    CHECK(field(orders, "items.sku") != NULL);
    CHECK(field(orders, "items.0.qty") != NULL);
    CHECK(field(orders, "items.qty.x") == NULL);
    const odm_field_t *items = field(orders, "items");
    CHECK(items && items->items && !items->items->any_children);
    CHECK_INT(items && items->items ? items->items->n_children : 0, 4);
    /* x-ref is kept on the field, through the $ref of the lines too */
    CHECK_STR(field(orders, "userId") ? field(orders, "userId")->ref : NULL, "users");
    CHECK_STR(field(orders, "items.productId") ? field(orders, "items.productId")->ref : NULL,
              "products");
    CHECK(field(orders, "total") && field(orders, "total")->ref == NULL);
    CHECK_INT(orders->n_indexes, 0);
}

static void test_examples(void)
{
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load("schemas", &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    CHECK_INT(models->n, 3);
    CHECK_STR(models->items[0]->name, "orders");
    CHECK_STR(models->items[1]->name, "products");
    CHECK_STR(models->items[2]->name, "users");
    CHECK_STR(models->items[2]->path, "schemas/users.json");
    CHECK(odm_models_find(models, "user", 4) == NULL);
    CHECK(odm_models_find(models, "usersx", 6) == NULL);
    CHECK(odm_models_find(models, "ordersx", 6) == models->items[0]);
    CHECK(odm_models_find(models, "", 0) == NULL);
    test_examples_users(models);
    test_examples_orders(models);
    odm_models_free(models);
}

static void test_rules(void)
{
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load("schemas", &err);
    if (models == NULL)
        return;
    const odm_model_t *users = odm_models_find(models, "users", 5);
    json_t *doc = json_pack("{s:s, s:s, s:{s:s}}", "_id", "0123456789abcdef01234567", "name", "ann",
                            "address", "city", "Oslo");
    json_t *errors = json_array();
    CHECK(!odm_model_check_read_only(users, doc, false, errors));
    CHECK_INT(json_array_size(errors), 1);
    json_t *v = json_array_get(errors, 0);
    CHECK_STR(json_string_value(json_object_get(v, "instanceLocation")), "/_id");
    CHECK_STR(json_string_value(json_object_get(v, "keywordLocation")), "/properties/_id/readOnly");
    CHECK(json_is_string(json_object_get(v, "error")));
    CHECK(odm_model_check_read_only(users, doc, true, NULL));

    odm_model_apply_defaults(users, doc);
    CHECK_STR(json_string_value(json_object_get(doc, "role")), "member");
    json_object_set_new(doc, "role", json_string("admin"));
    odm_model_apply_defaults(users, doc);
    CHECK_STR(json_string_value(json_object_get(doc, "role")), "admin");

    json_t *stored = json_pack("{s:s, s:s}", "_id", "ffffffffffffffffffffffff", "name", "old");
    json_object_del(doc, "_id");
    odm_model_keep_read_only(users, doc, stored);
    CHECK_STR(json_string_value(json_object_get(doc, "_id")), "ffffffffffffffffffffffff");
    CHECK_STR(json_string_value(json_object_get(doc, "name")), "ann");

    const odm_model_t *orders = odm_models_find(models, "orders", 6);
    json_t *order = json_pack("{s:[{s:s}]}", "items", "sku", "A-1");
    odm_model_apply_defaults(orders, order);
    CHECK_STR(json_string_value(json_object_get(order, "status")), "pending");
    json_decref(order);
    json_decref(stored);
    json_decref(errors);
    json_decref(doc);
    odm_models_free(models);
}

static const char good_model[] = "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
                                 "\"string\"}, \"b\": {\"type\": \"integer\"}}}";

static void test_implicit_id_and_indexes(void)
{
    const char *dir = make_dir(
        "good", "things.json",
        "{\"type\": \"object\", \"x-collection\": \"stuff\", \"additionalProperties\": false,\n"
        " \"properties\": {\"a\": {\"type\": \"string\"}, \"b\": {\"type\": \"integer\"},\n"
        "  \"x-name\": {\"type\": \"string\", \"enum\": [{\"x-foo\": 1}]},\n"
        "  \"when\": {\"type\": \"string\", \"x-bson\": \"date\"},\n"
        "  \"n\": {\"type\": \"integer\", \"x-bson\": \"long\"},\n"
        "  \"sub\": {\"type\": \"object\", \"properties\": {\"code\": {\"type\": \"string\",\n"
        "    \"x-unique\": true}}},\n"
        "  \"owner\": {\"type\": \"string\", \"x-ref\": \"people\"}},\n"
        " \"x-indexes\": [{\"keys\": {\"a\": 1, \"b\": -1}, \"unique\": true},\n"
        "   {\"keys\": {\"sub.code\": 1}, \"name\": \"by_code\"}]}",
        "people.json", "{\"type\": \"object\", \"properties\": {\"_id\": {\"type\": \"integer\"}}}",
        "tree.json",
        "{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\n"
        "  \"left\": {\"$ref\": \"#/$defs/node\"}, \"right\": {\"$ref\": \"#/$defs/node\"},\n"
        "  \"secret\": {\"writeOnly\": true, \"type\": \"object\", \"properties\": {\n"
        "    \"pin\": {\"type\": \"string\"}}}}}},\n"
        " \"properties\": {\"_id\": {\"type\": \"string\"}, \"root\": {\"$ref\": "
        "\"#/$defs/node\"}}}",
        "README.md", "not a model", NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    CHECK_INT(models->n, 3);
    const odm_model_t *things = odm_models_find(models, "things", 6);
    CHECK_STR(things->collection, "stuff");
    const odm_field_t *id = field(things, "_id");
    CHECK(id && id->bson == ODM_BSON_OBJECTID && id->read_only);
    CHECK_INT(things->id_kind, ODM_ID_OBJECTID);
    CHECK(json_object_get(json_object_get(things->doc, "properties"), "_id") != NULL);
    CHECK(field(things, "x-name") != NULL);
    CHECK(field(things, "when") && field(things, "when")->bson == ODM_BSON_DATE);
    CHECK(field(things, "n") && field(things, "n")->bson == ODM_BSON_INT64);
    CHECK_INT(things->n_indexes, 3);
    CHECK(find_index(things, "sub.code_1") && find_index(things, "sub.code_1")->unique);
    const odm_index_t *ab = find_index(things, "a_1_b_-1");
    CHECK(ab && ab->unique && json_object_size(ab->keys) == 2);
    CHECK(find_index(things, "by_code") && !find_index(things, "by_code")->unique);
    CHECK_INT(odm_models_find(models, "people", 6)->id_kind, ODM_ID_INT);
    const odm_model_t *tree = odm_models_find(models, "tree", 4);
    CHECK_INT(tree->id_kind, ODM_ID_STRING);
    CHECK(field(tree, "root.left") != NULL);
    CHECK(field(tree, "root.secret.pin") && field(tree, "root.secret.pin")->write_only);
    odm_models_free(models);
}

static void test_bad_dirs(void)
{
    const char *msg = load_error(make_dir("syntax", "ok.json", good_model, "bad.json",
                                          "{\n  \"type\": \"object\",\n  oops\n}", NULL));
    CHECK_CONTAINS(msg, "/syntax/bad.json:3:");

    msg = load_error(make_dir("dup", "bad.json", "{\"type\": \"object\",\n \"type\": 1}", NULL));
    CHECK_CONTAINS(msg, "bad.json:2:");

    msg = load_error(make_dir("unknown-x", "bad.json",
                              "{\"properties\": {\"a\": {\"type\": \"string\", \"x-foo\": 1}}}",
                              NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/a/x-foo: unknown keyword 'x-foo'");

    msg = load_error(make_dir("unknown-x-defs", "bad.json",
                              "{\"$defs\": {\"a\": {\"items\": {\"x-uniq\": true}}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /$defs/a/items/x-uniq: unknown keyword 'x-uniq'");

    msg = load_error(make_dir("bad-min", "bad.json",
                              "{\"properties\": {\"age\": {\"type\": \"integer\", \"minimum\": "
                              "\"zero\"}}}",
                              NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/age/minimum");

    msg = load_error(make_dir("bad-name", "ok.json", good_model, "Bad.json", good_model, NULL));
    CHECK_CONTAINS(msg, "Bad.json");

    msg = load_error(make_dir("bad-name2", "1st.json", good_model, NULL));
    CHECK_CONTAINS(msg, "1st.json");

    msg = load_error(make_dir("bad-ref", "bad.json",
                              "{\"properties\": {\"u\": {\"type\": \"string\", \"x-ref\": "
                              "\"nobody\"}}}",
                              NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/u/x-ref: unknown model 'nobody'");

    msg = load_error(
        make_dir("bad-bson", "bad.json", "{\"properties\": {\"u\": {\"x-bson\": \"int\"}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/u/x-bson:");

    msg = load_error(make_dir("nested-collection", "bad.json",
                              "{\"properties\": {\"u\": {\"x-collection\": \"x\"}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/u/x-collection: 'x-collection' is only allowed "
                        "at the root of a model");

    msg = load_error(make_dir("nested-indexes", "bad.json",
                              "{\"properties\": {\"u\": {\"x-indexes\": []}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/u/x-indexes: 'x-indexes' is only allowed at the "
                        "root of a model");

    msg = load_error(
        make_dir("bad-unique", "bad.json", "{\"properties\": {\"u\": {\"x-unique\": 1}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/u/x-unique: 'x-unique' must be true or false");

    msg = load_error(make_dir("bad-indexes", "bad.json", "{\"x-indexes\": {}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /x-indexes: 'x-indexes' must be an array of index objects");

    msg = load_error(make_dir("index-field", "bad.json",
                              "{\"properties\": {\"a\": {}}, \"x-indexes\": [{\"keys\": "
                              "{\"a\": 1, \"zz\": 1}}]}",
                              NULL));
    CHECK_CONTAINS(msg, "unknown field 'zz'");

    msg = load_error(make_dir("index-dir", "bad.json",
                              "{\"properties\": {\"a\": {}}, \"x-indexes\": [{\"keys\": "
                              "{\"a\": 2}}]}",
                              NULL));
    CHECK_CONTAINS(msg, "bad.json: /x-indexes/0/keys/a:");

    msg = load_error(make_dir("bad-ref-target", "bad.json",
                              "{\"properties\": {\"a\": {\"$ref\": \"#/$defs/nope\"}}}", NULL));
    CHECK_CONTAINS(msg, "bad.json: /properties/a/$ref");

    msg = load_error(make_dir("not-object", "bad.json", "[1, 2]", NULL));
    CHECK_CONTAINS(msg, "bad.json");

    msg = load_error(make_dir("empty", NULL));
    CHECK_CONTAINS(msg, "no model files");

    msg = load_error("/nonexistent/odmd-models");
    CHECK_CONTAINS(msg, "/nonexistent/odmd-models");
}

static void test_cross_ref(void)
{
    const char *dir =
        make_dir("cross", "a.json",
                 "{\"properties\": {\"addr\": {\"$ref\": \"b.json#/$defs/address\"}}}", "b.json",
                 "{\"$defs\": {\"address\": {\"type\": \"object\", \"properties\": {\"zip\": "
                 "{\"type\": \"string\", \"minLength\": 5}}}}}",
                 NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    const odm_model_t *a = odm_models_find(models, "a", 1);
    json_t *bad = json_pack("{s:{s:s}}", "addr", "zip", "12");
    json_t *good = json_pack("{s:{s:s}}", "addr", "zip", "12345");
    CHECK(odm_schema_validate(a->schema, good, NULL));
    CHECK(!odm_schema_validate(a->schema, bad, NULL));
    json_decref(bad);
    json_decref(good);
    odm_models_free(models);
}

/* Read-only fields are found at any depth, in objects and arrays, and only there: a document
 * without one passes, one with several gets every location. */
static void test_read_only_depth(void)
{
    const char *dir = make_dir(
        "ro", "boxes.json",
        "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}, "
        "\"parts\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": "
        "{\"serial\": {\"type\": \"string\", \"readOnly\": true}, \"n\": {\"type\": "
        "\"integer\"}}}}, \"seals\": {\"type\": \"array\", \"items\": {\"type\": "
        "\"string\", \"readOnly\": true}}}}",
        NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    const odm_model_t *boxes = odm_models_find(models, "boxes", 5);
    json_t *ok = json_pack("{s:s, s:[{s:i}, {s:i}], s:[], s:i}", "name", "b", "parts", "n", 1, "n",
                           2, "seals", "other", 3);
    json_t *errors = json_array();
    CHECK(odm_model_check_read_only(boxes, ok, false, errors));
    CHECK_INT(json_array_size(errors), 0);
    json_t *bad = json_pack("{s:[{s:i}, {s:s}], s:[s, s]}", "parts", "n", 1, "serial", "x", "seals",
                            "a", "b");
    CHECK(!odm_model_check_read_only(boxes, bad, false, errors));
    CHECK_INT(json_array_size(errors), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 0), "instanceLocation")),
              "/parts/1/serial");
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 2), "instanceLocation")),
              "/seals/1");
    json_decref(errors);
    json_decref(bad);
    json_decref(ok);
    odm_models_free(models);
}

/* The _id rule: generated when readOnly (an ObjectId, whatever the declared type says about
 * strings), refused when it can be neither supplied nor generated, or named by no URL. */
static void test_id_rule(void)
{
    const char *dir = make_dir(
        "ids", "tickets.json",
        "{\"type\": \"object\", \"properties\": {\"_id\": {\"type\": \"string\", "
        "\"readOnly\": true}}}",
        "refd.json",
        "{\"properties\": {\"_id\": {\"$ref\": \"#/$defs/id\"}}, \"$defs\": {\"id\": "
        "{\"type\": \"string\", \"readOnly\": true, \"pattern\": \"^[0-9a-f]{24}$\"}}}",
        "slugs.json", "{\"properties\": {\"_id\": {\"type\": \"string\", \"minLength\": 1}}}",
        "codes.json",
        "{\"properties\": {\"_id\": {\"type\": \"string\", \"pattern\": \"^[A-Z]+$\"}}}",
        "widgets.json", "{\"properties\": {\"_id\": {\"type\": \"integer\"}}}", NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    static const struct {
        const char *name;
        odm_id_kind_t kind;
        bool generated;
    } want[] = {
        {"tickets", ODM_ID_OBJECTID, true}, {"refd", ODM_ID_OBJECTID, true},
        {"slugs", ODM_ID_STRING, true},     {"codes", ODM_ID_STRING, false},
        {"widgets", ODM_ID_INT, false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const odm_model_t *m = odm_models_find(models, want[i].name, strlen(want[i].name));
        CHECK_MSG(m != NULL, "%s not loaded", want[i].name);
        if (m == NULL)
            continue;
        CHECK_MSG(m->id_kind == want[i].kind && m->id_generated == want[i].generated,
                  "%s: id kind %d generated %d", want[i].name, (int)m->id_kind,
                  (int)m->id_generated);
    }
    const odm_field_t *id = field(odm_models_find(models, "tickets", 7), "_id");
    CHECK(id && id->bson == ODM_BSON_OBJECTID && id->read_only);
    odm_models_free(models);

    static const struct {
        const char *dir, *id_schema, *reason;
    } refused[] = {
        {"ro-int", "{\"type\": \"integer\", \"readOnly\": true}", "expected integer"},
        {"ro-uuid", "{\"type\": \"string\", \"format\": \"uuid\", \"readOnly\": true}", "uuid"},
        {"ro-short", "{\"type\": \"string\", \"maxLength\": 10, \"readOnly\": true}", "at most 10"},
        {"ro-long", "{\"x-bson\": \"long\", \"readOnly\": true}", "x-bson type"},
        {"any", "{}", "also accepts 1"},
        {"str-or-null", "{\"type\": [\"string\", \"null\"]}", "also accepts null"},
        {"int-or-str", "{\"type\": [\"integer\", \"string\"]}", "also accepts \"1\""},
        {"date", "{\"type\": \"string\", \"format\": \"date-time\"}", "'format' stores"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char model[256];
        snprintf(model, sizeof model, "{\"properties\": {\"_id\": %s}}", refused[i].id_schema);
        const char *msg = load_error(make_dir(refused[i].dir, "m.json", model, NULL));
        CHECK_CONTAINS(msg, "m.json: /properties/_id: ");
        CHECK_CONTAINS(msg, refused[i].reason);
    }
}

/* x-requireIfMatch and x-timestamps: the forms accepted, the fields declared, the refusals. */
static void test_lifecycle_keywords(void)
{
    const char *dir = make_dir(
        "lifecycle", "locked.json", "{\"x-requireIfMatch\": true, \"properties\": {}}",
        "plain.json", "{\"x-requireIfMatch\": false, \"x-timestamps\": false}", "stamped.json",
        "{\"x-timestamps\": true, \"additionalProperties\": false, \"properties\": {}}",
        "renamed.json",
        "{\"x-timestamps\": {\"createdAt\": \"created\"}, \"properties\": {\n"
        " \"updatedAt\": {\"type\": \"string\", \"format\": \"date-time\", \"readOnly\": true}}}",
        NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    const odm_model_t *locked = odm_models_find(models, "locked", 6);
    const odm_model_t *plain = odm_models_find(models, "plain", 5);
    const odm_model_t *stamped = odm_models_find(models, "stamped", 7);
    const odm_model_t *renamed = odm_models_find(models, "renamed", 7);
    CHECK(locked->require_if_match && !plain->require_if_match && !stamped->require_if_match);
    CHECK(plain->created_at == NULL && plain->updated_at == NULL && locked->updated_at == NULL);
    CHECK_STR(stamped->created_at, "createdAt");
    CHECK_STR(stamped->updated_at, "updatedAt");
    const odm_field_t *c = field(stamped, "createdAt"), *u = field(stamped, "updatedAt");
    CHECK(c && c->read_only && c->bson == ODM_BSON_DATE);
    CHECK(u && u->read_only && u->bson == ODM_BSON_DATE);
    CHECK_STR(renamed->created_at, "created");
    CHECK_STR(renamed->updated_at, "updatedAt");
    CHECK(field(renamed, "created") && field(renamed, "created")->read_only);
    CHECK(field(renamed, "createdAt") == NULL);

    /* Stamping: both on insert, updatedAt alone afterwards; nothing for other models. */
    json_t *doc = json_pack("{s:s}", "a", "x");
    odm_model_stamp(stamped, doc, 1767323045678, true); /* 2026-01-02T03:04:05.678Z */
    CHECK_STR(json_string_value(json_object_get(doc, "createdAt")), "2026-01-02T03:04:05.678Z");
    CHECK_STR(json_string_value(json_object_get(doc, "updatedAt")), "2026-01-02T03:04:05.678Z");
    odm_model_stamp(stamped, doc, 1767323045678 + 1000, false);
    CHECK_STR(json_string_value(json_object_get(doc, "createdAt")), "2026-01-02T03:04:05.678Z");
    CHECK_STR(json_string_value(json_object_get(doc, "updatedAt")), "2026-01-02T03:04:06.678Z");
    CHECK_INT(json_object_size(doc), 3);
    odm_model_stamp(plain, doc, 0, true);
    CHECK_INT(json_object_size(doc), 3);
    json_decref(doc);
    odm_models_free(models);

    static const struct {
        const char *name, *model, *reason;
    } refused[] = {
        {"rim-type", "{\"x-requireIfMatch\": 1}",
         "bad.json: /x-requireIfMatch: 'x-requireIfMatch' must be true or false"},
        {"rim-place", "{\"properties\": {\"a\": {\"x-requireIfMatch\": true}}}",
         "bad.json: /properties/a/x-requireIfMatch: 'x-requireIfMatch' is only allowed at the "
         "root"},
        {"ts-type", "{\"x-timestamps\": \"yes\"}", "bad.json: /x-timestamps: 'x-timestamps' must"},
        {"ts-place", "{\"$defs\": {\"a\": {\"x-timestamps\": true}}}",
         "bad.json: /$defs/a/x-timestamps: 'x-timestamps' is only allowed at the root"},
        {"ts-key", "{\"x-timestamps\": {\"deletedAt\": \"d\"}}",
         "bad.json: /x-timestamps/deletedAt: unknown timestamp 'deletedAt'"},
        {"ts-name", "{\"x-timestamps\": {\"createdAt\": \"a.b\"}}",
         "bad.json: /x-timestamps/createdAt: 'createdAt' must name a top-level field"},
        {"ts-id", "{\"x-timestamps\": {\"updatedAt\": \"_id\"}}",
         "bad.json: /x-timestamps/updatedAt: 'updatedAt' must name"},
        {"ts-same", "{\"x-timestamps\": {\"createdAt\": \"t\", \"updatedAt\": \"t\"}}",
         "bad.json: /x-timestamps: createdAt and updatedAt must be different fields"},
        {"ts-writable",
         "{\"x-timestamps\": true, \"properties\": {\"createdAt\": {\"type\": "
         "\"string\", \"format\": \"date-time\"}}}",
         "bad.json: /properties/createdAt: a timestamp of x-timestamps must be"},
        {"ts-number",
         "{\"x-timestamps\": true, \"properties\": {\"updatedAt\": {\"type\": "
         "\"integer\", \"readOnly\": true}}}",
         "bad.json: /properties/updatedAt: a timestamp of x-timestamps must be"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *msg = load_error(make_dir(refused[i].name, "bad.json", refused[i].model, NULL));
        CHECK_CONTAINS(msg, refused[i].reason);
    }
}

/* x-owner: a top-level string property; everything else refused with its place. */
static void test_owner_keyword(void)
{
    const char *dir = make_dir(
        "owner", "owned.json",
        "{\"x-owner\": \"ownerId\", \"properties\": {\"ownerId\": {\"type\": \"string\"}}}",
        "free.json", "{\"properties\": {\"ownerId\": {\"type\": \"string\"}}}", NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    CHECK_STR(odm_models_find(models, "owned", 5)->owner, "ownerId");
    CHECK(odm_models_find(models, "free", 4)->owner == NULL);
    odm_models_free(models);

    static const struct {
        const char *name, *model, *reason;
    } refused[] = {
        {"own-type", "{\"x-owner\": true}", "bad.json: /x-owner: 'x-owner' must name a top-level"},
        {"own-dotted", "{\"x-owner\": \"a.b\"}", "bad.json: /x-owner: 'x-owner' must name"},
        {"own-id", "{\"x-owner\": \"_id\", \"properties\": {}}", "bad.json: /x-owner: 'x-owner'"},
        {"own-place", "{\"properties\": {\"a\": {\"type\": \"object\", \"x-owner\": \"b\"}}}",
         "bad.json: /properties/a/x-owner: 'x-owner' is only allowed at the root"},
        {"own-missing", "{\"x-owner\": \"ownerId\", \"properties\": {}}",
         "bad.json: /x-owner: 'ownerId' is not a property of the model"},
        {"own-number",
         "{\"x-owner\": \"ownerId\", \"properties\": {\"ownerId\": {\"type\": \"integer\"}}}",
         "bad.json: /properties/ownerId: the field of x-owner must be {\"type\": \"string\"}"},
        {"own-untyped", "{\"x-owner\": \"ownerId\", \"properties\": {\"ownerId\": {}}}",
         "bad.json: /properties/ownerId: the field of x-owner must be"},
        {"own-oid",
         "{\"x-owner\": \"o\", \"properties\": {\"o\": {\"type\": \"string\", \"x-bson\": "
         "\"objectId\"}}}",
         "bad.json: /properties/o: the field of x-owner must be"},
        {"own-deleted", "{\"x-owner\": \"deletedAt\", \"x-softDelete\": true, \"properties\": {}}",
         "bad.json: /properties/deletedAt: the field of x-owner must be"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *msg = load_error(make_dir(refused[i].name, "bad.json", refused[i].model, NULL));
        CHECK_CONTAINS(msg, refused[i].reason);
    }
}

/* x-softDelete: deletedAt declared as a readOnly date; wrong values and places refused. */
static void test_soft_delete_keyword(void)
{
    const char *dir =
        make_dir("softdelete", "gone.json",
                 "{\"x-softDelete\": true, \"properties\": {\"email\": {\"type\": \"string\", "
                 "\"x-unique\": true}, \"n\": {\"type\": \"integer\"}}, \"x-indexes\": "
                 "[{\"keys\": {\"n\": 1}}]}",
                 "kept.json",
                 "{\"x-softDelete\": false, \"properties\": {\"email\": {\"type\": "
                 "\"string\", \"x-unique\": true}}}",
                 NULL);
    odm_error_t err = {0};
    odm_models_t *models = odm_models_load(dir, &err);
    CHECK_MSG(models != NULL, "%s", err.message);
    if (models == NULL)
        return;
    const odm_model_t *gone = odm_models_find(models, "gone", 4);
    const odm_model_t *kept = odm_models_find(models, "kept", 4);
    CHECK_STR(gone->deleted_at, "deletedAt");
    CHECK(kept->deleted_at == NULL);
    const odm_field_t *d = field(gone, "deletedAt");
    CHECK(d && d->read_only && d->bson == ODM_BSON_DATE);
    CHECK(field(kept, "deletedAt") == NULL);
    /* Unique indexes hold among live documents: deletedAt is their last key. */
    CHECK_INT(gone->n_indexes, 2);
    CHECK_STR(gone->indexes[0].name, "email_1_deletedAt_1");
    json_t *want = json_pack("{s:i, s:i}", "email", 1, "deletedAt", 1);
    CHECK(json_equal(gone->indexes[0].keys, want));
    json_decref(want);
    CHECK(json_object_get(gone->indexes[1].keys, "deletedAt") == NULL); /* not unique */
    CHECK_STR(kept->indexes[0].name, "email_1");
    CHECK_INT(json_object_size(kept->indexes[0].keys), 1);
    odm_models_free(models);

    static const struct {
        const char *name, *model, *reason;
    } refused[] = {
        {"sd-type", "{\"x-softDelete\": \"yes\"}",
         "bad.json: /x-softDelete: 'x-softDelete' must be true or false"},
        {"sd-place", "{\"properties\": {\"a\": {\"x-softDelete\": true}}}",
         "bad.json: /properties/a/x-softDelete: 'x-softDelete' is only allowed at the root"},
        {"sd-writable",
         "{\"x-softDelete\": true, \"properties\": {\"deletedAt\": {\"type\": \"string\"}}}",
         "bad.json: /properties/deletedAt: the field of x-softDelete must be"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *msg = load_error(make_dir(refused[i].name, "bad.json", refused[i].model, NULL));
        CHECK_CONTAINS(msg, refused[i].reason);
    }
}

int main(void)
{
    if (mkdtemp(tmp_root) == NULL)
        return 1;
    test_examples();
    test_rules();
    test_implicit_id_and_indexes();
    test_bad_dirs();
    test_cross_ref();
    test_id_rule();
    test_read_only_depth();
    test_lifecycle_keywords();
    test_soft_delete_keyword();
    test_owner_keyword();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp_root);
    return check_done("test_model");
}
