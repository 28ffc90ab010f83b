/*
 * endpoint_deadline - cut off HTTP clients that take too long over a
 * request; see endpoint_deadline.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/deadline.h"
#include "common/xalloc.h"
#include "milter/endpoint_deadline.h"

#define TICK_MS 250

/* One open connection; a doubly linked list under the lock. */
struct tracked {
	struct tracked *prev, *next;
	int fd;
	struct timespec began; /* of the request in progress */
	bool cut;              /* shut down already: once is enough */
};

struct endpoint_deadline {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct tracked *list;
	unsigned seconds;
	bool stopping;
};

static void
now_of(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long long
ms_between(const struct timespec *from, const struct timespec *to)
{
	return (long long)(to->tv_sec - from->tv_sec) * 1000 +
	       (to->tv_nsec - from->tv_nsec) / 1000000;
}

/* Shut down every socket whose request began more than the timeout ago. */
static void
sweep(struct endpoint_deadline *dl)
{
	struct timespec now;

	now_of(&now);
	for (struct tracked *t = dl->list; t != NULL; t = t->next) {
		if (t->cut || ms_between(&t->began, &now) < (long long)dl->seconds * 1000)
			continue;
		log_notice(NULL, "http: a client took more than %u s over a request; cut off",
		           dl->seconds);
		shutdown(t->fd, SHUT_RDWR);
		t->cut = true;
	}
}

static void *
watch(void *arg)
{
	struct endpoint_deadline *dl = arg;

	pthread_mutex_lock(&dl->lock);
	while (!dl->stopping) {
		struct timespec until;
		deadline_after_ms(&until, TICK_MS);
		if (pthread_cond_timedwait(&dl->wake, &dl->lock, &until) == ETIMEDOUT)
			sweep(dl);
	}
	pthread_mutex_unlock(&dl->lock);
	return NULL;
}

struct endpoint_deadline *
endpoint_deadline_start(unsigned seconds)
{
	struct endpoint_deadline *dl = xcalloc(1, sizeof(*dl));

	dl->seconds = seconds;
	pthread_mutex_init(&dl->lock, NULL);
	pthread_cond_init(&dl->wake, NULL);
	if (pthread_create(&dl->thread, NULL, watch, dl) != 0)
		log_panic("http: cannot start the request deadline thread");
	return dl;
}

void
endpoint_deadline_stop(struct endpoint_deadline *dl)
{
	if (dl == NULL)
		return;
	pthread_mutex_lock(&dl->lock);
	dl->stopping = true;
	pthread_cond_signal(&dl->wake);
	pthread_mutex_unlock(&dl->lock);
	pthread_join(dl->thread, NULL);
	while (dl->list != NULL) { /* the server is stopped: nothing is left, normally */
		struct tracked *t = dl->list;
		dl->list = t->next;
		free(t);
	}
	pthread_cond_destroy(&dl->wake);
	pthread_mutex_destroy(&dl->lock);
	free(dl);
}

static void
track(struct endpoint_deadline *dl, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct tracked *t;

	if (info == NULL)
		return;
	t = xcalloc(1, sizeof(*t));
	t->fd = info->connect_fd;
	now_of(&t->began);
	pthread_mutex_lock(&dl->lock);
	t->next = dl->list;
	if (dl->list != NULL)
		dl->list->prev = t;
	dl->list = t;
	pthread_mutex_unlock(&dl->lock);
	*socket_context = t;
}

static void
untrack(struct endpoint_deadline *dl, void **socket_context)
{
	struct tracked *t = *socket_context;

	if (t == NULL)
		return;
	pthread_mutex_lock(&dl->lock);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		dl->list = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&dl->lock);
	free(t);
	*socket_context = NULL;
}

void
endpoint_deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		track(cls, c, socket_context);
	else
		untrack(cls, socket_context);
}

void
endpoint_deadline_answered(struct endpoint_deadline *dl, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct tracked *t = info != NULL ? info->socket_context : NULL;

	if (t == NULL)
		return;
	pthread_mutex_lock(&dl->lock);
	now_of(&t->began);
	pthread_mutex_unlock(&dl->lock);
}
