/* Fuzz target: JSON Schema compilation, then validation of an instance against what compiled.
 *
 * Input: one flags byte, the schema's JSON text, a NUL byte, the instance's JSON text (without
 * a NUL the schema is validated against itself). Flags: bit 0 asserts formats (else they are
 * annotations), bit 1 caps the violation list at 1 (else ODM_SCHEMA_MAX_ERRORS), bit 2 reads
 * integers as reals (jansson's way past 64 bits), bit 3 puts a second document between schema
 * and instance (NUL-separated), registered as OTHER_URI for the schema to reference. Each
 * input gets its own registry.
 * Oracles: a refused schema gets a schema error naming a place in the document at fault; the
 * verdict with a violation list is the verdict without; the list has 1..cap units whose
 * instanceLocation points into the instance; validation is repeatable. */
#include "fuzz.h"
#include "odmd/schema.h"

#define FLAG_ASSERT 1u
#define FLAG_ONE_ERROR 2u
#define FLAG_INT_AS_REAL 4u
#define FLAG_TWO_DOCS 8u

#define SCHEMA_URI "urn:fuzz:schema"
#define OTHER_URI "http://example.com/other.json"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static json_t *parse(const uint8_t *text, size_t len, unsigned flags)
{
    size_t jflags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    if (flags & FLAG_INT_AS_REAL)
        jflags |= JSON_DECODE_INT_AS_REAL;
    return json_loadb((const char *)text, len, jflags, NULL);
}

/* A compile or registry error names where: "POINTER: reason" with a pointer into the
 * schema ("/" for the document itself), or "URI#POINTER: reason" for a place in another
 * document (checked when that is OTHER_URI; embedded resources have URIs of their own).
 * Pointers are not escaped for ": ", so any split that resolves will do; a message cut at its
 * cap is let go. */
static void check_schema_error(const odm_error_t *err, const json_t *schema, const json_t *other,
                               const char *what)
{
    fuzz_check_error(err, false, what);
    if (err->kind != ODM_ERR_SCHEMA)
        fuzz_fail("%s: error kind %d, want a schema error: %s", what, (int)err->kind, err->message);
    const char *msg = err->message;
    const json_t *doc = schema;
    if (strncmp(msg, OTHER_URI "#/", sizeof OTHER_URI + 1) == 0 && other != NULL) {
        msg += sizeof OTHER_URI;
        doc = other;
    }
    if (msg[0] != '/' || strlen(err->message) >= ODM_ERROR_MSG_MAX - 16)
        return;
    for (const char *sep = strstr(msg, ": "); sep != NULL; sep = strstr(sep + 1, ": ")) {
        size_t n = (size_t)(sep - msg);
        if (n == 1 || fuzz_pointer_get(doc, msg, n) != NULL)
            return;
    }
    fuzz_fail("%s: no pointer into the document in '%s'", what, err->message);
}

/* The list's text as written and as jansson's units dumped must be the same bytes. */
static void check_written(const odm_schema_errors_t *list, const json_t *errors)
{
    char *dumped = json_dumps(errors, JSON_COMPACT);
    odm_buf_t written;
    odm_buf_init(&written, (size_t)1 << 26);
    if (dumped == NULL || !odm_schema_errors_write(list, &written))
        fuzz_fail("validate: the list could not be written");
    else if (strcmp(odm_buf_cstr(&written), dumped) != 0)
        fuzz_fail("validate: written %s, dumped %s", odm_buf_cstr(&written), dumped);
    odm_buf_release(&written);
    free(dumped);
}

static void validate(const odm_schema_t *schema, const json_t *instance, unsigned flags)
{
    size_t max = (flags & FLAG_ONE_ERROR) ? 1 : ODM_SCHEMA_MAX_ERRORS;
    bool fast = odm_schema_validate(schema, instance, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(max);
    if (list == NULL)
        return;
    bool full = odm_schema_validate(schema, instance, list);
    if (fast != full)
        fuzz_fail("validate: %s without a list, %s with one", fast ? "valid" : "invalid",
                  full ? "valid" : "invalid");
    if (full && odm_schema_errors_count(list) != 0)
        fuzz_fail("validate: a valid instance got a violation list");
    json_t *errors = odm_schema_errors_json(list);
    if (!full && errors != NULL) {
        fuzz_check_violations(errors, instance, max, SIZE_MAX, "validate");
        check_written(list, errors);
    }
    json_decref(errors);
    odm_schema_errors_free(list);
    if (odm_schema_validate(schema, instance, NULL) != fast)
        fuzz_fail("validate: a second run changed the verdict");
}

/* Splits data at its first `max - 1` NUL bytes into up to `max` parts; returns how many. */
static size_t split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens,
                    size_t max)
{
    size_t n = 0;
    while (n + 1 < max) {
        const uint8_t *nul = memchr(data, '\0', size);
        if (nul == NULL)
            break;
        parts[n] = data;
        lens[n++] = (size_t)(nul - data);
        size -= (size_t)(nul - data) + 1;
        data = nul + 1;
    }
    parts[n] = data;
    lens[n++] = size;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const uint8_t *parts[3];
    size_t lens[3], n = split(data + 1, size - 1, parts, lens, (flags & FLAG_TWO_DOCS) ? 3 : 2);
    json_t *schema_doc = parse(parts[0], lens[0], flags);
    if (schema_doc == NULL)
        return 0;
    json_t *other = (flags & FLAG_TWO_DOCS) && n > 2 ? parse(parts[1], lens[1], flags) : NULL;
    json_t *instance = n > 1 ? parse(parts[n - 1], lens[n - 1], flags) : json_incref(schema_doc);
    odm_schema_registry_t *reg = odm_schema_registry_new();
    if (reg == NULL)
        fuzz_fail("registry_new returned NULL");
    odm_error_t err = {0};
    odm_format_mode_t mode = (flags & FLAG_ASSERT) ? ODM_FORMAT_ASSERT : ODM_FORMAT_ANNOTATE;
    if (other != NULL && !odm_schema_registry_add(reg, OTHER_URI, other, "other", &err))
        check_schema_error(&err, other, NULL, "registry_add");
    if (!odm_schema_registry_add(reg, SCHEMA_URI, schema_doc, "fuzz", &err)) {
        check_schema_error(&err, schema_doc, NULL, "registry_add");
        goto free_registry;
    }
    odm_schema_t *schema = odm_schema_compile(reg, SCHEMA_URI, mode, &err);
    if (schema == NULL) {
        check_schema_error(&err, schema_doc, other, "compile");
        goto free_registry;
    }
    if (instance != NULL)
        validate(schema, instance, flags);
    odm_schema_free(schema);
free_registry:
    odm_schema_registry_free(reg);
    json_decref(instance);
    json_decref(other);
    json_decref(schema_doc);
    return 0;
}
