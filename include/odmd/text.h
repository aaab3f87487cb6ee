/* Text primitives every module reads and writes numbers with: decimal and hexadecimal digits.
 * One copy each, so that a number looks the same in a response, a message and a pointer. */
#ifndef ODMD_TEXT_H
#define ODMD_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define ODM_TEXT_INT_MAX 24    /* bytes for any long long in decimal, with its sign and NUL */
#define ODM_TEXT_DOUBLE_MAX 32 /* bytes for any finite double from odm_text_double, with NUL */

/* Writes v in decimal (printf's "%lld" / "%llu", without its cost) to out (ODM_TEXT_INT_MAX
 * bytes), NUL-terminated. Returns: the length written. */
size_t odm_text_int(long long v, char *out);
size_t odm_text_uint(unsigned long long v, char *out);

/* Writes the shortest decimal that reads back (strtod) as d, in printf's "%g" form ("0.1",
 * "1e+300", "-0"), to out (ODM_TEXT_DOUBLE_MAX bytes), NUL-terminated.
 * Returns: the length written, or 0 for NaN and infinities (out then holds ""). */
size_t odm_text_double(double d, char *out);

/* Returns: the value of the hexadecimal digit c (either case), or -1 when c is not one. */
int odm_text_hex_digit(int c);

/* Base64url (RFC 4648 5) without padding, as list cursors and JWTs (RFC 7515 2) write it. */

/* Returns: the value of base64url digit c, or -1 when c is not one. */
int odm_text_b64url_digit(int c);

/* Writes n bytes of in as base64url into out, which holds at least (n * 4 + 2) / 3 + 1 bytes,
 * NUL-terminated. */
void odm_text_b64url_encode(const unsigned char *in, size_t n, char *out);

/* Decodes len characters of in into out (cap bytes), *out_len the bytes written. Strict: no
 * padding, no stray character, no length of 1 mod 4, unused trailing bits zero (one text per
 * byte string). Returns: false when malformed or larger than cap. */
bool odm_text_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
                            size_t *out_len);

#endif
