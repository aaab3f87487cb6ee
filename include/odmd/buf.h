/* A growable byte buffer with a hard cap (curl's dynbuf): every client-grown buffer has one. */
#ifndef ODMD_BUF_H
#define ODMD_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data; /* NULL until the first append, then always NUL-terminated */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* hard cap on len; appends past it fail and leave the buffer unchanged */
} odm_buf_t;

void odm_buf_init(odm_buf_t *b, size_t max); /* empty, nothing allocated */
void odm_buf_release(odm_buf_t *b);          /* frees the data; the buffer is empty again */
void odm_buf_reset(odm_buf_t *b);            /* len = 0, keeps the allocation */

/* Appends n bytes; returns false (buffer unchanged) when len + n would pass max or on OOM. */
bool odm_buf_append(odm_buf_t *b, const void *p, size_t n);
bool odm_buf_puts(odm_buf_t *b, const char *s);
bool odm_buf_putc(odm_buf_t *b, char c);
bool odm_buf_printf(odm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends the decimal form of v (printf's "%lld", without its cost). */
bool odm_buf_put_int(odm_buf_t *b, long long v);

/* Appends s (n bytes of UTF-8) as a JSON string literal with quotes and escapes, as jansson's
 * json_dumps writes it: '"', '\\' and control characters escaped (\b \f \n \r \t, else
 * \u00XX in upper-case hex), everything else as it is. Returns false (buffer unchanged) past
 * the cap or on OOM. */
bool odm_buf_json_string(odm_buf_t *b, const char *s, size_t n);

/* Returns the NUL-terminated contents (an empty string for an empty buffer); borrowed. */
const char *odm_buf_cstr(odm_buf_t *b);

/* Hands the malloc'd data to the caller (who frees it) and resets the buffer. May be NULL when
 * nothing was ever appended. */
char *odm_buf_steal(odm_buf_t *b, size_t *len);

#endif
