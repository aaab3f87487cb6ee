/* Fuzz target: the update documents of the Data API's updateOne and updateMany, compiled for
 * every model in schemas/ (and for none) and applied to a document.
 *
 * Input: the update's JSON, then optionally a NUL and the document's JSON (else {}). The models
 * are loaded once as in fuzz_body.c.
 * Oracles: a refusal (compiling or applying) is ODM_ERR_BAD_REQUEST (or ODM_ERR_INTERNAL, out of
 * memory) with a UTF-8 message, and the pointer it names is "/update" followed by a pointer
 * into the update; an applied update leaves an object; without $setOnInsert, applying it as an
 * insert gives the same document; the readOnly check of a document against itself finds
 * nothing. */
#include "fuzz.h"
#include "odmd/codec.h"
#include "odmd/codec_update.h"
#include "odmd/model.h"

#ifndef ODM_FUZZ_SCHEMAS_DIR
#define ODM_FUZZ_SCHEMAS_DIR "schemas"
#endif
#define BASE "/update"

static odm_models_t *models;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("ODMD_FUZZ_SCHEMAS");
    odm_error_t err = {0};
    models = odm_models_load(dir ? dir : ODM_FUZZ_SCHEMAS_DIR, &err);
    if (models == NULL) {
        fprintf(stderr, "fuzz_update: cannot load the models: %s\n", err.message);
        exit(1);
    }
    return 0;
}

/* A refusal names its kind, a UTF-8 message and a pointer into the update. */
static void check_refusal(const json_t *update, const odm_pointer_t *where, const odm_error_t *err,
                          const char *what)
{
    fuzz_check_error(err, true, what);
    if (err->kind == ODM_ERR_INTERNAL)
        return;
    if (err->kind != ODM_ERR_BAD_REQUEST)
        fuzz_fail("%s: error kind %d, want a bad request", what, (int)err->kind);
    size_t n = strlen(BASE);
    if (strncmp(where->buf, BASE, n) != 0)
        fuzz_fail("%s: pointer '%s' is not under %s", what, where->buf, BASE);
    if (where->len < ODM_POINTER_MAX - 1 &&
        fuzz_pointer_get(update, where->buf + n, where->len - n) == NULL)
        fuzz_fail("%s: pointer '%s' is not in the update", what, where->buf);
}

/* Applies u to a copy of doc. Returns: the result, or NULL when refused (checked). */
static json_t *apply(const odm_update_t *u, const json_t *update, const json_t *doc, bool inserting)
{
    odm_pointer_t where;
    odm_error_t err = {0};
    json_t *copy = json_deep_copy(doc);
    if (copy == NULL)
        fuzz_fail("out of memory");
    if (odm_codec_update_apply(u, copy, inserting, 0, &where, &err)) {
        if (!json_is_object(copy))
            fuzz_fail("apply: the result is not an object");
        return copy;
    }
    check_refusal(update, &where, &err, "apply");
    json_decref(copy);
    return NULL;
}

static void check_model(const odm_model_t *model, const json_t *update, const json_t *doc)
{
    odm_pointer_t where;
    odm_error_t err = {0};
    odm_update_t *u = odm_codec_update_compile(model, update, BASE, &where, &err);
    if (u == NULL) {
        check_refusal(update, &where, &err, "compile");
        return;
    }
    json_t *updated = apply(u, update, doc, false);
    json_t *inserted = odm_codec_update_has_set_on_insert(u) ? NULL : apply(u, update, doc, true);
    if (updated != NULL && inserted != NULL && !json_equal(updated, inserted))
        fuzz_fail("apply: without $setOnInsert an insert differs from an update");
    if (model != NULL && updated != NULL &&
        !odm_codec_update_check_read_only(model, updated, updated, NULL))
        fuzz_fail("check_read_only: a document differs from itself");
    json_decref(updated);
    json_decref(inserted);
    odm_codec_update_free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t update_len = nul ? (size_t)(nul - text) : size;
    odm_error_t err = {0};
    json_t *update = odm_json_parse(text, update_len, 0, &err);
    json_t *doc = nul ? odm_json_parse(nul + 1, size - update_len - 1, ODM_JSON_DOCUMENT, &err)
                      : json_object();
    if (update != NULL && json_is_object(doc)) {
        check_model(NULL, update, doc);
        for (size_t i = 0; i < models->n; i++)
            check_model(models->items[i], update, doc);
    }
    json_decref(update);
    json_decref(doc);
    return 0;
}
