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
    void (*expire)(struct odm_job *job); /* instead of run, once start_by passed (the reaper or
                                            a worker); may be NULL only when start_by_ms is 0 */
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

#define ODM_WORK_MAX_THREADS 1024

/* Starts `threads` workers (1..ODM_WORK_MAX_THREADS) and the reaper. queue_max (at least 1)
 * bounds queued (not running) jobs. Returns: a new pool (free with odm_work_pool_free), or NULL
 * with ODM_ERR_INTERNAL on a bad size or when a thread cannot start. */
odm_work_pool_t *odm_work_pool_new(size_t threads, size_t queue_max, odm_error_t *err);

/* Queues a job (borrowed until run() or expire() is called). Returns false (job untouched, not
 * queued) when the queue is full or the pool is stopping: the caller answers 503.
 * Side effects: on success job->fanout is cleared (a plain job joins no fan-out); a worker that
 * takes a job whose start_by has already passed calls expire() instead of run(). */
bool odm_work_submit(odm_work_pool_t *pool, odm_job_t *job);

/* Starts n sub-jobs joined by f: sets f->pending = n and f->done = done, queues each job (one
 * that cannot be queued runs at once on the calling thread), and returns without waiting. When
 * the last finishes (run or expired), done(f) runs. f and the jobs are borrowed until done(f) is
 * called; done(f) may free them (the pool touches neither afterwards, nor `jobs` once the last
 * sub-job is handed over). n == 0 calls done(f) at once on the calling thread. */
void odm_work_fanout(odm_work_pool_t *pool, odm_fanout_t *f, odm_job_t **jobs, size_t n,
                     void (*done)(odm_fanout_t *f));

/* How many queued jobs odm_work_take_matching looks at, at most, per call. */
#define ODM_WORK_TAKE_SCAN 256

/* Takes out of the queue, in queue order, up to `max` queued jobs for which match(job, key) is
 * true, looking at no more than ODM_WORK_TAKE_SCAN of them. Jobs joined to a fan-out and jobs
 * whose start_by has passed are never taken (a worker or the reaper expires those). Never waits:
 * only jobs already queued are taken. `match` runs under the pool's lock: it must be quick, read
 * nothing but the job and `key`, and call nothing of the pool. It is asked only about jobs it may
 * take, and every job it accepts is taken, so it may count what it accepted in `key`.
 * Returns: how many jobs were put in out[0..max). Side effects: the caller owns the taken jobs
 * from then on: the pool neither runs, expires nor touches them again (the caller does their
 * work, and may call their run() itself). Any thread, a job's run() included. */
size_t odm_work_take_matching(odm_work_pool_t *pool,
                              bool (*match)(const odm_job_t *job, const void *key), const void *key,
                              odm_job_t **out, size_t max);

/* Jobs queued now (for metrics and tests). */
size_t odm_work_queued(odm_work_pool_t *pool);

/* What the pool has done so far, for metrics. */
typedef struct {
    size_t threads;
    size_t queued; /* jobs waiting now */
    size_t queue_max;
    uint64_t jobs;    /* jobs a worker has taken (run or expired, or taken with another's
                         through odm_work_take_matching) */
    uint64_t busy_us; /* workers' time in jobs, summed over the workers */
} odm_work_stats_t;

/* Fills out (takes the queue's lock for a moment). Any thread. */
void odm_work_stats(odm_work_pool_t *pool, odm_work_stats_t *out);

/* The calling thread's worker index in its pool, 0..threads-1, for per-thread state (a pooled
 * client, regex match data); SIZE_MAX on any other thread (the reaper, a submitter, main). */
size_t odm_work_thread_index(void);

/* Sets every worker's scheduling policy: SCHED_BATCH when batch (Linux), else the default
 * SCHED_OTHER. A batch worker woken while every core is busy waits for the running thread's turn
 * to end instead of preempting it, so that the polling thread which submits the jobs is not
 * switched out for each one: less CPU per request (fewer context switches), more latency when
 * the cores are busy (bench/README.md, "The hop"). Returns: false with ODM_ERR_INTERNAL when the
 * system refuses it (the workers that were set keep the policy). Any thread. */
bool odm_work_pool_set_batch(odm_work_pool_t *pool, bool batch, odm_error_t *err);

/* Stops accepting, lets the workers finish every queued job (jobs past their start_by expire
 * instead), joins the workers and the reaper, frees. NULL does nothing. Must not be called from
 * a job. Threads inherit the creating thread's signal mask; the pool never changes it. */
void odm_work_pool_free(odm_work_pool_t *pool);

#endif
