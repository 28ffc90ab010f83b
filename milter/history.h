/*
 * history - DMARC history rows written in the background, in batches
 *
 * A row is not worth delaying a message for, and SQLite spends most of an
 * insert on the transaction around it: the message path hands rows to
 * history_add(), which copies them into a bounded queue, and one thread
 * stores whatever has queued up in one transaction, every 100 ms or
 * sooner when the queue fills.  A batch the store fails (locked, I/O
 * error) goes back into the queue and is tried again a second later; a full
 * queue (the store stalled) drops the row and logs it (once a minute);
 * history_stop() stores what is queued, with one try.
 */
#ifndef MW_HISTORY_H
#define MW_HISTORY_H

#include "common/dmarc_history.h"
#include "common/store.h"

struct history;

struct history *history_start(struct store *store);
void history_add(struct history *history, const struct dmarc_row *row, const char *qid);
void history_stop(struct history *history);

#endif
