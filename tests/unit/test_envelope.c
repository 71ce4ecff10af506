/* tsr_envelope and tsr_error: packing, refusing garbage, actors and their roles, statuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

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

static void test_garbage_is_a_bad_message_not_a_crash(void **state)
{
    (void)state;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    tsr_error_t err;
    assert_null(tsr_unpack(&tsr__envelope__descriptor, garbage, sizeof(garbage), &err));
    assert_string_equal(err.code, "bad_message");
    assert_int_equal(err.status, TSR_E_INVALID);
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
    Tsr__Actor *copy = tsr_actor_dup(&actor);
    assert_string_equal(copy->username, "mash.admin");
    assert_true(tsr_actor_has_role(copy, "social-worker"));
    assert_false(tsr_actor_has_role(copy, "admin"));
    tsr_actor_free(copy);

    tsr_error_t err;
    static const char *const admins[] = {"admin", NULL};
    assert_int_equal(tsr_actor_require_role(&actor, admins, "add organisations", &err), -1);
    assert_int_equal(err.status, TSR_E_FORBIDDEN);
    assert_non_null(strstr(err.message, "add organisations"));

    Tsr__Actor nobody = TSR__ACTOR__INIT;
    assert_int_equal(tsr_actor_require_worker(&nobody, &err), -1);
    assert_int_equal(err.status, TSR_E_UNAUTHENTICATED);

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
    assert_int_equal(tsr_status_http(TSR_E_UNPROCESSABLE), 422);
    assert_int_equal(tsr_status_http(TSR_E_UNAVAILABLE), 503);
    assert_int_equal(tsr_status_http(TSR_E_INTERNAL), 500);
}

static void test_an_error_reply_carries_code_message_and_field(void **state)
{
    (void)state;
    tsr_error_t in;
    tsr_error_set(&in, TSR_E_INVALID, "invalid_telephone", "telephone", "Enter a telephone number.");
    Tsr__Envelope env = TSR__ENVELOPE__INIT;
    Tsr__Error slot;
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
    tsr__envelope__free_unpacked(back, NULL);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_every_field),
        cmocka_unit_test(test_garbage_is_a_bad_message_not_a_crash),
        cmocka_unit_test(test_actor_roles_and_the_system_actor),
        cmocka_unit_test(test_statuses_map_to_the_api_codes),
        cmocka_unit_test(test_an_error_reply_carries_code_message_and_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
