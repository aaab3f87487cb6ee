/* Simple patterns, matched without PCRE2: "^", then ASCII atoms with quantifiers, then "$" or
 * nothing. An atom is a literal, an escaped syntax character, \d, \w or a class of ASCII
 * literals and ranges. When every atom whose count may vary matches no byte that the atoms
 * after it could start with, greedy matching is the only way to match, so one loop over the
 * bytes decides; UTF-8 needs no decoding since no atom matches a byte above 0x7f. Anything
 * else (groups, alternation, ".", negated classes, lazy quantifiers) is left to PCRE2. */
#include <stdint.h>
#include <string.h>

#include "schema/internal.h"

#define SIMPLE_UNBOUNDED UINT32_MAX
_Static_assert(SCHEMA_SIMPLE_ATOMS <= 32, "an atom is a bit of schema__simple_t.bytes");

static void set_add(schema__atom_t *a, unsigned char lo, unsigned char hi)
{
    for (unsigned ch = lo; ch <= hi; ch++)
        a->set[ch / 64] |= (uint64_t)1 << (ch % 64);
}

/* \d and \w (ASCII in ECMA-262, with or without the u flag). */
static bool class_escape(char e, schema__atom_t *a)
{
    if (e == 'd') {
        set_add(a, '0', '9');
        return true;
    }
    if (e != 'w')
        return false;
    set_add(a, '0', '9');
    set_add(a, 'A', 'Z');
    set_add(a, 'a', 'z');
    set_add(a, '_', '_');
    return true;
}

static bool is_syntax_char(char ch)
{
    return ch != '\0' && strchr("^$\\.*+?()[]{}|/-", ch) != NULL;
}

/* One literal byte at p[*i] (escaped or not) inside or outside a class; false if not one. */
static bool literal(const char *p, size_t n, size_t *i, bool in_class, unsigned char *out)
{
    char ch = p[*i];
    if ((unsigned char)ch >= 0x80 || ch < 0x20)
        return false;
    if (ch == '\\') {
        if (*i + 1 >= n || !is_syntax_char(p[*i + 1]))
            return false;
        *out = (unsigned char)p[++*i];
        return true;
    }
    if (in_class ? ch == ']' || ch == '[' : is_syntax_char(ch) && ch != '-' && ch != '/')
        return false; /* "[" in a class may start a POSIX class to PCRE2 */
    *out = (unsigned char)ch;
    return true;
}

/* A class "[...]" starting at p[*i]; leaves *i on its "]". */
static bool parse_class(const char *p, size_t n, size_t *i, schema__atom_t *a)
{
    size_t start = ++*i;
    for (; *i < n && p[*i] != ']'; ++*i) {
        if (p[*i] == '^' && *i == start)
            return false;
        if (p[*i] == '\\' && *i + 1 < n && class_escape(p[*i + 1], a)) {
            ++*i;
            continue;
        }
        unsigned char lo, hi;
        if (!literal(p, n, i, true, &lo))
            return false;
        hi = lo;
        if (*i + 2 < n && p[*i + 1] == '-' && p[*i + 2] != ']') {
            *i += 2;
            if (p[*i] == '\\' && *i + 1 < n && (p[*i + 1] == 'd' || p[*i + 1] == 'w'))
                return false;
            if (!literal(p, n, i, true, &hi) || hi < lo)
                return false;
        }
        set_add(a, lo, hi);
    }
    return *i<n && * i> start;
}

/* A decimal count in a quantifier. */
static bool count(const char *p, size_t n, size_t *i, uint32_t *out)
{
    size_t start = *i;
    uint64_t v = 0;
    for (; *i < n && p[*i] >= '0' && p[*i] <= '9' && v <= 65535; ++*i)
        v = v * 10 + (uint64_t)(p[*i] - '0');
    *out = (uint32_t)v;
    return *i > start && v <= 65535;
}

/* The quantifier after an atom, if any, at p[*i]; leaves *i past it. */
static bool parse_quantifier(const char *p, size_t n, size_t *i, schema__atom_t *a)
{
    a->min = a->max = 1;
    if (*i >= n)
        return true;
    char q = p[*i];
    if (q == '*' || q == '+' || q == '?') {
        a->min = q == '+';
        a->max = q == '?' ? 1 : SIMPLE_UNBOUNDED;
        ++*i;
    } else if (q == '{') {
        ++*i;
        if (!count(p, n, i, &a->min))
            return false;
        a->max = a->min;
        if (*i < n && p[*i] == ',') {
            ++*i;
            a->max = SIMPLE_UNBOUNDED;
            if (*i < n && p[*i] != '}' && !count(p, n, i, &a->max))
                return false;
        }
        if (*i >= n || p[*i] != '}' || a->max < a->min)
            return false;
        ++*i;
    }
    return *i >= n || (p[*i] != '?' && p[*i] != '*' && p[*i] != '+' && p[*i] != '{');
}

/* One atom at p[*i] with its quantifier. */
static bool parse_atom(const char *p, size_t n, size_t *i, schema__atom_t *a)
{
    *a = (schema__atom_t){{0, 0}, 1, 1};
    unsigned char ch;
    if (p[*i] == '[') {
        if (!parse_class(p, n, i, a))
            return false;
    } else if (p[*i] == '\\' && *i + 1 < n && class_escape(p[*i + 1], a)) {
        ++*i;
    } else if (literal(p, n, i, false, &ch)) {
        set_add(a, ch, ch);
    } else {
        return false;
    }
    ++*i;
    return parse_quantifier(p, n, i, a);
}

/* Whether greedy matching is exact: no atom whose count varies shares a byte with what may
 * come right after it. */
static bool deterministic(const schema__simple_t *s)
{
    for (size_t k = 0; k < s->n; k++) {
        const schema__atom_t *a = &s->atoms[k];
        if (a->min == a->max)
            continue;
        for (size_t j = k + 1; j < s->n; j++) {
            const schema__atom_t *b = &s->atoms[j];
            if ((a->set[0] & b->set[0]) || (a->set[1] & b->set[1]))
                return false;
            if (b->min > 0)
                break;
        }
    }
    return true;
}

/* Fills the byte table from the atoms' sets. */
static bool index_bytes(schema__simple_t *s)
{
    memset(s->bytes, 0, sizeof(s->bytes));
    for (size_t k = 0; k < s->n; k++)
        for (unsigned ch = 0; ch < 0x80; ch++)
            if ((s->atoms[k].set[ch / 64] >> (ch % 64)) & 1)
                s->bytes[ch] |= (uint32_t)1 << k;
    return true;
}

bool schema__simple_parse(const char *p, size_t n, schema__simple_t *out)
{
    out->n = 0;
    out->to_end = false;
    if (n == 0 || p[0] != '^')
        return false;
    size_t i = 1;
    while (i < n) {
        if (p[i] == '$') {
            out->to_end = true;
            return i + 1 == n && deterministic(out) && index_bytes(out);
        }
        if (out->n == SCHEMA_SIMPLE_ATOMS || !parse_atom(p, n, &i, &out->atoms[out->n]))
            return false;
        out->n++;
    }
    return deterministic(out) && index_bytes(out);
}

int schema__simple_match(const schema__simple_t *re, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    for (size_t k = 0; k < re->n; k++) {
        const schema__atom_t *a = &re->atoms[k];
        const unsigned char *start = p;
        const unsigned char *limit = (size_t)(end - p) > a->max ? p + a->max : end;
        while (p < limit && ((re->bytes[*p] >> k) & 1))
            p++;
        if ((size_t)(p - start) < a->min)
            return 0;
    }
    return !re->to_end || p == end;
}
