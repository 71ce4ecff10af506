/* tsr_log: JSON-lines logging to standard error, one object a line, with the trace id of the work
 * it belongs to, so that one request can be followed across daemons. Thread-safe. */
#ifndef TSR_LOG_H
#define TSR_LOG_H

#include <stdarg.h>

typedef enum { TSR_LOG_DEBUG = 0, TSR_LOG_INFO, TSR_LOG_WARN, TSR_LOG_ERROR } tsr_log_level_t;

/* level is "debug", "info", "warn" or "error"; returns -1 for anything else. */
int tsr_log_open(const char *component, const char *level);
void tsr_log_write(tsr_log_level_t level, const char *trace_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tsr_log_debug(trace, ...) tsr_log_write(TSR_LOG_DEBUG, trace, __VA_ARGS__)
#define tsr_log_info(trace, ...) tsr_log_write(TSR_LOG_INFO, trace, __VA_ARGS__)
#define tsr_log_warn(trace, ...) tsr_log_write(TSR_LOG_WARN, trace, __VA_ARGS__)
#define tsr_log_error(trace, ...) tsr_log_write(TSR_LOG_ERROR, trace, __VA_ARGS__)

/* A new random trace id (32 hex digits) written into buf (at least 33 bytes). */
void tsr_log_new_trace_id(char *buf);

#endif
