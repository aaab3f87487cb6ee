/* Unit tests for the fast path of odm_json_parse (src/codec/codec_parse.c), against jansson:
 * whatever the fast path accepts, json_loadb(JSON_REJECT_DUPLICATES) accepts too, with the
 * same tree (compared as json_dumps text: values, types, member order), and the slow path's
 * own rules (nesting, '$' and '.' in document keys) would have let it through. Inputs:
 * hand-picked edge cases, every byte and UTF-8 sequence at a string's place, and seeded
 * random mutations of realistic bodies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/codec_int.h"
#include "odmd/codec.h"

static unsigned long accepted, declined;

static int tree_depth(const json_t *v)
{
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)v, key, member)
        {
            int d = tree_depth(member);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            int d = tree_depth(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

/* Whether odm_json_parse's slow path refuses the tree for a document's keys. */
static bool bad_document_keys(const json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (bad_document_keys(item))
                return true;
        }
        return false;
    }
    const char *key;
    size_t klen;
    json_t *member;
    json_object_keylen_foreach((json_t *)v, key, klen, member)
    {
        if ((klen > 0 && key[0] == '$') || memchr(key, '.', klen) != NULL ||
            bad_document_keys(member))
            return true;
    }
    return false;
}

/* One input through both parsers; `must_accept` when the fast path may not decline it. */
static void compare(const char *buf, size_t len, bool document, bool must_accept)
{
    json_t *fast = codec__parse_fast(buf, len, document);
    if (fast == NULL) {
        declined++;
        CHECK_MSG(!must_accept, "declined: %.*s", (int)len, buf);
        return;
    }
    accepted++;
    json_error_t jerr;
    json_t *slow = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    CHECK_MSG(slow != NULL, "accepted what jansson refuses (%s): %.*s", slow ? "" : jerr.text,
              (int)len, buf);
    if (slow != NULL) {
        char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY);
        CHECK_MSG(a && b && strcmp(a, b) == 0 && json_equal(fast, slow), "trees differ: %s vs %s",
                  a ? a : "NULL", b ? b : "NULL");
        CHECK_MSG(tree_depth(slow) <= ODM_JSON_MAX_DEPTH, "accepted too deep: %.*s", (int)len, buf);
        CHECK_MSG(!document || !bad_document_keys(slow), "accepted a bad key: %.*s", (int)len, buf);
        free(a);
        free(b);
        json_decref(slow);
    }
    json_decref(fast);
}

static void compare_text(const char *text, bool must_accept)
{
    compare(text, strlen(text), false, must_accept);
    compare(text, strlen(text), true, false);
}

static const char *const well_formed[] = {
    "{}",
    "[]",
    " \t\r\n{ \"a\" : 1 , \"b\" : [ ] } \n",
    "{\"email\":\"not-an-email\",\"name\":{\"first\":\"Ada\",\"last\":\"Lovelace\"},\"age\":12,"
    "\"plan\":\"pro\",\"active\":true,\"balance\":1234.56,\"signedUpAt\":\"2023-04-05T06:07:08."
    "000Z\",\"address\":{\"street\":\"12 Analytical Engine Way\",\"city\":\"London\",\"zip\":"
    "\"ABCDE\",\"country\":\"GB\"},\"tags\":[\"early-adopter\",\"newsletter\"],\"loginCount\":42}",
    "[0, -0, 1, -1, 123456789012345678, -123456789012345678, 0.0, -0.0, 1.5, -2.25e-3, 1E5, "
    "1e+5, 1e-5, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 3.141592653589793]",
    "[true, false, null, [null], {\"x\": {\"y\": {\"z\": [[[]]]}}}]",
    "[\"\", \"plain\", \"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t end\", \"\\u0041\\u00e9\\u20AC\"]",
    "[\"pair \\ud83d\\ude00 \\uD834\\uDD1E\", \"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
    "\xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf\"]",
    "{\"caf\xc3\xa9\": 1, \"k\\u00e9y\": 2, \"\": 3, \"a/b\": {\"\\\"q\": [1, 2]}}",
    "{\"a\": {\"a\": {\"a\": 1}}, \"b\": [{\"a\": 1}, {\"a\": 2}]}",
};

/* Refused by jansson, or by odm_json_parse's own rules: the fast path must decline. */
static const char *const ill_formed[] = {
    "",
    " ",
    "1",
    "\"top\"",
    "null",
    "{",
    "[1,]",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "{\"a\":1 \"b\":2}",
    "{a:1}",
    "['a']",
    "[01]",
    "[-]",
    "[1.]",
    "[.5]",
    "[+1]",
    "[1e]",
    "[1e+]",
    "[0x10]",
    "[1 2]",
    "[truex]",
    "[tru]",
    "[nul]",
    "[NaN]",
    "[Infinity]",
    "[1e400]",
    "[-1e400]",
    "[9223372036854775808]",
    "[99999999999999999999]",
    "[\"a\\u0000b\"]",
    "{\"a\\u0000\": 1}",
    "[\"\\ud800\"]",
    "[\"\\udc00\"]",
    "[\"\\ud800\\u0041\"]",
    "[\"\\ud800x\"]",
    "[\"\\u12\"]",
    "[\"\\u12G4\"]",
    "[\"\\x\"]",
    "[\"\\'\"]",
    "[\"tab\there\"]",
    "[\"nl\nhere\"]",
    "[\"\xc0\xaf\"]",
    "[\"\xe0\x80\xaf\"]",
    "[\"\xed\xa0\x80\"]",
    "[\"\xf4\x90\x80\x80\"]",
    "[\"\xf5\x80\x80\x80\"]",
    "[\"\x80\"]",
    "[\"\xc3\"]",
    "[\"unterminated]",
    "{\"a\": 1, \"a\": 2}",
    "{\"x\": {\"k\": 1, \"k\": 1}}",
    "{} {}",
    "{}x",
    "\xef\xbb\xbf{}",
    "{}\x00",
};

static void test_edges(void)
{
    for (size_t i = 0; i < sizeof well_formed / sizeof well_formed[0]; i++)
        compare_text(well_formed[i], true);
    /* subnormal reals: strtod says ERANGE, jansson keeps them; the fast path leaves them to it */
    compare_text("[4.9e-324, 1e-320]", false);
    for (size_t i = 0; i < sizeof ill_formed / sizeof ill_formed[0]; i++) {
        size_t len = strlen(ill_formed[i]) + (strcmp(ill_formed[i], "{}") == 0);
        json_t *v = codec__parse_fast(ill_formed[i], len, false);
        CHECK_MSG(v == NULL, "accepted: %s", ill_formed[i]);
        json_decref(v);
    }
    /* a NUL byte after the value, inside a string, and after a number (jansson skips that
     * one: the slow path keeps its answer) */
    CHECK(codec__parse_fast("{}\0", 3, false) == NULL);
    CHECK(codec__parse_fast("[\"a\0b\"]", 7, false) == NULL);
    CHECK(codec__parse_fast("[1\0]", 4, false) == NULL);
    /* document keys: '$' first or '.' anywhere declines (the slow path names the pointer) */
    const char *doc_keys[] = {"{\"$set\": 1}", "{\"a\": {\"b.c\": 1}}", "[{\"$x\": 1}]",
                              "{\"\\u0024x\": 1}", "{\"a\\u002eb\": 1}"};
    for (size_t i = 0; i < sizeof doc_keys / sizeof doc_keys[0]; i++) {
        CHECK_MSG(codec__parse_fast(doc_keys[i], strlen(doc_keys[i]), true) == NULL, "%s",
                  doc_keys[i]);
        compare(doc_keys[i], strlen(doc_keys[i]), false, true);
    }
}

static void test_depth(void)
{
    char text[2 * (ODM_JSON_MAX_DEPTH + 2) + 1];
    for (int depth = ODM_JSON_MAX_DEPTH - 1; depth <= ODM_JSON_MAX_DEPTH + 1; depth++) {
        for (int i = 0; i < depth; i++) {
            text[i] = '[';
            text[2 * depth - 1 - i] = ']';
        }
        text[2 * depth] = '\0';
        json_t *v = codec__parse_fast(text, strlen(text), false);
        CHECK_MSG((v != NULL) == (depth <= ODM_JSON_MAX_DEPTH), "depth %d", depth);
        json_decref(v);
    }
}

/* Every byte, and every lead byte with every second byte (and a few third and fourth), inside
 * a string: UTF-8 decided as jansson decides it. */
static void test_string_bytes(void)
{
    static const unsigned char tails[] = {0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0x7F, '"'};
    char text[16];
    for (int a = 0; a < 256; a++) {
        int n = snprintf(text, sizeof text, "[\"x%c\"]", a);
        compare(text, (size_t)n, false, a >= 0x20 && a < 0x80 && a != '"' && a != '\\');
    }
    for (int a = 0x80; a < 0x100; a++) {
        for (int b = 0; b < 256; b++) {
            for (size_t c = 0; c < sizeof tails; c++) {
                for (size_t d = 0; d < sizeof tails; d += 2) {
                    unsigned char s[] = {
                        '[', '"', (unsigned char)a, (unsigned char)b, tails[c], tails[d], '"', ']'};
                    compare((const char *)s, sizeof s, false, false);
                }
            }
        }
    }
}

/* Escapes \u0001..\uFFFF one by one, and surrogate pairs at their edges. */
static void test_u_escapes(void)
{
    char text[32];
    for (unsigned v = 0; v <= 0xFFFF; v++) {
        int n = snprintf(text, sizeof text, "[\"\\u%04X\"]", v);
        compare(text, (size_t)n, false, v != 0 && (v < 0xD800 || v > 0xDFFF));
    }
    static const unsigned hi[] = {0xD800, 0xDBFF, 0xDC00, 0xD7FF},
                          lo[] = {0xDC00, 0xDFFF, 0xDBFF, 0xE000, 0x0041};
    for (size_t i = 0; i < sizeof hi / sizeof hi[0]; i++)
        for (size_t j = 0; j < sizeof lo / sizeof lo[0]; j++) {
            int n = snprintf(text, sizeof text, "[\"\\u%04x\\u%04x\"]", hi[i], lo[j]);
            compare(text, (size_t)n, false, i < 2 && j < 2);
        }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Bytes that matter to a JSON parser, and UTF-8 pieces. */
static const char *const pieces[] = {
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    " ",
    "\n",
    "\t",
    "0",
    "1",
    "9",
    "-",
    "+",
    ".",
    "e",
    "E",
    "t",
    "true",
    "false",
    "null",
    "\\u",
    "\\u00",
    "\\ud83d",
    "\\ude00",
    "\\u0000",
    "\\n",
    "\\\"",
    "\xc3",
    "\xa9",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xed\xa0\x80",
    "\xff",
    "\x01",
    "\x00",
    "$",
    ".",
    "1e400",
    "99999999999999999999",
    "123456789012345678",
    "\"a\":1",
    "\"a\"",
    "{\"a\":[1,2]}",
};

static void test_mutations(void)
{
    unsigned long accepted_before = accepted;
    char buf[1024];
    size_t nseeds = sizeof well_formed / sizeof well_formed[0];
    for (int round = 0; round < 100000; round++) {
        const char *seed = well_formed[rng() % nseeds];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = len ? rng() % (len + 1) : 0;
            switch (rng() % 3) {
            case 0: /* delete a few bytes */
                if (at < len) {
                    size_t n = 1 + rng() % 3;
                    n = n > len - at ? len - at : n;
                    memmove(buf + at, buf + at + n, len - at - n);
                    len -= n;
                }
                break;
            case 1: { /* insert a piece */
                const char *p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
                size_t n = p[0] ? strlen(p) : 1;
                if (len + n < sizeof buf) {
                    memmove(buf + at + n, buf + at, len - at);
                    memcpy(buf + at, p, n);
                    len += n;
                }
                break;
            }
            default: /* overwrite a byte */
                if (at < len)
                    buf[at] = (char)(rng() & 0xFF);
            }
        }
        compare(buf, len, rng() % 2, false);
    }
    printf("mutations: %lu of 100000 accepted\n", accepted - accepted_before);
    CHECK(accepted - accepted_before > 5000); /* mutations that stay well-formed are compared */
}

int main(void)
{
    test_edges();
    test_depth();
    test_string_bytes();
    test_u_escapes();
    test_mutations();
    printf("fast path: %lu accepted, %lu declined\n", accepted, declined);
    CHECK(accepted > 50000 && declined > 50000); /* both sides were exercised */
    return check_done("codec_parse");
}
