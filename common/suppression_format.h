/*
 * suppression_format - suppression-list rows as CSV and JSON Lines
 *
 * Pure functions (no store, no I/O) that "mailward suppression import"
 * and "export" are built on, and that unit tests drive with tables.
 *
 * CSV: one entry per line, columns address, scope, reason, time,
 * message_id.  An optional first line names the columns (in any order,
 * address required; SES's and the JSON names are understood too:
 * emailAddress, stream, lastUpdateTime, messageId); without it the columns
 * are in that order and trailing ones may be left out.  Fields may be
 * quoted ("..." with "" for a quote); a quoted field cannot span lines;
 * blanks around unquoted fields are dropped.
 *
 * JSON Lines: one object per line, as "mailward suppression list" prints:
 * {"emailAddress", "reason", "lastUpdateTime", "stream", "messageId"};
 * only emailAddress is required; lastUpdateTime may be a number (epoch
 * seconds).  Unknown keys are errors, so a misspelt key is not silently
 * ignored.
 *
 * Missing values: scope "" (the account's list), reason MANUAL, time the
 * import's own (now), message ID "".  Times are ISO 8601 in UTC or with an
 * offset ("2026-11-23T19:28:23.123Z", "2026-11-23T20:28:23+01:00"), a bare
 * date (midnight UTC) or epoch seconds.  A row is refused with a reason
 * (to be prefixed with FILE:LINE) for a bad address, an unknown reason, a
 * bad time, an overlong scope or message ID (or one with control
 * characters or bytes that are not UTF-8), or a line it cannot read.
 */
#ifndef MW_SUPPRESSION_FORMAT_H
#define MW_SUPPRESSION_FORMAT_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/suppression.h"

enum suppression_column {
	SUPPRESSION_COL_ADDRESS,
	SUPPRESSION_COL_SCOPE,
	SUPPRESSION_COL_REASON,
	SUPPRESSION_COL_TIME,
	SUPPRESSION_COL_MESSAGE_ID,
	SUPPRESSION_COL_COUNT,
};

/* Which column each CSV field holds. */
struct suppression_columns {
	enum suppression_column field[SUPPRESSION_COL_COUNT];
	size_t count;
};

enum suppression_format {
	SUPPRESSION_FORMAT_CSV,
	SUPPRESSION_FORMAT_JSONL,
};

/* "csv" or "jsonl" (also "ndjson"); -1 for anything else. */
int suppression_format_parse(const char *word, enum suppression_format *out);
/* From a file name's extension (.jsonl, .ndjson, .json: JSON Lines); CSV otherwise. */
enum suppression_format suppression_format_of_path(const char *path);

/* The standard column order, for a file without a header line. */
void suppression_columns_default(struct suppression_columns *cols);
/*
 * The first line of a CSV file: 1 it is a header (cols set from it), 0 it
 * is data (cols set to the default order), -1 a header that cannot be used
 * (unknown or repeated column, no address) with the reason in why.
 */
int suppression_csv_header(const char *line, size_t len, struct suppression_columns *cols,
                           struct buf *why);
/* One CSV data line (no line end) into out: 0, or -1 with the reason in why. */
int suppression_csv_row(const struct suppression_columns *cols, const char *line, size_t len,
                        time_t now, struct suppression_entry *out, struct buf *why);
/* One JSON Lines line into out: 0, or -1 with the reason in why. */
int suppression_jsonl_row(const char *line, size_t len, time_t now, struct suppression_entry *out,
                          struct buf *why);
/* A line that holds no row (empty or blanks only). */
int suppression_line_blank(const char *line, size_t len);

/* Append the CSV header line, or one entry as a CSV line (with "\n"). */
void suppression_csv_header_write(struct buf *out);
void suppression_csv_write(struct buf *out, const struct suppression_entry *entry);
/* Append one entry as a JSON object and "\n" (the shape list prints). */
void suppression_jsonl_write(struct buf *out, const struct suppression_entry *entry);

/*
 * An address fit for the list: UTF-8, local@domain; a local part of at
 * most 64 bytes, without blanks, control characters or <>,;\"()[]:@
 * unless it is quoted ("john doe"@example.com); a domain of non-empty
 * labels (letters, digits, '-', '_', UTF-8) or an address literal
 * [...].  0, or -1 with a static reason in *why.
 */
int suppression_address_check(const char *address, const char **why);
/* A time as described above: 0, or -1. */
int suppression_time_parse(const char *text, time_t *out);

#endif
