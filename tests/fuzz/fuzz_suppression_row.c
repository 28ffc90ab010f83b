/*
 * fuzz_suppression_row - CSV and JSON Lines rows of a suppression-list import
 *
 * The input is a file as "mailward suppression import" reads it: the first
 * line is offered as a CSV header, then every line is read as a CSV row
 * (with the header's columns, or the default ones) and as a JSON Lines
 * row.  A row that is accepted must come back the same when export
 * writes it (CSV and JSON) and import reads that again: the reader takes
 * nothing the writer cannot write.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/suppression_format.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1795000000

static bool
same(const struct suppression_entry *a, const struct suppression_entry *b)
{
	return strcmp(a->address, b->address) == 0 && strcmp(a->scope, b->scope) == 0 &&
	       a->reason == b->reason && a->time == b->time &&
	       strcmp(a->message_id, b->message_id) == 0;
}

/* Written back as CSV and as JSON, each read again: the same entry, or abort. */
static void
fuzz_roundtrip(const struct suppression_entry *e)
{
	struct suppression_columns cols;
	struct suppression_entry again;
	struct buf text = BUF_INIT, why = BUF_INIT;

	suppression_columns_default(&cols);
	suppression_csv_write(&text, e);
	if (suppression_csv_row(&cols, text.data, text.len - 1, NOW, &again, &why) != 0 ||
	    !same(e, &again))
		abort(); /* CSV export wrote what import refuses or reads otherwise */
	buf_reset(&text);
	suppression_jsonl_write(&text, e);
	if (suppression_jsonl_row(text.data, text.len - 1, NOW, &again, &why) != 0 ||
	    !same(e, &again))
		abort(); /* the same for JSON Lines */
	buf_free(&text);
	buf_free(&why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct suppression_columns cols;
	struct suppression_entry e;
	struct buf why = BUF_INIT;
	bool first = true;

	fuzz_quiet();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		int header = first ? suppression_csv_header(p, len, &cols, &why) : 0;

		if (header < 0)
			suppression_columns_default(&cols);
		else if (header == 0 && suppression_csv_row(&cols, p, len, NOW, &e, &why) == 0)
			fuzz_roundtrip(&e);
		if (suppression_jsonl_row(p, len, NOW, &e, &why) == 0)
			fuzz_roundtrip(&e);
		buf_reset(&why);
		first = false;
		p += len + (nl != NULL);
	}
	buf_free(&why);
	return 0;
}
