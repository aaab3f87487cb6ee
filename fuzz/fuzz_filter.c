/* Fuzz target: the query parameters of GET /api/NAME against every model in schemas/: the
 * input as a filter (odm_json_parse, then odm_codec_filter), as sort= and fields= specs, and
 * as the id of /api/NAME/ID.
 *
 * Input: the parameter's text. The models are loaded once as in fuzz_body.c.
 * Oracles: odm_json_parse agrees with jansson (fuzz.h); failures carry a kind and a UTF-8
 * message; what succeeds is valid BSON; a sort or projection names each listed field once,
 * declared by the model and not writeOnly, with direction 1 or -1 (sort) or 1 (projection,
 * plus the version field); an accepted id gives {_id}, whose URL segment
 * (odm_codec_id_segment) is accepted again as the same id. */
#include <bson/bson.h>

#include "fuzz.h"
#include "odmd/buf.h"
#include "odmd/codec.h"
#include "odmd/model.h"

#ifndef ODM_FUZZ_SCHEMAS_DIR
#define ODM_FUZZ_SCHEMAS_DIR "schemas"
#endif
#define BSON_CHECKS (BSON_VALIDATE_UTF8 | BSON_VALIDATE_EMPTY_KEYS)

static odm_models_t *models;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("ODMD_FUZZ_SCHEMAS");
    odm_error_t err = {0};
    models = odm_models_load(dir ? dir : ODM_FUZZ_SCHEMAS_DIR, &err);
    if (models == NULL) {
        fprintf(stderr, "fuzz_filter: cannot load the models: %s\n", err.message);
        exit(1);
    }
    return 0;
}

static void check_filter(const odm_model_t *model, const json_t *filter)
{
    bson_t out = BSON_INITIALIZER;
    odm_error_t err = {0};
    if (odm_codec_filter(model, filter, &out, &err)) {
        if (!bson_validate(&out, BSON_CHECKS, NULL))
            fuzz_fail("filter: produced invalid BSON");
        if (!json_is_object(filter))
            fuzz_fail("filter: accepted a non-object");
    } else {
        fuzz_check_error(&err, true, "filter");
        if (err.kind != ODM_ERR_BAD_QUERY)
            fuzz_fail("filter: error kind %d, want a bad query", (int)err.kind);
    }
    bson_destroy(&out);
}

/* Items of a comma-separated list of len bytes. */
static size_t count_items(const char *spec, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += spec[i] == ',';
    return n;
}

static void check_list(const odm_model_t *model, const char *spec, size_t len, bool sort)
{
    bson_t out = BSON_INITIALIZER;
    odm_error_t err = {0};
    const char *what = sort ? "sort" : "projection";
    bool ok = sort ? odm_codec_sort(model, spec, len, &out, &err)
                   : odm_codec_projection(model, spec, len, &out, &err);
    if (!ok) {
        fuzz_check_error(&err, true, what);
        if (err.kind != ODM_ERR_BAD_QUERY)
            fuzz_fail("%s: error kind %d, want a bad query", what, (int)err.kind);
        bson_destroy(&out);
        return;
    }
    if (!bson_validate(&out, BSON_CHECKS, NULL))
        fuzz_fail("%s: produced invalid BSON", what);
    size_t want = count_items(spec, len) + (sort ? 0 : 1), got = 0;
    bson_iter_t it, other;
    bson_iter_init(&it, &out);
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        size_t klen = bson_iter_key_len(&it);
        int32_t dir = BSON_ITER_HOLDS_INT32(&it) ? bson_iter_int32(&it) : 0;
        bool version = !sort && strcmp(key, ODM_VERSION_FIELD) == 0;
        const odm_field_t *field = odm_model_field(model, key, klen);
        got++;
        if (dir != 1 && !(sort && dir == -1))
            fuzz_fail("%s: '%s' has direction %d", what, key, (int)dir);
        if (!version && strcmp(key, "_id") != 0 && (field == NULL || field->write_only))
            fuzz_fail("%s: '%s' is not a readable field", what, key);
        bson_iter_init(&other, &out);
        if (bson_iter_find(&other, key) && bson_iter_key(&other) != key)
            fuzz_fail("%s: '%s' appears twice", what, key);
    }
    if (got != want)
        fuzz_fail("%s: %zu fields out of %zu items", what, got, want);
    bson_destroy(&out);
}

static void check_id(const odm_model_t *model, const char *id, size_t len)
{
    bson_t filter = BSON_INITIALIZER, again = BSON_INITIALIZER;
    odm_error_t err = {0};
    odm_buf_t segment;
    odm_buf_init(&segment, 4 * len + 64);
    if (!odm_codec_id_filter(model, id, len, &filter, &err)) {
        fuzz_check_error(&err, true, "id_filter");
        if (err.kind != ODM_ERR_BAD_ID)
            fuzz_fail("id_filter: error kind %d, want a bad id", (int)err.kind);
        goto release;
    }
    if (!odm_codec_id_segment(&filter, &segment))
        fuzz_fail("id_segment: no segment for an accepted id");
    /* the segment percent-encodes; decode it as a router would */
    size_t n = 0;
    char *raw = segment.data ? segment.data : "";
    for (size_t i = 0; i < segment.len; i++, n++) {
        unsigned hi, lo;
        if (raw[i] == '%' && i + 2 < segment.len && sscanf(raw + i + 1, "%1x%1x", &hi, &lo) == 2) {
            raw[n] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            raw[n] = raw[i];
        }
    }
    if (!odm_codec_id_filter(model, raw, n, &again, &err) || !bson_equal(&filter, &again))
        fuzz_fail("id_segment: '%.*s' does not give the id back", (int)n, raw);
release:
    odm_buf_release(&segment);
    bson_destroy(&again);
    bson_destroy(&filter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    odm_error_t err = {0};
    json_t *filter = odm_json_parse(text, size, 0, &err);
    fuzz_check_parse(data, size, filter, &err);
    if (filter == NULL)
        fuzz_check_error(&err, true, "json_parse");
    for (size_t i = 0; i < models->n; i++) {
        const odm_model_t *model = models->items[i];
        if (filter != NULL)
            check_filter(model, filter);
        check_list(model, text, size, true);
        check_list(model, text, size, false);
        check_id(model, text, size);
    }
    json_decref(filter);
    return 0;
}
