/*
 * send_log - batched writes of the Message-ID index; see send_log.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "milter/send_log.h"

#define QUEUE_MAX      20000
#define BATCH_MAX      2000
#define FLUSH_EVERY_MS 100
#define PRUNE_EVERY_S  3600

struct send_log {
	struct store *store;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct send_record *queue;
	size_t count;
	long keep_days;
	unsigned long dropped;
	time_t dropped_logged;
	bool stopping;
	pthread_t writer;
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
record_copy(struct send_record *dst, const struct send_record *src)
{
	*dst = *src;
	dst->message_id = dup_or_null(src->message_id);
	dst->mail_id = dup_or_null(src->mail_id);
	dst->timestamp = dup_or_null(src->timestamp);
	dst->source = dup_or_null(src->source);
	dst->stream = dup_or_null(src->stream);
	dst->tags = dup_or_null(src->tags);
	dst->destination = xcalloc(src->destination_count + 1, sizeof(char *));
	for (size_t i = 0; i < src->destination_count; i++)
		dst->destination[i] = xstrdup(src->destination[i]);
}

static void
store_batch(struct send_log *s, struct send_record *records, size_t count, long keep_days)
{
	struct buf err = BUF_INIT;

	for (size_t i = 0; i < count; i++) /* for a store on Redis: it forgets by itself */
		records[i].expires = keep_days > 0 ? records[i].time + keep_days * 86400 : 0;
	if (send_index_add_many(s->store, records, count, &err) < 0)
		log_warning(NULL, "Message-ID index: %zu records not stored: %s", count,
		            buf_str(&err));
	for (size_t i = 0; i < count; i++)
		send_record_free(&records[i]);
	buf_free(&err);
}

static void
prune(struct send_log *s, long keep_days)
{
	struct buf err = BUF_INIT;
	long gone = send_index_prune(s->store, time(NULL) - keep_days * 86400, &err);

	if (gone < 0)
		log_warning(NULL, "Message-ID index: old records not pruned: %s", buf_str(&err));
	else if (gone > 0)
		log_info(NULL, "Message-ID index: %ld records older than %ld days pruned", gone,
		         keep_days);
	buf_free(&err);
}

static void
deadline_ms(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Take up to BATCH_MAX queued records into batch (lock held); how many. */
static size_t
take_batch(struct send_log *s, struct send_record *batch)
{
	size_t n = s->count < BATCH_MAX ? s->count : BATCH_MAX;

	memcpy(batch, s->queue, n * sizeof(*batch));
	memmove(s->queue, s->queue + n, (s->count - n) * sizeof(*s->queue));
	s->count -= n;
	return n;
}

static void *
writer_main(void *arg)
{
	struct send_log *s = arg;
	struct send_record *batch = xcalloc(BATCH_MAX, sizeof(*batch));
	time_t pruned = 0;
	struct timespec until;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		deadline_ms(&until, FLUSH_EVERY_MS);
		while (!s->stopping && s->count < BATCH_MAX &&
		       pthread_cond_timedwait(&s->work, &s->lock, &until) == 0)
			;
		size_t n = take_batch(s, batch);
		long keep_days = s->keep_days;
		if (n == 0 && s->stopping)
			break;
		pthread_mutex_unlock(&s->lock);
		if (n > 0)
			store_batch(s, batch, n, keep_days);
		if (keep_days > 0 && time(NULL) - pruned >= PRUNE_EVERY_S) {
			prune(s, keep_days);
			pruned = time(NULL);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	free(batch);
	return NULL;
}

struct send_log *
send_log_start(struct store *store)
{
	struct send_log *s = xcalloc(1, sizeof(*s));

	s->store = store;
	s->queue = xcalloc(QUEUE_MAX, sizeof(*s->queue));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_create(&s->writer, NULL, writer_main, s);
	return s;
}

void
send_log_add(struct send_log *s, const struct send_record *record, long keep_days, const char *qid)
{
	time_t now = time(NULL);

	if (s == NULL || keep_days <= 0 || record->message_id == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->keep_days = keep_days;
	if (s->count == QUEUE_MAX) {
		s->dropped++;
		if (now - s->dropped_logged >= 60) {
			log_warning(qid,
			            "Message-ID index: the store is not keeping up; %lu records "
			            "dropped",
			            s->dropped);
			s->dropped_logged = now;
		}
	} else {
		record_copy(&s->queue[s->count++], record);
		if (s->count >= BATCH_MAX)
			pthread_cond_signal(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
}

void
send_log_stop(struct send_log *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	free(s->queue);
	free(s);
}
