/*
 * signals - reload on SIGHUP; see signals.h.
 *
 * libmilter's signal thread calls sigwait() on {SIGHUP, SIGTERM, SIGINT}.
 * Two threads waiting for the same signal would race for it, so SIGHUP
 * has to be out of libmilter's set.  libmilter offers no way to change the
 * set; this file defines sigwait() itself, which the dynamic linker binds
 * libmilter's call to (the executable's definition comes first), and
 * removes SIGHUP before waiting.  Our own thread waits with sigwaitinfo(),
 * a different function, so it is unaffected.  The test suite sends bursts
 * of SIGHUP and asserts the daemon keeps serving.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "common/log.h"
#include "milter/signals.h"

int
sigwait(const sigset_t *restrict set, int *restrict sig)
{
	sigset_t without_hup = *set;
	int got;

	sigdelset(&without_hup, SIGHUP);
	do {
		got = sigwaitinfo(&without_hup, NULL);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return errno;
	*sig = got;
	return 0;
}

void
signals_block(void)
{
	sigset_t set;

	/*
	 * All three, before any thread exists: every thread inherits the mask,
	 * so these signals reach only the threads that wait for them.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *
reload_loop(void *arg)
{
	const struct reload_thread *rt = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwaitinfo(&set, NULL) == SIGHUP)
			rt->reload(rt->arg);
	}
	return NULL;
}

int
signals_start(struct reload_thread *rt, signals_reload_fn reload, void *arg)
{
	int r;

	rt->reload = reload;
	rt->arg = arg;
	r = pthread_create(&rt->thread, NULL, reload_loop, rt);
	rt->started = r == 0;
	return r;
}

void
signals_stop(struct reload_thread *rt)
{
	if (!rt->started)
		return;
	pthread_cancel(rt->thread);
	pthread_join(rt->thread, NULL);
	rt->started = false;
}
