/*
 * send_log - Send events into the Message-ID index, in the background
 *
 * The index (common/send_index.h) is for feedback that comes back days
 * later; it is not worth delaying a message for.  The message path hands a
 * record to send_log_add(), which copies it into a bounded queue; one
 * thread stores whatever has queued up in one transaction every 100 ms (or
 * sooner when the queue fills), and once an hour forgets records older
 * than the days the latest record's policy asked for
 * (feedback.correlation_days).  A full queue (the store stalled) drops the
 * record and logs it once a minute: the feedback of that message is then
 * correlated by its token only.  send_log_stop() stores what is queued.
 */
#ifndef MW_SEND_LOG_H
#define MW_SEND_LOG_H

#include "common/send_index.h"
#include "common/store.h"

struct send_log;

struct send_log *send_log_start(struct store *store);
/* Copy record into the queue; keep_days is the policy's correlation_days. */
void send_log_add(struct send_log *log, const struct send_record *record, long keep_days,
                  const char *qid);
void send_log_stop(struct send_log *log);

#endif
