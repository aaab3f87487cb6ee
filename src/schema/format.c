/* JSON Schema "format" assertions: one checker per format, each a single pass over the string
 * per its RFC's ABNF, with fixed-size state and no allocation (except compiling a "regex"). */
#include "odmd/format.h"

#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "schema/format_unicode.h"

/* ---- characters ------------------------------------------------------------------------- */

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Decodes one UTF-8 sequence at s[*i] (strict: no overlong forms, surrogates or values past
 * U+10FFFF) and advances *i. Returns: the code point, or -1 when the bytes are not UTF-8. */
static int32_t utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return (int32_t)c;
    }
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (len - *i <= n)
        return -1;
    for (size_t k = 1; k <= n; k++) {
        unsigned cc = s[*i + k];
        if ((cc & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i += n + 1;
    return (int32_t)cp;
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;)
        if (utf8_next(s, len, &i) < 0)
            return false;
    return true;
}

/* RFC 3987 ucschar (allowed in IRIs) and iprivate (allowed in IRI queries). */
static bool is_ucschar(uint32_t c)
{
    if (c < 0xA0)
        return false;
    if (c <= 0xD7FF)
        return true;
    if (c >= 0xF900 && c <= 0xFDCF)
        return true;
    if (c >= 0xFDF0 && c <= 0xFFEF)
        return true;
    if (c >= 0x10000 && c <= 0xEFFFD)
        return (c & 0xFFFF) <= 0xFFFD;
    return false;
}

static bool is_iprivate(uint32_t c)
{
    return (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) ||
           (c >= 0x100000 && c <= 0x10FFFD);
}

/* ---- dates and times (RFC 3339 section 5.6) ---------------------------------------------- */

/* Reads n ASCII digits at s as a number; false when any is not a digit. */
static bool read_digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (!is_digit(s[k]))
            return false;
        v = v * 10 + (s[k] - '0');
    }
    *out = v;
    return true;
}

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* full-date = date-fullyear "-" date-month "-" date-mday, exactly 10 bytes. */
static bool check_date(const char *s, size_t len)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    if (!read_digits(s, 4, &y) || !read_digits(s + 5, 2, &m) || !read_digits(s + 8, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1)
        return false;
    return d <= mdays[m - 1] + (m == 2 && is_leap_year(y));
}

/* full-time = partial-time time-offset; a leap second (:60) is valid only where the time in UTC
 * is 23:59:60, the last second of a UTC day. */
static bool check_time(const char *s, size_t len)
{
    int h, m, sec, oh = 0, om = 0, sign = 0;
    if (len < 9 || s[2] != ':' || s[5] != ':')
        return false;
    if (!read_digits(s, 2, &h) || !read_digits(s + 3, 2, &m) || !read_digits(s + 6, 2, &sec))
        return false;
    if (h > 23 || m > 59 || sec > 60)
        return false;
    size_t i = 8;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return false;
    }
    if (i == len)
        return false;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
        sign = 0;
    } else if ((s[i] == '+' || s[i] == '-') && len - i == 6 && s[i + 3] == ':') {
        sign = s[i] == '+' ? 1 : -1;
        if (!read_digits(s + i + 1, 2, &oh) || !read_digits(s + i + 4, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
    } else {
        return false;
    }
    if (sec == 60) {
        int utc = ((h * 60 + m - sign * (oh * 60 + om)) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return false;
    }
    return true;
}

static bool check_date_time(const char *s, size_t len)
{
    if (len < 11 || (s[10] != 'T' && s[10] != 't'))
        return false;
    return check_date(s, 10) && check_time(s + 11, len - 11);
}

/* RFC 3339 appendix A: "P" (dur-date / dur-time / dur-week). Units appear in order without a
 * gap (Y M D, then "T" H M S): a year is followed by nothing or a month, a month by nothing or a
 * day; likewise for hours, minutes and seconds. */
static bool check_duration(const char *s, size_t len)
{
    static const char units[] = "YMDHMS"; /* date units 0-2, time units 3-5 */
    size_t i = 1;
    int last = -1; /* index in units of the last element */
    bool in_time = false, any = false;
    if (len < 3 || s[0] != 'P')
        return false;
    if (s[len - 1] == 'W') {
        for (i = 1; i < len - 1; i++)
            if (!is_digit(s[i]))
                return false;
        return true;
    }
    while (i < len) {
        if (s[i] == 'T') {
            if (in_time || i + 1 == len)
                return false;
            in_time = true;
            last = 2;
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start || i == len)
            return false;
        const char *u = strchr(units + (in_time ? 3 : 0), s[i]);
        if (s[i] == '\0' || u == NULL || (!in_time && u - units > 2))
            return false;
        int idx = (int)(u - units);
        if (last >= (in_time ? 3 : 0) && idx != last + 1)
            return false;
        last = idx;
        any = true;
        i++;
    }
    return any && !(in_time && last == 2);
}

/* ---- IP addresses ------------------------------------------------------------------------- */

/* dotted-quad per RFC 2673 section 3.2: four decimal octets 0-255 without leading zeros. */
static bool check_ipv4(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        int v = 0;
        while (i < len && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return false;
    }
    return i == len;
}

/* RFC 4291 section 2.2: eight groups of 1-4 hex digits, one "::" standing for one or more zero
 * groups, the last two groups optionally written as a dotted quad. No zone, no prefix length. */
static bool check_ipv6(const char *s, size_t len)
{
    size_t i = 0;
    int groups = 0;
    bool compressed = false;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        compressed = true;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t start = i;
        while (i < len && is_hex(s[i]) && i - start < 5)
            i++;
        if (i < len && s[i] == '.') {
            if (groups > 6 || !check_ipv4(s + start, len - start))
                return false;
            groups += 2;
            i = len;
            break;
        }
        if (i == start || i - start > 4)
            return false;
        if (++groups > 8)
            return false;
        if (i == len)
            break;
        if (s[i++] != ':' || i == len)
            return false;
        if (s[i] == ':') {
            if (compressed)
                return false;
            compressed = true;
            i++;
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

/* ---- Unicode properties for IDNA2008 ------------------------------------------------------- */

enum {
    IDNA_DISALLOWED = 0,
    IDNA_PVALID = 1,
    IDNA_CONTEXTJ = 2,
    IDNA_CONTEXTO = 3,
};
enum {
    BIDI_OTHER,
    BIDI_L,
    BIDI_R,
    BIDI_AL,
    BIDI_AN,
    BIDI_EN,
    BIDI_ES,
    BIDI_CS,
    BIDI_ET,
    BIDI_ON,
    BIDI_BN,
    BIDI_NSM
};
enum { JT_NONE, JT_D, JT_L, JT_R, JT_T, JT_C };
enum { SC_OTHER, SC_GREEK, SC_HEBREW, SC_HIRAGANA, SC_KATAKANA, SC_HAN };

#define PROP_CLASS(p) ((p)&3u)
#define PROP_BIDI(p) (((p) >> 2) & 15u)
#define PROP_MARK(p) (((p) >> 6) & 1u)
#define PROP_VIRAMA(p) (((p) >> 7) & 1u)
#define PROP_JOINING(p) (((p) >> 8) & 7u)
#define PROP_SCRIPT(p) (((p) >> 11) & 7u)
#define PROP_CCC(p) (((p) >> 16) & 255u)

/* Returns: the packed properties of a code point (0: DISALLOWED or unassigned). ASCII letters
 * of either case, digits and "-" are valid; upper case is taken as its lower-case letter. */
static uint32_t cp_props(uint32_t cp)
{
    if (cp < 0x80) {
        if (is_alpha((int)cp))
            return IDNA_PVALID | (BIDI_L << 2);
        if (is_digit((int)cp))
            return IDNA_PVALID | (BIDI_EN << 2);
        if (cp == '-')
            return IDNA_PVALID | (BIDI_ES << 2);
        return 0;
    }
    size_t lo = 0, hi = sizeof fmt_cp_ranges / sizeof fmt_cp_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < fmt_cp_ranges[mid].first)
            hi = mid;
        else if (cp > fmt_cp_ranges[mid].last)
            lo = mid + 1;
        else
            return fmt_cp_ranges[mid].props;
    }
    return 0;
}

static bool nfc_quick_no(uint32_t cp)
{
    size_t lo = 0, hi = sizeof fmt_nfc_no / sizeof fmt_nfc_no[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < fmt_nfc_no[mid].first)
            hi = mid;
        else if (cp > fmt_nfc_no[mid].last)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

enum {
    HANGUL_S = 0xAC00,
    HANGUL_L = 0x1100,
    HANGUL_V = 0x1161,
    HANGUL_T = 0x11A7,
    HANGUL_VCOUNT = 21,
    HANGUL_TCOUNT = 28,
    HANGUL_SCOUNT = 11172
};

/* Returns: the primary composite of (a, b), or 0 when they do not compose (Hangul included). */
static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= HANGUL_L && a < HANGUL_L + 19 && b >= HANGUL_V && b < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SCOUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT)
        return a + (b - HANGUL_T);
    size_t lo = 0, hi = sizeof fmt_compositions / sizeof fmt_compositions[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct fmt_cp_pair *p = &fmt_compositions[mid];
        if (a < p->first || (a == p->first && b < p->second))
            hi = mid;
        else if (a > p->first || b > p->second)
            lo = mid + 1;
        else
            return p->composite;
    }
    return 0;
}

/* Splits a primary composite into *a and *b (Hangul included). Returns false when cp has no
 * canonical decomposition into a pair. */
static bool decompose_pair(uint32_t cp, uint32_t *a, uint32_t *b)
{
    if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SCOUNT) {
        uint32_t si = cp - HANGUL_S;
        if (si % HANGUL_TCOUNT != 0) {
            *a = cp - si % HANGUL_TCOUNT;
            *b = HANGUL_T + si % HANGUL_TCOUNT;
        } else {
            *a = HANGUL_L + si / (HANGUL_VCOUNT * HANGUL_TCOUNT);
            *b = HANGUL_V + (si % (HANGUL_VCOUNT * HANGUL_TCOUNT)) / HANGUL_TCOUNT;
        }
        return true;
    }
    size_t lo = 0, hi = sizeof fmt_decompositions / sizeof fmt_decompositions[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < fmt_decompositions[mid].composite) {
            hi = mid;
        } else if (cp > fmt_decompositions[mid].composite) {
            lo = mid + 1;
        } else {
            *a = fmt_decompositions[mid].first;
            *b = fmt_decompositions[mid].second;
            return true;
        }
    }
    return false;
}

static unsigned ccc_of(uint32_t cp)
{
    return cp < 0x300 ? 0 : PROP_CCC(cp_props(cp));
}

#define NFD_MAX 256 /* a label has at most 63 code points; none decomposes into more than 4 */

/* Whether a label is in Normalization Form C: it has no code point that NFC replaces, and
 * decomposing, reordering and recomposing it (UAX #15) gives it back unchanged. A code point
 * outside the IDNA tables is DISALLOWED anyway, so its combining class is taken as 0. */
static bool label_is_nfc(const uint32_t *cps, size_t n)
{
    uint32_t d[NFD_MAX], tail[8];
    size_t nd = 0;
    if (n == 0)
        return true;
    for (size_t k = 0; k < n; k++) {
        if (nfc_quick_no(cps[k]))
            return false;
        uint32_t x = cps[k], a, b;
        size_t nt = 0;
        while (nt < 8 && decompose_pair(x, &a, &b)) {
            tail[nt++] = b;
            x = a;
        }
        if (nd + nt + 1 > NFD_MAX)
            return false;
        d[nd++] = x;
        while (nt > 0)
            d[nd++] = tail[--nt];
    }
    for (size_t k = 1; k < nd; k++) { /* canonical ordering: a stable sort of each mark run */
        unsigned c = ccc_of(d[k]);
        for (size_t j = k; c != 0 && j > 0 && ccc_of(d[j - 1]) > c; j--) {
            uint32_t t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
        }
    }
    size_t out = 1, starter = 0;
    unsigned last = ccc_of(d[0]) == 0 ? 0 : 256;
    for (size_t k = 1; k < nd; k++) {
        unsigned c = ccc_of(d[k]);
        uint32_t comp = compose(d[starter], d[k]);
        if (comp != 0 && last != 256 && (last < c || (last == 0 && out == starter + 1))) {
            d[starter] = comp;
            continue;
        }
        if (c == 0) {
            starter = out;
            last = 0;
        } else {
            last = c;
        }
        d[out++] = d[k];
    }
    if (out != n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (d[k] != cps[k])
            return false;
    return true;
}

/* ---- IDNA2008 labels (RFC 5891 section 5.4, RFC 5892 appendix A, RFC 5893) ---------------- */

#define LABEL_MAX 63
#define NAME_MAX_OCTETS 253

/* RFC 3492 Punycode parameters. */
enum {
    PC_BASE = 36,
    PC_TMIN = 1,
    PC_TMAX = 26,
    PC_SKEW = 38,
    PC_DAMP = 700,
    PC_BIAS = 72,
    PC_INITIAL_N = 128
};

static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int pc_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0' + 26;
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    return -1;
}

static char pc_digit(uint32_t d)
{
    return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* Decodes Punycode `in` (without "xn--") into out (capacity LABEL_MAX). Returns: the number of
 * code points, or -1 when the input is not valid Punycode or decodes to too many. */
static int pc_decode(const char *in, size_t len, uint32_t *out)
{
    size_t b = 0, n_out = 0;
    for (size_t k = 0; k < len; k++)
        if (in[k] == '-')
            b = k;
    if (b > LABEL_MAX)
        return -1;
    for (size_t k = 0; k < b; k++)
        out[n_out++] = (unsigned char)in[k];
    uint32_t n = PC_INITIAL_N, bias = PC_BIAS, i = 0;
    for (size_t in_pos = b > 0 ? b + 1 : 0; in_pos < len;) {
        uint32_t oldi = i, w = 1;
        for (uint32_t k = PC_BASE;; k += PC_BASE) {
            if (in_pos >= len)
                return -1;
            int digit = pc_digit_value(in[in_pos++]);
            if (digit < 0 || (uint32_t)digit > (UINT32_MAX - i) / w)
                return -1;
            i += (uint32_t)digit * w;
            uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
            if ((uint32_t)digit < t)
                break;
            if (w > UINT32_MAX / (PC_BASE - t))
                return -1;
            w *= PC_BASE - t;
        }
        bias = pc_adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
        if (i / (n_out + 1) > 0x10FFFF - n)
            return -1;
        n += i / (uint32_t)(n_out + 1);
        i %= (uint32_t)(n_out + 1);
        if (n_out >= LABEL_MAX || n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF))
            return -1;
        memmove(out + i + 1, out + i, (n_out - i) * sizeof *out);
        out[i++] = n;
        n_out++;
    }
    return (int)n_out;
}

/* Encodes n code points as Punycode into out (capacity cap). Returns: its length, or -1 when
 * it does not fit. */
static int pc_encode(const uint32_t *cps, size_t n, char *out, size_t cap)
{
    size_t o = 0, h, b = 0;
    for (size_t k = 0; k < n; k++) {
        if (cps[k] < 0x80) {
            if (o >= cap)
                return -1;
            out[o++] = (char)lower((int)cps[k]);
            b++;
        }
    }
    h = b;
    if (b > 0) {
        if (o >= cap)
            return -1;
        out[o++] = '-';
    }
    uint32_t cur = PC_INITIAL_N, delta = 0, bias = PC_BIAS;
    while (h < n) {
        uint32_t m = UINT32_MAX;
        for (size_t k = 0; k < n; k++)
            if (cps[k] >= cur && cps[k] < m)
                m = cps[k];
        delta += (m - cur) * (uint32_t)(h + 1); /* bounded: n <= LABEL_MAX, m <= 0x10FFFF */
        cur = m;
        for (size_t k = 0; k < n; k++) {
            if (cps[k] < cur) {
                delta++;
            } else if (cps[k] == cur) {
                uint32_t q = delta;
                for (uint32_t kk = PC_BASE;; kk += PC_BASE) {
                    uint32_t t = kk <= bias ? PC_TMIN : kk >= bias + PC_TMAX ? PC_TMAX : kk - bias;
                    if (q < t)
                        break;
                    if (o >= cap)
                        return -1;
                    out[o++] = pc_digit(t + (q - t) % (PC_BASE - t));
                    q = (q - t) / (PC_BASE - t);
                }
                if (o >= cap)
                    return -1;
                out[o++] = pc_digit(q);
                bias = pc_adapt(delta, (uint32_t)(h + 1), h == b);
                delta = 0;
                h++;
            }
        }
        delta++;
        cur++;
    }
    return (int)o;
}

/* RFC 5892 appendix A: the contextual rule of the CONTEXTJ or CONTEXTO code point at cps[k]. */
static bool context_rule_ok(const uint32_t *cps, size_t n, size_t k)
{
    uint32_t cp = cps[k];
    uint32_t before = k > 0 ? cps[k - 1] : 0, after = k + 1 < n ? cps[k + 1] : 0;
    switch (cp) {
    case 0x200C: /* ZERO WIDTH NON-JOINER: after a virama, or between joining letters */
        if (k > 0 && PROP_VIRAMA(cp_props(before)))
            return true;
        for (size_t j = k; j-- > 0;) {
            unsigned jt = PROP_JOINING(cp_props(cps[j]));
            if (jt == JT_T)
                continue;
            if (jt != JT_L && jt != JT_D)
                return false;
            for (size_t m = k + 1; m < n; m++) {
                unsigned jt2 = PROP_JOINING(cp_props(cps[m]));
                if (jt2 == JT_T)
                    continue;
                return jt2 == JT_R || jt2 == JT_D;
            }
            return false;
        }
        return false;
    case 0x200D: /* ZERO WIDTH JOINER: after a virama */
        return k > 0 && PROP_VIRAMA(cp_props(before));
    case 0x00B7: /* MIDDLE DOT: between two "l" */
        return before == 'l' && after == 'l';
    case 0x0375: /* GREEK LOWER NUMERAL SIGN (KERAIA): before a Greek letter */
        return k + 1 < n && PROP_SCRIPT(cp_props(after)) == SC_GREEK;
    case 0x05F3: /* HEBREW PUNCTUATION GERESH and GERSHAYIM: after a Hebrew letter */
    case 0x05F4:
        return k > 0 && PROP_SCRIPT(cp_props(before)) == SC_HEBREW;
    case 0x30FB: /* KATAKANA MIDDLE DOT: in a label with Hiragana, Katakana or Han */
        for (size_t j = 0; j < n; j++) {
            unsigned sc = PROP_SCRIPT(cp_props(cps[j]));
            if (cps[j] != 0x30FB && (sc == SC_HIRAGANA || sc == SC_KATAKANA || sc == SC_HAN))
                return true;
        }
        return false;
    default:
        break;
    }
    if (cp >= 0x0660 && cp <= 0x0669) { /* ARABIC-INDIC DIGITS: not with extended ones */
        for (size_t j = 0; j < n; j++)
            if (cps[j] >= 0x06F0 && cps[j] <= 0x06F9)
                return false;
        return true;
    }
    if (cp >= 0x06F0 && cp <= 0x06F9) { /* EXTENDED ARABIC-INDIC DIGITS: not with the others */
        for (size_t j = 0; j < n; j++)
            if (cps[j] >= 0x0660 && cps[j] <= 0x0669)
                return false;
        return true;
    }
    return false; /* a contextual code point without a rule */
}

/* RFC 5893 section 2: the Bidi Rule for one label. */
static bool label_bidi_ok(const uint32_t *cps, size_t n)
{
    unsigned first = PROP_BIDI(cp_props(cps[0]));
    bool rtl;
    if (first == BIDI_R || first == BIDI_AL)
        rtl = true;
    else if (first == BIDI_L)
        rtl = false;
    else
        return false;
    bool has_en = false, has_an = false;
    unsigned last = BIDI_OTHER;
    for (size_t k = 0; k < n; k++) {
        unsigned b = PROP_BIDI(cp_props(cps[k]));
        switch (b) {
        case BIDI_R:
        case BIDI_AL:
        case BIDI_AN:
            if (!rtl)
                return false;
            break;
        case BIDI_L:
            if (rtl)
                return false;
            break;
        case BIDI_EN:
        case BIDI_ES:
        case BIDI_CS:
        case BIDI_ET:
        case BIDI_ON:
        case BIDI_BN:
        case BIDI_NSM:
            break;
        default:
            return false;
        }
        has_en |= b == BIDI_EN;
        has_an |= b == BIDI_AN;
        if (b != BIDI_NSM)
            last = b;
    }
    if (rtl)
        return (last == BIDI_R || last == BIDI_AL || last == BIDI_EN || last == BIDI_AN) &&
               !(has_en && has_an);
    return last == BIDI_L || last == BIDI_EN;
}

static bool label_has_rtl(const uint32_t *cps, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned b = PROP_BIDI(cp_props(cps[k]));
        if (b == BIDI_R || b == BIDI_AL || b == BIDI_AN)
            return true;
    }
    return false;
}

typedef struct {
    bool check_nfc; /* false for the domain of an idn-email (the suite accepts non-NFC there) */
    bool any_rtl;   /* some label has a right-to-left character: a Bidi domain name */
    bool all_bidi;  /* every label so far satisfies the Bidi Rule */
    size_t octets;  /* length of the name in ASCII (A-label) form so far, dots included */
} name_state_t;

/* RFC 5891 section 5.4: a U-label's code points, hyphens, leading mark, contexts and NFC. */
static bool ulabel_ok(const uint32_t *cps, size_t n, name_state_t *st)
{
    if (n == 0 || cps[0] == '-' || cps[n - 1] == '-')
        return false;
    if (n >= 4 && cps[2] == '-' && cps[3] == '-')
        return false;
    if (PROP_MARK(cp_props(cps[0])))
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned cls = PROP_CLASS(cp_props(cps[k]));
        if (cls == IDNA_DISALLOWED)
            return false;
        if (cls != IDNA_PVALID && !context_rule_ok(cps, n, k))
            return false;
    }
    if (st->check_nfc && !label_is_nfc(cps, n))
        return false;
    st->any_rtl |= label_has_rtl(cps, n);
    st->all_bidi &= label_bidi_ok(cps, n);
    return true;
}

/* An all-ASCII label: letters, digits and hyphens (RFC 1123), and when it starts with "xn--" a
 * valid A-label: canonical Punycode of a valid U-label that is not all ASCII. */
static bool ascii_label_ok(const char *s, size_t len, name_state_t *st)
{
    uint32_t cps[LABEL_MAX];
    if (len == 0 || len > LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t k = 0; k < len; k++)
        if (!is_alpha(s[k]) && !is_digit(s[k]) && s[k] != '-')
            return false;
    st->octets += len;
    if (len >= 4 && s[2] == '-' && s[3] == '-') {
        if (lower(s[0]) != 'x' || lower(s[1]) != 'n')
            return false; /* reserved for future ACE prefixes (RFC 5891 section 4.2.3.1) */
        int n = pc_decode(s + 4, len - 4, cps);
        if (n <= 0)
            return false;
        bool ascii = true;
        for (int k = 0; k < n; k++)
            ascii &= cps[k] < 0x80;
        char again[LABEL_MAX];
        int elen = pc_encode(cps, (size_t)n, again, sizeof again);
        if (ascii || elen != (int)len - 4)
            return false;
        for (int k = 0; k < elen; k++)
            if (again[k] != lower(s[4 + k]))
                return false;
        return ulabel_ok(cps, (size_t)n, st);
    }
    for (size_t k = 0; k < len; k++)
        cps[k] = (unsigned char)s[k];
    st->all_bidi &= label_bidi_ok(cps, len);
    return true;
}

static bool name_done(const name_state_t *st)
{
    return st->octets <= NAME_MAX_OCTETS && (!st->any_rtl || st->all_bidi);
}

/* "hostname": RFC 1123 labels of at most 63 octets, at most 253 in all, no final dot. */
static bool check_hostname(const char *s, size_t len)
{
    name_state_t st = {.check_nfc = true, .all_bidi = true};
    if (len == 0 || len > NAME_MAX_OCTETS)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        if (!ascii_label_ok(s + start, i - start, &st))
            return false;
        st.octets += i < len;
        start = i + 1;
    }
    return name_done(&st);
}

static bool is_label_separator(uint32_t cp)
{
    return cp == '.' || cp == 0x3002 || cp == 0xFF0E || cp == 0xFF61;
}

/* One label of an internationalized name: ASCII labels as for "hostname", others as U-labels
 * whose A-label form ("xn--" and Punycode) fits in 63 octets. */
static bool idn_label_ok(const char *s, size_t len, name_state_t *st)
{
    uint32_t cps[LABEL_MAX + 1];
    size_t n = 0;
    bool ascii = true;
    for (size_t i = 0; i < len;) {
        int32_t cp = utf8_next((const unsigned char *)s, len, &i);
        if (cp < 0 || n > LABEL_MAX)
            return false;
        cps[n++] = (uint32_t)cp;
        ascii &= cp < 0x80;
    }
    if (ascii)
        return ascii_label_ok(s, len, st);
    char alabel[LABEL_MAX - 4];
    int alen = pc_encode(cps, n, alabel, sizeof alabel);
    if (alen < 0)
        return false;
    st->octets += 4 + (size_t)alen;
    return ulabel_ok(cps, n, st);
}

static bool check_idn_name(const char *s, size_t len, bool check_nfc)
{
    name_state_t st = {.check_nfc = check_nfc, .all_bidi = true};
    if (len == 0)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len;) {
        size_t at = i;
        int32_t cp = 0;
        if (i < len) {
            cp = utf8_next((const unsigned char *)s, len, &i);
            if (cp < 0)
                return false;
            if (!is_label_separator((uint32_t)cp))
                continue;
        } else {
            i++;
        }
        if (!idn_label_ok(s + start, at - start, &st))
            return false;
        st.octets += at < len;
        if (st.octets > NAME_MAX_OCTETS)
            return false;
        start = i;
    }
    return name_done(&st);
}

static bool check_idn_hostname(const char *s, size_t len)
{
    return check_idn_name(s, len, true);
}

/* ---- e-mail addresses (RFC 5321 section 4.1.2, RFC 6531 section 3.3) ---------------------- */

static bool is_atext(int c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Local-part = Dot-string / Quoted-string, at most 64 octets; with `intl`, any non-ASCII
 * character counts as atext and qtext (RFC 6531 UTF8-non-ascii). Returns the index of the "@"
 * that ends it, or 0 when it is invalid. */
static size_t email_local_part(const char *s, size_t len, bool intl)
{
    size_t i = 0;
    if (len > 0 && s[0] == '"') {
        for (i = 1; i < len && s[i] != '"'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '\\') {
                if (++i >= len || s[i] < 32 || s[i] > 126)
                    return 0;
            } else if (!((c >= 32 && c <= 126) || (intl && c >= 0x80))) {
                return 0;
            }
        }
        if (i >= len)
            return 0;
        i++;
    } else {
        bool after_dot = true;
        for (; i < len && s[i] != '@'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '.') {
                if (after_dot)
                    return 0;
                after_dot = true;
            } else if (is_atext(c) || (intl && c >= 0x80)) {
                after_dot = false;
            } else {
                return 0;
            }
        }
        if (after_dot)
            return 0;
    }
    if (i >= len || s[i] != '@' || i > 64)
        return 0;
    return i;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 *                         General-address-literal ) "]" */
static bool email_address_literal(const char *s, size_t len)
{
    if (len < 2 || s[0] != '[' || s[len - 1] != ']')
        return false;
    s++, len -= 2;
    if (len > 5 && memcmp(s, "IPv6:", 5) == 0)
        return check_ipv6(s + 5, len - 5);
    if (check_ipv4(s, len))
        return true;
    /* General-address-literal = Standardized-tag ":" 1*dcontent */
    size_t i = 0;
    while (i < len && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-'))
        i++;
    if (i == 0 || s[i - 1] == '-' || i + 1 >= len || s[i] != ':')
        return false;
    for (i++; i < len; i++)
        if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == '\\' || s[i] == ']')
            return false;
    return true;
}

static bool check_email_common(const char *s, size_t len, bool intl)
{
    if (intl && !utf8_valid((const unsigned char *)s, len))
        return false;
    size_t at = email_local_part(s, len, intl);
    if (at == 0)
        return false;
    const char *d = s + at + 1;
    size_t dlen = len - at - 1;
    if (dlen > 0 && d[0] == '[')
        return email_address_literal(d, dlen);
    return intl ? check_idn_name(d, dlen, false) : check_hostname(d, dlen);
}

static bool check_email(const char *s, size_t len)
{
    return check_email_common(s, len, false);
}

static bool check_idn_email(const char *s, size_t len)
{
    return check_email_common(s, len, true);
}

/* ---- URIs and IRIs (RFC 3986 section 3, RFC 3987 section 2.2) ----------------------------- */

enum {
    URI_IRI = 1,      /* allow ucschar (RFC 3987) */
    URI_PRIVATE = 2,  /* allow iprivate too (IRI query) */
    URI_NO_COLON = 4, /* ":" not allowed (first segment of a relative path) */
};

static bool is_unreserved(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(int c)
{
    return c != 0 && strchr("!$&'()*+,;=", c) != NULL;
}

/* Scans s[*i..end) for characters of unreserved / pct-encoded / sub-delims / `extra`, stopping
 * at the first byte in `stop` (left at *i). Returns false on any other character. */
/* strchr for the short sets the URI scanner uses, without a call per character. */
static inline bool has_char(const char *set, int c)
{
    for (; *set != '\0'; set++)
        if (*set == c)
            return true;
    return false;
}

static bool uri_scan(const char *s, size_t end, size_t *i, const char *extra, const char *stop,
                     unsigned flags)
{
    while (*i < end) {
        int c = (unsigned char)s[*i];
        if (c != 0 && has_char(stop, c))
            return true;
        if (c == '%') {
            if (end - *i < 3 || !is_hex(s[*i + 1]) || !is_hex(s[*i + 2]))
                return false;
            *i += 3;
            continue;
        }
        if (c >= 0x80) {
            int32_t cp = utf8_next((const unsigned char *)s, end, i);
            if (cp < 0 || !(flags & URI_IRI))
                return false;
            if (!is_ucschar((uint32_t)cp) && !((flags & URI_PRIVATE) && is_iprivate((uint32_t)cp)))
                return false;
            continue;
        }
        if (c == ':' && (flags & URI_NO_COLON))
            return false;
        if (!is_unreserved(c) && !is_sub_delim(c) && (c == 0 || !has_char(extra, c)))
            return false;
        (*i)++;
    }
    return true;
}

/* IP-literal = "[" ( IPv6address / IPvFuture ) "]", given without its brackets. */
static bool uri_ip_literal(const char *s, size_t len)
{
    if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < len && is_hex(s[i]))
            i++;
        if (i == 1 || i + 1 >= len || s[i] != '.')
            return false;
        for (i++; i < len; i++)
            if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != ':')
                return false;
        return true;
    }
    return check_ipv6(s, len);
}

/* authority = [ userinfo "@" ] host [ ":" port ], s[start..end). */
static bool uri_authority(const char *s, size_t start, size_t end, unsigned flags)
{
    const char *at = memchr(s + start, '@', end - start);
    size_t i = start;
    if (at != NULL) {
        size_t uend = (size_t)(at - s);
        if (!uri_scan(s, uend, &i, ":", "", flags) || i != uend)
            return false;
        i = uend + 1;
    }
    if (i < end && s[i] == '[') {
        const char *close = memchr(s + i, ']', end - i);
        if (close == NULL || !uri_ip_literal(s + i + 1, (size_t)(close - s) - i - 1))
            return false;
        i = (size_t)(close - s) + 1;
    } else if (!uri_scan(s, end, &i, "", ":", flags)) {
        return false;
    }
    if (i < end) {
        if (s[i] != ':')
            return false;
        for (i++; i < end; i++)
            if (!is_digit(s[i]))
                return false;
    }
    return true;
}

/* URI-reference (or with `absolute`, URI): [ scheme ":" ] hier-part / relative-part, then
 * [ "?" query ] [ "#" fragment ]. */
static bool check_uri_common(const char *s, size_t len, bool absolute, unsigned flags)
{
    size_t i = 0;
    if (!utf8_valid((const unsigned char *)s, len))
        return false;
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    size_t k = 0;
    if (len > 0 && is_alpha(s[0])) {
        k = 1;
        while (k < len &&
               (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.'))
            k++;
    }
    bool has_scheme = k > 0 && k < len && s[k] == ':';
    if (has_scheme)
        i = k + 1;
    else if (absolute)
        return false;
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t start = i + 2, end = start;
        while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
            end++;
        if (!uri_authority(s, start, end, flags))
            return false;
        i = end;
    } else if (!has_scheme) {
        /* path-noscheme: the first segment has no ":" */
        if (!uri_scan(s, len, &i, "@", "/?#", flags | URI_NO_COLON))
            return false;
    }
    if (!uri_scan(s, len, &i, ":@/", "?#", flags))
        return false;
    if (i < len && s[i] == '?') {
        i++;
        if (!uri_scan(s, len, &i, ":@/?", "#", flags | ((flags & URI_IRI) ? URI_PRIVATE : 0)))
            return false;
    }
    if (i < len && s[i] == '#') {
        i++;
        if (!uri_scan(s, len, &i, ":@/?", "", flags))
            return false;
    }
    return i == len;
}

static bool check_uri(const char *s, size_t len)
{
    return check_uri_common(s, len, true, 0);
}

static bool check_uri_reference(const char *s, size_t len)
{
    return check_uri_common(s, len, false, 0);
}

static bool check_iri(const char *s, size_t len)
{
    return check_uri_common(s, len, true, URI_IRI);
}

static bool check_iri_reference(const char *s, size_t len)
{
    return check_uri_common(s, len, false, URI_IRI);
}

/* ---- URI Templates (RFC 6570 section 2) ---------------------------------------------------- */

/* varspec = varname [ ":" max-length / "*" ], varname = varchar *( ["."] varchar ). */
static bool template_varspec(const char *s, size_t end, size_t *i)
{
    bool need_char = true;
    size_t start = *i;
    while (*i < end) {
        char c = s[*i];
        if (c == '%') {
            if (end - *i < 3 || !is_hex(s[*i + 1]) || !is_hex(s[*i + 2]))
                return false;
            *i += 3;
        } else if (is_alpha(c) || is_digit(c) || c == '_') {
            (*i)++;
        } else if (c == '.' && !need_char) {
            (*i)++;
            need_char = true;
            continue;
        } else {
            break;
        }
        need_char = false;
    }
    if (*i == start || need_char)
        return false;
    if (*i < end && s[*i] == '*') {
        (*i)++;
    } else if (*i < end && s[*i] == ':') {
        size_t d = ++*i;
        if (d >= end || s[d] < '1' || s[d] > '9')
            return false;
        while (*i < end && is_digit(s[*i]) && *i - d < 4)
            (*i)++;
    }
    return true;
}

static bool check_uri_template(const char *s, size_t len)
{
    if (!utf8_valid((const unsigned char *)s, len))
        return false;
    for (size_t i = 0; i < len;) {
        int c = (unsigned char)s[i];
        if (c == '{') {
            const char *close = memchr(s + i, '}', len - i);
            if (close == NULL)
                return false;
            size_t end = (size_t)(close - s);
            i++;
            if (i < end && s[i] != '\0' && strchr("+#./;?&", s[i]) != NULL)
                i++;
            for (;;) {
                if (!template_varspec(s, end, &i))
                    return false;
                if (i == end)
                    break;
                if (s[i++] != ',')
                    return false;
            }
            i = end + 1;
            continue;
        }
        if (c == '%') {
            if (len - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return false;
            i += 3;
            continue;
        }
        if (c >= 0x80) {
            int32_t cp = utf8_next((const unsigned char *)s, len, &i);
            if (cp < 0 || !(is_ucschar((uint32_t)cp) || is_iprivate((uint32_t)cp)))
                return false;
            continue;
        }
        /* literals: ASCII but CTL, SP, DQUOTE, "%", "<", ">", "\\", "^", "`", "{", "|", "}" */
        if (c <= 0x20 || c == 0x7F || strchr("\"<>\\^`{|}", c) != NULL)
            return false;
        i++;
    }
    return true;
}

/* ---- UUID, JSON Pointer ------------------------------------------------------------------- */

/* RFC 4122 section 3: 8-4-4-4-12 hex digits, any version and variant. */
static bool check_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

/* RFC 6901 section 3: empty, or "/"-prefixed tokens where "~" is followed by "0" or "1". */
static bool check_json_pointer(const char *s, size_t len)
{
    if (len > 0 && s[0] != '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '~' && (i + 1 == len || (s[i + 1] != '0' && s[i + 1] != '1')))
            return false;
    return utf8_valid((const unsigned char *)s, len);
}

/* draft-handrews-relative-json-pointer-01: non-negative-integer ( "#" / json-pointer ). */
static bool check_relative_json_pointer(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_digit(s[i]))
        i++;
    if (i == 0 || (s[0] == '0' && i > 1))
        return false;
    if (i < len && s[i] == '#')
        return i + 1 == len;
    return check_json_pointer(s + i, len - i);
}

/* ---- regular expressions (ECMA-262, "u" mode) --------------------------------------------- */

/* PCRE2 accepts more than ECMA-262 in "u" mode: escapes such as "\a" or "\Q", groups such as
 * "(?#...)", "(?P<name>...)", "(?>...)" and inline flags "(?i)", possessive quantifiers, and
 * braces that do not form a quantifier. This pass refuses those before PCRE2 compiles. */
static bool hex_run(const char *s, size_t len, size_t from, size_t n)
{
    if (len - from < n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (!is_hex(s[from + k]))
            return false;
    return true;
}

/* Moves *i (at the character after "\") to the last character of a "u"-mode escape:
 * CharacterClassEscape, ControlEscape, "\cX", "\0", a back reference, "\xHH", "\uHHHH",
 * "\u{H...}", "\p{...}", "\k<name>", or a SyntaxCharacter, "/" or "-". */
static bool regex_escape(const char *s, size_t len, size_t *i)
{
    char c = s[*i];
    const char *close;
    switch (c) {
    case 'c':
        return *i + 1 < len && is_alpha(s[++*i]);
    case '0':
        return !(*i + 1 < len && is_digit(s[*i + 1]));
    case 'x':
        if (!hex_run(s, len, *i + 1, 2))
            return false;
        *i += 2;
        return true;
    case 'u':
        if (hex_run(s, len, *i + 1, 4)) {
            *i += 4;
            return true;
        }
        if (*i + 1 >= len || s[*i + 1] != '{')
            return false;
        for (*i += 2; *i < len && is_hex(s[*i]);)
            (*i)++;
        return *i < len && s[*i] == '}' && s[*i - 1] != '{';
    case 'p':
    case 'P':
    case 'k':
        if (*i + 1 >= len || s[*i + 1] != (c == 'k' ? '<' : '{'))
            return false;
        close = memchr(s + *i + 2, c == 'k' ? '>' : '}', len - *i - 2);
        if (close == NULL || close == s + *i + 2)
            return false;
        *i = (size_t)(close - s);
        return true;
    default:
        return c != '\0' && strchr("dDwWsSbBfnrtv123456789^$\\.*+?()[]{}|/-", c) != NULL;
    }
}

static bool regex_ecma_syntax(const char *s, size_t len)
{
    enum { Q_NONE, Q_QUANT, Q_LAZY } quant = Q_NONE;
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\\') {
            if (++i >= len)
                return false;
            c = s[i];
            quant = Q_NONE;
            if (!regex_escape(s, len, &i))
                return false;
            continue;
        }
        if (in_class) {
            in_class = c != ']';
            continue;
        }
        switch (c) {
        case '[':
            in_class = true;
            if (i + 1 < len && s[i + 1] == '^')
                i++;
            quant = Q_NONE;
            break;
        case ']':
        case '}':
            return false;
        case '*':
        case '+':
            if (quant != Q_NONE)
                return false;
            quant = Q_QUANT;
            break;
        case '?':
            if (quant == Q_LAZY)
                return false;
            quant = quant == Q_QUANT ? Q_LAZY : Q_QUANT;
            break;
        case '{': {
            size_t j = i + 1, d = j;
            while (j < len && is_digit(s[j]))
                j++;
            if (j == d)
                return false;
            if (j < len && s[j] == ',')
                for (j++; j < len && is_digit(s[j]);)
                    j++;
            if (j >= len || s[j] != '}' || quant != Q_NONE)
                return false;
            i = j;
            quant = Q_QUANT;
            break;
        }
        case '(':
            quant = Q_NONE;
            if (i + 1 < len && s[i + 1] == '?') {
                const char *g = s + i + 2;
                size_t n = len - i - 2;
                bool ok =
                    (n >= 1 && (g[0] == ':' || g[0] == '=' || g[0] == '!')) ||
                    (n >= 2 && g[0] == '<' &&
                     (g[1] == '=' || g[1] == '!' || is_alpha(g[1]) || g[1] == '_' || g[1] == '$'));
                if (!ok)
                    return false;
                i++;
            }
            break;
        default:
            quant = Q_NONE;
            break;
        }
    }
    return !in_class;
}

static bool check_regex(const char *s, size_t len)
{
    if (!utf8_valid((const unsigned char *)s, len) || !regex_ecma_syntax(s, len))
        return false;
    int errcode = 0;
    PCRE2_SIZE erroffset = 0;
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (cctx == NULL)
        return false;
    pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_ALT_BSUX);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)s, len,
                                     PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_ALLOW_EMPTY_CLASS |
                                         PCRE2_MATCH_UNSET_BACKREF | PCRE2_NEVER_BACKSLASH_C,
                                     &errcode, &erroffset, cctx);
    pcre2_compile_context_free(cctx);
    pcre2_code_free(code);
    /* Limits of PCRE2 that ECMA-262 does not have (the syntax pass above checked the pattern):
     * lookbehind of variable or great length (PCRE2 before 10.43) and counts above 65535. */
    return code != NULL || errcode == PCRE2_ERROR_LOOKBEHIND_NOT_FIXED_LENGTH ||
           errcode == PCRE2_ERROR_QUANTIFIER_TOO_BIG ||
           errcode == PCRE2_ERROR_LOOKBEHIND_TOO_COMPLICATED ||
           errcode == PCRE2_ERROR_LOOKBEHIND_TOO_LONG;
}

/* ---- the table ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    odm_format_fn check;
} formats[] = {
    {"date-time", check_date_time},
    {"date", check_date},
    {"time", check_time},
    {"duration", check_duration},
    {"email", check_email},
    {"idn-email", check_idn_email},
    {"hostname", check_hostname},
    {"idn-hostname", check_idn_hostname},
    {"ipv4", check_ipv4},
    {"ipv6", check_ipv6},
    {"uri", check_uri},
    {"uri-reference", check_uri_reference},
    {"iri", check_iri},
    {"iri-reference", check_iri_reference},
    {"uuid", check_uuid},
    {"json-pointer", check_json_pointer},
    {"relative-json-pointer", check_relative_json_pointer},
    {"uri-template", check_uri_template},
    {"regex", check_regex},
};

odm_format_fn odm_format_lookup(const char *format)
{
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++)
        if (strcmp(formats[k].name, format) == 0)
            return formats[k].check;
    return NULL;
}

bool odm_format_check(const char *format, const char *s, size_t len, bool *known)
{
    odm_format_fn check = odm_format_lookup(format);
    if (known != NULL)
        *known = check != NULL;
    if (check == NULL)
        return true;
    return check(s, len);
}
