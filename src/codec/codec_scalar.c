/* Scalar text forms: RFC 3339 dates, shortest doubles, integers, base64, ObjectIds, pointers. */
#include "codec/codec_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY INT64_C(86400000)

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Reads exactly `count` digits at s[*pos]. */
static bool digits(const char *s, size_t n, size_t *pos, int count, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < count; i++, (*pos)++) {
        if (*pos >= n || s[*pos] < '0' || s[*pos] > '9')
            return false;
        v = v * 10 + (unsigned)(s[*pos] - '0');
    }
    *out = v;
    return true;
}

static bool expect(const char *s, size_t n, size_t *pos, const char *any_of)
{
    if (*pos >= n || strchr(any_of, s[*pos]) == NULL || s[*pos] == '\0')
        return false;
    (*pos)++;
    return true;
}

/* ".fff..." -> milliseconds; more digits are allowed when they are zeros. */
static bool fraction(const char *s, size_t n, size_t *pos, unsigned *ms, const char **why)
{
    *ms = 0;
    if (*pos >= n || s[*pos] != '.')
        return true;
    (*pos)++;
    size_t start = *pos;
    for (; *pos < n && s[*pos] >= '0' && s[*pos] <= '9'; (*pos)++) {
        size_t i = *pos - start;
        if (i < 3)
            *ms = *ms * 10 + (unsigned)(s[*pos] - '0');
        else if (s[*pos] != '0')
            return (*why = "more precise than milliseconds, which is all a BSON date holds"), false;
    }
    for (size_t i = *pos - start; i < 3; i++)
        *ms *= 10;
    return *pos > start;
}

/* "Z" or "+HH:MM" / "-HH:MM" -> seconds east of UTC. */
static bool zone(const char *s, size_t n, size_t *pos, int64_t *offset)
{
    unsigned hh, mm;
    *offset = 0;
    if (expect(s, n, pos, "Zz"))
        return true;
    if (*pos >= n || (s[*pos] != '+' && s[*pos] != '-'))
        return false;
    int sign = s[(*pos)++] == '-' ? -1 : 1;
    if (!digits(s, n, pos, 2, &hh) || !expect(s, n, pos, ":") || !digits(s, n, pos, 2, &mm) ||
        hh > 23 || mm > 59)
        return false;
    *offset = sign * (int64_t)(hh * 3600 + mm * 60);
    return true;
}

bool codec__parse_date(const char *s, size_t n, int64_t *ms, const char **why)
{
    unsigned y, mo, d, h, mi, sec, frac;
    int64_t offset;
    size_t pos = 0;
    *why = "not an RFC 3339 date-time";
    if (!digits(s, n, &pos, 4, &y) || !expect(s, n, &pos, "-") || !digits(s, n, &pos, 2, &mo) ||
        !expect(s, n, &pos, "-") || !digits(s, n, &pos, 2, &d) || !expect(s, n, &pos, "Tt") ||
        !digits(s, n, &pos, 2, &h) || !expect(s, n, &pos, ":") || !digits(s, n, &pos, 2, &mi) ||
        !expect(s, n, &pos, ":") || !digits(s, n, &pos, 2, &sec))
        return false;
    if (!fraction(s, n, &pos, &frac, why) || !zone(s, n, &pos, &offset) || pos != n)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return false;
    if (sec == 60)
        return (*why = "a leap second cannot be stored as a BSON date"), false;
    int64_t t =
        (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset) * 1000 + frac;
    if (t < days_from_civil(1, 1, 1) * MS_PER_DAY || t >= days_from_civil(10000, 1, 1) * MS_PER_DAY)
        return (*why = "outside years 0001-9999"), false;
    *ms = t;
    return true;
}

static char *put_digits(char *p, unsigned v, int count)
{
    for (int i = count - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + count;
}

size_t codec__format_date(int64_t ms, char *out)
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned secs = (unsigned)(rem / 1000), milli = (unsigned)(rem % 1000);
    if (y < 0 || y > 9999) /* ISO 8601 expanded years: rare, so printf is fine */
        return (size_t)snprintf(out, CODEC__DATE_MAX, "%+07lld-%02u-%02uT%02u:%02u:%02u.%03uZ",
                                (long long)y, m, d, secs / 3600, secs / 60 % 60, secs % 60, milli);
    char *p = put_digits(out, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    *p++ = '.';
    p = put_digits(p, milli, 3);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

size_t codec__format_double(double d, char *out)
{
    if (d == 0 && signbit(d)) { /* "-0" reads back as the integer 0, without its sign */
        memcpy(out, "-0.0", 5);
        return 4;
    }
    return odm_text_double(d, out);
}

bool codec__base64_string(odm_buf_t *out, const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char block[256];
    size_t used = 0;
    if (!odm_buf_putc(out, '"'))
        return false;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        block[used++] = alphabet[v >> 18 & 63];
        block[used++] = alphabet[v >> 12 & 63];
        block[used++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        block[used++] = i + 2 < len ? alphabet[v & 63] : '=';
        if (used + 4 > sizeof block) {
            if (!odm_buf_append(out, block, used))
                return false;
            used = 0;
        }
    }
    return odm_buf_append(out, block, used) && odm_buf_putc(out, '"');
}

const char *codec__quote(const char *s, size_t n, char *out)
{
    size_t keep = n < CODEC__QUOTE_MAX - 4 ? n : CODEC__QUOTE_MAX - 4;
    bool cut = keep < n;
    bool ascii_only = cut || !bson_utf8_validate(s, n, false);
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c == 0x7f || (c >= 0x80 && ascii_only) ? '?' : (char)c;
    }
    if (cut)
        memcpy(out + keep, "...", 3), keep += 3;
    out[keep] = '\0';
    return out;
}

bool codec__parse_oid(const char *s, size_t n, bson_oid_t *oid)
{
    if (n != 24 || !bson_oid_is_valid(s, n))
        return false;
    bson_oid_init_from_string(oid, s);
    return true;
}

static codec__result_t appended(bool ok)
{
    return ok ? CODEC__OK : CODEC__FULL;
}

static codec__result_t refuse(const char **why, const char *reason)
{
    *why = reason;
    return CODEC__REFUSED;
}

static codec__result_t append_auto(bson_t *out, const char *key, int klen, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return appended(
            bson_append_utf8(out, key, klen, json_string_value(v), (int)json_string_length(v)));
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i >= INT32_MIN && i <= INT32_MAX)
            return appended(bson_append_int32(out, key, klen, (int32_t)i));
        return appended(bson_append_int64(out, key, klen, i));
    }
    case JSON_REAL:
        return appended(bson_append_double(out, key, klen, json_real_value(v)));
    case JSON_TRUE:
    case JSON_FALSE:
        return appended(bson_append_bool(out, key, klen, json_is_true(v)));
    default:
        return appended(bson_append_null(out, key, klen));
    }
}

static codec__result_t append_date(bson_t *out, const char *key, int klen, const json_t *v,
                                   const char **why)
{
    int64_t ms;
    if (!json_is_string(v))
        return refuse(why, "expected an RFC 3339 date-time string");
    if (!codec__parse_date(json_string_value(v), json_string_length(v), &ms, why))
        return CODEC__REFUSED;
    return appended(bson_append_date_time(out, key, klen, ms));
}

static codec__result_t append_oid(bson_t *out, const char *key, int klen, const json_t *v,
                                  const char **why)
{
    bson_oid_t oid;
    if (!json_is_string(v) || !codec__parse_oid(json_string_value(v), json_string_length(v), &oid))
        return refuse(why, "expected an ObjectId: 24 hexadecimal characters");
    return appended(bson_append_oid(out, key, klen, &oid));
}

static codec__result_t append_int64(bson_t *out, const char *key, int klen, const json_t *v,
                                    const char **why)
{
    if (json_is_integer(v))
        return appended(bson_append_int64(out, key, klen, json_integer_value(v)));
    double d = json_is_real(v) ? json_real_value(v) : NAN;
    if (d == trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
        return appended(bson_append_int64(out, key, klen, (int64_t)d));
    return refuse(why, "expected an integer that fits in 64 bits");
}

static codec__result_t append_double(bson_t *out, const char *key, int klen, const json_t *v,
                                     const char **why)
{
    if (json_is_real(v))
        return appended(bson_append_double(out, key, klen, json_real_value(v)));
    if (!json_is_integer(v))
        return refuse(why, "expected a number");
    json_int_t i = json_integer_value(v);
    double d = (double)i;
    if (d >= 9223372036854775808.0 || (json_int_t)d != i)
        return refuse(why, "integer cannot be stored exactly as a double");
    return appended(bson_append_double(out, key, klen, d));
}

codec__result_t codec__append_scalar(bson_t *out, const char *key, int klen, odm_bson_type_t type,
                                     const json_t *v, const char **why)
{
    if (json_is_null(v) || type == ODM_BSON_AUTO)
        return append_auto(out, key, klen, v);
    switch (type) {
    case ODM_BSON_DATE:
        return append_date(out, key, klen, v, why);
    case ODM_BSON_OBJECTID:
        return append_oid(out, key, klen, v, why);
    case ODM_BSON_INT64:
        return append_int64(out, key, klen, v, why);
    case ODM_BSON_DOUBLE:
        return append_double(out, key, klen, v, why);
    default:
        return append_auto(out, key, klen, v);
    }
}
