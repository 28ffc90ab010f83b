/*
 * signals - SIGHUP reloads the policy; SIGTERM and SIGINT stop cleanly
 *
 * libmilter runs its own signal thread, which treats SIGHUP like SIGTERM
 * (stop serving).  Administrators expect SIGHUP to mean "reload", as for
 * Postfix and most daemons, so SIGHUP is taken away from libmilter (see
 * signals.c) and handled by a thread of ours that calls the reload
 * function.  SIGTERM and SIGINT stay with libmilter: it stops accepting
 * connections, lets the ones in progress finish, and smfi_main() returns.
 */
#ifndef MW_SIGNALS_H
#define MW_SIGNALS_H

#include <pthread.h>
#include <stdbool.h>

typedef void (*signals_reload_fn)(void *arg);

struct reload_thread {
	pthread_t thread;
	bool started;
	signals_reload_fn reload;
	void *arg;
};

/* Block SIGHUP, SIGTERM, SIGINT (call before any thread is created). */
void signals_block(void);
/* Start the thread that calls reload(arg) on each SIGHUP; 0 or an errno. */
int signals_start(struct reload_thread *rt, signals_reload_fn reload, void *arg);
void signals_stop(struct reload_thread *rt);

#endif
