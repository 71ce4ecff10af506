/* tsr_metrics: Prometheus text that a scraper accepts, exact under concurrent updates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_metrics.h"

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_one_help_and_type_per_family_even_when_interleaved(void **state)
{
    (void)state;
    tsr_metrics_reset();
    tsr_metric_add(tsr_metrics_counter("a_total", "A.", "x=\"1\""), 1);
    tsr_metric_set(tsr_metrics_gauge("b", "B.", NULL), 5);
    tsr_metric_add(tsr_metrics_counter("a_total", "A.", "x=\"2\""), 2);
    char *text = tsr_metrics_render();
    assert_int_equal(count_of(text, "# TYPE a_total counter"), 1);
    assert_int_equal(count_of(text, "# TYPE b gauge"), 1);
    /* Both samples of a_total come right after its TYPE line, before b's. */
    char *type_a = strstr(text, "# TYPE a_total"), *type_b = strstr(text, "# TYPE b ");
    assert_true(strstr(text, "a_total{x=\"2\"} 2") < type_b || type_b < type_a);
    assert_non_null(strstr(text, "a_total{x=\"1\"} 1\n"));
    assert_non_null(strstr(text, "b 5\n"));
    free(text);
}

static void test_constant_labels_go_on_every_sample(void **state)
{
    (void)state;
    tsr_metrics_reset();
    tsr_metrics_set_constant_labels("daemon=\"records\"");
    tsr_metric_add(tsr_metrics_counter("c_total", "C.", "type=\"x\""), 3);
    tsr_metric_add(tsr_metrics_counter("d_total", "D.", NULL), 1);
    char *text = tsr_metrics_render();
    assert_non_null(strstr(text, "c_total{daemon=\"records\",type=\"x\"} 3\n"));
    assert_non_null(strstr(text, "d_total{daemon=\"records\"} 1\n"));
    free(text);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    tsr_metrics_reset();
    tsr_metric_t *h = tsr_metrics_histogram("h_seconds", "H.", NULL);
    tsr_metric_observe(h, 0.002);
    tsr_metric_observe(h, 0.2);
    tsr_metric_observe(h, 20);
    char *text = tsr_metrics_render();
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"0.001\"} 0\n"));
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"0.25\"} 2\n"));
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"10\"} 2\n"));
    assert_non_null(strstr(text, "h_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "h_seconds_count 3\n"));
    assert_int_equal((int)tsr_metric_value(h), 3);
    free(text);
}

static void *add_many(void *arg)
{
    for (int i = 0; i < 100000; i++)
        tsr_metric_add(arg, 1);
    return NULL;
}

static void test_concurrent_adds_are_exact(void **state)
{
    (void)state;
    tsr_metrics_reset();
    tsr_metric_t *m = tsr_metrics_counter("race_total", "R.", NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, add_many, m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal((long)tsr_metric_value(m), 400000);
    tsr_metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_help_and_type_per_family_even_when_interleaved),
        cmocka_unit_test(test_constant_labels_go_on_every_sample),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_concurrent_adds_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
