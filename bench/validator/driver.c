/* odmd side of the validator benchmark (not part of the main build; run.sh builds it): prints
 * one JSON line per workload {name, engine, valid, instances, validations, seconds, perSecond}.
 * Usage: driver WORKLOADS.json (the format is described in run.sh). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "odmd/schema.h"

#define MAX_PAIRS 20000
#define MAX_CASES 4000
#define MAX_FILES 256

typedef struct {
    const odm_schema_t *schema;
    json_t *instance;
} pair_t;

typedef struct {
    pair_t pairs[MAX_PAIRS];
    size_t n_pairs;
    odm_schema_registry_t *regs[MAX_CASES];
    odm_schema_t *schemas[MAX_CASES];
    size_t n_cases;
    json_t *docs; /* keeps the loaded instances alive */
} workload_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *load(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        fprintf(stderr, "driver: %s: %s\n", path, jerr.text);
    return doc;
}

/* The list "all errors" validations collect into, and the buffer a "written" workload writes
 * its units to as JSON (what a 422 body holds), both reused from one validation to the next as
 * a server thread would. */
static odm_schema_errors_t *error_list;
static odm_buf_t error_text;

/* What a workload does with errors. */
typedef enum { ERRORS_NONE, ERRORS_COLLECT, ERRORS_WRITE } errors_t;

/* Validates every pair once; returns how many were valid. */
static size_t run_once(const workload_t *w, errors_t errors)
{
    size_t valid = 0;
    for (size_t k = 0; k < w->n_pairs; k++) {
        bool ok = odm_schema_validate(w->pairs[k].schema, w->pairs[k].instance,
                                      errors != ERRORS_NONE ? error_list : NULL);
        if (errors == ERRORS_WRITE && !ok) {
            odm_buf_reset(&error_text);
            if (!odm_schema_errors_write(error_list, &error_text))
                abort();
        }
        valid += ok;
    }
    return valid;
}

static void measure(const char *name, const workload_t *w, errors_t all_errors, double min_seconds)
{
    size_t valid = run_once(w, all_errors);
    for (int k = 0; k < 100; k++)
        run_once(w, all_errors);
    double start = now(), elapsed = 0;
    size_t n = 0;
    do {
        for (int r = 0; r < 50; r++)
            run_once(w, all_errors);
        n += 50 * w->n_pairs;
        elapsed = now() - start;
    } while (elapsed < min_seconds);
    printf("{\"name\":\"%s\",\"engine\":\"odmd\",\"valid\":%zu,\"instances\":%zu,"
           "\"validations\":%zu,\"seconds\":%.6f,\"perSecond\":%.1f}\n",
           name, valid, w->n_pairs, n, elapsed, (double)n / elapsed);
    fflush(stdout);
}

static odm_format_mode_t mode_of(json_t *spec)
{
    const char *f = json_string_value(json_object_get(spec, "formats"));
    return f != NULL && strcmp(f, "annotate") == 0 ? ODM_FORMAT_ANNOTATE : ODM_FORMAT_ASSERT;
}

static bool add_pair(workload_t *w, const odm_schema_t *schema, json_t *instance)
{
    if (w->n_pairs == MAX_PAIRS)
        return false;
    w->pairs[w->n_pairs].schema = schema;
    w->pairs[w->n_pairs++].instance = instance;
    return true;
}

/* One schema file and its instance files. */
static bool load_model(workload_t *w, json_t *spec)
{
    odm_error_t err;
    const char *path = json_string_value(json_object_get(spec, "schema"));
    json_t *doc = load(path);
    odm_schema_registry_t *reg = odm_schema_registry_new();
    char uri[4200];
    snprintf(uri, sizeof uri, "file://%s", path);
    if (doc == NULL || !odm_schema_registry_add(reg, uri, doc, path, &err)) {
        fprintf(stderr, "driver: %s: %s\n", path, doc ? err.message : "unreadable");
        json_decref(doc);
        odm_schema_registry_free(reg);
        return false;
    }
    json_decref(doc);
    odm_schema_t *schema = odm_schema_compile(reg, uri, mode_of(spec), &err);
    if (schema == NULL) {
        fprintf(stderr, "driver: %s: %s\n", path, err.message);
        odm_schema_registry_free(reg);
        return false;
    }
    w->regs[w->n_cases] = reg;
    w->schemas[w->n_cases++] = schema;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "instances"), i, p)
    {
        json_t *instance = load(json_string_value(p));
        if (instance == NULL)
            return false;
        json_array_append_new(w->docs, instance);
        add_pair(w, schema, instance);
    }
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every case of every file in the suite folder that compiles, each in its own registry with
 * the remotes folder mapped; writes the ids ("file#index") it ran to spec.ids. */
static bool load_suite(workload_t *w, json_t *spec)
{
    const char *dir = json_string_value(json_object_get(spec, "suite"));
    const char *remotes = json_string_value(json_object_get(spec, "remotes"));
    const char *ids_path = json_string_value(json_object_get(spec, "ids"));
    DIR *d = opendir(dir);
    if (d == NULL)
        return false;
    char *names[MAX_FILES];
    size_t n_names = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n_names < MAX_FILES)
        if (strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0)
            names[n_names++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n_names, sizeof *names, compare_names);
    json_t *ids = json_array();
    size_t skipped = 0;
    for (size_t f = 0; f < n_names; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        json_t *cases = load(path);
        json_array_append_new(w->docs, cases);
        size_t ci;
        json_t *c;
        json_array_foreach(cases, ci, c)
        {
            odm_error_t err;
            char uri[4400];
            snprintf(uri, sizeof uri, "urn:bench:%s:%zu", names[f], ci);
            odm_schema_registry_t *reg = odm_schema_registry_new();
            odm_schema_t *schema = NULL;
            if (w->n_cases < MAX_CASES &&
                odm_schema_registry_map(reg, "http://localhost:1234/", remotes, &err) &&
                odm_schema_registry_add(reg, uri, json_object_get(c, "schema"), path, &err))
                schema = odm_schema_compile(reg, uri, mode_of(spec), &err);
            if (schema == NULL) {
                skipped++;
                odm_schema_registry_free(reg);
                continue;
            }
            w->regs[w->n_cases] = reg;
            w->schemas[w->n_cases++] = schema;
            char id[300];
            snprintf(id, sizeof id, "%s#%zu", names[f], ci);
            json_array_append_new(ids, json_string(id));
            size_t ti;
            json_t *t;
            json_array_foreach(json_object_get(c, "tests"), ti, t)
                add_pair(w, schema, json_object_get(t, "data"));
        }
        free(names[f]);
    }
    fprintf(stderr, "driver: suite: %zu cases compiled, %zu skipped\n", json_array_size(ids),
            skipped);
    json_dump_file(ids, ids_path, 0);
    json_decref(ids);
    return true;
}

static void release(workload_t *w)
{
    for (size_t k = 0; k < w->n_cases; k++) {
        odm_schema_free(w->schemas[k]);
        odm_schema_registry_free(w->regs[k]);
    }
    json_decref(w->docs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: driver WORKLOADS.json\n");
        return 2;
    }
    const char *env = getenv("BENCH_SECONDS");
    double min_seconds = env ? atof(env) : 1.0;
    json_t *workloads = load(argv[1]);
    error_list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    odm_buf_init(&error_text, (size_t)1 << 24);
    size_t i;
    json_t *spec;
    int status = 0;
    json_array_foreach(workloads, i, spec)
    {
        workload_t *w = calloc(1, sizeof *w);
        w->docs = json_array();
        bool ok = json_object_get(spec, "suite") ? load_suite(w, spec) : load_model(w, spec);
        if (ok && w->n_pairs > 0)
            measure(json_string_value(json_object_get(spec, "name")), w,
                    !json_is_true(json_object_get(spec, "allErrors"))    ? ERRORS_NONE
                    : json_is_true(json_object_get(spec, "writeErrors")) ? ERRORS_WRITE
                                                                         : ERRORS_COLLECT,
                    min_seconds);
        else
            status = 1;
        release(w);
        free(w);
    }
    json_decref(workloads);
    odm_schema_errors_free(error_list);
    odm_buf_release(&error_text);
    return status;
}
