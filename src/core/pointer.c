/* JSON Pointers built segment by segment in a fixed buffer. */
#include "odmd/pointer.h"

#include <stdio.h>
#include <string.h>

void odm_pointer_init(odm_pointer_t *p)
{
    p->len = 0;
    p->buf[0] = '\0';
}

size_t odm_pointer_push(odm_pointer_t *p, const char *seg, size_t n)
{
    size_t mark = p->len, len = p->len;
    if (len + 1 >= sizeof p->buf)
        return mark;
    p->buf[len++] = '/';
    /* the run that needs no escape and fits is copied at once (most names are all of it) */
    size_t room = sizeof p->buf - 1 - len, plain = 0;
    while (plain < n && plain < room && seg[plain] != '~' && seg[plain] != '/')
        plain++;
    memcpy(p->buf + len, seg, plain);
    len += plain;
    size_t i = plain;
    for (; i < n; i++) {
        const char *esc = seg[i] == '~' ? "~0" : seg[i] == '/' ? "~1" : NULL;
        if (len + (esc ? 2 : 1) >= sizeof p->buf)
            break; /* truncated: keep what fits */
        if (esc) {
            p->buf[len++] = esc[0];
            p->buf[len++] = esc[1];
        } else {
            p->buf[len++] = seg[i];
        }
    }
    /* a cut never splits a UTF-8 sequence: drop its lead and continuation bytes */
    if (i < n && ((unsigned char)seg[i] & 0xC0) == 0x80)
        while (len > mark + 1 && ((unsigned char)p->buf[len - 1] & 0xC0) == 0x80)
            len--;
    if (i < n && len > mark + 1 && ((unsigned char)p->buf[len - 1] & 0xC0) == 0xC0)
        len--;
    p->buf[len] = '\0';
    p->len = len;
    return mark;
}

size_t odm_pointer_push_index(odm_pointer_t *p, size_t i)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%zu", i);
    return odm_pointer_push(p, digits, (size_t)n);
}

void odm_pointer_pop(odm_pointer_t *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}
