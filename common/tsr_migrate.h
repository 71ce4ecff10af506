/* tsr_migrate: applies a component's versioned SQL migrations to its own schema, once, under an
 * advisory lock so that several instances starting together do not race. */
#ifndef TSR_MIGRATE_H
#define TSR_MIGRATE_H

#include <libpq-fe.h>

#include "tsr_error.h"

typedef struct {
    int version;      /* from the file name: 001_... */
    const char *name; /* the file name */
    const char *sql;
} tsr_migration_t;

/* Applies those of migrations not yet recorded for component in schema_migrations, in version
 * order, each in its own transaction. */
int tsr_migrate_apply(PGconn *conn, const char *schema, const char *component,
                      const tsr_migration_t *migrations, size_t count, tsr_error_t *err);

/* The migrations every daemon has (outbox, relay state, inbox, idempotency). */
extern const tsr_migration_t tsr_common_migrations[];
extern const size_t tsr_common_migrations_count;

#endif
