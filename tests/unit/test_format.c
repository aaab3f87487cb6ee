/* Unit tests for src/schema/format.c: odmd's own cases, or (argument `suite`) the official
 * suite's format cases. Without the suite's format cases (the suite absent, or a copy of it
 * without optional/format) the suite run exits 77 (skipped); an absent suite fails in CI
 * (CI=true), where it must be there. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "check.h"
#include "odmd/format.h"

#define MAX_SUITE_FILES 64
#define EXIT_SKIP 77
#define FORMAT_SUBDIR "/tests/draft2020-12/optional/format"

/* Suite cases this implementation does not pass, with the reason (none at present). */
static const struct {
    const char *file, *data, *reason;
} skipped[] = {
    {NULL, NULL, NULL},
};

static const char *skip_reason(const char *file, const char *data)
{
    for (size_t k = 0; skipped[k].file != NULL; k++)
        if (strcmp(skipped[k].file, file) == 0 && strcmp(skipped[k].data, data) == 0)
            return skipped[k].reason;
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one suite file: every test of every case, printing "FILE: passed/total". */
static void run_suite_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t jerr;
    json_t *cases = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    CHECK_MSG(json_is_array(cases), "%s: %s", path, jerr.text);
    int total = 0, passed = 0, skips = 0;
    size_t ci, ti;
    json_t *c, *t;
    json_array_foreach(cases, ci, c)
    {
        const char *format =
            json_string_value(json_object_get(json_object_get(c, "schema"), "format"));
        CHECK_MSG(format != NULL, "%s: case %zu has no format", name, ci);
        if (format == NULL)
            continue;
        json_array_foreach(json_object_get(c, "tests"), ti, t)
        {
            json_t *data = json_object_get(t, "data");
            bool want = json_is_true(json_object_get(t, "valid")), got = true, known = true;
            if (json_is_string(data)) {
                const char *reason = skip_reason(name, json_string_value(data));
                if (reason != NULL) {
                    printf("  skipped %s %s: %s\n", name, json_string_value(data), reason);
                    skips++;
                    continue;
                }
                got = odm_format_check(format, json_string_value(data), json_string_length(data),
                                       &known);
            }
            total++;
            passed += got == want;
            CHECK_MSG(got == want, "%s: %s: \"%s\" (%s) is %s", name, format,
                      json_is_string(data) ? json_string_value(data) : "(not a string)",
                      json_string_value(json_object_get(t, "description")),
                      got ? "valid" : "invalid");
        }
    }
    printf("  %-28s %3d/%3d passed%s\n", name, passed, total, skips ? " (some skipped)" : "");
    json_decref(cases);
}

static bool in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

/* Runs the suite's format files. Returns false when they did not run: the suite missing (a skip;
 * in CI a failed check), or a copy of the suite without its optional/format folder (a skip,
 * said loudly: no format case of the suite was checked). */
static bool test_suite(void)
{
    const char *root = getenv("ODMD_JSONSCHEMA_SUITE");
    if (root == NULL || root[0] == '\0')
        root = ODM_JSONSCHEMA_SUITE_DIR;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s%s", root, FORMAT_SUBDIR);
    DIR *d = opendir(dir);
    if (d == NULL) {
        DIR *r = opendir(root);
        if (r != NULL) {
            closedir(r);
            printf("SKIP: the suite at %s has no %s folder: none of its format cases ran\n", root,
                   FORMAT_SUBDIR + 1);
            return false;
        }
        CHECK_MSG(!in_ci(),
                  "the JSON Schema test suite (%s) is absent, and CI=true: it must run in "
                  "CI (set ODMD_JSONSCHEMA_SUITE)",
                  root);
        printf("SKIP: the JSON Schema test suite (%s) is absent: its format cases did not run\n",
               root);
        return false;
    }
    char *names[MAX_SUITE_FILES];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_SUITE_FILES) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_names);
    printf("suite format cases from %s:\n", dir);
    CHECK(n > 0);
    for (size_t k = 0; k < n; k++) {
        run_suite_file(dir, names[k]);
        free(names[k]);
    }
    return true;
}

/* odmd's own cases: edges the suite does not reach, and a sample of each format so that a
 * checkout without the suite still tests every checker. */
static const struct {
    const char *format, *data;
    bool valid;
} cases[] = {
    {"date-time", "2024-02-29T12:00:00Z", true},
    {"date-time", "2023-02-29T12:00:00Z", false},
    {"date-time", "2024-01-01T00:00:00.5+05:30", true},
    {"date-time", "2024-01-01T00:00:00.+05:30", false},
    {"date-time", "2024-01-01 00:00:00Z", false},
    {"date-time", "2024-06-30T23:59:60Z", true},
    {"date-time", "2024-06-30T23:59:60+00:01", false},
    {"date", "2000-02-29", true},
    {"date", "1900-02-29", false},
    {"time", "00:00:00Z", true},
    {"time", "00:00:00", false},
    {"time", "00:00:60-00:01", false},
    {"time", "23:59:60+00:00", true},
    {"time", "00:00:00+0000", false},
    {"duration", "P1Y2M3DT4H5M6S", true},
    {"duration", "P1W", true},
    {"duration", "PT", false},
    {"duration", "P1YT", false},
    {"duration", "P1M1Y", false},
    {"duration", "PT1S2M", false},
    {"duration", "P1DT1H1S", false},
    {"duration", "P1DT1M1S", true},
    {"ipv4", "1.2.3.4", true},
    {"ipv4", "01.2.3.4", false},
    {"ipv4", "1.2.3", false},
    {"ipv4", "1.2.3.4.", false},
    {"ipv4", "1000.2.3.4", false},
    {"ipv6", "::", true},
    {"ipv6", "1:2:3:4:5:6:7::", true},
    {"ipv6", "::2:3:4:5:6:7:8", true},
    {"ipv6", "1::3:4:5:6:7:8:9", false},
    {"ipv6", "1:2:3:4:5:6:1.2.3.4", true},
    {"ipv6", "1:2:3:4:5:6:7:1.2.3.4", false},
    {"ipv6", "::1.2.3.4", true},
    {"ipv6", ":::", false},
    {"ipv6", "1:", false},
    {"hostname", "a", true},
    {"hostname", "xn--bcher-kva.example", true},
    {"hostname", "xn--", false},
    {"hostname", "ab--cd", false},
    {"hostname", "xn--bcher-kva-", false},
    {"hostname", "EXAMPLE.COM", true},
    {"hostname", "bücher.example", false},
    {"idn-hostname", "bücher.example", true},
    {"idn-hostname", "Bücher.example", true},
    {"idn-hostname",
     "bu\xcc\x88"
     "cher.example",
     false},                                             /* not NFC: u + COMBINING DIAERESIS */
    {"idn-hostname", "\xe1\x84\x80\xe1\x85\xa1", false}, /* conjoining jamo L V: not NFC */
    {"idn-hostname", "\xea\xb0\x80", true},              /* the composed syllable */
    {"idn-hostname", "a\xcc\x81\xcc\xa3", false},        /* marks out of canonical order */
    {"idn-hostname", "\xc3\xa9\xcc\xa8", false}, /* e-acute + ogonek: NFC is e-ogonek + acute */
    {"idn-hostname", "\xc4\x99\xcc\x81", true},  /* that NFC form */
    {"idn-hostname", "example.com.", false},
    {"idn-hostname", "a b", false},
    {"email", "a@b", true},
    {"email", "\"a\\\"b\"@example.com", true},
    {"email", "\"a\"b@example.com", false},
    {"email", "a@[IPv6:1::2]", true},
    {"email", "a@[IPv6:1::2::3]", false},
    {"email", "a@[tag:content]", true},
    {"email", "a@b..c", false},
    {"email", "δ@example.com", false},
    {"idn-email", "δ@例え.テスト", true},
    {"idn-email", "a@b@c", false},
    {"uri", "http://example.com", true},
    {"uri", "HTTP://EXAMPLE.COM:/a?b#c", true},
    {"uri", "a+b-c.d:x", true},
    {"uri", "http://[v1.x:y]/", true},
    {"uri", "http://[vg.x]/", false},
    {"uri", "http://[1::2/", false},
    {"uri", "http://a/b#c#d", false},
    {"uri", "x:", true},
    {"uri", "http://ex%41mple.com/%7e", true},
    {"uri-reference", "a/b:c", true},
    {"uri-reference", "?a=b?c", true},
    {"uri-reference", "%zz", false},
    {"iri", "http://例え.テスト/パス?クエリ#断片", true},
    {"iri", "http://a/\xee\x80\x80", false}, /* private use outside the query */
    {"iri", "http://a/?\xee\x80\x80", true},
    {"iri-reference", "//例え", true},
    {"iri-reference", "\xef\xbf\xbe", false}, /* U+FFFE is not ucschar */
    {"uuid", "123e4567-e89b-12d3-a456-426614174000", true},
    {"uuid", "123e4567-e89b-12d3-a456-42661417400g", false},
    {"uuid", "{123e4567-e89b-12d3-a456-426614174000}", false},
    {"json-pointer", "/a~01", true},
    {"json-pointer", "~0", false},
    {"relative-json-pointer", "0", true},
    {"relative-json-pointer", "3/", true},
    {"relative-json-pointer", "0 /a", false},
    {"uri-template", "{/a,b*}{?c:3}", true},
    {"uri-template", "{!a}", false},
    {"uri-template", "{a", false},
    {"uri-template", "a{b}}", false},
    {"uri-template", "%", false},
    {"regex", "^[a-z]+\\d{2,3}$", true},
    {"regex", "a{2", false},
    {"regex", "a++", false},
    {"regex", "a*?", true},
    {"regex", "(?>a)", false},
    {"regex", "\\Qa\\E", false},
    {"regex", "\\p{L}\\u0041\\u{1F600}", true},
    {"regex", "(a)(?=b)(?!c)(?<!d)\\1", true},
    {"regex", "[", false},
    {"regex", "\\", false},
    {"regex", "\\cA\\c", false},
    {"regex", "(?<=a{1,1000})b", true}, /* variable length: PCRE2 10.42 refuses it */
    {"regex", "a{1,70000}", true},      /* PCRE2 caps counts at 65535 */
    {"regex", "(?<=(a|bc)*)d", true},
};

static void test_own_cases(void)
{
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bool known = false;
        bool got = odm_format_check(cases[k].format, cases[k].data, strlen(cases[k].data), &known);
        CHECK_MSG(known, "%s unknown", cases[k].format);
        CHECK_MSG(got == cases[k].valid, "%s: \"%s\" is %s", cases[k].format, cases[k].data,
                  got ? "valid" : "invalid");
    }
}

static void test_lengths_and_bytes(void)
{
    char name[300];
    /* 4 labels of 63 and dots: 255 octets; trimmed to 253 it is valid */
    memset(name, 'a', sizeof name);
    for (size_t k = 63; k < 255; k += 64)
        name[k] = '.';
    CHECK(!odm_format_check("hostname", name, 255, NULL));
    CHECK(odm_format_check("hostname", name, 253, NULL));
    CHECK(!odm_format_check("idn-hostname", name, 255, NULL));
    CHECK(odm_format_check("idn-hostname", name, 253, NULL));
    /* embedded NUL and malformed UTF-8 */
    CHECK(!odm_format_check("date", "2020-01-0\0", 10, NULL));
    CHECK(!odm_format_check("hostname", "a\0b", 3, NULL));
    CHECK(!odm_format_check("idn-hostname", "a\xc3", 2, NULL));
    CHECK(!odm_format_check("idn-hostname", "\xc0\xaf", 2, NULL));      /* overlong "/" */
    CHECK(!odm_format_check("iri", "http://a/\xed\xa0\x80", 12, NULL)); /* a surrogate */
    CHECK(!odm_format_check("idn-email", "\xff@example.com", 13, NULL));
    CHECK(!odm_format_check("json-pointer", "/\xff", 2, NULL));
    CHECK(!odm_format_check("regex", "\xff", 1, NULL));
    /* a local part of 65 octets */
    char mail[80];
    memset(mail, 'a', 65);
    memcpy(mail + 65, "@b.c", 4);
    CHECK(!odm_format_check("email", mail, 69, NULL));
    CHECK(odm_format_check("email", mail + 1, 68, NULL));
}

static void test_unknown_and_lookup(void)
{
    bool known = true;
    CHECK(odm_format_check("color", "not checked", 11, &known));
    CHECK(!known);
    CHECK(odm_format_check("date", "2020-01-01", 10, &known));
    CHECK(known);
    CHECK(odm_format_lookup("ipv4") != NULL);
    CHECK(odm_format_lookup("IPV4") == NULL);
    odm_format_fn f = odm_format_lookup("uuid");
    CHECK(f != NULL && !f("x", 1));
}

/* Random strings over each format's syntax characters, in buffers of exactly their length (so
 * that a sanitizer build catches any read past `len`): no crash, and the verdict is the same
 * twice. The generator is a fixed LCG so that a failure reproduces. */
static void test_random_strings(void)
{
    static const char *const names[] = {
        "date-time",     "date",      "time",         "duration",
        "email",         "idn-email", "hostname",     "idn-hostname",
        "ipv4",          "ipv6",      "uri",          "iri",
        "uri-reference", "uuid",      "json-pointer", "relative-json-pointer",
        "uri-template",  "regex",     "iri-reference"};
    static const char *const alphabet[] = {"0123456789-:.TZz+",
                                           "0123456789-",
                                           "0123456789:.Z+-",
                                           "PYMWDTHS0123456789",
                                           "a.@\"\\[]:-IPv6",
                                           "a@.\xc3\xa9\xe3\x80\x82\"",
                                           "axn-.0-9",
                                           "ax-n.\xc3\x9f\xcc\x81\xd7\x90",
                                           "0123456789.",
                                           "0123456789abcdef:.",
                                           "a:/?#[]@%1!v.",
                                           "a:/?#\xc3\xa9\xee\x80\x80%",
                                           "a:/%?#.",
                                           "0123456789abcdef-",
                                           "/~01a",
                                           "0123456789#/~",
                                           "{}+#,:*%41a.",
                                           "\\()[]{}?*+^$|cuxk<>p0",
                                           "/:#?%\xf0\x9f\x98\x80"};
    uint32_t seed = 12345;
    int mismatches = 0;
    for (int round = 0; round < 20000; round++) {
        size_t f = (size_t)round % (sizeof names / sizeof names[0]);
        size_t alen = strlen(alphabet[f]);
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 40;
        char *buf = malloc(len > 0 ? len : 1);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = alphabet[f][(seed >> 16) % alen];
        }
        bool known = false;
        bool a = odm_format_check(names[f], buf, len, &known);
        bool b = odm_format_check(names[f], buf, len, NULL);
        mismatches += !known || a != b;
        free(buf);
    }
    /* mutations of the valid and invalid cases above: one byte replaced, dropped or cut */
    for (int round = 0; round < 20000; round++) {
        size_t c = (size_t)round % (sizeof cases / sizeof cases[0]);
        size_t len = strlen(cases[c].data);
        char *buf = malloc(len > 0 ? len : 1);
        memcpy(buf, cases[c].data, len);
        seed = seed * 1103515245u + 12345u;
        size_t at = len > 0 ? (seed >> 16) % len : 0;
        seed = seed * 1103515245u + 12345u;
        if (len > 0 && (seed >> 16) % 3 == 0)
            buf[at] = (char)(seed >> 24);
        else if (len > 0 && (seed >> 16) % 3 == 1)
            memmove(buf + at, buf + at + 1, --len - at);
        else
            len = at;
        bool known = false;
        bool a = odm_format_check(cases[c].format, buf, len, &known);
        mismatches += !known || a != odm_format_check(cases[c].format, buf, len, NULL);
        free(buf);
    }
    CHECK_INT(mismatches, 0);
}

/* `test_format`: odmd's own cases. `test_format suite`: the suite's format cases alone, exit 77
 * (skipped) when they could not run, so that a missing suite never hides behind a pass nor
 * turns the own cases into a skip. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "suite") == 0) {
        bool suite_ran = test_suite();
        if (!suite_ran && check_failed == 0)
            return EXIT_SKIP;
        return check_done("test_format suite");
    }
    test_own_cases();
    test_lengths_and_bytes();
    test_unknown_and_lookup();
    test_random_strings();
    return check_done("test_format");
}
