/*
 * batch_writer - batched background writes; see batch_writer.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/batch_writer.h"
#include "common/deadline.h"
#include "common/log.h"
#include "common/xalloc.h"

struct batch_writer {
	const struct batch_writer_spec *spec;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t work;
	char *queue; /* queue_max items of item_size bytes */
	size_t count;
	unsigned long dropped;
	time_t dropped_logged;
	bool stopping;
	pthread_t thread;
};

static void *
item_at(const struct batch_writer *w, char *base, size_t i)
{
	return base + i * w->spec->item_size;
}

/* Lock held: wait until ms have passed, a full batch waits or stop is asked. */
static void
wait_ms(struct batch_writer *w, unsigned ms, bool for_batch)
{
	struct timespec until;

	deadline_after_ms(&until, ms);
	while (!w->stopping && (!for_batch || w->count < w->spec->batch_max) &&
	       pthread_cond_timedwait(&w->work, &w->lock, &until) == 0)
		;
}

/* Lock held: count n dropped items (released) and say so, at most once a minute. */
static void
drop(struct batch_writer *w, char *items, size_t n, const char *qid, const char *why)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++)
		w->spec->release(item_at(w, items, i));
	w->dropped += n;
	if (n > 0 && now - w->dropped_logged >= 60) {
		log_warning(qid, "%s: %s; %lu %s dropped", w->spec->name, why, w->dropped,
		            w->spec->unit);
		w->dropped_logged = now;
	}
}

/* Lock held: a batch the store failed goes back in front, as much as fits. */
static void
requeue(struct batch_writer *w, char *batch, size_t n)
{
	size_t size = w->spec->item_size;
	size_t room = w->stopping ? 0 : w->spec->queue_max - w->count;
	size_t keep = n < room ? n : room;

	memmove(w->queue + keep * size, w->queue, w->count * size);
	memcpy(w->queue, batch, keep * size);
	w->count += keep;
	drop(w, item_at(w, batch, keep), n - keep, NULL, "store unavailable");
}

static void *
writer_main(void *arg)
{
	struct batch_writer *w = arg;
	size_t size = w->spec->item_size;
	char *batch = xcalloc(w->spec->batch_max, size);

	pthread_mutex_lock(&w->lock);
	for (;;) {
		wait_ms(w, w->spec->flush_ms, true);
		size_t n = w->count < w->spec->batch_max ? w->count : w->spec->batch_max;
		memcpy(batch, w->queue, n * size);
		memmove(w->queue, w->queue + n * size, (w->count - n) * size);
		w->count -= n;
		if (n == 0 && w->stopping)
			break;
		pthread_mutex_unlock(&w->lock);
		bool written = n == 0 || w->spec->write(w->ctx, batch, n);
		if (written)
			for (size_t i = 0; i < n; i++)
				w->spec->release(item_at(w, batch, i));
		if (w->spec->tick != NULL)
			w->spec->tick(w->ctx);
		pthread_mutex_lock(&w->lock);
		if (!written) {
			requeue(w, batch, n);
			wait_ms(w, w->spec->retry_ms, false); /* give the store a moment */
		}
	}
	pthread_mutex_unlock(&w->lock);
	free(batch);
	return NULL;
}

struct batch_writer *
batch_writer_start(const struct batch_writer_spec *spec, void *ctx)
{
	struct batch_writer *w = xcalloc(1, sizeof(*w));

	w->spec = spec;
	w->ctx = ctx;
	w->queue = xcalloc(spec->queue_max, spec->item_size);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_create(&w->thread, NULL, writer_main, w);
	pthread_setname_np(w->thread, spec->thread);
	return w;
}

void
batch_writer_add(struct batch_writer *w, const void *item, const char *qid)
{
	pthread_mutex_lock(&w->lock);
	if (w->count == w->spec->queue_max) {
		drop(w, (char *)item, 1, qid, "the store is not keeping up");
	} else {
		memcpy(item_at(w, w->queue, w->count++), item, w->spec->item_size);
		if (w->count >= w->spec->batch_max)
			pthread_cond_signal(&w->work);
	}
	pthread_mutex_unlock(&w->lock);
}

void
batch_writer_stop(struct batch_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	free(w->queue);
	free(w);
}
