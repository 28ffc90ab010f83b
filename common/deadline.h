/*
 * deadline - absolute times for pthread_cond_timedwait()
 *
 * Condition variables here use the default clock, CLOCK_REALTIME, so a
 * deadline is "now on that clock, plus ms".
 */
#ifndef MW_DEADLINE_H
#define MW_DEADLINE_H

#include <time.h>

/* ts = now + ms milliseconds (CLOCK_REALTIME), normalised. */
void deadline_after_ms(struct timespec *ts, unsigned ms);

#endif
