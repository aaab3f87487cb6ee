/* `odmd validate`: compile a schema file, validate instance files, print one verdict line each.
 * A command's entry point, not library code: it talks to the user on stdout and stderr. */
#include "odmd/schema_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "odmd/buf.h"
#include "odmd/error.h"
#include "odmd/schema.h"

#define EXIT_VALID 0
#define EXIT_INVALID 1
#define EXIT_FAILURE_USAGE 2
#define MAX_FILE_BYTES (512u * 1024 * 1024) /* a schema or an instance file */
#define MAX_MAPS 32
#define FILE_URI_MAX (3 * PATH_MAX + 8)

static const char usage_text[] =
    "usage: odmd validate [--formats=assert|annotate] [--map PREFIX=DIR]... SCHEMA.json "
    "[INSTANCE.json|- ...]\n";

typedef struct {
    odm_format_mode_t formats;
    const char *maps[MAX_MAPS]; /* "PREFIX=DIR", borrowed from argv */
    size_t n_maps;
    const char *schema_path;
    char **instances; /* borrowed from argv */
    int n_instances;
} options_t;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("odmd validate: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return EXIT_FAILURE_USAGE;
}

static bool parse_formats(const char *value, odm_format_mode_t *out)
{
    if (strcmp(value, "assert") == 0)
        *out = ODM_FORMAT_ASSERT;
    else if (strcmp(value, "annotate") == 0)
        *out = ODM_FORMAT_ANNOTATE;
    else
        return false;
    return true;
}

/* Parses argv[1..] into *o. Returns: -1 when the command should go on, else an exit status
 * (usage printed). Accepts "--opt=VALUE" and "--opt VALUE"; "--" ends the options. */
static int parse_options(int argc, char **argv, options_t *o)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "--help") == 0) {
            fputs(usage_text, stdout);
            return EXIT_VALID;
        }
        bool is_formats = strncmp(arg, "--formats", 9) == 0 && (arg[9] == '=' || !arg[9]);
        bool is_map = strncmp(arg, "--map", 5) == 0 && (arg[5] == '=' || !arg[5]);
        if (!is_formats && !is_map)
            return usage_error("unknown option '%s'", arg);
        const char *value = strchr(arg, '=');
        if (value != NULL) {
            value++;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error("option '%s' needs a value", arg);
        }
        if (is_formats && !parse_formats(value, &o->formats))
            return usage_error("--formats takes 'assert' or 'annotate', not '%s'", value);
        if (is_map) {
            const char *eq = strchr(value, '=');
            if (eq == NULL || eq == value || eq[1] == '\0')
                return usage_error("--map takes PREFIX=DIR, not '%s'", value);
            if (o->n_maps == MAX_MAPS)
                return usage_error("more than %s --map options", "32");
            o->maps[o->n_maps++] = value;
        }
    }
    if (i >= argc)
        return usage_error("%s", "missing SCHEMA.json");
    o->schema_path = argv[i++];
    o->instances = argv + i;
    o->n_instances = argc - i;
    return -1;
}

/* Reads the whole file at `path` ("-": stdin) into *out (capped at MAX_FILE_BYTES). */
static bool read_file(const char *path, odm_buf_t *out, odm_error_t *err)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL)
        return odm_error_set(err, ODM_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    bool ok = true;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (!odm_buf_append(out, chunk, n)) {
            ok = odm_error_set(err, ODM_ERR_TOO_LARGE, "'%s' is larger than %u bytes", path,
                               MAX_FILE_BYTES);
            break;
        }
    }
    if (ok && ferror(f))
        ok = odm_error_set(err, ODM_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    if (!is_stdin)
        fclose(f);
    return ok;
}

/* Returns: a new JSON value parsed from the file at `path` (duplicate keys refused), with the
 * text of its numbers beyond jansson's reach in *numbers (new, or NULL when none); NULL with
 * err set. */
static json_t *load_json(const char *path, odm_schema_numbers_t **numbers, odm_error_t *err)
{
    odm_buf_t buf;
    odm_buf_init(&buf, MAX_FILE_BYTES);
    json_t *doc = NULL;
    if (!read_file(path, &buf, err))
        goto release_buf;
    json_error_t jerr;
    doc = odm_schema_json_loadb(buf.data ? buf.data : "", buf.len,
                                JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, numbers,
                                &jerr);
    if (doc == NULL)
        odm_error_set(err, ODM_ERR_MALFORMED_JSON, "'%s' is not JSON: line %d column %d: %s", path,
                      jerr.line, jerr.column, jerr.text);
release_buf:
    odm_buf_release(&buf);
    return doc;
}

/* Writes `path` made absolute into abs (size PATH_MAX) and its file:// URI into out (size
 * FILE_URI_MAX). */
static bool file_uri(const char *path, char *abs, char *out, odm_error_t *err)
{
    if (realpath(path, abs) == NULL)
        return odm_error_set(err, ODM_ERR_IO, "cannot resolve '%s': %s", path, strerror(errno));
    if (!odm_schema_file_uri(abs, out, FILE_URI_MAX))
        return odm_error_set(err, ODM_ERR_IO, "the path of '%s' is too long", path);
    return true;
}

/* Maps the folder of the schema file (URI prefix up to its last "/") to that folder, so that
 * relative references to sibling files resolve. */
static bool map_own_folder(odm_schema_registry_t *reg, const char *abs, const char *uri,
                           odm_error_t *err)
{
    char prefix[FILE_URI_MAX], dir[PATH_MAX];
    size_t plen = (size_t)(strrchr(uri, '/') - uri) + 1;
    size_t dlen = (size_t)(strrchr(abs, '/') - abs);
    memcpy(prefix, uri, plen);
    prefix[plen] = '\0';
    memcpy(dir, abs, dlen);
    dir[dlen] = '\0';
    return odm_schema_registry_map(reg, prefix, dlen > 0 ? dir : "/", err);
}

/* Returns: a new registry with the --map folders, the schema file's own folder and the schema
 * file added, and the URI to compile in `uri`; NULL with err set. */
static odm_schema_registry_t *load_registry(const options_t *o, char *uri, odm_error_t *err)
{
    odm_schema_registry_t *reg = odm_schema_registry_new();
    if (reg == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (size_t k = 0; k < o->n_maps; k++) {
        char prefix[FILE_URI_MAX];
        const char *eq = strchr(o->maps[k], '=');
        size_t plen = (size_t)(eq - o->maps[k]);
        if (plen >= sizeof prefix) {
            odm_error_set(err, ODM_ERR_CONFIG, "--map prefix is too long");
            goto free_reg;
        }
        memcpy(prefix, o->maps[k], plen);
        prefix[plen] = '\0';
        if (!odm_schema_registry_map(reg, prefix, eq + 1, err))
            goto free_reg;
    }
    odm_schema_numbers_t *numbers = NULL;
    json_t *doc = load_json(o->schema_path, &numbers, err);
    if (doc == NULL || !odm_schema_registry_add_numbers(reg, numbers, err)) {
        json_decref(doc);
        goto free_reg;
    }
    char abs[PATH_MAX];
    bool added = file_uri(o->schema_path, abs, uri, err) && map_own_folder(reg, abs, uri, err);
    if (added && !odm_schema_registry_add(reg, uri, doc, o->schema_path, err)) {
        odm_error_prefix(err, "%s", o->schema_path);
        added = false;
    }
    json_decref(doc);
    if (added)
        return reg;
free_reg:
    odm_schema_registry_free(reg);
    return NULL;
}

/* Prints {"instance", "valid", "errors"} for one instance on one line. Returns false on OOM. */
static bool print_verdict(const char *path, bool valid, json_t *errors)
{
    json_t *line = json_pack("{s:s, s:b, s:o}", "instance", path, "valid", valid, "errors",
                             errors != NULL ? errors : json_array());
    if (line == NULL)
        return false;
    int rc = json_dumpf(line, stdout, JSON_COMPACT);
    json_decref(line);
    return rc == 0 && fputc('\n', stdout) != EOF;
}

/* Validates each instance; returns the exit status for them. */
static int validate_instances(const odm_schema_t *schema, const options_t *o)
{
    int status = EXIT_VALID;
    odm_schema_errors_t *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    if (list == NULL) {
        fprintf(stderr, "odmd validate: out of memory\n");
        return EXIT_FAILURE_USAGE;
    }
    for (int k = 0; k < o->n_instances; k++) {
        const char *path = o->instances[k];
        odm_error_t err;
        odm_schema_numbers_t *numbers = NULL;
        json_t *instance = load_json(path, &numbers, &err);
        if (instance == NULL) {
            fprintf(stderr, "odmd validate: %s\n", err.message);
            status = EXIT_FAILURE_USAGE;
            continue;
        }
        bool valid = odm_schema_validate_numbers(schema, instance, numbers, list);
        json_t *errors = valid ? NULL : odm_schema_errors_json(list); /* borrows the instance */
        json_decref(instance);
        odm_schema_numbers_free(numbers);
        if ((!valid && errors == NULL) || !print_verdict(path, valid, errors)) {
            /* print_verdict took errors */
            fprintf(stderr, "odmd validate: cannot write the verdict for '%s'\n", path);
            odm_schema_errors_free(list);
            return EXIT_FAILURE_USAGE;
        }
        if (!valid && status == EXIT_VALID)
            status = EXIT_INVALID;
    }
    odm_schema_errors_free(list);
    fflush(stdout);
    return status;
}

int odm_schema_cli_validate(int argc, char **argv)
{
    options_t o = {.formats = ODM_FORMAT_ASSERT};
    int status = parse_options(argc, argv, &o);
    if (status >= 0)
        return status;
    odm_error_t err;
    char uri[FILE_URI_MAX];
    odm_schema_registry_t *reg = load_registry(&o, uri, &err);
    if (reg == NULL) {
        fprintf(stderr, "odmd validate: %s\n", err.message);
        return EXIT_FAILURE_USAGE;
    }
    odm_schema_t *schema = odm_schema_compile(reg, uri, o.formats, &err);
    if (schema == NULL) {
        fprintf(stderr, "odmd validate: %s: %s\n", o.schema_path, err.message);
        status = EXIT_FAILURE_USAGE;
        goto free_reg;
    }
    status = validate_instances(schema, &o);
    odm_schema_free(schema);
free_reg:
    odm_schema_registry_free(reg);
    return status;
}
