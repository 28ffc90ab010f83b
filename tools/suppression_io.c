/*
 * suppression_io - import and export of the suppression list; see
 * suppression_io.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "common/buf.h"
#include "tools/suppression_io.h"

/* Bad rows printed one by one; past this only counted. */
#define ERRORS_SHOWN 100

enum row_result {
	ROW_GOOD,
	ROW_BAD,
	ROW_END,
	ROW_FATAL, /* an unusable CSV header or a read error: nothing can be imported */
};

struct reader {
	FILE *in;
	const char *name;
	enum suppression_format format;
	struct suppression_columns cols;
	bool started; /* past the first line (the CSV header, if any) */
	char *line;
	size_t cap;
	long lineno;
	time_t now;
};

struct tally {
	long good, bad;
};

/* The CSV file's first line: a header, or the first row. */
static enum row_result
first_line(struct reader *r, const char *line, size_t len, struct suppression_entry *e,
           struct buf *why)
{
	int header = suppression_csv_header(line, len, &r->cols, why);

	r->started = true;
	if (header < 0)
		return ROW_FATAL;
	if (header > 0)
		return ROW_END; /* no row on this line; the caller reads on */
	return suppression_csv_row(&r->cols, line, len, r->now, e, why) < 0 ? ROW_BAD : ROW_GOOD;
}

/* One non-blank line: its row, or none (a CSV header). */
static enum row_result
line_row(struct reader *r, const char *line, size_t len, struct suppression_entry *e,
         struct buf *why)
{
	int rc;

	if (r->format == SUPPRESSION_FORMAT_JSONL)
		rc = suppression_jsonl_row(line, len, r->now, e, why);
	else if (r->started)
		rc = suppression_csv_row(&r->cols, line, len, r->now, e, why);
	else
		return first_line(r, line, len, e, why);
	return rc < 0 ? ROW_BAD : ROW_GOOD;
}

static enum row_result
next_row(struct reader *r, struct suppression_entry *e, struct buf *why)
{
	ssize_t n;

	while ((n = getline(&r->line, &r->cap, r->in)) >= 0) {
		const char *line = r->line;
		size_t len = (size_t)n;
		enum row_result rc;

		/* A byte-order mark, as spreadsheets write. */
		if (++r->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (suppression_line_blank(line, len))
			continue;
		if ((rc = line_row(r, line, len, e, why)) != ROW_END)
			return rc;
	}
	if (ferror(r->in)) {
		buf_printf(why, "read error: %s", strerror(errno));
		return ROW_FATAL;
	}
	return ROW_END;
}

static void
report_bad(const struct reader *r, const struct tally *t, const char *why)
{
	if (t->bad <= ERRORS_SHOWN)
		fprintf(stderr, "%s:%ld: %s\n", r->name, r->lineno, why);
	if (t->bad == ERRORS_SHOWN)
		fprintf(stderr, "%s: further bad rows are counted, not shown\n", r->name);
}

/*
 * Every row once: into im, or only checked when im is NULL.  0, or the
 * exit status of a fatal problem (reported).
 */
static int
scan(struct reader *r, struct suppression_import *im, struct tally *t)
{
	struct suppression_entry e;
	struct buf why = BUF_INIT;
	enum row_result rc;
	int status = 0;

	while ((rc = next_row(r, &e, &why)) != ROW_END) {
		if (rc == ROW_FATAL) {
			fprintf(stderr, "%s:%ld: %s\n", r->name, r->lineno, buf_str(&why));
			status = ferror(r->in) ? EX_IOERR : EX_DATAERR;
			break;
		}
		if (rc == ROW_BAD) {
			t->bad++;
			report_bad(r, t, buf_str(&why));
		} else if (im != NULL && suppression_import_put(im, &e, &why) < 0) {
			fprintf(stderr, "mailward suppression: %s\n", buf_str(&why));
			status = EX_IOERR;
			break;
		} else {
			t->good++;
		}
		buf_reset(&why);
	}
	buf_free(&why);
	return status;
}

/* Standard input into a temporary file, so a strict import can read it twice. */
static FILE *
spool_stdin(void)
{
	char chunk[65536];
	FILE *tmp = tmpfile();
	size_t n;

	if (tmp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (fwrite(chunk, 1, n, tmp) != n) {
			fclose(tmp);
			return NULL;
		}
	if (ferror(stdin) || fflush(tmp) != 0) {
		fclose(tmp);
		return NULL;
	}
	rewind(tmp);
	return tmp;
}

static FILE *
open_input(const struct suppression_io *io)
{
	if (strcmp(io->path, "-") != 0)
		return fopen(io->path, "r");
	return io->strict ? spool_stdin() : stdin;
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Strict: a first pass that only checks; 0 when every row is good. */
static int
check_all(struct reader *r)
{
	struct tally t = { 0, 0 };
	int status = scan(r, NULL, &t);

	if (status != 0)
		return status;
	if (t.bad > 0) {
		fprintf(stderr,
		        "mailward suppression: %ld bad rows in %s; nothing imported "
		        "(--strict)\n",
		        t.bad, r->name);
		return 1;
	}
	rewind(r->in);
	r->lineno = 0;
	r->started = false;
	return 0;
}

static int
import_rows(struct store *store, struct reader *r)
{
	struct tally t = { 0, 0 };
	struct buf err = BUF_INIT;
	struct suppression_import *im = suppression_import_begin(store, &err);
	struct timespec start;
	int status;
	long done;

	if (im == NULL) {
		fprintf(stderr, "mailward suppression: %s\n", buf_str(&err));
		buf_free(&err);
		return EX_IOERR;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = scan(r, im, &t);
	if (suppression_import_end(im, &done, &err) < 0) {
		if (status == 0) /* scan() reported its own failure */
			fprintf(stderr, "mailward suppression: %s\n", buf_str(&err));
		status = EX_IOERR;
	}
	fprintf(
	    stderr,
	    "mailward suppression: %ld entries imported from %s in %.2f s, %ld bad rows skipped\n",
	    done, r->name, seconds_since(&start), t.bad);
	buf_free(&err);
	return status != 0 ? status : t.bad > 0 ? 1 : 0;
}

int
suppression_io_import(struct store *store, const struct suppression_io *io)
{
	struct reader r = {
		.name = strcmp(io->path, "-") == 0 ? "stdin" : io->path,
		.format = io->format_set ? io->format : suppression_format_of_path(io->path),
		.now = time(NULL),
	};
	int status;

	if ((r.in = open_input(io)) == NULL) {
		fprintf(stderr, "mailward suppression: %s: %s\n", r.name, strerror(errno));
		return EX_NOINPUT;
	}
	status = io->strict ? check_all(&r) : 0;
	if (status == 0)
		status = import_rows(store, &r);
	free(r.line);
	if (r.in != stdin)
		fclose(r.in);
	return status;
}

/* ---------------------------------------------------------------- export */

struct writer {
	FILE *out;
	enum suppression_format format;
	struct buf text;
	long count;
	bool failed;
};

static void
flush_text(struct writer *w)
{
	if (w->text.len > 0 && fwrite(w->text.data, 1, w->text.len, w->out) != w->text.len)
		w->failed = true;
	buf_reset(&w->text);
}

static int
write_entry(const struct suppression_entry *e, void *arg)
{
	struct writer *w = arg;

	if (w->format == SUPPRESSION_FORMAT_CSV)
		suppression_csv_write(&w->text, e);
	else
		suppression_jsonl_write(&w->text, e);
	w->count++;
	if (w->text.len >= 65536)
		flush_text(w);
	return w->failed ? 1 : 0;
}

/* Close the output; -1 when anything written was lost. */
static int
finish_output(struct writer *w, bool to_stdout)
{
	flush_text(w);
	if (fflush(w->out) != 0)
		w->failed = true;
	if (!to_stdout && fclose(w->out) != 0)
		w->failed = true;
	buf_free(&w->text);
	return w->failed ? -1 : 0;
}

int
suppression_io_export(struct store *store, const struct suppression_io *io,
                      const struct suppression_filter *filter)
{
	bool to_stdout = strcmp(io->path, "-") == 0;
	const char *name = to_stdout ? "stdout" : io->path;
	struct writer w = {
		.out = to_stdout ? stdout : fopen(io->path, "w"),
		.format = io->format_set ? io->format : suppression_format_of_path(io->path),
	};
	struct buf err = BUF_INIT;
	struct timespec start;
	long n;

	if (w.out == NULL) {
		fprintf(stderr, "mailward suppression: %s: %s\n", name, strerror(errno));
		return EX_CANTCREAT;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (w.format == SUPPRESSION_FORMAT_CSV)
		suppression_csv_header_write(&w.text);
	n = suppression_list(store, filter, write_entry, &w, &err);
	if (finish_output(&w, to_stdout) < 0 || n < 0) {
		if (n < 0)
			fprintf(stderr, "mailward suppression: %s\n", buf_str(&err));
		else
			fprintf(stderr, "mailward suppression: %s: write error\n", name);
		buf_free(&err);
		return EX_IOERR;
	}
	fprintf(stderr, "mailward suppression: %ld entries exported to %s in %.2f s\n", w.count,
	        name, seconds_since(&start));
	buf_free(&err);
	return 0;
}
