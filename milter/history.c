/*
 * history - batched DMARC history writes; see history.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "milter/history.h"

#define QUEUE_MAX      20000
#define BATCH_MAX      2000
#define FLUSH_EVERY_MS 100
#define RETRY_AFTER_MS 1000

struct history {
	struct store *store;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct dmarc_row *queue;
	size_t count;
	unsigned long dropped;
	time_t dropped_logged;
	bool failing; /* the last batch met a store failure; logged once */
	bool stopping;
	pthread_t writer;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
row_copy(struct dmarc_row *dst, const struct dmarc_row *src)
{
	struct dmarc_row_dkim *dkim = xcalloc(src->dkim_count + 1, sizeof(*dkim));

	*dst = *src;
	dst->source_ip = dup_or_null(src->source_ip);
	dst->header_from = dup_or_null(src->header_from);
	dst->envelope_from = dup_or_null(src->envelope_from);
	dst->envelope_to = dup_or_null(src->envelope_to);
	dst->policy_domain = dup_or_null(src->policy_domain);
	dst->reason_comment = dup_or_null(src->reason_comment);
	dst->spf_domain = dup_or_null(src->spf_domain);
	dst->published.rua = dup_or_null(src->published.rua);
	for (size_t i = 0; i < src->dkim_count; i++) {
		dkim[i] = src->dkim[i];
		dkim[i].domain = dup_or_null(src->dkim[i].domain);
		dkim[i].selector = dup_or_null(src->dkim[i].selector);
		dkim[i].human_result = dup_or_null(src->dkim[i].human_result);
	}
	dst->dkim = dkim;
}

static void
row_free(struct dmarc_row *row)
{
	free((char *)row->source_ip);
	free((char *)row->header_from);
	free((char *)row->envelope_from);
	free((char *)row->envelope_to);
	free((char *)row->policy_domain);
	free((char *)row->reason_comment);
	free((char *)row->spf_domain);
	free((char *)row->published.rua);
	for (size_t i = 0; i < row->dkim_count; i++) {
		free((char *)row->dkim[i].domain);
		free((char *)row->dkim[i].selector);
		free((char *)row->dkim[i].human_result);
	}
	free((struct dmarc_row_dkim *)row->dkim);
}

/*
 * Store a batch and free it; false when the store failed (locked past its
 * busy timeout, I/O error): nothing was stored and the rows are still the
 * caller's, to queue again.  Rows the store refuses as invalid are gone.
 */
static bool
store_batch(struct history *h, struct dmarc_row *rows, size_t count)
{
	struct buf err = BUF_INIT;
	size_t added = 0;

	if (dmarc_history_add_many(h->store, rows, count, &added, &err) < 0) {
		if (!h->failing)
			log_warning(
			    NULL, "DMARC history: store unavailable, %zu rows kept for a retry: %s",
			    count, buf_str(&err));
		h->failing = true;
		buf_free(&err);
		return false;
	}
	if (h->failing)
		log_notice(NULL, "DMARC history: the store takes rows again");
	h->failing = false;
	if (added < count)
		log_warning(NULL, "DMARC history: %zu of %zu rows stored: %s", added, count,
		            buf_str(&err));
	for (size_t i = 0; i < count; i++)
		row_free(&rows[i]);
	buf_free(&err);
	return true;
}

/*
 * With the lock held: a batch the store failed goes back to the front of
 * the queue, as much as fits beside what came in meanwhile; the rest is
 * dropped and counted.  At shutdown nothing waits for a retry.
 */
static void
requeue_batch(struct history *h, struct dmarc_row *rows, size_t count)
{
	size_t room = h->stopping ? 0 : QUEUE_MAX - h->count;
	size_t keep = count < room ? count : room;

	memmove(h->queue + keep, h->queue, h->count * sizeof(*h->queue));
	memcpy(h->queue, rows, keep * sizeof(*h->queue));
	h->count += keep;
	for (size_t i = keep; i < count; i++)
		row_free(&rows[i]);
	if (keep < count) {
		h->dropped += count - keep;
		log_warning(NULL, "DMARC history: store unavailable; %lu rows dropped", h->dropped);
	}
}

static void
deadline_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void *
writer_main(void *arg)
{
	struct history *h = arg;
	struct dmarc_row *batch = xcalloc(BATCH_MAX, sizeof(*batch));
	struct timespec until;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		deadline_ms(&until, FLUSH_EVERY_MS);
		while (!h->stopping && h->count < BATCH_MAX &&
		       pthread_cond_timedwait(&h->work, &h->lock, &until) == 0)
			;
		size_t n = h->count < BATCH_MAX ? h->count : BATCH_MAX;
		memcpy(batch, h->queue, n * sizeof(*batch));
		memmove(h->queue, h->queue + n, (h->count - n) * sizeof(*h->queue));
		h->count -= n;
		if (n == 0 && h->stopping)
			break;
		pthread_mutex_unlock(&h->lock);
		bool stored = n == 0 || store_batch(h, batch, n);
		pthread_mutex_lock(&h->lock);
		if (!stored) {
			requeue_batch(h, batch, n);
			/* The store failed: give it a moment before the next try. */
			deadline_ms(&until, RETRY_AFTER_MS);
			while (!h->stopping &&
			       pthread_cond_timedwait(&h->work, &h->lock, &until) == 0)
				;
		}
	}
	pthread_mutex_unlock(&h->lock);
	free(batch);
	return NULL;
}

struct history *
history_start(struct store *store)
{
	struct history *h = xcalloc(1, sizeof(*h));

	h->store = store;
	h->queue = xcalloc(QUEUE_MAX, sizeof(*h->queue));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_create(&h->writer, NULL, writer_main, h);
	pthread_setname_np(h->writer, "dmarc-history");
	return h;
}

void
history_add(struct history *h, const struct dmarc_row *row, const char *qid)
{
	time_t now = time(NULL);

	pthread_mutex_lock(&h->lock);
	if (h->count == QUEUE_MAX) {
		h->dropped++;
		if (now - h->dropped_logged >= 60) {
			log_warning(qid,
			            "DMARC history: the store is not keeping up; %lu rows dropped",
			            h->dropped);
			h->dropped_logged = now;
		}
	} else {
		row_copy(&h->queue[h->count++], row);
		if (h->count >= BATCH_MAX)
			pthread_cond_signal(&h->work);
	}
	pthread_mutex_unlock(&h->lock);
}

void
history_stop(struct history *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->writer, NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->work);
	free(h->queue);
	free(h);
}
