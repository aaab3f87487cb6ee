/* A JSON Pointer (RFC 6901) under construction in a fixed buffer: segments are pushed escaped
 * (~0, ~1) and popped back to a mark, as a walk enters and leaves a tree. */
#ifndef ODMD_POINTER_H
#define ODMD_POINTER_H

#include <stdbool.h>
#include <stddef.h>

#include "odmd/buf.h"

#define ODM_POINTER_MAX 512

typedef struct {
    char buf[ODM_POINTER_MAX]; /* NUL-terminated; "" is the whole document */
    size_t len;
} odm_pointer_t;

void odm_pointer_init(odm_pointer_t *p);

/* Appends "/" and the escaped segment (n bytes). Past the cap, keeps what fits (a truncated
 * pointer in a message beats none). Returns: the length to pop back to. */
size_t odm_pointer_push(odm_pointer_t *p, const char *seg, size_t n);
size_t odm_pointer_push_index(odm_pointer_t *p, size_t i);
void odm_pointer_pop(odm_pointer_t *p, size_t mark);

/* The one JSON Pointer token escaper: writes seg (n bytes) with '~' as "~0" and '/' as "~1"
 * into out, as much as fits in `room` bytes without splitting an escape (no NUL written).
 * *used is set to the bytes written. Returns: how many bytes of seg were written (n when all). */
size_t odm_pointer_escape(const char *seg, size_t n, char *out, size_t room, size_t *used);

/* Appends "/" and seg (n bytes) escaped to b. Returns false (b unchanged) past b's cap or on
 * OOM. */
bool odm_pointer_append_token(odm_buf_t *b, const char *seg, size_t n);

/* Decodes one token (n bytes, no '/') into out (cap bytes, NUL-terminated): "~0" is '~', "~1"
 * is '/'. *out_len (may be NULL) gets the decoded length. Returns false when a '~' is followed
 * by anything else, or the token does not fit. */
bool odm_pointer_unescape(const char *s, size_t n, char *out, size_t cap, size_t *out_len);

#endif
