/* Decimal and hexadecimal digits: the one writer of numbers and the one reader of hex digits. */
#include "odmd/text.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

size_t odm_text_uint(unsigned long long v, char *out)
{
    char digits[ODM_TEXT_INT_MAX];
    size_t n = 0, len = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        out[len++] = digits[--n];
    out[len] = '\0';
    return len;
}

size_t odm_text_int(long long v, char *out)
{
    if (v >= 0)
        return odm_text_uint((unsigned long long)v, out);
    out[0] = '-';
    return 1 + odm_text_uint(0ULL - (unsigned long long)v, out + 1);
}

static bool round_trips(double d, int precision, char *out, size_t *len)
{
    int n = snprintf(out, ODM_TEXT_DOUBLE_MAX, "%.*g", precision, d);
    if (n <= 0 || n >= ODM_TEXT_DOUBLE_MAX || strtod(out, NULL) != d)
        return false;
    *len = (size_t)n;
    return true;
}

size_t odm_text_double(double d, char *out)
{
    size_t len = 0;
    out[0] = '\0';
    if (!isfinite(d))
        return 0;
    /* A normal double whose shortest form has k <= 17 digits prints as that form with %.kg
     * and every precision from k on round-trips, so 15, 16, 17 find it when k >= 15 and %.15g
     * already is it when k < 15 (%g drops the trailing zeros). Subnormals have fewer digits of
     * precision: search them all. */
    int first = (d != 0 && fabs(d) < DBL_MIN) ? 1 : 15;
    for (int precision = first; precision <= 17; precision++)
        if (round_trips(d, precision, out, &len))
            return len;
    return (size_t)snprintf(out, ODM_TEXT_DOUBLE_MAX, "%.17g", d);
}

int odm_text_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int odm_text_b64url_digit(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

void odm_text_b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++)
            out[o++] = b64url[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
}

bool odm_text_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                            size_t *out_len)
{
    if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = odm_text_b64url_digit((unsigned char)in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    *out_len = n;
    return (acc & ((1u << bits) - 1)) == 0;
}
