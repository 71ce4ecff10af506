/* Steps asked for by other daemons: <producer>.step.requested and <producer>.steps.requested from
 * their outbox (a part of CP-IS access notifications asks for one CPIS Follow up each for the CP-IS
 * Worker). Started once per dedupe key, with the sections' first values saved (not completed), as
 * the producer's actor.
 *
 * An event's steps are checked here one by one (a step that cannot be started is logged and passed
 * over, the others still start; one asked for a worker it cannot go to starts where its type starts
 * by default instead; one about a restricted record, bound for a queue whose workers cannot open it,
 * goes where the definitions send such work), then started together: one statement writes every
 * step, its sections, its history and its dedupe key. One step at a time cost six round trips a
 * step, and a part of 1,000 notifications is 1,000 steps. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "definitions.h"
#include "tsr_envelope.h"
#include "tsr_text.h"
#include "wf.h"

#include "tsr_log.h"

static int requested__ends_with(const char *type, const char *suffix)
{
    size_t len = strlen(type), n = strlen(suffix);
    return len > n && strcmp(type + len - n, suffix) == 0;
}

int wf_wants_step_requested(const Tsr__Envelope *ev)
{
    return requested__ends_with(ev->type, ".step.requested") ||
           requested__ends_with(ev->type, ".steps.requested");
}

/* The recipients an event's steps were resolved to: the steps of one event nearly always go to the
 * same queue, which is then looked up once. */
#define REQUESTED_RECIPIENTS 8
typedef struct {
    struct {
        const char *type;
        const Tsr__Workflow__Recipient *to;
        char owner[WF_OWNER_MAX];
        char *name;
    } items[REQUESTED_RECIPIENTS];
    size_t n;
} requested_recipients_t;

static int requested__same_recipient(const Tsr__Workflow__Recipient *a, const Tsr__Workflow__Recipient *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    const char *va = a->virtual_worker ? a->virtual_worker : "",
               *vb = b->virtual_worker ? b->virtual_worker : "";
    return a->worker_id == b->worker_id && a->team_id == b->team_id && strcmp(va, vb) == 0;
}

static int requested__resolve(tsr_call_t *call, requested_recipients_t *cache, const char *type,
                              const Tsr__Workflow__Recipient *to, const json_t *def, char owner[WF_OWNER_MAX],
                              const char **name, tsr_error_t *err)
{
    for (size_t i = 0; i < cache->n; i++)
        if (strcmp(cache->items[i].type, type) == 0 && requested__same_recipient(cache->items[i].to, to)) {
            memcpy(owner, cache->items[i].owner, WF_OWNER_MAX);
            *name = cache->items[i].name;
            return 0;
        }
    char *resolved = NULL;
    if (wf_recipient_resolve(call, to, json_object_get(json_object_get(def, "start"), "assign_to"), NULL,
                             owner, &resolved, err) != 0) {
        free(resolved);
        return -1;
    }
    if (cache->n == REQUESTED_RECIPIENTS) { /* more queues than kept: the oldest makes room */
        free(cache->items[0].name);
        memmove(&cache->items[0], &cache->items[1], (REQUESTED_RECIPIENTS - 1) * sizeof(cache->items[0]));
        cache->n--;
    }
    cache->items[cache->n].type = type;
    cache->items[cache->n].to = to;
    memcpy(cache->items[cache->n].owner, owner, WF_OWNER_MAX);
    cache->items[cache->n].name = resolved;
    *name = cache->items[cache->n++].name;
    return 0;
}

static void requested__recipients_free(requested_recipients_t *cache)
{
    for (size_t i = 0; i < cache->n; i++)
        free(cache->items[i].name);
    cache->n = 0;
}

/* A requested step checked and ready to start: its place in the event (i) and what its row is made
 * of, the rest read from the request itself. */
typedef struct {
    size_t i;
    const Tsr__Workflow__StepRequested *in;
    const char *kind;
    int version;
    int incoming;
    char *title;
    int64_t due_ms;
    char owner[WF_OWNER_MAX];
    char detail[WF_DETAIL_MAX];
    /* The queue it goes to, while work about a restricted record may not wait there
     * (restricted_records_to) and it is not yet known whether the person's record is restricted. */
    const wf_virtual_worker_t *guarded;
} requested_row_t;

typedef struct {
    requested_row_t *items;
    size_t n;
    size_t n_sections;
} requested_rows_t;

/* A restricted record's work is not left in a queue whose workers cannot open it: it goes to the
 * queue the definitions name for it, whose workers keep access (seed 002). */
static void requested__route_restricted(requested_row_t *row)
{
    const wf_virtual_worker_t *to = wf_virtual_worker(row->guarded->restricted_to);
    snprintf(row->owner, WF_OWNER_MAX, "v:%s", to->key);
    snprintf(row->detail, sizeof(row->detail),
             "Sent to %s: the record is restricted, and the %s queue's workers cannot open it", to->name,
             row->guarded->name);
    row->guarded = NULL;
}

/* The asker may have looked before the record was restricted, and the restriction reached this
 * daemon first: the rows still bound for a guarded queue are checked against restricted_people, in
 * one query for the event. The SHARE lock waits for a restriction being applied to commit (see
 * merges__restricted), so that the step is either routed here or moved there. */
static int requested__route_restricted_known(tsr_call_t *call, requested_rows_t *rows, tsr_error_t *err)
{
    uint64_t *ids = calloc(rows->n + 1, sizeof(*ids));
    size_t n = 0;
    if (ids == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    for (size_t r = 0; r < rows->n; r++)
        if (rows->items[r].guarded != NULL)
            ids[n++] = rows->items[r].in->subject->id;
    if (n == 0) {
        free(ids);
        return 0;
    }
    size_t size = n * 23 + 3; /* tsr_db_id_array keeps room for 20 digits, a comma and the brace */
    char *list = malloc(size);
    if (list != NULL)
        tsr_db_id_array(ids, n, list, size);
    free(ids);
    if (list == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    PGresult *res = tsr_db_exec(call->conn, "LOCK TABLE restricted_people IN SHARE MODE", 0, NULL, err);
    if (res != NULL) {
        PQclear(res);
        const char *params[1] = {list};
        res = tsr_db_exec(call->conn,
                          "SELECT person_id FROM restricted_people WHERE person_id = ANY ($1::bigint[])", 1,
                          params, err);
    }
    free(list);
    if (res == NULL)
        return -1;
    for (int k = 0; k < PQntuples(res); k++) {
        uint64_t person = strtoull(PQgetvalue(res, k, 0), NULL, 10);
        for (size_t r = 0; r < rows->n; r++)
            if (rows->items[r].guarded != NULL && rows->items[r].in->subject->id == person)
                requested__route_restricted(&rows->items[r]);
    }
    PQclear(res);
    return 0;
}

/* Checks one requested step and, when it can be started, adds its row (i: its place in the event)
 * to rows, which has room for it. The step's sections are checked before anything is written, so
 * that a step with a section that cannot be saved is not started at all. */
static int requested__prepare(tsr_call_t *call, requested_recipients_t *cache,
                              const Tsr__Workflow__StepRequested *in, const json_t *def, const char *kind,
                              size_t i, requested_rows_t *rows, tsr_error_t *err)
{
    requested_row_t *row = &rows->items[rows->n];
    memset(row, 0, sizeof(*row));
    const char *owner_name = NULL;
    if (requested__resolve(call, cache, in->type, in->assign_to, def, row->owner, &owner_name, err) != 0) {
        /* A worker it cannot go to (left since the producer looked, or not yet known here) must not
         * cost the step: it starts where its type starts by default, for someone there to pass on. */
        if (in->assign_to == NULL || in->assign_to->worker_id == 0 ||
            (err->status != TSR_E_NOT_FOUND && err->status != TSR_E_UNPROCESSABLE))
            return -1;
        tsr_log_warn(call->trace_id,
                     "step %s (%s) cannot go to worker %" PRIu64 " (%s): it starts in its usual place",
                     in->dedupe_key, in->type, in->assign_to->worker_id, err->message);
        tsr_error_clear(err);
        if (requested__resolve(call, cache, in->type, NULL, def, row->owner, &owner_name, err) != 0)
            return -1;
    }
    const wf_virtual_worker_t *queue = row->owner[0] == 'v' ? wf_virtual_worker(row->owner + 2) : NULL;
    if (queue != NULL && queue->restricted_to != NULL && wf_subject_guarded(def, kind) &&
        in->subject->id != 0)
        row->guarded = queue;
    wf_definition_current(in->type, &row->version);
    if (row->version == 0) {
        if (wf_definitions_register(call->conn, err) != 0)
            return -1;
        def = wf_definition_current(in->type, &row->version);
    }
    for (size_t k = 0; k < in->n_sections; k++) {
        const Tsr__Workflow__SectionValues *s = in->sections[k];
        if (s->number == NULL || wf_def_section(def, s->number) == NULL)
            return tsr_error_set(err, TSR_E_INVALID, "unknown_section", "sections",
                                 "The step asked for has no section \"%s\".", s->number ? s->number : "");
        for (size_t j = 0; j < k; j++)
            if (strcmp(in->sections[j]->number, s->number) == 0)
                return tsr_error_set(err, TSR_E_INVALID, "duplicate_section", "sections",
                                     "Section %s is given more than once.", s->number);
        /* Read here only to be judged: PostgreSQL reads the text again as the section's jsonb. */
        json_t *data = json_loads(s->data_json ? s->data_json : "", JSON_REJECT_DUPLICATES, NULL);
        int is_object = json_is_object(data);
        json_decref(data);
        if (!is_object)
            return tsr_error_set(err, TSR_E_INVALID, "invalid_value", "sections",
                                 "Section %s's values are not a JSON object.", s->number);
    }
    char me[WF_OWNER_MAX];
    wf_actor_owner(call->actor, me);
    row->i = i;
    row->in = in;
    row->kind = kind;
    /* Work started for someone else arrives as Incoming (as wf_step_start_internal has it). */
    row->incoming = strcmp(row->owner, me) != 0;
    row->title = wf_def_title(def, in->variant ? in->variant : "");
    row->due_ms = wf_def_due(json_object_get(def, "due"), tsr_now_ms());
    snprintf(row->detail, sizeof(row->detail), "%s %s", row->incoming ? "Sent to" : "Started by", owner_name);
    tsr_text_utf8_clean(row->detail);
    if (in->subject_restricted && row->guarded != NULL)
        requested__route_restricted(row);
    rows->n++;
    rows->n_sections += in->n_sections;
    return 0;
}

static void requested__rows_free(requested_rows_t *rows)
{
    for (size_t r = 0; r < rows->n; r++)
        free(rows->items[r].title);
    free(rows->items);
    memset(rows, 0, sizeof(*rows));
}

/* The rows' columns, one text[] literal each, for the unnest in requested__start. */
enum {
    COL_I,
    COL_DEDUPE_KEY,
    COL_TYPE,
    COL_VERSION,
    COL_VARIANT,
    COL_TITLE,
    COL_SUBJECT_KIND,
    COL_SUBJECT_ID,
    COL_SUBJECT_NAME,
    COL_STATE,
    COL_OWNER,
    COL_DUE_MS,
    COL_DETAIL,
    COL_SECTION_I,
    COL_SECTION_NUMBER,
    COL_SECTION_DATA,
    COLUMNS
};

/* Fills arrays[] (all NULL, freed by the caller) with the rows' columns as array literals (the rows go as one
 * array a column, not a JSON document: PostgreSQL lexed such a document three times over, whole, each step's
 * sections, then each section's values, which cost a fifth of its time starting a part's steps). */
static int requested__columns(const requested_rows_t *rows, char *arrays[COLUMNS])
{
    size_t n = rows->n, ns = rows->n_sections;
    const char **row_cells = calloc(n * COL_SECTION_I + 1, sizeof(*row_cells));
    const char **section_cells = calloc(ns * 3 + 1, sizeof(*section_cells));
    /* Each row's numbers as text: its place, its version, its subject and its due time. */
    enum { NUMBERS = 4 * 24 };
    char *numbers = malloc(n * NUMBERS + 1);
    int ok = row_cells != NULL && section_cells != NULL && numbers != NULL;
    size_t s = 0;
    for (size_t r = 0; ok && r < n; r++) {
        const requested_row_t *row = &rows->items[r];
        const Tsr__Workflow__StepRequested *in = row->in;
        const char **cell = row_cells + r;
        char *o = numbers + r * NUMBERS;
        cell[COL_I * n] = o;
        o += sprintf(o, "%zu", row->i) + 1;
        cell[COL_VERSION * n] = o;
        o += sprintf(o, "%d", row->version) + 1;
        cell[COL_SUBJECT_ID * n] = o;
        o += sprintf(o, "%" PRIu64, in->subject ? in->subject->id : 0) + 1;
        if (row->due_ms != 0) {
            cell[COL_DUE_MS * n] = o;
            sprintf(o, "%" PRId64, row->due_ms);
        }
        cell[COL_DEDUPE_KEY * n] = in->dedupe_key;
        cell[COL_TYPE * n] = in->type;
        cell[COL_VARIANT * n] = in->variant ? in->variant : "";
        cell[COL_TITLE * n] = row->title ? row->title : "";
        cell[COL_SUBJECT_KIND * n] = row->kind;
        cell[COL_SUBJECT_NAME * n] = in->subject_name ? in->subject_name : "";
        cell[COL_STATE * n] = row->incoming ? "incoming" : "started";
        cell[COL_OWNER * n] = row->owner;
        cell[COL_DETAIL * n] = row->detail;
        for (size_t k = 0; k < in->n_sections; k++, s++) {
            section_cells[s] = cell[COL_I * n];
            section_cells[ns + s] = in->sections[k]->number;
            section_cells[2 * ns + s] = in->sections[k]->data_json;
        }
    }
    /* The steps' columns, then their sections'; the caller frees whatever was made, either way. */
    ok = ok && tsr_text_array_columns(row_cells, n, COL_SECTION_I, arrays) == 0 &&
         tsr_text_array_columns(section_cells, ns, COLUMNS - COL_SECTION_I, arrays + COL_SECTION_I) == 0;
    free(row_cells);
    free(section_cells);
    free(numbers);
    return ok ? 0 : -1;
}

/* Starts the checked steps in one statement: their ids, in the event's order, their sections, the
 * 'started' history and the dedupe keys. A key already there (or twice in rows) starts nothing
 * more, whatever was read before. Returns the rows (i, step id, started at ms) in the event's order. */
static PGresult *requested__start(tsr_call_t *call, const char *producer, const requested_rows_t *rows,
                                  tsr_error_t *err)
{
    char *arrays[COLUMNS] = {0};
    PGresult *res = NULL;
    if (requested__columns(rows, arrays) != 0) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    char by[24];
    snprintf(by, sizeof(by), "%" PRIu64, call->actor->worker_id);
    const char *params[COLUMNS + 3];
    for (int c = 0; c < COLUMNS; c++)
        params[c] = arrays[c];
    params[COLUMNS] = by;
    params[COLUMNS + 1] = wf_actor_name(call->actor);
    params[COLUMNS + 2] = producer;
    /* The statement counts its steps into their queues itself (migration 006): the setting keeps the
     * steps' row-at-a-time count off its rows, and only its rows. Both go with the next statement. */
    if (tsr_db_defer(call->conn, "SELECT set_config('tessera.steps_counted', 'on', true)", 0, NULL, NULL,
                     NULL, err) != 0)
        goto done;
    res = tsr_db_exec(
        call->conn,
        "WITH x AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[],"
        "  $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bigint[],"
        "  $13::text[]) AS x(i, dedupe_key, type, version, variant, title, subject_kind, subject_id,"
        "  subject_name, state, owner, due_ms, detail)),"
        " fresh AS (SELECT DISTINCT ON (dedupe_key) * FROM x"
        "  WHERE (SELECT 1 FROM requested_steps r WHERE r.dedupe_key = x.dedupe_key) IS NULL"
        "  ORDER BY dedupe_key, i),"
        " ids AS MATERIALIZED (SELECT nextval('step_ids') AS step_id, f.* FROM"
        "  (SELECT * FROM fresh ORDER BY i) f),"
        " s AS (INSERT INTO steps (id, type, version, variant, title, subject_kind, subject_id, subject_name,"
        "  state, owner, folder, started_by, due_at)"
        "  SELECT step_id, type, version, variant, title, subject_kind, subject_id, subject_name, state,"
        "  owner, CASE WHEN state = 'incoming' THEN 'incoming' ELSE 'current' END, $17::bigint,"
        "  to_timestamp(due_ms / 1000.0) FROM ids ORDER BY i),"
        " h AS (INSERT INTO step_history (step_id, action, by_worker_id, by_name, detail)"
        "  SELECT step_id, 'started', $17::bigint, $18, detail FROM ids ORDER BY i),"
        " sec AS (INSERT INTO sections (step_id, number, data, completed, saved_by)"
        "  SELECT ids.step_id, e.number, e.data::jsonb, false, $17::bigint"
        "  FROM unnest($14::bigint[], $15::text[], $16::text[]) AS e(i, number, data)"
        "  JOIN ids ON ids.i = e.i ORDER BY e.i),"
        " r AS (INSERT INTO requested_steps (dedupe_key, producer, step_id)"
        "  SELECT dedupe_key, $19, step_id FROM ids ORDER BY i),"
        " c AS (INSERT INTO queue_count_pending (owner, folder, n)"
        "  SELECT owner, CASE WHEN state = 'incoming' THEN 'incoming' ELSE 'current' END, count(*)"
        "  FROM ids GROUP BY 1, 2)"
        /* started_at is the transaction's now(), the same for every step: joining the inserted rows
         * back to their place in the event only to read it cost more than the inserts. */
        " SELECT i, step_id, (extract(epoch FROM now()) * 1000)::bigint FROM ids ORDER BY i",
        COLUMNS + 3, params, err);
    if (res != NULL && tsr_db_defer(call->conn, "SELECT set_config('tessera.steps_counted', 'off', true)", 0,
                                    NULL, NULL, NULL, err) != 0) {
        PQclear(res);
        res = NULL;
    }
done:
    for (int c = 0; c < COLUMNS; c++)
        free(arrays[c]);
    return res;
}

/* workflow.step.started for each step started, as wf_step_emit tells it, in one statement. */
static int requested__emit(tsr_call_t *call, const PGresult *started, const requested_rows_t *rows,
                           tsr_error_t *err)
{
    int n = PQntuples(started);
    Tsr__Workflow__StepEvent *events = calloc((size_t)n + 1, sizeof(*events));
    Tsr__Workflow__Subject *subjects = calloc((size_t)n + 1, sizeof(*subjects));
    const ProtobufCMessage **msgs = calloc((size_t)n + 1, sizeof(*msgs));
    int rc = -1;
    if (events == NULL || subjects == NULL || msgs == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    /* rows are in the event's order, with their i; started names some of them, in the same order. */
    size_t r = 0;
    for (int k = 0; k < n; k++) {
        size_t i = (size_t)strtoull(PQgetvalue(started, k, 0), NULL, 10);
        while (r < rows->n && rows->items[r].i != i)
            r++;
        if (r == rows->n) {
            tsr_error_set(err, TSR_E_INTERNAL, "internal", NULL, "A started step was not asked for.");
            goto done;
        }
        const requested_row_t *row = &rows->items[r];
        Tsr__Workflow__StepEvent *ev = &events[k];
        Tsr__Workflow__Subject *subject = &subjects[k];
        tsr__workflow__step_event__init(ev);
        tsr__workflow__subject__init(subject);
        subject->kind = (char *)row->kind;
        subject->id = row->in->subject ? row->in->subject->id : 0;
        ev->step_id = strtoull(PQgetvalue(started, k, 1), NULL, 10);
        ev->type = row->in->type;
        ev->version = (uint32_t)row->version;
        ev->variant = row->in->variant ? row->in->variant : "";
        ev->title = row->title ? row->title : "";
        ev->subject = subject;
        ev->subject_name = row->in->subject_name ? row->in->subject_name : "";
        ev->state = row->incoming ? "incoming" : "started";
        ev->action = "started";
        ev->started_at_ms = strtoll(PQgetvalue(started, k, 2), NULL, 10);
        wf_step_event_set_owner(ev, row->owner);
        msgs[k] = &ev->base;
    }
    rc = tsr_call_emit_many(call, "workflow.step.started", msgs, (size_t)n, err);
done:
    free(events);
    free(subjects);
    free(msgs);
    return rc;
}

/* Starts the steps of one event (n of them), each unless its dedupe key already started one. */
static int requested__apply(tsr_event_t *ev, Tsr__Workflow__StepRequested *const *steps, size_t n, int lone,
                            tsr_error_t *err)
{
    /* The producer's actor starts the steps (the CP-IS service account); the system when none. */
    static char *system_roles[] = {"system"};
    Tsr__Actor system = TSR__ACTOR__INIT;
    system.roles = system_roles;
    system.n_roles = 1;
    tsr_call_t call = tsr_call_for_event(ev, &system);
    const char *producer = ev->event->producer ? ev->event->producer : "";
    requested_recipients_t recipients = {0};
    requested_rows_t rows = {.items = calloc(n + 1, sizeof(requested_row_t))};
    char **seen = calloc(n + 1, sizeof(*seen));
    PGresult *known = NULL, *started = NULL;
    size_t n_known = 0, n_seen = 0;
    int rc = -1;
    if (rows.items == NULL || seen == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    /* The keys that already started a step, in one query for the event (an array, which the
     * planner reads as an index scan, where a set from JSON was taken for 100 rows and the whole
     * table read for each event). */
    const char **key_list = calloc(n + 1, sizeof(*key_list));
    size_t n_keys = 0;
    for (size_t i = 0; key_list != NULL && i < n; i++)
        if (steps[i]->dedupe_key && steps[i]->dedupe_key[0])
            key_list[n_keys++] = steps[i]->dedupe_key;
    char *key_text = key_list ? tsr_text_array_literal(key_list, n_keys) : NULL;
    free(key_list);
    if (key_text == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    const char *params[1] = {key_text};
    known = tsr_db_exec(ev->conn, "SELECT dedupe_key FROM requested_steps WHERE dedupe_key = ANY($1::text[])",
                        1, params, err);
    free(key_text);
    if (known == NULL)
        goto done;
    char **known_keys = calloc((size_t)PQntuples(known) + 1, sizeof(*known_keys));
    if (known_keys == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        goto done;
    }
    for (int k = 0; k < PQntuples(known); k++)
        known_keys[n_known++] = PQgetvalue(known, k, 0);
    qsort(known_keys, n_known, sizeof(known_keys[0]), tsr_text_compare_ptrs);
    for (size_t i = 0; i < n; i++) {
        const Tsr__Workflow__StepRequested *in = steps[i];
        tsr_error_t one;
        tsr_error_clear(&one);
        const json_t *def = in->type ? wf_definition_current(in->type, NULL) : NULL;
        const char *kind =
            in->subject && in->subject->kind && in->subject->kind[0] ? in->subject->kind : "none";
        /* Checked in the order a step has always been: its key, its type, whether it started. */
        if (in->dedupe_key == NULL || in->dedupe_key[0] == '\0')
            tsr_error_set(&one, TSR_E_INVALID, "bad_event", NULL, "A requested step needs a dedupe key.");
        else if (def == NULL || !wf_def_allows_subject(def, kind))
            tsr_error_set(&one, TSR_E_INVALID, "unknown_step_type", "type",
                          "There is no step type \"%s\" about a %s.", in->type ? in->type : "", kind);
        else if (tsr_text_sorted_has(known_keys, n_known, in->dedupe_key) ||
                 tsr_text_sorted_has(seen, n_seen, in->dedupe_key))
            continue; /* started already (by an earlier event, or earlier in this one) */
        else if (requested__prepare(&call, &recipients, in, def, kind, i, &rows, &one) == 0) {
            tsr_text_sorted_insert(seen, n_seen++, in->dedupe_key);
            continue;
        }
        /* One step that cannot be started must not keep the others of the event from starting: it
         * is logged and passed over; a failure of the database retries the whole event. */
        if (one.status == TSR_E_INVALID || one.status == TSR_E_NOT_FOUND ||
            one.status == TSR_E_UNPROCESSABLE) {
            if (lone) { /* a <producer>.step.requested event is the step: the consumer sets it aside */
                *err = one;
                free(known_keys);
                goto done;
            }
            tsr_log_error(ev->event->trace_id, "step %s (%s) asked for by %s cannot be started: %s",
                          in->dedupe_key, in->type, producer, one.message);
        } else {
            *err = one;
            free(known_keys);
            goto done;
        }
    }
    free(known_keys);
    if (rows.n == 0) {
        rc = 0;
        goto done;
    }
    if (requested__route_restricted_known(&call, &rows, err) != 0)
        goto done;
    started = requested__start(&call, producer, &rows, err);
    if (started == NULL || requested__emit(&call, started, &rows, err) != 0)
        goto done;
    rc = 0;
done:
    PQclear(known);
    PQclear(started);
    requested__recipients_free(&recipients);
    requested__rows_free(&rows);
    free(seen);
    return rc;
}

int wf_apply_step_requested(tsr_event_t *ev, tsr_error_t *err)
{
    if (!requested__ends_with(ev->event->type, ".steps.requested")) {
        Tsr__Workflow__StepRequested *in = (Tsr__Workflow__StepRequested *)tsr_unpack(
            &tsr__workflow__step_requested__descriptor, ev->event->payload.data, ev->event->payload.len, err);
        if (in == NULL)
            return -1;
        int rc = requested__apply(ev, &in, 1, 1, err);
        tsr__workflow__step_requested__free_unpacked(in, NULL);
        return rc;
    }
    Tsr__Workflow__StepsRequested *all = (Tsr__Workflow__StepsRequested *)tsr_unpack(
        &tsr__workflow__steps_requested__descriptor, ev->event->payload.data, ev->event->payload.len, err);
    if (all == NULL)
        return -1;
    int rc = requested__apply(ev, all->steps, all->n_steps, 0, err);
    tsr__workflow__steps_requested__free_unpacked(all, NULL);
    return rc;
}
