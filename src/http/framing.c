/* Request framing checks (RFC 9112) made on the first handler call, before routing: what
 * libmicrohttpd 0.9.75 lets through and a proxy in front of odmd might read differently.
 *
 * libmicrohttpd itself answers a malformed or overflowing first Content-Length (400, 413) and a
 * request line it cannot split. It accepts the rest: Content-Length with Transfer-Encoding (the
 * body is then read as chunked), a second Content-Length (the first wins), a Transfer-Encoding
 * other than "chunked" (the body is then read until the connection closes), a field name with
 * whitespace before its colon ("Content-Length : 5" is a header named "Content-Length "), no
 * Host or two. Its MHD_OPTION_STRICT_FOR_CLIENT does not help here: at 1 it adds the Host check,
 * but answers it with its response head written twice; the check of whitespace before a colon
 * only runs at -1. So odmd checks the head itself. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* RFC 9110 §5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool http__is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

void http__head_add(http__head_t *head, const char *name, const char *value)
{
    if (!http__is_token(name)) {
        head->bad_name = true;
        return;
    }
    if (value == NULL)
        value = "";
    if (strcasecmp(name, "Host") == 0) {
        head->hosts++;
    } else if (strcasecmp(name, "Content-Length") == 0) {
        if (head->lengths > 0 && strcmp(head->length, value) != 0)
            head->lengths_differ = true;
        if (head->lengths++ == 0)
            head->length = value;
    } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
        head->encodings++;
        head->encoding = value;
    }
}

static enum MHD_Result head_add_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    http__head_add(cls, key, value);
    return MHD_YES;
}

void http__head_read(struct MHD_Connection *conn, const char *version, http__head_t *head)
{
    memset(head, 0, sizeof *head);
    head->http10 = version != NULL && strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, head_add_cb, head);
}

/* The last coding of a Transfer-Encoding list, and whether it is the only one. Returns: a
 * pointer into `list` and its length in *len. */
static const char *last_coding(const char *list, size_t *len, bool *only)
{
    const char *comma = strrchr(list, ',');
    const char *start = comma ? comma + 1 : list;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t n = strlen(start);
    while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
        n--;
    *len = n;
    *only = comma == NULL;
    return start;
}

static bool check_encoding(const http__head_t *head, odm_error_t *err)
{
    if (head->http10)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "'Transfer-Encoding' in an HTTP/1.0 request");
    if (head->lengths > 0)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "both 'Content-Length' and 'Transfer-Encoding' are given");
    if (head->encodings > 1)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "'Transfer-Encoding' is repeated");
    size_t n;
    bool only;
    const char *last = last_coding(head->encoding, &n, &only);
    if (n != 7 || strncasecmp(last, "chunked", 7) != 0)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "the request's last transfer coding must be 'chunked'");
    if (!only)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "transfer codings other than 'chunked' are not supported");
    return true;
}

bool http__head_check(const http__head_t *head, odm_error_t *err)
{
    if (head->bad_name)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST,
                             "a header name is empty or holds whitespace or a separator");
    if (head->hosts > 1)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "'Host' is repeated");
    if (head->hosts == 0 && !head->http10)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "an HTTP/1.1 request needs 'Host'");
    if (head->lengths_differ)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "'Content-Length' values differ");
    if (head->encodings > 0)
        return check_encoding(head, err);
    return true;
}

const char *http__origin_path(const char *target)
{
    size_t skip = 0;
    if (strncasecmp(target, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(target, "https://", 8) == 0)
        skip = 8;
    if (skip == 0)
        return target;
    const char *slash = strchr(target + skip, '/');
    return slash ? slash : "/";
}
