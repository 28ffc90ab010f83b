/*
 * batch_writer - items queued on the message path, written to the store
 * in batches by a background thread
 *
 * The message path only copies an item into a bounded queue.  A thread
 * takes up to batch_max items every flush_ms (sooner when a batch is full)
 * and hands them to write().  When write() says the store failed, the batch
 * goes back to the front of the queue, as much as fits beside what came in
 * meanwhile, and the thread waits retry_ms; what does not fit, and what
 * comes while the queue is full, is dropped, counted and logged (at most a
 * line a minute).  Stopping writes what is queued, with no retries.
 */
#ifndef MW_BATCH_WRITER_H
#define MW_BATCH_WRITER_H

#include <stdbool.h>
#include <stddef.h>

struct batch_writer_spec {
	const char *name;   /* in log lines: "DMARC history" */
	const char *thread; /* the thread's name (15 characters at most) */
	const char *unit;   /* "rows" */
	size_t item_size;
	size_t queue_max, batch_max;
	unsigned flush_ms, retry_ms;
	/* Write n items: false when the store failed and they are to be tried again. */
	bool (*write)(void *ctx, void *items, size_t n);
	/* Free what one item holds (after it is written, or dropped). */
	void (*release)(void *item);
	/* After each round, outside the lock (e.g. pruning); may be NULL. */
	void (*tick)(void *ctx);
};

struct batch_writer;

struct batch_writer *batch_writer_start(const struct batch_writer_spec *spec, void *ctx);
/* Queue a copy of item; what it holds now belongs to the writer. */
void batch_writer_add(struct batch_writer *w, const void *item, const char *qid);
void batch_writer_stop(struct batch_writer *w);

#endif
