/* tsr_metrics: a process-wide registry of counters, gauges and histograms, rendered in the
 * Prometheus text format. Safe to update from any thread. */
#ifndef TSR_METRICS_H
#define TSR_METRICS_H

#include <stddef.h>

typedef struct tsr_metric tsr_metric_t;

/* labels is NULL or a Prometheus label list without braces, e.g. "type=\"records.organisation.get\"".
 * Asking again for the same name and labels returns the same metric. */
tsr_metric_t *tsr_metrics_counter(const char *name, const char *help, const char *labels);
tsr_metric_t *tsr_metrics_gauge(const char *name, const char *help, const char *labels);
/* Histogram of seconds with fixed buckets from 1 ms to 10 s. */
tsr_metric_t *tsr_metrics_histogram(const char *name, const char *help, const char *labels);

void tsr_metric_add(tsr_metric_t *metric, double value);
void tsr_metric_set(tsr_metric_t *metric, double value);
void tsr_metric_observe(tsr_metric_t *metric, double value);
double tsr_metric_value(const tsr_metric_t *metric);

/* Labels added to every sample, e.g. "daemon=\"records\"", so that one scrape can merge daemons. */
void tsr_metrics_set_constant_labels(const char *labels);

/* The whole registry as Prometheus text; the caller frees it. */
char *tsr_metrics_render(void);
/* Forget every metric: for tests. */
void tsr_metrics_reset(void);

#endif
