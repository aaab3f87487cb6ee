/* The survey commands: `odmd schema infer` (a draft model from a collection's documents) and
 * `odmd check --mongo-uri` (the models checked, then their indexes against the database). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/clock.h"
#include "odmd/log.h"
#include "odmd/survey.h"

#define EXIT_DB 1
#define EXIT_USAGE 2
#define SAMPLE_DEFAULT 1000
#define SAMPLE_MAX 1000000
#define CLI_TIMEOUT_MS 10000

static const char infer_usage[] =
    "usage: odmd schema infer --mongo-uri URI [--db NAME] COLLECTION [--sample N] [--out FILE]\n";
static const char check_usage[] = "usage: odmd check [--mongo-uri URI [--db NAME]] [DIR]\n";

typedef struct {
    const char *uri, *db, *out, *sample;
    const char *positional; /* COLLECTION or DIR */
} cli_args_t;

/* The value options each command takes, and where each goes. */
typedef struct {
    const char *flag;
    size_t offset;
} cli_option_t;

static const cli_option_t options[] = {
    {"--mongo-uri", offsetof(cli_args_t, uri)},
    {"--db", offsetof(cli_args_t, db)},
    {"--out", offsetof(cli_args_t, out)},
    {"--sample", offsetof(cli_args_t, sample)},
};

/* Parses argv[first..]: value options (those `allowed` names, a space-separated list) and at
 * most one positional argument. False on anything else. */
static bool parse(int argc, char **argv, int first, const char *allowed, cli_args_t *a)
{
    memset(a, 0, sizeof *a);
    for (int i = first; i < argc; i++) {
        const cli_option_t *opt = NULL;
        for (size_t k = 0; k < sizeof options / sizeof *options; k++)
            if (strcmp(argv[i], options[k].flag) == 0 && strstr(allowed, options[k].flag))
                opt = &options[k];
        if (opt != NULL) {
            if (i + 1 == argc)
                return false;
            *(const char **)((char *)a + opt->offset) = argv[++i];
        } else if (argv[i][0] == '-' || a->positional != NULL) {
            return false;
        } else {
            a->positional = argv[i];
        }
    }
    return true;
}

static odm_store_t *open_store(const cli_args_t *a, odm_error_t *err)
{
    odm_store_options_t opts = {a->uri, a->db, CLI_TIMEOUT_MS, 2};
    return odm_store_new(&opts, err);
}

/* ---- odmd schema infer ---- */

static bool add_sampled(const bson_t *doc, void *arg, odm_error_t *err)
{
    return odm_survey_infer_add(arg, doc, err);
}

static bool parse_sample(const char *text, int64_t *n)
{
    if (text == NULL)
        return *n = SAMPLE_DEFAULT, true;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    *n = v;
    return errno == 0 && end != text && *end == '\0' && v >= 1 && v <= SAMPLE_MAX;
}

static int write_model(const json_t *model, const char *path)
{
    int rc = path ? json_dump_file(model, path, JSON_INDENT(2))
                  : json_dumpf(model, stdout, JSON_INDENT(2));
    if (rc != 0) {
        fprintf(stderr, "odmd schema infer: cannot write '%s'\n", path ? path : "stdout");
        return EXIT_DB;
    }
    if (path == NULL)
        fputc('\n', stdout);
    return 0;
}

/* Samples and infers; the exit status. */
static int infer(odm_store_t *store, const cli_args_t *a, int64_t n)
{
    odm_error_t err;
    odm_survey_infer_t *inf = odm_survey_infer_new();
    bool random = false;
    int64_t deadline = odm_now_ms() + CLI_TIMEOUT_MS + odm_store_op_budget_ms(store);
    if (inf == NULL ||
        !odm_store_sample(store, a->positional, n, add_sampled, inf, &random, deadline, &err)) {
        fprintf(stderr, "odmd schema infer: %s\n", inf ? err.message : "out of memory");
        odm_survey_infer_free(inf);
        return EXIT_DB;
    }
    fprintf(stderr, "odmd schema infer: %zu documents of '%s' %s\n", odm_survey_infer_count(inf),
            a->positional,
            random ? "sampled with $sample"
                   : "read in natural order (the server refused $sample: not a random sample)");
    bool empty = odm_survey_infer_count(inf) == 0;
    json_t *model = odm_survey_infer_model(inf, a->positional, &err);
    odm_survey_infer_free(inf);
    if (model == NULL) {
        fprintf(stderr, "odmd schema infer: %s\n", err.message);
        return empty ? EXIT_DB : EXIT_USAGE;
    }
    int status = write_model(model, a->out);
    json_decref(model);
    return status;
}

int odm_survey_cli_schema(int argc, char **argv)
{
    cli_args_t a;
    int64_t n = 0;
    if (argc < 2 || strcmp(argv[1], "infer") != 0 ||
        !parse(argc, argv, 2, "--mongo-uri --db --out --sample", &a) || a.uri == NULL ||
        a.positional == NULL || !parse_sample(a.sample, &n)) {
        fputs(infer_usage, stderr);
        return EXIT_USAGE;
    }
    odm_log_set_level(ODM_LOG_WARN);
    odm_store_global_init();
    odm_error_t err;
    odm_store_t *store = open_store(&a, &err);
    int status = EXIT_USAGE;
    if (store == NULL)
        fprintf(stderr, "odmd schema infer: %s\n", err.message);
    else
        status = infer(store, &a, n);
    odm_store_free(store);
    odm_store_global_cleanup();
    return status;
}

/* ---- odmd check --mongo-uri ---- */

bool odm_survey_cli_wants_db(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--mongo-uri") == 0)
            return true;
    return false;
}

static const char *const state_text[] = {
    [ODM_SURVEY_INDEX_PRESENT] = "present",
    [ODM_SURVEY_INDEX_MISSING] = "missing (will be created at startup)",
    [ODM_SURVEY_INDEX_WOULD_FAIL] = "would fail: ",
    [ODM_SURVEY_INDEX_UNDECLARED] = "in the database, declared by no model (information)",
};

static void print_index(const odm_survey_index_t *ix, void *arg)
{
    bool *failing = arg;
    *failing |= ix->state == ODM_SURVEY_INDEX_WOULD_FAIL;
    printf("index '%s' %s%s on '%s': %s%s\n", ix->name, ix->keys, ix->unique ? " unique" : "",
           ix->collection, state_text[ix->state], ix->detail);
}

static int report(const odm_models_t *models, const cli_args_t *a)
{
    odm_error_t err;
    odm_store_t *store = open_store(a, &err);
    if (store == NULL) {
        fprintf(stderr, "odmd check: %s\n", err.message);
        return EXIT_USAGE;
    }
    bool failing = false;
    bool ok = odm_survey_indexes(models, store, CLI_TIMEOUT_MS, print_index, &failing, &err);
    odm_store_free(store);
    if (!ok) {
        fprintf(stderr, "odmd check: %s\n", err.message);
        return EXIT_DB;
    }
    return failing ? EXIT_USAGE : 0;
}

int odm_survey_cli_check(int argc, char **argv)
{
    cli_args_t a;
    if (!parse(argc, argv, 1, "--mongo-uri --db", &a) || a.uri == NULL) {
        fputs(check_usage, stderr);
        return EXIT_USAGE;
    }
    const char *dir = a.positional
                          ? a.positional
                          : (getenv("ODMD_SCHEMAS") ? getenv("ODMD_SCHEMAS") : "./schemas");
    odm_error_t err;
    odm_models_t *models = odm_models_load(dir, &err);
    if (models == NULL) {
        fprintf(stderr, "odmd: %s\n", err.message);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < models->n; i++)
        printf("%s: ok (collection '%s')\n", models->items[i]->path, models->items[i]->collection);
    odm_log_set_level(ODM_LOG_WARN);
    odm_store_global_init();
    int status = report(models, &a);
    odm_store_global_cleanup();
    odm_models_free(models);
    return status;
}
