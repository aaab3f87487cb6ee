/* Shared by the fuzz targets: the libFuzzer entry points and the oracles every target checks
 * (error messages fit for a JSON response, violation lists that point into their instance). */
#ifndef ODMD_FUZZ_H
#define ODMD_FUZZ_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "odmd/error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle failed: say which and abort, which libFuzzer and the replay driver report. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("oracle failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static inline bool fuzz_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i], len = c < 0x80                 ? 1
                                 : c >= 0xC2 && c <= 0xDF ? 2
                                 : c >= 0xE0 && c <= 0xEF ? 3
                                 : c >= 0xF0 && c <= 0xF4 ? 4
                                                          : 0;
        if (len == 0 || i + len > n)
            return false;
        for (unsigned k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        if ((c == 0xE0 && p[i + 1] < 0xA0) || (c == 0xED && p[i + 1] > 0x9F) ||
            (c == 0xF0 && p[i + 1] < 0x90) || (c == 0xF4 && p[i + 1] > 0x8F))
            return false;
        i += len;
    }
    return true;
}

/* A failed call must say why: a kind and a non-empty message; for errors a client sees
 * (`to_client`), UTF-8 too, since the message becomes the "detail" of a JSON problem response,
 * which jansson refuses to build from invalid UTF-8. */
static inline void fuzz_check_error(const odm_error_t *err, bool to_client, const char *what)
{
    size_t n = strnlen(err->message, sizeof err->message);
    if (err->kind == ODM_ERR_NONE || n == 0 || n == sizeof err->message)
        fuzz_fail("%s failed without a kind or a message", what);
    if (to_client && !fuzz_utf8_ok(err->message, n))
        fuzz_fail("%s: message is not UTF-8: %s", what, err->message);
}

/* odm_json_parse against jansson alone: what it returns is the tree json_loadb
 * (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL) builds, members in the same order;
 * what it refuses and jansson takes, it refuses for its own rules (nesting, and '$' or '.' in
 * document keys, or an empty one). */
static inline void fuzz_check_parse(const uint8_t *data, size_t size, const json_t *parsed,
                                    const odm_error_t *err)
{
    json_t *ref = json_loadb((const char *)data, size,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (parsed != NULL) {
        char *a = json_dumps(parsed, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = ref ? json_dumps(ref, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (a == NULL || b == NULL || strcmp(a, b) != 0 || !json_equal(parsed, ref))
            fuzz_fail("json_parse: built %s where jansson builds %s", a ? a : "(nothing)",
                      b ? b : "(nothing)");
        free(a);
        free(b);
    } else if (ref != NULL && strstr(err->message, "nesting deeper than") == NULL &&
               strstr(err->message, "field name '") == NULL) {
        fuzz_fail("json_parse: refused what jansson takes: %s", err->message);
    }
    json_decref(ref);
}

/* The value a JSON Pointer of len bytes ("" for the root, "/a/0/~1b") designates in doc, or
 * NULL. */
static inline const json_t *fuzz_pointer_get(const json_t *doc, const char *ptr, size_t len)
{
    char *token = malloc(len + 1);
    size_t at = 0;
    if (token == NULL)
        fuzz_fail("out of memory");
    while (doc != NULL && at < len) {
        if (ptr[at++] != '/') {
            doc = NULL;
            break;
        }
        size_t n = 0;
        for (; at < len && ptr[at] != '/'; at++) {
            char c = ptr[at];
            if (c == '~') {
                char next = at + 1 < len ? ptr[at + 1] : 0;
                c = next == '0' ? '~' : next == '1' ? '/' : 0;
                if (c == 0) {
                    n = SIZE_MAX;
                    break;
                }
                at++;
            }
            token[n++] = c;
        }
        if (n == SIZE_MAX) {
            doc = NULL;
        } else if (json_is_object(doc)) {
            doc = json_object_getn(doc, token, n);
        } else if (json_is_array(doc)) {
            size_t i = 0;
            bool canonical = n > 0 && n < 19 && (token[0] != '0' || n == 1);
            for (size_t k = 0; k < n && canonical; k++) {
                canonical = token[k] >= '0' && token[k] <= '9';
                i = i * 10 + (size_t)(token[k] - '0');
            }
            doc = canonical && i < json_array_size(doc) ? json_array_get(doc, i) : NULL;
        } else {
            doc = NULL;
        }
    }
    free(token);
    return doc;
}

/* A violation list: an array of 1..max objects with string "instanceLocation" (a pointer into
 * `instance`, unless longer than `ptr_cap`, where a module may cut it), "keywordLocation" and
 * a non-empty "error", and an optional string "absoluteKeywordLocation". */
static inline void fuzz_check_violations(const json_t *errors, const json_t *instance, size_t max,
                                         size_t ptr_cap, const char *what)
{
    size_t i, n = json_array_size(errors);
    const json_t *unit;
    if (!json_is_array(errors) || n == 0 || n > max)
        fuzz_fail("%s: %zu violations reported, want 1..%zu", what, n, max);
    json_array_foreach(errors, i, unit)
    {
        const json_t *at = json_object_get(unit, "instanceLocation");
        const json_t *kw = json_object_get(unit, "keywordLocation");
        const json_t *msg = json_object_get(unit, "error");
        const json_t *abs = json_object_get(unit, "absoluteKeywordLocation");
        if (!json_is_string(at) || !json_is_string(kw) || !json_is_string(msg) ||
            json_string_length(msg) == 0 || (abs != NULL && !json_is_string(abs)))
            fuzz_fail("%s: violation %zu lacks a member", what, i);
        const char *loc = json_string_value(at);
        size_t loc_len = json_string_length(at);
        if (fuzz_pointer_get(instance, loc, loc_len) == NULL && loc_len < ptr_cap)
            fuzz_fail("%s: instanceLocation '%s' is not in the instance", what, loc);
    }
}

#endif
