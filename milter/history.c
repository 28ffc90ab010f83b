/*
 * history - batched DMARC history writes; see history.h.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/batch_writer.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "milter/history.h"

struct history {
	struct store *store;
	bool failing; /* the last batch met a store failure; logged once (writer thread only) */
	struct batch_writer *writer;
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
row_free(void *item)
{
	struct dmarc_row *row = item;

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
 * Store a batch; false when the store failed (locked past its busy
 * timeout, I/O error) and nothing was stored: the writer tries the rows
 * again.  Rows the store refuses as invalid are gone.
 */
static bool
store_batch(void *ctx, void *items, size_t count)
{
	struct history *h = ctx;
	struct buf err = BUF_INIT;
	size_t added = 0;

	if (dmarc_history_add_many(h->store, items, count, &added, &err) < 0) {
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
	buf_free(&err);
	return true;
}

static const struct batch_writer_spec history_spec = {
	.name = "DMARC history",
	.thread = "dmarc-history",
	.unit = "rows",
	.item_size = sizeof(struct dmarc_row),
	.queue_max = 20000,
	.batch_max = 2000,
	.flush_ms = 100,
	.retry_ms = 1000,
	.write = store_batch,
	.release = row_free,
};

struct history *
history_start(struct store *store)
{
	struct history *h = xcalloc(1, sizeof(*h));

	h->store = store;
	h->writer = batch_writer_start(&history_spec, h);
	return h;
}

void
history_add(struct history *h, const struct dmarc_row *row, const char *qid)
{
	struct dmarc_row copy;

	row_copy(&copy, row);
	batch_writer_add(h->writer, &copy, qid);
}

void
history_stop(struct history *h)
{
	if (h == NULL)
		return;
	batch_writer_stop(h->writer);
	free(h);
}
