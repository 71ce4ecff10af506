#include "tsr_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_kind_t;

#define METRICS_BUCKETS 12
static const double metrics__bounds[METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

struct tsr_metric {
    metric_kind_t kind;
    char *name;
    char *help;
    char *labels;
    double value; /* counter, gauge; histogram: sum */
    unsigned long count;
    unsigned long buckets[METRICS_BUCKETS];
    struct tsr_metric *next;
};

static pthread_mutex_t metrics__lock = PTHREAD_MUTEX_INITIALIZER;
static struct tsr_metric *metrics__head;
static char metrics__constant[128];

void tsr_metrics_set_constant_labels(const char *labels)
{
    pthread_mutex_lock(&metrics__lock);
    snprintf(metrics__constant, sizeof(metrics__constant), "%s", labels ? labels : "");
    pthread_mutex_unlock(&metrics__lock);
}

static tsr_metric_t *metrics__get(metric_kind_t kind, const char *name, const char *help, const char *labels)
{
    const char *l = labels ? labels : "";
    pthread_mutex_lock(&metrics__lock);
    struct tsr_metric *m;
    for (m = metrics__head; m != NULL; m = m->next)
        if (strcmp(m->name, name) == 0 && strcmp(m->labels, l) == 0)
            break;
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m != NULL) {
            m->kind = kind;
            m->name = strdup(name);
            m->help = strdup(help ? help : "");
            m->labels = strdup(l);
            struct tsr_metric **tail = &metrics__head;
            while (*tail != NULL)
                tail = &(*tail)->next;
            *tail = m;
        }
    }
    pthread_mutex_unlock(&metrics__lock);
    return m;
}

tsr_metric_t *tsr_metrics_counter(const char *name, const char *help, const char *labels)
{
    return metrics__get(METRIC_COUNTER, name, help, labels);
}

tsr_metric_t *tsr_metrics_gauge(const char *name, const char *help, const char *labels)
{
    return metrics__get(METRIC_GAUGE, name, help, labels);
}

tsr_metric_t *tsr_metrics_histogram(const char *name, const char *help, const char *labels)
{
    return metrics__get(METRIC_HISTOGRAM, name, help, labels);
}

void tsr_metric_add(tsr_metric_t *metric, double value)
{
    if (metric == NULL)
        return;
    pthread_mutex_lock(&metrics__lock);
    metric->value += value;
    pthread_mutex_unlock(&metrics__lock);
}

void tsr_metric_set(tsr_metric_t *metric, double value)
{
    if (metric == NULL)
        return;
    pthread_mutex_lock(&metrics__lock);
    metric->value = value;
    pthread_mutex_unlock(&metrics__lock);
}

void tsr_metric_observe(tsr_metric_t *metric, double value)
{
    if (metric == NULL)
        return;
    pthread_mutex_lock(&metrics__lock);
    metric->value += value;
    metric->count++;
    for (int i = 0; i < METRICS_BUCKETS; i++)
        if (value <= metrics__bounds[i])
            metric->buckets[i]++;
    pthread_mutex_unlock(&metrics__lock);
}

double tsr_metric_value(const tsr_metric_t *metric)
{
    if (metric == NULL)
        return 0;
    pthread_mutex_lock(&metrics__lock);
    double v = metric->kind == METRIC_HISTOGRAM ? (double)metric->count : metric->value;
    pthread_mutex_unlock(&metrics__lock);
    return v;
}

typedef struct {
    char *buf;
    size_t len;
    size_t cap;
} metrics_buf_t;

static void metrics__append(metrics_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void metrics__append(metrics_buf_t *b, const char *fmt, ...)
{
    if (b->buf == NULL)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        char *bigger = realloc(b->buf, b->cap * 2 + (size_t)n);
        if (bigger == NULL) {
            free(b->buf);
            b->buf = NULL;
            return;
        }
        b->buf = bigger;
        b->cap = b->cap * 2 + (size_t)n;
    }
}

/* Joins the constant labels, the metric's labels and an extra one into "{...}" or "". */
static void metrics__labels(char *out, size_t size, const char *a, const char *b, const char *c)
{
    const char *parts[3] = {a, b, c};
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (parts[i] == NULL || parts[i][0] == '\0')
            continue;
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s", n == 0 ? "{" : ",", parts[i]);
    }
    if (n > 0 && n + 2 < size) {
        out[n] = '}';
        out[n + 1] = '\0';
    }
}

static void metrics__render_one(metrics_buf_t *b, const struct tsr_metric *m)
{
    char labels[512];
    if (m->kind != METRIC_HISTOGRAM) {
        metrics__labels(labels, sizeof(labels), metrics__constant, m->labels, NULL);
        metrics__append(b, "%s%s %.17g\n", m->name, labels, m->value);
        return;
    }
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        char le[32];
        snprintf(le, sizeof(le), "le=\"%g\"", metrics__bounds[i]);
        metrics__labels(labels, sizeof(labels), metrics__constant, m->labels, le);
        metrics__append(b, "%s_bucket%s %lu\n", m->name, labels, m->buckets[i]);
    }
    metrics__labels(labels, sizeof(labels), metrics__constant, m->labels, "le=\"+Inf\"");
    metrics__append(b, "%s_bucket%s %lu\n", m->name, labels, m->count);
    metrics__labels(labels, sizeof(labels), metrics__constant, m->labels, NULL);
    metrics__append(b, "%s_sum%s %.17g\n%s_count%s %lu\n", m->name, labels, m->value, m->name, labels,
                    m->count);
}

char *tsr_metrics_render(void)
{
    metrics_buf_t b = {malloc(4096), 0, 4096};
    if (b.buf == NULL)
        return NULL;
    b.buf[0] = '\0';
    static const char *const kinds[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&metrics__lock);
    for (struct tsr_metric *family = metrics__head; family != NULL; family = family->next) {
        /* One HELP / TYPE block per name, with every label set of that name under it. */
        int seen = 0;
        for (struct tsr_metric *e = metrics__head; e != family && !seen; e = e->next)
            seen = strcmp(e->name, family->name) == 0;
        if (seen)
            continue;
        metrics__append(&b, "# HELP %s %s\n# TYPE %s %s\n", family->name, family->help, family->name,
                        kinds[family->kind]);
        for (struct tsr_metric *m = family; m != NULL; m = m->next) {
            if (strcmp(m->name, family->name) != 0)
                continue;
            metrics__render_one(&b, m);
        }
    }
    pthread_mutex_unlock(&metrics__lock);
    return b.buf;
}

void tsr_metrics_reset(void)
{
    pthread_mutex_lock(&metrics__lock);
    while (metrics__head != NULL) {
        struct tsr_metric *m = metrics__head;
        metrics__head = m->next;
        free(m->name);
        free(m->help);
        free(m->labels);
        free(m);
    }
    metrics__constant[0] = '\0';
    pthread_mutex_unlock(&metrics__lock);
}
