/* tsr_zwatch: carries a ZeroMQ socket on a libuv loop.
 *
 * ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS": a send or a receive can consume the
 * edge, so a poll on the fd alone stalls messages that arrived meanwhile. The known-good recipe:
 * a uv_poll on ZMQ_FD wakes the loop, a uv_check reads ZMQ_EVENTS after every loop iteration
 * (so after every send and receive), and while messages remain a uv_idle keeps the loop from
 * blocking until they are drained. on_readable gets a budget and must receive with ZMQ_DONTWAIT
 * until EAGAIN or the budget is spent; the watcher calls it again until ZMQ_EVENTS is clear. */
#ifndef TSR_ZWATCH_H
#define TSR_ZWATCH_H

#include <uv.h>

typedef struct tsr_zwatch tsr_zwatch_t;
/* Receive at most budget messages; return how many were taken. */
typedef int (*tsr_zwatch_cb)(tsr_zwatch_t *watch, int budget);

struct tsr_zwatch {
    void *socket;
    void *data;
    tsr_zwatch_cb on_readable;
    int budget;
    int closing;
    int pending_close;
    void (*on_closed)(tsr_zwatch_t *watch);
    uv_poll_t poll;
    uv_check_t check;
    uv_idle_t idle;
};

/* The caller owns watch's memory and the socket; the socket stays open after close. */
int tsr_zwatch_init(uv_loop_t *loop, tsr_zwatch_t *watch, void *socket, tsr_zwatch_cb on_readable);
/* Call after sending on the socket outside on_readable, so that a consumed edge is not missed. */
void tsr_zwatch_kick(tsr_zwatch_t *watch);
/* Asynchronous: on_closed (may be NULL) runs once every handle is closed. */
void tsr_zwatch_close(tsr_zwatch_t *watch, void (*on_closed)(tsr_zwatch_t *watch));

#endif
