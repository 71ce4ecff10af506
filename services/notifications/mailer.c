#include "mailer.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mail_text.h"
#include "tsr_log.h"
#include "tsr_metrics.h"

/* A few at a time, and no longer than this per round, so that a slow server holds few rows. */
#define MAILER_BATCH 10
#define MAILER_ROUND_MS 5000
/* The longest wait between two attempts, however many have failed. */
#define MAILER_RETRY_CAP_MS 3600000L

struct notifications_mailer {
    int on;
    const char *url, *from, *username, *password, *link_base;
    int starttls;
    long timeout_ms, poll_ms, retry_ms, max_attempts;
    tsr_metric_t *sent, *failed, *retried;
};

/* ------------------------------------------------------------------------------------------------
 * One message
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    const char *data;
    size_t len, at;
} mailer_body_t;

static size_t mailer__read(char *buf, size_t size, size_t nitems, void *arg)
{
    mailer_body_t *b = arg;
    size_t n = size * nitems;
    if (n > b->len - b->at)
        n = b->len - b->at;
    memcpy(buf, b->data + b->at, n);
    b->at += n;
    return n;
}

/* How one attempt ended (mailer__send). */
enum { MAILER_SENT = 0, MAILER_RETRY = -1, MAILER_REFUSED = -2, MAILER_UNREACHABLE = -3 };

/* Sends one notice's e-mail: MAILER_SENT, or the failure with the server's or the network's reason
 * in why: refused for good (a 5xx reply: retrying gives the same), the server not reached at all, or
 * anything else, worth trying again. */
static int mailer__send(const notifications_mailer_t *m, const char *notice_id, const char *to,
                        const char *title, const char *link, char *why, size_t why_size)
{
    char plain[400], subject[900], date[64], message[2048];
    notifications_mail_title(title, plain, sizeof(plain), subject, sizeof(subject));
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    int len = snprintf(message, sizeof(message),
                       "Date: %s\r\n"
                       "From: %s\r\n"
                       "To: %s\r\n"
                       "Message-ID: <notice-%s.%lld@tessera>\r\n"
                       "Subject: %s\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=UTF-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n"
                       "\r\n"
                       "%s\r\n"
                       "\r\n"
                       "Open it in Tessera: %s/#%s\r\n"
                       "\r\n"
                       "This e-mail holds no personal details: sign in to Tessera to see the work.\r\n",
                       date, m->from, to, notice_id, (long long)now, subject, plain, m->link_base, link);
    if (len < 0 || (size_t)len >= sizeof(message)) {
        snprintf(why, why_size, "The notice is too long for an e-mail.");
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(why, why_size, "libcurl could not start a transfer.");
        return -1;
    }
    char from[300], rcpt[300], error[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof(from), "<%s>", m->from);
    snprintf(rcpt, sizeof(rcpt), "<%s>", to);
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    mailer_body_t body = {message, (size_t)len, 0};
    curl_easy_setopt(curl, CURLOPT_URL, m->url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, mailer__read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &body);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, m->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, m->timeout_ms);
    /* This runs on a worker thread: no signals for time-outs. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    if (m->starttls)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (m->username[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_USERNAME, m->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, m->password);
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    int outcome = rc == CURLE_OK              ? MAILER_SENT
                  : code >= 500 && code < 600 ? MAILER_REFUSED
                  : code == 0 && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                                  rc == CURLE_OPERATION_TIMEDOUT)
                      ? MAILER_UNREACHABLE
                      : MAILER_RETRY;
    if (outcome == MAILER_REFUSED)
        snprintf(why, why_size, "The mail server refused it for good (%ld): %s", code,
                 error[0] ? error : curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        snprintf(why, why_size, "%s", error[0] ? error : curl_easy_strerror(rc));
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);
    return outcome;
}

/* ------------------------------------------------------------------------------------------------
 * A round: the notices due, each sent and its status kept, in one transaction
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    int sent, failed, retried;
} mailer_round_t;

static int mailer__round(PGconn *conn, void *arg, tsr_error_t *err)
{
    notifications_mailer_t *m = arg;
    mailer_round_t counts = {0};
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", MAILER_BATCH);
    const char *p[1] = {limit};
    /* SKIP LOCKED: a second instance of the daemon takes other notices, never the same. */
    PGresult *due = tsr_db_exec(conn,
                                "SELECT id, email_to, title, link, email_attempts FROM notices"
                                " WHERE email_status = 'pending' AND email_next_at <= now()"
                                " ORDER BY email_next_at LIMIT $1::int FOR UPDATE SKIP LOCKED",
                                1, p, err);
    if (due == NULL)
        return -1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = 0;
    for (int i = 0; i < PQntuples(due) && rc == 0; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > MAILER_ROUND_MS)
            break;
        char why[CURL_ERROR_SIZE + 64] = "";
        int outcome = mailer__send(m, PQgetvalue(due, i, 0), PQgetvalue(due, i, 1), PQgetvalue(due, i, 2),
                                   PQgetvalue(due, i, 3), why, sizeof(why));
        int ok = outcome == MAILER_SENT;
        long attempts = atol(PQgetvalue(due, i, 4)) + 1;
        /* A refusal for good fails at once; a server not reached at all (an outage longer than the
         * attempts last) is tried again, hourly at most, and the e-mail never given up on for it. */
        const char *status = ok                                                             ? "sent"
                             : outcome == MAILER_REFUSED                                    ? "failed"
                             : outcome != MAILER_UNREACHABLE && attempts >= m->max_attempts ? "failed"
                                                                                            : "pending";
        /* Each failure waits twice as long as the last, up to an hour. */
        long wait_ms = m->retry_ms;
        for (long k = 1; k < attempts && wait_ms < MAILER_RETRY_CAP_MS; k++)
            wait_ms *= 2;
        if (wait_ms > MAILER_RETRY_CAP_MS)
            wait_ms = MAILER_RETRY_CAP_MS;
        char wait[32];
        snprintf(wait, sizeof(wait), "%ld", wait_ms);
        const char *q[4] = {PQgetvalue(due, i, 0), status, why, wait};
        PGresult *res =
            tsr_db_exec(conn,
                        "UPDATE notices SET email_status = $2, email_attempts = email_attempts + 1,"
                        " email_error = $3,"
                        " email_sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
                        " email_next_at = CASE WHEN $2 = 'pending'"
                        "  THEN now() + make_interval(secs => $4::bigint / 1000.0) END"
                        " WHERE id = $1::bigint",
                        4, q, err);
        rc = res ? 0 : -1;
        PQclear(res);
        if (ok)
            counts.sent++;
        else if (strcmp(status, "failed") == 0)
            counts.failed++;
        else
            counts.retried++;
        if (!ok)
            tsr_log_warn(NULL, "e-mail for notice %s not delivered (attempt %ld of %ld): %s",
                         PQgetvalue(due, i, 0), attempts, m->max_attempts, why);
    }
    PQclear(due);
    if (rc == 0) {
        tsr_metric_add(m->sent, counts.sent);
        tsr_metric_add(m->failed, counts.failed);
        tsr_metric_add(m->retried, counts.retried);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------------
 * Life cycle
 * ---------------------------------------------------------------------------------------------- */

notifications_mailer_t *notifications_mailer_new(tsr_daemon_t *daemon, tsr_error_t *err)
{
    const tsr_config_t *config = tsr_daemon_config(daemon);
    notifications_mailer_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        return NULL;
    }
    m->url = tsr_config_get(config, "smtp.url", "");
    m->from = tsr_config_get(config, "smtp.from", "tessera@localhost");
    m->username = tsr_config_get(config, "smtp.username", "");
    m->password = tsr_config_get(config, "smtp.password", "");
    m->link_base = tsr_config_get(config, "notifications.link_base", "http://127.0.0.1:8080");
    m->on = m->url[0] != '\0';
    int starttls = 0;
    if (tsr_config_get_bool(config, "smtp.starttls", 0, &starttls, err) != 0)
        goto fail;
    m->starttls = starttls;
    if (m->on && strncmp(m->url, "smtp://", 7) != 0 && strncmp(m->url, "smtps://", 8) != 0) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "smtp.url",
                      "smtp.url must be smtp://host:port or smtps://host:port, not \"%s\".", m->url);
        goto fail;
    }
    if (strchr(m->from, '@') == NULL || strpbrk(m->from, "<>\r\n ") != NULL) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "smtp.from",
                      "smtp.from must be one e-mail address, e.g. tessera@council.example, not \"%s\".",
                      m->from);
        goto fail;
    }
    if (tsr_config_get_long(config, "smtp.timeout_ms", 10000, 100, 300000, &m->timeout_ms, err) != 0 ||
        tsr_config_get_long(config, "smtp.poll_ms", 1000, 20, 3600000, &m->poll_ms, err) != 0 ||
        tsr_config_get_long(config, "smtp.retry_ms", 60000, 10, MAILER_RETRY_CAP_MS, &m->retry_ms, err) !=
            0 ||
        tsr_config_get_long(config, "smtp.max_attempts", 8, 1, 100, &m->max_attempts, err) != 0)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tsr_error_set(err, TSR_E_INTERNAL, "curl_failed", NULL, "libcurl could not be initialised.");
        goto fail;
    }
    m->sent = tsr_metrics_counter("tessera_notifications_emails_sent_total",
                                  "E-mail notices the SMTP server accepted.", NULL);
    m->retried = tsr_metrics_counter("tessera_notifications_email_retries_total",
                                     "E-mail attempts that failed and will be tried again.", NULL);
    m->failed = tsr_metrics_counter("tessera_notifications_emails_failed_total",
                                    "E-mail notices given up after the last attempt.", NULL);
    if (!m->on)
        tsr_log_info(NULL, "e-mail notices are off: smtp.url is not set");
    else if (tsr_daemon_every(daemon, "e-mail round", m->poll_ms, mailer__round, m) != 0) {
        tsr_error_set(err, TSR_E_INTERNAL, "no_timer", NULL, "The e-mail round could not be scheduled.");
        curl_global_cleanup();
        goto fail;
    }
    return m;
fail:
    free(m);
    return NULL;
}

void notifications_mailer_destroy(notifications_mailer_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    curl_global_cleanup();
    free(*self_p);
    *self_p = NULL;
}
