#include "tsr_migrate.h"

#include <stdio.h>
#include <stdlib.h>

#include "tsr_db.h"
#include "tsr_log.h"

static int migrate__apply_one(PGconn *conn, const char *component, const tsr_migration_t *m, tsr_error_t *err)
{
    if (tsr_db_command(conn, "BEGIN", err) != 0)
        return -1;
    if (tsr_db_command(conn, m->sql, err) != 0) {
        char reason[sizeof(err->message)];
        snprintf(reason, sizeof(reason), "%s", err->message);
        tsr_db_command(conn, "ROLLBACK", NULL);
        return tsr_error_set(err, TSR_E_INTERNAL, "migration_failed", NULL, "Migration %s of %s failed: %s",
                             m->name, component, reason);
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[3] = {component, version, m->name};
    PGresult *res =
        tsr_db_exec(conn, "INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2::int, $3)",
                    3, params, err);
    if (res == NULL) {
        tsr_db_command(conn, "ROLLBACK", NULL);
        return -1;
    }
    PQclear(res);
    if (tsr_db_command(conn, "COMMIT", err) != 0)
        return -1;
    tsr_log_info(NULL, "applied migration %s of %s", m->name, component);
    return 0;
}

int tsr_migrate_apply(PGconn *conn, const char *schema, const char *component,
                      const tsr_migration_t *migrations, size_t count, tsr_error_t *err)
{
    const char *lock_params[1] = {schema};
    /* One lock per schema: instances of the same daemon wait for each other, others do not. */
    PGresult *res =
        tsr_db_exec(conn, "SELECT pg_advisory_lock(hashtext('tessera.migrate.' || $1))", 1, lock_params, err);
    if (res == NULL)
        return -1;
    PQclear(res);
    int rc = -1;
    if (tsr_db_command(conn,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " component text NOT NULL, version int NOT NULL, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))",
                       err) != 0)
        goto unlock;
    for (size_t i = 0; i < count; i++) {
        char version[16];
        snprintf(version, sizeof(version), "%d", migrations[i].version);
        const char *params[2] = {component, version};
        res = tsr_db_exec(conn, "SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2::int",
                          2, params, err);
        if (res == NULL)
            goto unlock;
        int applied = PQntuples(res) > 0;
        PQclear(res);
        if (!applied && migrate__apply_one(conn, component, &migrations[i], err) != 0)
            goto unlock;
    }
    rc = 0;
unlock:
    res = tsr_db_exec(conn, "SELECT pg_advisory_unlock(hashtext('tessera.migrate.' || $1))", 1, lock_params,
                      NULL);
    PQclear(res);
    return rc;
}
