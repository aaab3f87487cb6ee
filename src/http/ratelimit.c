/* Rate limits: a token bucket per credential (the Authorization value, hashed, when credentials
 * are checked) or, without one, per client address (IPv4 address, IPv6 /64), in a fixed table that
 * forgets the least recently seen client first. 429 past the limit; the RateLimit fields of
 * draft-ietf-httpapi-ratelimit- headers-10 on every answer counted (t: the seconds until one more
 * request is allowed).
 *
 * Threads: everything here runs on libmicrohttpd's one polling thread (server.c starts the
 * daemon with MHD_USE_INTERNAL_POLLING_THREAD and no thread pool, and calls these functions from
 * its access and queueing paths only), so the table has no lock. A thread pool or a second
 * caller would need one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "http/internal.h"
#include "odmd/clock.h"

#define NIL UINT32_MAX

/* What a bucket is keyed by (the first byte hashed). */
enum {
    KEY_ADDRESS = 'A',    /* a client address without credentials */
    KEY_CREDENTIAL = 'K', /* an Authorization value */
    KEY_FAILURES = 'F',   /* a client address's requests answered 401 */
};

/* Paths never limited: probes of orchestrators and scrapers must not be refused. */
static const char *const exempt_paths[] = {"/healthz", "/readyz", "/metrics"};

typedef struct {
    uint64_t key;
    double tokens;
    int64_t at_ms;  /* when tokens was last brought up to date */
    uint32_t chain; /* next bucket in the same hash slot */
    uint32_t newer, older;
} bucket_t;

struct http__limiter {
    double per_ms; /* tokens added per millisecond */
    double burst;  /* a bucket's size */
    uint32_t cap, used, mask;
    uint32_t *slots; /* mask + 1 chain heads */
    bucket_t *b;
    uint32_t newest, oldest;
    uint64_t k0, k1; /* SipHash key: another's bucket cannot be aimed at by choosing a value */
    char policy[96]; /* the RateLimit-Policy value */
};

/* ---- SipHash-2-4 (Aumasson and Bernstein), 64-bit output ---------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                                  \
        v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                     \
        v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                     \
        v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                                  \
    } while (0)

static uint64_t siphash(uint64_t k0, uint64_t k1, const unsigned char *in, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    uint64_t b = (uint64_t)len << 56, m;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        m = 0;
        for (int j = 7; j >= 0; j--)
            m = (m << 8) | in[i + (size_t)j];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; j < (len & 7); j++)
        b |= (uint64_t)in[full + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* kind, then n bytes of data (capped: a longer Authorization is hashed by its first 4 KiB,
 * which libmicrohttpd's 32 KiB pool bounds anyway). */
static uint64_t key_of(const http__limiter_t *l, char kind, const void *data, size_t n)
{
    unsigned char buf[4097];
    if (n > sizeof buf - 1)
        n = sizeof buf - 1;
    buf[0] = (unsigned char)kind;
    memcpy(buf + 1, data, n);
    return siphash(l->k0, l->k1, buf, n + 1);
}

uint64_t http__limit_address_key(const http__limiter_t *l, const struct sockaddr *sa, char kind)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        return key_of(l, kind, &a->sin_addr, 4);
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, mapped, sizeof mapped) == 0)
            return key_of(l, kind, a + 12, 4);
        return key_of(l, kind, a, 8);
    }
    return key_of(l, kind, "", 0); /* unknown: one shared bucket */
}

static uint64_t address_key(const http__limiter_t *l, const odm_request_t *req, char kind)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return http__limit_address_key(l, info ? info->client_addr : NULL, kind);
}

/* Rounding up a non-negative amount below 2^53 (no libm in this module). */
static double up(double x)
{
    double t = (double)(long long)x;
    return t < x ? t + 1 : t;
}

/* ---- the table ---------------------------------------------------------------------------- */

static void lru_unlink(http__limiter_t *l, uint32_t i)
{
    bucket_t *b = &l->b[i];
    if (b->newer != NIL)
        l->b[b->newer].older = b->older;
    else
        l->newest = b->older;
    if (b->older != NIL)
        l->b[b->older].newer = b->newer;
    else
        l->oldest = b->newer;
}

static void lru_push(http__limiter_t *l, uint32_t i)
{
    bucket_t *b = &l->b[i];
    b->newer = NIL;
    b->older = l->newest;
    if (l->newest != NIL)
        l->b[l->newest].newer = i;
    l->newest = i;
    if (l->oldest == NIL)
        l->oldest = i;
}

static void chain_unlink(http__limiter_t *l, uint32_t i)
{
    uint32_t *p = &l->slots[l->b[i].key & l->mask];
    while (*p != i)
        p = &l->b[*p].chain;
    *p = l->b[i].chain;
}

/* The bucket of key, brought up to date at now_ms and made the most recently seen; NULL when
 * there is none and `make` is false. A new one (taking the place of the least recently seen
 * when the table is full) starts full. */
static bucket_t *find(http__limiter_t *l, uint64_t key, int64_t now_ms, bool make)
{
    uint32_t i = l->slots[key & l->mask];
    while (i != NIL && l->b[i].key != key)
        i = l->b[i].chain;
    if (i == NIL && !make)
        return NULL;
    if (i == NIL) {
        if (l->used < l->cap) {
            i = l->used++;
        } else {
            i = l->oldest;
            lru_unlink(l, i);
            chain_unlink(l, i);
        }
        l->b[i] = (bucket_t){key, l->burst, now_ms, l->slots[key & l->mask], NIL, NIL};
        l->slots[key & l->mask] = i;
    } else {
        lru_unlink(l, i);
    }
    lru_push(l, i);
    bucket_t *b = &l->b[i];
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * l->per_ms;
        if (b->tokens > l->burst)
            b->tokens = l->burst;
        b->at_ms = now_ms;
    }
    return b;
}

/* Whole seconds (at least 1) until the bucket holds `want` tokens. */
static unsigned seconds_until(const http__limiter_t *l, const bucket_t *b, double want)
{
    double s = up((want - b->tokens) / l->per_ms / 1000.0);
    return s < 1 ? 1 : s > 86400.0 * 365 ? 86400u * 365 : (unsigned)s;
}

/* Keeps what the answer's RateLimit field says of b: the whole tokens left (r), and the
 * seconds until one more comes (t; 0 for a full bucket, where none is to come). */
static void note(odm_request_t *req, const http__limiter_t *l, const bucket_t *b)
{
    unsigned whole = (unsigned)b->tokens; /* not negative: truncation is floor */
    req->limited = true;
    req->rl_remaining = whole;
    req->rl_reset_s = b->tokens >= l->burst ? 0 : seconds_until(l, b, whole + 1.0);
}

/* ---- the server's hooks ------------------------------------------------------------------- */

http__limiter_t *http__limiter_new(unsigned rate, unsigned window_s, unsigned burst, unsigned table)
{
    http__limiter_t *l = calloc(1, sizeof *l);
    uint32_t slots = 16;
    while (slots < table * 2u && slots < (1u << 31))
        slots <<= 1;
    if (l == NULL || (l->b = calloc(table, sizeof *l->b)) == NULL ||
        (l->slots = malloc(slots * sizeof *l->slots)) == NULL) {
        http__limiter_free(l);
        return NULL;
    }
    memset(l->slots, 0xff, slots * sizeof *l->slots); /* NIL */
    l->mask = slots - 1;
    l->cap = table;
    l->newest = l->oldest = NIL;
    l->burst = burst > 0 ? burst : rate;
    l->per_ms = (double)rate / (window_s * 1000.0);
    uint64_t k[2] = {0, 0};
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k)
        k[0] = (uint64_t)odm_now_ms() ^ ((uint64_t)(uintptr_t)l << 16); /* unkeyed at worst */
    l->k0 = k[0], l->k1 = k[1];
    /* the quota q is a full bucket, the window w the seconds a bucket takes to fill */
    double w = up(l->burst / l->per_ms / 1000.0);
    snprintf(l->policy, sizeof l->policy, "\"default\";q=%.0f;w=%.0f", l->burst, w < 1 ? 1 : w);
    return l;
}

void http__limiter_free(http__limiter_t *l)
{
    if (l == NULL)
        return;
    free(l->slots);
    free(l->b);
    free(l);
}

bool http__limit_take(http__limiter_t *l, uint64_t key, int64_t now_ms)
{
    bucket_t *b = find(l, key, now_ms, true);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

unsigned http__limiter_used(const http__limiter_t *l)
{
    return l->used;
}

bool http__limit_init(odm_http_server_t *server, odm_error_t *err)
{
    const odm_http_options_t *o = &server->opts;
    server->limiter = NULL;
    if (o->rate_limit == 0)
        return true;
    server->limiter =
        http__limiter_new(o->rate_limit, o->rate_window_s, o->rate_burst, o->rate_table);
    if (server->limiter == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory for the rate-limit table");
    return true;
}

void http__limit_release(odm_http_server_t *server)
{
    http__limiter_free(server->limiter);
    server->limiter = NULL;
}

static bool exempt(const odm_request_t *req)
{
    for (size_t i = 0; i < sizeof exempt_paths / sizeof exempt_paths[0]; i++)
        if (strcmp(req->path, exempt_paths[i]) == 0)
            return true;
    return false;
}

static bool refuse(odm_request_t *req, const http__limiter_t *l, const bucket_t *b)
{
    char retry[16];
    snprintf(retry, sizeof retry, "%u", seconds_until(l, b, 1.0));
    odm_request_add_header(req, "Retry-After", retry);
    note(req, l, b);
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_TOO_MANY_REQUESTS, "rate limit reached: retry after %s s", retry);
    odm_request_fail(req, &err, NULL);
    return true;
}

bool http__limit_refuse(odm_http_server_t *server, odm_request_t *req)
{
    http__limiter_t *l = server->limiter;
    if (l == NULL || exempt(req))
        return false;
    int64_t now = odm_now_ms();
    const char *auth =
        server->opts.rate_by_credential ? odm_request_header(req, "Authorization") : NULL;
    bucket_t *b;
    if (auth != NULL) {
        /* an address whose wrong credentials spent its failures' bucket is refused whatever
         * it presents: trying keys one after another does not get a fresh bucket each time */
        bucket_t *f = find(l, address_key(l, req, KEY_FAILURES), now, false);
        if (f != NULL && f->tokens < 1.0)
            return refuse(req, l, f);
        req->by_credential = true;
        b = find(l, key_of(l, KEY_CREDENTIAL, auth, strlen(auth)), now, true);
    } else {
        b = find(l, address_key(l, req, KEY_ADDRESS), now, true);
    }
    if (b->tokens < 1.0)
        return refuse(req, l, b);
    b->tokens -= 1.0;
    note(req, l, b);
    return false;
}

void http__limit_answered(odm_http_server_t *server, const odm_request_t *req, http__header_fn fn,
                          void *ctx)
{
    http__limiter_t *l = server->limiter;
    if (l == NULL || !req->limited)
        return;
    if (req->by_credential && req->status == 401) {
        bucket_t *f = find(l, address_key(l, req, KEY_FAILURES), odm_now_ms(), true);
        if (f->tokens >= 1.0)
            f->tokens -= 1.0;
    }
    char value[64];
    if (req->rl_reset_s > 0)
        snprintf(value, sizeof value, "\"default\";r=%u;t=%u", req->rl_remaining, req->rl_reset_s);
    else
        snprintf(value, sizeof value, "\"default\";r=%u", req->rl_remaining);
    fn(ctx, "RateLimit-Policy", l->policy);
    fn(ctx, "RateLimit", value);
}
