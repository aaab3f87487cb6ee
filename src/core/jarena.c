/* jansson's allocator: request-body trees bumped into slots of one reserved region (a slot per
 * scope, reused once its last block is freed), everything else on the heap. A 422 body's tree
 * cost ~70 malloc/free pairs; in a slot it costs a bump per block and a count down per free. */
#include "odmd/jarena.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
#define JARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_ASAN 1
#endif
#endif
#ifdef JARENA_ASAN
#include <sanitizer/asan_interface.h>
#define JARENA_GAP 16 /* poisoned bytes after each block: overruns are caught as on the heap */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define JARENA_GAP 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16
/* A slot's count while its scope is open: above any number of blocks a slot can hold, so frees
 * during the scope never bring it to zero; the end takes back what its blocks do not owe. */
#define OPEN_BIAS (1u << 30)

static struct {
    char *base; /* ODM_JARENA_SLOTS * ODM_JARENA_SLOT_SIZE bytes; NULL: not reserved */
    atomic_uint refs[ODM_JARENA_SLOTS];
    pthread_mutex_t lock; /* guards free_slots and n_free */
    unsigned free_slots[ODM_JARENA_SLOTS];
    unsigned n_free;
} region = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local odm_jarena_t *current;

static void slot_release(unsigned slot)
{
    POISON(region.base + (size_t)slot * ODM_JARENA_SLOT_SIZE, ODM_JARENA_SLOT_SIZE);
    pthread_mutex_lock(&region.lock);
    region.free_slots[region.n_free++] = slot;
    pthread_mutex_unlock(&region.lock);
}

/* Counts n blocks of slot down; the last frees the slot. */
static void slot_drop(unsigned slot, unsigned n)
{
    if (atomic_fetch_sub_explicit(&region.refs[slot], n, memory_order_acq_rel) == n)
        slot_release(slot);
}

static void *jarena_malloc(size_t n)
{
    odm_jarena_t *a = current;
    if (a != NULL && a->slot >= 0) {
        size_t need = (n + ALIGN - 1) / ALIGN * ALIGN + JARENA_GAP;
        if (n > 0 && need <= ODM_JARENA_SLOT_SIZE - a->used) {
            char *p = region.base + (size_t)a->slot * ODM_JARENA_SLOT_SIZE + a->used;
            a->used += need;
            a->blocks++;
            UNPOISON(p, n);
            return p;
        }
    }
    return malloc(n);
}

static void jarena_free(void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)region.base;
    if (region.base != NULL && off < (uintptr_t)ODM_JARENA_SLOTS * ODM_JARENA_SLOT_SIZE) {
        slot_drop((unsigned)(off / ODM_JARENA_SLOT_SIZE), 1);
        return;
    }
    free(p);
}

bool odm_jarena_install(void)
{
    size_t size = (size_t)ODM_JARENA_SLOTS * ODM_JARENA_SLOT_SIZE;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return false;
    POISON(base, size);
    pthread_mutex_lock(&region.lock);
    for (unsigned i = 0; i < ODM_JARENA_SLOTS; i++)
        region.free_slots[i] = ODM_JARENA_SLOTS - 1 - i; /* slot 0 first: the region's start */
    region.n_free = ODM_JARENA_SLOTS;
    region.base = base;
    pthread_mutex_unlock(&region.lock);
    json_set_alloc_funcs(jarena_malloc, jarena_free);
    return true;
}

void odm_jarena_begin(odm_jarena_t *a)
{
    *a = (odm_jarena_t){.slot = -1};
    if (current != NULL || region.base == NULL)
        return;
    pthread_mutex_lock(&region.lock);
    if (region.n_free > 0)
        a->slot = (int)region.free_slots[--region.n_free];
    pthread_mutex_unlock(&region.lock);
    if (a->slot >= 0)
        atomic_store_explicit(&region.refs[a->slot], OPEN_BIAS, memory_order_relaxed);
    current = a;
}

void odm_jarena_end(odm_jarena_t *a)
{
    if (current == a)
        current = NULL;
    if (a->slot < 0)
        return;
    slot_drop((unsigned)a->slot, OPEN_BIAS - (unsigned)a->blocks);
    a->slot = -1;
}

bool odm_jarena_owns(const void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)region.base;
    return region.base != NULL && off < (uintptr_t)ODM_JARENA_SLOTS * ODM_JARENA_SLOT_SIZE;
}

unsigned odm_jarena_slots_used(void)
{
    pthread_mutex_lock(&region.lock);
    unsigned used = region.base != NULL ? ODM_JARENA_SLOTS - region.n_free : 0;
    pthread_mutex_unlock(&region.lock);
    return used;
}
