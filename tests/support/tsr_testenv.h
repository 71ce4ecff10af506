/* tsr_testenv: a whole Tessera for one integration test: a private PostgreSQL in a temporary
 * directory on a free port, every daemon started from the build being tested, real ZeroMQ between
 * them, demo data loaded, and an HTTP client to drive it. Nothing is mocked.
 *
 * testenv_http, testenv_psql and testenv_sql_long may be called from several threads at once;
 * start, stop, kill and restart belong to the test's main thread. Functions that assert (login,
 * kill, restart, assert_error) must run on the main thread too: cmocka cannot fail a test from
 * another thread. */
#ifndef TSR_TESTENV_H
#define TSR_TESTENV_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#define TESTENV_DAEMONS 9

typedef struct {
    char dir[256];
    char base_url[128]; /* read it through testenv_http: a restarted gateway has a new port */
    char config[300];
    int pids[TESTENV_DAEMONS];
    pthread_mutex_t lock; /* guards base_url */
} testenv_t;

typedef struct {
    long status; /* 0 when the connection failed or timed out */
    char *body;
    size_t len;
    json_t *json;      /* NULL when the body is not JSON */
    char trace_id[64]; /* the X-Trace-Id the gateway gave the call, "" if none */
    char *headers;     /* the response's header lines, as received */
    size_t headers_len;
} testenv_response_t;

/* Starts everything and waits until /readyz answers 200; fails the test on failure, printing the
 * end of every daemon's log. */
testenv_t *testenv_start(void);

/* For a test file whose tests share one suite: cmocka group setup and teardown that start and
 * stop `testenv`. */
extern testenv_t *testenv;
int testenv_group_setup(void **state);
int testenv_group_teardown(void **state);
/* SIGTERM to every daemon; fails the test if one does not exit 0 within 15 s or a sanitizer spoke.
 * Removes the directory unless TESSERA_KEEP_TEST_DIRS=1 (or the stop failed). */
void testenv_stop(testenv_t *env);

const char *testenv_daemon_name(int index);
/* Sends signal to the daemon; for SIGKILL, also waits for it to be gone. */
void testenv_kill(testenv_t *env, const char *daemon, int signal);
/* Starts the daemon again, with the same command line, and waits until the suite is ready. */
void testenv_restart(testenv_t *env, const char *daemon);
/* Waits for the gateway's /readyz to answer 200 (every daemon answering), failing the suite after 60 s. */
void testenv_wait_ready(testenv_t *env);
/* Waits for a gateway just started to write its address and answer /readyz at all, ready or not (for
 * a test that expects it not to be); the status, or 0 after 60 s. */
long testenv_wait_answering(testenv_t *env);
/* Starts a daemon that was stopped, without waiting for the suite to be ready: for a test that holds
 * another daemon stopped meanwhile (SIGSTOP), which the gateway's /readyz would wait for. */
void testenv_start_alone(testenv_t *env, const char *daemon);
/* Stops the daemon (SIGTERM, waiting for its exit 0) and starts it again with one more setting in its
 * environment (name=value, e.g. TESSERA_TESSERA_HOUSEKEEPING_MS=200), which later starts do not get. */
void testenv_restart_with(testenv_t *env, const char *daemon, const char *name, const char *value);
/* Waits for the daemon's process to end; its exit status (128 + signal when killed), or -1 after
 * timeout_ms. */
int testenv_wait_exit(testenv_t *env, const char *daemon, int timeout_ms);
/* 1 when the daemon's log has a line containing text. */
int testenv_log_has(testenv_t *env, const char *daemon, const char *text);
/* How many lines of the daemon's log contain text, and also (unless NULL). */
int testenv_log_count(testenv_t *env, const char *daemon, const char *text, const char *also);

/* One HTTP call. body may be NULL; header is one extra "Name: value" line or NULL (a Content-Type there
 * replaces application/json; "Content-Type:" sends none). */
testenv_response_t testenv_http(testenv_t *env, const char *method, const char *path, const char *token,
                                const char *body, const char *header);
void testenv_response_free(testenv_response_t *r);
/* Sends request as it is, bytes and all, to the gateway and reads the answer until the gateway
 * closes the connection (send "Connection: close", or a request h2o closes it after); a malloc'd
 * string, status line and headers included. For what an HTTP client would not send as written: broken
 * framing, a path with a dot segment or a percent-encoded NUL. */
char *testenv_raw_http(testenv_t *env, const char *request);
/* The value of a response header (case-insensitive name) copied into out, or NULL when absent. */
const char *testenv_response_header(const testenv_response_t *r, const char *name, char *out, size_t size);
/* Signs in a demo user (password tessera-demo); returns a malloc'd token. */
char *testenv_login(testenv_t *env, const char *username);
/* The same with another password (a service account's, TESTENV_SERVICE_PASSWORD). */
char *testenv_login_with(testenv_t *env, const char *username, const char *password);

/* Runs SQL through psql as the superuser (role NULL) or a daemon's role; returns psql's exit
 * status and its trimmed output (stdout and stderr) in out. */
int testenv_psql(testenv_t *env, const char *role, const char *sql, char *out, size_t size);
/* Adds a worker as the admin of admin_token (password tessera-demo, prerequisites met today); rest is
 * more members of the JSON body ("\"roles\":[...],\"teams\":[...]"). Fails the test on refusal. */
void testenv_add_worker(testenv_t *env, const char *admin_token, const char *username, const char *name,
                        const char *rest, char id[32]);
/* The password of the service accounts testenv_add_service_account adds: a service account's is a
 * generated secret of at least 32 characters (docs/OPERATIONS.md, [accounts]). */
#define TESTENV_SERVICE_PASSWORD "NdYOLyVqBxD8wpbXAzZMRZmp-lEuUtDtcwyPfLdW"
/* Adds a service account (a machine's, such as the spine poller's) whose only role is role, as
 * testenv_add_worker adds a worker, with the password TESTENV_SERVICE_PASSWORD. */
void testenv_add_service_account(testenv_t *env, const char *admin_token, const char *username,
                                 const char *name, const char *role, char id[32]);
/* Adds a person (female, born dob YYYY-MM-DD) as the worker of token; fails the test on refusal. */
/* Ends a worker's account (POST /api/v1/workers/{id}/end) with reason, asserting the 200: a leaver. */
void testenv_end_worker(testenv_t *env, const char *admin_token, const char *worker_id, const char *reason);
void testenv_add_person(testenv_t *env, const char *token, const char *given, const char *family,
                        const char *dob, char id[32]);
/* A date from the server's clock, as YYYY-MM-DD: expr is SQL, e.g. "current_date + 30". */
void testenv_sql_date(testenv_t *env, const char *expr, char out[16]);
/* A single number from a superuser query, or -1. */
long testenv_sql_long(testenv_t *env, const char *sql);
/* Waits until the audit daemon has applied every event the records, workflow and cpis daemons have
 * committed (its inbox has reached each relay's last sequence, and nothing is left unnumbered); 0,
 * or -1 after timeout_ms. */
int testenv_wait_audit_caught_up(testenv_t *env, int timeout_ms);
/* Once the trail has caught up, the summaries of a person's audit entries whose action is one of
 * actions (comma-separated: "flag-retention,unflag-retention"), oldest first, one a line, into out. */
void testenv_audit_summaries(testenv_t *env, const char *person, const char *actions, char *out, size_t size);
/* A demo worker's id (signing in as them). */
void testenv_worker_id(testenv_t *env, const char *username, char out[32]);

/* Starts another tessera-<daemon> on the suite's configuration with one more setting (NAME=value
 * in the environment, e.g. "TESSERA_SMTP_URL=http://x") and asserts that it refuses to start, within
 * 20 s, saying each of the NULL-terminated texts. */
void testenv_assert_refuses_to_start(testenv_t *env, const char *daemon, const char *setting, ...);

/* A sample's value in a Prometheus text (the gateway's /metrics, a poller's metrics file): the first
 * sample of name whose labels hold label (e.g. "queue=\"cp-is-worker\""; NULL for any); -1 when there
 * is none. */
double testenv_metric_in(const char *text, const char *name, const char *label);
/* The same from the gateway's /metrics, which gathers every daemon's. */
double testenv_metric(testenv_t *env, const char *name, const char *label);

/* A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts itself). */
int testenv_free_port(void);
/* Runs `tessera --config <the suite's config> args` (a shell command line), its output and errors
 * into out; its exit status, or -1 when it did not exit. */
int testenv_run_tool(testenv_t *env, const char *args, char *out, size_t size);
/* Writes text to a file of that name in the suite's directory; returns its malloc'd path. */
char *testenv_write_file(testenv_t *env, const char *name, const char *text);

/* One HTTP call that must answer status (else the test fails, naming the call and the body it got);
 * its JSON (a new reference, NULL when none). */
json_t *testenv_call_json(testenv_t *env, const char *token, const char *method, const char *path,
                          const char *body, long status);
/* The same with one extra header line (as testenv_http takes it), e.g. an X-Access-Reason. */
json_t *testenv_call_json_with(testenv_t *env, const char *token, const char *method, const char *path,
                               const char *body, const char *header, long status);
/* A string member of a JSON object, "" when missing or not a string. */
const char *testenv_str(const json_t *obj, const char *key);
/* The item of GET path's "items" whose string member key is value (a new reference), asked again
 * every 50 ms for up to wait_ms (what another daemon learns from an event takes a moment); NULL
 * when none came. */
json_t *testenv_item_of(testenv_t *env, const char *token, const char *path, const char *key,
                        const char *value, int wait_ms);
/* Whether a folder of the workview ("/api/v1/workview" and query, "" or e.g. "?queue=cp-is-worker")
 * lists the item whose key (step_id or request_id) is id. */
int testenv_in_folder(testenv_t *env, const char *token, const char *query, const char *folder,
                      const char *key, const char *id);

/* A valid NHS number (its modulus-11 check digit right), a new one on every call in the process. */
void testenv_new_nhs_number(char out[11]);

/* Asserts an error body: the status, {"error": {"code": code, "message": non-empty}}. */
void testenv_assert_error(const testenv_response_t *r, long status, const char *code);
/* One HTTP call that must be refused: asserts its status and error code and, when field is not NULL,
 * the field it names; says the call and the body when it is not so. */
void testenv_call_error(testenv_t *env, const char *token, const char *method, const char *path,
                        const char *body, long status, const char *code, const char *field);

#endif
