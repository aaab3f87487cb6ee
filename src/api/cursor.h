/* Private to src/api: keyset paging of lists (cursor.c). A list is sorted by the client's keys
 * and then _id, so that the order is total; a page past the first starts after a token, `after`,
 * that holds the sort values of the previous page's last document and is signed (HMAC-SHA256,
 * the app's cursor key) together with a digest of the model, filter and sort it belongs to. The
 * page query is a range on the sort keys, and each page asks for one document more than its
 * limit: that one, never shown, tells that a next page exists (the Link header). */
#ifndef ODMD_API_CURSOR_H
#define ODMD_API_CURSOR_H

#include <stdbool.h>

#include <bson/bson.h>

#include "odmd/error.h"

struct api_call;
struct api_list;
typedef struct api_cursor api_cursor_t;

/* Polling thread, once the list's filter, sort and projection are parsed: makes list->cursor,
 * rewrites list->sort as the client's keys then _id (keys after an _id are dropped), adds to a
 * projection (fields=) the sort keys it leaves out, checks `after` and builds the page's filter.
 * Refuses (400) sorts on arrays and objects, and a malformed, forged or foreign token.
 * Returns: true after answering. */
bool api__cursor_refuse(struct api_call *call);

/* The filter of the page query (borrowed): the list's, narrowed to what follows `after`. */
const bson_t *api__cursor_filter(const struct api_list *list);

/* The number of documents the page query asks for: the limit and one more. */
int64_t api__cursor_limit(const struct api_list *list);

/* Worker, for each document of the page query in order: the document to write (doc itself, or
 * a copy owned by the cursor without the sort keys that were added to the projection, valid
 * until the next call), or NULL for the document past the limit, which is not shown. */
const bson_t *api__cursor_shown(struct api_list *list, const bson_t *doc);

/* Worker, after the page query: adds `Link: </api/NAME?...&after=TOKEN>; rel="next"` when a
 * document came past the limit. Returns: false with ODM_ERR_BAD_QUERY when the last document's
 * sort values cannot make a token (an array or object value, more than ODM_API_MAX_CURSOR
 * bytes), or ODM_ERR_INTERNAL (out of memory). */
bool api__cursor_link(struct api_list *list, odm_error_t *err);

void api__cursor_free(api_cursor_t *c); /* NULL does nothing */

#endif
