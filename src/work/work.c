/* The worker pool: N threads on one bounded intrusive job queue, a reaper that expires jobs
 * still queued past their start_by, and fan-in where the last sub-job to arrive calls done().
 *
 * Hand-off: a worker that finishes a job takes the next one before it may sleep; a submit wakes
 * a sleeping worker only when the queue holds more jobs than the workers already on their way
 * to it (between two jobs, or signalled and not yet running), so the submitter (the polling
 * thread, which every request passes through) makes no futex call for a job one of them will
 * take, while a burst still wakes one sleeper per job and jobs that block on the database run
 * side by side. Workers may run as SCHED_BATCH (odm_work_pool_set_batch); bench/README.md, "The
 * hop", has the figures. */
#include "odmd/work.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odmd/clock.h"

/* The reaper's longest sleep when no queued job has a deadline: a safety net only, since a
 * submit that brings the next deadline forward wakes it at once. */
#define REAPER_IDLE_MS 1000

/* Each on a cache line of its own: a worker's counters are written on every job. */
struct worker {
    _Alignas(64) odm_work_pool_t *pool;
    size_t index;
    pthread_t thread;
    atomic_ullong jobs;    /* this worker's only: relaxed, read by odm_work_stats */
    atomic_ullong busy_us; /* time in finish_job */
};

struct odm_work_pool {
    pthread_mutex_t lock;       /* guards the queue, the counts and the flags */
    pthread_cond_t job_ready;   /* workers: a job was queued, or stopping */
    pthread_cond_t reaper_wake; /* reaper: an earlier deadline was queued, or reaper_stop */
    odm_job_t *head, *tail;     /* FIFO, linked through job->prev/next */
    size_t queued, queue_max;
    /* Workers between the end of a job and taking the lock to look for the next: each of them
     * takes a queued job, if there is one, before it may sleep. */
    atomic_size_t looking;
    size_t idle;            /* workers waiting on job_ready */
    size_t wakes;           /* signals sent to job_ready that no waiter has returned from */
    bool stopping;          /* refuse submissions; workers exit once the queue is empty */
    bool reaper_stop;       /* set after the workers are joined */
    int64_t reaper_wake_ms; /* when the reaper's current sleep ends */
    size_t nworkers;
    size_t started; /* workers running (joined by stop_threads) */
    bool reaper_started;
    struct worker *workers;
    pthread_t reaper;
    uint64_t taken; /* jobs handed over by odm_work_take_matching, under the lock */
};

static _Thread_local size_t current_worker = SIZE_MAX;

size_t odm_work_thread_index(void)
{
    return current_worker;
}

static bool past_deadline(const odm_job_t *job, int64_t now)
{
    return job->start_by_ms != 0 && job->start_by_ms <= now;
}

/* Calls exactly one of run() and expire(), then arrives at the job's fan-out. The fan-out is
 * read first: once run() or expire() returns the job may be gone, while the fan-out lives until
 * its done() runs, which needs this arrival. */
static void finish_job(odm_job_t *job, bool expired)
{
    odm_fanout_t *f = job->fanout;
    if (expired)
        job->expire(job);
    else
        job->run(job);
    if (f != NULL && atomic_fetch_sub_explicit(&f->pending, 1, memory_order_acq_rel) == 1)
        f->done(f);
}

/* Queue links, under pool->lock. */
static void queue_append(odm_work_pool_t *pool, odm_job_t *job)
{
    job->next = NULL;
    job->prev = pool->tail;
    if (pool->tail != NULL)
        pool->tail->next = job;
    else
        pool->head = job;
    pool->tail = job;
    pool->queued++;
}

static void queue_unlink(odm_work_pool_t *pool, odm_job_t *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        pool->head = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    else
        pool->tail = job->prev;
    job->prev = job->next = NULL;
    pool->queued--;
}

/* Queues job unless the pool is stopping or full; wakes a worker when more jobs wait than
 * workers look for one (a worker that is looking takes the job under the lock before it may
 * sleep, so none is left behind), and the reaper when the job's deadline comes before the
 * reaper's next wake-up. */
static bool enqueue(odm_work_pool_t *pool, odm_job_t *job)
{
    pthread_mutex_lock(&pool->lock);
    if (pool->stopping || pool->queued >= pool->queue_max) {
        pthread_mutex_unlock(&pool->lock);
        return false;
    }
    queue_append(pool, job);
    bool wake_worker =
        pool->idle > pool->wakes && pool->queued > atomic_load(&pool->looking) + pool->wakes;
    if (wake_worker)
        pool->wakes++;
    bool wake_reaper = job->start_by_ms != 0 && job->start_by_ms < pool->reaper_wake_ms;
    pthread_mutex_unlock(&pool->lock);
    if (wake_worker)
        pthread_cond_signal(&pool->job_ready);
    if (wake_reaper)
        pthread_cond_signal(&pool->reaper_wake);
    return true;
}

bool odm_work_submit(odm_work_pool_t *pool, odm_job_t *job)
{
    odm_fanout_t *fanout = job->fanout;
    job->fanout = NULL;
    if (!enqueue(pool, job)) {
        job->fanout = fanout;
        return false;
    }
    return true;
}

void odm_work_fanout(odm_work_pool_t *pool, odm_fanout_t *f, odm_job_t **jobs, size_t n,
                     void (*done)(odm_fanout_t *f))
{
    f->done = done;
    atomic_store_explicit(&f->pending, n, memory_order_release);
    if (n == 0) {
        done(f);
        return;
    }
    /* Once the last sub-job is handed over, done(f) may already have run and freed f and jobs:
     * neither is touched after that. */
    for (size_t i = 0; i < n; i++) {
        odm_job_t *job = jobs[i];
        job->fanout = f;
        if (!enqueue(pool, job))
            finish_job(job, past_deadline(job, odm_now_ms()));
    }
}

size_t odm_work_take_matching(odm_work_pool_t *pool,
                              bool (*match)(const odm_job_t *job, const void *key), const void *key,
                              odm_job_t **out, size_t max)
{
    size_t taken = 0, seen = 0;
    int64_t now = odm_now_ms();
    pthread_mutex_lock(&pool->lock);
    odm_job_t *job = pool->head;
    while (job != NULL && taken < max && seen++ < ODM_WORK_TAKE_SCAN) {
        odm_job_t *next = job->next;
        if (job->fanout == NULL && !past_deadline(job, now) && match(job, key)) {
            queue_unlink(pool, job);
            out[taken++] = job;
        }
        job = next;
    }
    pool->taken += taken;
    pthread_mutex_unlock(&pool->lock);
    return taken;
}

size_t odm_work_queued(odm_work_pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    size_t n = pool->queued;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void odm_work_stats(odm_work_pool_t *pool, odm_work_stats_t *out)
{
    pthread_mutex_lock(&pool->lock);
    out->queued = pool->queued;
    out->queue_max = pool->queue_max;
    out->jobs = pool->taken;
    pthread_mutex_unlock(&pool->lock);
    out->threads = pool->nworkers;
    out->busy_us = 0;
    for (size_t i = 0; i < pool->nworkers; i++) {
        out->jobs += atomic_load_explicit(&pool->workers[i].jobs, memory_order_relaxed);
        out->busy_us += atomic_load_explicit(&pool->workers[i].busy_us, memory_order_relaxed);
    }
}

/* The next job for a worker counted in `looking`: taken at once, or after sleeping until a
 * submit or the stop wakes it. Returns: the job, out of the queue; NULL when the pool is
 * stopping and drained. */
static odm_job_t *take_job(odm_work_pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_sub(&pool->looking, 1); /* under the lock from here: it looks now */
    while (pool->head == NULL && !pool->stopping) {
        pool->idle++;
        pthread_cond_wait(&pool->job_ready, &pool->lock);
        pool->idle--;
        if (pool->wakes > 0) /* a spurious return may take another's: one more signal later */
            pool->wakes--;
    }
    odm_job_t *job = pool->head;
    if (job != NULL)
        queue_unlink(pool, job);
    pthread_mutex_unlock(&pool->lock);
    return job;
}

static void *worker_main(void *arg)
{
    struct worker *self = arg;
    odm_work_pool_t *pool = self->pool;
    current_worker = self->index;
    for (;;) {
        atomic_fetch_add(&pool->looking, 1);
        odm_job_t *job = take_job(pool);
        if (job == NULL)
            return NULL; /* stopping and drained */
        /* counted before it runs: the job may answer its request before it returns */
        atomic_fetch_add_explicit(&self->jobs, 1, memory_order_relaxed);
        int64_t started = odm_now_us();
        finish_job(job, past_deadline(job, started / 1000));
        atomic_fetch_add_explicit(&self->busy_us, (uint64_t)(odm_now_us() - started),
                                  memory_order_relaxed);
    }
}

/* Takes every queued job with start_by <= now out of the queue, in queue order, as a list
 * linked through next; *next_deadline becomes the earliest deadline left (if earlier). Under
 * pool->lock. */
static odm_job_t *take_expired(odm_work_pool_t *pool, int64_t now, int64_t *next_deadline)
{
    odm_job_t *expired = NULL, **tail = &expired;
    odm_job_t *job = pool->head;
    while (job != NULL) {
        odm_job_t *next = job->next;
        if (past_deadline(job, now)) {
            queue_unlink(pool, job);
            *tail = job;
            tail = &job->next;
        } else if (job->start_by_ms != 0 && job->start_by_ms < *next_deadline) {
            *next_deadline = job->start_by_ms;
        }
        job = next;
    }
    return expired;
}

static struct timespec monotonic_at(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    return ts;
}

/* Sleeps until the earliest queued deadline (woken early by a submit with an earlier one), takes
 * the jobs past it out of the queue under the lock and expires them outside it. */
static void *reaper_main(void *arg)
{
    odm_work_pool_t *pool = arg;
    pthread_mutex_lock(&pool->lock);
    while (!pool->reaper_stop) {
        int64_t now = odm_now_ms(), next = now + REAPER_IDLE_MS;
        odm_job_t *expired = take_expired(pool, now, &next);
        if (expired != NULL) {
            pool->reaper_wake_ms = INT64_MIN; /* busy: submits need not signal */
            pthread_mutex_unlock(&pool->lock);
            while (expired != NULL) {
                odm_job_t *job = expired;
                expired = job->next;
                job->next = NULL;
                finish_job(job, true);
            }
            pthread_mutex_lock(&pool->lock);
            continue; /* time has passed: look again before sleeping */
        }
        pool->reaper_wake_ms = next;
        struct timespec until = monotonic_at(next);
        pthread_cond_timedwait(&pool->reaper_wake, &pool->lock, &until);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Stops and joins whatever threads started: workers first (they drain the queue, while the
 * reaper still expires what waits too long), then the reaper. */
static void stop_threads(odm_work_pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_broadcast(&pool->job_ready);
    for (size_t i = 0; i < pool->started; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pool->started = 0;

    pthread_mutex_lock(&pool->lock);
    pool->reaper_stop = true;
    pthread_mutex_unlock(&pool->lock);
    pthread_cond_signal(&pool->reaper_wake);
    if (pool->reaper_started)
        pthread_join(pool->reaper, NULL);
    pool->reaper_started = false;
}

static bool init_sync(odm_work_pool_t *pool)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_mutex_init(&pool->lock, NULL) == 0;
    if (!ok)
        goto release_attr;
    if (pthread_cond_init(&pool->job_ready, &attr) != 0)
        goto fail_lock;
    if (pthread_cond_init(&pool->reaper_wake, &attr) != 0)
        goto fail_job_ready;
    goto release_attr;

fail_job_ready:
    pthread_cond_destroy(&pool->job_ready);
fail_lock:
    pthread_mutex_destroy(&pool->lock);
    ok = false;
release_attr:
    pthread_condattr_destroy(&attr);
    return ok;
}

static void release_sync(odm_work_pool_t *pool)
{
    pthread_cond_destroy(&pool->reaper_wake);
    pthread_cond_destroy(&pool->job_ready);
    pthread_mutex_destroy(&pool->lock);
}

static bool start_threads(odm_work_pool_t *pool, odm_error_t *err)
{
    int rc = pthread_create(&pool->reaper, NULL, reaper_main, pool);
    if (rc != 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "cannot start the reaper thread: %s",
                             strerror(rc));
    pool->reaper_started = true;
    for (size_t i = 0; i < pool->nworkers; i++) {
        struct worker *w = &pool->workers[i];
        w->pool = pool;
        w->index = i;
        rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0)
            return odm_error_set(err, ODM_ERR_INTERNAL, "cannot start worker thread %zu: %s", i,
                                 strerror(rc));
        pool->started++;
    }
    return true;
}

odm_work_pool_t *odm_work_pool_new(size_t threads, size_t queue_max, odm_error_t *err)
{
    if (threads < 1 || threads > ODM_WORK_MAX_THREADS || queue_max < 1) {
        odm_error_set(err, ODM_ERR_INTERNAL, "bad pool size: %zu threads, queue of %zu", threads,
                      queue_max);
        return NULL;
    }
    odm_work_pool_t *pool = calloc(1, sizeof *pool);
    struct worker *workers = aligned_alloc(_Alignof(struct worker), threads * sizeof *workers);
    if (workers != NULL)
        memset(workers, 0, threads * sizeof *workers);
    if (pool == NULL || workers == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory for a pool of %zu threads", threads);
        goto fail_alloc;
    }
    pool->workers = workers;
    pool->nworkers = threads;
    pool->queue_max = queue_max;
    pool->reaper_wake_ms = INT64_MIN;
    if (!init_sync(pool)) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot set up the pool's lock");
        goto fail_alloc;
    }
    if (!start_threads(pool, err))
        goto fail_threads;
    return pool;

fail_threads:
    stop_threads(pool);
    release_sync(pool);
fail_alloc:
    free(workers);
    free(pool);
    return NULL;
}

bool odm_work_pool_set_batch(odm_work_pool_t *pool, bool batch, odm_error_t *err)
{
#ifdef SCHED_BATCH
    struct sched_param param = {.sched_priority = 0};
    for (size_t i = 0; i < pool->started; i++) {
        int rc = pthread_setschedparam(pool->workers[i].thread, batch ? SCHED_BATCH : SCHED_OTHER,
                                       &param);
        if (rc != 0)
            return odm_error_set(err, ODM_ERR_INTERNAL, "cannot set worker %zu's policy: %s", i,
                                 strerror(rc));
    }
    return true;
#else
    return !batch || odm_error_set(err, ODM_ERR_INTERNAL, "SCHED_BATCH is not available here");
#endif
}

void odm_work_pool_free(odm_work_pool_t *pool)
{
    if (pool == NULL)
        return;
    stop_threads(pool);
    release_sync(pool);
    free(pool->workers);
    free(pool);
}
