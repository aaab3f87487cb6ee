/* JSON Pointers built segment by segment in a fixed buffer. */
#include "odmd/pointer.h"

#include <string.h>

#include "odmd/text.h"

void odm_pointer_init(odm_pointer_t *p)
{
    p->len = 0;
    p->buf[0] = '\0';
}

size_t odm_pointer_escape(const char *seg, size_t n, char *out, size_t room, size_t *used)
{
    size_t i = 0, w = 0;
    for (; i < n; i++) {
        /* the run that needs no escape and fits is copied at once (most names are all of it) */
        size_t plain = i;
        while (plain < n && plain - i < room - w && seg[plain] != '~' && seg[plain] != '/')
            plain++;
        memcpy(out + w, seg + i, plain - i);
        w += plain - i;
        i = plain;
        if (i == n || w + 2 > room)
            break;
        out[w++] = '~';
        out[w++] = seg[i] == '~' ? '0' : '1';
    }
    *used = w;
    return i;
}

size_t odm_pointer_push(odm_pointer_t *p, const char *seg, size_t n)
{
    size_t mark = p->len, len = p->len;
    if (len + 1 >= sizeof p->buf)
        return mark;
    p->buf[len++] = '/';
    size_t used, i = odm_pointer_escape(seg, n, p->buf + len, sizeof p->buf - 1 - len, &used);
    len += used; /* past the cap: what fits is kept */
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
    char digits[ODM_TEXT_INT_MAX];
    return odm_pointer_push(p, digits, odm_text_uint(i, digits));
}

void odm_pointer_pop(odm_pointer_t *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}

bool odm_pointer_append_token(odm_buf_t *b, const char *seg, size_t n)
{
    size_t start = b->len, done = 0;
    if (!odm_buf_putc(b, '/'))
        return false;
    while (done < n) {
        char chunk[256];
        size_t used;
        done += odm_pointer_escape(seg + done, n - done, chunk, sizeof chunk, &used);
        if (!odm_buf_append(b, chunk, used)) {
            b->len = start;
            b->data[start] = '\0';
            return false;
        }
    }
    return true;
}

bool odm_pointer_unescape(const char *s, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '~') {
            if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
                return false;
            c = s[++i] == '0' ? '~' : '/';
        }
        if (w + 1 >= cap)
            return false;
        out[w++] = c;
    }
    out[w] = '\0';
    if (out_len != NULL)
        *out_len = w;
    return true;
}
