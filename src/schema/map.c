/* An open-addressing hash map from byte keys to borrowed pointers (URIs, anchors, nodes). */
#include <stdlib.h>
#include <string.h>

#include "schema/internal.h"

/* A multiply-xorshift hash over 8-byte words: keys are short names and URIs. */
uint64_t schema__hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h = len * k, w;
    for (; len >= 8; len -= 8, p += 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * k;
    return h ^ (h >> 32);
}

void schema__map_init(schema__map_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void schema__map_release(schema__map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    schema__map_init(m);
}

static schema__slot_t *find_slot(schema__slot_t *slots, size_t cap, const void *key, size_t len,
                                 uint64_t hash)
{
    size_t i = hash & (cap - 1);
    while (slots[i].key != NULL) {
        if (slots[i].hash == hash && slots[i].len == len && memcmp(slots[i].key, key, len) == 0)
            return &slots[i];
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static bool grow(schema__map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    schema__slot_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        schema__slot_t *s = &m->slots[i];
        if (s->key != NULL)
            *find_slot(slots, cap, s->key, s->len, s->hash) = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

bool schema__map_put(schema__map_t *m, const void *key, size_t len, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
        return false;
    uint64_t hash = schema__hash(key, len);
    schema__slot_t *s = find_slot(m->slots, m->cap, key, len, hash);
    if (s->key != NULL) {
        s->value = value;
        return true;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return false;
    memcpy(copy, key, len);
    copy[len] = '\0';
    *s = (schema__slot_t){copy, len, hash, value};
    m->count++;
    return true;
}

void *schema__map_get(const schema__map_t *m, const void *key, size_t len)
{
    if (m->cap == 0)
        return NULL;
    schema__slot_t *s = find_slot(m->slots, m->cap, key, len, schema__hash(key, len));
    return s->key != NULL ? s->value : NULL;
}
