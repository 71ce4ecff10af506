/* promtext: merges Prometheus text expositions (format 0.0.4) into one. Every daemon renders the
 * common families (tsr_requests_failed_total, ...), and a scrape that repeats a family's HELP and
 * TYPE lines, or splits its samples, is refused whole by Prometheus: the merge gives each family
 * one HELP, one TYPE and all its samples together, in the order families first appear. */
#ifndef GATEWAY_PROMTEXT_H
#define GATEWAY_PROMTEXT_H

#include <stddef.h>

/* A malloc'd exposition of texts[0..n) (NULL entries are skipped), or NULL when out of memory. */
char *gw_promtext_merge(const char *const *texts, size_t n);

#endif
