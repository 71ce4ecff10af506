/* tessera-spine-poller: brings CP-IS access notifications from the spool directory where the Spine
 * connection leaves them (*.json batch files, docs/cpis-feed.md) to the gateway, on a schedule.
 *
 *   tessera-spine-poller --config FILE [--once]
 *
 * In loop mode, SIGUSR1 has it read the spool at once. SIGTERM stops it once the parts in flight are
 * answered; the rest of the file stays in the spool for the next run.
 *
 * Each file is posted in parts of batch_size notifications, signed in as a service account (role
 * cpis-service), up to parallel_parts of them in flight at once (the next part travels and is
 * checked while the one before is committed). A file leaves the spool for done/ only once the
 * gateway has acknowledged every part; parts that failed (gateway down, refused) stay in the spool file,
 * rewritten atomically with only them, for the next run. Killed at any moment, nothing is lost: the spool
 * file is replaced only by rename, and a part posted twice is harmless because cpis drops a notification
 * whose id it already has. Notifications cpis judged faulty are acknowledged too (they are in its
 * error queue, for system support): posting them again would change nothing. Only the file read is
 * moved or rewritten: one delivered again under its name meanwhile is left for the next pass, sent in
 * full (poller__move_read, poller__rewrite_read). done/ keeps a file
 * keep_days (30) after its acknowledgement, then the poller removes it: cpis holds its notifications.
 * A sign-in the gateway refuses (a wrong password, sign-in under the account paused) is made once a
 * pass, not once a file: every wrong password brings the account's pause nearer. Every pass signs in,
 * afresh and with password_file read again, even with nothing to send: a poller that cannot reach the
 * gateway or sign in fails each pass (and says why), so that the alert on its last success fires
 * before a child's notification is held up. The pass signs out as it ends. gateway_url is checked at
 * start-up.
 *
 * A notification that cannot be read (bytes that are not UTF-8, a member given twice, a value that
 * is not JSON) is sent in its place as a stand-in naming the fault and showing its text
 * ({"tessera_unreadable": ...}), which cpis puts in its error queue with the reason: the file's
 * other notifications go on. A file that is not a batch at all (not JSON, no list of
 * notifications) goes to rejected/ with a <name>.error beside it saying why, once the same stand-in
 * for the file has reached the error queue (so system support sees it): it would fail the same way
 * on every run, and kept in the spool it would hide among the files still to send. Fixed, it can be
 * put back in the spool.
 *
 * A file is read only once it has lain unmodified for settle_ms (10 s): the Spine connection should
 * write it aside and rename it into the spool, and one that writes it in place must not have half a
 * batch read and set aside. A file not yet settled waits for the next pass (in loop mode, a pass as
 * soon as it has settled).
 *
 * The national service's responses to the council's plan upload files ({"file_sequence_number",
 * "status": "CPF..", "records": [...]}) come through the same spool: each is posted to
 * /api/v1/cpis/uploads/{n}/response, to done/ once read (or read before), to rejected/ when the
 * gateway refuses it as it stands. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tsr_config.h"
#include "tsr_log.h"
#include "tsr_daemon.h"
#include "tsr_error.h"
#include "tsr_json.h"
#include "tsr_metrics.h"
#include "tsr_text.h"

#include "poller_batch.h"

#define POLLER_FILES_MAX 4096
#define POLLER_PART_HEAD "{\"notifications\":["

typedef struct {
    const char *spool_dir;
    char *gateway_url; /* checked at start-up: http(s)://host[:port][/prefix], without a trailing '/' */
    const char *username;
    char *password;            /* spine_poller.password, read at start-up; NULL when password_file is set */
    const char *password_file; /* read again at each sign-in: a corrected file is used at the next pass */
    long interval_minutes;
    long retry_seconds; /* after a pass that kept notifications back, the next comes this soon (doubling) */
    long batch_size;
    long max_body_bytes; /* the gateway's http.max_body_bytes: no part is larger */
    long parallel_parts;
    long timeout_s;
    long keep_days;           /* how long done/ keeps a file once it is acknowledged */
    long settle_ms;           /* how long a file must lie unmodified before it is read */
    time_t settles_at;        /* when the first file this pass left unsettled will have settled; 0: none */
    const char *metrics_file; /* where each pass's gauges are written, for a node exporter; NULL for none */
    char *token;
    int sign_in_failed;  /* the sign-in made while a file was read failed (and said why) */
    int sign_in_refused; /* the gateway refused the account's sign-in this pass: none again until the next */
    int sign_in_tried;   /* this pass has tried to sign in (so it knows whether the gateway takes it) */
    int signed_in;       /* and has, at least once */
    int no_password;     /* password_file could not be read this pass: no sign-in until the next */
    int files_failed;    /* files of this pass kept back (not sent whole) */
    char http_error[CURL_ERROR_SIZE]; /* why the last call could not reach the gateway */
    CURL *curl;
} poller_t;

static volatile sig_atomic_t poller_stopping;
/* SIGUSR1: read the spool now rather than at the next interval (a file put back from rejected/, or
 * one the Spine connection has just left that should not wait hours). */
static volatile sig_atomic_t poller_woken;

static void poller__on_signal(int sig)
{
    if (sig == SIGUSR1)
        poller_woken = 1;
    else
        poller_stopping = 1;
}

static void poller__log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void poller__log(const char *level, const char *fmt, ...)
{
    /* JSON lines, as every daemon of the suite logs (tsr_log), so that one collector reads them all. */
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    tsr_log_level_t l = strcmp(level, "error") == 0  ? TSR_LOG_ERROR
                        : strcmp(level, "warn") == 0 ? TSR_LOG_WARN
                                                     : TSR_LOG_INFO;
    tsr_log_write(l, NULL, "%s", message);
}

/* ------------------------------------------------------------------------------------------------
 * Files: written whole to a temporary name, synced, then renamed over (all or nothing)
 * ---------------------------------------------------------------------------------------------- */

/* dir/.name.tmp holding text, synced: 0, or -1 (nothing left behind). */
static int poller__write_tmp(const char *dir, const char *name, const char *text, char *tmp, size_t size)
{
    snprintf(tmp, size, "%s/.%s.tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* A rename or link in dir survives a crash once the directory is synced. */
static void poller__sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

static int poller__write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[8192], path[8192];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (poller__write_tmp(dir, name, text, tmp, sizeof(tmp)) != 0)
        return -1;
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    poller__sync_dir(dir);
    return 0;
}

/* The k-th name tried for name: name itself, then name.1, name.2, ... (in done/ and rejected/), or in
 * the spool, where only *.json is read, stem.1.json, stem.2.json, ... (each sorting before
 * stem.json, as the digit sorts before the j). */
static void poller__nth_name(const char *name, int k, int in_spool, char *out, size_t size)
{
    size_t len = strlen(name);
    if (k == 0)
        snprintf(out, size, "%s", name);
    else if (in_spool && len > 5 && strcmp(name + len - 5, ".json") == 0)
        snprintf(out, size, "%.*s.%d.json", (int)(len - 5), name, k);
    else
        snprintf(out, size, "%s.%d", name, k);
}

/* A name in dir not yet taken: name, else name.1, name.2, ... */
static void poller__free_name(const char *dir, const char *name, char *out, size_t size)
{
    struct stat st;
    char path[8192];
    for (int k = 0; k < 10000; k++) {
        poller__nth_name(name, k, 0, out, size);
        snprintf(path, sizeof(path), "%s/%s", dir, out);
        if (stat(path, &st) != 0)
            return;
    }
}

/* Puts the file at tmp (in dir) under the first of name's names (poller__nth_name) not taken, never
 * over a file there: a link fails where the name is taken, where a rename would replace it. The name
 * at out; 0, or -1 (tmp left as it is). */
static int poller__place_new(const char *dir, const char *tmp, const char *name, int in_spool, char *out,
                             size_t size)
{
    char path[8192];
    for (int k = 0; k < 10000; k++) {
        poller__nth_name(name, k, in_spool, out, size);
        snprintf(path, sizeof(path), "%s/%s", dir, out);
        if (link(tmp, path) == 0) {
            unlink(tmp);
            poller__sync_dir(dir);
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}

/* ------------------------------------------------------------------------------------------------
 * The file read, and only it, moved or rewritten
 *
 * The Spine connection delivers a file by renaming it into the spool, and may deliver another under
 * the same name while the poller is still sending the first (or write one in place). Moved or
 * rewritten by its name, the new delivery would go to done/ unsent, or be overwritten by what was
 * left of the first: so the poller keeps which file it read (device, inode, size and time of its
 * last change, at open), and moves or rewrites the file at the name only while it is still that one.
 * Another is a new delivery: left in the spool, to be read and sent in full on the next pass.
 * ---------------------------------------------------------------------------------------------- */

/* Which file was read, as fstat saw it when it was opened; known 0 when it could not be opened. */
typedef struct {
    int known;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} poller_ident_t;

/* A spool file as read: its text (NUL-terminated; NULL when it could not be read) and which it was. */
typedef struct {
    char *text;
    size_t len;
    poller_ident_t id;
} poller_read_t;

static void poller__ident(const struct stat *st, poller_ident_t *id)
{
    *id = (poller_ident_t){1, st->st_dev, st->st_ino, st->st_size, st->st_mtim};
}

/* Whether path is the file read: 1 it is, 0 it is another or none. */
static int poller__is_read(const char *path, const poller_ident_t *id)
{
    struct stat st;
    return id->known && stat(path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino &&
           st.st_size == id->size && st.st_mtim.tv_sec == id->mtime.tv_sec &&
           st.st_mtim.tv_nsec == id->mtime.tv_nsec;
}

/* A file was left in the spool for the next pass as a new delivery: in loop mode, that pass comes as
 * soon as it has settled, not an interval later. */
static void poller__pass_again(poller_t *p, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", p->spool_dir, name);
    time_t at = stat(path, &st) == 0 ? st.st_mtim.tv_sec + (time_t)(p->settle_ms / 1000) + 1 : time(NULL);
    if (p->settles_at == 0 || at < p->settles_at)
        p->settles_at = at;
}

/* What was read of name, kept in to/ (done/, rejected/) under a name not taken (at target) where the
 * file itself could not be moved there: 0, or -1. */
static int poller__keep_copy(const poller_t *p, const char *name, const char *to, const poller_read_t *r,
                             char *target, size_t size)
{
    char dir[4096], tmp[8192];
    snprintf(dir, sizeof(dir), "%s/%s", p->spool_dir, to);
    snprintf(target, size, "(none)");
    if (r->text == NULL || poller__write_tmp(dir, name, r->text, tmp, sizeof(tmp)) != 0)
        return -1;
    if (poller__place_new(dir, tmp, name, 0, target, size) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Moves the file read (r) from the spool to to/ (done/, rejected/) under a name not taken there (at
 * target). 0 moved; 1 the file at name is no longer the one read: it is left in the spool, a new
 * delivery, and what was read is kept in to/ instead (at target, "(none)" when it could not be); -1
 * failed, nothing moved. */
static int poller__move_read(poller_t *p, const char *name, const char *to, const poller_read_t *r,
                             char *target, size_t size)
{
    char dir[4096], from[8192], dest[8192];
    snprintf(dir, sizeof(dir), "%s/%s", p->spool_dir, to);
    snprintf(from, sizeof(from), "%s/%s", p->spool_dir, name);
    poller__free_name(dir, name, target, size);
    snprintf(dest, sizeof(dest), "%s/%s", dir, target);
    if (poller__is_read(from, &r->id)) {
        if (rename(from, dest) != 0) {
            poller__log("error", "could not move %s to %s: %s", from, dest, strerror(errno));
            return -1;
        }
        if (poller__is_read(dest, &r->id)) {
            poller__sync_dir(p->spool_dir);
            poller__sync_dir(dir);
            /* The file's age in done/ counts from now, when it was acknowledged, not from when the
             * Spine connection wrote it: done/'s keep_days is a time after the acknowledgement. */
            if (strcmp(to, "done") == 0 && utimensat(AT_FDCWD, dest, NULL, 0) != 0)
                poller__log("warn", "could not set the time of %s: %s; it may leave done/ early", dest,
                            strerror(errno));
            return 0;
        }
        /* Another file came under the name between the look and the rename: it goes back (never over
         * a file come since, which keeps its name: this one then takes the next free one). */
        char back[1024];
        if (poller__place_new(p->spool_dir, dest, name, 1, back, sizeof(back)) != 0) {
            poller__log("error",
                        "%s came into the spool while %s was moved to %s/, and was moved with it; it could "
                        "not be put back (%s): move %s back into the spool to have it sent",
                        name, name, to, strerror(errno), dest);
            return -1;
        }
    }
    poller__pass_again(p, name);
    if (poller__keep_copy(p, name, to, r, target, size) != 0)
        poller__log("error", "could not keep in %s/ a copy of %s as it was read: %s", to, name,
                    strerror(errno));
    return 1;
}

/* Replaces the file read (r) in the spool by rest (what of it is still to send), while it is still the
 * one read. 0 rewritten; 1 the file at name is another now (a new delivery, left as it is): rest is
 * written beside it under a name of its own (at written) that sorts before it; -1 failed, the spool
 * as it was. */
static int poller__rewrite_read(poller_t *p, const char *name, const poller_read_t *r, const char *rest,
                                char *written, size_t size)
{
    char tmp[8192], path[8192];
    snprintf(path, sizeof(path), "%s/%s", p->spool_dir, name);
    snprintf(written, size, "%s", name);
    if (poller__write_tmp(p->spool_dir, name, rest, tmp, sizeof(tmp)) != 0)
        return -1;
    if (poller__is_read(path, &r->id)) {
        /* Exchanged, not renamed over: what was at the name is then at tmp, to be looked at, so that a
         * file delivered between the look and the exchange is not overwritten unseen. Where the file
         * system cannot exchange, a rename over (after the look just made) does. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
            if (poller__is_read(tmp, &r->id)) {
                unlink(tmp);
                poller__sync_dir(p->spool_dir);
                return 0;
            }
            if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) != 0) {
                poller__log("error",
                            "%s came into the spool while %s was rewritten; it is at %s, and the %s there "
                            "holds what is still to send of the file read: rename %s to a name ending in "
                            ".json to have it sent",
                            name, name, tmp, name, tmp);
                return -1;
            }
        } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
            if (rename(tmp, path) != 0) {
                unlink(tmp);
                return -1;
            }
            poller__sync_dir(p->spool_dir);
            return 0;
        } else if (errno != ENOENT) {
            unlink(tmp);
            return -1;
        }
    }
    poller__pass_again(p, name);
    if (poller__place_new(p->spool_dir, tmp, name, 1, written, size) != 0) {
        unlink(tmp);
        return -1;
    }
    return 1;
}

/* Removes the files done/ has kept keep_days since their acknowledgement. By then cpis holds every
 * notification in its own tables (and the error queue each it could not accept), so a file kept any
 * longer is only a second copy of children's NHS numbers and where they were seen, held for no
 * purpose: what the council's retention rule forbids. rejected/ is left alone: its files wait for
 * a person to put them right. */
static void poller__prune_done(const poller_t *p)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/done", p->spool_dir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        poller__log("error", "cannot read %s: %s", dir, strerror(errno));
        return;
    }
    time_t before = time(NULL) - (time_t)p->keep_days * 86400;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime > before)
            continue;
        if (unlink(path) != 0)
            poller__log("error", "could not remove %s: %s", path, strerror(errno));
        else
            poller__log("info", "removed %s: acknowledged more than %ld days ago (spine_poller.keep_days)",
                        path, p->keep_days);
    }
    closedir(d);
}

static int poller__sign_in(poller_t *p);
static void poller__http(poller_t *p, const char *method, const char *path, const char *body, long timeout_s,
                         long *status, json_t **reply);
static const char *poller__error_message(const json_t *reply);

/* Whether this pass may sign in no more: the gateway refused the account, or the password file could
 * not be read. The files left wait in the spool untouched. */
static int poller__sign_in_stopped(const poller_t *p)
{
    return p->sign_in_refused || p->no_password;
}

/* Puts the file that is not a batch in cpis's error queue (a batch of its one stand-in), so that
 * system support sees it without reading the spool; scope "file", or "response" for the national
 * service's response to an upload file that was refused. 0 once acknowledged (or refused as it
 * stands, which would not change on another run), -1 when the gateway could not take it now. */
static int poller__report_file(poller_t *p, const char *name, const char *why, const poller_read_t *r,
                               const char *scope)
{
    char *standin = poller_batch_standin(scope, name, why, r->text ? r->text : "", r->text ? r->len : 0);
    char *body = NULL;
    if (standin == NULL || asprintf(&body, "{\"notifications\":[%s]}", standin) < 0)
        body = NULL;
    free(standin);
    int rc = -1;
    for (int attempt = 0; attempt < 2 && body != NULL; attempt++) {
        if (p->token == NULL && poller__sign_in(p) != 0)
            break;
        long status;
        json_t *reply;
        poller__http(p, "POST", "/api/v1/cpis/notifications", body, p->timeout_s, &status, &reply);
        if (status == 0)
            poller__log("warn",
                        "%s: the gateway at %s could not be reached to put the file in the error queue: %s",
                        name, p->gateway_url, p->http_error);
        if (status == 401) {
            free(p->token);
            p->token = NULL;
            json_decref(reply);
            continue;
        }
        if (status == 200 || status == 400) {
            rc = 0;
            if (status == 400)
                poller__log("error", "%s: the gateway refused the report of the file to the error queue: %s",
                            name, poller__error_message(reply));
        } else if (status != 0) {
            poller__log("error", "%s: the report of the file to the error queue failed (%ld): %s", name,
                        status, poller__error_message(reply));
        }
        json_decref(reply);
        break;
    }
    free(body);
    return rc;
}

/* The file read (r) goes to rejected/ with its reason beside it, once the error queue has it too: 0,
 * or -1 when it stays in the spool for the next run (the error queue could not be told). The reason
 * may quote the file (a JSON fault near some text of it, a refusal naming an NHS number): it goes to
 * the error queue and rejected/, beside the file itself, and logged, where it would reach the journal
 * and whoever reads it, is said as logged (NULL: why holds nothing of the file). */
static int poller__reject(poller_t *p, const char *name, const char *why, const char *logged,
                          const poller_read_t *r, const char *scope)
{
    if (logged == NULL)
        logged = why;
    if (poller__report_file(p, name, why, r, scope) != 0) {
        poller__log("error", "%s/%s is not a CP-IS batch (%s); kept until the error queue can be told",
                    p->spool_dir, name, logged);
        return -1;
    }
    char target[1024], note[1100], text[1200];
    int moved = poller__move_read(p, name, "rejected", r, target, sizeof(target));
    if (moved < 0)
        return -1;
    if (moved == 0)
        poller__log("error", "%s/%s is not a CP-IS batch and was moved to rejected/: %s", p->spool_dir, name,
                    logged);
    else
        poller__log("error",
                    "%s/%s is not a CP-IS batch (%s), and was replaced in the spool while it was reported: "
                    "what was read is kept as rejected/%s, and the file now there is left for the next pass",
                    p->spool_dir, name, logged, target);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/rejected", p->spool_dir);
    snprintf(note, sizeof(note), "%s.error", target);
    snprintf(text, sizeof(text), "%s: %s\n", name, why);
    if (strcmp(target, "(none)") != 0)
        poller__write_atomic(dir, note, text);
    return 0;
}

/* ------------------------------------------------------------------------------------------------
 * The gateway
 * ---------------------------------------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
} poller_buf_t;

static size_t poller__collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    poller_buf_t *b = arg;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* One HTTP call, given timeout_s; *status 0 when the gateway could not be reached (why in
 * p->http_error, for the caller to say). The reply body in *reply. */
static void poller__http(poller_t *p, const char *method, const char *path, const char *body, long timeout_s,
                         long *status, json_t **reply)
{
    char url[2048], auth[600];
    snprintf(url, sizeof(url), "%s%s", p->gateway_url, path);
    poller_buf_t b = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (p->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_reset(p->curl);
    curl_easy_setopt(p->curl, CURLOPT_URL, url);
    curl_easy_setopt(p->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, poller__collect);
    curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, detail);
    *status = 0;
    *reply = NULL;
    CURLcode rc = curl_easy_perform(p->curl);
    curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, status);
        *reply = b.data ? json_loads(b.data, 0, NULL) : NULL;
    } else {
        snprintf(p->http_error, sizeof(p->http_error), "%s", detail[0] ? detail : curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    free(b.data);
}

static const char *poller__error_message(const json_t *reply)
{
    const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
    return m ? m : "no reason given";
}

static int poller__sign_in(poller_t *p)
{
    if (poller__sign_in_stopped(p))
        return -1;
    /* Just tried (while the file was read) and failed: not again for the same file. */
    if (p->sign_in_failed) {
        p->sign_in_failed = 0;
        return -1;
    }
    free(p->token);
    p->token = NULL;
    p->sign_in_tried = 1;
    /* The password file is read at each sign-in, not once at start-up: after a refusal the operator
     * puts the file right and sends SIGUSR1 (docs/OPERATIONS.md, section 5), and a running poller
     * that signed in again with the password it read at start-up only added a wrong password to the
     * account's count towards a pause. */
    char from_file[512] = "";
    const char *password = p->password;
    if (p->password_file != NULL) {
        tsr_error_t err;
        if (tsr_config_read_secret_file("spine_poller.password_file", p->password_file, from_file,
                                        sizeof(from_file), &err) != 0) {
            p->no_password = 1;
            poller__log("error", "cannot sign in to %s as %s: %s No file is sent until it can be read.",
                        p->gateway_url, p->username, err.message);
            return -1;
        }
        password = from_file;
    }
    json_t *body = json_pack("{s:s, s:s}", "username", p->username, "password", password);
    explicit_bzero(from_file, sizeof(from_file));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    long status = 0;
    json_t *reply = NULL;
    if (text != NULL) {
        poller__http(p, "POST", "/api/v1/session", text, p->timeout_s, &status, &reply);
        explicit_bzero(text, strlen(text));
        free(text);
    } else {
        snprintf(p->http_error, sizeof(p->http_error), "out of memory");
    }
    const char *token = json_string_value(json_object_get(reply, "token"));
    if (status == 0) {
        /* The pass fails now, even with nothing to send: alerting on the poller's last success must
         * not wait for a child's notification to be held up. */
        poller__log("error",
                    "cannot reach the gateway at %s to sign in as %s: %s. No file is sent until it can be "
                    "reached (spine_poller.gateway_url)",
                    p->gateway_url, p->username, p->http_error);
    } else if (status == 201 && token) {
        p->token = strdup(token);
        p->signed_in = p->token != NULL;
    } else if (status == 401 || status == 403) {
        /* Every wrong password counts towards pausing sign-in under the account
         * (accounts.sign_in_attempts): signing in again for each file paused it within two passes,
         * and then the right password was refused too. One attempt a pass; the files wait. */
        p->sign_in_refused = 1;
        if (status == 401)
            poller__log(
                "error",
                "signing in to %s as %s was refused (401): its password (spine_poller.password or "
                "password_file) is not the account's: %s. No file is sent, and no sign-in tried again, "
                "until the next pass (password_file is read again then; SIGUSR1 starts one at once)",
                p->gateway_url, p->username, poller__error_message(reply));
        else
            poller__log("error",
                        "signing in to %s as %s was refused (403): %s. No file is sent, and no sign-in tried "
                        "again, until the next pass",
                        p->gateway_url, p->username, poller__error_message(reply));
    } else if (status != 0) {
        poller__log("error", "signing in to %s as %s failed (%ld): %s", p->gateway_url, p->username, status,
                    poller__error_message(reply));
    }
    json_decref(reply);
    return p->token ? 0 : -1;
}

/* Ends the pass's session, if it has one: the next pass signs in afresh, and a token left live for
 * its eight hours would be one more way into the account. Quietly: the pass's outcome is known. */
static void poller__sign_out(poller_t *p)
{
    if (p->token == NULL)
        return;
    long status;
    json_t *reply;
    poller__http(p, "DELETE", "/api/v1/session", NULL, p->timeout_s < 10 ? p->timeout_s : 10, &status,
                 &reply);
    json_decref(reply);
    free(p->token);
    p->token = NULL;
}

/* One part of a file on its way: parts are posted up to parallel_parts at a time, each on its own
 * connection, and acknowledged in any order. */
typedef struct {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char *token; /* the session it was sent with: a 401 for an older one needs no new sign-in */
    poller_buf_t reply;
    size_t at, count; /* its notifications in the file */
    int attempt;
} poller_part_t;

static void poller__part_clear(poller_part_t *part)
{
    if (part->easy)
        curl_easy_cleanup(part->easy);
    curl_slist_free_all(part->headers);
    free(part->body);
    free(part->token);
    free(part->reply.data);
    memset(part, 0, sizeof(*part));
}

/* Starts (or starts again, after a new sign-in) the POST of one part on multi. */
static int poller__part_send(poller_t *p, CURLM *multi, poller_part_t *part)
{
    char url[2048], auth[600];
    snprintf(url, sizeof(url), "%s/api/v1/cpis/notifications", p->gateway_url);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
    if (part->easy == NULL)
        part->easy = curl_easy_init();
    curl_slist_free_all(part->headers);
    part->headers = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), auth);
    free(part->token);
    part->token = strdup(p->token);
    free(part->reply.data);
    part->reply = (poller_buf_t){0};
    if (part->easy == NULL || part->headers == NULL || part->token == NULL)
        return -1;
    curl_easy_reset(part->easy);
    curl_easy_setopt(part->easy, CURLOPT_URL, url);
    curl_easy_setopt(part->easy, CURLOPT_HTTPHEADER, part->headers);
    curl_easy_setopt(part->easy, CURLOPT_POSTFIELDS, part->body);
    curl_easy_setopt(part->easy, CURLOPT_WRITEFUNCTION, poller__collect);
    curl_easy_setopt(part->easy, CURLOPT_WRITEDATA, &part->reply);
    curl_easy_setopt(part->easy, CURLOPT_TIMEOUT, p->timeout_s);
    curl_easy_setopt(part->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(part->easy, CURLOPT_PRIVATE, part);
    part->attempt++;
    return curl_multi_add_handle(multi, part->easy) == CURLM_OK ? 0 : -1;
}

/* What became of a part whose request ended: 1 acknowledged (every notification accepted,
 * dropped as a duplicate, or queued as an error), 0 sent again (the session had ended), -1 kept
 * for the next run. */
static int poller__part_done(poller_t *p, CURLM *multi, const char *name, poller_part_t *part, CURLcode rc)
{
    long status = 0;
    json_t *reply = NULL;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(part->easy, CURLINFO_RESPONSE_CODE, &status);
        reply = part->reply.data ? json_loads(part->reply.data, 0, NULL) : NULL;
    } else {
        poller__log("warn", "POST %s/api/v1/cpis/notifications: %s", p->gateway_url, curl_easy_strerror(rc));
    }
    curl_multi_remove_handle(multi, part->easy);
    int result = -1;
    if (status == 200) {
        json_t *errors = json_object_get(reply, "errors");
        poller__log("info", "%s: %zu notifications sent: %lld accepted, %lld duplicates, %zu errors", name,
                    part->count, (long long)json_integer_value(json_object_get(reply, "accepted")),
                    (long long)json_integer_value(json_object_get(reply, "duplicates")),
                    json_array_size(errors));
        /* Each by its id, code and error-queue entry, not its reason: a reason names the NHS number
         * ("No one in the system has NHS number ..."), and the log goes to the journal, read by more
         * people, and kept longer, than the error queue where system support read it. */
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            const char *id = json_string_value(json_object_get(e, "notification_id"));
            const char *code = json_string_value(json_object_get(e, "code"));
            const json_t *entry = json_object_get(e, "error_id");
            char said[300], entry_text[40] = "";
            if (id != NULL && id[0] != '\0')
                snprintf(said, sizeof(said), "'%.200s'", id);
            else
                snprintf(said, sizeof(said), "without an id");
            if (json_is_string(entry))
                snprintf(entry_text, sizeof(entry_text), ", entry %.20s", json_string_value(entry));
            else if (json_is_integer(entry))
                snprintf(entry_text, sizeof(entry_text), ", entry %" JSON_INTEGER_FORMAT,
                         json_integer_value(entry));
            poller__log(
                "warn",
                "%s: notification %s (number %zu of the file) went to the CP-IS error queue as %.64s%s: "
                "system support see why there",
                name, said, part->at + (size_t)json_integer_value(json_object_get(e, "index")) + 1,
                code ? code : "an error", entry_text);
        }
        result = 1;
    } else if (status == 401 && part->attempt < 2) {
        /* The session ended (expired, or the gateway was restarted without it): sign in again, once
         * for the parts that were sent with the same session, and send the part again. */
        if (p->token != NULL && strcmp(p->token, part->token) == 0) {
            free(p->token);
            p->token = NULL;
        }
        if ((p->token != NULL || poller__sign_in(p) == 0) && poller__part_send(p, multi, part) == 0)
            result = 0;
    } else if (status != 0) {
        poller__log("error", "%s: the gateway refused %zu notifications (%ld): %s; kept for the next run",
                    name, part->count, status, poller__error_message(reply));
    }
    json_decref(reply);
    return result;
}

/* Posts the notifications of list in parts of at most batch_size notifications and max_body_bytes
 * (sizes[k]: the k-th notification's text, or its stand-in's), up to parallel_parts in flight;
 * acked[i] is set for each notification of a part the gateway acknowledged. Once a part fails (gateway down,
 * a refusal), no further part is started: the rest waits for the next run, as does everything once the poller
 * is asked to stop (the parts in flight are seen to their end). */
static void poller__post_parts(poller_t *p, const char *name, size_t n, const json_t *list, const char *text,
                               const poller_spans_t *spans, const size_t *sizes, char *acked)
{
    size_t batch = (size_t)p->batch_size, next = 0;
    size_t slots = (size_t)p->parallel_parts, in_flight = 0;
    poller_part_t *parts = calloc(slots, sizeof(*parts));
    CURLM *multi = curl_multi_init();
    int failed = parts == NULL || multi == NULL || (p->token == NULL && poller__sign_in(p) != 0);
    while (!failed || in_flight > 0) {
        /* Fill the free slots with the next parts. */
        for (size_t s = 0; s < slots && !failed && !poller_stopping && next < n; s++) {
            poller_part_t *part = &parts[s];
            if (part->easy != NULL)
                continue;
            part->at = next;
            /* As many as fit the gateway's limit on a body (at least one: poller__file gave each one
             * too large for a request on its own a small stand-in). */
            size_t bytes = sizeof(POLLER_PART_HEAD) + 3 + sizes[next];
            part->count = 1;
            while (part->count < batch && next + part->count < n &&
                   bytes + sizes[next + part->count] + 1 <= (size_t)p->max_body_bytes)
                bytes += sizes[next + part->count++] + 1;
            if (text != NULL) {
                /* The file's own text of each of these notifications (or its stand-in). */
                static const char head[] = POLLER_PART_HEAD;
                size_t size = sizeof(head) + 3;
                for (size_t k = next; k < next + part->count; k++)
                    size += (spans->standins[k] ? strlen(spans->standins[k])
                                                : spans->ends[k] - spans->starts[k]) +
                            1;
                char *o = part->body = malloc(size);
                if (o != NULL) {
                    memcpy(o, head, sizeof(head) - 1);
                    o += sizeof(head) - 1;
                    for (size_t k = next; k < next + part->count; k++) {
                        const char *from = spans->standins[k] ? spans->standins[k] : text + spans->starts[k];
                        size_t len = spans->standins[k] ? strlen(spans->standins[k])
                                                        : spans->ends[k] - spans->starts[k];
                        if (k > next)
                            *o++ = ',';
                        memcpy(o, from, len);
                        o += len;
                    }
                    memcpy(o, "]}", 3);
                }
            } else {
                json_t *items = json_array();
                for (size_t i = next; i < next + part->count; i++)
                    json_array_append(items, json_array_get(list, i));
                json_t *body = json_pack("{s:o}", "notifications", items);
                part->body = json_dumps(body, JSON_COMPACT);
                json_decref(body);
            }
            if (part->body == NULL || poller__part_send(p, multi, part) != 0) {
                poller__log("error", "%s: out of memory preparing a part; kept for the next run", name);
                poller__part_clear(part);
                failed = 1;
                break;
            }
            next += part->count;
            in_flight++;
        }
        if (in_flight == 0)
            break;
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            poller_part_t *part = (poller_part_t *)(void *)priv;
            int result = poller__part_done(p, multi, name, part, msg->data.result);
            if (result == 0)
                continue; /* sent again */
            if (result == 1)
                memset(acked + part->at, 1, part->count);
            else
                failed = 1; /* once the gateway fails, the rest of the file waits for the next run too */
            poller__part_clear(part);
            in_flight--;
        }
        if (in_flight > 0 && running > 0)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    for (size_t s = 0; parts != NULL && s < slots; s++)
        poller__part_clear(&parts[s]);
    free(parts);
    if (multi)
        curl_multi_cleanup(multi);
}

/* The whole file in memory (NUL-terminated), or NULL; which file it was at *id (known 0 when there
 * was none to open). */
static char *poller__read_file(const char *path, size_t *len, poller_ident_t *id)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size = -1;
    struct stat st;
    id->known = 0;
    if (f != NULL ? fstat(fileno(f), &st) == 0 : stat(path, &st) == 0)
        poller__ident(&st, id);
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)size + 1)) != NULL && fread(text, 1, (size_t)size, f) == (size_t)size) {
        text[size] = '\0';
        *len = (size_t)size;
    } else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    /* A byte order mark (as some Windows tools write UTF-8) is no part of the JSON: RFC 8259 lets a
     * reader ignore it, and refusing the file for it would set aside every notification in it. */
    if (text != NULL && *len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        memmove(text, text + 3, *len - 3 + 1);
        *len -= 3;
    }
    return text;
}

/* ------------------------------------------------------------------------------------------------
 * One spool file
 * ---------------------------------------------------------------------------------------------- */

/* A response of the national service to one of the council's plan upload files: read back by the
 * cpis daemon once. 0 when it was (now or before: moved to done/) or cannot be (moved to rejected/
 * with the reason), -1 when it waits for the next run. */
static int poller__response(poller_t *p, const char *name, json_t *root, const poller_read_t *r)
{
    json_t *seq = json_object_get(root, "file_sequence_number");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        return poller__reject(p, name, "a CP-IS response whose file_sequence_number is not a file's number",
                              NULL, r, "response");
    }
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/cpis/uploads/%" JSON_INTEGER_FORMAT "/response",
             json_integer_value(seq));
    char *text = json_dumps(root, JSON_COMPACT);
    int rc = -1;
    for (int attempt = 0; attempt < 2 && text != NULL; attempt++) {
        if (p->token == NULL && poller__sign_in(p) != 0)
            break;
        long status;
        json_t *reply;
        poller__http(p, "POST", path, text, p->timeout_s, &status, &reply);
        const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
        if (status == 0)
            poller__log("warn",
                        "%s: the gateway at %s could not be reached to read the response: %s; kept for "
                        "the next run",
                        name, p->gateway_url, p->http_error);
        if (status == 401) {
            free(p->token);
            p->token = NULL;
            json_decref(reply);
            continue;
        }
        if (status == 200 || (status == 409 && code && strcmp(code, "already_read") == 0)) {
            if (status == 200)
                poller__log("info",
                            "%s: the response to upload file %" JSON_INTEGER_FORMAT
                            " was read: %lld records loaded, %lld failed (%s)",
                            name, json_integer_value(seq),
                            (long long)json_integer_value(json_object_get(reply, "records_loaded")),
                            (long long)json_integer_value(json_object_get(reply, "records_failed")),
                            json_string_value(json_object_get(reply, "status_meaning")));
            else
                poller__log("info",
                            "%s: the response to upload file %" JSON_INTEGER_FORMAT " was read before", name,
                            json_integer_value(seq));
            char target[1024];
            int moved = poller__move_read(p, name, "done", r, target, sizeof(target));
            if (moved == 1)
                poller__log(
                    "warn",
                    "%s was replaced in the spool while the response in it was sent: what was read is "
                    "kept as done/%s, and the file now there is left for the next pass",
                    name, target);
            rc = moved < 0 ? -1 : 0;
        } else if (status == 400 || status == 404) {
            /* It would be refused the same way on every run. The refusal may name a record's NHS
             * number: the log says only where the fault is. */
            char why[600], logged[300];
            const json_t *error = json_object_get(reply, "error");
            const char *field = json_string_value(json_object_get(error, "field"));
            snprintf(why, sizeof(why), "the gateway refused the response (%ld): %s", status,
                     poller__error_message(reply));
            snprintf(
                logged, sizeof(logged),
                "the gateway refused the response (%ld, %s%s%s); the reason is in the CP-IS error queue and "
                "beside the file in rejected/",
                status, code ? code : "no code given", field && field[0] ? ", at " : "",
                field && field[0] ? field : "");
            rc = poller__reject(p, name, why, logged, r, "response");
        } else if (status != 0) {
            poller__log("error", "%s: the gateway refused the response (%ld): %s; kept for the next run",
                        name, status, poller__error_message(reply));
        }
        json_decref(reply);
        break;
    }
    free(text);
    return rc;
}

static void *poller__sign_in_thread(void *arg)
{
    poller_t *p = arg;
    p->sign_in_failed = poller__sign_in(p) != 0;
    return NULL;
}

/* The size of each notification as it will be sent (sizes), after giving each that a request could
 * not carry a stand-in naming why: larger than max_body_bytes, or nested so deep that inside a part
 * ({"notifications": [...]}, two levels more) it is deeper than JSON is read (a bare list's
 * notification can be one level short of that and the file still read). Sent as it is, it would be
 * refused on every run with the rest of its part, and the file never leave the spool. spans (the
 * file's text laid out) or list (read whole) is changed in place. 0, or -1 when out of memory. */
static int poller__fit(const poller_t *p, const char *name, const char *text, poller_spans_t *spans,
                       json_t *list, size_t *sizes)
{
    size_t n = spans ? spans->n : json_array_size(list);
    /* The part's frame and a stand-in's own size are well under this margin. */
    size_t most = (size_t)p->max_body_bytes - 64;
    for (size_t k = 0; k < n; k++) {
        char *dumped = NULL;
        const char *at;
        size_t len;
        if (spans) {
            at = spans->standins[k] ? spans->standins[k] : text + spans->starts[k];
            len = spans->standins[k] ? strlen(spans->standins[k]) : spans->ends[k] - spans->starts[k];
        } else {
            dumped = json_dumps(json_array_get(list, k), JSON_COMPACT | JSON_ENCODE_ANY);
            if (dumped == NULL)
                return -1;
            at = dumped;
            len = strlen(dumped);
        }
        /* A file the scan laid out nests its notifications at most 1000 deep (batch__locate); one read
         * whole may be deeper. */
        int depth = spans ? 0 : poller_batch_depth(at, len);
        if (len > most || depth + 2 > JSON_PARSER_MAX_DEPTH) {
            char fault[300];
            if (len > most)
                snprintf(fault, sizeof(fault),
                         "notification %zu of the file is %zu bytes, more than a request to the gateway may "
                         "carry (spine_poller.max_body_bytes, %ld)",
                         k + 1, len, p->max_body_bytes);
            else
                snprintf(fault, sizeof(fault),
                         "notification %zu of the file nests %d levels deep: inside a request to the gateway "
                         "it would be %d, more than the %d levels JSON is read to",
                         k + 1, depth, depth + 2, JSON_PARSER_MAX_DEPTH);
            char *standin = poller_batch_standin("notification", name, fault, at, len);
            json_t *parsed = standin && !spans ? json_loads(standin, 0, NULL) : NULL;
            if (standin == NULL || (!spans && parsed == NULL)) {
                free(standin);
                free(dumped);
                return -1;
            }
            len = strlen(standin);
            if (spans) {
                free(spans->standins[k]);
                spans->standins[k] = standin;
            } else {
                json_array_set_new(list, k, parsed);
                free(standin);
            }
        }
        sizes[k] = len;
        free(dumped);
    }
    return 0;
}

/* 0 when the whole file was acknowledged (and moved to done/), -1 when some is kept for later. */
static int poller__file(poller_t *p, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", p->spool_dir, name);
    /* Without a session, sign in while the file is read: the password's check (Argon2id, slow on
     * purpose) and the reading of a large file take about as long, and neither needs the other. The
     * sign-in has the connection to itself until it is joined below. */
    pthread_t signing_in;
    p->sign_in_failed = 0;
    int joining = p->token == NULL && pthread_create(&signing_in, NULL, poller__sign_in_thread, p) == 0;
    poller_read_t r = {0};
    char *text = r.text = poller__read_file(path, &r.len, &r.id);
    size_t len = r.len;
    poller_spans_t spans = {0};
    json_t *root = NULL, *list = NULL;
    json_error_t jerr;
    int located = text != NULL && poller_batch_check(name, text, len, &spans) == 0;
    if (!located) {
        poller_batch_spans_free(&spans);
        /* Read whole: jansson says what is wrong with it (or, unreadable, why). */
        root = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)
                    : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (joining)
        pthread_join(signing_in, NULL);
    if (poller__sign_in_stopped(p)) {
        /* Said once (poller__sign_in); the file waits untouched for the next pass. */
        poller_batch_spans_free(&spans);
        json_decref(root);
        free(text);
        return -1;
    }
    if (text == NULL && !r.id.known) {
        /* Gone since the spool was listed (taken away by hand, say): nothing of it to send. */
        poller__log("info", "%s: no longer in the spool", name);
        json_decref(root);
        return 0;
    }
    if (!located && root == NULL) {
        /* jansson's fault quotes the text near it ("invalid token near '943 476'"), which may be an
         * NHS number: the log keeps the fault's place and kind only, the error queue the whole. */
        char why[400], logged[400];
        if (text != NULL && tsr_text_trimmed_length(text) == 0) {
            snprintf(why, sizeof(why), "the file is empty: no JSON, no notifications");
            snprintf(logged, sizeof(logged), "%s", why);
        } else {
            /* A file jansson could not open has no place in it: its words say so without 'not JSON'. */
            const char *what = jerr.line < 1 ? "" : "not JSON: ";
            char words[300];
            tsr_json_error_words(&jerr, words, sizeof(words));
            snprintf(why, sizeof(why), "%s%s", what, words);
            json_error_t quiet = jerr;
            char *near = strstr(quiet.text, " near ");
            if (near != NULL)
                *near = '\0';
            tsr_json_error_words(&quiet, words, sizeof(words));
            snprintf(logged, sizeof(logged), "%s%s", what, words);
        }
        int rc = poller__reject(p, name, why, logged, &r, "file");
        free(text);
        return rc;
    }
    if (text == NULL) {
        /* Read by jansson now though it could not be read a moment ago: changing while read. */
        poller__log("warn", "%s: could not be read whole; kept for the next pass", name);
        json_decref(root);
        return -1;
    }
    /* The national service's response to an upload file comes through the same spool. */
    if (!located && json_is_object(root) && json_object_get(root, "status") != NULL &&
        json_object_get(root, "notifications") == NULL) {
        int rc = poller__response(p, name, root, &r);
        json_decref(root);
        free(text);
        return rc;
    }
    if (!located) {
        list = json_is_array(root) ? root : json_object_get(root, "notifications");
        if (!json_is_array(list)) {
            json_decref(root);
            int rc = poller__reject(
                p, name, "neither a list of notifications nor an object with a \"notifications\" list", NULL,
                &r, "file");
            free(text);
            return rc;
        }
    }
    size_t n = located ? spans.n : json_array_size(list), sent = 0, n_kept = 0;
    char *acked = calloc(n + 1, 1);
    size_t *sizes = calloc(n + 1, sizeof(*sizes));
    if (acked == NULL || sizes == NULL ||
        poller__fit(p, name, text, located ? &spans : NULL, list, sizes) != 0) {
        free(acked);
        free(sizes);
        poller_batch_spans_free(&spans);
        free(text);
        json_decref(root);
        poller__log("error", "%s: out of memory", name);
        return -1;
    }
    poller__log("info", "%s: %zu notifications read; sending them", name, n);
    poller__post_parts(p, name, n, list, located ? text : NULL, &spans, sizes, acked);
    free(sizes);
    /* What was not acknowledged (refused, not sent, or stopped part-way) stays, in the file's order:
     * as the file's own text of each, or printed from the file read whole. */
    size_t rest_len = 32;
    for (size_t i = 0; i < n; i++) {
        if (acked[i]) {
            sent++;
        } else {
            n_kept++;
            if (located)
                rest_len += spans.ends[i] - spans.starts[i] + 1;
        }
    }
    char *rest = NULL;
    if (n_kept > 0 && sent > 0 && located && (rest = malloc(rest_len)) != NULL) {
        char *o = rest + sprintf(rest, "{\"notifications\":[");
        for (size_t i = 0, k = 0; i < n; i++) {
            if (acked[i])
                continue;
            if (k++ > 0)
                *o++ = ',';
            memcpy(o, text + spans.starts[i], spans.ends[i] - spans.starts[i]);
            o += spans.ends[i] - spans.starts[i];
        }
        strcpy(o, "]}");
    } else if (n_kept > 0 && sent > 0 && !located) {
        json_t *kept = json_array();
        for (size_t i = 0; i < n; i++)
            if (!acked[i])
                json_array_append(kept, json_array_get(list, i));
        json_t *body = json_pack("{s:o}", "notifications", kept);
        rest = json_dumps(body, JSON_COMPACT);
        json_decref(body);
    }
    free(acked);
    poller_batch_spans_free(&spans);
    json_decref(root);
    /* Only the file read is moved or rewritten: one delivered again under its name while it was sent
     * is a new delivery, left in the spool for the next pass (poller__move_read). */
    int rc = 0;
    char other[1024];
    if (n_kept == 0) {
        int moved = poller__move_read(p, name, "done", &r, other, sizeof(other));
        if (moved < 0)
            rc = -1;
        else if (moved == 0)
            poller__log("info", "%s: all %zu notifications acknowledged; moved to done/", name, n);
        else
            poller__log(
                "warn",
                "%s: all %zu notifications acknowledged, but the file was replaced in the spool while "
                "they were sent (delivered again under its name): the file now there is left for the "
                "next pass, to be sent in full, and the one sent is kept as done/%s",
                name, n, other);
    } else {
        /* Partly sent (or not at all): the file keeps only what is still to send, replaced by an
         * exchange and a look at what it replaced, so that a crash leaves either the old file, sent
         * again harmlessly, or the new one. A file read but replaced since is kept whole beside the new
         * one: nothing of it was acknowledged. */
        const char *keep = sent > 0 ? rest : text;
        int rewritten = -1;
        if (sent == 0 && poller__is_read(path, &r.id))
            rewritten = 0; /* nothing changed: the file stays as it is */
        else if (keep != NULL)
            rewritten = poller__rewrite_read(p, name, &r, keep, other, sizeof(other));
        if (rewritten < 0)
            poller__log("error", "%s: could not rewrite it with the %zu notifications still to send: %s",
                        name, n_kept, strerror(errno));
        else if (rewritten == 1)
            poller__log("warn",
                        "%s: %zu of %zu notifications kept for the next run, as %s: the file was replaced in "
                        "the spool while they were sent (delivered again under its name), and the file now "
                        "there is left for the next pass, to be sent in full",
                        name, n_kept, n, other);
        else if (sent > 0)
            poller__log("warn", "%s: %zu of %zu notifications kept for the next run", name, n_kept, n);
        rc = -1;
    }
    free(rest);
    free(text);
    return rc;
}

static int poller__compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* How many *.json files sub (a directory of the spool, "" for the spool itself) holds; -1 when it cannot
 * be read. */
static long poller__count_files(const poller_t *p, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s%s%s", p->spool_dir, sub[0] ? "/" : "", sub);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".json") == 0;
    }
    closedir(d);
    return n;
}

/* The pass's gauges, in the Prometheus text format, to metrics_file (written whole, then renamed over
 * the last, so a node exporter's textfile collector never reads half of one). The poller is not a
 * daemon with a /metrics of its own, and a stopped poller must show as one: its last success no longer
 * moves. The last success before a restart is read back from the file. */
static void poller__write_metrics(const poller_t *p, int ok)
{
    if (p->metrics_file == NULL)
        return;
    tsr_metric_t *success = tsr_metrics_gauge(
        "tessera_spine_poller_last_success_timestamp_seconds",
        "When a pass over the spool last sent every file whole (Unix time; 0 when none has).", NULL);
    if (tsr_metric_value(success) == 0) {
        FILE *old = fopen(p->metrics_file, "r");
        char line[256];
        double before = 0;
        while (old && fgets(line, sizeof(line), old) != NULL)
            if (sscanf(line, "tessera_spine_poller_last_success_timestamp_seconds %lf", &before) == 1)
                break;
        if (old)
            fclose(old);
        tsr_metric_set(success, before);
    }
    double now = (double)time(NULL);
    if (ok)
        tsr_metric_set(success, now);
    tsr_metric_set(tsr_metrics_gauge("tessera_spine_poller_last_run_timestamp_seconds",
                                     "When the last pass over the spool ended (Unix time).", NULL),
                   now);
    tsr_metric_set(tsr_metrics_gauge("tessera_spine_poller_last_run_ok",
                                     "1 when the last pass sent every file whole, else 0.", NULL),
                   ok ? 1 : 0);
    tsr_metric_set(tsr_metrics_gauge("tessera_spine_poller_files_waiting",
                                     "Feed files left in the spool after the last pass (to send again).",
                                     NULL),
                   (double)poller__count_files(p, ""));
    tsr_metric_set(tsr_metrics_gauge("tessera_spine_poller_files_rejected",
                                     "Files in rejected/: not CP-IS batches, waiting for someone to look.",
                                     NULL),
                   (double)poller__count_files(p, "rejected"));
    char *text = tsr_metrics_render();
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", p->metrics_file);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    /* Counts and times only, no one's data: readable by the exporter's user, whatever the umask. */
    int written = f != NULL && fchmod(fileno(f), 0644) == 0 && fputs(text, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        written = 0;
    if (!written || rename(tmp, p->metrics_file) != 0) {
        poller__log("warn", "cannot write the poller's gauges to %s: %s", p->metrics_file, strerror(errno));
        unlink(tmp);
    }
    free(text);
}

/* Whether the file was modified less than settle_ms ago: then it is left for the next pass (and
 * settles_at says when it will have settled). The Spine connection should write a file aside and
 * rename it into the spool, but one that writes it in place would have half a batch read, taken for
 * a file that is not a batch and set aside while the writer went on writing into it, every
 * notification in it lost. A file that cannot be looked at is not held back: reading it says why. */
static int poller__is_settling(poller_t *p, const char *name)
{
    if (p->settle_ms == 0)
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", p->spool_dir, name);
    struct stat st;
    struct timespec now;
    if (stat(path, &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0)
        return 0;
    long long age_ms = ((long long)now.tv_sec - (long long)st.st_mtim.tv_sec) * 1000 +
                       (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
    if (age_ms >= p->settle_ms)
        return 0;
    time_t settled = st.st_mtim.tv_sec + (time_t)(p->settle_ms / 1000) + 1;
    if (p->settles_at == 0 || settled < p->settles_at)
        p->settles_at = settled;
    if (age_ms < 0)
        poller__log(
            "warn",
            "%s/%s was modified %lld ms ahead of this machine's clock: it is taken for a file still "
            "being written and left in the spool until %lld ms after that time (spine_poller.settle_ms)",
            p->spool_dir, name, -age_ms, (long long)p->settle_ms);
    else
        poller__log("info",
                    "%s/%s was modified %lld ms ago, less than spine_poller.settle_ms (%ld): it may still be "
                    "being written, and is left in the spool for the next pass",
                    p->spool_dir, name, age_ms, p->settle_ms);
    return 1;
}

/* One pass over the spool, oldest name first; 0 when the pass signed in to the gateway and every file
 * was sent whole (a file still being written is no failure: it waits for the next pass). Each pass
 * signs in afresh (reading password_file again), while the first file is read, or, with nothing to
 * send, at its end: a poller that cannot reach the gateway or sign in fails its pass with an empty
 * spool too, rather than only once a child's notification waits. Once the account's sign-in is
 * refused, the files after it wait for the next pass untouched. The pass's session ends with it. */
static int poller__run_once(poller_t *p)
{
    p->settles_at = 0;
    p->sign_in_refused = 0;
    p->sign_in_tried = 0;
    p->signed_in = 0;
    p->no_password = 0;
    p->files_failed = 0;
    poller__sign_out(p);
    poller__prune_done(p);
    DIR *d = opendir(p->spool_dir);
    if (d == NULL) {
        poller__log("error", "cannot read the spool directory %s: %s", p->spool_dir, strerror(errno));
        poller__write_metrics(p, 0);
        return -1;
    }
    char *names[POLLER_FILES_MAX] = {0};
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < POLLER_FILES_MAX) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), poller__compare);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!poller_stopping && !poller__sign_in_stopped(p) && !poller__is_settling(p, names[i]) &&
            poller__file(p, names[i]) != 0) {
            rc = -1;
            p->files_failed++;
        }
        free(names[i]);
    }
    /* Nothing sent (the spool empty, or every file still being written): whether the gateway can be
     * reached and the account signed in is still this pass's to say. */
    if (!poller_stopping && !p->signed_in && (p->sign_in_tried || poller__sign_in(p) != 0))
        rc = -1;
    if (poller_stopping || poller__sign_in_stopped(p))
        rc = -1;
    poller__sign_out(p);
    poller__write_metrics(p, rc == 0);
    return rc;
}

static int poller__mkdirs(const poller_t *p)
{
    const char *subs[2] = {"done", "rejected"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", p->spool_dir, subs[i]);
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            poller__log("error", "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Where the password comes from: the file password_file names (kept out of the main configuration,
 * readable by the poller's user only), checked now and read again at each sign-in; or the
 * configuration's password, read now only. 0, or -1 with err. */
static int poller__password(poller_t *p, const tsr_config_t *config, tsr_error_t *err)
{
    p->password_file = tsr_config_get(config, "spine_poller.password_file", NULL);
    if (p->password_file == NULL) {
        const char *pw = tsr_config_require(config, "spine_poller.password", err);
        p->password = pw ? strdup(pw) : NULL;
        if (pw != NULL && p->password == NULL)
            tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
        return p->password ? 0 : -1;
    }
    char buf[512] = "";
    int rc =
        tsr_config_read_secret_file("spine_poller.password_file", p->password_file, buf, sizeof(buf), err);
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* gateway_url as the poller uses it (paths are added to it): http or https, a host, a port if one is
 * given, and nothing a path cannot follow. A mistyped one failed only once a file had arrived (the
 * poller had no call to make on an empty spool); now it stops the start, and a gateway that cannot be
 * reached fails every pass. Into *out, without a trailing '/' (malloc'd); 0, or -1 with err. */
static int poller__gateway_url(const char *url, char **out, tsr_error_t *err)
{
    static const char *const example = "give the gateway's address, like http://127.0.0.1:8080";
    *out = NULL;
    CURLU *u = curl_url();
    if (u == NULL)
        return tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *query = NULL, *fragment = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
                      "The setting 'spine_poller.gateway_url' is '%.200s', which is not a URL (%s): %s.", url,
                      curl_url_strerror(rc), example);
        goto done;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_USER, &user, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0);
    if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        tsr_error_set(
            err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
            "The setting 'spine_poller.gateway_url' is '%.200s': the gateway is reached over http or "
            "https, not %.20s; %s.",
            url, scheme ? scheme : "no scheme", example);
    else if (host == NULL || host[0] == '\0')
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
                      "The setting 'spine_poller.gateway_url' is '%.200s', which names no host; %s.", url,
                      example);
    else if (port != NULL && strtol(port, NULL, 10) < 1)
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
                      "The setting 'spine_poller.gateway_url' is '%.200s': port %s is not one a gateway "
                      "listens on (1 to 65535); %s.",
                      url, port, example);
    else if (user != NULL)
        tsr_error_set(err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
                      "The setting 'spine_poller.gateway_url' holds a user name: the account goes in "
                      "spine_poller.username and its password in password_file, where they are not logged "
                      "with the address.");
    else if (query != NULL || fragment != NULL)
        tsr_error_set(
            err, TSR_E_INVALID, "bad_config", "spine_poller.gateway_url",
            "The setting 'spine_poller.gateway_url' is '%.200s': the API's paths are added to it, so "
            "it takes no '?' or '#' part; %s.",
            url, example);
    else if ((*out = strdup(url)) == NULL)
        tsr_error_set(err, TSR_E_INTERNAL, "out_of_memory", NULL, "Out of memory.");
    else
        for (size_t len = strlen(*out); len > 0 && (*out)[len - 1] == '/'; len--)
            (*out)[len - 1] = '\0';
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(query);
    curl_free(fragment);
    curl_url_cleanup(u);
    return *out ? 0 : -1;
}

int main(int argc, char **argv)
{
    tsr_daemon_keep_freed_memory(); /* a feed file's parts are large documents, made one after another */
    const char *config_path = getenv("TESSERA_CONFIG");
    int once = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            once = 1;
        else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else {
            fprintf(stderr, "usage: tessera-spine-poller --config FILE [--once]\n");
            return 2;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr,
                "tessera-spine-poller: give the configuration file with --config FILE (or TESSERA_CONFIG)\n");
        return 2;
    }
    tsr_error_t err;
    tsr_config_t *config = tsr_config_load(config_path, &err);
    if (config == NULL) {
        fprintf(stderr, "tessera-spine-poller: %s\n", err.message);
        return 2;
    }
    const char *level = tsr_config_get(config, "tessera.log_level", "info");
    if (tsr_log_open("spine-poller", level) != 0) {
        char where[400];
        fprintf(
            stderr,
            "tessera-spine-poller: tessera.log_level is '%s' (from %s); use debug, info, warn or error.\n",
            level, tsr_config_source(config, "tessera.log_level", where, sizeof(where)));
        tsr_config_destroy(&config);
        return 2;
    }
    for (size_t i = 0; tsr_config_warning(config, i) != NULL; i++)
        poller__log("warn", "%s", tsr_config_warning(config, i));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    poller_t p = {0};
    int rc = 2;
    p.spool_dir = tsr_config_require(config, "spine_poller.spool_dir", &err);
    const char *url = p.spool_dir ? tsr_config_require(config, "spine_poller.gateway_url", &err) : NULL;
    if (url != NULL)
        poller__gateway_url(url, &p.gateway_url, &err);
    p.username = p.gateway_url ? tsr_config_require(config, "spine_poller.username", &err) : NULL;
    if (p.username == NULL || poller__password(&p, config, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.interval_minutes", 360, 1, 1440, &p.interval_minutes,
                            &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.retry_seconds", 60, 1, 86400, &p.retry_seconds, &err) !=
            0 ||
        tsr_config_get_long(config, "spine_poller.batch_size", 500, 1, 5000, &p.batch_size, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.max_body_bytes", 1048576, 65536, 64L * 1048576,
                            &p.max_body_bytes, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.parallel_parts", 8, 1, 16, &p.parallel_parts, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.timeout_s", 120, 1, 3600, &p.timeout_s, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.keep_days", 30, 0, 3650, &p.keep_days, &err) != 0 ||
        tsr_config_get_long(config, "spine_poller.settle_ms", 10000, 0, 3600000, &p.settle_ms, &err) != 0) {
        tsr_config_name_source(config, &err);
        fprintf(stderr, "tessera-spine-poller: %s\n", err.message);
        goto done;
    }
    p.metrics_file = tsr_config_get(config, "spine_poller.metrics_file", "");
    if (p.metrics_file[0] == '\0')
        p.metrics_file = NULL;
    else if (strlen(p.metrics_file) > 4000) {
        tsr_error_set(&err, TSR_E_INVALID, "config_bad_path", "spine_poller.metrics_file",
                      "The setting 'spine_poller.metrics_file' is longer than a path may be.");
        tsr_config_name_source(config, &err);
        fprintf(stderr, "tessera-spine-poller: %s\n", err.message);
        goto done;
    }
    if (poller__mkdirs(&p) != 0)
        goto done;
    p.curl = curl_easy_init();
    struct sigaction sa = {0};
    sa.sa_handler = poller__on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    if (once) {
        rc = poller__run_once(&p) == 0 ? 0 : 1;
    } else {
        poller__log("info", "polling %s every %ld minutes", p.spool_dir, p.interval_minutes);
        long retry_s = p.retry_seconds;
        while (!poller_stopping) {
            /* Notifications kept back by a failure on the way (the gateway down or answering 503, a
             * database restarting) are tried again in retry_seconds, doubling while they fail, not
             * an interval later: at the default that was six hours for a child's A&E attendance to
             * reach the CP-IS Worker. A refused sign-in waits the interval: trying a wrong password
             * sooner would only pause the account. */
            long wait_s = p.interval_minutes * 60;
            if (poller__run_once(&p) != 0 && !poller_stopping && !p.sign_in_refused) {
                wait_s = retry_s < wait_s ? retry_s : wait_s;
                if (p.files_failed > 0)
                    poller__log("info",
                                "notifications were kept back: the spool is read again in %ld seconds",
                                wait_s);
                else
                    poller__log("info",
                                "the pass could not sign in to the gateway: the spool is read again in %ld "
                                "seconds",
                                wait_s);
                retry_s = retry_s * 2 < p.interval_minutes * 60 ? retry_s * 2 : p.interval_minutes * 60;
            } else {
                retry_s = p.retry_seconds;
            }
            /* A file left because it was still being written is read once it has settled, not an
             * interval later (hours, at the default). */
            int settled = 0;
            for (long s = 0; s < wait_s && !poller_stopping && !poller_woken && !settled; s++) {
                sleep(1);
                settled = p.settles_at != 0 && time(NULL) >= p.settles_at;
            }
            if (poller_woken && !poller_stopping)
                poller__log("info", "reading %s now (SIGUSR1)", p.spool_dir);
            else if (settled && !poller_stopping)
                poller__log("info",
                            "reading %s now: a file left while it was still being written has settled",
                            p.spool_dir);
            poller_woken = 0;
        }
        rc = 0;
    }
    curl_easy_cleanup(p.curl);
done:
    curl_global_cleanup();
    free(p.token);
    if (p.password != NULL)
        explicit_bzero(p.password, strlen(p.password));
    free(p.password);
    free(p.gateway_url);
    tsr_config_destroy(&config);
    return rc;
}
