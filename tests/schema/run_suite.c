/* Runs the official JSON-Schema-Test-Suite (draft 2020-12) against odmd's validator: every
 * case's schema is compiled in a fresh registry (http://localhost:1234/ mapped to the suite's
 * remotes/), every test's verdict is compared, with and without error output. Prints counts per
 * file; exits 1 when a test fails. A missing suite is a skip (exit 77, ctest's SKIP_RETURN_CODE)
 * in development and a failure (exit 1) in CI (CI=true in the environment). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "odmd/schema.h"

#define SUITE_DEFAULT "../shared/jsonschema-suite"
#define REMOTE_PREFIX "http://localhost:1234/"
#define CASE_URI "https://odmd.test/suite/case.json"
#define EXIT_SKIP 77

/* Cases odmd does not run, with the reason (test NULL: the whole case). */
static const struct {
    const char *file, *cases, *test, *reason;
} skips[] = {
    {"optional/cross-draft.json", NULL, NULL,
     "odmd implements draft 2020-12 only; references to 2019-09 or draft 7 documents are refused"},
    {"optional/dependencies-compatibility.json", NULL, NULL,
     "\"dependencies\" is not a 2020-12 keyword; odmd ignores unknown keywords"},
};

typedef struct {
    int passed, failed, skipped;
} counts_t;

static const char *skip_reason(const char *file, const char *cdesc, const char *tdesc)
{
    for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++) {
        if (strcmp(skips[i].file, file) != 0)
            continue;
        if (skips[i].cases != NULL && strcmp(skips[i].cases, cdesc) != 0)
            continue;
        if (skips[i].test != NULL && strcmp(skips[i].test, tdesc) != 0)
            continue;
        return skips[i].reason;
    }
    return NULL;
}

/* Runs one test: the verdict alone, then with errors (same verdict, errors iff invalid). */
static bool run_test(const odm_schema_t *schema, const json_t *test, char *why, size_t cap)
{
    const json_t *data = json_object_get(test, "data");
    bool want = json_is_true(json_object_get(test, "valid"));
    bool got = odm_schema_validate(schema, data, NULL);
    odm_schema_errors_t *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    bool got2 = list != NULL && odm_schema_validate(schema, data, list);
    json_t *errors = list != NULL && !got2 ? odm_schema_errors_json(list) : NULL;
    odm_schema_errors_free(list);
    bool ok = got == want && got2 == want && (want ? errors == NULL : json_array_size(errors) > 0);
    if (!ok) {
        char *text = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
        snprintf(why, cap, "want %s, got %s/%s %s", want ? "valid" : "invalid",
                 got ? "valid" : "invalid", got2 ? "valid" : "invalid", text ? text : "");
        free(text);
    }
    json_decref(errors);
    return ok;
}

static void run_case(const char *file, const json_t *c, const char *remotes,
                     odm_format_mode_t formats, counts_t *n)
{
    const char *cdesc = json_string_value(json_object_get(c, "description"));
    const json_t *tests = json_object_get(c, "tests");
    odm_error_t err = {0};
    odm_schema_registry_t *reg = odm_schema_registry_new();
    odm_schema_t *schema = NULL;
    if (reg != NULL && odm_schema_registry_map(reg, REMOTE_PREFIX, remotes, &err) &&
        odm_schema_registry_add(reg, CASE_URI, json_object_get(c, "schema"), "suite", &err))
        schema = odm_schema_compile(reg, CASE_URI, formats, &err);
    size_t i;
    const json_t *test;
    json_array_foreach(tests, i, test)
    {
        const char *tdesc = json_string_value(json_object_get(test, "description"));
        const char *reason = skip_reason(file, cdesc, tdesc);
        char why[4096] = "";
        if (reason != NULL) {
            n->skipped++;
            printf("  SKIP %s: %s / %s: %s\n", file, cdesc, tdesc, reason);
        } else if (schema == NULL) {
            n->failed++;
            printf("  FAIL %s: %s / %s: compile: %s\n", file, cdesc, tdesc, err.message);
        } else if (run_test(schema, test, why, sizeof(why))) {
            n->passed++;
        } else {
            n->failed++;
            printf("  FAIL %s: %s / %s: %s\n", file, cdesc, tdesc, why);
        }
    }
    odm_schema_free(schema);
    odm_schema_registry_free(reg);
}

/* The suite's big integers do not fit a long long: read them as reals then. */
static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (doc == NULL)
        doc = json_load_file(path, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (doc == NULL)
        printf("  cannot read %s: %s\n", path, jerr.text);
    return doc;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every *.json in dir/sub; adds to *total. Returns the number of failures. */
static int run_dir(const char *dir, const char *sub, const char *remotes, odm_format_mode_t formats,
                   const char *only, counts_t *total)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (d == NULL) {
        printf("SKIP: %s is absent from this copy of the suite: none of its cases ran\n", path);
        return 0;
    }
    char *names[512];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 512) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof(names[0]), compare_names);
    int failed = 0;
    for (size_t k = 0; k < count; k++) {
        char file[1024], full[8192];
        snprintf(file, sizeof(file), "%s%s%s", sub, sub[0] ? "/" : "", names[k]);
        snprintf(full, sizeof(full), "%s/%s", path, names[k]);
        free(names[k]);
        if (only != NULL && strstr(file, only) == NULL)
            continue;
        json_t *cases = load(full);
        counts_t n = {0, cases == NULL, 0};
        size_t i;
        const json_t *c;
        json_array_foreach(cases, i, c)
        {
            run_case(file, c, remotes, formats, &n);
        }
        json_decref(cases);
        printf("%-45s %4d passed, %d failed, %d skipped\n", file, n.passed, n.failed, n.skipped);
        total->passed += n.passed;
        total->failed += n.failed;
        total->skipped += n.skipped;
        failed += n.failed;
    }
    return failed;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL; /* runs only the files whose name has it */
    const char *suite = getenv("ODMD_JSONSCHEMA_SUITE");
    if (suite == NULL || suite[0] == '\0')
        suite = SUITE_DEFAULT;
    char tests[4096], remotes[4096];
    snprintf(tests, sizeof(tests), "%s/tests/draft2020-12", suite);
    snprintf(remotes, sizeof(remotes), "%s/remotes", suite);
    struct stat st;
    if (stat(tests, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *ci = getenv("CI");
        if (ci != NULL && strcmp(ci, "true") == 0) {
            printf("run_suite: FAIL: %s not found, and CI=true: the JSON Schema test suite must "
                   "run in CI (set ODMD_JSONSCHEMA_SUITE to its folder)\n",
                   tests);
            return 1;
        }
        printf("run_suite: skipped: %s not found (set ODMD_JSONSCHEMA_SUITE to the suite's "
               "folder)\n",
               tests);
        return EXIT_SKIP;
    }
    json_object_seed(0);
    counts_t total = {0};
    run_dir(tests, "", remotes, ODM_FORMAT_ANNOTATE, only, &total);
    run_dir(tests, "optional", remotes, ODM_FORMAT_ANNOTATE, only, &total);
    run_dir(tests, "optional/format", remotes, ODM_FORMAT_ASSERT, only, &total);
    printf("total: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped);
    if (total.passed == 0) {
        printf("run_suite: FAIL: no case ran from %s\n", tests);
        return 1;
    }
    return total.failed == 0 ? 0 : 1;
}
