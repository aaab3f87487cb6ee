/* The index report: the indexes models declare against those their collections hold, with the
 * repeated values that keep a declared unique index from being built. Reads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/clock.h"
#include "odmd/log.h"
#include "odmd/survey.h"

#define DUPLICATES_SHOWN 5
#define DETAIL_MAX 1024
#define KEYS_TEXT_MAX 512
#define ID_INDEX "_id_"

typedef struct {
    bson_t **items; /* copies of listIndexes entries */
    size_t n, cap;
} index_list_t;

static bool keep_index(const bson_t *doc, void *arg, odm_error_t *err)
{
    index_list_t *list = arg;
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        bson_t **items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = bson_copy(doc);
    return true;
}

static void list_release(index_list_t *list)
{
    for (size_t i = 0; i < list->n; i++)
        bson_destroy(list->items[i]);
    free(list->items);
}

/* Whether the declared keys ({"a": 1, "b": -1}, in order) are the listed index's "key". */
static bool keys_equal(const json_t *declared, const bson_t *listed)
{
    bson_iter_t it, key;
    if (!bson_iter_init_find(&it, listed, "key") || !BSON_ITER_HOLDS_DOCUMENT(&it) ||
        !bson_iter_recurse(&it, &key))
        return false;
    void *d = json_object_iter((json_t *)declared);
    for (; d != NULL; d = json_object_iter_next((json_t *)declared, d)) {
        if (!bson_iter_next(&key) || strcmp(bson_iter_key(&key), json_object_iter_key(d)) != 0 ||
            !BSON_ITER_HOLDS_NUMBER(&key) ||
            bson_iter_as_int64(&key) != json_integer_value(json_object_iter_value(d)))
            return false;
    }
    return !bson_iter_next(&key);
}

/* The listed index's "key" as compact JSON text into buf. */
static void listed_keys_text(const bson_t *listed, char *buf, size_t size)
{
    json_t *keys = json_object();
    bson_iter_t it, key;
    if (bson_iter_init_find(&it, listed, "key") && bson_iter_recurse(&it, &key))
        while (bson_iter_next(&key))
            json_object_set_new(keys, bson_iter_key(&key),
                                BSON_ITER_HOLDS_UTF8(&key)
                                    ? json_string(bson_iter_utf8(&key, NULL))
                                    : json_integer(bson_iter_as_int64(&key)));
    char *text = json_dumps(keys, JSON_COMPACT);
    snprintf(buf, size, "%s", text ? text : "{}");
    free(text);
    json_decref(keys);
}

static const char *listed_string(const bson_t *listed, const char *field)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, listed, field) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return "";
}

static bool listed_unique(const bson_t *listed)
{
    bson_iter_t it;
    return bson_iter_init_find(&it, listed, "unique") && bson_iter_as_bool(&it);
}

/* ---- repeated values of a unique index's keys ---- */

typedef struct {
    char text[DETAIL_MAX];
    size_t len;
    size_t groups;
} duplicates_t;

/* Appends one group {_id: value, n: count} as `VALUE (N documents)`. */
static bool note_group(const bson_t *doc, void *arg, odm_error_t *err)
{
    (void)err;
    duplicates_t *d = arg;
    bson_iter_t it;
    if (++d->groups > DUPLICATES_SHOWN || !bson_iter_init_find(&it, doc, "_id"))
        return true;
    bson_t one = BSON_INITIALIZER;
    bson_append_iter(&one, "v", 1, &it);
    size_t len = 0;
    char *json = bson_as_relaxed_extended_json(&one, &len);
    const char *value = json && len > 10 ? json + 8 : "?"; /* { "v" : VALUE } */
    int vlen = json && len > 10 ? (int)(len - 10) : 1;
    bson_iter_t n;
    int64_t count = bson_iter_init_find(&n, doc, "n") ? bson_iter_as_int64(&n) : 0;
    int w = snprintf(d->text + d->len, sizeof d->text - d->len, "%s%.*s (%lld documents)",
                     d->len ? ", " : "duplicate values ", vlen, value, (long long)count);
    if (w > 0)
        d->len = d->len + (size_t)w < sizeof d->text ? d->len + (size_t)w : sizeof d->text - 1;
    bson_free(json);
    bson_destroy(&one);
    return true;
}

/* [{$group: {_id: "$a" | {a: "$a", b: "$b"}, n: {$sum: 1}}}, {$match: {n: {$gt: 1}}},
 *  {$limit: SHOWN + 1}]: the documents a unique index over `keys` would refuse. */
static void duplicates_pipeline(const json_t *keys, bson_t *pipeline)
{
    bson_t stage, group, id, sum, match, gt;
    char path[256];
    BSON_APPEND_DOCUMENT_BEGIN(pipeline, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$group", &group);
    const char *field;
    json_t *dir;
    if (json_object_size(keys) == 1) {
        json_object_foreach((json_t *)keys, field, dir)
        {
            snprintf(path, sizeof path, "$%s", field);
            BSON_APPEND_UTF8(&group, "_id", path);
        }
    } else {
        BSON_APPEND_DOCUMENT_BEGIN(&group, "_id", &id);
        json_object_foreach((json_t *)keys, field, dir)
        {
            char name[256];
            snprintf(name, sizeof name, "%s", field);
            for (char *p = name; *p; p++)
                *p = *p == '.' ? '_' : *p; /* a field path is not a name here */
            snprintf(path, sizeof path, "$%s", field);
            BSON_APPEND_UTF8(&id, name, path);
        }
        bson_append_document_end(&group, &id);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&group, "n", &sum);
    BSON_APPEND_INT32(&sum, "$sum", 1);
    bson_append_document_end(&group, &sum);
    bson_append_document_end(&stage, &group);
    bson_append_document_end(pipeline, &stage);
    BSON_APPEND_DOCUMENT_BEGIN(pipeline, "1", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &match);
    BSON_APPEND_DOCUMENT_BEGIN(&match, "n", &gt);
    BSON_APPEND_INT32(&gt, "$gt", 1);
    bson_append_document_end(&match, &gt);
    bson_append_document_end(&stage, &match);
    bson_append_document_end(pipeline, &stage);
    BSON_APPEND_DOCUMENT_BEGIN(pipeline, "2", &stage);
    BSON_APPEND_INT32(&stage, "$limit", DUPLICATES_SHOWN + 1);
    bson_append_document_end(pipeline, &stage);
}

static bool find_duplicates(odm_store_t *store, const char *collection, const json_t *keys,
                            int timeout_ms, duplicates_t *d, odm_error_t *err)
{
    bson_t pipeline = BSON_INITIALIZER;
    duplicates_pipeline(keys, &pipeline);
    bool ok = odm_store_aggregate(store, collection, &pipeline, note_group, d,
                                  odm_now_ms() + timeout_ms, err);
    bson_destroy(&pipeline);
    if (ok && d->groups > DUPLICATES_SHOWN)
        snprintf(d->text + d->len, sizeof d->text - d->len, ", ...");
    return ok;
}

/* ---- the report ---- */

typedef struct {
    const odm_models_t *models;
    odm_store_t *store;
    int timeout_ms;
    odm_survey_index_fn each;
    void *arg;
} report_t;

static bool report_declared(report_t *r, const char *collection, const odm_index_t *index,
                            const index_list_t *listed, odm_error_t *err)
{
    odm_survey_index_t out = {.collection = collection,
                              .name = index->name,
                              .unique = index->unique,
                              .state = ODM_SURVEY_INDEX_MISSING,
                              .detail = ""};
    const bson_t *taken = NULL; /* an index of that name over other keys */
    for (size_t i = 0; i < listed->n; i++) {
        if (keys_equal(index->keys, listed->items[i]))
            out.state = ODM_SURVEY_INDEX_PRESENT;
        else if (strcmp(listed_string(listed->items[i], "name"), index->name) == 0)
            taken = listed->items[i];
    }
    duplicates_t d = {.len = 0};
    if (out.state == ODM_SURVEY_INDEX_MISSING && taken != NULL) {
        char other[KEYS_TEXT_MAX];
        listed_keys_text(taken, other, sizeof other);
        snprintf(d.text, sizeof d.text, "its name is taken by an index on %s", other);
        out.state = ODM_SURVEY_INDEX_WOULD_FAIL;
        out.detail = d.text;
    } else if (out.state == ODM_SURVEY_INDEX_MISSING && index->unique) {
        if (!find_duplicates(r->store, collection, index->keys, r->timeout_ms, &d, err))
            return false;
        if (d.groups > 0) {
            out.state = ODM_SURVEY_INDEX_WOULD_FAIL;
            out.detail = d.text;
        }
    }
    char *keys = json_dumps(index->keys, JSON_COMPACT);
    out.keys = keys ? keys : "{}";
    r->each(&out, r->arg);
    free(keys);
    return true;
}

/* Whether any model on `collection` declares an index with the listed index's keys. */
static bool declared(const odm_models_t *models, const char *collection, const bson_t *listed)
{
    for (size_t m = 0; m < models->n; m++) {
        const odm_model_t *model = models->items[m];
        if (strcmp(model->collection, collection) != 0)
            continue;
        for (size_t i = 0; i < model->n_indexes; i++)
            if (keys_equal(model->indexes[i].keys, listed))
                return true;
    }
    return false;
}

static void report_undeclared(report_t *r, const char *collection, const index_list_t *listed)
{
    for (size_t i = 0; i < listed->n; i++) {
        const char *name = listed_string(listed->items[i], "name");
        if (strcmp(name, ID_INDEX) == 0 || declared(r->models, collection, listed->items[i]))
            continue;
        char keys[KEYS_TEXT_MAX];
        listed_keys_text(listed->items[i], keys, sizeof keys);
        odm_survey_index_t out = {.collection = collection,
                                  .name = name,
                                  .keys = keys,
                                  .unique = listed_unique(listed->items[i]),
                                  .state = ODM_SURVEY_INDEX_UNDECLARED,
                                  .detail = ""};
        r->each(&out, r->arg);
    }
}

/* The report for one collection: every model on it, then what no model declares. */
static bool report_collection(report_t *r, const char *collection, odm_error_t *err)
{
    index_list_t listed = {0};
    bool ok = odm_store_list_indexes(r->store, collection, keep_index, &listed,
                                     odm_now_ms() + r->timeout_ms, err);
    for (size_t m = 0; ok && m < r->models->n; m++) {
        const odm_model_t *model = r->models->items[m];
        if (strcmp(model->collection, collection) != 0)
            continue;
        for (size_t i = 0; ok && i < model->n_indexes; i++)
            ok = report_declared(r, collection, &model->indexes[i], &listed, err);
    }
    if (ok)
        report_undeclared(r, collection, &listed);
    list_release(&listed);
    return ok;
}

static bool collection_seen_before(const odm_models_t *models, size_t m)
{
    for (size_t k = 0; k < m; k++)
        if (strcmp(models->items[k]->collection, models->items[m]->collection) == 0)
            return true;
    return false;
}

bool odm_survey_indexes(const odm_models_t *models, odm_store_t *store, int timeout_ms,
                        odm_survey_index_fn each, void *arg, odm_error_t *err)
{
    report_t r = {models, store, timeout_ms, each, arg};
    for (size_t m = 0; m < models->n; m++)
        if (!collection_seen_before(models, m) &&
            !report_collection(&r, models->items[m]->collection, err))
            return false;
    return true;
}

/* Per state: the log level and what the line says. */
static const struct {
    odm_log_level_t level;
    const char *says;
} log_table[] = {
    [ODM_SURVEY_INDEX_PRESENT] = {ODM_LOG_DEBUG, "present"},
    [ODM_SURVEY_INDEX_MISSING] = {ODM_LOG_WARN, "declared but missing"},
    [ODM_SURVEY_INDEX_WOULD_FAIL] = {ODM_LOG_WARN, "cannot be built: "},
    [ODM_SURVEY_INDEX_UNDECLARED] = {ODM_LOG_INFO, "is in the database but declared by no model"},
};

void odm_survey_index_log(const odm_survey_index_t *ix, void *arg)
{
    (void)arg;
    odm_log(log_table[ix->state].level, "index '%s' %s on '%s' %s%s", ix->name, ix->keys,
            ix->collection, log_table[ix->state].says, ix->detail);
}
