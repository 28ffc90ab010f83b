/*
 * send_log - batched writes of the Message-ID index; see send_log.h.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "common/batch_writer.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/send_log.h"

#define PRUNE_EVERY_S 3600

struct send_log {
	struct store *store;
	atomic_long keep_days; /* the policy's, as the last record brought it */
	time_t pruned;         /* writer thread only */
	struct batch_writer *writer;
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

/* Records the store cannot take are logged and gone: the index is a convenience. */
static bool
store_batch(void *ctx, void *items, size_t count)
{
	struct send_log *s = ctx;
	struct send_record *records = items;
	long keep_days = atomic_load(&s->keep_days);
	struct buf err = BUF_INIT;

	for (size_t i = 0; i < count; i++) /* for a store on Redis: it forgets by itself */
		records[i].expires = keep_days > 0 ? records[i].time + keep_days * 86400 : 0;
	if (send_index_add_many(s->store, records, count, &err) < 0)
		log_warning(NULL, "Message-ID index: %zu records not stored: %s", count,
		            buf_str(&err));
	buf_free(&err);
	return true;
}

static void
prune(void *ctx)
{
	struct send_log *s = ctx;
	long keep_days = atomic_load(&s->keep_days);
	struct buf err = BUF_INIT;
	long gone;

	if (keep_days <= 0 || time(NULL) - s->pruned < PRUNE_EVERY_S)
		return;
	s->pruned = time(NULL);
	gone = send_index_prune(s->store, s->pruned - keep_days * 86400, &err);
	if (gone < 0)
		log_warning(NULL, "Message-ID index: old records not pruned: %s", buf_str(&err));
	else if (gone > 0)
		log_info(NULL, "Message-ID index: %ld records older than %ld days pruned", gone,
		         keep_days);
	buf_free(&err);
}

static void
record_free(void *item)
{
	send_record_free(item);
}

static const struct batch_writer_spec send_log_spec = {
	.name = "Message-ID index",
	.thread = "msgid-index",
	.unit = "records",
	.item_size = sizeof(struct send_record),
	.queue_max = 20000,
	.batch_max = 2000,
	.flush_ms = 100,
	.retry_ms = 1000,
	.write = store_batch,
	.release = record_free,
	.tick = prune,
};

struct send_log *
send_log_start(struct store *store)
{
	struct send_log *s = xcalloc(1, sizeof(*s));

	s->store = store;
	s->writer = batch_writer_start(&send_log_spec, s);
	return s;
}

void
send_log_add(struct send_log *s, const struct send_record *record, long keep_days, const char *qid)
{
	struct send_record copy;

	if (s == NULL || keep_days <= 0 || record->message_id == NULL)
		return;
	atomic_store(&s->keep_days, keep_days);
	record_copy(&copy, record);
	batch_writer_add(s->writer, &copy, qid);
}

void
send_log_stop(struct send_log *s)
{
	if (s == NULL)
		return;
	batch_writer_stop(s->writer);
	free(s);
}
