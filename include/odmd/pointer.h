/* A JSON Pointer (RFC 6901) under construction in a fixed buffer: segments are pushed escaped
 * (~0, ~1) and popped back to a mark, as a walk enters and leaves a tree. */
#ifndef ODMD_POINTER_H
#define ODMD_POINTER_H

#include <stddef.h>

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

#endif
