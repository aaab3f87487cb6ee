/* Unit tests for src/core/jarena.c: jansson trees built in a scope live in one slot, are freed
 * back to it from any thread, and a value that escapes its tree keeps its slot until freed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "odmd/jarena.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static const char body[] = "{\"email\":\"not-an-email\",\"name\":{\"first\":\"Ada\",\"last\":"
                           "\"Lovelace\"},\"age\":12,\"tags\":[\"a\",\"b\"],\"balance\":1.5}";

static json_t *parse_in_scope(const char *text)
{
    odm_jarena_t a;
    odm_jarena_begin(&a);
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    odm_jarena_end(&a);
    return v;
}

static void test_tree_in_one_slot(void)
{
    json_t *v = parse_in_scope(body);
    CHECK(v != NULL);
    CHECK(odm_jarena_owns(v));
    CHECK(odm_jarena_owns(json_object_get(v, "email")));
    CHECK(odm_jarena_owns(json_string_value(json_object_get(v, "email"))));
    CHECK(odm_jarena_owns(json_object_get(json_object_get(v, "name"), "last")));
    CHECK_INT(odm_jarena_slots_used(), 1); /* the scope ended, its blocks are alive */
    /* changed outside the scope: the new parts are the heap's, freed there */
    json_t *heap = json_string("outside");
    CHECK(!odm_jarena_owns(heap));
    CHECK(json_object_set_new(v, "note", heap) == 0);
    for (int i = 0; i < 40; i++) { /* grows the object's table: the old one was the slot's */
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(v, key, json_integer(i));
    }
    char *text = json_dumps(v, JSON_COMPACT); /* outside a scope: the heap's, free() frees it */
    CHECK(text != NULL && !odm_jarena_owns(text));
    free(text);
    json_t *holder = json_object(); /* a heap object holding a value of the slot */
    json_object_set(holder, "name", json_object_get(v, "name"));
    json_decref(v);
    CHECK_INT(odm_jarena_slots_used(), 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(holder, "name"), "first")), "Ada");
    json_decref(holder);
    CHECK_INT(odm_jarena_slots_used(), 0);
}

/* A value kept past its tree keeps its slot: the next scope takes another, and the value reads
 * the same after that scope filled its own slot. Once freed, the slot is reused. */
static void test_escape_keeps_slot(void)
{
    json_t *v = parse_in_scope(body);
    json_t *kept = json_incref(json_object_get(v, "name"));
    const char *last = json_string_value(json_object_get(kept, "last"));
    json_decref(v);
    CHECK_INT(odm_jarena_slots_used(), 1);
    json_t *w =
        parse_in_scope("[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",{\"last\":\"zzzzzzzz\"}]");
    CHECK_INT(odm_jarena_slots_used(), 2);
    CHECK_STR(last, "Lovelace");
    CHECK_STR(json_string_value(json_object_get(kept, "last")), "Lovelace");
    json_decref(w);
    CHECK_INT(odm_jarena_slots_used(), 1);
#ifdef TEST_ASAN
    CHECK(!__asan_address_is_poisoned(last));
#endif
    json_decref(kept);
    CHECK_INT(odm_jarena_slots_used(), 0);
#ifdef TEST_ASAN
    CHECK(__asan_address_is_poisoned(last)); /* a read now is reported as a use after free */
#endif
}

/* A tree larger than a slot: the rest on the heap, everything freed. */
static void test_overflow_to_heap(void)
{
    odm_jarena_t a;
    odm_jarena_begin(&a);
    json_t *arr = json_array();
    for (int i = 0; i < 4000; i++)
        json_array_append_new(arr, json_sprintf("item %d", i));
    odm_jarena_end(&a);
    CHECK(odm_jarena_owns(arr));
    CHECK(!odm_jarena_owns(json_array_get(arr, 3999)));
    CHECK_STR(json_string_value(json_array_get(arr, 3999)), "item 3999");
    CHECK_INT(odm_jarena_slots_used(), 1);
    json_decref(arr);
    CHECK_INT(odm_jarena_slots_used(), 0);
}

static void *decref_thread(void *v)
{
    json_decref(v);
    return NULL;
}

static void test_free_on_another_thread(void)
{
    json_t *v = parse_in_scope(body);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, decref_thread, v) == 0);
    pthread_join(t, NULL);
    CHECK_INT(odm_jarena_slots_used(), 0);
}

/* Every slot held: a scope gets none and the heap serves; scopes do not nest. */
static void test_no_slot(void)
{
    static json_t *held[ODM_JARENA_SLOTS];
    for (unsigned i = 0; i < ODM_JARENA_SLOTS; i++)
        held[i] = parse_in_scope("{\"a\":1}");
    CHECK_INT(odm_jarena_slots_used(), ODM_JARENA_SLOTS);
    json_t *v = parse_in_scope(body);
    CHECK(v != NULL && !odm_jarena_owns(v));
    json_decref(v);
    for (unsigned i = 0; i < ODM_JARENA_SLOTS; i++)
        json_decref(held[i]);
    CHECK_INT(odm_jarena_slots_used(), 0);

    odm_jarena_t outer, inner;
    odm_jarena_begin(&outer);
    odm_jarena_begin(&inner);
    CHECK(outer.slot >= 0 && inner.slot < 0);
    odm_jarena_end(&inner);
    json_t *still = json_string("outer's"); /* the outer scope goes on */
    odm_jarena_end(&outer);
    CHECK(odm_jarena_owns(still));
    json_decref(still);
    CHECK_INT(odm_jarena_slots_used(), 0);
}

int main(void)
{
    json_t *before = json_string("made before the install"); /* the heap's, freed there */
    CHECK(odm_jarena_install());
    CHECK(!odm_jarena_owns(before));
    json_decref(before);
    test_tree_in_one_slot();
    test_escape_keeps_slot();
    test_overflow_to_heap();
    test_free_on_another_thread();
    test_no_slot();
    return check_done("jarena");
}
