/* tessera cpis: the CP-IS plan data out for batch jobs (seed 003). `export-plans` makes an upload
 * file now, as the schedule does (each plan checked first; the ones that would not match held back
 * in the error queue), and writes it to standard output or FILE; `read-response` reads back the
 * national service's response to a file; `renumber-files` moves the next file's number on, after a
 * restore to an earlier point. Exit status 0 done, 1 refused (the reason printed), 2 not reached. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cpis.pb-c.h"
#include "tsr_json.h"
#include "tsr_text.h"

/* A file of many plans takes a while to check. */
#define CPIS_TIMEOUT_MS 300000

/* Calls cpis and returns its JSON reply (NULL having said why; *rc the exit status). */
static json_t *cpis__call(cli_context_t *ctx, const char *type, const ProtobufCMessage *req, const char *what,
                          int *rc)
{
    Tsr__Envelope *reply = NULL;
    tsr_error_t err;
    if (cli_call_timeout(ctx, "cpis", type, req, CPIS_TIMEOUT_MS, &reply, &err) != 0) {
        fprintf(stderr, "tessera: %s: %s\n", what, err.message);
        *rc = err.status == TSR_E_UNAVAILABLE ? 2 : 1;
        return NULL;
    }
    Tsr__Cpis__JsonReply *r = tsr__cpis__json_reply__unpack(NULL, reply->payload.len, reply->payload.data);
    tsr__envelope__free_unpacked(reply, NULL);
    json_t *out = r ? json_loads(r->json, 0, NULL) : NULL;
    if (r)
        tsr__cpis__json_reply__free_unpacked(r, NULL);
    if (out == NULL) {
        fprintf(stderr, "tessera: %s: the cpis daemon's answer could not be read\n", what);
        *rc = 2;
    }
    return out;
}

/* A file sequence number as typed: digits, from 1, within what the database holds. */
static int cpis__file_number(const char *text, uint64_t *out)
{
    if (!tsr_text_is_id(text)) {
        fprintf(stderr, "tessera: '%s' is not a file sequence number: a whole number from 1 to %" PRId64 "\n",
                text, INT64_MAX);
        return -1;
    }
    *out = strtoull(text, NULL, 10);
    return 0;
}

int cli_cpis_export_plans(cli_context_t *ctx, int argc, char **argv)
{
    const char *output = NULL;
    cli_option_t options[] = {{"--output", &output, 0}};
    if (cli_read_options(argc, argv, options, 1) != 0) {
        fprintf(stderr, "usage: tessera cpis export-plans [--output FILE]\n");
        return 2;
    }
    Tsr__Cpis__UploadCreate req = TSR__CPIS__UPLOAD_CREATE__INIT;
    int rc = 0;
    json_t *summary =
        cpis__call(ctx, "cpis.uploads.create", &req.base, "the CP-IS upload file was not made", &rc);
    if (summary == NULL)
        return rc;
    char *file = json_dumps(json_object_get(summary, "file"), JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    rc = file ? cli_write_output(output, (const uint8_t *)file, strlen(file)) : 2;
    free(file);
    fprintf(stderr,
            "CP-IS upload file %s: %" JSON_INTEGER_FORMAT " records, %" JSON_INTEGER_FORMAT " held back\n",
            json_string_value(json_object_get(summary, "file_sequence_number")),
            json_integer_value(json_object_get(summary, "record_count")),
            json_integer_value(json_object_get(summary, "held_back_count")));
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(summary, "held_back"), i, h)
    {
        fprintf(stderr, "  held back: plan %s (person %s): %s\n",
                json_string_value(json_object_get(h, "plan_id")),
                json_string_value(json_object_get(h, "person_id")),
                json_string_value(json_object_get(h, "reason")));
    }
    json_decref(summary);
    return rc;
}

int cli_cpis_read_response(cli_context_t *ctx, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tessera cpis read-response FILE_SEQUENCE_NUMBER RESPONSE.json\n");
        return 2;
    }
    uint64_t seq = 0;
    if (cpis__file_number(argv[0], &seq) != 0)
        return 2;
    json_error_t jerr;
    json_t *response = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
    if (response == NULL) {
        char words[400];
        tsr_json_error_words(&jerr, words, sizeof(words));
        fprintf(stderr, "tessera: %s cannot be read: %s.\n", argv[1], words);
        return 1;
    }
    char *text = json_dumps(response, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(response);
    Tsr__Cpis__ResponseRead req = TSR__CPIS__RESPONSE_READ__INIT;
    req.file_sequence_number = seq;
    req.response_json = text;
    int rc = 0;
    json_t *read = cpis__call(ctx, "cpis.uploads.response", &req.base, "the response was not read", &rc);
    free(text);
    if (read == NULL)
        return rc;
    printf("File %" PRIu64 ": %s %s %" JSON_INTEGER_FORMAT " records loaded, %" JSON_INTEGER_FORMAT
           " failed.\n",
           seq, json_string_value(json_object_get(read, "status")),
           json_string_value(json_object_get(read, "status_meaning")),
           json_integer_value(json_object_get(read, "records_loaded")),
           json_integer_value(json_object_get(read, "records_failed")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(read, "errors"), i, e)
    {
        printf("  to the error queue: %s\n", json_string_value(json_object_get(e, "reason")));
    }
    json_decref(read);
    return 0;
}

int cli_cpis_renumber_files(cli_context_t *ctx, int argc, char **argv)
{
    uint64_t next = 0;
    if (argc != 1) {
        fprintf(stderr, "usage: tessera cpis renumber-files NEXT_FILE_SEQUENCE_NUMBER\n");
        return 2;
    }
    if (cpis__file_number(argv[0], &next) != 0)
        return 2;
    Tsr__Cpis__UploadRenumber req = TSR__CPIS__UPLOAD_RENUMBER__INIT;
    req.next_file_sequence_number = next;
    int rc = 0;
    json_t *done =
        cpis__call(ctx, "cpis.uploads.renumber", &req.base, "the upload files were not renumbered", &rc);
    if (done == NULL)
        return rc;
    printf("The next CP-IS upload file is number %s (it would have been %" JSON_INTEGER_FORMAT
           "; the last made was %" JSON_INTEGER_FORMAT ").\n",
           json_string_value(json_object_get(done, "next_file_sequence_number")),
           json_integer_value(json_object_get(done, "was")),
           json_integer_value(json_object_get(done, "last_made")));
    json_decref(done);
    return 0;
}
