/* Bump allocation for the jansson tree of a request body: jansson's allocation functions,
 * installed process-wide, place what is allocated inside a scope (odm_jarena_begin .. end, on
 * the calling thread) in one slot of a reserved region, and everything else on the heap.
 * Freeing dispatches on the address, from any thread: a block of a slot only counts the slot
 * down, and the slot is reused once its last block is freed, so a value that outlives its
 * request (kept by a job, a cache) stays valid and keeps only its slot. */
#ifndef ODMD_JARENA_H
#define ODMD_JARENA_H

#include <stdbool.h>
#include <stddef.h>

#define ODM_JARENA_SLOT_SIZE (32u * 1024u) /* bytes of one scope; past them, the heap */
#define ODM_JARENA_SLOTS 2048u /* scopes whose blocks are alive at once (64 MiB reserved) */

/* One scope (the caller's, on its stack): what odm_jarena_begin took. */
typedef struct {
    int slot;      /* -1: none (the region or every slot is taken): the heap serves */
    size_t used;   /* bytes of the slot handed out */
    size_t blocks; /* blocks handed out */
} odm_jarena_t;

/* Reserves the region and installs the functions in jansson (json_set_alloc_funcs). Once,
 * before other threads use jansson; values allocated before stay on the heap and are freed
 * there. Returns: false when the region cannot be reserved (the heap then serves all). */
bool odm_jarena_install(void);

/* Starts a scope on this thread: until odm_jarena_end, jansson's allocations on this thread
 * are taken from a free slot (the heap when there is none, the block is too large, or the
 * slot is full). Scopes do not nest: a second begin on the thread gets no slot. Text jansson
 * hands out inside a scope (json_dumps) is in the slot too: keep json_dumps out of scopes, or
 * release its text through jansson's free function (json_get_alloc_funcs), never free(). */
void odm_jarena_begin(odm_jarena_t *a);

/* Ends the scope. The slot returns to use when its last block is freed (now, if none is
 * alive). */
void odm_jarena_end(odm_jarena_t *a);

/* For tests and metrics: true when p lies in a slot; the slots not free (their scope open, or
 * blocks of theirs alive). */
bool odm_jarena_owns(const void *p);
unsigned odm_jarena_slots_used(void);

#endif
