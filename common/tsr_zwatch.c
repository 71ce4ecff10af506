#include "tsr_zwatch.h"

#include <assert.h>
#include <zmq.h>

static int zwatch__readable(tsr_zwatch_t *watch)
{
    int events = 0;
    size_t len = sizeof(events);
    if (zmq_getsockopt(watch->socket, ZMQ_EVENTS, &events, &len) != 0)
        return 0;
    return (events & ZMQ_POLLIN) != 0;
}

static void zwatch__on_idle(uv_idle_t *idle)
{
    /* Nothing to do here: an active idle handle makes the loop poll with a zero timeout, and the
     * check handle that runs right after does the draining. */
    (void)idle;
}

/* Drains what is there now, within the budget, and leaves the idle handle running if more is
 * waiting so that the loop comes straight back instead of blocking on an edge that already fired. */
static void zwatch__service(tsr_zwatch_t *watch)
{
    if (watch->closing)
        return;
    if (zwatch__readable(watch)) {
        watch->on_readable(watch, watch->budget);
        if (watch->closing)
            return;
    }
    if (zwatch__readable(watch))
        uv_idle_start(&watch->idle, zwatch__on_idle);
    else
        uv_idle_stop(&watch->idle);
}

static void zwatch__on_poll(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    zwatch__service(poll->data);
}

static void zwatch__on_check(uv_check_t *check)
{
    zwatch__service(check->data);
}

int tsr_zwatch_init(uv_loop_t *loop, tsr_zwatch_t *watch, void *socket, tsr_zwatch_cb on_readable)
{
    int fd = -1;
    size_t len = sizeof(fd);
    if (zmq_getsockopt(socket, ZMQ_FD, &fd, &len) != 0)
        return -1;
    watch->socket = socket;
    watch->on_readable = on_readable;
    if (watch->budget <= 0)
        watch->budget = 256;
    watch->closing = 0;
    watch->pending_close = 0;
    if (uv_poll_init(loop, &watch->poll, fd) != 0)
        return -1;
    uv_check_init(loop, &watch->check);
    uv_idle_init(loop, &watch->idle);
    watch->poll.data = watch;
    watch->check.data = watch;
    watch->idle.data = watch;
    uv_poll_start(&watch->poll, UV_READABLE, zwatch__on_poll);
    uv_check_start(&watch->check, zwatch__on_check);
    /* Messages may already be queued (the edge came before we watched): look once straight away. */
    uv_idle_start(&watch->idle, zwatch__on_idle);
    return 0;
}

void tsr_zwatch_kick(tsr_zwatch_t *watch)
{
    if (!watch->closing)
        uv_idle_start(&watch->idle, zwatch__on_idle);
}

static void zwatch__on_handle_closed(uv_handle_t *handle)
{
    tsr_zwatch_t *watch = handle->data;
    if (--watch->pending_close == 0 && watch->on_closed != NULL)
        watch->on_closed(watch);
}

void tsr_zwatch_close(tsr_zwatch_t *watch, void (*on_closed)(tsr_zwatch_t *watch))
{
    assert(!watch->closing);
    watch->closing = 1;
    watch->on_closed = on_closed;
    watch->pending_close = 3;
    uv_close((uv_handle_t *)&watch->poll, zwatch__on_handle_closed);
    uv_close((uv_handle_t *)&watch->check, zwatch__on_handle_closed);
    uv_close((uv_handle_t *)&watch->idle, zwatch__on_handle_closed);
}
