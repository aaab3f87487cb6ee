/* Fuzz target: JSON Schema compilation, then validation of an instance against what compiled.
 *
 * Input: one flags byte, the schema's JSON text, a NUL byte, the instance's JSON text (without
 * a NUL the schema is validated against itself). Flags: bit 0 asserts formats (else they are
 * annotations), bit 1 caps the violation list at 1 (else ODM_SCHEMA_MAX_ERRORS), bit 2 reads
 * integers as reals (jansson's way past 64 bits). Each input gets its own registry.
 * Oracles: a refused schema gets a schema error naming a place in it; the verdict with a
 * violation list is the verdict without; the list has 1..cap units whose instanceLocation
 * points into the instance; validation is repeatable. */
#include "fuzz.h"
#include "odmd/schema.h"

#define FLAG_ASSERT 1u
#define FLAG_ONE_ERROR 2u
#define FLAG_INT_AS_REAL 4u

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

/* A compile or registry error names where in the schema: "POINTER: reason" with a pointer
 * into the document ("/" for the document itself), or "URI#POINTER: reason" for a place in
 * another document or in an embedded resource. Pointers are not escaped for ": ", so any
 * split that resolves will do; a message cut at its cap is let go. */
static void check_schema_error(const odm_error_t *err, const json_t *schema, const char *what)
{
    fuzz_check_error(err, false, what);
    if (err->kind != ODM_ERR_SCHEMA)
        fuzz_fail("%s: error kind %d, want a schema error: %s", what, (int)err->kind,
                  err->message);
    const char *msg = err->message;
    size_t len = strlen(msg);
    if (msg[0] != '/' || len >= ODM_ERROR_MSG_MAX - 16)
        return;
    for (const char *sep = strstr(msg, ": "); sep != NULL; sep = strstr(sep + 1, ": ")) {
        size_t n = (size_t)(sep - msg);
        if (n == 1 || fuzz_pointer_get(schema, msg, n) != NULL)
            return;
    }
    fuzz_fail("%s: no pointer into the schema in '%s'", what, msg);
}

static void validate(const odm_schema_t *schema, const json_t *instance, unsigned flags)
{
    size_t max = (flags & FLAG_ONE_ERROR) ? 1 : ODM_SCHEMA_MAX_ERRORS;
    bool fast = odm_schema_validate(schema, instance, NULL, 0);
    json_t *errors = (json_t *)1; /* must be overwritten */
    bool full = odm_schema_validate(schema, instance, &errors, max);
    if (fast != full)
        fuzz_fail("validate: %s without a list, %s with one", fast ? "valid" : "invalid",
                  full ? "valid" : "invalid");
    if (full && errors != NULL)
        fuzz_fail("validate: a valid instance got a violation list");
    if (!full)
        fuzz_check_violations(errors, instance, max, SIZE_MAX, "validate");
    json_decref(errors);
    if (odm_schema_validate(schema, instance, NULL, 0) != fast)
        fuzz_fail("validate: a second run changed the verdict");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const uint8_t *text = data + 1, *nul = memchr(text, '\0', size - 1);
    size_t schema_len = nul ? (size_t)(nul - text) : size - 1;
    json_t *schema_doc = parse(text, schema_len, flags);
    if (schema_doc == NULL)
        return 0;
    json_t *instance = nul ? parse(nul + 1, size - 1 - schema_len - 1, flags)
                           : json_incref(schema_doc);
    odm_schema_registry_t *reg = odm_schema_registry_new();
    if (reg == NULL)
        fuzz_fail("registry_new returned NULL");
    odm_error_t err = {0};
    odm_format_mode_t mode = (flags & FLAG_ASSERT) ? ODM_FORMAT_ASSERT : ODM_FORMAT_ANNOTATE;
    if (!odm_schema_registry_add(reg, "urn:fuzz:schema", schema_doc, "fuzz", &err)) {
        check_schema_error(&err, schema_doc, "registry_add");
        goto free_registry;
    }
    odm_schema_t *schema = odm_schema_compile(reg, "urn:fuzz:schema", mode, &err);
    if (schema == NULL) {
        check_schema_error(&err, schema_doc, "compile");
        goto free_registry;
    }
    if (instance != NULL)
        validate(schema, instance, flags);
    odm_schema_free(schema);
free_registry:
    odm_schema_registry_free(reg);
    json_decref(instance);
    json_decref(schema_doc);
    return 0;
}
