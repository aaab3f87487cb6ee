/* ?expand=PATH,...: references replaced by the documents they name. One {_id: {$in: [...]}}
 * find per expanded path and level, the paths of one level fetched concurrently (jobs whose
 * last to finish carries on), lookups of concurrent requests on one collection shared (one
 * find for them all, as coalesce.c does for GETs by id), and fields= split between the models
 * it names. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

#define MAX_NODES (ODM_API_EXPAND_MAX_PATHS + 1) /* the root and every expanded path */
#define MAX_PATH 256                             /* bytes of one expand path */
#define MAX_SPEC (64 * 1024)                     /* bytes of one model's share of fields= */

/* A referenced id: an ObjectId, a string or an integer (int32 and int64 alike). */
typedef struct {
    bson_type_t type;
    const uint8_t *bytes; /* ObjectId (12 bytes) or string, borrowed from a document */
    uint32_t len;
    int64_t n;
    uint32_t hash;
} ref_key_t;

typedef struct {
    ref_key_t key;
    bool used;
    const bson_t *doc; /* the referenced document (owned by its node's docs), NULL: missing */
} ref_slot_t;

/* The root (the documents asked for) or one expanded path. A child's index is above its
 * parent's. */
typedef struct node {
    struct api_expand *x;
    size_t parent;            /* index of the parent node (the root: 0 for itself) */
    const odm_model_t *model; /* the model of this node's documents */
    const odm_field_t *field; /* where the parent's documents hold the ids (an array's items) */
    char path[MAX_PATH];      /* from the root, for messages */
    size_t local;             /* where the part of path below the parent's model starts */
    int level;                /* references followed from the root */
    size_t children[MAX_NODES];
    const odm_field_t *child_fields[MAX_NODES];
    size_t n_children;
    odm_buf_t spec; /* the fields= items this node's model projects */
    bool named_whole, named_part;
    bson_t projection;
    bson_t conds;      /* the lookup's conditions besides the _id: x-softDelete's, x-owner's */
    ref_slot_t *slots; /* the distinct ids, then what they name */
    size_t n_slots;    /* a power of two, at least twice the ids allowed */
    size_t n_ids;
    bson_t **docs; /* documents of this node: the page, or what the ids named */
    size_t n_docs, cap_docs;
    odm_job_t job;
    bool ok;
    odm_error_t err;
} node_t;

struct api_expand {
    api_call_t *call;
    node_t nodes[MAX_NODES];
    size_t n;
    int level;                   /* the level fetched last */
    int levels;                  /* the deepest level */
    atomic_size_t level_pending; /* lookups of the level being fetched not yet finished */
    atomic_size_t pending;       /* arrivals before the answer is composed */
    atomic_size_t fetched;       /* referenced documents fetched for this answer */
    atomic_size_t kept_bytes;    /* BSON kept for this answer, every node's */
    void (*compose)(api_call_t *call);
};

/* ---- ids ------------------------------------------------------------------------------- */

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* The id held by a value; false for a value of another type (it names nothing). */
static bool key_of(const bson_iter_t *it, ref_key_t *k)
{
    *k = (ref_key_t){.type = bson_iter_type(it)};
    switch (k->type) {
    case BSON_TYPE_OID:
        k->bytes = bson_iter_oid(it)->bytes;
        k->len = 12;
        break;
    case BSON_TYPE_UTF8:
        k->bytes = (const uint8_t *)bson_iter_utf8(it, &k->len);
        break;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        k->type = BSON_TYPE_INT64;
        k->n = bson_iter_as_int64(it);
        break;
    default:
        return false;
    }
    uint32_t h = fnv(2166136261u, &k->type, sizeof k->type);
    k->hash = k->bytes ? fnv(h, k->bytes, k->len) : fnv(h, &k->n, sizeof k->n);
    return true;
}

size_t api__expand_max_ids(const odm_app_t *app)
{
    return app->expand_max_ids > 0 ? app->expand_max_ids : ODM_API_EXPAND_MAX_IDS;
}

size_t api__expand_max_docs(const odm_app_t *app)
{
    return app->expand_max_docs > 0 ? app->expand_max_docs : ODM_API_EXPAND_MAX_DOCS;
}

static bool key_equal(const ref_key_t *a, const ref_key_t *b)
{
    if (a->type != b->type || a->len != b->len || a->n != b->n)
        return false;
    return a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* The slot holding `k`, or the empty slot where it goes; NULL when the node has no ids. */
static ref_slot_t *slot_of(const node_t *node, const ref_key_t *k)
{
    if (node->slots == NULL)
        return NULL;
    for (size_t i = k->hash & (node->n_slots - 1);; i = (i + 1) & (node->n_slots - 1)) {
        ref_slot_t *s = &node->slots[i];
        if (!s->used || key_equal(&s->key, k))
            return s;
    }
}

static void append_key(bson_t *array, size_t i, const ref_key_t *k)
{
    char index[16];
    const char *key;
    size_t klen = bson_uint32_to_string((uint32_t)i, &key, index, sizeof index);
    if (k->type == BSON_TYPE_OID)
        bson_append_oid(array, key, (int)klen, (const bson_oid_t *)k->bytes);
    else if (k->type == BSON_TYPE_UTF8)
        bson_append_utf8(array, key, (int)klen, (const char *)k->bytes, (int)k->len);
    else
        bson_append_int64(array, key, (int)klen, k->n);
}

/* ---- parsing expand= and fields= ------------------------------------------------------- */

static bool all_digits(const char *s, size_t n)
{
    return n > 0 && strspn(s, "0123456789") >= n;
}

/* The model named by a field's x-ref (on the field, or on an array's items), or NULL. */
static const odm_model_t *ref_model(const api_expand_t *x, const odm_field_t *f)
{
    const char *ref = f->ref ? f->ref : f->items ? f->items->ref : NULL;
    return ref ? odm_models_find(x->call->models, ref, strlen(ref)) : NULL;
}

/* The child of `parent` for the reference at `field`, made when new. Returns: its index, or
 * 0 after setting err. `path`/`len`: the expand path up to this reference. */
static size_t child_node(api_expand_t *x, size_t parent, const odm_field_t *field,
                         const odm_model_t *model, const char *path, size_t len, size_t local,
                         odm_error_t *err)
{
    node_t *p = &x->nodes[parent];
    const odm_field_t *at = field->items ? field->items : field;
    for (size_t i = 0; i < p->n_children; i++)
        if (p->child_fields[i] == at)
            return p->children[i];
    if (p->level + 1 > ODM_API_EXPAND_MAX_DEPTH) {
        odm_error_set(err, ODM_ERR_BAD_QUERY, "expand path '%.*s' follows more than %d references",
                      (int)len, path, ODM_API_EXPAND_MAX_DEPTH);
        return 0;
    }
    if (x->n == MAX_NODES) {
        odm_error_set(err, ODM_ERR_BAD_QUERY, "expand names more than %d paths",
                      ODM_API_EXPAND_MAX_PATHS);
        return 0;
    }
    size_t i = x->n++;
    node_t *c = &x->nodes[i];
    *c = (node_t){.x = x,
                  .parent = parent,
                  .model = model,
                  .field = at,
                  .local = local,
                  .level = p->level + 1,
                  .ok = true};
    memcpy(c->path, path, len);
    odm_buf_init(&c->spec, MAX_SPEC);
    bson_init(&c->projection);
    bson_init(&c->conds);
    p->children[p->n_children] = i;
    p->child_fields[p->n_children++] = at;
    if (c->level > x->levels)
        x->levels = c->level;
    return i;
}

/* Adds one expand path (and the references it goes through). */
static bool add_path(api_expand_t *x, const char *path, size_t len, odm_error_t *err)
{
    if (len == 0 || len >= MAX_PATH)
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "expand needs paths of 1 to %d bytes",
                             MAX_PATH - 1);
    size_t node = 0, hop = 0, pos = 0;
    while (pos <= len) {
        const char *seg = path + pos;
        size_t n = strcspn(seg, ".,");
        if (pos + n > len)
            n = len - pos;
        const odm_model_t *model = x->nodes[node].model;
        const odm_field_t *f =
            n > 0 && !all_digits(seg, n) ? odm_model_field(model, path + hop, pos + n - hop) : NULL;
        if (f == NULL || f->write_only)
            return odm_error_set(err, ODM_ERR_BAD_QUERY,
                                 "expand path '%.*s': '%.*s' is not a field of '%s'", (int)len,
                                 path, (int)(pos + n - hop), path + hop, model->name);
        const odm_model_t *target = ref_model(x, f);
        bool last = pos + n == len;
        if (last && target == NULL)
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "expand path '%.*s': '%.*s' has no x-ref",
                                 (int)len, path, (int)(pos + n - hop), path + hop);
        if (target != NULL) {
            node = child_node(x, node, f, target, path, pos + n, hop, err);
            if (node == 0)
                return false;
            hop = pos + n + 1;
        }
        pos += n + 1;
    }
    return true;
}

static bool spec_add(node_t *node, const char *item, size_t len)
{
    return (node->spec.len == 0 || odm_buf_putc(&node->spec, ',')) &&
           odm_buf_append(&node->spec, item, len);
}

/* Sends one fields= item to the node whose model it names. */
static bool route_field(api_expand_t *x, size_t at, const char *item, size_t len)
{
    node_t *node = &x->nodes[at];
    for (size_t i = 0; i < node->n_children; i++) {
        node_t *c = &x->nodes[node->children[i]];
        const char *local = c->path + c->local;
        size_t llen = strlen(local);
        if (len == llen && memcmp(item, local, len) == 0) {
            c->named_whole = true;
            return true;
        }
        if (len > llen && memcmp(item, local, llen) == 0 && item[llen] == '.') {
            c->named_part = true;
            return route_field(x, node->children[i], item + llen + 1, len - llen - 1);
        }
    }
    return spec_add(node, item, len);
}

/* Splits fields= between the nodes and turns each node's share into its projection; the
 * root's goes to `root`. A node named both whole and in part is refused. */
static bool split_fields(api_expand_t *x, const char *fields, bson_t *root, odm_error_t *err)
{
    for (const char *p = fields;; p++) {
        size_t n = strcspn(p, ",");
        if (!route_field(x, 0, p, n))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields is too long");
        p += n;
        if (*p == '\0')
            break;
    }
    for (size_t i = x->n; i-- > 1;) {
        node_t *c = &x->nodes[i];
        bool part = c->named_part || c->spec.len > 0;
        if (!part && !c->named_whole)
            continue;
        if (part && c->named_whole)
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields names '%s' both whole and in part",
                                 c->path);
        if (!spec_add(&x->nodes[c->parent], c->path + c->local, strlen(c->path + c->local)))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields is too long");
    }
    for (size_t i = 0; i < x->n; i++) {
        node_t *node = &x->nodes[i];
        bson_t *out = i == 0 ? root : &node->projection;
        if ((i == 0 || node->spec.len > 0) &&
            !odm_codec_projection(node->model, node->spec.data ? node->spec.data : "",
                                  node->spec.len, out, err)) {
            if (i > 0)
                odm_error_prefix(err, "fields under '%s'", node->path);
            return false;
        }
    }
    return true;
}

bool api__refuse_expand(api_call_t *call, const char *expand, const char *fields,
                        bson_t *projection)
{
    api_expand_t *x = calloc(1, sizeof *x);
    if (x == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    call->expand = x;
    x->call = call;
    x->n = 1;
    x->nodes[0] = (node_t){.x = x, .model = call->model, .ok = true};
    odm_buf_init(&x->nodes[0].spec, MAX_SPEC);
    bson_init(&x->nodes[0].projection);
    bson_init(&x->nodes[0].conds);
    odm_error_t err;
    for (const char *p = expand;; p++) {
        size_t n = strcspn(p, ",");
        if (!add_path(x, p, n, &err))
            return api__fail(call->req, &err, NULL);
        p += n;
        if (*p == '\0')
            break;
    }
    for (size_t i = 1; i < x->n; i++) /* every model reached is read (access.c) */
        if (api__refuse_scope(call->req, &call->caller, ODM_ACCESS_READ, x->nodes[i].model))
            return true;
    if (fields != NULL && !split_fields(x, fields, projection, &err))
        return api__fail(call->req, &err, NULL);
    return false;
}

/* ---- fetching, level by level ---------------------------------------------------------- */

static bool keep_doc(node_t *node, const bson_t *doc, odm_error_t *err)
{
    if (atomic_fetch_add(&node->x->kept_bytes, doc->len) + doc->len > ODM_API_MAX_RESPONSE)
        return odm_error_set(err, ODM_ERR_INTERNAL, "response larger than %u bytes",
                             ODM_API_MAX_RESPONSE);
    if (node->n_docs == node->cap_docs) {
        size_t cap = node->cap_docs ? node->cap_docs * 2 : 16;
        bson_t **grown = realloc(node->docs, cap * sizeof *grown);
        if (grown == NULL)
            return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        node->docs = grown;
        node->cap_docs = cap;
    }
    bson_t *copy = bson_copy(doc);
    if (copy == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    node->docs[node->n_docs++] = copy;
    return true;
}

bool api__expand_add(api_expand_t *x, const bson_t *doc, odm_error_t *err)
{
    return keep_doc(&x->nodes[0], doc, err);
}

/* Lookups that share one find: nodes of concurrent requests (one each) on the same model with
 * the same conditions and projection, their ids at most one $in's bound together. */
typedef struct {
    node_t *nodes[ODM_API_COALESCE_MAX];
    size_t n;
    size_t ids;     /* the nodes' ids summed: the union's length at most */
    size_t max_ids; /* the bound of one $in (--expand-max-ids) */
} lookup_batch_t;

/* A referenced document for `node`: counted against its answer's bound, kept under its _id.
 * Past a bound: node->ok false, node->err set. */
static void keep_referenced(node_t *node, ref_slot_t *slot, const bson_t *doc)
{
    size_t max_docs = api__expand_max_docs(node->x->call->app);
    if (atomic_fetch_add(&node->x->fetched, 1) >= max_docs) {
        node->ok =
            odm_error_set(&node->err, ODM_ERR_BAD_QUERY,
                          "expand refers to more than %zu documents in one answer", max_docs);
        return;
    }
    if (!keep_doc(node, doc, &node->err)) {
        node->ok = false;
        return;
    }
    slot->doc = node->docs[node->n_docs - 1];
}

/* Hands a fetched document to every node of the batch that asked for its _id
 * (odm_store_each_fn). Stops the find (false) only once every node has failed. */
static bool keep_for_batch(const bson_t *doc, void *arg, odm_error_t *err)
{
    lookup_batch_t *b = arg;
    bson_iter_t it;
    ref_key_t k;
    bool any_ok = false;
    bool keyed = bson_iter_init_find(&it, doc, "_id") && key_of(&it, &k);
    for (size_t i = 0; i < b->n; i++) {
        node_t *node = b->nodes[i];
        ref_slot_t *slot = node->ok && keyed ? slot_of(node, &k) : NULL;
        if (slot != NULL && slot->used && slot->doc == NULL)
            keep_referenced(node, slot, doc);
        any_ok = any_ok || node->ok;
    }
    if (!any_ok)
        *err = b->nodes[b->n - 1]->err;
    return any_ok;
}

/* {_id: {$in: [the distinct ids of every node]}} and the conditions they share. Returns: how
 * many ids went in. */
static size_t batch_filter(const lookup_batch_t *b, bson_t *filter)
{
    bson_t in, array;
    size_t n = 0;
    bson_init(filter);
    BSON_APPEND_DOCUMENT_BEGIN(filter, "_id", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &array);
    for (size_t j = 0; j < b->n; j++) {
        const node_t *node = b->nodes[j];
        for (size_t i = 0; i < node->n_slots; i++) {
            const ref_slot_t *s = &node->slots[i];
            bool seen = false;
            for (size_t e = 0; s->used && e < j && !seen; e++) {
                const ref_slot_t *other = slot_of(b->nodes[e], &s->key);
                seen = other != NULL && other->used;
            }
            if (s->used && !seen)
                append_key(&array, n++, &s->key);
        }
    }
    bson_append_array_end(&in, &array);
    bson_append_document_end(filter, &in);
    bson_concat(filter, &b->nodes[0]->conds);
    return n;
}

static void fetch_job_run(odm_job_t *job);

#define NODE_OF(j) ((node_t *)((char *)(j)-offsetof(node_t, job)))

/* Whether a node of the request x is in the batch already. */
static bool batch_has(const lookup_batch_t *b, const api_expand_t *x)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->nodes[i]->x == x)
            return true;
    return false;
}

/* A queued lookup that may share the batch's find: another request's (a request's own paths
 * keep a find each), the same model, conditions (the same x-softDelete scope, the same owner)
 * and projection, and room left in the $in. Under the pool's lock; every job it accepts is
 * taken (odm_work_take_matching), so it adds itself to the batch. */
static bool same_lookup(const odm_job_t *job, const void *key)
{
    lookup_batch_t *b = (lookup_batch_t *)key; /* the batch being filled, by this thread only */
    if (job->run != fetch_job_run)
        return false;
    const node_t *node = NODE_OF(job), *first = b->nodes[0];
    if (node->model != first->model || b->ids + node->n_ids > b->max_ids ||
        !bson_equal(&node->conds, &first->conds) ||
        !bson_equal(&node->projection, &first->projection) || batch_has(b, node->x))
        return false;
    b->ids += node->n_ids;
    b->nodes[b->n++] = (node_t *)node;
    return true;
}

/* The earliest deadline of the batch's requests: the find fits every one of them. */
static int64_t batch_deadline(const lookup_batch_t *b)
{
    int64_t deadline = odm_request_deadline_ms(b->nodes[0]->x->call->req);
    for (size_t i = 1; i < b->n; i++) {
        int64_t d = odm_request_deadline_ms(b->nodes[i]->x->call->req);
        if (d < deadline)
            deadline = d;
    }
    return deadline;
}

static void level_arrive(api_expand_t *x);

/* Fetches what `node` refers to, with the waiting lookups like it (taken out of the queue, at
 * most ODM_API_COALESCE_MAX in all) in one find; each node keeps the documents of its own ids,
 * under its own answer's bounds. The taken lookups then arrive (each may answer its request);
 * `node` does not: its caller goes on with it. */
static void fetch(node_t *node)
{
    api_call_t *call = node->x->call;
    lookup_batch_t b = {.nodes = {node}, .n = 1, .ids = node->n_ids};
    b.max_ids = api__expand_max_ids(call->app);
    odm_job_t *taken[ODM_API_COALESCE_MAX - 1];
    size_t n =
        odm_work_take_matching(call->app->pool, same_lookup, &b, taken, ODM_API_COALESCE_MAX - 1);
    (void)n; /* same_lookup added each taken job's node to b */
    bson_t filter;
    size_t ids = batch_filter(&b, &filter);
    odm_error_t err;
    bool ok = odm_store_find(call->app->store, node->model->collection, &filter, NULL,
                             bson_empty(&node->projection) ? NULL : &node->projection, 0,
                             (int64_t)ids, keep_for_batch, &b, batch_deadline(&b), &err);
    bson_destroy(&filter);
    for (size_t i = 0; i < b.n; i++)
        if (!ok && b.nodes[i]->ok) {
            b.nodes[i]->ok = false;
            b.nodes[i]->err = err;
        }
    for (size_t i = 1; i < b.n; i++)
        level_arrive(b.nodes[i]->x); /* the last touch of that node */
}

static void fetch_job_run(odm_job_t *job)
{
    node_t *node = NODE_OF(job);
    api_expand_t *x = node->x;
    fetch(node);
    level_arrive(x);
}

static void fetch_job_expire(odm_job_t *job)
{
    node_t *node = NODE_OF(job);
    api_expand_t *x = node->x;
    node->ok = false;
    odm_error_set(&node->err, ODM_ERR_TIMEOUT, "request waited too long for a worker");
    level_arrive(x);
}

/* Records one id found in a parent's document (odm_codec_each_fn). */
static void collect_id(void *arg, size_t i, const bson_iter_t *value)
{
    (void)i;
    node_t *node = arg;
    ref_key_t k;
    if (!node->ok || !key_of(value, &k))
        return;
    size_t max_ids = api__expand_max_ids(node->x->call->app);
    if (node->slots == NULL) {
        for (node->n_slots = 16; node->n_slots < 2 * max_ids; node->n_slots *= 2)
            ;
        node->slots = calloc(node->n_slots, sizeof *node->slots);
        if (node->slots == NULL) {
            node->ok = odm_error_set(&node->err, ODM_ERR_INTERNAL, "out of memory");
            return;
        }
    }
    ref_slot_t *slot = slot_of(node, &k);
    if (slot->used)
        return;
    if (node->n_ids == max_ids) {
        node->ok = odm_error_set(&node->err, ODM_ERR_BAD_QUERY,
                                 "expand path '%s' refers to more than %zu documents; ask for "
                                 "fewer at once",
                                 node->path, max_ids);
        return;
    }
    *slot = (ref_slot_t){.key = k, .used = true};
    node->n_ids++;
}

/* Collects the ids of every node of `level` from its parent's documents, and the conditions of
 * its lookup. Returns: how many nodes have ids to fetch (their jobs in `jobs`); false in *ok
 * when one failed. */
static size_t prepare_level(api_expand_t *x, int level, odm_job_t **jobs, bool *ok)
{
    size_t n = 0;
    int64_t start_by = x->call->job.start_by_ms;
    for (size_t i = 1; i < x->n; i++) {
        node_t *node = &x->nodes[i];
        if (node->level != level)
            continue;
        const node_t *parent = &x->nodes[node->parent];
        for (size_t d = 0; d < parent->n_docs && node->ok; d++)
            odm_codec_each_at(parent->model, parent->docs[d], &node->field, 1, collect_id, node);
        *ok = *ok && node->ok;
        if (node->n_ids > 0) {
            api__scope_filter(node->model, API_SCOPE_LIVE,
                              &node->conds);                       /* soft-deleted: missing */
            api__owner_filter(x->call, node->model, &node->conds); /* another owner's: missing */
            node->job = (odm_job_t){
                .run = fetch_job_run, .expire = fetch_job_expire, .start_by_ms = start_by};
            jobs[n++] = &node->job;
        }
    }
    return n;
}

static bool level_ok(const api_expand_t *x, int level)
{
    for (size_t i = 1; i < x->n; i++)
        if (x->nodes[i].level == level && !x->nodes[i].ok)
            return false;
    return true;
}

void api__expand_arrive(api_expand_t *x)
{
    if (atomic_fetch_sub_explicit(&x->pending, 1, memory_order_acq_rel) != 1)
        return;
    api_call_t *call = x->call;
    x->compose(call);
    odm_request_resume(call->req); /* the last touch of the request */
}

static void run_levels(api_expand_t *x);

/* One lookup of the level finished; the last carries on with the next level. */
static void level_arrive(api_expand_t *x)
{
    if (atomic_fetch_sub_explicit(&x->level_pending, 1, memory_order_acq_rel) == 1)
        run_levels(x);
}

/* Fetches the levels after x->level, then arrives. A level's lookups go to the pool as jobs,
 * where a worker fetching one takes the waiting ones like it; a level of one lookup runs here
 * when nothing waits in the queue (no hop, and nothing to share it with). A failed level ends
 * the walk: nothing more reaches the database. */
static void run_levels(api_expand_t *x)
{
    odm_work_pool_t *pool = x->call->app->pool;
    while (x->level < x->levels && level_ok(x, x->level)) {
        odm_job_t *jobs[MAX_NODES];
        bool ok = true;
        size_t n = prepare_level(x, ++x->level, jobs, &ok);
        if (!ok || n == 0)
            continue;
        if (n == 1 && odm_work_queued(pool) == 0) {
            fetch(NODE_OF(jobs[0]));
            continue;
        }
        /* Once the last job is handed over, its arrival may have answered and freed x: only
         * the local array is read after that. */
        atomic_store_explicit(&x->level_pending, n, memory_order_release);
        for (size_t i = 0; i < n; i++)
            if (!odm_work_submit(pool, jobs[i]))
                fetch_job_run(jobs[i]); /* the queue is full: here */
        return;
    }
    api__expand_arrive(x);
}

void api__expand_start(api_expand_t *x, size_t others, void (*compose)(api_call_t *call))
{
    x->compose = compose;
    atomic_store_explicit(&x->pending, others + 1, memory_order_release);
}

void api__expand_run(api_expand_t *x, bool fetch_references)
{
    if (!fetch_references)
        x->level = x->levels;
    run_levels(x);
}

const odm_error_t *api__expand_error(const api_expand_t *x)
{
    for (size_t i = 1; i < x->n; i++)
        if (!x->nodes[i].ok)
            return &x->nodes[i].err;
    return NULL;
}

/* ---- writing --------------------------------------------------------------------------- */

static bool write_node(const node_t *node, const bson_t *doc, odm_buf_t *out, odm_error_t *err);

/* Writes the document an id names in place of the id, or null (odm_codec_subst_t.write). */
static bool write_reference(void *arg, size_t i, const bson_iter_t *value, odm_buf_t *out)
{
    const node_t *parent = arg;
    const node_t *node = &parent->x->nodes[parent->children[i]];
    ref_key_t k;
    const ref_slot_t *slot = key_of(value, &k) ? slot_of(node, &k) : NULL;
    if (slot == NULL || slot->doc == NULL)
        return odm_buf_append(out, "null", 4);
    odm_error_t err;
    return write_node(node, slot->doc, out, &err);
}

static bool write_node(const node_t *node, const bson_t *doc, odm_buf_t *out, odm_error_t *err)
{
    odm_codec_subst_t subst = {.fields = node->child_fields,
                               .n = node->n_children,
                               .write = write_reference,
                               .arg = (void *)node};
    return odm_codec_write_json_subst(node->model, doc, &subst, out, err);
}

bool api__expand_write(const api_expand_t *x, bool array, odm_buf_t *out, odm_error_t *err)
{
    const node_t *root = &x->nodes[0];
    if (array && !odm_buf_putc(out, '['))
        goto fail_full;
    for (size_t i = 0; i < root->n_docs; i++) {
        if (i > 0 && !odm_buf_putc(out, ','))
            goto fail_full;
        if (!write_node(root, root->docs[i], out, err))
            return false;
    }
    if (!array || odm_buf_putc(out, ']'))
        return true;
fail_full:
    return odm_error_set(err, ODM_ERR_INTERNAL, "response larger than %zu bytes", out->max);
}

/* ---- one document ---------------------------------------------------------------------- */

static void compose_document(api_call_t *call)
{
    odm_buf_t out;
    odm_error_t err;
    const odm_error_t *failed = api__expand_error(call->expand);
    if (failed != NULL) {
        api__fail(call->req, failed, NULL);
        return;
    }
    odm_buf_init(&out, ODM_API_MAX_RESPONSE);
    if (!api__expand_write(call->expand, false, &out, &err)) {
        odm_buf_release(&out);
        api__fail(call->req, &err, NULL);
        return;
    }
    size_t len;
    char *body = odm_buf_steal(&out, &len);
    api__reply_list(call->req, body, len); /* no ETag: the answer joins several documents */
}

bool api__expand_document(api_call_t *call, const bson_t *doc)
{
    api_expand_t *x = call->expand;
    odm_error_t err;
    if (!api__if_match(odm_request_header(call->req, "If-Match"), true, odm_codec_version(doc)))
        return api__failf(call->req, ODM_ERR_PRECONDITION, "the document's ETag does not match");
    if (!api__expand_add(x, doc, &err))
        return api__fail(call->req, &err, NULL);
    api__expand_start(x, 0, compose_document);
    api__expand_run(x, true);
    return false;
}

void api__expand_free(api_expand_t *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; i < x->n; i++) {
        node_t *node = &x->nodes[i];
        for (size_t d = 0; d < node->n_docs; d++)
            bson_destroy(node->docs[d]);
        free(node->docs);
        free(node->slots);
        odm_buf_release(&node->spec);
        bson_destroy(&node->projection);
        bson_destroy(&node->conds);
    }
    free(x);
}
