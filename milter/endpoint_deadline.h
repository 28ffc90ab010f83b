/*
 * endpoint_deadline - cut off HTTP clients that take too long over a request
 *
 * libmicrohttpd's connection timeout counts idle time only: a client that
 * sends one header byte a second (slowloris) is never idle and would hold
 * its connection, and one of the server's few slots, for as long as it
 * likes.  This module keeps the time each connection's current request
 * began (its accept, or the answer to the previous one on a kept-alive
 * connection) and a thread that every quarter of a second shuts down the
 * socket of any connection whose request is older than the timeout; the
 * server then sees the connection end and frees it as usual.
 *
 * Connections are tracked from libmicrohttpd's NOTIFY_CONNECTION callback
 * (endpoint_deadline_notify); a descriptor is only ever shut down while
 * the server still holds it open, under one lock with that callback.
 */
#ifndef MW_ENDPOINT_DEADLINE_H
#define MW_ENDPOINT_DEADLINE_H

#include <microhttpd.h>

struct endpoint_deadline;

/* A watchdog for requests that last more than seconds; started at once. */
struct endpoint_deadline *endpoint_deadline_start(unsigned seconds);
/* Stop the thread and free; call after the server is stopped. */
void endpoint_deadline_stop(struct endpoint_deadline *dl);
/* MHD_OPTION_NOTIFY_CONNECTION's callback, with dl as its closure. */
void endpoint_deadline_notify(void *dl, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code);
/* A request of c was answered: its next request has the whole timeout again. */
void endpoint_deadline_answered(struct endpoint_deadline *dl, struct MHD_Connection *c);

#endif
