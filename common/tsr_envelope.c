#include "tsr_envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

int64_t tsr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint8_t *tsr_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t size = protobuf_c_message_get_packed_size(msg);
    /* malloc(0) may return NULL; an empty message is still a valid packing. */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return NULL;
    *len = protobuf_c_message_pack(msg, buf);
    return buf;
}

ProtobufCMessage *tsr_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                             tsr_error_t *err)
{
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
    if (msg == NULL)
        tsr_error_set(err, TSR_E_INVALID, "bad_message", NULL, "The message is not a valid %s.", desc->name);
    return msg;
}

static char *envelope__strdup(const char *s)
{
    return strdup(s ? s : "");
}

Tsr__Actor *tsr_actor_dup(const Tsr__Actor *actor)
{
    if (actor == NULL)
        return NULL;
    Tsr__Actor *copy = malloc(sizeof(*copy));
    if (copy == NULL)
        return NULL;
    tsr__actor__init(copy);
    copy->worker_id = actor->worker_id;
    copy->username = envelope__strdup(actor->username);
    copy->session_id = envelope__strdup(actor->session_id);
    copy->display_name = envelope__strdup(actor->display_name);
    copy->access_reason = envelope__strdup(actor->access_reason);
    copy->n_roles = actor->n_roles;
    copy->roles = calloc(actor->n_roles ? actor->n_roles : 1, sizeof(char *));
    for (size_t i = 0; copy->roles && i < actor->n_roles; i++)
        copy->roles[i] = envelope__strdup(actor->roles[i]);
    copy->n_team_names = actor->n_team_names;
    copy->team_names = calloc(actor->n_team_names ? actor->n_team_names : 1, sizeof(char *));
    for (size_t i = 0; copy->team_names && i < actor->n_team_names; i++)
        copy->team_names[i] = envelope__strdup(actor->team_names[i]);
    copy->n_team_ids = actor->n_team_ids;
    copy->team_ids = calloc(actor->n_team_ids ? actor->n_team_ids : 1, sizeof(uint64_t));
    if (copy->team_ids && actor->n_team_ids)
        memcpy(copy->team_ids, actor->team_ids, actor->n_team_ids * sizeof(uint64_t));
    return copy;
}

void tsr_actor_free(Tsr__Actor *actor)
{
    if (actor == NULL)
        return;
    free(actor->username);
    free(actor->session_id);
    free(actor->display_name);
    free(actor->access_reason);
    for (size_t i = 0; actor->roles && i < actor->n_roles; i++)
        free(actor->roles[i]);
    free(actor->roles);
    for (size_t i = 0; actor->team_names && i < actor->n_team_names; i++)
        free(actor->team_names[i]);
    free(actor->team_names);
    free(actor->team_ids);
    free(actor);
}

int tsr_actor_has_role(const Tsr__Actor *actor, const char *role)
{
    if (actor == NULL)
        return 0;
    for (size_t i = 0; i < actor->n_roles; i++)
        if (strcmp(actor->roles[i], role) == 0)
            return 1;
    return 0;
}

int tsr_actor_is_system(const Tsr__Actor *actor)
{
    return actor != NULL && actor->worker_id == 0 && tsr_actor_has_role(actor, "system");
}

int tsr_actor_require_worker(const Tsr__Actor *actor, tsr_error_t *err)
{
    if (actor != NULL && (actor->worker_id != 0 || tsr_actor_is_system(actor)))
        return 0;
    return tsr_error_set(err, TSR_E_UNAUTHENTICATED, "unauthenticated", NULL, "Sign in to do this.");
}

int tsr_actor_require_role(const Tsr__Actor *actor, const char *const *roles, const char *what,
                           tsr_error_t *err)
{
    if (tsr_actor_require_worker(actor, err) != 0)
        return -1;
    for (const char *const *r = roles; *r != NULL; r++)
        if (tsr_actor_has_role(actor, *r))
            return 0;
    return tsr_error_set(err, TSR_E_FORBIDDEN, "forbidden", NULL, "Your role does not allow you to %s.",
                         what);
}

int tsr_envelope_take_error(const Tsr__Envelope *reply, tsr_error_t *err)
{
    if (reply == NULL || reply->error == NULL || reply->error->status == TSR__STATUS__STATUS_OK)
        return 0;
    tsr_error_set(err, (tsr_status_t)reply->error->status, reply->error->code, reply->error->field, "%s",
                  reply->error->message);
    for (size_t i = 0; i < reply->error->n_faults && err != NULL; i++) {
        const Tsr__Error *f = reply->error->faults[i];
        tsr_error_t one;
        tsr_error_set(&one, (tsr_status_t)f->status, f->code, f->field, "%s", f->message);
        tsr_error_gather(err, &one);
    }
    return -1;
}

void tsr_envelope_set_error(Tsr__Envelope *env, tsr_envelope_error_t *slot, const tsr_error_t *err)
{
    tsr__error__init(&slot->error);
    slot->error.status = (Tsr__Status)err->status;
    slot->error.code = (char *)err->code;
    slot->error.message = (char *)err->message;
    slot->error.field = (char *)err->field;
    size_t n = err->n_faults <= TSR_ERROR_FAULTS_MAX ? err->n_faults : TSR_ERROR_FAULTS_MAX;
    for (size_t i = 0; i < n; i++) {
        Tsr__Error *f = &slot->faults[i];
        tsr__error__init(f);
        f->status = (Tsr__Status)err->faults[i].status;
        f->code = (char *)err->faults[i].code;
        f->message = (char *)err->faults[i].message;
        f->field = (char *)err->faults[i].field;
        slot->fault_ptrs[i] = f;
    }
    slot->error.n_faults = n;
    slot->error.faults = n ? slot->fault_ptrs : NULL;
    env->error = &slot->error;
}

int tsr_zmq_send_parts(void *socket, const void *const *parts, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(socket, parts[i], lens[i], flags) < 0) {
            /* Only the first part can fail with EAGAIN: once it is queued ZeroMQ takes the rest. */
            return -1;
        }
    }
    return 0;
}
