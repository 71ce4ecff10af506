/* tsr_envelope and tsr_error: packing, refusing garbage, actors and their roles, statuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <zmq.h>

#include "records.pb-c.h"
#include "tsr_envelope.h"

static void test_round_trip_keeps_every_field(void **state)
{
    (void)state;
    Tsr__Records__OrganisationCreate in = TSR__RECORDS__ORGANISATION_CREATE__INIT;
    in.name = "Hampden Children Centre";
    size_t len = 0;
    uint8_t *buf = tsr_pack(&in.base, &len);
    tsr_error_t err;
    Tsr__Records__OrganisationCreate *out = (Tsr__Records__OrganisationCreate *)tsr_unpack(
        &tsr__records__organisation_create__descriptor, buf, len, &err);
    assert_non_null(out);
    assert_string_equal(out->name, "Hampden Children Centre");
    tsr__records__organisation_create__free_unpacked(out, NULL);
    free(buf);
}

static void test_an_envelope_round_trip_keeps_every_field(void **state)
{
    (void)state;
    char *roles[] = {"mash-manager"};
    char *teams[] = {"MASH"};
    uint64_t team_ids[] = {7};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.worker_id = 1003;
    actor.username = "mash.manager";
    actor.n_roles = 1;
    actor.roles = roles;
    actor.n_team_names = 1;
    actor.team_names = teams;
    actor.n_team_ids = 1;
    actor.team_ids = team_ids;
    actor.session_id = "s-1";
    actor.display_name = "Mash Manager";
    uint8_t payload[] = {0x0a, 0x00, 0xff};
    Tsr__Envelope in = TSR__ENVELOPE__INIT;
    in.kind = TSR__ENVELOPE__KIND__REQUEST;
    in.type = "records.organisation.create";
    in.id = 42;
    in.correlation_id = 41;
    in.trace_id = "0123456789abcdef0123456789abcdef";
    in.actor = &actor;
    in.deadline_ms = tsr_now_ms() + 5000;
    in.idempotency_key = "key-1";
    in.payload.data = payload;
    in.payload.len = sizeof(payload);
    in.producer = "records";
    in.seq = 9;
    in.occurred_at_ms = 1700000000000;
    size_t len = 0;
    uint8_t *buf = tsr_pack(&in.base, &len);
    assert_non_null(buf);
    tsr_error_t err;
    Tsr__Envelope *out = (Tsr__Envelope *)tsr_unpack(&tsr__envelope__descriptor, buf, len, &err);
    assert_non_null(out);
    assert_int_equal(out->kind, TSR__ENVELOPE__KIND__REQUEST);
    assert_string_equal(out->type, in.type);
    assert_int_equal(out->id, 42);
    assert_int_equal(out->correlation_id, 41);
    assert_string_equal(out->trace_id, in.trace_id);
    assert_int_equal(out->deadline_ms, in.deadline_ms);
    assert_string_equal(out->idempotency_key, "key-1");
    assert_int_equal(out->payload.len, sizeof(payload));
    assert_memory_equal(out->payload.data, payload, sizeof(payload));
    assert_string_equal(out->producer, "records");
    assert_int_equal(out->seq, 9);
    assert_int_equal(out->occurred_at_ms, 1700000000000);
    assert_null(out->error);
    assert_int_equal(out->actor->worker_id, 1003);
    assert_string_equal(out->actor->roles[0], "mash-manager");
    assert_string_equal(out->actor->team_names[0], "MASH");
    assert_int_equal(out->actor->team_ids[0], 7);
    assert_string_equal(out->actor->display_name, "Mash Manager");
    tsr__envelope__free_unpacked(out, NULL);
    free(buf);
}

static void test_an_empty_message_packs_and_unpacks(void **state)
{
    (void)state;
    Tsr__ReplayRequest empty = TSR__REPLAY_REQUEST__INIT;
    size_t len = 99;
    uint8_t *buf = tsr_pack(&empty.base, &len);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    tsr_error_t err;
    ProtobufCMessage *out = tsr_unpack(&tsr__replay_request__descriptor, buf, len, &err);
    assert_non_null(out);
    protobuf_c_message_free_unpacked(out, NULL);
    free(buf);
}

static void test_garbage_is_a_bad_message_not_a_crash(void **state)
{
    (void)state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    tsr_error_t err;
    assert_null(tsr_unpack(&tsr__envelope__descriptor, garbage, sizeof(garbage), &err));
    assert_string_equal(err.code, "bad_message");
    assert_int_equal(err.status, TSR_E_INVALID);
    assert_non_null(strstr(err.message, "tsr.Envelope"));
    /* A valid envelope cut short is refused the same way. */
    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    env.type = "records.organisation.get";
    env.trace_id = "0123456789abcdef0123456789abcdef";
    size_t len = 0;
    uint8_t *buf = tsr_pack(&env.base, &len);
    tsr_error_clear(&err);
    assert_null(tsr_unpack(&tsr__envelope__descriptor, buf, len - 3, &err));
    assert_string_equal(err.code, "bad_message");
    free(buf);
    /* A field of the wrong wire type (field 2, type, sent as a varint). */
    const uint8_t wrong_type[] = {0x10, 0x01};
    assert_null(tsr_unpack(&tsr__envelope__descriptor, wrong_type, sizeof(wrong_type), &err));
}

static void test_actor_roles_and_the_system_actor(void **state)
{
    (void)state;
    char *roles[] = {"mash-admin", "social-worker"};
    Tsr__Actor actor = TSR__ACTOR__INIT;
    actor.worker_id = 1002;
    actor.username = "mash.admin";
    actor.n_roles = 2;
    actor.roles = roles;
    char *teams[] = {"MASH", "Early Help"};
    uint64_t team_ids[] = {7, 8};
    actor.n_team_names = 2;
    actor.team_names = teams;
    actor.n_team_ids = 2;
    actor.team_ids = team_ids;
    Tsr__Actor *copy = tsr_actor_dup(&actor);
    assert_ptr_not_equal(copy->roles, actor.roles); /* deep: outlives the request it came from */
    assert_string_equal(copy->username, "mash.admin");
    assert_int_equal(copy->worker_id, 1002);
    assert_string_equal(copy->team_names[1], "Early Help");
    assert_int_equal(copy->team_ids[1], 8);
    assert_string_equal(copy->session_id, ""); /* unset strings become empty, never NULL */
    assert_true(tsr_actor_has_role(copy, "social-worker"));
    assert_false(tsr_actor_has_role(copy, "admin"));
    tsr_actor_free(copy);
    assert_null(tsr_actor_dup(NULL));
    tsr_actor_free(NULL);
    Tsr__Actor bare = TSR__ACTOR__INIT; /* no roles, no teams */
    copy = tsr_actor_dup(&bare);
    assert_int_equal(copy->n_roles, 0);
    assert_false(tsr_actor_has_role(copy, "admin"));
    tsr_actor_free(copy);

    tsr_error_t err;
    static const char *const admins[] = {"admin", NULL};
    assert_int_equal(tsr_actor_require_role(&actor, admins, "add organisations", &err), -1);
    assert_int_equal(err.status, TSR_E_FORBIDDEN);
    assert_non_null(strstr(err.message, "add organisations"));
    static const char *const workers[] = {"admin", "social-worker", NULL};
    assert_int_equal(tsr_actor_require_role(&actor, workers, "add case notes", &err), 0);

    Tsr__Actor nobody = TSR__ACTOR__INIT;
    assert_int_equal(tsr_actor_require_worker(&nobody, &err), -1);
    assert_int_equal(err.status, TSR_E_UNAUTHENTICATED);
    assert_int_equal(tsr_actor_require_worker(NULL, &err), -1);
    assert_int_equal(err.status, TSR_E_UNAUTHENTICATED);
    /* Not signed in is 401 even for an action that needs a role: sign in first, then see. */
    assert_int_equal(tsr_actor_require_role(&nobody, workers, "add case notes", &err), -1);
    assert_int_equal(err.status, TSR_E_UNAUTHENTICATED);
    assert_false(tsr_actor_is_system(NULL));

    char *system_roles[] = {"system"};
    Tsr__Actor system = TSR__ACTOR__INIT;
    system.n_roles = 1;
    system.roles = system_roles;
    assert_true(tsr_actor_is_system(&system));
    assert_int_equal(tsr_actor_require_worker(&system, &err), 0);
    /* A worker cannot pass as the system by claiming its role. */
    actor.roles[0] = "system";
    assert_false(tsr_actor_is_system(&actor));
}

static void test_statuses_map_to_the_api_codes(void **state)
{
    (void)state;
    assert_int_equal(tsr_status_http(TSR_E_INVALID), 400);
    assert_int_equal(tsr_status_http(TSR_E_UNAUTHENTICATED), 401);
    assert_int_equal(tsr_status_http(TSR_E_FORBIDDEN), 403);
    assert_int_equal(tsr_status_http(TSR_E_NOT_FOUND), 404);
    assert_int_equal(tsr_status_http(TSR_E_CONFLICT), 409);
    assert_int_equal(tsr_status_http(TSR_E_TOO_LARGE), 413);
    assert_int_equal(tsr_status_http(TSR_E_UNSUPPORTED_MEDIA), 415);
    assert_string_equal(tsr_status_reason(TSR_E_UNSUPPORTED_MEDIA), "Unsupported Media Type");
    assert_int_equal(tsr_status_http(TSR_E_UNPROCESSABLE), 422);
    assert_int_equal(tsr_status_http(TSR_E_UNAVAILABLE), 503);
    assert_int_equal(tsr_status_http(TSR_E_INTERNAL), 500);
    assert_int_equal(tsr_status_http(TSR_OK), 200);
    assert_int_equal(tsr_status_http((tsr_status_t)77), 500); /* a status from a newer peer */
    assert_string_equal(tsr_status_reason(TSR_E_UNAVAILABLE), "Service Unavailable");
    assert_string_equal(tsr_status_reason(TSR_E_UNPROCESSABLE), "Unprocessable Entity");
    assert_string_equal(tsr_status_reason(TSR_E_INTERNAL), "Internal Server Error");
}

static void test_an_error_reply_carries_code_message_and_field(void **state)
{
    (void)state;
    tsr_error_t in;
    tsr_error_set(&in, TSR_E_INVALID, "invalid_telephone", "telephone", "Enter a telephone number.");
    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    tsr_envelope_error_t slot;
    tsr_envelope_set_error(&env, &slot, &in);
    size_t len = 0;
    uint8_t *buf = tsr_pack(&env.base, &len);
    Tsr__Envelope *back = tsr__envelope__unpack(NULL, len, buf);
    tsr_error_t out;
    assert_int_equal(tsr_envelope_take_error(back, &out), -1);
    assert_int_equal(out.status, TSR_E_INVALID);
    assert_string_equal(out.code, "invalid_telephone");
    assert_string_equal(out.field, "telephone");
    assert_string_equal(out.message, "Enter a telephone number.");
    assert_int_equal(out.n_faults, 0);
    tsr__envelope__free_unpacked(back, NULL);
    free(buf);
    /* A reply without an error, or with status OK, carries none. */
    Tsr__Envelope ok = TSR__ENVELOPE__INIT;
    assert_int_equal(tsr_envelope_take_error(&ok, &out), 0);
    assert_int_equal(tsr_envelope_take_error(NULL, &out), 0);
}

/* A form checked whole: every fault is said, in the order found, and the answer's status is that of
 * bad input when any fault is one (a missing required field alone is 422); the faults go through an
 * envelope and back unchanged, and no more than TSR_ERROR_FAULTS_MAX are kept. */
static void test_the_faults_of_a_form_checked_whole_are_gathered_and_carried_together(void **state)
{
    (void)state;
    tsr_error_t all, one;
    tsr_error_clear(&all);
    assert_int_equal(tsr_error_gathered(&all), 0);
    tsr_error_set(&one, TSR_E_UNPROCESSABLE, "required_field", "data.source", "Enter the source.");
    tsr_error_gather(&all, &one);
    tsr_error_set(&one, TSR_E_INVALID, "invalid_email", "data.contact_email", "Enter a real e-mail address.");
    tsr_error_gather(&all, &one);
    tsr_error_set(&one, TSR_E_INVALID, "invalid_telephone", "data.contact_telephone", "Enter a telephone.");
    tsr_error_gather(&all, &one);
    assert_int_equal(tsr_error_gathered(&all), -1);
    assert_int_equal(all.status, TSR_E_INVALID);
    assert_string_equal(all.code, "invalid_email");
    assert_string_equal(all.field, "data.contact_email");
    assert_int_equal(all.n_faults, 3);
    assert_string_equal(all.faults[0].field, "data.source");
    assert_string_equal(all.faults[2].code, "invalid_telephone");

    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    tsr_envelope_error_t slot;
    tsr_envelope_set_error(&env, &slot, &all);
    size_t len = 0;
    uint8_t *buf = tsr_pack(&env.base, &len);
    Tsr__Envelope *back = tsr__envelope__unpack(NULL, len, buf);
    tsr_error_t out;
    assert_int_equal(tsr_envelope_take_error(back, &out), -1);
    assert_string_equal(out.code, "invalid_email");
    assert_int_equal(out.n_faults, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(out.faults[i].status, all.faults[i].status);
        assert_string_equal(out.faults[i].code, all.faults[i].code);
        assert_string_equal(out.faults[i].field, all.faults[i].field);
        assert_string_equal(out.faults[i].message, all.faults[i].message);
    }
    tsr__envelope__free_unpacked(back, NULL);
    free(buf);

    /* One fault alone is the error, with no list; only missing fields: 422. */
    tsr_error_clear(&all);
    tsr_error_set(&one, TSR_E_UNPROCESSABLE, "required_field", "data.source", "Enter the source.");
    tsr_error_gather(&all, &one);
    assert_int_equal(tsr_error_gathered(&all), -1);
    assert_int_equal(all.status, TSR_E_UNPROCESSABLE);
    assert_int_equal(all.n_faults, 0);
    /* More than there is room for: the first ones are kept. */
    tsr_error_clear(&all);
    for (int i = 0; i < TSR_ERROR_FAULTS_MAX + 3; i++) {
        char field[32];
        snprintf(field, sizeof(field), "data.f%d", i);
        tsr_error_set(&one, TSR_E_INVALID, "invalid_value", field, "Field %d is wrong.", i);
        tsr_error_gather(&all, &one);
    }
    assert_int_equal(tsr_error_gathered(&all), -1);
    assert_int_equal(all.n_faults, TSR_ERROR_FAULTS_MAX);
    assert_string_equal(all.field, "data.f0");
    /* A new error replaces what was gathered. */
    tsr_error_set(&all, TSR_E_NOT_FOUND, "not_found", NULL, "Gone.");
    assert_int_equal(all.n_faults, 0);
}

static void test_parts_go_as_one_message_and_a_send_never_blocks(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://parts"), 0);
    assert_int_equal(zmq_connect(b, "inproc://parts"), 0);
    const void *parts[3] = {"id", "", "body"};
    size_t lens[3] = {2, 0, 4};
    assert_int_equal(tsr_zmq_send_parts(b, parts, lens, 3), 0);
    char buf[8];
    int more = 0;
    size_t more_len = sizeof(more);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(zmq_recv(a, buf, sizeof(buf), 0), (int)lens[i]);
        assert_memory_equal(buf, parts[i], lens[i]);
        zmq_getsockopt(a, ZMQ_RCVMORE, &more, &more_len);
        assert_int_equal(more, i < 2);
    }
    /* With nobody to take it, the send fails at once rather than waiting. */
    void *lonely = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, zero = 0;
    zmq_setsockopt(lonely, ZMQ_IMMEDIATE, &one, sizeof(one));
    zmq_setsockopt(lonely, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_connect(lonely, "ipc:///tmp/tsr-unit-nobody-listens-here"), 0);
    assert_int_equal(tsr_zmq_send_parts(lonely, parts, lens, 3), -1);
    assert_int_equal(errno, EAGAIN);
    zmq_close(lonely);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_field),
        cmocka_unit_test(test_an_envelope_round_trip_keeps_every_field),
        cmocka_unit_test(test_an_empty_message_packs_and_unpacks),
        cmocka_unit_test(test_garbage_is_a_bad_message_not_a_crash),
        cmocka_unit_test(test_actor_roles_and_the_system_actor),
        cmocka_unit_test(test_statuses_map_to_the_api_codes),
        cmocka_unit_test(test_an_error_reply_carries_code_message_and_field),
        cmocka_unit_test(test_the_faults_of_a_form_checked_whole_are_gathered_and_carried_together),
        cmocka_unit_test(test_parts_go_as_one_message_and_a_send_never_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
