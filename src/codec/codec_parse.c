/* The fast path of odm_json_parse: one pass over a well-formed body straight into a jansson
 * tree, declining whatever it is not sure of so that jansson (and its exact messages) decides.
 *
 * jansson's json_loadb reads a byte at a time through a stream with a saved-text buffer and
 * cost 61k instructions for a 330-byte document (most of an invalid POST's time, answered on
 * the polling thread); this pass costs about a quarter of that. It accepts a strict subset of
 * what json_loadb(JSON_REJECT_DUPLICATES) accepts and builds the same tree (same values, same
 * member order): an object or array at the top; whitespace ' ', '\t', '\n', '\r'; strings of
 * well-formed UTF-8 (Unicode's table 3-7, as jansson checks it) without control characters,
 * with the escapes \" \\ \/ \b \f \n \r \t and \uXXXX (surrogates only in pairs, never
 * \u0000); numbers in JSON's grammar, integers of at most 18 digits, reals that strtod reads
 * whole and without a range error; no duplicate keys; at most ODM_JSON_MAX_DEPTH levels; and,
 * for documents, no key empty, starting with '$' or containing '.'. Anything else, or running out
 * of memory, makes it return NULL and the caller parses again the slow way. */
#include "codec/codec_int.h"
#include "odmd/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INT_DIGITS 18 /* below 2^63 whatever the digits: no overflow to decide */
#define MAX_REAL_TEXT 64

typedef struct {
    const unsigned char *p, *end;
    bool document;
    int depth;
    odm_buf_t scratch; /* an escaped string's decoded bytes */
} fast_t;

static json_t *parse_value(fast_t *f);

static void skip_space(fast_t *f)
{
    while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
        f->p++;
}

/* The length of the well-formed UTF-8 sequence at q (lead byte >= 0x80), 0 when ill-formed. */
static size_t utf8_length(const unsigned char *q, const unsigned char *end)
{
    unsigned char lead = q[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        lo = lead == 0xE0 ? 0xA0 : 0x80; /* overlong */
        hi = lead == 0xED ? 0x9F : 0xBF; /* surrogates */
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        lo = lead == 0xF0 ? 0x90 : 0x80; /* overlong */
        hi = lead == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - q) < n || q[1] < lo || q[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (q[i] < 0x80 || q[i] > 0xBF)
            return 0;
    return n;
}

/* Four hex digits after "\u" at q; -1 when they are not there. */
static long read_u_escape(const unsigned char *q, const unsigned char *end)
{
    if (end - q < 6 || q[0] != '\\' || q[1] != 'u')
        return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        int d = odm_text_hex_digit(q[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static bool put_utf8(odm_buf_t *b, unsigned long cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return odm_buf_append(b, out, n);
}

/* One escape at q (q[0] == '\\') decoded into the scratch buffer. Returns: the bytes of input
 * it took, 0 to decline. */
static size_t decode_escape(fast_t *f, const unsigned char *q)
{
    if (f->end - q < 2)
        return 0;
    char c;
    switch (q[1]) {
    case '"':
        c = '"';
        break;
    case '\\':
        c = '\\';
        break;
    case '/':
        c = '/';
        break;
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'u':
        c = 0;
        break;
    default:
        return 0;
    }
    if (c != 0)
        return odm_buf_putc(&f->scratch, c) ? 2 : 0;
    long hi = read_u_escape(q, f->end);
    if (hi <= 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
        return 0; /* \u0000, a lone low surrogate, or not four hex digits */
    if (hi < 0xD800 || hi > 0xDBFF)
        return put_utf8(&f->scratch, (unsigned long)hi) ? 6 : 0;
    long lo = read_u_escape(q + 6, f->end);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    unsigned long cp =
        0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
    return put_utf8(&f->scratch, cp) ? 12 : 0;
}

/* A string at f->p (on its opening quote). *s and *n receive its bytes: in the input when it
 * has no escapes, else in f->scratch (valid until the next string). */
static bool scan_string(fast_t *f, const char **s, size_t *n)
{
    const unsigned char *start = ++f->p, *q = start;
    bool escaped = false;
    while (q < f->end) {
        unsigned char c = *q;
        if (c == '"') {
            if (escaped) {
                if (!odm_buf_append(&f->scratch, start, (size_t)(q - start)))
                    return false;
                *s = odm_buf_cstr(&f->scratch);
                *n = f->scratch.len;
            } else {
                *s = (const char *)start;
                *n = (size_t)(q - start);
            }
            f->p = q + 1;
            return true;
        }
        if (c < 0x20) {
            return false;
        } else if (c == '\\') {
            if (!escaped)
                odm_buf_reset(&f->scratch);
            escaped = true;
            if (!odm_buf_append(&f->scratch, start, (size_t)(q - start)))
                return false;
            size_t used = decode_escape(f, q);
            if (used == 0)
                return false;
            q += used;
            start = q;
        } else if (c >= 0x80) {
            size_t len = utf8_length(q, f->end);
            if (len == 0)
                return false;
            q += len;
        } else {
            q++;
        }
    }
    return false; /* no closing quote */
}

static bool is_digit(const unsigned char *q, const unsigned char *end)
{
    return q < end && *q >= '0' && *q <= '9';
}

static const unsigned char *skip_digits(const unsigned char *q, const unsigned char *end)
{
    while (is_digit(q, end))
        q++;
    return q;
}

static json_t *parse_number(fast_t *f)
{
    const unsigned char *s = f->p, *q = s, *end = f->end;
    bool negative = q < end && *q == '-', real = false;
    if (negative)
        q++;
    if (q < end && *q == '0') {
        if (is_digit(++q, end))
            return NULL; /* a leading zero */
    } else if (is_digit(q, end)) {
        q = skip_digits(q, end);
    } else {
        return NULL;
    }
    if (q < end && *q == '.') {
        real = true;
        if (!is_digit(++q, end))
            return NULL;
        q = skip_digits(q, end);
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (!is_digit(q, end))
            return NULL;
        q = skip_digits(q, end);
    }
    size_t n = (size_t)(q - s);
    if (!real) {
        const unsigned char *d = s + negative;
        if (q - d > MAX_INT_DIGITS)
            return NULL;
        json_int_t v = 0;
        for (; d < q; d++)
            v = v * 10 + (*d - '0');
        f->p = q;
        return json_integer(negative ? -v : v);
    }
    if (n >= MAX_REAL_TEXT)
        return NULL;
    char text[MAX_REAL_TEXT], *stop;
    memcpy(text, s, n);
    text[n] = '\0';
    errno = 0;
    double d = strtod(text, &stop);
    if (stop != text + n || errno == ERANGE)
        return NULL;
    f->p = q;
    return json_real(d);
}

static json_t *parse_literal(fast_t *f, const char *word, size_t n, json_t *value)
{
    if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
        return NULL;
    f->p += n;
    return value;
}

/* A key as the object will hold it: in the input, or a copy when it was escaped (the value's
 * strings reuse the scratch buffer). *copy is then the caller's to free. */
static bool scan_key(fast_t *f, const char **key, size_t *klen, char **copy)
{
    *copy = NULL;
    if (f->p >= f->end || *f->p != '"' || !scan_string(f, key, klen))
        return false;
    if (f->document && (*klen == 0 || (*key)[0] == '$' || memchr(*key, '.', *klen) != NULL))
        return false;
    if (*key == odm_buf_cstr(&f->scratch)) {
        *copy = malloc(*klen + 1);
        if (*copy == NULL)
            return false;
        memcpy(*copy, *key, *klen);
        (*copy)[*klen] = '\0';
        *key = *copy;
    }
    return true;
}

/* After a member or element: true with *closed set at the closing bracket, true at a comma,
 * false at anything else. */
static bool next_item(fast_t *f, unsigned char close, bool *closed)
{
    skip_space(f);
    if (f->p >= f->end)
        return false;
    *closed = *f->p == close;
    if (!*closed && *f->p != ',')
        return false;
    f->p++;
    skip_space(f);
    return true;
}

static json_t *parse_object(fast_t *f)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    f->p++;
    skip_space(f);
    if (f->p < f->end && *f->p == '}') {
        f->p++;
        return obj;
    }
    for (bool closed = false; !closed;) {
        const char *key;
        size_t klen;
        char *copy;
        if (!scan_key(f, &key, &klen, &copy))
            goto fail;
        skip_space(f);
        bool colon = f->p < f->end && *f->p == ':';
        json_t *value = NULL;
        if (colon) {
            f->p++;
            skip_space(f);
            value = parse_value(f);
        }
        size_t before = json_object_size(obj);
        bool added = value != NULL && json_object_setn_new_nocheck(obj, key, klen, value) == 0;
        free(copy);
        if (!added || json_object_size(obj) == before) /* a duplicate replaced a member */
            goto fail;
        if (!next_item(f, '}', &closed))
            goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(fast_t *f)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    f->p++;
    skip_space(f);
    if (f->p < f->end && *f->p == ']') {
        f->p++;
        return arr;
    }
    for (bool closed = false; !closed;) {
        json_t *value = parse_value(f);
        if (value == NULL || json_array_append_new(arr, value) != 0 ||
            !next_item(f, ']', &closed)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *parse_container(fast_t *f, bool object)
{
    if (++f->depth > ODM_JSON_MAX_DEPTH)
        return NULL;
    json_t *v = object ? parse_object(f) : parse_array(f);
    f->depth--;
    return v;
}

static json_t *parse_value(fast_t *f)
{
    if (f->p >= f->end)
        return NULL;
    switch (*f->p) {
    case '{':
        return parse_container(f, true);
    case '[':
        return parse_container(f, false);
    case '"': {
        const char *s;
        size_t n;
        return scan_string(f, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    }
    case 't':
        return parse_literal(f, "true", 4, json_true());
    case 'f':
        return parse_literal(f, "false", 5, json_false());
    case 'n':
        return parse_literal(f, "null", 4, json_null());
    default:
        return parse_number(f);
    }
}

json_t *codec__parse_fast(const char *buf, size_t len, bool document)
{
    fast_t f = {.p = (const unsigned char *)buf,
                .end = (const unsigned char *)buf + len,
                .document = document};
    odm_buf_init(&f.scratch, len);
    skip_space(&f);
    json_t *root = NULL;
    if (f.p < f.end && (*f.p == '{' || *f.p == '['))
        root = parse_value(&f);
    skip_space(&f);
    if (root != NULL && f.p != f.end) {
        json_decref(root);
        root = NULL;
    }
    odm_buf_release(&f.scratch);
    return root;
}
