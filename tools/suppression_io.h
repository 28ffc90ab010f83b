/*
 * suppression_io - "mailward suppression import" and "export"
 *
 * import reads CSV or JSON Lines (suppression_format.h) from a file or
 * standard input ("-") and upserts every good row in batches; a bad row is
 * reported as FILE:LINE: reason and skipped (exit 1 when any was), or with
 * strict nothing is imported when any row is bad (the input is read
 * twice: standard input is kept in a temporary file for that).
 * export writes the entries a list filter selects, in (address, stream)
 * order, to a file or standard output.  Both print a summary line on
 * standard error.
 */
#ifndef MW_SUPPRESSION_IO_H
#define MW_SUPPRESSION_IO_H

#include <stdbool.h>

#include "common/store.h"
#include "common/suppression.h"
#include "common/suppression_format.h"

struct suppression_io {
	const char *path; /* "-": standard input or output */
	bool format_set;  /* else from the file name's extension */
	enum suppression_format format;
	bool strict;
};

/* The exit status: 0, 1 rows skipped (or strict and rows bad), EX_*. */
int suppression_io_import(struct store *store, const struct suppression_io *io);
int suppression_io_export(struct store *store, const struct suppression_io *io,
                          const struct suppression_filter *filter);

#endif
