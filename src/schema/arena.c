/* A bump allocator: a compiled schema's nodes, keyword data and strings live and die together,
 * as do the units of an error list (reset for each validation). */
#include <stdlib.h>
#include <string.h>

#include "schema/internal.h"

#define CHUNK_SIZE 16384

struct schema__chunk {
    schema__chunk_t *next;
    size_t used, size;
    max_align_t data[];
};

void schema__arena_release(schema__arena_t *a)
{
    while (a->head != NULL) {
        schema__chunk_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

void schema__arena_reset(schema__arena_t *a)
{
    if (a->head == NULL)
        return;
    schema__chunk_t *keep = a->head;
    a->head = keep->next;
    schema__arena_release(a);
    keep->next = NULL;
    keep->used = 0;
    a->head = keep;
}

void *schema__arena_alloc(schema__arena_t *a, size_t size)
{
    void *p = schema__arena_alloc_raw(a, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

void *schema__arena_alloc_raw(schema__arena_t *a, size_t size)
{
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    schema__chunk_t *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->size = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

char *schema__arena_strndup(schema__arena_t *a, const char *s, size_t n)
{
    char *p = schema__arena_alloc(a, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}
