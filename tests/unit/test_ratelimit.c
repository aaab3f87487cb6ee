/* Unit tests for src/http/ratelimit.c's table, on a clock of its own: client address keys
 * (IPv4, IPv4-mapped, IPv6 /64), token arithmetic, and least-recently-seen replacement under many
 * more clients than buckets (hash chains relinked on every replacement). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "http/internal.h"

static uint64_t key_of(const http__limiter_t *l, const char *text, char kind)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(1234);
    } else if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(4321);
    } else {
        CHECK_MSG(false, "bad address '%s' in the test", text);
    }
    return http__limit_address_key(l, (const struct sockaddr *)&ss, kind);
}

static void test_address_keys(void)
{
    http__limiter_t *l = http__limiter_new(1, 1, 1, 16);
    CHECK(l != NULL);
    static const struct {
        const char *a, *b;
        bool same;
    } cases[] = {
        {"192.0.2.1", "::ffff:192.0.2.1", true},          /* IPv4-mapped */
        {"192.0.2.1", "192.0.2.2", false},                /* every IPv4 address apart */
        {"2001:db8::1", "2001:db8::ffff:1", true},        /* one /64 */
        {"2001:db8::1", "2001:db8:0:1::1", false},        /* the next /64 */
        {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::", true}, /* the interface half ignored */
        {"::ffff:192.0.2.1", "::ffff:192.0.2.2", false},  /* mapped: by the IPv4 address */
        {"::1", "::2", true},
        {"192.0.2.1", "2001:db8::1", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool same = key_of(l, cases[i].a, 'A') == key_of(l, cases[i].b, 'A');
        CHECK_MSG(same == cases[i].same, "%s and %s: %s key", cases[i].a, cases[i].b,
                  same ? "the same" : "another");
    }
    CHECK(key_of(l, "192.0.2.1", 'A') != key_of(l, "192.0.2.1", 'F')); /* kinds apart */
    CHECK(http__limit_address_key(l, NULL, 'A') == http__limit_address_key(l, NULL, 'A'));
    /* another process (another random hash key) keys the same address otherwise */
    http__limiter_t *other = http__limiter_new(1, 1, 1, 16);
    CHECK(other != NULL && key_of(l, "192.0.2.1", 'A') != key_of(other, "192.0.2.1", 'A'));
    http__limiter_free(other);
    http__limiter_free(l);
}

/* 10/s, a bucket of 3: a token every 100 ms, never more than 3. */
static void test_tokens(void)
{
    http__limiter_t *l = http__limiter_new(10, 1, 3, 16);
    CHECK(l != NULL);
    uint64_t k = 42;
    for (int i = 0; i < 3; i++)
        CHECK_MSG(http__limit_take(l, k, 1000), "token %d of a new bucket", i + 1);
    CHECK(!http__limit_take(l, k, 1000));
    CHECK(!http__limit_take(l, k, 1090)); /* 0.9 of a token: a refusal takes nothing... */
    CHECK(http__limit_take(l, k, 1101));  /* ... so 1.01 by now */
    CHECK(!http__limit_take(l, k, 1101));
    /* a long quiet spell fills the bucket, no more */
    for (int i = 0; i < 3; i++)
        CHECK(http__limit_take(l, k, 1000000));
    CHECK(!http__limit_take(l, k, 1000000));
    /* a clock that goes back takes nothing and gives nothing */
    CHECK(!http__limit_take(l, k, 500));
    CHECK(http__limit_take(l, 43, 500)); /* another key: its own bucket */
    CHECK_INT(http__limiter_used(l), 2);
    http__limiter_free(l);

    /* N/m and N/h: 60/m is one a second, 3600/h likewise */
    static const unsigned windows[] = {60, 3600};
    for (size_t i = 0; i < 2; i++) {
        l = http__limiter_new(windows[i], windows[i], 1, 16);
        CHECK(l != NULL && http__limit_take(l, 7, 0));
        CHECK(!http__limit_take(l, 7, 999));
        CHECK(http__limit_take(l, 7, 1001));
        http__limiter_free(l);
    }
}

/* 16 buckets, 1/h, burst 1: each key's first request passes, its second is refused while the
 * key is remembered; 20000 keys later the table still holds 16, exactly the 16 last seen. */
static void test_replacement(void)
{
    enum { TABLE = 16, KEYS = 20000 };
    http__limiter_t *l = http__limiter_new(1, 3600, 1, TABLE);
    CHECK(l != NULL);
    int fresh = 0;
    for (uint64_t k = 1; k <= KEYS; k++)
        fresh += http__limit_take(l, k * 0x9e3779b97f4a7c15ULL, 0);
    CHECK_INT(fresh, KEYS);
    CHECK_INT(http__limiter_used(l), TABLE);
    /* the last 16 are remembered (spent), oldest first so none pushes another out */
    int refused = 0;
    for (uint64_t k = KEYS - TABLE + 1; k <= KEYS; k++)
        refused += !http__limit_take(l, k * 0x9e3779b97f4a7c15ULL, 0);
    CHECK_INT(refused, TABLE);
    /* the one before them was forgotten: a full bucket again */
    CHECK(http__limit_take(l, (uint64_t)(KEYS - TABLE) * 0x9e3779b97f4a7c15ULL, 0));
    /* keys that share hash slots (equal low bits) replace each other just as well */
    for (uint64_t k = 1; k <= 1000; k++)
        CHECK(http__limit_take(l, k << 40, 0));
    refused = 0;
    for (uint64_t k = 1000 - TABLE + 1; k <= 1000; k++)
        refused += !http__limit_take(l, k << 40, 0);
    CHECK_INT(refused, TABLE);
    CHECK_INT(http__limiter_used(l), TABLE);
    http__limiter_free(l);
}

int main(void)
{
    test_address_keys();
    test_tokens();
    test_replacement();
    return check_done("test_ratelimit");
}
