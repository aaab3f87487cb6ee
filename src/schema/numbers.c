/* Numbers beyond what a json_t holds exactly (integers past 64 bits, decimals past a double's
 * precision or range): read with their text kept beside the tree, and compared, and divided
 * for multipleOf, on the decimals as written. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/buf.h"
#include "odmd/text.h"
#include "schema/internal.h"

#define EXACT_DIGITS 15 /* decimals of up to 15 significant digits read back from a double */
#define MAX_EXPONENT 1000000000LL /* exponents are clamped here: far past any double */
#define MAX_LONG_DIGITS 100000    /* dividend digits long division goes to (multipleOf) */

struct odm_schema_numbers {
    schema__map_t by_value; /* json_t * -> its text (NUL-terminated, owned by texts) */
    char **texts;
    size_t n, cap;
};

/* One number of the text that the tree cannot hold exactly. */
typedef struct {
    size_t ordinal;    /* among the numbers of the text, in document order */
    size_t start, len; /* the lexeme */
    bool replace;      /* jansson refuses it as written: a real stands in for it */
} lexeme_t;

typedef struct {
    lexeme_t *items;
    size_t n, cap;
} lexemes_t;

/* Length of the JSON number at s (RFC 8259's grammar), 0 when there is none. *real is set
 * when it has a fraction or an exponent; *digits counts its significant digits. */
static size_t number_length(const char *s, size_t n, bool *real, size_t *digits)
{
    size_t i = 0, first = 0, last = 0, count = 0;
    *real = false;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9' ||
        (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
        return 0;
    for (bool frac = false;; i++) {
        if (i < n && s[i] >= '0' && s[i] <= '9') {
            count++;
            if (s[i] != '0') {
                first = first ? first : count;
                last = count;
            }
        } else if (i < n && s[i] == '.' && !frac && i + 1 < n && s[i + 1] >= '0' &&
                   s[i + 1] <= '9') {
            frac = *real = true;
        } else {
            break;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j >= n || s[j] < '0' || s[j] > '9')
            return 0;
        while (j < n && s[j] >= '0' && s[j] <= '9')
            j++;
        i = j;
        *real = true;
    }
    *digits = first ? last - first + 1 : 0;
    return i;
}

/* Whether jansson refuses the lexeme as written (an integer beyond long long, a real beyond
 * a double's range), and whether a double loses it (more than 15 significant digits, or out
 * of range). */
static void judge(const char *s, size_t len, bool real, size_t digits, bool *keep, bool *replace)
{
    char buf[64];
    *keep = *replace = false;
    if (!real && len - (s[0] == '-') < 19) /* every integer of 18 digits fits in long long */
        return;
    if (len >= sizeof buf) { /* a long lexeme: an integer beyond 64 bits, or many digits */
        *keep = true;
        *replace = !real;
        if (real) {
            char *copy = strndup(s, len);
            errno = 0;
            double d = copy ? strtod(copy, NULL) : 0;
            *replace = copy == NULL || (errno == ERANGE && (d > 1 || d < -1));
            free(copy);
        }
        return;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    if (!real) {
        (void)strtoll(buf, NULL, 10);
        *keep = *replace = errno == ERANGE;
        return;
    }
    double d = strtod(buf, NULL);
    *replace = errno == ERANGE && (d > 1 || d < -1); /* overflow; underflow reads as 0 */
    *keep = digits > EXACT_DIGITS || errno == ERANGE;
}

static bool lexemes_push(lexemes_t *l, lexeme_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        lexeme_t *items = realloc(l->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = x;
    return true;
}

/* Finds the numbers of `text` that must be kept as text, in document order. Strings are
 * skipped; anything malformed is left for jansson to report. */
static bool scan(const char *text, size_t len, lexemes_t *out)
{
    size_t ordinal = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (c == '"') {
            for (i++; i < len && text[i] != '"'; i++)
                if (text[i] == '\\')
                    i++;
            i++;
            continue;
        }
        bool real;
        size_t digits, n = (c == '-' || (c >= '0' && c <= '9'))
                               ? number_length(text + i, len - i, &real, &digits)
                               : 0;
        if (n == 0) {
            i++;
            continue;
        }
        bool keep, replace;
        judge(text + i, n, real, digits, &keep, &replace);
        if (keep && !lexemes_push(out, (lexeme_t){ordinal, i, n, replace}))
            return false;
        ordinal++;
        i += n;
    }
    return true;
}

/* The text with each number jansson refuses replaced by a real near it (±DBL_MAX beyond the
 * range), so that the tree keeps a number in its place. */
static bool rewrite(const char *text, size_t len, const lexemes_t *l, odm_buf_t *out)
{
    size_t from = 0;
    for (size_t k = 0; k < l->n; k++) {
        const lexeme_t *x = &l->items[k];
        if (!x->replace)
            continue;
        char *copy = strndup(text + x->start, x->len);
        if (copy == NULL)
            return false;
        double d = strtod(copy, NULL);
        free(copy);
        d = d > DBL_MAX ? DBL_MAX : d < -DBL_MAX ? -DBL_MAX : d;
        char real[ODM_TEXT_DOUBLE_MAX + 2];
        size_t n = odm_text_double(d, real);
        if (strpbrk(real, ".e") == NULL) { /* "%g" wrote an integer: make it a real */
            memcpy(real + n, ".0", 3);
            n += 2;
        }
        if (!odm_buf_append(out, text + from, x->start - from) || !odm_buf_append(out, real, n))
            return false;
        from = x->start + x->len;
    }
    return odm_buf_append(out, text + from, len - from);
}

static bool keep_text(odm_schema_numbers_t *nums, const json_t *value, const char *s, size_t n)
{
    if (nums->n == nums->cap) {
        size_t cap = nums->cap ? 2 * nums->cap : 8;
        char **texts = realloc(nums->texts, cap * sizeof *texts);
        if (texts == NULL)
            return false;
        nums->texts = texts;
        nums->cap = cap;
    }
    char *text = strndup(s, n);
    if (text == NULL)
        return false;
    nums->texts[nums->n++] = text;
    return schema__map_put_ptr(&nums->by_value, value, text);
}

typedef struct {
    const char *text;
    const lexemes_t *lexemes;
    size_t ordinal, next; /* numbers seen; the next lexeme to place */
    odm_schema_numbers_t *nums;
} placer_t;

/* Walks the tree in document order (jansson keeps members in the order read), pairing the
 * numbers met with the kept lexemes by their ordinal. */
static bool place(placer_t *p, const json_t *v)
{
    if (json_is_number(v)) {
        const lexeme_t *x = p->next < p->lexemes->n ? &p->lexemes->items[p->next] : NULL;
        if (x != NULL && x->ordinal == p->ordinal) {
            if (!keep_text(p->nums, v, p->text + x->start, x->len))
                return false;
            p->next++;
        }
        p->ordinal++;
        return true;
    }
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            if (!place(p, item))
                return false;
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item)
        {
            if (!place(p, item))
                return false;
        }
    }
    return true;
}

void odm_schema_numbers_free(odm_schema_numbers_t *nums)
{
    if (nums == NULL)
        return;
    for (size_t i = 0; i < nums->n; i++)
        free(nums->texts[i]);
    free(nums->texts);
    schema__map_release(&nums->by_value);
    free(nums);
}

static void oom(json_error_t *jerr)
{
    snprintf(jerr->text, sizeof jerr->text, "out of memory");
    jerr->line = jerr->column = -1;
    jerr->position = 0;
}

/* Pairs the kept lexemes with the tree's numbers. Returns: a new table, NULL on OOM. */
static odm_schema_numbers_t *numbers_new(const char *text, const lexemes_t *l, const json_t *doc)
{
    odm_schema_numbers_t *nums = calloc(1, sizeof *nums);
    if (nums == NULL)
        return NULL;
    schema__map_init(&nums->by_value);
    placer_t p = {text, l, 0, 0, nums};
    if (!place(&p, doc) || p.next != l->n) {
        odm_schema_numbers_free(nums);
        return NULL;
    }
    return nums;
}

json_t *odm_schema_json_loadb(const char *text, size_t len, size_t flags,
                              odm_schema_numbers_t **numbers, json_error_t *jerr)
{
    lexemes_t l = {0};
    odm_buf_t rewritten;
    odm_buf_init(&rewritten, 2 * len + 64);
    json_t *doc = NULL;
    *numbers = NULL;
    flags |= JSON_REJECT_DUPLICATES; /* a replaced member would break the document order */
    if (!scan(text, len, &l) || (l.n > 0 && !rewrite(text, len, &l, &rewritten))) {
        oom(jerr);
        goto release;
    }
    bool changed = rewritten.len > 0;
    doc = json_loadb(changed ? rewritten.data : text, changed ? rewritten.len : len, flags, jerr);
    if (doc == NULL || l.n == 0)
        goto release;
    *numbers = numbers_new(text, &l, doc);
    if (*numbers == NULL) {
        json_decref(doc);
        doc = NULL;
        oom(jerr);
    }
release:
    free(l.items);
    odm_buf_release(&rewritten);
    return doc;
}

const char *schema__numbers_text(const odm_schema_numbers_t *nums, const json_t *value)
{
    return nums != NULL && nums->n > 0 ? schema__map_get_ptr(&nums->by_value, value) : NULL;
}

/* ---- decimals as written: sign, significant digits, and where the point goes ---- */

/* The value 0.D * 10^exp, D the digits of m from `first` to `last` (inclusive) with the point
 * skipped; zero when there is no nonzero digit. */
typedef struct {
    bool neg, zero;
    const char *m;
    size_t first, last;
    long long exp;
} decimal_text_t;

static decimal_text_t parse_decimal(const char *s)
{
    decimal_text_t d = {.neg = s[0] == '-', .zero = true};
    const char *p = s + d.neg;
    d.m = p;
    long long int_digits = 0, leading = 0;
    bool frac = false;
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        if (*p == '.') {
            frac = true;
            continue;
        }
        int_digits += !frac;
        if (*p != '0') {
            if (d.zero)
                d.first = (size_t)(p - d.m);
            d.zero = false;
            d.last = (size_t)(p - d.m);
        } else if (d.zero) {
            leading++;
        }
    }
    long long e = 0;
    if (*p == 'e' || *p == 'E') {
        bool neg = *++p == '-';
        p += *p == '-' || *p == '+';
        for (; *p >= '0' && *p <= '9'; p++)
            e = e < MAX_EXPONENT ? e * 10 + (*p - '0') : e;
        e = neg ? -e : e;
    }
    d.exp = int_digits - leading + e;
    return d;
}

/* The text of a number: its kept text, or what the tree holds written in decimal. */
static const char *number_text(const json_t *v, const char *kept, char *buf)
{
    if (kept != NULL)
        return kept;
    if (json_is_integer(v))
        odm_text_int(json_integer_value(v), buf);
    else
        odm_text_double(json_real_value(v), buf);
    return buf;
}

/* Compares |a| and |b|: <0, 0, >0. */
static int magnitude_cmp(const decimal_text_t *a, const decimal_text_t *b)
{
    if (a->exp != b->exp)
        return a->exp < b->exp ? -1 : 1;
    size_t i = a->first, j = b->first;
    for (;;) {
        while (i <= a->last && a->m[i] == '.')
            i++;
        while (j <= b->last && b->m[j] == '.')
            j++;
        bool more_a = i <= a->last, more_b = j <= b->last;
        if (!more_a || !more_b)
            return more_a - more_b; /* the one with digits left has a nonzero one left */
        if (a->m[i] != b->m[j])
            return a->m[i] < b->m[j] ? -1 : 1;
        i++, j++;
    }
}

int schema__num_cmp_exact(const json_t *a, const char *a_text, const json_t *b, const char *b_text)
{
    char abuf[ODM_TEXT_DOUBLE_MAX + ODM_TEXT_INT_MAX], bbuf[sizeof abuf];
    decimal_text_t x = parse_decimal(number_text(a, a_text, abuf));
    decimal_text_t y = parse_decimal(number_text(b, b_text, bbuf));
    if (x.zero || y.zero)
        return x.zero && y.zero ? 0 : x.zero ? (y.neg ? 1 : -1) : (x.neg ? -1 : 1);
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    int cmp = magnitude_cmp(&x, &y);
    return x.neg ? -cmp : cmp;
}

/* Digits of d from first to last, the point skipped: how many. */
static long long digit_count(const decimal_text_t *d)
{
    long long n = (long long)(d->last - d->first) + 1;
    return memchr(d->m + d->first, '.', d->last - d->first) != NULL ? n - 1 : n;
}

/* Whether A * 10^k is a multiple of B (the digits of a and b, B of more than 19 digits), by
 * long division on digit strings. Returns: 1 or 0, or -1 when the dividend would pass
 * MAX_LONG_DIGITS digits. */
static int long_remainder_is_zero(const decimal_text_t *a, long long k, const decimal_text_t *b)
{
    long long na = digit_count(a), nb = digit_count(b);
    if (na + k > MAX_LONG_DIGITS)
        return -1;
    size_t n = (size_t)nb + 1; /* the remainder, with one leading digit of room */
    unsigned char *r = calloc(2 * n, 1), *divisor = r + n;
    if (r == NULL)
        return -1;
    for (size_t i = b->first, w = 1; i <= b->last; i++)
        if (b->m[i] != '.')
            divisor[w++] = (unsigned char)(b->m[i] - '0');
    size_t i = a->first;
    for (long long step = 0; step < na + k; step++) {
        while (step < na && a->m[i] == '.')
            i++;
        unsigned char digit = step < na ? (unsigned char)(a->m[i++] - '0') : 0;
        memmove(r, r + 1, n - 1); /* r = r * 10 + digit, then r -= B while r >= B */
        r[n - 1] = digit;
        while (memcmp(r, divisor, n) >= 0) { /* digits, most significant first */
            int borrow = 0;
            for (size_t j = n; j-- > 0;) {
                int d = r[j] - divisor[j] - borrow;
                borrow = d < 0;
                r[j] = (unsigned char)(d < 0 ? d + 10 : d);
            }
        }
    }
    bool zero = true;
    for (size_t j = 0; j < n; j++)
        zero = zero && r[j] == 0;
    free(r);
    return zero;
}

int schema__multiple_of_exact(const json_t *v, const char *v_text, const json_t *d,
                              const char *d_text)
{
    char vbuf[ODM_TEXT_DOUBLE_MAX + ODM_TEXT_INT_MAX], dbuf[sizeof vbuf];
    decimal_text_t a = parse_decimal(number_text(v, v_text, vbuf));
    decimal_text_t b = parse_decimal(number_text(d, d_text, dbuf));
    if (a.zero)
        return 1;
    long long na = digit_count(&a), nb = digit_count(&b);
    if (b.zero)
        return -1;
    long long k = (a.exp - na) - (b.exp - nb);
    if (nb > 19)
        return k < 0 ? 0 : long_remainder_is_zero(&a, k, &b);
    unsigned long long divisor = 0; /* B, the divisor's digits as an integer */
    for (size_t i = b.first; i <= b.last; i++)
        if (b.m[i] != '.')
            divisor = divisor * 10 + (unsigned)(b.m[i] - '0');
    /* v = A * 10^(a.exp - na), d = B * 10^(b.exp - nb); A has no trailing zeros, so v is a
     * multiple only when its last digit is not below d's, and then when A * 10^k mod B is 0 */
    if (k < 0)
        return 0;
    unsigned __int128 r = 0;
    for (size_t i = a.first; i <= a.last; i++)
        if (a.m[i] != '.')
            r = (r * 10 + (unsigned)(a.m[i] - '0')) % divisor;
    return schema__mul_pow10_mod(r, (unsigned long long)k, divisor) == 0;
}

bool schema__text_is_integral(const char *text)
{
    decimal_text_t d = parse_decimal(text);
    return d.zero || d.exp >= digit_count(&d);
}
