/* Unit tests for src/schema/cli.c: `odmd validate` run on temporary files, its stdout captured. */
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "odmd/schema.h"
#include "odmd/schema_cli.h"

#define MAX_ARGS 16

static char dir[] = "/tmp/odmd-test-cli-XXXXXX";
static char out_path[256], err_path[256];
static char stdout_text[65536], stderr_text[65536];

static void slurp(const char *path, char *text, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, size - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
}

/* Writes `text` to DIR/name and returns that path (static storage, one per name slot). */
static const char *write_file(const char *name, const char *text)
{
    static char paths[32][256];
    static int next;
    char *path = paths[next++ % 32];
    snprintf(path, 256, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot write %s", path);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Runs the command with the given arguments (NULL-terminated), stdin from `stdin_path` when not
 * NULL; its stdout lands in stdout_text and its stderr in stderr_text. Returns its exit
 * status. */
static int run(const char *stdin_path, ...)
{
    char *argv[MAX_ARGS] = {"validate"};
    int argc = 1;
    va_list ap;
    va_start(ap, stdin_path);
    for (const char *a; argc < MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)a;
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    int saved_in = dup(STDIN_FILENO);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int errfd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(errfd, STDERR_FILENO);
    close(out);
    close(errfd);
    if (stdin_path != NULL) {
        int in = open(stdin_path, O_RDONLY);
        dup2(in, STDIN_FILENO);
        close(in);
        clearerr(stdin);
    }
    int status = odm_schema_cli_validate(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    dup2(saved_in, STDIN_FILENO);
    close(saved_out);
    close(saved_err);
    close(saved_in);
    clearerr(stdin);
    slurp(out_path, stdout_text, sizeof stdout_text);
    slurp(err_path, stderr_text, sizeof stderr_text);
    return status;
}

/* Returns: a new JSON value for line `k` (0-based) of the captured stdout, or NULL. */
static json_t *line(int k)
{
    const char *p = stdout_text;
    for (; k > 0 && p != NULL; k--) {
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    if (p == NULL || *p == '\0')
        return NULL;
    const char *end = strchr(p, '\n');
    return json_loadb(p, end ? (size_t)(end - p) : strlen(p), 0, NULL);
}

static int count_lines(void)
{
    int n = 0;
    for (const char *p = stdout_text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    return n;
}

static const char user_schema[] =
    "{\"type\": \"object\", \"required\": [\"email\"],"
    " \"properties\": {\"email\": {\"type\": \"string\", \"format\": \"email\"},"
    "                  \"age\": {\"type\": \"integer\", \"minimum\": 0}}}";

static void test_valid_and_invalid(void)
{
    const char *schema = write_file("user.json", user_schema);
    const char *good = write_file("good.json", "{\"email\": \"a@example.com\", \"age\": 3}");
    const char *bad = write_file("bad.json", "{\"email\": \"a@example.com\", \"age\": -1}");
    CHECK_INT(run(NULL, schema, good, NULL), 0);
    json_t *v = line(0);
    CHECK_STR(json_string_value(json_object_get(v, "instance")), good);
    CHECK(json_is_true(json_object_get(v, "valid")));
    CHECK_INT(json_array_size(json_object_get(v, "errors")), 0);
    CHECK(json_is_array(json_object_get(v, "errors")));
    json_decref(v);

    CHECK_INT(run(NULL, schema, good, bad, NULL), 1);
    CHECK_INT(count_lines(), 2);
    v = line(1);
    CHECK_STR(json_string_value(json_object_get(v, "instance")), bad);
    CHECK(json_is_false(json_object_get(v, "valid")));
    json_t *errors = json_object_get(v, "errors");
    CHECK(json_array_size(errors) >= 1);
    bool at_age = false;
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        at_age |= json_string_value(json_object_get(e, "instanceLocation")) != NULL &&
                  strcmp(json_string_value(json_object_get(e, "instanceLocation")), "/age") == 0;
        CHECK(json_is_string(json_object_get(e, "keywordLocation")));
    }
    CHECK_MSG(at_age, "no error at /age in %s", stdout_text);
    json_decref(v);
}

static void test_formats(void)
{
    const char *schema = write_file("user2.json", user_schema);
    const char *bad_email = write_file("bad-email.json", "{\"email\": \"not an address\"}");
    CHECK_INT(run(NULL, schema, bad_email, NULL), 1);
    CHECK_INT(run(NULL, "--formats=assert", schema, bad_email, NULL), 1);
    CHECK_INT(run(NULL, "--formats=annotate", schema, bad_email, NULL), 0);
    CHECK_INT(run(NULL, "--formats", "annotate", schema, bad_email, NULL), 0);
    json_t *v = line(0);
    CHECK(json_is_true(json_object_get(v, "valid")));
    json_decref(v);
}

static void test_compile_only_and_failures(void)
{
    const char *schema = write_file("user3.json", user_schema);
    CHECK_INT(run(NULL, schema, NULL), 0);
    CHECK_INT(count_lines(), 0);
    const char *not_schema = write_file("not-schema.json", "{\"type\": 12}");
    CHECK_INT(run(NULL, not_schema, NULL), 2);
    CHECK_MSG(strstr(stderr_text, "not-schema.json: /type: ") != NULL, "stderr: %s", stderr_text);
    const char *not_json = write_file("not-json.json", "{\"type\": ");
    CHECK_INT(run(NULL, not_json, NULL), 2);
    const char *dup = write_file("dup.json", "{\"type\": \"object\", \"type\": \"string\"}");
    CHECK_INT(run(NULL, dup, NULL), 2);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.json", dir);
    CHECK_INT(run(NULL, missing, NULL), 2);
    /* an unreadable or non-JSON instance: 2, and the others are still reported */
    const char *good = write_file("good3.json", "{\"email\": \"a@example.com\"}");
    const char *garbage = write_file("garbage.json", "{\"email\": ");
    CHECK_INT(run(NULL, schema, garbage, good, missing, NULL), 2);
    CHECK(strstr(stderr_text, "garbage.json' is not JSON: line 1") != NULL);
    CHECK(strstr(stderr_text, "cannot read '") != NULL);
    CHECK_INT(count_lines(), 1);
    json_t *v = line(0);
    CHECK_STR(json_string_value(json_object_get(v, "instance")), good);
    json_decref(v);
    /* usage */
    CHECK_INT(run(NULL, NULL), 2);
    CHECK(strstr(stderr_text, "missing SCHEMA.json") != NULL);
    CHECK(strstr(stderr_text, "usage: odmd validate") != NULL);
    CHECK_INT(count_lines(), 0);
    CHECK_INT(run(NULL, "--formats=sometimes", schema, NULL), 2);
    CHECK_INT(run(NULL, "--map", "nodir", schema, NULL), 2);
    CHECK_INT(run(NULL, "--frobnicate", schema, NULL), 2);
    CHECK_INT(run(NULL, "--map", NULL), 2);
}

static void test_stdin_and_scalars(void)
{
    const char *schema = write_file("num.json", "{\"type\": \"number\", \"maximum\": 10}");
    const char *in = write_file("in.json", "12");
    CHECK_INT(run(in, schema, "-", NULL), 1);
    json_t *v = line(0);
    CHECK_STR(json_string_value(json_object_get(v, "instance")), "-");
    CHECK(json_is_false(json_object_get(v, "valid")));
    json_decref(v);
    const char *ok = write_file("in2.json", "3.5");
    CHECK_INT(run(ok, schema, "-", NULL), 0);
    const char *boolean = write_file("bool-schema.json", "false");
    CHECK_INT(run(NULL, boolean, ok, NULL), 1);
}

static void test_map_and_id(void)
{
    char defs_dir[300];
    snprintf(defs_dir, sizeof defs_dir, "%s/defs", dir);
    mkdir(defs_dir, 0700);
    write_file("defs/point.json",
               "{\"$id\": \"http://example.com/schemas/point.json\", \"type\": \"object\","
               " \"properties\": {\"x\": {\"type\": \"number\"}}, \"required\": [\"x\"]}");
    const char *schema =
        write_file("shape.json", "{\"$id\": \"http://example.com/schemas/shape.json\","
                                 " \"type\": \"array\", \"items\": {\"$ref\": \"point.json\"}}");
    const char *good = write_file("shape-good.json", "[{\"x\": 1}, {\"x\": 2.5}]");
    const char *bad = write_file("shape-bad.json", "[{\"x\": 1}, {\"y\": 2}]");
    char map[400];
    snprintf(map, sizeof map, "--map=http://example.com/schemas/=%s", defs_dir);
    CHECK_INT(run(NULL, map, schema, good, bad, NULL), 1);
    json_t *v0 = line(0), *v1 = line(1);
    CHECK(json_is_true(json_object_get(v0, "valid")));
    CHECK(json_is_false(json_object_get(v1, "valid")));
    json_decref(v0);
    json_decref(v1);
    /* without the map the reference cannot be resolved: the schema is invalid */
    CHECK_INT(run(NULL, schema, good, NULL), 2);
    CHECK(strstr(stderr_text, "cannot resolve") != NULL);
    /* a schema without $id: relative references resolve against its file:// URI */
    write_file("leaf.json", "{\"type\": \"string\"}");
    const char *root = write_file("root.json", "{\"$ref\": \"leaf.json\"}");
    const char *str = write_file("str.json", "\"text\"");
    const char *num = write_file("num-instance.json", "5");
    CHECK_INT(run(NULL, root, str, num, NULL), 1);
    json_t *vs = line(0), *vn = line(1);
    CHECK(json_is_true(json_object_get(vs, "valid")));
    CHECK(json_is_false(json_object_get(vn, "valid")));
    json_decref(vs);
    json_decref(vn);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

/* A schema file's URI: the bytes outside pchar and '/' percent-encoded, cut never. */
static void test_file_uri(void)
{
    char out[64];
    CHECK(odm_schema_file_uri("/a b/caf\xc3\xa9/x%y#z?.json", out, sizeof out));
    CHECK_STR(out, "file:///a%20b/caf%C3%A9/x%25y%23z%3F.json");
    CHECK(odm_schema_file_uri("/-._~!$&'()*+,;=:@", out, sizeof out));
    CHECK_STR(out, "file:///-._~!$&'()*+,;=:@");
    CHECK(!odm_schema_file_uri("/aaaa", out, 12)); /* "file:///aaaa" needs 13 bytes */
    CHECK(odm_schema_file_uri("/aaaa", out, 13));
    CHECK(!odm_schema_file_uri("/a b", out, 13)); /* the escape would not fit */
    CHECK(odm_schema_file_uri("/a b", out, 14));
}

/* End of the JSON value starting at s[i] (a string, an object or array with what they hold, or
 * a scalar up to the next delimiter). */
static size_t value_end(const char *s, size_t i)
{
    int depth = 0;
    do {
        if (s[i] == '"') {
            for (i++; s[i] != '"'; i++)
                i += s[i] == '\\';
            i++;
        } else if (s[i] == '{' || s[i] == '[') {
            depth++, i++;
        } else if (s[i] == '}' || s[i] == ']') {
            depth--, i++;
        } else if (depth == 0) {
            while (s[i] && !strchr(",}] \t\r\n", s[i]))
                i++;
        } else {
            i++;
        }
    } while (depth > 0 && s[i]);
    return i;
}

/* Writes the JSON value after `key` at or past *at into a file; false when there is none. */
static bool next_value(const char *text, size_t *at, const char *key, const char *name,
                       const char **path, const char *stop)
{
    const char *p = strstr(text + *at, key);
    if (p == NULL || (stop != NULL && p > stop))
        return false;
    size_t start = (size_t)(p - text) + strlen(key);
    while (text[start] == ' ' || text[start] == '\n')
        start++;
    size_t end = value_end(text, start);
    char value[4096];
    snprintf(value, sizeof value, "%.*s", (int)(end - start), text + start);
    *path = write_file(name, value);
    *at = end;
    return true;
}

/* The JSON Schema test suite's optional bignum cases through `odmd validate`, each schema and
 * instance as the suite writes them (integers past 64 bits, decimals past a double). */
static void test_bignum_suite(void)
{
    char text[65536];
    FILE *f = fopen(ODM_BIGNUM_SUITE, "r");
    CHECK_MSG(f != NULL, "cannot read %s", ODM_BIGNUM_SUITE);
    if (f == NULL)
        return;
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    size_t at = 0, cases = 0;
    const char *schema, *data;
    while (next_value(text, &at, "\"schema\":", "bignum-schema.json", &schema, NULL)) {
        const char *next_schema = strstr(text + at, "\"schema\":");
        while (next_value(text, &at, "\"data\":", "bignum-data.json", &data, next_schema)) {
            const char *valid = strstr(text + at, "\"valid\":");
            CHECK(valid != NULL);
            if (valid == NULL)
                return;
            bool want = strncmp(valid + 8 + strspn(valid + 8, " "), "true", 4) == 0;
            int status = run(NULL, schema, data, NULL);
            char shown[200];
            slurp(data, shown, sizeof shown);
            CHECK_MSG(status == (want ? 0 : 1), "case %zu (%s): exit %d, want %d: %s%s", cases,
                      shown, status, want ? 0 : 1, stdout_text, stderr_text);
            cases++;
        }
    }
    CHECK_MSG(cases == 9, "%zu bignum cases found, 9 expected", cases);
}

/* Bounds and multipleOf on decimals a double cannot tell apart, "type": "integer" on one. */
static void test_bignum_exact(void)
{
    static const struct {
        const char *schema, *instance;
        int status;
    } cases[] = {
        {"{\"maximum\": 18446744073709551615}", "18446744073709551616", 1},
        {"{\"maximum\": 18446744073709551615}", "18446744073709551615", 0},
        {"{\"exclusiveMaximum\": 18446744073709551615}", "18446744073709551615", 1},
        {"{\"exclusiveMaximum\": 18446744073709551615}", "18446744073709551614", 0},
        {"{\"minimum\": -18446744073709551615}", "-18446744073709551616", 1},
        {"{\"minimum\": -18446744073709551615}", "-18446744073709551615.0", 0},
        {"{\"exclusiveMinimum\": 0.30000000000000000001}", "0.3", 1},
        {"{\"exclusiveMinimum\": 0.3}", "0.30000000000000000001", 0},
        {"{\"maximum\": 9007199254740993}", "9007199254740992.5", 0},
        {"{\"maximum\": 1e400}", "9e399", 0},
        {"{\"maximum\": 1e400}", "1.0000000000000000001e400", 1},
        {"{\"minimum\": 1e-400}", "0", 1},
        {"{\"minimum\": 1}", "100000000000000000000000000000000000000000000000", 0},
        {"{\"multipleOf\": 7}", "70000000000000000000000000000000000000000007", 0},
        {"{\"multipleOf\": 7}", "70000000000000000000000000000000000000000001", 1},
        {"{\"multipleOf\": 0.01}", "12345678901234567890123.45", 0},
        {"{\"multipleOf\": 0.01}", "12345678901234567890123.455", 1},
        {"{\"multipleOf\": 123456789012345678901}", "246913578024691357802", 0},
        {"{\"multipleOf\": 123456789012345678901}", "246913578024691357803", 1},
        {"{\"multipleOf\": 99999999999999999999}", "1000000000000000000000000000000000000000", 1},
        {"{\"multipleOf\": 99999999999999999999}", "9999999999999999999900000000000000000000", 0},
        {"{\"multipleOf\": 10000000000000000000001}", "100000000000000000000010000000", 0},
        {"{\"multipleOf\": 1234567890.12345678901}", "2469135780246913578020", 0},
        {"{\"multipleOf\": 1234567890.12345678901}", "2469135780.24691357801", 1},
        {"{\"multipleOf\": 1e-30}", "3e-29", 0}, /* doubles, their shortest digits */
        {"{\"multipleOf\": 1e-30}", "3.5e-30", 1},
        {"{\"multipleOf\": 2.5e300}", "7.5e300", 0},
        {"{\"type\": \"integer\"}", "12345678901234567890123.5", 1},
        {"{\"type\": \"integer\"}", "1.5e400", 0},
        {"{\"type\": \"integer\"}", "-1e-400", 1},
        {"{\"maximum\": 3}", "[1e400]", 0}, /* not a number: no check */
        {"{\"items\": {\"maximum\": 1e20}}", "[1, {\"a\": 1e400}, 100000000000000000001]", 1},
        {"{\"items\": {\"maximum\": 1e20}}", "[1, {\"a\": 1e400}, 100000000000000000000]", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *schema = write_file("exact-schema.json", cases[i].schema);
        const char *instance = write_file("exact-instance.json", cases[i].instance);
        int status = run(NULL, schema, instance, NULL);
        CHECK_MSG(status == cases[i].status, "%s over %s: exit %d, want %d: %s%s", cases[i].schema,
                  cases[i].instance, status, cases[i].status, stdout_text, stderr_text);
    }
    const char *schema, *instance;
    /* a referenced schema file, loaded on demand from its folder, keeps its numbers too */
    write_file("big-bound.json", "{\"maximum\": 18446744073709551615}");
    schema = write_file("exact-schema.json", "{\"items\": {\"$ref\": \"big-bound.json\"}}");
    instance = write_file("exact-instance.json", "[18446744073709551615, 18446744073709551616]");
    CHECK_INT(run(NULL, schema, instance, NULL), 1);
    CHECK_MSG(strstr(stdout_text, "\"instanceLocation\":\"/1\"") != NULL &&
                  strstr(stdout_text, "\"instanceLocation\":\"/0\"") == NULL,
              "%s%s", stdout_text, stderr_text);
    /* a bound too long for a message is cut there, marked "..." */
    char long_bound[400], bigger[400];
    memset(long_bound, '7', 300);
    snprintf(long_bound + 300, sizeof long_bound - 300, "}");
    memset(bigger, '8', 300);
    bigger[300] = '\0';
    char text[420];
    snprintf(text, sizeof text, "{\"maximum\": %s", long_bound);
    schema = write_file("exact-schema.json", text);
    instance = write_file("exact-instance.json", bigger);
    CHECK_INT(run(NULL, schema, instance, NULL), 1);
    CHECK_MSG(strstr(stdout_text, "must be at most 7777777777") != NULL &&
                  strstr(stdout_text, "777...\"") != NULL,
              "%s", stdout_text);
    /* the message quotes the bound as written */
    schema = write_file("exact-schema.json", "{\"maximum\": 18446744073709551615}");
    instance = write_file("exact-instance.json", "18446744073709551616");
    CHECK_INT(run(NULL, schema, instance, NULL), 1);
    CHECK_MSG(strstr(stdout_text, "must be at most 18446744073709551615") != NULL, "%s",
              stdout_text);
}

int main(void)
{
    test_file_uri();
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    test_valid_and_invalid();
    test_formats();
    test_compile_only_and_failures();
    test_stdin_and_scalars();
    test_map_and_id();
    test_bignum_suite();
    test_bignum_exact();
    CHECK(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
    return check_done("test_schema_cli");
}
