/* JSON Schema "format" assertions (draft 2020-12): is a string valid for a named format?
 *
 * Each check follows the format's RFC (and the official test suite's reading of it): date-time,
 * date, time and duration (RFC 3339), email and idn-email (RFC 5321, RFC 6531), hostname
 * (RFC 1123, A-labels checked per IDNA2008) and idn-hostname (RFC 5890-5893), ipv4, ipv6, uri,
 * uri-reference (RFC 3986), iri, iri-reference (RFC 3987), uuid (RFC 4122), json-pointer
 * (RFC 6901), relative-json-pointer, uri-template (RFC 6570) and regex (ECMA-262, checked by
 * compiling with PCRE2). Pure and thread-safe: no global state, no recursion driven by input,
 * and no allocation except when compiling a "regex". */
#ifndef ODMD_FORMAT_H
#define ODMD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/* Returns: whether `s` (`len` bytes of UTF-8, borrowed, may contain NUL) is valid for the format
 * named `format` (a NUL-terminated name such as "date-time"). For a format it does not know it
 * returns true and sets *known to false; otherwise *known is set to true. `known` may be NULL.
 * A string that is not valid UTF-8 is invalid for every known format. */
bool odm_format_check(const char *format, const char *s, size_t len, bool *known);

/* One format's check: whether `s` (`len` bytes, borrowed) is valid for it. */
typedef bool (*odm_format_fn)(const char *s, size_t len);

/* Returns: the check of the format named `format` (static, thread-safe), or NULL when the format
 * is unknown. Lets a compiler resolve the name once instead of on every validation. */
odm_format_fn odm_format_lookup(const char *format);

#endif
