/* Declarations shared inside src/schema: maps, URIs, the registry's resources, compiled nodes,
 * the keyword table and the validation context. Nothing here is part of the public contract. */
#ifndef ODMD_SCHEMA_INTERNAL_H
#define ODMD_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "odmd/buf.h"
#include "odmd/schema.h"

/* Caps on what a schema or an instance can make the module do. */
#define SCHEMA_MAX_URI 4096         /* bytes in one URI or JSON Pointer */
#define SCHEMA_MAX_FILE (16u << 20) /* bytes in one mapped schema file */
#define SCHEMA_MAX_NODES 1000000    /* compiled subschemas per compile */
#define SCHEMA_MAX_DEPTH 512        /* nested subschema evaluations per validation */
#define SCHEMA_REGEX_MATCH_LIMIT 1000000
#define SCHEMA_REGEX_DEPTH_LIMIT 10000

/* ---- map.c: open-addressing hash map from byte keys (copied) to borrowed pointers ---- */

typedef struct {
    char *key; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    void *value;
} schema__slot_t;

typedef struct {
    schema__slot_t *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} schema__map_t;

void schema__map_init(schema__map_t *m);
void schema__map_release(schema__map_t *m); /* frees keys and slots, not values */
/* Inserts or replaces; false on out of memory (map unchanged). */
bool schema__map_put(schema__map_t *m, const void *key, size_t len, void *value);
void *schema__map_get(const schema__map_t *m, const void *key, size_t len);
uint64_t schema__hash(const void *key, size_t len);

static inline bool schema__map_put_ptr(schema__map_t *m, const void *ptr, void *value)
{
    return schema__map_put(m, &ptr, sizeof(ptr), value);
}

static inline void *schema__map_get_ptr(const schema__map_t *m, const void *ptr)
{
    return schema__map_get(m, &ptr, sizeof(ptr));
}

/* ---- arena.c: bump allocation for everything a compiled schema owns ---- */

typedef struct schema__chunk schema__chunk_t;
typedef struct {
    schema__chunk_t *head;
} schema__arena_t;

void schema__arena_release(schema__arena_t *a);
/* Forgets everything allocated but keeps the newest chunk for the next allocations. */
void schema__arena_reset(schema__arena_t *a);
/* Returns: zeroed memory owned by the arena, or NULL on out of memory. */
void *schema__arena_alloc(schema__arena_t *a, size_t size);
/* The same, not zeroed. */
void *schema__arena_alloc_raw(schema__arena_t *a, size_t size);
char *schema__arena_strndup(schema__arena_t *a, const char *s, size_t n);

/* ---- uri.c: RFC 3986 references and JSON Pointers ---- */

/* Returns: a new string, `ref` resolved against `base` (either may carry a fragment; the
 * result keeps the fragment of `ref`), or NULL when too long or out of memory. */
char *schema__uri_resolve(const char *base, const char *ref);
/* Returns the length of `uri` without its fragment ("#..."). */
size_t schema__uri_base_len(const char *uri);
/* Percent-decodes `n` bytes of a URI fragment into out (cap bytes incl. NUL); false when it
 * does not fit or is malformed. */
bool schema__uri_unescape(const char *s, size_t n, char *out, size_t cap, size_t *out_len);
/* Appends "/" and `name` escaped as a JSON Pointer token (~0, ~1) to a NUL-terminated
 * pointer in buf (cap bytes); false (buf unchanged) when it does not fit. */
bool schema__pointer_append(char *buf, size_t cap, const char *name, size_t len);
bool schema__pointer_append_index(char *buf, size_t cap, size_t index);
/* Follows a decoded JSON Pointer ("/a/0/b", "" for the root) from `root`. Calls `step` (may be
 * NULL) after every token with the node reached. Returns the node, or NULL when absent. */
json_t *schema__pointer_get(json_t *root, const char *pointer,
                            void (*step)(void *arg, json_t *node, const char *ptr, size_t ptr_len),
                            void *arg);

/* ---- registry.c: documents, resources ($id), anchors, mapped folders ---- */

typedef struct schema__resource schema__resource_t;

typedef struct {
    char *name;
    json_t *node;
    char *pointer; /* within the resource */
    schema__resource_t *res;
} schema__anchor_t;

struct schema__resource {
    char *uri;                       /* absolute, no fragment */
    json_t *root;                    /* borrowed from the document */
    char *doc_ptr;                   /* pointer of root within its document */
    const char *source;              /* file name for messages, or NULL */
    struct schema__resource *parent; /* enclosing resource in the same document, or NULL */
    schema__anchor_t **dynamic;      /* $dynamicAnchor definitions of this resource */
    size_t n_dynamic;
};

/* Where a URI leads: a node, its resource and its pointer within that resource (new). */
typedef struct {
    json_t *node;
    schema__resource_t *res;
    char *pointer;
} schema__target_t;

/* Resolves an absolute URI (fragment allowed) to a schema node, loading mapped documents on
 * demand. Returns false with ODM_ERR_SCHEMA when it cannot be found. */
bool schema__registry_resolve(odm_schema_registry_t *reg, const char *uri, schema__target_t *out,
                              odm_error_t *err);
/* Returns the resource whose root is `node`, or NULL. */
schema__resource_t *schema__registry_resource_at(odm_schema_registry_t *reg, const json_t *node);
/* Returns: the exact text kept for the number `value` of a registered document, or NULL. */
const char *schema__registry_number_text(const odm_schema_registry_t *reg, const json_t *value);
/* Returns the resource registered at `uri` (no fragment) or NULL, loading mapped documents. */
schema__resource_t *schema__registry_find(odm_schema_registry_t *reg, const char *uri,
                                          odm_error_t *err);

/* ---- metaschemas_data.c (generated): the built-in 2020-12 meta-schemas ---- */

typedef struct {
    const char *uri;
    const char *json;
} schema__builtin_t;

extern const schema__builtin_t schema__builtins[];
extern const size_t schema__builtin_count;

/* ---- json.c: JSON Schema's view of values ---- */

enum {
    SCHEMA_T_NULL = 1u << 0,
    SCHEMA_T_BOOLEAN = 1u << 1,
    SCHEMA_T_OBJECT = 1u << 2,
    SCHEMA_T_ARRAY = 1u << 3,
    SCHEMA_T_NUMBER = 1u << 4,
    SCHEMA_T_INTEGER = 1u << 5, /* a number with no fractional part (1.0 included) */
    SCHEMA_T_STRING = 1u << 6,
    SCHEMA_T_ANY = 0x7f,
};

/* Whether a double is finite and has no fractional part (without libm). */
bool schema__is_integral(double x);
/* Returns the type bits an instance satisfies (an integer has NUMBER and INTEGER). */
static inline unsigned schema__json_types(const json_t *v)
{
    static const unsigned bits[] = {
        [JSON_OBJECT] = SCHEMA_T_OBJECT, [JSON_ARRAY] = SCHEMA_T_ARRAY,
        [JSON_STRING] = SCHEMA_T_STRING, [JSON_INTEGER] = SCHEMA_T_NUMBER | SCHEMA_T_INTEGER,
        [JSON_REAL] = SCHEMA_T_NUMBER,   [JSON_TRUE] = SCHEMA_T_BOOLEAN,
        [JSON_FALSE] = SCHEMA_T_BOOLEAN, [JSON_NULL] = SCHEMA_T_NULL,
    };
    if (json_typeof(v) == JSON_REAL && schema__is_integral(json_real_value(v)))
        return SCHEMA_T_NUMBER | SCHEMA_T_INTEGER;
    return bits[json_typeof(v)];
}
const char *schema__json_type_name(const json_t *v);
/* Structural equality where 1 equals 1.0 and key order does not matter. */
bool schema__json_equal(const json_t *a, const json_t *b);
/* A hash consistent with schema__json_equal. */
uint64_t schema__json_hash(const json_t *v);
/* Compares two numbers: <0, 0, >0. */
int schema__num_cmp(const json_t *a, const json_t *b);
/* A number as written in decimal, m * 10^e, with the shortest mantissa that reads back. */
typedef struct {
    uint64_t m;
    int e;
} schema__decimal_t;
schema__decimal_t schema__decimal(const json_t *n);
/* Whether number `v` is an integer multiple of number `d` (> 0, with `dd` its decimal), on the
 * decimal values as written: 19.99 is a multiple of 0.01. */
bool schema__multiple_of(const json_t *v, const json_t *d, schema__decimal_t dd);
/* (r * 10^k) mod m, m > 0. */
unsigned long long schema__mul_pow10_mod(unsigned __int128 r, unsigned long long k,
                                         unsigned long long m);

/* ---- numbers.c: numbers kept as text (odm_schema_json_loadb), compared as written ---- */

/* Returns: the text kept for `value` (borrowed from nums), or NULL (nums may be NULL). */
const char *schema__numbers_text(const odm_schema_numbers_t *nums, const json_t *value);
/* Compares two numbers on their decimal values, each given by its kept text or, when that is
 * NULL, by the value in the tree: <0, 0, >0. */
int schema__num_cmp_exact(const json_t *a, const char *a_text, const json_t *b, const char *b_text);
/* Whether v is an integer multiple of d (> 0) on their decimal values, as above. Returns: 1 or
 * 0, or -1 when d has more than 19 significant digits (not decided here). */
int schema__multiple_of_exact(const json_t *v, const char *v_text, const json_t *d,
                              const char *d_text);
/* Whether the decimal text of a number has no fraction once its exponent applies. */
bool schema__text_is_integral(const char *text);

/* Number of Unicode code points in valid UTF-8. */
size_t schema__utf8_length(const char *s, size_t n);

/* ---- regex.c: ECMA-262-flavoured patterns through PCRE2 ---- */

/* An anchored pattern made of ASCII atoms that match without backtracking (see regex.c). */
#define SCHEMA_SIMPLE_ATOMS 32
typedef struct {
    uint64_t set[2]; /* the ASCII bytes it matches */
    uint32_t min, max;
} schema__atom_t;

typedef struct {
    size_t n;
    bool to_end; /* ends in "$": the atoms must take the whole string */
    schema__atom_t atoms[SCHEMA_SIMPLE_ATOMS];
    uint32_t bytes[256]; /* bit k: atom k matches the byte (the sets, one load per byte) */
} schema__simple_t;

/* Reads `pattern` as a simple pattern into out; false when it is not one (regex_simple.c). */
bool schema__simple_parse(const char *pattern, size_t len, schema__simple_t *out);
/* Returns 1 when `s` matches, 0 when not. */
int schema__simple_match(const schema__simple_t *re, const char *s, size_t len);

typedef struct schema__regex {
    pcre2_code *code;
    const schema__simple_t *simple; /* arena-owned; NULL: PCRE2 matches it */
    struct schema__regex *next;     /* the schema's list, for freeing */
} schema__regex_t;

/* Compiles `pattern`; on failure fills `msg` (cap bytes) and returns NULL. */
pcre2_code *schema__regex_compile(const char *pattern, size_t len, char *msg, size_t cap);
/* Returns 1 on a match, 0 on none, -1 when the match or depth limit was hit. Uses per-thread
 * match data: no allocation after a thread's first call. */
int schema__regex_match(const schema__regex_t *re, const pcre2_match_context *mctx, const char *s,
                        size_t len);
pcre2_match_context *schema__regex_context_new(void);

/* ---- compile.c and the keyword files: compiled schemas ---- */

enum {
    SCHEMA_V_CORE = 1u << 0,
    SCHEMA_V_APPLICATOR = 1u << 1,
    SCHEMA_V_UNEVALUATED = 1u << 2,
    SCHEMA_V_VALIDATION = 1u << 3,
    SCHEMA_V_META_DATA = 1u << 4,
    SCHEMA_V_FORMAT_ANNOTATION = 1u << 5,
    SCHEMA_V_FORMAT_ASSERTION = 1u << 6,
    SCHEMA_V_CONTENT = 1u << 7,
    SCHEMA_V_ALL = 0xff,
};

typedef struct schema__node schema__node_t;
typedef struct schema__kwdef schema__kwdef_t;
typedef struct schema__vctx schema__vctx_t;
typedef struct schema__eval schema__eval_t;

/* The member names a node looks up in instance objects: the keys of "properties" and the
 * entries of "required", in one open-addressing table (arena-owned). */
typedef struct {
    const char *name; /* borrowed from the schema document; NULL: an empty slot */
    size_t len;
    uint64_t hash;
    schema__node_t *node; /* its "properties" subschema, or NULL */
    uint64_t required;    /* bit i: entry i of "required" (the first 64) names it */
} schema__prop_t;

typedef struct {
    size_t cap; /* power of two, at least twice the names */
    schema__prop_t *slots;
    uint64_t required; /* every bit of "required" the table covers */
    bool all_required; /* "required" has at most 64 entries: the bits decide it alone */
    size_t n_names;    /* entries of "properties" and "required" together */
    size_t n_props;    /* entries with a subschema, in "properties" order in `order` */
    const schema__prop_t **order;
} schema__props_t;

/* A cheap hash for member names: the length and three bytes, mixed once. A table holds only
 * its schema's names, so colliding instance keys cost probes bounded by the table. */
static inline uint64_t schema__name_hash(const char *name, size_t len)
{
    uint64_t h = len;
    if (len > 0)
        h |= (uint64_t)(unsigned char)name[0] << 16 | (uint64_t)(unsigned char)name[len / 2] << 24 |
             (uint64_t)(unsigned char)name[len - 1] << 32;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

/* Returns the entry for `name`, or NULL. */
static inline const schema__prop_t *schema__props_find(const schema__props_t *t, const char *name,
                                                       size_t len)
{
    uint64_t hash = schema__name_hash(name, len);
    for (size_t i = hash & (t->cap - 1); t->slots[i].name != NULL; i = (i + 1) & (t->cap - 1)) {
        const schema__prop_t *p = &t->slots[i];
        if (p->hash == hash && p->len == len && memcmp(p->name, name, len) == 0)
            return p;
    }
    return NULL;
}

/* A schema resource as compiled: its dynamic anchors point at compiled nodes. */
typedef struct schema__cres {
    schema__resource_t *res;
    unsigned vocabs;
    const char **dyn_names;
    schema__node_t **dyn_nodes;
    size_t n_dyn;
} schema__cres_t;

typedef struct schema__kw schema__kw_t;
struct schema__kw {
    const schema__kwdef_t *def;
    void *data; /* keyword-specific, arena-owned */
    /* def's instance types and validate function, read without going through def */
    unsigned types;
    bool (*validate)(const schema__vctx_t *v, const schema__kw_t *kw, const json_t *instance,
                     schema__eval_t *ev);
};

struct schema__node {
    const json_t *json; /* borrowed from the registry */
    schema__cres_t *cres;
    const char *pointer;    /* within the resource */
    signed char boolean;    /* -1: an object schema; 0/1: the boolean schema false/true */
    bool collects;          /* has unevaluatedProperties/Items: tracks evaluated locations */
    bool walks;             /* has a keyword that walks an object's members */
    bool by_name;           /* ... "properties" alone: it may look members up by name */
    bool on_strings;        /* every keyword can judge a string given as bytes (on_string) */
    unsigned kw_types;      /* union of the instance types its keywords apply to */
    unsigned type_mask;     /* when its first keyword is "type": the types it allows, else 0 */
    schema__props_t *props; /* names of "properties" and "required", or NULL */
    /* the target when "$ref" is its only keyword and lies in its resource, or NULL */
    const schema__node_t *ref_only;
    schema__kw_t *kws;
    size_t n_kws;
    /* The same keywords in the order a verdict alone runs them (errors NULL; see
     * compile_keywords): "required" after the member walks. `kws` when no keyword moves. */
    schema__kw_t *verdict_kws;
    size_t n_verdict_kws;
};

struct odm_schema {
    schema__arena_t arena;
    schema__node_t *root;
    schema__regex_t *regexes;
    pcre2_match_context *mctx;
    odm_format_mode_t formats;
};

typedef struct schema__cctx schema__cctx_t;

/* Returns the compiled node for `json`, a subschema found under `node` at the path segments
 * `a` and `b` (b may be NULL; a segment "#N" is not special: indices are passed as text).
 * NULL with the error set on failure. */
schema__node_t *schema__compile_sub(schema__cctx_t *c, const schema__node_t *node, const char *a,
                                    const char *b, const json_t *json);
/* Compiles the target of a reference (resolved against the node's base URI). */
schema__node_t *schema__compile_ref(schema__cctx_t *c, const schema__node_t *node, const char *kw,
                                    const char *ref, schema__target_t *where);
/* Fails the compilation with "POINTER/keyword[/sub]: message". Returns false. */
bool schema__compile_fail(schema__cctx_t *c, const schema__node_t *node, const char *kw,
                          const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
odm_schema_t *schema__compile_schema(schema__cctx_t *c);
odm_format_mode_t schema__compile_formats(schema__cctx_t *c);
/* The exact text of a number of the schema (odm_schema_registry_add_numbers), or NULL;
 * borrowed from the registry, which outlives the compiled schema. */
const char *schema__compile_number_text(schema__cctx_t *c, const json_t *value);
void *schema__compile_alloc(schema__cctx_t *c, size_t size);
char *schema__compile_strndup(schema__cctx_t *c, const char *s, size_t n);
/* Builds node->props from the node's "properties" and "required" when either is present
 * (values of the wrong type are left to their keywords to report). False on out of memory. */
bool schema__compile_props(schema__cctx_t *c, schema__node_t *node);
/* Compiles a pattern into the schema (freed with it). NULL with the error set. */
const schema__regex_t *schema__compile_regex(schema__cctx_t *c, const schema__node_t *node,
                                             const char *kw, const char *sub, const char *pattern,
                                             size_t len);

/* ---- validate.c: evaluation ---- */

/* One step of an instance or keyword location: a name, or an index when name is NULL. */
typedef struct schema__seg {
    const struct schema__seg *up;
    const char *name;
    size_t len; /* of name, or the index */
} schema__seg_t;

typedef struct schema__scope {
    const struct schema__scope *up;
    const schema__cres_t *cres;
} schema__scope_t;

typedef struct schema__visit {
    const struct schema__visit *up;
    const schema__node_t *node;
    const json_t *instance;
} schema__visit_t;

/* A parameter of a unit's message, as its template's conversion reads it. */
typedef union {
    const char *s; /* %s, and the text of %.*s */
    size_t z;      /* %zu */
    int d;         /* %d, and the length of %.*s */
} schema__arg_t;

#define SCHEMA_MSG_ARGS 4

/* A location segment as a unit keeps it: a name (borrowed) or, when name is NULL, an index. */
typedef struct {
    const char *name;
    size_t len;
} schema__tok_t;

/* One violation, in the list's arena: what it takes to write the unit, no text yet. */
typedef struct schema__unit {
    struct schema__unit *next;
    const schema__node_t *node; /* for absoluteKeywordLocation; NULL when no $ref was crossed */
    const char *kw, *sub;       /* the keyword location's last tokens after `segs` (may be NULL) */
    const char *fmt;            /* the message's template */
    schema__arg_t args[SCHEMA_MSG_ARGS];
    size_t n_ipath, n_kpath;
    schema__tok_t segs[]; /* the instance location's segments, then the keyword location's */
} schema__unit_t;

/* The conversions of a message template, in order ('s', '*' for %.*s, 'z', 'd'), remembered
 * per template so that a report does not read the template again. */
typedef struct {
    const char *fmt;
    char sig[SCHEMA_MSG_ARGS + 1];
} schema__sig_t;

#define SCHEMA_SIGS 32 /* a power of two */

struct odm_schema_errors {
    schema__unit_t *first, *last;
    size_t count, max; /* units in the list, and the cap */
    schema__arena_t arena;
    schema__sig_t sigs[SCHEMA_SIGS]; /* direct-mapped by the template's address */
};

/* Empties the list for a new validation (its memory is kept). */
void schema__errors_reset(odm_schema_errors_t *e);

struct schema__vctx {
    const odm_schema_t *schema;
    const odm_schema_numbers_t *numbers; /* exact texts of the instance's numbers, or NULL */
    odm_schema_errors_t *errors; /* NULL: only the verdict matters, stop at the first failure */
    const schema__seg_t *ipath;
    const schema__seg_t *kpath; /* location of the current node */
    const schema__scope_t *scope;
    const schema__visit_t *visits;   /* (target, instance) of the references being followed */
    const schema__node_t *node;      /* the node whose keywords run */
    struct schema__members *members; /* its object instance's members, when it walks them */
    unsigned types;                  /* type bits of its instance */
    unsigned depth;
    bool via_ref;
};

/* One member of the object a node evaluates, with its entry in the node's names (or NULL). */
typedef struct {
    const char *key;
    size_t len;
    const json_t *value;
    const schema__prop_t *prop;
} schema__member_t;

/* The members of the object a node evaluates, looked up in the node's names once for all its
 * keywords, as far as they have walked (the first SCHEMA_MEMBERS_INLINE members; keywords walk
 * the rest of a larger object with a lookup each). Lives on the stack of the node's run. */
#define SCHEMA_MEMBERS_INLINE 24
typedef struct schema__members {
    const json_t *obj;
    const schema__props_t *props;
    void *next;        /* iterator at the first member not looked up yet; NULL after the last */
    size_t n;          /* members looked up */
    uint64_t required; /* union of their required bits */
    size_t others;     /* how many of them no "properties" entry names */
    schema__member_t items[SCHEMA_MEMBERS_INLINE];
} schema__members_t;

void schema__members_init(schema__members_t *ms, const schema__props_t *props, const json_t *obj);
/* Looks up one more member; false when every member is looked up or the inline room is full. */
static inline bool schema__members_fill(schema__members_t *ms)
{
    if (ms->next == NULL || ms->n == SCHEMA_MEMBERS_INLINE)
        return false;
    schema__member_t *m = &ms->items[ms->n++];
    m->key = json_object_iter_key(ms->next);
    m->len = json_object_iter_key_len(ms->next);
    m->value = json_object_iter_value(ms->next);
    m->prop = ms->props ? schema__props_find(ms->props, m->key, m->len) : NULL;
    ms->required |= m->prop ? m->prop->required : 0;
    ms->others += m->prop == NULL || m->prop->node == NULL;
    ms->next = json_object_iter_next((json_t *)ms->obj, ms->next);
    return true;
}

/* Whether every member of the object has been looked up. */
static inline bool schema__members_complete(const schema__members_t *ms)
{
    return ms->next == NULL;
}

/* A walk over the members of the object instance of v's node, in the object's order. */
typedef struct {
    schema__members_t *ms;
    void *it; /* past the inline members: the object's own iterator */
    size_t i; /* ordinal of the current member */
    const schema__member_t *m;
    schema__member_t one;
} schema__walk_t;

static inline void schema__walk_init(schema__walk_t *w, const schema__vctx_t *v)
{
    w->ms = v->members;
    w->it = NULL;
    w->i = SIZE_MAX;
}

/* Steps to the next member (w->m, ordinal w->i); false after the last. */
static inline bool schema__walk_next(schema__walk_t *w)
{
    schema__members_t *ms = w->ms;
    w->i++;
    if (w->i < ms->n || (w->i < SCHEMA_MEMBERS_INLINE && schema__members_fill(ms))) {
        w->m = &ms->items[w->i];
        return true;
    }
    if (w->i < SCHEMA_MEMBERS_INLINE)
        return false;
    w->it =
        w->i == SCHEMA_MEMBERS_INLINE ? ms->next : json_object_iter_next((json_t *)ms->obj, w->it);
    if (w->it == NULL)
        return false;
    w->one.key = json_object_iter_key(w->it);
    w->one.len = json_object_iter_key_len(w->it);
    w->one.value = json_object_iter_value(w->it);
    w->one.prop = ms->props ? schema__props_find(ms->props, w->one.key, w->one.len) : NULL;
    w->m = &w->one;
    return true;
}

/* Locations evaluated in one object (by property ordinal) or array (by index). */
#define SCHEMA_EVAL_INLINE 4
struct schema__eval {
    uint64_t *bits;
    size_t n;
    uint64_t inline_bits[SCHEMA_EVAL_INLINE];
};

/* Sets up an empty set sized for `instance`; false on out of memory. */
bool schema__eval_init(schema__eval_t *ev, const json_t *instance);
void schema__eval_release(schema__eval_t *ev);
void schema__eval_merge(schema__eval_t *into, const schema__eval_t *from);
static inline void schema__eval_mark(schema__eval_t *ev, size_t i)
{
    if (ev != NULL && i < ev->n)
        ev->bits[i / 64] |= (uint64_t)1 << (i % 64);
}
static inline bool schema__eval_has(const schema__eval_t *ev, size_t i)
{
    return i < ev->n && (ev->bits[i / 64] >> (i % 64)) & 1;
}
void schema__eval_mark_all(schema__eval_t *ev);

/* Validates `instance` against `node`. `kseg` (may be NULL) extends the keyword location from
 * the current one; `iseg` (may be NULL) extends the instance location. `ev` (may be NULL)
 * receives the locations the node evaluated when it is valid. */
bool schema__eval(const schema__vctx_t *v, const schema__node_t *node, const json_t *instance,
                  const schema__seg_t *kseg, const schema__seg_t *iseg, schema__eval_t *ev);
/* Follows a reference: like schema__eval, marking the keyword path as having crossed one and
 * failing on a reference cycle over the same instance. */
bool schema__eval_ref(const schema__vctx_t *v, const schema__node_t *target, const json_t *instance,
                      const schema__seg_t *kseg, schema__eval_t *ev);
/* Whether a string given as bytes passes every keyword of a node whose on_strings is set. */
bool schema__string_ok(const odm_schema_t *schema, const schema__node_t *node, const char *s,
                       size_t len);

/* schema__eval for a member's or an item's value, no evaluated locations wanted: when no error
 * is wanted either, a string whose subschema's keywords can all judge bytes (on_strings, never
 * set for a boolean schema) gets its verdict from them, given room for the level it takes. */
static inline bool schema__eval_value(const schema__vctx_t *v, const schema__node_t *node,
                                      const json_t *instance, const schema__seg_t *kseg,
                                      const schema__seg_t *iseg)
{
    if (v->errors == NULL && node->on_strings && json_is_string(instance) &&
        v->depth < SCHEMA_MAX_DEPTH)
        return schema__string_ok(v->schema, node, json_string_value(instance),
                                 json_string_length(instance));
    return schema__eval(v, node, instance, kseg, iseg, NULL);
}

/* Whether errors are being collected and there is still room for more. */
static inline bool schema__collecting(const schema__vctx_t *v)
{
    return v->errors != NULL && v->errors->count < v->errors->max;
}
/* Whether a failed keyword should stop its node (no errors wanted, or the cap is reached). */
static inline bool schema__stop(const schema__vctx_t *v)
{
    return !schema__collecting(v);
}
/* The same context with errors switched off (for anyOf branches, not, if, contains). */
static inline schema__vctx_t schema__quiet(const schema__vctx_t *v)
{
    schema__vctx_t q = *v;
    q.errors = NULL;
    return q;
}

/* ---- output.c: basic output units ---- */

/* Records a violation of keyword `kw` of the current node (extended by `sub`, may be NULL) at
 * the current instance location. Returns false. */
bool schema__report(const schema__vctx_t *v, const char *kw, const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- keywords: the table ---- */

struct schema__kwdef {
    const char *name;
    size_t name_len;
    unsigned vocab;
    unsigned types; /* instance types it applies to */
    /* Checks the keyword's value and fills kw->data. Returns false with the error set. */
    bool (*compile)(schema__cctx_t *c, schema__node_t *node, const json_t *value, schema__kw_t *kw);
    /* NULL for keywords that only shape others (then, else, minContains, ...). */
    bool (*validate)(const schema__vctx_t *v, const schema__kw_t *kw, const json_t *instance,
                     schema__eval_t *ev);
    bool walks; /* walks the members of an object instance (with schema__walk_t) */
    /* The verdict on a string given as bytes, without a json_t (NULL: only through validate). */
    bool (*on_string)(const odm_schema_t *schema, const schema__kw_t *kw, const char *s,
                      size_t len);
};

extern const schema__kwdef_t schema__keywords[];
extern const size_t schema__keyword_count;

/* How a keyword holds subschemas (for finding $id and anchors in documents). */
typedef enum { SCHEMA_SUB_NONE, SCHEMA_SUB_ONE, SCHEMA_SUB_ARRAY, SCHEMA_SUB_MAP } schema__sub_t;
schema__sub_t schema__keyword_subschemas(const char *name);

/* Returns the keyword data of a sibling keyword `name` already compiled in `node`, or NULL. */
const schema__kw_t *schema__node_keyword(const schema__node_t *node, const char *name);

#endif
