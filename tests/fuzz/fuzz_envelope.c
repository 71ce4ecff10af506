/* Fuzz target: any bytes off the bus either unpack into an Envelope (and its payload into the
 * message it claims to be) or are refused; never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>

#include "accounts.pb-c.h"
#include "records.pb-c.h"
#include "tsr_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tsr_error_t err;
    Tsr__Envelope *env = (Tsr__Envelope *)tsr_unpack(&tsr__envelope__descriptor, data, size, &err);
    if (env == NULL)
        return 0;
    Tsr__Actor *copy = tsr_actor_dup(env->actor);
    (void)tsr_actor_has_role(copy, "admin");
    tsr_actor_free(copy);
    if (tsr_envelope_take_error(env, &err) != 0) {
        /* What a daemon does with another's error: puts it, its faults too, in a reply of its own. */
        Tsr__Envelope reply = TSR__ENVELOPE__INIT;
        tsr_envelope_error_t slot;
        tsr_envelope_set_error(&reply, &slot, &err);
        size_t len = 0;
        free(tsr_pack(&reply.base, &len));
    }
    const ProtobufCMessageDescriptor *payloads[] = {&tsr__records__organisation_create__descriptor,
                                                    &tsr__accounts__authenticate_request__descriptor,
                                                    &tsr__replay_reply__descriptor};
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        ProtobufCMessage *m = tsr_unpack(payloads[i], env->payload.data, env->payload.len, &err);
        if (m != NULL) {
            size_t len = 0;
            free(tsr_pack(m, &len));
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    tsr__envelope__free_unpacked(env, NULL);
    return 0;
}
