/* Unit tests for src/work: run-once, queue cap, reaper deadlines, fan-out/fan-in, drain, stress. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "odmd/clock.h"
#include "odmd/work.h"

/* A job that counts its calls and remembers where and when it ran. */
struct counted {
    odm_job_t job;
    atomic_int runs, expires;
    atomic_llong at_ms;       /* when run() or expire() was called */
    atomic_size_t thread_idx; /* odm_work_thread_index() inside the call */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void counted_run(odm_job_t *job)
{
    struct counted *c = (struct counted *)job;
    atomic_store(&c->thread_idx, odm_work_thread_index());
    atomic_store(&c->at_ms, odm_now_ms());
    atomic_fetch_add(&c->runs, 1);
}

static void counted_expire(odm_job_t *job)
{
    struct counted *c = (struct counted *)job;
    atomic_store(&c->thread_idx, odm_work_thread_index());
    atomic_store(&c->at_ms, odm_now_ms());
    atomic_fetch_add(&c->expires, 1);
}

static void counted_init(struct counted *c, int64_t start_by_ms)
{
    memset(c, 0, sizeof *c);
    c->job.run = counted_run;
    c->job.expire = counted_expire;
    c->job.start_by_ms = start_by_ms;
    atomic_init(&c->thread_idx, (size_t)12345);
}

/* A job that holds its worker until released (or 5 s pass, so a failing test cannot hang). */
static atomic_bool blocker_release;
static atomic_int blocker_started;

static void blocker_run(odm_job_t *job)
{
    (void)job;
    atomic_fetch_add(&blocker_started, 1);
    int64_t give_up = odm_now_ms() + 5000;
    while (!atomic_load(&blocker_release) && odm_now_ms() < give_up)
        sleep_ms(1);
}

static odm_job_t blocker = {.run = blocker_run};

/* Submits the blocker and waits until a worker holds it. */
static void block_one_worker(odm_work_pool_t *pool)
{
    atomic_store(&blocker_release, false);
    atomic_store(&blocker_started, 0);
    CHECK(odm_work_submit(pool, &blocker));
    for (int i = 0; i < 2000 && atomic_load(&blocker_started) == 0; i++)
        sleep_ms(1);
    CHECK_INT(atomic_load(&blocker_started), 1);
}

/* Polls cond for up to ms milliseconds. */
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        for (int wait_i_ = 0; wait_i_ < (ms) && !(cond); wait_i_++)                                \
            sleep_ms(1);                                                                           \
    } while (0)

static void test_bad_sizes(void)
{
    odm_error_t err;
    odm_error_clear(&err);
    CHECK(odm_work_pool_new(0, 10, &err) == NULL);
    CHECK_INT(err.kind, ODM_ERR_INTERNAL);
    CHECK(odm_work_pool_new(2, 0, NULL) == NULL);
    CHECK(odm_work_pool_new(ODM_WORK_MAX_THREADS + 1, 10, NULL) == NULL);
    odm_work_pool_free(NULL);
}

static void test_run_once(void)
{
    enum { N = 500 };
    static struct counted jobs[N];
    odm_work_pool_t *pool = odm_work_pool_new(4, N, NULL);
    CHECK(pool != NULL);
    for (int i = 0; i < N; i++) {
        counted_init(&jobs[i], 0);
        CHECK(odm_work_submit(pool, &jobs[i].job));
    }
    odm_work_pool_free(pool);
    int once = 0;
    for (int i = 0; i < N; i++) {
        once += atomic_load(&jobs[i].runs) == 1 && atomic_load(&jobs[i].expires) == 0;
        CHECK_MSG(atomic_load(&jobs[i].thread_idx) < 4, "job %d ran on thread %zu", i,
                  atomic_load(&jobs[i].thread_idx));
    }
    CHECK_INT(once, N);
    CHECK(odm_work_thread_index() == SIZE_MAX);
}

static void test_queue_full(void)
{
    struct counted jobs[4];
    odm_work_pool_t *pool = odm_work_pool_new(1, 3, NULL);
    block_one_worker(pool);
    for (int i = 0; i < 3; i++) {
        counted_init(&jobs[i], 0);
        CHECK(odm_work_submit(pool, &jobs[i].job));
    }
    CHECK_INT(odm_work_queued(pool), 3);
    counted_init(&jobs[3], 0);
    odm_fanout_t marker;
    jobs[3].job.fanout = &marker;
    jobs[3].job.next = jobs[3].job.prev = &jobs[0].job;
    CHECK(!odm_work_submit(pool, &jobs[3].job));
    CHECK(jobs[3].job.fanout == &marker); /* untouched */
    CHECK(jobs[3].job.next == &jobs[0].job && jobs[3].job.prev == &jobs[0].job);
    CHECK_INT(odm_work_queued(pool), 3);
    atomic_store(&blocker_release, true);
    WAIT_FOR(odm_work_queued(pool) == 0, 2000);
    CHECK_INT(odm_work_queued(pool), 0);
    counted_init(&jobs[3], 0);
    CHECK(odm_work_submit(pool, &jobs[3].job)); /* room again */
    odm_work_pool_free(pool);
    for (int i = 0; i < 4; i++)
        CHECK_INT(atomic_load(&jobs[i].runs), 1);
    CHECK_INT(atomic_load(&jobs[3].expires), 0);
}

/* odm_work_stats: the queue's depth and cap, the jobs taken and the time the workers spent in
 * them (the blocker's 50 ms at least). */
static void test_stats(void)
{
    struct counted jobs[3];
    odm_work_pool_t *pool = odm_work_pool_new(2, 8, NULL);
    odm_work_stats_t s;
    odm_work_stats(pool, &s);
    CHECK(s.threads == 2 && s.queue_max == 8 && s.queued == 0 && s.jobs == 0 && s.busy_us == 0);
    block_one_worker(pool);
    block_one_worker(pool);
    for (int i = 0; i < 3; i++) {
        counted_init(&jobs[i], 0);
        CHECK(odm_work_submit(pool, &jobs[i].job));
    }
    odm_work_stats(pool, &s);
    CHECK_INT(s.queued, 3);
    CHECK_INT(s.jobs, 2); /* counted when taken */
    sleep_ms(50);
    atomic_store(&blocker_release, true);
    WAIT_FOR(odm_work_queued(pool) == 0, 2000);
    odm_work_pool_free(pool); /* joins the workers: their counts are final */
    CHECK_INT(atomic_load(&jobs[2].runs), 1);
}

/* The same, read after the jobs finished (the pool still running). */
static void test_stats_busy(void)
{
    odm_work_pool_t *pool = odm_work_pool_new(1, 8, NULL);
    block_one_worker(pool);
    sleep_ms(50);
    atomic_store(&blocker_release, true);
    struct counted after;
    counted_init(&after, 0);
    CHECK(odm_work_submit(pool, &after.job));
    /* one worker: the blocker's time was added before it took the next job */
    WAIT_FOR(atomic_load(&after.runs) == 1, 2000);
    odm_work_stats_t s;
    odm_work_stats(pool, &s);
    CHECK_INT(s.jobs, 2);
    CHECK_MSG(s.busy_us >= 50000, "busy %llu us", (unsigned long long)s.busy_us);
    odm_work_pool_free(pool);
}

/* One worker held for 500 ms; a job queued behind it with start_by now+50ms is expired by the
 * reaper well before the worker is free, and never run. */
static void test_reaper_expires_stuck_job(void)
{
    struct counted late, patient;
    odm_work_pool_t *pool = odm_work_pool_new(1, 8, NULL);
    block_one_worker(pool);
    int64_t queued_at = odm_now_ms();
    counted_init(&late, queued_at + 50);
    counted_init(&patient, 0);
    CHECK(odm_work_submit(pool, &patient.job));
    CHECK(odm_work_submit(pool, &late.job));
    WAIT_FOR(atomic_load(&late.expires) > 0, 500);
    int64_t expired_at = atomic_load(&late.at_ms);
    CHECK_INT(atomic_load(&late.expires), 1);
    CHECK_MSG(expired_at >= queued_at + 50, "expired %lld ms early",
              (long long)(queued_at + 50 - expired_at));
    CHECK_MSG(expired_at - queued_at <= 200, "expired after %lld ms",
              (long long)(expired_at - queued_at));
    CHECK(atomic_load(&late.thread_idx) == SIZE_MAX);   /* the reaper, not a worker */
    CHECK_INT(odm_work_queued(pool), 1);                /* the patient job stays queued */
    int64_t held_left = queued_at + 500 - odm_now_ms(); /* hold the worker 500 ms in all */
    if (held_left > 0)
        sleep_ms((int)held_left);
    atomic_store(&blocker_release, true);
    odm_work_pool_free(pool);
    CHECK_INT(atomic_load(&late.runs), 0);
    CHECK_INT(atomic_load(&late.expires), 1);
    CHECK_INT(atomic_load(&patient.runs), 1);
    CHECK_INT(atomic_load(&patient.expires), 0);
}

/* Several deadlines queued in reverse order: each expires close to its own deadline (a later
 * submit with an earlier deadline wakes the reaper). */
static void test_reaper_earliest_deadline(void)
{
    enum { N = 5 };
    struct counted jobs[N];
    odm_work_pool_t *pool = odm_work_pool_new(1, 8, NULL);
    block_one_worker(pool);
    int64_t now = odm_now_ms();
    for (int i = 0; i < N; i++) {
        counted_init(&jobs[i], now + 30 * (N - i));
        CHECK(odm_work_submit(pool, &jobs[i].job));
    }
    WAIT_FOR(odm_work_queued(pool) == 0, 1000);
    for (int i = 0; i < N; i++) {
        int64_t late_by = atomic_load(&jobs[i].at_ms) - jobs[i].job.start_by_ms;
        CHECK_INT(atomic_load(&jobs[i].expires), 1);
        CHECK_MSG(late_by >= 0 && late_by <= 60, "job %d expired %lld ms after its deadline", i,
                  (long long)late_by);
    }
    atomic_store(&blocker_release, true);
    odm_work_pool_free(pool);
    for (int i = 0; i < N; i++)
        CHECK_INT(atomic_load(&jobs[i].runs), 0);
}

/* A fan-out whose done() checks that every sub-job had finished, exactly once each. */
struct join {
    odm_fanout_t fanout;
    struct counted *subs;
    size_t n;
    atomic_int done_calls;
    atomic_int finished_at_done; /* sub-jobs finished when done() ran */
    atomic_size_t done_thread;
};

static void join_done(odm_fanout_t *f)
{
    struct join *j = (struct join *)f;
    int finished = 0;
    for (size_t i = 0; i < j->n; i++)
        finished += atomic_load(&j->subs[i].runs) + atomic_load(&j->subs[i].expires);
    atomic_store(&j->finished_at_done, finished);
    atomic_store(&j->done_thread, odm_work_thread_index());
    atomic_fetch_add(&j->done_calls, 1);
}

static void join_start(odm_work_pool_t *pool, struct join *j, struct counted *subs, size_t n,
                       int64_t start_by_ms)
{
    odm_job_t *ptrs[64];
    memset(j, 0, sizeof *j);
    j->subs = subs;
    j->n = n;
    for (size_t i = 0; i < n; i++) {
        counted_init(&subs[i], start_by_ms);
        ptrs[i] = &subs[i].job;
    }
    odm_work_fanout(pool, &j->fanout, ptrs, n, join_done);
}

static void check_join(struct join *j, int want_runs, int want_expires)
{
    int runs = 0, expires = 0;
    for (size_t i = 0; i < j->n; i++) {
        runs += atomic_load(&j->subs[i].runs);
        expires += atomic_load(&j->subs[i].expires);
    }
    int done_calls = atomic_load(&j->done_calls), finished = atomic_load(&j->finished_at_done);
    size_t pending = atomic_load(&j->fanout.pending);
    CHECK_INT(done_calls, 1);
    CHECK_INT(finished, j->n);
    CHECK_INT(runs, want_runs);
    CHECK_INT(expires, want_expires);
    CHECK_INT(pending, 0);
}

/* odm_work_take_matching: jobs of the kind asked for, in queue order, up to the bound; never a
 * job of a fan-out or one past its start_by; the taken ones are never run nor expired by the
 * pool, the others are. */
struct tagged {
    struct counted c;
    int tag;
};

static bool tag_matches(const odm_job_t *job, const void *key)
{
    return ((const struct tagged *)(const void *)job)->tag == *(const int *)key;
}

static atomic_int take_fan_done;

static void take_fan_joined(odm_fanout_t *f)
{
    (void)f;
    atomic_fetch_add(&take_fan_done, 1);
}

static void test_take_matching(void)
{
    enum { N = 6 };
    static const int tags[N] = {1, 2, 1, 1, 1, 1};
    struct tagged jobs[N], fan_job;
    odm_work_pool_t *pool = odm_work_pool_new(1, 16, NULL);
    block_one_worker(pool);
    for (int i = 0; i < N; i++) {
        counted_init(&jobs[i].c, i == 2 ? odm_now_ms() - 1 : 0); /* 2: past its start_by */
        jobs[i].tag = tags[i];
        CHECK(odm_work_submit(pool, &jobs[i].c.job));
    }
    counted_init(&fan_job.c, 0);
    fan_job.tag = 1;
    odm_fanout_t fan;
    odm_job_t *fan_jobs[] = {&fan_job.c.job};
    atomic_store(&take_fan_done, 0);
    odm_work_fanout(pool, &fan, fan_jobs, 1, take_fan_joined);

    int one = 1, three = 3;
    odm_job_t *out[N + 1];
    CHECK_INT(odm_work_take_matching(pool, tag_matches, &three, out, N), 0);
    CHECK_INT(odm_work_take_matching(pool, tag_matches, &one, out, 2), 2);
    CHECK(out[0] == &jobs[0].c.job && out[1] == &jobs[3].c.job);
    CHECK_INT(odm_work_take_matching(pool, tag_matches, &one, out, N), 2);
    CHECK(out[0] == &jobs[4].c.job && out[1] == &jobs[5].c.job);
    CHECK_INT(odm_work_take_matching(pool, tag_matches, &one, out, N), 0);
    odm_work_stats_t stats;
    odm_work_stats(pool, &stats);
    CHECK_INT(stats.jobs, 1 + 4); /* the blocker, and the four taken */

    atomic_store(&blocker_release, true);
    odm_work_pool_free(pool);
    static const int runs[N] = {0, 1, 0, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        CHECK_MSG(atomic_load(&jobs[i].c.runs) == runs[i], "job %d ran %d times", i,
                  atomic_load(&jobs[i].c.runs));
        CHECK_MSG(atomic_load(&jobs[i].c.expires) == (i == 2), "job %d expired %d times", i,
                  atomic_load(&jobs[i].c.expires));
    }
    CHECK_INT(atomic_load(&fan_job.c.runs), 1);
    CHECK_INT(atomic_load(&take_fan_done), 1);
}

static void test_fanout(size_t n)
{
    struct counted subs[64];
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(4, 64, NULL);
    for (int round = 0; round < 50; round++) {
        join_start(pool, &j, subs, n, 0);
        WAIT_FOR(atomic_load(&j.done_calls) > 0, 2000);
        sleep_ms(round == 0 ? 20 : 0); /* a second done() would show up here */
        check_join(&j, (int)n, 0);
        CHECK(atomic_load(&j.done_thread) < 4); /* the last worker carried on */
    }
    odm_work_pool_free(pool);
}

static void test_fanout_zero(void)
{
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(1, 4, NULL);
    join_start(pool, &j, NULL, 0, 0);
    CHECK_INT(atomic_load(&j.done_calls), 1); /* at once, on the caller */
    CHECK(atomic_load(&j.done_thread) == SIZE_MAX);
    odm_work_pool_free(pool);
}

/* Sub-jobs stuck behind a blocked worker expire; done() still runs once, after all of them. */
static void test_fanout_with_expiry(size_t n)
{
    struct counted subs[64];
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(1, 64, NULL);
    block_one_worker(pool);
    join_start(pool, &j, subs, n, odm_now_ms() + 30);
    WAIT_FOR(atomic_load(&j.done_calls) > 0, 1000);
    check_join(&j, 0, (int)n);
    CHECK(atomic_load(&j.done_thread) == SIZE_MAX); /* the reaper carried on */
    atomic_store(&blocker_release, true);
    odm_work_pool_free(pool);
    CHECK_INT(atomic_load(&j.done_calls), 1);
}

/* Half the sub-jobs have a deadline and expire behind the blocked worker, the others run after. */
static void test_fanout_mixed(size_t n)
{
    struct counted subs[64];
    odm_job_t *ptrs[64];
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(1, 64, NULL);
    block_one_worker(pool);
    memset(&j, 0, sizeof j);
    j.subs = subs;
    j.n = n;
    for (size_t i = 0; i < n; i++) {
        counted_init(&subs[i], i % 2 ? odm_now_ms() + 30 : 0);
        ptrs[i] = &subs[i].job;
    }
    odm_work_fanout(pool, &j.fanout, ptrs, n, join_done);
    WAIT_FOR(odm_work_queued(pool) == n / 2, 1000);
    CHECK_INT(atomic_load(&j.done_calls), 0); /* the patient half is still queued */
    atomic_store(&blocker_release, true);
    WAIT_FOR(atomic_load(&j.done_calls) > 0, 2000);
    check_join(&j, (int)(n / 2), (int)(n / 2));
    for (size_t i = 0; i < n; i++)
        CHECK_INT(atomic_load(&subs[i].expires), i % 2);
    odm_work_pool_free(pool);
}

/* A full queue: sub-jobs that do not fit run on the calling thread, which never waits. */
static void test_fanout_queue_full(size_t n)
{
    struct counted subs[64];
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(1, 1, NULL);
    block_one_worker(pool);
    int64_t before = odm_now_ms();
    join_start(pool, &j, subs, n, 0);
    CHECK(odm_now_ms() - before < 100); /* did not wait for the blocked worker */
    size_t inline_runs = 0;
    for (size_t i = 0; i < n; i++)
        inline_runs +=
            atomic_load(&subs[i].runs) == 1 && atomic_load(&subs[i].thread_idx) == SIZE_MAX;
    CHECK_INT(inline_runs, n - 1);            /* all but the one that fit */
    CHECK_INT(atomic_load(&j.done_calls), 0); /* the queued one is pending */
    atomic_store(&blocker_release, true);
    WAIT_FOR(atomic_load(&j.done_calls) > 0, 2000);
    check_join(&j, (int)n, 0);
    CHECK(atomic_load(&j.done_thread) == 0); /* the worker finished last */
    odm_work_pool_free(pool);
}

/* Every sub-job inline (queue full already): done() runs before odm_work_fanout returns. */
static void test_fanout_all_inline(size_t n)
{
    struct counted subs[64], filler;
    struct join j;
    odm_work_pool_t *pool = odm_work_pool_new(1, 1, NULL);
    block_one_worker(pool);
    counted_init(&filler, 0);
    CHECK(odm_work_submit(pool, &filler.job));
    join_start(pool, &j, subs, n, 0);
    check_join(&j, (int)n, 0);
    CHECK(atomic_load(&j.done_thread) == SIZE_MAX);
    atomic_store(&blocker_release, true);
    odm_work_pool_free(pool);
    CHECK_INT(atomic_load(&filler.runs), 1);
}

/* A done() that frees the fan-out and its sub-jobs: the pool must not touch them afterwards
 * (ASan reports it if it does). */
struct owned {
    odm_fanout_t fanout;
    odm_job_t subs[16];
    atomic_int *done_calls;
};

static void owned_run(odm_job_t *job)
{
    (void)job;
}

static void owned_done(odm_fanout_t *f)
{
    struct owned *o = (struct owned *)f;
    atomic_fetch_add(o->done_calls, 1);
    free(o);
}

static void test_fanout_done_frees(void)
{
    atomic_int done_calls = 0;
    odm_work_pool_t *pool = odm_work_pool_new(4, 8, NULL);
    for (int round = 0; round < 200; round++) {
        struct owned *o = calloc(1, sizeof *o);
        odm_job_t **ptrs = calloc(16, sizeof *ptrs);
        o->done_calls = &done_calls;
        for (int i = 0; i < 16; i++) {
            o->subs[i].run = owned_run;
            ptrs[i] = &o->subs[i];
        }
        odm_work_fanout(pool, &o->fanout, ptrs, 16, owned_done);
        free(ptrs);
    }
    odm_work_pool_free(pool);
    CHECK_INT(atomic_load(&done_calls), 200);
}

/* Free drains: queued jobs still run, jobs past their deadline expire. */
static odm_work_pool_t *drain_pool;
static atomic_int late_submit_refused;

static void slow_then_submit(odm_job_t *job)
{
    static struct counted extra; /* outlives the job, should the submit wrongly succeed */
    sleep_ms(100);
    counted_init(&extra, 0);
    if (!odm_work_submit(drain_pool, &extra.job))
        atomic_fetch_add(&late_submit_refused, 1);
    (void)job;
}

static void test_free_drains(void)
{
    enum { N = 50 };
    struct counted jobs[N], late;
    odm_job_t first = {.run = slow_then_submit};
    drain_pool = odm_work_pool_new(1, N + 2, NULL);
    CHECK(odm_work_submit(drain_pool, &first));
    for (int i = 0; i < N; i++) {
        counted_init(&jobs[i], 0);
        CHECK(odm_work_submit(drain_pool, &jobs[i].job));
    }
    counted_init(&late, odm_now_ms() + 20);
    CHECK(odm_work_submit(drain_pool, &late.job));
    odm_work_pool_free(drain_pool); /* the first job is still sleeping */
    CHECK_INT(atomic_load(&late_submit_refused), 1);
    int ran = 0;
    for (int i = 0; i < N; i++)
        ran += atomic_load(&jobs[i].runs);
    CHECK_INT(ran, N);
    CHECK_INT(atomic_load(&late.expires), 1);
    CHECK_INT(atomic_load(&late.runs), 0);
}

/* Stress: 8 threads submit 100k jobs in all (retrying when the queue is full); each runs once. */
enum { STRESS_THREADS = 8, STRESS_JOBS = 100000 };
static struct counted *stress_jobs;
static odm_work_pool_t *stress_pool;
static atomic_int stress_full;

static void *stress_submitter(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg;
    for (size_t i = t; i < STRESS_JOBS; i += STRESS_THREADS) {
        while (!odm_work_submit(stress_pool, &stress_jobs[i].job)) {
            atomic_fetch_add(&stress_full, 1);
            sched_yield();
        }
    }
    return NULL;
}

static void test_stress(void)
{
    stress_jobs = calloc(STRESS_JOBS, sizeof *stress_jobs);
    for (size_t i = 0; i < STRESS_JOBS; i++)
        counted_init(&stress_jobs[i], 0);
    stress_pool = odm_work_pool_new(4, 256, NULL);
    pthread_t threads[STRESS_THREADS];
    for (size_t t = 0; t < STRESS_THREADS; t++)
        pthread_create(&threads[t], NULL, stress_submitter, (void *)(uintptr_t)t);
    for (size_t t = 0; t < STRESS_THREADS; t++)
        pthread_join(threads[t], NULL);
    odm_work_pool_free(stress_pool);
    size_t once = 0;
    for (size_t i = 0; i < STRESS_JOBS; i++)
        once += atomic_load(&stress_jobs[i].runs) == 1 && atomic_load(&stress_jobs[i].expires) == 0;
    CHECK_INT(once, STRESS_JOBS);
    free(stress_jobs);
}

/* ---- the hand-off: a submit wakes a sleeping worker only when more jobs wait than workers
 * look for one, and one worker at a time spins for the next job. No job may be left in the
 * queue while workers sleep: each check below waits for the jobs to run with the pool still
 * up (odm_work_pool_free would run them anyway) and without deadlines (no reaper rescue). */

static bool all_ran(struct counted *jobs, size_t n, int ms)
{
    int64_t until = odm_now_ms() + ms;
    for (;;) {
        size_t ran = 0;
        for (size_t i = 0; i < n; i++)
            ran += atomic_load(&jobs[i].runs);
        if (ran == n)
            return true;
        if (odm_now_ms() > until)
            return false;
        sched_yield();
    }
}

/* Holds its worker until hold_release is set (or 5 s pass). */
static atomic_bool hold_release;
static atomic_int hold_started, hold_done;

static void hold_run(odm_job_t *job)
{
    (void)job;
    atomic_fetch_add(&hold_started, 1);
    int64_t give_up = odm_now_ms() + 5000;
    while (!atomic_load(&hold_release) && odm_now_ms() < give_up)
        sleep_ms(1);
    atomic_fetch_add(&hold_done, 1);
}

/* Single jobs and small bursts, with pauses from none to longer than the spin, so that the
 * submits meet a spinning worker, workers going to sleep, and sleeping ones. */
static void test_handoff_no_job_left(void)
{
    enum { ROUNDS = 3000, BURST = 6 };
    odm_work_pool_t *pool = odm_work_pool_new(4, 64, NULL);
    struct counted jobs[BURST];
    int late = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = 1 + (size_t)(r % BURST);
        for (size_t i = 0; i < n; i++) {
            counted_init(&jobs[i], 0);
            CHECK(odm_work_submit(pool, &jobs[i].job));
        }
        late += !all_ran(jobs, n, 2000);
        struct timespec pause = {0, (r % 7) * 10000L}; /* 0 to 60 us */
        nanosleep(&pause, NULL);
    }
    CHECK_INT(late, 0);
    odm_work_pool_free(pool);
}

/* Every worker busy, so a burst wakes nobody; the workers take it as their jobs end. Then, all
 * asleep, one more job must still wake one. */
static void test_handoff_all_busy(void)
{
    enum { WORKERS = 4, BURST = 16 };
    odm_work_pool_t *pool = odm_work_pool_new(WORKERS, 64, NULL);
    for (int round = 0; round < 20; round++) {
        odm_job_t holds[WORKERS];
        struct counted burst[BURST], single;
        atomic_store(&hold_release, false);
        atomic_store(&hold_started, 0);
        atomic_store(&hold_done, 0);
        for (int i = 0; i < WORKERS; i++) {
            holds[i] = (odm_job_t){.run = hold_run};
            CHECK(odm_work_submit(pool, &holds[i]));
        }
        WAIT_FOR(atomic_load(&hold_started) == WORKERS, 2000);
        CHECK_INT(atomic_load(&hold_started), WORKERS);
        for (int i = 0; i < BURST; i++) {
            counted_init(&burst[i], 0);
            CHECK(odm_work_submit(pool, &burst[i].job));
        }
        atomic_store(&hold_release, true);
        CHECK(all_ran(burst, BURST, 2000));
        WAIT_FOR(atomic_load(&hold_done) == WORKERS, 2000);
        sleep_ms(round % 3); /* some rounds let every worker fall asleep */
        counted_init(&single, 0);
        CHECK(odm_work_submit(pool, &single.job));
        CHECK(all_ran(&single, 1, 2000));
    }
    odm_work_pool_free(pool);
}

/* Freeing a pool right after submits, while a worker may be spinning or waking: every job runs
 * exactly once and the free returns. */
static void test_handoff_free_races(void)
{
    enum { ROUNDS = 300, N = 12 };
    int wrong = 0;
    for (int r = 0; r < ROUNDS; r++) {
        odm_work_pool_t *pool = odm_work_pool_new(1 + (size_t)(r % 4), N, NULL);
        struct counted jobs[N];
        size_t n = (size_t)(r % (N + 1));
        for (size_t i = 0; i < n; i++) {
            counted_init(&jobs[i], 0);
            CHECK(odm_work_submit(pool, &jobs[i].job));
        }
        odm_work_pool_free(pool);
        for (size_t i = 0; i < n; i++)
            wrong += atomic_load(&jobs[i].runs) != 1;
    }
    CHECK_INT(wrong, 0);
}

/* odm_work_pool_set_batch: the policy a job sees on its worker. */
static atomic_int policy_seen;

static void policy_run(odm_job_t *job)
{
    (void)job;
    int policy;
    struct sched_param param;
    pthread_getschedparam(pthread_self(), &policy, &param);
    atomic_store(&policy_seen, policy);
}

static int policy_of_a_worker(odm_work_pool_t *pool)
{
    odm_job_t job = {.run = policy_run};
    atomic_store(&policy_seen, -1);
    CHECK(odm_work_submit(pool, &job));
    WAIT_FOR(atomic_load(&policy_seen) != -1, 2000);
    return atomic_load(&policy_seen);
}

static void test_set_batch(void)
{
    odm_error_t err;
    odm_work_pool_t *pool = odm_work_pool_new(1, 4, NULL);
    CHECK_INT(policy_of_a_worker(pool), SCHED_OTHER);
    CHECK(odm_work_pool_set_batch(pool, true, &err));
    CHECK_INT(policy_of_a_worker(pool), SCHED_BATCH);
    CHECK(odm_work_pool_set_batch(pool, false, &err));
    CHECK_INT(policy_of_a_worker(pool), SCHED_OTHER);
    odm_work_pool_free(pool);
}

int main(void)
{
    test_bad_sizes();
    test_run_once();
    test_queue_full();
    test_take_matching();
    test_reaper_expires_stuck_job();
    test_reaper_earliest_deadline();
    test_fanout(2);
    test_fanout(16);
    test_fanout_zero();
    test_fanout_with_expiry(2);
    test_fanout_with_expiry(16);
    test_fanout_mixed(2);
    test_fanout_mixed(16);
    test_fanout_queue_full(2);
    test_fanout_queue_full(16);
    test_fanout_all_inline(2);
    test_fanout_all_inline(16);
    test_fanout_done_frees();
    test_free_drains();
    test_stress();
    test_stats();
    test_stats_busy();
    test_handoff_no_job_left();
    test_handoff_all_busy();
    test_handoff_free_races();
    test_set_batch();
    return check_done("test_work");
}
