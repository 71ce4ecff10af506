/* tsr_envelope: building, packing and reading the Envelope that wraps every bus message, and the
 * ZeroMQ framing around it. */
#ifndef TSR_ENVELOPE_H
#define TSR_ENVELOPE_H

#include <stdint.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#include "envelope.pb-c.h"
#include "tsr_error.h"

/* Milliseconds since the Unix epoch, wall clock. */
int64_t tsr_now_ms(void);

/* Packs msg into a fresh buffer (the caller frees it). */
uint8_t *tsr_pack(const ProtobufCMessage *msg, size_t *len);

/* Unpacks a payload of the expected type; a malformed payload fails with code bad_message. */
ProtobufCMessage *tsr_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                             tsr_error_t *err);

/* Deep copy of an Actor (NULL gives NULL); free with tsr_actor_free. */
Tsr__Actor *tsr_actor_dup(const Tsr__Actor *actor);
void tsr_actor_free(Tsr__Actor *actor);
int tsr_actor_has_role(const Tsr__Actor *actor, const char *role);
/* The suite's own batch and import jobs act as the "system" role, with no worker behind them. */
int tsr_actor_is_system(const Tsr__Actor *actor);
/* The roles of machine accounts (the spine poller's), one list for every daemon, in C and in SQL:
 * comma-separated, no spaces. An account whose every role is one of these is a machine's, not a
 * person's: seed 002's prerequisites are not its (accounts), no work goes to it (workflow), and what it
 * does is no one's use of a record (the audits of use). */
#define TSR_SERVICE_ROLES "cpis-service"
/* Whether roles, an SQL text[] expression, make a machine account. */
#define TSR_SQL_SERVICE_ACCOUNT(roles)                                                                       \
    "(cardinality(" roles ") > 0 AND " roles " <@ string_to_array('" TSR_SERVICE_ROLES "', ','))"
/* 0 when the actor is a signed-in worker or the system; else fills err (unauthenticated), -1. */
int tsr_actor_require_worker(const Tsr__Actor *actor, tsr_error_t *err);
/* 0 when the actor has one of the NULL-terminated roles; else fills err (forbidden), -1. */
int tsr_actor_require_role(const Tsr__Actor *actor, const char *const *roles, const char *what,
                           tsr_error_t *err);

/* Copies a reply's error into err; returns -1 if the reply carries one, else 0. */
int tsr_envelope_take_error(const Tsr__Envelope *reply, tsr_error_t *err);
/* Room for an error in its protobuf form, its faults included, until the envelope is packed. */
typedef struct {
    Tsr__Error error;
    Tsr__Error faults[TSR_ERROR_FAULTS_MAX];
    Tsr__Error *fault_ptrs[TSR_ERROR_FAULTS_MAX];
} tsr_envelope_error_t;
/* env's error as err says (pointing into err and slot, which must outlive the packing). */
void tsr_envelope_set_error(Tsr__Envelope *env, tsr_envelope_error_t *slot, const tsr_error_t *err);

/* Sends parts as one multipart ZeroMQ message, without blocking; -1 with errno on failure. */
int tsr_zmq_send_parts(void *socket, const void *const *parts, const size_t *lens, int n);

#endif
