/* JSON Schema's view of JSON values: types (1.0 is an integer), equality (1 equals 1.0),
 * hashing, numeric order, decimal multipleOf, and string length in code points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/text.h"
#include "schema/internal.h"

bool schema__is_integral(double x)
{
    if (!isfinite(x))
        return false;
    if (fabs(x) >= 4503599627370496.0) /* 2^52: no fraction bits left */
        return true;
    return (double)(long long)x == x;
}

const char *schema__json_type_name(const json_t *v)
{
    static const char *const names[] = {
        [JSON_OBJECT] = "object",   [JSON_ARRAY] = "array", [JSON_STRING] = "string",
        [JSON_INTEGER] = "integer", [JSON_REAL] = "number", [JSON_TRUE] = "boolean",
        [JSON_FALSE] = "boolean",   [JSON_NULL] = "null",
    };
    if (json_is_real(v) && (schema__json_types(v) & SCHEMA_T_INTEGER))
        return "integer";
    return names[json_typeof(v)];
}

int schema__num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    /* long double holds every long long and every double exactly on the targets odmd runs on */
    long double x = json_is_integer(a) ? (long double)json_integer_value(a) : json_real_value(a);
    long double y = json_is_integer(b) ? (long double)json_integer_value(b) : json_real_value(b);
    return (x > y) - (x < y);
}

static bool objects_equal(const json_t *a, const json_t *b)
{
    if (json_object_size(a) != json_object_size(b))
        return false;
    const char *key;
    const json_t *va;
    json_object_foreach((json_t *)a, key, va)
    {
        const json_t *vb = json_object_get(b, key);
        if (vb == NULL || !schema__json_equal(va, vb))
            return false;
    }
    return true;
}

static bool arrays_equal(const json_t *a, const json_t *b)
{
    size_t n = json_array_size(a);
    if (n != json_array_size(b))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!schema__json_equal(json_array_get(a, i), json_array_get(b, i)))
            return false;
    return true;
}

bool schema__json_equal(const json_t *a, const json_t *b)
{
    if (a == b)
        return true;
    if (json_is_number(a) && json_is_number(b))
        return schema__num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        return arrays_equal(a, b);
    case JSON_OBJECT:
        return objects_equal(a, b);
    default:
        return true; /* true, false, null */
    }
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t number_hash(const json_t *v)
{
    double x = json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
    if (x == 0)
        x = 0; /* -0.0 and 0.0 are equal */
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    return mix(bits ^ 0x9e3779b97f4a7c15ull);
}

uint64_t schema__json_hash(const json_t *v)
{
    uint64_t h = (uint64_t)json_typeof(v) * 0x100000001b3ull;
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        return number_hash(v);
    case JSON_STRING:
        return h ^ schema__hash(json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            h = mix(h * 31 + schema__json_hash(json_array_get(v, i)));
        return h;
    case JSON_OBJECT: {
        const char *key;
        const json_t *item;
        uint64_t sum = 0; /* order-independent */
        json_object_foreach((json_t *)v, key, item)
        {
            sum += mix(schema__hash(key, strlen(key)) ^ schema__json_hash(item));
        }
        return h ^ sum;
    }
    default:
        return h;
    }
}

/* ---- multipleOf on the numbers as written: m * 10^e with the shortest decimal mantissa ---- */

static void strip_zeros(schema__decimal_t *d)
{
    while (d->m != 0 && d->m % 10 == 0) {
        d->m /= 10;
        d->e++;
    }
}

static const double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The fewest decimals k for which round(x * 10^k) / 10^k gives x back: both factors are exact
 * doubles, so the division is correctly rounded and the test is exact. False when x is too
 * large or needs too many decimals for this shortcut. */
static bool decimal_fast(double x, schema__decimal_t *d)
{
    for (int k = 0; k <= 22; k++) {
        double scaled = x * powers_of_ten[k];
        if (scaled >= 9007199254740992.0)
            return false;
        double m = (double)(uint64_t)(scaled + 0.5);
        if (m / powers_of_ten[k] == x) {
            *d = (schema__decimal_t){(uint64_t)m, -k};
            strip_zeros(d);
            return true;
        }
    }
    return false;
}

/* The shortest digits that read back as x (odm_text_double): slow, for what decimal_fast
 * cannot do. */
static schema__decimal_t decimal_slow(double x)
{
    char buf[ODM_TEXT_DOUBLE_MAX];
    odm_text_double(x, buf);
    schema__decimal_t d = {0, 0};
    const char *p = buf;
    int decimals = 0;
    bool fraction = false;
    for (; *p != 'e' && *p != '\0'; p++) {
        if (*p == '.')
            fraction = true;
        if (*p < '0' || *p > '9')
            continue;
        d.m = d.m * 10 + (uint64_t)(*p - '0');
        decimals += fraction;
    }
    d.e = (*p == 'e' ? atoi(p + 1) : 0) - decimals;
    strip_zeros(&d);
    return d;
}

schema__decimal_t schema__decimal(const json_t *v)
{
    schema__decimal_t d;
    if (json_is_real(v)) {
        double x = fabs(json_real_value(v));
        return decimal_fast(x, &d) ? d : decimal_slow(x);
    }
    json_int_t i = json_integer_value(v);
    d = (schema__decimal_t){i < 0 ? 0 - (uint64_t)i : (uint64_t)i, 0};
    strip_zeros(&d);
    return d;
}

/* (base^exp) mod m by squaring; m < 2^64, products fit in 128 bits. */
static unsigned __int128 pow_mod(unsigned __int128 base, unsigned long long exp,
                                 unsigned __int128 m)
{
    unsigned __int128 r = 1 % m;
    base %= m;
    while (exp > 0) {
        if (exp & 1)
            r = r * base % m;
        base = base * base % m;
        exp >>= 1;
    }
    return r;
}

unsigned long long schema__mul_pow10_mod(unsigned __int128 r, unsigned long long k,
                                         unsigned long long m)
{
    return (unsigned long long)(r % m * pow_mod(10, k, m) % m);
}

bool schema__multiple_of(const json_t *v, const json_t *d, schema__decimal_t b)
{
    if (json_is_integer(v) && json_is_integer(d)) {
        json_int_t x = json_integer_value(v), y = json_integer_value(d);
        return y == -1 || x % y == 0;
    }
    schema__decimal_t a = schema__decimal(v);
    if (a.m == 0)
        return true;
    if (b.m == 0)
        return false;
    if (a.e >= b.e) /* a.m * 10^(a.e - b.e) mod b.m */
        return (unsigned __int128)a.m % b.m * pow_mod(10, (unsigned)(a.e - b.e), b.m) % b.m == 0;
    unsigned shift = (unsigned)(b.e - a.e); /* a.m mod (b.m * 10^shift) */
    if (shift > 20)
        return false; /* b.m * 10^shift > a.m */
    unsigned __int128 big = b.m;
    for (unsigned i = 0; i < shift; i++)
        big *= 10;
    return (unsigned __int128)a.m % big == 0;
}

/* Counts code points as bytes that are not continuation bytes (10xxxxxx), eight at a time. */
size_t schema__utf8_length(const char *s, size_t n)
{
    const uint64_t high = 0x8080808080808080ull;
    size_t continuations = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        continuations += (size_t)__builtin_popcountll(w & ~(w << 1) & high);
    }
    for (; i < n; i++)
        continuations += ((unsigned char)s[i] & 0xC0) == 0x80;
    return n - continuations;
}
