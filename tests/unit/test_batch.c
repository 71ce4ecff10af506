/* tsr_batch: group commit. The first item flushes at once and alone; what arrives during a flush
 * goes in the next one, all together (and, gathering, what arrives until its time while more are on
 * their way); each item hears its own flush's outcome exactly once, never
 * before its flush has ended; a failure reaches every item of that flush and no other. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tsr_batch.h"

#define ITEMS 64

/* The flushes started (their items, in order) and the outcome each item was told. */
typedef struct {
    tsr_batch_t *batch;
    int flushes;
    int flush_sizes[ITEMS];
    int flushed_items[ITEMS][ITEMS];
    int told[ITEMS];    /* how many times each item's done ran */
    int outcome[ITEMS]; /* rc done gave it */
    char code[ITEMS][64];
    void *const *arrays[ITEMS]; /* each flush's items array, to report its end with */
    int finished;               /* flushes reported ended, in the order they started */
    int fail_at_once;           /* flush reports a failure before it returns (a submit that failed) */
    int add_from_done;          /* done for item 0 adds item add_from_done */
} fixture_t;

static int items[ITEMS];

static void on_flush(tsr_batch_t *batch, void *const *flushing, size_t n, void *arg)
{
    fixture_t *f = arg;
    f->flush_sizes[f->flushes] = (int)n;
    f->arrays[f->flushes] = flushing;
    for (size_t i = 0; i < n; i++)
        f->flushed_items[f->flushes][i] = *(int *)flushing[i];
    f->flushes++;
    if (f->fail_at_once) {
        tsr_error_t err;
        tsr_error_set(&err, TSR_E_UNAVAILABLE, "shutting_down", NULL, "Stopping.");
        f->finished++;
        tsr_batch_flushed(batch, flushing, -1, &err);
    }
}

static void on_done(void *item, int rc, const tsr_error_t *err, void *arg)
{
    fixture_t *f = arg;
    int i = *(int *)item;
    f->told[i]++;
    f->outcome[i] = rc;
    snprintf(f->code[i], sizeof(f->code[i]), "%s", err ? err->code : "");
    if (i == 0 && f->add_from_done > 0)
        assert_int_equal(tsr_batch_add(f->batch, &items[f->add_from_done]), 0);
}

/* Reports the end of the oldest flush still running (one runs at a time unless a test says so). */
static void finish(fixture_t *f, int rc, const tsr_error_t *err)
{
    assert_true(f->finished < f->flushes);
    tsr_batch_flushed(f->batch, f->arrays[f->finished++], rc, err);
}

static void fixture_init(fixture_t *f, size_t max_items)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < ITEMS; i++)
        items[i] = i;
    f->batch = tsr_batch_new(max_items, 1, on_flush, on_done, f);
    assert_non_null(f->batch);
}

static void test_the_first_item_flushes_at_once_and_alone(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 16);
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0);
    assert_int_equal(f.flushes, 1);
    assert_int_equal(f.flush_sizes[0], 1);
    /* Not told before its flush has ended. */
    assert_int_equal(f.told[0], 0);
    assert_int_equal(tsr_batch_pending(f.batch), 1);
    finish(&f, 0, NULL);
    assert_int_equal(f.told[0], 1);
    assert_int_equal(f.outcome[0], 0);
    assert_int_equal(tsr_batch_pending(f.batch), 0);
    assert_int_equal(f.flushes, 1);
    tsr_batch_destroy(&f.batch);
    assert_null(f.batch);
}

static void test_items_arriving_during_a_flush_go_together_in_the_next(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 16);
    tsr_batch_add(f.batch, &items[0]);
    for (int i = 1; i <= 7; i++)
        assert_int_equal(tsr_batch_add(f.batch, &items[i]), 0);
    /* Still one flush: the seven wait. */
    assert_int_equal(f.flushes, 1);
    assert_int_equal(tsr_batch_pending(f.batch), 8);
    for (int i = 1; i <= 7; i++)
        assert_int_equal(f.told[i], 0);
    finish(&f, 0, NULL);
    assert_int_equal(f.told[0], 1);
    assert_int_equal(f.flushes, 2);
    assert_int_equal(f.flush_sizes[1], 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(f.flushed_items[1][i], i + 1); /* in arrival order */
    for (int i = 1; i <= 7; i++)
        assert_int_equal(f.told[i], 0);
    finish(&f, 0, NULL);
    for (int i = 0; i <= 7; i++)
        assert_int_equal(f.told[i], 1);
    assert_int_equal(tsr_batch_flushes(f.batch), 2);
    tsr_batch_destroy(&f.batch);
}

static void test_a_failed_flush_fails_each_of_its_items_and_no_other(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 16);
    tsr_batch_add(f.batch, &items[0]);
    tsr_batch_add(f.batch, &items[1]);
    tsr_batch_add(f.batch, &items[2]);
    finish(&f, 0, NULL);               /* item 0 */
    tsr_batch_add(f.batch, &items[3]); /* waits behind the flush of 1 and 2 */
    tsr_error_t err;
    tsr_error_set(&err, TSR_E_INTERNAL, "database_error", NULL, "The database refused the statement.");
    finish(&f, -1, &err);
    assert_int_equal(f.outcome[1], -1);
    assert_int_equal(f.outcome[2], -1);
    assert_string_equal(f.code[1], "database_error");
    assert_string_equal(f.code[2], "database_error");
    assert_int_equal(f.told[3], 0);
    assert_int_equal(f.flushes, 3);
    finish(&f, 0, NULL);
    assert_int_equal(f.outcome[3], 0);
    assert_string_equal(f.code[3], "");
    for (int i = 0; i < 4; i++)
        assert_int_equal(f.told[i], 1);
    tsr_batch_destroy(&f.batch);
}

static void test_a_flush_takes_at_most_max_items(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 4);
    tsr_batch_add(f.batch, &items[0]);
    for (int i = 1; i <= 10; i++)
        tsr_batch_add(f.batch, &items[i]);
    finish(&f, 0, NULL);
    finish(&f, 0, NULL);
    finish(&f, 0, NULL);
    finish(&f, 0, NULL);
    assert_int_equal(f.flushes, 4);
    assert_int_equal(f.flush_sizes[0], 1);
    assert_int_equal(f.flush_sizes[1], 4);
    assert_int_equal(f.flush_sizes[2], 4);
    assert_int_equal(f.flush_sizes[3], 2);
    for (int i = 0; i <= 10; i++)
        assert_int_equal(f.told[i], 1);
    assert_int_equal(tsr_batch_pending(f.batch), 0);
    tsr_batch_destroy(&f.batch);
}

static void test_a_flush_that_fails_before_returning_fails_its_items_and_goes_on(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 2);
    f.fail_at_once = 1;
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0);
    assert_int_equal(f.told[0], 1);
    assert_int_equal(f.outcome[0], -1);
    assert_string_equal(f.code[0], "shutting_down");
    assert_int_equal(tsr_batch_pending(f.batch), 0);
    assert_int_equal(tsr_batch_add(f.batch, &items[1]), 0);
    assert_int_equal(f.told[1], 1);
    assert_int_equal(f.flushes, 2);
    tsr_batch_destroy(&f.batch);
}

static void test_an_item_added_by_a_done_waits_for_the_next_flush(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 16);
    f.add_from_done = 5;
    tsr_batch_add(f.batch, &items[0]);
    tsr_batch_add(f.batch, &items[1]);
    finish(&f, 0, NULL); /* item 0's done adds item 5, after item 1 */
    assert_int_equal(f.flushes, 2);
    assert_int_equal(f.flush_sizes[1], 2);
    assert_int_equal(f.flushed_items[1][0], 1);
    assert_int_equal(f.flushed_items[1][1], 5);
    assert_int_equal(f.told[5], 0);
    finish(&f, 0, NULL);
    assert_int_equal(f.told[1], 1);
    assert_int_equal(f.told[5], 1);
    /* A report naming no running flush is ignored, not told twice. */
    tsr_batch_flushed(f.batch, f.arrays[1], 0, NULL);
    assert_int_equal(f.told[1], 1);
    tsr_batch_destroy(&f.batch);
}

static void test_with_two_flushes_at_once_the_second_starts_alone_and_the_rest_wait(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init(&f, 16);
    tsr_batch_destroy(&f.batch);
    f.batch = tsr_batch_new(16, 2, on_flush, on_done, &f);
    assert_non_null(f.batch);
    tsr_batch_add(f.batch, &items[0]);
    tsr_batch_add(f.batch, &items[1]); /* a second flush, at once */
    assert_int_equal(f.flushes, 2);
    assert_int_equal(f.flush_sizes[1], 1);
    for (int i = 2; i <= 5; i++)
        tsr_batch_add(f.batch, &items[i]);
    assert_int_equal(f.flushes, 2);
    assert_int_equal(tsr_batch_pending(f.batch), 6);
    /* The second ends first: its item is told, and the four waiting go together. */
    tsr_batch_flushed(f.batch, f.arrays[1], 0, NULL);
    assert_int_equal(f.told[1], 1);
    assert_int_equal(f.told[0], 0);
    assert_int_equal(f.flushes, 3);
    assert_int_equal(f.flush_sizes[2], 4);
    tsr_error_t err;
    tsr_error_set(&err, TSR_E_INTERNAL, "database_error", NULL, "Refused.");
    tsr_batch_flushed(f.batch, f.arrays[0], -1, &err);
    assert_int_equal(f.outcome[0], -1);
    for (int i = 2; i <= 5; i++)
        assert_int_equal(f.told[i], 0);
    tsr_batch_flushed(f.batch, f.arrays[2], 0, NULL);
    for (int i = 0; i <= 5; i++)
        assert_int_equal(f.told[i], 1);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(f.outcome[i], 0);
    assert_int_equal(tsr_batch_pending(f.batch), 0);
    tsr_batch_destroy(&f.batch);
}

/* Gathering: a clock the test moves, the number of items on their way, and the wakes asked for. */
static uint64_t gather_clock;
static size_t gather_on_way_count;
static int wakes;
static uint64_t last_wake_delay;
static uint64_t gather_now(void *arg)
{
    (void)arg;
    return gather_clock;
}
static size_t gather_on_way(void *arg)
{
    (void)arg;
    return gather_on_way_count;
}
static void gather_wake(uint64_t delay_ms, void *arg)
{
    (void)arg;
    wakes++;
    last_wake_delay = delay_ms;
}
static const tsr_batch_gather_t gather_hooks = {gather_now, gather_on_way, gather_wake};

/* Two flushes may run at once, so that only the gathering holds an item back. */
static void fixture_init_gathering(fixture_t *f, size_t max_items, uint64_t gather_ms)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < ITEMS; i++)
        items[i] = i;
    f->batch = tsr_batch_new(max_items, 2, on_flush, on_done, f);
    assert_non_null(f->batch);
    tsr_batch_set_gather(f->batch, gather_ms, &gather_hooks);
    gather_clock = 1000;
    gather_on_way_count = 0;
    wakes = 0;
    last_wake_delay = 0;
}

static void test_under_load_a_flush_gathers_what_comes_until_its_time(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init_gathering(&f, 16, 5);
    gather_on_way_count = 3;
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0); /* the first of a quiet time: at once */
    assert_int_equal(f.flushes, 1);
    finish(&f, 0, NULL);
    gather_clock = 1001;
    assert_int_equal(tsr_batch_add(f.batch, &items[1]), 0);
    assert_int_equal(f.flushes, 1); /* others are on their way: it waits for them */
    assert_int_equal(wakes, 1);
    assert_int_equal((int)last_wake_delay, 4);
    gather_clock = 1003;
    assert_int_equal(tsr_batch_add(f.batch, &items[2]), 0);
    assert_int_equal(f.flushes, 1);
    assert_int_equal(f.told[1], 0);
    gather_clock = 1005;
    tsr_batch_resume(f.batch); /* the wake: its time has come */
    assert_int_equal(f.flushes, 2);
    assert_int_equal(f.flush_sizes[1], 2);
    assert_int_equal(f.flushed_items[1][0], 1);
    assert_int_equal(f.flushed_items[1][1], 2);
    finish(&f, 0, NULL);
    assert_int_equal(f.told[1], 1);
    assert_int_equal(f.told[2], 1);
    tsr_batch_destroy(&f.batch);
}

static void test_an_item_with_nothing_on_its_way_behind_it_never_waits(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init_gathering(&f, 16, 5);
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0);
    finish(&f, 0, NULL);
    gather_clock = 1001; /* a lone caller's next read, a moment later */
    assert_int_equal(tsr_batch_add(f.batch, &items[1]), 0);
    assert_int_equal(f.flushes, 2);
    assert_int_equal(wakes, 0);
    finish(&f, 0, NULL);
    assert_int_equal(f.told[1], 1);
    tsr_batch_destroy(&f.batch);
}

static void test_the_last_on_its_way_starts_the_flush_at_once(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init_gathering(&f, 16, 5);
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0);
    gather_on_way_count = 1;
    gather_clock = 1001;
    assert_int_equal(tsr_batch_add(f.batch, &items[1]), 0);
    assert_int_equal(f.flushes, 1);
    gather_on_way_count = 0; /* the owner counts it arrived before adding it */
    assert_int_equal(tsr_batch_add(f.batch, &items[2]), 0);
    assert_int_equal(f.flushes, 2);
    assert_int_equal(f.flush_sizes[1], 2);
    tsr_batch_destroy(&f.batch);
}

static void test_a_full_flush_does_not_wait_for_its_time(void **state)
{
    (void)state;
    fixture_t f;
    fixture_init_gathering(&f, 3, 5);
    gather_on_way_count = 10;
    assert_int_equal(tsr_batch_add(f.batch, &items[0]), 0);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(tsr_batch_add(f.batch, &items[i]), 0);
    assert_int_equal(f.flushes, 2); /* three waited: as many as a flush takes */
    assert_int_equal(f.flush_sizes[1], 3);
    tsr_batch_destroy(&f.batch);
}

static void test_bad_arguments_give_no_batch(void **state)
{
    (void)state;
    assert_null(tsr_batch_new(0, 1, on_flush, on_done, NULL));
    assert_null(tsr_batch_new(4, 0, on_flush, on_done, NULL));
    assert_null(tsr_batch_new(4, 17, on_flush, on_done, NULL));
    assert_null(tsr_batch_new(4, 1, NULL, on_done, NULL));
    assert_null(tsr_batch_new(4, 1, on_flush, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_first_item_flushes_at_once_and_alone),
        cmocka_unit_test(test_items_arriving_during_a_flush_go_together_in_the_next),
        cmocka_unit_test(test_a_failed_flush_fails_each_of_its_items_and_no_other),
        cmocka_unit_test(test_a_flush_takes_at_most_max_items),
        cmocka_unit_test(test_a_flush_that_fails_before_returning_fails_its_items_and_goes_on),
        cmocka_unit_test(test_an_item_added_by_a_done_waits_for_the_next_flush),
        cmocka_unit_test(test_with_two_flushes_at_once_the_second_starts_alone_and_the_rest_wait),
        cmocka_unit_test(test_under_load_a_flush_gathers_what_comes_until_its_time),
        cmocka_unit_test(test_an_item_with_nothing_on_its_way_behind_it_never_waits),
        cmocka_unit_test(test_the_last_on_its_way_starts_the_flush_at_once),
        cmocka_unit_test(test_a_full_flush_does_not_wait_for_its_time),
        cmocka_unit_test(test_bad_arguments_give_no_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
