/* The worker pool: a bounded job queue, N threads, a reaper for jobs queued past their
 * deadline, and fan-out/fan-in where the last sub-job to finish carries on (no thread waits). */
#ifndef ODMD_WORK_H
#define ODMD_WORK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "odmd/error.h"

typedef struct odm_work_pool odm_work_pool_t;
typedef struct odm_fanout odm_fanout_t;

/* A job is embedded in its owner's memory (no allocation per job). Exactly one of run() and
 * expire() is called, once; after it returns the pool never touches the job again. */
typedef struct odm_job {
    void (*run)(struct odm_job *job);    /* on a worker thread */
    void (*expire)(struct odm_job *job); /* by the reaper instead of run, once start_by passed */
    int64_t start_by_ms;                 /* odm_now_ms() clock; 0: no deadline */
    odm_fanout_t *fanout;                /* set by odm_work_fanout; the pool arrives for it */
    struct odm_job *prev, *next;         /* queue links: the pool's */
} odm_job_t;

/* A join point: `pending` counts sub-jobs not yet finished; the one that brings it to zero
 * calls done() on its own thread (a worker, the reaper, or the submitter). */
struct odm_fanout {
    atomic_size_t pending;
    void (*done)(odm_fanout_t *f);
};

/* Starts `threads` workers and the reaper. queue_max bounds queued (not running) jobs.
 * Returns: a new pool, or NULL with ODM_ERR_INTERNAL. */
odm_work_pool_t *odm_work_pool_new(size_t threads, size_t queue_max, odm_error_t *err);

/* Queues a job. Returns false (job untouched, not queued) when the queue is full or the pool is
 * stopping: the caller answers 503. */
bool odm_work_submit(odm_work_pool_t *pool, odm_job_t *job);

/* Starts n sub-jobs joined by f: sets f->pending = n and f->done = done, queues each job (one
 * that cannot be queued runs at once on the calling thread), and returns without waiting. When
 * the last finishes (run or expired), done(f) runs. */
void odm_work_fanout(odm_work_pool_t *pool, odm_fanout_t *f, odm_job_t **jobs, size_t n,
                     void (*done)(odm_fanout_t *f));

/* Jobs queued now (for metrics and tests). */
size_t odm_work_queued(odm_work_pool_t *pool);

/* Stops accepting, lets the workers finish every queued job, joins the threads, frees. */
void odm_work_pool_free(odm_work_pool_t *pool);

#endif
