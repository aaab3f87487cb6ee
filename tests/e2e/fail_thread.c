/* A test double for one fault odmd cannot be made to hit from outside: preloaded into odmd
 * (LD_PRELOAD), it makes pthread_create fail with EAGAIN, as it does when a process is out of
 * threads, for the one start routine at E2E_FAIL_THREAD_AT (hexadecimal offset in the odmd
 * executable, from nm). Every other thread starts as usual. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* The load address of the executable: the first object dl_iterate_phdr reports. */
static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(uintptr_t *)data = (uintptr_t)info->dlpi_addr;
    return 1;
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    static create_fn real;
    if (real == NULL)
        real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    const char *at = getenv("E2E_FAIL_THREAD_AT");
    if (at != NULL && *at != '\0') {
        uintptr_t base = 0;
        dl_iterate_phdr(first_object, &base);
        if ((uintptr_t)start == base + (uintptr_t)strtoull(at, NULL, 16))
            return EAGAIN;
    }
    return real(thread, attr, start, arg);
}
