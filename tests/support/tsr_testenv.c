#include "tsr_testenv.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

static const char *const testenv_daemons[TESTENV_DAEMONS] = {"accounts",      "records",       "audit",
                                                             "workflow",      "consultations", "reporting",
                                                             "notifications", "cpis",          "gateway"};

/* ------------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------------- */

static void testenv__sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int testenv__run(const char *cmd)
{
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void testenv__print_logs(testenv_t *env)
{
    for (int i = 0; i < TESTENV_DAEMONS; i++) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "echo '--- tail of %s/logs/%s.log' >&2; tail -n 20 %s/logs/%s.log >&2",
                 env->dir, testenv_daemons[i], env->dir, testenv_daemons[i]);
        if (testenv__run(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
}

static void testenv__die(testenv_t *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (env != NULL)
        testenv__print_logs(env);
    fail_msg("test environment failed");
}

static int testenv__index(const char *daemon)
{
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        if (strcmp(testenv_daemons[i], daemon) == 0)
            return i;
    fail_msg("no daemon %s", daemon);
    return -1;
}

const char *testenv_daemon_name(int index)
{
    return testenv_daemons[index];
}

/* ------------------------------------------------------------------------------------------------
 * Environments still running at exit
 *
 * A failed assertion leaves the test function at once, so its environment is never stopped. The
 * daemons die with the test process (PR_SET_PDEATHSIG), but PostgreSQL runs detached: stop it
 * here, and keep the directory for whoever reads the failure.
 * ---------------------------------------------------------------------------------------------- */

#define TESTENV_LIVE_MAX 8
static testenv_t *testenv_live[TESTENV_LIVE_MAX];

static void testenv__at_exit(void)
{
    for (int i = 0; i < TESTENV_LIVE_MAX; i++) {
        testenv_t *env = testenv_live[i];
        if (env == NULL)
            continue;
        testenv_live[i] = NULL;
        for (int d = 0; d < TESTENV_DAEMONS; d++)
            if (env->pids[d] > 0) {
                kill(env->pids[d], SIGKILL);
                waitpid(env->pids[d], NULL, 0);
            }
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh stop %s > /dev/null 2>&1", TSR_SOURCE_DIR,
                 env->dir);
        testenv__run(cmd);
        fprintf(stderr, "test environment left behind by a failed test: logs kept in %s\n", env->dir);
    }
}

static void testenv__track(testenv_t *env, int live)
{
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(testenv__at_exit);
    }
    for (int i = 0; i < TESTENV_LIVE_MAX; i++) {
        if (live && testenv_live[i] == NULL) {
            testenv_live[i] = env;
            return;
        }
        if (!live && testenv_live[i] == env) {
            testenv_live[i] = NULL;
            return;
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 * Daemons
 * ---------------------------------------------------------------------------------------------- */

static int testenv__spawn(testenv_t *env, int index)
{
    char exe[512], log[512];
    snprintf(exe, sizeof(exe), "%s/tessera-%s", TSR_BIN_DIR, testenv_daemons[index]);
    snprintf(log, sizeof(log), "%s/logs/%s.log", env->dir, testenv_daemons[index]);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* A test that crashes or is killed by ctest's timeout takes its daemons with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("TESSERA_HTTP_ADDR", "127.0.0.1:0", 1);
        /* Quick catch-up in tests: relay and replay timers of a few hundred ms. */
        setenv("TESSERA_TESSERA_RELAY_INTERVAL_MS", "200", 1);
        setenv("TESSERA_TESSERA_REPLAY_IDLE_MS", "300", 1);
        execl(exe, exe, "--config", env->config, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        testenv__die(env, "fork: %s", strerror(errno));
    return pid;
}

static int testenv__read_addr(testenv_t *env)
{
    char path[400], addr[100] = "";
    snprintf(path, sizeof(path), "%s/run/gateway.addr", env->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int ok = fgets(addr, sizeof(addr), f) != NULL;
    fclose(f);
    addr[strcspn(addr, "\r\n")] = '\0';
    if (!ok || addr[0] == '\0')
        return -1;
    pthread_mutex_lock(&env->lock);
    snprintf(env->base_url, sizeof(env->base_url), "http://%s", addr);
    pthread_mutex_unlock(&env->lock);
    return 0;
}

static void testenv__wait_ready(testenv_t *env)
{
    for (int i = 0; i < 600; i++) {
        for (int d = 0; d < TESTENV_DAEMONS; d++) {
            int status;
            if (env->pids[d] > 0 && waitpid(env->pids[d], &status, WNOHANG) == env->pids[d]) {
                env->pids[d] = 0;
                testenv__die(env, "tessera-%s exited while the suite was starting (status %d)",
                             testenv_daemons[d],
                             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            }
        }
        if (testenv__read_addr(env) == 0) {
            testenv_response_t r = testenv_http(env, "GET", "/readyz", NULL, NULL, NULL);
            long status = r.status;
            testenv_response_free(&r);
            if (status == 200)
                return;
        }
        testenv__sleep_ms(100);
    }
    testenv__die(env, "the suite was not ready within 60 s");
}

testenv_t *testenv_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    testenv_t *env = calloc(1, sizeof(*env));
    assert_non_null(env);
    pthread_mutex_init(&env->lock, NULL);
    /* Short: ZeroMQ's ipc:// paths under it must fit in a sockaddr_un. */
    snprintf(env->dir, sizeof(env->dir), "/tmp/tsr-it-XXXXXX");
    if (mkdtemp(env->dir) == NULL)
        testenv__die(NULL, "mkdtemp: %s", strerror(errno));
    snprintf(env->config, sizeof(env->config), "%s/tessera.conf", env->dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh init %s > %s.init.log 2>&1", TSR_SOURCE_DIR, env->dir,
             env->dir);
    if (testenv__run(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s.init.log >&2", env->dir);
        testenv__run(cmd);
        testenv__die(NULL, "scripts/instance.sh init %s failed", env->dir);
    }
    testenv__track(env, 1);
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/logs", env->dir);
    testenv__run(cmd);
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        env->pids[i] = testenv__spawn(env, i);
    testenv__wait_ready(env);
    snprintf(cmd, sizeof(cmd),
             "%s/tessera --config %s demo load %s/deploy/demo/demo.json > %s/logs/demo.log 2>&1", TSR_BIN_DIR,
             env->config, TSR_SOURCE_DIR, env->dir);
    if (testenv__run(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s/logs/demo.log >&2", env->dir);
        testenv__run(cmd);
        testenv__die(env, "tessera demo load failed; see %s/logs/demo.log", env->dir);
    }
    /* Records and the workflow daemon know the demo's accounts from their events: a test that
     * allocates a demo worker or assigns them work first thing would otherwise race the last ones. */
    const char *known =
        "SELECT (NOT EXISTS (SELECT id FROM accounts.workers EXCEPT SELECT id FROM records.workers)"
        " AND NOT EXISTS (SELECT id FROM accounts.workers EXCEPT SELECT id FROM workflow.workers))::int";
    for (int waited = 0; testenv_sql_long(env, known) != 1; waited += 50) {
        if (waited > 10000)
            testenv__die(env, "the demo's workers not known to records and workflow after 10 s");
        usleep(50 * 1000);
    }
    return env;
}

testenv_t *testenv;

int testenv_group_setup(void **state)
{
    (void)state;
    testenv = testenv_start();
    return 0;
}

static int testenv__stop(testenv_t *env);

int testenv_group_teardown(void **state)
{
    (void)state;
    int rc = testenv__stop(testenv);
    testenv = NULL;
    if (rc != 0) {
        /* cmocka does not count a failed group teardown in the program's exit status, and a daemon
         * that leaked or tripped a sanitizer at shutdown must fail the test. */
        fprintf(stderr, "[  FAILED  ] the daemons did not stop cleanly (see above)\n");
        exit(1);
    }
    return 0;
}

int testenv_wait_exit(testenv_t *env, const char *daemon, int timeout_ms)
{
    int i = testenv__index(daemon);
    if (env->pids[i] <= 0)
        return 0;
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int status;
        if (waitpid(env->pids[i], &status, WNOHANG) == env->pids[i]) {
            env->pids[i] = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + WTERMSIG(status);
        }
        testenv__sleep_ms(20);
    }
    return -1;
}

void testenv_kill(testenv_t *env, const char *daemon, int signal)
{
    int i = testenv__index(daemon);
    assert_true(env->pids[i] > 0);
    kill(env->pids[i], signal);
    if (signal == SIGKILL)
        assert_int_equal(testenv_wait_exit(env, daemon, 10000), 128 + SIGKILL);
}

void testenv_restart(testenv_t *env, const char *daemon)
{
    int i = testenv__index(daemon);
    assert_int_equal(env->pids[i], 0);
    env->pids[i] = testenv__spawn(env, i);
    testenv__wait_ready(env);
}

void testenv_wait_ready(testenv_t *env)
{
    testenv__wait_ready(env);
}

long testenv_wait_answering(testenv_t *env)
{
    for (int i = 0; i < 600; i++) {
        if (testenv__read_addr(env) == 0) {
            testenv_response_t r = testenv_http(env, "GET", "/readyz", NULL, NULL, NULL);
            long status = r.status;
            testenv_response_free(&r);
            if (status != 0)
                return status;
        }
        testenv__sleep_ms(100);
    }
    return 0;
}

void testenv_start_alone(testenv_t *env, const char *daemon)
{
    int i = testenv__index(daemon);
    assert_int_equal(env->pids[i], 0);
    env->pids[i] = testenv__spawn(env, i);
}

void testenv_restart_with(testenv_t *env, const char *daemon, const char *name, const char *value)
{
    setenv(name, value, 1);
    testenv_kill(env, daemon, SIGTERM);
    assert_int_equal(testenv_wait_exit(env, daemon, 15000), 0);
    testenv_restart(env, daemon);
    unsetenv(name);
}

int testenv_log_count(testenv_t *env, const char *daemon, const char *text, const char *also)
{
    char path[400], line[8192];
    snprintf(path, sizeof(path), "%s/logs/%s.log", env->dir, daemon);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, text) != NULL && (also == NULL || strstr(line, also) != NULL);
    fclose(f);
    return n;
}

int testenv_log_has(testenv_t *env, const char *daemon, const char *text)
{
    return testenv_log_count(env, daemon, text, NULL) > 0;
}

static int testenv__log_is_clean(testenv_t *env, const char *daemon)
{
    static const char *const alarms[] = {"ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                                         "Assertion", "ThreadSanitizer"};
    for (size_t i = 0; i < sizeof(alarms) / sizeof(alarms[0]); i++)
        if (testenv_log_has(env, daemon, alarms[i]))
            return 0;
    return 1;
}

/* Stops the suite; -1 (having said why, with the daemons' logs) when it did not stop cleanly. */
static int testenv__stop(testenv_t *env)
{
    if (env == NULL)
        return 0;
    for (int i = 0; i < TESTENV_DAEMONS; i++)
        if (env->pids[i] > 0)
            kill(env->pids[i], SIGTERM);
    int failed = 0;
    for (int i = 0; i < TESTENV_DAEMONS; i++) {
        int rc = testenv_wait_exit(env, testenv_daemons[i], 15000);
        if (rc != 0) {
            fprintf(stderr, "tessera-%s did not stop cleanly on SIGTERM (%s %d)\n", testenv_daemons[i],
                    rc == -1 ? "still running after 15 s;" : "exit status", rc);
            if (rc == -1) {
                kill(env->pids[i], SIGKILL);
                testenv_wait_exit(env, testenv_daemons[i], 5000);
            }
            failed = 1;
        }
        if (!testenv__log_is_clean(env, testenv_daemons[i])) {
            fprintf(stderr, "tessera-%s's log reports a sanitizer error or a failed assertion\n",
                    testenv_daemons[i]);
            failed = 1;
        }
    }
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh stop %s > /dev/null 2>&1", TSR_SOURCE_DIR, env->dir);
    testenv__run(cmd);
    testenv__track(env, 0);
    if (failed) {
        fprintf(stderr, "the suite did not shut down cleanly; logs kept in %s\n", env->dir);
        testenv__print_logs(env);
        return -1;
    }
    const char *keep = getenv("TESSERA_KEEP_TEST_DIRS");
    if (keep == NULL || strcmp(keep, "1") != 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s %s.init.log", env->dir, env->dir);
        testenv__run(cmd);
    } else {
        fprintf(stderr, "test directory kept: %s\n", env->dir);
    }
    pthread_mutex_destroy(&env->lock);
    free(env);
    return 0;
}

void testenv_stop(testenv_t *env)
{
    if (testenv__stop(env) != 0)
        fail_msg("test environment failed");
}

/* ------------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------------- */

static size_t testenv__append(char **buf, size_t *len, const char *data, size_t n)
{
    char *bigger = realloc(*buf, *len + n + 1);
    if (bigger == NULL)
        return 0;
    memcpy(bigger + *len, data, n);
    *buf = bigger;
    *len += n;
    bigger[*len] = '\0';
    return n;
}

static size_t testenv__on_body(char *data, size_t size, size_t n, void *arg)
{
    testenv_response_t *r = arg;
    return testenv__append(&r->body, &r->len, data, size * n);
}

static size_t testenv__on_header(char *data, size_t size, size_t n, void *arg)
{
    testenv_response_t *r = arg;
    size_t len = size * n;
    /* A new status line (after a 100 Continue) starts the headers over. */
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0 && r->headers != NULL) {
        r->headers_len = 0;
        r->headers[0] = '\0';
    }
    return testenv__append(&r->headers, &r->headers_len, data, len);
}

const char *testenv_response_header(const testenv_response_t *r, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    for (const char *line = r->headers; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (line_len > name_len && strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t v_len = (size_t)(line + line_len - v);
            while (v_len > 0 && (v[v_len - 1] == '\r' || v[v_len - 1] == ' '))
                v_len--;
            if (v_len >= size)
                v_len = size - 1;
            memcpy(out, v, v_len);
            out[v_len] = '\0';
            return out;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

double testenv_metric_in(const char *text, const char *name, const char *label)
{
    size_t name_len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len <= name_len || strncmp(line, name, name_len) != 0 ||
            (line[name_len] != '{' && line[name_len] != ' '))
            continue;
        const char *space = memrchr(line, ' ', len);
        const char *at = label ? strstr(line, label) : line;
        if (space != NULL && at != NULL && at < space)
            return atof(space + 1);
    }
    return -1;
}

double testenv_metric(testenv_t *env, const char *name, const char *label)
{
    testenv_response_t r = testenv_http(env, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    double value = testenv_metric_in(r.body, name, label);
    testenv_response_free(&r);
    return value;
}

testenv_response_t testenv_http(testenv_t *env, const char *method, const char *path, const char *token,
                                const char *body, const char *header)
{
    testenv_response_t r = {0};
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return r;
    char url[2048], auth[512];
    pthread_mutex_lock(&env->lock);
    snprintf(url, sizeof(url), "%s%s", env->base_url, path);
    pthread_mutex_unlock(&env->lock);
    /* A Content-Type of the caller's own (or "Content-Type:", none at all) in place of JSON's. */
    struct curl_slist *headers = header != NULL && strncasecmp(header, "Content-Type:", 13) == 0
                                     ? NULL
                                     : curl_slist_append(NULL, "Content-Type: application/json");
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    if (header != NULL)
        headers = curl_slist_append(headers, header);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    if (body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, testenv__on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, testenv__on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (r.status == 0) {
        /* A failed connection says nothing: what arrived of a reply is not a reply. */
        free(r.body);
        r.body = NULL;
        r.len = 0;
    }
    if (r.body != NULL)
        r.json = json_loads(r.body, 0, NULL);
    testenv_response_header(&r, "x-trace-id", r.trace_id, sizeof(r.trace_id));
    return r;
}

char *testenv_raw_http(testenv_t *env, const char *request)
{
    char host[64] = "";
    int port = 0;
    pthread_mutex_lock(&env->lock);
    int parsed = sscanf(env->base_url, "http://%63[^:]:%d", host, &port);
    pthread_mutex_unlock(&env->lock);
    assert_int_equal(parsed, 2);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    assert_int_equal(inet_pton(AF_INET, host, &a.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL), (ssize_t)strlen(request));
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    ssize_t n;
    while (len + 1 < cap && (n = recv(fd, out + len, cap - len - 1, 0)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fd);
    return out;
}

void testenv_response_free(testenv_response_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

char *testenv_login(testenv_t *env, const char *username)
{
    return testenv_login_with(env, username, "tessera-demo");
}

char *testenv_login_with(testenv_t *env, const char *username, const char *password)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", username, password);
    testenv_response_t r = testenv_http(env, "POST", "/api/v1/session", NULL, body, NULL);
    if (r.status != 201)
        fprintf(stderr, "sign-in of %s: %ld %s\n", username, r.status, r.body ? r.body : "");
    assert_int_equal(r.status, 201);
    const char *token = json_string_value(json_object_get(r.json, "token"));
    assert_non_null(token);
    char *copy = strdup(token);
    testenv_response_free(&r);
    return copy;
}

/* ------------------------------------------------------------------------------------------------
 * SQL
 * ---------------------------------------------------------------------------------------------- */

int testenv_psql(testenv_t *env, const char *role, const char *sql, char *out, size_t size)
{
    /* The SQL goes in a file, not on a shell command line; one file per call, for threads. */
    static atomic_int serial;
    char path[400];
    snprintf(path, sizeof(path), "%s/query-%d.sql", env->dir, atomic_fetch_add(&serial, 1));
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(sql, f);
    fclose(f);
    chmod(path, 0644); /* psql runs as the postgres user when the tests run as root */
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s/scripts/instance.sh psql %s %s -At -f %s 2>&1", TSR_SOURCE_DIR, env->dir,
             role ? role : "", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        unlink(path);
        return -1;
    }
    size_t n = 0, got;
    char scratch[4096];
    /* Read everything, keeping what fits, so psql never blocks on a full pipe. */
    while ((got = fread(scratch, 1, sizeof(scratch), p)) > 0) {
        size_t keep = n + got < size - 1 ? got : size - 1 - n;
        memcpy(out + n, scratch, keep);
        n += keep;
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    int rc = pclose(p);
    unlink(path);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

long testenv_sql_long(testenv_t *env, const char *sql)
{
    char out[256];
    if (testenv_psql(env, NULL, sql, out, sizeof(out)) != 0) {
        fprintf(stderr, "SQL failed: %s\n%s\n", sql, out);
        return -1;
    }
    char *end = NULL;
    long v = strtol(out, &end, 10);
    return end == out ? -1 : v;
}

void testenv_assert_refuses_to_start(testenv_t *env, const char *daemon, const char *setting, ...)
{
    char cmd[1200], out[4096];
    snprintf(cmd, sizeof(cmd), "%s timeout 20 %s/tessera-%s --config %s 2>&1; echo \"exit=$?\"", setting,
             TSR_BIN_DIR, daemon, env->config);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    pclose(p);
    if (strstr(out, "exit=0\n") != NULL || strstr(out, "exit=124") != NULL)
        fail_msg("tessera-%s started with %s:\n%s", daemon, setting, out);
    va_list ap;
    va_start(ap, setting);
    for (const char *text = va_arg(ap, const char *); text != NULL; text = va_arg(ap, const char *))
        if (strstr(out, text) == NULL)
            fail_msg("tessera-%s refused %s without saying \"%s\":\n%s", daemon, setting, text, out);
    va_end(ap);
}

int testenv_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

void testenv_sql_date(testenv_t *env, const char *expr, char out[16])
{
    char sql[256], text[64];
    snprintf(sql, sizeof(sql), "SELECT (%s)::date::text", expr);
    assert_int_equal(testenv_psql(env, NULL, sql, text, sizeof(text)), 0);
    snprintf(out, 16, "%.15s", text);
}

static void testenv__add_account(testenv_t *env, const char *admin_token, const char *username,
                                 const char *name, const char *password, const char *rest, char id[32])
{
    char today[16], body[2048];
    testenv_sql_date(env, "current_date", today);
    snprintf(body, sizeof(body),
             "{\"username\":\"%s\",\"name\":\"%s\",\"password\":\"%s\",\"prerequisites\":"
             "{\"dbs_checked_on\":\"%s\",\"training_completed_on\":\"%s\",\"aup_signed_on\":\"%s\","
             "\"conflicts_declared_on\":\"%s\"}%s%s}",
             username, name, password, today, today, today, today, rest && rest[0] ? "," : "",
             rest ? rest : "");
    testenv_response_t r = testenv_http(env, "POST", "/api/v1/workers", admin_token, body, NULL);
    if (r.status != 201)
        fail_msg("adding worker %s: %ld %s", username, r.status, r.body ? r.body : "");
    snprintf(id, 32, "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
    /* Records and the workflow daemon know accounts from their events, moments after: a test that
     * allocates the worker or assigns them work next would otherwise race the event. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT (EXISTS (SELECT 1 FROM records.workers WHERE id = %s)"
             " AND EXISTS (SELECT 1 FROM workflow.workers WHERE id = %s))::int",
             id, id);
    for (int waited = 0; testenv_sql_long(env, sql) != 1; waited += 50) {
        if (waited > 10000)
            fail_msg("worker %s (%s) not known to records and workflow after 10 s", username, id);
        usleep(50 * 1000);
    }
}

void testenv_add_worker(testenv_t *env, const char *admin_token, const char *username, const char *name,
                        const char *rest, char id[32])
{
    testenv__add_account(env, admin_token, username, name, "tessera-demo", rest, id);
}

void testenv_add_service_account(testenv_t *env, const char *admin_token, const char *username,
                                 const char *name, const char *role, char id[32])
{
    char rest[128];
    snprintf(rest, sizeof(rest), "\"roles\":[\"%s\"]", role);
    testenv__add_account(env, admin_token, username, name, TESTENV_SERVICE_PASSWORD, rest, id);
}

void testenv_end_worker(testenv_t *env, const char *admin_token, const char *worker_id, const char *reason)
{
    char path[96], body[256];
    snprintf(path, sizeof(path), "/api/v1/workers/%s/end", worker_id);
    json_t *b = json_pack("{s:s}", "reason", reason);
    char *text = json_dumps(b, JSON_COMPACT);
    snprintf(body, sizeof(body), "%s", text ? text : "{}");
    free(text);
    json_decref(b);
    testenv_response_t r = testenv_http(env, "POST", path, admin_token, body, NULL);
    if (r.status != 200)
        fail_msg("ending worker %s: %ld %s", worker_id, r.status, r.body ? r.body : "");
    testenv_response_free(&r);
}

void testenv_add_person(testenv_t *env, const char *token, const char *given, const char *family,
                        const char *dob, char id[32])
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"legal_name\":{\"given\":\"%s\",\"family\":\"%s\"},\"gender\":\"female\",\"date_of_birth\":"
             "\"%s\"}",
             given, family, dob);
    testenv_response_t r = testenv_http(env, "POST", "/api/v1/people", token, body, NULL);
    if (r.status != 201)
        fail_msg("adding %s %s: %ld %s", given, family, r.status, r.body ? r.body : "");
    snprintf(id, 32, "%s", json_string_value(json_object_get(r.json, "id")));
    testenv_response_free(&r);
}

void testenv_audit_summaries(testenv_t *env, const char *person, const char *actions, char *out, size_t size)
{
    char sql[512];
    assert_int_equal(testenv_wait_audit_caught_up(env, 10000), 0);
    snprintf(sql, sizeof(sql),
             "SELECT summary FROM audit.entries WHERE record_kind = 'person' AND record_id = %s"
             " AND action = ANY (string_to_array('%s', ',')) ORDER BY id",
             person, actions);
    assert_int_equal(testenv_psql(env, NULL, sql, out, size), 0);
}

void testenv_worker_id(testenv_t *env, const char *username, char out[32])
{
    char body[160];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"tessera-demo\"}", username);
    json_t *session = testenv_call_json(env, NULL, "POST", "/api/v1/session", body, 201);
    snprintf(out, 32, "%s", testenv_str(json_object_get(session, "worker"), "id"));
    json_decref(session);
}

int testenv_wait_audit_caught_up(testenv_t *env, int timeout_ms)
{
    /* Every producer the audit daemon follows for the trail: records, workflow and cpis. */
    const char *sql = "SELECT ((SELECT last_seq FROM records.relay_state)"
                      "  = coalesce((SELECT last_seq FROM audit.inbox WHERE producer = 'records'), 0)"
                      " AND NOT EXISTS (SELECT 1 FROM records.outbox WHERE seq IS NULL)"
                      " AND (SELECT last_seq FROM workflow.relay_state)"
                      "  = coalesce((SELECT last_seq FROM audit.inbox WHERE producer = 'workflow'), 0)"
                      " AND NOT EXISTS (SELECT 1 FROM workflow.outbox WHERE seq IS NULL)"
                      " AND (SELECT last_seq FROM cpis.relay_state)"
                      "  = coalesce((SELECT last_seq FROM audit.inbox WHERE producer = 'cpis'), 0)"
                      " AND NOT EXISTS (SELECT 1 FROM cpis.outbox WHERE seq IS NULL))::int";
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (testenv_sql_long(env, sql) == 1)
            return 0;
        testenv__sleep_ms(100);
    }
    return -1;
}

void testenv_call_error(testenv_t *env, const char *token, const char *method, const char *path,
                        const char *body, long status, const char *code, const char *field)
{
    testenv_response_t r = testenv_http(env, method, path, token, body, NULL);
    if (r.status != status)
        fprintf(stderr, "%s %s %s\n", method, path, body ? body : "");
    testenv_assert_error(&r, status, code);
    const char *got = json_string_value(json_object_get(json_object_get(r.json, "error"), "field"));
    if (field != NULL && (got == NULL || strcmp(got, field) != 0))
        fail_msg("%s %s: expected field %s, got %s (%s)", method, path, field, got ? got : "none", r.body);
    testenv_response_free(&r);
}

void testenv_assert_error(const testenv_response_t *r, long status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "expected %ld %s, got %ld: %s\n", status, code, r->status, r->body ? r->body : "");
    assert_int_equal(r->status, status);
    json_t *error = json_object_get(r->json, "error");
    assert_non_null(error);
    const char *got = json_string_value(json_object_get(error, "code"));
    assert_non_null(got);
    if (strcmp(got, code) != 0)
        fprintf(stderr, "expected code %s, got %s\n", code, got);
    assert_string_equal(got, code);
    const char *message = json_string_value(json_object_get(error, "message"));
    assert_non_null(message);
    assert_true(strlen(message) > 10);
    /* Nothing but code, message and (where there is one) field. */
    json_t *field = json_object_get(error, "field");
    assert_true(field == NULL || (json_is_string(field) && json_string_length(field) > 0));
    assert_int_equal(json_object_size(error), field ? 3 : 2);
    /* And every fault, this one among them, each of the same shape. */
    const json_t *faults = json_object_get(r->json, "errors");
    assert_true(json_array_size(faults) >= 1);
    int found = 0;
    size_t i;
    const json_t *f;
    json_array_foreach(faults, i, f)
    {
        const json_t *ff = json_object_get(f, "field");
        assert_true(json_is_string(json_object_get(f, "code")) &&
                    json_is_string(json_object_get(f, "message")));
        assert_int_equal(json_object_size(f), ff ? 3 : 2);
        found |= json_equal(f, error);
    }
    assert_true(found);
    assert_int_equal(json_object_size(r->json), 2);
}

int testenv_run_tool(testenv_t *env, const char *args, char *out, size_t size)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "%s/tessera --config %s %s 2>&1", TSR_BIN_DIR, env->config, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0, got;
    char scratch[4096];
    while ((got = fread(scratch, 1, sizeof(scratch), p)) > 0) {
        size_t keep = n + got < size - 1 ? got : size - 1 - n;
        memcpy(out + n, scratch, keep);
        n += keep;
    }
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

char *testenv_write_file(testenv_t *env, const char *name, const char *text)
{
    char *path = malloc(512);
    assert_non_null(path);
    snprintf(path, 512, "%s/%s", env->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

void testenv_new_nhs_number(char out[11])
{
    static int serial = 100000;
    for (;;) {
        char nine[16];
        snprintf(nine, sizeof(nine), "943%06d", __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
        int sum = 0;
        for (int i = 0; i < 9; i++)
            sum += (nine[i] - '0') * (10 - i);
        int check = 11 - sum % 11;
        if (check == 11)
            check = 0;
        if (check == 10)
            continue;
        memcpy(out, nine, 9);
        out[9] = (char)('0' + check);
        out[10] = '\0';
        return;
    }
}

json_t *testenv_call_json(testenv_t *env, const char *token, const char *method, const char *path,
                          const char *body, long status)
{
    return testenv_call_json_with(env, token, method, path, body, NULL, status);
}

json_t *testenv_call_json_with(testenv_t *env, const char *token, const char *method, const char *path,
                               const char *body, const char *header, long status)
{
    testenv_response_t r = testenv_http(env, method, path, token, body, header);
    if (r.status != status)
        fail_msg("%s %s %s: expected %ld, got %ld %s", method, path, body ? body : "", status, r.status,
                 r.body ? r.body : "");
    json_t *json = r.json ? json_incref(r.json) : NULL;
    testenv_response_free(&r);
    return json;
}

const char *testenv_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

int testenv_in_folder(testenv_t *env, const char *token, const char *query, const char *folder,
                      const char *key, const char *id)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/workview%s", query ? query : "");
    json_t *wv = testenv_call_json(env, token, "GET", path, NULL, 200);
    int found = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(json_object_get(json_object_get(wv, "folders"), folder), "items"), i,
                       item)
    {
        found |= strcmp(testenv_str(item, key), id) == 0;
    }
    json_decref(wv);
    return found;
}

json_t *testenv_item_of(testenv_t *env, const char *token, const char *path, const char *key,
                        const char *value, int wait_ms)
{
    for (int waited = 0;; waited += 50) {
        json_t *list = testenv_call_json(env, token, "GET", path, NULL, 200);
        json_t *found = NULL, *item;
        size_t i;
        json_array_foreach(json_object_get(list, "items"), i, item)
        {
            if (found == NULL && strcmp(testenv_str(item, key), value) == 0)
                found = json_incref(item);
        }
        json_decref(list);
        if (found != NULL || waited >= wait_ms)
            return found;
        usleep(50 * 1000);
    }
}
