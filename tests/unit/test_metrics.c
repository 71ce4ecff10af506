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
    tsr_metric_observe(tsr_metrics_histogram("c_seconds", "C.", "x=\"1\""), 0.5);
    tsr_metric_set(tsr_metrics_gauge("b", "B.", NULL), 6); /* the same series again */
    tsr_metric_observe(tsr_metrics_histogram("c_seconds", "C.", "x=\"2\""), 0.5);
    tsr_metric_add(tsr_metrics_counter("a_total", "A.", "x=\"3\""), 3);
    char *text = tsr_metrics_render();
    /* Exactly what a scraper gets: each family once, its HELP then TYPE then all its samples. */
    const char *expected_a = "# HELP a_total A.\n# TYPE a_total counter\n"
                             "a_total{x=\"1\"} 1\na_total{x=\"2\"} 2\na_total{x=\"3\"} 3\n"
                             "# HELP b B.\n# TYPE b gauge\nb 6\n"
                             "# HELP c_seconds C.\n# TYPE c_seconds histogram\n";
    assert_memory_equal(text, expected_a, strlen(expected_a));
    assert_int_equal(count_of(text, "# HELP "), 3);
    assert_int_equal(count_of(text, "# TYPE "), 3);
    /* Every c_seconds sample follows its TYPE line: none of x="2" precedes one of x="1". */
    assert_true(strstr(text, "c_seconds_count{x=\"1\"} 1\n") < strstr(text, "c_seconds_bucket{x=\"2\""));
    assert_non_null(strstr(text, "c_seconds_count{x=\"2\"} 1\n"));
    free(text);
}

static void test_constant_labels_go_on_every_sample(void **state)
{
    (void)state;
    tsr_metrics_reset();
    tsr_metrics_set_constant_labels("daemon=\"records\"");
    tsr_metric_add(tsr_metrics_counter("c_total", "C.", "type=\"x\""), 3);
    tsr_metric_add(tsr_metrics_counter("d_total", "D.", NULL), 1);
    tsr_metric_observe(tsr_metrics_histogram("e_seconds", "E.", "type=\"x\""), 0.003);
    char *text = tsr_metrics_render();
    assert_non_null(strstr(text, "c_total{daemon=\"records\",type=\"x\"} 3\n"));
    assert_non_null(strstr(text, "d_total{daemon=\"records\"} 1\n"));
    assert_non_null(strstr(text, "e_seconds_bucket{daemon=\"records\",type=\"x\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(text, "e_seconds_bucket{daemon=\"records\",type=\"x\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "e_seconds_sum{daemon=\"records\",type=\"x\"} 0.003"));
    assert_non_null(strstr(text, "e_seconds_count{daemon=\"records\",type=\"x\"} 1\n"));
    /* No sample goes without the daemon label. */
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '#')
            continue;
        const char *labels = line + strcspn(line, "{ ");
        if (strncmp(labels, "{daemon=\"records\"", 17) != 0)
            fail_msg("a sample without the constant label: %.*s", (int)strcspn(line, "\n"), line);
    }
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
    assert_non_null(strstr(text, "h_seconds_sum 20.202"));
    assert_int_equal((int)tsr_metric_value(h), 3);
    /* Each bucket counts at least what the one below it does. */
    unsigned long previous = 0;
    int buckets = 0;
    for (const char *p = strstr(text, "h_seconds_bucket{"); p; p = strstr(p + 1, "h_seconds_bucket{")) {
        unsigned long n = strtoul(strchr(p, ' ') + 1, NULL, 10);
        assert_true(n >= previous);
        previous = n;
        buckets++;
    }
    assert_int_equal(buckets, 13);
    assert_int_equal(previous, 3);
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

static void *create_and_add(void *arg)
{
    (void)arg;
    /* Each thread asks for the metric by name, as request handlers do, then adds to it. */
    for (int i = 0; i < 20000; i++) {
        tsr_metric_add(tsr_metrics_counter("shared_total", "S.", "type=\"x\""), 1);
        tsr_metric_observe(tsr_metrics_histogram("shared_seconds", "S.", NULL), 0.01);
    }
    return NULL;
}

static void test_threads_creating_the_same_metric_share_one_series(void **state)
{
    (void)state;
    tsr_metrics_reset();
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, create_and_add, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *text = tsr_metrics_render();
    assert_int_equal(count_of(text, "shared_total{"), 1);
    assert_non_null(strstr(text, "shared_total{type=\"x\"} 80000\n"));
    assert_non_null(strstr(text, "shared_seconds_count 80000\n"));
    assert_non_null(strstr(text, "shared_seconds_bucket{le=\"0.01\"} 80000\n"));
    free(text);
    tsr_metrics_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_help_and_type_per_family_even_when_interleaved),
        cmocka_unit_test(test_constant_labels_go_on_every_sample),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_concurrent_adds_are_exact),
        cmocka_unit_test(test_threads_creating_the_same_metric_share_one_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
